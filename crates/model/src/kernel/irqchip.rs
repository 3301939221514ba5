//! Stackable interrupt chips: Linux's irq-domain hierarchy
//! (kernel/irq/irqdomain.c; `msi` → [`intel_ir`] → `vector` on x86).
//!
//! An IRQ's chips form a stack from the device-facing level down to the x86
//! vector domain. The vector domain (the CPU and vector an IRQ arrives on,
//! arch/x86/kernel/apic/vector.c) is the root and is kept by the kernel
//! itself (kernel/vector.rs and the IRQ descriptor); the levels above it are
//! [`IrqChip`]s. When the root's target changes, it composes the message
//! for (APIC ID, vector) in the compatibility format and hands it upwards:
//! each level programs its hardware with the message it receives and hands
//! the next level the message *it* must send — so an interrupt-remapping
//! level writes its IRTE and hands up a remappable-format message that does
//! not change when the IRQ moves. Masking is done by the topmost level that
//! can mask. Adding remapping or posted delivery is adding a level.
//!
//! Levels today, one per device-facing interrupt source, plus the
//! interrupt-remapping level between them and the vector domain when the
//! IOMMU remaps interrupts:
//!
//! | chip | `/proc/interrupts` | masks with | flow |
//! |---|---|---|---|
//! | [`MsixChip`] | `PCI-MSIX-edge` | the entry's Vector Control bit | `handle_edge_irq` |
//! | [`MsiChip`] | `PCI-MSI-edge` | nothing (no per-vector mask bits modelled) | `handle_edge_irq` |
//! | [`IoapicChip`] edge | `IO-APIC-edge` | the RTE mask bit | `handle_edge_irq` |
//! | [`IoapicChip`] level | `IO-APIC-fasteoi` / `IO-APIC-level` | the RTE mask bit | `handle_fasteoi_irq` / `handle_level_irq`, EOI = `ioapic_ack_level` |
//! | [`IrChip`] under any of them | `IR-` prefix | (cannot mask) | (the level above decides) |
//! | [`DmarChip`] | `DMAR-MSI-edge` | FECTL.IM | `handle_edge_irq` |
//!
//! With [`IrChip`] (Linux's `intel_ir_chip`), a move rewrites the IRTE and
//! invalidates the interrupt entry cache; the device's entry keeps the
//! remappable message it was given once, so it is neither masked nor
//! rewritten. An IO-APIC entry in remappable form carries the pin number
//! as its vector, and its level EOI is always a directed EOI of that
//! number (`ioapic_ir_ack_level`: "Intr-remapping uses pin number as the
//! virtual vector in the RTE").

use super::cx::Cx;
use crate::config::LevelFlow;
use crate::ids::{CoreId, NicId};
use irqlab_hw::ioapic::{Polarity, RedirectionEntry};
use irqlab_hw::msi::{DeliveryMode, MsiMessage, Trigger};
use irqlab_hw::msix::MsixEntry;
use irqlab_hw::vtd::irte::{Irte, RemappedIrte};
use irqlab_hw::vtd::msi::{RemappableMsi, remappable_rte};

/// The flow handler an IRQ uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// `handle_edge_irq`: ack first, then the actions.
    Edge,
    /// `handle_fasteoi_irq`: the actions, then EOI.
    FastEoi,
    /// `handle_level_irq`: mask and ack (EOI) first, the actions, then unmask.
    Level,
}

/// The message the vector domain composes for (APIC ID, vector): a fixed,
/// physical-destination, edge message in the compatibility format
/// (`__irq_msi_compose_msg`).
pub fn compose_msg(apic_id: u8, vector: u8) -> MsiMessage {
    MsiMessage::compose(apic_id, vector, DeliveryMode::Fixed, Trigger::Edge)
}

/// One level of an IRQ's chip stack (`struct irq_chip` with its `irq_data`).
pub trait IrqChip: std::fmt::Debug {
    /// The name `/proc/interrupts` shows for the chip and flow.
    fn name(&self, level_flow: LevelFlow) -> &'static str;
    /// The flow handler this level asks for, if it decides it.
    fn flow(&self, _level_flow: LevelFlow) -> Option<Flow> {
        None
    }
    /// Programs this level to send `msg` (composed by the level below) and
    /// returns the message the level above must send, or `None` if the
    /// levels above need no change.
    fn write_msg(&mut self, msg: MsiMessage, cx: &mut Cx) -> Option<MsiMessage>;
    /// `irq_mask` / `irq_unmask`: returns `false` if this level cannot mask
    /// (the caller goes to the next level down).
    fn set_masked(&mut self, masked: bool, cx: &mut Cx) -> bool;
    /// Whether rewriting this level's message needs the source masked first
    /// (a multi-word entry a device may read half-written).
    fn mask_to_rewrite(&self) -> bool {
        false
    }
    /// `irq_eoi` for a fasteoi/level flow on `core` (after or before the
    /// actions); `false` if this level has none.
    fn eoi(&mut self, _core: CoreId, _vector: u8, _cx: &mut Cx) -> bool {
        false
    }
    /// Whether this level remaps: the levels above it are programmed once
    /// and a move stops here.
    fn remaps(&self) -> bool {
        false
    }
}

/// The interrupt-remapping level (`intel_ir_chip`): owns IRTE `index`.
#[derive(Debug)]
pub struct IrChip {
    /// The IRTE's index (the handle in the remappable message).
    pub index: u16,
    /// The requester ID the entry validates (SVT = 1, SQ = 0: all 16 bits).
    pub sid: u16,
    /// Level-triggered source (an IO-APIC level pin).
    pub level: bool,
    /// The levels above have their remappable message.
    written: bool,
    /// Posted: the entry is posted-format, naming the descriptor of the
    /// target APIC ID `a` at `base + 64 · a` (the host's posted-MSI
    /// descriptors, or a VM's vCPU descriptors for an assigned device).
    pub post_base: Option<u64>,
    /// A VM's assigned device remapped to a core its vCPUs share with other
    /// VMs' (no posting): the entry carries a host vector of its own
    /// ([`host_vfio_vector`] of the index), which the host maps back to
    /// this guest kernel and the guest's vector.
    pub host_vector_for: Option<crate::ids::KernelId>,
}

/// The host vector of IRTE `index` when VFIO IRQs get host vectors of
/// their own: one per entry from `FIRST_EXTERNAL_VECTOR`, so IRQs of
/// different VMs on one core never share a vector (validation keeps them
/// below the system vectors).
pub fn host_vfio_vector(index: u16) -> u8 {
    (super::vector::FIRST_EXTERNAL_VECTOR as u16 + index).min(0xeb) as u8
}

impl IrChip {
    /// The level for IRTE `index`, validating requester `sid`; with
    /// `post_base`, posted-format entries.
    pub fn new(index: u16, sid: u16, level: bool, post_base: Option<u64>) -> IrChip {
        IrChip { index, sid, level, written: false, post_base, host_vector_for: None }
    }
}

impl IrqChip for IrChip {
    fn name(&self, _: LevelFlow) -> &'static str {
        if self.post_base.is_some() { "IR-PI" } else { "IR" }
    }
    fn write_msg(&mut self, msg: MsiMessage, cx: &mut Cx) -> Option<MsiMessage> {
        // modify_irte: the new destination and vector into the entry, then
        // an IEC invalidation of it through the invalidation queue.
        let d = msg.decode().ok()?;
        let mut vector = d.data.vector;
        if let Some(k) = self.host_vector_for {
            vector = host_vfio_vector(self.index);
            cx.platform.vfio_vectors.insert(vector, (k, d.data.vector));
        }
        let e = RemappedIrte::new(vector, d.address.destination_id as u32, false, self.level, self.sid);
        // intel_ir_reconfigure_irte_posted: the same entry in posted format,
        // VV = the vector, PDA = the target CPU's descriptor.
        let irte = if let Some(base) = self.post_base {
            let pda = base + 64 * (d.address.destination_id as u64 & 0xff);
            Irte::Posted(irqlab_hw::vtd::irte::PostedIrte::from_remapped(&e, d.data.vector, pda))
        } else {
            Irte::Remapped(e)
        };
        let now = cx.sim.now();
        let u = cx.platform.iommu.as_mut()?;
        u.ir.as_mut()?.write_irte(self.index as u32, irte.encode());
        u.submit(&[crate::platform::iommu::inv::iec_index(self.index), crate::platform::iommu::inv::wait()], now);
        if std::mem::replace(&mut self.written, true) {
            return None;
        }
        let (address, data) = RemappableMsi::linux(self.index);
        Some(MsiMessage::new(address, data))
    }
    fn set_masked(&mut self, _masked: bool, _cx: &mut Cx) -> bool {
        false
    }
    fn remaps(&self) -> bool {
        true
    }
}

/// The IOMMU's fault event (`dmar_msi_controller`): FEADDR/FEDATA hold its
/// message, FECTL.IM masks it.
#[derive(Debug)]
pub struct DmarChip;

impl IrqChip for DmarChip {
    fn name(&self, _: LevelFlow) -> &'static str {
        "DMAR-MSI-edge"
    }
    fn flow(&self, _: LevelFlow) -> Option<Flow> {
        Some(Flow::Edge)
    }
    fn write_msg(&mut self, msg: MsiMessage, cx: &mut Cx) -> Option<MsiMessage> {
        if let Some(u) = cx.platform.iommu.as_mut() {
            u.set_fault_event_msg(msg);
        }
        None
    }
    fn set_masked(&mut self, masked: bool, cx: &mut Cx) -> bool {
        let sim = &mut *cx.sim;
        cx.platform.iommu_set_fault_masked(masked, sim);
        true
    }
}

/// One MSI-X table entry of a NIC.
#[derive(Debug)]
pub struct MsixChip {
    /// The NIC.
    pub nic: NicId,
    /// Table entry index.
    pub entry: u16,
}

impl IrqChip for MsixChip {
    fn name(&self, _: LevelFlow) -> &'static str {
        "PCI-MSIX-edge"
    }
    fn flow(&self, _: LevelFlow) -> Option<Flow> {
        Some(Flow::Edge)
    }
    fn write_msg(&mut self, msg: MsiMessage, cx: &mut Cx) -> Option<MsiMessage> {
        let nic = &mut cx.nics[self.nic.idx()];
        let masked = nic.msix_masked(self.entry);
        nic.msix_write_entry(self.entry, MsixEntry::new(msg, masked));
        None
    }
    fn set_masked(&mut self, masked: bool, cx: &mut Cx) -> bool {
        let (nic, sim, platform) = cx.nic(self.nic);
        nic.msix_set_masked(self.entry, masked, sim, platform);
        true
    }
    fn mask_to_rewrite(&self) -> bool {
        true
    }
}

/// A NIC's MSI capability (one message).
#[derive(Debug)]
pub struct MsiChip {
    /// The NIC.
    pub nic: NicId,
}

impl IrqChip for MsiChip {
    fn name(&self, _: LevelFlow) -> &'static str {
        "PCI-MSI-edge"
    }
    fn flow(&self, _: LevelFlow) -> Option<Flow> {
        Some(Flow::Edge)
    }
    fn write_msg(&mut self, msg: MsiMessage, cx: &mut Cx) -> Option<MsiMessage> {
        cx.nics[self.nic.idx()].msi_set_message(msg);
        None
    }
    fn set_masked(&mut self, _masked: bool, _cx: &mut Cx) -> bool {
        // No per-vector mask bits: masking does nothing, as on devices
        // without the capability's optional mask register.
        true
    }
}

/// An IO-APIC input pin and its redirection entry.
#[derive(Debug)]
pub struct IoapicChip {
    /// IO-APIC pin.
    pub pin: u8,
    /// The trigger mode its RTE is programmed with.
    pub trigger: Trigger,
    /// Directed EOI: write the IO-APIC's EOI register instead of relying on
    /// the local APIC's broadcast.
    pub directed_eoi: bool,
    /// The entry's mask bit as last written.
    masked: bool,
    /// The entry is in remappable form (the IOMMU remaps interrupts).
    remapped: bool,
}

impl IoapicChip {
    /// Pin `pin` with an entry of `trigger` mode, masked (as at reset).
    pub fn new(pin: u8, trigger: Trigger, directed_eoi: bool) -> IoapicChip {
        IoapicChip { pin, trigger, directed_eoi, masked: true, remapped: false }
    }
}

impl IrqChip for IoapicChip {
    fn name(&self, level_flow: LevelFlow) -> &'static str {
        match (self.trigger, level_flow) {
            (Trigger::Edge, _) => "IO-APIC-edge",
            (Trigger::Level, LevelFlow::Level) => "IO-APIC-level",
            (Trigger::Level, LevelFlow::Fasteoi) => "IO-APIC-fasteoi",
        }
    }
    fn flow(&self, level_flow: LevelFlow) -> Option<Flow> {
        Some(match (self.trigger, level_flow) {
            (Trigger::Edge, _) => Flow::Edge,
            (Trigger::Level, LevelFlow::Fasteoi) => Flow::FastEoi,
            (Trigger::Level, LevelFlow::Level) => Flow::Level,
        })
    }
    fn write_msg(&mut self, msg: MsiMessage, cx: &mut Cx) -> Option<MsiMessage> {
        // ioapic_setup_msg_from_msi: destination and vector from the
        // message, trigger and polarity from the pin's configuration. PCI
        // INTx is active-low; the polarity bit does not change delivery here.
        let mut rte = if let Ok(r) = RemappableMsi::decode(msg.address, msg.data) {
            // Remappable form: the IRTE index, and the pin as the vector.
            self.remapped = true;
            let mut rte =
                RedirectionEntry::decode(remappable_rte(r.index() as u16, self.pin, self.trigger == Trigger::Level));
            rte.polarity = Polarity::ActiveLow;
            rte
        } else {
            let d = msg.decode().ok()?;
            RedirectionEntry::fixed(d.data.vector, d.address.destination_id, self.trigger, Polarity::ActiveLow)
        };
        rte.masked = self.masked;
        let sim = &mut *cx.sim;
        cx.platform.ioapic_write_rte(self.pin, rte, sim);
        None
    }
    fn set_masked(&mut self, masked: bool, cx: &mut Cx) -> bool {
        self.masked = masked;
        let sim = &mut *cx.sim;
        cx.platform.ioapic_set_masked(self.pin, masked, sim);
        true
    }
    fn mask_to_rewrite(&self) -> bool {
        true
    }
    fn eoi(&mut self, core: CoreId, vector: u8, cx: &mut Cx) -> bool {
        // ioapic_ack_level: EOI to the local APIC (which broadcasts to the
        // IO-APIC for a level vector unless suppressed), or with directed
        // EOI a write of the vector to the IO-APIC's EOI register.
        let sim = &mut *cx.sim;
        cx.platform.lapic_eoi(core, sim);
        if self.remapped {
            // ioapic_ir_ack_level: the RTE's vector is the pin number.
            cx.platform.ioapic_eoi(self.pin, sim);
        } else if self.directed_eoi {
            cx.platform.ioapic_eoi(vector, sim);
        }
        true
    }
}
