//! The drivers: the NIC driver's probe (interrupt set-up per mode) and its
//! interrupt handlers, written once against genirq; and the level devices'
//! driver.
//!
//! Probe follows Linux's order. In `msix` mode each queue gets a vector on
//! the CPU its affinity names: `request_irq` programs the queue's MSI-X
//! entry (masked out of reset, PCIe §6.1.4.5) with the x86
//! compatibility-format address/data for that CPU, then unmasks it; the
//! function is then enabled. In `msi` mode one vector serves the NIC; in
//! `intx` mode its INTx line goes through an IO-APIC redirection entry.
//! Which CPU takes an interrupt is decided by the bits the driver wrote.
//!
//! Handlers (top halves), per napi.rst: `if (napi_schedule_prep()) {
//! mask the queue's interrupt in the device (EIMC); __napi_schedule(); }` —
//! or, with `nic.auto_mask` (EIAM, as ixgbe sets up MSI-X), the NIC has
//! masked it already and the handler only schedules
//! (`ixgbe_msix_clean_rings`). The single-vector handler reads the interrupt
//! cause register to find which queues interrupted — clearing it, which
//! deasserts the INTx line — and masks and schedules each (`e1000_intr`
//! style). With `driver.level_eoi = "before_clear"` it only peeks at the
//! cause and leaves clearing to the NAPI poll (write-1-to-clear when the
//! poll ends): on a level line the EOI then finds the line still asserted.
//! It claims an interrupt only if it scheduled something new, and returns
//! `IRQ_NONE` otherwise. Every handler runs on the CPU that took the
//! interrupt: NAPI is scheduled there (`this_cpu_ptr(&softnet_data)`).

use super::genirq::IrqAction;
use super::guest::DeviceAccess;
use super::irqchip::{DmarChip, IoapicChip, IrChip, IrqChip, MsiChip, MsixChip};
use super::softnet::PollItem;
use super::{Cx, Kernel};
use crate::config::{InterruptMode, LevelEoi, TriggerKind};
use crate::ids::{CpuId, QueueId};
use irqlab_engine::{Dur, Time};
use irqlab_hw::msi::Trigger;

impl Kernel {
    /// The IOMMU driver's start: the misbehaving devices' drivers attach
    /// each to a domain of its own with its one 4 KiB buffer mapped (or to
    /// pass-through); the fault event's IRQ goes to CPU 0 (unless the
    /// scenario leaves FECTL.IM set).
    pub(super) fn probe_iommu(&mut self, cx: &mut Cx) {
        let (mode, levels) = (self.dma.mode, self.dma.levels);
        let Some(u) = cx.platform.iommu.as_mut() else { return };
        for (i, rid) in self.rogues.iter().enumerate() {
            let buffer = crate::platform::memory::ROGUE_BUFFER_PHYS + 4096 * i as u64;
            cx.platform.memory.set_owner(buffer, 4096, crate::platform::memory::Owner::Device(*rid));
            if !mode.enabled() {
                continue;
            }
            let did = super::dma::NIC_DID + 1 + i as u16;
            let pgd = u.attach(*rid, did, levels, mode == crate::config::IommuMode::Passthrough);
            if mode.translates() {
                u.map(
                    pgd,
                    levels,
                    crate::devices::rogue::OWN_BUFFER_IOVA,
                    crate::platform::iommu::Leaf::rw(buffer, 12),
                );
            }
        }
        if self.dma.posted_msi {
            // One posted-interrupt descriptor per CPU (`posted_msi_pi_desc`),
            // notifying POSTED_MSI_NOTIFICATION_VECTOR at that CPU.
            for core in &self.cores {
                let apic = cx.platform.topo.apic_id(*core);
                let pda = crate::platform::memory::posted_msi_pid(apic);
                let pid = irqlab_hw::vtd::pid::PostedInterruptDescriptor::new(
                    irqlab_hw::vtd::pid::POSTED_MSI_NOTIFICATION_VECTOR,
                    apic,
                    false,
                );
                cx.platform.memory.alloc_plain(pda, 64);
                for (i, w) in pid.encode().into_iter().enumerate() {
                    cx.platform.memory.store(pda + 8 * i as u64, w, Time::ZERO);
                }
            }
        }
        let Some(u) = cx.platform.iommu.as_mut() else { return };
        // A guest has no IOMMU of its own (no virtual IOMMU): the host owns
        // the unit and its fault events.
        if u.faults.masked() || self.virt.is_some() {
            return;
        }
        let chips: Vec<Box<dyn IrqChip>> = vec![Box::new(DmarChip)];
        self.dmar_irq = self.request_irq(chips, CpuId(0), IrqAction::DmarFault, cx);
    }

    /// The chip stack of a source: its own level, with the interrupt-
    /// remapping level under it when the IOMMU remaps (the next IRTE,
    /// validating requester `sid`).
    pub(super) fn chip_stack(
        &mut self,
        top: Box<dyn IrqChip>,
        sid: u16,
        level: bool,
        cx: &Cx,
    ) -> Vec<Box<dyn IrqChip>> {
        let remaps = cx.platform.iommu.as_ref().is_some_and(|u| u.ir.is_some());
        if !remaps {
            return vec![top];
        }
        let index = self.dma.irte_next;
        self.dma.irte_next += 1;
        // Linux posts MSIs only: IO-APIC entries stay remapped. A VM's
        // assigned device posts into its vCPUs' descriptors (VT-d posted
        // interrupts), or is remapped to its vCPU's core, where the host
        // takes the guest's vector and forwards it (VFIO).
        let post_base = match &self.virt {
            Some(v) if v.apic == crate::config::ApicMode::Posted => Some(crate::virt::vm_pid_base(v.index)),
            Some(_) => None,
            None if self.dma.posted_msi && sid != crate::platform::IOAPIC_RID.0 => {
                Some(crate::platform::memory::POSTED_MSI_PID_PHYS)
            }
            None => None,
        };
        let mut ir = IrChip::new(index, sid, level, post_base);
        // Without posting, a VM whose vCPUs share cores with other VMs'
        // has its VFIO IRQs under host vectors of their own: the host takes
        // them on a core whichever vCPU holds it (kernel/guest.rs).
        if let Some(v) = &self.virt
            && post_base.is_none()
            && v.vcpus.iter().any(|c| c.shared)
        {
            ir.host_vector_for = Some(self.id);
        }
        vec![top, Box::new(ir)]
    }

    /// Driver probe: map the NIC's memory, request its IRQs and enable its
    /// interrupts.
    pub(super) fn probe_driver(&mut self, cx: &mut Cx) {
        let nic = self.adapter.nic;
        let rid = cx.nics[nic.idx()].rid.0;
        let queues = self.napi.len();
        self.dma_setup(cx);
        match self.adapter.mode {
            InterruptMode::Msix => {
                for q in 0..queues {
                    let chips = self.chip_stack(Box::new(MsixChip { nic, entry: q as u16 }), rid, false, cx);
                    let cpu = self.adapter.affinity[q];
                    let irq = self.request_irq(chips, cpu, IrqAction::NicQueue(nic, QueueId(q as u32)), cx);
                    self.adapter.irq_of_queue[q] = irq;
                }
                if cx.nics[nic.idx()].tx_vectors() == Some(crate::config::TxVectors::Separate) {
                    // virtio-net style: the TX queue's own vector, on its pair's CPU.
                    let entry = cx.nics[nic.idx()].tx_entry(0);
                    let chips = self.chip_stack(Box::new(MsixChip { nic, entry }), rid, false, cx);
                    let cpu = self.adapter.affinity[0];
                    self.tx_irq = self.request_irq(chips, cpu, IrqAction::NicTx(nic, 0), cx);
                }
                let (dev, sim, platform) = cx.nic(nic);
                dev.msix_enable(sim, platform);
            }
            InterruptMode::Msi | InterruptMode::Intx => {
                let directed = self.params.cfg.directed_eoi;
                let pin = self.adapter.intx_pin;
                let ioapic = crate::platform::IOAPIC_RID.0;
                let chips = match (self.adapter.mode, self.adapter.intx_trigger) {
                    (InterruptMode::Msi, _) => self.chip_stack(Box::new(MsiChip { nic }), rid, false, cx),
                    (_, TriggerKind::Level) => {
                        self.chip_stack(Box::new(IoapicChip::new(pin, Trigger::Level, directed)), ioapic, true, cx)
                    }
                    (_, TriggerKind::Edge) => {
                        self.chip_stack(Box::new(IoapicChip::new(pin, Trigger::Edge, directed)), ioapic, false, cx)
                    }
                };
                let cpu = self.adapter.affinity[0];
                let irq = self.request_irq(chips, cpu, IrqAction::NicCause(nic), cx);
                if self.adapter.mode == InterruptMode::Intx
                    && let Some(irq) = irq
                {
                    // INTx is requested IRQF_SHARED, MSI with no flags
                    // (drivers/net/ethernet/intel/e1000e/netdev.c
                    // `e1000_request_irq`).
                    self.irqs[irq.idx()].shared = true;
                    self.set_gsi_irq(pin, irq);
                }
                for slot in &mut self.adapter.irq_of_queue {
                    *slot = irq;
                }
            }
        }
        for q in 0..queues {
            let (dev, sim, platform) = cx.nic(nic);
            dev.enable_irq(QueueId(q as u32), sim, platform);
        }
        if self.tx_irq.is_some() {
            let (dev, sim, platform) = cx.nic(nic);
            dev.tx_enable_irq(0, sim, platform);
        }
    }

    /// CPU time of the TX vector's handler: the mask write, unless the NIC
    /// masks itself.
    pub(super) fn nic_tx_irq_cost(&self, cx: &mut Cx) -> Dur {
        if cx.nics[self.adapter.nic.idx()].auto_mask() { Dur::ZERO } else { cx.sim.costs.mmio_write }
    }

    /// The TX vector's handler (`skb_xmit_done`): mask it and schedule the
    /// TX queue's NAPI instance on this CPU.
    pub(super) fn nic_tx_irq(&mut self, cpu: CpuId, q: u32, cx: &mut Cx) -> bool {
        if !self.tx_napi.scheduled {
            cx.nics[self.adapter.nic.idx()].tx_disable_irq(q);
            self.tx_napi.scheduled = true;
            let sn = &mut self.softnet[cpu.idx()];
            sn.poll_list.push_back(PollItem::Tx(q));
            sn.pending = true;
        } else {
            self.stats.napi_missed += 1;
        }
        true
    }

    /// Probe of the level devices: each requests its IO-APIC pin, sharing
    /// the IRQ already there (the NIC's INTx line, or another device's).
    pub(super) fn probe_devices(&mut self, cx: &mut Cx) {
        let directed = self.params.cfg.directed_eoi;
        for k in 0..self.level_devices.len() {
            let d = self.level_devices[k];
            let cfg = &cx.devices[d as usize].cfg;
            let (pin, cpu) = (cfg.pin as u8, CpuId(cfg.core));
            let shared = self.gsi_irq(pin).is_some();
            let chips = if shared {
                Vec::new()
            } else {
                let top = Box::new(IoapicChip::new(pin, Trigger::Level, directed));
                self.chip_stack(top, crate::platform::IOAPIC_RID.0, true, cx)
            };
            self.request_shared_irq(pin, || chips, cpu, IrqAction::LevelDevice(d), cx);
        }
    }

    /// Entry of the per-queue MSI-X handler on `cpu`: its CPU time. Without
    /// NAPI the handler itself takes every frame in the ring (pre-NAPI
    /// drivers' receive loop) and pays the driver's per-packet work.
    pub(super) fn nic_queue_irq_entry(&mut self, cpu: CpuId, q: QueueId, cx: &mut Cx) -> Dur {
        let costs = cx.sim.costs;
        let nic = self.adapter.nic;
        if self.adapter.vfio.is_some() {
            return self.vfio_msihandler_cost(q, &costs);
        }
        if self.params.cfg.napi {
            // Masking the queue in the device: one posted write (EIMC), which
            // in a guest may exit (an emulated NIC's register).
            if cx.nics[nic.idx()].auto_mask() {
                return Dur::ZERO;
            }
            return costs.mmio_write + self.device_access(cpu, DeviceAccess::Mask, cx);
        }
        let sn = &mut self.softnet[cpu.idx()];
        let mut batch = std::mem::take(&mut sn.isr_batch);
        batch.clear();
        let (n, refill) = self.rx_ring_take(cpu, q, usize::MAX, &mut batch, cx);
        self.softnet[cpu.idx()].isr_batch = batch;
        // A pre-NAPI handler also reclaims its queue pair's transmitted frames.
        let clean = if self.sender.as_ref().is_some_and(|s| s.pair == q) { self.tx_clean(cpu, cx) } else { Dur::ZERO };
        costs.rx_driver_per_packet.times(n as u64) + clean + refill
    }

    /// CPU time of the single-vector handler: one uncached read of the
    /// interrupt cause (or status) register, and the EIMC write masking the
    /// queues it schedules.
    pub(super) fn nic_cause_irq_cost(&self, cx: &mut Cx) -> Dur {
        let costs = &cx.sim.costs;
        let auto_mask = cx.nics[self.adapter.nic.idx()].auto_mask();
        costs.mmio_read + if auto_mask { Dur::ZERO } else { costs.mmio_write }
    }

    /// The per-queue MSI-X handler. Always claims the interrupt. With NAPI:
    /// schedule the queue's poll. Without: `netif_rx` each frame taken at
    /// entry into this CPU's backlog, then re-enable the queue's interrupt.
    pub(super) fn nic_queue_irq(&mut self, cpu: CpuId, q: QueueId, cx: &mut Cx) -> bool {
        let nic = self.adapter.nic;
        if self.adapter.vfio.is_some() {
            return self.vfio_msihandler(cpu, q, cx);
        }
        if self.params.cfg.napi {
            // napi.rst: if (napi_schedule_prep()) { mask the queue; __napi_schedule(); }
            if !self.napi[q.idx()].scheduled {
                cx.nics[nic.idx()].disable_irq(q, cx.sim);
            }
            self.napi_schedule(cpu, q);
        } else {
            let batch = std::mem::take(&mut self.softnet[cpu.idx()].isr_batch);
            for p in &batch {
                self.netif_rx(cpu, *p, &mut cx.sim.faults);
            }
            let sn = &mut self.softnet[cpu.idx()];
            sn.isr_batch = batch;
            sn.isr_batch.clear();
            self.write_rx_tail(q, cx);
            let (dev, sim, platform) = cx.nic(nic);
            dev.enable_irq(q, sim, platform);
        }
        true
    }

    /// The single-vector handler (MSI or INTx): find the interrupting queues
    /// from the cause register and schedule their NAPI instances.
    pub(super) fn nic_cause_irq(&mut self, cpu: CpuId, cx: &mut Cx) -> bool {
        let nic = self.adapter.nic;
        match self.adapter.level_eoi {
            LevelEoi::AfterClear => {
                let (dev, sim, platform) = cx.nic(nic);
                let bits = dev.read_icr(sim, platform);
                for q in set_bits(bits) {
                    if !self.napi[q as usize].scheduled {
                        cx.nics[nic.idx()].disable_irq(QueueId(q), cx.sim);
                    }
                    self.napi_schedule(cpu, QueueId(q));
                }
                bits != 0
            }
            LevelEoi::BeforeClear => {
                let bits = cx.nics[nic.idx()].peek_icr();
                let mut scheduled = false;
                for q in set_bits(bits) {
                    if !self.napi[q as usize].scheduled {
                        cx.nics[nic.idx()].disable_irq(QueueId(q), cx.sim);
                        self.napi_schedule(cpu, QueueId(q));
                        scheduled = true;
                    }
                }
                scheduled
            }
        }
    }

    /// Writes queue `q`'s RX tail past the buffers the driver refilled.
    pub(super) fn write_rx_tail(&mut self, q: QueueId, cx: &mut Cx) {
        let ring = self.dma.rx_iova[q.idx()].len() as u64;
        let tail = self.dma.rx_taken[q.idx()] + ring;
        cx.nics[self.adapter.nic.idx()].rx_write_tail(q, tail);
    }

    /// End of a poll of `q`: the RX tail moves past the refilled buffers
    /// (ixgbe_alloc_rx_buffers' `writel(…, rx_ring->tail)`); with the
    /// deferred etiquette the poll is also where the queue's cause bit is
    /// cleared (write-1-to-clear).
    pub(super) fn driver_poll_end(&mut self, q: QueueId, cx: &mut Cx) {
        self.write_rx_tail(q, cx);
        if self.adapter.level_eoi == LevelEoi::BeforeClear && self.adapter.mode != InterruptMode::Msix {
            let (dev, sim, platform) = cx.nic(self.adapter.nic);
            dev.clear_cause(1 << q.0, sim, platform);
        }
    }
}

/// Indices of the set bits of a cause register, lowest first.
fn set_bits(mut bits: u64) -> impl Iterator<Item = u32> {
    std::iter::from_fn(move || {
        if bits == 0 {
            return None;
        }
        let i = bits.trailing_zeros();
        bits &= bits - 1;
        Some(i)
    })
}

#[cfg(test)]
mod tests {
    use super::set_bits;

    #[test]
    fn set_bits_lists_queues_lowest_first() {
        assert_eq!(set_bits(0b1011_0000_0001).collect::<Vec<_>>(), vec![0, 8, 9, 11]);
        assert_eq!(set_bits(0).count(), 0);
        assert_eq!(set_bits(1 << 63).collect::<Vec<_>>(), vec![63]);
    }
}
