//! `doorbell-barrier`: memory model × barrier × MMIO type for the TX
//! doorbell — stale descriptor reads per million doorbells on the machine's
//! transmit path (a sender thread, its CPU's store buffer, the NIC's
//! descriptor fetch by DMA), next to the exhaustive checker's verdict.

use crate::experiment::{Column, Experiment, Finding, Ratio, Settings, Variant, VariantResult, num, run_model};
use irqlab_model::Scenario;
use irqlab_model::memory::{Verdict, check_doorbell};
use serde_json::{Value, json};

/// Descriptors per doorbell, in the checker and on the transmit path.
const DESCRIPTORS: u32 = 2;
/// Doorbells per second: a busy transmit queue the sender's core sustains.
const DOORBELL_RATE_PER_S: f64 = 5e5;
/// Doorbells a configuration must see before "no stale read" is a finding:
/// the quick run's 10^5 periods, less the few whose batch is still being
/// written when the run ends.
const MIN_DOORBELLS: f64 = 0.999e5;

pub fn experiment() -> Experiment {
    Experiment {
        name: "doorbell-barrier",
        description: "TX doorbell after descriptor stores: tso/weak × none/wmb/dma_wmb × uc/wc, the transmit path vs the exhaustive checker",
        base,
        variants,
        run,
        columns,
        findings,
    }
}

/// The `[tx]` path at a busy queue's doorbell rate; the duration sets the
/// number of doorbells (100,000 quick, 1 M full), the link is 100 Gb/s and
/// the receive side carries only a trickle.
fn base(quick: bool) -> Settings {
    Settings::new()
        .set("duration_ms", if quick { 200.0 } else { 2000.0 })
        .set("nic.line_rate_gbps", 100.0)
        .set("workload.rate_pps", 10_000.0)
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

/// The machine with the scenario's `[tx]` path, and the exhaustive
/// checker's verdict for the same contract.
fn run(s: &Scenario) -> Result<Value, String> {
    let t = s.tx.as_ref().ok_or("the scenario has no [tx] table")?;
    let verdict = check_doorbell(t.model, t.barrier, t.mmio, t.descriptors_per_doorbell).map_err(|e| e.to_string())?;
    let mut metrics = run_model(s)?;
    metrics["checker"] = match verdict {
        Verdict::Safe { orders_explored } => json!({"verdict": "safe", "orders_explored": orders_explored}),
        Verdict::Counterexample { stores_in_visibility_order, device_read } => json!({
            "verdict": "counterexample",
            "stores_in_visibility_order": stores_in_visibility_order,
            "device_read": device_read,
        }),
    };
    Ok(metrics)
}

fn verdict(m: &Value) -> &str {
    m["checker"]["verdict"].as_str().unwrap_or("?")
}

fn stale(m: &Value) -> f64 {
    num(m, "tx.stale_descriptor_reads")
}

/// Stale descriptor reads per million doorbells.
fn stale_per_million(m: &Value) -> Ratio {
    Ratio::new(num(m, "tx.stale_reads_per_million_doorbells"), num(m, "tx.doorbells"), "doorbells")
}

fn columns() -> Vec<Column> {
    vec![
        Column { header: "checker", cell: |v| verdict(&v.metrics).to_string() },
        Column { header: "doorbells", cell: |v| format!("{}", num(&v.metrics, "tx.doorbells")) },
        Column { header: "stale reads", cell: |v| format!("{}", stale(&v.metrics)) },
        Column { header: "stale/M doorbells", cell: |v| stale_per_million(&v.metrics).show(1) },
        Column { header: "corrupted tx", cell: |v| format!("{}", num(&v.metrics, "tx.corrupted_transmissions")) },
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
                num(m, "tx.doorbells"),
                stale_per_million(m).show(1),
                num(m, "tx.corrupted_transmissions")
            ),
            holds: stale(m) > 0.0,
        });
    }
    if let Some(m) = get("weak/wmb/uc") {
        let n = num(m, "tx.doorbells");
        f.push(Finding {
            claim: format!("weak with wmb: {} stale reads in {} doorbells", stale(m), n),
            holds: stale(m) == 0.0 && n >= MIN_DOORBELLS,
        });
    }
    let disagree: Vec<&str> = vs
        .iter()
        .filter(|v| (verdict(&v.metrics) == "safe") != (stale(&v.metrics) == 0.0))
        .map(|v| v.name.as_str())
        .collect();
    f.push(Finding {
        claim: if disagree.is_empty() {
            format!("the transmit path and the checker agree on all {} configurations (stale reads exactly where a counterexample exists)", vs.len())
        } else {
            format!("the transmit path and the checker disagree on: {}", disagree.join(", "))
        },
        holds: disagree.is_empty(),
    });
    f
}
