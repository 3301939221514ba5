//! `irqlab run` and `irqlab scenarios`.

use super::Failure;
use clap::Args;
use irqlab_model::Scenario;
use std::io::Write;

/// Arguments of `irqlab run`.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// A scenario file (`*.toml`) or a built-in name (see `irqlab scenarios`); default: `default`.
    pub scenario: Option<String>,
    /// Master seed (overrides the scenario's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Override a scenario key, e.g. `--set nic.queues=8` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Simulated duration, e.g. `50ms`, `2s`, `500us` (a bare number is milliseconds).
    #[arg(long, value_parser = parse_duration_ms)]
    pub duration: Option<f64>,
    /// Write the metrics JSON to FILE, or `-` for standard output (instead of the summary).
    #[arg(long, value_name = "FILE|-")]
    pub json: Option<String>,
}

/// Parses `50ms`, `2s`, `500us`, `1.5` (ms) into milliseconds.
pub fn parse_duration_ms(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let (num, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix("us").or_else(|| t.strip_suffix("µs")) {
        (n, 1e-3)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1e3)
    } else {
        (t, 1.0)
    };
    let v: f64 = num.trim().parse().map_err(|_| format!("expected a duration such as 50ms, 2s or 500us, got '{s}'"))?;
    if !(v.is_finite() && v > 0.0) {
        return Err(format!("expected a positive duration, got '{s}'"));
    }
    Ok(v * scale)
}

/// Loads the scenario named by the arguments, with every override applied.
pub fn load(
    scenario: Option<&str>,
    seed: Option<u64>,
    set: &[String],
    duration_ms: Option<f64>,
) -> Result<Scenario, Failure> {
    let mut overrides = set.to_vec();
    if let Some(s) = seed {
        overrides.push(format!("seed={s}"));
    }
    if let Some(d) = duration_ms {
        overrides.push(format!("duration_ms={d:?}"));
    }
    irqlab_scenario::resolve(scenario, &overrides).map_err(|e| Failure::Input(e.to_string()))
}

/// `irqlab run`.
pub fn run(a: &RunArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let s = load(a.scenario.as_deref(), a.seed, &a.set, a.duration)?;
    let m = irqlab_model::run(&s).map_err(|e| Failure::Input(e.to_string()))?;
    match a.json.as_deref() {
        Some("-") => out.write_all(irqlab_report::to_json(&m).as_bytes())?,
        Some(path) => {
            std::fs::write(path, irqlab_report::to_json(&m))
                .map_err(|e| Failure::Io(format!("cannot write {path}: {e}")))?;
            out.write_all(irqlab_report::summary(&m).as_bytes())?;
        }
        None => out.write_all(irqlab_report::summary(&m).as_bytes())?,
    }
    if !m.law_violations.is_empty() {
        let list: Vec<String> = m.law_violations.iter().map(|v| v.to_string()).collect();
        return Err(Failure::Bug(format!("model bug, please report: {}", list.join("; "))));
    }
    Ok(())
}

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
    }
}
