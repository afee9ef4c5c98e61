//! Request errors and their one mapping to `tonic::Status`, with google.rpc error details.
//!
//! Every status built here stays within [`MAX_ERROR_METADATA_BYTES`] on the wire (its
//! message plus its encoded details), well under the 16 KiB of metadata that C-core gRPC
//! clients accept: beyond [`MAX_LISTED_VIOLATIONS`] field violations, or when the list
//! would outgrow the budget, the rest are summarised in one closing violation saying how
//! many more there are.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// Most bytes the `grpc-message` and `grpc-status-details-bin` metadata of one error take
/// together, as sent (percent-encoded message, base64 details).
pub const MAX_ERROR_METADATA_BYTES: usize = 8 * 1024 - 512;

/// Most field violations listed one by one; the rest are counted in one summary violation.
pub use crate::contract::limits::MAX_VIOLATIONS as MAX_LISTED_VIOLATIONS;

/// Longest field name or description kept in a violation, in characters.
const MAX_VIOLATION_TEXT_CHARS: usize = 300;

/// Longest status message, in bytes before percent-encoding.
const MAX_MESSAGE_BYTES: usize = 600;

/// The field named by the violation that summarises the ones left out.
pub const OMITTED_VIOLATIONS_FIELD: &str = "request";

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

    /// The violation that stands for `count` further violations left out of a list.
    pub fn omitted(count: usize) -> Self {
        let noun = if count == 1 {
            "violation"
        } else {
            "violations"
        };
        Self::new(
            OMITTED_VIOLATIONS_FIELD,
            format!(
                "{count} more field {noun} not listed; correct the ones above and send the request again to see the rest"
            ),
        )
    }

    /// Whether this is the summary of violations left out ([`FieldError::omitted`]).
    pub fn is_omitted_summary(&self) -> bool {
        self.field == OMITTED_VIOLATIONS_FIELD
    }
}

/// `violations` bounded for an answer: the first [`MAX_LISTED_VIOLATIONS`] as they are and,
/// when there are more, one [`FieldError::omitted`] counting the rest.
pub fn bounded_violations(mut violations: Vec<FieldError>) -> Vec<FieldError> {
    let more = violations.len().saturating_sub(MAX_LISTED_VIOLATIONS);
    violations.truncate(MAX_LISTED_VIOLATIONS);
    if more > 0 {
        violations.push(FieldError::omitted(more));
    }
    violations
}

/// `text` cut to at most `max` characters, with `…` where it was cut.
fn clipped(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `text` cut at a character boundary to at most `max` bytes, with `…` where it was cut.
fn clipped_bytes(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// The bytes `status` takes in metadata: its message percent-encoded (every byte outside
/// printable ASCII, and `%`, as three) and its details in base64.
pub fn metadata_bytes(status: &Status) -> usize {
    let message: usize = status
        .message()
        .bytes()
        .map(|b| {
            if (0x20..0x7f).contains(&b) && b != b'%' {
                1
            } else {
                3
            }
        })
        .sum();
    message + status.details().len().div_ceil(3) * 4
}

/// The `INVALID_ARGUMENT` status of `violations`, within [`MAX_ERROR_METADATA_BYTES`]:
/// at most [`MAX_LISTED_VIOLATIONS`] listed, fewer when they are long, and the rest counted.
fn invalid_argument(violations: Vec<FieldError>) -> Status {
    let total = violations.len();
    let mut listed: Vec<FieldError> = violations
        .into_iter()
        .take(MAX_LISTED_VIOLATIONS)
        .map(|v| {
            FieldError::new(
                clipped(&v.field, MAX_VIOLATION_TEXT_CHARS),
                clipped(&v.description, MAX_VIOLATION_TEXT_CHARS),
            )
        })
        .collect();
    loop {
        let mut shown = listed.clone();
        if total > listed.len() {
            shown.push(FieldError::omitted(total - listed.len()));
        }
        let status = invalid_argument_status(&shown);
        if metadata_bytes(&status) <= MAX_ERROR_METADATA_BYTES || listed.len() <= 1 {
            return status;
        }
        listed.pop();
    }
}

fn invalid_argument_status(listed: &[FieldError]) -> Status {
    let message = listed
        .iter()
        .map(|v| v.description.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    let mut details = ErrorDetails::new();
    for v in listed {
        details.add_bad_request_violation(v.field.clone(), v.description.clone());
    }
    Status::with_error_details(
        Code::InvalidArgument,
        clipped_bytes(&message, MAX_MESSAGE_BYTES),
        details,
    )
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
    /// The request cannot be served in the system's current state (for example a resume
    /// token older than the retained history); `subject` names what failed the check.
    #[error("{message}")]
    FailedPrecondition {
        /// A short type of the violated condition, for example "RESUME_TOKEN_EXPIRED".
        kind: &'static str,
        /// What failed the check, for example "since".
        subject: &'static str,
        /// What is wrong and what to do.
        message: String,
    },
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
            RequestError::InvalidArgument(violations) => invalid_argument(violations),
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
            RequestError::FailedPrecondition { kind, subject, .. } => {
                let mut details = ErrorDetails::new();
                details.add_precondition_failure_violation(kind, subject, message.clone());
                Status::with_error_details(Code::FailedPrecondition, message, details)
            }
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
    fn many_violations_are_listed_up_to_the_limit_and_counted_beyond_it() {
        let violations = (0..2500)
            .map(|i| FieldError::new(format!("variable_ids[{i}]"), "not a variable id"))
            .collect();
        let status: Status = RequestError::InvalidArgument(violations).into();
        let details = status.get_error_details();
        let listed = &details.bad_request().expect("bad request").field_violations;
        assert_eq!(listed.len(), MAX_LISTED_VIOLATIONS + 1);
        assert_eq!(listed[0].field, "variable_ids[0]");
        let summary = listed.last().expect("summary");
        assert_eq!(summary.field, OMITTED_VIOLATIONS_FIELD);
        assert!(
            summary
                .description
                .starts_with("2480 more field violations"),
            "{}",
            summary.description
        );
    }

    #[test]
    fn long_non_ascii_violations_stay_within_the_metadata_budget() {
        let violations = (0..40)
            .map(|i| FieldError::new(format!("data_source_ids[{i}]"), "ø".repeat(5000)))
            .collect();
        let status: Status = RequestError::InvalidArgument(violations).into();
        assert!(
            metadata_bytes(&status) <= MAX_ERROR_METADATA_BYTES,
            "{}",
            metadata_bytes(&status)
        );
        let details = status.get_error_details();
        let listed = &details.bad_request().expect("bad request").field_violations;
        let summary = listed.last().expect("summary");
        let left_out: usize = summary
            .description
            .split(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .expect("a count");
        assert_eq!(
            listed.len() - 1 + left_out,
            40,
            "every violation is listed or counted"
        );
    }

    #[test]
    fn bounded_violations_count_the_ones_left_out() {
        let violations: Vec<FieldError> = (0..MAX_LISTED_VIOLATIONS + 7)
            .map(|i| FieldError::new(format!("f{i}"), "bad"))
            .collect();
        let bounded = bounded_violations(violations);
        assert_eq!(bounded.len(), MAX_LISTED_VIOLATIONS + 1);
        assert!(bounded[MAX_LISTED_VIOLATIONS].is_omitted_summary());
        assert!(
            bounded[MAX_LISTED_VIOLATIONS]
                .description
                .starts_with("7 more")
        );
    }

    #[test]
    fn not_found_names_the_resource() {
        let status: Status = RequestError::data_source_not_found("nope", "list sources").into();
        assert_eq!(status.code(), Code::NotFound);
        assert!(status.message().contains("`nope`"));
    }
}
