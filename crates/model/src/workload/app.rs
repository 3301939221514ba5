//! Application threads: pinned readers blocking in `recv`.
//!
//! A thread loops on `recv`: each call costs a system call plus the copy of
//! the frame to user space, then the application's own per-packet work.
//! With nothing queued it blocks and is woken by the softirq that queues its
//! next packet. Reads are grouped into bursts of `recv_batch` calls (one CPU
//! frame each); a packet's delivery time is the end of its own `recv` within
//! the burst, which is when the wire-to-application latency is taken.

use crate::config::NotifyKind;
use crate::config::Scenario;
use crate::ids::{CoreId, FlowId, ThreadId};
use crate::kernel::rps::payload_lines;
use crate::machine::Machine;
use crate::platform::cpu::{Ctx, Work};
use crate::workload::flows::Flow;
use crate::workload::notify::Notifier;

/// CQ ring entries of the io_uring a reader sets up (`IORING_SETUP` default: twice the 2048-entry SQ is common; one ring's worth per reap).
pub const IO_URING_CQ_ENTRIES: usize = 4096;
use crate::workload::traffic::Packet;
use irqlab_engine::{Dur, Time};
use std::collections::VecDeque;

/// A thread's scheduling state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThreadState {
    /// Waiting in `recv` for data.
    Blocked,
    /// Woken from another core; not yet on its run queue.
    Waking,
    /// On its core's run queue.
    Runnable,
    /// On the CPU.
    Running,
}

/// One application thread.
#[derive(Debug)]
pub struct Thread {
    /// The core it is pinned to.
    pub core: CoreId,
    /// The flows (sockets) it reads.
    pub flows: Vec<FlowId>,
    /// Its state.
    pub state: ThreadState,
    /// Packets queued on its sockets, oldest first.
    pub queue: VecDeque<Packet>,
    /// The burst in progress: each packet and the CPU time its `recv` took.
    pub burst: Vec<(Packet, Dur)>,
    /// Application work per packet.
    pub work: Dur,
    /// Times it was woken.
    pub wakeups: u64,
    /// Packets it received.
    pub received: u64,
    /// Load-balancing period, if the scheduler moves it.
    pub migrate_every: Option<Dur>,
    /// When it may next be moved.
    pub next_migration: Time,
    /// Times it was moved.
    pub migrations: u64,
    /// How it learns that data is ready.
    pub notify: Notifier,
}

/// Creates the threads of a scenario and assigns flows to them.
///
/// Without `[[apps]]`, each core gets one thread, which reads the flows whose
/// RSS queue interrupts that core (the "aligned" sharded server). With
/// `[[apps]]`, listed flows go to their thread and the rest are dealt
/// round-robin to the threads without a list; if every thread has a list,
/// unlisted flows have no reader and their packets are dropped (`no_socket`).
pub fn build_threads(s: &Scenario, flows: &[Flow], affinity: &[CoreId]) -> Vec<Thread> {
    let new = |core: CoreId, work: Dur| Thread {
        core,
        flows: Vec::new(),
        state: ThreadState::Blocked,
        queue: VecDeque::new(),
        burst: Vec::with_capacity(s.kernel.recv_batch as usize),
        work,
        wakeups: 0,
        received: 0,
        migrate_every: None,
        next_migration: Time::ZERO,
        migrations: 0,
        notify: Notifier::new(None),
    };
    if s.apps.is_empty() {
        let mut threads: Vec<Thread> = (0..s.machine.cores).map(|c| new(CoreId(c), Dur::ZERO)).collect();
        for (i, f) in flows.iter().enumerate() {
            threads[affinity[f.queue.idx()].idx()].flows.push(FlowId(i as u32));
        }
        return threads;
    }
    let mut threads: Vec<Thread> = s
        .apps
        .iter()
        .map(|a| {
            let mut t = new(CoreId(a.core), Dur::from_ns_f64(a.work_ns));
            t.notify = Notifier::new(Some(a));
            if a.migrate_every_us > 0.0 {
                let every = Dur::from_ns_f64(a.migrate_every_us * 1e3);
                t.migrate_every = Some(every);
                t.next_migration = Time::ZERO + every;
            }
            t
        })
        .collect();
    let mut listed = vec![false; flows.len()];
    for (t, a) in s.apps.iter().enumerate() {
        for f in a.flows.iter().flatten() {
            threads[t].flows.push(FlowId(*f));
            listed[*f as usize] = true;
        }
    }
    let open: Vec<usize> = s.apps.iter().enumerate().filter(|(_, a)| a.flows.is_none()).map(|(i, _)| i).collect();
    if !open.is_empty() {
        let unlisted = (0..flows.len()).filter(|f| !listed[*f]);
        for (k, f) in unlisted.enumerate() {
            threads[open[k % open.len()]].flows.push(FlowId(f as u32));
        }
    }
    threads
}

impl Machine {
    /// The thread has the CPU: read up to `recv_batch` packets, or block.
    pub(crate) fn recv_burst(&mut self, core: CoreId, t: ThreadId, now: Time) {
        let c = core.idx();
        let costs = self.costs;
        let overhead = self.kp.cfg.skb_overhead_bytes as u64;
        let th = &mut self.threads[t.idx()];
        if th.notify.must_wait(th.queue.len()) {
            th.state = ThreadState::Blocked;
            if let Some(every) = th.migrate_every
                && now >= th.next_migration
            {
                // Load balancing moves the sleeping thread to the next core.
                th.core = CoreId((th.core.0 + 1) % self.topo.cores());
                th.next_migration = now + every;
                th.migrations += 1;
            }
            // Blocking switches to another task or the idle task: the next
            // task to run here pays a context switch, even this one.
            self.cpus[c].current = None;
            self.cpus[c].last_task = None;
            return;
        }
        // io_uring reaps every completion in the CQ ring at once; the others
        // recv in bursts of `recv_batch` calls.
        let batch =
            if th.notify.kind == NotifyKind::IoUring { IO_URING_CQ_ENTRIES } else { self.kp.cfg.recv_batch as usize };
        let m = batch.min(th.queue.len());
        th.burst.clear();
        let work = th.work;
        let switch = if std::mem::take(&mut self.cpus[c].switch_due) { costs.context_switch } else { Dur::ZERO };
        let mut cost = self.notify_burst_prologue(t, switch);
        let per_packet = self.notify_per_packet(t);
        for _ in 0..m {
            let p = self.threads[t.idx()].queue.pop_front().expect("m <= queue length");
            // The copy pulls the socket state and the packet's lines here.
            let one = per_packet + costs.copy(p.bytes) + work + self.touch_flow(p.flow, core, payload_lines(p.bytes));
            self.rps_record_flow(p.flow, core);
            cost += one;
            self.threads[t.idx()].burst.push((p, one));
            let sock = &mut self.sockets[p.flow.idx()];
            sock.rmem_bytes = sock.rmem_bytes.saturating_sub(p.bytes as u64 + overhead);
        }
        self.push_frame(core, now, Ctx::User, Work::Recv { thread: t }, cost);
    }

    /// A burst ended: record each packet's delivery, then go on or yield.
    pub(crate) fn recv_done(&mut self, core: CoreId, t: ThreadId, now: Time) {
        let th = &mut self.threads[t.idx()];
        // The last recv ended now; each earlier one ended its successors' cost before.
        let mut end = now;
        for (p, one) in th.burst.iter().rev() {
            self.stats.latency.record_ns(end.since(p.wire).as_ns());
            self.stats.delivered += 1;
            self.stats.delivered_bytes += p.bytes as u64;
            end = Time(end.0 - one.0);
        }
        th.received += th.burst.len() as u64;
        for (p, _) in &th.burst {
            let last = &mut self.flow_last_seq[p.flow.idx()];
            match *last {
                Some(l) if p.seq < l => {
                    self.stats.out_of_order += 1;
                    self.flow_reorders[p.flow.idx()] += 1;
                }
                _ => *last = Some(p.seq),
            }
        }
        th.burst.clear();
        if self.slice_expired(core, now) {
            self.yield_current(core);
        } else {
            self.recv_burst(core, t, now);
        }
    }
}
