//! Answer bytes held for clients that have not read them: each response body reserves the
//! bytes of a chunk before handing it to HTTP/2, and the connection gives them back as DATA
//! frames reach its socket. Reservations are bounded per connection and per server; a
//! connection that holds unread bytes and sends none of them for the send timeout is closed
//! by the acceptor (its streams are reset and their memory freed).

use std::{
    sync::{
        Arc, Mutex,
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
    /// A budget of `limit` bytes in all, `per_connection` on one connection; bytes held
    /// longer than `send_timeout` without progress close their connection.
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
        /// Bytes it holds.
        held: u64,
        /// Its bound.
        limit: u64,
    },
    /// The server-wide bound.
    Server {
        /// Bytes all connections hold.
        held: u64,
        /// The bound.
        limit: u64,
    },
}

/// What one connection uses of the server's limits: its requests in flight and the answer
/// bytes it holds for its client. The acceptor creates one per connection and puts it into
/// [`crate::acceptor::PeerInfo`].
#[derive(Debug)]
pub struct ConnectionState {
    in_flight: Arc<AtomicUsize>,
    held: AtomicU64,
    budget: Arc<SendBudget>,
    opened: Instant,
    /// When the connection last sent answer bytes, or began to hold some (nanoseconds
    /// since `opened`).
    progress: AtomicU64,
    waker: Mutex<Option<Waker>>,
}

impl ConnectionState {
    /// A connection under `budget`.
    pub fn new(budget: Arc<SendBudget>) -> Arc<Self> {
        Arc::new(Self {
            in_flight: Arc::new(AtomicUsize::new(0)),
            held: AtomicU64::new(0),
            budget,
            opened: Instant::now(),
            progress: AtomicU64::new(0),
            waker: Mutex::new(None),
        })
    }

    /// The counter of requests in flight on this connection.
    pub fn in_flight(&self) -> &Arc<AtomicUsize> {
        &self.in_flight
    }

    /// Answer bytes this connection holds for its client.
    pub fn held(&self) -> u64 {
        self.held.load(Ordering::Relaxed)
    }

    /// The server-wide budget.
    pub fn budget(&self) -> &Arc<SendBudget> {
        &self.budget
    }

    fn mark_progress(&self) {
        let nanos = u64::try_from(self.opened.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.progress.store(nanos, Ordering::Release);
    }

    /// Reserves `bytes` of answer for this connection. One chunk always fits on a connection
    /// (and a server) that holds nothing, so an answer larger than a bound is still sent.
    pub fn try_reserve(&self, bytes: u64) -> Result<(), Exhausted> {
        let limit = self.budget.per_connection;
        let before = self
            .held
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
        if before == 0 {
            // The send timeout runs from now; wake the connection so that it arms its timer.
            self.mark_progress();
            let waker = match self.waker.lock() {
                Ok(mut w) => w.take(),
                Err(p) => p.into_inner().take(),
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        }
        Ok(())
    }

    /// `bytes` of DATA payload reached the socket.
    pub fn sent(&self, bytes: u64) {
        if bytes == 0 {
            return;
        }
        let freed = match self
            .held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                Some(held.saturating_sub(bytes))
            }) {
            Ok(before) | Err(before) => before.min(bytes),
        };
        if freed > 0 {
            self.mark_progress();
            self.budget.give_back(freed);
        }
    }

    /// Gives back everything the connection holds (it closed).
    pub fn release_all(&self) {
        let held = self.held.swap(0, Ordering::AcqRel);
        self.budget.give_back(held);
    }

    /// When the connection counts as stalled if it sends none of its held bytes by then;
    /// `None` while it holds none.
    pub fn stall_due(&self) -> Option<Instant> {
        if self.held() == 0 {
            return None;
        }
        let since = Duration::from_nanos(self.progress.load(Ordering::Acquire));
        Some(self.opened + since + self.budget.send_timeout)
    }

    /// The send timeout.
    pub fn send_timeout(&self) -> Duration {
        self.budget.send_timeout
    }

    /// Remembers the task that reads the connection, to wake it when it begins to hold bytes.
    pub fn set_reader(&self, waker: &Waker) {
        let mut slot = match self.waker.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
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

/// Counts the DATA payload in the HTTP/2 frames a server writes (its byte stream is frames
/// only: a 9-byte header with a 24-bit length and a type, then the payload).
#[derive(Debug, Default)]
pub struct DataFrameCounter {
    header: [u8; 9],
    header_len: usize,
    payload_left: usize,
    in_data: bool,
}

/// The HTTP/2 DATA frame type.
const DATA: u8 = 0;

impl DataFrameCounter {
    /// The DATA payload bytes in `written`, the next bytes of the stream.
    pub fn data_bytes(&mut self, mut written: &[u8]) -> u64 {
        let mut data = 0u64;
        while !written.is_empty() {
            if self.payload_left > 0 {
                let take = self.payload_left.min(written.len());
                if self.in_data {
                    data += take as u64;
                }
                self.payload_left -= take;
                written = &written[take..];
                continue;
            }
            let take = (9 - self.header_len).min(written.len());
            self.header[self.header_len..self.header_len + take].copy_from_slice(&written[..take]);
            self.header_len += take;
            written = &written[take..];
            if self.header_len == 9 {
                let h = self.header;
                self.payload_left =
                    (usize::from(h[0]) << 16) | (usize::from(h[1]) << 8) | usize::from(h[2]);
                self.in_data = h[3] == DATA;
                self.header_len = 0;
            }
        }
        data
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: u8, payload: usize) -> Vec<u8> {
        let mut f = vec![
            (payload >> 16) as u8,
            (payload >> 8) as u8,
            payload as u8,
            kind,
            0,
            0,
            0,
            0,
            1,
        ];
        f.extend(std::iter::repeat_n(7u8, payload));
        f
    }

    #[test]
    fn only_data_payload_is_counted_however_the_writes_split_the_frames() {
        let mut stream = frame(4, 6); // SETTINGS
        stream.extend(frame(1, 40)); // HEADERS
        stream.extend(frame(0, 1000)); // DATA
        stream.extend(frame(6, 8)); // PING
        stream.extend(frame(0, 0)); // empty DATA
        stream.extend(frame(0, 17)); // DATA
        for split in [1, 2, 5, 9, 13, 100, stream.len()] {
            let mut counter = DataFrameCounter::default();
            let counted: u64 = stream.chunks(split).map(|c| counter.data_bytes(c)).sum();
            assert_eq!(counted, 1017, "split into pieces of {split}");
        }
    }

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
        assert!(a.stall_due().is_some());
        a.sent(5_000);
        assert_eq!((a.held(), budget.held()), (0, 300));
        assert!(a.stall_due().is_none());
        b.release_all();
        assert_eq!(budget.held(), 0);
    }
}
