//! One TX queue of a NIC: the device's side of the transmit contract
//! (docs/memory-model.md).
//!
//! The driver writes descriptors into the ring in host memory through its
//! CPU's store buffer, then writes the tail doorbell (an MMIO store). When
//! the doorbell reaches the NIC it DMA-reads descriptors from its head up
//! to the newest tail (at most `max_descriptors_per_fetch` per read). The
//! read samples host memory half-way through its round trip and sees, per
//! 64-bit word, the new value only if it was visible by then. The NIC then
//! classifies each descriptor (hw::txdesc `classify`): current →
//! transmitted; stale generation → the NIC does not own it: a stale read,
//! the fetch stops there and is retried at once; current generation but a
//! stale buffer address → a torn descriptor the NIC cannot detect: a stale
//! read *and* a corrupted transmission (the model knows; it is never passed
//! off as a good one). It fetches each frame's payload by DMA, serialises
//! the frames at line rate (the port is full duplex: transmit does not
//! share the wire with receive), writes DD back into every descriptor with
//! RS set, and raises the TX interrupt — on the queue's shared TxRx vector
//! or on its own — through the same MSI-X path as receive.

use crate::ids::Rid;
use crate::platform::ports::{DmaRequest, UpstreamPort};
use crate::sim::Sim;
use irqlab_engine::{Dur, Time};
use irqlab_hw::txdesc::{DescriptorRead, TxDesc, classify, field};
use serde::Serialize;

/// Bytes of one TX descriptor.
pub const TX_DESC_BYTES: u64 = field::DESC_LEN as u64;
/// I/O virtual address of TX queue 0's descriptor ring (mapped at IOVA =
/// physical address); queue q's `q << 20` above (1 MiB: 65,536 descriptors).
pub const TX_RING_IOVA: u64 = 0x1_8000_0000;

/// The I/O virtual address of word `w` of descriptor `slot` of TX queue `q`.
pub fn tx_desc_iova(q: u32, slot: u64, w: usize) -> u64 {
    TX_RING_IOVA + ((q as u64) << 20) + slot * TX_DESC_BYTES + 8 * w as u64
}

/// A TX queue's counters.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TxCounts {
    /// Doorbell writes that reached the NIC.
    pub doorbells: u64,
    /// Descriptor reads by the NIC (a descriptor fetched twice counts twice).
    pub descriptors_read: u64,
    /// Reads that saw any field of a descriptor before its store was visible.
    pub stale_descriptor_reads: u64,
    /// Stale reads with the previous lap's generation bit (the NIC saw it
    /// does not own the descriptor and fetched again).
    pub stale_ownership_reads: u64,
    /// Stale reads with the current generation but a stale buffer address.
    pub torn_descriptor_reads: u64,
    /// Fetches repeated after a stale-ownership read.
    pub refetches: u64,
    /// Frames sent from the descriptor the driver wrote.
    pub transmitted_ok: u64,
    /// Frames sent from a torn descriptor (wrong buffer).
    pub corrupted_transmissions: u64,
    /// Descriptors the NIC wrote DD back to (those with RS).
    pub completions: u64,
    /// TX interrupts the queue raised.
    pub interrupts: u64,
    /// DMA requests (descriptor fetches, payload reads, write-backs).
    pub dma_requests: u64,
    /// Payload reads the IOMMU refused (a torn descriptor's stale buffer
    /// address, already unmapped): the frame goes out without its data.
    pub payload_faults: u64,
}

/// The NIC's TX DMA engine for one queue.
#[derive(Debug)]
pub struct TxQueue {
    index: u32,
    ring_size: u32,
    max_fetch: u32,
    /// Newest tail seen in a doorbell (free-running).
    tail_seen: u64,
    /// Next descriptor to fetch (free-running).
    head: u64,
    /// The fetch in progress: when it samples memory, and its end index.
    fetch: Option<(Time, u64)>,
    /// The wire is busy until then.
    wire_free: Time,
    /// Completions not yet reported by an interrupt.
    pub unreported: u64,
    /// Counters.
    pub counts: TxCounts,
}

/// What a fetch found.
pub struct Fetched {
    /// When the next fetch (or retry) may start: now, or never.
    pub fetch_again: bool,
    /// The free-running index after the last descriptor with RS, and when
    /// its DD write-back completes.
    pub complete: Option<(u64, Time)>,
}

impl TxQueue {
    /// TX queue `index` with a ring of `ring_size` descriptors.
    pub fn new(index: u32, ring_size: u32, max_fetch: u32) -> TxQueue {
        TxQueue {
            index,
            ring_size,
            max_fetch: max_fetch.min(ring_size),
            tail_seen: 0,
            head: 0,
            fetch: None,
            wire_free: Time::ZERO,
            unreported: 0,
            counts: TxCounts::default(),
        }
    }

    /// Descriptors posted and seen by the NIC but not yet transmitted.
    pub fn pending(&self) -> u64 {
        self.tail_seen - self.head
    }

    /// The next descriptor the NIC will fetch (free-running): every one
    /// before it was transmitted.
    pub fn head(&self) -> u64 {
        self.head
    }

    /// A doorbell carrying `tail` arrived: whether a fetch must start.
    pub fn doorbell(&mut self, tail: u64) -> bool {
        self.counts.doorbells += 1;
        self.tail_seen = self.tail_seen.max(tail);
        self.fetch.is_none() && self.head < self.tail_seen
    }

    /// Starts a descriptor fetch at `now` through the DMA port: returns when
    /// it completes.
    pub fn start_fetch(&mut self, rid: Rid, sim: &mut Sim, up: &mut impl UpstreamPort) -> Time {
        let now = sim.now();
        let end = self.tail_seen.min(self.head + self.max_fetch.max(1) as u64);
        let slot = self.head % self.ring_size as u64;
        let n = (end - self.head) as u32;
        self.counts.dma_requests += 1;
        let done = up
            .dma(rid, DmaRequest::read(tx_desc_iova(self.index, slot, 0), n * TX_DESC_BYTES as u32), now, sim)
            .unwrap_or(now);
        // The read samples memory half-way through its round trip.
        self.fetch = Some((now + Dur(done.since(now).as_ps() / 2), end));
        done
    }

    /// The fetch completed at `now`: classify what it read, fetch the
    /// payloads, put the frames on the wire (each `frame_time(bytes)`), and
    /// write DD back to the RS descriptors.
    pub fn fetch_done(
        &mut self,
        rid: Rid,
        sim: &mut Sim,
        up: &mut impl UpstreamPort,
        frame_time: impl Fn(u16) -> Dur,
    ) -> Fetched {
        let now = sim.now();
        let Some((sample_at, end)) = self.fetch.take() else {
            return Fetched { fetch_again: false, complete: None };
        };
        let ring = self.ring_size as u64;
        let first = self.head;
        let mut idx = first;
        let mut last_rs = None;
        let mut stale_stop = false;
        let mut payload_done = now;
        let mut wire = Dur::ZERO;
        while idx < end {
            let slot = idx % ring;
            let (a_seen, a_new) = up.dma_sample(rid, tx_desc_iova(self.index, slot, field::WORD_ADDR), sample_at);
            let (c_seen, c_new) = up.dma_sample(rid, tx_desc_iova(self.index, slot, field::WORD_CTRL), sample_at);
            let written = TxDesc::from_words([a_new, c_new]);
            let seen = TxDesc::from_words([a_seen, c_seen]);
            if !sim.faults.fire(crate::sim::Fault::TxReadUncounted) {
                self.counts.descriptors_read += 1;
            }
            let read = match (&seen, &written) {
                (Ok(seen), Ok(written)) => classify(seen, written),
                // An undecodable image cannot be a descriptor the NIC owns.
                _ => DescriptorRead::StaleOwnership,
            };
            match read {
                DescriptorRead::StaleOwnership => {
                    self.counts.stale_descriptor_reads += 1;
                    self.counts.stale_ownership_reads += 1;
                    stale_stop = true;
                    break;
                }
                DescriptorRead::Torn => {
                    self.counts.stale_descriptor_reads += 1;
                    self.counts.torn_descriptor_reads += 1;
                    self.counts.corrupted_transmissions += 1;
                }
                DescriptorRead::Current => self.counts.transmitted_ok += 1,
            }
            // The payload, from the buffer the NIC read (right or wrong).
            let d = seen.unwrap_or_default();
            self.counts.dma_requests += 1;
            let got = match up.dma(rid, DmaRequest::read(d.buffer_addr, d.length as u32), now, sim) {
                Ok(t) => t,
                Err(_) => {
                    self.counts.payload_faults += 1;
                    now
                }
            };
            payload_done = payload_done.max(got);
            wire += frame_time(d.length);
            if written.is_ok_and(|w| w.rs()) {
                last_rs = Some(idx + 1);
            }
            idx += 1;
        }
        if idx < self.tail_seen && sim.faults.fire(crate::sim::Fault::TxHeadSkips) {
            idx += 1;
        }
        self.head = idx;
        let mut complete = None;
        if idx > first {
            let start = self.wire_free.max(payload_done);
            self.wire_free = start + wire;
            if let Some(upto) = last_rs {
                complete = Some((upto, self.write_back(first, upto, rid, sim, up)));
            }
        }
        if stale_stop {
            self.counts.refetches += 1;
        }
        Fetched { fetch_again: stale_stop || self.head < self.tail_seen, complete }
    }

    /// Writes DD back into the RS descriptors among `from..upto` once the
    /// wire is done with them; returns when the write-back is visible.
    fn write_back(&mut self, from: u64, upto: u64, rid: Rid, sim: &mut Sim, up: &mut impl UpstreamPort) -> Time {
        let ring = self.ring_size as u64;
        self.counts.dma_requests += 1;
        let at = self.wire_free;
        let visible =
            up.dma(rid, DmaRequest::write(tx_desc_iova(self.index, from % ring, 0), 16), at, sim).unwrap_or(at);
        for idx in from..upto {
            let addr = tx_desc_iova(self.index, idx % ring, field::WORD_CTRL);
            let (_, c_new) = up.dma_sample(rid, addr, at);
            let (_, a_new) = up.dma_sample(rid, tx_desc_iova(self.index, idx % ring, field::WORD_ADDR), at);
            if let Ok(d) = TxDesc::from_words([a_new, c_new])
                && d.rs()
            {
                up.dma_store(rid, addr, d.written_back().to_words()[field::WORD_CTRL], visible);
                self.counts.completions += 1;
            }
        }
        visible
    }
}
