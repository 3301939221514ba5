//! The `steering` experiment's reordering findings are robust: without
//! RFS's guard, migrating readers see hundreds of packets reordered in most
//! flows, and with it at most a twentieth of that, for seeds 1 to 5 and with
//! the costs that shape the backlogs each scaled by 0.7 and 1.3 (one at a
//! time, then all together).

use irqlab_model::CostModel;
use irqlab_scenario::experiment::{Finding, Settings, VariantResult, run_model};
use rayon::prelude::*;

/// Costs that set how fast backlogs fill and drain, how soon a moved reader
/// records its new core, and how often it blocks (its `recvmsg` per call
/// and per datagram set how fast it drains its sockets).
const COSTS: [&str; 10] = [
    "rx_protocol_per_packet_ns",
    "rx_driver_per_packet_ns",
    "rps_enqueue_ns",
    "ipi_latency_ns",
    "softirq_entry_ns",
    "napi_poll_ns",
    "wakeup_cross_core_latency_ns",
    "context_switch_ns",
    "recvmsg_call_ns",
    "recvmsg_datagram_ns",
];

/// The default cost of `key` (NaN, which no scenario accepts, for a key the
/// cost model does not have).
fn default_cost(key: &str) -> f64 {
    CostModel::default().fields().into_iter().find(|(name, _)| *name == key).map(|(_, v)| v).unwrap_or(f64::NAN)
}

/// Every cost scaled by `k` (the copy bandwidth by 1/k, so copies cost k times as much).
fn all_costs(k: f64) -> Settings {
    CostModel::default().fields().into_iter().fold(Settings::new(), |s, (name, v)| {
        let v = if name == "copy_bytes_per_ns" { v / k } else { v * k };
        s.set(format!("costs.{name}"), v)
    })
}

/// The reordering findings of the quick `steering` run's migrating-reader
/// variants under `overrides`, with the out-of-order counts (guard, no guard).
fn reordering(overrides: &Settings) -> (Vec<Finding>, f64, f64) {
    let e = irqlab_scenario::experiment("steering").expect("steering exists");
    let plan = e.plan_with(true, overrides).unwrap_or_else(|err| panic!("{err}"));
    let runs: Vec<VariantResult> = plan
        .variants
        .par_iter()
        .filter(|v| v.name.starts_with("rfs/migrating"))
        .map(|v| VariantResult {
            name: v.name.clone(),
            params: v.params.to_map(),
            metrics: run_model(&v.scenario).unwrap_or_else(|err| panic!("{}: {err}", v.name)),
        })
        .collect();
    assert_eq!(runs.len(), 2);
    let ooo = |name: &str| {
        runs.iter()
            .find(|v| v.name == name)
            .map_or(f64::NAN, |v| v.metrics["steering"]["out_of_order"].as_f64().unwrap_or(f64::NAN))
    };
    let (guard, none) = (ooo("rfs/migrating"), ooo("rfs/migrating/no-guard"));
    let findings: Vec<Finding> = (e.findings)(&runs).into_iter().filter(|f| f.claim.contains("guard")).collect();
    (findings, guard, none)
}

#[test]
fn reordering_without_the_guard_and_none_with_it_hold_across_seeds_and_costs() {
    let mut cases: Vec<(String, Settings)> =
        (1..=5u64).map(|seed| (format!("seed {seed}"), Settings::new().set("seed", seed))).collect();
    for key in COSTS {
        for k in [0.7, 1.3] {
            cases.push((format!("{key} × {k}"), Settings::new().set(format!("costs.{key}"), k * default_cost(key))));
        }
    }
    for k in [0.7, 1.3] {
        cases.push((format!("all costs × {k}"), all_costs(k)));
    }
    let results: Vec<(String, Vec<Finding>, f64, f64)> = cases
        .par_iter()
        .map(|(what, overrides)| {
            let (f, guard, none) = reordering(overrides);
            (what.clone(), f, guard, none)
        })
        .collect();
    let mut failures = Vec::new();
    for (what, findings, guard, none) in &results {
        println!("{what}: out of order {none} without the guard, {guard} with it");
        assert_eq!(findings.len(), 2, "{what}: the two reordering findings");
        for f in findings {
            if !f.holds {
                failures.push(format!("{what}: {}", f.claim));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
