//! A sweep's rows (`irqlab sweep -o OUT`: `OUT/runs.jsonl`, one flattened
//! metrics row per run, docs/sweeps.md) read into its points: each
//! combination of the swept values once, its seeds' runs averaged.
//!
//! The swept keys are the rows' `axis.KEY` columns, in the order the sweep
//! file declared them (the order they are written in, which a JSON object
//! does not keep: it is read from the first row's text). Every row must
//! carry the same axes.

use serde_json::{Map, Value};

/// A sweep, as its points.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepResult {
    /// The name the report gives it.
    pub label: String,
    /// The swept keys, in the sweep file's order (as `--set` names them).
    pub axes: Vec<String>,
    /// Runs read.
    pub runs: usize,
    /// The points in run order (the first axis varying slowest).
    pub points: Vec<SweepPoint>,
}

/// One combination of the swept values, over its seeds.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepPoint {
    /// Its value of each axis, in [`SweepResult::axes`] order.
    pub values: Vec<Value>,
    /// Runs (seeds) averaged.
    pub seeds: usize,
    /// Mean delivered packets per second.
    pub delivered_pps: f64,
    /// Share of the offered frames dropped, all runs together.
    pub dropped_share: f64,
    /// Mean median and 99th-percentile latency, ns, of the runs that
    /// delivered anything (`None` when none did).
    pub p50_ns: Option<f64>,
    /// See [`SweepPoint::p50_ns`].
    pub p99_ns: Option<f64>,
    /// Hard interrupts per delivered packet, all runs together (`None`
    /// when nothing was delivered).
    pub interrupts_per_packet: Option<f64>,
}

/// Why a sweep's rows cannot be read, at a line (from 1).
#[derive(Clone, Debug, PartialEq)]
pub enum RowError {
    /// The file has no row.
    Empty,
    /// A line is not JSON.
    NotJson {
        /// The line.
        line: usize,
        /// The parser's message.
        message: String,
    },
    /// A line lacks a key the report needs, or has one it should not.
    BadKey {
        /// The line.
        line: usize,
        /// The key.
        key: String,
        /// What is wrong with it.
        message: String,
    },
}

/// A value as a label: strings without their quotes, whole numbers with
/// their digits grouped (`2,500,000`).
pub fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => match (n.as_u64(), n.as_f64()) {
            (Some(u), _) => crate::thousands(u),
            (None, Some(f)) if f >= 0.0 && f.fract() == 0.0 && f < 1e15 => crate::thousands(f as u64),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// Whether `first` (a file's first non-empty line) looks like a sweep's
/// row: an object with the sweep's `run` number and flattened metrics.
pub fn is_row(first: &Map<String, Value>) -> bool {
    first.contains_key("run") && first.contains_key("schema_version") && first.contains_key("packets.delivered")
}

/// The `axis.KEY` columns of a row's text, in written order: the
/// top-level keys (outside nested objects and string values) that start
/// with `axis.`.
fn axes_in_order(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut depth, mut string, mut escaped) = (0usize, None::<usize>, false);
    for (i, c) in line.char_indices() {
        if let Some(start) = string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                string = None;
                let is_key = line[i + 1..].trim_start().starts_with(':');
                let text = &line[start..i];
                if depth == 1 && is_key && text.starts_with("axis.") {
                    out.push(text.to_string());
                }
            }
            continue;
        }
        match c {
            '"' => string = Some(i + 1),
            '{' | '[' => depth += 1,
            '}' | ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    out
}

/// Reads a sweep's rows, of metrics schema `schema_version`.
pub fn parse(text: &str, label: &str, schema_version: u64) -> Result<SweepResult, RowError> {
    let bad = |line: usize, key: &str, message: String| RowError::BadKey { line, key: key.to_string(), message };
    let lines: Vec<(usize, &str)> =
        text.lines().enumerate().map(|(i, l)| (i + 1, l)).filter(|(_, l)| !l.trim().is_empty()).collect();
    let Some(&(_, first)) = lines.first() else {
        return Err(RowError::Empty);
    };
    let columns = axes_in_order(first);
    let axes: Vec<String> = columns.iter().map(|c| c.trim_start_matches("axis.").to_string()).collect();
    let mut points: Vec<(Vec<Value>, Acc)> = Vec::new();
    for &(n, line) in &lines {
        let row: Map<String, Value> =
            serde_json::from_str(line).map_err(|e| RowError::NotJson { line: n, message: e.to_string() })?;
        let num = |key: &str| -> Result<f64, RowError> {
            row.get(key).and_then(Value::as_f64).ok_or_else(|| bad(n, key, "missing or not a number".into()))
        };
        if num("schema_version")? as u64 != schema_version {
            return Err(bad(n, "schema_version", format!("this irqlab reads version {schema_version}")));
        }
        let mut values = Vec::with_capacity(columns.len());
        for c in &columns {
            values.push(row.get(c).cloned().ok_or_else(|| bad(n, c, "missing (every row carries every axis)".into()))?);
        }
        if let Some(extra) = row.keys().find(|k| k.starts_with("axis.") && !columns.contains(k)) {
            return Err(bad(n, extra, "an axis the first row does not have".into()));
        }
        let dropped: f64 = row
            .iter()
            .filter(|(k, _)| k.starts_with("packets.dropped."))
            .map(|(k, v)| v.as_f64().ok_or_else(|| bad(n, k, "not a number".into())))
            .sum::<Result<f64, RowError>>()?;
        let run = Run {
            delivered_pps: num("throughput.delivered_pps")?,
            offered: num("packets.offered")?,
            delivered: num("packets.delivered")?,
            dropped,
            latency: (num("latency_ns.count")? > 0.0).then_some((num("latency_ns.p50")?, num("latency_ns.p99")?)),
            interrupts: num("interrupts.total")?,
        };
        match points.iter_mut().find(|(v, _)| *v == values) {
            Some((_, acc)) => acc.add(&run),
            None => {
                let mut acc = Acc::default();
                acc.add(&run);
                points.push((values, acc));
            }
        }
    }
    Ok(SweepResult {
        label: label.to_string(),
        axes,
        runs: lines.len(),
        points: points.into_iter().map(|(values, acc)| acc.point(values)).collect(),
    })
}

/// What one row contributes.
struct Run {
    delivered_pps: f64,
    offered: f64,
    delivered: f64,
    dropped: f64,
    latency: Option<(f64, f64)>,
    interrupts: f64,
}

/// A point's runs added up.
#[derive(Default)]
struct Acc {
    runs: usize,
    pps: f64,
    offered: f64,
    delivered: f64,
    dropped: f64,
    sampled: usize,
    p50: f64,
    p99: f64,
    interrupts: f64,
}

impl Acc {
    fn add(&mut self, r: &Run) {
        self.runs += 1;
        self.pps += r.delivered_pps;
        self.offered += r.offered;
        self.delivered += r.delivered;
        self.dropped += r.dropped;
        self.interrupts += r.interrupts;
        if let Some((p50, p99)) = r.latency {
            self.sampled += 1;
            self.p50 += p50;
            self.p99 += p99;
        }
    }

    fn point(self, values: Vec<Value>) -> SweepPoint {
        let mean = |sum: f64| (self.sampled > 0).then(|| sum / self.sampled as f64);
        SweepPoint {
            values,
            seeds: self.runs,
            delivered_pps: self.pps / self.runs.max(1) as f64,
            dropped_share: if self.offered > 0.0 { self.dropped / self.offered } else { 0.0 },
            p50_ns: mean(self.p50),
            p99_ns: mean(self.p99),
            interrupts_per_packet: (self.delivered > 0.0).then(|| self.interrupts / self.delivered),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(run: u64, axes: &str, seed: u64, delivered: u64, p99: u64) -> String {
        format!(
            r#"{{"run":{run},{axes}"seed":{seed},"schema_version":1,"packets.offered":1000,"packets.delivered":{delivered},"packets.dropped.rx_ring_full":{},"throughput.delivered_pps":{},"latency_ns.count":{delivered},"latency_ns.p50":{},"latency_ns.p99":{p99},"interrupts.total":100,"resolved_scenario":{{"axis.not":"a key"}}}}"#,
            1000 - delivered,
            delivered as f64 * 100.0,
            p99 / 2
        )
    }

    #[test]
    fn rows_become_points_in_run_order_with_their_seeds_averaged() {
        let text = [
            row(0, r#""axis.nic.queues":4,"axis.workload.rate_pps":1e6,"#, 1, 1000, 200),
            row(1, r#""axis.nic.queues":4,"axis.workload.rate_pps":1e6,"#, 2, 800, 400),
            row(2, r#""axis.nic.queues":1,"axis.workload.rate_pps":1e6,"#, 1, 500, 9000),
            row(3, r#""axis.nic.queues":1,"axis.workload.rate_pps":1e6,"#, 2, 0, 0),
        ]
        .join("\n");
        let s = parse(&text, "sw", 1).unwrap();
        // The file's order, not the alphabet's; the scenario's keys are not axes.
        assert_eq!(s.axes, ["nic.queues", "workload.rate_pps"]);
        assert_eq!(s.runs, 4);
        assert_eq!(s.points.len(), 2);
        let p = &s.points[0];
        assert_eq!(p.values, [Value::from(4), Value::from(1e6)]);
        assert_eq!((p.seeds, p.delivered_pps), (2, 90_000.0));
        assert_eq!((p.p50_ns, p.p99_ns), (Some(150.0), Some(300.0)));
        assert_eq!(p.interrupts_per_packet, Some(200.0 / 1800.0));
        assert!((p.dropped_share - 200.0 / 2000.0).abs() < 1e-12);
        // A seed that delivered nothing has no latency to average.
        assert_eq!(s.points[1].p99_ns, Some(9000.0));
    }

    #[test]
    fn labels_drop_quotes_and_group_whole_numbers() {
        assert_eq!(plain(&Value::from("msix")), "msix");
        assert_eq!(plain(&Value::from(2_500_000)), "2,500,000");
        assert_eq!(plain(&Value::from(1e6)), "1,000,000");
        assert_eq!(plain(&Value::from(0.25)), "0.25");
        assert_eq!(plain(&Value::from(-3)), "-3");
        assert_eq!(plain(&Value::Bool(true)), "true");
    }

    #[test]
    fn rows_that_disagree_or_lack_a_number_are_refused_at_their_line() {
        let a = row(0, r#""axis.nic.queues":4,"#, 1, 10, 1);
        let bad = |line: usize, key: &str, message: &str| RowError::BadKey {
            line,
            key: key.to_string(),
            message: message.to_string(),
        };
        assert_eq!(
            parse(&format!("{a}\n{}", row(1, "", 1, 10, 1)), "r", 1),
            Err(bad(2, "axis.nic.queues", "missing (every row carries every axis)"))
        );
        assert_eq!(
            parse(&format!("{a}\n\n{}", row(1, r#""axis.nic.queues":4,"axis.x":1,"#, 1, 10, 1)), "r", 1),
            Err(bad(3, "axis.x", "an axis the first row does not have"))
        );
        assert_eq!(
            parse(&a.replace("\"interrupts.total\":100", "\"interrupts.total\":\"x\""), "r", 1),
            Err(bad(1, "interrupts.total", "missing or not a number"))
        );
        assert_eq!(parse(&a, "r", 2), Err(bad(1, "schema_version", "this irqlab reads version 2")));
        assert!(matches!(parse(&format!("{a}\n{{"), "r", 1), Err(RowError::NotJson { line: 2, .. })));
        assert_eq!(parse("\n\n", "r", 1), Err(RowError::Empty));
    }
}
