//! `irqlab experiment list` and `irqlab experiment run NAME`.

use super::Failure;
use clap::{Args, Subcommand};
use irqlab_scenario::experiment::{Settings, render, run_experiment_on};
use irqlab_scenario::{experiment, experiments};
use std::io::Write;

/// Arguments of `irqlab experiment`.
#[derive(Args, Debug, Clone)]
pub struct ExperimentArgs {
    #[command(subcommand)]
    pub what: ExperimentCmd,
}

/// Experiment subcommands.
#[derive(Subcommand, Debug, Clone)]
pub enum ExperimentCmd {
    /// List the experiments.
    List,
    /// Run one experiment: a table of its variants and findings computed from the data.
    Run {
        /// Experiment name (see `irqlab experiment list`).
        name: String,
        /// Shorter runs and sweeps, for a result in seconds.
        #[arg(long)]
        quick: bool,
        /// Write the report as JSON to FILE, or `-` for standard output (instead of the table).
        #[arg(long, value_name = "FILE|-")]
        json: Option<String>,
        /// Apply a cost file's `[costs]` (from `irqlab calibrate`) under every
        /// variant: the experiment's own cost settings still win.
        #[arg(long, value_name = "FILE")]
        costs: Option<std::path::PathBuf>,
    },
}

/// `irqlab experiment`.
pub fn run(a: &ExperimentArgs, out: &mut dyn Write) -> Result<(), Failure> {
    match &a.what {
        ExperimentCmd::List => {
            for e in experiments() {
                writeln!(out, "{:<18} {}", e.name, e.description)?;
            }
            Ok(())
        }
        ExperimentCmd::Run { name, quick, json, costs } => {
            let Some(e) = experiment(name) else {
                let names: Vec<&str> = experiments().iter().map(|e| e.name).collect();
                return Err(Failure::Input(format!("no experiment '{name}'; experiments: {}", names.join(", "))));
            };
            let total = (e.variants)(*quick).len();
            let bar = super::progress::bar(total, "variants");
            let progress = |variant: &str| {
                bar.set_message(variant.to_string());
                bar.inc(1);
            };
            let mut under = Settings::new();
            if let Some(path) = costs {
                let file = super::run::cost_file(path)?;
                for key in &file.keys {
                    if let Some(v) = file.value(key) {
                        under = under.set(key.clone(), v);
                    }
                }
            }
            let report = run_experiment_on(&e, *quick, &under, &Settings::new(), &progress).map_err(Failure::Bug)?;
            bar.finish_and_clear();
            let text = serde_json::to_string_pretty(&report).map_err(|err| Failure::Io(err.to_string()))? + "\n";
            match json.as_deref() {
                Some("-") => out.write_all(text.as_bytes())?,
                Some(path) => {
                    std::fs::write(path, &text).map_err(|err| Failure::Io(format!("cannot write {path}: {err}")))?;
                    out.write_all(render(&e, &report).as_bytes())?;
                }
                None => out.write_all(render(&e, &report).as_bytes())?,
            }
            Ok(())
        }
    }
}
