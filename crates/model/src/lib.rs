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

/// Builds and runs a scenario: the machine, and the transmit path's
/// doorbell simulation when the scenario has a `[tx]` table.
pub fn run(s: &Scenario) -> Result<Metrics, BuildError> {
    let mut m = Machine::new(s)?.run();
    if let Some(cfg) = s.tx_sim() {
        let stats = memory::run_doorbell_sim(&cfg, s.seed);
        m.law_violations.extend(stats.law_violations.iter().cloned());
        m.tx = Some(stats);
    }
    Ok(m)
}
