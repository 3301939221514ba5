//! `irqlab validate`: the model against this host (composite behaviours
//! predicted from calibrated per-operation costs) and against published
//! results (docs/validation.md).

use super::{Failure, note};
use clap::Args;
use irqlab_host::measure::{self, DEFAULT_REPS, MAX_REPS, QUICK_REPS};
use irqlab_host::validate as host;
use std::io::Write;
use std::path::PathBuf;

/// Arguments of `irqlab validate`.
#[derive(Args, Debug, Clone)]
pub struct ValidateArgs {
    /// Predict the host's behaviours from this cost file (from `irqlab
    /// calibrate`) instead of calibrating first.
    #[arg(long, value_name = "FILE")]
    pub costs: Option<PathBuf>,
    /// Repetitions of each host measurement (and of the calibration's);
    /// the figure is their median (default 15, or 5 with --quick).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=MAX_REPS as i64), allow_negative_numbers = true)]
    pub reps: Option<u32>,
    /// A tenth of the host operations per repetition and shorter model runs.
    #[arg(long)]
    pub quick: bool,
    /// Only the table against the host.
    #[arg(long, conflicts_with = "published_only")]
    pub host_only: bool,
    /// Only the table against published results (no host measurement).
    #[arg(long, conflicts_with = "costs")]
    pub published_only: bool,
}

/// `irqlab validate`.
pub fn run(a: &ValidateArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let reps = a.reps.map_or(if a.quick { QUICK_REPS } else { DEFAULT_REPS }, |r| r as usize);
    if !a.published_only {
        let costs = match &a.costs {
            Some(path) => super::run::cost_file(path)?.scenario.costs,
            None => {
                note(format_args!(
                    "calibrating first ({reps} repetitions{}); `--costs FILE` uses a saved calibration",
                    if a.quick { ", quick" } else { "" }
                ));
                let c = measure::calibrate(measure::Options { reps, quick: a.quick });
                let file = measure::render(&c);
                irqlab_scenario::costfile::load_cost_str(&file, "<calibration>")
                    .map_err(|e| Failure::Bug(format!("the calibration wrote a cost file irqlab cannot read: {e}")))?
                    .scenario
                    .costs
            }
        };
        let p = measure_provenance();
        writeln!(out, "Against the host ({p})\n")?;
        let cs = host::validate_host(&costs, host::Options { reps, quick: a.quick });
        out.write_all(host::render(&cs).as_bytes())?;
        writeln!(out)?;
    }
    if !a.host_only {
        writeln!(out, "Against published results{}\n", if a.quick { " (quick: shorter runs)" } else { "" })?;
        let results = irqlab_scenario::validation::run_published(a.quick).map_err(Failure::Bug)?;
        out.write_all(irqlab_scenario::validation::render_published(&results).as_bytes())?;
    }
    Ok(())
}

/// CPU model, kernel and date of this host, in one line.
fn measure_provenance() -> String {
    let p = measure::host_provenance();
    format!(
        "{}, {}, {} CPUs, {}",
        p.cpu_model,
        p.kernel.split(' ').take(2).collect::<Vec<_>>().join(" "),
        p.cpus.len(),
        p.date
    )
}
