//! The kernel's receive path, named after Linux: the IRQ top half and
//! `irq_exit` (irq.rs), `net_rx_action`/`__do_softirq`/ksoftirqd
//! (softirq.rs), NAPI polling (napi.rs), the per-core scheduler (sched.rs)
//! and socket receive queues (socket.rs).

pub mod affinity;
pub mod driver;
pub mod genirq;
pub mod irq;
pub mod napi;
pub mod rps;
pub mod sched;
pub mod socket;
pub mod softirq;
pub mod spurious;
