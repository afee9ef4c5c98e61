//! One custodian as seen from the gateway: a long-lived mTLS channel that verifies the
//! custodian's certificate identity, composed as tower layers with trace propagation, a
//! concurrency limit and the custodian's own deadline ([`deadline`]); the breaker, outcome
//! classification and the custodian's live status around each call.

use std::{
    future::Future,
    sync::Arc,
    sync::Mutex,
    time::{Duration, SystemTime},
};

use helsedata::{
    proto::{self as pb, custodian_catalogue_client::CustodianCatalogueClient},
    reload::ReloadingTls,
    telemetry,
    tls::TlsError,
};
use tokio::time::Instant;
use tonic::{Request, Response, Status, transport::Channel};
use tower::Layer;
use tracing::Instrument;

use crate::{
    config::{CustodianConfig, UpstreamSettings},
    metrics::{AnswerMetrics, GatewayMetrics},
};

pub mod breaker;
pub mod client;
pub mod deadline;
mod error;
pub mod outcome;
mod ownership;
mod pages;

use breaker::{Breaker, BreakerPolicy};
use deadline::{Bound, Deadline, DeadlineLayer};
pub use error::LegError;
pub use ownership::{Ownership, owner_of};

type TraceInjector = fn(http::Request<tonic::body::Body>) -> http::Request<tonic::body::Body>;

/// The lazily connected mTLS channel to one custodian with the current trace context
/// written into every call's headers (so the custodian continues the trace) and a limit of
/// concurrent calls (`max_concurrent_calls`).
type TracedChannel =
    tower::util::MapRequest<tower::limit::ConcurrencyLimit<Channel>, TraceInjector>;

/// The connection to one custodian as its calls see it: the [`TracedChannel`] within the
/// custodian's own deadline ([`deadline`]).
pub type CustodianChannel = Deadline<TracedChannel>;

fn with_trace_context(
    mut request: http::Request<tonic::body::Body>,
) -> http::Request<tonic::body::Body> {
    let mut metadata =
        tonic::metadata::MetadataMap::from_headers(std::mem::take(request.headers_mut()));
    telemetry::inject_current_context(&mut metadata);
    *request.headers_mut() = metadata.into_headers();
    request
}

/// What a cache lookup of a custodian's answer served.
pub type Served<V> = crate::cache::Served<V, LegError>;
/// A failed fetch from a custodian.
pub type FetchFailure = crate::cache::FetchFailure<LegError>;
/// How one lookup treats the cache of custodian answers.
pub type Policy = crate::cache::Policy<LegError>;
/// A cache of custodian answers.
pub type Cache<V> = crate::cache::Cache<V, LegError>;

/// The result of one call, with its duration.
#[derive(Debug)]
pub struct Leg<T> {
    /// The custodian's answer, or why there is none.
    pub result: Result<T, LegError>,
    /// Time from the call to its answer or failure (zero when ejected).
    pub latency: Duration,
}

/// What the gateway last saw of a custodian.
#[derive(Debug, Clone, Default)]
pub struct UpstreamState {
    /// `OutcomeStatus` of the last call (as the proto's integer; 0 before any call).
    pub last_status: i32,
    /// Message of the last failure.
    pub last_message: String,
    /// Latency of the last call.
    pub last_latency: Duration,
    /// When the last call ended.
    pub last_call: Option<SystemTime>,
    /// When the last successful call ended.
    pub last_success: Option<SystemTime>,
    /// Catalogue revision last seen.
    pub revision: String,
    /// The custodian's display name from its last catalogue answer.
    pub name: Option<pb::LocalizedText>,
    /// Number of sources last seen.
    pub data_source_count: u32,
    /// When the custodian's catalogue last changed, from its last catalogue answer.
    pub catalogue_modified: Option<prost_types::Timestamp>,
    /// The custodian's contact e-mail and website, from its last catalogue answer.
    pub contact_email: String,
    /// See `contact_email`.
    pub website: String,
    /// How the last call failed; `None` when it succeeded.
    pub last_error: Option<LegError>,
}

/// One configured custodian.
#[derive(Debug)]
pub struct Upstream {
    /// Custodian id from the configuration (`custodians[].id`).
    pub id: String,
    /// `https://host:port` it is reached at (operator detail).
    pub endpoint: String,
    /// Identity its certificate must carry.
    pub identity: String,
    /// Deadline of each call to it, whatever the caller's (`timeout_ms`).
    pub timeout: Duration,
    /// The data source ids it may publish; anything else it sends is dropped.
    pub ownership: Ownership,
    client: CustodianCatalogueClient<CustodianChannel>,
    /// The channel under `client`, for calls made with another codec ([`pages`]).
    channel: CustodianChannel,
    /// Largest answer taken from the custodian, in bytes.
    max_message_bytes: usize,
    /// The same channel for streams: only their opening is bounded by `timeout`.
    streams: CustodianCatalogueClient<CustodianChannel>,
    state: Mutex<UpstreamState>,
    breaker: Mutex<Breaker>,
    health: Option<tonic_health::server::HealthReporter>,
    metrics: Arc<GatewayMetrics>,
    answers: AnswerMetrics,
}

/// Health service name under which a custodian's status is reported.
pub fn health_service_name(custodian_id: &str) -> String {
    format!("custodian/{custodian_id}")
}

impl Upstream {
    /// A custodian with a lazily connected, long-lived channel (the gateway starts even when
    /// custodians are down).
    pub fn new(
        config: &CustodianConfig,
        settings: &UpstreamSettings,
        tls: &Arc<ReloadingTls>,
        health: Option<tonic_health::server::HealthReporter>,
    ) -> Result<Self, TlsError> {
        let identity = config.expected_identity();
        // Each new connection uses the client certificate and CA bundle current at the time,
        // so a reload reaches custodian links without dropping the open ones.
        let channel = tls.client_channel(
            &config.endpoint,
            &identity,
            config.server_name.as_deref(),
            |endpoint| {
                endpoint
                    .connect_timeout(Duration::from_millis(settings.connect_timeout_ms))
                    .tcp_nodelay(true)
                    .http2_keep_alive_interval(Duration::from_millis(
                        settings.keep_alive_interval_ms,
                    ))
                    .keep_alive_timeout(Duration::from_millis(settings.keep_alive_timeout_ms))
                    .keep_alive_while_idle(false)
                    .http2_adaptive_window(true)
            },
        )?;
        let channel = tower::ServiceBuilder::new()
            .map_request(with_trace_context as TraceInjector)
            .concurrency_limit(settings.max_concurrent_calls)
            .service(channel);
        let timeout = settings.timeout();
        // Counted apart until `with_metrics` gives the gateway's metrics.
        let metrics = Arc::<GatewayMetrics>::default();
        let client = |bound| {
            CustodianCatalogueClient::new(DeadlineLayer::new(timeout, bound).layer(channel.clone()))
                .max_decoding_message_size(settings.max_message_bytes)
        };
        Ok(Self {
            id: config.id.clone(),
            endpoint: config.endpoint.clone(),
            identity,
            timeout,
            ownership: Ownership::new(config.owns.clone()),
            client: client(Bound::Answer),
            channel: DeadlineLayer::new(timeout, Bound::Answer).layer(channel.clone()),
            max_message_bytes: settings.max_message_bytes,
            streams: client(Bound::Opening),
            state: Mutex::new(UpstreamState::default()),
            breaker: Mutex::new(Breaker::new(BreakerPolicy {
                eject_after: settings.eject_after_failures,
                base: Duration::from_millis(settings.base_ejection_ms),
                max: Duration::from_millis(settings.max_ejection_ms),
            })),
            health,
            answers: metrics.answers_of(&config.id),
            metrics,
        })
    }

    /// The same custodian, counting its calls, ejections and health in `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<GatewayMetrics>) -> Self {
        self.answers = metrics.answers_of(&self.id);
        self.metrics = metrics;
        self
    }

    /// The counts of the answers served for this custodian.
    pub fn answers(&self) -> &AnswerMetrics {
        &self.answers
    }

    /// Calls the custodian once through its channel, whose deadline layer bounds the call by
    /// the custodian's own timeout (never the caller's deadline: callers wait for the result
    /// only as long as their deadline allows, see [`crate::cache::Cache::get`], so a short
    /// caller deadline cannot make the custodian look slow), and records the outcome. An
    /// ejected custodian is not called.
    pub async fn call<M, T, F, Fut>(&self, message: M, rpc: F) -> Leg<T>
    where
        F: FnOnce(CustodianCatalogueClient<CustodianChannel>, Request<M>) -> Fut,
        Fut: Future<Output = Result<Response<T>, Status>>,
    {
        if let Err(ejected) = self
            .breaker
            .lock()
            .map_or(Ok(()), |mut b| b.check(Instant::now()))
        {
            return Leg {
                result: Err(LegError::Unavailable(format!(
                    "ejected after {} consecutive failures; next attempt in {} ms",
                    ejected.failures,
                    ejected.retry_in.as_millis()
                ))),
                latency: Duration::ZERO,
            };
        }
        let timeout = self.timeout;
        let span = tracing::info_span!("custodian.leg", custodian = %self.id, otel.kind = "client", timeout_ms = timeout.as_millis() as u64);
        let started = Instant::now();
        let mut request = Request::new(message);
        request.extensions_mut().insert(deadline::due(timeout));
        let result = rpc(self.client.clone(), request)
            .instrument(span.clone())
            .await
            .map(Response::into_inner)
            .map_err(|status| LegError::classify(&status, timeout));
        let latency = started.elapsed();
        match &result {
            Ok(_) => {
                tracing::debug!(parent: &span, latency_ms = latency.as_millis() as u64, "custodian answered")
            }
            Err(e) if e.is_answer() => {
                tracing::debug!(parent: &span, error = %e, "custodian answered with an error")
            }
            Err(e) => {
                tracing::warn!(parent: &span, error = %e, latency_ms = latency.as_millis() as u64, "custodian call failed")
            }
        }
        self.metrics.call(&self.id, &result, latency);
        self.record(&result, latency);
        Leg { result, latency }
    }

    fn record<T>(&self, result: &Result<T, LegError>, latency: Duration) {
        if let Err(e) = result
            && !e.is_answer()
            && !e.counts_against_custodian()
        {
            return;
        }
        let healthy = match result {
            Ok(_) => true,
            Err(e) => e.is_answer(),
        };
        if let Ok(mut breaker) = self.breaker.lock() {
            if healthy {
                breaker.on_success();
            } else if let Some(ejection) = breaker.on_failure(Instant::now()) {
                if let Err(e) = result {
                    self.metrics.ejected(&self.id, e);
                }
                tracing::warn!(custodian = %self.id, ejection_ms = ejection.as_millis() as u64, "custodian ejected after consecutive failures");
            }
        }
        let changed = {
            let Ok(mut state) = self.state.lock() else {
                return;
            };
            let was_healthy = state.last_status == pb::OutcomeStatus::Ok as i32;
            let first = state.last_call.is_none();
            let now = SystemTime::now();
            state.last_call = Some(now);
            state.last_latency = latency;
            if healthy {
                state.last_status = pb::OutcomeStatus::Ok as i32;
                state.last_message.clear();
                state.last_success = Some(now);
                state.last_error = None;
            } else if let Err(e) = result {
                state.last_status = e.outcome() as i32;
                state.last_message = e.to_string();
                state.last_error = Some(e.clone());
            }
            first || was_healthy != healthy
        };
        self.metrics.set_healthy(&self.id, healthy);
        if changed && let Some(reporter) = self.health.clone() {
            let name = health_service_name(&self.id);
            let status = if healthy {
                tonic_health::ServingStatus::Serving
            } else {
                tonic_health::ServingStatus::NotServing
            };
            tokio::spawn(async move { reporter.set_service_status(name, status).await });
        }
    }

    /// Records facts learnt from a successful catalogue fetch.
    pub fn note_catalogue(&self, info: &pb::CustodianInfo) {
        if let Ok(mut state) = self.state.lock() {
            state.revision = info.catalogue_revision.clone();
            state.name = info.name.clone();
            state.data_source_count = info.data_source_count;
            state.catalogue_modified = info.last_modified;
            state.contact_email = info.contact_email.clone();
            state.website = info.website.clone();
        }
    }

    /// Records the catalogue revision announced by the custodian's watch stream.
    pub fn note_revision(&self, revision: &str) {
        if let Ok(mut state) = self.state.lock() {
            state.revision = revision.to_string();
        }
    }

    /// How the last call failed, or `None` when it succeeded (or none was made).
    pub fn last_failure(&self) -> Option<LegError> {
        self.state.lock().ok().and_then(|s| s.last_error.clone())
    }

    /// What the gateway last saw.
    pub fn state(&self) -> UpstreamState {
        self.state.lock().map(|s| s.clone()).unwrap_or_default()
    }
}
