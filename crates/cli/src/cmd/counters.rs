//! `irqlab counters`: the machine's own counters over an interval, as a
//! metrics-shaped JSON document for `irqlab compare` (docs/real-machine.md).

use super::run::parse_duration_ms;
use super::{Failure, note};
use clap::Args;
use irqlab_host::counters::{Snapshot, document};
use irqlab_host::{HostError, HostInfo, Reader};
use std::io::Write;
use std::path::PathBuf;

/// Arguments of `irqlab counters`.
#[derive(Args, Debug, Clone)]
pub struct CountersArgs {
    /// The machine's files: `/` for this one, or a saved copy (`irqlab import --save`)
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    /// The interface (default: as `irqlab import` chooses)
    #[arg(long, value_name = "NAME")]
    pub iface: Option<String>,
    /// Live: how long to count, e.g. `1s`, `500ms`
    #[arg(long, value_parser = parse_duration_ms, default_value = "1s", conflicts_with_all = ["before", "after"])]
    pub interval: f64,
    /// Saved: the counter files at the start (a copy of `/proc/interrupts`,
    /// `/proc/net/softnet_stat`, `/sys/class/net/IFACE/statistics` under DIR)
    #[arg(long, value_name = "DIR", requires_all = ["after", "seconds"])]
    pub before: Option<PathBuf>,
    /// Saved: the same files at the end
    #[arg(long, value_name = "DIR", requires = "before")]
    pub after: Option<PathBuf>,
    /// Saved: seconds between the two copies
    #[arg(long, requires = "before")]
    pub seconds: Option<f64>,
    /// Write the document to FILE instead of standard output
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

fn failure(e: HostError) -> Failure {
    match e {
        HostError::Io { .. } => Failure::Io(e.to_string()),
        HostError::Malformed { .. } | HostError::Input(_) => Failure::Input(e.to_string()),
    }
}

/// `irqlab counters`.
pub fn run(a: &CountersArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let reader = Reader::new(&a.root).map_err(failure)?;
    let info = HostInfo::read(&reader, a.iface.as_deref()).map_err(failure)?;
    let Some(nic) = &info.nic else {
        return Err(Failure::Input(format!("{}: no network interface with a device to count", a.root.display())));
    };
    note(format_args!("counters: interface {} ({})", nic.name.value, nic.name.from));
    let (before, after, seconds) = match (&a.before, &a.after, a.seconds) {
        (Some(b), Some(f), Some(s)) => {
            let sb = Snapshot::read(&Reader::new(b).map_err(failure)?, nic).map_err(failure)?;
            let sa = Snapshot::read(&Reader::new(f).map_err(failure)?, nic).map_err(failure)?;
            (sb, sa, s)
        }
        _ => {
            let sb = Snapshot::read(&reader, nic).map_err(failure)?;
            let t0 = std::time::Instant::now();
            std::thread::sleep(std::time::Duration::from_secs_f64(a.interval / 1e3));
            let sa = Snapshot::read(&reader, nic).map_err(failure)?;
            (sb, sa, t0.elapsed().as_secs_f64())
        }
    };
    if before.softnet.is_none() {
        note(format_args!("counters: not read: /proc/net/softnet_stat: no softnet rows"));
    }
    if before.rx.is_none() {
        note(format_args!("counters: not read: statistics/rx_packets, rx_bytes: no throughput"));
    }
    let doc = document(nic, &before, &after, seconds, irqlab_model::metrics::METRICS_SCHEMA_VERSION)
        .map_err(Failure::Input)?;
    let text = format!("{}\n", serde_json::to_string_pretty(&doc).map_err(|e| Failure::Bug(e.to_string()))?);
    match &a.output {
        Some(p) => std::fs::write(p, text).map_err(|e| Failure::Io(format!("writing {}: {e}", p.display())))?,
        None => out.write_all(text.as_bytes())?,
    }
    Ok(())
}
