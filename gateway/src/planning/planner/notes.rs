//! Rules i and n: notes on an application and warnings about the request.

use helsedata::proto as pb;

use super::words::*;
use super::*;

impl<'a> Planner<'a> {
    /// Rule i: directly identifying variables asked for below the identifiable level.
    pub(super) fn check_variable_identifiability(&mut self) {
        if self.input.data_level == pb::DataLevel::IdentifiableIndividual {
            return;
        }
        let mut direct: Vec<&pb::Variable> = self
            .input
            .variables
            .iter()
            .filter(|v| v.identifiability == pb::VariableIdentifiability::DirectIdentifier as i32)
            .collect();
        if direct.is_empty() {
            return;
        }
        direct.sort_by(|a, b| a.id.cmp(&b.id));
        let ids: Vec<&str> = direct.iter().map(|v| v.id.as_str()).collect();
        self.warnings.push(format!(
            "The request asks for {} but names directly identifying variables ({}); this is inconsistent: either set data_level to DATA_LEVEL_IDENTIFIABLE_INDIVIDUAL or drop these variables.",
            level_words(self.input.data_level),
            ids.join(", ")
        ));
        for v in direct {
            let text = format!(
                "Variable {} identifies a person on its own, but the request asks for {}.",
                v.id,
                level_words(self.input.data_level)
            );
            self.trace(
                "request.variable-identifiability",
                &v.data_source_id,
                ORIGIN_REQUEST,
                text,
            );
        }
    }

    pub(super) fn application_notes(
        &mut self,
        members: &[Routed<'a>],
        ids: &[String],
        by_hds: bool,
    ) -> Vec<String> {
        let mut notes: Vec<String> = Vec::new();
        for n in members.iter().flat_map(|m| m.notes.iter()) {
            push_unique(&mut notes, n.clone());
        }
        if by_hds {
            let o = &self.rules.observed_processing;
            notes.push(format!(
                "Processing time seen in practice ({}): {} In {}, {} % of decided applications were granted.",
                o.source,
                o.text,
                o.granted_year,
                o.granted_percent.get_ref()
            ));
        }
        if self.input.data_level == pb::DataLevel::AnonymousAggregated {
            let anon = &self.rules.anonymous_data;
            notes.push(format!(
                "Anonymous data ({}): {}",
                anon.legal_basis, anon.text
            ));
            self.trace(
                "national.anonymous-data",
                "",
                ORIGIN_NATIONAL,
                format!(
                    "{} ({}). Applies to {}.",
                    anon.text,
                    anon.legal_basis,
                    ids.join(", ")
                ),
            );
            self.anonymous_variables_note(ids, &mut notes);
        }
        notes
    }

    /// Rule o: for anonymous aggregated data, the open statistics each source publishes, to
    /// check before applying; each is also named in the application's `notes`.
    pub(super) fn open_statistics(
        &mut self,
        members: &[Routed<'a>],
        notes: &mut Vec<String>,
    ) -> Vec<pb::OpenStatistics> {
        if self.input.data_level != pb::DataLevel::AnonymousAggregated {
            return Vec::new();
        }
        let mut found = Vec::new();
        for m in members {
            let source = &m.rs.source;
            let text = source.open_statistics.trim();
            if text.is_empty() {
                continue;
            }
            let url = source.open_statistics_url.trim();
            let at = if url.is_empty() {
                format!("; ask {} where they are published", contact_words(m.rs))
            } else {
                format!(", at {url}")
            };
            let explanation = format!(
                "{} publishes open statistics ({text}){at}. Check them before applying: the figures wanted may already be public.",
                source_name(m.rs)
            );
            notes.push(format!("{}: {explanation}", source.id));
            self.trace(
                "custodian.open-statistics",
                &source.id,
                custodian_origin(m.rs),
                explanation,
            );
            found.push(pb::OpenStatistics {
                data_source_id: source.id.clone(),
                text: text.to_string(),
                url: url.to_string(),
            });
        }
        found
    }

    /// Rule i, second part: variables asked for at the anonymous level become tables.
    pub(super) fn anonymous_variables_note(&mut self, ids: &[String], notes: &mut Vec<String>) {
        let count = self
            .input
            .variables
            .iter()
            .filter(|v| ids.contains(&v.data_source_id))
            .count();
        if count == 0 {
            return;
        }
        let text = format!(
            "{count} named variable(s) from these sources are asked for at the anonymous level: they will be delivered as aggregated tables, not as individual records; describe the tables in the table shells."
        );
        self.trace(
            "request.variable-identifiability",
            "",
            ORIGIN_REQUEST,
            text.clone(),
        );
        notes.push(text);
    }

    /// Rule n: ids that could not be planned.
    pub(super) fn report_missing_ids(&mut self, nothing_resolved: bool) {
        let input = self.input;
        let groups: [(&[String], &str, &str); 3] = [
            (
                &input.unknown_data_source_ids,
                "request.unknown-data-source",
                "No custodian publishes these data sources; check the ids with SearchDataSources",
            ),
            (
                &input.unknown_variable_ids,
                "request.unknown-variable",
                "These variables are not in their source's variable list; check them with ListVariables",
            ),
            (
                &input.unresolved_data_source_ids,
                "request.unresolved-data-source",
                "The access rules of these sources could not be fetched, so their part of the plan may be incomplete; try again later",
            ),
        ];
        for (ids, rule, message) in groups {
            if ids.is_empty() {
                continue;
            }
            let ids = sorted(ids);
            self.warnings
                .push(format!("{message}: {}.", ids.join(", ")));
            for id in &ids {
                self.trace(rule, id, ORIGIN_REQUEST, format!("{message}."));
            }
        }
        if nothing_resolved {
            self.warnings.push(
                "No application could be planned: none of the requested sources could be resolved."
                    .to_string(),
            );
        }
    }
}
