//! `vcpu-overcommit`: a VM's vCPUs sharing their cores with other threads.
//!
//! Two vCPUs pinned to two cores, the NIC assigned; on each core a
//! competing host thread takes the share another 1 or 3 threads of equal
//! weight would (`vm.host_load` 0.5 and 0.75, turns of 750 µs, EEVDF's
//! base slice), against a core of its own. Interrupts reach the guest by
//! VT-d posting or through KVM (APICv), with and without halt polling.
//! While the competing thread runs, a running vCPU is preempted (SN set: the
//! device's requests gather in the PIR without notifications) and a halted
//! one's wakeup waits for the turn to end: the fallback paths.
//!
//! Then real vCPU sharing: 2 and 4 VMs (`[[vms]]`), each with two vCPUs on
//! the same two cores and a VF of its own at the same rate, so 2 or 4 vCPU
//! threads share each core through its host run queue (posted interrupts,
//! 750 µs slices), the same 2 VMs with floating vCPU threads that may
//! also run on a third core; and 2 VMs sharing them without VT-d posting (APICv,
//! emulated APIC), where the host takes each VF's interrupt on the core
//! and KVM delivers it to its vCPU at its next entry. Nothing here encodes
//! the outcome: it comes from the turns, the exits, the wakeups and their
//! costs.

use crate::experiment::{Column, Experiment, Finding, Settings, Variant, VariantResult, by_name, num, run_model};
use serde_json::Value;

/// Threads sharing each vCPU's core (1: the vCPU alone), and the share of
/// the core the others take.
const SHARES: [(u32, f64); 3] = [(1, 0.0), (2, 0.5), (4, 0.75)];
/// Delivery: VT-d posted, KVM-posted (APICv), posted with halt polling.
const MODES: [(&str, &str, u32); 3] =
    [("posted", "posted", 0), ("apicv", "apicv", 0), ("posted+poll", "posted", 200_000)];
/// VMs whose vCPUs share the two cores (each VM's two vCPUs on cores 0
/// and 1): vCPU threads per core.
const VMS: [u32; 2] = [2, 4];
/// Delivery without VT-d posting for 2 VMs sharing the cores: the host
/// takes each VF's interrupt on the core and KVM delivers it (APICv: posted
/// in software; emulated: injected at entry).
const UNPOSTED: [&str; 2] = ["apicv", "emulated"];
/// The machine's cores: the vCPUs' two (the floating variant adds one).
const CORES: u32 = 2;
/// The cores floating vCPU threads may run on: the two the pinned ones
/// share, and a third.
const FLOAT_CORES: [u32; 3] = [0, 1, 2];
/// The competing thread's turn, and each vCPU thread's slice, µs.
const SLICE_US: u32 = 750;
/// Offered load: light enough that the vCPUs halt between interrupts.
const RATE_PPS: f64 = 100_000.0;

pub fn experiment() -> Experiment {
    Experiment {
        name: "vcpu-overcommit",
        description: "a VM's vCPUs sharing their cores with 1 or 3 other threads (750 µs turns) or with 1 or 3 other VMs' vCPUs (posted; 1 other also floating, APICv, emulated APIC), vs alone: posted interrupts, APICv, halt polling — interrupt-to-guest latency, preemptions, waits behind the other thread",
        base,
        variants,
        run: run_model,
        columns,
        findings,
    }
}

fn base(quick: bool) -> Settings {
    Settings::new()
        .set("duration_ms", if quick { 60.0 } else { 400.0 })
        .set("nic.queues", 2)
        .set("nic.auto_mask", true)
        .set("workload.rate_pps", RATE_PPS)
        .set("iommu.mode", "strict")
        .set("iommu.interrupt_remapping", true)
}

fn name(mode: &str, threads: u32) -> String {
    format!("{mode}/{threads}")
}

fn variants(_quick: bool) -> Vec<Variant> {
    let mut out = Vec::new();
    for (mode, apic, poll) in MODES {
        for (threads, load) in SHARES {
            let vm = serde_json::json!({
                "cores": [0, 1], "apic": apic, "halt_poll_ns": poll, "host_load": load, "host_slice_us": SLICE_US
            });
            out.push(Variant::new(name(mode, threads)).set("machine.cores", CORES).set("vm", vm));
        }
    }
    for n in VMS {
        let vm = serde_json::json!({ "cores": [0, 1], "apic": "posted", "host_slice_us": SLICE_US });
        let others: Vec<Value> = (1..n).map(|_| vm.clone()).collect();
        out.push(
            Variant::new(name("vms", n)).set("machine.cores", CORES).set("vm", vm).set("vms", Value::Array(others)),
        );
    }
    // Floating: the 2 VMs' vCPU threads may also run on a third core.
    let vm = serde_json::json!({
        "cores": [0, 1], "apic": "posted", "host_slice_us": SLICE_US,
        "vcpu_affinity": "floating", "allowed_cores": FLOAT_CORES
    });
    out.push(
        Variant::new(name("vms-float", 2))
            .set("machine.cores", FLOAT_CORES.len())
            .set("vm", vm.clone())
            .set("vms", Value::Array(vec![vm])),
    );
    for apic in UNPOSTED {
        let vm = serde_json::json!({ "cores": [0, 1], "apic": apic, "host_slice_us": SLICE_US });
        out.push(
            Variant::new(name(&format!("vms-{apic}"), 2)).set("vm", vm.clone()).set("vms", Value::Array(vec![vm])),
        );
    }
    out
}

fn us(m: &Value, path: &str) -> f64 {
    num(m, path) / 1e3
}

fn columns() -> Vec<Column> {
    vec![
        Column {
            header: "delivered kpps",
            cell: |v| format!("{:.1}", num(&v.metrics, "throughput.delivered_pps") / 1e3),
        },
        Column { header: "irq p50 µs", cell: |v| format!("{:.2}", us(&v.metrics, "interrupts.latency_ns.p50")) },
        Column { header: "irq p99 µs", cell: |v| format!("{:.1}", us(&v.metrics, "interrupts.latency_ns.p99")) },
        Column { header: "irq p99.9 µs", cell: |v| format!("{:.1}", us(&v.metrics, "interrupts.latency_ns.p999")) },
        Column { header: "pkt p99 µs", cell: |v| format!("{:.1}", us(&v.metrics, "latency_ns.p99")) },
        Column { header: "preemptions", cell: |v| format!("{}", num(&v.metrics, "vm.preemptions")) },
        Column { header: "wakeups", cell: |v| format!("{}", num(&v.metrics, "vm.wakeups")) },
        Column { header: "behind host", cell: |v| format!("{}", num(&v.metrics, "vm.wakeups_behind_host")) },
        Column { header: "SN-suppressed", cell: |v| format!("{}", num(&v.metrics, "posted.suppressed")) },
        Column { header: "polls ok", cell: |v| format!("{}", num(&v.metrics, "vm.polls_successful")) },
    ]
}

/// Fewest interrupts a percentile is read from.
const MIN_IRQS: f64 = 1000.0;

fn findings(vs: &[VariantResult]) -> Vec<Finding> {
    let get = |mode: &str, threads: u32| by_name(vs, &name(mode, threads)).map(|v| &v.metrics);
    let mut f = Vec::new();
    let enough = |ms: &[&Value]| ms.iter().all(|m| num(m, "interrupts.latency_ns.count") >= MIN_IRQS);
    // 1. The tail grows with the sharing, of the order of the turn; the median does not move.
    for mode in ["posted", "apicv"] {
        let (Some(a), Some(b), Some(c)) = (get(mode, 1), get(mode, 2), get(mode, 4)) else { continue };
        let tail = |m: &Value| us(m, "interrupts.latency_ns.p999");
        let p99 = |m: &Value| us(m, "latency_ns.p99");
        let mid = |m: &Value| us(m, "interrupts.latency_ns.p50");
        f.push(Finding {
            claim: format!(
                "{mode}: the interrupt-to-guest-handler p99.9 grows from {:.1} µs alone to {:.1} µs with 2 threads per core and {:.1} µs with 4 — of the order of the other thread's {SLICE_US} µs turn — and the packets' p99 from {:.1} to {:.1} and {:.1} µs, while the median stays at {:.2}, {:.2} and {:.2} µs: the tail comes from the fallback paths, not the common one",
                tail(a),
                tail(b),
                tail(c),
                p99(a),
                p99(b),
                p99(c),
                mid(a),
                mid(b),
                mid(c)
            ),
            holds: enough(&[a, b, c])
                && tail(a) < tail(b)
                && tail(b) <= tail(c)
                && tail(c) >= f64::from(SLICE_US) / 4.0
                && p99(a) < p99(b)
                && mid(b) < 2.0 * mid(a).max(1.0)
                && mid(c) < 2.0 * mid(a).max(1.0),
        });
    }
    // 2. The fallbacks are counted: none alone, more with more sharing.
    if let (Some(a), Some(b), Some(c)) = (get("posted", 1), get("posted", 2), get("posted", 4)) {
        let fb = |m: &Value| num(m, "vm.wakeups_behind_host") + num(m, "posted.suppressed");
        let pre = |m: &Value| num(m, "vm.preemptions");
        f.push(Finding {
            claim: format!(
                "posted: alone, no vCPU is preempted and no wakeup waits ({} and {}); with 2 and 4 threads per core the other thread preempts running vCPUs {} and {} times (SN suppressing {} and {} notifications) and {} and {} wakeups wait for its turn",
                pre(a),
                num(a, "vm.wakeups_behind_host"),
                pre(b),
                pre(c),
                num(b, "posted.suppressed"),
                num(c, "posted.suppressed"),
                num(b, "vm.wakeups_behind_host"),
                num(c, "vm.wakeups_behind_host")
            ),
            holds: fb(a) == 0.0 && pre(a) == 0.0 && fb(b) > 0.0 && fb(c) > fb(b) * 0.9 && pre(b) > 0.0,
        });
    }
    // 3. Halt polling helps a vCPU alone, not one that shares its core.
    if let (Some(p1), Some(q1), Some(q4)) = (get("posted", 1), get("posted+poll", 1), get("posted+poll", 4)) {
        let ok = |m: &Value| num(m, "vm.polls_successful");
        let tried = |m: &Value| ok(m) + num(m, "vm.polls_failed");
        let mid = |m: &Value| us(m, "interrupts.latency_ns.p50");
        let share = |m: &Value| ok(m) / tried(m).max(1.0);
        f.push(Finding {
            claim: format!(
                "halt polling: alone it catches {:.0}% of the interrupts it waits for ({} polls) and the median interrupt latency falls from {:.2} to {:.2} µs; with 4 threads per core KVM polls only while its thread is alone on the core, so {} polls run ({:.0}% successful)",
                share(q1) * 100.0,
                tried(q1),
                mid(p1),
                mid(q1),
                tried(q4),
                share(q4) * 100.0
            ),
            holds: enough(&[p1, q1]) && tried(q1) >= 100.0 && mid(q1) < mid(p1) && tried(q4) < tried(q1),
        });
    }
    // 4. Real sharing: vCPUs of 2 and 4 VMs per core, each VM its own VF.
    if let (Some(a), Some(b), Some(c)) = (get("posted", 1), get("vms", 2), get("vms", 4)) {
        // Over every VM of the run: the worst tail, the scheduled-out
        // counts, the delivered share.
        let vms = |m: &Value| m["vms"].as_array().cloned().unwrap_or_default();
        let worst_tail = |m: &Value| vms(m).iter().map(|v| us(v, "irq_latency_ns.p999")).fold(0.0, f64::max);
        let worst_p99 = |m: &Value| vms(m).iter().map(|v| us(v, "irq_latency_ns.p99")).fold(0.0, f64::max);
        let mid = |m: &Value| vms(m).iter().map(|v| us(v, "irq_latency_ns.p50")).fold(0.0, f64::max);
        let waited = |m: &Value| {
            vms(m)
                .iter()
                .flat_map(|v| v["vcpu"].as_array().cloned().unwrap_or_default())
                .map(|c| num(&c, "runnable_wait_ns"))
                .sum::<f64>()
                / 1e6
        };
        let delivered = |m: &Value| {
            vms(m).iter().map(|v| num(v, "packets.delivered") / num(v, "packets.offered").max(1.0)).fold(1.0, f64::min)
        };
        let wakeups = |m: &Value| vms(m).iter().map(|v| num(v, "posted.wakeups")).sum::<f64>();
        let preempted = |m: &Value| {
            vms(m)
                .iter()
                .flat_map(|v| v["vcpu"].as_array().cloned().unwrap_or_default())
                .map(|c| num(&c, "preemptions"))
                .sum::<f64>()
        };
        f.push(Finding {
            claim: format!(
                "real sharing (each VM's two vCPUs on the same two cores, a VF of its own each): the worst VM's interrupt-to-guest-handler p99 grows from {:.1} µs with its cores to itself to {:.1} µs with 2 vCPU threads per core and {:.1} µs with 4, p99.9 from {:.1} to {:.1} and {:.1} µs (median {:.2}, {:.2} and {:.2} µs) — far below the {SLICE_US} µs slice: the other VMs' vCPUs halt and give the core up long before their slices end ({} and {} preemptions at a slice's end); woken vCPUs ({} and {} wakeups) wait for the core {:.1} and {:.1} ms in all; every VM delivers at least {:.1}% and {:.1}% of its packets",
                worst_p99(a),
                worst_p99(b),
                worst_p99(c),
                worst_tail(a),
                worst_tail(b),
                worst_tail(c),
                mid(a),
                mid(b),
                mid(c),
                preempted(b),
                preempted(c),
                wakeups(b),
                wakeups(c),
                waited(b),
                waited(c),
                delivered(b) * 100.0,
                delivered(c) * 100.0
            ),
            holds: enough(&[a, b, c])
                && worst_p99(a) < worst_p99(b)
                && worst_p99(b) < worst_p99(c)
                && worst_tail(a) < worst_tail(b)
                && waited(b) > 0.0
                && waited(c) > waited(b)
                && delivered(b) > 0.99
                && delivered(c) > 0.99,
        });
    }
    // 5. Sharing without posting: the host takes each VF's interrupt on the
    // core, whichever vCPU holds it, and KVM delivers it to its own vCPU.
    if let (Some(p), Some(a), Some(e)) = (get("vms", 2), get("vms-apicv", 2), get("vms-emulated", 2)) {
        let vms = |m: &Value| m["vms"].as_array().cloned().unwrap_or_default();
        let worst_p99 = |m: &Value| vms(m).iter().map(|v| us(v, "irq_latency_ns.p99")).fold(0.0, f64::max);
        let worst_tail = |m: &Value| vms(m).iter().map(|v| us(v, "irq_latency_ns.p999")).fold(0.0, f64::max);
        let exits = |m: &Value| num(m, "vm.exits_per_packet");
        // Left out of the JSON when zero (posted: the hardware posts).
        let count = |m: &Value, path: &str| Some(num(m, path)).filter(|x| !x.is_nan()).unwrap_or(0.0);
        let descheduled = |m: &Value| count(m, "vm.vfio_descheduled");
        let passed = |m: &Value| count(m, "vm.vfio_passed");
        let share = |m: &Value| descheduled(m) / num(m, "vm.injections").max(1.0);
        f.push(Finding {
            claim: format!(
                "2 VMs per core without VT-d posting: the worst VM's interrupt p99 is {:.1} µs posted, {:.1} µs with APICv and {:.1} µs with an emulated APIC (p99.9 {:.1}, {:.1} and {:.1} µs); without posting an interrupt that reaches the core while the other VM's vCPU runs makes that vCPU exit, so the first VM has {:.2}, {:.2} and {:.2} exits per packet, its vCPUs taking {}, {} and {} of the other VM's interrupts; {:.0}% (APICv) and {:.0}% (emulated) of its own interrupts arrived while its vCPU was halted or scheduled out ({} and {}) and waited in its PIR or virtual IRR for its next entry",
                worst_p99(p),
                worst_p99(a),
                worst_p99(e),
                worst_tail(p),
                worst_tail(a),
                worst_tail(e),
                exits(p),
                exits(a),
                exits(e),
                passed(p),
                passed(a),
                passed(e),
                share(a) * 100.0,
                share(e) * 100.0,
                descheduled(a),
                descheduled(e)
            ),
            holds: enough(&[p, a, e])
                && descheduled(p) + passed(p) == 0.0
                && passed(a) > 0.0
                && descheduled(a) > 0.0
                && descheduled(e) > 0.0
                && exits(p) < exits(a)
                && exits(a) < exits(e),
        });
    }
    // 6. Floating: a woken vCPU thread may move to the idle third core.
    if let (Some(p), Some(fl)) = (get("vms", 2), get("vms-float", 2)) {
        let vms = |m: &Value| m["vms"].as_array().cloned().unwrap_or_default();
        let vcpus = |m: &Value| {
            vms(m).iter().flat_map(|v| v["vcpu"].as_array().cloned().unwrap_or_default()).collect::<Vec<_>>()
        };
        let worst_p99 = |m: &Value| vms(m).iter().map(|v| us(v, "irq_latency_ns.p99")).fold(0.0, f64::max);
        let worst_tail = |m: &Value| vms(m).iter().map(|v| us(v, "irq_latency_ns.p999")).fold(0.0, f64::max);
        // Left out of the JSON when zero (pinned).
        let sum = |m: &Value, key: &str| {
            vcpus(m).iter().map(|c| Some(num(c, key)).filter(|x| !x.is_nan()).unwrap_or(0.0)).sum::<f64>()
        };
        let waited = |m: &Value| sum(m, "runnable_wait_ns") / 1e6;
        f.push(Finding {
            claim: format!(
                "floating (each VM's vCPU threads allowed on a third, otherwise idle core): a woken vCPU whose core is taken moves to an idle one ({} migrations, {} NDST rewrites at the load on the new core, against {} and {} pinned); the vCPUs wait for a core {:.1} ms in all instead of {:.1} ms, and the worst VM's interrupt p99 is {:.1} µs instead of {:.1} µs (p99.9 {:.1} instead of {:.1} µs)",
                sum(fl, "migrations"),
                sum(fl, "ndst_updates"),
                sum(p, "migrations"),
                sum(p, "ndst_updates"),
                waited(fl),
                waited(p),
                worst_p99(fl),
                worst_p99(p),
                worst_tail(fl),
                worst_tail(p)
            ),
            holds: enough(&[p, fl])
                && sum(p, "migrations") == 0.0
                && sum(fl, "migrations") > 0.0
                && sum(fl, "ndst_updates") > 0.0
                && sum(fl, "ndst_updates") <= sum(fl, "migrations")
                && waited(fl) < waited(p),
        });
    }
    // 7. Nothing is lost: the latency is waiting, not dropping.
    let worst = vs
        .iter()
        .map(|v| num(&v.metrics, "packets.delivered") / num(&v.metrics, "packets.offered").max(1.0))
        .fold(1.0, f64::min);
    f.push(Finding {
        claim: format!(
            "every run delivers at least {:.1}% of the offered packets: the sharing costs latency, not packets",
            worst * 100.0
        ),
        holds: worst > 0.99,
    });
    f
}
