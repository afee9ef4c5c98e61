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
        list.extend(published.into_iter().map(|(d, sources)| pb::Deadline {
            text: format!(
                "{} (published for {}).",
                d.text.trim().trim_end_matches('.'),
                sources.join(", ")
            ),
            ..d
        }));
        list
    }

    pub(super) fn statutory_deadline(&mut self, ids: &[String]) -> pb::Deadline {
        let law = &self.rules.statutory_deadline;
        let days = self.rules.statutory_working_days(ids.len());
        let scope = if ids.len() > 1 {
            "several sources"
        } else {
            "one source"
        };
        let text = format!(
            "{}: {days} working days for an application that concerns {scope}, counted from {}.",
            law.legal_basis, law.clock_starts
        );
        let explanation = format!("{} The application covers {}.", text, ids.join(", "));
        self.trace(
            "national.statutory-deadline",
            "",
            ORIGIN_NATIONAL,
            explanation,
        );
        pb::Deadline {
            applies_to: format!("statutory deadline, application concerning {scope}"),
            days: Some(days),
            working_days: true,
            text,
            data_level: pb::DataLevel::Unspecified as i32,
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
        let text = if fitting.is_empty() {
            format!(
                "The custodian publishes {} deadline(s), none specific to {}; all are listed.",
                all.len(),
                level_words(level)
            )
        } else {
            format!(
                "The custodian publishes {} deadline(s); the {} that concern {} are listed.",
                all.len(),
                fitting.len(),
                level_words(level)
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
