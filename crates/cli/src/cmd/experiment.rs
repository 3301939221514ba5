//! `irqlab experiment list` and `irqlab experiment run NAME`.

use super::Failure;
use clap::{Args, Subcommand};
use irqlab_scenario::experiment::{Settings, render_width, run_experiment_on, table_rows};
use irqlab_scenario::{experiment, experiments};
use std::io::{IsTerminal, Write};

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
        /// What to print on standard output: the table with its findings, the
        /// report as JSON (as `--json -`), or the variants table as CSV.
        #[arg(long, value_enum)]
        format: Option<Format>,
        /// Apply a cost file's `[costs]` (from `irqlab calibrate`) under every
        /// variant: the experiment's own cost settings still win.
        #[arg(long, value_name = "FILE")]
        costs: Option<std::path::PathBuf>,
    },
}

/// Values of `--format`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The variants table and the findings, wrapped to the terminal (100 columns off one).
    Table,
    /// The report as JSON, as `--json -` writes it.
    Json,
    /// The variants table as CSV (RFC 4180), a header row first, cells as the table shows them but without digit grouping.
    Csv,
}

/// The width to wrap findings to: the terminal's, or a fixed 100 columns
/// when standard output is not a terminal (files and pipes get the same
/// text on every machine).
fn text_width() -> usize {
    if std::io::stdout().is_terminal() { textwrap::termwidth() } else { irqlab_scenario::experiment::FINDINGS_WIDTH }
}

/// The variants table as CSV.
fn csv_table(rows: &[Vec<String>]) -> Result<Vec<u8>, Failure> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for row in rows {
        w.write_record(row).map_err(|e| Failure::Io(format!("writing CSV: {e}")))?;
    }
    w.into_inner().map_err(|e| Failure::Io(format!("writing CSV: {e}")))
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
        ExperimentCmd::Run { name, quick, json, format, costs } => {
            let format = match (json.as_deref(), *format) {
                (Some("-"), Some(f)) if f != Format::Json => {
                    return Err(Failure::Input("--json - prints JSON: it goes without --format table or csv".into()));
                }
                (Some("-"), _) => Format::Json,
                (_, f) => f.unwrap_or(Format::Table),
            };
            let Some(e) = experiment(name) else {
                let names: Vec<&str> = experiments().iter().map(|e| e.name).collect();
                let hint = irqlab_scenario::suggest::closest(name, names.iter().copied())
                    .map(|n| format!(" (did you mean `{n}`?)"))
                    .unwrap_or_default();
                return Err(Failure::Input(format!("no experiment '{name}'{hint}; experiments: {}", names.join(", "))));
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
            if let Some(path) = json.as_deref().filter(|p| *p != "-") {
                std::fs::write(path, &text).map_err(|err| Failure::Io(format!("cannot write {path}: {err}")))?;
            }
            match format {
                Format::Json => out.write_all(text.as_bytes())?,
                Format::Table => out.write_all(render_width(&e, &report, text_width()).as_bytes())?,
                Format::Csv => out.write_all(&csv_table(&table_rows(&e, &report))?)?,
            }
            Ok(())
        }
    }
}
