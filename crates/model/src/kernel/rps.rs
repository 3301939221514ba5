//! RPS, RFS and accelerated RFS (specs.md §7.4; Linux net/core/dev.c
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
//! The RPS flow limit (`flow_limit_cpu_bitmap`) is not modelled.

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

use crate::ids::{CoreId, FlowId, QueueId};
use crate::kernel::softirq::PollItem;
use crate::machine::Machine;
use crate::workload::traffic::Packet;
use irqlab_engine::{Dur, Time};
use irqlab_hw::msi::{DeliveryMode, MsiMessage, Trigger};

/// Linux `CALL_FUNCTION_SINGLE_VECTOR` (specs.md §4.2): RPS kicks remote backlogs with it.
pub const CALL_FUNCTION_SINGLE_VECTOR: u8 = 0xfb;
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
    pub cpu: Option<CoreId>,
    /// The target backlog's tail counter after the flow's last enqueue.
    pub last_qtail: u32,
}

/// RPS/RFS state.
#[derive(Debug, Default)]
pub struct Rps {
    /// Each queue's `rps_cpus` map.
    pub cpus: Vec<Vec<CoreId>>,
    /// RFS on.
    pub rfs: bool,
    /// The reordering guard.
    pub guard: bool,
    /// aRFS on.
    pub arfs: bool,
    /// `rps_sock_flow_table`.
    pub sock_flow_table: Vec<u32>,
    /// `rps_cpu_mask`: `roundup_pow_of_two(nr_cpu_ids) - 1`.
    pub cpu_mask: u32,
    /// Per-queue `rps_flow_table`s.
    pub flow_tables: Vec<Vec<RpsDevFlow>>,
    /// Packets queued on a backlog by RPS/RFS.
    pub enqueued: u64,
    /// Of which on another core's backlog.
    pub remote: u64,
    /// Times RFS moved a flow's core.
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
        let rfs = k.rfs;
        Rps {
            cpus: (0..queues as usize)
                .map(|q| {
                    let list = if k.rps_cpus_by_queue.is_empty() { &k.rps_cpus } else { &k.rps_cpus_by_queue[q] };
                    list.iter().map(|c| CoreId(*c)).collect()
                })
                .collect(),
            rfs,
            guard: k.rfs_reorder_guard,
            arfs,
            sock_flow_table: if rfs { vec![RPS_NO_CPU; entries as usize] } else { Vec::new() },
            cpu_mask: cores.next_power_of_two() - 1,
            flow_tables: if rfs { (0..queues).map(|_| vec![RpsDevFlow::default(); cnt]).collect() } else { Vec::new() },
            ..Rps::default()
        }
    }

    /// Whether packets of queue polls go through `get_rps_cpu` at all.
    pub fn enabled(&self) -> bool {
        self.rfs || self.cpus.iter().any(|m| !m.is_empty())
    }
}

impl Machine {
    /// `get_rps_cpu()`: the core whose backlog a packet from queue `q`
    /// goes to, and the `rps_dev_flow` index that tracks it; `None` to
    /// process it here, now.
    pub(crate) fn get_rps_cpu(&mut self, q: QueueId, p: &Packet, now: Time) -> Option<(CoreId, Option<usize>)> {
        if !self.rps.enabled() {
            return None;
        }
        let hash = self.flows[p.flow.idx()].hash;
        if self.rps.rfs {
            let mask = self.rps.sock_flow_table.len() as u32 - 1;
            let ident = self.rps.sock_flow_table[(hash & mask) as usize];
            if ident != RPS_NO_CPU && (ident ^ hash) & !self.rps.cpu_mask == 0 {
                let next_cpu = CoreId(ident & self.rps.cpu_mask);
                let table = &self.rps.flow_tables[q.idx()];
                let idx = rps_flow_index(hash, table.len());
                let rflow = table[idx];
                let mut tcpu = rflow.cpu;
                if tcpu != Some(next_cpu) && next_cpu.0 < self.topo.cores() {
                    // Linux: (int)(head - last_qtail) >= 0 on the old core's backlog.
                    let drained = tcpu.is_none_or(|old| {
                        (self.softnet[old.idx()].input_queue_head.wrapping_sub(rflow.last_qtail) as i32) >= 0
                    });
                    if drained || !self.rps.guard {
                        self.set_rps_cpu(q, idx, p.flow, next_cpu, now);
                        tcpu = Some(next_cpu);
                    }
                }
                if let Some(t) = tcpu {
                    return Some((t, Some(idx)));
                }
            }
        }
        let map = &self.rps.cpus[q.idx()];
        if map.is_empty() {
            return None;
        }
        // reciprocal_scale(hash, len)
        let i = ((hash as u64 * map.len() as u64) >> 32) as usize;
        Some((map[i], None))
    }

    /// `set_rps_cpu()`: record the flow's new core; with aRFS, steer it in the NIC.
    fn set_rps_cpu(&mut self, q: QueueId, idx: usize, flow: FlowId, next_cpu: CoreId, now: Time) {
        self.rps.rfs_moves += 1;
        let head = self.softnet[next_cpu.idx()].input_queue_head;
        let rflow = &mut self.rps.flow_tables[q.idx()][idx];
        rflow.cpu = Some(next_cpu);
        rflow.last_qtail = head;
        if self.rps.arfs {
            // rx_cpu_rmap: the first queue whose interrupt targets next_cpu.
            if let Some(to) =
                (0..self.affinity.len()).find(|k| self.affinity[*k] == next_cpu).map(|k| QueueId(k as u32))
            {
                let from = self.flow_queue[flow.idx()];
                if from != to {
                    self.rps.arfs_filter_updates += 1;
                    self.flow_queue[flow.idx()] = to;
                    self.nic_steer_flow(flow, from, to, now);
                }
            }
        }
    }

    /// `enqueue_to_backlog()` on `target` from the current core `here`.
    /// A remote backlog that was empty needs an IPI, sent at the end of
    /// `net_rx_action`; a local one is scheduled at once.
    pub(crate) fn enqueue_to_backlog(
        &mut self,
        here: CoreId,
        target: CoreId,
        p: Packet,
        rflow: Option<(QueueId, usize)>,
    ) {
        let Some(was_empty) = self.backlog_push(target, p) else { return };
        let tail = self.softnet[target.idx()].input_queue_tail;
        if let Some((q, idx)) = rflow {
            self.rps.flow_tables[q.idx()][idx].last_qtail = tail;
        }
        self.rps.enqueued += 1;
        if target == here {
            self.schedule_backlog(target);
        } else {
            self.rps.remote += 1;
            if was_empty && !self.softnet[target.idx()].backlog_scheduled {
                let list = &mut self.softnet[here.idx()].rps_ipi_list;
                if !list.contains(&target) {
                    list.push(target);
                }
            }
        }
    }

    /// Puts the core's backlog NAPI on its poll list (`____napi_schedule`).
    pub(crate) fn schedule_backlog(&mut self, core: CoreId) {
        let sn = &mut self.softnet[core.idx()];
        if !sn.backlog_scheduled && !sn.backlog.is_empty() {
            sn.backlog_scheduled = true;
            sn.poll_list.push_back(PollItem::Backlog);
            sn.pending = true;
        }
    }

    /// CPU time of sending the IPIs queued by this `net_rx_action`.
    pub(crate) fn rps_ipi_cost(&self, core: CoreId) -> Dur {
        self.costs.ipi_send.times(self.softnet[core.idx()].rps_ipi_list.len() as u64)
    }

    /// `net_rps_send_ipi()`: one IPI per remote core queued this cycle.
    pub(crate) fn send_rps_ipis(&mut self, core: CoreId, now: Time) {
        let targets = std::mem::take(&mut self.softnet[core.idx()].rps_ipi_list);
        for t in &targets {
            self.stats.ipis.rps += 1;
            let msg = MsiMessage::compose(
                self.topo.apic_id(*t) as u8,
                CALL_FUNCTION_SINGLE_VECTOR,
                DeliveryMode::Fixed,
                Trigger::Edge,
            );
            self.stats.ipis.sent += 1;
            self.events.schedule(
                now + self.costs.ipi_latency,
                crate::machine::Event::MsiWrite { address: msg.address, data: msg.data },
            );
        }
        let mut targets = targets;
        targets.clear();
        self.softnet[core.idx()].rps_ipi_list = targets;
    }

    /// `rps_trigger_softirq()`: the IPI handler schedules this core's backlog.
    pub(crate) fn rps_ipi_received(&mut self, core: CoreId) {
        self.stats.ipis.received += 1;
        self.schedule_backlog(core);
    }

    /// Touches a flow's kernel state (and `extra_lines` of packet data) on
    /// `core`: a cache-transfer penalty if another core touched it last.
    pub(crate) fn touch_flow(&mut self, f: FlowId, core: CoreId, extra_lines: u64) -> Dur {
        let last = self.flow_core[f.idx()].replace(core);
        match last {
            Some(prev) if prev != core => {
                self.stats.handoffs += 1;
                self.flow_handoffs[f.idx()] += 1;
                let per_line = if self.topo.socket_of(prev) == self.topo.socket_of(core) {
                    self.costs.cache_transfer_same_socket
                } else {
                    self.stats.cross_socket_handoffs += 1;
                    self.costs.cache_transfer_cross_socket
                };
                per_line.times(FLOW_STATE_LINES + extra_lines)
            }
            _ => Dur::ZERO,
        }
    }

    /// `sock_rps_record_flow()`: the reader's recv records its core for RFS.
    pub(crate) fn rps_record_flow(&mut self, f: FlowId, core: CoreId) {
        if !self.rps.rfs {
            return;
        }
        let hash = self.flows[f.idx()].hash;
        let mask = self.rps.sock_flow_table.len() as u32 - 1;
        let val = (hash & !self.rps.cpu_mask) | core.0;
        let e = &mut self.rps.sock_flow_table[(hash & mask) as usize];
        if *e != val {
            *e = val;
        }
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
