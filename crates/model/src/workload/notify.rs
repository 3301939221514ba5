//! How an application thread learns that data is ready: blocking `recv`,
//! epoll, eventfd, signals (standard and real-time) and io_uring completions.
//!
//! Each mechanism has a kernel side, run per packet where the socket is
//! filled (softirq), and a user side, run when the thread gets the CPU:
//!
//! | mechanism | kernel side, per packet | thread wakes when | user side |
//! |---|---|---|---|
//! | `blocking_recv` | wake a blocked reader | data arrives | `recv` per packet |
//! | `epoll` | `ep_poll_callback`: wake a blocked waiter | data arrives | `epoll_wait` returns, `recv` per packet, one `recv` → `EAGAIN` |
//! | `eventfd` | `eventfd_signal` | data arrives | `read(eventfd)` (all increments at once), `recv` per packet |
//! | `signal` standard | raise SIGIO unless pending (coalesces) | signal pending | one frame + handler + `sigreturn`; handler `recv`s until `EAGAIN` |
//! | `signal` realtime | queue one signal per event (up to the limit; overflow counted) | signal queued | one frame per queued signal; each handler `recv`s until `EAGAIN` |
//! | `io_uring` | post a CQE | `wait_nr` CQEs are ready (or the first, with a registered eventfd) | one `io_uring_enter` per batch, per-CQE reap; no `recv` syscalls |
//!
//! The copy to user space is paid in every mechanism. Costs are the cost
//! model's `eventfd_signal_ns`, `signal_queue_ns`, `signal_frame_ns`,
//! `io_uring_enter_ns`, `io_uring_op_ns`, `io_uring_eventfd_ns`, `syscall_ns`,
//! `wakeup_ns` and `context_switch_ns`; each thread counts the part of its
//! CPU time that is notification rather than data (`notify_cpu`).

use crate::config::{AppConfig, NotifyKind, SignalKind};
use crate::ids::{CoreId, ThreadId};
use crate::machine::Machine;
use crate::workload::app::ThreadState;
use irqlab_engine::{Dur, Time};
use serde::Serialize;

/// A thread's notification state.
#[derive(Clone, Debug)]
pub struct Notifier {
    /// The mechanism.
    pub kind: NotifyKind,
    /// Standard or real-time signals.
    pub signal: SignalKind,
    /// Real-time signal queue limit.
    pub rt_limit: u32,
    /// io_uring: registered eventfd.
    pub uring_eventfd: bool,
    /// io_uring: `min_complete`.
    pub wait_nr: u32,
    /// A standard signal is pending.
    pub sig_pending: bool,
    /// Real-time signals queued.
    pub rt_queued: u32,
    /// The thread has just been woken: the next burst pays the return from its wait.
    pub woken: bool,
    /// Counters.
    pub counts: NotifyCounts,
}

/// Notification counters of one thread.
#[derive(Clone, Debug, Default, Serialize)]
pub struct NotifyCounts {
    /// Signals delivered to the handler.
    pub signal_deliveries: u64,
    /// Standard signals that found one already pending.
    pub signals_coalesced: u64,
    /// Real-time signals that did not fit the queue.
    pub rt_overflow: u64,
    /// `io_uring_enter` calls that reaped completions.
    pub uring_enters: u64,
    /// CPU time spent on notification (waking, switching, waiting calls, signal frames).
    pub notify_cpu: Dur,
}

impl Notifier {
    /// The notifier an app entry asks for.
    pub fn new(a: Option<&AppConfig>) -> Notifier {
        let d = AppConfig::on_core(0);
        let a = a.unwrap_or(&d);
        Notifier {
            kind: a.notify,
            signal: a.signal,
            rt_limit: a.rt_signal_limit,
            uring_eventfd: a.io_uring.eventfd,
            wait_nr: a.io_uring.wait_nr.max(1),
            sig_pending: false,
            rt_queued: 0,
            woken: false,
            counts: NotifyCounts::default(),
        }
    }

    /// Whether the thread must (keep) waiting with `queued` packets ready:
    /// io_uring without an eventfd waits for `wait_nr` completions; signal
    /// waiters run when a signal is pending; the rest run when data is queued.
    pub fn must_wait(&self, queued: usize) -> bool {
        match self.kind {
            NotifyKind::IoUring if !self.uring_eventfd => queued < self.wait_nr as usize,
            NotifyKind::Signal => !self.sig_pending && self.rt_queued == 0 && queued == 0,
            _ => queued == 0,
        }
    }
}

impl Machine {
    /// Kernel side of one packet queued for thread `t` on `core`: the
    /// mechanism's per-packet work, and a wakeup if the thread now may run.
    /// Returns the CPU time it costs the softirq.
    pub(crate) fn notify_data_ready(&mut self, t: ThreadId, core: CoreId, now: Time) -> Dur {
        let costs = self.costs;
        let th = &mut self.threads[t.idx()];
        let n = &mut th.notify;
        let mut cost = match n.kind {
            NotifyKind::BlockingRecv | NotifyKind::Epoll => Dur::ZERO,
            NotifyKind::Eventfd => costs.eventfd_signal,
            NotifyKind::IoUring if n.uring_eventfd => costs.eventfd_signal + costs.io_uring_eventfd,
            NotifyKind::IoUring => Dur::ZERO,
            NotifyKind::Signal => match n.signal {
                SignalKind::Standard if n.sig_pending => {
                    n.counts.signals_coalesced += 1;
                    Dur::ZERO
                }
                SignalKind::Standard => {
                    n.sig_pending = true;
                    costs.signal_queue
                }
                SignalKind::Realtime if n.rt_queued >= n.rt_limit => {
                    // The kernel falls back to a plain SIGIO when the queue is full.
                    n.counts.rt_overflow += 1;
                    n.sig_pending = true;
                    Dur::ZERO
                }
                SignalKind::Realtime => {
                    n.rt_queued += 1;
                    costs.signal_queue
                }
            },
        };
        let queued = th.queue.len();
        if th.state == ThreadState::Blocked && !th.notify.must_wait(queued) {
            th.notify.woken = true;
            th.notify.counts.notify_cpu += costs.wakeup;
            cost += costs.wakeup;
            self.wake_thread(t, core, now);
        }
        cost
    }

    /// User side at the start of a burst: the return from the wait (once
    /// per wakeup) and signal delivery. Returns its CPU time.
    pub(crate) fn notify_burst_prologue(&mut self, t: ThreadId, switch: Dur) -> Dur {
        let costs = self.costs;
        let n = &mut self.threads[t.idx()].notify;
        let mut cost = switch;
        if std::mem::take(&mut n.woken) {
            cost += match n.kind {
                NotifyKind::BlockingRecv | NotifyKind::Signal => Dur::ZERO,
                // epoll_wait returns; the drained socket costs one more recv → EAGAIN.
                NotifyKind::Epoll => costs.syscall.times(2),
                NotifyKind::Eventfd => costs.syscall,
                NotifyKind::IoUring if n.uring_eventfd => costs.syscall,
                NotifyKind::IoUring => Dur::ZERO,
            };
        }
        if n.kind == NotifyKind::Signal {
            let deliveries = n.rt_queued as u64 + n.sig_pending as u64;
            n.rt_queued = 0;
            n.sig_pending = false;
            n.counts.signal_deliveries += deliveries;
            // Each handler run ends with a recv that returns EAGAIN.
            cost += (costs.signal_frame + costs.syscall).times(deliveries);
        }
        if n.kind == NotifyKind::IoUring {
            n.counts.uring_enters += 1;
            cost += costs.io_uring_enter;
        }
        n.counts.notify_cpu += cost;
        cost
    }

    /// User-side CPU time to receive one packet, beyond the copy.
    pub(crate) fn notify_per_packet(&self, t: ThreadId) -> Dur {
        match self.threads[t.idx()].notify.kind {
            NotifyKind::IoUring => self.costs.io_uring_op,
            _ => self.costs.syscall,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::IoUringConfig;

    #[test]
    fn io_uring_without_eventfd_waits_for_wait_nr_completions() {
        let mut a = AppConfig::on_core(0);
        a.notify = NotifyKind::IoUring;
        a.io_uring = IoUringConfig { eventfd: false, wait_nr: 8 };
        let n = Notifier::new(Some(&a));
        assert!(n.must_wait(7));
        assert!(!n.must_wait(8));
        a.io_uring.eventfd = true;
        assert!(!Notifier::new(Some(&a)).must_wait(1), "the eventfd wakes on the first CQE");
    }

    #[test]
    fn signal_waiters_run_on_a_pending_signal() {
        let mut a = AppConfig::on_core(0);
        a.notify = NotifyKind::Signal;
        let mut n = Notifier::new(Some(&a));
        assert!(n.must_wait(0));
        n.sig_pending = true;
        assert!(!n.must_wait(0));
    }
}
