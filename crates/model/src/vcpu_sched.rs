//! The host's run queues of vCPU threads on cores that vCPUs of several VMs
//! share (`[[vms]]`): each such core runs one vCPU thread at a time, as the
//! host's fair scheduler would (EEVDF, `kernel/sched/fair.c`).
//!
//! * **Slices.** The thread holding the core runs a slice (its VM's
//!   `host_slice_us`, EEVDF's `sysctl_sched_base_slice` by default); when
//!   it ends and another thread is runnable, the scheduler sets
//!   `TIF_NEED_RESCHED` on the holder: a vCPU in guest mode exits on the
//!   host's tick and KVM schedules before the next entry
//!   (kernel/guest.rs `vcpu_schedule_out`). A thread woken while the
//!   holder's slice still runs waits for its end (EEVDF's `RUN_TO_PARITY`:
//!   no wakeup preemption before the slice is used); one woken after it
//!   preempts at once.
//! * **Blocking.** A vCPU that halts (HLT, then `kvm_vcpu_block`) gives the
//!   core to the next runnable thread, first come first served.
//! * **Wakeups.** Interrupts reaching the core are taken by the vCPU that
//!   holds it (an exit if it is in guest mode) or, when none does, by the
//!   host's idle core. Whatever took them, the wakeup handler
//!   (`pi_wakeup_handler`) then wakes every blocked vCPU of the core that
//!   has an interrupt posted (ON, PIR bits) or a kick pending; a woken
//!   vCPU joins the run queue. Without VT-d posting an assigned device's
//!   interrupt arrives under its host vector: the holder's exit or the
//!   idle host passes it to its VM's KVM (kernel/guest.rs `vfio_irq`),
//!   which leaves it pending for the vCPU's next entry or wakes it.
//!
//! * **Floating threads** (`vm.vcpu_affinity = "floating"`): every core of
//!   a floating thread's set has a run queue; a woken floating thread is
//!   placed as `select_idle_sibling` would — its own core if idle, else the
//!   first idle core of its set, else the shortest run queue — and moves
//!   there (its list entry with it); the move costs a context switch and
//!   the refill of its flow state's lines when it first runs there, and
//!   KVM rewrites its descriptor's NDST at that load (`vmx_vcpu_pi_load`).
//!
//! Not modelled: periodic load balancing of running or queued vCPU threads
//! (only wakeups move them), weights other than equal, and pinned vCPUs of
//! one VM on one core.

use crate::ids::{CoreId, CpuId, KernelId};
use crate::kernel::{Cx, Kernel};
use crate::sim::Event;
use irqlab_engine::{Dur, Time};
use std::collections::VecDeque;

/// A vCPU thread: its VM's guest kernel and its vCPU.
pub type VcpuThread = (KernelId, CpuId);

/// One shared core's run queue.
#[derive(Clone, Debug, Default)]
pub struct HostCore {
    /// The vCPU threads pinned to it, in VM order.
    pub threads: Vec<VcpuThread>,
    /// The thread holding the core (running, or the host on its behalf).
    pub current: Option<VcpuThread>,
    /// Runnable threads waiting for the core, first come first served.
    pub queue: VecDeque<VcpuThread>,
    /// When the holder's slice ends (`None`: it has ended).
    slice_end: Option<Time>,
    /// Generation of the holder's slice timer.
    epoch: u64,
    /// Grants of the core (switches to a thread).
    pub grants: u64,
    /// Yields the run queue received (preemptions and blocks).
    pub yields: u64,
    /// Wakeups of blocked vCPUs (the wakeup handler).
    pub wakeups: u64,
    /// Slices that ended with another thread waiting.
    pub preemptions: u64,
    /// Assigned-device interrupts the host took while no vCPU held the
    /// core and passed to their VMs (VMs sharing it without posting).
    pub idle_passes: u64,
    /// Vectors the host took on the core while no vCPU thread was listed
    /// on it (a floating vCPU's notification that followed it late).
    pub idle_taken: u64,
    /// Floating vCPU threads that came to this core at a wakeup.
    pub migrations_in: u64,
}

/// The run queues of every shared core, by core.
#[derive(Clone, Debug, Default)]
pub struct HostRunQueues {
    cores: Vec<Option<HostCore>>,
    /// The threads a wakeup scan woke, kept between scans (no allocation
    /// per scan).
    woken: Vec<VcpuThread>,
}

impl HostRunQueues {
    /// Run queues for the cores that more than one of `kernels`' vCPUs run
    /// on, and for every core a floating vCPU may run on; marks those
    /// vCPUs shared (their thread goes through the run queues). Each core
    /// lists the threads that start on it.
    pub fn new(cores: usize, kernels: &mut [Kernel]) -> HostRunQueues {
        let mut by_core: Vec<Vec<VcpuThread>> = vec![Vec::new(); cores];
        let mut floating = vec![false; cores];
        for k in kernels.iter() {
            let Some(v) = &k.virt else { continue };
            for (i, core) in k.cores.iter().enumerate() {
                by_core[core.idx()].push((k.id, CpuId(i as u32)));
            }
            for c in &v.allowed {
                floating[c.idx()] = true;
            }
        }
        let cores = by_core
            .into_iter()
            .zip(floating)
            .map(|(threads, floating)| {
                (threads.len() > 1 || floating).then(|| HostCore { threads, ..HostCore::default() })
            })
            .collect::<Vec<_>>();
        for hc in cores.iter().flatten() {
            for (k, cpu) in &hc.threads {
                kernels[k.idx()].vcpu_set_shared(*cpu);
            }
        }
        HostRunQueues { cores, woken: Vec::new() }
    }

    /// The run queue of `core`, if vCPUs share it.
    pub fn core(&self, core: CoreId) -> Option<&HostCore> {
        self.cores.get(core.idx()).and_then(|c| c.as_ref())
    }

    /// Every shared core's run queue, by core.
    pub fn shared(&self) -> impl Iterator<Item = (CoreId, &HostCore)> {
        self.cores.iter().enumerate().filter_map(|(i, c)| c.as_ref().map(|c| (CoreId(i as u32), c)))
    }

    /// At boot: each shared core's first thread holds it; the others are
    /// descheduled and queued.
    pub fn start(&mut self, kernels: &mut [Kernel], cx: &mut Cx) {
        for i in 0..self.cores.len() {
            let Some(hc) = self.cores[i].as_mut() else { continue };
            let Some(&first) = hc.threads.first() else { continue };
            hc.current = Some(first);
            hc.grants += 1;
            for &(k, cpu) in &hc.threads[1..] {
                kernels[k.idx()].vcpu_start_descheduled(cpu, cx);
                hc.queue.push_back((k, cpu));
            }
            Self::arm_slice(CoreId(i as u32), hc, kernels, cx);
        }
    }

    /// The holder's slice starts now.
    fn arm_slice(core: CoreId, hc: &mut HostCore, kernels: &[Kernel], cx: &mut Cx) {
        let Some((k, _)) = hc.current else { return };
        let slice = kernels[k.idx()].virt.as_ref().map_or(Dur::ZERO, |v| v.thread_slice);
        let end = cx.sim.now() + slice;
        hc.epoch += 1;
        hc.slice_end = Some(end);
        cx.sim.at(end, Event::VcpuSlice { core, epoch: hc.epoch });
    }

    /// Gives the core to the next runnable thread, if it is free.
    fn grant_next(core: CoreId, hc: &mut HostCore, kernels: &mut [Kernel], cx: &mut Cx) {
        if hc.current.is_some() {
            return;
        }
        let Some((k, cpu)) = hc.queue.pop_front() else {
            hc.slice_end = None;
            return;
        };
        hc.current = Some((k, cpu));
        hc.grants += 1;
        Self::arm_slice(core, hc, kernels, cx);
        kernels[k.idx()].vcpu_run(cpu, cx);
    }

    /// The holder is asked to give the core up if its slice is over and
    /// another thread waits.
    fn check_preempt(hc: &mut HostCore, kernels: &mut [Kernel], cx: &mut Cx) {
        let over = hc.slice_end.is_none_or(|end| end <= cx.sim.now());
        if let Some((k, cpu)) = hc.current
            && over
            && !hc.queue.is_empty()
        {
            hc.preemptions += 1;
            kernels[k.idx()].vcpu_need_resched(cpu, cx);
        }
    }

    /// The wakeup handler on `core`: its blocked vCPUs with an interrupt or
    /// a kick pending become runnable, each queued where the host scheduler
    /// places it (a floating one may move: [`HostRunQueues::place`]).
    fn wake_scan(&mut self, core: CoreId, kernels: &mut [Kernel], cx: &mut Cx) {
        let Some(hc) = self.cores[core.idx()].as_mut() else { return };
        let now = cx.sim.now();
        let mut woken = std::mem::take(&mut self.woken);
        for i in 0..hc.threads.len() {
            let (k, cpu) = hc.threads[i];
            if hc.current == Some((k, cpu)) || hc.queue.contains(&(k, cpu)) {
                continue;
            }
            if kernels[k.idx()].vcpu_wake_due(cpu, cx.platform) {
                kernels[k.idx()].vcpu_woken(cpu, now);
                hc.wakeups += 1;
                woken.push((k, cpu));
            }
        }
        // The cores whose queue changed: this one, and those woken floating
        // threads moved to (rare: no allocation otherwise).
        let mut moved_to = Vec::new();
        for &t in &woken {
            let to = self.place(core, t, kernels);
            if to != core {
                self.migrate(t, core, to, kernels, cx);
                moved_to.push(to);
            }
            if let Some(hc) = self.cores[to.idx()].as_mut() {
                hc.queue.push_back(t);
            }
        }
        woken.clear();
        self.woken = woken;
        for c in std::iter::once(core).chain(moved_to) {
            let Some(hc) = self.cores[c.idx()].as_mut() else { continue };
            Self::grant_next(c, hc, kernels, cx);
            Self::check_preempt(hc, kernels, cx);
        }
    }

    /// Where the host scheduler runs woken thread `t`, last on `core`
    /// (`select_task_rq_fair` → `select_idle_sibling`): a pinned thread on
    /// its core; a floating one on its core if that is idle, else on the
    /// first idle core of its set (nothing holding it, nothing queued), else
    /// on the run queue with the fewest threads (its own core on a tie).
    fn place(&self, core: CoreId, t: VcpuThread, kernels: &[Kernel]) -> CoreId {
        let allowed = kernels[t.0.idx()].virt.as_ref().map_or(&[][..], |v| &v.allowed[..]);
        let load = |c: CoreId| {
            self.cores
                .get(c.idx())
                .and_then(|h| h.as_ref())
                .map_or(usize::MAX, |h| h.queue.len() + h.current.is_some() as usize)
        };
        if allowed.is_empty() || load(core) == 0 {
            return core;
        }
        if let Some(&idle) = allowed.iter().find(|c| load(**c) == 0) {
            return idle;
        }
        allowed.iter().copied().fold(core, |best, c| if load(c) < load(best) { c } else { best })
    }

    /// Moves thread `t` from `from`'s list to `to`'s: its vCPU now runs
    /// there (kernel/guest.rs `vcpu_migrate`).
    fn migrate(&mut self, t: VcpuThread, from: CoreId, to: CoreId, kernels: &mut [Kernel], cx: &mut Cx) {
        if !cx.sim.faults.fire(crate::sim::Fault::MigrationLeftListed)
            && let Some(hc) = self.cores[from.idx()].as_mut()
        {
            hc.threads.retain(|x| *x != t);
        }
        if let Some(hc) = self.cores[to.idx()].as_mut() {
            hc.threads.push(t);
            hc.migrations_in += 1;
        }
        kernels[t.0.idx()].vcpu_migrate(t.1, to);
    }

    /// Every listing of a vCPU thread on a run queue, by core.
    pub fn listings(&self) -> impl Iterator<Item = (CoreId, VcpuThread)> + '_ {
        self.shared().flat_map(|(c, hc)| hc.threads.iter().map(move |t| (c, *t)))
    }

    /// Handles a run-queue event; returns `false` for another kind.
    pub fn on_event(&mut self, ev: &Event, kernels: &mut [Kernel], cx: &mut Cx) -> bool {
        match *ev {
            Event::VcpuSlice { core, epoch } => {
                let Some(hc) = self.cores[core.idx()].as_mut() else { return true };
                if hc.epoch == epoch {
                    hc.slice_end = None;
                    Self::check_preempt(hc, kernels, cx);
                }
            }
            Event::VcpuYield { core, kernel, cpu, runnable } => {
                let Some(hc) = self.cores[core.idx()].as_mut() else { return true };
                hc.yields += 1;
                if hc.current == Some((kernel, cpu)) {
                    hc.current = None;
                }
                if runnable {
                    hc.queue.push_back((kernel, cpu));
                }
                // The core is the host's until the next grant: it takes an
                // assigned device's IRQ that reached the core while the
                // vCPU was leaving it (VMs sharing it without posting; a
                // posted notification waits for the next entry).
                if hc.current.is_none()
                    && !cx.platform.vfio_vectors.is_empty()
                    && let Some(&(k, c)) = hc.threads.first()
                {
                    hc.idle_passes += kernels[k.idx()].host_idle_take(c, cx);
                }
                // A blocking vCPU may have had an interrupt posted as it
                // blocked (ON already set: KVM's self-IPI).
                self.wake_scan(core, kernels, cx);
            }
            Event::VcpuWake { core } => self.wake_scan(core, kernels, cx),
            _ => return false,
        }
        true
    }

    /// Something reached `core`'s local APIC: the holder's kernel takes it,
    /// or the host does if no vCPU holds the core; then the wakeup handler
    /// runs. Returns `false` if vCPUs do not share `core`.
    pub fn core_kicked(&mut self, core: CoreId, kernels: &mut [Kernel], cx: &mut Cx) -> bool {
        let Some(hc) = self.cores.get_mut(core.idx()).and_then(|c| c.as_mut()) else { return false };
        match hc.current {
            Some((k, cpu)) => kernels[k.idx()].kick(cpu, cx),
            None => match hc.threads.first() {
                Some(&(k, cpu)) => hc.idle_passes += kernels[k.idx()].host_idle_take(cpu, cx),
                None => {
                    // No vCPU thread is listed here any more: a floating
                    // vCPU's notification that followed it late.
                    while cx.platform.lapic_ack(core).is_some() {
                        cx.platform.lapic_eoi(core, cx.sim);
                        hc.idle_taken += 1;
                    }
                }
            },
        }
        self.wake_scan(core, kernels, cx);
        true
    }
}
