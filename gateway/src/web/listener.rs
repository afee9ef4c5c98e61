//! The HTTPS listener of the web surface: accepts TCP connections up to `web.max_connections`,
//! completes the TLS handshake (server authentication only) within `web.header_timeout_ms`
//! with the gateway's current server certificate, closes connections from which nothing
//! arrives for `web.idle_timeout_ms`, and serves HTTP/1.1 and HTTP/2 on each until shutdown.
//!
//! The certificate follows its files as the gRPC listener's does: the same
//! [`ReloadingTls`] is asked before every handshake, and its HTTPS configuration is rebuilt
//! whenever the material changed, so a rotated certificate is served to the next connection
//! while open connections go on with the one they were made with.

use std::{
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::{Duration, Instant},
};

use axum::extract::ConnectInfo;
use helsedata::reload::ReloadingTls;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto, graceful::GracefulShutdown},
    service::TowerToHyperService,
};
use rustls::ServerConfig;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpListener,
    sync::Semaphore,
    time::Sleep,
};
use tokio_rustls::TlsAcceptor;
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

    /// The configuration for the next handshake. A new material that does not make an HTTPS
    /// configuration (it loaded as mutual TLS, so this is not expected) keeps the old one.
    fn current(&self) -> Arc<ServerConfig> {
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
    let idle_timeout = Duration::from_millis(config.idle_timeout_ms);
    let slots = Arc::new(Semaphore::new(config.max_connections));
    let mut last_refusal_logged: Option<Instant> = None;
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
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            // Logged at most every ten seconds: a flood must not flood the log as well.
            if last_refusal_logged.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
                last_refusal_logged = Some(Instant::now());
                tracing::warn!(%peer, max_connections = config.max_connections, "web connection refused: the connection cap is reached");
            }
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = TlsAcceptor::from(https.current());
        let app = app.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _slot = slot;
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
            let io = IdleIo::new(stream, idle_timeout);
            let connection =
                builder.serve_connection(TokioIo::new(io), TowerToHyperService::new(service));
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

/// A connection that fails its reads once nothing has arrived for the idle timeout, so that
/// an idle client does not hold a connection slot for ever.
struct IdleIo<T> {
    inner: T,
    idle_timeout: Duration,
    last_read: Instant,
    timer: Pin<Box<Sleep>>,
}

impl<T> IdleIo<T> {
    fn new(inner: T, idle_timeout: Duration) -> Self {
        Self {
            inner,
            idle_timeout,
            last_read: Instant::now(),
            timer: Box::pin(tokio::time::sleep(idle_timeout)),
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for IdleIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    self.last_read = Instant::now();
                }
                Poll::Ready(result)
            }
            Poll::Pending => {
                // The timer moves only when it fires, not on every read.
                while self.timer.as_mut().poll(cx).is_ready() {
                    let due = self.last_read + self.idle_timeout;
                    if due <= Instant::now() {
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "web connection idle: nothing received within web.idle_timeout_ms",
                        )));
                    }
                    self.timer.as_mut().reset(due.into());
                }
                Poll::Pending
            }
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for IdleIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
