//! Reading a machine's files under a root directory (`/` for the machine
//! itself, or a saved copy), with symbolic links resolved *inside* the root,
//! and a record of every file, directory and link read so that
//! [`Reader::save`] can copy exactly those to another directory.
//!
//! Paths are given as the machine names them (`/sys/class/net/eth0/device`);
//! the reader maps them under its root. A link whose target is absolute is
//! taken relative to the root, so a saved copy never reads outside itself.

use crate::error::HostError;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Most links followed while resolving one path (the kernel's `MAXSYMLINKS`).
const MAX_LINKS: usize = 40;

/// What was read, by path on the machine.
#[derive(Debug, Default)]
struct Record {
    files: BTreeMap<String, String>,
    links: BTreeMap<String, String>,
    dirs: BTreeSet<String>,
}

/// Reads files under a root directory and remembers what it read.
#[derive(Debug)]
pub struct Reader {
    root: PathBuf,
    record: RefCell<Record>,
}

impl Reader {
    /// A reader of the machine's files under `root` (`/` for this machine).
    /// Fails (as an I/O problem) when `root` is not a readable directory.
    pub fn new(root: impl Into<PathBuf>) -> Result<Reader, HostError> {
        let root = root.into();
        match fs::metadata(&root) {
            Ok(m) if m.is_dir() => Ok(Reader { root, record: RefCell::default() }),
            Ok(_) => Err(HostError::Io { file: root.display().to_string(), message: "not a directory".into() }),
            Err(e) => Err(HostError::Io { file: root.display().to_string(), message: e.to_string() }),
        }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where a machine path is on this reader's disk.
    pub fn on_disk(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }

    /// Resolves every symbolic link along `path` inside the root; returns the
    /// machine path it names (which may not exist).
    pub fn resolve(&self, path: &str) -> String {
        let mut done: Vec<String> = Vec::new();
        let mut todo: VecDeque<String> = components(path).collect();
        let mut links = 0;
        while let Some(c) = todo.pop_front() {
            match c.as_str() {
                "." => continue,
                ".." => {
                    done.pop();
                    continue;
                }
                _ => {}
            }
            done.push(c);
            let here = join(&done);
            let Ok(target) = fs::read_link(self.on_disk(&here)) else { continue };
            links += 1;
            if links > MAX_LINKS {
                break;
            }
            let target = target.to_string_lossy().into_owned();
            self.record.borrow_mut().links.insert(here, target.clone());
            done.pop();
            if target.starts_with('/') {
                done.clear();
            }
            for c in components(&target).collect::<Vec<_>>().into_iter().rev() {
                todo.push_front(c);
            }
        }
        done.extend(todo);
        join(&done)
    }

    /// The name a symbolic link points at, such as `ixgbe` for
    /// `/sys/class/net/eth0/device/driver`: the last component of its
    /// target, whether or not the target is there (a saved copy has the
    /// link, not the driver's directory).
    pub fn target_name(&self, path: &str) -> Option<String> {
        let (dir, name) = path.rsplit_once('/')?;
        let link = format!("{}/{name}", self.resolve(dir).trim_end_matches('/'));
        let meta = fs::symlink_metadata(self.on_disk(&link)).ok()?;
        if !meta.file_type().is_symlink() {
            return None;
        }
        self.resolve(&link).rsplit('/').next().filter(|s| !s.is_empty()).map(str::to_owned)
    }

    /// Whether `path` exists (after resolving links).
    pub fn exists(&self, path: &str) -> bool {
        self.on_disk(&self.resolve(path)).exists()
    }

    /// The text of a file, or why it could not be read.
    pub fn read(&self, path: &str) -> Result<String, String> {
        let resolved = self.resolve(path);
        match fs::read_to_string(self.on_disk(&resolved)) {
            Ok(text) => {
                self.record.borrow_mut().files.insert(resolved, text.clone());
                Ok(text)
            }
            Err(e) => Err(why(&e)),
        }
    }

    /// The names in a directory, sorted, or why it could not be listed.
    pub fn list(&self, path: &str) -> Result<Vec<String>, String> {
        let resolved = self.resolve(path);
        let entries = fs::read_dir(self.on_disk(&resolved)).map_err(|e| why(&e))?;
        let mut names: Vec<String> =
            entries.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        self.record.borrow_mut().dirs.insert(resolved);
        Ok(names)
    }

    /// How many files, links and directories were read so far.
    pub fn counts(&self) -> (usize, usize, usize) {
        let r = self.record.borrow();
        (r.files.len(), r.links.len(), r.dirs.len())
    }

    /// Writes every file, link and directory read so far under `dir`, at
    /// the same paths, so that a reader of `dir` reads the same values.
    pub fn save(&self, dir: &Path) -> Result<(), HostError> {
        let io_err = |p: &Path, e: io::Error| HostError::Io { file: p.display().to_string(), message: e.to_string() };
        let r = self.record.borrow();
        let under = |p: &str| dir.join(p.trim_start_matches('/'));
        fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        for d in &r.dirs {
            let p = under(d);
            fs::create_dir_all(&p).map_err(|e| io_err(&p, e))?;
        }
        for (f, text) in &r.files {
            let p = under(f);
            if let Some(parent) = p.parent() {
                fs::create_dir_all(parent).map_err(|e| io_err(parent, e))?;
            }
            fs::write(&p, text).map_err(|e| io_err(&p, e))?;
        }
        for (l, target) in &r.links {
            let p = under(l);
            if let Some(parent) = p.parent() {
                fs::create_dir_all(parent).map_err(|e| io_err(parent, e))?;
            }
            if fs::symlink_metadata(&p).is_ok() {
                fs::remove_file(&p).map_err(|e| io_err(&p, e))?;
            }
            symlink(target, &p).map_err(|e| io_err(&p, e))?;
        }
        Ok(())
    }
}

#[cfg(unix)]
fn symlink(target: &str, link: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn symlink(_target: &str, _link: &Path) -> io::Result<()> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "symbolic links need a Unix system"))
}

fn components(path: &str) -> impl Iterator<Item = String> + '_ {
    path.split('/').filter(|c| !c.is_empty()).map(str::to_owned)
}

fn join(parts: &[String]) -> String {
    format!("/{}", parts.join("/"))
}

/// A short reason for a failed read.
fn why(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "missing".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        io::ErrorKind::InvalidData => "not text".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_resolve_inside_the_root() {
        let tmp = tempfile::Builder::new().prefix("irqlab-host-fs-").tempdir().unwrap();
        let dir = tmp.path();
        fs::create_dir_all(dir.join("sys/devices/pci0000:00/0000:03:00.0/net/eth0")).unwrap();
        fs::create_dir_all(dir.join("sys/class/net")).unwrap();
        fs::write(dir.join("sys/devices/pci0000:00/0000:03:00.0/numa_node"), "1\n").unwrap();
        symlink("../../devices/pci0000:00/0000:03:00.0/net/eth0", &dir.join("sys/class/net/eth0")).unwrap();
        symlink("../../../0000:03:00.0", &dir.join("sys/devices/pci0000:00/0000:03:00.0/net/eth0/device")).unwrap();
        symlink("/sys/devices", &dir.join("abs")).unwrap();
        let r = Reader::new(dir).unwrap();
        assert_eq!(r.read("/sys/class/net/eth0/device/numa_node").unwrap(), "1\n");
        assert_eq!(r.target_name("/sys/class/net/eth0/device").as_deref(), Some("0000:03:00.0"));
        assert_eq!(r.resolve("/abs/pci0000:00"), "/sys/devices/pci0000:00");
        assert_eq!(r.read("/sys/class/net/eth1/speed").unwrap_err(), "missing");
        let copy = dir.join("copy");
        r.save(&copy).unwrap();
        let c = Reader::new(&copy).unwrap();
        assert_eq!(c.read("/sys/class/net/eth0/device/numa_node").unwrap(), "1\n");
    }
}
