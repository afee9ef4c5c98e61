//! The whole federation in one process, for trying it out: every bundled custodian on its own
//! loopback port with its own certificate, and the gateway in front of them, with a dev PKI
//! written when missing.
//!
//! Not for production: a production gateway runs `gateway serve` against custodians that each
//! run their own service.

#![warn(missing_docs)]

use std::{future::Future, path::Path, sync::Arc, time::Duration};

use custodian_stub::{
    live::LiveCatalogue,
    reload::{DEFAULT_DEBOUNCE, FileWatch, WatchError},
    server::load_dir_live,
};
use dev_certs::DevPki;
use helsedata::{
    custodian_data::load::LoadError,
    tls::{TlsFiles, TlsMaterial},
};
use tokio::{net::TcpListener, sync::watch, task::JoinSet};

use gateway::{config::GatewayConfig, server};

/// Why the demo could not start.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A data file was refused.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The configuration names a custodian that has no data file, or the reverse.
    #[error("{0}")]
    Mismatch(String),
    /// Certificates could not be written.
    #[error(transparent)]
    Certs(#[from] dev_certs::CertError),
    /// TLS material was refused.
    #[error(transparent)]
    Tls(#[from] helsedata::tls::TlsError),
    /// A data file cannot be watched for changes.
    #[error(transparent)]
    Watch(#[from] WatchError),
    /// A port could not be bound.
    #[error("cannot listen on {addr}: {source} (is another demo running?)")]
    Bind {
        /// The `host:port` a custodian or the gateway was to listen on.
        addr: String,
        /// The I/O error the operating system reported when binding.
        source: std::io::Error,
    },
    /// A server failed.
    #[error("{0}")]
    Serve(String),
}

/// The grpcurl lines the demo prints.
pub fn grpcurl_lines(config: &GatewayConfig) -> Vec<String> {
    let tls = format!(
        "-cacert {} -cert {} -key {}",
        config.tls.ca.display(),
        config
            .tls
            .cert
            .parent()
            .unwrap_or(Path::new("."))
            .join("client.pem")
            .display(),
        config
            .tls
            .cert
            .parent()
            .unwrap_or(Path::new("."))
            .join("client.key")
            .display()
    );
    let addr = config.listen;
    let svc = "helsedata.federation.v1.FederatedCatalogue";
    vec![
        format!("grpcurl {tls} {addr} list"),
        format!("grpcurl {tls} {addr} describe {svc}"),
        format!("grpcurl {tls} {addr} grpc.health.v1.Health/Check"),
        format!("grpcurl {tls} -d '{{}}' {addr} {svc}/ListCustodians"),
        format!(
            "grpcurl {tls} -d '{{\"query\": \"fodselsregister\"}}' {addr} {svc}/SearchDataSources"
        ),
        format!(
            "grpcurl {tls} -d '{{\"id\": \"mfr\", \"view\": \"DATA_SOURCE_VIEW_FULL\"}}' {addr} {svc}/GetDataSource"
        ),
        format!(
            "grpcurl {tls} -d '{{\"data_source_id\": \"mfr\", \"page_size\": 5}}' {addr} {svc}/ListVariables"
        ),
        format!("grpcurl {tls} -d '{{\"query\": \"ICD-10\"}}' {addr} {svc}/SearchVariables"),
        format!(
            "grpcurl {tls} -d '{{\"data_source_ids\": [\"npr-somatikk\", \"kreftregisteret\"], \"purpose\": \"PURPOSE_RESEARCH\", \"stage\": \"PROJECT_STAGE_NEW\", \"data_level\": \"DATA_LEVEL_DEIDENTIFIED_INDIVIDUAL\", \"linkage_wanted\": true}}' {addr} {svc}/PlanApplication"
        ),
    ]
}

/// Runs the demo until `shutdown` completes: writes dev certificates into `certs_dir` when
/// missing, serves every custodian of `data_dir` at its configured endpoint (each reloads its
/// data file when it changes), then the gateway.
pub async fn run(
    config: GatewayConfig,
    data_dir: &Path,
    certs_dir: &Path,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), DemoError> {
    let catalogues = load_dir_live(data_dir)?;
    let ids: Vec<String> = catalogues
        .iter()
        .map(|c| c.current().catalogue.custodian_id().to_string())
        .collect();
    let pki = DevPki::new(certs_dir);
    if pki.ensure(&ids)? {
        tracing::info!(dir = %certs_dir.display(), "wrote development certificates");
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut custodians = JoinSet::new();
    let mut watches = Vec::new();
    let mut catalogues: Vec<Option<LiveCatalogue>> = catalogues.into_iter().map(Some).collect();
    for custodian in &config.custodians {
        let slot = catalogues
            .iter_mut()
            .find(|c| {
                c.as_ref()
                    .is_some_and(|c| c.current().catalogue.custodian_id() == custodian.id)
            })
            .ok_or_else(|| {
                DemoError::Mismatch(format!(
                    "custodian `{}` is configured but has no data file in {}",
                    custodian.id,
                    data_dir.display()
                ))
            })?;
        let catalogue = Arc::new(slot.take().ok_or_else(|| {
            DemoError::Mismatch(format!("custodian `{}` is configured twice", custodian.id))
        })?);
        watches.push(FileWatch::start(catalogue.clone(), DEFAULT_DEBOUNCE)?);
        let tls = TlsMaterial::load(&TlsFiles::new(
            pki.ca_cert(),
            pki.custodian_cert(&custodian.id),
            pki.custodian_key(&custodian.id),
        ))?;
        let addr = custodian
            .endpoint
            .trim_start_matches("https://")
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind(&addr)
            .await
            .map_err(|source| DemoError::Bind {
                addr: addr.clone(),
                source,
            })?;
        let mut stop = stop_rx.clone();
        custodians.spawn(async move {
            let stopped = async move {
                let _ = stop.wait_for(|s| *s).await;
            };
            custodian_stub::server::serve_live(catalogue, &tls, listener, Duration::ZERO, stopped)
                .await
        });
    }
    if let Some(unused) = catalogues.iter().flatten().next() {
        tracing::warn!(custodian = %unused.current().catalogue.custodian_id(), "data file has no custodian entry in the gateway configuration; not served");
    }
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| DemoError::Bind {
            addr: config.listen.to_string(),
            source,
        })?;
    println!(
        "\nhelsedata demo: {} custodians and the gateway on {} (mutual TLS). Try:\n",
        config.custodians.len(),
        config.listen
    );
    for line in grpcurl_lines(&config) {
        println!("  {line}\n");
    }
    if config.web.enabled {
        println!(
            "  The web catalogue: https://{}/ (JSON API under /api/v1/, described at /api/openapi.json;\n  the certificate is signed by the development CA {}).\n",
            config.web.listen,
            config.tls.ca.display()
        );
    }
    println!("Ctrl-C stops everything.\n");
    let result = server::serve(config, listener, shutdown).await;
    drop(watches);
    let _ = stop_tx.send(true);
    while let Some(done) = custodians.join_next().await {
        if let Ok(Err(e)) = done {
            tracing::warn!(error = %e, "custodian stopped with an error");
        }
    }
    result.map_err(|e| DemoError::Serve(e.to_string()))
}
