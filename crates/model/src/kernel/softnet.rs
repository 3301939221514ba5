//! Per-CPU softirq state (`struct softnet_data`, Linux net/core/dev.c) and
//! the bookkeeping of one `net_rx_action` round.
//!
//! The behaviour that drives it — `net_rx_action`, `__do_softirq`'s restart
//! rule, ksoftirqd — is in net_rx.rs.

use crate::ids::{CpuId, QueueId, ThreadId};
use crate::workload::traffic::Packet;
use irqlab_engine::{Dur, Time};
use serde::Serialize;
use std::collections::VecDeque;

use super::cpu::Ctx;

/// Whether the CPU's ksoftirqd is asleep or wants the CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Ksoftirqd {
    /// Sleeping: softirqs run on `irq_exit`.
    #[default]
    Sleeping,
    /// Runnable or running: new softirqs are left to it.
    Active,
}

/// One `net_rx_action` invocation in progress.
#[derive(Clone, Copy, Debug)]
pub struct Round {
    /// Packets left in `netdev_budget` (may go negative: the last poll can
    /// overshoot, as in Linux).
    pub budget_left: i64,
    /// When it started (for `netdev_budget_usecs`).
    pub start: Time,
    /// Softirq on `irq_exit`, or kthread inside ksoftirqd.
    pub ctx: Ctx,
    /// Whether no poll has run yet (the first one pays the softirq entry).
    pub first: bool,
}

/// A NAPI instance on a poll list: a device queue's, or the CPU's backlog
/// (`softnet_data.backlog`, polled by `process_backlog`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PollItem {
    /// An RX queue's NAPI instance.
    Queue(QueueId),
    /// This CPU's input-packet backlog.
    Backlog,
    /// A TX queue's own NAPI instance (separate TX vectors).
    Tx(u32),
}

/// Softirq counters of one CPU (`/proc/net/softnet_stat` and more).
#[derive(Clone, Debug, Default, Serialize)]
pub struct SoftnetCounts {
    /// NAPI polls run.
    pub polls: u64,
    /// Polls that used their whole weight.
    pub full_polls: u64,
    /// Packets processed by polls.
    pub packets: u64,
    /// `time_squeeze`: actions that ran out of budget or time with work left.
    pub time_squeeze: u64,
    /// Times ksoftirqd was woken to take over.
    pub ksoftirqd_wakeups: u64,
    /// `net_rx_action` invocations.
    pub rounds: u64,
    /// Packets dropped because the backlog held `netdev_max_backlog`.
    pub dropped_backlog: u64,
    /// Packets queued on this CPU's backlog.
    pub backlog_enqueued: u64,
    /// Packets `process_backlog` took from it.
    pub backlog_dequeued: u64,
    /// Packets that went up the stack on this CPU (`__netif_receive_skb`:
    /// softnet_stat's `processed`): from a queue's poll unless RPS sent them
    /// to a backlog, and from this CPU's backlog.
    pub processed: u64,
}

/// Per-CPU softirq state (`struct softnet_data`).
#[derive(Debug, Default)]
pub struct Softnet {
    /// NAPI instances scheduled on this CPU.
    pub poll_list: VecDeque<PollItem>,
    /// `input_pkt_queue`: packets queued by `netif_rx`/`enqueue_to_backlog`.
    pub backlog: VecDeque<Packet>,
    /// Whether the backlog NAPI is on the poll list.
    pub backlog_scheduled: bool,
    /// `NET_RX_SOFTIRQ` raised and not yet run.
    pub pending: bool,
    /// The `net_rx_action` in progress.
    pub round: Option<Round>,
    /// When the current `__do_softirq` began.
    pub do_softirq_start: Time,
    /// Restarts so far in the current `__do_softirq`.
    pub restarts: u32,
    /// ksoftirqd's state.
    pub ksoftirqd: Ksoftirqd,
    /// Packets taken by the poll in progress.
    pub batch: Vec<Packet>,
    /// Packets taken by a no-NAPI hard-IRQ handler in progress.
    pub isr_batch: Vec<Packet>,
    /// Per packet of `batch`: the RPS/RFS backlog it goes to (CPU and
    /// `rps_dev_flow` index), or `None` to process it here.
    pub batch_targets: Vec<Option<(CpuId, Option<usize>)>>,
    /// `input_queue_head`: packets dequeued from this CPU's backlog.
    pub input_queue_head: u32,
    /// `input_queue_tail`: packets enqueued on this CPU's backlog.
    pub input_queue_tail: u32,
    /// `rps_ipi_list`: remote CPUs to kick at the end of `net_rx_action`.
    pub rps_ipi_list: Vec<CpuId>,
    /// The poll in progress: instance and packets taken.
    pub last_poll: Option<(PollItem, u32)>,
    /// The finished poll's notification work still to run, in stretches:
    /// each stretch's CPU time, and the thread whose wakeup it ends with
    /// (issued when the stretch completes).
    pub wakeups: VecDeque<(Dur, Option<ThreadId>)>,
    /// Counters.
    pub counts: SoftnetCounts,
}

impl Softnet {
    /// `ksoftirqd_running()`.
    pub fn ksoftirqd_active(&self) -> bool {
        self.ksoftirqd == Ksoftirqd::Active
    }

    /// Packets held here (backlog, the poll in progress, a no-NAPI handler's batch).
    pub fn held(&self) -> u64 {
        self.in_batches() + self.backlog.len() as u64
    }

    /// Packets taken by a poll or a no-NAPI handler and not yet handed on.
    pub fn in_batches(&self) -> u64 {
        (self.batch.len() + self.isr_batch.len()) as u64
    }
}
