//! The `FederatedCatalogue` gRPC service: one short handler per RPC (read the deadline,
//! call the federation, shape the answer), and the gateway's server set-up.

use std::{future::Future, sync::Arc, time::Duration};

use helsedata::{
    acceptor::PeerInfo,
    authz::{AuthzLayer, Policy},
    contract::{GatewayApi, Validate},
    deadline::{Arrival, Deadline},
    encoded::SearchDataSourcesAnswer,
    grpc_server,
    limits::LimitsLayer,
    proto::{
        self as pb,
        federated_catalogue_server::{FederatedCatalogue, FederatedCatalogueServer},
    },
    reload::ReloadingTls,
    status::RequestError,
};
use tokio::net::TcpListener;
use tonic::{Request, Response, Status};

use crate::{
    config::{AuthzConfig, GatewayConfig, LimitsConfig},
    federation::{Federation, RequestContext},
    planning::rules::NationalRules,
    upstream::{health_service_name, outcome},
};

/// The stream of source changes that `WatchChanges` answers with.
pub type ChangeStream = tonic::codegen::BoxStream<pb::SourceChange>;

/// The gateway's service behind a trait object, as the web surface and the in-process export
/// reader call it.
pub type DynCatalogue = dyn FederatedCatalogue<WatchChangesStream = ChangeStream>;

/// Why the gateway could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A data file was refused: the national rules file or the concept vocabulary.
    #[error(transparent)]
    Rules(#[from] crate::planning::rules::RulesError),
    /// tonic's transport failed while serving the gRPC listener.
    #[error("gateway server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The server could not be set up.
    #[error(transparent)]
    Setup(#[from] helsedata::grpc_server::SetupError),
    /// The export's IRI base (`web.public_url`) was refused.
    #[error(transparent)]
    Export(#[from] crate::export::dcat::ExportError),
    /// The web listener could not be bound.
    #[error("cannot listen on {addr} (web.listen): {source}")]
    WebBind {
        /// The `web.listen` address that could not be bound.
        addr: std::net::SocketAddr,
        /// The I/O error the operating system reported when binding.
        source: std::io::Error,
    },
}

helsedata::from_setup_errors!(ServeError);

/// Implements the FederatedCatalogue gRPC service over the federation, with its limits and access policy.
pub struct GatewayService {
    federation: Arc<Federation>,
    limits: LimitsConfig,
    authz: AuthzConfig,
}

impl GatewayService {
    /// Whether the caller of `request` is an operator (sees endpoints and transport errors).
    fn is_operator<T>(&self, request: &Request<T>) -> bool {
        PeerInfo::of(request)
            .and_then(|p| p.identity.as_ref().ok())
            .is_some_and(|id| self.authz.is_operator(id))
    }
}

impl GatewayService {
    fn context<T>(&self, request: &Request<T>) -> RequestContext {
        // The limits layer set the call's effective deadline; in-process callers (the web
        // surface) carry theirs in `grpc-timeout`.
        let deadline = Deadline::of(request).unwrap_or_else(|| {
            Deadline::from_metadata(
                request.metadata(),
                Duration::from_millis(self.limits.default_deadline_ms),
                Duration::from_millis(self.limits.max_deadline_ms),
            )
        });
        // Leave time to merge and send the answer before the caller gives up.
        let headroom =
            (deadline.remaining() / 10).min(Duration::from_millis(self.limits.max_headroom_ms));
        RequestContext::from_cache_control(
            Arrival::of(request).unwrap_or_else(|| Arrival(tokio::time::Instant::now())),
            deadline.with_headroom(headroom),
            // By the standard header's name: a lookup by `&str` parses the name anew.
            request
                .metadata()
                .as_ref()
                .get_all(http::header::CACHE_CONTROL)
                .iter()
                .filter_map(|v| v.to_str().ok()),
        )
    }
}

async fn answer<T>(
    work: impl Future<Output = Result<T, RequestError>>,
) -> Result<Response<T>, Status> {
    work.await.map(Response::new).map_err(refused)
}

/// Checks a request against the contract before any custodian is asked.
fn validated<R: Validate<GatewayApi>>(request: Request<R>) -> Result<Request<R>, Status> {
    GatewayApi::validate(request.get_ref()).map_err(refused)?;
    Ok(request)
}

fn refused(e: RequestError) -> Status {
    tracing::info!(error = %e, "request refused");
    Status::from(e)
}

#[tonic::async_trait]
impl FederatedCatalogue for GatewayService {
    async fn list_custodians(
        &self,
        request: Request<pb::ListCustodiansRequest>,
    ) -> Result<Response<pb::ListCustodiansResponse>, Status> {
        let request = validated(request)?;
        let ctx = self.context(&request);
        let operator = self.is_operator(&request);
        answer(async {
            if request.get_ref().refresh {
                self.federation.probe_all(ctx.deadline).await;
            }
            let mut custodians: Vec<pb::CustodianStatus> = self
                .federation
                .upstreams()
                .iter()
                .map(|u| custodian_status(u, operator))
                .collect();
            custodians.sort_by(|a, b| a.id.cmp(&b.id));
            Ok(pb::ListCustodiansResponse { custodians })
        })
        .await
    }

    async fn search_data_sources(
        &self,
        request: Request<pb::SearchDataSourcesRequest>,
    ) -> Result<Response<SearchDataSourcesAnswer>, Status> {
        let request = validated(request)?;
        let ctx = self.context(&request);
        let req = request.get_ref();
        answer(async {
            let view = self.federation.searchable(ctx, &req.query).await?;
            view.search_encoded(req)
        })
        .await
    }

    async fn get_data_source(
        &self,
        request: Request<pb::GetDataSourceRequest>,
    ) -> Result<Response<pb::GetDataSourceResponse>, Status> {
        let request = validated(request)?;
        let ctx = self.context(&request);
        let req = request.get_ref();
        answer(async {
            let (record, outcome) = self.federation.data_source(&req.id, ctx).await?;
            let provenance = record.provenance.clone();
            Ok(pb::GetDataSourceResponse {
                result: Some(record.to_federated(req.view, provenance, 0.0)),
                custodians: vec![outcome],
            })
        })
        .await
    }

    async fn list_variables(
        &self,
        request: Request<pb::ListVariablesRequest>,
    ) -> Result<Response<pb::FederatedListVariablesResponse>, Status> {
        let request = validated(request)?;
        let ctx = self.context(&request);
        answer(async {
            let (page, provenance, outcome) = self
                .federation
                .list_variables(request.get_ref(), ctx)
                .await?;
            Ok(pb::FederatedListVariablesResponse {
                variables: page.variables,
                next_page_token: page.next_page_token,
                total_size: page.total_size,
                provenance: Some(provenance),
                custodians: vec![outcome],
            })
        })
        .await
    }

    async fn search_variables(
        &self,
        request: Request<pb::SearchVariablesRequest>,
    ) -> Result<Response<pb::FederatedSearchVariablesResponse>, Status> {
        let request = validated(request)?;
        let ctx = self.context(&request);
        answer(self.federation.search_variables(request.get_ref(), ctx)).await
    }

    async fn plan_application(
        &self,
        request: Request<pb::PlanApplicationRequest>,
    ) -> Result<Response<pb::ApplicationPlan>, Status> {
        let request = validated(request)?;
        let ctx = self.context(&request);
        answer(self.federation.plan(request.get_ref(), ctx)).await
    }

    async fn list_changes(
        &self,
        request: Request<pb::ListChangesRequest>,
    ) -> Result<Response<pb::ListChangesResponse>, Status> {
        let request = validated(request)?;
        let req = request.get_ref();
        let limit = helsedata::paging::check_page_size(
            req.page_size,
            helsedata::contract::LIST_CHANGES_PAGE,
        )
        .map_err(|e| refused(e.into()))?;
        answer(async { self.federation.changes().list(&req.since, limit) }).await
    }

    type WatchChangesStream = ChangeStream;

    async fn watch_changes(
        &self,
        request: Request<pb::WatchChangesRequest>,
    ) -> Result<Response<Self::WatchChangesStream>, Status> {
        let request = validated(request)?;
        let stream = self
            .federation
            .changes()
            .watch(&request.get_ref().since)
            .map_err(refused)?;
        Ok(Response::new(Box::pin(stream)))
    }

    async fn get_data_source_revision(
        &self,
        request: Request<pb::GetDataSourceRevisionRequest>,
    ) -> Result<Response<pb::SourceChange>, Status> {
        let request = validated(request)?;
        let req = request.get_ref();
        answer(async {
            self.federation
                .changes()
                .as_of(&req.id, &req.catalogue_revision)
        })
        .await
    }
}

/// One custodian's status; only an `operator` sees its endpoint and the text of its last
/// failure (internal addresses, transport errors), others its outcome status alone.
fn custodian_status(upstream: &crate::upstream::Upstream, operator: bool) -> pb::CustodianStatus {
    let state = upstream.state();
    let healthy = state.last_status == pb::OutcomeStatus::Ok as i32;
    pb::CustodianStatus {
        id: upstream.id.clone(),
        name: state.name.clone(),
        endpoint: if operator {
            upstream.endpoint.clone()
        } else {
            String::new()
        },
        expected_identity: upstream.identity.clone(),
        healthy,
        last_outcome: Some(pb::CustodianOutcome {
            custodian_id: upstream.id.clone(),
            status: if state.last_call.is_none() {
                pb::OutcomeStatus::NotAsked as i32
            } else {
                state.last_status
            },
            message: if operator || healthy {
                state.last_message.clone()
            } else {
                String::new()
            },
            latency: Some(outcome::duration(state.last_latency)),
            freshness: pb::Freshness::Live as i32,
            as_of: state.last_call.map(outcome::timestamp),
            age: state
                .last_call
                .and_then(|t| t.elapsed().ok())
                .map(outcome::duration),
            catalogue_revision: state.revision.clone(),
        }),
        last_success: state.last_success.map(outcome::timestamp),
        catalogue_revision: state.revision,
        latency: Some(outcome::duration(state.last_latency)),
        data_source_count: state.data_source_count,
        owns: upstream.ownership.patterns().to_vec(),
        catalogue_modified: state.catalogue_modified,
        contact_email: state.contact_email,
        website: state.website,
    }
}

/// Loads rules and TLS, then serves the gateway on `listener` (and, when `web.enabled`, the
/// web catalogue on `web.listen`) until `shutdown` completes.
pub async fn serve(
    config: GatewayConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let web = if config.web.enabled {
        let addr = config.web.listen;
        Some(
            TcpListener::bind(addr)
                .await
                .map_err(|source| ServeError::WebBind { addr, source })?,
        )
    } else {
        None
    };
    serve_with_web(config, listener, web, shutdown).await
}

/// [`serve`], with the web catalogue on `web` when given (whatever `web.enabled` says).
pub async fn serve_with_web(
    config: GatewayConfig,
    listener: TcpListener,
    web: Option<TcpListener>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let tls = ReloadingTls::load(config.tls.clone())?;
    let _watch = tls.watch(Duration::from_millis(config.connections.reload_poll_ms));
    let rules = Arc::new(NationalRules::load(&config.national_rules)?);
    let concepts = Arc::new(crate::concepts::load(&config)?);
    let policy = Policy::new(config.authz.rules.clone())?;
    let limits = LimitsLayer::new(config.limits.request_limits())?;
    let mut observed = crate::observe::Observed::start(&config, &tls, &limits).await?;
    let mut router_builder =
        grpc_server::builder_with_streams(config.connections.max_concurrent_streams)
            .layer(observed.observer.grpc_layer())
            .layer(AuthzLayer::new(policy))
            .layer(limits);
    let (reporter, health_service) = tonic_health::server::health_reporter();
    let federation = Arc::new(Federation::new(
        &config,
        &tls,
        rules.clone(),
        concepts.clone(),
        Some(reporter.clone()),
    )?);
    for upstream in federation.upstreams() {
        reporter
            .set_service_status(
                health_service_name(&upstream.id),
                tonic_health::ServingStatus::Unknown,
            )
            .await;
    }
    let admin = observed.serve_admin(&federation);
    let gateway = Arc::new(GatewayService {
        federation: federation.clone(),
        limits: config.limits.clone(),
        authz: config.authz.clone(),
    });
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let web_task = match web {
        Some(web_listener) => {
            // The web listener presents the gateway's server certificate and follows its files.
            let web_tls = crate::web::HttpsConfig::new(tls.clone())?;
            let catalogue = crate::web::catalogue_export::CatalogueExport::new(
                rules.clone(),
                concepts.clone(),
                crate::export::dcat::Minter::new(&config.web.public_url)?,
                config.cache.catalogue_ttl_ms / 1000,
                config.web.max_concurrent_exports,
            );
            let state = Arc::new(
                crate::web::WebState::new(
                    crate::web::backend::Backend::new(gateway.clone()),
                    config.web.clone(),
                    catalogue,
                )
                .observed_by(observed.observer.clone()),
            );
            let mut stopped = stopped.clone();
            Some(tokio::spawn(crate::web::serve(
                state,
                web_tls,
                web_listener,
                async move {
                    let _ = stopped.wait_for(|s| *s).await;
                },
            )))
        }
        None => None,
    };
    let shutdown = async move {
        shutdown.await;
        let _ = stop.send(true);
    };
    let service = FederatedCatalogueServer::from_arc(gateway).max_decoding_message_size(1 << 20);
    let mut router = router_builder
        .add_service(health_service)
        .add_service(service);
    router = grpc_server::reflect_and_report::<FederatedCatalogueServer<GatewayService>, _>(
        router, &reporter,
    )
    .await?;
    tracing::info!(addr = ?listener.local_addr().ok(), custodians = federation.upstreams().len(), "gateway serving over mutual TLS");
    let watchers = crate::watch::spawn_watchers(&federation);
    let feed = federation.changes().clone();
    let served = grpc_server::serve_counted(
        router,
        listener,
        &tls,
        config.connections.limits(),
        observed.connections.clone(),
        shutdown,
        // Change-feed streams never end by themselves.
        move || feed.close(),
    )
    .await;
    for watcher in watchers {
        watcher.abort();
    }
    if let Some(task) = web_task {
        let _ = task.await;
    }
    if let Some(task) = admin {
        task.abort();
    }
    served?;
    tracing::info!("gateway stopped");
    Ok(())
}
