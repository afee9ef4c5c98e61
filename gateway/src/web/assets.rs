//! The static files of the pages (one stylesheet, one script), compiled into the binary.

use std::sync::Arc;

use axum::{Router, http::header, response::IntoResponse, routing::get};

use super::WebState;

/// The static files: path, content type and content.
const ASSETS: [(&str, &str, &str); 2] = [
    (
        "/static/app.css",
        "text/css; charset=utf-8",
        include_str!("static/app.css"),
    ),
    (
        "/static/app.js",
        "text/javascript; charset=utf-8",
        include_str!("static/app.js"),
    ),
];

/// The routes of the static files.
pub fn routes() -> Router<Arc<WebState>> {
    ASSETS
        .iter()
        .fold(Router::new(), |router, &(path, content_type, content)| {
            router.route(
                path,
                get(move || async move {
                    (
                        [
                            (header::CONTENT_TYPE, content_type),
                            (header::CACHE_CONTROL, "max-age=300"),
                        ],
                        content,
                    )
                        .into_response()
                }),
            )
        })
}
