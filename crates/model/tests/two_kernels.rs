//! Two kernels on one platform (the re-foundation's test of its shape): a
//! 4-core machine partitioned into two 2-core kernels, each with its own
//! NIC, booted and run together. Neither kernel knows of the other; the
//! platform's APIC bus delivers each NIC's MSI-X messages to the cores its
//! kernel programmed, and the laws hold over the whole machine.

use irqlab_model::config::Scenario;
use irqlab_model::ids::{CoreId, KernelId, NicId};
use irqlab_model::kernel::Kernel;
use irqlab_model::machine::{Machine, nic_for};
use irqlab_model::platform::Platform;
use irqlab_model::sim::Sim;

/// A 2-core, 2-queue slice of work at `rate` packets per second.
fn slice(rate: f64) -> Scenario {
    let mut s = Scenario::default();
    s.duration_ms = 20.0;
    s.machine.cores = 2;
    s.nic.queues = 2;
    s.workload.rate_pps = Some(rate);
    s
}

#[test]
fn two_kernels_share_one_platform_without_knowing_of_each_other() {
    let (a, b) = (slice(600_000.0), slice(200_000.0));
    let sim = Sim::new(a.costs.resolve());
    let platform = Platform::new(4, 1, false, &sim);
    let (nic_a, flows_a) = nic_for(&a, NicId(0), &sim).expect("valid");
    let (nic_b, flows_b) = nic_for(&b, NicId(1), &sim).expect("valid");
    let host = Kernel::new(KernelId(0), &a, vec![CoreId(0), CoreId(1)], &nic_a, flows_a);
    let other = Kernel::new(KernelId(1), &b, vec![CoreId(2), CoreId(3)], &nic_b, flows_b);
    let machine = Machine::assemble(&a, sim, platform, vec![nic_a, nic_b], vec![], vec![host, other]);
    let all = machine.run_all();
    assert_eq!(all.len(), 2);
    for (m, rate) in all.iter().zip([600_000.0, 200_000.0]) {
        assert!(m.law_violations.is_empty(), "{:?}", m.law_violations);
        assert_eq!(m.progress.stuck, 0);
        let expected = rate * 0.02;
        assert!((m.packets.offered as f64 - expected).abs() < 0.05 * expected, "{} offered", m.packets.offered);
        assert!(m.packets.delivered as f64 > 0.99 * m.packets.offered as f64);
        assert!(m.interrupts.total > 1000);
    }
    // Each kernel's IRQs target its own cores: the host's 0 and 1, the other's 2 and 3.
    let cores = |m: &irqlab_model::Metrics| m.interrupts.per_vector.iter().map(|v| v.core).collect::<Vec<_>>();
    assert_eq!(cores(&all[0]), [0, 1]);
    assert_eq!(cores(&all[1]), [2, 3]);
    assert_eq!(all[1].cpu.iter().map(|c| c.core).collect::<Vec<_>>(), [2, 3]);
    // Both kernels allocate the same first vector, each on its own cores.
    assert_eq!(all[0].interrupts.per_vector[0].vector, all[1].interrupts.per_vector[0].vector);
    // The other kernel's load is a third of the host's.
    let ratio = all[0].packets.delivered as f64 / all[1].packets.delivered as f64;
    assert!((2.7..3.3).contains(&ratio), "{ratio}");
}
