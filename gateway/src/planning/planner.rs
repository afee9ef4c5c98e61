//! Builds an [`ApplicationPlan`](pb::ApplicationPlan) from the facts the custodians publish and
//! the national rules.
//!
//! The planner works source by source: it picks the custodian's route for the request, applies
//! the national rules (Helsedataservice, the common form), works out who decides, who delivers
//! and where to send the application, and then groups the sources into applications. Every
//! decision is recorded in the plan's trace, with the custodian's fact and the national fact
//! side by side where they differ.

use std::collections::BTreeMap;

use helsedata::proto as pb;

use super::rules::NationalRules;

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
const ORIGIN_NATIONAL: &str = "national-rules";
/// The custodian id of Statistics Norway.
const SSB_CUSTODIAN_ID: &str = "ssb";
/// The name used for Statistics Norway as the body that links.
const SSB_NAME: &str = "SSB";

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
    warnings: Vec<String>,
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
    delivered_by: String,
    notes: Vec<String>,
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
        let applications = self.applications(routed);
        let linkage = self.linkage(&sources);
        let appeals = self.appeals(&applications);
        self.report_missing_ids(sources.is_empty());
        pb::ApplicationPlan {
            applications,
            linkage: Some(linkage),
            unknown_data_source_ids: sorted(&input.unknown_data_source_ids),
            unknown_variable_ids: sorted(&input.unknown_variable_ids),
            unresolved_data_source_ids: sorted(&input.unresolved_data_source_ids),
            appeals,
            warnings: self.warnings,
            trace: self.trace,
            custodians: Vec::new(),
        }
    }

    /// Records one step of the reasoning.
    fn trace(
        &mut self,
        rule: &str,
        source_id: &str,
        origin: impl Into<String>,
        explanation: impl Into<String>,
    ) {
        self.trace.push(pb::RuleTraceEntry {
            rule: rule.to_string(),
            data_source_id: source_id.to_string(),
            origin: origin.into(),
            explanation: explanation.into(),
        });
    }

    fn trace_revision(&mut self) {
        let text = format!(
            "Planned for {}, {} and {}, under national rules revision {}.",
            purpose_words(self.input.purpose),
            stage_words(self.input.stage),
            level_words(self.input.data_level),
            self.rules.revision()
        );
        self.trace("national.rules-revision", "", ORIGIN_NATIONAL, text);
    }

    // ---- a. to e.: the route of one source -------------------------------------------------

    /// Applies rules a to e and h to one source.
    fn route_source(&mut self, rs: &'a ResolvedSource) -> Routed<'a> {
        let chosen = self.choose_route(rs);
        let registry = self
            .rules
            .helsedataservice_registry(&rs.source.id, &rs.source.parent_id);
        let mut routed = match registry {
            Some(name)
                if chosen.condition == Some(pb::RouteCondition::ChangeNewPeriodOrNonResearch) =>
            {
                self.trace_own_route_kept(rs, name, &chosen.route);
                self.custodian_route(rs, &chosen.route, false)
            }
            Some(name) => self.helsedataservice_route(rs, name, &chosen.route),
            None => self.custodian_route(rs, &chosen.route, true),
        };
        routed.delivered_by = self.delivered_by(rs);
        self.set_address(&mut routed, &chosen.route);
        if !chosen.route.note.trim().is_empty() {
            routed
                .notes
                .push(format!("{}: {}", rs.source.id, chosen.route.note.trim()));
        }
        if self.input.biomaterial_wanted {
            self.biomaterial(&mut routed);
        }
        routed
    }

    /// Rule a: the first conditional route that fits the request, else the default route.
    fn choose_route(&mut self, rs: &ResolvedSource) -> Chosen {
        let (id, origin) = (rs.source.id.as_str(), custodian_origin(rs));
        let mut chosen: Option<Chosen> = None;
        for conditional in &rs.rules.conditional_routes {
            let condition = pb::RouteCondition::try_from(conditional.condition).unwrap_or_default();
            let route = conditional.route.clone().unwrap_or_default();
            if condition == pb::RouteCondition::Legacy {
                let text = format!(
                    "The custodian also describes an older route ({}); it is kept for reference only and is not used.",
                    describe_route(&route)
                );
                self.trace("custodian.legacy-route", id, origin.as_str(), text);
            } else if chosen.is_none()
                && condition_fits(condition, self.input.purpose, self.input.stage)
            {
                let text = format!(
                    "The custodian publishes a separate route for {}, which fits this request ({}, {}): {}.",
                    condition_words(condition),
                    purpose_words(self.input.purpose),
                    stage_words(self.input.stage),
                    describe_route(&route)
                );
                self.trace("custodian.conditional-route", id, origin.as_str(), text);
                chosen = Some(Chosen {
                    route,
                    condition: Some(condition),
                });
            }
        }
        chosen.unwrap_or_else(|| self.default_route(rs))
    }

    /// The custodian's default route (rule a, when no conditional route fits).
    fn default_route(&mut self, rs: &ResolvedSource) -> Chosen {
        let route = rs
            .rules
            .route
            .clone()
            .unwrap_or_else(|| pb::ApplicationRoute {
                channel: pb::ApplicationChannel::Unknown as i32,
                ..Default::default()
            });
        let text = match (&rs.rules.route, rs.rules.conditional_routes.is_empty()) {
            (None, _) => {
                "The custodian publishes no route for this source; it is treated as unknown."
                    .to_string()
            }
            (Some(_), true) => format!("The custodian's route: {}.", describe_route(&route)),
            (Some(_), false) => format!(
                "None of the custodian's conditional routes fits this request; its default route applies: {}.",
                describe_route(&route)
            ),
        };
        self.trace(
            "custodian.default-route",
            &rs.source.id,
            custodian_origin(rs),
            text,
        );
        Chosen {
            route,
            condition: None,
        }
    }

    /// Rule b: Helsedataservice decides, through the common form.
    fn helsedataservice_route(
        &mut self,
        rs: &'a ResolvedSource,
        registry: &str,
        route: &pb::ApplicationRoute,
    ) -> Routed<'a> {
        let hds = &self.rules.helsedataservice;
        let text = format!(
            "The custodian publishes: {}. Since {}, {} ({}) decides access to {} under {}. {} {} The application goes through the common helsedata.no form and is decided by {}.",
            describe_route(route),
            hds.decides_since.get_ref(),
            hds.name,
            operated_by_words(self.rules),
            registry,
            hds.legal_basis,
            hds.summary,
            hds.delivery,
            hds.name
        );
        self.trace(
            "national.helsedataservice-decides",
            &rs.source.id,
            ORIGIN_NATIONAL,
            text,
        );
        Routed {
            rs,
            channel: pb::ApplicationChannel::HelsedataForm,
            decided_by: hds.name.clone(),
            processed_by: hds.name.clone(),
            address: String::new(),
            delivered_by: String::new(),
            notes: Vec::new(),
        }
    }

    /// Rule b, exception: the custodian's own route for changes and non-research purposes stays.
    fn trace_own_route_kept(
        &mut self,
        rs: &ResolvedSource,
        registry: &str,
        route: &pb::ApplicationRoute,
    ) {
        let hds = &self.rules.helsedataservice;
        let decider = route_decider(rs, route);
        let text = format!(
            "Since {}, {} decides access to {} for applications through the common form, but the custodian publishes its own route for {}: {}. That route is kept, and {} decides. {}",
            hds.decides_since.get_ref(),
            hds.name,
            registry,
            condition_words(pb::RouteCondition::ChangeNewPeriodOrNonResearch),
            describe_route(route),
            decider,
            hds.exceptions
        );
        self.trace(
            "national.helsedataservice-decides",
            &rs.source.id,
            ORIGIN_NATIONAL,
            text.trim_end().to_string(),
        );
    }

    /// Rules c and d: the custodian's own route, moved to the common form where it covers the
    /// custodian and the custodian publishes no usable channel of its own.
    fn custodian_route(
        &mut self,
        rs: &'a ResolvedSource,
        route: &pb::ApplicationRoute,
        common_form_allowed: bool,
    ) -> Routed<'a> {
        let mut channel = channel_of(route);
        let movable = matches!(
            channel,
            pb::ApplicationChannel::Unknown | pb::ApplicationChannel::AltinnForm
        );
        if common_form_allowed && movable && self.rules.common_form_covers(&rs.custodian_id) {
            let text = format!(
                "The custodian publishes {}. {} The application is therefore planned through the common helsedata.no form.",
                channel_words(channel),
                self.rules.common_form.summary
            );
            self.trace("national.common-form", &rs.source.id, ORIGIN_NATIONAL, text);
            channel = pb::ApplicationChannel::HelsedataForm;
        }
        let decided_by = route_decider(rs, route);
        if route.processed_by.trim().is_empty() {
            let text = format!(
                "The custodian names no body that processes applications for this source; the data controller, {decided_by}, is taken to decide."
            );
            self.trace(
                "custodian.decided-by",
                &rs.source.id,
                custodian_origin(rs),
                text,
            );
        }
        Routed {
            rs,
            channel,
            decided_by,
            processed_by: String::new(),
            address: String::new(),
            delivered_by: String::new(),
            notes: Vec::new(),
        }
    }

    /// Rule d: who prepares and delivers the data.
    fn delivered_by(&mut self, rs: &ResolvedSource) -> String {
        let published = rs.rules.delivered_by.trim();
        let processor = org_name(&rs.source.processor);
        let (body, text) = if !published.is_empty() {
            (
                published.to_string(),
                format!("The custodian states that {published} prepares and delivers the data."),
            )
        } else if !processor.is_empty() {
            (
                processor.to_string(),
                format!(
                    "The custodian names no delivering body; the register's processor, {processor}, is taken to deliver."
                ),
            )
        } else {
            let controller = controller_name(rs);
            (
                controller.clone(),
                format!(
                    "The custodian names no delivering body and no processor; the data controller, {controller}, is taken to deliver."
                ),
            )
        };
        self.trace(
            "custodian.delivered-by",
            &rs.source.id,
            custodian_origin(rs),
            text,
        );
        body
    }

    /// Rule e: where the application is sent.
    fn set_address(&mut self, routed: &mut Routed<'a>, route: &pb::ApplicationRoute) {
        let rs = routed.rs;
        let email = rs.rules.contact_email.trim();
        let url = route.url.trim();
        let ask = format!("ask {}", controller_name(rs));
        let first = |candidates: &[&str]| {
            candidates
                .iter()
                .find(|c| !c.is_empty())
                .map(|c| c.to_string())
        };
        routed.address = match routed.channel {
            pb::ApplicationChannel::HelsedataForm => self.rules.common_form.address.clone(),
            pb::ApplicationChannel::EmailToRegister => first(&[email]).unwrap_or_else(|| {
                let note = format!(
                    "{}: applications go to the register by e-mail, but no address is published; ask {} for it.",
                    rs.source.id,
                    controller_name(rs)
                );
                self.warnings.push(note.clone());
                routed.notes.push(note);
                ask
            }),
            pb::ApplicationChannel::RegisterWebsite => first(&[url]).unwrap_or_else(|| {
                routed.notes.push(format!(
                    "{}: the form or instructions are on the register's own website, but no address is published; ask {}{}.",
                    rs.source.id,
                    controller_name(rs),
                    parenthesised(email)
                ));
                ask
            }),
            pb::ApplicationChannel::AltinnForm => first(&[url, email]).unwrap_or(ask),
            pb::ApplicationChannel::Unknown | pb::ApplicationChannel::Unspecified => first(&[email, url]).unwrap_or(ask),
        };
    }

    /// Rule h: biological material.
    fn biomaterial(&mut self, routed: &mut Routed<'a>) {
        let rs = routed.rs;
        let (id, name) = (rs.source.id.as_str(), source_name(rs));
        let detail = sentence(rs.source.biomaterial_note.trim());
        let availability =
            pb::BiomaterialAvailability::try_from(rs.source.biomaterial).unwrap_or_default();
        let text = match availability {
            pb::BiomaterialAvailability::ApplyWithData => {
                let note = format!(
                    "{id}: apply for biological material from {name} in the same form as the data.{detail}"
                );
                routed.notes.push(note.clone());
                note
            }
            pb::BiomaterialAvailability::BiobankMentioned => {
                let note = format!(
                    "{id}: {name} mentions a biobank but publishes no route to it; ask {} how to apply for the material.{detail}",
                    contact_words(rs)
                );
                routed.notes.push(note.clone());
                note
            }
            pb::BiomaterialAvailability::None | pb::BiomaterialAvailability::Unspecified => {
                let warning =
                    format!("{id}: biological material was asked for, but {name} publishes none.");
                self.warnings.push(warning.clone());
                warning
            }
        };
        self.trace("custodian.biomaterial", id, custodian_origin(rs), text);
    }

    // ---- g. and i.: request-wide checks ----------------------------------------------------

    fn trace_national_prerequisites(&mut self) {
        let (p, s, l) = (self.input.purpose, self.input.stage, self.input.data_level);
        let codes: Vec<&str> = self
            .rules
            .prerequisites_for(p, s, l)
            .map(|r| r.code.get_ref().as_str())
            .collect();
        let text = if codes.is_empty() {
            format!(
                "No national prerequisite applies to {}, {} and {}.",
                purpose_words(p),
                stage_words(s),
                level_words(l)
            )
        } else {
            format!(
                "For {}, {} and {} the national rules require: {}.",
                purpose_words(p),
                stage_words(s),
                level_words(l),
                codes.join(", ")
            )
        };
        self.trace("national.prerequisites", "", ORIGIN_NATIONAL, text);
    }

    /// Rule i: directly identifying variables asked for below the identifiable level.
    fn check_variable_identifiability(&mut self) {
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

    // ---- f.: grouping into applications ---------------------------------------------------

    /// Rule f: one application per (channel, deciding body, address), in that order.
    fn applications(&mut self, routed: Vec<Routed<'a>>) -> Vec<pb::PlannedApplication> {
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

    fn application(
        &mut self,
        key: GroupKey,
        mut members: Vec<Routed<'a>>,
    ) -> pb::PlannedApplication {
        members.sort_by(|a, b| a.rs.source.id.cmp(&b.rs.source.id));
        let (channel_value, decided_by, address) = key;
        let channel = pb::ApplicationChannel::try_from(channel_value)
            .unwrap_or(pb::ApplicationChannel::Unknown);
        let ids: Vec<String> = members.iter().map(|m| m.rs.source.id.clone()).collect();
        let by_hds = decided_by == self.rules.helsedataservice.name;
        let processed_by = members
            .iter()
            .map(|m| m.processed_by.clone())
            .find(|p| !p.is_empty())
            .unwrap_or_default();
        pb::PlannedApplication {
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
            prerequisites: self.prerequisites(&members, &ids),
            deadlines: self.deadlines(&members, &ids, by_hds),
            invoices: self.invoices(channel, &members, &ids),
            notes: self.application_notes(&members, &ids, by_hds),
            data_source_ids: ids,
        }
    }

    // ---- g.: prerequisites -----------------------------------------------------------------

    /// Rule g: national prerequisites for every source, then the custodians' own, merged.
    fn prerequisites(&mut self, members: &[Routed<'a>], ids: &[String]) -> Vec<pb::Prerequisite> {
        let (p, s, l) = (self.input.purpose, self.input.stage, self.input.data_level);
        let mut list: Vec<pb::Prerequisite> = Vec::new();
        for rule in self.rules.prerequisites_for(p, s, l) {
            merge_prerequisite(&mut list, rule.code.get_ref(), &rule.text, ids);
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
            let text = format!("The custodian's own conditions add: {}.", codes.join(", "));
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

    // ---- j.: deadlines ---------------------------------------------------------------------

    /// Rule j: the statutory deadline (Helsedataservice only) and the sources' own deadlines.
    fn deadlines(
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

    fn statutory_deadline(&mut self, ids: &[String]) -> pb::Deadline {
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
        }
    }

    /// The deadlines a source publishes, narrowed to the request's data level where possible.
    fn source_deadlines(&mut self, rs: &ResolvedSource) -> Vec<pb::Deadline> {
        let all = &rs.rules.deadlines;
        if all.is_empty() {
            return Vec::new();
        }
        let level = self.input.data_level;
        let fitting: Vec<pb::Deadline> = all
            .iter()
            .filter(|d| deadline_level(&d.applies_to) == Some(level))
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

    // ---- k.: invoices ----------------------------------------------------------------------

    /// Rule k: the Helsedataservice fee for the common form, and each source's prices.
    fn invoices(
        &mut self,
        channel: pb::ApplicationChannel,
        members: &[Routed<'a>],
        ids: &[String],
    ) -> Vec<pb::Invoice> {
        let mut list: Vec<pb::Invoice> = Vec::new();
        if channel == pb::ApplicationChannel::HelsedataForm {
            let fees = &self.rules.fees;
            let reason = format!(
                "{} (charged since {})",
                fees.application_fee_text,
                fees.since.get_ref()
            );
            merge_invoice(
                &mut list,
                &fees.application_fee_invoiced_by,
                &reason,
                None,
                ids,
            );
            let text = format!(
                "Since {}, {} invoices for {} when it is filed through the helsedata.no form; the register holders invoice separately for {}.",
                fees.since.get_ref(),
                fees.application_fee_invoiced_by,
                fees.application_fee_text,
                fees.preparation_text
            );
            self.trace(
                "national.fees",
                "",
                ORIGIN_NATIONAL,
                format!("{text} Applies to {}.", ids.join(", ")),
            );
        }
        for m in members {
            self.source_invoices(m, &mut list);
        }
        list
    }

    fn source_invoices(&mut self, m: &Routed<'a>, list: &mut Vec<pb::Invoice>) {
        let rs = m.rs;
        let id = std::slice::from_ref(&rs.source.id);
        if rs.rules.prices.is_empty() {
            let reason = format!("{}; price not published", self.rules.fees.preparation_text);
            merge_invoice(list, &m.delivered_by, &reason, None, id);
            let text = format!(
                "The custodian publishes no price; expect an invoice from {} for preparing the data.",
                m.delivered_by
            );
            self.trace(
                "custodian.prices",
                &rs.source.id,
                custodian_origin(rs),
                text,
            );
            return;
        }
        for price in &rs.rules.prices {
            let by = if price.invoiced_by.trim().is_empty() {
                m.delivered_by.as_str()
            } else {
                price.invoiced_by.trim()
            };
            let reason = if price.text.trim().is_empty() {
                "data preparation"
            } else {
                price.text.trim()
            };
            merge_invoice(list, by, reason, Some(price.clone()), id);
            self.trace(
                "custodian.prices",
                &rs.source.id,
                custodian_origin(rs),
                format!(
                    "The custodian publishes a price: {}.",
                    price_words(price, by)
                ),
            );
        }
    }

    // ---- notes -----------------------------------------------------------------------------

    fn application_notes(
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

    /// Rule i, second part: variables asked for at the anonymous level become tables.
    fn anonymous_variables_note(&mut self, ids: &[String], notes: &mut Vec<String>) {
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

    // ---- l.: linkage -----------------------------------------------------------------------

    /// Rule l: whether and by whom the sources can be linked.
    fn linkage(&mut self, sources: &[&'a ResolvedSource]) -> pb::LinkagePlan {
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

    fn source_linkage(&mut self, rs: &ResolvedSource, plan: &mut pb::LinkagePlan) {
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

    /// The body that performs the linkage: one a source names, else SSB when an SSB statistics
    /// dataset is involved, else nobody (the register holders agree on one).
    fn linked_by(&mut self, sources: &[&'a ResolvedSource], notes: &mut Vec<String>) -> String {
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
        let ssb = sources.iter().find(|rs| {
            rs.custodian_id == SSB_CUSTODIAN_ID
                && rs.source.kind == pb::DataSourceKind::StatisticsDataset as i32
        });
        if let Some(rs) = ssb {
            let text = format!(
                "No source names a body that links; {} is a statistics dataset of SSB, and SSB links its own data with other sources, so {SSB_NAME} is expected to perform the linkage.",
                rs.source.id
            );
            self.trace(
                "custodian.linkage",
                &rs.source.id,
                custodian_origin(rs),
                text,
            );
            return SSB_NAME.to_string();
        }
        if sources.len() > 1 {
            notes.push("No source names a body that performs linkage: the register holders agree on a trusted third party.".to_string());
        }
        String::new()
    }

    // ---- m. and n. -------------------------------------------------------------------------

    /// Rule m: one appeal route when Helsedataservice decides any application.
    fn appeals(&mut self, applications: &[pb::PlannedApplication]) -> Vec<pb::AppealRoute> {
        let hds = &self.rules.helsedataservice.name;
        if !applications.iter().any(|a| &a.decided_by == hds) {
            return Vec::new();
        }
        let a = &self.rules.appeals;
        let text = format!(
            "A decision of {} may be appealed to {}, within {}; if the decision is upheld, the case goes on to {}.",
            a.decision_by, a.send_to, a.time_limit, a.final_instance
        );
        self.trace("national.appeals", "", ORIGIN_NATIONAL, text);
        vec![pb::AppealRoute {
            decision_by: a.decision_by.clone(),
            send_to: a.send_to.clone(),
            time_limit: a.time_limit.clone(),
            final_instance: a.final_instance.clone(),
        }]
    }

    /// Rule n: ids that could not be planned.
    fn report_missing_ids(&mut self, nothing_resolved: bool) {
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

// ---- helpers ---------------------------------------------------------------------------------

/// Whether a conditional route's condition fits the request (rule a). Legacy routes never fit.
fn condition_fits(
    condition: pb::RouteCondition,
    purpose: pb::Purpose,
    stage: pb::ProjectStage,
) -> bool {
    match condition {
        pb::RouteCondition::NewResearchProject => {
            purpose == pb::Purpose::Research && stage == pb::ProjectStage::New
        }
        pb::RouteCondition::ChangeNewPeriodOrNonResearch => {
            matches!(
                stage,
                pb::ProjectStage::Change | pb::ProjectStage::NewDataPeriod
            ) || purpose != pb::Purpose::Research
        }
        pb::RouteCondition::Legacy | pb::RouteCondition::Unspecified => false,
    }
}

/// The data level a published deadline concerns, judged from its `applies_to` text.
fn deadline_level(applies_to: &str) -> Option<pb::DataLevel> {
    let t = applies_to.to_lowercase();
    let any = |words: &[&str]| words.iter().any(|w| t.contains(w));
    if any(&["anonym", "statisti", "aggregat"]) {
        Some(pb::DataLevel::AnonymousAggregated)
    } else if any(&["de-identif", "deidentif", "pseudonym", "avidentif"]) {
        Some(pb::DataLevel::DeidentifiedIndividual)
    } else if any(&["identifi"]) {
        Some(pb::DataLevel::IdentifiableIndividual)
    } else {
        None
    }
}

/// The prerequisites a custodian's own facts add for one source (rule g).
fn custodian_prerequisites(
    rs: &ResolvedSource,
    level: pb::DataLevel,
) -> Vec<(&'static str, String)> {
    let mut list = Vec::new();
    if rs.rules.contact_before_applying {
        list.push((
            "contact-custodian-first",
            format!("Contact {} before you apply.", contact_words(rs)),
        ));
    }
    for requirement in rs
        .rules
        .requirements
        .iter()
        .map(|r| r.trim())
        .filter(|r| !r.is_empty())
    {
        list.push(("custodian-requirement", requirement.to_string()));
    }
    let individual = matches!(
        level,
        pb::DataLevel::DeidentifiedIndividual | pb::DataLevel::IdentifiableIndividual
    );
    if individual && rs.source.consent == pb::ConsentRequirement::Required as i32 {
        list.push((
            "consent-scope",
            "The people in the source were registered with their consent: the intended use must lie within what they consented to.".to_string(),
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
            format!("The intended use must fit the statutory purpose of the source ({provision})."),
        ));
    }
    list
}

/// Adds a prerequisite, or adds the sources to an identical one already listed.
fn merge_prerequisite(list: &mut Vec<pb::Prerequisite>, code: &str, text: &str, ids: &[String]) {
    match list.iter_mut().find(|p| p.code == code && p.text == text) {
        Some(p) => union_into(&mut p.data_source_ids, ids),
        None => list.push(pb::Prerequisite {
            code: code.to_string(),
            text: text.to_string(),
            data_source_ids: sorted(ids),
        }),
    }
}

/// Adds an invoice, or adds the sources to an identical one already listed.
fn merge_invoice(
    list: &mut Vec<pb::Invoice>,
    by: &str,
    reason: &str,
    price: Option<pb::Price>,
    ids: &[String],
) {
    // An invoice without a published amount merges with any other unpriced invoice from the
    // same body: the applicant gets one invoice from that body, whatever each source calls it.
    let unpriced = !has_amount(&price);
    let same = |i: &pb::Invoice| {
        i.invoiced_by == by
            && if unpriced {
                !has_amount(&i.price)
            } else {
                i.reason == reason && i.price == price
            }
    };
    match list.iter_mut().find(|i| same(i)) {
        Some(i) => union_into(&mut i.data_source_ids, ids),
        None => list.push(pb::Invoice {
            invoiced_by: by.to_string(),
            reason: reason.to_string(),
            price,
            data_source_ids: sorted(ids),
        }),
    }
}

/// Whether an invoice's price states an amount or a minimum.
fn has_amount(price: &Option<pb::Price>) -> bool {
    price
        .as_ref()
        .is_some_and(|p| p.amount_nok.is_some() || p.minimum_units.is_some())
}

fn union_into(target: &mut Vec<String>, ids: &[String]) {
    target.extend(ids.iter().cloned());
    target.sort();
    target.dedup();
}

fn push_unique(list: &mut Vec<String>, item: String) {
    if !list.contains(&item) {
        list.push(item);
    }
}

fn sorted(ids: &[String]) -> Vec<String> {
    let mut v = ids.to_vec();
    v.sort();
    v.dedup();
    v
}

fn channel_of(route: &pb::ApplicationRoute) -> pb::ApplicationChannel {
    match pb::ApplicationChannel::try_from(route.channel) {
        Ok(pb::ApplicationChannel::Unspecified) | Err(_) => pb::ApplicationChannel::Unknown,
        Ok(c) => c,
    }
}

fn custodian_origin(rs: &ResolvedSource) -> String {
    format!("custodian:{}", rs.custodian_id)
}

fn org_name(org: &Option<pb::Organisation>) -> &str {
    org.as_ref().map_or("", |o| o.name.trim())
}

/// The data controller's name; the processor's or the custodian id when none is given.
fn controller_name(rs: &ResolvedSource) -> String {
    [
        org_name(&rs.source.controller),
        org_name(&rs.source.processor),
        rs.custodian_id.as_str(),
    ]
    .into_iter()
    .find(|n| !n.is_empty())
    .unwrap_or_default()
    .to_string()
}

/// The body that decides on a custodian's route: its processing body, else the controller.
fn route_decider(rs: &ResolvedSource, route: &pb::ApplicationRoute) -> String {
    let processed_by = route.processed_by.trim();
    if processed_by.is_empty() {
        controller_name(rs)
    } else {
        processed_by.to_string()
    }
}

/// Whom to ask about a source: the controller, with the contact address when one is published.
fn contact_words(rs: &ResolvedSource) -> String {
    format!(
        "{}{}",
        controller_name(rs),
        parenthesised(rs.rules.contact_email.trim())
    )
}

/// A source's name for explanations: its Norwegian name, else its abbreviation, else its id.
fn source_name(rs: &ResolvedSource) -> String {
    let name = rs.source.name.as_ref().map_or("", |n| n.nb.trim());
    [name, rs.source.abbreviation.trim(), rs.source.id.as_str()]
        .into_iter()
        .find(|n| !n.is_empty())
        .unwrap_or_default()
        .to_string()
}

/// `text` as a further sentence (with a leading space and a final full stop), or nothing.
fn sentence(text: &str) -> String {
    match text.trim() {
        "" => String::new(),
        t if t.ends_with('.') => format!(" {t}"),
        t => format!(" {t}."),
    }
}

/// `text` in parentheses with a leading space, or nothing when it is empty.
fn parenthesised(text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        format!(" ({text})")
    }
}

fn operated_by_words(rules: &NationalRules) -> String {
    let hds = &rules.helsedataservice;
    if hds.formerly_operated_by.is_empty() {
        format!("run by {}", hds.operated_by)
    } else {
        format!(
            "run by {}, earlier by {}",
            hds.operated_by, hds.formerly_operated_by
        )
    }
}

fn describe_route(route: &pb::ApplicationRoute) -> String {
    let by = route.processed_by.trim();
    let processed = if by.is_empty() {
        String::new()
    } else {
        format!(", processed by {by}")
    };
    format!(
        "{}{}{}",
        channel_words(channel_of(route)),
        processed,
        parenthesised(route.url.trim())
    )
}

fn price_words(price: &pb::Price, by: &str) -> String {
    let mut text = format!("{by} invoices {}", price.text.trim());
    if let Some(amount) = price.amount_nok {
        let unit = if price.unit.is_empty() {
            String::new()
        } else {
            format!(" per {}", price.unit)
        };
        text.push_str(&format!(", NOK {amount} excluding VAT{unit}"));
    }
    if let Some(min) = price.minimum_units {
        let unit = if price.unit.is_empty() {
            "unit"
        } else {
            price.unit.as_str()
        };
        text.push_str(&format!(", at least {min} × {unit}"));
    }
    text
}

fn channel_words(channel: pb::ApplicationChannel) -> &'static str {
    match channel {
        pb::ApplicationChannel::HelsedataForm => "the common helsedata.no application form",
        pb::ApplicationChannel::AltinnForm => "its own e-form behind an Altinn login",
        pb::ApplicationChannel::EmailToRegister => "an application sent to the register by e-mail",
        pb::ApplicationChannel::RegisterWebsite => {
            "the form or instructions on the register's own website"
        }
        pb::ApplicationChannel::Unknown | pb::ApplicationChannel::Unspecified => {
            "no application route"
        }
    }
}

fn condition_words(condition: pb::RouteCondition) -> &'static str {
    match condition {
        pb::RouteCondition::NewResearchProject => "new research projects",
        pb::RouteCondition::ChangeNewPeriodOrNonResearch => {
            "changes to approved projects, new data periods and purposes other than research"
        }
        pb::RouteCondition::Legacy => "an older page",
        pb::RouteCondition::Unspecified => "an unstated condition",
    }
}

fn purpose_words(purpose: pb::Purpose) -> &'static str {
    match purpose {
        pb::Purpose::Research => "research",
        pb::Purpose::QualityAssurance => "quality assurance",
        pb::Purpose::HealthAdministration => "health administration and planning",
        pb::Purpose::Statistics => "statistics",
        pb::Purpose::Other => "another purpose than research",
        pb::Purpose::Unspecified => "an unstated purpose",
    }
}

fn stage_words(stage: pb::ProjectStage) -> &'static str {
    match stage {
        pb::ProjectStage::New => "a new project",
        pb::ProjectStage::Change => "a change to an approved project",
        pb::ProjectStage::NewDataPeriod => "new data periods for an approved project",
        pb::ProjectStage::Unspecified => "an unstated project stage",
    }
}

fn level_words(level: pb::DataLevel) -> &'static str {
    match level {
        pb::DataLevel::AnonymousAggregated => "anonymous aggregated data",
        pb::DataLevel::DeidentifiedIndividual => "de-identified individual-level data",
        pb::DataLevel::IdentifiableIndividual => "identifiable individual-level data",
        pb::DataLevel::Unspecified => "an unstated data level",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/config/national-rules.toml");

    fn rules() -> NationalRules {
        match NationalRules::load(RULES_PATH) {
            Ok(r) => r,
            Err(e) => panic!("the shipped rules file must load: {e}"),
        }
    }

    // ---- fixtures --------------------------------------------------------------------------

    fn org(name: &str) -> Option<pb::Organisation> {
        Some(pb::Organisation {
            name: name.to_string(),
            ..Default::default()
        })
    }

    fn route(
        channel: pb::ApplicationChannel,
        processed_by: &str,
        url: &str,
    ) -> pb::ApplicationRoute {
        pb::ApplicationRoute {
            channel: channel as i32,
            processed_by: processed_by.to_string(),
            url: url.to_string(),
            ..Default::default()
        }
    }

    fn conditional(condition: pb::RouteCondition, r: pb::ApplicationRoute) -> pb::ConditionalRoute {
        pb::ConditionalRoute {
            condition: condition as i32,
            route: Some(r),
        }
    }

    fn linkage(policy: pb::LinkagePolicy, linked_by: &str) -> Option<pb::LinkageRules> {
        Some(pb::LinkageRules {
            policy: policy as i32,
            linked_by: linked_by.to_string(),
            notes: Vec::new(),
        })
    }

    /// A source of `custodian` controlled by `controller`, with the default route `r`.
    fn source(
        id: &str,
        custodian: &str,
        controller: &str,
        r: pb::ApplicationRoute,
    ) -> ResolvedSource {
        ResolvedSource {
            source: pb::DataSource {
                id: id.to_string(),
                custodian_id: custodian.to_string(),
                name: Some(pb::LocalizedText {
                    nb: format!("Register {id}"),
                    en: String::new(),
                }),
                kind: pb::DataSourceKind::CentralHealthRegister as i32,
                controller: org(controller),
                consent: pb::ConsentRequirement::NotRequired as i32,
                biomaterial: pb::BiomaterialAvailability::None as i32,
                ..Default::default()
            },
            rules: pb::AccessRules {
                data_source_id: id.to_string(),
                route: Some(r),
                linkage: linkage(pb::LinkagePolicy::Allowed, ""),
                ..Default::default()
            },
            custodian_id: custodian.to_string(),
        }
    }

    fn npr_like(id: &str, parent: &str) -> ResolvedSource {
        let mut s = source(
            id,
            "helsedirektoratet",
            "Helsedirektoratet",
            route(
                pb::ApplicationChannel::HelsedataForm,
                "Helsedirektoratet",
                "",
            ),
        );
        s.source.parent_id = parent.to_string();
        s.source.processor = org("Helsedirektoratet");
        s.rules.conditional_routes = vec![
            conditional(
                pb::RouteCondition::NewResearchProject,
                route(
                    pb::ApplicationChannel::HelsedataForm,
                    "Helsedirektoratet",
                    "",
                ),
            ),
            conditional(
                pb::RouteCondition::ChangeNewPeriodOrNonResearch,
                route(
                    pb::ApplicationChannel::RegisterWebsite,
                    "Helsedirektoratet",
                    "https://www.helsedirektoratet.no/npr",
                ),
            ),
        ];
        s.rules.delivered_by = "Helsedirektoratet".into();
        s.rules.contact_email = "helseregistre@helsedir.no".into();
        s.rules.deadlines = vec![
            deadline("statistics and anonymous data", 30),
            deadline("de-identified data", 60),
            deadline("personally identifiable data", 60),
        ];
        s.rules.prices = vec![npr_price()];
        s
    }

    fn deadline(applies_to: &str, days: u32) -> pb::Deadline {
        pb::Deadline {
            applies_to: applies_to.to_string(),
            days: Some(days),
            working_days: false,
            text: format!("{days} days from a complete application"),
        }
    }

    fn npr_price() -> pb::Price {
        pb::Price {
            invoiced_by: "Helsedirektoratet".into(),
            text: "time spent on case processing".into(),
            amount_nok: Some(1100.0),
            unit: "hour".into(),
            minimum_units: Some(2.0),
        }
    }

    fn moba_like() -> ResolvedSource {
        let mut s = source(
            "moba",
            "fhi",
            "Folkehelseinstituttet (FHI)",
            route(pb::ApplicationChannel::HelsedataForm, "FHI", ""),
        );
        s.source.kind = pb::DataSourceKind::PopulationHealthSurvey as i32;
        s.source.consent = pb::ConsentRequirement::Required as i32;
        s.source.biomaterial = pb::BiomaterialAvailability::ApplyWithData as i32;
        s.rules.contact_before_applying = true;
        s
    }

    fn krg_brystkreft() -> ResolvedSource {
        let mut s = source(
            "krg-brystkreft",
            "kreftregisteret",
            "Kreftregisteret",
            route(pb::ApplicationChannel::HelsedataForm, "", ""),
        );
        s.source.parent_id = "kreftregisteret".into();
        s.source.kind = pb::DataSourceKind::NationalQualityRegister as i32;
        s
    }

    fn ssb_inntekt() -> ResolvedSource {
        let mut s = source(
            "ssb-inntekt",
            "ssb",
            "Statistisk sentralbyrå (SSB)",
            route(pb::ApplicationChannel::Unknown, "", ""),
        );
        s.source.kind = pb::DataSourceKind::StatisticsDataset as i32;
        s.rules.linkage = linkage(pb::LinkagePolicy::Unknown, "");
        s
    }

    fn cprn_like() -> ResolvedSource {
        let mut s = source(
            "cprn",
            "siv",
            "Sykehuset i Vestfold HF (SiV)",
            route(pb::ApplicationChannel::EmailToRegister, "", ""),
        );
        s.source.kind = pb::DataSourceKind::NationalQualityRegister as i32;
        s.rules.contact_email = "cprnregister@siv.no".into();
        s
    }

    fn nois_like() -> ResolvedSource {
        let mut s = source(
            "nois",
            "fhi",
            "Folkehelseinstituttet (FHI)",
            route(pb::ApplicationChannel::HelsedataForm, "", ""),
        );
        s.source.identifiability = pb::Identifiability::DeIdentified as i32;
        s.rules.linkage = linkage(pb::LinkagePolicy::NotPossible, "");
        s
    }

    fn input(
        purpose: pb::Purpose,
        stage: pb::ProjectStage,
        level: pb::DataLevel,
        mut sources: Vec<ResolvedSource>,
    ) -> PlanInput {
        sources.sort_by(|a, b| a.source.id.cmp(&b.source.id));
        PlanInput {
            purpose,
            stage,
            data_level: level,
            linkage_wanted: false,
            biomaterial_wanted: false,
            sources,
            variables: Vec::new(),
            unknown_data_source_ids: Vec::new(),
            unknown_variable_ids: Vec::new(),
            unresolved_data_source_ids: Vec::new(),
        }
    }

    fn research_new(level: pb::DataLevel, sources: Vec<ResolvedSource>) -> PlanInput {
        input(pb::Purpose::Research, pb::ProjectStage::New, level, sources)
    }

    fn variable(
        source: &str,
        name: &str,
        identifiability: pb::VariableIdentifiability,
    ) -> pb::Variable {
        pb::Variable {
            id: format!("{source}/{name}"),
            data_source_id: source.to_string(),
            name: name.to_string(),
            identifiability: identifiability as i32,
            ..Default::default()
        }
    }

    // ---- assertion helpers -----------------------------------------------------------------

    fn only_application(plan: &pb::ApplicationPlan) -> &pb::PlannedApplication {
        assert_eq!(
            plan.applications.len(),
            1,
            "one application expected: {:#?}",
            plan.applications
        );
        &plan.applications[0]
    }

    fn application_for<'p>(
        plan: &'p pb::ApplicationPlan,
        source_id: &str,
    ) -> &'p pb::PlannedApplication {
        plan.applications
            .iter()
            .find(|a| a.data_source_ids.iter().any(|id| id == source_id))
            .unwrap_or_else(|| {
                panic!(
                    "no application covers {source_id}: {:#?}",
                    plan.applications
                )
            })
    }

    fn traces<'p>(
        plan: &'p pb::ApplicationPlan,
        rule: &str,
        source_id: &str,
    ) -> Vec<&'p pb::RuleTraceEntry> {
        plan.trace
            .iter()
            .filter(|t| t.rule == rule && t.data_source_id == source_id)
            .collect()
    }

    fn codes(app: &pb::PlannedApplication) -> Vec<&str> {
        app.prerequisites.iter().map(|p| p.code.as_str()).collect()
    }

    fn prerequisite<'p>(app: &'p pb::PlannedApplication, code: &str) -> &'p pb::Prerequisite {
        app.prerequisites
            .iter()
            .find(|p| p.code == code)
            .unwrap_or_else(|| panic!("no prerequisite {code}: {:?}", codes(app)))
    }

    fn statutory_days(app: &pb::PlannedApplication) -> Option<u32> {
        app.deadlines
            .iter()
            .find(|d| d.applies_to.starts_with("statutory"))
            .and_then(|d| d.days)
    }

    // ---- a. and b.: Helsedataservice and the custodian's conditional routes ------------------

    #[test]
    fn npr_new_research_project_is_decided_by_helsedataservice_through_the_common_form() {
        let plan = plan(
            &research_new(
                pb::DataLevel::DeidentifiedIndividual,
                vec![npr_like("npr", "")],
            ),
            &rules(),
        );
        let app = only_application(&plan);
        assert_eq!(app.channel, pb::ApplicationChannel::HelsedataForm as i32);
        assert_eq!(app.decided_by, "Helsedataservice");
        assert_eq!(app.processed_by, "Helsedataservice");
        assert_eq!(app.address, "https://helsedata.no");
        assert_eq!(
            app.deliveries,
            vec![pb::Delivery {
                data_source_id: "npr".into(),
                delivered_by: "Helsedirektoratet".into()
            }]
        );

        assert_eq!(statutory_days(app), Some(30));
        let statutory = &app.deadlines[0];
        assert!(
            statutory.working_days && statutory.text.contains("§ 19f"),
            "{statutory:?}"
        );
        let published: Vec<&str> = app.deadlines[1..]
            .iter()
            .map(|d| d.applies_to.as_str())
            .collect();
        assert_eq!(
            published,
            vec!["de-identified data"],
            "only the deadline for the requested level is kept"
        );
        assert!(
            app.notes.iter().any(|n| n.contains("5 to 8 months")),
            "{:?}",
            app.notes
        );

        let fee = app
            .invoices
            .iter()
            .find(|i| i.invoiced_by == "Helsedataservice")
            .expect("Helsedataservice fee");
        assert!(
            fee.price.is_none() && fee.reason.contains("2023-01-01"),
            "{fee:?}"
        );
        let hourly = app
            .invoices
            .iter()
            .find(|i| i.invoiced_by == "Helsedirektoratet")
            .expect("NPR price");
        assert_eq!(hourly.price, Some(npr_price()));
        assert_eq!(hourly.data_source_ids, vec!["npr"]);

        let national = traces(&plan, "national.helsedataservice-decides", "npr");
        assert_eq!(national.len(), 1);
        let text = &national[0].explanation;
        assert_eq!(national[0].origin, "national-rules");
        assert!(
            text.contains("processed by Helsedirektoratet") && text.contains("Since 2023-03-15"),
            "{text}"
        );
        assert_eq!(
            traces(&plan, "custodian.conditional-route", "npr")[0].origin,
            "custodian:helsedirektoratet"
        );
        assert_eq!(traces(&plan, "national.statutory-deadline", "").len(), 1);
        assert_eq!(plan.appeals.len(), 1);
        assert!(plan.appeals[0].final_instance.contains("Helseklage"));
        assert!(plan.custodians.is_empty());
    }

    #[test]
    fn npr_project_change_goes_to_helsedirektoratet_own_route() {
        let req = input(
            pb::Purpose::Research,
            pb::ProjectStage::Change,
            pb::DataLevel::DeidentifiedIndividual,
            vec![npr_like("npr", "")],
        );
        let plan = plan(&req, &rules());
        let app = only_application(&plan);
        assert_eq!(app.channel, pb::ApplicationChannel::RegisterWebsite as i32);
        assert_eq!(app.decided_by, "Helsedirektoratet");
        assert_eq!(app.processed_by, "");
        assert_eq!(app.address, "https://www.helsedirektoratet.no/npr");
        assert_eq!(statutory_days(app), None);
        assert!(
            app.invoices
                .iter()
                .all(|i| i.invoiced_by != "Helsedataservice"),
            "no common-form fee: {:?}",
            app.invoices
        );
        assert!(codes(app).contains(&"project-reference"));
        assert!(plan.appeals.is_empty());
        let national = traces(&plan, "national.helsedataservice-decides", "npr");
        assert!(
            national[0].explanation.contains("That route is kept"),
            "{}",
            national[0].explanation
        );
    }

    #[test]
    fn npr_dataset_for_quality_assurance_keeps_the_custodian_route() {
        let req = input(
            pb::Purpose::QualityAssurance,
            pb::ProjectStage::New,
            pb::DataLevel::AnonymousAggregated,
            vec![npr_like("npr-somatikk", "npr")],
        );
        let app = only_application(&plan(&req, &rules())).clone();
        assert_eq!(app.channel, pb::ApplicationChannel::RegisterWebsite as i32);
        assert_eq!(app.decided_by, "Helsedirektoratet");
        let published: Vec<&str> = app
            .deadlines
            .iter()
            .map(|d| d.applies_to.as_str())
            .collect();
        assert_eq!(published, vec!["statistics and anonymous data"]);
    }

    #[test]
    fn legacy_route_is_never_chosen_and_is_traced_as_ignored() {
        let mut iplos = source(
            "iplos",
            "helsedirektoratet",
            "Helsedirektoratet",
            route(
                pb::ApplicationChannel::HelsedataForm,
                "Helsedirektoratet",
                "",
            ),
        );
        iplos.rules.conditional_routes = vec![conditional(
            pb::RouteCondition::Legacy,
            route(pb::ApplicationChannel::AltinnForm, "Helsedirektoratet", ""),
        )];
        iplos.rules.delivered_by = "SSB".into();
        let plan = plan(
            &research_new(pb::DataLevel::AnonymousAggregated, vec![iplos]),
            &rules(),
        );
        let app = only_application(&plan);
        assert_eq!(app.channel, pb::ApplicationChannel::HelsedataForm as i32);
        assert_eq!(
            app.decided_by, "Helsedirektoratet",
            "IPLOS is not a Helsedataservice registry"
        );
        assert_eq!(app.deliveries[0].delivered_by, "SSB");
        assert_eq!(traces(&plan, "custodian.legacy-route", "iplos").len(), 1);
        assert_eq!(traces(&plan, "custodian.default-route", "iplos").len(), 1);
    }

    #[test]
    fn several_helsedataservice_sources_make_one_application_with_sixty_working_days() {
        let kpr = source(
            "kpr",
            "helsedirektoratet",
            "Helsedirektoratet",
            route(pb::ApplicationChannel::AltinnForm, "Helsedirektoratet", ""),
        );
        let req = research_new(
            pb::DataLevel::DeidentifiedIndividual,
            vec![npr_like("npr", ""), krg_brystkreft(), kpr],
        );
        let plan = plan(&req, &rules());
        let app = only_application(&plan);
        assert_eq!(app.data_source_ids, vec!["kpr", "krg-brystkreft", "npr"]);
        assert_eq!(app.decided_by, "Helsedataservice");
        assert_eq!(statutory_days(app), Some(60));
        let fee = app
            .invoices
            .iter()
            .find(|i| i.invoiced_by == "Helsedataservice")
            .expect("fee");
        assert_eq!(
            fee.data_source_ids, app.data_source_ids,
            "one fee covers every source"
        );
        let rek = prerequisite(app, "rek-approval");
        assert_eq!(rek.data_source_ids, app.data_source_ids);
    }

    // ---- c. to e.: common form, deciders, addresses -----------------------------------------

    #[test]
    fn altinn_route_of_a_common_form_custodian_moves_to_the_common_form() {
        let kuhr = source(
            "kuhr",
            "helsedirektoratet",
            "Helsedirektoratet",
            route(pb::ApplicationChannel::AltinnForm, "Helsedirektoratet", ""),
        );
        let plan = plan(
            &research_new(pb::DataLevel::DeidentifiedIndividual, vec![kuhr]),
            &rules(),
        );
        let app = only_application(&plan);
        assert_eq!(app.channel, pb::ApplicationChannel::HelsedataForm as i32);
        assert_eq!(app.decided_by, "Helsedirektoratet");
        assert_eq!(app.address, "https://helsedata.no");
        let trace = traces(&plan, "national.common-form", "kuhr");
        assert!(
            trace[0].explanation.contains("Altinn"),
            "{}",
            trace[0].explanation
        );
        assert!(plan.appeals.is_empty());
    }

    #[test]
    fn health_trust_register_with_email_route_is_sent_to_the_register_address() {
        let plan = plan(
            &research_new(pb::DataLevel::IdentifiableIndividual, vec![cprn_like()]),
            &rules(),
        );
        let app = only_application(&plan);
        assert_eq!(app.channel, pb::ApplicationChannel::EmailToRegister as i32);
        assert_eq!(app.address, "cprnregister@siv.no");
        assert_eq!(app.decided_by, "Sykehuset i Vestfold HF (SiV)");
        assert_eq!(
            traces(&plan, "custodian.decided-by", "cprn").len(),
            1,
            "no processing body named"
        );
        let invoice = &app.invoices[0];
        assert_eq!(invoice.invoiced_by, "Sykehuset i Vestfold HF (SiV)");
        assert!(
            invoice.reason.contains("price not published"),
            "{invoice:?}"
        );
        assert!(app.deadlines.is_empty());
    }

    #[test]
    fn email_route_without_address_asks_the_controller_and_warns() {
        let mut nir = cprn_like();
        nir.rules.contact_email.clear();
        let plan = plan(
            &research_new(pb::DataLevel::IdentifiableIndividual, vec![nir]),
            &rules(),
        );
        let app = only_application(&plan);
        assert_eq!(app.address, "ask Sykehuset i Vestfold HF (SiV)");
        assert!(
            app.notes
                .iter()
                .any(|n| n.contains("no address is published")),
            "{:?}",
            app.notes
        );
        assert!(
            plan.warnings
                .iter()
                .any(|w| w.contains("no address is published"))
        );
    }

    #[test]
    fn website_route_without_url_leaves_a_note() {
        let mut s = npr_like("npr", "");
        s.rules.conditional_routes[1].route = Some(route(
            pb::ApplicationChannel::RegisterWebsite,
            "Helsedirektoratet",
            "",
        ));
        let req = input(
            pb::Purpose::Research,
            pb::ProjectStage::NewDataPeriod,
            pb::DataLevel::DeidentifiedIndividual,
            vec![s],
        );
        let app = only_application(&plan(&req, &rules())).clone();
        assert_eq!(app.address, "ask Helsedirektoratet");
        assert!(
            app.notes
                .iter()
                .any(|n| n.contains("helseregistre@helsedir.no")),
            "{:?}",
            app.notes
        );
    }

    // ---- g. and h.: prerequisites and biomaterial -------------------------------------------

    #[test]
    fn fhi_survey_with_biomaterial_is_decided_by_fhi_with_its_prerequisites() {
        let mut req = research_new(pb::DataLevel::IdentifiableIndividual, vec![moba_like()]);
        req.biomaterial_wanted = true;
        let plan = plan(&req, &rules());
        let app = only_application(&plan);
        assert_eq!(app.channel, pb::ApplicationChannel::HelsedataForm as i32);
        assert_eq!(app.decided_by, "FHI");
        assert_eq!(app.address, "https://helsedata.no");
        assert_eq!(
            statutory_days(app),
            None,
            "FHI, not Helsedataservice, decides"
        );
        let c = codes(app);
        for code in [
            "rek-approval",
            "legal-basis",
            "variable-list",
            "dpia-and-security",
            "contact-custodian-first",
            "consent-scope",
        ] {
            assert!(c.contains(&code), "{code} missing from {c:?}");
        }
        assert!(!c.contains(&"table-shells"));
        assert_eq!(
            prerequisite(app, "consent-scope").data_source_ids,
            vec!["moba"]
        );
        assert!(
            prerequisite(app, "contact-custodian-first")
                .text
                .contains("Folkehelseinstituttet")
        );
        assert!(
            app.notes
                .iter()
                .any(|n| n.contains("biological material") && n.contains("same form")),
            "{:?}",
            app.notes
        );
        assert_eq!(traces(&plan, "custodian.biomaterial", "moba").len(), 1);
        assert!(
            app.invoices
                .iter()
                .any(|i| i.invoiced_by == "Helsedataservice"),
            "common-form fee"
        );
        assert!(plan.appeals.is_empty());
        assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    }

    #[test]
    fn biomaterial_without_a_published_route_notes_or_warns() {
        let mut ms = cprn_like();
        ms.source.id = "ms-register".into();
        ms.source.biomaterial = pb::BiomaterialAvailability::BiobankMentioned as i32;
        let mut req = research_new(
            pb::DataLevel::IdentifiableIndividual,
            vec![ms, npr_like("npr", "")],
        );
        req.biomaterial_wanted = true;
        let plan = plan(&req, &rules());
        let notes = &application_for(&plan, "ms-register").notes;
        assert!(
            notes
                .iter()
                .any(|n| n.contains("biobank") && n.contains("cprnregister@siv.no")),
            "{notes:?}"
        );
        assert!(
            plan.warnings
                .iter()
                .any(|w| w.starts_with("npr:") && w.contains("biological material")),
            "{:?}",
            plan.warnings
        );
    }

    #[test]
    fn custodian_requirements_and_purpose_provision_become_prerequisites_merged_across_sources() {
        let mut a = npr_like("npr-rsit", "npr");
        let mut b = npr_like("npr-somatikk", "npr");
        for s in [&mut a, &mut b] {
            s.rules.requirements = vec!["Only data needed for the project are released.".into()];
            s.source.legal_basis = Some(pb::LegalBasis {
                purpose_provision: "Norsk pasientregisterforskrift § 1-2".into(),
                ..Default::default()
            });
        }
        let plan = plan(
            &research_new(pb::DataLevel::DeidentifiedIndividual, vec![a, b]),
            &rules(),
        );
        let app = only_application(&plan);
        let both = vec!["npr-rsit", "npr-somatikk"];
        assert_eq!(
            prerequisite(app, "custodian-requirement").data_source_ids,
            both
        );
        assert_eq!(prerequisite(app, "purpose-match").data_source_ids, both);
        assert_eq!(
            app.prerequisites
                .iter()
                .filter(|p| p.code == "purpose-match")
                .count(),
            1
        );
        let price = app
            .invoices
            .iter()
            .find(|i| i.price.is_some())
            .expect("NPR price");
        assert_eq!(price.data_source_ids, both, "identical prices are merged");
        let published: Vec<&pb::Deadline> = app
            .deadlines
            .iter()
            .filter(|d| !d.applies_to.starts_with("statutory"))
            .collect();
        assert_eq!(published.len(), 1);
        assert!(
            published[0].text.contains("npr-rsit, npr-somatikk"),
            "{:?}",
            published[0]
        );
    }

    #[test]
    fn unpriced_custodian_fee_merges_with_the_helsedataservice_fee() {
        let mut hs = source(
            "hjertestans",
            "fhi",
            "Folkehelseinstituttet (FHI)",
            route(
                pb::ApplicationChannel::HelsedataForm,
                "Helsedataservice",
                "",
            ),
        );
        hs.source.parent_id = "hkr".into();
        hs.rules.prices = vec![
            pb::Price {
                invoiced_by: "Helsedataservice".into(),
                text: "application handling for helsedata.no applications".into(),
                ..Default::default()
            },
            pb::Price {
                invoiced_by: "Norsk hjertestansregister".into(),
                text: "preparing and releasing the data".into(),
                ..Default::default()
            },
        ];
        let req = research_new(
            pb::DataLevel::DeidentifiedIndividual,
            vec![hs, npr_like("npr", "")],
        );
        let plan = plan(&req, &rules());
        let app = only_application(&plan);
        let hds: Vec<&pb::Invoice> = app
            .invoices
            .iter()
            .filter(|i| i.invoiced_by == "Helsedataservice")
            .collect();
        assert_eq!(hds.len(), 1, "{:?}", app.invoices);
        assert_eq!(hds[0].data_source_ids, vec!["hjertestans", "npr"]);
        assert!(
            app.invoices
                .iter()
                .any(|i| i.invoiced_by == "Norsk hjertestansregister")
        );
        assert_eq!(
            app.invoices.len(),
            3,
            "fee, register preparation, NPR hourly price"
        );
    }

    // ---- i.: variables ---------------------------------------------------------------------

    #[test]
    fn direct_identifier_below_identifiable_level_warns_and_traces() {
        let mut req = research_new(
            pb::DataLevel::DeidentifiedIndividual,
            vec![npr_like("npr", "")],
        );
        req.variables = vec![
            variable(
                "npr",
                "national_id",
                pb::VariableIdentifiability::DirectIdentifier,
            ),
            variable(
                "npr",
                "main_diagnosis",
                pb::VariableIdentifiability::IndirectIdentifier,
            ),
        ];
        let plan = plan(&req, &rules());
        assert_eq!(plan.warnings.len(), 1, "{:?}", plan.warnings);
        assert!(
            plan.warnings[0].contains("npr/national_id")
                && plan.warnings[0].contains("DATA_LEVEL_IDENTIFIABLE_INDIVIDUAL")
        );
        let t = traces(&plan, "request.variable-identifiability", "npr");
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].origin, "request");
    }

    #[test]
    fn direct_identifier_at_identifiable_level_is_consistent() {
        let mut req = research_new(
            pb::DataLevel::IdentifiableIndividual,
            vec![npr_like("npr", "")],
        );
        req.variables = vec![variable(
            "npr",
            "national_id",
            pb::VariableIdentifiability::DirectIdentifier,
        )];
        assert!(plan(&req, &rules()).warnings.is_empty());
    }

    #[test]
    fn anonymous_level_with_variables_notes_aggregated_tables_and_table_shells() {
        let mut req = input(
            pb::Purpose::Statistics,
            pb::ProjectStage::New,
            pb::DataLevel::AnonymousAggregated,
            vec![cprn_like()],
        );
        req.variables = vec![variable(
            "cprn",
            "gmfcs_level",
            pb::VariableIdentifiability::None,
        )];
        let plan = plan(&req, &rules());
        let app = only_application(&plan);
        assert_eq!(codes(app), vec!["table-shells"]);
        assert!(
            app.notes.iter().any(|n| n.contains("aggregated tables")),
            "{:?}",
            app.notes
        );
        assert!(
            app.notes
                .iter()
                .any(|n| n.contains("helseregisterloven § 19")),
            "{:?}",
            app.notes
        );
        assert_eq!(traces(&plan, "national.anonymous-data", "").len(), 1);
    }

    // ---- l.: linkage -----------------------------------------------------------------------

    #[test]
    fn cancer_quality_register_and_ssb_dataset_make_two_applications_linked_by_ssb() {
        let mut req = research_new(
            pb::DataLevel::DeidentifiedIndividual,
            vec![krg_brystkreft(), ssb_inntekt()],
        );
        req.linkage_wanted = true;
        let plan = plan(&req, &rules());
        assert_eq!(plan.applications.len(), 2);
        let krg = &plan.applications[0];
        assert_eq!(krg.channel, pb::ApplicationChannel::HelsedataForm as i32);
        assert_eq!(krg.decided_by, "Helsedataservice");
        assert_eq!(krg.data_source_ids, vec!["krg-brystkreft"]);
        assert_eq!(krg.deliveries[0].delivered_by, "Kreftregisteret");
        let ssb = &plan.applications[1];
        assert_eq!(ssb.channel, pb::ApplicationChannel::Unknown as i32);
        assert_eq!(ssb.decided_by, "Statistisk sentralbyrå (SSB)");
        assert_eq!(ssb.address, "ask Statistisk sentralbyrå (SSB)");
        assert!(
            traces(&plan, "national.common-form", "ssb-inntekt").is_empty(),
            "SSB is not covered by the common form"
        );

        let linkage = plan.linkage.as_ref().expect("linkage plan");
        assert!(linkage.requested && linkage.possible);
        assert_eq!(linkage.linked_by, "SSB");
        assert!(linkage.blockers.is_empty());
        assert!(
            linkage.notes.iter().any(|n| n.starts_with("ssb-inntekt:")),
            "unknown policy: ask"
        );
        assert_eq!(traces(&plan, "custodian.linkage", "ssb-inntekt").len(), 2);
    }

    #[test]
    fn deidentified_register_blocks_linkage() {
        let mut req = research_new(
            pb::DataLevel::DeidentifiedIndividual,
            vec![nois_like(), npr_like("npr", "")],
        );
        req.linkage_wanted = true;
        let plan = plan(&req, &rules());
        let linkage = plan.linkage.as_ref().expect("linkage plan");
        assert!(linkage.requested);
        assert!(!linkage.possible);
        assert_eq!(linkage.blockers.len(), 1);
        assert_eq!(linkage.blockers[0].data_source_id, "nois");
        assert_eq!(
            linkage.blockers[0].policy,
            pb::LinkagePolicy::NotPossible as i32
        );
        assert!(
            linkage
                .notes
                .iter()
                .any(|n| n.contains("trusted third party")),
            "{:?}",
            linkage.notes
        );
        assert!(
            plan.warnings
                .iter()
                .any(|w| w.contains("Linkage as asked is not possible"))
        );
        assert_eq!(
            application_for(&plan, "nois").decided_by,
            "Folkehelseinstituttet (FHI)"
        );
    }

    #[test]
    fn own_pseudonym_model_restricts_linkage_and_names_the_linker() {
        let mut resept = source(
            "reseptregisteret",
            "fhi",
            "Folkehelseinstituttet (FHI)",
            route(pb::ApplicationChannel::HelsedataForm, "", ""),
        );
        resept.rules.linkage = linkage(pb::LinkagePolicy::OwnPseudonymModelOnly, "SSB");
        let mut iplos = source(
            "iplos",
            "helsedirektoratet",
            "Helsedirektoratet",
            route(
                pb::ApplicationChannel::HelsedataForm,
                "Helsedirektoratet",
                "",
            ),
        );
        iplos.rules.linkage = linkage(pb::LinkagePolicy::AnonymousOutputOnly, "");
        let mut req = research_new(pb::DataLevel::DeidentifiedIndividual, vec![resept, iplos]);
        req.linkage_wanted = true;
        let linkage = plan(&req, &rules()).linkage.expect("linkage plan");
        assert!(linkage.possible, "restrictions do not block");
        assert_eq!(linkage.linked_by, "SSB");
        let policies: Vec<i32> = linkage.blockers.iter().map(|b| b.policy).collect();
        assert_eq!(
            policies,
            vec![
                pb::LinkagePolicy::AnonymousOutputOnly as i32,
                pb::LinkagePolicy::OwnPseudonymModelOnly as i32
            ]
        );
        assert!(
            linkage
                .notes
                .iter()
                .any(|n| n.starts_with("iplos:") && n.contains("anonymous form")),
            "{:?}",
            linkage.notes
        );
    }

    #[test]
    fn single_source_linkage_is_with_the_applicants_own_data() {
        let mut req = research_new(pb::DataLevel::IdentifiableIndividual, vec![cprn_like()]);
        req.linkage_wanted = true;
        let linkage = plan(&req, &rules()).linkage.expect("linkage plan");
        assert!(linkage.possible);
        assert!(
            linkage.notes.iter().any(|n| n.contains("already holds")),
            "{:?}",
            linkage.notes
        );
    }

    #[test]
    fn linkage_not_requested_is_reported_as_such() {
        let linkage = plan(
            &research_new(pb::DataLevel::DeidentifiedIndividual, vec![nois_like()]),
            &rules(),
        )
        .linkage
        .expect("linkage plan");
        assert!(!linkage.requested);
        assert!(linkage.blockers.is_empty());
    }

    // ---- f. and n.: grouping, ordering, missing ids ----------------------------------------

    #[test]
    fn applications_are_ordered_by_channel_then_decider_then_address() {
        let req = research_new(
            pb::DataLevel::DeidentifiedIndividual,
            vec![
                ssb_inntekt(),
                cprn_like(),
                nois_like(),
                moba_like(),
                npr_like("npr", ""),
            ],
        );
        let plan = plan(&req, &rules());
        let keys: Vec<(i32, &str)> = plan
            .applications
            .iter()
            .map(|a| (a.channel, a.decided_by.as_str()))
            .collect();
        assert_eq!(
            keys,
            vec![
                (pb::ApplicationChannel::HelsedataForm as i32, "FHI"),
                (
                    pb::ApplicationChannel::HelsedataForm as i32,
                    "Folkehelseinstituttet (FHI)"
                ),
                (
                    pb::ApplicationChannel::HelsedataForm as i32,
                    "Helsedataservice"
                ),
                (
                    pb::ApplicationChannel::EmailToRegister as i32,
                    "Sykehuset i Vestfold HF (SiV)"
                ),
                (
                    pb::ApplicationChannel::Unknown as i32,
                    "Statistisk sentralbyrå (SSB)"
                ),
            ]
        );
        let again = super::plan(&req, &rules());
        assert_eq!(plan, again, "planning is deterministic");
    }

    #[test]
    fn unknown_and_unresolved_ids_are_copied_with_warnings() {
        let mut req = research_new(pb::DataLevel::DeidentifiedIndividual, vec![]);
        req.unknown_data_source_ids = vec!["zz".into(), "aa".into()];
        req.unknown_variable_ids = vec!["mfr/nope".into()];
        req.unresolved_data_source_ids = vec!["msis".into()];
        let plan = plan(&req, &rules());
        assert!(plan.applications.is_empty());
        assert_eq!(plan.unknown_data_source_ids, vec!["aa", "zz"]);
        assert_eq!(plan.unknown_variable_ids, vec!["mfr/nope"]);
        assert_eq!(plan.unresolved_data_source_ids, vec!["msis"]);
        assert_eq!(plan.warnings.len(), 4, "{:?}", plan.warnings);
        assert_eq!(traces(&plan, "request.unknown-data-source", "aa").len(), 1);
        assert_eq!(
            traces(&plan, "request.unresolved-data-source", "msis").len(),
            1
        );
    }

    #[test]
    fn deadlines_are_matched_to_the_requested_level() {
        assert_eq!(
            deadline_level("statistics and anonymous data"),
            Some(pb::DataLevel::AnonymousAggregated)
        );
        assert_eq!(
            deadline_level("de-identified data"),
            Some(pb::DataLevel::DeidentifiedIndividual)
        );
        assert_eq!(
            deadline_level("pseudonymous data"),
            Some(pb::DataLevel::DeidentifiedIndividual)
        );
        assert_eq!(
            deadline_level("personally identifiable data"),
            Some(pb::DataLevel::IdentifiableIndividual)
        );
        assert_eq!(deadline_level("all applications"), None);
    }

    #[test]
    fn source_deadlines_are_all_kept_when_none_fits_the_level() {
        let mut s = cprn_like();
        s.rules.deadlines = vec![deadline("all applications", 30), deadline("statistics", 10)];
        let app = only_application(&plan(
            &research_new(pb::DataLevel::IdentifiableIndividual, vec![s]),
            &rules(),
        ))
        .clone();
        assert_eq!(app.deadlines.len(), 2);
    }
}
