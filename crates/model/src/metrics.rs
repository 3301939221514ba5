//! The metrics document of one run (schema: docs/metrics.md).
//!
//! Each part reports its own sections — the NIC its interrupt counters, the
//! platform the interrupt window and the IO-APIC, the kernel its CPUs, IRQ
//! descriptors, NAPI, steering and applications — and [`assemble`] places
//! them, computing only the run-wide rates. Field order is the document's
//! key order.

use crate::devices::level::LevelDevice;
use crate::devices::nic::{MsiCapStats, MsixStats, Nic};
use crate::kernel::Kernel;
use crate::kernel::report::ratio;
use crate::platform::{IoapicStats, MsiStats, Platform};
use irqlab_engine::{LatencySummary, LawViolation, Time};
use serde::Serialize;
use std::collections::BTreeMap;

pub use crate::kernel::report::{
    AppMetrics, BusyFrac, CopyMetrics, CoreMetrics, NapiMetrics, ProcessMetrics, SteeringMetrics, TlbMetrics,
    VectorMetrics,
};

/// The version of the metrics document's schema: raised when a key's
/// meaning changes or a key goes away (added keys do not raise it).
pub const METRICS_SCHEMA_VERSION: u32 = 1;

/// The version of irqlab (the workspace's version) a metrics document
/// records: a replay by another version may differ.
pub const IRQLAB_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The metrics document of one run.
#[derive(Clone, Debug, Serialize)]
pub struct Metrics {
    /// [`METRICS_SCHEMA_VERSION`]: `irqlab compare` refuses to compare
    /// documents of different versions.
    pub schema_version: u32,
    /// The irqlab version that ran it ([`IRQLAB_VERSION`]).
    pub irqlab_version: &'static str,
    /// Scenario name.
    pub scenario: String,
    /// Master seed.
    pub seed: u64,
    /// Simulated seconds.
    pub duration_s: f64,
    /// Packet accounting.
    pub packets: PacketMetrics,
    /// The replay of a capture (`workload.pcap`), when there is one: the
    /// frames replayed, those not offered by reason, those serialised.
    pub pcap: Option<crate::workload::replay::ReplayMetrics>,
    /// Rates.
    pub throughput: Throughput,
    /// Wire-to-application latency, nanoseconds.
    pub latency_ns: LatencySummary,
    /// The same latency distribution as CDF points (quantile, ns) for
    /// plotting; empty when nothing was delivered.
    pub latency_cdf_ns: Vec<irqlab_engine::CdfPoint>,
    /// Per-core CPU use.
    pub cpu: Vec<CoreMetrics>,
    /// Interrupt counts.
    pub interrupts: InterruptMetrics,
    /// Inter-processor interrupts.
    pub ipis: IpiMetrics,
    /// The DMA port: the devices' memory accesses.
    pub dma: DmaMetrics,
    /// RPS/RFS/aRFS and locality.
    pub steering: SteeringMetrics,
    /// NAPI and softirq counters.
    pub napi: NapiMetrics,
    /// `/proc/net/softnet_stat`, one row per CPU.
    pub softnet: Vec<crate::kernel::report::SoftnetRow>,
    /// `ethtool -S`-style per-RX-queue counters.
    pub queues: Vec<crate::kernel::report::QueueRow>,
    /// Application counters.
    pub apps: AppMetrics,
    /// The application process: receive mode, messages, compute threads.
    pub process: ProcessMetrics,
    /// TLB maintenance for zero-copy receive.
    pub tlb: TlbMetrics,
    /// Copies to user space.
    pub copy: CopyMetrics,
    /// Engine work.
    pub engine: EngineMetrics,
    /// Level-triggered devices (`[[devices]]`).
    pub devices: Vec<DeviceMetrics>,
    /// The transmit path (`[tx]`), if any.
    pub tx: Option<TxMetrics>,
    /// The IOMMU's DMA remapping and the kernel's DMA mapping, when the
    /// platform has a unit.
    pub iommu: Option<IommuMetrics>,
    /// Interrupt remapping, when on.
    pub ir: Option<crate::platform::iommu::ir::IrCounts>,
    /// Posted interrupts, when any IRTE is posted-format.
    pub posted: Option<PostedMetrics>,
    /// The VM the NIC is assigned to (`[vm]`).
    pub vm: Option<crate::kernel::report::VmMetrics>,
    /// Every VM of the run, `[vm]` then `[[vms]]`, each from its own guest
    /// kernel and VF (absent without VMs).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vms: Vec<VmSummary>,
    /// Each `[[cgroups]]` entry's `cpu.stat`, in declaration order.
    pub cgroup: Vec<CgroupMetrics>,
    /// The NIC bound to `vfio-pci` with a user-space driver (`[vfio]`).
    pub vfio: Option<VfioMetrics>,
    /// Misbehaving devices (`[[attackers]]`).
    pub attackers: Vec<AttackerMetrics>,
    /// The drain after the run: packets that never got out, and why.
    pub progress: crate::progress::Progress,
    /// Conservation laws: empty when all hold.
    pub law_violations: Vec<LawViolation>,
    /// The scenario as run, every key resolved (built-in or file, overrides,
    /// cost file applied): with `seed` and `irqlab_version`, what
    /// `irqlab run --replay` needs to run it again.
    pub resolved_scenario: crate::Scenario,
}

/// Posted interrupts: the remapping hardware's posting and the kernel's
/// notification handlers.
#[derive(Clone, Debug, Serialize)]
pub struct PostedMetrics {
    /// Messages posted into descriptors.
    pub requests: u64,
    /// Of which found their vector's PIR bit already set.
    pub pir_merges: u64,
    /// Notifications sent (ON was clear, and URG or SN clear).
    pub notifications: u64,
    /// Requests whose notification SN suppressed.
    pub suppressed: u64,
    /// Notifications the CPUs took (their handlers ran).
    pub notifications_taken: u64,
    /// PIR scans the handlers made.
    pub scans: u64,
    /// Device vectors the scans took (each ran its handler).
    pub vectors_taken: u64,
    /// Requests per notification sent: the coalescing.
    pub requests_per_notification: f64,
}

/// One level-triggered device.
#[derive(Clone, Debug, Serialize)]
pub struct DeviceMetrics {
    /// Its name.
    pub name: String,
    /// Its IO-APIC pin.
    pub pin: u32,
    /// Event accounting.
    #[serde(flatten)]
    pub counts: crate::devices::level::DeviceCounts,
    /// Whether its cause is still set at the end.
    pub pending: bool,
}

/// Packet accounting: offered = delivered + Σ dropped + in_flight.
#[derive(Clone, Debug, Serialize)]
pub struct PacketMetrics {
    /// Frames that reached the NIC's rings (or were dropped there).
    pub offered: u64,
    /// Frames read by applications.
    pub delivered: u64,
    /// Drops by reason.
    pub dropped: BTreeMap<&'static str, u64>,
    /// Frames in rings, polls, sockets or reads at the end.
    pub in_flight: u64,
    /// Frames the driver received corrupted (ground truth it cannot see):
    /// a misbehaving device's write reached the buffer after the frame
    /// landed, or the NIC wrote the frame elsewhere and left the buffer stale.
    pub corrupted: u64,
}

/// Rates over the run.
#[derive(Clone, Debug, Serialize)]
pub struct Throughput {
    /// Offered packets per second.
    pub offered_pps: f64,
    /// Delivered packets per second.
    pub delivered_pps: f64,
    /// Delivered frame bits per second, in Gbit/s.
    pub delivered_gbps: f64,
}

/// Interrupt counts.
#[derive(Clone, Debug, Serialize)]
pub struct InterruptMetrics {
    /// Hard interrupts taken, all cores.
    pub total: u64,
    /// Interrupts per delivered packet.
    pub per_packet: f64,
    /// Interrupts per second.
    pub per_second: f64,
    /// Interrupt latency, ns: from a NIC queue raising its interrupt (the
    /// first raise since its handler last ran) to the flow handler's entry
    /// for it — in a VM, the guest's handler, through exits, posting and
    /// wakeups.
    pub latency_ns: irqlab_engine::LatencySummary,
    /// Hard interrupts per core.
    pub per_core: Vec<u64>,
    /// Per IRQ descriptor (one vector each): chip, routing, counts.
    pub per_vector: Vec<VectorMetrics>,
    /// MSI-X function counters.
    pub msix: MsixStats,
    /// MSI capability counters.
    pub msi_cap: MsiCapStats,
    /// Cause bits raised on the INTx line.
    pub intx_raised: u64,
    /// IO-APIC counters.
    pub ioapic: IoapicStats,
    /// IO-APIC re-deliveries because the line was still asserted at EOI.
    pub ioapic_eoi_redeliveries: u64,
    /// Interrupts that no handler claimed (`IRQ_NONE`).
    pub unhandled: u64,
    /// IRQs disabled by the "nobody cared" rule.
    pub lines_disabled: u64,
    /// IRQ moves by the irqbalance-like rebalancer.
    pub affinity_moves: u64,
    /// Moves abandoned for lack of a free vector on the target core.
    pub affinity_failed_moves: u64,
    /// Platform MSI counters.
    pub msi: MsiStats,
    /// Vectors taken with nothing wired.
    pub spurious: u64,
    /// System-vector rows of `/proc/interrupts`, one count per CPU: `CAL`
    /// (function calls: RPS kicks), `RES` (rescheduling), `TLB` (TLB
    /// shootdowns), `PMN` (posted-MSI notifications), and in a VM `PIN`
    /// (posted-interrupt notifications consumed in guest mode) and `PIW`
    /// (posted-interrupt wakeups).
    pub system: std::collections::BTreeMap<&'static str, Vec<u64>>,
}

/// IPIs.
#[derive(Clone, Debug, Serialize)]
pub struct IpiMetrics {
    /// IPIs sent, all kinds.
    pub total: u64,
    /// IPIs per delivered packet.
    pub per_packet: f64,
    /// RPS backlog kicks.
    pub rps: u64,
    /// Reschedule IPIs to idle cores.
    pub reschedule: u64,
    /// TLB shootdown IPIs.
    pub tlb: u64,
}

/// The transmit path: the sender and the driver, and the NIC's TX queue.
#[derive(Clone, Debug, Serialize)]
pub struct TxMetrics {
    /// How completions interrupt: `txrx` or `separate`.
    pub vectors: crate::config::TxVectors,
    /// Doorbells the driver rang.
    pub doorbells: u64,
    /// Descriptors the driver wrote.
    pub descriptors_posted: u64,
    /// Descriptor reads by the NIC (a descriptor fetched twice counts twice).
    pub descriptors_read: u64,
    /// Reads that saw any field of a descriptor before its store was visible.
    pub stale_descriptor_reads: u64,
    /// Stale reads with the previous lap's generation bit (refetched).
    pub stale_ownership_reads: u64,
    /// Stale reads with the current generation but a stale buffer address.
    pub torn_descriptor_reads: u64,
    /// Fetches repeated after a stale-ownership read.
    pub refetches: u64,
    /// Frames sent from the descriptor the driver wrote.
    pub transmitted_ok: u64,
    /// Frames sent from a torn descriptor (wrong buffer).
    pub corrupted_transmissions: u64,
    /// Payload reads the IOMMU refused (a torn descriptor's stale buffer
    /// address, already unmapped).
    pub payload_faults: u64,
    /// Descriptors posted and not yet transmitted at the end.
    pub in_flight: u64,
    /// Descriptors the NIC wrote DD back to (those with RS).
    pub completions: u64,
    /// TX interrupts the NIC raised (on the shared or its own vector).
    pub tx_interrupts: u64,
    /// Descriptors the TX clean-up reclaimed.
    pub cleaned: u64,
    /// Times the driver found the ring too full to post and waited.
    pub ring_full_waits: u64,
    /// CPU time the sender's CPU spent stalled in `dsb st`, ns.
    pub barrier_stall_ns: f64,
    /// Stale descriptor reads per million doorbells.
    pub stale_reads_per_million_doorbells: f64,
    /// Frames per second put on the wire.
    pub transmitted_pps: f64,
    /// `MSG_ZEROCOPY` sends, their pinned pages and completions (all 0
    /// when sends copy).
    pub zerocopy: crate::kernel::sender::SenderZerocopy,
}

/// The DMA port.
#[derive(Clone, Debug, Serialize)]
pub struct DmaMetrics {
    /// Accesses the devices issued: the NIC's (RX descriptor reads, buffer
    /// writes and descriptor write-backs; TX descriptor fetches, payload
    /// reads and write-backs; a misbehaving NIC's late writes) and the
    /// misbehaving devices'.
    pub requests: u64,
    /// Accesses memory completed.
    pub completed: u64,
    /// Accesses the IOMMU refused.
    pub faulted: u64,
    /// Bytes written to memory.
    pub bytes_written: u64,
    /// Bytes read from memory.
    pub bytes_read: u64,
    /// Misbehaving devices' writes that landed in memory.
    pub unprotected_writes: u64,
    /// Their bytes.
    pub unprotected_bytes: u64,
    /// Of those writes, the ones into kernel memory.
    pub unprotected_kernel: u64,
    /// The ones into a device's buffers.
    pub unprotected_device: u64,
}

/// The IOMMU's DMA remapping, and the kernel's DMA mapping through it.
#[derive(Clone, Debug, Serialize)]
pub struct IommuMetrics {
    /// `off`, `passthrough`, `strict` or `lazy`.
    pub mode: &'static str,
    /// How receive buffers are mapped: `page_pool` or `per_packet`.
    pub mapping: crate::config::DmaMapping,
    /// Page size of the page pool's mappings.
    pub page_size: &'static str,
    /// The unit's counters (translations, IOTLB, walks, faults by reason,
    /// stale-window DMAs).
    #[serde(flatten)]
    pub unit: crate::platform::iommu::IommuStats,
    /// IOTLB hits / (hits + misses).
    pub iotlb_hit_rate: f64,
    /// Page walks per DMA request translated.
    pub walks_per_dma: f64,
    /// Mean time a DMA request waited for its translation, ns.
    pub stall_ns_per_dma: f64,
    /// IOTLB invalidations per delivered packet.
    pub invalidations_per_packet: f64,
    /// Faults lost to a full set of recording registers (FSTS.PFO).
    pub fault_overflows: u64,
    /// The fault-recording registers' counters.
    pub fault_records: crate::platform::iommu::faults::FaultCounts,
    /// The first fault records the unit wrote, as 32 hex digits (bits
    /// 127:0), ready for `irqlab decode vtd-fault`.
    pub first_fault_records: Vec<String>,
    /// Mean time a stale IOTLB entry stayed usable after its unmap, µs.
    pub stale_window_us_mean: f64,
    /// The longest such time, µs.
    pub stale_window_us_max: f64,
    /// The kernel's DMA API and IOMMU driver.
    pub dma_api: crate::kernel::iova::DmaCounts,
    /// CPU time of mapping, unmapping and invalidation waits per delivered packet, ns.
    pub map_cpu_ns_per_packet: f64,
}

/// One misbehaving device.
#[derive(Clone, Debug, Serialize)]
pub struct AttackerMetrics {
    /// Its name.
    pub name: String,
    /// `dma`, `msi` or `late_dma`.
    pub kind: crate::config::AttackKind,
    /// Its requester ID (bus:device.function); the NIC's for `late_dma`.
    pub requester_id: String,
    /// Attempts made (late writes for `late_dma`).
    pub attempts: u64,
    /// DMA writes that landed.
    pub dma_landed: u64,
    /// DMA writes the IOMMU refused.
    pub dma_blocked: u64,
    /// What became of its interrupt messages (`msi`).
    pub msi: Option<crate::platform::MsiOutcomes>,
}

/// Engine work measures.
#[derive(Clone, Debug, Serialize)]
pub struct EngineMetrics {
    /// Events processed.
    pub events: u64,
    /// Events per offered packet.
    pub events_per_packet: f64,
}

/// The parts of a finished run, as the metrics read them.
pub struct Parts<'a> {
    /// The scenario, as given to the machine.
    pub scenario: &'a crate::Scenario,
    /// When the run ended.
    pub end: Time,
    /// Events processed.
    pub events: u64,
    /// The platform.
    pub platform: &'a Platform,
    /// The NIC the host kernel drives.
    pub nic: &'a Nic,
    /// The host kernel.
    pub kernel: &'a Kernel,
    /// The level devices.
    pub devices: &'a [LevelDevice],
    /// The misbehaving devices.
    pub rogues: &'a [crate::devices::rogue::RogueDevice],
    /// The scenario's `[[attackers]]` (for the NIC's own misbehaviour).
    pub attackers: &'a [crate::config::AttackerConfig],
    /// The run's costs.
    pub costs: &'a crate::costs::Costs,
}

/// One cgroup's CPU controller at the end of a run.
#[derive(Clone, Debug, Serialize)]
pub struct CgroupMetrics {
    /// Its name.
    pub name: String,
    /// `cpu.max` quota, µs (`null`: `max`).
    pub cpu_max_us: Option<u64>,
    /// `cpu.max` period, µs.
    pub period_us: u64,
    /// `cpu.weight`.
    pub weight: u32,
    /// Cores running one of its batch threads.
    pub batch_cores: Vec<u32>,
    /// `cpu.stat`: `usage_ns`, `nr_periods`, `nr_throttled`, `throttled_ns`.
    #[serde(flatten)]
    pub stat: crate::kernel::cgroup::CpuStat,
}

/// VFIO and the user-space driver at the end of a run (`[vfio]`).
#[derive(Clone, Debug, Serialize)]
pub struct VfioMetrics {
    /// The driver's mode: `poll`, `interrupt` or `adaptive`.
    pub mode: &'static str,
    /// `VFIO_IOMMU_MAP_DMA` calls (each queue's ring and buffer area).
    pub dma_maps: u64,
    /// 4 KiB pages those maps pinned.
    pub pinned_pages: u64,
    /// Eventfd signals `vfio_msihandler` sent (host, hard IRQ).
    pub irq_eventfd_signals: u64,
    /// Eventfd increments the driver threads' reads consumed.
    pub eventfd_reads: u64,
    /// Times a driver thread went to sleep in `epoll_wait`.
    pub sleeps: u64,
    /// Times a sleeping driver thread was woken.
    pub wakeups: u64,
    /// Wakeups per delivered packet.
    pub wakeups_per_packet: f64,
    /// `rte_eth_rx_burst` calls.
    pub rx_bursts: u64,
    /// Of which found no frame.
    pub empty_bursts: u64,
    /// CPU time the threads spent spinning on empty rings, ns.
    pub spin_ns: u64,
    /// Descriptors the driver programmed with a stray address
    /// (`vfio.bad_dma_every`).
    pub bad_dma: u64,
    /// Frames it discarded because the IOMMU had refused their data.
    pub discarded_faulted: u64,
    /// Each driver thread.
    pub threads: Vec<PmdThreadMetrics>,
}

/// One user-space driver thread.
#[derive(Clone, Debug, Serialize)]
pub struct PmdThreadMetrics {
    /// Its CPU.
    pub cpu: u32,
    /// The RX queues it owns.
    pub queues: Vec<u32>,
    /// Packets it received.
    pub packets: u64,
    /// Its counters.
    #[serde(flatten)]
    pub counts: crate::workload::pmd::PmdCounts,
    /// Times it was woken.
    pub wakeups: u64,
}

fn vfio_metrics(k: &Kernel, delivered: u64) -> Option<VfioMetrics> {
    let pci = k.adapter.vfio.as_ref()?;
    let threads: Vec<PmdThreadMetrics> = k
        .threads
        .iter()
        .filter_map(|t| {
            let p = t.pmd.as_ref()?;
            Some(PmdThreadMetrics {
                cpu: t.cpu.0,
                queues: p.queues.iter().map(|q| q.0).collect(),
                packets: t.received,
                counts: p.counts,
                wakeups: t.wakeups,
            })
        })
        .collect();
    let mode = k.threads.iter().find_map(|t| t.pmd.as_ref()).map_or("poll", |p| p.mode.name());
    let sum = |f: fn(&PmdThreadMetrics) -> u64| -> u64 { threads.iter().map(f).sum() };
    let wakeups = sum(|t| t.wakeups);
    Some(VfioMetrics {
        mode,
        dma_maps: pci.counts.dma_maps,
        pinned_pages: pci.counts.pinned_pages,
        irq_eventfd_signals: pci.counts.irq_eventfd_signals,
        eventfd_reads: sum(|t| t.counts.eventfd_consumed),
        sleeps: sum(|t| t.counts.sleeps),
        wakeups,
        wakeups_per_packet: if delivered == 0 { 0.0 } else { wakeups as f64 / delivered as f64 },
        rx_bursts: sum(|t| t.counts.rx_bursts),
        empty_bursts: sum(|t| t.counts.empty_bursts),
        spin_ns: sum(|t| t.counts.spin_ns),
        bad_dma: sum(|t| t.counts.bad_dma),
        discarded_faulted: k.stats.discarded_faulted,
        threads,
    })
}

/// Packet counts of a run, each counted where it happened.
#[derive(Clone, Copy, Debug)]
pub struct PacketCounts {
    /// Frames that reached the NIC (landed or dropped there).
    pub offered: u64,
    /// Read by applications.
    pub delivered: u64,
    /// Dropped at a full ring.
    pub ring_full: u64,
    /// Dropped at a full socket.
    pub socket_full: u64,
    /// Dropped for want of a socket.
    pub no_socket: u64,
    /// Dropped at a full backlog.
    pub backlog_full: u64,
    /// Dropped because the IOMMU refused one of the frame's DMAs.
    pub iommu_fault: u64,
    /// In rings at the end.
    pub in_rings: u64,
    /// In backlogs and polls at the end.
    pub in_polls: u64,
    /// In sockets and `recv` bursts at the end.
    pub in_sockets: u64,
}

impl PacketCounts {
    /// The counts of a run's parts.
    pub fn of(nic: &Nic, kernel: &Kernel) -> PacketCounts {
        let rx =
            |f: fn(&crate::devices::nic::rx::RxCounts) -> u64| -> u64 { nic.queues.iter().map(|q| f(&q.counts)).sum() };
        let (in_polls, in_sockets) = kernel.held();
        PacketCounts {
            offered: rx(|c| c.offered),
            delivered: kernel.stats.delivered,
            ring_full: rx(|c| c.dropped_ring_full),
            socket_full: kernel.stats.dropped_socket_full,
            no_socket: kernel.stats.dropped_no_socket,
            backlog_full: kernel.dropped_backlog(),
            // Refused at the NIC, or landed over a refused buffer write and
            // discarded by the driver.
            iommu_fault: rx(|c| c.dropped_iommu_fault) + kernel.stats.discarded_faulted,
            in_rings: nic.queues.iter().map(|q| q.in_ring()).sum(),
            in_polls,
            in_sockets,
        }
    }

    /// Packets anywhere inside the machine at the end.
    pub fn in_flight(&self) -> u64 {
        self.in_rings + self.in_polls + self.in_sockets
    }
}

/// The metrics document of a finished run.
pub fn assemble(p: &Parts, law_violations: Vec<LawViolation>) -> Metrics {
    let k = p.kernel;
    let st = &k.stats;
    let secs = p.end.as_secs_f64();
    let pc = PacketCounts::of(p.nic, k);
    let mut dropped = BTreeMap::new();
    dropped.insert("rx_ring_full", pc.ring_full);
    dropped.insert("socket_full", pc.socket_full);
    dropped.insert("no_socket", pc.no_socket);
    dropped.insert("backlog_full", pc.backlog_full);
    dropped.insert("iommu_fault", pc.iommu_fault);
    let taken: u64 = st.interrupts_per_cpu.iter().sum();
    let nic_irq = &p.nic.stats;
    let ps = &p.platform.stats;
    Metrics {
        schema_version: METRICS_SCHEMA_VERSION,
        irqlab_version: IRQLAB_VERSION,
        scenario: p.scenario.name.clone(),
        seed: p.scenario.seed,
        duration_s: secs,
        packets: PacketMetrics {
            offered: pc.offered,
            delivered: pc.delivered,
            dropped,
            in_flight: pc.in_flight(),
            corrupted: k.dma.counts.rx_corrupted
                + p.nic.queues.iter().map(|q| q.counts.misdirected_landed).sum::<u64>(),
        },
        pcap: p.nic.replay().map(|r| r.metrics()),
        throughput: Throughput {
            offered_pps: pc.offered as f64 / secs,
            delivered_pps: pc.delivered as f64 / secs,
            delivered_gbps: st.delivered_bytes as f64 * 8.0 / secs / 1e9,
        },
        latency_ns: st.latency.summary(),
        latency_cdf_ns: st.latency.cdf(),
        cpu: k.report_cpus(p.end, p.platform),
        interrupts: InterruptMetrics {
            total: taken,
            per_packet: ratio(taken, pc.delivered),
            per_second: taken as f64 / secs,
            per_core: st.interrupts_per_cpu.clone(),
            per_vector: k.report_vectors(),
            msix: nic_irq.msix.clone(),
            msi_cap: nic_irq.msi_cap.clone(),
            intx_raised: nic_irq.intx_raised,
            ioapic: ps.ioapic.clone(),
            ioapic_eoi_redeliveries: ps.ioapic_eoi_redeliveries,
            unhandled: k.irqs.iter().map(|d| d.unhandled).sum(),
            lines_disabled: k.irqs.iter().filter(|d| d.spurious_disabled).count() as u64,
            affinity_moves: k.balance.moves,
            affinity_failed_moves: k.balance.failed_moves,
            msi: ps.msi.clone(),
            spurious: st.spurious_vectors,
            system: k.report_sysvec(),
            latency_ns: st.irq_latency.summary(),
        },
        ipis: IpiMetrics {
            total: st.ipis.sent,
            per_packet: ratio(st.ipis.sent, pc.delivered),
            rps: st.ipis.rps,
            reschedule: st.ipis.reschedule,
            tlb: st.ipis.tlb,
        },
        dma: DmaMetrics {
            requests: p.nic.dma_requests() + p.rogues.iter().map(|r| r.dma_requests()).sum::<u64>(),
            completed: ps.dma.completed,
            faulted: ps.dma.faults,
            bytes_written: ps.dma.bytes_written,
            bytes_read: ps.dma.bytes_read,
            unprotected_writes: ps.dma.unprotected_writes,
            unprotected_bytes: ps.dma.unprotected_bytes,
            unprotected_kernel: ps.dma.unprotected_kernel,
            unprotected_device: ps.dma.unprotected_device,
        },
        steering: k.report_steering(),
        napi: k.report_napi(),
        softnet: k.report_softnet(),
        queues: p
            .nic
            .queues
            .iter()
            .enumerate()
            .map(|(q, r)| crate::kernel::report::QueueRow {
                queue: q as u32,
                packets: r.counts.taken,
                bytes: r.counts.bytes,
                drops: r.counts.dropped_ring_full + r.counts.dropped_iommu_fault,
                interrupts: r.counts.raised,
                interrupts_per_s: r.counts.raised as f64 / secs,
                rx_usecs: r.moderation.0,
                rx_frames: r.moderation.1,
                moderation_changes: r.counts.moderation_changes,
                buffer_faults: r.counts.buffer_faults,
            })
            .collect(),
        apps: k.report_apps(),
        process: k.report_process(),
        tlb: k.report_tlb(),
        copy: k.report_copy(),
        engine: EngineMetrics { events: p.events, events_per_packet: ratio(p.events, pc.offered) },
        devices: p
            .devices
            .iter()
            .map(|d| DeviceMetrics {
                name: d.cfg.name.clone(),
                pin: d.cfg.pin,
                counts: d.counts.clone(),
                pending: d.cause,
            })
            .collect(),
        tx: tx_metrics(p),
        iommu: iommu_metrics(p, pc.delivered),
        ir: p.platform.iommu.as_ref().and_then(|u| u.ir.as_ref()).map(|ir| ir.counts.clone()),
        posted: posted_metrics(p),
        vm: k.report_vm(p.end, pc.delivered, p.nic.backend.as_ref()),
        vms: Vec::new(),
        cgroup: k
            .cgroups
            .iter()
            .enumerate()
            .map(|(gi, g)| CgroupMetrics {
                name: g.name.clone(),
                cpu_max_us: g.quota.map(|q| q.as_ns() / 1000),
                period_us: g.period.as_ns() / 1000,
                weight: g.weight,
                batch_cores: k.batch.iter().filter(|b| b.group == gi).map(|b| b.cpu.0).collect(),
                stat: g.stat.clone(),
            })
            .collect(),
        vfio: vfio_metrics(k, pc.delivered),
        attackers: attacker_metrics(p),
        progress: crate::progress::Progress::default(),
        law_violations,
        resolved_scenario: p.scenario.clone(),
    }
}

/// The posted-interrupt section, when anything was posted (or the kernel
/// posts its MSIs).
fn posted_metrics(p: &Parts) -> Option<PostedMetrics> {
    let ps = &p.platform.stats.posted;
    let st = &p.kernel.stats;
    let vm = p.kernel.virt.as_ref();
    if ps.requests == 0 && !p.kernel.dma.posted_msi && vm.is_none() {
        return None;
    }
    Some(PostedMetrics {
        requests: ps.requests,
        pir_merges: ps.merged,
        notifications: ps.notifications,
        suppressed: ps.suppressed,
        notifications_taken: st.posted_notifications + vm.map_or(0, |v| v.counts.notifications_in_guest),
        scans: st.posted_scans,
        vectors_taken: st.posted_taken + vm.map_or(0, |v| v.counts.pir_taken),
        requests_per_notification: ratio(ps.requests, ps.notifications),
    })
}

/// The IOMMU section, when the platform has a unit.
fn iommu_metrics(p: &Parts, delivered: u64) -> Option<IommuMetrics> {
    let u = p.platform.iommu.as_ref()?;
    let st = &u.stats;
    let d = &p.kernel.dma;
    let looked_up = st.iotlb_hits + st.iotlb_misses;
    let us = |ps: u64| ps as f64 / 1e6;
    let map_cpu_ps = d.counts.maps * p.costs.dma_map.as_ps()
        + d.counts.unmaps * p.costs.dma_unmap.as_ps()
        + d.counts.invalidation_wait_ps;
    Some(IommuMetrics {
        mode: u.mode().name(),
        mapping: d.mapping,
        page_size: match d.pool_shift {
            21 => "2m",
            30 => "1g",
            _ => "4k",
        },
        unit: st.clone(),
        iotlb_hit_rate: ratio(st.iotlb_hits, looked_up),
        walks_per_dma: ratio(st.page_walks, st.translations),
        stall_ns_per_dma: if st.translations == 0 { 0.0 } else { st.stall_ps as f64 / 1e3 / st.translations as f64 },
        invalidations_per_packet: ratio(st.invalidations, delivered),
        fault_overflows: u.faults.counts.overflows,
        fault_records: u.faults.counts.clone(),
        first_fault_records: u.faults.first.iter().map(|r| format!("{r:#034x}")).collect(),
        stale_window_us_mean: if st.stale_entries == 0 {
            0.0
        } else {
            us(st.stale_window_ps) / st.stale_entries as f64
        },
        stale_window_us_max: us(st.stale_window_max_ps),
        dma_api: crate::kernel::iova::DmaCounts { iova_reused: d.alloc.cached, ..d.counts.clone() },
        map_cpu_ns_per_packet: if delivered == 0 { 0.0 } else { map_cpu_ps as f64 / 1e3 / delivered as f64 },
    })
}

/// One entry per `[[attackers]]` entry, in order.
fn attacker_metrics(p: &Parts) -> Vec<AttackerMetrics> {
    let mut out: Vec<(u32, AttackerMetrics)> = p
        .rogues
        .iter()
        .map(|r| {
            (
                r.index,
                AttackerMetrics {
                    name: r.cfg.name.clone(),
                    kind: r.cfg.kind,
                    requester_id: r.rid.to_string(),
                    attempts: r.counts.attempts,
                    dma_landed: r.counts.dma_landed,
                    dma_blocked: r.counts.dma_blocked,
                    msi: (r.cfg.kind == crate::config::AttackKind::Msi)
                        .then(|| p.platform.stats.msi_by_source.get(&r.rid.0).cloned().unwrap_or_default()),
                },
            )
        })
        .collect();
    let rx =
        |f: fn(&crate::devices::nic::rx::RxCounts) -> u64| -> u64 { p.nic.queues.iter().map(|q| f(&q.counts)).sum() };
    for (i, a) in p.attackers.iter().enumerate() {
        let (attempts, landed) = match a.kind {
            crate::config::AttackKind::LateDma => (rx(|c| c.late_writes), rx(|c| c.late_landed)),
            crate::config::AttackKind::Misdirect => (rx(|c| c.misdirected), rx(|c| c.misdirected_landed)),
            _ => continue,
        };
        out.push((
            i as u32,
            AttackerMetrics {
                name: a.name.clone(),
                kind: a.kind,
                requester_id: p.nic.rid.to_string(),
                attempts,
                dma_landed: landed,
                dma_blocked: attempts - landed,
                msi: None,
            },
        ));
    }
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, m)| m).collect()
}

/// The transmit path's section, when the scenario transmits.
fn tx_metrics(p: &Parts) -> Option<TxMetrics> {
    let s = p.kernel.sender.as_ref()?;
    let q = p.nic.tx.first()?;
    let t = &q.counts;
    let sent = t.transmitted_ok + t.corrupted_transmissions;
    Some(TxMetrics {
        vectors: p.nic.tx_vectors()?,
        doorbells: s.counts.doorbells,
        descriptors_posted: s.counts.descriptors_posted,
        descriptors_read: t.descriptors_read,
        stale_descriptor_reads: t.stale_descriptor_reads,
        stale_ownership_reads: t.stale_ownership_reads,
        torn_descriptor_reads: t.torn_descriptor_reads,
        refetches: t.refetches,
        transmitted_ok: t.transmitted_ok,
        corrupted_transmissions: t.corrupted_transmissions,
        payload_faults: t.payload_faults,
        in_flight: s.counts.descriptors_posted - sent,
        completions: t.completions,
        tx_interrupts: t.interrupts,
        cleaned: s.counts.cleaned,
        ring_full_waits: s.counts.ring_full_waits,
        barrier_stall_ns: s.store_buffer.barrier_stall.as_ns_f64(),
        stale_reads_per_million_doorbells: if s.counts.doorbells == 0 {
            0.0
        } else {
            t.stale_descriptor_reads as f64 * 1e6 / s.counts.doorbells as f64
        },
        transmitted_pps: sent as f64 / p.end.as_secs_f64(),
        zerocopy: s.zerocopy_report(),
    })
}

/// One VM of a run (`vms[]`): its guest's packets and latencies, its exits
/// and entries, its vCPU threads' time, and what was posted to it.
#[derive(Clone, Debug, Serialize)]
pub struct VmSummary {
    /// Its index: 0 for `[vm]`, then `[[vms]]` in order.
    pub vm: u32,
    /// How interrupts reach its guest.
    pub apic: crate::config::ApicMode,
    /// The host core of each vCPU.
    pub cores: Vec<u32>,
    /// Its VF's packets: offered, delivered to its guest's applications,
    /// dropped (every reason).
    pub packets: VmPackets,
    /// Delivered to its guest's applications, per second.
    pub delivered_pps: f64,
    /// Wire-to-application latency in its guest, ns.
    pub latency_ns: LatencySummary,
    /// Interrupt-to-handler latency in its guest (its VF's message to the
    /// guest handler's start), ns.
    pub irq_latency_ns: LatencySummary,
    /// Exits by reason.
    pub exits: BTreeMap<String, u64>,
    /// VM entries.
    pub entries: u64,
    /// Host CPU time by exit reason, ns.
    pub exit_ns: BTreeMap<String, f64>,
    /// Its vCPU threads.
    pub vcpu: Vec<VcpuSummary>,
    /// Posted interrupts into its vCPUs' descriptors.
    pub posted: VmPosted,
}

/// A VM's packets.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct VmPackets {
    /// Offered by its VF's port.
    pub offered: u64,
    /// Delivered to its guest's applications.
    pub delivered: u64,
    /// Dropped anywhere.
    pub dropped: u64,
}

/// One vCPU thread of a VM.
#[derive(Clone, Debug, Serialize)]
pub struct VcpuSummary {
    /// The guest's CPU number.
    pub vcpu: u32,
    /// Its host core.
    pub core: u32,
    /// Whether vCPUs of other VMs share that core.
    pub shared: bool,
    /// Fraction of the run in guest mode running the guest's frames.
    pub running_frac: f64,
    /// Time runnable but not on its core: scheduled out while others held
    /// a shared core, woken and waiting on its run queue, or preempted by
    /// the competing host thread (`vm.host_load`), ns.
    pub runnable_wait_ns: f64,
    /// Fraction of the run blocked in HLT.
    pub halted_frac: f64,
    /// Times it was scheduled out while runnable.
    pub preemptions: u64,
    /// Times a shared core's run queue gave it the core.
    pub switches_in: u64,
    /// Wakeups from HLT.
    pub wakeups: u64,
    /// Floating: times the host scheduler moved it to another core at a
    /// wakeup (left out when 0).
    #[serde(skip_serializing_if = "is_zero")]
    pub migrations: u64,
    /// Times KVM rewrote its descriptor's NDST for a new core
    /// (`vmx_vcpu_pi_load`; left out when 0).
    #[serde(skip_serializing_if = "is_zero")]
    pub ndst_updates: u64,
}

/// Whether a counter is zero (left out of the JSON).
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What reached a VM's posted-interrupt descriptors.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct VmPosted {
    /// Requests posted: by the remapping hardware (its VF's messages) and
    /// by KVM in software.
    pub requests: u64,
    /// Notifications the remapping hardware sent (ON was clear, SN clear).
    pub notifications: u64,
    /// Requests whose notification SN suppressed (the vCPU scheduled out).
    pub suppressed: u64,
    /// Halted vCPUs woken.
    pub wakeups: u64,
    /// Requests that found their PIR bit already set.
    pub pir_merges: u64,
}

/// The `vms[]` entry of a guest kernel, from its metrics document `m`.
pub fn vm_summary(k: &Kernel, m: &Metrics, platform: &Platform, end: Time) -> Option<VmSummary> {
    let v = k.virt.as_ref()?;
    let vm = m.vm.as_ref()?;
    let by = |f: fn(&crate::platform::PidCounts) -> u64| -> u64 {
        v.vcpus.iter().filter_map(|vc| platform.stats.posted.by_pid.get(&vc.pid)).map(f).sum()
    };
    Some(VmSummary {
        vm: v.index,
        apic: v.apic,
        cores: k.cores.iter().map(|c| c.0).collect(),
        packets: VmPackets {
            offered: m.packets.offered,
            delivered: m.packets.delivered,
            dropped: m.packets.dropped.values().sum(),
        },
        delivered_pps: m.throughput.delivered_pps,
        latency_ns: m.latency_ns,
        irq_latency_ns: m.interrupts.latency_ns,
        exits: vm.exits.clone(),
        entries: vm.entries,
        exit_ns: vm.exit_ns.clone(),
        vcpu: vm
            .vcpus
            .iter()
            .enumerate()
            .map(|(i, vc)| VcpuSummary {
                vcpu: vc.vcpu,
                core: vc.core,
                shared: v.vcpus[i].shared,
                running_frac: vc.running_frac,
                runnable_wait_ns: v.runnable_wait(i, end).as_ps() as f64 / 1e3,
                halted_frac: vc.halted_frac,
                preemptions: vc.preemptions,
                switches_in: v.vcpus[i].switches_in,
                wakeups: vc.wakeups,
                migrations: v.vcpus[i].migrations,
                ndst_updates: v.vcpus[i].ndst_updates,
            })
            .collect(),
        posted: VmPosted {
            requests: by(|c| c.requests) + v.counts.software_posted,
            notifications: by(|c| c.notifications),
            suppressed: by(|c| c.suppressed),
            wakeups: v.counts.wakeups,
            pir_merges: by(|c| c.merged) + v.counts.software_merged,
        },
    })
}
