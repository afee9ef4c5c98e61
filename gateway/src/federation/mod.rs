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
    concepts::Vocabulary,
    contract::GATEWAY_SEARCH_VARIABLES_PAGE,
    deadline::{Arrival, Deadline},
    paging, proto as pb,
    reload::ReloadingTls,
    search,
    status::{FieldError, RequestError},
    tls::TlsError,
};
use tonic::Code;

mod catalogue;
mod live;

use live::DerivedCaches;

use crate::{
    catalogue::{
        FromCacheMemo, MergeMemo,
        merge::{self, MergedRecord},
    },
    changes::ChangeFeed,
    config::{CacheConfig, GatewayConfig, resolve_upstream},
    fanout::fan_out,
    metrics::GatewayMetrics,
    planning::{self, Answer, SourceAnswers, rules::NationalRules},
    upstream::{
        Cache, FetchFailure, LegError, Policy, Served, Upstream,
        client::{Fetched, Snapshot},
        deadline::counted_from,
        outcome, owner_of,
    },
    variable_cursors::{self, Cursor, Cursors},
};

/// How one request treats the cache.
#[derive(Debug, Clone, Copy)]
pub struct RequestContext {
    /// When the request arrived: the custodian calls made on its behalf are due their
    /// timeout from then.
    pub arrival: Arrival,
    /// When the answer is due (the caller's deadline less the headroom to send it).
    pub deadline: Deadline,
    /// Whether the caller asked to bypass fresh cache entries (`cache-control: no-cache`
    /// or `no-store`).
    pub bypass_cache: bool,
    /// With `bypass_cache`: whether a cached answer may be reused once its custodian
    /// confirms that its revision is unchanged (`no-cache`); otherwise everything is
    /// fetched again (`no-store`).
    pub revalidate: bool,
}

impl RequestContext {
    /// The context that `cache-control` values ask for (directives are case-insensitive
    /// and comma-separated; unknown ones are ignored).
    pub fn from_cache_control<'a>(
        arrival: Arrival,
        deadline: Deadline,
        values: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let (mut no_cache, mut no_store) = (false, false);
        for directive in values.into_iter().flat_map(|v| v.split(',')) {
            match directive.trim().to_ascii_lowercase().as_str() {
                "no-cache" => no_cache = true,
                "no-store" => no_store = true,
                _ => {}
            }
        }
        Self {
            arrival,
            deadline,
            bypass_cache: no_cache || no_store,
            revalidate: no_cache && !no_store,
        }
    }
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
    /// Revision confirmations (`cache-control: no-cache`): concurrent ones share one call.
    revisions: Cache<pb::CustodianInfo>,
    merged: MergeMemo,
    /// What the answers served from each custodian's cached catalogue say of it.
    from_cache: FromCacheMemo,
    national_rules: Arc<NationalRules>,
    changes: Arc<ChangeFeed>,
    derived: DerivedCaches,
    concepts: Arc<Vocabulary>,
    metrics: Arc<GatewayMetrics>,
}

impl Federation {
    /// Builds the upstreams (channels connect lazily).
    pub fn new(
        config: &GatewayConfig,
        tls: &Arc<ReloadingTls>,
        national_rules: Arc<NationalRules>,
        concepts: Arc<Vocabulary>,
        health: Option<tonic_health::server::HealthReporter>,
    ) -> Result<Self, TlsError> {
        let metrics = Arc::new(GatewayMetrics::default());
        let upstreams = config
            .custodians
            .iter()
            .map(|c| {
                let settings = resolve_upstream(&config.defaults, c);
                Upstream::new(c, &settings, tls, health.clone())
                    .map(|u| Arc::new(u.with_metrics(metrics.clone())))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let changes = Arc::new(ChangeFeed::new(config.cache.change_generations));
        let derived = DerivedCaches {
            unanchored: Arc::default(),
            sources: Cache::counted(metrics.cache("sources")),
            rules: Cache::counted(metrics.cache("rules")),
            variable_pages: Cache::counted(metrics.cache("variable_pages")),
            variable_lists: Cache::counted(metrics.cache("variable_lists")),
            variable_searches: Cache::counted(metrics.cache("variable_searches")),
        };
        Ok(Self {
            upstreams,
            cache_config: config.cache.clone(),
            snapshots: Cache::observed_and_counted(
                derived.clone().snapshot_observer(changes.clone()),
                Some(metrics.cache("snapshots")),
            ),
            sources: derived.sources.clone(),
            rules: derived.rules.clone(),
            variable_pages: derived.variable_pages.clone(),
            variable_lists: derived.variable_lists.clone(),
            variable_searches: derived.variable_searches.clone(),
            revisions: Cache::counted(metrics.cache("revisions")),
            merged: MergeMemo::default(),
            from_cache: FromCacheMemo::default(),
            national_rules,
            changes,
            derived,
            concepts,
            metrics,
        })
    }

    /// The gateway's metrics (custodian calls and answers, ejections, the cache).
    pub fn metrics(&self) -> &Arc<GatewayMetrics> {
        &self.metrics
    }

    /// The configured custodians.
    pub fn upstreams(&self) -> &[Arc<Upstream>] {
        &self.upstreams
    }

    /// The change feed of the merged catalogue.
    pub fn changes(&self) -> &Arc<ChangeFeed> {
        &self.changes
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
    ///
    /// With `cache-control: no-cache` a cached answer is revalidated: the custodian's
    /// revision is confirmed with one GetCustodianInfo (shared by concurrent callers) and
    /// the answer is reused, as live, when it came from that revision; only a changed
    /// custodian is asked again. `no-store` asks again whatever the revision.
    ///
    /// Every answer served is counted and noted in the request's audit record.
    async fn cached_fetch<V, Fut>(
        &self,
        cache: &Cache<V>,
        key: &str,
        ttl_ms: u64,
        upstream: &Arc<Upstream>,
        ctx: RequestContext,
        fetch: impl FnOnce(Arc<Upstream>) -> Fut,
    ) -> Served<V>
    where
        V: Send + Sync + 'static,
        Fut: Future<Output = Fetched<V>> + Send + 'static,
    {
        let held = (ctx.bypass_cache && ctx.revalidate)
            .then(|| cache.peek(key))
            .flatten()
            .filter(|entry| !entry.revision.is_empty());
        let revalidated = match held {
            Some(entry) => self.revalidated(entry, ttl_ms, upstream, ctx).await,
            None => None,
        };
        let served = match revalidated {
            Some(served) => served,
            None => {
                let policy = self
                    .policy(ttl_ms, ctx)
                    .with_known_failure(upstream.last_failure());
                let up = upstream.clone();
                cache
                    .get(key, policy, ctx.deadline.remaining(), move || {
                        counted_from(ctx.arrival.0, fetch(up)).boxed()
                    })
                    .await
            }
        };
        upstream.answers().served(&served);
        served
    }

    /// With `no-cache`, the cached `entry` when the custodian confirms its revision (or,
    /// when it cannot be asked, `entry` as stale while it may be served); `None` when the
    /// custodian must be asked again.
    async fn revalidated<V>(
        &self,
        entry: Arc<crate::cache::Cached<V>>,
        ttl_ms: u64,
        upstream: &Arc<Upstream>,
        ctx: RequestContext,
    ) -> Option<Served<V>> {
        let started = tokio::time::Instant::now();
        match self.confirm_revision(upstream, ctx).await {
            Ok(revision) if revision == entry.revision => {
                Some(Served::Live(entry, started.elapsed()))
            }
            Ok(_) => None,
            Err(failure) => {
                let max = Duration::from_millis(ttl_ms + self.cache_config.max_stale_ms);
                Some(if entry.age() < max {
                    Served::Stale(entry, failure)
                } else {
                    Served::Failed(failure)
                })
            }
        }
    }

    /// The custodian's revision now, asked once for all concurrent callers.
    async fn confirm_revision(
        &self,
        upstream: &Arc<Upstream>,
        ctx: RequestContext,
    ) -> Result<String, FetchFailure> {
        let up = upstream.clone();
        let policy = Policy {
            ttl: Duration::ZERO,
            max_stale: Duration::ZERO,
            bypass: true,
            known_failure: None,
        };
        let served = self
            .revisions
            .get(&upstream.id, policy, ctx.deadline.remaining(), move || {
                counted_from(ctx.arrival.0, async move { up.facts().await }).boxed()
            })
            .await;
        match served {
            Served::Live(info, _) | Served::Cached(info) => Ok(info.revision.clone()),
            Served::Stale(_, failure) | Served::Failed(failure) => Err(failure),
        }
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
            (Served::Failed(f), _) => match self.served_from_stale_snapshot(&owner, id, &f) {
                Some(served) => Ok(served),
                None => Err(leg_failure_to_error(&owner.id, "data source", id, &f)),
            },
            (_, None) => Err(RequestError::Unavailable(format!(
                "custodian `{}` gave no answer for `{id}`",
                owner.id
            ))),
        }
    }

    /// GetDataSource when the owner gave no answer and no record of `id` is cached: the
    /// source as the owner's cached catalogue snapshot has it, served marked stale (its
    /// provenance and outcome say so and how old it is), within the same staleness limit as
    /// the merged catalogue's. Nothing when the owner answered (a not-found is a fact) or the
    /// snapshot does not have the source.
    fn served_from_stale_snapshot(
        &self,
        owner: &Arc<Upstream>,
        id: &str,
        failure: &FetchFailure,
    ) -> Option<(MergedRecord, pb::CustodianOutcome)> {
        if failure.error.is_answer() {
            return None;
        }
        let snapshot = self.snapshots.peek(&owner.id)?;
        let max_age = Duration::from_millis(
            self.cache_config.catalogue_ttl_ms + self.cache_config.max_stale_ms,
        );
        if snapshot.age() >= max_age {
            return None;
        }
        let mut source = snapshot.value.sources.iter().find(|s| s.id == id)?.clone();
        source.custodian_id = owner.id.clone();
        let served = Served::Stale(snapshot, failure.clone());
        let provenance = outcome::provenance(&owner.id, &served)?;
        let effective_route = Some(merge::effective_route_of(&source, &self.national_rules));
        Some((
            MergedRecord {
                source,
                provenance,
                effective_route,
            },
            outcome::outcome(&owner.id, &served),
        ))
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
        self.cached_fetch(cache, &key, ttl, owner, ctx, |up| fetch(up, id))
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
            .cached_fetch(&self.variable_pages, &key, ttl, &owner, ctx, |up| {
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

    /// SearchVariables across every custodian (or those owning the requested sources), paged
    /// with one composite token that holds each custodian's own cursor
    /// ([`crate::variable_cursors`]): pages go as deep as the custodians' hits do.
    pub async fn search_variables(
        &self,
        req: &pb::SearchVariablesRequest,
        ctx: RequestContext,
    ) -> Result<pb::FederatedSearchVariablesResponse, RequestError> {
        let terms = search::terms(&req.query);
        let size = paging::check_page_size(req.page_size, GATEWAY_SEARCH_VARIABLES_PAGE)?;
        let fingerprint = paging::fingerprint(&(&terms, &req.data_source_ids, size));
        let targets: Vec<Arc<Upstream>> = self
            .upstreams
            .iter()
            .filter(|u| {
                req.data_source_ids.is_empty()
                    || req.data_source_ids.iter().any(|id| u.ownership.owns(id))
            })
            .cloned()
            .collect();
        let mut cursors = if req.page_token.is_empty() {
            let ids: Vec<&str> = targets.iter().map(|u| u.id.as_str()).collect();
            Cursors::first_page(fingerprint, size, &ids)
        } else {
            Cursors::decode(&req.page_token, fingerprint, size)?
        };
        let asked: Vec<Arc<Upstream>> = cursors
            .cursors
            .iter()
            .filter(|c| !c.pages_to_read().is_empty())
            .filter_map(|c| targets.iter().find(|u| u.id == c.custodian_id).cloned())
            .collect();
        let query = terms.join(" ");
        let served = fan_out(&asked, |up| {
            let pages = cursors
                .cursors
                .iter()
                .find(|c| c.custodian_id == up.id)
                .map(Cursor::pages_to_read)
                .unwrap_or_default();
            let query = query.clone();
            async move {
                let mut answers = Vec::with_capacity(pages.len());
                for page_token in pages {
                    let message = pb::SearchVariablesRequest {
                        query: query.clone(),
                        page_size: size as i32,
                        page_token,
                        data_source_ids: req
                            .data_source_ids
                            .iter()
                            .filter(|id| up.ownership.owns(id))
                            .cloned()
                            .collect(),
                    };
                    let key = format!(
                        "{}/{}/{}/{}/{size}",
                        up.id,
                        message.query,
                        message.data_source_ids.join(","),
                        message.page_token
                    );
                    let ttl = self.cache_config.search_ttl_ms;
                    answers.push(
                        self.cached_fetch(&self.variable_searches, &key, ttl, &up, ctx, |up| {
                            up.search_variables(message)
                        })
                        .await,
                    );
                }
                answers
            }
        })
        .await;
        let mut outcomes: BTreeMap<String, pb::CustodianOutcome> = self
            .upstreams
            .iter()
            .map(|u| (u.id.clone(), outcome::not_asked(&u.id)))
            .collect();
        let mut provenances: HashMap<String, pb::Provenance> = HashMap::new();
        let mut read: Vec<Option<variable_cursors::PagesRead>> = vec![None; cursors.cursors.len()];
        let mut total = 0usize;
        for (up, answers) in &served {
            let Some(i) = cursors.cursors.iter().position(|c| c.custodian_id == up.id) else {
                continue;
            };
            let mut pages = Vec::with_capacity(answers.len());
            for answer in answers {
                outcomes.insert(up.id.clone(), outcome::outcome(&up.id, answer));
                match (answer.cached(), outcome::provenance(&up.id, answer)) {
                    (Some(cached), Some(provenance)) => {
                        provenances.insert(up.id.clone(), provenance);
                        pages.push(cached.value.clone());
                    }
                    _ => break,
                }
            }
            if pages.len() == answers.len() {
                total += pages.first().map_or(0, |p| p.total_size as usize);
                read[i] = Some(pages);
            }
        }
        let mut issues = Vec::new();
        let mut hits = Vec::new();
        for (i, hit) in variable_cursors::next_page(&mut cursors, &read) {
            let custodian = &cursors.cursors[i].custodian_id;
            let Some(variable) = &hit.variable else {
                continue;
            };
            let owns = targets
                .iter()
                .find(|u| &u.id == custodian)
                .is_some_and(|u| u.ownership.owns(&variable.data_source_id));
            if !owns {
                issues.push(not_owned_variable(custodian, variable));
                continue;
            }
            hits.push(pb::FederatedVariableHit {
                variable: Some(variable.clone()),
                score: hit.score,
                provenance: provenances.get(custodian).cloned(),
            });
        }
        Ok(pb::FederatedSearchVariablesResponse {
            hits,
            next_page_token: cursors.encode(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn context(values: &[&str]) -> (bool, bool) {
        let ctx = RequestContext::from_cache_control(
            Arrival(tokio::time::Instant::now()),
            Deadline::after(Duration::from_secs(1)),
            values.iter().copied(),
        );
        (ctx.bypass_cache, ctx.revalidate)
    }

    #[test]
    fn cache_control_directives_choose_revalidation_or_a_full_refetch() {
        assert_eq!(context(&[]), (false, false));
        assert_eq!(context(&["max-age=60"]), (false, false));
        assert_eq!(context(&["No-Cache"]), (true, true));
        assert_eq!(context(&["max-age=0, no-cache"]), (true, true));
        assert_eq!(context(&["no-store"]), (true, false));
        assert_eq!(context(&["no-cache", "no-store"]), (true, false));
    }
}
