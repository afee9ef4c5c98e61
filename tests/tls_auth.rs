//! Who may call what: the gateway's and a custodian's authorization by certificate identity,
//! operator-only detail in ListCustodians, and certificate revocation (CRLs, reloaded),
//! against real servers on loopback with real certificates.

use std::{path::PathBuf, time::Duration};

use fixture::{Pki, Running, bundled, gateway_config, start_custodian_with, start_gateway};
use gateway::config::{AuthzConfig, GatewayConfig};
use helsedata::{
    identity,
    proto::{
        self as pb, custodian_catalogue_client::CustodianCatalogueClient,
        federated_catalogue_client::FederatedCatalogueClient,
    },
    tls::{TlsFiles, TlsMaterial},
};
use tonic::{Code, transport::Channel};

fn fhi() -> custodian_stub::catalogue::Catalogue {
    bundled()
        .into_iter()
        .find(|c| c.custodian_id() == "fhi")
        .expect("fhi data file")
}

/// A custodian `fhi` with the production policy (the gateway and `operator/*` only) and a
/// gateway in front of it with the bundled authorization rules; `adjust` may change the
/// gateway's configuration.
async fn start(pki: &Pki, adjust: impl FnOnce(&mut GatewayConfig)) -> (Running, Running) {
    let options =
        custodian_stub::server::ServeOptions::new(&pki.custodian_tls("fhi"), Duration::ZERO)
            .expect("custodian options");
    let custodian = start_custodian_with(fhi(), options).await;
    let mut config = gateway_config(pki, &[("fhi", &custodian)]);
    config.authz = AuthzConfig::default();
    adjust(&mut config);
    let gateway = start_gateway(config).await;
    (custodian, gateway)
}

fn tls(pki: &Pki, cert: PathBuf, key: PathBuf) -> TlsMaterial {
    TlsMaterial::load(&TlsFiles::new(pki.pki.ca_cert(), cert, key)).expect("client TLS")
}

/// A channel to `addr` with `client`, connected once (no retries: a refused certificate
/// must fail, not be retried).
async fn channel(
    client: &TlsMaterial,
    server: &Running,
    identity: &str,
) -> Result<Channel, String> {
    let endpoint = fixture::endpoint(client, server.addr, identity).map_err(|e| e.to_string())?;
    endpoint.connect().await.map_err(|e| format!("{e:?}"))
}

async fn wait_until_up(pki: &Pki, server: &Running, identity: &str) {
    fixture::channel(&pki.developer_tls(), server.addr, identity, |e| e)
        .await
        .ok();
}

async fn list_custodians(
    client: &TlsMaterial,
    gateway: &Running,
) -> Result<pb::ListCustodiansResponse, tonic::Status> {
    let channel = channel(client, gateway, &identity::gateway_identity())
        .await
        .map_err(tonic::Status::unavailable)?;
    FederatedCatalogueClient::new(channel)
        .list_custodians(pb::ListCustodiansRequest { refresh: true })
        .await
        .map(|r| r.into_inner())
}

fn assert_denied(result: Result<impl std::fmt::Debug, tonic::Status>, needles: &[&str]) {
    let status = result.expect_err("the call must be refused");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    for needle in needles {
        assert!(
            status.message().contains(needle),
            "`{}` does not name `{needle}`",
            status.message()
        );
    }
}

#[tokio::test]
async fn the_gateway_serves_configured_clients_and_refuses_custodians_strangers_and_no_identity() {
    let pki = Pki::new(&["fhi"]);
    let (_custodian, gateway) = start(&pki, |_| {}).await;
    wait_until_up(&pki, &gateway, &identity::gateway_identity()).await;

    // Developers and Helsedataservice's services are clients.
    let developer = pki.developer_tls();
    let answer = list_custodians(&developer, &gateway)
        .await
        .expect("developer served");
    assert_eq!(answer.custodians.len(), 1);
    let service = pki.client_tls("hds-app", "helsedataservice/soknad");
    list_custodians(&service, &gateway)
        .await
        .expect("Helsedataservice's service served");

    // A certificate naming a custodian is refused by the deny rule, by name.
    let forged = pki.client_tls("forged-fhi", "custodian/fhi");
    assert_denied(
        list_custodians(&forged, &gateway).await,
        &[
            "spiffe://helsedata.test/custodian/fhi",
            "custodians-are-not-clients",
        ],
    );
    // An identity no rule names.
    let stranger = pki.client_tls("stranger", "somebody/else");
    assert_denied(
        list_custodians(&stranger, &gateway).await,
        &[
            "spiffe://helsedata.test/somebody/else",
            "no authorization rule",
        ],
    );
    // A certificate without a URI SAN names no identity.
    let (cert, key) = pki
        .pki
        .issue_client_without_identity("anonymous")
        .expect("certificate");
    assert_denied(
        list_custodians(&tls(&pki, cert, key), &gateway).await,
        &["URI subject alternative name"],
    );
}

#[tokio::test]
async fn only_operators_see_custodian_endpoints_and_failure_text() {
    let pki = Pki::new(&["fhi"]);
    let (custodian, gateway) = start(&pki, |_| {}).await;
    wait_until_up(&pki, &gateway, &identity::gateway_identity()).await;
    let operator = tls(&pki, pki.pki.operator_cert(), pki.pki.operator_key());
    let seen = list_custodians(&operator, &gateway)
        .await
        .expect("operator");
    assert_eq!(seen.custodians[0].endpoint, custodian.endpoint());
    let seen = list_custodians(&pki.developer_tls(), &gateway)
        .await
        .expect("developer");
    assert_eq!(
        seen.custodians[0].endpoint, "",
        "a developer sees no endpoint"
    );

    // With the custodian down, the operator sees the transport error and the developer
    // only the status.
    custodian.stop().await;
    let seen = list_custodians(&operator, &gateway)
        .await
        .expect("operator");
    let outcome = seen.custodians[0].last_outcome.clone().expect("outcome");
    assert_ne!(outcome.status, pb::OutcomeStatus::Ok as i32);
    assert!(!outcome.message.is_empty(), "the operator sees why");
    let seen = list_custodians(&pki.developer_tls(), &gateway)
        .await
        .expect("developer");
    let outcome = seen.custodians[0].last_outcome.clone().expect("outcome");
    assert_ne!(outcome.status, pb::OutcomeStatus::Ok as i32);
    assert_eq!(outcome.message, "", "a developer sees no transport error");
}

async fn custodian_info(
    client: &TlsMaterial,
    custodian: &Running,
) -> Result<pb::CustodianInfo, tonic::Status> {
    let channel = channel(client, custodian, &identity::custodian_identity("fhi"))
        .await
        .map_err(tonic::Status::unavailable)?;
    CustodianCatalogueClient::new(channel)
        .get_custodian_info(pb::GetCustodianInfoRequest {})
        .await
        .map(|r| r.into_inner())
}

#[tokio::test]
async fn a_custodian_serves_the_gateway_and_operators_only() {
    let pki = Pki::new(&["fhi", "ssb"]);
    let (custodian, gateway) = start(&pki, |_| {}).await;
    wait_until_up(&pki, &gateway, &identity::gateway_identity()).await;

    // The gateway's own link works: its outcome for fhi is OK.
    let seen = list_custodians(&pki.developer_tls(), &gateway)
        .await
        .expect("developer");
    let outcome = seen.custodians[0].last_outcome.clone().expect("outcome");
    assert_eq!(outcome.status, pb::OutcomeStatus::Ok as i32, "{outcome:?}");
    let gateway_client = tls(
        &pki,
        pki.pki.gateway_client_cert(),
        pki.pki.gateway_client_key(),
    );
    custodian_info(&gateway_client, &custodian)
        .await
        .expect("the gateway is served");
    let operator = tls(&pki, pki.pki.operator_cert(), pki.pki.operator_key());
    custodian_info(&operator, &custodian)
        .await
        .expect("an operator is served");

    // Developers go through the gateway; another custodian has no business here.
    assert_denied(
        custodian_info(&pki.developer_tls(), &custodian).await,
        &["spiffe://helsedata.test/developer", "no authorization rule"],
    );
    let other = pki.client_tls("ssb-as-client", "custodian/ssb");
    assert_denied(
        custodian_info(&other, &custodian).await,
        &[
            "spiffe://helsedata.test/custodian/ssb",
            "gateway, operators",
        ],
    );
}

#[tokio::test]
async fn a_revoked_developer_certificate_is_refused_once_the_crl_lists_it() {
    let pki = Pki::new(&["fhi"]);
    let crl = pki.pki.issue_crl(&[]).expect("empty CRL");
    let (_custodian, gateway) = start(&pki, |config| {
        config.tls.crls = vec![crl.clone()];
        config.connections.reload_poll_ms = 100;
    })
    .await;
    wait_until_up(&pki, &gateway, &identity::gateway_identity()).await;
    list_custodians(&pki.developer_tls(), &gateway)
        .await
        .expect("not revoked yet");

    // Revoke the developer's certificate; the gateway picks the new CRL up by itself.
    pki.pki
        .issue_crl(&[pki.pki.client_cert()])
        .expect("CRL revoking the developer");
    let operator = tls(&pki, pki.pki.operator_cert(), pki.pki.operator_key());
    let mut refused = None;
    for _ in 0..50 {
        match list_custodians(&pki.developer_tls(), &gateway).await {
            Ok(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(status) => {
                refused = Some(status);
                break;
            }
        }
    }
    let status = refused.expect("the revoked certificate is refused within 5 s");
    assert_ne!(status.code(), Code::Ok);
    assert!(
        format!("{status:?}").to_lowercase().contains("revoked")
            || status.code() == Code::Unavailable
            || status.code() == Code::Unknown,
        "{status:?}"
    );
    // Certificates not on the list are still served.
    list_custodians(&operator, &gateway)
        .await
        .expect("an unrevoked certificate is served");
}
