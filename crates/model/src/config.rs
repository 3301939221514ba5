//! The scenario: everything a run needs, as plain data.
//!
//! These types are what a scenario TOML file deserialises into (the
//! `scenario` crate adds file handling, `--set` overrides and source
//! locations). Every table rejects unknown keys and every field has a
//! default, so a file only states what differs from the built-in default.
//! [`Scenario::validate`] checks what types cannot (ranges, consistency) and
//! names each problem by its dotted key path, e.g. `nic.queues`.

use crate::costs::CostModel;
use serde::{Deserialize, Serialize};

/// A whole run description.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Scenario {
    /// Short name, shown in reports.
    pub name: String,
    /// One line on what the scenario shows.
    pub description: String,
    /// Master seed; every random stream derives from it.
    pub seed: u64,
    /// Simulated duration, milliseconds.
    pub duration_ms: f64,
    /// Cores, sockets.
    pub machine: MachineConfig,
    /// The network card.
    pub nic: NicConfig,
    /// Kernel tunables (sysctl names where there is one).
    pub kernel: KernelConfig,
    /// NIC driver behaviour.
    pub driver: DriverConfig,
    /// Offered traffic.
    pub workload: WorkloadConfig,
    /// Application threads; empty means one reader per core that owns the
    /// flows whose interrupts that core takes.
    pub apps: Vec<AppConfig>,
    /// Other level-triggered devices on IO-APIC lines (`[[devices]]`).
    pub devices: Vec<DeviceConfig>,
    /// The transmit path (`[tx]`): descriptor stores, barrier and doorbell,
    /// run through the memory-ordering simulation; absent means no TX.
    pub tx: Option<TxConfig>,
    /// Per-operation costs.
    pub costs: CostModel,
}

/// The transmit path: the driver writes each frame's descriptor into the TX
/// ring in write-back memory, then the tail doorbell over MMIO, with the
/// chosen barrier between; the NIC DMA-reads the descriptors, transmits,
/// writes completions back and raises the TX interrupt (memory/doorbell_sim.rs,
/// docs/memory-model.md). It runs for the scenario's duration on the NIC's
/// line rate, with `costs.memory`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TxConfig {
    /// CPU memory model: `tso` (x86) or `weak` (ARMv8-like).
    pub model: crate::memory::MemoryModel,
    /// Barrier between the descriptor stores and the doorbell: `none`, `wmb`, `dma_wmb`.
    pub barrier: crate::memory::Barrier,
    /// Memory type of the doorbell mapping: `uc` or `wc`.
    pub mmio: crate::memory::MmioType,
    /// Doorbells per second.
    pub doorbell_rate_per_s: f64,
    /// Descriptors written before each doorbell.
    pub descriptors_per_doorbell: u32,
    /// TX ring entries.
    pub ring_size: u32,
    /// Most descriptors the NIC fetches with one DMA read.
    pub max_descriptors_per_fetch: u32,
    /// Frame length in bytes.
    pub frame_bytes: u16,
}

impl Default for TxConfig {
    fn default() -> Self {
        let d = crate::memory::DoorbellSimConfig::default();
        TxConfig {
            model: d.model,
            barrier: crate::memory::Barrier::Wmb,
            mmio: d.mmio,
            doorbell_rate_per_s: d.doorbell_rate_per_s,
            descriptors_per_doorbell: d.descriptors_per_doorbell,
            ring_size: d.ring_size,
            max_descriptors_per_fetch: d.max_descriptors_per_fetch,
            frame_bytes: d.frame_bytes,
        }
    }
}

impl Scenario {
    /// The doorbell simulation a `[tx]` table asks for: doorbells for the
    /// scenario's duration at the NIC's line rate, with `costs.memory`.
    pub fn tx_sim(&self) -> Option<crate::memory::DoorbellSimConfig> {
        let t = self.tx.as_ref()?;
        let doorbells = (self.duration_ms * 1e-3 * t.doorbell_rate_per_s).round().max(0.0) as u64;
        Some(crate::memory::DoorbellSimConfig {
            model: t.model,
            barrier: t.barrier,
            mmio: t.mmio,
            doorbells,
            descriptors_per_doorbell: t.descriptors_per_doorbell,
            doorbell_rate_per_s: t.doorbell_rate_per_s,
            ring_size: t.ring_size,
            max_descriptors_per_fetch: t.max_descriptors_per_fetch,
            frame_bytes: t.frame_bytes,
            link_gbps: self.nic.line_rate_gbps,
            costs: self.costs.memory.clone(),
        })
    }
}

/// A simple device with an interrupt cause register on an IO-APIC line,
/// raising events at random (Poisson) times. On the NIC's INTx pin it shares
/// the line and the IRQ (`IRQF_SHARED`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceConfig {
    /// Name shown in reports.
    pub name: String,
    /// IO-APIC input pin.
    pub pin: u32,
    /// Mean events per second.
    pub rate_hz: f64,
    /// How its driver clears the cause: `read` (read-to-clear) or `w1c`
    /// (read, then write 1s to clear).
    #[serde(default = "default_clear")]
    pub clear: CauseClear,
    /// CPU time of its handler's body beyond the register accesses, ns.
    #[serde(default)]
    pub handler_ns: f64,
    /// Core its interrupt targets when it does not share the NIC's line.
    #[serde(default)]
    pub core: u32,
}

/// How a driver clears an interrupt cause register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CauseClear {
    /// Reading the register clears it.
    Read,
    /// Read it, then write 1s to the bits to clear them.
    W1c,
}

fn default_clear() -> CauseClear {
    CauseClear::Read
}

/// The machine's topology.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MachineConfig {
    /// Number of cores (APIC IDs 0..cores).
    pub cores: u32,
    /// Number of sockets (NUMA nodes); cores are split evenly, in order.
    pub sockets: u32,
    /// QEMU's IO-APIC successive-IRQ limiter: after 10,000 consecutive EOI
    /// re-deliveries of a still-asserted level line, delay the next one by
    /// 10 ms (hw/intc/ioapic.c; real hardware has no such limiter).
    pub ioapic_successive_irq_limit: bool,
}

/// The NIC: queues, rings, RSS, interrupts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NicConfig {
    /// Number of RX queues, each with its own MSI-X vector.
    pub queues: u32,
    /// RX descriptors per ring.
    pub ring_size: u32,
    /// Line rate, Gbit/s (frame + 20 bytes of preamble and inter-frame gap).
    pub line_rate_gbps: f64,
    /// NUMA node the NIC is attached to.
    pub numa_node: u32,
    /// Core for each queue's interrupt (`smp_affinity_list`, one core per
    /// queue); absent means queue i → core i mod cores.
    pub affinity: Option<Vec<u32>>,
    /// RSS key as hex; absent means the Microsoft verification key.
    pub rss_key: Option<String>,
    /// RSS indirection-table entries (a power of two).
    pub reta_size: u32,
    /// Interrupt coalescing (`ethtool -C`).
    pub coalesce: CoalesceConfig,
    /// How the NIC signals: `msix` (one vector per queue), `msi` (one
    /// message-signalled vector for the whole NIC) or `intx` (one legacy
    /// line through the IO-APIC).
    pub interrupt_mode: InterruptMode,
    /// `intx` only: the IO-APIC input pin the INTx line is routed to (PCI
    /// INTA# of slot devices usually lands on pins 16–23).
    pub intx_pin: u32,
    /// `intx` only: the trigger mode programmed in the pin's redirection entry.
    pub intx_trigger: TriggerKind,
    /// EIAM-style auto-mask: the NIC clears a queue's interrupt enable when
    /// the queue interrupts (ixgbe programs this for MSI-X), so the top half
    /// need not mask it. `false`: the top half masks the queue with an MMIO
    /// write (EIMC), the pattern napi.rst recommends.
    pub auto_mask: bool,
    /// How queues' interrupts are placed when `affinity` is absent.
    pub affinity_policy: AffinityPolicy,
    /// Cores the policy may use (`smp_affinity` mask); empty means all.
    pub irq_cores: Vec<u32>,
    /// Accelerated RFS (`ntuple` on, `CONFIG_RFS_ACCEL`): when RFS moves a
    /// flow, program a NIC flow filter so its packets arrive on the queue
    /// whose interrupt targets the reader's core. Needs `kernel.rfs` and `msix`.
    pub arfs: bool,
}

/// Interrupt placement policy (when no explicit `affinity` list is given).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AffinityPolicy {
    /// Round robin over the allowed cores (queue i → core i mod n).
    Spread,
    /// Every interrupt on the first allowed core.
    Single,
    /// Round robin over the allowed cores on the NIC's NUMA node.
    NumaLocal,
}

/// The NIC's interrupt mechanism.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InterruptMode {
    /// Legacy INTx: one level line, shared by every queue, via the IO-APIC.
    Intx,
    /// One MSI vector for the whole NIC.
    Msi,
    /// One MSI-X vector per queue.
    Msix,
}

/// IO-APIC redirection-entry trigger mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerKind {
    /// Level-triggered: Remote IRR, EOI, re-delivery while asserted.
    Level,
    /// Edge-triggered: one message per rising edge.
    Edge,
}

/// The flow handler for level-triggered IO-APIC lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LevelFlow {
    /// `handle_fasteoi_irq`.
    Fasteoi,
    /// `handle_level_irq`.
    Level,
}

/// The NIC driver's interrupt etiquette.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DriverConfig {
    /// Order of EOI and clearing the device's interrupt cause on a level line.
    pub level_eoi: LevelEoi,
}

/// When the EOI is written relative to clearing the device's cause.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LevelEoi {
    /// Correct: the top half reads (clears) the interrupt cause register,
    /// deasserting the line, and the EOI follows the handler (`handle_fasteoi_irq`).
    AfterClear,
    /// Wrong: the EOI is written on entry and the cause is left for the
    /// bottom half (the NAPI poll reads it); the still-asserted level line is
    /// re-delivered at once.
    BeforeClear,
}

impl Default for DriverConfig {
    fn default() -> Self {
        DriverConfig { level_eoi: LevelEoi::AfterClear }
    }
}

/// `ethtool -C` receive coalescing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CoalesceConfig {
    /// `rx-usecs`: interrupt this long after the first unreported packet (0 = off).
    pub rx_usecs: u32,
    /// `rx-frames`: interrupt after this many packets (0 = off).
    pub rx_frames: u32,
}

/// Kernel tunables.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KernelConfig {
    /// NAPI weight (`NAPI_POLL_WEIGHT`, `dev_weight`).
    pub napi_weight: u32,
    /// `net.core.netdev_budget`: packets per `net_rx_action`.
    pub netdev_budget: u32,
    /// `net.core.netdev_budget_usecs`: time limit of one `net_rx_action`.
    pub netdev_budget_usecs: u32,
    /// `MAX_SOFTIRQ_RESTART` in kernel/softirq.c.
    pub max_softirq_restart: u32,
    /// `MAX_SOFTIRQ_TIME` in kernel/softirq.c, microseconds.
    pub max_softirq_time_us: u32,
    /// Scheduler time slice between runnable tasks on one core, microseconds
    /// (EEVDF `sysctl_sched_base_slice` default 0.75 ms).
    pub sched_slice_us: u32,
    /// Socket receive-buffer limit, bytes (`net.core.rmem_default` 212992).
    pub socket_rcvbuf_bytes: u64,
    /// Bytes charged to the receive buffer per packet beyond its length (skb
    /// and shared-info overhead in `truesize`). *estimate*.
    pub skb_overhead_bytes: u32,
    /// Packets an application reads per scheduling burst before it checks
    /// for its time slice (a modelling granularity, not a kernel knob).
    pub recv_batch: u32,
    /// Boot option `noirqdebug`: no "nobody cared" detection (kernel/irq/spurious.c).
    pub noirqdebug: bool,
    /// Directed EOI: set SVR bit 12 (EOI-broadcast suppression) and write the
    /// IO-APIC's EOI register for level interrupts instead of relying on the
    /// local APIC's broadcast (specs.md §4.2).
    pub directed_eoi: bool,
    /// NAPI. `false` models a pre-NAPI driver: an interrupt per packet (or
    /// per coalesced batch) whose handler takes every frame from the ring and
    /// queues it with `netif_rx` on the core's backlog; protocol processing
    /// runs from that backlog in softirq. Requires `nic.interrupt_mode = "msix"`.
    pub napi: bool,
    /// `net.core.netdev_max_backlog`: packets a core's backlog holds.
    pub netdev_max_backlog: u32,
    /// Flow handler for level-triggered IO-APIC lines: `fasteoi` (x86
    /// Linux's choice: actions, then EOI) or `level` (`handle_level_irq`:
    /// mask and ack first, actions, then unmask).
    pub level_flow: LevelFlow,
    /// RPS: `rps_cpus` of every RX queue, as a core list; empty disables RPS.
    pub rps_cpus: Vec<u32>,
    /// RPS per queue: `rps_cpus_by_queue[i]` is queue i's `rps_cpus`
    /// (overrides `rps_cpus`; one list per queue, an empty list disables RPS
    /// on that queue).
    pub rps_cpus_by_queue: Vec<Vec<u32>>,
    /// RFS: steer each flow to the core where its reader last called recv.
    pub rfs: bool,
    /// `net.core.rps_sock_flow_entries` (rounded up to a power of two).
    pub rps_sock_flow_entries: u32,
    /// Per-queue `rps_flow_cnt`; 0 means `rps_sock_flow_entries / queues`.
    pub rps_flow_cnt: u32,
    /// irqbalance-like rebalancer: every this many ms, move the busiest
    /// IRQ of the most loaded core to the least loaded allowed core when
    /// their load differs by more than `irqbalance_threshold`; 0 = off.
    pub irqbalance_interval_ms: f64,
    /// Load difference (fraction of a core) that triggers a move.
    pub irqbalance_threshold: f64,
    /// RFS's reordering guard: move a flow to a new core only once the old
    /// core's backlog has passed the flow's `last_qtail`. `false` shows why it
    /// exists.
    pub rfs_reorder_guard: bool,
}

/// Offered traffic.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkloadConfig {
    /// Number of flows generated from the seed (ignored when `flow_list` is given).
    pub flows: u32,
    /// Explicit flows; each gets the next flow id.
    pub flow_list: Vec<FlowSpec>,
    /// Packet-size distribution.
    pub packet_size: PacketSizeKind,
    /// Frame size in bytes for `fixed`; the minimum for `uniform`.
    pub packet_bytes: u32,
    /// Largest frame for `uniform`.
    pub packet_bytes_max: u32,
    /// Arrival process.
    pub arrival: ArrivalKind,
    /// Offered load in packets per second (exclusive with `rate_gbps`).
    pub rate_pps: Option<f64>,
    /// Offered load in Gbit/s of frame bytes (exclusive with `rate_pps`).
    pub rate_gbps: Option<f64>,
    /// `onoff`: length of a burst, microseconds.
    pub on_us: f64,
    /// `onoff`: gap between bursts, microseconds.
    pub off_us: f64,
}

/// How frame sizes are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PacketSizeKind {
    /// Every frame is `packet_bytes`.
    Fixed,
    /// Uniform between `packet_bytes` and `packet_bytes_max`.
    Uniform,
    /// Simple IMIX: 64, 594 and 1518 bytes in proportions 7:4:1.
    Imix,
}

/// How arrivals are spaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArrivalKind {
    /// Evenly spaced.
    Constant,
    /// Exponential inter-arrival times.
    Poisson,
    /// Poisson at `rate × (on+off)/on` during bursts of `on_us`, silent for `off_us`.
    Onoff,
}

/// One explicitly listed flow.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowSpec {
    /// Source `IP:PORT`.
    pub src: String,
    /// Destination `IP:PORT`.
    pub dst: String,
}

/// One application thread.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppConfig {
    /// Core the thread is pinned to.
    pub core: u32,
    /// Flow ids whose sockets it reads; absent means every flow not listed
    /// by another thread is shared out round-robin among threads without a list.
    #[serde(default)]
    pub flows: Option<Vec<u32>>,
    /// Application CPU time per packet after the copy, nanoseconds.
    #[serde(default)]
    pub work_ns: f64,
    /// If positive, the scheduler moves the thread to the next core (round
    /// robin over all cores) every this many microseconds, the next time it
    /// blocks (load balancing); 0 keeps it pinned.
    #[serde(default)]
    pub migrate_every_us: f64,
    /// How the thread learns that data is ready.
    #[serde(default)]
    pub notify: NotifyKind,
    /// `notify = "signal"`: a standard signal (SIGIO, coalesces while
    /// pending) or a real-time one (queued per event up to the limit).
    #[serde(default)]
    pub signal: SignalKind,
    /// Real-time signals a thread may have queued (the per-user
    /// `RLIMIT_SIGPENDING` share); beyond it events are counted as overflow.
    #[serde(default = "default_rt_limit")]
    pub rt_signal_limit: u32,
    /// `notify = "io_uring"` settings.
    #[serde(default)]
    pub io_uring: IoUringConfig,
}

impl AppConfig {
    /// A reader on `core` with every other setting at its default.
    pub fn on_core(core: u32) -> AppConfig {
        AppConfig {
            core,
            flows: None,
            work_ns: 0.0,
            migrate_every_us: 0.0,
            notify: NotifyKind::default(),
            signal: SignalKind::default(),
            rt_signal_limit: default_rt_limit(),
            io_uring: IoUringConfig::default(),
        }
    }
}

/// User-space notification mechanism of an application thread.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyKind {
    /// Blocking `recv` on the socket(s).
    #[default]
    BlockingRecv,
    /// `epoll_wait` (level-triggered), then `recv` until `EAGAIN`.
    Epoll,
    /// The kernel side signals an eventfd per packet; the thread blocks in
    /// `read(eventfd)`, which returns all increments since its last read.
    Eventfd,
    /// `F_SETSIG`/`O_ASYNC`: a signal per readiness event; the handler
    /// drains the socket; the thread otherwise waits in `sigsuspend`.
    Signal,
    /// io_uring receive: each packet posts a completion (CQE) to the ring;
    /// the thread reaps them in batches from `io_uring_enter`.
    IoUring,
}

/// Standard or real-time signal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalKind {
    /// SIGIO: one pending bit; signals coalesce while pending.
    #[default]
    Standard,
    /// SIGRTMIN+n: one queue entry per event, up to `rt_signal_limit`.
    Realtime,
}

/// io_uring receive settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IoUringConfig {
    /// Register an eventfd: the thread waits in `read(eventfd)`, woken by the first CQE.
    pub eventfd: bool,
    /// `io_uring_enter(min_complete = wait_nr)`: wait for this many CQEs (0 or 1: any).
    pub wait_nr: u32,
}

fn default_rt_limit() -> u32 {
    1024
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            name: "default".into(),
            description: "4 cores, 4 RSS queues with MSI-X, NAPI, 2 Mpps of 64-byte UDP over 64 flows".into(),
            seed: 1,
            duration_ms: 100.0,
            machine: MachineConfig::default(),
            nic: NicConfig::default(),
            kernel: KernelConfig::default(),
            driver: DriverConfig::default(),
            workload: WorkloadConfig::default(),
            apps: Vec::new(),
            devices: Vec::new(),
            tx: None,
            costs: CostModel::default(),
        }
    }
}

impl Default for MachineConfig {
    fn default() -> Self {
        MachineConfig { cores: 4, sockets: 1, ioapic_successive_irq_limit: false }
    }
}

impl Default for NicConfig {
    fn default() -> Self {
        NicConfig {
            queues: 4,
            ring_size: 512,
            line_rate_gbps: 10.0,
            numa_node: 0,
            affinity: None,
            rss_key: None,
            reta_size: 128,
            coalesce: CoalesceConfig::default(),
            interrupt_mode: InterruptMode::Msix,
            intx_pin: 16,
            intx_trigger: TriggerKind::Level,
            arfs: false,
            auto_mask: false,
            affinity_policy: AffinityPolicy::Spread,
            irq_cores: Vec::new(),
        }
    }
}

impl Default for CoalesceConfig {
    fn default() -> Self {
        // ethtool: usecs = 0, frames = 1 disables coalescing.
        CoalesceConfig { rx_usecs: 0, rx_frames: 1 }
    }
}

impl Default for KernelConfig {
    fn default() -> Self {
        KernelConfig {
            napi_weight: 64,
            netdev_budget: 300,
            netdev_budget_usecs: 2000,
            max_softirq_restart: 10,
            max_softirq_time_us: 2000,
            sched_slice_us: 750,
            socket_rcvbuf_bytes: 212_992,
            skb_overhead_bytes: 576,
            recv_batch: 16,
            noirqdebug: false,
            directed_eoi: false,
            napi: true,
            netdev_max_backlog: 1000,
            level_flow: LevelFlow::Fasteoi,
            rps_cpus: Vec::new(),
            rps_cpus_by_queue: Vec::new(),
            rfs: false,
            rps_sock_flow_entries: 32768,
            rps_flow_cnt: 0,
            rfs_reorder_guard: true,
            irqbalance_interval_ms: 0.0,
            irqbalance_threshold: 0.2,
        }
    }
}

impl Default for WorkloadConfig {
    fn default() -> Self {
        WorkloadConfig {
            flows: 64,
            flow_list: Vec::new(),
            packet_size: PacketSizeKind::Fixed,
            packet_bytes: 64,
            packet_bytes_max: 1518,
            arrival: ArrivalKind::Poisson,
            rate_pps: None,
            rate_gbps: None,
            on_us: 100.0,
            off_us: 100.0,
        }
    }
}

/// The NIC's interrupt cause register has one bit per queue, 64 bits wide.
pub const MAX_QUEUES_SINGLE_IRQ: u32 = 64;
/// Level-triggered devices a scenario may add (one line-source bit each).
pub const MAX_DEVICES: usize = 30;
/// Redirection entries of the modelled IO-APIC (82093AA: 24).
pub const IOAPIC_PINS: u32 = 24;

/// Default offered load when neither `rate_pps` nor `rate_gbps` is given.
pub const DEFAULT_RATE_PPS: f64 = 2_000_000.0;
/// Ethernet preamble, start-of-frame delimiter and inter-frame gap, bytes on
/// the wire per frame beyond the frame itself (IEEE 802.3).
pub const WIRE_OVERHEAD_BYTES: u32 = 20;
/// Smallest and largest Ethernet frame (with FCS, without VLAN/jumbo).
pub const MIN_FRAME_BYTES: u32 = 64;
/// Largest standard Ethernet frame.
pub const MAX_FRAME_BYTES: u32 = 1518;
/// Simple IMIX sizes and weights (Cisco/Agilent "simple IMIX").
pub const IMIX: [(u32, u32); 3] = [(64, 7), (594, 4), (1518, 1)];

/// One problem found by validation, located by its key path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// Dotted key path, e.g. `nic.queues` or `apps[1].core`.
    pub path: String,
    /// What is wrong and what was expected.
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl WorkloadConfig {
    /// Mean frame size in bytes under the configured distribution.
    pub fn mean_packet_bytes(&self) -> f64 {
        match self.packet_size {
            PacketSizeKind::Fixed => self.packet_bytes as f64,
            PacketSizeKind::Uniform => (self.packet_bytes as f64 + self.packet_bytes_max as f64) / 2.0,
            PacketSizeKind::Imix => {
                let (s, w) = IMIX.iter().fold((0u64, 0u64), |(s, w), (b, k)| (s + (*b * *k) as u64, w + *k as u64));
                s as f64 / w as f64
            }
        }
    }

    /// Offered packets per second.
    pub fn offered_pps(&self) -> f64 {
        match (self.rate_pps, self.rate_gbps) {
            (Some(p), _) => p,
            (None, Some(g)) => g * 1e9 / (8.0 * self.mean_packet_bytes()),
            (None, None) => DEFAULT_RATE_PPS,
        }
    }

    /// Number of flows.
    pub fn flow_count(&self) -> u32 {
        if self.flow_list.is_empty() { self.flows } else { self.flow_list.len() as u32 }
    }
}

impl Scenario {
    /// Checks ranges and consistency; returns every problem, not just the first.
    pub fn validate(&self) -> Vec<ConfigError> {
        let mut errs = Vec::new();
        let mut err = |path: &str, message: String| errs.push(ConfigError { path: path.into(), message });
        let finite_pos = |v: f64| v.is_finite() && v > 0.0;

        if !finite_pos(self.duration_ms) {
            err("duration_ms", format!("expected a positive number of milliseconds, got {}", self.duration_ms));
        } else if self.duration_ms > 3_600_000.0 {
            err("duration_ms", format!("expected at most one simulated hour (3600000 ms), got {}", self.duration_ms));
        }
        let m = &self.machine;
        if m.cores == 0 || m.cores > 255 {
            err("machine.cores", format!("expected 1..=255 cores (8-bit xAPIC IDs), got {}", m.cores));
        }
        if m.sockets == 0 {
            err("machine.sockets", "expected at least 1 socket, got 0".into());
        } else if !m.cores.is_multiple_of(m.sockets) {
            err("machine.sockets", format!("{} cores do not split evenly over {} sockets", m.cores, m.sockets));
        }
        let n = &self.nic;
        if n.queues == 0 || n.queues > 2048 {
            err("nic.queues", format!("expected 1..=2048 queues (one MSI-X vector each), got {}", n.queues));
        }
        if n.ring_size == 0 || n.ring_size > 65536 {
            err("nic.ring_size", format!("expected 1..=65536 descriptors, got {}", n.ring_size));
        }
        if !finite_pos(n.line_rate_gbps) {
            err("nic.line_rate_gbps", format!("expected a positive rate, got {}", n.line_rate_gbps));
        }
        if m.sockets > 0 && n.numa_node >= m.sockets {
            err("nic.numa_node", format!("expected a node below machine.sockets = {}, got {}", m.sockets, n.numa_node));
        }
        let single_irq = n.interrupt_mode != InterruptMode::Msix;
        if single_irq && n.queues > MAX_QUEUES_SINGLE_IRQ {
            err(
                "nic.queues",
                format!(
                    "expected at most {MAX_QUEUES_SINGLE_IRQ} queues with interrupt_mode = {:?} (one cause bit per queue), got {}",
                    n.interrupt_mode, n.queues
                ),
            );
        }
        for (i, c) in n.irq_cores.iter().enumerate() {
            if *c >= m.cores {
                err(&format!("nic.irq_cores[{i}]"), format!("core {c} does not exist (machine.cores = {})", m.cores));
            }
        }
        if n.affinity_policy == AffinityPolicy::NumaLocal
            && m.sockets > 0
            && m.cores.is_multiple_of(m.sockets)
            && !(0..m.cores).any(|c| {
                c / (m.cores / m.sockets) == n.numa_node && (n.irq_cores.is_empty() || n.irq_cores.contains(&c))
            })
        {
            err("nic.irq_cores", format!("no allowed core is on the NIC's node {}", n.numa_node));
        }
        if n.intx_pin >= IOAPIC_PINS {
            err("nic.intx_pin", format!("expected an IO-APIC pin below {IOAPIC_PINS}, got {}", n.intx_pin));
        }
        if let Some(aff) = &n.affinity {
            let want = if single_irq { 1 } else { n.queues as usize };
            if aff.len() != want {
                err(
                    "nic.affinity",
                    format!(
                        "expected one core per interrupt vector ({want} entries for {:?}), got {}",
                        n.interrupt_mode,
                        aff.len()
                    ),
                );
            }
            for (i, c) in aff.iter().enumerate() {
                if *c >= m.cores {
                    err(
                        &format!("nic.affinity[{i}]"),
                        format!("core {c} does not exist (machine.cores = {})", m.cores),
                    );
                }
            }
        }
        if n.reta_size == 0 || !n.reta_size.is_power_of_two() || n.reta_size > 65536 {
            err("nic.reta_size", format!("expected a power of two up to 65536, got {}", n.reta_size));
        }
        if n.coalesce.rx_usecs == 0 && n.coalesce.rx_frames == 0 {
            err("nic.coalesce", "rx_usecs and rx_frames are both 0, which ethtool rejects; use rx_usecs = 0, rx_frames = 1 to disable coalescing".into());
        }
        let k = &self.kernel;
        for (path, v) in [
            ("kernel.napi_weight", k.napi_weight),
            ("kernel.netdev_budget", k.netdev_budget),
            ("kernel.netdev_budget_usecs", k.netdev_budget_usecs),
            ("kernel.max_softirq_restart", k.max_softirq_restart),
            ("kernel.max_softirq_time_us", k.max_softirq_time_us),
            ("kernel.sched_slice_us", k.sched_slice_us),
            ("kernel.recv_batch", k.recv_batch),
        ] {
            if v == 0 {
                err(path, "expected a positive integer, got 0".into());
            }
        }
        if !(k.irqbalance_interval_ms.is_finite() && k.irqbalance_interval_ms >= 0.0) {
            err(
                "kernel.irqbalance_interval_ms",
                format!("expected a non-negative interval, got {}", k.irqbalance_interval_ms),
            );
        } else if k.irqbalance_interval_ms > 0.0 && k.irqbalance_interval_ms < 0.1 {
            err(
                "kernel.irqbalance_interval_ms",
                format!("expected at least 0.1 ms (or 0 for off), got {}", k.irqbalance_interval_ms),
            );
        }
        if !(k.irqbalance_threshold.is_finite() && (0.0..=1.0).contains(&k.irqbalance_threshold)) {
            err("kernel.irqbalance_threshold", format!("expected a fraction in 0..=1, got {}", k.irqbalance_threshold));
        }
        if k.netdev_max_backlog == 0 {
            err("kernel.netdev_max_backlog", "expected a positive number of packets, got 0".into());
        }
        if !k.napi && n.interrupt_mode != InterruptMode::Msix {
            err("kernel.napi", "the pre-NAPI receive path is modelled for nic.interrupt_mode = \"msix\" only".into());
        }
        for (i, c) in k.rps_cpus.iter().enumerate() {
            if *c >= m.cores {
                err(&format!("kernel.rps_cpus[{i}]"), format!("core {c} does not exist (machine.cores = {})", m.cores));
            }
        }
        if !k.rps_cpus_by_queue.is_empty() && k.rps_cpus_by_queue.len() != n.queues as usize {
            err(
                "kernel.rps_cpus_by_queue",
                format!("expected one core list per queue ({} lists), got {}", n.queues, k.rps_cpus_by_queue.len()),
            );
        }
        for (q, list) in k.rps_cpus_by_queue.iter().enumerate() {
            for (i, c) in list.iter().enumerate() {
                if *c >= m.cores {
                    err(
                        &format!("kernel.rps_cpus_by_queue[{q}][{i}]"),
                        format!("core {c} does not exist (machine.cores = {})", m.cores),
                    );
                }
            }
        }
        if k.rps_sock_flow_entries == 0 || k.rps_sock_flow_entries > 1 << 26 {
            err(
                "kernel.rps_sock_flow_entries",
                format!("expected 1..=67108864 entries, got {}", k.rps_sock_flow_entries),
            );
        }
        if k.rps_flow_cnt > 1 << 26 {
            err("kernel.rps_flow_cnt", format!("expected at most 67108864 entries, got {}", k.rps_flow_cnt));
        }
        if (k.rfs || !k.rps_cpus.is_empty() || k.rps_cpus_by_queue.iter().any(|l| !l.is_empty())) && !k.napi {
            err("kernel.napi", "RPS/RFS are modelled with NAPI only".into());
        }
        if n.arfs && (!k.rfs || n.interrupt_mode != InterruptMode::Msix) {
            err("nic.arfs", "aRFS needs kernel.rfs = true and nic.interrupt_mode = \"msix\"".into());
        }
        if k.socket_rcvbuf_bytes == 0 {
            err("kernel.socket_rcvbuf_bytes", "expected a positive number of bytes, got 0".into());
        }
        let w = &self.workload;
        if w.flow_list.is_empty() && (w.flows == 0 || w.flows > 1_000_000) {
            err("workload.flows", format!("expected 1..=1000000 flows, got {}", w.flows));
        }
        for (i, f) in w.flow_list.iter().enumerate() {
            for (key, v) in [("src", &f.src), ("dst", &f.dst)] {
                match irqlab_hw::rss::parse_endpoint(v) {
                    Ok((_, Some(_))) => {}
                    Ok((_, None)) => {
                        err(&format!("workload.flow_list[{i}].{key}"), format!("expected IP:PORT, got '{v}' (no port)"))
                    }
                    Err(e) => err(&format!("workload.flow_list[{i}].{key}"), format!("expected IP:PORT: {e}")),
                }
            }
            if let (Ok((a, _)), Ok((b, _))) =
                (irqlab_hw::rss::parse_endpoint(&f.src), irqlab_hw::rss::parse_endpoint(&f.dst))
                && a.is_ipv4() != b.is_ipv4()
            {
                err(&format!("workload.flow_list[{i}]"), "src and dst must both be IPv4 or both IPv6".into());
            }
        }
        let frame_ok = |b: u32| (MIN_FRAME_BYTES..=MAX_FRAME_BYTES).contains(&b);
        if w.packet_size != PacketSizeKind::Imix && !frame_ok(w.packet_bytes) {
            err(
                "workload.packet_bytes",
                format!("expected a frame size of {MIN_FRAME_BYTES}..={MAX_FRAME_BYTES} bytes, got {}", w.packet_bytes),
            );
        }
        if w.packet_size == PacketSizeKind::Uniform
            && (!frame_ok(w.packet_bytes_max) || w.packet_bytes_max < w.packet_bytes)
        {
            err(
                "workload.packet_bytes_max",
                format!("expected packet_bytes ({})..={MAX_FRAME_BYTES}, got {}", w.packet_bytes, w.packet_bytes_max),
            );
        }
        match (w.rate_pps, w.rate_gbps) {
            (Some(_), Some(_)) => err("workload.rate_gbps", "give either rate_pps or rate_gbps, not both".into()),
            (Some(p), None) if !finite_pos(p) => {
                err("workload.rate_pps", format!("expected a positive packet rate, got {p}"))
            }
            (None, Some(g)) if !finite_pos(g) => {
                err("workload.rate_gbps", format!("expected a positive rate in Gbit/s, got {g}"))
            }
            _ => {}
        }
        if w.arrival == ArrivalKind::Onoff {
            if !finite_pos(w.on_us) {
                err("workload.on_us", format!("expected a positive burst length, got {}", w.on_us));
            }
            if !(w.off_us.is_finite() && w.off_us >= 0.0) {
                err("workload.off_us", format!("expected a non-negative gap, got {}", w.off_us));
            }
        }
        let pps = w.offered_pps();
        if finite_pos(pps) && finite_pos(n.line_rate_gbps) {
            let wire_bps = pps * 8.0 * (w.mean_packet_bytes() + WIRE_OVERHEAD_BYTES as f64);
            // One part in 10^6 of slack for rounding of "line rate" figures such as 14.880952 Mpps.
            if wire_bps > n.line_rate_gbps * 1e9 * (1.0 + 1e-6) {
                let key = if w.rate_gbps.is_some() { "workload.rate_gbps" } else { "workload.rate_pps" };
                err(
                    key,
                    format!(
                        "offered load needs {:.3} Gbit/s on the wire (frames + 20 B preamble/gap), above nic.line_rate_gbps = {}",
                        wire_bps / 1e9,
                        n.line_rate_gbps
                    ),
                );
            }
        }
        let flows = w.flow_count();
        // Ownership is only checked for a flow count that passed its own check.
        let mut owner = vec![false; if flows <= 1_000_000 { flows as usize } else { 0 }];
        for (i, a) in self.apps.iter().enumerate() {
            if a.core >= m.cores {
                err(
                    &format!("apps[{i}].core"),
                    format!("core {} does not exist (machine.cores = {})", a.core, m.cores),
                );
            }
            if a.io_uring.wait_nr > 4096 {
                err(
                    &format!("apps[{i}].io_uring.wait_nr"),
                    format!("expected at most 4096 (a CQ ring's worth), got {}", a.io_uring.wait_nr),
                );
            }
            if !(a.migrate_every_us.is_finite() && a.migrate_every_us >= 0.0) {
                err(
                    &format!("apps[{i}].migrate_every_us"),
                    format!("expected a non-negative time, got {}", a.migrate_every_us),
                );
            }
            if !(a.work_ns.is_finite() && a.work_ns >= 0.0) {
                err(&format!("apps[{i}].work_ns"), format!("expected a non-negative time, got {}", a.work_ns));
            }
            for (j, f) in a.flows.iter().flatten().enumerate() {
                match owner.get_mut(*f as usize) {
                    None => err(&format!("apps[{i}].flows[{j}]"), format!("flow {f} does not exist ({flows} flows)")),
                    Some(o) if *o => {
                        err(&format!("apps[{i}].flows[{j}]"), format!("flow {f} is already read by another thread"))
                    }
                    Some(o) => *o = true,
                }
            }
        }
        if self.devices.len() > MAX_DEVICES {
            err("devices", format!("expected at most {MAX_DEVICES} devices, got {}", self.devices.len()));
        }
        for (i, d) in self.devices.iter().enumerate() {
            if d.pin >= IOAPIC_PINS {
                err(
                    &format!("devices[{i}].pin"),
                    format!("expected an IO-APIC pin below {IOAPIC_PINS}, got {}", d.pin),
                );
            }
            if !(d.rate_hz.is_finite() && d.rate_hz > 0.0 && d.rate_hz <= 1e7) {
                err(&format!("devices[{i}].rate_hz"), format!("expected 0 < rate_hz <= 1e7, got {}", d.rate_hz));
            }
            if !(d.handler_ns.is_finite() && d.handler_ns >= 0.0) {
                err(&format!("devices[{i}].handler_ns"), format!("expected a non-negative time, got {}", d.handler_ns));
            }
            if d.core >= m.cores {
                err(
                    &format!("devices[{i}].core"),
                    format!("core {} does not exist (machine.cores = {})", d.core, m.cores),
                );
            }
        }
        if let Some(sim) = self.tx_sim() {
            // Costs are checked below under costs.memory; link_gbps is nic.line_rate_gbps.
            for e in sim.validate() {
                if !e.path.starts_with("costs.") && e.path != "link_gbps" {
                    err(&format!("tx.{}", e.path), e.message);
                }
            }
        }
        for (name, v) in self.costs.fields() {
            if !(v.is_finite() && v >= 0.0) {
                err(&format!("costs.{name}"), format!("expected a non-negative finite number, got {v}"));
            }
        }
        for e in self.costs.memory.validate() {
            err(&format!("costs.memory.{}", e.field), e.message);
        }
        if !(self.costs.copy_bytes_per_ns.is_finite() && self.costs.copy_bytes_per_ns > 0.0) {
            err(
                "costs.copy_bytes_per_ns",
                format!("expected a positive bandwidth, got {}", self.costs.copy_bytes_per_ns),
            );
        }
        if let Some(key) = &n.rss_key
            && let Err(e) = irqlab_hw::rss::parse_key_hex(key)
        {
            err("nic.rss_key", format!("expected a hex RSS key of at least 40 bytes: {e}"));
        }
        errs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_scenario_is_valid() {
        assert_eq!(Scenario::default().validate(), vec![]);
    }

    #[test]
    fn zero_queues_and_negative_rate_are_named_by_path() {
        let mut s = Scenario::default();
        s.nic.queues = 0;
        s.workload.rate_pps = Some(-5.0);
        let paths: Vec<String> = s.validate().into_iter().map(|e| e.path).collect();
        assert!(paths.contains(&"nic.queues".to_string()), "{paths:?}");
        assert!(paths.contains(&"workload.rate_pps".to_string()), "{paths:?}");
    }

    #[test]
    fn line_rate_64_byte_frames_fit_10g_and_more_does_not() {
        let mut s = Scenario::default();
        s.workload.rate_pps = Some(14_880_952.0);
        assert_eq!(s.validate(), vec![]);
        s.workload.rate_pps = Some(15_000_000.0);
        assert_eq!(s.validate()[0].path, "workload.rate_pps");
    }

    #[test]
    fn imix_mean_is_the_weighted_average() {
        let w = WorkloadConfig { packet_size: PacketSizeKind::Imix, ..Default::default() };
        // (7*64 + 4*594 + 1518) / 12 = 4342 / 12
        assert!((w.mean_packet_bytes() - 4342.0 / 12.0).abs() < 1e-9);
    }
}
