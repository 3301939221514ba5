//! One RX queue of a NIC: its descriptor ring, its share of the arrivals,
//! interrupt coalescing and the queue's interrupt-enable bit.
//!
//! * A frame is written to its queue's ring by DMA after its last bit
//!   arrives: the descriptor read that tells the NIC the buffer (one DMA
//!   read per line of four descriptors, ahead of the frames, into the NIC's
//!   descriptor cache; the buffer addresses are the ones the driver wrote
//!   into the descriptors in host memory), the buffer write and the
//!   descriptor write-back all go through the DMA port. A full ring drops the frame before any DMA (`rx_ring_full`, the
//!   NIC's rx_missed/no-buffer counter); a write the IOMMU refuses drops it
//!   (`iommu_fault`). The driver refills the descriptors a NAPI poll
//!   consumed and writes the RX tail when the poll ends: the NIC fills only
//!   descriptors before the tail, so the ring is full when landed frames
//!   reach it.
//! * A queue's writes are translated in order: when the IOMMU stalls one
//!   (an IOTLB miss and its page walk), the frame lands that much later and
//!   the frames behind it wait; without stalls a frame lands `dma_write`
//!   after its last bit.
//! * Each queue has an interrupt-enable bit (like ixgbe's EIMS/EIMC): the
//!   driver's top half clears it and `napi_complete_done` sets it again.
//!   While it is clear the queue raises nothing and costs no events.
//! * Coalescing follows ethtool's rule (docs/sources.md §7.3): once enabled, the
//!   queue interrupts when `rx-usecs` have passed since the first unreported
//!   packet, or `rx-frames` packets are waiting, whichever comes first.
//!   Under net_dim (mlx5's CQE-based moderation) the timer restarts at each
//!   packet instead: `rx-usecs` after the newest (nic/mod.rs).
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
/// I/O virtual address of queue 0's descriptor ring (the RDBA the driver
/// programs; the ring is mapped at IOVA = physical address); queue q's
/// `q << 17` above (128 KiB: 8,192 descriptors).
pub const RX_RING_IOVA: u64 = 0x1_0000_0000;

/// The descriptor ring's address of RX queue `q`.
pub fn rx_ring_iova(q: u32) -> u64 {
    RX_RING_IOVA + ((q as u64) << 17)
}

/// An RX queue's counters.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RxCounts {
    /// Frames that reached the queue (landed or dropped there).
    pub offered: u64,
    /// Frames dropped because every descriptor was full.
    pub dropped_ring_full: u64,
    /// Frames dropped because the IOMMU refused a DMA of theirs.
    pub dropped_iommu_fault: u64,
    /// Frames whose buffer write the IOMMU refused while the descriptor
    /// write-back went through: landed (the descriptor is consumed), for
    /// the driver to discard.
    pub buffer_faults: u64,
    /// Frames written into the ring.
    pub landed: u64,
    /// Frames the driver took from the ring.
    pub taken: u64,
    /// Interrupts the queue raised.
    pub raised: u64,
    /// Bytes of the frames the driver took from the ring (what a driver's
    /// `rx_bytes` counts as it processes each frame, and feeds net_dim and
    /// ixgbe's ITR beside `taken`).
    pub bytes: u64,
    /// Times the driver rewrote the queue's moderation (adaptive-rx).
    pub moderation_changes: u64,
    /// DMA requests issued (buffer writes and descriptor write-backs).
    pub dma_requests: u64,
    /// Late writes to buffers already handed back (a misbehaving NIC).
    pub late_writes: u64,
    /// Of which landed.
    pub late_landed: u64,
    /// Frames a misbehaving NIC wrote outside their buffer (`misdirect`).
    pub misdirected: u64,
    /// Of which the write landed (the frame's own buffer keeps stale data:
    /// the driver receives it corrupted).
    pub misdirected_landed: u64,
}

/// One RX queue.
pub struct RxQueue {
    index: u32,
    /// The NIC it belongs to (what a trace names its track after).
    pub nic: crate::ids::NicId,
    ring: VecDeque<Packet>,
    capacity: usize,
    /// Frames generated for this queue that have not landed yet, in wire order.
    ahead: VecDeque<Packet>,
    /// Interrupt enable (EIMS bit): whether an arrival may raise the vector.
    pub irq_enabled: bool,
    /// The queue's interrupt moderation registers (an ITR per vector, as
    /// ixgbe's EITR or mlx5's CQ moderation): (`rx-usecs`, `rx-frames`).
    pub moderation: (u32, u32),
    /// When the queue first raised its interrupt since the driver's handler
    /// last ran for it: the start of its interrupt latency.
    pub raised_at: Option<Time>,
    /// When the interrupt was last enabled (coalescing starts no earlier).
    pub enabled_at: Time,
    /// When the queue last raised its interrupt (an EITR throttle counts
    /// its interval from there).
    pub last_raise: Option<Time>,
    /// Generation of this queue's pending watch event.
    pub watch_gen: u32,
    /// The event-queue timer that holds the queue's watch (set by the
    /// machine), and the generation of the watch it holds until that fires
    /// (a new generation empties it): a superseded watch is cancelled
    /// instead of being left to be popped and skipped.
    pub watch_timer: Option<irqlab_engine::TimerId>,
    /// See `watch_timer`.
    pub watch_armed: Option<u32>,
    /// Frames at the head of the ring already reported by an interrupt
    /// (the coalescing rule only counts the ones after them).
    reported: usize,
    /// Completions of the paired TX queue (`txrx` vectors) not yet
    /// reported by an interrupt.
    pub tx_pending: u64,
    /// The frame at the head of the look-ahead whose DMA is in flight:
    /// when it lands, and the buffer it was written to.
    inflight: Option<(Time, u64, bool)>,
    /// The NIC's descriptor cache: buffer addresses the driver posted in
    /// the descriptors from the next slot on, as the last descriptor read
    /// returned them (`desc_cache[desc_next..desc_len]`).
    desc_cache: [u64; RX_DESC_PER_FETCH as usize],
    desc_next: u8,
    desc_len: u8,
    /// When the translation of the queue's latest write finished (the
    /// next write's translation starts no earlier).
    xlate_free: Time,
    /// A misbehaving NIC: every `n`-th landed frame's buffer is written
    /// again this long after landing.
    pub late: Option<(Dur, u32)>,
    /// A misbehaving NIC: every `n`-th frame is written to the target's
    /// addresses instead (the NIC's (queues, ring size) for `nic_buffers`).
    pub misdirect: Option<(u32, crate::config::AttackTarget, (u32, u32))>,
    /// Frames whose DMA was issued (for `misdirect`'s count).
    issued: u64,
    /// Header split: only the payload is written to the data buffer (the
    /// headers' buffer is not modelled).
    header_split: bool,
    /// The RX tail the driver last wrote (free-running): descriptors up to
    /// it hold posted buffers the NIC may fill.
    tail: u64,
    /// Counters.
    pub counts: RxCounts,
}

/// A late write a misbehaving NIC will make: when, where, how much.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LateWrite {
    /// When.
    pub at: Time,
    /// The buffer's IOVA.
    pub iova: u64,
    /// Bytes.
    pub bytes: u32,
}

impl RxQueue {
    /// Queue `index` with `capacity` descriptors.
    pub fn new(index: u32, capacity: u32, header_split: bool) -> RxQueue {
        RxQueue {
            index,
            nic: crate::ids::NicId(0),
            ring: VecDeque::with_capacity(capacity as usize),
            capacity: capacity as usize,
            ahead: VecDeque::with_capacity(64),
            irq_enabled: false,
            moderation: (0, 1),
            raised_at: None,
            enabled_at: Time::ZERO,
            last_raise: None,
            watch_gen: 0,
            watch_timer: None,
            watch_armed: None,
            reported: 0,
            tx_pending: 0,
            inflight: None,
            desc_cache: [0; RX_DESC_PER_FETCH as usize],
            desc_next: 0,
            desc_len: 0,
            xlate_free: Time::ZERO,
            late: None,
            misdirect: None,
            issued: 0,
            header_split,
            tail: capacity as u64,
            counts: RxCounts::default(),
        }
    }

    /// Descriptors in the ring.
    pub fn capacity(&self) -> u32 {
        self.capacity as u32
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

    /// The newest frame in the ring.
    pub fn newest(&self) -> Option<&Packet> {
        self.ring.back()
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

    /// Starts a new watch generation (the interrupt was enabled or masked,
    /// or the queue's arrivals changed): a watch still pending is stale, and
    /// leaves the timer. Returns the new generation.
    pub fn next_watch_generation(&mut self, sim: &mut Sim) -> u32 {
        self.watch_gen = self.watch_gen.wrapping_add(1);
        if let Some(t) = self.watch_timer
            && self.watch_armed.take().is_some()
        {
            sim.events.cancel_timer(t);
        }
        self.watch_gen
    }

    /// When the head of the look-ahead lands if nothing stalls it: its
    /// DMA's completion if in flight, else its last bit plus `dma` (no
    /// earlier than the queue's previous translation).
    pub fn head_landing(&self, dma: Dur) -> Option<Time> {
        let p = self.ahead.front()?;
        Some(self.inflight.map_or(p.wire.max(self.xlate_free) + dma, |(t, _, _)| t))
    }

    /// Lands every look-ahead frame whose DMA completes by `now`: a free
    /// descriptor takes it (buffer write, then descriptor write-back,
    /// through the DMA port); a full ring drops it. Late writes a
    /// misbehaving NIC owes are appended to `late`.
    pub fn land(
        &mut self,
        now: Time,
        dma: Dur,
        rid: Rid,
        sim: &mut Sim,
        up: &mut impl UpstreamPort,
        late: &mut Vec<LateWrite>,
    ) {
        while let Some(p) = self.ahead.front().copied() {
            let (done, buffer, faulted) = match self.inflight {
                Some(inflight) => inflight,
                None => {
                    let issue = p.wire.max(self.xlate_free);
                    if issue + dma > now {
                        break;
                    }
                    match self.issue(p, issue, dma, rid, now, sim, up) {
                        Some(landing) => landing,
                        None => {
                            self.ahead.pop_front();
                            self.counts.offered += 1;
                            continue;
                        }
                    }
                }
            };
            if done > now {
                self.inflight = Some((done, buffer, faulted));
                break;
            }
            self.inflight = None;
            self.ahead.pop_front();
            self.counts.offered += 1;
            if let Some((delay, every)) = self.late
                && self.counts.landed.is_multiple_of(every as u64)
            {
                late.push(LateWrite { at: done + delay, iova: buffer, bytes: p.bytes });
            }
            self.counts.landed += 1;
            if !sim.faults.fire(crate::sim::Fault::RingLosesFrame) {
                self.ring.push_back(Packet { faulted, ..p });
            }
            if let Some(tr) = sim.trace.as_deref_mut() {
                let q = crate::ids::QueueId(self.index);
                tr.rx_landed(self.nic, q, p.flow, p.seq, p.bytes, p.wire, done, self.ring.len());
            }
        }
    }

    fn desc_iova(&self, slot: u64) -> u64 {
        rx_ring_iova(self.index) + slot * RX_DESC_BYTES as u64
    }

    /// Issues frame `p`'s DMAs at `issue`: returns when it lands and the
    /// buffer it was written to, or `None` if it is dropped (ring full, or
    /// a DMA refused).
    #[allow(clippy::too_many_arguments)]
    fn issue(
        &mut self,
        p: Packet,
        issue: Time,
        dma: Dur,
        rid: Rid,
        now: Time,
        sim: &mut Sim,
        up: &mut impl UpstreamPort,
    ) -> Option<(Time, u64, bool)> {
        // No descriptor with a posted buffer: the ring is full (the driver
        // has not refilled and written the tail past this one yet).
        if self.counts.landed >= self.tail || self.ring.len() >= self.capacity {
            self.counts.dropped_ring_full += 1;
            return None;
        }
        let slot = self.counts.landed % self.capacity as u64;
        let desc = self.desc_iova(slot);
        if self.desc_next == self.desc_len {
            // Fetch the posted descriptors from this one to the end of its
            // 64-byte line (prefetched ahead of the frame: its latency is
            // hidden), reading what the driver has written by now.
            let per = RX_DESC_PER_FETCH;
            let n = (per - slot % per).min(self.tail - self.counts.landed).min(self.capacity as u64 - slot);
            let mut words = [0u64; 2 * RX_DESC_PER_FETCH as usize];
            let words = &mut words[..2 * n as usize];
            self.counts.dma_requests += 1;
            if up.dma_read(rid, DmaRequest::read(desc, n as u32 * RX_DESC_BYTES), now, sim, words).is_err() {
                if !sim.faults.fire(crate::sim::Fault::IommuDropUncounted) {
                    self.counts.dropped_iommu_fault += 1;
                }
                return None;
            }
            for (i, w) in words.iter().step_by(2).enumerate() {
                self.desc_cache[i] = *w;
            }
            (self.desc_next, self.desc_len) = (0, n as u8);
        }
        // The buffer the driver posted in this descriptor — or, for a
        // misbehaving NIC, somewhere else.
        let buffer = self.desc_cache[self.desc_next as usize];
        self.issued += 1;
        let req = match self.misdirect {
            Some((every, target, victim)) if self.issued.is_multiple_of(every as u64) => {
                self.counts.misdirected += 1;
                let k = self.issued / every as u64;
                DmaRequest::rogue_write(crate::devices::rogue::target_address(target, k, victim), p.bytes)
            }
            _ => {
                let payload = crate::config::process::payload_bytes(p.bytes);
                let len = if self.header_split && payload > 0 { payload } else { p.bytes };
                DmaRequest::write(buffer, len)
            }
        };
        self.counts.dma_requests += 2;
        let wrote = up.dma(rid, req, issue, sim);
        let back = up.dma(rid, DmaRequest::write(desc, RX_DESC_BYTES), issue, sim);
        match (wrote, back) {
            (Ok(w), Ok(b)) => {
                if req.rogue {
                    self.counts.misdirected_landed += 1;
                }
                self.desc_next += 1;
                // The write-back's translation follows the data's.
                let stall_w = w.since(issue).as_ps().saturating_sub(dma.as_ps());
                let stall_b = b.since(issue).as_ps().saturating_sub(dma.as_ps());
                self.xlate_free = issue + Dur(stall_w + stall_b);
                Some(((issue + dma + Dur(stall_w + stall_b)).max(w).max(b), buffer, false))
            }
            (Err(_), Ok(b)) if !req.rogue => {
                // The buffer the driver posted is not mapped: the IOMMU
                // refuses the posted write, the NIC never learns of it and
                // writes the descriptor back — the descriptor is consumed
                // and the driver will find garbage behind it.
                self.counts.buffer_faults += 1;
                self.desc_next += 1;
                Some(((issue + dma).max(b), buffer, true))
            }
            _ => {
                if !sim.faults.fire(crate::sim::Fault::IommuDropUncounted) {
                    self.counts.dropped_iommu_fault += 1;
                }
                None
            }
        }
    }

    /// The driver writes the RX tail (RDT): descriptors before `tail`
    /// (free-running) hold buffers it has posted.
    pub fn write_tail(&mut self, tail: u64) {
        self.tail = self.tail.max(tail);
    }

    /// Takes up to `max` frames from the ring (a NAPI poll), appending them to `out`.
    pub fn take(&mut self, max: usize, out: &mut Vec<Packet>) -> usize {
        let n = max.min(self.ring.len());
        // Copied slice by slice (a memcpy each) rather than element by element.
        let (a, b) = self.ring.as_slices();
        let from_a = n.min(a.len());
        out.extend_from_slice(&a[..from_a]);
        out.extend_from_slice(&b[..n - from_a]);
        self.counts.bytes += out[out.len() - n..].iter().map(|p| p.bytes as u64).sum::<u64>();
        self.ring.drain(..n);
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
