//! IRQ affinity: the initial placement policies and an irqbalance-like
//! rebalancer (docs/sources.md §8.2; Documentation/core-api/irq/irq-affinity.rst).
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
//!   the rule here is its core idea.)
//!
//! This file holds the policies and the rebalancer's state; the pass and
//! the move itself are in balance.rs.

use crate::config::{AffinityPolicy, InterruptMode, Scenario};
use crate::ids::{CoreId, CpuId};
use crate::platform::topology::Topology;
use irqlab_engine::Dur;

/// Posted MMIO writes between masking an entry and unmasking it: the MSI-X
/// entry's address low, address high and data (or the RTE's two halves and
/// the IO-APIC's index register).
pub const REPROGRAM_WRITES: u64 = 3;

/// The cores a scenario allows interrupts on (`nic.irq_cores`, or all).
pub fn allowed_cores(s: &Scenario) -> Vec<CpuId> {
    if s.nic.irq_cores.is_empty() {
        (0..s.machine.cores).map(CpuId).collect()
    } else {
        s.nic.irq_cores.iter().map(|c| CpuId(*c)).collect()
    }
}

/// The CPU of each NIC interrupt vector at probe: one per queue for MSI-X,
/// one in all for MSI and INTx (the host kernel's CPU i is core i).
pub fn initial_affinity(s: &Scenario, topo: &Topology) -> Vec<CpuId> {
    if let Some(list) = &s.nic.affinity {
        return list.iter().map(|c| CpuId(*c)).collect();
    }
    let vectors = if s.nic.interrupt_mode == InterruptMode::Msix { s.nic.queues } else { 1 };
    let mut pool = allowed_cores(s);
    match s.nic.affinity_policy {
        AffinityPolicy::Spread => {}
        AffinityPolicy::Single => pool.truncate(1),
        AffinityPolicy::NumaLocal => pool.retain(|c| topo.socket_of(CoreId(c.0)) == s.nic.numa_node),
    }
    // Validation guarantees a non-empty pool; fall back to core 0 regardless.
    if pool.is_empty() {
        pool.push(CpuId(0));
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
    pub allowed: Vec<CpuId>,
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
        let ids = |v: Vec<CpuId>| v.into_iter().map(|c| c.0).collect::<Vec<_>>();
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
