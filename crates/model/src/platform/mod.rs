//! The platform: the physical parts and the buses below every kernel.
//!
//! * cores grouped into sockets (topology.rs), each with a local APIC
//!   (hw::lapic: IRR/ISR/TMR/PPR/EOI);
//! * the **APIC bus**: the interrupt window at 0xFEEx_xxxx, where a posted
//!   message is decoded (after the IOMMU's interrupt remapping, when on) into a
//!   local-APIC delivery, and IPIs — ICR writes of one core — travel as
//!   their own messages, never through the device-facing port;
//! * the IO-APIC (hw::ioapic) and the INTx lines wired to it (intx.rs);
//! * the device-facing ports (ports.rs): [`UpstreamPort`] for MSI writes,
//!   DMA and INTx;
//! * the IOMMU (iommu/), when the scenario has one: DMA remapping behind the
//!   DMA port, interrupt remapping between the interrupt-message port and
//!   the APIC bus, and its fault-recording registers and fault event.
//!
//! Each handler counts where it stands, so the machine's laws can compare
//! what devices and kernels sent with what arrived here.

pub mod intx;
pub mod iommu;
pub mod memory;
pub mod ports;
pub mod topology;

use crate::ids::{CoreId, Rid};
use crate::sim::{Event, Fault, Sim};
use intx::{DELAYED_IOAPIC_SERVICE, IntxLines};
use iommu::{DMAR_RID, DmaFault, Iommu};
use irqlab_engine::{Dur, Time};
use irqlab_hw::ioapic::{Delivery, IoApic, RedirectionEntry};
use irqlab_hw::lapic::{AcceptOutcome, EoiOutcome, LocalApic};
use irqlab_hw::msi::{MsiAddress, MsiData, MsiMessage, Trigger};
use memory::{HostMemory, Owner};
use ports::{DmaRequest, LineSource};
use serde::Serialize;
use std::collections::BTreeMap;
use topology::Topology;

/// Redirection entries of the modelled IO-APIC (82093AA: 24).
pub const IOAPIC_PINS: u32 = 24;
/// The requester ID the IO-APIC's messages carry (its VT-d source ID; the
/// conventional `IOAPIC_RID` of an IOAPIC on bus 0xf0, device 0x1f).
pub const IOAPIC_RID: Rid = Rid::bdf(0xf0, 0x1f, 0);

/// Platform-side counters of the interrupt window.
#[derive(Clone, Debug, Default, Serialize)]
pub struct MsiStats {
    /// Messages that reached the interrupt window.
    pub arrived: u64,
    /// Accepted into a local APIC's IRR.
    pub accepted: u64,
    /// Found their vector already requested in the IRR.
    pub irr_coalesced: u64,
    /// Rejected by the APIC: vector 0–15 (ESR "receive illegal vector").
    pub illegal_vector: u64,
    /// Blocked by interrupt remapping (a fault: reasons in `ir.blocked`).
    pub blocked_remapping: u64,
    /// Blocked: the address/data did not decode as a compatibility-format MSI.
    pub blocked_decode: u64,
    /// Blocked: the destination APIC ID names no core.
    pub blocked_no_apic: u64,
    /// Dropped: the destination APIC is software-disabled.
    pub apic_disabled: u64,
    /// Posted into a posted-interrupt descriptor (`posted` has the rest).
    pub posted: u64,
}

/// IO-APIC counters.
#[derive(Clone, Debug, Default, Serialize)]
pub struct IoapicStats {
    /// Messages the IO-APIC sent (assertions, unmasks, EOI re-deliveries).
    pub messages: u64,
    /// Line changes on a pin the IO-APIC does not have (a bug if non-zero).
    pub bad_pin: u64,
    /// Re-deliveries QEMU's successive-IRQ limiter delayed by 10 ms.
    pub limiter_delays: u64,
}

/// IPIs as the APIC bus saw them.
#[derive(Clone, Debug, Default, Serialize)]
pub struct IpiBusStats {
    /// ICR writes (IPIs sent by any core).
    pub sent: u64,
    /// IPIs that reached their destination APIC.
    pub arrived: u64,
    /// Of which accepted into the IRR.
    pub accepted: u64,
    /// Of which found their vector already requested.
    pub irr_coalesced: u64,
    /// Of which named no APIC.
    pub no_apic: u64,
}

/// The DMA port's counters (the memory side of each access).
#[derive(Clone, Debug, Default, Serialize)]
pub struct DmaStats {
    /// Accesses completed.
    pub completed: u64,
    /// Accesses refused by the IOMMU.
    pub faults: u64,
    /// Bytes devices wrote to memory.
    pub bytes_written: u64,
    /// Bytes devices read from memory.
    pub bytes_read: u64,
    /// Misbehaving devices' writes that landed (nothing stopped them).
    pub unprotected_writes: u64,
    /// Their bytes.
    pub unprotected_bytes: u64,
    /// Of the writes, those that landed in kernel memory.
    pub unprotected_kernel: u64,
    /// Those that landed in a device's buffers.
    pub unprotected_device: u64,
}

/// What became of the interrupt messages of one requester the platform
/// watches (a misbehaving device's).
#[derive(Clone, Debug, Default, Serialize)]
pub struct MsiOutcomes {
    /// Messages that reached the interrupt window.
    pub arrived: u64,
    /// Accepted into a local APIC's IRR (an interrupt the victim will take).
    pub accepted: u64,
    /// Found their vector already requested (merged into a pending one).
    pub irr_coalesced: u64,
    /// Refused by interrupt remapping.
    pub blocked_remapping: u64,
    /// Refused by the APIC bus (not an interrupt, no such APIC, illegal vector).
    pub refused: u64,
    /// Posted into a posted-interrupt descriptor (its notification, if
    /// any, counted as accepted or coalesced).
    pub posted: u64,
}

/// Where a message ended at the interrupt window.
enum Window {
    /// Posted into a descriptor, no notification sent.
    Posted,
    Accepted(CoreId),
    Coalesced(CoreId),
    Refused(Option<CoreId>),
    Remapping,
    Nowhere,
}

/// Posted interrupts as the remapping hardware handled them.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PostedStats {
    /// Messages posted into a descriptor (posted-format IRTEs).
    pub requests: u64,
    /// Of which found their PIR bit already set (merged).
    pub merged: u64,
    /// Notifications sent (ON was clear; URG or SN clear).
    pub notifications: u64,
    /// Requests whose notification SN suppressed.
    pub suppressed: u64,
    /// Notifications accepted into a local APIC's IRR.
    pub notifications_accepted: u64,
    /// Notifications that found their vector already requested.
    pub notifications_coalesced: u64,
    /// Notifications to no APIC, or refused by it.
    pub notifications_lost: u64,
    /// The same, by descriptor address (each VM's vCPUs have their own).
    #[serde(skip)]
    pub by_pid: BTreeMap<u64, PidCounts>,
}

/// What the remapping hardware did with one posted-interrupt descriptor.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct PidCounts {
    /// Messages posted into it.
    pub requests: u64,
    /// Of which found their PIR bit already set.
    pub merged: u64,
    /// Notifications sent.
    pub notifications: u64,
    /// Requests whose notification SN suppressed.
    pub suppressed: u64,
}

/// Everything the platform counted.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PlatformStats {
    /// The interrupt window.
    pub msi: MsiStats,
    /// The IO-APIC.
    pub ioapic: IoapicStats,
    /// IO-APIC re-deliveries at EOI (line still asserted).
    pub ioapic_eoi_redeliveries: u64,
    /// IPIs on the APIC bus.
    pub ipis: IpiBusStats,
    /// Posted interrupts (posted-format IRTEs).
    pub posted: PostedStats,
    /// The DMA port.
    pub dma: DmaStats,
    /// Messages posted to the interrupt-message port.
    pub msi_posted: u64,
    /// Of which the IOMMU's fault events.
    pub fault_events: u64,
    /// Interrupt messages of watched requesters, by requester ID.
    pub msi_by_source: BTreeMap<u16, MsiOutcomes>,
}

/// The platform.
pub struct Platform {
    /// Cores, sockets and APIC IDs.
    pub topo: Topology,
    lapics: Vec<LocalApic>,
    ioapic: IoApic,
    lines: IntxLines,
    /// The IOMMU, if the platform has one.
    pub iommu: Option<Iommu>,
    /// Time a device write takes to become visible in memory.
    dma_write_latency: Dur,
    /// Round trip of a device read of memory.
    dma_read_latency: Dur,
    /// Memory drivers and devices share (descriptor rings).
    pub memory: HostMemory,
    /// What happened here.
    pub stats: PlatformStats,
    /// The host's vectors of assigned devices' IRQs that VFIO forwards to
    /// a guest whose vCPUs share cores without posted interrupts: host
    /// vector → the VM's guest kernel and the guest's vector (the guest
    /// programmed its MSI-X entry with it; the host allocated its own for
    /// the IRTE, `vfio_msi_set_vector_signal` → `request_irq`).
    pub vfio_vectors: BTreeMap<u8, (crate::ids::KernelId, u8)>,
}

impl Platform {
    /// A platform of `cores` cores over `sockets` sockets, every local APIC
    /// as Linux leaves it after setup, an IO-APIC of [`IOAPIC_PINS`] pins,
    /// no IOMMU. `successive_irq_limit` turns on QEMU's IO-APIC limiter.
    pub fn new(cores: u32, sockets: u32, successive_irq_limit: bool, sim: &Sim) -> Platform {
        Platform {
            topo: Topology::new(cores, sockets),
            lapics: (0..cores).map(|_| LocalApic::new()).collect(),
            ioapic: IoApic::new(IOAPIC_PINS as usize).expect("24 pins is a valid IO-APIC"),
            lines: IntxLines::new(IOAPIC_PINS as usize, successive_irq_limit),
            iommu: None,
            dma_write_latency: sim.costs.dma_write,
            dma_read_latency: sim.costs.dma_read,
            memory: HostMemory::default(),
            stats: PlatformStats::default(),
            vfio_vectors: BTreeMap::new(),
        }
    }

    /// Installs an IOMMU (before any device is attached to it).
    pub fn install_iommu(&mut self, iommu: Iommu) {
        self.iommu = Some(iommu);
    }

    /// Counts the interrupt messages of `rid` separately (a misbehaving device).
    pub fn watch_source(&mut self, rid: Rid) {
        self.stats.msi_by_source.entry(rid.0).or_default();
    }

    // ---- the APIC bus -------------------------------------------------

    /// A posted message reaches the interrupt window: remap, decode, route,
    /// accept into the destination's IRR. Returns the core to look at.
    pub fn msi_arrives(&mut self, rid: Rid, address: u64, data: u32, sim: &mut Sim) -> Option<CoreId> {
        let watched = self.stats.msi_by_source.contains_key(&rid.0);
        let posted_before = self.stats.msi.posted;
        let outcome = self.window(rid, address, data, sim);
        let posted = self.stats.msi.posted > posted_before && !matches!(outcome, Window::Posted);
        if watched && let Some(o) = self.stats.msi_by_source.get_mut(&rid.0) {
            o.arrived += 1;
            match outcome {
                Window::Accepted(_) => o.accepted += 1,
                Window::Coalesced(_) => o.irr_coalesced += 1,
                Window::Remapping => o.blocked_remapping += 1,
                Window::Refused(_) | Window::Nowhere => o.refused += 1,
                Window::Posted => o.posted += 1,
            }
            if posted {
                o.posted += 1;
            }
        }
        match outcome {
            Window::Accepted(c) | Window::Coalesced(c) | Window::Refused(Some(c)) => Some(c),
            Window::Remapping | Window::Nowhere | Window::Refused(None) | Window::Posted => None,
        }
    }

    fn window(&mut self, rid: Rid, address: u64, data: u32, sim: &mut Sim) -> Window {
        self.stats.msi.arrived += 1;
        let msg = match self.iommu.as_mut() {
            // The unit's own messages (its fault event) are not remapped.
            Some(u) if rid != DMAR_RID && u.ir.is_some() => {
                let ir = u.ir.as_mut().expect("checked");
                match ir.remap(rid, address, data) {
                    Ok(iommu::ir::IrOut::Message(m)) => m,
                    Ok(iommu::ir::IrOut::Posted { vector, urgent, pda }) => {
                        return self.post_interrupt(pda, vector, urgent, sim);
                    }
                    Err(f) => {
                        if !sim.faults.fire(Fault::RemapBlockUncounted) {
                            self.stats.msi.blocked_remapping += 1;
                        }
                        u.count_fault(f.reason);
                        let index = (f.index as u64 & 0xffff) << 48;
                        let r = u.faults.report(rid.0, index, f.reason, true, f.fpd);
                        self.fault_event(r, sim);
                        return Window::Remapping;
                    }
                }
            }
            _ => MsiMessage::new(address, data),
        };
        let st = &mut self.stats.msi;
        // The fields only: the human-readable notes of a full decode are
        // for `irqlab decode`, not for every message.
        let Ok(address) = MsiAddress::decode(msg.address) else {
            st.blocked_decode += 1;
            return Window::Nowhere;
        };
        let data = MsiData::decode(msg.data);
        let Some(core) = self.topo.core_of_apic(address.destination_id as u32) else {
            st.blocked_no_apic += 1;
            return Window::Nowhere;
        };
        match self.lapics[core.idx()].accept(data.vector, data.trigger) {
            AcceptOutcome::Accepted if sim.faults.fire(Fault::WindowMiscount) => Window::Accepted(core),
            AcceptOutcome::Accepted => {
                st.accepted += 1;
                Window::Accepted(core)
            }
            AcceptOutcome::Coalesced => {
                st.irr_coalesced += 1;
                Window::Coalesced(core)
            }
            AcceptOutcome::IllegalVector => {
                st.illegal_vector += 1;
                Window::Refused(Some(core))
            }
            AcceptOutcome::SoftwareDisabled => {
                st.apic_disabled += 1;
                Window::Refused(Some(core))
            }
        }
    }

    /// The remapping hardware posts `vector` into the descriptor at `pda`
    /// (docs/sources.md §5.2) — an atomic update of host memory — and sends
    /// the notification (NV to NDST, physical, fixed, edge) straight to the
    /// APIC bus when the descriptor asks for one.
    fn post_interrupt(&mut self, pda: u64, vector: u8, urgent: bool, sim: &mut Sim) -> Window {
        let (out, pid) = self.memory.update_pid(pda, sim.now(), |pid| (pid.post(vector, urgent), *pid));
        self.stats.msi.posted += 1;
        let st = &mut self.stats.posted;
        st.requests += 1;
        st.merged += out.merged as u64;
        st.suppressed += out.suppressed as u64;
        st.notifications += out.notify as u64;
        let by = st.by_pid.entry(pda).or_default();
        by.requests += 1;
        by.merged += out.merged as u64;
        by.suppressed += out.suppressed as u64;
        by.notifications += out.notify as u64;
        if !out.notify {
            return Window::Posted;
        }
        let Some(core) = self.topo.core_of_apic(pid.apic_id(false)) else {
            st.notifications_lost += 1;
            return Window::Posted;
        };
        match self.lapics[core.idx()].accept(pid.nv, Trigger::Edge) {
            AcceptOutcome::Accepted => {
                st.notifications_accepted += 1;
                Window::Accepted(core)
            }
            AcceptOutcome::Coalesced => {
                st.notifications_coalesced += 1;
                Window::Coalesced(core)
            }
            AcceptOutcome::IllegalVector | AcceptOutcome::SoftwareDisabled => {
                st.notifications_lost += 1;
                Window::Refused(Some(core))
            }
        }
    }

    /// A fault was reported to the recording registers: send the fault
    /// event if it asks for one.
    fn fault_event(&mut self, r: iommu::faults::Reported, sim: &mut Sim) {
        if r != (iommu::faults::Reported::Recorded { event: true }) {
            return;
        }
        if let Some(msg) = self.iommu.as_ref().and_then(|u| u.fault_event_msg()) {
            self.stats.fault_events += 1;
            let now = sim.now();
            self.post(DMAR_RID, msg, now, sim);
        }
    }

    /// Software unmasks the fault event (FECTL.IM = 0) or masks it; a
    /// pending event goes out on unmask.
    pub fn iommu_set_fault_masked(&mut self, masked: bool, sim: &mut Sim) {
        let Some(u) = self.iommu.as_mut() else { return };
        if u.faults.set_masked(masked)
            && let Some(msg) = u.fault_event_msg()
        {
            self.stats.fault_events += 1;
            let now = sim.now();
            self.post(DMAR_RID, msg, now, sim);
        }
    }

    /// A core writes its ICR: a fixed IPI of `vector` to APIC `dest`, which
    /// arrives after the IPI latency.
    pub fn send_ipi(&mut self, dest: u32, vector: u8, sim: &mut Sim) {
        self.send_ipi_after(dest, vector, Dur::ZERO, sim);
    }

    /// As [`Self::send_ipi`], for an ICR write `after` from now (the
    /// sender's earlier ICR writes of one batch come first).
    pub fn send_ipi_after(&mut self, dest: u32, vector: u8, after: Dur, sim: &mut Sim) {
        self.stats.ipis.sent += 1;
        if sim.faults.fire(Fault::DropIpi) {
            return;
        }
        let at = sim.now() + after + sim.costs.ipi_latency;
        sim.at(at, Event::Ipi { dest, vector });
    }

    /// An IPI reaches its destination APIC. Returns the core to look at.
    pub fn ipi_arrives(&mut self, dest: u32, vector: u8) -> Option<CoreId> {
        let st = &mut self.stats.ipis;
        st.arrived += 1;
        let Some(core) = self.topo.core_of_apic(dest) else {
            st.no_apic += 1;
            return None;
        };
        match self.lapics[core.idx()].accept(vector, Trigger::Edge) {
            AcceptOutcome::Accepted => st.accepted += 1,
            _ => st.irr_coalesced += 1,
        }
        Some(core)
    }

    /// A core sends itself a fixed IPI (the ICR's self shorthand): it is in
    /// its own IRR at once.
    pub fn self_ipi(&mut self, core: CoreId, vector: u8) {
        self.stats.ipis.sent += 1;
        let dest = self.topo.apic_id(core);
        self.ipi_arrives(dest, vector);
    }

    /// The vector `core` would take next, without taking it.
    pub fn lapic_pending(&self, core: CoreId) -> Option<u8> {
        self.lapics[core.idx()].pending_vector()
    }

    /// `core` acknowledges its highest deliverable vector (IRR → ISR).
    pub fn lapic_ack(&mut self, core: CoreId) -> Option<u8> {
        self.lapics[core.idx()].ack()
    }

    /// `core` writes EOI to its local APIC; a level-triggered vector's EOI
    /// is broadcast to the IO-APIC unless SVR bit 12 suppresses it.
    pub fn lapic_eoi(&mut self, core: CoreId, sim: &mut Sim) -> EoiOutcome {
        let out = self.lapics[core.idx()].eoi();
        if out.broadcast_level_eoi
            && let Some(v) = out.vector
        {
            self.ioapic_eoi(v, sim);
        }
        out
    }

    /// Sets (or clears) the EOI-broadcast-suppression bit of `core`'s SVR.
    pub fn lapic_suppress_eoi_broadcast(&mut self, core: CoreId, on: bool) {
        let l = &mut self.lapics[core.idx()];
        let bit = irqlab_hw::lapic::field::SVR_EOI_BROADCAST_SUPPRESSION;
        l.set_svr(if on { l.svr() | bit } else { l.svr() & !bit });
    }

    /// Whether `vector` is requested or in service on `core`'s APIC.
    pub fn lapic_holds(&self, core: CoreId, vector: u8) -> bool {
        let l = &self.lapics[core.idx()];
        l.irr_contains(vector) || l.isr_contains(vector)
    }

    /// Vectors requested (IRR bits set) on every APIC.
    pub fn irr_bits(&self) -> u64 {
        self.lapics.iter().map(|l| l.irr().iter().map(|r| r.count_ones() as u64).sum::<u64>()).sum()
    }

    /// Cores whose APIC has `vector` requested (its IRR bit set).
    pub fn requested(&self, cores: &[CoreId], vector: u8) -> u64 {
        cores.iter().filter(|c| self.lapics[c.idx()].irr_contains(vector)).count() as u64
    }

    /// Vectors in service (ISR bits set) on `core`'s APIC.
    pub fn isr_bits(&self, core: CoreId) -> u32 {
        self.lapics[core.idx()].isr().iter().map(|r| r.count_ones()).sum()
    }

    // ---- the IO-APIC ---------------------------------------------------

    /// Whether the IO-APIC's redirection entry for `pin` is masked.
    #[cfg(test)]
    pub fn ioapic_masked(&self, pin: u8) -> bool {
        self.ioapic.rte(pin).is_ok_and(|r| r.masked)
    }

    /// Whether `pin` is an edge-triggered input whose line is held
    /// asserted: no new edge can come, so no interrupt will.
    pub fn edge_pin_held(&self, pin: u8) -> bool {
        let edge = self.ioapic.rte(pin).is_ok_and(|r| r.trigger == Trigger::Edge);
        edge && self.ioapic.asserted(pin).unwrap_or(false)
    }

    /// A write to the IO-APIC's EOI register (directed EOI), or the
    /// broadcast EOI message: re-delivers a still-asserted level line.
    pub fn ioapic_eoi(&mut self, vector: u8, sim: &mut Sim) {
        for d in self.ioapic.eoi(vector) {
            self.ioapic_eoi_redelivery(d, sim);
        }
    }

    /// Writes a redirection entry (the kernel's IO-APIC chip programming it).
    pub fn ioapic_write_rte(&mut self, pin: u8, rte: RedirectionEntry, sim: &mut Sim) {
        match self.ioapic.write_rte(pin, rte) {
            Ok(out) => {
                for d in out {
                    self.ioapic_send(d, sim);
                }
            }
            Err(_) => self.stats.ioapic.bad_pin += 1,
        }
    }

    /// Sets a redirection entry's mask bit; unmasking a pending level
    /// assertion delivers it.
    pub fn ioapic_set_masked(&mut self, pin: u8, masked: bool, sim: &mut Sim) {
        if let Ok(Some(d)) = self.ioapic.set_masked(pin, masked) {
            self.ioapic_send(d, sim);
        }
    }

    /// An EOI found a level line still asserted and the IO-APIC re-delivers;
    /// with QEMU's limiter, every 10,000th consecutive one is delayed 10 ms.
    fn ioapic_eoi_redelivery(&mut self, d: Delivery, sim: &mut Sim) {
        self.stats.ioapic_eoi_redeliveries += 1;
        if self.lines.eoi_redelivery_delayed(d.pin) {
            self.stats.ioapic.limiter_delays += 1;
            self.stats.ioapic.messages += 1;
            let at = sim.now() + DELAYED_IOAPIC_SERVICE;
            let msg = self.ioapic_message(&d);
            self.post(IOAPIC_RID, msg, at, sim);
            return;
        }
        self.ioapic_send(d, sim);
    }

    /// The IO-APIC sends a message (assertion, unmask or EOI re-delivery):
    /// for an entry in remappable form, the message QEMU's IO-APIC builds
    /// from it (docs/sources.md §3.2).
    fn ioapic_send(&mut self, d: Delivery, sim: &mut Sim) {
        self.stats.ioapic.messages += 1;
        let msg = self.ioapic_message(&d);
        self.post(IOAPIC_RID, msg, sim.now(), sim);
    }

    fn ioapic_message(&self, d: &Delivery) -> MsiMessage {
        match self.ioapic.rte(d.pin) {
            Ok(rte) if rte.encode() & irqlab_hw::vtd::msi::field::RTE_FORMAT != 0 => {
                let (address, data) = irqlab_hw::vtd::msi::remappable_rte_to_msi(rte.encode());
                MsiMessage::new(address, data)
            }
            _ => d.message,
        }
    }

    /// A message enters the interrupt-message port at `at`; it reaches the
    /// window after the posted-write latency.
    fn post(&mut self, rid: Rid, msg: MsiMessage, at: Time, sim: &mut Sim) {
        self.stats.msi_posted += 1;
        if sim.faults.fire(Fault::DropMsi) {
            return;
        }
        sim.at(at + sim.costs.msi_delivery, Event::Msi { rid, address: msg.address, data: msg.data });
    }
}

impl Platform {
    /// The physical address `rid`'s access to `iova` reaches (the data side
    /// of a request already translated and counted), if any.
    fn phys_of(&self, rid: Rid, iova: u64) -> Option<u64> {
        match &self.iommu {
            Some(u) => u.peek(rid, iova),
            None => Some(iova),
        }
    }

    /// One DMA access through the port: translated (if the IOMMU is on),
    /// counted, its rogue writes noted; returns when it completes and the
    /// physical address it reached.
    #[inline]
    fn access(&mut self, rid: Rid, req: DmaRequest, at: Time, sim: &mut Sim) -> Result<(Time, u64), DmaFault> {
        if sim.faults.fire(Fault::LoseDma) {
            return Ok((at, req.iova));
        }
        if self.iommu.is_none() && !req.rogue {
            // No IOMMU, a well-behaved device: the address is physical and
            // nothing can fault (inline: each frame makes two or three).
            return Ok((self.complete(&req, at, Dur::ZERO), req.iova));
        }
        self.access_translated(rid, req, at, sim)
    }

    /// Counts a DMA that went through (its translation stalled it `stall`)
    /// and returns when it completes.
    #[inline]
    fn complete(&mut self, req: &DmaRequest, at: Time, stall: Dur) -> Time {
        let st = &mut self.stats.dma;
        st.completed += 1;
        let latency = if req.dir == ports::DmaDir::Write {
            st.bytes_written += req.len as u64;
            self.dma_write_latency
        } else {
            st.bytes_read += req.len as u64;
            self.dma_read_latency
        };
        at + stall + latency
    }

    /// [`Self::access`] through the IOMMU, or a misbehaving device's write.
    #[inline(never)]
    fn access_translated(
        &mut self,
        rid: Rid,
        req: DmaRequest,
        at: Time,
        sim: &mut Sim,
    ) -> Result<(Time, u64), DmaFault> {
        let write = req.dir == ports::DmaDir::Write;
        let (phys, stall) = match self.iommu.as_mut() {
            Some(u) => match u.translate(rid, req.iova, write, at) {
                Ok(t) => (t.phys, t.stall),
                Err(f) => {
                    self.stats.dma.faults += 1;
                    if !sim.faults.fire(Fault::FaultNotReported) {
                        let r = u.faults.report(rid.0, req.iova, f.reason, write, f.fpd);
                        self.fault_event(r, sim);
                    }
                    return Err(f);
                }
            },
            None => (req.iova, Dur::ZERO),
        };
        let done = self.complete(&req, at, stall);
        if req.rogue && write {
            let st = &mut self.stats.dma;
            st.unprotected_writes += 1;
            st.unprotected_bytes += req.len as u64;
            match self.memory.owner(phys) {
                Some(Owner::Kernel) => st.unprotected_kernel += 1,
                Some(Owner::Device(_)) => st.unprotected_device += 1,
                None => {}
            }
            self.memory.clobber(phys, req.len as u64, done);
        }
        Ok((done, phys))
    }
}

impl ports::UpstreamPort for Platform {
    fn msi_write(&mut self, rid: Rid, address: u64, data: u32, sim: &mut Sim) {
        let now = sim.now();
        self.post(rid, MsiMessage::new(address, data), now, sim);
    }

    fn dma(&mut self, rid: Rid, req: DmaRequest, at: Time, sim: &mut Sim) -> Result<Time, DmaFault> {
        self.access(rid, req, at, sim).map(|(done, _)| done)
    }

    fn dma_read(
        &mut self,
        rid: Rid,
        req: DmaRequest,
        at: Time,
        sim: &mut Sim,
        data: &mut [u64],
    ) -> Result<Time, DmaFault> {
        let (done, phys) = self.access(rid, req, at, sim)?;
        self.memory.read(phys, at, data);
        Ok(done)
    }

    fn dma_sample(&mut self, rid: Rid, iova: u64, at: Time) -> (u64, u64) {
        self.phys_of(rid, iova).map_or((0, 0), |p| self.memory.sample(p, at))
    }

    fn dma_store(&mut self, rid: Rid, iova: u64, value: u64, at: Time) {
        if let Some(p) = self.phys_of(rid, iova) {
            self.memory.store(p, value, at);
        }
    }

    fn intx(&mut self, pin: u8, source: LineSource, asserted: bool, sim: &mut Sim) {
        let Some(level) = self.lines.drive(pin, source, asserted) else {
            self.stats.ioapic.bad_pin += 1;
            return;
        };
        match self.ioapic.set_pin_level(pin, level) {
            Ok(Some(d)) => self.ioapic_send(d, sim),
            Ok(None) => {}
            Err(_) => self.stats.ioapic.bad_pin += 1,
        }
    }
}
