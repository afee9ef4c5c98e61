//! What both request layers keep of a request from its arrival to the end of its answer.

use std::sync::Arc;

use tokio::time::Instant;

use super::{
    Observer, body,
    metrics::InFlight,
    notes::{self, Notes},
};

/// A request as a request layer takes it in: counted in flight on its surface from its
/// arrival until this is dropped, with the custodian notes the service takes while it
/// answers and the `traceparent` header it came with.
pub(super) struct Arrival {
    pub(super) observer: Arc<Observer>,
    started: Instant,
    notes: Notes,
    traceparent: Option<String>,
    _in_flight: InFlight,
}

impl Arrival {
    /// A request arriving now on `surface` (`grpc`, `web`) with `headers`.
    pub(super) fn new(observer: &Arc<Observer>, surface: &str, headers: &http::HeaderMap) -> Self {
        Self {
            started: Instant::now(),
            traceparent: headers
                .get("traceparent")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            notes: Notes::default(),
            _in_flight: observer.requests.in_flight(surface),
            observer: observer.clone(),
        }
    }

    /// Awaits `answer` while collecting the notes it takes; returns its output and the trace
    /// id of the request (polled inside the server's request span, whose trace is the
    /// current one).
    pub(super) async fn answered<F: Future>(&self, answer: F) -> (F::Output, Option<String>) {
        let trace_id = body::trace_id(self.traceparent.as_deref());
        (
            notes::collecting(self.notes.clone(), answer).await,
            trace_id,
        )
    }

    /// Milliseconds since the arrival.
    pub(super) fn latency_ms(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * 1000.0
    }

    /// The notes taken for the request's record.
    pub(super) fn custodians(&self) -> Vec<super::CustodianNote> {
        notes::taken(&self.notes)
    }
}
