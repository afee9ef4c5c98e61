//! `bench abuse`: the attacks of the hardening review, one after another, against a gateway
//! process in front of synthetic custodians (all on 127.0.0.1), with a normal client and
//! the health check measured while each runs: the normal client's p50 and p99, its failed
//! calls, failed health checks, the gateway's peak RSS, and whether every custodian is still
//! healthy afterwards. The attacker has an identity of its own
//! (`helsedataservice/abuser`), as a real one would.

use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use fixture::raw_h2::{self, SEARCH, framed, grpc_request};
use hdrhistogram::Histogram;
use helsedata::{identity, proto as pb, tls::TlsMaterial};
use tokio::{io::AsyncWriteExt, net::TcpStream, task::JoinSet};
use tonic::codegen::http::HeaderValue;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

use crate::{
    cluster::{Child, Pinning},
    fleet::{self, CustodianSpec, Fleet, GatewaySpec},
};

/// How often the normal client calls: 200 calls a second, a user of the catalogue at a
/// brisk pace, well under the gateway's rate limit per identity.
const NORMAL_INTERVAL: Duration = Duration::from_millis(5);

/// Options of `bench abuse`.
#[derive(Debug, Clone, clap::Args)]
pub struct AbuseArgs {
    /// Seconds per phase.
    #[arg(long, default_value_t = 3.0)]
    pub secs: f64,
    /// Attacks a tenth the size, phases of half a second (the test suite's run).
    #[arg(long)]
    pub smoke: bool,
    /// Also write the report (Markdown) to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// One attack and its size.
#[derive(Debug, Clone, Copy)]
enum Attack {
    /// Nothing: the baseline.
    None,
    /// Searches with a 1 µs deadline and `cache-control: no-store`, from this many tasks.
    CallerDeadlines(usize),
    /// Connections that finish TLS and then send nothing.
    IdleConnections(usize),
    /// Connections × streams that send headers and never a message.
    BodylessStreams(usize, usize),
    /// Connections × full searches whose answers are never read (zero window).
    ZeroWindowReaders(usize, usize),
    /// Connections that send bytes that are no TLS.
    Garbage(usize),
}

impl Attack {
    fn describe(self) -> String {
        match self {
            Self::None => "none (baseline)".into(),
            Self::CallerDeadlines(n) => {
                format!(
                    "{n} callers sending searches with a 1 µs deadline and no-store, each as soon as its previous call is answered"
                )
            }
            Self::IdleConnections(n) => format!("{n} TLS connections that send nothing"),
            Self::BodylessStreams(c, s) => {
                format!("{c} connections × {s} streams with headers and no message")
            }
            Self::ZeroWindowReaders(c, s) => {
                format!("{c} connections × {s} full searches, answers never read (zero window)")
            }
            Self::Garbage(n) => format!("{n} connections sending bytes that are no TLS"),
        }
    }
}

/// What one phase measured.
struct PhaseResult {
    attack: Attack,
    calls: u64,
    p50_ms: f64,
    p99_ms: f64,
    failed: u64,
    health_failed: u64,
    rss_peak_mib: f64,
    healthy_after: usize,
    custodians: usize,
}

/// Runs every attack and prints the report; fails when a normal call failed.
pub fn run(args: AbuseArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(measure(args))
}

async fn measure(args: AbuseArgs) -> Result<()> {
    let scale = if args.smoke { 10 } else { 1 };
    let phase = Duration::from_secs_f64(if args.smoke { 0.5 } else { args.secs.max(0.1) });
    let dir = tempfile::tempdir()?;
    let custodian_count = 2;
    let fleet = Fleet::new(dir.path(), Pinning::detect(), custodian_count)?;
    let mut custodians = Vec::new();
    for index in 0..custodian_count {
        custodians.push(fleet.custodian(
            CustodianSpec {
                index,
                sources: 200,
                variables: 4_000,
                latency_ms: 0,
                payload: 256,
            },
            Duration::from_secs(60),
        )?);
    }
    let addresses: Vec<(usize, SocketAddr)> = custodians
        .iter()
        .enumerate()
        .map(|(i, c)| (i, c.addr))
        .collect();
    let mut gateway = fleet.gateway(&GatewaySpec {
        name: "gateway (abuse)",
        custodians: &addresses,
        timeout_ms: 1_000,
        default_deadline_ms: 5_000,
        eject_after_failures: None,
        requests_per_second_per_identity: None,
    })?;
    let attacker =
        fixture::Pki::open(fleet.pki.dir()).client_tls("abuser", "helsedataservice/abuser");
    let normal = fleet::gateway_pool(&fleet.client_tls, gateway.addr, 1).await?;
    let health = HealthClient::new(
        fleet::channel(
            &fleet.client_tls,
            gateway.addr,
            &identity::gateway_identity(),
        )
        .await?,
    );
    // Warm the cache: the normal client's searches are answered from it.
    normal
        .pick()
        .search_data_sources(pb::SearchDataSourcesRequest::default())
        .await
        .context("the first search")?;

    let attacks = [
        Attack::None,
        Attack::CallerDeadlines(16 / scale.min(8)),
        Attack::IdleConnections(500 / scale),
        Attack::BodylessStreams(6 / scale.min(3), 150 / scale),
        Attack::ZeroWindowReaders(20 / scale, 40 / scale),
        Attack::Garbage(200 / scale),
    ];
    // The attackers run on threads of their own, as they would in processes of their own:
    // sharing the normal client's two worker threads, their loops would delay its tasks
    // whatever the gateway does.
    let attackers = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("attacker")
        .enable_all()
        .build()?;
    let mut results = Vec::new();
    for attack in attacks {
        eprintln!("[bench] abuse: {}", attack.describe());
        let mut running = attackers
            .spawn(start_attack(attack, gateway.addr, attacker.clone()))
            .await
            .context("the attack's start")??;
        // Let the attack take hold before measuring.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let result = normal_calls(
            attack,
            phase,
            &normal,
            health.clone(),
            &mut gateway,
            custodian_count,
        )
        .await?;
        running.abort_all();
        while running.join_next().await.is_some() {}
        results.push(result);
        // The gateway lets go of what the attack held (idle and stalled connections time out).
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    attackers.shutdown_background();
    let report = render(&results, phase);
    println!("{report}");
    if let Some(out) = &args.out {
        std::fs::write(out, &report).with_context(|| format!("cannot write {}", out.display()))?;
    }
    if let Some(bad) = results
        .iter()
        .find(|r| r.failed > 0 || r.health_failed > 0 || r.healthy_after < r.custodians)
    {
        bail!(
            "during `{}` {} normal calls and {} health checks failed, {} of {} custodians healthy after",
            bad.attack.describe(),
            bad.failed,
            bad.health_failed,
            bad.healthy_after,
            bad.custodians
        );
    }
    Ok(())
}

/// Starts `attack`; its tasks hold what they opened until aborted.
async fn start_attack(attack: Attack, addr: SocketAddr, tls: TlsMaterial) -> Result<JoinSet<()>> {
    let tls = &tls;
    let mut set = JoinSet::new();
    match attack {
        Attack::None => {}
        Attack::CallerDeadlines(callers) => {
            // Raw HTTP/2, as a remote client: each caller sends its next call once the
            // previous one is answered, so what the gateway does with a flood (answer it at
            // once, or stop reading) decides how fast it comes. (A tonic client would give up
            // on its side after 1 µs and spin on this machine's CPUs whatever the gateway does.)
            let search = framed(&pb::SearchDataSourcesRequest::default());
            for connection in 0..callers.div_ceil(8) {
                // The connection runs on a task of its own until both sides let go.
                let (send, _task) = raw_h2::connect(addr, tls, None).await?;
                for _ in 0..8.min(callers - connection * 8) {
                    let send = send.clone();
                    let search = search.clone();
                    set.spawn(async move {
                        loop {
                            let Ok(mut ready) = send.clone().ready().await else {
                                return;
                            };
                            let mut request = grpc_request(addr, SEARCH);
                            let headers = request.headers_mut();
                            headers.insert("grpc-timeout", HeaderValue::from_static("1u"));
                            headers.insert("cache-control", HeaderValue::from_static("no-store"));
                            let Ok((response, mut body)) = ready.send_request(request, false)
                            else {
                                return;
                            };
                            if body.send_data(search.clone(), true).is_err() {
                                return;
                            }
                            let Ok(response) = response.await else {
                                continue;
                            };
                            let mut answer = response.into_body();
                            while let Some(Ok(chunk)) = answer.data().await {
                                let _ = answer.flow_control().release_capacity(chunk.len());
                            }
                        }
                    });
                }
            }
        }
        Attack::IdleConnections(n) => {
            let config = tls.rustls_client_config(&identity::gateway_identity())?;
            let mut held = Vec::with_capacity(n);
            for _ in 0..n {
                let tcp = TcpStream::connect(addr).await?;
                let connector = tokio_rustls::TlsConnector::from(config.clone());
                if let Ok(stream) = connector
                    .connect(
                        rustls_pki_types::ServerName::IpAddress(
                            std::net::Ipv4Addr::LOCALHOST.into(),
                        ),
                        tcp,
                    )
                    .await
                {
                    held.push(stream);
                }
            }
            hold(&mut set, held);
        }
        Attack::BodylessStreams(connections, streams) => {
            let mut held = Vec::new();
            for _ in 0..connections {
                let (send, task) = raw_h2::connect(addr, tls, None).await?;
                for _ in 0..streams {
                    match raw_h2::bodyless(&send, addr).await {
                        Ok(stream) => held.push(stream),
                        Err(_) => break,
                    }
                }
                // The connection runs on a task of its own until both sides let go.
                drop(task);
                hold(&mut set, send);
            }
            hold(&mut set, held);
        }
        Attack::ZeroWindowReaders(connections, searches) => {
            let search = pb::SearchDataSourcesRequest {
                page_size: 500,
                view: pb::DataSourceView::Full as i32,
                ..Default::default()
            };
            let mut held = Vec::new();
            for _ in 0..connections {
                let (send, task) = raw_h2::connect(addr, tls, Some(0)).await?;
                for _ in 0..searches {
                    let Ok(mut ready) = send.clone().ready().await else {
                        break;
                    };
                    let Ok((response, mut body)) =
                        ready.send_request(grpc_request(addr, SEARCH), false)
                    else {
                        break;
                    };
                    if body.send_data(framed(&search), true).is_err() {
                        break;
                    }
                    held.push(response);
                }
                // The connection runs on a task of its own until both sides let go.
                drop(task);
                hold(&mut set, send);
            }
            hold(&mut set, held);
        }
        Attack::Garbage(n) => {
            for _ in 0..n {
                set.spawn(async move {
                    if let Ok(mut tcp) = TcpStream::connect(addr).await {
                        let _ = tcp.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
                        let _ = tcp.write_all(&[0xffu8; 512]).await;
                        std::future::pending::<()>().await;
                    }
                });
            }
        }
    }
    Ok(set)
}

/// Keeps `value` (connections, streams) open until the attack's tasks are aborted.
fn hold<T: Send + 'static>(set: &mut JoinSet<()>, value: T) {
    set.spawn(async move {
        let _held = value;
        std::future::pending::<()>().await;
    });
}

/// The normal client's calls (warm-cache searches, a health check every 100 ms) for
/// `phase`, with the gateway's memory sampled.
async fn normal_calls(
    attack: Attack,
    phase: Duration,
    normal: &Arc<
        fleet::Pool<
            pb::federated_catalogue_client::FederatedCatalogueClient<tonic::transport::Channel>,
        >,
    >,
    mut health: HealthClient<tonic::transport::Channel>,
    gateway: &mut Child,
    custodians: usize,
) -> Result<PhaseResult> {
    let mut latencies = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let (mut failed, mut health_failed) = (0u64, 0u64);
    let mut rss_peak = gateway.memory().rss;
    let started = Instant::now();
    let mut next_health = started;
    let mut due = started;
    while started.elapsed() < phase {
        // One call every NORMAL_INTERVAL (or at once after a call that took longer).
        tokio::time::sleep_until(due.into()).await;
        let sent = Instant::now();
        due += NORMAL_INTERVAL;
        let mut request = tonic::Request::new(pb::SearchDataSourcesRequest {
            page_size: 50,
            ..Default::default()
        });
        request.set_timeout(Duration::from_secs(5));
        match normal.pick().search_data_sources(request).await {
            Ok(_) => {
                let _ = latencies.record(sent.elapsed().as_micros().max(1) as u64);
            }
            Err(_) => failed += 1,
        }
        if Instant::now() >= next_health {
            next_health += Duration::from_millis(100);
            let mut check = tonic::Request::new(HealthCheckRequest {
                service: String::new(),
            });
            check.set_timeout(Duration::from_secs(5));
            if health.check(check).await.is_err() {
                health_failed += 1;
            }
            rss_peak = rss_peak.max(gateway.memory().rss);
        }
    }
    let listed = normal
        .pick()
        .list_custodians(pb::ListCustodiansRequest::default())
        .await?
        .into_inner();
    let healthy_after = listed.custodians.iter().filter(|c| c.healthy).count();
    Ok(PhaseResult {
        attack,
        calls: latencies.len(),
        p50_ms: latencies.value_at_quantile(0.5) as f64 / 1000.0,
        p99_ms: latencies.value_at_quantile(0.99) as f64 / 1000.0,
        failed,
        health_failed,
        rss_peak_mib: rss_peak as f64 / (1024.0 * 1024.0),
        healthy_after,
        custodians,
    })
}

fn render(results: &[PhaseResult], phase: Duration) -> String {
    let mut out = format!(
        "## Abuse\n\n`bench abuse`: {:.1} s per attack; a normal client (developer identity) sends \
         a warm-cache search every 5 ms and a health \
         check every 100 ms while each runs; the attacker has an identity of its own; the \
         gateway has its default limits.\n\n\
         | attack | normal calls | p50 ms | p99 ms | failed normal calls | failed health checks | gateway peak RSS | custodians healthy after |\n\
         |---|---|---|---|---|---|---|---|\n",
        phase.as_secs_f64()
    );
    for r in results {
        out.push_str(&format!(
            "| {} | {} | {:.3} | {:.3} | {} | {} | {:.0} MiB | {} of {} |\n",
            r.attack.describe(),
            r.calls,
            r.p50_ms,
            r.p99_ms,
            r.failed,
            r.health_failed,
            r.rss_peak_mib,
            r.healthy_after,
            r.custodians
        ));
    }
    out
}
