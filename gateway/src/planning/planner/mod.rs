//! Builds an [`ApplicationPlan`](pb::ApplicationPlan) from the facts the custodians publish and
//! the national rules.
//!
//! The planner works source by source: it picks the custodian's route for the request, applies
//! the national rules (Helsedataservice, the common form), works out who decides, who delivers
//! and where to send the application, and then groups the sources into applications. Every
//! decision is recorded in the plan's trace, with the custodian's fact and the national fact
//! side by side where they differ.
//!
//! The rules are lettered as in the trace: a to e and h (the route of one source) in `route`,
//! f (grouping into applications) here, g in `prerequisites`, i and n in `notes`, j in
//! `deadlines`, k in `invoices`, l in `linkage`, m in `appeals`, o (open statistics for
//! anonymous data) in `notes`; `words` holds the wording
//! shared by all of them.

use std::collections::BTreeMap;

use helsedata::proto as pb;

use super::{
    effective::{self, Published},
    rules::NationalRules,
};

mod appeals;
mod deadlines;
mod invoices;
mod linkage;
mod notes;
mod prerequisites;
mod route;
mod words;

use words::{
    Text, both, level_words, level_words_nb, parenthesised, purpose_words, purpose_words_nb,
    stage_words, stage_words_nb,
};

/// A requested source with the facts and access rules fetched from its custodian.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedSource {
    /// The data source as its custodian publishes it.
    pub source: pb::DataSource,
    /// Its access rules.
    pub rules: pb::AccessRules,
    /// The custodian that published it.
    pub custodian_id: String,
}

impl ResolvedSource {
    /// The source as its custodian publishes it, for [`effective::effective_route`].
    pub fn published(&self) -> Published<'_> {
        Published {
            source: &self.source,
            rules: &self.rules,
            custodian_id: &self.custodian_id,
        }
    }
}

/// Everything the planner needs from the request and from the custodians.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanInput {
    /// Why the data are wanted.
    pub purpose: pb::Purpose,
    /// Where the project stands.
    pub stage: pb::ProjectStage,
    /// How identifiable the data are to be.
    pub data_level: pb::DataLevel,
    /// Whether the sources are to be linked.
    pub linkage_wanted: bool,
    /// Whether biological material is wanted.
    pub biomaterial_wanted: bool,
    /// Every requested source whose facts and rules were fetched (ordered by id).
    pub sources: Vec<ResolvedSource>,
    /// Requested variables that exist.
    pub variables: Vec<pb::Variable>,
    /// Requested source ids that no custodian publishes.
    pub unknown_data_source_ids: Vec<String>,
    /// Requested variable ids that their source does not list.
    pub unknown_variable_ids: Vec<String>,
    /// Requested sources whose facts or rules could not be fetched.
    pub unresolved_data_source_ids: Vec<String>,
}

/// Trace origin of rules that follow from the request itself.
const ORIGIN_REQUEST: &str = "request";
/// Trace origin of rules from the national rules file.
const ORIGIN_NATIONAL: &str = effective::ORIGIN_NATIONAL;

/// Plans the applications for `input` under `rules`.
///
/// The plan's `custodians` list is left empty: the caller knows which custodians it asked and
/// fills it in.
pub fn plan(input: &PlanInput, rules: &NationalRules) -> pb::ApplicationPlan {
    Planner {
        input,
        rules,
        trace: Vec::new(),
        warnings: Vec::new(),
    }
    .run()
}

/// The working state of one planning run.
struct Planner<'a> {
    input: &'a PlanInput,
    rules: &'a NationalRules,
    trace: Vec<pb::RuleTraceEntry>,
    warnings: Vec<Text>,
}

/// The custodian's route that fits the request, and the condition that selected it.
struct Chosen {
    route: pb::ApplicationRoute,
    condition: Option<pb::RouteCondition>,
}

/// One source after the custodian's and the national rules have been applied.
struct Routed<'a> {
    rs: &'a ResolvedSource,
    channel: pb::ApplicationChannel,
    decided_by: String,
    processed_by: String,
    address: String,
    /// `address` in both languages.
    address_words: Text,
    delivered_by: String,
    notes: Vec<Text>,
    /// Whether Helsedataservice decides: the national rule for its registries applies, or the
    /// custodian's own route names it as the processing body.
    by_helsedataservice: bool,
}

/// One planned application, and whether Helsedataservice decides it (which brings the statutory
/// deadline, the observed processing time and the appeal route).
struct Planned {
    application: pb::PlannedApplication,
    by_helsedataservice: bool,
}

/// The key that groups sources into one application: channel, deciding body, address.
type GroupKey = (i32, String, String);

impl<'a> Planner<'a> {
    fn run(mut self) -> pb::ApplicationPlan {
        let input = self.input;
        self.trace_revision();
        let mut sources: Vec<&'a ResolvedSource> = input.sources.iter().collect();
        sources.sort_by(|a, b| a.source.id.cmp(&b.source.id));
        let routed: Vec<Routed<'a>> = sources.iter().map(|rs| self.route_source(rs)).collect();
        self.trace_national_prerequisites();
        self.check_variable_identifiability();
        let planned = self.applications(routed);
        let linkage = self.linkage(&sources);
        let appeals = self.appeals(planned.iter().any(|p| p.by_helsedataservice));
        let applications = planned.into_iter().map(|p| p.application).collect();
        self.report_missing_ids(sources.is_empty());
        pb::ApplicationPlan {
            applications,
            linkage: Some(linkage),
            unknown_data_source_ids: sorted(&input.unknown_data_source_ids),
            unknown_variable_ids: sorted(&input.unknown_variable_ids),
            unresolved_data_source_ids: sorted(&input.unresolved_data_source_ids),
            appeals,
            warnings: english(&self.warnings),
            localized_warnings: self.warnings,
            trace: self.trace,
            custodians: Vec::new(),
        }
    }

    /// Records one step of the reasoning.
    fn trace(&mut self, rule: &str, source_id: &str, origin: impl Into<String>, explanation: Text) {
        self.trace.push(pb::RuleTraceEntry {
            rule: rule.to_string(),
            data_source_id: source_id.to_string(),
            origin: origin.into(),
            explanation: explanation.en.clone(),
            localized_explanation: Some(explanation),
        });
    }

    fn trace_revision(&mut self) {
        let (p, s, l) = (self.input.purpose, self.input.stage, self.input.data_level);
        let text = both(
            format!(
                "Planlagt for {}, {} og {}, etter de nasjonale reglene i versjon {}.",
                purpose_words_nb(p),
                stage_words_nb(s),
                level_words_nb(l),
                self.rules.revision()
            ),
            format!(
                "Planned for {}, {} and {}, under national rules revision {}.",
                purpose_words(p),
                stage_words(s),
                level_words(l),
                self.rules.revision()
            ),
        );
        self.trace("national.rules-revision", "", ORIGIN_NATIONAL, text);
    }

    /// Rule f: one application per (channel, deciding body, address), in that order.
    fn applications(&mut self, routed: Vec<Routed<'a>>) -> Vec<Planned> {
        let mut groups: BTreeMap<GroupKey, Vec<Routed<'a>>> = BTreeMap::new();
        for r in routed {
            let key = (r.channel as i32, r.decided_by.clone(), r.address.clone());
            groups.entry(key).or_default().push(r);
        }
        groups
            .into_iter()
            .map(|(key, members)| self.application(key, members))
            .collect()
    }

    fn application(&mut self, key: GroupKey, mut members: Vec<Routed<'a>>) -> Planned {
        members.sort_by(|a, b| a.rs.source.id.cmp(&b.rs.source.id));
        let (channel_value, decided_by, address) = key;
        let channel = pb::ApplicationChannel::try_from(channel_value)
            .unwrap_or(pb::ApplicationChannel::Unknown);
        let ids: Vec<String> = members.iter().map(|m| m.rs.source.id.clone()).collect();
        let by_hds = members.iter().any(|m| m.by_helsedataservice);
        let processed_by = members
            .iter()
            .map(|m| m.processed_by.clone())
            .find(|p| !p.is_empty())
            .unwrap_or_default();
        let address_words = members
            .first()
            .map(|m| m.address_words.clone())
            .unwrap_or_else(|| both(&address, &address));
        let prerequisites = self.prerequisites(&members, &ids);
        let deadlines = self.deadlines(&members, &ids, by_hds);
        let invoices = self.invoices(channel, &members, &ids);
        let mut notes = self.application_notes(&members, &ids, by_hds);
        let open_statistics = self.open_statistics(&members, &mut notes);
        let application = pb::PlannedApplication {
            channel: channel_value,
            address,
            decided_by,
            processed_by,
            deliveries: members
                .iter()
                .map(|m| pb::Delivery {
                    data_source_id: m.rs.source.id.clone(),
                    delivered_by: m.delivered_by.clone(),
                })
                .collect(),
            prerequisites,
            deadlines,
            invoices,
            notes: english(&notes),
            localized_notes: notes,
            localized_address: Some(address_words),
            open_statistics,
            data_source_ids: ids,
        };
        Planned {
            application,
            by_helsedataservice: by_hds,
        }
    }
}

/// The English texts, for the contract's plain string fields.
pub(super) fn english(texts: &[Text]) -> Vec<String> {
    texts.iter().map(|t| t.en.clone()).collect()
}

pub(super) fn union_into(target: &mut Vec<String>, ids: &[String]) {
    target.extend(ids.iter().cloned());
    target.sort();
    target.dedup();
}

pub(super) fn push_unique<T: PartialEq>(list: &mut Vec<T>, item: T) {
    if !list.contains(&item) {
        list.push(item);
    }
}

pub(super) fn sorted(ids: &[String]) -> Vec<String> {
    let mut v = ids.to_vec();
    v.sort();
    v.dedup();
    v
}

pub(super) fn custodian_origin(rs: &ResolvedSource) -> String {
    format!("custodian:{}", rs.custodian_id)
}

/// The data controller's name; the processor's or the custodian id when none is given.
pub(super) fn controller_name(rs: &ResolvedSource) -> String {
    effective::controller_name(rs.published())
}

/// Whom to ask about a source: the controller, with the contact address when one is published
/// (the same in both languages).
pub(super) fn contact_words(rs: &ResolvedSource) -> String {
    format!(
        "{}{}",
        controller_name(rs),
        parenthesised(rs.rules.contact_email.trim())
    )
}

/// A source's name for explanations: its Norwegian name, else its abbreviation, else its id.
pub(super) fn source_name(rs: &ResolvedSource) -> String {
    let name = rs.source.name.as_ref().map_or("", |n| n.nb.trim());
    [name, rs.source.abbreviation.trim(), rs.source.id.as_str()]
        .into_iter()
        .find(|n| !n.is_empty())
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod tests;
