//! The x86 interrupt path from the message to the flow handler, and `irq_exit`.
//!
//! * An MSI write (or an IO-APIC message, which travels the same way) is
//!   decoded in the compatibility format (specs.md §3.1, hw::msi) into a
//!   destination APIC ID, a vector and a trigger mode; a write that does not
//!   decode, or names no APIC, is blocked and counted by reason.
//! * The destination local APIC accepts the vector into its IRR (hw::lapic;
//!   TMR set for level); a vector already requested coalesces there.
//! * A core takes the highest deliverable vector when interrupts are enabled
//!   (not inside another hard-IRQ handler): IRR → ISR, and the vector's IRQ
//!   descriptor's flow handler runs (kernel/genirq.rs) as a hard-IRQ frame
//!   that preempts whatever ran.
//! * After the handler, `irq_exit` runs pending softirqs inline unless the
//!   core is already in softirq context or its ksoftirqd is running
//!   (kernel/softirq.c `invoke_softirq`).
//!
//! Vectors are allocated per core from `FIRST_EXTERNAL_VECTOR` upwards, as
//! Linux's x86 vector domain does (one vector space per CPU).

use crate::ids::{CoreId, IrqId};
use crate::kernel::rps::CALL_FUNCTION_SINGLE_VECTOR;
use crate::machine::{Event, Machine};
use crate::platform::cpu::{Ctx, Work};
use irqlab_engine::Time;
use irqlab_hw::lapic::AcceptOutcome;
use irqlab_hw::msi::MsiMessage;

/// Linux `FIRST_EXTERNAL_VECTOR`: device vectors start here (specs.md §4.2).
pub const FIRST_EXTERNAL_VECTOR: u8 = 0x20;
/// Linux `LOCAL_TIMER_VECTOR`: system vectors start here; device vectors stay below.
pub const FIRST_SYSTEM_VECTOR: u8 = 0xec;

/// One core's vector → IRQ map (`vector_irq` per CPU).
#[derive(Debug)]
pub struct VectorTable {
    irqs: [Option<IrqId>; 256],
    next_free: u8,
}

impl Default for VectorTable {
    fn default() -> Self {
        VectorTable { irqs: [None; 256], next_free: FIRST_EXTERNAL_VECTOR }
    }
}

impl VectorTable {
    /// Allocates the next free device vector for `irq`; `None` when the
    /// core's device vector space is exhausted.
    pub fn allocate(&mut self, irq: IrqId) -> Option<u8> {
        if self.next_free >= FIRST_SYSTEM_VECTOR {
            return None;
        }
        let v = self.next_free;
        self.irqs[v as usize] = Some(irq);
        self.next_free += 1;
        Some(v)
    }

    /// The IRQ wired to a vector.
    pub fn irq(&self, v: u8) -> Option<IrqId> {
        self.irqs[v as usize]
    }
}

impl Machine {
    /// A message reaches the interrupt window: decode, route, accept into the IRR.
    pub(crate) fn msi_write(&mut self, address: u64, data: u32, now: Time) {
        self.stats.msi.arrived += 1;
        let decoded = match MsiMessage::new(address, data).decode() {
            Ok(d) => d,
            Err(_) => {
                self.stats.msi.blocked_decode += 1;
                return;
            }
        };
        let Some(core) = self.topo.core_of_apic(decoded.address.destination_id as u32) else {
            self.stats.msi.blocked_no_apic += 1;
            return;
        };
        match self.lapics[core.idx()].accept(decoded.data.vector, decoded.data.trigger) {
            AcceptOutcome::Accepted => self.stats.msi.accepted += 1,
            AcceptOutcome::Coalesced => self.stats.msi.irr_coalesced += 1,
            AcceptOutcome::IllegalVector => self.stats.msi.illegal_vector += 1,
            AcceptOutcome::SoftwareDisabled => self.stats.msi.apic_disabled += 1,
        }
        self.kick(core, now);
    }

    /// Sends a message on the bus; it reaches the APICs after the posted-write latency.
    pub(crate) fn post_message(&mut self, msg: MsiMessage, now: Time) {
        let at = now + self.costs.msi_delivery;
        self.events.schedule(at, Event::MsiWrite { address: msg.address, data: msg.data });
    }

    /// Takes a deliverable interrupt on `core` if it accepts one now.
    /// Returns whether a handler started.
    pub(crate) fn take_interrupt(&mut self, core: CoreId, now: Time) -> bool {
        let c = core.idx();
        if !self.cpus[c].interrupts_enabled() || self.lapics[c].pending_vector().is_none() {
            return false;
        }
        let Some(vector) = self.lapics[c].ack() else { return false };
        self.stats.interrupts_per_core[c] += 1;
        self.cpus[c].pause(now);
        let body = match self.vectors[c].irq(vector) {
            Some(irq) => self.flow_entry(irq, core, vector, now),
            None => {
                // A system vector (IPI) or nothing wired: ack it on entry.
                self.lapics[c].eoi();
                if vector != CALL_FUNCTION_SINGLE_VECTOR {
                    // Linux's "No irq handler for vector" path.
                    self.stats.spurious_vectors += 1;
                }
                self.costs.lapic_eoi
            }
        };
        let cost = self.costs.irq_entry_exit + body;
        self.push_frame(core, now, Ctx::Hardirq, Work::HardIrq { vector }, cost);
        true
    }

    /// The hard-IRQ frame finished: the flow handler's exit half, then `irq_exit`.
    pub(crate) fn hardirq_done(&mut self, core: CoreId, vector: u8, now: Time) {
        match self.vectors[core.idx()].irq(vector) {
            Some(irq) => self.flow_exit(irq, core, vector, now),
            None if vector == CALL_FUNCTION_SINGLE_VECTOR => self.rps_ipi_received(core),
            None => {}
        }
        self.irq_exit(core, now);
    }

    /// `irq_exit()`: run pending softirqs now unless nested in softirq or
    /// deferred to a running ksoftirqd.
    pub(crate) fn irq_exit(&mut self, core: CoreId, now: Time) {
        let c = core.idx();
        if self.softnet[c].pending && !self.cpus[c].in_softirq() && !self.softnet[c].ksoftirqd_active() {
            self.do_softirq(core, now);
        }
    }

    /// Schedules an event; shorthand for the kernel modules.
    pub(crate) fn at(&mut self, t: Time, ev: Event) {
        self.events.schedule(t, ev);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_are_allocated_per_core_from_the_first_external_vector() {
        let mut t = VectorTable::default();
        assert_eq!(t.allocate(IrqId(0)), Some(0x20));
        assert_eq!(t.allocate(IrqId(5)), Some(0x21));
        assert_eq!(t.irq(0x21), Some(IrqId(5)));
        assert_eq!(t.irq(0x22), None);
        for i in 0..(FIRST_SYSTEM_VECTOR - 0x22) {
            assert!(t.allocate(IrqId(i as u32)).is_some());
        }
        assert_eq!(t.allocate(IrqId(99)), None, "system vectors are never handed out");
    }
}
