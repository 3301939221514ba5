//! The simulation context every part's handlers receive, and the events
//! that travel between parts.
//!
//! A handler has the shape "given my state, this event, and a [`Sim`] to
//! schedule events and read costs, update myself" (docs/architecture.md). Events
//! are addressed to the part that owns the state they touch; they mirror
//! real interfaces: a posted MSI write reaching the platform, an IPI reaching
//! a local APIC, a device's timer, a CPU finishing a piece of work.

use crate::costs::Costs;
use crate::ids::{CoreId, CpuId, IrqId, KernelId, NicId, QueueId, Rid, ThreadId};
use irqlab_engine::{EventQueue, Time};

/// Something that happens at an instant.
#[derive(Clone, Copy, Debug)]
pub enum Event {
    /// A device's posted MSI write (a DWORD write into 0xFEEx_xxxx) reaches
    /// the platform's interrupt window, after the posted-write latency.
    Msi {
        /// Who wrote it (the IOMMU validates this in interrupt remapping).
        rid: Rid,
        /// Message address as written (64 bits).
        address: u64,
        /// Message data as written.
        data: u32,
    },
    /// An inter-processor interrupt (an ICR write on the sending core)
    /// reaches the destination local APIC. IPIs never pass through the
    /// device-facing interrupt port.
    Ipi {
        /// Destination local APIC ID.
        dest: u32,
        /// The vector.
        vector: u8,
    },
    /// A NIC RX queue's enabled interrupt must be re-evaluated (a frame
    /// landed or a coalescing deadline passed).
    RxWatch {
        /// The NIC.
        nic: NicId,
        /// The queue.
        queue: QueueId,
        /// Matches the queue's watch generation unless superseded.
        epoch: u32,
        /// Whether the queue's timer held it (else a one-shot event).
        timer: bool,
    },
    /// A TX doorbell write (the new tail) reaches the NIC.
    TxDoorbell {
        /// The NIC.
        nic: NicId,
        /// The TX queue.
        queue: u32,
        /// The free-running tail written.
        tail: u64,
    },
    /// A NIC's TX descriptor fetch completes.
    TxFetchDone {
        /// The NIC.
        nic: NicId,
        /// The TX queue.
        queue: u32,
    },
    /// A NIC's DD write-back is visible: the TX interrupt.
    TxComplete {
        /// The NIC.
        nic: NicId,
        /// The TX queue.
        queue: u32,
    },
    /// A misbehaving NIC writes a buffer it already handed back.
    LateDma {
        /// The NIC.
        nic: NicId,
        /// The buffer's IOVA.
        iova: u64,
        /// Bytes.
        bytes: u32,
    },
    /// A misbehaving device (`[[attackers]]`) makes its next attempt.
    Rogue {
        /// `[[attackers]]` index.
        index: u32,
    },
    /// A level-triggered device raises an event.
    DeviceEvent {
        /// `[[devices]]` index.
        device: u32,
    },
    /// A back end's irqfd signal (a virtio or emulated NIC's interrupt)
    /// reaches KVM, which delivers the MSI-X entry's message to the guest.
    Irqfd {
        /// The NIC whose back end signalled.
        nic: NicId,
        /// The entry's message address (guest compatibility format).
        address: u64,
        /// The entry's message data.
        data: u32,
    },
    /// A guest's virtio kick (an ioeventfd write) reaches the vhost worker.
    VhostKick {
        /// The NIC.
        nic: NicId,
        /// The RX queue (virtqueue) kicked.
        queue: QueueId,
    },
    /// A shared core's host run queue: the holder's slice ends (stale
    /// unless `epoch` is the core's current one).
    VcpuSlice {
        /// The core.
        core: CoreId,
        /// The grant it belongs to.
        epoch: u64,
    },
    /// A vCPU thread gave up its shared core: preempted (`runnable`) or
    /// blocked in HLT.
    VcpuYield {
        /// The core.
        core: CoreId,
        /// The VM's guest kernel.
        kernel: KernelId,
        /// The vCPU.
        cpu: CpuId,
        /// Whether it waits on the run queue (else it blocked).
        runnable: bool,
    },
    /// KVM woke a halted vCPU on a shared core (a kick, an IPI): the host
    /// run queue checks that core's blocked vCPUs.
    VcpuWake {
        /// The core.
        core: CoreId,
    },
    /// The host passes an assigned device's interrupt it took on a shared
    /// core to the VM whose vCPU on that core it belongs to (no posting:
    /// `vfio_msihandler` → irqfd → `kvm_set_msi`).
    VfioIrq {
        /// The VM's guest kernel.
        kernel: KernelId,
        /// The core (the VM's vCPU on it is the target).
        core: CoreId,
        /// The guest's vector.
        vector: u8,
    },
    /// An event of one kernel.
    Kernel {
        /// The kernel.
        kernel: KernelId,
        /// What happens.
        ev: KernelEvent,
    },
}

/// Events inside one kernel.
#[derive(Clone, Copy, Debug)]
pub enum KernelEvent {
    /// The running frame of a CPU completes.
    CpuDone {
        /// The CPU.
        cpu: CpuId,
        /// Matches the CPU's epoch unless the frame was paused since.
        epoch: u64,
    },
    /// A thread woken from another CPU becomes runnable on its own CPU (the
    /// reschedule IPI and the idle exit, as one latency).
    TaskWake {
        /// The thread.
        thread: ThreadId,
    },
    /// The "nobody cared" poller's 100 ms timer (`poll_spurious_irqs`).
    SpuriousPoll,
    /// The irqbalance-like rebalancer's periodic pass.
    IrqBalance,
    /// The sender's timer: another batch is due.
    SendTimer,
    /// The sender, woken from another CPU when its ring had room again.
    SenderWake,
    /// The lazy-invalidation flush queue's timer (`fq_flush_timeout`).
    IommuFlushTimer,
    /// Timer-softirq work deferred while its CPU was busy.
    TimerDebt,
    /// A TLB flush's acknowledgement reaches the CPU that waits for it.
    TlbAck {
        /// The initiating CPU.
        cpu: CpuId,
    },
    /// A cgroup's CFS bandwidth period timer (`sched_cfs_period_timer`).
    CgroupPeriod {
        /// The group's index among `[[cgroups]]`.
        group: u32,
    },
    /// An affinity change finished rewriting the entry: unmask it.
    IrqMoveDone {
        /// The IRQ.
        irq: IrqId,
    },
    /// A competing host thread's turn begins on a vCPU's core (`vm.host_load`).
    HostTask {
        /// The vCPU.
        cpu: CpuId,
    },
}

/// The event queue, the costs, the test-only fault injector, and the
/// optional trace sink.
pub struct Sim {
    /// Future events.
    pub events: EventQueue<Event>,
    /// Per-operation costs in picoseconds.
    pub costs: Costs,
    /// Faults injected by mutation tests (never active in a normal build).
    pub faults: Faults,
    /// The timeline's sink when the run is traced (crate::trace); `None`
    /// costs each hook one check.
    pub trace: Option<Box<crate::trace::Tracer>>,
}

impl Sim {
    /// A simulation at time zero.
    pub fn new(costs: Costs) -> Sim {
        Sim { events: EventQueue::new(), costs, faults: Faults::default(), trace: None }
    }

    /// The current simulated time.
    pub fn now(&self) -> Time {
        self.events.now()
    }

    /// Schedules `ev` at `t`.
    pub fn at(&mut self, t: Time, ev: Event) {
        self.events.schedule(t, ev);
    }

    /// Sets timer `id` to `ev` at `t`, replacing the event it held.
    pub fn at_timer(&mut self, id: irqlab_engine::TimerId, t: Time, ev: Event) {
        self.events.set_timer(id, t, ev);
    }
}

/// A fault a mutation test can inject to show that a law catches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The interrupt-message port silently drops a device's MSI write.
    DropMsi,
    /// A socket-full drop is counted as a delivery.
    MiscountSocketDrop,
    /// A blocked reader is not woken when data arrives for it (the
    /// classic lost-wakeup race).
    LoseWakeup,
    /// The memory side forgets to complete a DMA request.
    LoseDma,
    /// An IPI is sent but never reaches its destination.
    DropIpi,
    /// An edge flow's ack (local-APIC EOI) goes to the CPU the IRQ is
    /// routed to now instead of the CPU that took it — the bug that wedged
    /// rings when the rebalancer moved an IRQ with an interrupt in flight.
    AckOnIrqCpu,
    /// A frame counted as landed never reaches the ring.
    RingLosesFrame,
    /// A frame taken from a ring never reaches the driver.
    DriverLosesFrame,
    /// A packet counted into a backlog is not queued there.
    BacklogLosesPacket,
    /// A packet counted into a socket is not queued there.
    SocketLosesPacket,
    /// The NIC counts an MSI-X message as sent but never writes it.
    NicSkipsWrite,
    /// The interrupt window forgets to count an accepted message.
    WindowMiscount,
    /// An unmask clears a Pending bit without sending its message.
    PendingBitLost,
    /// A queue's interrupt is counted as raised but never reaches the
    /// MSI-X function.
    NotifyLost,
    /// The kernel counts an RPS IPI but never writes the ICR.
    IcrNotWritten,
    /// A reschedule IPI (a cross-CPU wakeup) never arrives.
    DropReschedule,
    /// A CPU takes an interrupt without counting it.
    UncountedInterrupt,
    /// A level device raises an event without counting it.
    UncountedDeviceEvent,
    /// A TX doorbell write never reaches the NIC.
    DoorbellLost,
    /// The NIC reads a TX descriptor without counting the read.
    TxReadUncounted,
    /// The NIC's TX head skips a descriptor without transmitting it.
    TxHeadSkips,
    /// The interrupt window counts a message interrupt remapping blocked
    /// as blocked nowhere.
    RemapBlockUncounted,
    /// A DMA the IOMMU refused is never reported to the fault registers.
    FaultNotReported,
    /// The IOMMU driver clears a fault record without counting it.
    FaultDrainUncounted,
    /// A frame the IOMMU refused is dropped without being counted.
    IommuDropUncounted,
    /// A TLB flush's target flushes but its acknowledgement never reaches
    /// the initiator.
    LoseTlbAck,
    /// A zero-copy send completes without its notification being queued.
    LoseZerocopyNotification,
    /// A posted-MSI scan takes PIR bits without counting them.
    PirTakeUncounted,
    /// A VM entry happens without being counted.
    EntryUncounted,
    /// A cgroup's period timer unthrottles a thread without counting it.
    UnthrottleUncounted,
    /// `vfio_msihandler` counts its eventfd signal but the eventfd never
    /// sees it (nor is the driver thread woken).
    EventfdSignalLost,
    /// KVM counts an irqfd signal as delivered but drops it.
    IrqfdLost,
    /// A guest kick is counted but never reaches the vhost worker.
    KickLost,
    /// A vCPU gives up its shared core without counting it.
    YieldUncounted,
    /// KVM's sync at a switched-in vCPU's entry drops its PIR bits without
    /// moving them into the virtual APIC.
    PirLostAtSwitch,
    /// The host counts an assigned device's interrupt passed to another VM
    /// on a shared core but never delivers it.
    VfioPassLost,
    /// A migrating vCPU thread is added to its new core's run queue but
    /// left listed on the old one.
    MigrationLeftListed,
}

/// The faults armed for a run: each fires once at its `after`-th
/// opportunity (0 = the first), or at every opportunity from its `after`-th
/// on. Compiled to nothing outside tests.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    #[cfg(test)]
    armed: Vec<Armed>,
    #[cfg(test)]
    seen: Vec<(Fault, u64)>,
}

/// One armed fault.
#[cfg(test)]
#[derive(Clone, Copy, Debug)]
struct Armed {
    fault: Fault,
    /// Opportunities to let pass first.
    skip: u64,
    /// Fire at every opportunity after the first firing.
    repeat: bool,
    fired: bool,
}

impl Faults {
    /// Arms `fault` to fire once, at its `after`-th opportunity.
    #[cfg(test)]
    pub fn arm(&mut self, fault: Fault, after: u64) {
        self.armed.push(Armed { fault, skip: after, repeat: false, fired: false });
    }

    /// Arms `fault` to fire at every opportunity from its `after`-th on.
    #[cfg(test)]
    pub fn arm_from(&mut self, fault: Fault, after: u64) {
        self.armed.push(Armed { fault, skip: after, repeat: true, fired: false });
    }

    /// Arms `fault` to fire at every opportunity.
    #[cfg(test)]
    pub fn arm_always(&mut self, fault: Fault) {
        self.arm_from(fault, 0);
    }

    /// How many opportunities `fault` has had so far.
    #[cfg(test)]
    pub fn opportunities(&self, fault: Fault) -> u64 {
        self.seen.iter().find(|(f, _)| *f == fault).map_or(0, |(_, n)| *n)
    }

    /// Whether `fault` fires now (always false outside tests).
    #[inline]
    pub fn fire(&mut self, fault: Fault) -> bool {
        #[cfg(test)]
        {
            match self.seen.iter_mut().find(|(f, _)| *f == fault) {
                Some((_, n)) => *n += 1,
                None => self.seen.push((fault, 1)),
            }
            for a in &mut self.armed {
                if a.fault != fault || (a.fired && !a.repeat) {
                    continue;
                }
                if a.skip > 0 {
                    a.skip -= 1;
                    continue;
                }
                a.fired = true;
                return true;
            }
            false
        }
        #[cfg(not(test))]
        {
            let _ = fault;
            false
        }
    }
}
