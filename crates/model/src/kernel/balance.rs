//! The irqbalance-like rebalancer's pass and `irq_set_affinity()` (the
//! policies and the rebalancer's state are in affinity.rs).
//!
//! Moving an IRQ reprograms it the way the kernel does: the vector domain
//! allocates a vector on the new CPU, and the new (APIC ID, vector) goes up
//! the chip stack (kernel/irqchip.rs). A level whose entry spans several
//! words (an MSI-X entry, an RTE) is masked first and unmasked once the
//! rewrite has landed; an interrupt raised in that window sets the entry's
//! Pending bit and is sent on unmask (PBA). An MSI's single message is
//! simply rewritten. The old vector is freed once nothing of it is left on
//! its CPU — neither requested nor in service (`irq_complete_move` and the
//! vector cleanup of arch/x86/kernel/apic/vector.c); until then the IRQ is
//! not moved again.

use super::affinity::REPROGRAM_WRITES;
use super::cpu::Work;
use super::genirq::IrqAction;
use super::{Cx, Kernel};
use crate::ids::{CpuId, IrqId};
use crate::sim::KernelEvent;
use irqlab_engine::{Dur, Time};

impl Kernel {
    /// Arms the rebalancer's first pass.
    pub(super) fn start_irqbalance(&mut self, cx: &mut Cx) {
        if self.balance.interval > Dur::ZERO {
            self.at(cx, Time::ZERO + self.balance.interval, KernelEvent::IrqBalance);
        }
    }

    /// One rebalancer pass.
    pub(super) fn irqbalance(&mut self, cx: &mut Cx) {
        let now = cx.sim.now();
        let interval = self.balance.interval;
        self.at(cx, now + interval, KernelEvent::IrqBalance);
        let mut load = Vec::with_capacity(self.cpus.len());
        for (c, run) in self.cpus.iter_mut().enumerate() {
            run.settle(now);
            let busy = run.busy.iter().fold(Dur::ZERO, |a, b| a + *b);
            load.push((busy - self.balance.last_busy[c]).as_ps() as f64 / interval.as_ps() as f64);
            self.balance.last_busy[c] = busy;
        }
        self.balance.last_count.resize(self.irqs.len(), 0);
        let rates: Vec<u64> = self.irqs.iter().enumerate().map(|(i, d)| d.count - self.balance.last_count[i]).collect();
        for (i, d) in self.irqs.iter().enumerate() {
            self.balance.last_count[i] = d.count;
        }
        let allowed = &self.balance.allowed;
        let by_load = |a: &&CpuId, b: &&CpuId| load[a.idx()].total_cmp(&load[b.idx()]).then(a.0.cmp(&b.0));
        let (Some(&hot), Some(&cold)) = (allowed.iter().max_by(by_load), allowed.iter().min_by(by_load)) else {
            return;
        };
        if load[hot.idx()] - load[cold.idx()] <= self.balance.threshold {
            return;
        }
        // The busiest IRQ on the hot CPU that moves at all (and is not
        // still leaving its previous CPU).
        for i in 0..self.irqs.len() {
            self.free_old_vector(IrqId(i as u32), cx);
        }
        // An IRQ whose vector is requested or in service is left alone: an
        // IO-APIC level line's EOI must match the vector it was sent with
        // (Linux moves such IRQs only from their ack path).
        let busy: Vec<bool> =
            self.irqs.iter().map(|d| cx.platform.lapic_holds(self.cores[d.cpu.idx()], d.vector)).collect();
        let candidate = (0..self.irqs.len())
            .filter(|i| {
                let d = &self.irqs[*i];
                d.cpu == hot && rates[*i] > 0 && !d.spurious_disabled && d.moving_from.is_none() && !busy[*i]
            })
            .max_by_key(|i| (rates[*i], std::cmp::Reverse(*i)));
        if let Some(i) = candidate {
            self.set_irq_affinity(IrqId(i as u32), cold, cx);
        }
    }

    /// `irq_set_affinity()`: move an IRQ to `cpu`.
    pub(super) fn set_irq_affinity(&mut self, irq: IrqId, cpu: CpuId, cx: &mut Cx) {
        let Some(vector) = self.vectors[cpu.idx()].allocate(irq) else {
            self.balance.failed_moves += 1;
            return;
        };
        self.balance.moves += 1;
        let desc = &mut self.irqs[irq.idx()];
        desc.moving_from = Some((desc.cpu, desc.vector));
        desc.fired_since_move = false;
        desc.cpu = cpu;
        desc.vector = vector;
        for a in &desc.actions {
            if let IrqAction::NicQueue(_, q) = a {
                self.adapter.affinity[q.idx()] = cpu;
            }
        }
        // With interrupt remapping only the IRTE changes (atomically): the
        // device's entry is not rewritten, so not masked.
        let chips = &self.irqs[irq.idx()].chips;
        let mask = !chips.iter().any(|c| c.remaps()) && chips.first().is_some_and(|c| c.mask_to_rewrite());
        if mask {
            self.chip_mask(irq, cx);
        }
        self.write_route(irq, cx);
        if mask {
            let at = cx.sim.now() + cx.sim.costs.mmio_write.times(REPROGRAM_WRITES);
            self.at(cx, at, KernelEvent::IrqMoveDone { irq });
        }
    }

    /// The rewrite has landed: unmask (a pending message goes out now).
    pub(super) fn irq_move_done(&mut self, irq: IrqId, cx: &mut Cx) {
        if !self.irqs[irq.idx()].spurious_disabled {
            self.chip_unmask(irq, cx);
        }
    }

    /// Frees the vector an IRQ moved away from (`irq_complete_move` and the
    /// vector cleanup): once the IRQ has fired on its new vector — so no
    /// message with the old one is still on its way — and its old CPU holds
    /// nothing of the old vector (neither requested, in service, nor a
    /// handler running for it).
    pub(super) fn free_old_vector(&mut self, irq: IrqId, cx: &mut Cx) {
        let desc = &self.irqs[irq.idx()];
        let Some((cpu, vector)) = desc.moving_from else { return };
        let running = self.cpus[cpu.idx()].stack.iter().any(|f| f.work == Work::HardIrq { vector });
        if !desc.fired_since_move || running || cx.platform.lapic_holds(self.core(cpu), vector) {
            return;
        }
        self.vectors[cpu.idx()].free(vector);
        self.irqs[irq.idx()].moving_from = None;
    }
}
