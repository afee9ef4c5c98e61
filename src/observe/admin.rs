//! The admin listener: plain HTTP, loopback by default, apart from the public listeners.
//! `GET /metrics` answers the server's metrics in the OpenMetrics text format.

use std::{future::Future, net::SocketAddr, sync::Arc};

use axum::{Router, extract::State, http::header, response::IntoResponse, routing::get};
use serde::Deserialize;
use tokio::net::TcpListener;

use super::metrics::MetricsRegistry;

/// The `[admin]` settings.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Whether the admin listener runs (off unless configured; the bundled gateway
    /// configuration turns it on).
    pub enabled: bool,
    /// Its address; keep it on loopback or a private network (it has no authentication).
    pub listen: SocketAddr,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            listen: SocketAddr::from(([127, 0, 0, 1], 9464)),
        }
    }
}

/// Why the admin listener could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr} (admin.listen): {source}")]
pub struct AdminError {
    /// The `admin.listen` address that could not be bound.
    pub addr: SocketAddr,
    /// The I/O error the operating system reported when binding.
    pub source: std::io::Error,
}

/// Binds `config.listen` when the listener is enabled.
pub async fn bind(config: &AdminConfig) -> Result<Option<TcpListener>, AdminError> {
    if !config.enabled {
        return Ok(None);
    }
    TcpListener::bind(config.listen)
        .await
        .map(Some)
        .map_err(|source| AdminError {
            addr: config.listen,
            source,
        })
}

/// The admin routes over `metrics`.
pub fn router(metrics: Arc<MetricsRegistry>) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(metrics)
}

async fn scrape(State(metrics): State<Arc<MetricsRegistry>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.encode(),
    )
}

/// Serves the admin routes on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    metrics: Arc<MetricsRegistry>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    tracing::info!(addr = ?listener.local_addr().ok(), "admin listener serving /metrics over plain HTTP");
    if let Err(e) = axum::serve(listener, router(metrics))
        .with_graceful_shutdown(shutdown)
        .await
    {
        tracing::warn!(error = %e, "admin listener failed");
    }
}
