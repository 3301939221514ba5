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
    /// Audit the machine this runs on: `irqlab import`'s scenario of it.
    #[arg(long, conflicts_with_all = ["scenario", "root"])]
    pub live: bool,
    /// Audit a saved copy of a machine's files (`irqlab import --save DIR`).
    #[arg(long, value_name = "DIR", conflicts_with = "scenario")]
    pub root: Option<std::path::PathBuf>,
    /// With `--live` or `--root`: the interface to model.
    #[arg(long, value_name = "NAME")]
    pub iface: Option<String>,
}

/// Longest run audit makes unless `--duration` says otherwise, ms: one
/// baseline plus one run per finding.
pub const DEFAULT_MAX_MS: f64 = 100.0;

/// `irqlab audit`.
pub fn run(a: &AuditArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let root = if a.live { Some(std::path::PathBuf::from("/")) } else { a.root.clone() };
    let imported = match &root {
        Some(r) => Some(super::import::import_scenario(r, a.iface.as_deref())?),
        None if a.iface.is_some() => return Err(Failure::Input("--iface goes with --live or --root".into())),
        None => None,
    };
    let origin = root.as_ref().map(|r| format!("<import {}>", r.display())).unwrap_or_default();
    let resolve = |settings: &[Setting]| match &imported {
        Some(text) => irqlab_scenario::load_str_with(text, &origin, settings),
        None => irqlab_scenario::resolve_with(a.scenario.as_deref(), settings),
    };
    let mut first: Vec<Setting> = a.set.iter().map(Setting::set).collect();
    if let Some(s) = a.seed {
        first.push(Setting::from_option("--seed", format!("seed={s}")));
    }
    let base = resolve(&first).map_err(super::run::scenario_failure)?;
    super::print_warnings(&base);
    let duration = a.duration.unwrap_or(base.duration_ms.min(DEFAULT_MAX_MS));
    let load = |fix: &[String]| {
        let mut settings: Vec<Setting> = a.set.iter().map(Setting::set).collect();
        if let Some(s) = a.seed {
            settings.push(Setting::from_option("--seed", format!("seed={s}")));
        }
        settings.push(Setting::from_option("--duration", format!("duration_ms={duration:?}")));
        settings.extend(fix.iter().map(Setting::set));
        resolve(&settings).map_err(|e| e.to_string())
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
