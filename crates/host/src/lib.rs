//! Reads a real machine — `/proc` and `/sys` — into a [`HostInfo`]: its
//! CPUs, NUMA nodes, one network interface's RX queues, their IRQs and
//! where those are routed, RPS/RFS and the `net.core` sysctls, each value
//! with the file it came from, and what could not be read. [`render()`]
//! turns it into a scenario file that `irqlab run` accepts.
//!
//! The files are read under a root directory: `/` for the machine itself,
//! or a saved copy of the same paths ([`Reader::save`] writes one), so the
//! same code reads fixtures in tests. Symbolic links are resolved inside
//! that root. Nothing is written to the machine, and nothing here needs
//! privileges beyond reading world-readable files.
//!
//! Output is deterministic: directories are listed sorted, and every map is
//! ordered.
//!
//! [`measure`] and [`validate`] are the exception: `irqlab calibrate` and
//! `irqlab validate` time this machine with real system calls. They are the
//! only modules of the workspace allowed `unsafe`, in the few functions
//! that need it (see their documentation), each block with its `SAFETY:`
//! argument.

#![deny(unsafe_code)]

pub mod counters;
pub mod error;
pub mod fs;
pub mod interrupts;
pub mod measure;
pub mod render;
pub mod usage;
pub mod validate;

pub use error::HostError;
pub use fs::Reader;
pub use interrupts::{ProcInterrupts, QueueRole, VectorNames};
pub use render::{Adjustment, Imported, render};

use irqlab_model::config::cpuset::{parse_cpulist, parse_cpumask};
use std::collections::BTreeSet;

/// A value and the file (or files) it was read from, as the machine names
/// them (`/proc/irq/45/effective_affinity_list`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<T> {
    /// The value.
    pub value: T,
    /// Where it came from.
    pub from: String,
}

impl<T> Sourced<T> {
    fn new(value: T, from: impl Into<String>) -> Self {
        Sourced { value, from: from.into() }
    }
}

/// Something the import could not read, and the default it used instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotRead {
    /// The scenario key (or the fact) concerned, e.g. `nic.ring_size`.
    pub what: String,
    /// Why it could not be read.
    pub why: String,
    /// The value used instead.
    pub default_used: String,
}

/// How a NIC signals interrupts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IrqMode {
    /// One MSI-X vector per queue.
    Msix,
    /// One MSI vector for the device.
    Msi,
    /// A legacy INTx line through the IO-APIC.
    Intx,
}

impl IrqMode {
    /// The scenario's name for it (`nic.interrupt_mode`).
    pub fn key(self) -> &'static str {
        match self {
            IrqMode::Msix => "msix",
            IrqMode::Msi => "msi",
            IrqMode::Intx => "intx",
        }
    }
}

/// A NUMA node and its CPUs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The node number (`nodeN`).
    pub id: u32,
    /// Its CPUs (`nodeN/cpulist`).
    pub cpus: Vec<u32>,
}

/// The `net.core` sysctls the model has (`/proc/sys/net/core/*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sysctls {
    /// `net.core.netdev_max_backlog`.
    pub netdev_max_backlog: Option<Sourced<i64>>,
    /// `net.core.netdev_budget`.
    pub netdev_budget: Option<Sourced<i64>>,
    /// `net.core.netdev_budget_usecs`.
    pub netdev_budget_usecs: Option<Sourced<i64>>,
    /// `net.core.dev_weight`.
    pub dev_weight: Option<Sourced<i64>>,
    /// `net.core.rps_sock_flow_entries`.
    pub rps_sock_flow_entries: Option<Sourced<i64>>,
}

/// One RX queue's sysfs directory (`queues/rx-N`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RxQueue {
    /// N.
    pub index: u32,
    /// `rps_cpus`, the hex mask as the file shows it.
    pub rps_cpus: Option<Sourced<String>>,
    /// `rps_flow_cnt`.
    pub rps_flow_cnt: Option<Sourced<u32>>,
}

/// An IRQ that serves one of the interface's queues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueIrq {
    /// The IRQ number.
    pub irq: u32,
    /// The handler name in `/proc/interrupts`.
    pub name: String,
    /// The queue it serves.
    pub queue: u32,
    /// What it serves on that queue.
    pub role: QueueRole,
    /// The chip column of `/proc/interrupts`.
    pub chip: String,
    /// Interrupts so far, per CPU column.
    pub counts: Vec<u64>,
    /// `/proc/irq/N/effective_affinity_list`: where the kernel routes it.
    pub effective_affinity: Option<Sourced<Vec<u32>>>,
    /// `/proc/irq/N/smp_affinity_list`: where it may be routed.
    pub smp_affinity: Option<Sourced<Vec<u32>>>,
}

impl QueueIrq {
    /// The CPUs it is routed to: the effective affinity when known,
    /// otherwise the allowed set.
    pub fn routed(&self) -> Option<&Sourced<Vec<u32>>> {
        self.effective_affinity.as_ref().or(self.smp_affinity.as_ref())
    }
}

/// The network interface the scenario models.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nic {
    /// Its name, and how it was chosen.
    pub name: Sourced<String>,
    /// The device directory its `device` link resolves to.
    pub device: String,
    /// The driver (the `driver` link's target).
    pub driver: Option<Sourced<String>>,
    /// The PCI address (`0000:3b:00.0`): the device's, or a virtio device's parent's.
    pub pci_address: Option<String>,
    /// The virtio device (`virtio0`), for virtio-net.
    pub virtio: Option<String>,
    /// `device/numa_node` (−1: the firmware gives none).
    pub numa_node: Option<Sourced<i64>>,
    /// `speed`, Mb/s.
    pub speed_mbps: Option<Sourced<i64>>,
    /// Interrupt mode, from `msi_irqs` or the chip names.
    pub interrupt_mode: Option<Sourced<IrqMode>>,
    /// The `queues/rx-N` directories, by N.
    pub rx_queues: Vec<RxQueue>,
    /// Its queue IRQs, by queue, role and IRQ.
    pub vectors: Vec<QueueIrq>,
    /// The device's own IRQ (`device/irq`): its MSI or INTx line.
    pub device_irq: Option<QueueIrq>,
}

impl Nic {
    /// The IRQ that signals RX queue `q` (a `TxRx` or `Rx` vector).
    pub fn rx_vector(&self, q: u32) -> Option<&QueueIrq> {
        self.vectors.iter().find(|v| v.queue == q && v.role.receives())
    }
}

/// What an import read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostInfo {
    /// `/proc/sys/kernel/hostname`.
    pub hostname: Option<Sourced<String>>,
    /// `/proc/sys/kernel/osrelease`.
    pub kernel_release: Option<Sourced<String>>,
    /// Online CPUs.
    pub cpus: Option<Sourced<Vec<u32>>>,
    /// Physical cores: distinct (package, core) pairs of the online CPUs.
    pub physical_cores: Option<Sourced<u32>>,
    /// Physical packages (sockets) of the online CPUs.
    pub packages: Option<Sourced<u32>>,
    /// NUMA nodes that have CPUs.
    pub nodes: Option<Sourced<Vec<Node>>>,
    /// The sysctls.
    pub sysctls: Sysctls,
    /// The interface, when there is one.
    pub nic: Option<Nic>,
    /// What could not be read, and the defaults used.
    pub not_read: Vec<NotRead>,
}

/// Settings no file under `/proc` or `/sys` shows.
const UNREADABLE: [(&str, &str, &str); 5] = [
    (
        "nic.ring_size",
        "RX ring sizes are not in /proc or /sys: `ethtool -g` asks the driver with the ETHTOOL_GRINGPARAM ioctl or an ethtool netlink request",
        "512",
    ),
    (
        "nic.coalesce",
        "interrupt coalescing is not in /proc or /sys: `ethtool -c` asks the driver (ETHTOOL_GCOALESCE ioctl or netlink); set nic.coalesce.rx_usecs/rx_frames, or adaptive_rx = true for `adaptive-rx on`, by hand",
        "rx_usecs = 0, rx_frames = 1 (no coalescing)",
    ),
    (
        "nic.rss_key, nic.reta_size",
        "the RSS key and indirection table are not in /proc or /sys: `ethtool -x` asks the driver (ETHTOOL_GRSSH ioctl or netlink)",
        "the Microsoft verification key, a table of 128 entries filled i mod queues",
    ),
    (
        "channel counts",
        "the most channels the NIC supports are not in /proc or /sys (`ethtool -l`, ETHTOOL_GCHANNELS); the channels in use are the queues/rx-N directories",
        "nic.queues = the rx-N directories",
    ),
    (
        "workload, apps",
        "the traffic and the applications are not in the machine's files",
        "irqlab's defaults: 2 Mpps of 64-byte UDP over 64 flows, one reader per interrupt-taking core",
    ),
];

impl HostInfo {
    /// Reads the machine under `reader`'s root. `iface` names the interface
    /// to model; without it, the first (sorted) interface other than `lo`
    /// that has a `device` link. Missing files become [`NotRead`]s; a file
    /// whose contents are not what the kernel writes is an error naming it.
    pub fn read(reader: &Reader, iface: Option<&str>) -> Result<HostInfo, HostError> {
        let mut cx = Cx { r: reader, not_read: Vec::new() };
        let hostname = cx.text("/proc/sys/kernel/hostname");
        let kernel_release = cx.text("/proc/sys/kernel/osrelease");
        let interrupts = cx.interrupts()?;
        let cpus = cx.cpus(interrupts.as_ref())?;
        let (physical_cores, packages) = cx.topology(cpus.as_ref())?;
        let nodes = cx.nodes()?;
        let sysctls = cx.sysctls()?;
        let nic = match cx.pick_iface(iface)? {
            Some(name) => Some(cx.nic(name, interrupts.as_ref())?),
            None => None,
        };
        for (what, why, default_used) in UNREADABLE {
            cx.not_read(what, why, default_used);
        }
        Ok(HostInfo {
            hostname,
            kernel_release,
            cpus,
            physical_cores,
            packages,
            nodes,
            sysctls,
            nic,
            not_read: cx.not_read,
        })
    }
}

/// The reading context: the reader and what could not be read.
struct Cx<'a> {
    r: &'a Reader,
    not_read: Vec<NotRead>,
}

impl Cx<'_> {
    fn not_read(&mut self, what: &str, why: impl Into<String>, default_used: impl Into<String>) {
        self.not_read.push(NotRead { what: what.into(), why: why.into(), default_used: default_used.into() });
    }

    fn malformed(&self, path: &str, line: usize, message: impl Into<String>) -> HostError {
        HostError::Malformed { file: self.r.on_disk(path).display().to_string(), line, message: message.into() }
    }

    /// A one-line file's trimmed text, if readable.
    fn text(&self, path: &str) -> Option<Sourced<String>> {
        self.r.read(path).ok().map(|t| Sourced::new(t.trim().to_owned(), path))
    }

    /// A file holding one integer: `Ok(None)` when missing (with the reason),
    /// an error when it holds something else.
    fn int(&self, path: &str) -> Result<Result<Sourced<i64>, String>, HostError> {
        let text = match self.r.read(path) {
            Ok(t) => t,
            Err(why) => return Ok(Err(format!("{path}: {why}"))),
        };
        let t = text.trim();
        match t.parse::<i64>() {
            Ok(v) => Ok(Ok(Sourced::new(v, path))),
            Err(_) => Err(self.malformed(path, 1, format!("expected an integer, found `{t}`"))),
        }
    }

    fn cpulist(&self, path: &str) -> Result<Result<Sourced<Vec<u32>>, String>, HostError> {
        let text = match self.r.read(path) {
            Ok(t) => t,
            Err(why) => return Ok(Err(format!("{path}: {why}"))),
        };
        match parse_cpulist(text.trim()) {
            Ok(v) => Ok(Ok(Sourced::new(v, path))),
            Err(e) => Err(self.malformed(path, 1, format!("expected a cpulist such as `0-3,8-11`: {e}"))),
        }
    }

    fn interrupts(&mut self) -> Result<Option<ProcInterrupts>, HostError> {
        const PATH: &str = "/proc/interrupts";
        match self.r.read(PATH) {
            Ok(text) => interrupts::parse(&text).map(Some).map_err(|(line, m)| self.malformed(PATH, line, m)),
            Err(why) => {
                self.not_read(
                    "nic.affinity",
                    format!("{PATH}: {why}, so no queue IRQ is known"),
                    "queue i → CPU i mod cores",
                );
                Ok(None)
            }
        }
    }

    fn cpus(&mut self, interrupts: Option<&ProcInterrupts>) -> Result<Option<Sourced<Vec<u32>>>, HostError> {
        const PATH: &str = "/sys/devices/system/cpu/online";
        match self.cpulist(PATH)? {
            Ok(c) if !c.value.is_empty() => Ok(Some(c)),
            Ok(_) => Err(self.malformed(PATH, 1, "no CPU is online")),
            Err(why) => match interrupts {
                Some(p) => {
                    Ok(Some(Sourced::new(p.cpus.clone(), "/proc/interrupts (header: one column per online CPU)")))
                }
                None => {
                    self.not_read("machine.cores", why, "4");
                    Ok(None)
                }
            },
        }
    }

    /// Physical cores and packages of the online CPUs.
    #[allow(clippy::type_complexity)]
    fn topology(
        &mut self,
        cpus: Option<&Sourced<Vec<u32>>>,
    ) -> Result<(Option<Sourced<u32>>, Option<Sourced<u32>>), HostError> {
        let Some(cpus) = cpus else { return Ok((None, None)) };
        let mut cores = BTreeSet::new();
        let mut packages = BTreeSet::new();
        for &c in &cpus.value {
            let base = format!("/sys/devices/system/cpu/cpu{c}/topology");
            let package = self.int(&format!("{base}/physical_package_id"))?;
            let core = self.int(&format!("{base}/core_id"))?;
            match (package, core) {
                (Ok(p), Ok(k)) => {
                    packages.insert(p.value);
                    cores.insert((p.value, k.value));
                }
                (Err(why), _) | (_, Err(why)) => {
                    self.not_read("physical cores (a comment only)", why, "not needed: the model's cores are CPUs");
                    return Ok((None, None));
                }
            }
        }
        let from = "/sys/devices/system/cpu/cpuN/topology/{physical_package_id,core_id}";
        Ok((Some(Sourced::new(cores.len() as u32, from)), Some(Sourced::new(packages.len() as u32, from))))
    }

    fn nodes(&mut self) -> Result<Option<Sourced<Vec<Node>>>, HostError> {
        const DIR: &str = "/sys/devices/system/node";
        let names = match self.r.list(DIR) {
            Ok(n) => n,
            Err(why) => {
                self.not_read("machine.sockets", format!("{DIR}: {why} (a kernel without NUMA)"), "1");
                return Ok(None);
            }
        };
        let mut ids: Vec<u32> =
            names.iter().filter_map(|n| n.strip_prefix("node")).filter_map(|n| n.parse::<u32>().ok()).collect();
        ids.sort_unstable();
        let mut nodes = Vec::new();
        for id in ids {
            let path = format!("{DIR}/node{id}/cpulist");
            match self.cpulist(&path)? {
                Ok(c) if c.value.is_empty() => {}
                Ok(c) => nodes.push(Node { id, cpus: c.value }),
                Err(why) => self.not_read(&format!("NUMA node {id}"), why, "left out"),
            }
        }
        if nodes.is_empty() {
            self.not_read("machine.sockets", format!("no {DIR}/nodeN/cpulist names a CPU"), "1");
            return Ok(None);
        }
        Ok(Some(Sourced::new(nodes, format!("{DIR}/nodeN/cpulist"))))
    }

    fn sysctls(&mut self) -> Result<Sysctls, HostError> {
        let d = irqlab_model::config::KernelConfig::default();
        let mut get = |name: &str, key: &str, default: String| -> Result<Option<Sourced<i64>>, HostError> {
            match self.int(&format!("/proc/sys/net/core/{name}"))? {
                Ok(v) => Ok(Some(v)),
                Err(why) => {
                    self.not_read(key, why, default);
                    Ok(None)
                }
            }
        };
        Ok(Sysctls {
            netdev_max_backlog: get(
                "netdev_max_backlog",
                "kernel.netdev_max_backlog",
                d.netdev_max_backlog.to_string(),
            )?,
            netdev_budget: get("netdev_budget", "kernel.netdev_budget", d.netdev_budget.to_string())?,
            netdev_budget_usecs: get(
                "netdev_budget_usecs",
                "kernel.netdev_budget_usecs",
                d.netdev_budget_usecs.to_string(),
            )?,
            dev_weight: get("dev_weight", "kernel.napi_weight", d.napi_weight.to_string())?,
            rps_sock_flow_entries: get(
                "rps_sock_flow_entries",
                "kernel.rps_sock_flow_entries",
                d.rps_sock_flow_entries.to_string(),
            )?,
        })
    }

    fn pick_iface(&mut self, iface: Option<&str>) -> Result<Option<Sourced<String>>, HostError> {
        const DIR: &str = "/sys/class/net";
        let names = match self.r.list(DIR) {
            Ok(n) => n,
            Err(why) => {
                if let Some(i) = iface {
                    return Err(HostError::Input(format!("--iface {i}: {DIR}: {why}")));
                }
                self.not_read("nic", format!("{DIR}: {why}"), "irqlab's default NIC");
                return Ok(None);
            }
        };
        if let Some(i) = iface {
            if !names.iter().any(|n| n == i) {
                return Err(HostError::Input(format!(
                    "--iface {i}: no such interface in {DIR} (there: {})",
                    if names.is_empty() { "none".to_owned() } else { names.join(", ") }
                )));
            }
            return Ok(Some(Sourced::new(i.to_owned(), "--iface")));
        }
        // Every interface is looked at (not only until one fits), so that a
        // saved copy lists the same interfaces.
        let has_device: Vec<bool> = names.iter().map(|n| self.r.exists(&format!("{DIR}/{n}/device"))).collect();
        let with_device: Vec<&String> =
            names.iter().zip(has_device).filter(|(n, d)| *n != "lo" && *d).map(|(n, _)| n).collect();
        match with_device.first() {
            Some(first) => {
                let others = if with_device.len() > 1 {
                    format!(
                        " (of {}; --iface picks another)",
                        with_device.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                    )
                } else {
                    String::new()
                };
                Ok(Some(Sourced::new(
                    (*first).clone(),
                    format!("the first interface in {DIR}, sorted, other than lo with a device link{others}"),
                )))
            }
            None => {
                self.not_read(
                    "nic",
                    format!(
                        "no interface in {DIR} other than lo has a device link (there: {})",
                        if names.is_empty() { "none".to_owned() } else { names.join(", ") }
                    ),
                    "irqlab's default NIC",
                );
                Ok(None)
            }
        }
    }

    fn nic(&mut self, name: Sourced<String>, interrupts: Option<&ProcInterrupts>) -> Result<Nic, HostError> {
        let net = format!("/sys/class/net/{}", name.value);
        let device = self.r.resolve(&format!("{net}/device"));
        let bus_id = device.rsplit('/').next().unwrap_or_default().to_owned();
        let parent = device.rsplit_once('/').map(|(p, _)| p.to_owned()).unwrap_or_default();
        let parent_id = parent.rsplit('/').next().unwrap_or_default().to_owned();
        let virtio = is_virtio(&bus_id).then(|| bus_id.clone());
        let (pci_address, pci_dir) = if is_pci_address(&bus_id) {
            (Some(bus_id.clone()), Some(device.clone()))
        } else if virtio.is_some() && is_pci_address(&parent_id) {
            (Some(parent_id.clone()), Some(parent.clone()))
        } else {
            (None, None)
        };
        let driver =
            self.r.target_name(&format!("{device}/driver")).map(|d| Sourced::new(d, format!("{net}/device/driver")));

        // NUMA node: the device's, or (virtio) its PCI parent's.
        let mut numa_node = None;
        let mut why_not = String::new();
        for dir in std::iter::once(&device).chain(pci_dir.as_ref().filter(|d| **d != device)) {
            match self.int(&format!("{dir}/numa_node"))? {
                Ok(v) => {
                    let from = if *dir == device { format!("{net}/device/numa_node") } else { v.from.clone() };
                    numa_node = Some(Sourced::new(v.value, from));
                    break;
                }
                Err(why) => why_not = why,
            }
        }
        match &numa_node {
            None => self.not_read("nic.numa_node", why_not, "0"),
            Some(n) if n.value < 0 => self.not_read(
                "nic.numa_node",
                format!("{}: {} (the firmware gives the device no NUMA node)", n.from, n.value),
                "0",
            ),
            Some(_) => {}
        }

        let speed_mbps = match self.r.read(&format!("{net}/speed")) {
            Ok(t) => match t.trim().parse::<i64>() {
                Ok(v) if v > 0 => Some(Sourced::new(v, format!("{net}/speed"))),
                Ok(v) => {
                    self.not_read(
                        "nic.line_rate_gbps",
                        format!("{net}/speed: {v} (unknown: no link, or a virtual NIC)"),
                        "10",
                    );
                    None
                }
                Err(_) => {
                    return Err(self.malformed(
                        &format!("{net}/speed"),
                        1,
                        format!("expected Mb/s, found `{}`", t.trim()),
                    ));
                }
            },
            Err(why) => {
                self.not_read(
                    "nic.line_rate_gbps",
                    format!("{net}/speed: {why} (the kernel refuses the read while the link is down)"),
                    "10",
                );
                None
            }
        };

        let rx_queues = self.rx_queues(&net)?;

        let names = VectorNames { iface: name.value.clone(), pci: pci_address.clone(), virtio: virtio.clone() };
        let mut vectors = Vec::new();
        if let Some(p) = interrupts {
            for row in &p.rows {
                for n in &row.names {
                    if let Some((queue, role)) = names.queue_of(n) {
                        vectors.push(self.queue_irq(row, n, queue, role)?);
                    }
                }
            }
            if vectors.is_empty() {
                self.not_read(
                    "nic.affinity",
                    format!(
                        "no IRQ in /proc/interrupts is named like a queue of {} ({}-TxRx-N, DRIVER-{}-TxRx-N, {}-rx-N{}{})",
                        name.value,
                        name.value,
                        name.value,
                        name.value,
                        pci_address.as_ref().map(|p| format!(", mlx5_compN@pci:{p}")).unwrap_or_default(),
                        virtio.as_ref().map(|v| format!(", {v}-input.N")).unwrap_or_default(),
                    ),
                    "queue i → CPU i mod cores",
                );
            }
        }
        vectors.sort_by_key(|v| (v.queue, v.role, v.irq));

        let device_irq = match (&pci_dir, interrupts) {
            (Some(dir), Some(p)) => match self.int(&format!("{dir}/irq"))? {
                Ok(irq) if irq.value > 0 => match p.row(irq.value as u32) {
                    Some(row) => {
                        let n = row.names.first().cloned().unwrap_or_default();
                        Some(self.queue_irq(row, &n, 0, QueueRole::TxRx)?)
                    }
                    None => None,
                },
                _ => None,
            },
            _ => None,
        };

        let interrupt_mode = self.mode(pci_dir.as_deref(), &vectors, device_irq.as_ref())?;

        Ok(Nic {
            name,
            device,
            driver,
            pci_address,
            virtio,
            numa_node,
            speed_mbps,
            interrupt_mode,
            rx_queues,
            vectors,
            device_irq,
        })
    }

    fn rx_queues(&mut self, net: &str) -> Result<Vec<RxQueue>, HostError> {
        let dir = format!("{net}/queues");
        let names = match self.r.list(&dir) {
            Ok(n) => n,
            Err(why) => {
                self.not_read("nic.queues", format!("{dir}: {why}"), "the queue IRQs found, or 4");
                return Ok(Vec::new());
            }
        };
        let mut idx: Vec<u32> =
            names.iter().filter_map(|n| n.strip_prefix("rx-")).filter_map(|n| n.parse().ok()).collect();
        idx.sort_unstable();
        let mut out = Vec::new();
        for index in idx {
            let q = format!("{dir}/rx-{index}");
            let rps_path = format!("{q}/rps_cpus");
            let rps_cpus = match self.r.read(&rps_path) {
                Ok(t) => {
                    let t = t.trim().to_owned();
                    if let Err(e) = parse_cpumask(&t) {
                        return Err(self.malformed(
                            &rps_path,
                            1,
                            format!("expected a hex CPU mask such as `ff,00000000`: {e}"),
                        ));
                    }
                    Some(Sourced::new(t, rps_path))
                }
                Err(why) => {
                    self.not_read(
                        &format!("kernel.rps_cpus (rx-{index})"),
                        format!("{rps_path}: {why} (a kernel without CONFIG_RPS)"),
                        "no RPS",
                    );
                    None
                }
            };
            let flow_path = format!("{q}/rps_flow_cnt");
            let rps_flow_cnt = match self.int(&flow_path)? {
                Ok(v) => match u32::try_from(v.value) {
                    Ok(n) => Some(Sourced::new(n, v.from)),
                    Err(_) => {
                        return Err(self.malformed(&flow_path, 1, format!("expected a count, found {}", v.value)));
                    }
                },
                Err(why) => {
                    self.not_read(&format!("kernel.rps_flow_cnt (rx-{index})"), why, "0");
                    None
                }
            };
            out.push(RxQueue { index, rps_cpus, rps_flow_cnt });
        }
        Ok(out)
    }

    fn queue_irq(
        &mut self,
        row: &interrupts::IrqRow,
        name: &str,
        queue: u32,
        role: QueueRole,
    ) -> Result<QueueIrq, HostError> {
        let base = format!("/proc/irq/{}", row.irq);
        let effective = match self.cpulist(&format!("{base}/effective_affinity_list"))? {
            Ok(c) if !c.value.is_empty() => Some(c),
            _ => None,
        };
        let smp = match self.cpulist(&format!("{base}/smp_affinity_list"))? {
            Ok(c) if !c.value.is_empty() => Some(c),
            _ => None,
        };
        if effective.is_none() && smp.is_none() && role.receives() {
            self.not_read(
                &format!("nic.affinity[{queue}]"),
                format!("{base}/effective_affinity_list and smp_affinity_list: missing or empty"),
                "queue i → CPU i mod cores",
            );
        }
        Ok(QueueIrq {
            irq: row.irq,
            name: name.to_owned(),
            queue,
            role,
            chip: row.chip.clone(),
            counts: row.counts.clone(),
            effective_affinity: effective,
            smp_affinity: smp,
        })
    }

    fn mode(
        &mut self,
        pci_dir: Option<&str>,
        vectors: &[QueueIrq],
        device_irq: Option<&QueueIrq>,
    ) -> Result<Option<Sourced<IrqMode>>, HostError> {
        if let Some(dir) = pci_dir {
            let msi_dir = format!("{dir}/msi_irqs");
            if let Ok(entries) = self.r.list(&msi_dir) {
                let mut kinds = BTreeSet::new();
                for e in &entries {
                    // Since Linux 3.13 each entry is a file holding "msi" or
                    // "msix"; before, a directory with a `mode` file.
                    let path = format!("{msi_dir}/{e}");
                    let text = self.r.read(&path).or_else(|_| self.r.read(&format!("{path}/mode")));
                    if let Ok(t) = text {
                        match t.trim() {
                            "msix" => kinds.insert(IrqMode::Msix.key()),
                            "msi" => kinds.insert(IrqMode::Msi.key()),
                            other => {
                                return Err(self.malformed(
                                    &path,
                                    1,
                                    format!("expected `msi` or `msix`, found `{other}`"),
                                ));
                            }
                        };
                    }
                }
                let mode = if kinds.contains("msix") {
                    Some(IrqMode::Msix)
                } else if kinds.contains("msi") {
                    Some(IrqMode::Msi)
                } else {
                    None
                };
                let shown = format!("{msi_dir}/*");
                if let Some(m) = mode {
                    return Ok(Some(Sourced::new(m, shown)));
                }
                if entries.is_empty() {
                    return Ok(Some(Sourced::new(IrqMode::Intx, format!("{msi_dir} (empty: no MSI vectors)"))));
                }
            }
        }
        let chips = vectors.iter().chain(device_irq).filter_map(|v| interrupts::chip_mode(&v.chip).map(|m| (m, v.irq)));
        if let Some((m, irq)) = chips.min_by_key(|(m, _)| *m as u8) {
            return Ok(Some(Sourced::new(m, format!("/proc/interrupts (chip of IRQ {irq})"))));
        }
        self.not_read(
            "nic.interrupt_mode",
            "no msi_irqs directory and no recognisable chip name in /proc/interrupts",
            "msix",
        );
        Ok(None)
    }
}

/// `0000:3b:00.0`: domain:bus:device.function.
fn is_pci_address(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 12
        && b[4] == b':'
        && b[7] == b':'
        && b[10] == b'.'
        && s.chars().enumerate().all(|(i, c)| matches!(i, 4 | 7 | 10) || c.is_ascii_hexdigit())
}

/// `virtio0`.
fn is_virtio(s: &str) -> bool {
    s.strip_prefix("virtio").is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names() {
        assert!(is_pci_address("0000:3b:00.0"));
        assert!(!is_pci_address("virtio0"));
        assert!(!is_pci_address("0000:3b:00:0"));
        assert!(is_virtio("virtio12"));
        assert!(!is_virtio("virtio"));
        assert!(!is_virtio("virtio_net"));
    }
}
