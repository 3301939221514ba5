//! `irqlab audit`: misconfigurations in a scenario and its run's counters,
//! each with its evidence and what fixing it changes (docs/real-machine.md).

use super::Failure;
use super::run::parse_duration_ms;
use clap::Args;
use irqlab_scenario::Setting;
use std::io::Write;

/// Arguments of `irqlab audit`.
#[derive(Args, Debug, Clone)]
pub struct AuditArgs {
    /// A scenario file (`*.toml`, e.g. from `irqlab import`) or a built-in name; default: `default`.
    pub scenario: Option<String>,
    /// Master seed (overrides the scenario's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Override a scenario key, e.g. `--set nic.queues=8` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Simulated duration of each run (default: the scenario's, at most 100ms).
    #[arg(long, value_parser = parse_duration_ms)]
    pub duration: Option<f64>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Longest run audit makes unless `--duration` says otherwise, ms: one
/// baseline plus one run per finding.
pub const DEFAULT_MAX_MS: f64 = 100.0;

/// `irqlab audit`.
pub fn run(a: &AuditArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let base = super::run::load(a.scenario.as_deref(), a.seed, &a.set, a.duration)?;
    let duration = a.duration.unwrap_or(base.duration_ms.min(DEFAULT_MAX_MS));
    let load = |fix: &[String]| {
        let mut settings: Vec<Setting> = a.set.iter().map(Setting::set).collect();
        if let Some(s) = a.seed {
            settings.push(Setting::from_option("--seed", format!("seed={s}")));
        }
        settings.push(Setting::from_option("--duration", format!("duration_ms={duration:?}")));
        settings.extend(fix.iter().map(Setting::set));
        irqlab_scenario::resolve_with(a.scenario.as_deref(), &settings).map_err(|e| e.to_string())
    };
    let report = irqlab_scenario::audit::audit(&load).map_err(Failure::Input)?;
    if a.json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| Failure::Bug(e.to_string()))?;
        writeln!(out, "{text}")?;
    } else {
        out.write_all(irqlab_scenario::audit::render(&report).as_bytes())?;
    }
    Ok(())
}
