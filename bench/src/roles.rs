//! The hidden server roles the `bench` binary runs when it starts itself
//! (`serve-custodian`, `serve-gateway`, `serve-echo`), and the CPU-bound neighbour
//! (`spin`) that saturates the servers' CPU in G_degraded_busy. Each links the real library
//! (`custodian_stub::server::serve_with`, `gateway::server::serve`) or, for the echo server, the
//! same server builder ([`helsedata::grpc_server::builder`]: mutual TLS, HTTP/2 limits,
//! tracing span per request) around a service that does no work.
//!
//! Every role binds loopback only, prints `READY <addr>` on stdout once its listener is
//! bound, logs warnings to stderr, and stops on SIGTERM/Ctrl-C (or is killed).

use std::{
    io::Write,
    net::SocketAddr,
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use clap::Args;
use helsedata::{
    grpc_server,
    proto::{
        self as pb,
        custodian_catalogue_server::{CustodianCatalogue, CustodianCatalogueServer},
    },
    tls::TlsMaterial,
};
use prost::Message;
use tokio::net::TcpListener;
use tonic::{Request, Response, Status};

use crate::synth;

/// Arguments of `serve-custodian`.
#[derive(Debug, Clone, Args)]
pub struct CustodianArgs {
    /// Custodian index: its id is `c<index>` and it owns sources `c<index>-*`.
    #[arg(long)]
    pub index: usize,
    /// Number of data sources.
    #[arg(long)]
    pub sources: usize,
    /// Number of variables over all its sources.
    #[arg(long)]
    pub variables: usize,
    /// Fixed latency added to every answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Bytes of description text per data source.
    #[arg(long, default_value_t = 0)]
    pub payload_bytes: usize,
    /// Address to listen on (loopback only).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Dev PKI directory.
    #[arg(long)]
    pub certs: PathBuf,
}

/// Arguments of `serve-gateway`.
#[derive(Debug, Clone, Args)]
pub struct GatewayArgs {
    /// Gateway configuration file (TOML; environment overrides are not applied).
    #[arg(long)]
    pub config: PathBuf,
}

/// Arguments of `serve-echo`.
#[derive(Debug, Clone, Args)]
pub struct EchoArgs {
    /// Address to listen on (loopback only).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Dev PKI directory (the echo server presents the certificate of custodian `echo`).
    #[arg(long)]
    pub certs: PathBuf,
    /// Encoded size of the answer, bytes: the fixed message is padded up to it (its
    /// `website` grows), so that the echo server sends as much as the answer it is compared
    /// with; 0 (or anything smaller than the bare message) sends the bare message.
    #[arg(long, default_value_t = 0)]
    pub answer_bytes: usize,
}

/// Arguments of `spin`.
#[derive(Debug, Clone, Args)]
pub struct SpinArgs {
    /// Seconds to spin before stopping by itself (the bench kills it sooner).
    #[arg(long)]
    pub secs: f64,
}

/// The id whose certificate the echo server presents.
pub const ECHO_ID: &str = "echo";

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn check_loopback(addr: SocketAddr) -> Result<()> {
    if !addr.ip().is_loopback() {
        bail!("refusing to listen on {addr}: the benchmark uses 127.0.0.1 only");
    }
    Ok(())
}

/// Binds `addr` (loopback only). The servers turn Nagle's algorithm off on every accepted
/// connection themselves (`helsedata::grpc_server::incoming`).
fn bind(addr: SocketAddr) -> Result<TcpListener> {
    check_loopback(addr)?;
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()
    } else {
        tokio::net::TcpSocket::new_v6()
    }
    .context("cannot create a socket")?;
    socket
        .bind(addr)
        .with_context(|| format!("cannot bind {addr}"))?;
    socket
        .listen(1024)
        .with_context(|| format!("cannot listen on {addr}"))
}

fn announce(listener: &TcpListener) -> Result<()> {
    announce_addr(listener.local_addr().context("no local address")?)
}

/// Tells the parent the role is ready ([`crate::cluster::Ready::Line`]).
fn announce_addr(addr: SocketAddr) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "READY {addr}").context("cannot write to stdout")?;
    out.flush().context("cannot flush stdout")
}

fn tls_of(certs: &std::path::Path, id: &str) -> Result<TlsMaterial> {
    fixture::Pki::open(certs)
        .try_custodian_tls(id)
        .with_context(|| format!("cannot load the TLS files of `{id}`"))
}

/// `serve-custodian`: a synthetic catalogue behind the real custodian server.
pub fn serve_custodian(args: CustodianArgs) -> Result<()> {
    init_logging();
    runtime()?.block_on(async move {
        let started = Instant::now();
        let catalogue =
            synth::catalogue(args.index, args.sources, args.variables, args.payload_bytes);
        let id = synth::custodian_id(args.index);
        tracing::warn!(
            custodian = %id,
            sources = args.sources,
            variables = args.variables,
            build_ms = started.elapsed().as_millis() as u64,
            "synthetic catalogue built"
        );
        let tls = tls_of(&args.certs, &id)?;
        let listener = bind(args.listen)?;
        announce(&listener)?;
        // The load generator calls custodians directly with the developer's certificate,
        // which the test options make an operator identity.
        custodian_stub::server::serve_with(
            Arc::new(catalogue),
            fixture::custodian_options(&tls, Duration::from_millis(args.latency_ms)),
            listener,
            grpc_server::shutdown_signal(),
        )
        .await
        .context("custodian failed")
    })
}

/// `serve-gateway`: the real gateway with a configuration file.
pub fn serve_gateway(args: GatewayArgs) -> Result<()> {
    init_logging();
    let text = std::fs::read_to_string(&args.config)
        .with_context(|| format!("cannot read {}", args.config.display()))?;
    let config = gateway::config::GatewayConfig::from_toml(&text)
        .with_context(|| format!("configuration {} refused", args.config.display()))?;
    for custodian in &config.custodians {
        let uri: tonic::codegen::http::Uri = custodian
            .endpoint
            .parse()
            .with_context(|| format!("bad endpoint {}", custodian.endpoint))?;
        if !matches!(uri.host(), Some("127.0.0.1" | "localhost")) {
            bail!(
                "custodian endpoint {} is not loopback: the benchmark uses 127.0.0.1 only",
                custodian.endpoint
            );
        }
    }
    runtime()?.block_on(async move {
        let listener = bind(config.listen)?;
        announce(&listener)?;
        gateway::server::serve(config, listener, grpc_server::shutdown_signal())
            .await
            .context("gateway failed")
    })
}

/// A `CustodianCatalogue` that answers GetCustodianInfo with a fixed message and does
/// nothing else: the floor of a tonic server with this TLS and HTTP/2 set-up.
#[derive(Debug, Clone)]
pub struct Echo {
    info: pb::CustodianInfo,
}

impl Echo {
    /// The echo service with the bare message (about 30 bytes).
    pub fn new() -> Self {
        Self::sized(0)
    }

    /// The echo service whose answer encodes to `answer_bytes` (at least the bare message).
    pub fn sized(answer_bytes: usize) -> Self {
        let mut info = pb::CustodianInfo {
            id: ECHO_ID.into(),
            name: Some(pb::LocalizedText {
                nb: "Ekko".into(),
                en: "Echo".into(),
            }),
            catalogue_revision: "echo".into(),
            ..Default::default()
        };
        // The padding field adds its tag (1 byte), its length prefix (a varint) and its text:
        // the longest text that fits meets the size exactly, or one byte short where the
        // prefix grows by a byte (from 127 to 128 bytes of text, …).
        let base = info.encoded_len();
        let size = |text: usize| base + 1 + prost::encoding::encoded_len_varint(text as u64) + text;
        let longest = answer_bytes.checked_sub(base + 2);
        let fitting = longest.and_then(|most| {
            (most.saturating_sub(3)..=most)
                .rev()
                .find(|&t| size(t) <= answer_bytes)
        });
        if let Some(text) = fitting {
            info.website = "w".repeat(text);
        }
        Self { info }
    }
}

impl Default for Echo {
    fn default() -> Self {
        Self::new()
    }
}

fn unimplemented<T>() -> Result<Response<T>, Status> {
    Err(Status::unimplemented(
        "the echo server answers GetCustodianInfo only",
    ))
}

#[tonic::async_trait]
impl CustodianCatalogue for Echo {
    async fn get_custodian_info(
        &self,
        _request: Request<pb::GetCustodianInfoRequest>,
    ) -> Result<Response<pb::CustodianInfo>, Status> {
        Ok(Response::new(self.info.clone()))
    }

    async fn list_data_sources(
        &self,
        _request: Request<pb::ListDataSourcesRequest>,
    ) -> Result<Response<pb::ListDataSourcesResponse>, Status> {
        unimplemented()
    }

    async fn get_data_source(
        &self,
        _request: Request<pb::GetDataSourceRequest>,
    ) -> Result<Response<pb::DataSource>, Status> {
        unimplemented()
    }

    async fn list_variables(
        &self,
        _request: Request<pb::ListVariablesRequest>,
    ) -> Result<Response<pb::ListVariablesResponse>, Status> {
        unimplemented()
    }

    async fn search_variables(
        &self,
        _request: Request<pb::SearchVariablesRequest>,
    ) -> Result<Response<helsedata::encoded::SearchVariablesAnswer>, Status> {
        unimplemented()
    }

    async fn get_access_rules(
        &self,
        _request: Request<pb::GetAccessRulesRequest>,
    ) -> Result<Response<pb::AccessRules>, Status> {
        unimplemented()
    }

    type WatchCatalogueStream = tonic::codegen::BoxStream<pb::CatalogueChange>;

    async fn watch_catalogue(
        &self,
        _request: Request<pb::WatchCatalogueRequest>,
    ) -> Result<Response<Self::WatchCatalogueStream>, Status> {
        unimplemented()
    }
}

/// `serve-echo`: the echo service behind the shared server builder.
pub fn serve_echo(args: EchoArgs) -> Result<()> {
    init_logging();
    runtime()?.block_on(async move {
        let tls = tls_of(&args.certs, ECHO_ID)?;
        let listener = bind(args.listen)?;
        let router = grpc_server::builder().add_service(CustodianCatalogueServer::new(
            Echo::sized(args.answer_bytes),
        ));
        announce(&listener)?;
        router
            .serve_with_incoming_shutdown(
                grpc_server::incoming(listener, &tls).context("cannot build the echo server")?,
                grpc_server::shutdown_signal(),
            )
            .await
            .context("echo server failed")
    })
}

/// `spin` (`--secs`, checked as every duration of the bench is): one thread that never
/// yields the CPU of its own accord, a neighbour that keeps the CPU it is pinned to
/// saturated, for at most `length`. It announces itself with `READY 127.0.0.1:0` (it serves
/// nothing) and then computes until the time is up.
pub fn spin(length: Duration) -> Result<()> {
    let until = Instant::now() + length;
    announce_addr(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    let mut x = 0u64;
    while Instant::now() < until {
        for _ in 0..100_000 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::Echo;

    #[test]
    fn the_echo_answer_has_the_size_asked_for_or_the_bare_size() {
        let bare = Echo::new().info.encoded_len();
        assert!(bare < 40, "the bare answer is {bare} bytes");
        for asked in [bare + 3, 130, 131, 1_000, 9_870, 16_385, 70_000] {
            assert_eq!(
                Echo::sized(asked).info.encoded_len(),
                asked,
                "asked {asked}"
            );
        }
        for asked in bare + 3..20_000 {
            let size = Echo::sized(asked).info.encoded_len();
            assert!(
                size == asked || size + 1 == asked,
                "asked {asked}, got {size}"
            );
        }
        assert_eq!(Echo::sized(5).info.encoded_len(), bare);
    }
}
