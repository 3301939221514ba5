//! The receive path's bottom half: `NET_RX_SOFTIRQ` (`net_rx_action`,
//! `__do_softirq`'s restart rule, ksoftirqd), NAPI scheduling and polls,
//! RPS/RFS/aRFS and the per-CPU backlogs, and delivery to sockets
//! (docs/sources.md §7; Linux net/core/dev.c, kernel/softirq.c).
//!
//! * `net_rx_action` walks the CPU's poll list: each NAPI instance is polled
//!   with its weight; the action stops when `netdev_budget` packets have been
//!   processed or `netdev_budget_usecs` have passed — then, with work left,
//!   it counts a `time_squeeze` and re-raises the softirq.
//! * `__do_softirq` (on `irq_exit`) restarts while the softirq is pending, at
//!   most `MAX_SOFTIRQ_RESTART` passes in total, within `MAX_SOFTIRQ_TIME`,
//!   and only while no task waits for the CPU (`need_resched`); otherwise it
//!   wakes the CPU's ksoftirqd, a normal task that then does the work.
//! * A poll is one CPU frame; its packets are taken from the ring when it
//!   starts and handed on (to sockets, or to RPS backlogs) when it ends.
//! * `get_rps_cpu` picks the backlog of a packet with RPS (`rps_cpus`) or RFS
//!   (the reader's CPU, with the `last_qtail` reordering guard); remote
//!   backlogs are kicked by `CALL_FUNCTION_SINGLE_VECTOR` IPIs at the end of
//!   the action (`net_rps_send_ipi`).

use super::cpu::{Ctx, Task, Work};
use super::guest::DeviceAccess;
use super::rps::{FLOW_STATE_LINES, RPS_NO_CPU, rps_flow_index};

/// Cache lines of each received packet that the device wrote and the
/// driver reads: the descriptor's write-back and the header the protocol
/// parses. On a CPU of another socket than the NIC's node, each is a
/// cross-socket transfer (`costs.cache_transfer_cross_socket`; a NUMA-remote
/// DMA read measures ≈ +105 ns, pcie-bench, docs/costs.md).
pub const DEVICE_LINES_PER_PACKET: u64 = 2;
use super::softnet::{Ksoftirqd, PollItem, Round};
use super::vector::CALL_FUNCTION_SINGLE_VECTOR;
use super::{Cx, Kernel};
use crate::ids::{CpuId, FlowId, QueueId};
use crate::sim::{Fault, Faults};
use crate::workload::traffic::Packet;
use irqlab_engine::Dur;

impl Kernel {
    // ---- NAPI -----------------------------------------------------------------

    /// A driver takes frames from queue `q`'s ring (a NAPI poll, a
    /// pre-NAPI handler, a user-space driver's burst): up to `max` of them
    /// appended to `batch`, their buffers refilled, and the frames whose
    /// data never reached their buffer (the IOMMU refused the write; the
    /// descriptor came back completed) dropped again — the driver hands
    /// nothing up for them. Returns how many it took from the ring, those
    /// dropped included, and the refill's CPU time.
    pub(super) fn rx_ring_take(
        &mut self,
        cpu: CpuId,
        q: QueueId,
        max: usize,
        batch: &mut Vec<Packet>,
        cx: &mut Cx,
    ) -> (usize, Dur) {
        let (dev, sim, platform) = cx.nic(self.adapter.nic);
        dev.rx_take(q, max, batch, sim, platform);
        // The poll touches each packet's flow record (its socket, its
        // last CPU): ask for them all before handling the first.
        for p in batch.iter() {
            irqlab_engine::hint::prefetch(&self.flows[p.flow.idx()]);
        }
        let taken = batch.len();
        self.stats.rx_from_rings += taken as u64;
        let refill = self.rx_refill(cpu, q, batch, cx);
        batch.retain(|p| !p.faulted);
        self.stats.discarded_faulted += (taken - batch.len()) as u64;
        (taken, refill)
    }

    /// `napi_schedule()` on `cpu` for queue `q`.
    pub(super) fn napi_schedule(&mut self, cpu: CpuId, q: QueueId) {
        let napi = &mut self.napi[q.idx()];
        if napi.scheduled {
            // napi_schedule_prep() failed: already scheduled (MISSED).
            self.stats.napi_missed += 1;
            return;
        }
        napi.scheduled = true;
        let sn = &mut self.softnet[cpu.idx()];
        sn.poll_list.push_back(PollItem::Queue(q));
        sn.pending = true;
    }

    /// `napi_complete_done()`: the instance leaves the poll list and the
    /// driver re-enables the queue's interrupt.
    fn napi_complete_done(&mut self, q: QueueId, cx: &mut Cx) {
        self.napi[q.idx()].scheduled = false;
        let (dev, sim, platform) = cx.nic(self.adapter.nic);
        // adaptive-rx: the driver feeds net_dim the queue's counters as the
        // poll completes (mlx5e_handle_rx_dim) and writes a new profile.
        if let Some(d) = self.dim.get_mut(q.idx()) {
            let c = &dev.queues[q.idx()].counts;
            let sample = super::dim::DimSample { time: sim.now(), events: c.raised, packets: c.taken, bytes: c.bytes };
            if let Some((usecs, frames)) = d.sample(sample) {
                dev.set_moderation(q, usecs, frames);
            }
        }
        // ixgbe: ixgbe_poll → napi_complete → ixgbe_set_itr writes EITR.
        if let Some(i) = self.itr.get_mut(q.idx()) {
            let c = &dev.queues[q.idx()].counts;
            if let Some(usecs) = i.set_itr(c.taken, c.bytes) {
                dev.set_moderation(q, usecs, 0);
            }
        }
        dev.enable_irq(q, sim, platform);
    }

    // ---- softirq --------------------------------------------------------------

    /// `__do_softirq` entered from `irq_exit`.
    pub(super) fn do_softirq(&mut self, cpu: CpuId, cx: &mut Cx) {
        let sn = &mut self.softnet[cpu.idx()];
        sn.do_softirq_start = cx.sim.now();
        sn.restarts = 0;
        self.net_rx_action(cpu, Ctx::Softirq, cx);
    }

    /// Starts one `net_rx_action` in context `ctx`.
    fn net_rx_action(&mut self, cpu: CpuId, ctx: Ctx, cx: &mut Cx) {
        let budget = self.params.cfg.netdev_budget as i64;
        let sn = &mut self.softnet[cpu.idx()];
        sn.pending = false;
        sn.counts.rounds += 1;
        sn.round = Some(Round { budget_left: budget, start: cx.sim.now(), ctx, first: true });
        self.next_poll(cpu, cx);
    }

    /// The weight of a poll-list item: its NAPI instance's, or the backlog's
    /// (`dev_weight`).
    pub(super) fn weight(&self, item: PollItem) -> u32 {
        match item {
            PollItem::Queue(q) => self.napi[q.idx()].weight,
            PollItem::Backlog => self.params.cfg.napi_weight,
            PollItem::Tx(_) => self.tx_napi.weight,
        }
    }

    /// Polls the NAPI instance at the head of the poll list, or ends the round.
    fn next_poll(&mut self, cpu: CpuId, cx: &mut Cx) {
        let c = cpu.idx();
        let Some(&item) = self.softnet[c].poll_list.front() else {
            self.round_end(cpu, cx);
            return;
        };
        let costs = cx.sim.costs;
        let weight = self.weight(item) as usize;
        let mut batch = std::mem::take(&mut self.softnet[c].batch);
        let mut targets = std::mem::take(&mut self.softnet[c].batch_targets);
        batch.clear();
        targets.clear();
        let mut cost = costs.napi_poll;
        match item {
            PollItem::Tx(_) => cost += self.tx_clean(cpu, cx),
            PollItem::Queue(q) => {
                // TxRx vectors: the poll cleans the paired TX queue first.
                if self.sender.as_ref().is_some_and(|s| s.pair == q)
                    && cx.nics[self.adapter.nic.idx()].tx_vectors() == Some(crate::config::TxVectors::Txrx)
                {
                    cost += self.tx_clean(cpu, cx);
                }
                cost += self.rx_ring_take(cpu, q, weight, &mut batch, cx).1;
                // In a guest, the refill's notification (the tail write when
                // the poll ends) and, when the poll completes, the interrupt's
                // unmask may exit (a virtio kick, an emulated NIC's registers).
                cost += self.device_access(cpu, DeviceAccess::RxTail(q), cx);
                if batch.len() < weight {
                    cost += self.device_access(cpu, DeviceAccess::Unmask, cx);
                }
                // The device wrote descriptors and headers into its own
                // node: a CPU of another socket reads each across sockets.
                let topo = &cx.platform.topo;
                let remote = topo.socket_of(self.cores[c]) != self.adapter.numa_node;
                if remote {
                    self.stats.nic_remote_packets += batch.len() as u64;
                }
                let per_packet = costs.rx_driver_per_packet
                    + if remote { costs.cache_transfer_cross_socket.times(DEVICE_LINES_PER_PACKET) } else { Dur::ZERO };
                for p in &batch {
                    cost += per_packet;
                    // netif_receive_skb: RPS/RFS may send it to a backlog.
                    let target = self.get_rps_cpu(q, p, cx);
                    cost += match target {
                        Some(_) => costs.rps_enqueue,
                        None => costs.rx_protocol_per_packet + self.touch_flow(p.flow, cpu, 0, cx),
                    };
                    targets.push(target);
                }
            }
            PollItem::Backlog => {
                // process_backlog: the driver work was done before queueing.
                let sn = &mut self.softnet[c];
                let n = weight.min(sn.backlog.len());
                batch.extend(sn.backlog.drain(..n));
                sn.counts.backlog_dequeued += n as u64;
                // input_queue_head advances when the packets are processed (poll_done).
                for p in &batch {
                    cost += costs.rx_protocol_per_packet + self.touch_flow(p.flow, cpu, 0, cx);
                    targets.push(None);
                }
            }
        }
        let n = batch.len() as u32;
        let sn = &mut self.softnet[c];
        sn.batch = batch;
        sn.batch_targets = targets;
        let round = sn.round.as_mut().expect("a poll runs inside a round");
        if round.first {
            cost += costs.softirq_entry;
            round.first = false;
        }
        let ctx = round.ctx;
        if ctx == Ctx::Kthread && std::mem::take(&mut self.cpus[c].switch_due) {
            cost += costs.context_switch;
        }
        self.softnet[c].last_poll = Some((item, n));
        self.push_frame(cpu, ctx, Work::Poll { n }, cost, cx);
    }

    /// A poll frame finished: hand its packets on, then wake readers.
    pub(super) fn poll_done(&mut self, cpu: CpuId, cx: &mut Cx) {
        let c = cpu.idx();
        let (item, n) = self.softnet[c].last_poll.expect("poll_done after a poll");
        let weight = self.weight(item);
        let sn = &mut self.softnet[c];
        sn.counts.polls += 1;
        sn.counts.packets += n as u64;
        sn.counts.processed += sn.batch_targets.iter().filter(|t| t.is_none()).count() as u64;
        if n == weight {
            sn.counts.full_polls += 1;
        }
        match item {
            PollItem::Queue(q) => self.driver_poll_end(q, cx),
            PollItem::Backlog => {
                let sn = &mut self.softnet[c];
                sn.input_queue_head = sn.input_queue_head.wrapping_add(n);
            }
            PollItem::Tx(_) => {}
        }
        self.deliver_batch(cpu, cx);
        self.next_wakeups(cpu, cx);
    }

    /// Runs the next stretch of the poll's notification work (a frame),
    /// or, when none is left, goes on with [`Self::after_poll`].
    fn next_wakeups(&mut self, cpu: CpuId, cx: &mut Cx) {
        let c = cpu.idx();
        while let Some(&(cost, wake)) = self.softnet[c].wakeups.front() {
            if cost > Dur::ZERO {
                let ctx = self.softnet[c].round.as_ref().expect("inside a round").ctx;
                self.push_frame(cpu, ctx, Work::Wakeups, cost, cx);
                return;
            }
            self.softnet[c].wakeups.pop_front();
            if let Some(t) = wake {
                self.wake_thread(t, cpu, cx);
            }
        }
        self.after_poll(cpu, cx);
    }

    /// A stretch of notification work finished: the wakeup it ends with
    /// is issued now (`try_to_wake_up` returns), then the next stretch.
    pub(super) fn wakeups_done(&mut self, cpu: CpuId, cx: &mut Cx) {
        let (_, wake) = self.softnet[cpu.idx()].wakeups.pop_front().expect("a Wakeups frame has its stretch");
        if let Some(t) = wake {
            self.wake_thread(t, cpu, cx);
        }
        self.next_wakeups(cpu, cx);
    }

    /// After a poll (and its wakeups): requeue or complete the instance and
    /// decide whether the round goes on.
    pub(super) fn after_poll(&mut self, cpu: CpuId, cx: &mut Cx) {
        let c = cpu.idx();
        let now = cx.sim.now();
        let (item, n) = self.softnet[c].last_poll.take().expect("after_poll after a poll");
        let weight = self.weight(item);
        let budget_time = self.params.netdev_budget_time;
        let sn = &mut self.softnet[c];
        let round = sn.round.as_mut().expect("inside a round");
        round.budget_left -= n as i64;
        let front = sn.poll_list.pop_front();
        debug_assert_eq!(front, Some(item));
        // process_backlog only completes when the input queue is empty
        // (other CPUs may have queued more while it ran).
        let more = n == weight || (item == PollItem::Backlog && !sn.backlog.is_empty());
        if more {
            // Work remains: the instance stays scheduled, at the tail.
            sn.poll_list.push_back(item);
        } else {
            match item {
                PollItem::Queue(q) => self.napi_complete_done(q, cx),
                PollItem::Backlog => self.softnet[c].backlog_scheduled = false,
                PollItem::Tx(q) => {
                    self.tx_napi.scheduled = false;
                    let (dev, sim, platform) = cx.nic(self.adapter.nic);
                    dev.tx_enable_irq(q, sim, platform);
                }
            }
        }
        let sn = &mut self.softnet[c];
        let round = sn.round.as_ref().expect("inside a round");
        if sn.poll_list.is_empty() {
            self.round_end(cpu, cx);
        } else if round.budget_left <= 0 || now >= round.start + budget_time {
            sn.counts.time_squeeze += 1;
            sn.pending = true;
            self.round_end(cpu, cx);
        } else {
            self.next_poll(cpu, cx);
        }
    }

    /// The end of a `net_rx_action`: `__do_softirq`'s restart rule, or
    /// ksoftirqd's loop.
    pub(super) fn round_end(&mut self, cpu: CpuId, cx: &mut Cx) {
        let c = cpu.idx();
        if !self.softnet[c].rps_ipi_list.is_empty() {
            // net_rps_action_and_irq_enable: kick remote backlogs, then finish.
            let ctx = self.softnet[c].round.as_ref().expect("round_end inside a round").ctx;
            let cost = self.ipi_send_cost(&cx.sim.costs).times(self.softnet[c].rps_ipi_list.len() as u64);
            self.push_frame(cpu, ctx, Work::RpsIpis, cost, cx);
            return;
        }
        let round = self.softnet[c].round.take().expect("round_end inside a round");
        match round.ctx {
            Ctx::Softirq => {
                if !self.softnet[c].pending {
                    return;
                }
                let sn = &self.softnet[c];
                let in_time = cx.sim.now() < sn.do_softirq_start + self.params.max_softirq_time;
                if in_time && !self.need_resched(cpu) && sn.restarts + 1 < self.params.cfg.max_softirq_restart {
                    self.softnet[c].restarts += 1;
                    self.net_rx_action(cpu, Ctx::Softirq, cx);
                } else {
                    self.wakeup_softirqd(cpu);
                }
            }
            _ => self.ksoftirqd_round_done(cpu, cx),
        }
    }

    /// `wakeup_softirqd()`.
    fn wakeup_softirqd(&mut self, cpu: CpuId) {
        let c = cpu.idx();
        if self.softnet[c].ksoftirqd == Ksoftirqd::Sleeping {
            self.softnet[c].ksoftirqd = Ksoftirqd::Active;
            self.softnet[c].counts.ksoftirqd_wakeups += 1;
            self.cpus[c].runqueue.push_back(Task::Ksoftirqd);
        }
    }

    /// ksoftirqd got the CPU: run softirqs if any are pending, else sleep.
    pub(super) fn run_ksoftirqd(&mut self, cpu: CpuId, cx: &mut Cx) {
        if self.softnet[cpu.idx()].pending {
            self.net_rx_action(cpu, Ctx::Kthread, cx);
        } else {
            self.ksoftirqd_sleep(cpu);
        }
    }

    /// One ksoftirqd pass ended: go on, yield the CPU, or sleep.
    fn ksoftirqd_round_done(&mut self, cpu: CpuId, cx: &mut Cx) {
        if !self.softnet[cpu.idx()].pending {
            self.ksoftirqd_sleep(cpu);
        } else if self.slice_expired(cpu, cx.sim.now()) {
            self.yield_current(cpu);
        } else {
            self.net_rx_action(cpu, Ctx::Kthread, cx);
        }
    }

    fn ksoftirqd_sleep(&mut self, cpu: CpuId) {
        let c = cpu.idx();
        self.softnet[c].ksoftirqd = Ksoftirqd::Sleeping;
        self.cpus[c].current = None;
        self.cpus[c].last_task = None;
    }

    // ---- backlogs -------------------------------------------------------------

    /// `netif_rx()`: queue a packet on this CPU's backlog (dropped when it
    /// already holds `netdev_max_backlog`) and schedule the backlog NAPI,
    /// raising `NET_RX_SOFTIRQ`.
    pub(super) fn netif_rx(&mut self, cpu: CpuId, p: Packet, faults: &mut Faults) {
        if self.backlog_push(cpu, p, faults).is_some() {
            self.schedule_backlog(cpu);
        }
    }

    /// The queueing half of `enqueue_to_backlog()`: append to `cpu`'s input
    /// queue unless it is full (counted as `backlog_full`). Returns whether
    /// the queue was empty before, or `None` if the packet dropped.
    fn backlog_push(&mut self, cpu: CpuId, p: Packet, faults: &mut Faults) -> Option<bool> {
        let max = self.params.cfg.netdev_max_backlog as usize;
        let sn = &mut self.softnet[cpu.idx()];
        if sn.backlog.len() >= max {
            sn.counts.dropped_backlog += 1;
            return None;
        }
        let was_empty = sn.backlog.is_empty();
        sn.counts.backlog_enqueued += 1;
        if faults.fire(Fault::BacklogLosesPacket) {
            return Some(was_empty);
        }
        sn.backlog.push_back(p);
        sn.input_queue_tail = sn.input_queue_tail.wrapping_add(1);
        Some(was_empty)
    }

    /// Puts the CPU's backlog NAPI on its poll list (`____napi_schedule`).
    fn schedule_backlog(&mut self, cpu: CpuId) {
        let sn = &mut self.softnet[cpu.idx()];
        if !sn.backlog_scheduled && !sn.backlog.is_empty() {
            sn.backlog_scheduled = true;
            sn.poll_list.push_back(PollItem::Backlog);
            sn.pending = true;
        }
    }

    /// `enqueue_to_backlog()` on `target` from the current CPU `here`.
    /// A remote backlog that was empty needs an IPI, sent at the end of
    /// `net_rx_action`; a local one is scheduled at once.
    fn enqueue_to_backlog(
        &mut self,
        here: CpuId,
        target: CpuId,
        p: Packet,
        rflow: Option<(QueueId, usize)>,
        faults: &mut Faults,
    ) {
        let Some(was_empty) = self.backlog_push(target, p, faults) else { return };
        let tail = self.softnet[target.idx()].input_queue_tail;
        if let Some((q, idx)) = rflow {
            self.rps.flow_tables[q.idx()][idx].last_qtail = tail;
        }
        self.rps.counts.enqueued += 1;
        if target == here {
            self.schedule_backlog(target);
        } else {
            self.rps.counts.remote += 1;
            if was_empty && !self.softnet[target.idx()].backlog_scheduled {
                let list = &mut self.softnet[here.idx()].rps_ipi_list;
                if !list.contains(&target) {
                    list.push(target);
                }
            }
        }
    }

    /// `net_rps_send_ipi()`: one IPI per remote CPU queued this cycle.
    pub(super) fn send_rps_ipis(&mut self, cpu: CpuId, cx: &mut Cx) {
        let mut targets = std::mem::take(&mut self.softnet[cpu.idx()].rps_ipi_list);
        for t in &targets {
            self.stats.ipis.rps += 1;
            self.stats.ipis.sent += 1;
            if cx.sim.faults.fire(Fault::IcrNotWritten) {
                continue;
            }
            self.send_ipi_to(cpu, *t, CALL_FUNCTION_SINGLE_VECTOR, Dur::ZERO, cx);
        }
        targets.clear();
        self.softnet[cpu.idx()].rps_ipi_list = targets;
    }

    /// `rps_trigger_softirq()`: the IPI handler schedules this CPU's backlog.
    pub(super) fn rps_ipi_received(&mut self, cpu: CpuId) {
        self.stats.ipis.received += 1;
        self.stats.sysvec.cal[cpu.idx()] += 1;
        self.schedule_backlog(cpu);
    }

    // ---- RPS / RFS --------------------------------------------------------------

    /// `get_rps_cpu()`: the CPU whose backlog a packet from queue `q` goes
    /// to, and the `rps_dev_flow` index that tracks it; `None` to process it
    /// here, now.
    fn get_rps_cpu(&mut self, q: QueueId, p: &Packet, cx: &mut Cx) -> Option<(CpuId, Option<usize>)> {
        if !self.rps.enabled() {
            return None;
        }
        let hash = self.flow_hash[p.flow.idx()];
        if self.rps.rfs {
            let mask = self.rps.sock_flow_table.len() as u32 - 1;
            let ident = self.rps.sock_flow_table[(hash & mask) as usize];
            if ident != RPS_NO_CPU && (ident ^ hash) & !self.rps.cpu_mask == 0 {
                let next_cpu = CpuId(ident & self.rps.cpu_mask);
                let table = &self.rps.flow_tables[q.idx()];
                let idx = rps_flow_index(hash, table.len());
                let rflow = table[idx];
                let mut tcpu = rflow.cpu;
                if tcpu != Some(next_cpu) && next_cpu.idx() < self.cpus.len() {
                    // Linux: (int)(head - last_qtail) >= 0 on the old CPU's backlog.
                    let drained = tcpu.is_none_or(|old| {
                        (self.softnet[old.idx()].input_queue_head.wrapping_sub(rflow.last_qtail) as i32) >= 0
                    });
                    if drained || !self.rps.guard {
                        self.set_rps_cpu(q, idx, p.flow, next_cpu, cx);
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

    /// `set_rps_cpu()`: record the flow's new CPU; with aRFS, steer it in the NIC.
    fn set_rps_cpu(&mut self, q: QueueId, idx: usize, flow: FlowId, next_cpu: CpuId, cx: &mut Cx) {
        self.rps.counts.rfs_moves += 1;
        let head = self.softnet[next_cpu.idx()].input_queue_head;
        let rflow = &mut self.rps.flow_tables[q.idx()][idx];
        rflow.cpu = Some(next_cpu);
        rflow.last_qtail = head;
        if self.rps.arfs {
            // rx_cpu_rmap: the first queue whose interrupt targets next_cpu.
            let aff = &self.adapter.affinity;
            if let Some(to) = (0..aff.len()).find(|k| aff[*k] == next_cpu).map(|k| QueueId(k as u32)) {
                let (dev, sim, platform) = cx.nic(self.adapter.nic);
                if dev.flow_queue(flow) != to {
                    self.rps.counts.arfs_filter_updates += 1;
                    dev.steer_flow(flow, to, sim, platform);
                }
            }
        }
    }

    /// `sock_rps_record_flow()`: the reader's recv records its CPU for RFS.
    pub(super) fn rps_record_flow(&mut self, f: FlowId, cpu: CpuId) {
        if !self.rps.rfs {
            return;
        }
        let hash = self.flow_hash[f.idx()];
        let mask = self.rps.sock_flow_table.len() as u32 - 1;
        let val = (hash & !self.rps.cpu_mask) | cpu.0;
        self.rps.sock_flow_table[(hash & mask) as usize] = val;
    }

    /// Touches a flow's kernel state (and `extra_lines` of packet data) on
    /// `cpu`: a cache-transfer penalty if another CPU touched it last.
    pub(super) fn touch_flow(&mut self, f: FlowId, cpu: CpuId, extra_lines: u64, cx: &Cx) -> Dur {
        let fl = &mut self.flows[f.idx()];
        match fl.touch(cpu) {
            Some(prev) if prev != cpu => {
                self.stats.handoffs += 1;
                self.flow_counts.handoff(f.idx());
                let topo = &cx.platform.topo;
                let per_line = if topo.socket_of(self.cores[prev.idx()]) == topo.socket_of(self.cores[cpu.idx()]) {
                    cx.sim.costs.cache_transfer_same_socket
                } else {
                    self.stats.cross_socket_handoffs += 1;
                    cx.sim.costs.cache_transfer_cross_socket
                };
                per_line.times(FLOW_STATE_LINES + extra_lines)
            }
            _ => Dur::ZERO,
        }
    }

    // ---- sockets ----------------------------------------------------------------

    /// Hands the finished poll's packets on: to RPS backlogs, or to their
    /// sockets. Queues the CPU time of notifying and waking readers (the
    /// poll's context pays it) as stretches in `softnet.wakeups`, each
    /// ending with the wakeup it performs, if any.
    fn deliver_batch(&mut self, cpu: CpuId, cx: &mut Cx) {
        let c = cpu.idx();
        let batch = std::mem::take(&mut self.softnet[c].batch);
        let targets = std::mem::take(&mut self.softnet[c].batch_targets);
        let polled = self.softnet[c].last_poll.map(|(item, _)| item);
        let mut notify_cost = Dur::ZERO;
        for (k, p) in batch.iter().enumerate() {
            if let Some(Some((t, idx))) = targets.get(k) {
                let rflow = match (polled, idx) {
                    (Some(PollItem::Queue(q)), Some(i)) => Some((q, *i)),
                    _ => None,
                };
                self.enqueue_to_backlog(cpu, *t, *p, rflow, &mut cx.sim.faults);
                continue;
            }
            let sock = &mut self.flows[p.flow.idx()].socket;
            let Some(t) = sock.owner() else {
                self.stats.dropped_no_socket += 1;
                continue;
            };
            if u64::from(sock.rmem_bytes) > self.params.cfg.socket_rcvbuf_bytes {
                if cx.sim.faults.fire(Fault::MiscountSocketDrop) {
                    self.stats.delivered += 1;
                } else {
                    self.stats.dropped_socket_full += 1;
                }
                continue;
            }
            sock.rmem_bytes += p.bytes + self.params.cfg.skb_overhead_bytes;
            self.stats.socket_enqueued += 1;
            if cx.sim.faults.fire(Fault::SocketLosesPacket) {
                continue;
            }
            let th = &mut self.threads[t.idx()];
            th.queue.push_back(*p);
            if th.msg_bytes > 0 {
                th.queued_payload += crate::config::process::payload_bytes(p.bytes) as u64;
            }
            self.trace_socket_queue(t, cx.sim);
            let (cost, wake) = self.notify_data_ready(t, cpu, cx);
            notify_cost += cost;
            if wake.is_some() {
                self.softnet[c].wakeups.push_back((std::mem::take(&mut notify_cost), wake));
            }
        }
        let sn = &mut self.softnet[c];
        if notify_cost > Dur::ZERO {
            sn.wakeups.push_back((notify_cost, None));
        }
        sn.batch = batch;
        sn.batch.clear();
        sn.batch_targets = targets;
        sn.batch_targets.clear();
    }
}
