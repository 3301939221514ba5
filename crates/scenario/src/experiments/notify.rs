//! `notify`: how the reader learns that data is ready — blocking recv,
//! epoll, eventfd, signals (standard and real-time) and io_uring (plain,
//! with a registered eventfd, and waiting for 16 completions) — at a low
//! and a high packet rate.
//!
//! Two cores, one queue interrupting core 0, one reader on core 1 that owns
//! all 16 flows. Findings compare wakeups per packet, notification CPU per
//! wakeup and per packet, total CPU per packet and latency.

use crate::experiment::{Column, Experiment, Finding, Variant, VariantResult, by_name, col, num, params};
use irqlab_model::Scenario;
use irqlab_model::config::{AppConfig, IoUringConfig, NotifyKind, SignalKind};
use serde_json::json;

const RATES: [(&str, f64); 2] = [("low", 50_000.0), ("high", 1_500_000.0)];

struct Mech {
    name: &'static str,
    notify: NotifyKind,
    signal: SignalKind,
    uring: IoUringConfig,
}

fn mechanisms() -> Vec<Mech> {
    let plain = IoUringConfig::default();
    vec![
        Mech {
            name: "blocking_recv",
            notify: NotifyKind::BlockingRecv,
            signal: SignalKind::Standard,
            uring: plain.clone(),
        },
        Mech { name: "epoll", notify: NotifyKind::Epoll, signal: SignalKind::Standard, uring: plain.clone() },
        Mech { name: "eventfd", notify: NotifyKind::Eventfd, signal: SignalKind::Standard, uring: plain.clone() },
        Mech { name: "signal", notify: NotifyKind::Signal, signal: SignalKind::Standard, uring: plain.clone() },
        Mech { name: "signal-rt", notify: NotifyKind::Signal, signal: SignalKind::Realtime, uring: plain.clone() },
        Mech { name: "io_uring", notify: NotifyKind::IoUring, signal: SignalKind::Standard, uring: plain },
        Mech {
            name: "io_uring+eventfd",
            notify: NotifyKind::IoUring,
            signal: SignalKind::Standard,
            uring: IoUringConfig { eventfd: true, wait_nr: 1 },
        },
        Mech {
            name: "io_uring/wait16",
            notify: NotifyKind::IoUring,
            signal: SignalKind::Standard,
            uring: IoUringConfig { eventfd: false, wait_nr: 16 },
        },
    ]
}

pub fn experiment() -> Experiment {
    Experiment {
        name: "notify",
        description: "blocking recv vs epoll vs eventfd vs signals vs io_uring, at 50 kpps and 1.5 Mpps (reader on another core)",
        variants,
        columns,
        findings,
    }
}

fn variants(quick: bool) -> Vec<Variant> {
    let d = if quick { 20.0 } else { 100.0 };
    let mut out = Vec::new();
    for (level, rate) in RATES {
        for mech in mechanisms() {
            let mut s = Scenario::default();
            s.duration_ms = d;
            s.machine.cores = 2;
            s.nic.queues = 1;
            s.workload.flows = 16;
            s.workload.rate_pps = Some(rate);
            let mut app = AppConfig::on_core(1);
            app.notify = mech.notify;
            app.signal = mech.signal;
            app.io_uring = mech.uring.clone();
            s.apps = vec![app];
            out.push(Variant::model(
                format!("{}/{level}", mech.name),
                params([
                    ("apps[0].notify", json!(mech.name.split(['/', '+', '-']).next().unwrap_or(mech.name))),
                    ("apps[0].signal", json!(format!("{:?}", mech.signal).to_lowercase())),
                    ("apps[0].io_uring.eventfd", json!(mech.uring.eventfd)),
                    ("apps[0].io_uring.wait_nr", json!(mech.uring.wait_nr)),
                    ("workload.rate_pps", json!(rate)),
                ]),
                s,
            ));
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
