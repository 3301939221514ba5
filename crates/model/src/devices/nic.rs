//! The NIC's receive side: RX queues with descriptor rings, lazy arrivals,
//! interrupt coalescing, per-queue interrupt enable, and the MSI-X function.
//!
//! * A frame is written to its queue's ring by DMA `dma_write` after its last
//!   bit arrives; a full ring drops it (`rx_ring_full`, the NIC's
//!   rx_missed/no-buffer counter). The driver refills descriptors as NAPI
//!   consumes them, so ring occupancy = arrived − polled.
//! * Each queue has an interrupt-enable bit (like ixgbe's EIMS/EIMC): the
//!   driver's top half clears it and `napi_complete_done` sets it again.
//!   While it is clear the queue raises nothing and costs no events.
//! * Coalescing follows ethtool's rule (specs.md §7.3): once enabled, the
//!   queue interrupts when `rx-usecs` have passed since the first unreported
//!   packet, or `rx-frames` packets are waiting, whichever comes first.
//! * Raising an interrupt is a `notify` on the MSI-X function (hw::msix): a
//!   masked vector sets its pending bit; otherwise the function emits the
//!   programmed address/data write.
//!
//! Arrivals are generated lazily (design brief §8): a queue materialises
//! the frames that have landed up to the time it is observed, and looks ahead
//! only as far as the coalescing rule needs.

use crate::config::{CoalesceConfig, InterruptMode};
use crate::ids::{FlowId, QueueId};
use crate::workload::traffic::{ArrivalGen, Packet};
use irqlab_engine::{Dur, Time};
use std::collections::VecDeque;

/// One RX queue.
pub struct RxQueue {
    ring: VecDeque<Packet>,
    capacity: usize,
    ahead: VecDeque<Packet>,
    source: ArrivalGen,
    source_done: bool,
    /// Interrupt enable (EIMS bit): whether an arrival may raise the vector.
    pub irq_enabled: bool,
    /// When the interrupt was last enabled (coalescing starts no earlier).
    pub enabled_at: Time,
    /// Generation of this queue's pending watch event.
    pub watch_gen: u32,
    /// Frames at the head of the ring already reported by an interrupt
    /// (the coalescing rule only counts the ones after them).
    reported: usize,
    /// Frames that reached the queue (DMA landed).
    pub offered: u64,
    /// Frames dropped because every descriptor was full.
    pub dropped_ring_full: u64,
    /// Interrupts the queue raised (MSI-X notifies).
    pub raised: u64,
}

impl RxQueue {
    /// A queue with `capacity` descriptors fed by `source`.
    pub fn new(capacity: u32, source: ArrivalGen) -> RxQueue {
        RxQueue {
            ring: VecDeque::with_capacity(capacity as usize),
            capacity: capacity as usize,
            ahead: VecDeque::with_capacity(64),
            source,
            source_done: false,
            irq_enabled: false,
            enabled_at: Time::ZERO,
            watch_gen: 0,
            reported: 0,
            offered: 0,
            dropped_ring_full: 0,
            raised: 0,
        }
    }

    /// Frames in the ring now (filled descriptors not yet polled).
    pub fn ring_len(&self) -> usize {
        self.ring.len()
    }

    fn fill_ahead(&mut self, n: usize) {
        while self.ahead.len() < n && !self.source_done {
            match self.source.next_packet() {
                Some(p) => self.ahead.push_back(p),
                None => self.source_done = true,
            }
        }
    }

    /// The time the `n`-th future frame (1-based) lands in the ring.
    fn nth_landing(&mut self, n: usize, dma: Dur) -> Time {
        self.fill_ahead(n);
        self.ahead.get(n - 1).map_or(Time::NEVER, |p| p.wire + dma)
    }

    /// Lands every frame whose DMA completed by `now`.
    pub fn advance(&mut self, now: Time, dma: Dur) {
        loop {
            self.fill_ahead(1);
            match self.ahead.front() {
                Some(p) if p.wire + dma <= now => {
                    let p = self.ahead.pop_front().expect("front exists");
                    self.offered += 1;
                    if self.ring.len() >= self.capacity {
                        self.dropped_ring_full += 1;
                    } else {
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

    /// Frames in the ring at the end of a run (in flight).
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

/// The NIC's RX side.
pub struct Nic {
    /// The queues, indexed by [`QueueId`].
    pub queues: Vec<RxQueue>,
    /// Coalescing settings.
    pub coalesce: CoalesceConfig,
    /// How it signals interrupts.
    pub mode: InterruptMode,
    /// EIAM: the NIC masks a queue's interrupt itself when it fires.
    pub auto_mask: bool,
    /// The MSI-X function: table, PBA, masks (used in `msix` mode).
    pub msix: irqlab_hw::msix::MsixFunction,
    /// The MSI capability's programmed message (`msi` mode).
    pub msi_message: Option<MsiMessage>,
    /// IO-APIC pin of the INTx line (`intx` mode).
    pub intx_pin: u8,
    /// Interrupt cause register (ICR): bit q set while queue q has an
    /// unreported interrupt (`msi` and `intx` modes). Reading it clears it
    /// (read-to-clear); writing 1s clears those bits (write-1-to-clear).
    pub icr: u64,
}

impl Nic {
    /// Queue by id.
    pub fn queue(&mut self, q: QueueId) -> &mut RxQueue {
        &mut self.queues[q.idx()]
    }
}

use crate::machine::{Event, Machine};
use crate::platform::ioapic::LineSource;
use irqlab_hw::msi::MsiMessage;
use irqlab_hw::msix::NotifyOutcome;

impl Machine {
    /// The driver sets the queue's interrupt-enable bit (EIMS write): the
    /// coalescing rule starts over, and frames already waiting count.
    pub(crate) fn nic_enable_irq(&mut self, q: QueueId, now: Time) {
        let queue = self.nic.queue(q);
        queue.irq_enabled = true;
        queue.enabled_at = now;
        queue.clear_reported();
        queue.watch_gen = queue.watch_gen.wrapping_add(1);
        let epoch = queue.watch_gen;
        self.queue_watch(q, epoch, now);
    }

    /// The driver clears the queue's interrupt-enable bit (EIMC write).
    pub(crate) fn nic_disable_irq(&mut self, q: QueueId) {
        let queue = self.nic.queue(q);
        queue.irq_enabled = false;
        queue.watch_gen = queue.watch_gen.wrapping_add(1);
    }

    /// Re-evaluates an enabled queue's interrupt condition.
    pub(crate) fn queue_watch(&mut self, q: QueueId, epoch: u32, now: Time) {
        let dma = self.costs.dma_write;
        let coalesce = self.nic.coalesce.clone();
        let queue = self.nic.queue(q);
        if epoch != queue.watch_gen || !queue.irq_enabled {
            return;
        }
        queue.advance(now, dma);
        let deadline = queue.coalesce_deadline(now, &coalesce, dma);
        if deadline <= now && queue.ring_len() > queue.reported {
            self.nic_raise(q, now);
        } else if deadline != Time::NEVER {
            self.events.schedule(deadline.max(now), Event::QueueWatch { queue: q, epoch });
        }
    }

    /// The queue raises its interrupt. With `nic.auto_mask` (EIAM) the NIC
    /// clears the queue's enable bit itself; otherwise the queue stays
    /// enabled and interrupts again for later frames until the driver's top
    /// half masks it. `msix`: a notify on the queue's MSI-X entry. `msi`: the
    /// queue's cause bit is set and the MSI message is sent. `intx`: the
    /// cause bit is set and the line follows the cause register.
    fn nic_raise(&mut self, q: QueueId, now: Time) {
        if self.nic.auto_mask {
            self.nic_disable_irq(q);
        } else {
            // Still enabled: what is in the ring is reported; watch for the next frames.
            let queue = self.nic.queue(q);
            queue.mark_reported();
            let epoch = queue.watch_gen;
            self.queue_watch(q, epoch, now);
        }
        self.nic.queue(q).raised += 1;
        match self.nic.mode {
            InterruptMode::Msix => {
                self.stats.msix.raised += 1;
                // Queue i owns MSI-X entry i, which exists (table size = queues).
                match self.nic.msix.notify(q.idx() as u16) {
                    Ok(NotifyOutcome::Sent(msg)) => self.send_msi(msg, now),
                    Ok(NotifyOutcome::PendingSet) => self.stats.msix.pending_set += 1,
                    Ok(NotifyOutcome::PendingAlreadySet) => self.stats.msix.pending_coalesced += 1,
                    Err(_) => self.stats.msix.no_entry += 1,
                }
            }
            InterruptMode::Msi => {
                self.nic.icr |= 1 << q.0;
                self.stats.msi_cap.raised += 1;
                match self.nic.msi_message {
                    Some(msg) => {
                        self.stats.msi_cap.sent += 1;
                        self.post_message(msg, now);
                    }
                    None => self.stats.msi_cap.unprogrammed += 1,
                }
            }
            InterruptMode::Intx => {
                self.nic.icr |= 1 << q.0;
                self.stats.intx_raised += 1;
                self.nic_update_line(now);
            }
        }
    }

    /// The INTx output follows the cause register.
    fn nic_update_line(&mut self, now: Time) {
        if self.nic.mode == InterruptMode::Intx {
            let pin = self.nic.intx_pin;
            let level = self.nic.icr != 0;
            self.set_irq_line(pin, LineSource::Nic, level, now);
        }
    }

    /// Programs a flow filter (ntuple / aRFS `ndo_rx_flow_steer`): `flow`'s
    /// packets go to queue `to` from now on, overriding RSS.
    pub(crate) fn nic_steer_flow(&mut self, flow: FlowId, from: QueueId, to: QueueId, now: Time) {
        let Some(seq) = self.nic.queue(from).remove_flow(flow) else { return };
        self.nic.queue(to).add_flow(flow, seq, now);
        for q in [from, to] {
            // The queue's arrival rate changed: re-evaluate a pending watch.
            if self.nic.queue(q).irq_enabled {
                let queue = self.nic.queue(q);
                queue.watch_gen = queue.watch_gen.wrapping_add(1);
                let epoch = queue.watch_gen;
                self.queue_watch(q, epoch, now);
            }
        }
    }

    /// The driver reads the cause register (read-to-clear).
    pub(crate) fn nic_read_icr(&mut self, now: Time) -> u64 {
        let bits = std::mem::take(&mut self.nic.icr);
        self.nic_update_line(now);
        bits
    }

    /// The driver writes 1s to cause bits (write-1-to-clear).
    pub(crate) fn nic_clear_cause(&mut self, bits: u64, now: Time) {
        self.nic.icr &= !bits;
        self.nic_update_line(now);
    }

    /// The MSI-X function writes a message to the bus; it reaches the
    /// platform after the posted-write latency.
    pub(crate) fn send_msi(&mut self, msg: MsiMessage, now: Time) {
        self.stats.msix.sent += 1;
        self.post_message(msg, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ArrivalKind, WorkloadConfig};
    use crate::ids::FlowId;
    use irqlab_engine::RngStreams;

    fn queue(ring: u32, pps: f64) -> RxQueue {
        let w = WorkloadConfig { arrival: ArrivalKind::Constant, rate_pps: Some(pps), ..Default::default() };
        RxQueue::new(ring, ArrivalGen::new(&w, vec![FlowId(0)], 1, RngStreams::new(3).stream(1)))
    }

    #[test]
    fn a_full_ring_drops_and_counts_every_frame() {
        let mut q = queue(8, 1e6);
        q.advance(Time(Dur::from_us(100).as_ps()), Dur::ZERO);
        assert_eq!(q.ring_len(), 8);
        assert_eq!(q.offered, 100);
        assert_eq!(q.dropped_ring_full, 92);
    }

    #[test]
    fn rx_frames_waits_for_the_nth_frame_and_rx_usecs_caps_the_wait() {
        let mut q = queue(512, 1e6); // one frame per µs
        let frames = CoalesceConfig { rx_usecs: 0, rx_frames: 4 };
        let t0 = q.coalesce_deadline(Time::ZERO, &frames, Dur::ZERO);
        // Empty ring: re-evaluate at the first landing.
        q.advance(t0, Dur::ZERO);
        assert_eq!(q.ring_len(), 1);
        let t4 = q.coalesce_deadline(t0, &frames, Dur::ZERO);
        assert_eq!(t4.0 - t0.0, 3_000_000, "the 4th frame lands 3 µs after the 1st");
        let both = CoalesceConfig { rx_usecs: 2, rx_frames: 4 };
        assert_eq!(q.coalesce_deadline(t0, &both, Dur::ZERO).0 - t0.0, 2_000_000);
    }

    #[test]
    fn without_coalescing_the_first_frame_fires_at_once() {
        let mut q = queue(512, 1e6);
        let off = CoalesceConfig { rx_usecs: 0, rx_frames: 1 };
        let t0 = q.coalesce_deadline(Time::ZERO, &off, Dur::ZERO);
        q.advance(t0, Dur::ZERO);
        assert_eq!(q.coalesce_deadline(t0, &off, Dur::ZERO), t0);
    }
}
