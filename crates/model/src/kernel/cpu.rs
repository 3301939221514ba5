//! One CPU's execution state: a stack of contexts, each a piece of work
//! with a remaining duration.
//!
//! Contexts nest in priority order (docs/architecture.md): hard IRQ on top of
//! softirq on top of a task (kernel thread or user thread). Only the top frame
//! makes progress; pushing a frame pauses the one below, keeping its
//! remaining time, and popping resumes it. Each (re)start schedules one
//! completion event tagged with the core's generation, so a paused frame's
//! stale event is recognised and ignored. Busy time is charged to the frame's
//! context as it runs.

use crate::ids::ThreadId;
use irqlab_engine::{Dur, Time};
use serde::Serialize;
use std::collections::VecDeque;

/// What a core can be doing, for CPU accounting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ctx {
    /// A hardware interrupt handler (interrupts disabled).
    Hardirq,
    /// Softirq processing on interrupt exit.
    Softirq,
    /// A kernel thread (ksoftirqd).
    Kthread,
    /// An application thread (its system calls included).
    User,
    /// The host on a guest's behalf, on a vCPU's core: VM exits, their
    /// handling, injections and wakeups (kernel/guest.rs).
    Vmm,
}

/// Number of [`Ctx`] variants.
pub const N_CTX: usize = 5;

impl Ctx {
    /// Index into per-context arrays.
    pub fn idx(self) -> usize {
        self as usize
    }
    /// Every context, in report order.
    pub const ALL: [Ctx; N_CTX] = [Ctx::Hardirq, Ctx::Softirq, Ctx::Kthread, Ctx::User, Ctx::Vmm];
}

/// The work a frame does; its completion is handled by the kernel models.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Work {
    /// A hard-IRQ handler for a vector of this core.
    HardIrq {
        /// The vector being serviced.
        vector: u8,
    },
    /// One NAPI poll (a queue's or the backlog's), `n` packets taken.
    Poll {
        /// Packets taken.
        n: u32,
    },
    /// Waking the readers of sockets just filled by a poll.
    Wakeups,
    /// Sending the RPS IPIs queued during a `net_rx_action`.
    RpsIpis,
    /// An application thread's burst of `recv` calls.
    Recv {
        /// The thread.
        thread: ThreadId,
    },
    /// The sender's `sendmmsg` of one batch, through its doorbell.
    Send,
    /// Timer-softirq work (the IOMMU flush queue's timer).
    Timer,
    /// A zero-copy read's system call and the unmapping of the pages its
    /// previous read mapped.
    Zap {
        /// The reading thread.
        thread: ThreadId,
    },
    /// The unmap's TLB flush: the flush IPIs' sends and the local flush.
    TlbFlush {
        /// The reading thread.
        thread: ThreadId,
    },
    /// Spinning until every CPU sent a flush has acknowledged it (open
    /// ended: the last acknowledgement cuts it short).
    TlbWait {
        /// The reading thread.
        thread: ThreadId,
    },
    /// A compute thread's time slice.
    Compute {
        /// Its index among the compute threads.
        idx: u32,
    },
    /// The host handling physical vector `vector` on a vCPU's core (an
    /// exit, or a wakeup of the halted vCPU), ending in a VM entry.
    Vmm {
        /// The physical vector.
        vector: u8,
    },
    /// A HLT exit: the vCPU blocks and its core idles in the host.
    Hlt,
    /// Halt polling: the halted vCPU's thread spins for an interrupt
    /// before blocking (cut short when one arrives).
    HaltPoll,
    /// The halted vCPU's thread blocks (schedules out).
    Block,
    /// A competing host thread runs on the vCPU's core: the exit, the
    /// switches and its turn (`vm.host_load`).
    Preempted,
    /// A batch thread's time slice.
    Batch {
        /// Its index among the batch threads.
        idx: u32,
    },
    /// A user-space poll-mode driver spinning on its empty rings
    /// (`[vfio]`), until a frame is due or a quantum ends.
    PmdSpin {
        /// The driver thread.
        thread: ThreadId,
    },
    /// A poll-mode driver going to sleep: enabling its queues' interrupts
    /// and entering `epoll_wait` on their eventfds.
    PmdSleep {
        /// The driver thread.
        thread: ThreadId,
    },
}

impl Work {
    /// The application thread whose task-context work this is, if any
    /// (what its cgroup is charged for).
    pub fn thread(self) -> Option<ThreadId> {
        match self {
            Work::Recv { thread }
            | Work::Zap { thread }
            | Work::TlbFlush { thread }
            | Work::TlbWait { thread }
            | Work::PmdSpin { thread }
            | Work::PmdSleep { thread } => Some(thread),
            _ => None,
        }
    }
}

/// One level of the context stack.
#[derive(Clone, Copy, Debug)]
pub struct Frame {
    /// Accounting context.
    pub ctx: Ctx,
    /// What it does.
    pub work: Work,
    /// Time still to run.
    pub remaining: Dur,
    /// Its whole cost.
    pub total: Dur,
    /// When it last (re)started, if it is running now.
    pub running_since: Option<Time>,
}

/// A schedulable task on a core's run queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    /// The core's ksoftirqd.
    Ksoftirqd,
    /// An application thread.
    App(ThreadId),
    /// The transmitting thread.
    Sender,
    /// A compute thread of the application process.
    Compute(u32),
    /// A batch thread of a cgroup (`cgroups[].batch_cores`).
    Batch(u32),
}

/// Per-core execution state.
#[derive(Debug)]
pub struct Cpu {
    /// The context stack; the last element runs.
    pub stack: Vec<Frame>,
    /// Generation of the running frame's completion event.
    pub epoch: u64,
    /// The event-queue timer that holds that event (set by the machine the
    /// kernel runs in), so a superseded completion is replaced, never
    /// popped; `None` schedules completions as one-shot events.
    pub timer: Option<irqlab_engine::TimerId>,
    /// Busy time per context.
    pub busy: [Dur; N_CTX],
    /// Runnable tasks waiting for the core.
    pub runqueue: VecDeque<Task>,
    /// The task whose frame is at the bottom of the stack, if any.
    pub current: Option<Task>,
    /// The task that ran last (a different one costs a context switch).
    pub last_task: Option<Task>,
    /// When the current task's time slice began.
    pub slice_start: Time,
    /// The current task has just been switched in: its first frame pays
    /// the context switch.
    pub switch_due: bool,
    /// The bottom (task) frame's timeline: when it started, and for each
    /// time it was preempted, its progress then and how long it waited.
    task_started: Time,
    task_pauses: Vec<(Dur, Dur)>,
    task_paused: Option<(Time, Dur)>,
    /// Every stretch a frame ran: from, to, context (tests only).
    #[cfg(test)]
    pub segments: Vec<(Time, Time, Ctx)>,
}

impl Default for Cpu {
    fn default() -> Self {
        Cpu {
            stack: Vec::with_capacity(8),
            epoch: 0,
            timer: None,
            busy: [Dur::ZERO; N_CTX],
            runqueue: VecDeque::new(),
            current: None,
            last_task: None,
            slice_start: Time::ZERO,
            switch_due: false,
            task_started: Time::ZERO,
            task_pauses: Vec::new(),
            task_paused: None,
            #[cfg(test)]
            segments: Vec::new(),
        }
    }
}

impl Cpu {
    /// The running frame.
    pub fn top(&self) -> Option<&Frame> {
        self.stack.last()
    }

    /// Whether the CPU accepts a maskable interrupt now (IF=1): not while a
    /// hard-IRQ handler runs (Linux runs handlers with interrupts disabled).
    pub fn interrupts_enabled(&self) -> bool {
        !matches!(self.top(), Some(Frame { ctx: Ctx::Hardirq | Ctx::Vmm, .. }))
    }

    /// Whether a softirq context is already on the stack (`in_softirq()`).
    pub fn in_softirq(&self) -> bool {
        self.stack.iter().any(|f| f.ctx == Ctx::Softirq)
    }

    /// Whether nothing runs and nothing waits.
    pub fn is_idle(&self) -> bool {
        self.stack.is_empty() && self.current.is_none()
    }

    /// Stops the running frame at `now`, charging its progress. Returns
    /// whether a frame was running.
    pub fn pause(&mut self, now: Time) -> bool {
        let depth = self.stack.len();
        let Some(f) = self.stack.last_mut() else {
            return false;
        };
        let Some(since) = f.running_since.take() else {
            return false;
        };
        let ran = now.since(since);
        f.remaining = f.remaining - ran;
        self.busy[f.ctx.idx()] += ran;
        self.epoch += 1;
        #[cfg(test)]
        self.segments.push((since, now, f.ctx));
        if depth == 1 {
            self.task_paused = Some((now, f.total - f.remaining));
        }
        true
    }

    /// Pushes a new frame (the caller has paused the one below) and starts
    /// it; returns its completion time and generation.
    pub fn push(&mut self, now: Time, ctx: Ctx, work: Work, cost: Dur) -> (Time, u64) {
        if self.stack.is_empty() {
            self.task_started = now;
            self.task_pauses.clear();
            self.task_paused = None;
        }
        self.stack.push(Frame { ctx, work, remaining: cost, total: cost, running_since: None });
        self.resume(now).expect("a frame was just pushed")
    }

    /// Restarts the top frame if it is paused; returns its completion time
    /// and generation, or `None` if nothing needed starting.
    pub fn resume(&mut self, now: Time) -> Option<(Time, u64)> {
        let depth = self.stack.len();
        let f = self.stack.last_mut()?;
        if f.running_since.is_some() {
            return None;
        }
        f.running_since = Some(now);
        self.epoch += 1;
        let done = (now + f.remaining, self.epoch);
        if depth == 1
            && let Some((at, progress)) = self.task_paused.take()
        {
            self.task_pauses.push((progress, now.since(at)));
        }
        Some(done)
    }

    /// When the bottom (task) frame, last pushed on an empty stack, had
    /// done `progress` of its work: its start, plus `progress`, plus every
    /// preemption it suffered before reaching that point.
    pub fn task_time_at(&self, progress: Dur) -> Time {
        let waited = self.task_pauses.iter().filter(|(p, _)| *p < progress).fold(Dur::ZERO, |a, (_, w)| a + *w);
        self.task_started + progress + waited
    }

    /// Completes the top frame at `now` (its event fired): charges its time
    /// and removes it.
    pub fn complete(&mut self, now: Time) -> Frame {
        let mut f = self.stack.pop().expect("completion of an empty stack");
        if let Some(since) = f.running_since.take() {
            self.busy[f.ctx.idx()] += now.since(since);
            #[cfg(test)]
            self.segments.push((since, now, f.ctx));
        }
        f.remaining = Dur::ZERO;
        f
    }

    /// Ends the frame doing `work` now, as if its work were done: charges
    /// what it ran. Returns its completion (now) if it is the running frame;
    /// a paused one completes as soon as it resumes.
    pub fn cut_short(&mut self, now: Time, work: Work) -> Option<(Time, u64)> {
        let top = self.stack.len().checked_sub(1)?;
        let i = self.stack.iter().rposition(|f| f.work == work)?;
        let f = &mut self.stack[i];
        let running = i == top && f.running_since.is_some();
        if let Some(since) = f.running_since.filter(|_| running) {
            let ran = now.since(since);
            f.remaining = f.remaining - ran;
            self.busy[f.ctx.idx()] += ran;
            f.running_since = Some(now);
            #[cfg(test)]
            self.segments.push((since, now, f.ctx));
        }
        let f = &mut self.stack[i];
        f.total = f.total - f.remaining;
        f.remaining = Dur::ZERO;
        if running {
            self.epoch += 1;
            if let Some(f) = self.stack.last_mut() {
                f.running_since = Some(now);
            }
            Some((now, self.epoch))
        } else {
            None
        }
    }

    /// Charges the running frame's progress up to `now` without stopping it
    /// (end of run).
    pub fn settle(&mut self, now: Time) {
        if let Some(f) = self.stack.last_mut()
            && let Some(since) = f.running_since
        {
            let ran = now.since(since);
            self.busy[f.ctx.idx()] += ran;
            f.remaining = f.remaining - ran;
            f.running_since = Some(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preemption_keeps_the_remaining_time_and_charges_each_context() {
        let mut c = Cpu::default();
        let (end, e1) = c.push(Time(0), Ctx::User, Work::Recv { thread: ThreadId(0) }, Dur(100));
        assert_eq!(end, Time(100));
        assert!(c.pause(Time(30)));
        let (end2, e2) = c.push(Time(30), Ctx::Hardirq, Work::HardIrq { vector: 0x21 }, Dur(10));
        assert_ne!(e1, e2, "the paused frame's event is stale");
        assert_eq!(end2, Time(40));
        assert!(!c.interrupts_enabled());
        c.complete(Time(40));
        let (end3, _) = c.resume(Time(40)).unwrap();
        assert_eq!(end3, Time(110), "70 ps of user work remained");
        c.complete(Time(110));
        assert_eq!(c.busy[Ctx::User.idx()], Dur(100));
        assert_eq!(c.busy[Ctx::Hardirq.idx()], Dur(10));
    }

    #[test]
    fn a_task_frames_timeline_adds_only_the_preemptions_before_each_point() {
        let mut c = Cpu::default();
        c.push(Time(1000), Ctx::User, Work::Recv { thread: ThreadId(0) }, Dur(100));
        // Preempted at progress 30 for 50 ps, then at progress 80 for 5 ps.
        c.pause(Time(1030));
        c.push(Time(1030), Ctx::Hardirq, Work::HardIrq { vector: 0x21 }, Dur(50));
        c.complete(Time(1080));
        c.resume(Time(1080));
        c.pause(Time(1130));
        c.push(Time(1130), Ctx::Hardirq, Work::HardIrq { vector: 0x21 }, Dur(5));
        c.complete(Time(1135));
        let (end, _) = c.resume(Time(1135)).unwrap();
        assert_eq!(end, Time(1155));
        assert_eq!(c.task_time_at(Dur(20)), Time(1020), "before any preemption");
        assert_eq!(c.task_time_at(Dur(30)), Time(1030), "reached exactly when preempted");
        assert_eq!(c.task_time_at(Dur(60)), Time(1110));
        assert_eq!(c.task_time_at(Dur(100)), end);
    }

    #[test]
    fn a_frame_cut_short_charges_only_what_it_ran() {
        let mut c = Cpu::default();
        let wait = Work::TlbWait { thread: ThreadId(0) };
        c.push(Time(0), Ctx::User, wait, Dur(1_000_000));
        let (at, epoch) = c.cut_short(Time(40), wait).expect("running");
        assert_eq!((at, epoch), (Time(40), c.epoch));
        c.complete(Time(40));
        assert_eq!(c.busy[Ctx::User.idx()], Dur(40));
        // Preempted: the cut waits for the resume, which completes at once.
        c.push(Time(100), Ctx::User, wait, Dur(1_000_000));
        c.pause(Time(110));
        c.push(Time(110), Ctx::Hardirq, Work::HardIrq { vector: 0xfc }, Dur(5));
        assert_eq!(c.cut_short(Time(112), wait), None);
        c.complete(Time(115));
        assert_eq!(c.resume(Time(115)).map(|(t, _)| t), Some(Time(115)));
        c.complete(Time(115));
        assert_eq!(c.busy[Ctx::User.idx()], Dur(50));
    }
}
