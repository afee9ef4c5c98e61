//! The request and response bodies of a limited call: the request message must arrive in
//! time, and the answer reserves each chunk's bytes from the send budget until HTTP/2 has
//! taken the chunk on, holds the call's slots until it is sent, and (for long-lived streams)
//! ends at the call's deadline.

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
    time::Duration,
};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::{
    sync::futures::OwnedNotified,
    time::{Instant, Sleep},
};
use tonic::Status;

use super::{
    Slots,
    budget::{ConnectionState, Exhausted, Handed},
};

/// A request body that fails with DEADLINE_EXCEEDED unless it ends (or, for a streamed
/// request, yields its first bytes) within the request-message timeout.
pub(super) struct RequestTimer {
    inner: tonic::body::Body,
    /// When the message is due, until it has come (then `None`).
    due: Option<Instant>,
    /// The timer for `due`, made only when the body is first not ready: a message that came
    /// with its headers (most do) needs none.
    timer: Option<Pin<Box<Sleep>>>,
    timeout: Duration,
    until_first_data: bool,
}

impl RequestTimer {
    /// A body of a call that arrived at `arrival`, due within `timeout` of it.
    pub(super) fn new(
        inner: tonic::body::Body,
        arrival: Instant,
        timeout: Duration,
        until_first_data: bool,
    ) -> Self {
        Self {
            inner,
            due: Some(arrival + timeout),
            timer: None,
            timeout,
            until_first_data,
        }
    }
}

impl Body for RequestTimer {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                let ended = match &frame {
                    None | Some(Err(_)) => true,
                    Some(Ok(f)) => f.is_trailers() || (this.until_first_data && f.is_data()),
                };
                if ended || this.inner.is_end_stream() {
                    this.due = None;
                    this.timer = None;
                }
                Poll::Ready(frame)
            }
            Poll::Pending => {
                let Some(due) = this.due else {
                    return Poll::Pending;
                };
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(due)));
                if timer.as_mut().poll(cx).is_ready() {
                    this.due = None;
                    this.timer = None;
                    return Poll::Ready(Some(Err(Status::deadline_exceeded(format!(
                        "the request message did not arrive within {} ms of the request's \
                         headers; send the message right after the headers",
                        this.timeout.as_millis()
                    )))));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The answer of a limited call.
pub(super) struct ResponseBody<B> {
    inner: B,
    /// The call's slots, held until the answer is sent (`None` for long-lived streams, which
    /// give them back once the stream has begun).
    slots: Option<Slots>,
    connection: Option<Arc<ConnectionState>>,
    /// A chunk waiting for room in the send budget, the wait for room, and its limit.
    waiting: Option<Waiting>,
    /// The last chunk handed on and the bytes it reserved, until HTTP/2 asks for the next
    /// (then it has taken the chunk on).
    handed: Option<(Handed, u64)>,
    /// For long-lived streams: the call's deadline.
    deadline: Option<Pin<Box<Sleep>>>,
    finished: bool,
}

struct Waiting {
    chunk: Frame<Bytes>,
    bytes: u64,
    freed: Pin<Box<OwnedNotified>>,
    give_up: Pin<Box<Sleep>>,
}

impl<B> ResponseBody<B> {
    pub(super) fn new(
        inner: B,
        slots: Option<Slots>,
        connection: Option<Arc<ConnectionState>>,
        deadline: Option<tokio::time::Instant>,
    ) -> Self {
        Self {
            inner,
            slots,
            connection,
            waiting: None,
            handed: None,
            deadline: deadline.map(|d| Box::pin(tokio::time::sleep_until(d))),
            finished: false,
        }
    }

    /// Ends the answer with `status` as its trailers.
    fn end_with(&mut self, status: Status) -> Poll<Option<Result<Frame<Bytes>, B::Error>>>
    where
        B: Body,
    {
        self.finish();
        let mut trailers = http::HeaderMap::new();
        match status.add_header(&mut trailers) {
            Ok(()) => Poll::Ready(Some(Ok(Frame::trailers(trailers)))),
            Err(_) => Poll::Ready(None),
        }
    }

    fn finish(&mut self) {
        self.finished = true;
        self.slots = None;
        self.give_back();
    }

    /// Gives back what the answer holds of the connection's budget.
    fn give_back(&mut self) {
        let Some(c) = &self.connection else {
            return;
        };
        if self.waiting.take().is_some() {
            c.done_waiting();
        }
        if let Some((handed, bytes)) = self.handed.take() {
            c.taken(handed);
            c.release(bytes);
        }
    }

    /// Hands on a data chunk of `bytes` reserved bytes.
    fn hand(
        &mut self,
        chunk: Frame<Bytes>,
        bytes: u64,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>>
    where
        B: Body,
    {
        if let Some(c) = &self.connection {
            self.handed = Some((c.handed(), bytes));
        }
        Poll::Ready(Some(Ok(chunk)))
    }
}

impl<B> Drop for ResponseBody<B> {
    fn drop(&mut self) {
        self.give_back();
    }
}

fn unsent(exhausted: Exhausted, waited: Duration) -> Status {
    let (what, held, limit) = match exhausted {
        Exhausted::Connection { held, limit } => ("this connection", held, limit),
        Exhausted::Server { held, limit } => ("the server, over all connections,", held, limit),
    };
    Status::resource_exhausted(format!(
        "the answer was dropped: {what} holds {held} bytes of answers not yet sent \
         (limit {limit}) and no room came free within {} ms; read the answers already sent \
         (open the HTTP/2 flow-control window) before asking for more",
        waited.as_millis()
    ))
}

impl<B> Body for ResponseBody<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = &mut *self;
        if this.finished {
            return Poll::Ready(None);
        }
        // Asked for more: HTTP/2 has taken on the chunk handed last.
        if let (Some((handed, bytes)), Some(c)) = (this.handed.take(), &this.connection) {
            c.taken(handed);
            c.release(bytes);
        }
        if let Some(deadline) = this.deadline.as_mut()
            && deadline.as_mut().poll(cx).is_ready()
        {
            return this.end_with(Status::deadline_exceeded(
                "the stream reached its deadline; open a new one (resume from the last \
                 position received)",
            ));
        }
        loop {
            if let Some(waiting) = this.waiting.as_mut() {
                let Some(connection) = this.connection.clone() else {
                    break;
                };
                match connection.try_reserve(waiting.bytes) {
                    Ok(()) => {
                        connection.done_waiting();
                        if let Some(w) = this.waiting.take() {
                            return this.hand(w.chunk, w.bytes);
                        }
                        continue;
                    }
                    Err(exhausted) => {
                        if waiting.freed.as_mut().poll(cx).is_ready() {
                            waiting.freed = Box::pin(connection.freed());
                            connection.done_waiting();
                            waiting.freed.as_mut().enable();
                            continue;
                        }
                        if waiting.give_up.as_mut().poll(cx).is_ready() {
                            let status = unsent(exhausted, connection.send_timeout());
                            tracing::debug!(
                                limit = ?exhausted,
                                "an answer was dropped: its client has not read earlier answers"
                            );
                            return this.end_with(status);
                        }
                        return Poll::Pending;
                    }
                }
            }
            let frame = match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                None => {
                    this.finish();
                    return Poll::Ready(None);
                }
                Some(Err(e)) => {
                    this.finish();
                    return Poll::Ready(Some(Err(e)));
                }
                Some(Ok(frame)) => frame,
            };
            let bytes = frame.data_ref().map_or(0, |d| d.len() as u64);
            let Some(connection) = this.connection.clone().filter(|_| bytes > 0) else {
                if frame.is_trailers() {
                    this.finish();
                }
                return Poll::Ready(Some(Ok(frame)));
            };
            if connection.try_reserve(bytes).is_ok() {
                return this.hand(frame, bytes);
            }
            let mut freed = Box::pin(connection.freed());
            freed.as_mut().enable();
            this.waiting = Some(Waiting {
                chunk: frame,
                bytes,
                freed,
                give_up: Box::pin(tokio::time::sleep(connection.send_timeout())),
            });
        }
        Poll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        self.finished || (self.waiting.is_none() && self.inner.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        if self.finished {
            SizeHint::with_exact(0)
        } else {
            SizeHint::default()
        }
    }
}

#[cfg(test)]
mod tests;
