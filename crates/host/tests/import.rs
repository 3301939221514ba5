//! `irqlab import` on saved machines (tests/fixtures/*, laid out as the real
//! /proc and /sys): each imports to the expected scenario values, the
//! scenario loads and runs, malformed files are errors naming file and
//! line, and this machine's own files import without a panic.

use irqlab_host::{HostError, HostInfo, Imported, IrqMode, Reader, render};
use std::fs;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn import(root: &Path, iface: Option<&str>) -> (HostInfo, Imported) {
    let r = Reader::new(root).unwrap_or_else(|e| panic!("{e}"));
    let info = HostInfo::read(&r, iface).unwrap_or_else(|e| panic!("{e}"));
    let out = render(&info);
    (info, out)
}

/// The scenario loads as `irqlab run FILE` loads it, and a short run keeps
/// every conservation law.
fn loads_and_runs(out: &Imported) -> irqlab_scenario::Scenario {
    let s = irqlab_scenario::load_str(&out.toml, "imported.toml", &[])
        .unwrap_or_else(|e| panic!("{e}\n--- scenario ---\n{}", out.toml));
    let short = irqlab_scenario::load_str(&out.toml, "imported.toml", &["duration_ms=0.2".into()]).unwrap();
    let m = irqlab_model::run(&short).unwrap_or_else(|e| panic!("{e}"));
    assert!(m.law_violations.is_empty(), "{:?}", m.law_violations);
    s
}

fn not_read<'a>(out: &'a Imported, what: &str) -> Option<&'a irqlab_host::NotRead> {
    out.not_read.iter().find(|n| n.what == what)
}

/// A fresh scratch directory, `irqlab-host-{tag}-*` in the system's
/// temporary directory, deleted when the guard drops.
fn scratch(tag: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(&format!("irqlab-host-{tag}-")).tempdir().unwrap()
}

/// A scratch copy of a fixture, to break one file of, and the guard that
/// deletes it: hold the guard while the copy is read.
fn copy_of(name: &str, tag: &str) -> (tempfile::TempDir, PathBuf) {
    let guard = scratch(tag);
    let to = guard.path().to_path_buf();
    copy_tree(&fixture(name), &to);
    (guard, to)
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let (src, dst) = (e.path(), to.join(e.file_name()));
        let t = e.file_type().unwrap();
        if t.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&src).unwrap(), &dst).unwrap();
        } else if t.is_dir() {
            copy_tree(&src, &dst);
        } else {
            fs::copy(&src, &dst).unwrap();
        }
    }
}

#[test]
fn ixgbe_two_sockets_with_rps_and_rfs() {
    let (info, out) = import(&fixture("ixgbe"), None);
    let nic = info.nic.as_ref().unwrap();
    assert_eq!(nic.name.value, "eth0", "eth0 sorts before eth1; lo and docker0 have no device");
    assert_eq!(nic.driver.as_ref().unwrap().value, "ixgbe");
    assert_eq!(nic.pci_address.as_deref(), Some("0000:03:00.0"));
    // The chip says IR-PCI-MSI (kernel 5.4), msi_irqs says msix: msi_irqs wins.
    assert_eq!(nic.interrupt_mode.as_ref().unwrap().value, IrqMode::Msix);
    assert_eq!(info.physical_cores.as_ref().unwrap().value, 16);
    assert_eq!(info.packages.as_ref().unwrap().value, 2);
    let s = loads_and_runs(&out);
    assert_eq!((s.machine.cores, s.machine.sockets), (32, 2));
    assert_eq!(s.nic.queues, 16);
    assert_eq!(s.nic.affinity, Some((0..16).collect::<Vec<u32>>()));
    assert_eq!(s.nic.numa_node, 0);
    assert_eq!(s.nic.line_rate_gbps, 10.0);
    let node0: Vec<u32> = (0..8).chain(16..24).collect();
    assert_eq!(s.kernel.rps_cpus, node0);
    assert_eq!((s.kernel.rps_flow_cnt, s.kernel.rps_sock_flow_entries, s.kernel.rfs), (2048, 32768, true));
    assert_eq!((s.kernel.netdev_max_backlog, s.kernel.netdev_budget, s.kernel.netdev_budget_usecs), (5000, 600, 8000));
    assert_eq!(s.kernel.napi_weight, 64);
    // Every value names its file.
    assert!(out.toml.contains("IRQ 95 eth0-TxRx-0, /proc/irq/95/effective_affinity_list"), "{}", out.toml);
    assert!(out.toml.contains("rps_cpus = \"00ff00ff\""), "{}", out.toml);
    assert!(out.toml.contains("/sys/class/net/eth0/queues/rx-*/rps_cpus"), "{}", out.toml);
    // Intel numbering (node 0 = 0-7,16-23) is not the model's consecutive split: said.
    let a = out.adjustments.iter().find(|a| a.what == "machine.sockets").expect("layout note");
    assert!(a.read.contains("node 0 = CPUs 0-7,16-23 (the model: 0-15)"), "{a:?}");
    assert!(out.toml.contains("CPU 8 is on node 1, the NIC on node 0"), "{}", out.toml);
    for what in ["nic.ring_size", "nic.coalesce", "nic.rss_key, nic.reta_size"] {
        assert!(not_read(&out, what).is_some(), "{what}: {:?}", out.not_read);
        assert!(out.toml.contains(&format!("# - {what}:")), "{}", out.toml);
    }
}

#[test]
fn ixgbe_second_port_down_keeps_defaults_it_says() {
    let (info, out) = import(&fixture("ixgbe"), Some("eth1"));
    assert_eq!(info.nic.as_ref().unwrap().name.from, "--iface");
    let s = loads_and_runs(&out);
    assert_eq!(s.nic.queues, 16);
    assert_eq!(s.nic.affinity, Some((0..16).collect::<Vec<u32>>()), "the default: queue i on CPU i mod cores");
    let n = not_read(&out, "nic.affinity").expect("no IRQ for a port that is down");
    assert!(n.why.contains("eth1-TxRx-N"), "{n:?}");
    assert!(not_read(&out, "nic.line_rate_gbps").unwrap().why.contains("/sys/class/net/eth1/speed: missing"));
    assert_eq!(s.nic.line_rate_gbps, 10.0);
    assert!(s.kernel.rps_cpus.is_empty() && !s.kernel.rfs);
}

#[test]
fn mlx5_completion_vectors_all_on_cpu_0() {
    let (info, out) = import(&fixture("mlx5"), None);
    let nic = info.nic.as_ref().unwrap();
    assert_eq!(nic.name.value, "ens1f0np0");
    assert_eq!(nic.vectors.len(), 16, "mlx5_comp0..15, not mlx5_async0");
    assert!(nic.vectors.iter().all(|v| v.name.ends_with("@pci:0000:3b:00.0")));
    let s = loads_and_runs(&out);
    assert_eq!((s.machine.cores, s.machine.sockets), (16, 1));
    assert_eq!(info.physical_cores.as_ref().unwrap().value, 8);
    assert_eq!(s.nic.queues, 16);
    assert_eq!(s.nic.affinity, Some(vec![0; 16]));
    assert_eq!(s.nic.irq_cores, vec![0]);
    assert_eq!(s.nic.line_rate_gbps, 100.0);
    assert!(s.kernel.rps_cpus.is_empty() && !s.kernel.rfs);
    assert_eq!(s.kernel.rps_sock_flow_entries, 0);
    assert!(out.toml.contains("mlx5_comp15@pci:0000:3b:00.0, /proc/irq/136/effective_affinity_list"), "{}", out.toml);
}

#[test]
fn ice_interrupts_on_the_other_numa_node() {
    let (_, out) = import(&fixture("ice"), None);
    let s = loads_and_runs(&out);
    assert_eq!((s.machine.cores, s.machine.sockets), (24, 2));
    assert_eq!(s.nic.queues, 12);
    assert_eq!(s.nic.numa_node, 1);
    assert_eq!(s.nic.affinity, Some((0..12).collect::<Vec<u32>>()));
    assert_eq!(s.nic.irq_cores, (0..12).collect::<Vec<u32>>());
    assert_eq!(s.nic.line_rate_gbps, 25.0);
    assert!(out.toml.contains("ice-ens785f0-TxRx-0, /proc/irq/181/effective_affinity_list"), "{}", out.toml);
    assert_eq!(out.toml.matches("the NIC on node 1").count(), 12, "{}", out.toml);
    // Consecutive nodes: nothing to say about the layout.
    assert!(out.adjustments.iter().all(|a| a.what != "machine.sockets"), "{:?}", out.adjustments);
    assert_eq!(out.values.numa_node, Some(1));
}

#[test]
fn virtio_vm_without_numa_or_effective_affinity() {
    let (info, out) = import(&fixture("virtio"), None);
    let nic = info.nic.as_ref().unwrap();
    assert_eq!(nic.virtio.as_deref(), Some("virtio0"));
    assert_eq!(nic.pci_address.as_deref(), Some("0000:00:03.0"));
    assert_eq!(nic.driver.as_ref().unwrap().value, "virtio_net");
    assert_eq!(nic.vectors.iter().filter(|v| v.role.receives()).count(), 2);
    let s = loads_and_runs(&out);
    assert_eq!((s.machine.cores, s.machine.sockets), (2, 1));
    assert_eq!(s.nic.queues, 2);
    assert_eq!(s.nic.affinity, Some(vec![0, 1]));
    assert_eq!(s.nic.interrupt_mode, irqlab_model::config::InterruptMode::Msix);
    // Fallback to smp_affinity_list, said in the comment.
    assert!(out.toml.contains("virtio0-input.1, /proc/irq/29/smp_affinity_list"), "{}", out.toml);
    assert!(not_read(&out, "machine.sockets").unwrap().why.contains("/sys/devices/system/node: missing"));
    assert!(not_read(&out, "nic.numa_node").unwrap().why.contains("-1"));
    assert!(not_read(&out, "nic.line_rate_gbps").unwrap().why.contains("-1"));
    assert!(out.toml.contains("transmit vectors"), "{}", out.toml);
}

#[test]
fn this_machine_as_saved() {
    let (info, out) = import(&fixture("this-machine"), None);
    let s = loads_and_runs(&out);
    assert_eq!(s.machine.cores, 2);
    let nic = info.nic.as_ref().unwrap();
    assert_eq!((nic.name.value.as_str(), nic.virtio.as_deref()), ("eth0", Some("virtio2")));
    assert_eq!(s.nic.queues, 1);
    assert_eq!(s.nic.affinity, Some(vec![1]));
}

#[test]
fn this_machine_live_imports_or_says_what_it_could_not_read() {
    // Depends on nothing of the host but not panicking: any file may be missing.
    let r = Reader::new("/").unwrap();
    match HostInfo::read(&r, None) {
        Ok(info) => {
            let out = render(&info);
            loads_and_runs(&out);
            for n in &out.not_read {
                assert!(out.toml.contains(&format!("# - {}:", n.what)), "{n:?} not in the file");
            }
        }
        Err(e @ HostError::Malformed { .. }) => eprintln!("this machine's files could not be parsed: {e}"),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn output_is_deterministic_and_save_round_trips() {
    for name in ["ixgbe", "mlx5", "ice", "virtio"] {
        let r = Reader::new(fixture(name)).unwrap();
        let a = render(&HostInfo::read(&r, None).unwrap());
        let b = render(&HostInfo::read(&Reader::new(fixture(name)).unwrap(), None).unwrap());
        assert_eq!(a, b, "{name}");
        let guard = scratch(&format!("save-{name}"));
        let saved = guard.path().join("saved");
        r.save(&saved).unwrap();
        let c = render(&HostInfo::read(&Reader::new(&saved).unwrap(), None).unwrap());
        assert_eq!(a.toml, c.toml, "{name}: the saved copy imports the same");
    }
}

#[test]
fn malformed_files_name_file_and_line() {
    let cases: [(&str, &str, &str, usize, &str); 6] = [
        ("proc/interrupts", "", "proc/interrupts", 1, "header"),
        ("proc/irq/97/effective_affinity_list", "3-1\n", "proc/irq/97/effective_affinity_list", 1, "runs backwards"),
        ("sys/devices/system/cpu/online", "zero\n", "sys/devices/system/cpu/online", 1, "cpulist"),
        (
            "sys/devices/pci0000:00/0000:00:02.0/0000:03:00.0/net/eth0/queues/rx-3/rps_cpus",
            "zz\n",
            "rx-3/rps_cpus",
            1,
            "hex",
        ),
        ("proc/sys/net/core/netdev_budget", "lots\n", "proc/sys/net/core/netdev_budget", 1, "integer"),
        ("sys/devices/pci0000:00/0000:00:02.0/0000:03:00.0/numa_node", "one\n", "0000:03:00.0/numa_node", 1, "integer"),
    ];
    for (i, (file, text, shown, line, says)) in cases.into_iter().enumerate() {
        let (_guard, root) = copy_of("ixgbe", &format!("bad{i}"));
        fs::write(root.join(file), text).unwrap();
        let e = HostInfo::read(&Reader::new(&root).unwrap(), None).unwrap_err();
        let HostError::Malformed { file: f, line: l, message } = &e else { panic!("{file}: {e:?}") };
        assert!(f.ends_with(shown) && *l == line && message.contains(says), "{file}: {e}");
    }
    // A count column that is not a number, on line 12.
    let (_guard, root) = copy_of("ixgbe", "badcount");
    let p = root.join("proc/interrupts");
    let text = fs::read_to_string(&p).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[11] = lines[11].replacen(" 0 ", " x ", 1);
    fs::write(&p, lines.join("\n")).unwrap();
    let e = HostInfo::read(&Reader::new(&root).unwrap(), None).unwrap_err().to_string();
    assert!(e.contains("proc/interrupts:12: IRQ") && e.contains("per-CPU counts"), "{e}");
}

#[test]
fn an_unknown_interface_or_root_is_an_error() {
    let e = HostInfo::read(&Reader::new(fixture("ixgbe")).unwrap(), Some("eth9")).unwrap_err();
    assert!(matches!(&e, HostError::Input(m) if m.contains("eth9") && m.contains("docker0, eth0, eth1, lo")), "{e}");
    assert!(matches!(Reader::new(fixture("no-such-machine")).unwrap_err(), HostError::Io { .. }));
}

/// Writes `files` (path, text) under a fresh scratch directory; returns the
/// guard that deletes it and its path.
fn tree(tag: &str, files: &[(String, String)]) -> (tempfile::TempDir, PathBuf) {
    let guard = scratch(tag);
    let root = guard.path().to_path_buf();
    for (p, t) in files {
        let p = root.join(p);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, t).unwrap();
    }
    (guard, root)
}

#[test]
fn more_cpus_than_the_model_has_are_folded_with_a_note() {
    // 300 CPUs on 2 nodes; queue 3's IRQ on CPU 280; RPS on CPUs 0-3 and 256-259.
    let mut files = vec![
        ("sys/devices/system/cpu/online".to_owned(), "0-299\n".to_owned()),
        ("sys/devices/system/node/node0/cpulist".into(), "0-149\n".into()),
        ("sys/devices/system/node/node1/cpulist".into(), "150-299\n".into()),
        ("sys/devices/pci0000:00/0000:01:00.0/numa_node".into(), "1\n".into()),
        ("sys/devices/pci0000:00/0000:01:00.0/net/eth0/speed".into(), "400000\n".into()),
    ];
    let header: String = (0..300).map(|c| format!(" CPU{c}")).collect();
    let mut interrupts = format!("{header}\n");
    for q in 0..4u32 {
        let counts: String = (0..300).map(|_| " 0").collect();
        interrupts.push_str(&format!("{}: {counts} IR-PCI-MSIX-0000:01:00.0 {q}-edge ice-eth0-TxRx-{q}\n", 200 + q));
        let cpu = if q == 3 { 280 } else { q };
        files.push((format!("proc/irq/{}/effective_affinity_list", 200 + q), format!("{cpu}\n")));
        let base = "sys/devices/pci0000:00/0000:01:00.0/net/eth0/queues";
        // Group 8 (CPUs 256-287) first, group 0 (CPUs 0-31) last.
        files.push((format!("{base}/rx-{q}/rps_cpus"), format!("0000000f,{}0000000f\n", "00000000,".repeat(7))));
        files.push((format!("{base}/rx-{q}/rps_flow_cnt"), "4096\n".into()));
    }
    files.push(("proc/interrupts".into(), interrupts));
    let (_guard, root) = tree("wide", &files);
    fs::create_dir_all(root.join("sys/class/net")).unwrap();
    std::os::unix::fs::symlink("../../devices/pci0000:00/0000:01:00.0/net/eth0", root.join("sys/class/net/eth0"))
        .unwrap();
    std::os::unix::fs::symlink(
        "../../../0000:01:00.0",
        root.join("sys/devices/pci0000:00/0000:01:00.0/net/eth0/device"),
    )
    .unwrap();
    let (_, out) = import(&root, None);
    let s = loads_and_runs(&out);
    assert_eq!((s.machine.cores, s.machine.sockets), (254, 2), "255 is not a multiple of 2 sockets");
    assert_eq!(s.nic.affinity, Some(vec![0, 1, 2, 280 % 254]));
    assert_eq!(s.kernel.rps_cpus, vec![0, 1, 2, 3], "CPUs 256-259 left out");
    assert_eq!(s.nic.line_rate_gbps, 400.0);
    assert_eq!(s.nic.numa_node, 1);
    for what in ["machine.cores", "kernel.rps_cpus"] {
        assert!(out.adjustments.iter().any(|a| a.what == what), "{what}: {:?}", out.adjustments);
    }
    assert!(out.toml.contains("CPU 280 folded to 26"), "{}", out.toml);
    assert!(not_read(&out, "physical cores (a comment only)").is_some());
    assert!(not_read(&out, "kernel.netdev_budget").is_some());
}

#[test]
fn an_empty_root_gives_the_defaults_and_says_so() {
    let (_guard, root) = tree("empty", &[]);
    fs::create_dir_all(&root).unwrap();
    let (info, out) = import(&root, None);
    assert!(info.nic.is_none() && info.cpus.is_none());
    let s = loads_and_runs(&out);
    assert_eq!((s.machine.cores, s.machine.sockets, s.nic.queues), (4, 1, 4));
    for what in ["machine.cores", "machine.sockets", "nic", "kernel.netdev_max_backlog", "nic.affinity"] {
        let n = not_read(&out, what).unwrap_or_else(|| panic!("{what}: {:?}", out.not_read));
        assert!(out.toml.contains(&format!("# - {what}: {}", n.why)), "{}", out.toml);
    }
}

#[test]
fn per_queue_rps_masks_and_unequal_flow_counts() {
    let (_guard, root) = copy_of("ixgbe", "perqueue");
    let q = "sys/devices/pci0000:00/0000:00:02.0/0000:03:00.0/net/eth0/queues";
    fs::write(root.join(format!("{q}/rx-3/rps_cpus")), "ff000000\n").unwrap();
    fs::write(root.join(format!("{q}/rx-5/rps_flow_cnt")), "4096\n").unwrap();
    let (_, out) = import(&root, None);
    let s = loads_and_runs(&out);
    assert_eq!(s.kernel.rps_cpus_by_queue.len(), 16);
    assert_eq!(s.kernel.rps_cpus_by_queue[3], (24..32).collect::<Vec<u32>>());
    assert_eq!(s.kernel.rps_cpus_by_queue[4], (0..8).chain(16..24).collect::<Vec<u32>>());
    assert!(out.toml.contains("\"ff000000\","), "{}", out.toml);
    assert_eq!(s.kernel.rps_flow_cnt, 4096);
    let a = out.adjustments.iter().find(|a| a.what == "kernel.rps_flow_cnt").expect("said");
    assert!(a.why.contains("the largest"), "{a:?}");
}
