//! `irqlab run --replay RESULT.json`: the scenario a metrics document was
//! run with, read back from the document itself.
//!
//! Every metrics document carries its `schema_version`, the
//! `irqlab_version` that wrote it, the `seed` and the `resolved_scenario`
//! (every key, after the built-in or file, the overrides and the cost file
//! were applied). Running that scenario again gives the same document, byte
//! for byte, as long as the irqlab version is the same ([`Replay::version`]
//! says which version wrote it; the caller warns when it differs).
//!
//! Left out: a scenario that replays a capture (`workload.pcap`). The
//! document names the capture's path as the scenario file gave it, relative
//! to a directory the document does not record, and not its content; such a
//! result is refused rather than replayed against whatever file has that
//! name now.

use crate::error::{Diagnostic, ErrorKind, ScenarioError};
use irqlab_model::Scenario;
use irqlab_model::metrics::METRICS_SCHEMA_VERSION;
use serde_json::Value;

/// The key of a metrics document that holds the scenario it was run with.
pub const RESOLVED_SCENARIO_KEY: &str = "resolved_scenario";

/// A metrics document's scenario, ready to run again.
#[derive(Clone, Debug)]
pub struct Replay {
    /// The scenario, validated.
    pub scenario: Scenario,
    /// The irqlab version that wrote the document.
    pub version: String,
}

/// Reads the scenario of a metrics document (`irqlab run --json`, a sweep's
/// `runs/NNNN.json`). `origin` names the document in errors. A document
/// that is not JSON, not a metrics document, of another schema version, or
/// whose scenario does not load is refused with a located error.
pub fn from_result(text: &str, origin: &str) -> Result<Replay, ScenarioError> {
    let fail = |line: Option<usize>, column: Option<usize>, key: Option<&str>, message: String| {
        ScenarioError::single(Diagnostic {
            kind: ErrorKind::Invalid,
            origin: origin.to_string(),
            line,
            column,
            key: key.map(str::to_string),
            message,
            snippet: None,
            help: None,
        })
    };
    let doc: Value = serde_json::from_str(text).map_err(|e| {
        let kind = if e.is_io() { ErrorKind::Io } else { ErrorKind::Syntax };
        let mut d = fail(Some(e.line()), Some(e.column()), None, format!("not JSON: {e}")).first().clone();
        d.kind = kind;
        ScenarioError::single(d)
    })?;
    let not_a_result = |what: &str| {
        fail(
            None,
            None,
            None,
            format!(
                "not an irqlab result ({what}); expected the metrics JSON of `irqlab run --json` or a sweep's runs/NNNN.json"
            ),
        )
    };
    let Some(object) = doc.as_object() else { return Err(not_a_result("not a JSON object")) };
    let Some(version) = object.get("schema_version").and_then(Value::as_u64) else {
        return Err(not_a_result("no schema_version"));
    };
    if version != u64::from(METRICS_SCHEMA_VERSION) {
        return Err(fail(
            None,
            None,
            Some("schema_version"),
            format!(
                "metrics schema version {version}, but this irqlab writes version {METRICS_SCHEMA_VERSION}: replay it with the irqlab that wrote it"
            ),
        ));
    }
    let Some(written_by) = object.get("irqlab_version").and_then(Value::as_str) else {
        return Err(not_a_result("no irqlab_version: written before results carried their scenario"));
    };
    let Some(resolved) = object.get(RESOLVED_SCENARIO_KEY) else {
        return Err(not_a_result("no resolved_scenario: written before results carried their scenario"));
    };
    let scenario: Scenario = serde_path_to_error::deserialize(resolved).map_err(|e| {
        let path = e.path().to_string();
        let key =
            if path == "." { RESOLVED_SCENARIO_KEY.to_string() } else { format!("{RESOLVED_SCENARIO_KEY}.{path}") };
        fail(None, None, Some(&key), e.into_inner().to_string())
    })?;
    if let Some(seed) = object.get("seed").and_then(Value::as_u64)
        && seed != scenario.seed
    {
        return Err(fail(
            None,
            None,
            Some("seed"),
            format!("the document's seed {seed} is not its scenario's seed {}: the file was edited", scenario.seed),
        ));
    }
    if scenario.workload.pcap.is_some() {
        return Err(fail(
            None,
            None,
            Some(&format!("{RESOLVED_SCENARIO_KEY}.workload.pcap")),
            "the run replayed a capture, which the result names but does not contain: run its scenario file instead"
                .into(),
        ));
    }
    let problems: Vec<Diagnostic> = scenario
        .validate()
        .into_iter()
        .map(|e| Diagnostic {
            kind: ErrorKind::Invalid,
            origin: origin.to_string(),
            line: None,
            column: None,
            key: Some(format!("{RESOLVED_SCENARIO_KEY}.{}", e.path)),
            message: e.message,
            snippet: None,
            help: None,
        })
        .collect();
    if let Some(e) = ScenarioError::from_diagnostics(problems) {
        return Err(e);
    }
    Ok(Replay { scenario, version: written_by.to_string() })
}

/// Reads a result file and its scenario (see [`from_result`]); a file that
/// cannot be read is an [`ErrorKind::Io`] problem.
pub fn from_result_file(path: &std::path::Path) -> Result<Replay, ScenarioError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        let kind = if e.kind() == std::io::ErrorKind::InvalidData { ErrorKind::Syntax } else { ErrorKind::Io };
        ScenarioError::single(Diagnostic {
            kind,
            origin: origin.clone(),
            line: None,
            column: None,
            key: None,
            message: format!("cannot read the result: {e}"),
            snippet: None,
            help: None,
        })
    })?;
    from_result(&text, &origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result_of(s: &Scenario) -> String {
        let m = irqlab_model::run(s).expect("a valid scenario runs");
        serde_json::to_string_pretty(&m).unwrap()
    }

    #[test]
    fn every_builtin_comes_back_as_it_was_run() {
        for b in crate::builtins() {
            let mut s = b.load(&[]).unwrap();
            if s.workload.pcap.is_some() {
                continue;
            }
            s.duration_ms = 0.2;
            let r = from_result(&result_of(&s), "r.json").unwrap_or_else(|e| panic!("{}: {e}", b.name));
            assert_eq!(r.scenario, s, "{}", b.name);
            assert_eq!(r.version, env!("CARGO_PKG_VERSION"));
        }
    }

    #[test]
    fn what_is_not_a_result_of_this_schema_is_refused_with_its_reason() {
        let mut s = Scenario::default();
        s.duration_ms = 0.1;
        let good: Value = serde_json::from_str(&result_of(&s)).unwrap();
        let edit = |f: &dyn Fn(&mut Value)| {
            let mut v = good.clone();
            f(&mut v);
            from_result(&v.to_string(), "r.json").unwrap_err().to_string()
        };
        let e = edit(&|v| v["schema_version"] = 999.into());
        assert!(e.starts_with("r.json: schema_version: metrics schema version 999"), "{e}");
        let e = edit(&|v| {
            v.as_object_mut().unwrap().remove("resolved_scenario");
        });
        assert!(e.contains("not an irqlab result (no resolved_scenario"), "{e}");
        let e = edit(&|v| v["resolved_scenario"]["nic"]["queues"] = "many".into());
        assert!(e.starts_with("r.json: resolved_scenario.nic.queues: invalid type"), "{e}");
        let e = edit(&|v| v["resolved_scenario"]["nic"]["queues"] = 0.into());
        assert!(e.contains("resolved_scenario.nic.queues"), "{e}");
        let e = edit(&|v| v["seed"] = 5.into());
        assert!(e.contains("seed 5 is not its scenario's seed 1"), "{e}");
        let e = from_result("{\"a\": [1,", "r.json").unwrap_err();
        assert_eq!(e.first().kind, ErrorKind::Syntax);
        assert!(e.to_string().starts_with("r.json:1:"), "{e}");
        let e = from_result("[1, 2]", "r.json").unwrap_err().to_string();
        assert!(e.contains("not a JSON object"), "{e}");
    }
}
