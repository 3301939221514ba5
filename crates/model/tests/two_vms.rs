//! Two VMs whose vCPUs share host cores (`[[vms]]`): each guest kernel
//! drives its own assigned VF; each shared core's host run queue
//! time-slices the two vCPU threads; posted interrupts to a vCPU that does
//! not hold its core wait in its PIR (SN set) or wake it (wakeup vector);
//! without posting, the host takes each VF's interrupt under a host vector
//! of its own and KVM delivers it to its vCPU, at its next entry if it is
//! scheduled out.

use irqlab_model::config::{ApicMode, IommuMode, Scenario, VmConfig};
use irqlab_model::metrics::VmSummary;
use irqlab_model::{Metrics, run};

/// Two 2-vCPU VMs at `rate_pps` each: the first on cores 2 and 3, the
/// second on `second`.
fn two_vms(second: [u32; 2], rate_pps: f64) -> Scenario {
    let mut s = Scenario::default();
    s.duration_ms = 20.0;
    s.machine.cores = 4;
    s.nic.queues = 2;
    s.nic.auto_mask = true;
    s.workload.rate_pps = Some(rate_pps);
    s.iommu.mode = IommuMode::Strict;
    s.iommu.interrupt_remapping = true;
    let vm = |cores: Vec<u32>| VmConfig { cores, apic: ApicMode::Posted, ..VmConfig::default() };
    s.vm = Some(vm(vec![2, 3]));
    s.vms = vec![vm(second.to_vec())];
    s
}

fn go(s: &Scenario) -> Metrics {
    let m = run(s).expect("valid scenario");
    assert!(m.law_violations.is_empty(), "{:?}", m.law_violations);
    assert_eq!(m.progress.stuck, 0, "{:?}", m.progress);
    assert_eq!(m.vms.len(), 2, "one entry per VM");
    m
}

fn exits(v: &VmSummary) -> u64 {
    v.exits.values().sum()
}

#[test]
fn two_vms_sharing_cores_each_receive_their_own_packets_and_keep_the_laws() {
    let m = go(&two_vms([2, 3], 200_000.0));
    for (i, v) in m.vms.iter().enumerate() {
        assert_eq!(v.vm, i as u32);
        assert_eq!(v.cores, [2, 3]);
        // Each VF has its own arrivals: about 200 kpps × 20 ms each.
        let expected = 200_000.0 * 0.02;
        assert!((v.packets.offered as f64 - expected).abs() < 0.05 * expected, "vm {i}: {:?}", v.packets);
        assert!(v.packets.delivered as f64 > 0.99 * v.packets.offered as f64, "vm {i}: {:?}", v.packets);
        // Every exit has its entry, but for vCPUs out at the end.
        let n = v.vcpu.len() as u64;
        assert!(
            v.entries <= exits(v) && exits(v) <= v.entries + n,
            "vm {i}: {} exits, {} entries",
            exits(v),
            v.entries
        );
        for c in &v.vcpu {
            assert!(c.shared, "vm {i} vCPU {} shares core {}", c.vcpu, c.core);
            assert!(c.switches_in > 0 && c.runnable_wait_ns > 0.0, "vm {i}: {c:?}");
            assert!(c.running_frac > 0.0 && c.halted_frac > 0.0, "vm {i}: {c:?}");
        }
        // Its interrupts were posted into its own descriptors, and its
        // halted vCPUs woken by them.
        assert!(v.posted.requests > 0 && v.posted.wakeups > 0, "vm {i}: {:?}", v.posted);
    }
    // The two VMs' arrivals are their own streams, not one stream twice.
    assert_ne!(m.vms[0].packets.offered, m.vms[1].packets.offered);
    // The first VM's entry is the run's own guest (the summary's source).
    assert_eq!(m.vms[0].packets.delivered, m.packets.delivered);
}

#[test]
fn sharing_a_core_raises_each_vms_interrupt_latency_tail() {
    let shared = go(&two_vms([2, 3], 200_000.0));
    let dedicated = go(&two_vms([0, 1], 200_000.0));
    for (s, d) in shared.vms.iter().zip(&dedicated.vms) {
        assert!(d.vcpu.iter().all(|c| !c.shared && c.runnable_wait_ns == 0.0), "{:?}", d.vcpu);
        // A vCPU that must wait for the other VM's vCPU to give up the core
        // takes its interrupts later.
        assert!(
            s.irq_latency_ns.p99 > d.irq_latency_ns.p99,
            "vm {}: shared p99 {} ns, dedicated p99 {} ns",
            s.vm,
            s.irq_latency_ns.p99,
            d.irq_latency_ns.p99
        );
        assert!(s.latency_ns.p99 > d.latency_ns.p99, "vm {}", s.vm);
    }
}

#[test]
fn saturated_vcpus_sharing_a_core_are_preempted_at_their_slices_end() {
    // Each guest has more work than half a core: the run queue preempts
    // the holder when its slice ends, about once per slice.
    let m = go(&two_vms([2, 3], 2_000_000.0));
    let slices = 0.02 / 750e-6;
    for v in &m.vms {
        let preemptions: u64 = v.vcpu.iter().map(|c| c.preemptions).sum();
        assert!(preemptions > 0, "vm {}: {:?}", v.vm, v.vcpu);
        assert!((preemptions as f64) <= 2.0 * slices, "vm {}: {preemptions} preemptions", v.vm);
        assert!(v.packets.delivered > 0);
    }
}

#[test]
fn a_run_with_two_vms_is_deterministic() {
    let s = two_vms([2, 3], 400_000.0);
    let a = serde_json::to_string(&run(&s).expect("valid")).expect("serialises");
    let b = serde_json::to_string(&run(&s).expect("valid")).expect("serialises");
    assert_eq!(a, b);
}

/// The same two VMs, both with interrupts delivered by `apic`.
fn two_vms_with(apic: ApicMode, second: [u32; 2], rate_pps: f64) -> Scenario {
    let mut s = two_vms(second, rate_pps);
    s.vm.as_mut().expect("a first VM").apic = apic;
    s.vms[0].apic = apic;
    s
}

#[test]
fn without_posting_the_host_passes_each_vms_interrupts_to_it_and_a_scheduled_out_vcpu_takes_them_later() {
    // kvm_set_msi on a vCPU that does not hold its core: the request waits
    // in its virtual IRR (emulated) or PIR (APICv) for its next entry; a
    // halted one is woken (kvm_vcpu_wake_up) and queued.
    for apic in [ApicMode::Apicv, ApicMode::Emulated] {
        let shared = go(&two_vms_with(apic, [2, 3], 200_000.0));
        let dedicated = go(&two_vms_with(apic, [0, 1], 200_000.0));
        let vm = shared.vm.as_ref().expect("vm metrics");
        // VM 0's own interrupts: some taken by VM 1's running vCPU (or the
        // idle host) on the shared core, most of them while VM 0's vCPU
        // was halted or scheduled out.
        assert!(vm.vfio_received > 0 && vm.vfio_descheduled > 0, "{apic:?}: {vm:?}");
        assert!(vm.vfio_descheduled <= vm.vfio_received, "{apic:?}");
        assert!(vm.vfio_passed > 0, "{apic:?}: VM 0's vCPUs took VM 1's interrupts too");
        let own = dedicated.vm.as_ref().expect("vm metrics");
        assert_eq!((own.vfio_passed, own.vfio_received), (0, 0), "{apic:?}: cores of its own pass nothing");
        for (s, d) in shared.vms.iter().zip(&dedicated.vms) {
            assert!(s.packets.delivered as f64 > 0.99 * s.packets.offered as f64, "{apic:?} vm {}", s.vm);
            assert!(s.vcpu.iter().all(|c| c.shared && c.wakeups > 0 && c.runnable_wait_ns > 0.0), "{apic:?}");
            assert!(
                s.irq_latency_ns.p99 > d.irq_latency_ns.p99,
                "{apic:?} vm {}: shared p99 {} ns, dedicated {} ns",
                s.vm,
                s.irq_latency_ns.p99,
                d.irq_latency_ns.p99
            );
        }
    }
}

#[test]
fn vms_sharing_cores_may_mix_posted_and_unposted_delivery() {
    let mut s = two_vms([2, 3], 200_000.0);
    s.vms[0].apic = ApicMode::Emulated;
    let m = go(&s);
    assert_eq!(m.vms[0].apic, ApicMode::Posted);
    assert_eq!(m.vms[1].apic, ApicMode::Emulated);
    // Only the emulated VM's interrupts pass through the host: the posted
    // VM's are posted into its descriptors by the remapping hardware.
    assert_eq!(m.vm.as_ref().expect("vm").vfio_received, 0);
    assert!(m.vms[1].posted.requests == 0 && m.vms[1].packets.delivered > 0);
}

#[test]
fn vms_need_a_first_vm_and_as_many_vcpus() {
    let mut s = two_vms_with(ApicMode::Apicv, [2, 3], 200_000.0);
    assert!(s.validate().is_empty(), "sharing without posting is allowed: {:?}", s.validate());
    s.nic.queues = 200;
    s.iommu.ir_entries = 1024;
    let errs = s.validate();
    assert!(errs.iter().any(|e| e.path == "vms" && e.message.contains("host vectors")), "{errs:?}");
    let mut s = two_vms([2, 3], 200_000.0);
    s.vms[0].cores = vec![2];
    let errs = s.validate();
    assert!(errs.iter().any(|e| e.path == "vms[0].cores" && e.message.contains("2 vCPUs")), "{errs:?}");
    let mut s = two_vms([2, 3], 200_000.0);
    s.vm = None;
    let errs = s.validate();
    assert!(errs.iter().any(|e| e.path == "vms"), "{errs:?}");
}

#[test]
fn a_further_vm_carries_its_own_rate_and_flows() {
    let mut s = two_vms([2, 3], 200_000.0);
    s.vms[0].rate_pps = Some(50_000.0);
    s.vms[0].flows = Some(4);
    let m = go(&s);
    let offered: Vec<f64> = m.vms.iter().map(|v| v.packets.offered as f64).collect();
    // About 200 kpps and 50 kpps × 20 ms.
    assert!((offered[0] - 4000.0).abs() < 0.05 * 4000.0, "{offered:?}");
    assert!((offered[1] - 1000.0).abs() < 0.1 * 1000.0, "{offered:?}");
    for v in &m.vms {
        assert!(v.packets.delivered as f64 > 0.99 * v.packets.offered as f64, "vm {}: {:?}", v.vm, v.packets);
    }
    // A rate in Gbit/s replaces [workload]'s packet rate too.
    let mut g = two_vms([2, 3], 200_000.0);
    g.vms[0].rate_gbps = Some(0.1);
    let m = go(&g);
    assert!(m.vms[1].packets.offered != m.vms[0].packets.offered);
}

#[test]
fn per_vm_workload_keys_are_checked() {
    let mut s = two_vms([2, 3], 200_000.0);
    s.vm.as_mut().expect("vm").rate_pps = Some(1000.0);
    let errs = s.validate();
    assert!(errs.iter().any(|e| e.path == "vm.rate_pps" && e.message.contains("workload.rate_pps")), "{errs:?}");
    let mut s = two_vms([2, 3], 200_000.0);
    s.vms[0].rate_pps = Some(1000.0);
    s.vms[0].rate_gbps = Some(1.0);
    let errs = s.validate();
    assert!(errs.iter().any(|e| e.path == "vms[0].rate_gbps" && e.message.contains("not both")), "{errs:?}");
    let mut s = two_vms([2, 3], 200_000.0);
    s.vms[0].rate_pps = Some(f64::NAN);
    assert!(s.validate().iter().any(|e| e.path == "vms[0].rate_pps"));
    let mut s = two_vms([2, 3], 200_000.0);
    s.vms[0].flows = Some(2);
    s.apps = vec![irqlab_model::config::AppConfig {
        flows: Some(vec![0, 5]),
        ..irqlab_model::config::AppConfig::on_core(0)
    }];
    s.workload.flows = 8;
    let errs = s.validate();
    assert!(errs.iter().any(|e| e.path == "vms[0].flows" && e.message.contains("apps[0]")), "{errs:?}");
}
