//! NAPI scheduling and completion (specs.md §7.1; Linux net/core/dev.c).
//!
//! `napi_schedule` (from the top half) puts the queue's NAPI instance on
//! the interrupted core's poll list and raises `NET_RX_SOFTIRQ`; while it is
//! scheduled the device interrupt stays disabled, so further arrivals cost
//! nothing until the poll. `napi_complete_done` (a poll that used less than
//! its weight) takes it off the list and re-enables the device interrupt;
//! with frames already waiting, the re-enabled queue interrupts again at
//! once (subject to coalescing), which is the race NAPI accepts.
//! Busy polling, `gro_flush_timeout` and `napi_defer_hard_irqs` are not
//! modelled.

use crate::ids::{CoreId, QueueId};
use crate::machine::Machine;
use irqlab_engine::Time;

impl Machine {
    /// `napi_schedule()` on `core` for queue `q`.
    pub(crate) fn napi_schedule(&mut self, core: CoreId, q: QueueId, _now: Time) {
        let sn = &mut self.softnet[core.idx()];
        if sn.poll_list.contains(&q) {
            // napi_schedule_prep() failed: already scheduled (MISSED).
            self.stats.napi_missed += 1;
            return;
        }
        sn.poll_list.push_back(q);
        sn.pending = true;
    }

    /// `napi_complete_done()`: the instance leaves the poll list and the
    /// driver re-enables the queue's interrupt.
    pub(crate) fn napi_complete_done(&mut self, q: QueueId, now: Time) {
        self.nic_enable_irq(q, now);
    }
}
