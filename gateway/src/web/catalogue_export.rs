//! The HealthDCAT-AP export on the web listener, for harvesters such as HealthData@EU:
//! `GET /catalogue.ttl`, `/catalogue.jsonld` and `/catalogue.nt` in a fixed format, and
//! `GET /catalogue` with the format the `Accept` header prefers (a browser asking for HTML is
//! sent to the web catalogue). The document is read through the web [`Backend`] with the
//! request's deadline and streamed dataset by dataset.

use std::sync::Arc;

use axum::{
    Router,
    body::{Body, Bytes},
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use futures::{StreamExt, future::BoxFuture};
use helsedata::proto as pb;
use tokio::sync::Semaphore;

use super::{
    WebState,
    backend::{Ask, Backend},
    error::WebError,
    guard::error_response,
    i18n::Lang,
};
use crate::{
    export::dcat::{
        Format, Minter, accept_quality,
        build::ConceptMapping,
        reader::{self, CatalogueReader, ExportSetup, ReadExportError},
    },
    planning::rules::NationalRules,
};

/// The media types a browser's page request names.
const HTML: [&str; 2] = ["text/html", "application/xhtml+xml"];

/// What the export on the web listener needs besides the backend.
pub struct CatalogueExport {
    rules: Arc<NationalRules>,
    concepts: Arc<dyn ConceptMapping>,
    minter: Minter,
    max_age_s: u64,
    permits: Arc<Semaphore>,
}

impl CatalogueExport {
    /// The export under the national `rules` and the concept vocabulary, its IRIs minted
    /// under `minter`; answers may be cached for `max_age_s` seconds, and at most
    /// `max_concurrent` are streamed at once.
    pub fn new(
        rules: Arc<NationalRules>,
        concepts: Arc<dyn ConceptMapping>,
        minter: Minter,
        max_age_s: u64,
        max_concurrent: u32,
    ) -> Self {
        Self {
            rules,
            concepts,
            minter,
            max_age_s,
            permits: Arc::new(Semaphore::new(max_concurrent.max(1) as usize)),
        }
    }

    fn setup(&self, format: Format) -> ExportSetup {
        ExportSetup {
            rules: self.rules.clone(),
            concepts: self.concepts.clone(),
            minter: self.minter.clone(),
            format,
        }
    }
}

/// The catalogue routes.
pub fn routes() -> Router<Arc<WebState>> {
    Router::new()
        .route("/catalogue", get(negotiated))
        .route("/catalogue.ttl", get(turtle))
        .route("/catalogue.jsonld", get(jsonld))
        .route("/catalogue.nt", get(ntriples))
}

/// What `GET /catalogue` answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Representation {
    /// The catalogue in this serialization.
    Rdf(Format),
    /// A redirect to the web catalogue, for a browser.
    Page,
}

/// The representation an `Accept` header prefers (no header, or an empty one, accepts
/// anything: Turtle); `None` when it accepts none we serve. Ties go to Turtle, then JSON-LD,
/// then N-Triples, then the page.
pub fn negotiate(accept: Option<&str>) -> Option<Representation> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Some(Representation::Rdf(Format::Turtle));
    };
    let page = HTML
        .iter()
        .map(|media| accept_quality(accept, media))
        .fold(0.0, f32::max);
    let offers = Format::ALL
        .into_iter()
        .map(|f| (Representation::Rdf(f), f.quality(accept)))
        .chain([(Representation::Page, page)]);
    let mut best: Option<(Representation, f32)> = None;
    for (offer, q) in offers {
        if q > 0.0 && best.is_none_or(|(_, bq)| q > bq) {
            best = Some((offer, q));
        }
    }
    best.map(|(offer, _)| offer)
}

async fn turtle(State(state): State<Arc<WebState>>, headers: HeaderMap) -> Response {
    serve(&state, &headers, Format::Turtle, "/catalogue.ttl").await
}

async fn jsonld(State(state): State<Arc<WebState>>, headers: HeaderMap) -> Response {
    serve(&state, &headers, Format::JsonLd, "/catalogue.jsonld").await
}

async fn ntriples(State(state): State<Arc<WebState>>, headers: HeaderMap) -> Response {
    serve(&state, &headers, Format::NTriples, "/catalogue.nt").await
}

async fn negotiated(State(state): State<Arc<WebState>>, headers: HeaderMap) -> Response {
    // An Accept header that is not visible ASCII names nothing we serve: it gets the 406.
    let accept = headers
        .get(header::ACCEPT)
        .map(|v| v.to_str().unwrap_or("\u{fffd}"));
    let mut response = match negotiate(accept) {
        Some(Representation::Rdf(format)) => serve(&state, &headers, format, "/catalogue").await,
        Some(Representation::Page) => Redirect::to("/").into_response(),
        None => not_acceptable(),
    };
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("accept"));
    response
}

/// 406, saying what can be asked for.
fn not_acceptable() -> Response {
    (
        StatusCode::NOT_ACCEPTABLE,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "The catalogue is served as text/turtle, application/ld+json or application/n-triples, \
         and to browsers (text/html) as the web catalogue; the Accept header named none of \
         them. Ask for one of them, or fetch /catalogue.ttl, /catalogue.jsonld or /catalogue.nt.\n",
    )
        .into_response()
}

/// Starts the export and streams it; an error before the first byte is answered as the
/// path's errors are, one after it ends the response early (the client sees a broken
/// transfer, never a short document that looks whole).
async fn serve(state: &WebState, headers: &HeaderMap, format: Format, path: &str) -> Response {
    let lang = Lang::negotiate(None, headers);
    let Ok(permit) = state.catalogue.permits.clone().try_acquire_owned() else {
        let mut busy = error_response(
            path,
            tonic::Status::unavailable(
                "the catalogue export is being streamed to as many clients as the gateway allows; try again in a few seconds",
            )
            .into(),
            lang,
        );
        busy.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        return busy;
    };
    let reader = BackendReader {
        backend: state.backend.clone(),
        ask: state.ask(headers),
    };
    let body = match reader::export(reader, state.catalogue.setup(format)).await {
        Ok(body) => body,
        Err(e) => return error_response(path, web_error(e), lang),
    };
    let chunks = body.chunks.map(move |chunk| {
        // The permit is held until the last chunk has gone.
        let _held = &permit;
        chunk.map(Bytes::from).inspect_err(|e| {
            tracing::warn!(error = %e, "catalogue export ended early");
        })
    });
    let mut response = Body::from_stream(chunks).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(body.content_type),
    );
    if let Ok(cache) =
        HeaderValue::from_str(&format!("public, max-age={}", state.catalogue.max_age_s))
    {
        headers.insert(header::CACHE_CONTROL, cache);
    }
    if let Ok(disposition) = HeaderValue::from_str(&format!(
        "inline; filename=\"helsedata-catalogue.{}\"",
        format.extension()
    )) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    response
}

fn web_error(error: ReadExportError) -> WebError {
    match error {
        ReadExportError::Search(status) => WebError::from(*status),
        other => WebError::from(tonic::Status::internal(other.to_string())),
    }
}

/// The export's two calls through the web backend, with the request's deadline and cache
/// choice on each.
struct BackendReader {
    backend: Backend,
    ask: Ask,
}

impl CatalogueReader for BackendReader {
    fn search(
        &self,
        request: pb::SearchDataSourcesRequest,
    ) -> BoxFuture<'_, Result<pb::SearchDataSourcesResponse, tonic::Status>> {
        Box::pin(self.backend.search(request, self.ask))
    }

    fn list_variables(
        &self,
        request: pb::ListVariablesRequest,
    ) -> BoxFuture<'_, Result<pb::FederatedListVariablesResponse, tonic::Status>> {
        Box::pin(self.backend.variables(request, self.ask))
    }

    fn custodians(&self) -> BoxFuture<'_, Result<pb::ListCustodiansResponse, tonic::Status>> {
        Box::pin(
            self.backend
                .custodians(pb::ListCustodiansRequest::default(), self.ask),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::{Representation::*, negotiate};
    use crate::export::dcat::Format::*;

    #[test]
    fn accept_chooses_the_representation() {
        assert_eq!(negotiate(None), Some(Rdf(Turtle)));
        assert_eq!(negotiate(Some("  ")), Some(Rdf(Turtle)));
        assert_eq!(negotiate(Some("*/*")), Some(Rdf(Turtle)));
        assert_eq!(negotiate(Some("text/turtle")), Some(Rdf(Turtle)));
        assert_eq!(negotiate(Some("application/ld+json")), Some(Rdf(JsonLd)));
        assert_eq!(
            negotiate(Some("application/n-triples")),
            Some(Rdf(NTriples))
        );
        assert_eq!(
            negotiate(Some(
                "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
            )),
            Some(Page),
            "a browser gets the web catalogue"
        );
        assert_eq!(
            negotiate(Some("text/html;q=0.5, application/ld+json")),
            Some(Rdf(JsonLd))
        );
        assert_eq!(negotiate(Some("application/xml")), None);
        assert_eq!(negotiate(Some("text/turtle;q=0, image/png")), None);
    }
}
