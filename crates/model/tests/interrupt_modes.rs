//! One driver, every interrupt mode (issue: the device contract, item 7),
//! and the level-line etiquette (items 4–6).

use irqlab_model::config::{InterruptMode, LevelEoi, Scenario, TriggerKind};
use irqlab_model::{Metrics, run};

fn scenario(mode: InterruptMode, trigger: TriggerKind, eoi: LevelEoi) -> Scenario {
    let mut s = Scenario::default();
    s.duration_ms = 150.0;
    s.machine.cores = 2;
    s.nic.queues = 4;
    s.nic.interrupt_mode = mode;
    s.nic.intx_trigger = trigger;
    s.driver.level_eoi = eoi;
    s.workload.rate_pps = Some(100_000.0);
    s
}

fn checked(s: &Scenario) -> Metrics {
    let m = run(s).expect("valid");
    assert!(m.law_violations.is_empty(), "{:?}", m.law_violations);
    m
}

#[test]
fn the_same_driver_has_no_storm_and_loses_no_interrupt_in_every_mode() {
    for (mode, trigger) in [
        (InterruptMode::Msix, TriggerKind::Edge),
        (InterruptMode::Msi, TriggerKind::Edge),
        (InterruptMode::Intx, TriggerKind::Level),
        (InterruptMode::Intx, TriggerKind::Edge),
    ] {
        let m = checked(&scenario(mode, trigger, LevelEoi::AfterClear));
        let what = format!("{mode:?}/{trigger:?}");
        check_no_storm_no_loss(&m, &what);
    }
    // MSI-X again, with the NIC masking the queue itself (EIAM) instead of the top half.
    let mut s = scenario(InterruptMode::Msix, TriggerKind::Edge, LevelEoi::AfterClear);
    s.nic.auto_mask = true;
    check_no_storm_no_loss(&checked(&s), "Msix/auto_mask");
    // The level line again, with handle_level_irq instead of handle_fasteoi_irq.
    let mut s = scenario(InterruptMode::Intx, TriggerKind::Level, LevelEoi::AfterClear);
    s.kernel.level_flow = irqlab_model::config::LevelFlow::Level;
    let m = checked(&s);
    assert_eq!(m.interrupts.per_vector[0].chip, "IO-APIC-level");
    check_no_storm_no_loss(&m, "Intx/Level/handle_level_irq");
}

fn check_no_storm_no_loss(m: &Metrics, what: &str) {
    // No lost interrupt: at 100 kpps everything offered is delivered but a handful in flight.
    assert!(m.packets.in_flight < 20, "{what}: {} in flight", m.packets.in_flight);
    assert_eq!(m.packets.dropped.values().sum::<u64>(), 0, "{what}");
    // No storm: at most about one interrupt per packet, almost all claimed, no line disabled.
    assert!(m.interrupts.per_packet <= 1.05, "{what}: {}", m.interrupts.per_packet);
    assert_eq!(m.interrupts.lines_disabled, 0, "{what}");
    // With one MSI for several queues, a message that finds the cause
    // register already read by its predecessor's handler is IRQ_NONE — a
    // minority, far from the spurious rule's 99.9%.
    assert!(m.interrupts.unhandled * 4 < m.interrupts.total, "{what}: {} unhandled", m.interrupts.unhandled);
    assert_eq!(m.interrupts.ioapic_eoi_redeliveries, 0, "{what}");
}

#[test]
fn eoi_before_clearing_a_level_line_storms_until_nobody_cared_disables_it() {
    let m = checked(&scenario(InterruptMode::Intx, TriggerKind::Level, LevelEoi::BeforeClear));
    let irq = &m.interrupts.per_vector[0];
    let at = irq.disabled_at_ms.expect("the line is disabled");
    assert!(irq.count >= 100_000, "the spurious window is 100,000 interrupts: {}", irq.count);
    assert!(irq.unhandled > 99_900);
    assert!(m.interrupts.ioapic_eoi_redeliveries > 99_000, "the storm is re-delivery at EOI");
    assert!(at < 150.0);
    assert!(irq.polled >= 1 || at > 50.0, "polled every 100 ms once disabled");
}

#[test]
fn noirqdebug_leaves_the_storm_running() {
    let mut s = scenario(InterruptMode::Intx, TriggerKind::Level, LevelEoi::BeforeClear);
    s.kernel.noirqdebug = true;
    s.duration_ms = 30.0;
    let m = checked(&s);
    assert_eq!(m.interrupts.lines_disabled, 0);
    assert!(m.packets.delivered * 10 < m.packets.offered, "the storm starves NAPI: {} delivered", m.packets.delivered);
}

#[test]
fn directed_eoi_also_clears_remote_irr() {
    let mut s = scenario(InterruptMode::Intx, TriggerKind::Level, LevelEoi::AfterClear);
    s.kernel.directed_eoi = true;
    let m = checked(&s);
    assert!(m.packets.in_flight < 20 && m.packets.delivered > 10_000, "no stuck Remote IRR");
}

#[test]
fn interrupts_for_msi_and_intx_land_on_the_single_irq_core() {
    for mode in [InterruptMode::Msi, InterruptMode::Intx] {
        let mut s = scenario(mode, TriggerKind::Level, LevelEoi::AfterClear);
        s.nic.affinity = Some(vec![1]);
        let m = checked(&s);
        assert_eq!(m.interrupts.per_core[0], 0, "{mode:?}");
        assert!(m.interrupts.per_core[1] > 0, "{mode:?}");
        assert_eq!(m.interrupts.per_vector.len(), 1);
        assert_eq!(m.interrupts.per_vector[0].queues, vec![0, 1, 2, 3]);
    }
}

#[test]
fn a_device_sharing_the_nics_intx_line_is_serviced_and_answers_none_for_the_nic() {
    use irqlab_model::config::{CauseClear, DeviceConfig};
    for clear in [CauseClear::Read, CauseClear::W1c] {
        let mut s = scenario(InterruptMode::Intx, TriggerKind::Level, LevelEoi::AfterClear);
        s.devices =
            vec![DeviceConfig { name: "disk".into(), pin: 16, rate_hz: 20_000.0, clear, handler_ns: 300.0, core: 0 }];
        let m = checked(&s);
        let d = &m.devices[0];
        assert!(d.counts.events > 2_000, "20 kHz for 150 ms: {}", d.counts.events);
        assert_eq!(d.counts.events, d.counts.serviced + d.counts.coalesced + d.pending as u64);
        assert!(d.counts.none > 0, "the device's handler also runs for the NIC's interrupts");
        assert_eq!(m.interrupts.per_vector.len(), 1, "one shared IRQ");
        assert_eq!(m.interrupts.lines_disabled, 0);
        assert_eq!(m.packets.dropped.values().sum::<u64>(), 0);
        assert!(m.packets.in_flight < 20);
    }
}

#[test]
fn a_device_on_its_own_pin_gets_its_own_irq() {
    use irqlab_model::config::{CauseClear, DeviceConfig};
    let mut s = scenario(InterruptMode::Msix, TriggerKind::Edge, LevelEoi::AfterClear);
    s.devices = vec![DeviceConfig {
        name: "serial".into(),
        pin: 4,
        rate_hz: 5_000.0,
        clear: CauseClear::Read,
        handler_ns: 0.0,
        core: 1,
    }];
    let m = checked(&s);
    let irq = m.interrupts.per_vector.iter().find(|v| v.chip == "IO-APIC-fasteoi").expect("the device's IRQ");
    assert_eq!(irq.core, 1);
    assert_eq!(irq.unhandled, 0, "nobody else shares its line");
    assert_eq!(irq.count, m.devices[0].counts.serviced);
}

#[test]
fn irqbalance_moves_vectors_off_an_overloaded_core_by_reprogramming_msix() {
    use irqlab_model::config::{AffinityPolicy, AppConfig};
    let mut s = Scenario::default();
    s.duration_ms = 60.0;
    s.nic.affinity_policy = AffinityPolicy::Single;
    s.workload.rate_pps = Some(3_000_000.0);
    s.apps = (0..4).map(AppConfig::on_core).collect();
    let pinned = checked(&s);
    assert!(pinned.interrupts.per_vector.iter().all(|v| v.core == 0));
    assert_eq!(pinned.interrupts.per_core[1..], [0, 0, 0]);
    s.kernel.irqbalance_interval_ms = 5.0;
    let balanced = checked(&s);
    assert!(balanced.interrupts.affinity_moves > 0);
    assert!(balanced.interrupts.per_vector.iter().any(|v| v.core != 0), "some vector left core 0");
    assert!(balanced.interrupts.per_core[1..].iter().sum::<u64>() > 0, "other cores now take interrupts");
    // Spreading the vectors delivers more; by less than the 10% it once
    // did, since the readers pay recvmsg as sourced: the spread cores run
    // in NAPI's interrupt mode, their readers a quarter to a third of
    // each (≈2.16 against ≈1.99 Mpps).
    assert!(
        balanced.throughput.delivered_pps > pinned.throughput.delivered_pps * 1.05,
        "{} vs {}",
        balanced.throughput.delivered_pps,
        pinned.throughput.delivered_pps
    );
}

#[test]
fn qemus_limiter_pauses_the_storm_every_10000_redeliveries() {
    let mut s = scenario(InterruptMode::Intx, TriggerKind::Level, LevelEoi::BeforeClear);
    s.duration_ms = 100.0;
    s.machine.ioapic_successive_irq_limit = true;
    let m = checked(&s);
    assert!(m.interrupts.ioapic.limiter_delays >= 1);
    let without = checked(&scenario(InterruptMode::Intx, TriggerKind::Level, LevelEoi::BeforeClear));
    assert_eq!(without.interrupts.ioapic.limiter_delays, 0);
    // Each 10 ms pause lets NAPI run: more gets through than in the unbroken storm.
    assert!(m.packets.delivered > without.packets.delivered * 100 / 150);
}
