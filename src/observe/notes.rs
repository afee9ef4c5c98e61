//! What a service notes about the request it is handling, for that request's audit record:
//! kept in a task-local that the request layer sets around the handler.

use std::{
    future::Future,
    sync::{Arc, Mutex},
};

use serde::Serialize;

/// Most custodian notes kept per request (a request asks each custodian a few times at most).
const MAX_NOTES: usize = 256;

/// One custodian asked while handling a request, and what it answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustodianNote {
    /// The custodian's configured id.
    pub custodian: String,
    /// The outcome status (`OUTCOME_STATUS_OK`, `OUTCOME_STATUS_TIMEOUT`, …).
    pub status: &'static str,
    /// How fresh the answer served was (`FRESHNESS_LIVE`, `FRESHNESS_STALE`, …).
    pub freshness: &'static str,
    /// Time spent on this custodian, in milliseconds.
    pub latency_ms: f64,
}

pub(crate) type Notes = Arc<Mutex<Vec<CustodianNote>>>;

tokio::task_local! {
    static NOTES: Notes;
}

/// Notes a custodian asked for the request being handled. `note` is built only when the
/// request's audit record is being kept: outside a request (background refreshes, watchers)
/// or with the audit trail off, nothing is built or kept.
pub fn note_custodian(note: impl FnOnce() -> CustodianNote) {
    let _ = NOTES.try_with(|notes| {
        if let Ok(mut notes) = notes.lock()
            && notes.len() < MAX_NOTES
        {
            notes.push(note());
        }
    });
}

/// Runs `work` with `notes` collecting what it notes.
pub(crate) async fn collecting<F: Future>(notes: Notes, work: F) -> F::Output {
    NOTES.scope(notes, work).await
}

/// The notes taken so far.
pub(crate) fn taken(notes: &Notes) -> Vec<CustodianNote> {
    notes.lock().map(|n| n.clone()).unwrap_or_default()
}
