//! Each custodian's provenance in one answer.

use std::{
    ops::Deref,
    sync::{Arc, OnceLock},
};

use helsedata::proto as pb;
use prost::encoding;

use super::answer::record_field;

/// One custodian's provenance, shared by every answer that reports it (all the answers
/// served from one cached catalogue share one), with its encoding as the `provenance` field
/// of a `FederatedDataSource`, made the first time an answer sends it.
#[derive(Debug, Default)]
pub struct Provenance {
    message: pb::Provenance,
    field: OnceLock<Vec<u8>>,
}

impl PartialEq for Provenance {
    fn eq(&self, other: &Self) -> bool {
        self.message == other.message
    }
}

impl Provenance {
    /// `message`, to be shared.
    pub fn shared(message: pb::Provenance) -> Arc<Self> {
        Arc::new(Self {
            message,
            field: OnceLock::new(),
        })
    }

    /// The provenance as a `FederatedDataSource.provenance` field: key, length and body.
    pub fn record_field(&self) -> &[u8] {
        self.field.get_or_init(|| {
            let mut bytes = Vec::new();
            encoding::message::encode(record_field::PROVENANCE, &self.message, &mut bytes);
            bytes
        })
    }
}

impl Deref for Provenance {
    type Target = pb::Provenance;

    fn deref(&self) -> &pb::Provenance {
        &self.message
    }
}

/// The provenance of each custodian's records in one answer, at most one per custodian.
/// Made for every request over a handful of custodians, so a list searched in order: unlike
/// a hashed map, it copies no key and hashes nothing (the G_hit profile counted both).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Provenances(Vec<Arc<Provenance>>);

impl Provenances {
    /// Room for `custodians` custodians.
    pub fn with_capacity(custodians: usize) -> Self {
        Self(Vec::with_capacity(custodians))
    }

    /// The provenance of `custodian`'s records.
    pub fn get(&self, custodian: &str) -> Option<&Arc<Provenance>> {
        self.0.iter().find(|p| p.custodian_id == custodian)
    }

    /// Whether `custodian`'s records have a provenance here.
    pub fn contains_key(&self, custodian: &str) -> bool {
        self.get(custodian).is_some()
    }

    /// Takes out the provenance of `custodian`'s records.
    pub fn remove(&mut self, custodian: &str) -> Option<Arc<Provenance>> {
        let at = self.0.iter().position(|p| p.custodian_id == custodian)?;
        Some(self.0.swap_remove(at))
    }

    /// Sets the provenance of `provenance.custodian_id`'s records, replacing any it had.
    pub fn insert(&mut self, provenance: Arc<Provenance>) {
        match self
            .0
            .iter_mut()
            .find(|p| p.custodian_id == provenance.custodian_id)
        {
            Some(held) => *held = provenance,
            None => self.0.push(provenance),
        }
    }

    /// Every custodian's, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &pb::Provenance> {
        self.0.iter().map(|p| &p.message)
    }
}

impl FromIterator<pb::Provenance> for Provenances {
    fn from_iter<I: IntoIterator<Item = pb::Provenance>>(iter: I) -> Self {
        let mut all = Self::default();
        for provenance in iter {
            all.insert(Provenance::shared(provenance));
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    fn of(custodian: &str, revision: &str) -> pb::Provenance {
        pb::Provenance {
            custodian_id: custodian.into(),
            catalogue_revision: revision.into(),
            ..Default::default()
        }
    }

    #[test]
    fn one_per_custodian_found_replaced_and_taken_out_by_id() {
        let mut all: Provenances = [of("a", "1"), of("b", "1"), of("a", "2")]
            .into_iter()
            .collect();
        assert_eq!(all.iter().count(), 2);
        assert_eq!(
            all.get("a").map(|p| p.catalogue_revision.as_str()),
            Some("2")
        );
        assert!(all.contains_key("b") && !all.contains_key("c"));
        all.insert(Provenance::shared(of("b", "3")));
        assert_eq!(
            all.get("b").map(|p| p.catalogue_revision.as_str()),
            Some("3")
        );
        assert_eq!(
            all.remove("a").map(|p| p.catalogue_revision.clone()),
            Some("2".into())
        );
        assert!(all.remove("a").is_none());
        assert_eq!(all.iter().count(), 1);
    }

    #[test]
    fn a_provenance_field_is_the_bytes_prost_writes_for_it_in_a_record() {
        let message = pb::Provenance {
            fetched_at: Some(prost_types::Timestamp {
                seconds: 1_796_000_000,
                nanos: 7,
            }),
            freshness: pb::Freshness::Cached as i32,
            ..of("fhi", "2026-12-01.1")
        };
        let record = pb::FederatedDataSource {
            provenance: Some(message.clone()),
            ..Default::default()
        };
        let shared = Provenance::shared(message);
        assert_eq!(shared.record_field(), record.encode_to_vec().as_slice());
        assert_eq!(shared.record_field(), record.encode_to_vec().as_slice());
    }
}
