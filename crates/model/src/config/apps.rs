//! `[[apps]]`: application threads, the flows they read, and how they learn
//! that data is ready (blocking `recv`, epoll, eventfd, signals, io_uring).

use super::{MAX_COST_NS, ValidateCx, num};
use serde::{Deserialize, Serialize};

/// CQ ring entries of the io_uring a reader sets up (`IORING_SETUP` default:
/// twice the 2048-entry SQ is common; one ring's worth per reap).
pub const IO_URING_CQ_ENTRIES: usize = 4096;

/// Largest `io_uring.wait_nr`: the completion ring the model gives a reader
/// ([`IO_URING_CQ_ENTRIES`], 4096 entries; the kernel
/// allows rings of up to `IORING_MAX_CQ_ENTRIES` = 2 × 32768, but waiting for
/// more completions than the ring holds never ends).
pub const MAX_WAIT_NR: u32 = IO_URING_CQ_ENTRIES as u32;
/// Largest `rt_signal_limit`: 2^31 − 1, a modelling bound (`RLIMIT_SIGPENDING`
/// may be unlimited; no process could queue more signals in memory).
pub const MAX_RT_SIGNAL_LIMIT: u32 = i32::MAX as u32;
/// Longest `migrate_every_us`, µs: one hour, the longest run.
pub const MAX_MIGRATE_EVERY_US: f64 = 3_600_000_000.0;

/// One application thread.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppConfig {
    /// Core the thread is pinned to.
    pub core: u32,
    /// Flow ids whose sockets it reads; absent means every flow not listed
    /// by another thread is shared out round-robin among threads without a list.
    #[serde(default)]
    pub flows: Option<Vec<u32>>,
    /// Application CPU time per packet after the copy, nanoseconds;
    /// 0..=[`MAX_COST_NS`] (one second).
    #[serde(default)]
    pub work_ns: f64,
    /// If positive, the scheduler moves the thread to the next core (round
    /// robin over all cores) every this many microseconds, the next time it
    /// blocks (load balancing); 0 keeps it pinned. At most [`MAX_MIGRATE_EVERY_US`].
    #[serde(default)]
    pub migrate_every_us: f64,
    /// How the thread learns that data is ready.
    #[serde(default)]
    pub notify: NotifyKind,
    /// `notify = "signal"` or `"sigwaitinfo"`: a standard signal (SIGIO,
    /// coalesces while pending) or a real-time one (queued per event up to
    /// the limit).
    #[serde(default)]
    pub signal: SignalKind,
    /// Real-time signals a thread may have queued (the per-user
    /// `RLIMIT_SIGPENDING` share); beyond it events are counted as overflow.
    /// At most [`MAX_RT_SIGNAL_LIMIT`].
    #[serde(default = "default_rt_limit")]
    pub rt_signal_limit: u32,
    /// `notify = "io_uring"` settings.
    #[serde(default)]
    pub io_uring: IoUringConfig,
    /// The `[[cgroups]]` entry the thread joins (its `cpu.max` throttles
    /// it; its core must be in the group's cpuset); absent is the root group.
    #[serde(default)]
    pub cgroup: Option<String>,
}

impl AppConfig {
    /// A reader on `core` with every other setting at its default.
    pub fn on_core(core: u32) -> AppConfig {
        AppConfig {
            core,
            flows: None,
            work_ns: 0.0,
            migrate_every_us: 0.0,
            notify: NotifyKind::default(),
            signal: SignalKind::default(),
            rt_signal_limit: default_rt_limit(),
            io_uring: IoUringConfig::default(),
            cgroup: None,
        }
    }
}

/// User-space notification mechanism of an application thread.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyKind {
    /// Blocking `recv` on the socket(s).
    #[default]
    BlockingRecv,
    /// `epoll_wait` (level-triggered), then `recv` until `EAGAIN`.
    Epoll,
    /// The kernel side signals an eventfd per packet; the thread blocks in
    /// `read(eventfd)`, which returns all increments since its last read.
    Eventfd,
    /// `F_SETSIG`/`O_ASYNC`: a signal per readiness event; the handler
    /// drains the socket; the thread otherwise waits in `sigsuspend`.
    Signal,
    /// The same signal, blocked, taken synchronously: the thread waits in
    /// `sigwaitinfo` (kernel/signal.c `do_sigtimedwait`), which dequeues
    /// one signal per call with no handler, no signal frame and no
    /// `sigreturn`; it then drains the socket with `recv` until `EAGAIN`.
    Sigwaitinfo,
    /// io_uring receive: each packet posts a completion (CQE) to the ring;
    /// the thread reaps them in batches from `io_uring_enter`.
    IoUring,
}

/// Standard or real-time signal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalKind {
    /// SIGIO: one pending bit; signals coalesce while pending.
    #[default]
    Standard,
    /// SIGRTMIN+n: one queue entry per event, up to `rt_signal_limit`.
    Realtime,
}

/// io_uring receive settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IoUringConfig {
    /// Register an eventfd: the thread waits in `read(eventfd)`, woken by the first CQE.
    pub eventfd: bool,
    /// `io_uring_enter(min_complete = wait_nr)`: wait for this many CQEs (0 or
    /// 1: any); at most [`MAX_WAIT_NR`].
    pub wait_nr: u32,
}

fn default_rt_limit() -> u32 {
    1024
}

/// Checks `[[apps]]`: each thread's settings, and that every flow it lists
/// exists and is read by one thread only.
pub fn validate(apps: &[AppConfig], cx: &mut ValidateCx) {
    let flows = cx.flows;
    // Ownership is only checked for a flow count that passed its own check.
    let mut owner = vec![false; if flows <= 1_000_000 { flows as usize } else { 0 }];
    for (i, a) in apps.iter().enumerate() {
        if a.core >= cx.cores {
            let message = cx.no_such_core(a.core);
            cx.err(format!("apps[{i}].core"), message);
        }
        if a.io_uring.wait_nr > MAX_WAIT_NR {
            cx.err(
                format!("apps[{i}].io_uring.wait_nr"),
                format!("expected at most {MAX_WAIT_NR} (a CQ ring's worth), got {}", a.io_uring.wait_nr),
            );
        }
        cx.check_u32(
            &format!("apps[{i}].rt_signal_limit"),
            a.rt_signal_limit,
            0,
            MAX_RT_SIGNAL_LIMIT,
            "queued signals",
        );
        if !(a.migrate_every_us.is_finite() && a.migrate_every_us >= 0.0) {
            cx.err(
                format!("apps[{i}].migrate_every_us"),
                format!("expected a non-negative time, got {}", num(a.migrate_every_us)),
            );
        } else if a.migrate_every_us > MAX_MIGRATE_EVERY_US {
            cx.err(
                format!("apps[{i}].migrate_every_us"),
                format!("expected at most one hour ({MAX_MIGRATE_EVERY_US} µs), got {}", num(a.migrate_every_us)),
            );
        }
        if !(a.work_ns.is_finite() && a.work_ns >= 0.0) {
            cx.err(format!("apps[{i}].work_ns"), format!("expected a non-negative time, got {}", num(a.work_ns)));
        } else if a.work_ns > MAX_COST_NS {
            cx.err(
                format!("apps[{i}].work_ns"),
                format!("expected at most one second ({MAX_COST_NS} ns) per packet, got {}", num(a.work_ns)),
            );
        }
        for (j, f) in a.flows.iter().flatten().enumerate() {
            match owner.get_mut(*f as usize) {
                None => cx.err(format!("apps[{i}].flows[{j}]"), format!("flow {f} does not exist ({flows} flows)")),
                Some(o) if *o => {
                    cx.err(format!("apps[{i}].flows[{j}]"), format!("flow {f} is already read by another thread"))
                }
                Some(o) => *o = true,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scenario;
    use crate::config::testutil::{only_error, valid};

    #[test]
    fn app_times_and_limits_are_bounded() {
        let mut s = Scenario::default();
        s.apps = vec![AppConfig {
            work_ns: MAX_COST_NS,
            migrate_every_us: MAX_MIGRATE_EVERY_US,
            rt_signal_limit: MAX_RT_SIGNAL_LIMIT,
            io_uring: IoUringConfig { eventfd: false, wait_nr: MAX_WAIT_NR },
            ..AppConfig::on_core(0)
        }];
        valid(&s);
        s.apps[0].work_ns = 2e9;
        only_error(&s, "apps[0].work_ns", "at most one second");
        s.apps[0].work_ns = 0.0;
        s.apps[0].migrate_every_us = 4e9;
        only_error(&s, "apps[0].migrate_every_us", "at most one hour");
        s.apps[0].migrate_every_us = 0.0;
        s.apps[0].rt_signal_limit = u32::MAX;
        only_error(&s, "apps[0].rt_signal_limit", "expected 0..=2147483647");
        s.apps[0].rt_signal_limit = 0;
        s.apps[0].io_uring.wait_nr = MAX_WAIT_NR + 1;
        only_error(&s, "apps[0].io_uring.wait_nr", "a CQ ring's worth");
    }
}
