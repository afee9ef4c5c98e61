//! Pieces both request layers share: a request body that keeps a copy of its first bytes
//! (to read the ids asked for once the handler has read the body), trace ids, and names of
//! gRPC status codes.

use std::{
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll, ready},
};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use opentelemetry::trace::TraceContextExt;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::asked::MAX_BODY_BYTES;

/// The first bytes of a request body, as far as the handler read it.
pub(crate) type Copy = Arc<Mutex<Vec<u8>>>;

/// What sees the frames of a [`Watched`] body as they pass.
pub(crate) trait Watcher<E> {
    /// Sees one polled frame (`None`: the body has ended).
    fn saw(&mut self, frame: &Option<Result<Frame<Bytes>, E>>);
}

/// A body whose frames pass unchanged, each seen by a [`Watcher`] on the way.
pub(crate) struct Watched<B, W> {
    inner: B,
    watcher: W,
}

impl<B, W> Watched<B, W> {
    pub(crate) fn new(inner: B, watcher: W) -> Self {
        Self { inner, watcher }
    }
}

impl<B, W> Body for Watched<B, W>
where
    B: Body<Data = Bytes> + Unpin,
    W: Watcher<B::Error> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = &mut *self;
        let frame = ready!(Pin::new(&mut this.inner).poll_frame(cx));
        this.watcher.saw(&frame);
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A request body that copies its first [`MAX_BODY_BYTES`] into a [`Copy`] as they pass.
pub(crate) type TeeBody<B> = Watched<B, Copy>;

impl<E> Watcher<E> for Copy {
    fn saw(&mut self, frame: &Option<Result<Frame<Bytes>, E>>) {
        if let Some(Ok(frame)) = frame
            && let Some(data) = frame.data_ref()
            && let Ok(mut copy) = self.lock()
        {
            let room = MAX_BODY_BYTES.saturating_sub(copy.len());
            copy.extend_from_slice(&data[..data.len().min(room)]);
        }
    }
}

/// The trace id of the current span (when an OpenTelemetry layer is installed), else the
/// one the caller sent in `traceparent`.
pub(crate) fn trace_id(traceparent: Option<&str>) -> Option<String> {
    let context = tracing::Span::current().context();
    let span = context.span();
    let current = span.span_context();
    if current.is_valid() {
        return Some(current.trace_id().to_string());
    }
    traceparent.and_then(trace_id_of_traceparent)
}

/// The trace id of a W3C `traceparent` value (`00-<32 hex>-<16 hex>-<2 hex>`).
pub(crate) fn trace_id_of_traceparent(value: &str) -> Option<String> {
    let mut parts = value.trim().split('-');
    let (_version, trace, parent) = (parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    let valid = hex(trace, 32) && hex(parent, 16) && trace.bytes().any(|b| b != b'0');
    valid.then(|| trace.to_ascii_lowercase())
}

/// The name of a gRPC status code (`OK`, `INVALID_ARGUMENT`, …).
pub(crate) fn code_name(code: i32) -> &'static str {
    match code {
        0 => "OK",
        1 => "CANCELLED",
        2 => "UNKNOWN",
        3 => "INVALID_ARGUMENT",
        4 => "DEADLINE_EXCEEDED",
        5 => "NOT_FOUND",
        6 => "ALREADY_EXISTS",
        7 => "PERMISSION_DENIED",
        8 => "RESOURCE_EXHAUSTED",
        9 => "FAILED_PRECONDITION",
        10 => "ABORTED",
        11 => "OUT_OF_RANGE",
        12 => "UNIMPLEMENTED",
        13 => "INTERNAL",
        14 => "UNAVAILABLE",
        15 => "DATA_LOSS",
        16 => "UNAUTHENTICATED",
        _ => "UNKNOWN",
    }
}

/// `text` cut to `max` characters (caller-controlled strings in records stay bounded).
pub(crate) fn bounded(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_gives_its_trace_id_when_well_formed() {
        assert_eq!(
            trace_id_of_traceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01")
                .as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert_eq!(
            trace_id_of_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
            None
        );
        assert_eq!(trace_id_of_traceparent("garbage\n"), None);
    }
}
