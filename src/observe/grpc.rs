//! The request layer of the gRPC servers: for every call, an audit record and the request
//! metrics, with the caller from the [`PeerInfo`] that the acceptor sets, the status from
//! the response headers or trailers, and the latency to the end of the answer (a call the
//! client abandons is recorded as `CANCELLED` when its answer is dropped).

use std::{
    fmt,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::SystemTime,
};

use bytes::Bytes;
use http_body::{Body, Frame};

use super::{
    Observer,
    arrival::Arrival,
    asked::{self, known_method},
    audit::AuditRecord,
    body::{Copy, TeeBody, Watched, Watcher, bounded, code_name},
    time::rfc3339,
};
use crate::acceptor::PeerInfo;

/// Longest method path or caller identity written, in characters.
const MAX_TEXT: usize = 256;

observe_layer!(
    /// Adds an audit record and request metrics to every call of a tonic server.
    GrpcObserveLayer => GrpcObserve
);

/// A call whose record is written when its answer ends.
struct Pending {
    arrival: Arrival,
    path: Option<http::uri::PathAndQuery>,
    caller: String,
    remote_addr: Option<String>,
    trace_id: Option<String>,
    /// The request message as it came, with the audit trail on.
    copy: Option<Copy>,
}

impl Pending {
    fn finish(self, code: i32) {
        let observer = &self.arrival.observer;
        let path = self.path.as_ref().map_or("", |p| p.path());
        if !observer.audit.is_on() {
            // No audit trail: the call is counted, and no record is built for nobody.
            observer
                .requests
                .observe_grpc(path, code, self.arrival.latency_ms());
            return;
        }
        let method_label = known_method(path).unwrap_or("other");
        let body = self
            .copy
            .as_ref()
            .and_then(|copy| copy.lock().ok().map(|b| b.clone()))
            .unwrap_or_default();
        observer.finish(AuditRecord {
            time: rfc3339(SystemTime::now()),
            service: observer.service,
            surface: "grpc",
            caller: self.caller,
            remote_addr: self.remote_addr,
            asked: asked::from_grpc(path, &body),
            method: bounded(path, MAX_TEXT),
            method_label: method_label.into(),
            status: code_name(code).into(),
            latency_ms: self.arrival.latency_ms(),
            custodians: self.arrival.custodians(),
            trace_id: self.trace_id,
        });
    }
}

/// The `grpc-status` header's name, made once (a lookup by `&str` parses the name anew).
const GRPC_STATUS: http::HeaderName = http::HeaderName::from_static("grpc-status");

fn grpc_status(headers: &http::HeaderMap) -> Option<i32> {
    headers
        .get(GRPC_STATUS)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

impl<S, R> tower::Service<http::Request<tonic::body::Body>> for GrpcObserve<S>
where
    S: tower::Service<http::Request<tonic::body::Body>, Response = http::Response<R>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    R: Body<Data = Bytes> + Send + Unpin + 'static,
    R::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future =
        Pin<Box<dyn Future<Output = Result<http::Response<tonic::body::Body>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let arrival = Arrival::new(&self.observer, "grpc", request.headers());
        // Shares the request's bytes: copied only into an audit record.
        let path = request.uri().path_and_query().cloned();
        // The caller, its address and a copy of the request message (for the summary of what
        // was asked) are kept for the audit record only.
        let (caller, remote_addr, copy, request) = if self.observer.audit.is_on() {
            let peer = request.extensions().get::<PeerInfo>();
            let caller = peer
                .map(|p| match &p.identity {
                    Ok(id) => bounded(id, MAX_TEXT),
                    Err(_) => bounded(&p.identity_or_reason(), MAX_TEXT),
                })
                .unwrap_or_else(|| "(no authenticated peer)".to_string());
            let remote_addr = peer.map(|p| p.remote_addr.to_string());
            let copy = Copy::default();
            let tee = copy.clone();
            let request = request.map(|body| tonic::body::Body::new(TeeBody::new(body, tee)));
            (caller, remote_addr, Some(copy), request)
        } else {
            (String::new(), None, None, request)
        };
        let answer = self.inner.call(request);
        Box::pin(async move {
            let (result, trace_id) = arrival.answered(answer).await;
            let pending = Pending {
                arrival,
                path,
                caller,
                remote_addr,
                trace_id,
                copy,
            };
            match result {
                Ok(response) => {
                    let status = grpc_status(response.headers());
                    Ok(response.map(|inner| {
                        tonic::body::Body::new(Watched::new(
                            inner,
                            AnswerEnd {
                                status,
                                pending: Some(pending),
                            },
                        ))
                    }))
                }
                Err(e) => {
                    pending.finish(2);
                    Err(e)
                }
            }
        })
    }
}

/// The end (or abandonment) of an answer, which writes the call's record.
struct AnswerEnd {
    status: Option<i32>,
    pending: Option<Pending>,
}

impl AnswerEnd {
    fn finish(&mut self, fallback: i32) {
        if let Some(pending) = self.pending.take() {
            pending.finish(self.status.unwrap_or(fallback));
        }
    }
}

impl Drop for AnswerEnd {
    fn drop(&mut self) {
        // Dropped before its end: the client went away (or the connection broke).
        self.finish(1);
    }
}

impl<E> Watcher<E> for AnswerEnd {
    fn saw(&mut self, frame: &Option<Result<Frame<Bytes>, E>>) {
        match frame {
            Some(Ok(frame)) => {
                if let Some(trailers) = frame.trailers_ref()
                    && let Some(code) = grpc_status(trailers)
                {
                    self.status = Some(code);
                }
            }
            Some(Err(_)) => self.finish(2),
            None => self.finish(0),
        }
    }
}
