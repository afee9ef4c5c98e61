//! Certificate rotation under steady load: the gateway's server and client certificates and
//! a custodian's certificate are replaced on disk while clients keep calling (some over one
//! long-lived connection, some with a new connection, so a new handshake, per call); both
//! servers pick the new certificates up by themselves, and no call fails.

use std::{
    net::{Ipv4Addr, SocketAddr},
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use fixture::{
    Pki, bundled, custodian_options, gateway_config, start_custodian_with, start_gateway,
};
use helsedata::{
    identity,
    proto::{self as pb, federated_catalogue_client::FederatedCatalogueClient},
    reload::ReloadingTls,
    tls::TlsMaterial,
};
use rustls_pki_types::{CertificateDer, ServerName, pem::PemObject};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Callers and calls each: bounded.
const CALLERS: usize = 4;
const CALLS: usize = 60;

/// The end-entity certificate the server at `addr` presents to a new connection.
async fn presented(client: &TlsMaterial, addr: SocketAddr, identity: &str) -> Vec<u8> {
    let config = client
        .rustls_client_config(identity)
        .expect("client config");
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let stream = TlsConnector::from(config)
        .connect(ServerName::IpAddress(Ipv4Addr::LOCALHOST.into()), tcp)
        .await
        .expect("handshake");
    stream.get_ref().1.peer_certificates().expect("certificate")[0].to_vec()
}

fn der_of(path: &Path) -> Vec<u8> {
    CertificateDer::from_pem_file(path).expect("PEM").to_vec()
}

/// Issues a new server (or client) certificate for `identity_path` and moves it over
/// `cert`/`key`: key first, so that for a moment the pair does not match (the reload must
/// then keep the old one).
fn rotate(pki: &Pki, name: &str, identity_path: &str, server: bool, cert: &Path, key: &Path) {
    let (new_cert, new_key) = if server {
        pki.pki.issue_server(name, identity_path)
    } else {
        pki.pki.issue_client(name, identity_path)
    }
    .expect("new certificate");
    std::fs::rename(new_key, key).expect("move key");
    std::fs::rename(new_cert, cert).expect("move certificate");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_rotate_under_load_without_a_failed_call() {
    let pki = Pki::new(&["fhi"]);
    let catalogue = bundled()
        .into_iter()
        .find(|c| c.custodian_id() == "fhi")
        .expect("fhi");
    let custodian_tls = ReloadingTls::load(pki.custodian_files("fhi")).expect("custodian TLS");
    let _watch = custodian_tls.watch(Duration::from_millis(100));
    let mut options = custodian_options(&pki.custodian_tls("fhi"), Duration::ZERO);
    options.tls = custodian_tls.clone();
    let custodian = start_custodian_with(catalogue, options).await;
    let mut config = gateway_config(&pki, &[("fhi", &custodian)]);
    config.connections.reload_poll_ms = 100;
    let gateway = start_gateway(config).await;
    let shared = Arc::new(fixture::gateway_client(&pki, &gateway).await);

    let done = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut callers = Vec::new();
    for caller in 0..CALLERS {
        let shared = shared.clone();
        let done = done.clone();
        let failed = failed.clone();
        let developer = pki.developer_tls();
        let addr = gateway.addr;
        callers.push(tokio::spawn(async move {
            for _ in 0..CALLS {
                // Half the callers reconnect for every call: each is a new handshake.
                let mut client = if caller % 2 == 0 {
                    (*shared).clone()
                } else {
                    match fixture::endpoint(&developer, addr, &identity::gateway_identity())
                        .expect("endpoint")
                        .connect()
                        .await
                    {
                        Ok(channel) => FederatedCatalogueClient::new(channel),
                        Err(e) => {
                            failed.lock().unwrap().push(format!("connect: {e:?}"));
                            done.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                    }
                };
                let mut request = tonic::Request::new(pb::SearchDataSourcesRequest {
                    query: "hjerte".into(),
                    ..Default::default()
                });
                // Every call reaches the custodian.
                request
                    .metadata_mut()
                    .insert("cache-control", "no-cache".parse().expect("metadata"));
                match client.search_data_sources(request).await {
                    Ok(answer)
                        if answer
                            .get_ref()
                            .custodians
                            .iter()
                            .all(|o| o.status == pb::OutcomeStatus::Ok as i32) => {}
                    Ok(answer) => failed.lock().unwrap().push(format!(
                        "custodian leg failed: {:?}",
                        answer.get_ref().custodians
                    )),
                    Err(status) => failed.lock().unwrap().push(format!("{status:?}")),
                }
                done.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(15)).await;
            }
        }));
    }

    // Rotate while the load runs.
    while done.load(Ordering::Relaxed) < CALLERS * CALLS / 4 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let gateway_before = presented(
        &pki.developer_tls(),
        gateway.addr,
        &identity::gateway_identity(),
    )
    .await;
    let custodian_before = presented(
        &pki.developer_tls(),
        custodian.addr,
        &identity::custodian_identity("fhi"),
    )
    .await;
    rotate(
        &pki,
        "gateway-next",
        "gateway",
        true,
        &pki.pki.gateway_cert(),
        &pki.pki.gateway_key(),
    );
    rotate(
        &pki,
        "gateway-client-next",
        "gateway",
        false,
        &pki.pki.gateway_client_cert(),
        &pki.pki.gateway_client_key(),
    );
    rotate(
        &pki,
        "fhi-next",
        "custodian/fhi",
        true,
        &pki.pki.custodian_cert("fhi"),
        &pki.pki.custodian_key("fhi"),
    );
    let gateway_new = der_of(&pki.pki.gateway_cert());
    let custodian_new = der_of(&pki.pki.custodian_cert("fhi"));
    assert_ne!(gateway_before, gateway_new);
    assert_ne!(custodian_before, custodian_new);

    // Both servers present the new certificates to new connections within a few seconds.
    let mut rotated = false;
    for _ in 0..50 {
        let gateway_now = presented(
            &pki.developer_tls(),
            gateway.addr,
            &identity::gateway_identity(),
        )
        .await;
        let custodian_now = presented(
            &pki.developer_tls(),
            custodian.addr,
            &identity::custodian_identity("fhi"),
        )
        .await;
        if gateway_now == gateway_new && custodian_now == custodian_new {
            rotated = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(rotated, "the new certificates are served within 5 s");
    assert!(custodian_tls.generation() >= 1);

    for caller in callers {
        caller.await.expect("caller");
    }
    assert_eq!(done.load(Ordering::Relaxed), CALLERS * CALLS);
    let failed = failed.lock().unwrap();
    assert!(
        failed.is_empty(),
        "{} calls failed: {:?}",
        failed.len(),
        &failed[..failed.len().min(5)]
    );
}

#[cfg(unix)]
#[tokio::test]
async fn sighup_reloads_at_once() {
    // Our own handler first, so that the signal can never hit the default action (exit).
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .expect("SIGHUP handler");
    let pki = Pki::new(&["fhi"]);
    let catalogue = bundled()
        .into_iter()
        .find(|c| c.custodian_id() == "fhi")
        .expect("fhi");
    let custodian_tls = ReloadingTls::load(pki.custodian_files("fhi")).expect("custodian TLS");
    // Polling far too slow to matter: only the signal can reload within the test.
    let _watch = custodian_tls.watch(Duration::from_secs(3600));
    let mut options = custodian_options(&pki.custodian_tls("fhi"), Duration::ZERO);
    options.tls = custodian_tls.clone();
    let custodian = start_custodian_with(catalogue, options).await;
    let developer = pki.developer_tls();
    let fhi = identity::custodian_identity("fhi");
    fixture::channel(&developer, custodian.addr, &fhi, |e| e)
        .await
        .expect("custodian up");
    tokio::time::sleep(Duration::from_millis(100)).await;
    rotate(
        &pki,
        "fhi-next",
        "custodian/fhi",
        true,
        &pki.pki.custodian_cert("fhi"),
        &pki.pki.custodian_key("fhi"),
    );
    let new = der_of(&pki.pki.custodian_cert("fhi"));
    assert_ne!(presented(&developer, custodian.addr, &fhi).await, new);
    // SAFETY: kill(2) with our own pid and a signal that has a handler installed.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGHUP);
    }
    hangup.recv().await;
    let mut reloaded = false;
    for _ in 0..20 {
        if presented(&developer, custodian.addr, &fhi).await == new {
            reloaded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(reloaded, "SIGHUP reloads the certificate within 2 s");
    assert_eq!(custodian_tls.generation(), 1);
}
