//! The public web surface of the gateway: a server-rendered catalogue for people and a JSON
//! API, over HTTPS with the gateway's server certificate (no client certificate).
//!
//! [`listener`] accepts connections (connection cap, handshake and idle timeouts, the
//! certificate that follows its files). A request passes [`guard`] (rate limit, in-flight
//! limit, deadline, security headers), then a page
//! ([`pages`]) or API ([`api`]) handler that reads it into a contract message, asks the
//! gateway's own `FederatedCatalogue` service through [`backend`], and renders the answer.
//! [`catalogue_export`] streams the HealthDCAT-AP export from the same service.

pub mod api;
mod assets;
pub mod backend;
pub mod catalogue_export;
pub mod error;
mod guard;
pub mod i18n;
pub mod json;
pub mod listener;
pub mod openapi;
pub mod pages;
pub mod settings;

use std::{sync::Arc, time::Duration};

use axum::{Router, http::HeaderMap};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use tokio::sync::Semaphore;

pub use self::listener::{HttpsConfig, serve};
use self::{
    backend::{Ask, Backend},
    settings::WebConfig,
};

/// Everything a web handler needs.
pub struct WebState {
    /// The gateway's service.
    pub backend: Backend,
    /// The `[web]` settings.
    pub config: WebConfig,
    /// The OpenAPI document, rendered once.
    pub openapi: String,
    /// The HealthDCAT-AP export.
    pub catalogue: catalogue_export::CatalogueExport,
    limiter: DefaultKeyedRateLimiter<std::net::IpAddr>,
    /// One permit per request served at once (`web.max_concurrent_requests`).
    in_flight: Arc<Semaphore>,
    observer: Option<Arc<helsedata::observe::Observer>>,
}

impl WebState {
    /// State for `backend` under `config`, with the catalogue export.
    pub fn new(
        backend: Backend,
        config: WebConfig,
        catalogue: catalogue_export::CatalogueExport,
    ) -> Self {
        let per_second = NonZeroU32::new(config.requests_per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(config.burst).unwrap_or(NonZeroU32::MIN);
        Self {
            backend,
            openapi: openapi::document().to_string(),
            catalogue,
            limiter: RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst)),
            in_flight: Arc::new(Semaphore::new(config.max_concurrent_requests)),
            config,
            observer: None,
        }
    }

    /// The same state, with every request audited and counted by `observer`.
    pub fn observed_by(mut self, observer: Arc<helsedata::observe::Observer>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// How a request with these headers asks the gateway.
    pub fn ask(&self, headers: &HeaderMap) -> Ask {
        let no_cache = headers
            .get(axum::http::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().contains("no-cache"));
        Ask {
            timeout: Duration::from_millis(self.config.request_timeout_ms),
            no_cache,
        }
    }
}

/// Every route, behind the guard.
pub fn router(state: Arc<WebState>) -> Router {
    Router::new()
        .merge(api::routes())
        .merge(pages::routes())
        .merge(assets::routes())
        .merge(catalogue_export::routes())
        .fallback(guard::fallback)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::guard,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(
            state.config.max_body_bytes,
        ))
        .with_state(state)
}
