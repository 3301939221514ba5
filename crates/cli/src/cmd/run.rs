//! `irqlab run` and `irqlab scenarios`.

use super::Failure;
use clap::Args;
use irqlab_model::Scenario;
use irqlab_scenario::{ErrorKind, Setting};
use std::io::Write;

/// Arguments of `irqlab run`.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// A scenario file (`*.toml`) or a built-in name (see `irqlab scenarios`); default: `default`.
    pub scenario: Option<String>,
    /// Master seed (overrides the scenario's `seed`).
    #[arg(long, allow_negative_numbers = true)]
    pub seed: Option<u64>,
    /// Override a scenario key, e.g. `--set nic.queues=8` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Apply a cost file's `[costs]` (from `irqlab calibrate`) on top of the
    /// scenario; `--set` still wins.
    #[arg(long, value_name = "FILE")]
    pub costs: Option<std::path::PathBuf>,
    /// Simulated duration, e.g. `50ms`, `2s`, `500us` (a bare number is
    /// milliseconds); 1us to 3600s.
    #[arg(long, value_parser = parse_duration_ms, allow_hyphen_values = true)]
    pub duration: Option<f64>,
    /// Write the metrics JSON to FILE (the summary still prints), or `-` for standard output (instead of the summary).
    #[arg(long, value_name = "FILE|-")]
    pub json: Option<String>,
    /// Print a view laid out as on a real machine instead of the summary:
    /// `interrupts` (/proc/interrupts), `softnet` (/proc/net/softnet_stat),
    /// `queues` (ethtool -S), or `all`.
    #[arg(long, value_enum)]
    pub view: Option<ViewArg>,
    /// Run again the scenario and seed a result was run with (the metrics
    /// JSON of `run --json` or a sweep's `runs/NNNN.json`): the same irqlab
    /// version writes the same JSON, byte for byte.
    #[arg(long, value_name = "RESULT.json", conflicts_with_all = ["scenario", "seed", "set", "costs", "duration"])]
    pub replay: Option<std::path::PathBuf>,
    /// Write the run's timeline to FILE as Chrome Trace Event JSON (open it
    /// in ui.perfetto.dev or chrome://tracing; docs/trace.md).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<std::path::PathBuf>,
    /// The simulated time the trace covers, e.g. `10ms..12ms` (default: the
    /// first 1ms, or the whole run if shorter).
    #[arg(long, value_name = "A..B", value_parser = parse_window, requires = "trace")]
    pub trace_window: Option<(f64, f64)>,
    /// Follow one landed packet in N from its DMA to its reader (flow
    /// arrows in the trace); 0 for none.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_TRACE_SAMPLE, requires = "trace")]
    pub trace_sample: u64,
    /// Write the wire-to-application and interrupt latency histograms to
    /// FILE in HdrHistogram's interval-log format (`.hlog`, V2 compressed).
    #[arg(long, value_name = "FILE")]
    pub hdr_out: Option<std::path::PathBuf>,
}

/// `--trace-sample`'s default: one packet in a hundred.
pub const DEFAULT_TRACE_SAMPLE: u64 = 100;
/// The trace window's length when `--trace-window` is not given, in ms.
pub const DEFAULT_TRACE_WINDOW_MS: f64 = 1.0;

/// Parses `A..B` (each a duration as for `--duration`, or `0`) into
/// milliseconds from the start of the run.
pub fn parse_window(s: &str) -> Result<(f64, f64), String> {
    let Some((a, b)) = s.split_once("..") else {
        return Err(format!("expected a window such as 10ms..12ms, got '{s}'"));
    };
    let instant = |t: &str| match t.trim() {
        "0" | "0ms" | "0s" | "0us" => Ok(0.0),
        t => parse_duration_ms(t),
    };
    let (a, b) = (instant(a)?, instant(b)?);
    if a >= b {
        return Err(format!("the window's start must come before its end, got '{s}'"));
    }
    Ok((a, b))
}

/// Values of `--view`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViewArg {
    /// `/proc/interrupts`: counts per IRQ and CPU, chip, name; CAL/RES/TLB rows.
    Interrupts,
    /// `/proc/net/softnet_stat`: processed, dropped, time_squeeze, received_rps per CPU.
    Softnet,
    /// `ethtool -S`: packets, bytes, drops per RX queue, and each queue's interrupt rate.
    Queues,
    /// All three.
    All,
}

/// What a run prints on standard output when the JSON does not go there.
fn text(m: &irqlab_model::Metrics, view: Option<ViewArg>) -> String {
    use irqlab_report::View;
    let views: &[View] = match view {
        None => return irqlab_report::summary(m),
        Some(ViewArg::Interrupts) => &[View::Interrupts],
        Some(ViewArg::Softnet) => &[View::Softnet],
        Some(ViewArg::Queues) => &[View::Queues],
        Some(ViewArg::All) => &View::ALL,
    };
    views.iter().map(|v| irqlab_report::views::render(m, *v)).collect::<Vec<_>>().join("\n")
}

/// Parses `50ms`, `2s`, `500us`, `1.5` (ms) into milliseconds, within the
/// scenario's bounds (1 µs to one hour).
pub fn parse_duration_ms(s: &str) -> Result<f64, String> {
    irqlab_scenario::duration::parse_duration_ms(s)
}

/// Loads the scenario named by the arguments, with every override applied
/// (problems from `--seed` and `--duration` are reported against them),
/// and prints its warnings. A file that cannot be read is an I/O failure.
/// A cost file (`--costs`) applies before `--set`.
pub fn load(
    scenario: Option<&str>,
    seed: Option<u64>,
    set: &[String],
    duration_ms: Option<f64>,
    costs: Option<&std::path::Path>,
) -> Result<Scenario, Failure> {
    let mut overrides: Vec<Setting> = match costs {
        Some(path) => cost_file(path)?.settings("--costs"),
        None => vec![],
    };
    overrides.extend(set.iter().map(Setting::set));
    if let Some(s) = seed {
        overrides.push(Setting::from_option("--seed", format!("seed={s}")));
    }
    if let Some(d) = duration_ms {
        overrides.push(Setting::from_option("--duration", format!("duration_ms={d:?}")));
    }
    let s = irqlab_scenario::resolve_with(scenario, &overrides).map_err(failure)?;
    super::print_warnings(&s);
    Ok(s)
}

/// A scenario or cost file's problems, each with its source line and hint
/// where it has them: I/O when every one is, else input.
pub fn scenario_failure(e: irqlab_scenario::ScenarioError) -> Failure {
    failure(e)
}

fn failure(e: irqlab_scenario::ScenarioError) -> Failure {
    if e.diagnostics().iter().all(|d| d.kind == ErrorKind::Io) {
        Failure::Io(e.rendered())
    } else {
        Failure::Input(e.rendered())
    }
}

/// Loads the cost file of `--costs`.
pub fn cost_file(path: &std::path::Path) -> Result<irqlab_scenario::costfile::CostFile, Failure> {
    irqlab_scenario::costfile::load_cost_file(path).map_err(failure)
}

/// Loads the scenario of a result (`--replay`), warning when another irqlab
/// version wrote it.
pub fn replay(path: &std::path::Path) -> Result<Scenario, Failure> {
    let r = irqlab_scenario::replay::from_result_file(path)
        .map_err(|e| super::sweep_rows_instead(path).unwrap_or_else(|| failure(e)))?;
    if r.version != irqlab_model::metrics::IRQLAB_VERSION {
        super::note(format_args!(
            "warning: {} was written by irqlab {}, this is {}: the numbers may differ",
            path.display(),
            r.version,
            irqlab_model::metrics::IRQLAB_VERSION
        ));
    }
    super::print_warnings(&r.scenario);
    Ok(r.scenario)
}

/// `irqlab run`.
pub fn run(a: &RunArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let s = match &a.replay {
        Some(path) => replay(path)?,
        None => load(a.scenario.as_deref(), a.seed, &a.set, a.duration, a.costs.as_deref())?,
    };
    let mut machine = irqlab_model::Machine::new(&s).map_err(|e| Failure::Input(e.to_string()))?;
    if a.trace.is_some() {
        machine.trace(trace_config(a, s.duration_ms)?);
    }
    let recorded = machine.run_recorded();
    let mut m = recorded.metrics;
    if let (Some(path), Some(trace)) = (&a.trace, &recorded.trace) {
        let cannot = |e: std::io::Error| Failure::Io(format!("cannot write {}: {e}", path.display()));
        let mut file = std::io::BufWriter::new(std::fs::File::create(path).map_err(cannot)?);
        let written = irqlab_report::trace::write_chrome_trace(trace, &m, &mut file).map_err(cannot)?;
        super::note(format_args!(
            "trace: {} events, {:.1} MB, {:.3}ms..{:.3}ms of simulated time → {}",
            written.events,
            written.bytes as f64 / 1e6,
            trace.start.as_secs_f64() * 1e3,
            trace.end.as_secs_f64() * 1e3,
            path.display()
        ));
    }
    if let Some(path) = &a.hdr_out {
        let comment = format!("irqlab run {} --seed {}", m.scenario, m.seed);
        let hists = [("wire-to-app", recorded.latency.histogram()), ("interrupt", recorded.irq_latency.histogram())];
        let mut buf = Vec::new();
        irqlab_report::hdr::write_hlog(&mut buf, &hists, m.duration_s, &comment)?;
        std::fs::write(path, buf).map_err(|e| Failure::Io(format!("cannot write {}: {e}", path.display())))?;
    }
    inject_test_violation(&mut m);
    match a.json.as_deref() {
        Some("-") => out.write_all(irqlab_report::to_json(&m).as_bytes())?,
        Some(path) => {
            std::fs::write(path, irqlab_report::to_json(&m))
                .map_err(|e| Failure::Io(format!("cannot write {path}: {e}")))?;
            out.write_all(text(&m, a.view).as_bytes())?;
        }
        None => out.write_all(text(&m, a.view).as_bytes())?,
    }
    if !m.law_violations.is_empty() {
        let list: Vec<String> = m.law_violations.iter().map(|v| v.to_string()).collect();
        return Err(Failure::Bug(format!("model bug, please report: {}", list.join("; "))));
    }
    Ok(())
}

/// The trace window of the arguments, checked against the run's length.
fn trace_config(a: &RunArgs, duration_ms: f64) -> Result<irqlab_model::trace::TraceConfig, Failure> {
    let (start, end) = a.trace_window.unwrap_or((0.0, DEFAULT_TRACE_WINDOW_MS.min(duration_ms)));
    if start >= duration_ms {
        return Err(Failure::Input(format!(
            "--trace-window starts at {start}ms, not before the run's end ({duration_ms}ms)"
        )));
    }
    let ps = |ms: f64| irqlab_engine::Time((ms * irqlab_engine::time::PS_PER_MS as f64).round() as u64);
    Ok(irqlab_model::trace::TraceConfig {
        start: ps(start),
        end: ps(end.min(duration_ms)),
        sample_every: a.trace_sample,
    })
}

/// Debug builds only: with `IRQLAB_TEST_LAW_VIOLATION` set, a run reports a
/// made-up law violation, so that the exit code of a model bug (4) can be
/// tested end to end (tests/cli.rs). Release builds have no such hook.
#[cfg(debug_assertions)]
fn inject_test_violation(m: &mut irqlab_model::Metrics) {
    if std::env::var_os("IRQLAB_TEST_LAW_VIOLATION").is_some() {
        m.law_violations.push(irqlab_engine::LawViolation {
            name: "test".into(),
            detail: "injected by IRQLAB_TEST_LAW_VIOLATION (debug builds only)".into(),
        });
    }
}

#[cfg(not(debug_assertions))]
fn inject_test_violation(_: &mut irqlab_model::Metrics) {}

/// Arguments of `irqlab scenarios`.
#[derive(Args, Debug, Clone)]
pub struct ScenariosArgs {
    /// Print the named built-in scenario's TOML, comments and all, to start
    /// a scenario file from: `irqlab scenarios --show overload > my.toml`.
    #[arg(long, value_name = "NAME")]
    pub show: Option<String>,
}

/// `irqlab scenarios`: the list, or one built-in's source.
pub fn scenarios(a: &ScenariosArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let Some(name) = &a.show else {
        for b in irqlab_scenario::builtins() {
            writeln!(out, "{:<18} {}", b.name, b.description())?;
        }
        return Ok(());
    };
    let Some(b) = irqlab_scenario::builtin(name) else {
        let known: Vec<&str> = irqlab_scenario::builtins().iter().map(|b| b.name).collect();
        let hint = irqlab_scenario::suggest::closest(name, known.iter().copied())
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        return Err(Failure::Input(format!(
            "--show: no built-in scenario `{name}`{hint}; the built-ins are: {}",
            known.join(", ")
        )));
    };
    out.write_all(b.toml.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units_and_reject_nonsense() {
        assert_eq!(parse_duration_ms("50ms"), Ok(50.0));
        assert_eq!(parse_duration_ms("2s"), Ok(2000.0));
        assert_eq!(parse_duration_ms("500us"), Ok(0.5));
        assert_eq!(parse_duration_ms("7"), Ok(7.0));
        assert!(parse_duration_ms("-3ms").is_err());
        assert!(parse_duration_ms("fast").is_err());
        assert_eq!(parse_duration_ms("1us"), Ok(0.001));
        assert_eq!(parse_duration_ms("3600s"), Ok(3_600_000.0));
        for out_of_range in ["3601s", "0.5us", "1e300"] {
            let e = parse_duration_ms(out_of_range).unwrap_err();
            assert!(e.contains("1us to 3600s"), "{e}");
        }
    }
}
