//! Every path through the effective route, against the shipped national rules file.

use super::*;

const RULES_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/config/national-rules.toml");

fn rules() -> NationalRules {
    match NationalRules::load(RULES_PATH) {
        Ok(r) => r,
        Err(e) => panic!("the shipped rules file must load: {e}"),
    }
}

fn org(name: &str) -> Option<pb::Organisation> {
    Some(pb::Organisation {
        name: name.to_string(),
        ..Default::default()
    })
}

fn route(channel: pb::ApplicationChannel, processed_by: &str, url: &str) -> pb::ApplicationRoute {
    pb::ApplicationRoute {
        channel: channel as i32,
        processed_by: processed_by.to_string(),
        url: url.to_string(),
        ..Default::default()
    }
}

/// A source record with the default route `r`, controlled by `controller`.
fn record(
    id: &str,
    controller: &str,
    r: Option<pb::ApplicationRoute>,
) -> (pb::DataSource, pb::AccessRules) {
    let source = pb::DataSource {
        id: id.to_string(),
        controller: org(controller),
        ..Default::default()
    };
    let rules = pb::AccessRules {
        data_source_id: id.to_string(),
        route: r,
        ..Default::default()
    };
    (source, rules)
}

fn published<'a>(
    custodian: &'a str,
    (source, rules): &'a (pb::DataSource, pb::AccessRules),
) -> Published<'a> {
    Published {
        source,
        rules,
        custodian_id: custodian,
    }
}

fn rule_ids(route: &EffectiveRoute) -> Vec<&'static str> {
    route.steps.iter().map(|s| s.rule.id()).collect()
}

fn parts_of(route: &EffectiveRoute, rule: RouteRule) -> Vec<pb::RoutePart> {
    route
        .steps
        .iter()
        .find(|s| s.rule == rule)
        .map(|s| s.parts.clone())
        .unwrap_or_default()
}

#[test]
fn kpr_on_altinn_by_helsedirektoratet_is_decided_by_helsedataservice_on_the_common_form() {
    let rules = rules();
    let kpr = record(
        "kpr",
        "Helsedirektoratet",
        Some(route(
            pb::ApplicationChannel::AltinnForm,
            "Helsedirektoratet",
            "",
        )),
    );
    let effective = catalogue_route(published("helsedirektoratet", &kpr), &rules);
    assert_eq!(effective.channel, pb::ApplicationChannel::HelsedataForm);
    assert_eq!(effective.address, "https://helsedata.no");
    assert_eq!(effective.decided_by, "Helsedataservice");
    assert_eq!(effective.processed_by, "Helsedataservice");
    assert!(effective.by_helsedataservice);
    assert_eq!(
        rule_ids(&effective),
        [
            "national.helsedataservice-decides",
            "custodian.delivered-by"
        ]
    );
    assert_eq!(
        parts_of(&effective, RouteRule::HelsedataserviceDecides),
        [pb::RoutePart::Channel, pb::RoutePart::DecidedBy],
        "both the channel and the deciding body change"
    );
    let text = &effective.steps[0].explanation.en;
    assert!(
        text.contains("Kommunalt pasient- og brukerregister (KPR)")
            && text
                .contains("its own e-form behind an Altinn login, processed by Helsedirektoratet")
            && text.contains("2023-03-15"),
        "the trace names the registry, the published route and the date: {text}"
    );
    // The custodian names no delivering body and no processor: its controller delivers.
    assert_eq!(effective.delivered_by, "Helsedirektoratet");
    assert_eq!(effective.prepared_by, "Helsedirektoratet");
    assert_eq!(
        parts_of(&effective, RouteRule::DeliveredBy),
        [pb::RoutePart::PreparedBy, pb::RoutePart::DeliveredBy]
    );
}

#[test]
fn a_registry_already_on_the_common_form_changes_only_its_deciding_body() {
    let rules = rules();
    let npr = record(
        "npr",
        "Helsedirektoratet",
        Some(route(
            pb::ApplicationChannel::HelsedataForm,
            "Helsedirektoratet",
            "",
        )),
    );
    let effective = catalogue_route(published("helsedirektoratet", &npr), &rules);
    assert_eq!(
        parts_of(&effective, RouteRule::HelsedataserviceDecides),
        [pb::RoutePart::DecidedBy]
    );
}

#[test]
fn children_belong_to_a_registry_only_where_it_includes_them() {
    let rules = rules();
    let mut npr_child = record("npr-somatikk", "Helsedirektoratet", None);
    npr_child.0.parent_id = "npr".into();
    let effective = catalogue_route(published("helsedirektoratet", &npr_child), &rules);
    assert!(effective.by_helsedataservice, "NPR includes its children");

    // HKR lists its children one by one: a child not listed keeps its own route.
    let mut abla = record(
        "abla-nor",
        "Helse Bergen HF",
        Some(route(pb::ApplicationChannel::EmailToRegister, "", "")),
    );
    abla.0.parent_id = "hkr".into();
    let effective = catalogue_route(published("helse-bergen", &abla), &rules);
    assert!(!effective.by_helsedataservice);
    assert_eq!(effective.channel, pb::ApplicationChannel::EmailToRegister);
}

#[test]
fn the_own_route_for_changes_stays_and_the_custodian_decides() {
    let rules = rules();
    let npr = record("npr", "Helsedirektoratet", None);
    let website = route(
        pb::ApplicationChannel::RegisterWebsite,
        "Helsedirektoratet",
        "https://www.helsedirektoratet.no/npr",
    );
    let effective = effective_route(
        published("helsedirektoratet", &npr),
        &website,
        Some(pb::RouteCondition::ChangeNewPeriodOrNonResearch),
        &rules,
    );
    assert_eq!(effective.channel, pb::ApplicationChannel::RegisterWebsite);
    assert_eq!(effective.address, "https://www.helsedirektoratet.no/npr");
    assert_eq!(effective.decided_by, "Helsedirektoratet");
    assert!(effective.processed_by.is_empty());
    assert!(!effective.by_helsedataservice);
    let kept = &effective.steps[0];
    assert_eq!(kept.rule, RouteRule::HelsedataserviceDecides);
    assert!(kept.parts.is_empty(), "nothing changes: {kept:?}");
    assert!(
        kept.explanation.en.contains("That route is kept"),
        "{kept:?}"
    );
    assert!(
        kept.explanation.nb.contains("Den veien beholdes"),
        "{kept:?}"
    );
}

#[test]
fn the_common_form_covers_unknown_and_altinn_routes_of_its_custodians() {
    let rules = rules();
    for published_route in [
        None,
        Some(route(pb::ApplicationChannel::Unknown, "", "")),
        Some(route(
            pb::ApplicationChannel::AltinnForm,
            "FHI",
            "https://altinn.example",
        )),
    ] {
        let source = record(
            "hs-ungdom",
            "Folkehelseinstituttet",
            published_route.clone(),
        );
        let effective = catalogue_route(published("fhi", &source), &rules);
        assert_eq!(
            effective.channel,
            pb::ApplicationChannel::HelsedataForm,
            "{published_route:?}"
        );
        assert_eq!(effective.address, "https://helsedata.no");
        assert_eq!(
            parts_of(&effective, RouteRule::CommonForm),
            [pb::RoutePart::Channel]
        );
        assert!(!effective.by_helsedataservice);
    }
}

#[test]
fn the_common_form_leaves_other_custodians_and_published_own_channels_alone() {
    let rules = rules();
    let elsewhere = record("nkr", "Sykehuset", None);
    let effective = catalogue_route(published("st-olavs", &elsewhere), &rules);
    assert_eq!(effective.channel, pb::ApplicationChannel::Unknown);
    assert!(!rule_ids(&effective).contains(&"national.common-form"));

    let mut by_email = record(
        "norm",
        "Folkehelseinstituttet",
        Some(route(pb::ApplicationChannel::EmailToRegister, "", "")),
    );
    by_email.1.contact_email = "norm@example.org".into();
    let effective = catalogue_route(published("fhi", &by_email), &rules);
    assert_eq!(effective.channel, pb::ApplicationChannel::EmailToRegister);
    assert_eq!(effective.address, "norm@example.org");
    assert!(!effective.address_missing);
}

#[test]
fn without_a_processing_body_the_controller_decides() {
    let rules = rules();
    let source = record(
        "nkr",
        "St. Olavs hospital HF",
        Some(route(pb::ApplicationChannel::RegisterWebsite, "", "")),
    );
    let effective = catalogue_route(published("st-olavs", &source), &rules);
    assert_eq!(effective.decided_by, "St. Olavs hospital HF");
    assert_eq!(
        parts_of(&effective, RouteRule::DecidedBy),
        [pb::RoutePart::DecidedBy]
    );
    assert!(effective.address_missing, "no website address is published");
    assert_eq!(effective.address, "ask St. Olavs hospital HF");
    assert_eq!(effective.address_words.nb, "spør St. Olavs hospital HF");
}

#[test]
fn a_custodian_route_that_names_helsedataservice_is_decided_by_it() {
    let rules = rules();
    let source = record(
        "tvilling",
        "Folkehelseinstituttet",
        Some(route(
            pb::ApplicationChannel::HelsedataForm,
            "Helsedataservice",
            "",
        )),
    );
    let effective = catalogue_route(published("fhi", &source), &rules);
    assert!(effective.by_helsedataservice);
    assert_eq!(effective.decided_by, "Helsedataservice");
    assert!(
        effective.processed_by.is_empty(),
        "no national rule moved the processing"
    );
    assert_eq!(rule_ids(&effective), ["custodian.delivered-by"]);
}

#[test]
fn delivery_follows_the_published_body_then_the_processor_then_the_controller() {
    let rules = rules();
    let mut stated = record("a", "Controller", None);
    stated.0.processor = org("Processor");
    stated.1.delivered_by = "Deliverer".into();
    let effective = catalogue_route(published("ssb", &stated), &rules);
    assert_eq!(
        (
            effective.prepared_by.as_str(),
            effective.delivered_by.as_str()
        ),
        ("Deliverer", "Deliverer")
    );
    assert!(parts_of(&effective, RouteRule::DeliveredBy).is_empty());

    stated.1.delivered_by.clear();
    let effective = catalogue_route(published("ssb", &stated), &rules);
    assert_eq!(effective.delivered_by, "Processor");

    stated.0.processor = None;
    let effective = catalogue_route(published("ssb", &stated), &rules);
    assert_eq!(effective.delivered_by, "Controller");
    assert!(
        effective
            .steps
            .last()
            .is_some_and(|s| s.explanation.en.contains("data controller"))
    );
}

#[test]
fn addresses_follow_the_channel() {
    let rules = rules();
    let cases = [
        (pb::ApplicationChannel::EmailToRegister, "", "ask C", true),
        (
            pb::ApplicationChannel::AltinnForm,
            "https://form",
            "https://form",
            false,
        ),
        (
            pb::ApplicationChannel::AltinnForm,
            "",
            "reg@example.org",
            false,
        ),
        (
            pb::ApplicationChannel::Unknown,
            "https://page",
            "reg@example.org",
            false,
        ),
    ];
    for (channel, url, expected, missing) in cases {
        let mut source = record("x", "C", Some(route(channel, "", url)));
        if expected.contains('@') {
            source.1.contact_email = "reg@example.org".into();
        }
        // A custodian the common form does not cover keeps its own channel.
        let effective = catalogue_route(published("ssb", &source), &rules);
        assert_eq!(effective.channel, channel);
        assert_eq!(
            (effective.address.as_str(), effective.address_missing),
            (expected, missing),
            "{channel:?} {url}"
        );
    }
}

#[test]
fn the_contract_form_names_each_rule_its_origin_and_the_revision() {
    let rules = rules();
    let kpr = record(
        "kpr",
        "Helsedirektoratet",
        Some(route(
            pb::ApplicationChannel::AltinnForm,
            "Helsedirektoratet",
            "",
        )),
    );
    let proto = catalogue_route(published("helsedirektoratet", &kpr), &rules)
        .to_proto("helsedirektoratet", &rules);
    assert_eq!(proto.channel, pb::ApplicationChannel::HelsedataForm as i32);
    assert_eq!(proto.rules_revision, rules.revision());
    let origins: Vec<(&str, &str)> = proto
        .rules
        .iter()
        .map(|r| (r.rule.as_str(), r.origin.as_str()))
        .collect();
    assert_eq!(
        origins,
        [
            ("national.helsedataservice-decides", "national-rules"),
            ("custodian.delivered-by", "custodian:helsedirektoratet"),
        ]
    );
    assert_eq!(
        proto.rules[0].parts,
        [
            pb::RoutePart::Channel as i32,
            pb::RoutePart::DecidedBy as i32
        ]
    );
}
