//! The kernel's DMA-mapping state behind a translating IOMMU: the IOVA
//! allocator and the lazy-invalidation flush queues (Linux
//! drivers/iommu/iova.c and dma-iommu.c), and which IOVA each buffer is
//! mapped at.
//!
//! * **IOVA allocation** (`alloc_iova_fast`): a one-page IOVA comes from the
//!   CPU's own cache of recently freed ones (Linux keeps two magazines of
//!   [`IOVA_MAG_SIZE`] per CPU and size, and a shared depot), else from the
//!   shared depot, else from the address space, top-down below 2 GiB (Linux
//!   tries below 4 GiB first for PCI devices — `iommu_dma_alloc_iova`'s
//!   SAC attempt — and the identity-mapped rings sit from 2 GiB up here).
//!   Freed IOVAs go back to the freeing CPU's cache, so a CPU that maps and
//!   unmaps reuses the same few.
//! * **Flush queues** (`queue_iova`, `fq_flush_iotlb`, `fq_flush_timeout`):
//!   in lazy mode an unmapped IOVA is not freed at once; it waits in the
//!   CPU's flush queue with the flush count at the time. A full queue
//!   flushes the whole domain's IOTLB synchronously and frees what the
//!   flush covers; a timer ([`crate::config::IommuConfig::flush_timeout_ms`],
//!   armed by the first entry) does the same for every CPU.

use std::collections::VecDeque;

/// IOVAs in one per-CPU magazine (`IOVA_MAG_SIZE`, drivers/iommu/iova.c,
/// Linux 6.x); each CPU keeps two.
pub const IOVA_MAG_SIZE: usize = 127;
/// Lowest IOVA the allocator hands out (16 MiB; below it is left unused).
pub const IOVA_FLOOR: u64 = 0x100_0000;
/// The allocator's top-down start (2 GiB; coherent rings sit above).
pub const IOVA_TOP: u64 = 0x8000_0000;
/// Where allocation continues once the space below 2 GiB is used (128 GiB
/// upwards, as Linux falls back to 64-bit IOVAs).
pub const IOVA_HIGH: u64 = crate::config::iommu::POOL_IOVA_BASE;

/// One-page IOVA allocation with per-CPU caches.
#[derive(Clone, Debug)]
pub struct IovaAllocator {
    cpu: Vec<Vec<u64>>,
    depot: Vec<u64>,
    next_low: u64,
    next_high: u64,
    /// Pages handed out by the address-space allocator (not from a cache).
    pub fresh: u64,
    /// Allocations served by a CPU's cache.
    pub cached: u64,
}

impl IovaAllocator {
    /// An allocator for `cpus` CPUs.
    pub fn new(cpus: usize) -> IovaAllocator {
        IovaAllocator {
            cpu: vec![Vec::new(); cpus],
            depot: Vec::new(),
            next_low: IOVA_TOP,
            next_high: IOVA_HIGH,
            fresh: 0,
            cached: 0,
        }
    }

    /// A one-page IOVA for `cpu`.
    pub fn alloc(&mut self, cpu: usize) -> u64 {
        if let Some(i) = self.cpu[cpu].pop() {
            self.cached += 1;
            return i;
        }
        if let Some(i) = self.depot.pop() {
            return i;
        }
        self.fresh += 1;
        if self.next_low > IOVA_FLOOR {
            self.next_low -= 4096;
            return self.next_low;
        }
        let i = self.next_high;
        self.next_high += 4096;
        i
    }

    /// `n` contiguous pages of `1 << align_shift` alignment, from the
    /// address space (a page pool's or ring's one-time mapping).
    pub fn alloc_range(&mut self, bytes: u64, align_shift: u32) -> u64 {
        let align = 1u64 << align_shift;
        let base = self.next_high.div_ceil(align) * align;
        self.next_high = base + bytes.div_ceil(align) * align;
        base
    }

    /// Frees a one-page IOVA into `cpu`'s cache (overflowing into the depot).
    pub fn free(&mut self, cpu: usize, iova: u64) {
        let c = &mut self.cpu[cpu];
        if c.len() < 2 * IOVA_MAG_SIZE {
            c.push(iova);
        } else {
            self.depot.push(iova);
        }
    }
}

/// One unmapped IOVA waiting for a flush.
#[derive(Clone, Copy, Debug)]
pub struct FqEntry {
    /// The IOVA (one page).
    pub iova: u64,
    /// The flush-start count when it was queued: freed once a flush that
    /// started later has finished.
    pub counter: u64,
}

/// The lazy-mode flush queues of a domain.
#[derive(Clone, Debug)]
pub struct FlushQueues {
    /// Per CPU.
    pub queues: Vec<VecDeque<FqEntry>>,
    /// Entries per CPU queue.
    pub size: usize,
    /// Flushes started.
    pub start_cnt: u64,
    /// Flushes finished.
    pub finish_cnt: u64,
    /// Whether the timer is armed.
    pub timer_on: bool,
}

impl FlushQueues {
    /// Queues of `size` entries for `cpus` CPUs.
    pub fn new(cpus: usize, size: usize) -> FlushQueues {
        FlushQueues { queues: vec![VecDeque::new(); cpus], size, start_cnt: 0, finish_cnt: 0, timer_on: false }
    }

    /// `fq_ring_free`: the entries of `cpu` a finished flush covers, freed.
    pub fn ring_free(&mut self, cpu: usize, alloc: &mut IovaAllocator) -> u64 {
        let mut n = 0;
        while let Some(e) = self.queues[cpu].front() {
            if e.counter >= self.finish_cnt {
                break;
            }
            alloc.free(cpu, e.iova);
            self.queues[cpu].pop_front();
            n += 1;
        }
        n
    }

    /// Entries waiting in every queue.
    pub fn waiting(&self) -> u64 {
        self.queues.iter().map(|q| q.len() as u64).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cpu_reuses_the_iova_it_freed_last() {
        let mut a = IovaAllocator::new(2);
        let x = a.alloc(0);
        let y = a.alloc(0);
        assert_eq!((x, y), (IOVA_TOP - 4096, IOVA_TOP - 8192), "top-down below 2 GiB");
        a.free(0, x);
        assert_eq!(a.alloc(1), IOVA_TOP - 3 * 4096, "another CPU's cache is not shared");
        assert_eq!(a.alloc(0), x);
        assert_eq!((a.fresh, a.cached), (3, 1));
    }

    #[test]
    fn a_flush_frees_only_what_was_queued_before_it() {
        let mut a = IovaAllocator::new(1);
        let mut fq = FlushQueues::new(1, 4);
        fq.queues[0].push_back(FqEntry { iova: 0x1000, counter: fq.start_cnt });
        assert_eq!(fq.ring_free(0, &mut a), 0, "no flush has finished");
        fq.start_cnt += 1;
        fq.queues[0].push_back(FqEntry { iova: 0x2000, counter: fq.start_cnt });
        fq.finish_cnt += 1;
        assert_eq!(fq.ring_free(0, &mut a), 1);
        assert_eq!(fq.waiting(), 1);
        assert_eq!(a.alloc(0), 0x1000);
    }

    #[test]
    fn ranges_are_aligned() {
        let mut a = IovaAllocator::new(1);
        let r = a.alloc_range(3 << 20, 21);
        assert_eq!(r % (2 << 20), 0);
        let s = a.alloc_range(4096, 21);
        assert_eq!(s, r + (4 << 20));
    }
}

/// What the DMA layer counted.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct DmaCounts {
    /// `dma_map_*` calls through a translating IOMMU.
    pub maps: u64,
    /// `dma_unmap_*` calls through a translating IOMMU.
    pub unmaps: u64,
    /// Synchronous IOTLB invalidations (strict mode: one per unmap).
    pub sync_invalidations: u64,
    /// Domain flushes of the lazy flush queues (queue full or timer).
    pub fq_flushes: u64,
    /// Of which by the flush timer.
    pub fq_timer_flushes: u64,
    /// CPU time spent waiting for invalidations to complete, ps.
    pub invalidation_wait_ps: u64,
    /// Fault event interrupts the IOMMU driver handled.
    pub fault_interrupts: u64,
    /// Fault records it read and cleared.
    pub faults_drained: u64,
    /// Of which it logged (the others were rate-limited).
    pub faults_logged: u64,
    /// Received frames whose buffer a rogue DMA overwrote after they
    /// landed (ground truth; the driver cannot tell).
    pub rx_corrupted: u64,
    /// IOVA allocations a CPU's cache of freed IOVAs served (an IOVA
    /// unmapped earlier, mapped again).
    pub iova_reused: u64,
}

/// The kernel's DMA-mapping state for its NIC.
#[derive(Clone, Debug)]
pub struct DmaState {
    /// DMA remapping's mode.
    pub mode: crate::config::IommuMode,
    /// How receive buffers are mapped.
    pub mapping: crate::config::DmaMapping,
    /// Page shift of the page pool's mappings.
    pub pool_shift: u32,
    /// Levels of the domain's tables.
    pub levels: u8,
    /// The NIC's domain.
    pub did: u16,
    /// Its second-level table.
    pub pgd: u64,
    /// IOVAs.
    pub alloc: IovaAllocator,
    /// Lazy flush queues.
    pub fq: FlushQueues,
    /// The flush timer's period.
    pub fq_timeout: irqlab_engine::Dur,
    /// The IOVA each RX descriptor's buffer is mapped at, per queue and slot.
    pub rx_iova: Vec<Vec<u64>>,
    /// The IOVA of each TX descriptor's buffer, by slot.
    pub tx_iova: Vec<u64>,
    /// Frames the driver has taken from each RX queue (its next-to-clean).
    pub rx_taken: Vec<u64>,
    /// Next interrupt-remapping index to allocate.
    pub irte_next: u16,
    /// The fault log's rate limit: window start and messages in it.
    pub log_window: (irqlab_engine::Time, u32),
    /// Timer-softirq CPU time not yet charged (its CPU was busy).
    pub timer_debt: irqlab_engine::Dur,
    /// Whether a retry to charge it is scheduled.
    pub timer_retry: bool,
    /// The fault handler found records (its entry half drained them).
    pub fault_handled: bool,
    /// Bytes of each RX buffer (a page with header split).
    pub rx_buffer_bytes: u64,
    /// Device MSIs are posted (`iommu.posted_msi`).
    pub posted_msi: bool,
    /// Counters.
    pub counts: DmaCounts,
}
