//! Sweep files: a base scenario, overrides, axes and seeds, expanded into
//! the list of runs (docs/sweeps.md).
//!
//! ```toml
//! scenario = "default"            # a built-in, or a scenario file relative to this file
//! duration = "20ms"               # optional, as `irqlab run --duration`
//! set = ["kernel.rps_cpus=f"]     # optional, as `irqlab run --set`, before the axes
//! seeds = 3                       # optional: seeds 1, 2, 3; or a list, [1, 7, 42]
//!
//! [[axis]]
//! key = "nic.queues"              # a key as `--set` names it
//! values = [1, 2, 4]
//!
//! [[axis]]
//! key = "workload.rate_pps"
//! range = { start = 500000, stop = 2000000, step = 500000 }   # or count = 4
//! ```
//!
//! The runs are the cartesian product of the axes and the seeds, numbered
//! from 0: the first axis varies slowest, the seeds fastest, as nested
//! loops written in the file's order. Every run's scenario is loaded (and
//! validated) when the plan is made, before any runs, and its problems are
//! reported against the sweep file's line and column of the value that
//! caused them, once per distinct problem with the runs it hits.

use crate::node::Node;
use irqlab_model::Scenario;
use irqlab_scenario::document::line_column;
use irqlab_scenario::{Diagnostic, ErrorKind, ScenarioError, Setting};
use rayon::prelude::*;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::ops::Range;
use std::path::Path;
use toml::Spanned;

/// Most runs a sweep may have: a grid beyond this is a typo, not a plan.
pub const MAX_RUNS: usize = 1_000_000;

/// A sweep file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSweep {
    scenario: Option<Spanned<String>>,
    duration: Option<Spanned<toml::Value>>,
    #[serde(default)]
    set: Vec<Spanned<String>>,
    seeds: Option<Spanned<toml::Value>>,
    #[serde(default)]
    axis: Vec<Spanned<RawAxis>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAxis {
    key: Spanned<String>,
    values: Option<Spanned<Vec<Spanned<toml::Value>>>>,
    range: Option<Spanned<RawRange>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRange {
    start: Spanned<toml::Value>,
    stop: Spanned<toml::Value>,
    step: Option<Spanned<toml::Value>>,
    count: Option<Spanned<toml::Value>>,
}

/// One value of an axis: the override it makes and where it was written.
#[derive(Clone, Debug)]
struct AxisValue {
    /// TOML text of the value, for `KEY=VALUE`.
    toml: String,
    /// The value as a table cell.
    cell: Node,
    /// `FILE:LINE:COL` of the value (or of the range that made it).
    at: String,
}

/// One axis: a key and its values.
#[derive(Clone, Debug)]
struct Axis {
    key: String,
    /// `FILE:LINE:COL` of the key.
    at: String,
    values: Vec<AxisValue>,
}

/// One run of a sweep.
#[derive(Clone, Debug)]
pub struct PlannedRun {
    /// Its number, from 0, in the sweep's order.
    pub index: usize,
    /// Each axis's value, in the axes' order.
    pub axis_values: Vec<Node>,
    /// The scenario to run, loaded and validated (its seed included).
    pub scenario: Scenario,
}

/// A sweep, expanded and validated.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The sweep file as named.
    pub origin: String,
    /// The axes' keys, in order.
    pub axes: Vec<String>,
    /// Every run, in order.
    pub runs: Vec<PlannedRun>,
    /// SHA-256 (hex) of the sweep file's bytes.
    pub file_sha256: String,
    /// SHA-256 (hex) of what the runs are: the irqlab version, the axes
    /// and every run's resolved scenario. Shards of one sweep agree on it
    /// wherever the files were; `irqlab merge` refuses shards that do not.
    pub plan_sha256: String,
    /// Warnings of the runs' scenarios, each once.
    pub warnings: Vec<String>,
}

/// Reads and expands a sweep file (see the module documentation).
pub fn load(path: &Path) -> Result<Plan, ScenarioError> {
    let origin = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| {
        let kind = if path.is_dir() { ErrorKind::NotAFile } else { ErrorKind::Io };
        single(kind, &origin, None, None, format!("cannot read the sweep file: {e}"))
    })?;
    let text = irqlab_scenario::document::utf8_text(&bytes, &origin)?;
    plan_from_str(text, &origin, path.parent().unwrap_or(Path::new("")))
}

/// Expands sweep text; `origin` names it in errors, `dir` is where a
/// scenario file it names is looked for.
pub fn plan_from_str(text: &str, origin: &str, dir: &Path) -> Result<Plan, ScenarioError> {
    let at = |span: &Range<usize>| {
        let (l, c) = line_column(text, span.start);
        format!("{origin}:{l}:{c}")
    };
    let located = |kind: ErrorKind, span: &Range<usize>, key: Option<&str>, message: String| {
        single(kind, origin, Some(line_column(text, span.start)), key, message)
    };

    let doc = toml::de::DeTable::parse(text).map_err(|e| {
        let lc = e.span().map(|s| line_column(text, s.start));
        single(ErrorKind::Syntax, origin, lc, None, format!("invalid TOML: {}", e.message().trim_end()))
    })?;
    let raw: RawSweep = serde_path_to_error::deserialize(toml::de::Deserializer::from(doc)).map_err(|e| {
        // Spanned fields show up in the path as serde_spanned's private key.
        let key = e
            .path()
            .iter()
            .next()
            .is_some()
            .then(|| e.path().to_string().replace(".$__serde_spanned_private_value", ""));
        let inner = e.into_inner();
        let lc = inner.span().map(|s| line_column(text, s.start));
        single(ErrorKind::Schema, origin, lc, key.as_deref(), inner.message().trim_end().to_string())
    })?;

    // The base scenario: a file next to the sweep file, or a built-in.
    let base: Option<String> = raw.scenario.as_ref().map(|s| {
        let name = s.get_ref();
        let file = dir.join(name);
        if name.ends_with(".toml") || file.is_file() { file.display().to_string() } else { name.clone() }
    });

    let mut settings: Vec<Setting> = raw.set.iter().map(|s| Setting::from_option(at(&s.span()), s.get_ref())).collect();
    if let Some(d) = &raw.duration {
        let ms = match d.get_ref() {
            toml::Value::String(s) => irqlab_scenario::duration::parse_duration_ms(s),
            toml::Value::Integer(n) => irqlab_scenario::duration::parse_duration_ms(&n.to_string()),
            toml::Value::Float(x) => irqlab_scenario::duration::parse_duration_ms(&x.to_string()),
            other => Err(format!("expected a duration such as \"20ms\" (a bare number is milliseconds), got {other}")),
        }
        .map_err(|m| located(ErrorKind::Invalid, &d.span(), Some("duration"), m))?;
        settings.push(Setting::from_option(at(&d.span()), format!("duration_ms={ms:?}")));
    }

    let seeds: Option<Vec<u64>> = match &raw.seeds {
        None => None,
        Some(s) => Some(seeds_of(s.get_ref()).map_err(|m| located(ErrorKind::Invalid, &s.span(), Some("seeds"), m))?),
    };
    let seeds_at = raw.seeds.as_ref().map(|s| at(&s.span()));

    let mut axes: Vec<Axis> = Vec::new();
    for (i, a) in raw.axis.iter().enumerate() {
        let a_ref = a.get_ref();
        let key = a_ref.key.get_ref().trim().to_string();
        let here = |what: &str| format!("axis[{i}].{what}");
        if key.is_empty() {
            return Err(located(
                ErrorKind::Invalid,
                &a_ref.key.span(),
                Some(&here("key")),
                "expected a scenario key, e.g. nic.queues".into(),
            ));
        }
        if let Err(e) = irqlab_scenario::keypath::KeyPath::parse(&key) {
            return Err(located(
                ErrorKind::Invalid,
                &a_ref.key.span(),
                Some(&here("key")),
                format!("bad key path: {e}"),
            ));
        }
        if key == "seed" {
            return Err(located(
                ErrorKind::Invalid,
                &a_ref.key.span(),
                Some(&here("key")),
                "the seed is not an axis: use `seeds` (a count or a list)".into(),
            ));
        }
        if let Some(other) = axes.iter().position(|x| x.key == key) {
            return Err(located(
                ErrorKind::Invalid,
                &a_ref.key.span(),
                Some(&here("key")),
                format!("{key} is already axis[{other}]"),
            ));
        }
        let values = match (&a_ref.values, &a_ref.range) {
            (Some(v), None) => {
                if v.get_ref().is_empty() {
                    return Err(located(
                        ErrorKind::Invalid,
                        &v.span(),
                        Some(&here("values")),
                        "expected at least one value".into(),
                    ));
                }
                v.get_ref()
                    .iter()
                    .map(|x| {
                        let cell = cell_of(x.get_ref())
                            .map_err(|m| located(ErrorKind::Invalid, &x.span(), Some(&here("values")), m))?;
                        Ok(AxisValue { toml: x.get_ref().to_string(), cell, at: at(&x.span()) })
                    })
                    .collect::<Result<Vec<_>, ScenarioError>>()?
            }
            (None, Some(r)) => range_values(r.get_ref())
                .map_err(|(span, m)| located(ErrorKind::Invalid, &span.unwrap_or(r.span()), Some(&here("range")), m))?
                .into_iter()
                .map(|v| {
                    let cell = cell_of(&v).expect("a range gives finite numbers");
                    AxisValue { toml: v.to_string(), cell, at: at(&r.span()) }
                })
                .collect(),
            _ => {
                return Err(located(
                    ErrorKind::Invalid,
                    &a.span(),
                    Some(&format!("axis[{i}]")),
                    "expected either `values = [...]` or `range = { start, stop, step }` (or `count` for `step`)"
                        .into(),
                ));
            }
        };
        axes.push(Axis { key, at: at(&a_ref.key.span()), values });
    }

    let seed_count = seeds.as_ref().map_or(1, Vec::len);
    let total = axes.iter().try_fold(seed_count, |n, a| n.checked_mul(a.values.len()).filter(|n| *n <= MAX_RUNS));
    let Some(total) = total else {
        return Err(single(ErrorKind::Invalid, origin, None, None, format!("the sweep has more than {MAX_RUNS} runs")));
    };

    // Each run's settings: the sweep's own, then one per axis, then the seed.
    let run_settings = |index: usize| -> (Vec<Setting>, Vec<Node>) {
        let mut rest = index;
        let seed = seeds.as_ref().map(|s| s[rest % seed_count]);
        rest /= seed_count;
        let mut picks = vec![0; axes.len()];
        for (k, a) in axes.iter().enumerate().rev() {
            picks[k] = rest % a.values.len();
            rest /= a.values.len();
        }
        let mut all = settings.clone();
        let mut cells = Vec::with_capacity(axes.len());
        for (a, &p) in axes.iter().zip(&picks) {
            let v = &a.values[p];
            all.push(Setting::from_option(v.at.clone(), format!("{}={}", a.key, v.toml)));
            cells.push(v.cell.clone());
        }
        if let (Some(seed), Some(at)) = (seed, &seeds_at) {
            all.push(Setting::from_option(at.clone(), format!("seed={seed}")));
        }
        (all, cells)
    };

    let loaded: Vec<(Vec<Node>, Result<Scenario, ScenarioError>)> = (0..total)
        .into_par_iter()
        .map(|i| {
            let (settings, cells) = run_settings(i);
            (cells, irqlab_scenario::resolve_with(base.as_deref(), &settings))
        })
        .collect();

    // Each distinct problem once, with the runs it hits. The same problem
    // with two values of one axis is the axis key's (an unknown key, say),
    // and is reported there.
    let axis_of = |origin: &str| axes.iter().position(|a| a.values.iter().any(|v| v.at == origin));
    let mut problems: Vec<(Diagnostic, Vec<usize>)> = Vec::new();
    for (i, (_, r)) in loaded.iter().enumerate() {
        if let Err(e) = r {
            for d in e.diagnostics() {
                let same = |p: &Diagnostic| (p.kind, &p.key, &p.message) == (d.kind, &d.key, &d.message);
                let found = problems.iter_mut().find(|(p, _)| {
                    p == d
                        || (same(p)
                            && axis_of(&d.origin)
                                .is_some_and(|k| p.origin == axes[k].at || axis_of(&p.origin) == Some(k)))
                });
                match found {
                    Some((p, runs)) => {
                        if p.origin != d.origin
                            && let Some(k) = axis_of(&d.origin)
                        {
                            p.origin = axes[k].at.clone();
                        }
                        if runs.last() != Some(&i) {
                            runs.push(i);
                        }
                    }
                    None => problems.push((d.clone(), vec![i])),
                }
            }
        }
    }
    if !problems.is_empty() {
        let io_only = problems.iter().all(|(d, _)| d.kind == ErrorKind::Io);
        let diagnostics = problems
            .into_iter()
            .map(|(mut d, runs)| {
                if runs.len() < total && !io_only {
                    d.message = format!("{} ({})", d.message, runs_phrase(&runs));
                }
                d
            })
            .collect();
        return Err(ScenarioError::from_diagnostics(diagnostics).expect("problems were found"));
    }

    let mut warnings: Vec<String> = Vec::new();
    let mut runs = Vec::with_capacity(total);
    for (index, (axis_values, r)) in loaded.into_iter().enumerate() {
        let scenario = r.expect("problems were reported above");
        for w in scenario.warnings() {
            let w = w.to_string();
            if !warnings.contains(&w) {
                warnings.push(w);
            }
        }
        runs.push(PlannedRun { index, axis_values, scenario });
    }
    let axes: Vec<String> = axes.into_iter().map(|a| a.key).collect();
    let plan_sha256 = plan_hash(&axes, &runs);
    Ok(Plan {
        origin: origin.to_string(),
        axes,
        runs,
        file_sha256: hex(&Sha256::digest(text.as_bytes())),
        plan_sha256,
        warnings,
    })
}

/// `run 3`, `runs 0, 4, 8`, `runs 0, 4, 8, 12, 16 and 7 more`.
fn runs_phrase(runs: &[usize]) -> String {
    const SHOWN: usize = 5;
    let list: Vec<String> = runs.iter().take(SHOWN).map(usize::to_string).collect();
    let more = if runs.len() > SHOWN { format!(" and {} more", runs.len() - SHOWN) } else { String::new() };
    format!("{} {}{more}", if runs.len() == 1 { "run" } else { "runs" }, list.join(", "))
}

fn single(
    kind: ErrorKind,
    origin: &str,
    lc: Option<(usize, usize)>,
    key: Option<&str>,
    message: String,
) -> ScenarioError {
    ScenarioError::single(Diagnostic {
        kind,
        origin: origin.to_string(),
        line: lc.map(|x| x.0),
        column: lc.map(|x| x.1),
        key: key.map(str::to_string),
        message,
        snippet: None,
        help: None,
    })
}

/// `seeds = N` (1..=N) or `seeds = [a, b, …]` (distinct, not negative).
fn seeds_of(v: &toml::Value) -> Result<Vec<u64>, String> {
    match v {
        toml::Value::Integer(n) if (1..=MAX_RUNS as i64).contains(n) => Ok((1..=*n as u64).collect()),
        toml::Value::Integer(n) => Err(format!("expected a count of seeds from 1 to {MAX_RUNS}, got {n}")),
        toml::Value::Array(a) if !a.is_empty() => {
            let mut out: Vec<u64> = Vec::with_capacity(a.len());
            for x in a {
                let s = x.as_integer().and_then(|n| u64::try_from(n).ok());
                let Some(s) = s else { return Err(format!("expected seeds that are integers from 0, got {x}")) };
                if out.contains(&s) {
                    return Err(format!("seed {s} is listed twice"));
                }
                out.push(s);
            }
            Ok(out)
        }
        other => Err(format!("expected a count of seeds (3: seeds 1, 2, 3) or a list of them ([1, 7]), got {other}")),
    }
}

/// A value as a table cell (JSON).
fn cell_of(v: &toml::Value) -> Result<Node, String> {
    match v {
        toml::Value::Datetime(_) => Err(format!("no scenario key takes a date or time, got {v}")),
        toml::Value::Float(x) if !x.is_finite() => Err(format!("expected a finite number, got {v}")),
        other => serde_json::to_value(other).map(|j| Node::from_value(&j)).map_err(|e| e.to_string()),
    }
}

/// The values of `range = { start, stop, step | count }`: both ends
/// included; integers when the ends and step are. Errors carry the span
/// of the field at fault, when there is one.
fn range_values(r: &RawRange) -> Result<Vec<toml::Value>, (Option<Range<usize>>, String)> {
    let number = |v: &Spanned<toml::Value>, name: &str| match v.get_ref() {
        toml::Value::Integer(n) => Ok((*n as f64, Some(*n))),
        toml::Value::Float(x) if x.is_finite() => Ok((*x, None)),
        other => Err((Some(v.span()), format!("expected a number for {name}, got {other}"))),
    };
    let (start, start_i) = number(&r.start, "start")?;
    let (stop, stop_i) = number(&r.stop, "stop")?;
    match (&r.step, &r.count) {
        (Some(step_v), None) => {
            let (step, step_i) = number(step_v, "step")?;
            if step == 0.0 {
                return Err((Some(step_v.span()), "expected a step other than 0".into()));
            }
            if (stop - start) / step < 0.0 {
                return Err((Some(step_v.span()), format!("a step of {step} never goes from {start} to {stop}")));
            }
            if let (Some(a), Some(b), Some(s)) = (start_i, stop_i, step_i) {
                let n = (b - a) / s + 1;
                if n as usize > MAX_RUNS {
                    return Err((Some(step_v.span()), format!("more than {MAX_RUNS} values")));
                }
                return Ok((0..n).map(|i| toml::Value::Integer(a + i * s)).collect());
            }
            // A relative tolerance keeps `stop` when rounding falls just short.
            let n = ((stop - start) / step * (1.0 + 1e-12) + 1e-9).floor() + 1.0;
            if n > MAX_RUNS as f64 {
                return Err((Some(step_v.span()), format!("more than {MAX_RUNS} values")));
            }
            Ok((0..n as i64).map(|i| toml::Value::Float(start + i as f64 * step)).collect())
        }
        (None, Some(count_v)) => {
            let count = match count_v.get_ref() {
                toml::Value::Integer(n) if (1..=MAX_RUNS as i64).contains(n) => *n,
                other => {
                    return Err((Some(count_v.span()), format!("expected a count from 1 to {MAX_RUNS}, got {other}")));
                }
            };
            if count == 1 {
                return Ok(vec![r.start.get_ref().clone()]);
            }
            if let (Some(a), Some(b)) = (start_i, stop_i)
                && (b - a) % (count - 1) == 0
            {
                let s = (b - a) / (count - 1);
                return Ok((0..count).map(|i| toml::Value::Integer(a + i * s)).collect());
            }
            let step = (stop - start) / (count - 1) as f64;
            Ok((0..count)
                .map(|i| toml::Value::Float(if i == count - 1 { stop } else { start + i as f64 * step }))
                .collect())
        }
        _ => Err((None, "expected one of `step` and `count`".into())),
    }
}

fn plan_hash(axes: &[String], runs: &[PlannedRun]) -> String {
    let mut h = Sha256::new();
    h.update(b"irqlab sweep plan\n");
    h.update(irqlab_model::metrics::IRQLAB_VERSION.as_bytes());
    h.update(b"\n");
    h.update(serde_json::to_string(axes).expect("strings serialise").as_bytes());
    for r in runs {
        h.update(format!("\n{}\n", r.index).as_bytes());
        h.update(serde_json::to_string(&r.axis_values).expect("nodes serialise").as_bytes());
        h.update(b"\n");
        h.update(serde_json::to_string(&r.scenario).expect("scenarios serialise").as_bytes());
    }
    hex(&h.finalize())
}

/// Lower-case hex digits of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(text: &str) -> Result<Plan, ScenarioError> {
        plan_from_str(text, "s.toml", Path::new(""))
    }

    fn cells(p: &Plan, axis: usize) -> Vec<String> {
        p.runs.iter().map(|r| r.axis_values[axis].to_json()).collect()
    }

    #[test]
    fn runs_are_the_product_first_axis_slowest_seeds_fastest() {
        let p = plan("seeds = [7, 9]\nduration = 2\n[[axis]]\nkey = \"nic.queues\"\nvalues = [1, 2]\n[[axis]]\nkey = \"workload.arrival\"\nvalues = [\"constant\", \"poisson\"]\n").unwrap();
        assert_eq!(p.runs.len(), 8);
        assert_eq!(cells(&p, 0), ["1", "1", "1", "1", "2", "2", "2", "2"]);
        assert_eq!(cells(&p, 1)[..4], ["\"constant\"", "\"constant\"", "\"poisson\"", "\"poisson\""]);
        let seeds: Vec<u64> = p.runs.iter().map(|r| r.scenario.seed).collect();
        assert_eq!(seeds, [7, 9, 7, 9, 7, 9, 7, 9]);
        assert!(p.runs.iter().all(|r| r.scenario.duration_ms == 2.0));
        assert_eq!(p.runs[5].scenario.nic.queues, 2);
    }

    #[test]
    fn ranges_include_both_ends_and_stay_integers_when_they_can() {
        let values = |range: &str| {
            let p = plan(&format!("[[axis]]\nkey = \"workload.rate_pps\"\nrange = {range}\n")).unwrap();
            cells(&p, 0)
        };
        assert_eq!(values("{ start = 1, stop = 7, step = 3 }"), ["1", "4", "7"]);
        assert_eq!(values("{ start = 0.1, stop = 0.3, step = 0.1 }"), ["0.1", "0.2", "0.30000000000000004"]);
        assert_eq!(values("{ start = 10, stop = 20, count = 3 }"), ["10", "15", "20"]);
        assert_eq!(values("{ start = 1, stop = 2, count = 3 }"), ["1.0", "1.5", "2.0"]);
        assert_eq!(values("{ start = 5, stop = 1, step = -2 }"), ["5", "3", "1"]);
        assert!(plan("[[axis]]\nkey = \"workload.rate_pps\"\nrange = { start = 1, stop = 2, step = 0 }\n").is_err());
        assert!(
            plan("[[axis]]\nkey = \"workload.rate_pps\"\nrange = { start = 1, stop = 2, step = 1, count = 2 }\n")
                .is_err()
        );
    }

    #[test]
    fn the_plan_hash_follows_what_runs_not_how_the_file_is_written() {
        let a = plan("seeds = 2\n[[axis]]\nkey = \"nic.queues\"\nvalues = [1, 2]\n").unwrap();
        let b = plan("# the same sweep\nseeds = [1, 2]\n[[axis]]\nkey = \"nic.queues\"\nvalues = [1, 2]\n").unwrap();
        let c = plan("seeds = 2\n[[axis]]\nkey = \"nic.queues\"\nvalues = [1, 3]\n").unwrap();
        assert_eq!(a.plan_sha256, b.plan_sha256);
        assert_ne!(a.file_sha256, b.file_sha256);
        assert_ne!(a.plan_sha256, c.plan_sha256);
    }

    #[test]
    fn the_example_sweep_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sweeps/coalescing.toml");
        let p = load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.axes, ["nic.coalesce.rx_usecs", "workload.rate_pps"]);
        assert_eq!(p.runs.len(), 100);
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        let last = &p.runs[99].scenario;
        assert_eq!(
            (last.nic.coalesce.rx_usecs, last.nic.coalesce.rx_frames, last.seed, last.duration_ms),
            (64, 64, 4, 20.0)
        );
    }
}
