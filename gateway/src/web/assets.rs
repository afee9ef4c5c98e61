//! The static files of the pages (one stylesheet, one script), compiled into the binary.

use std::sync::Arc;

use axum::{Router, http::header, response::IntoResponse, routing::get};

use super::WebState;

const STYLE: &str = include_str!("static/app.css");
const SCRIPT: &str = include_str!("static/app.js");

/// The routes of the static files.
pub fn routes() -> Router<Arc<WebState>> {
    Router::new()
        .route(
            "/static/app.css",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/css; charset=utf-8"),
                        (header::CACHE_CONTROL, "max-age=300"),
                    ],
                    STYLE,
                )
                    .into_response()
            }),
        )
        .route(
            "/static/app.js",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                        (header::CACHE_CONTROL, "max-age=300"),
                    ],
                    SCRIPT,
                )
                    .into_response()
            }),
        )
}
