//! The host back end of a VM's virtio-net or emulated NIC (`vm.device`):
//! the thread on a host core that receives each frame from the physical NIC
//! and puts it into the guest's RX ring — the vhost-net worker
//! (`drivers/vhost/net.c` `handle_rx`) or the VMM's I/O thread running the
//! emulated NIC's receive (QEMU's e1000e `receive_iov`).
//!
//! The guest drives a [`super::Nic`] as it drives any NIC: its RX queues are
//! the virtqueues (or the emulated descriptor rings), its MSI-X entries the
//! device's vectors. What changes is who fills them and how they signal:
//!
//! * **Receive.** The host keeps the physical NIC: its interrupt and
//!   receive run on the back end's core, where the thread then copies the
//!   frame into a guest buffer. The thread is one server in arrival order
//!   (FIFO): a frame is ready when its DMA into host memory completes; the
//!   thread takes it when free, or — idle — after the host's interrupt
//!   wakes it; it spends the host driver's receive, its own per-frame work
//!   (vhost: `vhost_rx_packet_ns`; the VMM: `vmm_rx_packet_ns`) and the copy
//!   (`copy_bytes_per_ns`, the frame being in the cache after the NIC's DMA)
//!   and the frame is in the guest's ring when it is done. Because it does
//!   not depend on the guest, the schedule is computed as the NIC generates
//!   its arrivals (lazily), the guest ring's landing timed from it.
//! * **Interrupts** are irqfd signals: the thread's `eventfd_signal` wakes
//!   KVM's irqfd, which delivers the MSI-X entry's message to a vCPU's
//!   virtual APIC (kernel/guest.rs `irqfd`); they never reach the platform's
//!   interrupt window. The guest's interrupt suppression
//!   (`VRING_AVAIL_F_NO_INTERRUPT`, or the emulated mask registers) is the
//!   queue's interrupt-enable bit.
//! * **Kicks** (virtio): vhost disables guest notifications while it works
//!   (`vhost_disable_notify`) and enables them only when it finds no RX
//!   buffer (`vhost_enable_notify`, then waits for the guest's refill): a
//!   frame dropped at a full ring sets the queue's `notify`, and the guest's
//!   next RX refill kicks (an ioeventfd write that exits), which clears it.
//!   Other refills are suppressed (no exit).
//!
//! Frames wait for the thread in the tap's queue, which holds
//! [`TAP_QUEUE_FRAMES`]; a frame finding it full is dropped there.
//!
//! Left out: vhost stopping while it waits for the guest's buffers (a frame
//! finding the guest's ring full is dropped there, after the thread's work
//! on it); the host NIC's own ring and IOMMU; the thread sharing its core;
//! the irqfd signal's time is counted as the thread's but does not delay
//! its next frame.

use crate::config::DevicePath;
use crate::ids::{CoreId, QueueId};
use crate::workload::traffic::Packet;
use irqlab_engine::{Dur, Time};
use serde::Serialize;
use std::collections::VecDeque;

/// Frames the tap device queues for its reader (Linux
/// `drivers/net/tun.c` `TUN_READQ_SIZE`, the tap's default
/// `tx_queue_len`): beyond them `tun_net_xmit` drops.
pub const TAP_QUEUE_FRAMES: usize = 500;

/// What the back end counted.
#[derive(Clone, Debug, Default, Serialize)]
pub struct BackendCounts {
    /// Frames the host received for the guest (its tap queue's arrivals).
    pub received: u64,
    /// Frames dropped at the tap queue, full while the thread lagged.
    pub dropped_backlog: u64,
    /// Frames it put into the guest's ring (or found the ring full for).
    pub frames: u64,
    /// Bytes it copied into guest buffers.
    pub copy_bytes: u64,
    /// Times the thread was woken from idle by the host NIC's interrupt.
    pub wakeups: u64,
    /// Busy time, picoseconds (its frames, its wakeups, its irqfd signals).
    pub busy_ps: u64,
    /// irqfd signals it sent (the device's interrupts).
    pub irqfd_signals: u64,
    /// Of which KVM could route to no vCPU (a message naming no vCPU's
    /// core: a model bug if non-zero).
    pub irqfd_unrouted: u64,
    /// Guest kicks (ioeventfd) it received.
    pub kicks_received: u64,
    /// Times it found a queue's ring without a free buffer and enabled the
    /// guest's notifications (`vhost_enable_notify`).
    pub notify_enabled: u64,
}

/// The back end's per-frame costs.
#[derive(Clone, Copy, Debug)]
pub struct BackendCosts {
    /// Its CPU time per frame, beyond the copy (the host NIC driver's
    /// receive plus the vhost worker's or the VMM's own work).
    pub per_frame: Dur,
    /// Picoseconds to copy 2^20 bytes (cache-resident).
    pub copy_ps_per_mib: u64,
    /// From the frame's last bit to its DMA into host memory completing.
    pub dma: Dur,
    /// The idle thread's wakeup: its latency (the host's interrupt to the
    /// thread running) and its CPU time.
    pub wake_latency: Dur,
    /// See `wake_latency`.
    pub wake_cpu: Dur,
    /// One irqfd signal: `eventfd_signal` and KVM's delivery.
    pub signal: Dur,
}

/// The back end.
#[derive(Clone, Debug)]
pub struct Backend {
    /// Which device path it serves (`virtio` or `emulated`).
    pub path: DevicePath,
    /// Its host core.
    pub core: CoreId,
    costs: BackendCosts,
    /// When the thread finishes the frame it works on.
    free: Time,
    /// When it starts each frame still waiting in the tap queue (or begun).
    waiting: VecDeque<Time>,
    /// Per queue: notifications enabled (vhost waits for a refill's kick).
    notify: Vec<bool>,
    /// Counters.
    pub counts: BackendCounts,
}

impl Backend {
    /// A back end on `core` for `queues` RX queues.
    pub fn new(path: DevicePath, core: CoreId, queues: u32, costs: BackendCosts) -> Backend {
        Backend {
            path,
            core,
            costs,
            free: Time::ZERO,
            waiting: VecDeque::new(),
            notify: vec![false; queues as usize],
            counts: BackendCounts::default(),
        }
    }

    /// The thread takes frame `p` (in arrival order): returns it with
    /// `wire` set so that its landing in the guest's ring (`wire` + the
    /// ring's `dma`) is when the thread is done with it — or `None` when
    /// the tap queue is full ([`TAP_QUEUE_FRAMES`] waiting) and drops it.
    pub fn serve(&mut self, mut p: Packet, ring_dma: Dur) -> Option<Packet> {
        let c = self.costs;
        let ready = p.origin + c.dma;
        self.counts.received += 1;
        while self.waiting.front().is_some_and(|s| *s <= ready) {
            self.waiting.pop_front();
        }
        if self.waiting.len() >= TAP_QUEUE_FRAMES {
            self.counts.dropped_backlog += 1;
            return None;
        }
        let mut cost = c.per_frame + Dur((c.copy_ps_per_mib * p.bytes as u64) >> 20);
        let start = if ready > self.free {
            // Idle: the host NIC's interrupt wakes the thread.
            self.counts.wakeups += 1;
            cost += c.wake_cpu;
            ready + c.wake_latency
        } else {
            self.free
        };
        let done = start + cost;
        self.free = done;
        self.waiting.push_back(start);
        self.counts.busy_ps += cost.as_ps();
        self.counts.frames += 1;
        self.counts.copy_bytes += p.bytes as u64;
        p.wire = Time(done.0.saturating_sub(ring_dma.0).max(p.origin.0));
        Some(p)
    }

    /// The thread found queue `q`'s ring full: vhost enables the guest's
    /// notifications and waits for a kick.
    pub fn ring_full(&mut self, q: QueueId) {
        if self.path == DevicePath::Virtio && !self.notify[q.idx()] {
            self.notify[q.idx()] = true;
            self.counts.notify_enabled += 1;
        }
    }

    /// Whether the guest's next refill of `q` must kick.
    pub fn wants_kick(&self, q: QueueId) -> bool {
        self.notify[q.idx()]
    }

    /// A guest kick on `q` arrived (`vhost_poll` woke the worker): it
    /// disables notifications again and goes on.
    pub fn kicked(&mut self, q: QueueId) {
        self.counts.kicks_received += 1;
        self.notify[q.idx()] = false;
    }

    /// The thread signals an irqfd: returns when the signal reaches KVM.
    pub fn signal(&mut self, now: Time) -> Time {
        self.counts.irqfd_signals += 1;
        self.counts.busy_ps += self.costs.signal.as_ps();
        now + self.costs.signal
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::FlowId;

    fn backend() -> Backend {
        let costs = BackendCosts {
            per_frame: Dur::from_ns(500),
            copy_ps_per_mib: 1 << 20, // 1 ps per byte
            dma: Dur::from_ns(100),
            wake_latency: Dur::from_ns(1000),
            wake_cpu: Dur::from_ns(300),
            signal: Dur::from_ns(50),
        };
        Backend::new(DevicePath::Virtio, CoreId(2), 1, costs)
    }

    fn frame(at_ns: u64, bytes: u32) -> Packet {
        let t = Time::ZERO + Dur::from_ns(at_ns);
        Packet { wire: t, origin: t, flow: FlowId(0), bytes, seq: 0, faulted: false }
    }

    /// An idle thread is woken (latency and CPU), a busy one takes the next
    /// frame when it is done with the last: a FIFO server, frames in order.
    #[test]
    fn the_thread_serves_in_order_waking_only_when_idle() {
        let mut b = backend();
        let ring = Dur::from_ns(10);
        let a = b.serve(frame(0, 1000), ring).unwrap();
        // ready 100, woken 1100, cost 500 + 1 ns copy + 300 wake = 801.
        assert_eq!(a.wire.0 + ring.0, Dur::from_ns(1100 + 801).0);
        let c = b.serve(frame(1, 1000), ring).unwrap();
        assert_eq!(c.wire.0 + ring.0, Dur::from_ns(1901 + 501).0, "queued behind the first");
        assert_eq!(b.counts.wakeups, 1);
        let d = b.serve(frame(10_000, 64), ring).unwrap();
        assert!(d.wire > c.wire && d.origin == frame(10_000, 64).origin);
        assert_eq!(b.counts.wakeups, 2, "idle again by then");
        assert_eq!(b.counts.frames, 3);
        assert_eq!(b.counts.copy_bytes, 2064);
    }

    /// A thread that lags fills the tap's queue, which then drops: frames
    /// served plus dropped are the frames received.
    #[test]
    fn a_lagging_thread_fills_the_tap_queue_which_then_drops() {
        let mut b = backend();
        let ring = Dur::from_ns(10);
        // Ten times faster than the thread serves them.
        let served = (0..2000u64).filter(|i| b.serve(frame(i * 50, 64), ring).is_some()).count() as u64;
        assert!(b.counts.dropped_backlog > 0);
        assert_eq!(served + b.counts.dropped_backlog, 2000);
        assert_eq!(b.counts.frames, served);
        assert!(served >= TAP_QUEUE_FRAMES as u64);
    }

    /// vhost asks for a kick only after finding the ring full, once, and a
    /// kick turns notifications off again.
    #[test]
    fn notifications_are_enabled_by_a_full_ring_and_disabled_by_the_kick() {
        let mut b = backend();
        assert!(!b.wants_kick(QueueId(0)));
        b.ring_full(QueueId(0));
        b.ring_full(QueueId(0));
        assert!(b.wants_kick(QueueId(0)));
        assert_eq!(b.counts.notify_enabled, 1);
        b.kicked(QueueId(0));
        assert!(!b.wants_kick(QueueId(0)));
        assert_eq!(b.counts.kicks_received, 1);
    }
}
