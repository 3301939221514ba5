//! `NET_RX_SOFTIRQ`: `net_rx_action`, `__do_softirq`'s restart rule and the
//! hand-off to ksoftirqd (specs.md §7.2; Linux net/core/dev.c,
//! kernel/softirq.c).
//!
//! * `net_rx_action` walks the core's poll list: each NAPI instance is polled
//!   with its weight; the action stops when `netdev_budget` packets have been
//!   processed or `netdev_budget_usecs` have passed — then, with work left,
//!   it counts a `time_squeeze` and re-raises the softirq.
//! * `__do_softirq` (on `irq_exit`) restarts while the softirq is pending, at
//!   most `MAX_SOFTIRQ_RESTART` passes in total, within `MAX_SOFTIRQ_TIME`,
//!   and only while no task waits for the CPU (`need_resched`); otherwise it
//!   wakes the core's ksoftirqd, a normal task that then does the work.
//!
//! A poll is one CPU frame; its packets are taken from the ring when it
//! starts and handed to sockets when it ends.

use crate::ids::{CoreId, QueueId};
use crate::machine::Machine;
use crate::platform::cpu::{Ctx, Task, Work};
use crate::workload::traffic::Packet;
use irqlab_engine::{Dur, Time};
use std::collections::VecDeque;

/// Whether the core's ksoftirqd is asleep or wants the CPU.
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

/// A NAPI instance on a poll list: a device queue's, or the core's backlog
/// (`softnet_data.backlog`, polled by `process_backlog`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PollItem {
    /// An RX queue's NAPI instance.
    Queue(QueueId),
    /// This core's input-packet backlog.
    Backlog,
}

/// Per-core softirq state (`struct softnet_data`).
#[derive(Debug, Default)]
pub struct Softnet {
    /// NAPI instances scheduled on this core.
    pub poll_list: VecDeque<PollItem>,
    /// `input_pkt_queue`: packets queued by `netif_rx`/`enqueue_to_backlog`.
    pub backlog: VecDeque<Packet>,
    /// Whether the backlog NAPI is on the poll list.
    pub backlog_scheduled: bool,
    /// Packets dropped because the backlog held `netdev_max_backlog`.
    pub dropped_backlog: u64,
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
    /// Per packet of `batch`: the RPS/RFS backlog it goes to (core and
    /// `rps_dev_flow` index), or `None` to process it here.
    pub batch_targets: Vec<Option<(CoreId, Option<usize>)>>,
    /// `input_queue_head`: packets dequeued from this core's backlog.
    pub input_queue_head: u32,
    /// `input_queue_tail`: packets enqueued on this core's backlog.
    pub input_queue_tail: u32,
    /// `rps_ipi_list`: remote cores to kick at the end of `net_rx_action`.
    pub rps_ipi_list: Vec<CoreId>,
    /// The poll in progress: instance and packets taken.
    pub last_poll: Option<(PollItem, u32)>,
    /// NAPI polls run.
    pub polls: u64,
    /// Polls that used their whole weight.
    pub full_polls: u64,
    /// Packets processed by polls.
    pub packets: u64,
    /// `softnet_data.time_squeeze`: actions that ran out of budget or time with work left.
    pub time_squeeze: u64,
    /// Times ksoftirqd was woken to take over.
    pub ksoftirqd_wakeups: u64,
    /// `net_rx_action` invocations.
    pub rounds: u64,
}

impl Softnet {
    /// `ksoftirqd_running()`.
    pub fn ksoftirqd_active(&self) -> bool {
        self.ksoftirqd == Ksoftirqd::Active
    }
}

impl Machine {
    /// `__do_softirq` entered from `irq_exit`.
    pub(crate) fn do_softirq(&mut self, core: CoreId, now: Time) {
        let sn = &mut self.softnet[core.idx()];
        sn.do_softirq_start = now;
        sn.restarts = 0;
        self.net_rx_action(core, now, Ctx::Softirq);
    }

    /// Starts one `net_rx_action` in context `ctx`.
    pub(crate) fn net_rx_action(&mut self, core: CoreId, now: Time, ctx: Ctx) {
        let budget = self.kp.cfg.netdev_budget as i64;
        let sn = &mut self.softnet[core.idx()];
        sn.pending = false;
        sn.rounds += 1;
        sn.round = Some(Round { budget_left: budget, start: now, ctx, first: true });
        self.next_poll(core, now);
    }

    /// Polls the NAPI instance at the head of the poll list, or ends the round.
    fn next_poll(&mut self, core: CoreId, now: Time) {
        let c = core.idx();
        let Some(&item) = self.softnet[c].poll_list.front() else {
            self.round_end(core, now);
            return;
        };
        let weight = self.kp.cfg.napi_weight as usize;
        let mut batch = std::mem::take(&mut self.softnet[c].batch);
        let mut targets = std::mem::take(&mut self.softnet[c].batch_targets);
        batch.clear();
        targets.clear();
        let mut cost = self.costs.napi_poll;
        match item {
            PollItem::Queue(q) => {
                let dma = self.costs.dma_write;
                let queue = self.nic.queue(q);
                queue.advance(now, dma);
                queue.take(weight, &mut batch);
                for p in &batch {
                    cost += self.costs.rx_driver_per_packet;
                    // netif_receive_skb: RPS/RFS may send it to a backlog.
                    let target = self.get_rps_cpu(q, p, now);
                    cost += match target {
                        Some(_) => self.costs.rps_enqueue,
                        None => self.costs.rx_protocol_per_packet + self.touch_flow(p.flow, core, 0),
                    };
                    targets.push(target);
                }
            }
            PollItem::Backlog => {
                // process_backlog: the driver work was done before queueing.
                let sn = &mut self.softnet[c];
                let n = weight.min(sn.backlog.len());
                batch.extend(sn.backlog.drain(..n));
                // input_queue_head advances when the packets are processed (poll_done).
                for p in &batch {
                    cost += self.costs.rx_protocol_per_packet + self.touch_flow(p.flow, core, 0);
                    targets.push(None);
                }
            }
        }
        let n = batch.len() as u32;
        self.softnet[c].batch = batch;
        self.softnet[c].batch_targets = targets;
        let round = self.softnet[c].round.as_mut().expect("a poll runs inside a round");
        if round.first {
            cost += self.costs.softirq_entry;
            round.first = false;
        }
        let ctx = round.ctx;
        if ctx == Ctx::Kthread && std::mem::take(&mut self.cpus[c].switch_due) {
            cost += self.costs.context_switch;
        }
        self.softnet[c].last_poll = Some((item, n));
        self.push_frame(core, now, ctx, Work::Poll { n }, cost);
    }

    /// A poll frame finished: hand its packets to sockets, then wake readers.
    pub(crate) fn poll_done(&mut self, core: CoreId, now: Time) {
        let c = core.idx();
        let (_, n) = self.softnet[c].last_poll.expect("poll_done after a poll");
        let sn = &mut self.softnet[c];
        sn.polls += 1;
        sn.packets += n as u64;
        if n == self.kp.cfg.napi_weight {
            sn.full_polls += 1;
        }
        match self.softnet[c].last_poll {
            Some((PollItem::Queue(q), _)) => self.driver_poll_end(q, now),
            Some((PollItem::Backlog, n)) => {
                let sn = &mut self.softnet[c];
                sn.input_queue_head = sn.input_queue_head.wrapping_add(n);
            }
            None => {}
        }
        let cost = self.deliver_batch(core, now);
        if cost > Dur::ZERO {
            let ctx = self.softnet[c].round.as_ref().expect("inside a round").ctx;
            self.push_frame(core, now, ctx, Work::Wakeups, cost);
        } else {
            self.after_poll(core, now);
        }
    }

    /// After a poll (and its wakeups): requeue or complete the instance and
    /// decide whether the round goes on.
    pub(crate) fn after_poll(&mut self, core: CoreId, now: Time) {
        let c = core.idx();
        let (item, n) = self.softnet[c].last_poll.take().expect("after_poll after a poll");
        let weight = self.kp.cfg.napi_weight;
        let budget_time = self.kp.netdev_budget_time;
        let sn = &mut self.softnet[c];
        let round = sn.round.as_mut().expect("inside a round");
        round.budget_left -= n as i64;
        let front = sn.poll_list.pop_front();
        debug_assert_eq!(front, Some(item));
        // process_backlog only completes when the input queue is empty
        // (other cores may have queued more while it ran).
        let more = n == weight || (item == PollItem::Backlog && !sn.backlog.is_empty());
        if more {
            // Work remains: the instance stays scheduled, at the tail.
            sn.poll_list.push_back(item);
        } else {
            match item {
                PollItem::Queue(q) => self.napi_complete_done(q, now),
                PollItem::Backlog => self.softnet[c].backlog_scheduled = false,
            }
        }
        let sn = &mut self.softnet[c];
        let round = sn.round.as_ref().expect("inside a round");
        if sn.poll_list.is_empty() {
            self.round_end(core, now);
        } else if round.budget_left <= 0 || now >= round.start + budget_time {
            sn.time_squeeze += 1;
            sn.pending = true;
            self.round_end(core, now);
        } else {
            self.next_poll(core, now);
        }
    }

    /// The end of a `net_rx_action`: `__do_softirq`'s restart rule, or
    /// ksoftirqd's loop.
    pub(crate) fn round_end(&mut self, core: CoreId, now: Time) {
        let c = core.idx();
        if !self.softnet[c].rps_ipi_list.is_empty() {
            // net_rps_action_and_irq_enable: kick remote backlogs, then finish.
            let ctx = self.softnet[c].round.as_ref().expect("round_end inside a round").ctx;
            let cost = self.rps_ipi_cost(core);
            self.push_frame(core, now, ctx, Work::RpsIpis, cost);
            return;
        }
        let round = self.softnet[c].round.take().expect("round_end inside a round");
        match round.ctx {
            Ctx::Softirq => {
                if !self.softnet[c].pending {
                    return;
                }
                let sn = &self.softnet[c];
                let in_time = now < sn.do_softirq_start + self.kp.max_softirq_time;
                if in_time && !self.need_resched(core) && sn.restarts + 1 < self.kp.cfg.max_softirq_restart {
                    self.softnet[c].restarts += 1;
                    self.net_rx_action(core, now, Ctx::Softirq);
                } else {
                    self.wakeup_softirqd(core);
                }
            }
            _ => self.ksoftirqd_round_done(core, now),
        }
    }

    /// `netif_rx()`: queue a packet on this core's backlog (dropped when it
    /// already holds `netdev_max_backlog`) and schedule the backlog NAPI,
    /// raising `NET_RX_SOFTIRQ`.
    pub(crate) fn netif_rx(&mut self, core: CoreId, p: Packet) {
        if self.backlog_push(core, p).is_some() {
            self.schedule_backlog(core);
        }
    }

    /// The queueing half of `enqueue_to_backlog()`: append to `core`'s
    /// input queue unless it is full (counted as `backlog_full`). Returns
    /// whether the queue was empty before, or `None` if the packet dropped.
    pub(crate) fn backlog_push(&mut self, core: CoreId, p: Packet) -> Option<bool> {
        let max = self.kp.cfg.netdev_max_backlog as usize;
        let sn = &mut self.softnet[core.idx()];
        if sn.backlog.len() >= max {
            sn.dropped_backlog += 1;
            return None;
        }
        let was_empty = sn.backlog.is_empty();
        sn.backlog.push_back(p);
        sn.input_queue_tail = sn.input_queue_tail.wrapping_add(1);
        Some(was_empty)
    }

    /// `wakeup_softirqd()`.
    fn wakeup_softirqd(&mut self, core: CoreId) {
        let c = core.idx();
        if self.softnet[c].ksoftirqd == Ksoftirqd::Sleeping {
            self.softnet[c].ksoftirqd = Ksoftirqd::Active;
            self.softnet[c].ksoftirqd_wakeups += 1;
            self.cpus[c].runqueue.push_back(Task::Ksoftirqd);
        }
    }

    /// ksoftirqd got the CPU: run softirqs if any are pending, else sleep.
    pub(crate) fn run_ksoftirqd(&mut self, core: CoreId, now: Time) {
        if self.softnet[core.idx()].pending {
            self.net_rx_action(core, now, Ctx::Kthread);
        } else {
            self.ksoftirqd_sleep(core);
        }
    }

    /// One ksoftirqd pass ended: go on, yield the CPU, or sleep.
    fn ksoftirqd_round_done(&mut self, core: CoreId, now: Time) {
        if !self.softnet[core.idx()].pending {
            self.ksoftirqd_sleep(core);
        } else if self.slice_expired(core, now) {
            self.yield_current(core);
        } else {
            self.net_rx_action(core, now, Ctx::Kthread);
        }
    }

    fn ksoftirqd_sleep(&mut self, core: CoreId) {
        let c = core.idx();
        self.softnet[c].ksoftirqd = Ksoftirqd::Sleeping;
        self.cpus[c].current = None;
        self.cpus[c].last_task = None;
    }
}
