//! `[machine]`: cores, sockets, and the platform's IO-APIC.

use super::ValidateCx;
use serde::{Deserialize, Serialize};

/// Redirection entries of the modelled IO-APIC (82093AA: 24).
pub const IOAPIC_PINS: u32 = 24;

/// The machine's topology.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MachineConfig {
    /// Number of cores (APIC IDs 0..cores).
    pub cores: u32,
    /// Number of sockets (NUMA nodes); cores are split evenly, in order.
    pub sockets: u32,
    /// QEMU's IO-APIC successive-IRQ limiter: after 10,000 consecutive EOI
    /// re-deliveries of a still-asserted level line, delay the next one by
    /// 10 ms (hw/intc/ioapic.c; real hardware has no such limiter).
    pub ioapic_successive_irq_limit: bool,
}

impl Default for MachineConfig {
    fn default() -> Self {
        MachineConfig { cores: 4, sockets: 1, ioapic_successive_irq_limit: false }
    }
}

impl MachineConfig {
    /// Checks `[machine]`.
    pub fn validate(&self, cx: &mut ValidateCx) {
        if self.cores == 0 || self.cores > 255 {
            cx.err("machine.cores", format!("expected 1..=255 cores (8-bit xAPIC IDs), got {}", self.cores));
        }
        if self.sockets == 0 {
            cx.err("machine.sockets", "expected at least 1 socket, got 0");
        } else if !self.cores.is_multiple_of(self.sockets) {
            cx.err(
                "machine.sockets",
                format!("{} cores do not split evenly over {} sockets", self.cores, self.sockets),
            );
        }
    }
}
