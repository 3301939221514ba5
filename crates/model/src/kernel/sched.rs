//! The per-CPU scheduler: what a CPU runs next.
//!
//! Priority follows the hardware and Linux: a deliverable interrupt first;
//! then whatever frame is on the context stack (hard IRQ > softirq > task);
//! then the next runnable task, round-robin. Tasks are ksoftirqd and the
//! application threads; a task keeps the CPU until it blocks or, with other
//! tasks waiting, its slice runs out (checked between bursts). A slice is
//! `sched_slice` scaled by the task's cgroup `cpu.weight` over 100, so
//! always-runnable tasks share a CPU by weight. Switching to a different
//! task costs a context switch. A wakeup takes effect when the waker's
//! work that performs it is done (the notification that calls
//! `try_to_wake_up`, `try_to_wake_up` itself and, for an idle remote CPU,
//! the reschedule IPI's ICR write); a thread woken on another, idle CPU
//! then starts after the cross-core wakeup latency (the IPI and the idle
//! exit). A woken task
//! does not preempt the running one before its slice ends (EEVDF's
//! `RUN_TO_PARITY`); shorter-slice preemption, priorities and load
//! balancing are not modelled.

use super::cpu::{Task, Work};
use super::{Cx, Kernel};
use crate::ids::{CpuId, ThreadId};
use crate::sim::{Fault, KernelEvent};
use crate::workload::app::ThreadState;
use irqlab_engine::{Dur, Time};

impl Kernel {
    /// Makes sure the right thing runs on `cpu` now: an interrupt was
    /// accepted by its APIC, or its state changed.
    pub fn kick(&mut self, cpu: CpuId, cx: &mut Cx) {
        if self.virt.is_some() {
            return self.guest_kick(cpu, cx);
        }
        self.kick_inner(cpu, cx);
        self.tlb_idle(cpu);
    }

    pub(super) fn kick_inner(&mut self, cpu: CpuId, cx: &mut Cx) {
        let c = cpu.idx();
        loop {
            if self.take_interrupt(cpu, cx) {
                return;
            }
            let now = cx.sim.now();
            if let Some(done) = self.cpus[c].resume(now) {
                self.schedule_cpu(cpu, done, cx);
                return;
            }
            if !self.cpus[c].stack.is_empty() || self.cpus[c].current.is_some() {
                return;
            }
            let Some(task) = self.cpus[c].runqueue.pop_front() else {
                return;
            };
            let run = &mut self.cpus[c];
            run.current = Some(task);
            run.slice_start = now;
            run.switch_due = run.last_task != Some(task);
            run.last_task = Some(task);
            self.tlb_switch(cpu, task);
            match task {
                Task::Ksoftirqd => self.run_ksoftirqd(cpu, cx),
                Task::App(t) => {
                    self.threads[t.idx()].state = ThreadState::Running;
                    self.recv_burst(cpu, t, cx);
                }
                Task::Sender => self.send_burst(cpu, cx),
                Task::Compute(i) => self.compute_slice(cpu, i, cx),
                Task::Batch(i) => self.batch_slice(cpu, i, cx),
            }
        }
    }

    /// A CPU's frame-completion event fired.
    pub(super) fn cpu_done(&mut self, cpu: CpuId, epoch: u64, cx: &mut Cx) {
        let c = cpu.idx();
        if epoch != self.cpus[c].epoch {
            return; // the frame was paused since; a newer event stands
        }
        let frame = self.cpus[c].complete(cx.sim.now());
        self.trace_frame_end(cpu, cx.sim);
        if let Some(t) = frame.work.thread() {
            self.cg_charge(t, frame.total, cx);
        }
        match frame.work {
            Work::HardIrq { vector } => self.hardirq_done(cpu, vector, cx),
            Work::Poll { .. } => self.poll_done(cpu, cx),
            Work::Wakeups => self.wakeups_done(cpu, cx),
            Work::RpsIpis => {
                self.send_rps_ipis(cpu, cx);
                self.round_end(cpu, cx);
            }
            Work::Recv { thread } => self.recv_done(cpu, thread, cx),
            Work::Send => self.send_done(cpu, cx),
            // __do_softirq goes on with what became pending meanwhile (a
            // hard IRQ inside the timer softirq could not run NET_RX).
            Work::Timer => self.irq_exit(cpu, cx),
            Work::Zap { thread } => self.zap_done(cpu, thread, cx),
            Work::TlbFlush { thread } => self.tlb_flush_done(cpu, thread, cx),
            Work::TlbWait { thread } => self.map_message(cpu, thread, cx),
            Work::Compute { idx } => self.compute_done(cpu, idx, frame.total, cx),
            Work::Vmm { vector } => self.vmm_done(cpu, vector, cx),
            Work::Hlt => self.hlt_done(cpu, cx),
            Work::HaltPoll => self.halt_poll_done(cpu, frame.total, cx),
            Work::Block => self.block_done(cpu, cx),
            Work::Preempted => self.preempted_done(cpu, cx),
            Work::PmdSpin { thread } => self.pmd_spin_done(cpu, thread, frame.total, cx),
            Work::PmdSleep { thread } => self.pmd_sleep_done(cpu, thread, cx),
            Work::Batch { idx } => self.batch_done(cpu, idx, frame.total, cx),
        }
        self.kick(cpu, cx);
    }

    /// `need_resched()`: another task waits for this CPU.
    pub(super) fn need_resched(&self, cpu: CpuId) -> bool {
        !self.cpus[cpu.idx()].runqueue.is_empty()
    }

    /// The current task has used its slice and another task waits.
    pub(super) fn slice_expired(&self, cpu: CpuId, now: Time) -> bool {
        let run = &self.cpus[cpu.idx()];
        let slice = run.current.map_or(self.params.sched_slice, |t| self.slice_of(t));
        now.since(run.slice_start) >= slice && !run.runqueue.is_empty()
    }

    /// A task's slice: `sched_slice` scaled by its group's `cpu.weight`
    /// over the default 100, so that tasks taking turns on a CPU share it
    /// in proportion to their weights, as CFS and EEVDF do (at least 1 µs).
    pub(super) fn slice_of(&self, task: Task) -> irqlab_engine::Dur {
        let group = match task {
            Task::App(t) => self.threads[t.idx()].cgroup,
            Task::Batch(i) => Some(self.batch[i as usize].group),
            _ => None,
        };
        let weight = group.map_or(100, |g| self.cgroups[g].weight) as u64;
        let slice = self.params.sched_slice.as_ps() as u128 * weight as u128 / 100;
        irqlab_engine::Dur(slice.min(u64::MAX as u128) as u64).max(irqlab_engine::Dur::from_us(1))
    }

    /// Puts every batch thread on its CPU's run queue.
    pub(super) fn start_batch(&mut self, cx: &mut Cx) {
        for i in 0..self.batch.len() {
            let cpu = self.batch[i].cpu;
            self.cpus[cpu.idx()].runqueue.push_back(Task::Batch(i as u32));
            self.kick(cpu, cx);
        }
    }

    /// A batch thread runs one slice.
    fn batch_slice(&mut self, cpu: CpuId, idx: u32, cx: &mut Cx) {
        let costs = cx.sim.costs;
        let switch = self.take_switch_cost(cpu, &costs);
        let slice = self.slice_of(Task::Batch(idx));
        self.push_frame(cpu, super::cpu::Ctx::User, Work::Batch { idx }, switch + slice, cx);
    }

    /// A batch slice ended: charge its group, then go on or let a waiting
    /// task run.
    fn batch_done(&mut self, cpu: CpuId, idx: u32, ran: irqlab_engine::Dur, cx: &mut Cx) {
        let g = self.batch[idx as usize].group;
        self.cg_charge_group(g, ran, cx);
        if self.need_resched(cpu) {
            self.yield_current(cpu);
        } else {
            self.batch_slice(cpu, idx, cx);
        }
    }

    /// The current task goes to the back of the run queue.
    pub(super) fn yield_current(&mut self, cpu: CpuId) {
        let run = &mut self.cpus[cpu.idx()];
        if let Some(task) = run.current.take() {
            run.runqueue.push_back(task);
            match task {
                Task::App(t) => self.threads[t.idx()].state = ThreadState::Runnable,
                Task::Sender => {
                    if let Some(s) = self.sender.as_mut() {
                        s.state = super::sender::SenderState::Runnable;
                    }
                }
                Task::Ksoftirqd | Task::Compute(_) | Task::Batch(_) => {}
            }
        }
    }

    /// Whether waking `t` from `waker` sends a reschedule IPI: its CPU is
    /// another one, and idle (kernel/sched/core.c `ttwu_queue_cond`: an
    /// idle remote CPU is woken through its wake list, which
    /// `send_call_function_single_ipi` kicks).
    fn ttwu_sends_ipi(&self, t: ThreadId, waker: CpuId) -> bool {
        let tc = self.threads[t.idx()].cpu;
        tc != waker && self.cpus[tc.idx()].is_idle()
    }

    /// The waker's CPU time for the reschedule IPI of waking `t`, if it
    /// sends one (an ICR write, `ipi_send_ns`, spent before the IPI
    /// leaves). In a guest the write's exit is not modelled here: nothing.
    pub(super) fn ttwu_ipi_cost(&self, t: ThreadId, waker: CpuId, costs: &crate::costs::Costs) -> Dur {
        if self.virt.is_none() && self.ttwu_sends_ipi(t, waker) { costs.ipi_send } else { Dur::ZERO }
    }

    /// `try_to_wake_up()` for a blocked reader, from `waker`, when the
    /// waker's work that performs it is done (its CPU cost is charged by
    /// the caller): an idle remote CPU gets a reschedule IPI and runs the
    /// thread after the cross-core wakeup latency (the IPI and the idle
    /// exit); otherwise the thread joins its CPU's run queue.
    pub(super) fn wake_thread(&mut self, t: ThreadId, waker: CpuId, cx: &mut Cx) {
        let ipi = self.ttwu_sends_ipi(t, waker);
        let th = &mut self.threads[t.idx()];
        th.wakeups += 1;
        let tc = th.cpu;
        if ipi {
            // An idle remote CPU is woken with a reschedule IPI.
            self.stats.ipis.sent += 1;
            self.stats.ipis.reschedule += 1;
            th.state = ThreadState::Waking;
            if cx.sim.faults.fire(Fault::DropReschedule) {
                return;
            }
            let at = cx.sim.now() + cx.sim.costs.wakeup_cross_core_latency;
            self.at(cx, at, KernelEvent::TaskWake { thread: t });
        } else {
            th.state = ThreadState::Runnable;
            self.cpus[tc.idx()].runqueue.push_back(Task::App(t));
        }
    }

    /// A cross-CPU wakeup arrived.
    pub(super) fn task_wake(&mut self, t: ThreadId, cx: &mut Cx) {
        self.stats.ipis.reschedule_received += 1;
        let th = &mut self.threads[t.idx()];
        th.state = ThreadState::Runnable;
        let tc = th.cpu;
        self.stats.sysvec.res[tc.idx()] += 1;
        self.cpus[tc.idx()].runqueue.push_back(Task::App(t));
        self.kick(tc, cx);
    }
}

#[cfg(test)]
mod tests {
    //! Cross-CPU wakeups against kernel/sched/core.c: `try_to_wake_up` →
    //! `ttwu_queue_wakelist` → `send_call_function_single_ipi` sends the IPI
    //! at the end of the waker's `try_to_wake_up`, which itself runs at the
    //! end of the notification that calls it (kernel/signal.c
    //! `complete_signal` → `signal_wake_up`; fs/eventfd.c `eventfd_signal`).

    use crate::config::{AppConfig, ArrivalKind, NotifyKind, Scenario};
    use crate::kernel::cpu::Ctx;
    use crate::machine::Machine;
    use irqlab_engine::{Dur, Time};

    /// Two CPUs, the queue's interrupt on CPU 0, a reader on CPU 1, one
    /// packet every 100 µs (each finds both CPUs idle). Returns, for the
    /// first wakeup, the end of the poll that queued the packet and when
    /// the woken reader started on CPU 1.
    fn first_wakeup(notify: NotifyKind) -> (Time, Time, crate::costs::Costs) {
        let mut s = Scenario::default();
        s.duration_ms = 1.0;
        s.machine.cores = 2;
        s.nic.queues = 1;
        s.nic.affinity = Some(vec![0]);
        s.workload.flows = 1;
        s.workload.arrival = ArrivalKind::Constant;
        s.workload.rate_pps = Some(10_000.0);
        s.apps = vec![AppConfig { notify, ..AppConfig::on_core(1) }];
        let mut m = Machine::new(&s).expect("valid");
        m.step_until(Time::ZERO + Dur::from_ms(1), |_| false);
        m.with_host(|k, cx| {
            let woken = k.cpus[1].segments.iter().find(|(_, _, ctx)| *ctx == Ctx::User).expect("the reader ran").0;
            // The poll: the first softirq stretch on CPU 0 that another one
            // (the notification work) follows at once.
            let soft: Vec<(Time, Time)> = k.cpus[0]
                .segments
                .iter()
                .filter(|(_, _, ctx)| *ctx == Ctx::Softirq)
                .map(|(a, b, _)| (*a, *b))
                .collect();
            let poll_end = soft.windows(2).find(|w| w[0].1 == w[1].0).expect("a poll followed by its wakeups")[0].1;
            assert!(poll_end < woken);
            (poll_end, woken, cx.sim.costs)
        })
    }

    #[test]
    fn a_cross_cpu_wakeup_takes_effect_after_the_wakers_own_work() {
        for notify in [NotifyKind::BlockingRecv, NotifyKind::Eventfd, NotifyKind::Signal, NotifyKind::Sigwaitinfo] {
            let (poll_end, woken, c) = first_wakeup(notify);
            // The waker's work: the notification (nothing for a plain
            // sk_data_ready wake, eventfd_signal, or send_signal's
            // queueing), try_to_wake_up, and the ICR write of the IPI.
            let notification = match notify {
                NotifyKind::Eventfd => c.eventfd_signal,
                NotifyKind::Signal | NotifyKind::Sigwaitinfo => c.signal_queue,
                _ => Dur::ZERO,
            };
            let waker = notification + c.wakeup + c.ipi_send;
            assert_eq!(
                woken.since(poll_end),
                waker + c.wakeup_cross_core_latency,
                "{notify:?}: the woken reader starts after the waker's work and then the IPI and idle exit"
            );
        }
    }
}
