//! `irqlab audit`: the interrupt and steering misconfigurations tuners
//! meet most, found in a scenario and in the counters of its run, each
//! with its evidence and what fixing it changes in a simulated run.
//!
//! Every check reads the scenario as it resolved and the metrics of one
//! baseline run; a check that fires proposes `--set` overrides, and the
//! scenario is run again with them appended, so the "after" column is what
//! `irqlab run … --set …` with the same overrides prints.

use irqlab_model::{Metrics, Scenario};
use serde::Serialize;

/// Per-queue interrupt rate above which `rx-usecs 0` costs more CPU than it
/// saves in latency: one interrupt every 20 µs.
pub const HIGH_INTERRUPT_RATE_PER_QUEUE: f64 = 50_000.0;

/// `rx-usecs` proposed when coalescing is off at a high rate: the default
/// interrupt throttling of Intel's i40e and ice drivers
/// (`I40E_ITR_RX_DEF`, `ICE_DFLT_RX_ITR` = 50 µs).
pub const PROPOSED_RX_USECS: u32 = 50;

/// `rps_sock_flow_entries` proposed for RFS with no flow table: the value
/// Documentation/networking/scaling.rst suggests for a moderately loaded
/// server.
pub const PROPOSED_SOCK_FLOW_ENTRIES: u32 = 32_768;

/// A core is saturated when it is idle less than this fraction of the time…
pub const SATURATED_IDLE: f64 = 0.05;
/// …and at least this fraction goes to receive work: hard interrupts,
/// softirq and ksoftirqd together.
pub const SATURATED_RECEIVE_SHARE: f64 = 0.5;

/// What one run gave, for comparing before and after a fix.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    /// Packets delivered to applications per second.
    pub delivered_pps: f64,
    /// Share of offered packets dropped, percent.
    pub dropped_pct: f64,
    /// 99th-percentile wire-to-application latency, ns.
    pub p99_latency_ns: u64,
    /// The busiest core's busy fraction (1 − idle).
    pub busiest_core_busy: f64,
    /// Interrupts per second, all vectors.
    pub interrupts_per_s: f64,
}

impl Outcome {
    fn of(m: &Metrics) -> Outcome {
        let dropped: u64 = m.packets.dropped.values().sum();
        Outcome {
            delivered_pps: m.throughput.delivered_pps,
            dropped_pct: if m.packets.offered == 0 { 0.0 } else { 100.0 * dropped as f64 / m.packets.offered as f64 },
            p99_latency_ns: m.latency_ns.p99,
            busiest_core_busy: m.cpu.iter().map(|c| 1.0 - c.busy_frac.idle).fold(0.0, f64::max),
            interrupts_per_s: m.interrupts.per_second,
        }
    }
}

/// One misconfiguration found.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// The check's name.
    pub check: &'static str,
    /// What is wrong, with the numbers it rests on.
    pub evidence: String,
    /// The overrides that fix it (`--set` arguments), empty when no setting can.
    pub fix: Vec<String>,
    /// Why the fix is what it is, or why there is none.
    pub fix_note: String,
    /// The run with the fix applied, when there is a fix.
    pub after: Option<Outcome>,
}

/// What `irqlab audit` found.
#[derive(Clone, Debug, Serialize)]
pub struct AuditReport {
    /// The scenario's name.
    pub scenario: String,
    /// Simulated milliseconds of each run.
    pub duration_ms: f64,
    /// The run as configured.
    pub before: Outcome,
    /// Checks that fired.
    pub findings: Vec<Finding>,
    /// Checks that found nothing.
    pub passed: Vec<&'static str>,
}

/// Every check, in the order they are reported.
pub const CHECKS: [&str; 7] = [
    "one_vector_for_many_queues",
    "irqs_on_one_core",
    "irqs_off_nic_node",
    "rps_with_a_queue_per_core",
    "rfs_without_flow_table",
    "coalescing_off_at_high_rate",
    "softirq_saturated",
];

/// Audits the scenario `load` gives with no extra overrides; `load` is
/// called again with each fix's overrides appended.
pub fn audit(load: &dyn Fn(&[String]) -> Result<Scenario, String>) -> Result<AuditReport, String> {
    let s = load(&[])?;
    if s.vm.is_some() {
        return Err("audit checks a host's settings; this scenario runs its receive path in a VM ([vm])".into());
    }
    let m = run(&s)?;
    let mut findings = Vec::new();
    let mut passed = Vec::new();
    for check in CHECKS {
        match inspect(check, &s, &m) {
            Some((evidence, fix, fix_note)) => {
                let after = if fix.is_empty() { None } else { Some(Outcome::of(&run(&load(&fix)?)?)) };
                findings.push(Finding { check, evidence, fix, fix_note, after });
            }
            None => passed.push(check),
        }
    }
    Ok(AuditReport { scenario: s.name.clone(), duration_ms: s.duration_ms, before: Outcome::of(&m), findings, passed })
}

fn run(s: &Scenario) -> Result<Metrics, String> {
    let m = irqlab_model::run(s).map_err(|e| e.to_string())?;
    if !m.law_violations.is_empty() {
        let list: Vec<String> = m.law_violations.iter().map(|v| v.to_string()).collect();
        return Err(format!("model bug, please report: {}", list.join("; ")));
    }
    Ok(m)
}

/// The cores of the NIC's queue vectors at the end of the run, queue order.
fn queue_cores(m: &Metrics) -> Vec<u32> {
    m.interrupts.per_vector.iter().filter(|v| !v.queues.is_empty()).map(|v| v.core).collect()
}

/// Cores on the NIC's node (all cores when there is one node).
fn local_cores(s: &Scenario, m: &Metrics) -> Vec<u32> {
    let local: Vec<u32> = m.cpu.iter().filter(|c| c.socket == s.nic.numa_node).map(|c| c.core).collect();
    if local.is_empty() { m.cpu.iter().map(|c| c.core).collect() } else { local }
}

/// `nic.affinity` placing queue i on `cores[i mod len]`.
fn spread_over(queues: u32, cores: &[u32]) -> String {
    let list: Vec<String> = (0..queues as usize).map(|q| cores[q % cores.len()].to_string()).collect();
    format!("nic.affinity=[{}]", list.join(","))
}

fn cpulist(cores: &[u32]) -> String {
    let v: Vec<String> = cores.iter().map(u32::to_string).collect();
    v.join(",")
}

/// One check: `Some((evidence, fix, note))` when it fires.
fn inspect(check: &str, s: &Scenario, m: &Metrics) -> Option<(String, Vec<String>, String)> {
    let cores = m.cpu.len();
    let qc = queue_cores(m);
    let msix = qc.len() > 1;
    match check {
        "one_vector_for_many_queues" => {
            // MSI and INTx give the NIC one vector: every queue's interrupt,
            // and with it every queue's NAPI poll, lands on one CPU.
            let mode = match s.nic.interrupt_mode {
                irqlab_model::config::InterruptMode::Msix => return None,
                irqlab_model::config::InterruptMode::Msi => "msi",
                irqlab_model::config::InterruptMode::Intx => "intx",
            };
            if s.nic.queues < 2 || cores < 2 {
                return None;
            }
            let busiest = m.cpu.iter().max_by_key(|c| c.interrupts)?;
            Some((
                format!(
                    "nic.interrupt_mode = {mode}: one vector for all {} queues, so CPU {} took {} of the {} interrupts and polls every queue (busy {:.1}%)",
                    s.nic.queues,
                    busiest.core,
                    thousands(busiest.interrupts),
                    thousands(m.interrupts.total),
                    100.0 * (1.0 - busiest.busy_frac.idle)
                ),
                vec!["nic.interrupt_mode=msix".into()],
                "use MSI-X: a vector per queue, each on its own CPU (the driver's default when the device has the capability)".into(),
            ))
        }
        "irqs_on_one_core" => {
            let first = *qc.first()?;
            if !(msix && cores > 1 && qc.iter().all(|c| *c == first)) {
                return None;
            }
            let local = local_cores(s, m);
            Some((
                format!(
                    "all {} queue IRQs are on CPU {first}, which took {} interrupts while the other {} CPUs took {}",
                    qc.len(),
                    m.cpu.iter().find(|c| c.core == first).map_or(0, |c| c.interrupts),
                    cores - 1,
                    m.cpu.iter().filter(|c| c.core != first).map(|c| c.interrupts).sum::<u64>()
                ),
                vec![spread_over(s.nic.queues, &local)],
                format!("spread the queues over the NIC node's CPUs {}", cpulist(&local)),
            ))
        }
        "irqs_off_nic_node" => {
            let sockets: std::collections::BTreeSet<u32> = m.cpu.iter().map(|c| c.socket).collect();
            if sockets.len() < 2 {
                return None;
            }
            let socket_of = |core: u32| m.cpu.iter().find(|c| c.core == core).map_or(0, |c| c.socket);
            let remote: Vec<usize> = (0..qc.len()).filter(|q| socket_of(qc[*q]) != s.nic.numa_node).collect();
            if remote.is_empty() {
                return None;
            }
            let local = local_cores(s, m);
            Some((
                format!(
                    "{} of {} queue IRQs are on CPUs of another node than the NIC's (node {}): queues {}; {} packets were read across sockets",
                    remote.len(),
                    qc.len(),
                    s.nic.numa_node,
                    remote.iter().map(|q| format!("{q}→CPU{}", qc[*q])).collect::<Vec<_>>().join(", "),
                    thousands(m.steering.nic_remote_packets)
                ),
                vec![spread_over(s.nic.queues, &local)],
                format!("place the queues on node {}'s CPUs {}", s.nic.numa_node, cpulist(&local)),
            ))
        }
        "rps_with_a_queue_per_core" => {
            let rps = !s.kernel.rps_cpus.is_empty() || s.kernel.rps_cpus_by_queue.iter().any(|c| !c.is_empty());
            if !(rps && s.nic.queues as usize >= cores) {
                return None;
            }
            Some((
                format!(
                    "RPS is on with {} queues for {cores} CPUs: each CPU already has a queue, and RPS sent {} IPIs ({:.3} per offered packet)",
                    s.nic.queues,
                    thousands(m.ipis.rps),
                    m.ipis.rps as f64 / m.packets.offered.max(1) as f64
                ),
                vec!["kernel.rps_cpus=[]".into(), "kernel.rps_cpus_by_queue=[]".into()],
                "turn RPS off (echo 0 > /sys/class/net/IFACE/queues/rx-N/rps_cpus)".into(),
            ))
        }
        "rfs_without_flow_table" => {
            let wanted = s.kernel.rfs || s.kernel.rps_flow_cnt > 0;
            if !(wanted && s.kernel.rps_sock_flow_entries == 0) {
                return None;
            }
            Some((
                format!(
                    "RFS is configured (rfs = {}, rps_flow_cnt = {}) but net.core.rps_sock_flow_entries = 0, so there is no flow table and RFS steers nothing",
                    s.kernel.rfs, s.kernel.rps_flow_cnt
                ),
                std::iter::once(format!("kernel.rps_sock_flow_entries={PROPOSED_SOCK_FLOW_ENTRIES}"))
                    .chain((!s.kernel.rfs).then(|| "kernel.rfs=true".to_string()))
                    .collect(),
                format!("give RFS its table: net.core.rps_sock_flow_entries = {PROPOSED_SOCK_FLOW_ENTRIES}"),
            ))
        }
        "coalescing_off_at_high_rate" => {
            let c = &s.nic.coalesce;
            // Adaptive moderation sets each queue's timer and count itself.
            if c.adaptive_rx {
                return None;
            }
            // The queues' own rates: with MSI or INTx one vector serves them all.
            let per_queue = if m.queues.is_empty() {
                m.interrupts.per_second / qc.len().max(1) as f64
            } else {
                m.queues.iter().map(|q| q.interrupts_per_s).sum::<f64>() / m.queues.len() as f64
            };
            // Off: no timer, or an interrupt after every frame whatever the timer.
            if !((c.rx_usecs == 0 || c.rx_frames == 1) && per_queue > HIGH_INTERRUPT_RATE_PER_QUEUE) {
                return None;
            }
            Some((
                format!(
                    "coalescing is off (rx-usecs {}, rx-frames {}) and each queue interrupts {} times a second ({:.3} interrupts per packet)",
                    c.rx_usecs,
                    c.rx_frames,
                    thousands(per_queue.round() as u64),
                    m.interrupts.per_packet
                ),
                vec![format!("nic.coalesce.rx_usecs={PROPOSED_RX_USECS}"), "nic.coalesce.rx_frames=0".into()],
                format!(
                    "ethtool -C IFACE rx-usecs {PROPOSED_RX_USECS} rx-frames 0 (time-based throttling, the i40e/ice default)"
                ),
            ))
        }
        "softirq_saturated" => {
            let hot = m
                .cpu
                .iter()
                .filter(|c| {
                    let b = &c.busy_frac;
                    b.idle < SATURATED_IDLE && b.hardirq + b.softirq + b.kthread >= SATURATED_RECEIVE_SHARE
                })
                .map(|c| c.core)
                .collect::<Vec<u32>>();
            let dropped: u64 = m.packets.dropped.values().sum();
            // The counters that say the work did not keep up.
            if hot.is_empty() || (m.napi.ksoftirqd_wakeups == 0 && m.napi.time_squeeze == 0 && dropped == 0) {
                return None;
            }
            let idle: Vec<u32> = m.cpu.iter().filter(|c| c.busy_frac.idle > 0.5).map(|c| c.core).collect();
            let evidence = format!(
                "CPU(s) {} are never idle and spend at least {:.0}% in interrupts, softirq and ksoftirqd; ksoftirqd took over {} {}, time_squeeze {}, {} packets dropped",
                cpulist(&hot),
                SATURATED_RECEIVE_SHARE * 100.0,
                thousands(m.napi.ksoftirqd_wakeups),
                if m.napi.ksoftirqd_wakeups == 1 { "time" } else { "times" },
                thousands(m.napi.time_squeeze),
                thousands(dropped)
            );
            let crowded = hot.iter().any(|h| qc.iter().filter(|c| *c == h).count() > 1);
            if crowded && !idle.is_empty() {
                let mut pool = hot.clone();
                pool.extend(&idle);
                pool.sort_unstable();
                Some((
                    evidence,
                    vec![spread_over(s.nic.queues, &pool)],
                    format!("a saturated CPU serves several queues while CPUs {} idle: spread them", cpulist(&idle)),
                ))
            } else if (s.nic.queues as usize) < cores && !idle.is_empty() {
                let all: Vec<u32> = m.cpu.iter().map(|c| c.core).collect();
                Some((
                    evidence,
                    vec![format!("nic.queues={cores}"), spread_over(cores as u32, &all)],
                    format!("CPUs {} idle: one queue per CPU", cpulist(&idle)),
                ))
            } else if !idle.is_empty() {
                Some((
                    evidence,
                    vec![format!("kernel.rps_cpus=[{}]", cpulist(&idle))],
                    format!(
                        "each saturated CPU serves one queue and RSS cannot split a queue: RPS hands the protocol work to the idle CPUs {}",
                        cpulist(&idle)
                    ),
                ))
            } else {
                Some((
                    evidence,
                    Vec::new(),
                    "no CPU is less than half idle, so moving work cannot help: more cores, or less traffic".into(),
                ))
            }
        }
        _ => None,
    }
}

/// The report as text: the baseline, then each finding with its fix and
/// what the fix changes.
pub fn render(r: &AuditReport) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let row = |o: &mut String, label: &str, x: &Outcome| {
        let _ = writeln!(
            o,
            "  {label:<7} {:>12} pps delivered  {:>6.2}% dropped  p99 {:>11} ns  busiest CPU {:>5.1}%  {:>10} interrupts/s",
            thousands(x.delivered_pps.round() as u64),
            x.dropped_pct,
            thousands(x.p99_latency_ns),
            x.busiest_core_busy * 100.0,
            thousands(x.interrupts_per_s.round() as u64)
        );
    };
    let _ = writeln!(o, "irqlab audit: {} ({:.1} ms simulated per run)", r.scenario, r.duration_ms);
    row(&mut o, "as is", &r.before);
    if r.findings.is_empty() {
        let _ = writeln!(o, "\nno misconfiguration found ({} checks)", r.passed.len());
    }
    for f in &r.findings {
        let _ = writeln!(o, "\n{}: {}", f.check, f.evidence);
        if f.fix.is_empty() {
            let _ = writeln!(o, "  fix: none — {}", f.fix_note);
        } else {
            let sets: Vec<String> = f.fix.iter().map(|x| format!("--set {x}")).collect();
            let _ = writeln!(o, "  fix: {} ({})", f.fix_note, sets.join(" "));
        }
        if let Some(a) = &f.after {
            row(&mut o, "before", &r.before);
            row(&mut o, "after", a);
        }
    }
    if !r.passed.is_empty() && !r.findings.is_empty() {
        let _ = writeln!(o, "\npassed: {}", r.passed.join(", "));
    }
    o
}

/// A count with thousands separators, as the run summary prints counts.
fn thousands(n: u64) -> String {
    crate::experiment::group_digits(&n.to_string())
}
