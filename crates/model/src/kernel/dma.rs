//! The DMA API and the IOMMU driver inside a kernel (Linux
//! kernel/dma/mapping.c, drivers/iommu/dma-iommu.c, drivers/iommu/intel/).
//!
//! * **Probe** (`dma_setup`): the NIC is attached to its own domain — a
//!   context entry pointing at a fresh second-level table (`strict`,
//!   `lazy`), or a pass-through context (`passthrough`); its descriptor
//!   rings are allocated coherent (mapped at IOVA = physical address here);
//!   the page pool's buffers are mapped once (`page_pool`, at
//!   `iommu.page_size`), or each buffer is mapped as it is posted
//!   (`per_packet`). Every RX descriptor is written with its buffer's IOVA.
//! * **Receive** (`rx_refill`, after each take from a ring): per frame, the
//!   driver takes the buffer's IOVA from its descriptor; per packet it
//!   unmaps it (`dma_unmap_single`) and maps the fresh buffer
//!   (`dma_map_single`), then writes the descriptor again. With `strict`
//!   an unmap waits for an IOTLB invalidation through the invalidation
//!   queue; with `lazy` it joins the CPU's flush queue (kernel/iova.rs).
//!   The CPU time is the poll's.
//! * **Transmit**: each frame's buffer is mapped when posted and unmapped
//!   when the clean-up reclaims it (skb data is always mapped per packet).
//! * **Faults** (`dmar_fault`): the fault event is an IRQ like any other
//!   (vector on CPU 0); its handler reads the fault status, reads and
//!   clears every pending record from FRI — logging each, rate-limited to
//!   10 per 5 s — and clears the overflow bit.
//! * **Interrupt remapping**: the IRTE level of an IRQ's chip stack
//!   (kernel/irqchip.rs `IrChip`) writes its entry and invalidates the
//!   interrupt entry cache through the same queue.

use super::cpu::{Ctx, Work};
use super::iova::{DmaState, FqEntry};
use super::{Cx, Kernel};
use crate::config::{DmaMapping, IommuMode, Scenario};
use crate::devices::nic::rx::{RX_DESC_BYTES, rx_ring_iova};
use crate::devices::nic::tx::{TX_DESC_BYTES, tx_desc_iova};
use crate::ids::{CpuId, QueueId, Rid};
use crate::platform::iommu::Leaf;
use crate::platform::memory::{KERNEL_PHYS, Owner, TX_BUFFER_PHYS, TX_BUFFER_SPACE_MASK, rx_buffer_phys};
use crate::sim::KernelEvent;
use crate::workload::traffic::Packet;
use irqlab_engine::{Dur, Time};
use irqlab_hw::vtd::fault::FaultRecord;

/// The NIC's domain ID.
pub const NIC_DID: u16 = 1;
/// Linux's default printk rate limit: 10 messages per 5 s
/// (`DEFAULT_RATELIMIT_BURST`, `DEFAULT_RATELIMIT_INTERVAL`).
pub const LOG_BURST: u32 = 10;
/// See [`LOG_BURST`].
pub const LOG_INTERVAL: Dur = Dur::from_ms(5000);

impl DmaState {
    /// The state of a scenario's kernel: nothing mapped yet.
    pub fn new(s: &Scenario, cpus: usize) -> DmaState {
        let c = &s.iommu;
        DmaState {
            mode: c.mode,
            mapping: c.mapping,
            pool_shift: c.page_size.shift(),
            levels: c.levels(),
            did: NIC_DID,
            pgd: 0,
            alloc: super::iova::IovaAllocator::new(cpus),
            fq: super::iova::FlushQueues::new(cpus, c.flush_queue_size as usize),
            fq_timeout: Dur::from_ns_f64(c.flush_timeout_ms * 1e6),
            rx_iova: vec![vec![0; s.nic.ring_size as usize]; s.nic.queues as usize],
            tx_iova: vec![0; s.tx.as_ref().map_or(0, |t| t.ring_size as usize)],
            rx_taken: vec![0; s.nic.queues as usize],
            irte_next: 0,
            log_window: (Time::ZERO, 0),
            timer_debt: Dur::ZERO,
            timer_retry: false,
            fault_handled: false,
            rx_buffer_bytes: crate::platform::memory::rx_buffer_bytes(s.nic.header_split),
            posted_msi: c.posted_msi && c.interrupt_remapping,
            counts: Default::default(),
        }
    }

    /// Whether buffers go through page tables (and maps cost CPU time).
    pub fn translates(&self) -> bool {
        self.mode.translates()
    }
}

impl Kernel {
    /// The NIC's requester ID.
    fn nic_rid(&self, cx: &Cx) -> Rid {
        cx.nics[self.adapter.nic.idx()].rid
    }

    /// Probe-time DMA set-up: domain, rings, buffers, descriptors.
    pub(super) fn dma_setup(&mut self, cx: &mut Cx) {
        let rid = self.nic_rid(cx);
        let (queues, ring) = (self.dma.rx_iova.len(), self.dma.rx_iova.first().map_or(0, |r| r.len()));
        let mode = self.dma.mode;
        let levels = self.dma.levels;
        let stride = self.dma.rx_buffer_bytes;
        if let Some(u) = cx.platform.iommu.as_mut()
            && mode.enabled()
        {
            self.dma.pgd = u.attach(rid, NIC_DID, levels, mode == IommuMode::Passthrough);
        }
        // Ownership, for telling a rogue write from the NIC's own.
        let mem = &mut cx.platform.memory;
        mem.set_owner(KERNEL_PHYS.start, KERNEL_PHYS.end - KERNEL_PHYS.start, Owner::Kernel);
        for q in 0..queues as u32 {
            mem.set_owner(rx_buffer_phys(q, 0, stride), ring as u64 * stride, Owner::Device(rid));
        }
        if !self.dma.tx_iova.is_empty() {
            mem.set_owner(TX_BUFFER_PHYS, TX_BUFFER_SPACE_MASK + 1, Owner::Device(rid));
        }
        // Coherent rings (dma_alloc_coherent), mapped at IOVA = physical.
        // The NIC reads an RX descriptor only once the tail has passed it,
        // so the ring is plain memory (no store-buffer timing).
        for q in 0..queues as u32 {
            let base = rx_ring_iova(q);
            let bytes = ring as u64 * RX_DESC_BYTES as u64;
            cx.platform.memory.alloc_plain(base, bytes);
            self.map_identity(base, bytes, cx);
        }
        if !self.dma.tx_iova.is_empty() {
            let bytes = self.dma.tx_iova.len() as u64 * TX_DESC_BYTES;
            cx.platform.memory.alloc(tx_desc_iova(0, 0, 0), bytes);
            self.map_identity(tx_desc_iova(0, 0, 0), bytes, cx);
        }
        // The page pool: each queue's buffers mapped once, contiguous in IOVA.
        let pool = self.dma.translates() && self.dma.mapping == DmaMapping::PagePool;
        for q in 0..queues {
            let pool_base = if pool {
                let shift = self.dma.pool_shift;
                let bytes = ring as u64 * stride;
                let base = self.dma.alloc.alloc_range(bytes, shift);
                let phys = rx_buffer_phys(q as u32, 0, stride);
                let u = cx.platform.iommu.as_mut().expect("translating mode has a unit");
                let mut off = 0;
                while off < bytes {
                    u.map(self.dma.pgd, levels, base + off, Leaf::rw(phys + off, shift));
                    off += 1 << shift;
                }
                Some(base)
            } else {
                None
            };
            for slot in 0..ring as u64 {
                let phys = rx_buffer_phys(q as u32, slot, stride);
                let iova = match pool_base {
                    Some(b) => b + slot * stride,
                    None => self.map_single(CpuId(0), phys, Time::ZERO, cx).0,
                };
                self.dma.rx_iova[q][slot as usize] = iova;
                let desc = rx_ring_iova(q as u32) + slot * RX_DESC_BYTES as u64;
                cx.platform.memory.store(desc, iova, Time::ZERO);
            }
        }
    }

    /// Maps `[base, base + bytes)` at IOVA = physical address, 4 KiB pages.
    fn map_identity(&mut self, base: u64, bytes: u64, cx: &mut Cx) {
        if !self.dma.translates() {
            return;
        }
        let u = cx.platform.iommu.as_mut().expect("translating mode has a unit");
        let mut page = base & !0xfff;
        while page < base + bytes {
            u.map(self.dma.pgd, self.dma.levels, page, Leaf::rw(page, 12));
            page += 4096;
        }
    }

    /// `dma_map_single` of the buffer at `phys` on `cpu`: its IOVA and the
    /// CPU time (none without translation: `dma_direct_map_page`).
    pub(super) fn map_single(&mut self, cpu: CpuId, phys: u64, now: Time, cx: &mut Cx) -> (u64, Dur) {
        if !self.dma.translates() {
            return (phys, Dur::ZERO);
        }
        let _ = now; // the map is a page-table write: no device-visible time
        let page = self.dma.alloc.alloc(cpu.idx());
        let u = cx.platform.iommu.as_mut().expect("translating mode has a unit");
        u.map(self.dma.pgd, self.dma.levels, page, Leaf::rw(phys & !0xfff, 12));
        self.dma.counts.maps += 1;
        (page | (phys & 0xfff), cx.sim.costs.dma_map)
    }

    /// `dma_unmap_single` of `iova` on `cpu` at `now`: the CPU time,
    /// including a strict invalidation's wait or a lazy queue's flush.
    pub(super) fn unmap_single(&mut self, cpu: CpuId, iova: u64, now: Time, cx: &mut Cx) -> Dur {
        if !self.dma.translates() {
            return Dur::ZERO;
        }
        let page = iova & !0xfff;
        let (did, pgd, levels) = (self.dma.did, self.dma.pgd, self.dma.levels);
        let costs = cx.sim.costs;
        let strict = self.dma.mode == IommuMode::Strict;
        let u = cx.platform.iommu.as_mut().expect("translating mode has a unit");
        u.unmap(did, pgd, levels, page, 12, (!strict).then_some(now));
        self.dma.counts.unmaps += 1;
        let mut cost = costs.dma_unmap;
        match self.dma.mode {
            IommuMode::Strict => {
                // iommu_iotlb_sync: a page-selective invalidation and a wait.
                let descs = [crate::platform::iommu::inv::iotlb_page(did, page), crate::platform::iommu::inv::wait()];
                let issued = now + cost + costs.iommu_register;
                let done = u.submit(&descs, issued);
                self.dma.counts.sync_invalidations += 1;
                let wait = done.since(now + cost);
                self.dma.counts.invalidation_wait_ps += wait.as_ps();
                cost += wait;
                self.dma.alloc.free(cpu.idx(), page);
            }
            _ => {
                // queue_iova: free what earlier flushes covered, flush if full.
                let c = cpu.idx();
                self.dma.fq.ring_free(c, &mut self.dma.alloc);
                if self.dma.fq.queues[c].len() >= self.dma.fq.size {
                    cost += self.fq_flush(now + cost, cx);
                    self.dma.fq.ring_free(c, &mut self.dma.alloc);
                }
                let counter = self.dma.fq.start_cnt;
                self.dma.fq.queues[c].push_back(FqEntry { iova: page, counter });
                if !self.dma.fq.timer_on {
                    self.dma.fq.timer_on = true;
                    let at = now + self.dma.fq_timeout;
                    self.at(cx, at, KernelEvent::IommuFlushTimer);
                }
            }
        }
        cost
    }

    /// `fq_flush_iotlb`: a domain-selective IOTLB invalidation and a wait,
    /// issued at `at`; returns the CPU time until it completes.
    fn fq_flush(&mut self, at: Time, cx: &mut Cx) -> Dur {
        self.dma.fq.start_cnt += 1;
        let descs = [crate::platform::iommu::inv::iotlb_domain(self.dma.did), crate::platform::iommu::inv::wait()];
        let reg = cx.sim.costs.iommu_register;
        let u = cx.platform.iommu.as_mut().expect("translating mode has a unit");
        let done = u.submit(&descs, at + reg);
        self.dma.fq.finish_cnt += 1;
        self.dma.counts.fq_flushes += 1;
        let wait = done.since(at);
        self.dma.counts.invalidation_wait_ps += wait.as_ps();
        wait
    }

    /// `fq_flush_timeout`: flush, and free every CPU's covered entries. It
    /// runs from the timer softirq of CPU 0.
    pub(super) fn iommu_flush_timer(&mut self, cx: &mut Cx) {
        self.dma.fq.timer_on = false;
        if self.dma.fq.waiting() == 0 {
            return;
        }
        let now = cx.sim.now();
        let cost = self.fq_flush(now, cx);
        self.dma.counts.fq_timer_flushes += 1;
        for c in 0..self.dma.fq.queues.len() {
            self.dma.fq.ring_free(c, &mut self.dma.alloc);
        }
        self.charge_timer(CpuId(0), cost, cx);
    }

    /// Charges `cost` of timer-softirq work to `cpu`: a softirq frame now,
    /// or — if the CPU is inside a hard IRQ or a softirq already — a retry
    /// a microsecond later (the softirq would run when that one ends).
    fn charge_timer(&mut self, cpu: CpuId, cost: Dur, cx: &mut Cx) {
        let now = cx.sim.now();
        let c = cpu.idx();
        if self.cpus[c].interrupts_enabled() && !self.cpus[c].in_softirq() {
            self.cpus[c].pause(now);
            self.push_frame(cpu, Ctx::Softirq, Work::Timer, cost, cx);
        } else {
            self.dma.timer_debt += cost;
            if !self.dma.timer_retry {
                self.dma.timer_retry = true;
                self.at(cx, now + Dur::from_us(1), KernelEvent::TimerDebt);
            }
        }
    }

    /// A deferred timer softirq's CPU time, charged once its CPU can run it.
    pub(super) fn timer_debt(&mut self, cx: &mut Cx) {
        self.dma.timer_retry = false;
        let cost = std::mem::take(&mut self.dma.timer_debt);
        if cost > Dur::ZERO {
            self.charge_timer(CpuId(0), cost, cx);
        }
    }

    /// The driver's side of a take of `batch` from queue `q` on `cpu`:
    /// each frame's buffer unmapped and a fresh one mapped and posted
    /// (`per_packet`), or the recycled one posted again; the frames a rogue
    /// write overwrote counted. Returns the CPU time.
    pub(super) fn rx_refill(&mut self, cpu: CpuId, q: QueueId, batch: &[Packet], cx: &mut Cx) -> Dur {
        let ring = self.dma.rx_iova[q.idx()].len() as u64;
        let stride = self.dma.rx_buffer_bytes;
        let now = cx.sim.now();
        let per_packet = self.dma.translates() && self.dma.mapping == DmaMapping::PerPacket;
        let check = cx.platform.memory.has_clobbers();
        if !per_packet && !check {
            // Recycled buffers, nothing to check: the descriptors keep their IOVAs.
            self.dma.rx_taken[q.idx()] += batch.len() as u64;
            return Dur::ZERO;
        }
        let landing = cx.sim.costs.dma_write;
        let mut cost = Dur::ZERO;
        for p in batch {
            let slot = self.dma.rx_taken[q.idx()] % ring;
            self.dma.rx_taken[q.idx()] += 1;
            let phys = rx_buffer_phys(q.0, slot, stride);
            if check && cx.platform.memory.clobbered_since(phys, stride, p.wire + landing) {
                self.dma.counts.rx_corrupted += 1;
            }
            if per_packet {
                let old = self.dma.rx_iova[q.idx()][slot as usize];
                cost += self.unmap_single(cpu, old, now + cost, cx);
                let (iova, c) = self.map_single(cpu, phys, now + cost, cx);
                cost += c;
                self.dma.rx_iova[q.idx()][slot as usize] = iova;
                let desc = rx_ring_iova(q.0) + slot * RX_DESC_BYTES as u64;
                cx.platform.memory.store(desc, iova, now + cost);
            }
        }
        cost
    }

    /// The handler of the IOMMU's fault event (`dmar_fault`) on `cpu`:
    /// drains the fault records. Returns whether it found any, and its CPU time.
    pub(super) fn dmar_fault(&mut self, cx: &mut Cx) -> (bool, Dur) {
        let now = cx.sim.now();
        let uncounted = cx.sim.faults.fire(crate::sim::Fault::FaultDrainUncounted);
        let reg = cx.sim.costs.iommu_register;
        let log = cx.sim.costs.iommu_fault_log;
        let Some(u) = cx.platform.iommu.as_mut() else { return (false, Dur::ZERO) };
        self.dma.counts.fault_interrupts += 1;
        let fsts = u.faults.fsts();
        let mut cost = reg;
        if fsts & crate::platform::iommu::faults::FSTS_PPF != 0 {
            let n = u.faults.len();
            let mut i = ((fsts >> 8) & 0xff) as usize;
            for _ in 0..n {
                cost += reg;
                let rec = FaultRecord::decode(u.faults.record(i));
                if !rec.valid {
                    break;
                }
                // __ratelimit: at most LOG_BURST messages per LOG_INTERVAL.
                let (start, count) = &mut self.dma.log_window;
                if now.since(*start) >= LOG_INTERVAL {
                    *start = now;
                    *count = 0;
                }
                if *count < LOG_BURST {
                    *count += 1;
                    cost += reg.times(2) + log;
                    self.dma.counts.faults_logged += 1;
                }
                u.faults.clear_record(i);
                cost += reg;
                if !uncounted {
                    self.dma.counts.faults_drained += 1;
                }
                i = (i + 1) % n;
            }
        }
        u.faults.write_fsts(crate::platform::iommu::faults::FSTS_PFO | crate::platform::iommu::faults::FSTS_PPF);
        cost += reg;
        (fsts & 0b11 != 0, cost)
    }
}
