//! Runs the benchmark's smoke mode end to end (every server a real process, real mutual
//! TLS on 127.0.0.1) and checks that every phase completed with correct answers. The
//! targets are not checked here: a debug build on a shared machine says nothing about them.

use std::{
    ffi::OsString,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

/// Longest a smoke run may take before the test gives up (and kills it).
const LIMIT: Duration = Duration::from_secs(110);

struct Run {
    success: bool,
    stderr: String,
    report: String,
}

fn path_without_nginx() -> OsString {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let kept: Vec<PathBuf> = std::env::split_paths(&path)
        .filter(|dir| !dir.join("nginx").is_file())
        .collect();
    std::env::join_paths(kept).expect("PATH entries can be joined again")
}

fn run(dir: &Path, args: &[&str], path: Option<OsString>) -> Run {
    let out = dir.join("report.md");
    let stderr_file = dir.join("stderr.txt");
    let mut command = Command::new(env!("CARGO_BIN_EXE_bench"));
    command
        .args(args)
        .arg("--out")
        .arg(&out)
        .stdin(Stdio::null())
        .stdout(Stdio::from(
            std::fs::File::create(dir.join("stdout.txt")).expect("stdout file"),
        ))
        .stderr(Stdio::from(
            std::fs::File::create(&stderr_file).expect("stderr file"),
        ));
    if let Some(path) = path {
        command.env("PATH", path);
    }
    let mut child = command.spawn().expect("the bench binary starts");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for bench") {
            break status;
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "bench {args:?} did not finish within {LIMIT:?}; stderr:\n{}",
                std::fs::read_to_string(&stderr_file).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    Run {
        success: status.success(),
        stderr: std::fs::read_to_string(&stderr_file).unwrap_or_default(),
        report: std::fs::read_to_string(&out).unwrap_or_default(),
    }
}

fn assert_phases_ran(run: &Run, phases: &[&str]) {
    assert!(
        run.success,
        "smoke run failed; stderr:\n{}\nreport:\n{}",
        run.stderr, run.report
    );
    assert!(
        run.stderr
            .contains("every phase completed with correct answers"),
        "{}",
        run.stderr
    );
    for phase in phases {
        assert!(
            run.report.contains(&format!("| {phase} |")),
            "phase {phase} missing from the report:\n{}",
            run.report
        );
    }
}

/// The share of the CPU the spinning neighbour of G_degraded_busy had, in per cent, as the
/// report's target row gives it (the median when a spread follows).
fn neighbour_share(report: &str) -> Option<f64> {
    let (_, rest) = report.split_once("a spinning neighbour beside them: servers ")?;
    let (_, rest) = rest.split_once(", neighbour ")?;
    let number: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    number.parse().ok()
}

#[test]
fn smoke_mode_answers_correctly_in_every_phase() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = run(dir.path(), &["smoke"], None);
    assert_phases_ran(
        &run,
        &[
            "D",
            "G_miss",
            "G_hit",
            "E",
            "G_pass",
            "G_degraded",
            "G_degraded_busy",
            "G_degraded_light",
            "G_degraded_eject",
        ],
    );
    assert!(run.report.contains("## National scale"), "{}", run.report);
    assert!(
        neighbour_share(&run.report).is_some_and(|share| share > 0.0),
        "G_degraded_busy's neighbour did not spin:\n{}",
        run.report
    );
    for section in [
        "## CPU per request, every process",
        "## Ratios from alternating slices",
        "| Throughput G_hit / E |",
        "| CPU per request, gateway in G_hit / echo in E |",
        // Counting under callgrind is for release builds (`bench full`).
        "## Instructions per request (callgrind)\n\nNot counted: not asked for",
    ] {
        assert!(
            run.report.contains(section),
            "{section} missing:\n{}",
            run.report
        );
    }
    if run.report.contains("Phase N skipped") {
        assert!(
            run.report.contains("nginx is not on PATH"),
            "{}",
            run.report
        );
    } else {
        assert!(run.report.contains("| N |"), "{}", run.report);
    }
}

/// Also runs the merged phases with `--light-client` (answers decoded only as far as they are
/// checked), so that its decoding path meets real answers.
#[test]
fn smoke_mode_without_nginx_skips_phase_n_and_says_why() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = run(
        dir.path(),
        &[
            "smoke",
            "--skip-national",
            "--phase-secs",
            "0.2",
            "--warmup-secs",
            "0.2",
            "--light-client",
        ],
        Some(path_without_nginx()),
    );
    assert_phases_ran(&run, &["D", "G_miss", "G_hit", "E", "G_pass", "G_degraded"]);
    assert!(
        run.report.contains("Phase N skipped: nginx is not on PATH"),
        "{}",
        run.report
    );
    assert!(
        run.report.contains("- Load generator: `--light-client`"),
        "{}",
        run.report
    );
    assert!(
        !run.report.contains("CPU per merged answer"),
        "a light client's D is not a full decode and merge:\n{}",
        run.report
    );
}

#[test]
fn full_mode_refuses_to_run_without_nginx() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = run(dir.path(), &["full"], Some(path_without_nginx()));
    assert!(!run.success);
    assert!(
        run.stderr.contains("full mode needs nginx"),
        "{}",
        run.stderr
    );
}
