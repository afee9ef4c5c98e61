//! The report: machine, set-up, targets with PASS/MISS, per-phase medians and spread over
//! rounds, the national-scale numbers, and every round's raw numbers. Markdown, printed and
//! written to a file, so that BENCHMARKS.md can quote it.

use std::{
    fmt::Write as _,
    time::{Duration, SystemTime},
};

use crate::{
    national::{NationalReport, gib, label},
    phases::{self, LIGHT_RATE, LoopKind, Measurement, NEIGHBOUR, Phase, PhaseReport},
    procstat::Machine,
};

/// Facts about the run itself.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// `full` or `smoke`.
    pub mode: &'static str,
    /// The command line.
    pub command: String,
    /// The machine.
    pub machine: Machine,
    /// CPU pinning.
    pub pinning: String,
    /// nginx version, or why it was not used.
    pub nginx: String,
    /// `release` or `debug`.
    pub build: &'static str,
    /// When the run started.
    pub started: SystemTime,
    /// How long it took.
    pub elapsed: Duration,
    /// How busy the machine was (load averages at the start and the end).
    pub load: String,
}

/// Whether a target was met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Met.
    Pass,
    /// Missed.
    Miss,
    /// Not measured.
    Skipped,
}

impl Verdict {
    fn of(pass: bool) -> Self {
        if pass { Self::Pass } else { Self::Miss }
    }

    /// As printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Miss => "MISS",
            Verdict::Skipped => "SKIPPED",
        }
    }
}

/// One target.
#[derive(Debug, Clone)]
pub struct Target {
    /// What is compared.
    pub name: String,
    /// The measured value (median and spread).
    pub measured: String,
    /// The goal.
    pub goal: String,
    /// Verdict.
    pub verdict: Verdict,
}

/// Median, minimum and maximum.
#[derive(Debug, Clone, Copy)]
pub struct Spread {
    /// Median.
    pub median: f64,
    /// Minimum.
    pub min: f64,
    /// Maximum.
    pub max: f64,
}

impl Spread {
    /// Of a list of values (None when empty).
    pub fn of(values: &[f64]) -> Option<Self> {
        if values.is_empty() {
            return None;
        }
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let mid = v.len() / 2;
        let median = if v.len() % 2 == 1 {
            v[mid]
        } else {
            (v[mid - 1] + v[mid]) / 2.0
        };
        Some(Self {
            median,
            min: v[0],
            max: v[v.len() - 1],
        })
    }

    /// `median [min–max]`, or the median alone when all values are equal.
    pub fn show(&self, decimals: usize) -> String {
        if (self.max - self.min).abs() < f64::EPSILON {
            format!("{:.*}", decimals, self.median)
        } else {
            format!(
                "{:.*} [{:.*}–{:.*}]",
                decimals, self.median, decimals, self.min, decimals, self.max
            )
        }
    }
}

fn find(round: &[Measurement], phase: Phase, open: bool) -> Option<&Measurement> {
    round
        .iter()
        .find(|m| m.phase == phase && matches!(m.kind, LoopKind::Open(_)) == open)
}

fn per_round(report: &PhaseReport, f: impl Fn(&[Measurement]) -> Option<f64>) -> Option<Spread> {
    let values: Vec<f64> = report.rounds.iter().filter_map(|r| f(r)).collect();
    Spread::of(&values)
}

fn closed_tput(round: &[Measurement], phase: Phase) -> Option<f64> {
    find(round, phase, false).map(|m| m.stats.throughput())
}

fn open_q(round: &[Measurement], phase: Phase, q: f64) -> Option<f64> {
    find(round, phase, true).map(|m| m.stats.quantile_ms(q))
}

/// The targets of issue 4.
pub fn targets(phases: Option<&PhaseReport>, national: Option<&NationalReport>) -> Vec<Target> {
    let mut out = match phases {
        Some(p) => phase_targets(p),
        None => vec![Target {
            name: "Phases D, G_miss, G_hit, E, N, G_pass, G_degraded".into(),
            measured: "skipped".into(),
            goal: "–".into(),
            verdict: Verdict::Skipped,
        }],
    };
    out.extend(national_targets(national));
    out
}

fn show_spread(s: Option<Spread>, decimals: usize, unit: &str) -> String {
    s.map(|s| format!("{}{unit}", s.show(decimals)))
        .unwrap_or_else(|| "not measured".into())
}

fn phase_targets(phases: &PhaseReport) -> Vec<Target> {
    let mut out = Vec::new();
    let ratio = |a: Phase, b: Phase| {
        per_round(phases, |r| {
            Some(closed_tput(r, a)? / closed_tput(r, b)?.max(1e-9))
        })
    };
    let show = show_spread;
    let verdict = |s: Option<Spread>, pass: &dyn Fn(f64) -> bool| {
        s.map(|s| Verdict::of(pass(s.median)))
            .unwrap_or(Verdict::Skipped)
    };

    let r = ratio(Phase::GMiss, Phase::D);
    out.push(Target {
        name: "Throughput G_miss / D".into(),
        measured: show(r, 2, ""),
        goal: "≥ 0.90".into(),
        verdict: verdict(r, &|v| v >= 0.9),
    });
    let added99 = per_round(phases, |r| {
        Some(open_q(r, Phase::GMiss, 0.99)? - open_q(r, Phase::D, 0.99)?)
    });
    let added50 = per_round(phases, |r| {
        Some(open_q(r, Phase::GMiss, 0.5)? - open_q(r, Phase::D, 0.5)?)
    });
    out.push(Target {
        name: format!(
            "Added latency of G_miss over D, open loop at {:.0} req/s (half the max): p99 (p50 {})",
            phases.rates.fanout,
            show(added50, 3, " ms")
        ),
        measured: show(added99, 3, " ms"),
        goal: "≤ 2 ms".into(),
        verdict: verdict(added99, &|v| v <= 2.0),
    });
    let miss = ratio(Phase::GMiss, Phase::D);
    let reval = ratio(Phase::GReval, Phase::D);
    out.push(Target {
        name: format!(
            "Throughput G_reval / D (no-cache revalidation; the forced full refetch G_miss / D is {})",
            show(miss, 2, "")
        ),
        measured: show(reval, 2, ""),
        goal: "≥ G_miss / D".into(),
        verdict: match (reval, miss) {
            (Some(reval), Some(miss)) => Verdict::of(reval.median >= miss.median),
            _ => Verdict::Skipped,
        },
    });
    let reval99 = per_round(phases, |r| {
        Some(open_q(r, Phase::GReval, 0.99)? - open_q(r, Phase::D, 0.99)?)
    });
    out.push(Target {
        name: format!(
            "Added latency of G_reval over D, open loop at {:.0} req/s: p99 (G_miss: {})",
            phases.rates.fanout,
            show(added99, 3, " ms")
        ),
        measured: show(reval99, 3, " ms"),
        goal: "≤ G_miss".into(),
        verdict: match (reval99, added99) {
            (Some(reval), Some(miss)) => Verdict::of(reval.median <= miss.median),
            _ => Verdict::Skipped,
        },
    });
    let r = ratio(Phase::GHit, Phase::E);
    out.push(Target {
        name: "Throughput G_hit / E".into(),
        measured: show(r, 2, ""),
        goal: "≥ 0.80".into(),
        verdict: verdict(r, &|v| v >= 0.8),
    });
    let nginx_skipped = phases.skipped.iter().any(|(p, _)| *p == Phase::N);
    let g99 = per_round(phases, |r| open_q(r, Phase::GPass, 0.99));
    let n99 = per_round(phases, |r| open_q(r, Phase::N, 0.99));
    let g50 = per_round(phases, |r| open_q(r, Phase::GPass, 0.5));
    let n50 = per_round(phases, |r| open_q(r, Phase::N, 0.5));
    let diff99 = per_round(phases, |r| {
        Some(open_q(r, Phase::GPass, 0.99)? - open_q(r, Phase::N, 0.99)?)
    });
    out.push(Target {
        name: format!(
            "Pass-through latency, gateway vs nginx, open loop at {:.0} req/s: p99 gateway {} vs nginx {} (p50 {} vs {})",
            phases.rates.pass,
            show(g99, 3, " ms"),
            show(n99, 3, " ms"),
            show(g50, 3, " ms"),
            show(n50, 3, " ms"),
        ),
        measured: if nginx_skipped {
            "nginx skipped".into()
        } else {
            format!("gateway − nginx p99 = {}", show(diff99, 3, " ms"))
        },
        goal: "gateway ≤ nginx".into(),
        verdict: if nginx_skipped {
            Verdict::Skipped
        } else {
            verdict(diff99, &|v| v <= 0.0)
        },
    });
    let deg99 = per_round(phases, |r| open_q(r, Phase::GDegraded, 0.99));
    let limit = phases.options.custodian_timeout_ms as f64 + 10.0;
    out.push(Target {
        name: format!(
            "p99 with one stalled custodian (timeout {} ms, ejection off), open loop at {:.0} req/s",
            phases.options.custodian_timeout_ms, phases.rates.degraded
        ),
        measured: show(deg99, 3, " ms"),
        goal: format!("≤ {limit:.0} ms"),
        verdict: verdict(deg99, &|v| v <= limit),
    });
    let busy99 = per_round(phases, |r| open_q(r, Phase::GDegradedBusy, 0.99));
    let busy = |f: fn(&Measurement) -> f64| {
        per_round(phases, |r| find(r, Phase::GDegradedBusy, true).map(f))
    };
    let servers = busy(|m| m.server_utilisation() * 100.0);
    let neighbour = busy(|m| m.utilisation(NEIGHBOUR).unwrap_or(0.0) * 100.0);
    out.push(Target {
        name: format!(
            "p99 with one stalled custodian and the servers' CPU saturated (a spinning neighbour beside them: servers {}, neighbour {} of the CPU), open loop at {:.0} req/s",
            show(servers, 0, " %"),
            show(neighbour, 0, " %"),
            phases.rates.degraded
        ),
        measured: show(busy99, 3, " ms"),
        goal: format!("≤ {limit:.0} ms"),
        verdict: verdict(busy99, &|v| v <= limit),
    });
    let light99 = per_round(phases, |r| open_q(r, Phase::GDegradedLight, 0.99));
    out.push(Target {
        name: format!(
            "(for comparison) p99 with one stalled custodian at a light {:.0} req/s",
            LIGHT_RATE
        ),
        measured: show(light99, 3, " ms"),
        goal: format!("≤ {limit:.0} ms"),
        verdict: verdict(light99, &|v| v <= limit),
    });
    let eject99 = per_round(phases, |r| open_q(r, Phase::GDegradedEject, 0.99));
    out.push(Target {
        name: format!(
            "(for comparison) p99 with one stalled custodian and the gateway's default failure ejection, at {:.0} req/s",
            phases.rates.degraded
        ),
        measured: show(eject99, 3, " ms"),
        goal: format!("≤ {limit:.0} ms"),
        verdict: verdict(eject99, &|v| v <= limit),
    });
    out
}

fn national_targets(national: Option<&NationalReport>) -> Vec<Target> {
    let mut out = Vec::new();
    match national {
        Some(n) => {
            for (lbl, name) in [
                (label::SOURCES, "National scale: SearchDataSources p99"),
                (
                    label::SOURCES_CONCEPT,
                    "National scale: SearchDataSources p99, concept search",
                ),
                (label::VARIABLES, "National scale: SearchVariables p99"),
            ] {
                let p99 = n.run(lbl).map(|r| r.stats.quantile_ms(0.99));
                out.push(Target {
                    name: format!(
                        "{name} ({} sources, {} variables)",
                        n.used.sources, n.used.variables
                    ),
                    measured: p99
                        .map(|v| format!("{v:.3} ms"))
                        .unwrap_or_else(|| "not measured".into()),
                    goal: "≤ 20 ms".into(),
                    verdict: p99
                        .map(|v| Verdict::of(v <= 20.0))
                        .unwrap_or(Verdict::Skipped),
                });
            }
            if let Some(run) = n.run(label::VARIABLES_SLOWEST_LEG) {
                let p99 = run.stats.quantile_ms(0.99);
                out.push(Target {
                    name: "(for comparison) National scale: SearchVariables, slowest of the custodian legs each timed alone, p99".into(),
                    measured: format!("{p99:.3} ms"),
                    goal: "≤ 20 ms".into(),
                    verdict: Verdict::of(p99 <= 20.0),
                });
            }
            let rss = n.gateway_memory.rss.max(n.gateway_memory_idle.rss);
            out.push(Target {
                name: "National scale: gateway RSS".into(),
                measured: format!(
                    "{:.2} GiB (peak {:.2} GiB)",
                    gib(rss),
                    gib(n.gateway_memory.hwm)
                ),
                goal: "≤ 3 GiB".into(),
                verdict: Verdict::of(rss <= 3 << 30),
            });
        }
        None => out.push(Target {
            name: "National scale".into(),
            measured: "skipped".into(),
            goal: "search p99 ≤ 20 ms, gateway RSS ≤ 3 GiB".into(),
            verdict: Verdict::Skipped,
        }),
    }
    out
}

/// Every correctness problem: failed or missing answers in any phase.
pub fn problems(phases: Option<&PhaseReport>, national: Option<&NationalReport>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(phases) = phases {
        phase_problems(phases, &mut out);
    }
    if let Some(n) = national {
        for run in &n.runs {
            if run.stats.ok == 0 || run.stats.failed() > 0 {
                out.push(format!(
                    "national {}: {} correct answers, {} failed: {}",
                    run.label,
                    run.stats.ok,
                    run.stats.failed(),
                    run.stats.failure_summary()
                ));
            }
        }
    }
    out
}

fn phase_problems(phases: &PhaseReport, out: &mut Vec<String>) {
    for (i, round) in phases.rounds.iter().enumerate() {
        for m in round {
            if m.stats.ok == 0 || m.stats.failed() > 0 {
                out.push(format!(
                    "round {}: {} {:?}: {} correct answers, {} failed: {}",
                    i + 1,
                    m.phase.name(),
                    m.kind,
                    m.stats.ok,
                    m.stats.failed(),
                    m.stats.failure_summary()
                ));
            }
        }
    }
    for phase in Phase::ALL {
        let skipped = phases.skipped.iter().any(|(p, _)| *p == phase);
        let ran = phases
            .rounds
            .iter()
            .all(|r| r.iter().any(|m| m.phase == phase));
        if !skipped && !ran {
            out.push(format!("phase {} did not run in every round", phase.name()));
        }
    }
}

/// `YYYY-MM-DD HH:MM UTC` without a date library.
fn utc(time: SystemTime) -> String {
    let secs = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60
    )
}

fn cpu_cell(m: &Measurement) -> String {
    let wall = m.wall.as_secs_f64().max(1e-9);
    let mut parts: Vec<String> = m
        .cpu
        .iter()
        .filter(|(k, v)| **k != phases::LOADGEN && v.as_secs_f64() / wall > 0.02)
        .filter_map(|(k, _)| m.cpu_us_per_request(k).map(|us| format!("{k} {us:.0}")))
        .collect();
    if parts.is_empty() {
        parts.push("–".into());
    }
    parts.join(", ")
}

fn phase_rows(report: &PhaseReport, open: bool) -> String {
    let mut s = String::new();
    for phase in Phase::ALL {
        let runs: Vec<&Measurement> = report
            .rounds
            .iter()
            .filter_map(|r| find(r, phase, open))
            .collect();
        if runs.is_empty() {
            continue;
        }
        let col = |f: &dyn Fn(&Measurement) -> f64, d: usize| {
            Spread::of(&runs.iter().map(|m| f(m)).collect::<Vec<_>>())
                .map(|s| s.show(d))
                .unwrap_or_default()
        };
        let failures: u64 = runs.iter().map(|m| m.stats.failed()).sum();
        let cpu = Spread::of(
            &runs
                .iter()
                .filter_map(|m| m.cpu_us_per_request(phase.server()))
                .collect::<Vec<_>>(),
        )
        .map(|s| s.show(0))
        .unwrap_or_else(|| "–".into());
        if open {
            let rate = match runs[0].kind {
                LoopKind::Open(r) => r,
                LoopKind::Closed(_) => 0.0,
            };
            let _ = writeln!(
                s,
                "| {} | {rate:.0} | {} | {} | {} | {} | {} | {} | {} | {} | {failures} |",
                phase.name(),
                col(&|m| m.stats.throughput(), 0),
                col(&|m| m.stats.quantile_ms(0.5), 3),
                col(&|m| m.stats.quantile_ms(0.9), 3),
                col(&|m| m.stats.quantile_ms(0.99), 3),
                col(&|m| m.stats.quantile_ms(0.999), 3),
                col(&|m| m.stats.max_ms(), 3),
                col(&|m| m.server_utilisation() * 100.0, 0),
                col(&|m| m.loadgen_utilisation() * 100.0, 0),
            );
        } else {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {failures} |",
                phase.name(),
                col(&|m| m.stats.throughput(), 0),
                col(&|m| m.stats.quantile_ms(0.5), 3),
                col(&|m| m.stats.quantile_ms(0.99), 3),
                format_args!("{} {cpu}", phase.server()),
                cpu_cell(runs[runs.len() / 2]),
                col(&|m| m.server_utilisation() * 100.0, 0),
                col(&|m| m.loadgen_utilisation() * 100.0, 0),
            );
        }
    }
    s
}

/// The whole report.
pub fn render(
    info: &RunInfo,
    phases: Option<&PhaseReport>,
    national: Option<&NationalReport>,
) -> String {
    let mut s = String::new();
    let m = &info.machine;
    let _ = writeln!(s, "# Benchmark results — {} mode\n", info.mode);
    let _ = writeln!(s, "- Command: `{}`", info.command);
    let _ = writeln!(
        s,
        "- Run: {}, took {:.0} s, {} build",
        utc(info.started),
        info.elapsed.as_secs_f64(),
        info.build
    );
    let _ = writeln!(
        s,
        "- Machine: {} CPUs ({}), {:.1} GiB memory, Linux {}",
        m.cpus,
        m.cpu_model,
        gib(m.memory),
        m.kernel
    );
    let _ = writeln!(s, "- Load: {}", info.load);
    let _ = writeln!(s, "- Pinning: {}", info.pinning);
    let _ = writeln!(s, "- nginx: {}", info.nginx);
    if let Some(phases) = phases {
        render_setup(&mut s, phases);
    }
    let _ = writeln!(s, "\n## Targets\n");
    let _ = writeln!(
        s,
        "Median over rounds, [min–max] where rounds differ.\n\n| Target | Measured | Goal | Result |\n|---|---|---|---|"
    );
    for t in targets(phases, national) {
        let _ = writeln!(
            s,
            "| {} | {} | {} | **{}** |",
            t.name,
            t.measured,
            t.goal,
            t.verdict.as_str()
        );
    }
    if let Some(phases) = phases {
        render_phases(&mut s, phases);
    }
    if let Some(n) = national {
        render_national(&mut s, n);
    }
    if let Some(phases) = phases {
        let _ = writeln!(
            s,
            "\n## Every run\n\n<details><summary>raw numbers per round</summary>\n\n```"
        );
        for m in &phases.warmup {
            let _ = writeln!(s, "warm-up  {}", phases::one_line(m));
        }
        for (i, round) in phases.rounds.iter().enumerate() {
            for m in round {
                let _ = writeln!(s, "round {:<2} {}", i + 1, phases::one_line(m));
            }
        }
        let _ = writeln!(s, "```\n\n</details>");
    }
    s
}

fn render_setup(s: &mut String, phases: &PhaseReport) {
    let o = &phases.options;
    let _ = writeln!(
        s,
        "- Phases: {} custodians × {} sources × {} variables per source; custodian latency {} ms; payload {} B of description per source (one FULL record encodes to {} B, the merged G_miss answer to {} B, the echo server's answer to {} B: the mean G_hit answer)",
        o.custodians,
        o.sources,
        o.variables,
        o.latency_ms,
        o.payload,
        phases.record_bytes,
        phases.merged_bytes,
        phases.echo_answer_bytes
    );
    let _ = writeln!(
        s,
        "- Closed loop: {} callers over {} connections per server; {:.1} s per phase; {} measured round(s) after a warm-up, phases interleaved in every round; open-loop rates from the warm-up: fan-out {:.0}/s, pass-through {:.0}/s, degraded {:.0}/s",
        o.concurrency,
        o.connections,
        o.phase.as_secs_f64(),
        o.rounds,
        phases.rates.fanout,
        phases.rates.pass,
        phases.rates.degraded
    );
    if o.light_client {
        let _ = writeln!(
            s,
            "- Load generator: `--light-client`: the merged answers of D, G_miss, G_reval and G_degraded* decoded only as far as they are checked (each record's id and access rules, the custodian outcomes); every other phase decoded in full"
        );
    }
    let _ = writeln!(
        s,
        "- Degraded gateway: custodian c{} stalled ({} ms latency), per-custodian timeout {} ms; main gateway timeout {} ms",
        o.custodians, o.stall_ms, o.custodian_timeout_ms, o.gateway_timeout_ms
    );
    for (phase, reason) in &phases.skipped {
        let _ = writeln!(s, "- Phase {} skipped: {reason}", phase.name());
    }
    let startup: Vec<String> = phases
        .startup
        .iter()
        .map(|(n, d)| format!("{n} {:.0} ms", d.as_secs_f64() * 1000.0))
        .collect();
    let _ = writeln!(
        s,
        "- Process start-up (spawn to ready): {}",
        startup.join(", ")
    );
}

fn render_phases(s: &mut String, phases: &PhaseReport) {
    let _ = writeln!(s, "\n## Comparisons\n");
    let cpu = |phase: Phase, process: &str| {
        per_round(phases, |r| {
            find(r, phase, false)?.cpu_us_per_request(process)
        })
    };
    let show = |v: Option<Spread>| v.map(|s| s.show(0)).unwrap_or_else(|| "–".into());
    let _ = writeln!(s, "| Quantity | Median [min–max] |\n|---|---|");
    let _ = writeln!(
        s,
        "| CPU µs per request: gateway in G_hit | {} |\n| CPU µs per request: echo server in E | {} |\n| CPU µs per request: gateway in G_miss | {} |\n| CPU µs per request: custodians in G_miss | {} |\n| CPU µs per request: custodians in D | {} |\n| CPU µs per request: gateway in G_pass | {} |\n| CPU µs per request: nginx in N | {} |",
        show(cpu(Phase::GHit, phases::GATEWAY)),
        show(cpu(Phase::E, phases::ECHO)),
        show(cpu(Phase::GMiss, phases::GATEWAY)),
        show(cpu(Phase::GMiss, phases::CUSTODIANS)),
        show(cpu(Phase::D, phases::CUSTODIANS)),
        show(cpu(Phase::GPass, phases::GATEWAY)),
        show(cpu(Phase::N, phases::NGINX)),
    );
    let tput_ratio = per_round(phases, |r| {
        Some(closed_tput(r, Phase::GPass)? / closed_tput(r, Phase::N)?.max(1e-9))
    });
    let _ = writeln!(
        s,
        "| Throughput G_pass / N (closed loop) | {} |",
        tput_ratio.map(|s| s.show(2)).unwrap_or_else(|| "–".into())
    );
    let _ = writeln!(
        s,
        "| Throughput D, G_miss (closed loop, req/s) | {}, {} |",
        show(per_round(phases, |r| closed_tput(r, Phase::D))),
        show(per_round(phases, |r| closed_tput(r, Phase::GMiss)))
    );

    render_cpu_per_process(s, phases);
    render_slices(s, phases);
    render_instructions(s, phases);

    let _ = writeln!(s, "\n## Phases, closed loop (maximum throughput)\n");
    let _ = writeln!(
        s,
        "Latency here includes queueing behind the other callers; compare latencies in the open-loop table.\n\n| Phase | req/s | p50 ms | p99 ms | CPU µs/req (answering server) | CPU µs/req (every busy server, median round) | servers' CPU % | load generator CPU % | failures |\n|---|---|---|---|---|---|---|---|---|"
    );
    s.push_str(&phase_rows(phases, false));
    let _ = writeln!(
        s,
        "\n## Phases, open loop (latency from the scheduled send)\n"
    );
    let _ = writeln!(
        s,
        "| Phase | offered req/s | achieved req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | servers' CPU % | load generator CPU % | failures |\n|---|---|---|---|---|---|---|---|---|---|---|"
    );
    s.push_str(&phase_rows(phases, true));
    let _ = writeln!(s, "\nPhases:\n");
    for phase in Phase::ALL {
        let _ = writeln!(s, "- **{}**: {}", phase.name(), phase.describe());
    }
}

/// The process that answers `phase` among the gateways (the serving gateway), or `None`.
fn serving_gateway(phase: Phase) -> &'static str {
    match phase.server() {
        phases::GATEWAY_DEGRADED | phases::GATEWAY_BREAKER => phase.server(),
        _ => phases::GATEWAY,
    }
}

fn render_cpu_per_process(s: &mut String, phases: &PhaseReport) {
    let _ = writeln!(
        s,
        "\n## CPU per request, every process\n\nCPU time (user + system, all threads, from `/proc/PID/stat`) of each process during the phase, per correct answer, in µs: median over the closed-loop rounds [min–max]. \"gateway\" is the gateway that answers the phase; a process idle during the phase (under 2 % of a CPU) shows –.\n\n| Phase | load generator | gateway | custodians | echo | nginx |\n|---|---|---|---|---|---|"
    );
    for phase in Phase::ALL {
        let runs: Vec<&Measurement> = phases
            .rounds
            .iter()
            .filter_map(|r| find(r, phase, false))
            .collect();
        if runs.is_empty() {
            continue;
        }
        let cell = |process: &str| {
            let values: Vec<f64> = runs
                .iter()
                .filter(|m| {
                    m.cpu.get(process).is_some_and(|cpu| {
                        cpu.as_secs_f64() / m.wall.as_secs_f64().max(1e-9) > 0.02
                    })
                })
                .filter_map(|m| m.cpu_us_per_request(process))
                .collect();
            Spread::of(&values)
                .map(|v| v.show(if v.median < 100.0 { 1 } else { 0 }))
                .unwrap_or_else(|| "–".into())
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            phase.name(),
            cell(phases::LOADGEN),
            cell(serving_gateway(phase)),
            cell(phases::CUSTODIANS),
            cell(phases::ECHO),
            cell(phases::NGINX),
        );
    }
}

fn slice_of(slice: &[Measurement], phase: Phase) -> Option<&Measurement> {
    slice.iter().find(|m| m.phase == phase)
}

/// A ratio per slice, its spread over the slices.
fn per_slice(phases: &PhaseReport, f: impl Fn(&[Measurement]) -> Option<f64>) -> Option<Spread> {
    let values: Vec<f64> = phases.slices.iter().filter_map(|r| f(r)).collect();
    Spread::of(&values)
}

fn render_slices(s: &mut String, phases: &PhaseReport) {
    if phases.slices.is_empty() {
        return;
    }
    let o = &phases.options;
    let _ = writeln!(
        s,
        "\n## Ratios from alternating slices\n\n{} slices of {:.1} s each, closed loop ({} callers); every slice runs {} back to back (in reverse order every other slice), so both sides of a ratio are measured seconds apart and a busy neighbour hits both alike. Median over the slices [min–max].\n\n| Ratio | Median [min–max] | slices |\n|---|---|---|",
        phases.slices.len(),
        o.slice.as_secs_f64(),
        o.concurrency,
        phases::SLICED
            .iter()
            .map(|p| p.name())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let tput = |a: Phase, b: Phase| {
        move |r: &[Measurement]| {
            let (x, y) = (slice_of(r, a)?, slice_of(r, b)?);
            (x.stats.ok > 0 && y.stats.ok > 0)
                .then(|| x.stats.throughput() / y.stats.throughput().max(1e-9))
        }
    };
    let cpu = |a: Phase, pa: &'static str, b: Phase, pb: &'static str| {
        move |r: &[Measurement]| {
            let x = slice_of(r, a)?.cpu_us_per_request(pa)?;
            let y = slice_of(r, b)?.cpu_us_per_request(pb)?;
            (y > 0.0).then(|| x / y)
        }
    };
    let rows: Vec<(&str, Option<Spread>)> = vec![
        (
            "Throughput G_miss / D",
            per_slice(phases, tput(Phase::GMiss, Phase::D)),
        ),
        (
            "Throughput G_reval / D",
            per_slice(phases, tput(Phase::GReval, Phase::D)),
        ),
        (
            "Throughput G_hit / E",
            per_slice(phases, tput(Phase::GHit, Phase::E)),
        ),
        (
            "Throughput G_pass / N",
            per_slice(phases, tput(Phase::GPass, Phase::N)),
        ),
        (
            "CPU per request, gateway in G_hit / echo in E",
            per_slice(
                phases,
                cpu(Phase::GHit, phases::GATEWAY, Phase::E, phases::ECHO),
            ),
        ),
        (
            "CPU per request, gateway / custodians, in G_miss",
            per_slice(
                phases,
                cpu(
                    Phase::GMiss,
                    phases::GATEWAY,
                    Phase::GMiss,
                    phases::CUSTODIANS,
                ),
            ),
        ),
        (
            "CPU per request, gateway / custodians, in G_reval",
            per_slice(
                phases,
                cpu(
                    Phase::GReval,
                    phases::GATEWAY,
                    Phase::GReval,
                    phases::CUSTODIANS,
                ),
            ),
        ),
        (
            "CPU per request, gateway / custodians, in G_pass",
            per_slice(
                phases,
                cpu(
                    Phase::GPass,
                    phases::GATEWAY,
                    Phase::GPass,
                    phases::CUSTODIANS,
                ),
            ),
        ),
        (
            "CPU per merged answer, gateway in G_miss / load generator in D (both decode and merge the custodians' answers)",
            // A light client decodes D's answers only as far as it checks them: unlike work.
            (!o.light_client)
                .then(|| {
                    per_slice(
                        phases,
                        cpu(Phase::GMiss, phases::GATEWAY, Phase::D, phases::LOADGEN),
                    )
                })
                .flatten(),
        ),
        (
            "CPU per request, gateway in G_pass / nginx in N",
            per_slice(
                phases,
                cpu(Phase::GPass, phases::GATEWAY, Phase::N, phases::NGINX),
            ),
        ),
    ];
    for (name, spread) in rows {
        let Some(spread) = spread else { continue };
        let _ = writeln!(
            s,
            "| {name} | {} | {} |",
            spread.show(2),
            phases.slices.len()
        );
    }
}

fn render_instructions(s: &mut String, phases: &PhaseReport) {
    let _ = writeln!(s, "\n## Instructions per request (callgrind)\n");
    let counts = match &phases.instructions {
        Ok(counts) => counts,
        Err(reason) => {
            let _ = writeln!(s, "Not counted: {reason}.");
            return;
        }
    };
    let _ = writeln!(
        s,
        "User-space instructions of the answering server per request, counted by `valgrind --tool=callgrind` (a second gateway and echo server under callgrind, over the same custodians): a fixed mix per hot path, sent one request at a time after an uncounted warm-up, counted in 5 chunks (counters zeroed before and dumped after each chunk with `callgrind_control`). Median over the chunks [min–max]. Kernel work (system calls, TCP, loopback) is not counted. The virtual machine has no hardware counters (`perf stat -e instructions` reports them as not supported).\n\n| Path | Request | Server | requests per chunk | instructions per request |\n|---|---|---|---|---|"
    );
    for c in counts {
        let shown = Spread::of(&c.per_request)
            .map(|v| format!("{:.0} [{:.0}–{:.0}]", v.median, v.min, v.max))
            .unwrap_or_else(|| "–".into());
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {shown} |",
            c.path, c.request, c.process, c.per_chunk
        );
    }
    let median = |path: &str| {
        counts
            .iter()
            .find(|c| c.path == path)
            .and_then(|c| Spread::of(&c.per_request))
            .map(|v| v.median)
    };
    if let (Some(hit), Some(echo)) = (median("G_hit"), median("E")) {
        let _ = writeln!(
            s,
            "\nInstructions per request, gateway in G_hit / echo in E (the same answer size): {:.2}.",
            hit / echo.max(1.0)
        );
    }
    if let (Some(hit), Some(bare)) = (median("G_hit"), median("E_bare")) {
        let _ = writeln!(
            s,
            "Against the echo server's bare answer (E_bare): {:.2}; the difference is the cost of sending the answer's bytes (encryption and copies).",
            hit / bare.max(1.0)
        );
    }
}

fn render_national(s: &mut String, n: &NationalReport) {
    let _ = writeln!(s, "\n## National scale\n");
    let _ = writeln!(
        s,
        "- Asked: {} custodians, {} sources, {} variables; measured with {} sources and {} variables ({} B description per source, custodian latency {} ms)",
        n.requested.custodians,
        n.requested.sources,
        n.requested.variables,
        n.used.sources,
        n.used.variables,
        n.used.payload,
        n.latency_ms
    );
    let _ = writeln!(
        s,
        "- Memory available before the step: {:.1} GiB",
        gib(n.available_before)
    );
    if let Some(reason) = &n.scaled {
        let _ = writeln!(s, "- **Scaled down**: {reason}");
    }
    let startups: Vec<f64> = n
        .custodian_startup
        .iter()
        .map(|d| d.as_secs_f64())
        .collect();
    if let Some(sp) = Spread::of(&startups) {
        let _ = writeln!(
            s,
            "- Custodian start-up (generate + index its share, all on the server CPU): {} s",
            sp.show(1)
        );
    }
    let _ = writeln!(
        s,
        "- Gateway: ready {:.0} ms after spawn; first complete merged answer (all {} sources, every custodian OK) {:.2} s after spawn, {:.2} s for that request (cold cache: fetch every snapshot, merge); first free-text search answered {:.2} s after spawn (the search index, built after the merge on the blocking pool)",
        n.gateway_ready.as_secs_f64() * 1000.0,
        n.used.sources,
        n.first_complete.as_secs_f64(),
        n.first_request.as_secs_f64(),
        n.first_search.as_secs_f64()
    );
    let _ = writeln!(
        s,
        "\n| Process | VmRSS | VmHWM (peak) | holds |\n|---|---|---|---|"
    );
    let _ = writeln!(
        s,
        "| gateway | {:.2} GiB ({:.2} GiB before the measurements) | {:.2} GiB | {} source records + merged index |",
        gib(n.gateway_memory.rss),
        gib(n.gateway_memory_idle.rss),
        gib(n.gateway_memory.hwm),
        n.used.sources
    );
    let mut total_rss = 0;
    for (c, mem) in n.custodian_memory.iter().enumerate() {
        total_rss += mem.rss;
        let _ = writeln!(
            s,
            "| custodian c{c} | {:.2} GiB | {:.2} GiB | {} sources, {} variables ({:.0} B per variable) |",
            gib(mem.rss),
            gib(mem.hwm),
            n.used.sources_of(c),
            n.used.variables_of(c),
            mem.rss as f64 / n.used.variables_of(c).max(1) as f64
        );
    }
    let _ = writeln!(
        s,
        "| all custodians | {:.2} GiB | | {} variables |",
        gib(total_rss),
        n.used.variables
    );
    let _ = writeln!(
        s,
        "\n| Measurement | callers | req/s | p50 ms | p99 ms | max ms | failures |\n|---|---|---|---|---|---|---|"
    );
    for run in &n.runs {
        let _ = writeln!(
            s,
            "| {} | {} | {:.0} | {:.3} | {:.3} | {:.3} | {} |",
            run.what,
            run.concurrency,
            run.stats.throughput(),
            run.stats.quantile_ms(0.5),
            run.stats.quantile_ms(0.99),
            run.stats.max_ms(),
            run.stats.failed()
        );
    }
    let tput = |l: &str| n.run(l).map(|r| r.stats.throughput()).unwrap_or(0.0);
    let _ = writeln!(
        s,
        "\nListVariables through the gateway (no-store) / straight from the custodian: {:.2}; warm gateway cache / custodian: {:.2}.",
        tput(label::LIST_GATEWAY) / tput(label::LIST_DIRECT).max(1e-9),
        tput(label::LIST_GATEWAY_CACHED) / tput(label::LIST_DIRECT).max(1e-9)
    );
}
