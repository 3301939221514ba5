//! `virt-delivery`: what a VM keeps of bare metal by how it reaches its NIC
//! — the NIC assigned to it (VFIO), a virtio-net device served by a vhost
//! worker, or an emulated e1000e served by the VMM — and by how interrupts
//! reach the guest — an emulated APIC, APICv, or APICv with VT-d posted
//! interrupts — at a low load, at saturation and at line rate.
//!
//! Two cores, two RX queues whose interrupts the NIC masks itself when they
//! fire (EIAM), the same kernel and IOMMU (strict, page pool, interrupt
//! remapping) everywhere; the VM's two vCPUs are pinned to the two
//! cores; a virtio or emulated NIC's back end runs on a third core of its
//! own. Nothing here encodes the answer: the exits, their host time and
//! the guest's throughput and latency come from the model's exits,
//! injections, posted-interrupt processing, HLT and wakeups with the cost
//! model's virtualization rows.

use crate::experiment::{
    Column, Experiment, Finding, Ratio, Settings, Variant, VariantResult, by_name, judge, num, run_model,
};
use serde_json::Value;

/// The configurations: bare metal, then the VM's APIC modes, then posted
/// interrupts with KVM's halt polling (ceiling 200 µs, its default).
const MODES: [&str; 5] = ["bare", "emulated", "apicv", "posted", "posted+poll"];
/// KVM's default `halt_poll_ns`.
const HALT_POLL_NS: u32 = 200_000;
/// The device paths with a host back end, by variant prefix and
/// `vm.device`, each under every APIC mode.
const PATHS: [(&str, &str); 2] = [("virtio", "virtio"), ("e1000e", "emulated")];
/// APIC modes of the back-end paths.
const APICS: [&str; 3] = ["emulated", "apicv", "posted"];
/// Offered loads: low (idle vCPUs halt between packets), saturation (beyond
/// what two cores process, their interrupts still firing: one core's NAPI
/// stays in interrupt mode, the `napi-livelock` dip) and 10 GbE line rate
/// (every poll fills its weight, ksoftirqd carries the polls and no
/// interrupt fires: the two cores' plateau, which the device paths are
/// compared against).
const LOADS: [(&str, f64); 3] = [("low", 100_000.0), ("saturated", 6_000_000.0), ("line-rate", 14_880_000.0)];

pub fn experiment() -> Experiment {
    Experiment {
        name: "virt-delivery",
        description: "a VM's NIC assigned (VFIO), virtio-net with vhost or an emulated e1000e, with an emulated APIC, APICv or VT-d posted interrupts, vs bare metal, at low load, at saturation (6 Mpps, interrupts still firing) and at 10 GbE line rate (every core polling; the device paths compared there): throughput kept, latency, exits per packet by reason, host CPU per packet",
        base,
        variants,
        run: run_model,
        columns,
        findings,
    }
}

fn base(quick: bool) -> Settings {
    Settings::new()
        .set("duration_ms", if quick { 10.0 } else { 40.0 })
        .set("nic.queues", 2)
        // The VF masks a queue's interrupt itself when it fires (EIAM, as
        // ixgbe and ixgbevf program MSI-X), so the interrupt stops before
        // the guest's handler runs.
        .set("nic.auto_mask", true)
        .set("workload.arrival", "constant")
        .set("iommu.mode", "strict")
        .set("iommu.interrupt_remapping", true)
}

fn name(mode: &str, load: &str) -> String {
    format!("{mode}/{load}")
}

fn variants(_quick: bool) -> Vec<Variant> {
    let mut out = Vec::new();
    for (load, rate) in LOADS {
        for mode in MODES {
            let mut v = Variant::new(name(mode, load)).set("workload.rate_pps", rate).set("machine.cores", 2);
            match mode {
                "bare" => {}
                "posted+poll" => {
                    let vm = serde_json::json!({ "cores": [0, 1], "apic": "posted", "halt_poll_ns": HALT_POLL_NS });
                    v = v.set("vm", vm);
                }
                _ => v = v.set("vm", serde_json::json!({ "cores": [0, 1], "apic": mode })),
            }
            out.push(v);
        }
        for (prefix, device) in PATHS {
            for apic in APICS {
                // The back end gets a third core of its own.
                let vm = serde_json::json!({ "cores": [0, 1], "apic": apic, "device": device });
                let v = Variant::new(name(&format!("{prefix}-{apic}"), load))
                    .set("workload.rate_pps", rate)
                    .set("machine.cores", 3)
                    .set("vm", vm);
                out.push(v);
            }
        }
    }
    out
}

use crate::experiment::{per_delivered as per_packet, vm_cell, vm_exits as exits};

fn columns() -> Vec<Column> {
    vec![
        Column {
            header: "delivered kpps",
            cell: |v| format!("{:.1}", num(&v.metrics, "throughput.delivered_pps") / 1e3),
        },
        Column { header: "p50 µs", cell: |v| format!("{:.2}", num(&v.metrics, "latency_ns.p50") / 1e3) },
        Column { header: "p99 µs", cell: |v| format!("{:.2}", num(&v.metrics, "latency_ns.p99") / 1e3) },
        Column {
            header: "exits/pkt",
            cell: |v| vm_cell(&v.metrics, |m| format!("{:.3}", num(m, "vm.exits_per_packet"))),
        },
        Column {
            header: "extint/pkt",
            cell: |v| vm_cell(&v.metrics, |m| per_packet(m, exits(m, "external_interrupt")).show(3)),
        },
        Column { header: "eoi/pkt", cell: |v| vm_cell(&v.metrics, |m| per_packet(m, exits(m, "msr_write")).show(3)) },
        Column { header: "hlt/pkt", cell: |v| vm_cell(&v.metrics, |m| per_packet(m, exits(m, "hlt")).show(3)) },
        Column {
            header: "dev/pkt",
            cell: |v| vm_cell(&v.metrics, |m| per_packet(m, exits(m, "ept_misconfig")).show(3)),
        },
        Column {
            header: "host ns/pkt",
            cell: |v| vm_cell(&v.metrics, |m| format!("{:.0}", num(m, "vm.host_ns_per_packet"))),
        },
        Column {
            header: "backend busy",
            cell: |v| backend_cell(&v.metrics, |b| format!("{:.2}", num(b, "busy_frac"))),
        },
    ]
}

/// A cell of the back end's metrics (`-` on the assigned path and bare metal).
fn backend_cell(m: &Value, cell: impl Fn(&Value) -> String) -> String {
    m.pointer("/vm/backend").filter(|b| !b.is_null()).map_or_else(|| "-".to_string(), cell)
}

fn findings(vs: &[VariantResult]) -> Vec<Finding> {
    let get = |mode: &str, load: &str| by_name(vs, &name(mode, load)).map(|v| &v.metrics);
    let mut f = Vec::new();
    let tput = |m: &Value| num(m, "throughput.delivered_pps");
    // 1. Throughput kept at saturation, by mode.
    if let (Some(bare), Some(em), Some(av), Some(po)) =
        (get("bare", "saturated"), get("emulated", "saturated"), get("apicv", "saturated"), get("posted", "saturated"))
    {
        let keep =
            |m: &Value| Ratio::new(tput(m) / tput(bare).max(1.0), num(m, "packets.delivered"), "delivered packets");
        let (ke, ka, kp) = (keep(em), keep(av), keep(po));
        f.push(judge(
            format!(
                "at saturation a VM keeps {} of bare metal's {:.0} kpps with an emulated APIC, {} with APICv and {} with posted interrupts: each step removes host work per packet ({:.0} → {:.0} → {:.0} ns)",
                ke.times(100.0).show_pct(1),
                tput(bare) / 1e3,
                ka.times(100.0).show_pct(1),
                kp.times(100.0).show_pct(1),
                num(em, "vm.host_ns_per_packet"),
                num(av, "vm.host_ns_per_packet"),
                num(po, "vm.host_ns_per_packet"),
            ),
            &[("emulated", ke), ("apicv", ka), ("posted", kp)],
            || {
                let host = |m: &Value| num(m, "vm.host_ns_per_packet");
                ke.get() < ka.get()
                    && ka.get() <= kp.get()
                    && kp.get() <= 1.0 + 1e-9
                    && host(em) > host(av)
                    && host(av) > host(po)
            },
        ));
    }
    // 2. Which exits disappear (at saturation the vCPUs run: a device
    // interrupt exits instead of waking a halted vCPU).
    if let (Some(em), Some(av), Some(po)) =
        (get("emulated", "saturated"), get("apicv", "saturated"), get("posted", "saturated"))
    {
        let eoi = |m: &Value| per_packet(m, exits(m, "msr_write"));
        let ext = |m: &Value| per_packet(m, exits(m, "external_interrupt"));
        let guest_irqs = |m: &Value| num(m, "interrupts.total");
        f.push(judge(
            format!(
                "where the exits go, at saturation: with an emulated APIC every guest interrupt's EOI exits ({} EOI exits for {} guest interrupts, {} per packet) and the device's interrupts exit ({} per packet); APICv virtualizes the EOIs ({} per packet) but the device's interrupts still exit ({} per packet); posted interrupts leave neither ({} and {} per packet), the processor consuming {} notifications in guest mode",
                exits(em, "msr_write"),
                guest_irqs(em),
                eoi(em).show(3),
                ext(em).show(3),
                eoi(av).show(3),
                ext(av).show(3),
                eoi(po).show(3),
                ext(po).show(3),
                num(po, "vm.notifications_in_guest"),
            ),
            &[("emulated", eoi(em)), ("apicv", ext(av)), ("posted", ext(po))],
            || {
                exits(em, "msr_write") == guest_irqs(em)
                    && ext(em).get() > 0.0
                    && exits(av, "msr_write") == 0.0
                    && ext(av).get() > 0.0
                    && exits(po, "msr_write") == 0.0
                    && exits(po, "external_interrupt") == 0.0
                    && num(po, "vm.notifications_in_guest") > 0.0
            },
        ));
    }
    // 3. Latency at low load, and what remains.
    if let (Some(bare), Some(em), Some(av), Some(po)) =
        (get("bare", "low"), get("emulated", "low"), get("apicv", "low"), get("posted", "low"))
    {
        let p99 = |m: &Value| num(m, "latency_ns.p99") / 1e3;
        let hlt = per_packet(po, exits(po, "hlt"));
        f.push(judge(
            format!(
                "at low load the wire-to-application p99 is {:.2} µs on bare metal, {:.2} with an emulated APIC, {:.2} with APICv and {:.2} with posted interrupts; what posted delivery still pays is the idle vCPU's HLT exit and wakeup ({} HLT exits per packet, all its exits)",
                p99(bare),
                p99(em),
                p99(av),
                p99(po),
                hlt.show(3),
            ),
            &[("posted hlt", hlt)],
            || {
                p99(em) > p99(av)
                    && p99(av) > p99(po)
                    && p99(po) > p99(bare)
                    && (num(po, "vm.exits_per_packet") - hlt.get()).abs() < 1e-9
            },
        ));
    }
    // 4. Halt polling trades host CPU for the wakeup.
    if let (Some(bare), Some(po), Some(pp)) = (get("bare", "low"), get("posted", "low"), get("posted+poll", "low")) {
        let p50 = |m: &Value| num(m, "latency_ns.p50") / 1e3;
        let host = |m: &Value| num(m, "vm.host_ns_per_packet");
        let (ok, fail) = (num(pp, "vm.polls_successful"), num(pp, "vm.polls_failed"));
        let success = Ratio::new(ok / (ok + fail).max(1.0), ok + fail, "halt polls");
        f.push(judge(
            format!(
                "halt polling (KVM's, up to {} µs) removes the wakeup at low load: {} of halts end while polling, the p50 latency falls from {:.2} to {:.2} µs (bare metal {:.2}), and the host spends {:.0} instead of {:.0} ns per packet spinning",
                HALT_POLL_NS / 1000,
                success.times(100.0).show_pct(1),
                p50(po),
                p50(pp),
                p50(bare),
                host(pp),
                host(po),
            ),
            &[("polls", success)],
            || success.get() > 0.5 && p50(pp) < p50(po) && p50(pp) > p50(bare) && host(pp) > host(po),
        ));
    }
    // 5. Saturated guests rarely halt.
    if let (Some(lo), Some(hi)) = (get("posted", "low"), get("posted", "saturated")) {
        let (l, h) = (per_packet(lo, exits(lo, "hlt")), per_packet(hi, exits(hi, "hlt")));
        f.push(judge(
            format!(
                "a busy guest does not halt: HLT exits fall from {} per packet at low load to {} at saturation, and with them the host's time per packet ({:.0} → {:.0} ns, posted)",
                l.show(3),
                h.show(4),
                num(lo, "vm.host_ns_per_packet"),
                num(hi, "vm.host_ns_per_packet"),
            ),
            &[("low", l), ("saturated", h)],
            || h.get() < l.get() / 10.0,
        ));
    }
    device_findings(vs, &mut f);
    f
}

/// The back-end paths: what they keep, where their host time goes, which
/// exits they have.
fn device_findings(vs: &[VariantResult], f: &mut Vec<Finding>) {
    let get = |mode: &str, load: &str| by_name(vs, &name(mode, load)).map(|v| &v.metrics);
    let tput = |m: &Value| num(m, "throughput.delivered_pps");
    let host = |m: &Value| num(m, "vm.host_ns_per_packet");
    let busy = |m: &Value| num(m, "vm.backend.busy_frac");
    // 6. Throughput at line rate by device path, under every APIC mode: at
    // line rate both of bare metal's cores poll (the plateau), so what a
    // back end's third core delivers is compared with what two cores carry,
    // not with a core starved in NAPI's interrupt mode.
    let at = |mode: &str| get(mode, "line-rate");
    let assigned: Vec<_> = APICS.iter().filter_map(|a| at(a)).collect();
    let by_path = |prefix: &str| APICS.iter().filter_map(|a| at(&format!("{prefix}-{a}"))).collect::<Vec<_>>();
    let (virtio, e1000e) = (by_path("virtio"), by_path("e1000e"));
    if let (Some(bare), 3, 3, 3) = (at("bare"), assigned.len(), virtio.len(), e1000e.len()) {
        let keep =
            |m: &Value| Ratio::new(tput(m) / tput(bare).max(1.0), num(m, "packets.delivered"), "delivered packets");
        let list = |ms: &[&Value]| ms.iter().map(|m| keep(m).times(100.0).show_pct(1)).collect::<Vec<_>>().join(" / ");
        let labels = ["assigned", "virtio", "emulated nic"];
        let names: Vec<String> =
            labels.iter().flat_map(|p| APICS.iter().map(move |a| format!("{p} ({a} apic)"))).collect();
        let all: Vec<&Value> = assigned.iter().chain(&virtio).chain(&e1000e).copied().collect();
        let ratios: Vec<(&str, Ratio)> = names.iter().zip(&all).map(|(n, m)| (n.as_str(), keep(m))).collect();
        let (vi, em, po) = (virtio[2], e1000e[2], assigned[2]);
        let ordered = (0..3)
            .all(|i| keep(e1000e[i]).get() < keep(virtio[i]).get() && keep(virtio[i]).get() < keep(assigned[i]).get());
        let backends_busy = virtio.iter().chain(&e1000e).all(|m| busy(m) > 0.9);
        f.push(judge(
            format!(
                "at line rate the device path decides what a VM keeps of bare metal's {:.0} kpps (two cores, both polling), under each APIC mode (emulated / APICv / posted): {} assigned, {} with virtio-net and vhost, {} with an emulated e1000e — a back end's one thread is the bottleneck (busy at least {:.0} % of its core; with posted interrupts {:.0} and {:.0} ns of host time per packet against {:.0} assigned)",
                tput(bare) / 1e3,
                list(&assigned),
                list(&virtio),
                list(&e1000e),
                virtio.iter().chain(&e1000e).map(|m| busy(m)).fold(f64::INFINITY, f64::min) * 100.0,
                host(vi),
                host(em),
                host(po),
            ),
            &ratios,
            || ordered && backends_busy && host(po) < host(vi) && host(vi) < host(em),
        ));
    }
    // 7. virtio's exits at saturation (the vCPUs run): irqfd into APICv does
    // not exit; kicks suppressed.
    if let (Some(ve), Some(va), Some(vp)) =
        (get("virtio-emulated", "saturated"), get("virtio-apicv", "saturated"), get("virtio-posted", "saturated"))
    {
        let ext = |m: &Value| per_packet(m, exits(m, "external_interrupt"));
        let dev = |m: &Value| per_packet(m, exits(m, "ept_misconfig"));
        let (kicks, suppressed) = (num(va, "vm.backend.kicks"), num(va, "vm.backend.kicks_suppressed"));
        f.push(judge(
            format!(
                "virtio's interrupts come through irqfd from the vhost worker's core: with an emulated APIC KVM kicks the running vCPU out to inject ({} external-interrupt exits per packet at saturation, the vCPUs running), with APICv it posts them and notifies without an exit ({} per packet: only wakeup races) — and VT-d posting changes nothing ({} per packet), since only an assigned device's MSIs go through the IRTE; the guest's RX refills exit {} times per packet ({:.0} kicks, {:.0} suppressed: vhost asks for a kick only when it finds no buffer)",
                ext(ve).show(3),
                ext(va).show(3),
                ext(vp).show(3),
                dev(va).show(3),
                kicks,
                suppressed,
            ),
            &[("emulated apic", ext(ve)), ("apicv", ext(va)), ("posted", ext(vp))],
            || {
                ext(va).get() * 4.0 < ext(ve).get()
                    && (ext(va).get() - ext(vp).get()).abs() < 1e-9
                    && kicks == 0.0
                    && suppressed > 0.0
                    && exits(va, "msr_write") == 0.0
            },
        ));
    }
    // 8. The emulated NIC: register accesses exit to user space.
    if let (Some(bare), Some(po), Some(vi), Some(em)) =
        (get("bare", "low"), get("posted", "low"), get("virtio-posted", "low"), get("e1000e-posted", "low"))
    {
        let dev = |m: &Value| per_packet(m, exits(m, "ept_misconfig"));
        let p50 = |m: &Value| num(m, "latency_ns.p50") / 1e3;
        f.push(judge(
            format!(
                "an emulated NIC is where a VM loses most: each of its register accesses exits to the VMM in user space ({} per packet at low load, {:.0} ns of host time per packet against {:.0} with virtio), and the wire-to-application p50 is {:.2} µs against {:.2} with virtio, {:.2} assigned and {:.2} on bare metal (posted interrupts): the back end's wakeup and work sit on every packet's path",
                dev(em).show(3),
                host(em),
                host(vi),
                p50(em),
                p50(vi),
                p50(po),
                p50(bare),
            ),
            &[("emulated nic exits", dev(em))],
            || dev(em).get() > 0.0 && host(em) > host(vi) && p50(em) > p50(vi) && p50(vi) > p50(po) && p50(po) > p50(bare),
        ));
    }
}
