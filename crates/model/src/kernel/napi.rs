//! A NAPI instance (`struct napi_struct`, docs/sources.md §7.1; Linux
//! net/core/dev.c): one per RX queue, with its own weight.
//!
//! `napi_schedule` (from the top half) puts the instance on the interrupted
//! CPU's poll list and raises `NET_RX_SOFTIRQ`; while it is scheduled the
//! queue's interrupt stays disabled in the device, so further arrivals cost
//! nothing until the poll. `napi_complete_done` (a poll that used less than
//! its weight) takes it off the list and re-enables the queue's interrupt;
//! with frames already waiting, the re-enabled queue interrupts again at
//! once (subject to coalescing), the race NAPI accepts. Busy polling,
//! `gro_flush_timeout` and `napi_defer_hard_irqs` are not modelled. The
//! scheduling and completion themselves are in net_rx.rs.

/// One NAPI instance.
#[derive(Clone, Copy, Debug)]
pub struct Napi {
    /// `NAPI_STATE_SCHED`.
    pub scheduled: bool,
    /// `napi->weight`: packets one poll may take.
    pub weight: u32,
}

impl Napi {
    /// An idle instance with `weight` (`netif_napi_add_weight`).
    pub fn new(weight: u32) -> Napi {
        Napi { scheduled: false, weight }
    }
}
