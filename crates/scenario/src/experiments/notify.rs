//! `notify`: how the reader learns that data is ready — blocking recv,
//! epoll, eventfd, signals (standard and real-time, to a handler, and
//! taken with `sigwaitinfo`) and io_uring (plain, with a registered
//! eventfd, and waiting for 16 completions) — at a low and a high packet
//! rate.
//!
//! Two cores, one queue interrupting core 0, one reader on core 1 that owns
//! all 16 flows. Findings compare wakeups per packet, notification CPU per
//! wakeup and per packet, total CPU per packet and latency.

use crate::experiment::{
    Column, Experiment, Finding, Ratio, Settings, Variant, VariantResult, by_name, col, judge, num, per_packet,
    readers_on, run_model,
};
use serde_json::Value;

const RATES: [(&str, f64); 2] = [("low", 50_000.0), ("high", 1_500_000.0)];

/// A notification mechanism: its name and the reader's `notify`, `signal`,
/// `io_uring.eventfd` and `io_uring.wait_nr`.
type Mech = (&'static str, &'static str, &'static str, bool, u32);

const MECHANISMS: [Mech; 9] = [
    ("blocking_recv", "blocking_recv", "standard", false, 0),
    ("epoll", "epoll", "standard", false, 0),
    ("eventfd", "eventfd", "standard", false, 0),
    ("signal", "signal", "standard", false, 0),
    ("signal-rt", "signal", "realtime", false, 0),
    ("sigwaitinfo", "sigwaitinfo", "standard", false, 0),
    ("io_uring", "io_uring", "standard", false, 0),
    ("io_uring+eventfd", "io_uring", "standard", true, 1),
    ("io_uring/wait16", "io_uring", "standard", false, 16),
];

pub fn experiment() -> Experiment {
    Experiment {
        name: "notify",
        description: "blocking recv vs epoll vs eventfd vs signals (handler, sigwaitinfo) vs io_uring, at 50 kpps and 1.5 Mpps (reader on another core)",
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
        .set("apps", readers_on([1]))
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

/// Notification CPU per wakeup.
fn per_wakeup(m: &Value) -> Ratio {
    Ratio::new(num(m, "apps.notify_cpu_ns_per_wakeup"), num(m, "apps.wakeups"), "wakeups")
}

fn columns() -> Vec<Column> {
    vec![
        col::delivered_kpps(),
        Column { header: "wakeups/pkt", cell: |v| per_packet(&v.metrics, "apps.wakeups_per_packet").show(3) },
        Column { header: "notify ns/wakeup", cell: |v| per_wakeup(&v.metrics).show(0) },
        Column { header: "notify ns/pkt", cell: |v| per_packet(&v.metrics, "apps.notify_cpu_ns_per_packet").show(0) },
        col::cpu_ns_per_pkt(),
        col::p50_us(),
        col::p99_us(),
        Column { header: "signals", cell: |v| format!("{}", num(&v.metrics, "apps.signal_deliveries")) },
    ]
}

fn findings(vs: &[VariantResult]) -> Vec<Finding> {
    let get = |n: &str| by_name(vs, n).map(|v| &v.metrics);
    let missing = Ratio::new(f64::NAN, f64::NAN, "samples");
    let mut f = Vec::new();
    let wk = |n: &str| get(n).map_or(missing, |m| per_packet(m, "apps.wakeups_per_packet"));
    let (u, e) = (wk("io_uring/high"), wk("eventfd/high"));
    f.push(judge(
        format!(
            "at 1.5 Mpps io_uring makes {} and eventfd {} wakeups per packet (one wakeup serves many packets); at 50 kpps {} and {}",
            u.show(3),
            e.show(3),
            wk("io_uring/low").show(3),
            wk("eventfd/low").show(3)
        ),
        &[("io_uring/high", u), ("eventfd/high", e)],
        || u.get() < 0.2 && e.get() < 0.2,
    ));
    let per_wk = |n: &str| get(n).map_or(missing, per_wakeup);
    for level in ["low", "high"] {
        let (ns, ne) = (format!("signal/{level}"), format!("eventfd/{level}"));
        let (sig, efd) = (per_wk(&ns), per_wk(&ne));
        f.push(judge(
            format!(
                "{level} rate: a handler signal costs {} ns of notification CPU per wakeup, an eventfd wakeup {} ns",
                sig.show(0),
                efd.show(0)
            ),
            &[(&ns, sig), (&ne, efd)],
            || sig.get() > efd.get(),
        ));
    }
    for level in ["low", "high"] {
        let (nw, ns) = (format!("sigwaitinfo/{level}"), format!("signal/{level}"));
        let (wait, handler) = (per_wk(&nw), per_wk(&ns));
        f.push(judge(
            format!(
                "{level} rate: taking the signal with sigwaitinfo costs {} ns of notification CPU per wakeup, a handler {} ns (no signal frame, no sigreturn)",
                wait.show(0),
                handler.show(0)
            ),
            &[(&nw, wait), (&ns, handler)],
            || wait.get() < handler.get(),
        ));
    }
    // The reader on CPU 1 is woken when the softirq on CPU 0 has done the
    // notification's work (for a signal, send_signal's queueing), then
    // after the IPI and idle exit: at 50 kpps, where each packet wakes it,
    // the median latency shows the difference.
    if let (Some(efd), Some(wait), Some(handler)) = (get("eventfd/low"), get("sigwaitinfo/low"), get("signal/low")) {
        let p50 = |m: &Value| num(m, "latency_ns.p50");
        let wk = |m: &Value| per_packet(m, "apps.wakeups_per_packet");
        f.push(judge(
            format!(
                "at 50 kpps a signal's queueing before the cross-core wakeup delays the reader: p50 {:.2} µs with eventfd, {:.2} µs with sigwaitinfo (+{:.2}), {:.2} µs with a handler (+{:.2})",
                p50(efd) / 1e3,
                p50(wait) / 1e3,
                (p50(wait) - p50(efd)) / 1e3,
                p50(handler) / 1e3,
                (p50(handler) - p50(efd)) / 1e3
            ),
            &[("eventfd/low", wk(efd)), ("sigwaitinfo/low", wk(wait)), ("signal/low", wk(handler))],
            || p50(efd) < p50(wait) && p50(wait) < p50(handler),
        ));
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
        let (r1, r16) = (per_packet(w1, "apps.wakeups_per_packet"), per_packet(w16, "apps.wakeups_per_packet"));
        f.push(judge(
            format!(
                "io_uring waiting for 16 completions trades latency for wakeups at 50 kpps: p50 {:.1} → {:.1} µs, wakeups per packet {} → {}",
                num(w1, "latency_ns.p50") / 1e3,
                num(w16, "latency_ns.p50") / 1e3,
                r1.show(3),
                r16.show(3)
            ),
            &[("io_uring/low", r1), ("io_uring/wait16/low", r16)],
            || r16.get() < r1.get() && num(w16, "latency_ns.p50") > num(w1, "latency_ns.p50"),
        ));
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn variant(name: &str, ns_per_wakeup: f64, wakeups: u64) -> VariantResult {
        VariantResult {
            name: name.into(),
            params: Default::default(),
            metrics: json!({"apps": {"notify_cpu_ns_per_wakeup": ns_per_wakeup, "wakeups": wakeups}}),
        }
    }

    #[test]
    fn a_cost_per_wakeup_from_three_wakeups_is_neither_shown_nor_judged() {
        let vs = [variant("signal/high", 28_981_300.0, 3), variant("eventfd/high", 1400.0, 5000)];
        let cell = (columns()[2].cell)(&vs[0]);
        assert_eq!(cell, "n/a");
        let high = findings(&vs).into_iter().find(|f| f.claim.starts_with("high rate")).unwrap();
        assert!(!high.holds, "{}", high.claim);
        assert!(high.claim.contains("costs n/a ns"), "{}", high.claim);
        assert!(
            high.claim.ends_with("not judged: signal/high has 3 wakeups, fewer than the 100 samples a ratio needs")
        );
    }
}
