//! Flood control: a token bucket per connection. A line beyond the allowance
//! is not dropped; the reader simply waits before taking it, so the sender is
//! slowed down by TCP itself.

use std::time::{Duration, Instant};

/// Lines per second and burst size; a rate of 0 turns flood control off.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FloodLimit {
    pub rate: f64,
    pub burst: u32,
}

/// A token bucket: `burst` lines at once, then `rate` lines per second.
#[derive(Debug)]
pub struct Bucket {
    limit: FloodLimit,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    /// A full bucket.
    pub fn new(limit: FloodLimit) -> Bucket {
        Bucket {
            limit,
            tokens: f64::from(limit.burst.max(1)),
            last: Instant::now(),
        }
    }

    /// Takes a token for a line at time `now`; returns how long to wait first.
    pub fn take_at(&mut self, now: Instant) -> Duration {
        if self.limit.rate <= 0.0 {
            return Duration::ZERO;
        }
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        let cap = f64::from(self.limit.burst.max(1));
        self.tokens = (self.tokens + elapsed * self.limit.rate).min(cap) - 1.0;
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
