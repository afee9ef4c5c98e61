//! Starting the processes of a run and connecting to them: a throw-away dev PKI, synthetic
//! custodians, gateways with a generated configuration, the echo server, and pools of
//! mutual-TLS clients (one HTTP/2 connection per pool member) for the load generator.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use anyhow::{Context, Result};
use dev_certs::DevPki;
use gateway::config::GatewayConfig;
use helsedata::{
    identity,
    proto::{
        custodian_catalogue_client::CustodianCatalogueClient,
        federated_catalogue_client::FederatedCatalogueClient,
    },
    tls::TlsMaterial,
};
use tonic::transport::Channel;

use crate::{
    cluster::{Child, Launch, Pinning, Ready},
    phases::NEIGHBOUR,
    roles::ECHO_ID,
    synth,
};

/// The national routing rules the gateway must load (the repository's own file).
const NATIONAL_RULES: &str = include_str!("../../gateway/config/national-rules.toml");

/// Largest answer the load generator accepts.
pub const MAX_MESSAGE: usize = 256 << 20;

/// Where a run keeps its files, and how it starts processes.
#[derive(Debug)]
pub struct Fleet {
    /// The `bench` binary (started again in its server roles).
    pub exe: PathBuf,
    /// Working directory (certificates, configurations, logs).
    pub dir: PathBuf,
    /// The dev PKI.
    pub pki: DevPki,
    /// The load generator's identity (the developer client certificate).
    pub client_tls: TlsMaterial,
    /// CPU pinning.
    pub pinning: Pinning,
}

/// One custodian to start.
#[derive(Debug, Clone, Copy)]
pub struct CustodianSpec {
    /// Index (`c<index>`).
    pub index: usize,
    /// Sources.
    pub sources: usize,
    /// Variables over all its sources.
    pub variables: usize,
    /// Added latency per answer.
    pub latency_ms: u64,
    /// Description bytes per source.
    pub payload: usize,
}

/// One gateway to start.
#[derive(Debug, Clone)]
pub struct GatewaySpec<'a> {
    /// Name in reports and logs.
    pub name: &'a str,
    /// Custodian indexes and addresses.
    pub custodians: &'a [(usize, SocketAddr)],
    /// Per-custodian call timeout.
    pub timeout_ms: u64,
    /// Deadline of requests that send none.
    pub default_deadline_ms: u64,
    /// `defaults.eject_after_failures` (0: never eject); the gateway's default when None.
    pub eject_after_failures: Option<u32>,
    /// `limits.requests_per_second_per_identity` (0: no limit, which the throughput phases
    /// need: their load generator is one identity); the gateway's default when None.
    pub requests_per_second_per_identity: Option<u32>,
}

fn toml_str(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

impl Fleet {
    /// A fleet working in `dir`, with a new dev PKI for these custodian indexes (and the
    /// echo server).
    pub fn new(dir: &Path, pinning: Pinning, custodians: usize) -> Result<Self> {
        let exe = std::env::current_exe().context("cannot find the bench binary")?;
        let mut ids: Vec<String> = (0..custodians).map(synth::custodian_id).collect();
        ids.push(ECHO_ID.into());
        let pki = fixture::Pki::generate_in(&dir.join("certs"), &ids)
            .context("cannot write the dev PKI")?;
        let client_tls = pki
            .try_developer_tls()
            .context("cannot load the client certificate")?;
        let pki = pki.pki;
        std::fs::write(dir.join("national-rules.toml"), NATIONAL_RULES)
            .context("cannot write the national rules")?;
        Ok(Self {
            exe,
            dir: dir.to_path_buf(),
            pki,
            client_tls,
            pinning,
        })
    }

    fn launch(&self, name: String, args: Vec<String>, ready_timeout: Duration) -> Launch {
        Launch {
            name,
            program: self.exe.clone(),
            args,
            cpu: self.pinning.server_cpu,
            log_dir: self.dir.clone(),
            ready: Ready::Line,
            ready_timeout,
            death_signal: libc::SIGKILL,
        }
    }

    /// Starts a synthetic custodian.
    pub fn custodian(&self, spec: CustodianSpec, ready_timeout: Duration) -> Result<Child> {
        let args = vec![
            "serve-custodian".into(),
            "--index".into(),
            spec.index.to_string(),
            "--sources".into(),
            spec.sources.to_string(),
            "--variables".into(),
            spec.variables.to_string(),
            "--latency-ms".into(),
            spec.latency_ms.to_string(),
            "--payload-bytes".into(),
            spec.payload.to_string(),
            "--certs".into(),
            self.pki.dir().display().to_string(),
        ];
        Child::spawn(self.launch(
            format!("custodian {}", synth::custodian_id(spec.index)),
            args,
            ready_timeout,
        ))
    }

    /// The configuration of a gateway over these custodians: caches that stay warm for the
    /// whole run (callers bypass them with `cache-control: no-store`), the given
    /// per-custodian timeout, and loopback endpoints only.
    pub fn gateway_toml(&self, spec: &GatewaySpec<'_>) -> String {
        let eject = spec
            .eject_after_failures
            .map(|n| format!("eject_after_failures = {n}\n"))
            .unwrap_or_default();
        let rate = spec
            .requests_per_second_per_identity
            .map(|n| format!("requests_per_second_per_identity = {n}\n"))
            .unwrap_or_default();
        let mut text = format!(
            "# Written by the bench harness.\nlisten = \"127.0.0.1:0\"\nnational_rules = {}\n\n\
             [tls]\nca = {}\ncert = {}\nkey = {}\nclient_cert = {}\nclient_key = {}\n\n\
             [cache]\ncatalogue_ttl_ms = 600000\nrecord_ttl_ms = 600000\nsearch_ttl_ms = 600000\nmax_stale_ms = 86400000\n\n\
             [defaults]\ntimeout_ms = {}\nconnect_timeout_ms = 2000\n{eject}\n\
             [limits]\ndefault_deadline_ms = {}\nmax_concurrent_requests = 1024\n{rate}",
            toml_str(&self.dir.join("national-rules.toml").display().to_string()),
            toml_str(&self.pki.ca_cert().display().to_string()),
            toml_str(&self.pki.gateway_cert().display().to_string()),
            toml_str(&self.pki.gateway_key().display().to_string()),
            toml_str(&self.pki.gateway_client_cert().display().to_string()),
            toml_str(&self.pki.gateway_client_key().display().to_string()),
            spec.timeout_ms,
            spec.default_deadline_ms,
        );
        for (index, addr) in spec.custodians {
            text.push_str(&format!(
                "\n[[custodians]]\nid = \"{}\"\nendpoint = \"https://{addr}\"\nowns = [\"{}\"]\n",
                synth::custodian_id(*index),
                synth::ownership(*index)
            ));
        }
        text
    }

    /// Writes a gateway configuration, checks it, and starts the gateway.
    pub fn gateway(&self, spec: &GatewaySpec<'_>) -> Result<Child> {
        self.gateway_wrapped(spec, &[])
    }

    /// [`Fleet::gateway`], started through the command prefix `wrapper` (valgrind).
    pub fn gateway_wrapped(&self, spec: &GatewaySpec<'_>, wrapper: &[String]) -> Result<Child> {
        let text = self.gateway_toml(spec);
        GatewayConfig::from_toml(&text)
            .with_context(|| format!("the generated configuration of {} is refused", spec.name))?;
        let file_name: String = spec
            .name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let path = self.dir.join(format!("{file_name}.toml"));
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        Child::spawn(wrapped(
            self.launch(
                spec.name.to_string(),
                vec![
                    "serve-gateway".into(),
                    "--config".into(),
                    path.display().to_string(),
                ],
                Duration::from_secs(60),
            ),
            wrapper,
        ))
    }

    /// Starts a CPU-bound neighbour on the servers' CPU ([`crate::roles::spin`]) that stops
    /// by itself after `secs` seconds.
    pub fn neighbour(&self, secs: f64) -> Result<Child> {
        Child::spawn(self.launch(
            NEIGHBOUR.into(),
            vec!["spin".into(), "--secs".into(), format!("{secs:.3}")],
            Duration::from_secs(10),
        ))
    }

    /// Starts the echo server, its answer padded to `answer_bytes` ([`crate::roles::Echo::sized`]).
    pub fn echo(&self, answer_bytes: usize) -> Result<Child> {
        self.echo_wrapped("echo", answer_bytes, &[])
    }

    /// [`Fleet::echo`] named `name`, started through the command prefix `wrapper`.
    pub fn echo_wrapped(
        &self,
        name: &str,
        answer_bytes: usize,
        wrapper: &[String],
    ) -> Result<Child> {
        Child::spawn(wrapped(
            self.launch(
                name.into(),
                vec![
                    "serve-echo".into(),
                    "--certs".into(),
                    self.pki.dir().display().to_string(),
                    "--answer-bytes".into(),
                    answer_bytes.to_string(),
                ],
                Duration::from_secs(60),
            ),
            wrapper,
        ))
    }
}

/// `launch` run through the command prefix `wrapper` (nothing when empty); a wrapped
/// server (valgrind) gets two minutes to become ready.
fn wrapped(mut launch: Launch, wrapper: &[String]) -> Launch {
    let Some((program, args)) = wrapper.split_first() else {
        return launch;
    };
    let mut all: Vec<String> = args.to_vec();
    all.push(launch.program.display().to_string());
    all.append(&mut launch.args);
    launch.program = PathBuf::from(program);
    launch.args = all;
    launch.ready_timeout = launch.ready_timeout.max(Duration::from_secs(120));
    launch
}

/// Clients used round-robin, each on its own connection.
#[derive(Debug)]
pub struct Pool<C> {
    clients: Vec<C>,
    /// The clients' channels, in the same order.
    channels: Vec<Channel>,
    next: AtomicUsize,
}

impl<C: Clone> Pool<C> {
    /// Clients made by `client` from `channels`, one each.
    fn of(channels: Vec<Channel>, client: impl Fn(Channel) -> C) -> Arc<Self> {
        Arc::new(Pool {
            clients: channels.iter().cloned().map(client).collect(),
            channels,
            next: AtomicUsize::new(0),
        })
    }

    /// The next client.
    pub fn pick(&self) -> C {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.clients.len().max(1);
        self.clients[i].clone()
    }

    /// The next client's channel (for calls decoded by other than the generated client).
    pub fn pick_channel(&self) -> Channel {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.channels.len().max(1);
        self.channels[i].clone()
    }
}

/// A connected channel to the loopback server `addr`, which must present `identity`, tuned
/// for load (TCP_NODELAY, adaptive HTTP/2 window).
pub async fn channel(tls: &TlsMaterial, addr: SocketAddr, identity: &str) -> Result<Channel> {
    Ok(fixture::channel(tls, addr, identity, |endpoint| {
        endpoint
            .tcp_nodelay(true)
            .http2_adaptive_window(true)
            .connect_timeout(Duration::from_secs(5))
    })
    .await?)
}

/// `connections` custodian clients of `addr`.
pub async fn custodian_pool(
    tls: &TlsMaterial,
    addr: SocketAddr,
    identity: &str,
    connections: usize,
) -> Result<Arc<Pool<CustodianCatalogueClient<Channel>>>> {
    let mut channels = Vec::with_capacity(connections);
    for _ in 0..connections.max(1) {
        channels.push(channel(tls, addr, identity).await?);
    }
    Ok(Pool::of(channels, |c| {
        CustodianCatalogueClient::new(c).max_decoding_message_size(MAX_MESSAGE)
    }))
}

/// `connections` gateway clients of `addr`.
pub async fn gateway_pool(
    tls: &TlsMaterial,
    addr: SocketAddr,
    connections: usize,
) -> Result<Arc<Pool<FederatedCatalogueClient<Channel>>>> {
    let mut channels = Vec::with_capacity(connections);
    for _ in 0..connections.max(1) {
        channels.push(channel(tls, addr, &identity::gateway_identity()).await?);
    }
    Ok(Pool::of(channels, |c| {
        FederatedCatalogueClient::new(c).max_decoding_message_size(MAX_MESSAGE)
    }))
}
