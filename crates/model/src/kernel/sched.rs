//! The per-core scheduler: what a core runs next.
//!
//! Priority follows the hardware and Linux: a deliverable interrupt first;
//! then whatever frame is on the context stack (hard IRQ > softirq > task);
//! then the next runnable task, round-robin. Tasks are ksoftirqd and the
//! application threads; a task keeps the CPU until it blocks or, with other
//! tasks waiting, its slice runs out (checked between bursts). Switching to
//! a different task costs a context switch. A thread woken from another
//! core starts after the cross-core wakeup latency if its core was idle.
//! Wakeup preemption, priorities and load balancing are not modelled.

use crate::ids::{CoreId, ThreadId};
use crate::machine::{Event, Machine};
use crate::platform::cpu::{Task, Work};
use crate::workload::app::ThreadState;
use irqlab_engine::Time;

impl Machine {
    /// Makes sure the right thing runs on `core` at `now`.
    pub(crate) fn kick(&mut self, core: CoreId, now: Time) {
        let c = core.idx();
        loop {
            if self.take_interrupt(core, now) {
                return;
            }
            if let Some(done) = self.cpus[c].resume(now) {
                self.schedule_core(core, done);
                return;
            }
            if !self.cpus[c].stack.is_empty() || self.cpus[c].current.is_some() {
                return;
            }
            let Some(task) = self.cpus[c].runqueue.pop_front() else {
                return;
            };
            let cpu = &mut self.cpus[c];
            cpu.current = Some(task);
            cpu.slice_start = now;
            cpu.switch_due = cpu.last_task != Some(task);
            cpu.last_task = Some(task);
            match task {
                Task::Ksoftirqd => self.run_ksoftirqd(core, now),
                Task::App(t) => {
                    self.threads[t.idx()].state = ThreadState::Running;
                    self.recv_burst(core, t, now);
                }
            }
        }
    }

    /// A core's frame-completion event fired.
    pub(crate) fn core_done(&mut self, core: CoreId, epoch: u64, now: Time) {
        let c = core.idx();
        if epoch != self.cpus[c].epoch {
            return; // the frame was paused since; a newer event stands
        }
        let frame = self.cpus[c].complete(now);
        match frame.work {
            Work::HardIrq { vector } => self.hardirq_done(core, vector, now),
            Work::Poll { .. } => self.poll_done(core, now),
            Work::Wakeups => self.after_poll(core, now),
            Work::RpsIpis => {
                self.send_rps_ipis(core, now);
                self.round_end(core, now);
            }
            Work::Recv { thread } => self.recv_done(core, thread, now),
        }
        self.kick(core, now);
    }

    /// `need_resched()`: another task waits for this core.
    pub(crate) fn need_resched(&self, core: CoreId) -> bool {
        !self.cpus[core.idx()].runqueue.is_empty()
    }

    /// The current task has used its slice and another task waits.
    pub(crate) fn slice_expired(&self, core: CoreId, now: Time) -> bool {
        let cpu = &self.cpus[core.idx()];
        now.since(cpu.slice_start) >= self.kp.sched_slice && !cpu.runqueue.is_empty()
    }

    /// The current task goes to the back of the run queue.
    pub(crate) fn yield_current(&mut self, core: CoreId) {
        let cpu = &mut self.cpus[core.idx()];
        if let Some(task) = cpu.current.take() {
            cpu.runqueue.push_back(task);
            if let Task::App(t) = task {
                self.threads[t.idx()].state = ThreadState::Runnable;
            }
        }
    }

    /// `try_to_wake_up()` for a blocked reader, from `waker` (its CPU cost
    /// is charged by the caller).
    pub(crate) fn wake_thread(&mut self, t: ThreadId, waker: CoreId, now: Time) {
        let th = &mut self.threads[t.idx()];
        th.wakeups += 1;
        let tc = th.core;
        if tc != waker && self.cpus[tc.idx()].is_idle() {
            // An idle remote core is woken with a reschedule IPI.
            self.stats.ipis.sent += 1;
            self.stats.ipis.reschedule += 1;
            th.state = ThreadState::Waking;
            let at = now + self.costs.wakeup_cross_core_latency;
            self.at(at, Event::TaskWake { thread: t });
        } else {
            th.state = ThreadState::Runnable;
            self.cpus[tc.idx()].runqueue.push_back(Task::App(t));
        }
    }

    /// A cross-core wakeup arrived.
    pub(crate) fn task_wake(&mut self, t: ThreadId, now: Time) {
        let th = &mut self.threads[t.idx()];
        th.state = ThreadState::Runnable;
        let tc = th.core;
        self.cpus[tc.idx()].runqueue.push_back(Task::App(t));
        self.kick(tc, now);
    }
}
