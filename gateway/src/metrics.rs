//! The gateway's own metrics, beside the request metrics every server has
//! ([`helsedata::observe::metrics`]): each call to a custodian (latency and result), each
//! answer served per custodian (outcome, freshness, age), ejections and their cause, the
//! cache (hits, live fetches, stale serves, failures, single-flight joins) and whether each
//! custodian is healthy now. The places that know these facts call the small methods here;
//! every answer served is also noted in the request's audit record.

use std::sync::{Arc, OnceLock, atomic::AtomicU64};

use helsedata::{
    observe::{self, CustodianNote, metrics::latency_histogram},
    proto as pb,
};
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

use crate::upstream::{LegError, Served, outcome};

/// Labels of one call to a custodian.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LegLabels {
    /// The custodian's id.
    pub custodian: String,
    /// `ok`, or the outcome status of the failure (`OUTCOME_STATUS_TIMEOUT`, …).
    pub result: &'static str,
}

/// Labels of an answer served for a custodian.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// The custodian's id.
    pub custodian: String,
    /// The outcome status reported (`OUTCOME_STATUS_OK`, …).
    pub status: &'static str,
    /// The freshness reported (`FRESHNESS_LIVE`, `FRESHNESS_CACHED`, `FRESHNESS_STALE`,
    /// `FRESHNESS_NONE`).
    pub freshness: &'static str,
}

/// Labels of an ejection.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EjectionLabels {
    /// The custodian's id.
    pub custodian: String,
    /// The outcome status of the failure that ejected it.
    pub cause: &'static str,
}

/// Labels naming a custodian.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CustodianLabels {
    /// The custodian's id.
    pub custodian: String,
}

/// Labels of a cache lookup.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CacheLabels {
    /// Which cache (`snapshots`, `sources`, `rules`, …).
    pub cache: &'static str,
    /// `hit` (fresh entry), `live` (fetched), `stale` (last known good served after a
    /// failure), `failed` (nothing to serve) or `joined` (waited for a fetch already running).
    pub result: &'static str,
}

/// Every gateway metric.
#[derive(Debug, Clone)]
pub struct GatewayMetrics {
    legs: Family<LegLabels, Histogram, fn() -> Histogram>,
    outcomes: Family<OutcomeLabels, Counter>,
    answer_age: Family<CustodianLabels, Gauge<f64, AtomicU64>>,
    ejections: Family<EjectionLabels, Counter>,
    healthy: Family<CustodianLabels, Gauge>,
    cache: Family<CacheLabels, Counter>,
}

impl Default for GatewayMetrics {
    fn default() -> Self {
        Self {
            legs: Family::new_with_constructor(latency_histogram),
            outcomes: Family::default(),
            answer_age: Family::default(),
            ejections: Family::default(),
            healthy: Family::default(),
            cache: Family::default(),
        }
    }
}

/// The name a failure reports as its outcome status.
pub fn cause(error: &LegError) -> &'static str {
    error.outcome().as_str_name()
}

impl GatewayMetrics {
    /// Registers every metric in `registry` (the metrics themselves are shared with `self`).
    pub fn register(&self, registry: &mut Registry) {
        helsedata::register_metrics! { registry;
            "custodian_call_duration_seconds", "Calls to custodians by result: time from the call to its answer or failure" => self.legs;
            "custodian_answers", "Answers served per custodian, by outcome status and freshness" => self.outcomes;
            "custodian_answer_age_seconds", "Age of the custodian's answer served last (0 when fetched live)" => self.answer_age;
            "custodian_ejections", "Times a custodian was ejected after consecutive failures, by the last failure" => self.ejections;
            "custodian_healthy", "1 when the custodian's last call succeeded, 0 otherwise" => self.healthy;
            "cache_lookups", "Lookups of custodian answers in the gateway's cache, by cache and result" => self.cache;
        }
    }

    /// One call to `custodian` ended after `latency` with `result`.
    pub fn call<T>(
        &self,
        custodian: &str,
        result: &Result<T, LegError>,
        latency: std::time::Duration,
    ) {
        let result = match result {
            Ok(_) => "ok",
            Err(e) => cause(e),
        };
        self.legs
            .get_or_create(&LegLabels {
                custodian: custodian.to_string(),
                result,
            })
            .observe(latency.as_secs_f64());
    }

    /// `custodian` was ejected after `error`.
    pub fn ejected(&self, custodian: &str, error: &LegError) {
        self.ejections
            .get_or_create(&EjectionLabels {
                custodian: custodian.to_string(),
                cause: cause(error),
            })
            .inc();
    }

    /// Whether `custodian` is healthy now.
    pub fn set_healthy(&self, custodian: &str, healthy: bool) {
        self.healthy
            .get_or_create(&CustodianLabels {
                custodian: custodian.to_string(),
            })
            .set(i64::from(healthy));
    }

    /// The answer metrics of `custodian`, whose series are found once each and then
    /// counted without building or hashing a label set.
    pub fn answers_of(&self, custodian: &str) -> AnswerMetrics {
        AnswerMetrics {
            custodian: custodian.to_string(),
            outcomes: self.outcomes.clone(),
            answer_age: self.answer_age.clone(),
            counters: Arc::default(),
            age: Arc::default(),
        }
    }

    /// The metrics of the cache called `name`.
    pub fn cache(self: &Arc<Self>, name: &'static str) -> CacheMetrics {
        CacheMetrics {
            name,
            lookups: self.cache.clone(),
            counters: Arc::default(),
        }
    }
}

/// Outcome statuses whose series are kept: every value the contract defines (`OutcomeStatus`
/// 0 to 7; an undefined one is counted through its label set).
const STATUSES: usize = 8;
/// Freshnesses whose series are kept: every value the contract defines (`Freshness` 0 to 4).
const FRESHNESSES: usize = 5;

/// The answers served for one custodian: counted by outcome status and freshness, the age
/// of the last one kept, and each noted in the request's audit record. Each series is found
/// in its family the first time it is counted and kept (the series themselves are shared
/// with the family, so what is exported is the same).
#[derive(Debug, Clone)]
pub struct AnswerMetrics {
    custodian: String,
    outcomes: Family<OutcomeLabels, Counter>,
    answer_age: Family<CustodianLabels, Gauge<f64, AtomicU64>>,
    counters: Arc<[[OnceLock<Counter>; FRESHNESSES]; STATUSES]>,
    age: Arc<OnceLock<Gauge<f64, AtomicU64>>>,
}

impl AnswerMetrics {
    /// An answer of the custodian was served as `served`.
    pub fn served<V>(&self, served: &Served<V>) {
        self.served_at(served, tokio::time::Instant::now());
    }

    /// [`Self::served`], with the answer's age taken at `now`.
    pub fn served_at<V>(&self, served: &Served<V>, now: tokio::time::Instant) {
        // Only the status and the latency are counted: the whole outcome (timestamps,
        // revision, message) is the caller's to build.
        let (status, latency) = outcome::status_and_latency(served);
        let freshness = outcome::freshness(served);
        self.count(status, freshness);
        if let Some(cached) = served.cached() {
            let age = match served {
                Served::Live(..) => 0.0,
                _ => cached.age_at(now).as_secs_f64(),
            };
            self.age
                .get_or_init(|| {
                    self.answer_age
                        .get_or_create(&CustodianLabels {
                            custodian: self.custodian.clone(),
                        })
                        .clone()
                })
                .set(age);
        }
        observe::note_custodian(|| CustodianNote {
            custodian: self.custodian.clone(),
            status: status.as_str_name(),
            freshness: freshness.as_str_name(),
            latency_ms: latency.as_secs_f64() * 1000.0,
        });
    }

    fn count(&self, status: pb::OutcomeStatus, freshness: pb::Freshness) {
        let labels = || OutcomeLabels {
            custodian: self.custodian.clone(),
            status: status.as_str_name(),
            freshness: freshness.as_str_name(),
        };
        let slot = usize::try_from(status as i32)
            .ok()
            .zip(usize::try_from(freshness as i32).ok())
            .and_then(|(s, f)| self.counters.get(s)?.get(f));
        match slot {
            Some(slot) => slot
                .get_or_init(|| self.outcomes.get_or_create(&labels()).clone())
                .inc(),
            None => self.outcomes.get_or_create(&labels()).inc(),
        };
    }
}

/// How a lookup in the cache was answered (the `result` label, see [`CacheLabels::result`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// A fresh entry.
    Hit,
    /// Fetched.
    Live,
    /// The last known good answer, after a failure.
    Stale,
    /// Nothing to serve.
    Failed,
    /// Waited for a fetch already running.
    Joined,
}

impl Lookup {
    /// How many results there are (the last variant's number + 1).
    const ALL: usize = Self::Joined as usize + 1;

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hit => "hit",
            Self::Live => "live",
            Self::Stale => "stale",
            Self::Failed => "failed",
            Self::Joined => "joined",
        }
    }
}

/// The lookup counts of one cache, each series found in its family once and kept.
#[derive(Debug, Clone)]
pub struct CacheMetrics {
    name: &'static str,
    lookups: Family<CacheLabels, Counter>,
    counters: Arc<[OnceLock<Counter>; Lookup::ALL]>,
}

impl CacheMetrics {
    /// Counts one lookup answered as `result`.
    pub fn lookup(&self, result: Lookup) {
        self.counters[result as usize]
            .get_or_init(|| {
                self.lookups
                    .get_or_create(&CacheLabels {
                        cache: self.name,
                        result: result.as_str(),
                    })
                    .clone()
            })
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use prometheus_client::encoding::text::encode;

    use super::*;
    use crate::cache::{Cached, FetchFailure};

    fn exported(metrics: &GatewayMetrics) -> String {
        let mut registry = Registry::default();
        metrics.register(&mut registry);
        let mut text = String::new();
        encode(&mut text, &registry).expect("the metrics encode");
        text
    }

    #[test]
    fn every_status_and_freshness_of_the_contract_has_a_kept_series() {
        let last = |n: usize| i32::try_from(n).expect("small") - 1;
        assert!(pb::OutcomeStatus::try_from(last(STATUSES)).is_ok());
        assert!(pb::OutcomeStatus::try_from(last(STATUSES) + 1).is_err());
        assert!(pb::Freshness::try_from(last(FRESHNESSES)).is_ok());
        assert!(pb::Freshness::try_from(last(FRESHNESSES) + 1).is_err());
    }

    #[test]
    fn the_kept_series_are_the_families_own() {
        let metrics = Arc::new(GatewayMetrics::default());
        let answers = metrics.answers_of("fhi");
        let cached = Cached::just_fetched(());
        answers.served(&Served::Cached(cached.clone()));
        answers.served(&Served::Cached(cached));
        answers.served::<()>(&Served::Failed(FetchFailure::new(
            LegError::Timeout(Duration::from_secs(1)),
            Duration::from_secs(1),
        )));
        // A copy counts into the same series.
        metrics
            .answers_of("fhi")
            .served::<()>(&Served::Failed(FetchFailure::new(
                LegError::Timeout(Duration::from_secs(1)),
                Duration::from_secs(1),
            )));
        let snapshots = metrics.cache("snapshots");
        snapshots.lookup(Lookup::Hit);
        snapshots.clone().lookup(Lookup::Hit);
        metrics.cache("snapshots").lookup(Lookup::Joined);
        let text = exported(&metrics);
        for line in [
            r#"custodian_answers_total{custodian="fhi",status="OUTCOME_STATUS_OK",freshness="FRESHNESS_CACHED"} 2"#,
            r#"custodian_answers_total{custodian="fhi",status="OUTCOME_STATUS_TIMEOUT",freshness="FRESHNESS_NONE"} 2"#,
            r#"cache_lookups_total{cache="snapshots",result="hit"} 2"#,
            r#"cache_lookups_total{cache="snapshots",result="joined"} 1"#,
        ] {
            assert!(text.contains(line), "{line} in:\n{text}");
        }
        assert!(text.contains(r#"custodian_answer_age_seconds{custodian="fhi"}"#));
    }
}
