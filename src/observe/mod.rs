//! Watching the services at work: one audit record per request ([`audit`]) and Prometheus
//! metrics ([`metrics`]) served on an admin listener ([`admin`]), both fed by one request
//! layer per surface ([`grpc`] for the gRPC servers, [`web`] for the gateway's web
//! listener) that an [`Observer`] hands out.
//!
//! The layer knows the caller, the method, the status and the latency. What only the
//! service knows (the custodians it asked and what each answered) it notes with
//! [`note_custodian`] while it handles the request; the note lands in that request's
//! record. The ids asked for are read from the request message itself ([`asked`]).

/// Declares the request layer `$layer` of one surface, holding the [`Observer`], and its
/// service `$service`, which the surface's module gives its `tower::Service`.
macro_rules! observe_layer {
    ($(#[$doc:meta])* $layer:ident => $service:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $layer {
            observer: Arc<Observer>,
        }

        impl fmt::Debug for $layer {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($layer))
                    .field("service", &self.observer.service)
                    .finish()
            }
        }

        impl $layer {
            pub(crate) fn new(observer: Arc<Observer>) -> Self {
                Self { observer }
            }
        }

        crate::layer::wrapping_layer!($layer => #[derive(Clone)] $service { observer: Arc<Observer> });

        impl<S> fmt::Debug for $service<S> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($service)).finish_non_exhaustive()
            }
        }
    };
}

pub mod admin;
mod arrival;
pub mod asked;
pub mod audit;
mod body;
pub mod grpc;
pub mod metrics;
mod notes;
mod time;
pub mod web;

use std::sync::Arc;

pub use notes::{CustodianNote, note_custodian};

use self::{
    audit::{AuditConfig, AuditError, AuditRecord, AuditSink},
    metrics::{ConnectionMetrics, MetricsBuilder, Registered, RequestMetrics},
};
use crate::{limits::LimitsLayer, reload::ReloadingTls};

/// The identity written for callers without a certificate (the public web surface).
pub const ANONYMOUS: &str = "anonymous";

/// What a server observes with from the start: the observer of its request layers, its
/// connection metrics, and the registry holding them beside the metrics every server has.
pub struct ServerObservation {
    /// The request layers' observer (audit sink and request metrics).
    pub observer: Arc<Observer>,
    /// Open and refused connections.
    pub connections: ConnectionMetrics,
    /// The registry so far: requests, connections, TLS reloads and certificate expiry, and
    /// the calls in flight under each request limit; the server adds its own metrics.
    pub builder: MetricsBuilder,
}

impl ServerObservation {
    /// Opens the audit trail of `audit` for `service` (`gateway`, `custodian`) and registers
    /// the metrics every server has: its requests, its connections, the reloads and
    /// certificates of `tls`, and the calls in flight under `limits`.
    pub async fn start(
        service: &'static str,
        audit: &AuditConfig,
        tls: &Arc<ReloadingTls>,
        limits: &LimitsLayer,
    ) -> Result<Self, AuditError> {
        let mut builder = MetricsBuilder::default();
        let requests = RequestMetrics::register(builder.registry());
        let audit = AuditSink::open(audit, requests.audit_dropped.clone()).await?;
        let connections = ConnectionMetrics::register(builder.registry());
        metrics::register_tls(&mut builder, tls);
        metrics::register_limits(&mut builder, limits);
        Ok(Self {
            observer: Observer::new(service, audit, requests),
            connections,
            builder,
        })
    }
}

/// Where the requests of one server are recorded: its audit sink and its request metrics.
#[derive(Debug, Clone)]
pub struct Observer {
    service: &'static str,
    audit: AuditSink,
    requests: RequestMetrics,
}

impl Observer {
    /// An observer of `service` (`gateway`, `custodian`) writing to `audit` and counting into
    /// `requests`.
    pub fn new(service: &'static str, audit: AuditSink, requests: RequestMetrics) -> Arc<Self> {
        Arc::new(Self {
            service,
            audit,
            requests,
        })
    }

    /// An observer that writes no audit records and counts into unregistered metrics (for
    /// tests and tools).
    pub fn detached(service: &'static str) -> Arc<Self> {
        Self::new(service, AuditSink::off(), RequestMetrics::default())
    }

    /// The layer for a tonic server.
    pub fn grpc_layer(self: &Arc<Self>) -> grpc::GrpcObserveLayer {
        grpc::GrpcObserveLayer::new(self.clone())
    }

    /// The layer for an axum router (add it with `Router::layer`, so that the matched route
    /// is known).
    pub fn web_layer(self: &Arc<Self>) -> web::WebObserveLayer {
        web::WebObserveLayer::new(self.clone())
    }

    fn finish(&self, record: AuditRecord) {
        self.requests.observe(
            record.surface,
            record.method_label.clone(),
            record.status.clone(),
            record.latency_ms,
        );
        self.audit.write(record);
    }
}
