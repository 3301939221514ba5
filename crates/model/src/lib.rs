//! The simulated machine: platform (cores, local APICs, the APIC bus, the
//! IO-APIC and INTx lines, the device-facing ports), devices (the NIC with
//! RSS, rings, coalescing, MSI-X/MSI/INTx; level-triggered devices),
//! kernels (genirq with stackable chips, softirq, NAPI, RPS/RFS, scheduler,
//! sockets) and the workload (traffic, applications).
//!
//! Layout mirrors the machine (docs/architecture.md):
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
pub mod predict;
pub mod progress;
pub mod sim;
pub mod trace;
pub mod vcpu_sched;
pub mod virt;
pub mod workload;

pub use config::{ConfigError, Scenario};
pub use costs::{CostModel, Costs};
pub use machine::{BuildError, Machine, Recorded};
pub use metrics::Metrics;

/// Builds and runs a scenario.
pub fn run(s: &Scenario) -> Result<Metrics, BuildError> {
    Ok(Machine::new(s)?.run())
}
