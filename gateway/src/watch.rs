//! One `WatchCatalogue` stream per custodian, so that a change at a custodian reaches the
//! gateway's cache within moments instead of at the end of a time to live.
//!
//! Each custodian gets a task that opens the stream and hands every change to the
//! federation ([`Federation::apply_change`]), which refetches exactly what changed. A
//! stream that breaks is opened again after a back-off that doubles from
//! [`RECONNECT_BASE`] up to [`RECONNECT_MAX`], with jitter so that custodians and gateways
//! do not reconnect in step. A custodian that answers `UNIMPLEMENTED` does not offer the
//! stream: its revision is polled once per catalogue time to live instead
//! ([`Federation::poll_catalogue`]: one GetCustodianInfo, the catalogue fetched again only
//! when the revision moved), so that its changes reach the cache and the change feed
//! without waiting for a consumer's request; the stream is tried again after
//! [`UNSUPPORTED_RETRY`] (the custodian may have been upgraded).

use std::{
    hash::{BuildHasher, RandomState},
    sync::Arc,
    time::Duration,
};

use tokio::task::JoinHandle;
use tonic::Code;

use crate::{federation::Federation, upstream::Upstream};

/// First wait before a broken stream is opened again.
pub const RECONNECT_BASE: Duration = Duration::from_millis(200);
/// Longest wait before a broken stream is opened again.
pub const RECONNECT_MAX: Duration = Duration::from_secs(30);
/// Wait before asking again a custodian that does not offer `WatchCatalogue`.
pub const UNSUPPORTED_RETRY: Duration = Duration::from_secs(300);

/// Exponential back-off with jitter: each wait is drawn between half and all of a ceiling
/// that doubles from `base` to `max`.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    /// A back-off starting at `base`, never above `max`.
    pub fn new(base: Duration, max: Duration) -> Self {
        Self {
            base,
            max,
            attempt: 0,
        }
    }

    /// The next wait.
    pub fn next_wait(&mut self) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(1u32 << self.attempt.min(20))
            .min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        let half = ceiling / 2;
        let spread = u64::try_from(half.as_micros()).unwrap_or(u64::MAX).max(1);
        half + Duration::from_micros(RandomState::new().hash_one(self.attempt) % spread)
    }

    /// After a success: start again from `base`.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// Starts one watcher per custodian; they run until aborted.
pub fn spawn_watchers(federation: &Arc<Federation>) -> Vec<JoinHandle<()>> {
    federation
        .upstreams()
        .iter()
        .map(|up| tokio::spawn(watch_custodian(federation.clone(), up.clone())))
        .collect()
}

async fn watch_custodian(federation: Arc<Federation>, up: Arc<Upstream>) {
    let mut backoff = Backoff::new(RECONNECT_BASE, RECONNECT_MAX);
    loop {
        let wait = match up.watch().await {
            Ok(mut stream) => {
                let mut first = true;
                loop {
                    match stream.message().await {
                        Ok(Some(change)) => {
                            backoff.reset();
                            up.note_revision(&change.catalogue_revision);
                            if first {
                                first = false;
                                tracing::debug!(custodian = %up.id, revision = %change.catalogue_revision, "watching the custodian's catalogue");
                                federation.resync(&up, &change.catalogue_revision).await;
                            } else {
                                federation.apply_change(&up, &change).await;
                            }
                        }
                        Ok(None) => {
                            tracing::debug!(custodian = %up.id, "the custodian ended its watch stream");
                            break;
                        }
                        Err(status) => {
                            tracing::debug!(custodian = %up.id, error = %status, "watch stream broke");
                            break;
                        }
                    }
                }
                backoff.next_wait()
            }
            Err(status) if status.code() == Code::Unimplemented => {
                tracing::info!(custodian = %up.id, "the custodian does not offer WatchCatalogue; its revision is polled each catalogue time to live");
                poll_until(
                    &federation,
                    &up,
                    tokio::time::Instant::now() + UNSUPPORTED_RETRY,
                )
                .await;
                Duration::ZERO
            }
            Err(status) => {
                tracing::debug!(custodian = %up.id, error = %status, "cannot open the watch stream");
                backoff.next_wait()
            }
        };
        tokio::time::sleep(wait).await;
    }
}

/// Polls `up`'s revision once per catalogue time to live until `until`.
async fn poll_until(federation: &Federation, up: &Arc<Upstream>, until: tokio::time::Instant) {
    let every = federation.catalogue_ttl().max(MIN_POLL);
    loop {
        let next = tokio::time::Instant::now() + every;
        if next > until {
            tokio::time::sleep_until(until).await;
            return;
        }
        tokio::time::sleep_until(next).await;
        federation.poll_catalogue(up).await;
    }
}

/// Shortest interval between two polls of a custodian without a watch stream, whatever the
/// time to live.
const MIN_POLL: Duration = Duration::from_millis(100);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_maximum_with_jitter_and_reset() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(1000));
        let ceilings = [100, 200, 400, 800, 1000, 1000];
        for ceiling in ceilings {
            let wait = backoff.next_wait();
            let ceiling = Duration::from_millis(ceiling);
            assert!(
                wait >= ceiling / 2 && wait <= ceiling,
                "{wait:?} for {ceiling:?}"
            );
        }
        backoff.reset();
        assert!(backoff.next_wait() <= Duration::from_millis(100));
    }

    #[test]
    fn jitter_spreads_the_waits() {
        let waits: std::collections::HashSet<Duration> = (0..20)
            .map(|_| Backoff::new(Duration::from_secs(1), Duration::from_secs(1)).next_wait())
            .collect();
        assert!(waits.len() > 1, "{waits:?}");
    }
}
