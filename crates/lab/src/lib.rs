//! The laboratory: sweeps of a scenario over axes of settings and seeds,
//! run in parallel on this machine's cores or split into shards across a
//! cluster (a Slurm job array, a Kubernetes Indexed Job) and merged back
//! (docs/sweeps.md, docs/cluster.md).
//!
//! * [`sweep`] reads a sweep file and expands it into its runs, each
//!   scenario loaded and validated before any runs;
//! * [`shard`] says which runs one shard runs (`--shard I/N`, `auto`);
//! * [`output`] runs them and writes an output directory, and merges
//!   shards' directories into the bytes an unsharded sweep writes;
//! * [`table`] makes each run's row (the metrics flattened), [`node`]
//!   keeps JSON in document order for it.

#![forbid(unsafe_code)]

pub mod node;
pub mod output;
pub mod shard;
pub mod sweep;
pub mod table;

pub use output::{LabError, Options, Summary, merge, run_sweep};
pub use shard::Shard;
pub use sweep::Plan;
