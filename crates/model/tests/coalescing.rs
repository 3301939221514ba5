//! The NIC's interrupt moderation timer, run whole: ethtool's `rx-usecs`
//! counts from the first unreported frame; mlx5's CQE-based moderation,
//! which adaptive-rx (net_dim's CQE profiles) runs with, restarts the timer
//! at each completion (Linux commit "net/mlx5e: CQE based moderation":
//! "for bursty traffic the period timer will never expire and thus only
//! the moderation frames counter will dictate interrupt generation … If
//! the burst seizes [sic] for "moderation period" time then an interrupt
//! will be issued immediately").

use irqlab_model::config::{ArrivalKind, Scenario};
use irqlab_model::{Metrics, run};

/// One core and one queue, frames `gap_us` apart (constant arrivals), for
/// `ms` milliseconds: few enough interrupts (under net_dim's 64 a
/// decision) that adaptive-rx keeps its first profile, 8 µs / 128 frames.
fn spaced(gap_us: f64, ms: f64, adaptive: bool) -> Metrics {
    let mut s = Scenario::default();
    s.machine.cores = 1;
    s.nic.queues = 1;
    s.workload.arrival = ArrivalKind::Constant;
    s.workload.rate_pps = Some(1e6 / gap_us);
    s.duration_ms = ms;
    if adaptive {
        s.nic.coalesce.adaptive_rx = true;
    } else {
        (s.nic.coalesce.rx_usecs, s.nic.coalesce.rx_frames) = (8, 128);
    }
    let m = run(&s).expect("valid");
    assert!(m.law_violations.is_empty(), "{:?}", m.law_violations);
    m
}

#[test]
fn frames_closer_than_the_period_keep_restarting_the_cqe_timer_until_the_frame_count() {
    // 5 µs apart, 8 µs period: the CQE timer never expires; 128 frames do.
    let m = spaced(5.0, 5.0, true);
    assert_eq!((m.queues[0].rx_usecs, m.queues[0].rx_frames), (8, 128), "net_dim has not moved yet");
    assert_eq!(m.queues[0].moderation_changes, 0);
    let (frames, irqs) = (m.packets.offered, m.interrupts.total);
    assert!(frames >= 990, "{frames}");
    // An interrupt per 128 frames at most (a poll also takes the frames
    // that land while it runs); the last ones wait for the traffic to stop.
    assert!((frames / 192..=frames / 128).contains(&irqs), "{irqs} interrupts for {frames} frames");
    // ethtool's rx-usecs 8 / rx-frames 128: 8 µs after a batch's first
    // frame, which holds two frames 5 µs apart.
    let m = spaced(5.0, 5.0, false);
    assert!(m.interrupts.total > m.packets.offered / 3, "{} for {}", m.interrupts.total, m.packets.offered);
}

#[test]
fn a_gap_longer_than_the_period_ends_the_batch_one_period_after_its_last_frame() {
    // 20 µs apart, 8 µs period: each frame waits out the period alone.
    let m = spaced(20.0, 1.0, true);
    assert_eq!(m.queues[0].moderation_changes, 0);
    assert_eq!(m.interrupts.total, m.packets.delivered, "an interrupt per frame");
    // Wire to application: the 8 µs period, then the interrupt and the
    // poll, wakeup and read (a few µs) — never a second frame's gap.
    let p50 = m.latency_ns.p50;
    assert!((8_000..14_000).contains(&p50), "p50 {p50} ns");
    assert!(m.latency_ns.max < 20_000, "max {} ns", m.latency_ns.max);
}
