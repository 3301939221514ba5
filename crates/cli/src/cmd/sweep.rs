//! `irqlab sweep SWEEP.toml -o DIR` and `irqlab merge DIR... -o OUT`: a
//! scenario swept over axes of settings and seeds, on this machine's cores
//! or one shard of a cluster's (docs/sweeps.md, docs/cluster.md).

use super::Failure;
use clap::Args;
use irqlab_lab::{LabError, Options, Shard};
use std::io::Write;
use std::path::PathBuf;

/// Arguments of `irqlab sweep`.
#[derive(Args, Debug, Clone)]
pub struct SweepArgs {
    /// The sweep file: base scenario, overrides, axes, seeds (docs/sweeps.md).
    pub sweep: PathBuf,
    /// The output directory: runs.csv, runs.jsonl, manifest.json (and runs/ with --full).
    #[arg(short = 'o', long = "out", value_name = "DIR")]
    pub out: PathBuf,
    /// Also write each run's metrics document, runs/NNNN.json (as `run --json`).
    #[arg(long)]
    pub full: bool,
    /// Run only shard I of N (from 1: the runs whose number mod N is I-1),
    /// or `auto`: from a Slurm job array or a Kubernetes Indexed Job.
    #[arg(long, value_name = "I/N|auto")]
    pub shard: Option<String>,
    /// The shard count for `--shard auto` in a Kubernetes Indexed Job
    /// (else IRQLAB_SHARD_COUNT).
    #[arg(long, value_name = "N")]
    pub shard_count: Option<u32>,
    /// Worker threads (default: one per core); the output does not depend on it.
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
}

/// Arguments of `irqlab merge`.
#[derive(Args, Debug, Clone)]
pub struct MergeArgs {
    /// Every shard's output directory.
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Where the merged output goes: the bytes an unsharded sweep writes.
    #[arg(short = 'o', long = "out", value_name = "OUT")]
    pub out: PathBuf,
}

fn failure(e: LabError) -> Failure {
    match e {
        LabError::Input(m) => Failure::Input(m),
        LabError::Io(m) => Failure::Io(m),
        LabError::Bug(m) => Failure::Bug(m),
    }
}

/// The shard the arguments name.
fn shard(a: &SweepArgs) -> Result<Shard, Failure> {
    let s = match a.shard.as_deref() {
        None if a.shard_count.is_some() => return Err(Failure::Input("--shard-count goes with --shard auto".into())),
        None => Ok(Shard::ALL),
        Some("auto") => Shard::from_env(|k| std::env::var(k).ok(), a.shard_count),
        Some(_) if a.shard_count.is_some() => Err("--shard-count goes with --shard auto".into()),
        Some(text) => Shard::parse(text),
    };
    s.map_err(|e| Failure::Input(format!("--shard: {e}")))
}

/// `irqlab sweep`.
pub fn run(a: &SweepArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let shard = shard(a)?;
    let plan = irqlab_lab::sweep::load(&a.sweep).map_err(super::run::scenario_failure)?;
    for w in &plan.warnings {
        super::note(format_args!("warning: {w}"));
    }
    let opts = Options { shard, full: a.full, jobs: a.jobs.map(usize::from) };
    let bar = super::progress::bar(shard.runs(plan.runs.len()).len(), "runs");
    let result = irqlab_lab::run_sweep(&plan, &opts, &a.out, &|| bar.inc(1));
    bar.finish_and_clear();
    let s = result.map_err(failure)?;
    let of = if shard == Shard::ALL { String::new() } else { format!(" (shard {shard} of {} runs)", s.total) };
    writeln!(out, "{} runs{of} written to {}", s.runs, a.out.display())?;
    Ok(())
}

/// `irqlab merge`.
pub fn merge(a: &MergeArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let n = irqlab_lab::merge(&a.dirs, &a.out).map_err(failure)?;
    writeln!(out, "{n} runs of {} shards merged into {}", a.dirs.len(), a.out.display())?;
    Ok(())
}
