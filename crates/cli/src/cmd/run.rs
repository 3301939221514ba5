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

/// A scenario or cost file's problems: I/O when every one is, else input.
pub fn scenario_failure(e: irqlab_scenario::ScenarioError) -> Failure {
    failure(e)
}

fn failure(e: irqlab_scenario::ScenarioError) -> Failure {
    if e.diagnostics().iter().all(|d| d.kind == ErrorKind::Io) {
        Failure::Io(e.to_string())
    } else {
        Failure::Input(e.to_string())
    }
}

/// Loads the cost file of `--costs`.
pub fn cost_file(path: &std::path::Path) -> Result<irqlab_scenario::costfile::CostFile, Failure> {
    irqlab_scenario::costfile::load_cost_file(path).map_err(failure)
}

/// Loads the scenario of a result (`--replay`), warning when another irqlab
/// version wrote it.
pub fn replay(path: &std::path::Path) -> Result<Scenario, Failure> {
    let r = irqlab_scenario::replay::from_result_file(path).map_err(failure)?;
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
    let mut m = irqlab_model::run(&s).map_err(|e| Failure::Input(e.to_string()))?;
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

/// `irqlab scenarios`.
pub fn list_scenarios(out: &mut dyn Write) -> Result<(), Failure> {
    for b in irqlab_scenario::builtins() {
        writeln!(out, "{:<18} {}", b.name, b.description())?;
    }
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
