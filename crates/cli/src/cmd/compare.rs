//! `irqlab compare A.json B.json`: two metrics documents side by side — every
//! number both have, with its absolute and relative change, the largest
//! moves first — and the keys only one has. Documents of different schema
//! versions are refused. The embedded `resolved_scenario` is the runs'
//! input, not a result: its numbers are not among the changes (the seed is
//! compared at the top); the settings that differ between the two runs are
//! listed first instead, so the reader sees what was changed before what
//! it changed.

use super::Failure;
use clap::Args;
use irqlab_report::settings;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

/// Arguments of `irqlab compare`.
#[derive(Args, Debug, Clone)]
pub struct CompareArgs {
    /// The first metrics document (`irqlab run --json A.json`)
    pub a: PathBuf,
    /// The second one
    pub b: PathBuf,
    /// Rows to print, largest relative moves first (0: every changed number)
    #[arg(long, default_value_t = 25)]
    pub top: usize,
    /// Print one JSON object instead of the table
    #[arg(long)]
    pub json: bool,
}

/// One number both documents have.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Change {
    /// Its key path, e.g. `throughput.delivered_pps` or `cpu[1].busy_frac.user`.
    pub key: String,
    /// Its value in A.
    pub a: f64,
    /// Its value in B.
    pub b: f64,
    /// `b − a`.
    pub change: f64,
    /// `(b − a) / |a|`; `null` when `a` is 0 and `b` is not.
    pub relative: Option<f64>,
}

/// A setting of the runs' resolved scenarios that differs.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Setting {
    /// Its key, as `--set` names it (`nic.queues`); a list is one setting.
    pub key: String,
    /// Its value in A's scenario (JSON; absent: the key is not there).
    pub a: Option<Value>,
    /// Its value in B's.
    pub b: Option<Value>,
}

/// What `compare` reports.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// A's scenario and seed.
    pub a: String,
    /// B's scenario and seed.
    pub b: String,
    /// The metrics schema version both have.
    pub schema_version: u64,
    /// The settings the two runs were given that differ (`resolved_scenario`),
    /// by key; `None` unless both documents carry their scenario (a
    /// machine's counters do not).
    pub settings: Option<Vec<Setting>>,
    /// Numbers that differ, largest relative move first.
    pub changes: Vec<Change>,
    /// Numbers equal in both.
    pub unchanged: usize,
    /// Keys only A has.
    pub only_a: Vec<String>,
    /// Keys only B has.
    pub only_b: Vec<String>,
}

fn load(path: &PathBuf, name: &str) -> Result<Value, Failure> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Failure::Io(format!("reading {name} ({}): {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| {
        super::sweep_rows_instead(path).unwrap_or_else(|| {
            Failure::Input(format!(
                "{name} ({}): not JSON: line {}, column {}: {e}",
                path.display(),
                e.line(),
                e.column()
            ))
        })
    })
}

/// The top-level key holding the scenario a run was given, which is not compared.
const RESOLVED_SCENARIO: &str = "resolved_scenario";

/// Every number of `v` by key path (objects by key, arrays by index),
/// without the run's [`RESOLVED_SCENARIO`].
fn flatten_result(v: &Value, out: &mut BTreeMap<String, f64>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter().filter(|(k, _)| *k != RESOLVED_SCENARIO) {
                flatten(x, k, out);
            }
        }
        other => flatten(other, "", out),
    }
}

/// Every number of `v` by key path (objects by key, arrays by index).
fn flatten(v: &Value, path: &str, out: &mut BTreeMap<String, f64>) {
    match v {
        Value::Number(n) => {
            if let Some(x) = n.as_f64() {
                out.insert(path.to_owned(), x);
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                flatten(x, &p, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                flatten(x, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// The settings of the two documents' resolved scenarios that differ, if
/// both have one.
fn settings_that_differ(a: &Value, b: &Value) -> Option<Vec<Setting>> {
    if !(a[RESOLVED_SCENARIO].is_object() && b[RESOLVED_SCENARIO].is_object()) {
        return None;
    }
    let (sa, sb) = (settings::flatten(&a[RESOLVED_SCENARIO]), settings::flatten(&b[RESOLVED_SCENARIO]));
    Some(
        settings::differing(&[&sa, &sb])
            .into_iter()
            .map(|k| Setting { a: sa.get(&k).cloned(), b: sb.get(&k).cloned(), key: k })
            .collect(),
    )
}

/// A document's scenario and seed (a machine's counters have no seed).
fn label(v: &Value) -> String {
    let scenario = v["scenario"].as_str().unwrap_or("?");
    match &v["seed"] {
        Value::Null => scenario.to_owned(),
        seed => format!("{scenario} (seed {seed})"),
    }
}

/// Compares two metrics documents.
pub fn compare(a: &Value, b: &Value, names: (&str, &str)) -> Result<Comparison, Failure> {
    let version = |v: &Value, name: &str| {
        v["schema_version"].as_u64().ok_or_else(|| {
            Failure::Input(format!(
                "{name} is not an irqlab metrics document (no schema_version; `irqlab run --json` writes one)"
            ))
        })
    };
    let (va, vb) = (version(a, names.0)?, version(b, names.1)?);
    if va != vb {
        return Err(Failure::Input(format!(
            "{} has metrics schema version {va}, {} has {vb}: compare documents written by the same irqlab version",
            names.0, names.1
        )));
    }
    let (mut fa, mut fb) = (BTreeMap::new(), BTreeMap::new());
    flatten_result(a, &mut fa);
    flatten_result(b, &mut fb);
    let mut changes = Vec::new();
    let mut unchanged = 0;
    for (k, x) in &fa {
        let Some(y) = fb.get(k) else { continue };
        if x == y {
            unchanged += 1;
            continue;
        }
        let relative = if *x == 0.0 { None } else { Some((y - x) / x.abs()) };
        changes.push(Change { key: k.clone(), a: *x, b: *y, change: y - x, relative });
    }
    let size = |c: &Change| c.relative.map_or(f64::INFINITY, f64::abs);
    changes.sort_by(|p, q| size(q).total_cmp(&size(p)).then_with(|| p.key.cmp(&q.key)));
    Ok(Comparison {
        a: label(a),
        b: label(b),
        schema_version: va,
        settings: settings_that_differ(a, b),
        changes,
        unchanged,
        only_a: fa.keys().filter(|k| !fb.contains_key(*k)).cloned().collect(),
        only_b: fb.keys().filter(|k| !fa.contains_key(*k)).cloned().collect(),
    })
}

fn num(x: f64) -> String {
    if x == x.trunc() && x.abs() < 1e15 { format!("{x:.0}") } else { format!("{x:.6}") }
}

/// `irqlab compare`.
pub fn run(args: &CompareArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let (a, b) = (load(&args.a, "A")?, load(&args.b, "B")?);
    let c = compare(&a, &b, ("A", "B"))?;
    if args.json {
        let text = serde_json::to_string_pretty(&c).map_err(|e| Failure::Bug(format!("serialising: {e}")))?;
        writeln!(out, "{text}")?;
        return Ok(());
    }
    writeln!(out, "A  {}\nB  {}", c.a, c.b)?;
    match c.settings.as_deref() {
        None => {}
        Some([]) => writeln!(out, "settings: the same")?,
        Some(settings) => {
            let n = settings.len();
            writeln!(out, "settings: {n} differ{}", if n == 1 { "s" } else { "" })?;
            for x in settings {
                writeln!(out, "  {}: {} → {}", x.key, settings::shown(x.a.as_ref()), settings::shown(x.b.as_ref()))?;
            }
        }
    }
    writeln!(
        out,
        "{} numbers changed, {} equal; {} only in A, {} only in B",
        c.changes.len(),
        c.unchanged,
        c.only_a.len(),
        c.only_b.len()
    )?;
    let shown = if args.top == 0 { c.changes.len() } else { args.top.min(c.changes.len()) };
    if shown > 0 {
        let width = c.changes[..shown].iter().map(|x| x.key.len()).max().unwrap_or(3).max(3);
        writeln!(out, "\n{:<width$}  {:>16}  {:>16}  {:>16}  {:>9}", "key", "A", "B", "change", "relative")?;
        for x in &c.changes[..shown] {
            let rel = x.relative.map_or("new".to_owned(), |r| format!("{:+.1}%", r * 100.0));
            writeln!(out, "{:<width$}  {:>16}  {:>16}  {:>16}  {:>9}", x.key, num(x.a), num(x.b), num(x.change), rel)?;
        }
        if shown < c.changes.len() {
            writeln!(out, "({} more changed; --top 0 shows every one)", c.changes.len() - shown)?;
        }
    }
    for (side, keys) in [("A", &c.only_a), ("B", &c.only_b)] {
        if !keys.is_empty() {
            let list: Vec<&str> = keys.iter().take(10).map(String::as_str).collect();
            let more = if keys.len() > 10 { format!(" and {} more", keys.len() - 10) } else { String::new() };
            writeln!(out, "only in {side}: {}{more}", list.join(", "))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn changes_come_largest_first_and_keys_of_one_side_are_listed() {
        let a = json!({"schema_version": 1, "scenario": "x", "seed": 1, "t": {"pps": 100.0, "same": 3}, "cpu": [{"u": 0.5}], "gone": 1});
        let b = json!({"schema_version": 1, "scenario": "x", "seed": 2, "t": {"pps": 110.0, "same": 3}, "cpu": [{"u": 1.0}], "new": 0});
        let c = compare(&a, &b, ("A", "B")).unwrap();
        let keys: Vec<&str> = c.changes.iter().map(|x| x.key.as_str()).collect();
        // +100%, +100% (ties by key), +10%.
        assert_eq!(keys, ["cpu[0].u", "seed", "t.pps"]);
        assert_eq!(c.changes[0].relative, Some(1.0));
        assert_eq!(c.changes[2].change, 10.0);
        assert_eq!(
            (c.unchanged, c.only_a.clone(), c.only_b.clone()),
            (2, vec!["gone".to_owned()], vec!["new".to_owned()])
        );
    }

    #[test]
    fn the_resolved_scenario_is_input_and_is_not_compared() {
        let a = json!({"schema_version": 1, "seed": 1, "n": 5, "resolved_scenario": {"seed": 1, "nic": {"queues": 4}}});
        let b = json!({"schema_version": 1, "seed": 2, "n": 5, "resolved_scenario": {"seed": 2, "nic": {"queues": 8}}});
        let c = compare(&a, &b, ("A", "B")).unwrap();
        let keys: Vec<&str> = c.changes.iter().map(|x| x.key.as_str()).collect();
        assert_eq!(keys, ["seed"]);
        assert_eq!(c.unchanged, 2);
        // Its settings that differ come apart, by key.
        let settings = c.settings.expect("both have their scenario");
        let keys: Vec<&str> = settings.iter().map(|x| x.key.as_str()).collect();
        assert_eq!(keys, ["nic.queues", "seed"]);
        assert_eq!((settings[0].a.clone(), settings[0].b.clone()), (Some(json!(4)), Some(json!(8))));
        // A machine's counters carry no scenario: no settings to compare,
        // and no seed to name.
        let counters = json!({"schema_version": 1, "scenario": "counters of eth0", "n": 5});
        let c = compare(&counters, &b, ("A", "B")).unwrap();
        assert_eq!((c.settings, c.a.as_str()), (None, "counters of eth0"));
    }

    #[test]
    fn settings_compare_lists_as_one_value_and_name_a_missing_key() {
        let a = json!({"schema_version": 1, "resolved_scenario": {"kernel": {"rps_cpus": [0, 1], "rfs": false}}});
        let b = json!({"schema_version": 1, "resolved_scenario": {"kernel": {"rps_cpus": [0, 2], "rfs": false}, "vm": {"cores": [2]}}});
        let c = compare(&a, &b, ("A", "B")).unwrap();
        assert_eq!(
            c.settings,
            Some(vec![
                Setting { key: "kernel.rps_cpus".into(), a: Some(json!([0, 1])), b: Some(json!([0, 2])) },
                Setting { key: "vm.cores".into(), a: None, b: Some(json!([2])) },
            ])
        );
        assert_eq!(compare(&a, &a, ("A", "B")).unwrap().settings, Some(vec![]));
    }

    #[test]
    fn other_schema_versions_and_foreign_documents_are_refused() {
        let a = json!({"schema_version": 1});
        let b = json!({"schema_version": 2});
        let e = compare(&a, &b, ("A", "B")).unwrap_err();
        assert!(e.message().contains("A has metrics schema version 1, B has 2"), "{}", e.message());
        let e = compare(&a, &json!({"x": 1}), ("A", "B")).unwrap_err();
        assert!(e.message().starts_with("B is not an irqlab metrics document"), "{}", e.message());
        assert_eq!(e.exit_code(), super::super::EXIT_INPUT);
    }
}
