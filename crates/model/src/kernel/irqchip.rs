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
//! Levels today, one per device-facing interrupt source:
//!
//! | chip | `/proc/interrupts` | masks with | flow |
//! |---|---|---|---|
//! | [`MsixChip`] | `PCI-MSIX-edge` | the entry's Vector Control bit | `handle_edge_irq` |
//! | [`MsiChip`] | `PCI-MSI-edge` | nothing (no per-vector mask bits modelled) | `handle_edge_irq` |
//! | [`IoapicChip`] edge | `IO-APIC-edge` | the RTE mask bit | `handle_edge_irq` |
//! | [`IoapicChip`] level | `IO-APIC-fasteoi` / `IO-APIC-level` | the RTE mask bit | `handle_fasteoi_irq` / `handle_level_irq`, EOI = `ioapic_ack_level` |

use super::cx::Cx;
use crate::config::LevelFlow;
use crate::ids::{CoreId, NicId};
use irqlab_hw::ioapic::{Polarity, RedirectionEntry};
use irqlab_hw::msi::{DeliveryMode, MsiMessage, Trigger};
use irqlab_hw::msix::MsixEntry;

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
}

impl IoapicChip {
    /// Pin `pin` with an entry of `trigger` mode, masked (as at reset).
    pub fn new(pin: u8, trigger: Trigger, directed_eoi: bool) -> IoapicChip {
        IoapicChip { pin, trigger, directed_eoi, masked: true }
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
        let (dest, vector) = match msg.decode() {
            Ok(d) => (d.address.destination_id, d.data.vector),
            Err(_) => return None,
        };
        let mut rte = RedirectionEntry::fixed(vector, dest, self.trigger, Polarity::ActiveLow);
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
        if self.directed_eoi {
            cx.platform.ioapic_eoi(vector, sim);
        }
        true
    }
}
