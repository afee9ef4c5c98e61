//! Running a custodian: mutual TLS, reflection, health and graceful shutdown.

use std::{
    future::Future,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use helsedata::{
    grpc_server, proto::custodian_catalogue_server::CustodianCatalogueServer, tls::TlsMaterial,
};
use tokio::net::TcpListener;

use crate::{
    catalogue::Catalogue,
    load::{LoadError, load_file},
    service::CatalogueService,
};

/// Why a custodian could not be served.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The data file was refused.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The server failed.
    #[error("custodian server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// Reflection could not be set up.
    #[error("reflection cannot be set up: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
}

/// Loads and indexes a data file.
pub fn load_catalogue(path: &Path) -> Result<Catalogue, LoadError> {
    let loaded = load_file(path)?;
    Ok(Catalogue::new(loaded.info, loaded.sources))
}

/// Loads and indexes every `*.toml` data file of `dir`, ordered by custodian id.
pub fn load_dir(dir: &Path) -> Result<Vec<Catalogue>, LoadError> {
    let entries = std::fs::read_dir(dir).map_err(|e| LoadError {
        file: dir.to_path_buf(),
        line: 0,
        column: 0,
        field: "(directory)".into(),
        message: format!("cannot list the data files in the directory: {e}"),
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    let mut catalogues = paths
        .iter()
        .map(|p| load_catalogue(p))
        .collect::<Result<Vec<_>, _>>()?;
    catalogues.sort_by(|a, b| a.custodian_id().cmp(b.custodian_id()));
    Ok(catalogues)
}

/// Serves `catalogue` on `listener` until `shutdown` completes, then drains in-flight calls.
pub async fn serve(
    catalogue: Arc<Catalogue>,
    tls: &TlsMaterial,
    listener: TcpListener,
    added_latency: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let custodian = catalogue.custodian_id().to_string();
    let service = CustodianCatalogueServer::new(CatalogueService::new(catalogue, added_latency))
        .max_decoding_message_size(1 << 20);
    let (health, health_service) = tonic_health::server::health_reporter();
    let router = grpc_server::builder(tls)?
        .add_service(health_service)
        .add_service(service);
    let router = grpc_server::add_reflection(router)?;
    health
        .set_serving::<CustodianCatalogueServer<CatalogueService>>()
        .await;
    tracing::info!(custodian = %custodian, addr = ?listener.local_addr().ok(), "custodian serving over mutual TLS");
    router
        .serve_with_incoming_shutdown(grpc_server::incoming(listener), shutdown)
        .await?;
    tracing::info!(custodian = %custodian, "custodian stopped");
    Ok(())
}
