//! Experiments: a named set of scenario variants, run (in parallel, each
//! from its own seed-derived scenario, so results do not depend on thread
//! count), tabulated, and judged by findings computed from the run's data.
//!
//! This module is the framework (types, running, rendering, helpers); the
//! experiments themselves and their registry live in `crate::experiments`,
//! which depends on this module and not the other way round.
//!
//! # Declaring a variant
//!
//! An experiment states each setting once, as a dotted key path of the
//! scenario and a value (`("nic.queues", 4)`, `("apps", [{core = 0}])`):
//!
//! - its `base` settings, shared by every variant, are applied to the
//!   default scenario;
//! - each variant's settings (its `params`) are applied on top of the base.
//!
//! Settings are applied exactly as `--set KEY=VALUE` arguments are
//! ([`crate::load_str`] on an empty document, one override per setting, base
//! first), so an unknown key, a value of the wrong type or a scenario that
//! fails validation is an error, and nothing but the settings shapes a
//! variant's scenario ([`Experiment::plan`]). Arrays of tables are set whole
//! (`apps = [{core = 0}, {core = 1}]`) or element by element
//! (`apps[0].core = 4`, once the array exists).
//!
//! ```
//! use irqlab_scenario::experiment::{Settings, Variant, scenario_with};
//! use serde_json::json;
//!
//! let base = Settings::new().set("duration_ms", 20.0).set("machine.cores", 2).set("apps", json!([{"core": 1}]));
//! let v = Variant::new("signal-rt/high")
//!     .set("apps[0].notify", "signal")
//!     .set("apps[0].signal", "realtime")
//!     .set("workload.rate_pps", 1_500_000.0);
//! let s = scenario_with(&[&base, &v.params]).unwrap();
//! assert_eq!((s.machine.cores, s.apps[0].core, s.workload.rate_pps), (2, 1, Some(1_500_000.0)));
//! assert!(scenario_with(&[&Settings::new().set("machine.corse", 2)]).is_err());
//! ```
//!
//! # Ratios
//!
//! Columns and findings read per-X ratios (per packet, per wakeup, per
//! device event…) as [`Ratio`]s, which carry the count they divide by: below
//! [`MIN_SAMPLES`] a cell shows `n/a` and a finding comparing the ratio does
//! not hold and says why ([`judge`]).
//!
//! # The report
//!
//! The JSON document (`irqlab experiment run NAME --json -`) is
//! `{"experiment", "description", "quick", "base", "variants": [{"name",
//! "params", "metrics"}], "findings": [{"claim", "holds"}]}` (docs/experiments.md):
//! `base` and each variant's `params` map key paths to values, so
//! together they name every setting that differs from the default scenario.
//! A run with overrides ([`run_experiment_with`], e.g. a robustness check
//! under other seeds and costs) also has `"overrides"`, the settings applied
//! to every variant after its own.
//! A finding's sentence is a template; its numbers and its verdict come from
//! the variants' metrics.

use irqlab_model::Scenario;
use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// Scenario settings: (dotted key path, value) pairs, applied in order as
/// `--set KEY=VALUE` overrides would be.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Settings(Vec<(String, Value)>);

impl Settings {
    /// No settings.
    pub fn new() -> Settings {
        Settings(Vec::new())
    }

    /// These settings and `key = value` after them.
    pub fn set(mut self, key: impl Into<String>, value: impl Into<Value>) -> Settings {
        self.0.push((key.into(), value.into()));
        self
    }

    /// The settings in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of settings.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Key → value, as the report shows them.
    pub fn to_map(&self) -> BTreeMap<String, Value> {
        self.0.iter().cloned().collect()
    }

    /// The settings as `--set` arguments, `KEY=VALUE` with VALUE in TOML.
    /// Fails on a value TOML cannot hold (`null`).
    pub fn to_overrides(&self) -> Result<Vec<String>, String> {
        self.0
            .iter()
            .map(|(k, v)| {
                let mut text = String::new();
                serde::Serialize::serialize(v, toml::ser::ValueSerializer::new(&mut text))
                    .map_err(|e| format!("{k}: {v} has no TOML form: {e}"))?;
                Ok(format!("{k}={text}"))
            })
            .collect()
    }
}

/// The default scenario with `settings` applied in order, exactly as the
/// same `--set KEY=VALUE` arguments to `irqlab run` would apply them.
pub fn scenario_with(settings: &[&Settings]) -> Result<Scenario, String> {
    let mut overrides = Vec::new();
    for s in settings {
        overrides.extend(s.to_overrides()?);
    }
    crate::load_str("", "<experiment>", &overrides).map_err(|e| e.to_string())
}

/// A variant as declared: a name and the settings that distinguish it from
/// the experiment's base.
#[derive(Clone, Debug, PartialEq)]
pub struct Variant {
    /// Short name, unique within the experiment.
    pub name: String,
    /// Its settings, applied on top of the base.
    pub params: Settings,
}

impl Variant {
    /// A variant with no settings yet.
    pub fn new(name: impl Into<String>) -> Variant {
        Variant { name: name.into(), params: Settings::new() }
    }

    /// This variant with `key = value` added to its settings.
    pub fn set(mut self, key: impl Into<String>, value: impl Into<Value>) -> Variant {
        self.params = self.params.set(key, value);
        self
    }
}

/// A variant ready to run: its declaration and the scenario derived from the
/// base and its settings.
#[derive(Clone, Debug)]
pub struct PlannedVariant {
    /// Its name.
    pub name: String,
    /// Its settings.
    pub params: Settings,
    /// The default scenario with the base and then `params` applied.
    pub scenario: Scenario,
}

/// An experiment's variants with their scenarios.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The settings every variant shares.
    pub base: Settings,
    /// The default scenario with `base` applied.
    pub base_scenario: Scenario,
    /// The variants in definition order.
    pub variants: Vec<PlannedVariant>,
}

/// A finished variant.
#[derive(Clone, Debug, Serialize)]
pub struct VariantResult {
    /// Its name.
    pub name: String,
    /// The settings that distinguish it (key path → value).
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
    /// The settings every variant shares, applied to the default scenario;
    /// `quick` trims durations for a fast run.
    pub base: fn(quick: bool) -> Settings,
    /// The variants, each with the settings that distinguish it; `quick`
    /// trims sweeps.
    pub variants: fn(quick: bool) -> Vec<Variant>,
    /// Runs one variant's scenario and returns its metrics as JSON
    /// ([`run_model`] for the model-run experiments).
    pub run: fn(&Scenario) -> Result<Value, String>,
    /// The table's columns after the variant name.
    pub columns: fn() -> Vec<Column>,
    /// Computes the findings from the finished variants.
    pub findings: fn(&[VariantResult]) -> Vec<Finding>,
}

impl Experiment {
    /// Derives the base scenario and every variant's scenario from the
    /// settings alone. Fails when a variant name repeats, a key is stated
    /// twice (within a variant, or in both the base and a variant), or a
    /// setting does not apply (unknown key, wrong type, invalid scenario).
    pub fn plan(&self, quick: bool) -> Result<Plan, String> {
        self.plan_with(quick, &Settings::new())
    }

    /// [`Experiment::plan`] with `overrides` applied to every variant after
    /// its own settings (another seed, another cost model…); unlike the
    /// variant's settings they may restate a key of the base or the variant.
    pub fn plan_with(&self, quick: bool, overrides: &Settings) -> Result<Plan, String> {
        self.plan_on(quick, &Settings::new(), overrides)
    }

    /// [`Experiment::plan_with`] on top of `under`: settings applied before
    /// the base's, so the experiment's own settings win over them (a cost
    /// file: a variant that sweeps a cost keeps its sweep).
    pub fn plan_on(&self, quick: bool, under: &Settings, overrides: &Settings) -> Result<Plan, String> {
        let base = (self.base)(quick);
        let context = |what: &str, e: String| format!("experiment {}, {what}: {e}", self.name);
        distinct_keys(&base, None).map_err(|e| context("base", e))?;
        let base_scenario = scenario_with(&[under, &base]).map_err(|e| context("base", e))?;
        let mut variants: Vec<PlannedVariant> = Vec::new();
        for v in (self.variants)(quick) {
            let what = format!("variant {}", v.name);
            if variants.iter().any(|p| p.name == v.name) {
                return Err(context(&what, "the name is used twice".into()));
            }
            distinct_keys(&v.params, Some(&base)).map_err(|e| context(&what, e))?;
            let scenario = scenario_with(&[under, &base, &v.params, overrides]).map_err(|e| context(&what, e))?;
            variants.push(PlannedVariant { name: v.name, params: v.params, scenario });
        }
        Ok(Plan { base, base_scenario, variants })
    }
}

/// Checks that no key of `settings` is stated twice, nor also in `base`.
fn distinct_keys(settings: &Settings, base: Option<&Settings>) -> Result<(), String> {
    let mut seen: Vec<&str> = Vec::new();
    for (k, _) in settings.iter() {
        if seen.contains(&k) {
            return Err(format!("{k} is set twice"));
        }
        if base.is_some_and(|b| b.iter().any(|(bk, _)| bk == k)) {
            return Err(format!("{k} is set in both the base and the variant"));
        }
        seen.push(k);
    }
    Ok(())
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
    /// The settings every variant shares (key path → value).
    pub base: BTreeMap<String, Value>,
    /// Settings applied under the base's ([`run_experiment_on`]: a cost
    /// file's); absent from the JSON when there are none.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub under: BTreeMap<String, Value>,
    /// Settings applied to every variant after its own
    /// ([`run_experiment_with`]); absent from the JSON when there are none.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub overrides: BTreeMap<String, Value>,
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
    run_experiment_with(e, quick, &Settings::new(), progress)
}

/// [`run_experiment`] with `overrides` applied to every variant after its
/// own settings ([`Experiment::plan_with`]): the same experiment under
/// another seed or cost model, as a robustness check does. The report names
/// them.
pub fn run_experiment_with(
    e: &Experiment,
    quick: bool,
    overrides: &Settings,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<ExperimentReport, String> {
    run_experiment_on(e, quick, &Settings::new(), overrides, progress)
}

/// [`run_experiment_with`] on top of `under` ([`Experiment::plan_on`]): a
/// cost file under the experiment's own settings. The report names them.
pub fn run_experiment_on(
    e: &Experiment,
    quick: bool,
    under: &Settings,
    overrides: &Settings,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<ExperimentReport, String> {
    let plan = e.plan_on(quick, under, overrides)?;
    let results: Vec<Result<VariantResult, String>> = plan
        .variants
        .par_iter()
        .map(|v| {
            let metrics = (e.run)(&v.scenario).map_err(|err| format!("variant {}: {err}", v.name))?;
            progress(&v.name);
            Ok(VariantResult { name: v.name.clone(), params: v.params.to_map(), metrics })
        })
        .collect();
    let variants: Vec<VariantResult> = results.into_iter().collect::<Result<_, _>>()?;
    let findings = (e.findings)(&variants);
    Ok(ExperimentReport {
        experiment: e.name.to_string(),
        description: e.description.to_string(),
        quick,
        base: plan.base.to_map(),
        under: under.to_map(),
        overrides: overrides.to_map(),
        variants,
        findings,
    })
}

/// The report as a terminal table followed by the findings.
pub fn render(e: &Experiment, r: &ExperimentReport) -> String {
    render_width(e, r, FINDINGS_WIDTH)
}

/// The width findings are wrapped to when the terminal's is not known.
pub const FINDINGS_WIDTH: usize = 100;

/// The variants table as rows of cells, the header first: the columns of
/// [`render`], unformatted (no padding, no digit grouping), e.g. for CSV.
pub fn table_rows(e: &Experiment, r: &ExperimentReport) -> Vec<Vec<String>> {
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
    rows
}

/// [`render`] with the findings wrapped to `width` columns, each
/// continuation line indented under the start of its claim. The table's
/// whole numbers of four digits or more get thousands separators, as in
/// `irqlab run`'s summary.
pub fn render_width(e: &Experiment, r: &ExperimentReport, width: usize) -> String {
    let mut rows = table_rows(e, r);
    for row in rows.iter_mut().skip(1) {
        for cell in row.iter_mut().skip(1) {
            *cell = group_digits(cell);
        }
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
        let first = format!("  [{}] ", if f.holds { "holds" } else { "FAILS" });
        let rest = " ".repeat(first.len());
        let options = textwrap::Options::new(width.max(first.len() + 20))
            .initial_indent(&first)
            .subsequent_indent(&rest)
            .break_words(false);
        out.push_str(&textwrap::fill(&group_digits_in_prose(&f.claim), options));
        out.push('\n');
    }
    out
}

/// Thousands separators in the whole numbers of a table cell: each
/// space-separated word that is a number (optionally signed, with a
/// fraction or a `%`) whose integer part has four digits or more.
pub fn group_digits(cell: &str) -> String {
    cell.split(' ').map(group_word).collect::<Vec<_>>().join(" ")
}

/// [`group_digits`] for a sentence: a number may also stand in brackets or
/// before a comma, a semicolon, a colon or a full stop (`(27221 signals`,
/// `2001 writes;`).
pub fn group_digits_in_prose(text: &str) -> String {
    text.split(' ')
        .map(|word| {
            let inner = word.trim_start_matches('(');
            let lead = &word[..word.len() - inner.len()];
            let core = inner.trim_end_matches([',', ';', ':', ')', '.']);
            let tail = &inner[core.len()..];
            format!("{lead}{}{tail}", group_word(core))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn group_word(word: &str) -> String {
    let (sign, unsigned) = word.strip_prefix('-').map_or(("", word), |w| ("-", w));
    let int_len = unsigned.bytes().take_while(u8::is_ascii_digit).count();
    let rest = &unsigned[int_len..];
    let rest_ok = {
        let r = rest.strip_suffix('%').unwrap_or(rest);
        r.is_empty() || r.strip_prefix('.').is_some_and(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
    };
    if int_len < 4 || !rest_ok {
        return word.to_string();
    }
    let digits = &unsigned[..int_len];
    let mut grouped = String::with_capacity(int_len + int_len / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (int_len - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{sign}{grouped}{rest}")
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
pub fn run_model(s: &Scenario) -> Result<Value, String> {
    let m = irqlab_model::run(s).map_err(|e| e.to_string())?;
    if !m.law_violations.is_empty() {
        let list: Vec<String> = m.law_violations.iter().map(|v| v.to_string()).collect();
        return Err(format!("accounting law violated: {}", list.join("; ")));
    }
    serde_json::to_value(&m).map_err(|e| e.to_string())
}

/// Fewest samples a per-X ratio (per packet, per wakeup, per interrupt, per
/// device event…) is shown or judged from: the count it divides by must be
/// at least this. Below it a table cell shows `n/a`, and a finding that
/// compares the ratio does not hold and says why ([`judge`]); 3 wakeups do
/// not make a cost per wakeup.
pub const MIN_SAMPLES: u64 = 100;

/// A per-X ratio and the count of X it was computed from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ratio {
    value: f64,
    count: f64,
    per: &'static str,
}

impl Ratio {
    /// `value`, a ratio over `count` samples of `per` (a plural noun, e.g.
    /// `"wakeups"`), as the model or the caller computed it.
    pub fn new(value: f64, count: f64, per: &'static str) -> Ratio {
        Ratio { value, count, per }
    }

    /// Whether the count reaches [`MIN_SAMPLES`] (a missing count does not).
    pub fn enough(self) -> bool {
        self.count >= MIN_SAMPLES as f64
    }

    /// The value, or NaN when the count is too small (every comparison
    /// with NaN is false).
    pub fn get(self) -> f64 {
        if self.enough() { self.value } else { f64::NAN }
    }

    /// The count the ratio divides by.
    pub fn count(self) -> f64 {
        self.count
    }

    /// The ratio times `k` (e.g. 100 for a percentage), over the same count.
    pub fn times(self, k: f64) -> Ratio {
        Ratio { value: k * self.value, ..self }
    }

    /// The value with `decimals` decimals, or `n/a` when the count is too small.
    pub fn show(self, decimals: usize) -> String {
        if self.enough() { format!("{:.*}", decimals, self.value) } else { "n/a".into() }
    }

    /// The value with `decimals` decimals and a `%` sign (for a ratio in
    /// percent), or `n/a` when the count is too small.
    pub fn show_pct(self, decimals: usize) -> String {
        if self.enough() { format!("{:.*}%", decimals, self.value) } else { "n/a".into() }
    }

    /// Why the ratio is not judged (`label` names where it comes from), or
    /// `None` when it may be.
    fn shortfall(self, label: &str) -> Option<String> {
        if self.enough() {
            None
        } else if self.count.is_nan() {
            Some(format!("{label} has no count of {}", self.per))
        } else {
            Some(format!("{label} has {} {}", self.count, self.per))
        }
    }
}

/// A finding whose verdict compares ratios: `holds` is asked only when every
/// ratio in `ratios` (each with a label, usually its variant's name) rests on
/// at least [`MIN_SAMPLES`]; otherwise the finding does not hold and its
/// claim says which counts fall short.
pub fn judge(claim: String, ratios: &[(&str, Ratio)], holds: impl FnOnce() -> bool) -> Finding {
    let short: Vec<String> = ratios.iter().filter_map(|(label, r)| r.shortfall(label)).collect();
    if short.is_empty() {
        Finding { claim, holds: holds() }
    } else {
        Finding {
            claim: format!(
                "{claim} — not judged: {}, fewer than the {MIN_SAMPLES} samples a ratio needs",
                short.join(", ")
            ),
            holds: false,
        }
    }
}

/// A per-delivered-packet ratio the model computed, at `path` of the metrics.
pub fn per_packet(m: &Value, path: &str) -> Ratio {
    Ratio::new(num(m, path), num(m, "packets.delivered"), "delivered packets")
}

/// Total CPU busy time (all cores, all contexts) per delivered packet, ns.
pub fn cpu_ns_per_packet(m: &Value) -> Ratio {
    let secs = num(m, "duration_s");
    let delivered = num(m, "packets.delivered");
    let busy: f64 =
        m["cpu"].as_array().map(|cores| cores.iter().map(|c| 1.0 - num(c, "busy_frac.idle")).sum()).unwrap_or(f64::NAN);
    let value = if delivered > 0.0 { busy * secs * 1e9 / delivered } else { f64::NAN };
    Ratio::new(value, delivered, "delivered packets")
}

/// A VM's exits of `reason` (`external_interrupt`, `hlt`, …); 0 on bare metal.
pub fn vm_exits(m: &Value, reason: &str) -> f64 {
    m["vm"]["exits"][reason].as_f64().unwrap_or(0.0)
}

/// `v` per delivered packet.
pub fn per_delivered(m: &Value, v: f64) -> Ratio {
    let d = num(m, "packets.delivered");
    Ratio::new(v / d.max(1.0), d, "delivered packets")
}

/// A table cell that only a VM has: `-` on bare metal.
pub fn vm_cell(m: &Value, cell: impl Fn(&Value) -> String) -> String {
    if m["vm"].is_null() { "-".into() } else { cell(m) }
}

/// An `apps` value: one reader pinned to each of `cores`, its other
/// settings at their defaults.
pub fn readers_on(cores: impl IntoIterator<Item = u32>) -> Value {
    let reader = |core: u32| Value::Object([("core".to_string(), Value::from(core))].into_iter().collect());
    Value::Array(cores.into_iter().map(reader).collect())
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
        Column { header: "cpu ns/pkt", cell: |v| cpu_ns_per_packet(&v.metrics).show(0) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn experiment(base: fn(bool) -> Settings, variants: fn(bool) -> Vec<Variant>) -> Experiment {
        Experiment {
            name: "test",
            description: "",
            base,
            variants,
            run: run_model,
            columns: Vec::new,
            findings: |_| Vec::new(),
        }
    }

    fn queues(_: bool) -> Settings {
        Settings::new().set("nic.queues", 2)
    }

    #[test]
    fn table_numbers_of_four_digits_or_more_are_grouped_and_nothing_else() {
        assert_eq!(group_digits("158733"), "158,733");
        assert_eq!(group_digits("backlog_full 2733"), "backlog_full 2,733");
        assert_eq!(group_digits("-12345.67"), "-12,345.67");
        assert_eq!(group_digits("1234%"), "1,234%");
        for unchanged in ["999", "14.88", "0x1234", "napi/2000", "12345ns", "1234.", "-", ""] {
            assert_eq!(group_digits(unchanged), unchanged);
        }
    }

    #[test]
    fn numbers_in_findings_are_grouped_beside_their_punctuation() {
        assert_eq!(
            group_digits_in_prose("SIGIO coalesces (27221 signals coalesced, 2539 deliveries) and 14000."),
            "SIGIO coalesces (27,221 signals coalesced, 2,539 deliveries) and 14,000."
        );
        assert_eq!(
            group_digits_in_prose("p50 7.3 → 145.7 µs; 2001 writes; 999: 0x1234"),
            "p50 7.3 → 145.7 µs; 2,001 writes; 999: 0x1234"
        );
        assert_eq!(group_digits_in_prose("1.5 Mpps (0.070), 12345ns"), "1.5 Mpps (0.070), 12345ns");
    }

    #[test]
    fn findings_wrap_under_their_claim_and_the_table_keeps_its_columns() {
        let mut e = experiment(queues, |_| Vec::new());
        e.columns = || vec![Column { header: "drops", cell: |v| format!("{}", num(&v.metrics, "d")) }];
        let claim = "word ".repeat(60).trim_end().to_string();
        let r = ExperimentReport {
            experiment: "test".into(),
            description: "d".into(),
            quick: true,
            base: BTreeMap::new(),
            under: BTreeMap::new(),
            overrides: BTreeMap::new(),
            variants: vec![VariantResult { name: "a".into(), params: BTreeMap::new(), metrics: json!({"d": 123456}) }],
            findings: vec![Finding { claim: claim.clone(), holds: true }],
        };
        let text = render_width(&e, &r, 60);
        assert!(text.contains("\na        123,456\n"), "{text}");
        let findings: Vec<&str> = text.split("findings:\n").nth(1).unwrap().lines().collect();
        assert!(findings.len() > 4, "{text}");
        assert!(findings[0].starts_with("  [holds] word"));
        assert!(findings[1..].iter().all(|l| l.starts_with("          word")), "{text}");
        assert!(findings.iter().all(|l| l.chars().count() <= 60), "{text}");
        // The words, in order, are the claim's.
        let words: Vec<&str> = findings.iter().flat_map(|l| l.split_whitespace()).skip(1).collect();
        assert_eq!(words.join(" "), claim);
        assert_eq!(table_rows(&e, &r)[1], ["a", "123456"]);
    }

    #[test]
    fn a_plan_applies_the_base_then_the_variant_as_set_would() {
        let e = experiment(queues, |_| {
            vec![
                Variant::new("a").set("machine.cores", 2).set("apps", readers_on([1])),
                Variant::new("b").set("machine.cores", 8).set("workload.arrival", "constant"),
            ]
        });
        let plan = e.plan(true).unwrap();
        assert_eq!(plan.base_scenario.nic.queues, 2);
        let a = &plan.variants[0].scenario;
        assert_eq!((a.nic.queues, a.machine.cores), (2, 2));
        assert_eq!(a.apps, vec![irqlab_model::config::AppConfig::on_core(1)]);
        let b = &plan.variants[1].scenario;
        assert_eq!((b.nic.queues, b.machine.cores), (2, 8));
        assert_eq!(b.workload.arrival, irqlab_model::config::ArrivalKind::Constant);
        let overrides = ["nic.queues=2", "machine.cores=8", "workload.arrival=\"constant\""].map(String::from);
        assert_eq!(b, &crate::load_str("", "x", &overrides).unwrap());
    }

    #[test]
    fn unknown_keys_wrong_types_and_repeated_keys_are_errors() {
        let bad_key = experiment(queues, |_| vec![Variant::new("a").set("nic.queue", 2)]);
        let err = bad_key.plan(true).unwrap_err();
        assert!(err.contains("variant a") && err.contains("queue"), "{err}");
        let bad_type = experiment(queues, |_| vec![Variant::new("a").set("machine.cores", "four")]);
        let err = bad_type.plan(true).unwrap_err();
        assert!(err.contains("machine.cores"), "{err}");
        let bad_base = experiment(|_| Settings::new().set("no_such_table.x", 1), |_| vec![Variant::new("a")]);
        assert!(bad_base.plan(true).unwrap_err().contains("base"));
        let invalid = experiment(queues, |_| vec![Variant::new("a").set("machine.cores", 0)]);
        assert!(invalid.plan(true).is_err());
        let null = experiment(queues, |_| vec![Variant::new("a").set("nic.queues", Value::Null)]);
        assert!(null.plan(true).is_err());
        let twice = experiment(queues, |_| vec![Variant::new("a").set("machine.cores", 2).set("machine.cores", 4)]);
        assert!(twice.plan(true).unwrap_err().contains("twice"));
        let also_in_base = experiment(queues, |_| vec![Variant::new("a").set("nic.queues", 4)]);
        assert!(also_in_base.plan(true).unwrap_err().contains("base"));
        let same_name = experiment(queues, |_| vec![Variant::new("a"), Variant::new("a")]);
        assert!(same_name.plan(true).unwrap_err().contains("twice"));
    }

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
        assert!((cpu_ns_per_packet(&m).get() - 500_000.0).abs() < 1e-6);
    }

    #[test]
    fn ratios_from_too_few_samples_are_not_shown_or_judged() {
        let few = Ratio::new(28_981_300.0, 3.0, "wakeups");
        let many = Ratio::new(1400.0, MIN_SAMPLES as f64, "wakeups");
        assert_eq!((few.show(0), many.show(0)), ("n/a".to_string(), "1400".to_string()));
        assert!(few.get().is_nan() && few.get().partial_cmp(&many.get()).is_none());
        assert_eq!(many.times(0.5).show(1), "700.0");
        let f = judge("x costs more".into(), &[("a", few), ("b", many)], || true);
        assert!(!f.holds);
        assert_eq!(f.claim, "x costs more — not judged: a has 3 wakeups, fewer than the 100 samples a ratio needs");
        let missing = Ratio::new(1.0, f64::NAN, "packets");
        assert!(judge("y".into(), &[("c", missing)], || true).claim.contains("c has no count of packets"));
        let f = judge("x costs more".into(), &[("b", many)], || true);
        assert!(f.holds && f.claim == "x costs more");
        let m = json!({"duration_s": 1.0, "packets": {"delivered": 0}, "cpu": [{"busy_frac": {"idle": 0.5}}]});
        assert_eq!(cpu_ns_per_packet(&m).show(0), "n/a");
    }
}
