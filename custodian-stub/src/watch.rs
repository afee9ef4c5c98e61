//! `WatchCatalogue`: the served revision, then one message per new revision with what changed.
//!
//! Each watcher remembers the revision it last sent and compares it with the one served
//! when it wakes, so a watcher that falls behind several quick reloads gets one message
//! whose lists cover all of them, and applying the messages in order always ends at the
//! catalogue served now.

use std::sync::Arc;

use futures::Stream;
use helsedata::proto as pb;
use tokio::sync::watch;
use tonic::Status;

use crate::live::{CatalogueDiff, LiveCatalogue, Revision};

struct Watching {
    revisions: watch::Receiver<Arc<Revision>>,
    closed: watch::Receiver<bool>,
    first: Option<Arc<Revision>>,
    last: Option<Arc<Revision>>,
}

/// The stream of changes of `live`, starting with the revision served now. It ends when the
/// custodian shuts down ([`LiveCatalogue::close`]).
pub fn changes(
    live: &LiveCatalogue,
) -> impl Stream<Item = Result<pb::CatalogueChange, Status>> + Send + 'static {
    let mut revisions = live.subscribe();
    let first = revisions.borrow_and_update().clone();
    let state = Watching {
        revisions,
        closed: live.subscribe_closed(),
        first: Some(first),
        last: None,
    };
    futures::stream::unfold(state, |mut state| async move {
        if *state.closed.borrow() {
            return None;
        }
        if let Some(first) = state.first.take() {
            let message = change(None, &first);
            state.last = Some(first);
            return Some((Ok(message), state));
        }
        loop {
            tokio::select! {
                changed = state.revisions.changed() => {
                    if changed.is_err() {
                        return None;
                    }
                }
                _ = state.closed.changed() => return None,
            }
            let next = state.revisions.borrow_and_update().clone();
            let last = state.last.as_ref()?;
            if next.revision() == last.revision() {
                continue;
            }
            let message = change(Some(last), &next);
            state.last = Some(next);
            return Some((Ok(message), state));
        }
    })
}

/// The message for `next`, following `last` (none on the first message of a stream).
pub fn change(last: Option<&Revision>, next: &Revision) -> pb::CatalogueChange {
    let diff = last
        .map(|last| CatalogueDiff::between(&last.catalogue, &next.catalogue))
        .unwrap_or_default();
    pb::CatalogueChange {
        catalogue_revision: next.revision().to_string(),
        previous_revision: last.map(|l| l.revision().to_string()).unwrap_or_default(),
        added_ids: diff.added,
        changed_ids: diff.changed,
        removed_ids: diff.removed,
        custodian_changed: diff.custodian_changed,
        served_since: Some(next.served_since.into()),
    }
}
