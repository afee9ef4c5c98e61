//! Rules a to e and h: the route of one source.

use helsedata::proto as pb;

use super::words::*;
use super::*;

impl<'a> Planner<'a> {
    /// Applies rules a to e and h to one source.
    pub(super) fn route_source(&mut self, rs: &'a ResolvedSource) -> Routed<'a> {
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
    pub(super) fn choose_route(&mut self, rs: &ResolvedSource) -> Chosen {
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
    pub(super) fn default_route(&mut self, rs: &ResolvedSource) -> Chosen {
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
    pub(super) fn helsedataservice_route(
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
            by_helsedataservice: true,
        }
    }

    /// Rule b, exception: the custodian's own route for changes and non-research purposes stays.
    pub(super) fn trace_own_route_kept(
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
    pub(super) fn custodian_route(
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
        let by_helsedataservice = decided_by == self.rules.helsedataservice.name;
        Routed {
            rs,
            channel,
            decided_by,
            processed_by: String::new(),
            address: String::new(),
            delivered_by: String::new(),
            notes: Vec::new(),
            by_helsedataservice,
        }
    }

    /// Rule d: who prepares and delivers the data.
    pub(super) fn delivered_by(&mut self, rs: &ResolvedSource) -> String {
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
    pub(super) fn set_address(&mut self, routed: &mut Routed<'a>, route: &pb::ApplicationRoute) {
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
    pub(super) fn biomaterial(&mut self, routed: &mut Routed<'a>) {
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
}

/// Whether a conditional route's condition fits the request (rule a). Legacy routes never fit.
pub(super) fn condition_fits(
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
