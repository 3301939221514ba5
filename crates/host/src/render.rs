//! A [`HostInfo`] as a scenario file: each value with a comment naming the
//! file it came from, the values the model cannot take as they are brought
//! within its bounds (each change stated), and what could not be read
//! listed with the default used. The keys and bounds are those of
//! docs/scenarios.md (`irqlab_model::config`).

use crate::{HostInfo, IrqMode, Nic, NotRead, QueueIrq};
use irqlab_model::config::cpuset::parse_cpumask;
use irqlab_model::config::kernel::MAX_RFS_ENTRIES;
use irqlab_model::config::machine::MAX_CORES;
use irqlab_model::config::nic::{MAX_LINE_RATE_GBPS, MAX_QUEUES, MIN_LINE_RATE_GBPS};
use irqlab_model::config::{KERNEL_INT_MAX, MAX_QUEUES_SINGLE_IRQ};
use std::collections::BTreeSet;
use std::fmt::Write;

/// The default indirection-table size (`nic.reta_size`).
const DEFAULT_RETA: u32 = 128;

/// A value read from the machine that the model cannot take as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjustment {
    /// The scenario key.
    pub what: String,
    /// What the machine has.
    pub read: String,
    /// What the scenario uses.
    pub used: String,
    /// Why.
    pub why: String,
}

/// The rendered scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The scenario file.
    pub toml: String,
    /// What could not be read, and the defaults used (the import's and the rendering's).
    pub not_read: Vec<NotRead>,
    /// Values changed to fit the model.
    pub adjustments: Vec<Adjustment>,
    /// The scenario's values, for tests and callers that want them without parsing.
    pub values: Values,
}

/// The main values the scenario sets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values {
    /// `machine.cores`.
    pub cores: u32,
    /// `machine.sockets`.
    pub sockets: u32,
    /// `nic.queues` (absent: no NIC read).
    pub queues: Option<u32>,
    /// `nic.affinity`.
    pub affinity: Vec<u32>,
    /// `nic.interrupt_mode`.
    pub interrupt_mode: Option<IrqMode>,
    /// `nic.numa_node`.
    pub numa_node: Option<u32>,
}

/// Lines of the file being built.
struct Out {
    lines: Vec<String>,
}

impl Out {
    fn line(&mut self, s: impl Into<String>) {
        self.lines.push(s.into());
    }
    fn comment(&mut self, s: &str) {
        self.lines.push(if s.is_empty() { "#".to_owned() } else { format!("# {}", one_line(s)) });
    }
    /// `key = value  # comment`, the comments aligned.
    fn kv(&mut self, key: &str, value: &str, comment: &str) {
        let kv = format!("{key} = {value}");
        self.lines.push(format!("{kv:<32} # {}", one_line(comment)));
    }
}

/// Renders the scenario for `info`.
pub fn render(info: &HostInfo) -> Imported {
    let mut not_read = info.not_read.clone();
    let mut adj: Vec<Adjustment> = Vec::new();
    let mut adjust = |what: &str, read: String, used: String, why: &str| {
        adj.push(Adjustment { what: what.into(), read, used, why: why.into() });
    };
    let mut body = Out { lines: Vec::new() };
    let mut values = Values::default();

    // ---- [machine]
    let (real_cpus, cpus_from) = match &info.cpus {
        Some(c) => (c.value.clone(), c.from.clone()),
        None => ((0..4).collect(), "not read: the default".into()),
    };
    let highest = real_cpus.iter().max().copied().unwrap_or(3);
    let mut cores = highest + 1;
    if real_cpus.len() as u32 != cores {
        adjust(
            "machine.cores",
            format!("{} online CPUs, numbered up to {highest}", real_cpus.len()),
            format!("{cores}"),
            "the model numbers cores 0..cores; offline CPUs are counted so that CPU numbers keep their meaning",
        );
    }
    if cores > MAX_CORES {
        adjust(
            "machine.cores",
            format!("{cores}"),
            format!("{MAX_CORES}"),
            "the model has at most 255 cores (8-bit xAPIC IDs); CPUs beyond are folded onto the first (CPU c → c mod 255)",
        );
        cores = MAX_CORES;
    }
    let nodes = info.nodes.as_ref().map(|n| n.value.clone()).unwrap_or_default();
    let mut sockets = (nodes.len() as u32).max(1);
    if sockets > cores {
        adjust("machine.sockets", format!("{sockets}"), "1".into(), "more NUMA nodes than cores");
        sockets = 1;
    }
    if !cores.is_multiple_of(sockets) {
        if highest + 1 > MAX_CORES {
            let c = cores - cores % sockets;
            adjust(
                "machine.cores",
                format!("{cores}"),
                format!("{c}"),
                "the model splits cores evenly among sockets, so cores must be a multiple of sockets",
            );
            cores = c;
        } else {
            adjust(
                "machine.sockets",
                format!("{sockets}"),
                "1".into(),
                "the model splits cores evenly among sockets; this machine's nodes have unequal CPU counts",
            );
            sockets = 1;
        }
    }
    let fold = |c: u32| if c < cores { c } else { c % cores };
    // The model's node k holds cores [k·cores/sockets, (k+1)·cores/sockets).
    let per = cores / sockets;
    if sockets > 1 {
        let mut differs = Vec::new();
        for (k, n) in nodes.iter().enumerate() {
            let model: Vec<u32> = (k as u32 * per..(k as u32 + 1) * per).collect();
            let real: Vec<u32> = n.cpus.iter().copied().filter(|&c| c < cores).collect();
            if real != model {
                differs.push(format!("node {} = CPUs {} (the model: {})", n.id, cpulist(&real), cpulist(&model)));
            }
        }
        if !differs.is_empty() {
            adjust(
                "machine.sockets",
                differs.join("; "),
                format!("{sockets} sockets of {per} consecutive cores"),
                "the model puts consecutive cores on each socket; CPU numbers are kept, so the model's NUMA locality of some CPUs differs from this machine's",
            );
        }
    }
    values.cores = cores;
    values.sockets = sockets;
    let real_node_of = |cpu: u32| nodes.iter().find(|n| n.cpus.contains(&cpu)).map(|n| n.id);

    body.line("[machine]");
    let mut cores_note = format!("{cpus_from}: CPUs {}", cpulist(&real_cpus));
    if let (Some(p), Some(k)) = (&info.physical_cores, &info.packages) {
        let _ = write!(
            cores_note,
            "; {} physical cores in {} package(s) ({}): the model's cores are CPUs",
            p.value, k.value, p.from
        );
    }
    body.kv("cores", &cores.to_string(), &cores_note);
    let sockets_note = match &info.nodes {
        Some(n) => format!(
            "{}: NUMA nodes {}",
            n.from,
            n.value.iter().map(|n| format!("{} = {}", n.id, cpulist(&n.cpus))).collect::<Vec<_>>().join(", ")
        ),
        None => "not read: the default".into(),
    };
    body.kv("sockets", &sockets.to_string(), &sockets_note);

    // ---- [nic]
    let mut queues_for_kernel = 0;
    let mut line_rate = irqlab_model::config::NicConfig::default().line_rate_gbps;
    if let Some(nic) = &info.nic {
        body.line("");
        body.line("[nic]");
        let mode = nic.interrupt_mode.as_ref().map(|m| m.value).unwrap_or(IrqMode::Msix);
        let (mut queues, queues_from) = if !nic.rx_queues.is_empty() {
            let n = nic.rx_queues.len() as u32;
            let dirs = if n == 1 { "rx-0".to_owned() } else { format!("rx-0 .. rx-{} ({n} directories)", n - 1) };
            (n, format!("/sys/class/net/{}/queues/{dirs}", nic.name.value))
        } else if let Some(max) = nic.vectors.iter().filter(|v| v.role.receives()).map(|v| v.queue).max() {
            (max + 1, "/proc/interrupts (the queue vectors' numbers)".to_owned())
        } else {
            (4, "not read: the default".to_owned())
        };
        let limit = if mode == IrqMode::Msix { MAX_QUEUES } else { MAX_QUEUES_SINGLE_IRQ };
        if queues > limit {
            adjust(
                "nic.queues",
                format!("{queues}"),
                format!("{limit}"),
                if mode == IrqMode::Msix {
                    "an MSI-X table has at most 2048 entries"
                } else {
                    "with a single MSI or INTx interrupt the cause register has 64 bits"
                },
            );
            queues = limit;
        }
        queues_for_kernel = queues;
        values.queues = Some(queues);
        values.interrupt_mode = Some(mode);
        body.kv("queues", &queues.to_string(), &queues_from);
        let mode_from = nic.interrupt_mode.as_ref().map(|m| m.from.clone()).unwrap_or("not read: the default".into());
        body.kv("interrupt_mode", &format!("\"{}\"", mode.key()), &mode_from);

        // NUMA node.
        let numa = match &nic.numa_node {
            Some(n) if n.value >= 0 => {
                let id = n.value as u32;
                match nodes.iter().position(|x| x.id == id) {
                    Some(rank) if (rank as u32) < sockets => {
                        if rank as u32 != id {
                            adjust(
                                "nic.numa_node",
                                format!("{id}"),
                                format!("{rank}"),
                                "the model numbers the nodes that have CPUs 0, 1, …",
                            );
                        }
                        Some((rank as u32, n.from.clone()))
                    }
                    _ => {
                        adjust(
                            "nic.numa_node",
                            format!("{id}"),
                            "0".into(),
                            "the node has no CPUs, or the model has fewer sockets",
                        );
                        Some((0, n.from.clone()))
                    }
                }
            }
            Some(n) => Some((0, format!("{}: {} (no node): the default", n.from, n.value))),
            None => None,
        };
        let nic_node = nic.numa_node.as_ref().filter(|n| n.value >= 0).map(|n| n.value as u32);
        if let Some((node, from)) = &numa {
            body.kv("numa_node", &node.to_string(), from);
            values.numa_node = Some(*node);
        }

        // Affinity: one core per queue (MSI-X), or the device's one IRQ.
        let mut affinity = Vec::new();
        let mut entries = Vec::new();
        let describe = |v: &QueueIrq, cpu: u32, from: &str, what: &str| -> String {
            let total: u64 = v.counts.iter().sum();
            let mut s = format!("{what}: IRQ {} {}, {from}", v.irq, v.name);
            if let Some(r) = v.routed().filter(|r| r.value.len() > 1) {
                let _ = write!(s, " (allows CPUs {}; the model takes one: the first)", cpulist(&r.value));
            }
            let _ = write!(s, "; {total} interrupts so far");
            if let (Some(nn), Some(cn)) = (nic_node, real_node_of(cpu))
                && nn != cn
            {
                let _ = write!(s, "; CPU {cpu} is on node {cn}, the NIC on node {nn}");
            }
            s
        };
        if mode == IrqMode::Msix {
            let mut defaulted = Vec::new();
            for q in 0..queues {
                match nic.rx_vector(q).and_then(|v| v.routed().and_then(|r| r.value.first().map(|&c| (v, c, r)))) {
                    Some((v, cpu, r)) => {
                        let c = fold(cpu);
                        let mut text = describe(v, cpu, &r.from, &format!("queue {q}"));
                        if c != cpu {
                            text.push_str(&format!("; CPU {cpu} folded to {c}"));
                        }
                        affinity.push(c);
                        entries.push((c, text));
                    }
                    None => {
                        let c = q % cores;
                        defaulted.push(q);
                        affinity.push(c);
                        entries.push((c, format!("queue {q}: no IRQ found; the default, queue mod cores")));
                    }
                }
            }
            if !defaulted.is_empty() && defaulted.len() < queues as usize && !nic.vectors.is_empty() {
                not_read.push(NotRead {
                    what: "nic.affinity".into(),
                    why: format!(
                        "no IRQ in /proc/interrupts for queue(s) {} of {}",
                        cpulist(&defaulted),
                        nic.name.value
                    ),
                    default_used: "queue i → CPU i mod cores for those".into(),
                });
            }
        } else {
            match nic.device_irq.as_ref().and_then(|v| v.routed().and_then(|r| r.value.first().map(|&c| (v, c, r)))) {
                Some((v, cpu, r)) => {
                    affinity.push(fold(cpu));
                    entries.push((fold(cpu), describe(v, cpu, &r.from, "the device's one IRQ")));
                }
                None => {
                    affinity.push(0);
                    entries.push((0, "the device's IRQ was not found (device/irq): the default, core 0".to_owned()));
                    not_read.push(NotRead {
                        what: "nic.affinity".into(),
                        why: "the device's single MSI/INTx IRQ (device/irq) is not in /proc/interrupts".into(),
                        default_used: "core 0".into(),
                    });
                }
            }
        }
        body.line("affinity = [");
        for (c, text) in &entries {
            body.line(format!("  {:<30} # {}", format!("{c},"), one_line(text)));
        }
        body.line("]");
        values.affinity = affinity;

        // irq_cores: the CPUs the queue IRQs may use.
        let allowed: BTreeSet<u32> = nic
            .vectors
            .iter()
            .filter(|v| v.role.receives())
            .filter_map(|v| v.smp_affinity.as_ref())
            .flat_map(|s| s.value.iter().copied())
            .filter(|&c| c < cores)
            .collect();
        if !allowed.is_empty() {
            let list: Vec<u32> = allowed.into_iter().collect();
            body.kv(
                "irq_cores",
                &format!("\"{}\"", cpulist(&list)),
                "/proc/irq/N/smp_affinity_list of the queue IRQs, together",
            );
        }

        // Line rate.
        if let Some(s) = &nic.speed_mbps {
            let g = s.value as f64 / 1000.0;
            let used = g.clamp(MIN_LINE_RATE_GBPS, MAX_LINE_RATE_GBPS);
            if used != g {
                adjust(
                    "nic.line_rate_gbps",
                    format!("{g}"),
                    format!("{used}"),
                    "the model's line rates are 0.01 to 1600 Gb/s",
                );
            }
            line_rate = used;
            body.kv("line_rate_gbps", &format!("{used:?}"), &format!("{}: {} Mb/s", s.from, s.value));
        }
        if queues > DEFAULT_RETA {
            let r = queues.next_power_of_two();
            adjust(
                "nic.reta_size",
                "not readable".into(),
                format!("{r}"),
                "the default table of 128 entries would leave the queues beyond it without traffic",
            );
            body.kv("reta_size", &r.to_string(), "not readable: the smallest power of two covering the queues");
        }
        nic_comments(&mut body, nic);
    }

    // ---- [kernel]
    body.line("");
    body.line("[kernel]");
    let s = &info.sysctls;
    let int_key = |body: &mut Out,
                   adjust: &mut dyn FnMut(&str, String, String, &str),
                   key: &str,
                   v: &Option<crate::Sourced<i64>>,
                   extra: &str| {
        if let Some(v) = v {
            let used = v.value.clamp(1, KERNEL_INT_MAX as i64);
            if used != v.value {
                adjust(key, v.value.to_string(), used.to_string(), "the model's value is at least 1");
            }
            body.kv(key.trim_start_matches("kernel."), &used.to_string(), &format!("{}{extra}", v.from));
        }
    };
    int_key(&mut body, &mut adjust, "kernel.netdev_max_backlog", &s.netdev_max_backlog, "");
    int_key(&mut body, &mut adjust, "kernel.netdev_budget", &s.netdev_budget, "");
    int_key(&mut body, &mut adjust, "kernel.netdev_budget_usecs", &s.netdev_budget_usecs, "");
    // dev_weight is the backlog's weight only; the model's napi_weight is
    // also the drivers' (NAPI_POLL_WEIGHT), so it is shown, not imported.
    if let Some(v) = &s.dev_weight {
        body.line(format!(
            "# net.core.dev_weight = {} ({}): the backlog's weight; not imported, since kernel.napi_weight is also the drivers' NAPI weight (64)",
            v.value, v.from
        ));
    }

    let flow_entries = match &s.rps_sock_flow_entries {
        Some(v) => {
            let used = v.value.clamp(0, MAX_RFS_ENTRIES as i64) as u32;
            if used as i64 != v.value {
                adjust(
                    "kernel.rps_sock_flow_entries",
                    v.value.to_string(),
                    used.to_string(),
                    "the model's bound is 2^26",
                );
            }
            body.kv(
                "rps_sock_flow_entries",
                &used.to_string(),
                &format!("{}{}", v.from, if used == 0 { " (0: RFS off)" } else { "" }),
            );
            Some(used)
        }
        None => None,
    };

    if let Some(nic) = &info.nic {
        let rxq: Vec<&crate::RxQueue> = nic.rx_queues.iter().take(queues_for_kernel as usize).collect();
        // RPS masks.
        let masks: Vec<(&crate::RxQueue, &crate::Sourced<String>, Vec<u32>)> = rxq
            .iter()
            .filter_map(|q| q.rps_cpus.as_ref().map(|m| (*q, m, parse_cpumask(&m.value).unwrap_or_default())))
            .collect();
        if !masks.is_empty() && masks.len() == rxq.len() {
            let beyond: BTreeSet<u32> =
                masks.iter().flat_map(|(_, _, c)| c.iter().copied()).filter(|&c| c >= cores).collect();
            if !beyond.is_empty() {
                adjust(
                    "kernel.rps_cpus",
                    format!("CPUs {}", cpulist(&beyond.iter().copied().collect::<Vec<_>>())),
                    "left out".into(),
                    "beyond the model's cores",
                );
            }
            let show = |m: &crate::Sourced<String>, cpus: &[u32]| -> String {
                if beyond.is_empty() {
                    format!("\"{}\"", m.value)
                } else {
                    format!(
                        "[{}]",
                        cpus.iter().filter(|&&c| c < cores).map(|c| c.to_string()).collect::<Vec<_>>().join(", ")
                    )
                }
            };
            let all_same = masks.iter().all(|(_, _, c)| *c == masks[0].2);
            if all_same {
                let (_, m, c) = &masks[0];
                let from = if masks.len() > 1 {
                    format!("/sys/class/net/{}/queues/rx-*/rps_cpus (all {} the same)", nic.name.value, masks.len())
                } else {
                    m.from.clone()
                };
                let off = if c.is_empty() { " (no CPU: RPS off)" } else { "" };
                body.kv("rps_cpus", &show(m, c), &format!("{from}{off}"));
            } else {
                body.line("rps_cpus_by_queue = [");
                for (q, m, c) in &masks {
                    body.line(format!("  {:<30} # rx-{}: {}", format!("{},", show(m, c)), q.index, m.from));
                }
                body.line("]");
            }
        }
        // RFS.
        let counts: Vec<(u32, &str)> =
            rxq.iter().filter_map(|q| q.rps_flow_cnt.as_ref().map(|c| (c.value, c.from.as_str()))).collect();
        if let Some(max) = counts.iter().map(|c| c.0).max() {
            let mut v = max;
            if counts.iter().any(|c| c.0 != max) {
                adjust(
                    "kernel.rps_flow_cnt",
                    counts.iter().map(|c| c.0.to_string()).collect::<Vec<_>>().join(", "),
                    max.to_string(),
                    "the model has one rps_flow_cnt for every queue: the largest",
                );
            }
            let q = queues_for_kernel.max(1);
            let cap = (MAX_RFS_ENTRIES / q)
                .checked_next_power_of_two()
                .map(|p| if p * q > MAX_RFS_ENTRIES { p / 2 } else { p })
                .unwrap_or(1);
            if v.next_power_of_two() > cap {
                adjust(
                    "kernel.rps_flow_cnt",
                    v.to_string(),
                    cap.to_string(),
                    "the model's flow tables hold at most 2^26 entries together",
                );
                v = cap;
            }
            let from = if counts.len() > 1 {
                format!("/sys/class/net/{}/queues/rx-*/rps_flow_cnt", nic.name.value)
            } else {
                counts[0].1.to_owned()
            };
            body.kv("rps_flow_cnt", &v.to_string(), &from);
            let rfs = v > 0 && flow_entries.is_some_and(|e| e > 0);
            body.kv(
                "rfs",
                if rfs { "true" } else { "false" },
                "RFS is on when net.core.rps_sock_flow_entries and the queues' rps_flow_cnt are both non-zero",
            );
        }
    }

    // ---- [workload]
    let w = irqlab_model::config::WorkloadConfig::default();
    let wire_bits = (w.mean_packet_bytes() + irqlab_model::config::workload::WIRE_OVERHEAD_BYTES as f64) * 8.0;
    let offered_gbps = w.offered_pps() * wire_bits / 1e9;
    if offered_gbps > line_rate {
        let pps = (line_rate * 1e9 / wire_bits / 2.0).floor().max(1.0);
        adjust(
            "workload.rate_pps",
            "not on the machine".into(),
            format!("{pps}"),
            "the default 2 Mpps does not fit the line rate: half the line rate of 64-byte frames instead",
        );
        body.line("");
        body.line("[workload]");
        body.kv("rate_pps", &format!("{pps:?}"), "half the line rate: the default 2 Mpps does not fit it");
    }

    // ---- header
    let mut head = Out { lines: Vec::new() };
    head.comment("A scenario read from a real machine by `irqlab import` (docs/real-machine.md).");
    head.comment("Each value names the file it came from; what could not be read keeps irqlab's default.");
    if let Some(h) = &info.hostname {
        let release =
            info.kernel_release.as_ref().map(|r| format!(", Linux {} ({})", r.value, r.from)).unwrap_or_default();
        head.comment(&format!("host: {} ({}){release}", h.value, h.from));
    }
    if let Some(nic) = &info.nic {
        head.comment(&format!("interface: {} ({})", nic.name.value, nic.name.from));
        let driver = nic.driver.as_ref().map(|d| format!("driver {} ({}), ", d.value, d.from)).unwrap_or_default();
        head.comment(&format!("device: {driver}{}", nic.device));
    }
    if !not_read.is_empty() {
        head.comment("");
        head.comment("Not read (the value used instead):");
        for n in &not_read {
            head.comment(&format!("- {}: {}; using {}", n.what, n.why, n.default_used));
        }
    }
    if !adj.is_empty() {
        head.comment("");
        head.comment("Changed to fit the model:");
        for a in &adj {
            head.comment(&format!("- {}: {} → {}: {}", a.what, a.read, a.used, a.why));
        }
    }
    head.line("");
    let iface = info.nic.as_ref().map(|n| n.name.value.as_str()).unwrap_or("no-nic");
    head.line(format!("name = {}", quote(&format!("imported-{iface}"))));
    let host = info.hostname.as_ref().map(|h| h.value.as_str()).unwrap_or("a machine");
    let desc = match (&info.nic, values.queues) {
        (Some(n), Some(q)) => format!(
            "Read from {host}: {} ({}), {q} RX queue(s), {cores} cores on {sockets} socket(s)",
            n.name.value,
            n.driver.as_ref().map(|d| d.value.as_str()).unwrap_or("driver unknown")
        ),
        _ => format!("Read from {host}: {cores} cores on {sockets} socket(s), no NIC read"),
    };
    head.line(format!("description = {}", quote(&desc)));
    head.line("");
    head.lines.extend(body.lines);
    let mut toml = head.lines.join("\n");
    toml.push('\n');
    Imported { toml, not_read, adjustments: adj, values }
}

/// Comments about a NIC the scenario cannot state: transmit vectors.
fn nic_comments(body: &mut Out, nic: &Nic) {
    let tx: Vec<String> = nic
        .vectors
        .iter()
        .filter(|v| !v.role.receives())
        .map(|v| format!("IRQ {} {} → {}", v.irq, v.name, v.routed().map(|r| cpulist(&r.value)).unwrap_or("?".into())))
        .collect();
    if !tx.is_empty() {
        body.comment(&format!(
            "transmit vectors (not modelled: the model's [tx] is off by default): {}",
            tx.join(", ")
        ));
    }
}

/// A CPU set as a cpulist: `0-3,8-11`.
pub fn cpulist(cpus: &[u32]) -> String {
    let mut sorted = cpus.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        parts.push(if start == end { start.to_string() } else { format!("{start}-{end}") });
        i += 1;
    }
    parts.join(",")
}

/// A TOML basic string.
fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Text safe for a comment: one line, no control characters.
fn one_line(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpulists_compress_ranges() {
        assert_eq!(cpulist(&[0, 1, 2, 3, 8, 9, 11]), "0-3,8-9,11");
        assert_eq!(cpulist(&[]), "");
        assert_eq!(cpulist(&[5]), "5");
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(quote("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000A\"");
        assert_eq!(one_line("a\nb"), "a b");
    }
}
