//! The application process's address space as the TLB sees it: which CPUs
//! have it loaded (`mm_cpumask`, `cpu_tlbstate.loaded_mm`), which of them
//! are in lazy-TLB mode, its flush generation (`tlb_gen`), and the flush
//! requests queued to other CPUs (`call_single_queue`) — the state of
//! arch/x86/mm/tlb.c. The behaviour is in zerocopy.rs.

use crate::ids::CpuId;
use serde::Serialize;

/// One queued request to flush part of the process's TLB entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlushRequest {
    /// The CPU that waits for it (`flush_tlb_mm_range`'s caller).
    pub initiator: CpuId,
    /// Pages to invalidate (above the ceiling: the whole TLB).
    pub pages: u32,
}

/// What the TLB code counted.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TlbCounts {
    /// `flush_tlb_mm_range` calls that had to reach other CPUs.
    pub shootdowns: u64,
    /// Flush IPIs sent (one per target whose request queue was empty).
    pub shootdown_ipis: u64,
    /// Flush requests queued to other CPUs.
    pub requests: u64,
    /// Requests the targets carried out.
    pub flushed: u64,
    /// Acknowledgements the initiators saw.
    pub acks: u64,
    /// Flush IPIs their targets took (`CALL_FUNCTION_VECTOR`).
    pub ipis_taken: u64,
    /// CPUs of the address space skipped because they were in lazy-TLB
    /// mode (idle or in a kernel thread); they flush when they switch back.
    pub lazy_skipped: u64,
    /// Full flushes done on switching back from lazy mode to a stale TLB.
    pub lazy_catch_ups: u64,
    /// Single-page invalidations (`INVLPG`), local and remote.
    pub local_invlpg: u64,
    /// Full flushes (above the single-page ceiling, or catching up).
    pub full_flushes: u64,
    /// Pages mapped into the process by zero-copy receive.
    pub pages_remapped: u64,
    /// Pages unmapped again.
    pub pages_unmapped: u64,
    /// CPU time other CPUs spent in flush IPI handlers (entry, exit, the
    /// flushes), picoseconds: what the shootdowns took from them.
    #[serde(skip)]
    pub remote_flush_ps: u64,
}

/// The process's address space across the kernel's CPUs.
#[derive(Clone, Debug)]
pub struct Tlb {
    /// Whether any reader remaps (otherwise nothing here changes).
    pub enabled: bool,
    /// `tlb_single_page_flush_ceiling`: above this many pages, flush all.
    pub ceiling: u32,
    /// Per CPU: the process's address space is loaded.
    pub loaded: Vec<bool>,
    /// Per CPU: lazy-TLB mode (the address space stays loaded under a
    /// kernel thread or the idle task).
    pub lazy: Vec<bool>,
    /// `mm_cpumask`: CPUs that have had it loaded.
    pub cpumask: Vec<bool>,
    /// The address space's flush generation (`mm->context.tlb_gen`).
    pub tlb_gen: u64,
    /// Per CPU: the generation its TLB is flushed up to.
    pub cpu_gen: Vec<u64>,
    /// Per CPU: a switch back from lazy mode found its TLB stale: the next
    /// task frame pays a full flush.
    pub catch_up_due: Vec<bool>,
    /// Per CPU: requests queued and not yet taken by a flush IPI handler.
    pub queue: Vec<Vec<FlushRequest>>,
    /// Per CPU: requests the running flush IPI handler took.
    pub in_service: Vec<Vec<FlushRequest>>,
    /// Per CPU: acknowledgements its shootdown still waits for.
    pub waiting: Vec<u32>,
    /// Counters.
    pub counts: TlbCounts,
}

impl Tlb {
    /// The state for `cpus` CPUs, none of which has run the process yet.
    pub fn new(cpus: usize, enabled: bool, ceiling: u32) -> Tlb {
        Tlb {
            enabled,
            ceiling,
            loaded: vec![false; cpus],
            lazy: vec![false; cpus],
            cpumask: vec![false; cpus],
            tlb_gen: 0,
            cpu_gen: vec![0; cpus],
            catch_up_due: vec![false; cpus],
            queue: vec![Vec::new(); cpus],
            in_service: vec![Vec::new(); cpus],
            waiting: vec![0; cpus],
            counts: TlbCounts::default(),
        }
    }

    /// `should_flush_tlb()`: whether CPU `c` must be sent a flush — it has
    /// the address space loaded and is not lazy.
    pub fn should_flush(&self, c: usize) -> bool {
        self.cpumask[c] && self.loaded[c] && !self.lazy[c]
    }

    /// Requests queued or in service at the targets.
    pub fn pending_requests(&self) -> u64 {
        self.queue.iter().chain(&self.in_service).map(|q| q.len() as u64).sum()
    }
}
