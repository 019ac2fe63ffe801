//! A lock-free latency histogram: many workers record at once, `/stats` reads.
//!
//! Written by hand on purpose: `hdrhistogram` needs `&mut` to record, which means a
//! mutex every worker fights over on every event. Here a record is two relaxed
//! atomic adds (and a read of the maximum) into log-linear buckets (4 per power of two, so any quantile is
//! within 25% of the truth), which is plenty to tell 2 ms from 200 ms.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Sub-buckets per power of two.
const SUB: usize = 4;
/// Powers of two covered, in microseconds: up to 2^40 µs (about 12 days).
const POWERS: usize = 40;
const BUCKETS: usize = POWERS * SUB;

/// Enqueue-to-done latencies, recorded concurrently.
#[derive(Debug)]
pub struct LatencyHistogram {
    buckets: Box<[AtomicU64]>,
    sum_us: AtomicU64,
    max_us: AtomicU64,
}

/// What the histogram says, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Events recorded.
    pub count: u64,
    /// Their mean latency.
    pub mean_ms: f64,
    /// The median (bucket upper bound).
    pub p50_ms: f64,
    /// The 99th percentile (bucket upper bound).
    pub p99_ms: f64,
    /// The largest latency recorded (exact).
    pub max_ms: f64,
    /// Sum of all latencies in microseconds: lets a sampler compute the mean of
    /// just the events finished between two readings.
    pub sum_us: u64,
}

impl LatencyHistogram {
    /// An empty histogram.
    pub fn new() -> Self {
        LatencyHistogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            sum_us: AtomicU64::new(0),
            max_us: AtomicU64::new(0),
        }
    }

    /// Records one latency.
    pub fn record(&self, latency: Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.buckets[bucket(us)].fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
        // A plain read first: a new maximum is rare, and a read costs far less than
        // the read-modify-write that `fetch_max` always is.
        if us > self.max_us.load(Ordering::Relaxed) {
            self.max_us.fetch_max(us, Ordering::Relaxed);
        }
    }

    /// The figures so far. Concurrent records may be half-seen; each figure is
    /// still a real latency, never garbage.
    pub fn summary(&self) -> LatencySummary {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let count: u64 = counts.iter().sum();
        let sum_us = self.sum_us.load(Ordering::Relaxed);
        let max_us = self.max_us.load(Ordering::Relaxed);
        let quantile = |q: f64| -> f64 {
            if count == 0 {
                return 0.0;
            }
            let rank = ((count as f64) * q).ceil().max(1.0) as u64;
            let mut seen = 0;
            for (i, n) in counts.iter().enumerate() {
                seen += n;
                if seen >= rank {
                    return upper_bound(i).min(max_us) as f64 / 1000.0;
                }
            }
            max_us as f64 / 1000.0
        };
        LatencySummary {
            count,
            mean_ms: if count == 0 {
                0.0
            } else {
                sum_us as f64 / count as f64 / 1000.0
            },
            p50_ms: quantile(0.5),
            p99_ms: quantile(0.99),
            max_ms: max_us as f64 / 1000.0,
            sum_us,
        }
    }
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

/// The bucket of a latency in µs: the power of two, then which quarter of it.
fn bucket(us: u64) -> usize {
    if us < SUB as u64 {
        return us as usize;
    }
    let power = 63 - us.leading_zeros() as usize; // us >= 4, so power >= 2
    let quarter = ((us >> (power - 2)) & 0b11) as usize;
    (power * SUB + quarter).min(BUCKETS - 1)
}

/// The largest latency (µs) that lands in bucket `i`.
fn upper_bound(i: usize) -> u64 {
    if i < SUB {
        return i as u64;
    }
    let power = i / SUB;
    let quarter = (i % SUB) as u64;
    let step = 1u64 << (power - 2);
    (1u64 << power) + (quarter + 1) * step - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_ordered() {
        let mut last = 0;
        for us in 0..100_000u64 {
            let b = bucket(us);
            assert!(b >= last, "bucket order broke at {us} us");
            assert!(us <= upper_bound(b), "{us} us above its bucket's bound");
            last = b;
        }
    }

    #[test]
    fn quantiles_are_close() {
        let h = LatencyHistogram::new();
        for ms in 1..=100u64 {
            h.record(Duration::from_millis(ms));
        }
        let s = h.summary();
        assert_eq!(s.count, 100);
        assert!((s.mean_ms - 50.5).abs() < 0.01, "{s:?}");
        assert!(s.p50_ms >= 50.0 && s.p50_ms <= 50.0 * 1.19, "{s:?}");
        assert!(s.p99_ms >= 99.0 && s.p99_ms <= 100.0, "{s:?}");
        assert_eq!(s.max_ms, 100.0);
    }
}
