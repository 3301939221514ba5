//! One CPU's store buffer, as seen by a DMA-capable device: when each store
//! of a driver becomes visible, under the ordering rules of [`super::ordering`].
//!
//! Every store issues at a CPU time and becomes visible after a drain delay
//! drawn from the CPU's own RNG stream ([`STORE_BUFFER_STREAM`] + CPU):
//! [`super::MemoryCostModel`]'s `store_drain_min_ns`, plus — for the
//! `store_rfo_fraction` of stores that must fetch their line — an
//! exponential wait of mean `store_rfo_mean_ns`. The ordering rules then
//! push visibilities later, never earlier: on `tso` write-back stores drain
//! in program order (a slow store holds back every younger one); a doorbell
//! the model orders after the descriptor stores (`tso` + `uc`, or any
//! `wmb`/`dma_wmb` the model honours) becomes visible no earlier than the
//! last of them; successive doorbells stay in order; later write-back stores
//! wait for a doorbell the model orders before them.
//!
//! Barrier costs: x86 `sfence` costs `sfence_ns`; arm64 `dsb st` stalls the
//! core until every earlier store is visible and then costs `dsb_st_ns` (the
//! stall is counted); `dmb oshst` costs `dmb_oshst_ns` and only orders.
//!
//! Left out: cache-line state (drain delays are drawn independently) and a
//! bounded store buffer.

use super::MemoryCosts;
use super::ordering::{Barrier, MemoryModel, MmioType, Target};
use irqlab_engine::{Dur, Time};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// RNG stream namespace of per-CPU store buffers ("MEM\0" in the high
/// bytes): CPU `c` draws its drain delays from `STORE_BUFFER_STREAM + c`.
pub const STORE_BUFFER_STREAM: u64 = 0x4D45_4D00_0000_0000;

/// Ordering rules, resolved once from the model, the doorbell's memory type
/// and the driver's barrier.
#[derive(Clone, Copy, Debug)]
struct Rules {
    /// Write-back stores become visible in program order.
    wb_in_order: bool,
    /// The doorbell is ordered after the earlier descriptor stores.
    doorbell_after_stores: bool,
    /// Later write-back stores are ordered after the doorbell.
    stores_after_doorbell: bool,
}

/// One CPU's store buffer.
pub struct StoreBuffer {
    rng: ChaCha8Rng,
    model: MemoryModel,
    barrier: Barrier,
    rules: Rules,
    costs: MemoryCosts,
    /// Visibility of the youngest write-back store (TSO drains in order).
    last_wb_visible: Time,
    /// Latest visibility of any store issued so far.
    max_visible: Time,
    /// Visibility of the latest doorbell store.
    last_doorbell_visible: Time,
    /// Time the CPU spent stalled in `dsb st`.
    pub barrier_stall: Dur,
}

impl StoreBuffer {
    /// The store buffer of a CPU of `model` whose driver puts `barrier`
    /// before a doorbell mapped `mmio`, drawing from `rng`.
    pub fn new(model: MemoryModel, barrier: Barrier, mmio: MmioType, costs: MemoryCosts, rng: ChaCha8Rng) -> Self {
        let doorbell = Target::Mmio(mmio);
        StoreBuffer {
            rng,
            model,
            barrier,
            rules: Rules {
                wb_in_order: model.keeps_store_order(Target::Wb, Target::Wb, Barrier::None),
                doorbell_after_stores: model.keeps_store_order(Target::Wb, doorbell, barrier),
                stores_after_doorbell: model.keeps_store_order(doorbell, Target::Wb, Barrier::None),
            },
            costs,
            last_wb_visible: Time::ZERO,
            max_visible: Time::ZERO,
            last_doorbell_visible: Time::ZERO,
            barrier_stall: Dur::ZERO,
        }
    }

    /// A store's drain delay: the minimum, plus an exponential RFO wait for
    /// the fraction of stores that need one. One uniform draw per store.
    fn drain_delay(&mut self) -> Dur {
        let u: f64 = self.rng.random();
        let frac = self.costs.store_rfo_fraction;
        let extra_ps = if u < frac {
            // u / frac is again uniform on [0, 1).
            -(1.0 - u / frac).ln() * self.costs.store_rfo_mean_ps
        } else {
            0.0
        };
        self.costs.store_drain_min + Dur(extra_ps.round() as u64)
    }

    /// A write-back store issued at `t` to a word whose previous store
    /// became visible at `previous`: when it becomes visible.
    pub fn store_wb(&mut self, t: Time, previous: Time) -> Time {
        let mut vis = t + self.drain_delay();
        if self.rules.wb_in_order {
            vis = vis.max(self.last_wb_visible);
        }
        // Coherence: no earlier than the previous store to the same word.
        vis = vis.max(previous);
        self.last_wb_visible = self.last_wb_visible.max(vis);
        self.max_visible = self.max_visible.max(vis);
        vis
    }

    /// The barrier before the doorbell, reached at `t`: returns when the
    /// doorbell can issue (its CPU time, and for `dsb st` the stall until
    /// every earlier store is visible).
    pub fn barrier(&mut self, t: Time) -> Time {
        match (self.model, self.barrier) {
            (_, Barrier::None) | (MemoryModel::Tso, Barrier::DmaWmb) => t,
            (MemoryModel::Tso, Barrier::Wmb) => t + self.costs.sfence,
            (MemoryModel::Weak, Barrier::Wmb) => {
                let ready = t.max(self.max_visible);
                self.barrier_stall += ready.since(t);
                ready + self.costs.dsb_st
            }
            (MemoryModel::Weak, Barrier::DmaWmb) => t + self.costs.dmb_oshst,
        }
    }

    /// The doorbell's MMIO store, issued at `t`: when it leaves the CPU.
    pub fn doorbell(&mut self, t: Time) -> Time {
        let mut vis = t + self.costs.mmio_write_issue;
        if self.rules.doorbell_after_stores {
            vis = vis.max(self.max_visible);
        }
        vis = vis.max(self.last_doorbell_visible);
        self.last_doorbell_visible = vis;
        self.max_visible = self.max_visible.max(vis);
        if self.rules.stores_after_doorbell {
            self.last_wb_visible = self.last_wb_visible.max(vis);
        }
        vis
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use irqlab_engine::RngStreams;

    fn buffer(model: MemoryModel, barrier: Barrier, mmio: MmioType) -> StoreBuffer {
        let costs = super::super::MemoryCostModel { store_rfo_fraction: 1.0, ..Default::default() }.resolve();
        StoreBuffer::new(model, barrier, mmio, costs, RngStreams::new(1).stream(STORE_BUFFER_STREAM))
    }

    #[test]
    fn tso_drains_write_back_stores_in_program_order() {
        let mut b = buffer(MemoryModel::Tso, Barrier::None, MmioType::Uc);
        let mut last = Time::ZERO;
        for i in 0..1000 {
            let v = b.store_wb(Time(i * 1000), Time::ZERO);
            assert!(v >= last);
            last = v;
        }
    }

    #[test]
    fn an_ordered_doorbell_waits_for_every_earlier_store_and_an_unordered_one_may_not() {
        let mut ordered = buffer(MemoryModel::Weak, Barrier::DmaWmb, MmioType::Uc);
        let mut unordered = buffer(MemoryModel::Weak, Barrier::None, MmioType::Uc);
        let mut overtakes = 0;
        for i in 0..1000u64 {
            let t = Time(i * 1_000_000);
            let s1 = ordered.store_wb(t, Time::ZERO);
            let d1 = ordered.doorbell(t);
            assert!(d1 >= s1);
            let s2 = unordered.store_wb(t, Time::ZERO);
            overtakes += (unordered.doorbell(t) < s2) as u32;
        }
        assert!(overtakes > 100, "{overtakes}");
    }

    #[test]
    fn dsb_st_stalls_until_the_stores_are_visible() {
        let mut b = buffer(MemoryModel::Weak, Barrier::Wmb, MmioType::Uc);
        let v = b.store_wb(Time::ZERO, Time::ZERO);
        let ready = b.barrier(Time::ZERO);
        assert!(ready >= v);
        assert_eq!(b.barrier_stall, v.since(Time::ZERO));
    }
}
