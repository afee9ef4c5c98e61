//! The merged catalogue as one request sees it: every custodian's catalogue, from the cache
//! while fresh and otherwise fetched concurrently, merged (the merge is reused while no
//! revision changes), with each custodian's outcome and the provenance of its records.

use std::{borrow::Cow, sync::Arc, time::Duration};

use tokio::time::Instant;

use helsedata::status::RequestError;

use super::{Federation, RequestContext};
use crate::{
    catalogue::{
        CatalogueView, MergeFailed, MergedCatalogue, Outcome, Provenance, Provenances,
        merge::{self, Contribution},
    },
    fanout::fan_out,
    upstream::{Served, Upstream, client::Snapshot, outcome},
};

impl Federation {
    /// The merged catalogue: every custodian's snapshot, fetched concurrently where not
    /// fresh, merged and indexed (the merge is reused until a snapshot changes).
    pub async fn catalogue(&self, ctx: RequestContext) -> Result<CatalogueView, MergeFailed> {
        // One clock read for every custodian's freshness and the ages the answer states.
        let now = Instant::now();
        let (served, now) = match self.every_catalogue_fresh(ctx, now) {
            Some(served) => (served, now),
            None => (self.fetch_catalogues(ctx).await, Instant::now()),
        };
        self.view(&served, now).await
    }

    /// Every custodian's cached catalogue, when each is fresh and the request may be served
    /// from the cache: then nothing is to be fetched, and no fan-out is made (the G_hit
    /// profile counted 5,000 instructions in one for 4 custodians). Each is counted as
    /// [`Self::cached_fetch`] counts an answer.
    fn every_catalogue_fresh(
        &self,
        ctx: RequestContext,
        now: Instant,
    ) -> Option<Vec<(Arc<Upstream>, Served<Snapshot>)>> {
        if ctx.bypass_cache {
            return None;
        }
        let ttl = Duration::from_millis(self.cache_config.catalogue_ttl_ms);
        let served = self
            .upstreams
            .iter()
            .map(|up| {
                Some((
                    up.clone(),
                    Served::Cached(self.snapshots.fresh(&up.id, ttl, now)?),
                ))
            })
            .collect::<Option<Vec<_>>>()?;
        for (up, s) in &served {
            self.snapshots.count(s);
            up.answers().served_at(s, now);
        }
        Some(served)
    }

    /// Every custodian's catalogue, fetched concurrently where not fresh.
    async fn fetch_catalogues(
        &self,
        ctx: RequestContext,
    ) -> Vec<(Arc<Upstream>, Served<Snapshot>)> {
        fan_out(&self.upstreams, |up| async move {
            let ttl = self.cache_config.catalogue_ttl_ms;
            // A refetch shares the records of the snapshot held when the revision is the same.
            let fetch = |up: Arc<Upstream>| {
                let held = self.snapshots.peek(&up.id).map(|c| c.value.clone());
                up.snapshot(held)
            };
            self.cached_fetch(&self.snapshots, &up.id, ttl, &up, ctx, fetch)
                .await
        })
        .await
    }

    /// The merged catalogue as a request sees it, from the custodians' answers in `served`
    /// (the ages of cached answers taken at `now`).
    async fn view(
        &self,
        served: &[(Arc<Upstream>, Served<Snapshot>)],
        now: Instant,
    ) -> Result<CatalogueView, MergeFailed> {
        let mut outcomes = Vec::with_capacity(served.len());
        let mut provenance = Provenances::with_capacity(served.len());
        let mut key = Vec::with_capacity(served.len());
        for (up, s) in served {
            // Served from the cache, every answer says the same of the custodian but its
            // age: that is made once per cached catalogue.
            match (self.from_cache.of(&up.id, s), s) {
                (Some(said), Served::Cached(cached)) => {
                    provenance.insert(said.provenance().clone());
                    outcomes.push(Outcome::FromCache {
                        said,
                        age: cached.age_at(now),
                    });
                }
                _ => {
                    outcomes.push(outcome::outcome(&up.id, s).into());
                    if let Some(p) = outcome::provenance(&up.id, s) {
                        provenance.insert(Provenance::shared(p));
                    }
                }
            }
            if let Some(cached) = s.cached() {
                // The same revision means the same catalogue (the custodian contract), so a
                // refetch that brought nothing new reuses the merge; without a revision, every
                // fetch counts as new.
                let version = if cached.value.info.catalogue_revision.is_empty() {
                    Cow::Owned(format!("#{}", cached.generation))
                } else {
                    Cow::Borrowed(cached.value.info.catalogue_revision.as_str())
                };
                key.push((up.id.as_str(), version));
            }
        }
        let (catalogue, generation) = self.merge_memo(&key, served).await?;
        Ok(CatalogueView {
            catalogue,
            generation,
            outcomes,
            provenance,
        })
    }

    /// The catalogue a SearchDataSources with `query` is answered from: [`Self::catalogue`],
    /// or, while the search index of a new merge is being built, the newest merge whose index
    /// is ([`CatalogueView::answered_from`]). With none (the first merge), the search waits
    /// for the index until its deadline.
    pub async fn searchable(
        &self,
        ctx: RequestContext,
        query: &str,
    ) -> Result<CatalogueView, RequestError> {
        let view = self.catalogue(ctx).await?;
        if !view.catalogue.needs_index_for(query) {
            return Ok(view);
        }
        if let Some(earlier) = self.merged.indexed() {
            return Ok(view.answered_from(earlier));
        }
        view.catalogue.indexed_for(query, ctx.deadline).await?;
        Ok(view)
    }

    /// The merge of the custodians' answers in `served`, named by `key`: the memo's when
    /// `key` is unchanged, otherwise made on the blocking pool from the answers' records
    /// (shared, not copied).
    async fn merge_memo(
        &self,
        key: &[(&str, Cow<'_, str>)],
        served: &[(Arc<Upstream>, Served<Snapshot>)],
    ) -> Result<(Arc<MergedCatalogue>, u64), MergeFailed> {
        if let Some(held) = self.merged.get(key) {
            return Ok(held);
        }
        let inputs: Vec<_> = served
            .iter()
            .filter_map(|(up, s)| {
                Some((
                    up.clone(),
                    outcome::provenance(&up.id, s)?,
                    s.cached()?.clone(),
                ))
            })
            .collect();
        let rules = self.national_rules.clone();
        self.merged
            .get_or_merge(key, &self.concepts, move || {
                let contributions: Vec<Contribution<'_>> = inputs
                    .iter()
                    .map(|(up, provenance, cached)| Contribution {
                        custodian_id: &up.id,
                        ownership: &up.ownership,
                        sources: &cached.value.sources,
                        provenance,
                    })
                    .collect();
                merge::merge(&contributions).apply_national_rules(&rules)
            })
            .await
    }
}
