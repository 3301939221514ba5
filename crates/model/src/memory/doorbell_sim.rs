//! A small discrete-event simulation of the TX doorbell contract: one core
//! posts descriptors and rings the tail doorbell at a given rate; its stores
//! drain from a per-core store buffer after random delays, in the orders
//! [`super::ordering`] allows; the NIC fetches descriptors by DMA after each
//! doorbell reaches it and transmits what it read.
//!
//! * **Store buffer.** Every store issues at a CPU time and becomes visible
//!   after a drain delay drawn from the core's own RNG stream
//!   ([`STORE_BUFFER_STREAM`] + core): [`super::MemoryCostModel`]'s
//!   `store_drain_min_ns`, plus — for the `store_rfo_fraction` of stores that
//!   must fetch their line — an exponential wait of mean `store_rfo_mean_ns`.
//!   The ordering rules then push visibilities later, never earlier: on `tso`
//!   write-back stores drain in program order (a slow store holds back every
//!   younger one); a doorbell the model orders after the descriptor stores
//!   (`tso` + `uc`, or any `wmb`/`dma_wmb` the model honours) becomes visible
//!   no earlier than the last of them; successive doorbells and successive
//!   stores to one descriptor word stay in order (coherence).
//! * **Barrier costs.** x86 `sfence` costs `sfence_ns`; arm64 `dsb st` stalls
//!   the core until every earlier store is visible and then costs
//!   `dsb_st_ns` (the stall is reported); `dmb oshst` costs `dmb_oshst_ns`
//!   and only orders.
//! * **Device.** A doorbell reaches the NIC `mmio_flight_ns` after it becomes
//!   visible. The NIC fetches descriptors from its head up to the newest tail
//!   (at most `max_descriptors_per_fetch` per DMA read); the read samples host
//!   memory half-way through its `dma_read_latency_ns` round trip and sees,
//!   per 64-bit word, the new value only if it was visible by then. It then
//!   classifies each descriptor ([`super::txring::classify`]): current →
//!   transmitted; stale generation → the NIC does not own it: a stale read,
//!   the fetch stops there and is retried at once; current generation but a
//!   stale buffer address → a torn descriptor the NIC cannot detect: a stale
//!   read *and* a corrupted transmission (the model knows; it is never passed
//!   off as a good one). After the payload fetch and the wire time, the NIC
//!   writes DD back on RS descriptors and raises the TX interrupt, and the
//!   driver reclaims the ring slots.
//!
//! Every run checks two conservation laws: descriptors posted = transmitted
//! ok + corrupted + in flight, and descriptors read = transmitted ok +
//! corrupted + stale-ownership reads.
//!
//! Left out: cache-line state (drain delays are drawn independently), a
//! bounded store buffer, interrupt coalescing and the driver's cleanup cost,
//! DMA of the payload (only its latency), and more than one queue or core.

use super::MemoryCostModel;
use super::ordering::{Barrier, MemoryModel, MmioType, Target};
use super::txring::{DescriptorRead, TxDesc, classify, field, generation_for};
use crate::config::ConfigError;
use irqlab_engine::time::PS_PER_S;
use irqlab_engine::{Dur, EventQueue, Law, LawViolation, RngStreams, Time};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// RNG stream namespace of per-core store buffers ("MEM\0" in the high
/// bytes): core `c` draws its drain delays from `STORE_BUFFER_STREAM + c`.
pub const STORE_BUFFER_STREAM: u64 = 0x4D45_4D00_0000_0000;

/// The one core this simulation models.
const CORE: u64 = 0;
/// Bus address of the first packet buffer.
const BUFFER_BASE: u64 = 0x1_0000_0000;
/// One 2 KiB packet buffer per posted frame.
const BUFFER_STRIDE: u64 = 0x800;
/// Buffer addresses wrap within 2^40 bytes (well inside a 64-bit bus address).
const BUFFER_SPACE_MASK: u64 = (1 << 40) - 1;
/// Ethernet preamble (7) + start-of-frame delimiter (1) + minimum inter-frame
/// gap (12) bytes on the wire around each frame (IEEE 802.3 §4.4.2).
const WIRE_OVERHEAD_BYTES: u64 = 20;
/// Largest TX ring the configuration accepts.
const MAX_RING_SIZE: u32 = 65_536;
/// Smallest and largest frame (without preamble), in bytes: minimum Ethernet
/// frame, and a 9000-byte-MTU jumbo frame.
const FRAME_BYTES_RANGE: std::ops::RangeInclusive<u16> = 60..=9_018;

/// What to simulate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DoorbellSimConfig {
    /// CPU memory model.
    pub model: MemoryModel,
    /// Barrier between the descriptor stores and the doorbell.
    pub barrier: Barrier,
    /// Memory type of the doorbell mapping.
    pub mmio: MmioType,
    /// Doorbells to ring (the run then continues until the NIC is idle).
    pub doorbells: u64,
    /// Descriptors written before each doorbell; the last has RS set.
    pub descriptors_per_doorbell: u32,
    /// Doorbells per second the driver attempts (fixed spacing).
    pub doorbell_rate_per_s: f64,
    /// TX ring entries.
    pub ring_size: u32,
    /// Most descriptors the NIC fetches with one DMA read.
    pub max_descriptors_per_fetch: u32,
    /// Frame length in bytes (FCS included, preamble excluded).
    pub frame_bytes: u16,
    /// Link speed in Gb/s (bits per ns).
    pub link_gbps: f64,
    /// Memory-ordering costs.
    pub costs: MemoryCostModel,
}

impl Default for DoorbellSimConfig {
    fn default() -> Self {
        DoorbellSimConfig {
            model: MemoryModel::Weak,
            barrier: Barrier::None,
            mmio: MmioType::Uc,
            doorbells: 100_000,
            descriptors_per_doorbell: 1,
            doorbell_rate_per_s: 1e6,
            ring_size: 1024,
            max_descriptors_per_fetch: 32,
            frame_bytes: 64,
            link_gbps: 100.0,
            costs: MemoryCostModel::default(),
        }
    }
}

impl DoorbellSimConfig {
    /// Every problem with the configuration, by key path.
    pub fn validate(&self) -> Vec<ConfigError> {
        let mut errs = Vec::new();
        let mut err = |path: &str, message: String| errs.push(ConfigError { path: path.into(), message });
        if !(2..=MAX_RING_SIZE).contains(&self.ring_size) {
            err("ring_size", format!("expected 2..={MAX_RING_SIZE} descriptors, got {}", self.ring_size));
        }
        if self.descriptors_per_doorbell == 0 || self.descriptors_per_doorbell > self.ring_size {
            err(
                "descriptors_per_doorbell",
                format!("expected 1..=ring_size ({}), got {}", self.ring_size, self.descriptors_per_doorbell),
            );
        }
        let r = self.doorbell_rate_per_s;
        if !(r.is_finite() && r > 0.0 && r <= PS_PER_S as f64) {
            err("doorbell_rate_per_s", format!("expected a positive rate of at most 1e12 per second, got {r}"));
        }
        if self.max_descriptors_per_fetch == 0 {
            err("max_descriptors_per_fetch", "expected at least 1, got 0".into());
        }
        if !FRAME_BYTES_RANGE.contains(&self.frame_bytes) {
            err("frame_bytes", format!("expected {FRAME_BYTES_RANGE:?} bytes, got {}", self.frame_bytes));
        }
        if !(self.link_gbps.is_finite() && self.link_gbps > 0.0) {
            err("link_gbps", format!("expected a positive link speed, got {}", self.link_gbps));
        }
        for e in self.costs.validate() {
            err(&format!("costs.{}", e.field), e.message);
        }
        errs
    }
}

/// What a run counted.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DoorbellSimStats {
    /// The master seed.
    pub seed: u64,
    /// Doorbells the driver rang.
    pub doorbells: u64,
    /// Descriptors the driver wrote.
    pub descriptors_posted: u64,
    /// Descriptor reads by the NIC (a descriptor fetched twice counts twice).
    pub descriptors_read: u64,
    /// Reads that saw any field of a descriptor before its store was visible
    /// (`stale_ownership_reads + torn_descriptor_reads`).
    pub stale_descriptor_reads: u64,
    /// Stale reads with the previous lap's generation bit: the NIC saw it
    /// does not own the descriptor and fetched again.
    pub stale_ownership_reads: u64,
    /// Stale reads with the current generation but a stale buffer address.
    pub torn_descriptor_reads: u64,
    /// Fetches the NIC repeated after a stale-ownership read.
    pub refetches: u64,
    /// Frames sent from the descriptor the driver wrote.
    pub transmitted_ok: u64,
    /// Frames sent from a torn descriptor (wrong buffer).
    pub corrupted_transmissions: u64,
    /// Descriptors posted but not yet transmitted when the run ended.
    pub in_flight: u64,
    /// Descriptors the NIC wrote DD back to (those with RS).
    pub completions: u64,
    /// TX interrupts the NIC raised (one per completion write-back).
    pub tx_interrupts: u64,
    /// Times the driver found the ring too full to post and waited.
    pub ring_full_waits: u64,
    /// CPU time the core spent stalled in `dsb st` waiting for its stores.
    pub barrier_stall_ns: f64,
    /// Stale descriptor reads per million doorbells.
    pub stale_reads_per_million_doorbells: f64,
    /// Simulated time at the end of the run.
    pub simulated_ns: f64,
    /// Events the engine processed.
    pub events: u64,
    /// Conservation laws that did not hold (empty when all hold).
    pub law_violations: Vec<LawViolation>,
}

/// The simulation's events.
#[derive(Clone, Copy, Debug)]
enum Event {
    /// The driver posts a batch of descriptors and rings the doorbell.
    Post,
    /// A doorbell write carrying free-running tail `tail` reaches the NIC.
    DoorbellArrives { tail: u64 },
    /// The NIC's descriptor fetch completes.
    FetchDone,
    /// The NIC's DD write-back for descriptors below `upto` is visible and
    /// the TX interrupt is raised.
    TxComplete { upto: u64 },
}

/// One ring entry as host memory holds it: per 64-bit word, the value before
/// the driver's latest store, that store's value, and when it became visible.
#[derive(Clone, Copy, Default)]
struct Slot {
    old: [u64; field::WORDS],
    new: [u64; field::WORDS],
    visible: [Time; field::WORDS],
}

/// The driver's core and its store buffer.
struct Core {
    rng: ChaCha8Rng,
    /// The core is busy issuing stores until then.
    free_at: Time,
    /// Visibility of the youngest write-back store (TSO drains in order).
    last_wb_visible: Time,
    /// Latest visibility of any store issued so far.
    max_visible: Time,
    /// Visibility of the latest doorbell store.
    last_doorbell_visible: Time,
    /// Free-running index of the next descriptor to write.
    posted: u64,
    /// Descriptors below this index are reclaimed.
    freed: u64,
    /// A post is waiting for ring space.
    waiting: bool,
}

/// The NIC's TX DMA engine.
#[derive(Default)]
struct Device {
    /// Newest tail seen in a doorbell.
    tail_seen: u64,
    /// Next descriptor to fetch.
    head: u64,
    /// The fetch in progress: when it samples memory, and its end index.
    fetch: Option<(Time, u64)>,
    /// The wire is busy until then.
    wire_free: Time,
}

/// Ordering rules, resolved once per run from [`MemoryModel`].
struct Rules {
    /// Write-back stores become visible in program order.
    wb_in_order: bool,
    /// The doorbell is ordered after the earlier descriptor stores.
    doorbell_after_stores: bool,
    /// Later write-back stores are ordered after the doorbell.
    stores_after_doorbell: bool,
}

struct Sim<'a> {
    cfg: &'a DoorbellSimConfig,
    c: super::MemoryCosts,
    rules: Rules,
    interval: Dur,
    wire_per_frame: Dur,
    q: EventQueue<Event>,
    slots: Vec<Slot>,
    core: Core,
    dev: Device,
    st: DoorbellSimStats,
    barrier_stall: Dur,
}

/// Runs the simulation. The configuration should pass
/// [`DoorbellSimConfig::validate`]; values it rejects are clamped to the
/// nearest usable ones (sizes and rates to at least 1) so this never panics.
pub fn run_doorbell_sim(cfg: &DoorbellSimConfig, seed: u64) -> DoorbellSimStats {
    let mut sim = Sim::new(cfg, seed);
    sim.run();
    sim.finish()
}

impl<'a> Sim<'a> {
    fn new(cfg: &'a DoorbellSimConfig, seed: u64) -> Self {
        let ring = cfg.ring_size.clamp(2, MAX_RING_SIZE);
        let rate = if cfg.doorbell_rate_per_s.is_finite() && cfg.doorbell_rate_per_s > 0.0 {
            cfg.doorbell_rate_per_s
        } else {
            1.0
        };
        let interval = Dur(((PS_PER_S as f64 / rate).round() as u64).max(1));
        let gbps = if cfg.link_gbps.is_finite() && cfg.link_gbps > 0.0 { cfg.link_gbps } else { 1.0 };
        let wire_bits = (cfg.frame_bytes as u64 + WIRE_OVERHEAD_BYTES) * 8;
        // bits / (Gb/s) = ns; ×1000 for ps.
        let wire_per_frame = Dur((wire_bits as f64 * 1000.0 / gbps).round() as u64);
        let model = cfg.model;
        let doorbell = Target::Mmio(cfg.mmio);
        let rules = Rules {
            wb_in_order: model.keeps_store_order(Target::Wb, Target::Wb, Barrier::None),
            doorbell_after_stores: model.keeps_store_order(Target::Wb, doorbell, cfg.barrier),
            stores_after_doorbell: model.keeps_store_order(doorbell, Target::Wb, Barrier::None),
        };
        let mut q = EventQueue::new();
        if cfg.doorbells > 0 {
            q.schedule(Time::ZERO, Event::Post);
        }
        Sim {
            cfg,
            c: cfg.costs.resolve(),
            rules,
            interval,
            wire_per_frame,
            q,
            slots: vec![Slot::default(); ring as usize],
            core: Core {
                rng: RngStreams::new(seed).stream(STORE_BUFFER_STREAM + CORE),
                free_at: Time::ZERO,
                last_wb_visible: Time::ZERO,
                max_visible: Time::ZERO,
                last_doorbell_visible: Time::ZERO,
                posted: 0,
                freed: 0,
                waiting: false,
            },
            dev: Device::default(),
            st: DoorbellSimStats { seed, ..DoorbellSimStats::default() },
            barrier_stall: Dur::ZERO,
        }
    }

    fn ring(&self) -> u64 {
        self.slots.len() as u64
    }

    fn batch(&self) -> u64 {
        (self.cfg.descriptors_per_doorbell as u64).clamp(1, self.ring())
    }

    fn run(&mut self) {
        while let Some((now, ev)) = self.q.pop_until(Time::NEVER) {
            match ev {
                Event::Post => self.post(now),
                Event::DoorbellArrives { tail } => self.doorbell_arrives(now, tail),
                Event::FetchDone => self.fetch_done(now),
                Event::TxComplete { upto } => self.tx_complete(now, upto),
            }
        }
    }

    /// A store's drain delay: the minimum, plus an exponential RFO wait for
    /// the fraction of stores that need one. One uniform draw per store.
    fn drain_delay(&mut self) -> Dur {
        let u: f64 = self.core.rng.random();
        let frac = self.c.store_rfo_fraction;
        let extra_ps = if u < frac {
            // u / frac is again uniform on [0, 1).
            -(1.0 - u / frac).ln() * self.c.store_rfo_mean_ps
        } else {
            0.0
        };
        self.c.store_drain_min + Dur(extra_ps.round() as u64)
    }

    /// Issues a write-back store of `value` to word `w` of ring slot `slot`.
    fn store_wb(&mut self, t: Time, slot: usize, w: usize, value: u64) {
        let mut vis = t + self.drain_delay();
        if self.rules.wb_in_order {
            vis = vis.max(self.core.last_wb_visible);
        }
        let s = &mut self.slots[slot];
        // Coherence: no earlier than the previous store to the same word.
        vis = vis.max(s.visible[w]);
        s.old[w] = s.new[w];
        s.new[w] = value;
        s.visible[w] = vis;
        self.core.last_wb_visible = self.core.last_wb_visible.max(vis);
        self.core.max_visible = self.core.max_visible.max(vis);
    }

    fn post(&mut self, now: Time) {
        let n = self.batch();
        let ring = self.ring();
        if self.core.posted + n - self.core.freed > ring {
            self.core.waiting = true;
            self.st.ring_full_waits += 1;
            return;
        }
        let mut t = now.max(self.core.free_at);
        for k in 0..n {
            let idx = self.core.posted;
            let addr = BUFFER_BASE + (idx.wrapping_mul(BUFFER_STRIDE) & BUFFER_SPACE_MASK);
            let desc = TxDesc::for_frame(addr, self.cfg.frame_bytes, k + 1 == n, generation_for(idx, ring as u32));
            let words = desc.to_words();
            let slot = (idx % ring) as usize;
            for (w, &value) in words.iter().enumerate() {
                self.store_wb(t, slot, w, value);
                t += self.c.descriptor_write;
            }
            self.core.posted += 1;
        }
        self.st.descriptors_posted += n;
        t = self.barrier(t);
        // The doorbell: a relaxed MMIO store of the new tail.
        let mut vis = t + self.c.mmio_write_issue;
        if self.rules.doorbell_after_stores {
            vis = vis.max(self.core.max_visible);
        }
        vis = vis.max(self.core.last_doorbell_visible);
        self.core.last_doorbell_visible = vis;
        self.core.max_visible = self.core.max_visible.max(vis);
        if self.rules.stores_after_doorbell {
            self.core.last_wb_visible = self.core.last_wb_visible.max(vis);
        }
        self.core.free_at = t + self.c.mmio_write_issue;
        self.q.schedule(vis + self.c.mmio_flight, Event::DoorbellArrives { tail: self.core.posted });
        self.st.doorbells += 1;
        if self.st.doorbells < self.cfg.doorbells {
            self.q.schedule(now + self.interval, Event::Post);
        }
    }

    /// Charges the barrier's CPU time (and, for `dsb st`, the stall until
    /// every earlier store is visible); returns when the doorbell can issue.
    fn barrier(&mut self, t: Time) -> Time {
        match (self.cfg.model, self.cfg.barrier) {
            (_, Barrier::None) | (MemoryModel::Tso, Barrier::DmaWmb) => t,
            (MemoryModel::Tso, Barrier::Wmb) => t + self.c.sfence,
            (MemoryModel::Weak, Barrier::Wmb) => {
                let ready = t.max(self.core.max_visible);
                self.barrier_stall += ready.since(t);
                ready + self.c.dsb_st
            }
            (MemoryModel::Weak, Barrier::DmaWmb) => t + self.c.dmb_oshst,
        }
    }

    fn doorbell_arrives(&mut self, now: Time, tail: u64) {
        self.dev.tail_seen = self.dev.tail_seen.max(tail);
        if self.dev.fetch.is_none() && self.dev.head < self.dev.tail_seen {
            self.start_fetch(now);
        }
    }

    fn start_fetch(&mut self, now: Time) {
        let max = (self.cfg.max_descriptors_per_fetch as u64).max(1);
        let end = self.dev.tail_seen.min(self.dev.head + max);
        let sample_at = now + Dur(self.c.dma_read_latency.as_ps() / 2);
        self.dev.fetch = Some((sample_at, end));
        self.q.schedule(now + self.c.dma_read_latency, Event::FetchDone);
    }

    fn fetch_done(&mut self, now: Time) {
        let Some((sample_at, end)) = self.dev.fetch.take() else { return };
        let ring = self.ring();
        let mut idx = self.dev.head;
        let mut sent = 0u64;
        let mut last_rs: Option<u64> = None;
        let mut stale_stop = false;
        while idx < end {
            let s = &self.slots[(idx % ring) as usize];
            let word = |w: usize| if s.visible[w] <= sample_at { s.new[w] } else { s.old[w] };
            let written = TxDesc::from_words(s.new);
            let seen = TxDesc::from_words([word(0), word(1)]);
            self.st.descriptors_read += 1;
            let read = match (&seen, &written) {
                (Ok(seen), Ok(written)) => classify(seen, written),
                // An undecodable image cannot be a descriptor the NIC owns.
                _ => DescriptorRead::StaleOwnership,
            };
            match read {
                DescriptorRead::StaleOwnership => {
                    self.st.stale_descriptor_reads += 1;
                    self.st.stale_ownership_reads += 1;
                    stale_stop = true;
                    break;
                }
                DescriptorRead::Torn => {
                    self.st.stale_descriptor_reads += 1;
                    self.st.torn_descriptor_reads += 1;
                    self.st.corrupted_transmissions += 1;
                }
                DescriptorRead::Current => self.st.transmitted_ok += 1,
            }
            if written.is_ok_and(|d| d.rs()) {
                last_rs = Some(idx + 1);
            }
            idx += 1;
            sent += 1;
        }
        self.dev.head = idx;
        if sent > 0 {
            // Fetch the payload, then serialize the frames.
            let start = self.dev.wire_free.max(now + self.c.dma_read_latency);
            self.dev.wire_free = start + self.wire_per_frame.times(sent);
            if let Some(upto) = last_rs {
                self.q.schedule(self.dev.wire_free + self.c.dma_write_latency, Event::TxComplete { upto });
            }
        }
        if stale_stop {
            self.st.refetches += 1;
            self.start_fetch(now);
        } else if self.dev.head < self.dev.tail_seen {
            self.start_fetch(now);
        }
    }

    fn tx_complete(&mut self, now: Time, upto: u64) {
        let ring = self.ring();
        for idx in self.core.freed..upto {
            let s = &mut self.slots[(idx % ring) as usize];
            if let Ok(d) = TxDesc::from_words(s.new)
                && d.rs()
            {
                s.new = d.written_back().to_words();
                self.st.completions += 1;
            }
        }
        self.core.freed = self.core.freed.max(upto);
        self.st.tx_interrupts += 1;
        if self.core.waiting && self.core.posted + self.batch() - self.core.freed <= ring {
            self.core.waiting = false;
            self.q.schedule(now, Event::Post);
        }
    }

    fn finish(mut self) -> DoorbellSimStats {
        let st = &mut self.st;
        st.in_flight = st.descriptors_posted.saturating_sub(st.transmitted_ok + st.corrupted_transmissions);
        st.barrier_stall_ns = self.barrier_stall.as_ns_f64();
        st.stale_reads_per_million_doorbells =
            if st.doorbells == 0 { 0.0 } else { st.stale_descriptor_reads as f64 * 1e6 / st.doorbells as f64 };
        st.simulated_ns = self.q.now().as_ns_f64();
        st.events = self.q.events_processed();
        let laws = [
            Law::new("tx descriptors", "posted", st.descriptors_posted)
                .part("transmitted_ok", st.transmitted_ok)
                .part("corrupted", st.corrupted_transmissions)
                .part("in_flight", st.in_flight),
            Law::new("descriptor reads", "read", st.descriptors_read)
                .part("transmitted_ok", st.transmitted_ok)
                .part("corrupted", st.corrupted_transmissions)
                .part("stale_ownership", st.stale_ownership_reads),
        ];
        st.law_violations = laws.iter().filter_map(|l| l.check().err()).collect();
        self.st
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(model: MemoryModel, barrier: Barrier, mmio: MmioType, doorbells: u64, rate: f64) -> DoorbellSimConfig {
        DoorbellSimConfig { model, barrier, mmio, doorbells, doorbell_rate_per_s: rate, ..DoorbellSimConfig::default() }
    }

    /// Ten million doorbells per second: a doorbell every 100 ns.
    const HIGH_RATE: f64 = 10e6;

    fn assert_laws_hold(s: &DoorbellSimStats) {
        assert!(s.law_violations.is_empty(), "{:?}", s.law_violations);
        assert_eq!(s.in_flight, 0, "the run drains: every descriptor is eventually sent");
        assert_eq!(s.stale_descriptor_reads, s.stale_ownership_reads + s.torn_descriptor_reads);
    }

    #[test]
    fn weak_without_barrier_shows_stale_reads_and_corruption_at_a_high_rate() {
        let c = DoorbellSimConfig {
            descriptors_per_doorbell: 4,
            ..cfg(MemoryModel::Weak, Barrier::None, MmioType::Uc, 200_000, HIGH_RATE)
        };
        let s = run_doorbell_sim(&c, 1);
        assert_eq!(s.doorbells, 200_000);
        assert!(s.stale_descriptor_reads > 0, "{s:?}");
        assert!(s.stale_ownership_reads > 0 && s.refetches == s.stale_ownership_reads, "{s:?}");
        // Torn descriptors are sent from the wrong buffer, and counted.
        assert!(s.torn_descriptor_reads > 0 && s.corrupted_transmissions == s.torn_descriptor_reads, "{s:?}");
        assert_laws_hold(&s);
    }

    #[test]
    fn weak_with_wmb_has_no_stale_read_in_a_million_doorbells() {
        let s = run_doorbell_sim(&cfg(MemoryModel::Weak, Barrier::Wmb, MmioType::Uc, 1_000_000, HIGH_RATE), 1);
        assert_eq!(s.doorbells, 1_000_000);
        assert_eq!(s.stale_descriptor_reads, 0);
        assert_eq!(s.corrupted_transmissions, 0);
        assert_eq!(s.transmitted_ok, 1_000_000);
        // dsb st waits for the stores: the core stalls.
        assert!(s.barrier_stall_ns > 0.0);
        assert_laws_hold(&s);
    }

    #[test]
    fn tso_uc_doorbell_needs_no_barrier_but_wc_does() {
        let run = |barrier, mmio| run_doorbell_sim(&cfg(MemoryModel::Tso, barrier, mmio, 200_000, HIGH_RATE), 3);
        let uc = run(Barrier::None, MmioType::Uc);
        assert_eq!(uc.stale_descriptor_reads, 0);
        let wc = run(Barrier::None, MmioType::Wc);
        assert!(wc.stale_descriptor_reads > 0, "{wc:?}");
        // TSO keeps the two words of a descriptor in order: never torn.
        assert_eq!(wc.torn_descriptor_reads, 0);
        let wc_sfence = run(Barrier::Wmb, MmioType::Wc);
        assert_eq!(wc_sfence.stale_descriptor_reads, 0);
        // x86 dma_wmb() emits no instruction: a WC doorbell still overtakes.
        let wc_dma = run(Barrier::DmaWmb, MmioType::Wc);
        assert!(wc_dma.stale_descriptor_reads > 0);
        for s in [&uc, &wc, &wc_sfence, &wc_dma] {
            assert_laws_hold(s);
        }
    }

    #[test]
    fn same_seed_repeats_exactly_and_another_seed_differs() {
        let c = DoorbellSimConfig {
            descriptors_per_doorbell: 4,
            ..cfg(MemoryModel::Weak, Barrier::None, MmioType::Uc, 100_000, 1e6)
        };
        let a = run_doorbell_sim(&c, 42);
        assert!(a.stale_descriptor_reads > 0);
        assert_eq!(a, run_doorbell_sim(&c, 42));
        let b = run_doorbell_sim(&c, 43);
        assert_ne!(a.stale_descriptor_reads, b.stale_descriptor_reads);
    }

    #[test]
    fn a_small_ring_makes_the_driver_wait_and_nothing_is_lost() {
        let c = DoorbellSimConfig {
            ring_size: 8,
            descriptors_per_doorbell: 4,
            ..cfg(MemoryModel::Weak, Barrier::None, MmioType::Uc, 20_000, HIGH_RATE)
        };
        let s = run_doorbell_sim(&c, 5);
        assert!(s.ring_full_waits > 0);
        assert_eq!(s.doorbells, 20_000);
        assert_eq!(s.descriptors_posted, 80_000);
        // One RS descriptor (and one completion) per batch.
        assert_eq!(s.completions, 20_000);
        assert_laws_hold(&s);
    }

    #[test]
    fn validation_names_bad_keys() {
        let c = DoorbellSimConfig {
            ring_size: 1,
            doorbell_rate_per_s: 0.0,
            frame_bytes: 10,
            costs: MemoryCostModel { dma_read_latency_ns: f64::NAN, ..MemoryCostModel::default() },
            ..DoorbellSimConfig::default()
        };
        let paths: Vec<String> = c.validate().into_iter().map(|e| e.path).collect();
        assert_eq!(paths, ["ring_size", "doorbell_rate_per_s", "frame_bytes", "costs.dma_read_latency_ns"]);
        assert!(DoorbellSimConfig::default().validate().is_empty());
        // Invalid values are clamped, never a panic.
        let s = run_doorbell_sim(&DoorbellSimConfig { doorbells: 10, ..c }, 1);
        assert_eq!(s.doorbells, 10);
    }
}
