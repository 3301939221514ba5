//! genirq's data: IRQ descriptors and driver actions, after Linux
//! kernel/irq/{irqdesc.c,handle.c}.
//!
//! A driver requests an IRQ with its action; the descriptor records the
//! chip stack behind it (kernel/irqchip.rs) and the vector-domain data: the
//! CPU and vector its interrupts arrive on. Drivers never touch the IO-APIC,
//! the MSI capability or the MSI-X table: the chips do, and the flow handler
//! (kernel/irq.rs) sequences them. Every handled interrupt goes through
//! `note_interrupt` (kernel/spurious.rs).

use super::irqchip::{Flow, IrqChip};
use super::spurious::SpuriousDetector;
use crate::config::LevelFlow;
use crate::ids::{CpuId, NicId, QueueId};
use irqlab_engine::Time;

/// A driver's handler (`struct irqaction`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrqAction {
    /// A NIC's per-queue MSI-X handler: schedule that queue's NAPI.
    NicQueue(NicId, QueueId),
    /// A NIC's single handler (MSI or INTx): find the queues from the
    /// interrupt cause register and schedule their NAPI instances.
    NicCause(NicId),
    /// A level-triggered device's handler (`[[devices]]` index).
    LevelDevice(u32),
    /// A NIC's TX-queue handler (separate TX vectors): schedule its TX NAPI.
    NicTx(NicId, u32),
    /// The IOMMU driver's fault handler (`dmar_fault`).
    DmarFault,
}

/// One IRQ descriptor (`struct irq_desc`).
#[derive(Debug)]
pub struct IrqDesc {
    /// The chip stack above the vector domain, device-facing level first.
    pub chips: Vec<Box<dyn IrqChip>>,
    /// CPU its vector lives on (effective affinity).
    pub cpu: CpuId,
    /// Vector on that CPU.
    pub vector: u8,
    /// A move not yet complete: the old (CPU, vector), still wired until
    /// the IRQ has fired on its new vector and nothing of the old one is
    /// left on its CPU.
    pub moving_from: Option<(CpuId, u8)>,
    /// The IRQ has fired on its new vector since the move.
    pub fired_since_move: bool,
    /// Handlers sharing the line.
    pub actions: Vec<IrqAction>,
    /// `IRQF_SHARED` on the first action (all of a line's actions agree):
    /// IO-APIC lines requested with `request_shared_irq` and a NIC's INTx
    /// line; never an MSI or MSI-X vector.
    pub shared: bool,
    /// `note_interrupt` state.
    pub detector: SpuriousDetector,
    /// `IRQS_SPURIOUS_DISABLED`: disabled by the "nobody cared" rule.
    pub spurious_disabled: bool,
    /// When it was disabled.
    pub disabled_at: Option<Time>,
    /// Flow-handler invocations (`/proc/interrupts` count).
    pub count: u64,
    /// The same by the CPU that took them (`/proc/interrupts` columns).
    pub count_per_cpu: Vec<u64>,
    /// Invocations no action claimed (`IRQ_NONE`).
    pub unhandled: u64,
    /// Invocations that found the descriptor disabled (masked and EOI'd only).
    pub while_disabled: u64,
    /// Times the spurious poller ran the actions.
    pub polled: u64,
}

impl IrqDesc {
    /// A descriptor for `chips` with one action, on `cpu`'s `vector`.
    pub fn new(chips: Vec<Box<dyn IrqChip>>, cpu: CpuId, vector: u8, action: IrqAction) -> IrqDesc {
        IrqDesc {
            chips,
            cpu,
            vector,
            moving_from: None,
            fired_since_move: false,
            actions: vec![action],
            shared: false,
            detector: SpuriousDetector::default(),
            spurious_disabled: false,
            disabled_at: None,
            count: 0,
            count_per_cpu: Vec::new(),
            unhandled: 0,
            while_disabled: 0,
            polled: 0,
        }
    }

    /// The flow handler: the first level that decides it (edge otherwise).
    pub fn flow(&self, level_flow: LevelFlow) -> Flow {
        self.chips.iter().find_map(|c| c.flow(level_flow)).unwrap_or(Flow::Edge)
    }

    /// The name `/proc/interrupts` shows (`IR-` before it when remapped).
    pub fn chip_name(&self, level_flow: LevelFlow) -> &'static str {
        let name = self.chips.first().map_or("vector", |c| c.name(level_flow));
        if !self.chips.iter().any(|c| c.remaps()) {
            return name;
        }
        match name {
            "PCI-MSIX-edge" => "IR-PCI-MSIX-edge",
            "PCI-MSI-edge" => "IR-PCI-MSI-edge",
            "IO-APIC-edge" => "IR-IO-APIC-edge",
            "IO-APIC-fasteoi" => "IR-IO-APIC-fasteoi",
            "IO-APIC-level" => "IR-IO-APIC-level",
            other => other,
        }
    }
}
