//! The public web surface of the gateway: a server-rendered catalogue for people and a JSON
//! API, over HTTPS with the gateway's server certificate (no client certificate).
//!
//! A request passes [`guard`] (rate limit, deadline, security headers), then a page
//! ([`pages`]) or API ([`api`]) handler that reads it into a contract message, asks the
//! gateway's own `FederatedCatalogue` service through [`backend`], and renders the answer.

pub mod api;
mod assets;
pub mod backend;
pub mod error;
mod guard;
pub mod i18n;
pub mod json;
pub mod openapi;
pub mod pages;
pub mod settings;

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use axum::{Router, extract::ConnectInfo, http::HeaderMap};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto, graceful::GracefulShutdown},
    service::TowerToHyperService,
};
use std::num::NonZeroU32;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use self::{
    backend::{Ask, Backend},
    settings::WebConfig,
};

/// How long in-flight requests may finish after shutdown was asked for.
const DRAIN: Duration = Duration::from_secs(10);

/// Everything a web handler needs.
pub struct WebState {
    /// The gateway's service.
    pub backend: Backend,
    /// The `[web]` settings.
    pub config: WebConfig,
    /// The OpenAPI document, rendered once.
    pub openapi: String,
    limiter: DefaultKeyedRateLimiter<std::net::IpAddr>,
    observer: Option<Arc<helsedata::observe::Observer>>,
}

impl WebState {
    /// State for `backend` under `config`.
    pub fn new(backend: Backend, config: WebConfig) -> Self {
        let per_second = NonZeroU32::new(config.requests_per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(config.burst).unwrap_or(NonZeroU32::MIN);
        Self {
            backend,
            openapi: openapi::document().to_string(),
            limiter: RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst)),
            config,
            observer: None,
        }
    }

    /// The same state, with every request audited and counted by `observer`.
    pub fn observed_by(mut self, observer: Arc<helsedata::observe::Observer>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// How a request with these headers asks the gateway.
    pub fn ask(&self, headers: &HeaderMap) -> Ask {
        let no_cache = headers
            .get(axum::http::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().contains("no-cache"));
        Ask {
            timeout: Duration::from_millis(self.config.request_timeout_ms),
            no_cache,
        }
    }
}

/// Every route, behind the guard.
pub fn router(state: Arc<WebState>) -> Router {
    Router::new()
        .merge(api::routes())
        .merge(pages::routes())
        .merge(assets::routes())
        .fallback(guard::fallback)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::guard,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(
            state.config.max_body_bytes,
        ))
        .with_state(state)
}

/// Serves HTTPS (HTTP/1.1 and HTTP/2 by ALPN) on `listener` until `shutdown` completes,
/// then lets in-flight requests finish for a bounded time.
pub async fn serve(
    state: Arc<WebState>,
    tls: rustls::ServerConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let acceptor = TlsAcceptor::from(Arc::new(tls));
    let app = match &state.observer {
        Some(observer) => router(state.clone()).layer(observer.web_layer()),
        None => router(state.clone()),
    };
    let handshake_timeout = Duration::from_millis(state.config.header_timeout_ms);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    tracing::info!(addr = ?listener.local_addr().ok(), "web catalogue serving over HTTPS");
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "web listener could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let app = app.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let stream = match tokio::time::timeout(handshake_timeout, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake refused");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            };
            let service = app.map_request(move |mut request: axum::http::Request<_>| {
                request
                    .extensions_mut()
                    .insert(ConnectInfo::<SocketAddr>(peer));
                request
            });
            let mut builder = auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(handshake_timeout)
                .max_buf_size(64 * 1024);
            builder
                .http2()
                .timer(TokioTimer::new())
                .max_concurrent_streams(100)
                .max_header_list_size(helsedata::grpc_server::MAX_HEADER_LIST_BYTES)
                .max_pending_accept_reset_streams(20);
            let connection =
                builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
            if let Err(e) = watcher.watch(connection).await {
                tracing::debug!(%peer, error = %e, "web connection ended with an error");
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN) => {
            tracing::warn!("web connections still open after the drain time; closing them");
        }
    }
    tracing::info!("web catalogue stopped");
}
