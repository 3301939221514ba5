//! `napi-livelock`: receive livelock without NAPI, and NAPI's plateau.
//!
//! One core, one queue, an offered-load sweep. Without NAPI every interrupt
//! runs the driver's receive loop at hard-IRQ priority and queues packets
//! with `netif_rx`; protocol processing and the application only get what
//! the interrupts leave (Mogul & Ramakrishnan's receive livelock). With NAPI
//! the interrupt is masked while the poll runs and overload moves the work
//! to ksoftirqd, which shares the core with the application. Each mechanism
//! runs with coalescing off and with rx-usecs 20. Findings locate each
//! curve's peak and compare the highest offered load with it.

use crate::experiment::{Column, Experiment, Finding, Settings, Variant, VariantResult, mpps, num, run_model};

const LOADS_PPS: [f64; 7] = [250_000.0, 500_000.0, 1_000_000.0, 2_000_000.0, 4_000_000.0, 8_000_000.0, 14_880_952.0];
const SERIES: [(&str, bool, u32); 4] =
    [("no-napi", false, 0), ("no-napi+coalesce", false, 20), ("napi", true, 0), ("napi+coalesce", true, 20)];

pub fn experiment() -> Experiment {
    Experiment {
        name: "napi-livelock",
        description: "offered-load sweep on one core: pre-NAPI interrupt-per-packet receive vs NAPI, each ± rx-usecs 20",
        base,
        variants,
        run: run_model,
        columns,
        findings,
    }
}

/// One core, one queue, Poisson arrivals.
fn base(quick: bool) -> Settings {
    Settings::new()
        .set("duration_ms", if quick { 20.0 } else { 100.0 })
        .set("machine.cores", 1)
        .set("nic.queues", 1)
        .set("workload.arrival", "poisson")
}

fn variants(_quick: bool) -> Vec<Variant> {
    let mut out = Vec::new();
    for (series, napi, rx_usecs) in SERIES {
        for load in LOADS_PPS {
            out.push(
                Variant::new(format!("{series}/{}", mpps(load)))
                    .set("name", format!("napi-livelock/{series}/{load}"))
                    .set("kernel.napi", napi)
                    .set("nic.coalesce.rx_usecs", rx_usecs)
                    // Coalescing off is rx-frames 1 (an interrupt per packet).
                    .set("nic.coalesce.rx_frames", if rx_usecs == 0 { 1 } else { 0 })
                    .set("workload.rate_pps", load),
            );
        }
    }
    out
}

fn columns() -> Vec<Column> {
    vec![
        Column { header: "offered Mpps", cell: |v| mpps(num(&v.metrics, "throughput.offered_pps")) },
        Column { header: "delivered Mpps", cell: |v| mpps(num(&v.metrics, "throughput.delivered_pps")) },
        Column { header: "hardirq", cell: |v| format!("{:.0}%", 100.0 * num(&v.metrics, "cpu.0.busy_frac.hardirq")) },
        Column {
            header: "softirq+ksoftirqd",
            cell: |v| {
                let m = &v.metrics;
                format!("{:.0}%", 100.0 * (num(m, "cpu.0.busy_frac.softirq") + num(m, "cpu.0.busy_frac.kthread")))
            },
        },
        Column { header: "user", cell: |v| format!("{:.0}%", 100.0 * num(&v.metrics, "cpu.0.busy_frac.user")) },
        Column {
            header: "top drop",
            cell: |v| {
                let d = v.metrics["packets"]["dropped"].as_object().cloned().unwrap_or_default();
                d.iter()
                    .filter_map(|(k, x)| x.as_u64().map(|x| (x, k.clone())))
                    .max()
                    .filter(|(x, _)| *x > 0)
                    .map_or("-".into(), |(x, k)| format!("{k} {x}"))
            },
        },
    ]
}

/// (offered, delivered) points of one series, in load order.
fn curve(vs: &[VariantResult], series: &str) -> Vec<(f64, f64)> {
    vs.iter()
        .filter(|v| v.name.rsplit_once('/').is_some_and(|(s, _)| s == series))
        .map(|v| (num(&v.metrics, "throughput.offered_pps"), num(&v.metrics, "throughput.delivered_pps")))
        .collect()
}

fn findings(vs: &[VariantResult]) -> Vec<Finding> {
    let mut f = Vec::new();
    for (series, napi, _) in SERIES {
        let c = curve(vs, series);
        let Some(&(last_offered, last)) = c.last() else { continue };
        let (peak_at, peak) = c.iter().fold((0.0, 0.0), |acc, &(o, d)| if d > acc.1 { (o, d) } else { acc });
        let share = last / peak;
        if napi {
            f.push(Finding {
                claim: format!(
                    "{series}: plateau — peak {} Mpps (at {} Mpps offered), {} Mpps at {} Mpps offered = {:.0}% of peak",
                    mpps(peak),
                    mpps(peak_at),
                    mpps(last),
                    mpps(last_offered),
                    100.0 * share
                ),
                holds: share >= 0.9,
            });
        } else {
            let rises_then_falls = peak_at > c[0].0 && peak_at < last_offered;
            f.push(Finding {
                claim: format!(
                    "{series}: livelock — delivered rises to {} Mpps at {} Mpps offered, then falls to {} Mpps at {} Mpps offered = {:.0}% of its peak",
                    mpps(peak),
                    mpps(peak_at),
                    mpps(last),
                    mpps(last_offered),
                    100.0 * share
                ),
                holds: rises_then_falls && share < 0.5,
            });
        }
    }
    f
}
