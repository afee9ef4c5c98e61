//! The interleaved phases: what each one sends, how its answers are checked, and the
//! rounds (warm-up, then `D G_miss G_reval G_hit E N G_pass` closed loop and
//! `D G_miss G_reval N G_pass G_degraded G_degraded_busy G_degraded_light G_degraded_eject`
//! open loop, repeated).
//!
//! | Phase | Sends | Checks |
//! |---|---|---|
//! | D | ListDataSources FULL (page 500) to every custodian at once, merged by id in the load generator | every custodian OK, every source once, access rules present |
//! | G_miss | gateway SearchDataSources, empty query, page 500, FULL, `cache-control: no-store` (forced full refetch) | every source once, every custodian outcome OK |
//! | G_reval | the same with `cache-control: no-cache`: one GetCustodianInfo per custodian confirms its revision, the cached catalogues are reused | every source once, every custodian outcome OK and LIVE |
//! | G_hit | gateway SearchDataSources for one source's abbreviation, page 10, BASIC, warm cache | that source first, every outcome OK and CACHED |
//! | E | echo server GetCustodianInfo, its fixed answer padded to the mean G_hit answer size | the fixed answer |
//! | N | nginx → custodian c0 GetDataSource FULL | the source asked for, with access rules |
//! | G_pass | gateway GetDataSource FULL for the same source, `no-store` | the source, outcome OK and LIVE |
//! | G_degraded, G_degraded_light | second gateway (one stalled custodian, short per-custodian timeout, failure ejection off) SearchDataSources like G_miss | all healthy sources, stalled outcome TIMEOUT, others OK |
//! | G_degraded_busy | the same as G_degraded while a neighbour process ([`crate::roles::spin`]) spins on the servers' CPU | the same |
//! | G_degraded_eject | third gateway, the same with the default failure ejection | the same; the stalled custodian may be UNAVAILABLE (ejected) |

use std::{
    collections::BTreeMap,
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use futures::FutureExt;
use helsedata::{
    identity,
    proto::{
        self as pb, custodian_catalogue_client::CustodianCatalogueClient,
        federated_catalogue_client::FederatedCatalogueClient,
    },
};
use prost::Message;
use tonic::{Request, metadata::MetadataValue, transport::Channel};

use crate::{
    cluster::Child,
    fleet::{self, CustodianSpec, Fleet, GatewaySpec, Pool},
    light::{self, Merged, MergedView, Record},
    loadgen::{self, Call, Failure, Limits, Stats},
    nginx, procstat,
    roles::ECHO_ID,
    synth,
};

/// Process names used in CPU accounting.
pub const GATEWAY: &str = "gateway";
/// The gateway with the stalled custodian, failure ejection off.
pub const GATEWAY_DEGRADED: &str = "gateway (degraded)";
/// The gateway with the stalled custodian, failure ejection as configured by default.
pub const GATEWAY_BREAKER: &str = "gateway (degraded, ejection on)";
/// All normal custodians together.
pub const CUSTODIANS: &str = "custodians";
/// The stalled custodian.
pub const STALLED: &str = "stalled custodian";
/// The echo server.
pub const ECHO: &str = "echo";
/// nginx (master and worker).
pub const NGINX: &str = "nginx";
/// The bench process itself.
pub const LOADGEN: &str = "load generator";
/// The CPU-bound neighbour on the servers' CPU in G_degraded_busy (not a server).
pub const NEIGHBOUR: &str = "neighbour";

/// Settings of the phases.
#[derive(Debug, Clone)]
pub struct PhaseOptions {
    /// Custodians behind the gateway.
    pub custodians: usize,
    /// Sources per custodian.
    pub sources: usize,
    /// Variables per source.
    pub variables: usize,
    /// Fixed latency of every custodian answer.
    pub latency_ms: u64,
    /// Description bytes per source.
    pub payload: usize,
    /// Measured rounds after the warm-up.
    pub rounds: usize,
    /// Length of each measured phase.
    pub phase: Duration,
    /// Length of each warm-up phase.
    pub warmup: Duration,
    /// Callers in closed loop.
    pub concurrency: usize,
    /// Connections per server in the load generator.
    pub connections: usize,
    /// Latency of the stalled custodian.
    pub stall_ms: u64,
    /// Per-custodian timeout of the degraded gateway.
    pub custodian_timeout_ms: u64,
    /// Per-custodian timeout of the main gateway.
    pub gateway_timeout_ms: u64,
    /// Short alternating slices of the closed-loop throughput phases, after the rounds.
    pub slices: usize,
    /// Length of each slice.
    pub slice: Duration,
    /// Count instructions per request of the hot paths under callgrind, with mixes this
    /// many times the base size (0: skip).
    pub instruction_scale: u64,
    /// Decode merged answers (D, G_miss, G_reval, G_degraded*) only as far as they are
    /// checked ([`crate::light`]), so that the servers, not the load generator, bound them.
    pub light_client: bool,
}

impl PhaseOptions {
    /// Sources in the merged catalogue.
    pub fn total_sources(&self) -> usize {
        self.custodians * self.sources
    }
}

/// The phases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// Direct fan-out by the load generator.
    D,
    /// Gateway SearchDataSources, cache bypassed.
    GMiss,
    /// Gateway SearchDataSources, cache revalidated.
    GReval,
    /// Gateway SearchDataSources, warm cache.
    GHit,
    /// Echo server.
    E,
    /// nginx pass-through.
    N,
    /// Gateway GetDataSource pass-through.
    GPass,
    /// Gateway with one stalled custodian.
    GDegraded,
    /// The same with the servers' CPU saturated by a neighbour.
    GDegradedBusy,
    /// The same at a light, fixed rate.
    GDegradedLight,
    /// The same as G_degraded with the gateway's default failure ejection.
    GDegradedEject,
}

/// Rate of G_degraded_light, requests per second.
pub const LIGHT_RATE: f64 = 20.0;

impl Phase {
    /// Every phase, in round order.
    pub const ALL: [Phase; 11] = [
        Phase::D,
        Phase::GMiss,
        Phase::GReval,
        Phase::GHit,
        Phase::E,
        Phase::N,
        Phase::GPass,
        Phase::GDegraded,
        Phase::GDegradedBusy,
        Phase::GDegradedLight,
        Phase::GDegradedEject,
    ];

    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            Phase::D => "D",
            Phase::GMiss => "G_miss",
            Phase::GReval => "G_reval",
            Phase::GHit => "G_hit",
            Phase::E => "E",
            Phase::N => "N",
            Phase::GPass => "G_pass",
            Phase::GDegraded => "G_degraded",
            Phase::GDegradedBusy => "G_degraded_busy",
            Phase::GDegradedLight => "G_degraded_light",
            Phase::GDegradedEject => "G_degraded_eject",
        }
    }

    /// What it measures.
    pub fn describe(self) -> &'static str {
        match self {
            Phase::D => {
                "direct fan-out: ListDataSources FULL on every custodian at once, merged in the load generator"
            }
            Phase::GMiss => {
                "gateway SearchDataSources (all sources, FULL), cache-control: no-store"
            }
            Phase::GReval => {
                "gateway SearchDataSources (all sources, FULL), cache-control: no-cache (one GetCustodianInfo per custodian confirms its revision; the cached catalogues are reused)"
            }
            Phase::GHit => "gateway SearchDataSources for one abbreviation, warm cache",
            Phase::E => "echo server GetCustodianInfo (no work)",
            Phase::N => "nginx gRPC pass-through over mTLS to custodian c0, GetDataSource FULL",
            Phase::GPass => {
                "gateway GetDataSource FULL pass-through to c0, cache-control: no-store"
            }
            Phase::GDegraded => {
                "gateway SearchDataSources, no-store, one custodian stalled, failure ejection off (the request that starts a call to the stalled custodian meets the per-custodian timeout; requests arriving meanwhile get its failure at once)"
            }
            Phase::GDegradedBusy => {
                "the same as G_degraded while a neighbour process spins on the servers' CPU, so that it is saturated (the servers get the share of it the kernel's scheduler gives them)"
            }
            Phase::GDegradedLight => "the same as G_degraded at a light fixed rate (20 req/s)",
            Phase::GDegradedEject => {
                "the same as G_degraded with the gateway's default failure ejection (stalled custodian ejected after consecutive timeouts)"
            }
        }
    }

    /// The CPU account of the server that answers this phase.
    pub fn server(self) -> &'static str {
        match self {
            Phase::D => CUSTODIANS,
            Phase::GMiss | Phase::GReval | Phase::GHit | Phase::GPass => GATEWAY,
            Phase::E => ECHO,
            Phase::N => NGINX,
            Phase::GDegraded | Phase::GDegradedBusy | Phase::GDegradedLight => GATEWAY_DEGRADED,
            Phase::GDegradedEject => GATEWAY_BREAKER,
        }
    }
}

/// Closed or open loop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LoopKind {
    /// This many callers back to back.
    Closed(usize),
    /// This many requests per second on a schedule.
    Open(f64),
}

/// One run of one phase.
#[derive(Debug, Clone)]
pub struct Measurement {
    /// Phase.
    pub phase: Phase,
    /// Loop.
    pub kind: LoopKind,
    /// What the load generator saw.
    pub stats: Stats,
    /// CPU time used by each process during the run.
    pub cpu: BTreeMap<&'static str, Duration>,
    /// Wall time of the run.
    pub wall: Duration,
}

impl Measurement {
    /// CPU microseconds per correct answer used by `process`.
    pub fn cpu_us_per_request(&self, process: &str) -> Option<f64> {
        let cpu = self.cpu.get(process)?;
        (self.stats.ok > 0).then(|| cpu.as_secs_f64() * 1e6 / self.stats.ok as f64)
    }

    /// Share of one CPU used by all server processes together.
    pub fn server_utilisation(&self) -> f64 {
        let servers: Duration = self
            .cpu
            .iter()
            .filter(|(k, _)| **k != LOADGEN && **k != NEIGHBOUR)
            .map(|(_, v)| *v)
            .sum();
        servers.as_secs_f64() / self.wall.as_secs_f64().max(1e-9)
    }

    /// Share of one CPU used by the load generator.
    pub fn loadgen_utilisation(&self) -> f64 {
        self.utilisation(LOADGEN).unwrap_or(0.0)
    }

    /// Share of one CPU used by `process`, if it ran.
    pub fn utilisation(&self, process: &str) -> Option<f64> {
        self.cpu
            .get(process)
            .map(|d| d.as_secs_f64() / self.wall.as_secs_f64().max(1e-9))
    }
}

/// Open-loop rates, from the warm-up.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rates {
    /// D and G_miss: half the smaller of their maximum throughputs.
    pub fanout: f64,
    /// N and G_pass: half the smaller of their maximum throughputs.
    pub pass: f64,
    /// G_degraded (G_degraded_light runs at [`LIGHT_RATE`]).
    pub degraded: f64,
}

/// Everything the phases measured.
#[derive(Debug, Clone)]
pub struct PhaseReport {
    /// Settings.
    pub options: PhaseOptions,
    /// Encoded size of one FULL data source, bytes.
    pub record_bytes: usize,
    /// Encoded size of the G_miss answer, bytes.
    pub merged_bytes: usize,
    /// Encoded size of the echo server's answer (the mean G_hit answer), bytes.
    pub echo_answer_bytes: usize,
    /// Open-loop rates.
    pub rates: Rates,
    /// Warm-up runs (not reported as results).
    pub warmup: Vec<Measurement>,
    /// Measured rounds.
    pub rounds: Vec<Vec<Measurement>>,
    /// Phases not run, and why.
    pub skipped: Vec<(Phase, String)>,
    /// Start-up time of each process.
    pub startup: Vec<(String, Duration)>,
    /// The alternating slices: each one every phase of [`SLICED`] once, back to back
    /// (in reverse order every other slice).
    pub slices: Vec<Vec<Measurement>>,
    /// Instructions per request of the hot paths, or why they were not counted.
    pub instructions: std::result::Result<Vec<InstructionCount>, String>,
}

/// The closed-loop phases of the alternating slices: each ratio's two sides are neighbours.
pub const SLICED: [Phase; 7] = [
    Phase::D,
    Phase::GMiss,
    Phase::GReval,
    Phase::E,
    Phase::GHit,
    Phase::N,
    Phase::GPass,
];

/// Instructions per request of one hot path, counted under callgrind.
#[derive(Debug, Clone)]
pub struct InstructionCount {
    /// The hot path (a phase name, or `plan`).
    pub path: &'static str,
    /// What was sent.
    pub request: &'static str,
    /// The server counted.
    pub process: &'static str,
    /// Requests per counted chunk.
    pub per_chunk: u64,
    /// Instructions per request, one value per chunk.
    pub per_request: Vec<f64>,
}

struct Servers {
    custodians: Vec<Child>,
    stalled: Child,
    gateway: Child,
    degraded: Child,
    breaker: Child,
    echo: Child,
    nginx: Option<Child>,
}

impl Servers {
    fn cpu(&self) -> BTreeMap<&'static str, Duration> {
        let mut cpu = BTreeMap::new();
        cpu.insert(GATEWAY, self.gateway.cpu_time());
        cpu.insert(GATEWAY_DEGRADED, self.degraded.cpu_time());
        cpu.insert(GATEWAY_BREAKER, self.breaker.cpu_time());
        cpu.insert(
            CUSTODIANS,
            self.custodians.iter().map(Child::cpu_time).sum(),
        );
        cpu.insert(STALLED, self.stalled.cpu_time());
        cpu.insert(ECHO, self.echo.cpu_time());
        if let Some(nginx) = &self.nginx {
            cpu.insert(NGINX, nginx.group_cpu_time());
        }
        cpu.insert(LOADGEN, procstat::own_cpu_time().unwrap_or_default());
        cpu
    }

    fn check_alive(&mut self) -> Result<()> {
        let mut all: Vec<&mut Child> = self.custodians.iter_mut().collect();
        all.extend([
            &mut self.stalled,
            &mut self.gateway,
            &mut self.degraded,
            &mut self.breaker,
            &mut self.echo,
        ]);
        if let Some(n) = self.nginx.as_mut() {
            all.push(n);
        }
        for child in all {
            if !child.alive() {
                bail!(
                    "{} died; log {}:\n{}",
                    child.name,
                    child.log.display(),
                    crate::cluster::log_tail(&child.log, 20)
                );
            }
        }
        Ok(())
    }
}

type CustodianClients = Arc<Pool<CustodianCatalogueClient<Channel>>>;
type GatewayClients = Arc<Pool<FederatedCatalogueClient<Channel>>>;

struct Clients {
    custodians: Vec<CustodianClients>,
    gateway: GatewayClients,
    degraded: GatewayClients,
    breaker: GatewayClients,
    echo: CustodianClients,
    nginx: Option<CustodianClients>,
}

/// A request with `cache-control: no-cache`: the gateway confirms each custodian's revision
/// and reuses what is unchanged (revalidation).
pub fn no_cache<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("cache-control", MetadataValue::from_static("no-cache"));
    request
}

/// A request with `cache-control: no-store`: the gateway asks the custodians again for
/// everything, whatever their revision (a forced full refetch).
pub fn no_store<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("cache-control", MetadataValue::from_static("no-store"));
    request
}

const LIVE: i32 = pb::Freshness::Live as i32;

fn outcome_ok(outcome: &pb::CustodianOutcome) -> bool {
    outcome.status == pb::OutcomeStatus::Ok as i32
}

/// Checks a merged SearchDataSources answer: `total` sources, each once, every custodian
/// OK except `stalled`, which must have timed out (or, once ejected, be reported
/// unavailable).
fn check_merged(
    answer: &MergedView<'_>,
    total: usize,
    custodians: usize,
    stalled: Option<&str>,
) -> Result<(), Failure> {
    if answer.results != total || answer.total_size as usize != total {
        return Err(Failure::wrong(format!(
            "merged answer has {} results (total_size {}), expected {total}",
            answer.results, answer.total_size
        )));
    }
    if answer.outcomes.len() != custodians {
        return Err(Failure::wrong(format!(
            "{} custodian outcomes, expected {custodians}",
            answer.outcomes.len()
        )));
    }
    for outcome in answer.outcomes {
        let want_timeout = stalled == Some(outcome.custodian_id.as_str());
        let ok = if want_timeout {
            outcome.status == pb::OutcomeStatus::Timeout as i32
                || outcome.status == pb::OutcomeStatus::CallerDeadline as i32
                || outcome.status == pb::OutcomeStatus::Unavailable as i32
        } else {
            outcome_ok(outcome)
        };
        if !ok {
            return Err(Failure::wrong(format!(
                "custodian {} outcome {:?}: {}",
                outcome.custodian_id,
                pb::OutcomeStatus::try_from(outcome.status).unwrap_or_default(),
                outcome.message
            )));
        }
    }
    let distinct = answer.ids_with_rules.len();
    if distinct != total {
        return Err(Failure::wrong(format!(
            "{distinct} distinct sources with access rules, expected {total}"
        )));
    }
    Ok(())
}

/// Merges the custodians' pages of D by id and checks them: one page of `per` records from
/// each, `total` distinct sources, each with access rules.
fn check_fanned_out<R: Record>(
    pages: Vec<(Vec<R>, String)>,
    per: usize,
    total: usize,
) -> Result<(), Failure> {
    let mut merged: Vec<R> = Vec::with_capacity(total);
    for (records, next_page_token) in pages {
        if records.len() != per || !next_page_token.is_empty() {
            return Err(Failure::wrong(format!(
                "custodian page has {} sources, expected {per} on one page",
                records.len()
            )));
        }
        merged.extend(records);
    }
    merged.sort_unstable_by(|a, b| a.id().cmp(b.id()));
    merged.dedup_by(|a, b| a.id() == b.id());
    if merged.len() != total || merged.iter().any(|s| !s.has_access_rules()) {
        return Err(Failure::wrong(format!(
            "merged {} sources, expected {total} with access rules",
            merged.len()
        )));
    }
    Ok(())
}

/// D: one page from every custodian at once (`leg`), then merged and checked.
async fn fan_out<'a, R, Leg, Fut>(
    pools: &'a [CustodianClients],
    per: usize,
    total: usize,
    leg: Leg,
) -> Result<(), Failure>
where
    R: Record,
    Leg: Fn(&'a CustodianClients) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<R>, String), Failure>>,
{
    let pages = futures::future::try_join_all(pools.iter().map(leg)).await?;
    check_fanned_out(pages, per, total)
}

/// The ListDataSources request of D.
fn fan_out_request() -> pb::ListDataSourcesRequest {
    pb::ListDataSourcesRequest {
        page_size: 500,
        view: pb::DataSourceView::Full as i32,
        ..Default::default()
    }
}

/// The SearchDataSources request of the merged phases: every source on one page, FULL.
fn merged_request() -> pb::SearchDataSourcesRequest {
    pb::SearchDataSourcesRequest {
        page_size: 500,
        view: pb::DataSourceView::Full as i32,
        ..Default::default()
    }
}

/// A merged SearchDataSources on `pool`, its answer decoded fully or (`light`) as checked.
async fn merged_answer(
    pool: &GatewayClients,
    request: Request<pb::SearchDataSourcesRequest>,
    light: bool,
    check: impl FnOnce(MergedView<'_>) -> Result<(), Failure>,
) -> Result<(), Failure> {
    if light {
        let answer =
            light::search_data_sources(pool.pick_channel(), request, fleet::MAX_MESSAGE).await?;
        check(answer.view())
    } else {
        let answer = pool.pick().search_data_sources(request).await?.into_inner();
        check(answer.view())
    }
}

impl Clients {
    fn call(&self, phase: Phase, options: &PhaseOptions) -> Option<Call> {
        let per = options.sources;
        let custodians = options.custodians;
        let total = options.total_sources();
        Some(match phase {
            Phase::D => {
                let pools = self.custodians.clone();
                let light = options.light_client;
                Arc::new(move |_n| {
                    let pools = pools.clone();
                    async move {
                        if light {
                            fan_out(&pools, per, total, |p| async move {
                                let request = fan_out_request();
                                let channel = p.pick_channel();
                                let page =
                                    light::list_data_sources(channel, request, fleet::MAX_MESSAGE)
                                        .await?;
                                Ok((page.data_sources, page.next_page_token))
                            })
                            .await
                        } else {
                            fan_out(&pools, per, total, |p| async move {
                                let page = p.pick().list_data_sources(fan_out_request()).await?;
                                let page = page.into_inner();
                                Ok((page.data_sources, page.next_page_token))
                            })
                            .await
                        }
                    }
                    .boxed()
                })
            }
            Phase::GMiss
            | Phase::GDegraded
            | Phase::GDegradedBusy
            | Phase::GDegradedLight
            | Phase::GDegradedEject => {
                let stalled = Some(synth::custodian_id(custodians));
                let (pool, stalled, asked) = match phase {
                    Phase::GMiss => (self.gateway.clone(), None, custodians),
                    Phase::GDegradedEject => (self.breaker.clone(), stalled, custodians + 1),
                    _ => (self.degraded.clone(), stalled, custodians + 1),
                };
                let light = options.light_client;
                Arc::new(move |_n| {
                    let pool = pool.clone();
                    let stalled = stalled.clone();
                    async move {
                        merged_answer(&pool, no_store(merged_request()), light, |answer| {
                            check_merged(&answer, total, asked, stalled.as_deref())
                        })
                        .await
                    }
                    .boxed()
                })
            }
            Phase::GReval => {
                let pool = self.gateway.clone();
                let light = options.light_client;
                Arc::new(move |_n| {
                    let pool = pool.clone();
                    async move {
                        merged_answer(&pool, no_cache(merged_request()), light, |answer| {
                            check_merged(&answer, total, custodians, None)?;
                            match answer.outcomes.iter().find(|o| o.freshness != LIVE) {
                                Some(o) => Err(Failure::wrong(format!(
                                    "custodian {} not confirmed live: {o:?}",
                                    o.custodian_id
                                ))),
                                None => Ok(()),
                            }
                        })
                        .await
                    }
                    .boxed()
                })
            }
            Phase::GHit => {
                let pool = self.gateway.clone();
                let queries: Arc<Vec<(String, String)>> =
                    Arc::new((0..total).map(|g| hit_query(g, custodians)).collect());
                Arc::new(move |n| {
                    let mut client = pool.pick();
                    let (query, id) = queries[n as usize % queries.len()].clone();
                    async move {
                        let answer = client
                            .search_data_sources(hit_request(query))
                            .await?
                            .into_inner();
                        let first = answer
                            .results
                            .first()
                            .and_then(|r| r.data_source.as_ref())
                            .map(|s| s.id.as_str());
                        if first != Some(id.as_str()) {
                            return Err(Failure::wrong(format!(
                                "first result {first:?}, expected {id}"
                            )));
                        }
                        if let Some(o) = answer.custodians.iter().find(|o| {
                            !outcome_ok(o) || o.freshness != pb::Freshness::Cached as i32
                        }) {
                            return Err(Failure::wrong(format!(
                                "custodian {} not served OK from the cache (status {}, freshness {})",
                                o.custodian_id, o.status, o.freshness
                            )));
                        }
                        Ok(())
                    }
                    .boxed()
                })
            }
            Phase::E => echo_call(self.echo.clone()),
            Phase::N => {
                let pool = self.nginx.clone()?;
                Arc::new(move |n| {
                    let mut client = pool.pick();
                    let id = synth::source_id(0, n as usize % per);
                    async move {
                        let source = client
                            .get_data_source(pb::GetDataSourceRequest {
                                id: id.clone(),
                                view: pb::DataSourceView::Full as i32,
                            })
                            .await?
                            .into_inner();
                        if source.id != id || source.access_rules.is_none() {
                            return Err(Failure::wrong(format!(
                                "got {} (access rules: {}), expected {id}",
                                source.id,
                                source.access_rules.is_some()
                            )));
                        }
                        Ok(())
                    }
                    .boxed()
                })
            }
            Phase::GPass => {
                let pool = self.gateway.clone();
                Arc::new(move |n| {
                    let mut client = pool.pick();
                    let id = synth::source_id(0, n as usize % per);
                    async move {
                        let answer = client
                            .get_data_source(no_store(pb::GetDataSourceRequest {
                                id: id.clone(),
                                view: pb::DataSourceView::Full as i32,
                            }))
                            .await?
                            .into_inner();
                        let source = answer.result.and_then(|r| r.data_source);
                        let live = answer.custodians.first().is_some_and(|o| {
                            outcome_ok(o) && o.freshness == pb::Freshness::Live as i32
                        });
                        match source {
                            Some(s) if s.id == id && s.access_rules.is_some() && live => Ok(()),
                            other => Err(Failure::wrong(format!(
                                "got {:?} (live OK outcome: {live}), expected {id}",
                                other.map(|s| s.id)
                            ))),
                        }
                    }
                    .boxed()
                })
            }
        })
    }
}

struct Bench<'f> {
    fleet: &'f Fleet,
    servers: Servers,
    clients: Clients,
    options: PhaseOptions,
    /// Encoded size of the echo server's answer (that of a G_hit answer), bytes.
    echo_answer_bytes: usize,
}

impl Bench<'_> {
    async fn measure(
        &mut self,
        phase: Phase,
        kind: LoopKind,
        duration: Duration,
    ) -> Result<Option<Measurement>> {
        let Some(call) = self.clients.call(phase, &self.options) else {
            return Ok(None);
        };
        let limits = Limits {
            duration,
            max_requests: 10_000_000,
            call_timeout: Duration::from_secs(10),
        };
        // G_degraded_busy's neighbour spins from just before the first request until the
        // last answer; it would stop by itself a few seconds after the phase.
        let neighbour = match phase {
            Phase::GDegradedBusy => Some(self.fleet.neighbour(duration.as_secs_f64() + 5.0)?),
            _ => None,
        };
        let before = self.servers.cpu();
        let neighbour_before = neighbour.as_ref().map(Child::cpu_time);
        let started = Instant::now();
        let stats = match kind {
            LoopKind::Closed(concurrency) => loadgen::closed_loop(&call, concurrency, limits).await,
            LoopKind::Open(rate) => loadgen::open_loop(&call, rate, limits, 4096).await?,
        };
        let wall = started.elapsed();
        let after = self.servers.cpu();
        let mut cpu: BTreeMap<_, _> = after
            .iter()
            .map(|(k, v)| {
                (
                    *k,
                    v.saturating_sub(before.get(k).copied().unwrap_or_default()),
                )
            })
            .collect();
        if let (Some(neighbour), Some(before)) = (&neighbour, neighbour_before) {
            cpu.insert(NEIGHBOUR, neighbour.cpu_time().saturating_sub(before));
        }
        drop(neighbour);
        self.servers.check_alive()?;
        let m = Measurement {
            phase,
            kind,
            stats,
            cpu,
            wall,
        };
        eprintln!("[bench]   {}", one_line(&m));
        Ok(Some(m))
    }
}

/// A progress line.
pub fn one_line(m: &Measurement) -> String {
    let kind = match m.kind {
        LoopKind::Closed(c) => format!("closed x{c}"),
        LoopKind::Open(r) => format!("open {r:.0}/s"),
    };
    let failures = if m.stats.failed() > 0 {
        format!("  FAILURES: {}", m.stats.failure_summary())
    } else {
        String::new()
    };
    format!(
        "{:<10} {:<12} {:>9.0} req/s  p50 {:>8.3} ms  p99 {:>8.3} ms  ok {}{}",
        m.phase.name(),
        kind,
        m.stats.throughput(),
        m.stats.quantile_ms(0.5),
        m.stats.quantile_ms(0.99),
        m.stats.ok,
        failures
    )
}

fn throughput(runs: &[Measurement], phase: Phase) -> Option<f64> {
    runs.iter()
        .find(|m| m.phase == phase && matches!(m.kind, LoopKind::Closed(_)))
        .map(|m| m.stats.throughput())
}

/// Starts every process, checks one answer of every phase, warms up, then runs the rounds.
pub async fn run(
    fleet: &Fleet,
    options: &PhaseOptions,
    nginx_binary: std::result::Result<PathBuf, String>,
) -> Result<PhaseReport> {
    if options.total_sources() > 500 {
        bail!(
            "custodians × sources = {} must be at most 500 so that the merged answer fits on one page",
            options.total_sources()
        );
    }
    let mut startup = Vec::new();
    eprintln!(
        "[bench] starting {} custodians ({} sources × {} variables, {} ms latency, {} B payload), a stalled one, two gateways, echo{}",
        options.custodians,
        options.sources,
        options.variables,
        options.latency_ms,
        options.payload,
        if nginx_binary.is_ok() {
            " and nginx"
        } else {
            ""
        }
    );
    let spec = |index, latency_ms| CustodianSpec {
        index,
        sources: options.sources,
        variables: options.sources * options.variables,
        latency_ms,
        payload: options.payload,
    };
    let mut custodians = Vec::new();
    for index in 0..options.custodians {
        let child = fleet.custodian(spec(index, options.latency_ms), Duration::from_secs(120))?;
        startup.push((child.name.clone(), child.startup));
        custodians.push(child);
    }
    let stalled = fleet.custodian(
        spec(options.custodians, options.stall_ms),
        Duration::from_secs(120),
    )?;
    let addrs: Vec<(usize, std::net::SocketAddr)> = custodians
        .iter()
        .enumerate()
        .map(|(i, c)| (i, c.addr))
        .collect();
    let gateway = fleet.gateway(&GatewaySpec {
        name: GATEWAY,
        custodians: &addrs,
        timeout_ms: options.gateway_timeout_ms,
        default_deadline_ms: 5_000,
        eject_after_failures: None,
        requests_per_second_per_identity: Some(0),
    })?;
    let mut degraded_addrs = addrs.clone();
    degraded_addrs.push((options.custodians, stalled.addr));
    let degraded = fleet.gateway(&GatewaySpec {
        name: GATEWAY_DEGRADED,
        custodians: &degraded_addrs,
        timeout_ms: options.custodian_timeout_ms,
        default_deadline_ms: 5_000,
        eject_after_failures: Some(0),
        requests_per_second_per_identity: Some(0),
    })?;
    let breaker = fleet.gateway(&GatewaySpec {
        name: GATEWAY_BREAKER,
        custodians: &degraded_addrs,
        timeout_ms: options.custodian_timeout_ms,
        default_deadline_ms: 5_000,
        eject_after_failures: None,
        requests_per_second_per_identity: Some(0),
    })?;
    let mut skipped = Vec::new();
    let nginx = match &nginx_binary {
        Ok(binary) => {
            let child = nginx::start(
                binary,
                &fleet.dir.join("nginx"),
                &fleet.pki,
                custodians[0].addr,
                fleet.pinning.server_cpu,
            )?;
            Some(child)
        }
        Err(reason) => {
            skipped.push((Phase::N, reason.clone()));
            None
        }
    };
    let tls = &fleet.client_tls;
    let k = options.connections;
    let gateway_clients = fleet::gateway_pool(tls, gateway.addr, k).await?;
    // The echo server sends as much as a G_hit answer, so that E is the floor of the same
    // bytes through the same TLS and HTTP/2 with no work.
    let hit_bytes = hit_answer_bytes(&gateway_clients, options.custodians).await?;
    let echo = fleet.echo(hit_bytes)?;
    for child in [&stalled, &gateway, &degraded, &breaker, &echo]
        .into_iter()
        .chain(nginx.as_ref())
    {
        startup.push((child.name.clone(), child.startup));
    }

    let mut custodian_clients = Vec::new();
    for (i, child) in custodians.iter().enumerate() {
        custodian_clients.push(
            fleet::custodian_pool(
                tls,
                child.addr,
                &identity::custodian_identity(&synth::custodian_id(i)),
                k,
            )
            .await?,
        );
    }
    let nginx_clients = match &nginx {
        Some(child) => Some(
            fleet::custodian_pool(
                tls,
                child.addr,
                &format!(
                    "spiffe://{}/{}",
                    identity::DEV_TRUST_DOMAIN,
                    nginx::IDENTITY_PATH
                ),
                k,
            )
            .await?,
        ),
        None => None,
    };
    let clients = Clients {
        gateway: gateway_clients,
        degraded: fleet::gateway_pool(tls, degraded.addr, k).await?,
        breaker: fleet::gateway_pool(tls, breaker.addr, k).await?,
        echo: fleet::custodian_pool(tls, echo.addr, &identity::custodian_identity(ECHO_ID), k)
            .await?,
        custodians: custodian_clients,
        nginx: nginx_clients,
    };

    let record_bytes = clients.custodians[0]
        .pick()
        .get_data_source(pb::GetDataSourceRequest {
            id: synth::source_id(0, 0),
            view: pb::DataSourceView::Full as i32,
        })
        .await
        .context("custodian c0 does not answer GetDataSource")?
        .into_inner()
        .encoded_len();
    let merged_bytes = clients
        .gateway
        .pick()
        .search_data_sources(no_store(pb::SearchDataSourcesRequest {
            page_size: 500,
            view: pb::DataSourceView::Full as i32,
            ..Default::default()
        }))
        .await
        .context("the gateway does not answer SearchDataSources")?
        .into_inner()
        .encoded_len();

    let mut bench = Bench {
        fleet,
        servers: Servers {
            custodians,
            stalled,
            gateway,
            degraded,
            breaker,
            echo,
            nginx,
        },
        clients,
        options: options.clone(),
        echo_answer_bytes: hit_bytes,
    };

    // One answer of every phase, checked, before anything is timed.
    for phase in Phase::ALL {
        if let Some(call) = bench.clients.call(phase, options) {
            for n in 0..3 {
                call(n).await.map_err(|f| {
                    anyhow::anyhow!(
                        "phase {} gave a wrong first answer: {} ({})",
                        phase.name(),
                        f.kind,
                        f.detail
                    )
                })?;
            }
        }
    }

    eprintln!("[bench] warm-up");
    let mut warmup = Vec::new();
    let closed = LoopKind::Closed(options.concurrency);
    for phase in [
        Phase::D,
        Phase::GMiss,
        Phase::GReval,
        Phase::GHit,
        Phase::E,
        Phase::N,
        Phase::GPass,
    ] {
        if let Some(m) = bench.measure(phase, closed, options.warmup).await? {
            warmup.push(m);
        }
    }
    let half_min = |a: Option<f64>, b: Option<f64>| -> f64 {
        let values: Vec<f64> = [a, b].into_iter().flatten().filter(|v| *v > 0.0).collect();
        (values.into_iter().fold(f64::INFINITY, f64::min) / 2.0).clamp(1.0, 50_000.0)
    };
    let rates = Rates {
        fanout: half_min(
            throughput(&warmup, Phase::D),
            throughput(&warmup, Phase::GMiss),
        ),
        pass: half_min(
            throughput(&warmup, Phase::N),
            throughput(&warmup, Phase::GPass),
        ),
        degraded: half_min(
            throughput(&warmup, Phase::D),
            throughput(&warmup, Phase::GMiss),
        )
        .min(2_000.0),
    };
    for (phase, rate) in [
        (Phase::GDegraded, rates.degraded),
        (Phase::GDegradedBusy, rates.degraded),
        (Phase::GDegradedLight, LIGHT_RATE),
        (Phase::GDegradedEject, rates.degraded),
    ] {
        if let Some(m) = bench
            .measure(phase, LoopKind::Open(rate), options.warmup)
            .await?
        {
            warmup.push(m);
        }
    }
    eprintln!(
        "[bench] open-loop rates: fan-out {:.0}/s, pass-through {:.0}/s, degraded {:.0}/s",
        rates.fanout, rates.pass, rates.degraded
    );

    let mut rounds = Vec::new();
    let rounds_result = run_rounds(&mut bench, options, closed, rates, &mut rounds).await;
    rounds_result?;
    let mut slices = Vec::new();
    if options.slices > 0 {
        eprintln!(
            "[bench] {} alternating slices of {:.1} s",
            options.slices,
            options.slice.as_secs_f64()
        );
    }
    for slice in 0..options.slices {
        let mut order = SLICED.to_vec();
        if slice % 2 == 1 {
            order.reverse();
        }
        let mut runs = Vec::new();
        for phase in order {
            if let Some(m) = bench.measure(phase, closed, options.slice).await? {
                runs.push(m);
            }
        }
        slices.push(runs);
    }
    let instructions = if options.instruction_scale == 0 {
        Err("not asked for (--instructions)".to_string())
    } else {
        match crate::instructions::valgrind() {
            Ok(valgrind) => Ok(count_instructions(&bench, fleet, &valgrind, options).await?),
            Err(reason) => Err(reason),
        }
    };
    Ok(PhaseReport {
        options: options.clone(),
        record_bytes,
        merged_bytes,
        echo_answer_bytes: bench.echo_answer_bytes,
        rates,
        warmup,
        rounds,
        skipped,
        startup,
        slices,
        instructions,
    })
}

async fn run_rounds(
    bench: &mut Bench<'_>,
    options: &PhaseOptions,
    closed: LoopKind,
    rates: Rates,
    rounds: &mut Vec<Vec<Measurement>>,
) -> Result<()> {
    for round in 0..options.rounds {
        eprintln!("[bench] round {}/{}", round + 1, options.rounds);
        let mut runs = Vec::new();
        let plan = [
            (Phase::D, closed),
            (Phase::GMiss, closed),
            (Phase::GReval, closed),
            (Phase::GHit, closed),
            (Phase::E, closed),
            (Phase::N, closed),
            (Phase::GPass, closed),
            (Phase::D, LoopKind::Open(rates.fanout)),
            (Phase::GMiss, LoopKind::Open(rates.fanout)),
            (Phase::GReval, LoopKind::Open(rates.fanout)),
            (Phase::N, LoopKind::Open(rates.pass)),
            (Phase::GPass, LoopKind::Open(rates.pass)),
            (Phase::GDegraded, LoopKind::Open(rates.degraded)),
            (Phase::GDegradedBusy, LoopKind::Open(rates.degraded)),
            (Phase::GDegradedLight, LoopKind::Open(LIGHT_RATE)),
            (Phase::GDegradedEject, LoopKind::Open(rates.degraded)),
        ];
        for (phase, kind) in plan {
            if let Some(m) = bench.measure(phase, kind, options.phase).await? {
                runs.push(m);
            }
        }
        rounds.push(runs);
    }
    Ok(())
}

/// A PlanApplication for two sources of two custodians (a multi-source application).
fn plan_call(pool: GatewayClients, custodians: usize) -> Call {
    let ids: Vec<String> = (0..custodians.min(2))
        .map(|c| synth::source_id(c, 0))
        .collect();
    Arc::new(move |_n| {
        let mut client = pool.pick();
        let ids = ids.clone();
        async move {
            let plan = client
                .plan_application(pb::PlanApplicationRequest {
                    data_source_ids: ids.clone(),
                    purpose: pb::Purpose::Research as i32,
                    stage: pb::ProjectStage::New as i32,
                    data_level: pb::DataLevel::DeidentifiedIndividual as i32,
                    ..Default::default()
                })
                .await?
                .into_inner();
            let covered = ids.iter().all(|id| {
                plan.applications
                    .iter()
                    .any(|a| a.data_source_ids.contains(id))
            });
            if !covered {
                return Err(Failure::wrong(format!(
                    "the plan does not cover {ids:?}: {} applications",
                    plan.applications.len()
                )));
            }
            Ok(())
        }
        .boxed()
    })
}

/// An echo server's GetCustodianInfo, checked for the echo server's id.
fn echo_call(pool: CustodianClients) -> Call {
    Arc::new(move |_n| {
        let mut client = pool.pick();
        async move {
            let info = client
                .get_custodian_info(pb::GetCustodianInfoRequest {})
                .await?
                .into_inner();
            if info.id != ECHO_ID {
                return Err(Failure::wrong(format!("echo answered id {}", info.id)));
            }
            Ok(())
        }
        .boxed()
    })
}

/// The server whose instructions a hot path counts.
#[derive(Clone, Copy)]
enum Counting {
    Gateway,
    Echo,
    BareEcho,
}

/// The G_hit query of the `g`-th source (custodians in turn) and the id it must find first.
fn hit_query(g: usize, custodians: usize) -> (String, String) {
    let (c, n) = (g % custodians, g / custodians);
    (synth::source_query(c, n, true), synth::source_id(c, n))
}

/// The G_hit request: one source's abbreviation, page 10, BASIC.
fn hit_request(query: String) -> pb::SearchDataSourcesRequest {
    pb::SearchDataSourcesRequest {
        query,
        page_size: 10,
        view: pb::DataSourceView::Basic as i32,
        ..Default::default()
    }
}

/// Queries whose answers are averaged for the echo server's answer size.
const HIT_SIZE_SAMPLE: usize = 16;

/// The mean encoded size of the first [`HIT_SIZE_SAMPLE`] G_hit answers, bytes.
async fn hit_answer_bytes(gateway: &GatewayClients, custodians: usize) -> Result<usize> {
    let mut total = 0;
    for g in 0..HIT_SIZE_SAMPLE {
        let (query, _) = hit_query(g, custodians);
        total += gateway
            .pick()
            .search_data_sources(hit_request(query))
            .await
            .context("the gateway does not answer the G_hit search")?
            .into_inner()
            .encoded_len();
    }
    Ok(total / HIT_SIZE_SAMPLE)
}

/// Starts a gateway (over the running custodians) and an echo server under callgrind and
/// counts the instructions per request of each hot path's fixed mix.
async fn count_instructions(
    bench: &Bench<'_>,
    fleet: &Fleet,
    valgrind: &std::path::Path,
    options: &PhaseOptions,
) -> Result<Vec<InstructionCount>> {
    use crate::instructions::{Counted, Mix, per_request, wrapper};
    eprintln!("[bench] instruction counts under callgrind (servers run ~50× slower)");
    let addrs: Vec<(usize, std::net::SocketAddr)> = bench
        .servers
        .custodians
        .iter()
        .enumerate()
        .map(|(i, c)| (i, c.addr))
        .collect();
    let gateway_out = fleet.dir.join("callgrind-gateway");
    let gateway = fleet.gateway_wrapped(
        &GatewaySpec {
            name: "gateway (callgrind)",
            custodians: &addrs,
            // Everything runs many times slower under valgrind.
            timeout_ms: 30_000,
            default_deadline_ms: 60_000,
            eject_after_failures: Some(0),
            requests_per_second_per_identity: Some(0),
        },
        &wrapper(valgrind, &gateway_out),
    )?;
    let echo_out = fleet.dir.join("callgrind-echo");
    let echo = fleet.echo_wrapped(
        "echo (callgrind)",
        bench.echo_answer_bytes,
        &wrapper(valgrind, &echo_out),
    )?;
    let bare_out = fleet.dir.join("callgrind-echo-bare");
    let bare = fleet.echo_wrapped(
        "echo, bare answer (callgrind)",
        0,
        &wrapper(valgrind, &bare_out),
    )?;
    let tls = &fleet.client_tls;
    let bare_echo =
        fleet::custodian_pool(tls, bare.addr, &identity::custodian_identity(ECHO_ID), 1).await?;
    let gateway_pool = fleet::gateway_pool(tls, gateway.addr, 1).await?;
    let clients = Clients {
        custodians: bench.clients.custodians.clone(),
        gateway: gateway_pool.clone(),
        degraded: gateway_pool.clone(),
        breaker: gateway_pool.clone(),
        echo: fleet::custodian_pool(tls, echo.addr, &identity::custodian_identity(ECHO_ID), 1)
            .await?,
        nginx: None,
    };
    let k = options.instruction_scale;
    let paths: [(&'static str, &'static str, Option<Call>, Counting, u64); 7] = [
        (
            "G_hit",
            "SearchDataSources, one abbreviation, page 10, BASIC, warm cache",
            clients.call(Phase::GHit, options),
            Counting::Gateway,
            200,
        ),
        (
            "E",
            "echo GetCustodianInfo, answer the size of a G_hit answer",
            Some(echo_call(clients.echo.clone())),
            Counting::Echo,
            200,
        ),
        (
            "E_bare",
            "echo GetCustodianInfo, bare answer (about 30 B)",
            Some(echo_call(bare_echo)),
            Counting::BareEcho,
            200,
        ),
        (
            "G_pass",
            "GetDataSource FULL, no-store (pass-through)",
            clients.call(Phase::GPass, options),
            Counting::Gateway,
            100,
        ),
        (
            "G_reval",
            "SearchDataSources, all sources, FULL, no-cache (revalidated merged answer)",
            clients.call(Phase::GReval, options),
            Counting::Gateway,
            20,
        ),
        (
            "G_miss",
            "SearchDataSources, all sources, FULL, no-store (refetched and merged)",
            clients.call(Phase::GMiss, options),
            Counting::Gateway,
            5,
        ),
        (
            "plan",
            "PlanApplication, two sources of two custodians",
            Some(plan_call(clients.gateway.clone(), options.custodians)),
            Counting::Gateway,
            50,
        ),
    ];
    // Fill the gateway's cache first (the G_hit mix must be served from it).
    if let Some(prime) = clients.call(Phase::GMiss, options) {
        prime(0).await.map_err(|f| {
            anyhow::anyhow!(
                "the gateway under callgrind answered wrongly: {} ({})",
                f.kind,
                f.detail
            )
        })?;
    }
    let mut counted_gateway = Counted::new(gateway.pid, gateway_out);
    let mut counted_echo = Counted::new(echo.pid, echo_out);
    let mut counted_bare = Counted::new(bare.pid, bare_out);
    let mut counts = Vec::new();
    for (path, request, call, counting, base) in paths {
        let Some(call) = call else {
            continue;
        };
        let (server, process) = match counting {
            Counting::Gateway => (&mut counted_gateway, GATEWAY),
            Counting::Echo => (&mut counted_echo, ECHO),
            Counting::BareEcho => (&mut counted_bare, ECHO),
        };
        let mix = Mix {
            warm_up: (base * k / 4).max(2),
            per_chunk: (base * k).max(1),
            chunks: 5,
        };
        let started = Instant::now();
        let values = per_request(server, &call, mix)
            .await
            .with_context(|| format!("counting the instructions of {path}"))?;
        eprintln!(
            "[bench]   {path:<8} {:>10.0} instructions per request ({} chunks of {} requests, {:.1} s)",
            crate::report::Spread::of(&values)
                .map(|s| s.median)
                .unwrap_or_default(),
            mix.chunks,
            mix.per_chunk,
            started.elapsed().as_secs_f64()
        );
        counts.push(InstructionCount {
            path,
            request,
            process,
            per_chunk: mix.per_chunk,
            per_request: values,
        });
    }
    drop(gateway);
    drop(echo);
    drop(bare);
    Ok(counts)
}
