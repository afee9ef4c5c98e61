//! Answer bytes held for clients: each response body reserves the bytes of a chunk before
//! handing it to HTTP/2 and gives them back once HTTP/2 has taken the chunk on (it asks for
//! the next) or the stream ends. Reservations are bounded per connection and per server. A chunk that HTTP/2 has
//! not taken on within the send timeout (its client announces no flow-control window) marks
//! its connection stalled, and the acceptor closes it: its streams are reset and their memory
//! freed.

use std::{
    collections::BTreeSet,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    task::Waker,
    time::{Duration, Instant},
};

use tokio::sync::Notify;

/// The server-wide bound on answer bytes held for clients, shared by its connections.
#[derive(Debug)]
pub struct SendBudget {
    limit: u64,
    per_connection: u64,
    send_timeout: Duration,
    held: AtomicU64,
    waiting: AtomicUsize,
    freed: Arc<Notify>,
}

impl SendBudget {
    /// A budget of `limit` bytes in all, `per_connection` on one connection; a chunk that
    /// HTTP/2 does not take on within `send_timeout` closes its connection.
    pub fn new(limit: u64, per_connection: u64, send_timeout: Duration) -> Arc<Self> {
        Arc::new(Self {
            limit,
            per_connection,
            send_timeout,
            held: AtomicU64::new(0),
            waiting: AtomicUsize::new(0),
            freed: Arc::new(Notify::new()),
        })
    }

    /// Bytes held for all connections now.
    pub fn held(&self) -> u64 {
        self.held.load(Ordering::Relaxed)
    }

    fn give_back(&self, bytes: u64) {
        if bytes == 0 {
            return;
        }
        self.held.fetch_sub(bytes, Ordering::AcqRel);
        if self.waiting.load(Ordering::Acquire) > 0 {
            self.freed.notify_waiters();
        }
    }
}

/// Which bound a reservation ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exhausted {
    /// The connection's own bound.
    Connection {
        /// Answer bytes the connection held when the reservation was refused.
        held: u64,
        /// The per-connection bound, in bytes.
        limit: u64,
    },
    /// The server-wide bound.
    Server {
        /// Answer bytes all connections together held when the reservation was refused.
        held: u64,
        /// The server-wide bound, in bytes.
        limit: u64,
    },
}

/// What one connection uses of the server's limits: its requests in flight and the answer
/// bytes held for its client. The acceptor creates one per connection and puts it into
/// [`crate::acceptor::PeerInfo`].
#[derive(Debug)]
pub struct ConnectionState {
    in_flight: Arc<AtomicUsize>,
    held: AtomicU64,
    budget: Arc<SendBudget>,
    /// Chunks handed to HTTP/2 and not yet taken on, by when they were handed.
    untaken: Mutex<BTreeSet<(Instant, u64)>>,
    next_chunk: AtomicU64,
    waker: Mutex<Option<Waker>>,
    /// Until when (nanoseconds since [`origin`]) the connection is not read from; 0 when
    /// it is not paused.
    reads_paused_until: AtomicU64,
}

/// The instant that [`ConnectionState`]'s pause timestamps count from.
fn origin() -> Instant {
    static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

/// Nanoseconds from [`origin`] to `at` (at least 1, so that 0 can mean "not paused").
fn since_origin(at: Instant) -> u64 {
    (at.saturating_duration_since(origin()).as_nanos() as u64).max(1)
}

/// A chunk handed to HTTP/2 that it has not taken on yet; see [`ConnectionState::handed`].
#[derive(Debug)]
pub struct Handed((Instant, u64));

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl ConnectionState {
    /// A connection under `budget`.
    pub fn new(budget: Arc<SendBudget>) -> Arc<Self> {
        Arc::new(Self {
            in_flight: Arc::new(AtomicUsize::new(0)),
            held: AtomicU64::new(0),
            budget,
            untaken: Mutex::new(BTreeSet::new()),
            next_chunk: AtomicU64::new(0),
            waker: Mutex::new(None),
            reads_paused_until: AtomicU64::new(0),
        })
    }

    /// Stops reading from this connection until `until` (the caller is over its rate
    /// limit); a later pause already set stays.
    pub fn pause_reads_until(&self, until: Instant) {
        self.reads_paused_until
            .fetch_max(since_origin(until), Ordering::AcqRel);
    }

    /// Until when the connection is not read from, if that is still ahead.
    pub fn reads_paused_until(&self) -> Option<Instant> {
        let until = self.reads_paused_until.load(Ordering::Acquire);
        if until == 0 {
            return None;
        }
        let at = origin() + Duration::from_nanos(until);
        (at > Instant::now()).then_some(at)
    }

    /// The counter of requests in flight on this connection.
    pub fn in_flight(&self) -> &Arc<AtomicUsize> {
        &self.in_flight
    }

    /// Answer bytes held for this connection's client.
    pub fn held(&self) -> u64 {
        self.held.load(Ordering::Relaxed)
    }

    /// The server-wide budget.
    pub fn budget(&self) -> &Arc<SendBudget> {
        &self.budget
    }

    /// Reserves `bytes` of answer for this connection. One chunk always fits on a connection
    /// (and a server) that holds nothing, so an answer larger than a bound is still sent.
    pub fn try_reserve(&self, bytes: u64) -> Result<(), Exhausted> {
        let limit = self.budget.per_connection;
        self.held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                (held == 0 || held.saturating_add(bytes) <= limit).then(|| held + bytes)
            })
            .map_err(|held| Exhausted::Connection { held, limit })?;
        let total_limit = self.budget.limit;
        if let Err(held) =
            self.budget
                .held
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                    (held == 0 || held.saturating_add(bytes) <= total_limit).then(|| held + bytes)
                })
        {
            self.held.fetch_sub(bytes, Ordering::AcqRel);
            return Err(Exhausted::Server {
                held,
                limit: total_limit,
            });
        }
        Ok(())
    }

    /// Gives back `bytes` reserved with [`Self::try_reserve`].
    pub fn release(&self, bytes: u64) {
        if bytes == 0 {
            return;
        }
        self.held.fetch_sub(bytes, Ordering::AcqRel);
        self.budget.give_back(bytes);
    }

    /// A chunk was handed to HTTP/2; it counts as not taken on until [`Self::taken`].
    pub fn handed(&self) -> Handed {
        let key = (
            Instant::now(),
            self.next_chunk.fetch_add(1, Ordering::Relaxed),
        );
        let first = {
            let mut untaken = lock(&self.untaken);
            untaken.insert(key);
            untaken.len() == 1
        };
        if first {
            // The send timer runs from now; wake the connection so that it arms it.
            if let Some(waker) = lock(&self.waker).take() {
                waker.wake();
            }
        }
        Handed(key)
    }

    /// HTTP/2 took on the chunk (asked for the next), or its stream ended.
    pub fn taken(&self, handed: Handed) {
        lock(&self.untaken).remove(&handed.0);
    }

    /// When the connection counts as stalled if HTTP/2 has not taken on its oldest chunk by
    /// then; `None` while no chunk waits.
    pub fn stall_due(&self) -> Option<Instant> {
        lock(&self.untaken)
            .first()
            .map(|(at, _)| *at + self.budget.send_timeout)
    }

    /// The send timeout.
    pub fn send_timeout(&self) -> Duration {
        self.budget.send_timeout
    }

    /// Remembers the task that reads the connection, to wake it when a chunk starts to wait.
    pub fn set_reader(&self, waker: &Waker) {
        let mut slot = lock(&self.waker);
        if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
            *slot = Some(waker.clone());
        }
    }

    /// A future completing when bytes are given back anywhere on the server (register it
    /// before trying again, so that no release is missed); call [`Self::done_waiting`] after.
    pub fn freed(&self) -> tokio::sync::futures::OwnedNotified {
        self.budget.waiting.fetch_add(1, Ordering::AcqRel);
        self.budget.freed.clone().notified_owned()
    }

    /// Ends a wait begun with [`Self::freed`].
    pub fn done_waiting(&self) {
        self.budget.waiting.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_are_bounded_per_connection_and_per_server_and_given_back() {
        let budget = SendBudget::new(1_000, 600, Duration::from_secs(1));
        let a = ConnectionState::new(budget.clone());
        let b = ConnectionState::new(budget.clone());
        // One chunk always fits on an empty connection, even over the bound.
        a.try_reserve(700).unwrap();
        assert!(matches!(
            a.try_reserve(1),
            Err(Exhausted::Connection { held: 700, .. })
        ));
        b.try_reserve(300).unwrap();
        assert!(matches!(
            b.try_reserve(100),
            Err(Exhausted::Server { held: 1_000, .. })
        ));
        assert_eq!(b.held(), 300, "a refused reservation is rolled back");
        a.release(700);
        assert_eq!((a.held(), budget.held()), (0, 300));
        b.release(300);
        assert_eq!(budget.held(), 0);
    }

    #[test]
    fn the_send_timer_runs_from_the_oldest_chunk_not_taken_on() {
        let c = ConnectionState::new(SendBudget::new(1, 1, Duration::from_secs(5)));
        assert!(c.stall_due().is_none());
        let first = c.handed();
        let due = c.stall_due().unwrap();
        let second = c.handed();
        assert_eq!(c.stall_due(), Some(due), "the oldest chunk decides");
        c.taken(first);
        assert!(c.stall_due().unwrap() >= due);
        c.taken(second);
        assert!(c.stall_due().is_none());
    }
}
