//! A NIC: its RX queues, the interrupt cause register, and the three ways
//! it signals — MSI-X (one vector per queue), MSI (one message) and INTx (a
//! line through the IO-APIC).
//!
//! The NIC reaches the rest of the machine only through its
//! [`UpstreamPort`]: MSI writes (with its requester ID), DMA requests and
//! its INTx pin. The driver reaches it through register operations: the
//! MSI-X table and mask bits (hw::msix), the MSI capability, the per-queue
//! interrupt enable (EIMS/EIMC), the cause register (read-to-clear,
//! write-1-to-clear) and flow filters.
//!
//! * Raising an interrupt is a `notify` on the MSI-X function: a masked
//!   vector sets its pending bit; otherwise the function emits the
//!   programmed address/data write. With `auto_mask` (EIAM) the NIC clears
//!   the queue's enable bit itself when it fires.
//! * In `msi` and `intx` modes a queue's interrupt sets its bit in the cause
//!   register; MSI sends the one message, INTx asserts the line while any
//!   cause bit is set.
//!
//! Frames arrive on the port in wire order (workload/traffic.rs) and are
//! split among the queues by RSS and flow filters as they are generated.
//! Generation is lazy: the NIC pulls the port's stream forward only as far
//! as an observed queue needs — up to the present to land its frames, or a
//! few frames ahead for the coalescing rule — and a generated frame waits
//! in its queue's look-ahead until it lands. A flow moved by a filter keeps
//! the frames already generated for its old queue.

pub mod backend;
pub mod rx;
pub mod tx;

use crate::config::{AdaptiveScheme, CoalesceConfig, InterruptMode, TxVectors};
use crate::ids::{FlowId, NicId, QueueId, Rid};
use crate::platform::ports::{DmaRequest, LineSource, UpstreamPort};
use crate::sim::{Event, Fault, Sim};
use crate::workload::traffic::{Packet, PortArrivals};
use irqlab_engine::{Dur, Time};
use irqlab_hw::msi::MsiMessage;
use irqlab_hw::msix::{MsixEntry, MsixFunction, NotifyOutcome};
use rx::RxQueue;
use serde::Serialize;
use tx::TxQueue;

/// MSI-X function counters.
#[derive(Clone, Debug, Default, Serialize)]
pub struct MsixStats {
    /// Interrupts the queues raised (notifies).
    pub raised: u64,
    /// Messages written to the bus.
    pub sent: u64,
    /// Notifies that found the vector masked and set its pending bit.
    pub pending_set: u64,
    /// Notifies that found the vector masked with its pending bit already set.
    pub pending_coalesced: u64,
    /// Pending bits released by an unmask and sent then.
    pub released: u64,
    /// Notifies for a vector beyond the table (a model bug if non-zero).
    pub no_entry: u64,
}

/// MSI capability counters.
#[derive(Clone, Debug, Default, Serialize)]
pub struct MsiCapStats {
    /// Queue interrupts raised through the single MSI.
    pub raised: u64,
    /// Messages sent.
    pub sent: u64,
    /// Raised before the driver programmed the capability (dropped).
    pub unprogrammed: u64,
}

/// Everything a NIC counts about its interrupts.
#[derive(Clone, Debug, Default, Serialize)]
pub struct NicIrqStats {
    /// MSI-X function.
    pub msix: MsixStats,
    /// MSI capability.
    pub msi_cap: MsiCapStats,
    /// Cause bits raised on the INTx line.
    pub intx_raised: u64,
}

impl NicSetup {
    /// Whether `rx-usecs` is an EITR throttle (a minimum gap between a
    /// queue's interrupts, ixgbe's adaptive scheme) rather than a timer.
    fn throttle(&self) -> bool {
        self.coalesce.adaptive_rx && self.coalesce.adaptive_scheme == AdaptiveScheme::IxgbeItr
    }

    /// Whether the `rx-usecs` timer restarts at each completion (mlx5's
    /// CQE-based moderation, `MLX5_CQ_PERIOD_MODE_START_FROM_CQE`: RX's
    /// default on devices that support it, and what net_dim's CQE
    /// profiles are for; Linux commit "net/mlx5e: CQE based moderation")
    /// rather than running from the first unreported frame (ethtool's
    /// `rx-usecs`, include/uapi/linux/ethtool.h).
    fn timer_restarts_per_completion(&self) -> bool {
        self.coalesce.adaptive_rx && self.coalesce.adaptive_scheme == AdaptiveScheme::NetDim
    }
}

/// The NIC's configuration that the model reads.
#[derive(Clone, Debug)]
pub struct NicSetup {
    /// Coalescing settings.
    pub coalesce: CoalesceConfig,
    /// How it signals interrupts.
    pub mode: InterruptMode,
    /// EIAM: the NIC masks a queue's interrupt itself when it fires.
    pub auto_mask: bool,
    /// IO-APIC pin of the INTx line (`intx` mode).
    pub intx_pin: u8,
    /// The DMA pipeline's latency from a frame's last bit to its landing.
    pub dma_write: Dur,
    /// Line rate, Gbit/s (bits per ns).
    pub line_rate_gbps: f64,
    /// The TX queue, if the scenario transmits: how its completions
    /// interrupt, its ring size and fetch size.
    pub tx: Option<(TxVectors, u32, u32)>,
    /// Header split: a frame's payload goes to its descriptor's data
    /// buffer (at offset 0), its headers to a separate header buffer.
    pub header_split: bool,
}

/// A NIC.
pub struct Nic {
    /// Which NIC it is.
    pub id: NicId,
    /// Its PCI requester ID.
    pub rid: Rid,
    setup: NicSetup,
    /// The RX queues, indexed by [`QueueId`].
    pub queues: Vec<RxQueue>,
    /// The TX queues (one when the scenario transmits; it pairs with RX queue 0).
    pub tx: Vec<TxQueue>,
    /// Separate TX vectors: whether each TX queue's interrupt is enabled.
    tx_irq_enabled: Vec<bool>,
    msix: MsixFunction,
    msi_message: Option<MsiMessage>,
    /// Interrupt cause register (ICR): bit q set while queue q has an
    /// unreported interrupt (`msi` and `intx` modes).
    icr: u64,
    /// The queue each flow's packets go to (RSS, then flow filters), as a
    /// 16-bit index (at most [`crate::config::MAX_QUEUES`] queues): with a
    /// million flows the table is 2 MB, read once a frame.
    flow_queue: Vec<u16>,
    /// Flows each queue receives.
    flows_on_queue: Vec<u32>,
    /// The port's arrivals.
    port: PortArrivals,
    /// When the last frame generated so far arrives.
    generated_to: Time,
    /// No frame arrives after this (the run's drain stops the traffic).
    cutoff: Time,
    /// The port's stream has ended.
    port_done: bool,
    /// Interrupt counters.
    pub stats: NicIrqStats,
    /// The host back end filling the rings and signalling the guest, when
    /// the NIC is a VM's virtio or emulated device (backend.rs).
    pub backend: Option<backend::Backend>,
}

impl Nic {
    /// A NIC with `queues` RX queues of `ring_size` descriptors (queue i
    /// owns MSI-X entry i), each flow on its RSS queue `flow_queue[f]`,
    /// fed by `port`.
    pub fn new(
        id: NicId,
        rid: Rid,
        setup: NicSetup,
        queues: u32,
        ring_size: u32,
        flow_queue: Vec<u16>,
        port: PortArrivals,
    ) -> Nic {
        let separate = matches!(setup.tx, Some((TxVectors::Separate, _, _)));
        let split = setup.header_split;
        let moderation = initial_moderation(&setup.coalesce, ring_size);
        let entries = queues as usize + separate as usize;
        let msix = MsixFunction::new(entries).expect("1..=2048 entries (validated)");
        let tx: Vec<TxQueue> = setup.tx.iter().map(|(_, ring, fetch)| TxQueue::new(0, *ring, *fetch)).collect();
        let mut flows_on_queue = vec![0; queues as usize];
        for &q in &flow_queue {
            flows_on_queue[usize::from(q)] += 1;
        }
        Nic {
            id,
            rid,
            setup,
            queues: (0..queues)
                .map(|q| {
                    let mut r = RxQueue::new(q, ring_size, split);
                    r.moderation = moderation;
                    r.nic = id;
                    r
                })
                .collect(),
            tx_irq_enabled: vec![false; tx.len()],
            tx,
            msix,
            msi_message: None,
            icr: 0,
            flow_queue,
            flows_on_queue,
            port,
            generated_to: Time::ZERO,
            cutoff: Time::NEVER,
            port_done: false,
            stats: NicIrqStats::default(),
            backend: None,
        }
    }

    // ---- the port's arrivals --------------------------------------------------

    /// Generates the port's next frame into its queue's look-ahead; `false`
    /// when the stream has ended.
    fn generate(&mut self) -> bool {
        if self.port_done {
            return false;
        }
        if self.port.replay().is_some() || self.backend.is_some() {
            return self.generate_served();
        }
        // On bare metal a generated frame goes from the port to its queue
        // in registers.
        match self.port.next_generated() {
            Some(p) if p.wire <= self.cutoff => {
                self.push_generated(p);
                true
            }
            _ => {
                self.port_done = true;
                false
            }
        }
    }

    /// The next frame of a replayed capture, or one a host back end serves
    /// before it reaches the ring.
    #[cold]
    #[inline(never)]
    fn generate_served(&mut self) -> bool {
        let Some(p) = self.port.next_packet().filter(|p| p.wire <= self.cutoff) else {
            self.port_done = true;
            return false;
        };
        let dma = self.setup.dma_write;
        match self.backend.as_mut() {
            // Dropped at the host (its tap queue full): the next one.
            Some(b) => {
                if let Some(p) = b.serve(p, dma) {
                    self.push_generated(p);
                }
            }
            None => self.push_generated(p),
        }
        true
    }

    /// A generated frame joins its RSS queue's look-ahead.
    #[inline]
    fn push_generated(&mut self, p: Packet) {
        self.generated_to = p.wire;
        if let Some(f) = self.port.furthest_flow() {
            irqlab_engine::hint::prefetch(&self.flow_queue[f.idx()]);
        }
        let q = self.flow_queue[p.flow.idx()];
        self.queues[usize::from(q)].push_ahead(p);
    }

    /// Generates every frame that lands by `now`.
    fn generate_until(&mut self, now: Time) {
        while self.generated_to + self.setup.dma_write <= now && self.generate() {}
        // A replay counts its frames as they would land, as the queues count theirs.
        self.port.count_until(Time(now.0.saturating_sub(self.setup.dma_write.0)));
    }

    /// The replay of a capture feeding the port, if any.
    pub fn replay(&self) -> Option<&crate::workload::replay::Replay> {
        self.port.replay()
    }

    /// Lands queue `q`'s frames up to now.
    fn advance(&mut self, q: QueueId, sim: &mut Sim, up: &mut impl UpstreamPort) {
        let now = sim.now();
        self.generate_until(now);
        let mut late = Vec::new();
        let full = self.queues[q.idx()].counts.dropped_ring_full;
        self.queues[q.idx()].land(now, self.setup.dma_write, self.rid, sim, up, &mut late);
        self.schedule_late(late, sim);
        self.note_ring_full(q, full);
    }

    /// A back end that found queue `q`'s ring full since it had dropped
    /// `before` frames there waits for the guest's kick (virtio).
    fn note_ring_full(&mut self, q: QueueId, before: u64) {
        if let Some(b) = self.backend.as_mut()
            && self.queues[q.idx()].counts.dropped_ring_full > before
        {
            b.ring_full(q);
        }
    }

    /// The guest refills queue `q` (its RX tail write): whether the refill
    /// must notify the device — a virtio kick vhost asked for.
    pub fn refill_wants_kick(&self, q: QueueId) -> bool {
        self.backend.as_ref().is_some_and(|b| b.wants_kick(q))
    }

    /// A guest kick (ioeventfd) on queue `q` reaches the back end.
    pub fn kick(&mut self, q: QueueId) {
        if let Some(b) = self.backend.as_mut() {
            b.kicked(q);
        }
    }

    /// irqfd signals the back end sent.
    pub fn irqfd_signals(&self) -> u64 {
        self.backend.as_ref().map_or(0, |b| b.counts.irqfd_signals)
    }

    /// Schedules a misbehaving NIC's late writes.
    fn schedule_late(&mut self, late: Vec<rx::LateWrite>, sim: &mut Sim) {
        // A queue observed late lands frames whose late write is already
        // due: it goes out now.
        let now = sim.now();
        for w in late {
            sim.at(w.at.max(now), Event::LateDma { nic: self.id, iova: w.iova, bytes: w.bytes });
        }
    }

    /// A misbehaving NIC writes a buffer it has already handed to the
    /// driver (`[[attackers]]` kind `late_dma`).
    pub fn late_dma(&mut self, iova: u64, bytes: u32, sim: &mut Sim, up: &mut impl UpstreamPort) {
        let now = sim.now();
        if let Some(q) = self.queues.first_mut() {
            q.counts.late_writes += 1;
            q.counts.dma_requests += 1;
        }
        if up.dma(self.rid, DmaRequest::rogue_write(iova, bytes), now, sim).is_ok()
            && let Some(q) = self.queues.first_mut()
        {
            q.counts.late_landed += 1;
        }
    }

    /// Late writes that landed (nothing refused them).
    pub fn late_landed(&self) -> u64 {
        self.queues.first().map_or(0, |q| q.counts.late_landed)
    }

    /// Makes every `every`-th frame be written to `target` instead of its
    /// buffer (a misbehaving NIC).
    pub fn set_misdirect(&mut self, every: u32, target: crate::config::AttackTarget) {
        let victim = (self.queues.len() as u32, self.queues.first().map_or(0, |q| q.capacity()));
        for q in &mut self.queues {
            q.misdirect = Some((every, target, victim));
        }
    }

    /// Makes every `every`-th landed frame's buffer be written again
    /// `delay` after it landed (a misbehaving NIC).
    pub fn set_late_dma(&mut self, delay: Dur, every: u32) {
        for q in &mut self.queues {
            q.late = Some((delay, every));
        }
    }

    /// When the `n`-th frame (1-based) not yet landed in queue `q` lands;
    /// `Time::NEVER` if it never will.
    /// When queue `q`'s next frame lands in its ring if nothing stalls it
    /// ([`Time::NEVER`] when no frame will come): what a driver polling the
    /// ring would see first.
    pub fn rx_next_landing(&mut self, q: QueueId) -> Time {
        self.nth_landing(q, 1)
    }

    fn nth_landing(&mut self, q: QueueId, n: usize) -> Time {
        while self.queues[q.idx()].ahead_len() < n {
            if self.flows_on_queue[q.idx()] == 0 || !self.generate() {
                return Time::NEVER;
            }
        }
        let dma = self.setup.dma_write;
        let queue = &self.queues[q.idx()];
        let head = queue.head_landing(dma).unwrap_or(Time::NEVER);
        queue.ahead(n - 1).map_or(Time::NEVER, |p| (p.wire + dma).max(head))
    }

    /// When queue `q`'s enabled interrupt should fire under the coalescing
    /// rule, looking at its ring as of `now` (landed first). `Time::NEVER`
    /// if nothing will ever arrive; a time in the future with nothing
    /// unreported is the next landing, when the rule must be evaluated again.
    fn coalesce_deadline(&mut self, q: QueueId, now: Time) -> Time {
        let dma = self.setup.dma_write;
        let queue = &self.queues[q.idx()];
        let (rx_usecs, frames) = (queue.moderation.0, queue.moderation.1 as usize);
        let Some(first) = queue.first_unreported() else {
            return self.nth_landing(q, 1).max(now);
        };
        if self.setup.throttle() {
            // An EITR throttle: no sooner than the interval after the
            // queue's previous interrupt, at once for a frame after that.
            let gap = queue.last_raise.map_or(Time::ZERO, |t| t + Dur::from_us(rx_usecs as u64));
            return (first.wire + dma).max(gap).max(now);
        }
        if self.setup.timer_restarts_per_completion() && rx_usecs > 0 && frames > 0 {
            return self.cqe_deadline(q, now);
        }
        let start = (first.wire + dma).max(queue.enabled_at);
        let by_time = if rx_usecs > 0 { start + Dur::from_us(rx_usecs as u64) } else { Time::NEVER };
        let unreported = queue.unreported();
        let by_frames = if frames == 0 {
            Time::NEVER
        } else if unreported >= frames {
            now
        } else {
            self.nth_landing(q, frames - unreported)
        };
        by_time.min(by_frames).max(now)
    }

    /// [`Self::coalesce_deadline`] under CQE-based moderation, with frames
    /// unreported: the timer restarts as each frame lands, so the
    /// interrupt comes `rx-usecs` after the newest frame — once the traffic
    /// pauses that long — or as the `rx-frames`-th unreported frame lands.
    /// ("For bursty traffic the period timer will never expire and thus
    /// only the moderation frames counter will dictate interrupt
    /// generation … If the burst seizes [sic] for "moderation period" time
    /// then an interrupt will be issued immediately.") The frames still to
    /// come are in the port's look-ahead: each one landing before the
    /// timer expires restarts it, up to the frame count.
    fn cqe_deadline(&mut self, q: QueueId, now: Time) -> Time {
        let dma = self.setup.dma_write;
        let queue = &self.queues[q.idx()];
        let (period, frames) = (Dur::from_us(queue.moderation.0 as u64), queue.moderation.1 as usize);
        let mut waiting = queue.unreported();
        if waiting >= frames {
            return now;
        }
        let newest = queue.newest().expect("frames are unreported");
        // The timer counts from no earlier than the interrupt's enabling,
        // as for the timer from the first frame.
        let mut expiry = (newest.wire + dma).max(queue.enabled_at) + period;
        // The frames to come, in order (`Time::NEVER` once none will).
        for n in 1.. {
            let lands = self.nth_landing(q, n);
            if lands >= expiry {
                break;
            }
            waiting += 1;
            if waiting >= frames {
                return lands.max(now);
            }
            expiry = lands + period;
        }
        expiry.max(now)
    }

    /// The driver writes queue `q`'s moderation registers (adaptive
    /// moderation changing its profile); the next coalescing decision uses
    /// them. Frames beyond the ring are clamped to it.
    pub fn set_moderation(&mut self, q: QueueId, rx_usecs: u32, rx_frames: u32) {
        let queue = &mut self.queues[q.idx()];
        queue.moderation = (rx_usecs, rx_frames.min(queue.capacity()));
        queue.counts.moderation_changes += 1;
    }

    /// How it signals interrupts.
    pub fn mode(&self) -> InterruptMode {
        self.setup.mode
    }

    /// Whether queue `q`'s enabled interrupt waits, under frame-count-only
    /// coalescing (`rx-usecs` 0), for more frames than it holds, none of
    /// them reported yet: it fires only when enough frames arrive.
    pub fn waits_for_frames(&self, q: QueueId) -> bool {
        let queue = &self.queues[q.idx()];
        let (rx_usecs, rx_frames) = queue.moderation;
        let none_reported = queue.unreported() == queue.ring_len();
        queue.irq_enabled && rx_usecs == 0 && none_reported && (rx_frames as usize) > queue.ring_len()
    }

    /// The IO-APIC pin its INTx line is wired to.
    pub fn intx_pin(&self) -> u8 {
        self.setup.intx_pin
    }

    /// Whether the NIC masks a queue itself when it fires (EIAM).
    pub fn auto_mask(&self) -> bool {
        self.setup.auto_mask
    }

    /// The queue `flow`'s packets go to now.
    pub fn flow_queue(&self, flow: FlowId) -> QueueId {
        QueueId(self.flow_queue[flow.idx()].into())
    }

    /// The queue each flow's packets go to now, flow by flow.
    pub fn flow_queues(&self) -> impl ExactSizeIterator<Item = QueueId> + '_ {
        self.flow_queue.iter().map(|&q| QueueId(q.into()))
    }

    /// How many flows go to each queue now.
    pub fn flows_per_queue(&self) -> &[u32] {
        &self.flows_on_queue
    }

    // ---- the MSI-X function and the MSI capability ------------------------

    /// Writes MSI-X table entry `entry`.
    pub fn msix_write_entry(&mut self, entry: u16, e: MsixEntry) {
        let written = self.msix.write_entry(entry, e);
        debug_assert!(written.is_ok(), "the driver writes existing entries");
    }

    /// Whether MSI-X entry `entry` is masked.
    pub fn msix_masked(&self, entry: u16) -> bool {
        self.msix.is_masked(entry).unwrap_or(true)
    }

    /// Sets an entry's mask bit; unmasking sends a pending message.
    pub fn msix_set_masked(&mut self, entry: u16, masked: bool, sim: &mut Sim, up: &mut impl UpstreamPort) {
        if let Ok(Some(msg)) = self.msix.set_masked(entry, masked) {
            if sim.faults.fire(Fault::PendingBitLost) {
                return;
            }
            self.stats.msix.released += 1;
            self.send_msix(msg, sim, up);
        }
    }

    /// Enables MSI-X and clears the function mask (driver probe); pending
    /// messages go out.
    pub fn msix_enable(&mut self, sim: &mut Sim, up: &mut impl UpstreamPort) {
        let mut released = self.msix.set_enabled(true);
        released.extend(self.msix.set_function_mask(false));
        for (_, msg) in released {
            self.stats.msix.released += 1;
            self.send_msix(msg, sim, up);
        }
    }

    /// Programs the MSI capability's message.
    pub fn msi_set_message(&mut self, msg: MsiMessage) {
        self.msi_message = Some(msg);
    }

    fn send_msix(&mut self, msg: MsiMessage, sim: &mut Sim, up: &mut impl UpstreamPort) {
        self.stats.msix.sent += 1;
        if sim.faults.fire(Fault::NicSkipsWrite) {
            return;
        }
        if let Some(b) = self.backend.as_mut() {
            // The back end's eventfd_signal on the vector's irqfd: KVM
            // delivers the entry's message to the guest (kernel/guest.rs).
            let at = b.signal(sim.now());
            sim.at(at, Event::Irqfd { nic: self.id, address: msg.address, data: msg.data });
            return;
        }
        up.msi_write(self.rid, msg.address, msg.data, sim);
    }

    // ---- per-queue interrupt enable and coalescing -------------------------

    /// The driver sets the queue's interrupt-enable bit (EIMS write): the
    /// coalescing rule starts over, and frames already waiting count.
    pub fn enable_irq(&mut self, q: QueueId, sim: &mut Sim, up: &mut impl UpstreamPort) {
        let now = sim.now();
        let queue = &mut self.queues[q.idx()];
        queue.irq_enabled = true;
        queue.enabled_at = now;
        queue.clear_reported();
        let epoch = queue.next_watch_generation(sim);
        self.watch(q, epoch, sim, up);
    }

    /// The driver clears the queue's interrupt-enable bit (EIMC write).
    pub fn disable_irq(&mut self, q: QueueId, sim: &mut Sim) {
        let queue = &mut self.queues[q.idx()];
        queue.irq_enabled = false;
        queue.next_watch_generation(sim);
    }

    /// A watch event fired: the queue's timer is empty again if it held it.
    pub fn watch_fired(&mut self, q: QueueId, epoch: u32, timer: bool, sim: &mut Sim, up: &mut impl UpstreamPort) {
        if timer {
            self.queues[q.idx()].watch_armed = None;
        }
        self.watch(q, epoch, sim, up);
    }

    /// Re-evaluates an enabled queue's interrupt condition.
    pub fn watch(&mut self, q: QueueId, epoch: u32, sim: &mut Sim, up: &mut impl UpstreamPort) {
        let now = sim.now();
        let queue = &self.queues[q.idx()];
        if epoch != queue.watch_gen || !queue.irq_enabled {
            return;
        }
        self.advance(q, sim, up);
        if self.queues[q.idx()].tx_pending > 0 {
            // TX completions interrupt at once (no TX coalescing modelled).
            self.raise(q, sim, up);
            return;
        }
        let deadline = self.coalesce_deadline(q, now);
        if deadline <= now && self.queues[q.idx()].has_unreported() {
            self.raise(q, sim, up);
        } else if deadline != Time::NEVER {
            let at = deadline.max(now);
            let queue = &mut self.queues[q.idx()];
            match queue.watch_timer {
                // The timer is empty (a new generation emptied it): set it.
                // (One of this generation still pending, as a TX
                // completion's raise can leave, stays: this one is a
                // one-shot event beside it.)
                Some(t) if queue.watch_armed.is_none() => {
                    queue.watch_armed = Some(epoch);
                    sim.at_timer(t, at, Event::RxWatch { nic: self.id, queue: q, epoch, timer: true });
                }
                _ => sim.at(at, Event::RxWatch { nic: self.id, queue: q, epoch, timer: false }),
            }
        }
    }

    /// The queue raises its interrupt. With `auto_mask` (EIAM) the NIC
    /// clears the queue's enable bit itself; otherwise the queue stays
    /// enabled and interrupts again for later frames until the driver's top
    /// half masks it.
    fn raise(&mut self, q: QueueId, sim: &mut Sim, up: &mut impl UpstreamPort) {
        self.queues[q.idx()].tx_pending = 0;
        if self.setup.auto_mask {
            self.disable_irq(q, sim);
        } else {
            // Still enabled: what is in the ring is reported; watch for the next frames.
            let queue = &mut self.queues[q.idx()];
            queue.mark_reported();
            let epoch = queue.watch_gen;
            self.watch(q, epoch, sim, up);
        }
        let queue = &mut self.queues[q.idx()];
        queue.counts.raised += 1;
        queue.last_raise = Some(sim.now());
        queue.raised_at.get_or_insert(sim.now());
        match self.setup.mode {
            // Queue i owns MSI-X entry i, which exists (table size ≥ queues).
            InterruptMode::Msix => self.notify_msix(q.idx() as u16, sim, up),
            InterruptMode::Msi => {
                self.icr |= 1 << q.0;
                self.stats.msi_cap.raised += 1;
                match self.msi_message {
                    Some(msg) => {
                        self.stats.msi_cap.sent += 1;
                        up.msi_write(self.rid, msg.address, msg.data, sim);
                    }
                    None => self.stats.msi_cap.unprogrammed += 1,
                }
            }
            InterruptMode::Intx => {
                self.icr |= 1 << q.0;
                self.stats.intx_raised += 1;
                self.update_line(sim, up);
            }
        }
    }

    /// A notify on MSI-X entry `entry`: the message goes out, or the
    /// Pending bit is set while the entry is masked.
    fn notify_msix(&mut self, entry: u16, sim: &mut Sim, up: &mut impl UpstreamPort) {
        self.stats.msix.raised += 1;
        if sim.faults.fire(Fault::NotifyLost) {
            return;
        }
        match self.msix.notify(entry) {
            Ok(NotifyOutcome::Sent(msg)) => self.send_msix(msg, sim, up),
            Ok(NotifyOutcome::PendingSet) => self.stats.msix.pending_set += 1,
            Ok(NotifyOutcome::PendingAlreadySet) => self.stats.msix.pending_coalesced += 1,
            Err(_) => self.stats.msix.no_entry += 1,
        }
    }

    // ---- the transmit side ----------------------------------------------------

    /// The MSI-X entry of TX queue `q`'s own vector (after the RX queues').
    pub fn tx_entry(&self, q: u32) -> u16 {
        (self.queues.len() as u32 + q) as u16
    }

    /// How TX completions interrupt.
    pub fn tx_vectors(&self) -> Option<TxVectors> {
        self.setup.tx.map(|(v, _, _)| v)
    }

    /// A TX doorbell carrying `tail` arrived.
    pub fn tx_doorbell(&mut self, q: u32, tail: u64, sim: &mut Sim, up: &mut impl UpstreamPort) {
        if self.tx[q as usize].doorbell(tail) {
            self.tx_start_fetch(q, sim, up);
        }
    }

    fn tx_start_fetch(&mut self, q: u32, sim: &mut Sim, up: &mut impl UpstreamPort) {
        let done = self.tx[q as usize].start_fetch(self.rid, sim, up);
        sim.at(done, Event::TxFetchDone { nic: self.id, queue: q });
    }

    /// A TX descriptor fetch completed: transmit, write back, fetch on.
    pub fn tx_fetch_done(&mut self, q: u32, sim: &mut Sim, up: &mut impl UpstreamPort) {
        let gbps = self.setup.line_rate_gbps;
        let frame_time =
            |bytes: u16| Dur::from_ns_f64((bytes as u32 + crate::config::WIRE_OVERHEAD_BYTES) as f64 * 8.0 / gbps);
        let f = self.tx[q as usize].fetch_done(self.rid, sim, up, frame_time);
        if let Some((_, at)) = f.complete {
            sim.at(at, Event::TxComplete { nic: self.id, queue: q });
        }
        if f.fetch_again {
            self.tx_start_fetch(q, sim, up);
        }
    }

    /// A DD write-back of TX queue `q` is visible: its interrupt, on the
    /// queue pair's vector or on its own, unless masked.
    pub fn tx_complete(&mut self, q: u32, sim: &mut Sim, up: &mut impl UpstreamPort) {
        self.tx[q as usize].unreported += 1;
        match self.tx_vectors() {
            Some(TxVectors::Txrx) => {
                let pair = QueueId(q);
                self.queues[pair.idx()].tx_pending += 1;
                if self.queues[pair.idx()].irq_enabled {
                    self.tx[q as usize].counts.interrupts += 1;
                    self.raise(pair, sim, up);
                }
            }
            Some(TxVectors::Separate) => self.tx_raise(q, sim, up),
            None => {}
        }
    }

    fn tx_raise(&mut self, q: u32, sim: &mut Sim, up: &mut impl UpstreamPort) {
        let t = q as usize;
        if !self.tx_irq_enabled[t] || self.tx[t].unreported == 0 {
            return;
        }
        self.tx[t].unreported = 0;
        self.tx[t].counts.interrupts += 1;
        if self.setup.auto_mask {
            self.tx_irq_enabled[t] = false;
        }
        let entry = self.tx_entry(q);
        self.notify_msix(entry, sim, up);
    }

    /// The driver enables TX queue `q`'s own interrupt; completions already
    /// written interrupt at once.
    pub fn tx_enable_irq(&mut self, q: u32, sim: &mut Sim, up: &mut impl UpstreamPort) {
        self.tx_irq_enabled[q as usize] = true;
        self.tx_raise(q, sim, up);
    }

    /// The driver masks TX queue `q`'s own interrupt in the device.
    pub fn tx_disable_irq(&mut self, q: u32) {
        self.tx_irq_enabled[q as usize] = false;
    }

    /// The INTx output follows the cause register.
    fn update_line(&mut self, sim: &mut Sim, up: &mut impl UpstreamPort) {
        if self.setup.mode == InterruptMode::Intx {
            up.intx(self.setup.intx_pin, LineSource::Nic(self.id.0), self.icr != 0, sim);
        }
    }

    /// The driver reads the cause register (read-to-clear).
    pub fn read_icr(&mut self, sim: &mut Sim, up: &mut impl UpstreamPort) -> u64 {
        let bits = std::mem::take(&mut self.icr);
        self.update_line(sim, up);
        bits
    }

    /// The cause register's bits, without clearing them (a peek).
    pub fn peek_icr(&self) -> u64 {
        self.icr
    }

    /// The driver writes 1s to cause bits (write-1-to-clear).
    pub fn clear_cause(&mut self, bits: u64, sim: &mut Sim, up: &mut impl UpstreamPort) {
        self.icr &= !bits;
        self.update_line(sim, up);
    }

    // ---- the receive rings --------------------------------------------------

    /// Lands `q`'s frames up to now and takes up to `max` of them (a poll).
    pub fn rx_take(
        &mut self,
        q: QueueId,
        max: usize,
        out: &mut Vec<Packet>,
        sim: &mut Sim,
        up: &mut impl UpstreamPort,
    ) -> usize {
        self.advance(q, sim, up);
        let n = self.queues[q.idx()].take(max, out);
        if n > 0 && sim.faults.fire(Fault::DriverLosesFrame) {
            out.pop();
        }
        if sim.trace.is_some() {
            let now = sim.now();
            if let Some(tr) = sim.trace.as_deref_mut() {
                tr.rx_taken(self.id, q, now, self.queues[q.idx()].ring_len());
            }
        }
        n
    }

    /// The driver writes queue `q`'s RX tail (free-running): the buffers
    /// it refilled are the NIC's to fill.
    pub fn rx_write_tail(&mut self, q: QueueId, tail: u64) {
        self.queues[q.idx()].write_tail(tail);
    }

    /// Lands every queue's frames up to now (end of a run).
    pub fn rx_settle(&mut self, sim: &mut Sim, up: &mut impl UpstreamPort) {
        let (now, dma, rid) = (sim.now(), self.setup.dma_write, self.rid);
        self.generate_until(now);
        let mut late = Vec::new();
        for i in 0..self.queues.len() {
            let full = self.queues[i].counts.dropped_ring_full;
            self.queues[i].land(now, dma, rid, sim, up, &mut late);
            self.note_ring_full(QueueId(i as u32), full);
        }
        self.schedule_late(late, sim);
    }

    /// Programs a flow filter (ntuple / aRFS `ndo_rx_flow_steer`): `flow`'s
    /// packets go to queue `to` from now on, overriding RSS.
    pub fn steer_flow(&mut self, flow: FlowId, to: QueueId, sim: &mut Sim, up: &mut impl UpstreamPort) {
        let from = self.flow_queue(flow);
        if from == to {
            return;
        }
        // A queue of this NIC: its index fits 16 bits.
        self.flow_queue[flow.idx()] = to.0 as u16;
        self.flows_on_queue[from.idx()] -= 1;
        self.flows_on_queue[to.idx()] += 1;
        for q in [from, to] {
            // The queue's arrival rate changed: re-evaluate a pending watch.
            if self.queues[q.idx()].irq_enabled {
                let epoch = self.queues[q.idx()].next_watch_generation(sim);
                self.watch(q, epoch, sim, up);
            }
        }
    }

    /// The wire falls silent after `at`.
    pub fn stop_arrivals(&mut self, at: Time) {
        self.cutoff = at;
        for q in &mut self.queues {
            q.truncate_ahead(at);
        }
    }

    /// The MSI-X Pending bits set now.
    pub fn msix_pending_bits(&self) -> u64 {
        self.msix.pba().iter().map(|w| w.count_ones() as u64).sum()
    }

    /// DMA requests the NIC issued.
    pub fn dma_requests(&self) -> u64 {
        let rx: u64 = self.queues.iter().map(|q| q.counts.dma_requests).sum();
        rx + self.tx.iter().map(|q| q.counts.dma_requests).sum::<u64>()
    }
}

/// A queue's moderation at probe: the configured `rx-usecs`/`rx-frames`,
/// or with `adaptive-rx` the starting profile of dynamic moderation
/// (kernel/dim.rs), frames clamped to the ring.
fn initial_moderation(c: &CoalesceConfig, ring_size: u32) -> (u32, u32) {
    if c.adaptive_rx && c.adaptive_scheme == AdaptiveScheme::IxgbeItr {
        // The vector starts at IXGBE_20K_ITR; ixgbe has no frame count.
        (crate::kernel::itr::Itr::default().usecs(), 0)
    } else if c.adaptive_rx {
        let (usecs, frames) = crate::kernel::dim::RX_PROFILES[crate::kernel::dim::DEFAULT_PROFILE];
        (usecs, frames.min(ring_size))
    } else {
        (c.rx_usecs, c.rx_frames)
    }
}
