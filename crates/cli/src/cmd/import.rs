//! `irqlab import`: a scenario read from the machine it runs on (or from a
//! saved copy of its `/proc` and `/sys` files): CPUs, NUMA nodes, one
//! interface's queues, their IRQs' affinity, RPS/RFS and the `net.core`
//! sysctls, each value with the file it came from. What cannot be read is
//! said on standard error and in the file, with the default used
//! (docs/real-machine.md).

use super::{Failure, note};
use clap::Args;
use irqlab_host::{HostError, HostInfo, Reader};
use std::io::Write;
use std::path::PathBuf;

/// Arguments of `irqlab import`.
#[derive(Args, Debug, Clone)]
pub struct ImportArgs {
    /// Read a saved copy of the machine's files under DIR instead of `/`
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    /// The interface to model (default: the first, sorted, other than `lo` that has a device)
    #[arg(long, value_name = "NAME")]
    pub iface: Option<String>,
    /// Write the scenario to FILE instead of standard output
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also copy every file the import read to DIR, at the same paths, to send to
    /// someone (who imports them with `--root DIR`)
    #[arg(long, value_name = "DIR")]
    pub save: Option<PathBuf>,
}

fn failure(e: HostError) -> Failure {
    match e {
        HostError::Io { .. } => Failure::Io(e.to_string()),
        HostError::Malformed { .. } | HostError::Input(_) => Failure::Input(e.to_string()),
    }
}

/// `irqlab import`.
pub fn run(a: &ImportArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let reader = Reader::new(&a.root).map_err(failure)?;
    let info = HostInfo::read(&reader, a.iface.as_deref());
    // The files read so far are saved even when one of them is malformed:
    // they are what someone else needs to see the problem.
    if let Some(dir) = &a.save {
        reader.save(dir).map_err(failure)?;
        let (files, links, dirs) = reader.counts();
        note(format_args!("import: saved {files} files, {links} links and {dirs} directories under {}", dir.display()));
    }
    let toml = imported_toml(info)?;
    match &a.output {
        Some(path) => {
            std::fs::write(path, &toml).map_err(|e| Failure::Io(format!("writing {}: {e}", path.display())))?;
            note(format_args!("import: wrote {}", path.display()));
        }
        None => out.write_all(toml.as_bytes())?,
    }
    Ok(())
}

/// The scenario of the machine under `root` (`/` for this one), its notes
/// printed on standard error.
pub fn import_scenario(root: &std::path::Path, iface: Option<&str>) -> Result<String, Failure> {
    let reader = Reader::new(root).map_err(failure)?;
    imported_toml(HostInfo::read(&reader, iface))
}

/// Renders what was read, says what was not, and checks that it loads.
fn imported_toml(info: Result<HostInfo, HostError>) -> Result<String, Failure> {
    let info = info.map_err(failure)?;
    let imported = irqlab_host::render(&info);
    if let Some(nic) = &info.nic {
        note(format_args!("import: interface {} ({})", nic.name.value, nic.name.from));
    }
    for n in &imported.not_read {
        note(format_args!("import: not read: {}: {}; using {}", n.what, n.why, n.default_used));
    }
    for c in &imported.adjustments {
        note(format_args!("import: changed to fit the model: {}: {} → {}: {}", c.what, c.read, c.used, c.why));
    }
    // What import writes must load: a scenario it cannot load is a bug here.
    if let Err(e) = irqlab_scenario::load_str(&imported.toml, "<import>", &[]) {
        return Err(Failure::Bug(format!(
            "the imported scenario does not load:\n{e}\n--- scenario ---\n{}",
            imported.toml
        )));
    }
    Ok(imported.toml)
}
