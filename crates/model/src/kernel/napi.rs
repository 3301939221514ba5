//! NAPI scheduling and completion (specs.md §7.1; Linux net/core/dev.c).
//!
//! `napi_schedule` (from the top half) puts the queue's NAPI instance on
//! the interrupted core's poll list and raises `NET_RX_SOFTIRQ`; while it is
//! scheduled the queue's interrupt stays disabled in the device, so further
//! arrivals cost nothing until the poll. `napi_complete_done` (a poll that
//! used less than its weight) takes it off the list and re-enables the
//! queue's interrupt; with frames already waiting, the re-enabled queue
//! interrupts again at once (subject to coalescing), the race NAPI accepts.
//! Busy polling, `gro_flush_timeout` and `napi_defer_hard_irqs` are not
//! modelled.

use crate::ids::{CoreId, QueueId};
use crate::kernel::softirq::PollItem;
use crate::machine::Machine;
use irqlab_engine::Time;

/// One NAPI instance (`struct napi_struct`), one per RX queue.
#[derive(Clone, Copy, Debug, Default)]
pub struct Napi {
    /// `NAPI_STATE_SCHED`.
    pub scheduled: bool,
}

impl Machine {
    /// `napi_schedule()` on `core` for queue `q`.
    pub(crate) fn napi_schedule(&mut self, core: CoreId, q: QueueId, _now: Time) {
        let napi = &mut self.napi[q.idx()];
        if napi.scheduled {
            // napi_schedule_prep() failed: already scheduled (MISSED).
            self.stats.napi_missed += 1;
            return;
        }
        napi.scheduled = true;
        let sn = &mut self.softnet[core.idx()];
        sn.poll_list.push_back(PollItem::Queue(q));
        sn.pending = true;
    }

    /// `napi_complete_done()`: the instance leaves the poll list and the
    /// driver re-enables the queue's interrupt.
    pub(crate) fn napi_complete_done(&mut self, q: QueueId, now: Time) {
        self.napi[q.idx()].scheduled = false;
        self.nic_enable_irq(q, now);
    }
}
