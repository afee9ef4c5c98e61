//! Failure accounting that callers cannot game: a leg cut short by the caller's own deadline
//! never counts against the custodian, so neither a flood of tiny deadlines nor honest
//! callers with deadlines shorter than a slow custodian's answer can eject it.

use std::time::Duration;

use fixture::{
    Federation, Pki, bundled, gateway_client, gateway_config, start_custodian, start_gateway,
};
use helsedata::proto::{self as pb, federated_catalogue_client::FederatedCatalogueClient};
use tonic::{Request, transport::Channel};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

/// A SearchDataSources request with `timeout` as its `grpc-timeout` and, when `no_cache`,
/// `cache-control: no-cache`.
fn search(timeout: Duration, no_cache: bool) -> Request<pb::SearchDataSourcesRequest> {
    let mut request = Request::new(pb::SearchDataSourcesRequest {
        page_size: 500,
        ..Default::default()
    });
    request.set_timeout(timeout);
    if no_cache {
        request
            .metadata_mut()
            .insert("cache-control", "no-cache".parse().expect("ascii"));
    }
    request
}

async fn health(federation: &fixture::Running, pki: &Pki, service: String) -> i32 {
    let endpoint = pki
        .developer_tls()
        .client_endpoint(
            &federation.endpoint(),
            &helsedata::identity::gateway_identity(),
            None,
        )
        .expect("endpoint");
    let channel = endpoint.connect().await.expect("connect");
    HealthClient::new(channel)
        .check(HealthCheckRequest { service })
        .await
        .expect("health check")
        .into_inner()
        .status
}

fn assert_every_custodian_live(answer: &pb::SearchDataSourcesResponse, expected: usize) {
    assert_eq!(answer.custodians.len(), expected);
    for outcome in &answer.custodians {
        assert_eq!(
            (outcome.status, outcome.freshness),
            (pb::OutcomeStatus::Ok as i32, pb::Freshness::Live as i32),
            "{outcome:?}"
        );
    }
}

#[tokio::test]
async fn a_flood_of_microsecond_deadlines_ejects_no_custodian() {
    let federation = Federation::start_with(|config| {
        config.defaults.timeout_ms = 5_000;
    })
    .await;
    let mut client = federation.client().await;
    for _ in 0..10 {
        // The gateway may answer with every leg cut short or refuse the expired request
        // outright; either way no custodian is to blame.
        if let Ok(answer) = client
            .search_data_sources(search(Duration::from_micros(1), true))
            .await
        {
            let answer = answer.into_inner();
            assert!(
                answer
                    .custodians
                    .iter()
                    .all(|o| o.status == pb::OutcomeStatus::CallerDeadline as i32
                        || o.status == pb::OutcomeStatus::Ok as i32),
                "{:?}",
                answer.custodians
            );
        }
    }
    let answer = client
        .search_data_sources(search(Duration::from_secs(10), true))
        .await
        .expect("a normal search")
        .into_inner();
    assert_every_custodian_live(&answer, federation.custodians.len());
    assert_eq!(answer.total_size, 104);
    // Health reports are sent from the calls' own tasks.
    tokio::time::sleep(Duration::from_millis(100)).await;
    for (id, _) in &federation.custodians {
        assert_eq!(
            health(
                &federation.gateway,
                &federation.pki,
                format!("custodian/{id}")
            )
            .await,
            ServingStatus::Serving as i32,
            "custodian/{id}"
        );
    }
}

#[tokio::test]
async fn short_deadlines_against_a_slow_custodian_do_not_eject_it() {
    let pki = Pki::new(&["fhi"]);
    let catalogue = bundled()
        .into_iter()
        .find(|c| c.custodian_id() == "fhi")
        .expect("fhi");
    let slow = start_custodian(&pki, "fhi", catalogue, Duration::from_secs(3)).await;
    let mut config = gateway_config(&pki, &[("fhi", &slow)]);
    config.defaults.timeout_ms = 5_000;
    config.defaults.eject_after_failures = 5;
    let gateway = start_gateway(config).await;
    let client = gateway_client(&pki, &gateway).await;
    let impatient = (0..5).map(|_| {
        let mut client: FederatedCatalogueClient<Channel> = client.clone();
        async move {
            client
                .search_data_sources(search(Duration::from_millis(500), true))
                .await
        }
    });
    for answer in futures::future::join_all(impatient).await {
        let answer = answer.expect("partial answer").into_inner();
        let fhi = &answer.custodians[0];
        assert_eq!(
            fhi.status,
            pb::OutcomeStatus::CallerDeadline as i32,
            "{fhi:?}"
        );
    }
    assert_ne!(
        health(&gateway, &pki, "custodian/fhi".into()).await,
        ServingStatus::NotServing as i32
    );
    let mut patient = client.clone();
    let answer = patient
        .search_data_sources(search(Duration::from_secs(10), true))
        .await
        .expect("the real answer")
        .into_inner();
    assert_every_custodian_live(&answer, 1);
    assert!(
        answer
            .results
            .iter()
            .any(|r| r.data_source.as_ref().is_some_and(|s| s.id == "mfr")),
        "fhi's sources are served"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        health(&gateway, &pki, "custodian/fhi".into()).await,
        ServingStatus::Serving as i32
    );
}
