//! Views of a run laid out like the files and tools that tuners read on a
//! real machine: `/proc/interrupts`, `/proc/net/softnet_stat` and
//! `ethtool -S`. The numbers are the metrics document's (`interrupts.per_vector`,
//! `interrupts.system`, `softnet`, `queues`); only the layout is Linux's.

use irqlab_model::Metrics;
use std::fmt::Write;

/// Which view `irqlab run --view` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// `/proc/interrupts`.
    Interrupts,
    /// `/proc/net/softnet_stat`.
    Softnet,
    /// `ethtool -S` per-queue counters.
    Queues,
}

impl View {
    /// Every view, in the order `--view all` prints them.
    pub const ALL: [View; 3] = [View::Interrupts, View::Softnet, View::Queues];
}

/// The selected view of a run.
pub fn render(m: &Metrics, v: View) -> String {
    match v {
        View::Interrupts => proc_interrupts(m),
        View::Softnet => softnet_stat(m),
        View::Queues => ethtool_stats(m),
    }
}

/// The legend Linux prints after a system vector's counts
/// (`arch/x86/kernel/irq.c`, `arch_show_interrupts()`).
fn system_legend(row: &str) -> &'static str {
    match row {
        "CAL" => "Function call interrupts",
        "RES" => "Rescheduling interrupts",
        "TLB" => "TLB shootdowns",
        "PIN" => "Posted-interrupt notification event",
        "PIW" => "Posted-interrupt wakeup event",
        "PMN" => "Posted MSI notification event",
        _ => "",
    }
}

/// `/proc/interrupts`: a header of CPUs, one row per IRQ with its count on
/// each CPU, its chip and flow and its name, then the system vectors.
/// Columns are labelled with the platform's core numbers (`CPU<core>`).
pub fn proc_interrupts(m: &Metrics) -> String {
    let mut o = String::new();
    let cores: Vec<u32> = m.cpu.iter().map(|c| c.core).collect();
    let width = m
        .interrupts
        .per_vector
        .iter()
        .flat_map(|v| v.per_cpu.iter())
        .chain(m.interrupts.system.values().flatten())
        .map(|n| n.to_string().len())
        .max()
        .unwrap_or(1)
        .max(cores.iter().map(|c| format!("CPU{c}").len()).max().unwrap_or(4))
        .max(10);
    let _ = write!(o, "{:>5}", "");
    for c in &cores {
        let _ = write!(o, " {:>width$}", format!("CPU{c}"));
    }
    o.push('\n');
    for v in &m.interrupts.per_vector {
        let _ = write!(o, "{:>4}:", v.irq);
        for c in 0..cores.len() {
            let _ = write!(o, " {:>width$}", v.per_cpu.get(c).copied().unwrap_or(0));
        }
        let disabled = if v.disabled_at_ms.is_some() { "  (disabled: nobody cared)" } else { "" };
        let _ = writeln!(o, "  {:<20} {}{disabled}", v.chip, v.name);
    }
    // Linux's order of the rows (arch_show_interrupts()).
    let order = ["RES", "CAL", "TLB", "PIN", "PIW", "PMN"];
    let rows = order
        .iter()
        .filter_map(|r| m.interrupts.system.get_key_value(r))
        .chain(m.interrupts.system.iter().filter(|(r, _)| !order.contains(r)));
    for (row, counts) in rows {
        let _ = write!(o, "{row:>4}:");
        for c in 0..cores.len() {
            let _ = write!(o, " {:>width$}", counts.get(c).copied().unwrap_or(0));
        }
        let _ = writeln!(o, "  {}", system_legend(row));
    }
    let _ = writeln!(o, " ERR: {:>width$}", m.interrupts.spurious);
    o
}

/// `/proc/net/softnet_stat`'s columns that the model keeps, named as the
/// kernel names them (`net/core/net-procfs.c`); Linux prints them in hex
/// without headers, this view in decimal with them.
pub fn softnet_stat(m: &Metrics) -> String {
    let mut o = String::new();
    let _ =
        writeln!(o, "{:>5} {:>12} {:>10} {:>13} {:>13}", "cpu", "processed", "dropped", "time_squeeze", "received_rps");
    for r in &m.softnet {
        let _ = writeln!(
            o,
            "{:>5} {:>12} {:>10} {:>13} {:>13}",
            r.core, r.processed, r.dropped, r.time_squeeze, r.received_rps
        );
    }
    o
}

/// `ethtool -S eth0`'s per-queue lines (ixgbe's names), then each queue's
/// interrupt count and rate.
pub fn ethtool_stats(m: &Metrics) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "NIC statistics:");
    let total_packets: u64 = m.queues.iter().map(|q| q.packets).sum();
    let total_bytes: u64 = m.queues.iter().map(|q| q.bytes).sum();
    let total_drops: u64 = m.queues.iter().map(|q| q.drops).sum();
    let _ = writeln!(o, "     rx_packets: {total_packets}");
    let _ = writeln!(o, "     rx_bytes: {total_bytes}");
    let _ = writeln!(o, "     rx_dropped: {total_drops}");
    for q in &m.queues {
        let _ = writeln!(o, "     rx_queue_{}_packets: {}", q.queue, q.packets);
        let _ = writeln!(o, "     rx_queue_{}_bytes: {}", q.queue, q.bytes);
        let _ = writeln!(o, "     rx_queue_{}_drops: {}", q.queue, q.drops);
    }
    let _ = writeln!(
        o,
        "\n{:>6} {:>12} {:>14} {:>9} {:>10} {:>12}",
        "queue", "interrupts", "interrupts/s", "rx-usecs", "rx-frames", "dim changes"
    );
    for q in &m.queues {
        let _ = writeln!(
            o,
            "{:>6} {:>12} {:>14.0} {:>9} {:>10} {:>12}",
            q.queue, q.interrupts, q.interrupts_per_s, q.rx_usecs, q.rx_frames, q.moderation_changes
        );
    }
    o
}
