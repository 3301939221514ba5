//! The result files `irqlab report` reads: a run's metrics document
//! (`irqlab run --json FILE`, docs/metrics.md), an experiment's report
//! (`irqlab experiment run NAME --json FILE`, docs/experiments.md) or a
//! sweep's rows (`irqlab sweep -o OUT`: `OUT/runs.jsonl`, or `OUT` itself;
//! [`crate::sweep`]).
//!
//! A file is recognised by its keys, then read into the few numbers the
//! report draws; every other key is ignored, so documents from later
//! versions (which only add keys) still read. A document without
//! `latency_cdf_ns` (written before it existed) has its CDF drawn through
//! its percentiles. Errors name the file and, where there is one, the key.

use crate::sweep::RowError;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The metrics schema version this reader understands.
pub const SCHEMA_VERSION: u64 = 1;

/// Why a result file cannot be drawn.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not JSON.
    #[error("{}: not JSON: {message}", path.display())]
    NotJson {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// The file is JSON but no document irqlab writes.
    #[error(
        "{}: not an irqlab document (expected the metrics of `irqlab run --json` or the report of `irqlab experiment run --json`)",
        path.display()
    )]
    NotIrqlab {
        /// The file.
        path: PathBuf,
    },
    /// An irqlab document of a kind the report does not draw.
    #[error("{}: {what}: irqlab report draws run metrics and experiment reports", path.display())]
    UnknownKind {
        /// The file.
        path: PathBuf,
        /// What the document is.
        what: String,
    },
    /// A key the report needs is missing or has the wrong type.
    #[error("{}: key {key}: {message}", path.display())]
    BadKey {
        /// The file.
        path: PathBuf,
        /// The key path (`cpu[2].busy_frac.user`).
        key: String,
        /// What is wrong.
        message: String,
    },
}

impl ReadError {
    /// Whether the failure is reading the file (I/O) rather than its content.
    pub fn is_io(&self) -> bool {
        matches!(self, ReadError::Io { .. })
    }
}

/// A result file, read.
#[derive(Clone, Debug, PartialEq)]
pub enum Document {
    /// A run's metrics.
    Run(RunResult),
    /// An experiment's report.
    Experiment(ExperimentResult),
    /// A sweep's rows, as its points.
    Sweep(crate::sweep::SweepResult),
}

impl Document {
    /// The label the report gives the file.
    pub fn label(&self) -> &str {
        match self {
            Document::Run(r) => &r.label,
            Document::Experiment(e) => &e.label,
            Document::Sweep(s) => &s.label,
        }
    }
}

/// Latency percentiles, ns.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Latency {
    /// Samples.
    pub count: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest.
    pub max: u64,
    /// Mean.
    pub mean: f64,
}

/// One core's share of the run by context (fractions summing to 1).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct BusyFrac {
    /// Hard-IRQ handlers.
    pub hardirq: f64,
    /// Softirq on interrupt exit.
    pub softirq: f64,
    /// ksoftirqd and other kernel threads.
    pub kthread: f64,
    /// Applications.
    pub user: f64,
    /// Guest mode.
    #[serde(default)]
    pub guest: f64,
    /// Idle.
    pub idle: f64,
}

impl BusyFrac {
    /// The contexts in drawing order (bottom of a stacked bar first), with
    /// their names.
    pub fn parts(&self) -> [(&'static str, f64); 6] {
        [
            ("hardirq", self.hardirq),
            ("softirq", self.softirq),
            ("kthread", self.kthread),
            ("user", self.user),
            ("guest", self.guest),
            ("idle", self.idle),
        ]
    }
}

/// The numbers of one run the report draws.
#[derive(Clone, Debug, PartialEq)]
pub struct RunResult {
    /// The name the report gives it (the file's, or the variant's).
    pub label: String,
    /// Scenario name.
    pub scenario: String,
    /// Master seed.
    pub seed: u64,
    /// Simulated seconds.
    pub duration_s: f64,
    /// Frames offered to the NIC.
    pub offered: u64,
    /// Frames read by applications.
    pub delivered: u64,
    /// Frames dropped, all reasons.
    pub dropped: u64,
    /// Delivered frames per second.
    pub delivered_pps: f64,
    /// Delivered Gbit/s.
    pub delivered_gbps: f64,
    /// Wire-to-application latency.
    pub latency: Latency,
    /// Its CDF as (quantile, ns) points, quantiles rising.
    pub cdf: Vec<(f64, u64)>,
    /// Per-core time by context, in core order.
    pub cores: Vec<BusyFrac>,
    /// Hard interrupts taken.
    pub interrupts: u64,
    /// NAPI polls run.
    pub napi_polls: u64,
    /// The settings it was given (its `resolved_scenario`, by key; empty
    /// when the document has none).
    pub settings: BTreeMap<String, Value>,
}

impl RunResult {
    /// Hard interrupts per delivered packet (`None` when none was delivered).
    pub fn interrupts_per_packet(&self) -> Option<f64> {
        (self.delivered > 0).then(|| self.interrupts as f64 / self.delivered as f64)
    }

    /// NAPI polls per delivered packet (`None` when none was delivered).
    pub fn polls_per_packet(&self) -> Option<f64> {
        (self.delivered > 0).then(|| self.napi_polls as f64 / self.delivered as f64)
    }
}

/// One variant of an experiment.
#[derive(Clone, Debug, PartialEq)]
pub struct VariantResult {
    /// Its name.
    pub name: String,
    /// The settings that distinguish it, as `key = value` text.
    pub params: Vec<String>,
    /// Its run, when its metrics are a run's metrics document.
    pub run: Option<RunResult>,
}

/// A finding of an experiment.
#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
pub struct Finding {
    /// The claim with its numbers.
    pub claim: String,
    /// Whether the data supports it.
    pub holds: bool,
}

/// An experiment's report.
#[derive(Clone, Debug, PartialEq)]
pub struct ExperimentResult {
    /// The name the report gives the file.
    pub label: String,
    /// Experiment name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// Whether it ran with `--quick`.
    pub quick: bool,
    /// The variants in definition order.
    pub variants: Vec<VariantResult>,
    /// Its findings.
    pub findings: Vec<Finding>,
}

/// The shape of a metrics document, as far as the report reads it.
#[derive(Deserialize)]
struct RunWire {
    schema_version: u64,
    scenario: String,
    seed: u64,
    duration_s: f64,
    packets: PacketsWire,
    throughput: ThroughputWire,
    latency_ns: Latency,
    #[serde(default)]
    latency_cdf_ns: Vec<CdfWire>,
    cpu: Vec<CoreWire>,
    interrupts: InterruptsWire,
    napi: NapiWire,
    #[serde(default)]
    resolved_scenario: Value,
}

#[derive(Deserialize)]
struct PacketsWire {
    offered: u64,
    delivered: u64,
    dropped: BTreeMap<String, u64>,
}

#[derive(Deserialize)]
struct ThroughputWire {
    delivered_pps: f64,
    delivered_gbps: f64,
}

#[derive(Deserialize)]
struct CdfWire {
    q: f64,
    ns: u64,
}

#[derive(Deserialize)]
struct CoreWire {
    busy_frac: BusyFrac,
}

#[derive(Deserialize)]
struct InterruptsWire {
    total: u64,
}

#[derive(Deserialize)]
struct NapiWire {
    polls: u64,
}

#[derive(Deserialize)]
struct ExperimentWire {
    experiment: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    quick: bool,
    variants: Vec<VariantWire>,
    findings: Vec<Finding>,
}

#[derive(Deserialize)]
struct VariantWire {
    name: String,
    #[serde(default)]
    params: BTreeMap<String, Value>,
    metrics: Value,
}

/// Reads one result file (a sweep's output directory: its `runs.jsonl`);
/// `label` is the name the report gives it.
pub fn read(path: &Path, label: &str) -> Result<Document, ReadError> {
    let rows = path.join("runs.jsonl");
    let path = if path.is_dir() { rows.as_path() } else { path };
    let text = std::fs::read(path).map_err(|source| ReadError::Io { path: path.to_path_buf(), source })?;
    parse(&text, path, label)
}

/// Reads a result document from its bytes; `path` names it in errors.
pub fn parse(bytes: &[u8], path: &Path, label: &str) -> Result<Document, ReadError> {
    // A sweep's rows: one flattened run a line.
    let first = bytes.split(|b| *b == b'\n').find(|l| !l.iter().all(u8::is_ascii_whitespace));
    if let Some(Ok(Value::Object(row))) = first.map(serde_json::from_slice::<Value>)
        && crate::sweep::is_row(&row)
    {
        let text = std::str::from_utf8(bytes)
            .map_err(|e| ReadError::NotJson { path: path.to_path_buf(), message: e.to_string() })?;
        return crate::sweep::parse(text, label, SCHEMA_VERSION).map(Document::Sweep).map_err(|e| {
            let path = path.to_path_buf();
            match e {
                RowError::Empty => ReadError::NotIrqlab { path },
                RowError::NotJson { line, message } => {
                    ReadError::NotJson { path, message: format!("line {line}: {message}") }
                }
                RowError::BadKey { line, key, message } => {
                    ReadError::BadKey { path, key: format!("line {line}: {key}"), message }
                }
            }
        });
    }
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| ReadError::NotJson { path: path.to_path_buf(), message: e.to_string() })?;
    let Some(obj) = value.as_object() else {
        return Err(ReadError::NotIrqlab { path: path.to_path_buf() });
    };
    if obj.contains_key("experiment") && obj.contains_key("variants") {
        return experiment(value, path, label).map(Document::Experiment);
    }
    if obj.contains_key("schema_version") {
        if !(obj.contains_key("latency_ns") && obj.contains_key("cpu")) {
            let what = if obj.contains_key("interrupts") {
                "a machine's counters (`irqlab counters`), without latency or per-core time".to_string()
            } else {
                "a metrics-shaped document without latency_ns or cpu".to_string()
            };
            return Err(ReadError::UnknownKind { path: path.to_path_buf(), what });
        }
        return run(value, path, label).map(Document::Run);
    }
    Err(ReadError::NotIrqlab { path: path.to_path_buf() })
}

/// Deserialises `value`, naming the failing key (prefixed by `prefix`).
fn typed<T: serde::de::DeserializeOwned>(value: Value, path: &Path, prefix: &str) -> Result<T, ReadError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let inner = e.path().to_string();
        let key = match (prefix, inner.as_str()) {
            (p, ".") => p.to_string(),
            ("", k) => k.to_string(),
            (p, k) => format!("{p}.{k}"),
        };
        let message = e.into_inner().to_string();
        // serde names a missing field in its message; put it in the key.
        match message.strip_prefix("missing field `").and_then(|m| m.strip_suffix('`')) {
            Some(field) => {
                let key = if key == "." || key.is_empty() { field.to_string() } else { format!("{key}.{field}") };
                ReadError::BadKey { path: path.to_path_buf(), key, message: "missing".into() }
            }
            None => ReadError::BadKey { path: path.to_path_buf(), key, message },
        }
    })
}

fn run(value: Value, path: &Path, label: &str) -> Result<RunResult, ReadError> {
    run_at(value, path, label, "")
}

fn run_at(value: Value, path: &Path, label: &str, prefix: &str) -> Result<RunResult, ReadError> {
    let w: RunWire = typed(value, path, prefix)?;
    let key = |k: &str| if prefix.is_empty() { k.to_string() } else { format!("{prefix}.{k}") };
    if w.schema_version != SCHEMA_VERSION {
        return Err(ReadError::BadKey {
            path: path.to_path_buf(),
            key: key("schema_version"),
            message: format!("version {}; this irqlab reads version {SCHEMA_VERSION}", w.schema_version),
        });
    }
    let mut cdf: Vec<(f64, u64)> = w.latency_cdf_ns.iter().map(|p| (p.q, p.ns)).collect();
    if !cdf.windows(2).all(|p| p[0].0 < p[1].0 && p[0].1 <= p[1].1) || cdf.iter().any(|p| !(0.0..=1.0).contains(&p.0)) {
        return Err(ReadError::BadKey {
            path: path.to_path_buf(),
            key: key("latency_cdf_ns"),
            message: "quantiles must rise within 0..1 and latencies must not fall".into(),
        });
    }
    if cdf.is_empty() && w.latency_ns.count > 0 {
        let l = &w.latency_ns;
        cdf = vec![(0.5, l.p50), (0.9, l.p90), (0.99, l.p99), (0.999, l.p999), (1.0, l.max)];
    }
    Ok(RunResult {
        label: label.to_string(),
        scenario: w.scenario,
        seed: w.seed,
        duration_s: w.duration_s,
        offered: w.packets.offered,
        delivered: w.packets.delivered,
        dropped: w.packets.dropped.values().sum(),
        delivered_pps: w.throughput.delivered_pps,
        delivered_gbps: w.throughput.delivered_gbps,
        latency: w.latency_ns,
        cdf,
        cores: w.cpu.into_iter().map(|c| c.busy_frac).collect(),
        interrupts: w.interrupts.total,
        napi_polls: w.napi.polls,
        settings: crate::settings::flatten(&w.resolved_scenario),
    })
}

fn experiment(value: Value, path: &Path, label: &str) -> Result<ExperimentResult, ReadError> {
    let w: ExperimentWire = typed(value, path, "")?;
    let mut variants = Vec::with_capacity(w.variants.len());
    for (i, v) in w.variants.into_iter().enumerate() {
        let params = v.params.iter().map(|(k, val)| format!("{k} = {val}")).collect();
        // Variants whose metrics are not a run's (an experiment may measure
        // something else) are listed without plots.
        let is_run = v.metrics.get("latency_ns").is_some() && v.metrics.get("cpu").is_some();
        let run =
            if is_run { Some(run_at(v.metrics, path, &v.name, &format!("variants[{i}].metrics"))?) } else { None };
        variants.push(VariantResult { name: v.name, params, run });
    }
    Ok(ExperimentResult {
        label: label.to_string(),
        name: w.experiment,
        description: w.description,
        quick: w.quick,
        variants,
        findings: w.findings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn metrics() -> Value {
        json!({
            "schema_version": 1, "scenario": "s", "seed": 7, "duration_s": 0.01,
            "packets": {"offered": 110, "delivered": 100, "dropped": {"a": 4, "b": 6}},
            "throughput": {"delivered_pps": 10000.0, "delivered_gbps": 0.5},
            "latency_ns": {"count": 100, "p50": 10, "p90": 20, "p99": 30, "p999": 40, "max": 50, "mean": 12.0},
            "cpu": [{"core": 0, "busy_frac": {"hardirq": 0.1, "softirq": 0.2, "kthread": 0.0, "user": 0.3, "guest": 0.0, "idle": 0.4}}],
            "interrupts": {"total": 25},
            "napi": {"polls": 50},
        })
    }

    fn parse_value(v: &Value) -> Result<Document, ReadError> {
        parse(v.to_string().as_bytes(), Path::new("r.json"), "r")
    }

    #[test]
    fn a_sweeps_rows_read_as_a_sweep_and_their_errors_name_file_line_and_key() {
        let row = |axes: &str| {
            format!(
                r#"{{"run":0,{axes}"seed":1,"schema_version":1,"packets.offered":10,"packets.delivered":10,"throughput.delivered_pps":1.0,"latency_ns.count":10,"latency_ns.p50":1,"latency_ns.p99":2,"interrupts.total":3}}"#
            )
        };
        let one = row(r#""axis.nic.queues":4,"#);
        let d = parse(format!("{one}\n{one}\n").as_bytes(), Path::new("o/runs.jsonl"), "o").unwrap();
        let Document::Sweep(s) = d else { panic!("a sweep") };
        assert_eq!((s.runs, s.points.len(), s.points[0].seeds), (2, 1, 2));
        let e = parse(format!("{one}\n{}", row("")).as_bytes(), Path::new("o/runs.jsonl"), "o").unwrap_err();
        assert_eq!(e.to_string(), "o/runs.jsonl: key line 2: axis.nic.queues: missing (every row carries every axis)");
        let e = parse(format!("{one}\n{{\n").as_bytes(), Path::new("r.jsonl"), "r").unwrap_err().to_string();
        assert!(e.starts_with("r.jsonl: not JSON: line 2: "), "{e}");
    }

    #[test]
    fn a_metrics_document_reads_into_its_numbers() {
        let Document::Run(r) = parse_value(&metrics()).unwrap() else { panic!("not a run") };
        assert_eq!((r.offered, r.delivered, r.dropped, r.interrupts, r.napi_polls), (110, 100, 10, 25, 50));
        assert_eq!(r.interrupts_per_packet(), Some(0.25));
        assert_eq!(r.polls_per_packet(), Some(0.5));
        assert_eq!(r.cores[0].user, 0.3);
        // Without latency_cdf_ns, the CDF goes through the percentiles.
        assert_eq!(r.cdf, vec![(0.5, 10), (0.9, 20), (0.99, 30), (0.999, 40), (1.0, 50)]);
    }

    #[test]
    fn the_exported_cdf_is_used_when_present() {
        let mut m = metrics();
        m["latency_cdf_ns"] = json!([{"q": 0.0, "ns": 3}, {"q": 1.0, "ns": 50}]);
        let Document::Run(r) = parse_value(&m).unwrap() else { panic!("not a run") };
        assert_eq!(r.cdf, vec![(0.0, 3), (1.0, 50)]);
        m["latency_cdf_ns"] = json!([{"q": 1.0, "ns": 3}, {"q": 0.5, "ns": 50}]);
        let e = parse_value(&m).unwrap_err().to_string();
        assert!(e.starts_with("r.json: key latency_cdf_ns: quantiles must rise"), "{e}");
    }

    #[test]
    fn bad_documents_are_named_with_file_and_key() {
        let e = parse(b"{not json", Path::new("x.json"), "x").unwrap_err().to_string();
        assert!(e.starts_with("x.json: not JSON: "), "{e}");
        let e = parse_value(&json!([1, 2])).unwrap_err().to_string();
        assert!(e.starts_with("r.json: not an irqlab document"), "{e}");
        let e = parse_value(&json!({"hello": 1})).unwrap_err().to_string();
        assert!(e.starts_with("r.json: not an irqlab document"), "{e}");
        let e = parse_value(&json!({"schema_version": 1, "interrupts": {}})).unwrap_err().to_string();
        assert!(e.contains("a machine's counters"), "{e}");
        let mut m = metrics();
        m["cpu"][0]["busy_frac"]["user"] = json!("lots");
        let e = parse_value(&m).unwrap_err().to_string();
        assert!(e.starts_with("r.json: key cpu[0].busy_frac.user: invalid type"), "{e}");
        let mut m = metrics();
        m["napi"].as_object_mut().unwrap().remove("polls");
        assert_eq!(parse_value(&m).unwrap_err().to_string(), "r.json: key napi.polls: missing");
        let mut m = metrics();
        m["schema_version"] = json!(2);
        let e = parse_value(&m).unwrap_err().to_string();
        assert_eq!(e, "r.json: key schema_version: version 2; this irqlab reads version 1");
    }

    #[test]
    fn an_experiment_reads_its_variants_and_findings() {
        let mut bad = metrics();
        bad["latency_ns"]["p50"] = json!(-1);
        let doc = json!({
            "experiment": "e", "description": "d", "quick": true, "base": {},
            "variants": [
                {"name": "a", "params": {"nic.queues": 4}, "metrics": metrics()},
                {"name": "b", "params": {}, "metrics": {"something": "else"}},
            ],
            "findings": [{"claim": "a wins", "holds": true}],
        });
        let Document::Experiment(e) = parse_value(&doc).unwrap() else { panic!("not an experiment") };
        assert_eq!(e.variants.len(), 2);
        assert_eq!(e.variants[0].params, vec!["nic.queues = 4".to_string()]);
        assert_eq!(e.variants[0].run.as_ref().map(|r| r.label.as_str()), Some("a"));
        assert!(e.variants[1].run.is_none());
        assert_eq!(e.findings, vec![Finding { claim: "a wins".into(), holds: true }]);
        let mut doc = doc;
        doc["variants"][0]["metrics"] = bad;
        let err = parse_value(&doc).unwrap_err().to_string();
        assert!(err.starts_with("r.json: key variants[0].metrics.latency_ns.p50: invalid value"), "{err}");
    }
}
