//! Live updates in the federation: the caches a stored catalogue outdates, what a
//! custodian's watch stream or a poll brings (a change applied by fetching only what changed,
//! a resync after missed events, a whole catalogue fetched again), and the snapshot patch.

use std::{
    collections::{BTreeSet, HashMap},
    sync::Arc,
    time::Duration,
};

use futures::FutureExt;
use helsedata::{
    deadline::{Arrival, Deadline},
    proto as pb,
};

use super::{Federation, RequestContext};
use crate::{
    cache::StoreObserver,
    changes::{self, ChangeFeed},
    upstream::{Cache, Upstream, client::Snapshot},
};

/// The caches derived from custodians' catalogues (records, rules, variables), shared with
/// the federation's own fields, so that a change found when a catalogue is stored again can
/// forget what it outdated.
#[derive(Clone)]
pub(super) struct DerivedCaches {
    /// Watch events that arrived while nothing of their custodian was cached: the first
    /// catalogue stored is then recorded as that event (there is nothing to diff it with).
    pub(super) unanchored: Arc<std::sync::Mutex<HashMap<String, pb::CatalogueChange>>>,
    pub(super) sources: Cache<pb::DataSource>,
    pub(super) rules: Cache<pb::AccessRules>,
    pub(super) variable_pages: Cache<pb::ListVariablesResponse>,
    pub(super) variable_lists: Cache<Vec<pb::Variable>>,
    pub(super) variable_searches: Cache<pb::SearchVariablesResponse>,
}

impl DerivedCaches {
    /// Forgets what `custodian` served of the sources `change` names, and its variable
    /// searches: the next lookups fetch them.
    pub(super) fn forget(&self, custodian: &str, change: &pb::CatalogueChange) {
        let touched = change.new_record_ids().chain(&change.removed_ids);
        for id in touched {
            let key = format!("{custodian}/{id}");
            self.sources.remove(&key);
            self.rules.remove(&key);
            self.variable_lists.remove(&key);
            self.variable_pages.remove_prefix(&format!("{key}/"));
        }
        self.variable_searches
            .remove_prefix(&format!("{custodian}/"));
    }

    pub(super) fn unanchored(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, pb::CatalogueChange>> {
        self.unanchored
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The observer of the catalogue snapshots: each time a custodian's catalogue is stored
    /// in place of another of a different revision (or of no revision), the two are diffed;
    /// a difference forgets the outdated records and is recorded in the change feed. The
    /// first catalogue of a custodian is the starting point, not a change, unless a watch
    /// event announced it (then that event is recorded).
    pub(super) fn snapshot_observer(self, feed: Arc<ChangeFeed>) -> StoreObserver<Snapshot> {
        Arc::new(move |custodian, previous, current| {
            let announced = self.unanchored().remove(custodian);
            let change = match previous {
                None => match announced {
                    Some(change) if change.catalogue_revision == current.revision => change,
                    _ => return,
                },
                Some(previous) => {
                    if !current.revision.is_empty() && previous.revision == current.revision {
                        return;
                    }
                    let Some(change) = changes::diff_catalogues(
                        &previous.revision,
                        &previous.value.sources,
                        &current.revision,
                        &current.value.sources,
                    ) else {
                        return;
                    };
                    change
                }
            };
            self.forget(custodian, &change);
            tracing::info!(
                custodian = %custodian,
                revision = %change.catalogue_revision,
                added = change.added_ids.len(),
                changed = change.changed_ids.len(),
                removed = change.removed_ids.len(),
                "custodian catalogue changed"
            );
            feed.record_transition(custodian, &change, &current.value.sources);
        })
    }
}

impl Federation {
    /// After a watch stream (re)opened at `revision`: if the cached catalogue of `up` is of
    /// another revision, changes were missed while the stream was down, so its records are
    /// forgotten and its catalogue fetched again (the change feed records what differs).
    pub async fn resync(&self, up: &Arc<Upstream>, revision: &str) {
        let prefix = format!("{}/", up.id);
        self.sources.remove_prefix_except(&prefix, revision);
        self.rules.remove_prefix_except(&prefix, revision);
        self.variable_lists.remove_prefix_except(&prefix, revision);
        self.variable_pages.remove_prefix_except(&prefix, revision);
        self.variable_searches
            .remove_prefix_except(&prefix, revision);
        if let Some(cached) = self.snapshots.peek(&up.id)
            && cached.revision != revision
        {
            self.refresh_snapshot(up).await;
        }
    }

    /// One poll of a custodian without a watch stream, each catalogue time to live: its
    /// revision is confirmed (one GetCustodianInfo) and its catalogue fetched again only
    /// when the revision moved; a change found is recorded in the change feed.
    pub async fn poll_catalogue(&self, up: &Arc<Upstream>) {
        let ctx = RequestContext {
            arrival: Arrival(tokio::time::Instant::now()),
            deadline: Deadline::after(up.timeout),
            bypass_cache: true,
            revalidate: true,
        };
        let ttl = self.cache_config.catalogue_ttl_ms;
        let _ = self
            .cached_fetch(&self.snapshots, &up.id, ttl, up, ctx, |up| {
                up.snapshot(None)
            })
            .await;
    }

    /// The catalogue time to live: how often a custodian without a watch stream is polled.
    pub fn catalogue_ttl(&self) -> Duration {
        Duration::from_millis(self.cache_config.catalogue_ttl_ms)
    }

    /// A change announced by `up`'s watch stream: forgets the cached records of the sources
    /// that changed (and the custodian's variable searches), and brings its cached catalogue
    /// to the new revision by fetching only the added and changed sources (the whole
    /// catalogue when the cached one is not the revision the change follows). Storing it
    /// records the change in the feed (see [`DerivedCaches::snapshot_observer`]).
    pub async fn apply_change(&self, up: &Arc<Upstream>, change: &pb::CatalogueChange) {
        self.derived.forget(&up.id, change);
        tracing::debug!(
            custodian = %up.id,
            revision = %change.catalogue_revision,
            "the custodian's watch stream announced a change"
        );
        self.bring_snapshot_to(up, change).await;
    }

    async fn bring_snapshot_to(&self, up: &Arc<Upstream>, change: &pb::CatalogueChange) {
        let cached = match self.snapshots.peek(&up.id) {
            Some(cached) => cached,
            // Nothing cached yet: fetch it now; storing it records this change in the feed
            // (there is nothing to diff it with).
            None => {
                self.derived
                    .unanchored()
                    .insert(up.id.clone(), change.clone());
                return self.refresh_snapshot(up).await;
            }
        };
        if cached.revision == change.catalogue_revision {
            return;
        }
        if cached.revision == change.previous_revision
            && let Some(patched) = patch_snapshot(up, &cached.value, change).await
        {
            self.snapshots
                .put(&up.id, patched, change.catalogue_revision.clone());
            return;
        }
        self.refresh_snapshot(up).await;
    }

    /// Fetches `up`'s whole catalogue again into the cache.
    async fn refresh_snapshot(&self, up: &Arc<Upstream>) {
        let policy = self
            .policy(
                self.cache_config.catalogue_ttl_ms,
                RequestContext {
                    arrival: Arrival(tokio::time::Instant::now()),
                    deadline: Deadline::after(up.timeout),
                    bypass_cache: true,
                    revalidate: false,
                },
            )
            .with_known_failure(None);
        let fetching = up.clone();
        let _ = self
            .snapshots
            .get(&up.id, policy, up.timeout, move || {
                fetching.snapshot(None).boxed()
            })
            .await;
    }
}

/// At most this many added and changed sources are fetched one by one; more, and the whole
/// catalogue is fetched again (fewer calls).
const PATCH_LIMIT: usize = 32;

/// `snapshot` brought to the revision of `change` by fetching its added and changed sources
/// and dropping its removed ones; `None` when any fetch fails or the custodian moved on to
/// yet another revision meanwhile (then the whole catalogue is fetched instead).
async fn patch_snapshot(
    up: &Arc<Upstream>,
    snapshot: &Snapshot,
    change: &pb::CatalogueChange,
) -> Option<Snapshot> {
    let wanted: Vec<String> = change.new_record_ids().cloned().collect();
    if wanted.len() > PATCH_LIMIT {
        return None;
    }
    let fetched =
        futures::future::join_all(wanted.iter().map(|id| up.clone().data_source(id.clone()))).await;
    let (info, revision) = up.facts().await.ok()?;
    if revision != change.catalogue_revision {
        return None;
    }
    let replaced: BTreeSet<&str> = change.old_record_ids().map(String::as_str).collect();
    let mut sources: Vec<pb::DataSource> = snapshot
        .sources
        .iter()
        .filter(|s| !replaced.contains(s.id.as_str()))
        .cloned()
        .collect();
    for source in fetched {
        sources.push(source.ok()?.0);
    }
    sources.sort_by(|a, b| a.id.cmp(&b.id));
    Some(Snapshot {
        info,
        sources: Arc::new(sources),
    })
}
