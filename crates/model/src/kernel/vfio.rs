//! A NIC bound to `vfio-pci` and driven from user space (`[vfio]`): the
//! host's side — the container's DMA maps and `vfio_msihandler` — and the
//! poll-mode driver's loop that the scheduler runs as an application thread
//! (workload/pmd.rs holds its state).
//!
//! * **Set-up** (`vfio_start`): the process maps each queue's descriptor
//!   ring and buffer area into the device's IOMMU domain
//!   (`VFIO_IOMMU_MAP_DMA`, pages pinned) and wires each queue's MSI-X
//!   vector to its driver thread's eventfd (`VFIO_DEVICE_SET_IRQS`). The
//!   IRQs themselves are the host's, requested at probe like any driver's
//!   (their affinity is `nic.affinity`).
//! * **Interrupt** (`vfio_msihandler`): the hard-IRQ handler only signals
//!   the eventfd (`eventfd_signal`) and, if the driver thread sleeps in
//!   `epoll_wait`, wakes it: both costs are charged to the CPU that takes
//!   the interrupt, in hard-IRQ context. MSI-X is edge-triggered, so the
//!   host neither masks nor acknowledges anything in the device.
//! * **Driver loop** (`pmd_burst`): one pass calls `rte_eth_rx_burst` on
//!   each owned queue; frames taken are the application's at once (the
//!   wire-to-application latency ends after its own per-packet work in the
//!   pass). With every ring empty the thread spins until the next frame is
//!   due (at most [`SPIN_QUANTUM`]), or — `interrupt` at once, `adaptive`
//!   after `idle_us` — enables its queues' interrupts (an MMIO write each)
//!   and sleeps in `epoll_wait`; woken, it reads the eventfd, disables them
//!   again and polls. Its CPU time is user time on its own core, charged to
//!   its cgroup, whose `cpu.max` may throttle it like any thread.

use super::cpu::{Ctx, Work};
use super::net_rx::DEVICE_LINES_PER_PACKET;
use super::{Cx, Kernel};
use crate::costs::Costs;
use crate::ids::{CpuId, QueueId, ThreadId};
use crate::workload::app::ThreadState;
use crate::workload::pmd::{PmdPhase, SPIN_QUANTUM};
use irqlab_engine::Dur;

/// Bytes of one RX descriptor ring entry the process maps.
const DESC_BYTES: u64 = crate::devices::nic::rx::RX_DESC_BYTES as u64;
/// Where the buggy driver's virtual addresses start: a process's heap in
/// the x86-64 user half (`0x7f…`), mapped in its page tables but in no
/// IOMMU mapping of its container.
const STRAY_VA_BASE: u64 = 0x7f00_0000_0000;
/// Page the type1 IOMMU driver pins by (4 KiB).
const PAGE: u64 = crate::config::PAGE_BYTES as u64;

impl Kernel {
    /// The process opens the VFIO container and device: maps every queue's
    /// ring and buffers, wires the vectors to the driver threads' eventfds,
    /// and starts its threads — pollers disable their queues' interrupts
    /// and run; the others sleep in `epoll_wait` with them enabled.
    pub(super) fn vfio_start(&mut self, cx: &mut Cx) {
        let Some(pci) = self.adapter.vfio.as_mut() else { return };
        let ring = self.dma.rx_iova.first().map_or(0, |r| r.len() as u64);
        let per_queue = (ring * DESC_BYTES).div_ceil(PAGE) + (ring * self.dma.rx_buffer_bytes).div_ceil(PAGE);
        let queues = pci.trigger.len() as u64;
        pci.counts.dma_maps += 2 * queues;
        pci.counts.pinned_pages += per_queue * queues;
        let nic = self.adapter.nic;
        let mut kick = Vec::new();
        for t in 0..self.threads.len() {
            let Some(pmd) = self.threads[t].pmd.as_ref() else { continue };
            if pmd.phase == PmdPhase::Sleeping {
                // It starts in epoll_wait, its queues' interrupts enabled at probe.
                if let Some(p) = self.threads[t].pmd.as_mut() {
                    p.counts.sleeps += 1;
                }
            } else {
                for q in &pmd.queues {
                    cx.nics[nic.idx()].disable_irq(*q, cx.sim);
                }
                let th = &mut self.threads[t];
                th.state = ThreadState::Runnable;
                self.cpus[th.cpu.idx()].runqueue.push_back(super::cpu::Task::App(ThreadId(t as u32)));
                kick.push(th.cpu);
            }
        }
        for cpu in kick {
            self.kick(cpu, cx);
        }
    }

    /// CPU time of `vfio_msihandler` for queue `q`: the eventfd signal, and
    /// the wakeup of a driver thread sleeping on it.
    pub(super) fn vfio_msihandler_cost(&self, q: QueueId, costs: &Costs) -> Dur {
        let sleeping = self.vfio_trigger(q).is_some_and(|t| self.threads[t.idx()].state == ThreadState::Blocked);
        costs.eventfd_signal + if sleeping { costs.wakeup } else { Dur::ZERO }
    }

    /// `vfio_msihandler`: signal queue `q`'s eventfd; wake its driver thread
    /// if it sleeps. Always handled.
    pub(super) fn vfio_msihandler(&mut self, cpu: CpuId, q: QueueId, cx: &mut Cx) -> bool {
        let Some(t) = self.vfio_trigger(q) else { return true };
        if let Some(pci) = self.adapter.vfio.as_mut() {
            pci.counts.irq_eventfd_signals += 1;
        }
        if cx.sim.faults.fire(crate::sim::Fault::EventfdSignalLost) {
            return true;
        }
        if let Some(pmd) = self.threads[t.idx()].pmd.as_mut() {
            pmd.eventfd += 1;
        }
        if self.threads[t.idx()].state == ThreadState::Blocked {
            self.wake_thread(t, cpu, cx);
        }
        true
    }

    /// The driver thread whose eventfd queue `q`'s vector signals.
    fn vfio_trigger(&self, q: QueueId) -> Option<ThreadId> {
        self.adapter.vfio.as_ref().and_then(|p| p.trigger.get(q.idx()).copied().flatten())
    }

    /// One pass of driver thread `t`'s loop on `cpu` (it has the CPU and
    /// its cgroup has quota left).
    pub(super) fn pmd_burst(&mut self, cpu: CpuId, t: ThreadId, cx: &mut Cx) {
        let now = cx.sim.now();
        let costs = cx.sim.costs;
        let nic = self.adapter.nic;
        let mut fixed = self.take_switch_cost(cpu, &costs);
        let mut pmd = self.threads[t.idx()].pmd.take().expect("a driver thread");
        if pmd.phase == PmdPhase::Sleeping {
            // epoll_wait returns; read(eventfd) takes the count; the
            // queues' interrupts are disabled again (EIMC) while it polls.
            fixed += costs.syscall.times(2) + costs.mmio_write.times(pmd.queues.len() as u64);
            pmd.counts.eventfd_consumed += std::mem::take(&mut pmd.eventfd);
            pmd.phase = PmdPhase::Polling;
            pmd.last_busy = now;
            for q in &pmd.queues {
                cx.nics[nic.idx()].disable_irq(*q, cx.sim);
            }
        }
        let remote = cx.platform.topo.socket_of(self.core(cpu)) != self.adapter.numa_node;
        let per_packet = costs.pmd_rx_per_packet
            + self.threads[t.idx()].work
            + if remote { costs.cache_transfer_cross_socket.times(DEVICE_LINES_PER_PACKET) } else { Dur::ZERO };
        let mut burst = std::mem::take(&mut self.threads[t.idx()].burst);
        // The frames of one call, in a buffer the thread keeps.
        let mut taken = std::mem::take(&mut pmd.taken);
        burst.clear();
        for qi in 0..pmd.queues.len() {
            let q = pmd.queues[qi];
            fixed += costs.pmd_rx_burst;
            pmd.counts.rx_bursts += 1;
            taken.clear();
            // The buffers go back to their descriptors and the tail moves.
            let first_slot = self.dma.rx_taken[q.idx()];
            let (n, refill) = self.rx_ring_take(cpu, q, pmd.burst as usize, &mut taken, cx);
            if n == 0 {
                pmd.counts.empty_bursts += 1;
                continue;
            }
            if remote {
                self.stats.nic_remote_packets += n as u64;
            }
            fixed += refill + costs.mmio_write;
            if pmd.bad_dma_every > 0 {
                let refilled = self.dma.rx_taken[q.idx()] - first_slot;
                self.pmd_rewrite_descriptors(q, first_slot, refilled, &mut pmd, cx);
            }
            self.stats.pmd_taken += taken.len() as u64;
            self.write_rx_tail(q, cx);
            burst.extend(taken.iter().map(|p| (*p, per_packet)));
        }
        pmd.taken = taken;
        let th = &mut self.threads[t.idx()];
        if !burst.is_empty() {
            pmd.last_busy = now;
            let cost = fixed + per_packet.times(burst.len() as u64);
            th.burst = burst;
            th.burst_prologue = fixed;
            th.pmd = Some(pmd);
            return self.push_frame(cpu, Ctx::User, Work::Recv { thread: t }, cost, cx);
        }
        th.burst = burst;
        if pmd.sleeps_at(now) {
            // Enable every queue's interrupt (EIMS), then epoll_wait.
            let cost = fixed + costs.mmio_write.times(pmd.queues.len() as u64) + costs.syscall;
            th.pmd = Some(pmd);
            return self.push_frame(cpu, Ctx::User, Work::PmdSleep { thread: t }, cost, cx);
        }
        // Spin until a frame is due, the idle time runs out, or a quantum ends.
        let mut until = now + SPIN_QUANTUM;
        if pmd.idle.0 != u64::MAX {
            until = until.min(pmd.last_busy + pmd.idle);
        }
        for q in &pmd.queues {
            until = until.min(cx.nics[nic.idx()].rx_next_landing(*q));
        }
        // At least a picosecond: with every cost set to zero a spin must
        // still let time pass.
        let spin = if until > now { until.since(now).max(fixed) } else { fixed }.max(Dur(1));
        th.pmd = Some(pmd);
        self.push_frame(cpu, Ctx::User, Work::PmdSpin { thread: t }, spin, cx);
    }

    /// A buggy driver (`vfio.bad_dma_every`): it writes each refilled
    /// descriptor again, and every Nth with the buffer's virtual address
    /// instead of its IOVA — outside every mapping of the container's
    /// domain, so the NIC's write of the next frame there faults. (The
    /// stores are the refill's, in `pmd_rx_per_packet_ns`.)
    fn pmd_rewrite_descriptors(
        &mut self,
        q: QueueId,
        first: u64,
        n: u64,
        pmd: &mut crate::workload::pmd::PmdThread,
        cx: &mut Cx,
    ) {
        let ring = self.dma.rx_iova[q.idx()].len() as u64;
        let now = cx.sim.now();
        for k in 0..n {
            let slot = (first + k) % ring;
            pmd.posted += 1;
            let good = self.dma.rx_iova[q.idx()][slot as usize];
            let iova = if pmd.posted.is_multiple_of(pmd.bad_dma_every as u64) {
                pmd.counts.bad_dma += 1;
                STRAY_VA_BASE + slot * self.dma.rx_buffer_bytes
            } else {
                good
            };
            let desc = crate::devices::nic::rx::rx_ring_iova(q.0) + slot * DESC_BYTES;
            cx.platform.memory.store(desc, iova, now);
        }
    }

    /// A spin ended: poll again, unless the slice is up for another task.
    pub(super) fn pmd_spin_done(&mut self, cpu: CpuId, t: ThreadId, ran: Dur, cx: &mut Cx) {
        let per_call = cx.sim.costs.pmd_rx_burst.as_ps().max(1);
        if let Some(p) = self.threads[t.idx()].pmd.as_mut() {
            p.counts.spin_ns += ran.as_ns();
            // Spinning is calling rte_eth_rx_burst on each queue in turn,
            // each call finding nothing.
            let calls = ran.as_ps() / per_call;
            p.counts.rx_bursts += calls;
            p.counts.empty_bursts += calls;
        }
        if self.slice_expired(cpu, cx.sim.now()) {
            self.yield_current(cpu);
        } else {
            self.recv_burst(cpu, t, cx);
        }
    }

    /// `epoll_wait` entered with the interrupts enabled: block, unless an
    /// eventfd was signalled meanwhile (it returns at once).
    pub(super) fn pmd_sleep_done(&mut self, cpu: CpuId, t: ThreadId, cx: &mut Cx) {
        let nic = self.adapter.nic;
        let Some(mut pmd) = self.threads[t.idx()].pmd.take() else { return };
        pmd.phase = PmdPhase::Sleeping;
        pmd.counts.sleeps += 1;
        for q in &pmd.queues {
            // A frame already waiting interrupts at once.
            let (dev, sim, platform) = cx.nic(nic);
            dev.enable_irq(*q, sim, platform);
        }
        let signalled = pmd.eventfd > 0;
        self.threads[t.idx()].pmd = Some(pmd);
        if signalled {
            return self.recv_burst(cpu, t, cx);
        }
        self.threads[t.idx()].state = ThreadState::Blocked;
        // Blocking switches away: the next task here pays a context switch.
        let run = &mut self.cpus[cpu.idx()];
        run.current = None;
        run.last_task = None;
    }

    /// Eventfd signals not yet read, over every driver thread.
    pub fn vfio_unread_signals(&self) -> u64 {
        self.threads.iter().filter_map(|t| t.pmd.as_ref()).map(|p| p.eventfd).sum()
    }

    /// Eventfd signals the driver threads' reads consumed.
    pub fn vfio_consumed_signals(&self) -> u64 {
        self.threads.iter().filter_map(|t| t.pmd.as_ref()).map(|p| p.counts.eventfd_consumed).sum()
    }
}
