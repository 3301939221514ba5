//! Which stores and loads a memory model keeps in program order, as seen by a
//! DMA-capable device: the one set of ordering rules the checker
//! ([`super::check`]) and the store buffer ([`super::store_buffer`]) share.
//!
//! A core's stores sit in its store buffer and become *visible* (a DMA read of
//! the location returns the new value; an MMIO store has left the core towards
//! the device) some time after they issue. A memory model says which pairs of
//! stores must become visible in program order:
//!
//! * [`MemoryModel::Tso`] (x86, Intel SDM Vol. 3 §8.2.2): write-back stores
//!   stay in program order, and an uncached (`uc`) MMIO store is ordered after
//!   all earlier stores — so `writel()` to a UC register needs no barrier. A
//!   write-combining (`wc`) store may sit in a WC buffer and become visible
//!   before earlier write-back stores (WC is weakly ordered, SDM §11.3): it
//!   needs `sfence`, which is Linux's x86-64 `wmb()`. `dma_wmb()` on x86 is
//!   only a compiler barrier (`__dma_wmb() barrier()` in
//!   `arch/x86/include/asm/barrier.h`) and orders nothing here.
//! * [`MemoryModel::Weak`] (ARMv8-like): stores to different locations may
//!   become visible in any order unless a barrier separates them. arm64's
//!   `wmb()` is `dsb st` and `dma_wmb()` is `dmb oshst`
//!   (`arch/arm64/include/asm/barrier.h`); both order every earlier store
//!   before every later one for observers in the outer-shareable domain, which
//!   includes a cache-coherent DMA device — arm64's own `writel()` is
//!   `dma_wmb()` followed by the relaxed store (`__iowmb()` in
//!   `arch/arm64/include/asm/io.h`). Device-memory (`uc`) stores to one
//!   peripheral keep their order (the nR attribute).
//!
//! In every model two stores to the *same* location become visible in
//! program order (coherence), so successive doorbell writes never overtake
//! each other.
//!
//! The doorbell in this model is a *relaxed* MMIO store (`writel_relaxed()`,
//! `__raw_writel()`): the barrier argument is the only ordering the driver
//! asks for. Linux's portable `writel()` adds its own barrier before the
//! store (Documentation/memory-barriers.txt, "KERNEL I/O BARRIER EFFECTS":
//! a writeX() waits for prior writes to memory), which on arm64 is exactly
//! `dma_wmb()` — so `writel()` behaves like `Barrier::DmaWmb` + relaxed store
//! here. memory-barriers.txt also warns that the `dma_*()` barriers give no
//! ordering for MMIO in general; the weak model's safe verdict for
//! `dma_wmb` + doorbell therefore rests on the arm64 mapping above, not on
//! Linux's portable contract.
//!
//! Loads (receive side): x86 does not reorder loads with other loads, so
//! `dma_rmb()` is again only a compiler barrier there; on the weak model two
//! loads may be performed out of order unless `dma_rmb()` (`dmb oshld`)
//! separates them (memory-barriers.txt, the `desc->status != DEVICE_OWN`
//! example under "dma_wmb(); dma_rmb();").
//!
//! Left out: loads overtaking stores (store-to-load forwarding, x86's one
//! relaxation), multi-copy atomicity questions between several cores,
//! non-temporal stores, and non-coherent DMA (cache maintenance).

use serde::{Deserialize, Serialize};
use std::fmt;

/// A CPU memory model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemoryModel {
    /// Total store order (x86).
    Tso,
    /// A weak model in which stores to different locations may become visible
    /// in any order unless a barrier separates them (ARMv8-like).
    Weak,
}

/// The write barrier the driver puts between its descriptor stores and the
/// doorbell store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Barrier {
    /// No barrier.
    None,
    /// `wmb()`: x86-64 `sfence`, arm64 `dsb st`.
    Wmb,
    /// `dma_wmb()`: a compiler barrier on x86, `dmb oshst` on arm64.
    DmaWmb,
}

/// The memory type of the doorbell's MMIO mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MmioType {
    /// Uncached (`ioremap()`; x86 UC, arm64 Device-nGnRE).
    Uc,
    /// Write-combining (`ioremap_wc()`; x86 WC, arm64 Normal non-cacheable).
    Wc,
}

/// The read barrier the driver puts between reading a descriptor's done bit
/// and reading the rest of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RxBarrier {
    /// No barrier.
    None,
    /// `dma_rmb()`: a compiler barrier on x86, `dmb oshld` on arm64.
    DmaRmb,
}

/// What a store writes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// Ordinary write-back memory (the descriptor ring).
    Wb,
    /// An MMIO register mapped with the given memory type (the doorbell).
    Mmio(MmioType),
}

impl MemoryModel {
    /// Whether a store to `earlier` must become visible before a later store
    /// (in program order, to a different location) to `later`, when `fence`
    /// is the strongest barrier between them. Same-location stores are always
    /// ordered (coherence); callers handle that case.
    pub fn keeps_store_order(self, earlier: Target, later: Target, fence: Barrier) -> bool {
        use MmioType::{Uc, Wc};
        use Target::{Mmio, Wb};
        match self {
            MemoryModel::Tso => {
                // sfence orders all earlier stores before all later ones.
                if fence == Barrier::Wmb {
                    return true;
                }
                match (earlier, later) {
                    (Wb, Wb) | (Wb, Mmio(Uc)) => true,
                    // A WC store may become visible before earlier WB stores.
                    (Wb, Mmio(Wc)) => false,
                    // UC accesses are strongly ordered with everything.
                    (Mmio(Uc), _) => true,
                    // A WC store may linger in a WC buffer past later stores.
                    (Mmio(Wc), _) => false,
                }
            }
            MemoryModel::Weak => {
                if fence != Barrier::None {
                    return true;
                }
                // Device-nGnRE accesses to one peripheral keep their order.
                matches!((earlier, later), (Mmio(Uc), Mmio(Uc)))
            }
        }
    }

    /// Whether a load stays ordered before a later load (to a different
    /// location) when `fence` is the barrier between them.
    pub fn keeps_load_order(self, fence: RxBarrier) -> bool {
        match self {
            MemoryModel::Tso => true,
            MemoryModel::Weak => fence == RxBarrier::DmaRmb,
        }
    }

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            MemoryModel::Tso => "tso",
            MemoryModel::Weak => "weak",
        }
    }
}

impl Barrier {
    /// How strongly the barrier orders stores, for picking the strongest of
    /// several: none < `dma_wmb` < `wmb`.
    pub fn strength(self) -> u8 {
        match self {
            Barrier::None => 0,
            Barrier::DmaWmb => 1,
            Barrier::Wmb => 2,
        }
    }

    /// The Linux name of the barrier.
    pub fn name(self) -> &'static str {
        match self {
            Barrier::None => "none",
            Barrier::Wmb => "wmb",
            Barrier::DmaWmb => "dma_wmb",
        }
    }

    /// What the barrier compiles to under `model`.
    pub fn instruction(self, model: MemoryModel) -> &'static str {
        match (model, self) {
            (_, Barrier::None) => "nothing",
            (MemoryModel::Tso, Barrier::Wmb) => "sfence",
            (MemoryModel::Tso, Barrier::DmaWmb) => "a compiler barrier only",
            (MemoryModel::Weak, Barrier::Wmb) => "dsb st",
            (MemoryModel::Weak, Barrier::DmaWmb) => "dmb oshst",
        }
    }
}

impl RxBarrier {
    /// The Linux name of the barrier.
    pub fn name(self) -> &'static str {
        match self {
            RxBarrier::None => "none",
            RxBarrier::DmaRmb => "dma_rmb",
        }
    }

    /// What the barrier compiles to under `model`.
    pub fn instruction(self, model: MemoryModel) -> &'static str {
        match (model, self) {
            (_, RxBarrier::None) => "nothing",
            (MemoryModel::Tso, RxBarrier::DmaRmb) => "a compiler barrier only",
            (MemoryModel::Weak, RxBarrier::DmaRmb) => "dmb oshld",
        }
    }
}

impl MmioType {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            MmioType::Uc => "uc",
            MmioType::Wc => "wc",
        }
    }
}

impl fmt::Display for MemoryModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for RxBarrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for MmioType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One step of a driver's store program: a store, or a barrier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// A store to `location` (an opaque id; equal ids are the same location).
    Store {
        /// What the store writes to.
        target: Target,
        /// Which location it writes.
        location: u32,
    },
    /// A write barrier.
    Fence(Barrier),
}

/// Most stores [`store_constraints`] accepts (one bit each in a `u64`).
pub const MAX_STORES: usize = 64;

/// For each store of `program` (numbered in program order, barriers not
/// counted), the set of earlier stores that must be visible before it, as a
/// bit mask over store numbers. Returns `None` for more than [`MAX_STORES`]
/// stores.
pub fn store_constraints(model: MemoryModel, program: &[Op]) -> Option<Vec<u64>> {
    // (target, location, strongest barrier seen since program start) per store;
    // the barrier between stores i < j is the strongest among those issued after i.
    let mut stores: Vec<(Target, u32, usize)> = Vec::new();
    let mut fences: Vec<Barrier> = Vec::new();
    for op in program {
        match *op {
            Op::Store { target, location } => stores.push((target, location, fences.len())),
            Op::Fence(b) => fences.push(b),
        }
    }
    if stores.len() > MAX_STORES {
        return None;
    }
    let strongest =
        |from: usize, to: usize| fences[from..to].iter().copied().max_by_key(|b| b.strength()).unwrap_or(Barrier::None);
    let preds = (0..stores.len())
        .map(|j| {
            let (tj, lj, fj) = stores[j];
            (0..j).fold(0u64, |mask, i| {
                let (ti, li, fi) = stores[i];
                let ordered = li == lj || model.keeps_store_order(ti, tj, strongest(fi, fj));
                if ordered { mask | (1 << i) } else { mask }
            })
        })
        .collect();
    Some(preds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use MmioType::{Uc, Wc};
    use Target::{Mmio, Wb};

    #[test]
    fn tso_orders_wb_stores_and_uc_doorbells_but_not_wc_without_sfence() {
        let m = MemoryModel::Tso;
        assert!(m.keeps_store_order(Wb, Wb, Barrier::None));
        assert!(m.keeps_store_order(Wb, Mmio(Uc), Barrier::None));
        assert!(!m.keeps_store_order(Wb, Mmio(Wc), Barrier::None));
        // x86 dma_wmb() is barrier(): no instruction, no ordering.
        assert!(!m.keeps_store_order(Wb, Mmio(Wc), Barrier::DmaWmb));
        assert!(m.keeps_store_order(Wb, Mmio(Wc), Barrier::Wmb));
    }

    #[test]
    fn weak_orders_nothing_across_locations_without_a_barrier() {
        let m = MemoryModel::Weak;
        for (a, b) in [(Wb, Wb), (Wb, Mmio(Uc)), (Wb, Mmio(Wc)), (Mmio(Wc), Wb)] {
            assert!(!m.keeps_store_order(a, b, Barrier::None), "{a:?} -> {b:?}");
            assert!(m.keeps_store_order(a, b, Barrier::Wmb));
            assert!(m.keeps_store_order(a, b, Barrier::DmaWmb));
        }
        // Device-memory stores to one peripheral stay in order.
        assert!(m.keeps_store_order(Mmio(Uc), Mmio(Uc), Barrier::None));
    }

    #[test]
    fn loads_reorder_only_on_the_weak_model_without_dma_rmb() {
        assert!(MemoryModel::Tso.keeps_load_order(RxBarrier::None));
        assert!(!MemoryModel::Weak.keeps_load_order(RxBarrier::None));
        assert!(MemoryModel::Weak.keeps_load_order(RxBarrier::DmaRmb));
    }

    #[test]
    fn constraints_use_the_barrier_between_the_two_stores_only() {
        // a; b; wmb; c; d  (all WB, distinct locations), weak model.
        let st = |l| Op::Store { target: Wb, location: l };
        let p = [st(0), st(1), Op::Fence(Barrier::Wmb), st(2), st(3)];
        let c = store_constraints(MemoryModel::Weak, &p).unwrap();
        assert_eq!(c, vec![0, 0, 0b11, 0b11]);
        // Same location: ordered by coherence even on the weak model.
        let c = store_constraints(MemoryModel::Weak, &[st(7), st(7)]).unwrap();
        assert_eq!(c, vec![0, 1]);
        // TSO: WB stores in program order.
        let c = store_constraints(MemoryModel::Tso, &[st(0), st(1), st(2)]).unwrap();
        assert_eq!(c, vec![0, 0b1, 0b11]);
    }

    #[test]
    fn too_many_stores_are_refused_not_truncated() {
        let p: Vec<Op> = (0..65).map(|l| Op::Store { target: Wb, location: l }).collect();
        assert!(store_constraints(MemoryModel::Tso, &p).is_none());
    }
}
