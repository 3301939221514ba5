//! `moderation`: interrupt moderation as drivers ship it — off, a fixed
//! `rx-usecs 50` (the i40e/ice default throttling, with ethtool's timer
//! from the first unreported frame), net_dim's adaptive profiles (mlx5's
//! default, and the `default` scenario's, with mlx5's CQE-based timer that
//! restarts at each completion) and ixgbe's adaptive ITR classes — at a light, a medium and
//! a heavy load on the `default` scenario's machine (4 cores, 4 queues,
//! readers on the queues' cores).
//!
//! Findings compare interrupts per packet, CPU per packet and latency: what
//! each adaptive scheme saves at high load, and what it costs (or not) at
//! low load.

use crate::experiment::{
    Column, Experiment, Finding, Settings, Variant, VariantResult, by_name, col, cpu_ns_per_packet, judge, num,
    per_packet,
};

const RATES: [(&str, f64); 3] = [("50k", 50_000.0), ("500k", 500_000.0), ("2M", 2_000_000.0)];

/// A moderation setting: its name, `adaptive_rx`, `adaptive_scheme`,
/// `rx_usecs` and `rx_frames`.
type Mode = (&'static str, bool, &'static str, u32, u32);

const MODES: [Mode; 4] = [
    ("off", false, "net_dim", 0, 1),
    ("usecs50", false, "net_dim", 50, 512),
    ("net_dim", true, "net_dim", 0, 1),
    ("ixgbe_itr", true, "ixgbe_itr", 0, 1),
];

pub fn experiment() -> Experiment {
    Experiment {
        name: "moderation",
        description: "interrupt moderation off vs rx-usecs 50 vs adaptive net_dim (mlx5) vs adaptive ixgbe ITR, at 50 kpps, 500 kpps and 2 Mpps (4 cores, 4 queues)",
        base,
        variants,
        run: crate::experiment::run_model,
        columns,
        findings,
    }
}

/// The model's defaults (4 cores, 4 queues, a reader per core: queue i's
/// interrupt and its reader on core i, 64-byte frames, Poisson arrivals),
/// for 200 ms.
fn base(quick: bool) -> Settings {
    Settings::new().set("duration_ms", if quick { 20.0 } else { 200.0 })
}

fn variants(_quick: bool) -> Vec<Variant> {
    let mut out = Vec::new();
    for (level, rate) in RATES {
        for (name, adaptive, scheme, usecs, frames) in MODES {
            out.push(
                Variant::new(format!("{name}/{level}"))
                    .set("nic.coalesce.adaptive_rx", adaptive)
                    .set("nic.coalesce.adaptive_scheme", scheme)
                    .set("nic.coalesce.rx_usecs", usecs)
                    .set("nic.coalesce.rx_frames", frames)
                    .set("workload.rate_pps", rate),
            );
        }
    }
    out
}

/// Mean of the queues' final `rx-usecs`.
fn final_usecs(m: &serde_json::Value) -> f64 {
    let qs = m["queues"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    if qs.is_empty() { f64::NAN } else { qs.iter().map(|q| num(q, "rx_usecs")).sum::<f64>() / qs.len() as f64 }
}

fn columns() -> Vec<Column> {
    vec![
        col::delivered_kpps(),
        Column { header: "irqs/pkt", cell: |v| per_packet(&v.metrics, "interrupts.per_packet").show(4) },
        col::cpu_ns_per_pkt(),
        col::p50_us(),
        col::p99_us(),
        Column { header: "final rx-usecs", cell: |v| format!("{:.1}", final_usecs(&v.metrics)) },
    ]
}

fn findings(vs: &[VariantResult]) -> Vec<Finding> {
    let get = |n: &str| by_name(vs, n).map(|v| &v.metrics);
    // Median wire-to-application latency, µs; interrupts per packet.
    let p50 = |m: &serde_json::Value| num(m, "latency_ns.p50") / 1e3;
    let wk = |m| per_packet(m, "interrupts.per_packet");
    let mut f = Vec::new();
    if let (Some(off), Some(dim), Some(itr)) = (get("off/2M"), get("net_dim/2M"), get("ixgbe_itr/2M")) {
        let irq = |m| per_packet(m, "interrupts.per_packet");
        let (o, d, i) = (irq(off), irq(dim), irq(itr));
        let (co, cd, ci) = (cpu_ns_per_packet(off), cpu_ns_per_packet(dim), cpu_ns_per_packet(itr));
        f.push(judge(
            format!(
                "at 2 Mpps adaptive moderation cuts interrupts per packet from {} (off) to {} (net_dim) and {} (ixgbe ITR), and CPU per packet from {} to {} and {} ns",
                o.show(4),
                d.show(4),
                i.show(4),
                co.show(0),
                cd.show(0),
                ci.show(0)
            ),
            &[("off/2M", o), ("net_dim/2M", d), ("ixgbe_itr/2M", i)],
            || d.get() < o.get() / 5.0 && i.get() < o.get() / 5.0 && cd.get() < co.get() && ci.get() < co.get(),
        ));
        f.push(Finding {
            claim: format!(
                "the price at 2 Mpps is latency: p50 {:.1} µs off, {:.1} µs with net_dim (queues end at {:.0} µs), {:.1} µs with ixgbe ITR (at {:.0} µs)",
                p50(off),
                p50(dim),
                final_usecs(dim),
                p50(itr),
                final_usecs(itr)
            ),
            holds: p50(dim) > p50(off) && p50(itr) > p50(off),
        });
    }
    if let (Some(off), Some(fixed), Some(itr)) = (get("off/50k"), get("usecs50/50k"), get("ixgbe_itr/50k")) {
        f.push(judge(
            format!(
                "at 50 kpps a fixed rx-usecs 50 holds every packet for its timer (p50 {:.1} µs vs {:.1} µs off), while ixgbe ITR drops to its lowest-latency class ({:.0} µs) and stays near off (p50 {:.1} µs, {} interrupts per packet)",
                p50(fixed),
                p50(off),
                final_usecs(itr),
                p50(itr),
                wk(itr).show(3)
            ),
            &[("off/50k", wk(off)), ("usecs50/50k", wk(fixed)), ("ixgbe_itr/50k", wk(itr))],
            || p50(fixed) > p50(off) + 40.0 && p50(itr) < p50(off) + 10.0,
        ));
    }
    if let (Some(off), Some(dim)) = (get("off/50k"), get("net_dim/50k")) {
        f.push(judge(
            format!(
                "net_dim judges by rates, not by latency: at 50 kpps its queues wander to {:.0} µs on average, p50 {:.1} µs vs {:.1} µs off, for {} interrupts per packet instead of {}",
                final_usecs(dim),
                p50(dim),
                p50(off),
                wk(dim).show(3),
                wk(off).show(3)
            ),
            &[("off/50k", wk(off)), ("net_dim/50k", wk(dim))],
            || p50(dim) > p50(off) && wk(dim).get() < wk(off).get(),
        ));
    }
    f
}
