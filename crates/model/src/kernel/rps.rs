//! RPS, RFS and accelerated RFS (docs/sources.md §7.4; Linux net/core/dev.c
//! `get_rps_cpu`, `set_rps_cpu`, `enqueue_to_backlog`, Documentation/networking/scaling.rst).
//!
//! * RPS: a queue's `rps_cpus` map picks `cpus[(hash * len) >> 32]`
//!   (`reciprocal_scale`); the packet is queued on that core's backlog.
//! * RFS: `rps_sock_flow_table[hash & mask]` holds `(hash & ~cpu_mask) | cpu`
//!   of the core where the flow's reader last called recv. Each queue's
//!   `rps_flow_table[hash & (cnt-1)]` remembers `{cpu, last_qtail}`; the
//!   flow moves to the reader's core only when the old core's backlog head
//!   has passed `last_qtail` (no packet of it still queued there), which
//!   prevents reordering. The guard can be switched off to show why.
//! * aRFS: when RFS moves a flow, the driver programs a NIC filter (through
//!   `rx_cpu_rmap`, the reverse map of queue IRQ affinities) so the flow's
//!   packets arrive on the queue whose interrupt targets the reader's core.
//! * Remote backlogs are kicked by an IPI (`CALL_FUNCTION_SINGLE_VECTOR`,
//!   `rps_trigger_softirq`) sent at the end of `net_rx_action`, one per
//!   remote core whose backlog went from empty to non-empty in that cycle.
//!
//! The RPS flow limit (`flow_limit_cpu_bitmap`) is not modelled. This file
//! holds the tables; `get_rps_cpu` and the backlog hand-off are in net_rx.rs.

use crate::ids::CpuId;
use serde::Serialize;

/// `RPS_NO_CPU`: an unset `rps_sock_flow_table` entry.
pub const RPS_NO_CPU: u32 = u32::MAX;
/// Cache lines of per-flow kernel state (socket, flow table entries) a core
/// touches per packet; pulled from another core's cache when it moves.
pub const FLOW_STATE_LINES: u64 = 2;
/// Cache line size, bytes.
pub const CACHE_LINE_BYTES: u64 = 64;

/// One `rps_dev_flow`.
#[derive(Clone, Copy, Debug, Default)]
pub struct RpsDevFlow {
    /// The core the flow's packets currently go to.
    pub cpu: Option<CpuId>,
    /// The target backlog's tail counter after the flow's last enqueue.
    pub last_qtail: u32,
}

/// RPS/RFS state.
#[derive(Debug, Default)]
pub struct Rps {
    /// Each queue's `rps_cpus` map.
    pub cpus: Vec<Vec<CpuId>>,
    /// RFS on.
    pub rfs: bool,
    /// The reordering guard.
    pub guard: bool,
    /// aRFS on.
    pub arfs: bool,
    /// Linux's `rps_needed` static key: some queue has an RPS map, or RFS
    /// is on (set once at start; the maps do not change during a run).
    needed: bool,
    /// `rps_sock_flow_table`.
    pub sock_flow_table: Vec<u32>,
    /// `rps_cpu_mask`: `roundup_pow_of_two(nr_cpu_ids) - 1`.
    pub cpu_mask: u32,
    /// Per-queue `rps_flow_table`s.
    pub flow_tables: Vec<Vec<RpsDevFlow>>,
    /// Counters.
    pub counts: RpsCounts,
}

/// What RPS/RFS/aRFS did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RpsCounts {
    /// Packets queued on a backlog by RPS/RFS.
    pub enqueued: u64,
    /// Of which on another CPU's backlog.
    pub remote: u64,
    /// Times RFS moved a flow's CPU.
    pub rfs_moves: u64,
    /// NIC filters programmed by aRFS.
    pub arfs_filter_updates: u64,
}

impl Rps {
    /// Sets up the tables for `cores` cores and `queues` queues.
    pub fn new(k: &crate::config::KernelConfig, arfs: bool, cores: u32, queues: u32) -> Rps {
        let entries = k.rps_sock_flow_entries.next_power_of_two();
        let cnt = if k.rps_flow_cnt > 0 { k.rps_flow_cnt } else { (entries / queues.max(1)).max(1) };
        let cnt = cnt.next_power_of_two() as usize;
        // rps_sock_flow_entries = 0 is RFS off, as in Linux.
        let rfs = k.rfs && k.rps_sock_flow_entries > 0;
        let mut rps = Rps {
            cpus: (0..queues as usize)
                .map(|q| {
                    let list = if k.rps_cpus_by_queue.is_empty() { &k.rps_cpus } else { &k.rps_cpus_by_queue[q] };
                    list.iter().map(|c| CpuId(*c)).collect()
                })
                .collect(),
            rfs,
            guard: k.rfs_reorder_guard,
            arfs,
            sock_flow_table: if rfs { vec![RPS_NO_CPU; entries as usize] } else { Vec::new() },
            cpu_mask: cores.next_power_of_two() - 1,
            flow_tables: if rfs { (0..queues).map(|_| vec![RpsDevFlow::default(); cnt]).collect() } else { Vec::new() },
            ..Rps::default()
        };
        rps.needed = rps.rfs || rps.cpus.iter().any(|m| !m.is_empty());
        rps
    }

    /// Whether packets of queue polls go through `get_rps_cpu` at all
    /// (checked per packet: one flag, not a walk over every queue's map).
    pub fn enabled(&self) -> bool {
        self.needed
    }
}

/// `GOLDEN_RATIO_32` of include/linux/hash.h.
pub const GOLDEN_RATIO_32: u32 = 0x61C8_8647;

/// Index into a per-queue `rps_flow_table` of `len` (a power of two) entries:
/// `hash_32(hash, ilog2(len))`, as 2025+ kernels do. (Older kernels used
/// `hash & (len - 1)`, whose low bits are the ones RSS already used to pick
/// the queue, so flows of one queue collided far more often.)
pub fn rps_flow_index(hash: u32, len: usize) -> usize {
    let bits = len.trailing_zeros();
    if bits == 0 { 0 } else { (hash.wrapping_mul(GOLDEN_RATIO_32) >> (32 - bits)) as usize }
}

/// Cache lines a packet's payload spans.
pub fn payload_lines(bytes: u32) -> u64 {
    (bytes as u64).div_ceil(CACHE_LINE_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_index_is_hash_32_of_the_table_size() {
        // hash_32(1, 13) = (0x61c88647 * 1) >> 19 = 0xc39.
        assert_eq!(rps_flow_index(1, 8192), 0xc39);
        assert_eq!(rps_flow_index(0xdead_beef, 1), 0);
        // Flows that share their low 7 bits (one RSS queue) still spread.
        let idx: std::collections::BTreeSet<usize> = (0..16u32).map(|k| rps_flow_index(k << 7 | 5, 8192)).collect();
        assert_eq!(idx.len(), 16);
    }

    #[test]
    fn payload_spans_whole_cache_lines() {
        assert_eq!(payload_lines(64), 1);
        assert_eq!(payload_lines(65), 2);
        assert_eq!(payload_lines(1518), 24);
    }
}
