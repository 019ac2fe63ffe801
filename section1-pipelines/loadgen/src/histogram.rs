//! Latency recording: HdrHistogram in microseconds, 3 significant digits.
//!
//! A histogram, not a list of samples, because its size is fixed however many
//! requests a run sends (a few tens of KiB), and percentiles from it are exact to
//! 0.1%. Each connection records into its own histogram, without locks, and the run
//! adds them up at the end.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// The longest latency a histogram can hold; longer ones are clamped to it.
/// Requests time out long before (30 s by default).
pub const MAX_LATENCY: Duration = Duration::from_secs(3600);

/// A latency histogram with microsecond resolution and 3 significant digits.
#[derive(Clone, Debug)]
pub struct Latencies {
    histogram: Histogram<u64>,
}

impl Default for Latencies {
    fn default() -> Self {
        Latencies::new()
    }
}

impl Latencies {
    /// An empty histogram covering 1 µs to [`MAX_LATENCY`].
    pub fn new() -> Self {
        Latencies {
            histogram: Histogram::new_with_bounds(1, MAX_LATENCY.as_micros() as u64, 3)
                .expect("constant bounds are valid"),
        }
    }

    /// Records one latency (sub-microsecond ones count as 1 µs).
    pub fn record(&mut self, latency: Duration) {
        let micros = (latency.as_micros() as u64).max(1);
        self.histogram.saturating_record(micros);
    }

    /// Adds every value of `other` into this histogram.
    pub fn merge(&mut self, other: &Latencies) {
        self.histogram
            .add(&other.histogram)
            .expect("histograms with the same bounds always add");
    }

    /// How many latencies were recorded.
    pub fn count(&self) -> u64 {
        self.histogram.len()
    }

    /// Mean, percentiles and maximum; all zero for an empty histogram.
    pub fn summary(&self) -> LatencySummary {
        let h = &self.histogram;
        if h.is_empty() {
            return LatencySummary::default();
        }
        LatencySummary {
            mean_us: h.mean(),
            p50_us: h.value_at_quantile(0.50),
            p90_us: h.value_at_quantile(0.90),
            p99_us: h.value_at_quantile(0.99),
            p999_us: h.value_at_quantile(0.999),
            max_us: h.max(),
        }
    }
}

/// The figures a report shows for one latency distribution, in microseconds.
///
/// Percentiles are the histogram's "highest equivalent value": within 0.1% of
/// the true value, and never below it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Arithmetic mean.
    pub mean_us: f64,
    /// Median.
    pub p50_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// The slowest request.
    pub max_us: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn percentiles_of_one_to_a_thousand_ms() {
        let mut latencies = Latencies::new();
        for n in 1..=1000 {
            latencies.record(ms(n));
        }
        let s = latencies.summary();
        // 3 significant digits: each figure within 0.1% of the exact one, never below.
        let close = |got: u64, want_ms: u64| {
            let want = want_ms * 1000;
            assert!(got >= want && got <= want + want / 1000, "{got} vs {want}");
        };
        close(s.p50_us, 500);
        close(s.p90_us, 900);
        close(s.p99_us, 990);
        close(s.p999_us, 999);
        close(s.max_us, 1000);
        assert!((s.mean_us - 500_500.0).abs() < 500.0, "{}", s.mean_us);
        assert_eq!(latencies.count(), 1000);
    }

    #[test]
    fn merging_equals_recording_in_one() {
        let (mut a, mut b, mut all) = (Latencies::new(), Latencies::new(), Latencies::new());
        for n in 1..=100 {
            let target = if n % 2 == 0 { &mut a } else { &mut b };
            target.record(ms(n));
            all.record(ms(n));
        }
        a.merge(&b);
        assert_eq!(a.summary(), all.summary());
    }

    #[test]
    fn empty_and_extreme_values_do_not_panic() {
        assert_eq!(Latencies::new().summary(), LatencySummary::default());
        let mut l = Latencies::new();
        l.record(Duration::ZERO);
        l.record(Duration::from_secs(100_000));
        let s = l.summary();
        assert_eq!(s.p50_us, 1);
        assert!(s.max_us >= MAX_LATENCY.as_micros() as u64);
    }
}
