//! A real machine's settings pasted as Linux shows them: cpulists and hex
//! masks for CPU sets, ethtool's hyphenated coalescing names, and
//! `rps_sock_flow_entries = 0` for "RFS off".

use irqlab_scenario::load_str;

#[test]
fn cpu_sets_take_the_format_of_the_file_they_mirror() {
    let s = load_str(
        "[machine]\ncores = 48\n[nic]\nirq_cores = \"0-3,8-11\"\n[kernel]\nrps_cpus = \"ff,00000000\"\nrps_cpus_by_queue = [\"3\", [4, 5], \"0x30\", \"0\"]\n",
        "t.toml",
        &[],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.nic.irq_cores, vec![0, 1, 2, 3, 8, 9, 10, 11]);
    assert_eq!(s.kernel.rps_cpus, (32..40).collect::<Vec<u32>>());
    assert_eq!(s.kernel.rps_cpus_by_queue, vec![vec![0, 1], vec![4, 5], vec![4, 5], vec![]]);
    // Through --set as well.
    let s = load_str("", "t.toml", &["kernel.rps_cpus=\"e\"".into(), "nic.irq_cores=\"1-2\"".into()]).unwrap();
    assert_eq!((s.kernel.rps_cpus, s.nic.irq_cores), (vec![1, 2, 3], vec![1, 2]));
    // A bare number reads as its text: CPU 2 in a cpulist, CPUs 0-1 in the mask 3.
    let s = load_str("", "t.toml", &["kernel.rps_cpus=3".into(), "nic.irq_cores=2".into()]).unwrap();
    assert_eq!((s.kernel.rps_cpus, s.nic.irq_cores), (vec![0, 1], vec![2]));
}

#[test]
fn a_bad_cpu_set_is_named_where_it_is() {
    let e = load_str("[kernel]\nrps_cpus = \"0-3\"\n", "t.toml", &[]).unwrap_err().to_string();
    assert!(e.contains("t.toml:2:12: kernel.rps_cpus") && e.contains("`0-3` in the mask `0-3` is not hex"), "{e}");
    let e = load_str("[nic]\nirq_cores = \"3-1\"\n", "t.toml", &[]).unwrap_err().to_string();
    assert!(e.contains("t.toml:2:13: nic.irq_cores") && e.contains("runs backwards"), "{e}");
}

#[test]
fn ethtool_names_and_rfs_off_are_accepted() {
    let s =
        load_str("[nic.coalesce]\nrx-usecs = 50\nrx-frames = 32\n", "t.toml", &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((s.nic.coalesce.rx_usecs, s.nic.coalesce.rx_frames), (50, 32));
    let s =
        load_str("[kernel]\nrfs = true\nrps_sock_flow_entries = 0\n", "t.toml", &[]).unwrap_or_else(|e| panic!("{e}"));
    let w = s.warnings();
    assert!(w.iter().any(|w| w.path == "kernel.rps_sock_flow_entries" && w.message.contains("RFS off")), "{w:?}");
    let m = irqlab_model::run(&s).expect("runs");
    assert_eq!(m.steering.rfs_moves, 0);
    assert!(m.law_violations.is_empty());
}
