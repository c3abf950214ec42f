//! Injected time. Logic asks a [`Clock`]; tests use [`ManualClock`] and never sleep.
//!
//! A clock answers two questions: the calendar time ([`Clock::now`], for anything stored,
//! sent or compared with another machine's time) and a monotonic instant
//! ([`Clock::instant`], for intervals measured inside this process: rate limits, cache ages,
//! timeouts), which never jumps when the system clock is set.

use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current instant, UTC.
    fn now(&self) -> DateTime<Utc>;

    /// The current monotonic instant (only differences between two of them mean anything).
    fn instant(&self) -> Instant;
}

/// The wall clock. The only place Aviary reads system time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn instant(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that moves only when told to: the test double. Its monotonic instant moves with
/// it (from an arbitrary base; moving the clock back before its start holds it at the base).
#[derive(Debug, Clone)]
pub struct ManualClock {
    micros: Arc<AtomicI64>,
    start_micros: i64,
    base: Instant,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            micros: Arc::new(AtomicI64::new(start.timestamp_micros())),
            start_micros: start.timestamp_micros(),
            base: Instant::now(),
        }
    }

    /// Moves the clock forward (or back, with a negative duration).
    pub fn advance(&self, by: Duration) {
        let us = by.num_microseconds().unwrap_or(i64::MAX);
        self.micros.fetch_add(us, Ordering::SeqCst);
    }

    /// Sets the clock to `t`.
    pub fn set(&self, t: DateTime<Utc>) {
        self.micros.store(t.timestamp_micros(), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.micros.load(Ordering::SeqCst)).unwrap_or_default()
    }

    fn instant(&self) -> Instant {
        let since_start = self.micros.load(Ordering::SeqCst) - self.start_micros;
        self.base + std::time::Duration::from_micros(since_start.max(0).unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let c = ManualClock::new(t0);
        assert_eq!(c.now(), t0);
        c.advance(Duration::seconds(90));
        assert_eq!(c.now(), t0 + Duration::seconds(90));
        let shared = c.clone();
        shared.advance(Duration::seconds(10));
        assert_eq!(c.now(), t0 + Duration::seconds(100));
    }

    #[test]
    fn manual_instants_move_with_the_clock() {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let c = ManualClock::new(t0);
        let i0 = c.instant();
        assert_eq!(c.instant(), i0, "still");
        c.advance(Duration::milliseconds(1500));
        assert_eq!(
            c.instant().duration_since(i0),
            std::time::Duration::from_millis(1500)
        );
        c.set(t0 - Duration::seconds(5));
        assert_eq!(c.instant(), i0, "held at the base before the start");
    }
}
