//! The HTTPS listener of the web surface: through the same acceptor as the gRPC listener
//! ([`helsedata::acceptor`]) it accepts TCP connections up to `web.max_connections`,
//! completes the TLS handshake (server authentication only) within `web.header_timeout_ms`
//! with the gateway's current server certificate and closes connections from which nothing
//! arrives for `web.idle_timeout_ms`; it serves HTTP/1.1 and HTTP/2 on each until shutdown.
//!
//! The certificate follows its files as the gRPC listener's does: the same
//! [`ReloadingTls`] is asked before every handshake, and its HTTPS configuration is rebuilt
//! whenever the material changed, so a rotated certificate is served to the next connection
//! while open connections go on with the one they were made with.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::extract::ConnectInfo;
use futures::StreamExt;
use helsedata::{
    acceptor::{self, ConnectionLimits, ServerTls},
    reload::ReloadingTls,
};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto, graceful::GracefulShutdown},
    service::TowerToHyperService,
};
use rustls::ServerConfig;
use tokio::net::TcpListener;
use tower::ServiceExt;

use super::{WebState, router};

/// How long in-flight requests may finish after shutdown was asked for.
const DRAIN: Duration = Duration::from_secs(10);

/// The protocols offered by ALPN, preferred first.
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// The HTTPS server configuration of the current TLS material, rebuilt when the material
/// is replaced.
pub struct HttpsConfig {
    tls: Arc<ReloadingTls>,
    built: Mutex<(u64, Arc<ServerConfig>)>,
}

impl HttpsConfig {
    /// The HTTPS configuration of `tls`, following it; fails when its certificate and key do
    /// not make one.
    pub fn new(tls: Arc<ReloadingTls>) -> Result<Self, helsedata::tls::TlsError> {
        let generation = tls.generation();
        let config = Arc::new(tls.material().https_server_config(&ALPN)?);
        Ok(Self {
            tls,
            built: Mutex::new((generation, config)),
        })
    }
}

impl ServerTls for HttpsConfig {
    /// The configuration for the next handshake. A new material that does not make an HTTPS
    /// configuration (it loaded as mutual TLS, so this is not expected) keeps the old one.
    fn handshake_config(&self) -> Arc<ServerConfig> {
        let generation = self.tls.generation();
        let mut built = match self.built.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if built.0 != generation {
            match self.tls.material().https_server_config(&ALPN) {
                Ok(config) => *built = (generation, Arc::new(config)),
                Err(e) => {
                    tracing::warn!(error = %e, "the reloaded certificate cannot serve HTTPS; the old one stays");
                    built.0 = generation;
                }
            }
        }
        built.1.clone()
    }
}

/// Serves HTTPS (HTTP/1.1 and HTTP/2 by ALPN) on `listener` with the current server
/// certificate of `https` until `shutdown` completes, then lets in-flight requests finish
/// for a bounded time.
pub async fn serve(
    state: Arc<WebState>,
    https: HttpsConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let app = match &state.observer {
        Some(observer) => router(state.clone()).layer(observer.web_layer()),
        None => router(state.clone()),
    };
    let config = &state.config;
    let handshake_timeout = Duration::from_millis(config.header_timeout_ms);
    let limits = ConnectionLimits {
        max_connections: config.max_connections,
        handshake_timeout,
        idle_timeout: Duration::from_millis(config.idle_timeout_ms),
        ..ConnectionLimits::default()
    };
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    let span = tracing::info_span!("web_listener");
    tracing::info!(parent: &span, addr = ?listener.local_addr().ok(), "web catalogue serving over HTTPS");
    // The acceptor logs its refusals in the listener's span.
    let mut connections = span.in_scope(|| acceptor::incoming(listener, Arc::new(https), limits));
    loop {
        let io = tokio::select! {
            next = connections.next() => match next {
                Some(Ok(io)) => io,
                Some(Err(_)) | None => break,
            },
            () = &mut shutdown => break,
        };
        let peer = io.peer().remote_addr;
        let service = app
            .clone()
            .map_request(move |mut request: axum::http::Request<_>| {
                request
                    .extensions_mut()
                    .insert(ConnectInfo::<SocketAddr>(peer));
                request
            });
        let watcher = graceful.watcher();
        tokio::spawn(async move {
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
                builder.serve_connection(TokioIo::new(io), TowerToHyperService::new(service));
            if let Err(e) = watcher.watch(connection).await {
                tracing::debug!(%peer, error = %e, "web connection ended with an error");
            }
        });
    }
    // Dropping the connections stops the acceptor, which closes the listening socket.
    drop(connections);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN) => {
            tracing::warn!("web connections still open after the drain time; closing them");
        }
    }
    tracing::info!("web catalogue stopped");
}
