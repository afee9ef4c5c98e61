//! The effective route through the gateway, against every bundled custodian: the channel
//! filter of SearchDataSources uses the route under the national rules, GetDataSource shows
//! the published and the effective route side by side and PlanApplication agrees with them,
//! and a plan for anonymous data names the open statistics to check first.

use std::collections::{BTreeMap, BTreeSet};

use fixture::Federation;
use helsedata::proto::{self as pb, federated_catalogue_client::FederatedCatalogueClient};
use tonic::transport::Channel;

/// The custodians the common helsedata.no form covers (`common_form.custodians` in
/// `gateway/config/national-rules.toml`).
const COMMON_FORM_CUSTODIANS: [&str; 5] = [
    "fhi",
    "helsedirektoratet",
    "kreftregisteret",
    "arkivverket",
    "dmp",
];

/// Every bundled source with its custodian's default route, as published.
fn published_routes() -> BTreeMap<String, (String, Option<pb::ApplicationRoute>)> {
    fixture::bundled()
        .iter()
        .flat_map(|c| {
            c.sources().map(|b| {
                (
                    b.source.id.clone(),
                    (c.custodian_id().to_string(), b.access.route.clone()),
                )
            })
        })
        .collect()
}

fn channel(route: &Option<pb::ApplicationRoute>) -> pb::ApplicationChannel {
    route
        .as_ref()
        .and_then(|r| pb::ApplicationChannel::try_from(r.channel).ok())
        .unwrap_or(pb::ApplicationChannel::Unknown)
}

async fn by_channel(
    client: &mut FederatedCatalogueClient<Channel>,
    channel: pb::ApplicationChannel,
) -> Vec<pb::FederatedDataSource> {
    client
        .search_data_sources(pb::SearchDataSourcesRequest {
            channel: channel as i32,
            page_size: 500,
            ..Default::default()
        })
        .await
        .expect("search by channel")
        .into_inner()
        .results
}

fn source_id(result: &pb::FederatedDataSource) -> String {
    result
        .data_source
        .as_ref()
        .map(|s| s.id.clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_channel_filter_finds_every_source_the_common_form_covers() {
    let federation = Federation::start().await;
    let mut client = federation.client().await;
    let published = published_routes();
    let results = by_channel(&mut client, pb::ApplicationChannel::HelsedataForm).await;
    let found: BTreeSet<String> = results.iter().map(source_id).collect();

    // Every source of a covered custodian that publishes no route of its own, an Altinn form
    // or the common form itself is found, whatever its custodian publishes.
    for (id, (custodian, route)) in &published {
        let movable = matches!(
            channel(route),
            pb::ApplicationChannel::Unknown
                | pb::ApplicationChannel::AltinnForm
                | pb::ApplicationChannel::HelsedataForm
        );
        if COMMON_FORM_CUSTODIANS.contains(&custodian.as_str()) && movable {
            assert!(
                found.contains(id),
                "{id} ({custodian}, {route:?}) is missing"
            );
        }
    }
    // The registries Helsedataservice decides for, among them some the custodians publish with
    // channel unknown or an Altinn form.
    for id in [
        "kpr",
        "kreftregisteret",
        "dodsarsaksregisteret",
        "legemiddelregisteret",
        "bivirkningsregisteret",
        "helsearkiv",
        "npr",
        "mfr",
        "msis",
    ] {
        assert!(found.contains(id), "{id} is missing: {found:?}");
    }
    let moved: Vec<&String> = found
        .iter()
        .filter(|id| channel(&published[*id].1) != pb::ApplicationChannel::HelsedataForm)
        .collect();
    assert!(
        moved.len() >= 6,
        "the filter uses the effective channel, not the published one: {moved:?}"
    );
    for r in &results {
        let id = source_id(r);
        let effective = r.effective_route.as_ref().expect("effective route");
        assert_eq!(
            effective.channel,
            pb::ApplicationChannel::HelsedataForm as i32
        );
        assert_eq!(effective.address, "https://helsedata.no", "{id}");
        assert_eq!(
            r.published_route, published[&id].1,
            "{id}: the custodian's route is passed on as published"
        );
        assert!(
            r.data_source
                .as_ref()
                .is_some_and(|s| s.access_rules.is_none()),
            "{id}: the basic view stays basic"
        );
        // A source outside the covered custodians is found only where its custodian publishes
        // the common form itself: nothing else moves it there.
        if !COMMON_FORM_CUSTODIANS.contains(&published[&id].0.as_str())
            && !effective.by_helsedataservice
        {
            assert_eq!(
                channel(&published[&id].1),
                pb::ApplicationChannel::HelsedataForm,
                "{id}"
            );
        }
    }

    // The other channels keep what their custodians publish.
    let by_email = by_channel(&mut client, pb::ApplicationChannel::EmailToRegister).await;
    assert!(!by_email.is_empty());
    for r in &by_email {
        assert_eq!(
            channel(&published[&source_id(r)].1),
            pb::ApplicationChannel::EmailToRegister
        );
    }
}

#[tokio::test]
async fn get_data_source_shows_both_routes_for_kpr_and_the_plan_agrees() {
    let federation = Federation::start().await;
    let mut client = federation.client().await;
    let published = published_routes();
    let got = client
        .get_data_source(pb::GetDataSourceRequest {
            id: "kpr".into(),
            view: pb::DataSourceView::Basic as i32,
        })
        .await
        .expect("get kpr")
        .into_inner()
        .result
        .expect("result");
    let (_, kpr_route) = &published["kpr"];
    assert_eq!(
        got.published_route, *kpr_route,
        "the route KPR's custodian publishes"
    );
    let effective = got.effective_route.expect("effective route");
    assert_eq!(
        effective.channel,
        pb::ApplicationChannel::HelsedataForm as i32
    );
    assert_eq!(effective.decided_by, "Helsedataservice");
    assert!(effective.by_helsedataservice);
    assert!(!effective.delivered_by.is_empty() && !effective.prepared_by.is_empty());
    assert!(!effective.rules_revision.is_empty());
    let hds = effective
        .rules
        .iter()
        .find(|r| r.rule == "national.helsedataservice-decides")
        .expect("the rule that changed the route is named");
    assert_eq!(hds.origin, "national-rules");
    assert!(
        hds.parts.contains(&(pb::RoutePart::DecidedBy as i32)),
        "{hds:?}"
    );
    assert!(
        hds.explanation
            .contains("Kommunalt pasient- og brukerregister (KPR)"),
        "{hds:?}"
    );

    // PlanApplication applies the same rules.
    let plan = client
        .plan_application(pb::PlanApplicationRequest {
            data_source_ids: vec!["kpr".into()],
            purpose: pb::Purpose::Research as i32,
            stage: pb::ProjectStage::New as i32,
            data_level: pb::DataLevel::DeidentifiedIndividual as i32,
            ..Default::default()
        })
        .await
        .expect("plan")
        .into_inner();
    let app = &plan.applications[0];
    assert_eq!(
        (app.channel, app.decided_by.as_str(), app.address.as_str()),
        (
            effective.channel,
            effective.decided_by.as_str(),
            effective.address.as_str()
        )
    );
    assert_eq!(app.deliveries[0].delivered_by, effective.delivered_by);
}

#[tokio::test]
async fn a_plan_for_anonymous_data_lists_the_open_statistics_with_their_addresses() {
    let federation = Federation::start().await;
    let mut client = federation.client().await;
    let wanted = ["msis", "reseptregisteret", "nhsr", "norm", "kpr"];
    let plan = client
        .plan_application(pb::PlanApplicationRequest {
            data_source_ids: wanted.iter().map(|s| s.to_string()).collect(),
            purpose: pb::Purpose::Research as i32,
            stage: pb::ProjectStage::New as i32,
            data_level: pb::DataLevel::AnonymousAggregated as i32,
            ..Default::default()
        })
        .await
        .expect("plan")
        .into_inner();
    let listed: BTreeMap<String, pb::OpenStatistics> = plan
        .applications
        .iter()
        .flat_map(|a| a.open_statistics.clone())
        .map(|o| (o.data_source_id.clone(), o))
        .collect();
    // What the custodians publish, from the bundled data files.
    let expected: BTreeMap<String, (String, String)> = fixture::bundled()
        .iter()
        .flat_map(|c| c.sources())
        .filter(|b| wanted.contains(&b.source.id.as_str()) && !b.source.open_statistics.is_empty())
        .map(|b| {
            (
                b.source.id.clone(),
                (
                    b.source.open_statistics.clone(),
                    b.source.open_statistics_url.clone(),
                ),
            )
        })
        .collect();
    let got: BTreeMap<String, (String, String)> = listed
        .iter()
        .map(|(id, o)| (id.clone(), (o.text.clone(), o.url.clone())))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(listed["msis"].url, "https://msis.no");
    assert_eq!(
        listed["reseptregisteret"].url,
        "https://reseptregisteret.no"
    );
    assert!(
        listed["norm"].url.is_empty(),
        "no address is known for NORM's statistics"
    );
    assert!(
        !listed.contains_key("kpr"),
        "KPR publishes no open statistics"
    );
    let notes: Vec<&String> = plan.applications.iter().flat_map(|a| &a.notes).collect();
    assert!(
        notes.iter().any(|n| n.starts_with("msis:")
            && n.contains("https://msis.no")
            && n.contains("before applying")),
        "{notes:?}"
    );
}
