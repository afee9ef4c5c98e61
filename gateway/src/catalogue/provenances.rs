//! Each custodian's provenance in one answer.

use helsedata::proto as pb;

/// The provenance of each custodian's records in one answer, at most one per custodian.
/// Made for every request over a handful of custodians, so a list searched in order: unlike
/// a hashed map, it copies no key and hashes nothing (the G_hit profile counted both).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Provenances(Vec<pb::Provenance>);

impl Provenances {
    /// Room for `custodians` custodians.
    pub fn with_capacity(custodians: usize) -> Self {
        Self(Vec::with_capacity(custodians))
    }

    /// The provenance of `custodian`'s records.
    pub fn get(&self, custodian: &str) -> Option<&pb::Provenance> {
        self.0.iter().find(|p| p.custodian_id == custodian)
    }

    /// Whether `custodian`'s records have a provenance here.
    pub fn contains_key(&self, custodian: &str) -> bool {
        self.get(custodian).is_some()
    }

    /// Takes out the provenance of `custodian`'s records.
    pub fn remove(&mut self, custodian: &str) -> Option<pb::Provenance> {
        let at = self.0.iter().position(|p| p.custodian_id == custodian)?;
        Some(self.0.swap_remove(at))
    }

    /// Sets the provenance of `provenance.custodian_id`'s records, replacing any it had.
    pub fn insert(&mut self, provenance: pb::Provenance) {
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
        self.0.iter()
    }
}

impl FromIterator<pb::Provenance> for Provenances {
    fn from_iter<I: IntoIterator<Item = pb::Provenance>>(iter: I) -> Self {
        let mut all = Self::default();
        for provenance in iter {
            all.insert(provenance);
        }
        all
    }
}

#[cfg(test)]
mod tests {
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
        all.insert(of("b", "3"));
        assert_eq!(
            all.get("b").map(|p| p.catalogue_revision.as_str()),
            Some("3")
        );
        assert_eq!(
            all.remove("a").map(|p| p.catalogue_revision),
            Some("2".into())
        );
        assert!(all.remove("a").is_none());
        assert_eq!(all.iter().count(), 1);
    }
}
