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

/// One point of a latency distribution's CDF: the fraction `q` of samples
/// at or below `ns` nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct CdfPoint {
    /// The quantile, in 0..=1.
    pub q: f64,
    /// The latency at that quantile, ns.
    pub ns: u64,
}

/// The quantiles [`LatencyHistogram::cdf`] reports: dense in the middle,
/// then the tail's nines, so a CDF drawn through them shows both the body
/// and the tail of the distribution.
pub const CDF_QUANTILES: [f64; 26] = [
    0.0, 0.01, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95,
    0.99, 0.995, 0.999, 0.9999, 1.0,
];

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

    /// The distribution as CDF points at [`CDF_QUANTILES`] (empty without
    /// samples): a compact export of the histogram, the same for the same
    /// samples. Quantile 0 is the smallest sample, 1 the largest.
    pub fn cdf(&self) -> Vec<CdfPoint> {
        if self.h.is_empty() {
            return Vec::new();
        }
        CDF_QUANTILES
            .iter()
            .map(|&q| {
                let ns = if q == 0.0 { self.h.min() } else { self.h.value_at_quantile(q) };
                CdfPoint { q, ns }
            })
            .collect()
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
    fn cdf_of_a_uniform_ramp_follows_its_quantiles() {
        let mut h = LatencyHistogram::new();
        for v in 1..=1000 {
            h.record_ns(v);
        }
        let cdf = h.cdf();
        assert_eq!(cdf.len(), CDF_QUANTILES.len());
        assert_eq!((cdf[0].q, cdf[0].ns), (0.0, 1));
        assert_eq!(cdf.last().map(|p| (p.q, p.ns)), Some((1.0, 1000)));
        for p in &cdf[1..cdf.len() - 1] {
            let expected = p.q * 1000.0;
            assert!((p.ns as f64 - expected).abs() <= 2.0, "q {} gave {} ns", p.q, p.ns);
        }
        assert!(cdf.windows(2).all(|w| w[0].ns <= w[1].ns && w[0].q < w[1].q));
    }

    #[test]
    fn empty_histogram_has_no_cdf() {
        assert!(LatencyHistogram::new().cdf().is_empty());
    }

    #[test]
    fn empty_histogram_summarises_to_zero() {
        assert_eq!(LatencyHistogram::new().summary(), LatencySummary::default());
    }
}
