//! The server-rendered pages: search with facets, one source, and the application plan.
//! Each handler reads its query string into a contract request, asks the gateway's
//! service, and fills a template (askama, which escapes every value).

mod plan;
mod search;
mod source;
mod view;

use std::sync::Arc;

use askama::Template;
use axum::{
    Router,
    http::{HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
    routing::get,
};

use super::{WebState, error::WebError, i18n::Lang};

pub use view::Chrome;

/// The page routes.
pub fn routes() -> Router<Arc<WebState>> {
    Router::new()
        .route("/", get(search::page))
        .route("/sources/{id}", get(source::page))
        .route("/plan", get(plan::page))
}

/// Renders a template as a page with `status`; a `lang` chosen in the query is remembered
/// in a cookie.
fn render(template: &impl Template, status: StatusCode, remember: Option<Lang>) -> Response {
    match template.render() {
        Ok(html) => {
            let mut response = (status, Html(html)).into_response();
            if let Some(lang) = remember
                && let Ok(cookie) = HeaderValue::from_str(&format!(
                    "lang={}; Path=/; Max-Age=31536000; SameSite=Lax; Secure; HttpOnly",
                    lang.code()
                ))
            {
                response.headers_mut().insert(header::SET_COOKIE, cookie);
            }
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "a page could not be rendered");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be shown; try again later",
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    chrome: Chrome,
    lang: Lang,
    status: u16,
    message: &'a str,
    violations: Vec<(String, String)>,
}

/// An error as a page.
pub fn error_page(error: &WebError, lang: Lang) -> Response {
    let message = error.public_message();
    let page = ErrorPage {
        chrome: Chrome::new(lang, lang.t("Feil", "Error"), "", "/"),
        lang,
        status: error.http_status().as_u16(),
        message: &message,
        violations: error.violations(),
    };
    render(&page, error.http_status(), None)
}
