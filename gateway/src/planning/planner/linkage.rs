//! Rule l: linkage.

use helsedata::proto as pb;

use super::words::*;
use super::*;

impl<'a> Planner<'a> {
    /// Rule l: whether and by whom the sources can be linked.
    pub(super) fn linkage(&mut self, sources: &[&'a ResolvedSource]) -> pb::LinkagePlan {
        if !self.input.linkage_wanted {
            return pb::LinkagePlan::default();
        }
        let mut plan = pb::LinkagePlan {
            requested: true,
            possible: true,
            ..Default::default()
        };
        for rs in sources {
            self.source_linkage(rs, &mut plan);
        }
        plan.linked_by = self.linked_by(sources, &mut plan.notes);
        if sources.len() == 1 {
            plan.notes.push(
                "Only one source is named: the linkage is with data the applicant already holds, which the application must describe."
                    .to_string(),
            );
        }
        if !self.input.unresolved_data_source_ids.is_empty() {
            plan.notes.push(format!(
                "The linkage rules of {} could not be fetched and were not checked.",
                sorted(&self.input.unresolved_data_source_ids).join(", ")
            ));
        }
        if !plan.possible {
            self.warnings
                .push("Linkage as asked is not possible: see the linkage blockers.".to_string());
        }
        plan
    }

    pub(super) fn source_linkage(&mut self, rs: &ResolvedSource, plan: &mut pb::LinkagePlan) {
        let rules = rs.rules.linkage.clone().unwrap_or_default();
        let policy = pb::LinkagePolicy::try_from(rules.policy).unwrap_or_default();
        let (id, name) = (rs.source.id.as_str(), source_name(rs));
        let reason = match policy {
            pb::LinkagePolicy::Allowed => {
                let text =
                    "The custodian allows linkage, given approvals for every source involved.";
                self.trace("custodian.linkage", id, custodian_origin(rs), text);
                None
            }
            pb::LinkagePolicy::NotPossible => {
                plan.possible = false;
                Some(format!(
                    "{name} is de-identified: it cannot be linked to persons, over time or with other sources."
                ))
            }
            pb::LinkagePolicy::OwnPseudonymModelOnly => {
                let by = if rules.linked_by.trim().is_empty() {
                    "a trusted third party"
                } else {
                    rules.linked_by.trim()
                };
                Some(format!(
                    "{name} can be linked only through its own pseudonym model; {by} assigns the pseudonyms."
                ))
            }
            pb::LinkagePolicy::AnonymousOutputOnly => {
                if self.input.data_level != pb::DataLevel::AnonymousAggregated {
                    plan.notes.push(format!("{id}: the request asks for {}, but linked data from {name} leave only in anonymous form.", level_words(self.input.data_level)));
                }
                Some(format!(
                    "Linked data from {name} must leave {} in anonymous form.",
                    controller_name(rs)
                ))
            }
            pb::LinkagePolicy::Unknown | pb::LinkagePolicy::Unspecified => {
                let note = format!(
                    "{id}: the custodian does not say whether {name} can be linked; ask {}.",
                    contact_words(rs)
                );
                self.trace("custodian.linkage", id, custodian_origin(rs), note.clone());
                plan.notes.push(note);
                None
            }
        };
        if let Some(reason) = reason {
            self.trace(
                "custodian.linkage",
                id,
                custodian_origin(rs),
                reason.clone(),
            );
            plan.blockers.push(pb::LinkageBlocker {
                data_source_id: id.to_string(),
                policy: policy as i32,
                reason,
            });
        }
        plan.notes.extend(
            rules
                .notes
                .iter()
                .filter(|n| !n.trim().is_empty())
                .map(|n| format!("{id}: {}", n.trim())),
        );
    }

    /// The body that performs the linkage: one a source names, else the first national linkage
    /// fallback a source brings into play, else nobody (the register holders agree on one).
    pub(super) fn linked_by(
        &mut self,
        sources: &[&'a ResolvedSource],
        notes: &mut Vec<String>,
    ) -> String {
        let named: Vec<(&ResolvedSource, &str)> = sources
            .iter()
            .filter_map(|rs| rs.rules.linkage.as_ref().map(|l| (*rs, l.linked_by.trim())))
            .filter(|(_, by)| !by.is_empty())
            .collect();
        if let Some((rs, by)) = named.first() {
            let mut bodies: Vec<&str> = named.iter().map(|(_, b)| *b).collect();
            bodies.sort_unstable();
            bodies.dedup();
            if bodies.len() > 1 {
                notes.push(format!("The sources name different bodies that link ({}); the register holders settle which one does it.", bodies.join(", ")));
            }
            self.trace(
                "custodian.linkage",
                &rs.source.id,
                custodian_origin(rs),
                format!("The custodian names {by} as the body that performs linkage."),
            );
            return by.to_string();
        }
        let fallback = sources.iter().find_map(|rs| {
            self.rules
                .linkage_fallback(&rs.custodian_id, rs.source.kind)
                .map(|f| (*rs, f))
        });
        if let Some((rs, f)) = fallback {
            let linked_by = f.linked_by.get_ref().trim();
            let text = format!(
                "No source names a body that links; {} {}, so {linked_by} is expected to perform the linkage.",
                rs.source.id,
                f.reason.get_ref().trim()
            );
            self.trace(
                "custodian.linkage",
                &rs.source.id,
                custodian_origin(rs),
                text,
            );
            return linked_by.to_string();
        }
        if sources.len() > 1 {
            notes.push("No source names a body that performs linkage: the register holders agree on a trusted third party.".to_string());
        }
        String::new()
    }
}
