//! Reports of a run: the metrics JSON document (schema in docs/metrics.md),
//! a terminal summary, the timeline as Chrome Trace Event JSON (trace.rs)
//! and latency histograms as HdrHistogram logs (hdr.rs); and `irqlab
//! report`'s page, result files read back ([`document`]) and drawn as SVG
//! plots ([`plot`]) into one self-contained HTML page ([`page`],
//! docs/report.md).
//!
//! JSON is produced by serde from [`Metrics`], whose fields are structs and
//! `BTreeMap`s only, so key order is fixed and the same run gives
//! byte-identical output.

#![forbid(unsafe_code)]

use irqlab_model::Metrics;
use std::fmt::Write;

pub mod document;
pub mod hdr;
pub mod page;
pub mod plot;
pub mod settings;
pub mod sweep;
pub mod trace;
pub mod views;
pub use views::View;

/// The metrics document as pretty-printed JSON.
pub fn to_json(m: &Metrics) -> String {
    let mut s = serde_json::to_string_pretty(m).expect("metrics serialise: no maps with non-string keys");
    s.push('\n');
    s
}

/// Formats an integer with thousands separators.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Formats a non-negative quantity rounded to a whole number, with
/// thousands separators as [`thousands`] (a mean in ns, a cost per packet):
/// the summary's integers all look alike. Negative or NaN values show as 0.
pub fn thousands_rounded(v: f64) -> String {
    thousands(v.round() as u64)
}

/// Formats a rate in packets per second with a unit.
pub fn pps(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.3} Mpps", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1} kpps", v / 1e3)
    } else {
        format!("{v:.0} pps")
    }
}

fn pct(v: f64) -> String {
    format!("{:5.1}%", v * 100.0)
}

/// A readable multi-line summary of one run.
pub fn summary(m: &Metrics) -> String {
    let mut o = String::new();
    let p = &m.packets;
    let _ = writeln!(o, "irqlab run: {} (seed {}), {:.1} ms simulated", m.scenario, m.seed, m.duration_s * 1e3);
    if m.vms.len() > 1 {
        // The document is VM 0's guest's: say so before its figures, with
        // every VM's packets together.
        let (offered, delivered) =
            m.vms.iter().fold((0, 0), |(o, d), v| (o + v.packets.offered, d + v.packets.delivered));
        let _ = writeln!(
            o,
            "scope       {} VMs: the figures below are VM 0's (its VF, guest kernel, vCPUs and IRQs) but for `vms` \
             (each VM's) and `iommu`, `remapping`, `engine` and `accounting` (the whole run's); all VMs together: \
             offered {}, delivered {}",
            m.vms.len(),
            thousands(offered),
            thousands(delivered)
        );
    }
    let drops: Vec<String> = p.dropped.iter().map(|(k, v)| format!("{k} {}", thousands(*v))).collect();
    let share = if p.offered > 0 { p.delivered as f64 / p.offered as f64 } else { 0.0 };
    let _ = writeln!(
        o,
        "packets     offered {}  delivered {} ({:.1}%)  in flight {}",
        thousands(p.offered),
        thousands(p.delivered),
        share * 100.0,
        thousands(p.in_flight)
    );
    let _ = writeln!(o, "dropped     {}", drops.join(", "));
    let t = &m.throughput;
    let _ = writeln!(
        o,
        "throughput  offered {}  delivered {}  {:.3} Gbit/s",
        pps(t.offered_pps),
        pps(t.delivered_pps),
        t.delivered_gbps
    );
    if let Some(r) = &m.pcap {
        let others: Vec<String> =
            r.unclassified.iter().filter(|(_, n)| **n > 0).map(|(k, n)| format!("{k} {}", thousands(*n))).collect();
        let _ = writeln!(
            o,
            "pcap        {}: {} frames in {} pass{} ({}×{}): {} to the queues, not offered: {}; {} serialised at line rate, {} padded to 64 bytes",
            r.file,
            thousands(r.frames),
            thousands(r.passes),
            if r.passes == 1 { "" } else { "es" },
            r.speed,
            if r.looping { ", looping" } else { "" },
            thousands(r.to_queues),
            if others.is_empty() { "none".to_string() } else { others.join(", ") },
            thousands(r.serialised),
            thousands(r.padded)
        );
    }
    let l = &m.latency_ns;
    let _ = writeln!(
        o,
        "latency     wire→app ns: p50 {}  p90 {}  p99 {}  p99.9 {}  max {}  mean {}",
        thousands(l.p50),
        thousands(l.p90),
        thousands(l.p99),
        thousands(l.p999),
        thousands(l.max),
        thousands_rounded(l.mean)
    );
    let i = &m.interrupts;
    // Reschedule IPIs wake idle cores as a latency, not through an IRR: not
    // in the total, but `/proc/interrupts` lists them (RES), so say so.
    let res: u64 = i.system.get("RES").map_or(0, |r| r.iter().sum());
    let _ = writeln!(
        o,
        "interrupts  {} total, {:.4} per delivered packet, {}/s{}",
        thousands(i.total),
        i.per_packet,
        thousands(i.per_second.round() as u64),
        if res > 0 { format!("; {} reschedule IPIs (RES) besides", thousands(res)) } else { String::new() }
    );
    let n = &m.napi;
    // Without NAPI (`kernel.napi = false`) the handler queues each frame on
    // its CPU's backlog (`netif_rx`) and the softirq's polls are of the
    // backlog (`process_backlog`): say so, not "napi".
    let (label, polls) =
        if m.resolved_scenario.kernel.napi { ("napi       ", "polls") } else { ("no napi    ", "backlog polls") };
    let _ = writeln!(
        o,
        "{label} {} {polls}, {:.1} packets/poll, {} full, {} time_squeeze, {} ksoftirqd wakeups",
        thousands(n.polls),
        n.packets_per_poll,
        thousands(n.full_polls),
        thousands(n.time_squeeze),
        thousands(n.ksoftirqd_wakeups)
    );
    let _ = writeln!(
        o,
        "apps        {} thread{}, {} wakeups ({:.3} per delivered packet)",
        m.apps.threads,
        if m.apps.threads == 1 { "" } else { "s" },
        thousands(m.apps.wakeups),
        m.apps.wakeups_per_packet
    );
    for g in &m.cgroup {
        let max = g.cpu_max_us.map_or("max".to_string(), |q| q.to_string());
        let _ = writeln!(
            o,
            "cgroup      {}: cpu.max {max} {}, cpu.weight {}{}, usage {:.1} ms, throttled in {} of {} periods ({:.1} ms)",
            g.name,
            g.period_us,
            g.weight,
            if g.batch_cores.is_empty() {
                String::new()
            } else {
                format!(", batch threads on cores {:?}", g.batch_cores)
            },
            g.stat.usage_ns as f64 / 1e6,
            thousands(g.stat.nr_throttled),
            thousands(g.stat.nr_periods),
            g.stat.throttled_ns as f64 / 1e6
        );
    }
    if let Some(v) = &m.vfio {
        let spin_share = if m.duration_s > 0.0 { v.spin_ns as f64 / 1e9 / m.duration_s } else { 0.0 };
        let _ = writeln!(
            o,
            "vfio        {} driver: {} rx bursts ({} empty), spinning {:.1} core-s/s, {} sleeps, {} wakeups ({:.3} per packet), {} eventfd signals; {} DMA maps, {} pages pinned",
            v.mode,
            thousands(v.rx_bursts),
            thousands(v.empty_bursts),
            spin_share,
            thousands(v.sleeps),
            thousands(v.wakeups),
            v.wakeups_per_packet,
            thousands(v.irq_eventfd_signals),
            thousands(v.dma_maps),
            thousands(v.pinned_pages)
        );
        if v.bad_dma > 0 {
            let _ = writeln!(
                o,
                "            buggy driver: {} descriptors with a stray address, {} frames discarded over refused writes (IOMMU faults: see iommu)",
                thousands(v.bad_dma),
                thousands(v.discarded_faulted)
            );
        }
    }
    if let Some(vm) = &m.vm {
        // A guest's cores: time in guest mode, the host's time for it
        // (exits, injections, wakeups), halted or idle.
        let apic = serde_json::to_value(vm.apic).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        let exits: Vec<String> = vm.exits.iter().map(|(k, v)| format!("{k}×{}", thousands(*v))).collect();
        let _ = writeln!(
            o,
            "vm          {apic} APIC: {} exits ({:.3} per packet: {}), host {} ns per packet; {} notifications taken in guest mode, {} wakeups",
            thousands(vm.exits.values().sum()),
            vm.exits_per_packet,
            if exits.is_empty() { "none".to_string() } else { exits.join(" ") },
            thousands_rounded(vm.host_ns_per_packet),
            thousands(vm.notifications_in_guest),
            thousands(vm.wakeups)
        );
        if m.vms.len() > 1 {
            // Several VMs: each one's own packets, latencies and run-queue time.
            for v in &m.vms {
                let cores: Vec<String> = v.cores.iter().map(|c| c.to_string()).collect();
                let wait: f64 = v.vcpu.iter().map(|c| c.runnable_wait_ns).sum();
                let shared = v.vcpu.iter().filter(|c| c.shared).count();
                let _ = writeln!(
                    o,
                    "{}vm {} on cores {} ({} shared): delivered {} of {} packets; latency p99 {} ns; interrupt latency p50 {} ns, p99 {} ns; {} exits; runnable but waiting {:.3} ms in all, {} preemptions, {} wakeups",
                    if v.vm == 0 { "vms         " } else { "            " },
                    v.vm,
                    cores.join(","),
                    shared,
                    thousands(v.packets.delivered),
                    thousands(v.packets.offered),
                    thousands(v.latency_ns.p99),
                    thousands(v.irq_latency_ns.p50),
                    thousands(v.irq_latency_ns.p99),
                    thousands(v.exits.values().sum()),
                    wait / 1e6,
                    thousands(v.vcpu.iter().map(|c| c.preemptions).sum()),
                    thousands(v.posted.wakeups)
                );
            }
        }
        if m.vms.len() <= 1 && (vm.preemptions > 0 || vm.wakeups_behind_host > 0) {
            let _ = writeln!(
                o,
                "            competing host thread: {} preemptions, {} wakeups waited for its turn; interrupt latency p50 {} ns, p99 {} ns, p99.9 {} ns",
                thousands(vm.preemptions),
                thousands(vm.wakeups_behind_host),
                thousands(i.latency_ns.p50),
                thousands(i.latency_ns.p99),
                thousands(i.latency_ns.p999)
            );
        }
        let _ =
            writeln!(o, "\nvcpu  core    guest  hardirq  softirq     user     host   halted  preempted   interrupts");
        for (v, c) in vm.vcpus.iter().zip(&m.cpu) {
            let g = &v.guest_busy_frac;
            let _ = writeln!(
                o,
                "{:>4} {:>5}   {}   {}   {}   {}   {}   {}     {}   {:>10}",
                v.vcpu,
                v.core,
                pct(v.running_frac),
                pct(g.hardirq),
                pct(g.softirq),
                pct(g.user),
                pct(v.host_frac),
                pct(v.halted_frac),
                pct(v.preempted_frac + v.wait_behind_host_ns / 1e9 / m.duration_s.max(1e-12)),
                thousands(c.interrupts)
            );
        }
    } else {
        let _ = writeln!(o, "\ncore socket  hardirq  softirq  kthread     user     idle   interrupts");
        for c in &m.cpu {
            let b = &c.busy_frac;
            let _ = writeln!(
                o,
                "{:>4} {:>6}   {}   {}   {}   {}   {}   {:>10}",
                c.core,
                c.socket,
                pct(b.hardirq),
                pct(b.softirq),
                pct(b.kthread),
                pct(b.user),
                pct(b.idle),
                thousands(c.interrupts)
            );
        }
    }
    let _ = writeln!(o, "\n irq  chip               core  vector      count  unhandled  queues");
    for v in &i.per_vector {
        let queues: Vec<String> = v.queues.iter().map(|q| q.to_string()).collect();
        let _ = writeln!(
            o,
            "{:>4}  {:<17} {:>5}    {:#04x} {:>10} {:>10}  {}{}",
            v.irq,
            v.chip,
            v.core,
            v.vector,
            thousands(v.count),
            thousands(v.unhandled),
            queues.join(","),
            v.disabled_at_ms
                .map_or(String::new(), |t| format!("  DISABLED at {t:.1} ms (nobody cared), polled {}", v.polled))
        );
    }
    let pr = &m.process;
    if pr.message_bytes > 0 || pr.compute_threads > 0 || m.tlb.pages_remapped > 0 {
        let receive =
            serde_json::to_value(pr.receive).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        let _ = writeln!(
            o,
            "process     {receive} receive, {} messages of {} bytes (latency p50 {} ns, p99 {} ns), {} compute threads; copied {} bytes in {:.1} µs of CPU",
            thousands(pr.messages),
            thousands(pr.message_bytes as u64),
            thousands(pr.message_latency_ns.p50),
            thousands(pr.message_latency_ns.p99),
            pr.compute_threads,
            thousands(m.copy.bytes),
            m.copy.cpu_ns / 1e3
        );
    }
    let t = &m.tlb;
    if t.pages_remapped > 0 || t.shootdowns > 0 {
        let _ = writeln!(
            o,
            "tlb         {} pages remapped, {} unmapped; {} shootdowns, {} flush IPIs ({:.2} per message), {} INVLPG, {} full flushes, {} lazy CPUs skipped; other CPUs lost {:.1} µs to flushes",
            thousands(t.pages_remapped),
            thousands(t.pages_unmapped),
            thousands(t.shootdowns),
            thousands(t.shootdown_ipis),
            t.shootdown_ipis_per_message,
            thousands(t.local_invlpg),
            thousands(t.full_flushes),
            thousands(t.lazy_skipped),
            t.remote_flush_ns / 1e3
        );
    }
    if let Some(t) = &m.tx {
        let _ = writeln!(
            o,
            "tx          {} doorbells, {} descriptors: {} stale descriptor reads, {} corrupted transmissions, {} completions, {} TX interrupts",
            thousands(t.doorbells),
            thousands(t.descriptors_posted),
            thousands(t.stale_descriptor_reads),
            thousands(t.corrupted_transmissions),
            thousands(t.completions),
            thousands(t.tx_interrupts)
        );
    }
    if let Some(u) = &m.iommu {
        let st = &u.unit;
        let faults: Vec<String> = st.faults.iter().map(|(k, v)| format!("{k}×{}", thousands(*v))).collect();
        let _ = writeln!(
            o,
            "iommu       {} ({}, {} pages): {} translations, IOTLB {:.1}% hits, {:.3} walks/DMA, {:.1} ns stall/DMA, {} invalidations, map CPU {} ns/packet",
            u.mode,
            serde_json::to_value(u.mapping).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
            u.page_size,
            thousands(st.translations),
            u.iotlb_hit_rate * 100.0,
            u.walks_per_dma,
            u.stall_ns_per_dma,
            thousands(st.invalidations),
            thousands_rounded(u.map_cpu_ns_per_packet)
        );
        let _ = writeln!(
            o,
            "            faults: {}; {} recorded, {} lost to overflow, {} fault interrupts; stale IOTLB entries {} (mean {:.1} µs, max {:.1} µs), {} DMAs through them",
            if faults.is_empty() { "none".to_string() } else { faults.join(" ") },
            thousands(u.fault_records.recorded),
            thousands(u.fault_overflows),
            thousands(u.dma_api.fault_interrupts),
            thousands(st.stale_entries),
            u.stale_window_us_mean,
            u.stale_window_us_max,
            thousands(st.stale_window_dmas)
        );
        if let Some(r) = u.first_fault_records.first() {
            let _ = writeln!(o, "            first fault record {r} (irqlab decode vtd-fault {r})");
        }
    }
    if let Some(ir) = &m.ir {
        let blocked: Vec<String> = ir.blocked.iter().map(|(k, v)| format!("{k}×{}", thousands(*v))).collect();
        let _ = writeln!(
            o,
            "remapping   {} interrupts remapped, blocked: {}",
            thousands(ir.remapped),
            if blocked.is_empty() { "none".to_string() } else { blocked.join(" ") }
        );
    }
    for a in &m.attackers {
        let kind = serde_json::to_value(a.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        let what = match &a.msi {
            Some(msi) => {
                // What the messages sent and not yet arrived at the end add.
                let mut rest = String::new();
                if msi.posted > 0 {
                    rest += &format!(", {} posted to a vCPU", thousands(msi.posted));
                }
                let in_flight = a.attempts.saturating_sub(msi.arrived);
                if in_flight > 0 {
                    rest += &format!(", {} still in flight", thousands(in_flight));
                }
                format!(
                    "{} interrupts reached an APIC, {} blocked by remapping, {} refused{rest}",
                    thousands(msi.accepted + msi.irr_coalesced),
                    thousands(msi.blocked_remapping),
                    thousands(msi.refused)
                )
            }
            None => format!("{} writes landed, {} blocked", thousands(a.dma_landed), thousands(a.dma_blocked)),
        };
        let _ = writeln!(
            o,
            "attacker    {} ({kind}, {}): {} attempts: {what}",
            a.name,
            a.requester_id,
            thousands(a.attempts)
        );
    }
    if !m.attackers.is_empty() {
        let d = &m.dma;
        let _ = writeln!(
            o,
            "            rogue writes in memory: {} ({} into kernel memory, {} into device buffers); {} frames received corrupted",
            thousands(d.unprotected_writes),
            thousands(d.unprotected_kernel),
            thousands(d.unprotected_device),
            thousands(m.packets.corrupted)
        );
    }
    let _ = writeln!(
        o,
        "\nengine      {} events ({:.3} per offered packet)",
        thousands(m.engine.events),
        m.engine.events_per_packet
    );
    let pr = &m.progress;
    if pr.stuck > 0 {
        let why = pr.reason.as_deref().unwrap_or("no modelled reason: a lost wakeup");
        let _ =
            writeln!(o, "progress    {} packets stuck for good once the traffic stopped: {why}", thousands(pr.stuck));
    }
    if m.law_violations.is_empty() {
        let _ = writeln!(o, "accounting  every packet and interrupt accounted for");
    } else {
        for v in &m.law_violations {
            let _ = writeln!(o, "ACCOUNTING BUG  {v}");
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(14_880_952), "14,880,952");
    }

    #[test]
    fn rounded_quantities_are_grouped_like_counts() {
        assert_eq!(thousands_rounded(6649.4), "6,649");
        assert_eq!(thousands_rounded(999.5), "1,000");
        assert_eq!(thousands_rounded(-3.0), "0");
        assert_eq!(thousands_rounded(f64::NAN), "0");
    }

    #[test]
    fn pps_picks_a_unit() {
        assert_eq!(pps(14_880_952.0), "14.881 Mpps");
        assert_eq!(pps(50_000.0), "50.0 kpps");
        assert_eq!(pps(12.0), "12 pps");
    }
}
