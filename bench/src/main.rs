//! `bench`: the benchmark harness of the helsedata federation.
//!
//! `bench full` (documented as `cargo run --release -p bench -- full`) runs everything:
//! synthetic custodians, the gateway, a second gateway with one stalled custodian, an echo
//! server and nginx, each in its own process pinned to CPU 0, and a load generator in this
//! process on CPU 1; then the interleaved phases ([`phases`]), then the national-scale step
//! ([`national`]); then it prints the report ([`report`]) and writes it to a file.
//! `bench smoke` does the same with tiny sizes in seconds and only checks that every answer
//! was correct. `bench live` measures how long an edit of a custodian's data file takes to
//! show in a gateway answer ([`live`]).
//!
//! The server processes are this binary again, in hidden roles ([`roles`]); see
//! [`cluster`] for how they are started, pinned and always killed.
//!
//! Exit status: 0 when every phase completed with correct answers (targets may still be
//! missed: they are reported, not enforced), 1 otherwise.

mod abuse;
mod cluster;
mod engine;
mod export_dcat;
mod fleet;
mod instructions;
mod light;
mod live;
mod loadgen;
mod national;
mod nginx;
mod phases;
mod procstat;
mod relevance;
mod report;
mod roles;
mod synth;

use std::{
    path::PathBuf,
    process::ExitCode,
    time::{Duration, Instant, SystemTime},
};

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    version,
    about = "Benchmark harness: custodians, gateway, echo server and nginx over mutual TLS on 127.0.0.1"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The whole benchmark (needs nginx): interleaved phases, then national scale.
    Full(RunArgs),
    /// Seconds-long check with tiny sizes that every phase answers correctly.
    Smoke(RunArgs),
    /// From a data-file write to the change visible in a gateway answer, over many edits.
    Live(live::LiveArgs),
    /// The HealthDCAT-AP export of the synthetic national catalogue, timed.
    ExportDcat(export_dcat::ExportArgs),
    /// The hardening review's attacks against a gateway, with a normal client measured during each.
    Abuse(abuse::AbuseArgs),
    /// The search engine alone at national size, in this process: index build and search times.
    Engine(engine::EngineArgs),
    /// Search quality over the bundled catalogue: recall@20, MRR, nDCG@10 and every miss.
    Relevance(relevance::RelevanceArgs),
    #[command(hide = true)]
    ServeCustodian(roles::CustodianArgs),
    #[command(hide = true)]
    ServeGateway(roles::GatewayArgs),
    #[command(hide = true)]
    ServeEcho(roles::EchoArgs),
    #[command(hide = true)]
    Spin(roles::SpinArgs),
}

/// Settings of a run; each defaults by mode (full / smoke).
#[derive(Debug, Clone, Args)]
struct RunArgs {
    /// Custodians behind the gateway [full 4, smoke 3].
    #[arg(long)]
    custodians: Option<usize>,
    /// Data sources per custodian [full 100, smoke 20].
    #[arg(long)]
    sources: Option<usize>,
    /// Variables per data source [20].
    #[arg(long)]
    variables: Option<usize>,
    /// Fixed latency of every custodian answer, ms [full 2, smoke 1].
    #[arg(long)]
    latency_ms: Option<u64>,
    /// Description bytes per data source [full 512, smoke 128].
    #[arg(long)]
    payload_bytes: Option<usize>,
    /// Measured rounds after the warm-up [full 5, smoke 1].
    #[arg(long)]
    rounds: Option<usize>,
    /// Seconds per measured phase [full 4, smoke 0.5].
    #[arg(long)]
    phase_secs: Option<f64>,
    /// Seconds per warm-up phase [full 2, smoke 0.3].
    #[arg(long)]
    warmup_secs: Option<f64>,
    /// Callers in closed loop [full 32, smoke 8].
    #[arg(long)]
    concurrency: Option<usize>,
    /// Connections per server in the load generator [full 4, smoke 2].
    #[arg(long)]
    connections: Option<usize>,
    /// Latency of the stalled custodian, ms [10000].
    #[arg(long)]
    stall_ms: Option<u64>,
    /// Per-custodian timeout of the degraded gateway, ms [200].
    #[arg(long)]
    custodian_timeout_ms: Option<u64>,
    /// Custodians at national scale [8].
    #[arg(long)]
    national_custodians: Option<usize>,
    /// Data sources at national scale [full 100000, smoke 2000].
    #[arg(long)]
    national_sources: Option<usize>,
    /// Variables at national scale [full 10000000, smoke 20000].
    #[arg(long)]
    national_variables: Option<usize>,
    /// Description bytes per source at national scale [full 256, smoke 64].
    #[arg(long)]
    national_payload_bytes: Option<usize>,
    /// Custodian latency at national scale, ms [0].
    #[arg(long)]
    national_latency_ms: Option<u64>,
    /// Seconds per national-scale measurement [full 5, smoke 0.5].
    #[arg(long)]
    national_secs: Option<f64>,
    /// Short alternating slices of the closed-loop phases after the rounds, for ratios that
    /// noise hits on both sides alike [full 10, smoke 2].
    #[arg(long)]
    slices: Option<usize>,
    /// Seconds per slice [full 0.5, smoke 0.2].
    #[arg(long)]
    slice_secs: Option<f64>,
    /// Instructions per request of the hot paths under valgrind's callgrind, mixes this many
    /// times the base size; 0 skips it [full 5, smoke 0].
    #[arg(long)]
    instructions: Option<u64>,
    /// Skip the national-scale step.
    #[arg(long)]
    skip_national: bool,
    /// Skip the phases (run the national-scale step only).
    #[arg(long)]
    skip_phases: bool,
    /// Where to write the report [next to the binary: bench-<mode>-results.md].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Keep the working directory (certificates, configurations, logs) and print its path.
    #[arg(long)]
    keep_dir: bool,
    /// Decode the merged answers of D, G_miss, G_reval and G_degraded* only as far as they are
    /// checked (each record's id and access rules, the custodian outcomes), so that the servers
    /// and not the load generator bound those phases; the ratio of CPU per merged answer
    /// (gateway / load generator in D) is then not reported.
    #[arg(long)]
    light_client: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Full,
    Smoke,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Full => "full",
            Mode::Smoke => "smoke",
        }
    }
}

struct Settings {
    phases: phases::PhaseOptions,
    national: Option<national::NationalOptions>,
}

fn secs(value: f64) -> Result<Duration> {
    if !(value.is_finite() && value > 0.0 && value <= 3600.0) {
        bail!("durations must be between 0 and 3600 seconds (got {value})");
    }
    Ok(Duration::from_secs_f64(value))
}

fn settings(mode: Mode, a: &RunArgs) -> Result<Settings> {
    let full = mode == Mode::Full;
    let pick = |v: Option<usize>, f: usize, s: usize| v.unwrap_or(if full { f } else { s });
    let phases = phases::PhaseOptions {
        custodians: pick(a.custodians, 4, 3),
        sources: pick(a.sources, 100, 20),
        variables: pick(a.variables, 20, 20),
        latency_ms: a.latency_ms.unwrap_or(if full { 2 } else { 1 }),
        payload: pick(a.payload_bytes, 512, 128),
        rounds: pick(a.rounds, 5, 1),
        phase: secs(a.phase_secs.unwrap_or(if full { 4.0 } else { 0.5 }))?,
        warmup: secs(a.warmup_secs.unwrap_or(if full { 2.0 } else { 0.3 }))?,
        concurrency: pick(a.concurrency, 32, 8),
        connections: pick(a.connections, 4, 2),
        stall_ms: a.stall_ms.unwrap_or(10_000),
        custodian_timeout_ms: a.custodian_timeout_ms.unwrap_or(200),
        gateway_timeout_ms: 2_000,
        slices: pick(a.slices, 10, 2),
        slice: secs(a.slice_secs.unwrap_or(if full { 0.5 } else { 0.2 }))?,
        instruction_scale: a.instructions.unwrap_or(if full { 5 } else { 0 }),
        light_client: a.light_client,
    };
    if phases.custodians == 0 || phases.sources == 0 || phases.rounds == 0 {
        bail!("--custodians, --sources and --rounds must be at least 1");
    }
    if phases.custodians > 64 || phases.concurrency == 0 || phases.concurrency > 1024 {
        bail!("--custodians must be at most 64 and --concurrency between 1 and 1024");
    }
    let national = (!a.skip_national)
        .then(|| -> Result<national::NationalOptions> {
            let shape = synth::Shape {
                custodians: pick(a.national_custodians, 8, 8),
                sources: pick(a.national_sources, 100_000, 2_000),
                variables: pick(a.national_variables, 10_000_000, 20_000),
                payload: pick(a.national_payload_bytes, 256, 64),
            };
            if shape.custodians == 0 || shape.custodians > 64 || shape.sources < shape.custodians {
                bail!("national scale needs 1 to 64 custodians and at least one source each");
            }
            Ok(national::NationalOptions {
                shape,
                latency_ms: a.national_latency_ms.unwrap_or(0),
                duration: secs(a.national_secs.unwrap_or(if full { 5.0 } else { 0.5 }))?,
                concurrency: if full { 16 } else { 4 },
                connections: phases.connections,
                startup_timeout: Duration::from_secs(if full { 1_800 } else { 120 }),
            })
        })
        .transpose()?;
    Ok(Settings { phases, national })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Full(args) => bench(Mode::Full, args),
        Command::Smoke(args) => bench(Mode::Smoke, args),
        Command::Live(args) => live::run(args).map(|()| ExitCode::SUCCESS),
        Command::ExportDcat(args) => export_dcat::run(args).map(|()| ExitCode::SUCCESS),
        Command::Abuse(args) => abuse::run(args).map(|()| ExitCode::SUCCESS),
        Command::Relevance(args) => relevance::run(&args),
        Command::Engine(args) => engine::run(&args).map(|()| ExitCode::SUCCESS),
        Command::ServeCustodian(args) => roles::serve_custodian(args).map(|()| ExitCode::SUCCESS),
        Command::ServeGateway(args) => roles::serve_gateway(args).map(|()| ExitCode::SUCCESS),
        Command::ServeEcho(args) => roles::serve_echo(args).map(|()| ExitCode::SUCCESS),
        Command::Spin(args) => secs(args.secs)
            .and_then(roles::spin)
            .map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("bench: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn bench(mode: Mode, args: RunArgs) -> Result<ExitCode> {
    let settings = settings(mode, &args)?;
    let pinning = cluster::Pinning::detect();
    if let Some(cpu) = pinning.loadgen_cpu {
        cluster::pin_self(cpu)?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        tokio::select! {
            result = run(mode, &args, settings, pinning) => result,
            _ = tokio::signal::ctrl_c() => bail!("interrupted; every child process is being killed"),
        }
    })
}

async fn run(
    mode: Mode,
    args: &RunArgs,
    settings: Settings,
    pinning: cluster::Pinning,
) -> Result<ExitCode> {
    let started = Instant::now();
    let started_at = SystemTime::now();
    let load_at_start = procstat::load_average();
    let nginx_binary = nginx::find();
    if mode == Mode::Full
        && !args.skip_phases
        && let Err(reason) = &nginx_binary
    {
        bail!("full mode needs nginx for phase N: {reason}");
    }
    let nginx_line = match &nginx_binary {
        Ok(path) => format!("{} ({})", nginx::version(path), path.display()),
        Err(reason) => format!("not used: {reason}"),
    };
    let dir = tempfile::Builder::new()
        .prefix("helsedata-bench-")
        .tempdir()
        .context("cannot create a working directory")?;
    eprintln!(
        "[bench] {} mode; {}; working directory {}",
        mode.name(),
        pinning.describe(),
        dir.path().display()
    );
    let pki_custodians = (settings.phases.custodians + 1).max(
        settings
            .national
            .as_ref()
            .map(|n| n.shape.custodians)
            .unwrap_or(0),
    );
    let fleet = fleet::Fleet::new(dir.path(), pinning, pki_custodians)?;

    let phase_report = if args.skip_phases {
        None
    } else {
        Some(phases::run(&fleet, &settings.phases, nginx_binary).await?)
    };
    let national_report = match &settings.national {
        Some(options) => Some(national::run(&fleet, options).await?),
        None => None,
    };

    let info = report::RunInfo {
        mode: mode.name(),
        command: std::iter::once("bench".to_string())
            .chain(std::env::args().skip(1))
            .collect::<Vec<_>>()
            .join(" "),
        machine: procstat::machine(),
        pinning: pinning.describe(),
        nginx: nginx_line,
        build: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        started: started_at,
        elapsed: started.elapsed(),
        load: format!(
            "load average (1, 5, 15 min) {load_at_start} at the start, {} at the end, on {} CPUs",
            procstat::load_average(),
            procstat::online_cpus()
        ),
    };
    let text = report::render(&info, phase_report.as_ref(), national_report.as_ref());
    println!("{text}");
    let out = match &args.out {
        Some(path) => path.clone(),
        None => std::env::current_exe()
            .context("cannot find the bench binary")?
            .with_file_name(format!("bench-{}-results.md", mode.name())),
    };
    std::fs::write(&out, &text).with_context(|| format!("cannot write {}", out.display()))?;
    eprintln!("[bench] report written to {}", out.display());
    if args.keep_dir {
        let kept = dir.keep();
        eprintln!("[bench] working directory kept: {}", kept.display());
    }

    for target in report::targets(phase_report.as_ref(), national_report.as_ref()) {
        eprintln!(
            "[bench] {:<7} {} — {} (goal {})",
            target.verdict.as_str(),
            target.name,
            target.measured,
            target.goal
        );
    }
    let problems = report::problems(phase_report.as_ref(), national_report.as_ref());
    if problems.is_empty() {
        eprintln!(
            "[bench] every phase completed with correct answers ({:.1} s)",
            started.elapsed().as_secs_f64()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        for p in &problems {
            eprintln!("[bench] PROBLEM: {p}");
        }
        Ok(ExitCode::FAILURE)
    }
}
