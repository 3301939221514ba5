//! What trying the first landing as a new user found (re-foundation issue,
//! section 3), each pinned by a test of the command that showed it.

use irqlab_model::config::{ArrivalKind, InterruptMode, Scenario, WIRE_OVERHEAD_BYTES};
use irqlab_model::{Metrics, run};

fn checked(s: &Scenario) -> Metrics {
    let m = run(s).expect("valid scenario");
    assert!(m.law_violations.is_empty(), "{:?}", m.law_violations);
    m
}

/// `irqlab run --set kernel.irqbalance_interval_ms=10 --duration 1s` wedged
/// every ring after about 50 ms (also seeds 2 and 3, and MSI mode): the
/// moved IRQ's EOI and NAPI went to its new CPU instead of the one that
/// took the interrupt.
#[test]
fn the_rebalancer_moves_irqs_without_wedging_a_ring() {
    for (seed, mode) in
        [(1, InterruptMode::Msix), (2, InterruptMode::Msix), (3, InterruptMode::Msix), (1, InterruptMode::Msi)]
    {
        let mut s = Scenario::default();
        s.seed = seed;
        s.nic.interrupt_mode = mode;
        s.duration_ms = 300.0;
        s.kernel.irqbalance_interval_ms = 10.0;
        // A load the machine carries, high enough for the rebalancer to
        // move, so that whatever is not delivered was lost to a wedge:
        // since the readers pay recvmsg as sourced, the default 2 Mpps
        // overloads the cores, and MSI's one vector puts every queue's
        // polls on one core.
        s.workload.rate_pps = Some(if mode == InterruptMode::Msi { 1_000_000.0 } else { 1_500_000.0 });
        let m = checked(&s);
        assert!(m.interrupts.affinity_moves > 0, "seed {seed} {mode:?}: the rebalancer moved nothing");
        assert!(
            m.packets.delivered as f64 >= 0.999 * m.packets.offered as f64,
            "seed {seed} {mode:?}: {} of {} delivered, {} in flight, {:?} dropped",
            m.packets.delivered,
            m.packets.offered,
            m.packets.in_flight,
            m.packets.dropped
        );
        assert_eq!(m.progress.stuck, 0);
    }
}

/// `--set kernel.napi=false --set kernel.irqbalance_interval_ms=1
/// --duration 5ms` lost a packet between the handler's entry and exit.
#[test]
fn pre_napi_receive_with_the_rebalancer_loses_no_packet() {
    let mut s = Scenario::default();
    s.kernel.napi = false;
    s.kernel.irqbalance_interval_ms = 1.0;
    s.duration_ms = 5.0;
    let m = checked(&s);
    assert!(m.interrupts.affinity_moves > 0);
}

/// `--set machine.cores=8 --set nic.queues=8 --set workload.packet_bytes=1518
/// --set workload.rate_gbps=9.8 --duration 20ms` delivered 10.03 Gbit/s on a
/// 10 Gbit/s port: per-queue arrival streams overlapped on the wire.
#[test]
fn delivered_frames_fit_the_wire() {
    let mut s = Scenario::default();
    s.machine.cores = 8;
    s.nic.queues = 8;
    s.workload.packet_bytes = 1518;
    s.workload.rate_gbps = Some(9.8);
    s.duration_ms = 20.0;
    for seed in 1..=5 {
        s.seed = seed;
        let m = checked(&s);
        let wire_gbps = m.throughput.delivered_gbps * (1518 + WIRE_OVERHEAD_BYTES) as f64 / 1518.0;
        assert!(wire_gbps <= 10.0, "seed {seed}: {wire_gbps} Gbit/s on the wire");
    }
}

/// napi-livelock offered 14.89 Mpps of 64-byte frames, above the
/// 14,880,952 that 10 Gbit/s can carry.
#[test]
fn poisson_at_line_rate_never_offers_more_than_the_line_carries() {
    let mut s = Scenario::default();
    s.machine.cores = 1;
    s.nic.queues = 1;
    s.workload.arrival = ArrivalKind::Poisson;
    s.workload.rate_pps = Some(14_880_952.0);
    s.duration_ms = 20.0;
    for seed in 1..=5 {
        s.seed = seed;
        let m = checked(&s);
        assert!(m.throughput.offered_pps <= 14_880_953.0, "seed {seed}: {} pps offered", m.throughput.offered_pps);
    }
}

/// A vector left behind by a move is freed once the IRQ has fired on its
/// new one: thousands of moves never exhaust a CPU's 204 device vectors.
#[test]
fn moved_irqs_give_their_old_vectors_back() {
    let mut s = Scenario::default();
    s.duration_ms = 100.0;
    s.kernel.irqbalance_interval_ms = 0.2;
    s.kernel.irqbalance_threshold = 0.0;
    let m = checked(&s);
    assert!(m.interrupts.affinity_moves > 300, "{} moves", m.interrupts.affinity_moves);
    assert_eq!(m.interrupts.affinity_failed_moves, 0);
    assert!(m.interrupts.per_vector.iter().all(|v| v.vector < 0x30), "{:?}", m.interrupts.per_vector);
}

/// `irqlab run --view queues` printed `rx_bytes` of the frames that had
/// landed beside `rx_packets` of those the driver had taken (65.4 bytes a
/// 64-byte frame on queue 0 of `default`): a driver counts both as it
/// processes each frame, and net_dim's and ixgbe's ITR samples read them
/// together.
#[test]
fn a_queues_bytes_are_those_of_the_frames_the_driver_took() {
    let mut s = Scenario::default();
    s.duration_ms = 10.0;
    let m = checked(&s);
    assert!(m.packets.in_flight > 0, "frames still in the rings at the end make the test tell");
    for q in &m.queues {
        assert!(q.packets > 0);
        assert_eq!(q.bytes, q.packets * s.workload.packet_bytes as u64, "queue {}", q.queue);
    }
}
