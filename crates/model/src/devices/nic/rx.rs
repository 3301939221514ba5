//! One RX queue of a NIC: its descriptor ring, its share of the arrivals,
//! interrupt coalescing and the queue's interrupt-enable bit.
//!
//! * A frame is written to its queue's ring by DMA after its last bit
//!   arrives: the descriptor read that tells the NIC the buffer (one DMA read
//!   per line of four descriptors, ahead of the frames), the buffer write and
//!   the descriptor write-back all go through the DMA port. A full ring drops
//!   the frame before any DMA (`rx_ring_full`, the NIC's rx_missed/no-buffer
//!   counter). The driver refills descriptors
//!   as NAPI consumes them, so ring occupancy = landed − polled.
//! * Each queue has an interrupt-enable bit (like ixgbe's EIMS/EIMC): the
//!   driver's top half clears it and `napi_complete_done` sets it again.
//!   While it is clear the queue raises nothing and costs no events.
//! * Coalescing follows ethtool's rule (docs/sources.md §7.3): once enabled, the
//!   queue interrupts when `rx-usecs` have passed since the first unreported
//!   packet, or `rx-frames` packets are waiting, whichever comes first.
//!
//! Arrivals are generated lazily (docs/architecture.md), by the NIC for its whole
//! port (nic/mod.rs): frames bound for this queue wait in its look-ahead
//! until they land. A queue lands them when it is observed, and the NIC
//! looks ahead only as far as the coalescing rule needs. A frame lands when
//! the NIC's DMA pipeline (`dma_write`, the estimate it schedules by) says
//! so; the DMA itself is issued then, through the port.

use crate::ids::Rid;
use crate::platform::ports::{DmaRequest, UpstreamPort};
use crate::sim::Sim;
use crate::workload::traffic::Packet;
use irqlab_engine::{Dur, Time};
use serde::Serialize;
use std::collections::VecDeque;

/// Bytes of one RX descriptor (the 16-byte advanced/legacy layouts).
pub const RX_DESC_BYTES: u32 = 16;
/// Descriptors the NIC reads with one DMA read ahead of the frames that
/// will use them: a 64-byte cache line of four.
pub const RX_DESC_PER_FETCH: u64 = 4;
/// Bytes of the packet buffer each RX descriptor points to (2 KiB, the
/// common `rx_buf_len` for a 1500-byte MTU).
pub const RX_BUFFER_BYTES: u64 = 2048;
/// I/O virtual address of queue 0's packet buffers; queue q's start `q << 32` above.
pub const RX_BUFFER_IOVA: u64 = 0x10_0000_0000;
/// I/O virtual address of queue 0's descriptor ring; queue q's `q << 24` above.
pub const RX_RING_IOVA: u64 = 0x8000_0000;

/// An RX queue's counters.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RxCounts {
    /// Frames that reached the queue (landed or dropped there).
    pub offered: u64,
    /// Frames dropped because every descriptor was full.
    pub dropped_ring_full: u64,
    /// Frames dropped because the DMA port refused the buffer write.
    pub dropped_dma_fault: u64,
    /// Frames written into the ring.
    pub landed: u64,
    /// Frames the driver took from the ring.
    pub taken: u64,
    /// Interrupts the queue raised.
    pub raised: u64,
    /// DMA requests issued (buffer writes and descriptor write-backs).
    pub dma_requests: u64,
}

/// One RX queue.
pub struct RxQueue {
    index: u32,
    ring: VecDeque<Packet>,
    capacity: usize,
    /// Frames generated for this queue that have not landed yet, in wire order.
    ahead: VecDeque<Packet>,
    /// Interrupt enable (EIMS bit): whether an arrival may raise the vector.
    pub irq_enabled: bool,
    /// When the interrupt was last enabled (coalescing starts no earlier).
    pub enabled_at: Time,
    /// Generation of this queue's pending watch event.
    pub watch_gen: u32,
    /// Frames at the head of the ring already reported by an interrupt
    /// (the coalescing rule only counts the ones after them).
    reported: usize,
    /// Completions of the paired TX queue (`txrx` vectors) not yet
    /// reported by an interrupt.
    pub tx_pending: u64,
    /// Counters.
    pub counts: RxCounts,
}

impl RxQueue {
    /// Queue `index` with `capacity` descriptors.
    pub fn new(index: u32, capacity: u32) -> RxQueue {
        RxQueue {
            index,
            ring: VecDeque::with_capacity(capacity as usize),
            capacity: capacity as usize,
            ahead: VecDeque::with_capacity(64),
            irq_enabled: false,
            enabled_at: Time::ZERO,
            watch_gen: 0,
            reported: 0,
            tx_pending: 0,
            counts: RxCounts::default(),
        }
    }

    /// Frames in the ring now (filled descriptors not yet polled).
    pub fn ring_len(&self) -> usize {
        self.ring.len()
    }

    /// Frames in the ring not yet reported by an interrupt.
    pub fn unreported(&self) -> usize {
        self.ring.len() - self.reported
    }

    /// Whether frames in the ring have not been reported by an interrupt.
    pub fn has_unreported(&self) -> bool {
        self.ring.len() > self.reported
    }

    /// The oldest frame not yet reported by an interrupt.
    pub fn first_unreported(&self) -> Option<&Packet> {
        self.ring.get(self.reported)
    }

    /// When the oldest frame in the ring arrived on the wire.
    pub fn oldest_wire(&self) -> Option<Time> {
        self.ring.front().map(|p| p.wire)
    }

    /// Frames bound for this queue that have not landed yet.
    pub fn ahead_len(&self) -> usize {
        self.ahead.len()
    }

    /// The `i`-th frame bound for this queue that has not landed (0-based).
    pub fn ahead(&self, i: usize) -> Option<&Packet> {
        self.ahead.get(i)
    }

    /// A frame generated for this queue joins its look-ahead.
    pub fn push_ahead(&mut self, p: Packet) {
        self.ahead.push_back(p);
    }

    /// Drops the look-ahead frames that arrive after `at` (the traffic stopped).
    pub fn truncate_ahead(&mut self, at: Time) {
        while self.ahead.back().is_some_and(|p| p.wire > at) {
            self.ahead.pop_back();
        }
    }

    /// Lands every look-ahead frame whose DMA completes by `now`: a free
    /// descriptor takes it (buffer write, then descriptor write-back,
    /// through the DMA port); a full ring drops it.
    pub fn land(&mut self, now: Time, dma: Dur, rid: Rid, sim: &mut Sim, up: &mut impl UpstreamPort) {
        while let Some(p) = self.ahead.front().copied() {
            if p.wire + dma > now {
                break;
            }
            self.ahead.pop_front();
            self.counts.offered += 1;
            if self.ring.len() >= self.capacity {
                self.counts.dropped_ring_full += 1;
                continue;
            }
            let slot = self.counts.landed % self.capacity as u64;
            let buffer = RX_BUFFER_IOVA + ((self.index as u64) << 32) + slot * RX_BUFFER_BYTES;
            let desc = RX_RING_IOVA + ((self.index as u64) << 24) + slot * RX_DESC_BYTES as u64;
            let fetched = if slot.is_multiple_of(RX_DESC_PER_FETCH) {
                // Prefetched ahead of the frame: its latency is hidden.
                self.counts.dma_requests += 1;
                let line = RX_DESC_BYTES * RX_DESC_PER_FETCH as u32;
                up.dma(rid, DmaRequest::read(desc, line), p.wire, sim).is_ok()
            } else {
                true
            };
            self.counts.dma_requests += 2;
            let wrote = up.dma(rid, DmaRequest::write(buffer, p.bytes), p.wire, sim);
            let done = up.dma(rid, DmaRequest::write(desc, RX_DESC_BYTES), p.wire, sim);
            if !fetched || wrote.is_err() || done.is_err() {
                self.counts.dropped_dma_fault += 1;
                continue;
            }
            self.counts.landed += 1;
            if !sim.faults.fire(crate::sim::Fault::RingLosesFrame) {
                self.ring.push_back(p);
            }
        }
    }

    /// Takes up to `max` frames from the ring (a NAPI poll), appending them to `out`.
    pub fn take(&mut self, max: usize, out: &mut Vec<Packet>) -> usize {
        let n = max.min(self.ring.len());
        out.extend(self.ring.drain(..n));
        self.reported = self.reported.saturating_sub(n);
        self.counts.taken += n as u64;
        n
    }

    /// An interrupt reported every frame in the ring so far.
    pub fn mark_reported(&mut self) {
        self.reported = self.ring.len();
    }

    /// Enabling the interrupt (EIMS) makes every waiting frame count again.
    pub fn clear_reported(&mut self) {
        self.reported = 0;
    }

    /// Frames in the ring (in flight).
    pub fn in_ring(&self) -> u64 {
        self.ring.len() as u64
    }
}
