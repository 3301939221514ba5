//! How an application thread learns that data is ready: blocking `recv`,
//! epoll, eventfd, signals (standard and real-time, to a handler or taken
//! with `sigwaitinfo`) and io_uring completions.
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
//! | `sigwaitinfo` | as `signal` (standard or realtime), the signal blocked | signal pending | per signal: one `sigwaitinfo` that dequeues it (no frame, no handler, no `sigreturn`), then `recv`s until `EAGAIN` |
//! | `io_uring` | post a CQE | `wait_nr` CQEs are ready (or the first, with a registered eventfd) | one `io_uring_enter` per batch, per-CQE reap; no `recv` syscalls |
//!
//! A signal reaches a `sigwaitinfo` waiter as Linux delivers it
//! (kernel/signal.c): `send_signal` queues it and `complete_signal` wakes
//! the thread with `signal_wake_up`, because `do_sigtimedwait` unblocked
//! the awaited signals for the duration of its sleep; woken, the thread
//! restores its mask and `dequeue_signal` takes one signal inside the
//! system call, so nothing is delivered on the way back to user space (no
//! `get_signal`, `setup_rt_frame` or `sigreturn`). Queueing and dequeuing
//! are `signal_queue_ns` (measured as a signal taken with `sigwait`
//! against an eventfd write and read), the call itself `syscall_ns`.
//!
//! Each `recv` above is a UDP `recvmsg` (net/socket.c `____sys_recvmsg` →
//! net/ipv4/udp.c `udp_recvmsg`): one that returns a datagram pays
//! `recvmsg_call_ns` + `recvmsg_datagram_ns` (`__skb_recv_udp`'s dequeue,
//! `udp_rmem_release`, the skb's free), one that finds the socket drained
//! and returns `EAGAIN` pays `recvmsg_call_ns` only. A blocking reader has
//! no such call: the `recvmsg` that blocks is the one that returns the
//! next datagram. The other waiting calls (`epoll_wait`, `read(eventfd)`,
//! `sigwaitinfo`) are `syscall_ns`.
//!
//! The copy to user space is paid in every mechanism. Costs are the cost
//! model's `eventfd_signal_ns`, `signal_queue_ns`, `signal_frame_ns`,
//! `io_uring_enter_ns`, `io_uring_op_ns`, `io_uring_eventfd_ns`, `syscall_ns`,
//! `recvmsg_call_ns`, `recvmsg_datagram_ns`, `wakeup_ns` and
//! `context_switch_ns`; each thread counts the part of its CPU time that is
//! notification rather than data (`notify_cpu`).

use crate::config::{AppConfig, NotifyKind, SignalKind};
use crate::costs::Costs;
use irqlab_engine::Dur;
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
    /// Signals delivered to the handler, or dequeued by `sigwaitinfo`.
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
            NotifyKind::Signal | NotifyKind::Sigwaitinfo => !self.sig_pending && self.rt_queued == 0 && queued == 0,
            _ => queued == 0,
        }
    }
}

impl Notifier {
    /// Kernel side of one packet queued for the thread: the mechanism's
    /// per-packet work (signal queueing, eventfd, CQE posting). Returns its
    /// CPU time; whether the thread must then be woken is [`Self::must_wait`].
    pub fn data_ready(&mut self, costs: &Costs) -> Dur {
        match self.kind {
            NotifyKind::BlockingRecv | NotifyKind::Epoll => Dur::ZERO,
            NotifyKind::Eventfd => costs.eventfd_signal,
            NotifyKind::IoUring if self.uring_eventfd => costs.eventfd_signal + costs.io_uring_eventfd,
            NotifyKind::IoUring => Dur::ZERO,
            NotifyKind::Signal | NotifyKind::Sigwaitinfo => match self.signal {
                SignalKind::Standard if self.sig_pending => {
                    self.counts.signals_coalesced += 1;
                    Dur::ZERO
                }
                SignalKind::Standard => {
                    self.sig_pending = true;
                    costs.signal_queue
                }
                SignalKind::Realtime if self.rt_queued >= self.rt_limit => {
                    // The kernel falls back to a plain SIGIO when the queue is full.
                    self.counts.rt_overflow += 1;
                    self.sig_pending = true;
                    Dur::ZERO
                }
                SignalKind::Realtime => {
                    self.rt_queued += 1;
                    costs.signal_queue
                }
            },
        }
    }

    /// The thread is woken: its next burst pays the return from the wait;
    /// the waker pays `wakeup`, counted as notification CPU.
    pub fn woken(&mut self, costs: &Costs) -> Dur {
        self.woken = true;
        self.counts.notify_cpu += costs.wakeup;
        costs.wakeup
    }

    /// User side at the start of a burst: the return from the wait (once
    /// per wakeup) and signal delivery. Returns its CPU time.
    pub fn burst_prologue(&mut self, costs: &Costs, switch: Dur) -> Dur {
        let mut cost = switch;
        if std::mem::take(&mut self.woken) {
            cost += match self.kind {
                // Signal waiters pay per signal, below.
                NotifyKind::BlockingRecv | NotifyKind::Signal | NotifyKind::Sigwaitinfo => Dur::ZERO,
                // epoll_wait returns; the drained socket costs one more
                // recvmsg → EAGAIN.
                NotifyKind::Epoll => costs.syscall + costs.recvmsg_call,
                NotifyKind::Eventfd => costs.syscall,
                NotifyKind::IoUring if self.uring_eventfd => costs.syscall,
                NotifyKind::IoUring => Dur::ZERO,
            };
        }
        if matches!(self.kind, NotifyKind::Signal | NotifyKind::Sigwaitinfo) {
            let deliveries = self.rt_queued as u64 + self.sig_pending as u64;
            self.rt_queued = 0;
            self.sig_pending = false;
            self.counts.signal_deliveries += deliveries;
            // Per signal: a handler run (frame, handler, sigreturn) or a
            // sigwaitinfo call that dequeues it; either way the drain ends
            // with a recvmsg that returns EAGAIN.
            let take = if self.kind == NotifyKind::Signal { costs.signal_frame } else { costs.syscall };
            cost += (take + costs.recvmsg_call).times(deliveries);
        }
        if self.kind == NotifyKind::IoUring {
            self.counts.uring_enters += 1;
            cost += costs.io_uring_enter;
        }
        self.counts.notify_cpu += cost;
        cost
    }

    /// User-side CPU time to receive one packet, beyond the copy: one
    /// `recvmsg` that returns one datagram (its call and its datagram), or
    /// with io_uring one completion reaped.
    pub fn per_packet(&self, costs: &Costs) -> Dur {
        match self.kind {
            NotifyKind::IoUring => costs.io_uring_op,
            _ => costs.recvmsg_call + costs.recvmsg_datagram,
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

    /// kernel/signal.c: `do_sigtimedwait` dequeues one signal per call and
    /// returns it from the system call, so a `sigwaitinfo` waiter pays the
    /// call (`syscall_ns`) where a handler pays `setup_rt_frame`, the
    /// handler and `rt_sigreturn` (`signal_frame_ns`); queueing
    /// (`send_signal`) is the same for both, and so is the recvmsg that
    /// finds the socket drained.
    #[test]
    fn a_sigwaitinfo_waiter_pays_a_system_call_per_signal_instead_of_a_signal_frame() {
        let costs = crate::costs::CostModel::default().resolve();
        let user_side = |kind, signal, events: u32| {
            let mut a = AppConfig::on_core(0);
            a.notify = kind;
            a.signal = signal;
            let mut n = Notifier::new(Some(&a));
            let kernel: Dur = (0..events).fold(Dur::ZERO, |acc, _| acc + n.data_ready(&costs));
            assert!(!n.must_wait(0), "a queued signal ends the wait");
            n.woken(&costs);
            let user = n.burst_prologue(&costs, Dur::ZERO);
            (kernel, user, n.counts.signal_deliveries)
        };
        for (signal, events, deliveries) in [(SignalKind::Standard, 3, 1), (SignalKind::Realtime, 3, 3)] {
            let (k_handler, u_handler, d_handler) = user_side(NotifyKind::Signal, signal, events);
            let (k_wait, u_wait, d_wait) = user_side(NotifyKind::Sigwaitinfo, signal, events);
            assert_eq!(k_wait, k_handler, "{signal:?}: the same send_signal");
            assert_eq!((d_handler, d_wait), (deliveries, deliveries), "{signal:?}: standard signals coalesce");
            assert_eq!(u_wait, (costs.syscall + costs.recvmsg_call).times(deliveries));
            assert_eq!(u_handler, (costs.signal_frame + costs.recvmsg_call).times(deliveries));
        }
    }

    /// A UDP reader's `recvmsg` (net/socket.c `____sys_recvmsg` →
    /// `sock_recvmsg` → net/ipv4/udp.c `udp_recvmsg`): every call pays the
    /// entry and exit and the `msghdr` handling (`recvmsg_call_ns`); a call
    /// that `__skb_recv_udp` gives a datagram also pays its dequeue,
    /// `udp_rmem_release` and the skb's free (`recvmsg_datagram_ns`), while
    /// one that finds the queue empty returns `-EAGAIN` with the call's part
    /// only. So a drain of n datagrams costs n calls, n datagrams and, for
    /// a reader that reads until `EAGAIN` (epoll, signals), one more call;
    /// io_uring reaps completions instead (`io_uring_op_ns`).
    #[test]
    fn a_recvmsg_pays_per_call_and_per_datagram_and_the_eagain_call_per_call_only() {
        let mut m = crate::costs::CostModel::default();
        // Distinct values, so no sum can stand for another.
        (m.syscall_ns, m.recvmsg_call_ns, m.recvmsg_datagram_ns, m.io_uring_op_ns) = (100.0, 1000.0, 10_000.0, 7.0);
        let costs = m.resolve();
        let notifier = |kind| {
            let mut a = AppConfig::on_core(0);
            a.notify = kind;
            Notifier::new(Some(&a))
        };
        for kind in [
            NotifyKind::BlockingRecv,
            NotifyKind::Epoll,
            NotifyKind::Eventfd,
            NotifyKind::Signal,
            NotifyKind::Sigwaitinfo,
        ] {
            assert_eq!(notifier(kind).per_packet(&costs), Dur::from_ns(11_000), "{kind:?}: a call and a datagram");
        }
        assert_eq!(notifier(NotifyKind::IoUring).per_packet(&costs), costs.io_uring_op);
        // The wakeup's user side: epoll_wait, then the recvmsg → EAGAIN that
        // ends the drain (a call, no datagram).
        let mut n = notifier(NotifyKind::Epoll);
        n.woken(&costs);
        assert_eq!(n.burst_prologue(&costs, Dur::ZERO), Dur::from_ns(100 + 1000));
        // A blocking reader's recvmsg sleeps and returns the next datagram:
        // no extra call.
        let mut n = notifier(NotifyKind::BlockingRecv);
        n.woken(&costs);
        assert_eq!(n.burst_prologue(&costs, Dur::ZERO), Dur::ZERO);
        // A sigwaitinfo waiter: the call that dequeues the signal, then the
        // drain's EAGAIN.
        let mut n = notifier(NotifyKind::Sigwaitinfo);
        n.data_ready(&costs);
        n.woken(&costs);
        assert_eq!(n.burst_prologue(&costs, Dur::ZERO), Dur::from_ns(100 + 1000));
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
