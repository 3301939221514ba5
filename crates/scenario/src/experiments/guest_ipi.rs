//! `guest-ipi`: RPS inside a VM — the guest's own IPIs — with an emulated
//! APIC, APICv, posted interrupts, and posted interrupts with IPI
//! virtualization (IPIv), against bare metal.
//!
//! Two cores, one RX queue whose interrupt and NAPI poll run on CPU 0, RPS
//! steering every packet to CPU 1, where its reader runs: each
//! `net_rx_action` on CPU 0 that queued packets for CPU 1's empty backlog
//! kicks it with an IPI. In the VM the two CPUs are vCPUs pinned to the
//! same two cores and the NIC is assigned (VFIO). Without IPIv, the guest's
//! ICR write exits and KVM delivers the IPI — into the target's virtual IRR
//! with a kick (emulated), or posted in software with a notification
//! (APICv); with IPIv the processor posts it without an exit. Nothing here
//! encodes the outcome: it comes from the exits, deliveries, wakeups and
//! their costs.

use crate::experiment::{
    Column, Experiment, Finding, Ratio, Settings, Variant, VariantResult, by_name, judge, num, run_model,
};
use serde_json::Value;

/// Configurations: bare metal, then the VM's APIC modes (and IPIv).
const MODES: [(&str, Option<(&str, bool)>); 5] = [
    ("bare", None),
    ("emulated", Some(("emulated", false))),
    ("apicv", Some(("apicv", false))),
    ("posted", Some(("posted", false))),
    ("posted+ipiv", Some(("posted", true))),
];
/// Offered loads, both within what every configuration processes.
const LOADS: [(&str, f64); 2] = [("300k", 300_000.0), ("800k", 800_000.0)];

pub fn experiment() -> Experiment {
    Experiment {
        name: "guest-ipi",
        description: "RPS inside a VM (guest IPIs): emulated APIC, APICv, posted interrupts, posted + IPI virtualization vs bare metal — exits per packet and per IPI, latency, host CPU per packet",
        base,
        variants,
        run: run_model,
        columns,
        findings,
    }
}

fn base(quick: bool) -> Settings {
    Settings::new()
        .set("duration_ms", if quick { 10.0 } else { 40.0 })
        .set("machine.cores", 2)
        .set("nic.queues", 1)
        .set("nic.affinity", Value::from(vec![0]))
        .set("nic.auto_mask", true)
        .set("kernel.rps_cpus", Value::from(vec![1]))
        .set("apps", crate::experiment::readers_on([1]))
        .set("workload.arrival", "constant")
        .set("iommu.mode", "strict")
        .set("iommu.interrupt_remapping", true)
}

fn name(mode: &str, load: &str) -> String {
    format!("{mode}/{load}")
}

fn variants(_quick: bool) -> Vec<Variant> {
    let mut out = Vec::new();
    for (load, rate) in LOADS {
        for (mode, vm) in MODES {
            let mut v = Variant::new(name(mode, load)).set("workload.rate_pps", rate);
            if let Some((apic, ipiv)) = vm {
                v = v.set("vm", serde_json::json!({ "cores": [0, 1], "apic": apic, "ipiv": ipiv }));
            }
            out.push(v);
        }
    }
    out
}

use crate::experiment::{per_delivered as per_packet, vm_cell, vm_exits as exits};

/// ICR-write exits: the `msr_write` exits that are not an emulated APIC's EOIs.
fn icr_exits(m: &Value) -> f64 {
    exits(m, "msr_write") - num(m, "vm.eoi_exits")
}

fn columns() -> Vec<Column> {
    vec![
        Column {
            header: "delivered kpps",
            cell: |v| format!("{:.1}", num(&v.metrics, "throughput.delivered_pps") / 1e3),
        },
        Column { header: "p50 µs", cell: |v| format!("{:.2}", num(&v.metrics, "latency_ns.p50") / 1e3) },
        Column { header: "p99 µs", cell: |v| format!("{:.2}", num(&v.metrics, "latency_ns.p99") / 1e3) },
        Column { header: "RPS IPIs/pkt", cell: |v| per_packet(&v.metrics, num(&v.metrics, "ipis.rps")).show(3) },
        Column {
            header: "ICR exits/IPI",
            cell: |v| {
                vm_cell(&v.metrics, |m| {
                    let ipis = num(m, "ipis.rps");
                    Ratio::new(icr_exits(m) / ipis.max(1.0), ipis, "IPIs").show(2)
                })
            },
        },
        Column {
            header: "exits/pkt",
            cell: |v| vm_cell(&v.metrics, |m| format!("{:.3}", num(m, "vm.exits_per_packet"))),
        },
        Column {
            header: "host ns/pkt",
            cell: |v| vm_cell(&v.metrics, |m| format!("{:.0}", num(m, "vm.host_ns_per_packet"))),
        },
    ]
}

fn findings(vs: &[VariantResult]) -> Vec<Finding> {
    let get = |mode: &str, load: &str| by_name(vs, &name(mode, load)).map(|v| &v.metrics);
    let mut f = Vec::new();
    let (load, _) = LOADS[1];
    // 1. Every guest IPI exits on its sender unless IPIv posts it.
    if let (Some(em), Some(av), Some(po), Some(iv)) =
        (get("emulated", load), get("apicv", load), get("posted", load), get("posted+ipiv", load))
    {
        let per_ipi = |m: &Value| {
            let ipis = num(m, "ipis.rps");
            Ratio::new(icr_exits(m) / ipis.max(1.0), ipis, "IPIs")
        };
        let (e, a, p, i) = (per_ipi(em), per_ipi(av), per_ipi(po), per_ipi(iv));
        f.push(judge(
            format!(
                "without IPI virtualization every guest IPI's ICR write exits on its sender ({} exits per RPS IPI with an emulated APIC, {} with APICv, {} with posted interrupts); with IPIv {} — of {} RPS IPIs none exits, the processor posting them",
                e.show(2),
                a.show(2),
                p.show(2),
                i.show(2),
                num(iv, "ipis.rps"),
            ),
            &[("emulated", e), ("apicv", a), ("posted", p), ("posted+ipiv", i)],
            || e.get() == 1.0 && a.get() == 1.0 && p.get() == 1.0 && i.get() == 0.0,
        ));
    }
    // 2. Latency and host CPU fall as the hardware takes over.
    if let (Some(bare), Some(em), Some(av), Some(po), Some(iv)) =
        (get("bare", load), get("emulated", load), get("apicv", load), get("posted", load), get("posted+ipiv", load))
    {
        let p99 = |m: &Value| num(m, "latency_ns.p99") / 1e3;
        let host = |m: &Value| num(m, "vm.host_ns_per_packet");
        f.push(judge(
            format!(
                "at {load} packets/s the p99 latency falls from {:.2} µs (emulated) to {:.2} (APICv), {:.2} (posted) and {:.2} µs (posted + IPIv), against {:.2} µs on bare metal; the host's CPU per packet from {:.0} to {:.0}, {:.0} and {:.0} ns",
                p99(em),
                p99(av),
                p99(po),
                p99(iv),
                p99(bare),
                host(em),
                host(av),
                host(po),
                host(iv),
            ),
            &[("emulated", per_packet(em, 0.0)), ("posted+ipiv", per_packet(iv, 0.0))],
            || {
                p99(em) > p99(av)
                    && p99(av) > p99(po)
                    && p99(po) > p99(iv)
                    && p99(iv) > p99(bare)
                    && host(em) > host(av)
                    && host(av) > host(po)
                    && host(po) > host(iv)
            },
        ));
    }
    // 3. Everyone keeps up: the differences are costs, not losses.
    let rows: Vec<(String, f64, f64)> = vs
        .iter()
        .map(|v| (v.name.clone(), num(&v.metrics, "packets.delivered"), num(&v.metrics, "packets.offered")))
        .collect();
    let worst = rows.iter().map(|(_, d, o)| d / o.max(1.0)).fold(1.0f64, f64::min);
    f.push(Finding {
        claim: format!(
            "every configuration keeps up with both loads (at least {:.1}% of the offered packets delivered in each run): the differences above are per-packet costs, not losses",
            worst * 100.0
        ),
        holds: worst > 0.99,
    });
    f
}
