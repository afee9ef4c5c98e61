//! The JSON API under `/api/v1/`: one route per read RPC and one for planning. Requests are
//! read from query parameters (GET) or the body (POST) into the contract's messages, the
//! gateway's service answers, and the answer is written in the canonical JSON mapping.

use std::sync::Arc;

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, State, rejection::BytesRejection},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use helsedata::{proto as pb, status::FieldError};

use super::{
    WebState,
    error::WebError,
    json::{self, Named},
};

type Pairs = Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>;

/// The API routes.
pub fn routes() -> Router<Arc<WebState>> {
    Router::new()
        .route("/api/openapi.json", get(openapi))
        .route("/api/v1/custodians", get(custodians))
        .route("/api/v1/datasources", get(search))
        .route("/api/v1/datasources/{id}", get(source))
        .route("/api/v1/datasources/{id}/variables", get(variables))
        .route("/api/v1/variables", get(search_variables))
        .route("/api/v1/plan", post(plan))
}

fn pairs(query: Pairs) -> Result<Vec<(String, String)>, WebError> {
    query.map(|Query(p)| p).map_err(|e| {
        WebError::invalid(FieldError::new(
            "query",
            format!("the query string cannot be read: {}", e.body_text()),
        ))
    })
}

fn with_path(field: &str, value: String, query: Pairs) -> Result<Vec<(String, String)>, WebError> {
    let mut all = vec![(field.to_string(), value)];
    all.extend(pairs(query)?);
    Ok(all)
}

fn reply<M: Named>(answer: Result<M, tonic::Status>) -> Response {
    match answer {
        Ok(message) => Json(json::to_json(&message)).into_response(),
        Err(status) => WebError::from(status).into_response(),
    }
}

async fn openapi(State(state): State<Arc<WebState>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.openapi.clone(),
    )
        .into_response()
}

/// Declares the handler of a GET route named as the backend's method `$rpc`: it reads the
/// request from the query string (and the path's `{id}` into the field `$field`, where the
/// route has one) and answers with `$rpc`.
macro_rules! get_handler {
    ($rpc:ident) => {
        async fn $rpc(
            State(state): State<Arc<WebState>>,
            headers: HeaderMap,
            query: Pairs,
        ) -> Result<Response, WebError> {
            let req = json::from_query(&pairs(query)?).map_err(WebError::invalid)?;
            Ok(reply(state.backend.$rpc(req, state.ask(&headers)).await))
        }
    };
    ($rpc:ident, id as $field:literal) => {
        async fn $rpc(
            State(state): State<Arc<WebState>>,
            headers: HeaderMap,
            Path(id): Path<String>,
            query: Pairs,
        ) -> Result<Response, WebError> {
            let pairs = with_path($field, id, query)?;
            let req = json::from_query(&pairs).map_err(WebError::invalid)?;
            Ok(reply(state.backend.$rpc(req, state.ask(&headers)).await))
        }
    };
}

get_handler!(custodians);
get_handler!(search);
get_handler!(source, id as "id");
get_handler!(variables, id as "data_source_id");
get_handler!(search_variables);

async fn plan(
    State(state): State<Arc<WebState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, WebError> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            WebError::body_too_large(state.config.max_body_bytes)
        } else {
            WebError::invalid(FieldError::new(
                "body",
                format!("the body cannot be read: {}", e.body_text()),
            ))
        }
    })?;
    let req: pb::PlanApplicationRequest = json::from_body(&body).map_err(WebError::invalid)?;
    Ok(reply(state.backend.plan(req, state.ask(&headers)).await))
}
