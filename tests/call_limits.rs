//! Limits on calls, on a real gateway (and a real custodian) over mutual TLS: body-less
//! streams cannot hold the slots of other callers or of the health check, one identity over
//! its limit is refused with the limit named while another is served, a caller without a
//! deadline gets an answer within the server's default, and readers that open no HTTP/2
//! window are cut at the send timeout with the gateway's memory bounded. The abusive clients
//! speak raw HTTP/2 (the `h2` crate over tokio-rustls with real client certificates).
//! Loopback only, bounded in count and time.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use bytes::Bytes;
use fixture::{
    Federation, Pki, bundled, gateway_config,
    raw_h2::{self, SEARCH, framed, grpc_request},
    start_custodian, start_gateway,
};
use helsedata::{
    identity,
    proto::{self as pb, federated_catalogue_client::FederatedCatalogueClient},
    tls::TlsMaterial,
};
use prost::Message;
use tonic::{Code, transport::Channel};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use tonic_types::StatusExt;

fn custodian(id: &str) -> custodian_stub::catalogue::Catalogue {
    bundled()
        .into_iter()
        .find(|c| c.custodian_id() == id)
        .expect("bundled custodian")
}

/// A raw HTTP/2 connection (see [`fixture::raw_h2::connect`]).
async fn raw_h2(
    addr: SocketAddr,
    tls: &TlsMaterial,
    window: Option<u32>,
) -> (
    h2::client::SendRequest<Bytes>,
    tokio::task::JoinHandle<Result<(), h2::Error>>,
) {
    raw_h2::connect(addr, tls, window)
        .await
        .expect("a raw HTTP/2 connection")
}

async fn bodyless(
    send: &h2::client::SendRequest<Bytes>,
    addr: SocketAddr,
) -> (h2::client::ResponseFuture, h2::SendStream<Bytes>) {
    raw_h2::bodyless(send, addr).await.expect("send headers")
}

/// A `grpc-message` value with its percent-encoding undone.
fn percent_decoded(raw: &[u8]) -> String {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let hex = raw
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (raw[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The grpc-status and message of an answer (trailers-only, or after the body).
async fn grpc_status(response: h2::client::ResponseFuture) -> Result<(i32, String), h2::Error> {
    let response = response.await?;
    let read = |headers: &http::HeaderMap| {
        headers.get("grpc-status").map(|s| {
            (
                s.to_str().ok().and_then(|s| s.parse().ok()).unwrap_or(-1),
                headers
                    .get("grpc-message")
                    .map(|m| percent_decoded(m.as_bytes()))
                    .unwrap_or_default(),
            )
        })
    };
    if let Some(status) = read(response.headers()) {
        return Ok(status);
    }
    let mut body = response.into_body();
    while let Some(chunk) = body.data().await {
        let chunk = chunk?;
        let _ = body.flow_control().release_capacity(chunk.len());
    }
    let trailers = body.trailers().await?.unwrap_or_default();
    Ok(read(&trailers).unwrap_or((-1, String::new())))
}

async fn client(tls: &TlsMaterial, addr: SocketAddr) -> FederatedCatalogueClient<Channel> {
    let channel = fixture::channel(tls, addr, &identity::gateway_identity(), |e| e)
        .await
        .expect("client connects");
    FederatedCatalogueClient::new(channel).max_decoding_message_size(64 << 20)
}

async fn health(tls: &TlsMaterial, addr: SocketAddr) -> HealthClient<Channel> {
    let channel = fixture::channel(tls, addr, &identity::gateway_identity(), |e| e)
        .await
        .expect("health client connects");
    HealthClient::new(channel)
}

#[tokio::test]
async fn bodyless_streams_take_no_slot_from_a_normal_client_or_the_health_check() {
    let pki = Pki::new(&["fhi"]);
    let fhi = start_custodian(&pki, "fhi", custodian("fhi"), Duration::ZERO).await;
    let mut config = gateway_config(&pki, &[("fhi", &fhi)]);
    config.limits.request_message_timeout_ms = 3_000;
    // Concurrency is under test here, not the rate (400 streams opened at once would
    // exceed the default burst).
    config.limits.requests_per_second_per_identity = 0;
    let gateway = start_gateway(config.clone()).await;
    let developer = pki.developer_tls();
    let mut normal = client(&developer, gateway.addr).await;
    let mut checks = health(&developer, gateway.addr).await;
    normal
        .list_custodians(pb::ListCustodiansRequest { refresh: false })
        .await
        .expect("served before the attack");

    // Several connections of another identity, each with as many body-less streams as its
    // per-connection limit: more than that identity may hold.
    let attacker = pki.client_tls("idle", "helsedataservice/idle");
    let per_connection = config.limits.max_concurrent_requests_per_connection;
    let connections = 4;
    let started = Instant::now();
    let mut held = Vec::new();
    let mut kept = Vec::new();
    for _ in 0..connections {
        let (send, task) = raw_h2(gateway.addr, &attacker, None).await;
        for _ in 0..per_connection {
            held.push(bodyless(&send, gateway.addr).await);
        }
        kept.push((send, task));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    // While they are held, the normal client and the health check are served every time.
    for _ in 0..30 {
        normal
            .list_custodians(pb::ListCustodiansRequest { refresh: false })
            .await
            .expect("the normal client is served during the attack");
        let status = checks
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .expect("the health check is answered during the attack")
            .into_inner()
            .status;
        assert_eq!(status, ServingStatus::Serving as i32);
    }

    // Every body-less stream is answered: refused at once over the identity's limit, or
    // DEADLINE_EXCEEDED at the request-message timeout, which frees its slot.
    let mut timed_out = 0;
    let mut refused = 0;
    for (response, _send) in held {
        let (code, message) = tokio::time::timeout(Duration::from_secs(30), grpc_status(response))
            .await
            .expect("the stream is answered in bounded time")
            .expect("an answer, not a reset");
        match Code::from(code) {
            Code::DeadlineExceeded => {
                assert!(message.contains("request message"), "{message}");
                timed_out += 1;
            }
            Code::ResourceExhausted => {
                assert!(message.contains("identity"), "{message}");
                refused += 1;
            }
            other => panic!("unexpected answer {other:?}: {message}"),
        }
    }
    // Streams opened after the first ones timed out may take their freed slots.
    assert!(
        timed_out >= config.limits.max_concurrent_requests_per_identity && refused > 0,
        "{timed_out} held to the timeout, {refused} refused over the identity's limit"
    );
    assert_eq!(timed_out + refused, connections * per_connection);
    assert!(
        started.elapsed() >= Duration::from_millis(2_500),
        "the body-less streams were held until the request-message timeout"
    );
    // Their slots are free again: the attacker's identity is served normally.
    let mut reformed = client(&attacker, gateway.addr).await;
    reformed
        .list_custodians(pb::ListCustodiansRequest { refresh: false })
        .await
        .expect("served once its streams are gone");
}

#[tokio::test]
async fn an_identity_over_its_limit_is_refused_naming_the_limit_while_another_is_served() {
    let pki = Pki::new(&["fhi"]);
    let fhi = start_custodian(&pki, "fhi", custodian("fhi"), Duration::ZERO).await;
    let mut config = gateway_config(&pki, &[("fhi", &fhi)]);
    config.limits.max_concurrent_requests_per_identity = 5;
    config.limits.request_message_timeout_ms = 20_000;
    let gateway = start_gateway(config).await;
    let greedy = pki.client_tls("greedy", "helsedataservice/greedy");
    let greedy_id = format!(
        "spiffe://{}/helsedataservice/greedy",
        identity::DEV_TRUST_DOMAIN
    );

    let (send, _task) = raw_h2(gateway.addr, &greedy, None).await;
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(bodyless(&send, gateway.addr).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    // A sixth call of the same identity, on another connection: refused, naming the limit.
    let mut greedy_client = client(&greedy, gateway.addr).await;
    let status = greedy_client
        .list_custodians(pb::ListCustodiansRequest { refresh: false })
        .await
        .expect_err("over its limit");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(
        status
            .message()
            .contains(&format!("identity `{greedy_id}`"))
            && status.message().contains("per caller identity")
            && status.message().contains('5'),
        "{}",
        status.message()
    );
    let details = status.get_error_details();
    let quota = details.quota_failure().expect("QuotaFailure details");
    assert_eq!(quota.violations[0].subject, format!("identity:{greedy_id}"));
    assert!(details.retry_info().is_some(), "RetryInfo details");

    // Another identity is served, and the greedy one's health check too (its own pool).
    let mut developer = client(&pki.developer_tls(), gateway.addr).await;
    developer
        .list_custodians(pb::ListCustodiansRequest { refresh: false })
        .await
        .expect("another identity is served");
    let mut checks = health(&greedy, gateway.addr).await;
    checks
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("the health check is answered");

    // Once its streams end, the identity is served again.
    drop(held);
    drop(send);
    let mut served = false;
    for _ in 0..50 {
        if greedy_client
            .list_custodians(pb::ListCustodiansRequest { refresh: false })
            .await
            .is_ok()
        {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        served,
        "the identity's slots came back when its streams ended"
    );
}

#[tokio::test]
async fn an_identity_over_its_rate_is_refused_with_the_wait_and_its_connection_paused() {
    let pki = Pki::new(&["fhi"]);
    let fhi = start_custodian(&pki, "fhi", custodian("fhi"), Duration::ZERO).await;
    let mut config = gateway_config(&pki, &[("fhi", &fhi)]);
    config.limits.requests_per_second_per_identity = 1;
    config.limits.request_burst_per_identity = 3;
    let gateway = start_gateway(config).await;
    let hasty = pki.client_tls("hasty", "helsedataservice/hasty");
    let hasty_id = format!(
        "spiffe://{}/helsedataservice/hasty",
        identity::DEV_TRUST_DOMAIN
    );
    let mut hasty_client = client(&hasty, gateway.addr).await;
    let list = || pb::ListCustodiansRequest { refresh: false };

    // The burst is served; the next call is refused with the wait until one is admitted.
    for i in 0..3 {
        hasty_client
            .list_custodians(list())
            .await
            .unwrap_or_else(|e| panic!("call {i} of the burst: {e:?}"));
    }
    let status = hasty_client
        .list_custodians(list())
        .await
        .expect_err("over its rate");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(
        status.message().contains(&format!("identity `{hasty_id}`"))
            && status.message().contains("1 calls a second")
            && status.message().contains("rate limit"),
        "{}",
        status.message()
    );
    let details = status.get_error_details();
    let quota = details.quota_failure().expect("QuotaFailure details");
    assert_eq!(quota.violations[0].subject, format!("identity:{hasty_id}"));
    let wait = details
        .retry_info()
        .and_then(|r| r.retry_delay)
        .expect("RetryInfo with the wait");
    assert!(
        wait > Duration::from_millis(500) && wait <= Duration::from_secs(1),
        "one call a second: the next is due within a second, {wait:?}"
    );

    // Meanwhile its connection is not read: the next call on it is answered (admitted) only
    // once the wait is over, while another identity is served at once.
    let sent = Instant::now();
    let paused = tokio::spawn(async move {
        let result = hasty_client.list_custodians(list()).await;
        (result, sent.elapsed())
    });
    let mut developer = client(&pki.developer_tls(), gateway.addr).await;
    developer
        .list_custodians(list())
        .await
        .expect("another identity is served");
    let (result, waited) = paused.await.expect("the paused call's task");
    result.expect("admitted once the wait is over");
    assert!(
        waited >= Duration::from_millis(400),
        "the call waited for the pause to end ({waited:?})"
    );
}

#[tokio::test]
async fn a_caller_without_a_deadline_is_answered_within_the_server_default() {
    let pki = Pki::new(&["fhi"]);
    // The custodian stalls far beyond every deadline below.
    let fhi = start_custodian(&pki, "fhi", custodian("fhi"), Duration::from_secs(30)).await;
    let mut config = gateway_config(&pki, &[("fhi", &fhi)]);
    config.limits.default_deadline_ms = 1_500;
    // The custodian's own call timeout is longer: only the server's default can cut it.
    config.defaults.timeout_ms = 20_000;
    let gateway = start_gateway(config).await;
    let mut client = client(&pki.developer_tls(), gateway.addr).await;

    let started = Instant::now();
    // No grpc-timeout is sent.
    let answer = client
        .search_data_sources(pb::SearchDataSourcesRequest::default())
        .await;
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1_200) && took < Duration::from_secs(10),
        "answered after {took:?}, not at the 1.5 s default"
    );
    match answer {
        Ok(answer) => {
            let outcome = &answer.get_ref().custodians[0];
            assert_eq!(
                outcome.status,
                pb::OutcomeStatus::CallerDeadline as i32,
                "{outcome:?}"
            );
        }
        Err(status) => assert!(
            matches!(status.code(), Code::DeadlineExceeded | Code::Unavailable),
            "{status:?}"
        ),
    }

    // The custodian has a default of its own for callers that send none.
    let mut options =
        fixture::custodian_options(&pki.custodian_tls("fhi"), Duration::from_secs(30));
    options.request_limits.deadline.default = Duration::from_millis(1_000);
    let stalled = fixture::start_custodian_with(custodian("fhi"), options).await;
    let mut direct = fixture::custodian_client(&pki, &stalled, "fhi").await;
    let started = Instant::now();
    let status = direct
        .get_custodian_info(pb::GetCustodianInfoRequest {})
        .await
        .expect_err("cut at the custodian's default deadline");
    let took = started.elapsed();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_secs(10),
        "answered after {took:?}"
    );
}

/// The resident set of this process (the gateway runs in it), in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmRSS")
        * 1024
}

#[tokio::test]
async fn readers_that_open_no_window_are_cut_at_the_send_timeout_with_memory_bounded() {
    let federation = Federation::start_with(|config| {
        config.connections.send_timeout_ms = 2_000;
        config
            .connections
            .max_buffered_response_bytes_per_connection = 2 << 20;
        config.connections.max_buffered_response_bytes = 32 << 20;
    })
    .await;
    let addr = federation.gateway.addr;
    let search = pb::SearchDataSourcesRequest {
        page_size: 500,
        view: pb::DataSourceView::Full as i32,
        ..Default::default()
    };
    let mut normal = federation.client().await;
    let answer = normal
        .search_data_sources(search.clone())
        .await
        .expect("warm-up search");
    let answer_bytes = answer.get_ref().encoded_len();
    assert!(
        answer_bytes > 50_000,
        "a large answer: {answer_bytes} bytes"
    );
    let baseline = rss();

    // Readers that announce a zero window: every answer stays with the gateway.
    let reader = federation
        .pki
        .client_tls("reader", "helsedataservice/reader");
    // Fewer streams in all than the identity may hold, so that every connection holds some.
    let connections = 6;
    let streams = 40;
    let mut tasks = Vec::new();
    let mut responses = Vec::new();
    for _ in 0..connections {
        let (send, task) = raw_h2(addr, &reader, Some(0)).await;
        let first_sent = Instant::now();
        for _ in 0..streams {
            let mut ready = send.clone().ready().await.expect("stream slot");
            let (response, mut body) = ready
                .send_request(grpc_request(addr, SEARCH), false)
                .expect("send headers");
            body.send_data(framed(&search), true).expect("send message");
            responses.push(response);
        }
        // When the gateway closes the connection.
        let closed = tokio::spawn(async move {
            let _ = task.await;
            Instant::now()
        });
        tasks.push((send, first_sent, closed));
    }
    let attack_started = Instant::now();

    // Meanwhile the normal client is served, and the gateway's memory is sampled.
    let mut peak = baseline;
    while attack_started.elapsed() < Duration::from_secs(4) {
        normal
            .search_data_sources(search.clone())
            .await
            .expect("the normal client is served during the attack");
        peak = peak.max(rss());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Each reader's connection is closed at the send timeout (its streams reset), not before.
    for (_send, first_sent, closed) in tasks {
        let at = tokio::time::timeout(Duration::from_secs(30), closed)
            .await
            .expect("a stalled reader's connection is closed")
            .expect("watcher");
        let after = at.duration_since(first_sent);
        assert!(
            after >= Duration::from_millis(1_900),
            "closed {after:?} after its first request, before the 2 s send timeout"
        );
        peak = peak.max(rss());
    }
    for response in responses {
        // Each stream ends: reset with its connection, or refused over the limits.
        let _ = tokio::time::timeout(Duration::from_secs(5), response)
            .await
            .expect("every stream ends");
    }
    let growth = peak.saturating_sub(baseline);
    println!(
        "{} zero-window streams of {answer_bytes}-byte answers: the gateway grew by {} MiB",
        connections * streams,
        growth >> 20
    );
    assert!(
        growth < 256 << 20,
        "the gateway grew by {} MiB while readers held {} answers of {answer_bytes} bytes",
        growth >> 20,
        connections * streams
    );
    normal
        .search_data_sources(search)
        .await
        .expect("served after the attack");
}
