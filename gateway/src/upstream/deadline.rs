//! The custodian's own deadline as a tower layer around its channel: every call through it
//! is bounded by the custodian's `timeout_ms` (never by the caller's deadline), from the
//! wait for a slot under the concurrency limit to the last byte of the answer, and the
//! custodian is told the same deadline in `grpc-timeout`. A call that runs out fails with
//! the typed [`DeadlineElapsed`], which the classification finds in the chain of causes.
//!
//! The timeout counts from the arrival of the request the call serves ([`counted_from`]),
//! not from when the call got to run: on a saturated server the task that makes the call may
//! wait for a CPU, and that wait is part of the custodian's time, so a stalled custodian
//! costs a request its timeout from arrival and no more. A call whose due time has passed
//! before it runs is not sent. Later pages of a paged fetch count from the page before
//! ([`counted_from_now`]): each answer is bounded, not the sum of them.

use std::{
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use futures::{FutureExt, future::BoxFuture};
use http_body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};
use tower::{BoxError, Layer, Service, ServiceExt};

tokio::task_local! {
    /// When the request that the custodian calls of this task serve arrived.
    static ARRIVAL: Instant;
}

/// Runs `work` with the deadlines of its custodian calls counted from `arrival`, the arrival
/// of the request it serves (wherever the future is polled, a spawned task included).
pub fn counted_from<F: Future>(arrival: Instant, work: F) -> impl Future<Output = F::Output> {
    ARRIVAL.scope(arrival, work)
}

/// Runs `work` with the deadlines of its custodian calls counted from now (a later page of
/// a paged fetch, asked once the page before has come).
pub fn counted_from_now<F: Future>(work: F) -> impl Future<Output = F::Output> {
    ARRIVAL.scope(Instant::now(), work)
}

/// When a call bounded by `timeout` that starts now is due: `timeout` after the arrival of
/// the request it serves, or after now outside one.
pub fn due(timeout: Duration) -> CallDue {
    let now = Instant::now();
    let from = ARRIVAL
        .try_with(|arrival| *arrival)
        .map_or(now, |a| a.min(now));
    CallDue(from + timeout)
}

/// When one call is due, in its request's extensions; a call without one is due its
/// timeout from when it is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallDue(pub Instant);

/// A call to a custodian had not been answered within the custodian's own timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the custodian did not answer within its timeout of {} ms", .0.as_millis())]
pub struct DeadlineElapsed(pub Duration);

/// What a call through a [`Deadline`] is bounded to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// The whole call, its answer's body included; the custodian is told the deadline in
    /// `grpc-timeout`.
    Answer,
    /// Only until the answer's head arrives: a stream, once open, has no deadline, and the
    /// custodian is told none.
    Opening,
}

/// Layer of [`Deadline`].
#[derive(Debug, Clone, Copy)]
pub struct DeadlineLayer {
    timeout: Duration,
    bound: Bound,
}

impl DeadlineLayer {
    /// Bounds each call by `timeout` as `bound` says.
    pub fn new(timeout: Duration, bound: Bound) -> Self {
        Self { timeout, bound }
    }
}

impl<S> Layer<S> for DeadlineLayer {
    type Service = Deadline<S>;

    fn layer(&self, inner: S) -> Deadline<S> {
        Deadline {
            inner,
            timeout: self.timeout,
            bound: self.bound,
        }
    }
}

/// Bounds every call through it by a fixed timeout (see the module).
#[derive(Debug, Clone)]
pub struct Deadline<S> {
    inner: S,
    timeout: Duration,
    bound: Bound,
}

/// `grpc-timeout` in milliseconds (at most the 8 digits the header allows).
fn grpc_timeout(timeout: Duration) -> http::HeaderValue {
    let millis = timeout.as_millis().clamp(1, 99_999_999);
    http::HeaderValue::try_from(format!("{millis}m"))
        .unwrap_or_else(|_| http::HeaderValue::from_static("99999999m"))
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for Deadline<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    ReqBody: Send + 'static,
    ResBody: Body<Data = Bytes> + Unpin + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = http::Response<DeadlineBody<ResBody>>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Self::Response, BoxError>>;

    /// Always ready: the wait for the inner service (a slot under the concurrency limit) is
    /// part of the call, and so within its deadline.
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        let (timeout, bound) = (self.timeout, self.bound);
        let now = Instant::now();
        let due = request
            .extensions()
            .get::<CallDue>()
            .map_or(now + timeout, |d| d.0.min(now + timeout));
        let left = due.saturating_duration_since(now);
        if left.is_zero() {
            // A zero timeout, or its time was spent waiting to run: sent now, it could only
            // be answered late.
            return futures::future::ready(Err(DeadlineElapsed(timeout).into())).boxed();
        }
        if bound == Bound::Answer {
            request
                .headers_mut()
                .insert("grpc-timeout", grpc_timeout(left));
        }
        let call = self.inner.clone().oneshot(request);
        async move {
            let response = tokio::time::timeout_at(due, call)
                .await
                .map_err(|_| DeadlineElapsed(timeout))?
                .map_err(Into::into)?;
            let body_due = (bound == Bound::Answer).then_some(due);
            Ok(response.map(|body| DeadlineBody::new(body, body_due, timeout)))
        }
        .boxed()
    }
}

/// An answer's body that fails with [`DeadlineElapsed`] when it has not ended by its due
/// time (when it has one).
pub struct DeadlineBody<B> {
    inner: B,
    due: Option<Pin<Box<Sleep>>>,
    timeout: Duration,
}

impl<B> DeadlineBody<B> {
    fn new(inner: B, due: Option<Instant>, timeout: Duration) -> Self {
        Self {
            inner,
            due: due.map(|d| Box::pin(tokio::time::sleep_until(d))),
            timeout,
        }
    }
}

impl<B> Body for DeadlineBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        if let Some(due) = this.due.as_mut()
            && due.as_mut().poll(cx).is_ready()
        {
            this.due = None;
            return Poll::Ready(Some(Err(DeadlineElapsed(this.timeout).into())));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use http_body_util::{BodyExt, StreamBody};

    use super::*;

    type Chunks = StreamBody<futures::stream::BoxStream<'static, Result<Frame<Bytes>, Infallible>>>;

    /// A service answering at once with a head, then a body that sends one chunk after
    /// `body_delay`; it records the `grpc-timeout` it was sent.
    fn answering_after(
        body_delay: Duration,
        sent: std::sync::Arc<std::sync::Mutex<Option<String>>>,
    ) -> impl Service<
        http::Request<()>,
        Response = http::Response<Chunks>,
        Error = Infallible,
        Future = futures::future::Ready<Result<http::Response<Chunks>, Infallible>>,
    > + Clone {
        tower::service_fn(move |request: http::Request<()>| {
            *sent.lock().unwrap() = request
                .headers()
                .get("grpc-timeout")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let chunk = async move {
                tokio::time::sleep(body_delay).await;
                Ok(Frame::data(Bytes::from_static(b"answer")))
            };
            let body = StreamBody::new(Box::pin(futures::stream::once(chunk)) as _);
            futures::future::ready(Ok(http::Response::new(body)))
        })
    }

    /// One call through a [`Deadline`] of `timeout` and `bound` to [`answering_after`]
    /// `body_delay`: the answer, and the `grpc-timeout` the service was sent (`None` when it
    /// was sent none or not called).
    async fn call(
        timeout: Duration,
        bound: Bound,
        body_delay: Duration,
    ) -> (
        Result<http::Response<DeadlineBody<Chunks>>, BoxError>,
        Option<String>,
    ) {
        call_due(timeout, bound, body_delay, None).await
    }

    /// [`call`], with the request carrying `due` when given.
    async fn call_due(
        timeout: Duration,
        bound: Bound,
        body_delay: Duration,
        due: Option<CallDue>,
    ) -> (
        Result<http::Response<DeadlineBody<Chunks>>, BoxError>,
        Option<String>,
    ) {
        let sent = std::sync::Arc::default();
        let service = DeadlineLayer::new(timeout, bound)
            .layer(answering_after(body_delay, std::sync::Arc::clone(&sent)));
        let mut request = http::Request::new(());
        if let Some(due) = due {
            request.extensions_mut().insert(due);
        }
        let answer = service.oneshot(request).await;
        let sent = sent.lock().unwrap().clone();
        (answer, sent)
    }

    /// An instant `ago` before now.
    fn before_now(ago: Duration) -> Instant {
        Instant::now()
            .checked_sub(ago)
            .expect("the clock is past `ago`")
    }

    /// Milliseconds of a `grpc-timeout` in `m` as the layer writes it.
    fn millis(sent: Option<&str>) -> u64 {
        let sent = sent.expect("a grpc-timeout was sent");
        sent.strip_suffix('m')
            .and_then(|m| m.parse().ok())
            .expect("milliseconds")
    }

    #[tokio::test]
    async fn a_call_counts_its_timeout_from_the_arrival_of_its_request() {
        let timeout = Duration::from_millis(200);
        // The request arrived 150 ms ago (its task waited for a CPU): 50 ms are left.
        let due = counted_from(before_now(Duration::from_millis(150)), async {
            due(timeout)
        })
        .await;
        let (answer, sent) = call_due(timeout, Bound::Answer, Duration::ZERO, Some(due)).await;
        assert!(answer.is_ok());
        let left = millis(sent.as_deref());
        assert!((1..=50).contains(&left), "told {left} ms, not the 50 left");
    }

    #[tokio::test]
    async fn a_call_whose_time_was_spent_waiting_to_run_is_not_sent() {
        let timeout = Duration::from_millis(100);
        let due = counted_from(before_now(Duration::from_millis(150)), async {
            due(timeout)
        })
        .await;
        let (answer, sent) = call_due(timeout, Bound::Answer, Duration::ZERO, Some(due)).await;
        let Err(error) = answer else {
            panic!("a call past its due time is refused");
        };
        assert_eq!(
            error.downcast_ref::<DeadlineElapsed>(),
            Some(&DeadlineElapsed(timeout))
        );
        assert_eq!(sent, None, "the custodian was not called");
    }

    #[tokio::test]
    async fn a_later_page_counts_from_the_page_before_and_a_call_outside_a_request_from_now() {
        let timeout = Duration::from_millis(200);
        let arrival = before_now(Duration::from_millis(150));
        let later = counted_from(arrival, counted_from_now(async { due(timeout) })).await;
        assert!(later.0 >= Instant::now() + Duration::from_millis(100));
        let alone = due(timeout);
        assert!(alone.0 >= Instant::now() + Duration::from_millis(100));
        // A due time never lies further than the timeout from now, whatever it carries.
        let (_, sent) = call_due(
            timeout,
            Bound::Answer,
            Duration::ZERO,
            Some(CallDue(Instant::now() + Duration::from_secs(60))),
        )
        .await;
        assert!(millis(sent.as_deref()) <= 200);
    }

    #[tokio::test]
    async fn a_slow_answer_body_fails_with_the_typed_deadline_and_the_custodian_is_told_it() {
        let timeout = Duration::from_millis(50);
        let (answer, sent) = call(timeout, Bound::Answer, Duration::from_secs(5)).await;
        assert_eq!(sent.as_deref(), Some("50m"));
        let Ok(response) = answer else {
            panic!("the head came at once");
        };
        let Err(error) = response.into_body().collect().await else {
            panic!("the body was not cut at the deadline");
        };
        assert_eq!(
            error.downcast_ref::<DeadlineElapsed>(),
            Some(&DeadlineElapsed(timeout))
        );
    }

    #[tokio::test]
    async fn an_opened_stream_has_no_deadline_and_none_is_sent() {
        let (answer, sent) = call(
            Duration::from_millis(20),
            Bound::Opening,
            Duration::from_millis(100),
        )
        .await;
        assert_eq!(sent, None);
        let Ok(response) = answer else {
            panic!("the head came at once");
        };
        let body = response.into_body().collect().await.expect("not cut");
        assert_eq!(body.to_bytes(), "answer");
    }

    #[tokio::test]
    async fn a_zero_timeout_fails_without_calling() {
        let (answer, sent) = call(Duration::ZERO, Bound::Answer, Duration::ZERO).await;
        let Err(error) = answer else {
            panic!("a zero timeout is refused");
        };
        assert!(error.downcast_ref::<DeadlineElapsed>().is_some());
        assert_eq!(sent, None, "the custodian was not called");
    }
}
