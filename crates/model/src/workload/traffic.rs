//! Traffic on the wire: the frames arriving at one NIC port, in wire order.
//!
//! One stream per port, drawn from the port's own RNG stream: each frame
//! picks its flow uniformly, its size from the configured distribution, and
//! its last bit's arrival time from the arrival process — and no two frames
//! overlap on the wire: a frame occupies `(bytes + 20) × 8 / line rate`
//! (preamble, start-of-frame delimiter and the inter-frame gap, IEEE 802.3
//! §4.4.2), and starts no earlier than the previous one ended.
//!
//! * `constant`: frames end every `1/rate`, pushed back when a frame is
//!   longer than the spacing (variable sizes).
//! * `poisson`: between two frames the wire idles for an exponential time
//!   with mean `1/rate − mean frame time`, so the mean rate is exact and at
//!   line rate the frames come back to back.
//! * `onoff`: the Poisson process at `rate × (on+off)/on` during bursts of
//!   `on_us`, silent for `off_us`; the long-run mean is kept.
//!
//! Or the port replays a capture (`workload.pcap`, [`super::replay`]).
//!
//! The NIC splits the stream among its queues by RSS (and flow filters)
//! and materialises it lazily, only as far as a queue is observed, so
//! arrivals cost no events.

use crate::config::{ArrivalKind, IMIX, PacketSizeKind, WIRE_OVERHEAD_BYTES, WorkloadConfig};
use crate::ids::FlowId;
use crate::workload::replay::Replay;
use irqlab_engine::Time;
use irqlab_engine::time::PS_PER_US;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

pub use crate::workload::packet::Packet;

/// The arrival stream of one NIC port.
pub struct PortArrivals {
    rng: ChaCha8Rng,
    kind: ArrivalKind,
    size: PacketSizeKind,
    bytes_min: u32,
    bytes_max: u32,
    /// Next sequence number of each flow.
    seq: Vec<u32>,
    /// Wire time per byte (including the 20 overhead bytes), picoseconds.
    ps_per_byte: f64,
    /// Constant: spacing of frame ends. Poisson/onoff: mean idle gap.
    /// Both in on-time picoseconds.
    gap_ps: f64,
    /// End of the previous frame, in on-time picoseconds.
    last_end_ps: f64,
    /// Constant arrivals: phase and index.
    phase_ps: f64,
    k: u64,
    /// On/off: burst and period lengths, picoseconds (period = 0: always on).
    on_ps: f64,
    period_ps: f64,
    /// A capture replayed instead of the generated stream.
    replay: Option<Box<Replay>>,
    /// The draws of the next [`LOOKAHEAD`] frames, a ring starting at
    /// `next_draw` (empty until the first frame).
    drawn: Vec<Draw>,
    next_draw: usize,
}

/// How many frames ahead the port makes its random draws. Drawn early, a
/// frame's flow is known while frames before it are still being made, and
/// its per-flow state is fetched into the cache in the meantime
/// ([`irqlab_engine::hint::prefetch`]); the draws come from the stream in
/// the same order either way, so the frames are the same.
const LOOKAHEAD: usize = 8;

/// A frame's random draws: its flow, its size and, for Poisson arrivals,
/// the uniform variate of its idle gap.
#[derive(Clone, Copy, Debug)]
struct Draw {
    flow: u32,
    bytes: u32,
    u: f64,
}

impl PortArrivals {
    /// The stream of a port at `line_rate_gbps` carrying `flows` flows.
    pub fn new(w: &WorkloadConfig, flows: u32, line_rate_gbps: f64, mut rng: ChaCha8Rng) -> PortArrivals {
        let (on_ps, period_ps) = match w.kind_onoff() {
            Some((on, off)) => (on * PS_PER_US as f64, (on + off) * PS_PER_US as f64),
            None => (0.0, 0.0),
        };
        // In on-time the rate is scaled up by period/on so the mean is kept.
        let duty = if period_ps > 0.0 { on_ps / period_ps } else { 1.0 };
        let pps = w.offered_pps();
        let spacing_ps = if pps > 0.0 { 1e12 / pps * duty } else { f64::INFINITY };
        let ps_per_byte = 8.0 * 1000.0 / line_rate_gbps;
        let mean_frame_ps = (w.mean_packet_bytes() + WIRE_OVERHEAD_BYTES as f64) * ps_per_byte;
        let gap_ps = match w.arrival {
            ArrivalKind::Constant => spacing_ps,
            ArrivalKind::Poisson | ArrivalKind::Onoff => (spacing_ps - mean_frame_ps).max(0.0),
        };
        let phase_ps = if spacing_ps.is_finite() { rng.random::<f64>() * spacing_ps } else { 0.0 };
        PortArrivals {
            rng,
            kind: w.arrival,
            size: w.packet_size,
            bytes_min: w.packet_bytes,
            bytes_max: w.packet_bytes_max,
            seq: vec![0; flows as usize],
            ps_per_byte,
            gap_ps,
            last_end_ps: 0.0,
            phase_ps,
            k: 0,
            on_ps,
            period_ps,
            replay: None,
            drawn: Vec::new(),
            next_draw: 0,
        }
    }

    /// The stream of a port replaying a capture (the generated stream's
    /// settings of `w` are not used).
    pub fn replaying(w: &WorkloadConfig, replay: Replay, rng: ChaCha8Rng) -> PortArrivals {
        let mut p = PortArrivals::new(w, 0, 1.0, rng);
        p.replay = Some(Box::new(replay));
        p
    }

    /// The replay, when the port replays a capture.
    pub fn replay(&self) -> Option<&Replay> {
        self.replay.as_deref()
    }

    /// Counts the replayed frames whose last bit arrived by `t` (nothing
    /// without a replay).
    pub fn count_until(&mut self, t: Time) {
        if let Some(r) = &mut self.replay {
            r.count_until(t);
        }
    }

    /// The next frame on the wire, or `None` if the port carries no traffic.
    pub fn next_packet(&mut self) -> Option<Packet> {
        match &mut self.replay {
            Some(r) => r.next_packet(),
            None => self.next_generated(),
        }
    }

    /// The next generated frame (the port replays no capture).
    #[inline]
    pub fn next_generated(&mut self) -> Option<Packet> {
        if self.seq.is_empty() || !self.gap_ps.is_finite() {
            return None;
        }
        if self.drawn.is_empty() {
            self.drawn = (0..LOOKAHEAD)
                .map(|_| {
                    let (flow, bytes, u) = self.draw_parts();
                    Draw { flow, bytes, u }
                })
                .collect();
        }
        let Draw { flow, bytes, u } = self.drawn[self.next_draw];
        // Field by field: the draw stays in registers on its way to the ring.
        let (ahead, ahead_bytes, ahead_u) = self.draw_parts();
        irqlab_engine::hint::prefetch(&self.seq[ahead as usize]);
        let slot = &mut self.drawn[self.next_draw];
        (slot.flow, slot.bytes, slot.u) = (ahead, ahead_bytes, ahead_u);
        self.next_draw = (self.next_draw + 1) % LOOKAHEAD;
        let seq = self.seq[flow as usize];
        self.seq[flow as usize] = seq.wrapping_add(1);
        let frame_ps = (bytes + WIRE_OVERHEAD_BYTES) as f64 * self.ps_per_byte;
        let earliest = self.last_end_ps + frame_ps;
        let end_ps = match self.kind {
            ArrivalKind::Constant => (self.phase_ps + self.k as f64 * self.gap_ps).max(earliest),
            ArrivalKind::Poisson | ArrivalKind::Onoff => earliest - (1.0 - u).ln() * self.gap_ps,
        };
        self.k += 1;
        self.last_end_ps = end_ps;
        let real_ps = if self.period_ps > 0.0 {
            let bursts = (end_ps / self.on_ps).floor();
            bursts * self.period_ps + (end_ps - bursts * self.on_ps)
        } else {
            end_ps
        };
        let wire = Time(round_to_ps(real_ps));
        Some(Packet { wire, origin: wire, flow: FlowId(flow), bytes, seq, faulted: false })
    }

    /// The flow of the furthest frame drawn so far: [`LOOKAHEAD`] frames
    /// after the one [`Self::next_packet`] returned last (what the NIC
    /// fetches its RSS queue for early).
    pub fn furthest_flow(&self) -> Option<FlowId> {
        let last = (self.next_draw + LOOKAHEAD - 1) % LOOKAHEAD;
        self.drawn.get(last).map(|d| FlowId(d.flow))
    }

    /// One frame's draws, in the stream's order: flow, size, idle gap; as
    /// three values, which the hot path stores into the ring one by one (a
    /// whole `Draw` read back from the stack stalls).
    #[inline]
    fn draw_parts(&mut self) -> (u32, u32, f64) {
        let flows = self.seq.len();
        let flow = if flows == 1 { 0 } else { self.rng.random_range(0..flows) };
        let bytes = self.frame_bytes();
        let u = match self.kind {
            ArrivalKind::Constant => 0.0,
            ArrivalKind::Poisson | ArrivalKind::Onoff => self.rng.random(),
        };
        (flow as u32, bytes, u)
    }

    fn frame_bytes(&mut self) -> u32 {
        match self.size {
            PacketSizeKind::Fixed => self.bytes_min,
            PacketSizeKind::Uniform => self.rng.random_range(self.bytes_min..=self.bytes_max),
            PacketSizeKind::Imix => {
                let total: u32 = IMIX.iter().map(|(_, w)| w).sum();
                let mut pick = self.rng.random_range(0..total);
                for (b, w) in IMIX {
                    if pick < w {
                        return b;
                    }
                    pick -= w;
                }
                IMIX[0].0
            }
        }
    }
}

/// `x.round() as u64` without a call into the soft `round` (x86-64
/// baseline has no rounding instruction): truncation is one conversion,
/// and for `0 <= x < 2^53` the fraction `x - trunc(x)` is exact, so ties
/// round away from zero as `round` does. Above 2^53 every `f64` is an
/// integer; below zero and NaN both give 0, and beyond `u64::MAX` the
/// cast saturates, as the cast of `round` does.
#[inline]
fn round_to_ps(x: f64) -> u64 {
    let t = x as u64;
    if x - t as f64 >= 0.5 { t.saturating_add(1) } else { t }
}

impl WorkloadConfig {
    /// Burst and gap lengths in microseconds when arrivals are on/off.
    pub fn kind_onoff(&self) -> Option<(f64, f64)> {
        (self.arrival == ArrivalKind::Onoff).then_some((self.on_us, self.off_us))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use irqlab_engine::RngStreams;

    const GBPS: f64 = 10.0;

    fn port(w: &WorkloadConfig) -> PortArrivals {
        PortArrivals::new(w, 2, GBPS, RngStreams::new(1).stream(9))
    }

    /// Wire time of a frame of `bytes` at 10 Gbit/s, picoseconds.
    fn frame_ps(bytes: u32) -> u64 {
        (bytes as u64 + 20) * 800
    }

    #[test]
    fn round_to_ps_rounds_as_round_does() {
        let cases = [0.0, 0.49999999999999994, 0.5, 1.5, 2.5, 2.4999999, 1e15 + 0.5, 9007199254740993.0, 1.8e19, 3e19];
        for x in cases.into_iter().chain([-0.3, -0.5, -7.0, f64::NAN, f64::INFINITY]) {
            assert_eq!(round_to_ps(x), x.round() as u64, "{x}");
        }
        let mut rng = RngStreams::new(7).stream(1);
        for _ in 0..100_000 {
            let x: f64 = rng.random::<f64>() * 1e13;
            assert_eq!(round_to_ps(x), x.round() as u64, "{x}");
            let h = (x as u64) as f64 + 0.5;
            assert_eq!(round_to_ps(h), h.round() as u64, "{h}");
        }
    }

    #[test]
    fn constant_arrivals_are_evenly_spaced_at_the_rate() {
        let w = WorkloadConfig { arrival: ArrivalKind::Constant, rate_pps: Some(1e6), ..Default::default() };
        let mut g = port(&w);
        let a = g.next_packet().unwrap().wire.0;
        let b = g.next_packet().unwrap().wire.0;
        assert_eq!(b - a, 1_000_000, "1 Mpps is one packet per µs");
    }

    #[test]
    fn poisson_mean_rate_matches_within_two_percent() {
        let w = WorkloadConfig { arrival: ArrivalKind::Poisson, rate_pps: Some(1e6), ..Default::default() };
        let mut g = port(&w);
        let mut last = Time(0);
        for _ in 0..100_000 {
            last = g.next_packet().unwrap().wire;
        }
        let rate = 100_000.0 / last.as_secs_f64();
        assert!((rate / 1e6 - 1.0).abs() < 0.02, "rate {rate}");
    }

    #[test]
    fn no_two_frames_overlap_on_the_wire_whatever_the_process() {
        for (arrival, size, rate_gbps) in [
            (ArrivalKind::Poisson, PacketSizeKind::Fixed, 9.99),
            (ArrivalKind::Constant, PacketSizeKind::Imix, 9.9),
            (ArrivalKind::Poisson, PacketSizeKind::Uniform, 9.0),
            (ArrivalKind::Onoff, PacketSizeKind::Imix, 5.0),
        ] {
            let w = WorkloadConfig {
                arrival,
                packet_size: size,
                packet_bytes: 64,
                packet_bytes_max: 1518,
                rate_gbps: Some(rate_gbps * 1518.0 / 1538.0),
                on_us: 200.0,
                off_us: 100.0,
                ..Default::default()
            };
            let mut g = port(&w);
            let mut prev = g.next_packet().unwrap();
            for _ in 0..200_000 {
                let p = g.next_packet().unwrap();
                // The frame's first bit may not arrive before the previous one's last (1 ps rounding).
                assert!(p.wire.0 + 1 >= prev.wire.0 + frame_ps(p.bytes), "{arrival:?}/{size:?}: {prev:?} then {p:?}");
                prev = p;
            }
        }
    }

    #[test]
    fn at_line_rate_64_byte_frames_come_back_to_back_and_never_faster() {
        let w = WorkloadConfig { arrival: ArrivalKind::Poisson, rate_pps: Some(14_880_952.0), ..Default::default() };
        let mut g = port(&w);
        let first = g.next_packet().unwrap().wire;
        let mut last = first;
        for _ in 0..1_000_000 {
            last = g.next_packet().unwrap().wire;
        }
        let pps = 1_000_000.0 / last.since(first).as_secs_f64();
        assert!(pps <= 14_880_953.0 && pps > 14_880_000.0, "{pps}");
    }

    #[test]
    fn onoff_arrivals_fall_only_inside_bursts_and_keep_the_mean() {
        let w = WorkloadConfig {
            arrival: ArrivalKind::Onoff,
            rate_pps: Some(1e6),
            on_us: 10.0,
            off_us: 30.0,
            ..Default::default()
        };
        let mut g = port(&w);
        let mut last = Time(0);
        for _ in 0..50_000 {
            let p = g.next_packet().unwrap();
            let in_period = p.wire.0 % 40_000_000;
            assert!(in_period <= 10_000_000, "arrival {} µs into a period", in_period / 1_000_000);
            last = p.wire;
        }
        let rate = 50_000.0 / last.as_secs_f64();
        assert!((rate / 1e6 - 1.0).abs() < 0.05, "rate {rate}");
    }

    #[test]
    fn imix_sizes_come_in_7_4_1_proportions() {
        let w = WorkloadConfig { packet_size: PacketSizeKind::Imix, ..Default::default() };
        let mut g = port(&w);
        let mut counts = [0u32; 3];
        for _ in 0..120_000 {
            let b = g.next_packet().unwrap().bytes;
            counts[IMIX.iter().position(|(s, _)| *s == b).unwrap()] += 1;
        }
        assert!((counts[0] as f64 / 70_000.0 - 1.0).abs() < 0.03, "{counts:?}");
        assert!((counts[2] as f64 / 10_000.0 - 1.0).abs() < 0.05, "{counts:?}");
    }

    #[test]
    fn flows_are_picked_uniformly_and_numbered_in_order() {
        let w = WorkloadConfig::default();
        let mut g = port(&w);
        let mut next = [0u32; 2];
        for _ in 0..10_000 {
            let p = g.next_packet().unwrap();
            assert_eq!(p.seq, next[p.flow.idx()]);
            next[p.flow.idx()] += 1;
        }
        assert!((next[0] as f64 / 5000.0 - 1.0).abs() < 0.05, "{next:?}");
    }

    #[test]
    fn a_port_without_flows_never_receives() {
        let w = WorkloadConfig::default();
        let mut g = PortArrivals::new(&w, 0, GBPS, RngStreams::new(1).stream(9));
        assert_eq!(g.next_packet(), None);
    }
}
