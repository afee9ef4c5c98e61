//! The federated operations behind each RPC: catalogue snapshots fanned out and merged,
//! single records passed through to their owner, variable search across custodians, and
//! the inputs of application planning. Every operation answers with one outcome per
//! custodian and never waits past the caller's deadline.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::{Arc, Mutex},
    time::Duration,
};

use futures::FutureExt;
use helsedata::{
    contract::{
        GATEWAY_SEARCH_VARIABLES_PAGE, LIST_DATA_SOURCES_PAGE, LIST_VARIABLES_PAGE,
        MAX_VARIABLE_SEARCH_DEPTH,
    },
    deadline::Deadline,
    paging::{self, PageRequest},
    proto as pb, search,
    status::{FieldError, RequestError},
    tls::{TlsError, TlsMaterial},
};
use tonic::Code;

use crate::{
    cache::{Cache, FetchFailure, Policy, Served},
    config::{CacheConfig, GatewayConfig},
    fanout::{self, fan_out},
    merge::{self, Contribution},
    merged::MergedCatalogue,
    routing::{
        self,
        planner::{PlanInput, ResolvedSource},
        rules::NationalRules,
    },
    upstream::{LegError, Upstream, owner_of},
};

/// Page size used when the gateway reads a custodian's whole catalogue.
const SNAPSHOT_PAGE_SIZE: i32 = LIST_DATA_SOURCES_PAGE.largest_page();

/// One custodian's whole catalogue, as the gateway holds it.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Facts about the custodian.
    pub info: pb::CustodianInfo,
    /// All its sources, with access rules.
    pub sources: Vec<pb::DataSource>,
}

/// How one request treats the cache.
#[derive(Debug, Clone, Copy)]
pub struct RequestContext {
    /// When the answer is due.
    pub deadline: Deadline,
    /// Whether the caller asked to bypass fresh cache entries (`cache-control: no-cache`).
    pub bypass_cache: bool,
}

/// The merged catalogue as served to one request.
#[derive(Debug)]
pub struct CatalogueView {
    /// The merged, indexed catalogue.
    pub catalogue: Arc<MergedCatalogue>,
    /// Identifies the merge (for page tokens).
    pub generation: u64,
    /// One outcome per custodian.
    pub outcomes: Vec<pb::CustodianOutcome>,
    /// Provenance of each custodian's records in this answer (the merge may be older than
    /// the answers it was built from when their revisions did not change).
    pub provenance: HashMap<String, pb::Provenance>,
}

/// Where in the cache one answer lives and how long it may be served.
struct Lookup<'a, V> {
    cache: &'a Cache<V>,
    key: String,
    policy: Policy,
}

struct MergeMemo {
    key: Vec<(String, String)>,
    catalogue: Arc<MergedCatalogue>,
    generation: u64,
}

/// The gateway's view of all custodians.
pub struct Federation {
    upstreams: Vec<Arc<Upstream>>,
    cache_config: CacheConfig,
    snapshots: Cache<Snapshot>,
    sources: Cache<pb::DataSource>,
    rules: Cache<pb::AccessRules>,
    variable_pages: Cache<pb::ListVariablesResponse>,
    variable_lists: Cache<Vec<pb::Variable>>,
    variable_searches: Cache<pb::SearchVariablesResponse>,
    merged: Mutex<Option<MergeMemo>>,
    national_rules: Arc<NationalRules>,
}

fn failure(leg_error: LegError, latency: Duration) -> FetchFailure {
    FetchFailure {
        error: leg_error,
        latency,
    }
}

impl Federation {
    /// Builds the upstreams (channels connect lazily).
    pub fn new(
        config: &GatewayConfig,
        tls: &TlsMaterial,
        national_rules: Arc<NationalRules>,
        health: Option<tonic_health::server::HealthReporter>,
    ) -> Result<Self, TlsError> {
        let upstreams = config
            .custodians
            .iter()
            .map(|c| Upstream::new(c, &config.defaults, tls, health.clone()).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            upstreams,
            cache_config: config.cache.clone(),
            snapshots: Cache::new(),
            sources: Cache::new(),
            rules: Cache::new(),
            variable_pages: Cache::new(),
            variable_lists: Cache::new(),
            variable_searches: Cache::new(),
            merged: Mutex::new(None),
            national_rules,
        })
    }

    /// The configured custodians.
    pub fn upstreams(&self) -> &[Arc<Upstream>] {
        &self.upstreams
    }

    fn policy(&self, ttl_ms: u64, ctx: RequestContext) -> Policy {
        Policy {
            ttl: Duration::from_millis(ttl_ms),
            max_stale: Duration::from_millis(self.cache_config.max_stale_ms),
            bypass: ctx.bypass_cache,
            known_failure: None,
        }
    }

    fn owner(&self, id: &str) -> Result<&Arc<Upstream>, RequestError> {
        owner_of(&self.upstreams, id).ok_or_else(|| {
            RequestError::data_source_not_found(id, "no custodian is configured to publish this id; use SearchDataSources to find data source ids")
        })
    }

    /// Serves one custodian's answer through the cache; the fetch gets the leg deadline of
    /// the caller that starts it.
    async fn cached<V, M, F, Fut>(
        &self,
        lookup: Lookup<'_, V>,
        upstream: &Arc<Upstream>,
        ctx: RequestContext,
        message: M,
        rpc: F,
    ) -> Served<V>
    where
        V: Send + Sync + 'static,
        M: Send + 'static,
        F: FnOnce(
                pb::custodian_catalogue_client::CustodianCatalogueClient<tonic::transport::Channel>,
                tonic::Request<M>,
            ) -> Fut
            + Send
            + 'static,
        Fut: std::future::Future<Output = Result<tonic::Response<V>, tonic::Status>>
            + Send
            + 'static,
        V: Revisioned,
    {
        let wait = upstream.leg_timeout(ctx.deadline);
        let up = upstream.clone();
        let deadline = ctx.deadline;
        let policy = lookup.policy.with_known_failure(upstream.last_failure());
        lookup
            .cache
            .get(&lookup.key, policy, wait, move || {
                async move {
                    let leg = up.call(deadline, message, rpc).await;
                    match leg.result {
                        Ok(value) => {
                            // Single records carry no revision; the custodian's last seen one
                            // is the best statement of where they came from.
                            let revision = match value.revision() {
                                "" => up.state().revision,
                                own => own.to_string(),
                            };
                            Ok((value, revision))
                        }
                        Err(e) => Err(failure(e, leg.latency)),
                    }
                }
                .boxed()
            })
            .await
    }

    /// The merged catalogue: every custodian's snapshot, fetched concurrently where not
    /// fresh, merged and indexed (the merge is reused until a snapshot changes).
    pub async fn catalogue(&self, ctx: RequestContext) -> CatalogueView {
        let policy = self.policy(self.cache_config.catalogue_ttl_ms, ctx);
        let served = fan_out(&self.upstreams, |up| {
            let cache = self.snapshots.clone();
            let policy = policy.clone().with_known_failure(up.last_failure());
            async move {
                let wait = up.leg_timeout(ctx.deadline);
                let fetcher = up.clone();
                cache
                    .get(&up.id, policy, wait, move || {
                        fetch_snapshot(fetcher, ctx.deadline).boxed()
                    })
                    .await
            }
        })
        .await;
        let mut outcomes = Vec::with_capacity(served.len());
        let mut provenance = HashMap::new();
        let mut key = Vec::new();
        for (up, s) in &served {
            outcomes.push(fanout::outcome(&up.id, s));
            if let Some(p) = fanout::provenance(&up.id, s) {
                provenance.insert(up.id.clone(), p);
            }
            if let Some(cached) = s.cached() {
                // The same revision means the same catalogue (the custodian contract), so a
                // refetch that brought nothing new reuses the merge; without a revision, every
                // fetch counts as new.
                let version = if cached.value.info.catalogue_revision.is_empty() {
                    format!("#{}", cached.generation)
                } else {
                    cached.value.info.catalogue_revision.clone()
                };
                key.push((up.id.clone(), version));
                if matches!(s, Served::Live(..)) {
                    up.note_catalogue(&cached.value.info);
                }
            }
        }
        let (catalogue, generation) = self.merge_memo(key, &served);
        CatalogueView {
            catalogue,
            generation,
            outcomes,
            provenance,
        }
    }

    fn merge_memo(
        &self,
        key: Vec<(String, String)>,
        served: &[(Arc<Upstream>, Served<Snapshot>)],
    ) -> (Arc<MergedCatalogue>, u64) {
        if let Ok(memo) = self.merged.lock()
            && let Some(m) = memo.as_ref().filter(|m| m.key == key)
        {
            return (m.catalogue.clone(), m.generation);
        }
        let provenances: Vec<(
            Arc<Upstream>,
            pb::Provenance,
            Arc<crate::cache::Cached<Snapshot>>,
        )> = served
            .iter()
            .filter_map(|(up, s)| {
                let cached = s.cached()?.clone();
                let provenance = fanout::provenance(&up.id, s)?;
                Some((up.clone(), provenance, cached))
            })
            .collect();
        let contributions: Vec<Contribution<'_>> = provenances
            .iter()
            .map(|(up, provenance, cached)| Contribution {
                custodian_id: &up.id,
                ownership: &up.ownership,
                sources: &cached.value.sources,
                provenance,
            })
            .collect();
        let catalogue = Arc::new(MergedCatalogue::new(merge::merge(&contributions)));
        let generation = paging::fingerprint(&key);
        if let Ok(mut memo) = self.merged.lock() {
            *memo = Some(MergeMemo {
                key,
                catalogue: catalogue.clone(),
                generation,
            });
        }
        (catalogue, generation)
    }

    /// GetDataSource: the owner's record, through the cache.
    pub async fn data_source(
        &self,
        id: &str,
        ctx: RequestContext,
    ) -> Result<(pb::DataSource, pb::Provenance, pb::CustodianOutcome), RequestError> {
        let owner = self.owner(id)?.clone();
        let served = self.fetch_source(&owner, id, ctx).await;
        let outcome = fanout::outcome(&owner.id, &served);
        let provenance = fanout::provenance(&owner.id, &served);
        match (served, provenance) {
            (Served::Live(c, _) | Served::Fresh(c) | Served::Stale(c, _), Some(p)) => {
                let mut source = c.value.clone();
                source.custodian_id = owner.id.clone();
                Ok((source, p, outcome))
            }
            (Served::Failed(f), _) => Err(leg_failure_to_error(&owner.id, "data source", id, &f)),
            (_, None) => Err(RequestError::Unavailable(format!(
                "custodian `{}` gave no answer for `{id}`",
                owner.id
            ))),
        }
    }

    async fn fetch_source(
        &self,
        owner: &Arc<Upstream>,
        id: &str,
        ctx: RequestContext,
    ) -> Served<pb::DataSource> {
        let policy = self.policy(self.cache_config.record_ttl_ms, ctx);
        let message = pb::GetDataSourceRequest {
            id: id.to_string(),
            view: pb::DataSourceView::Full as i32,
        };
        self.cached(
            Lookup {
                cache: &self.sources,
                key: format!("{}/{id}", owner.id),
                policy,
            },
            owner,
            ctx,
            message,
            |mut c, r| async move { c.get_data_source(r).await },
        )
        .await
    }

    async fn fetch_rules(
        &self,
        owner: &Arc<Upstream>,
        id: &str,
        ctx: RequestContext,
    ) -> Served<pb::AccessRules> {
        let policy = self.policy(self.cache_config.record_ttl_ms, ctx);
        let message = pb::GetAccessRulesRequest {
            data_source_id: id.to_string(),
        };
        self.cached(
            Lookup {
                cache: &self.rules,
                key: format!("{}/{id}", owner.id),
                policy,
            },
            owner,
            ctx,
            message,
            |mut c, r| async move { c.get_access_rules(r).await },
        )
        .await
    }

    /// ListVariables: one page from the owner, through the cache.
    pub async fn list_variables(
        &self,
        req: &pb::ListVariablesRequest,
        ctx: RequestContext,
    ) -> Result<
        (
            pb::ListVariablesResponse,
            pb::Provenance,
            pb::CustodianOutcome,
        ),
        RequestError,
    > {
        let owner = self.owner(&req.data_source_id)?.clone();
        let policy = self.policy(self.cache_config.record_ttl_ms, ctx);
        let key = format!(
            "{}/{}/{}/{}",
            owner.id, req.data_source_id, req.page_size, req.page_token
        );
        let served = self
            .cached(
                Lookup {
                    cache: &self.variable_pages,
                    key,
                    policy,
                },
                &owner,
                ctx,
                req.clone(),
                |mut c, r| async move { c.list_variables(r).await },
            )
            .await;
        let outcome = fanout::outcome(&owner.id, &served);
        match (fanout::provenance(&owner.id, &served), served) {
            (Some(p), Served::Live(c, _) | Served::Fresh(c) | Served::Stale(c, _)) => {
                Ok((c.value.clone(), p, outcome))
            }
            (_, Served::Failed(f)) => Err(leg_failure_to_error(
                &owner.id,
                "data source",
                &req.data_source_id,
                &f,
            )),
            _ => Err(RequestError::Unavailable(format!(
                "custodian `{}` gave no answer",
                owner.id
            ))),
        }
    }

    /// SearchVariables across every custodian (or those owning the requested sources).
    pub async fn search_variables(
        &self,
        req: &pb::SearchVariablesRequest,
        ctx: RequestContext,
    ) -> Result<pb::FederatedSearchVariablesResponse, RequestError> {
        let terms = search::terms(&req.query);
        let page = PageRequest::parse(
            req.page_size,
            &req.page_token,
            GATEWAY_SEARCH_VARIABLES_PAGE,
            paging::fingerprint(&(&terms, &req.data_source_ids)),
        )?;
        let window = page.offset + page.size;
        if window > MAX_VARIABLE_SEARCH_DEPTH {
            return Err(FieldError::new("page_token", format!("variable search pages end at result {MAX_VARIABLE_SEARCH_DEPTH}; narrow the query or filter by data_source_ids")).into());
        }
        let targets: Vec<Arc<Upstream>> = self
            .upstreams
            .iter()
            .filter(|u| {
                req.data_source_ids.is_empty()
                    || req.data_source_ids.iter().any(|id| u.ownership.owns(id))
            })
            .cloned()
            .collect();
        let policy = self.policy(self.cache_config.search_ttl_ms, ctx);
        let served = fan_out(&targets, |up| {
            let policy = policy.clone();
            let message = pb::SearchVariablesRequest {
                query: terms.join(" "),
                page_size: window as i32,
                page_token: String::new(),
                data_source_ids: req
                    .data_source_ids
                    .iter()
                    .filter(|id| up.ownership.owns(id))
                    .cloned()
                    .collect(),
            };
            let key = format!(
                "{}/{}/{}/{window}",
                up.id,
                message.query,
                message.data_source_ids.join(",")
            );
            async move {
                self.cached(
                    Lookup {
                        cache: &self.variable_searches,
                        key,
                        policy,
                    },
                    &up,
                    ctx,
                    message,
                    |mut c, r| async move { c.search_variables(r).await },
                )
                .await
            }
        })
        .await;
        let mut outcomes: BTreeMap<String, pb::CustodianOutcome> = self
            .upstreams
            .iter()
            .map(|u| (u.id.clone(), fanout::not_asked(&u.id)))
            .collect();
        let mut hits = Vec::new();
        let mut issues = Vec::new();
        let mut total = 0usize;
        for (up, s) in &served {
            outcomes.insert(up.id.clone(), fanout::outcome(&up.id, s));
            let (Some(cached), Some(provenance)) = (s.cached(), fanout::provenance(&up.id, s))
            else {
                continue;
            };
            total += cached.value.total_size as usize;
            for hit in &cached.value.hits {
                let Some(variable) = &hit.variable else {
                    continue;
                };
                if !up.ownership.owns(&variable.data_source_id) {
                    issues.push(not_owned_variable(&up.id, variable));
                    continue;
                }
                hits.push(pb::FederatedVariableHit {
                    variable: Some(variable.clone()),
                    score: hit.score,
                    provenance: Some(provenance.clone()),
                });
            }
        }
        hits.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| variable_id(a).cmp(variable_id(b)))
        });
        let reachable = total.min(MAX_VARIABLE_SEARCH_DEPTH);
        let range = page.range(hits.len());
        Ok(pb::FederatedSearchVariablesResponse {
            hits: hits[range].to_vec(),
            next_page_token: page.next_token(reachable),
            total_size: total as u32,
            custodians: outcomes.into_values().collect(),
            merge_issues: issues,
        })
    }

    /// PlanApplication: fetch facts and rules of every requested source from its owner,
    /// concurrently, then plan with the national rules.
    pub async fn plan(
        &self,
        req: &pb::PlanApplicationRequest,
        ctx: RequestContext,
    ) -> Result<pb::ApplicationPlan, RequestError> {
        let wanted = routing::requested_source_ids(req);
        let mut unknown_sources = Vec::new();
        let mut owned = Vec::new();
        for id in wanted {
            match owner_of(&self.upstreams, &id) {
                Some(owner) => owned.push((owner.clone(), id)),
                None => unknown_sources.push(id),
            }
        }
        let wanted_variables: BTreeSet<&str> =
            req.variable_ids.iter().map(String::as_str).collect();
        let wanted_ref = &wanted_variables;
        let legs = owned.iter().map(|(owner, id)| async move {
            let needs_variables = wanted_ref
                .iter()
                .any(|v| routing::variable_source_id(v) == Some(id.as_str()));
            let (source, rules, variables) = futures::join!(
                self.fetch_source(owner, id, ctx),
                self.fetch_rules(owner, id, ctx),
                async {
                    if needs_variables {
                        Some(self.all_variables(owner, id, ctx).await)
                    } else {
                        None
                    }
                }
            );
            (owner.clone(), id.clone(), source, rules, variables)
        });
        let results = futures::future::join_all(legs).await;

        let mut outcomes: BTreeMap<String, pb::CustodianOutcome> = BTreeMap::new();
        let mut input = PlanInput {
            purpose: pb::Purpose::try_from(req.purpose).unwrap_or_default(),
            stage: pb::ProjectStage::try_from(req.stage).unwrap_or_default(),
            data_level: pb::DataLevel::try_from(req.data_level).unwrap_or_default(),
            linkage_wanted: req.linkage_wanted,
            biomaterial_wanted: req.biomaterial_wanted,
            sources: Vec::new(),
            variables: Vec::new(),
            unknown_data_source_ids: unknown_sources,
            unknown_variable_ids: Vec::new(),
            unresolved_data_source_ids: Vec::new(),
        };
        let mut found_variables: BTreeSet<String> = BTreeSet::new();
        for (owner, id, source, rules, variables) in results {
            for outcome in [
                fanout::outcome(&owner.id, &source),
                fanout::outcome(&owner.id, &rules),
            ] {
                let merged = match outcomes.remove(&owner.id) {
                    Some(previous) => fanout::worse(previous, outcome),
                    None => outcome,
                };
                outcomes.insert(owner.id.clone(), merged);
            }
            match (source.cached(), rules.cached()) {
                (Some(s), Some(r)) => {
                    let mut data_source = s.value.clone();
                    data_source.custodian_id = owner.id.clone();
                    input.sources.push(ResolvedSource {
                        source: data_source,
                        rules: r.value.clone(),
                        custodian_id: owner.id.clone(),
                    });
                }
                _ if is_not_found(&source) || is_not_found(&rules) => {
                    input.unknown_data_source_ids.push(id.clone())
                }
                _ => input.unresolved_data_source_ids.push(id.clone()),
            }
            if let Some(Some(list)) = variables
                .as_ref()
                .map(|v| v.cached().map(|c| c.value.clone()))
            {
                for variable in list {
                    if wanted_variables.contains(variable.id.as_str()) {
                        found_variables.insert(variable.id.clone());
                        input.variables.push(variable);
                    }
                }
            }
        }
        let resolved: BTreeSet<&str> = input.sources.iter().map(|s| s.source.id.as_str()).collect();
        input.unknown_variable_ids = req
            .variable_ids
            .iter()
            .filter(|v| !found_variables.contains(*v))
            .filter(|v| {
                routing::variable_source_id(v).is_some_and(|s| {
                    resolved.contains(s) || input.unknown_data_source_ids.iter().any(|u| u == s)
                })
            })
            .cloned()
            .collect();
        input.unknown_variable_ids.sort();
        input.unknown_variable_ids.dedup();
        input.unknown_data_source_ids.sort();
        input.sources.sort_by(|a, b| a.source.id.cmp(&b.source.id));
        let mut plan = routing::planner::plan(&input, &self.national_rules);
        plan.custodians = outcomes.into_values().collect();
        Ok(plan)
    }

    async fn all_variables(
        &self,
        owner: &Arc<Upstream>,
        id: &str,
        ctx: RequestContext,
    ) -> Served<Vec<pb::Variable>> {
        let policy = self
            .policy(self.cache_config.record_ttl_ms, ctx)
            .with_known_failure(owner.last_failure());
        let wait = owner.leg_timeout(ctx.deadline);
        let up = owner.clone();
        let source_id = id.to_string();
        let deadline = ctx.deadline;
        self.variable_lists
            .get(&format!("{}/{id}", owner.id), policy, wait, move || {
                async move {
                    let mut all = Vec::new();
                    let mut token = String::new();
                    let revision = loop {
                        let message = pb::ListVariablesRequest {
                            data_source_id: source_id.clone(),
                            page_size: LIST_VARIABLES_PAGE.largest_page(),
                            page_token: token.clone(),
                        };
                        let leg = up
                            .call(deadline, message, |mut c, r| async move {
                                c.list_variables(r).await
                            })
                            .await;
                        let page = leg.result.map_err(|e| failure(e, leg.latency))?;
                        all.extend(page.variables);
                        if page.next_page_token.is_empty() {
                            break page.catalogue_revision;
                        }
                        token = page.next_page_token;
                    };
                    Ok((all, revision))
                }
                .boxed()
            })
            .await
    }

    /// Probes every custodian now (ListCustodians with `refresh`).
    pub async fn probe_all(&self, deadline: Deadline) {
        fan_out(&self.upstreams, |up| async move {
            let leg = up
                .call(
                    deadline,
                    pb::GetCustodianInfoRequest {},
                    |mut c, r| async move { c.get_custodian_info(r).await },
                )
                .await;
            if let Ok(info) = &leg.result {
                up.note_catalogue(info);
            }
        })
        .await;
    }
}

fn is_not_found<V>(served: &Served<V>) -> bool {
    matches!(served, Served::Failed(f) if matches!(f.error, LegError::Error { code: Code::NotFound, .. }))
}

fn variable_id(hit: &pb::FederatedVariableHit) -> &str {
    hit.variable
        .as_ref()
        .map(|v| v.id.as_str())
        .unwrap_or_default()
}

fn not_owned_variable(custodian: &str, variable: &pb::Variable) -> pb::MergeIssue {
    pb::MergeIssue {
        kind: pb::merge_issue::Kind::NotOwned as i32,
        custodian_id: custodian.to_string(),
        record_id: variable.id.clone(),
        other_custodian_id: String::new(),
        message: format!(
            "custodian `{custodian}` returned variable `{}` of data source `{}`, which it does not own; the hit was dropped",
            variable.id, variable.data_source_id
        ),
    }
}

fn leg_failure_to_error(
    custodian: &str,
    resource: &'static str,
    id: &str,
    failure: &FetchFailure,
) -> RequestError {
    match &failure.error {
        LegError::Error {
            code: Code::NotFound,
            ..
        } => RequestError::NotFound {
            resource_type: resource,
            name: id.to_string(),
            hint: format!(
                "custodian `{custodian}` does not publish it; use SearchDataSources to find data source ids"
            ),
        },
        LegError::Error {
            code: Code::InvalidArgument,
            message,
        } => RequestError::InvalidArgument(vec![FieldError::new(
            "request",
            format!("custodian `{custodian}` refused the request: {message}"),
        )]),
        LegError::Timeout(after) => RequestError::Unavailable(format!(
            "custodian `{custodian}` did not answer within {} ms and nothing is cached for `{id}`; retry later or with a longer deadline",
            after.as_millis()
        )),
        other => RequestError::Unavailable(format!(
            "custodian `{custodian}` {other}; nothing is cached for `{id}`; retry later"
        )),
    }
}

/// Answers that carry their catalogue revision.
pub trait Revisioned {
    /// The revision, or empty.
    fn revision(&self) -> &str;
}

impl Revisioned for pb::DataSource {
    fn revision(&self) -> &str {
        ""
    }
}

impl Revisioned for pb::AccessRules {
    fn revision(&self) -> &str {
        ""
    }
}

impl Revisioned for pb::ListVariablesResponse {
    fn revision(&self) -> &str {
        &self.catalogue_revision
    }
}

impl Revisioned for pb::SearchVariablesResponse {
    fn revision(&self) -> &str {
        &self.catalogue_revision
    }
}

/// Fetches a custodian's whole catalogue: its facts and every page of its sources. The facts
/// and the first page are asked for at once, so a snapshot costs one round trip per page.
async fn fetch_snapshot(
    up: Arc<Upstream>,
    deadline: Deadline,
) -> Result<(Snapshot, String), FetchFailure> {
    let started = tokio::time::Instant::now();
    let page_request = |token: String| pb::ListDataSourcesRequest {
        page_size: SNAPSHOT_PAGE_SIZE,
        page_token: token,
        filter: None,
        view: pb::DataSourceView::Full as i32,
    };
    let (info, first) = futures::join!(
        up.call(
            deadline,
            pb::GetCustodianInfoRequest {},
            |mut c, r| async move { c.get_custodian_info(r).await }
        ),
        up.call(
            deadline,
            page_request(String::new()),
            |mut c, r| async move { c.list_data_sources(r).await }
        ),
    );
    let info = info.result.map_err(|e| failure(e, started.elapsed()))?;
    let mut page = first.result.map_err(|e| failure(e, started.elapsed()))?;
    let mut sources = Vec::with_capacity(info.data_source_count as usize);
    loop {
        sources.append(&mut page.data_sources);
        if page.next_page_token.is_empty() {
            break;
        }
        let leg = up
            .call(
                deadline,
                page_request(std::mem::take(&mut page.next_page_token)),
                |mut c, r| async move { c.list_data_sources(r).await },
            )
            .await;
        page = leg.result.map_err(|e| failure(e, started.elapsed()))?;
    }
    let revision = info.catalogue_revision.clone();
    Ok((Snapshot { info, sources }, revision))
}
