//! What every web request passes: the rate limit per client address, the limit of requests
//! in flight over the whole listener, the request deadline, the security headers, and error answers in the form the caller asked for (JSON under
//! `/api/`, a page elsewhere).

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::{HeaderValue, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::{WebState, error::WebError, i18n::Lang, pages};

/// The Content-Security-Policy: scripts and styles only from the gateway's own files, no
/// inline code, no framing.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Whether a path belongs to the JSON API.
pub fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
}

/// An error in the form the path calls for.
pub fn error_response(path: &str, error: WebError, lang: Lang) -> Response {
    if is_api(path) {
        error.into_response()
    } else {
        pages::error_page(&error, lang)
    }
}

/// The rate limit, the in-flight limit, the deadline and the security headers.
pub async fn guard(State(state): State<Arc<WebState>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let lang = Lang::negotiate(None, request.headers());
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    // Held until the answer is ready; a request beyond the limit is refused at once rather
    // than queued, so that a flood cannot build a backlog the deadline would then fail.
    let permit = state.in_flight.clone().try_acquire_owned();
    let mut response = if peer.is_some_and(|ip| state.limiter.check_key(&ip).is_err()) {
        let mut response = error_response(&path, WebError::rate_limited(), lang);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        response
    } else if permit.is_err() {
        let limit = state.config.max_concurrent_requests;
        let mut response = error_response(&path, WebError::overloaded(limit), lang);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        response
    } else {
        // The federation work has the request deadline already; this bounds everything else.
        let limit = Duration::from_millis(state.config.request_timeout_ms) + Duration::from_secs(1);
        match tokio::time::timeout(limit, next.run(request)).await {
            Ok(response) => response,
            Err(_) => error_response(
                &path,
                WebError::timeout(state.config.request_timeout_ms),
                lang,
            ),
        }
    };
    drop(permit);
    let headers = response.headers_mut();
    if !is_api(&path) && !path.starts_with("/static/") && !path.starts_with("/catalogue") {
        // The language of a page follows these request headers; caches must key on them (the
        // catalogue export is in both languages at once and varies by `Accept` alone).
        headers.insert(
            header::VARY,
            HeaderValue::from_static("accept-language, cookie"),
        );
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    if let Ok(hsts) = HeaderValue::from_str(&format!(
        "max-age={}; includeSubDomains",
        state.config.hsts_max_age_s
    )) {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, hsts);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// Anything no route serves.
pub async fn fallback(request: Request) -> Response {
    let lang = Lang::negotiate(None, request.headers());
    let path = request.uri().path().to_string();
    error_response(&path, WebError::no_route(&path), lang)
}
