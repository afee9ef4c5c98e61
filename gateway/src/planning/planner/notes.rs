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
        let ids = direct
            .iter()
            .map(|v| v.id.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let (ln, le) = (
            level_words_nb(self.input.data_level),
            level_words(self.input.data_level),
        );
        self.warnings.push(both_fmt!(
            "Søknaden ber om {ln}, men nevner direkte identifiserende variabler ({ids}); det henger ikke sammen: sett enten data_level til DATA_LEVEL_IDENTIFIABLE_INDIVIDUAL eller ta bort disse variablene.",
            "The request asks for {le} but names directly identifying variables ({ids}); this is inconsistent: either set data_level to DATA_LEVEL_IDENTIFIABLE_INDIVIDUAL or drop these variables.",
        ));
        for v in direct {
            let id = &v.id;
            let text = both_fmt!(
                "Variabelen {id} identifiserer en person alene, men søknaden ber om {ln}.",
                "Variable {id} identifies a person on its own, but the request asks for {le}.",
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
    ) -> Vec<Text> {
        let mut notes: Vec<Text> = Vec::new();
        for n in members.iter().flat_map(|m| m.notes.iter()) {
            push_unique(&mut notes, n.clone());
        }
        if by_hds {
            let o = &self.rules.observed_processing;
            let (year, percent) = (o.granted_year, o.granted_percent.get_ref());
            notes.push(both_fmt!(lang =>
                "Behandlingstid i praksis ({}): {} I {year} ble {percent} % av søknadene som fikk vedtak, innvilget.",
                "Processing time seen in practice ({}): {} In {year}, {percent} % of decided applications were granted.",
                o.source.in_lang(lang),
                o.text.in_lang(lang),
            ));
        }
        if self.input.data_level == pb::DataLevel::AnonymousAggregated {
            let anon = &self.rules.anonymous_data;
            let law = &anon.legal_basis;
            notes.push(both_fmt!(lang =>
                "Anonyme data ({law}): {}",
                "Anonymous data ({law}): {}",
                anon.text.in_lang(lang),
            ));
            let covered = ids.join(", ");
            self.trace(
                "national.anonymous-data",
                "",
                ORIGIN_NATIONAL,
                both_fmt!(lang =>
                    "{} ({law}). Gjelder {covered}.",
                    "{} ({law}). Applies to {covered}.",
                    anon.text.in_lang(lang),
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
        notes: &mut Vec<Text>,
    ) -> Vec<pb::OpenStatistics> {
        if self.input.data_level != pb::DataLevel::AnonymousAggregated {
            return Vec::new();
        }
        let mut found = Vec::new();
        for m in members {
            let source = &m.rs.source;
            let published = as_published(
                &source.open_statistics,
                source.localized_open_statistics.as_ref(),
            );
            let text = published.en.as_str();
            if text.is_empty() {
                continue;
            }
            let text_nb = quoted_nb(&published);
            let url = source.open_statistics_url.trim();
            let (at_nb, at_en) = if url.is_empty() {
                let contact = contact_words(m.rs);
                (
                    format!("; spør {contact} hvor den er publisert"),
                    format!("; ask {contact} where they are published"),
                )
            } else {
                (format!(", på {url}"), format!(", at {url}"))
            };
            let name = source_name(m.rs);
            let explanation = both_fmt!(
                "{name} publiserer åpen statistikk ({text_nb}){at_nb}. Se på den før du søker: tallene du ønsker, kan allerede være offentlige.",
                "{name} publishes open statistics ({text}){at_en}. Check them before applying: the figures wanted may already be public.",
            );
            notes.push(prefixed(&format!("{}: ", source.id), &explanation));
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
                localized_text: Some(published.clone()),
            });
        }
        found
    }

    /// Rule i, second part: variables asked for at the anonymous level become tables.
    pub(super) fn anonymous_variables_note(&mut self, ids: &[String], notes: &mut Vec<Text>) {
        let count = self
            .input
            .variables
            .iter()
            .filter(|v| ids.contains(&v.data_source_id))
            .count();
        if count == 0 {
            return;
        }
        let text = both_fmt!(
            "{count} navngitt(e) variabel(er) fra disse kildene er bedt om på anonymt nivå: de utleveres som sammenstilte tabeller, ikke som opplysninger om enkeltpersoner; beskriv tabellene i tabellskissene.",
            "{count} named variable(s) from these sources are asked for at the anonymous level: they will be delivered as aggregated tables, not as individual records; describe the tables in the table shells.",
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
        let groups: [(&[String], &str, &str, &str); 3] = [
            (
                &input.unknown_data_source_ids,
                "request.unknown-data-source",
                "Ingen forvalter publiserer disse datakildene; sjekk id-ene med SearchDataSources",
                "No custodian publishes these data sources; check the ids with SearchDataSources",
            ),
            (
                &input.unknown_variable_ids,
                "request.unknown-variable",
                "Disse variablene står ikke i kildens variabelliste; sjekk dem med ListVariables",
                "These variables are not in their source's variable list; check them with ListVariables",
            ),
            (
                &input.unresolved_data_source_ids,
                "request.unresolved-data-source",
                "Tilgangsreglene for disse kildene kunne ikke hentes, så deres del av planen kan være ufullstendig; prøv igjen senere",
                "The access rules of these sources could not be fetched, so their part of the plan may be incomplete; try again later",
            ),
        ];
        for (ids, rule, nb, en) in groups {
            if ids.is_empty() {
                continue;
            }
            let ids = sorted(ids);
            let listed = ids.join(", ");
            self.warnings
                .push(both_fmt!("{nb}: {listed}.", "{en}: {listed}.",));
            for id in &ids {
                self.trace(rule, id, ORIGIN_REQUEST, both_fmt!("{nb}.", "{en}.",));
            }
        }
        if nothing_resolved {
            self.warnings.push(both(
                "Ingen søknad kunne planlegges: ingen av de ønskede kildene kunne slås opp.",
                "No application could be planned: none of the requested sources could be resolved.",
            ));
        }
    }
}
