//! A small log-bucketed latency histogram (values in microseconds).
//!
//! Values below 1024 are kept exactly; above, each power of two is split into
//! 512 buckets, so a reported percentile is at most 0.2 % above the true
//! value. Memory grows with the largest value seen (about 16 K buckets for an
//! hour), recording is O(1).

const SUB_BITS: u32 = 10;
const EXACT: u64 = 1 << SUB_BITS;
const HALF: usize = 1 << (SUB_BITS - 1);

#[derive(Clone, Debug, Default)]
pub struct Hist {
    buckets: Vec<u64>,
    count: u64,
    sum: u128,
    min: u64,
    max: u64,
}

fn index_of(v: u64) -> usize {
    if v < EXACT {
        return v as usize;
    }
    let msb = 63 - v.leading_zeros();
    let shift = msb - (SUB_BITS - 1);
    ((shift as usize) << (SUB_BITS - 1)) + (v >> shift) as usize
}

/// Largest value that falls into bucket `i`.
fn highest_of(i: usize) -> u64 {
    if (i as u64) < EXACT {
        return i as u64;
    }
    let shift = (i / HALF - 1) as u32;
    let sub = (i - ((shift as usize) << (SUB_BITS - 1))) as u64;
    // wraps to u64::MAX for the very last bucket
    ((sub + 1) << shift).wrapping_sub(1)
}

impl Hist {
    pub fn record(&mut self, v: u64) {
        let i = index_of(v);
        if i >= self.buckets.len() {
            self.buckets.resize(i + 1, 0);
        }
        self.buckets[i] += 1;
        if self.count == 0 || v < self.min {
            self.min = v;
        }
        self.max = self.max.max(v);
        self.count += 1;
        self.sum += u128::from(v);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn max(&self) -> u64 {
        self.max
    }

    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum as f64 / self.count as f64
        }
    }

    /// Value at quantile `q` (0..=1): the smallest recorded bucket value with
    /// at least `ceil(q * count)` values at or below it. None when empty.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Some(highest_of(i).clamp(self.min, self.max));
            }
        }
        Some(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_tight() {
        let mut last = 0;
        for v in 0..200_000u64 {
            let i = index_of(v);
            assert!(i == last || i == last + 1, "gap at {v}");
            last = i;
            let hi = highest_of(i);
            assert!(hi >= v, "{v} above its bucket {hi}");
            assert!((hi - v) as f64 <= v as f64 * 0.002 + 1.0, "{v} vs {hi}");
        }
        assert_eq!(highest_of(index_of(u64::MAX)), u64::MAX);
    }

    #[test]
    fn percentiles_of_uniform_values() {
        let mut h = Hist::default();
        assert_eq!(h.quantile(0.5), None);
        for v in 1..=1000 {
            h.record(v);
        }
        assert_eq!(h.quantile(0.5), Some(500));
        assert_eq!(h.quantile(0.99), Some(990));
        assert_eq!(h.quantile(1.0), Some(1000));
        assert_eq!(h.quantile(0.0), Some(1));
        assert_eq!(h.max(), 1000);
        assert!((h.mean() - 500.5).abs() < 1e-9);
    }

    #[test]
    fn large_values_within_precision() {
        let mut h = Hist::default();
        for v in [1_000_000u64, 2_000_000, 3_000_000] {
            h.record(v);
        }
        let p50 = h.quantile(0.5).unwrap_or(0);
        assert!((2_000_000..=2_004_000).contains(&p50), "{p50}");
        assert_eq!(h.quantile(1.0), Some(3_000_000));
    }
}
