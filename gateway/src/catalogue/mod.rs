//! The merged catalogue: [`merge`] combines the custodians' snapshots (provenance on every
//! record, ownership enforced, duplicates reported); [`index`] searches, filters, ranks and
//! pages the result; this module keeps the merge until one of its inputs changes and
//! answers SearchDataSources from it with each custodian's current provenance, as a message
//! or as bytes assembled from the records' kept encodings ([`answer`]).

use std::{
    borrow::Cow,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use helsedata::{concepts::Vocabulary, paging, proto as pb, status::RequestError};
use tokio::sync::watch;

mod answer;
pub mod index;
pub mod merge;
mod outcomes;
mod provenances;

pub use index::{Hit, MergedCatalogue, SearchPage};
pub use outcomes::{FromCacheMemo, Outcome};
pub use provenances::{Provenance, Provenances};

/// The last merge and the inputs it was built from: `(custodian id, catalogue version)`
/// pairs, in custodian order; and the merge being made, if one is.
///
/// A merge (and the search index built after it) is made on tokio's blocking pool, never on
/// the task of the request that needs it: at national scale a merge takes about a second and
/// an index several, which would stall a worker thread and every request queued on it, and a
/// request's deadline could not end the wait. Requests that need the same inputs wait for the
/// one merge being made; a request whose deadline passes stops waiting, and the merge goes on
/// and is kept for the next.
#[derive(Default)]
pub struct MergeMemo {
    state: Arc<Mutex<MemoState>>,
}

type Key = Vec<(String, String)>;

#[derive(Default)]
struct MemoState {
    last: Option<Memo>,
    /// The newest merge whose search index is built.
    indexed: Option<Indexed>,
    making: Option<Making>,
    /// Numbers the merges in the order they were begun, so that a merge that ends after a
    /// later one does not replace it.
    begun: u64,
}

struct Memo {
    key: Key,
    catalogue: Arc<MergedCatalogue>,
    generation: u64,
    number: u64,
}

/// A merge whose search index is built: what free-text searches are answered from while
/// the index of a newer merge is being built.
#[derive(Clone)]
pub struct Indexed {
    /// The merged, indexed catalogue.
    pub catalogue: Arc<MergedCatalogue>,
    /// Its generation.
    pub generation: u64,
    number: u64,
}

struct Making {
    key: Key,
    /// Set once the merge is made; closed without a value if it failed.
    made: watch::Receiver<Option<(Arc<MergedCatalogue>, u64)>>,
}

/// A merge could not be made (its thread panicked, or the runtime is shutting down).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the merged catalogue could not be made; try again")]
pub struct MergeFailed;

impl From<MergeFailed> for RequestError {
    fn from(e: MergeFailed) -> Self {
        RequestError::Unavailable(e.to_string())
    }
}

fn same(held: &[(String, String)], key: &[(&str, Cow<'_, str>)]) -> bool {
    held.len() == key.len()
        && held
            .iter()
            .zip(key)
            .all(|((id, version), (asked_id, asked_version))| {
                id == asked_id && version == asked_version
            })
}

impl MemoState {
    /// The last merge and its generation, if it was made of the inputs named by `key`.
    fn held(&self, key: &[(&str, Cow<'_, str>)]) -> Option<(Arc<MergedCatalogue>, u64)> {
        let m = self.last.as_ref().filter(|m| same(&m.key, key))?;
        Some((m.catalogue.clone(), m.generation))
    }
}

impl MergeMemo {
    fn state(&self) -> MutexGuard<'_, MemoState> {
        // The state is only ever assigned whole values, so a panic elsewhere while it was
        // held cannot have left it half-changed.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The last merge and its generation (a fingerprint of `key`, which page tokens carry),
    /// if it was made of the inputs named by `key`. `key` is borrowed: a request whose inputs
    /// are those of the last merge copies nothing.
    pub fn get(&self, key: &[(&str, Cow<'_, str>)]) -> Option<(Arc<MergedCatalogue>, u64)> {
        self.state().held(key)
    }

    /// The newest merge whose search index is built, if any.
    pub fn indexed(&self) -> Option<Indexed> {
        self.state().indexed.clone()
    }

    /// The merged catalogue of the inputs named by `key`: [`Self::get`]'s, the one being made
    /// of them, or a new one from `merge`, made on the blocking pool and then indexed there
    /// (with the labels of `concepts`), and remembered.
    pub async fn get_or_merge(
        &self,
        key: &[(&str, Cow<'_, str>)],
        concepts: &Arc<Vocabulary>,
        merge: impl FnOnce() -> merge::Merged + Send + 'static,
    ) -> Result<(Arc<MergedCatalogue>, u64), MergeFailed> {
        let mut made = {
            let mut state = self.state();
            if let Some(held) = state.held(key) {
                return Ok(held);
            }
            // A merge whose thread failed has closed its channel: it is made again.
            match state
                .making
                .as_ref()
                .filter(|m| same(&m.key, key) && m.made.has_changed().is_ok())
            {
                Some(making) => making.made.clone(),
                None => {
                    state.begun += 1;
                    let number = state.begun;
                    let key: Key = key
                        .iter()
                        .map(|(id, version)| (id.to_string(), version.to_string()))
                        .collect();
                    let (tx, rx) = watch::channel(None);
                    state.making = Some(Making {
                        key: key.clone(),
                        made: rx.clone(),
                    });
                    let shared = Arc::clone(&self.state);
                    let concepts = concepts.clone();
                    tokio::task::spawn_blocking(move || {
                        let generation = paging::fingerprint(&key);
                        let catalogue = Arc::new(MergedCatalogue::new(merge(), concepts));
                        {
                            let mut state = shared.lock().unwrap_or_else(PoisonError::into_inner);
                            if state.making.as_ref().is_some_and(|m| m.key == key) {
                                state.making = None;
                            }
                            if state.last.as_ref().is_none_or(|m| m.number < number) {
                                state.last = Some(Memo {
                                    key,
                                    catalogue: catalogue.clone(),
                                    generation,
                                    number,
                                });
                            }
                        }
                        // Remembered first, so that no request after this one merges again.
                        let _ = tx.send(Some((catalogue.clone(), generation)));
                        // Listings are answered meanwhile; searches are answered from the
                        // last indexed merge (or wait, when there is none).
                        catalogue.build_index();
                        let mut state = shared.lock().unwrap_or_else(PoisonError::into_inner);
                        if state.indexed.as_ref().is_none_or(|i| i.number < number) {
                            state.indexed = Some(Indexed {
                                catalogue,
                                generation,
                                number,
                            });
                        }
                    });
                    rx
                }
            }
        };
        let made = made
            .wait_for(Option::is_some)
            .await
            .map_err(|_| MergeFailed)?;
        made.clone().ok_or(MergeFailed)
    }
}

/// The merged catalogue as served to one request.
#[derive(Debug)]
pub struct CatalogueView {
    /// The merged, indexed catalogue.
    pub catalogue: Arc<MergedCatalogue>,
    /// Identifies the merge, so that page tokens of another merge are refused.
    pub generation: u64,
    /// One outcome per custodian.
    pub outcomes: Vec<Outcome>,
    /// Provenance of each custodian's records in this answer (the merge may be older than
    /// the answers it was built from when their revisions did not change).
    pub provenance: Provenances,
}

impl CatalogueView {
    /// This view answered from `earlier`, a merge whose index is built, while this view's own
    /// is being built. Records of a custodian whose revision has changed since (or that
    /// publishes none) keep the provenance `earlier` gave them, marked stale; its outcome,
    /// like that of a custodian not in `earlier`, says what the answer holds of it.
    pub fn answered_from(mut self, earlier: Indexed) -> Self {
        let mut provenance = Provenances::default();
        for (id, held) in earlier.catalogue.provenances() {
            match self.provenance.remove(id) {
                Some(now)
                    if !now.catalogue_revision.is_empty()
                        && now.catalogue_revision == held.catalogue_revision =>
                {
                    provenance.insert(now);
                }
                _ => {
                    provenance.insert(Provenance::shared(pb::Provenance {
                        freshness: pb::Freshness::Stale as i32,
                        ..held.clone()
                    }));
                }
            }
        }
        for outcome in &mut self.outcomes {
            let id = outcome.custodian_id();
            let note = match provenance.get(id) {
                Some(p) if p.freshness == pb::Freshness::Stale as i32 => format!(
                    "this search holds its records of revision `{}`, from an earlier \
                     answer, while the search index of the current catalogue is being built",
                    p.catalogue_revision
                ),
                Some(_) => continue,
                None if self.provenance.contains_key(id) => "this search does not hold its \
                    records yet: the search index with them is still being built"
                    .to_string(),
                None => continue,
            };
            let outcome = outcome.to_mut();
            if outcome.message.is_empty() {
                outcome.message = note;
            } else {
                outcome.message = format!("{}; {note}", outcome.message);
            }
        }
        Self {
            catalogue: earlier.catalogue,
            generation: earlier.generation,
            outcomes: self.outcomes,
            provenance,
        }
    }

    /// SearchDataSources over this view. Each hit carries its custodian's provenance as of
    /// this request (fetch time, freshness), not that of the answer the merge was built from.
    pub fn search(
        self,
        req: &pb::SearchDataSourcesRequest,
    ) -> Result<pb::SearchDataSourcesResponse, RequestError> {
        let page = self.catalogue.search(req, self.generation)?;
        let results = page
            .hits
            .iter()
            .map(|hit| {
                let record = hit.record;
                let provenance = self
                    .provenance
                    .get(&record.provenance.custodian_id)
                    .map(|p| (**p).clone())
                    .unwrap_or_else(|| record.provenance.clone());
                record.to_federated(req.view, provenance, hit.score)
            })
            .collect();
        Ok(pb::SearchDataSourcesResponse {
            results,
            next_page_token: page.next_page_token,
            total_size: page.total as u32,
            custodians: self
                .outcomes
                .into_iter()
                .map(Outcome::into_message)
                .collect(),
            merge_issues: self.catalogue.issues().to_vec(),
            facets: page.facets.list.clone(),
        })
    }
}

impl CatalogueView {
    /// [`CatalogueView::search`], as the bytes of its answer, assembled from the encodings
    /// the merge keeps of its records (what the gRPC service sends).
    pub fn search_encoded(
        &self,
        req: &pb::SearchDataSourcesRequest,
    ) -> Result<helsedata::encoded::SearchDataSourcesAnswer, RequestError> {
        let page = self.catalogue.ranked_page(req, self.generation)?;
        Ok(answer::assemble(self, &page, req))
    }
}

/// A data source in the view the caller asked for: anything but the full view leaves out
/// the access rules.
pub fn in_view(mut source: pb::DataSource, view: i32) -> pb::DataSource {
    if view != pb::DataSourceView::Full as i32 {
        source.access_rules = None;
    }
    source
}

#[cfg(test)]
mod memo_tests {
    use std::{
        sync::atomic::{AtomicUsize, Ordering},
        time::Duration,
    };

    use super::*;

    #[tokio::test]
    async fn a_merge_is_made_off_the_request_task_once_for_every_request_that_needs_it() {
        let memo = Arc::new(MergeMemo::default());
        let concepts = Arc::new(Vocabulary::default());
        let merges = Arc::new(AtomicUsize::new(0));
        let (release, held) = std::sync::mpsc::channel::<()>();
        let held = Arc::new(Mutex::new(held));
        let ask = |memo: Arc<MergeMemo>| {
            let (concepts, merges, held) = (concepts.clone(), merges.clone(), held.clone());
            tokio::spawn(async move {
                let key = [("c1", Cow::Borrowed("r1"))];
                memo.get_or_merge(&key, &concepts, move || {
                    merges.fetch_add(1, Ordering::SeqCst);
                    // Released only by the test's task: on this single-threaded runtime it
                    // runs only if the merge does not hold the runtime's thread.
                    let released = held
                        .lock()
                        .map(|h| h.recv_timeout(Duration::from_secs(10)).is_ok())
                        .unwrap_or(false);
                    assert!(released, "the merge held the runtime's only thread");
                    merge::Merged::default()
                })
                .await
            })
        };
        let first = ask(memo.clone());
        let second = ask(memo.clone());
        tokio::time::sleep(Duration::from_millis(50)).await;
        release.send(()).expect("the merge is waiting");
        let (a, generation_a) = first.await.expect("joined").expect("merged");
        let (b, generation_b) = second.await.expect("joined").expect("merged");
        assert!(
            Arc::ptr_eq(&a, &b),
            "the second request waited for the first merge"
        );
        assert_eq!(generation_a, generation_b);
        assert_eq!(merges.load(Ordering::SeqCst), 1);
        let key = [("c1", Cow::Borrowed("r1"))];
        let (kept, _) = memo.get(&key).expect("remembered");
        assert!(Arc::ptr_eq(&kept, &a));
        // The index is built after the merge, on the blocking pool too.
        let mut indexed = None;
        for _ in 0..500 {
            indexed = memo.indexed();
            if indexed.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let indexed = indexed.expect("indexed after the merge");
        assert!(Arc::ptr_eq(&indexed.catalogue, &a));
        assert!(!a.needs_index_for("any words"));
        assert!(memo.get(&[("c1", Cow::Borrowed("r2"))]).is_none());
    }

    #[tokio::test]
    async fn a_merge_that_fails_is_refused_and_made_again_by_the_next_request() {
        let memo = MergeMemo::default();
        let concepts = Arc::new(Vocabulary::default());
        let key = [("c1", Cow::Borrowed("r1"))];
        let failed = memo
            .get_or_merge(&key, &concepts, || panic!("a merge that fails"))
            .await;
        assert!(matches!(failed, Err(MergeFailed)));
        assert!(matches!(
            RequestError::from(MergeFailed),
            RequestError::Unavailable(_)
        ));
        let (made, _) = memo
            .get_or_merge(&key, &concepts, merge::Merged::default)
            .await
            .expect("made again");
        assert!(made.records().is_empty());
    }
}

#[cfg(test)]
mod fallback_tests {
    use super::*;
    use crate::catalogue::merge::{Merged, MergedRecord};

    fn provenance(custodian: &str, revision: &str) -> pb::Provenance {
        pb::Provenance {
            custodian_id: custodian.into(),
            catalogue_revision: revision.into(),
            freshness: pb::Freshness::Live as i32,
            ..Default::default()
        }
    }

    fn record(id: &str, custodian: &str, revision: &str) -> MergedRecord {
        MergedRecord {
            source: pb::DataSource {
                id: id.into(),
                custodian_id: custodian.into(),
                ..Default::default()
            },
            provenance: provenance(custodian, revision),
            effective_route: None,
        }
    }

    fn outcome(custodian: &str) -> pb::CustodianOutcome {
        pb::CustodianOutcome {
            custodian_id: custodian.into(),
            status: pb::OutcomeStatus::Ok as i32,
            ..Default::default()
        }
    }

    #[test]
    fn a_search_answered_from_an_earlier_merge_says_whose_records_are_older_or_missing() {
        let earlier = Arc::new(MergedCatalogue::new(
            Merged {
                records: vec![
                    record("a-1", "a", "1"),
                    record("b-1", "b", "1"),
                    record("n-1", "n", ""),
                ],
                issues: vec![],
            },
            Arc::default(),
        ));
        earlier.build_index();
        let now = CatalogueView {
            catalogue: Arc::new(MergedCatalogue::default()),
            generation: 2,
            outcomes: ["a", "b", "c", "n"].map(|c| outcome(c).into()).to_vec(),
            provenance: [
                ("a", provenance("a", "1")),
                ("b", provenance("b", "2")),
                ("c", provenance("c", "1")),
                ("n", provenance("n", "")),
            ]
            .into_iter()
            .map(|(_, p)| p)
            .collect(),
        };
        let view = now.answered_from(Indexed {
            catalogue: earlier.clone(),
            generation: 1,
            number: 1,
        });
        assert!(Arc::ptr_eq(&view.catalogue, &earlier));
        assert_eq!(
            view.generation, 1,
            "page tokens bind to the merge answered from"
        );
        let held = |id: &str| {
            view.provenance
                .get(id)
                .unwrap_or_else(|| panic!("a provenance for {id}"))
        };
        let freshness = |id: &str| held(id).freshness;
        assert_eq!(freshness("a"), pb::Freshness::Live as i32, "same revision");
        assert_eq!(
            freshness("b"),
            pb::Freshness::Stale as i32,
            "revision changed"
        );
        assert_eq!(held("b").catalogue_revision, "1");
        assert_eq!(
            freshness("n"),
            pb::Freshness::Stale as i32,
            "no revision: not known to be the same"
        );
        assert!(!view.provenance.contains_key("c"));
        let message = |id: &str| {
            view.outcomes
                .iter()
                .find(|o| o.custodian_id() == id)
                .map(|o| o.clone().into_message().message)
                .unwrap_or_default()
        };
        assert_eq!(message("a"), "");
        assert!(message("b").contains("revision `1`"), "{}", message("b"));
        assert!(message("c").contains("does not hold its records yet"));
    }
}
