//! The load generator: closed-loop runs (a fixed number of callers, each sending its next
//! request when the previous answer arrives: maximum throughput) and open-loop runs
//! (requests sent on a fixed schedule whatever happens to earlier ones).
//!
//! Latencies go into HDR histograms in microseconds. In open loop a request's latency is
//! timed from its *scheduled* send time, so a stall delays and charges every request that
//! should have been sent during it (no coordinated omission). The schedule is kept by a
//! dedicated OS thread sleeping with `nanosleep` precision; tokio's timer wheel has
//! millisecond granularity.
//!
//! Every answer is checked by the call itself: grpc-status OK and the content expected; a
//! failure is counted by kind and never recorded as a latency. Every run is bounded by a
//! duration, a maximum number of requests and a per-call timeout.

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use futures::future::BoxFuture;
use hdrhistogram::Histogram;

/// Why one call did not count as a correct answer.
#[derive(Debug, Clone)]
pub struct Failure {
    /// Kind, for counting: `grpc Unavailable`, `wrong answer`, `client timeout`…
    pub kind: String,
    /// The first detail seen.
    pub detail: String,
}

impl Failure {
    /// A non-OK grpc-status.
    pub fn status(status: &tonic::Status) -> Self {
        Self {
            kind: format!("grpc {:?}", status.code()),
            detail: status.message().chars().take(300).collect(),
        }
    }

    /// An answer with status OK but the wrong content.
    pub fn wrong(detail: impl Into<String>) -> Self {
        Self {
            kind: "wrong answer".into(),
            detail: detail.into(),
        }
    }
}

impl From<tonic::Status> for Failure {
    fn from(status: tonic::Status) -> Self {
        Self::status(&status)
    }
}

/// One request of a phase: `call(n)` sends request number `n` and checks its answer.
pub type Call = Arc<dyn Fn(u64) -> BoxFuture<'static, Result<(), Failure>> + Send + Sync>;

/// Bounds of one run.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How long requests are sent for.
    pub duration: Duration,
    /// Most requests sent.
    pub max_requests: u64,
    /// Longest wait for one answer.
    pub call_timeout: Duration,
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct Stats {
    /// Correct answers.
    pub ok: u64,
    /// Failures by kind: count and first detail.
    pub failures: BTreeMap<String, (u64, String)>,
    /// Open loop: requests not sent because too many were in flight.
    pub dropped: u64,
    /// Latency of correct answers, microseconds.
    pub hist: Histogram<u64>,
    /// From the first send to the last answer.
    pub elapsed: Duration,
}

fn histogram() -> Histogram<u64> {
    // 1 µs to 1 hour at 3 significant digits.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("constant histogram bounds are valid")
}

impl Default for Stats {
    fn default() -> Self {
        Self {
            ok: 0,
            failures: BTreeMap::new(),
            dropped: 0,
            hist: histogram(),
            elapsed: Duration::ZERO,
        }
    }
}

impl Stats {
    /// Counts one answer: its latency when correct, its failure otherwise.
    pub fn record(&mut self, latency: Duration, result: Result<(), Failure>) {
        match result {
            Ok(()) => {
                self.ok += 1;
                self.hist
                    .saturating_record((latency.as_micros() as u64).max(1));
            }
            Err(failure) => {
                let entry = self
                    .failures
                    .entry(failure.kind)
                    .or_insert((0, failure.detail));
                entry.0 += 1;
            }
        }
    }

    fn merge(&mut self, other: &Stats) {
        self.ok += other.ok;
        self.dropped += other.dropped;
        for (kind, (count, detail)) in &other.failures {
            let entry = self
                .failures
                .entry(kind.clone())
                .or_insert((0, detail.clone()));
            entry.0 += count;
        }
        let _ = self.hist.add(&other.hist);
    }

    /// Failed requests (dropped ones included).
    pub fn failed(&self) -> u64 {
        self.failures.values().map(|(n, _)| n).sum::<u64>() + self.dropped
    }

    /// Correct answers per second.
    pub fn throughput(&self) -> f64 {
        if self.elapsed.is_zero() {
            0.0
        } else {
            self.ok as f64 / self.elapsed.as_secs_f64()
        }
    }

    /// A latency quantile in milliseconds (0 when nothing was recorded).
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.hist.is_empty() {
            0.0
        } else {
            self.hist.value_at_quantile(q) as f64 / 1000.0
        }
    }

    /// Largest latency in milliseconds.
    pub fn max_ms(&self) -> f64 {
        self.hist.max() as f64 / 1000.0
    }

    /// Failures as one line.
    pub fn failure_summary(&self) -> String {
        let mut parts: Vec<String> = self
            .failures
            .iter()
            .map(|(kind, (n, detail))| format!("{n} × {kind} ({detail})"))
            .collect();
        if self.dropped > 0 {
            parts.push(format!("{} × not sent (in-flight cap)", self.dropped));
        }
        parts.join("; ")
    }
}

async fn timed(call: &Call, n: u64, timeout: Duration) -> Result<(), Failure> {
    match tokio::time::timeout(timeout, call(n)).await {
        Ok(result) => result,
        Err(_) => Err(Failure {
            kind: "client timeout".into(),
            detail: format!("no answer within {timeout:?}"),
        }),
    }
}

/// `concurrency` callers send back to back until the duration or the request budget is
/// used up.
pub async fn closed_loop(call: &Call, concurrency: usize, limits: Limits) -> Stats {
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let stop = started + limits.duration;
    let workers: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let call = call.clone();
            let next = next.clone();
            tokio::spawn(async move {
                let mut stats = Stats::default();
                while Instant::now() < stop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= limits.max_requests {
                        break;
                    }
                    let sent = Instant::now();
                    let result = timed(&call, n, limits.call_timeout).await;
                    stats.record(sent.elapsed(), result);
                }
                stats
            })
        })
        .collect();
    let mut total = Stats::default();
    for worker in workers {
        match worker.await {
            Ok(stats) => total.merge(&stats),
            Err(e) => total.record(
                Duration::ZERO,
                Err(Failure {
                    kind: "load generator task failed".into(),
                    detail: e.to_string(),
                }),
            ),
        }
    }
    total.elapsed = started.elapsed();
    total
}

/// Sends `rate` requests per second on a fixed schedule for the duration (at most
/// `max_in_flight` outstanding; requests beyond that are counted as dropped). Latency is
/// timed from each request's scheduled send time.
pub async fn open_loop(
    call: &Call,
    rate: f64,
    limits: Limits,
    max_in_flight: usize,
) -> Result<Stats> {
    let rate = rate.max(1.0);
    let count =
        ((rate * limits.duration.as_secs_f64()).ceil() as u64).clamp(1, limits.max_requests.max(1));
    let interval = Duration::from_secs_f64(1.0 / rate);
    let shared = Arc::new(Mutex::new(Stats::default()));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let handle = tokio::runtime::Handle::current();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let dispatcher = {
        let call = call.clone();
        let shared = shared.clone();
        let in_flight = in_flight.clone();
        move || {
            let start = Instant::now() + Duration::from_millis(2);
            let mut tasks = Vec::with_capacity(count as usize);
            let mut dropped = 0u64;
            for n in 0..count {
                let scheduled = start + interval.mul_f64(n as f64);
                let now = Instant::now();
                if scheduled > now {
                    std::thread::sleep(scheduled - now);
                }
                if in_flight.load(Ordering::Relaxed) >= max_in_flight {
                    dropped += 1;
                    continue;
                }
                in_flight.fetch_add(1, Ordering::Relaxed);
                let call = call.clone();
                let shared = shared.clone();
                let in_flight = in_flight.clone();
                tasks.push(handle.spawn(async move {
                    let result = timed(&call, n, limits.call_timeout).await;
                    let latency = scheduled.elapsed();
                    in_flight.fetch_sub(1, Ordering::Relaxed);
                    if let Ok(mut stats) = shared.lock() {
                        stats.record(latency, result);
                    }
                }));
            }
            let _ = done_tx.send((tasks, dropped, start));
        }
    };
    std::thread::Builder::new()
        .name("open-loop dispatcher".into())
        .spawn(dispatcher)
        .context("cannot start the dispatcher thread")?;
    let (tasks, dropped, start) = done_rx
        .await
        .context("the dispatcher thread stopped early")?;
    for task in tasks {
        let _ = task.await;
    }
    let mut stats = shared
        .lock()
        .map(|s| s.clone())
        .unwrap_or_else(|e| e.into_inner().clone());
    stats.dropped = dropped;
    stats.elapsed = start.elapsed();
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;

    fn sleeper(ms: u64) -> Call {
        Arc::new(move |n| {
            async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                if n % 10 == 9 {
                    Err(Failure::wrong("every tenth"))
                } else {
                    Ok(())
                }
            }
            .boxed()
        })
    }

    #[tokio::test]
    async fn closed_loop_is_bounded_and_counts_failures() {
        let limits = Limits {
            duration: Duration::from_secs(5),
            max_requests: 40,
            call_timeout: Duration::from_secs(1),
        };
        let stats = closed_loop(&sleeper(1), 4, limits).await;
        assert_eq!(stats.ok + stats.failed(), 40);
        assert_eq!(stats.failed(), 4);
        assert!(stats.quantile_ms(0.5) >= 1.0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn open_loop_times_from_the_schedule() {
        let limits = Limits {
            duration: Duration::from_millis(200),
            max_requests: 1000,
            call_timeout: Duration::from_secs(1),
        };
        let stats = open_loop(&sleeper(2), 100.0, limits, 100).await.unwrap();
        assert_eq!(stats.ok + stats.failed(), 20);
        assert!(stats.quantile_ms(0.5) >= 2.0);
    }
}
