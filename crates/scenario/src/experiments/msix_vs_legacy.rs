//! `msix-vs-legacy`: INTx, MSI and MSI-X at 1–16 cores under a load above one
//! core's capacity.
//!
//! With MSI-X each queue has its own vector, spread over the cores; with MSI
//! or INTx the whole NIC has one vector on one core, whose handler must
//! service every queue. Application threads are spread over all cores in
//! every variant. Findings compare delivered throughput and CPU per packet.

use crate::experiment::{
    Column, Experiment, Finding, Ratio, Settings, Variant, VariantResult, by_name, col, mpps, num, per_packet,
    readers_on, run_model,
};

const CORES: [u32; 5] = [1, 2, 4, 8, 16];
const RX_USECS: u32 = 20;
const MODES: [&str; 3] = ["intx", "msi", "msix"];

pub fn experiment() -> Experiment {
    Experiment {
        name: "msix-vs-legacy",
        description: "INTx vs MSI vs MSI-X (spread affinity) at 1, 2, 4, 8, 16 cores, 10 GbE line rate of 64-byte frames, rx-usecs 20",
        base,
        variants,
        run: run_model,
        columns,
        findings,
    }
}

/// 10 GbE line rate of 64-byte frames over 256 flows, evenly spaced; queue
/// interrupts spread over the cores; moderate interrupt coalescing, as NIC
/// drivers default to (e.g. igb rx-usecs 3, ixgbe adaptive ITR) — without it
/// every mode spends much of its CPU on interrupts and wakeups.
fn base(quick: bool) -> Settings {
    Settings::new()
        .set("duration_ms", if quick { 30.0 } else { 100.0 })
        .set("workload.flows", 256)
        .set("workload.arrival", "constant")
        .set("workload.rate_pps", 14_880_952.0)
        .set("nic.affinity_policy", "spread")
        .set("nic.coalesce.rx_usecs", RX_USECS)
        .set("nic.coalesce.rx_frames", 0)
}

fn variants(_quick: bool) -> Vec<Variant> {
    let mut out = Vec::new();
    for mode in MODES {
        for cores in CORES {
            out.push(
                Variant::new(format!("{mode}/{cores}"))
                    .set("name", format!("msix-vs-legacy/{mode}/{cores}"))
                    .set("machine.cores", cores)
                    .set("nic.queues", cores)
                    .set("nic.interrupt_mode", mode)
                    // One reader per core; flows dealt round-robin, whatever the interrupt mode.
                    .set("apps", readers_on(0..cores)),
            );
        }
    }
    out
}

fn columns() -> Vec<Column> {
    vec![
        Column { header: "delivered Mpps", cell: |v| mpps(num(&v.metrics, "throughput.delivered_pps")) },
        col::cpu_ns_per_pkt(),
        Column { header: "ints/pkt", cell: |v| per_packet(&v.metrics, "interrupts.per_packet").show(4) },
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

fn findings(vs: &[VariantResult]) -> Vec<Finding> {
    let rate = |mode: &str, cores: u32| {
        by_name(vs, &format!("{mode}/{cores}")).map_or(f64::NAN, |v| num(&v.metrics, "throughput.delivered_pps"))
    };
    let series = |mode: &str| CORES.iter().map(|c| rate(mode, *c)).collect::<Vec<f64>>();
    let list = |xs: &[f64]| xs.iter().map(|x| mpps(*x)).collect::<Vec<_>>().join(", ");
    let mut f = Vec::new();
    let (x8, i8) = (rate("msix", 8), rate("intx", 8));
    f.push(Finding {
        claim: format!(
            "at 8 cores MSI-X delivers {} Mpps, {:.1}× INTx's {} Mpps (one vector per queue spreads the work)",
            mpps(x8),
            x8 / i8,
            mpps(i8)
        ),
        holds: x8 >= 4.0 * i8,
    });
    let intx = series("intx");
    let (lo, hi) = intx.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), x| (lo.min(*x), hi.max(*x)));
    f.push(Finding {
        claim: format!(
            "INTx stays near one core's capacity as cores are added ({} Mpps at 1/2/4/8/16 cores; max/min {:.2})",
            list(&intx),
            hi / lo
        ),
        holds: hi / lo <= 1.5,
    });
    let msi = series("msi");
    let worst = msi.iter().zip(&intx).map(|(m, i)| (m / i - 1.0).abs()).fold(0.0f64, f64::max);
    f.push(Finding {
        claim: format!(
            "MSI, also one vector on one core, tracks INTx ({} Mpps; at most {:.0}% apart)",
            list(&msi),
            100.0 * worst
        ),
        holds: worst <= 0.3,
    });
    let msix = series("msix");
    let grows = msix.windows(2).all(|w| w[1] >= 0.95 * w[0]);
    f.push(Finding {
        claim: format!("MSI-X throughput grows with cores until the offered load is met ({} Mpps)", list(&msix)),
        holds: grows && msix[msix.len() - 1] > 2.0 * msix[0],
    });
    f
}
