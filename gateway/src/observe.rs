//! The gateway's audit trail and metrics, set up from `[audit]` and `[admin]`: one
//! registry with the request metrics of both listeners, the connections of the gRPC
//! listener, TLS reloads and certificate expiry, the configured request limits and the
//! gateway's own metrics ([`crate::metrics`]), served on the admin listener.

use std::sync::Arc;

use helsedata::{
    observe::{
        Observer, ServerObservation, admin,
        metrics::{ConnectionMetrics, MetricsBuilder, MetricsRegistry},
    },
    reload::ReloadingTls,
};
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{family::Family, gauge::Gauge},
};
use tokio::net::TcpListener;

use crate::{config::GatewayConfig, federation::Federation, server::ServeError};

/// Labels of a configured request limit.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LimitLabels {
    /// `global`, `per_connection`, `per_identity` or `health`.
    pub limit: String,
}

/// What the gateway observes with, ready before it serves.
pub struct Observed {
    /// The request layers' observer (audit sink and request metrics).
    pub observer: Arc<Observer>,
    /// Open and refused connections of the gRPC listener.
    pub connections: ConnectionMetrics,
    builder: MetricsBuilder,
    admin: Option<TcpListener>,
}

impl Observed {
    /// Opens the audit trail, binds the admin listener (when enabled) and registers the
    /// metrics that do not need the federation.
    pub async fn start(
        config: &GatewayConfig,
        tls: &Arc<ReloadingTls>,
        request_limits: &helsedata::limits::LimitsLayer,
    ) -> Result<Self, ServeError> {
        let mut started =
            ServerObservation::start("gateway", &config.audit, tls, request_limits).await?;
        let limits: Family<LimitLabels, Gauge> = Family::default();
        helsedata::register_metrics! { started.builder.registry();
            "request_limit", "Configured most requests in flight, by limit (requests_in_flight counts them)" => limits;
        }
        for (limit, value) in [
            ("global", config.limits.max_concurrent_requests),
            (
                "per_connection",
                config.limits.max_concurrent_requests_per_connection,
            ),
            (
                "per_identity",
                config.limits.max_concurrent_requests_per_identity,
            ),
            ("health", config.limits.max_concurrent_health_checks),
        ] {
            limits
                .get_or_create(&LimitLabels {
                    limit: limit.to_string(),
                })
                .set(i64::try_from(value).unwrap_or(i64::MAX));
        }
        let admin = admin::bind(&config.admin).await?;
        Ok(Self {
            observer: started.observer,
            connections: started.connections,
            builder: started.builder,
            admin,
        })
    }

    /// Adds the federation's metrics and serves the admin listener, when enabled, until the
    /// returned task is aborted.
    pub fn serve_admin(&mut self, federation: &Federation) -> Option<tokio::task::JoinHandle<()>> {
        let mut builder = std::mem::take(&mut self.builder);
        federation.metrics().register(builder.registry());
        let metrics: Arc<MetricsRegistry> = builder.finish();
        let listener = self.admin.take()?;
        Some(tokio::spawn(admin::serve(
            listener,
            metrics,
            std::future::pending(),
        )))
    }
}
