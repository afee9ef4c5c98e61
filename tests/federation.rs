//! The gateway end to end: every bundled custodian and a gateway on loopback ports with real
//! certificates; the merged catalogue, search, partial results, stale answers, ownership,
//! identity, deadlines and application planning.

use std::time::{Duration, Instant};

use custodian_stub::catalogue::Catalogue;
use fixture::{
    Federation, Pki, bundled, gateway_client, gateway_config, source_facts,
    start_counting_custodian, start_custodian, start_gateway,
};
use helsedata::proto::{self as pb, federated_catalogue_client::FederatedCatalogueClient};
use tonic::{Code, Request, transport::Channel};
use tonic_types::StatusExt;

async fn search(
    client: &mut FederatedCatalogueClient<Channel>,
    query: &str,
) -> pb::SearchDataSourcesResponse {
    client
        .search_data_sources(pb::SearchDataSourcesRequest {
            query: query.into(),
            page_size: 500,
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("search `{query}`: {e}"))
        .into_inner()
}

fn ids(response: &pb::SearchDataSourcesResponse) -> Vec<String> {
    response
        .results
        .iter()
        .filter_map(|r| r.data_source.as_ref().map(|s| s.id.clone()))
        .collect()
}

fn outcome<'a>(outcomes: &'a [pb::CustodianOutcome], id: &str) -> &'a pb::CustodianOutcome {
    outcomes
        .iter()
        .find(|o| o.custodian_id == id)
        .unwrap_or_else(|| panic!("no outcome for {id}"))
}

#[tokio::test]
async fn merged_catalogue_holds_every_expected_source_with_provenance() {
    let federation = Federation::start().await;
    let mut client = federation.client().await;
    let all = search(&mut client, "").await;
    assert_eq!(all.total_size, 104);
    let mut served = ids(&all);
    served.sort();
    let mut expected: Vec<String> = source_facts().into_iter().map(|f| f.id).collect();
    expected.sort();
    assert_eq!(served, expected);
    assert!(all.merge_issues.is_empty(), "{:?}", all.merge_issues);
    assert_eq!(all.custodians.len(), 17);
    assert!(
        all.custodians
            .iter()
            .all(|o| o.status == pb::OutcomeStatus::Ok as i32 && o.as_of.is_some())
    );
    for result in &all.results {
        let provenance = result.provenance.as_ref().expect("provenance");
        let source = result.data_source.as_ref().expect("source");
        assert_eq!(provenance.custodian_id, source.custodian_id);
        assert!(provenance.fetched_at.is_some() && !provenance.catalogue_revision.is_empty());
    }
    let again = search(&mut client, "").await;
    assert!(
        again
            .custodians
            .iter()
            .all(|o| o.freshness == pb::Freshness::Cached as i32),
        "second answer comes from the cache"
    );
    assert_eq!(ids(&again), ids(&all), "order is deterministic");
}

#[tokio::test]
async fn search_finds_sources_in_nb_and_en_with_and_without_diacritics() {
    let federation = Federation::start().await;
    let mut client = federation.client().await;
    for query in [
        "fødselsregister",
        "fodselsregister",
        "FØDSELSREGISTER",
        "MFR",
        "mfr",
        "birth registry",
    ] {
        let found = ids(&search(&mut client, query).await);
        assert_eq!(
            found.first().map(String::as_str),
            Some("mfr"),
            "`{query}` ranks MFR first: {found:?}"
        );
    }
    for query in [
        "dodsarsaksregisteret",
        "Dødsårsaksregisteret",
        "cause of death",
    ] {
        assert!(
            ids(&search(&mut client, query).await).contains(&"dodsarsaksregisteret".to_string()),
            "`{query}`"
        );
    }
    let cancer = ids(&search(&mut client, "kreft").await);
    assert!(
        cancer.contains(&"kreftregisteret".to_string())
            && cancer.contains(&"krg-brystkreft".to_string()),
        "{cancer:?}"
    );
    let breast = ids(&search(&mut client, "breast cancer").await);
    assert_eq!(breast.first().map(String::as_str), Some("krg-brystkreft"));
    assert!(
        ids(&search(&mut client, "prescription").await).contains(&"reseptregisteret".to_string())
    );
    let filtered = client
        .search_data_sources(pb::SearchDataSourcesRequest {
            custodian_ids: vec!["helse-bergen".into()],
            channel: pb::ApplicationChannel::EmailToRegister as i32,
            page_size: 100,
            ..Default::default()
        })
        .await
        .expect("filtered")
        .into_inner();
    assert!(!filtered.results.is_empty());
    assert!(filtered.results.iter().all(|r| {
        r.data_source
            .as_ref()
            .is_some_and(|s| s.custodian_id == "helse-bergen")
    }));
}

#[tokio::test]
async fn records_variables_and_errors_pass_through_the_gateway() {
    let federation = Federation::start().await;
    let mut client = federation.client().await;
    let got = client
        .get_data_source(pb::GetDataSourceRequest {
            id: "mfr".into(),
            view: pb::DataSourceView::Full as i32,
        })
        .await
        .expect("get")
        .into_inner();
    let record = got.result.expect("result");
    assert_eq!(record.provenance.expect("provenance").custodian_id, "fhi");
    assert!(record.data_source.expect("source").access_rules.is_some());
    let vars = client
        .list_variables(pb::ListVariablesRequest {
            data_source_id: "mfr".into(),
            page_size: 5,
            page_token: String::new(),
        })
        .await
        .expect("variables")
        .into_inner();
    assert_eq!(vars.variables.len(), 5);
    assert!(!vars.next_page_token.is_empty());
    let icd = client
        .search_variables(pb::SearchVariablesRequest {
            query: "ICD-10".into(),
            page_size: 200,
            ..Default::default()
        })
        .await
        .expect("search")
        .into_inner();
    let sources: std::collections::BTreeSet<String> = icd
        .hits
        .iter()
        .filter_map(|h| h.variable.as_ref().map(|v| v.data_source_id.clone()))
        .collect();
    assert!(
        sources.len() >= 5,
        "ICD-10 diagnoses are held by many sources: {sources:?}"
    );
    let weight = client
        .search_variables(pb::SearchVariablesRequest {
            query: "birth weight".into(),
            ..Default::default()
        })
        .await
        .expect("search")
        .into_inner();
    assert!(weight.hits.iter().any(|h| {
        h.variable
            .as_ref()
            .is_some_and(|v| v.data_source_id == "mfr")
    }));
    let status = client
        .get_data_source(pb::GetDataSourceRequest {
            id: "no-such-source".into(),
            view: 0,
        })
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
    let status = client
        .search_data_sources(pb::SearchDataSourcesRequest {
            page_size: -3,
            ..Default::default()
        })
        .await
        .expect_err("bad page size");
    assert_eq!(status.code(), Code::InvalidArgument);
    let status = client
        .search_data_sources(pb::SearchDataSourcesRequest {
            page_token: "bogus".into(),
            ..Default::default()
        })
        .await
        .expect_err("bad token");
    assert_eq!(status.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn a_stopped_custodian_is_reported_unavailable_and_its_cached_data_served_stale() {
    let mut federation = Federation::start_with(|config| config.cache.catalogue_ttl_ms = 200).await;
    let mut client = federation.client().await;
    let warm = search(&mut client, "").await;
    assert_eq!(warm.total_size, 104);
    federation.stop_custodian("ssb").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let deadline = Duration::from_secs(3);
    let mut request = Request::new(pb::SearchDataSourcesRequest {
        query: "inntekt".into(),
        ..Default::default()
    });
    request.set_timeout(deadline);
    let started = Instant::now();
    let answer = client
        .search_data_sources(request)
        .await
        .expect("partial answer, not an error")
        .into_inner();
    assert!(
        started.elapsed() < deadline,
        "answered within the deadline ({:?})",
        started.elapsed()
    );
    let ssb = outcome(&answer.custodians, "ssb");
    assert_eq!(ssb.status, pb::OutcomeStatus::Unavailable as i32, "{ssb:?}");
    assert_eq!(ssb.freshness, pb::Freshness::Stale as i32);
    assert!(ssb.age.is_some() && !ssb.message.is_empty());
    let income = answer
        .results
        .iter()
        .find(|r| {
            r.data_source
                .as_ref()
                .is_some_and(|s| s.id == "ssb-inntekt")
        })
        .expect("cached SSB record served");
    assert_eq!(
        income.provenance.as_ref().expect("provenance").freshness,
        pb::Freshness::Stale as i32
    );
    assert_eq!(
        outcome(&answer.custodians, "fhi").status,
        pb::OutcomeStatus::Ok as i32
    );
    let listed = client
        .list_custodians(pb::ListCustodiansRequest { refresh: true })
        .await
        .expect("list")
        .into_inner();
    let ssb = listed
        .custodians
        .iter()
        .find(|c| c.id == "ssb")
        .expect("ssb listed");
    assert!(!ssb.healthy && ssb.last_success.is_some());
}

#[tokio::test]
async fn a_slow_custodian_never_holds_the_answer_past_the_callers_deadline() {
    let pki = Pki::new(&["fhi", "ssb"]);
    let catalogues = bundled();
    let fhi = catalogues
        .iter()
        .position(|c| c.custodian_id() == "fhi")
        .expect("fhi");
    let mut catalogues: Vec<Option<Catalogue>> = catalogues.into_iter().map(Some).collect();
    let fhi_catalogue = catalogues[fhi].take().expect("fhi");
    let ssb_catalogue = catalogues
        .into_iter()
        .flatten()
        .find(|c| c.custodian_id() == "ssb")
        .expect("ssb");
    let fast = start_custodian(&pki, "fhi", fhi_catalogue, Duration::ZERO).await;
    let slow = start_custodian(&pki, "ssb", ssb_catalogue, Duration::from_secs(5)).await;
    let mut config = gateway_config(&pki, &[("fhi", &fast), ("ssb", &slow)]);
    config.defaults.timeout_ms = 10_000;
    let gateway = start_gateway(config).await;
    let mut client = gateway_client(&pki, &gateway).await;
    let mut request = Request::new(pb::SearchDataSourcesRequest::default());
    request.set_timeout(Duration::from_millis(700));
    let started = Instant::now();
    let answer = client
        .search_data_sources(request)
        .await
        .expect("partial answer")
        .into_inner();
    let took = started.elapsed();
    assert!(took < Duration::from_millis(1_500), "took {took:?}");
    assert_eq!(
        outcome(&answer.custodians, "ssb").status,
        pb::OutcomeStatus::CallerDeadline as i32,
        "cut by the caller's deadline, not the custodian's timeout"
    );
    assert_eq!(
        outcome(&answer.custodians, "fhi").status,
        pb::OutcomeStatus::Ok as i32
    );
    assert!(ids(&answer).contains(&"mfr".to_string()));
}

fn rogue_catalogue() -> Catalogue {
    let fhi = bundled()
        .into_iter()
        .find(|c| c.custodian_id() == "fhi")
        .expect("fhi");
    let stolen = fhi
        .sources()
        .find(|b| b.source.id == "mfr")
        .expect("mfr")
        .clone();
    let mut own = stolen.clone();
    own.source.id = "rogue-register".into();
    own.access.data_source_id = "rogue-register".into();
    let info = pb::CustodianInfo {
        id: "rogue".into(),
        catalogue_revision: "1".into(),
        ..Default::default()
    };
    Catalogue::new(info, vec![stolen, own])
}

#[tokio::test]
async fn a_custodian_publishing_another_custodians_source_is_rejected_and_reported() {
    let pki = Pki::new(&["fhi", "rogue"]);
    let fhi = start_custodian(
        &pki,
        "fhi",
        bundled()
            .into_iter()
            .find(|c| c.custodian_id() == "fhi")
            .expect("fhi"),
        Duration::ZERO,
    )
    .await;
    let rogue = start_custodian(&pki, "rogue", rogue_catalogue(), Duration::ZERO).await;
    let gateway = start_gateway(gateway_config(&pki, &[("fhi", &fhi), ("rogue", &rogue)])).await;
    let mut client = gateway_client(&pki, &gateway).await;
    let answer = search(&mut client, "").await;
    let mfr: Vec<_> = answer
        .results
        .iter()
        .filter(|r| r.data_source.as_ref().is_some_and(|s| s.id == "mfr"))
        .collect();
    assert_eq!(mfr.len(), 1);
    assert_eq!(
        mfr[0].provenance.as_ref().expect("provenance").custodian_id,
        "fhi"
    );
    assert!(
        ids(&answer).contains(&"rogue-register".to_string()),
        "its own records are kept"
    );
    let issue = answer
        .merge_issues
        .iter()
        .find(|i| i.record_id == "mfr")
        .expect("reported");
    assert_eq!(issue.kind, pb::merge_issue::Kind::NotOwned as i32);
    assert_eq!(issue.custodian_id, "rogue");
    assert_eq!(issue.other_custodian_id, "fhi");
}

#[tokio::test]
async fn a_custodian_with_the_wrong_certificate_identity_is_rejected() {
    let pki = Pki::new(&["fhi", "ssb"]);
    let ssb_catalogue = bundled()
        .into_iter()
        .find(|c| c.custodian_id() == "ssb")
        .expect("ssb");
    // The server answering for "ssb" presents FHI's certificate.
    let impostor = start_custodian(&pki, "fhi", ssb_catalogue, Duration::ZERO).await;
    let gateway = start_gateway(gateway_config(&pki, &[("ssb", &impostor)])).await;
    let mut client = gateway_client(&pki, &gateway).await;
    let answer = search(&mut client, "").await;
    let ssb = outcome(&answer.custodians, "ssb");
    assert_eq!(ssb.status, pb::OutcomeStatus::Rejected as i32, "{ssb:?}");
    assert!(
        answer.results.is_empty(),
        "nothing from an impostor is served"
    );
}

#[tokio::test]
async fn health_reports_the_gateway_and_each_custodian() {
    let federation = Federation::start().await;
    let endpoint = federation
        .pki
        .developer_tls()
        .client_endpoint(
            &federation.gateway.endpoint(),
            &helsedata::identity::gateway_identity(),
            None,
        )
        .expect("endpoint");
    let channel = endpoint.connect().await.expect("connect");
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    let overall = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("overall")
        .into_inner();
    assert_eq!(
        overall.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
    let mut client = federation.client().await;
    client
        .list_custodians(pb::ListCustodiansRequest { refresh: true })
        .await
        .expect("probe");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let fhi = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "custodian/fhi".into(),
        })
        .await
        .expect("fhi")
        .into_inner();
    assert_eq!(
        fhi.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
}

#[tokio::test]
async fn requests_beyond_the_concurrency_limit_are_refused_with_resource_exhausted() {
    let pki = Pki::new(&["fhi"]);
    let catalogue = bundled()
        .into_iter()
        .find(|c| c.custodian_id() == "fhi")
        .expect("fhi");
    let slow = start_custodian(&pki, "fhi", catalogue, Duration::from_millis(600)).await;
    let mut config = gateway_config(&pki, &[("fhi", &slow)]);
    config.limits.max_concurrent_requests = 1;
    let gateway = start_gateway(config).await;
    let client = gateway_client(&pki, &gateway).await;
    let call = |id: &'static str| {
        let mut client = client.clone();
        async move {
            client
                .get_data_source(pb::GetDataSourceRequest {
                    id: id.into(),
                    view: 0,
                })
                .await
        }
    };
    let (first, second) = tokio::join!(call("mfr"), async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        call("msis").await
    });
    assert!(first.is_ok(), "{first:?}");
    let refused = second.expect_err("over the limit");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
}

#[tokio::test]
async fn fan_out_takes_about_the_slowest_leg_not_the_sum() {
    let pki = Pki::new(&["fhi", "ssb", "kreftregisteret"]);
    let mut running = Vec::new();
    for catalogue in bundled()
        .into_iter()
        .filter(|c| ["fhi", "ssb", "kreftregisteret"].contains(&c.custodian_id()))
    {
        let id = catalogue.custodian_id().to_string();
        running.push((
            id.clone(),
            start_custodian(&pki, &id, catalogue, Duration::from_millis(300)).await,
        ));
    }
    let refs: Vec<(&str, &fixture::Running)> =
        running.iter().map(|(id, r)| (id.as_str(), r)).collect();
    let mut config = gateway_config(&pki, &refs);
    config.defaults.timeout_ms = 5_000;
    let gateway = start_gateway(config).await;
    let mut client = gateway_client(&pki, &gateway).await;
    let started = Instant::now();
    let answer = search(&mut client, "").await;
    let took = started.elapsed();
    assert!(
        answer
            .custodians
            .iter()
            .all(|o| o.status == pb::OutcomeStatus::Ok as i32)
    );
    // Each custodian answers its facts and its one page at once, 300 ms each: one leg is about
    // 300 ms; three legs in sequence would take 900 ms.
    assert!(took < Duration::from_millis(800), "fan-out took {took:?}");
    assert!(
        took >= Duration::from_millis(300),
        "each leg really waited: {took:?}"
    );
}

#[tokio::test]
async fn a_custodian_that_keeps_failing_is_ejected_and_costs_callers_no_more_waiting() {
    let pki = Pki::new(&["fhi", "ssb"]);
    let mut catalogues = bundled()
        .into_iter()
        .filter(|c| ["fhi", "ssb"].contains(&c.custodian_id()));
    let fhi = start_custodian(&pki, "fhi", catalogues.next().expect("fhi"), Duration::ZERO).await;
    let stalled = start_custodian(
        &pki,
        "ssb",
        catalogues.next().expect("ssb"),
        Duration::from_secs(10),
    )
    .await;
    let mut config = gateway_config(&pki, &[("fhi", &fhi), ("ssb", &stalled)]);
    config.custodians[1].timeout_ms = Some(300);
    config.defaults.eject_after_failures = 1;
    config.cache.catalogue_ttl_ms = 1;
    let gateway = start_gateway(config).await;
    let mut client = gateway_client(&pki, &gateway).await;
    let started = Instant::now();
    let first = search(&mut client, "").await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(
        outcome(&first.custodians, "ssb").status,
        pb::OutcomeStatus::Timeout as i32
    );
    let started = Instant::now();
    let second = search(&mut client, "").await;
    assert!(
        started.elapsed() < Duration::from_millis(250),
        "failed fast: {:?}",
        started.elapsed()
    );
    let ssb = outcome(&second.custodians, "ssb");
    assert_eq!(ssb.status, pb::OutcomeStatus::Unavailable as i32);
    assert!(ssb.message.contains("ejected"), "{}", ssb.message);
    assert!(ids(&second).contains(&"mfr".to_string()));
}

#[tokio::test]
async fn an_invalid_search_is_refused_before_any_custodian_is_asked() {
    let ids = ["fhi", "ssb"];
    let pki = Pki::new(&ids);
    let mut custodians = Vec::new();
    for catalogue in bundled()
        .into_iter()
        .filter(|c| ids.contains(&c.custodian_id()))
    {
        let id = catalogue.custodian_id().to_string();
        let (running, counter) = start_counting_custodian(&pki, catalogue).await;
        custodians.push((id, running, counter));
    }
    let refs: Vec<(&str, &fixture::Running)> = custodians
        .iter()
        .map(|(id, running, _)| (id.as_str(), running))
        .collect();
    let gateway = start_gateway(gateway_config(&pki, &refs)).await;
    let mut client = gateway_client(&pki, &gateway).await;
    let invalid = [
        (
            "query",
            pb::SearchDataSourcesRequest {
                query: "register ".repeat(30),
                ..Default::default()
            },
        ),
        (
            "kind",
            pb::SearchDataSourcesRequest {
                kind: 99,
                ..Default::default()
            },
        ),
        (
            "custodian_ids",
            pb::SearchDataSourcesRequest {
                custodian_ids: vec!["Not An Id".into()],
                ..Default::default()
            },
        ),
        (
            "page_size",
            pb::SearchDataSourcesRequest {
                page_size: 501,
                ..Default::default()
            },
        ),
    ];
    for (field, request) in invalid {
        let status = client
            .search_data_sources(request)
            .await
            .expect_err("an invalid search is refused");
        assert_eq!(status.code(), Code::InvalidArgument, "{field}: {status:?}");
        let details = status.get_error_details();
        let bad = details.bad_request().expect("BadRequest details");
        assert_eq!(bad.field_violations[0].field, field);
    }
    for (id, _, counter) in &custodians {
        assert_eq!(counter.calls(), 0, "custodian `{id}` was asked");
    }
    search(&mut client, "").await;
    for (id, _, counter) in &custodians {
        assert!(counter.calls() > 0, "a valid search asks custodian `{id}`");
    }
}
