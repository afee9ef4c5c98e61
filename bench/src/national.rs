//! National scale: deterministic catalogues of (by default) 100,000 data sources and
//! 10,000,000 variables over 8 custodians, and what the gateway and the custodians need
//! for them: memory, time to the first complete merged answer, search latency, and
//! ListVariables throughput through the gateway against the same read from a custodian.
//!
//! Memory is planned before it is spent: the first custodian is started with its full
//! share and measured; if all of them plus a reserve for the gateway would not fit in the
//! memory available, every custodian is started with proportionally fewer variables and
//! the report says so.

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Result, bail};
use futures::FutureExt;
use helsedata::{
    identity,
    proto::{self as pb, custodian_catalogue_client::CustodianCatalogueClient},
};
use tonic::{Request, transport::Channel};

use crate::{
    cluster::Child,
    fleet::{self, CustodianSpec, Fleet, GatewaySpec, Pool},
    loadgen::{self, Call, Failure, Limits, Stats},
    phases::no_store,
    procstat::{self, Memory},
    synth::{self, Shape},
};

/// Memory kept free for the gateway and the load generator when planning.
const RESERVE: u64 = 4 << 30;

/// Settings of the national-scale step.
#[derive(Debug, Clone)]
pub struct NationalOptions {
    /// Sizes asked for.
    pub shape: Shape,
    /// Latency added by the custodians (0: measure the work, not the network).
    pub latency_ms: u64,
    /// Length of each measurement.
    pub duration: Duration,
    /// Callers for the throughput measurements.
    pub concurrency: usize,
    /// Connections per server.
    pub connections: usize,
    /// Longest a custodian may take to build its catalogue.
    pub startup_timeout: Duration,
}

/// One measurement.
#[derive(Debug, Clone)]
pub struct NationalRun {
    /// Short label.
    pub label: &'static str,
    /// What was sent.
    pub what: String,
    /// Callers (closed loop).
    pub concurrency: usize,
    /// Results.
    pub stats: Stats,
}

/// What the national-scale step measured.
#[derive(Debug, Clone)]
pub struct NationalReport {
    /// Sizes asked for.
    pub requested: Shape,
    /// Sizes used.
    pub used: Shape,
    /// Why they differ.
    pub scaled: Option<String>,
    /// Custodian latency.
    pub latency_ms: u64,
    /// Start-up (generate + index) time of each custodian.
    pub custodian_startup: Vec<Duration>,
    /// Memory of each custodian at the end.
    pub custodian_memory: Vec<Memory>,
    /// Gateway memory once serving, before the measurements.
    pub gateway_memory_idle: Memory,
    /// Gateway memory at the end.
    pub gateway_memory: Memory,
    /// Memory available before the step.
    pub available_before: u64,
    /// Gateway spawn to READY.
    pub gateway_ready: Duration,
    /// Gateway spawn to the first complete merged answer.
    pub first_complete: Duration,
    /// Duration of the request that got it.
    pub first_request: Duration,
    /// Gateway spawn to the first free-text search answered (the merge's index built).
    pub first_search: Duration,
    /// Measurements.
    pub runs: Vec<NationalRun>,
}

impl NationalReport {
    /// A run by label.
    pub fn run(&self, label: &str) -> Option<&NationalRun> {
        self.runs.iter().find(|r| r.label == label)
    }
}

/// Labels of the runs.
pub mod label {
    /// SearchDataSources on the gateway, one caller.
    pub const SOURCES: &str = "search_sources";
    /// SearchDataSources on the gateway, several callers.
    pub const SOURCES_THROUGHPUT: &str = "search_sources_tput";
    /// SearchDataSources on the gateway for a concept label, one caller.
    pub const SOURCES_CONCEPT: &str = "search_sources_concept";
    /// Empty query: every source ranked and paged.
    pub const SOURCES_BROWSE: &str = "browse_sources";
    /// The same source search fanned out to every custodian.
    pub const SOURCES_FANOUT: &str = "search_sources_fanout";
    /// SearchVariables on the gateway (no-store).
    pub const VARIABLES: &str = "search_variables";
    /// SearchVariables on one custodian.
    pub const VARIABLES_DIRECT: &str = "search_variables_direct";
    /// SearchVariables on every custodian one after another; latency of the slowest leg.
    pub const VARIABLES_SLOWEST_LEG: &str = "search_variables_slowest_leg";
    /// ListVariables on the gateway (no-store).
    pub const LIST_GATEWAY: &str = "list_variables_gateway";
    /// ListVariables on the gateway, cached.
    pub const LIST_GATEWAY_CACHED: &str = "list_variables_gateway_cached";
    /// ListVariables on the owning custodian.
    pub const LIST_DIRECT: &str = "list_variables_direct";
}

type Custodians = Arc<Vec<Arc<Pool<CustodianCatalogueClient<Channel>>>>>;

fn start_custodian(
    fleet: &Fleet,
    shape: &Shape,
    c: usize,
    options: &NationalOptions,
) -> Result<Child> {
    fleet.custodian(
        CustodianSpec {
            index: c,
            sources: shape.sources_of(c),
            variables: shape.variables_of(c),
            latency_ms: options.latency_ms,
            payload: shape.payload,
        },
        options.startup_timeout,
    )
}

fn round_down(n: usize, step: usize) -> usize {
    (n / step).max(1) * step
}

/// Starts the custodians, planning memory with the first one.
fn start_custodians(
    fleet: &Fleet,
    options: &NationalOptions,
) -> Result<(Vec<Child>, Shape, Option<String>)> {
    let mut shape = options.shape;
    let available = procstat::mem_available();
    eprintln!(
        "[bench] national scale: {} custodians, {} sources, {} variables ({:.1} GiB available)",
        shape.custodians,
        shape.sources,
        shape.variables,
        gib(available)
    );
    let first = start_custodian(fleet, &shape, 0, options)?;
    let per = first.memory().hwm.max(1);
    let needed = per * shape.custodians as u64 + RESERVE;
    eprintln!(
        "[bench]   custodian c0 ready in {:.1} s, peak RSS {:.2} GiB; all would need ≈ {:.1} GiB",
        first.startup.as_secs_f64(),
        gib(per),
        gib(needed)
    );
    let mut scaled = None;
    let first = if needed > available {
        let factor =
            available.saturating_sub(RESERVE) as f64 / (per * shape.custodians as u64) as f64;
        if factor < 0.01 {
            bail!(
                "not enough memory for the national-scale step: one custodian needs {:.2} GiB, {:.1} GiB are available",
                gib(per),
                gib(available)
            );
        }
        drop(first);
        let wanted = shape.variables;
        shape.variables = round_down(
            (wanted as f64 * factor * 0.95) as usize,
            100_000.min(wanted),
        );
        let reason = format!(
            "{} variables would need ≈ {:.1} GiB of custodian memory ({:.2} GiB per custodian measured) plus a {:.0} GiB reserve, but {:.1} GiB were available; measured with {} variables, the largest that fits",
            wanted,
            gib(per * shape.custodians as u64),
            gib(per),
            gib(RESERVE),
            gib(available),
            shape.variables
        );
        eprintln!("[bench]   {reason}");
        scaled = Some(reason);
        start_custodian(fleet, &shape, 0, options)?
    } else {
        first
    };
    let per = first.memory().hwm.max(1);
    let mut children = vec![first];
    for c in 1..shape.custodians {
        let available = procstat::mem_available();
        if available < per + per / 10 + RESERVE / 2 {
            bail!(
                "memory ran short while starting custodian c{c}: {:.1} GiB available, {:.2} GiB needed per custodian",
                gib(available),
                gib(per)
            );
        }
        let child = start_custodian(fleet, &shape, c, options)?;
        eprintln!(
            "[bench]   custodian c{c} ready in {:.1} s, RSS {:.2} GiB",
            child.startup.as_secs_f64(),
            gib(child.memory().rss)
        );
        children.push(child);
    }
    Ok((children, shape, scaled))
}

/// Bytes as GiB.
pub fn gib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 30) as f64
}

/// Runs the national-scale step.
pub async fn run(fleet: &Fleet, options: &NationalOptions) -> Result<NationalReport> {
    let available_before = procstat::mem_available();
    let (custodians, shape, scaled) = start_custodians(fleet, options)?;
    let addrs: Vec<(usize, SocketAddr)> = custodians
        .iter()
        .enumerate()
        .map(|(i, c)| (i, c.addr))
        .collect();
    let gateway = fleet.gateway(&GatewaySpec {
        name: "gateway (national)",
        custodians: &addrs,
        timeout_ms: 60_000,
        default_deadline_ms: 60_000,
        eject_after_failures: None,
        requests_per_second_per_identity: Some(0),
    })?;
    let spawned = Instant::now()
        .checked_sub(gateway.startup)
        .unwrap_or_else(Instant::now);
    let tls = &fleet.client_tls;
    let gateway_clients = fleet::gateway_pool(tls, gateway.addr, options.connections).await?;

    // The first complete merged answer: every source, every custodian OK.
    let total = shape.sources;
    let mut first = None;
    for _ in 0..6_000 {
        if spawned.elapsed() > Duration::from_secs(900) {
            break;
        }
        let started = Instant::now();
        let mut request = Request::new(pb::SearchDataSourcesRequest {
            page_size: 1,
            ..Default::default()
        });
        request.set_timeout(Duration::from_secs(60));
        let answer = gateway_clients.pick().search_data_sources(request).await;
        if let Ok(answer) = answer {
            let answer = answer.into_inner();
            let all_ok = answer
                .custodians
                .iter()
                .all(|o| o.status == pb::OutcomeStatus::Ok as i32);
            if all_ok && answer.total_size as usize == total {
                first = Some((spawned.elapsed(), started.elapsed()));
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let Some((first_complete, first_request)) = first else {
        bail!("the gateway gave no complete merged answer of {total} sources within 15 minutes");
    };
    eprintln!(
        "[bench]   first complete merged answer {:.2} s after the gateway started ({:.2} s for that request)",
        first_complete.as_secs_f64(),
        first_request.as_secs_f64()
    );
    let gateway_memory_idle = gateway.memory();

    let mut pools = Vec::new();
    for (c, child) in custodians.iter().enumerate() {
        pools.push(
            fleet::custodian_pool(
                tls,
                child.addr,
                &identity::custodian_identity(&synth::custodian_id(c)),
                options.connections,
            )
            .await?,
        );
    }
    let pools: Custodians = Arc::new(pools);

    let queries = Queries::new(&shape);

    // The first free-text search: the merge's search index is built on the gateway's blocking
    // pool once the merge is made; until then the first merge's searches are told to retry.
    let probe = queries.sources[0].0.clone();
    let mut first_search = None;
    while spawned.elapsed() < Duration::from_secs(900) {
        let mut request = Request::new(pb::SearchDataSourcesRequest {
            query: probe.clone(),
            page_size: 1,
            ..Default::default()
        });
        request.set_timeout(Duration::from_secs(10));
        match gateway_clients.pick().search_data_sources(request).await {
            Ok(_) => {
                first_search = Some(spawned.elapsed());
                break;
            }
            Err(s) if s.code() == tonic::Code::Unavailable => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(s) => bail!("the first free-text search `{probe}` failed: {s}"),
        }
    }
    let Some(first_search) = first_search else {
        bail!("the gateway answered no free-text search within 15 minutes");
    };
    eprintln!(
        "[bench]   first free-text search answered {:.2} s after the gateway started (search index built)",
        first_search.as_secs_f64()
    );
    let limits = Limits {
        duration: options.duration,
        max_requests: 10_000_000,
        call_timeout: Duration::from_secs(30),
    };
    let mut runs = Vec::new();
    let plan: Vec<(&'static str, String, usize, Call)> = vec![
        (
            label::SOURCES,
            "gateway SearchDataSources, one word (abbreviation or name word), page 50, warm cache".into(),
            1,
            search_sources(&gateway_clients, &queries.sources),
        ),
        (
            label::SOURCES_THROUGHPUT,
            "the same, several callers".into(),
            options.concurrency,
            search_sources(&gateway_clients, &queries.sources),
        ),
        (
            label::SOURCES_CONCEPT,
            "gateway SearchDataSources, a concept's preferred label in nb or en (expanded to its labels and narrower concepts), page 50".into(),
            1,
            search_sources(&gateway_clients, &queries.concepts),
        ),
        (
            label::SOURCES_BROWSE,
            "gateway SearchDataSources, empty query (rank and page every source), page 50".into(),
            1,
            browse_sources(&gateway_clients, total),
        ),
        (
            label::SOURCES_FANOUT,
            "the same source queries as ListDataSources filter.text on every custodian at once (no gateway index)".into(),
            1,
            fanout_sources(&pools, &queries),
        ),
        (
            label::VARIABLES,
            "gateway SearchVariables, one or two label words, page 50, no-store (fan-out to every custodian)".into(),
            1,
            search_variables(&gateway_clients, &queries, shape.custodians),
        ),
        (
            label::VARIABLES_DIRECT,
            "SearchVariables straight to the custodian the query came from, page 50".into(),
            1,
            search_variables_direct(&pools, &queries),
        ),
        (
            label::LIST_GATEWAY,
            "gateway ListVariables (whole source, page 1000), no-store".into(),
            options.concurrency,
            list_gateway(&gateway_clients, &queries, true),
        ),
        (
            label::LIST_GATEWAY_CACHED,
            "gateway ListVariables, warm cache".into(),
            options.concurrency,
            list_gateway(&gateway_clients, &queries, false),
        ),
        (
            label::LIST_DIRECT,
            "ListVariables straight from the owning custodian".into(),
            options.concurrency,
            list_direct(&pools, &queries),
        ),
    ];
    for (label, what, concurrency, call) in plan {
        // A few calls first, so that connections and caches are as they are in steady state.
        for n in 0..4 {
            if let Err(f) = call(n).await {
                bail!("national {label}: wrong answer: {} ({})", f.kind, f.detail);
            }
        }
        let stats = loadgen::closed_loop(&call, concurrency, limits).await;
        eprintln!(
            "[bench]   {label:<30} x{concurrency:<3} {:>8.0} req/s  p50 {:>8.3} ms  p99 {:>8.3} ms  ok {}{}",
            stats.throughput(),
            stats.quantile_ms(0.5),
            stats.quantile_ms(0.99),
            stats.ok,
            if stats.failed() > 0 {
                format!("  FAILURES: {}", stats.failure_summary())
            } else {
                String::new()
            }
        );
        runs.push(NationalRun {
            label,
            what,
            concurrency,
            stats,
        });
    }
    for n in 0..4 {
        if let Err(f) = search_variables_direct(&pools, &queries)(n).await {
            bail!(
                "national slowest leg: wrong answer: {} ({})",
                f.kind,
                f.detail
            );
        }
    }
    let stats = slowest_leg(&pools, &queries, options.duration).await;
    eprintln!(
        "[bench]   {:<30} x1   {:>8.0} req/s  p50 {:>8.3} ms  p99 {:>8.3} ms  ok {}",
        label::VARIABLES_SLOWEST_LEG,
        stats.throughput(),
        stats.quantile_ms(0.5),
        stats.quantile_ms(0.99),
        stats.ok
    );
    runs.push(NationalRun {
        label: label::VARIABLES_SLOWEST_LEG,
        what: "SearchVariables on every custodian one after another, each leg timed alone; latency = the slowest leg (what a fan-out to custodians on their own machines waits for)".into(),
        concurrency: 1,
        stats,
    });
    let custodian_memory = custodians.iter().map(Child::memory).collect();
    let gateway_memory = gateway.memory();
    Ok(NationalReport {
        requested: options.shape,
        used: shape,
        scaled,
        latency_ms: options.latency_ms,
        custodian_startup: custodians.iter().map(|c| c.startup).collect(),
        custodian_memory,
        gateway_memory_idle,
        gateway_memory,
        available_before,
        gateway_ready: gateway.startup,
        first_complete,
        first_request,
        first_search,
        runs,
    })
}

/// Precomputed queries over a deterministic sample of sources.
struct Queries {
    /// (query, the source it must find first, if exact, custodian).
    sources: Vec<(String, Option<String>, usize)>,
    /// (concept label, no expected first hit, custodian 0).
    concepts: Vec<(String, Option<String>, usize)>,
    /// (query, custodian it came from).
    variables: Vec<(String, usize)>,
    /// (custodian, source id, variables).
    lists: Vec<(usize, String, usize)>,
}

impl Queries {
    fn new(shape: &Shape) -> Self {
        let mut rng = synth::SplitMix64::new(synth::SEED ^ 0x5155_4552);
        let mut sources = Vec::new();
        let mut variables = Vec::new();
        let mut lists = Vec::new();
        for i in 0..256 {
            let g = rng.below(shape.sources.max(1));
            let (c, n) = shape.locate(g);
            let exact = i % 2 == 0;
            sources.push((
                synth::source_query(c, n, exact),
                exact.then(|| synth::source_id(c, n)),
                c,
            ));
            let count = shape.source_variables(c, n);
            if count > 0 {
                variables.push((synth::variable_query(c, n, count, rng.next_u64()), c));
            }
            lists.push((c, synth::source_id(c, n), count));
        }
        let concepts = (0..64)
            .map(|_| (synth::concept_query(rng.next_u64()), None, 0))
            .collect();
        Self {
            sources,
            concepts,
            variables,
            lists,
        }
    }
}

type Gateway =
    Arc<Pool<helsedata::proto::federated_catalogue_client::FederatedCatalogueClient<Channel>>>;

fn all_ok(outcomes: &[pb::CustodianOutcome]) -> Result<(), Failure> {
    match outcomes
        .iter()
        .find(|o| o.status != pb::OutcomeStatus::Ok as i32)
    {
        Some(o) => Err(Failure::wrong(format!(
            "custodian {} status {}: {}",
            o.custodian_id, o.status, o.message
        ))),
        None => Ok(()),
    }
}

fn search_sources(pool: &Gateway, queries: &[(String, Option<String>, usize)]) -> Call {
    let pool = pool.clone();
    let list = Arc::new(queries.to_vec());
    Arc::new(move |n| {
        let mut client = pool.pick();
        let (query, expected, _) = list[n as usize % list.len()].clone();
        async move {
            let answer = client
                .search_data_sources(pb::SearchDataSourcesRequest {
                    query: query.clone(),
                    page_size: 50,
                    ..Default::default()
                })
                .await?
                .into_inner();
            all_ok(&answer.custodians)?;
            if answer.total_size == 0 {
                return Err(Failure::wrong(format!("`{query}` found nothing")));
            }
            if let Some(id) = expected {
                let first = answer
                    .results
                    .first()
                    .and_then(|r| r.data_source.as_ref())
                    .map(|s| s.id.clone());
                if first.as_deref() != Some(id.as_str()) {
                    return Err(Failure::wrong(format!(
                        "`{query}` found {first:?} first, expected {id}"
                    )));
                }
            }
            Ok(())
        }
        .boxed()
    })
}

fn browse_sources(pool: &Gateway, total: usize) -> Call {
    let pool = pool.clone();
    Arc::new(move |_n| {
        let mut client = pool.pick();
        async move {
            let answer = client
                .search_data_sources(pb::SearchDataSourcesRequest {
                    page_size: 50,
                    ..Default::default()
                })
                .await?
                .into_inner();
            all_ok(&answer.custodians)?;
            if answer.total_size as usize != total || answer.results.len() != 50.min(total) {
                return Err(Failure::wrong(format!(
                    "browse answered {} of {} sources",
                    answer.results.len(),
                    answer.total_size
                )));
            }
            Ok(())
        }
        .boxed()
    })
}

fn fanout_sources(pools: &Custodians, queries: &Queries) -> Call {
    let pools = pools.clone();
    let list = Arc::new(queries.sources.clone());
    Arc::new(move |n| {
        let clients: Vec<_> = pools.iter().map(|p| p.pick()).collect();
        let (query, expected, _) = list[n as usize % list.len()].clone();
        async move {
            let legs = clients.into_iter().map(|mut client| {
                let text = query.clone();
                async move {
                    client
                        .list_data_sources(pb::ListDataSourcesRequest {
                            page_size: 50,
                            filter: Some(pb::DataSourceFilter {
                                text,
                                ..Default::default()
                            }),
                            ..Default::default()
                        })
                        .await
                }
            });
            let mut found: Vec<String> = Vec::new();
            let mut total = 0;
            for answer in futures::future::join_all(legs).await {
                let page = answer?.into_inner();
                total += page.total_size;
                found.extend(page.data_sources.into_iter().map(|s| s.id));
            }
            found.sort_unstable();
            if total == 0 || expected.is_some_and(|id| found.binary_search(&id).is_err()) {
                return Err(Failure::wrong(format!(
                    "fan-out search for `{query}` missed"
                )));
            }
            Ok(())
        }
        .boxed()
    })
}

fn search_variables(pool: &Gateway, queries: &Queries, custodians: usize) -> Call {
    let pool = pool.clone();
    let list = Arc::new(queries.variables.clone());
    Arc::new(move |n| {
        let mut client = pool.pick();
        let (query, _) = list[n as usize % list.len()].clone();
        async move {
            let answer = client
                .search_variables(no_store(pb::SearchVariablesRequest {
                    query: query.clone(),
                    page_size: 50,
                    ..Default::default()
                }))
                .await?
                .into_inner();
            all_ok(&answer.custodians)?;
            if answer.custodians.len() != custodians
                || answer.total_size == 0
                || answer.hits.is_empty()
            {
                return Err(Failure::wrong(format!(
                    "`{query}`: {} hits of {}, {} outcomes",
                    answer.hits.len(),
                    answer.total_size,
                    answer.custodians.len()
                )));
            }
            Ok(())
        }
        .boxed()
    })
}

fn search_variables_direct(pools: &Custodians, queries: &Queries) -> Call {
    let pools = pools.clone();
    let list = Arc::new(queries.variables.clone());
    Arc::new(move |n| {
        let (query, c) = list[n as usize % list.len()].clone();
        let mut client = pools[c].pick();
        async move {
            let answer = client
                .search_variables(pb::SearchVariablesRequest {
                    query: query.clone(),
                    page_size: 50,
                    ..Default::default()
                })
                .await?
                .into_inner();
            if answer.total_size == 0 {
                return Err(Failure::wrong(format!("`{query}` found nothing")));
            }
            Ok(())
        }
        .boxed()
    })
}

/// The same variable queries sent to every custodian in turn, each leg timed on its own:
/// with all custodians sharing one CPU a real fan-out runs its legs one after another, so
/// this is the latency a fan-out to custodians on their own machines would see.
async fn slowest_leg(pools: &Custodians, queries: &Queries, duration: Duration) -> Stats {
    let mut stats = Stats::default();
    let started = Instant::now();
    for n in 0..1_000_000usize {
        if started.elapsed() >= duration || queries.variables.is_empty() {
            break;
        }
        let (query, _) = &queries.variables[n % queries.variables.len()];
        let mut slowest = Duration::ZERO;
        let mut hits = 0u64;
        let mut result = Ok(());
        for pool in pools.iter() {
            let leg = Instant::now();
            let request = pb::SearchVariablesRequest {
                query: query.clone(),
                page_size: 50,
                ..Default::default()
            };
            let mut client = pool.pick();
            match tokio::time::timeout(Duration::from_secs(30), client.search_variables(request))
                .await
            {
                Ok(Ok(answer)) => hits += u64::from(answer.into_inner().total_size),
                Ok(Err(status)) => result = Err(Failure::status(&status)),
                Err(_) => result = Err(Failure::wrong("a custodian leg took over 30 s")),
            }
            slowest = slowest.max(leg.elapsed());
        }
        if result.is_ok() && hits == 0 {
            result = Err(Failure::wrong(format!("`{query}` found nothing")));
        }
        stats.record(slowest, result);
    }
    stats.elapsed = started.elapsed();
    stats
}

fn check_list(count: usize, got: usize, total: u32, id: &str) -> Result<(), Failure> {
    if got != count || total as usize != count {
        return Err(Failure::wrong(format!(
            "{id}: {got} variables (total {total}), expected {count}"
        )));
    }
    Ok(())
}

fn list_gateway(pool: &Gateway, queries: &Queries, bypass: bool) -> Call {
    let pool = pool.clone();
    let list = Arc::new(queries.lists.clone());
    Arc::new(move |n| {
        let mut client = pool.pick();
        let (_, id, count) = list[n as usize % list.len()].clone();
        async move {
            let message = pb::ListVariablesRequest {
                data_source_id: id.clone(),
                page_size: 1000,
                page_token: String::new(),
            };
            let request = if bypass {
                no_store(message)
            } else {
                Request::new(message)
            };
            let answer = client.list_variables(request).await?.into_inner();
            all_ok(&answer.custodians)?;
            check_list(count, answer.variables.len(), answer.total_size, &id)
        }
        .boxed()
    })
}

fn list_direct(pools: &Custodians, queries: &Queries) -> Call {
    let pools = pools.clone();
    let list = Arc::new(queries.lists.clone());
    Arc::new(move |n| {
        let (c, id, count) = list[n as usize % list.len()].clone();
        let mut client = pools[c].pick();
        async move {
            let answer = client
                .list_variables(pb::ListVariablesRequest {
                    data_source_id: id.clone(),
                    page_size: 1000,
                    page_token: String::new(),
                })
                .await?
                .into_inner();
            check_list(count, answer.variables.len(), answer.total_size, &id)
        }
        .boxed()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_keeps_at_least_one_step() {
        assert_eq!(round_down(1_234_567, 100_000), 1_200_000);
        assert_eq!(round_down(5, 100), 100);
    }

    #[test]
    fn queries_cover_every_kind() {
        let shape = Shape {
            custodians: 8,
            sources: 100,
            variables: 1_000,
            payload: 0,
        };
        let q = Queries::new(&shape);
        assert_eq!(q.sources.len(), 256);
        assert!(q.sources.iter().any(|s| s.1.is_some()));
        assert!(!q.variables.is_empty());
        assert!(
            q.lists
                .iter()
                .all(|(c, id, _)| id.starts_with(&format!("c{c}-")))
        );
    }
}
