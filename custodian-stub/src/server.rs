//! Running a custodian: mutual TLS through the shared acceptor (reloading certificates,
//! connection limits), authorization by caller identity, reflection, health and graceful
//! shutdown.

use std::{future::Future, path::Path, sync::Arc, time::Duration};

use helsedata::{
    acceptor::ConnectionLimits,
    authz::{AuthzLayer, Effect, Policy, Rule},
    custodian_data::{
        data_files,
        load::{LoadError, load_file},
    },
    grpc_server, identity,
    limits::{LimitsLayer, RequestLimits},
    observe::{admin::AdminConfig, audit::AuditConfig},
    proto::custodian_catalogue_server::CustodianCatalogueServer,
    reload::ReloadingTls,
    tls::TlsMaterial,
};
use tokio::net::TcpListener;
use tonic_health::{ServingStatus, server::HealthReporter};

use crate::{catalogue::Catalogue, live::LiveCatalogue, service::CatalogueService};

/// Why a custodian could not be served.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The data file was refused.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The server failed.
    #[error("custodian server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The server could not be set up.
    #[error(transparent)]
    Setup(#[from] helsedata::grpc_server::SetupError),
}

helsedata::from_setup_errors!(ServeError);

/// Identities an operator's certificate carries by default.
pub fn default_operator_identities() -> Vec<String> {
    vec![format!(
        "spiffe://{}/operator/*",
        identity::DEV_TRUST_DOMAIN
    )]
}

/// The custodian's authorization: the gateway (`gateways`) and operators may call
/// everything; anyone else is refused.
pub fn custodian_policy(
    gateways: &[String],
    operators: &[String],
) -> Result<Policy, helsedata::authz::PolicyError> {
    let mut rules = vec![Rule {
        name: "gateway".into(),
        effect: Effect::Allow,
        identities: gateways.to_vec(),
        methods: vec!["*".into()],
    }];
    if !operators.is_empty() {
        rules.push(Rule {
            name: "operators".into(),
            effect: Effect::Allow,
            identities: operators.to_vec(),
            methods: vec!["*".into()],
        });
    }
    Policy::new(rules)
}

/// How a custodian is served.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Its TLS material, reloaded when the files change.
    pub tls: Arc<ReloadingTls>,
    /// Connection cap and timeouts, and the bounds on answer bytes held for clients.
    pub limits: ConnectionLimits,
    /// Deadlines, the request-message timeout and the bounds on calls in flight.
    pub request_limits: RequestLimits,
    /// Who may call it.
    pub policy: Policy,
    /// Delay added to every answer (zero in production; for load and fault tests).
    pub added_latency: Duration,
    /// Where the audit records of its calls go (off by default).
    pub audit: AuditConfig,
    /// Its admin listener with `/metrics` (off by default).
    pub admin: AdminConfig,
}

impl ServeOptions {
    /// Fixed TLS material, default limits, and the gateway and default operators allowed.
    pub fn new(tls: &TlsMaterial, added_latency: Duration) -> Result<Self, ServeError> {
        Ok(Self {
            tls: ReloadingTls::fixed(tls.clone())?,
            limits: ConnectionLimits::default(),
            request_limits: RequestLimits::default(),
            policy: custodian_policy(
                &[identity::gateway_identity()],
                &default_operator_identities(),
            )?,
            added_latency,
            audit: AuditConfig::default(),
            admin: AdminConfig::default(),
        })
    }
}

/// Loads and indexes a data file.
pub fn load_catalogue(path: &Path) -> Result<Catalogue, LoadError> {
    let loaded = load_file(path)?;
    Ok(Catalogue::new(loaded.info, loaded.sources))
}

/// Loads and indexes every `*.toml` data file of `dir`, ordered by custodian id.
pub fn load_dir(dir: &Path) -> Result<Vec<Catalogue>, LoadError> {
    let mut catalogues = data_files(dir)?
        .iter()
        .map(|p| load_catalogue(p))
        .collect::<Result<Vec<_>, _>>()?;
    catalogues.sort_by(|a, b| a.custodian_id().cmp(b.custodian_id()));
    Ok(catalogues)
}

/// Loads every `*.toml` data file of `dir` as a catalogue that can be reloaded from its
/// file, ordered by custodian id.
pub fn load_dir_live(dir: &Path) -> Result<Vec<LiveCatalogue>, LoadError> {
    let mut catalogues = data_files(dir)?
        .iter()
        .map(|p| LiveCatalogue::from_file(p))
        .collect::<Result<Vec<_>, _>>()?;
    catalogues.sort_by_cached_key(|c| c.current().catalogue.custodian_id().to_string());
    Ok(catalogues)
}

/// The grpc.health service name that reports the data file: `SERVING` while the file last
/// read is the one served, `NOT_SERVING` while the latest edit is refused (the previous
/// catalogue keeps serving; `GetCustodianInfo` says why in `reload_error`).
pub const DATA_FILE_HEALTH: &str = "helsedata.federation.v1.CustodianCatalogue/data-file";

/// Serves `catalogue` (never reloaded) on `listener` with `options` until `shutdown`
/// completes, then drains in-flight calls.
pub async fn serve_with(
    catalogue: Arc<Catalogue>,
    options: ServeOptions,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let live = Arc::new(LiveCatalogue::fixed(catalogue));
    serve_live_with(live, options, listener, shutdown).await
}

/// Serves `live` on `listener` with fixed TLS material and the default options
/// ([`ServeOptions::new`]); see [`serve_live_with`].
pub async fn serve_live(
    live: Arc<LiveCatalogue>,
    tls: &TlsMaterial,
    listener: TcpListener,
    added_latency: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    serve_live_with(
        live,
        ServeOptions::new(tls, added_latency)?,
        listener,
        shutdown,
    )
    .await
}

/// Serves `live` on `listener` with `options` until `shutdown` completes, then ends the
/// watch streams and drains in-flight calls. Reloads of `live` (see [`crate::reload`]) are
/// served as they land, and the data-file health ([`DATA_FILE_HEALTH`]) follows their
/// outcome.
pub async fn serve_live_with(
    live: Arc<LiveCatalogue>,
    options: ServeOptions,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let custodian = live.current().catalogue.custodian_id().to_string();
    let service =
        CustodianCatalogueServer::new(CatalogueService::live(live.clone(), options.added_latency))
            .max_decoding_message_size(1 << 20);
    let (health, health_service) = tonic_health::server::health_reporter();
    let limits = LimitsLayer::new(options.request_limits.clone())?;
    let observed = crate::observe::Observed::start(&options, &live, &limits).await?;
    let router = grpc_server::builder()
        .layer(observed.observer.grpc_layer())
        .layer(AuthzLayer::new(options.policy))
        .layer(limits)
        .add_service(health_service)
        .add_service(service);
    let router = grpc_server::reflect_and_report::<CustodianCatalogueServer<CatalogueService>, _>(
        router, &health,
    )
    .await?;
    let reports = tokio::spawn(report_data_file_health(live.clone(), health));
    tracing::info!(custodian = %custodian, addr = ?listener.local_addr().ok(), "custodian serving over mutual TLS");
    let closing = live.clone();
    let served = grpc_server::serve_counted(
        router,
        listener,
        &options.tls,
        options.limits,
        observed.connections.clone(),
        shutdown,
        move || closing.close(),
    )
    .await;
    reports.abort();
    if let Some(admin) = observed.admin {
        admin.abort();
    }
    served?;
    tracing::info!(custodian = %custodian, "custodian stopped");
    Ok(())
}

/// Keeps [`DATA_FILE_HEALTH`] in step with the outcome of the latest reload.
async fn report_data_file_health(live: Arc<LiveCatalogue>, health: HealthReporter) {
    let mut errors = live.subscribe_reload_errors();
    loop {
        let status = if errors.borrow_and_update().is_some() {
            ServingStatus::NotServing
        } else {
            ServingStatus::Serving
        };
        health.set_service_status(DATA_FILE_HEALTH, status).await;
        if errors.changed().await.is_err() {
            return;
        }
    }
}
