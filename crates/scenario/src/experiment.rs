//! Experiments: a named set of scenario variants, run (in parallel, each
//! from its own seed-derived scenario, so results do not depend on thread
//! count), tabulated, and judged by findings computed from the run's data.
//!
//! This module is the framework (types, running, rendering, helpers); the
//! experiments themselves and their registry live in `crate::experiments`,
//! which depends on this module and not the other way round.
//!
//! The JSON document (`irqlab experiment run NAME --json -`) is
//! `{"experiment", "description", "quick", "variants": [{"name", "params",
//! "metrics"}], "findings": [{"claim", "holds"}]}` (design brief §10).
//! A finding's sentence is a template; its numbers and its verdict come from
//! the variants' metrics.

use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// One variant to run: a name, the parameters that distinguish it, and a
/// thunk that produces its metrics as JSON.
pub struct Variant {
    /// Short name, unique within the experiment.
    pub name: String,
    /// The settings that distinguish this variant (key → value).
    pub params: BTreeMap<String, Value>,
    /// Runs the variant.
    pub run: Box<dyn Fn() -> Result<Value, String> + Send + Sync>,
}

impl Variant {
    /// A variant that runs `scenario` through the model.
    pub fn model(
        name: impl Into<String>,
        params: BTreeMap<String, Value>,
        scenario: irqlab_model::Scenario,
    ) -> Variant {
        Variant { name: name.into(), params, run: Box::new(move || run_model(&scenario)) }
    }
}

/// A finished variant.
#[derive(Clone, Debug, Serialize)]
pub struct VariantResult {
    /// Its name.
    pub name: String,
    /// The distinguishing settings.
    pub params: BTreeMap<String, Value>,
    /// Its metrics document.
    pub metrics: Value,
}

/// A conclusion drawn from the data.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// The claim with its measured numbers.
    pub claim: String,
    /// Whether the data supports the claim.
    pub holds: bool,
}

/// A column of the experiment's table: header and a function of a variant's metrics.
pub struct Column {
    /// Header text.
    pub header: &'static str,
    /// Formats the cell.
    pub cell: fn(&VariantResult) -> String,
}

/// An experiment definition.
pub struct Experiment {
    /// Name used on the command line.
    pub name: &'static str,
    /// One line on what it shows.
    pub description: &'static str,
    /// Builds the variants; `quick` trims durations and sweeps for a fast run.
    pub variants: fn(quick: bool) -> Vec<Variant>,
    /// The table's columns after the variant name.
    pub columns: fn() -> Vec<Column>,
    /// Computes the findings from the finished variants.
    pub findings: fn(&[VariantResult]) -> Vec<Finding>,
}

/// The result of running an experiment.
#[derive(Clone, Debug, Serialize)]
pub struct ExperimentReport {
    /// Experiment name.
    pub experiment: String,
    /// Its description.
    pub description: String,
    /// Whether `--quick` was used.
    pub quick: bool,
    /// Variants in definition order.
    pub variants: Vec<VariantResult>,
    /// Findings.
    pub findings: Vec<Finding>,
}

/// Runs an experiment's variants in parallel and computes its findings.
/// `progress` is called once per finished variant (from worker threads).
pub fn run_experiment(
    e: &Experiment,
    quick: bool,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<ExperimentReport, String> {
    let variants = (e.variants)(quick);
    let results: Vec<Result<VariantResult, String>> = variants
        .par_iter()
        .map(|v| {
            let metrics = (v.run)().map_err(|err| format!("variant {}: {err}", v.name))?;
            progress(&v.name);
            Ok(VariantResult { name: v.name.clone(), params: v.params.clone(), metrics })
        })
        .collect();
    let variants: Vec<VariantResult> = results.into_iter().collect::<Result<_, _>>()?;
    let findings = (e.findings)(&variants);
    Ok(ExperimentReport {
        experiment: e.name.to_string(),
        description: e.description.to_string(),
        quick,
        variants,
        findings,
    })
}

/// The report as a terminal table followed by the findings.
pub fn render(e: &Experiment, r: &ExperimentReport) -> String {
    let cols = (e.columns)();
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut header = vec!["variant".to_string()];
    header.extend(cols.iter().map(|c| c.header.to_string()));
    rows.push(header);
    for v in &r.variants {
        let mut row = vec![v.name.clone()];
        row.extend(cols.iter().map(|c| (c.cell)(v)));
        rows.push(row);
    }
    let widths: Vec<usize> =
        (0..rows[0].len()).map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
    let mut out = format!("experiment {}: {}\n\n", r.experiment, r.description);
    for (k, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let pad = widths[i] - c.chars().count();
                if i == 0 { format!("{c}{}", " ".repeat(pad)) } else { format!("{}{c}", " ".repeat(pad)) }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
        if k == 0 {
            out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1)));
            out.push('\n');
        }
    }
    out.push_str("\nfindings:\n");
    for f in &r.findings {
        out.push_str(&format!("  [{}] {}\n", if f.holds { "holds" } else { "FAILS" }, f.claim));
    }
    out
}

/// Reads a number from a metrics document by dotted path (`a.b.0.c`); NaN if absent.
pub fn num(m: &Value, path: &str) -> f64 {
    let mut v = m;
    for part in path.split('.') {
        v = match part.parse::<usize>() {
            Ok(i) => &v[i],
            Err(_) => &v[part],
        };
    }
    v.as_f64().unwrap_or(f64::NAN)
}

/// The variant called `name`.
pub fn by_name<'a>(vs: &'a [VariantResult], name: &str) -> Option<&'a VariantResult> {
    vs.iter().find(|v| v.name == name)
}

/// Runs a model scenario and returns its metrics as JSON, failing on an
/// accounting-law violation.
pub fn run_model(s: &irqlab_model::Scenario) -> Result<Value, String> {
    let m = irqlab_model::run(s).map_err(|e| e.to_string())?;
    if !m.law_violations.is_empty() {
        let list: Vec<String> = m.law_violations.iter().map(|v| v.to_string()).collect();
        return Err(format!("accounting law violated: {}", list.join("; ")));
    }
    serde_json::to_value(&m).map_err(|e| e.to_string())
}

/// Total CPU busy time (all cores, all contexts) per delivered packet, ns.
pub fn cpu_ns_per_packet(m: &Value) -> f64 {
    let secs = num(m, "duration_s");
    let delivered = num(m, "packets.delivered");
    let busy: f64 =
        m["cpu"].as_array().map(|cores| cores.iter().map(|c| 1.0 - num(c, "busy_frac.idle")).sum()).unwrap_or(f64::NAN);
    if delivered > 0.0 { busy * secs * 1e9 / delivered } else { f64::NAN }
}

/// Formats a rate in Mpps with two decimals.
pub fn mpps(v: f64) -> String {
    format!("{:.2}", v / 1e6)
}

/// Shared table columns of the model-run experiments.
pub mod col {
    use super::{Column, cpu_ns_per_packet, num};

    /// Delivered throughput, kpps.
    pub fn delivered_kpps() -> Column {
        Column {
            header: "delivered kpps",
            cell: |v| format!("{:.1}", num(&v.metrics, "throughput.delivered_pps") / 1e3),
        }
    }
    /// Median wire-to-application latency, µs.
    pub fn p50_us() -> Column {
        Column { header: "p50 µs", cell: |v| format!("{:.2}", num(&v.metrics, "latency_ns.p50") / 1e3) }
    }
    /// 99th-percentile latency, µs.
    pub fn p99_us() -> Column {
        Column { header: "p99 µs", cell: |v| format!("{:.2}", num(&v.metrics, "latency_ns.p99") / 1e3) }
    }
    /// CPU time (all cores) per delivered packet, ns.
    pub fn cpu_ns_per_pkt() -> Column {
        Column { header: "cpu ns/pkt", cell: |v| format!("{:.0}", cpu_ns_per_packet(&v.metrics)) }
    }
}

/// Builds a params map from pairs.
pub fn params<const N: usize>(pairs: [(&str, Value); N]) -> BTreeMap<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn num_follows_dotted_paths_and_array_indices() {
        let m = json!({"a": {"b": [ {"c": 2.5} ]}});
        assert_eq!(num(&m, "a.b.0.c"), 2.5);
        assert!(num(&m, "a.x").is_nan());
    }

    #[test]
    fn cpu_per_packet_sums_busy_time_over_cores() {
        let m = json!({"duration_s": 1.0, "packets": {"delivered": 1000},
            "cpu": [{"busy_frac": {"idle": 0.5}}, {"busy_frac": {"idle": 1.0}}]});
        // 0.5 core-seconds over 1000 packets = 500 µs each.
        assert!((cpu_ns_per_packet(&m) - 500_000.0).abs() < 1e-6);
    }
}
