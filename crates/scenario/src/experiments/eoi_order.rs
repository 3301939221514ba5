//! `eoi-order`: the order of clearing a device's interrupt cause and the EOI,
//! on level and edge IO-APIC lines and on MSI.
//!
//! The NIC signals through one interrupt; its driver either reads (clears)
//! the cause register before the EOI (`after_clear`, correct) or EOIs on
//! entry and leaves the cause for the NAPI poll (`before_clear`). On a level
//! line the second order makes the IO-APIC re-deliver at once, the handler
//! finds nothing new (`IRQ_NONE`), and Linux's "nobody cared" rule disables
//! the line after 99,900 of 100,000 unhandled interrupts, then polls it every
//! 100 ms. Findings compare interrupts per device event, hard-IRQ CPU, whether
//! the line was disabled, and delivered throughput.

use crate::experiment::{
    Column, Experiment, Finding, Ratio, Settings, Variant, VariantResult, by_name, col, judge, num, run_model,
};
use serde_json::Value;

const RATE_PPS: f64 = 100_000.0;

pub fn experiment() -> Experiment {
    Experiment {
        name: "eoi-order",
        description: "clear-then-EOI vs EOI-first on level and edge IO-APIC lines and on MSI: storms, nobody cared, throughput",
        base,
        variants,
        run: run_model,
        columns,
        findings,
    }
}

/// Two cores, four queues behind the NIC's one interrupt, 100 kpps; long
/// enough for a storm to reach the 100,000-interrupt window and the disabled
/// line to be polled a few times.
fn base(quick: bool) -> Settings {
    Settings::new()
        .set("duration_ms", if quick { 250.0 } else { 600.0 })
        .set("machine.cores", 2)
        .set("nic.queues", 4)
        .set("workload.rate_pps", RATE_PPS)
}

/// A way of signalling: its name, `nic.interrupt_mode`, `nic.intx_trigger`
/// (INTx only), `kernel.level_flow`, and QEMU's successive-IRQ limiter.
type Line = (&'static str, &'static str, Option<&'static str>, &'static str, bool);

const LINES: [Line; 5] = [
    ("intx-level", "intx", Some("level"), "fasteoi", false),
    ("intx-level/qemu-limiter", "intx", Some("level"), "fasteoi", true),
    ("intx-level/handle_level_irq", "intx", Some("level"), "level", false),
    ("intx-edge", "intx", Some("edge"), "fasteoi", false),
    ("msi", "msi", None, "fasteoi", false),
];

fn variants(_quick: bool) -> Vec<Variant> {
    let mut out = Vec::new();
    for (line, mode, trigger, level_flow, limiter) in LINES {
        for order in ["after_clear", "before_clear"] {
            let mut v = Variant::new(format!("{line}/{order}"))
                .set("name", format!("eoi-order/{line}/{order}"))
                .set("nic.interrupt_mode", mode);
            if let Some(trigger) = trigger {
                v = v.set("nic.intx_trigger", trigger);
            }
            out.push(
                v.set("driver.level_eoi", order)
                    .set("kernel.level_flow", level_flow)
                    .set("machine.ioapic_successive_irq_limit", limiter),
            );
        }
    }
    out
}

/// Device events: queue interrupts the NIC raised through its one IRQ.
fn device_events(m: &Value) -> f64 {
    num(m, "interrupts.intx_raised") + num(m, "interrupts.msi_cap.raised")
}

/// Interrupts taken per device event.
fn per_event(m: &Value) -> Ratio {
    let events = device_events(m);
    Ratio::new(num(m, "interrupts.total") / events.max(1.0), events, "device events")
}

/// Share of the interrupts taken that no handler claimed.
fn unhandled_share(m: &Value) -> Ratio {
    let total = num(m, "interrupts.total");
    Ratio::new(num(m, "interrupts.unhandled") / total.max(1.0), total, "interrupts")
}

/// Share of the offered packets delivered.
fn delivered_share(m: &Value) -> Ratio {
    let offered = num(m, "packets.offered");
    Ratio::new(num(m, "packets.delivered") / offered.max(1.0), offered, "offered packets")
}

fn hardirq_core_frac(m: &Value) -> f64 {
    m["cpu"].as_array().map_or(f64::NAN, |c| c.iter().map(|c| num(c, "busy_frac.hardirq")).sum())
}

fn disabled_at(m: &Value) -> Option<f64> {
    m["interrupts"]["per_vector"].as_array()?.iter().find_map(|v| v["disabled_at_ms"].as_f64())
}

fn columns() -> Vec<Column> {
    vec![
        Column { header: "ints/event", cell: |v| per_event(&v.metrics).show(2) },
        Column { header: "unhandled", cell: |v| format!("{}", num(&v.metrics, "interrupts.unhandled")) },
        Column { header: "hardirq (core %)", cell: |v| format!("{:.1}%", 100.0 * hardirq_core_frac(&v.metrics)) },
        Column {
            header: "line disabled",
            cell: |v| disabled_at(&v.metrics).map_or("no".into(), |t| format!("at {t:.1} ms")),
        },
        col::delivered_kpps(),
        col::p99_us(),
    ]
}

fn findings(vs: &[VariantResult]) -> Vec<Finding> {
    let get = |n: &str| by_name(vs, n).map(|v| &v.metrics);
    let mut f = Vec::new();
    if let (Some(good), Some(bad)) = (get("intx-level/after_clear"), get("intx-level/before_clear")) {
        let storm = per_event(bad);
        let unhandled = unhandled_share(bad);
        let at = disabled_at(bad);
        f.push(judge(
            format!(
                "level line, EOI first: {} interrupts ({} per device event), {} unhandled; {}",
                num(bad, "interrupts.total"),
                storm.show(0),
                unhandled.times(100.0).show_pct(2),
                at.map_or("the line was never disabled".into(), |t| format!(
                    "\"nobody cared\" disabled the line at {t:.1} ms"
                ))
            ),
            &[("intx-level/before_clear", unhandled)],
            // The storm: at least the spurious window of interrupts, nearly all unclaimed.
            || num(bad, "interrupts.total") >= 100_000.0 && unhandled.get() > 0.999 && at.is_some(),
        ));
        let ratio = Ratio::new(
            num(bad, "throughput.delivered_pps") / num(good, "throughput.delivered_pps"),
            num(good, "packets.delivered"),
            "delivered packets",
        );
        f.push(judge(
            format!(
                "after the line is disabled the device is only polled every 100 ms: {:.1} kpps delivered, {} of the correct order's {:.1} kpps",
                num(bad, "throughput.delivered_pps") / 1e3,
                ratio.times(100.0).show_pct(1),
                num(good, "throughput.delivered_pps") / 1e3
            ),
            &[("intx-level/after_clear", ratio)],
            || ratio.get() < 0.5,
        ));
        let ok = per_event(good);
        f.push(judge(
            format!(
                "level line, cause cleared before the EOI: {} interrupts per device event, {} unhandled, line {}",
                ok.show(2),
                num(good, "interrupts.unhandled"),
                if disabled_at(good).is_some() { "disabled" } else { "never disabled" }
            ),
            &[("intx-level/after_clear", ok)],
            || (0.5..=1.1).contains(&ok.get()) && disabled_at(good).is_none(),
        ));
    }
    if let (Some(a), Some(b)) = (get("msi/after_clear"), get("msi/before_clear")) {
        let (pa, pb) = (per_event(a), per_event(b));
        let (da, db) = (num(a, "throughput.delivered_pps"), num(b, "throughput.delivered_pps"));
        f.push(judge(
            format!(
                "MSI is unaffected by the order: {} vs {} interrupts per device event, {:.1} vs {:.1} kpps delivered, no line disabled",
                pa.show(2),
                pb.show(2),
                da / 1e3,
                db / 1e3
            ),
            &[("msi/after_clear", pa), ("msi/before_clear", pb)],
            || {
                let (pa, pb) = (pa.get(), pb.get());
                let same = (pa - pb).abs() <= 0.1 * pa.max(pb) && (da - db).abs() <= 0.05 * da.max(db);
                same && disabled_at(a).is_none() && disabled_at(b).is_none()
            },
        ));
    }
    if let (Some(fast), Some(lvl)) = (get("intx-level/before_clear"), get("intx-level/handle_level_irq/before_clear")) {
        let total = num(lvl, "interrupts.total");
        let unhandled_pct = Ratio::new(100.0 * num(lvl, "interrupts.unhandled") / total.max(1.0), total, "interrupts");
        let (pl, pf) = (per_event(lvl), per_event(fast));
        f.push(judge(
            format!(
                "handle_level_irq masks the line while the handler runs, so the EOI cannot re-deliver into it: with the cause left set, {} interrupts per device event ({} unhandled, line {}) instead of fasteoi's {}",
                pl.show(1),
                unhandled_pct.show_pct(0),
                if disabled_at(lvl).is_some() { "disabled" } else { "never disabled" },
                pf.show(0)
            ),
            &[("intx-level/handle_level_irq/before_clear", pl), ("intx-level/before_clear", pf)],
            || pl.get() < pf.get() && disabled_at(lvl).is_none(),
        ));
    }
    if let (Some(plain), Some(lim)) = (get("intx-level/before_clear"), get("intx-level/qemu-limiter/before_clear")) {
        f.push(Finding {
            claim: format!(
                "QEMU's successive-IRQ limiter pauses the storm {} times (10 ms after each 10,000 re-deliveries); the line is {} ({}), and {:.1} kpps get through vs {:.1} kpps without it",
                num(lim, "interrupts.ioapic.limiter_delays"),
                if disabled_at(lim).is_some() { "still disabled" } else { "not disabled" },
                disabled_at(lim).map_or("-".into(), |t| format!("at {t:.1} ms")),
                num(lim, "throughput.delivered_pps") / 1e3,
                num(plain, "throughput.delivered_pps") / 1e3
            ),
            holds: num(lim, "interrupts.ioapic.limiter_delays") > 0.0,
        });
    }
    if let (Some(good), Some(bad)) = (get("intx-edge/after_clear"), get("intx-edge/before_clear")) {
        let (per, share) = (per_event(bad), delivered_share(bad));
        let good_total = num(good, "packets.offered");
        let good_pct =
            Ratio::new(100.0 * num(good, "packets.delivered") / good_total.max(1.0), good_total, "offered packets");
        f.push(judge(
            format!(
                "edge line, cause left set: no storm ({} interrupts per device event) but lost interrupts — the line never falls, so no new edge: {} of offered packets delivered vs {} with the cause cleared",
                per.show(2),
                share.times(100.0).show_pct(1),
                good_pct.show_pct(1)
            ),
            &[("intx-edge/before_clear", per), ("intx-edge/before_clear", share)],
            || per.get() <= 1.1 && share.get() < 0.5,
        ));
    }
    f
}
