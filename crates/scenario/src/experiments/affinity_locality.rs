//! `affinity-locality`: where the application runs relative to the IRQ.
//!
//! Two sockets of four cores; one RX queue whose interrupt goes to core 0;
//! one reader for all flows, placed on core 0 (the IRQ's core), core 1 (same
//! socket) or core 4 (the other socket). Flow and socket state, and the
//! packet data the reader copies, move between caches when the reader is
//! elsewhere — more across sockets.
//!
//! Two loads: a light one, and a high one that the IRQ's core still carries
//! with the reader on it — the question is what locality costs, not what
//! happens to a core that cannot keep up. One core carrying the interrupts,
//! the softirq and a reader's `recvmsg` (≈450 ns per datagram) saturates near
//! 650 kpps, so the high load is 500 kpps, about three quarters of that.

use crate::experiment::{
    Column, Experiment, Finding, Settings, Variant, VariantResult, by_name, col, cpu_ns_per_packet, judge, num,
    per_packet, readers_on, run_model,
};

const PLACEMENTS: [(&str, u32); 3] = [("irq-core", 0), ("same-socket", 1), ("remote-socket", 4)];
const RATES: [f64; 2] = [100_000.0, 500_000.0];

pub fn experiment() -> Experiment {
    Experiment {
        name: "affinity-locality",
        description: "reader on the IRQ's core vs another core of its socket vs the other socket (2×4 cores, 1 queue), at 100 and 500 kpps (the IRQ's core, reader included, saturates near 650 kpps)",
        base,
        variants,
        run: run_model,
        columns,
        findings,
    }
}

/// Two sockets of four cores, one queue (its interrupt on core 0 by
/// default), one reader.
fn base(quick: bool) -> Settings {
    Settings::new()
        .set("duration_ms", if quick { 30.0 } else { 200.0 })
        .set("machine.cores", 8)
        .set("machine.sockets", 2)
        .set("nic.queues", 1)
        .set("apps", readers_on([0]))
}

fn variants(_quick: bool) -> Vec<Variant> {
    let mut out = Vec::new();
    for rate in RATES {
        for (place, core) in PLACEMENTS {
            out.push(
                Variant::new(format!("{place}/{}k", rate / 1e3))
                    .set("apps[0].core", core)
                    .set("workload.rate_pps", rate),
            );
        }
    }
    out
}

fn columns() -> Vec<Column> {
    vec![
        col::delivered_kpps(),
        col::p50_us(),
        col::p99_us(),
        col::cpu_ns_per_pkt(),
        Column { header: "handoffs/pkt", cell: |v| per_packet(&v.metrics, "steering.handoffs_per_packet").show(2) },
        Column { header: "cross-socket", cell: |v| format!("{}", num(&v.metrics, "steering.cross_socket_handoffs")) },
    ]
}

fn findings(vs: &[VariantResult]) -> Vec<Finding> {
    let mut f = Vec::new();
    for rate in RATES {
        let k = rate / 1e3;
        let m = |p: &str| by_name(vs, &format!("{p}/{k}k")).map(|v| &v.metrics);
        let (Some(a), Some(b), Some(c)) = (m("irq-core"), m("same-socket"), m("remote-socket")) else { continue };
        let (ca, cb, cc) = (cpu_ns_per_packet(a), cpu_ns_per_packet(b), cpu_ns_per_packet(c));
        let (na, nb, nc) = (format!("irq-core/{k}k"), format!("same-socket/{k}k"), format!("remote-socket/{k}k"));
        f.push(judge(
            format!(
                "{k} kpps: CPU per packet {} ns on the IRQ's core, {} ns on the same socket, {} ns across sockets",
                ca.show(0),
                cb.show(0),
                cc.show(0)
            ),
            &[(&na, ca), (&nb, cb), (&nc, cc)],
            || cb.get() > ca.get() && cc.get() > cb.get(),
        ));
        let (la, lb, lc) = (num(a, "latency_ns.p50"), num(b, "latency_ns.p50"), num(c, "latency_ns.p50"));
        let best = [("the IRQ's core", la), ("the same socket", lb), ("the other socket", lc)]
            .into_iter()
            .fold(("", f64::INFINITY), |acc, x| if x.1 < acc.1 { x } else { acc });
        f.push(Finding {
            claim: format!(
                "{k} kpps: median latency {:.2} / {:.2} / {:.2} µs (IRQ core / same socket / other socket); lowest with the reader on {}",
                la / 1e3,
                lb / 1e3,
                lc / 1e3,
                best.0
            ),
            holds: lc >= lb,
        });
    }
    f
}
