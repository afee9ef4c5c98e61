//! The status codes gRPC prescribes for a call's own failures, in one layer over every
//! server ([`StatusMapLayer`], applied by [`crate::grpc_server::builder`]):
//!
//! - a request message larger than the limit is `RESOURCE_EXHAUSTED` (tonic's decoder says
//!   `OUT_OF_RANGE`): the layer reads the length prefix of each message as it arrives and
//!   ends the request body with that status before the message is buffered;
//! - a call whose `grpc-timeout` runs out is `DEADLINE_EXCEEDED` (tonic's timeout says
//!   `CANCELLED`): the layer answers just before tonic's own timer would;
//! - a request message that is not valid protobuf is `INVALID_ARGUMENT` with a message
//!   naming no internal type: that is the servers' codec ([`ContractCodec`]), which the
//!   generated server code uses.
//!
//! Clients keep tonic's own codec, so that a garbled *answer* from a custodian stays an
//! `INTERNAL` failure of that custodian and never reads as the gateway's request being bad.

use std::{
    future::Future,
    marker::PhantomData,
    pin::Pin,
    task::{Context, Poll, ready},
    time::Duration,
};

use hyper::body::{Body as HttpBody, Bytes, Frame, SizeHint};
use tonic::{
    Status,
    body::Body,
    codec::{Codec, DecodeBuf, Decoder},
};
use tower::{Layer, Service};

use crate::deadline::grpc_timeout_of;

/// Largest request message a server accepts, in bytes (the servers' decoding limit too).
pub const MAX_REQUEST_MESSAGE_BYTES: usize = 1 << 20;

/// How much earlier than the caller's deadline the layer answers `DEADLINE_EXCEEDED`, so that
/// it always answers before tonic's timer (one tick of the runtime's timer wheel).
const DEADLINE_LEAD: Duration = Duration::from_millis(1);

/// The layer of [`StatusMap`].
#[derive(Debug, Clone, Copy)]
pub struct StatusMapLayer {
    max_message_bytes: usize,
}

impl StatusMapLayer {
    /// The layer with a request message limit of `max_message_bytes`.
    pub fn new(max_message_bytes: usize) -> Self {
        Self { max_message_bytes }
    }
}

impl Default for StatusMapLayer {
    fn default() -> Self {
        Self::new(MAX_REQUEST_MESSAGE_BYTES)
    }
}

impl<S> Layer<S> for StatusMapLayer {
    type Service = StatusMap<S>;

    fn layer(&self, inner: S) -> Self::Service {
        StatusMap {
            inner,
            max_message_bytes: self.max_message_bytes,
        }
    }
}

/// Answers oversized request messages with `RESOURCE_EXHAUSTED` and expired deadlines with
/// `DEADLINE_EXCEEDED` (see the module documentation).
#[derive(Debug, Clone)]
pub struct StatusMap<S> {
    inner: S,
    max_message_bytes: usize,
}

impl<S, ResBody> Service<http::Request<Body>> for StatusMap<S>
where
    S: Service<http::Request<Body>, Response = http::Response<ResBody>>,
    ResBody: Default,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = StatusMapFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let timeout = grpc_timeout_of(request.headers());
        let limit = self.max_message_bytes;
        let request = request.map(|body| Body::new(MessageLimit::new(body, limit)));
        StatusMapFuture {
            inner: self.inner.call(request),
            due: timeout.map(|t| tokio::time::Instant::now() + t.saturating_sub(DEADLINE_LEAD)),
            expiry: None,
            timeout,
        }
    }
}

pin_project_lite::pin_project! {
    /// The answer of [`StatusMap`]: the inner service's, or `DEADLINE_EXCEEDED` when the
    /// caller's deadline runs out first.
    #[derive(Debug)]
    pub struct StatusMapFuture<F> {
        #[pin]
        inner: F,
        // When to answer `DEADLINE_EXCEEDED`, if the caller sent a deadline.
        due: Option<tokio::time::Instant>,
        // The timer for `due`, made only once the answer is not ready at once: most are,
        // and a timer made and dropped unused costs more than the rest of this layer.
        expiry: Option<Pin<Box<tokio::time::Sleep>>>,
        timeout: Option<Duration>,
    }
}

impl<F, ResBody, E> Future for StatusMapFuture<F>
where
    F: Future<Output = Result<http::Response<ResBody>, E>>,
    ResBody: Default,
{
    type Output = Result<http::Response<ResBody>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(answer) = this.inner.poll(cx) {
            return Poll::Ready(answer);
        }
        if let Some(due) = *this.due {
            let expiry = this
                .expiry
                .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(due)));
            ready!(expiry.as_mut().poll(cx));
            return Poll::Ready(Ok(deadline_exceeded(*this.timeout).into_http()));
        }
        Poll::Pending
    }
}

/// The status of a call whose deadline (`grpc-timeout` of `timeout`) ran out.
fn deadline_exceeded(timeout: Option<Duration>) -> Status {
    let after = timeout.map_or_else(String::new, |t| format!(" of {t:?}"));
    Status::deadline_exceeded(format!(
        "the call's deadline{after} ran out before the answer was ready; send it again with a longer deadline (grpc-timeout)"
    ))
}

/// The status of a request message of `len` bytes over `limit`.
pub fn message_too_large(len: usize, limit: usize) -> Status {
    Status::resource_exhausted(format!(
        "the request message is {len} bytes; the limit is {limit} bytes: send a smaller request (fewer ids, a shorter query)"
    ))
}

/// A request body that ends with `RESOURCE_EXHAUSTED` as soon as a message's length prefix
/// says it is over the limit: each gRPC message is a 1-byte flag and a 4-byte big-endian
/// length, then that many bytes.
struct MessageLimit<B> {
    inner: B,
    limit: usize,
    /// Bytes of the current message's body still to pass.
    remaining: usize,
    /// The prefix of the next message read so far.
    prefix: [u8; 5],
    prefix_len: usize,
    failed: bool,
}

impl<B> MessageLimit<B> {
    fn new(inner: B, limit: usize) -> Self {
        Self {
            inner,
            limit,
            remaining: 0,
            prefix: [0; 5],
            prefix_len: 0,
            failed: false,
        }
    }

    /// Follows the message framing over `data`; the length of a message over the limit.
    fn check(&mut self, mut data: &[u8]) -> Option<usize> {
        while !data.is_empty() {
            if self.remaining > 0 {
                let skip = self.remaining.min(data.len());
                self.remaining -= skip;
                data = &data[skip..];
                continue;
            }
            let take = (5 - self.prefix_len).min(data.len());
            self.prefix[self.prefix_len..self.prefix_len + take].copy_from_slice(&data[..take]);
            self.prefix_len += take;
            data = &data[take..];
            if self.prefix_len == 5 {
                self.prefix_len = 0;
                let [_, a, b, c, d] = self.prefix;
                let len = u32::from_be_bytes([a, b, c, d]) as usize;
                if len > self.limit {
                    return Some(len);
                }
                self.remaining = len;
            }
        }
        None
    }
}

impl<B> HttpBody for MessageLimit<B>
where
    B: HttpBody<Data = Bytes, Error = Status> + Unpin,
{
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        if self.failed {
            return Poll::Ready(None);
        }
        let frame = ready!(Pin::new(&mut self.inner).poll_frame(cx));
        if let Some(Ok(frame)) = &frame
            && let Some(data) = frame.data_ref()
            && let Some(len) = self.check(data)
        {
            self.failed = true;
            return Poll::Ready(Some(Err(message_too_large(len, self.limit))));
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.failed || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The servers' protobuf codec: tonic's, except that a request message that does not decode
/// is `INVALID_ARGUMENT` saying so, without the decoder's internal type and field names.
#[derive(Debug)]
pub struct ContractCodec<T, U> {
    inner: tonic_prost::ProstCodec<T, U>,
}

impl<T, U> Default for ContractCodec<T, U> {
    fn default() -> Self {
        Self {
            inner: tonic_prost::ProstCodec::default(),
        }
    }
}

impl<T, U> Codec for ContractCodec<T, U>
where
    T: prost::Message + Send + 'static,
    U: prost::Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = <tonic_prost::ProstCodec<T, U> as Codec>::Encoder;
    type Decoder = ContractDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        self.inner.encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        ContractDecoder(PhantomData)
    }
}

/// The request decoder of [`ContractCodec`].
#[derive(Debug)]
pub struct ContractDecoder<U>(PhantomData<U>);

impl<U: prost::Message + Default> Decoder for ContractDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Self::Error> {
        decode_request(buf).map(Some)
    }
}

/// Decodes one request message; `INVALID_ARGUMENT` when the bytes are not one.
pub fn decode_request<U: prost::Message + Default>(
    buf: impl prost::bytes::Buf,
) -> Result<U, Status> {
    U::decode(buf).map_err(|_| {
        Status::invalid_argument(
            "the request message is not valid protobuf for this method (a field has the wrong wire type, a string is not UTF-8, or the message is cut short); encode it with the published contract, helsedata.federation.v1",
        )
    })
}
