//! The simulated machine: platform (cores, local APICs, the APIC bus, the
//! IO-APIC and INTx lines, the device-facing ports), devices (the NIC with
//! RSS, rings, coalescing, MSI-X/MSI/INTx; level-triggered devices),
//! kernels (genirq with stackable chips, softirq, NAPI, RPS/RFS, scheduler,
//! sockets) and the workload (traffic, applications).
//!
//! Layout mirrors the machine (design brief §2; docs/architecture.md):
//! `platform/`, `devices/`, `kernel/`, `workload/`, one file per modelled
//! thing; `machine.rs` assembles the parts and routes events between them.

#![forbid(unsafe_code)]

pub mod config;
pub mod costs;
pub mod devices;
pub mod ids;
pub mod kernel;
pub mod laws;
pub mod machine;
pub mod memory;
pub mod metrics;
#[cfg(test)]
mod mutations;
pub mod platform;
pub mod progress;
pub mod sim;
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
