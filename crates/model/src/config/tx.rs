//! `[tx]`: the transmit path's descriptor stores, barrier and doorbell, run
//! through the memory-ordering simulation (`memory/doorbell_sim.rs`).

use super::{Scenario, ValidateCx};
use serde::{Deserialize, Serialize};

/// The transmit path: the driver writes each frame's descriptor into the TX
/// ring in write-back memory, then the tail doorbell over MMIO, with the
/// chosen barrier between; the NIC DMA-reads the descriptors, transmits,
/// writes completions back and raises the TX interrupt (memory/doorbell_sim.rs,
/// docs/memory-model.md). It runs for the scenario's duration on the NIC's
/// line rate, with `costs.memory`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TxConfig {
    /// CPU memory model: `tso` (x86) or `weak` (ARMv8-like).
    pub model: crate::memory::MemoryModel,
    /// Barrier between the descriptor stores and the doorbell: `none`, `wmb`, `dma_wmb`.
    pub barrier: crate::memory::Barrier,
    /// Memory type of the doorbell mapping: `uc` or `wc`.
    pub mmio: crate::memory::MmioType,
    /// Doorbells per second.
    pub doorbell_rate_per_s: f64,
    /// Descriptors written before each doorbell.
    pub descriptors_per_doorbell: u32,
    /// TX ring entries.
    pub ring_size: u32,
    /// Most descriptors the NIC fetches with one DMA read.
    pub max_descriptors_per_fetch: u32,
    /// Frame length in bytes.
    pub frame_bytes: u16,
}

impl Default for TxConfig {
    fn default() -> Self {
        let d = crate::memory::DoorbellSimConfig::default();
        TxConfig {
            model: d.model,
            barrier: crate::memory::Barrier::Wmb,
            mmio: d.mmio,
            doorbell_rate_per_s: d.doorbell_rate_per_s,
            descriptors_per_doorbell: d.descriptors_per_doorbell,
            ring_size: d.ring_size,
            max_descriptors_per_fetch: d.max_descriptors_per_fetch,
            frame_bytes: d.frame_bytes,
        }
    }
}

impl Scenario {
    /// The doorbell simulation a `[tx]` table asks for: doorbells for the
    /// scenario's duration at the NIC's line rate, with `costs.memory`.
    pub fn tx_sim(&self) -> Option<crate::memory::DoorbellSimConfig> {
        let t = self.tx.as_ref()?;
        let doorbells = (self.duration_ms * 1e-3 * t.doorbell_rate_per_s).round().max(0.0) as u64;
        Some(crate::memory::DoorbellSimConfig {
            model: t.model,
            barrier: t.barrier,
            mmio: t.mmio,
            doorbells,
            descriptors_per_doorbell: t.descriptors_per_doorbell,
            doorbell_rate_per_s: t.doorbell_rate_per_s,
            ring_size: t.ring_size,
            max_descriptors_per_fetch: t.max_descriptors_per_fetch,
            frame_bytes: t.frame_bytes,
            link_gbps: self.nic.line_rate_gbps,
            costs: self.costs.memory.clone(),
        })
    }
}

/// Checks `[tx]` through the doorbell simulation it becomes
/// ([`Scenario::tx_sim`]), naming its problems under `tx.`.
pub fn validate(sim: &crate::memory::DoorbellSimConfig, cx: &mut ValidateCx) {
    // Costs are checked under costs.memory; link_gbps is nic.line_rate_gbps.
    for e in sim.validate() {
        if !e.path.starts_with("costs.") && e.path != "link_gbps" {
            cx.err(format!("tx.{}", e.path), e.message);
        }
    }
}
