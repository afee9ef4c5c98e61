//! The change feed for consumers: every data source added, changed or removed at a
//! custodian, in the order the gateway learnt of it, with resume tokens.
//!
//! Each custodian revision the gateway applies is one generation of the merged catalogue;
//! the feed keeps the last `cache.change_generations` of them (older ones are dropped, so
//! memory stays bounded). What changed is found in one place, [`diff_catalogues`], by
//! comparing a custodian's catalogue as the gateway held it with the one that replaces it,
//! however the gateway learnt of the new one: a watch stream's event, a catalogue fetched
//! again when its time to live ran out, or a revalidation (`cache-control: no-cache`) that
//! found a new revision. So a custodian without a watch stream, or an event missed while a
//! stream was down, still shows in the feed, and a change seen both ways is recorded once. A resume token names the gateway run and the last change seen; a
//! token older than the retained history, or from another gateway run, is refused with
//! `FAILED_PRECONDITION` telling the consumer to resync.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    sync::{Arc, Mutex},
    time::SystemTime,
};

use futures::Stream;
use helsedata::{
    proto::{self as pb, source_change::Kind},
    status::RequestError,
};
use tokio::sync::watch;
use tonic::Status;

/// Changes returned by one WatchChanges read of the retained history.
const WATCH_BATCH: usize = 100;

struct Entry {
    seq: u64,
    change: Arc<pb::SourceChange>,
}

#[derive(Default)]
struct History {
    entries: VecDeque<Entry>,
    /// Per retained generation: how many entries it has.
    generations: VecDeque<usize>,
    /// The highest sequence number dropped (0: none yet).
    dropped_through: u64,
    /// The highest sequence number given.
    last: u64,
}

/// The retained change history and its followers.
pub struct ChangeFeed {
    run: u64,
    retained_generations: usize,
    history: Mutex<History>,
    newest: watch::Sender<u64>,
    closed: watch::Sender<bool>,
}

impl ChangeFeed {
    /// A feed that keeps the last `retained_generations` generations (at least one).
    pub fn new(retained_generations: usize) -> Self {
        use std::hash::{BuildHasher, RandomState};
        Self {
            run: RandomState::new().hash_one(SystemTime::now()) >> 16,
            retained_generations: retained_generations.max(1),
            history: Mutex::new(History::default()),
            newest: watch::channel(0).0,
            closed: watch::channel(false).0,
        }
    }

    fn history(&self) -> std::sync::MutexGuard<'_, History> {
        self.history
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn token(&self, seq: u64) -> String {
        format!("{:x}.{seq:x}", self.run)
    }

    /// The sequence number a resume token stands for (empty: the oldest retained).
    fn resume_point(&self, history: &History, since: &str) -> Result<u64, RequestError> {
        if since.is_empty() {
            return Ok(history.dropped_through);
        }
        let resync = |why: &str| RequestError::FailedPrecondition {
            kind: "RESUME_TOKEN_NOT_RETAINED",
            subject: "since",
            message: format!(
                "the resume token {why}; resync: read the catalogue again (SearchDataSources), then follow ListChanges from an empty token"
            ),
        };
        let (run, seq) = since
            .split_once('.')
            .and_then(|(run, seq)| {
                Some((
                    u64::from_str_radix(run, 16).ok()?,
                    u64::from_str_radix(seq, 16).ok()?,
                ))
            })
            .ok_or_else(|| {
                RequestError::from(helsedata::status::FieldError::new(
                    "since",
                    "since is not a resume token of this gateway; pass a next_token or token unchanged, or leave it empty",
                ))
            })?;
        if run != self.run || seq > history.last {
            return Err(resync(
                "comes from another run of the gateway, whose history is gone",
            ));
        }
        if seq < history.dropped_through {
            return Err(resync(&format!(
                "is older than the history the gateway keeps (the last {} generations)",
                self.retained_generations
            )));
        }
        Ok(seq)
    }

    /// Records one generation: the change of `custodian_id` described by `change`, with the
    /// records at the new revision where the gateway has them.
    pub fn record(
        &self,
        custodian_id: &str,
        change: &pb::CatalogueChange,
        mut records: HashMap<String, pb::DataSource>,
    ) {
        let kinds = change
            .added_ids
            .iter()
            .map(|id| (Kind::Added, id))
            .chain(change.changed_ids.iter().map(|id| (Kind::Changed, id)))
            .chain(change.removed_ids.iter().map(|id| (Kind::Removed, id)));
        let at = Some(SystemTime::now().into());
        let mut history = self.history();
        let mut count = 0;
        for (kind, id) in kinds {
            history.last += 1;
            let seq = history.last;
            let change = pb::SourceChange {
                kind: kind as i32,
                data_source_id: id.clone(),
                custodian_id: custodian_id.to_string(),
                catalogue_revision: change.catalogue_revision.clone(),
                previous_revision: change.previous_revision.clone(),
                changed_at: at,
                token: self.token(seq),
                data_source: if kind == Kind::Removed {
                    None
                } else {
                    records.remove(id)
                },
            };
            history.entries.push_back(Entry {
                seq,
                change: Arc::new(change),
            });
            count += 1;
        }
        if count == 0 {
            return;
        }
        history.generations.push_back(count);
        while history.generations.len() > self.retained_generations {
            let dropped = history.generations.pop_front().unwrap_or(0);
            for _ in 0..dropped {
                if let Some(entry) = history.entries.pop_front() {
                    history.dropped_through = entry.seq;
                }
            }
        }
        let last = history.last;
        drop(history);
        self.newest.send_replace(last);
    }

    /// Records `change` (found by [`diff_catalogues`], with its revisions set) as one
    /// generation, with the records of its added and changed sources from `current`, the
    /// custodian's catalogue at the new revision.
    pub fn record_transition(
        &self,
        custodian_id: &str,
        change: &pb::CatalogueChange,
        current: &[pb::DataSource],
    ) {
        let wanted: HashSet<&str> = change.new_record_ids().map(String::as_str).collect();
        let records = current
            .iter()
            .filter(|s| wanted.contains(s.id.as_str()))
            .map(|s| {
                let mut source = s.clone();
                source.custodian_id = custodian_id.to_string();
                (s.id.clone(), source)
            })
            .collect();
        self.record(custodian_id, change, records);
    }

    /// Up to `limit` changes after the resume token `since`, and the token after them.
    fn after(
        &self,
        since: &str,
        limit: usize,
    ) -> Result<(Vec<Arc<pb::SourceChange>>, u64, bool), RequestError> {
        let history = self.history();
        let from = self.resume_point(&history, since)?;
        let changes: Vec<Arc<pb::SourceChange>> = history
            .entries
            .iter()
            .skip_while(|e| e.seq <= from)
            .take(limit)
            .map(|e| e.change.clone())
            .collect();
        let through = from + changes.len() as u64;
        Ok((changes, through, through == history.last))
    }

    /// ListChanges.
    pub fn list(&self, since: &str, limit: usize) -> Result<pb::ListChangesResponse, RequestError> {
        let (changes, through, caught_up) = self.after(since, limit)?;
        Ok(pb::ListChangesResponse {
            changes: changes.iter().map(|c| (**c).clone()).collect(),
            next_token: self.token(through),
            caught_up,
        })
    }

    /// GetDataSourceRevision: the record of `id` as of `revision` of its custodian: its
    /// latest retained change at or before the end of that revision's generation.
    pub fn as_of(&self, id: &str, revision: &str) -> Result<pb::SourceChange, RequestError> {
        let history = self.history();
        let not_retained = || {
            RequestError::NotFound {
            resource_type: "data source revision",
            name: format!("{id}@{revision}"),
            hint: "the change feed does not retain this source at this revision; use GetDataSource for the current record, or ListChanges for the revisions retained".into(),
        }
        };
        let custodian = history
            .entries
            .iter()
            .find(|e| e.change.data_source_id == id)
            .map(|e| e.change.custodian_id.clone())
            .ok_or_else(not_retained)?;
        let end = history
            .entries
            .iter()
            .filter(|e| {
                e.change.custodian_id == custodian && e.change.catalogue_revision == revision
            })
            .map(|e| e.seq)
            .max()
            .ok_or_else(not_retained)?;
        let latest = history
            .entries
            .iter()
            .rfind(|e| e.seq <= end && e.change.data_source_id == id)
            .ok_or_else(not_retained)?;
        if latest.change.kind == Kind::Removed as i32 {
            return Err(RequestError::NotFound {
                resource_type: "data source revision",
                name: format!("{id}@{revision}"),
                hint: format!(
                    "custodian `{custodian}` no longer published it at that revision (removed at {})",
                    latest.change.catalogue_revision
                ),
            });
        }
        if latest.change.data_source.is_none() {
            return Err(not_retained());
        }
        Ok((*latest.change).clone())
    }

    /// Ends every WatchChanges stream (at shutdown).
    pub fn close(&self) {
        self.closed.send_replace(true);
    }

    /// WatchChanges: the retained changes after `since`, then each new one. Checked at once:
    /// a refused token fails the call rather than the stream.
    pub fn watch(
        self: &Arc<Self>,
        since: &str,
    ) -> Result<impl Stream<Item = Result<pb::SourceChange, Status>> + Send + 'static, RequestError>
    {
        let cursor = {
            let history = self.history();
            self.resume_point(&history, since)?
        };
        let state = Following {
            feed: self.clone(),
            cursor: self.token(cursor),
            pending: VecDeque::new(),
            newest: self.newest.subscribe(),
            closed: self.closed.subscribe(),
        };
        Ok(futures::stream::unfold(state, |mut state| async move {
            loop {
                if *state.closed.borrow() {
                    return None;
                }
                if let Some(change) = state.pending.pop_front() {
                    state.cursor = change.token.clone();
                    return Some((Ok((*change).clone()), state));
                }
                match state.feed.after(&state.cursor, WATCH_BATCH) {
                    Ok((changes, _, _)) if !changes.is_empty() => {
                        state.pending.extend(changes);
                        continue;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        // Fell behind the retained history: say so once, then end.
                        state.closed = watch::channel(true).1;
                        return Some((Err(Status::from(e)), state));
                    }
                }
                tokio::select! {
                    changed = state.newest.changed() => if changed.is_err() { return None; },
                    _ = state.closed.changed() => return None,
                }
            }
        }))
    }
}

/// The ids added, changed and removed from `previous` (at `previous_revision`) to `current`
/// (at `revision`), each sorted; `None` when every source is the same. A source counts as
/// changed when any field of its record differs.
pub fn diff_catalogues(
    previous_revision: &str,
    previous: &[pb::DataSource],
    revision: &str,
    current: &[pb::DataSource],
) -> Option<pb::CatalogueChange> {
    let before: HashMap<&str, &pb::DataSource> =
        previous.iter().map(|s| (s.id.as_str(), s)).collect();
    let mut change = pb::CatalogueChange {
        catalogue_revision: revision.to_string(),
        previous_revision: previous_revision.to_string(),
        ..Default::default()
    };
    let mut seen = HashSet::with_capacity(current.len());
    for source in current {
        seen.insert(source.id.as_str());
        match before.get(source.id.as_str()) {
            None => change.added_ids.push(source.id.clone()),
            Some(old) if *old != source => change.changed_ids.push(source.id.clone()),
            Some(_) => {}
        }
    }
    change.removed_ids = previous
        .iter()
        .filter(|s| !seen.contains(s.id.as_str()))
        .map(|s| s.id.clone())
        .collect();
    if change.added_ids.is_empty() && change.changed_ids.is_empty() && change.removed_ids.is_empty()
    {
        return None;
    }
    change.added_ids.sort();
    change.changed_ids.sort();
    change.removed_ids.sort();
    Some(change)
}

struct Following {
    feed: Arc<ChangeFeed>,
    cursor: String,
    pending: VecDeque<Arc<pb::SourceChange>>,
    newest: watch::Receiver<u64>,
    closed: watch::Receiver<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(
        previous: &str,
        revision: &str,
        added: &[&str],
        changed: &[&str],
        removed: &[&str],
    ) -> pb::CatalogueChange {
        let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        pb::CatalogueChange {
            catalogue_revision: revision.into(),
            previous_revision: previous.into(),
            added_ids: ids(added),
            changed_ids: ids(changed),
            removed_ids: ids(removed),
            ..Default::default()
        }
    }

    fn record(id: &str, name: &str) -> (String, pb::DataSource) {
        (
            id.to_string(),
            pb::DataSource {
                id: id.into(),
                name: Some(pb::LocalizedText {
                    nb: name.into(),
                    en: name.into(),
                }),
                ..Default::default()
            },
        )
    }

    #[test]
    fn pages_resume_without_gaps_or_repeats() {
        let feed = ChangeFeed::new(10);
        feed.record(
            "fhi",
            &change("r1", "r2", &["a", "b"], &["c"], &["d"]),
            HashMap::from([record("a", "A"), record("b", "B"), record("c", "C")]),
        );
        feed.record("ssb", &change("s1", "s2", &[], &["x"], &[]), HashMap::new());
        let mut token = String::new();
        let mut seen = Vec::new();
        loop {
            let page = feed.list(&token, 2).expect("page");
            seen.extend(page.changes.iter().map(|c| c.data_source_id.clone()));
            token = page.next_token;
            if page.caught_up {
                break;
            }
        }
        assert_eq!(seen, ["a", "b", "c", "d", "x"]);
        assert!(feed.list(&token, 10).expect("caught up").changes.is_empty());
        feed.record("fhi", &change("r2", "r3", &[], &["a"], &[]), HashMap::new());
        let next = feed.list(&token, 10).expect("resumes");
        assert_eq!(next.changes.len(), 1);
        assert_eq!(next.changes[0].catalogue_revision, "r3");
    }

    #[test]
    fn a_token_older_than_the_history_is_refused_with_failed_precondition() {
        let feed = ChangeFeed::new(2);
        feed.record("fhi", &change("r1", "r2", &["a"], &[], &[]), HashMap::new());
        let old = feed.list("", 10).expect("page").changes[0].token.clone();
        let early = feed.list("", 10).expect("page").next_token;
        feed.record("fhi", &change("r2", "r3", &[], &["a"], &[]), HashMap::new());
        feed.record("fhi", &change("r3", "r4", &[], &["a"], &[]), HashMap::new());
        // The first generation is dropped; its last token is still a valid resume point.
        assert_eq!(
            feed.list(&early, 10).expect("the boundary").changes.len(),
            2
        );
        feed.record("fhi", &change("r4", "r5", &[], &["a"], &[]), HashMap::new());
        let refused = feed.list(&old, 10).expect_err("too old");
        assert!(
            matches!(
                refused,
                RequestError::FailedPrecondition {
                    subject: "since",
                    ..
                }
            ),
            "{refused:?}"
        );
        let status = Status::from(refused);
        assert_eq!(status.code(), tonic::Code::FailedPrecondition);
        assert!(status.message().contains("resync"));
        let foreign = feed.list("1.1", 10).expect_err("another run");
        assert!(matches!(foreign, RequestError::FailedPrecondition { .. }));
        assert!(matches!(
            feed.list("garbage", 10),
            Err(RequestError::InvalidArgument(_))
        ));
    }

    #[test]
    fn a_source_can_be_read_as_of_a_retained_revision() {
        let feed = ChangeFeed::new(10);
        feed.record(
            "fhi",
            &change("r1", "r2", &[], &["a"], &[]),
            HashMap::from([record("a", "first")]),
        );
        feed.record(
            "fhi",
            &change("r2", "r3", &["b"], &[], &[]),
            HashMap::from([record("b", "B")]),
        );
        feed.record(
            "fhi",
            &change("r3", "r4", &[], &["a"], &[]),
            HashMap::from([record("a", "second")]),
        );
        feed.record("fhi", &change("r4", "r5", &[], &[], &["a"]), HashMap::new());
        let name = |rev: &str| {
            feed.as_of("a", rev)
                .map(|c| c.data_source.and_then(|s| s.name).map(|n| n.nb))
        };
        assert_eq!(name("r2").expect("r2"), Some("first".into()));
        assert_eq!(
            name("r3").expect("r3: unchanged since r2"),
            Some("first".into())
        );
        assert_eq!(name("r4").expect("r4"), Some("second".into()));
        assert!(
            matches!(name("r5"), Err(RequestError::NotFound { .. })),
            "removed"
        );
        assert!(
            matches!(name("r0"), Err(RequestError::NotFound { .. })),
            "not retained"
        );
    }

    #[test]
    fn a_transition_is_diffed_by_content_and_recorded_with_the_new_records() {
        let source = |id: &str, name: &str| record(id, name).1;
        let feed = ChangeFeed::new(10);
        let before = [source("a", "A"), source("b", "B"), source("c", "C")];
        let after = [source("a", "A"), source("b", "B2"), source("d", "D")];
        let change = diff_catalogues("r1", &before, "r2", &after).expect("a change");
        assert_eq!(change.added_ids, ["d"]);
        assert_eq!(change.changed_ids, ["b"]);
        assert_eq!(change.removed_ids, ["c"]);
        feed.record_transition("fhi", &change, &after);
        let page = feed.list("", 10).expect("page");
        let kinds: Vec<(i32, &str)> = page
            .changes
            .iter()
            .map(|c| (c.kind, c.data_source_id.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                (Kind::Added as i32, "d"),
                (Kind::Changed as i32, "b"),
                (Kind::Removed as i32, "c")
            ]
        );
        let changed = &page.changes[1];
        assert_eq!(
            (
                changed.previous_revision.as_str(),
                changed.catalogue_revision.as_str()
            ),
            ("r1", "r2")
        );
        let record = changed.data_source.as_ref().expect("the new record");
        assert_eq!(record.custodian_id, "fhi");
        assert_eq!(record.name.as_ref().map(|n| n.nb.as_str()), Some("B2"));
        assert!(
            diff_catalogues("r2", &after, "r3", &after).is_none(),
            "the same records under another revision are no change"
        );
        assert!(
            feed.list(&page.next_token, 10)
                .expect("caught up")
                .changes
                .is_empty()
        );
    }

    #[tokio::test]
    async fn watching_sends_the_history_then_each_new_change() {
        use futures::StreamExt;
        let feed = Arc::new(ChangeFeed::new(10));
        feed.record("fhi", &change("r1", "r2", &["a"], &[], &[]), HashMap::new());
        let mut stream = Box::pin(feed.watch("").expect("watch"));
        assert_eq!(
            stream
                .next()
                .await
                .expect("one")
                .expect("ok")
                .data_source_id,
            "a"
        );
        feed.record(
            "fhi",
            &change("r2", "r3", &[], &["a"], &["b"]),
            HashMap::new(),
        );
        assert_eq!(
            stream.next().await.expect("two").expect("ok").kind,
            Kind::Changed as i32
        );
        assert_eq!(
            stream.next().await.expect("three").expect("ok").kind,
            Kind::Removed as i32
        );
        feed.close();
        assert!(stream.next().await.is_none(), "closed at shutdown");
    }
}
