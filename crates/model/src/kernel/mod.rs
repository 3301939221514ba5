//! A kernel: one operating-system instance with its own interrupt
//! descriptors and chips, vector allocation, softnet per CPU, NAPI
//! instances, RPS/RFS tables, sockets, scheduler, affinity balancer and
//! spurious-interrupt detection — named after Linux.
//!
//! [`Kernel`] is a value: the host runs one on the platform's cores; a guest
//! will run another on its vCPUs. Its handlers take the kernel's own state
//! (`&mut self`) and a [`Cx`] with the simulation, the platform and the
//! devices its drivers own; it never holds them.
//!
//! The files with state types (cpu.rs, softnet.rs, napi.rs, rps.rs,
//! socket.rs, genirq.rs, irqchip.rs, vector.rs, spurious.rs, affinity.rs,
//! adapter.rs) import nothing of the kernel; the files with its behaviour
//! (irq.rs: interrupt entry, flow handlers and `irq_exit`; driver.rs: the
//! NIC and device drivers; net_rx.rs: softirq, NAPI, RPS/RFS, backlogs,
//! socket delivery; sched.rs: the scheduler; balance.rs: affinity moves;
//! recv.rs: the applications' receive system calls) each add methods to
//! [`Kernel`].

pub mod adapter;
pub mod affinity;
pub mod cgroup;
pub mod cpu;
pub mod cx;
pub mod dim;
pub mod genirq;
pub mod iova;
pub mod irqchip;
pub mod itr;
pub mod napi;
pub mod rps;
pub mod sender;
pub mod socket;
pub mod softnet;
pub mod spurious;
pub mod tlb;
pub mod vector;

mod balance;
mod bandwidth;
pub mod dma;
mod driver;
mod guest;
mod irq;
mod net_rx;
mod posted;
mod recv;
pub mod report;
mod sched;
mod trace;
mod vfio;
mod xmit;
mod zerocopy;

pub use zerocopy::ComputeThread;

pub use cx::Cx;

use crate::config::{AdaptiveScheme, KernelConfig, Scenario};
use crate::devices::nic::Nic;
use crate::ids::{CoreId, CpuId, KernelId, ThreadId};
use crate::sim::{Event, KernelEvent};
use crate::workload::app::{Thread, build_threads};
use adapter::Adapter;
use affinity::Balancer;
use cpu::Cpu;
use genirq::IrqDesc;
use irqlab_engine::{Dur, LatencyHistogram, Time};
use napi::Napi;
use rps::Rps;
use serde::Serialize;
use socket::{FlowCounts, FlowState};
use softnet::Softnet;
use vector::VectorTable;

/// Kernel tunables: the scenario's values, plus the times among them
/// converted to simulation units once.
#[derive(Clone, Debug)]
pub struct KernelParams {
    /// The tunables as configured.
    pub cfg: KernelConfig,
    /// `netdev_budget_usecs` as a span.
    pub netdev_budget_time: Dur,
    /// `MAX_SOFTIRQ_TIME` as a span.
    pub max_softirq_time: Dur,
    /// Scheduler slice as a span.
    pub sched_slice: Dur,
}

impl KernelParams {
    /// The parameters of `cfg`.
    pub fn new(cfg: &KernelConfig) -> KernelParams {
        KernelParams {
            cfg: cfg.clone(),
            netdev_budget_time: Dur::from_us(cfg.netdev_budget_usecs as u64),
            max_softirq_time: Dur::from_us(cfg.max_softirq_time_us as u64),
            sched_slice: Dur::from_us(cfg.sched_slice_us as u64),
        }
    }
}

/// IPI counters of a kernel.
#[derive(Clone, Debug, Default, Serialize)]
pub struct IpiStats {
    /// IPIs sent, all kinds.
    pub sent: u64,
    /// RPS backlog kicks (`CALL_FUNCTION_SINGLE_VECTOR`).
    pub rps: u64,
    /// Reschedule IPIs waking an idle CPU for a woken thread.
    pub reschedule: u64,
    /// TLB shootdown IPIs (`CALL_FUNCTION_VECTOR`).
    pub tlb: u64,
    /// IPIs the host sent on a guest's behalf (KVM's wakeup self-IPI).
    pub kvm: u64,
    /// RPS IPIs taken by their target.
    pub received: u64,
    /// Reschedule IPIs that reached their target.
    pub reschedule_received: u64,
}

/// System-vector interrupts per CPU (`/proc/interrupts` rows CAL, RES,
/// TLB, PMN).
#[derive(Clone, Debug, Default)]
pub struct SysvecCounts {
    /// CAL: function-call interrupts other than TLB shootdowns (RPS kicks).
    pub cal: Vec<u64>,
    /// RES: rescheduling interrupts (cross-CPU wakeups that arrived).
    pub res: Vec<u64>,
    /// TLB: TLB shootdowns.
    pub tlb: Vec<u64>,
    /// PMN: posted-MSI notifications.
    pub pmn: Vec<u64>,
}

/// What a kernel counts while it runs.
#[derive(Clone, Debug)]
pub struct KernelStats {
    /// Wire-to-application latency.
    pub latency: LatencyHistogram,
    /// From a NIC queue raising its interrupt to the flow handler's entry
    /// for it on this kernel's CPU (in a VM: the guest's handler).
    pub irq_latency: LatencyHistogram,
    /// Packets read by applications (counted where each copy ends).
    pub delivered: u64,
    /// Their bytes.
    pub delivered_bytes: u64,
    /// Dropped: socket receive buffer full.
    pub dropped_socket_full: u64,
    /// Dropped: no socket reads the flow.
    pub dropped_no_socket: u64,
    /// Packets the driver took from the NIC's rings.
    pub rx_from_rings: u64,
    /// Packets queued on sockets.
    pub socket_enqueued: u64,
    /// Packets `recv` took from sockets.
    pub recv_dequeued: u64,
    /// Hard interrupts taken per CPU.
    pub interrupts_per_cpu: Vec<u64>,
    /// System-vector interrupts per CPU, as `/proc/interrupts` rows:
    /// function calls (RPS kicks), reschedules, TLB shootdowns, posted-MSI
    /// notifications.
    pub sysvec: SysvecCounts,
    /// IPI counters.
    pub ipis: IpiStats,
    /// Flow state touched on a different CPU than last time.
    pub handoffs: u64,
    /// Of which across sockets.
    pub cross_socket_handoffs: u64,
    /// Packets whose driver work ran on a socket other than the NIC's node.
    pub nic_remote_packets: u64,
    /// Packets delivered after a later packet of the same flow.
    pub out_of_order: u64,
    /// Stream reads (messages) the applications completed.
    pub messages: u64,
    /// Latency of each message: from the arrival of the frame holding its
    /// last byte to the end of its read.
    pub message_latency: LatencyHistogram,
    /// Posted-MSI notifications the CPUs took.
    pub posted_notifications: u64,
    /// PIR scans their handlers made.
    pub posted_scans: u64,
    /// Device vectors the scans took from the PIRs (each runs its handler).
    pub posted_taken: u64,
    /// Bytes copied to user space (datagrams, or what a message's read
    /// did not map).
    pub copy_bytes: u64,
    /// CPU time of those copies, picoseconds.
    pub copy_ps: u64,
    /// IRQs left without a vector (a CPU's vector space full).
    pub vector_alloc_failures: u64,
    /// Vectors taken with no action wired.
    pub spurious_vectors: u64,
    /// `napi_schedule` calls that found the instance already scheduled.
    pub napi_missed: u64,
    /// Packets user-space drivers took from the rings (`[vfio]`): they
    /// bypass the stack and go straight to their reads.
    pub pmd_taken: u64,
    /// Frames the driver took from a ring and discarded: the IOMMU had
    /// refused their data's write (a descriptor with an unmapped buffer).
    pub discarded_faulted: u64,
    /// Every delivery: the CPU and the time its copy ended (tests only).
    #[cfg(test)]
    pub deliveries: Vec<(CpuId, Time)>,
}

impl KernelStats {
    fn new(cpus: usize) -> KernelStats {
        KernelStats {
            latency: LatencyHistogram::new(),
            irq_latency: LatencyHistogram::new(),
            delivered: 0,
            delivered_bytes: 0,
            dropped_socket_full: 0,
            dropped_no_socket: 0,
            rx_from_rings: 0,
            socket_enqueued: 0,
            recv_dequeued: 0,
            interrupts_per_cpu: vec![0; cpus],
            sysvec: SysvecCounts { cal: vec![0; cpus], res: vec![0; cpus], tlb: vec![0; cpus], pmn: vec![0; cpus] },
            ipis: IpiStats::default(),
            handoffs: 0,
            cross_socket_handoffs: 0,
            nic_remote_packets: 0,
            out_of_order: 0,
            messages: 0,
            posted_notifications: 0,
            posted_scans: 0,
            posted_taken: 0,
            message_latency: LatencyHistogram::new(),
            copy_bytes: 0,
            copy_ps: 0,
            vector_alloc_failures: 0,
            spurious_vectors: 0,
            napi_missed: 0,
            pmd_taken: 0,
            discarded_faulted: 0,
            #[cfg(test)]
            deliveries: Vec::new(),
        }
    }
}

/// How the application process receives (`[process]`, `nic.header_split`).
#[derive(Clone, Copy, Debug)]
pub struct ZcParams {
    /// Readers remap pages instead of copying them.
    pub remap: bool,
    /// The NIC puts each payload at the start of a page of its own.
    pub header_split: bool,
}

/// One kernel.
pub struct Kernel {
    /// Which kernel it is (events are addressed to it).
    pub id: KernelId,
    /// The platform core each CPU runs on.
    pub cores: Vec<CoreId>,
    /// Tunables.
    pub params: KernelParams,
    /// Per-CPU execution state (context stacks, run queues).
    pub cpus: Vec<Cpu>,
    /// Per-CPU softirq state.
    pub softnet: Vec<Softnet>,
    /// Per-CPU vector spaces.
    pub vectors: Vec<VectorTable>,
    /// IRQ descriptors, by [`crate::ids::IrqId`].
    pub irqs: Vec<IrqDesc>,
    /// NAPI instances, one per RX queue of the driven NIC.
    pub napi: Vec<Napi>,
    /// Dynamic interrupt moderation per RX queue (`adaptive-rx`), else empty.
    pub dim: Vec<dim::Dim>,
    /// ixgbe's adaptive throttling per RX queue (`adaptive-rx` with
    /// `adaptive_scheme = "ixgbe_itr"`), else empty.
    pub itr: Vec<itr::Itr>,
    /// RPS/RFS/aRFS tables.
    pub rps: Rps,
    /// Per-flow state a packet touches, with each flow's socket.
    pub flows: Vec<FlowState>,
    /// Each flow's RSS hash (`skb->hash`), kept when RPS or RFS steer by
    /// it (else empty).
    pub flow_hash: Vec<u32>,
    /// How many flows RSS sends to each RX queue (as the NIC started).
    pub flows_per_queue: Vec<u32>,
    /// Per-flow handoff and reordering counts.
    pub flow_counts: FlowCounts,
    /// Application threads.
    pub threads: Vec<Thread>,
    /// The irqbalance-like rebalancer.
    pub balance: Balancer,
    /// The transmitting thread and its TX ring (`[tx]`).
    pub sender: Option<sender::Sender>,
    /// The TX queue's own NAPI instance (`separate` TX vectors).
    pub tx_napi: Napi,
    /// The NIC driver's state.
    pub adapter: Adapter,
    /// DMA mappings and the IOMMU driver's state.
    pub dma: iova::DmaState,
    /// The IOMMU's fault-event IRQ.
    pub dmar_irq: Option<crate::ids::IrqId>,
    /// Requester IDs of the misbehaving devices (`[[attackers]]`) its
    /// drivers bind.
    pub rogues: Vec<crate::ids::Rid>,
    /// The level devices this kernel drives (`[[devices]]` indices).
    pub level_devices: Vec<u32>,
    /// The IRQ of the TX queue's own vector (`separate` TX vectors).
    pub tx_irq: Option<crate::ids::IrqId>,
    /// The IRQ of each IO-APIC input (GSI) in use.
    gsi_irqs: Vec<Option<crate::ids::IrqId>>,
    /// The pending `poll_spurious_irq_timer`: when it expires and the CPU
    /// whose timer base holds it (the last CPU that called `mod_timer` on
    /// it); `None` until a line is first disabled.
    pub spurious_timer: Option<(Time, CpuId)>,
    /// The application process's address space across the CPUs.
    pub tlb: tlb::Tlb,
    /// The process's compute threads.
    pub compute: Vec<ComputeThread>,
    /// How the process's readers receive.
    pub zc: ZcParams,
    /// Per CPU: its posted-MSI notification handler's progress.
    pub posted_runs: Vec<vector::PostedMsiRun>,
    /// The VM this kernel is the guest of (`[vm]`), if any.
    pub virt: Option<crate::virt::Virt>,
    /// cgroup v2 CPU bandwidth state (`[[cgroups]]`).
    pub cgroups: Vec<cgroup::Cgroup>,
    /// The groups' batch threads, one per listed core.
    pub batch: Vec<cgroup::BatchThread>,
    /// Counters.
    pub stats: KernelStats,
}

impl Kernel {
    /// The kernel of a scenario, on `cores` (CPU i on `cores[i]`), driving
    /// NIC `nic` (its flows on the queues RSS gives them, with RSS hashes
    /// `flow_hash`), and every `[[devices]]` entry.
    pub fn new(id: KernelId, s: &Scenario, cores: Vec<CoreId>, nic: &Nic, flow_hash: Vec<u32>) -> Kernel {
        let n = cores.len();
        let topo = crate::platform::topology::Topology::new(s.machine.cores, s.machine.sockets);
        let affinity = affinity::initial_affinity(s, &topo);
        let queues = s.nic.queues as usize;
        let adapter = Adapter {
            nic: nic.id,
            mode: s.nic.interrupt_mode,
            level_eoi: s.driver.level_eoi,
            intx_trigger: s.nic.intx_trigger,
            intx_pin: s.nic.intx_pin as u8,
            affinity,
            irq_of_queue: vec![None; queues],
            numa_node: s.nic.numa_node,
            vfio: s.vfio.as_ref().map(|_| adapter::VfioPci { trigger: vec![None; queues], ..Default::default() }),
        };
        // Readers default to the CPU that takes each queue's interrupt.
        let queue_cpu: Vec<CpuId> = (0..queues).map(|q| adapter.queue_cpu(q)).collect();
        let (mut threads, owners) = build_threads(s, nic.flow_queues().len(), &queue_cpu);
        let mut adapter = adapter;
        if let (Some(v), Some(pci)) = (&s.vfio, adapter.vfio.as_mut()) {
            let irq_core: Vec<u32> = queue_cpu.iter().map(|c| c.0).collect();
            let owned = crate::config::VfioConfig::queues_of_threads(s, threads.len(), &irq_core);
            for (t, qs) in owned.into_iter().enumerate().filter(|(_, qs)| !qs.is_empty()) {
                for q in &qs {
                    pci.trigger[*q as usize] = Some(ThreadId(t as u32));
                }
                let qs = qs.into_iter().map(crate::ids::QueueId).collect();
                let mut pmd = crate::workload::pmd::PmdThread::new(v.mode, qs, v.rx_burst, v.idle_us);
                pmd.bad_dma_every = v.bad_dma_every;
                threads[t].pmd = Some(pmd);
            }
        }
        let rps = Rps::new(&s.kernel, s.nic.arfs, n as u32, s.nic.queues);
        // Only RPS and RFS read the hashes: otherwise they go before the
        // flow records are built (a million flows' peak memory).
        let flow_hash = if rps.enabled() { flow_hash } else { Vec::new() };
        let flows_per_queue = nic.flows_per_queue().to_vec();
        let flow_states: Vec<FlowState> =
            nic.flow_queues().enumerate().map(|(i, q)| FlowState::new(owners.of(i, q))).collect();
        Kernel {
            id,
            cores,
            params: KernelParams::new(&s.kernel),
            cpus: (0..n).map(|_| Cpu::default()).collect(),
            softnet: (0..n).map(|_| Softnet::default()).collect(),
            vectors: (0..n).map(|_| VectorTable::default()).collect(),
            irqs: Vec::new(),
            napi: vec![Napi::new(s.kernel.napi_weight); queues],
            dim: if s.nic.coalesce.adaptive_rx && s.nic.coalesce.adaptive_scheme == AdaptiveScheme::NetDim {
                vec![dim::Dim::default(); queues]
            } else {
                Vec::new()
            },
            itr: if s.nic.coalesce.adaptive_rx && s.nic.coalesce.adaptive_scheme == AdaptiveScheme::IxgbeItr {
                vec![itr::Itr::default(); queues]
            } else {
                Vec::new()
            },
            rps,
            flow_counts: FlowCounts::new(flow_states.len()),
            flows: flow_states,
            flow_hash,
            flows_per_queue,
            threads,
            balance: Balancer::new(s, n),
            sender: s.tx.as_ref().map(|t| sender::Sender {
                cpu: CpuId(t.core),
                state: sender::SenderState::Idle,
                pending: 0,
                interval: Dur::from_ns_f64(1e9 / t.doorbell_rate_per_s),
                batch: t.descriptors_per_doorbell,
                frame_bytes: t.frame_bytes,
                ring_size: t.ring_size,
                pair: crate::ids::QueueId(0),
                posted: 0,
                freed: 0,
                store_buffer: crate::memory::store_buffer::StoreBuffer::new(
                    t.model,
                    t.barrier,
                    t.mmio,
                    s.costs.memory.resolve(),
                    irqlab_engine::RngStreams::new(s.seed)
                        .stream(crate::memory::store_buffer::STORE_BUFFER_STREAM + t.core as u64),
                ),
                counts: sender::SenderCounts::default(),
                zerocopy: t.zerocopy
                    && t.descriptors_per_doorbell * crate::config::process::payload_bytes(t.frame_bytes as u32)
                        >= t.zerocopy_min_bytes,
                errqueue: Vec::new(),
            }),
            tx_napi: Napi::new(s.kernel.napi_weight),
            adapter,
            dma: iova::DmaState::new(s, n),
            dmar_irq: None,
            rogues: (0..s.attackers.len() as u32)
                .filter(|i| !s.attackers[*i as usize].kind.is_nic())
                .map(crate::devices::rogue::rogue_rid)
                .collect(),
            level_devices: (0..s.devices.len() as u32).collect(),
            tx_irq: None,
            gsi_irqs: vec![None; crate::platform::IOAPIC_PINS as usize],
            spurious_timer: None,
            tlb: tlb::Tlb::new(
                n,
                s.process.receive == crate::config::ReceiveMode::Remap,
                s.kernel.tlb_single_page_flush_ceiling,
            ),
            compute: crate::config::ProcessConfig::compute_cores(s)
                .into_iter()
                .map(|c| ComputeThread { cpu: CpuId(c), work: Dur::ZERO })
                .collect(),
            posted_runs: vec![vector::PostedMsiRun::default(); n],
            virt: None,
            zc: ZcParams {
                remap: s.process.receive == crate::config::ReceiveMode::Remap,
                header_split: s.nic.header_split,
            },
            cgroups: s.cgroups.iter().map(cgroup::Cgroup::new).collect(),
            batch: s
                .cgroups
                .iter()
                .enumerate()
                .flat_map(|(g, c)| {
                    c.batch_cores.iter().map(move |core| cgroup::BatchThread { cpu: CpuId(*core), group: g })
                })
                .collect(),
            stats: KernelStats::new(n),
        }
    }

    /// Boots the kernel: local APIC set-up on its cores, then the drivers'
    /// probes (which program the chips and enable the devices' interrupts).
    pub fn boot(&mut self, cx: &mut Cx) {
        if self.params.cfg.directed_eoi {
            for core in &self.cores {
                cx.platform.lapic_suppress_eoi_broadcast(*core, true);
            }
        }
        self.guest_boot(cx);
        self.probe_iommu(cx);
        self.probe_driver(cx);
        self.probe_devices(cx);
    }

    /// Starts the kernel's periodic work (after the devices have started).
    pub fn start(&mut self, cx: &mut Cx) {
        self.start_irqbalance(cx);
        self.start_sender(cx);
        self.start_compute(cx);
        self.vfio_start(cx);
        self.start_batch(cx);
    }

    /// Handles one of this kernel's events.
    pub fn on_event(&mut self, ev: KernelEvent, cx: &mut Cx) {
        match ev {
            KernelEvent::CpuDone { cpu, epoch } => self.cpu_done(cpu, epoch, cx),
            KernelEvent::TaskWake { thread } => self.task_wake(thread, cx),
            KernelEvent::HostTask { cpu } => self.host_task(cpu, cx),
            KernelEvent::SpuriousPoll => self.spurious_poll(cx),
            KernelEvent::IrqBalance => self.irqbalance(cx),
            KernelEvent::IrqMoveDone { irq } => self.irq_move_done(irq, cx),
            KernelEvent::SendTimer => self.send_timer(cx),
            KernelEvent::SenderWake => self.sender_wake(cx),
            KernelEvent::IommuFlushTimer => self.iommu_flush_timer(cx),
            KernelEvent::TimerDebt => self.timer_debt(cx),
            KernelEvent::TlbAck { cpu } => self.tlb_ack(cpu, cx),
            KernelEvent::CgroupPeriod { group } => self.cg_period(group as usize, cx),
        }
    }

    /// Charges every CPU's running frame up to `now` (end of a run).
    pub fn settle(&mut self, now: Time) {
        for c in &mut self.cpus {
            c.settle(now);
        }
    }

    /// Schedules one of this kernel's events.
    fn at(&self, cx: &mut Cx, t: Time, ev: KernelEvent) {
        cx.sim.at(t, Event::Kernel { kernel: self.id, ev });
    }

    /// The IRQ on IO-APIC input `gsi`.
    fn gsi_irq(&self, gsi: u8) -> Option<crate::ids::IrqId> {
        self.gsi_irqs.get(gsi as usize).copied().flatten()
    }

    /// Records the IRQ of IO-APIC input `gsi`.
    fn set_gsi_irq(&mut self, gsi: u8, irq: crate::ids::IrqId) {
        if let Some(slot) = self.gsi_irqs.get_mut(gsi as usize) {
            *slot = Some(irq);
        }
    }

    /// The platform core of a CPU.
    fn core(&self, cpu: CpuId) -> CoreId {
        self.cores[cpu.idx()]
    }
}
