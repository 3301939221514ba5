//! Misbehaving devices (`[[attackers]]`, config/attackers.rs): PCIe
//! functions that write where they should not, or forge interrupts, at a
//! fixed rate from their start time. Each reaches the machine through the
//! same [`UpstreamPort`] as the NIC — whatever stops it is the IOMMU.
//!
//! * `dma` writes `bytes` at its target: the NIC's receive buffers in turn
//!   (their physical addresses, which are their bus addresses without
//!   remapping), kernel memory page by page, or an address nobody owns or
//!   maps;
//! * `msi` writes its forged message: compatibility format to its
//!   `dest_core`'s APIC ID and `vector`, or the remappable format naming
//!   IRTE `handle` (another device's entry).

use crate::config::{AttackKind, AttackTarget, AttackerConfig};
use crate::ids::Rid;
use crate::platform::memory::{KERNEL_PHYS, RX_BUFFER_BYTES, rx_buffer_phys};
use crate::platform::ports::{DmaRequest, UpstreamPort};
use crate::sim::{Event, Sim};
use irqlab_engine::{Dur, Time};
use irqlab_hw::msi::{DeliveryMode, MsiMessage, Trigger};
use serde::Serialize;

/// Physical address a `unowned` attacker writes to (28 GiB: no buffer,
/// table or kernel memory is there, and no domain maps it).
pub const UNOWNED_PHYS: u64 = 0x7_0000_0000;
/// The IOVA of a misbehaving device's own 4 KiB buffer (its driver's one
/// mapping), below every physical address an attack targets.
pub const OWN_BUFFER_IOVA: u64 = 0x1000;

/// The requester ID of attacker `i`: bus 0x20 + i, device 0, function 0.
pub fn rogue_rid(i: u32) -> Rid {
    Rid::bdf(0x20 + i as u8, 0, 0)
}

/// What a misbehaving device counted.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RogueCounts {
    /// Attempts made (DMA writes or MSI writes).
    pub attempts: u64,
    /// DMA writes the port completed (they landed somewhere).
    pub dma_landed: u64,
    /// DMA writes the IOMMU refused.
    pub dma_blocked: u64,
}

/// One misbehaving device.
pub struct RogueDevice {
    /// `[[attackers]]` index.
    pub index: u32,
    /// Its configuration.
    pub cfg: AttackerConfig,
    /// Its requester ID.
    pub rid: Rid,
    period: Dur,
    /// RX queues and ring size of the NIC whose buffers a `nic_buffers` attacker targets.
    victim: (u32, u32),
    next: u64,
    /// Counters.
    pub counts: RogueCounts,
}

impl RogueDevice {
    /// Attacker `index` of a scenario whose NIC has `queues` RX queues of
    /// `ring` descriptors.
    pub fn new(index: u32, cfg: AttackerConfig, queues: u32, ring: u32) -> RogueDevice {
        let period = Dur::from_ns_f64(1e9 / cfg.rate_hz.max(1e-9));
        RogueDevice {
            index,
            rid: rogue_rid(index),
            cfg,
            period,
            victim: (queues, ring),
            next: 0,
            counts: RogueCounts::default(),
        }
    }

    /// DMA requests it issued.
    pub fn dma_requests(&self) -> u64 {
        if self.cfg.kind == AttackKind::Dma { self.counts.attempts } else { 0 }
    }

    /// MSI writes it posted.
    pub fn msi_writes(&self) -> u64 {
        if self.cfg.kind == AttackKind::Msi { self.counts.attempts } else { 0 }
    }

    /// Whether it is a device of its own (`late_dma` and `misdirect` are
    /// the NIC's misbehaviour).
    pub fn active(&self) -> bool {
        !self.cfg.kind.is_nic()
    }

    /// Schedules its first attempt.
    pub fn start(&self, sim: &mut Sim) {
        if self.active() {
            sim.at(Time::ZERO + Dur::from_ns_f64(self.cfg.start_ms * 1e6), Event::Rogue { index: self.index });
        }
    }

    /// The address of the `k`-th DMA attempt.
    fn target(&self, k: u64) -> u64 {
        target_address(self.cfg.target, k, self.victim)
    }
}

/// The `k`-th address an attack on `target` writes to; `victim` is the
/// NIC's (RX queues, ring size).
pub fn target_address(target: AttackTarget, k: u64, victim: (u32, u32)) -> u64 {
    {
        match target {
            AttackTarget::NicBuffers => {
                let (queues, ring) = (victim.0.max(1) as u64, victim.1.max(1) as u64);
                let q = (k % queues) as u32;
                let slot = (k / queues) % ring;
                rx_buffer_phys(q, slot, RX_BUFFER_BYTES)
            }
            AttackTarget::KernelMemory => {
                let pages = (KERNEL_PHYS.end - KERNEL_PHYS.start) / 4096;
                KERNEL_PHYS.start + (k % pages) * 4096
            }
            AttackTarget::Unowned => UNOWNED_PHYS + (k % 512) * 4096,
        }
    }
}

impl RogueDevice {
    /// Its next attempt, now; schedules the one after.
    pub fn on_event(&mut self, sim: &mut Sim, up: &mut impl UpstreamPort, apic_of_core: impl Fn(u32) -> u32) {
        let now = sim.now();
        let k = self.next;
        self.next += 1;
        self.counts.attempts += 1;
        match self.cfg.kind {
            AttackKind::Dma => {
                let req = DmaRequest::rogue_write(self.target(k), self.cfg.bytes);
                match up.dma(self.rid, req, now, sim) {
                    Ok(_) => self.counts.dma_landed += 1,
                    Err(_) => self.counts.dma_blocked += 1,
                }
            }
            AttackKind::Msi => {
                let (address, data) = match self.cfg.handle {
                    Some(h) => irqlab_hw::vtd::msi::RemappableMsi::linux(h),
                    None => {
                        let apic = apic_of_core(self.cfg.dest_core) as u8;
                        let m = MsiMessage::compose(apic, self.cfg.vector, DeliveryMode::Fixed, Trigger::Edge);
                        (m.address, m.data)
                    }
                };
                up.msi_write(self.rid, address, data, sim);
            }
            AttackKind::LateDma | AttackKind::Misdirect => return,
        }
        sim.at(now + self.period, Event::Rogue { index: self.index });
    }
}
