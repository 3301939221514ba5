//! cgroup v2 CPU bandwidth (`cpu.max`): a reader whose demand exceeds its
//! quota is throttled for the rest of each period; `cpu.stat` adds up.

use irqlab_model::config::{AppConfig, CgroupConfig, Scenario};
use irqlab_model::{Metrics, run};

/// One reader on core 1 reading every flow, 5 µs of work per packet at
/// 100 kpps (half a core of demand), in group "c" with `quota` µs per 10 ms.
fn limited(quota: Option<u64>) -> Scenario {
    let mut s = Scenario::default();
    s.duration_ms = 60.0;
    s.workload.rate_pps = Some(100_000.0);
    s.apps = vec![AppConfig { work_ns: 5_000.0, cgroup: Some("c".into()), ..AppConfig::on_core(1) }];
    s.cgroups = vec![CgroupConfig { cpu_max_us: quota, period_us: 10_000, ..CgroupConfig::unlimited("c") }];
    s
}

fn go(s: &Scenario) -> Metrics {
    let m = run(s).expect("valid scenario");
    assert!(m.law_violations.is_empty(), "{:?}", m.law_violations);
    assert_eq!(m.progress.stuck, 0, "{:?}", m.progress);
    m
}

#[test]
fn a_quota_below_demand_throttles_into_period_sized_latency() {
    let free = go(&limited(None));
    let tight = go(&limited(Some(2_000)));
    let (f, t) = (&free.cgroup[0], &tight.cgroup[0]);
    assert_eq!((f.stat.nr_periods, f.stat.nr_throttled, f.stat.throttled_ns), (0, 0, 0), "no quota, no timer");
    assert!(f.stat.usage_ns > 20_000_000, "half a core for 60 ms: {}", f.stat.usage_ns);
    // 2 ms per 10 ms period: six periods, throttled in (nearly) each.
    assert!(t.stat.nr_periods >= 5 && t.stat.nr_periods <= 7, "{:?}", t.stat);
    assert!(t.stat.nr_throttled >= t.stat.nr_periods - 1, "{:?}", t.stat);
    let cap = (t.stat.nr_periods + 1) * 2_000_000 + 100_000;
    assert!(t.stat.usage_ns <= cap, "usage {} within the quota (+ one burst's overrun)", t.stat.usage_ns);
    // Throttled for most of each period: about 8 ms of every 10.
    assert!(t.stat.throttled_ns > t.stat.nr_throttled * 6_000_000, "{:?}", t.stat);
    // Packets that land while the reader is throttled wait the rest of the period.
    assert!(
        tight.latency_ns.p99 > 1_000_000 && free.latency_ns.p99 < 100_000,
        "{} {}",
        tight.latency_ns.p99,
        free.latency_ns.p99
    );
}
