//! A kernel running as a VM's guest (`[vm]`): its CPUs are vCPUs pinned one
//! to one on host cores, and between it and each core's physical local APIC
//! sits the host (KVM) — exits, injection, posted interrupts, HLT and
//! wakeups (state in virt.rs; formats in hw::vapic, hw::vtd::pid, hw::vmx).
//!
//! * **A physical interrupt on a vCPU's core** is the host's:
//!   - `POSTED_INTR_VECTOR` while the vCPU is in guest mode is consumed by
//!     the processor: the descriptor's PIR moves into the virtual APIC, no
//!     exit (posted-interrupt processing);
//!   - anything else exits (`external_interrupt`) if the vCPU was in guest
//!     mode: the host handles it — for an assigned device's MSI, VFIO
//!     forwards it through an irqfd and KVM injects the guest vector
//!     (emulated: into the virtual IRR, delivered by event injection at
//!     entry; APICv: posted in software, moved into the virtual APIC at
//!     entry) — then enters the guest again;
//!   - for a halted vCPU it wakes the vCPU's thread instead (the wakeup
//!     vector 0xf1 with posted interrupts, the device's own vector
//!     otherwise), which enters the guest.
//! * **The guest** takes interrupts from its virtual APIC (virtual-interrupt
//!   delivery); its EOI is virtualized, or with an emulated APIC exits
//!   (`msr_write`, the x2APIC EOI register).
//! * **Idle**: a vCPU with nothing to run executes HLT, which exits (`hlt`)
//!   and blocks its thread; with posted interrupts KVM switches the
//!   descriptor's notification to the wakeup vector (`vmx_vcpu_pi_put`) and
//!   back when the vCPU is loaded again (`vmx_vcpu_pi_load`).
//!
//! Host work on the guest's behalf runs as `Ctx::Vmm` frames on the vCPU's
//! core (interrupts disabled); the guest's own frames are paused meanwhile.

use super::cpu::{Ctx, Work};
use super::{Cx, Kernel};
use crate::config::{ApicMode, DevicePath};
use crate::ids::{CpuId, QueueId};
use crate::sim::KernelEvent;
use crate::virt::VcpuMode;
use irqlab_engine::{Dur, Time};
use irqlab_hw::vapic::VirtualEoi;
use irqlab_hw::vmx::ExitReason;
use irqlab_hw::vtd::pid::{POSTED_INTR_VECTOR, POSTED_INTR_WAKEUP_VECTOR, PostedInterruptDescriptor};

/// The pseudo-vector of a wakeup the guest itself caused (a thread made
/// runnable on a halted vCPU): KVM kicks the vCPU's thread.
const KICK: u8 = 0;

/// Linux `RESCHEDULE_VECTOR`: KVM kicks a vCPU's core with it
/// (`kvm_vcpu_kick`), making a running vCPU exit or a halted one wake.
pub const RESCHEDULE_VECTOR: u8 = 0xfd;

/// Whether a physical vector on a vCPU's core is one of the host's own
/// (not an assigned device's, forwarded to the guest).
fn host_vector(v: u8) -> bool {
    matches!(v, POSTED_INTR_VECTOR | POSTED_INTR_WAKEUP_VECTOR | RESCHEDULE_VECTOR | KICK)
}

/// A guest driver's access to its NIC that may exit ([`Kernel::device_access`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum DeviceAccess {
    /// The RX refill's notification (the RX tail write; virtio's kick).
    RxTail(QueueId),
    /// Masking a queue's interrupt (EIMC; virtio's `virtqueue_disable_cb`).
    Mask,
    /// Unmasking it (EIMS; virtio's `virtqueue_enable_cb`).
    Unmask,
}

/// What [`Kernel::vmm_take`] found on the physical local APIC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum VmmTake {
    /// Nothing pending (or the host is busy already).
    Nothing,
    /// The host started a frame.
    Started,
    /// The processor consumed a posted-interrupt notification, costing this.
    Inline(Dur),
}

impl Kernel {
    /// Boot of a guest: each vCPU's posted-interrupt descriptor in host
    /// memory, notifying `POSTED_INTR_VECTOR` at its core.
    pub(super) fn guest_boot(&mut self, cx: &mut Cx) {
        let Some(v) = self.virt.as_ref() else { return };
        // The competing host threads' first turns, spread over one period.
        if v.host_slice > Dur::ZERO {
            let (n, period) = (v.vcpus.len() as u64, v.host_slice.0 + v.host_gap.0);
            for c in 0..v.vcpus.len() {
                let at = Time::ZERO + Dur(period * (c as u64 + 1) / (n + 1));
                self.at(cx, at, KernelEvent::HostTask { cpu: CpuId(c as u32) });
            }
        }
        let Some(v) = self.virt.as_ref() else { return };
        for (c, vcpu) in v.vcpus.iter().enumerate() {
            let apic = cx.platform.topo.apic_id(self.cores[c]);
            let pid = PostedInterruptDescriptor::new(POSTED_INTR_VECTOR, apic, false);
            cx.platform.memory.alloc_plain(vcpu.pid, 64);
            for (i, w) in pid.encode().into_iter().enumerate() {
                cx.platform.memory.store(vcpu.pid + 8 * i as u64, w, Time::ZERO);
            }
        }
    }

    /// Updates vCPU `cpu`'s descriptor.
    fn with_vcpu_pid<R>(&self, cpu: CpuId, cx: &mut Cx, f: impl FnOnce(&mut PostedInterruptDescriptor) -> R) -> R {
        let pda = self.virt.as_ref().expect("a guest").vcpus[cpu.idx()].pid;
        let now = cx.sim.now();
        cx.platform.memory.update_pid(pda, now, f)
    }

    /// The vCPU's mode.
    fn vcpu_mode(&self, cpu: CpuId) -> VcpuMode {
        self.virt.as_ref().map_or(VcpuMode::Guest, |v| v.vcpus[cpu.idx()].mode)
    }

    /// `kick` of a guest CPU: only a vCPU in guest mode runs the guest; a
    /// halted one is woken by a physical interrupt or by guest work made
    /// runnable on it; an exited one waits for its entry.
    pub(super) fn guest_kick(&mut self, cpu: CpuId, cx: &mut Cx) {
        let c = cpu.idx();
        match self.vcpu_mode(cpu) {
            VcpuMode::Host => {
                if matches!(self.cpus[c].top(), Some(f) if f.work == Work::HaltPoll) {
                    self.poll_check(cpu, cx);
                    return;
                }
                if let Some(done) = self.cpus[c].resume(cx.sim.now()) {
                    self.schedule_cpu(cpu, done, cx);
                }
            }
            VcpuMode::Preempted if self.vcpu_shared(cpu) => {
                // Another vCPU holds the core: its local APIC is that
                // vCPU's (or the host's); this one waits on the run queue.
                if let Some(done) = self.cpus[c].resume(cx.sim.now()) {
                    self.schedule_cpu(cpu, done, cx);
                }
            }
            VcpuMode::Halted if self.vcpu_shared(cpu) => {
                // Guest work made runnable on the halted vCPU: KVM wakes
                // its thread (`kvm_vcpu_kick`), which queues for the core.
                if !self.cpus[c].runqueue.is_empty() || self.softnet[c].pending {
                    self.kvm_wake(cpu, Dur::ZERO, cx);
                }
            }
            VcpuMode::Preempted => {
                // The host takes what reaches the core (interrupts preempt
                // the competing thread briefly) and forwards the device's
                // vectors; the vCPU gets them when it runs again.
                let core = self.core(cpu);
                while let Some(vector) = cx.platform.lapic_ack(core) {
                    cx.platform.lapic_eoi(core, cx.sim);
                    self.virt.as_mut().expect("a guest").counts.physical_taken += 1;
                    if !host_vector(vector) {
                        self.forward(cpu, vector, cx);
                    }
                }
                if let Some(done) = self.cpus[c].resume(cx.sim.now()) {
                    self.schedule_cpu(cpu, done, cx);
                }
            }
            VcpuMode::Halted => {
                if self.vmm_take(cpu, cx) == VmmTake::Started {
                    return;
                }
                if !self.cpus[c].runqueue.is_empty() || self.softnet[c].pending {
                    self.vmm_start(cpu, KICK, cx);
                }
            }
            VcpuMode::Guest => {
                self.kick_inner(cpu, cx);
                self.tlb_idle(cpu);
                let run = &self.cpus[c];
                if self.vcpu_mode(cpu) == VcpuMode::Guest && run.is_idle() && run.runqueue.is_empty() {
                    self.hlt_exit(cpu, cx);
                }
            }
        }
    }

    /// Takes a physical interrupt pending on the vCPU's core, if any: the
    /// host starts a frame (`Started`: the guest waits), or the processor
    /// consumed a posted-interrupt notification in guest mode (`Inline`,
    /// with its cost, which the guest's next interrupt frame carries).
    pub(super) fn vmm_take(&mut self, cpu: CpuId, cx: &mut Cx) -> VmmTake {
        let c = cpu.idx();
        if matches!(self.cpus[c].top(), Some(f) if f.ctx == Ctx::Vmm) {
            return VmmTake::Nothing;
        }
        let core = self.core(cpu);
        let Some(vector) = cx.platform.lapic_ack(core) else { return VmmTake::Nothing };
        let v = self.virt.as_mut().expect("a guest");
        v.counts.physical_taken += 1;
        if vector == POSTED_INTR_VECTOR && v.vcpus[c].mode == VcpuMode::Guest {
            // Posted-interrupt processing: ON cleared, the EOI written,
            // PIR into the virtual IRR — in the processor, no exit.
            v.counts.notifications_in_guest += 1;
            v.vcpus[c].notifications += 1;
            cx.platform.lapic_eoi(core, cx.sim);
            self.sync_pir(cpu, cx);
            return VmmTake::Inline(cx.sim.costs.posted_processing);
        }
        self.vmm_start(cpu, vector, cx);
        VmmTake::Started
    }

    /// The host starts handling `vector` on the vCPU's core: an exit from
    /// guest mode, or a wakeup of the halted vCPU.
    fn vmm_start(&mut self, cpu: CpuId, vector: u8, cx: &mut Cx) {
        let c = cpu.idx();
        let costs = cx.sim.costs;
        let v = self.virt.as_mut().expect("a guest");
        let forward = if host_vector(vector) { Dur::ZERO } else { costs.vfio_inject };
        let cost = match v.vcpus[c].mode {
            VcpuMode::Guest => {
                let cost = costs.vm_exit + costs.vm_extint_handling + forward;
                v.exit(c, ExitReason::ExternalInterrupt, cost);
                cost
            }
            // Halted: the idle core takes a host interrupt, the handler
            // wakes the vCPU's thread, which enters the guest — after the
            // competing thread's turn, if it is running (the woken thread
            // queues behind it).
            _ => {
                let behind = v.vcpus[c].host_busy_until.since(cx.sim.now());
                if behind > Dur::ZERO {
                    v.counts.wakeups_behind_host += 1;
                    v.vcpus[c].wait_behind_host += behind;
                }
                costs.irq_entry_exit + forward + costs.vcpu_wakeup + Dur(costs.vm_exit.0 / 2) + behind
            }
        };
        let now = cx.sim.now();
        v.vcpus[c].wake_pending = false;
        if let Some(since) = v.vcpus[c].halted_since.take() {
            v.vcpus[c].halted += now.since(since);
            v.vcpus[c].wakeups += 1;
            v.counts.wakeups += 1;
        }
        if let Some(start) = v.vcpus[c].halt_start.take() {
            v.adjust_poll(c, now.since(start));
        }
        let v = self.virt.as_mut().expect("a guest");
        v.vcpus[c].mode = VcpuMode::Host;
        self.cpus[c].pause(now);
        self.push_frame(cpu, Ctx::Vmm, Work::Vmm { vector }, cost, cx);
    }

    /// The host's frame for `vector` ended: EOI, injection, then VM entry.
    pub(super) fn vmm_done(&mut self, cpu: CpuId, vector: u8, cx: &mut Cx) {
        if vector != KICK {
            let core = self.core(cpu);
            cx.platform.lapic_eoi(core, cx.sim);
        }
        if !host_vector(vector) {
            self.forward(cpu, vector, cx);
        }
        self.vm_entry(cpu, cx);
    }

    /// VFIO → irqfd → KVM: the guest vector (the host vector was chosen
    /// equal to it when the guest programmed its MSI-X entry) into the
    /// virtual IRR (emulated APIC) or posted in software (APICv).
    ///
    /// A VM whose vCPUs share cores without posting has host vectors of
    /// its own: the host maps the vector back to its VM and the guest's
    /// vector; one of another VM (its vCPU on this core is scheduled out
    /// or halted) goes to that VM's KVM ([`Kernel::vfio_irq`]).
    fn forward(&mut self, cpu: CpuId, vector: u8, cx: &mut Cx) {
        let vector = match cx.platform.vfio_vectors.get(&vector).copied() {
            Some((k, guest)) if k == self.id => guest,
            Some((k, guest)) => {
                self.virt.as_mut().expect("a guest").counts.vfio_passed += 1;
                return self.vfio_pass(cpu, k, guest, cx);
            }
            None => vector,
        };
        self.virt.as_mut().expect("a guest").counts.injections += 1;
        self.set_pending(cpu, vector, cx);
    }

    /// KVM makes `vector` pending for the vCPU without delivering it: in
    /// the virtual IRR (emulated APIC) or posted in software into its PIR
    /// (APICv, posted); the next VM entry takes it.
    fn set_pending(&mut self, cpu: CpuId, vector: u8, cx: &mut Cx) {
        let v = self.virt.as_mut().expect("a guest");
        if v.apic == ApicMode::Emulated {
            v.vcpus[cpu.idx()].vapic.request(vector);
        } else {
            let out = self.with_vcpu_pid(cpu, cx, |pid| pid.post_software(vector));
            let v = self.virt.as_mut().expect("a guest");
            v.counts.software_posted += 1;
            v.counts.software_merged += out.merged as u64;
        }
    }

    /// VM entry: KVM loads the vCPU's descriptor (posted interrupts) and
    /// moves its PIR into the virtual APIC (`vmx_sync_pir_to_irr`).
    fn vm_entry(&mut self, cpu: CpuId, cx: &mut Cx) {
        let c = cpu.idx();
        if self.virt.as_ref().expect("a guest").vcpus[c].need_resched {
            // The host scheduler wants the core: KVM calls schedule()
            // instead of entering (`xfer_to_guest_mode_work`).
            self.vcpu_schedule_out(cpu, cx);
            return;
        }
        // Posted-interrupt vectors that reached the core while the host
        // worked (interrupts enabled there) were handled by it before the
        // entry: `kvm_posted_intr_ipi` does nothing, a wakeup finds the
        // vCPU awake; their requests are in the PIR, synced below.
        let core = self.core(cpu);
        while cx.platform.lapic_pending(core).is_some_and(|p| p == POSTED_INTR_VECTOR || p == POSTED_INTR_WAKEUP_VECTOR)
        {
            cx.platform.lapic_ack(core);
            cx.platform.lapic_eoi(core, cx.sim);
            self.virt.as_mut().expect("a guest").counts.physical_taken += 1;
        }
        let apic = self.virt.as_ref().expect("a guest").apic;
        if apic == ApicMode::Posted {
            // vmx_vcpu_pi_load: NDST follows a vCPU loaded on another core
            // than its last (a floating vCPU that migrated).
            let core_apic = cx.platform.topo.apic_id(self.core(cpu));
            let moved = self.with_vcpu_pid(cpu, cx, |pid| {
                let ndst = pid.ndst;
                pid.kvm_vcpu_load(core_apic, false);
                pid.ndst != ndst
            });
            if moved {
                self.virt.as_mut().expect("a guest").vcpus[c].ndst_updates += 1;
            }
        }
        if apic != ApicMode::Emulated {
            self.sync_pir(cpu, cx);
        }
        let v = self.virt.as_mut().expect("a guest");
        v.vcpus[c].mode = VcpuMode::Guest;
        if std::mem::take(&mut v.vcpus[c].launch_due) {
            return; // VMLAUNCH: the first entry follows no exit
        }
        if !cx.sim.faults.fire(crate::sim::Fault::EntryUncounted) {
            v.counts.entries += 1;
        }
    }

    /// PIR into the virtual APIC (the processor's posted-interrupt
    /// processing, or KVM's sync at entry).
    fn sync_pir(&mut self, cpu: CpuId, cx: &mut Cx) {
        let c = cpu.idx();
        let mut vapic = std::mem::take(&mut self.virt.as_mut().expect("a guest").vcpus[c].vapic);
        let moved = self.with_vcpu_pid(cpu, cx, |pid| vapic.process_posted(pid));
        let v = self.virt.as_mut().expect("a guest");
        v.counts.pir_taken += moved.len() as u64;
        v.vcpus[c].vapic = vapic;
    }

    /// The idle vCPU executes HLT: an exit; its thread blocks.
    fn hlt_exit(&mut self, cpu: CpuId, cx: &mut Cx) {
        let c = cpu.idx();
        let costs = cx.sim.costs;
        let now = cx.sim.now();
        let v = self.virt.as_mut().expect("a guest");
        v.vcpus[c].halt_start = Some(now);
        // With halt polling the block's context switch comes only if the
        // poll finds nothing (`Work::Block`).
        let block = if v.halt_poll_max > Dur::ZERO { Dur::ZERO } else { costs.context_switch };
        let cost = Dur(costs.vm_exit.0 / 2) + block;
        v.exit(c, ExitReason::Hlt, cost);
        v.vcpus[c].mode = VcpuMode::Host;
        self.push_frame(cpu, Ctx::Vmm, Work::Hlt, cost, cx);
    }

    /// The HLT exit's frame ended: the vCPU enters again (an interrupt
    /// came meanwhile), polls, or blocks.
    pub(super) fn hlt_done(&mut self, cpu: CpuId, cx: &mut Cx) {
        let c = cpu.idx();
        let now = cx.sim.now();
        // kvm_vcpu_check_block: an interrupt that arrived meanwhile (in the
        // virtual IRR, or posted in the PIR) keeps the vCPU from blocking.
        let pir = self.with_vcpu_pid(cpu, cx, |pid| pid.pir != [0; 4]);
        let virr = !self.virt.as_ref().expect("a guest").vcpus[c].vapic.virr.is_empty();
        if pir || virr {
            let v = self.virt.as_mut().expect("a guest");
            if let Some(start) = v.vcpus[c].halt_start.take() {
                v.adjust_poll(c, now.since(start));
            }
            self.vm_entry(cpu, cx);
            return;
        }
        let v = self.virt.as_ref().expect("a guest");
        // No polling while the competing thread is runnable (its turn).
        let alone = v.vcpus[c].host_busy_until <= now;
        if v.halt_poll_max > Dur::ZERO {
            // kvm_vcpu_halt: poll for the current window, then block.
            let poll = v.vcpus[c].poll;
            if poll > Dur::ZERO && alone {
                self.push_frame(cpu, Ctx::Vmm, Work::HaltPoll, poll, cx);
            } else {
                let cost = cx.sim.costs.context_switch;
                self.push_frame(cpu, Ctx::Vmm, Work::Block, cost, cx);
            }
            return;
        }
        self.block_done(cpu, cx);
    }

    /// A polling vCPU's core got a physical interrupt: the host handles it
    /// (interrupts are enabled while KVM polls); if the vCPU now has one
    /// pending, the poll ends.
    fn poll_check(&mut self, cpu: CpuId, cx: &mut Cx) {
        let (c, core) = (cpu.idx(), self.core(cpu));
        while let Some(vector) = cx.platform.lapic_ack(core) {
            cx.platform.lapic_eoi(core, cx.sim);
            let v = self.virt.as_mut().expect("a guest");
            v.counts.physical_taken += 1;
            if !host_vector(vector) {
                self.forward(cpu, vector, cx);
            }
        }
        let pir = self.with_vcpu_pid(cpu, cx, |pid| pid.pir != [0; 4]);
        let virr = !self.virt.as_ref().expect("a guest").vcpus[c].vapic.virr.is_empty();
        if (pir || virr)
            && let Some(done) = self.cpus[c].cut_short(cx.sim.now(), Work::HaltPoll)
        {
            self.schedule_cpu(cpu, done, cx);
        }
    }

    /// The poll ended: an interrupt came (enter again, no block) or the
    /// window ran out (block).
    pub(super) fn halt_poll_done(&mut self, cpu: CpuId, polled: Dur, cx: &mut Cx) {
        let c = cpu.idx();
        let now = cx.sim.now();
        self.virt.as_mut().expect("a guest").counts.poll_ps += polled.as_ps();
        let pir = self.with_vcpu_pid(cpu, cx, |pid| pid.pir != [0; 4]);
        let v = self.virt.as_mut().expect("a guest");
        let start = v.vcpus[c].halt_start.unwrap_or(now);
        if pir || !v.vcpus[c].vapic.virr.is_empty() {
            v.counts.polls_successful += 1;
            v.vcpus[c].halt_start = None;
            v.adjust_poll(c, now.since(start));
            // Back from kvm_vcpu_halt into the guest: the entry half of an
            // exit's round trip (no wakeup, no context switch).
            let entry = Dur(cx.sim.costs.vm_exit.0 / 2);
            self.push_frame(cpu, Ctx::Vmm, Work::Vmm { vector: KICK }, entry, cx);
        } else {
            v.counts.polls_failed += 1;
            let cost = cx.sim.costs.context_switch;
            self.push_frame(cpu, Ctx::Vmm, Work::Block, cost, cx);
        }
    }

    /// The vCPU's thread blocks: with posted interrupts its descriptor now
    /// notifies the wakeup vector.
    pub(super) fn block_done(&mut self, cpu: CpuId, cx: &mut Cx) {
        let c = cpu.idx();
        let now = cx.sim.now();
        let apic = self.virt.as_ref().expect("a guest").apic;
        let mut self_ipi = false;
        if apic == ApicMode::Posted {
            self_ipi = self.with_vcpu_pid(cpu, cx, |pid| pid.kvm_vcpu_put(true, false).self_wakeup_ipi);
        }
        let v = self.virt.as_mut().expect("a guest");
        v.vcpus[c].mode = VcpuMode::Halted;
        v.vcpus[c].halted_since = Some(now);
        if v.vcpus[c].shared {
            // The blocked thread leaves the core to the run queue.
            v.vcpus[c].need_resched = false;
            self.vcpu_yield(cpu, false, cx);
        }
        if self_ipi {
            // `__apic_send_IPI_self(POSTED_INTR_WAKEUP_VECTOR)`: the next
            // kick of this core takes it and wakes the vCPU.
            cx.platform.self_ipi(self.core(cpu), POSTED_INTR_WAKEUP_VECTOR);
            self.stats.ipis.sent += 1;
            self.stats.ipis.kvm += 1;
        }
    }

    /// The competing host thread's turn begins on the vCPU's core. A
    /// running vCPU is preempted: the host's tick exits it, KVM puts it
    /// (`kvm_vcpu_put(preempted)`: SN set, so posted requests gather in the
    /// PIR without notifications), the thread runs its slice, and the vCPU
    /// is loaded again and enters. A halted vCPU's idle core just runs the
    /// thread (a wakeup meanwhile waits for the turn's end). A vCPU in the
    /// host already (an exit, a halt poll) finishes that first: this turn
    /// is skipped, a simplification.
    pub(super) fn host_task(&mut self, cpu: CpuId, cx: &mut Cx) {
        let c = cpu.idx();
        let now = cx.sim.now();
        let costs = cx.sim.costs;
        let v = self.virt.as_mut().expect("a guest");
        let (slice, gap) = (v.host_slice, v.host_gap);
        self.at(cx, now + slice + gap, KernelEvent::HostTask { cpu });
        let v = self.virt.as_mut().expect("a guest");
        match v.vcpus[c].mode {
            VcpuMode::Guest => {
                let switches = costs.vm_exit + costs.context_switch.times(2);
                v.exit(c, ExitReason::ExternalInterrupt, switches);
                v.counts.preemptions += 1;
                v.vcpus[c].preemptions += 1;
                v.vcpus[c].mode = VcpuMode::Preempted;
                v.vcpus[c].host_busy_until = now + slice;
                if v.apic == ApicMode::Posted {
                    self.with_vcpu_pid(cpu, cx, |pid| pid.kvm_vcpu_put(false, true));
                }
                self.cpus[c].pause(now);
                self.push_frame(cpu, Ctx::Vmm, Work::Preempted, switches + slice, cx);
            }
            VcpuMode::Halted => v.vcpus[c].host_busy_until = now + slice,
            VcpuMode::Host => {
                // KVM polls only while its thread is alone on the core
                // (`kvm_vcpu_can_poll`: `single_task_running()`): a runnable
                // competitor ends the poll, and the vCPU blocks.
                v.vcpus[c].host_busy_until = now + slice;
                if let Some(done) = self.cpus[c].cut_short(now, Work::HaltPoll) {
                    self.schedule_cpu(cpu, done, cx);
                }
            }
            VcpuMode::Preempted => {}
        }
    }

    /// The competing thread's turn ended: the vCPU is loaded and enters.
    pub(super) fn preempted_done(&mut self, cpu: CpuId, cx: &mut Cx) {
        let c = cpu.idx();
        let v = self.virt.as_mut().expect("a guest");
        if v.vcpus[c].shared {
            // The host run queue gave it the core again: the switch to its
            // thread, then KVM loads it and enters.
            let now = cx.sim.now();
            if let Some(since) = v.vcpus[c].descheduled_since.take() {
                v.vcpus[c].runnable_wait += now.since(since);
                v.vcpus[c].descheduled += now.since(since);
            }
            v.vcpus[c].mode = VcpuMode::Host;
            let cost = cx.sim.costs.context_switch + Dur(cx.sim.costs.vm_exit.0 / 2);
            self.push_frame(cpu, Ctx::Vmm, Work::Vmm { vector: KICK }, cost, cx);
            return;
        }
        let turn = v.host_slice + cx.sim.costs.vm_exit + cx.sim.costs.context_switch.times(2);
        v.vcpus[c].preempted += turn;
        v.vcpus[c].mode = VcpuMode::Host;
        self.vm_entry(cpu, cx);
    }

    /// CPU time of one IPI's ICR write: on the host, the write; in a guest
    /// without IPI virtualization, the exit it causes and KVM's delivery.
    pub(super) fn ipi_send_cost(&self, costs: &crate::costs::Costs) -> Dur {
        match &self.virt {
            Some(v) if !v.ipiv => costs.vm_exit + costs.vm_ipi_deliver,
            _ => costs.ipi_send,
        }
    }

    /// Sends IPI `vector` to CPU `target`, `after` from now (an earlier
    /// ICR write of the same batch first): on the host, an ICR write; in a
    /// guest, an ICR write that exits (`msr_write`) unless IPI
    /// virtualization posts it, and KVM's delivery — into the target's
    /// virtual IRR (emulated APIC) or its descriptor (APICv), with a
    /// physical notification to a running target's core, a kick to one
    /// that must exit to take it, or a wakeup of a halted one.
    pub(super) fn send_ipi_to(&mut self, from: CpuId, target: CpuId, vector: u8, after: Dur, cx: &mut Cx) {
        let Some(v) = self.virt.as_mut() else {
            let apic = cx.platform.topo.apic_id(self.core(target));
            cx.platform.send_ipi_after(apic, vector, after, cx.sim);
            return;
        };
        v.counts.guest_ipis += 1;
        if !v.ipiv {
            // The exit's time is in the sender's frame (`ipi_send_cost`).
            let cost = cx.sim.costs.vm_exit + cx.sim.costs.vm_ipi_deliver;
            v.exit(from.idx(), ExitReason::MsrWrite, cost);
            v.counts.entries += 1;
        }
        self.kvm_deliver(target, vector, after, cx);
    }

    /// KVM delivers `vector` to vCPU `target` (`__apic_accept_irq`), `after`
    /// from now: into its virtual IRR (emulated APIC) or its descriptor
    /// (APICv, posted in software), with a physical notification to a
    /// running target's core (`kvm_vcpu_trigger_posted_interrupt`), a kick
    /// to one that must exit to take it (`kvm_vcpu_kick`), or a wakeup of a
    /// halted one.
    fn kvm_deliver(&mut self, target: CpuId, vector: u8, after: Dur, cx: &mut Cx) {
        let v = self.virt.as_mut().expect("a guest");
        let t = target.idx();
        let (apic, mode) = (v.apic, v.vcpus[t].mode);
        let physical = match apic {
            ApicMode::Emulated => {
                v.vcpus[t].vapic.request(vector);
                // A running target must exit to take the injection; a
                // halted one is woken (once); an exited one takes it at entry.
                match mode {
                    VcpuMode::Host => None,
                    VcpuMode::Halted if v.vcpus[t].wake_pending => None,
                    _ => Some(RESCHEDULE_VECTOR),
                }
            }
            _ => {
                v.counts.software_posted += 1;
                let out = self.with_vcpu_pid(target, cx, |pid| pid.post_software(vector));
                let v = self.virt.as_mut().expect("a guest");
                v.counts.software_merged += out.merged as u64;
                match mode {
                    VcpuMode::Guest if out.notify => Some(POSTED_INTR_VECTOR),
                    VcpuMode::Halted if !v.vcpus[t].wake_pending => Some(RESCHEDULE_VECTOR),
                    _ => None,
                }
            }
        };
        if mode == VcpuMode::Halted && physical.is_some() {
            self.virt.as_mut().expect("a guest").vcpus[t].wake_pending = true;
            if self.vcpu_shared(target) {
                // The host run queue wakes it (it may share the core's
                // local APIC with a vCPU of another VM that takes the IPI).
                let core = self.core(target);
                cx.sim.at(cx.sim.now() + after, crate::sim::Event::VcpuWake { core });
            }
        }
        if let Some(pv) = physical {
            let apic_id = cx.platform.topo.apic_id(self.core(target));
            cx.platform.send_ipi_after(apic_id, pv, after, cx.sim);
            self.stats.ipis.sent += 1;
            self.stats.ipis.kvm += 1;
        }
    }

    /// A back end's irqfd signal reached KVM (`irqfd_wakeup` →
    /// `kvm_set_msi`): the device's MSI-X message names vCPU `target` and
    /// `vector`; KVM delivers it as it delivers a guest IPI — with APICv
    /// (and with VT-d posting, which only an assigned device uses) posted
    /// in software, a running vCPU notified without an exit; with an
    /// emulated APIC a running vCPU kicked out to take it at entry.
    pub fn irqfd(&mut self, target: CpuId, vector: u8, cx: &mut Cx) {
        if self.virt.is_none() || cx.sim.faults.fire(crate::sim::Fault::IrqfdLost) {
            return;
        }
        self.virt.as_mut().expect("a guest").counts.irqfd_injections += 1;
        self.kvm_deliver(target, vector, Dur::ZERO, cx);
    }

    /// The guest driver's access to its NIC's registers or rings that may
    /// leave the guest, on `cpu`: its extra CPU time (the exit and the
    /// host's handling), the exit counted. An assigned VF's registers are
    /// mapped into the guest (no exit); a virtio device's interrupt
    /// suppression is a ring flag (no exit) and its RX refill notifies only
    /// when vhost asked for it (a kick: an ioeventfd write, `ept_misconfig`
    /// on KVM's fast MMIO path); every register access of an emulated NIC
    /// exits to the VMM in user space.
    pub(super) fn device_access(&mut self, cpu: CpuId, access: DeviceAccess, cx: &mut Cx) -> Dur {
        let Some(v) = self.virt.as_mut() else { return Dur::ZERO };
        let costs = cx.sim.costs;
        let c = cpu.idx();
        match (v.device, access) {
            (DevicePath::Assigned, _) => Dur::ZERO,
            (DevicePath::Virtio, DeviceAccess::RxTail(q)) => {
                let nic = self.adapter.nic;
                if !cx.nics[nic.idx()].refill_wants_kick(q) {
                    v.counts.kicks_suppressed += 1;
                    return Dur::ZERO;
                }
                let cost = costs.vm_exit + costs.eventfd_signal;
                v.exit(c, ExitReason::EptMisconfig, cost);
                v.counts.entries += 1;
                v.counts.kicks += 1;
                if !cx.sim.faults.fire(crate::sim::Fault::KickLost) {
                    let at = cx.sim.now() + cost;
                    cx.sim.at(at, crate::sim::Event::VhostKick { nic, queue: q });
                }
                cost
            }
            (DevicePath::Virtio, _) => Dur::ZERO,
            (DevicePath::Emulated, _) => {
                let cost = costs.vm_exit_user;
                v.exit(c, ExitReason::EptMisconfig, cost);
                v.counts.entries += 1;
                v.counts.device_exits += 1;
                cost
            }
        }
    }

    /// The vector the guest takes now, by virtual-interrupt delivery.
    pub(super) fn vapic_deliver(&mut self, cpu: CpuId) -> Option<u8> {
        let v = self.virt.as_mut()?;
        (v.vcpus[cpu.idx()].mode == VcpuMode::Guest).then(|| v.vcpus[cpu.idx()].vapic.deliver()).flatten()
    }

    /// Whether the guest has a virtual interrupt it would take now.
    pub(super) fn vapic_pending(&self, cpu: CpuId) -> bool {
        self.virt.as_ref().is_some_and(|v| {
            let vc = &v.vcpus[cpu.idx()];
            vc.mode == VcpuMode::Guest && vc.vapic.pending().is_some()
        })
    }

    /// The local APIC EOI: the physical one on the host; the virtual one in
    /// a guest (with an emulated APIC, an exit: the x2APIC EOI write).
    pub(super) fn apic_eoi(&mut self, cpu: CpuId, cx: &mut Cx) {
        let Some(v) = self.virt.as_mut() else {
            let core = self.core(cpu);
            cx.platform.lapic_eoi(core, cx.sim);
            return;
        };
        let c = cpu.idx();
        let eoi = v.vcpus[c].vapic.eoi();
        if v.apic == ApicMode::Emulated && eoi != VirtualEoi::Nothing {
            let cost = cx.sim.costs.vm_eoi_exit;
            v.exit(c, ExitReason::MsrWrite, cost);
            v.counts.eoi_exits += 1;
            v.counts.entries += 1;
        }
    }

    /// CPU time of a local APIC EOI on this kernel's CPUs.
    pub(super) fn eoi_cost(&self, costs: &crate::costs::Costs) -> Dur {
        match &self.virt {
            Some(v) if v.apic == ApicMode::Emulated => costs.vm_eoi_exit,
            _ => costs.lapic_eoi,
        }
    }

    /// Guest CPUs with `vector` requested in their virtual IRR or their
    /// descriptor's PIR (a guest IPI not taken yet).
    pub fn vcpus_requesting(&self, vector: u8, platform: &crate::platform::Platform) -> u64 {
        let Some(v) = &self.virt else { return 0 };
        v.vcpus
            .iter()
            .filter(|vc| {
                let word = platform.memory.sample(vc.pid + 8 * u64::from(vector / 64), Time(u64::MAX)).0;
                vc.vapic.virr.contains(vector) || word & (1 << (vector % 64)) != 0
            })
            .count() as u64
    }

    /// PIR bits still set in the vCPUs' descriptors.
    pub fn vcpu_pir_pending(&self, platform: &crate::platform::Platform) -> u64 {
        let Some(v) = &self.virt else { return 0 };
        v.vcpus
            .iter()
            .map(|vc| {
                (0..4)
                    .map(|i| platform.memory.sample(vc.pid + 8 * i, Time(u64::MAX)).0.count_ones() as u64)
                    .sum::<u64>()
            })
            .sum()
    }
}

/// Length of a descheduled vCPU's frame before the host run queue gives it
/// the core again: longer than any run, so only the grant ends it.
const UNTIL_SCHEDULED: Dur = Dur::from_ms(3_600_000);

/// A vCPU thread on a host core shared with other VMs' vCPU threads
/// (`[[vms]]`): the host run queue (vcpu_sched.rs) decides who holds the
/// core; these are the vCPU's side of it — KVM's `kvm_sched_out` /
/// `kvm_sched_in` preempt notifiers (`vmx_vcpu_pi_put` sets SN, so posted
/// requests gather in the PIR without notifications; `vmx_vcpu_pi_load`
/// clears it and the PIR is synced at entry), `kvm_vcpu_block` and the
/// wakeup handler (`pi_wakeup_handler` wakes the blocked vCPUs of its
/// core whose descriptor has ON set).
impl Kernel {
    /// Whether `cpu`'s core is shared with other VMs' vCPUs.
    pub(super) fn vcpu_shared(&self, cpu: CpuId) -> bool {
        self.virt.as_ref().is_some_and(|v| v.vcpus[cpu.idx()].shared)
    }

    /// KVM wakes the halted vCPU's thread (`kvm_vcpu_wake_up`), `after` from
    /// now: on a shared core the host run queue makes it runnable.
    fn kvm_wake(&mut self, cpu: CpuId, after: Dur, cx: &mut Cx) {
        let v = self.virt.as_mut().expect("a guest");
        if std::mem::replace(&mut v.vcpus[cpu.idx()].wake_pending, true) {
            return;
        }
        let core = self.core(cpu);
        cx.sim.at(cx.sim.now() + after, crate::sim::Event::VcpuWake { core });
    }

    /// The vCPU's thread leaves its shared core: runnable (preempted) or not
    /// (blocked in HLT).
    fn vcpu_yield(&mut self, cpu: CpuId, runnable: bool, cx: &mut Cx) {
        let v = self.virt.as_mut().expect("a guest");
        if !cx.sim.faults.fire(crate::sim::Fault::YieldUncounted) {
            v.vcpus[cpu.idx()].yields += 1;
        }
        let ev = crate::sim::Event::VcpuYield { core: self.core(cpu), kernel: self.id, cpu, runnable };
        cx.sim.at(cx.sim.now(), ev);
    }

    /// `schedule()` at the entry: KVM puts the vCPU (SN set with posted
    /// interrupts) and its thread waits on the run queue, runnable.
    fn vcpu_schedule_out(&mut self, cpu: CpuId, cx: &mut Cx) {
        let (c, now) = (cpu.idx(), cx.sim.now());
        let v = self.virt.as_mut().expect("a guest");
        let vc = &mut v.vcpus[c];
        vc.need_resched = false;
        vc.mode = VcpuMode::Preempted;
        vc.descheduled_since = Some(now);
        vc.preemptions += 1;
        v.counts.preemptions += 1;
        if v.apic == ApicMode::Posted {
            self.with_vcpu_pid(cpu, cx, |pid| pid.kvm_vcpu_put(false, true));
        }
        self.cpus[c].pause(now);
        self.push_frame(cpu, Ctx::Vmm, Work::Preempted, UNTIL_SCHEDULED, cx);
        self.vcpu_yield(cpu, true, cx);
    }

    /// At boot, a vCPU whose core another vCPU holds first: descheduled
    /// (SN set) before its first entry, waiting on the run queue.
    pub fn vcpu_start_descheduled(&mut self, cpu: CpuId, cx: &mut Cx) {
        let c = cpu.idx();
        let v = self.virt.as_mut().expect("a guest");
        v.vcpus[c].mode = VcpuMode::Preempted;
        v.vcpus[c].descheduled_since = Some(cx.sim.now());
        v.vcpus[c].launch_due = true;
        if v.apic == ApicMode::Posted {
            self.with_vcpu_pid(cpu, cx, |pid| pid.kvm_vcpu_put(false, true));
        }
        self.push_frame(cpu, Ctx::Vmm, Work::Preempted, UNTIL_SCHEDULED, cx);
    }

    /// Marks `cpu`'s core as shared with other VMs' vCPUs.
    pub fn vcpu_set_shared(&mut self, cpu: CpuId) {
        if let Some(v) = self.virt.as_mut() {
            v.vcpus[cpu.idx()].shared = true;
        }
    }

    /// The host run queue gives the vCPU's thread the core: a preempted
    /// vCPU's frame ends (the switch and the entry follow); a woken one is
    /// switched in and enters, as a wakeup on a core of its own does.
    pub fn vcpu_run(&mut self, cpu: CpuId, cx: &mut Cx) {
        let (c, now) = (cpu.idx(), cx.sim.now());
        let costs = cx.sim.costs;
        if cx.sim.faults.fire(crate::sim::Fault::PirLostAtSwitch) {
            self.with_vcpu_pid(cpu, cx, |pid| pid.pir = [0; 4]);
        }
        let v = self.virt.as_mut().expect("a guest");
        v.vcpus[c].switches_in += 1;
        match v.vcpus[c].mode {
            VcpuMode::Preempted => {
                if let Some(done) = self.cpus[c].cut_short(now, Work::Preempted) {
                    self.schedule_cpu(cpu, done, cx);
                }
            }
            VcpuMode::Halted => {
                let vc = &mut v.vcpus[c];
                if let Some(since) = vc.runnable_since.take() {
                    vc.runnable_wait += now.since(since);
                }
                vc.mode = VcpuMode::Host;
                // The wakeup's handling on the host, the switch to the
                // thread and the entry: as on a core of its own; after a
                // migration, also the switch on the core it left and the
                // refill of its flow state's lines from that core's cache.
                let moved = vc.migrated_from.take().map_or(Dur::ZERO, |from| {
                    let topo = &cx.platform.topo;
                    let line = if topo.socket_of(from) == topo.socket_of(self.cores[c]) {
                        costs.cache_transfer_same_socket
                    } else {
                        costs.cache_transfer_cross_socket
                    };
                    costs.context_switch + line.times(super::rps::FLOW_STATE_LINES)
                });
                let cost = costs.irq_entry_exit + costs.vcpu_wakeup + Dur(costs.vm_exit.0 / 2) + moved;
                self.cpus[c].pause(now);
                self.push_frame(cpu, Ctx::Vmm, Work::Vmm { vector: KICK }, cost, cx);
            }
            VcpuMode::Guest | VcpuMode::Host => {}
        }
    }

    /// The host scheduler moved the woken vCPU's thread to core `to`
    /// (floating): from now on its core is `to` — kicks, IPIs and its
    /// descriptor's notifications go there (NDST at its next load).
    pub fn vcpu_migrate(&mut self, cpu: CpuId, to: crate::ids::CoreId) {
        let c = cpu.idx();
        let from = std::mem::replace(&mut self.cores[c], to);
        let vc = &mut self.virt.as_mut().expect("a guest").vcpus[c];
        vc.migrations += 1;
        // A second move before it ran keeps the first core's refill.
        vc.migrated_from.get_or_insert(from);
    }

    /// The host scheduler sets `TIF_NEED_RESCHED` on the vCPU's thread (its
    /// slice is over and another vCPU waits): a vCPU in guest mode exits on
    /// the host's tick; KVM schedules at the entry that would follow.
    pub fn vcpu_need_resched(&mut self, cpu: CpuId, cx: &mut Cx) {
        let c = cpu.idx();
        let v = self.virt.as_mut().expect("a guest");
        if v.vcpus[c].need_resched {
            return;
        }
        v.vcpus[c].need_resched = true;
        if v.vcpus[c].mode == VcpuMode::Guest {
            self.vmm_start(cpu, KICK, cx);
        }
    }

    /// `kvm_vcpu_check_block` for the host's wakeup handler: the halted
    /// vCPU, not yet woken, has an interrupt (PIR bits, ON set by a posted
    /// notification, a virtual IRR bit) or a kick pending.
    pub fn vcpu_wake_due(&self, cpu: CpuId, platform: &crate::platform::Platform) -> bool {
        let Some(v) = &self.virt else { return false };
        let vc = &v.vcpus[cpu.idx()];
        if vc.mode != VcpuMode::Halted || vc.runnable_since.is_some() {
            return false;
        }
        let pir = (0..4).any(|i| platform.memory.sample(vc.pid + 8 * i, Time(u64::MAX)).0 != 0);
        vc.wake_pending || pir || !vc.vapic.virr.is_empty()
    }

    /// The halted vCPU's thread is woken: runnable, waiting for its core.
    pub fn vcpu_woken(&mut self, cpu: CpuId, now: Time) {
        let c = cpu.idx();
        let v = self.virt.as_mut().expect("a guest");
        let vc = &mut v.vcpus[c];
        vc.wake_pending = false;
        vc.runnable_since = Some(now);
        if let Some(since) = vc.halted_since.take() {
            vc.halted += now.since(since);
            vc.wakeups += 1;
            v.counts.wakeups += 1;
        }
        if let Some(start) = v.vcpus[c].halt_start.take() {
            v.adjust_poll(c, now.since(start));
        }
    }

    /// The host takes what reached a shared core none of whose vCPUs holds
    /// it (wakeup vectors, kicks): acknowledged and ended, counted here.
    ///
    /// An assigned device's IRQ (VMs sharing the core without posting)
    /// goes to its VM: `vfio_msihandler` signals the irqfd and KVM
    /// delivers it ([`Kernel::vfio_irq`]).
    /// Returns how many it passed.
    pub fn host_idle_take(&mut self, cpu: CpuId, cx: &mut Cx) -> u64 {
        let core = self.core(cpu);
        let mut passed = 0;
        while let Some(vector) = cx.platform.lapic_ack(core) {
            cx.platform.lapic_eoi(core, cx.sim);
            self.virt.as_mut().expect("a guest").counts.physical_taken += 1;
            if let Some((k, guest)) = cx.platform.vfio_vectors.get(&vector).copied() {
                passed += 1;
                self.vfio_pass(cpu, k, guest, cx);
            }
        }
        passed
    }

    /// The host, on `cpu`'s core, took an assigned device's IRQ that belongs
    /// to VM `kernel`'s vCPU on the same core (VMs sharing the core without
    /// posting): `vfio_msihandler` → `eventfd_signal` → `irqfd_wakeup` →
    /// `kvm_set_msi`, delivered to that vCPU now.
    /// The caller counts it (the exiting vCPU's VM, or the idle host's run
    /// queue).
    fn vfio_pass(&mut self, cpu: CpuId, kernel: crate::ids::KernelId, vector: u8, cx: &mut Cx) {
        if cx.sim.faults.fire(crate::sim::Fault::VfioPassLost) {
            return;
        }
        let core = self.core(cpu);
        cx.sim.at(cx.sim.now(), crate::sim::Event::VfioIrq { kernel, core, vector });
    }

    /// KVM delivers an assigned device's interrupt, taken by the host on a
    /// core this VM's vCPU `cpu` shares with other VMs' vCPUs, without
    /// posting (`kvm_set_msi` → `__apic_accept_irq`): with an emulated APIC
    /// into its virtual IRR (`kvm_lapic_set_irr`, `KVM_REQ_EVENT`: injected
    /// at the next entry), with APICv posted in software
    /// (`vmx_deliver_posted_interrupt`: synced into the virtual APIC at the
    /// next entry). `kvm_vcpu_kick` sends no IPI to a vCPU out of guest
    /// mode: a scheduled-out vCPU takes it when the run queue gives it the
    /// core again; a halted one is woken (`kvm_vcpu_wake_up`: this core's
    /// run queue finds it due, `kvm_vcpu_check_block`) and queued. Only a
    /// vCPU back in guest mode meanwhile is notified or kicked.
    pub fn vfio_irq(&mut self, cpu: CpuId, vector: u8, cx: &mut Cx) {
        let c = cpu.idx();
        let v = self.virt.as_mut().expect("a guest");
        v.counts.vfio_received += 1;
        let mode = v.vcpus[c].mode;
        v.counts.injections += 1;
        if mode == VcpuMode::Guest {
            return self.kvm_deliver(cpu, vector, Dur::ZERO, cx);
        }
        if matches!(mode, VcpuMode::Preempted | VcpuMode::Halted) {
            v.counts.vfio_descheduled += 1;
        }
        self.set_pending(cpu, vector, cx);
        if mode == VcpuMode::Halted {
            let core = self.core(cpu);
            cx.sim.at(cx.sim.now(), crate::sim::Event::VcpuWake { core });
        }
    }

    /// Times the vCPU's thread gave up its shared core, as the vCPU counted
    /// them (the run queue's law compares them with its grants).
    pub fn vcpu_yields(&self, cpu: CpuId) -> u64 {
        self.virt.as_ref().map_or(0, |v| v.vcpus[cpu.idx()].yields)
    }
}
