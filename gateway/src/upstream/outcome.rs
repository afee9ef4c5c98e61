//! What every answer says about each custodian: its outcome (status, latency, freshness,
//! age, revision) and the provenance of the records it contributed.

use std::time::SystemTime;

use helsedata::proto as pb;

use super::{LegError, Served};
use crate::cache::{Cached, FetchFailure};

/// A protobuf timestamp of a wall-clock time.
pub fn timestamp(time: SystemTime) -> prost_types::Timestamp {
    let since = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    prost_types::Timestamp {
        seconds: since.as_secs() as i64,
        nanos: since.subsec_nanos() as i32,
    }
}

/// `d` as a protobuf duration (whole seconds and the nanoseconds left over).
pub fn duration(d: std::time::Duration) -> prost_types::Duration {
    prost_types::Duration {
        seconds: d.as_secs() as i64,
        nanos: d.subsec_nanos() as i32,
    }
}

/// The freshness a served answer reports.
pub fn freshness<V>(served: &Served<V>) -> pb::Freshness {
    match served {
        Served::Live(..) => pb::Freshness::Live,
        Served::Cached(_) => pb::Freshness::Cached,
        Served::Stale(..) => pb::Freshness::Stale,
        Served::Failed(_) => pb::Freshness::None,
    }
}

/// The status a served answer reports, and how long its custodian took for it (zero when
/// it came from the cache without asking).
pub fn status_and_latency<V>(served: &Served<V>) -> (pb::OutcomeStatus, std::time::Duration) {
    match served {
        Served::Live(_, latency) => (pb::OutcomeStatus::Ok, *latency),
        Served::Cached(_) => (pb::OutcomeStatus::Ok, std::time::Duration::ZERO),
        Served::Stale(_, failure) => (failure.error.outcome(), failure.latency),
        Served::Failed(failure) if failure.error.is_answer() => {
            (pb::OutcomeStatus::Ok, failure.latency)
        }
        Served::Failed(failure) => (failure.error.outcome(), failure.latency),
    }
}

/// The outcome of one custodian for one served answer.
pub fn outcome<V>(custodian_id: &str, served: &Served<V>) -> pb::CustodianOutcome {
    let (status, latency) = status_and_latency(served);
    let mut outcome = pb::CustodianOutcome {
        custodian_id: custodian_id.to_string(),
        status: status as i32,
        freshness: freshness(served) as i32,
        latency: Some(duration(latency)),
        ..Default::default()
    };
    match served {
        Served::Live(cached, _) | Served::Cached(cached) => describe(&mut outcome, cached),
        Served::Stale(cached, failure) => {
            outcome.message = format!(
                "custodian `{custodian_id}` {}{}; serving its last known good answer, {} s old",
                failure.error,
                when(failure),
                cached.age().as_secs()
            );
            describe(&mut outcome, cached);
        }
        Served::Failed(failure) if !failure.error.is_answer() => {
            outcome.message = format!(
                "custodian `{custodian_id}` {}{}; nothing cached to serve",
                failure.error,
                when(failure)
            );
        }
        Served::Failed(_) => {}
    }
    outcome
}

/// Whether the failure told is this request's or the last call's (when a new call was
/// already under way and the request did not wait for it).
fn when(failure: &FetchFailure<LegError>) -> &'static str {
    if failure.remembered {
        " on its last call, and a new call is under way"
    } else {
        ""
    }
}

fn describe<V>(outcome: &mut pb::CustodianOutcome, cached: &Cached<V>) {
    outcome.as_of = Some(timestamp(cached.fetched_at));
    outcome.age = Some(duration(cached.age()));
    outcome.catalogue_revision = cached.revision.clone();
}

/// An outcome for a custodian that the request did not concern.
pub fn not_asked(custodian_id: &str) -> pb::CustodianOutcome {
    pb::CustodianOutcome {
        custodian_id: custodian_id.to_string(),
        status: pb::OutcomeStatus::NotAsked as i32,
        freshness: pb::Freshness::None as i32,
        ..Default::default()
    }
}

/// Provenance of records served from `cached`.
pub fn provenance<V>(custodian_id: &str, served: &Served<V>) -> Option<pb::Provenance> {
    served.cached().map(|cached| pb::Provenance {
        custodian_id: custodian_id.to_string(),
        catalogue_revision: cached.revision.clone(),
        fetched_at: Some(timestamp(cached.fetched_at)),
        freshness: freshness(served) as i32,
    })
}

/// The worse of two outcomes of the same custodian (for requests that make several calls).
pub fn worse(a: pb::CustodianOutcome, b: pb::CustodianOutcome) -> pb::CustodianOutcome {
    let rank = |o: &pb::CustodianOutcome| -> (bool, i32) {
        (o.status != pb::OutcomeStatus::Ok as i32, o.freshness)
    };
    if rank(&b) > rank(&a) { b } else { a }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn stale(remembered: bool) -> pb::CustodianOutcome {
        let cached = Cached::just_fetched(());
        let failure = FetchFailure {
            error: LegError::Timeout(Duration::from_secs(1)),
            latency: Duration::ZERO,
            remembered,
        };
        outcome("fhi", &Served::Stale(cached, failure))
    }

    #[test]
    fn a_failure_told_from_the_last_call_says_so() {
        for (remembered, said) in [
            (false, "no answer within 1s; serving"),
            (
                true,
                "no answer within 1s on its last call, and a new call is under way; serving",
            ),
        ] {
            let outcome = stale(remembered);
            assert_eq!(outcome.status, pb::OutcomeStatus::Timeout as i32);
            assert!(
                outcome.message.starts_with(&format!(
                    "custodian `fhi` {said} its last known good answer"
                )),
                "{}",
                outcome.message
            );
        }
    }
}
