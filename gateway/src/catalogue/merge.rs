//! Merging custodian answers into one catalogue: provenance on every record, ownership
//! enforced (a custodian cannot publish another custodian's source), duplicates reported,
//! and a deterministic order; then each record's effective route under the national rules
//! ([`Merged::apply_national_rules`]), kept beside the record as published.

use std::collections::BTreeMap;

use helsedata::proto as pb;

use crate::planning::{
    effective::{Published, catalogue_route},
    rules::NationalRules,
};

/// Which data source ids a contributor may publish (the gateway's configured ownership).
pub trait OwnsIds {
    /// Whether the contributor may publish `id`.
    fn owns(&self, id: &str) -> bool;
}

/// One custodian's answer, ready to merge.
#[derive(Clone, Copy)]
pub struct Contribution<'a> {
    /// The custodian, as authenticated by its certificate.
    pub custodian_id: &'a str,
    /// What it may publish; records for other ids are dropped and reported.
    pub ownership: &'a dyn OwnsIds,
    /// The data sources it sent, as received.
    pub sources: &'a [pb::DataSource],
    /// Where and when the records came from.
    pub provenance: &'a pb::Provenance,
}

/// A record in the merged catalogue.
#[derive(Debug, Clone, PartialEq)]
pub struct MergedRecord {
    /// The data source; `custodian_id` is the authenticated custodian.
    pub source: pb::DataSource,
    /// Which custodian the record came from, its revision, fetch time and freshness.
    pub provenance: pb::Provenance,
    /// The source's default route under the national rules; `None` until
    /// [`Merged::apply_national_rules`] has run.
    pub effective_route: Option<pb::EffectiveRoute>,
}

impl MergedRecord {
    /// The effective channel (the default route under the national rules), as the `channel`
    /// filter of SearchDataSources sees it; unspecified before the rules are applied.
    pub fn effective_channel(&self) -> i32 {
        self.effective_route.as_ref().map_or(0, |r| r.channel)
    }

    /// The record as a search or lookup result: the source in the view asked for, with the
    /// route its custodian publishes and the effective route beside it.
    pub fn to_federated(
        &self,
        view: i32,
        provenance: pb::Provenance,
        score: f64,
    ) -> pb::FederatedDataSource {
        pb::FederatedDataSource {
            published_route: self
                .source
                .access_rules
                .as_ref()
                .and_then(|r| r.route.clone()),
            data_source: Some(super::in_view(self.source.clone(), view)),
            provenance: Some(provenance),
            score,
            effective_route: self.effective_route.clone(),
        }
    }
}

impl Merged {
    /// Works out every record's effective route under `rules` (the records themselves stay as
    /// their custodians published them).
    pub fn apply_national_rules(mut self, rules: &NationalRules) -> Self {
        for record in &mut self.records {
            record.effective_route = Some(effective_route_of(&record.source, rules));
        }
        self
    }
}

/// The effective route of a source record as published (in the full view, with its access
/// rules; a record without access rules has channel unknown and is decided by its controller).
pub fn effective_route_of(source: &pb::DataSource, rules: &NationalRules) -> pb::EffectiveRoute {
    let no_rules = pb::AccessRules::default();
    let published = Published {
        source,
        rules: source.access_rules.as_ref().unwrap_or(&no_rules),
        custodian_id: &source.custodian_id,
    };
    catalogue_route(published, rules).to_proto(&source.custodian_id, rules)
}

/// The merged records, ordered by id, and the problems found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Merged {
    /// Records, ordered by id.
    pub records: Vec<MergedRecord>,
    /// Problems, ordered by record id, then custodian.
    pub issues: Vec<pb::MergeIssue>,
}

/// Merges contributions. The result does not depend on the order of `contributions`.
pub fn merge(contributions: &[Contribution<'_>]) -> Merged {
    let mut ordered: Vec<&Contribution<'_>> = contributions.iter().collect();
    ordered.sort_by_key(|c| c.custodian_id);
    let owner_published: BTreeMap<&str, &str> = ordered
        .iter()
        .flat_map(|c| {
            c.sources
                .iter()
                .filter(|s| c.ownership.owns(&s.id))
                .map(|s| (s.id.as_str(), c.custodian_id))
        })
        .rev()
        .collect();
    let mut kept: BTreeMap<String, MergedRecord> = BTreeMap::new();
    let mut issues = Vec::new();
    for contribution in ordered {
        for source in contribution.sources {
            if !contribution.ownership.owns(&source.id) {
                let owner = owner_published
                    .get(source.id.as_str())
                    .copied()
                    .unwrap_or_default();
                issues.push(pb::MergeIssue {
                    kind: pb::merge_issue::Kind::NotOwned as i32,
                    custodian_id: contribution.custodian_id.to_string(),
                    record_id: source.id.clone(),
                    other_custodian_id: owner.to_string(),
                    message: format!(
                        "custodian `{}` published data source `{}`, which it does not own; the record was dropped. Fix the custodian's data file or the gateway's `owns` list",
                        contribution.custodian_id, source.id
                    ),
                });
                continue;
            }
            if let Some(existing) = kept.get(&source.id) {
                issues.push(pb::MergeIssue {
                    kind: pb::merge_issue::Kind::DuplicateId as i32,
                    custodian_id: contribution.custodian_id.to_string(),
                    record_id: source.id.clone(),
                    other_custodian_id: existing.provenance.custodian_id.clone(),
                    message: format!(
                        "data source `{}` is published by both `{}` and `{}`; the record of `{}` was kept. Give each custodian disjoint `owns` lists",
                        source.id, existing.provenance.custodian_id, contribution.custodian_id, existing.provenance.custodian_id
                    ),
                });
                continue;
            }
            let mut record = source.clone();
            record.custodian_id = contribution.custodian_id.to_string();
            kept.insert(
                source.id.clone(),
                MergedRecord {
                    source: record,
                    provenance: contribution.provenance.clone(),
                    effective_route: None,
                },
            );
        }
    }
    issues.sort_by(|a, b| (&a.record_id, &a.custodian_id).cmp(&(&b.record_id, &b.custodian_id)));
    Merged {
        records: kept.into_values().collect(),
        issues,
    }
}

#[cfg(test)]
mod tests;
