//! The transmit path's kernel side: the sender thread's `sendmmsg`, the
//! driver's `ndo_start_xmit` writing descriptors and the tail doorbell, and
//! the TX clean-up (`*_clean_tx_irq`) that reclaims completed descriptors.
//!
//! * The sender is woken by its timer once per doorbell period. Given the
//!   CPU it sends one batch: a system call and the stack's per-packet work
//!   (`tx_per_packet_ns`), then each descriptor as two 64-bit stores into
//!   the ring in host memory (hw::txdesc; the last descriptor has RS), the
//!   barrier, and the doorbell — an MMIO store of the new tail. The stores
//!   go through the CPU's store buffer (memory/store_buffer.rs), which
//!   decides when each becomes visible to the NIC, under the scenario's
//!   memory model, barrier and doorbell memory type; the doorbell reaches
//!   the NIC `mmio_flight_ns` after it leaves the CPU. The batch's CPU frame
//!   lasts until the doorbell has issued (a `dsb st` stall included); its
//!   stores are timed as if the frame ran without preemption.
//! * A full ring makes the sender wait until the clean-up frees room
//!   (`netif_stop_queue` / `netif_wake_queue`).
//! * The clean-up reads the descriptors' DD bits in host memory and frees
//!   every descriptor up to the last completed RS one of this lap (a
//!   descriptor still holding the previous lap's generation bit is not
//!   complete, whatever its old DD says). With `txrx` vectors
//!   it runs at the start of the paired RX queue's NAPI poll (ixgbe_poll);
//!   with `separate` vectors the TX vector's handler masks it and schedules
//!   the TX queue's own NAPI instance, whose poll cleans and re-enables it.

use super::cpu::{Ctx, Task, Work};
use super::sender::SenderState;
use super::{Cx, Kernel};
use crate::devices::nic::tx::tx_desc_iova;
use crate::ids::CpuId;
use crate::platform::memory::tx_buffer_phys;
use crate::sim::{Event, Fault, KernelEvent};
use irqlab_engine::{Dur, Time};
use irqlab_hw::txdesc::{TxDesc, field, generation_for};

impl Kernel {
    /// Arms the sender's first timer.
    pub(super) fn start_sender(&mut self, cx: &mut Cx) {
        if let Some(s) = &self.sender {
            let at = Time::ZERO + s.interval;
            self.at(cx, at, KernelEvent::SendTimer);
        }
    }

    /// The sender's timer: one more batch is due; wake it if it waits.
    pub(super) fn send_timer(&mut self, cx: &mut Cx) {
        let Some(s) = self.sender.as_mut() else { return };
        s.pending += 1;
        let next = cx.sim.now() + s.interval;
        let cpu = s.cpu;
        let idle = s.state == SenderState::Idle;
        self.at(cx, next, KernelEvent::SendTimer);
        if idle {
            self.make_sender_runnable(cpu, cx);
        }
    }

    fn make_sender_runnable(&mut self, cpu: CpuId, cx: &mut Cx) {
        if let Some(s) = self.sender.as_mut() {
            s.state = SenderState::Runnable;
        }
        self.cpus[cpu.idx()].runqueue.push_back(Task::Sender);
        self.kick(cpu, cx);
    }

    /// The sender has the CPU: send one batch, or wait.
    pub(super) fn send_burst(&mut self, cpu: CpuId, cx: &mut Cx) {
        let c = cpu.idx();
        let Some(s) = self.sender.as_mut() else { return };
        let wait = if s.pending == 0 {
            Some(SenderState::Idle)
        } else if !s.has_room() {
            s.counts.ring_full_waits += 1;
            Some(SenderState::RingFull)
        } else {
            None
        };
        if let Some(state) = wait {
            s.state = state;
            self.cpus[c].current = None;
            self.cpus[c].last_task = None;
            return;
        }
        s.state = SenderState::Running;
        let costs = cx.sim.costs;
        let mem = costs.memory;
        let now = cx.sim.now();
        let switch = if std::mem::take(&mut self.cpus[c].switch_due) { costs.context_switch } else { Dur::ZERO };
        let (ring, batch, first) = {
            let s = self.sender.as_ref().expect("checked above");
            (s.ring_size, s.batch, s.posted)
        };
        let mut t = now + switch + costs.syscall + costs.tx_per_packet.times(batch as u64) + self.send_payload(cx);
        // dma_map_single of each frame's buffer (a cost only through a
        // translating IOMMU).
        for idx in first..first + batch as u64 {
            let (iova, c) = self.map_single(cpu, tx_buffer_phys(idx), t, cx);
            t += c;
            self.dma.tx_iova[(idx % ring as u64) as usize] = iova;
        }
        let s = self.sender.as_mut().expect("checked above");
        for k in 0..s.batch {
            let idx = s.posted;
            let slot = idx % ring as u64;
            let buffer = self.dma.tx_iova[slot as usize];
            let rs = k + 1 == s.batch;
            let desc = TxDesc::for_frame(buffer, s.frame_bytes, rs, generation_for(idx, ring));
            for (w, value) in desc.to_words().into_iter().enumerate() {
                let addr = tx_desc_iova(0, slot, w);
                let previous = cx.platform.memory.visible_at(addr);
                let visible = s.store_buffer.store_wb(t, previous);
                cx.platform.memory.store(addr, value, visible);
                t += mem.descriptor_write;
            }
            s.posted += 1;
        }
        s.counts.descriptors_posted += s.batch as u64;
        s.counts.doorbells += 1;
        let t = s.store_buffer.barrier(t);
        let visible = s.store_buffer.doorbell(t);
        let tail = s.posted;
        let nic = self.adapter.nic;
        if !cx.sim.faults.fire(Fault::DoorbellLost) {
            cx.sim.at(visible + mem.mmio_flight, Event::TxDoorbell { nic, queue: 0, tail });
        }
        let cost = (t + mem.mmio_write_issue).since(now);
        self.push_frame(cpu, Ctx::User, Work::Send, cost, cx);
    }

    /// CPU time of handing one send's payload to the kernel: a copy, or
    /// with `MSG_ZEROCOPY` the pinning of its pages after reading the
    /// completions waiting on the error queue (one `recvmsg(MSG_ERRQUEUE)`
    /// per notification, and one that finds the queue empty; each pays a
    /// `recvmsg`'s per-call part, `recvmsg_call_ns`: a notification is no
    /// datagram of the receive queue).
    fn send_payload(&mut self, cx: &mut Cx) -> Dur {
        let costs = cx.sim.costs;
        let Some(s) = self.sender.as_mut() else { return Dur::ZERO };
        let bytes = s.send_bytes();
        if !s.zerocopy {
            s.counts.copied_sends += 1;
            let copy = costs.copy_cached(bytes);
            self.stats.copy_bytes += bytes as u64;
            self.stats.copy_ps += copy.as_ps();
            return copy;
        }
        s.counts.zerocopy_sends += 1;
        let pages = bytes.div_ceil(crate::config::PAGE_BYTES) as u64;
        s.counts.pages_pinned += pages;
        let mut cost = costs.page_pin.times(pages);
        if !s.errqueue.is_empty() {
            let n = s.errqueue.len() as u64;
            s.counts.errqueue_reads += n + 1;
            s.counts.completions_read += s.unread_completions();
            s.errqueue.clear();
            cost += costs.recvmsg_call.times(n + 1);
        }
        cost
    }

    /// The TX clean-up freed descriptors `from..to`: every zero-copy send
    /// whose last descriptor is among them completes (`msg_zerocopy_callback`),
    /// extending the unread notification's range or queueing a new one.
    /// Returns the CPU time.
    fn zerocopy_complete(&mut self, from: u64, to: u64, cx: &mut Cx) -> Dur {
        let Some(s) = self.sender.as_mut().filter(|s| s.zerocopy) else { return Dur::ZERO };
        let batch = s.batch as u64;
        let (first, last) = (from / batch, to / batch);
        for id in first..last {
            s.counts.zerocopy_completions += 1;
            if cx.sim.faults.fire(Fault::LoseZerocopyNotification) {
                continue;
            }
            match s.errqueue.last_mut() {
                Some((_, hi)) if *hi + 1 == id => *hi = id,
                _ => {
                    s.counts.notifications += 1;
                    s.errqueue.push((id, id));
                }
            }
        }
        cx.sim.costs.zerocopy_notify.times(last - first)
    }

    /// The sender's batch frame ended: go on, or yield.
    pub(super) fn send_done(&mut self, cpu: CpuId, cx: &mut Cx) {
        if let Some(s) = self.sender.as_mut() {
            s.pending -= 1;
        }
        if self.slice_expired(cpu, cx.sim.now()) {
            self.yield_current(cpu);
        } else {
            self.send_burst(cpu, cx);
        }
    }

    /// The TX clean-up on `cpu`: reclaims every descriptor up to the last
    /// RS one whose DD is visible, wakes a sender waiting for room, and
    /// returns its CPU time.
    pub(super) fn tx_clean(&mut self, cpu: CpuId, cx: &mut Cx) -> Dur {
        let now = cx.sim.now();
        let Some(s) = self.sender.as_mut() else { return Dur::ZERO };
        let ring = s.ring_size as u64;
        let before = s.freed;
        let mut idx = s.freed;
        while idx < s.posted {
            let addr = tx_desc_iova(0, idx % ring, field::WORD_CTRL);
            let (ctrl, _) = cx.platform.memory.sample(addr, now);
            let addr0 = tx_desc_iova(0, idx % ring, field::WORD_ADDR);
            let (word0, _) = cx.platform.memory.sample(addr0, now);
            match TxDesc::from_words([word0, ctrl]) {
                // Still the previous lap's descriptor in memory (this lap's
                // store is not visible yet, so no write-back can follow it):
                // not complete — its DD is the old lap's.
                Ok(d) if d.generation != generation_for(idx, ring as u32) => break,
                Ok(d) if d.rs() && d.dd() => s.freed = idx + 1,
                Ok(d) if d.rs() => break,
                _ => {}
            }
            idx += 1;
        }
        let cleaned = s.freed - before;
        s.counts.cleaned += cleaned;
        let freed = s.freed;
        // dma_unmap_single of each reclaimed frame's buffer.
        let mut unmap = Dur::ZERO;
        for idx in before..freed {
            let iova = self.dma.tx_iova[(idx % ring) as usize];
            unmap += self.unmap_single(cpu, iova, now + unmap, cx);
        }
        let unmap = unmap + self.zerocopy_complete(before, freed, cx);
        let Some(s) = self.sender.as_mut() else { return unmap };
        if s.state == SenderState::RingFull && s.has_room() {
            let scpu = s.cpu;
            s.state = SenderState::Runnable;
            if scpu != cpu && self.cpus[scpu.idx()].is_idle() {
                let at = now + cx.sim.costs.wakeup_cross_core_latency;
                self.at(cx, at, KernelEvent::SenderWake);
            } else {
                self.cpus[scpu.idx()].runqueue.push_back(Task::Sender);
            }
        }
        cx.sim.costs.tx_clean_per_packet.times(cleaned) + unmap
    }

    /// A cross-CPU wakeup of the sender arrived.
    pub(super) fn sender_wake(&mut self, cx: &mut Cx) {
        let Some(s) = self.sender.as_ref() else { return };
        let cpu = s.cpu;
        self.cpus[cpu.idx()].runqueue.push_back(Task::Sender);
        self.kick(cpu, cx);
    }
}
