//! The gateway's own metrics, beside the request metrics every server has
//! ([`helsedata::observe::metrics`]): each call to a custodian (latency and result), each
//! answer served per custodian (outcome, freshness, age), ejections and their cause, the
//! cache (hits, live fetches, stale serves, failures, single-flight joins) and whether each
//! custodian is healthy now. The places that know these facts call the small methods here;
//! every answer served is also noted in the request's audit record.

use std::sync::{Arc, atomic::AtomicU64};

use helsedata::observe::{self, CustodianNote, metrics::latency_histogram};
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

    /// An answer of `custodian` was served: counted by outcome and freshness, its age kept,
    /// and noted in the request's audit record.
    pub fn served<V>(&self, custodian: &str, served: &Served<V>) {
        // Only the status and the latency are counted: the whole outcome (timestamps,
        // revision, message) is the caller's to build.
        let (status, latency) = outcome::status_and_latency(served);
        let status = status.as_str_name();
        let freshness = outcome::freshness(served).as_str_name();
        self.outcomes
            .get_or_create(&OutcomeLabels {
                custodian: custodian.to_string(),
                status,
                freshness,
            })
            .inc();
        if let Some(cached) = served.cached() {
            let age = match served {
                Served::Live(..) => 0.0,
                _ => cached.age().as_secs_f64(),
            };
            self.answer_age
                .get_or_create(&CustodianLabels {
                    custodian: custodian.to_string(),
                })
                .set(age);
        }
        observe::note_custodian(|| CustodianNote {
            custodian: custodian.to_string(),
            status,
            freshness,
            latency_ms: latency.as_secs_f64() * 1000.0,
        });
    }

    /// The metrics of the cache called `name`.
    pub fn cache(self: &Arc<Self>, name: &'static str) -> CacheMetrics {
        CacheMetrics {
            name,
            lookups: self.cache.clone(),
        }
    }
}

/// The lookup counts of one cache.
#[derive(Debug, Clone)]
pub struct CacheMetrics {
    name: &'static str,
    lookups: Family<CacheLabels, Counter>,
}

impl CacheMetrics {
    /// Counts one lookup with `result` (see [`CacheLabels::result`]).
    pub fn lookup(&self, result: &'static str) {
        self.lookups
            .get_or_create(&CacheLabels {
                cache: self.name,
                result,
            })
            .inc();
    }
}
