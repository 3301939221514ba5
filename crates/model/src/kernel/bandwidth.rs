//! CFS bandwidth control for cgroup v2's `cpu.max` (kernel/sched/fair.c:
//! `account_cfs_rq_runtime`, `throttle_cfs_rq`, `sched_cfs_period_timer`,
//! `do_sched_cfs_period_timer`, `__refill_cfs_bandwidth_runtime`,
//! `unthrottle_cfs_rq`; Documentation/admin-guide/cgroup-v2.rst, `cpu.max`
//! and `cpu.stat`).
//!
//! * **Charging.** A thread's task-context frames (its `recv` bursts, its
//!   zero-copy steps) are charged to its group
//!   when each ends: `usage_ns` grows and the group's run-time pool
//!   shrinks. Hard IRQs and softirqs that preempt the thread are not in its
//!   frames' time, so interrupts, NAPI polls and the `eventfd_signal` and
//!   `try_to_wake_up` done in them (`notify = "eventfd"`) are charged to
//!   no group: they run in the host kernel's context on the CPU that took
//!   the interrupt. The woken thread's return from `read(eventfd)` is in
//!   its burst, so charged to its group.
//! * **Throttling.** A group's thread that is about to run a frame with
//!   the pool spent is throttled (`throttle_cfs_rq`): it leaves its CPU,
//!   which idles or runs others, until the period timer refills the pool.
//!   The kernel checks the pool at every `update_curr` (each tick, each
//!   switch) and draws it to per-CPU slices of 5 ms; the model checks it
//!   between frames and uses one pool, so a frame may overrun the quota by
//!   its own length — a debt the next refill pays, as a per-CPU
//!   `runtime_remaining` below zero is in the kernel.
//! * **The period timer** (`do_sched_cfs_period_timer`): each period
//!   counts in `nr_periods`, refills the pool to at most the quota, counts
//!   `nr_throttled` if the group was throttled, and unthrottles its
//!   threads, adding each CPU's throttled time to `throttled_ns`. A period
//!   in which the group ran nothing and was not throttled stops the timer;
//!   the next charge starts it again at the next period boundary
//!   (`start_cfs_bandwidth`), so `nr_periods` counts active periods.

use super::cpu::Task;
use super::{Cx, Kernel};
use crate::ids::{CpuId, ThreadId};
use crate::sim::KernelEvent;
use crate::workload::app::ThreadState;
use irqlab_engine::{Dur, Time};

impl Kernel {
    /// Charges `ran` of task-context time of thread `t` to its group.
    pub(super) fn cg_charge(&mut self, t: ThreadId, ran: Dur, cx: &mut Cx) {
        let Some(g) = self.threads[t.idx()].cgroup else { return };
        self.cg_charge_group(g, ran, cx);
    }

    /// Charges `ran` of task time to group `g`.
    pub(super) fn cg_charge_group(&mut self, g: usize, ran: Dur, cx: &mut Cx) {
        let now = cx.sim.now();
        let grp = &mut self.cgroups[g];
        grp.stat.usage_ns += ran.as_ns();
        if grp.quota.is_none() {
            return;
        }
        grp.runtime -= ran.as_ps() as i64;
        grp.idle = false;
        if !grp.timer_active {
            grp.timer_active = true;
            let p = grp.period.as_ps();
            let next = Time((now.as_ps() / p + 1) * p);
            self.at(cx, next, KernelEvent::CgroupPeriod { group: g as u32 });
        }
    }

    /// Whether thread `t` must not run now; if so it is throttled: it
    /// leaves `cpu` (the caller then runs something else).
    pub(super) fn cg_throttle_if_spent(&mut self, cpu: CpuId, t: ThreadId, cx: &Cx) -> bool {
        let Some(g) = self.threads[t.idx()].cgroup else { return false };
        if !self.cgroups[g].exhausted() {
            return false;
        }
        let now = cx.sim.now();
        self.threads[t.idx()].state = ThreadState::Throttled;
        self.cgroups[g].throttled.push((t, now));
        self.cgroups[g].throttles += 1;
        let run = &mut self.cpus[cpu.idx()];
        if run.current == Some(Task::App(t)) {
            run.current = None;
        }
        true
    }

    /// The group's period timer fired.
    pub(super) fn cg_period(&mut self, g: usize, cx: &mut Cx) {
        let now = cx.sim.now();
        let grp = &mut self.cgroups[g];
        let Some(quota) = grp.quota else { return };
        grp.stat.nr_periods += 1;
        let throttled = !grp.throttled.is_empty();
        let q = quota.as_ps() as i64;
        grp.runtime = (grp.runtime + q).min(q);
        if grp.idle && !throttled {
            grp.timer_active = false;
            return;
        }
        let next = now + grp.period;
        self.at(cx, next, KernelEvent::CgroupPeriod { group: g as u32 });
        let grp = &mut self.cgroups[g];
        if !throttled {
            grp.idle = true;
            return;
        }
        grp.stat.nr_throttled += 1;
        grp.idle = false;
        if grp.runtime <= 0 {
            return; // a debt larger than a quota: still throttled
        }
        let list = std::mem::take(&mut grp.throttled);
        // Each CPU's share of the group was throttled from its first
        // throttled thread on.
        let mut since: Vec<(CpuId, Time)> = Vec::new();
        for (t, at) in &list {
            let c = self.threads[t.idx()].cpu;
            match since.iter_mut().find(|(k, _)| *k == c) {
                Some(e) => e.1 = e.1.min(*at),
                None => since.push((c, *at)),
            }
        }
        let grp = &mut self.cgroups[g];
        for (_, at) in &since {
            grp.stat.throttled_ns += now.since(*at).as_ns();
        }
        for (t, _) in &list {
            if !cx.sim.faults.fire(crate::sim::Fault::UnthrottleUncounted) {
                self.cgroups[g].unthrottles += 1;
            }
            let th = &mut self.threads[t.idx()];
            th.state = ThreadState::Runnable;
            self.cpus[th.cpu.idx()].runqueue.push_back(Task::App(*t));
        }
        for (c, _) in since {
            self.kick(c, cx);
        }
    }
}
