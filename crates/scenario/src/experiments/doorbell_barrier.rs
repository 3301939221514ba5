//! `doorbell-barrier`: memory model × barrier × MMIO type for the TX
//! doorbell — stale descriptor reads per million doorbells in the
//! store-buffer simulation, next to the exhaustive checker's verdict.

use crate::experiment::{Column, Experiment, Finding, Ratio, Settings, Variant, VariantResult, num};
use irqlab_model::Scenario;
use irqlab_model::memory::{Verdict, check_doorbell, run_doorbell_sim};
use serde_json::{Value, json};

/// Descriptors per doorbell, in the checker and the simulation.
const DESCRIPTORS: u32 = 2;
/// Doorbells per second: a busy transmit queue.
const DOORBELL_RATE_PER_S: f64 = 2e6;

pub fn experiment() -> Experiment {
    Experiment {
        name: "doorbell-barrier",
        description: "TX doorbell after descriptor stores: tso/weak × none/wmb/dma_wmb × uc/wc, simulation vs exhaustive checker",
        base,
        variants,
        run,
        columns,
        findings,
    }
}

/// The `[tx]` path at a busy queue's doorbell rate; the duration sets the
/// number of doorbells (1 M quick, 4 M full) and the link is 100 Gb/s.
fn base(quick: bool) -> Settings {
    Settings::new()
        .set("duration_ms", if quick { 500.0 } else { 2000.0 })
        .set("nic.line_rate_gbps", 100.0)
        .set("tx.descriptors_per_doorbell", DESCRIPTORS)
        .set("tx.doorbell_rate_per_s", DOORBELL_RATE_PER_S)
}

fn variants(_quick: bool) -> Vec<Variant> {
    let mut out = Vec::new();
    for model in ["tso", "weak"] {
        for barrier in ["none", "wmb", "dma_wmb"] {
            for mmio in ["uc", "wc"] {
                out.push(
                    Variant::new(format!("{model}/{barrier}/{mmio}"))
                        .set("tx.model", model)
                        .set("tx.barrier", barrier)
                        .set("tx.mmio", mmio),
                );
            }
        }
    }
    out
}

/// The exhaustive checker and the store-buffer simulation of the scenario's
/// `[tx]` path (the model's other parts are not run).
fn run(s: &Scenario) -> Result<Value, String> {
    let cfg = s.tx_sim().ok_or("the scenario has no [tx] table")?;
    let verdict =
        check_doorbell(cfg.model, cfg.barrier, cfg.mmio, cfg.descriptors_per_doorbell).map_err(|e| e.to_string())?;
    let stats = run_doorbell_sim(&cfg, s.seed);
    if !stats.law_violations.is_empty() {
        return Err(format!("accounting law violated: {:?}", stats.law_violations));
    }
    let checker = match verdict {
        Verdict::Safe { orders_explored } => json!({"verdict": "safe", "orders_explored": orders_explored}),
        Verdict::Counterexample { stores_in_visibility_order, device_read } => json!({
            "verdict": "counterexample",
            "stores_in_visibility_order": stores_in_visibility_order,
            "device_read": device_read,
        }),
    };
    Ok(json!({"checker": checker, "simulation": serde_json::to_value(&stats).map_err(|e| e.to_string())?}))
}

fn verdict(m: &Value) -> &str {
    m["checker"]["verdict"].as_str().unwrap_or("?")
}

fn stale(m: &Value) -> f64 {
    num(m, "simulation.stale_descriptor_reads")
}

/// Stale descriptor reads per million doorbells.
fn stale_per_million(m: &Value) -> Ratio {
    Ratio::new(num(m, "simulation.stale_reads_per_million_doorbells"), num(m, "simulation.doorbells"), "doorbells")
}

fn columns() -> Vec<Column> {
    vec![
        Column { header: "checker", cell: |v| verdict(&v.metrics).to_string() },
        Column { header: "doorbells", cell: |v| format!("{}", num(&v.metrics, "simulation.doorbells")) },
        Column { header: "stale reads", cell: |v| format!("{}", stale(&v.metrics)) },
        Column { header: "stale/M doorbells", cell: |v| stale_per_million(&v.metrics).show(1) },
        Column {
            header: "corrupted tx",
            cell: |v| format!("{}", num(&v.metrics, "simulation.corrupted_transmissions")),
        },
    ]
}

fn findings(vs: &[VariantResult]) -> Vec<Finding> {
    let mut f = Vec::new();
    let get = |n: &str| vs.iter().find(|v| v.name == n).map(|v| &v.metrics);
    let expected = [
        ("weak/none/uc", "counterexample"),
        ("weak/wmb/uc", "safe"),
        ("tso/none/uc", "safe"),
        ("tso/none/wc", "counterexample"),
        ("tso/wmb/wc", "safe"),
    ];
    let got: Vec<String> =
        expected.iter().map(|(n, _)| format!("{n} → {}", get(n).map_or("missing", verdict))).collect();
    f.push(Finding {
        claim: format!("checker verdicts for {DESCRIPTORS} descriptors: {}", got.join(", ")),
        holds: expected.iter().all(|(n, want)| get(n).is_some_and(|m| verdict(m) == *want)),
    });
    if let Some(m) = get("weak/none/uc") {
        f.push(Finding {
            claim: format!(
                "weak, no barrier: {} stale descriptor reads in {} doorbells ({} per million), {} corrupted transmissions",
                stale(m),
                num(m, "simulation.doorbells"),
                stale_per_million(m).show(1),
                num(m, "simulation.corrupted_transmissions")
            ),
            holds: stale(m) > 0.0,
        });
    }
    if let Some(m) = get("weak/wmb/uc") {
        let n = num(m, "simulation.doorbells");
        f.push(Finding {
            claim: format!("weak with wmb: {} stale reads in {} doorbells", stale(m), n),
            holds: stale(m) == 0.0 && n >= 1e6,
        });
    }
    let disagree: Vec<&str> = vs
        .iter()
        .filter(|v| (verdict(&v.metrics) == "safe") != (stale(&v.metrics) == 0.0))
        .map(|v| v.name.as_str())
        .collect();
    f.push(Finding {
        claim: if disagree.is_empty() {
            format!("simulation and checker agree on all {} configurations (stale reads exactly where a counterexample exists)", vs.len())
        } else {
            format!("simulation and checker disagree on: {}", disagree.join(", "))
        },
        holds: disagree.is_empty(),
    });
    f
}
