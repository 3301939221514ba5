//! A NIC bound to vfio-pci and driven by a user-space driver (`[vfio]`):
//! the modes behave as their rules say, a quota throttles a poller, the
//! host's side is counted, and what VFIO needs of the machine is checked.

use irqlab_scenario::load_str;
use serde_json::Value;

const BASE: &str = r#"
duration_ms = 250.0
[machine]
cores = 2
[nic]
queues = 1
affinity = [0]
auto_mask = true
[workload]
rate_pps = 100_000.0
[iommu]
mode = "strict"
[vfio]
mode = "poll"
[[cgroups]]
name = "box"
period_us = 100_000
[[apps]]
core = 1
work_ns = 200.0
cgroup = "box"
"#;

fn run(sets: &[&str]) -> Value {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let s = load_str(BASE, "t.toml", &sets).unwrap_or_else(|e| panic!("{e}"));
    let m = irqlab_model::run(&s).unwrap();
    assert!(m.law_violations.is_empty(), "{:?}", m.law_violations);
    serde_json::to_value(&m).unwrap()
}

fn n(v: &Value, path: &str) -> f64 {
    let mut x = v;
    for p in path.split('.') {
        x = match p.parse::<usize>() {
            Ok(i) => &x[i],
            Err(_) => &x[p],
        };
    }
    x.as_f64().unwrap_or_else(|| panic!("{path} is not a number: {x}"))
}

#[test]
fn a_poller_takes_no_interrupts_and_uses_its_whole_core() {
    let m = run(&[]);
    assert_eq!(n(&m, "packets.delivered") + n(&m, "packets.in_flight"), n(&m, "packets.offered"));
    assert_eq!(n(&m, "interrupts.total"), 0.0);
    assert_eq!(n(&m, "vfio.irq_eventfd_signals"), 0.0);
    assert_eq!(n(&m, "vfio.wakeups"), 0.0);
    assert!(n(&m, "cpu.1.busy_frac.user") > 0.999, "{}", m["cpu"][1]);
    // Spinning is most of it: empty bursts far outnumber packets.
    assert!(n(&m, "vfio.empty_bursts") > 10.0 * n(&m, "packets.delivered"));
    // The process mapped each queue's ring and buffers once, pinning their pages.
    let ring = 512.0;
    let pages = (ring * 16.0 / 4096.0_f64).ceil() + (ring * 2048.0 / 4096.0_f64).ceil();
    assert_eq!((n(&m, "vfio.dma_maps"), n(&m, "vfio.pinned_pages")), (2.0, pages));
    assert_eq!(m["interrupts"]["per_vector"][1]["name"], "vfio-msix[0](0000:01:00.0)");
}

#[test]
fn an_interrupt_driven_driver_sleeps_on_the_eventfd_the_host_signals() {
    let poll = run(&[]);
    let irq = run(&["vfio.mode=interrupt"]);
    let wakeups = n(&irq, "vfio.wakeups");
    assert!(wakeups > 1000.0, "{wakeups}");
    // One interrupt per enable (auto-mask): each signal is the host's handler on core 0.
    assert_eq!(n(&irq, "vfio.irq_eventfd_signals"), n(&irq, "interrupts.total"));
    assert!(n(&irq, "cpu.0.busy_frac.hardirq") > 0.0);
    assert!(n(&irq, "vfio.eventfd_reads") <= n(&irq, "vfio.irq_eventfd_signals"));
    // Cheaper than spinning, slower to notice a frame.
    assert!(n(&irq, "cpu.1.busy_frac.user") < 0.5 * n(&poll, "cpu.1.busy_frac.user"));
    assert!(n(&irq, "latency_ns.p50") > 2.0 * n(&poll, "latency_ns.p50"));
    assert_eq!(n(&irq, "packets.delivered") + n(&irq, "packets.in_flight"), n(&irq, "packets.offered"));
}

#[test]
fn the_adaptive_driver_sleeps_only_after_its_idle_time() {
    // 100 kpps: frames 10 µs apart, so with 300 µs of idle it never sleeps
    // after the first frame; with 5 µs it sleeps between most frames.
    let stays = run(&["vfio.mode=adaptive", "vfio.idle_us=300"]);
    let sleeps = run(&["vfio.mode=adaptive", "vfio.idle_us=5"]);
    assert!(n(&stays, "vfio.sleeps") <= 2.0, "{}", m_str(&stays));
    assert!(n(&sleeps, "vfio.sleeps") > 1000.0, "{}", m_str(&sleeps));
}

fn m_str(m: &Value) -> String {
    m["vfio"].to_string()
}

#[test]
fn a_poller_over_its_quota_is_throttled_into_spikes_of_the_period() {
    let m = run(&["cgroups[0].cpu_max_us=50000"]);
    assert!(n(&m, "cgroup.0.nr_throttled") >= 2.0);
    assert!(n(&m, "cgroup.0.throttled_ns") > 50e6);
    // A frame arriving while the group is throttled waits up to 50 ms.
    assert!(n(&m, "latency_ns.p99") > 10e6, "{}", n(&m, "latency_ns.p99"));
    // An interrupt-driven driver needs a fraction of the same quota.
    let i = run(&["cgroups[0].cpu_max_us=50000", "vfio.mode=interrupt"]);
    assert_eq!(n(&i, "cgroup.0.nr_throttled"), 0.0);
    assert!(n(&i, "latency_ns.p99") < 100e3);
}

#[test]
fn same_seed_same_json() {
    let a = serde_json::to_string(&run(&["vfio.mode=adaptive"])).unwrap();
    let b = serde_json::to_string(&run(&["vfio.mode=adaptive"])).unwrap();
    assert_eq!(a, b);
}

#[test]
fn vfio_needs_an_iommu_msix_and_no_kernel_stack_settings() {
    let e = load_str(BASE, "t.toml", &["iommu.mode=off".into()]).unwrap_err().to_string();
    assert!(e.contains("iommu.mode") && e.contains("type1"), "{e}");
    let e = load_str(BASE, "t.toml", &["nic.interrupt_mode=intx".into()]).unwrap_err().to_string();
    assert!(e.contains("nic.interrupt_mode") && e.contains("eventfd"), "{e}");
    let e = load_str(BASE, "t.toml", &["kernel.rps_cpus=[0,1]".into()]).unwrap_err().to_string();
    assert!(e.contains("kernel.rps_cpus"), "{e}");
    let e = load_str(BASE, "t.toml", &["vfio.rx_burst=0".into()]).unwrap_err().to_string();
    assert!(e.contains("vfio.rx_burst"), "{e}");
    let e = load_str(BASE, "t.toml", &["vfio.mode=napi".into()]).unwrap_err().to_string();
    assert!(e.contains("vfio.mode"), "{e}");
}

#[test]
fn a_buggy_driver_s_stray_addresses_fault_in_the_iommu_and_touch_nothing_else() {
    let m = run(&["vfio.bad_dma_every=50"]);
    let bad = n(&m, "vfio.bad_dma");
    assert!(bad > 100.0, "{bad}");
    // Each stray descriptor the NIC used is one refused write, recorded as
    // a fault, and one frame the driver discarded (the last few may still
    // be in the ring).
    let faults = n(&m, "dma.faulted");
    assert_eq!(faults, n(&m, "queues.0.buffer_faults"));
    assert!(faults <= bad && faults >= bad - 512.0, "{faults} of {bad}");
    assert_eq!(n(&m, "iommu.faults.write_denied"), faults);
    let discarded = n(&m, "vfio.discarded_faulted");
    assert_eq!(n(&m, "packets.dropped.iommu_fault"), discarded);
    assert!(discarded <= faults && discarded >= faults - 512.0);
    // The queue keeps going: the NIC completes the descriptor and moves on.
    let clean = run(&[]);
    assert!(n(&m, "packets.delivered") >= n(&clean, "packets.delivered") - discarded - 512.0);
    // Nothing outside the container was written.
    assert_eq!(n(&m, "dma.unprotected_writes"), 0.0);
    assert_eq!(n(&clean, "dma.faulted"), 0.0);
}

#[test]
fn a_batch_job_shares_the_drivers_core_by_cpu_weight() {
    let with = |w: &str| {
        let extra = "[[cgroups]]\nname = \"batch\"\nbatch_cores = [1]\n";
        let src = format!("{BASE}{extra}");
        let sets = vec![format!("cgroups[0].weight={w}")];
        let s = load_str(&src, "t.toml", &sets).unwrap_or_else(|e| panic!("{e}"));
        let m = irqlab_model::run(&s).unwrap();
        assert!(m.law_violations.is_empty(), "{:?}", m.law_violations);
        serde_json::to_value(&m).unwrap()
    };
    for (w, want) in [("100", 0.5), ("300", 0.75), ("50", 1.0 / 3.0)] {
        let m = with(w);
        let (a, b) = (n(&m, "cgroup.0.usage_ns"), n(&m, "cgroup.1.usage_ns"));
        let share = a / (a + b);
        assert!((share - want).abs() < 0.03, "weight {w}: share {share}");
        assert_eq!(m["cgroup"][1]["batch_cores"], serde_json::json!([1]));
        // Frames wait for the batch thread's turns.
        assert!(n(&m, "latency_ns.p99") > 100e3);
    }
}

#[test]
fn weights_and_batch_cores_are_checked() {
    let src = format!("{BASE}[[cgroups]]\nname = \"batch\"\nbatch_cores = [1]\n");
    let e = load_str(&src, "t.toml", &["cgroups[0].weight=0".into()]).unwrap_err().to_string();
    assert!(e.contains("cgroups[0].weight") && e.contains("1..=10000"), "{e}");
    let e = load_str(&src, "t.toml", &["cgroups[1].batch_cores=[7]".into()]).unwrap_err().to_string();
    assert!(e.contains("cgroups[1].batch_cores[0]") && e.contains("does not exist"), "{e}");
    let e = load_str(&src, "t.toml", &["cgroups[1].cpu_max_us=50000".into()]).unwrap_err().to_string();
    assert!(e.contains("cgroups[1].cpu_max_us") && e.contains("batch"), "{e}");
    let e = load_str(&src, "t.toml", &["cgroups[1].cpuset=\"0\"".into()]).unwrap_err().to_string();
    assert!(e.contains("outside the group's cpuset"), "{e}");
}

#[test]
fn a_driver_starved_by_its_quota_is_a_slow_consumer_not_a_lost_wakeup() {
    // 1 ms of CPU per 100 ms and bursts of up to 25 ms: after the run, the ring still
    // holds frames when the drain ends, with the driver throttled. The
    // progress law names the quota instead of reporting a lost wakeup.
    let sets: Vec<String> = [
        "vfio.rx_burst=256",
        "workload.rate_pps=3000000",
        "apps[0].work_ns=100000",
        "cgroups[0].cpu_max_us=1000",
        "duration_ms=30",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let s = load_str(BASE, "t.toml", &sets).unwrap_or_else(|e| panic!("{e}"));
    let m = irqlab_model::run(&s).unwrap();
    assert!(m.law_violations.is_empty(), "{:?}", m.law_violations);
    assert!(m.progress.stuck > 0, "{:?} {:?}", m.progress, m.cgroup);
    assert!(m.progress.reason.as_deref().unwrap_or("").contains("throttled by its cgroup"), "{:?}", m.progress);
}
