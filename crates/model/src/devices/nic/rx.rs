//! One RX queue of a NIC: its descriptor ring, its share of the arrivals,
//! interrupt coalescing and the queue's interrupt-enable bit.
//!
//! * A frame is written to its queue's ring by DMA after its last bit
//!   arrives: the buffer write and the descriptor write-back go through the
//!   DMA port. A full ring drops the frame before any DMA (`rx_ring_full`,
//!   the NIC's rx_missed/no-buffer counter). The driver refills descriptors
//!   as NAPI consumes them, so ring occupancy = landed − polled.
//! * Each queue has an interrupt-enable bit (like ixgbe's EIMS/EIMC): the
//!   driver's top half clears it and `napi_complete_done` sets it again.
//!   While it is clear the queue raises nothing and costs no events.
//! * Coalescing follows ethtool's rule (specs.md §7.3): once enabled, the
//!   queue interrupts when `rx-usecs` have passed since the first unreported
//!   packet, or `rx-frames` packets are waiting, whichever comes first.
//!
//! Arrivals are generated lazily (design brief §8): a queue materialises the
//! frames that have landed up to the time it is observed, and looks ahead
//! only as far as the coalescing rule needs. A frame lands when the NIC's
//! DMA pipeline (`dma_write`, the estimate it schedules by) says so; the DMA
//! itself is issued then, through the port.

use crate::config::CoalesceConfig;
use crate::ids::{FlowId, Rid};
use crate::platform::ports::{DmaRequest, UpstreamPort};
use crate::sim::Sim;
use crate::workload::traffic::{ArrivalGen, Packet};
use irqlab_engine::{Dur, Time};
use serde::Serialize;
use std::collections::VecDeque;

/// Bytes of one RX descriptor (the 16-byte advanced/legacy layouts).
pub const RX_DESC_BYTES: u32 = 16;
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
    ahead: VecDeque<Packet>,
    source: ArrivalGen,
    source_done: bool,
    /// Frames whose last bit arrives after this never arrive (the run's
    /// drain stops the traffic).
    cutoff: Time,
    /// Interrupt enable (EIMS bit): whether an arrival may raise the vector.
    pub irq_enabled: bool,
    /// When the interrupt was last enabled (coalescing starts no earlier).
    pub enabled_at: Time,
    /// Generation of this queue's pending watch event.
    pub watch_gen: u32,
    /// Frames at the head of the ring already reported by an interrupt
    /// (the coalescing rule only counts the ones after them).
    reported: usize,
    /// Counters.
    pub counts: RxCounts,
}

impl RxQueue {
    /// Queue `index` with `capacity` descriptors fed by `source`.
    pub fn new(index: u32, capacity: u32, source: ArrivalGen) -> RxQueue {
        RxQueue {
            index,
            ring: VecDeque::with_capacity(capacity as usize),
            capacity: capacity as usize,
            ahead: VecDeque::with_capacity(64),
            source,
            source_done: false,
            cutoff: Time::NEVER,
            irq_enabled: false,
            enabled_at: Time::ZERO,
            watch_gen: 0,
            reported: 0,
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

    /// When the oldest frame in the ring arrived on the wire.
    pub fn oldest_wire(&self) -> Option<Time> {
        self.ring.front().map(|p| p.wire)
    }

    fn fill_ahead(&mut self, n: usize) {
        while self.ahead.len() < n && !self.source_done {
            match self.source.next_packet() {
                Some(p) if p.wire <= self.cutoff => self.ahead.push_back(p),
                _ => self.source_done = true,
            }
        }
    }

    /// No frame arrives after `at`: frames already generated beyond it
    /// vanish, the source stops.
    pub fn stop_arrivals(&mut self, at: Time) {
        self.cutoff = at;
        while self.ahead.back().is_some_and(|p| p.wire > at) {
            self.ahead.pop_back();
        }
    }

    /// The time the `n`-th future frame (1-based) lands in the ring.
    fn nth_landing(&mut self, n: usize, dma: Dur) -> Time {
        self.fill_ahead(n);
        self.ahead.get(n - 1).map_or(Time::NEVER, |p| p.wire + dma)
    }

    /// Lands every frame whose DMA completes by `now`: a free descriptor
    /// takes it (buffer write, then descriptor write-back, through the DMA
    /// port); a full ring drops it.
    pub fn advance(&mut self, now: Time, dma: Dur, rid: Rid, sim: &mut Sim, up: &mut dyn UpstreamPort) {
        loop {
            self.fill_ahead(1);
            match self.ahead.front() {
                Some(p) if p.wire + dma <= now => {
                    let p = self.ahead.pop_front().expect("front exists");
                    self.counts.offered += 1;
                    if self.ring.len() >= self.capacity {
                        self.counts.dropped_ring_full += 1;
                        continue;
                    }
                    let slot = self.counts.landed % self.capacity as u64;
                    let buffer = RX_BUFFER_IOVA + ((self.index as u64) << 32) + slot * RX_BUFFER_BYTES;
                    let desc = RX_RING_IOVA + ((self.index as u64) << 24) + slot * RX_DESC_BYTES as u64;
                    self.counts.dma_requests += 2;
                    let wrote = up.dma(rid, DmaRequest::write(buffer, p.bytes), p.wire, sim);
                    let done = up.dma(rid, DmaRequest::write(desc, RX_DESC_BYTES), p.wire, sim);
                    if wrote.is_err() || done.is_err() {
                        self.counts.dropped_dma_fault += 1;
                        continue;
                    }
                    self.counts.landed += 1;
                    if !sim.faults.fire(crate::sim::Fault::RingLosesFrame) {
                        self.ring.push_back(p);
                    }
                }
                _ => break,
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

    /// When the enabled interrupt should fire under the coalescing rule,
    /// looking at the ring as of `now` (call [`advance`](Self::advance)
    /// first). `Time::NEVER` if nothing will ever arrive; a time in the
    /// future with an empty ring is the next landing, when the rule must be
    /// evaluated again.
    pub fn coalesce_deadline(&mut self, now: Time, c: &CoalesceConfig, dma: Dur) -> Time {
        let Some(first) = self.ring.get(self.reported) else {
            return self.nth_landing(1, dma).max(now);
        };
        let start = (first.wire + dma).max(self.enabled_at);
        let by_time = if c.rx_usecs > 0 { start + Dur::from_us(c.rx_usecs as u64) } else { Time::NEVER };
        let frames = c.rx_frames as usize;
        let unreported = self.ring.len() - self.reported;
        let by_frames = if frames == 0 {
            Time::NEVER
        } else if unreported >= frames {
            now
        } else {
            self.nth_landing(frames - unreported, dma)
        };
        by_time.min(by_frames).max(now)
    }

    /// Frames in the ring (in flight).
    pub fn in_ring(&self) -> u64 {
        self.ring.len() as u64
    }

    /// A flow filter takes `flow` away from this queue. Frames of it already
    /// on the wire towards this queue (the look-ahead) still land here.
    pub fn remove_flow(&mut self, flow: FlowId) -> Option<u32> {
        self.source.remove_flow(flow)
    }

    /// A flow filter sends `flow` to this queue from `now` on.
    pub fn add_flow(&mut self, flow: FlowId, seq: u32, now: Time) {
        self.source.add_flow(flow, seq, now);
        self.source_done = false;
    }
}
