//! One latency histogram over `hdrhistogram`, with exact count/min/max/sum kept beside it.
//!
//! HDR buckets are log-linear with 2048 sub-buckets per power of two, so any reported percentile is
//! within 1/1024 (< 0.1%) above the true sample; min, max and mean are kept exactly because they cost
//! two compares and an add, and users compare them against their own clocks.

use hdrhistogram::Histogram;

/// One hour in nanoseconds: longer durations are clamped to it (the exact max is still kept).
pub const HIGHEST_NS: u64 = 3_600_000_000_000;
/// Significant decimal digits the buckets preserve.
pub const SIGFIG: u8 = 3;

#[derive(Clone, Debug)]
pub struct Hist {
    h: Histogram<u64>,
    count: u64,
    min: u64,
    max: u64,
    // u128: 1e9 samples of an hour each would overflow a u64 sum.
    sum: u128,
}

/// Everything `summary()` shows for one histogram, in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    pub count: u64,
    pub min: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
    pub mean: f64,
}

impl Default for Hist {
    fn default() -> Self {
        Self::new()
    }
}

impl Hist {
    pub fn new() -> Self {
        // Fixed bounds, so `record` never resizes (auto-resize is off by default for this constructor).
        let h = Histogram::new_with_bounds(1, HIGHEST_NS, SIGFIG).expect("constant bounds are valid");
        Hist { h, count: 0, min: u64::MAX, max: 0, sum: 0 }
    }

    #[inline]
    pub fn record(&mut self, ns: u64) {
        self.h.saturating_record(ns);
        self.count += 1;
        self.min = self.min.min(ns);
        self.max = self.max.max(ns);
        self.sum += ns as u128;
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// Smallest sample, exact; 0 when empty.
    pub fn min(&self) -> u64 {
        if self.count == 0 {
            0
        } else {
            self.min
        }
    }

    /// Largest sample, exact (even above `HIGHEST_NS`); 0 when empty.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// Exact arithmetic mean; 0.0 when empty.
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum as f64 / self.count as f64
        }
    }

    /// Nearest-rank percentile (`p` in 0..=100): the sample at rank ceil(p/100·n), reported as the top
    /// of its HDR bucket and never above the exact max; 0 when empty.
    pub fn percentile(&self, p: f64) -> u64 {
        self.percentiles(&[p])[0]
    }

    /// `percentile` for several `ps`. Each is its own scan of the counts: hdrhistogram's recorded-bucket
    /// iterator would make it one pass, but measured 3x slower (benches/stats.rs, summary).
    pub fn percentiles(&self, ps: &[f64]) -> Vec<u64> {
        let n = self.count;
        if n == 0 {
            return vec![0; ps.len()];
        }
        ps.iter()
            .map(|&p| {
                // The nudge down makes 99.9 % of 1000 samples rank 999 as meant, not 1000 because 99.9
                // is stored a hair above itself in binary.
                let x = p * n as f64 / 100.0;
                let rank = (x - x * 1e-12).ceil().clamp(1.0, n as f64) as u64;
                if p <= 0.0 || rank == 1 {
                    self.min
                } else if rank == n {
                    // The top rank is the max, kept exactly (even past the 1 h clamp).
                    self.max
                } else {
                    // Mid-rank quantile, so hdrhistogram's own ceil(q·n) lands on `rank` exactly.
                    let q = (rank as f64 - 0.5) / n as f64;
                    self.h.value_at_quantile(q).clamp(self.min, self.max)
                }
            })
            .collect()
    }

    pub fn summary(&self) -> Summary {
        let p = self.percentiles(&[50.0, 90.0, 99.0, 99.9]);
        Summary {
            count: self.count,
            min: self.min(),
            p50: p[0],
            p90: p[1],
            p99: p[2],
            p999: p[3],
            max: self.max,
            mean: self.mean(),
        }
    }

    /// Adds every sample of `other`, as if they had been recorded here.
    pub fn merge(&mut self, other: &Hist) {
        // Same bounds on both sides, so the add cannot need to grow the counts array.
        self.h.add(&other.h).expect("histograms with equal bounds always add");
        self.count += other.count;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.sum += other.sum;
    }

    pub fn reset(&mut self) {
        self.h.reset();
        self.count = 0;
        self.min = u64::MAX;
        self.max = 0;
        self.sum = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nearest_rank(sorted: &[u64], p: f64) -> u64 {
        let n = sorted.len() as f64;
        let rank = ((p / 100.0 * n).round() as usize).max(1);
        // Only called with p·n integral in these tests, so rounding is exact.
        sorted[rank - 1]
    }

    #[test]
    fn empty_reads_zero() {
        let h = Hist::new();
        assert_eq!(h.count(), 0);
        assert_eq!((h.min(), h.max(), h.percentile(99.0)), (0, 0, 0));
        assert_eq!(h.mean(), 0.0);
    }

    #[test]
    fn small_values_are_exact() {
        let mut h = Hist::new();
        for v in 1..=1000u64 {
            h.record(v);
        }
        assert_eq!(h.percentile(50.0), 500);
        assert_eq!(h.percentile(99.0), 990);
        assert_eq!(h.percentile(99.9), 999);
        assert_eq!(h.percentile(100.0), 1000);
        assert_eq!(h.percentile(0.0), 1);
        assert_eq!(h.mean(), 500.5);
    }

    #[test]
    fn large_values_within_three_significant_figures() {
        // A deterministic spread from 1 µs to ~1 s (xorshift: no dev-dependency needed).
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut vals = Vec::new();
        let mut h = Hist::new();
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = 1_000 + x % 1_000_000_000;
            vals.push(v);
            h.record(v);
        }
        vals.sort_unstable();
        for p in [10.0, 50.0, 90.0, 99.0, 99.9, 99.99] {
            let truth = nearest_rank(&vals, p);
            let got = h.percentile(p);
            assert!(got >= truth && got - truth <= truth / 1000, "p{p}: {got} vs {truth}");
        }
        // Many percentiles in one call, asked out of order and twice, land on the same truths.
        let ps = [99.99, 10.0, 99.0, 50.0, 90.0, 99.9, 50.0];
        for (&p, got) in ps.iter().zip(h.percentiles(&ps)) {
            let truth = nearest_rank(&vals, p);
            assert!(got >= truth && got - truth <= truth / 1000, "p{p}: {got} vs {truth}");
        }
        assert_eq!(h.max(), *vals.last().unwrap());
        assert_eq!(h.min(), vals[0]);
    }

    #[test]
    fn clamps_above_an_hour_but_keeps_exact_max() {
        let mut h = Hist::new();
        h.record(HIGHEST_NS * 10);
        assert_eq!(h.max(), HIGHEST_NS * 10);
        assert_eq!(h.count(), 1);
        assert_eq!(h.percentile(50.0), HIGHEST_NS * 10);
        h.record(5);
        assert_eq!(h.percentile(100.0), HIGHEST_NS * 10);
        assert_eq!(h.percentile(50.0), 5);
    }

    #[test]
    fn merge_equals_recording_everything() {
        let (mut a, mut b, mut all) = (Hist::new(), Hist::new(), Hist::new());
        for v in (0..5000u64).map(|i| i * i % 7919 + 3) {
            if v % 3 == 0 {
                a.record(v);
            } else {
                b.record(v);
            }
            all.record(v);
        }
        a.merge(&b);
        assert_eq!(a.summary(), all.summary());
        a.reset();
        assert_eq!(a.summary(), Hist::new().summary());
    }
}
