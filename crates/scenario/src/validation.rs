//! `irqlab validate`, against published results: a suite of published
//! figures on interrupt mitigation, receive livelock, interrupt affinity,
//! virtualized interrupt delivery, the IOMMU and zero-copy, each set up in
//! the model as the publication set up its machine, run, and compared with
//! the published figure (docs/validation.md).
//!
//! Every case states up front, in its definition, the quantity it computes,
//! the published value and the band of model values it accepts, and why
//! that band. The model's value comes from runs of the model (fixed seeds,
//! short durations); nothing here knows the answer. A case whose value
//! falls outside its band *fails*, and stays in the table with what the
//! model lacks to reproduce it — constants are never tuned to make a case
//! pass.
//!
//! Where a publication's machine differs from the model's default (a
//! 2002-era CPU, a 1996 workstation), the cases compare what does not
//! depend on the machine's speed — a ratio, a share, a shape — and place
//! offered loads relative to the model's own measured capacity, as the
//! publication's loads stood relative to its machine's.

use crate::experiment::{Settings, cpu_ns_per_packet, num, readers_on, run_model, scenario_with, vm_exits};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::{Value, json};

/// Where a published figure comes from.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Source {
    /// Authors.
    pub authors: &'static str,
    /// Title.
    pub title: &'static str,
    /// Venue and year.
    pub venue: &'static str,
    /// Where in it: table, figure, section.
    pub locator: &'static str,
    /// The publication's setup, as far as it is stated.
    pub setup: &'static str,
}

/// One published figure and how the model is compared with it.
pub struct Case {
    /// Short name, unique in the suite.
    pub name: &'static str,
    /// What it covers (`NAPI mitigation`, `receive livelock`, …).
    pub topic: &'static str,
    /// Where the figure comes from.
    pub source: Source,
    /// The figure as published.
    pub published: &'static str,
    /// The published figure as a number of `quantity`.
    pub published_value: f64,
    /// What the model's number is.
    pub quantity: &'static str,
    /// Model values accepted, inclusive: stated before any run.
    pub band: (f64, f64),
    /// Why that band.
    pub tolerance: &'static str,
    /// What of the figure and its setup could be checked in the source, and what not.
    pub verified: &'static str,
    /// What the model lacks to reproduce the figure, shown when the case fails.
    pub lacks: &'static str,
    /// Runs the model: the value of `quantity` and a sentence of the
    /// figures it was computed from.
    pub run: fn(quick: bool) -> Result<Computed, String>,
}

/// A case's result from the model's runs.
#[derive(Clone, Debug, Serialize)]
pub struct Computed {
    /// The value of the case's quantity.
    pub value: f64,
    /// The run figures it comes from.
    pub detail: String,
}

/// A case's outcome.
#[derive(Clone, Debug, Serialize)]
pub struct CaseResult {
    /// The case's name.
    pub name: &'static str,
    /// Its topic.
    pub topic: &'static str,
    /// The source.
    pub source: Source,
    /// The figure as published.
    pub published: &'static str,
    /// The published value.
    pub published_value: f64,
    /// What the number is.
    pub quantity: &'static str,
    /// The model's value.
    pub model: f64,
    /// The accepted band.
    pub band: (f64, f64),
    /// Why the band.
    pub tolerance: &'static str,
    /// Whether the model's value is in the band.
    pub holds: bool,
    /// The figures of the runs.
    pub detail: String,
    /// What could be verified of the figure.
    pub verified: &'static str,
    /// What the model lacks, when the case fails; empty when it holds.
    pub lacks: &'static str,
}

/// Runs one case.
pub fn run_case(c: &Case, quick: bool) -> Result<CaseResult, String> {
    let computed = (c.run)(quick).map_err(|e| format!("case {}: {e}", c.name))?;
    let holds = computed.value.is_finite() && computed.value >= c.band.0 && computed.value <= c.band.1;
    Ok(CaseResult {
        name: c.name,
        topic: c.topic,
        source: c.source,
        published: c.published,
        published_value: c.published_value,
        quantity: c.quantity,
        model: computed.value,
        band: c.band,
        tolerance: c.tolerance,
        holds,
        detail: computed.detail,
        verified: c.verified,
        lacks: if holds { "" } else { c.lacks },
    })
}

/// Runs every case (in parallel; each case's runs have fixed seeds, so the
/// results do not depend on the thread count).
pub fn run_published(quick: bool) -> Result<Vec<CaseResult>, String> {
    published().par_iter().map(|c| run_case(c, quick)).collect()
}

/// The published results as a terminal table, then each case's source,
/// figures and (for a failure) what the model lacks.
pub fn render_published(results: &[CaseResult]) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let w = results.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    let _ = writeln!(s, "{:<w$}  {:>10}  {:>10}  {:>17}  verdict", "case", "published", "model", "accepted");
    let _ = writeln!(s, "{}", "-".repeat(w + 2 + 10 + 2 + 10 + 2 + 17 + 2 + 7));
    for r in results {
        let _ = writeln!(
            s,
            "{:<w$}  {:>10}  {:>10}  {:>17}  {}",
            r.name,
            fig(r.published_value),
            fig(r.model),
            format!("{}–{}", fig(r.band.0), fig(r.band.1)),
            if r.holds { "holds" } else { "FAILS" }
        );
    }
    let held = results.iter().filter(|r| r.holds).count();
    let _ = writeln!(s, "\n{held} of {} cases hold.\n", results.len());
    for r in results {
        let src = &r.source;
        let _ = writeln!(s, "{} ({}): {}", r.name, r.topic, r.quantity);
        let _ = writeln!(s, "  source:    {}, \"{}\", {}, {}", src.authors, src.title, src.venue, src.locator);
        let _ = writeln!(s, "  setup:     {}", src.setup);
        let _ = writeln!(s, "  published: {}", r.published);
        let _ = writeln!(s, "  model:     {}", r.detail);
        let _ = writeln!(s, "  tolerance: {}", r.tolerance);
        let _ = writeln!(s, "  verified:  {}", r.verified);
        if !r.holds {
            let _ = writeln!(s, "  lacks:     {}", r.lacks);
        }
    }
    s
}

/// A number with three significant digits (no exponent for the usual range).
pub fn fig(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    if v >= NO_CROSSOVER {
        return "none".into();
    }
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 0.01 {
        format!("{v:.3}")
    } else {
        format!("{v:.1e}")
    }
}

/// Runs the default scenario with `settings` applied in order.
fn run(settings: &[&Settings]) -> Result<Value, String> {
    run_model(&scenario_with(settings)?)
}

/// Offered loads of the overload sweeps, packets per second: from well below
/// one core's capacity to 10 GbE line rate with 64-byte frames.
const SWEEP_PPS: [f64; 7] = [250_000.0, 500_000.0, 1_000_000.0, 2_000_000.0, 4_000_000.0, 8_000_000.0, 14_880_952.0];

/// One core, one queue, one reader, an interrupt per packet (no
/// coalescing), Poisson arrivals.
fn one_core(quick: bool) -> Settings {
    Settings::new()
        .set("duration_ms", if quick { 40.0 } else { 100.0 })
        .set("machine.cores", 1)
        .set("nic.queues", 1)
        .set("workload.arrival", "poisson")
        .set("nic.coalesce.rx_usecs", 0)
        .set("nic.coalesce.rx_frames", 1)
}

/// Delivered rate at each load of `loads` on one core, NAPI on or off.
fn sweep(quick: bool, napi: bool, loads: &[f64]) -> Result<Vec<(f64, f64)>, String> {
    let base = one_core(quick).set("kernel.napi", napi);
    loads
        .iter()
        .map(|&load| {
            let m = run(&[&base, &Settings::new().set("workload.rate_pps", load)])?;
            Ok((load, num(&m, "throughput.delivered_pps")))
        })
        .collect()
}

/// The highest delivered rate of a sweep and the load it came at.
fn peak(points: &[(f64, f64)]) -> (f64, f64) {
    points.iter().copied().fold((0.0, 0.0), |best, p| if p.1 > best.1 { p } else { best })
}

/// Olsson's table is a forwarding test (its legend: "Tput" == packets out
/// of total 1M that made it out; "txint" == transmit completion interrupts
/// seen): every packet's work is done in the NET_RX softirq and
/// no process reads them, so the softirq's own rate is the machine's
/// capacity. The model's equivalent: one core with NAPI and no listening
/// socket — the softirq receives each packet and drops it at the socket
/// lookup (`no_socket`), and no reader competes for the core.
fn softirq_only(quick: bool) -> Settings {
    one_core(quick).set("kernel.napi", true).set("apps", json!([{ "core": 0, "flows": [] }]))
}

/// One core's NAPI capacity in Olsson's setting: the packets its softirq
/// takes from the ring per second when offered far more than it can take
/// (10 GbE line rate).
fn napi_capacity(quick: bool) -> Result<f64, String> {
    let m = run(&[&softirq_only(quick), &Settings::new().set("workload.rate_pps", SWEEP_PPS[6])])?;
    Ok(num(&m, "queues.0.packets") / num(&m, "duration_s"))
}

/// Interrupts per offered packet with NAPI at `share` of the core's
/// softirq capacity, in Olsson's setting ([`softirq_only`]).
fn napi_interrupts_at(quick: bool, share: f64) -> Result<Computed, String> {
    let cap = napi_capacity(quick)?;
    let load = (share * cap).round();
    let m = run(&[&softirq_only(quick), &Settings::new().set("workload.rate_pps", load)])?;
    let per = num(&m, "interrupts.total") / num(&m, "packets.offered");
    Ok(Computed {
        value: per,
        detail: format!(
            "no reader, every packet's work in softirq (as forwarding): one core's NAPI capacity {:.0} kpps; at {:.0} kpps offered ({:.2}× it) {} interrupts for {} packets = {} per packet",
            cap / 1e3,
            load / 1e3,
            share,
            num(&m, "interrupts.total"),
            num(&m, "packets.offered"),
            fig(per)
        ),
    })
}

/// Olsson's e1000 machine delivered 409,362 of 1,000,000 packets offered at
/// 890 kpps (NAPI_HOWTO.txt): its capacity was ≈0.41 × 890 kpps.
const OLSSON_CAPACITY_PPS: f64 = 0.409_362 * 890_000.0;

fn napi_overload(quick: bool) -> Result<Computed, String> {
    napi_interrupts_at(quick, 890_000.0 / OLSSON_CAPACITY_PPS)
}

fn napi_light(quick: bool) -> Result<Computed, String> {
    napi_interrupts_at(quick, 85_193.0 / OLSSON_CAPACITY_PPS)
}

fn pts(points: &[(f64, f64)]) -> String {
    points.iter().map(|(o, d)| format!("{:.2}→{:.2}", o / 1e6, d / 1e6)).collect::<Vec<_>>().join(", ")
}

/// Delivered at the highest load over the peak, for a sweep of `napi`.
fn overload_share(quick: bool, napi: bool) -> Result<Computed, String> {
    let points = sweep(quick, napi, &SWEEP_PPS)?;
    let (at, best) = peak(&points);
    let last = points[points.len() - 1];
    let value = if best > 0.0 { last.1 / best } else { f64::NAN };
    Ok(Computed {
        value,
        detail: format!(
            "offered→delivered Mpps {}; peak {:.2} Mpps at {:.2} offered; at {:.2} Mpps offered ({:.1}× the peak's load) it delivers {} of the peak",
            pts(&points),
            best / 1e6,
            at / 1e6,
            last.0 / 1e6,
            last.0 / at.max(1.0),
            fig(value)
        ),
    })
}

fn livelock(quick: bool) -> Result<Computed, String> {
    overload_share(quick, false)
}

fn polling_plateau(quick: bool) -> Result<Computed, String> {
    overload_share(quick, true)
}

/// Offered loads of the affinity case, packets per second: from well below
/// to beyond what the IRQ's core sustains with the reader on it.
const AFFINITY_PPS: [f64; 9] =
    [300_000.0, 400_000.0, 500_000.0, 550_000.0, 600_000.0, 650_000.0, 700_000.0, 750_000.0, 800_000.0];

/// Packets a run dropped, for any reason.
fn lost(m: &Value) -> f64 {
    m["packets"]["dropped"].as_object().map_or(f64::NAN, |d| d.values().filter_map(Value::as_f64).sum())
}

/// Whether a run's reader kept up: nothing dropped, and at most 1% of the
/// offered packets still queued at the end (a reader falling behind fills
/// its sockets before they drop anything).
fn kept_up(m: &Value) -> bool {
    lost(m) == 0.0 && num(m, "packets.delivered") >= 0.99 * num(m, "packets.offered")
}

/// Two single-core packages, the NIC's one queue on core 0, the reader on
/// core 0 or 1. Foong's transfers were TCP (ttcp): flow control holds a
/// bulk transfer to what its receiver keeps up with, so it never overloads
/// the receiver into dropping. The comparison runs at the highest load of
/// [`AFFINITY_PPS`] the reader on the IRQ's core keeps up with ([`kept_up`];
/// UDP beyond it counts the CPU of packets queued and dropped at full
/// sockets, which a TCP transfer never sends).
fn affinity(quick: bool) -> Result<Computed, String> {
    let base = Settings::new()
        .set("duration_ms", if quick { 40.0 } else { 100.0 })
        .set("machine.cores", 2)
        .set("machine.sockets", 2)
        .set("nic.queues", 1)
        .set("apps", readers_on([0]));
    let at =
        |rate: f64, core: u32| run(&[&base, &Settings::new().set("workload.rate_pps", rate).set("apps[0].core", core)]);
    let mut sustained = None;
    for rate in AFFINITY_PPS {
        let m = at(rate, 0)?;
        if !kept_up(&m) {
            break;
        }
        sustained = Some((rate, m));
    }
    let (rate, local) = sustained
        .ok_or_else(|| format!("the reader on the IRQ's core falls behind even at {} pps", AFFINITY_PPS[0]))?;
    let remote = at(rate, 1)?;
    let (l, r) = (cpu_ns_per_packet(&local).get(), cpu_ns_per_packet(&remote).get());
    let gain = r / l - 1.0;
    Ok(Computed {
        value: gain,
        detail: format!(
            "at {:.0} kpps, the most the reader on the IRQ's core keeps up with (of {} kpps; the other package's reader keeps up too: {}): CPU per packet {l:.0} ns with the reader on the IRQ's CPU, {r:.0} ns on the other package: a CPU-bound transfer gains {:.0}% from affinity",
            rate / 1e3,
            AFFINITY_PPS.iter().map(|r| format!("{:.0}", r / 1e3)).collect::<Vec<_>>().join("/"),
            if kept_up(&remote) { "yes" } else { "no" },
            100.0 * gain
        ),
    })
}

/// The virt-delivery setup: two cores, two queues the NIC masks itself
/// (EIAM), strict IOMMU with interrupt remapping; a VM on both cores with
/// the NIC assigned (VFIO).
fn vm_base(quick: bool) -> Settings {
    Settings::new()
        .set("duration_ms", if quick { 40.0 } else { 100.0 })
        .set("machine.cores", 2)
        .set("nic.queues", 2)
        .set("nic.auto_mask", true)
        .set("workload.arrival", "constant")
        .set("iommu.mode", "strict")
        .set("iommu.interrupt_remapping", true)
}

fn vm_run(quick: bool, apic: Option<&str>, rate: f64) -> Result<Value, String> {
    let mut v = Settings::new().set("workload.rate_pps", rate);
    if let Some(apic) = apic {
        v = v.set("vm", json!({ "cores": [0, 1], "apic": apic }));
    }
    run(&[&vm_base(quick), &v])
}

/// Saturating load for the VM cases.
const VM_SATURATED_PPS: f64 = 6_000_000.0;

fn eli_vs_bare(quick: bool) -> Result<Computed, String> {
    let bare = vm_run(quick, None, VM_SATURATED_PPS)?;
    let posted = vm_run(quick, Some("posted"), VM_SATURATED_PPS)?;
    let (b, p) = (num(&bare, "throughput.delivered_pps"), num(&posted, "throughput.delivered_pps"));
    Ok(Computed {
        value: p / b,
        detail: format!(
            "saturated: bare metal {:.0} kpps, VM with posted (exitless) interrupts {:.0} kpps = {} of bare metal",
            b / 1e3,
            p / 1e3,
            fig(p / b)
        ),
    })
}

fn eli_gain(quick: bool) -> Result<Computed, String> {
    let emulated = vm_run(quick, Some("emulated"), VM_SATURATED_PPS)?;
    let posted = vm_run(quick, Some("posted"), VM_SATURATED_PPS)?;
    let (e, p) = (num(&emulated, "throughput.delivered_pps"), num(&posted, "throughput.delivered_pps"));
    Ok(Computed {
        value: p / e,
        detail: format!(
            "saturated: injected through an emulated APIC {:.0} kpps, posted (exitless) {:.0} kpps = {}×",
            e / 1e3,
            p / 1e3,
            fig(p / e)
        ),
    })
}

/// Exits an interrupt causes: the external interrupt itself and the EOI's
/// MSR write.
fn interrupt_exits(m: &Value) -> f64 {
    vm_exits(m, "external_interrupt") + vm_exits(m, "msr_write")
}

fn eli_exits(quick: bool) -> Result<Computed, String> {
    // A load the VM keeps up with in both modes, so both take the same packets.
    let rate = 100_000.0;
    let emulated = vm_run(quick, Some("emulated"), rate)?;
    let posted = vm_run(quick, Some("posted"), rate)?;
    let (e, p) = (interrupt_exits(&emulated), interrupt_exits(&posted));
    let removed = if e > 0.0 { 1.0 - p / e } else { f64::NAN };
    Ok(Computed {
        value: removed,
        detail: format!(
            "at 100 kpps: {e} interrupt exits (external interrupt + EOI write) with an emulated APIC, {p} with posted interrupts: {:.1}% removed",
            100.0 * removed
        ),
    })
}

/// Two queues on two cores receiving 1500-byte frames at `rate` on a
/// link of `gbps`, the IOMMU in `mode` with the driver's `mapping`.
fn iommu_run(
    quick: bool,
    mode: &str,
    mapping: Option<(&str, &str)>,
    ring: u32,
    rate: f64,
    gbps: f64,
) -> Result<Value, String> {
    let mut v = Settings::new().set("iommu.mode", mode);
    if let Some((mapping, page)) = mapping {
        v = v.set("iommu.mapping", mapping).set("iommu.page_size", page);
    }
    let base = Settings::new()
        .set("duration_ms", if quick { 40.0 } else { 100.0 })
        .set("machine.cores", 2)
        .set("nic.queues", 2)
        .set("workload.arrival", "constant")
        .set("workload.packet_bytes", 1500)
        .set("workload.rate_pps", rate)
        .set("nic.ring_size", ring)
        .set("nic.line_rate_gbps", gbps);
    run(&[&base, &v])
}

fn riommu(quick: bool) -> Result<Computed, String> {
    // 10 GbE line rate with 1500-byte frames.
    let rate = 812_744.0;
    let off = iommu_run(quick, "off", None, 1024, rate, 10.0)?;
    let strict = iommu_run(quick, "strict", Some(("per_packet", "4k")), 1024, rate, 10.0)?;
    let (o, s) = (num(&off, "throughput.delivered_pps"), num(&strict, "throughput.delivered_pps"));
    Ok(Computed {
        value: s / o,
        detail: format!(
            "1500-byte frames at 10 GbE line rate: IOMMU off {:.0} kpps, strict with a map and unmap per packet {:.0} kpps = {}",
            o / 1e3,
            s / 1e3,
            fig(s / o)
        ),
    })
}

fn iotlb_wall(quick: bool) -> Result<Computed, String> {
    // 1500-byte frames at 200 Gb/s line rate (as the publication's NIC),
    // the rings' buffers a 4 MiB working set.
    let rate = (200e9_f64 / (1520.0 * 8.0)).floor();
    let off = iommu_run(quick, "off", None, 1024, rate, 200.0)?;
    let small = iommu_run(quick, "lazy", Some(("page_pool", "4k")), 1024, rate, 200.0)?;
    let huge = iommu_run(quick, "lazy", Some(("page_pool", "2m")), 1024, rate, 200.0)?;
    let (o, s, h) = (
        num(&off, "throughput.delivered_pps"),
        num(&small, "throughput.delivered_pps"),
        num(&huge, "throughput.delivered_pps"),
    );
    Ok(Computed {
        value: s / o,
        detail: format!(
            "1500-byte frames at 200 Gb/s ({:.2} Mpps), 2×1024 buffers: IOMMU off {:.0} kpps, 4 KiB IOMMU pages {:.0} kpps ({}), 2 MiB pages {:.0} kpps ({}); IOTLB walks per DMA with 4 KiB pages {}",
            rate / 1e6,
            o / 1e3,
            s / 1e3,
            fig(s / o),
            h / 1e3,
            fig(h / o),
            fig(num(&small, "iommu.walks_per_dma"))
        ),
    })
}

fn iommu_no_pressure(quick: bool) -> Result<Computed, String> {
    // A 128 KiB working set (32 buffers per ring), inside the IOTLB's reach.
    let rate = 500_000.0;
    let off = iommu_run(quick, "off", None, 32, rate, 10.0)?;
    let on = iommu_run(quick, "lazy", Some(("page_pool", "4k")), 32, rate, 10.0)?;
    let (o, n) = (num(&off, "latency_ns.p50"), num(&on, "latency_ns.p50"));
    Ok(Computed {
        value: n / o,
        detail: format!(
            "500 kpps of 1500-byte frames, 2×32 buffers (128 KiB): median latency {:.2} µs with the IOMMU off, {:.2} µs translating through 4 KiB pages = {}",
            o / 1e3,
            n / 1e3,
            fig(n / o)
        ),
    })
}

/// Payload sizes of the send sweep, bytes of frame.
const SEND_FRAMES: [u32; 5] = [1_024, 2_048, 4_096, 8_192, 9_018];

/// CPU time of the sender's core per send (ns), copying or with
/// `MSG_ZEROCOPY` at every size; the sender posts more than the link
/// takes, so its core is never idle for want of work.
fn sender_ns_per_send(quick: bool, frame: u32, zerocopy: bool) -> Result<f64, String> {
    let s = Settings::new()
        .set("duration_ms", if quick { 40.0 } else { 100.0 })
        .set("machine.cores", 2)
        .set("workload.rate_pps", 1_000.0)
        .set("tx.core", 1)
        .set("tx.doorbell_rate_per_s", 5e6)
        .set("tx.frame_bytes", frame)
        .set("tx.zerocopy", zerocopy)
        .set("tx.zerocopy_min_bytes", 0);
    let m = run(&[&s])?;
    let busy_ns = (1.0 - num(&m["cpu"][1], "busy_frac.idle")) * num(&m, "duration_s") * 1e9;
    Ok(busy_ns / num(&m, "tx.transmitted_ok"))
}

/// Stands for "no size in the sweep": the crossover lies above it.
const NO_CROSSOVER: f64 = 1e9;

fn zerocopy_threshold(quick: bool) -> Result<Computed, String> {
    let mut rows = Vec::new();
    let mut costs = Vec::new();
    for frame in SEND_FRAMES {
        let (c, z) = (sender_ns_per_send(quick, frame, false)?, sender_ns_per_send(quick, frame, true)?);
        rows.push(format!("{frame} B: copy {c:.0} ns, zerocopy {z:.0} ns"));
        costs.push((frame as f64, c, z));
    }
    // From which size on MSG_ZEROCOPY costs less at every larger size too.
    let sizes: Vec<f64> = costs.iter().map(|c| c.0).collect();
    let of = |s: f64| costs.iter().find(|c| c.0 == s).copied().unwrap_or((s, f64::NAN, f64::NAN));
    let first_win = irqlab_model::predict::crossover(&sizes, |s| of(s).2, |s| of(s).1);
    Ok(Computed {
        value: first_win.unwrap_or(NO_CROSSOVER),
        detail: format!(
            "sender core's CPU per send: {}; {}",
            rows.join("; "),
            match first_win {
                Some(b) => format!("MSG_ZEROCOPY costs less from {b} B on"),
                None => format!(
                    "there is no size up to {} B from which on MSG_ZEROCOPY costs less",
                    sizes.last().copied().unwrap_or(0.0)
                ),
            }
        ),
    })
}

const MOGUL: Source = Source {
    authors: "J. C. Mogul, K. K. Ramakrishnan",
    title: "Eliminating Receive Livelock in an Interrupt-Driven Kernel",
    venue: "USENIX ATC 1996; ACM TOCS 15(3), 1997",
    locator: "Figure 6-1 (unmodified kernel) and 6-3 (polling with a quota)",
    setup: "DECstation 3000/300 (Alpha) forwarding IP between two 10 Mb/s Ethernets, Digital UNIX; min-size packets",
};

const OLSSON: Source = Source {
    authors: "J. Hadi Salim, R. Olsson, A. Kuznetsov (NAPI); data by R. Olsson",
    title: "Beyond Softnet (USENIX ALS 2001); NAPI_HOWTO.txt",
    venue: "Linux 2.4/2.6 Documentation/networking/NAPI_HOWTO.txt, rev. 0.2.1, 2002",
    locator: "the e1000 table (Psize, Ipps, Tput, Rxint, Txint) and its legend at its head",
    setup: "Intel e1000 gigabit NIC, one CPU forwarding (Tput counts the packets that made it out, Txint their transmit completions: all the work in softirq, no reader), 1,000,000 packets offered per row; 60-byte packets at 890 kpps, 1440-byte at 85 kpps",
};

const FOONG: Source = Source {
    authors: "A. Foong, J. Fung, D. Newell",
    title: "An in-depth analysis of the impact of processor affinity on network performance",
    venue: "IEEE ICON 2004",
    locator: "abstract and results (ttcp bulk transfers)",
    setup: "2-way SMP Intel Xeon server, Red Hat Linux 2.4.20, TCP bulk data (ttcp), interrupt and process affinity set by hand",
};

const ELI: Source = Source {
    authors: "A. Gordon, N. Amit, N. Har'El, M. Ben-Yehuda, A. Landau, A. Schuster, D. Tsafrir",
    title: "ELI: Bare-Metal Performance for I/O Virtualization",
    venue: "ASPLOS 2012",
    locator: "abstract; §5 evaluation (netperf, Apache, Memcached)",
    setup: "KVM guest with an SR-IOV NIC assigned (device assignment), interrupt coalescing on; baseline: the host intercepts every interrupt",
};

const MALKA: Source = Source {
    authors: "M. Malka, N. Amit, M. Ben-Yehuda, D. Tsafrir",
    title: "rIOMMU: Efficient IOMMU for I/O Devices that Employ Ring Buffers",
    venue: "ASPLOS 2015",
    locator: "abstract (netperf and other standard networking benchmarks)",
    setup: "Linux strict IOMMU mode (map and unmap per DMA buffer) against no IOMMU, 10/40 GbE NIC",
};

const FARSHIN: Source = Source {
    authors: "A. Farshin, L. Rizzo, K. Elmeleegy, D. Kostić",
    title: "Overcoming the IOTLB wall for multi-100-Gbps Linux-based networking",
    venue: "PeerJ Computer Science, 2023",
    locator: "abstract",
    setup: "Intel Xeon Scalable and AMD EPYC, 200 Gb/s NIC, Linux kernel networking with the IOMMU on",
};

const PCIE_BENCH: Source = Source {
    authors: "R. Neugebauer, G. Antichi, J. F. Zazo, Y. Audzevich, S. López-Buedo, A. W. Moore",
    title: "Understanding PCIe performance for end host networking",
    venue: "ACM SIGCOMM 2018",
    locator: "§6 (IOMMU), latency with the IOMMU on and a small window",
    setup: "NFP6000 / NetFPGA on a Haswell/Broadwell Xeon, PCIe Gen3 x8, DMA reads and writes within a window the IOTLB covers",
};

const ZEROCOPY: Source = Source {
    authors: "W. de Bruijn, E. Dumazet",
    title: "sendmsg copy avoidance with MSG_ZEROCOPY",
    venue: "netdev 2.1, 2017; Linux Documentation/networking/msg_zerocopy.rst",
    locator: "msg_zerocopy.rst, Introduction",
    setup: "TCP and UDP sends from user space; page pinning and completion notification replace the copy",
};

/// The suite.
pub fn published() -> Vec<Case> {
    vec![
        Case {
            name: "napi-overload-interrupts",
            topic: "interrupt mitigation with NAPI",
            source: OLSSON,
            published: "60-byte packets offered at 890 kpps, ≈2.4× what the machine delivered: 17 RX interrupts for 1,000,000 packets (1.7e-5 per packet)",
            published_value: 17.0 / 1e6,
            quantity: "interrupts per offered packet, NAPI, no coalescing, no reader, at 2.4× the core's softirq capacity",
            band: (0.0, 0.01),
            tolerance: "the shape, not the count: under overload NAPI keeps polling, so interrupts nearly vanish; accepted below 1 per 100 packets (the published count depends on the poll's timing on that CPU)",
            verified: "the table's figures and legend (read in NAPI_HOWTO.txt, rev. 0.2.1: \"Tput\" == packets out of total 1M that made it out, \"txint\" == transmit completion interrupts seen: a forwarding test); the CPU model is not stated",
            lacks: "NAPI would have to keep the interrupt masked while packets keep arriving faster than the poll drains them",
            run: napi_overload,
        },
        Case {
            name: "napi-light-interrupts",
            topic: "interrupt mitigation with NAPI",
            source: OLSSON,
            published: "1440-byte packets at 85 kpps (≈0.23× the machine's 60-byte capacity): 946,576 RX interrupts for 1,000,000 packets (0.95 per packet)",
            published_value: 0.946_576,
            quantity: "interrupts per offered packet, NAPI, no coalescing, no reader, at 0.23× the core's softirq capacity",
            band: (0.5, 1.0),
            tolerance: "at light load most polls find the ring empty after one packet; accepted from 0.5 to 1 interrupt per packet",
            verified: "the table's figures and legend (read in NAPI_HOWTO.txt, rev. 0.2.1: \"Tput\" == packets out of total 1M that made it out, \"txint\" == transmit completion interrupts seen: a forwarding test); the CPU model is not stated",
            lacks: "at light load each poll should find one packet and re-enable the interrupt",
            run: napi_light,
        },
        Case {
            name: "livelock-collapse",
            topic: "receive livelock",
            source: MOGUL,
            published: "without polling, output peaks at the maximum loss-free receive rate and then falls as input rises; with a user-level process in the path (screend) it falls to zero: \"no packets are delivered to the user application\"",
            published_value: 0.0,
            quantity: "delivered at the highest offered load (≥3× the peak's load) over the peak, interrupt per packet, no NAPI",
            band: (0.0, 0.1),
            tolerance: "the shape: accepted when the user-level reader gets under 10% of its peak at the highest load",
            verified: "the abstract's statement and the figures' shapes (course notes and the abstract); the exact curve values could not be read",
            lacks: "interrupt work at hard-IRQ priority would have to starve the process that reads the packets",
            run: livelock,
        },
        Case {
            name: "polling-quota-plateau",
            topic: "receive livelock",
            source: MOGUL,
            published: "polling with a quota (NAPI's ancestor) keeps output at the maximum loss-free receive rate however high the input",
            published_value: 1.0,
            quantity: "delivered at the highest offered load over the peak, NAPI",
            band: (0.9, 1.05),
            tolerance: "a plateau: accepted within 10% of the peak",
            verified: "the paper's design and conclusion (abstract and course notes); the plateau's exact level could not be read",
            lacks: "the poll's budget would have to leave the reader its share at any load",
            run: polling_plateau,
        },
        Case {
            name: "irq-affinity-gain",
            topic: "interrupt steering and affinity",
            source: FOONG,
            published: "interrupt affinity alone: up to 25% more throughput; process and interrupt affinity together: up to 29%",
            published_value: 0.29,
            quantity: "CPU per packet with the reader on the other package over on the IRQ's CPU, minus 1 (the throughput gain of a CPU-bound transfer), at the most the reader on the IRQ's core keeps up with",
            band: (0.145, 0.58),
            tolerance: "within a factor of 2 of 29%: their gain also counts cache misses in the TCP stack and machine clears the model does not have, and the model's cache-transfer costs per line are a later machine's",
            verified: "the 25% and 29% (abstract, read); the CPU model and clock are not stated in what could be read",
            lacks: "the cost of running the stack and the reader on different CPUs (cache transfers of socket and packet lines)",
            run: affinity,
        },
        Case {
            name: "eli-vs-bare-metal",
            topic: "virtualized interrupt delivery",
            source: ELI,
            published: "with exitless interrupts, guests reach 97–100% of bare-metal throughput",
            published_value: 0.985,
            quantity: "throughput of a VM with an assigned NIC and posted (exitless) interrupts over bare metal, saturated",
            band: (0.94, 1.01),
            tolerance: "the published 97–100%, widened by 3 points below for the model's VM exits other than interrupts",
            verified: "the 97–100% and 1.3–1.6× (abstract, read); per-benchmark figures could not be read",
            lacks: "a guest whose interrupts do not exit should run at bare-metal speed",
            run: eli_vs_bare,
        },
        Case {
            name: "eli-gain",
            topic: "virtualized interrupt delivery",
            source: ELI,
            published: "exitless interrupts improve throughput over host-injected interrupts by 1.3×–1.6×",
            published_value: 1.45,
            quantity: "throughput with posted interrupts over an emulated APIC (every interrupt and EOI exits), saturated",
            band: (1.15, 1.85),
            tolerance: "the published 1.3–1.6×, widened by about 15% on each side: ELI's baseline used interrupt coalescing, and the model's exit costs are a later CPU's",
            verified: "the 1.3–1.6× (abstract, read)",
            lacks: "the cost of the exits an injected interrupt causes, relative to the guest's per-packet work",
            run: eli_gain,
        },
        Case {
            name: "eli-interrupt-exits",
            topic: "virtualized interrupt delivery",
            source: ELI,
            published: "ELI removes the host from the interrupt path: the guest/host switches of assigned-device interrupts (over 150K interrupts/s in their baseline) are gone",
            published_value: 1.0,
            quantity: "share of interrupt-caused exits (external interrupt, EOI) that posted interrupts remove",
            band: (0.9, 1.0),
            tolerance: "\"mostly exitless\": accepted when at least 90% of the interrupt exits are gone",
            verified: "the statement and the 150K interrupts/s (introduction, read)",
            lacks: "posted delivery and virtual EOI without exits",
            run: eli_exits,
        },
        Case {
            name: "riommu-strict-drop",
            topic: "IOMMU",
            source: MALKA,
            published: "the strict IOMMU degrades throughput \"by up to an order of magnitude\"; rIOMMU is 7.56× faster than it and within 0.77–1.00× of no IOMMU, so strict mode ran at 0.10–0.13× of no IOMMU in that benchmark",
            published_value: 0.13,
            quantity: "throughput with a strict IOMMU and per-packet maps over no IOMMU, 1500-byte frames at 10 GbE line rate",
            band: (0.065, 0.26),
            tolerance: "within a factor of 2 of 0.13: the invalidation cost of their IOMMU is not stated",
            verified: "7.56×, 0.77–1.00× and \"up to an order of magnitude\" (abstract, read); which benchmark gave 7.56× could not be read",
            lacks: "the strict mode's cost per unmap (the IOTLB invalidation and its wait, the IOVA allocator) at that machine's scale; the model's invalidation cost is an estimate",
            run: riommu,
        },
        Case {
            name: "iotlb-wall",
            topic: "IOMMU / IOTLB",
            source: FARSHIN,
            published: "with the IOMMU on, IOTLB misses cost up to 20% of throughput at 200 Gb/s; hugepage-backed buffers recover it completely",
            published_value: 0.8,
            quantity: "throughput with 4 KiB IOMMU pages and a working set beyond the IOTLB over no IOMMU, line rate",
            band: (0.7, 0.9),
            tolerance: "the published 20% drop, ±10 points",
            verified: "the 20% and the recovery with hugepages (abstract, read)",
            lacks: "IOTLB misses that limit the DMA rate: the model adds each walk to its DMA's latency but lets the NIC's DMAs overlap without limit, and its two cores saturate at a few Mpps, long before the IOMMU would",
            run: iotlb_wall,
        },
        Case {
            name: "iommu-no-pressure",
            topic: "IOMMU / IOTLB",
            source: PCIE_BENCH,
            published: "with the IOMMU on and a window the IOTLB covers, DMA latency does not change measurably",
            published_value: 1.0,
            quantity: "median packet latency translating through 4 KiB IOMMU pages, 128 KiB working set, over no IOMMU",
            band: (0.97, 1.03),
            tolerance: "\"no measurable change\": accepted within 3%",
            verified: "the statement (paper §6, as quoted in the project's cost sources)",
            lacks: "IOTLB hits that cost nothing",
            run: iommu_no_pressure,
        },
        Case {
            name: "msg-zerocopy-threshold",
            topic: "zero-copy vs copy",
            source: ZEROCOPY,
            published: "MSG_ZEROCOPY is \"generally only effective at writes over around 10 KB\": page pinning and completion notification cost more than a small copy",
            published_value: 10_240.0,
            quantity: "smallest send (bytes of frame, 1–9 KB) from which on MSG_ZEROCOPY costs the sender's core less CPU per send than copying (\"none\" = no size in the sweep)",
            band: (5_120.0, NO_CROSSOVER),
            tolerance: "copying must not lose below half the published 10 KB; a crossover above the sweep's largest frame (9,018 B) agrees",
            verified: "the sentence (msg_zerocopy.rst, read)",
            lacks: "the per-send cost of pinning pages and of the completion notification relative to a copy of a few KB",
            run: zerocopy_threshold,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The suite states at least 8 cases, each with a citation, a band
    /// stated before the run, and a name of its own.
    #[test]
    fn the_suite_is_at_least_eight_cited_cases_with_tolerances() {
        let cases = published();
        assert!(cases.len() >= 8);
        let mut names: Vec<&str> = cases.iter().map(|c| c.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), cases.len());
        for c in &cases {
            for field in [c.source.authors, c.source.title, c.source.venue, c.source.locator, c.source.setup] {
                assert!(!field.is_empty(), "{}", c.name);
            }
            assert!(c.band.0 <= c.band.1 && c.band.0.is_finite(), "{}", c.name);
            assert!(!c.tolerance.is_empty() && !c.lacks.is_empty() && !c.verified.is_empty(), "{}", c.name);
        }
        for topic in ["NAPI", "livelock", "affinity", "virtualized", "IOMMU", "zero-copy"] {
            assert!(cases.iter().any(|c| c.topic.contains(topic)), "no case on {topic}");
        }
    }

    /// The verdict is the band's, whatever the value: a value outside fails
    /// and carries what the model lacks.
    #[test]
    fn the_verdict_comes_from_the_band() {
        fn inside(_: bool) -> Result<Computed, String> {
            Ok(Computed { value: 0.5, detail: String::new() })
        }
        fn outside(_: bool) -> Result<Computed, String> {
            Ok(Computed { value: 2.0, detail: String::new() })
        }
        fn nan(_: bool) -> Result<Computed, String> {
            Ok(Computed { value: f64::NAN, detail: String::new() })
        }
        let mut c = published().remove(0);
        c.band = (0.0, 1.0);
        for (run, holds) in [(inside as fn(bool) -> _, true), (outside, false), (nan, false)] {
            c.run = run;
            let r = run_case(&c, true).unwrap();
            assert_eq!(r.holds, holds);
            assert_eq!(r.lacks.is_empty(), holds);
        }
    }

    #[test]
    fn napi_is_compared_in_olssons_setting_where_the_softirq_bounds_the_core() {
        // No reader: the softirq takes every packet off the ring and drops
        // it at the socket lookup, as a forwarding softirq would forward it.
        let m = run(&[&softirq_only(true), &Settings::new().set("workload.rate_pps", 6_000_000.0)]).unwrap();
        assert_eq!(num(&m, "packets.delivered"), 0.0);
        let taken = num(&m, "queues.0.packets");
        assert!(
            taken > 0.0 && num(&m, "packets.dropped.no_socket") >= taken - 512.0,
            "every packet taken is dropped at the socket"
        );
        assert!(num(&m, "packets.dropped.rx_ring_full") > 0.0, "beyond its capacity the ring overflows");
        // There NAPI keeps polling: interrupts all but vanish; at light load
        // most interrupts bring a packet or two.
        let heavy = napi_overload(true).unwrap().value;
        assert!(heavy < 1e-4, "{heavy}");
        let light = napi_light(true).unwrap().value;
        assert!((0.5..=1.0).contains(&light), "{light}");
    }

    #[test]
    fn affinity_is_compared_where_the_reader_on_the_irqs_core_keeps_up() {
        let c = affinity(true).unwrap();
        assert!(c.detail.contains("the other package's reader keeps up too: yes"), "{}", c.detail);
        assert!((0.145..=0.58).contains(&c.value), "{}", c.detail);
        // Beyond it the IRQ's core, reader included, falls behind: UDP
        // queues and drops what a TCP sender would not have sent.
        let base = Settings::new()
            .set("duration_ms", 40.0)
            .set("machine.cores", 2)
            .set("machine.sockets", 2)
            .set("nic.queues", 1)
            .set("apps", readers_on([0]))
            .set("workload.rate_pps", 800_000.0);
        assert!(!kept_up(&run(&[&base]).unwrap()));
    }

    /// Two runs of the suite give the same document.
    #[test]
    fn the_published_suite_is_deterministic() {
        let a = serde_json::to_string(&run_published(true).unwrap()).unwrap();
        let b = serde_json::to_string(&run_published(true).unwrap()).unwrap();
        assert_eq!(a, b);
    }
}
