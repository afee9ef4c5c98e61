//! The federated operations behind each RPC: catalogue snapshots fanned out and merged,
//! single records passed through to their owner, variable search across custodians, and
//! the inputs of application planning. Every operation answers with one outcome per
//! custodian and never waits past the caller's deadline.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
    time::Duration,
};

use std::future::Future;

use futures::FutureExt;
use helsedata::{
    contract::{GATEWAY_SEARCH_VARIABLES_PAGE, MAX_VARIABLE_SEARCH_DEPTH},
    deadline::Deadline,
    paging::{self, PageRequest},
    proto as pb, search,
    status::{FieldError, RequestError},
    tls::{TlsError, TlsMaterial},
};
use tonic::Code;

use crate::{
    catalogue::{
        CatalogueView, MergeMemo, MergedCatalogue,
        merge::{self, Contribution, MergedRecord},
    },
    config::{CacheConfig, GatewayConfig, resolve_upstream},
    fanout::fan_out,
    planning::{self, Answer, SourceAnswers, rules::NationalRules},
    upstream::{
        Cache, FetchFailure, LegError, Policy, Served, Upstream,
        client::{Fetched, Snapshot},
        outcome, owner_of,
    },
};

/// How one request treats the cache.
#[derive(Debug, Clone, Copy)]
pub struct RequestContext {
    /// When the answer is due (the caller's deadline less the headroom to send it).
    pub deadline: Deadline,
    /// Whether the caller asked to bypass fresh cache entries (`cache-control: no-cache`).
    pub bypass_cache: bool,
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
    merged: MergeMemo,
    national_rules: Arc<NationalRules>,
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
            .map(|c| {
                let settings = resolve_upstream(&config.defaults, c);
                Upstream::new(c, &settings, tls, health.clone()).map(Arc::new)
            })
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
            merged: MergeMemo::default(),
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

    /// The one way the gateway asks a custodian: serves `key` from `cache` while fresh;
    /// otherwise runs `fetch` once for all concurrent callers, detached, within the
    /// custodian's own timeout, and waits for it only as long as the caller's deadline
    /// allows; on failure serves the last known good answer, marked stale.
    async fn cached_fetch<V, Fut>(
        &self,
        cache: &Cache<V>,
        key: String,
        ttl_ms: u64,
        upstream: &Arc<Upstream>,
        ctx: RequestContext,
        fetch: impl FnOnce(Arc<Upstream>) -> Fut,
    ) -> Served<V>
    where
        V: Send + Sync + 'static,
        Fut: Future<Output = Fetched<V>> + Send + 'static,
    {
        let policy = self
            .policy(ttl_ms, ctx)
            .with_known_failure(upstream.last_failure());
        let up = upstream.clone();
        cache
            .get(&key, policy, ctx.deadline.remaining(), move || {
                fetch(up).boxed()
            })
            .await
    }

    /// The merged catalogue: every custodian's snapshot, fetched concurrently where not
    /// fresh, merged and indexed (the merge is reused until a snapshot changes).
    pub async fn catalogue(&self, ctx: RequestContext) -> CatalogueView {
        let served = fan_out(&self.upstreams, |up| async move {
            let ttl = self.cache_config.catalogue_ttl_ms;
            let key = up.id.clone();
            self.cached_fetch(&self.snapshots, key, ttl, &up, ctx, Upstream::snapshot)
                .await
        })
        .await;
        let mut outcomes = Vec::with_capacity(served.len());
        let mut provenance = HashMap::new();
        let mut key = Vec::new();
        for (up, s) in &served {
            outcomes.push(outcome::outcome(&up.id, s));
            if let Some(p) = outcome::provenance(&up.id, s) {
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
        self.merged.get_or_merge(key, || {
            let provenances: Vec<_> = served
                .iter()
                .filter_map(|(up, s)| Some((up, outcome::provenance(&up.id, s)?, s.cached()?)))
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
            merge::merge(&contributions).apply_national_rules(&self.national_rules)
        })
    }

    /// GetDataSource: the owner's record, through the cache, with its effective route under
    /// the national rules.
    pub async fn data_source(
        &self,
        id: &str,
        ctx: RequestContext,
    ) -> Result<(MergedRecord, pb::CustodianOutcome), RequestError> {
        let owner = self.owner(id)?.clone();
        let served = self
            .record(&self.sources, &owner, id, ctx, Upstream::data_source)
            .await;
        let outcome = outcome::outcome(&owner.id, &served);
        let provenance = outcome::provenance(&owner.id, &served);
        match (served, provenance) {
            (Served::Live(c, _) | Served::Cached(c) | Served::Stale(c, _), Some(p)) => {
                let mut source = c.value.clone();
                source.custodian_id = owner.id.clone();
                let effective_route =
                    Some(merge::effective_route_of(&source, &self.national_rules));
                let record = MergedRecord {
                    source,
                    provenance: p,
                    effective_route,
                };
                Ok((record, outcome))
            }
            (Served::Failed(f), _) => Err(leg_failure_to_error(&owner.id, "data source", id, &f)),
            (_, None) => Err(RequestError::Unavailable(format!(
                "custodian `{}` gave no answer for `{id}`",
                owner.id
            ))),
        }
    }

    /// A record about data source `id` from its owner, through `cache` (keyed by owner and
    /// id, with the record TTL).
    async fn record<V, Fut>(
        &self,
        cache: &Cache<V>,
        owner: &Arc<Upstream>,
        id: &str,
        ctx: RequestContext,
        fetch: impl FnOnce(Arc<Upstream>, String) -> Fut,
    ) -> Served<V>
    where
        V: Send + Sync + 'static,
        Fut: Future<Output = Fetched<V>> + Send + 'static,
    {
        let (key, id) = (format!("{}/{id}", owner.id), id.to_string());
        let ttl = self.cache_config.record_ttl_ms;
        self.cached_fetch(cache, key, ttl, owner, ctx, |up| fetch(up, id))
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
        let key = format!(
            "{}/{}/{}/{}",
            owner.id, req.data_source_id, req.page_size, req.page_token
        );
        let ttl = self.cache_config.record_ttl_ms;
        let request = req.clone();
        let served = self
            .cached_fetch(&self.variable_pages, key, ttl, &owner, ctx, |up| {
                up.variable_page(request)
            })
            .await;
        let outcome = outcome::outcome(&owner.id, &served);
        match (outcome::provenance(&owner.id, &served), served) {
            (Some(p), Served::Live(c, _) | Served::Cached(c) | Served::Stale(c, _)) => {
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
        let served = fan_out(&targets, |up| {
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
            let ttl = self.cache_config.search_ttl_ms;
            async move {
                self.cached_fetch(&self.variable_searches, key, ttl, &up, ctx, |up| {
                    up.search_variables(message)
                })
                .await
            }
        })
        .await;
        let mut outcomes: BTreeMap<String, pb::CustodianOutcome> = self
            .upstreams
            .iter()
            .map(|u| (u.id.clone(), outcome::not_asked(&u.id)))
            .collect();
        let mut hits = Vec::new();
        let mut issues = Vec::new();
        let mut total = 0usize;
        for (up, s) in &served {
            outcomes.insert(up.id.clone(), outcome::outcome(&up.id, s));
            let (Some(cached), Some(provenance)) = (s.cached(), outcome::provenance(&up.id, s))
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

    /// PlanApplication: fetch facts, rules and (where variables are named) the variable list of
    /// every requested source from its owner, concurrently; [`planning::resolve`] the answers
    /// and [`planning::plan`] with the national rules. The plan's custodian outcomes are those
    /// of the facts and rules calls, the worse of the two per custodian.
    pub async fn plan(
        &self,
        req: &pb::PlanApplicationRequest,
        ctx: RequestContext,
    ) -> Result<pb::ApplicationPlan, RequestError> {
        let mut unowned = Vec::new();
        let mut owned = Vec::new();
        for id in planning::requested_source_ids(req) {
            match owner_of(&self.upstreams, &id) {
                Some(owner) => owned.push((owner.clone(), id)),
                None => unowned.push(id),
            }
        }
        let legs = owned.iter().map(|(owner, id)| async move {
            let (source, rules, variables) = futures::join!(
                self.record(&self.sources, owner, id, ctx, Upstream::data_source),
                self.record(&self.rules, owner, id, ctx, Upstream::access_rules),
                async {
                    if planning::wants_variables_of(req, id) {
                        Some(
                            self.record(
                                &self.variable_lists,
                                owner,
                                id,
                                ctx,
                                Upstream::all_variables,
                            )
                            .await,
                        )
                    } else {
                        None
                    }
                }
            );
            (owner.clone(), id.clone(), source, rules, variables)
        });
        let results = futures::future::join_all(legs).await;

        let mut outcomes: BTreeMap<String, pb::CustodianOutcome> = BTreeMap::new();
        let mut answers = Vec::with_capacity(results.len());
        for (owner, id, source, rules, variables) in results {
            for outcome in [
                outcome::outcome(&owner.id, &source),
                outcome::outcome(&owner.id, &rules),
            ] {
                let merged = match outcomes.remove(&owner.id) {
                    Some(previous) => outcome::worse(previous, outcome),
                    None => outcome,
                };
                outcomes.insert(owner.id.clone(), merged);
            }
            answers.push(SourceAnswers {
                custodian_id: owner.id.clone(),
                data_source_id: id,
                source: answer(&source),
                rules: answer(&rules),
                variables: variables.and_then(|v| v.cached().map(|c| c.value.clone())),
            });
        }
        let input = planning::resolve(req, unowned, answers);
        let mut plan = planning::plan(&input, &self.national_rules);
        plan.custodians = outcomes.into_values().collect();
        Ok(plan)
    }

    /// Probes every custodian now (ListCustodians with `refresh`). Each probe runs detached
    /// within the custodian's own timeout; the caller waits only as long as `deadline` allows.
    pub async fn probe_all(&self, deadline: Deadline) {
        fan_out(&self.upstreams, |up| async move {
            let probe = tokio::spawn(async move { up.facts().await });
            let _ = tokio::time::timeout(deadline.remaining(), probe).await;
        })
        .await;
    }
}

/// A custodian's answer as planning sees it: a value (live or cached), "not published", or none.
fn answer<V: Clone>(served: &Served<V>) -> Answer<V> {
    if let Some(c) = served.cached() {
        return Answer::Found(c.value.clone());
    }
    match served {
        Served::Failed(f)
            if matches!(
                f.error,
                LegError::Error {
                    code: Code::NotFound,
                    ..
                }
            ) =>
        {
            Answer::NotFound
        }
        _ => Answer::Unavailable,
    }
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
        LegError::CallerDeadline(_) => RequestError::Unavailable(format!(
            "custodian `{custodian}` had not answered when the request's deadline ended and nothing is cached for `{id}`; retry with a longer deadline (the custodian is still being asked, so a retry may be served from the cache)"
        )),
        LegError::Timeout(after) => RequestError::Unavailable(format!(
            "custodian `{custodian}` did not answer within {} ms and nothing is cached for `{id}`; retry later or with a longer deadline",
            after.as_millis()
        )),
        other => RequestError::Unavailable(format!(
            "custodian `{custodian}` {other}; nothing is cached for `{id}`; retry later"
        )),
    }
}
