//! The scenario: everything a run needs, as plain data.
//!
//! These types are what a scenario TOML file deserialises into (the
//! `scenario` crate adds file handling, `--set` overrides and source
//! locations). Every table rejects unknown keys and every field has a
//! default, so a file only states what differs from the built-in default.
//! [`Scenario::validate`] checks what types cannot (ranges, consistency) and
//! names each problem by its dotted key path, e.g. `nic.queues`.
//!
//! One file per table, each with the table's types, defaults and its own
//! `validate`: [`machine`], [`nic`] (with coalescing, interrupt mode and
//! affinity policy), [`kernel`], [`driver`], [`workload`] (flows, packet
//! sizes, arrivals and the wire constants), [`apps`], [`devices`], [`tx`]
//! and [`costs`]. A table's checks get the facts they need from other
//! tables (the core count, the queue count, …) through [`ValidateCx`], which
//! also collects the problems. Every type and constant is re-exported here,
//! so `irqlab_model::config::NicConfig` and the like are the paths to use.
//!
//! Every number has bounds, chosen from what real hardware or the kernel
//! allows (each constant cites its source) or, for modelling knobs, from
//! what keeps a run meaningful; and a run whose work would be absurd (more
//! than [`MAX_OFFERED_PACKETS`] packets, [`MAX_DEVICE_EVENTS`] device events
//! or [`MAX_TX_DESCRIPTORS`] transmit descriptors) is refused before it
//! starts, so no valid scenario exhausts memory or runs for hours.
//! [`Scenario::warnings`] reports settings that are valid but probably not
//! what was meant (an RSS table smaller than the queue count).

pub mod apps;
pub mod attackers;
pub mod cgroups;
pub mod costs;
pub mod cpuset;
pub mod devices;
pub mod driver;
pub mod iommu;
pub mod kernel;
pub mod machine;
pub mod nic;
pub mod pcap;
pub mod process;
pub mod tx;
pub mod vfio;
pub mod vm;
pub mod workload;

pub use apps::{AppConfig, IO_URING_CQ_ENTRIES, IoUringConfig, NotifyKind, SignalKind};
pub use attackers::{AttackKind, AttackTarget, AttackerConfig, MAX_ATTACKERS};
pub use cgroups::CgroupConfig;
pub use devices::{CauseClear, DeviceConfig, MAX_DEVICES};
pub use driver::{DriverConfig, LevelEoi};
pub use iommu::{CompatFormat, DmaMapping, IommuConfig, IommuMode, IommuPageSize};
pub use kernel::{KernelConfig, LevelFlow, SoftirqDefer};
pub use machine::{IOAPIC_PINS, MachineConfig};
pub use nic::{
    AdaptiveScheme, AffinityPolicy, CoalesceConfig, InterruptMode, MAX_QUEUES_SINGLE_IRQ, NicConfig, TriggerKind,
};
pub use pcap::{FrameClass, L4, Trace, TraceFlow, TraceFrame, Unclassified};
pub use process::{HEADER_BYTES, PAGE_BYTES, ProcessConfig, ReceiveMode};
pub use tx::{TxConfig, TxVectors};
pub use vfio::{PmdMode, VfioConfig};
pub use vm::{ApicMode, DevicePath, VcpuAffinity, VmConfig};
pub use workload::{
    ArrivalKind, DEFAULT_RATE_PPS, FlowSpec, IMIX, MAX_FRAME_BYTES, MIN_FRAME_BYTES, PacketSizeKind,
    WIRE_OVERHEAD_BYTES, WorkloadConfig,
};

use crate::costs::CostModel;
use serde::{Deserialize, Serialize};

/// Shortest run, ms: 1 µs. Time is kept in picoseconds, but a run shorter
/// than a microsecond sees no packet and reports rates of nothing.
pub const MIN_DURATION_MS: f64 = 0.001;
/// Longest run, ms: one simulated hour.
pub const MAX_DURATION_MS: f64 = 3_600_000.0;
/// Most packets a run may offer (offered rate × duration). At the 3–20
/// million simulated packets per CPU-second `irqlab bench` measures, 10^9
/// packets take one to five minutes; more is refused rather than left to
/// run for hours.
pub const MAX_OFFERED_PACKETS: f64 = 1e9;
/// Most events the `[[devices]]` may raise in a run (the sum of their
/// `rate_hz` × duration): about ten million are simulated per CPU-second,
/// so 10^9 take a couple of minutes.
pub const MAX_DEVICE_EVENTS: f64 = 1e9;
/// Most descriptors the `[tx]` path may post in a run (doorbell rate ×
/// duration × descriptors per doorbell): about ten million are simulated
/// per CPU-second, so 10^9 take a couple of minutes.
pub const MAX_TX_DESCRIPTORS: f64 = 1e9;
/// Largest value of a kernel `int` (sysctls handled by `proc_dointvec`,
/// such as `net.core.netdev_budget`, and `int` variables): 2^31 − 1.
pub const KERNEL_INT_MAX: u32 = i32::MAX as u32;
/// Largest time of one operation in the cost model, ns: one second, far
/// beyond any real per-packet or per-interrupt cost (which are 10 ns–10 µs).
pub const MAX_COST_NS: f64 = 1e9;

/// A whole run description.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Scenario {
    /// Short name, shown in reports.
    pub name: String,
    /// One line on what the scenario shows.
    pub description: String,
    /// Master seed; every random stream derives from it. Any `u64`.
    pub seed: u64,
    /// Simulated duration, milliseconds; [`MIN_DURATION_MS`]..=[`MAX_DURATION_MS`]
    /// (1 µs to one hour), and short enough that the run offers at most
    /// [`MAX_OFFERED_PACKETS`] packets.
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
    /// The transmit path (`[tx]`): a sender thread, descriptor stores,
    /// barrier and doorbell, the NIC's fetch and completions; absent means
    /// no TX.
    pub tx: Option<TxConfig>,
    /// The IOMMU (`[iommu]`): DMA and interrupt remapping; off by default.
    pub iommu: IommuConfig,
    /// Misbehaving devices (`[[attackers]]`).
    pub attackers: Vec<AttackerConfig>,
    /// The application process (`[process]`): receive mode, message size,
    /// threads sharing its address space.
    pub process: ProcessConfig,
    /// A virtual machine the NIC is assigned to (`[vm]`); absent means the
    /// host kernel drives it.
    pub vm: Option<VmConfig>,
    /// Further VMs beside `[vm]` (`[[vms]]`), each with its own guest
    /// kernel running the guest `[vm]` describes, on its own assigned VF
    /// (NIC 1, 2, …) with its own arrivals; their vCPUs may share host
    /// cores with other VMs' vCPUs (config/vm.rs).
    pub vms: Vec<VmConfig>,
    /// cgroup v2 CPU controllers (`[[cgroups]]`) the threads join.
    pub cgroups: Vec<CgroupConfig>,
    /// The NIC bound to `vfio-pci` and driven by the application's own
    /// user-space driver (`[vfio]`); absent means the kernel's driver.
    pub vfio: Option<VfioConfig>,
    /// Per-operation costs.
    pub costs: CostModel,
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
            iommu: IommuConfig::default(),
            attackers: Vec::new(),
            process: ProcessConfig::default(),
            vm: None,
            vms: Vec::new(),
            cgroups: Vec::new(),
            vfio: None,
            costs: CostModel::default(),
        }
    }
}

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

/// What one table's checks may know about the others, and the problems
/// found so far. Built once from the whole scenario by [`ValidateCx::new`].
#[derive(Clone, Debug)]
pub struct ValidateCx {
    /// `machine.cores`, or with a VM its vCPUs (the CPU numbers its
    /// tables name are the guest's).
    pub cores: u32,
    /// Whether `cores` counts a VM's vCPUs.
    guest: bool,
    /// `machine.sockets`.
    pub sockets: u32,
    /// `nic.queues`.
    pub queues: u32,
    /// `nic.interrupt_mode`.
    pub interrupt_mode: InterruptMode,
    /// `nic.line_rate_gbps`, when it is within its bounds (checks derived
    /// from it are skipped otherwise).
    pub line_rate_gbps: Option<f64>,
    /// `kernel.rfs`.
    pub rfs: bool,
    /// Number of flows ([`WorkloadConfig::flow_count`]).
    pub flows: u32,
    /// Largest RX frame: [`MAX_FRAME_BYTES`], or a page of payload with
    /// `nic.header_split` ([`nic::MAX_SPLIT_FRAME_BYTES`]).
    pub max_frame_bytes: u32,
    errors: Vec<ConfigError>,
}

impl ValidateCx {
    /// The facts of `s` that cross tables, with no problems yet.
    pub fn new(s: &Scenario) -> ValidateCx {
        ValidateCx {
            // With a VM, CPU numbers are the guest's vCPUs.
            cores: s.vm.as_ref().map_or(s.machine.cores, |v| v.cores.len() as u32),
            guest: s.vm.is_some(),
            sockets: if s.vm.is_some() { 1 } else { s.machine.sockets },
            queues: s.nic.queues,
            interrupt_mode: s.nic.interrupt_mode,
            line_rate_gbps: nic::line_rate_ok(s.nic.line_rate_gbps).then_some(s.nic.line_rate_gbps),
            rfs: s.kernel.rfs,
            flows: s.workload.flow_count(),
            max_frame_bytes: if s.nic.header_split { nic::MAX_SPLIT_FRAME_BYTES } else { MAX_FRAME_BYTES },
            errors: Vec::new(),
        }
    }

    /// Records a problem at the dotted key path `path`.
    pub fn err(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(ConfigError { path: path.into(), message: message.into() });
    }

    /// The problems recorded, in the order they were found.
    pub fn into_errors(self) -> Vec<ConfigError> {
        self.errors
    }

    /// The message for a CPU number that is not below `cores`.
    pub(crate) fn no_such_core(&self, core: u32) -> String {
        if self.guest {
            format!("CPU {core} does not exist (the VM has {} vCPUs, one per core of vm.cores)", self.cores)
        } else {
            format!("core {core} does not exist (machine.cores = {})", self.cores)
        }
    }

    /// Records a problem unless `lo <= v <= hi`; `what` names the unit and
    /// the bound's source, e.g. `"descriptors (mlx5: 8192)"`.
    pub(crate) fn check_u32(&mut self, path: &str, v: u32, lo: u32, hi: u32, what: &str) -> bool {
        let ok = (lo..=hi).contains(&v);
        if !ok {
            self.err(path, format!("expected {lo}..={hi} {what}, got {v}"));
        }
        ok
    }

    /// Records a problem unless `v` is finite and `lo <= v <= hi`.
    pub(crate) fn check_f64(&mut self, path: &str, v: f64, lo: f64, hi: f64, what: &str) -> bool {
        let ok = v.is_finite() && (lo..=hi).contains(&v);
        if !ok {
            self.err(path, format!("expected {lo}..={hi} {what}, got {}", num(v)));
        }
        ok
    }
}

/// A positive finite number.
pub(crate) fn finite_pos(v: f64) -> bool {
    v.is_finite() && v > 0.0
}

/// A number for a message: as written for ordinary magnitudes, in
/// exponent form (`1e30`, `1e-12`) for huge or tiny ones.
pub(crate) fn num(v: f64) -> String {
    if v != 0.0 && v.is_finite() && !(1e-4..1e15).contains(&v.abs()) { format!("{v:e}") } else { format!("{v}") }
}

impl Scenario {
    /// Checks ranges and consistency; returns every problem, not just the first.
    pub fn validate(&self) -> Vec<ConfigError> {
        let mut cx = ValidateCx::new(self);
        let duration_ok = validate_duration(self.duration_ms, &mut cx);
        self.machine.validate(&mut cx);
        self.nic.validate(&mut cx);
        self.kernel.validate(&mut cx);
        self.workload.validate(&mut cx);
        apps::validate(&self.apps, &mut cx);
        devices::validate(&self.devices, &mut cx);
        if let Some(t) = &self.tx {
            t.validate(self, &mut cx);
        }
        self.iommu.validate(&mut cx);
        iommu::validate_pool_fits(
            &self.iommu,
            self.nic.queues,
            self.nic.ring_size,
            crate::platform::memory::rx_buffer_bytes(self.nic.header_split),
            &mut cx,
        );
        attackers::validate(&self.attackers, &mut cx);
        self.process.validate(&VmConfig::guest_view(self), &mut cx);
        if let Some(vm) = &self.vm {
            vm.validate(self, &mut cx);
        }
        vm::validate_vms(self, &mut cx);
        cgroups::validate(&self.cgroups, &self.apps, &mut cx);
        if let Some(v) = &self.vfio {
            v.validate(self, &mut cx);
        }
        costs::validate(&self.costs, &mut cx);
        if let Some(key) = &self.nic.rss_key {
            nic::validate_rss_key(key, &mut cx);
        }
        let mut errors = cx.into_errors();
        // The cost of the run, once everything it depends on is valid.
        if duration_ok && errors.is_empty() {
            errors.extend(self.run_cost_errors());
        }
        errors
    }

    /// Largest frame the NIC receives: [`MAX_FRAME_BYTES`], or a page of
    /// payload with `nic.header_split`.
    pub fn max_frame_bytes(&self) -> u32 {
        if self.nic.header_split { nic::MAX_SPLIT_FRAME_BYTES } else { MAX_FRAME_BYTES }
    }

    /// With a capture to replay, an upper bound on the packets the run
    /// offers: the capture's UDP and TCP frames once, or, looping, once a
    /// pass period (at least the time the pass takes on the wire at line
    /// rate) for the whole duration.
    fn pcap_packets_bound(&self) -> Option<f64> {
        let t = self.workload.pcap_trace.as_ref()?;
        let per_pass = t.offered_per_pass(self.max_frame_bytes()) as f64;
        if !self.workload.pcap_loop {
            return Some(per_pass);
        }
        let period_ps = pcap::scale_ps(t.pass_period_ps() as u128, pcap::speed_ppm(self.workload.pcap_speed)) as f64;
        let wire_ps: f64 = t.frames.iter().map(|f| (f.wire_bytes + WIRE_OVERHEAD_BYTES) as f64).sum::<f64>() * 8000.0
            / self.nic.line_rate_gbps;
        let pass_ps = period_ps.max(wire_ps).max(1.0);
        Some(per_pass * (self.duration_ms * 1e9 / pass_ps).ceil().max(1.0))
    }

    /// Settings that are valid but probably not what was meant, by key path,
    /// e.g. an RSS indirection table with fewer entries than there are
    /// queues. Meant for a scenario that [`validate`](Self::validate)s.
    pub fn warnings(&self) -> Vec<ConfigError> {
        let mut w = self.nic.warnings();
        w.extend(self.pcap_warnings());
        if self.kernel.rfs && self.kernel.rps_sock_flow_entries == 0 {
            w.push(ConfigError {
                path: "kernel.rps_sock_flow_entries".into(),
                message: "0 entries turn RFS off (as in Linux), although kernel.rfs is true".into(),
            });
        }
        w
    }

    /// Warnings of a replay: frames refused as oversize, and a capture
    /// longer than the run that does not loop.
    fn pcap_warnings(&self) -> Vec<ConfigError> {
        let mut w = Vec::new();
        let Some(t) = &self.workload.pcap_trace else { return w };
        let max = self.max_frame_bytes();
        if let (n @ 1.., Some(first)) = t.oversize(max) {
            w.push(ConfigError {
                path: "workload.pcap".into(),
                message: format!(
                    "{}: {n} UDP/TCP frame{} larger than the {max} bytes the NIC receives (the first is frame {}) {} refused, counted in pcap.unclassified.oversize",
                    t.file,
                    if n == 1 { "" } else { "s" },
                    first + 1,
                    if n == 1 { "is" } else { "are" },
                ),
            });
        }
        let span_ps = pcap::scale_ps(t.span_ps() as u128, pcap::speed_ppm(self.workload.pcap_speed));
        let run_ps = (self.duration_ms * 1e9).round() as u128;
        if !self.workload.pcap_loop && span_ps > run_ps {
            w.push(ConfigError {
                path: "workload.pcap".into(),
                message: format!(
                    "{}: the capture lasts {:.3} ms at pcap_speed {}, longer than duration_ms = {}: frames after the run's end are not replayed",
                    t.file,
                    span_ps as f64 / 1e9,
                    num(self.workload.pcap_speed),
                    num(self.duration_ms)
                ),
            });
        }
        w
    }

    /// Refuses runs whose work is absurd: too many offered packets, device
    /// events or transmit descriptors for the duration.
    fn run_cost_errors(&self) -> Vec<ConfigError> {
        let mut errs = Vec::new();
        let seconds = self.duration_ms * 1e-3;
        if let Some(packets) = self.pcap_packets_bound() {
            if packets > MAX_OFFERED_PACKETS {
                errs.push(ConfigError {
                    path: "duration_ms".into(),
                    message: format!(
                        "the looping replay of workload.pcap would offer up to {packets:.3e} packets in {} s, above the limit of 1e9 per run; shorten duration_ms or lower workload.pcap_speed",
                        num(seconds)
                    ),
                });
            }
        } else if self.workload.offered_pps() * seconds > MAX_OFFERED_PACKETS {
            let pps = self.workload.offered_pps();
            let packets = pps * seconds;
            let w = &self.workload;
            let rate_key = if w.rate_gbps.is_some() { "workload.rate_gbps" } else { "workload.rate_pps" };
            let rate = if w.rate_pps.is_some() || w.rate_gbps.is_some() { "" } else { "the default " };
            errs.push(ConfigError {
                path: "duration_ms".into(),
                message: format!(
                    "the run would offer {packets:.3e} packets ({rate}{pps:.0} pps × {} s), above the limit of 1e9 per run (at 3 million simulated packets per CPU-second that is {:.0} CPU-minutes); shorten duration_ms or lower {rate_key}",
                    num(seconds),
                    packets / 3e6 / 60.0
                ),
            });
        }
        let hz: f64 = self.devices.iter().map(|d| d.rate_hz).sum::<f64>()
            + self.attackers.iter().filter(|a| !a.kind.is_nic()).map(|a| a.rate_hz).sum::<f64>();
        let events = hz * seconds;
        if events > MAX_DEVICE_EVENTS {
            errs.push(ConfigError {
                path: "duration_ms".into(),
                message: format!(
                    "the [[devices]] and [[attackers]] would raise {events:.3e} events ({} Hz of devices[].rate_hz and attackers[].rate_hz × {} s), above the limit of 1e9 per run; shorten duration_ms or lower the rates",
                    num(hz),
                    num(seconds)
                ),
            });
        }
        if let Some(t) = &self.tx {
            let descriptors = t.doorbell_rate_per_s * seconds * t.descriptors_per_doorbell as f64;
            if descriptors > MAX_TX_DESCRIPTORS {
                errs.push(ConfigError {
                    path: "duration_ms".into(),
                    message: format!(
                        "the [tx] path would post {descriptors:.3e} descriptors (tx.doorbell_rate_per_s × tx.descriptors_per_doorbell × {} s), above the limit of 1e9 per run; shorten duration_ms or lower tx.doorbell_rate_per_s",
                        num(seconds)
                    ),
                });
            }
        }
        errs
    }
}

/// Checks `duration_ms`: at least [`MIN_DURATION_MS`], at most
/// [`MAX_DURATION_MS`]. Returns whether it is valid.
fn validate_duration(ms: f64, cx: &mut ValidateCx) -> bool {
    if !finite_pos(ms) {
        cx.err("duration_ms", format!("expected a positive number of milliseconds, got {}", num(ms)));
    } else if ms < MIN_DURATION_MS {
        cx.err(
            "duration_ms",
            format!("expected at least 1 µs ({MIN_DURATION_MS} ms): a shorter run measures nothing, got {}", num(ms)),
        );
    } else if ms > MAX_DURATION_MS {
        cx.err("duration_ms", format!("expected at most one simulated hour (3600000 ms), got {}", num(ms)));
    } else {
        return true;
    }
    false
}

/// Test helpers shared by the tables' unit tests.
#[cfg(test)]
pub(crate) mod testutil {
    use super::Scenario;

    /// The key paths `s.validate()` names, in order.
    pub fn paths(s: &Scenario) -> Vec<String> {
        s.validate().into_iter().map(|e| e.path).collect()
    }

    /// Asserts that `s` fails validation with exactly one problem, at `path`,
    /// whose message contains `needle`.
    #[track_caller]
    pub fn only_error(s: &Scenario, path: &str, needle: &str) {
        let errs = s.validate();
        assert_eq!(errs.len(), 1, "expected one problem at {path}, got {errs:?}");
        assert_eq!(errs[0].path, path, "{errs:?}");
        assert!(errs[0].message.contains(needle), "'{needle}' not in: {}", errs[0]);
    }

    /// Asserts that `s` is valid.
    #[track_caller]
    pub fn valid(s: &Scenario) {
        assert_eq!(s.validate(), vec![]);
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::{only_error, valid};
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
    fn duration_is_one_microsecond_to_one_hour() {
        let mut s = Scenario::default();
        s.duration_ms = 1e-12;
        only_error(&s, "duration_ms", "at least 1 µs");
        s.duration_ms = MIN_DURATION_MS;
        valid(&s);
        s.duration_ms = MAX_DURATION_MS + 1.0;
        s.workload.rate_pps = Some(1.0);
        only_error(&s, "duration_ms", "at most one simulated hour");
        s.duration_ms = MAX_DURATION_MS;
        valid(&s);
    }

    #[test]
    fn runs_offering_more_than_a_billion_packets_are_refused() {
        let mut s = Scenario::default();
        // The default 2 Mpps for 500 s is exactly 10^9 packets.
        s.duration_ms = 500_000.0;
        valid(&s);
        s.duration_ms = 501_000.0;
        only_error(&s, "duration_ms", "workload.rate_pps");
        s.workload.rate_gbps = Some(1.0);
        s.duration_ms = 3_600_000.0;
        only_error(&s, "duration_ms", "lower workload.rate_gbps");
    }

    #[test]
    fn device_events_beyond_a_billion_are_refused() {
        let mut s = Scenario::default();
        s.workload.rate_pps = Some(1.0);
        s.duration_ms = 200_000.0;
        let dev = |rate_hz| DeviceConfig {
            name: "d".into(),
            pin: 5,
            rate_hz,
            clear: CauseClear::Read,
            handler_ns: 0.0,
            core: 0,
        };
        s.devices = vec![dev(5e6)];
        valid(&s);
        s.devices = vec![dev(5e6), dev(1.0)];
        only_error(&s, "duration_ms", "devices[].rate_hz");
    }

    #[test]
    fn tx_descriptors_beyond_a_billion_are_refused() {
        let mut s = Scenario::default();
        s.workload.rate_pps = Some(1.0);
        s.duration_ms = 1_000_000.0;
        s.tx = Some(TxConfig { doorbell_rate_per_s: 1e3, descriptors_per_doorbell: 1, ..TxConfig::default() });
        valid(&s);
        s.tx = Some(TxConfig { doorbell_rate_per_s: 1e6, descriptors_per_doorbell: 2, ..TxConfig::default() });
        only_error(&s, "duration_ms", "tx.doorbell_rate_per_s");
    }

    #[test]
    fn the_run_cost_is_judged_only_on_an_otherwise_valid_scenario() {
        let mut s = Scenario::default();
        s.duration_ms = 3_600_000.0;
        s.nic.queues = 0;
        only_error(&s, "nic.queues", "expected 1..=2048");
    }

    #[test]
    fn an_rss_table_smaller_than_the_queue_count_is_a_warning_not_an_error() {
        let mut s = Scenario::default();
        assert_eq!(s.warnings(), vec![]);
        s.nic.queues = 4;
        s.nic.reta_size = 2;
        valid(&s);
        let w = s.warnings();
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].path, "nic.reta_size");
        assert!(w[0].message.contains("queues 2 to 3 never receive"), "{}", w[0]);
        s.nic.reta_size = 1;
        s.nic.queues = 2;
        assert!(s.warnings()[0].message.contains("queue 1 never receives"), "{:?}", s.warnings());
    }
}
