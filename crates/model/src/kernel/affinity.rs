//! IRQ affinity: the initial placement policies and an irqbalance-like
//! rebalancer (specs.md §8.2; Documentation/core-api/irq/irq-affinity.rst).
//!
//! * Policies: an explicit list (`nic.affinity`, like writing
//!   `smp_affinity_list`), `spread` (round robin over the allowed cores),
//!   `single` (all on the first allowed core) and `numa_local` (round robin
//!   over the allowed cores on the NIC's node).
//! * Moving an IRQ reprograms it the way the kernel does for MSI-X: mask the
//!   entry, allocate a vector on the new core, rewrite address/data, and
//!   unmask once the writes have landed. A queue interrupt raised in that
//!   window sets the entry's Pending bit and is sent on unmask (PBA). The
//!   IO-APIC's redirection entry is moved the same way; an MSI's single
//!   message is simply rewritten.
//! * The rebalancer wakes every `kernel.irqbalance_interval_ms`, measures
//!   each allowed core's busy fraction and each IRQ's rate over the
//!   interval, and moves the busiest IRQ of the most loaded core to the
//!   least loaded one when the two differ by more than the threshold.
//!   (Real irqbalance works on a 10 s interval with a richer cost model;
//!   the rule here is its core idea.) Old vectors are not freed.

use crate::config::{AffinityPolicy, InterruptMode, Scenario};
use crate::ids::{CoreId, IrqId};
use crate::kernel::genirq::{Chip, IrqAction};
use crate::machine::{Event, Machine};
use crate::platform::topology::Topology;
use irqlab_engine::{Dur, Time};
use irqlab_hw::ioapic::{Polarity, RedirectionEntry};
use irqlab_hw::msi::{DeliveryMode, MsiMessage, Trigger};
use irqlab_hw::msix::MsixEntry;

/// Posted MMIO writes between masking an entry and unmasking it: the MSI-X
/// entry's address low, address high and data (or the RTE's two halves and
/// the IO-APIC's index register).
pub const REPROGRAM_WRITES: u64 = 3;

/// The cores a scenario allows interrupts on (`nic.irq_cores`, or all).
pub fn allowed_cores(s: &Scenario) -> Vec<CoreId> {
    if s.nic.irq_cores.is_empty() {
        (0..s.machine.cores).map(CoreId).collect()
    } else {
        s.nic.irq_cores.iter().map(|c| CoreId(*c)).collect()
    }
}

/// The core of each NIC interrupt vector at probe (one per queue for MSI-X,
/// one in all for MSI and INTx).
pub fn initial_affinity(s: &Scenario, topo: &Topology) -> Vec<CoreId> {
    if let Some(list) = &s.nic.affinity {
        return list.iter().map(|c| CoreId(*c)).collect();
    }
    let vectors = if s.nic.interrupt_mode == InterruptMode::Msix { s.nic.queues } else { 1 };
    let mut pool = allowed_cores(s);
    match s.nic.affinity_policy {
        AffinityPolicy::Spread => {}
        AffinityPolicy::Single => pool.truncate(1),
        AffinityPolicy::NumaLocal => pool.retain(|c| topo.socket_of(*c) == s.nic.numa_node),
    }
    // Validation guarantees a non-empty pool; fall back to core 0 regardless.
    if pool.is_empty() {
        pool.push(CoreId(0));
    }
    (0..vectors as usize).map(|i| pool[i % pool.len()]).collect()
}

/// The rebalancer's state.
#[derive(Debug)]
pub struct Balancer {
    /// Interval (zero: off).
    pub interval: Dur,
    /// Load difference that triggers a move.
    pub threshold: f64,
    /// Cores IRQs may be moved to.
    pub allowed: Vec<CoreId>,
    /// Busy time per core at the previous pass.
    pub last_busy: Vec<Dur>,
    /// Flow-handler count per IRQ at the previous pass.
    pub last_count: Vec<u64>,
    /// IRQ moves made (by the rebalancer).
    pub moves: u64,
    /// Moves abandoned because the target core had no free vector.
    pub failed_moves: u64,
}

impl Balancer {
    /// The rebalancer for a scenario.
    pub fn new(s: &Scenario, cores: usize) -> Balancer {
        Balancer {
            interval: Dur::from_ns_f64(s.kernel.irqbalance_interval_ms * 1e6),
            threshold: s.kernel.irqbalance_threshold,
            allowed: allowed_cores(s),
            last_busy: vec![Dur::ZERO; cores],
            last_count: Vec::new(),
            moves: 0,
            failed_moves: 0,
        }
    }
}

impl Machine {
    /// Arms the rebalancer's first pass.
    pub(crate) fn start_irqbalance(&mut self) {
        if self.balance.interval > Dur::ZERO {
            self.events.schedule(Time::ZERO + self.balance.interval, Event::IrqBalance);
        }
    }

    /// One rebalancer pass.
    pub(crate) fn irqbalance(&mut self, now: Time) {
        let interval = self.balance.interval;
        self.events.schedule(now + interval, Event::IrqBalance);
        let mut load = Vec::with_capacity(self.cpus.len());
        for (c, cpu) in self.cpus.iter_mut().enumerate() {
            cpu.settle(now);
            let busy = cpu.busy.iter().fold(Dur::ZERO, |a, b| a + *b);
            load.push((busy - self.balance.last_busy[c]).as_ps() as f64 / interval.as_ps() as f64);
            self.balance.last_busy[c] = busy;
        }
        self.balance.last_count.resize(self.irqs.len(), 0);
        let rates: Vec<u64> = self.irqs.iter().enumerate().map(|(i, d)| d.count - self.balance.last_count[i]).collect();
        for (i, d) in self.irqs.iter().enumerate() {
            self.balance.last_count[i] = d.count;
        }
        let allowed = &self.balance.allowed;
        let by_load = |a: &&CoreId, b: &&CoreId| load[a.idx()].total_cmp(&load[b.idx()]).then(a.0.cmp(&b.0));
        let (Some(&hot), Some(&cold)) = (allowed.iter().max_by(by_load), allowed.iter().min_by(by_load)) else {
            return;
        };
        if load[hot.idx()] - load[cold.idx()] <= self.balance.threshold {
            return;
        }
        // The busiest IRQ on the hot core that moves at all (not shared with other devices' pins).
        let candidate = (0..self.irqs.len())
            .filter(|i| self.irqs[*i].core == hot && rates[*i] > 0 && !self.irqs[*i].spurious_disabled)
            .max_by_key(|i| (rates[*i], std::cmp::Reverse(*i)));
        if let Some(i) = candidate {
            self.set_irq_affinity(IrqId(i as u32), cold, now);
        }
    }

    /// `irq_set_affinity()`: move an IRQ to `core`.
    pub(crate) fn set_irq_affinity(&mut self, irq: IrqId, core: CoreId, now: Time) {
        let Some(vector) = self.vectors[core.idx()].allocate(irq) else {
            self.balance.failed_moves += 1;
            return;
        };
        self.balance.moves += 1;
        let apic = self.topo.apic_id(core) as u8;
        let chip = self.irqs[irq.idx()].chip;
        self.irqs[irq.idx()].core = core;
        self.irqs[irq.idx()].vector = vector;
        for a in self.irqs[irq.idx()].actions.clone() {
            if let IrqAction::NicQueue(q) = a {
                self.affinity[q.idx()] = core;
            }
        }
        match chip {
            Chip::Msix { entry } => {
                // Mask, rewrite address/data, unmask when the writes have landed.
                self.chip_mask(irq);
                let msg = MsiMessage::compose(apic, vector, DeliveryMode::Fixed, Trigger::Edge);
                let _ = self.nic.msix.write_entry(entry, MsixEntry::new(msg, true));
                self.events.schedule(now + self.costs.mmio_write.times(REPROGRAM_WRITES), Event::IrqMoveDone { irq });
            }
            Chip::Msi => {
                self.nic.msi_message = Some(MsiMessage::compose(apic, vector, DeliveryMode::Fixed, Trigger::Edge));
            }
            Chip::IoapicEdge { pin } | Chip::IoapicLevel { pin } => {
                self.chip_mask(irq);
                let trigger = if matches!(chip, Chip::IoapicLevel { .. }) { Trigger::Level } else { Trigger::Edge };
                let mut rte = RedirectionEntry::fixed(vector, apic, trigger, Polarity::ActiveLow);
                rte.masked = true;
                let _ = self.ioapic.write_rte(pin, rte);
                self.events.schedule(now + self.costs.mmio_write.times(REPROGRAM_WRITES), Event::IrqMoveDone { irq });
            }
        }
    }

    /// The rewrite has landed: unmask (a pending message goes out now).
    pub(crate) fn irq_move_done(&mut self, irq: IrqId, now: Time) {
        if !self.irqs[irq.idx()].spurious_disabled {
            self.chip_unmask(irq, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topo(s: &Scenario) -> Topology {
        Topology::new(s.machine.cores, s.machine.sockets)
    }

    #[test]
    fn policies_place_queue_vectors() {
        let mut s = Scenario::default();
        s.machine.cores = 8;
        s.machine.sockets = 2;
        s.nic.queues = 6;
        let ids = |v: Vec<CoreId>| v.into_iter().map(|c| c.0).collect::<Vec<_>>();
        assert_eq!(ids(initial_affinity(&s, &topo(&s))), vec![0, 1, 2, 3, 4, 5]);
        s.nic.affinity_policy = AffinityPolicy::Single;
        assert_eq!(ids(initial_affinity(&s, &topo(&s))), vec![0; 6]);
        s.nic.affinity_policy = AffinityPolicy::NumaLocal;
        s.nic.numa_node = 1;
        assert_eq!(ids(initial_affinity(&s, &topo(&s))), vec![4, 5, 6, 7, 4, 5]);
        s.nic.irq_cores = vec![1, 6];
        assert_eq!(ids(initial_affinity(&s, &topo(&s))), vec![6; 6]);
        s.nic.affinity = Some(vec![3, 3, 2, 2, 1, 1]);
        assert_eq!(ids(initial_affinity(&s, &topo(&s))), vec![3, 3, 2, 2, 1, 1]);
    }
}
