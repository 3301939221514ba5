//! A user-space poll-mode driver thread (`[vfio]`): the state of one DPDK
//! style lcore that owns RX queues of a NIC bound to `vfio-pci`.
//!
//! The thread loops on `rte_eth_rx_burst` over its queues. Frames it takes
//! are its application's at once (no system call, no copy: the buffers are
//! the process's own DMA memory). With nothing to take it spins (`poll`),
//! sleeps in `epoll_wait` on its queues' interrupt eventfds (`interrupt`),
//! or spins for `idle_us` and then sleeps (`adaptive`). The loop itself is
//! in kernel/vfio.rs, beside the host's `vfio_msihandler` that wakes it.

use crate::config::PmdMode;
use crate::ids::QueueId;
use irqlab_engine::{Dur, Time};
use serde::Serialize;

/// Longest stretch a spinning driver runs between two looks at the clock
/// of the model: its rings and its cgroup's quota are checked at least this
/// often while no frame is due. A modelling quantum (the kernel enforces
/// `cpu.max` at the scheduler tick, 1–4 ms, so this is finer than the real
/// enforcement).
pub const SPIN_QUANTUM: Dur = Dur::from_us(50);

/// Where the driver thread is in its loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PmdPhase {
    /// Polling (running, or waiting for its CPU).
    Polling,
    /// Blocked in `epoll_wait` with its queues' interrupts enabled.
    Sleeping,
}

/// One driver thread's state.
#[derive(Clone, Debug)]
pub struct PmdThread {
    /// How it waits.
    pub mode: PmdMode,
    /// The RX queues it owns.
    pub queues: Vec<QueueId>,
    /// `rx_burst`: descriptors per call.
    pub burst: u32,
    /// `adaptive`: empty time before sleeping (zero for `interrupt`).
    pub idle: Dur,
    /// When a poll last found a frame (or the thread last woke).
    pub last_busy: Time,
    /// Where it is in its loop.
    pub phase: PmdPhase,
    /// Its eventfds' counter: signals not yet read.
    pub eventfd: u64,
    /// The bug: every this many buffers it posts gets a stray address
    /// (0: none).
    pub bad_dma_every: u32,
    /// Buffers it has posted back to its rings.
    pub posted: u64,
    /// Frames one `rte_eth_rx_burst` call took (reused).
    pub taken: Vec<crate::workload::packet::Packet>,
    /// Counters.
    pub counts: PmdCounts,
}

/// What a driver thread counts.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct PmdCounts {
    /// `rte_eth_rx_burst` calls (one per queue per pass).
    pub rx_bursts: u64,
    /// Of which found nothing.
    pub empty_bursts: u64,
    /// CPU time spent spinning on empty rings, ns.
    pub spin_ns: u64,
    /// Times it went to sleep in `epoll_wait`.
    pub sleeps: u64,
    /// Eventfd increments its reads consumed.
    pub eventfd_consumed: u64,
    /// Descriptors it programmed with a stray address (`bad_dma_every`).
    pub bad_dma: u64,
}

impl PmdThread {
    /// A thread of `mode` owning `queues`.
    pub fn new(mode: PmdMode, queues: Vec<QueueId>, burst: u32, idle_us: f64) -> PmdThread {
        let idle = match mode {
            PmdMode::Poll => Dur(u64::MAX),
            PmdMode::Interrupt => Dur::ZERO,
            PmdMode::Adaptive => Dur::from_ns_f64(idle_us * 1e3),
        };
        PmdThread {
            mode,
            queues,
            burst,
            idle,
            last_busy: Time::ZERO,
            phase: if mode == PmdMode::Poll { PmdPhase::Polling } else { PmdPhase::Sleeping },
            eventfd: 0,
            bad_dma_every: 0,
            posted: 0,
            taken: Vec::with_capacity(burst as usize),
            counts: PmdCounts::default(),
        }
    }

    /// Whether, with its rings empty at `now`, it goes to sleep rather
    /// than spin.
    pub fn sleeps_at(&self, now: Time) -> bool {
        self.mode != PmdMode::Poll && now.since(self.last_busy) >= self.idle
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_mode_sleeps_when_its_rule_says() {
        let q = vec![QueueId(0)];
        let poll = PmdThread::new(PmdMode::Poll, q.clone(), 32, 300.0);
        assert!(!poll.sleeps_at(Time::ZERO + Dur::from_ms(1000)), "a poller never sleeps");
        let irq = PmdThread::new(PmdMode::Interrupt, q.clone(), 32, 300.0);
        assert!(irq.sleeps_at(Time::ZERO), "interrupt mode sleeps as soon as the rings are empty");
        let mut ad = PmdThread::new(PmdMode::Adaptive, q, 32, 300.0);
        ad.last_busy = Time::ZERO + Dur::from_us(100);
        assert!(!ad.sleeps_at(Time::ZERO + Dur::from_us(399)));
        assert!(ad.sleeps_at(Time::ZERO + Dur::from_us(400)));
    }
}
