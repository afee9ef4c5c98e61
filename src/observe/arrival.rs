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
    /// The custodian notes and the `traceparent`, kept only for the audit record: `None`
    /// with the audit trail off.
    audited: Option<(Notes, Option<String>)>,
    _in_flight: InFlight,
}

impl Arrival {
    /// A request arriving now on `surface` (`grpc`, `web`) with `headers`.
    pub(super) fn new(
        observer: &Arc<Observer>,
        surface: &'static str,
        headers: &http::HeaderMap,
    ) -> Self {
        let audited = observer.audit.is_on().then(|| {
            let traceparent = headers
                .get("traceparent")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            (Notes::default(), traceparent)
        });
        Self {
            started: Instant::now(),
            audited,
            _in_flight: observer.requests.in_flight(surface),
            observer: observer.clone(),
        }
    }

    /// Awaits `answer`; with the audit trail on, collects the notes it takes and works out
    /// the trace id of the request for its record (polled inside the server's request span,
    /// whose trace is the current one). With the audit trail off, the trace id is `None`.
    pub(super) async fn answered<F: Future>(&self, answer: F) -> (F::Output, Option<String>) {
        match &self.audited {
            Some((notes, traceparent)) => {
                let trace_id = body::trace_id(traceparent.as_deref());
                (notes::collecting(notes.clone(), answer).await, trace_id)
            }
            None => (answer.await, None),
        }
    }

    /// Milliseconds since the arrival.
    pub(super) fn latency_ms(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * 1000.0
    }

    /// The notes taken for the request's record.
    pub(super) fn custodians(&self) -> Vec<super::CustodianNote> {
        self.audited
            .as_ref()
            .map(|(notes, _)| notes::taken(notes))
            .unwrap_or_default()
    }
}
