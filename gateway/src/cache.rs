//! The gateway's cache of custodian answers: time to live, last known good answers served
//! (marked stale) when a custodian fails, and single-flight: concurrent identical misses
//! make one upstream call, whose result every waiter shares.

use std::{
    sync::Arc,
    time::{Duration, SystemTime},
};

use dashmap::{DashMap, mapref::entry::Entry};
use futures::{
    FutureExt,
    future::{BoxFuture, Shared},
};
use tokio::time::Instant;

use crate::metrics::{CacheMetrics, Lookup};

/// The least time a caller must have left for a fetch to be started on its behalf: less than
/// any custodian's answer over TLS takes. A caller with less gets what the cache holds (stale
/// where allowed) or `CALLER_DEADLINE`; a fetch already running is still joined.
pub const MIN_FETCH_WAIT: std::time::Duration = std::time::Duration::from_millis(1);

/// What the cache needs of a fetch's error type: a way to say that the caller stopped
/// waiting, and that the fetch task itself ended abnormally.
pub trait FetchError: Clone + Send + Sync + 'static {
    /// The caller waited `waited` (its remaining deadline) and the fetch had not finished.
    fn caller_deadline(waited: Duration) -> Self;
    /// The fetch task panicked or was aborted, for `reason`.
    fn fetch_aborted(reason: String) -> Self;
}

/// One stored answer, with when it was fetched and which catalogue revision it came from.
#[derive(Debug)]
pub struct Cached<V> {
    /// The custodian's answer, as fetched.
    pub value: V,
    /// Wall-clock time it was fetched (reported to callers).
    pub fetched_at: SystemTime,
    /// Monotonic time it was fetched (used for TTL and age).
    pub fetched: Instant,
    /// Catalogue revision it came from.
    pub revision: String,
    /// A number unique to this fetch, so that derived data can tell when it changed.
    pub generation: u64,
}

impl<V> Cached<V> {
    /// Time since the fetch (monotonic clock), compared with the TTL and reported as `age`.
    pub fn age(&self) -> Duration {
        self.age_at(Instant::now())
    }

    /// The entry's age at `now` (a request that reads several entries reads the clock once).
    pub fn age_at(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.fetched)
    }

    /// `value`, as if fetched just now from revision `r1` (for tests).
    #[cfg(test)]
    pub fn just_fetched(value: V) -> Arc<Self> {
        Arc::new(Self {
            value,
            fetched_at: SystemTime::now(),
            fetched: Instant::now(),
            revision: "r1".into(),
            generation: 1,
        })
    }
}

/// A failed fetch, with how long it took.
#[derive(Debug, Clone)]
pub struct FetchFailure<E> {
    /// Why the fetch gave no answer.
    pub error: E,
    /// How long the fetch ran, or the caller waited, before failing.
    pub latency: Duration,
    /// The failure is the custodian's last call's, told at once because a new call was
    /// already under way (callers do not queue behind a failing custodian): this lookup
    /// did not wait for an answer.
    pub remembered: bool,
}

impl<E> FetchFailure<E> {
    /// This lookup's own failure, after `latency`.
    pub fn new(error: E, latency: Duration) -> Self {
        Self {
            error,
            latency,
            remembered: false,
        }
    }
}

/// What a lookup served; the variants are those of the proto's `Freshness`.
#[derive(Debug, Clone)]
pub enum Served<V, E> {
    /// Fetched during this lookup (by this caller or one it joined), with the time waited.
    Live(Arc<Cached<V>>, Duration),
    /// From the cache within its time to live; no call was made.
    Cached(Arc<Cached<V>>),
    /// The fetch failed; the last known good answer, past its time to live.
    Stale(Arc<Cached<V>>, FetchFailure<E>),
    /// The fetch failed and nothing usable is cached.
    Failed(FetchFailure<E>),
}

impl<V, E> Served<V, E> {
    /// The value served, if any.
    pub fn cached(&self) -> Option<&Arc<Cached<V>>> {
        match self {
            Self::Live(c, _) | Self::Cached(c) | Self::Stale(c, _) => Some(c),
            Self::Failed(_) => None,
        }
    }
}

/// How a lookup should treat the cache.
#[derive(Debug, Clone)]
pub struct Policy<E> {
    /// Time to live of an entry.
    pub ttl: Duration,
    /// How long past its TTL an entry may still be served when the custodian fails.
    pub max_stale: Duration,
    /// Skip fresh entries and ask the custodian (the answer still refreshes the cache).
    pub bypass: bool,
    /// How the custodian's last call failed, if it did. Then callers do not queue behind a
    /// custodian that is down: while a call to it is in flight, others get the last known
    /// good answer (or the failure) at once; otherwise an expired entry is served at once,
    /// marked stale, while one refresh runs in the background (stale-while-revalidate; with
    /// `bypass` the caller waits for the refresh instead).
    pub known_failure: Option<E>,
}

impl<E> Policy<E> {
    /// The same policy for a custodian whose last call failed with `failure` (or did not).
    pub fn with_known_failure(mut self, failure: Option<E>) -> Self {
        self.known_failure = failure;
        self
    }
}

type FetchResult<V, E> = Result<Arc<Cached<V>>, FetchFailure<E>>;
type InFlight<V, E> = Shared<BoxFuture<'static, FetchResult<V, E>>>;

/// Told of every entry a cache stores: the key, the entry it replaced (`None` for the first
/// one of that key) and the new entry. Calls come one at a time, in the order the entries
/// were stored, so that an observer comparing each entry with the one before sees every
/// transition exactly once.
pub type StoreObserver<V> =
    Arc<dyn Fn(&str, Option<&Arc<Cached<V>>>, &Arc<Cached<V>>) + Send + Sync>;

struct Observed<V> {
    /// Held from the store until the observer returns: stores are observed in order.
    order: std::sync::Mutex<()>,
    observer: StoreObserver<V>,
}

/// A cache's maps. Their hasher is foldhash's, seeded per map: a lookup of a short key costs
/// a fraction of SipHash's (four of them per cached search), and the seed keeps keys that a
/// caller names (source ids) from being chosen to collide.
type Keyed<T> = DashMap<String, T, foldhash::quality::RandomState>;

struct Inner<V, E> {
    entries: Keyed<Arc<Cached<V>>>,
    in_flight: Keyed<InFlight<V, E>>,
    generations: std::sync::atomic::AtomicU64,
    metrics: Option<CacheMetrics>,
    observed: Option<Observed<V>>,
}

impl<V, E> Inner<V, E> {
    fn new(observed: Option<Observed<V>>, metrics: Option<CacheMetrics>) -> Self {
        Self {
            entries: DashMap::default(),
            in_flight: DashMap::default(),
            generations: std::sync::atomic::AtomicU64::new(1),
            metrics,
            observed,
        }
    }

    fn next_generation(&self) -> u64 {
        self.generations
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// Stores `entry` for `key` unless `keep` says the entry there is to stay; tells the
    /// observer. Answers the entry the key holds afterwards.
    fn store(
        &self,
        key: &str,
        entry: Arc<Cached<V>>,
        keep: impl FnOnce(&Cached<V>) -> bool,
    ) -> Arc<Cached<V>> {
        let _order = self.observed.as_ref().map(|o| {
            o.order
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
        });
        let replaced = match self.entries.entry(key.to_string()) {
            Entry::Occupied(current) if keep(current.get()) => return current.get().clone(),
            Entry::Occupied(mut current) => Some(current.insert(entry.clone())),
            Entry::Vacant(slot) => {
                slot.insert(entry.clone());
                None
            }
        };
        if let Some(observed) = &self.observed {
            (observed.observer)(key, replaced.as_ref(), &entry);
        }
        entry
    }
}

/// A cache of answers of type `V`, keyed by strings; fetches fail with `E`.
pub struct Cache<V, E> {
    inner: Arc<Inner<V, E>>,
}

impl<V, E> Clone for Cache<V, E> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<V, E> Default for Cache<V, E> {
    fn default() -> Self {
        Self {
            inner: Arc::new(Inner::new(None, None)),
        }
    }
}

impl<V: Send + Sync + 'static, E: FetchError> Cache<V, E> {
    /// An empty cache; clones share its entries and in-flight fetches.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty cache whose lookups are counted in `metrics`.
    pub fn counted(metrics: CacheMetrics) -> Self {
        Self {
            inner: Arc::new(Inner::new(None, Some(metrics))),
        }
    }

    /// An empty cache that tells `observer` of every entry it stores (see
    /// [`StoreObserver`]).
    pub fn observed(observer: StoreObserver<V>) -> Self {
        Self::observed_and_counted(observer, None)
    }

    /// [`Cache::observed`], with its lookups counted in `metrics` when given.
    pub fn observed_and_counted(observer: StoreObserver<V>, metrics: Option<CacheMetrics>) -> Self {
        Self {
            inner: Arc::new(Inner::new(
                Some(Observed {
                    order: std::sync::Mutex::new(()),
                    observer,
                }),
                metrics,
            )),
        }
    }

    /// The entry for `key`, fresh or not.
    pub fn peek(&self, key: &str) -> Option<Arc<Cached<V>>> {
        self.inner.entries.get(key).map(|e| e.clone())
    }

    /// Stores `value` for `key` as fetched now from `revision` (a change the gateway built
    /// itself from a custodian's watch stream).
    pub fn put(&self, key: &str, value: V, revision: String) -> Arc<Cached<V>> {
        let entry = Arc::new(Cached {
            value,
            fetched_at: SystemTime::now(),
            fetched: Instant::now(),
            revision,
            generation: self.inner.next_generation(),
        });
        self.inner.store(key, entry, |_| false)
    }

    /// Forgets the entry for `key` (it changed at its custodian): the next lookup fetches it.
    pub fn remove(&self, key: &str) {
        self.inner.entries.remove(key);
    }

    /// Forgets every entry whose key starts with `prefix`.
    pub fn remove_prefix(&self, prefix: &str) {
        self.inner.entries.retain(|key, _| !key.starts_with(prefix));
    }

    /// Forgets every entry whose key starts with `prefix` and that came from another
    /// revision than `revision`.
    pub fn remove_prefix_except(&self, prefix: &str, revision: &str) {
        self.inner
            .entries
            .retain(|key, entry| !key.starts_with(prefix) || entry.revision == revision);
    }

    /// Serves `key` from the cache when fresh; otherwise fetches it once for all concurrent
    /// callers, waiting at most `wait` (the caller's remaining deadline; when it ends first the
    /// failure is [`FetchError::caller_deadline`]). On failure, serves the last known good answer when
    /// it is younger than TTL + max_stale.
    ///
    /// `fetch` runs in its own task, so a caller that gives up does not cancel it: the answer
    /// still lands in the cache for the next caller.
    pub async fn get<F>(
        &self,
        key: &str,
        policy: Policy<E>,
        wait: Duration,
        fetch: F,
    ) -> Served<V, E>
    where
        F: FnOnce() -> BoxFuture<'static, Result<(V, String), FetchFailure<E>>>,
    {
        let served = async {
            let existing = self.peek(key);
            if let Some(entry) = &existing
                && !policy.bypass
                && entry.age() < policy.ttl
            {
                return Served::Cached(entry.clone());
            }
            if let Some(error) = &policy.known_failure {
                let usable = existing
                    .as_ref()
                    .filter(|entry| entry.age() < policy.ttl + policy.max_stale);
                let fetching = self.inner.in_flight.contains_key(key);
                let known = FetchFailure {
                    error: error.clone(),
                    latency: Duration::ZERO,
                    remembered: true,
                };
                if fetching {
                    // The custodian is already being asked and failed last time: answer now
                    // rather than queue behind that call.
                    return match usable {
                        Some(entry) => Served::Stale(entry.clone(), known),
                        None => Served::Failed(known),
                    };
                }
                if let Some(entry) = usable
                    && !policy.bypass
                {
                    // Refresh in the background; the spawned fetch fills the cache when it
                    // succeeds.
                    drop(self.in_flight(key, fetch));
                    return Served::Stale(entry.clone(), known);
                }
            }
            let started = Instant::now();
            let result = if wait < MIN_FETCH_WAIT && !self.inner.in_flight.contains_key(key) {
                // Too little time left to wait for any custodian: nothing is started, or a flood
                // of calls with expired deadlines (and `no-store`) would keep every custodian
                // answering refetches that nobody waits for.
                Err(FetchFailure::new(E::caller_deadline(wait), Duration::ZERO))
            } else {
                let shared = self.in_flight(key, fetch);
                match tokio::time::timeout(wait, shared).await {
                    Ok(result) => result,
                    // The caller's deadline, not the fetch: that goes on, bounded by the
                    // custodian's own timeout, and its answer still lands in the cache.
                    Err(_) => Err(FetchFailure::new(
                        E::caller_deadline(wait),
                        started.elapsed(),
                    )),
                }
            };
            match result {
                Ok(entry) => Served::Live(entry, started.elapsed()),
                Err(failure) => match existing.or_else(|| self.peek(key)) {
                    Some(entry) if entry.age() < policy.ttl + policy.max_stale => {
                        Served::Stale(entry, failure)
                    }
                    _ => Served::Failed(failure),
                },
            }
        }
        .await;
        self.count(&served);
        served
    }

    /// The entry of `key` while younger than `ttl` at `now`, without counting a lookup: for a caller
    /// that serves several keys at once only if every one is fresh (and then counts each
    /// with [`Self::count`]).
    pub fn fresh(&self, key: &str, ttl: Duration, now: Instant) -> Option<Arc<Cached<V>>> {
        self.peek(key).filter(|entry| entry.age_at(now) < ttl)
    }

    /// Counts a lookup answered as `served`.
    pub fn count(&self, served: &Served<V, E>) {
        if let Some(metrics) = &self.inner.metrics {
            metrics.lookup(match served {
                Served::Cached(_) => Lookup::Hit,
                Served::Live(..) => Lookup::Live,
                Served::Stale(..) => Lookup::Stale,
                Served::Failed(_) => Lookup::Failed,
            });
        }
    }

    fn in_flight<F>(&self, key: &str, fetch: F) -> InFlight<V, E>
    where
        F: FnOnce() -> BoxFuture<'static, Result<(V, String), FetchFailure<E>>>,
    {
        match self.inner.in_flight.entry(key.to_string()) {
            Entry::Occupied(e) => {
                if let Some(metrics) = &self.inner.metrics {
                    metrics.lookup(Lookup::Joined);
                }
                e.get().clone()
            }
            Entry::Vacant(slot) => {
                let inner = self.inner.clone();
                let owned_key = key.to_string();
                let begun = Instant::now();
                let task = tokio::spawn(fetch().map(move |result| {
                    let stored = result.map(|(value, revision)| {
                        let entry = Arc::new(Cached {
                            value,
                            fetched_at: SystemTime::now(),
                            fetched: Instant::now(),
                            revision,
                            generation: inner.next_generation(),
                        });
                        // An entry stored after this fetch began (a change applied from a
                        // watch stream, see `put`) is newer than this answer: keep it.
                        inner.store(&owned_key, entry, |current| current.fetched > begun)
                    });
                    inner.in_flight.remove(&owned_key);
                    stored
                }));
                let shared = async move {
                    task.await.unwrap_or_else(|join| {
                        Err(FetchFailure::new(
                            E::fetch_aborted(format!("fetch task ended abnormally: {join}")),
                            Duration::ZERO,
                        ))
                    })
                }
                .boxed()
                .shared();
                slot.insert(shared.clone());
                shared
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The errors of these tests.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub(super) enum TestError {
        Down,
        Waited(Duration),
        Aborted,
    }

    impl FetchError for TestError {
        fn caller_deadline(waited: Duration) -> Self {
            Self::Waited(waited)
        }
        fn fetch_aborted(_: String) -> Self {
            Self::Aborted
        }
    }

    type Cache<V> = super::Cache<V, TestError>;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const POLICY: Policy<TestError> = Policy {
        ttl: Duration::from_secs(60),
        max_stale: Duration::from_secs(3600),
        bypass: false,
        known_failure: None,
    };

    fn ok(value: u32) -> BoxFuture<'static, Result<(u32, String), FetchFailure<TestError>>> {
        async move { Ok((value, "r1".to_string())) }.boxed()
    }

    fn fail() -> BoxFuture<'static, Result<(u32, String), FetchFailure<TestError>>> {
        async { Err(FetchFailure::new(TestError::Down, Duration::ZERO)) }.boxed()
    }

    #[tokio::test]
    async fn an_entry_is_fresh_by_its_age_at_the_instant_asked() {
        let cache: Cache<u32> = Cache::new();
        cache
            .get("k", POLICY, Duration::from_secs(1), || ok(1))
            .await;
        let fetched = cache.peek("k").expect("stored").fetched;
        let later = fetched + Duration::from_secs(59);
        assert_eq!(
            cache.peek("k").map(|e| e.age_at(later)),
            Some(Duration::from_secs(59))
        );
        assert!(cache.fresh("k", POLICY.ttl, later).is_some());
        assert!(
            cache
                .fresh("k", POLICY.ttl, later + Duration::from_secs(1))
                .is_none()
        );
        // An instant before the fetch is age zero, never a panic.
        assert_eq!(
            cache
                .peek("k")
                .map(|e| e.age_at(fetched - Duration::from_millis(1))),
            Some(Duration::ZERO)
        );
        assert!(cache.fresh("other", POLICY.ttl, later).is_none());
    }

    #[tokio::test]
    async fn a_fetch_never_replaces_an_entry_put_after_it_began() {
        let cache: Cache<u32> = Cache::new();
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let slow = cache.get("k", POLICY, Duration::from_secs(5), move || {
            async move {
                let _ = released.await;
                Ok((1, "old".to_string()))
            }
            .boxed()
        });
        let putting = async {
            tokio::task::yield_now().await;
            cache.put("k", 2, "new".into());
            let _ = release.send(());
        };
        let (served, ()) = tokio::join!(slow, putting);
        match served {
            Served::Live(c, _) => assert_eq!((c.value, c.revision.as_str()), (2, "new")),
            other => panic!("expected the newer entry, got {other:?}"),
        }
        assert_eq!(cache.peek("k").map(|c| c.value), Some(2));
    }

    #[tokio::test]
    async fn the_observer_sees_every_store_in_order_with_the_entry_it_replaced() {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let record = seen.clone();
        let cache: Cache<u32> = Cache::observed(Arc::new(move |key, previous, current| {
            record.lock().expect("lock").push((
                key.to_string(),
                previous.map(|p| p.value),
                current.value,
            ));
        }));
        let policy = Policy {
            ttl: Duration::from_secs(60),
            max_stale: Duration::ZERO,
            bypass: true,
            known_failure: None,
        };
        let _ = cache
            .get("k", policy.clone(), Duration::from_secs(1), || ok(1))
            .await;
        cache.put("k", 2, "r2".into());
        let _ = cache
            .get("k", policy.clone(), Duration::from_secs(1), || ok(3))
            .await;
        let _ = cache.get("k", policy, Duration::from_secs(1), fail).await;
        assert_eq!(
            *seen.lock().expect("lock"),
            [
                ("k".to_string(), None, 1),
                ("k".to_string(), Some(1), 2),
                ("k".to_string(), Some(2), 3)
            ],
            "a failed fetch stores nothing"
        );
    }

    #[tokio::test]
    async fn second_lookup_is_served_from_cache() {
        let cache = Cache::new();
        assert!(matches!(
            cache
                .get("k", POLICY, Duration::from_secs(1), || ok(1))
                .await,
            Served::Live(..)
        ));
        match cache
            .get("k", POLICY, Duration::from_secs(1), || ok(2))
            .await
        {
            Served::Cached(c) => assert_eq!(c.value, 1),
            other => panic!("expected fresh, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn concurrent_misses_make_one_call() {
        let cache: Cache<u32> = Cache::new();
        let calls = Arc::new(AtomicUsize::new(0));
        let lookups = (0..20).map(|_| {
            let calls = calls.clone();
            let cache = cache.clone();
            async move {
                cache
                    .get("k", POLICY, Duration::from_secs(1), move || {
                        async move {
                            calls.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            Ok((7, "r".to_string()))
                        }
                        .boxed()
                    })
                    .await
            }
        });
        let results = futures::future::join_all(lookups).await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(
            results
                .iter()
                .all(|r| r.cached().is_some_and(|c| c.value == 7))
        );
    }

    #[tokio::test]
    async fn failure_serves_last_known_good_marked_stale() {
        let cache = Cache::new();
        cache
            .get("k", POLICY, Duration::from_secs(1), || ok(1))
            .await;
        let bypass = Policy {
            bypass: true,
            ..POLICY
        };
        match cache.get("k", bypass, Duration::from_secs(1), fail).await {
            Served::Stale(c, failure) => {
                assert_eq!(c.value, 1);
                assert_eq!(failure.error, TestError::Down);
            }
            other => panic!("expected stale, got {other:?}"),
        }
        assert!(matches!(
            cache
                .get("other", POLICY, Duration::from_secs(1), fail)
                .await,
            Served::Failed(_)
        ));
    }

    #[tokio::test]
    async fn a_slow_fetch_gives_up_at_the_wait_but_still_fills_the_cache() {
        let cache: Cache<u32> = Cache::new();
        let slow = || {
            async {
                tokio::time::sleep(Duration::from_millis(100)).await;
                Ok((3, "r".to_string()))
            }
            .boxed()
        };
        assert!(matches!(
            cache
                .get("k", POLICY, Duration::from_millis(10), slow)
                .await,
            Served::Failed(_)
        ));
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(cache.peek("k").map(|c| c.value), Some(3));
    }

    #[tokio::test]
    async fn a_caller_with_no_time_left_starts_no_fetch_but_gets_the_last_answer() {
        let cache: Cache<u32> = Cache::new();
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = |value: u32| {
            let calls = calls.clone();
            move || {
                calls.fetch_add(1, Ordering::SeqCst);
                async move { Ok((value, "r".to_string())) }.boxed()
            }
        };
        let expired = Duration::from_micros(1);
        assert!(matches!(
            cache.get("k", POLICY, expired, counted(1)).await,
            Served::Failed(_)
        ));
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(calls.load(Ordering::SeqCst), 0, "nothing was started");
        assert!(cache.peek("k").is_none());

        cache
            .get("k", POLICY, Duration::from_secs(1), counted(2))
            .await;
        let bypass = Policy {
            bypass: true,
            ..POLICY
        };
        match cache.get("k", bypass, expired, counted(3)).await {
            Served::Stale(entry, _) => assert_eq!(entry.value, 2),
            _ => panic!("the last answer, marked stale"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "only the caller with time fetched"
        );
    }
}

#[cfg(test)]
mod stale_while_revalidate {
    use super::tests::TestError;
    use super::*;

    type Cache<V> = super::Cache<V, TestError>;

    fn policy(ttl: Duration, bypass: bool, known_failure: Option<TestError>) -> Policy<TestError> {
        Policy {
            ttl,
            max_stale: Duration::from_secs(60),
            bypass,
            known_failure,
        }
    }

    #[tokio::test]
    async fn a_known_failure_serves_the_expired_entry_at_once_and_refreshes_behind() {
        let cache: Cache<u32> = Cache::new();
        let policy = policy(Duration::from_millis(1), false, None);
        cache
            .get("k", policy.clone(), Duration::from_secs(1), || {
                async { Ok((1, "r".to_string())) }.boxed()
            })
            .await;
        tokio::time::sleep(Duration::from_millis(5)).await;
        let down = policy.with_known_failure(Some(TestError::Down));
        let started = Instant::now();
        let served = cache
            .get("k", down, Duration::from_secs(1), || {
                async {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Ok((2, "r".to_string()))
                }
                .boxed()
            })
            .await;
        assert!(
            started.elapsed() < Duration::from_millis(50),
            "served without waiting"
        );
        assert!(matches!(served, Served::Stale(ref c, _) if c.value == 1));
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(
            cache.peek("k").map(|c| c.value),
            Some(2),
            "the background refresh landed"
        );
    }

    #[tokio::test]
    async fn callers_do_not_queue_behind_a_call_to_a_failing_custodian() {
        let cache: Cache<u32> = Cache::new();
        let known = TestError::Waited(Duration::from_millis(100));
        let policy = policy(Duration::from_secs(60), true, Some(known));
        let slow = || {
            async {
                tokio::time::sleep(Duration::from_millis(200)).await;
                Ok((1, "r".to_string()))
            }
            .boxed()
        };
        let first = cache.get("k", policy.clone(), Duration::from_secs(1), slow);
        let second = async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let started = Instant::now();
            let served = cache
                .get("k", policy.clone(), Duration::from_secs(1), slow)
                .await;
            (served, started.elapsed())
        };
        let (first, (second, waited)) = tokio::join!(first, second);
        assert!(
            matches!(first, Served::Live(..)),
            "the caller that asked waits for the answer"
        );
        assert!(
            matches!(second, Served::Failed(ref f) if f.remembered),
            "nothing cached yet, and no waiting: the last call's failure, said to be so"
        );
        assert!(waited < Duration::from_millis(50), "{waited:?}");
    }
}
