//! Rule j: deadlines.

use helsedata::proto as pb;

use super::words::*;
use super::*;

impl<'a> Planner<'a> {
    /// Rule j: the statutory deadline (Helsedataservice only) and the sources' own deadlines.
    pub(super) fn deadlines(
        &mut self,
        members: &[Routed<'a>],
        ids: &[String],
        by_hds: bool,
    ) -> Vec<pb::Deadline> {
        let mut list = Vec::new();
        if by_hds {
            list.push(self.statutory_deadline(ids));
        }
        let mut published: Vec<(pb::Deadline, Vec<String>)> = Vec::new();
        for m in members {
            for d in self.source_deadlines(m.rs) {
                match published.iter_mut().find(|(p, _)| *p == d) {
                    Some((_, sources)) => sources.push(m.rs.source.id.clone()),
                    None => published.push((d, vec![m.rs.source.id.clone()])),
                }
            }
        }
        list.extend(published.into_iter().map(|(d, sources)| {
            let sources = sources.join(", ");
            let stated = |t: Option<&Text>, fallback: &str| {
                t.map(|t| (t.nb.clone(), t.en.clone()))
                    .unwrap_or_else(|| (String::new(), fallback.to_string()))
            };
            let (text_nb, text_en) = stated(d.localized_text.as_ref(), &d.text);
            let (for_nb, for_en) = stated(d.localized_applies_to.as_ref(), &d.applies_to);
            let text = both(
                if text_nb.is_empty() {
                    String::new()
                } else {
                    format!(
                        "{} (publisert for {sources}).",
                        text_nb.trim().trim_end_matches('.')
                    )
                },
                format!(
                    "{} (published for {sources}).",
                    text_en.trim().trim_end_matches('.')
                ),
            );
            pb::Deadline {
                text: text.en.clone(),
                localized_text: Some(text),
                localized_applies_to: Some(both(for_nb, for_en)),
                ..d
            }
        }));
        list
    }

    pub(super) fn statutory_deadline(&mut self, ids: &[String]) -> pb::Deadline {
        let law = &self.rules.statutory_deadline;
        let days = self.rules.statutory_working_days(ids.len());
        let (scope_nb, scope) = if ids.len() > 1 {
            ("flere kilder", "several sources")
        } else {
            ("én kilde", "one source")
        };
        let text = both_fmt!(lang =>
            "{}: {days} virkedager for en søknad som gjelder {scope_nb}, regnet fra {}.",
            "{}: {days} working days for an application that concerns {scope}, counted from {}.",
            law.legal_basis,
            law.clock_starts.in_lang(lang),
        );
        let covered = ids.join(", ");
        let explanation = both(
            format!("{} Søknaden gjelder {covered}.", text.nb),
            format!("{} The application covers {covered}.", text.en),
        );
        self.trace(
            "national.statutory-deadline",
            "",
            ORIGIN_NATIONAL,
            explanation,
        );
        let applies_to = both_fmt!(
            "lovbestemt frist, søknad som gjelder {scope_nb}",
            "statutory deadline, application concerning {scope}",
        );
        pb::Deadline {
            applies_to: applies_to.en.clone(),
            days: Some(days),
            working_days: true,
            text: text.en.clone(),
            data_level: pb::DataLevel::Unspecified as i32,
            localized_applies_to: Some(applies_to),
            localized_text: Some(text),
        }
    }

    /// The deadlines a source publishes, narrowed to those for the request's data level when it
    /// publishes any (by their `data_level`).
    pub(super) fn source_deadlines(&mut self, rs: &ResolvedSource) -> Vec<pb::Deadline> {
        let all = &rs.rules.deadlines;
        if all.is_empty() {
            return Vec::new();
        }
        let level = self.input.data_level;
        let fitting: Vec<pb::Deadline> = all
            .iter()
            .filter(|d| level != pb::DataLevel::Unspecified && d.data_level == level as i32)
            .cloned()
            .collect();
        let (n, (ln, le)) = (all.len(), (level_words_nb(level), level_words(level)));
        let text = if fitting.is_empty() {
            both_fmt!(
                "Forvalteren publiserer {n} frist(er), ingen særskilt for {ln}; alle er listet.",
                "The custodian publishes {n} deadline(s), none specific to {le}; all are listed.",
            )
        } else {
            let m = fitting.len();
            both_fmt!(
                "Forvalteren publiserer {n} frist(er); de {m} som gjelder {ln}, er listet.",
                "The custodian publishes {n} deadline(s); the {m} that concern {le} are listed.",
            )
        };
        self.trace(
            "custodian.deadlines",
            &rs.source.id,
            custodian_origin(rs),
            text,
        );
        if fitting.is_empty() {
            all.clone()
        } else {
            fitting
        }
    }
}
