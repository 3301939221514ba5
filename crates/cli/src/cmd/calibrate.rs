//! `irqlab calibrate`: measures this machine with real system calls and
//! writes a cost file, the scenario's `[costs]` table with where each figure
//! came from (docs/calibration.md). `irqlab run --costs FILE` (or
//! `costs_file` in a scenario) applies it.

use super::{Failure, note};
use clap::Args;
use irqlab_host::measure::{self, DEFAULT_REPS, MAX_REPS, Options, QUICK_REPS};
use std::io::Write;
use std::path::PathBuf;

/// Arguments of `irqlab calibrate`.
#[derive(Args, Debug, Clone)]
pub struct CalibrateArgs {
    /// Write the cost file to FILE (and a table of the figures to standard
    /// output) instead of writing the cost file to standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Repetitions of each measurement; the figure is their median
    /// (default 15, or 5 with --quick).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=MAX_REPS as i64), allow_negative_numbers = true)]
    pub reps: Option<u32>,
    /// A tenth of the operations per repetition and smaller buffers: a
    /// result in a second or two, with a wider spread.
    #[arg(long)]
    pub quick: bool,
}

/// `irqlab calibrate`.
pub fn run(a: &CalibrateArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let reps = a.reps.map_or(if a.quick { QUICK_REPS } else { DEFAULT_REPS }, |r| r as usize);
    note(format_args!("calibrating: {reps} repetitions of each measurement{}", if a.quick { ", quick" } else { "" }));
    let c = measure::calibrate(Options { reps, quick: a.quick });
    let file = measure::render(&c);
    match &a.output {
        Some(path) => {
            std::fs::write(path, &file).map_err(|e| Failure::Io(format!("cannot write {}: {e}", path.display())))?;
            out.write_all(measure::summary(&c).as_bytes())?;
            writeln!(out, "wrote {}", path.display())?;
        }
        None => {
            out.write_all(file.as_bytes())?;
            for s in &c.skipped {
                note(format_args!("skipped {}: {}", s.name, s.reason));
            }
        }
    }
    Ok(())
}
