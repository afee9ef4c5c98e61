//! TLS material that follows its files: certificate, key, CA bundle and CRLs are read again
//! when their contents change (polled) or on SIGHUP, and the new configuration replaces the
//! old one atomically. Connections already open keep the configuration they were made with;
//! every new handshake, in and out, uses the current one. A change that does not load (a
//! half-written file, a key that does not match) is logged and the old configuration stays.

use std::{
    fmt, io,
    pin::Pin,
    sync::{Arc, RwLock, Weak},
    task::{Context, Poll},
    time::Duration,
};

use hyper_util::rt::TokioIo;
use rustls::{ServerConfig, pki_types::ServerName};
use tokio::net::TcpStream;
use tokio_rustls::{TlsConnector, client::TlsStream};
use tonic::transport::{Endpoint, Uri};

use crate::tls::{TlsError, TlsFiles, TlsMaterial};

/// How often the files are compared with what was loaded, unless configured otherwise.
pub const DEFAULT_POLL: Duration = Duration::from_secs(2);

struct Loaded {
    contents: Vec<Option<Vec<u8>>>,
    material: Arc<TlsMaterial>,
    server: Arc<ServerConfig>,
    generation: u64,
}

/// TLS material loaded from [`TlsFiles`], replaced when the files change.
pub struct ReloadingTls {
    files: Option<TlsFiles>,
    current: RwLock<Arc<Loaded>>,
}

impl fmt::Debug for ReloadingTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadingTls")
            .field("files", &self.files)
            .field("generation", &self.generation())
            .finish()
    }
}

fn contents(files: &TlsFiles) -> Vec<Option<Vec<u8>>> {
    files
        .paths()
        .iter()
        .map(|p| std::fs::read(p).ok())
        .collect()
}

impl ReloadingTls {
    /// Loads the files; fails as [`TlsMaterial::load`] does.
    pub fn load(files: TlsFiles) -> Result<Arc<Self>, TlsError> {
        let loaded = Self::read(&files, 0)?;
        Ok(Arc::new(Self {
            files: Some(files),
            current: RwLock::new(Arc::new(loaded)),
        }))
    }

    /// Material that never changes (loaded elsewhere; for tests and tools).
    pub fn fixed(material: TlsMaterial) -> Result<Arc<Self>, TlsError> {
        let server = material.rustls_server_config()?;
        Ok(Arc::new(Self {
            files: None,
            current: RwLock::new(Arc::new(Loaded {
                contents: Vec::new(),
                material: Arc::new(material),
                server,
                generation: 0,
            })),
        }))
    }

    fn read(files: &TlsFiles, generation: u64) -> Result<Loaded, TlsError> {
        let before = contents(files);
        let material = TlsMaterial::load(files)?;
        let server = material.rustls_server_config()?;
        Ok(Loaded {
            contents: before,
            material: Arc::new(material),
            server,
            generation,
        })
    }

    fn loaded(&self) -> Arc<Loaded> {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The files this material comes from (`None` when [`ReloadingTls::fixed`]).
    pub fn files(&self) -> Option<&TlsFiles> {
        self.files.as_ref()
    }

    /// The server configuration for the next handshake.
    pub fn server_config(&self) -> Arc<ServerConfig> {
        self.loaded().server.clone()
    }

    /// The material for the next outgoing connection.
    pub fn material(&self) -> Arc<TlsMaterial> {
        self.loaded().material.clone()
    }

    /// How many times the material has been replaced since it was first loaded.
    pub fn generation(&self) -> u64 {
        self.loaded().generation
    }

    /// Loads the files again if their contents differ from what is loaded. Returns whether
    /// the configuration was replaced; on an error the old one stays.
    pub fn reload_if_changed(&self) -> Result<bool, TlsError> {
        let Some(files) = &self.files else {
            return Ok(false);
        };
        let old = self.loaded();
        if contents(files) == old.contents {
            return Ok(false);
        }
        let new = Self::read(files, old.generation + 1)?;
        match self.current.write() {
            Ok(mut guard) => *guard = Arc::new(new),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(new),
        }
        Ok(true)
    }

    /// Watches the files in the background: compares them every `poll` and on SIGHUP, and
    /// reloads on change. The task ends when the last holder of `self` drops it.
    pub fn watch(self: &Arc<Self>, poll: Duration) -> tokio::task::JoinHandle<()> {
        let weak: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut hangup = hangup_signal();
            let mut tick = tokio::time::interval(poll);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let by_signal = tokio::select! {
                    _ = tick.tick() => false,
                    _ = next_hangup(&mut hangup) => true,
                };
                let Some(tls) = weak.upgrade() else { return };
                match tls.reload_if_changed() {
                    Ok(true) => tracing::info!(
                        generation = tls.generation(),
                        "TLS certificate, key, CA bundle or CRLs reloaded"
                    ),
                    Ok(false) if by_signal => {
                        tracing::info!("SIGHUP: TLS files unchanged, nothing reloaded")
                    }
                    Ok(false) => {}
                    Err(e) => tracing::warn!(
                        error = %e,
                        "TLS files changed but do not load; still using the previous ones"
                    ),
                }
            }
        })
    }

    /// An endpoint for a lazily connected channel to `uri` (`https://host:port`) whose every
    /// new connection presents the current client certificate and accepts only a server
    /// chained to the current CA bundle that carries `expected_identity`.
    pub fn client_channel(
        self: &Arc<Self>,
        uri: &str,
        expected_identity: &str,
        server_name: Option<&str>,
        configure: impl FnOnce(Endpoint) -> Endpoint,
    ) -> Result<tonic::transport::Channel, TlsError> {
        let endpoint_err = |reason: String| TlsError::Endpoint {
            endpoint: uri.to_string(),
            reason,
        };
        let parsed: Uri = uri
            .parse()
            .map_err(|e: http::uri::InvalidUri| endpoint_err(e.to_string()))?;
        if parsed.scheme_str() != Some("https") {
            return Err(endpoint_err("only https:// endpoints are allowed".into()));
        }
        let authority = parsed
            .authority()
            .ok_or_else(|| endpoint_err("the endpoint names no host".into()))?
            .clone();
        let host = server_name
            .unwrap_or_else(|| authority.host())
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let server_name = ServerName::try_from(host).map_err(|e| endpoint_err(e.to_string()))?;
        // The connector does TLS itself, so tonic sees a plain http:// endpoint.
        let endpoint = Endpoint::from_shared(format!("http://{authority}"))
            .map_err(|e| endpoint_err(e.to_string()))?;
        let port = authority.port_u16().unwrap_or(443);
        let connector = ReloadingConnector {
            tls: self.clone(),
            expected: Arc::from(expected_identity),
            server_name,
            address: Arc::from(format!("{}:{port}", authority.host())),
        };
        Ok(configure(endpoint).connect_with_connector_lazy(connector))
    }
}

/// Connects over TCP and TLS with the material current at connect time.
#[derive(Clone)]
struct ReloadingConnector {
    tls: Arc<ReloadingTls>,
    expected: Arc<str>,
    server_name: ServerName<'static>,
    address: Arc<str>,
}

impl tower::Service<Uri> for ReloadingConnector {
    type Response = TokioIo<TlsStream<TcpStream>>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, io::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), io::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _uri: Uri) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let config = this
                .tls
                .material()
                .rustls_client_config(&this.expected)
                .map_err(io::Error::other)?;
            let tcp = TcpStream::connect(&*this.address).await?;
            tcp.set_nodelay(true)?;
            let stream = TlsConnector::from(config)
                .connect(this.server_name.clone(), tcp)
                .await?;
            Ok(TokioIo::new(stream))
        })
    }
}

#[cfg(unix)]
type Hangup = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangup = ();

#[cfg(unix)]
fn hangup_signal() -> Hangup {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok()
}
#[cfg(not(unix))]
fn hangup_signal() -> Hangup {}

#[cfg(unix)]
async fn next_hangup(signal: &mut Hangup) {
    match signal {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending().await,
    }
}
#[cfg(not(unix))]
async fn next_hangup(_signal: &mut Hangup) {
    std::future::pending().await
}
