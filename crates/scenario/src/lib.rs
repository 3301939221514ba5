//! Scenario files: TOML in, a validated [`Scenario`] out, or errors that say
//! where and what (docs/architecture.md).
//!
//! Loading goes in four steps, each of which reports problems against the
//! text the user wrote:
//!
//! 1. parse the TOML into a document that keeps the byte span of every key
//!    and value (`toml::de::DeTable`); syntax errors carry the parser's span;
//! 2. apply `--set KEY=VALUE` overrides to that document ([`overrides`]);
//! 3. deserialise it into [`Scenario`] through `serde_path_to_error`, which
//!    names the key path of a wrong type, unknown key or bad variant, while
//!    the toml error gives its span;
//! 4. read the capture `workload.pcap` names, if any ([`pcap`]: the model
//!    does no file I/O), relative to the scenario file's directory (the
//!    current directory for a built-in, text without a file, or a `--set`
//!    value), and refuse the keys it replaces;
//! 5. run [`Scenario::validate`] and locate each of its key paths in the
//!    document ([`document::span_of_path`]), reporting all of them.
//!
//! Spans become `FILE:LINE:COL`; values that came from an override are
//! reported against `--set` (or the option the override stands for, see
//! [`Setting`]). A problem with a key the text does not set is located at
//! the nearest table the text has (or nowhere), and says the key kept its
//! default. Loading never panics, whatever the input.

#![forbid(unsafe_code)]

pub mod audit;
pub mod builtin;
pub mod costfile;
pub mod document;
pub mod duration;
pub mod error;
pub mod experiment;
mod experiments;
pub mod keypath;
pub mod overrides;
pub mod pcap;
pub mod replay;
pub mod suggest;
pub mod sysctl;
pub mod validation;

pub use builtin::{Builtin, DEFAULT_BUILTIN, builtin, builtins};
pub use error::{Diagnostic, ErrorKind, ScenarioError, Snippet};
pub use experiments::{experiment, experiments};
pub use irqlab_model::Scenario;
pub use overrides::Setting;

use document::{Source, locate, span_of_path};
use keypath::KeyPath;
use overrides::Override;
use std::path::Path;
use std::sync::Arc;
use toml::de::DeTable;

/// Loads a scenario from TOML text. `origin` names the text in errors (a
/// file name, or `<builtin:NAME>`); `overrides` are `KEY=VALUE` strings as
/// given to `--set`, applied in order on top of the text.
pub fn load_str(src: &str, origin: &str, overrides: &[String]) -> Result<Scenario, ScenarioError> {
    load_str_with(src, origin, &set_all(overrides))
}

/// [`load_str`] with overrides that name the option they came from, which
/// their problems are reported against.
pub fn load_str_with(src: &str, origin: &str, overrides: &[Setting]) -> Result<Scenario, ScenarioError> {
    load_text(src, origin, overrides, None)
}

/// Loads scenario text; a capture's relative path is taken from `dir`
/// (the scenario file's directory), or from the current directory.
fn load_text(src: &str, origin: &str, overrides: &[Setting], dir: Option<&Path>) -> Result<Scenario, ScenarioError> {
    load_text_as(src, origin, overrides, dir, Mode::Scenario)
}

/// What text [`load_text_as`] loads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A scenario; its `costs_file`, if any, is still to be read.
    Scenario,
    /// A scenario whose `costs_file` has been read into the overrides.
    CostsApplied,
    /// A cost file ([`costfile`]): `[calibration]` is set aside.
    CostFile,
}

/// The key naming a cost file to apply under the scenario's own `[costs]`.
pub const COSTS_FILE_KEY: &str = "costs_file";

pub(crate) fn load_text_as(
    src: &str,
    origin: &str,
    overrides: &[Setting],
    dir: Option<&Path>,
    mode: Mode,
) -> Result<Scenario, ScenarioError> {
    let options: Vec<&str> = overrides.iter().map(|o| o.option.as_str()).collect();
    let source = Source { origin, text: src, override_options: &options };

    // Overrides are checked first: they are short, and a malformed one is
    // worth reporting even when the file has other problems.
    let mut parsed = Vec::with_capacity(overrides.len());
    let mut problems = Vec::new();
    for o in overrides {
        match Override::parse(&o.text) {
            Ok(p) => parsed.push(p),
            Err(message) => problems.push(override_diagnostic(&o.option, message)),
        }
    }
    if let Some(e) = ScenarioError::from_diagnostics(problems) {
        return Err(e);
    }

    let mut doc = DeTable::parse(src).map_err(|e| {
        ScenarioError::single(source.diagnostic(
            ErrorKind::Syntax,
            e.span(),
            None,
            format!("invalid TOML: {}", e.message().trim_end()),
        ))
    })?;

    let mut problems = Vec::new();
    for (index, o) in parsed.iter().enumerate() {
        if let Err(message) = o.apply(doc.get_mut(), index) {
            problems.push(override_diagnostic(options[index], message));
        }
    }
    if let Some(e) = ScenarioError::from_diagnostics(problems) {
        return Err(e);
    }

    match mode {
        Mode::CostFile => {
            doc.get_mut().remove("calibration");
        }
        Mode::CostsApplied => {
            doc.get_mut().remove(COSTS_FILE_KEY);
        }
        Mode::Scenario => {
            if let Some(value) = doc.get_mut().remove(COSTS_FILE_KEY) {
                let mut all = costs_file_settings(&value, src, &source, dir)?;
                all.extend(overrides.iter().cloned());
                return load_text_as(src, origin, &all, dir, Mode::CostsApplied);
            }
        }
    }

    let problems: Vec<_> = sysctl::apply(doc.get_mut())
        .into_iter()
        .map(|p| source.diagnostic(ErrorKind::Schema, Some(p.span), Some(p.key), p.message))
        .collect();
    if let Some(e) = ScenarioError::from_diagnostics(problems) {
        return Err(e);
    }

    let table = doc.get_ref().clone();
    let deserializer = toml::de::Deserializer::from(doc);
    let mut scenario: Scenario = serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let key = e.path().iter().next().is_some().then(|| e.path().to_string());
        let inner = e.into_inner();
        // toml gives the span of the offending key or value; when it has
        // none, point at the key path's place in the document.
        let span = inner.span().or_else(|| {
            let path = KeyPath::parse(key.as_deref()?).ok()?;
            span_of_path(&table, &path)
        });
        let got = span.clone().and_then(|s| src.get(s)).unwrap_or("");
        let mut d = source.diagnostic(ErrorKind::Schema, span, key, schema_message(inner.message(), got));
        d.help = suggest::hint_for_unknown(inner.message().trim_end());
        ScenarioError::single(d)
    })?;

    let mut problems = Vec::new();
    let capture_failed = attach_capture(&mut scenario, &table, &source, dir, &mut problems);
    problems.extend(scenario.validate().into_iter().filter(|e| !(capture_failed && e.path == "workload.pcap")).map(
        |e| {
            let located = KeyPath::parse(&e.path).ok().and_then(|p| locate(&table, &p));
            let message = match located {
                Some((_, true)) => e.message,
                // Located at its table, or nowhere: say why.
                _ => format!("{} ({} is not set, so its default applies)", e.message, e.path),
            };
            source.diagnostic(ErrorKind::Invalid, located.map(|(span, _)| span), Some(e.path), message)
        },
    ));
    // Source order; problems without a line (defaults, overrides) last.
    problems.sort_by_key(|d| (d.line.is_none(), d.line, d.column));
    match ScenarioError::from_diagnostics(problems) {
        Some(e) => Err(e),
        None => Ok(scenario),
    }
}

/// Loads a scenario file, applying `overrides` (see [`load_str`]). Errors are
/// reported against the path as given.
pub fn load_file(path: &Path, overrides: &[String]) -> Result<Scenario, ScenarioError> {
    load_file_with(path, &set_all(overrides))
}

/// [`load_file`] with overrides that name their option (see [`load_str_with`]).
pub fn load_file_with(path: &Path, overrides: &[Setting]) -> Result<Scenario, ScenarioError> {
    let origin = path.display().to_string();
    if path.is_dir() {
        return Err(not_a_file(&origin));
    }
    let bytes = std::fs::read(path).map_err(|e| {
        ScenarioError::single(Diagnostic {
            kind: ErrorKind::Io,
            origin: origin.clone(),
            line: None,
            column: None,
            key: None,
            message: format!("cannot read the scenario file: {e}"),
            snippet: None,
            help: None,
        })
    })?;
    let text = crate::document::utf8_text(&bytes, &origin)?;
    load_text(text, &origin, overrides, Some(path.parent().unwrap_or(Path::new(""))))
}

/// Reads the cost file a scenario's `costs_file` names (relative to the
/// scenario file's directory; a `--set` value is relative to the current
/// directory) and returns its keys as overrides, leaving out those the
/// scenario text sets itself: the file is the base the text refines.
fn costs_file_settings(
    value: &toml::Spanned<toml::de::DeValue<'_>>,
    src: &str,
    source: &Source<'_>,
    dir: Option<&Path>,
) -> Result<Vec<Setting>, ScenarioError> {
    let span = value.span();
    let located = |kind: ErrorKind, message: String| {
        ScenarioError::single(source.diagnostic(kind, Some(span.clone()), Some(COSTS_FILE_KEY.into()), message))
    };
    let toml::de::DeValue::String(file) = value.get_ref() else {
        return Err(located(ErrorKind::Schema, "expected a string: the path of a cost file".into()));
    };
    if file.trim().is_empty() {
        return Err(located(ErrorKind::Invalid, "expected the path of a cost file, got an empty string".into()));
    }
    let from_override = overrides::override_of_span(&span).is_some();
    let base = if from_override { None } else { dir };
    let resolved = match base {
        Some(d) if Path::new(file.as_ref()).is_relative() => d.join(file.as_ref()),
        _ => Path::new(file.as_ref()).to_path_buf(),
    };
    if !resolved.exists() {
        let rel = if base.is_some() { " (relative to the scenario file's directory)" } else { "" };
        return Err(located(ErrorKind::Invalid, format!("{}: no such cost file{rel}", resolved.display())));
    }
    let costs = costfile::load_cost_file(&resolved)?;
    let text = DeTable::parse(src).ok();
    let set_by_text = |key: &str| {
        let (Some(t), Ok(path)) = (text.as_ref(), KeyPath::parse(key)) else { return false };
        document::is_set(t.get_ref(), &path)
    };
    let option = format!("{COSTS_FILE_KEY} {}", resolved.display());
    Ok(costs
        .settings(&option)
        .into_iter()
        .filter(|s| !s.text.split_once('=').is_some_and(|(k, _)| set_by_text(k)))
        .collect())
}

/// Keys of `[workload]` that describe generated traffic, which a replayed
/// capture replaces (`rate_pps`, `rate_gbps` and `flow_list` are refused by
/// [`Scenario::validate`], which can tell them absent).
const REPLACED_BY_PCAP: [&str; 7] = [
    "workload.flows",
    "workload.packet_size",
    "workload.packet_bytes",
    "workload.packet_bytes_max",
    "workload.arrival",
    "workload.on_us",
    "workload.off_us",
];

/// Reads the capture `workload.pcap` names into the scenario and refuses
/// the keys it replaces that the text sets. Returns whether the capture
/// could not be read (its problem is then in `problems`).
fn attach_capture(
    scenario: &mut Scenario,
    table: &DeTable<'_>,
    source: &Source<'_>,
    dir: Option<&Path>,
    problems: &mut Vec<Diagnostic>,
) -> bool {
    let Some(file) = scenario.workload.pcap.clone() else { return false };
    let key = KeyPath::parse("workload.pcap").expect("a valid key path");
    let span = locate(table, &key).map(|(span, _)| span);
    for k in REPLACED_BY_PCAP {
        let path = KeyPath::parse(k).expect("a valid key path");
        if document::is_set(table, &path) {
            problems.push(source.diagnostic(
                ErrorKind::Invalid,
                span_of_path(table, &path),
                Some(k.to_string()),
                "workload.pcap replays a capture, whose timestamps, sizes and 5-tuples give the traffic: remove this key or workload.pcap".into(),
            ));
        }
    }
    if file.trim().is_empty() {
        return false; // Scenario::validate reports it.
    }
    // A value given with --set is a path as typed in the shell.
    let from_override = span.as_ref().is_some_and(|s| overrides::override_of_span(s).is_some());
    let base = if from_override { None } else { dir };
    let resolved = match base {
        Some(d) if Path::new(&file).is_relative() => d.join(&file),
        _ => Path::new(&file).to_path_buf(),
    };
    let shown = resolved.display().to_string();
    let mut fail = |kind: ErrorKind, message: String| {
        problems.push(source.diagnostic(kind, span.clone(), Some("workload.pcap".into()), message));
        true
    };
    let meta = match std::fs::metadata(&resolved) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let rel = if base.is_some() { " (relative to the scenario file's directory)" } else { "" };
            return fail(ErrorKind::Invalid, format!("{shown}: no such capture file{rel}"));
        }
        Err(e) => return fail(ErrorKind::Io, format!("{shown}: cannot read the capture: {e}")),
    };
    if meta.is_dir() {
        return fail(ErrorKind::Invalid, format!("{shown}: is a directory, not a capture file"));
    }
    if meta.len() > irqlab_model::config::pcap::MAX_PCAP_FILE_BYTES {
        return fail(ErrorKind::Invalid, format!("{shown}: {} bytes, above the 1 GiB a capture may have", meta.len()));
    }
    let bytes = match std::fs::read(&resolved) {
        Ok(b) => b,
        Err(e) => return fail(ErrorKind::Io, format!("{shown}: cannot read the capture: {e}")),
    };
    match pcap::read_capture(&bytes, &file) {
        Ok(trace) => {
            scenario.workload.pcap_trace = Some(Arc::new(trace));
            false
        }
        Err(e) => fail(ErrorKind::Invalid, format!("{shown}: {e}")),
    }
}

/// Resolves the scenario argument of `irqlab run`: none → the `default`
/// built-in; an argument ending in `.toml` or naming an existing file → that
/// file; a directory → an error saying so; anything else → the built-in of
/// that name.
pub fn resolve(arg: Option<&str>, overrides: &[String]) -> Result<Scenario, ScenarioError> {
    resolve_with(arg, &set_all(overrides))
}

/// [`resolve`] with overrides that name their option (see [`load_str_with`]).
pub fn resolve_with(arg: Option<&str>, overrides: &[Setting]) -> Result<Scenario, ScenarioError> {
    let Some(arg) = arg else {
        return match builtin(DEFAULT_BUILTIN) {
            Some(b) => b.load_with(overrides),
            None => Err(unknown_scenario(DEFAULT_BUILTIN)),
        };
    };
    let path = Path::new(arg);
    if path.is_dir() {
        return Err(not_a_file(arg));
    }
    if arg.ends_with(".toml") || path.is_file() {
        return load_file_with(path, overrides);
    }
    match builtin(arg) {
        Some(b) => b.load_with(overrides),
        None => Err(unknown_scenario(arg)),
    }
}

/// `--set` overrides.
fn set_all(overrides: &[String]) -> Vec<Setting> {
    overrides.iter().map(Setting::set).collect()
}

fn not_a_file(origin: &str) -> ScenarioError {
    ScenarioError::single(Diagnostic {
        kind: ErrorKind::NotAFile,
        origin: origin.to_string(),
        line: None,
        column: None,
        key: None,
        message: format!(
            "is a directory, not a scenario file; expected a .toml file or one of the built-ins: {}",
            builtin::builtin_names()
        ),
        snippet: None,
        help: None,
    })
}

fn unknown_scenario(arg: &str) -> ScenarioError {
    ScenarioError::single(Diagnostic {
        kind: ErrorKind::UnknownScenario,
        origin: arg.to_string(),
        line: None,
        column: None,
        key: None,
        message: format!(
            "no such file, and no built-in scenario of that name; expected a .toml file or one of: {}",
            builtin::builtin_names()
        ),
        snippet: None,
        help: None,
    })
}

/// Serde's message in the scenario's own terms: TOML tables and arrays, not
/// Rust structs and sequences. `got` is the offending source text, if any.
fn schema_message(message: &str, got: &str) -> String {
    let message = message.trim_end();
    // toml's message for a non-string where an enum (a string) belongs.
    if message == "wanted string or table" {
        return if got.is_empty() {
            "expected a string naming one of the variants".into()
        } else {
            format!("expected a string naming one of the variants, got {got}")
        };
    }
    let mut out = message.replace("expected a sequence", "expected an array");
    if let Some(at) = out.find("expected struct ") {
        let name_end = out[at + "expected struct ".len()..]
            .find(|c: char| !c.is_alphanumeric() && c != '_')
            .map_or(out.len(), |i| at + "expected struct ".len() + i);
        out.replace_range(at..name_end, "expected a table");
    }
    out
}

fn override_diagnostic(option: &str, message: String) -> Diagnostic {
    Diagnostic {
        kind: ErrorKind::Override,
        origin: option.to_string(),
        line: None,
        column: None,
        key: None,
        message,
        snippet: None,
        help: None,
    }
}
