//! `[[attackers]]`: devices that misbehave, for the isolation study.
//!
//! Each entry is one misbehaving PCIe function on its own bus (requester
//! ID `bus 0x20 + i`, device 0, function 0), bound to a driver that gave it
//! one 4 KiB buffer of its own (its own IOMMU domain when remapping is on),
//! or — for `late_dma` — a misbehaviour of the NIC itself:
//!
//! | kind | what it does, `rate_hz` times a second from `start_ms` |
//! |---|---|
//! | `dma` | writes `bytes` at `target`: the NIC's receive buffers, kernel memory, or an address nobody owns (a fault storm when remapping is on) |
//! | `msi` | forges an MSI write to 0xFEEx_xxxx: compatibility format for `dest_core` and `vector`, or — with `handle` — a remappable-format message naming IRTE `handle` (another device's entry) |
//! | `late_dma` | the NIC keeps using its receive buffers: `delay_us` after landing every `every`-th frame it writes the buffer again (a use-after-unmap) |
//! | `misdirect` | the NIC writes every `every`-th received frame to `target` instead of the buffer its descriptor names |

use super::{MAX_FRAME_BYTES, ValidateCx, num};
use serde::{Deserialize, Serialize};

/// Most attackers in a scenario.
pub const MAX_ATTACKERS: usize = 16;
/// Highest attempt rate, Hz: one every 100 ns.
pub const MAX_ATTACK_RATE_HZ: f64 = 1e7;

/// What an attacker does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttackKind {
    /// DMA writes outside its own buffer.
    #[default]
    Dma,
    /// Forged MSI writes.
    Msi,
    /// The NIC writes a buffer again after handing it to the driver.
    LateDma,
    /// The NIC writes some frames outside the buffers it was given.
    Misdirect,
}

impl AttackKind {
    /// Whether the NIC itself misbehaves (no device of its own).
    pub fn is_nic(self) -> bool {
        matches!(self, AttackKind::LateDma | AttackKind::Misdirect)
    }
}

/// Where a `dma` attacker writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttackTarget {
    /// The NIC's receive buffers (their bus addresses without remapping),
    /// one after another.
    #[default]
    NicBuffers,
    /// Kernel memory (physical addresses below 256 MiB).
    KernelMemory,
    /// An address no one owns or maps: with remapping on, every write
    /// faults (a fault storm).
    Unowned,
}

/// One misbehaving device.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AttackerConfig {
    /// Name shown in reports.
    pub name: String,
    /// `dma`, `msi`, `late_dma` or `misdirect`.
    pub kind: AttackKind,
    /// Attempts per second; 0 < rate ≤ 1e7 (`dma`, `msi`).
    pub rate_hz: f64,
    /// When it starts, ms into the run; ≥ 0.
    pub start_ms: f64,
    /// `dma`, `misdirect`: where it writes.
    pub target: AttackTarget,
    /// `dma`: bytes per write; 1..=1518 (at most a frame).
    pub bytes: u32,
    /// `msi`: the vector it forges (compatibility format).
    pub vector: u8,
    /// `msi`: the core whose APIC it names (compatibility format).
    pub dest_core: u32,
    /// `msi`: a remappable-format message with this interrupt index
    /// instead (the NIC's queue q uses index q).
    pub handle: Option<u16>,
    /// `late_dma`: how long after landing the NIC writes the buffer again, µs; > 0.
    pub delay_us: f64,
    /// `late_dma`, `misdirect`: every how many received frames; ≥ 1.
    pub every: u32,
}

impl Default for AttackerConfig {
    fn default() -> Self {
        AttackerConfig {
            name: "rogue".into(),
            kind: AttackKind::Dma,
            rate_hz: 100_000.0,
            start_ms: 0.0,
            target: AttackTarget::NicBuffers,
            bytes: 64,
            vector: 0x31,
            dest_core: 0,
            handle: None,
            delay_us: 50.0,
            every: 16,
        }
    }
}

/// Checks `[[attackers]]`.
pub fn validate(attackers: &[AttackerConfig], cx: &mut ValidateCx) {
    if attackers.len() > MAX_ATTACKERS {
        cx.err("attackers", format!("expected at most {MAX_ATTACKERS} attackers, got {}", attackers.len()));
    }
    for (i, a) in attackers.iter().enumerate() {
        let key = |k: &str| format!("attackers[{i}].{k}");
        let rate_ok = a.rate_hz.is_finite() && a.rate_hz > 0.0 && a.rate_hz <= MAX_ATTACK_RATE_HZ;
        if !a.kind.is_nic() && !rate_ok {
            cx.err(key("rate_hz"), format!("expected 0 < rate_hz <= 1e7, got {}", num(a.rate_hz)));
        }
        if !(a.start_ms.is_finite() && a.start_ms >= 0.0) {
            cx.err(key("start_ms"), format!("expected a time ≥ 0 ms, got {}", num(a.start_ms)));
        }
        if !(1..=MAX_FRAME_BYTES).contains(&a.bytes) {
            cx.err(key("bytes"), format!("expected 1..={MAX_FRAME_BYTES} bytes, got {}", a.bytes));
        }
        match a.kind {
            AttackKind::Msi if a.handle.is_none() && a.dest_core >= cx.cores => {
                let m = cx.no_such_core(a.dest_core);
                cx.err(key("dest_core"), m);
            }
            AttackKind::LateDma | AttackKind::Misdirect => {
                if a.kind == AttackKind::LateDma && !(a.delay_us.is_finite() && a.delay_us > 0.0 && a.delay_us <= 1e6) {
                    cx.err(
                        key("delay_us"),
                        format!("expected 0 < delay_us <= 1e6 (one second), got {}", num(a.delay_us)),
                    );
                }
                if a.every == 0 {
                    cx.err(key("every"), "expected every ≥ 1 (every how many received frames)");
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scenario;
    use crate::config::testutil::{only_error, valid};

    #[test]
    fn attackers_are_checked_by_key() {
        let mut s = Scenario::default();
        s.attackers = vec![AttackerConfig::default()];
        valid(&s);
        s.attackers[0].rate_hz = 0.0;
        only_error(&s, "attackers[0].rate_hz", "0 < rate_hz");
        s.attackers[0].rate_hz = 10.0;
        s.attackers[0].kind = AttackKind::Msi;
        s.attackers[0].dest_core = 9;
        only_error(&s, "attackers[0].dest_core", "core 9 does not exist");
        s.attackers[0].handle = Some(3);
        valid(&s);
        s.attackers[0].kind = AttackKind::LateDma;
        s.attackers[0].every = 0;
        only_error(&s, "attackers[0].every", "every ≥ 1");
    }
}
