//! Why a call to a custodian gave no usable answer, classified by the types in the error's
//! chain of causes (never by its text): a typed identity rejection from the TLS verifier,
//! any other certificate error of the handshake, transport failures, the custodian's status.

use std::{error::Error as StdError, time::Duration};

use helsedata::{identity::IdentityError, proto as pb};
use tonic::{Code, Status};

use super::deadline::DeadlineElapsed;
use crate::cache::FetchError;

/// Why a call to a custodian produced no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LegError {
    /// No answer within the custodian's own configured timeout: the custodian's failure.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The caller's deadline ended (or the caller went away) first. Not the custodian's
    /// failure: it never counts toward ejection, and the call itself goes on within the
    /// custodian's own timeout.
    #[error("had not answered when the caller's deadline ended after {0:?}")]
    CallerDeadline(Duration),
    /// No connection: refused, reset, closed, or the custodian is ejected.
    #[error("unreachable: {0}")]
    Unavailable(String),
    /// The custodian's identity or records were refused.
    #[error("rejected: {0}")]
    Rejected(String),
    /// The custodian answered with an error status.
    #[error("answered {code:?}: {message}")]
    Error {
        /// The status code the custodian answered with.
        code: Code,
        /// Its message, with the messages of the errors that caused it.
        message: String,
    },
}

impl LegError {
    /// The outcome status this error reports.
    pub fn outcome(&self) -> pb::OutcomeStatus {
        match self {
            Self::Timeout(_) => pb::OutcomeStatus::Timeout,
            Self::CallerDeadline(_) => pb::OutcomeStatus::CallerDeadline,
            Self::Unavailable(_) => pb::OutcomeStatus::Unavailable,
            Self::Rejected(_) => pb::OutcomeStatus::Rejected,
            Self::Error { .. } => pb::OutcomeStatus::Error,
        }
    }

    /// Whether the custodian itself answered (the record is missing or the request was bad):
    /// such answers are facts, not failures of the custodian.
    pub fn is_answer(&self) -> bool {
        matches!(
            self,
            Self::Error {
                code: Code::NotFound | Code::InvalidArgument,
                ..
            }
        )
    }

    /// Whether this counts toward ejecting the custodian: only the custodian's own failures
    /// do (its timeout elapsed, unreachable, an error status, a rejected identity), never an
    /// answer about the record and never the caller's deadline.
    pub fn counts_against_custodian(&self) -> bool {
        !self.is_answer() && !matches!(self, Self::CallerDeadline(_))
    }
}

impl FetchError for LegError {
    fn caller_deadline(waited: Duration) -> Self {
        Self::CallerDeadline(waited)
    }

    fn fetch_aborted(reason: String) -> Self {
        Self::Unavailable(reason)
    }
}

/// The first error of type `E` in the chain of causes of `error` (the error itself
/// included). An `std::io::Error` hides the error it wraps from `source()`, so the walk also
/// looks inside it.
pub(crate) fn cause_ref<'a, E: StdError + 'static>(
    error: &'a (dyn StdError + 'static),
) -> Option<&'a E> {
    let mut next = Some(error);
    while let Some(err) = next {
        if let Some(found) = err.downcast_ref::<E>() {
            return Some(found);
        }
        if let Some(inner) = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| cause_ref::<E>(inner))
        {
            return Some(inner);
        }
        next = err.source();
    }
    None
}

/// Why the TLS handshake refused the custodian, when it did: the typed identity mismatch
/// the gateway's verifier raises, or any other certificate error.
fn handshake_refusal(status: &Status) -> Option<String> {
    let tls = cause_ref::<rustls::Error>(status)?;
    let identity = match tls {
        rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other))
        | rustls::Error::Other(other) => cause_ref::<IdentityError>(other),
        _ => None,
    };
    match (identity, tls) {
        (Some(identity), _) => Some(format!("identity rejected: {identity}")),
        (None, rustls::Error::InvalidCertificate(reason)) => {
            Some(format!("certificate refused: {reason}"))
        }
        (None, rustls::Error::AlertReceived(alert)) => Some(format!(
            "the custodian ended the handshake with alert {alert:?} (it refused the gateway's certificate)"
        )),
        _ => None,
    }
}

/// Whether the status came from the transport (connect, TLS, connection reset) rather than
/// from the custodian's service.
fn is_transport(status: &Status) -> bool {
    cause_ref::<tonic::transport::Error>(status).is_some()
        || cause_ref::<std::io::Error>(status).is_some()
}

impl LegError {
    /// Classifies a failed call's status; `timeout` is the call's own deadline.
    pub(crate) fn classify(status: &Status, timeout: Duration) -> Self {
        if let Some(DeadlineElapsed(timeout)) = cause_ref::<DeadlineElapsed>(status) {
            return Self::Timeout(*timeout);
        }
        let mut text = status.message().to_string();
        let mut source = StdError::source(status);
        while let Some(err) = source {
            text.push_str(": ");
            text.push_str(&err.to_string());
            source = err.source();
        }
        if let Some(refusal) = handshake_refusal(status) {
            return Self::Rejected(format!(
                "TLS handshake refused the custodian's certificate: {refusal}"
            ));
        }
        match status.code() {
            Code::DeadlineExceeded | Code::Cancelled => Self::Timeout(timeout),
            Code::Unavailable => Self::Unavailable(text),
            Code::Unknown if is_transport(status) => Self::Unavailable(text),
            code => Self::Error {
                code,
                message: text,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn classify(status: Status) -> LegError {
        LegError::classify(&status, Duration::from_secs(1))
    }

    fn handshake_failure(tls: rustls::Error) -> Status {
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, tls);
        Status::from_error(Box::new(io))
    }

    #[test]
    fn statuses_are_classified() {
        assert_eq!(
            classify(Status::deadline_exceeded("late")).outcome(),
            pb::OutcomeStatus::Timeout
        );
        assert_eq!(
            classify(Status::unavailable("connection refused")).outcome(),
            pb::OutcomeStatus::Unavailable
        );
        assert_eq!(
            classify(Status::unavailable("identity rejected: x")).outcome(),
            pb::OutcomeStatus::Unavailable,
            "the words of a message do not make a rejection"
        );
        let not_found = classify(Status::not_found("no such source"));
        assert!(not_found.is_answer());
        assert_eq!(
            classify(Status::internal("boom")).outcome(),
            pb::OutcomeStatus::Error
        );
    }

    #[test]
    fn the_typed_identity_error_is_found_in_the_chain_of_causes() {
        let mismatch = IdentityError::Mismatch {
            found: "spiffe://helsedata.test/custodian/fhi".into(),
            expected: "spiffe://helsedata.test/custodian/ssb".into(),
        };
        let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::Other(
            rustls::OtherError(Arc::new(mismatch)),
        ));
        let error = classify(handshake_failure(tls));
        assert_eq!(error.outcome(), pb::OutcomeStatus::Rejected);
        assert!(error.to_string().contains("custodian/fhi"), "{error}");
        let expired = rustls::Error::InvalidCertificate(rustls::CertificateError::Expired);
        assert_eq!(
            classify(handshake_failure(expired)).outcome(),
            pb::OutcomeStatus::Rejected
        );
    }

    #[test]
    fn the_deadline_layers_typed_error_is_a_timeout_whatever_its_code() {
        let elapsed = DeadlineElapsed(Duration::from_millis(250));
        let status = Status::from_error(Box::new(elapsed));
        assert_eq!(status.code(), Code::Unknown);
        assert_eq!(
            classify(status),
            LegError::Timeout(Duration::from_millis(250))
        );
    }

    #[test]
    fn a_connection_failure_is_unavailable_whatever_its_code() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let mut status = Status::from_error(Box::new(refused));
        assert_eq!(status.code(), Code::Unknown);
        assert_eq!(
            classify(status.clone()).outcome(),
            pb::OutcomeStatus::Unavailable
        );
        status = Status::unknown("the custodian's handler failed");
        assert_eq!(classify(status).outcome(), pb::OutcomeStatus::Error);
    }
}
