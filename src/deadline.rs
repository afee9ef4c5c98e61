//! Deadlines carried by the `grpc-timeout` header: parsed at the server's edge and passed
//! on, as the remaining time, to every call made on the request's behalf.

use std::time::Duration;

use tokio::time::Instant;

/// When the answer to a request is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Deadline(Instant);

/// When a request arrived: the server's limits layer ([`crate::limits::LimitsLayer`]) takes
/// it as the request is accepted, before its task is scheduled, so that the time a request
/// waits for a CPU under load counts against the request's own deadline and against the
/// deadlines of the calls made on its behalf, never past them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Arrival(pub Instant);

impl Arrival {
    /// The arrival of a call as the server's limits layer took it.
    pub fn of<T>(request: &tonic::Request<T>) -> Option<Self> {
        CallTiming::of(request).map(|t| t.arrival)
    }
}

/// A call's [`Arrival`] and effective [`Deadline`], as the server's limits layer puts them
/// into the request's extensions: one entry, read by [`Arrival::of`] and [`Deadline::of`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallTiming {
    /// When the call was accepted.
    pub arrival: Arrival,
    /// When its answer is due.
    pub deadline: Deadline,
}

impl CallTiming {
    fn of<T>(request: &tonic::Request<T>) -> Option<Self> {
        request.extensions().get::<CallTiming>().copied()
    }
}

impl Deadline {
    /// A deadline `after` from now.
    pub fn after(after: Duration) -> Self {
        Self(Instant::now() + after)
    }

    /// A deadline `after` from `arrival`.
    pub fn after_arrival(arrival: Arrival, after: Duration) -> Self {
        Self(arrival.0 + after)
    }

    /// The effective deadline of a call, as the server's limits layer
    /// ([`crate::limits::LimitsLayer`]) set it.
    pub fn of<T>(request: &tonic::Request<T>) -> Option<Self> {
        CallTiming::of(request).map(|t| t.deadline)
    }

    /// The caller's deadline from its `grpc-timeout` metadata, capped at `max`, or `default`
    /// when none was sent or it does not parse.
    pub fn from_metadata(
        metadata: &tonic::metadata::MetadataMap,
        default: Duration,
        max: Duration,
    ) -> Self {
        let timeout = grpc_timeout_of(metadata.as_ref()).unwrap_or(default);
        Self::after(timeout.min(max))
    }

    /// This deadline moved earlier by `headroom` (so that work done on its behalf leaves time
    /// to assemble and send the answer), but never into the past.
    pub fn with_headroom(self, headroom: Duration) -> Self {
        let now = Instant::now();
        let moved = self.0.checked_sub(headroom).unwrap_or(now);
        Self(moved.max(now))
    }

    /// Time left, zero once passed.
    pub fn remaining(&self) -> Duration {
        self.0.saturating_duration_since(Instant::now())
    }

    /// The monotonic instant at which the deadline passes.
    pub fn instant(&self) -> Instant {
        self.0
    }

    /// Whether the deadline has passed.
    pub fn passed(&self) -> bool {
        self.remaining().is_zero()
    }
}

/// The `grpc-timeout` header's name, made once (a lookup by `&str` parses the name anew).
pub const GRPC_TIMEOUT: http::HeaderName = http::HeaderName::from_static("grpc-timeout");

/// The `grpc-timeout` of a request's `headers`, when present and well formed.
pub fn grpc_timeout_of(headers: &http::HeaderMap) -> Option<Duration> {
    headers
        .get(GRPC_TIMEOUT)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_grpc_timeout)
}

/// Parses a `grpc-timeout` value: at most 8 digits and a unit of H, M, S, m, u or n.
pub fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn headroom_moves_the_deadline_earlier_but_not_into_the_past() {
        let deadline = Deadline::after(Duration::from_secs(1));
        assert!(
            deadline
                .with_headroom(Duration::from_millis(100))
                .remaining()
                <= Duration::from_millis(900)
        );
        assert!(
            Deadline::after(Duration::from_millis(5))
                .with_headroom(Duration::from_secs(1))
                .passed()
        );
    }

    #[test]
    fn parses_every_unit_and_refuses_junk() {
        assert_eq!(parse_grpc_timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse_grpc_timeout("2S"), Some(Duration::from_secs(2)));
        assert_eq!(parse_grpc_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_grpc_timeout("5u"), Some(Duration::from_micros(5)));
        assert_eq!(parse_grpc_timeout(""), None);
        assert_eq!(parse_grpc_timeout("m"), None);
        assert_eq!(parse_grpc_timeout("123456789S"), None);
        assert_eq!(parse_grpc_timeout("10x"), None);
        assert_eq!(parse_grpc_timeout("-1S"), None);
    }
}
