//! Whole-run facts of the IOMMU: DMA and interrupt remapping under normal
//! traffic, moves and every interrupt mode, and against misbehaving
//! devices (issue: Isolation).

use irqlab_model::config::{
    AttackKind, AttackTarget, AttackerConfig, DmaMapping, InterruptMode, IommuMode, Scenario, TriggerKind,
};
use irqlab_model::{Metrics, run};

fn quick(mut s: Scenario) -> Metrics {
    s.duration_ms = s.duration_ms.min(20.0);
    let m = run(&s).expect("valid scenario");
    assert!(m.law_violations.is_empty(), "laws: {:?}", m.law_violations);
    m
}

fn protected(mode: IommuMode, mapping: DmaMapping) -> Scenario {
    let mut s = Scenario::default();
    s.iommu.mode = mode;
    s.iommu.mapping = mapping;
    s.iommu.interrupt_remapping = true;
    s
}

#[test]
fn remapping_delivers_what_an_unprotected_machine_delivers() {
    let plain = quick(Scenario::default());
    for mode in [IommuMode::Passthrough, IommuMode::Strict, IommuMode::Lazy] {
        let m = quick(protected(mode, DmaMapping::PagePool));
        // Nothing is lost to remapping. (Delivered counts differ by the
        // packets still queued at the end: the default load keeps the
        // readers, whose recvmsg is charged as sourced, close to busy, so
        // the walks' few ns per DMA shift which packets the run's end
        // catches in a socket.)
        assert_eq!(m.packets.offered, plain.packets.offered, "{mode:?}");
        for p in [&m.packets, &plain.packets] {
            assert_eq!(p.dropped.values().sum::<u64>(), 0, "{mode:?}: {:?}", p.dropped);
        }
        let (d, pd) = (m.packets.delivered as f64, plain.packets.delivered as f64);
        assert!((d - pd).abs() <= 0.01 * pd, "{mode:?}: {d} vs {pd} delivered");
        let ir = m.ir.as_ref().expect("interrupt remapping is on");
        assert!(ir.remapped > 1_000 && ir.blocked.is_empty(), "{mode:?}: {ir:?}");
        assert_eq!(m.interrupts.msi.accepted + m.interrupts.msi.irr_coalesced, ir.remapped);
    }
}

#[test]
fn the_same_seed_gives_the_same_bytes_with_the_iommu_and_attackers() {
    let mut s = protected(IommuMode::Lazy, DmaMapping::PerPacket);
    s.attackers = vec![
        AttackerConfig { target: AttackTarget::Unowned, rate_hz: 300_000.0, ..Default::default() },
        AttackerConfig { kind: AttackKind::Msi, handle: Some(2), rate_hz: 20_000.0, ..Default::default() },
        AttackerConfig { kind: AttackKind::LateDma, delay_us: 10.0, every: 4, ..Default::default() },
    ];
    let a = serde_json::to_string(&quick(s.clone())).unwrap();
    let b = serde_json::to_string(&quick(s.clone())).unwrap();
    assert_eq!(a, b);
    s.seed = 2;
    assert_ne!(a, serde_json::to_string(&quick(s)).unwrap());
}

#[test]
fn moved_irqs_rewrite_their_irte_not_the_msix_entry() {
    let mut s = protected(IommuMode::Strict, DmaMapping::PagePool);
    s.duration_ms = 100.0;
    s.kernel.irqbalance_interval_ms = 1.0;
    s.kernel.irqbalance_threshold = 0.0;
    let m = run(&s).expect("valid");
    assert!(m.law_violations.is_empty(), "{:?}", m.law_violations);
    assert!(m.interrupts.affinity_moves > 5, "{}", m.interrupts.affinity_moves);
    let ir = m.ir.as_ref().unwrap();
    assert!(ir.iec_invalidations >= m.interrupts.affinity_moves, "an IEC invalidation per move: {ir:?}");
    // The entry is never masked for a move: no Pending bit is ever set.
    assert_eq!(m.interrupts.msix.pending_set, 0);
    assert_eq!(m.progress.stuck, 0);
}

#[test]
fn every_interrupt_mode_works_through_remapping() {
    for (mode, trigger) in [
        (InterruptMode::Msi, TriggerKind::Edge),
        (InterruptMode::Intx, TriggerKind::Edge),
        (InterruptMode::Intx, TriggerKind::Level),
    ] {
        let mut s = Scenario::default();
        s.nic.interrupt_mode = mode;
        s.nic.intx_trigger = trigger;
        let plain = quick(s.clone());
        // Interrupt remapping alone (as `intremap=on` with DMA remapping
        // off): it costs no time, so the run is the same one.
        s.iommu.interrupt_remapping = true;
        let m = quick(s);
        let chip = &m.interrupts.per_vector.last().unwrap().chip;
        assert!(chip.starts_with("IR-"), "{mode:?}/{trigger:?}: {chip}");
        assert_eq!(m.packets.delivered, plain.packets.delivered, "{mode:?}/{trigger:?}");
        // A level line whose EOI missed its RTE would stay in Remote IRR
        // and stop interrupting; it interrupts as often as without remapping.
        assert_eq!(m.interrupts.total, plain.interrupts.total, "{mode:?}/{trigger:?}");
        assert_eq!(m.interrupts.unhandled, plain.interrupts.unhandled, "{mode:?}/{trigger:?}");
    }
}

#[test]
fn per_packet_maps_unmap_every_received_buffer_and_strict_invalidates_each() {
    let m = quick(protected(IommuMode::Strict, DmaMapping::PerPacket));
    let api = &m.iommu.as_ref().unwrap().dma_api;
    let taken = m.packets.delivered + m.packets.in_flight;
    assert!(api.unmaps + 4 * 512 >= taken && api.unmaps <= taken + 4 * 512, "{api:?}");
    assert_eq!(api.sync_invalidations, api.unmaps);
    let lazy = quick(protected(IommuMode::Lazy, DmaMapping::PerPacket));
    let api = &lazy.iommu.as_ref().unwrap().dma_api;
    assert_eq!(api.sync_invalidations, 0);
    assert!(api.fq_flushes > 0 && api.fq_flushes * 100 < api.unmaps, "{api:?}");
}

#[test]
fn the_fault_event_drains_the_records_and_a_masked_one_leaves_them() {
    let mut s = protected(IommuMode::Strict, DmaMapping::PagePool);
    s.attackers = vec![AttackerConfig { target: AttackTarget::Unowned, rate_hz: 50_000.0, ..Default::default() }];
    let m = quick(s.clone());
    let u = m.iommu.as_ref().unwrap();
    assert_eq!(u.unit.faults["write_denied"], m.attackers[0].attempts);
    assert!(u.dma_api.fault_interrupts > 0 && u.dma_api.faults_drained > 0);
    assert!(u.dma_api.faults_logged <= 10, "rate-limited to 10 per 5 s: {}", u.dma_api.faults_logged);
    s.iommu.fault_event_masked = true;
    let m = quick(s);
    let u = m.iommu.as_ref().unwrap();
    assert_eq!(u.dma_api.fault_interrupts, 0);
    assert_eq!(u.fault_records.recorded, 8, "the registers fill and stay full");
    assert_eq!(u.fault_overflows + u.fault_records.recorded, m.attackers[0].attempts);
}

/// Posted MSIs on the host (`iommu.posted_msi`): every queue interrupt is
/// posted into its CPU's descriptor; one notification covers every request
/// that arrives while ON is set, so at a high rate there are fewer
/// interrupts than device messages — and every packet still arrives.
#[test]
fn posted_msis_coalesce_device_interrupts_into_notifications() {
    let mut s = Scenario::default();
    s.duration_ms = 20.0;
    s.iommu.interrupt_remapping = true;
    let remapped = quick(s.clone());
    s.iommu.posted_msi = true;
    let posted = quick(s);
    for m in [&remapped, &posted] {
        assert_eq!(m.progress.stuck, 0);
    }
    assert!(remapped.posted.is_none());
    let p = posted.posted.as_ref().expect("posted section");
    let ir = posted.ir.as_ref().expect("remapping");
    assert_eq!(ir.remapped, 0, "every NIC message goes through a posted entry");
    assert_eq!(p.requests, posted.interrupts.msix.sent);
    assert_eq!(p.notifications, p.notifications_taken);
    assert!(p.notifications < p.requests, "{p:?}");
    assert!(posted.interrupts.total < remapped.interrupts.total);
    // Each notification scans the PIR two or three times (Linux's loop,
    // then once more after clearing ON).
    assert!(p.scans >= 2 * p.notifications && p.scans <= 3 * p.notifications, "{p:?}");
    assert_eq!(posted.packets.offered, remapped.packets.offered);
    assert!(posted.packets.delivered as f64 > 0.99 * remapped.packets.delivered as f64);
}
