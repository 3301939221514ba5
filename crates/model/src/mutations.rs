//! Mutation tests: each law must fire on the fault it exists to catch.
//!
//! A test arms one fault (sim.rs, compiled only into tests), runs a
//! scenario that exercises the faulty path, and asserts that the law named
//! for it reports a violation — and that the same run without the fault
//! reports none. A law no fault can make fire would not be a law.

use crate::config::Scenario;
use crate::machine::Machine;
use crate::sim::{Fault, Faults};

/// The names of the laws a run violated, with `arm` applied to its faults.
fn violated(s: &Scenario, arm: impl FnOnce(&mut Faults)) -> Vec<String> {
    let mut m = Machine::new(s).expect("valid scenario");
    arm(m.faults());
    m.run().law_violations.into_iter().map(|v| v.name).collect()
}

/// Asserts that `law` fires with the fault and that nothing fires without it.
fn fires(s: &Scenario, law: &str, arm: impl FnOnce(&mut Faults)) -> Vec<String> {
    assert_eq!(violated(s, |_| {}), Vec::<String>::new(), "the clean run breaks no law");
    let names = violated(s, arm);
    assert!(names.iter().any(|n| n == law), "law '{law}' did not fire: {names:?}");
    names
}

fn short(mut s: Scenario) -> Scenario {
    s.duration_ms = 20.0;
    s
}

#[test]
fn a_dropped_msi_message_breaks_the_msi_transit_law() {
    fires(&short(Scenario::default()), "msi transit", |f| f.arm(Fault::DropMsi, 1000));
}

#[test]
fn a_socket_drop_counted_as_delivered_breaks_the_stack_and_reads_laws() {
    // Slow readers: sockets fill and drop.
    let mut s = short(Scenario::default());
    s.apps =
        (0..4).map(|c| crate::config::AppConfig { work_ns: 2000.0, ..crate::config::AppConfig::on_core(c) }).collect();
    let names = fires(&s, "stack", |f| f.arm(Fault::MiscountSocketDrop, 10));
    assert!(names.iter().any(|n| n == "reads"), "{names:?}");
    assert!(!names.iter().any(|n| n == "packets"), "the sum law alone cannot see it: {names:?}");
}

#[test]
fn a_lost_wakeup_breaks_the_progress_law() {
    // Losing a wakeup matters when no later packet wakes the reader anyway
    // (each enqueue tries again, as sk_data_ready does): lose the last one
    // of the clean run, and the ones that loss itself brings about.
    let s = short(Scenario::default());
    let (_, faults) = Machine::new(&s).expect("valid").run_counting_faults();
    let last = faults.opportunities(Fault::LoseWakeup) - 1;
    let names = fires(&s, "progress", |f| f.arm_from(Fault::LoseWakeup, last));
    assert_eq!(names, ["progress"], "every packet is still accounted for");
}

#[test]
fn a_lost_dma_completion_breaks_the_dma_law() {
    fires(&short(Scenario::default()), "dma", |f| f.arm(Fault::LoseDma, 500));
}

#[test]
fn a_dropped_ipi_breaks_the_ipi_transit_law() {
    let mut s = short(Scenario::default());
    s.kernel.rps_cpus = vec![0, 1, 2, 3];
    fires(&s, "ipi transit", |f| f.arm(Fault::DropIpi, 50));
}

#[test]
fn acking_on_the_irqs_new_cpu_wedges_rings_and_the_progress_law_catches_it() {
    // The rebalancer wedge of the first landing: an edge flow's EOI went to
    // the CPU the IRQ had just been moved to, leaving the vector in service
    // on the CPU that took it, which then never took that vector class again.
    let mut s = Scenario::default();
    s.duration_ms = 100.0;
    s.kernel.irqbalance_interval_ms = 1.0;
    s.kernel.irqbalance_threshold = 0.0;
    let names = fires(&s, "progress", |f| f.arm_always(Fault::AckOnIrqCpu));
    assert_eq!(names, ["progress"], "only progress can see a wedge: every packet is still accounted for");
}

/// A scenario where every mechanism a law watches is busy: RPS to remote
/// backlogs, a level device, the rebalancer moving MSI-X vectors (so
/// Pending bits are set and released).
fn busy() -> Scenario {
    let mut s = short(Scenario::default());
    s.kernel.rps_cpus = vec![0, 1, 2, 3];
    s.kernel.irqbalance_interval_ms = 1.0;
    s.kernel.irqbalance_threshold = 0.0;
    // Slow register writes keep a moved entry masked for 6 µs: queues
    // interrupt into the window and set Pending bits.
    s.costs.mmio_write_ns = 2000.0;
    s.tx = Some(crate::config::TxConfig { doorbell_rate_per_s: 100_000.0, ..Default::default() });
    s.devices = vec![crate::config::DeviceConfig {
        name: "disk".into(),
        pin: 17,
        rate_hz: 20_000.0,
        clear: crate::config::CauseClear::Read,
        handler_ns: 500.0,
        core: 1,
    }];
    s
}

#[test]
fn the_busy_scenario_exercises_every_mechanism_a_law_watches() {
    let m = crate::run(&busy()).expect("valid");
    assert!(m.law_violations.is_empty(), "{:?}", m.law_violations);
    assert!(m.ipis.rps > 0 && m.steering.rps_remote > 0, "RPS IPIs and remote backlogs");
    assert!(m.interrupts.msix.pending_set > 0 && m.interrupts.msix.released > 0, "{:?}", m.interrupts.msix);
    assert!(m.devices[0].counts.serviced > 0);
    assert!(m.apps.wakeups > 0 && m.ipis.reschedule > 0);
}

#[test]
fn every_law_fires_on_the_fault_it_exists_to_catch() {
    let cases = [
        (Fault::RingLosesFrame, "rx rings"),
        (Fault::DriverLosesFrame, "driver"),
        (Fault::BacklogLosesPacket, "backlogs"),
        (Fault::SocketLosesPacket, "sockets"),
        (Fault::NicSkipsWrite, "msi port"),
        (Fault::WindowMiscount, "msi window"),
        (Fault::PendingBitLost, "msix pba"),
        (Fault::NotifyLost, "msix notifies"),
        (Fault::IcrNotWritten, "ipis"),
        (Fault::DropReschedule, "reschedules"),
        (Fault::UncountedInterrupt, "apic"),
        (Fault::UncountedDeviceEvent, "device disk events"),
        (Fault::RingLosesFrame, "packets"),
        (Fault::DoorbellLost, "tx doorbells"),
        (Fault::TxReadUncounted, "tx descriptor reads"),
        (Fault::TxHeadSkips, "tx descriptors"),
    ];
    let s = busy();
    assert_eq!(violated(&s, |_| {}), Vec::<String>::new(), "the clean run breaks no law");
    for (fault, law) in cases {
        let names = violated(&s, |f| f.arm(fault, 3));
        assert!(names.iter().any(|n| n == law), "{fault:?}: law '{law}' did not fire: {names:?}");
    }
}

#[test]
fn a_lost_doorbell_leaves_frames_in_the_tx_ring_and_the_progress_law_catches_it() {
    // The last doorbell of the run is lost: nothing else will make the NIC
    // fetch the batch it announced (Linux's TX watchdog would fire).
    let s = busy();
    let (_, faults) = Machine::new(&s).expect("valid").run_counting_faults();
    let last = faults.opportunities(Fault::DoorbellLost) - 1;
    let names = fires(&s, "progress", |f| f.arm(Fault::DoorbellLost, last));
    assert_eq!(names, ["progress"], "lost after the run's end, it is seen by the drain alone");
}

/// A machine under attack with every isolation mechanism on: DMA
/// remapping (strict, per-packet maps), interrupt remapping, a rogue
/// device writing into the NIC's buffers, a fault storm, forged MSIs in
/// both formats, and a NIC that misdirects frames into kernel memory.
fn attacked() -> Scenario {
    use crate::config::{AttackKind, AttackTarget, AttackerConfig, DmaMapping, IommuMode};
    let mut s = short(Scenario::default());
    s.iommu.mode = IommuMode::Strict;
    s.iommu.mapping = DmaMapping::PerPacket;
    s.iommu.interrupt_remapping = true;
    let a = AttackerConfig::default;
    s.attackers = vec![
        AttackerConfig { name: "dma".into(), rate_hz: 50_000.0, ..a() },
        AttackerConfig { name: "storm".into(), target: AttackTarget::Unowned, rate_hz: 2_000_000.0, ..a() },
        AttackerConfig { name: "compat".into(), kind: AttackKind::Msi, rate_hz: 20_000.0, ..a() },
        AttackerConfig { name: "handle".into(), kind: AttackKind::Msi, handle: Some(1), rate_hz: 20_000.0, ..a() },
        AttackerConfig {
            name: "misdirect".into(),
            kind: AttackKind::Misdirect,
            target: AttackTarget::KernelMemory,
            every: 64,
            ..a()
        },
    ];
    s
}

#[test]
fn the_isolation_laws_fire_on_the_faults_they_exist_to_catch() {
    let s = attacked();
    let m = crate::run(&s).expect("valid");
    assert!(m.law_violations.is_empty(), "{:?}", m.law_violations);
    let iommu = m.iommu.as_ref().expect("an IOMMU");
    assert!(iommu.fault_overflows > 0, "the storm overflows the records");
    assert!(m.packets.dropped["iommu_fault"] > 0, "misdirected frames are refused and dropped");
    assert!(m.ir.as_ref().expect("remapping").blocked.len() == 2, "{:?}", m.ir);
    let cases = [
        (Fault::RemapBlockUncounted, "interrupt remapping"),
        (Fault::FaultNotReported, "iommu faults"),
        (Fault::FaultDrainUncounted, "fault records"),
        (Fault::IommuDropUncounted, "packets"),
    ];
    for (fault, law) in cases {
        let names = violated(&s, |f| f.arm(fault, 3));
        assert!(names.iter().any(|n| n == law), "{fault:?}: law '{law}' did not fire: {names:?}");
    }
}

/// A reader remapping 64 KiB messages in an 8-thread process (7 compute
/// threads), so every unmap shoots down 7 CPUs.
fn zero_copy() -> Scenario {
    let mut s = short(Scenario::default());
    s.machine.cores = 9;
    s.nic.queues = 1;
    s.nic.affinity = Some(vec![0]);
    s.nic.header_split = true;
    s.workload.flows = 1;
    s.workload.packet_bytes = crate::config::PAGE_BYTES + crate::config::HEADER_BYTES;
    s.workload.rate_gbps = Some(4.0);
    s.workload.rate_pps = None;
    s.kernel.socket_rcvbuf_bytes = 1 << 22;
    s.apps = vec![crate::config::AppConfig::on_core(1)];
    s.process.receive = crate::config::ReceiveMode::Remap;
    s.process.message_bytes = 64 << 10;
    s.process.threads = 8;
    s
}

#[test]
fn a_lost_tlb_flush_acknowledgement_breaks_the_tlb_acks_law() {
    let names = fires(&zero_copy(), "tlb acks", |f| f.arm(Fault::LoseTlbAck, 20));
    // The initiator spins forever: its reader never reads again.
    assert!(names.iter().any(|n| n == "progress"), "{names:?}");
}

#[test]
fn a_dropped_flush_ipi_breaks_the_tlb_ipis_law() {
    let names = fires(&zero_copy(), "tlb ipis", |f| f.arm(Fault::DropIpi, 50));
    assert!(!names.iter().any(|n| n == "tlb acks"), "the flushes that ran were acknowledged: {names:?}");
}

#[test]
fn a_lost_zerocopy_notification_breaks_the_zerocopy_notifications_law() {
    let mut s = short(Scenario::default());
    s.tx = Some(crate::config::TxConfig {
        zerocopy: true,
        frame_bytes: 4138,
        descriptors_per_doorbell: 4,
        doorbell_rate_per_s: 50_000.0,
        core: 3,
        ..crate::config::TxConfig::default()
    });
    fires(&s, "zerocopy notifications", |f| f.arm(Fault::LoseZerocopyNotification, 100));
}

#[test]
fn a_pir_bit_taken_without_counting_breaks_the_posted_law() {
    let mut s = short(Scenario::default());
    s.iommu.interrupt_remapping = true;
    s.iommu.posted_msi = true;
    fires(&s, "posted", |f| f.arm(Fault::PirTakeUncounted, 100));
}

#[test]
fn an_uncounted_unthrottle_breaks_the_cgroup_throttles_law() {
    let mut s = short(Scenario::default());
    s.workload.rate_pps = Some(100_000.0);
    s.apps = vec![crate::config::AppConfig {
        work_ns: 5_000.0,
        cgroup: Some("c".into()),
        ..crate::config::AppConfig::on_core(1)
    }];
    s.cgroups = vec![crate::config::CgroupConfig {
        cpu_max_us: Some(2_000),
        period_us: 5_000,
        ..crate::config::CgroupConfig::unlimited("c")
    }];
    fires(&s, "cgroup throttles", |f| f.arm(Fault::UnthrottleUncounted, 1));
}

#[test]
fn a_vm_entry_left_uncounted_breaks_the_vm_exits_law() {
    let mut s = short(Scenario::default());
    s.machine.cores = 4;
    s.nic.queues = 2;
    s.iommu.mode = crate::config::IommuMode::Strict;
    s.iommu.interrupt_remapping = true;
    s.vm = Some(crate::config::VmConfig {
        cores: vec![2, 3],
        apic: crate::config::ApicMode::Apicv,
        ipiv: false,
        halt_poll_ns: 0,
        // A competing thread too: its preemptions are exits with entries.
        host_load: 0.5,
        host_slice_us: 200,
        ..crate::config::VmConfig::default()
    });
    fires(&s, "vm exits", |f| f.arm(Fault::EntryUncounted, 50));
}

/// A VM whose NIC is a virtio device served by a vhost worker on core 3.
fn virtio_vm() -> Scenario {
    let mut s = short(Scenario::default());
    s.machine.cores = 4;
    s.nic.queues = 2;
    s.vm = Some(crate::config::VmConfig {
        cores: vec![0, 1],
        device: crate::config::DevicePath::Virtio,
        ..crate::config::VmConfig::default()
    });
    s
}

#[test]
fn an_irqfd_signal_kvm_drops_breaks_the_irqfd_law() {
    fires(&virtio_vm(), "irqfd", |f| f.arm(Fault::IrqfdLost, 20));
}

#[test]
fn a_kick_that_never_reaches_vhost_breaks_the_kicks_law() {
    // A small ring and a guest slower than the worker (a competing thread
    // takes most of each vCPU's core): the ring fills, vhost asks for kicks.
    let mut s = virtio_vm();
    s.nic.ring_size = 64;
    s.workload.rate_pps = Some(400_000.0);
    if let Some(vm) = s.vm.as_mut() {
        vm.host_load = 0.8;
        vm.host_slice_us = 500;
    }
    fires(&s, "kicks", |f| f.arm(Fault::KickLost, 0));
}

#[test]
fn an_eventfd_signal_lost_breaks_the_vfio_eventfd_law() {
    let mut s = short(Scenario::default());
    s.machine.cores = 2;
    s.nic.queues = 1;
    s.nic.affinity = Some(vec![0]);
    s.nic.auto_mask = true;
    s.iommu.mode = crate::config::IommuMode::Strict;
    s.workload.rate_pps = Some(100_000.0);
    s.vfio = Some(crate::config::VfioConfig { mode: crate::config::PmdMode::Interrupt, ..Default::default() });
    s.apps = vec![crate::config::AppConfig::on_core(1)];
    fires(&s, "vfio eventfd", |f| f.arm(Fault::EventfdSignalLost, 100));
}

/// Two 1-vCPU VMs whose vCPUs share core 1, each with its own VF.
fn two_vms_sharing() -> Scenario {
    let mut s = short(Scenario::default());
    s.machine.cores = 2;
    s.nic.queues = 1;
    s.nic.auto_mask = true;
    s.workload.rate_pps = Some(200_000.0);
    s.iommu.mode = crate::config::IommuMode::Strict;
    s.iommu.interrupt_remapping = true;
    let vm = crate::config::VmConfig {
        cores: vec![1],
        apic: crate::config::ApicMode::Posted,
        host_slice_us: 200,
        ..crate::config::VmConfig::default()
    };
    s.vm = Some(vm.clone());
    s.vms = vec![vm];
    s
}

#[test]
fn a_vcpu_yield_left_uncounted_breaks_the_vcpu_yields_law() {
    fires(&two_vms_sharing(), "vcpu yields", |f| f.arm(Fault::YieldUncounted, 100));
}

#[test]
fn pir_bits_lost_when_a_vcpu_gets_its_core_break_its_vms_posted_law() {
    // Every grant drops the PIR: the wakeups' posted vectors vanish.
    assert_eq!(violated(&two_vms_sharing(), |_| {}), Vec::<String>::new(), "the clean run breaks no law");
    let names = violated(&two_vms_sharing(), |f| f.arm_always(Fault::PirLostAtSwitch));
    assert!(names.iter().any(|n| n == "posted (vm 0)") && names.iter().any(|n| n == "posted (vm 1)"), "{names:?}");
}

#[test]
fn an_interrupt_passed_to_another_vm_and_lost_breaks_the_vfio_passes_law() {
    // APICv without posting: the host takes each VF's interrupt on the
    // shared core and passes the other VM's to its KVM.
    let mut s = two_vms_sharing();
    for vm in s.vm.iter_mut().chain(s.vms.iter_mut()) {
        vm.apic = crate::config::ApicMode::Apicv;
    }
    fires(&s, "vfio passes", |f| f.arm(Fault::VfioPassLost, 50));
}

#[test]
fn a_migrating_vcpu_left_listed_on_its_old_core_breaks_the_vcpu_run_queues_law() {
    // Two floating 1-vCPU VMs over cores 0 and 1: woken vCPUs move.
    let mut s = two_vms_sharing();
    for vm in s.vm.iter_mut().chain(s.vms.iter_mut()) {
        vm.vcpu_affinity = crate::config::VcpuAffinity::Floating;
        vm.allowed_cores = vec![0, 1];
    }
    fires(&s, "vcpu run queues", |f| f.arm(Fault::MigrationLeftListed, 0));
}
