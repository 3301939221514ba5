//! The device contract between a driver and a DMA-capable NIC: memory
//! ordering, descriptors and doorbells (docs/memory-model.md).
//!
//! A driver hands work to a NIC by writing descriptors into a ring in
//! ordinary write-back (WB) memory and then writing a tail *doorbell* register
//! through an MMIO mapping (uncached `uc` or write-combining `wc`). Whether the
//! NIC, when it DMA-reads the ring after the doorbell, sees every descriptor
//! store depends on the CPU's memory model and on the barrier the driver puts
//! between the two kinds of store. This module models exactly that:
//!
//! * [`ordering`] — which stores (and loads) a memory model keeps in program
//!   order: `tso` (x86) and `weak` (ARMv8-like), barriers `wmb` / `dma_wmb` /
//!   `dma_rmb`, MMIO types `uc` / `wc`. The one source of ordering rules for
//!   both the checker and the simulation.
//! * [`store_buffer`] — one CPU's store buffer: when each of a driver's
//!   stores becomes visible to a device, under those rules, with drain delays
//!   drawn from the CPU's own RNG stream. The kernel's TX driver
//!   (kernel/xmit.rs) writes descriptors and rings the doorbell through it;
//!   the NIC reads the descriptors by DMA (devices/nic/tx.rs) and sees what
//!   was visible then.
//!
//! The TX descriptor format is hw's `txdesc`.
//!
//! Costs used here live in [`MemoryCostModel`], each field citing its row in
//! docs/costs.md (docs/architecture.md).
//!
//! Left out: caches and cache-line state (a store's drain delay is drawn, not
//! derived from coherence traffic), more than one core per ring, the device's
//! own write ordering beyond PCIe's posted-write rule, and IOMMU translation.

pub mod check;
pub mod ordering;
pub mod store_buffer;

pub use check::{CheckError, MAX_DESCRIPTORS, Verdict, check_doorbell, check_rx_status};
pub use ordering::{Barrier, MemoryModel, MmioType, RxBarrier, Target};

use irqlab_engine::Dur;
use serde::{Deserialize, Serialize};

/// Costs of the memory-ordering model, as written in a cost file (nanoseconds
/// and fractions). Rows that docs/costs.md marks "estimate" are *estimate* here.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MemoryCostModel {
    /// Shortest time from a store's issue until it leaves the store buffer and
    /// is visible to other observers (a DMA read) when its cache line is
    /// already owned. *estimate*: no docs/costs.md row; a few cycles.
    pub store_drain_min_ns: f64,
    /// Fraction of descriptor stores that must first fetch their cache line
    /// for ownership (RFO), because the device read the line or wrote a
    /// completion back into it since the core last wrote it. *estimate*: no
    /// docs/costs.md row; with 16-byte descriptors four share a line.
    pub store_rfo_fraction: f64,
    /// Mean of the exponentially distributed extra drain delay of a store
    /// that needs an RFO. *estimate*: no docs/costs.md row; of the order of an LLC
    /// or DRAM round trip, with an exponential tail standing in for the rare
    /// long waits (contended lines, snoops) that make stale reads possible.
    pub store_rfo_mean_ns: f64,
    /// CPU time between the driver's two stores of one descriptor, and after
    /// the last one (building a descriptor from an already mapped buffer).
    /// *estimate*: no docs/costs.md row; a handful of instructions.
    pub descriptor_write_ns: f64,
    /// CPU time to issue one posted MMIO store (the doorbell), after which the
    /// store has left the core. docs/costs.md "MMIO doorbell write (posted)":
    /// *estimate*, "tens of ns to issue".
    pub mmio_write_issue_ns: f64,
    /// Time from an MMIO store leaving the core until the device sees it.
    /// docs/costs.md "MMIO doorbell write (posted)": *estimate*, "reaches the
    /// device after ≈ half a PCIe round trip": half of the 546 ns "PCIe DMA
    /// read latency, 64 B, warm (median)" row.
    pub mmio_flight_ns: f64,
    /// Round trip of a device's DMA read of host memory (descriptor fetch,
    /// packet payload fetch). docs/costs.md "PCIe DMA read latency, 64 B, warm
    /// (median)": 546 ns (pcie-bench, Neugebauer et al., SIGCOMM 2018). The
    /// read samples host memory half-way through the round trip.
    pub dma_read_latency_ns: f64,
    /// CPU time of x86 `sfence` (`wmb()` on x86-64). docs/costs.md "MFENCE / SFENCE
    /// / LFENCE throughput": ≈6 cycles (Skylake, instruction tables), taken at
    /// 3 GHz. The wait for earlier stores to drain is modelled separately.
    pub sfence_ns: f64,
    /// CPU time of arm64 `dsb st` (`wmb()` on arm64) beyond waiting for
    /// earlier stores to complete, which the model charges separately as a
    /// stall. *estimate*: no docs/costs.md row.
    pub dsb_st_ns: f64,
    /// CPU time of arm64 `dmb oshst` (`dma_wmb()` on arm64). It orders
    /// stores without stalling the core for them. *estimate*: no docs/costs.md row.
    pub dmb_oshst_ns: f64,
}

impl Default for MemoryCostModel {
    fn default() -> Self {
        MemoryCostModel {
            store_drain_min_ns: 1.0,
            store_rfo_fraction: 0.25,
            store_rfo_mean_ns: 80.0,
            descriptor_write_ns: 5.0,
            mmio_write_issue_ns: 30.0,
            mmio_flight_ns: 273.0,
            dma_read_latency_ns: 546.0,
            sfence_ns: 2.0,
            dsb_st_ns: 10.0,
            dmb_oshst_ns: 3.0,
        }
    }
}

/// [`MemoryCostModel`] converted to picoseconds for the hot path.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MemoryCosts {
    /// See [`MemoryCostModel::store_drain_min_ns`].
    pub store_drain_min: Dur,
    /// See [`MemoryCostModel::store_rfo_fraction`].
    pub store_rfo_fraction: f64,
    /// See [`MemoryCostModel::store_rfo_mean_ns`], in picoseconds.
    pub store_rfo_mean_ps: f64,
    /// See [`MemoryCostModel::descriptor_write_ns`].
    pub descriptor_write: Dur,
    /// See [`MemoryCostModel::mmio_write_issue_ns`].
    pub mmio_write_issue: Dur,
    /// See [`MemoryCostModel::mmio_flight_ns`].
    pub mmio_flight: Dur,
    /// See [`MemoryCostModel::dma_read_latency_ns`].
    pub dma_read_latency: Dur,
    /// See [`MemoryCostModel::sfence_ns`].
    pub sfence: Dur,
    /// See [`MemoryCostModel::dsb_st_ns`].
    pub dsb_st: Dur,
    /// See [`MemoryCostModel::dmb_oshst_ns`].
    pub dmb_oshst: Dur,
}

/// A memory cost that is out of range.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct MemoryCostError {
    /// The field's name, e.g. `store_rfo_fraction`.
    pub field: &'static str,
    /// What was expected.
    pub message: String,
}

impl MemoryCostModel {
    /// Every field with its name and value, for validation and reports.
    pub fn fields(&self) -> [(&'static str, f64); 10] {
        [
            ("store_drain_min_ns", self.store_drain_min_ns),
            ("store_rfo_fraction", self.store_rfo_fraction),
            ("store_rfo_mean_ns", self.store_rfo_mean_ns),
            ("descriptor_write_ns", self.descriptor_write_ns),
            ("mmio_write_issue_ns", self.mmio_write_issue_ns),
            ("mmio_flight_ns", self.mmio_flight_ns),
            ("dma_read_latency_ns", self.dma_read_latency_ns),
            ("sfence_ns", self.sfence_ns),
            ("dsb_st_ns", self.dsb_st_ns),
            ("dmb_oshst_ns", self.dmb_oshst_ns),
        ]
    }

    /// Checks that every field is a non-negative finite number and that the
    /// RFO fraction is at most 1.
    pub fn validate(&self) -> Vec<MemoryCostError> {
        let mut errs: Vec<MemoryCostError> = self
            .fields()
            .into_iter()
            .filter(|(_, v)| !(v.is_finite() && *v >= 0.0))
            .map(|(field, v)| MemoryCostError {
                field,
                message: format!("expected a non-negative finite number, got {v}"),
            })
            .collect();
        if self.store_rfo_fraction.is_finite() && self.store_rfo_fraction > 1.0 {
            errs.push(MemoryCostError {
                field: "store_rfo_fraction",
                message: format!("expected a fraction in 0..=1, got {}", self.store_rfo_fraction),
            });
        }
        errs
    }

    /// Converts to picoseconds. Out-of-range values (see [`Self::validate`])
    /// saturate: negative or non-finite times to zero, the fraction to 0..=1.
    pub fn resolve(&self) -> MemoryCosts {
        let d = Dur::from_ns_f64;
        let frac = if self.store_rfo_fraction.is_finite() { self.store_rfo_fraction.clamp(0.0, 1.0) } else { 0.0 };
        MemoryCosts {
            store_drain_min: d(self.store_drain_min_ns),
            store_rfo_fraction: frac,
            store_rfo_mean_ps: d(self.store_rfo_mean_ns).as_ps() as f64,
            descriptor_write: d(self.descriptor_write_ns),
            mmio_write_issue: d(self.mmio_write_issue_ns),
            mmio_flight: d(self.mmio_flight_ns),
            dma_read_latency: d(self.dma_read_latency_ns),
            sfence: d(self.sfence_ns),
            dsb_st: d(self.dsb_st_ns),
            dmb_oshst: d(self.dmb_oshst_ns),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_cite_the_pcie_bench_read_latency_and_are_valid() {
        let c = MemoryCostModel::default();
        assert!(c.validate().is_empty());
        let r = c.resolve();
        assert_eq!(r.dma_read_latency, Dur::from_ns(546));
        // The doorbell's flight is half the 64-byte DMA read round trip.
        assert_eq!(r.mmio_flight, Dur::from_ns(273));
        assert_eq!(r.store_rfo_mean_ps, 80_000.0);
    }

    #[test]
    fn validation_names_each_bad_field() {
        let c = MemoryCostModel { sfence_ns: -1.0, store_rfo_fraction: 1.5, ..MemoryCostModel::default() };
        let names: Vec<&str> = c.validate().iter().map(|e| e.field).collect();
        assert_eq!(names, ["sfence_ns", "store_rfo_fraction"]);
        assert_eq!(c.resolve().store_rfo_fraction, 1.0);
    }

    #[test]
    fn unknown_cost_keys_are_rejected_and_missing_ones_default() {
        let e = serde_json::from_str::<MemoryCostModel>(r#"{"sfence_nss": 2.0}"#);
        assert!(e.is_err());
        let c: MemoryCostModel = serde_json::from_str(r#"{"sfence_ns": 4.0}"#).unwrap();
        assert_eq!(c.sfence_ns, 4.0);
        assert_eq!(c.dma_read_latency_ns, 546.0);
    }
}
