//! Rule g: the prerequisites of an application.

use helsedata::proto as pb;

use super::words::*;
use super::*;

impl<'a> Planner<'a> {
    pub(super) fn trace_national_prerequisites(&mut self) {
        let (p, s, l) = (self.input.purpose, self.input.stage, self.input.data_level);
        let codes: Vec<&str> = self
            .rules
            .prerequisites_for(p, s, l)
            .map(|r| r.code.get_ref().as_str())
            .collect();
        let (pn, sn, ln) = (purpose_words_nb(p), stage_words_nb(s), level_words_nb(l));
        let (pe, se, le) = (purpose_words(p), stage_words(s), level_words(l));
        let text = if codes.is_empty() {
            both_fmt!(
                "Ingen nasjonale forutsetninger gjelder for {pn}, {sn} og {ln}.",
                "No national prerequisite applies to {pe}, {se} and {le}.",
            )
        } else {
            let codes = codes.join(", ");
            both_fmt!(
                "For {pn}, {sn} og {ln} krever de nasjonale reglene: {codes}.",
                "For {pe}, {se} and {le} the national rules require: {codes}.",
            )
        };
        self.trace("national.prerequisites", "", ORIGIN_NATIONAL, text);
    }

    /// Rule g: national prerequisites for every source, then the custodians' own, merged.
    pub(super) fn prerequisites(
        &mut self,
        members: &[Routed<'a>],
        ids: &[String],
    ) -> Vec<pb::Prerequisite> {
        let (p, s, l) = (self.input.purpose, self.input.stage, self.input.data_level);
        let mut list: Vec<pb::Prerequisite> = Vec::new();
        for rule in self.rules.prerequisites_for(p, s, l) {
            let text = both(rule.text.nb(), rule.text.en());
            merge_prerequisite(&mut list, rule.code.get_ref(), &text, ids);
        }
        for m in members {
            let own = custodian_prerequisites(m.rs, l);
            if own.is_empty() {
                continue;
            }
            let mut codes: Vec<&str> = Vec::new();
            for (code, _) in &own {
                if !codes.contains(code) {
                    codes.push(code);
                }
            }
            let codes = codes.join(", ");
            let text = both_fmt!(
                "Forvalterens egne vilkår legger til: {codes}.",
                "The custodian's own conditions add: {codes}.",
            );
            self.trace(
                "custodian.prerequisites",
                &m.rs.source.id,
                custodian_origin(m.rs),
                text,
            );
            for (code, text) in &own {
                merge_prerequisite(&mut list, code, text, std::slice::from_ref(&m.rs.source.id));
            }
        }
        list
    }
}

/// The prerequisites a custodian's own facts add for one source (rule g).
pub(super) fn custodian_prerequisites(
    rs: &ResolvedSource,
    level: pb::DataLevel,
) -> Vec<(&'static str, Text)> {
    let mut list = Vec::new();
    if rs.rules.contact_before_applying {
        let contact = contact_words(rs);
        list.push((
            "contact-custodian-first",
            both_fmt!(
                "Kontakt {contact} før du søker.",
                "Contact {contact} before you apply.",
            ),
        ));
    }
    let requirements = all_as_published(&rs.rules.requirements, &rs.rules.localized_requirements);
    for requirement in requirements.into_iter().filter(|r| !r.en.is_empty()) {
        list.push(("custodian-requirement", requirement));
    }
    let individual = matches!(
        level,
        pb::DataLevel::DeidentifiedIndividual | pb::DataLevel::IdentifiableIndividual
    );
    if individual && rs.source.consent == pb::ConsentRequirement::Required as i32 {
        list.push((
            "consent-scope",
            both(
                "De som er med i kilden, ble registrert med samtykke: den planlagte bruken må ligge innenfor det de samtykket til.",
                "The people in the source were registered with their consent: the intended use must lie within what they consented to.",
            ),
        ));
    }
    let provision = rs
        .source
        .legal_basis
        .as_ref()
        .map_or("", |l| l.purpose_provision.trim());
    if !provision.is_empty() {
        list.push((
            "purpose-match",
            both_fmt!(
                "Den planlagte bruken må passe med kildens lovbestemte formål ({provision}).",
                "The intended use must fit the statutory purpose of the source ({provision}).",
            ),
        ));
    }
    list
}

/// Adds a prerequisite, or adds the sources to an identical one already listed.
pub(super) fn merge_prerequisite(
    list: &mut Vec<pb::Prerequisite>,
    code: &str,
    text: &Text,
    ids: &[String],
) {
    match list
        .iter_mut()
        .find(|p| p.code == code && p.text == text.en)
    {
        Some(p) => union_into(&mut p.data_source_ids, ids),
        None => list.push(pb::Prerequisite {
            code: code.to_string(),
            text: text.en.clone(),
            data_source_ids: sorted(ids),
            localized_text: Some(text.clone()),
        }),
    }
}
