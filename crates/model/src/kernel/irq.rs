//! The x86 interrupt path from the MSI write to the handler, and `irq_exit`.
//!
//! * An MSI write to the 0xFEE window is decoded in the compatibility format
//!   (specs.md §3.1, hw::msi) into a destination APIC ID and a vector; a write
//!   that does not decode, or names no APIC, is blocked and counted by reason.
//! * The destination local APIC accepts the vector into its IRR (hw::lapic);
//!   a vector already requested coalesces there.
//! * A core takes the highest deliverable vector when interrupts are enabled
//!   (not inside another hard-IRQ handler): IRR → ISR, and the handler runs
//!   as a hard-IRQ frame that preempts whatever ran.
//! * After the handler (the driver's top half, kernel/driver.rs) the EOI
//!   clears the ISR bit, and `irq_exit` runs pending softirqs inline unless
//!   the core is already in softirq context or its ksoftirqd is running
//!   (kernel/softirq.c `invoke_softirq`).
//!
//! Vectors are allocated per core from `FIRST_EXTERNAL_VECTOR` upwards, as
//! Linux's x86 vector domain does (one vector space per CPU).

use crate::ids::{CoreId, QueueId};
use crate::machine::{Event, Machine};
use crate::platform::cpu::{Ctx, Work};
use irqlab_engine::Time;
use irqlab_hw::lapic::AcceptOutcome;
use irqlab_hw::msi::MsiMessage;

/// Linux `FIRST_EXTERNAL_VECTOR`: device vectors start here (specs.md §4.2).
pub const FIRST_EXTERNAL_VECTOR: u8 = 0x20;
/// Linux `LOCAL_TIMER_VECTOR`: system vectors start here; device vectors stay below.
pub const FIRST_SYSTEM_VECTOR: u8 = 0xec;

/// What a vector is wired to on one core (`irq_desc` → action).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrqAction {
    /// The NIC driver's handler for one RX queue.
    RxQueue(QueueId),
}

/// One core's vector → action map.
#[derive(Debug)]
pub struct VectorTable {
    actions: [Option<IrqAction>; 256],
    next_free: u8,
}

impl Default for VectorTable {
    fn default() -> Self {
        VectorTable { actions: [None; 256], next_free: FIRST_EXTERNAL_VECTOR }
    }
}

impl VectorTable {
    /// Allocates the next free device vector for `action`; `None` when the
    /// core's device vector space is exhausted.
    pub fn allocate(&mut self, action: IrqAction) -> Option<u8> {
        if self.next_free >= FIRST_SYSTEM_VECTOR {
            return None;
        }
        let v = self.next_free;
        self.actions[v as usize] = Some(action);
        self.next_free += 1;
        Some(v)
    }

    /// The action wired to a vector.
    pub fn action(&self, v: u8) -> Option<IrqAction> {
        self.actions[v as usize]
    }
}

impl Machine {
    /// A device's MSI write arrives: decode, route, accept into the IRR.
    pub(crate) fn msi_write(&mut self, address: u64, data: u32, now: Time) {
        self.stats.msi.arrived += 1;
        let msg = MsiMessage::new(address, data);
        let decoded = match msg.decode() {
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
        let trigger = decoded.data.trigger;
        match self.lapics[core.idx()].accept(decoded.data.vector, trigger) {
            AcceptOutcome::Accepted => self.stats.msi.accepted += 1,
            AcceptOutcome::Coalesced => self.stats.msi.irr_coalesced += 1,
            AcceptOutcome::IllegalVector => self.stats.msi.illegal_vector += 1,
            AcceptOutcome::SoftwareDisabled => self.stats.msi.apic_disabled += 1,
        }
        self.kick(core, now);
    }

    /// Takes a deliverable interrupt on `core` if it accepts one now.
    /// Returns whether a handler started.
    pub(crate) fn take_interrupt(&mut self, core: CoreId, now: Time) -> bool {
        let c = core.idx();
        if !self.cpus[c].interrupts_enabled() || self.lapics[c].pending_vector().is_none() {
            return false;
        }
        let Some(vector) = self.lapics[c].ack() else {
            return false;
        };
        self.stats.interrupts_per_core[c] += 1;
        if let Some(IrqAction::RxQueue(q)) = self.vectors[c].action(vector) {
            self.stats.irq_per_queue[q.idx()] += 1;
        }
        self.cpus[c].pause(now);
        let cost = self.costs.irq_entry_exit + self.handler_cost(core, vector) + self.costs.lapic_eoi;
        let done = self.cpus[c].push(now, Ctx::Hardirq, Work::HardIrq { vector }, cost);
        self.schedule_core(core, Some(done));
        true
    }

    /// The hard-IRQ handler finished: run its action's effects, EOI, and
    /// `irq_exit`.
    pub(crate) fn hardirq_done(&mut self, core: CoreId, vector: u8, now: Time) {
        let c = core.idx();
        match self.vectors[c].action(vector) {
            Some(IrqAction::RxQueue(q)) => self.rx_top_half(core, q, now),
            None => self.stats.spurious_vectors += 1,
        }
        self.lapics[c].eoi();
        self.irq_exit(core, now);
    }

    /// `irq_exit()`: run pending softirqs now unless nested in softirq or
    /// deferred to a running ksoftirqd.
    fn irq_exit(&mut self, core: CoreId, now: Time) {
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
        assert_eq!(t.allocate(IrqAction::RxQueue(QueueId(0))), Some(0x20));
        assert_eq!(t.allocate(IrqAction::RxQueue(QueueId(5))), Some(0x21));
        assert_eq!(t.action(0x21), Some(IrqAction::RxQueue(QueueId(5))));
        assert_eq!(t.action(0x22), None);
        for i in 0..(FIRST_SYSTEM_VECTOR - 0x22) {
            assert!(t.allocate(IrqAction::RxQueue(QueueId(i as u32))).is_some());
        }
        assert_eq!(t.allocate(IrqAction::RxQueue(QueueId(99))), None, "system vectors are never handed out");
    }
}
