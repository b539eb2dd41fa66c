//! Flood control: a token bucket per connection. A line beyond the allowance
//! is not dropped; the reader simply waits before taking it, so the sender is
//! slowed down by TCP itself. A costly answer (`USERS`, `HISTORY`...) costs
//! more than its line: the dispatcher charges the connection's [`Debt`],
//! and the reader pays it from the bucket before its next line.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Lines per second and burst size; a rate of 0 turns flood control off.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FloodLimit {
    pub rate: f64,
    pub burst: u32,
}

/// Tokens a connection owes for the size of the answers it asked for, shared
/// by the dispatcher, which charges it (one atomic add: it never waits), and
/// the connection's reader, which pays it off before reading its next line.
/// Made with the connection's outbox, so both ends hold it from the start.
#[derive(Debug, Clone, Default)]
pub struct Debt(Arc<AtomicU64>);

impl Debt {
    /// Adds `tokens` to what the connection owes.
    pub fn charge(&self, tokens: u64) {
        if tokens > 0 {
            self.0.fetch_add(tokens, Ordering::Relaxed);
        }
    }

    /// What the connection owes now.
    pub fn owed(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    /// Takes everything owed, leaving nothing.
    fn settle(&self) -> u64 {
        if self.owed() == 0 {
            return 0;
        }
        self.0.swap(0, Ordering::AcqRel)
    }
}

/// A token bucket: `burst` lines at once, then `rate` lines per second, less
/// what its [`Debt`] says the connection owes.
#[derive(Debug)]
pub struct Bucket {
    limit: FloodLimit,
    tokens: f64,
    last: Instant,
    debt: Debt,
}

impl Bucket {
    /// A full bucket.
    pub fn new(limit: FloodLimit) -> Bucket {
        Bucket {
            limit,
            tokens: f64::from(limit.burst.max(1)),
            last: Instant::now(),
            debt: Debt::default(),
        }
    }

    /// The same bucket, paying off `debt` (shared with the dispatcher).
    #[must_use]
    pub fn owing(mut self, debt: Debt) -> Bucket {
        self.debt = debt;
        self
    }

    /// Takes a token for a line at time `now`, and what the connection owes
    /// for earlier answers; returns how long to wait first.
    pub fn take_at(&mut self, now: Instant) -> Duration {
        let owed = self.debt.settle();
        if self.limit.rate <= 0.0 {
            return Duration::ZERO;
        }
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        let cap = f64::from(self.limit.burst.max(1));
        // u64 to f64: a debt is far below 2^52 tokens.
        let owed = owed as f64;
        self.tokens = (self.tokens + elapsed * self.limit.rate).min(cap) - 1.0 - owed;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            // The debt is paid by waiting; the refill during the wait covers it.
            Duration::from_secs_f64(-self.tokens / self.limit.rate)
        }
    }

    /// Takes a token for a line, sleeping until one is due.
    pub fn take(&mut self) {
        let wait = self.take_at(Instant::now());
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_rate() {
        let t0 = Instant::now();
        let mut b = Bucket::new(FloodLimit {
            rate: 10.0,
            burst: 3,
        });
        b.last = t0;
        for _ in 0..3 {
            assert_eq!(b.take_at(t0), Duration::ZERO);
        }
        let wait = b.take_at(t0);
        assert!((wait.as_secs_f64() - 0.1).abs() < 1e-9, "{wait:?}");
        // After a second of quiet the bucket holds `burst` again, never more.
        let t1 = t0 + Duration::from_secs(5);
        for _ in 0..3 {
            assert_eq!(b.take_at(t1), Duration::ZERO);
        }
        assert!(b.take_at(t1) > Duration::ZERO);
    }

    #[test]
    fn a_debt_is_paid_before_the_next_line() {
        let t0 = Instant::now();
        let debt = Debt::default();
        let mut b = Bucket::new(FloodLimit {
            rate: 10.0,
            burst: 5,
        })
        .owing(debt.clone());
        b.last = t0;
        assert_eq!(b.take_at(t0), Duration::ZERO);
        // The dispatcher charges 14 tokens for an answer: 4 are left, so
        // the next line waits 11 tokens' worth, 1.1 s.
        debt.charge(14);
        assert_eq!(debt.owed(), 14);
        let wait = b.take_at(t0);
        assert!((wait.as_secs_f64() - 1.1).abs() < 1e-9, "{wait:?}");
        assert_eq!(debt.owed(), 0, "paid");
        // Paid once: after the wait the bucket refills as usual.
        let t1 = t0 + Duration::from_secs(3);
        assert_eq!(b.take_at(t1), Duration::ZERO);
        // With flood control off a debt costs nothing, and is not kept.
        let off = Debt::default();
        let mut free = Bucket::new(FloodLimit {
            rate: 0.0,
            burst: 1,
        })
        .owing(off.clone());
        off.charge(1000);
        assert_eq!(free.take_at(t0), Duration::ZERO);
        assert_eq!(off.owed(), 0);
    }

    #[test]
    fn rate_zero_is_off() {
        let mut b = Bucket::new(FloodLimit {
            rate: 0.0,
            burst: 1,
        });
        let now = Instant::now();
        for _ in 0..10_000 {
            assert_eq!(b.take_at(now), Duration::ZERO);
        }
    }
}
