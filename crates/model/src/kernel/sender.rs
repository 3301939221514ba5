//! A transmitting application thread and the driver's view of its TX ring
//! (the behaviour is in xmit.rs).

use crate::ids::{CpuId, QueueId};
use crate::memory::store_buffer::StoreBuffer;
use irqlab_engine::Dur;
use serde::Serialize;

/// Where the sender is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SenderState {
    /// Nothing due to send: waiting for its timer.
    Idle,
    /// Frames due but the ring is full: waiting for the TX clean-up.
    RingFull,
    /// On its CPU's run queue.
    Runnable,
    /// On the CPU.
    Running,
}

/// What the sender and the driver's TX side counted.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SenderCounts {
    /// Doorbells rung.
    pub doorbells: u64,
    /// Descriptors written.
    pub descriptors_posted: u64,
    /// Times a batch found the ring too full and waited.
    pub ring_full_waits: u64,
    /// Descriptors the TX clean-up reclaimed.
    pub cleaned: u64,
    /// Doorbell periods whose batch was still waiting at the end.
    pub due: u64,
}

/// The sender thread and its TX ring.
pub struct Sender {
    /// Its CPU.
    pub cpu: CpuId,
    /// Its state.
    pub state: SenderState,
    /// Batches due (one per timer period) not yet sent.
    pub pending: u64,
    /// The timer period.
    pub interval: Dur,
    /// Descriptors per batch (the last has RS).
    pub batch: u32,
    /// Frame length.
    pub frame_bytes: u16,
    /// TX ring entries.
    pub ring_size: u32,
    /// The TX queue (index 0) and the RX queue whose vector it shares in `txrx` mode.
    pub pair: QueueId,
    /// Free-running index of the next descriptor to write.
    pub posted: u64,
    /// Descriptors below this index are reclaimed.
    pub freed: u64,
    /// Its CPU's store buffer.
    pub store_buffer: StoreBuffer,
    /// Counters.
    pub counts: SenderCounts,
}

impl Sender {
    /// Whether a batch fits in the ring now.
    pub fn has_room(&self) -> bool {
        self.posted + self.batch as u64 - self.freed <= self.ring_size as u64
    }
}
