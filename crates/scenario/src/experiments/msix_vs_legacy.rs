//! `msix-vs-legacy`: INTx, MSI and MSI-X at 1–16 cores, under interrupts,
//! and MSI-X's scaling at 10 GbE line rate.
//!
//! With MSI-X each queue has its own vector, spread over the cores; with MSI
//! or INTx the whole NIC has one vector on one core, whose handler reads the
//! interrupt cause register and schedules every queue that interrupted.
//! Application threads are spread over all cores in every variant.
//!
//! The mode comparison runs at 0.3 Mpps, a load one core's softirq keeps up
//! with even when it polls all 16 queues: each poll drains its ring, NAPI
//! completes and re-enables the queue's interrupt, and the NIC interrupts
//! again (rx-usecs 10), so every variant takes thousands of interrupts and
//! their cost shows — interrupts per packet, hard-IRQ time per interrupt and
//! its share of the CPU, the busiest core, CPU per packet. A finding checks
//! that no variant slipped into pure polling. A second series runs MSI-X
//! alone at 10 GbE line rate, above one core's capacity, where its
//! throughput grows with the cores until the offered load is met.

use crate::experiment::{
    Column, Experiment, Finding, Ratio, Settings, Variant, VariantResult, by_name, col, cpu_ns_per_packet, judge, mpps,
    num, per_packet, readers_on, run_model,
};
use serde_json::Value;

const CORES: [u32; 5] = [1, 2, 4, 8, 16];
const RX_USECS: u32 = 10;
const MODES: [&str; 3] = ["intx", "msi", "msix"];
/// Offered load of the mode comparison: below one core's capacity at every
/// core count, so each variant runs on interrupts.
const IRQ_RATE_PPS: f64 = 300_000.0;
/// 10 GbE line rate of 64-byte frames.
const LINE_RATE_PPS: f64 = 14_880_952.0;
/// Fewest interrupts a variant of the mode comparison must take for "runs
/// on interrupts" (the quick run's are 30 ms long).
const MIN_INTERRUPTS: f64 = 1000.0;
/// A single-vector interrupt must cost at least this many times MSI-X's
/// hard-IRQ time.
const SINGLE_VECTOR_COST: f64 = 1.2;
/// How far apart MSI and INTx may be and still "cost the same".
const SAME_WITHIN: f64 = 0.1;

pub fn experiment() -> Experiment {
    Experiment {
        name: "msix-vs-legacy",
        description: "INTx vs MSI vs MSI-X (spread affinity) at 1, 2, 4, 8, 16 cores under interrupts (0.3 Mpps, rx-usecs 10); MSI-X at 10 GbE line rate of 64-byte frames",
        base,
        variants,
        run: run_model,
        columns,
        findings,
    }
}

/// 256 flows of 64-byte frames, evenly spaced; queue interrupts spread over
/// the cores; moderate interrupt coalescing, as NIC drivers default to (e.g.
/// igb rx-usecs 3, ixgbe adaptive ITR).
fn base(quick: bool) -> Settings {
    Settings::new()
        .set("duration_ms", if quick { 30.0 } else { 100.0 })
        .set("workload.flows", 256)
        .set("workload.arrival", "constant")
        .set("nic.affinity_policy", "spread")
        .set("nic.coalesce.rx_usecs", RX_USECS)
        .set("nic.coalesce.rx_frames", 0)
}

/// One variant: `cores` cores and queues, one reader per core (flows dealt
/// round-robin, whatever the interrupt mode), at `rate` packets per second.
fn variant(name: String, mode: &str, cores: u32, rate: f64) -> Variant {
    Variant::new(name.clone())
        .set("name", format!("msix-vs-legacy/{name}"))
        .set("machine.cores", cores)
        .set("nic.queues", cores)
        .set("nic.interrupt_mode", mode)
        .set("workload.rate_pps", rate)
        .set("apps", readers_on(0..cores))
}

fn variants(_quick: bool) -> Vec<Variant> {
    let mut out = Vec::new();
    for mode in MODES {
        for cores in CORES {
            out.push(variant(format!("{mode}/{cores}"), mode, cores, IRQ_RATE_PPS));
        }
    }
    for cores in CORES {
        out.push(variant(format!("msix@line/{cores}"), "msix", cores, LINE_RATE_PPS));
    }
    out
}

/// Sum over the cores of the fraction of the run in `context`, in core-seconds
/// per second.
fn cores_in(m: &Value, context: &str) -> f64 {
    m["cpu"].as_array().map_or(f64::NAN, |cs| cs.iter().map(|c| num(c, &format!("busy_frac.{context}"))).sum())
}

/// Hard-IRQ CPU time per interrupt taken, ns.
fn hardirq_ns_per_interrupt(m: &Value) -> Ratio {
    let ints = num(m, "interrupts.total");
    Ratio::new(cores_in(m, "hardirq") * num(m, "duration_s") * 1e9 / ints, ints, "interrupts")
}

/// Hard-IRQ time as a share of all busy CPU time, percent.
fn hardirq_share(m: &Value) -> f64 {
    let busy = m["cpu"].as_array().map_or(f64::NAN, |cs| cs.iter().map(|c| 1.0 - num(c, "busy_frac.idle")).sum());
    100.0 * cores_in(m, "hardirq") / busy
}

/// The busiest core's non-idle share, percent.
fn busiest_core(m: &Value) -> f64 {
    m["cpu"].as_array().map_or(f64::NAN, |cs| {
        cs.iter().map(|c| 100.0 * (1.0 - num(c, "busy_frac.idle"))).fold(f64::NEG_INFINITY, f64::max)
    })
}

/// The core that took the most interrupts: its share of them and its
/// non-idle share, percent.
fn interrupt_core(m: &Value) -> (f64, f64) {
    let per_core: Vec<f64> =
        m["interrupts"]["per_core"].as_array().map_or(Vec::new(), |cs| cs.iter().filter_map(Value::as_f64).collect());
    let Some((core, most)) = per_core.iter().copied().enumerate().reduce(|a, b| if b.1 > a.1 { b } else { a }) else {
        return (f64::NAN, f64::NAN);
    };
    (100.0 * most / num(m, "interrupts.total"), 100.0 * (1.0 - num(m, &format!("cpu.{core}.busy_frac.idle"))))
}

fn columns() -> Vec<Column> {
    vec![
        Column { header: "delivered Mpps", cell: |v| mpps(num(&v.metrics, "throughput.delivered_pps")) },
        Column { header: "interrupts", cell: |v| format!("{}", num(&v.metrics, "interrupts.total")) },
        Column { header: "ints/pkt", cell: |v| per_packet(&v.metrics, "interrupts.per_packet").show(4) },
        Column { header: "hardirq ns/int", cell: |v| hardirq_ns_per_interrupt(&v.metrics).show(0) },
        Column { header: "hardirq share", cell: |v| format!("{:.1}%", hardirq_share(&v.metrics)) },
        Column { header: "busiest core", cell: |v| format!("{:.0}%", busiest_core(&v.metrics)) },
        col::cpu_ns_per_pkt(),
        Column {
            header: "dropped",
            cell: |v| {
                let d = &v.metrics["packets"]["dropped"];
                let total: f64 = d.as_object().map_or(0.0, |o| o.values().filter_map(|x| x.as_f64()).sum());
                let offered = num(&v.metrics, "packets.offered");
                Ratio::new(100.0 * total / offered.max(1.0), offered, "offered packets").show_pct(1)
            },
        },
    ]
}

/// `lo–hi` of `xs` with `show`, or one value when they agree as shown.
fn span(xs: &[f64], show: impl Fn(f64) -> String) -> String {
    let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (a, b) = (show(lo), show(hi));
    if a == b { a } else { format!("{a}–{b}") }
}

fn findings(vs: &[VariantResult]) -> Vec<Finding> {
    let metrics = |name: &str| by_name(vs, name).map(|v| &v.metrics);
    // The mode comparison's variants, mode by mode, in core order.
    let series = |mode: &str| -> Vec<(String, &Value)> {
        CORES
            .iter()
            .filter_map(|c| {
                let name = format!("{mode}/{c}");
                metrics(&name).map(|m| (name, m))
            })
            .collect()
    };
    let (intx, msi, msix) = (series("intx"), series("msi"), series("msix"));
    let complete = [&intx, &msi, &msix].iter().all(|s| s.len() == CORES.len());
    let mut f = Vec::new();

    // Every variant of the comparison runs on interrupts, its polls draining
    // the rings.
    let all: Vec<&(String, &Value)> = intx.iter().chain(&msi).chain(&msix).collect();
    let fewest = all
        .iter()
        .map(|(n, m)| (n.as_str(), num(m, "interrupts.total")))
        .fold(("-", f64::INFINITY), |a, b| if b.1 < a.1 { b } else { a });
    let full_polls: f64 = all.iter().map(|(_, m)| num(m, "napi.full_polls")).sum();
    let polls: f64 = all.iter().map(|(_, m)| num(m, "napi.polls")).sum();
    let per_packet_all: Vec<f64> = all.iter().map(|(_, m)| num(m, "interrupts.per_packet")).collect();
    f.push(Finding {
        claim: format!(
            "at {} Mpps every INTx, MSI and MSI-X variant runs on interrupts: at least {MIN_INTERRUPTS} each (fewest: {} with {}; {} per packet), and its polls drain the rings ({full_polls} of {polls} used their whole weight)",
            mpps(IRQ_RATE_PPS),
            fewest.0,
            fewest.1,
            span(&per_packet_all, |x| format!("{x:.2}"))
        ),
        holds: complete && fewest.1 >= MIN_INTERRUPTS && full_polls == 0.0,
    });

    // Per interrupt, the single-vector handler costs more.
    let cost = |s: &[(String, &Value)]| -> Vec<Ratio> { s.iter().map(|(_, m)| hardirq_ns_per_interrupt(m)).collect() };
    let (ci, cm, cx) = (cost(&intx), cost(&msi), cost(&msix));
    let share = |s: &[(String, &Value)]| -> Vec<f64> { s.iter().map(|(_, m)| hardirq_share(m)).collect() };
    let (share_i, share_m, share_x) = (share(&intx), share(&msi), share(&msix));
    let pct1 = |x: f64| format!("{x:.1}");
    let shown = |rs: &[Ratio]| span(&rs.iter().map(|r| r.get()).collect::<Vec<_>>(), |x| format!("{x:.0}"));
    let labelled = |s: &[(String, &Value)], rs: &[Ratio]| -> Vec<(String, Ratio)> {
        s.iter().map(|(n, _)| n.clone()).zip(rs.iter().copied()).collect()
    };
    let mut ratios = labelled(&intx, &ci);
    ratios.extend(labelled(&msi, &cm));
    ratios.extend(labelled(&msix, &cx));
    let refs: Vec<(&str, Ratio)> = ratios.iter().map(|(n, r)| (n.as_str(), *r)).collect();
    f.push(judge(
        format!(
            "per interrupt, the single-vector handler costs more hard-IRQ time than MSI-X's at every core count: INTx {} ns, MSI {} ns, MSI-X {} ns (threshold {SINGLE_VECTOR_COST}×); hard IRQs are {}% of INTx's and {}% of MSI's CPU time, {}% of MSI-X's",
            shown(&ci),
            shown(&cm),
            shown(&cx),
            span(&share_i, pct1),
            span(&share_m, pct1),
            span(&share_x, pct1)
        ),
        &refs,
        || {
            complete
                && ci.iter().zip(&cx).all(|(i, x)| i.get() >= SINGLE_VECTOR_COST * x.get())
                && cm.iter().zip(&cx).all(|(m, x)| m.get() >= SINGLE_VECTOR_COST * x.get())
                && share_i.iter().chain(&share_m).all(|s| share_x.iter().all(|x| s > x))
        },
    ));

    // MSI and INTx, both one vector, cost the same.
    let apart = |a: f64, b: f64| (a / b - 1.0).abs();
    let mut same_ratios: Vec<(String, Ratio)> = Vec::new();
    let (mut ipp, mut per_int, mut cpu) = (0.0f64, 0.0f64, 0.0f64);
    for ((name_i, mi), (name_m, mm)) in intx.iter().zip(&msi) {
        let (pi, pm) = (per_packet(mi, "interrupts.per_packet"), per_packet(mm, "interrupts.per_packet"));
        let (hi, hm) = (hardirq_ns_per_interrupt(mi), hardirq_ns_per_interrupt(mm));
        let (ui, um) = (cpu_ns_per_packet(mi), cpu_ns_per_packet(mm));
        ipp = ipp.max(apart(pm.get(), pi.get()));
        per_int = per_int.max(apart(hm.get(), hi.get()));
        cpu = cpu.max(apart(um.get(), ui.get()));
        same_ratios.extend([(name_i.clone(), pi), (name_m.clone(), pm), (name_i.clone(), hi), (name_m.clone(), hm)]);
    }
    let refs: Vec<(&str, Ratio)> = same_ratios.iter().map(|(n, r)| (n.as_str(), *r)).collect();
    f.push(judge(
        format!(
            "MSI, also one vector, costs what INTx costs under interrupts: at every core count, interrupts per packet at most {:.1}% apart, hard-IRQ time per interrupt {:.1}%, CPU per packet {:.1}% (threshold {:.0}%)",
            100.0 * ipp,
            100.0 * per_int,
            100.0 * cpu,
            100.0 * SAME_WITHIN
        ),
        &refs,
        || complete && ipp <= SAME_WITHIN && per_int <= SAME_WITHIN && cpu <= SAME_WITHIN,
    ));

    // One vector puts every interrupt and poll on one core.
    let top = CORES.iter().copied().max().unwrap_or(1);
    if let (Some(i), Some(m), Some(x)) =
        (metrics(&format!("intx/{top}")), metrics(&format!("msi/{top}")), metrics(&format!("msix/{top}")))
    {
        let ((i_share, i_busy), (m_share, m_busy), (x_share, _)) =
            (interrupt_core(i), interrupt_core(m), interrupt_core(x));
        let x_busiest = busiest_core(x);
        f.push(Finding {
            claim: format!(
                "at {top} cores INTx and MSI take {i_share:.0}% and {m_share:.0}% of their interrupts on one core, which the hard IRQs and polls of all {top} queues keep {i_busy:.0}% and {m_busy:.0}% busy, the busiest; MSI-X spreads its {top} vectors (at most {x_share:.0}% of interrupts on one core) and its busiest core is {x_busiest:.0}% busy (threshold: a third of the single vector's core)",
            ),
            holds: i_share >= 99.0
                && m_share >= 99.0
                && i_busy >= busiest_core(i)
                && m_busy >= busiest_core(m)
                && x_share <= 2.0 * 100.0 / top as f64
                && i_busy >= 3.0 * x_busiest
                && m_busy >= 3.0 * x_busiest,
        });
    }

    // CPU per packet: the cause-register read shows in the total.
    let (ui, ux): (Vec<Ratio>, Vec<Ratio>) = (
        intx.iter().map(|(_, m)| cpu_ns_per_packet(m)).collect(),
        msix.iter().map(|(_, m)| cpu_ns_per_packet(m)).collect(),
    );
    let mut cpu_ratios = labelled(&intx, &ui);
    cpu_ratios.extend(labelled(&msix, &ux));
    let refs: Vec<(&str, Ratio)> = cpu_ratios.iter().map(|(n, r)| (n.as_str(), *r)).collect();
    let list = |rs: &[Ratio]| rs.iter().map(|r| r.show(0)).collect::<Vec<_>>().join(", ");
    f.push(judge(
        format!(
            "MSI-X takes less CPU per packet than INTx at every core count: {} ns vs {} ns at 1/2/4/8/16 cores",
            list(&ux),
            list(&ui)
        ),
        &refs,
        || complete && ux.iter().zip(&ui).all(|(x, i)| x.get() < i.get()),
    ));

    // MSI-X at line rate: throughput grows with the cores.
    let line: Vec<f64> = CORES
        .iter()
        .map(|c| metrics(&format!("msix@line/{c}")).map_or(f64::NAN, |m| num(m, "throughput.delivered_pps")))
        .collect();
    let grows = line.windows(2).all(|w| w[1] >= 0.95 * w[0]);
    let (first, last) = (line.first().copied().unwrap_or(f64::NAN), line.last().copied().unwrap_or(f64::NAN));
    f.push(Finding {
        claim: format!(
            "at 10 GbE line rate ({} Mpps) MSI-X throughput grows with the cores until the offered load is met: {} Mpps at 1/2/4/8/16 cores",
            mpps(LINE_RATE_PPS),
            line.iter().map(|x| mpps(*x)).collect::<Vec<_>>().join(", ")
        ),
        holds: grows && first <= 0.5 * LINE_RATE_PPS && last >= 0.95 * LINE_RATE_PPS,
    });
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A variant on `cores` cores that took `interrupts` interrupts for
    /// 30,000 packets in 0.1 s, `ns` of hard-IRQ time each, all on core 0
    /// unless `spread`.
    fn variant(name: &str, cores: usize, interrupts: f64, ns: f64, spread: bool) -> VariantResult {
        let hardirq_s = interrupts * ns * 1e-9;
        let per_core: Vec<f64> = (0..cores)
            .map(|c| {
                if spread {
                    interrupts / cores as f64
                } else if c == 0 {
                    interrupts
                } else {
                    0.0
                }
            })
            .collect();
        let cpu: Vec<Value> = (0..cores)
            .map(|c| {
                let hardirq = if spread {
                    hardirq_s / 0.1 / cores as f64
                } else if c == 0 {
                    hardirq_s / 0.1
                } else {
                    0.0
                };
                let busy = if spread {
                    0.05
                } else if c == 0 {
                    0.6
                } else {
                    0.05
                };
                json!({"busy_frac": {"hardirq": hardirq, "idle": 1.0 - busy}})
            })
            .collect();
        VariantResult {
            name: name.into(),
            params: Default::default(),
            metrics: json!({
                "duration_s": 0.1,
                "packets": {"delivered": 30_000, "offered": 30_000},
                "throughput": {"delivered_pps": 300_000.0},
                "interrupts": {"total": interrupts, "per_packet": interrupts / 30_000.0, "per_core": per_core},
                "napi": {"polls": interrupts, "full_polls": 0},
                "cpu": cpu,
            }),
        }
    }

    fn all(intx_1_interrupts: f64) -> Vec<VariantResult> {
        let mut vs = Vec::new();
        for mode in MODES {
            for cores in CORES {
                let ints = if mode == "intx" && cores == 1 { intx_1_interrupts } else { 2000.0 * cores as f64 };
                let ns = if mode == "msix" { 665.0 } else { 1211.0 };
                vs.push(variant(&format!("{mode}/{cores}"), cores as usize, ints, ns, mode == "msix"));
            }
        }
        vs
    }

    #[test]
    fn a_variant_that_slips_into_polling_is_caught() {
        let ok = findings(&all(2000.0));
        let first = |f: &[Finding]| f.first().map(|x| (x.claim.clone(), x.holds));
        assert!(first(&ok).is_some_and(|(c, h)| c.contains("runs on interrupts") && h));
        let polling = findings(&all(5.0));
        assert!(first(&polling).is_some_and(|(c, h)| c.contains("fewest: intx/1 with 5") && !h));
        // Its cost per interrupt is not judged from 5 interrupts either.
        assert!(polling.iter().any(|f| f.claim.contains("not judged: intx/1 has 5 interrupts") && !f.holds));
    }
}
