//! Whole-run facts of the receive path (issue: Foundation, "Done when").

use irqlab_model::config::{ArrivalKind, Scenario};
use irqlab_model::{Metrics, run};

fn quick(mut s: Scenario) -> Metrics {
    if s.duration_ms > 20.0 {
        s.duration_ms = 20.0;
    }
    let m = run(&s).expect("valid scenario");
    assert!(m.law_violations.is_empty(), "laws: {:?}", m.law_violations);
    m
}

fn json(m: &Metrics) -> String {
    serde_json::to_string(m).unwrap()
}

#[test]
fn default_run_accounts_for_every_packet() {
    let m = quick(Scenario::default());
    let dropped: u64 = m.packets.dropped.values().sum();
    assert!(m.packets.offered > 30_000, "2 Mpps for 20 ms offers ~40k packets: {}", m.packets.offered);
    assert_eq!(m.packets.offered, m.packets.delivered + dropped + m.packets.in_flight);
    assert!(m.packets.delivered > m.packets.offered * 9 / 10, "default load is within capacity");
    assert!(m.latency_ns.p50 > 0 && m.latency_ns.p50 <= m.latency_ns.p99);
}

#[test]
fn same_seed_gives_identical_json_and_another_seed_differs() {
    let a = quick(Scenario::default());
    let b = quick(Scenario::default());
    assert_eq!(json(&a), json(&b));
    let c = quick(Scenario { seed: 2, ..Scenario::default() });
    assert_ne!(json(&a), json(&c));
    assert_ne!(a.packets.offered, c.packets.offered);
}

#[test]
fn overload_drops_with_named_reasons_and_loses_nothing() {
    let mut s = Scenario::default();
    s.machine.cores = 2;
    s.nic.queues = 2;
    s.workload.rate_pps = Some(8_000_000.0);
    let m = quick(s);
    let dropped: u64 = m.packets.dropped.values().sum();
    assert!(dropped > m.packets.offered / 10, "8 Mpps on 2 cores must drop: {:?}", m.packets.dropped);
    assert!(m.packets.dropped["rx_ring_full"] + m.packets.dropped["socket_full"] == dropped);
    assert_eq!(m.packets.offered, m.packets.delivered + dropped + m.packets.in_flight);
}

#[test]
fn interrupts_follow_the_cores_named_in_the_msix_table() {
    let mut s = Scenario::default();
    s.machine.cores = 2;
    s.nic.queues = 4;
    s.workload.rate_pps = Some(200_000.0);
    s.nic.affinity = Some(vec![0, 1, 0, 1]);
    let m = quick(s.clone());
    for v in &m.interrupts.per_vector {
        assert_eq!(v.queues.len(), 1, "one MSI-X vector per queue");
        assert_eq!(v.core, [0, 1, 0, 1][v.queues[0] as usize]);
    }
    let on = |m: &Metrics, core: u32| -> u64 {
        m.interrupts.per_vector.iter().filter(|v| v.core == core).map(|v| v.count).sum()
    };
    assert_eq!(m.interrupts.per_core[0], on(&m, 0));
    assert_eq!(m.interrupts.per_core[1], on(&m, 1));
    s.nic.affinity = Some(vec![1, 1, 1, 0]);
    let moved = quick(s);
    assert_eq!(moved.interrupts.per_core[0], moved.interrupts.per_vector[3].count);
    assert!(moved.interrupts.per_core[1] > moved.interrupts.per_core[0]);
}

#[test]
fn napi_batches_at_high_load_and_interrupts_per_packet_at_low_load() {
    // One queue on one core, offered well above the core's capacity.
    let mut hi = Scenario::default();
    hi.machine.cores = 1;
    hi.nic.queues = 1;
    hi.workload.rate_pps = Some(4_000_000.0);
    let h = quick(hi);
    assert!(h.napi.packets_per_poll > 48.0, "packets/poll {}", h.napi.packets_per_poll);
    assert!(h.interrupts.per_packet < 0.05, "interrupts/packet {}", h.interrupts.per_packet);
    let mut lo = Scenario::default();
    lo.workload.rate_pps = Some(20_000.0);
    lo.workload.arrival = ArrivalKind::Poisson;
    let l = quick(lo);
    assert!(l.interrupts.per_packet > 0.9 && l.interrupts.per_packet <= 1.05, "{}", l.interrupts.per_packet);
}

#[test]
fn lazy_arrivals_need_far_fewer_events_than_packets_at_high_load() {
    let mut s = Scenario::default();
    s.workload.rate_pps = Some(14_000_000.0);
    s.workload.arrival = ArrivalKind::Constant;
    let m = quick(s);
    // Well below one event per packet: a poll, a burst of reads and a
    // wakeup each serve many packets, and arrivals cost no events.
    assert!(m.engine.events_per_packet < 0.25, "events/packet {}", m.engine.events_per_packet);
}

#[test]
fn the_tx_table_runs_the_transmit_path_and_counts_stale_reads_by_barrier() {
    use irqlab_model::config::{TxConfig, TxVectors};
    use irqlab_model::memory::{Barrier, MemoryModel};
    let mut s = Scenario::default();
    s.duration_ms = 100.0;
    s.workload.rate_pps = Some(100_000.0);
    let tx = |barrier, vectors| TxConfig {
        model: MemoryModel::Weak,
        barrier,
        vectors,
        doorbell_rate_per_s: 200_000.0,
        descriptors_per_doorbell: 2,
        ..TxConfig::default()
    };
    s.tx = Some(tx(Barrier::None, TxVectors::Txrx));
    let m = run(&s).expect("valid");
    assert!(m.law_violations.is_empty(), "{:?}", m.law_violations);
    let t = m.tx.as_ref().expect("tx metrics");
    // 100 ms at 200,000 doorbells/s; the last period's batch may be due at the end.
    assert!((19_999..=20_000).contains(&t.doorbells), "{} doorbells", t.doorbells);
    assert!(t.stale_descriptor_reads > 0, "weak, no barrier: {t:?}");
    assert!(t.tx_interrupts > 0 && t.cleaned > 0, "completions interrupt and are cleaned: {t:?}");
    assert!(t.transmitted_pps > 350_000.0, "{} frames/s on the wire", t.transmitted_pps);
    for vectors in [TxVectors::Txrx, TxVectors::Separate] {
        s.tx = Some(tx(Barrier::Wmb, vectors));
        let m = run(&s).expect("valid");
        assert!(m.law_violations.is_empty(), "{vectors:?}: {:?}", m.law_violations);
        let t = m.tx.as_ref().expect("tx metrics");
        assert_eq!(t.stale_descriptor_reads, 0, "{vectors:?}");
        assert!(t.tx_interrupts > 0 && t.cleaned + 2 * 64 >= t.descriptors_posted, "{vectors:?}: {t:?}");
        if vectors == TxVectors::Separate {
            assert_eq!(m.interrupts.per_vector.len(), 5, "four queue vectors and the TX vector");
            assert!(m.interrupts.per_vector[4].count > 0, "the TX vector fires");
        }
    }
}

/// kernel/softirq.c `invoke_softirq()`: from Linux 4.9 (commit 4cd13c21b207
/// "softirq: Let ksoftirqd do its job") to 6.4, `irq_exit` leaves pending
/// softirqs to a runnable ksoftirqd; 6.5 reverted it (commit d15121be7485),
/// so they run inline on interrupt exit again. One core in NAPI overload
/// (ksoftirqd runnable throughout) with a level device interrupting it at
/// 20 kHz: with the deferral NET_RX runs in ksoftirqd and hardly ever on
/// `irq_exit`; without it every device interrupt that lands while the
/// reader has the core runs NET_RX in softirq context, at the reader's
/// expense.
#[test]
fn softirq_defer_decides_whether_net_rx_runs_on_irq_exit_or_in_ksoftirqd() {
    use irqlab_model::config::{CauseClear, DeviceConfig, SoftirqDefer};
    let go = |defer: SoftirqDefer| {
        let mut s = Scenario::default();
        s.machine.cores = 1;
        s.nic.queues = 1;
        s.workload.rate_pps = Some(8_000_000.0);
        s.workload.arrival = ArrivalKind::Poisson;
        s.devices = vec![DeviceConfig {
            name: "disk".into(),
            pin: 17,
            rate_hz: 20_000.0,
            clear: CauseClear::Read,
            handler_ns: 300.0,
            core: 0,
        }];
        s.kernel.softirq_defer = defer;
        quick(s)
    };
    let deferred = go(SoftirqDefer::Ksoftirqd);
    let inline = go(SoftirqDefer::Inline);
    assert_eq!(Scenario::default().kernel.softirq_defer, SoftirqDefer::Ksoftirqd, "the default is 4.9–6.4's");
    for m in [&deferred, &inline] {
        assert!(m.napi.ksoftirqd_wakeups >= 1, "overload: ksoftirqd takes over");
        assert!(m.interrupts.total > 300, "the device interrupts all along: {}", m.interrupts.total);
    }
    let (d, i) = (&deferred.cpu[0].busy_frac, &inline.cpu[0].busy_frac);
    // ksoftirqd and the reader, both runnable throughout, share the core
    // (the reader's recvmsg, as sourced, wants as much of it as NET_RX).
    assert!(d.softirq < 0.1 && d.kthread > 0.4, "deferred: NET_RX in ksoftirqd: {d:?}");
    assert!(i.softirq > 0.25 && i.softirq > 4.0 * d.softirq, "inline: NET_RX on irq_exit: {i:?} vs {d:?}");
    assert!(i.user < d.user, "softirq on irq_exit is taken from the reader: {} vs {}", i.user, d.user);
}
