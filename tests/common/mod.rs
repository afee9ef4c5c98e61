//! The one fixture of the integration tests: a throw-away dev PKI, custodians and gateways
//! started on ephemeral loopback ports with real certificates, and clients for both.

#![allow(dead_code)]

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use custodian_stub::catalogue::Catalogue;
use dev_certs::DevPki;
use gateway::config::{CustodianConfig, GatewayConfig};
use helsedata::{
    identity,
    proto::{
        custodian_catalogue_client::CustodianCatalogueClient,
        federated_catalogue_client::FederatedCatalogueClient,
    },
    tls::{TlsFiles, TlsMaterial},
};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tonic::transport::Channel;

/// A path inside the repository.
pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// The extracted seed catalogue in ../shared.
pub fn seed_catalogue() -> Vec<serde_json::Value> {
    let path = repo_path("../shared/catalogue/seed-catalogue.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("seed catalogue is JSON")
}

/// The bundled custodian catalogues.
pub fn bundled() -> Vec<Catalogue> {
    gateway::demo::load_bundled(&repo_path("custodian-stub/data")).expect("bundled data files load")
}

/// A dev PKI in a temporary directory.
pub struct Pki {
    _dir: tempfile::TempDir,
    pub pki: DevPki,
}

impl Pki {
    pub fn new(custodians: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let pki = DevPki::new(dir.path());
        let ids: Vec<String> = custodians.iter().map(|s| s.to_string()).collect();
        pki.generate(&ids).expect("dev PKI");
        Self { _dir: dir, pki }
    }

    /// A PKI with a certificate for the custodian of every catalogue.
    pub fn for_catalogues(catalogues: &[Catalogue]) -> Self {
        let ids: Vec<&str> = catalogues.iter().map(|c| c.custodian_id()).collect();
        Self::new(&ids)
    }

    pub fn custodian_tls(&self, id: &str) -> TlsMaterial {
        TlsMaterial::load(&TlsFiles {
            ca: self.pki.ca_cert(),
            cert: self.pki.custodian_cert(id),
            key: self.pki.custodian_key(id),
        })
        .expect("custodian TLS")
    }

    pub fn gateway_files(&self) -> TlsFiles {
        TlsFiles {
            ca: self.pki.ca_cert(),
            cert: self.pki.gateway_cert(),
            key: self.pki.gateway_key(),
        }
    }

    pub fn developer_tls(&self) -> TlsMaterial {
        TlsMaterial::load(&TlsFiles {
            ca: self.pki.ca_cert(),
            cert: self.pki.client_cert(),
            key: self.pki.client_key(),
        })
        .expect("developer TLS")
    }
}

/// A server running in the background until stopped or dropped.
pub struct Running {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

impl Running {
    /// A handle on a server started elsewhere (it is not stopped by this handle).
    pub fn at(addr: SocketAddr) -> Self {
        Self {
            addr,
            stop: None,
            handle: None,
        }
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.handle.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), handle).await;
        }
    }

    pub fn endpoint(&self) -> String {
        format!("https://{}", self.addr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.abort();
        }
    }
}

async fn ephemeral() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    (listener, addr)
}

/// Starts a custodian serving `catalogue` with the certificate of `cert_id`.
pub async fn start_custodian(
    pki: &Pki,
    cert_id: &str,
    catalogue: Catalogue,
    latency: Duration,
) -> Running {
    let tls = pki.custodian_tls(cert_id);
    let (listener, addr) = ephemeral().await;
    let (tx, rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(async move {
        let stopped = async move {
            let _ = rx.await;
        };
        custodian_stub::server::serve(Arc::new(catalogue), &tls, listener, latency, stopped)
            .await
            .expect("custodian serves");
    });
    Running {
        addr,
        stop: Some(tx),
        handle: Some(handle),
    }
}

/// A gateway configuration for these custodians, with the bundled ownership lists.
pub fn gateway_config(pki: &Pki, custodians: &[(&str, &Running)]) -> GatewayConfig {
    let bundled =
        GatewayConfig::from_toml(gateway::config::DEFAULT_CONFIG).expect("bundled config");
    let mut config = bundled.clone();
    config.listen = "127.0.0.1:0".parse().expect("addr");
    config.tls = pki.gateway_files();
    config.national_rules = repo_path("gateway/config/national-rules.toml");
    config.defaults.timeout_ms = 1_000;
    // Tests that want the web catalogue start it on an ephemeral port themselves.
    config.web.enabled = false;
    config.custodians = custodians
        .iter()
        .map(|(id, running)| {
            let owns = bundled
                .custodians
                .iter()
                .find(|c| c.id == *id)
                .map(|c| c.owns.clone())
                .unwrap_or_else(|| vec![format!("{id}-*")]);
            CustodianConfig {
                id: id.to_string(),
                endpoint: running.endpoint(),
                identity: None,
                server_name: None,
                timeout_ms: None,
                owns,
            }
        })
        .collect();
    config
}

/// Starts a gateway with `config` (its `listen` is replaced by an ephemeral port).
pub async fn start_gateway(config: GatewayConfig) -> Running {
    let (listener, addr) = ephemeral().await;
    let (tx, rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(async move {
        let stopped = async move {
            let _ = rx.await;
        };
        gateway::server::serve(config, listener, stopped)
            .await
            .expect("gateway serves");
    });
    Running {
        addr,
        stop: Some(tx),
        handle: Some(handle),
    }
}

/// A developer's client of the gateway.
pub async fn gateway_client(pki: &Pki, gateway: &Running) -> FederatedCatalogueClient<Channel> {
    let endpoint = pki
        .developer_tls()
        .client_endpoint(&gateway.endpoint(), &identity::gateway_identity(), None)
        .expect("endpoint");
    FederatedCatalogueClient::new(connect(endpoint).await).max_decoding_message_size(64 << 20)
}

/// A developer's client of a custodian.
pub async fn custodian_client(
    pki: &Pki,
    custodian: &Running,
    id: &str,
) -> CustodianCatalogueClient<Channel> {
    let endpoint = pki
        .developer_tls()
        .client_endpoint(
            &custodian.endpoint(),
            &identity::custodian_identity(id),
            None,
        )
        .expect("endpoint");
    CustodianCatalogueClient::new(connect(endpoint).await)
}

async fn connect(endpoint: tonic::transport::Endpoint) -> Channel {
    for _ in 0..50 {
        if let Ok(channel) = endpoint.connect().await {
            return channel;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server did not come up");
}

/// Every bundled custodian started, and a gateway in front of them.
pub struct Federation {
    pub pki: Pki,
    pub custodians: Vec<(String, Running)>,
    pub gateway: Running,
    pub config: GatewayConfig,
}

impl Federation {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts everything; `adjust` may change the gateway configuration first.
    pub async fn start_with(adjust: impl FnOnce(&mut GatewayConfig)) -> Self {
        let catalogues = bundled();
        let pki = Pki::for_catalogues(&catalogues);
        let mut custodians = Vec::new();
        for catalogue in catalogues {
            let id = catalogue.custodian_id().to_string();
            let running = start_custodian(&pki, &id, catalogue, Duration::ZERO).await;
            custodians.push((id, running));
        }
        let refs: Vec<(&str, &Running)> =
            custodians.iter().map(|(id, r)| (id.as_str(), r)).collect();
        let mut config = gateway_config(&pki, &refs);
        adjust(&mut config);
        let gateway = start_gateway(config.clone()).await;
        Self {
            pki,
            custodians,
            gateway,
            config,
        }
    }

    pub async fn client(&self) -> FederatedCatalogueClient<Channel> {
        gateway_client(&self.pki, &self.gateway).await
    }

    /// Stops one custodian (simulating an outage).
    pub async fn stop_custodian(&mut self, id: &str) {
        let index = self
            .custodians
            .iter()
            .position(|(c, _)| c == id)
            .expect("custodian exists");
        let (_, running) = self.custodians.remove(index);
        running.stop().await;
    }
}
