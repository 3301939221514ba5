//! `irqlab calibrate`'s measurements: structure, units, and a cost file the
//! scenario loader accepts. Never the values (they are this machine's), and
//! never wall-clock limits.

use irqlab_host::measure::{Calibration, Options, calibrate, render};
use irqlab_model::costs::CostModel;
use irqlab_scenario::costfile::load_cost_str;

const PAIRED: [&str; 5] =
    ["eventfd_pingpong_cross_cpu", "eventfd_write_to_wake", "cache_line_pingpong", "membarrier_ipi", "tlb_shootdown"];

fn check_structure(c: &Calibration, reps: usize) {
    let mut names: Vec<&str> = c.measurements.iter().map(|m| m.name).collect();
    names.extend(c.skipped.iter().map(|s| s.name));
    let count = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), count, "a measurement is both made and skipped, or made twice");
    for name in ["getppid", "eventfd_write", "locked_rmw", "memcpy_l1", "memcpy_dram", "page_fault"] {
        assert!(names.contains(&name), "{name} is neither measured nor skipped");
    }
    for name in PAIRED.iter().chain(&[
        "io_uring_nop_batch1",
        "signal_handler",
        "signal_sigwait",
        "udp_recvmsg_eagain",
        "udp_recvmsg_drain",
    ]) {
        assert!(names.contains(name), "{name} is neither measured nor skipped");
    }
    for m in &c.measurements {
        assert!(m.name.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_'), "{}", m.name);
        assert!(["ns", "bytes/ns"].contains(&m.unit), "{}: unit {}", m.name, m.unit);
        assert_eq!(m.unit == "bytes/ns", m.name.starts_with("memcpy_"), "{}", m.name);
        let s = m.stats;
        assert_eq!(s.reps, reps, "{}", m.name);
        assert!(s.min <= s.p25 && s.p25 <= s.median && s.median <= s.p75 && s.p75 <= s.max, "{}: {s:?}", m.name);
        assert!(s.min >= 0.0 && s.max.is_finite(), "{}: {s:?}", m.name);
        assert!(m.per_rep >= 1 && !m.what.is_empty() && !m.cpus.is_empty());
    }
    for s in &c.skipped {
        assert!(!s.reason.is_empty(), "{} skipped without a reason", s.name);
    }
    // Every cost key is either set, with its derivation, or listed as not measured.
    let fields = CostModel::default().fields();
    for (key, _) in fields {
        let set = c.costs.iter().filter(|v| v.key == key).count();
        let left = c.not_measured.iter().filter(|n| n.key == key).count();
        assert_eq!(set + left, 1, "{key}: set {set} times, listed {left} times as not measured");
    }
    for v in &c.costs {
        assert!(v.key.ends_with("_ns") || v.key.ends_with("_bytes_per_ns"), "{}", v.key);
        assert!(v.value > 0.0 && v.value.is_finite() && !v.from.is_empty(), "{v:?}");
    }
    assert!(c.not_measured.iter().all(|n| !n.why.is_empty()));
}

fn check_file_loads(c: &Calibration) {
    let text = render(c);
    let file = load_cost_str(&text, "calibrated.toml").unwrap_or_else(|e| panic!("{e}\n{text}"));
    let mut keys: Vec<String> = c.costs.iter().map(|v| format!("costs.{}", v.key)).collect();
    keys.sort();
    assert_eq!(file.keys, keys);
    for v in &c.costs {
        let got = file.value(&format!("costs.{}", v.key)).and_then(|x| x.as_f64()).unwrap();
        assert!((got - v.value).abs() <= 1e-3 * v.value.max(0.1), "{}: file {got}, measured {}", v.key, v.value);
    }
    // The provenance is there, as TOML the loader set aside.
    let doc: toml::Table = text.parse().unwrap();
    let cal = doc["calibration"].as_table().unwrap();
    for key in ["date", "cpu_model", "kernel", "cpus", "virtual_machine", "reps", "measurements", "not_measured"] {
        assert!(cal.contains_key(key), "calibration.{key}");
    }
    for m in &c.measurements {
        let row = cal["measurements"][m.name].as_table().unwrap();
        for k in ["unit", "median", "min", "p25", "p75", "max", "reps"] {
            assert!(row.contains_key(k), "{}.{k}", m.name);
        }
    }
}

/// Everything in one test: the measurements pin the calling thread, and
/// the one-CPU case below must not run alongside.
#[test]
fn calibrate_with_two_reps_gives_a_cost_file_that_loads_and_skips_what_one_cpu_cannot_measure() {
    let c = calibrate(Options { reps: 2, quick: true });
    check_structure(&c, 2);
    check_file_loads(&c);
    if c.provenance.cpus.len() < 2 {
        for name in PAIRED {
            assert!(c.skipped.iter().any(|s| s.name == name), "{name} measured on one CPU");
        }
    }

    // One CPU: pin this thread to one, as a one-CPU machine is.
    let cpu = c.provenance.cpus.first().copied().unwrap_or(0);
    let mut set = rustix::thread::CpuSet::new();
    set.set(cpu);
    if rustix::thread::sched_setaffinity(None, &set).is_ok() {
        let one = calibrate(Options { reps: 1, quick: true });
        assert_eq!(one.provenance.cpus, [cpu]);
        check_structure(&one, 1);
        check_file_loads(&one);
        for name in PAIRED {
            let s = one.skipped.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("{name} not skipped"));
            assert!(s.reason.contains("one CPU"), "{name}: {}", s.reason);
        }
        for key in ["wakeup_cross_core_latency_ns", "cache_transfer_same_socket_ns", "ipi_latency_ns"] {
            let n = one.not_measured.iter().find(|n| n.key == key).unwrap();
            assert!(n.why.contains("one CPU"), "{key}: {}", n.why);
        }
    }
}
