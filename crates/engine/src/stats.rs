//! Statistics: plain counters and HDR latency histograms.
//!
//! Latencies are recorded in whole nanoseconds into an HDR histogram with 3
//! significant digits (±0.1 %), which is what `latency_ns` percentiles report.

use hdrhistogram::Histogram;
use serde::Serialize;

/// A monotonically increasing event count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counter(pub u64);

impl Counter {
    /// Adds one.
    pub fn inc(&mut self) {
        self.0 += 1;
    }
    /// Adds `n`.
    pub fn add(&mut self, n: u64) {
        self.0 += n;
    }
    /// The count.
    pub fn get(&self) -> u64 {
        self.0
    }
}

/// A latency distribution in nanoseconds.
#[derive(Clone, Debug)]
pub struct LatencyHistogram {
    h: Histogram<u64>,
    sum_ns: u128,
}

/// Percentiles of a latency distribution, in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Number of samples.
    pub count: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest sample.
    pub max: u64,
    /// Arithmetic mean (exact, not from buckets).
    pub mean: f64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyHistogram {
    /// An empty histogram covering 1 ns .. about 1 hour at 3 significant digits.
    pub fn new() -> Self {
        let h = Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("constant histogram bounds are valid");
        LatencyHistogram { h, sum_ns: 0 }
    }

    /// Records one sample (values are clamped into the histogram's range).
    pub fn record_ns(&mut self, ns: u64) {
        self.h.saturating_record(ns.max(1));
        self.sum_ns += ns as u128;
    }

    /// Number of samples.
    pub fn count(&self) -> u64 {
        self.h.len()
    }

    /// The underlying HDR histogram (for export in HdrHistogram's formats).
    pub fn histogram(&self) -> &Histogram<u64> {
        &self.h
    }

    /// Adds another histogram's samples.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        self.h.add(&other.h).expect("histograms with identical bounds merge");
        self.sum_ns += other.sum_ns;
    }

    /// The usual percentiles.
    pub fn summary(&self) -> LatencySummary {
        let n = self.h.len();
        if n == 0 {
            return LatencySummary::default();
        }
        LatencySummary {
            count: n,
            p50: self.h.value_at_quantile(0.50),
            p90: self.h.value_at_quantile(0.90),
            p99: self.h.value_at_quantile(0.99),
            p999: self.h.value_at_quantile(0.999),
            max: self.h.max(),
            mean: (self.sum_ns as f64) / n as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_uniform_ramp() {
        let mut h = LatencyHistogram::new();
        for v in 1..=1000 {
            h.record_ns(v);
        }
        let s = h.summary();
        assert_eq!(s.count, 1000);
        assert!((499..=501).contains(&s.p50), "p50 {}", s.p50);
        assert!((989..=991).contains(&s.p99), "p99 {}", s.p99);
        assert_eq!(s.max, 1000);
        assert!((s.mean - 500.5).abs() < 1e-9);
    }

    #[test]
    fn empty_histogram_summarises_to_zero() {
        assert_eq!(LatencyHistogram::new().summary(), LatencySummary::default());
    }
}
