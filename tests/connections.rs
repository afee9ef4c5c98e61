//! Connection-level limits of the shared acceptor, on a real gateway and a real custodian:
//! the connection cap, the TLS handshake timeout, and the idle timeout for connections that
//! complete TLS and then send nothing. Loopback only, bounded in count and time.

use std::{
    net::Ipv4Addr,
    time::{Duration, Instant},
};

use fixture::{
    Pki, bundled, custodian_options, gateway_config, start_custodian, start_custodian_with,
    start_gateway,
};
use helsedata::{
    identity,
    proto::{self as pb, federated_catalogue_client::FederatedCatalogueClient},
};
use rustls_pki_types::ServerName;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tokio_rustls::TlsConnector;

fn fhi() -> custodian_stub::catalogue::Catalogue {
    bundled()
        .into_iter()
        .find(|c| c.custodian_id() == "fhi")
        .expect("fhi")
}

/// Waits until the server closes `stream` (EOF or error); returns how long that took.
async fn closed_within<S: tokio::io::AsyncRead + Unpin>(
    stream: &mut S,
    limit: Duration,
) -> Duration {
    let started = Instant::now();
    let mut buf = [0u8; 256];
    loop {
        match tokio::time::timeout(limit, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => continue,
            Err(_) => panic!("the server did not close the connection within {limit:?}"),
        }
    }
}

async fn call(
    client: &mut FederatedCatalogueClient<tonic::transport::Channel>,
) -> Result<(), tonic::Status> {
    client
        .list_custodians(pb::ListCustodiansRequest { refresh: false })
        .await
        .map(|_| ())
}

#[tokio::test]
async fn the_gateway_caps_connections_and_cuts_slow_handshakes() {
    let pki = Pki::new(&["fhi"]);
    let custodian = start_custodian(&pki, "fhi", fhi(), Duration::ZERO).await;
    let mut config = gateway_config(&pki, &[("fhi", &custodian)]);
    config.connections.max_connections = 3;
    config.connections.handshake_timeout_ms = 400;
    let gateway = start_gateway(config).await;
    let mut client = fixture::gateway_client(&pki, &gateway).await;
    call(&mut client).await.expect("served");

    // Two connections that never start TLS fill the cap (with the client's, three).
    let mut silent = Vec::new();
    for _ in 0..2 {
        silent.push(TcpStream::connect(gateway.addr).await.expect("tcp"));
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    // Over the cap: closed at once, before any TLS.
    let mut over = TcpStream::connect(gateway.addr).await.expect("tcp");
    let took = closed_within(&mut over, Duration::from_secs(2)).await;
    assert!(
        took < Duration::from_millis(350),
        "closed after {took:?}, not at once"
    );
    // The client's established connection is not disturbed.
    call(&mut client).await.expect("still served");

    // The silent ones are cut at the handshake timeout, which frees their slots.
    for stream in &mut silent {
        closed_within(stream, Duration::from_secs(3)).await;
    }
    let mut second = fixture::gateway_client(&pki, &gateway).await;
    call(&mut second)
        .await
        .expect("a new client is served once slots are free");
}

/// A custodian with an idle timeout of 500 ms, and a TLS connection to it with the
/// developer's certificate (keep the custodian: dropping it stops the server).
async fn idle_connection() -> (fixture::Running, tokio_rustls::client::TlsStream<TcpStream>) {
    let pki = Pki::new(&["fhi"]);
    let mut options = custodian_options(&pki.custodian_tls("fhi"), Duration::ZERO);
    options.limits.idle_timeout = Duration::from_millis(500);
    let custodian = start_custodian_with(fhi(), options).await;
    let config = pki
        .developer_tls()
        .rustls_client_config(&identity::custodian_identity("fhi"))
        .expect("client config");
    for _ in 0..50 {
        if let Ok(tcp) = TcpStream::connect(custodian.addr).await {
            let stream = TlsConnector::from(config.clone())
                .connect(ServerName::IpAddress(Ipv4Addr::LOCALHOST.into()), tcp)
                .await
                .expect("handshake");
            return (custodian, stream);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("custodian not up at {}", custodian.addr);
}

#[tokio::test]
async fn a_connection_that_sends_nothing_after_the_handshake_is_closed() {
    // Complete TLS (so the acceptor hands the connection on), then send nothing at all.
    let (_custodian, mut stream) = idle_connection().await;
    let took = closed_within(&mut stream, Duration::from_secs(5)).await;
    assert!(
        took >= Duration::from_millis(400),
        "closed too early: {took:?}"
    );
}

#[tokio::test]
async fn a_connection_that_goes_quiet_after_reads_is_closed_after_the_idle_timeout() {
    let (_custodian, mut stream) = idle_connection().await;
    // The HTTP/2 preface and an empty SETTINGS frame, in pieces with pauses between them:
    // the server reads each and waits for more (with the same waker) before it goes quiet.
    let preface: &[&[u8]] = &[
        b"PRI * HTTP/2.0\r\n",
        b"\r\nSM\r\n\r\n",
        &[0, 0, 0, 4, 0, 0, 0, 0, 0],
    ];
    for piece in preface {
        stream.write_all(piece).await.expect("write");
        stream.flush().await.expect("flush");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let took = closed_within(&mut stream, Duration::from_secs(5)).await;
    // 500 ms after the last bytes read, of which 150 ms passed before the wait began.
    assert!(
        took >= Duration::from_millis(250),
        "closed too early: {took:?}"
    );
}

/// Log lines written while a test runs (tracing's text output into memory).
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn refused_handshakes_are_logged_once_per_interval_with_peer_and_reason() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::WARN)
        .finish();
    // Single-threaded test runtime: every task of the servers logs on this thread.
    let _guard = tracing::subscriber::set_default(subscriber);
    let pki = Pki::new(&["fhi"]);
    let custodian = start_custodian(&pki, "fhi", fhi(), Duration::ZERO).await;
    let mut config = gateway_config(&pki, &[("fhi", &custodian)]);
    config.connections.refusal_log_interval_ms = 60_000;
    let gateway = start_gateway(config).await;
    fixture::gateway_client(&pki, &gateway).await;

    // Three clients that speak plaintext HTTP instead of TLS.
    for _ in 0..3 {
        let mut tcp = TcpStream::connect(gateway.addr).await.expect("tcp");
        tokio::io::AsyncWriteExt::write_all(&mut tcp, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("write");
        closed_within(&mut tcp, Duration::from_secs(3)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let text = String::from_utf8(captured.0.lock().expect("log").clone()).expect("utf-8");
    let refused: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("TLS handshake refused"))
        .collect();
    assert_eq!(refused.len(), 1, "one line per interval, got: {refused:#?}");
    assert!(refused[0].contains("peer=127.0.0.1:"), "{}", refused[0]);
    assert!(refused[0].contains("reason="), "{}", refused[0]);
}
