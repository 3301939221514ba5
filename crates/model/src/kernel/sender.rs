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
    /// Sends (one per doorbell batch) that pinned their pages (`MSG_ZEROCOPY`).
    pub zerocopy_sends: u64,
    /// Sends that copied their payload.
    pub copied_sends: u64,
    /// User pages pinned.
    pub pages_pinned: u64,
    /// Zero-copy sends the TX clean-up completed (`msg_zerocopy_callback`).
    pub zerocopy_completions: u64,
    /// Error-queue notifications queued (a completion that follows the
    /// unread notification's range extends it instead).
    pub notifications: u64,
    /// Completions the application read from the error queue.
    pub completions_read: u64,
    /// `recvmsg(MSG_ERRQUEUE)` calls.
    pub errqueue_reads: u64,
}

/// What the TX metrics report of `MSG_ZEROCOPY`.
#[derive(Clone, Debug, Serialize)]
pub struct SenderZerocopy {
    /// Whether the sends used it (`tx.zerocopy` and large enough sends).
    pub used: bool,
    /// Payload bytes per send.
    pub send_bytes: u32,
    /// Sends that pinned their pages.
    pub sends: u64,
    /// Sends that copied.
    pub copied_sends: u64,
    /// Pages pinned.
    pub pages_pinned: u64,
    /// Sends completed by the TX clean-up.
    pub completions: u64,
    /// Error-queue notifications queued (ranges of completions).
    pub notifications: u64,
    /// Completions per notification.
    pub completions_per_notification: f64,
    /// Completions the application read.
    pub completions_read: u64,
    /// `recvmsg(MSG_ERRQUEUE)` calls.
    pub errqueue_reads: u64,
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
    /// Whether its sends use `MSG_ZEROCOPY` (`tx.zerocopy`, and each send
    /// at least `tx.zerocopy_min_bytes`).
    pub zerocopy: bool,
    /// The socket's error queue: unread completion notifications, each a
    /// range of send ids (`ee_info..=ee_data`).
    pub errqueue: Vec<(u64, u64)>,
    /// Counters.
    pub counts: SenderCounts,
}

impl Sender {
    /// Payload bytes of one send (a doorbell batch of frames, as one UDP
    /// GSO `sendmsg`).
    pub fn send_bytes(&self) -> u32 {
        self.batch * crate::config::process::payload_bytes(self.frame_bytes as u32)
    }

    /// The `MSG_ZEROCOPY` report.
    pub fn zerocopy_report(&self) -> SenderZerocopy {
        let c = &self.counts;
        SenderZerocopy {
            used: self.zerocopy,
            send_bytes: self.send_bytes(),
            sends: c.zerocopy_sends,
            copied_sends: c.copied_sends,
            pages_pinned: c.pages_pinned,
            completions: c.zerocopy_completions,
            notifications: c.notifications,
            completions_per_notification: if c.notifications == 0 {
                0.0
            } else {
                c.zerocopy_completions as f64 / c.notifications as f64
            },
            completions_read: c.completions_read,
            errqueue_reads: c.errqueue_reads,
        }
    }

    /// Completions queued on the error queue and not yet read.
    pub fn unread_completions(&self) -> u64 {
        self.errqueue.iter().map(|(lo, hi)| hi - lo + 1).sum()
    }

    /// Whether a batch fits in the ring now.
    pub fn has_room(&self) -> bool {
        self.posted + self.batch as u64 - self.freed <= self.ring_size as u64
    }
}
