//! `[nic]` and `[nic.coalesce]`: queues, rings, RSS, line rate, the
//! interrupt mode and trigger, interrupt placement and coalescing.

use super::{IOAPIC_PINS, ValidateCx, finite_pos};
use serde::{Deserialize, Serialize};

/// The NIC's interrupt cause register has one bit per queue, 64 bits wide.
pub const MAX_QUEUES_SINGLE_IRQ: u32 = 64;

/// The NIC: queues, rings, RSS, interrupts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NicConfig {
    /// Number of RX queues, each with its own MSI-X vector.
    pub queues: u32,
    /// RX descriptors per ring.
    pub ring_size: u32,
    /// Line rate, Gbit/s (frame + 20 bytes of preamble and inter-frame gap).
    pub line_rate_gbps: f64,
    /// NUMA node the NIC is attached to.
    pub numa_node: u32,
    /// Core for each queue's interrupt (`smp_affinity_list`, one core per
    /// queue); absent means queue i → core i mod cores.
    pub affinity: Option<Vec<u32>>,
    /// RSS key as hex; absent means the Microsoft verification key.
    pub rss_key: Option<String>,
    /// RSS indirection-table entries (a power of two).
    pub reta_size: u32,
    /// Interrupt coalescing (`ethtool -C`).
    pub coalesce: CoalesceConfig,
    /// How the NIC signals: `msix` (one vector per queue), `msi` (one
    /// message-signalled vector for the whole NIC) or `intx` (one legacy
    /// line through the IO-APIC).
    pub interrupt_mode: InterruptMode,
    /// `intx` only: the IO-APIC input pin the INTx line is routed to (PCI
    /// INTA# of slot devices usually lands on pins 16–23).
    pub intx_pin: u32,
    /// `intx` only: the trigger mode programmed in the pin's redirection entry.
    pub intx_trigger: TriggerKind,
    /// EIAM-style auto-mask: the NIC clears a queue's interrupt enable when
    /// the queue interrupts (ixgbe programs this for MSI-X), so the top half
    /// need not mask it. `false`: the top half masks the queue with an MMIO
    /// write (EIMC), the pattern napi.rst recommends.
    pub auto_mask: bool,
    /// How queues' interrupts are placed when `affinity` is absent.
    pub affinity_policy: AffinityPolicy,
    /// Cores the policy may use (`smp_affinity` mask); empty means all.
    pub irq_cores: Vec<u32>,
    /// Accelerated RFS (`ntuple` on, `CONFIG_RFS_ACCEL`): when RFS moves a
    /// flow, program a NIC flow filter so its packets arrive on the queue
    /// whose interrupt targets the reader's core. Needs `kernel.rfs` and `msix`.
    pub arfs: bool,
}

/// Interrupt placement policy (when no explicit `affinity` list is given).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AffinityPolicy {
    /// Round robin over the allowed cores (queue i → core i mod n).
    Spread,
    /// Every interrupt on the first allowed core.
    Single,
    /// Round robin over the allowed cores on the NIC's NUMA node.
    NumaLocal,
}

/// The NIC's interrupt mechanism.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InterruptMode {
    /// Legacy INTx: one level line, shared by every queue, via the IO-APIC.
    Intx,
    /// One MSI vector for the whole NIC.
    Msi,
    /// One MSI-X vector per queue.
    Msix,
}

/// IO-APIC redirection-entry trigger mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerKind {
    /// Level-triggered: Remote IRR, EOI, re-delivery while asserted.
    Level,
    /// Edge-triggered: one message per rising edge.
    Edge,
}

/// `ethtool -C` receive coalescing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CoalesceConfig {
    /// `rx-usecs`: interrupt this long after the first unreported packet (0 = off).
    pub rx_usecs: u32,
    /// `rx-frames`: interrupt after this many packets (0 = off).
    pub rx_frames: u32,
}

impl Default for NicConfig {
    fn default() -> Self {
        NicConfig {
            queues: 4,
            ring_size: 512,
            line_rate_gbps: 10.0,
            numa_node: 0,
            affinity: None,
            rss_key: None,
            reta_size: 128,
            coalesce: CoalesceConfig::default(),
            interrupt_mode: InterruptMode::Msix,
            intx_pin: 16,
            intx_trigger: TriggerKind::Level,
            arfs: false,
            auto_mask: false,
            affinity_policy: AffinityPolicy::Spread,
            irq_cores: Vec::new(),
        }
    }
}

impl Default for CoalesceConfig {
    fn default() -> Self {
        // ethtool: usecs = 0, frames = 1 disables coalescing.
        CoalesceConfig { rx_usecs: 0, rx_frames: 1 }
    }
}

impl NicConfig {
    /// Checks `[nic]` and `[nic.coalesce]` (the RSS key separately:
    /// [`validate_rss_key`]).
    pub fn validate(&self, cx: &mut ValidateCx) {
        let (cores, sockets) = (cx.cores, cx.sockets);
        if self.queues == 0 || self.queues > 2048 {
            cx.err("nic.queues", format!("expected 1..=2048 queues (one MSI-X vector each), got {}", self.queues));
        }
        if self.ring_size == 0 || self.ring_size > 65536 {
            cx.err("nic.ring_size", format!("expected 1..=65536 descriptors, got {}", self.ring_size));
        }
        if !finite_pos(self.line_rate_gbps) {
            cx.err("nic.line_rate_gbps", format!("expected a positive rate, got {}", self.line_rate_gbps));
        }
        if sockets > 0 && self.numa_node >= sockets {
            cx.err(
                "nic.numa_node",
                format!("expected a node below machine.sockets = {sockets}, got {}", self.numa_node),
            );
        }
        let single_irq = self.interrupt_mode != InterruptMode::Msix;
        if single_irq && self.queues > MAX_QUEUES_SINGLE_IRQ {
            cx.err(
                "nic.queues",
                format!(
                    "expected at most {MAX_QUEUES_SINGLE_IRQ} queues with interrupt_mode = {:?} (one cause bit per queue), got {}",
                    self.interrupt_mode, self.queues
                ),
            );
        }
        for (i, c) in self.irq_cores.iter().enumerate() {
            if *c >= cores {
                let message = cx.no_such_core(*c);
                cx.err(format!("nic.irq_cores[{i}]"), message);
            }
        }
        if self.affinity_policy == AffinityPolicy::NumaLocal
            && sockets > 0
            && cores.is_multiple_of(sockets)
            && !(0..cores).any(|c| {
                c / (cores / sockets) == self.numa_node && (self.irq_cores.is_empty() || self.irq_cores.contains(&c))
            })
        {
            cx.err("nic.irq_cores", format!("no allowed core is on the NIC's node {}", self.numa_node));
        }
        if self.intx_pin >= IOAPIC_PINS {
            cx.err("nic.intx_pin", format!("expected an IO-APIC pin below {IOAPIC_PINS}, got {}", self.intx_pin));
        }
        if let Some(aff) = &self.affinity {
            let want = if single_irq { 1 } else { self.queues as usize };
            if aff.len() != want {
                cx.err(
                    "nic.affinity",
                    format!(
                        "expected one core per interrupt vector ({want} entries for {:?}), got {}",
                        self.interrupt_mode,
                        aff.len()
                    ),
                );
            }
            for (i, c) in aff.iter().enumerate() {
                if *c >= cores {
                    let message = cx.no_such_core(*c);
                    cx.err(format!("nic.affinity[{i}]"), message);
                }
            }
        }
        if self.reta_size == 0 || !self.reta_size.is_power_of_two() || self.reta_size > 65536 {
            cx.err("nic.reta_size", format!("expected a power of two up to 65536, got {}", self.reta_size));
        }
        if self.coalesce.rx_usecs == 0 && self.coalesce.rx_frames == 0 {
            cx.err(
                "nic.coalesce",
                "rx_usecs and rx_frames are both 0, which ethtool rejects; use rx_usecs = 0, rx_frames = 1 to disable coalescing",
            );
        }
        if self.arfs && (!cx.rfs || self.interrupt_mode != InterruptMode::Msix) {
            cx.err("nic.arfs", "aRFS needs kernel.rfs = true and nic.interrupt_mode = \"msix\"");
        }
    }
}

/// Checks `nic.rss_key`: hex, at least 40 bytes.
pub fn validate_rss_key(key: &str, cx: &mut ValidateCx) {
    if let Err(e) = irqlab_hw::rss::parse_key_hex(key) {
        cx.err("nic.rss_key", format!("expected a hex RSS key of at least 40 bytes: {e}"));
    }
}
