//! `steering`: RSS alone with the applications elsewhere, RPS, RFS and aRFS.
//!
//! Four cores, four RSS queues (queue i interrupts core i), 64 flows read by
//! four threads (one per core) that own flows round-robin, so most flows'
//! reader sits on another core than their RSS queue's interrupt. RPS spreads
//! protocol processing by hash; RFS moves it to the reader's core (IPIs to
//! kick that core's backlog); aRFS moves the flow itself to the queue whose
//! interrupt targets the reader. Two more variants let the readers migrate
//! every 100 µs, with RFS's reordering guard on and off.

use crate::experiment::{Column, Experiment, Finding, Variant, VariantResult, by_name, col, num, params};
use irqlab_model::Scenario;
use irqlab_model::config::AppConfig;
use serde_json::{Value, json};

const CORES: u32 = 4;
const FLOWS: u32 = 64;
const RATE_PPS: f64 = 1_000_000.0;
const MIGRATE_US: f64 = 100.0;

pub fn experiment() -> Experiment {
    Experiment {
        name: "steering",
        description: "RSS with readers elsewhere vs RPS vs RFS vs aRFS (4 cores, 64 flows, 1 Mpps); RFS's reordering guard with migrating readers",
        variants,
        columns,
        findings,
    }
}

fn base(duration_ms: f64, migrate: bool) -> Scenario {
    let mut s = Scenario::default();
    s.duration_ms = duration_ms;
    s.machine.cores = CORES;
    s.nic.queues = CORES;
    s.workload.flows = FLOWS;
    s.workload.rate_pps = Some(RATE_PPS);
    s.apps = (0..CORES)
        .map(|c| AppConfig { migrate_every_us: if migrate { MIGRATE_US } else { 0.0 }, ..AppConfig::on_core(c) })
        .collect();
    s
}

fn variants(quick: bool) -> Vec<Variant> {
    let d = if quick { 20.0 } else { 100.0 };
    let all: Vec<u32> = (0..CORES).collect();
    let mut out = Vec::new();
    let mut push = |name: &str, s: Scenario, p: Vec<(&str, Value)>| {
        let mut ps = params([(
            "readers",
            json!(if s.apps[0].migrate_every_us > 0.0 { "migrating" } else { "pinned, round-robin flows" }),
        )]);
        for (k, v) in p {
            ps.insert(k.to_string(), v);
        }
        out.push(Variant::model(name, ps, s));
    };
    push("rss", base(d, false), vec![("steering", json!("rss"))]);
    let mut s = base(d, false);
    s.kernel.rps_cpus = all.clone();
    push("rps", s, vec![("steering", json!("rps")), ("kernel.rps_cpus", json!(all))]);
    let mut s = base(d, false);
    s.kernel.rfs = true;
    push("rfs", s, vec![("steering", json!("rfs")), ("kernel.rfs", json!(true))]);
    let mut s = base(d, false);
    s.kernel.rfs = true;
    s.nic.arfs = true;
    push("arfs", s, vec![("steering", json!("arfs")), ("kernel.rfs", json!(true)), ("nic.arfs", json!(true))]);
    for guard in [true, false] {
        let mut s = base(d, true);
        s.kernel.rfs = true;
        s.kernel.rps_cpus = all.clone();
        s.kernel.rfs_reorder_guard = guard;
        push(
            if guard { "rfs/migrating" } else { "rfs/migrating/no-guard" },
            s,
            vec![
                ("steering", json!("rps+rfs")),
                ("kernel.rfs_reorder_guard", json!(guard)),
                ("apps.migrate_every_us", json!(MIGRATE_US)),
            ],
        );
    }
    out
}

fn columns() -> Vec<Column> {
    vec![
        Column { header: "ipis/pkt", cell: |v| format!("{:.4}", num(&v.metrics, "ipis.per_packet")) },
        Column { header: "rps ipis", cell: |v| format!("{}", num(&v.metrics, "ipis.rps")) },
        Column { header: "handoffs/pkt", cell: |v| format!("{:.4}", num(&v.metrics, "steering.handoffs_per_packet")) },
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
        f.push(Finding {
            claim: format!(
                "aRFS: {after} cross-core hand-offs once each flow has been steered ({} in all for {FLOWS} flows, each flow's first while RFS learns its reader's core), {:.4} IPIs per packet — vs {:.2} hand-offs per packet with RSS alone",
                num(arfs, "steering.handoffs"),
                num(arfs, "ipis.per_packet"),
                num(rss, "steering.handoffs_per_packet")
            ),
            holds: after == 0.0 && num(arfs, "ipis.per_packet") < 0.01,
        });
    }
    if let Some(rps) = get("rps") {
        f.push(Finding {
            claim: format!(
                "RPS sends IPIs to kick remote backlogs: {} RPS IPIs, {:.3} IPIs per packet",
                num(rps, "ipis.rps"),
                num(rps, "ipis.per_packet")
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
        f.push(Finding {
            claim: format!(
                "RFS moves protocol processing to the reader: hand-offs per packet {:.3} → {:.3}, paid for with {:.3} IPIs per packet",
                num(rss, "steering.handoffs_per_packet"),
                num(rfs, "steering.handoffs_per_packet"),
                num(rfs, "ipis.per_packet")
            ),
            holds: num(rfs, "steering.handoffs_per_packet") < num(rss, "steering.handoffs_per_packet"),
        });
    }
    f
}
