//! A virtual machine's state as its host sees it: each vCPU's mode (in the
//! guest, in the host on its behalf, halted), its virtual APIC and posted-
//! interrupt descriptor, and the VM's exit and entry counts. The guest
//! kernel (a [`crate::kernel::Kernel`] on the vCPUs' cores) owns it; the
//! behaviour is in kernel/guest.rs.

use crate::config::{ApicMode, DevicePath};
use irqlab_engine::{Dur, Time};
use irqlab_hw::vapic::VirtualApic;
use irqlab_hw::vmx::ExitReason;
use serde::Serialize;
use std::collections::BTreeMap;

/// Physical address of vCPU descriptors (VT-d posting and KVM's software
/// posting): 64 bytes per host APIC ID, in kernel memory after the host's
/// posted-MSI descriptors.
pub const VCPU_PID_PHYS: u64 = 0x30_4000;

/// Bytes of one VM's block of vCPU descriptors: one per host APIC ID.
pub const VM_PID_BLOCK: u64 = 64 * 256;

/// The posted-interrupt descriptor of the first VM's vCPU on host APIC
/// `apic_id`.
pub fn vcpu_pid(apic_id: u32) -> u64 {
    vm_vcpu_pid(0, apic_id)
}

/// The base of VM `vm`'s descriptors (`[vm]` is 0, `[[vms]]` 1, 2, …):
/// each VM's block follows the previous one, so vCPUs of different VMs on
/// one core have descriptors of their own.
pub fn vm_pid_base(vm: u32) -> u64 {
    VCPU_PID_PHYS + VM_PID_BLOCK * vm as u64
}

/// The descriptor of VM `vm`'s vCPU on host APIC `apic_id` (the remapping
/// hardware finds it from the IRTE: base + 64 × destination).
pub fn vm_vcpu_pid(vm: u32, apic_id: u32) -> u64 {
    vm_pid_base(vm) + 64 * (apic_id as u64 & 0xff)
}

/// Where a vCPU is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VcpuMode {
    /// In guest mode (VMX non-root): the guest kernel's frames run.
    Guest,
    /// Exited: the host works on its behalf; a VM entry follows.
    Host,
    /// Blocked after a HLT exit: its core idles in the host.
    Halted,
    /// Preempted: a competing host thread runs on its core; its frames
    /// wait, and with posted interrupts SN is set.
    Preempted,
}

/// One vCPU.
#[derive(Clone, Debug)]
pub struct Vcpu {
    /// Its mode.
    pub mode: VcpuMode,
    /// Its virtual APIC (virtual-APIC page and guest interrupt status).
    pub vapic: VirtualApic,
    /// Its posted-interrupt descriptor's address.
    pub pid: u64,
    /// When it last halted, if it is halted.
    pub halted_since: Option<Time>,
    /// Time spent halted.
    pub halted: Dur,
    /// Its exits.
    pub exits: u64,
    /// Times it was woken from HLT.
    pub wakeups: u64,
    /// Posted-interrupt notifications its core consumed in guest mode.
    pub notifications: u64,
    /// Its current halt-polling window.
    pub poll: Dur,
    /// When its current halt began (the HLT exit).
    pub halt_start: Option<Time>,
    /// When the competing host thread's current turn on its core ends.
    pub host_busy_until: Time,
    /// Times the competing thread preempted it.
    pub preemptions: u64,
    /// Time it spent preempted (the thread's turns, with the switches).
    pub preempted: Dur,
    /// Time its wakeups waited for the competing thread's turn to end.
    pub wait_behind_host: Dur,
    /// KVM has sent the halted vCPU's core a wakeup that has not been
    /// taken yet (a second wake of the same sleeping thread sends none).
    pub wake_pending: bool,
    /// Its core is shared with other VMs' vCPU threads: the host run queue
    /// (vcpu_sched.rs) gives it the core; its core's local APIC is taken by
    /// whichever vCPU holds the core, or by the host when none does.
    pub shared: bool,
    /// `TIF_NEED_RESCHED` on its thread: the host scheduler wants the core
    /// for another vCPU; KVM schedules at the next entry
    /// (`xfer_to_guest_mode_work`).
    pub need_resched: bool,
    /// On a shared core: when it was woken from HLT, while it waits on the
    /// run queue for the core.
    pub runnable_since: Option<Time>,
    /// On a shared core: time runnable but waiting for the core (woken from
    /// HLT, or preempted), the run queue's delay (`runnable_wait_ns`).
    pub runnable_wait: Dur,
    /// On a shared core: when it was scheduled out while runnable.
    pub descheduled_since: Option<Time>,
    /// On a shared core: time it spent scheduled out while runnable (its
    /// `Work::Preempted` frames: other vCPUs held the core).
    pub descheduled: Dur,
    /// On a shared core: times the host scheduler gave it the core.
    pub switches_in: u64,
    /// On a shared core: times it gave the core up (preempted or blocked).
    pub yields: u64,
    /// It was descheduled before its first entry (VMLAUNCH pairs with no exit).
    pub launch_due: bool,
    /// Floating: times the host scheduler moved its thread to another core
    /// at a wakeup.
    pub migrations: u64,
    /// The core it left at its last migration, until it runs on the new
    /// one (which pays the switch and the cache refill).
    pub migrated_from: Option<crate::ids::CoreId>,
    /// Times KVM rewrote its descriptor's NDST at a load on another core
    /// (`vmx_vcpu_pi_load`).
    pub ndst_updates: u64,
}

/// What the VM counted.
#[derive(Clone, Debug, Default, Serialize)]
pub struct VmCounts {
    /// Exits by reason.
    pub exits: BTreeMap<String, u64>,
    /// Host CPU time by exit reason, picoseconds (exit, handling, entry).
    #[serde(skip)]
    pub exit_ps: BTreeMap<String, u64>,
    /// VM entries.
    pub entries: u64,
    /// Physical vectors the host took on the vCPUs' cores (exits and
    /// wakeups; not the notifications the processor consumed in guest mode).
    pub physical_taken: u64,
    /// Posted-interrupt notifications the processor consumed in guest mode.
    pub notifications_in_guest: u64,
    /// Interrupts the host injected or posted for the guest (assigned
    /// device MSIs it forwarded).
    pub injections: u64,
    /// PIR bits moved into virtual APICs (processor or KVM's sync at entry).
    pub pir_taken: u64,
    /// Requests KVM posted in software (APICv without VT-d posting).
    pub software_posted: u64,
    /// Of which found their PIR bit already set.
    pub software_merged: u64,
    /// irqfd signals KVM delivered to the guest (a virtio or emulated
    /// NIC's interrupts, sent by its back end).
    pub irqfd_injections: u64,
    /// Guest kicks (virtio RX refills that notified the device: ioeventfd
    /// writes, each an exit).
    pub kicks: u64,
    /// RX refills that did not notify: vhost had notifications disabled.
    pub kicks_suppressed: u64,
    /// Register accesses to an emulated NIC (each an exit to user space).
    pub device_exits: u64,
    /// Halted vCPUs woken.
    pub wakeups: u64,
    /// Guest EOIs that exited (emulated APIC).
    pub eoi_exits: u64,
    /// IPIs the guest sent (ICR writes).
    pub guest_ipis: u64,
    /// Halt polls that found an interrupt (the vCPU did not block).
    pub polls_successful: u64,
    /// Halt polls that ran out (the vCPU blocked).
    pub polls_failed: u64,
    /// Time spent polling, picoseconds.
    pub poll_ps: u64,
    /// Times the competing host thread preempted a running vCPU.
    pub preemptions: u64,
    /// Wakeups of a halted vCPU that waited for the competing thread.
    pub wakeups_behind_host: u64,
    /// Assigned-device interrupts of another VM that this VM's running
    /// vCPUs took on cores they share without posting (an exit each),
    /// passed to that VM's KVM.
    pub vfio_passed: u64,
    /// Its assigned device's interrupts another VM's vCPU (or the idle
    /// host) took on a shared core and passed to it.
    pub vfio_received: u64,
    /// Of which arrived while its vCPU did not hold the core (scheduled
    /// out or halted): pending until its next entry.
    pub vfio_descheduled: u64,
}

/// The VM.
#[derive(Clone, Debug)]
pub struct Virt {
    /// How interrupts reach the guest.
    pub apic: ApicMode,
    /// How the guest reaches its NIC.
    pub device: DevicePath,
    /// IPI virtualization: guest ICR writes do not exit.
    pub ipiv: bool,
    /// Halt polling's ceiling (0: off).
    pub halt_poll_max: Dur,
    /// Its vCPUs, by the guest's CPU number.
    pub vcpus: Vec<Vcpu>,
    /// Counters.
    pub counts: VmCounts,
    /// The competing host thread's turn on each vCPU core, and the time
    /// between turns (`vm.host_load`); a zero slice: no such thread.
    pub host_slice: Dur,
    /// See `host_slice`.
    pub host_gap: Dur,
    /// Its index among the machine's VMs (`[vm]` 0, `[[vms]]` 1, …).
    pub index: u32,
    /// Its vCPU threads' slice on a shared core (`host_slice_us`).
    pub thread_slice: Dur,
    /// Floating: the host cores its vCPU threads may run on (empty: pinned).
    pub allowed: Vec<crate::ids::CoreId>,
}

impl Virt {
    /// A VM of `n` vCPUs in guest mode, their descriptors at `pids`.
    pub fn new(apic: ApicMode, ipiv: bool, halt_poll_max: Dur, pids: Vec<u64>) -> Virt {
        let vcpus = pids
            .into_iter()
            .map(|pid| Vcpu {
                mode: VcpuMode::Guest,
                vapic: VirtualApic::default(),
                pid,
                halted_since: None,
                halted: Dur::ZERO,
                exits: 0,
                wakeups: 0,
                notifications: 0,
                poll: Dur::ZERO,
                halt_start: None,
                host_busy_until: Time::ZERO,
                preemptions: 0,
                preempted: Dur::ZERO,
                wait_behind_host: Dur::ZERO,
                wake_pending: false,
                shared: false,
                need_resched: false,
                runnable_since: None,
                runnable_wait: Dur::ZERO,
                descheduled_since: None,
                descheduled: Dur::ZERO,
                switches_in: 0,
                yields: 0,
                launch_due: false,
                migrations: 0,
                migrated_from: None,
                ndst_updates: 0,
            })
            .collect();
        Virt {
            apic,
            device: DevicePath::Assigned,
            ipiv,
            halt_poll_max,
            vcpus,
            counts: VmCounts::default(),
            host_slice: Dur::ZERO,
            host_gap: Dur::ZERO,
            index: 0,
            thread_slice: Dur::ZERO,
            allowed: Vec::new(),
        }
    }

    /// Counts an exit of `reason` costing `cost`.
    pub fn exit(&mut self, cpu: usize, reason: ExitReason, cost: Dur) {
        let name = reason.name();
        *self.counts.exit_ps.entry(name.clone()).or_default() += cost.as_ps();
        *self.counts.exits.entry(name).or_default() += 1;
        self.vcpus[cpu].exits += 1;
    }

    /// Exits of every reason.
    pub fn total_exits(&self) -> u64 {
        self.counts.exits.values().sum()
    }

    /// KVM's window update after a halt of `halt` (poll plus block):
    /// grow after a short halt, shrink after one beyond the ceiling.
    pub fn adjust_poll(&mut self, cpu: usize, halt: Dur) {
        let max = self.halt_poll_max;
        let vc = &mut self.vcpus[cpu];
        if max == Dur::ZERO || halt <= vc.poll {
            return;
        }
        if halt > max {
            vc.poll = Dur(vc.poll.0 / 2);
        } else if vc.poll < max {
            let start = Dur::from_ns(crate::config::vm::HALT_POLL_GROW_START_NS as u64);
            vc.poll = if vc.poll == Dur::ZERO { start } else { Dur(vc.poll.0 * 2) }.min(max);
        }
    }

    /// Host time on vCPU `cpu`'s core up to `end` that was not on the
    /// guest's behalf: the competing thread's turns, wakeups waiting for
    /// them, and (on a shared core) other vCPUs holding the core.
    pub fn not_on_behalf(&self, cpu: usize, end: Time) -> Dur {
        let vc = &self.vcpus[cpu];
        let open = vc.descheduled_since.map_or(Dur::ZERO, |s| end.since(s));
        self.host_slice.times(vc.preemptions * (!vc.shared) as u64) + vc.wait_behind_host + vc.descheduled + open
    }

    /// Time vCPU `cpu` was runnable but not running, up to `end`: preempted
    /// by the competing thread or waiting for it after a wakeup; on a
    /// shared core, scheduled out or woken and waiting on the run queue.
    pub fn runnable_wait(&self, cpu: usize, end: Time) -> Dur {
        let vc = &self.vcpus[cpu];
        let open = |t: Option<Time>| t.map_or(Dur::ZERO, |s| end.since(s));
        vc.preempted + vc.wait_behind_host + vc.runnable_wait + open(vc.descheduled_since) + open(vc.runnable_since)
    }

    /// vCPUs not in guest mode (exited and not yet entered).
    pub fn out(&self) -> u64 {
        self.vcpus.iter().filter(|v| v.mode != VcpuMode::Guest).count() as u64
    }
}
