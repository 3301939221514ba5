//! The applications' receive system calls, and the kernel side of their
//! notification (workload/notify.rs has the mechanisms' rules).
//!
//! A reader loops on `recv` (or reaps io_uring completions): each call is a
//! UDP `recvmsg` that returns one datagram (`recvmsg_call_ns` +
//! `recvmsg_datagram_ns`, workload/notify.rs) plus the copy of the frame to
//! user space, then the application's own per-packet work. With nothing to read it blocks and is
//! woken by the softirq that queues its next packet. Reads are grouped into
//! bursts of `recv_batch` calls (one CPU frame each); a packet's delivery
//! time is the end of its own `recv` within the burst, which is when the
//! wire-to-application latency is taken.

use super::cpu::{Ctx, Work};
use super::rps::payload_lines;
use super::{Cx, Kernel};
use crate::config::NotifyKind;
use crate::ids::{CpuId, ThreadId};
use crate::sim::Fault;
use crate::workload::app::{IO_URING_CQ_ENTRIES, ThreadState};
use irqlab_engine::Dur;

impl Kernel {
    /// Kernel side of one packet queued for thread `t` on `cpu`: the
    /// mechanism's per-packet work, and a wakeup if the thread now may run.
    /// Returns the CPU time it costs the softirq and the thread to wake
    /// once that time is spent: `try_to_wake_up` runs at the end of the
    /// notification that calls it (`sk_data_ready`, `eventfd_signal`,
    /// `send_signal` → `complete_signal` → `signal_wake_up`), and its
    /// reschedule IPI leaves when `try_to_wake_up` ends. The thread is
    /// claimed at once (`TASK_WAKING`), so a later packet does not wake it
    /// again.
    pub(super) fn notify_data_ready(&mut self, t: ThreadId, cpu: CpuId, cx: &mut Cx) -> (Dur, Option<ThreadId>) {
        let costs = cx.sim.costs;
        let th = &mut self.threads[t.idx()];
        let mut cost = th.notify.data_ready(&costs);
        if th.state == ThreadState::Blocked && !th.notify.must_wait(th.readable()) {
            if cx.sim.faults.fire(Fault::LoseWakeup) {
                return (cost, None);
            }
            cost += th.notify.woken(&costs);
            th.state = ThreadState::Waking;
            let ipi = self.ttwu_ipi_cost(t, cpu, &costs);
            self.threads[t.idx()].notify.counts.notify_cpu += ipi;
            return (cost + ipi, Some(t));
        }
        (cost, None)
    }

    /// The thread has the CPU: read up to `recv_batch` packets, or block.
    pub(super) fn recv_burst(&mut self, cpu: CpuId, t: ThreadId, cx: &mut Cx) {
        let c = cpu.idx();
        let now = cx.sim.now();
        let costs = cx.sim.costs;
        let overhead = self.params.cfg.skb_overhead_bytes;
        if self.cg_throttle_if_spent(cpu, t, cx) {
            return;
        }
        if self.threads[t.idx()].pmd.is_some() {
            return self.pmd_burst(cpu, t, cx);
        }
        let th = &mut self.threads[t.idx()];
        if th.notify.must_wait(th.readable()) {
            th.state = ThreadState::Blocked;
            if let Some(every) = th.migrate_every
                && now >= th.next_migration
            {
                // Load balancing moves the sleeping thread to the next CPU
                // of its cpuset.
                let i = th.cpus.iter().position(|c| *c == th.cpu.0).map_or(0, |i| i + 1);
                th.cpu = CpuId(th.cpus.get(i % th.cpus.len().max(1)).copied().unwrap_or(th.cpu.0));
                th.next_migration = now + every;
                th.migrations += 1;
            }
            // Blocking switches to another task or the idle task: the next
            // task to run here pays a context switch, even this one.
            self.cpus[c].current = None;
            self.cpus[c].last_task = None;
            return;
        }
        if th.msg_bytes > 0 {
            return self.read_message(cpu, t, cx);
        }
        // io_uring reaps every completion in the CQ ring at once; the others
        // recv in bursts of `recv_batch` calls.
        let batch = if th.notify.kind == NotifyKind::IoUring {
            IO_URING_CQ_ENTRIES
        } else {
            self.params.cfg.recv_batch as usize
        };
        let m = batch.min(th.queue.len());
        self.stats.recv_dequeued += m as u64;
        th.burst.clear();
        let work = th.work;
        let switch = self.take_switch_cost(cpu, &costs);
        let th = &mut self.threads[t.idx()];
        let mut cost = th.notify.burst_prologue(&costs, switch);
        let per_packet = th.notify.per_packet(&costs);
        th.burst_prologue = cost;
        for _ in 0..m {
            let p = self.threads[t.idx()].queue.pop_front().expect("m <= queue length");
            // The copy pulls the socket state and the packet's lines here.
            let copy = costs.copy(p.bytes);
            self.stats.copy_bytes += p.bytes as u64;
            self.stats.copy_ps += copy.as_ps();
            let one = per_packet + copy + work + self.touch_flow(p.flow, cpu, payload_lines(p.bytes), cx);
            self.rps_record_flow(p.flow, cpu);
            cost += one;
            self.threads[t.idx()].burst.push((p, one));
            let sock = &mut self.flows[p.flow.idx()].socket;
            sock.rmem_bytes = sock.rmem_bytes.saturating_sub(p.bytes + overhead);
        }
        self.trace_socket_queue(t, cx.sim);
        self.push_frame(cpu, Ctx::User, Work::Recv { thread: t }, cost, cx);
    }

    /// A burst ended: record each packet's delivery, then go on or yield.
    pub(super) fn recv_done(&mut self, cpu: CpuId, t: ThreadId, cx: &mut Cx) {
        let now = cx.sim.now();
        let th = &mut self.threads[t.idx()];
        // Each packet's copy ended when the burst had done the prologue and
        // every recv up to its own, plus the preemptions suffered by then.
        let run = &self.cpus[cpu.idx()];
        let mut done = th.burst_prologue;
        for (p, one) in &th.burst {
            done += *one;
            let end = run.task_time_at(done);
            #[cfg(test)]
            self.stats.deliveries.push((cpu, end));
            self.stats.latency.record_ns(end.since(p.origin).as_ns());
            if let Some(tr) = cx.sim.trace.as_deref_mut() {
                tr.delivered(self.id, cpu, p.flow, p.seq, end);
            }
            self.stats.delivered += 1;
            self.stats.delivered_bytes += p.bytes as u64;
        }
        // The last copy ends with the burst — or earlier, when the frame was
        // preempted at the very instant its work was done (its completion
        // then waits for the preemption to end).
        debug_assert!(th.burst.is_empty() || run.task_time_at(done) <= now, "the last copy ends by the burst's end");
        th.received += th.burst.len() as u64;
        let message = th.msg_bytes > 0;
        for (p, _) in &th.burst {
            let fl = &mut self.flows[p.flow.idx()];
            if fl.deliver(p.seq) {
                self.stats.out_of_order += 1;
                self.flow_counts.reorder(p.flow.idx());
            }
        }
        th.burst.clear();
        if message {
            self.message_delivered(t, run.task_time_at(done));
        }
        if self.slice_expired(cpu, now) {
            self.yield_current(cpu);
        } else {
            self.recv_burst(cpu, t, cx);
        }
    }
}
