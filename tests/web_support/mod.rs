//! The web catalogue under test: every bundled custodian and a gateway with its HTTPS
//! listener, each on an ephemeral loopback port with real certificates (the shared
//! fixture's PKI and custodians), an HTTPS client that trusts only the test CA, and a
//! record of the events logged as errors.

#![allow(dead_code)]

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

use gateway::config::GatewayConfig;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
use tracing::{Level, Subscriber};
use tracing_subscriber::{Layer, layer::SubscriberExt};

use fixture::{Pki, Running};

/// Events logged at ERROR level by anything in this test process.
pub fn server_errors() -> Vec<String> {
    ERRORS
        .get()
        .map(|e| e.lock().map(|v| v.clone()).unwrap_or_default())
        .unwrap_or_default()
}

static ERRORS: OnceLock<Arc<Mutex<Vec<String>>>> = OnceLock::new();

struct ErrorRecorder(Arc<Mutex<Vec<String>>>);

impl<S: Subscriber> Layer<S> for ErrorRecorder {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if *event.metadata().level() == Level::ERROR
            && let Ok(mut errors) = self.0.lock()
        {
            errors.push(format!("{}: {:?}", event.metadata().target(), event));
        }
    }
}

fn record_errors() {
    ERRORS.get_or_init(|| {
        let errors = Arc::new(Mutex::new(Vec::new()));
        let subscriber = tracing_subscriber::registry()
            .with(ErrorRecorder(errors.clone()))
            .with(
                tracing_subscriber::fmt::layer()
                    .with_test_writer()
                    .with_filter(tracing_subscriber::filter::LevelFilter::WARN),
            );
        let _ = tracing::subscriber::set_global_default(subscriber);
        errors
    });
}

/// An answer over HTTPS.
pub struct Reply {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "answer {} is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }
}

/// Custodians, and a gateway serving gRPC and the web catalogue.
pub struct WebFederation {
    pub pki: Pki,
    pub custodians: Vec<(String, Running)>,
    pub config: GatewayConfig,
    /// The gateway (its gRPC address); stopping it stops the web listener too.
    pub gateway: Option<Running>,
    pub web: SocketAddr,
}

impl WebFederation {
    /// Starts everything; `adjust` may change the gateway configuration first.
    pub async fn start(adjust: impl FnOnce(&mut GatewayConfig)) -> Self {
        Self::start_with_slow(&[], Duration::ZERO, adjust).await
    }

    /// Starts everything, the custodians in `slow` answering each call after `latency`.
    pub async fn start_with_slow(
        slow: &[&str],
        latency: Duration,
        adjust: impl FnOnce(&mut GatewayConfig),
    ) -> Self {
        Self::start_catalogues(fixture::bundled(), slow, latency, adjust).await
    }

    /// Starts every bundled custodian and the custodians of `extra` (each owning the source
    /// ids that start with its id and a `-`).
    pub async fn start_with_extra(
        extra: Vec<custodian_stub::catalogue::Catalogue>,
        adjust: impl FnOnce(&mut GatewayConfig),
    ) -> Self {
        let mut catalogues = fixture::bundled();
        catalogues.extend(extra);
        Self::start_catalogues(catalogues, &[], Duration::ZERO, adjust).await
    }

    async fn start_catalogues(
        catalogues: Vec<custodian_stub::catalogue::Catalogue>,
        slow: &[&str],
        latency: Duration,
        adjust: impl FnOnce(&mut GatewayConfig),
    ) -> Self {
        record_errors();
        let pki = Pki::for_catalogues(&catalogues);
        let mut custodians = Vec::new();
        for catalogue in catalogues {
            let id = catalogue.custodian_id().to_string();
            let delay = if slow.contains(&id.as_str()) {
                latency
            } else {
                Duration::ZERO
            };
            let running = fixture::start_custodian(&pki, &id, catalogue, delay).await;
            custodians.push((id, running));
        }
        let refs: Vec<(&str, &Running)> =
            custodians.iter().map(|(id, r)| (id.as_str(), r)).collect();
        let mut config = fixture::gateway_config(&pki, &refs);
        config.web.enabled = true;
        config.web.requests_per_second = 10_000;
        config.web.burst = 10_000;
        adjust(&mut config);
        let (grpc_listener, grpc) = fixture::ephemeral().await;
        let (web_listener, web) = fixture::ephemeral().await;
        let serve_config = config.clone();
        let gateway = Running::spawn(grpc_listener, grpc, move |listener, stop| async move {
            let stopped = async move {
                let _ = stop.await;
            };
            gateway::server::serve_with_web(serve_config, listener, Some(web_listener), stopped)
                .await
                .expect("gateway serves");
        });
        let federation = Self {
            pki,
            custodians,
            config,
            gateway: Some(gateway),
            web,
        };
        let listening = async {
            while tokio::net::TcpStream::connect(web).await.is_err() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(60), listening)
            .await
            .expect("the web catalogue listens within 60 s");
        federation
    }

    /// The base URL of the web catalogue.
    pub fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.web)
    }

    /// Stops one custodian (an outage).
    pub async fn stop_custodian(&mut self, id: &str) {
        let index = self
            .custodians
            .iter()
            .position(|(c, _)| c == id)
            .expect("custodian exists");
        let (_, running) = self.custodians.remove(index);
        running.stop().await;
    }

    /// Stops the gateway and every custodian, and waits for them.
    pub async fn stop(mut self) {
        if let Some(gateway) = self.gateway.take() {
            gateway.stop().await;
        }
        for (_, running) in self.custodians.drain(..) {
            running.stop().await;
        }
    }

    /// base64 of the SHA-256 of the gateway certificate's public key (what a browser is told
    /// to trust).
    pub fn spki_sha256(&self) -> String {
        let pem = std::fs::read(self.pki.pki.gateway_cert()).expect("gateway certificate");
        let der = CertificateDer::from_pem_slice(&pem).expect("PEM certificate");
        let (_, cert) = x509_parser::parse_x509_certificate(&der).expect("X.509");
        let digest = ring::digest::digest(&ring::digest::SHA256, cert.public_key().raw);
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, digest.as_ref())
    }

    fn tls(&self, alpn: &[&[u8]]) -> tokio_rustls::TlsConnector {
        let pem = std::fs::read(self.pki.pki.ca_cert()).expect("CA");
        let mut roots = rustls::RootCertStore::empty();
        for ca in CertificateDer::pem_slice_iter(&pem) {
            roots.add(ca.expect("CA PEM")).expect("CA");
        }
        let mut config =
            rustls::ClientConfig::builder_with_provider(helsedata::tls::crypto_provider())
                .with_safe_default_protocol_versions()
                .expect("TLS versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        tokio_rustls::TlsConnector::from(Arc::new(config))
    }

    async fn connect(
        &self,
        alpn: &[&[u8]],
    ) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
        let tcp = tokio::net::TcpStream::connect(self.web)
            .await
            .expect("connect");
        let name = ServerName::IpAddress(self.web.ip().into());
        self.tls(alpn)
            .connect(name, tcp)
            .await
            .expect("TLS handshake with the gateway's certificate")
    }

    /// The end-entity certificate (DER) the listener presents to a new connection.
    pub async fn presented_certificate(&self) -> Vec<u8> {
        let stream = self.connect(&[b"http/1.1"]).await;
        stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|c| c.first())
            .map(|c| c.to_vec())
            .expect("the listener presents a certificate")
    }

    /// The protocol the server chose when offered `alpn`.
    pub async fn negotiated(&self, alpn: &[&[u8]]) -> Option<Vec<u8>> {
        let stream = self.connect(alpn).await;
        stream.get_ref().1.alpn_protocol().map(|p| p.to_vec())
    }

    /// One request over HTTP/1.1.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Reply {
        let stream = self.connect(&[b"http/1.1"]).await;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("HTTP/1.1 handshake");
        tokio::spawn(connection);
        let mut builder = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", self.web.to_string());
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let request = builder.body(Full::new(Bytes::from(body))).expect("request");
        let response = sender.send_request(request).await.expect("answer");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes().to_vec())
            .unwrap_or_default();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.request("GET", path, &[], Vec::new()).await
    }

    pub async fn post_json(&self, path: &str, body: &str) -> Reply {
        self.request(
            "POST",
            path,
            &[("content-type", "application/json")],
            body.as_bytes().to_vec(),
        )
        .await
    }
}
