//! `irqlab report RESULT... -o report.html`: result files drawn into one
//! self-contained HTML page and/or SVG plots (`irqlab_report::page`).

use super::Failure;
use clap::Args;
use irqlab_report::document::ReadError;
use irqlab_report::page;
use std::io::Write;
use std::path::PathBuf;

/// Arguments of `irqlab report`.
#[derive(Args, Debug, Clone)]
#[command(group = clap::ArgGroup::new("outputs").required(true).multiple(true).args(["output", "svg"]))]
pub struct ReportArgs {
    /// Result files: metrics from `irqlab run --json FILE`, reports from
    /// `irqlab experiment run NAME --json FILE`, sweeps from `irqlab sweep
    /// -o OUT` (OUT, or OUT/runs.jsonl). Several runs are compared side by side.
    #[arg(required = true, value_name = "RESULT")]
    pub results: Vec<PathBuf>,
    /// Write the report, one self-contained HTML file, to FILE.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also (or instead) write each plot as an SVG file into DIR (created if missing).
    #[arg(long, value_name = "DIR")]
    pub svg: Option<PathBuf>,
}

fn read_failure(e: ReadError) -> Failure {
    if e.is_io() { Failure::Io(e.to_string()) } else { Failure::Input(e.to_string()) }
}

/// `irqlab report`.
pub fn run(a: &ReportArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let docs = page::read_all(&a.results).map_err(read_failure)?;
    let drawing = |e: irqlab_report::plot::PlotError| Failure::Input(e.to_string());
    if let Some(path) = &a.output {
        let html = page::html(&docs).map_err(drawing)?;
        std::fs::write(path, html).map_err(|e| Failure::Io(format!("cannot write {}: {e}", path.display())))?;
        writeln!(out, "wrote {}", path.display())?;
    }
    if let Some(dir) = &a.svg {
        let plots = page::plots(&docs).map_err(drawing)?;
        std::fs::create_dir_all(dir).map_err(|e| Failure::Io(format!("cannot create {}: {e}", dir.display())))?;
        for p in plots {
            let path = dir.join(format!("{}.svg", p.name));
            std::fs::write(&path, p.svg).map_err(|e| Failure::Io(format!("cannot write {}: {e}", path.display())))?;
            writeln!(out, "wrote {}", path.display())?;
        }
    }
    Ok(())
}
