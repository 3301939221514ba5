//! `notify`: how the reader learns that data is ready — blocking recv,
//! epoll, eventfd, signals (standard and real-time) and io_uring (plain,
//! with a registered eventfd, and waiting for 16 completions) — at a low
//! and a high packet rate.
//!
//! Two cores, one queue interrupting core 0, one reader on core 1 that owns
//! all 16 flows. Findings compare wakeups per packet, notification CPU per
//! wakeup and per packet, total CPU per packet and latency.

use crate::experiment::{Column, Experiment, Finding, Settings, Variant, VariantResult, by_name, col, num, run_model};
use serde_json::json;

const RATES: [(&str, f64); 2] = [("low", 50_000.0), ("high", 1_500_000.0)];

/// A notification mechanism: its name and the reader's `notify`, `signal`,
/// `io_uring.eventfd` and `io_uring.wait_nr`.
type Mech = (&'static str, &'static str, &'static str, bool, u32);

const MECHANISMS: [Mech; 8] = [
    ("blocking_recv", "blocking_recv", "standard", false, 0),
    ("epoll", "epoll", "standard", false, 0),
    ("eventfd", "eventfd", "standard", false, 0),
    ("signal", "signal", "standard", false, 0),
    ("signal-rt", "signal", "realtime", false, 0),
    ("io_uring", "io_uring", "standard", false, 0),
    ("io_uring+eventfd", "io_uring", "standard", true, 1),
    ("io_uring/wait16", "io_uring", "standard", false, 16),
];

pub fn experiment() -> Experiment {
    Experiment {
        name: "notify",
        description: "blocking recv vs epoll vs eventfd vs signals vs io_uring, at 50 kpps and 1.5 Mpps (reader on another core)",
        base,
        variants,
        run: run_model,
        columns,
        findings,
    }
}

/// Two cores, one queue (its interrupt on core 0 by default), 16 flows, one
/// reader on core 1.
fn base(quick: bool) -> Settings {
    Settings::new()
        .set("duration_ms", if quick { 20.0 } else { 100.0 })
        .set("machine.cores", 2)
        .set("nic.queues", 1)
        .set("workload.flows", 16)
        .set("apps", json!([{"core": 1}]))
}

fn variants(_quick: bool) -> Vec<Variant> {
    let mut out = Vec::new();
    for (level, rate) in RATES {
        for (name, notify, signal, eventfd, wait_nr) in MECHANISMS {
            out.push(
                Variant::new(format!("{name}/{level}"))
                    .set("apps[0].notify", notify)
                    .set("apps[0].signal", signal)
                    .set("apps[0].io_uring.eventfd", eventfd)
                    .set("apps[0].io_uring.wait_nr", wait_nr)
                    .set("workload.rate_pps", rate),
            );
        }
    }
    out
}

fn columns() -> Vec<Column> {
    vec![
        col::delivered_kpps(),
        Column { header: "wakeups/pkt", cell: |v| format!("{:.3}", num(&v.metrics, "apps.wakeups_per_packet")) },
        Column {
            header: "notify ns/wakeup",
            cell: |v| format!("{:.0}", num(&v.metrics, "apps.notify_cpu_ns_per_wakeup")),
        },
        Column {
            header: "notify ns/pkt",
            cell: |v| format!("{:.0}", num(&v.metrics, "apps.notify_cpu_ns_per_packet")),
        },
        col::cpu_ns_per_pkt(),
        col::p50_us(),
        col::p99_us(),
        Column { header: "signals", cell: |v| format!("{}", num(&v.metrics, "apps.signal_deliveries")) },
    ]
}

fn findings(vs: &[VariantResult]) -> Vec<Finding> {
    let get = |n: &str| by_name(vs, n).map(|v| &v.metrics);
    let mut f = Vec::new();
    let wk = |n: &str| get(n).map_or(f64::NAN, |m| num(m, "apps.wakeups_per_packet"));
    let (u, e) = (wk("io_uring/high"), wk("eventfd/high"));
    f.push(Finding {
        claim: format!(
            "at 1.5 Mpps io_uring makes {u:.3} and eventfd {e:.3} wakeups per packet (one wakeup serves many packets); at 50 kpps {:.3} and {:.3}",
            wk("io_uring/low"),
            wk("eventfd/low")
        ),
        holds: u < 0.2 && e < 0.2,
    });
    let per_wk = |n: &str| get(n).map_or(f64::NAN, |m| num(m, "apps.notify_cpu_ns_per_wakeup"));
    for level in ["low", "high"] {
        let (sig, efd) = (per_wk(&format!("signal/{level}")), per_wk(&format!("eventfd/{level}")));
        f.push(Finding {
            claim: format!(
                "{level} rate: a handler signal costs {sig:.0} ns of notification CPU per wakeup, an eventfd wakeup {efd:.0} ns"
            ),
            holds: sig > efd,
        });
    }
    if let (Some(std), Some(rt)) = (get("signal/high"), get("signal-rt/high")) {
        f.push(Finding {
            claim: format!(
                "at 1.5 Mpps standard SIGIO coalesces ({} signals coalesced, {} deliveries) while real-time signals queue one per event ({} deliveries)",
                num(std, "apps.signals_coalesced"),
                num(std, "apps.signal_deliveries"),
                num(rt, "apps.signal_deliveries")
            ),
            holds: num(rt, "apps.signal_deliveries") > num(std, "apps.signal_deliveries"),
        });
    }
    if let (Some(w1), Some(w16)) = (get("io_uring/low"), get("io_uring/wait16/low")) {
        f.push(Finding {
            claim: format!(
                "io_uring waiting for 16 completions trades latency for wakeups at 50 kpps: p50 {:.1} → {:.1} µs, wakeups per packet {:.3} → {:.3}",
                num(w1, "latency_ns.p50") / 1e3,
                num(w16, "latency_ns.p50") / 1e3,
                num(w1, "apps.wakeups_per_packet"),
                num(w16, "apps.wakeups_per_packet")
            ),
            holds: num(w16, "apps.wakeups_per_packet") < num(w1, "apps.wakeups_per_packet")
                && num(w16, "latency_ns.p50") > num(w1, "latency_ns.p50"),
        });
    }
    f
}
