//! `[tx]`: the transmit path. A sender thread on `tx.core` hands frames to
//! the NIC's TX queue 0: it writes each frame's descriptor into the ring in
//! host memory through its CPU's store buffer, then the tail doorbell over
//! MMIO, with the chosen barrier between; the NIC DMA-reads the
//! descriptors and payloads, transmits, writes completions back and raises
//! the TX interrupt through the same MSI-X path as receive
//! (kernel/xmit.rs, devices/nic/tx.rs, docs/memory-model.md).

use super::{InterruptMode, Scenario, ValidateCx, num};
use crate::memory::{Barrier, MemoryModel, MmioType};
use serde::{Deserialize, Serialize};

/// Largest TX ring the configuration accepts (a 16-bit descriptor index).
pub const MAX_TX_RING: u32 = 65_536;
/// Smallest and largest frame (without preamble), in bytes: minimum Ethernet
/// frame without FCS, and a 9000-byte-MTU jumbo frame.
pub const TX_FRAME_BYTES: std::ops::RangeInclusive<u16> = 60..=9_018;

/// How a TX queue's completions interrupt.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxVectors {
    /// The TX queue shares its queue pair's vector with RX (`TxRx`, as
    /// ixgbe, i40e and mlx5 set up MSI-X): the NAPI poll cleans both.
    #[default]
    Txrx,
    /// The TX queue has its own MSI-X vector and NAPI instance (as
    /// virtio-net's `output.N` vectors). `msix` mode only.
    Separate,
}

/// The transmit path.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TxConfig {
    /// CPU memory model: `tso` (x86) or `weak` (ARMv8-like).
    pub model: MemoryModel,
    /// Barrier between the descriptor stores and the doorbell: `none`, `wmb`, `dma_wmb`.
    pub barrier: Barrier,
    /// Memory type of the doorbell mapping: `uc` or `wc`.
    pub mmio: MmioType,
    /// Doorbells per second the sender rings (one `sendmmsg` batch each).
    pub doorbell_rate_per_s: f64,
    /// Descriptors written before each doorbell; the last has RS set.
    pub descriptors_per_doorbell: u32,
    /// TX ring entries; `2..=65536`.
    pub ring_size: u32,
    /// Most descriptors the NIC fetches with one DMA read; `1..=65536`
    /// (a fetch never reads past the ring's size).
    pub max_descriptors_per_fetch: u32,
    /// Frame length in bytes (FCS included, preamble excluded); `60..=9018`.
    pub frame_bytes: u16,
    /// The CPU the sender thread runs on.
    pub core: u32,
    /// How completions interrupt: `txrx` (shared with RX queue 0) or `separate`.
    pub vectors: TxVectors,
    /// Send with `MSG_ZEROCOPY` (`SO_ZEROCOPY` set): the kernel pins the
    /// send's user pages instead of copying them, and reports each send's
    /// completion on the socket's error queue once the NIC has read it.
    pub zerocopy: bool,
    /// Sends smaller than this many payload bytes are copied even with
    /// `zerocopy` (the application's choice: msg_zerocopy.rst finds
    /// `MSG_ZEROCOPY` "generally only effective at writes over around 10 KB").
    pub zerocopy_min_bytes: u32,
}

impl Default for TxConfig {
    fn default() -> Self {
        TxConfig {
            model: MemoryModel::Weak,
            barrier: Barrier::Wmb,
            mmio: MmioType::Uc,
            doorbell_rate_per_s: 1e6,
            descriptors_per_doorbell: 1,
            ring_size: 1024,
            max_descriptors_per_fetch: 32,
            frame_bytes: 64,
            core: 0,
            vectors: TxVectors::Txrx,
            zerocopy: false,
            zerocopy_min_bytes: 10_240,
        }
    }
}

impl TxConfig {
    /// Checks `[tx]`, naming its problems under `tx.`.
    pub fn validate(&self, s: &Scenario, cx: &mut ValidateCx) {
        if !(2..=MAX_TX_RING).contains(&self.ring_size) {
            cx.err("tx.ring_size", format!("expected 2..={MAX_TX_RING} descriptors, got {}", self.ring_size));
        }
        if self.descriptors_per_doorbell == 0 || self.descriptors_per_doorbell > self.ring_size {
            cx.err(
                "tx.descriptors_per_doorbell",
                format!("expected 1..=ring_size ({}), got {}", self.ring_size, self.descriptors_per_doorbell),
            );
        }
        let r = self.doorbell_rate_per_s;
        if !(r.is_finite() && r > 0.0 && r <= 1e9) {
            cx.err(
                "tx.doorbell_rate_per_s",
                format!("expected a positive rate of at most 1e9 per second, got {}", num(r)),
            );
        }
        if self.max_descriptors_per_fetch == 0 || self.max_descriptors_per_fetch > MAX_TX_RING {
            cx.err(
                "tx.max_descriptors_per_fetch",
                format!("expected 1..={MAX_TX_RING}, got {}", self.max_descriptors_per_fetch),
            );
        }
        if !TX_FRAME_BYTES.contains(&self.frame_bytes) {
            cx.err("tx.frame_bytes", format!("expected {TX_FRAME_BYTES:?} bytes, got {}", self.frame_bytes));
        }
        if self.core >= s.machine.cores {
            cx.err("tx.core", format!("core {} does not exist (machine.cores = {})", self.core, s.machine.cores));
        }
        if self.vectors == TxVectors::Separate && s.nic.interrupt_mode != InterruptMode::Msix {
            cx.err("tx.vectors", "separate TX vectors need nic.interrupt_mode = \"msix\"".to_string());
        }
        if self.vectors == TxVectors::Separate && s.nic.queues >= 2048 {
            cx.err(
                "tx.vectors",
                "a separate TX vector needs an MSI-X entry beyond the queues' (nic.queues < 2048)".to_string(),
            );
        }
    }
}
