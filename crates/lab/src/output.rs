//! Running a sweep's runs (or one shard's) in parallel, writing its output
//! directory, and merging shards' directories into the one an unsharded
//! run writes.
//!
//! An output directory holds:
//!
//! * `runs.csv` and `runs.jsonl`: one row per run, in run order
//!   ([`crate::table`]);
//! * `runs/NNNN.json` with `--full`: each run's metrics document, as
//!   `irqlab run --json` writes it (`NNNN` its number, zero-padded to at
//!   least four digits, to as many as the sweep's last run needs);
//! * `manifest.json`: the sweep file's and the plan's SHA-256, the number
//!   of runs, the shard, whether `--full` was given, and the shard's run
//!   numbers ([`Manifest`]).
//!
//! Nothing in them depends on the thread count, the order runs finish in,
//! the time or the paths: rows are put in run order before they are
//! written, so an output is a function of the sweep and the shard, and a
//! merge of every shard's output writes exactly the bytes of shard `1/1`.

use crate::shard::Shard;
use crate::sweep::Plan;
use crate::table::{self, Row};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What a sweep output directory is made of.
pub const MANIFEST: &str = "manifest.json";
/// The rows as CSV.
pub const RUNS_CSV: &str = "runs.csv";
/// The rows as JSON lines.
pub const RUNS_JSONL: &str = "runs.jsonl";
/// The directory of each run's metrics document (`--full`).
pub const RUNS_DIR: &str = "runs";
/// [`Manifest::format`].
pub const FORMAT: &str = "irqlab-sweep";
/// [`Manifest::format_version`]: raised when the directory's layout changes.
pub const FORMAT_VERSION: u32 = 1;

/// Why a sweep or a merge failed; the CLI maps each to its exit code.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// Bad input: the sweep, the shards to merge, the output directory (exit 2).
    #[error("{0}")]
    Input(String),
    /// A file could not be read or written (exit 3).
    #[error("{0}")]
    Io(String),
    /// A run broke a model law: a model bug (exit 4). The outputs were written.
    #[error("{0}")]
    Bug(String),
}

/// `manifest.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The irqlab version that ran it.
    pub irqlab_version: String,
    /// SHA-256 of the sweep file.
    pub sweep_sha256: String,
    /// SHA-256 of the plan ([`Plan::plan_sha256`]).
    pub plan_sha256: String,
    /// Runs in the whole sweep.
    pub runs: usize,
    /// The shard this directory is.
    pub shard: Shard,
    /// Whether `runs/NNNN.json` were written.
    pub full: bool,
    /// The shard's run numbers.
    pub run_indices: Vec<usize>,
}

impl Manifest {
    fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a manifest serialises");
        s.push('\n');
        s
    }
}

/// How to run a sweep.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Which runs.
    pub shard: Shard,
    /// Write each run's metrics document too.
    pub full: bool,
    /// Threads; `None`: one per core.
    pub jobs: Option<usize>,
}

/// What a sweep did.
#[derive(Clone, Debug)]
pub struct Summary {
    /// Runs done (this shard's).
    pub runs: usize,
    /// Runs in the whole sweep.
    pub total: usize,
}

/// One finished run: its row, its metrics document, the laws it broke.
struct Done {
    row: Row,
    json: String,
    laws: Vec<String>,
}

/// The file name of run `run`'s metrics document in a sweep of `total`.
pub fn full_name(run: usize, total: usize) -> String {
    let width = total.saturating_sub(1).to_string().len().max(4);
    format!("{run:0width$}.json")
}

/// Runs the shard's runs of `plan` on `opts.jobs` threads, calling
/// `progress` after each, and writes the output directory `dir`.
pub fn run_sweep(plan: &Plan, opts: &Options, dir: &Path, progress: &(dyn Fn() + Sync)) -> Result<Summary, LabError> {
    let total = plan.runs.len();
    let mine = opts.shard.runs(total);
    prepare_dir(dir)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.unwrap_or(0))
        .build()
        .map_err(|e| LabError::Io(format!("cannot start the worker threads: {e}")))?;
    let results: Vec<Result<Done, LabError>> = pool.install(|| {
        mine.par_iter()
            .map(|&i| {
                let run = &plan.runs[i];
                let m = irqlab_model::run(&run.scenario).map_err(|e| LabError::Input(format!("run {i}: {e}")))?;
                let json = irqlab_report::to_json(&m);
                let row = Row::of_metrics(i, &plan.axes, &run.axis_values, &json).map_err(LabError::Bug)?;
                let laws = m.law_violations.iter().map(|v| v.to_string()).collect();
                progress();
                Ok(Done { row, json, laws })
            })
            .collect()
    });
    let mut rows = Vec::with_capacity(results.len());
    let mut broken = Vec::new();
    if opts.full {
        std::fs::create_dir_all(dir.join(RUNS_DIR)).map_err(|e| io_error(&dir.join(RUNS_DIR), e))?;
    }
    for r in results {
        let Done { row, json, laws } = r?;
        if opts.full {
            write(&dir.join(RUNS_DIR).join(full_name(row.run, total)), json.as_bytes())?;
        }
        if !laws.is_empty() {
            broken.push(format!("run {}: {}", row.run, laws.join("; ")));
        }
        rows.push(row);
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        irqlab_version: irqlab_model::metrics::IRQLAB_VERSION.into(),
        sweep_sha256: plan.file_sha256.clone(),
        plan_sha256: plan.plan_sha256.clone(),
        runs: total,
        shard: opts.shard,
        full: opts.full,
        run_indices: mine,
    };
    write_tables(dir, &rows, &manifest)?;
    if !broken.is_empty() {
        return Err(LabError::Bug(format!("model bug, please report: {}", broken.join("; "))));
    }
    Ok(Summary { runs: rows.len(), total })
}

/// Writes `runs.csv`, `runs.jsonl` and the manifest.
fn write_tables(dir: &Path, rows: &[Row], manifest: &Manifest) -> Result<(), LabError> {
    let csv = table::to_csv(rows).map_err(|e| LabError::Io(format!("{}: {e}", dir.join(RUNS_CSV).display())))?;
    write(&dir.join(RUNS_CSV), &csv)?;
    write(&dir.join(RUNS_JSONL), &table::to_jsonl(rows))?;
    write(&dir.join(MANIFEST), manifest.to_json().as_bytes())
}

fn io_error(path: &Path, e: std::io::Error) -> LabError {
    LabError::Io(format!("{}: {e}", path.display()))
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), LabError> {
    std::fs::write(path, bytes).map_err(|e| io_error(path, e))
}

/// Makes `dir` ready for an output: created when missing; an earlier
/// output there (it has a manifest) is replaced; any other non-empty
/// directory is refused rather than mixed with.
fn prepare_dir(dir: &Path) -> Result<(), LabError> {
    if !dir.exists() {
        return std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e));
    }
    if !dir.is_dir() {
        return Err(LabError::Input(format!("{}: not a directory; -o names the output directory", dir.display())));
    }
    let mut entries = std::fs::read_dir(dir).map_err(|e| io_error(dir, e))?;
    if entries.next().is_none() {
        return Ok(());
    }
    if !dir.join(MANIFEST).is_file() {
        return Err(LabError::Input(format!(
            "{}: the directory is not empty and holds no sweep output ({MANIFEST}); give a new or empty directory",
            dir.display()
        )));
    }
    for f in [MANIFEST, RUNS_CSV, RUNS_JSONL] {
        let p = dir.join(f);
        if p.exists() {
            std::fs::remove_file(&p).map_err(|e| io_error(&p, e))?;
        }
    }
    let runs = dir.join(RUNS_DIR);
    if runs.is_dir() {
        std::fs::remove_dir_all(&runs).map_err(|e| io_error(&runs, e))?;
    }
    Ok(())
}

/// One shard's output directory, read.
struct ShardOutput {
    dir: PathBuf,
    manifest: Manifest,
    rows: Vec<Row>,
}

fn read_shard(dir: &Path) -> Result<ShardOutput, LabError> {
    let mpath = dir.join(MANIFEST);
    if !dir.is_dir() {
        return Err(LabError::Input(format!("{}: no such directory", dir.display())));
    }
    if !mpath.is_file() {
        return Err(LabError::Input(format!("{}: not a sweep output: no {MANIFEST}", dir.display())));
    }
    let text = std::fs::read_to_string(&mpath).map_err(|e| io_error(&mpath, e))?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
        LabError::Input(format!("{}:{}:{}: not a sweep manifest: {e}", mpath.display(), e.line(), e.column()))
    })?;
    if manifest.format != FORMAT || manifest.format_version != FORMAT_VERSION {
        return Err(LabError::Input(format!(
            "{}: format {} version {}, expected {FORMAT} version {FORMAT_VERSION}",
            mpath.display(),
            manifest.format,
            manifest.format_version
        )));
    }
    let jpath = dir.join(RUNS_JSONL);
    let text = std::fs::read_to_string(&jpath).map_err(|e| io_error(&jpath, e))?;
    let rows = text
        .lines()
        .enumerate()
        .map(|(n, line)| Row::parse(line).map_err(|e| LabError::Input(format!("{}:{}: {e}", jpath.display(), n + 1))))
        .collect::<Result<Vec<Row>, LabError>>()?;
    let numbers: Vec<usize> = rows.iter().map(|r| r.run).collect();
    if numbers != manifest.run_indices || manifest.run_indices != manifest.shard.runs(manifest.runs) {
        return Err(LabError::Input(format!(
            "{}: its rows are not the runs of shard {} that its manifest lists: the directory is incomplete or was edited",
            dir.display(),
            manifest.shard
        )));
    }
    Ok(ShardOutput { dir: dir.to_path_buf(), manifest, rows })
}

/// Joins the output directories of every shard of one sweep into `out`,
/// which then holds exactly what the unsharded sweep writes. Refused: a
/// shard missing or given twice, shards of different sweeps (or versions,
/// or `--full` settings), a directory that is not a sweep output, and an
/// `out` that is one of the inputs. Returns the number of runs.
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<usize, LabError> {
    if dirs.is_empty() {
        return Err(LabError::Input("nothing to merge: name the shards' output directories".into()));
    }
    let shards = dirs.iter().map(|d| read_shard(d)).collect::<Result<Vec<_>, _>>()?;
    let first = &shards[0];
    for s in &shards[1..] {
        let (a, b) = (&first.manifest, &s.manifest);
        let differ = |what: &str| {
            LabError::Input(format!(
                "{} and {} are shards of different sweeps ({what} differ): merge the shards of one sweep",
                first.dir.display(),
                s.dir.display()
            ))
        };
        if a.sweep_sha256 != b.sweep_sha256 || a.plan_sha256 != b.plan_sha256 || a.runs != b.runs {
            return Err(differ("their sweep files or plans"));
        }
        if a.irqlab_version != b.irqlab_version {
            return Err(differ("their irqlab versions"));
        }
        if a.shard.count != b.shard.count {
            return Err(differ("their shard counts"));
        }
        if a.full != b.full {
            return Err(differ("their --full settings"));
        }
    }
    let count = first.manifest.shard.count;
    let mut seen: Vec<Option<&Path>> = vec![None; count as usize];
    for s in &shards {
        let slot = &mut seen[(s.manifest.shard.index - 1) as usize];
        if let Some(other) = slot {
            return Err(LabError::Input(format!(
                "shard {} is given twice: {} and {}",
                s.manifest.shard,
                other.display(),
                s.dir.display()
            )));
        }
        *slot = Some(&s.dir);
    }
    let missing: Vec<String> =
        seen.iter().enumerate().filter(|(_, d)| d.is_none()).map(|(i, _)| format!("{}/{count}", i + 1)).collect();
    if !missing.is_empty() {
        let (noun, verb) = if missing.len() == 1 { ("shard", "is") } else { ("shards", "are") };
        return Err(LabError::Input(format!(
            "{noun} {} {verb} missing: a merge needs all {count}",
            missing.join(", ")
        )));
    }
    if let Ok(o) = out.canonicalize()
        && let Some(s) = shards.iter().find(|s| s.dir.canonicalize().is_ok_and(|d| d == o))
    {
        return Err(LabError::Input(format!(
            "-o {} is one of the shards: merge into another directory",
            s.dir.display()
        )));
    }
    let total = first.manifest.runs;
    let full = first.manifest.full;
    if full {
        for s in &shards {
            for &r in &s.manifest.run_indices {
                let p = s.dir.join(RUNS_DIR).join(full_name(r, total));
                if !p.is_file() {
                    return Err(LabError::Input(format!("{}: missing (the shard was run with --full)", p.display())));
                }
            }
        }
    }
    let mut rows: Vec<Row> = shards.iter().flat_map(|s| s.rows.iter().cloned()).collect();
    rows.sort_by_key(|r| r.run);
    prepare_dir(out)?;
    if full {
        let to = out.join(RUNS_DIR);
        std::fs::create_dir_all(&to).map_err(|e| io_error(&to, e))?;
        for s in &shards {
            for &r in &s.manifest.run_indices {
                let name = full_name(r, total);
                let from = s.dir.join(RUNS_DIR).join(&name);
                std::fs::copy(&from, to.join(&name)).map_err(|e| io_error(&from, e))?;
            }
        }
    }
    let manifest = Manifest { shard: Shard::ALL, run_indices: (0..total).collect(), ..first.manifest.clone() };
    write_tables(out, &rows, &manifest)?;
    Ok(total)
}
