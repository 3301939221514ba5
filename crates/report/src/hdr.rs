//! Latency histograms in HdrHistogram's interval-log format (`.hlog`), the
//! format HdrHistogram's own tools (`HistogramLogProcessor`,
//! HistogramLogAnalyzer) and every HdrHistogram port read.
//!
//! Each histogram is one interval line — start (s), length (s), maximum,
//! then the histogram in HdrHistogram's V2 compressed encoding (DEFLATE),
//! base64 — tagged with what it measures (`Tag=wire-to-app`,
//! `Tag=interrupt`). Values are nanoseconds; the maximum column is in
//! milliseconds (the maximum divided by 10^6, as the Java writer's default
//! `maxValueUnitRatio` scales it for nanosecond histograms); the interval's
//! timestamps are simulated seconds from the run's start, so the log
//! carries no wall-clock `StartTime` and the same run gives the same bytes.

use hdrhistogram::Histogram;
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use std::io::{self, Write};
use std::time::Duration;

/// What the maximum column divides a maximum by: HdrHistogram's
/// `HistogramLogWriter.outputIntervalHistogram` default, so a log of
/// nanoseconds shows its maxima in milliseconds, as the Java tools expect.
const MAX_VALUE_UNIT_RATIO: f64 = 1e6;

/// The legend line of HdrHistogram's Java log writer (the column names).
/// Its `Interval_Max` is the histogram's maximum divided by
/// [`MAX_VALUE_UNIT_RATIO`].
const LEGEND: &str = "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n";

/// Writes `histograms` (tag, histogram of nanoseconds), each as one interval
/// from 0 to `duration_s` simulated seconds, in the interval-log format.
pub fn write_hlog<W: Write>(
    out: &mut W,
    histograms: &[(&str, &Histogram<u64>)],
    duration_s: f64,
    comment: &str,
) -> io::Result<()> {
    let mut serializer = V2DeflateSerializer::new();
    {
        let mut header = IntervalLogWriterBuilder::new();
        header.add_comment(comment);
        header.add_comment(
            "Values are nanoseconds of simulated time, Interval_Max milliseconds; timestamps are simulated seconds.",
        );
        header.begin_log_with(out, &mut serializer)?;
    }
    out.write_all(LEGEND.as_bytes())?;
    let mut log = IntervalLogWriterBuilder::new()
        .with_max_value_divisor(MAX_VALUE_UNIT_RATIO)
        .begin_log_with(out, &mut serializer)?;
    let length = Duration::from_secs_f64(duration_s.max(0.0));
    for (tag, h) in histograms {
        let tag = Tag::new(tag).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, format!("bad tag {tag}")))?;
        log.write_histogram(h, Duration::ZERO, length, Some(tag)).map_err(|e| io::Error::other(e.to_string()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use hdrhistogram::serialization::Deserializer;
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};

    #[test]
    fn histograms_round_trip_through_the_log_with_their_tags() {
        let mut a = Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 3).unwrap();
        for v in [900, 1_000, 1_250, 40_000, 7_000_000] {
            a.record(v).unwrap();
        }
        let mut b = Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 3).unwrap();
        b.record_n(333, 12).unwrap();
        let mut buf = Vec::new();
        write_hlog(&mut buf, &[("wire-to-app", &a), ("interrupt", &b)], 0.02, "test").unwrap();
        let text = String::from_utf8(buf.clone()).unwrap();
        assert!(text.starts_with("#test\n"), "{text}");
        assert!(text.contains(LEGEND));
        let mut got = Vec::new();
        for entry in IntervalLogIterator::new(&buf) {
            if let LogEntry::Interval(i) = entry.unwrap() {
                let bytes = base64::engine::general_purpose::STANDARD.decode(i.encoded_histogram()).unwrap();
                let h: Histogram<u64> = Deserializer::new().deserialize(&mut io::Cursor::new(bytes)).unwrap();
                assert_eq!(i.duration(), Duration::from_millis(20));
                // The maximum column in milliseconds to 3 decimals, as
                // Java's writer has it ("%.3f").
                assert!((i.max() - h.max() as f64 / 1e6).abs() <= 0.0005, "{} vs {}: {text}", i.max(), h.max());
                got.push((i.tag().unwrap().as_str().to_owned(), h));
            }
        }
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, "wire-to-app");
        assert_eq!(got[0].1, a, "every bucket survives");
        assert_eq!(got[1].0, "interrupt");
        assert_eq!(got[1].1.len(), 12);
        assert_eq!(got[1].1, b);
    }
}
