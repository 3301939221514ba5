//! The scenario: everything a run needs, as plain data.
//!
//! These types are what a scenario TOML file deserialises into (the
//! `scenario` crate adds file handling, `--set` overrides and source
//! locations). Every table rejects unknown keys and every field has a
//! default, so a file only states what differs from the built-in default.
//! [`Scenario::validate`] checks what types cannot (ranges, consistency) and
//! names each problem by its dotted key path, e.g. `nic.queues`.
//!
//! One file per table, each with the table's types, defaults and its own
//! `validate`: [`machine`], [`nic`] (with coalescing, interrupt mode and
//! affinity policy), [`kernel`], [`driver`], [`workload`] (flows, packet
//! sizes, arrivals and the wire constants), [`apps`], [`devices`], [`tx`]
//! and [`costs`]. A table's checks get the facts they need from other
//! tables (the core count, the queue count, …) through [`ValidateCx`], which
//! also collects the problems. Every type and constant is re-exported here,
//! so `irqlab_model::config::NicConfig` and the like are the paths to use.

pub mod apps;
pub mod costs;
pub mod devices;
pub mod driver;
pub mod kernel;
pub mod machine;
pub mod nic;
pub mod tx;
pub mod workload;

pub use apps::{AppConfig, IoUringConfig, NotifyKind, SignalKind};
pub use devices::{CauseClear, DeviceConfig, MAX_DEVICES};
pub use driver::{DriverConfig, LevelEoi};
pub use kernel::{KernelConfig, LevelFlow};
pub use machine::{IOAPIC_PINS, MachineConfig};
pub use nic::{AffinityPolicy, CoalesceConfig, InterruptMode, MAX_QUEUES_SINGLE_IRQ, NicConfig, TriggerKind};
pub use tx::TxConfig;
pub use workload::{
    ArrivalKind, DEFAULT_RATE_PPS, FlowSpec, IMIX, MAX_FRAME_BYTES, MIN_FRAME_BYTES, PacketSizeKind,
    WIRE_OVERHEAD_BYTES, WorkloadConfig,
};

use crate::costs::CostModel;
use serde::{Deserialize, Serialize};

/// A whole run description.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Scenario {
    /// Short name, shown in reports.
    pub name: String,
    /// One line on what the scenario shows.
    pub description: String,
    /// Master seed; every random stream derives from it.
    pub seed: u64,
    /// Simulated duration, milliseconds.
    pub duration_ms: f64,
    /// Cores, sockets.
    pub machine: MachineConfig,
    /// The network card.
    pub nic: NicConfig,
    /// Kernel tunables (sysctl names where there is one).
    pub kernel: KernelConfig,
    /// NIC driver behaviour.
    pub driver: DriverConfig,
    /// Offered traffic.
    pub workload: WorkloadConfig,
    /// Application threads; empty means one reader per core that owns the
    /// flows whose interrupts that core takes.
    pub apps: Vec<AppConfig>,
    /// Other level-triggered devices on IO-APIC lines (`[[devices]]`).
    pub devices: Vec<DeviceConfig>,
    /// The transmit path (`[tx]`): descriptor stores, barrier and doorbell,
    /// run through the memory-ordering simulation; absent means no TX.
    pub tx: Option<TxConfig>,
    /// Per-operation costs.
    pub costs: CostModel,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            name: "default".into(),
            description: "4 cores, 4 RSS queues with MSI-X, NAPI, 2 Mpps of 64-byte UDP over 64 flows".into(),
            seed: 1,
            duration_ms: 100.0,
            machine: MachineConfig::default(),
            nic: NicConfig::default(),
            kernel: KernelConfig::default(),
            driver: DriverConfig::default(),
            workload: WorkloadConfig::default(),
            apps: Vec::new(),
            devices: Vec::new(),
            tx: None,
            costs: CostModel::default(),
        }
    }
}

/// One problem found by validation, located by its key path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// Dotted key path, e.g. `nic.queues` or `apps[1].core`.
    pub path: String,
    /// What is wrong and what was expected.
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// What one table's checks may know about the others, and the problems
/// found so far. Built once from the whole scenario by [`ValidateCx::new`].
#[derive(Clone, Debug)]
pub struct ValidateCx {
    /// `machine.cores`.
    pub cores: u32,
    /// `machine.sockets`.
    pub sockets: u32,
    /// `nic.queues`.
    pub queues: u32,
    /// `nic.interrupt_mode`.
    pub interrupt_mode: InterruptMode,
    /// `nic.line_rate_gbps`.
    pub line_rate_gbps: f64,
    /// `kernel.rfs`.
    pub rfs: bool,
    /// Number of flows ([`WorkloadConfig::flow_count`]).
    pub flows: u32,
    errors: Vec<ConfigError>,
}

impl ValidateCx {
    /// The facts of `s` that cross tables, with no problems yet.
    pub fn new(s: &Scenario) -> ValidateCx {
        ValidateCx {
            cores: s.machine.cores,
            sockets: s.machine.sockets,
            queues: s.nic.queues,
            interrupt_mode: s.nic.interrupt_mode,
            line_rate_gbps: s.nic.line_rate_gbps,
            rfs: s.kernel.rfs,
            flows: s.workload.flow_count(),
            errors: Vec::new(),
        }
    }

    /// Records a problem at the dotted key path `path`.
    pub fn err(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(ConfigError { path: path.into(), message: message.into() });
    }

    /// The problems recorded, in the order they were found.
    pub fn into_errors(self) -> Vec<ConfigError> {
        self.errors
    }

    /// The message for a core index that is not below `machine.cores`.
    pub(crate) fn no_such_core(&self, core: u32) -> String {
        format!("core {core} does not exist (machine.cores = {})", self.cores)
    }
}

/// A positive finite number.
pub(crate) fn finite_pos(v: f64) -> bool {
    v.is_finite() && v > 0.0
}

impl Scenario {
    /// Checks ranges and consistency; returns every problem, not just the first.
    pub fn validate(&self) -> Vec<ConfigError> {
        let mut cx = ValidateCx::new(self);
        if !finite_pos(self.duration_ms) {
            cx.err("duration_ms", format!("expected a positive number of milliseconds, got {}", self.duration_ms));
        } else if self.duration_ms > 3_600_000.0 {
            cx.err(
                "duration_ms",
                format!("expected at most one simulated hour (3600000 ms), got {}", self.duration_ms),
            );
        }
        self.machine.validate(&mut cx);
        self.nic.validate(&mut cx);
        self.kernel.validate(&mut cx);
        self.workload.validate(&mut cx);
        apps::validate(&self.apps, &mut cx);
        devices::validate(&self.devices, &mut cx);
        if let Some(sim) = self.tx_sim() {
            tx::validate(&sim, &mut cx);
        }
        costs::validate(&self.costs, &mut cx);
        if let Some(key) = &self.nic.rss_key {
            nic::validate_rss_key(key, &mut cx);
        }
        cx.into_errors()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_scenario_is_valid() {
        assert_eq!(Scenario::default().validate(), vec![]);
    }

    #[test]
    fn zero_queues_and_negative_rate_are_named_by_path() {
        let mut s = Scenario::default();
        s.nic.queues = 0;
        s.workload.rate_pps = Some(-5.0);
        let paths: Vec<String> = s.validate().into_iter().map(|e| e.path).collect();
        assert!(paths.contains(&"nic.queues".to_string()), "{paths:?}");
        assert!(paths.contains(&"workload.rate_pps".to_string()), "{paths:?}");
    }

    #[test]
    fn line_rate_64_byte_frames_fit_10g_and_more_does_not() {
        let mut s = Scenario::default();
        s.workload.rate_pps = Some(14_880_952.0);
        assert_eq!(s.validate(), vec![]);
        s.workload.rate_pps = Some(15_000_000.0);
        assert_eq!(s.validate()[0].path, "workload.rate_pps");
    }
}
