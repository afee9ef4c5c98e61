//! A request rate per caller identity: the generic cell rate algorithm (a token bucket kept
//! as one timestamp). Each identity may send `per_second` calls a second on average, in
//! bursts of up to `burst`; a call beyond that is refused with the time until the next one
//! would be admitted, and the server stops reading from the caller's connection for that
//! time, so a flood costs the server (and the caller) nothing until then.

use std::{
    sync::{
        OnceLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

/// Calls per second and burst allowed to one caller identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestRate {
    /// Calls per second on average.
    pub per_second: u32,
    /// Calls admitted at once after a quiet spell.
    pub burst: u32,
}

impl RequestRate {
    fn interval(self) -> u64 {
        1_000_000_000 / u64::from(self.per_second.max(1))
    }

    fn tolerance(self) -> u64 {
        self.interval() * u64::from(self.burst.saturating_sub(1))
    }
}

/// One identity's place under its [`RequestRate`]: when its next call is due, as
/// nanoseconds since [`origin`] (the "theoretical arrival time" of the algorithm).
#[derive(Debug, Default)]
pub(crate) struct RateCell {
    due: AtomicU64,
}

/// The instant that the cells' timestamps count from.
pub(crate) fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

/// Nanoseconds from [`origin`] to `at`.
pub(crate) fn since_origin(at: Instant) -> u64 {
    at.saturating_duration_since(origin()).as_nanos() as u64
}

impl RateCell {
    /// Admits a call at `now` (nanoseconds since [`origin`]), or says how long until one
    /// would be admitted.
    pub(crate) fn admit(&self, rate: RequestRate, now: u64) -> Result<(), Duration> {
        let interval = rate.interval();
        let tolerance = rate.tolerance();
        let mut due = self.due.load(Ordering::Acquire);
        loop {
            if due > now + tolerance {
                return Err(Duration::from_nanos(due - tolerance - now));
            }
            let next = due.max(now) + interval;
            match self
                .due
                .compare_exchange_weak(due, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Ok(()),
                Err(current) => due = current,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn a_burst_is_admitted_then_calls_at_the_rate() {
        let rate = RequestRate {
            per_second: 100,
            burst: 5,
        };
        let cell = RateCell::default();
        let start = 1_000 * MS;
        for i in 0..5 {
            assert!(cell.admit(rate, start).is_ok(), "call {i} of the burst");
        }
        let wait = cell.admit(rate, start).unwrap_err();
        assert_eq!(wait, Duration::from_millis(10), "one interval at 100/s");
        assert!(cell.admit(rate, start + 9 * MS).is_err());
        assert!(cell.admit(rate, start + 10 * MS).is_ok());
        assert!(cell.admit(rate, start + 10 * MS).is_err());
    }

    #[test]
    fn a_quiet_spell_refills_the_burst_and_no_more() {
        let rate = RequestRate {
            per_second: 1_000,
            burst: 3,
        };
        let cell = RateCell::default();
        for _ in 0..3 {
            cell.admit(rate, 0).unwrap();
        }
        assert!(cell.admit(rate, 0).is_err());
        let later = 10_000 * MS;
        for _ in 0..3 {
            cell.admit(rate, later).unwrap();
        }
        assert!(cell.admit(rate, later).is_err(), "the burst does not grow");
    }

    #[test]
    fn calls_at_the_rate_are_all_admitted() {
        let rate = RequestRate {
            per_second: 50,
            burst: 1,
        };
        let cell = RateCell::default();
        for i in 0..1_000u64 {
            assert!(cell.admit(rate, i * 20 * MS).is_ok(), "call {i}");
        }
    }
}
