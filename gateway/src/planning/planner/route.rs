//! Rules a to e and h: the route of one source.

use helsedata::proto as pb;

use super::words::*;
use super::*;
use crate::planning::effective::{default_route, effective_route, step_origin};

impl<'a> Planner<'a> {
    /// Applies rules a to e and h to one source: rule a here, rules b to e through the
    /// effective route ([`effective_route`]), rule h here.
    pub(super) fn route_source(&mut self, rs: &'a ResolvedSource) -> Routed<'a> {
        let chosen = self.choose_route(rs);
        let effective =
            effective_route(rs.published(), &chosen.route, chosen.condition, self.rules);
        for step in &effective.steps {
            let origin = step_origin(step.rule, &rs.custodian_id);
            self.trace(
                step.rule.id(),
                &rs.source.id,
                origin,
                step.explanation.clone(),
            );
        }
        let mut routed = Routed {
            rs,
            channel: effective.channel,
            decided_by: effective.decided_by,
            processed_by: effective.processed_by,
            address: effective.address,
            address_words: effective.address_words,
            delivered_by: effective.delivered_by,
            notes: Vec::new(),
            by_helsedataservice: effective.by_helsedataservice,
        };
        if effective.address_missing {
            self.address_missing(&mut routed);
        }
        if !chosen.route.note.trim().is_empty() {
            let note = as_published(&chosen.route.note, chosen.route.localized_note.as_ref());
            routed
                .notes
                .push(prefixed(&format!("{}: ", rs.source.id), &note));
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
                let text = both(
                    format!(
                        "Forvalteren beskriver også en eldre søknadsvei ({}); den er tatt med bare som opplysning og brukes ikke.",
                        describe_route_nb(&route)
                    ),
                    format!(
                        "The custodian also describes an older route ({}); it is kept for reference only and is not used.",
                        describe_route(&route)
                    ),
                );
                self.trace("custodian.legacy-route", id, origin.as_str(), text);
            } else if chosen.is_none()
                && condition_fits(condition, self.input.purpose, self.input.stage)
            {
                let (p, s) = (self.input.purpose, self.input.stage);
                let text = both(
                    format!(
                        "Forvalteren publiserer en egen søknadsvei for {}, som passer med denne søknaden ({}, {}): {}.",
                        condition_words_nb(condition),
                        purpose_words_nb(p),
                        stage_words_nb(s),
                        describe_route_nb(&route)
                    ),
                    format!(
                        "The custodian publishes a separate route for {}, which fits this request ({}, {}): {}.",
                        condition_words(condition),
                        purpose_words(p),
                        stage_words(s),
                        describe_route(&route)
                    ),
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
        let route = default_route(&rs.rules);
        let (nb, en) = (describe_route_nb(&route), describe_route(&route));
        let text = match (&rs.rules.route, rs.rules.conditional_routes.is_empty()) {
            (None, _) => both(
                "Forvalteren publiserer ingen søknadsvei for denne kilden; den regnes som ukjent.",
                "The custodian publishes no route for this source; it is treated as unknown.",
            ),
            (Some(_), true) => both_fmt!(
                "Forvalterens søknadsvei: {nb}.",
                "The custodian's route: {en}.",
            ),
            (Some(_), false) => both_fmt!(
                "Ingen av forvalterens betingede søknadsveier passer med denne søknaden; standardveien gjelder: {nb}.",
                "None of the custodian's conditional routes fits this request; its default route applies: {en}.",
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

    /// Rule e, where the channel's address is not published: say whom to ask.
    pub(super) fn address_missing(&mut self, routed: &mut Routed<'a>) {
        let rs = routed.rs;
        let email = parenthesised(rs.rules.contact_email.trim());
        let (id, controller) = (&rs.source.id, controller_name(rs));
        match routed.channel {
            pb::ApplicationChannel::EmailToRegister => {
                let note = both_fmt!(
                    "{id}: søknader sendes til registeret på e-post, men ingen adresse er publisert; spør {controller} om den.",
                    "{id}: applications go to the register by e-mail, but no address is published; ask {controller} for it.",
                );
                self.warnings.push(note.clone());
                routed.notes.push(note);
            }
            pb::ApplicationChannel::RegisterWebsite => routed.notes.push(both_fmt!(
                "{id}: skjemaet eller veiledningen ligger på registerets eget nettsted, men ingen adresse er publisert; spør {controller}{email}.",
                "{id}: the form or instructions are on the register's own website, but no address is published; ask {controller}{email}.",
            )),
            _ => {}
        }
    }

    /// Rule h: biological material.
    pub(super) fn biomaterial(&mut self, routed: &mut Routed<'a>) {
        let rs = routed.rs;
        let (id, name) = (rs.source.id.as_str(), source_name(rs));
        let note = as_published(
            &rs.source.biomaterial_note,
            rs.source.localized_biomaterial_note.as_ref(),
        );
        let (detail_nb, detail) = (sentence(quoted_nb(&note)), sentence(&note.en));
        let availability =
            pb::BiomaterialAvailability::try_from(rs.source.biomaterial).unwrap_or_default();
        // The custodian's note on the material is quoted as published (in bokmål where it
        // gives one).
        let text = match availability {
            pb::BiomaterialAvailability::ApplyWithData => {
                let note = both_fmt!(
                    "{id}: søk om biologisk materiale fra {name} i samme skjema som dataene.{detail_nb}",
                    "{id}: apply for biological material from {name} in the same form as the data.{detail}",
                );
                routed.notes.push(note.clone());
                note
            }
            pb::BiomaterialAvailability::BiobankMentioned => {
                let contact = contact_words(rs);
                let note = both_fmt!(
                    "{id}: {name} nevner en biobank, men publiserer ingen søknadsvei til den; spør {contact} hvordan du søker om materialet.{detail_nb}",
                    "{id}: {name} mentions a biobank but publishes no route to it; ask {contact} how to apply for the material.{detail}",
                );
                routed.notes.push(note.clone());
                note
            }
            pb::BiomaterialAvailability::None | pb::BiomaterialAvailability::Unspecified => {
                let warning = both_fmt!(
                    "{id}: biologisk materiale ble etterspurt, men {name} publiserer ikke noe.",
                    "{id}: biological material was asked for, but {name} publishes none.",
                );
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
