//! The effective route of a data source: the one place where the national rules are applied to
//! the route a custodian publishes.
//!
//! Given a source as its custodian publishes it ([`Published`]) and one of its routes, and the
//! national rules, [`effective_route`] works out the channel, the address, the body that decides
//! (and whether that is Helsedataservice), the bodies that prepare and deliver the data, and
//! the rule behind every part ([`RouteStep`]). The merged catalogue shows it for the default
//! route ([`catalogue_route`]); the planner asks for the route that fits the request. The
//! custodian's record is never changed: the effective route sits beside it.
//!
//! The rules, as named in traces:
//! - `national.helsedataservice-decides`: a source in a registry Helsedataservice decides for
//!   goes through the common helsedata.no form and is decided by Helsedataservice; the
//!   custodian's own route stays where it publishes one for changes, new data periods and
//!   purposes other than research, and such a request fits it;
//! - `national.common-form`: a source of a custodian the common form covers, whose custodian
//!   publishes no route or only an Altinn e-form, goes through the common form;
//! - `custodian.decided-by`: with no processing body published, the data controller decides;
//! - `custodian.delivered-by`: the published delivering body, else the processor, else the
//!   controller, prepares and delivers the data.

use helsedata::proto as pb;

use super::rules::NationalRules;

/// Trace origin of rules from the national rules file.
pub const ORIGIN_NATIONAL: &str = "national-rules";

/// A text in Norwegian bokmål and English.
pub type Text = pb::LocalizedText;

/// `nb` and `en` as one text.
pub fn both(nb: impl Into<String>, en: impl Into<String>) -> Text {
    Text {
        nb: nb.into(),
        en: en.into(),
    }
}

/// A language of the texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Norwegian bokmål, the `nb` half of a [`Text`].
    Nb,
    /// English, the `en` half of a [`Text`].
    En,
}

/// The format strings `nb` and `en`, formatted with the same arguments, as one [`Text`]. In
/// the form `both_fmt!(lang => nb, en, args…)` the arguments are worked out for each language
/// in turn, with `lang` set to [`Lang::Nb`] and then to [`Lang::En`], so that
/// `words.in_lang(lang)` gives each language its own text.
macro_rules! both_fmt {
    ($lang:ident => $nb:literal, $en:literal $(, $arg:expr)* $(,)?) => {
        $crate::planning::effective::both(
            {
                let $lang = $crate::planning::effective::Lang::Nb;
                format!($nb $(, $arg)*)
            },
            {
                let $lang = $crate::planning::effective::Lang::En;
                format!($en $(, $arg)*)
            },
        )
    };
    ($nb:literal, $en:literal $(, $arg:expr)* $(,)?) => {
        $crate::planning::effective::both(format!($nb $(, $arg)*), format!($en $(, $arg)*))
    };
}
pub(crate) use both_fmt;

/// A source as its custodian publishes it.
#[derive(Debug, Clone, Copy)]
pub struct Published<'a> {
    /// The data source record.
    pub source: &'a pb::DataSource,
    /// Its access rules.
    pub rules: &'a pb::AccessRules,
    /// The custodian that published it (authenticated by its certificate).
    pub custodian_id: &'a str,
}

/// A rule that set or changed part of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteRule {
    /// Helsedataservice decides for the source's registry (or, for a request that fits the
    /// custodian's own route for changes and non-research purposes, that route is kept).
    HelsedataserviceDecides,
    /// The common helsedata.no form covers the source's custodian.
    CommonForm,
    /// No processing body is published: the controller decides.
    DecidedBy,
    /// Who prepares and delivers the data.
    DeliveredBy,
}

impl RouteRule {
    /// The stable id used in traces, for example `national.common-form`.
    pub fn id(self) -> &'static str {
        match self {
            Self::HelsedataserviceDecides => "national.helsedataservice-decides",
            Self::CommonForm => "national.common-form",
            Self::DecidedBy => "custodian.decided-by",
            Self::DeliveredBy => "custodian.delivered-by",
        }
    }

    /// Whether the rule comes from the national rules file (else from the custodian's data).
    pub fn is_national(self) -> bool {
        matches!(self, Self::HelsedataserviceDecides | Self::CommonForm)
    }
}

/// One rule applied to a route, with the parts it set or changed.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteStep {
    /// Which national or custodian rule this step applied.
    pub rule: RouteRule,
    /// The parts this rule changed from what the custodian publishes, or filled in where it
    /// publishes nothing; empty when the rule confirms the published route.
    pub parts: Vec<pb::RoutePart>,
    /// What was decided and why, in words.
    pub explanation: Text,
}

/// The route that applies under the national rules.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectiveRoute {
    /// Where to file the application.
    pub channel: pb::ApplicationChannel,
    /// Where to send it: the form's or register's address, or "ask <controller>".
    pub address: String,
    /// Whether the channel needs an address the custodian does not publish (an e-mail to the
    /// register or the register's website); `address` then says whom to ask.
    pub address_missing: bool,
    /// `address` in both languages.
    pub address_words: Text,
    /// The body that decides.
    pub decided_by: String,
    /// Whether Helsedataservice decides: the national rule for its registries applies, or the
    /// custodian's own route names it as the processing body.
    pub by_helsedataservice: bool,
    /// Helsedataservice where the national rule moves the processing of the application to
    /// it; empty when the deciding body named by the custodian processes it.
    pub processed_by: String,
    /// The body that prepares the data.
    pub prepared_by: String,
    /// The body that delivers the data.
    pub delivered_by: String,
    /// The rules applied, in order.
    pub steps: Vec<RouteStep>,
}

impl EffectiveRoute {
    /// The route in the contract's terms; `custodian_id` names the origin of custodian rules.
    pub fn to_proto(&self, custodian_id: &str, rules: &NationalRules) -> pb::EffectiveRoute {
        pb::EffectiveRoute {
            channel: self.channel as i32,
            address: self.address.clone(),
            localized_address: Some(self.address_words.clone()),
            decided_by: self.decided_by.clone(),
            by_helsedataservice: self.by_helsedataservice,
            prepared_by: self.prepared_by.clone(),
            delivered_by: self.delivered_by.clone(),
            rules: self
                .steps
                .iter()
                .map(|s| pb::RuleApplied {
                    rule: s.rule.id().to_string(),
                    origin: step_origin(s.rule, custodian_id),
                    parts: s.parts.iter().map(|p| *p as i32).collect(),
                    explanation: s.explanation.en.clone(),
                    localized_explanation: Some(s.explanation.clone()),
                })
                .collect(),
            rules_revision: rules.revision().to_string(),
        }
    }
}

/// The trace origin of a rule: `national-rules` or `custodian:<id>`.
pub fn step_origin(rule: RouteRule, custodian_id: &str) -> String {
    if rule.is_national() {
        ORIGIN_NATIONAL.to_string()
    } else {
        format!("custodian:{custodian_id}")
    }
}

/// The effective route of the custodian's default route, as the merged catalogue shows it (a
/// source without a published route has channel unknown). PlanApplication may pick a
/// conditional route instead, where one fits the request.
pub fn catalogue_route(published: Published<'_>, rules: &NationalRules) -> EffectiveRoute {
    let route = default_route(published.rules);
    effective_route(published, &route, None, rules)
}

/// The custodian's default route, or a route with channel unknown when it publishes none.
pub fn default_route(rules: &pb::AccessRules) -> pb::ApplicationRoute {
    rules.route.clone().unwrap_or_else(|| pb::ApplicationRoute {
        channel: pb::ApplicationChannel::Unknown as i32,
        ..Default::default()
    })
}

/// Applies the national rules to `route`, one of the routes `published` lists; `condition` is
/// the condition under which the custodian publishes it (`None` for the default route).
pub fn effective_route(
    published: Published<'_>,
    route: &pb::ApplicationRoute,
    condition: Option<pb::RouteCondition>,
    rules: &NationalRules,
) -> EffectiveRoute {
    let source = published.source;
    let registry = rules
        .helsedataservice_registry(&source.id, &source.parent_id)
        .map(|registry| RegistryRoute {
            published,
            registry,
            route,
            rules,
        });
    let mut steps = Vec::new();
    let Decision {
        channel,
        decided_by,
        processed_by,
        by_helsedataservice,
    } = match registry {
        Some(decided) if condition == Some(pb::RouteCondition::ChangeNewPeriodOrNonResearch) => {
            steps.push(decided.own_route_kept());
            custodian_decision(published, route, false, rules, &mut steps)
        }
        Some(decided) => {
            steps.push(decided.helsedataservice_decides());
            let hds = rules.helsedataservice.name.clone();
            Decision {
                channel: pb::ApplicationChannel::HelsedataForm,
                decided_by: hds.clone(),
                processed_by: hds,
                by_helsedataservice: true,
            }
        }
        None => custodian_decision(published, route, true, rules, &mut steps),
    };
    let (delivered_by, delivery_step) = delivery(published);
    steps.push(delivery_step);
    let (address_words, address_missing) = address(published, channel, route, rules);
    let address = address_words.en.clone();
    EffectiveRoute {
        channel,
        address,
        address_missing,
        address_words,
        decided_by,
        by_helsedataservice,
        processed_by,
        prepared_by: delivered_by.clone(),
        delivered_by,
        steps,
    }
}

/// A route `published` lists for a source of `registry`, one of the registries
/// Helsedataservice decides access to.
#[derive(Clone, Copy)]
struct RegistryRoute<'a> {
    published: Published<'a>,
    registry: &'a str,
    route: &'a pb::ApplicationRoute,
    rules: &'a NationalRules,
}

impl RegistryRoute<'_> {
    /// Rule b: Helsedataservice decides, through the common form.
    fn helsedataservice_decides(self) -> RouteStep {
        let hds = &self.rules.helsedataservice;
        let explanation = both_fmt!(lang =>
            "Forvalteren publiserer: {}. Siden {} beslutter {} ({}) tilgang til {} etter {}. {} {} Søknaden går gjennom det felles søknadsskjemaet på helsedata.no og besluttes av {}.",
            "The custodian publishes: {}. Since {}, {} ({}) decides access to {} under {}. {} {} The application goes through the common helsedata.no form and is decided by {}.",
            describe_route_in(lang, self.route),
            hds.decides_since.get_ref(),
            hds.name,
            operated_by_words(lang, self.rules),
            self.registry,
            hds.legal_basis.in_lang(lang),
            hds.summary.in_lang(lang),
            hds.delivery.in_lang(lang),
            hds.name,
        );
        let mut parts = Vec::new();
        if channel_of(self.route) != pb::ApplicationChannel::HelsedataForm {
            parts.push(pb::RoutePart::Channel);
        }
        if route_decider(self.published, self.route) != hds.name {
            parts.push(pb::RoutePart::DecidedBy);
        }
        RouteStep {
            rule: RouteRule::HelsedataserviceDecides,
            parts,
            explanation,
        }
    }

    /// Rule b, exception: the custodian's own route for changes and non-research purposes stays.
    fn own_route_kept(self) -> RouteStep {
        let hds = &self.rules.helsedataservice;
        let condition = pb::RouteCondition::ChangeNewPeriodOrNonResearch;
        let text = both_fmt!(lang =>
            "Siden {} beslutter {} tilgang til {} for søknader gjennom det felles skjemaet, men forvalteren publiserer en egen vei for {}: {}. Den veien beholdes, og {} beslutter. {}",
            "Since {}, {} decides access to {} for applications through the common form, but the custodian publishes its own route for {}: {}. That route is kept, and {} decides. {}",
            hds.decides_since.get_ref(),
            hds.name,
            self.registry,
            condition_words_in(lang, condition),
            describe_route_in(lang, self.route),
            route_decider(self.published, self.route),
            hds.exceptions.in_lang(lang),
        );
        RouteStep {
            rule: RouteRule::HelsedataserviceDecides,
            parts: Vec::new(),
            explanation: both(text.nb.trim_end(), text.en.trim_end()),
        }
    }
}

/// Rules c and d: the custodian's own route, moved to the common form where it covers the
/// custodian and the custodian publishes no usable channel of its own. Returns the channel,
/// the deciding body and the processing body (always empty here).
/// Who decides an application and through which channel, as a rule established it.
struct Decision {
    channel: pb::ApplicationChannel,
    decided_by: String,
    /// The body that processes the application for the controller, where a national rule
    /// names one (Helsedataservice for its registries); empty otherwise.
    processed_by: String,
    by_helsedataservice: bool,
}

fn custodian_decision(
    published: Published<'_>,
    route: &pb::ApplicationRoute,
    common_form_allowed: bool,
    rules: &NationalRules,
    steps: &mut Vec<RouteStep>,
) -> Decision {
    let mut channel = channel_of(route);
    let movable = matches!(
        channel,
        pb::ApplicationChannel::Unknown | pb::ApplicationChannel::AltinnForm
    );
    if common_form_allowed && movable && rules.common_form_covers(published.custodian_id) {
        steps.push(RouteStep {
            rule: RouteRule::CommonForm,
            parts: vec![pb::RoutePart::Channel],
            explanation: both(
                format!(
                    "Forvalteren publiserer {}. {} Søknaden planlegges derfor gjennom det felles søknadsskjemaet på helsedata.no.",
                    channel_words_nb(channel),
                    rules.common_form.summary.nb()
                ),
                format!(
                    "The custodian publishes {}. {} The application is therefore planned through the common helsedata.no form.",
                    channel_words(channel),
                    rules.common_form.summary.en()
                ),
            ),
        });
        channel = pb::ApplicationChannel::HelsedataForm;
    }
    let decided_by = route_decider(published, route);
    if route.processed_by.trim().is_empty() {
        steps.push(RouteStep {
            rule: RouteRule::DecidedBy,
            parts: vec![pb::RoutePart::DecidedBy],
            explanation: both_fmt!(
                "Forvalteren oppgir ikke hvem som behandler søknader om denne kilden; den dataansvarlige, {decided_by}, regnes som den som beslutter.",
                "The custodian names no body that processes applications for this source; the data controller, {decided_by}, is taken to decide.",
            ),
        });
    }
    Decision {
        channel,
        by_helsedataservice: rules.names_helsedataservice(&decided_by),
        decided_by,
        processed_by: String::new(),
    }
}

/// Rule d: who prepares and delivers the data.
fn delivery(published: Published<'_>) -> (String, RouteStep) {
    let stated = published.rules.delivered_by.trim();
    let processor = org_name(&published.source.processor);
    let filled = vec![pb::RoutePart::PreparedBy, pb::RoutePart::DeliveredBy];
    let (body, parts, explanation) = if !stated.is_empty() {
        (
            stated.to_string(),
            Vec::new(),
            both_fmt!(
                "Forvalteren oppgir at {stated} tilrettelegger og utleverer dataene.",
                "The custodian states that {stated} prepares and delivers the data.",
            ),
        )
    } else if !processor.is_empty() {
        (
            processor.to_string(),
            filled,
            both_fmt!(
                "Forvalteren oppgir ikke hvem som utleverer; registerets databehandler, {processor}, regnes som den som utleverer.",
                "The custodian names no delivering body; the register's processor, {processor}, is taken to deliver.",
            ),
        )
    } else {
        let controller = controller_name(published);
        let text = both_fmt!(
            "Forvalteren oppgir verken hvem som utleverer eller noen databehandler; den dataansvarlige, {controller}, regnes som den som utleverer.",
            "The custodian names no delivering body and no processor; the data controller, {controller}, is taken to deliver.",
        );
        (controller, filled, text)
    };
    let step = RouteStep {
        rule: RouteRule::DeliveredBy,
        parts,
        explanation,
    };
    (body, step)
}

/// Rule e: where the application is sent (the address, the same in both languages, or whom to
/// ask), and whether the channel's address is missing.
fn address(
    published: Published<'_>,
    channel: pb::ApplicationChannel,
    route: &pb::ApplicationRoute,
    rules: &NationalRules,
) -> (Text, bool) {
    let email = published.rules.contact_email.trim();
    let url = route.url.trim();
    let first = |candidates: &[&str]| {
        candidates
            .iter()
            .find(|c| !c.is_empty())
            .map(|c| c.to_string())
    };
    let found = match channel {
        pb::ApplicationChannel::HelsedataForm => {
            let address = &rules.common_form.address;
            return (both(address, address), false);
        }
        pb::ApplicationChannel::EmailToRegister => first(&[email]),
        pb::ApplicationChannel::RegisterWebsite => first(&[url]),
        pb::ApplicationChannel::AltinnForm => first(&[url, email]),
        pb::ApplicationChannel::Unknown | pb::ApplicationChannel::Unspecified => {
            first(&[email, url])
        }
    };
    let needs_own_address = matches!(
        channel,
        pb::ApplicationChannel::EmailToRegister | pb::ApplicationChannel::RegisterWebsite
    );
    match found {
        Some(address) => (both(&address, &address), false),
        None => {
            let controller = controller_name(published);
            (
                both_fmt!("spør {controller}", "ask {controller}",),
                needs_own_address,
            )
        }
    }
}

// ---- shared wording and names --------------------------------------------------------------

/// An organisation's trimmed name, or "" when none is given.
pub fn org_name(org: &Option<pb::Organisation>) -> &str {
    org.as_ref().map_or("", |o| o.name.trim())
}

/// The data controller's name; the processor's or the custodian id when none is given.
pub fn controller_name(published: Published<'_>) -> String {
    [
        org_name(&published.source.controller),
        org_name(&published.source.processor),
        published.custodian_id,
    ]
    .into_iter()
    .find(|n| !n.is_empty())
    .unwrap_or_default()
    .to_string()
}

/// The body that decides on a custodian's route: its processing body, else the controller.
pub fn route_decider(published: Published<'_>, route: &pb::ApplicationRoute) -> String {
    let processed_by = route.processed_by.trim();
    if processed_by.is_empty() {
        controller_name(published)
    } else {
        processed_by.to_string()
    }
}

/// A route's channel; unspecified and unknown values count as unknown.
pub fn channel_of(route: &pb::ApplicationRoute) -> pb::ApplicationChannel {
    match pb::ApplicationChannel::try_from(route.channel) {
        Ok(pb::ApplicationChannel::Unspecified) | Err(_) => pb::ApplicationChannel::Unknown,
        Ok(c) => c,
    }
}

/// `text` in parentheses with a leading space, or nothing when it is empty.
pub fn parenthesised(text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        format!(" ({text})")
    }
}

/// Who runs Helsedataservice, in `lang`.
pub fn operated_by_words(lang: Lang, rules: &NationalRules) -> String {
    let hds = &rules.helsedataservice;
    let (run_by, earlier_by) = match lang {
        Lang::Nb => ("drevet av", "tidligere av"),
        Lang::En => ("run by", "earlier by"),
    };
    if hds.formerly_operated_by.is_empty() {
        format!("{run_by} {}", hds.operated_by)
    } else {
        format!(
            "{run_by} {}, {earlier_by} {}",
            hds.operated_by, hds.formerly_operated_by
        )
    }
}

/// A route condition in `lang`: [`condition_words_nb`] or [`condition_words`].
pub fn condition_words_in(lang: Lang, condition: pb::RouteCondition) -> &'static str {
    match lang {
        Lang::Nb => condition_words_nb(condition),
        Lang::En => condition_words(condition),
    }
}

/// A route in `lang`: [`describe_route_nb`] or [`describe_route`].
pub fn describe_route_in(lang: Lang, route: &pb::ApplicationRoute) -> String {
    match lang {
        Lang::Nb => describe_route_nb(route),
        Lang::En => describe_route(route),
    }
}

/// A route in bokmål: channel, processing body and address.
pub fn describe_route_nb(route: &pb::ApplicationRoute) -> String {
    describe_route_with(route, channel_words_nb, "behandlet av")
}

/// A channel in bokmål.
pub fn channel_words_nb(channel: pb::ApplicationChannel) -> &'static str {
    match channel {
        pb::ApplicationChannel::HelsedataForm => "det felles søknadsskjemaet på helsedata.no",
        pb::ApplicationChannel::AltinnForm => "sitt eget e-skjema bak innlogging i Altinn",
        pb::ApplicationChannel::EmailToRegister => "søknad sendt til registeret på e-post",
        pb::ApplicationChannel::RegisterWebsite => {
            "skjema eller veiledning på registerets eget nettsted"
        }
        pb::ApplicationChannel::Unknown | pb::ApplicationChannel::Unspecified => "ingen søknadsvei",
    }
}

/// A route condition in bokmål.
pub fn condition_words_nb(condition: pb::RouteCondition) -> &'static str {
    match condition {
        pb::RouteCondition::NewResearchProject => "nye forskningsprosjekter",
        pb::RouteCondition::ChangeNewPeriodOrNonResearch => {
            "endringer i godkjente prosjekter, nye dataperioder og andre formål enn forskning"
        }
        pb::RouteCondition::Legacy => "en eldre side",
        pb::RouteCondition::Unspecified => "et vilkår som ikke er oppgitt",
    }
}

/// A route in words: channel, processing body and address.
pub fn describe_route(route: &pb::ApplicationRoute) -> String {
    describe_route_with(route, channel_words, "processed by")
}

/// A route in one language: the channel in `channel_words`, `processed_by` and the body,
/// and the address in parentheses.
fn describe_route_with(
    route: &pb::ApplicationRoute,
    channel_words: fn(pb::ApplicationChannel) -> &'static str,
    processed_by: &str,
) -> String {
    let by = route.processed_by.trim();
    let processed = if by.is_empty() {
        String::new()
    } else {
        format!(", {processed_by} {by}")
    };
    format!(
        "{}{}{}",
        channel_words(channel_of(route)),
        processed,
        parenthesised(route.url.trim())
    )
}

/// A channel in words.
pub fn channel_words(channel: pb::ApplicationChannel) -> &'static str {
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

/// A route condition in words.
pub fn condition_words(condition: pb::RouteCondition) -> &'static str {
    match condition {
        pb::RouteCondition::NewResearchProject => "new research projects",
        pb::RouteCondition::ChangeNewPeriodOrNonResearch => {
            "changes to approved projects, new data periods and purposes other than research"
        }
        pb::RouteCondition::Legacy => "an older page",
        pb::RouteCondition::Unspecified => "an unstated condition",
    }
}

#[cfg(test)]
mod tests;
