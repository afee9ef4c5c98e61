//! The request layer of the gateway's web listener (axum): for every request, an audit
//! record (caller `anonymous`, the client's address, the route, the ids in its path, query
//! and JSON body, the HTTP status) and the request metrics by route and status.

use std::{
    convert::Infallible,
    fmt,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::SystemTime,
};

use axum::extract::{ConnectInfo, MatchedPath, Request};

use super::{
    ANONYMOUS, Observer,
    arrival::Arrival,
    asked,
    audit::AuditRecord,
    body::{Copy, TeeBody, bounded},
    time::rfc3339,
};

/// Longest path written, in characters.
const MAX_PATH: usize = 512;

observe_layer!(
    /// Adds an audit record and request metrics to every request of an axum router.
    WebObserveLayer => WebObserve
);

/// The HTTP method as counted (a bounded set).
fn method_name(method: &http::Method) -> &'static str {
    match *method {
        http::Method::GET => "GET",
        http::Method::HEAD => "HEAD",
        http::Method::POST => "POST",
        http::Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

impl<S> tower::Service<Request> for WebObserve<S>
where
    S: tower::Service<Request, Response = axum::response::Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = axum::response::Response;
    type Error = Infallible;
    type Future =
        Pin<Box<dyn Future<Output = Result<axum::response::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let arrival = Arrival::new(&self.observer, "web", request.headers());
        let method = method_name(request.method());
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map(|m| m.as_str().to_string());
        let path = request.uri().path().to_string();
        let query = request.uri().query().map(str::to_string);
        let remote_addr = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.to_string());
        let json = request
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().contains("json"));
        let copy = Copy::default();
        let request = if json {
            request.map(|body| axum::body::Body::new(TeeBody::new(body, copy.clone())))
        } else {
            request
        };
        let answer = self.inner.call(request);
        Box::pin(async move {
            let (result, trace_id) = arrival.answered(answer).await;
            let Ok(response) = result;
            let body = copy.lock().map(|b| b.clone()).unwrap_or_default();
            let label = match &route {
                Some(route) => format!("{method} {route}"),
                None => format!("{method} (no route)"),
            };
            let observer = &arrival.observer;
            observer.finish(AuditRecord {
                time: rfc3339(SystemTime::now()),
                service: observer.service,
                surface: "web",
                caller: ANONYMOUS.to_string(),
                remote_addr,
                method: bounded(&format!("{method} {path}"), MAX_PATH),
                method_label: label.into(),
                asked: asked::from_web(route.as_deref(), &path, query.as_deref(), &body),
                status: response.status().as_u16().to_string().into(),
                latency_ms: arrival.latency_ms(),
                custodians: arrival.custodians(),
                trace_id,
            });
            drop(arrival);
            Ok(response)
        })
    }
}
