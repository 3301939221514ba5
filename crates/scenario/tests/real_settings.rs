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
    // smp_affinity's hex mask, told apart from a cpulist by its 0x.
    let s = load_str("[machine]\ncores = 8\n[nic]\nirq_cores = \"0xf0\"\n", "t.toml", &[]).unwrap();
    assert_eq!(s.nic.irq_cores, vec![4, 5, 6, 7]);
}

#[test]
fn a_bad_cpu_set_is_named_where_it_is() {
    let e = load_str("[kernel]\nrps_cpus = \"0-3\"\n", "t.toml", &[]).unwrap_err().to_string();
    assert!(e.contains("t.toml:2:12: kernel.rps_cpus") && e.contains("`0-3` in the mask `0-3` is not hex"), "{e}");
    assert!(e.contains("the CPUs 0-3 are `f`"), "the error names the mask meant: {e}");
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

#[test]
fn the_indirection_table_takes_ethtool_x_words_or_a_list() {
    let run = |extra: &str| {
        let mut s =
            load_str(&format!("duration_ms = 5\n[nic]\n{extra}\n"), "t.toml", &[]).unwrap_or_else(|e| panic!("{e}"));
        s.duration_ms = 5.0;
        (irqlab_model::run(&s).expect("runs"), s)
    };
    // `ethtool -X eth0 weight 1 0 1 1`: queue 1 gets no entry, so no packet, and a warning says so.
    let (m, s) = run("indirection = \"weight 1 0 1 1\"");
    let packets: Vec<u64> = m.queues.iter().map(|q| q.packets).collect();
    assert_eq!(packets[1], 0, "{packets:?}");
    assert!(packets[0] > 0 && packets[2] > 0 && packets[3] > 0, "{packets:?}");
    assert!(s.warnings().iter().any(|w| w.path == "nic.indirection" && w.message.contains("queue(s) 1")));
    // `equal 2`: only queues 0 and 1.
    let (m, _) = run("indirection = \"equal 2\"");
    assert!(m.queues[0].packets > 0 && m.queues[1].packets > 0);
    assert_eq!(m.queues[2].packets + m.queues[3].packets, 0);
    // An explicit table: everything to queue 3.
    let (m, _) = run("reta_size = 4\nindirection = [3, 3, 3, 3]");
    assert_eq!(m.queues[3].packets, m.queues.iter().map(|q| q.packets).sum::<u64>());
    // What ethtool refuses, named where it is.
    let e = load_str("[nic]\nindirection = \"weight 100 100\"\n", "t.toml", &[]).unwrap_err().to_string();
    assert!(e.contains("nic.indirection") && e.contains("more than the 128 entries"), "{e}");
    let e = load_str("[nic]\nindirection = \"equal 5\"\n", "t.toml", &[]).unwrap_err().to_string();
    assert!(e.contains("nic.indirection") && e.contains("queue 4 out of range"), "{e}");
    let e = load_str("[nic]\nindirection = \"hash 3\"\n", "t.toml", &[]).unwrap_err().to_string();
    assert!(e.contains("t.toml:2:15: nic.indirection") && e.contains("as ethtool -X takes them"), "{e}");
    let e = load_str("[nic]\nindirection = [0, 1]\n", "t.toml", &[]).unwrap_err().to_string();
    assert!(e.contains("2 entries given for an indirection table of 128"), "{e}");
}

#[test]
fn sysctls_go_under_their_own_names() {
    // Pasted from `sysctl -a | grep net.core`, nested or quoted.
    let s = load_str(
        "[sysctl]\nnet.core.netdev_budget = 600\n\"net.core.netdev_max_backlog\" = 2000\nnet.core.rps_sock_flow_entries = 0\n",
        "t.toml",
        &[],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((s.kernel.netdev_budget, s.kernel.netdev_max_backlog, s.kernel.rps_sock_flow_entries), (600, 2000, 0));
    // Through --set, and a --set wins over the file under either name.
    let s =
        load_str("[sysctl]\nnet.core.netdev_budget = 600\n", "t.toml", &["kernel.netdev_budget=50".into()]).unwrap();
    assert_eq!(s.kernel.netdev_budget, 50);
    let s =
        load_str("[kernel]\nnetdev_budget = 600\n", "t.toml", &["sysctl.net.core.netdev_budget=70".into()]).unwrap();
    assert_eq!(s.kernel.netdev_budget, 70);
    // Problems are named where they are.
    let e = load_str("[sysctl]\nnet.core.busy_poll = 50\n", "t.toml", &[]).unwrap_err().to_string();
    assert!(e.contains("t.toml:2:10: sysctl.net.core.busy_poll") && e.contains("net.core.netdev_budget"), "{e}");
    let e = load_str("[kernel]\nnetdev_budget = 1\n[sysctl]\nnet.core.netdev_budget = 2\n", "t.toml", &[]).unwrap_err();
    assert!(e.to_string().contains("set twice"), "{e}");
    let e = load_str("[sysctl]\nnet.core.netdev_budget = 0\n", "t.toml", &[]).unwrap_err().to_string();
    assert!(e.contains("t.toml:2:26: kernel.netdev_budget"), "a range problem points at the value: {e}");
}

#[test]
fn adaptive_rx_moves_each_queue_through_net_dims_profiles() {
    let run = |extra: &[&str]| {
        let mut sets: Vec<String> = vec!["duration_ms=50".into()];
        sets.extend(extra.iter().map(|s| s.to_string()));
        let s = load_str("", "t.toml", &sets).unwrap_or_else(|e| panic!("{e}"));
        irqlab_model::run(&s).expect("runs")
    };
    let off = run(&[]);
    let on = run(&["nic.coalesce.adaptive-rx=true"]);
    assert!(on.law_violations.is_empty(), "{:?}", on.law_violations);
    // Every queue tries its neighbours in the table (each decision compares
    // a window's rates with the last) and ends on one of its profiles.
    let profiles = [(2, 256), (8, 128), (16, 64), (32, 64), (64, 64)];
    for q in &on.queues {
        assert!(q.moderation_changes > 0, "queue {} never changed", q.queue);
        assert!(profiles.contains(&(q.rx_usecs, q.rx_frames)), "{:?}", (q.rx_usecs, q.rx_frames));
    }
    assert!(on.interrupts.total * 5 < off.interrupts.total, "{} vs {}", on.interrupts.total, off.interrupts.total);
    assert_eq!(off.queues.iter().map(|q| q.moderation_changes).sum::<u64>(), 0);
    assert!(off.queues.iter().all(|q| (q.rx_usecs, q.rx_frames) == (0, 1)));
    // Same seed, same walk.
    let again = run(&["nic.coalesce.adaptive-rx=true"]);
    assert_eq!(serde_json::to_string(&on).unwrap(), serde_json::to_string(&again).unwrap());
    // Fixed values beside adaptive-rx are ignored, and the user is told.
    let s = load_str("[nic.coalesce]\nadaptive-rx = true\nrx-usecs = 50\n", "t.toml", &[]).unwrap();
    assert!(s.warnings().iter().any(|w| w.path == "nic.coalesce.adaptive_rx" && w.message.contains("ignored")));
}

#[test]
fn a_cpu_in_a_set_written_as_text_is_reported_at_that_text() {
    let e = load_str("[nic]\nirq_cores = \"0xf0\"\n", "t.toml", &[]).unwrap_err();
    let d = &e.diagnostics()[0];
    assert_eq!((d.line, d.column, d.key.as_deref()), (Some(2), Some(13), Some("nic.irq_cores[0]")));
    assert!(d.message.starts_with("core 4 does not exist"), "{}", d.message);
    assert!(!d.message.contains("is not set"), "{}", d.message);
}

#[test]
fn rx_usecs_alone_is_flagged_because_one_frame_already_interrupts() {
    // As mlx5 counts them, either threshold fires the interrupt: with
    // rx_frames = 1 the timer never decides, and the run shows it.
    let s = load_str("[nic.coalesce]\nrx-usecs = 50\n", "t.toml", &[]).unwrap();
    assert!(s.warnings().iter().any(|w| w.path == "nic.coalesce.rx_usecs" && w.message.contains("no effect")));
    let s = load_str("[nic.coalesce]\nrx-usecs = 50\nrx-frames = 64\n", "t.toml", &[]).unwrap();
    assert!(s.warnings().iter().all(|w| w.path != "nic.coalesce.rx_usecs"));
}
