//! `napi-livelock`: receive livelock without NAPI, and NAPI's plateau.
//!
//! One core, one queue, an offered-load sweep. Without NAPI every interrupt
//! runs the driver's receive loop at hard-IRQ priority and queues packets
//! with `netif_rx`; protocol processing and the application only get what
//! the interrupts leave (Mogul & Ramakrishnan's receive livelock). With NAPI
//! the interrupt is masked while the poll runs and overload moves the work
//! to ksoftirqd, which shares the core with the application. Each mechanism
//! runs with coalescing off and with rx-usecs 20, and each of those under
//! both of the kernel's rules for softirqs raised while ksoftirqd is
//! runnable (`kernel.softirq_defer`): deferred to ksoftirqd, as Linux 4.9
//! to 6.4 do (commit 4cd13c21b207, "softirq: Let ksoftirqd do its job"), or
//! run on `irq_exit` regardless, as before 4.9 and again since 6.5 (the
//! revert, commit d15121be7485) — the `-inline` series.
//!
//! Findings locate each curve's peak (its highest delivered rate). Without
//! NAPI, delivered falls at every load past the peak. With NAPI, the loads
//! whose polls fill their weight (ksoftirqd carries them) must each deliver
//! within 10% of the peak (a plateau), and every other load above the peak
//! rate must be a dip. A load that delivers less than 90% of what is
//! offered without its polls filling their weight is a dip, below the peak
//! rate or above it, and its finding checks the mechanism from the core's
//! CPU shares and NAPI counters: ksoftirqd never woken, so softirq runs on
//! `irq_exit`; polls that drain the ring, so NAPI re-enables the interrupt;
//! hard IRQs and softirq taking most of the core, leaving the reader less
//! than where ksoftirqd carries the polls. NAPI
//! has no feedback from the socket queue (Mogul & Ramakrishnan's fix needed
//! it), so near the core's capacity nothing stops the softirq starving the
//! reader until the polls stop draining the ring.
//! A last finding per mechanism compares the two softirq rules at the loads
//! above the peak rate: the plateau each delivers and the reader's share of
//! the core, and whether deferring to ksoftirqd leaves the reader at least
//! the share the inline rule does (the reason 4.9 introduced it).

use crate::experiment::{Column, Experiment, Finding, Settings, Variant, VariantResult, mpps, num, run_model};
use serde_json::Value;

const LOADS_PPS: [f64; 7] = [250_000.0, 500_000.0, 1_000_000.0, 2_000_000.0, 4_000_000.0, 8_000_000.0, 14_880_952.0];
/// (series, NAPI, rx-usecs, `kernel.softirq_defer`): each mechanism under
/// Linux 4.9–6.4's deferral to ksoftirqd, then under the inline rule.
const SERIES: [(&str, bool, u32, &str); 8] = [
    ("no-napi", false, 0, "ksoftirqd"),
    ("no-napi+coalesce", false, 20, "ksoftirqd"),
    ("napi", true, 0, "ksoftirqd"),
    ("napi+coalesce", true, 20, "ksoftirqd"),
    ("no-napi-inline", false, 0, "inline"),
    ("no-napi+coalesce-inline", false, 20, "inline"),
    ("napi-inline", true, 0, "inline"),
    ("napi+coalesce-inline", true, 20, "inline"),
];
/// A series under the inline rule is its deferring series' name with this suffix.
const INLINE: &str = "-inline";
/// How far below the deferring rule's reader share (a fraction of the core)
/// the inline rule's may be at a load and still count as "no more".
const SHARE_SLACK: f64 = 0.005;

pub fn experiment() -> Experiment {
    Experiment {
        name: "napi-livelock",
        description: "offered-load sweep on one core: pre-NAPI interrupt-per-packet receive vs NAPI, each ± rx-usecs 20, with softirqs deferred to ksoftirqd (Linux 4.9–6.4) or run inline (6.5+)",
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
    for (series, napi, rx_usecs, defer) in SERIES {
        for load in LOADS_PPS {
            out.push(
                Variant::new(format!("{series}/{}", mpps(load)))
                    .set("name", format!("napi-livelock/{series}/{load}"))
                    .set("kernel.napi", napi)
                    .set("kernel.softirq_defer", defer)
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

/// Share of its offered load a point below the peak rate must deliver not to
/// count as a dip.
const DIP_BELOW: f64 = 0.9;
/// Share of the peak each load whose polls fill their weight must deliver
/// for a NAPI curve to count as a plateau.
const PLATEAU_WITHIN: f64 = 0.9;
/// At least this share of a load's polls use their whole weight for "the
/// polls fill their weight".
const POLLING_FULL: f64 = 0.9;

/// One point of a series: the offered load and what core 0 did with it.
#[derive(Clone, Copy, Debug)]
struct Point {
    offered: f64,
    delivered: f64,
    hardirq: f64,
    softirq: f64,
    kthread: f64,
    user: f64,
    polls: f64,
    full_polls: f64,
    time_squeeze: f64,
    ksoftirqd_wakeups: f64,
}

impl Point {
    fn of(m: &Value) -> Point {
        Point {
            offered: num(m, "throughput.offered_pps"),
            delivered: num(m, "throughput.delivered_pps"),
            hardirq: num(m, "cpu.0.busy_frac.hardirq"),
            softirq: num(m, "cpu.0.busy_frac.softirq"),
            kthread: num(m, "cpu.0.busy_frac.kthread"),
            user: num(m, "cpu.0.busy_frac.user"),
            polls: num(m, "napi.polls"),
            full_polls: num(m, "napi.full_polls"),
            time_squeeze: num(m, "napi.time_squeeze"),
            ksoftirqd_wakeups: num(m, "napi.ksoftirqd_wakeups"),
        }
    }
}

impl Point {
    /// Whether the polls fill their weight (at least `POLLING_FULL` of
    /// them, with budget squeezes and ksoftirqd woken): ksoftirqd carries
    /// the receive work and the interrupt stays masked.
    fn polling(&self) -> bool {
        self.polls > 0.0
            && self.full_polls >= POLLING_FULL * self.polls
            && self.time_squeeze > 0.0
            && self.ksoftirqd_wakeups >= 1.0
    }
}

/// The points of one series, in load order.
fn curve(vs: &[VariantResult], series: &str) -> Vec<Point> {
    vs.iter()
        .filter(|v| v.name.rsplit_once('/').is_some_and(|(s, _)| s == series))
        .map(|v| Point::of(&v.metrics))
        .collect()
}

/// A fraction as a whole percentage.
fn pct(x: f64) -> String {
    format!("{:.0}%", 100.0 * x)
}

/// The smallest and largest of `xs` (NaN-free), as `(min, max)`.
fn range(xs: impl IntoIterator<Item = f64>) -> (f64, f64) {
    xs.into_iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| (lo.min(x), hi.max(x)))
}

/// `lo–hi` with `show` and then `unit`, or one value when they agree as shown.
fn span(lo: f64, hi: f64, show: impl Fn(f64) -> String, unit: &str) -> String {
    let (a, b) = (show(lo), show(hi));
    if a == b { format!("{a}{unit}") } else { format!("{a}–{b}{unit}") }
}

/// A fraction as a whole percentage, without the sign.
fn pct_digits(x: f64) -> String {
    format!("{:.0}", 100.0 * x)
}

fn loads(ps: &[Point]) -> String {
    ps.iter().map(|p| mpps(p.offered)).collect::<Vec<_>>().join(", ")
}

fn findings(vs: &[VariantResult]) -> Vec<Finding> {
    let mut f = Vec::new();
    for (series, napi, _, _) in SERIES {
        let c = curve(vs, series);
        // The peak: the highest delivered rate, at the lowest load reaching it.
        let Some(peak) = c.iter().copied().reduce(|best, p| if p.delivered > best.delivered { p } else { best }) else {
            continue;
        };
        // The loads the core cannot keep up with: above its best delivered rate
        // (the peak's own load among them).
        let above: Vec<Point> = c.iter().copied().filter(|p| p.offered >= peak.delivered).collect();
        let below: Vec<Point> = c.iter().copied().filter(|p| p.offered < peak.delivered).collect();
        if napi {
            // The loads where ksoftirqd carries the polls, and the dips: loads
            // whose polls do not fill their weight and that deliver less
            // than `DIP_BELOW` of what is offered, below the peak rate or above.
            let polling: Vec<Point> = c.iter().copied().filter(Point::polling).collect();
            let dips: Vec<Point> =
                c.iter().copied().filter(|p| !p.polling() && p.delivered < DIP_BELOW * p.offered).collect();
            f.push(plateau(series, &peak, &above, &polling));
            let dips_below: Vec<&Point> = dips.iter().filter(|p| p.offered < peak.delivered).collect();
            if dips_below.is_empty() {
                let shares: Vec<String> = below.iter().map(|p| pct(p.delivered / p.offered)).collect();
                f.push(Finding {
                    claim: format!(
                        "{series}: no dip — every offered load below the peak rate ({} Mpps) is delivered: {} of it (at least {} each)",
                        loads(&below),
                        shares.join(", "),
                        pct(DIP_BELOW)
                    ),
                    holds: !below.is_empty(),
                });
            }
            for d in &dips {
                f.push(dip(series, d, peak.delivered, &polling));
            }
        } else {
            f.push(livelock(series, &c, &peak));
        }
    }
    for (series, _, _, defer) in SERIES {
        if defer == "ksoftirqd" {
            f.push(softirq_rule(series, &curve(vs, series), &curve(vs, &format!("{series}{INLINE}"))));
        }
    }
    f
}

/// The two softirq rules compared at the loads above the deferring
/// series' peak rate: the plateau each delivers, the reader's share, and
/// whether deferral leaves the reader at least the inline rule's share at
/// every one of those loads.
fn softirq_rule(series: &str, deferred: &[Point], inline: &[Point]) -> Finding {
    let Some(peak) = deferred.iter().copied().reduce(|best, p| if p.delivered > best.delivered { p } else { best })
    else {
        return Finding { claim: format!("{series}: no points"), holds: false };
    };
    let pairs: Vec<(Point, Point)> = deferred
        .iter()
        .zip(inline)
        .filter(|(d, i)| d.offered >= peak.delivered && d.offered == i.offered)
        .map(|(d, i)| (*d, *i))
        .collect();
    let (dl, dh) = range(pairs.iter().map(|p| p.0.delivered));
    let (il, ih) = range(pairs.iter().map(|p| p.1.delivered));
    let (dul, duh) = range(pairs.iter().map(|p| p.0.user));
    let (iul, iuh) = range(pairs.iter().map(|p| p.1.user));
    let (dsl, dsh) = range(pairs.iter().map(|p| p.0.softirq));
    let (isl, ish) = range(pairs.iter().map(|p| p.1.softirq));
    let no_less = pairs.iter().all(|(d, i)| d.user + SHARE_SLACK >= i.user);
    Finding {
        claim: format!(
            "{series} vs {series}{INLINE}: at the offered loads above the peak rate ({} Mpps), deferring softirqs to ksoftirqd (4.9–6.4) delivers {} Mpps and leaves the reader {} of the core (softirq on irq_exit {}); running them on irq_exit (6.5+) delivers {} Mpps and leaves the reader {} (softirq on irq_exit {}). Deferral leaves the reader at least the inline share at each of those loads",
            loads(&pairs.iter().map(|p| p.0).collect::<Vec<_>>()),
            span(dl, dh, mpps, ""),
            span(dul, duh, pct_digits, "%"),
            span(dsl, dsh, pct_digits, "%"),
            span(il, ih, mpps, ""),
            span(iul, iuh, pct_digits, "%"),
            span(isl, ish, pct_digits, "%"),
        ),
        holds: !pairs.is_empty() && no_less,
    }
}

/// NAPI's plateau: every load whose polls fill their weight delivers
/// within `PLATEAU_WITHIN` of the peak; those loads run from the first of
/// them to the top of the sweep, and every other load above the peak rate
/// is a dip (less than `DIP_BELOW` of it delivered).
fn plateau(series: &str, peak: &Point, above: &[Point], polling: &[Point]) -> Finding {
    let (lo, hi) = range(polling.iter().map(|p| p.delivered));
    let from = polling.first().map_or(f64::INFINITY, |p| p.offered);
    let others: Vec<Point> = above.iter().copied().filter(|p| !p.polling()).collect();
    let top = above.iter().map(|p| p.offered).fold(0.0, f64::max);
    let suffix = above.iter().filter(|p| p.offered >= from).all(Point::polling);
    let others_dip = others.iter().all(|p| p.delivered < DIP_BELOW * p.offered);
    let rest = if others.is_empty() {
        "every load above the peak rate is one of them".to_string()
    } else {
        format!(
            "the other loads above the peak rate ({} Mpps) deliver {} of what is offered, dips in interrupt mode",
            loads(&others),
            others.iter().map(|p| pct(p.delivered / p.offered)).collect::<Vec<_>>().join(", ")
        )
    };
    Finding {
        claim: format!(
            "{series}: plateau — peak {} Mpps at {} Mpps offered; at each offered load where the polls fill their weight and ksoftirqd carries them ({} Mpps) it delivers {} Mpps, at least {} of the peak (threshold {}); {rest}",
            mpps(peak.delivered),
            mpps(peak.offered),
            loads(polling),
            span(lo, hi, mpps, ""),
            pct(lo / peak.delivered),
            pct(PLATEAU_WITHIN)
        ),
        // At least two such loads, the top of the sweep among them, none
        // without polling above the first, and the rest above the peak rate dips.
        holds: polling.len() >= 2
            && polling.iter().any(|p| p.offered == top)
            && suffix
            && others_dip
            && lo >= PLATEAU_WITHIN * peak.delivered,
    }
}

/// A dip, below the peak rate or above it, and its mechanism: ksoftirqd
/// never woken, so the receive work runs as softirq on `irq_exit`; polls
/// that drain the ring, so NAPI completes and re-enables the interrupt;
/// hard IRQs and that softirq, ahead of any task, taking most of the core
/// and leaving the reader less than at every load where ksoftirqd carries
/// the polls.
fn dip(series: &str, d: &Point, peak_rate: f64, polling: &[Point]) -> Finding {
    let (kt_lo, kt_hi) = range(polling.iter().map(|p| p.kthread));
    let (_, si_hi) = range(polling.iter().map(|p| p.softirq));
    let (us_lo, us_hi) = range(polling.iter().map(|p| p.user));
    let (full_lo, _) = range(polling.iter().map(|p| p.full_polls / p.polls));
    let completed = d.polls - d.full_polls;
    let no_ksoftirqd = d.ksoftirqd_wakeups == 0.0 && d.kthread < 0.01;
    let irq_context = d.hardirq + d.softirq;
    let interrupts_take_it = irq_context >= 0.5 && irq_context > d.user;
    // Where the polls fill their weight ksoftirqd carries the receive work
    // (more of the core than softirq on irq_exit, which keeps at most a
    // tenth), sharing the core with the reader.
    let ksoftirqd_elsewhere = !polling.is_empty() && kt_lo > si_hi && si_hi <= 0.1 && us_lo > d.user;
    let side = if d.offered < peak_rate { "below" } else { "above" };
    Finding {
        claim: format!(
            "{series}: dip at {} Mpps offered, {side} the peak rate — {} Mpps delivered ({} of offered). ksoftirqd is never woken ({} wakeups, {} of the CPU), so the receive work runs as softirq on irq_exit, and {} of its {} polls drain the ring, so NAPI completes and re-enables the interrupt: hard IRQs and softirq on irq_exit, ahead of any task, take {} of the core (softirq {}, hard IRQs {}), leaving the reader {}. At each load where the polls fill their weight ({} Mpps; at least {} of them do, with budget squeezes), ksoftirqd carries the receive work ({} of the CPU; softirq on irq_exit at most {}) and the reader gets {}",
            mpps(d.offered),
            mpps(d.delivered),
            pct(d.delivered / d.offered),
            d.ksoftirqd_wakeups,
            pct(d.kthread),
            completed,
            d.polls,
            pct(irq_context),
            pct(d.softirq),
            pct(d.hardirq),
            pct(d.user),
            loads(polling),
            pct(full_lo),
            span(kt_lo, kt_hi, pct_digits, "%"),
            pct(si_hi),
            span(us_lo, us_hi, pct_digits, "%")
        ),
        holds: d.delivered < DIP_BELOW * d.offered
            && completed >= 1.0
            && no_ksoftirqd
            && interrupts_take_it
            && ksoftirqd_elsewhere,
    }
}

/// Receive livelock: delivered rises to a peak inside the sweep, never
/// recovers at a higher load, and ends under half the peak at the highest.
fn livelock(series: &str, c: &[Point], peak: &Point) -> Finding {
    let (Some(first), Some(last)) = (c.first(), c.last()) else {
        return Finding { claim: format!("{series}: no points"), holds: false };
    };
    let after: Vec<&Point> = c.iter().filter(|p| p.offered > peak.offered).collect();
    // Never recovers: no load past the peak gets back more than 5% of the
    // peak over the load before it (noise and the dip's floor).
    let falls = after.windows(2).all(|w| w[1].delivered <= w[0].delivered + 0.05 * peak.delivered)
        && after.iter().all(|p| p.delivered < peak.delivered);
    let share = last.delivered / peak.delivered;
    Finding {
        claim: format!(
            "{series}: livelock — delivered rises to {} Mpps at {} Mpps offered, then never recovers: no higher load gets back more than 5% of the peak ({} Mpps), down to {} Mpps at {} Mpps offered = {} of its peak",
            mpps(peak.delivered),
            mpps(peak.offered),
            after.iter().map(|p| mpps(p.delivered)).collect::<Vec<_>>().join(", "),
            mpps(last.delivered),
            mpps(last.offered),
            pct(share)
        ),
        holds: peak.offered > first.offered && peak.offered < last.offered && falls && share < 0.5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A NAPI point: offered and delivered Mpps, core 0's (hardirq, softirq,
    /// kthread, user) shares, and (polls, full polls, squeezes, ksoftirqd wakeups).
    fn point(offered: f64, delivered: f64, cpu: [f64; 4], napi: [f64; 4]) -> VariantResult {
        let [hardirq, softirq, kthread, user] = cpu;
        let [polls, full_polls, time_squeeze, ksoftirqd_wakeups] = napi;
        VariantResult {
            name: format!("napi/{offered:.2}"),
            params: Default::default(),
            metrics: json!({
                "throughput": {"offered_pps": offered * 1e6, "delivered_pps": delivered * 1e6},
                "cpu": [{"busy_frac": {"hardirq": hardirq, "softirq": softirq, "kthread": kthread, "user": user}}],
                "napi": {"polls": polls, "full_polls": full_polls, "time_squeeze": time_squeeze,
                         "ksoftirqd_wakeups": ksoftirqd_wakeups},
            }),
        }
    }

    const IDLE: [f64; 4] = [0.1, 0.1, 0.0, 0.1];
    const DRAINED: [f64; 4] = [1000.0, 0.0, 0.0, 0.0];
    const STARVED: [f64; 4] = [0.22, 0.73, 0.0, 0.04];
    const POLLING: [f64; 4] = [0.0, 0.01, 0.77, 0.22];
    const FULL: [f64; 4] = [1000.0, 1000.0, 100.0, 1.0];

    fn napi_findings(points: Vec<VariantResult>) -> Vec<Finding> {
        findings(&points).into_iter().filter(|f| f.claim.starts_with("napi:")).collect()
    }

    #[test]
    fn a_plateau_is_judged_at_every_load_above_the_peak_rate() {
        let good = vec![
            point(1.0, 1.0, IDLE, DRAINED),
            point(4.0, 2.2, POLLING, FULL),
            point(8.0, 2.2, POLLING, FULL),
            point(14.88, 2.2, POLLING, FULL),
        ];
        assert!(napi_findings(good).iter().all(|f| f.holds));
        // The highest load is back at the peak, but 8 Mpps is not.
        let sagging = vec![
            point(1.0, 1.0, IDLE, DRAINED),
            point(4.0, 2.2, POLLING, FULL),
            point(8.0, 1.1, POLLING, FULL),
            point(14.88, 2.2, POLLING, FULL),
        ];
        let f = napi_findings(sagging);
        assert!(f[0].claim.contains("plateau") && !f[0].holds, "{}", f[0].claim);
    }

    #[test]
    fn a_dip_below_the_peak_rate_is_a_finding_judged_on_its_mechanism() {
        let dip = |at_dip: [f64; 4], napi: [f64; 4]| {
            vec![
                point(1.0, 1.0, IDLE, DRAINED),
                point(2.0, 0.4, at_dip, napi),
                point(4.0, 2.2, POLLING, FULL),
                point(14.88, 2.2, POLLING, FULL),
            ]
        };
        let f = napi_findings(dip(STARVED, DRAINED));
        assert_eq!(f.len(), 2);
        assert!(f[1].claim.contains("dip at 2.00") && f[1].holds, "{}", f[1].claim);
        // The same dip with ksoftirqd woken, or with every poll full (NAPI
        // never completing, the interrupt never re-enabled), is not the
        // mechanism claimed; some full polls are (rx-usecs 20 near capacity).
        let woken = napi_findings(dip(STARVED, [1000.0, 0.0, 0.0, 1.0]));
        assert!(!woken[1].holds);
        let full = napi_findings(dip(STARVED, [1000.0, 1000.0, 0.0, 0.0]));
        assert!(!full[1].holds);
        let some_full = napi_findings(dip([0.01, 0.7, 0.0, 0.15], [3350.0, 1931.0, 0.0, 0.0]));
        assert!(some_full[1].holds, "{}", some_full[1].claim);
        let reader_runs = napi_findings(dip([0.2, 0.5, 0.0, 0.3], DRAINED));
        assert!(!reader_runs[1].holds);
        let idle = napi_findings(dip([0.1, 0.2, 0.0, 0.05], DRAINED));
        assert!(!idle[1].holds);
        // Without a dip, the series says so.
        let none = napi_findings(vec![
            point(1.0, 1.0, IDLE, DRAINED),
            point(4.0, 2.2, POLLING, FULL),
            point(8.0, 2.2, POLLING, FULL),
        ]);
        assert!(none[1].claim.contains("no dip") && none[1].holds);
    }

    /// With a costly reader the interrupt-mode dip can lie above the peak
    /// rate: the plateau is judged where ksoftirqd carries the polls, and the
    /// dip on its mechanism; a load above the peak rate that neither polls
    /// nor dips breaks the plateau.
    #[test]
    fn a_dip_above_the_peak_rate_is_judged_on_its_mechanism() {
        let f = napi_findings(vec![
            point(1.0, 1.0, IDLE, DRAINED),
            point(2.0, 0.1, STARVED, DRAINED),
            point(4.0, 1.07, POLLING, FULL),
            point(8.0, 1.07, POLLING, FULL),
            point(14.88, 1.07, POLLING, FULL),
        ]);
        assert!(f[0].claim.contains("plateau") && f[0].holds, "{}", f[0].claim);
        assert!(f[0].claim.contains("(4.00, 8.00, 14.88 Mpps)"), "{}", f[0].claim);
        let dip = f.iter().find(|f| f.claim.contains("dip at 2.00")).expect("a dip finding");
        assert!(dip.claim.contains("above the peak rate") && dip.holds, "{}", dip.claim);
        // 1.1 Mpps offered, 1.0 delivered without polling: neither plateau nor dip.
        let f = napi_findings(vec![
            point(1.0, 1.0, IDLE, DRAINED),
            point(1.1, 1.0, IDLE, DRAINED),
            point(4.0, 1.07, POLLING, FULL),
            point(14.88, 1.07, POLLING, FULL),
        ]);
        assert!(f[0].claim.contains("plateau") && !f[0].holds, "{}", f[0].claim);
    }

    /// The softirq-rule finding compares the two series at the loads above
    /// the deferring series' peak rate, and fails when the inline rule
    /// leaves the reader more than deferral does at one of them.
    #[test]
    fn the_softirq_rule_finding_compares_reader_shares_above_the_peak() {
        let p = |offered: f64, delivered: f64, user: f64| Point {
            offered: offered * 1e6,
            delivered: delivered * 1e6,
            hardirq: 0.5,
            softirq: 0.2,
            kthread: 0.1,
            user,
            polls: 0.0,
            full_polls: 0.0,
            time_squeeze: 0.0,
            ksoftirqd_wakeups: 0.0,
        };
        let deferred = [p(0.5, 0.5, 0.15), p(1.0, 0.7, 0.07), p(4.0, 0.1, 0.02)];
        let starved = [p(0.5, 0.5, 0.15), p(1.0, 0.06, 0.01), p(4.0, 0.0, 0.0)];
        let f = softirq_rule("no-napi", &deferred, &starved);
        assert!(f.holds, "{}", f.claim);
        assert!(f.claim.contains("(0.50, 1.00, 4.00 Mpps)") || f.claim.contains("(1.00, 4.00 Mpps)"), "{}", f.claim);
        // The inline rule giving the reader more at one load above the peak breaks it.
        let better = [p(0.5, 0.5, 0.15), p(1.0, 0.7, 0.07), p(4.0, 0.3, 0.05)];
        assert!(!softirq_rule("no-napi", &deferred, &better).holds);
        // No inline series: nothing to compare.
        assert!(!softirq_rule("no-napi", &deferred, &[]).holds);
    }
}
