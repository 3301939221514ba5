//! Stream reads, zero-copy receive by page remapping, TLB shootdowns, and
//! the process's compute threads (state in tlb.rs).
//!
//! * **Stream reads** (`process.message_bytes` > 0): a read waits until a
//!   whole message is queued (`SO_RCVLOWAT`), then takes its bytes from
//!   the oldest frames on; a frame is delivered when the read that takes
//!   its last byte ends.
//! * **Copy**: one system call, the copy (the cost model's copy: the
//!   message's most recent bytes from the cache, the older ones from
//!   DRAM) and the application's work per message.
//! * **Remap** (`getsockopt(TCP_ZEROCOPY_RECEIVE)`, net/ipv4/tcp.c): a
//!   payload fragment that is exactly one page at offset 0 of a page-aligned
//!   buffer (header split) and lies wholly inside the message is mapped into
//!   the process (`vm_insert_pages`); every other byte — a partial page, a
//!   payload of another size, everything without header split — is copied
//!   (`recv_skip_hint`, or the `copybuf` the call fills). Each read first
//!   unmaps the pages the previous one mapped (the reused receive window,
//!   `zap_page_range`), which flushes them from every TLB that may hold
//!   them, and then maps the new ones.
//! * **TLB flush** (arch/x86/mm/tlb.c `flush_tlb_mm_range`): the address
//!   space's generation advances; the initiator queues a request to every
//!   other CPU that has the address space loaded and is not lazy
//!   (`should_flush_tlb`), sending an IPI to each whose queue was empty
//!   (`smp_call_function_many_cond`), flushes locally — one `INVLPG` per
//!   page up to `tlb_single_page_flush_ceiling` (33) pages, else the whole
//!   TLB — and spins until every target has acknowledged. A target takes the
//!   IPI as a hard interrupt whenever its interrupts are enabled, flushes
//!   by the same rule and acknowledges; the initiator sees the acknowledgement
//!   a cache-line transfer later. A CPU in lazy-TLB mode (idle, or running
//!   a kernel thread) is skipped and flushes all when it switches back to
//!   the address space with a stale generation (`switch_mm_irqs_off`).
//! * **Compute threads** (`process.threads`): always runnable, they keep
//!   the address space live on their CPUs, so every shootdown interrupts
//!   them; the time their CPUs spend in flush handlers is reported.

use super::cpu::{Ctx, Task, Work};
use super::tlb::FlushRequest;
use super::vector::CALL_FUNCTION_VECTOR;
use super::{Cx, Kernel};
use crate::config::{PAGE_BYTES, process::payload_bytes};
use crate::costs::Costs;
use crate::ids::{CpuId, ThreadId};
use crate::sim::{Fault, KernelEvent};
use crate::workload::app::MessageRead;
use irqlab_engine::{Dur, Time};

/// Length of the spin frame of a shootdown before its acknowledgements
/// arrive: longer than any run's wait, so only the last acknowledgement
/// ends it.
const WAIT_UNTIL_ACKED: Dur = Dur::from_ms(3_600_000);

/// A thread that only computes.
#[derive(Clone, Debug)]
pub struct ComputeThread {
    /// Its CPU.
    pub cpu: CpuId,
    /// CPU time it computed.
    pub work: Dur,
}

impl Kernel {
    /// CPU time the first frame of a task just switched in pays: the
    /// context switch, and a full TLB flush if it returned from lazy mode
    /// to a stale TLB.
    pub(super) fn take_switch_cost(&mut self, cpu: CpuId, costs: &Costs) -> Dur {
        let c = cpu.idx();
        let mut cost = Dur::ZERO;
        if std::mem::take(&mut self.cpus[c].switch_due) {
            cost += costs.context_switch;
        }
        if std::mem::take(&mut self.tlb.catch_up_due[c]) {
            cost += costs.tlb_full_flush;
        }
        cost
    }

    /// `switch_mm`: CPU `cpu` starts `task`.
    pub(super) fn tlb_switch(&mut self, cpu: CpuId, task: Task) {
        if !self.tlb.enabled {
            return;
        }
        let (c, tlb) = (cpu.idx(), &mut self.tlb);
        match task {
            Task::App(_) | Task::Compute(_) => {
                if tlb.loaded[c] && tlb.lazy[c] && tlb.cpu_gen[c] < tlb.tlb_gen {
                    tlb.catch_up_due[c] = true;
                    tlb.counts.lazy_catch_ups += 1;
                    tlb.counts.full_flushes += 1;
                }
                tlb.loaded[c] = true;
                tlb.lazy[c] = false;
                tlb.cpumask[c] = true;
                tlb.cpu_gen[c] = tlb.tlb_gen;
            }
            // Another process: its own address space.
            Task::Sender | Task::Batch(_) => {
                tlb.loaded[c] = false;
                tlb.lazy[c] = false;
            }
            // A kernel thread borrows the address space lazily.
            Task::Ksoftirqd => tlb.lazy[c] |= tlb.loaded[c],
        }
    }

    /// The CPU has no task (idle): lazy-TLB mode.
    pub(super) fn tlb_idle(&mut self, cpu: CpuId) {
        let c = cpu.idx();
        if self.tlb.enabled && self.cpus[c].current.is_none() && self.tlb.loaded[c] {
            self.tlb.lazy[c] = true;
        }
    }

    // ---- stream reads ---------------------------------------------------------

    /// Reads one message (the thread has a whole one queued).
    pub(super) fn read_message(&mut self, cpu: CpuId, t: ThreadId, cx: &mut Cx) {
        let costs = cx.sim.costs;
        let remap = self.zc.remap;
        let split = self.zc.header_split;
        let overhead = self.params.cfg.skb_overhead_bytes;
        let switch = self.take_switch_cost(cpu, &costs);
        let th = &mut self.threads[t.idx()];
        th.burst.clear();
        let mut need = th.msg_bytes;
        let (mut pages, mut last_wire, mut flow) = (0u32, Time::ZERO, None);
        while need > 0 {
            let p = *th.queue.front().expect("a whole message is queued");
            let payload = payload_bytes(p.bytes);
            let take = (payload - th.head_used).min(need);
            if remap && split && payload == PAGE_BYTES && th.head_used == 0 && take == payload {
                pages += 1;
            }
            need -= take;
            th.head_used += take;
            last_wire = p.origin;
            flow = Some(p.flow);
            if th.head_used == payload {
                th.queue.pop_front();
                th.head_used = 0;
                th.queued_payload -= payload as u64;
                th.burst.push((p, Dur::ZERO));
                let sock = &mut self.flows[p.flow.idx()].socket;
                sock.rmem_bytes = sock.rmem_bytes.saturating_sub(p.bytes + overhead);
            }
        }
        self.trace_socket_queue(t, cx.sim);
        let th = &mut self.threads[t.idx()];
        let copied = th.msg_bytes - pages * PAGE_BYTES;
        let unmap = th.mapped_pages;
        let work = th.work;
        self.stats.recv_dequeued += th.burst.len() as u64;
        self.stats.copy_bytes += copied as u64;
        let copy = costs.copy(copied);
        self.stats.copy_ps += copy.as_ps();
        let mut finish = copy + work;
        if let Some(f) = flow {
            // The read pulls the socket's state here (the payload's
            // location is the copy's cost).
            finish += self.touch_flow(f, cpu, 0, cx);
            self.rps_record_flow(f, cpu);
        }
        if !remap {
            let cost = switch + costs.syscall + finish;
            let th = &mut self.threads[t.idx()];
            th.msg = MessageRead { pages: 0, copied, finish: cost, last_wire };
            th.burst_prologue = cost;
            self.push_frame(cpu, Ctx::User, Work::Recv { thread: t }, cost, cx);
            return;
        }
        finish += costs.pte_map.times(pages as u64);
        let th = &mut self.threads[t.idx()];
        th.msg = MessageRead { pages, copied, finish, last_wire };
        let zap = switch + costs.syscall + costs.zerocopy_call + costs.pte_unmap.times(unmap as u64);
        self.push_frame(cpu, Ctx::User, Work::Zap { thread: t }, zap, cx);
    }

    /// The read's unmap is done: flush the pages from the TLBs.
    pub(super) fn zap_done(&mut self, cpu: CpuId, t: ThreadId, cx: &mut Cx) {
        let pages = std::mem::take(&mut self.threads[t.idx()].mapped_pages);
        if pages == 0 {
            return self.map_message(cpu, t, cx);
        }
        self.tlb.counts.pages_unmapped += pages as u64;
        let cost = self.flush_tlb_mm_range(cpu, pages, cx);
        self.push_frame(cpu, Ctx::User, Work::TlbFlush { thread: t }, cost, cx);
    }

    /// The local flush is done: wait for the other CPUs, or go on.
    pub(super) fn tlb_flush_done(&mut self, cpu: CpuId, t: ThreadId, cx: &mut Cx) {
        if self.tlb.waiting[cpu.idx()] > 0 {
            self.push_frame(cpu, Ctx::User, Work::TlbWait { thread: t }, WAIT_UNTIL_ACKED, cx);
        } else {
            self.map_message(cpu, t, cx);
        }
    }

    /// The read maps the message's pages, copies the rest and hands it to
    /// the application.
    pub(super) fn map_message(&mut self, cpu: CpuId, t: ThreadId, cx: &mut Cx) {
        let th = &mut self.threads[t.idx()];
        th.mapped_pages = th.msg.pages;
        th.burst_prologue = th.msg.finish;
        let cost = th.msg.finish;
        self.tlb.counts.pages_remapped += th.msg.pages as u64;
        self.push_frame(cpu, Ctx::User, Work::Recv { thread: t }, cost, cx);
    }

    /// A message read ended at `end`.
    pub(super) fn message_delivered(&mut self, t: ThreadId, end: Time) {
        let last = self.threads[t.idx()].msg.last_wire;
        self.stats.messages += 1;
        self.stats.message_latency.record_ns(end.since(last).as_ns());
    }

    // ---- TLB shootdown ----------------------------------------------------------

    /// `flush_tlb_mm_range()` of `pages` pages on `cpu`: queues the flush to
    /// the other CPUs that need it, sends their IPIs, and returns the CPU
    /// time of the sends and the local flush (the wait follows).
    fn flush_tlb_mm_range(&mut self, cpu: CpuId, pages: u32, cx: &mut Cx) -> Dur {
        let costs = cx.sim.costs;
        let c = cpu.idx();
        let tlb = &mut self.tlb;
        tlb.tlb_gen += 1;
        tlb.cpu_gen[c] = tlb.tlb_gen;
        let local = Self::flush_cost(&mut tlb.counts, tlb.ceiling, pages, &costs);
        let mut ipis = Vec::new();
        let mut targets = 0u32;
        for other in 0..tlb.loaded.len() {
            if other == c || !tlb.cpumask[other] || !tlb.loaded[other] {
                continue;
            }
            if tlb.lazy[other] {
                tlb.counts.lazy_skipped += 1;
                continue;
            }
            targets += 1;
            tlb.counts.requests += 1;
            let was_empty = tlb.queue[other].is_empty();
            tlb.queue[other].push(FlushRequest { initiator: cpu, pages });
            if was_empty {
                tlb.counts.shootdown_ipis += 1;
                ipis.push(CpuId(other as u32));
            }
        }
        let tlb = &mut self.tlb;
        if targets > 0 {
            tlb.counts.shootdowns += 1;
        }
        tlb.waiting[c] = targets;
        // The ICR writes go one after another.
        let send = self.ipi_send_cost(&costs);
        for (k, t) in ipis.iter().enumerate() {
            self.stats.ipis.sent += 1;
            self.stats.ipis.tlb += 1;
            self.send_ipi_to(cpu, *t, CALL_FUNCTION_VECTOR, send.times(k as u64 + 1), cx);
        }
        send.times(ipis.len() as u64) + local
    }

    /// CPU time of flushing `pages` pages: one `INVLPG` each up to the
    /// ceiling, else the whole TLB.
    fn flush_cost(counts: &mut super::tlb::TlbCounts, ceiling: u32, pages: u32, costs: &Costs) -> Dur {
        if pages <= ceiling {
            counts.local_invlpg += pages as u64;
            costs.invlpg.times(pages as u64)
        } else {
            counts.full_flushes += 1;
            costs.tlb_full_flush
        }
    }

    /// A flush IPI's handler starts on `cpu` (`flush_smp_call_function_queue`
    /// takes the whole queue): returns the CPU time of its flushes.
    pub(super) fn tlb_ipi_entry(&mut self, cpu: CpuId, costs: &Costs) -> Dur {
        let c = cpu.idx();
        let tlb = &mut self.tlb;
        tlb.counts.ipis_taken += 1;
        self.stats.sysvec.tlb[c] += 1;
        let taken = std::mem::take(&mut tlb.queue[c]);
        let mut cost = Dur::ZERO;
        for r in &taken {
            cost += Self::flush_cost(&mut tlb.counts, tlb.ceiling, r.pages, costs);
        }
        tlb.cpu_gen[c] = tlb.tlb_gen;
        tlb.in_service[c].extend(taken);
        cost
    }

    /// The flush IPI's handler ends: acknowledge each request to its
    /// initiator, which sees it a cache-line transfer later.
    pub(super) fn tlb_ipi_done(&mut self, cpu: CpuId, cx: &mut Cx) {
        let done = std::mem::take(&mut self.tlb.in_service[cpu.idx()]);
        let here = cx.platform.topo.socket_of(self.core(cpu));
        for r in &done {
            self.tlb.counts.flushed += 1;
            if cx.sim.faults.fire(Fault::LoseTlbAck) {
                continue;
            }
            let latency = if cx.platform.topo.socket_of(self.core(r.initiator)) == here {
                cx.sim.costs.cache_transfer_same_socket
            } else {
                cx.sim.costs.cache_transfer_cross_socket
            };
            let at = cx.sim.now() + latency;
            self.at(cx, at, KernelEvent::TlbAck { cpu: r.initiator });
        }
        let mut done = done;
        done.clear();
        self.tlb.in_service[cpu.idx()] = done;
    }

    /// An acknowledgement reached the initiator: the last one ends its wait.
    pub(super) fn tlb_ack(&mut self, cpu: CpuId, cx: &mut Cx) {
        let c = cpu.idx();
        self.tlb.counts.acks += 1;
        self.tlb.waiting[c] -= 1;
        if self.tlb.waiting[c] > 0 {
            return;
        }
        let wait = self.cpus[c].stack.iter().find_map(|f| match f.work {
            Work::TlbWait { thread } => Some(thread),
            _ => None,
        });
        if let Some(thread) = wait
            && let Some(done) = self.cpus[c].cut_short(cx.sim.now(), Work::TlbWait { thread })
        {
            self.schedule_cpu(cpu, done, cx);
        }
    }

    // ---- compute threads ----------------------------------------------------------

    /// Puts the compute threads on their CPUs' run queues.
    pub(super) fn start_compute(&mut self, cx: &mut Cx) {
        for i in 0..self.compute.len() {
            let cpu = self.compute[i].cpu;
            self.cpus[cpu.idx()].runqueue.push_back(Task::Compute(i as u32));
            self.kick(cpu, cx);
        }
    }

    /// A compute thread has the CPU: one time slice of work.
    pub(super) fn compute_slice(&mut self, cpu: CpuId, idx: u32, cx: &mut Cx) {
        let costs = cx.sim.costs;
        let switch = self.take_switch_cost(cpu, &costs);
        let slice = self.params.sched_slice.max(Dur::from_us(1));
        self.push_frame(cpu, Ctx::User, Work::Compute { idx }, switch + slice, cx);
    }

    /// A slice ended: go on, or let a waiting task run.
    pub(super) fn compute_done(&mut self, cpu: CpuId, idx: u32, total: Dur, cx: &mut Cx) {
        self.compute[idx as usize].work += total;
        if self.need_resched(cpu) {
            self.yield_current(cpu);
        } else {
            self.compute_slice(cpu, idx, cx);
        }
    }
}
