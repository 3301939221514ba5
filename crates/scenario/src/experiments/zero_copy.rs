//! `zero-copy`: receive by copying, or by remapping the pages the NIC
//! wrote, by message size and by the number of threads of the receiving
//! process.
//!
//! One flow arrives on one RX queue whose interrupt and softirq run on core
//! 0; one reader on core 1 reads it as a stream of messages of 64 B to
//! 1 MiB. A message smaller than a page travels in one frame; larger ones
//! in frames of one 4 KiB page of payload each, which header split places
//! at the start of a page of their own. The process has 1, 2, 8 or 32
//! threads: the reader, and compute threads on cores 2, 3, … that keep its
//! address space live on their CPUs. Copying costs bandwidth (the message's
//! most recent 64 KiB from the cache, the rest from DRAM); remapping costs
//! the page-table work, the unmap of the previous message's pages and its
//! TLB flush — local `INVLPG`s up to 33 pages, a full flush above — and a
//! shootdown IPI to every other CPU of the process, which the reader waits
//! for.
//!
//! Nothing here encodes the crossover: it is read off the measured CPU
//! time per MB, which comes from the costs of the operations each read did.

use crate::experiment::{
    Column, Experiment, Finding, Ratio, Settings, Variant, VariantResult, by_name, judge, num, run_model,
};
use serde_json::Value;

/// Message sizes, bytes.
const SIZES: [u32; 12] =
    [64, 256, 1 << 10, 4 << 10, 8 << 10, 16 << 10, 32 << 10, 64 << 10, 128 << 10, 256 << 10, 512 << 10, 1 << 20];
/// The quick run's sizes: both sides of every crossover the full run finds.
const QUICK_SIZES: [u32; 6] = [64, 4 << 10, 64 << 10, 128 << 10, 512 << 10, 1 << 20];
/// Threads of the receiving process.
const THREADS: [u32; 4] = [1, 2, 8, 32];
/// Payload bytes per frame of a large message: one page.
const PAGE: u32 = 4096;
/// Protocol headers in front of each payload.
const HEADERS: u32 = 42;
/// Wire rate of the offered stream, Gbit/s.
const GBPS: f64 = 8.0;
/// Most messages per second (small messages: one frame each).
const MAX_MESSAGES_PER_S: f64 = 200_000.0;
/// Messages each variant should read.
const MESSAGES: f64 = 300.0;

pub fn experiment() -> Experiment {
    Experiment {
        name: "zero-copy",
        description: "receive by copy vs page remapping × message size 64 B–1 MiB × 1/2/8/32 threads in the receiving process: CPU per MB, latency, shootdown IPIs, crossover",
        base,
        variants,
        run: run_model,
        columns,
        findings,
    }
}

fn base(_quick: bool) -> Settings {
    Settings::new()
        .set("machine.cores", 33)
        .set("nic.queues", 1)
        .set("nic.affinity", Value::from(vec![0]))
        .set("nic.header_split", true)
        .set("nic.ring_size", 1024)
        .set("kernel.socket_rcvbuf_bytes", 8 << 20)
        .set("workload.flows", 1)
        .set("workload.arrival", "constant")
        .set("apps", crate::experiment::readers_on([1]))
}

fn sizes(quick: bool) -> Vec<u32> {
    if quick { QUICK_SIZES.to_vec() } else { SIZES.to_vec() }
}

fn threads(quick: bool) -> Vec<u32> {
    if quick { vec![1, 32] } else { THREADS.to_vec() }
}

fn name(mode: &str, bytes: u32, threads: u32) -> String {
    format!("{mode}/{}/{threads}t", size_label(bytes))
}

fn size_label(bytes: u32) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{}M", b >> 20),
        b if b >= 1 << 10 => format!("{}K", b >> 10),
        b => format!("{b}B"),
    }
}

/// Frame size and frame rate for messages of `bytes`: one frame per small
/// message, page-payload frames for large ones, at most [`GBPS`] on the wire
/// and [`MAX_MESSAGES_PER_S`].
fn traffic(bytes: u32) -> (u32, f64, f64) {
    let payload = bytes.min(PAGE);
    let frame = payload + HEADERS;
    let frames_per_message = bytes.div_ceil(payload) as f64;
    let wire_fps = GBPS * 1e9 / (8.0 * (frame + 20) as f64);
    let messages_per_s = (wire_fps / frames_per_message).min(MAX_MESSAGES_PER_S);
    (frame, messages_per_s * frames_per_message, messages_per_s)
}

fn variants(quick: bool) -> Vec<Variant> {
    let mut out = Vec::new();
    let messages = if quick { MESSAGES / 2.0 } else { MESSAGES };
    for bytes in sizes(quick) {
        let (frame, fps, mps) = traffic(bytes);
        let duration_ms = (1e3 * messages / mps).max(10.0);
        let tn = threads(quick);
        // Copying does no TLB work: two thread counts show it does not care.
        let copy_threads = [tn[0], tn[tn.len() - 1]];
        for (mode, t) in copy_threads.iter().map(|t| ("copy", *t)).chain(tn.iter().map(|t| ("remap", *t))) {
            out.push(
                Variant::new(name(mode, bytes, t))
                    .set("process.receive", mode)
                    .set("process.message_bytes", bytes)
                    .set("process.threads", t)
                    .set("workload.packet_bytes", frame)
                    .set("workload.rate_pps", fps)
                    .set("duration_ms", (duration_ms * 1000.0).round() / 1000.0),
            );
        }
    }
    out
}

/// The reader's core.
const READER_CORE: usize = 1;

/// Megabytes (10^6 bytes) the reader read.
fn mb(m: &Value) -> f64 {
    num(m, "process.messages") * num(m, "process.message_bytes") / 1e6
}

/// Busy nanoseconds of core `c`, by the contexts' fractions.
fn busy_ns(m: &Value, c: usize) -> f64 {
    let core = &m["cpu"][c];
    (1.0 - num(core, "busy_frac.idle")) * num(m, "duration_s") * 1e9
}

/// CPU time on the reader's core per MB read, µs, over the messages read.
fn reader_us_per_mb(m: &Value) -> Ratio {
    Ratio::new(busy_ns(m, READER_CORE) / 1e3 / mb(m), num(m, "process.messages"), "messages")
}

/// The cores of the compute threads.
fn compute_cores(m: &Value) -> Vec<usize> {
    m["process"]["compute_cores"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c.as_u64()).map(|c| c as usize).collect())
        .unwrap_or_default()
}

/// CPU time on all cores per MB read, µs: every core's busy time except
/// the compute threads' own work.
fn all_us_per_mb(m: &Value) -> Ratio {
    let cores = m["cpu"].as_array().map_or(0, |c| c.len());
    let compute = compute_cores(m);
    let secs = num(m, "duration_s") * 1e9;
    let total: f64 = (0..cores)
        .map(|c| {
            let user = if compute.contains(&c) { num(&m["cpu"][c], "busy_frac.user") * secs } else { 0.0 };
            busy_ns(m, c) - user
        })
        .sum();
    Ratio::new(total / 1e3 / mb(m), num(m, "process.messages"), "messages")
}

/// A per-message ratio of the metric at `path`.
fn per_message(m: &Value, path: &str) -> Ratio {
    let n = num(m, "process.messages");
    Ratio::new(num(m, path) / n.max(1.0), n, "messages")
}

fn columns() -> Vec<Column> {
    vec![
        Column { header: "messages", cell: |v| format!("{}", num(&v.metrics, "process.messages")) },
        Column { header: "reader µs/MB", cell: |v| reader_us_per_mb(&v.metrics).show(1) },
        Column { header: "all cores µs/MB", cell: |v| all_us_per_mb(&v.metrics).show(1) },
        Column {
            header: "p50 µs/msg",
            cell: |v| format!("{:.2}", num(&v.metrics, "process.message_latency_ns.p50") / 1e3),
        },
        Column { header: "pages/msg", cell: |v| per_message(&v.metrics, "tlb.pages_remapped").show(1) },
        Column { header: "IPIs/msg", cell: |v| per_message(&v.metrics, "tlb.shootdown_ipis").show(2) },
        Column {
            header: "others' lost µs/msg",
            cell: |v| per_message(&v.metrics, "tlb.remote_flush_ns").times(1e-3).show(2),
        },
    ]
}

/// The smallest size from which on remapping costs less per MB than
/// copying, by `cost`, at `threads` threads; `None` if it never does.
fn crossover(
    vs: &[VariantResult],
    sizes: &[u32],
    threads: u32,
    copy_threads: u32,
    cost: fn(&Value) -> Ratio,
) -> Option<u32> {
    let wins = |b: u32| -> Option<bool> {
        let r = cost(&by_name(vs, &name("remap", b, threads))?.metrics);
        let c = cost(&by_name(vs, &name("copy", b, copy_threads))?.metrics);
        Some(r.get() < c.get())
    };
    let flags: Vec<(u32, bool)> = sizes.iter().filter_map(|b| Some((*b, wins(*b)?))).collect();
    let from = flags.iter().rposition(|(_, w)| !*w).map_or(0, |i| i + 1);
    flags.get(from).map(|(b, _)| *b)
}

fn show_size(b: Option<u32>) -> String {
    b.map_or("none up to 1 MiB".into(), |b| {
        if b >= 1 << 20 {
            format!("{} MiB", b >> 20)
        } else if b >= 1 << 10 {
            format!("{} KiB", b >> 10)
        } else {
            format!("{b} B")
        }
    })
}

fn findings(vs: &[VariantResult]) -> Vec<Finding> {
    let mut f = Vec::new();
    let present: Vec<u32> =
        SIZES.iter().copied().filter(|b| vs.iter().any(|v| v.name == name("copy", *b, 1))).collect();
    let tn: Vec<u32> = THREADS.iter().copied().filter(|t| vs.iter().any(|v| v.name == name("remap", 64, *t))).collect();
    let (Some(&t_lo), Some(&t_hi)) = (tn.first(), tn.last()) else { return f };
    let Some(&largest) = present.last() else { return f };
    let get = |mode: &str, b: u32, t: u32| by_name(vs, &name(mode, b, t)).map(|v| &v.metrics);

    // 1. Small messages: no page to map, and the zero-copy call costs more.
    let small: Vec<u32> = present.iter().copied().filter(|b| *b < PAGE).collect();
    let mut ratios: Vec<(String, Ratio)> = Vec::new();
    let mut holds = !small.is_empty();
    let mut text = Vec::new();
    for b in &small {
        let (Some(c), Some(r)) = (get("copy", *b, t_lo), get("remap", *b, t_lo)) else { continue };
        let (rc, rr) = (reader_us_per_mb(c), reader_us_per_mb(r));
        holds &= rr.get() > rc.get() && num(r, "tlb.pages_remapped") == 0.0 && num(r, "tlb.shootdown_ipis") == 0.0;
        text.push(format!("{}: {} vs {} µs/MB", size_label(*b), rc.show(0), rr.show(0)));
        ratios.push((format!("copy {}", size_label(*b)), rc));
        ratios.push((format!("remap {}", size_label(*b)), rr));
    }
    let labelled: Vec<(&str, Ratio)> = ratios.iter().map(|(n, r)| (n.as_str(), *r)).collect();
    f.push(judge(
        format!(
            "copying wins for messages smaller than a page: there is no whole page to map, so a remapping read copies every byte anyway and pays the zero-copy call on top (copy vs remap on the reader's core, {t_lo} thread: {}); no page is remapped and no shootdown sent",
            text.join(", ")
        ),
        &labelled,
        || holds,
    ));

    // 2. Large messages: remapping wins.
    let mut ratios: Vec<(String, Ratio)> = Vec::new();
    let mut text = Vec::new();
    let mut holds = true;
    for t in &tn {
        let (Some(c), Some(r)) = (get("copy", largest, t_lo), get("remap", largest, *t)) else { continue };
        let (rc, rr) = (reader_us_per_mb(c), reader_us_per_mb(r));
        holds &= rr.get() < rc.get();
        text.push(format!("{t} thread{} {}", if *t == 1 { "" } else { "s" }, rr.show(0)));
        ratios.push((format!("remap {t}t"), rr));
        if *t == t_lo {
            ratios.push(("copy".into(), rc));
        }
    }
    let copy_large = get("copy", largest, t_lo).map(reader_us_per_mb);
    let labelled: Vec<(&str, Ratio)> = ratios.iter().map(|(n, r)| (n.as_str(), *r)).collect();
    f.push(judge(
        format!(
            "remapping wins for large messages: at {} the reader's core spends {} µs/MB copying but remapping costs {} µs/MB",
            show_size(Some(largest)),
            copy_large.map_or("-".into(), |r| r.show(0)),
            text.join(", ")
        ),
        &labelled,
        || holds,
    ));

    // 3. The crossover, from the data, and how it moves with the threads.
    // Against the copy at one thread: copying does no TLB work (finding 5).
    let copy_hi = t_hi;
    let cross = |t: u32, cost: fn(&Value) -> Ratio| crossover(vs, &present, t, t_lo, cost);
    let all: Vec<(u32, Option<u32>, Option<u32>)> =
        tn.iter().map(|t| (*t, cross(*t, reader_us_per_mb), cross(*t, all_us_per_mb))).collect();
    let order = |o: Option<u32>| o.unwrap_or(u32::MAX);
    let text: Vec<String> = all
        .iter()
        .map(|(t, r, a)| {
            format!(
                "{t} thread{}: {} on all cores ({} on the reader's core)",
                if *t == 1 { "" } else { "s" },
                show_size(*a),
                show_size(*r)
            )
        })
        .collect();
    let lo = all.first().expect("non-empty");
    let hi = all.last().expect("non-empty");
    let enough = tn.iter().all(|t| {
        present.iter().all(|b| {
            get("remap", *b, *t).is_some_and(|m| num(m, "process.messages") >= crate::experiment::MIN_SAMPLES as f64)
        })
    });
    f.push(Finding {
        claim: format!(
            "the crossover — the smallest size from which on remapping costs less CPU per MB than copying — moves up with the process's threads, because each unmap interrupts every other CPU of the process: {}",
            text.join("; ")
        ),
        holds: enough
            && lo.2.is_some()
            && order(hi.2) > order(lo.2)
            && all.windows(2).all(|w| order(w[1].2) >= order(w[0].2) && order(w[1].1) >= order(w[0].1)),
    });

    // 4. Shootdowns: one IPI per other CPU per message, and the time they take.
    if let (Some(r_lo), Some(r_hi)) = (get("remap", largest, t_lo), get("remap", largest, t_hi)) {
        let per_shootdown = |m: &Value| {
            let n = num(m, "tlb.pages_unmapped") / (num(m, "tlb.pages_remapped") / num(m, "process.messages")).max(1.0);
            Ratio::new(num(m, "tlb.shootdown_ipis") / n.max(1.0), n, "unmaps")
        };
        let (i_lo, i_hi) = (per_shootdown(r_lo), per_shootdown(r_hi));
        let (l_lo, l_hi) = (
            per_message(r_lo, "tlb.remote_flush_ns").times(1e-3),
            per_message(r_hi, "tlb.remote_flush_ns").times(1e-3),
        );
        let compute = compute_cores(r_hi);
        let hardirq: f64 = compute.iter().map(|c| num(&r_hi["cpu"][*c], "busy_frac.hardirq")).sum::<f64>()
            / compute.len().max(1) as f64;
        f.push(judge(
            format!(
                "every unmap interrupts every other CPU of the process: {} shootdown IPIs per unmap of a {} message's pages with {t_lo} thread, {} with {t_hi} (one per other CPU, none skipped as lazy: the compute threads never sleep); the other CPUs lose {} µs per message, {:.2}% of each compute core in hard-IRQ context",
                i_lo.show(2),
                show_size(Some(largest)),
                i_hi.show(2),
                l_hi.show(1),
                hardirq * 100.0
            ),
            &[("remap low", i_lo), ("remap high", i_hi)],
            || {
                i_lo.get() == 0.0
                    && (i_hi.get() - (t_hi - 1) as f64).abs() < 1e-9
                    && num(r_hi, "tlb.lazy_skipped") == 0.0
                    && l_hi.get() > l_lo.get()
                    && hardirq > 0.0
            },
        ));
    }

    // 5. Copying does not care about threads; it cares where the data is.
    if let (Some(a), Some(b), Some(mid)) =
        (get("copy", largest, t_lo), get("copy", largest, copy_hi), present.iter().find(|b| **b == 64 << 10))
        && let Some(m) = get("copy", *mid, t_lo)
    {
        let (ca, cb, cm) = (reader_us_per_mb(a), reader_us_per_mb(b), reader_us_per_mb(m));
        let (na, nm) = (num(a, "copy.cpu_ns") / mb(a) / 1e3, num(m, "copy.cpu_ns") / mb(m) / 1e3);
        f.push(judge(
            format!(
                "copying interrupts nobody: {} µs/MB at {} with {t_lo} thread and {} with {copy_hi} (no shootdown); its cost is where the bytes are — the copy alone takes {na:.1} µs/MB for {} messages, mostly from DRAM, against {nm:.1} µs/MB for 64 KiB ones still in the cache",
                ca.show(1),
                show_size(Some(largest)),
                cb.show(1),
                show_size(Some(largest)),
            ),
            &[("copy 1t", ca), ("copy many", cb), ("copy 64K", cm)],
            || {
                (ca.get() - cb.get()).abs() <= 0.01 * ca.get()
                    && num(b, "tlb.shootdown_ipis") == 0.0
                    && na > 2.0 * nm
            },
        ));
    }
    f
}
