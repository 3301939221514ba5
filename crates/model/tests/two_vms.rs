//! Two VMs whose vCPUs share host cores (`[[vms]]`): each guest kernel
//! drives its own assigned VF; each shared core's host run queue
//! time-slices the two vCPU threads; posted interrupts to a vCPU that does
//! not hold its core wait in its PIR (SN set) or wake it (wakeup vector).

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

#[test]
fn sharing_needs_posted_interrupts_and_vms_need_a_first_vm() {
    let mut s = two_vms([2, 3], 200_000.0);
    s.vms[0].apic = ApicMode::Apicv;
    let errs = s.validate();
    assert!(errs.iter().any(|e| e.path == "vms[0].apic" && e.message.contains("posted")), "{errs:?}");
    let mut s = two_vms([2, 3], 200_000.0);
    s.vms[0].cores = vec![2];
    let errs = s.validate();
    assert!(errs.iter().any(|e| e.path == "vms[0].cores" && e.message.contains("2 vCPUs")), "{errs:?}");
    let mut s = two_vms([2, 3], 200_000.0);
    s.vm = None;
    let errs = s.validate();
    assert!(errs.iter().any(|e| e.path == "vms"), "{errs:?}");
}
