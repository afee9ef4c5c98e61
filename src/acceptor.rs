//! The TLS acceptor in front of every server (gRPC and the gateway's web listener): accepts
//! TCP connections up to a cap, completes the handshake within a timeout with the current
//! server configuration ([`ServerTls`]: mutual TLS from a [`ReloadingTls`], or the web's
//! server authentication), closes connections that send nothing for too long, logs refusals
//! (rate-limited, with the peer's address and the reason), and hands each connection on
//! (to tonic's `serve_with_incoming`) with the peer's identity as a request extension
//! ([`PeerInfo`]). It closes a connection on which HTTP/2 has not taken on an answer's chunk
//! within the send timeout (its client opens no flow-control window), which resets its
//! streams and frees their memory ([`crate::limits::budget`]).

use std::{
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll, Waker},
    time::{Duration, Instant},
};

use rustls::{ServerConfig, pki_types::CertificateDer};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{OwnedSemaphorePermit, Semaphore, mpsc},
    time::Sleep,
};
use tokio_rustls::{TlsAcceptor, server::TlsStream};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::Connected;
use tracing::Instrument;

use crate::{
    identity::{self, IdentityError},
    limits::budget::{ConnectionState, SendBudget},
    observe::metrics::{ConnectionMetrics, OpenConnection},
    reload::ReloadingTls,
};

/// Limits on connections, shared by the gateway and the custodians.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Most connections open at once (handshaking or established); more are closed at once.
    pub max_connections: usize,
    /// Time a client has to complete the TLS handshake.
    pub handshake_timeout: Duration,
    /// A connection from which nothing arrives for this long is closed. HTTP/2 keep-alive
    /// pings answered by the client count, so it must exceed the server's ping interval.
    pub idle_timeout: Duration,
    /// Refusals of one kind are logged at most once per this interval, with a count of
    /// those not logged.
    pub log_interval: Duration,
    /// A connection on which a chunk of an answer waits this long for the client's
    /// flow-control window is closed (its streams are reset).
    pub send_timeout: Duration,
    /// Most answer bytes waiting for HTTP/2 to take them on, on one connection; a further
    /// answer waits for room, up to the send timeout.
    pub max_buffered_response_bytes_per_connection: u64,
    /// The same, on all connections together.
    pub max_buffered_response_bytes: u64,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 4_096,
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(300),
            log_interval: Duration::from_secs(10),
            send_timeout: Duration::from_secs(30),
            max_buffered_response_bytes_per_connection: 8 << 20,
            max_buffered_response_bytes: 128 << 20,
        }
    }
}

/// Who is on the other end of a connection; tonic puts it into every request's extensions.
#[derive(Debug, Clone)]
pub struct PeerInfo {
    /// The peer's address.
    pub remote_addr: SocketAddr,
    /// Its workload identity: the single URI SAN of its certificate, or why there is none.
    /// Shared: every request of the connection carries a copy of this `PeerInfo`.
    pub identity: Result<Arc<str>, IdentityError>,
    /// Its certificate chain, end entity first.
    pub certificates: Arc<Vec<CertificateDer<'static>>>,
    /// What the connection uses of the server's limits (calls in flight, answer bytes
    /// waiting to be sent).
    pub connection: Arc<ConnectionState>,
}

impl PeerInfo {
    /// The peer of a request served through [`incoming`], if any.
    pub fn of<T>(request: &tonic::Request<T>) -> Option<&PeerInfo> {
        request.extensions().get::<PeerInfo>()
    }

    /// The identity, or a short description of why it is missing (for logs and messages).
    pub fn identity_or_reason(&self) -> String {
        match &self.identity {
            Ok(id) => id.to_string(),
            Err(e) => format!("(no identity: {e})"),
        }
    }
}

/// Logs one kind of event at most once per interval.
#[derive(Debug)]
pub(crate) struct RateLimitedLog {
    interval: Duration,
    last: Mutex<Option<Instant>>,
    suppressed: AtomicU64,
}

impl RateLimitedLog {
    pub(crate) fn new(interval: Duration) -> Self {
        Self {
            interval,
            last: Mutex::new(None),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(number not logged since the last time)` when this one may be logged.
    pub(crate) fn admit(&self) -> Option<u64> {
        let now = Instant::now();
        let mut last = match self.last.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if last.is_some_and(|t| now.duration_since(t) < self.interval) {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        *last = Some(now);
        Some(self.suppressed.swap(0, Ordering::Relaxed))
    }
}

/// Where the acceptor takes the server configuration of each handshake from, so that a
/// reloaded certificate is served to the next connection.
pub trait ServerTls: Send + Sync + 'static {
    /// The configuration for the next handshake.
    fn handshake_config(&self) -> Arc<ServerConfig>;
}

/// Mutual TLS with the material loaded now.
impl ServerTls for ReloadingTls {
    fn handshake_config(&self) -> Arc<ServerConfig> {
        self.server_config()
    }
}

struct Shared {
    tls: Arc<dyn ServerTls>,
    limits: ConnectionLimits,
    slots: Arc<Semaphore>,
    over_cap: RateLimitedLog,
    refused_handshake: RateLimitedLog,
    stalled: Arc<RateLimitedLog>,
    budget: Arc<SendBudget>,
    metrics: ConnectionMetrics,
}

/// The accepted, authenticated connections of `listener`, for tonic's
/// `serve_with_incoming`. Accepting stops when the stream is dropped (tonic drops it at
/// shutdown), which closes the listening socket.
pub fn incoming(
    listener: TcpListener,
    tls: Arc<dyn ServerTls>,
    limits: ConnectionLimits,
) -> ReceiverStream<Result<PeerIo, io::Error>> {
    incoming_counted(listener, tls, limits, ConnectionMetrics::default())
}

/// [`incoming`], counting open and refused connections in `metrics`. Its logs are written in
/// the span current at the call.
pub fn incoming_counted(
    listener: TcpListener,
    tls: Arc<dyn ServerTls>,
    limits: ConnectionLimits,
    metrics: ConnectionMetrics,
) -> ReceiverStream<Result<PeerIo, io::Error>> {
    let (tx, rx) = mpsc::channel(64);
    let shared = Arc::new(Shared {
        tls,
        slots: Arc::new(Semaphore::new(limits.max_connections)),
        over_cap: RateLimitedLog::new(limits.log_interval),
        refused_handshake: RateLimitedLog::new(limits.log_interval),
        stalled: Arc::new(RateLimitedLog::new(limits.log_interval)),
        budget: SendBudget::new(
            limits.max_buffered_response_bytes,
            limits.max_buffered_response_bytes_per_connection,
            limits.send_timeout,
        ),
        limits,
        metrics,
    });
    tokio::spawn(accept_loop(listener, shared, tx).in_current_span());
    ReceiverStream::new(rx)
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    tx: mpsc::Sender<Result<PeerIo, io::Error>>,
) {
    loop {
        let accepted = tokio::select! {
            _ = tx.closed() => return,
            accepted = listener.accept() => accepted,
        };
        let (tcp, remote_addr) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Out of file descriptors and the like: wait a little instead of spinning.
                tracing::warn!(error = %e, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = shared.slots.clone().try_acquire_owned() else {
            shared.metrics.refused("connection_cap");
            if let Some(suppressed) = shared.over_cap.admit() {
                tracing::warn!(
                    peer = %remote_addr,
                    max_connections = shared.limits.max_connections,
                    not_logged_since_last = suppressed,
                    "connection refused: the connection cap is reached"
                );
            }
            drop(tcp);
            continue;
        };
        let slot = Slot {
            _permit: permit,
            _open: shared.metrics.opened(),
        };
        let shared = shared.clone();
        let tx = tx.clone();
        tokio::spawn(
            async move {
                if let Some(io) = handshake(&shared, tcp, remote_addr, slot).await {
                    let _ = tx.send(Ok(io)).await;
                }
            }
            .in_current_span(),
        );
    }
}

async fn handshake(
    shared: &Shared,
    tcp: TcpStream,
    remote_addr: SocketAddr,
    slot: Slot,
) -> Option<PeerIo> {
    let _ = tcp.set_nodelay(true);
    let acceptor = TlsAcceptor::from(shared.tls.handshake_config());
    let reason =
        match tokio::time::timeout(shared.limits.handshake_timeout, acceptor.accept(tcp)).await {
            Ok(Ok(stream)) => {
                let certificates: Vec<CertificateDer<'static>> = stream
                    .get_ref()
                    .1
                    .peer_certificates()
                    .map(|c| c.iter().map(|c| c.clone().into_owned()).collect())
                    .unwrap_or_default();
                let identity = certificates
                    .first()
                    .map(|c| identity::identity_of(c).map(Arc::from))
                    .unwrap_or(Err(IdentityError::Missing));
                return Some(PeerIo::new(
                    stream,
                    PeerInfo {
                        remote_addr,
                        identity,
                        certificates: Arc::new(certificates),
                        connection: ConnectionState::new(shared.budget.clone()),
                    },
                    shared.limits.idle_timeout,
                    slot,
                    shared.stalled.clone(),
                ));
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!(
                "handshake not completed within {} ms",
                shared.limits.handshake_timeout.as_millis()
            ),
        };
    shared.metrics.refused("handshake");
    if let Some(suppressed) = shared.refused_handshake.admit() {
        tracing::warn!(
            peer = %remote_addr,
            reason = %reason.escape_debug(),
            not_logged_since_last = suppressed,
            "TLS handshake refused"
        );
    }
    None
}

/// A connection's place under the cap, and its count among the open connections.
struct Slot {
    _permit: OwnedSemaphorePermit,
    _open: OpenConnection,
}

/// One accepted connection: the TLS stream, who is on the other end, its slot under the
/// connection cap, the idle timer and the send timer.
pub struct PeerIo {
    inner: TlsStream<TcpStream>,
    info: PeerInfo,
    idle_timeout: Duration,
    last_read: Instant,
    idle: Pin<Box<Sleep>>,
    /// The waker `idle` was last polled with while it ran: polled again only for another
    /// waker or once it has fired (a poll of a running timer costs more than this read).
    idle_waker: Option<Waker>,
    stall: Pin<Box<Sleep>>,
    pause: Pin<Box<Sleep>>,
    stalled_log: Arc<RateLimitedLog>,
    _slot: Slot,
}

impl PeerIo {
    fn new(
        inner: TlsStream<TcpStream>,
        info: PeerInfo,
        idle_timeout: Duration,
        slot: Slot,
        stalled_log: Arc<RateLimitedLog>,
    ) -> Self {
        Self {
            inner,
            info,
            idle_timeout,
            last_read: Instant::now(),
            idle: Box::pin(tokio::time::sleep(idle_timeout)),
            idle_waker: None,
            stall: Box::pin(tokio::time::sleep(Duration::ZERO)),
            pause: Box::pin(tokio::time::sleep(Duration::ZERO)),
            stalled_log,
            _slot: slot,
        }
    }

    /// An error when a chunk of an answer has waited for the client's window for the send
    /// timeout; otherwise arms the send timer.
    fn poll_stalled(&mut self, cx: &mut Context<'_>) -> Option<io::Error> {
        let connection = &self.info.connection;
        connection.set_reader(cx.waker());
        loop {
            let due = connection.stall_due()?;
            if due <= Instant::now() {
                break;
            }
            self.stall.as_mut().reset(due.into());
            if self.stall.as_mut().poll(cx).is_pending() {
                return None;
            }
        }
        let held = connection.held();
        if let Some(suppressed) = self.stalled_log.admit() {
            tracing::warn!(
                peer = %self.info.remote_addr,
                identity = %self.info.identity_or_reason().escape_debug(),
                held_bytes = held,
                send_timeout_ms = connection.send_timeout().as_millis() as u64,
                not_logged_since_last = suppressed,
                "connection closed: an answer waited for its client's flow-control window for the send timeout"
            );
        }
        Some(io::Error::new(
            io::ErrorKind::TimedOut,
            "send timeout: an answer waited for the client's flow-control window",
        ))
    }
}

impl PeerIo {
    /// Who is on the other end.
    pub fn peer(&self) -> &PeerInfo {
        &self.info
    }
}

impl Connected for PeerIo {
    type ConnectInfo = PeerInfo;

    fn connect_info(&self) -> PeerInfo {
        self.info.clone()
    }
}

impl AsyncRead for PeerIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        // Checked on reads too, so that a client sending a steady stream of frames while it
        // opens no window is still cut.
        if self
            .info
            .connection
            .stall_due()
            .is_some_and(|due| due <= Instant::now())
            && let Some(stalled) = self.poll_stalled(cx)
        {
            return Poll::Ready(Err(stalled));
        }
        // The caller is over its rate limit: nothing is read until its next call is due
        // (what it sends meanwhile waits in the socket, and its sends block on TCP).
        while let Some(until) = self.info.connection.reads_paused_until() {
            self.pause.as_mut().reset(until.into());
            if self.pause.as_mut().poll(cx).is_pending() {
                self.last_read = Instant::now();
                return Poll::Pending;
            }
        }
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    self.last_read = Instant::now();
                }
                Poll::Ready(result)
            }
            Poll::Pending => {
                if let Some(stalled) = self.poll_stalled(cx) {
                    return Poll::Ready(Err(stalled));
                }
                if !self.idle.is_elapsed()
                    && self
                        .idle_waker
                        .as_ref()
                        .is_some_and(|w| w.will_wake(cx.waker()))
                {
                    return Poll::Pending;
                }
                // The timer is moved only when it fires, not on every read.
                while self.idle.as_mut().poll(cx).is_ready() {
                    let due = self.last_read + self.idle_timeout;
                    if due <= Instant::now() {
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "connection idle: nothing received within the idle timeout",
                        )));
                    }
                    self.idle.as_mut().reset(due.into());
                }
                self.idle_waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl AsyncWrite for PeerIo {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limited_logs_once_per_interval_and_counts_the_rest() {
        let limit = RateLimitedLog::new(Duration::from_secs(60));
        assert_eq!(limit.admit(), Some(0));
        assert_eq!(limit.admit(), None);
        assert_eq!(limit.admit(), None);
        *limit.last.lock().unwrap() = Some(Instant::now() - Duration::from_secs(61));
        assert_eq!(limit.admit(), Some(2));
    }
}
