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
        let mut notes: Vec<Text> = Vec::new();
        for rs in sources {
            self.source_linkage(rs, &mut plan, &mut notes);
        }
        plan.linked_by = self.linked_by(sources, &mut notes);
        if sources.len() == 1 {
            notes.push(both(
                "Bare én kilde er nevnt: koblingen er med data søkeren allerede har, og søknaden må beskrive dem.",
                "Only one source is named: the linkage is with data the applicant already holds, which the application must describe.",
            ));
        }
        if !self.input.unresolved_data_source_ids.is_empty() {
            let ids = sorted(&self.input.unresolved_data_source_ids).join(", ");
            notes.push(both_fmt!(
                "Koblingsreglene for {ids} kunne ikke hentes og ble ikke sjekket.",
                "The linkage rules of {ids} could not be fetched and were not checked.",
            ));
        }
        if !plan.possible {
            self.warnings.push(both(
                "Kobling slik det er bedt om, er ikke mulig: se hindringene for kobling.",
                "Linkage as asked is not possible: see the linkage blockers.",
            ));
        }
        plan.notes = english(&notes);
        plan.localized_notes = notes;
        plan
    }

    pub(super) fn source_linkage(
        &mut self,
        rs: &ResolvedSource,
        plan: &mut pb::LinkagePlan,
        notes: &mut Vec<Text>,
    ) {
        let rules = rs.rules.linkage.clone().unwrap_or_default();
        let policy = pb::LinkagePolicy::try_from(rules.policy).unwrap_or_default();
        let (id, name) = (rs.source.id.as_str(), source_name(rs));
        let reason = match policy {
            pb::LinkagePolicy::Allowed => {
                let text = both(
                    "Forvalteren tillater kobling, gitt godkjenninger for hver kilde som inngår.",
                    "The custodian allows linkage, given approvals for every source involved.",
                );
                self.trace("custodian.linkage", id, custodian_origin(rs), text);
                None
            }
            pb::LinkagePolicy::NotPossible => {
                plan.possible = false;
                Some(both_fmt!(
                    "{name} er avidentifisert: den kan ikke kobles til personer, over tid eller med andre kilder.",
                    "{name} is de-identified: it cannot be linked to persons, over time or with other sources.",
                ))
            }
            pb::LinkagePolicy::OwnPseudonymModelOnly => {
                let (by_nb, by_en) = match rules.linked_by.trim() {
                    "" => ("en betrodd tredjepart", "a trusted third party"),
                    named => (named, named),
                };
                Some(both_fmt!(
                    "{name} kan bare kobles gjennom sin egen pseudonymmodell; {by_nb} tildeler pseudonymene.",
                    "{name} can be linked only through its own pseudonym model; {by_en} assigns the pseudonyms.",
                ))
            }
            pb::LinkagePolicy::AnonymousOutputOnly => {
                let level = self.input.data_level;
                if level != pb::DataLevel::AnonymousAggregated {
                    notes.push(both(
                        format!(
                            "{id}: søknaden ber om {}, men koblede data fra {name} utleveres bare i anonym form.",
                            level_words_nb(level)
                        ),
                        format!(
                            "{id}: the request asks for {}, but linked data from {name} leave only in anonymous form.",
                            level_words(level)
                        ),
                    ));
                }
                let controller = controller_name(rs);
                Some(both_fmt!(
                    "Koblede data fra {name} må forlate {controller} i anonym form.",
                    "Linked data from {name} must leave {controller} in anonymous form.",
                ))
            }
            pb::LinkagePolicy::Unknown | pb::LinkagePolicy::Unspecified => {
                let contact = contact_words(rs);
                let note = both_fmt!(
                    "{id}: forvalteren sier ikke om {name} kan kobles; spør {contact}.",
                    "{id}: the custodian does not say whether {name} can be linked; ask {contact}.",
                );
                self.trace("custodian.linkage", id, custodian_origin(rs), note.clone());
                notes.push(note);
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
                reason: reason.en.clone(),
                localized_reason: Some(reason),
            });
        }
        notes.extend(
            all_as_published(&rules.notes, &rules.localized_notes)
                .iter()
                .filter(|n| !n.en.is_empty())
                .map(|n| prefixed(&format!("{id}: "), n)),
        );
    }

    /// The body that performs the linkage: one a source names, else the first national linkage
    /// fallback a source brings into play, else nobody (the register holders agree on one).
    pub(super) fn linked_by(
        &mut self,
        sources: &[&'a ResolvedSource],
        notes: &mut Vec<Text>,
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
                let bodies = bodies.join(", ");
                notes.push(both_fmt!(
                    "Kildene nevner ulike instanser som kobler ({bodies}); registerforvalterne avgjør hvem som gjør det.",
                    "The sources name different bodies that link ({bodies}); the register holders settle which one does it.",
                ));
            }
            self.trace(
                "custodian.linkage",
                &rs.source.id,
                custodian_origin(rs),
                both_fmt!(
                    "Forvalteren oppgir {by} som instansen som utfører koblingen.",
                    "The custodian names {by} as the body that performs linkage.",
                ),
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
            let (id, reason) = (&rs.source.id, f.reason.get_ref());
            let text = both(
                format!(
                    "Ingen kilde nevner en instans som kobler; {id} {}, så {linked_by} ventes å utføre koblingen.",
                    reason.nb().trim()
                ),
                format!(
                    "No source names a body that links; {id} {}, so {linked_by} is expected to perform the linkage.",
                    reason.en().trim()
                ),
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
            notes.push(both(
                "Ingen kilde nevner en instans som utfører koblingen: registerforvalterne blir enige om en betrodd tredjepart.",
                "No source names a body that performs linkage: the register holders agree on a trusted third party.",
            ));
        }
        String::new()
    }
}
