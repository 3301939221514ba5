//! `steering`: RSS alone with the applications elsewhere, RPS, RFS and aRFS.
//!
//! Four cores, four RSS queues (queue i interrupts core i), 64 flows read by
//! four threads (one per core) that own flows round-robin, so most flows'
//! reader sits on another core than their RSS queue's interrupt. RPS spreads
//! protocol processing by hash; RFS moves it to the reader's core (IPIs to
//! kick that core's backlog); aRFS moves the flow itself to the queue whose
//! interrupt targets the reader. Two more variants let the readers migrate
//! every 100 µs, with RFS's reordering guard on and off.

use crate::experiment::{
    Column, Experiment, Finding, Settings, Variant, VariantResult, by_name, col, judge, num, per_packet, readers_on,
    run_model,
};

const CORES: u32 = 4;
const FLOWS: u32 = 64;
const RATE_PPS: f64 = 1_000_000.0;
const MIGRATE_US: f64 = 100.0;

pub fn experiment() -> Experiment {
    Experiment {
        name: "steering",
        description: "RSS with readers elsewhere vs RPS vs RFS vs aRFS (4 cores, 64 flows, 1 Mpps); RFS's reordering guard with migrating readers",
        base,
        variants,
        run: run_model,
        columns,
        findings,
    }
}

/// Four cores and four queues (queue i interrupts core i by default), 64
/// flows at 1 Mpps, one reader per core; flows are dealt to the readers
/// round-robin.
fn base(quick: bool) -> Settings {
    Settings::new()
        .set("duration_ms", if quick { 20.0 } else { 100.0 })
        .set("machine.cores", CORES)
        .set("nic.queues", CORES)
        .set("workload.flows", FLOWS)
        .set("workload.rate_pps", RATE_PPS)
        .set("apps", readers_on(0..CORES))
}

fn variants(_quick: bool) -> Vec<Variant> {
    let all: Vec<u32> = (0..CORES).collect();
    let mut out = vec![
        // RSS alone: no RPS, no RFS.
        Variant::new("rss").set("kernel.rps_cpus", Vec::<u32>::new()).set("kernel.rfs", false),
        Variant::new("rps").set("kernel.rps_cpus", all.clone()),
        Variant::new("rfs").set("kernel.rfs", true),
        Variant::new("arfs").set("kernel.rfs", true).set("nic.arfs", true),
    ];
    for guard in [true, false] {
        let mut v = Variant::new(if guard { "rfs/migrating" } else { "rfs/migrating/no-guard" })
            .set("kernel.rps_cpus", all.clone())
            .set("kernel.rfs", true)
            .set("kernel.rfs_reorder_guard", guard);
        // Every reader moves to the next core every MIGRATE_US.
        for core in 0..CORES {
            v = v.set(format!("apps[{core}].migrate_every_us"), MIGRATE_US);
        }
        out.push(v);
    }
    out
}

fn columns() -> Vec<Column> {
    vec![
        Column { header: "ipis/pkt", cell: |v| per_packet(&v.metrics, "ipis.per_packet").show(4) },
        Column { header: "rps ipis", cell: |v| format!("{}", num(&v.metrics, "ipis.rps")) },
        Column { header: "handoffs/pkt", cell: |v| per_packet(&v.metrics, "steering.handoffs_per_packet").show(4) },
        col::p50_us(),
        col::p99_us(),
        col::cpu_ns_per_pkt(),
        Column { header: "out of order", cell: |v| format!("{}", num(&v.metrics, "steering.out_of_order")) },
    ]
}

fn findings(vs: &[VariantResult]) -> Vec<Finding> {
    let get = |n: &str| by_name(vs, n).map(|v| &v.metrics);
    let mut f = Vec::new();
    if let (Some(rss), Some(arfs)) = (get("rss"), get("arfs")) {
        let after = num(arfs, "steering.handoffs_after_first");
        let ipis = per_packet(arfs, "ipis.per_packet");
        f.push(judge(
            format!(
                "aRFS: {after} cross-core hand-offs once each flow has been steered ({} in all for {FLOWS} flows, each flow's first while RFS learns its reader's core), {} IPIs per packet — vs {} hand-offs per packet with RSS alone",
                num(arfs, "steering.handoffs"),
                ipis.show(4),
                per_packet(rss, "steering.handoffs_per_packet").show(2)
            ),
            &[("arfs", ipis)],
            || after == 0.0 && ipis.get() < 0.01,
        ));
    }
    if let Some(rps) = get("rps") {
        f.push(Finding {
            claim: format!(
                "RPS sends IPIs to kick remote backlogs: {} RPS IPIs, {} IPIs per packet",
                num(rps, "ipis.rps"),
                per_packet(rps, "ipis.per_packet").show(3)
            ),
            holds: num(rps, "ipis.rps") > 0.0,
        });
    }
    let rfs_ooo: Vec<(String, f64)> = ["rfs", "arfs", "rfs/migrating"]
        .iter()
        .filter_map(|n| get(n).map(|m| (n.to_string(), num(m, "steering.out_of_order"))))
        .collect();
    f.push(Finding {
        claim: format!(
            "RFS with its last_qtail guard never reorders a flow ({}), even with readers migrating every {MIGRATE_US} µs ({} RFS moves)",
            rfs_ooo.iter().map(|(n, x)| format!("{n}: {x}")).collect::<Vec<_>>().join(", "),
            get("rfs/migrating").map_or(f64::NAN, |m| num(m, "steering.rfs_moves"))
        ),
        holds: !rfs_ooo.is_empty() && rfs_ooo.iter().all(|(_, x)| *x == 0.0),
    });
    if let Some(m) = get("rfs/migrating/no-guard") {
        f.push(Finding {
            claim: format!(
                "without the guard, the same migrations deliver {} packet(s) out of order, in {} flows (at most {} in one flow)",
                num(m, "steering.out_of_order"),
                num(m, "steering.flows_reordered"),
                num(m, "steering.max_reorders_per_flow")
            ),
            holds: num(m, "steering.out_of_order") > 0.0,
        });
    }
    if let (Some(rss), Some(rfs)) = (get("rss"), get("rfs")) {
        let (before, after) =
            (per_packet(rss, "steering.handoffs_per_packet"), per_packet(rfs, "steering.handoffs_per_packet"));
        f.push(judge(
            format!(
                "RFS moves protocol processing to the reader: hand-offs per packet {} → {}, paid for with {} IPIs per packet",
                before.show(3),
                after.show(3),
                per_packet(rfs, "ipis.per_packet").show(3)
            ),
            &[("rss", before), ("rfs", after)],
            || after.get() < before.get(),
        ));
    }
    f
}
