//! Each custodian's outcome in one answer, and what the answers served from one cached
//! catalogue say of its custodian, made once for all of them.
//!
//! While a custodian's catalogue is served from the cache, every answer says the same of it
//! but for the catalogue's age: the same provenance on its records, the same outcome fields
//! around `age`. Those are made and encoded once per cached catalogue ([`FromCache`]) and
//! shared; an answer adds its age (the G_hit profile counted 8 allocations, and 4,000 of the
//! gateway's instructions in encoding, for the outcomes and provenances of 4 custodians).

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, SystemTime},
};

use helsedata::proto as pb;
use prost::encoding::{self, WireType};

use super::provenances::Provenance;
use crate::upstream::{Served, outcome};

/// `CustodianOutcome.age` (gateway.proto).
const AGE_FIELD: u32 = 7;

/// What every answer served from one cached catalogue says of its custodian.
#[derive(Debug)]
pub struct FromCache {
    /// The fetch it describes.
    fetched_at: SystemTime,
    revision: String,
    /// The provenance of the custodian's records.
    provenance: Arc<Provenance>,
    /// The outcome without its age.
    outcome: pb::CustodianOutcome,
    /// The outcome's fields before `age` and after it, encoded.
    before_age: Vec<u8>,
    after_age: Vec<u8>,
}

impl FromCache {
    fn of<V>(custodian_id: &str, served: &Served<V>) -> Option<Self> {
        let Served::Cached(cached) = served else {
            return None;
        };
        let provenance = Provenance::shared(outcome::provenance(custodian_id, served)?);
        let outcome = pb::CustodianOutcome {
            age: None,
            ..outcome::outcome(custodian_id, served)
        };
        // prost writes fields in their numbers' order, each on its own: the fields before
        // `age`, then `age`, then the one after it are the whole message.
        let before = pb::CustodianOutcome {
            catalogue_revision: String::new(),
            ..outcome.clone()
        };
        let after = pb::CustodianOutcome {
            catalogue_revision: outcome.catalogue_revision.clone(),
            ..Default::default()
        };
        Some(Self {
            fetched_at: cached.fetched_at,
            revision: cached.revision.clone(),
            provenance,
            before_age: prost::Message::encode_to_vec(&before),
            after_age: prost::Message::encode_to_vec(&after),
            outcome,
        })
    }

    /// The provenance of the custodian's records.
    pub fn provenance(&self) -> &Arc<Provenance> {
        &self.provenance
    }

    /// The outcome of an answer served when the catalogue was `age` old.
    fn with_age(&self, age: Duration) -> pb::CustodianOutcome {
        pb::CustodianOutcome {
            age: Some(outcome::duration(age)),
            ..self.outcome.clone()
        }
    }
}

/// The [`FromCache`] of each custodian's cached catalogue, the newest one each.
#[derive(Debug, Default)]
pub struct FromCacheMemo(Mutex<Vec<Arc<FromCache>>>);

impl FromCacheMemo {
    /// What the answers served from `served` say of `custodian_id`, when served from the
    /// cache: made the first time, shared after.
    pub fn of<V>(&self, custodian_id: &str, served: &Served<V>) -> Option<Arc<FromCache>> {
        let Served::Cached(cached) = served else {
            return None;
        };
        let mut held = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let at = held
            .iter()
            .position(|f| f.provenance.custodian_id == custodian_id);
        if let Some(at) = at
            && held[at].fetched_at == cached.fetched_at
            && held[at].revision == cached.revision
        {
            return Some(held[at].clone());
        }
        let made = Arc::new(FromCache::of(custodian_id, served)?);
        match at {
            Some(at) => held[at] = made.clone(),
            None => held.push(made.clone()),
        }
        Some(made)
    }
}

/// One custodian's outcome in one answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// As made for this answer.
    Said(pb::CustodianOutcome),
    /// Served from the cache, `age` old.
    FromCache {
        /// What every answer served from that cached catalogue says.
        said: Arc<FromCache>,
        /// The cached catalogue's age at this answer.
        age: Duration,
    },
}

impl PartialEq for FromCache {
    fn eq(&self, other: &Self) -> bool {
        self.outcome == other.outcome && self.provenance == other.provenance
    }
}

impl From<pb::CustodianOutcome> for Outcome {
    fn from(outcome: pb::CustodianOutcome) -> Self {
        Self::Said(outcome)
    }
}

impl Outcome {
    /// The custodian it is of.
    pub fn custodian_id(&self) -> &str {
        match self {
            Self::Said(o) => &o.custodian_id,
            Self::FromCache { said, .. } => &said.outcome.custodian_id,
        }
    }

    /// The outcome, to be changed for this answer alone.
    pub fn to_mut(&mut self) -> &mut pb::CustodianOutcome {
        if let Self::FromCache { said, age } = self {
            *self = Self::Said(said.with_age(*age));
        }
        match self {
            Self::Said(o) => o,
            Self::FromCache { .. } => unreachable!("made `Said` above"),
        }
    }

    /// The outcome as a message.
    pub fn into_message(self) -> pb::CustodianOutcome {
        match self {
            Self::Said(o) => o,
            Self::FromCache { said, age } => said.with_age(age),
        }
    }

    /// Writes the outcome as field `tag` of a message: the bytes prost writes for
    /// [`Self::into_message`].
    pub fn encode_field(&self, tag: u32, buf: &mut Vec<u8>) {
        match self {
            Self::Said(o) => encoding::message::encode(tag, o, buf),
            Self::FromCache { said, age } => {
                let age = outcome::duration(*age);
                let len = said.before_age.len()
                    + encoding::message::encoded_len(AGE_FIELD, &age)
                    + said.after_age.len();
                encoding::encode_key(tag, WireType::LengthDelimited, buf);
                encoding::encode_varint(len as u64, buf);
                buf.extend_from_slice(&said.before_age);
                encoding::message::encode(AGE_FIELD, &age, buf);
                buf.extend_from_slice(&said.after_age);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;
    use crate::cache::Cached;

    fn cached(revision: &str) -> Served<()> {
        let mut entry = Cached::just_fetched(());
        if let Some(e) = Arc::get_mut(&mut entry) {
            e.revision = revision.into();
        }
        Served::Cached(entry)
    }

    #[test]
    fn an_outcome_from_the_cache_is_the_bytes_prost_writes_for_its_message() {
        let memo = FromCacheMemo::default();
        for revision in ["", "2026-12-01.1"] {
            let served = cached(revision);
            let said = memo.of("fhi", &served).expect("served from the cache");
            for age in [
                Duration::ZERO,
                Duration::from_nanos(1),
                Duration::from_millis(1500),
                Duration::from_secs(86_400 * 400),
            ] {
                let outcome = Outcome::FromCache {
                    said: said.clone(),
                    age,
                };
                let mut expected = outcome::outcome("fhi", &served);
                expected.age = Some(outcome::duration(age));
                assert_eq!(outcome.clone().into_message(), expected);
                let mut bytes = Vec::new();
                outcome.encode_field(4, &mut bytes);
                let answer = pb::SearchDataSourcesResponse {
                    custodians: vec![expected],
                    ..Default::default()
                };
                assert_eq!(
                    bytes,
                    answer.encode_to_vec(),
                    "revision {revision:?}, {age:?}"
                );
            }
            assert_eq!(
                ***said.provenance(),
                outcome::provenance("fhi", &served).expect("a provenance")
            );
        }
    }

    #[test]
    fn one_is_made_per_cached_catalogue_and_shared_by_the_answers_served_from_it() {
        let memo = FromCacheMemo::default();
        let first = cached("r1");
        let a = memo.of("fhi", &first).expect("made");
        let b = memo.of("fhi", &first).expect("shared");
        assert!(Arc::ptr_eq(&a, &b));
        let other = memo.of("ssb", &cached("r1")).expect("another custodian's");
        assert!(!Arc::ptr_eq(&a, &other));
        let refetched = cached("r2");
        let c = memo.of("fhi", &refetched).expect("a new catalogue's");
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(c.provenance().catalogue_revision, "r2");
        assert!(
            memo.of(
                "fhi",
                &Served::<()>::Failed(crate::cache::FetchFailure::new(
                    crate::upstream::LegError::Timeout(Duration::from_secs(1)),
                    Duration::ZERO,
                ))
            )
            .is_none(),
            "only answers served from the cache"
        );
    }

    #[test]
    fn changing_an_outcome_from_the_cache_changes_this_answer_alone() {
        let memo = FromCacheMemo::default();
        let said = memo.of("fhi", &cached("r1")).expect("made");
        let mut outcome = Outcome::FromCache {
            said: said.clone(),
            age: Duration::from_secs(3),
        };
        outcome.to_mut().message = "a note".into();
        assert_eq!(outcome.custodian_id(), "fhi");
        let message = outcome.into_message();
        assert_eq!(message.message, "a note");
        assert_eq!(message.age, Some(outcome::duration(Duration::from_secs(3))));
        assert!(said.outcome.message.is_empty());
    }
}
