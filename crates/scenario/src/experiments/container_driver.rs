//! `container-driver`: a user-space driver in a container, with the NIC
//! assigned through VFIO, under a `cpu.max` quota.
//!
//! One RX queue whose MSI-X vector the host takes on core 0; the driver
//! thread on core 1 in a cgroup with `cpu.max` from `max` down to 20 % of a
//! core (the kernel's default 100 ms period). The driver polls for ever,
//! sleeps on the vector's eventfd as soon as its ring is empty, or polls
//! for 300 µs before sleeping (adaptive), at three offered loads. What the
//! table shows comes from the threads' spins, sleeps and wakeups, the host's
//! handler and the cgroup's bandwidth timer: nothing here encodes it.

use crate::experiment::{Column, Experiment, Finding, Settings, Variant, VariantResult, by_name, num, run_model};
use serde_json::{Value, json};

/// The driver's modes.
const MODES: [&str; 3] = ["poll", "interrupt", "adaptive"];
/// `cpu.max` quotas, percent of a core (0: `max`, no limit).
const QUOTAS: [u32; 7] = [0, 99, 98, 95, 90, 50, 20];
/// Offered loads, packets per second.
const LOADS: [f64; 5] = [2_000.0, 20_000.0, 200_000.0, 1_000_000.0, 3_500_000.0];
/// `cpu.max` period, µs: the kernel's default.
const PERIOD_US: u64 = 100_000;
/// The driver group's `cpu.weight` against a batch group of weight 100.
const WEIGHTS: [u32; 2] = [100, 400];
/// Offered load with the batch job.
const BATCH_LOAD: f64 = 200_000.0;
/// The kernel's scheduler slice, µs (`kernel.sched_slice_us`' default).
const SLICE_US: f64 = 750.0;
/// Descriptors in the RX ring (the scenario's default `nic.ring_size`).
const RING: u32 = 512;
/// The application's work per packet, ns.
const WORK_NS: f64 = 200.0;

pub fn experiment() -> Experiment {
    Experiment {
        name: "container-driver",
        description: "a VFIO user-space driver in a cgroup: polling vs eventfd interrupts vs adaptive, cpu.max from max down to 20% of a core, five offered loads, and a batch job sharing the core by cpu.weight — latency tails, CPU used, throttling, wakeups",
        base,
        variants,
        run: run_model,
        columns,
        findings,
    }
}

fn base(quick: bool) -> Settings {
    Settings::new()
        .set("duration_ms", if quick { 600.0 } else { 1000.0 })
        .set("machine.cores", 2)
        .set("nic.queues", 1)
        .set("nic.ring_size", RING)
        .set("nic.affinity", json!([0]))
        // EIAM: the queue's interrupt clears its own enable bit, as ixgbe
        // sets up MSI-X, so one interrupt per enable.
        .set("nic.auto_mask", true)
        .set("iommu.mode", "strict")
        .set("cgroups", json!([{ "name": "box", "period_us": PERIOD_US }, { "name": "batch" }]))
        .set("apps", json!([{ "core": 1, "work_ns": WORK_NS, "cgroup": "box" }]))
}

fn load_name(pps: f64) -> String {
    if pps >= 1e6 { format!("{}M", pps / 1e6) } else { format!("{}k", pps / 1e3) }
}

fn quota_name(q: u32) -> String {
    if q == 0 { "max".into() } else { format!("{q}%") }
}

fn name(mode: &str, quota: u32, pps: f64) -> String {
    format!("{mode}/{}/{}", quota_name(quota), load_name(pps))
}

fn variants(quick: bool) -> Vec<Variant> {
    let quotas: &[u32] = if quick { &[0, 95, 50, 20] } else { &QUOTAS };
    // Quick runs leave out the heaviest load.
    let loads = if quick { &LOADS[..LOADS.len() - 1] } else { &LOADS[..] };
    let mut out = Vec::new();
    for mode in MODES {
        for &pps in loads {
            for &q in quotas {
                let v =
                    Variant::new(name(mode, q, pps)).set("vfio", json!({ "mode": mode })).set("workload.rate_pps", pps);
                out.push(if q == 0 { v } else { v.set("cgroups[0].cpu_max_us", PERIOD_US * q as u64 / 100) });
            }
        }
    }
    // A batch job in another group shares the driver's core, by cpu.weight.
    for mode in ["poll", "interrupt"] {
        for w in WEIGHTS {
            out.push(
                Variant::new(batch_name(mode, w))
                    .set("vfio", json!({ "mode": mode }))
                    .set("workload.rate_pps", BATCH_LOAD)
                    .set("cgroups[0].weight", w)
                    .set("cgroups[1].batch_cores", json!([1])),
            );
        }
    }
    out
}

fn batch_name(mode: &str, weight: u32) -> String {
    format!("{mode}/batch, weight {weight}/{}", load_name(BATCH_LOAD))
}

fn us(m: &Value, path: &str) -> f64 {
    num(m, path) / 1e3
}

/// CPU the driver costs, in cores: its own thread (the cgroup's usage) and
/// the host's interrupt handling for it on core 0.
fn cores_used(m: &Value) -> f64 {
    num(m, "cgroup.0.usage_ns") / 1e9 / num(m, "duration_s").max(1e-12) + num(m, "cpu.0.busy_frac.hardirq")
}

/// CPU per delivered packet, ns.
fn ns_per_packet(m: &Value) -> f64 {
    cores_used(m) * 1e9 / num(m, "throughput.delivered_pps").max(1.0)
}

fn columns() -> Vec<Column> {
    vec![
        Column {
            header: "delivered kpps",
            cell: |v| format!("{:.1}", num(&v.metrics, "throughput.delivered_pps") / 1e3),
        },
        Column { header: "p50 µs", cell: |v| format!("{:.1}", us(&v.metrics, "latency_ns.p50")) },
        Column { header: "p99 µs", cell: |v| format!("{:.1}", us(&v.metrics, "latency_ns.p99")) },
        Column { header: "p99.9 µs", cell: |v| format!("{:.1}", us(&v.metrics, "latency_ns.p999")) },
        Column {
            header: "driver core",
            cell: |v| {
                format!("{:.1}%", num(&v.metrics, "cgroup.0.usage_ns") / 1e7 / num(&v.metrics, "duration_s").max(1e-12))
            },
        },
        Column {
            header: "irq core hardirq",
            cell: |v| format!("{:.1}%", num(&v.metrics, "cpu.0.busy_frac.hardirq") * 100.0),
        },
        Column { header: "CPU ns/packet", cell: |v| format!("{:.0}", ns_per_packet(&v.metrics)) },
        Column {
            header: "throttled periods",
            cell: |v| {
                format!("{}/{}", num(&v.metrics, "cgroup.0.nr_throttled"), num(&v.metrics, "cgroup.0.nr_periods"))
            },
        },
        Column { header: "throttled ms", cell: |v| format!("{:.1}", num(&v.metrics, "cgroup.0.throttled_ns") / 1e6) },
        Column { header: "wakeups/packet", cell: |v| format!("{:.3}", num(&v.metrics, "vfio.wakeups_per_packet")) },
        Column { header: "ring drops", cell: |v| format!("{}", num(&v.metrics, "packets.dropped.rx_ring_full")) },
    ]
}

/// Fewest packets a percentile is read from.
const MIN_PACKETS: f64 = 1000.0;

fn get_b<'a>(vs: &'a [VariantResult], mode: &str, weight: u32) -> Option<&'a Value> {
    by_name(vs, &batch_name(mode, weight)).map(|v| &v.metrics)
}

fn findings(vs: &[VariantResult]) -> Vec<Finding> {
    let get = |mode: &str, q: u32, pps: f64| by_name(vs, &name(mode, q, pps)).map(|v| &v.metrics);
    let quotas: Vec<u32> = QUOTAS.iter().copied().filter(|q| get("poll", *q, LOADS[1]).is_some()).collect();
    let p99 = |m: &Value| us(m, "latency_ns.p99");
    let p999 = |m: &Value| us(m, "latency_ns.p999");
    let enough = |m: &Value| num(m, "latency_ns.count") >= MIN_PACKETS;
    let period_ms = PERIOD_US as f64 / 1e3;
    let mut f = Vec::new();
    // 1. A poller under a quota below its demand (a whole core) is throttled
    //    every period, into latency spikes of the order of the period.
    let mid = LOADS[1];
    if let (Some(free), Some(half)) = (get("poll", 0, mid), get("poll", 50, mid)) {
        let throttled = |m: &Value| num(m, "cgroup.0.nr_throttled");
        let periods = |m: &Value| num(m, "cgroup.0.nr_periods");
        f.push(Finding {
            claim: format!(
                "poll at {}: unlimited, its p99 is {:.1} µs and it is never throttled; at cpu.max 50% it is throttled in {} of {} periods ({:.0} ms in all) and its p99 is {:.1} ms, p99.9 {:.1} ms — spikes of the order of the {period_ms:.0} ms period — while {} frames overflow the ring meanwhile",
                load_name(mid),
                p99(free),
                throttled(half),
                periods(half),
                num(half, "cgroup.0.throttled_ns") / 1e6,
                p99(half) / 1e3,
                p999(half) / 1e3,
                num(half, "packets.dropped.rx_ring_full"),
            ),
            holds: enough(free)
                && enough(half)
                && throttled(free) == 0.0
                && throttled(half) >= periods(half) * 0.8
                && periods(half) >= 2.0
                && p99(free) < 100.0
                && p999(half) >= period_ms * 1e3 / 10.0,
        });
    }
    // 2. Where the poller's p99 passes 1 ms: the largest quota whose p99 is
    //    above it, at each load.
    for pps in LOADS.iter().copied().filter(|pps| get("poll", 0, *pps).is_some()) {
        let over: Vec<u32> = quotas
            .iter()
            .copied()
            .filter(|q| *q > 0 && get("poll", *q, pps).is_some_and(|m| p99(m) > 1000.0))
            .collect();
        let under: Vec<u32> = quotas
            .iter()
            .copied()
            .filter(|q| *q > 0 && get("poll", *q, pps).is_some_and(|m| p99(m) <= 1000.0))
            .collect();
        let first = over.iter().max().copied();
        let all_below_over = match first {
            Some(q) => under.iter().all(|u| *u > q) && over.iter().all(|o| *o <= q),
            None => false,
        };
        let unlimited_ok = get("poll", 0, pps).is_some_and(|m| p99(m) <= 1000.0);
        let counted = quotas.iter().all(|q| get("poll", *q, pps).is_some_and(enough));
        f.push(Finding {
            claim: match first {
                Some(q) => format!(
                    "poll at {}: the p99 passes 1 ms at cpu.max {q}% ({:.1} ms there) and stays above it at every smaller quota; unlimited it is {:.1} µs",
                    load_name(pps),
                    get("poll", q, pps).map_or(0.0, p99) / 1e3,
                    get("poll", 0, pps).map_or(0.0, p99)
                ),
                None => {
                    let half = get("poll", 50, pps);
                    format!(
                        "poll at {}: the p99 stays below 1 ms at every quota tested ({:.1} µs at cpu.max 50%): the ring holds only {:.0} µs of traffic, so a throttled period shows as drops instead — {:.1}% of the offered packets at 50%",
                        load_name(pps),
                        half.map_or(0.0, p99),
                        RING as f64 * 1e6 / pps,
                        half.map_or(0.0, |m| 100.0 * num(m, "packets.dropped.rx_ring_full") / num(m, "packets.offered").max(1.0))
                    )
                }
            },
            holds: unlimited_ok
                && counted
                && match first {
                    Some(_) => all_below_over,
                    None => get("poll", 50, pps).is_some_and(|m| {
                        p99(m) <= 1000.0 && num(m, "packets.dropped.rx_ring_full") > 0.1 * num(m, "packets.offered")
                    }),
                },
        });
    }
    // 3. Interrupts cost less CPU than polling, and less per packet as the
    //    load grows: each wakeup serves more packets.
    let pairs: Vec<(f64, &Value, &Value)> =
        LOADS.iter().filter_map(|pps| Some((*pps, get("poll", 0, *pps)?, get("interrupt", 0, *pps)?))).collect();
    if pairs.len() >= 3 {
        let per: Vec<String> = pairs
            .iter()
            .map(|(pps, p, i)| {
                format!(
                    "{} {:.0} vs {:.0} ({:.3} wakeups/packet)",
                    load_name(*pps),
                    ns_per_packet(i),
                    ns_per_packet(p),
                    num(i, "vfio.wakeups_per_packet")
                )
            })
            .collect();
        let falling = pairs.windows(2).all(|w| {
            ns_per_packet(w[1].2) < ns_per_packet(w[0].2)
                && num(w[1].2, "vfio.wakeups_per_packet") < num(w[0].2, "vfio.wakeups_per_packet")
        });
        f.push(Finding {
            claim: format!(
                "unlimited, CPU per packet of eventfd interrupts vs polling, ns (the driver thread plus the host's handler): {}: a poller costs its whole core at any load, an interrupt-driven driver what it uses plus its wakeups, which serve more packets the higher the load — so interrupts are the cheaper way at every load tested, the gap closing as the poller's core fills",
                per.join(", ")
            ),
            holds: falling && pairs.iter().all(|(_, p, i)| cores_used(i) < cores_used(p)),
        });
    }
    // 4. What interrupts cost instead is latency; the adaptive driver sits on
    //    either side of its idle threshold.
    let (lo, next) = (LOADS[0], LOADS[1]);
    if let (Some(pl), Some(il), Some(al), Some(pn), Some(an)) = (
        get("poll", 0, lo),
        get("interrupt", 0, lo),
        get("adaptive", 0, lo),
        get("poll", 0, next),
        get("adaptive", 0, next),
    ) {
        let p50 = |m: &Value| us(m, "latency_ns.p50");
        let gap_us = |pps: f64| 1e6 / pps;
        f.push(Finding {
            claim: format!(
                "the price of interrupts is latency: p50 {:.1} µs against polling's {:.1} µs at {}; the adaptive driver (sleeping after 300 µs without a frame) behaves like interrupts at {} (frames {:.0} µs apart: p50 {:.1} µs, {:.2} wakeups per packet, {:.1}% of a core) and like polling at {} ({:.0} µs apart: p50 {:.1} µs against {:.1} µs, {:.1}% of a core): its crossover is its idle threshold",
                p50(il),
                p50(pl),
                load_name(lo),
                load_name(lo),
                gap_us(lo),
                p50(al),
                num(al, "vfio.wakeups_per_packet"),
                cores_used(al) * 100.0,
                load_name(next),
                gap_us(next),
                p50(an),
                p50(pn),
                cores_used(an) * 100.0
            ),
            holds: p50(il) > 2.0 * p50(pl)
                && (p50(al) - p50(il)).abs() < 0.25 * p50(il)
                && num(al, "vfio.wakeups_per_packet") > 0.1
                && (p50(an) - p50(pn)).abs() < 0.25 * p50(pn)
                && num(an, "vfio.wakeups_per_packet") < 0.01
                && gap_us(lo) > 300.0
                && gap_us(next) < 300.0,
        });
    }
    // 6. A batch job on the driver's core: CPU shared by weight; a woken
    //    driver waits for the batch thread's slice.
    let share = |m: &Value| {
        let (a, b) = (num(m, "cgroup.0.usage_ns"), num(m, "cgroup.1.usage_ns"));
        a / (a + b).max(1.0)
    };
    if let (Some(p1), Some(p4)) = (get_b(vs, "poll", 100), get_b(vs, "poll", 400)) {
        f.push(Finding {
            claim: format!(
                "poll at {} sharing core 1 with a batch job: at equal cpu.weight it gets {:.1}% of the core's task time, at weight 400 against 100 {:.1}% (the weights' shares are 50% and 80%); frames arriving during the batch job's turns wait for it: p99 {:.0} µs and {:.0} µs, against a {SLICE_US:.0} µs slice",
                load_name(BATCH_LOAD),
                share(p1) * 100.0,
                share(p4) * 100.0,
                p99(p1),
                p99(p4)
            ),
            holds: (share(p1) - 0.5).abs() < 0.03
                && (share(p4) - 0.8).abs() < 0.03
                && p99(p1) > SLICE_US / 2.0
                && p99(p1) < SLICE_US * 1.5,
        });
    }
    if let (Some(i1), Some(i4), Some(alone)) =
        (get_b(vs, "interrupt", 100), get_b(vs, "interrupt", 400), get("interrupt", 0, BATCH_LOAD))
    {
        let p50 = |m: &Value| us(m, "latency_ns.p50");
        f.push(Finding {
            claim: format!(
                "interrupt at {} sharing core 1 with a batch job: each wakeup waits for the batch thread's slice to end (a woken task does not preempt one that has not used its slice, EEVDF's RUN_TO_PARITY), so the median latency goes from {:.1} µs alone to {:.0} µs — and to {:.0} µs at weight 400: cpu.weight buys CPU time, not a shorter wait — while the driver needs only {:.1}% of the core",
                load_name(BATCH_LOAD),
                p50(alone),
                p50(i1),
                p50(i4),
                num(i1, "cgroup.0.usage_ns") / 1e7 / num(i1, "duration_s").max(1e-12)
            ),
            holds: enough(i1)
                && p50(i1) > 20.0 * p50(alone)
                && p50(i1) < SLICE_US
                && (p50(i4) - p50(i1)).abs() < 0.1 * p50(i1),
        });
    }
    // 5. A throttled interrupt-driven driver at low load is not throttled:
    //    its demand is below the quota.
    if let Some(m) = get("interrupt", 20, LOADS[1]) {
        f.push(Finding {
            claim: format!(
                "interrupt at {} under cpu.max 20%: it needs {:.1}% of a core, so it is throttled in {} periods and keeps a p99 of {:.1} µs",
                load_name(LOADS[1]),
                num(m, "cgroup.0.usage_ns") / 1e7 / num(m, "duration_s").max(1e-12),
                num(m, "cgroup.0.nr_throttled"),
                p99(m)
            ),
            holds: enough(m) && num(m, "cgroup.0.nr_throttled") == 0.0 && p99(m) < 100.0,
        });
    }
    f
}
