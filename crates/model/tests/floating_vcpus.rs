//! Floating vCPU threads (`vm.vcpu_affinity = "floating"`): a woken vCPU
//! thread is placed on an idle core of its set, or the shortest run queue,
//! as the host's `select_idle_sibling` would, migrating it; KVM rewrites its
//! posted-interrupt descriptor's NDST at the load on the new core
//! (`vmx_vcpu_pi_load`).

use irqlab_model::config::{ApicMode, IommuMode, Scenario, VcpuAffinity, VmConfig};
use irqlab_model::{Metrics, run};

/// Two 2-vCPU VMs starting on cores 0 and 1 of a 3-core machine, posted
/// interrupts, 100 kpps each; floating over every core, or pinned.
fn two_vms(affinity: VcpuAffinity) -> Scenario {
    let mut s = Scenario::default();
    s.duration_ms = 40.0;
    s.machine.cores = 3;
    s.nic.queues = 2;
    s.nic.auto_mask = true;
    s.workload.rate_pps = Some(100_000.0);
    s.iommu.mode = IommuMode::Strict;
    s.iommu.interrupt_remapping = true;
    let allowed = if affinity == VcpuAffinity::Floating { vec![0, 1, 2] } else { Vec::new() };
    let vm = VmConfig {
        cores: vec![0, 1],
        apic: ApicMode::Posted,
        vcpu_affinity: affinity,
        allowed_cores: allowed,
        ..VmConfig::default()
    };
    s.vm = Some(vm.clone());
    s.vms = vec![vm];
    s
}

fn go(s: &Scenario) -> Metrics {
    let m = run(s).expect("valid scenario");
    assert!(m.law_violations.is_empty(), "{:?}", m.law_violations);
    assert_eq!(m.progress.stuck, 0, "{:?}", m.progress);
    m
}

fn worst_p99(m: &Metrics) -> u64 {
    m.vms.iter().map(|v| v.irq_latency_ns.p99).max().unwrap_or(0)
}

#[test]
fn woken_floating_vcpus_move_to_an_idle_core_and_their_ndst_follows() {
    let m = go(&two_vms(VcpuAffinity::Floating));
    for v in &m.vms {
        assert!(v.packets.delivered as f64 > 0.99 * v.packets.offered as f64, "vm {}", v.vm);
        for c in &v.vcpu {
            assert!(c.migrations > 0, "vm {} vCPU {}: {c:?}", v.vm, c.vcpu);
            // Each move is loaded on its new core at most once before the
            // next move (a move back before it ran rewrites nothing).
            assert!(c.ndst_updates > 0 && c.ndst_updates <= c.migrations, "vm {} vCPU {}: {c:?}", v.vm, c.vcpu);
        }
    }
    let pinned = go(&two_vms(VcpuAffinity::Pinned));
    for v in &pinned.vms {
        assert!(v.vcpu.iter().all(|c| c.migrations == 0 && c.ndst_updates == 0), "{:?}", v.vcpu);
        assert!(v.vcpu.iter().all(|c| c.core < 2), "pinned vCPUs never leave cores 0 and 1");
    }
    // A woken vCPU finds the third core idle instead of waiting for the
    // other VM's vCPU: less run-queue wait, a shorter interrupt tail.
    let wait = |m: &Metrics| m.vms.iter().flat_map(|v| &v.vcpu).map(|c| c.runnable_wait_ns).sum::<f64>();
    assert!(wait(&m) < wait(&pinned), "floating {} ns, pinned {} ns", wait(&m), wait(&pinned));
    assert!(worst_p99(&m) < worst_p99(&pinned), "floating {} ns, pinned {} ns", worst_p99(&m), worst_p99(&pinned));
}

#[test]
fn one_floating_vm_alone_keeps_the_laws_and_is_deterministic() {
    let mut s = two_vms(VcpuAffinity::Floating);
    s.vms.clear();
    let a = go(&s);
    assert!(a.packets.delivered as f64 > 0.99 * a.packets.offered as f64);
    let b = run(&s).expect("valid");
    assert_eq!(serde_json::to_string(&a).expect("json"), serde_json::to_string(&b).expect("json"));
}

#[test]
fn floating_needs_posting_and_a_set_holding_its_cores() {
    let mut s = two_vms(VcpuAffinity::Floating);
    s.vms[0].apic = ApicMode::Apicv;
    let errs = s.validate();
    assert!(errs.iter().any(|e| e.path == "vms[0].vcpu_affinity" && e.message.contains("posted")), "{errs:?}");
    let mut s = two_vms(VcpuAffinity::Floating);
    s.vm.as_mut().expect("vm").allowed_cores = vec![1, 2];
    let errs = s.validate();
    assert!(errs.iter().any(|e| e.path == "vm.allowed_cores" && e.message.contains("core 0")), "{errs:?}");
    let mut s = two_vms(VcpuAffinity::Pinned);
    s.vm.as_mut().expect("vm").allowed_cores = vec![0, 1];
    let errs = s.validate();
    assert!(errs.iter().any(|e| e.path == "vm.allowed_cores" && e.message.contains("floating")), "{errs:?}");
    let mut s = two_vms(VcpuAffinity::Floating);
    s.vm.as_mut().expect("vm").allowed_cores = vec![0, 1, 9];
    let errs = s.validate();
    assert!(errs.iter().any(|e| e.path == "vm.allowed_cores[2]"), "{errs:?}");
}
