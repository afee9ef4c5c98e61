//! Request errors and their one mapping to `tonic::Status`, with google.rpc error details.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// One field of a request that is at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's name as in the proto (for example `page_size`).
    pub field: String,
    /// What is wrong and how to fix it.
    pub description: String,
}

impl FieldError {
    /// A violation of `field`.
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

/// Why a request could not be answered.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum RequestError {
    /// One or more fields are invalid.
    #[error("{}", .0.iter().map(|v| v.description.as_str()).collect::<Vec<_>>().join("; "))]
    InvalidArgument(Vec<FieldError>),
    /// The named resource does not exist.
    #[error("{resource_type} `{name}` not found: {hint}")]
    NotFound {
        /// Kind of resource, for example "data source".
        resource_type: &'static str,
        /// The id asked for.
        name: String,
        /// What to do instead.
        hint: String,
    },
    /// No upstream could answer.
    #[error("{0}")]
    Unavailable(String),
    /// The deadline passed before an answer was ready.
    #[error("{0}")]
    DeadlineExceeded(String),
    /// A limit was reached.
    #[error("{0}")]
    ResourceExhausted(String),
}

impl RequestError {
    /// The field violations, if this is an invalid-argument error.
    pub fn violations(&self) -> &[FieldError] {
        match self {
            Self::InvalidArgument(v) => v,
            _ => &[],
        }
    }

    /// A not-found error for a data source id.
    pub fn data_source_not_found(id: &str, hint: impl Into<String>) -> Self {
        Self::NotFound {
            resource_type: "data source",
            name: id.to_string(),
            hint: hint.into(),
        }
    }
}

impl From<FieldError> for RequestError {
    fn from(value: FieldError) -> Self {
        Self::InvalidArgument(vec![value])
    }
}

impl From<RequestError> for Status {
    fn from(err: RequestError) -> Self {
        let message = err.to_string();
        match err {
            RequestError::InvalidArgument(violations) => {
                let mut details = ErrorDetails::new();
                for v in violations {
                    details.add_bad_request_violation(v.field, v.description);
                }
                Status::with_error_details(Code::InvalidArgument, message, details)
            }
            RequestError::NotFound {
                resource_type,
                name,
                hint,
            } => Status::with_error_details(
                Code::NotFound,
                message,
                ErrorDetails::with_resource_info(resource_type, name, "", hint),
            ),
            RequestError::Unavailable(_) => Status::unavailable(message),
            RequestError::DeadlineExceeded(_) => Status::deadline_exceeded(message),
            RequestError::ResourceExhausted(_) => Status::resource_exhausted(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_argument_carries_bad_request_details() {
        let status: Status = RequestError::from(FieldError::new("page_size", "too big")).into();
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let bad = details.bad_request().expect("bad request details");
        assert_eq!(bad.field_violations[0].field, "page_size");
    }

    #[test]
    fn not_found_names_the_resource() {
        let status: Status = RequestError::data_source_not_found("nope", "list sources").into();
        assert_eq!(status.code(), Code::NotFound);
        assert!(status.message().contains("`nope`"));
    }
}
