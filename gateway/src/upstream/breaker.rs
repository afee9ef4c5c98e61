//! Failure accrual per custodian (after Envoy's outlier detection and linkerd's breaker):
//! after a run of consecutive failures the custodian is ejected for a while and calls fail
//! at once, so a dead custodian costs callers nothing but its stale answer. The ejection
//! grows with each repeat (base × 2^n, capped). When it ends, one call is let through as a
//! probe while every other call still fails at once; the probe's result closes the breaker
//! or ejects again.

use std::time::Duration;

use tokio::time::Instant;

/// When to eject and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerPolicy {
    /// Consecutive failures that eject the custodian; 0 never ejects.
    pub eject_after: u32,
    /// Length of the first ejection; each further one in a row doubles it.
    pub base: Duration,
    /// Cap on the doubling: no ejection lasts longer.
    pub max: Duration,
}

/// The breaker state of one custodian.
#[derive(Debug)]
pub struct Breaker {
    policy: BreakerPolicy,
    consecutive_failures: u32,
    ejections: u32,
    open_until: Option<Instant>,
    probe_started: Option<Instant>,
}

/// Why a call is not made now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ejected {
    /// Failures in a row that led to the ejection.
    pub failures: u32,
    /// Time until the next probe is let through.
    pub retry_in: Duration,
}

impl Breaker {
    /// A closed breaker (calls go through) following `policy`.
    pub fn new(policy: BreakerPolicy) -> Self {
        Self {
            policy,
            consecutive_failures: 0,
            ejections: 0,
            open_until: None,
            probe_started: None,
        }
    }

    /// Whether a call may be made at `now`. After an ejection the first call is the probe;
    /// calls while it runs fail at once. Probes run detached with the custodian's own timeout,
    /// so their result arrives; should one never arrive (its task was aborted), it stops
    /// counting after one base ejection and another probe is let through.
    pub fn check(&mut self, now: Instant) -> Result<(), Ejected> {
        let Some(until) = self.open_until else {
            return Ok(());
        };
        if now < until {
            return Err(Ejected {
                failures: self.consecutive_failures,
                retry_in: until - now,
            });
        }
        match self.probe_started {
            Some(started) if now < started + self.policy.base => Err(Ejected {
                failures: self.consecutive_failures,
                retry_in: Duration::ZERO,
            }),
            _ => {
                self.probe_started = Some(now);
                Ok(())
            }
        }
    }

    /// A call succeeded (or the custodian answered): close the breaker.
    pub fn on_success(&mut self) {
        self.consecutive_failures = 0;
        self.ejections = 0;
        self.open_until = None;
        self.probe_started = None;
    }

    /// A call failed at `now`; returns the ejection it started, if any.
    pub fn on_failure(&mut self, now: Instant) -> Option<Duration> {
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        self.probe_started = None;
        if self.policy.eject_after == 0 || self.consecutive_failures < self.policy.eject_after {
            return None;
        }
        let factor = 1u32.checked_shl(self.ejections.min(16)).unwrap_or(u32::MAX);
        let ejection = self.policy.base.saturating_mul(factor).min(self.policy.max);
        self.ejections = self.ejections.saturating_add(1);
        self.open_until = Some(now + ejection);
        Some(ejection)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: BreakerPolicy = BreakerPolicy {
        eject_after: 2,
        base: Duration::from_secs(1),
        max: Duration::from_secs(3),
    };

    #[test]
    fn ejects_after_consecutive_failures_and_lets_a_probe_through_later() {
        let now = Instant::now();
        let mut breaker = Breaker::new(POLICY);
        assert_eq!(breaker.on_failure(now), None);
        assert!(breaker.check(now).is_ok());
        assert_eq!(breaker.on_failure(now), Some(Duration::from_secs(1)));
        let ejected = breaker.check(now).unwrap_err();
        assert_eq!(ejected.failures, 2);
        assert!(
            breaker.check(now + Duration::from_millis(1001)).is_ok(),
            "probe after the ejection"
        );
    }

    #[test]
    fn repeated_ejections_grow_up_to_the_cap_and_success_resets() {
        let now = Instant::now();
        let mut breaker = Breaker::new(POLICY);
        breaker.on_failure(now);
        assert_eq!(breaker.on_failure(now), Some(Duration::from_secs(1)));
        assert_eq!(breaker.on_failure(now), Some(Duration::from_secs(2)));
        assert_eq!(breaker.on_failure(now), Some(Duration::from_secs(3)));
        assert_eq!(breaker.on_failure(now), Some(Duration::from_secs(3)));
        breaker.on_success();
        assert!(breaker.check(now).is_ok());
        assert_eq!(breaker.on_failure(now), None);
    }

    #[test]
    fn zero_never_ejects() {
        let now = Instant::now();
        let mut breaker = Breaker::new(BreakerPolicy {
            eject_after: 0,
            ..POLICY
        });
        for _ in 0..10 {
            assert_eq!(breaker.on_failure(now), None);
        }
        assert!(breaker.check(now).is_ok());
    }
}
