//! genirq: IRQ descriptors, `irq_chip` operations and flow handlers, after
//! Linux kernel/irq/{chip.c,handle.c} and the x86 chips.
//!
//! A driver requests an IRQ with its action; the descriptor records the
//! chip behind it and the vector and core its interrupts arrive on. Drivers
//! never touch the IO-APIC, the MSI capability or the MSI-X table: the
//! chip operations do, and the flow handler sequences them:
//!
//! | chip | flow | ack / eoi | mask / unmask |
//! |---|---|---|---|
//! | IO-APIC, edge RTE | `handle_edge_irq` | ack = local-APIC EOI on entry (`apic_ack_irq`) | RTE mask bit |
//! | IO-APIC, level RTE | `handle_fasteoi_irq` | eoi after the actions (`ioapic_ack_level`: local-APIC EOI, broadcast or directed to the IO-APIC) | RTE mask bit |
//! | IO-APIC, level RTE, `kernel.level_flow = "level"` | `handle_level_irq` | mask + EOI on entry, unmask after the actions | RTE mask bit |
//! | PCI MSI | `handle_edge_irq` | ack = local-APIC EOI on entry | none (no per-vector mask bits modelled) |
//! | PCI MSI-X | `handle_edge_irq` | ack = local-APIC EOI on entry | the entry's Vector Control mask bit |
//!
//! Every handled interrupt goes through `note_interrupt` (kernel/spurious.rs):
//! a line that is almost never handled is disabled ("nobody cared") and then
//! polled every 100 ms. The driver's etiquette on a level line
//! (`driver.level_eoi`) decides whether the cause is cleared before the EOI;
//! the wrong order makes the still-asserted line re-deliver at once.

use crate::config::{LevelEoi, LevelFlow};
use crate::ids::{CoreId, IrqId, QueueId};
use crate::kernel::spurious::{SpuriousDetector, Verdict};
use crate::machine::{Event, Machine};
use irqlab_engine::{Dur, Time};
use irqlab_hw::ioapic::{Polarity, RedirectionEntry};
use irqlab_hw::msi::{DeliveryMode, MsiMessage, Trigger};
use irqlab_hw::msix::MsixEntry;
use serde::Serialize;

/// The interrupt controller behind an IRQ (`struct irq_chip`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Chip {
    /// An IO-APIC input whose redirection entry is edge-triggered.
    IoapicEdge {
        /// IO-APIC pin.
        pin: u8,
    },
    /// An IO-APIC input whose redirection entry is level-triggered.
    IoapicLevel {
        /// IO-APIC pin.
        pin: u8,
    },
    /// The device's MSI capability (one message).
    Msi,
    /// One MSI-X table entry of the device.
    Msix {
        /// Table entry index.
        entry: u16,
    },
}

/// The flow handler a chip uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    /// `handle_edge_irq`: ack first, then the actions.
    Edge,
    /// `handle_fasteoi_irq`: the actions, then EOI.
    FastEoi,
    /// `handle_level_irq`: mask and ack (EOI) first, the actions, then unmask.
    Level,
}

impl Chip {
    /// The flow handler for this chip; level lines use `level_flow`.
    pub fn flow(self, level_flow: LevelFlow) -> Flow {
        match (self, level_flow) {
            (Chip::IoapicLevel { .. }, LevelFlow::Fasteoi) => Flow::FastEoi,
            (Chip::IoapicLevel { .. }, LevelFlow::Level) => Flow::Level,
            _ => Flow::Edge,
        }
    }
    /// The chip and flow name as `/proc/interrupts` prints them.
    pub fn name(self, level_flow: LevelFlow) -> &'static str {
        match self {
            Chip::IoapicEdge { .. } => "IO-APIC-edge",
            Chip::IoapicLevel { .. } if level_flow == LevelFlow::Level => "IO-APIC-level",
            Chip::IoapicLevel { .. } => "IO-APIC-fasteoi",
            Chip::Msi => "PCI-MSI-edge",
            Chip::Msix { .. } => "PCI-MSIX-edge",
        }
    }
}

/// A driver's handler (`struct irqaction`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrqAction {
    /// The NIC's per-queue MSI-X handler: schedule that queue's NAPI.
    NicQueue(QueueId),
    /// The NIC's single handler (MSI or INTx): find the queues from the
    /// interrupt cause register and schedule their NAPI instances.
    NicCause,
    /// A level-triggered device's handler (`[[devices]]` index).
    LevelDevice(u32),
}

/// One IRQ descriptor (`struct irq_desc`).
#[derive(Debug)]
pub struct IrqDesc {
    /// The chip.
    pub chip: Chip,
    /// Core its vector lives on (effective affinity).
    pub core: CoreId,
    /// Vector on that core.
    pub vector: u8,
    /// Handlers sharing the line.
    pub actions: Vec<IrqAction>,
    /// `note_interrupt` state.
    pub detector: SpuriousDetector,
    /// `IRQS_SPURIOUS_DISABLED`: disabled by the "nobody cared" rule.
    pub spurious_disabled: bool,
    /// When it was disabled.
    pub disabled_at: Option<Time>,
    /// Flow-handler invocations (`/proc/interrupts` count).
    pub count: u64,
    /// Invocations no action claimed (`IRQ_NONE`).
    pub unhandled: u64,
    /// Invocations that found the descriptor disabled (masked and EOI'd only).
    pub while_disabled: u64,
    /// Times the spurious poller ran the actions.
    pub polled: u64,
}

impl Machine {
    /// `request_irq()` plus the chip's activation: allocates a vector on
    /// `core`, programs the chip to send it there, and unmasks it.
    pub(crate) fn request_irq(&mut self, chip: Chip, core: CoreId, action: IrqAction) -> Option<IrqId> {
        let irq = IrqId(self.irqs.len() as u32);
        let Some(vector) = self.vectors[core.idx()].allocate(irq) else {
            self.stats.vector_alloc_failures += 1;
            return None;
        };
        self.irqs.push(IrqDesc {
            chip,
            core,
            vector,
            actions: vec![action],
            detector: SpuriousDetector::default(),
            spurious_disabled: false,
            disabled_at: None,
            count: 0,
            unhandled: 0,
            while_disabled: 0,
            polled: 0,
        });
        let apic = self.topo.apic_id(core) as u8;
        match chip {
            Chip::Msix { entry } => {
                let msg = MsiMessage::compose(apic, vector, DeliveryMode::Fixed, Trigger::Edge);
                // Entries come out of reset masked, so rewriting address/data is legal.
                let written = self.nic.msix.write_entry(entry, MsixEntry::new(msg, true));
                debug_assert!(written.is_ok(), "entry exists");
            }
            Chip::Msi => {
                self.nic.msi_message = Some(MsiMessage::compose(apic, vector, DeliveryMode::Fixed, Trigger::Edge));
            }
            Chip::IoapicEdge { pin } | Chip::IoapicLevel { pin } => {
                let trigger = if matches!(chip, Chip::IoapicLevel { .. }) { Trigger::Level } else { Trigger::Edge };
                // PCI INTx is active-low; the polarity bit does not change delivery here.
                let mut rte = RedirectionEntry::fixed(vector, apic, trigger, Polarity::ActiveLow);
                rte.masked = true;
                let out = self.ioapic.write_rte(pin, rte).unwrap_or_default();
                debug_assert!(out.is_empty(), "a masked entry delivers nothing");
            }
        }
        self.chip_unmask(irq, Time::ZERO);
        Some(irq)
    }

    /// `request_irq(..., IRQF_SHARED)` on an IO-APIC pin: joins the IRQ
    /// already on that pin, or requests a new level-triggered one on `core`.
    pub(crate) fn request_shared_pin_irq(&mut self, pin: u8, core: CoreId, action: IrqAction) -> Option<IrqId> {
        let existing = self
            .irqs
            .iter()
            .position(|d| matches!(d.chip, Chip::IoapicLevel { pin: p } | Chip::IoapicEdge { pin: p } if p == pin));
        match existing {
            Some(i) => {
                self.irqs[i].actions.push(action);
                Some(IrqId(i as u32))
            }
            None => self.request_irq(Chip::IoapicLevel { pin }, core, action),
        }
    }

    /// `irq_chip.irq_mask`.
    pub(crate) fn chip_mask(&mut self, irq: IrqId) {
        match self.irqs[irq.idx()].chip {
            Chip::Msix { entry } => {
                let _ = self.nic.msix.set_masked(entry, true);
            }
            Chip::Msi => {}
            Chip::IoapicEdge { pin } | Chip::IoapicLevel { pin } => {
                let _ = self.ioapic.set_masked(pin, true);
            }
        }
    }

    /// `irq_chip.irq_unmask`: may release a pending message.
    pub(crate) fn chip_unmask(&mut self, irq: IrqId, now: Time) {
        match self.irqs[irq.idx()].chip {
            Chip::Msix { entry } => {
                if let Ok(Some(msg)) = self.nic.msix.set_masked(entry, false) {
                    self.stats.msix.released += 1;
                    self.send_msi(msg, now);
                }
            }
            Chip::Msi => {}
            Chip::IoapicEdge { pin } | Chip::IoapicLevel { pin } => {
                if let Ok(Some(d)) = self.ioapic.set_masked(pin, false) {
                    self.ioapic_delivery(d.message, now);
                }
            }
        }
    }

    /// `irq_chip.irq_ack` of the x86 vector domain (`apic_ack_irq`): EOI to
    /// the local APIC of `core`, the one running the handler.
    fn chip_ack(&mut self, core: CoreId) {
        self.lapics[core.idx()].eoi();
    }

    /// `irq_chip.irq_eoi` of the IO-APIC level chip (`ioapic_ack_level`):
    /// local-APIC EOI, which broadcasts to the IO-APIC for a level vector,
    /// or, with directed EOI, a write to the IO-APIC's EOI register. `core`
    /// and `vector` are where and as the interrupt was taken: the rebalancer
    /// may have moved the IRQ since.
    fn chip_eoi(&mut self, core: CoreId, vector: u8, now: Time) {
        let out = self.lapics[core.idx()].eoi();
        let to_ioapic = out.broadcast_level_eoi || self.kp.cfg.directed_eoi;
        if to_ioapic {
            for d in self.ioapic.eoi(vector) {
                self.ioapic_eoi_redelivery(d, now);
            }
        }
    }

    /// CPU time of the flow handler's chip operations and actions on
    /// `core`; the actions see the device as it is when the handler starts.
    fn flow_cost(&mut self, irq: IrqId, core: CoreId, now: Time) -> Dur {
        let desc = &self.irqs[irq.idx()];
        let mut cost = self.costs.lapic_eoi;
        let flow = desc.chip.flow(self.level_flow);
        if flow != Flow::Edge && self.kp.cfg.directed_eoi {
            cost += self.costs.mmio_write;
        }
        if flow == Flow::Level {
            // Mask and unmask: two writes to the redirection entry.
            cost += self.costs.mmio_write.times(2);
        }
        for k in 0..self.irqs[irq.idx()].actions.len() {
            cost += match self.irqs[irq.idx()].actions[k] {
                IrqAction::NicQueue(q) => self.nic_queue_irq_entry(core, q, now),
                // One uncached read of the interrupt cause (or status) register,
                // and the EIMC write masking the queues it schedules.
                IrqAction::NicCause => {
                    self.costs.mmio_read + if self.nic.auto_mask { Dur::ZERO } else { self.costs.mmio_write }
                }
                IrqAction::LevelDevice(d) => self.device_irq_cost(d),
            };
        }
        cost
    }

    /// The flow handler's entry half, when the vector is taken: returns the
    /// handler's CPU time. Edge flows ack here; a level flow written with
    /// the wrong etiquette EOIs here, before the cause is cleared. `core`
    /// took `vector`; the handler runs there even if the rebalancer moves
    /// the IRQ meanwhile.
    pub(crate) fn flow_entry(&mut self, irq: IrqId, core: CoreId, vector: u8, now: Time) -> Dur {
        let cost = self.flow_cost(irq, core, now);
        let desc = &mut self.irqs[irq.idx()];
        desc.count += 1;
        match desc.chip.flow(self.level_flow) {
            Flow::Edge => self.chip_ack(core),
            Flow::FastEoi => {
                if self.driver_level_eoi == LevelEoi::BeforeClear && !desc.spurious_disabled {
                    self.chip_eoi(core, vector, now);
                }
            }
            Flow::Level => {
                // mask_ack_irq: masked, the EOI cannot re-deliver.
                self.chip_mask(irq);
                self.chip_eoi(core, vector, now);
            }
        }
        cost
    }

    /// The flow handler's exit half: the actions, `note_interrupt`, and the
    /// fasteoi EOI, on `core`, which took `vector` (see [`Self::flow_entry`]).
    pub(crate) fn flow_exit(&mut self, irq: IrqId, core: CoreId, vector: u8, now: Time) {
        let desc = &self.irqs[irq.idx()];
        let flow = desc.chip.flow(self.level_flow);
        if desc.spurious_disabled {
            // handle_*_irq on a disabled descriptor: mask (and EOI), no action.
            self.irqs[irq.idx()].while_disabled += 1;
            self.chip_mask(irq);
            if flow != Flow::Edge {
                self.chip_eoi(core, vector, now);
            }
            return;
        }
        let handled = self.handle_irq_event(irq, core, now);
        self.note_interrupt(irq, handled, now);
        match flow {
            Flow::FastEoi if self.driver_level_eoi == LevelEoi::AfterClear => self.chip_eoi(core, vector, now),
            // cond_unmask_irq: a line still asserted delivers again at once.
            Flow::Level if !self.irqs[irq.idx()].spurious_disabled => self.chip_unmask(irq, now),
            _ => {}
        }
    }

    /// `handle_irq_event`: run every action on `core`; handled if any claims it.
    fn handle_irq_event(&mut self, irq: IrqId, core: CoreId, now: Time) -> bool {
        let mut handled = false;
        for k in 0..self.irqs[irq.idx()].actions.len() {
            handled |= match self.irqs[irq.idx()].actions[k] {
                IrqAction::NicQueue(q) => self.nic_queue_irq(core, q, now),
                IrqAction::NicCause => self.nic_cause_irq(core, now),
                IrqAction::LevelDevice(d) => self.device_irq(d, now),
            };
        }
        handled
    }

    /// `note_interrupt()`: count, and disable a line nobody handles.
    fn note_interrupt(&mut self, irq: IrqId, handled: bool, now: Time) {
        let desc = &mut self.irqs[irq.idx()];
        if !handled {
            desc.unhandled += 1;
        }
        if self.kp.cfg.noirqdebug {
            return;
        }
        if desc.detector.note_interrupt(now, handled) == Verdict::Disable {
            desc.spurious_disabled = true;
            desc.disabled_at = Some(now);
            self.chip_mask(irq);
            if !self.spurious_poll_armed {
                self.spurious_poll_armed = true;
                self.at(now + crate::kernel::spurious::POLL_SPURIOUS_INTERVAL, Event::SpuriousPoll);
            }
        }
    }

    /// `poll_spurious_irqs()`: every 100 ms, run the actions of each
    /// disabled IRQ as if it had fired, then let softirqs run on its core.
    pub(crate) fn spurious_poll(&mut self, now: Time) {
        for i in 0..self.irqs.len() {
            if !self.irqs[i].spurious_disabled {
                continue;
            }
            let irq = IrqId(i as u32);
            self.irqs[i].polled += 1;
            let core = self.irqs[i].core;
            self.handle_irq_event(irq, core, now);
            // The poll runs from a timer softirq: pending NET_RX runs next
            // unless that core is already inside softirq or ksoftirqd.
            let cpu = &self.cpus[core.idx()];
            if cpu.interrupts_enabled() && !cpu.in_softirq() && !self.softnet[core.idx()].ksoftirqd_active() {
                self.cpus[core.idx()].pause(now);
                if self.softnet[core.idx()].pending {
                    self.do_softirq(core, now);
                }
            }
            self.kick(core, now);
        }
        self.at(now + crate::kernel::spurious::POLL_SPURIOUS_INTERVAL, Event::SpuriousPoll);
    }
}
