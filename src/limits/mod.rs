//! Limits on the calls a server takes, so that no caller can hold its slots: every call gets
//! a deadline (the caller's `grpc-timeout` cut to a maximum, or a default when it sends none;
//! per method when configured), its request message must arrive within a timeout, and calls in
//! flight are bounded in all, per connection and per caller identity. A refused call gets
//! RESOURCE_EXHAUSTED naming the limit, with google.rpc `QuotaFailure` and `RetryInfo`
//! details. Health checks have a pool of their own, so they are answered whatever the load.
//!
//! [`LimitsLayer`] applies [`RequestLimits`] to every call of a tonic server (after
//! authorization, so that refused callers take no slot) and puts the call's effective
//! [`Deadline`] and its [`Arrival`] (one [`CallTiming`]) into the request's extensions,
//! where handlers read them ([`Deadline::of`], [`Arrival::of`]): both count from the moment
//! the call is accepted, not from when its task first runs.
//! Answers reserve their bytes from the connection's send budget ([`budget`]).

mod body;
pub mod budget;

/// Calls per second and burst allowed to one caller identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestRate {
    /// Calls per second on average.
    pub per_second: u32,
    /// Calls admitted at once after a quiet spell.
    pub burst: u32,
}

use std::{
    num::NonZeroU32,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use dashmap::DashMap;
use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::{
    acceptor::PeerInfo,
    authz,
    deadline::{Arrival, CallTiming, Deadline},
};

/// Deadline bounds of the calls of one method (or of every method of a service).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodDeadline {
    /// Deadline of a call whose caller sends none.
    pub default: Duration,
    /// Longest deadline a caller may ask for; longer ones are cut to it.
    pub max: Duration,
}

/// The limits a server applies to every call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLimits {
    /// Deadline bounds of unary calls.
    pub deadline: MethodDeadline,
    /// Deadline bounds of long-lived streams ([`LONG_LIVED`]): a watch ends at its
    /// deadline, and the client opens a new one from where it was.
    pub stream_deadline: MethodDeadline,
    /// Deadline bounds per method, `/package.Service/Method` or `/package.Service/*`, first
    /// match wins; they replace the two above for the methods they name.
    pub methods: Vec<(String, MethodDeadline)>,
    /// Time from a call's headers to the end of its request message (for a streamed
    /// request, to its first bytes); a call that sends no message within it is answered
    /// DEADLINE_EXCEEDED and its slots freed.
    pub request_message_timeout: Duration,
    /// Most calls in flight on the server.
    pub max_concurrent_requests: usize,
    /// Most calls in flight on one connection.
    pub max_concurrent_requests_per_connection: usize,
    /// Most calls in flight for one caller identity, over all its connections.
    pub max_concurrent_requests_per_identity: usize,
    /// Most health checks in flight; they do not count toward the limits above.
    pub max_concurrent_health_checks: usize,
    /// Calls a second allowed to one caller identity, over all its connections (`None`: no
    /// limit). A call beyond it is refused, and the caller's connection is not read from
    /// until its next call would be admitted.
    pub rate_per_identity: Option<RequestRate>,
}

impl Default for RequestLimits {
    fn default() -> Self {
        Self {
            deadline: MethodDeadline {
                default: Duration::from_secs(5),
                max: Duration::from_secs(60),
            },
            stream_deadline: MethodDeadline {
                default: Duration::from_secs(3600),
                max: Duration::from_secs(3600),
            },
            methods: Vec::new(),
            request_message_timeout: Duration::from_secs(5),
            max_concurrent_requests: 1_024,
            max_concurrent_requests_per_connection: 100,
            max_concurrent_requests_per_identity: 256,
            max_concurrent_health_checks: 64,
            rate_per_identity: None,
        }
    }
}

/// Methods whose answer is a long-lived stream: they get the stream deadline, and give their
/// slots back once the stream has begun (a watch holds no request slot while it waits).
pub const LONG_LIVED: &[&str] = &[
    "/helsedata.federation.v1.FederatedCatalogue/WatchChanges",
    "/helsedata.federation.v1.CustodianCatalogue/WatchCatalogue",
    "/grpc.health.v1.Health/Watch",
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
];

/// Methods whose request is a stream of messages: the request-message timeout runs to the
/// first bytes, not to the end.
const STREAMED_REQUEST: &[&str] = &[
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
];

const HEALTH: &str = "/grpc.health.v1.Health/";

/// The shortest time a caller over its rate waits (and its connection is not read). Were it
/// only the time to the next admitted call (a millisecond at 1,000 calls a second), a flood
/// would be read again, and refused again, a thousand times a second.
pub const MIN_RATE_PAUSE: Duration = Duration::from_millis(100);

/// Why a [`RequestLimits`] cannot be used.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("limit `{key}`: {problem}")]
pub struct LimitsError {
    /// The setting at fault, as its owner names it.
    pub key: String,
    /// What is wrong and what to do.
    pub problem: String,
}

impl RequestLimits {
    /// Refuses limits that cannot work, naming the setting as `MethodDeadline` users call it:
    /// `deadline`, `stream_deadline`, `methods[i]`, or a count.
    pub fn check(&self) -> Result<(), LimitsError> {
        let bad = |key: &str, problem: &str| LimitsError {
            key: key.to_string(),
            problem: problem.to_string(),
        };
        let mut bounds = vec![
            ("deadline".to_string(), self.deadline),
            ("stream_deadline".to_string(), self.stream_deadline),
        ];
        for (method, bound) in &self.methods {
            if method.is_empty()
                || !method.starts_with('/')
                || method.trim_end_matches("/*").contains('*')
            {
                return Err(bad(
                    &format!("methods.{method}"),
                    "name a method as /package.Service/Method or /package.Service/*",
                ));
            }
            bounds.push((format!("methods.{method}"), *bound));
        }
        for (key, bound) in bounds {
            if bound.default.is_zero() || bound.max.is_zero() {
                return Err(bad(&key, "deadlines must be greater than 0"));
            }
            if bound.default > bound.max {
                return Err(bad(
                    &key,
                    "the default deadline must not exceed the maximum",
                ));
            }
        }
        for (key, value) in [
            (
                "request_message_timeout",
                self.request_message_timeout.as_millis() as usize,
            ),
            ("max_concurrent_requests", self.max_concurrent_requests),
            (
                "max_concurrent_requests_per_connection",
                self.max_concurrent_requests_per_connection,
            ),
            (
                "max_concurrent_requests_per_identity",
                self.max_concurrent_requests_per_identity,
            ),
            (
                "max_concurrent_health_checks",
                self.max_concurrent_health_checks,
            ),
        ] {
            if value == 0 {
                return Err(bad(key, "must be greater than 0"));
            }
        }
        if let Some(rate) = self.rate_per_identity {
            if rate.per_second == 0 || rate.per_second > 1_000_000 {
                return Err(bad(
                    "rate_per_identity.per_second",
                    "must be between 1 and 1000000 (leave the rate out for no limit)",
                ));
            }
            if rate.burst == 0 {
                return Err(bad("rate_per_identity.burst", "must be greater than 0"));
            }
        }
        Ok(())
    }

    /// The deadline bounds of `method`.
    pub fn deadline_of(&self, method: &str) -> MethodDeadline {
        if let Some((_, bound)) = self
            .methods
            .iter()
            .find(|(pattern, _)| authz::matches(pattern, method))
        {
            return *bound;
        }
        if LONG_LIVED.contains(&method) {
            self.stream_deadline
        } else {
            self.deadline
        }
    }

    /// The effective deadline of a call of `method` whose `grpc-timeout` header says
    /// `requested` (`None` when absent or unreadable).
    pub fn effective_timeout(&self, method: &str, requested: Option<Duration>) -> Duration {
        let bound = self.deadline_of(method);
        requested.unwrap_or(bound.default).min(bound.max)
    }
}

/// A counter of calls in flight with a bound.
#[derive(Debug, Default)]
struct Pool(Arc<AtomicUsize>);

/// One slot taken from a counter; given back on drop.
#[derive(Debug)]
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

fn take(counter: &Arc<AtomicUsize>, limit: usize) -> Result<Slot, usize> {
    counter
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < limit).then_some(n + 1)
        })
        .map(|_| Slot(counter.clone()))
}

/// The slots one call holds.
#[derive(Debug)]
pub(crate) struct Slots(#[allow(dead_code)] [Option<Slot>; 3]);

struct Shared {
    limits: RequestLimits,
    all: Pool,
    health: Pool,
    /// Calls in flight per caller identity (the PKI names the identities; foldhash, seeded
    /// per map, finds one in a fraction of SipHash's time).
    identities: DashMap<String, Arc<AtomicUsize>, foldhash::quality::RandomState>,
    /// The request rate per caller identity and its limiter (the generic cell rate
    /// algorithm: one timestamp per identity), when limited.
    rates: Option<(RequestRate, DefaultKeyedRateLimiter<Arc<str>>)>,
    rate_refusals_log: crate::acceptor::RateLimitedLog,
}

/// Applies [`RequestLimits`] to every call of a server.
#[derive(Clone)]
pub struct LimitsLayer {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for LimitsLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LimitsLayer")
            .field("limits", &self.shared.limits)
            .finish()
    }
}

impl LimitsLayer {
    /// A layer applying `limits` (checked first).
    pub fn new(limits: RequestLimits) -> Result<Self, LimitsError> {
        limits.check()?;
        Ok(Self {
            shared: Arc::new(Shared {
                limits: limits.clone(),
                all: Pool::default(),
                health: Pool::default(),
                identities: DashMap::default(),
                rates: limits.rate_per_identity.and_then(|rate| {
                    let per_second = NonZeroU32::new(rate.per_second)?;
                    let burst = NonZeroU32::new(rate.burst)?;
                    Some((
                        rate,
                        RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst)),
                    ))
                }),
                rate_refusals_log: crate::acceptor::RateLimitedLog::new(Duration::from_secs(10)),
            }),
        })
    }
}

/// Calls holding a slot of each limit now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InFlightNow {
    /// Calls in flight in all (health checks have their own pool).
    pub all: usize,
    /// Health checks in flight.
    pub health: usize,
    /// Calls in flight per caller identity, for every identity that has called (ordered).
    pub identities: Vec<(String, usize)>,
}

impl LimitsLayer {
    /// The calls in flight now under each limit (what the metrics show).
    pub fn in_flight(&self) -> InFlightNow {
        let mut identities: Vec<(String, usize)> = self
            .shared
            .identities
            .iter()
            .map(|e| (e.key().clone(), e.value().load(Ordering::Acquire)))
            .collect();
        identities.sort();
        InFlightNow {
            all: self.shared.all.0.load(Ordering::Acquire),
            health: self.shared.health.0.load(Ordering::Acquire),
            identities,
        }
    }
}

crate::layer::wrapping_layer!(LimitsLayer => #[derive(Clone)] Limits { shared: Arc<Shared> });

/// A refusal: which limit, how many are in flight under it, and the hint.
struct Refusal {
    subject: String,
    message: String,
    retry_after: Duration,
    /// Whether the limit was the identity's rate (else a concurrency limit).
    rate: bool,
}

impl Refusal {
    fn concurrency(subject: String, message: String) -> Self {
        Self {
            subject,
            message,
            retry_after: Duration::from_secs(1),
            rate: false,
        }
    }

    fn into_status(self) -> Status {
        let mut details = ErrorDetails::new();
        details.add_quota_failure_violation(self.subject, self.message.clone());
        details.set_retry_info(Some(self.retry_after));
        Status::with_error_details(Code::ResourceExhausted, self.message, details)
    }
}

impl Shared {
    fn take_slots(&self, method: &str, peer: Option<&PeerInfo>) -> Result<Slots, Refusal> {
        let limits = &self.limits;
        if method.starts_with(HEALTH) {
            let limit = limits.max_concurrent_health_checks;
            return take(&self.health.0, limit)
                .map(|s| Slots([Some(s), None, None]))
                .map_err(|_| {
                    Refusal::concurrency(
                        "server:health-checks".into(),
                        format!(
                            "{limit} health checks are in flight, the server's limit for them; \
                             retry in a second"
                        ),
                    )
                });
        }
        // The connection's, the identity's and the server's: held in place, not allocated.
        let mut slots: [Option<Slot>; 3] = [None, None, None];
        if let Some(peer) = peer {
            let state = match &peer.identity {
                Ok(identity) => Some((identity, self.identity(identity))),
                Err(_) => None,
            };
            if let (Some((identity, _)), Some((rate, rates))) = (&state, &self.rates) {
                rates
                    .check_key(*identity)
                    .map_err(|not_until| {
                        not_until
                            .wait_time_from(DefaultClock::default().now())
                            .max(MIN_RATE_PAUSE)
                    })
                    .map_err(|wait| Refusal {
                        subject: format!("identity:{identity}"),
                        message: format!(
                            "identity `{identity}` sent more than {} calls a second (bursts of \
                             {}), its rate limit (per caller identity, over all its \
                             connections); slow down, the next call is admitted in {} ms",
                            rate.per_second,
                            rate.burst,
                            wait.as_millis().max(1)
                        ),
                        retry_after: wait,
                        rate: true,
                    })?;
            }
            let limit = limits.max_concurrent_requests_per_connection;
            slots[0] = Some(take(peer.connection.in_flight(), limit).map_err(|_| {
                Refusal::concurrency(
                    format!("connection:{}", peer.remote_addr),
                    format!(
                        "{limit} calls are in flight on this connection, its limit \
                             (per connection); wait for answers before sending more, or open \
                             another connection"
                    ),
                )
            })?);
            if let Some((identity, state)) = &state {
                let limit = limits.max_concurrent_requests_per_identity;
                slots[1] = Some(take(state, limit).map_err(|_| {
                    Refusal::concurrency(
                        format!("identity:{identity}"),
                        format!(
                            "{limit} calls are in flight for identity `{identity}`, its limit \
                             (per caller identity, over all its connections); wait for answers \
                             before sending more"
                        ),
                    )
                })?);
            }
        }
        let limit = limits.max_concurrent_requests;
        slots[2] = Some(take(&self.all.0, limit).map_err(|_| {
            Refusal::concurrency(
                "server:all-calls".into(),
                format!(
                    "{limit} calls are in flight on the server, its limit for all callers \
                     together; retry in a second"
                ),
            )
        })?);
        Ok(Slots(slots))
    }

    /// The in-flight counter of `identity`, created on its first call.
    fn identity(&self, identity: &str) -> Arc<AtomicUsize> {
        if let Some(state) = self.identities.get(identity) {
            return state.value().clone();
        }
        self.identities
            .entry(identity.to_string())
            .or_default()
            .value()
            .clone()
    }
}

impl<S, R> tower::Service<http::Request<tonic::body::Body>> for Limits<S>
where
    S: tower::Service<http::Request<tonic::body::Body>, Response = http::Response<R>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    R: http_body::Body<Data = bytes::Bytes> + Unpin + Send + 'static,
    R::Error: Into<tonic::codegen::StdError>,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future =
        std::pin::Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send + 'static>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<tonic::body::Body>) -> Self::Future {
        // Shares the request's bytes (the request itself is changed below).
        let path = request.uri().path_and_query().cloned();
        let method = path.as_ref().map_or("", |p| p.path());
        let limits = &self.shared.limits;
        let arrival = Arrival(tokio::time::Instant::now());
        let timeout =
            limits.effective_timeout(method, crate::deadline::grpc_timeout_of(request.headers()));
        let deadline = Deadline::after_arrival(arrival, timeout);
        let peer = request.extensions().get::<PeerInfo>();
        let connection = peer.map(|p| p.connection.clone());
        let slots = match self.shared.take_slots(method, peer) {
            Ok(slots) => slots,
            Err(refusal) => {
                if refusal.rate {
                    // The caller's connection is not read from until its next call is due:
                    // a flood then costs nothing until then.
                    if let Some(peer) = peer {
                        peer.connection
                            .pause_reads_until(std::time::Instant::now() + refusal.retry_after);
                    }
                    if let Some(suppressed) = self.shared.rate_refusals_log.admit() {
                        tracing::info!(
                            peer = %peer.map(|p| p.remote_addr.to_string()).unwrap_or_default(),
                            identity = %peer.map(PeerInfo::identity_or_reason).unwrap_or_default().escape_debug(),
                            method = %method.escape_debug(),
                            not_logged_since_last = suppressed,
                            "call refused: the caller's rate limit is reached; its connection is paused"
                        );
                    }
                } else {
                    tracing::info!(
                        peer = %peer.map(|p| p.remote_addr.to_string()).unwrap_or_default(),
                        identity = %peer.map(PeerInfo::identity_or_reason).unwrap_or_default().escape_debug(),
                        method = %method.escape_debug(),
                        limit = %refusal.subject.escape_debug(),
                        "call refused: a concurrency limit is reached"
                    );
                }
                let response = refusal.into_status().into_http();
                return Box::pin(async move { Ok(response) });
            }
        };
        request
            .extensions_mut()
            .insert(CallTiming { arrival, deadline });
        let long_lived = LONG_LIVED.contains(&method);
        let message_timeout = limits.request_message_timeout.min(timeout);
        let request = request.map(|body| {
            tonic::body::Body::new(body::RequestTimer::new(
                body,
                arrival.0,
                message_timeout,
                STREAMED_REQUEST.contains(&method),
            ))
        });
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let expired = || {
                Status::deadline_exceeded(format!(
                    "no answer within the call's deadline of {} ms (the caller's grpc-timeout, \
                     cut to the server's maximum, or the server's default when none is sent); \
                     retry with a longer deadline or later",
                    timeout.as_millis()
                ))
                .into_http()
            };
            // A call whose deadline has passed before it runs starts nothing (no fan-out, no
            // custodian call): a flood of such calls costs their decoding only.
            if deadline.passed() {
                return Ok(expired());
            }
            match tokio::time::timeout_at(deadline.instant(), inner.call(request)).await {
                Ok(Ok(response)) => Ok(response.map(|b| {
                    let (slots, stream_deadline) = if long_lived {
                        (None, Some(deadline.instant()))
                    } else {
                        (Some(slots), None)
                    };
                    tonic::body::Body::new(body::ResponseBody::new(
                        b,
                        slots,
                        connection,
                        stream_deadline,
                    ))
                })),
                Ok(Err(e)) => Err(e),
                Err(_) => Ok(expired()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn in_flight_counts_the_slots_taken_under_each_limit() {
        let layer = LimitsLayer::new(RequestLimits::default()).expect("default limits");
        assert_eq!(layer.in_flight(), InFlightNow::default());
        let all = take(&layer.shared.all.0, 10).expect("a slot");
        let state = layer.shared.identity("spiffe://t/a");
        let mine = take(&state, 10).expect("a slot");
        assert_eq!(
            layer.in_flight(),
            InFlightNow {
                all: 1,
                health: 0,
                identities: vec![("spiffe://t/a".into(), 1)],
            }
        );
        drop((all, mine));
        assert_eq!(layer.in_flight().all, 0);
        assert_eq!(
            layer.in_flight().identities,
            vec![("spiffe://t/a".into(), 0)]
        );
    }

    use super::*;

    #[test]
    fn a_deadline_is_the_callers_cut_to_the_maximum_or_the_default() {
        let limits = RequestLimits {
            methods: vec![(
                "/a.S/Slow".into(),
                MethodDeadline {
                    default: Duration::from_secs(20),
                    max: Duration::from_secs(30),
                },
            )],
            ..RequestLimits::default()
        };
        let m = "/a.S/Fast";
        assert_eq!(limits.effective_timeout(m, None), Duration::from_secs(5));
        assert_eq!(
            limits.effective_timeout(m, Some(Duration::from_secs(3600))),
            Duration::from_secs(60)
        );
        assert_eq!(
            limits.effective_timeout(m, Some(Duration::from_millis(20))),
            Duration::from_millis(20)
        );
        assert_eq!(
            limits.effective_timeout("/a.S/Slow", None),
            Duration::from_secs(20)
        );
        assert_eq!(
            limits.effective_timeout(LONG_LIVED[0], None),
            Duration::from_secs(3600)
        );
    }

    #[test]
    fn limits_that_cannot_work_are_refused_with_the_setting() {
        let mut limits = RequestLimits::default();
        limits.deadline.default = Duration::from_secs(120);
        assert_eq!(limits.check().unwrap_err().key, "deadline");
        let limits = RequestLimits {
            max_concurrent_requests_per_identity: 0,
            ..RequestLimits::default()
        };
        assert_eq!(
            limits.check().unwrap_err().key,
            "max_concurrent_requests_per_identity"
        );
        let mut limits = RequestLimits::default();
        limits.methods.push(("a.S/*".into(), limits.deadline));
        assert!(limits.check().unwrap_err().key.starts_with("methods."));
    }

    #[test]
    fn a_slot_is_refused_at_the_limit_and_given_back_on_drop() {
        let counter = Arc::new(AtomicUsize::new(0));
        let a = take(&counter, 2).unwrap();
        let _b = take(&counter, 2).unwrap();
        assert_eq!(take(&counter, 2).unwrap_err(), 2);
        drop(a);
        assert!(take(&counter, 2).is_ok());
    }

    #[test]
    fn a_refusal_names_the_limit_with_quota_and_retry_details() {
        let status = Refusal::concurrency(
            "identity:spiffe://t/x".into(),
            "8 calls are in flight for identity `spiffe://t/x`".into(),
        )
        .into_status();
        assert_eq!(status.code(), Code::ResourceExhausted);
        let details = status.get_error_details();
        let quota = details.quota_failure().expect("quota failure");
        assert_eq!(quota.violations[0].subject, "identity:spiffe://t/x");
        assert!(details.retry_info().is_some());
    }
}
