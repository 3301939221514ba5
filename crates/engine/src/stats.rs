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
///
/// Samples are counted in an array laid out as HdrHistogram lays out its
/// counts for 1 ns .. [`HIGHEST_NS`] at 3 significant digits; the
/// [`Histogram`] every reader sees is built from that array on first read,
/// and equals (`==`: counts, total, minimum and maximum) the one recording
/// each sample with `saturating_record` would give. Recording is then an
/// index computation and an add, per packet.
#[derive(Clone, Debug)]
pub struct LatencyHistogram {
    counts: Vec<u64>,
    len: u64,
    sum_ns: u128,
    built: std::cell::OnceCell<Histogram<u64>>,
}

/// The largest latency tracked, ns (about an hour); longer ones are
/// clamped to it.
pub const HIGHEST_NS: u64 = 3_600_000_000_000;

/// HdrHistogram's layout for lowest 1 and 3 significant digits: 2048
/// sub-buckets (the smallest power of two above 2 × 10^3), of which each
/// bucket after the first uses the upper half.
const SUB_BUCKET_HALF_MAGNITUDE: u32 = 10;
const SUB_BUCKET_MASK: u64 = (1 << (SUB_BUCKET_HALF_MAGNITUDE + 1)) - 1;
const LEADING_ZERO_COUNT_BASE: u32 = 64 - (SUB_BUCKET_HALF_MAGNITUDE + 1);

/// The counts-array index HdrHistogram gives `value` (its `index_for`).
#[inline]
fn hdr_index(value: u64) -> usize {
    let bucket = LEADING_ZERO_COUNT_BASE - (value | SUB_BUCKET_MASK).leading_zeros();
    let sub_bucket = (value >> bucket) as usize;
    ((bucket as usize + 1) << SUB_BUCKET_HALF_MAGNITUDE) + sub_bucket - (1 << SUB_BUCKET_HALF_MAGNITUDE)
}

/// The lowest value HdrHistogram counts at `index` (its `value_for`).
fn hdr_value(index: usize) -> u64 {
    let half = 1usize << SUB_BUCKET_HALF_MAGNITUDE;
    let bucket = (index >> SUB_BUCKET_HALF_MAGNITUDE) as i64 - 1;
    let mut sub_bucket = (index & (half - 1)) + half;
    if bucket < 0 {
        sub_bucket -= half;
        return sub_bucket as u64;
    }
    (sub_bucket as u64) << bucket
}

fn empty_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIGHEST_NS, 3).expect("constant histogram bounds are valid")
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
        let slots = empty_histogram().distinct_values();
        LatencyHistogram { counts: vec![0; slots], len: 0, sum_ns: 0, built: std::cell::OnceCell::new() }
    }

    /// Records one sample (values are clamped into the histogram's range).
    #[inline]
    pub fn record_ns(&mut self, ns: u64) {
        let mut i = hdr_index(ns.max(1));
        if i >= self.counts.len() {
            i = hdr_index(HIGHEST_NS);
        }
        self.counts[i] += 1;
        self.len += 1;
        self.sum_ns += ns as u128;
        if self.built.get().is_some() {
            self.built = std::cell::OnceCell::new();
        }
    }

    /// Number of samples.
    pub fn count(&self) -> u64 {
        self.len
    }

    /// The underlying HDR histogram (for export in HdrHistogram's formats).
    pub fn histogram(&self) -> &Histogram<u64> {
        self.built.get_or_init(|| {
            let mut h = empty_histogram();
            for (i, &n) in self.counts.iter().enumerate() {
                if n > 0 {
                    h.record_n(hdr_value(i), n).expect("a counted slot's value is in range");
                }
            }
            h
        })
    }

    /// Adds another histogram's samples.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.len += other.len;
        self.sum_ns += other.sum_ns;
        self.built = std::cell::OnceCell::new();
    }

    /// The usual percentiles.
    pub fn summary(&self) -> LatencySummary {
        let n = self.len;
        if n == 0 {
            return LatencySummary::default();
        }
        let h = self.histogram();
        LatencySummary {
            count: n,
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
            mean: (self.sum_ns as f64) / n as f64,
        }
    }

    /// The distribution as CDF points at [`CDF_QUANTILES`] (empty without
    /// samples): a compact export of the histogram, the same for the same
    /// samples. Quantile 0 is the smallest sample, 1 the largest.
    pub fn cdf(&self) -> Vec<CdfPoint> {
        if self.len == 0 {
            return Vec::new();
        }
        let h = self.histogram();
        CDF_QUANTILES
            .iter()
            .map(|&q| {
                let ns = if q == 0.0 { h.min() } else { h.value_at_quantile(q) };
                CdfPoint { q, ns }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What HdrHistogram itself gives for `samples`, recorded one by one.
    fn reference(samples: &[u64]) -> Histogram<u64> {
        let mut h = empty_histogram();
        for &v in samples {
            h.saturating_record(v.max(1));
        }
        h
    }

    #[test]
    fn slots_are_hdrhistograms_own() {
        let h = empty_histogram();
        for v in (1..5000).chain([2047, 2048, 4095, 4096, 1 << 20, (1 << 20) + 3, HIGHEST_NS, h.high()]) {
            let i = hdr_index(v);
            assert!(i < h.distinct_values(), "{v}");
            assert_eq!(hdr_value(i), h.lowest_equivalent(v), "{v}");
        }
    }

    #[test]
    fn extreme_samples_clamp_as_saturating_record_does() {
        let samples = [0, 1, 2, HIGHEST_NS, HIGHEST_NS * 2, u64::MAX];
        let mut l = LatencyHistogram::new();
        samples.iter().for_each(|&v| l.record_ns(v));
        assert!(*l.histogram() == reference(&samples));
        assert_eq!(l.histogram().max(), reference(&samples).max());
    }

    proptest! {
        /// Counting into HdrHistogram's layout and building the histogram
        /// on read gives the histogram that recording each sample gives.
        #[test]
        fn counting_equals_recording(
            samples in proptest::collection::vec(prop_oneof![0u64..5_000, 0u64..10_000_000, 0u64..=HIGHEST_NS * 2], 0..300),
            split in 0usize..300,
        ) {
            let mut l = LatencyHistogram::new();
            samples.iter().for_each(|&v| l.record_ns(v));
            let r = reference(&samples);
            prop_assert!(*l.histogram() == r);
            prop_assert_eq!(l.count(), r.len());
            prop_assert_eq!(l.histogram().min(), r.min());
            prop_assert_eq!(l.histogram().max(), r.max());
            for q in [0.5, 0.9, 0.99, 1.0] {
                prop_assert_eq!(l.histogram().value_at_quantile(q), r.value_at_quantile(q));
            }
            // Merged halves, and a read between records, give the same.
            let (a, b) = samples.split_at(split.min(samples.len()));
            let mut x = LatencyHistogram::new();
            a.iter().for_each(|&v| x.record_ns(v));
            let _ = x.summary();
            let mut y = LatencyHistogram::new();
            b.iter().for_each(|&v| y.record_ns(v));
            x.merge(&y);
            prop_assert!(*x.histogram() == r);
            prop_assert_eq!(x.summary(), l.summary());
        }
    }

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
