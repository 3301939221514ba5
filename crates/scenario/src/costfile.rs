//! Cost files: a `[costs]` table (and `[costs.memory]`) in the scenario's
//! own format, written by `irqlab calibrate` or by hand, applied on top of
//! a scenario by `irqlab run --costs FILE` or by a scenario's top-level
//! `costs_file = "FILE"` (docs/calibration.md).
//!
//! A cost file may hold `[costs]` and `[calibration]` only. `[calibration]`
//! is provenance (host, date, each measurement's spread) and is not read;
//! `[costs]` goes through exactly the checks a scenario's `[costs]` does,
//! and its problems are located in the cost file (`FILE:LINE:COL: KEY:
//! MESSAGE`). What a cost file sets is then applied as overrides, one per
//! key it sets, so keys it does not set keep the scenario's values.

use crate::document::Source;
use crate::error::{Diagnostic, ErrorKind, ScenarioError};
use crate::overrides::Setting;
use irqlab_model::Scenario;
use serde_json::Value;
use std::path::Path;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// The top-level tables a cost file may hold.
pub const COST_FILE_TABLES: [&str; 2] = ["costs", "calibration"];

/// A loaded, valid cost file.
#[derive(Clone, Debug, PartialEq)]
pub struct CostFile {
    /// The file name as given (or the origin of the text).
    pub origin: String,
    /// Every key the file sets, as a dotted path (`costs.syscall_ns`,
    /// `costs.memory.sfence_ns`), sorted.
    pub keys: Vec<String>,
    /// The scenario the file describes: the defaults, with its `[costs]`.
    pub scenario: Scenario,
}

impl CostFile {
    /// The value the file gives `key` (one of [`CostFile::keys`]), as JSON.
    pub fn value(&self, key: &str) -> Option<Value> {
        let costs = serde_json::to_value(&self.scenario.costs).ok()?;
        let mut cur = &costs;
        for part in key.strip_prefix("costs.")?.split('.') {
            cur = cur.get(part)?;
        }
        Some(cur.clone())
    }

    /// The file's keys and values as `KEY=VALUE` overrides reported against
    /// `option` (e.g. `--costs FILE`).
    pub fn settings(&self, option: &str) -> Vec<Setting> {
        self.keys
            .iter()
            .filter_map(|k| Some(Setting::from_option(option, format!("{k}={}", toml_value(&self.value(k)?)))))
            .collect()
    }
}

/// A JSON scalar as a TOML value (cost values are numbers, strings or booleans).
fn toml_value(v: &Value) -> String {
    match v {
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => format!("{f:?}"),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// Loads a cost file. Errors are located in it.
pub fn load_cost_file(path: &Path) -> Result<CostFile, ScenarioError> {
    let origin = path.display().to_string();
    let fail =
        |kind: ErrorKind, message: String| ScenarioError::single(Diagnostic::unlocated(kind, origin.clone(), message));
    if path.is_dir() {
        return Err(fail(ErrorKind::NotAFile, "is a directory, not a cost file".into()));
    }
    let bytes = std::fs::read(path).map_err(|e| fail(ErrorKind::Io, format!("cannot read the cost file: {e}")))?;
    let text = crate::document::utf8_text(&bytes, &origin)?;
    load_cost_str(text, &origin)
}

/// Loads cost-file text; `origin` names it in errors.
pub fn load_cost_str(src: &str, origin: &str) -> Result<CostFile, ScenarioError> {
    let source = Source { origin, text: src, override_options: &[] };
    let doc = DeTable::parse(src).map_err(|e| {
        ScenarioError::single(source.diagnostic(
            ErrorKind::Syntax,
            e.span(),
            None,
            format!("invalid TOML: {}", e.message().trim_end()),
        ))
    })?;
    let mut problems = Vec::new();
    for (key, _) in doc.get_ref().iter() {
        let name: &str = key.get_ref();
        if !COST_FILE_TABLES.contains(&name) {
            problems.push(source.diagnostic(
                ErrorKind::Schema,
                Some(key.span()),
                Some(name.to_string()),
                "a cost file holds only [costs] and [calibration]; other scenario keys belong in the scenario".into(),
            ));
        }
    }
    match doc.get_ref().get("costs").map(|v| v.get_ref()) {
        None => problems.push(source.diagnostic(
            ErrorKind::Schema,
            None,
            Some("costs".into()),
            "expected a [costs] table (see docs/scenarios.md for its keys)".into(),
        )),
        Some(DeValue::Table(_)) => {}
        Some(_) => problems.push(source.diagnostic(
            ErrorKind::Schema,
            doc.get_ref().get("costs").map(|v| v.span()),
            Some("costs".into()),
            "expected a table".into(),
        )),
    }
    if let Some(e) = ScenarioError::from_diagnostics(problems) {
        return Err(e);
    }
    let mut keys = Vec::new();
    if let Some(costs) = doc.get_ref().get("costs") {
        leaves(costs, "costs", &mut keys);
    }
    keys.sort();
    let scenario = crate::load_text_as(src, origin, &[], None, crate::Mode::CostFile)?;
    Ok(CostFile { origin: origin.to_string(), keys, scenario })
}

/// The dotted paths of every non-table value under `v`.
fn leaves(v: &Spanned<DeValue<'_>>, path: &str, out: &mut Vec<String>) {
    match v.get_ref() {
        DeValue::Table(t) => {
            for (k, child) in t.iter() {
                let key: &str = k.get_ref();
                leaves(child, &format!("{path}.{key}"), out);
            }
        }
        _ => out.push(path.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cost_file_sets_only_its_keys() {
        let f = load_cost_str(
            "[calibration]\nhost = \"x\"\n[calibration.measurements]\ngetppid = { median = 1.0 }\n\n[costs]\nsyscall_ns = 80.5\n[costs.memory]\nsfence_ns = 3.0\n",
            "c.toml",
        )
        .unwrap();
        assert_eq!(f.keys, ["costs.memory.sfence_ns", "costs.syscall_ns"]);
        let s: Vec<String> = f.settings("--costs").into_iter().map(|s| s.text).collect();
        assert_eq!(s, ["costs.memory.sfence_ns=3.0", "costs.syscall_ns=80.5"]);
    }

    #[test]
    fn bad_cost_files_are_located() {
        let e = load_cost_str("[costs]\nsyscall_ns = -1.0\n", "c.toml").unwrap_err();
        assert_eq!(e.first().to_string().split(": ").take(2).collect::<Vec<_>>(), ["c.toml:2:14", "costs.syscall_ns"]);
        let e = load_cost_str("[costs]\nsyscal_ns = 1.0\n", "c.toml").unwrap_err();
        assert!(e.first().to_string().starts_with("c.toml:2:1: costs"), "{e}");
        let e = load_cost_str("[nic]\nqueues = 2\n[costs]\n", "c.toml").unwrap_err();
        assert!(e.first().to_string().starts_with("c.toml:1:2: nic: a cost file holds only"), "{e}");
        let e = load_cost_str("[calibration]\n", "c.toml").unwrap_err();
        assert!(e.first().to_string().contains("expected a [costs] table"), "{e}");
        let e = load_cost_str("[costs\n", "c.toml").unwrap_err();
        assert_eq!(e.first().kind, ErrorKind::Syntax);
    }

    /// A scratch directory holding `files`, deleted when the returned guard drops.
    fn scratch(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::Builder::new().prefix("irqlab-costfile-").tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        dir
    }

    #[test]
    fn costs_file_is_relative_to_the_scenario_and_under_its_own_costs() {
        let tmp = scratch(&[
            ("host.toml", "[calibration]\ncpu_model = \"x\"\n[costs]\nsyscall_ns = 80.0\ncontext_switch_ns = 1500.0\n"),
            ("s.toml", "costs_file = \"host.toml\"\n[costs]\nsyscall_ns = 111.0\n"),
        ]);
        let dir = tmp.path();
        let s = crate::load_file(&dir.join("s.toml"), &[]).unwrap();
        // The file sets context_switch_ns; the scenario's own syscall_ns wins.
        assert_eq!(s.costs.context_switch_ns, 1500.0);
        assert_eq!(s.costs.syscall_ns, 111.0);
        assert_eq!(s.costs.wakeup_ns, irqlab_model::costs::CostModel::default().wakeup_ns);
        // --set wins over both.
        let s = crate::load_file(&dir.join("s.toml"), &["costs.context_switch_ns=7.0".into()]).unwrap();
        assert_eq!(s.costs.context_switch_ns, 7.0);
        // A --set costs_file is relative to the current directory.
        let abs = dir.join("host.toml").display().to_string();
        let s = crate::load_str("", "t", &[format!("costs_file={abs:?}")]).unwrap();
        assert_eq!(s.costs.syscall_ns, 80.0);
    }

    #[test]
    fn costs_file_problems_are_located() {
        let tmp = scratch(&[
            ("bad.toml", "[costs]\nsyscall_ns = -5.0\n"),
            ("s.toml", "duration_ms = 5.0\ncosts_file = \"bad.toml\"\n"),
            ("missing.toml", "costs_file = \"nope.toml\"\n"),
            ("number.toml", "costs_file = 3\n"),
        ]);
        let dir = tmp.path();
        let e = crate::load_file(&dir.join("s.toml"), &[]).unwrap_err().to_string();
        assert!(e.contains("bad.toml:2:14: costs.syscall_ns:"), "{e}");
        let e = crate::load_file(&dir.join("missing.toml"), &[]).unwrap_err().to_string();
        assert!(e.contains("missing.toml:1:14: costs_file:") && e.contains("no such cost file"), "{e}");
        let e = crate::load_file(&dir.join("number.toml"), &[]).unwrap_err().to_string();
        assert!(e.contains("number.toml:1:14: costs_file: expected a string"), "{e}");
    }
}
