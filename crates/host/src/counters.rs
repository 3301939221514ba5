//! A machine's own counters over an interval, in the shape of irqlab's
//! metrics document, so that `irqlab compare` can set them beside a
//! simulated run of the imported scenario: the interface's queue vectors
//! per CPU (`/proc/interrupts`), the system vectors (CAL, RES, TLB, PIN,
//! PIW, PMN rows), `/proc/net/softnet_stat`, and the interface's received
//! packets and bytes (`/sys/class/net/IFACE/statistics`).
//!
//! Two snapshots of the same files — taken live an interval apart, or two
//! saved copies — give the counts in between.

use crate::interrupts::parse as parse_interrupts;
use crate::{HostError, Nic, Reader};
use std::collections::BTreeMap;

/// System-vector rows of `/proc/interrupts` that the metrics document has.
pub const SYSTEM_ROWS: [&str; 6] = ["RES", "CAL", "TLB", "PIN", "PIW", "PMN"];

/// One CPU's line of `/proc/net/softnet_stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SoftnetLine {
    /// The CPU (the 13th column in Linux 5.10 and later, else the line's order).
    pub cpu: u32,
    /// Column 1: packets processed.
    pub processed: u64,
    /// Column 2: dropped at a full backlog.
    pub dropped: u64,
    /// Column 3: `time_squeeze`.
    pub time_squeeze: u64,
    /// Column 10: `received_rps`.
    pub received_rps: u64,
}

/// The counters at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    /// The CPU of each `/proc/interrupts` column.
    pub cpus: Vec<u32>,
    /// Per-CPU counts of each of the interface's queue IRQs, by IRQ.
    pub irqs: BTreeMap<u32, Vec<u64>>,
    /// Per-CPU counts of the system rows present.
    pub system: BTreeMap<String, Vec<u64>>,
    /// `/proc/net/softnet_stat`, if readable.
    pub softnet: Option<Vec<SoftnetLine>>,
    /// `statistics/rx_packets` and `rx_bytes`, if readable.
    pub rx: Option<(u64, u64)>,
}

fn malformed(reader: &Reader, path: &str, line: usize, message: String) -> HostError {
    HostError::Malformed { file: reader.on_disk(path).display().to_string(), line, message }
}

/// Parses `/proc/net/softnet_stat` (hex words, one line per CPU).
pub fn parse_softnet(text: &str) -> Result<Vec<SoftnetLine>, (usize, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let words: Result<Vec<u64>, String> = line
            .split_whitespace()
            .map(|w| u64::from_str_radix(w, 16).map_err(|_| format!("`{w}` is not a hex counter")))
            .collect();
        let w = words.map_err(|e| (i + 1, e))?;
        if w.len() < 10 {
            return Err((i + 1, format!("expected at least 10 hex columns, found {}", w.len())));
        }
        let cpu = match w.get(12) {
            Some(c) => u32::try_from(*c).map_err(|_| (i + 1, format!("CPU {c} is out of range")))?,
            None => out.len() as u32,
        };
        out.push(SoftnetLine { cpu, processed: w[0], dropped: w[1], time_squeeze: w[2], received_rps: w[9] });
    }
    Ok(out)
}

/// The system rows (`CAL:` and the like) with one count per CPU column.
fn system_rows(text: &str, cpus: usize) -> BTreeMap<String, Vec<u64>> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some((label, rest)) = line.trim_start().split_once(':') else { continue };
        if !SYSTEM_ROWS.contains(&label) {
            continue;
        }
        let counts: Vec<u64> = rest.split_whitespace().take(cpus).map_while(|w| w.parse().ok()).collect();
        if counts.len() == cpus {
            out.insert(label.to_string(), counts);
        }
    }
    out
}

impl Snapshot {
    /// Reads the counters under `reader`'s root for the interface `nic`.
    pub fn read(reader: &Reader, nic: &Nic) -> Result<Snapshot, HostError> {
        let path = "/proc/interrupts";
        let text = reader
            .read(path)
            .map_err(|e| HostError::Io { file: reader.on_disk(path).display().to_string(), message: e })?;
        let table = parse_interrupts(&text).map_err(|(line, m)| malformed(reader, path, line, m))?;
        let mut irqs = BTreeMap::new();
        for v in nic.vectors.iter().filter(|v| v.role.receives()) {
            let row = table
                .row(v.irq)
                .ok_or_else(|| malformed(reader, path, 1, format!("IRQ {} ({}) is not in the file", v.irq, v.name)))?;
            irqs.insert(v.irq, row.counts.clone());
        }
        let softnet = match reader.read("/proc/net/softnet_stat") {
            Ok(t) => Some(parse_softnet(&t).map_err(|(line, m)| malformed(reader, "/proc/net/softnet_stat", line, m))?),
            Err(_) => None,
        };
        let stat = |f: &str| -> Option<u64> {
            reader.read(&format!("/sys/class/net/{}/statistics/{f}", nic.name.value)).ok()?.trim().parse().ok()
        };
        let rx = stat("rx_packets").zip(stat("rx_bytes"));
        Ok(Snapshot { system: system_rows(&text, table.cpus.len()), cpus: table.cpus, irqs, softnet, rx })
    }
}

fn delta(a: &[u64], b: &[u64]) -> Vec<u64> {
    b.iter().zip(a).map(|(b, a)| b.saturating_sub(*a)).collect()
}

/// The counts between two snapshots `seconds` apart as a metrics-shaped
/// JSON document: the keys it has mean what they mean in `irqlab run
/// --json` (docs/metrics.md); what a machine does not count is absent.
/// Fails when the snapshots do not match (different CPUs, a counter that
/// went backwards: a reboot in between).
pub fn document(
    nic: &Nic,
    before: &Snapshot,
    after: &Snapshot,
    seconds: f64,
    schema_version: u32,
) -> Result<serde_json::Value, String> {
    use serde_json::json;
    if before.cpus != after.cpus {
        return Err(format!("the snapshots have different CPUs: {:?} and {:?}", before.cpus, after.cpus));
    }
    if !(seconds.is_finite() && seconds > 0.0) {
        return Err(format!("the interval must be positive, got {seconds} s"));
    }
    let backwards = |a: &[u64], b: &[u64]| b.iter().zip(a).any(|(b, a)| b < a);
    let mut per_vector = Vec::new();
    let mut queues = Vec::new();
    let mut total = 0;
    for v in nic.vectors.iter().filter(|v| v.role.receives()) {
        let (Some(a), Some(b)) = (before.irqs.get(&v.irq), after.irqs.get(&v.irq)) else { continue };
        if backwards(a, b) {
            return Err(format!("IRQ {}'s counts went backwards: was the machine rebooted in between?", v.irq));
        }
        let d = delta(a, b);
        let count: u64 = d.iter().sum();
        total += count;
        per_vector.push(json!({ "irq": v.irq, "name": v.name, "chip": v.chip, "count": count, "per_cpu": d }));
        queues.push(json!({ "queue": v.queue, "interrupts": count, "interrupts_per_s": count as f64 / seconds }));
    }
    let mut system = serde_json::Map::new();
    for (row, b) in &after.system {
        if let Some(a) = before.system.get(row) {
            system.insert(row.clone(), json!(delta(a, b)));
        }
    }
    let mut doc = json!({
        "schema_version": schema_version,
        "scenario": format!("counters of {}", nic.name.value),
        "duration_s": seconds,
        "interrupts": {
            "total": total,
            "per_second": total as f64 / seconds,
            "per_vector": per_vector,
            "system": system,
        },
        "queues": queues,
    });
    if let (Some(a), Some(b)) = (&before.softnet, &after.softnet) {
        let rows: Vec<serde_json::Value> = b
            .iter()
            .filter_map(|l| {
                let p = a.iter().find(|x| x.cpu == l.cpu)?;
                Some(json!({
                    "core": l.cpu,
                    "processed": l.processed.saturating_sub(p.processed),
                    "dropped": l.dropped.saturating_sub(p.dropped),
                    "time_squeeze": l.time_squeeze.saturating_sub(p.time_squeeze),
                    "received_rps": l.received_rps.saturating_sub(p.received_rps),
                }))
            })
            .collect();
        doc["softnet"] = json!(rows);
    }
    if let (Some((pa, ba)), Some((pb, bb))) = (before.rx, after.rx) {
        let packets = pb.saturating_sub(pa) as f64;
        doc["throughput"] = json!({
            "delivered_pps": packets / seconds,
            "delivered_gbps": bb.saturating_sub(ba) as f64 * 8.0 / seconds / 1e9,
        });
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softnet_lines_old_and_new() {
        // Linux 5.10+: 13 columns, the CPU last; older: 11, CPU by order.
        let new = "0000a000 00000001 00000002 00000000 00000000 00000000 00000000 00000000 00000000 00000003 00000000 00000000 00000005\n";
        assert_eq!(
            parse_softnet(new).unwrap(),
            [SoftnetLine { cpu: 5, processed: 0xa000, dropped: 1, time_squeeze: 2, received_rps: 3 }]
        );
        let old = "00000010 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000\n00000020 00000000 00000001 00000000 00000000 00000000 00000000 00000000 00000000 00000004 00000000\n";
        let l = parse_softnet(old).unwrap();
        assert_eq!((l[1].cpu, l[1].processed, l[1].time_squeeze, l[1].received_rps), (1, 0x20, 1, 4));
        assert_eq!(parse_softnet("00000010 zz\n").unwrap_err(), (1, "`zz` is not a hex counter".to_string()));
        assert!(parse_softnet("1 2 3\n").unwrap_err().1.contains("at least 10"));
    }

    #[test]
    fn system_rows_take_one_count_per_cpu() {
        let t = "           CPU0       CPU1\n  0:  1 2  IO-APIC 2-edge timer\nRES:   5  6   Rescheduling interrupts\nCAL:  7 8  Function call interrupts\nLOC: 1 1 Local timer interrupts\n";
        let r = system_rows(t, 2);
        assert_eq!(r.keys().collect::<Vec<_>>(), ["CAL", "RES"]);
        assert_eq!(r["RES"], [5, 6]);
    }
}
