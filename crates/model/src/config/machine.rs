//! `[machine]`: cores, sockets, and the platform's IO-APIC.

use super::ValidateCx;
use serde::{Deserialize, Serialize};

/// Redirection entries of the modelled IO-APIC (82093AA: 24).
pub const IOAPIC_PINS: u32 = 24;
/// Most cores: xAPIC physical APIC IDs are 8 bits and 0xFF is the
/// broadcast ID, so 255 addressable cores (IDs 0..=254).
pub const MAX_CORES: u32 = 255;

/// The machine's topology.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MachineConfig {
    /// Number of cores (APIC IDs 0..cores); 1..=[`MAX_CORES`].
    pub cores: u32,
    /// Number of sockets (NUMA nodes); cores are split evenly, in order, so
    /// 1..=`cores` and a divisor of `cores`.
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
        cx.check_u32("machine.cores", self.cores, 1, MAX_CORES, "cores (8-bit xAPIC IDs)");
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

#[cfg(test)]
mod tests {
    use crate::Scenario;
    use crate::config::testutil::{only_error, valid};

    #[test]
    fn cores_are_1_to_255_and_sockets_divide_them() {
        let mut s = Scenario::default();
        s.machine.cores = 255;
        valid(&s);
        s.machine.cores = 256;
        only_error(&s, "machine.cores", "expected 1..=255 cores");
        s.machine.cores = 4;
        s.machine.sockets = 8;
        only_error(&s, "machine.sockets", "do not split evenly");
    }
}
