//! The simulated machine: platform (cores, NUMA, local APICs), devices (NIC
//! with RSS, rings, coalescing and MSI-X), kernel (IRQ top half, softirq,
//! NAPI, ksoftirqd, scheduler, sockets) and workload (traffic, applications).
//!
//! Layout mirrors the machine (design brief §2): `platform/`, `devices/`,
//! `kernel/`, `workload/`, one file per modelled thing.

#![forbid(unsafe_code)]

pub mod config;
pub mod costs;
pub mod devices;
pub mod ids;
pub mod kernel;
pub mod machine;
pub mod memory;
pub mod metrics;
pub mod platform;
pub mod workload;

pub use config::{ConfigError, Scenario};
pub use costs::{CostModel, Costs};
pub use machine::{BuildError, Machine};
pub use metrics::Metrics;

/// Builds and runs a scenario.
pub fn run(s: &Scenario) -> Result<Metrics, BuildError> {
    Ok(Machine::new(s)?.run())
}
