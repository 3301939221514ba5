//! `isolation`: what DMA and interrupt remapping stop, and what they leave
//! open, against devices that misbehave.
//!
//! Four cores and queues receive 1 Mpps while one misbehaving device
//! (`[[attackers]]`) acts, under five protection levels: nothing (IOMMU
//! off, no interrupt remapping); pass-through with interrupt remapping;
//! strict invalidation with a page pool; strict and lazy invalidation
//! with per-packet maps — each of the last four with interrupt remapping
//! and compatibility-format MSIs blocked. The attacks:
//!
//! | attack | what the device does |
//! |---|---|
//! | `dma-into-nic` | another device writes into the NIC's receive buffers (their bus addresses) |
//! | `dma-into-kernel` | it writes into kernel memory |
//! | `forged-msi` | it writes a compatibility-format MSI for core 1's vector 0x20 (NIC queue 1's) |
//! | `forged-handle` | it writes a remappable MSI naming IRTE 1 (NIC queue 1's entry) |
//! | `fault-storm` | it writes 2 million times a second to memory nobody maps |
//! | `late-dma` | the NIC writes every 8th buffer again 20 µs after handing it back |
//! | `misdirect` | the NIC writes every 64th frame into kernel memory |
//!
//! A `baseline` row per level has no attacker. Every row's accounting laws
//! hold (a run that breaks one fails the experiment), so "nothing else is
//! lost" is checked on every row.

use crate::experiment::{Column, Experiment, Finding, Settings, Variant, VariantResult, by_name, num, run_model};
use serde_json::{Value, json};

/// Protection levels: name, `iommu.mode`, mapping, interrupt remapping.
const LEVELS: [(&str, &str, &str, bool); 5] = [
    ("none", "off", "page_pool", false),
    ("passthrough", "passthrough", "page_pool", true),
    ("strict/pool", "strict", "page_pool", true),
    ("strict", "strict", "per_packet", true),
    ("lazy", "lazy", "per_packet", true),
];

/// The attacks, as the `attackers` array of the scenario.
fn attacks() -> Vec<(&'static str, Value)> {
    vec![
        ("baseline", json!([])),
        ("dma-into-nic", json!([{"name": "dma-into-nic", "kind": "dma", "target": "nic_buffers", "rate_hz": 200000}])),
        (
            "dma-into-kernel",
            json!([{"name": "dma-into-kernel", "kind": "dma", "target": "kernel_memory", "rate_hz": 200000}]),
        ),
        ("forged-msi", json!([{"name": "forged-msi", "kind": "msi", "vector": 32, "dest_core": 1, "rate_hz": 50000}])),
        ("forged-handle", json!([{"name": "forged-handle", "kind": "msi", "handle": 1, "rate_hz": 50000}])),
        ("fault-storm", json!([{"name": "fault-storm", "kind": "dma", "target": "unowned", "rate_hz": 2000000}])),
        ("late-dma", json!([{"name": "late-dma", "kind": "late_dma", "delay_us": 20, "every": 8}])),
        ("misdirect", json!([{"name": "misdirect", "kind": "misdirect", "target": "kernel_memory", "every": 64}])),
    ]
}

pub fn experiment() -> Experiment {
    Experiment {
        name: "isolation",
        description: "rogue DMA into buffers and kernel memory, forged MSIs, a fault storm, late and misdirected NIC writes — with no IOMMU, pass-through, strict (page pool or per-packet maps) and lazy",
        base,
        variants,
        run: run_model,
        columns,
        findings,
    }
}

fn base(quick: bool) -> Settings {
    Settings::new()
        .set("duration_ms", if quick { 10.0 } else { 30.0 })
        .set("workload.rate_pps", 1_000_000.0)
        .set("iommu.compat_format", "blocked")
}

fn name(attack: &str, level: &str) -> String {
    format!("{attack}/{level}")
}

fn variants(_quick: bool) -> Vec<Variant> {
    let mut out = Vec::new();
    for (attack, attackers) in attacks() {
        for (level, mode, mapping, ir) in LEVELS {
            out.push(
                Variant::new(name(attack, level))
                    .set("attackers", attackers.clone())
                    .set("iommu.mode", mode)
                    .set("iommu.mapping", mapping)
                    .set("iommu.interrupt_remapping", ir),
            );
        }
    }
    out
}

/// The attacker's entry of the metrics, if the run had one.
fn attacker(m: &Value) -> Option<&Value> {
    m["attackers"].as_array()?.first()
}

fn a_num(m: &Value, key: &str) -> f64 {
    attacker(m).map_or(0.0, |a| num(a, key))
}

/// Interrupt messages of the attacker accepted into a local APIC.
fn msi_accepted(m: &Value) -> f64 {
    attacker(m).map_or(0.0, |a| num(a, "msi.accepted") + num(a, "msi.irr_coalesced"))
}

/// Fault reasons with their counts, as `name×n`.
fn reasons(m: &Value) -> String {
    let Some(faults) = m["iommu"]["faults"].as_object() else { return "-".into() };
    if faults.is_empty() {
        return "-".into();
    }
    faults.iter().map(|(k, v)| format!("{k}×{}", v.as_u64().unwrap_or(0))).collect::<Vec<_>>().join(" ")
}

fn columns() -> Vec<Column> {
    vec![
        Column { header: "attempts", cell: |v| format!("{}", a_num(&v.metrics, "attempts")) },
        Column {
            header: "landed",
            cell: |v| {
                let m = &v.metrics;
                if attacker(m).is_some_and(|a| a["kind"] == "msi") {
                    format!("{} irq", msi_accepted(m))
                } else {
                    format!("{}", a_num(m, "dma_landed"))
                }
            },
        },
        Column {
            header: "blocked",
            cell: |v| {
                let m = &v.metrics;
                match attacker(m) {
                    Some(a) if a["kind"] == "msi" => format!("{}", num(a, "msi.blocked_remapping")),
                    Some(a) => format!("{}", num(a, "dma_blocked")),
                    None => "-".into(),
                }
            },
        },
        Column { header: "fault reasons", cell: |v| reasons(&v.metrics) },
        Column {
            header: "overflows",
            cell: |v| {
                if v.metrics["iommu"].is_null() {
                    "-".into()
                } else {
                    format!("{}", num(&v.metrics, "iommu.fault_overflows"))
                }
            },
        },
        Column { header: "kernel writes", cell: |v| format!("{}", num(&v.metrics, "dma.unprotected_kernel")) },
        Column { header: "corrupted", cell: |v| format!("{}", num(&v.metrics, "packets.corrupted")) },
        Column { header: "iommu drops", cell: |v| format!("{}", num(&v.metrics, "packets.dropped.iommu_fault")) },
        Column {
            header: "stale DMAs",
            cell: |v| {
                if v.metrics["iommu"].is_null() {
                    "-".into()
                } else {
                    format!("{}", num(&v.metrics, "iommu.stale_window_dmas"))
                }
            },
        },
        Column { header: "legit kpps", cell: |v| format!("{:.1}", num(&v.metrics, "throughput.delivered_pps") / 1e3) },
    ]
}

/// Faults of `reason` the IOMMU counted.
fn faults(m: &Value, reason: &str) -> f64 {
    m["iommu"]["faults"][reason].as_f64().unwrap_or(0.0)
}

fn findings(vs: &[VariantResult]) -> Vec<Finding> {
    let get = |attack: &str, level: &str| by_name(vs, &name(attack, level)).map(|v| &v.metrics);
    let mut f = Vec::new();
    // Rogue DMA, into the NIC's buffers and into kernel memory.
    for (attack, what) in [("dma-into-nic", "the NIC's receive buffers"), ("dma-into-kernel", "kernel memory")] {
        let (Some(none), Some(pt), Some(strict)) =
            (get(attack, "none"), get(attack, "passthrough"), get(attack, "strict"))
        else {
            continue;
        };
        let tries = a_num(strict, "attempts");
        let kernel = attack == "dma-into-kernel";
        let hit = |m: &Value| if kernel { num(m, "dma.unprotected_kernel") } else { num(m, "dma.unprotected_device") };
        let harm = |m: &Value| {
            if kernel {
                format!("{} bytes of kernel memory overwritten", num(m, "dma.unprotected_bytes"))
            } else {
                format!("{} received frames overwritten before the driver read them", num(m, "packets.corrupted"))
            }
        };
        f.push(Finding {
            claim: format!(
                "a device writing into {what}: with no IOMMU all {} writes land ({}), in pass-through all {} land; strict remapping blocks {} of {} with fault 0x5 (write to a page its domain does not map): {} landed in {what}, {} frames corrupted",
                a_num(none, "attempts"),
                harm(none),
                a_num(pt, "dma_landed"),
                a_num(strict, "dma_blocked"),
                tries,
                hit(strict),
                num(strict, "packets.corrupted")
            ),
            holds: tries > 0.0
                && a_num(none, "dma_landed") == a_num(none, "attempts")
                && hit(none) == a_num(none, "attempts")
                && a_num(pt, "dma_landed") == a_num(pt, "attempts")
                && a_num(strict, "dma_blocked") == tries
                && faults(strict, "write_denied") == tries
                && hit(strict) == 0.0
                && num(strict, "packets.corrupted") == 0.0,
        });
    }
    // Forged MSIs.
    if let (Some(none), Some(strict)) = (get("forged-msi", "none"), get("forged-msi", "strict")) {
        let tries = a_num(none, "attempts");
        f.push(Finding {
            claim: format!(
                "a forged compatibility-format MSI for core 1's vector 0x20: without interrupt remapping {} of {} reach core 1's APIC as NIC queue 1's interrupt (it took {} interrupts, {} in the baseline); with remapping and compatibility format blocked all {} fault with 0x25 and none arrive",
                msi_accepted(none),
                tries,
                num(none, "interrupts.per_core.1"),
                get("baseline", "none").map_or(f64::NAN, |b| num(b, "interrupts.per_core.1")),
                faults(strict, "compat_blocked"),
            ),
            holds: tries > 0.0
                && msi_accepted(none) > 0.9 * tries
                && msi_accepted(strict) == 0.0
                && faults(strict, "compat_blocked") == a_num(strict, "msi.arrived"),
        });
    }
    if let (Some(none), Some(strict)) = (get("forged-handle", "none"), get("forged-handle", "strict")) {
        f.push(Finding {
            claim: format!(
                "a remappable MSI naming NIC queue 1's IRTE from another requester: with remapping, all {} fault with 0x26 (source-id verification: the IRTE names 01:00.0) and none arrive; without remapping the APIC bus cannot decode the format and refuses all {}",
                faults(strict, "source_id_failed"),
                a_num(none, "msi.refused")
            ),
            holds: faults(strict, "source_id_failed") > 0.0
                && faults(strict, "source_id_failed") == a_num(strict, "msi.arrived")
                && msi_accepted(strict) == 0.0
                && msi_accepted(none) == 0.0,
        });
    }
    // The fault storm.
    if let (Some(storm), Some(base)) = (get("fault-storm", "strict/pool"), get("baseline", "strict/pool")) {
        let (d, b) = (num(storm, "throughput.delivered_pps"), num(base, "throughput.delivered_pps"));
        let recorded = num(storm, "iommu.fault_records.recorded");
        f.push(Finding {
            claim: format!(
                "a fault storm of {} writes (strict, page pool): every one faults ({} × 0x5); {} are recorded, {} lost to a full set of recording registers (overflow), {} fault interrupts on CPU 0 drain them; the legitimate traffic keeps {:.0} kpps of its {:.0} kpps without the storm ({:.0}%), and every packet is accounted for",
                a_num(storm, "attempts"),
                faults(storm, "write_denied"),
                recorded,
                num(storm, "iommu.fault_overflows"),
                num(storm, "iommu.dma_api.fault_interrupts"),
                d / 1e3,
                b / 1e3,
                100.0 * d / b
            ),
            holds: faults(storm, "write_denied") == a_num(storm, "attempts")
                && num(storm, "iommu.fault_overflows") > 0.0
                && recorded > 0.0
                && d > 0.0,
        });
    }
    // Use after unmap.
    if let (Some(none), Some(pool), Some(strict), Some(lazy)) =
        (get("late-dma", "none"), get("late-dma", "strict/pool"), get("late-dma", "strict"), get("late-dma", "lazy"))
    {
        let all = |m: &Value| a_num(m, "attempts") > 0.0 && a_num(m, "dma_landed") == a_num(m, "attempts");
        f.push(Finding {
            claim: format!(
                "a NIC that writes buffers 20 µs after handing them back: all {} land with no IOMMU and all {} with a page pool (its pages stay mapped); with strict per-packet maps all {} land too: the per-CPU IOVA cache hands each freed IOVA to the next buffer ({} of {} maps reused one), so the late write finds it mapped again and corrupts another frame ({} frames corrupted); lazy maps do not reuse an IOVA before the flush: of {}, {} land through IOTLB entries of pages already unmapped (the lazy window), {} land before the driver unmapped the buffer, {} fault with 0x5 once their entries are gone; {} frames corrupted",
                a_num(none, "attempts"),
                a_num(pool, "attempts"),
                a_num(strict, "attempts"),
                num(strict, "iommu.dma_api.iova_reused"),
                num(strict, "iommu.dma_api.maps"),
                num(strict, "packets.corrupted"),
                a_num(lazy, "attempts"),
                num(lazy, "iommu.stale_window_dmas"),
                a_num(lazy, "dma_landed") - num(lazy, "iommu.stale_window_dmas"),
                a_num(lazy, "dma_blocked"),
                num(lazy, "packets.corrupted")
            ),
            holds: all(none)
                && all(pool)
                && all(strict)
                && num(strict, "packets.corrupted") > 0.0
                && num(strict, "iommu.dma_api.iova_reused") > 0.9 * num(strict, "iommu.dma_api.unmaps")
                && num(strict, "iommu.stale_window_dmas") == 0.0
                && num(lazy, "iommu.stale_window_dmas") > 0.0
                && num(lazy, "iommu.stale_window_dmas") <= a_num(lazy, "dma_landed")
                && num(lazy, "iommu.stale_window_dmas") > 0.5 * a_num(lazy, "attempts")
                && faults(lazy, "write_denied") == a_num(lazy, "dma_blocked"),
        });
    }
    // The NIC writing frames into kernel memory.
    if let (Some(none), Some(strict)) = (get("misdirect", "none"), get("misdirect", "strict")) {
        f.push(Finding {
            claim: format!(
                "a NIC writing every 64th frame into kernel memory: with no IOMMU {} writes land in kernel memory and {} frames reach applications with stale buffers; strict remapping refuses all {} ({} × 0x5) and the NIC drops those frames ({} iommu_fault drops), none corrupted",
                num(none, "dma.unprotected_kernel"),
                num(none, "packets.corrupted"),
                a_num(strict, "attempts"),
                faults(strict, "write_denied"),
                num(strict, "packets.dropped.iommu_fault")
            ),
            holds: num(none, "dma.unprotected_kernel") > 0.0
                && num(strict, "dma.unprotected_kernel") == 0.0
                && num(strict, "packets.dropped.iommu_fault") == a_num(strict, "attempts")
                && num(strict, "packets.corrupted") == 0.0,
        });
    }
    f
}
