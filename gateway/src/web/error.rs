//! Errors of the web surface as `google.rpc.Status` JSON, with the HTTP status of each gRPC
//! code as AIP-193 maps it. Messages come from the contract's request errors, which say
//! what was wrong and how to fix it; codes that would only reveal internals get a generic
//! message instead.

use axum::{
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use helsedata::status::{FieldError, RequestError};
use serde_json::{Value, json};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The `ErrorInfo.domain` of the errors the web surface raises itself.
pub const ERROR_DOMAIN: &str = "gateway.helsedata.federation.v1";

/// An error answer of the web surface.
#[derive(Debug)]
pub struct WebError {
    /// The error as the contract states it.
    pub status: Status,
    /// An HTTP status more specific than the one the code maps to (413 for an over-large
    /// body, whose code RESOURCE_EXHAUSTED maps to 429 in general).
    pub http_override: Option<StatusCode>,
}

impl WebError {
    /// One field at fault.
    pub fn invalid(error: FieldError) -> Self {
        Status::from(RequestError::from(error)).into()
    }

    /// A body larger than the limit: RESOURCE_EXHAUSTED, the code gRPC gives a message over
    /// the configured size, with HTTP 413 (the code's general 429 would tell the caller to
    /// wait and retry, which cannot help), and an `ErrorInfo` carrying the limit.
    pub fn body_too_large(limit: usize) -> Self {
        Self::over_limit(
            Code::ResourceExhausted,
            format!(
                "the request body is larger than the limit of {limit} bytes (web.max_body_bytes); send a smaller body"
            ),
            ("BODY_TOO_LARGE", "limitBytes", limit),
            Some(StatusCode::PAYLOAD_TOO_LARGE),
        )
    }

    /// Every request slot of the web listener is taken: UNAVAILABLE (503), to be retried
    /// after a moment.
    pub fn overloaded(limit: usize) -> Self {
        Self::over_limit(
            Code::Unavailable,
            format!(
                "the gateway is serving its limit of {limit} web requests at once; try again in a moment"
            ),
            (
                "TOO_MANY_REQUESTS_IN_FLIGHT",
                "maxConcurrentRequests",
                limit,
            ),
            None,
        )
    }

    /// A request over a configured limit: `code` with `message`, and an `ErrorInfo` of
    /// `reason` in [`ERROR_DOMAIN`] whose metadata `key` carries the limit.
    fn over_limit(
        code: Code,
        message: String,
        (reason, key, limit): (&str, &str, usize),
        http_override: Option<StatusCode>,
    ) -> Self {
        let details = ErrorDetails::with_error_info(
            reason,
            ERROR_DOMAIN,
            [(key.to_string(), limit.to_string())],
        );
        Self {
            status: Status::with_error_details(code, message, details),
            http_override,
        }
    }

    /// Too many requests from one address.
    pub fn rate_limited() -> Self {
        Status::resource_exhausted(
            "too many requests from this address; wait a moment and try again",
        )
        .into()
    }

    /// No such page or API path.
    pub fn no_route(path: &str) -> Self {
        Status::not_found(format!(
            "there is nothing at `{}`; the API is described at /api/openapi.json",
            path.chars().take(200).collect::<String>()
        ))
        .into()
    }

    /// The request took longer than its deadline.
    pub fn timeout(ms: u64) -> Self {
        Status::deadline_exceeded(format!(
            "the answer was not ready within {ms} ms; try again, or narrow the request"
        ))
        .into()
    }

    /// The HTTP status of the answer.
    pub fn http_status(&self) -> StatusCode {
        self.http_override
            .unwrap_or_else(|| http_status(self.status.code()))
    }

    /// The message shown to the caller; internals are never shown.
    pub fn public_message(&self) -> String {
        if reveals_internals(self.status.code()) {
            "the gateway could not answer this request; try again later".to_string()
        } else {
            self.status.message().to_string()
        }
    }

    /// The field violations, for forms that show them beside the field.
    pub fn violations(&self) -> Vec<(String, String)> {
        self.status
            .get_error_details()
            .bad_request()
            .map(|b| {
                b.field_violations
                    .iter()
                    .map(|v| (v.field.clone(), v.description.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The `google.rpc.Status` JSON of this error.
    pub fn to_json(&self) -> Value {
        let mut details = Vec::new();
        if !reveals_internals(self.status.code()) {
            let found = self.status.get_error_details();
            if let Some(bad) = found.bad_request() {
                details.push(json!({
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": bad.field_violations.iter().map(|v| json!({
                        "field": v.field,
                        "description": v.description,
                    })).collect::<Vec<_>>(),
                }));
            }
            if let Some(info) = found.error_info() {
                details.push(json!({
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": info.reason,
                    "domain": info.domain,
                    "metadata": info.metadata,
                }));
            }
            if let Some(info) = found.resource_info() {
                details.push(json!({
                    "@type": "type.googleapis.com/google.rpc.ResourceInfo",
                    "resourceType": info.resource_type,
                    "resourceName": info.resource_name,
                    "owner": info.owner,
                    "description": info.description,
                }));
            }
        }
        let mut status = json!({
            "code": self.status.code() as i32,
            "message": self.public_message(),
        });
        if !details.is_empty() {
            status["details"] = Value::Array(details);
        }
        status
    }
}

impl From<Status> for WebError {
    fn from(status: Status) -> Self {
        if reveals_internals(status.code()) {
            tracing::error!(code = ?status.code(), message = %status.message(), "web request failed");
        }
        Self {
            status,
            http_override: None,
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        (
            self.http_status(),
            [(header::CONTENT_TYPE, "application/json")],
            self.to_json().to_string(),
        )
            .into_response()
    }
}

fn reveals_internals(code: Code) -> bool {
    matches!(code, Code::Internal | Code::Unknown | Code::DataLoss)
}

/// The HTTP status of a gRPC code (AIP-193).
pub fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::Cancelled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
            StatusCode::BAD_REQUEST
        }
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_as_aip_193_says() {
        assert_eq!(http_status(Code::InvalidArgument), StatusCode::BAD_REQUEST);
        assert_eq!(http_status(Code::NotFound), StatusCode::NOT_FOUND);
        assert_eq!(
            http_status(Code::ResourceExhausted),
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(
            http_status(Code::Unavailable),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            http_status(Code::DeadlineExceeded),
            StatusCode::GATEWAY_TIMEOUT
        );
        assert_eq!(http_status(Code::Cancelled).as_u16(), 499);
    }

    #[test]
    fn field_violations_become_bad_request_details() {
        let error = WebError::invalid(FieldError::new("query", "query is too long"));
        let json = error.to_json();
        assert_eq!(json["code"], 3);
        assert_eq!(
            json["details"][0]["@type"],
            "type.googleapis.com/google.rpc.BadRequest"
        );
        assert_eq!(json["details"][0]["fieldViolations"][0]["field"], "query");
        assert_eq!(error.http_status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn an_over_large_body_is_resource_exhausted_with_413_and_the_limit() {
        let error = WebError::body_too_large(65536);
        assert_eq!(error.http_status(), StatusCode::PAYLOAD_TOO_LARGE);
        let json = error.to_json();
        assert_eq!(json["code"], Code::ResourceExhausted as i32);
        assert!(json["message"].as_str().unwrap().contains("65536 bytes"));
        assert_eq!(json["details"][0]["reason"], "BODY_TOO_LARGE");
        assert_eq!(json["details"][0]["metadata"]["limitBytes"], "65536");
    }

    #[test]
    fn a_full_listener_is_unavailable_with_503() {
        let error = WebError::overloaded(8);
        assert_eq!(error.http_status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(error.to_json()["code"], Code::Unavailable as i32);
    }

    #[test]
    fn internal_errors_show_no_internals() {
        let error = WebError::from(Status::internal("panicked at src/secret.rs:12"));
        assert!(!error.to_json().to_string().contains("secret"));
        assert_eq!(error.http_status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
