//! Traffic arrivals, generated lazily per RX queue (design brief §8).
//!
//! Flows are chosen uniformly, so splitting the offered stream by RSS queue
//! gives each queue an independent stream whose rate is its share of the
//! flows (exact for Poisson arrivals, by the splitting property). Each queue
//! draws from its own RNG stream, and nothing is generated until the NIC
//! looks at the queue: arrivals cost no events.
//!
//! `onoff` runs the process in "on-time" and maps it onto bursts of `on_us`
//! separated by `off_us`, keeping the long-run mean rate.

use crate::config::{ArrivalKind, IMIX, PacketSizeKind, WorkloadConfig};
use crate::ids::FlowId;
use irqlab_engine::Time;
use irqlab_engine::time::PS_PER_US;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// A received frame: a small record, copied through rings and queues.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet {
    /// When its last bit arrived at the NIC (latency is measured from here).
    pub wire: Time,
    /// Its flow.
    pub flow: FlowId,
    /// Frame length in bytes.
    pub bytes: u32,
    /// Position in its flow (0, 1, 2, …): reordering is checked on delivery.
    pub seq: u32,
}

/// The arrival stream of one RX queue.
pub struct ArrivalGen {
    rng: ChaCha8Rng,
    kind: ArrivalKind,
    size: PacketSizeKind,
    bytes_min: u32,
    bytes_max: u32,
    /// The flows this queue receives, each with its next sequence number.
    flows: Vec<(FlowId, u32)>,
    /// Offered packets per second of one flow.
    pps_per_flow: f64,
    /// Fraction of time "on" (1 unless on/off).
    duty: f64,
    /// Mean gap in on-time, picoseconds.
    gap_ps: f64,
    /// Position in on-time, picoseconds.
    on_time_ps: f64,
    /// Constant arrivals: phase and index.
    phase_ps: f64,
    k: u64,
    /// On/off: burst and period lengths, picoseconds (period = 0: always on).
    on_ps: f64,
    period_ps: f64,
}

impl ArrivalGen {
    /// The stream for a queue that owns `flows` out of `total_flows`.
    pub fn new(w: &WorkloadConfig, flows: Vec<FlowId>, total_flows: u32, mut rng: ChaCha8Rng) -> ArrivalGen {
        let pps_per_flow = w.offered_pps() / total_flows.max(1) as f64;
        let pps = pps_per_flow * flows.len() as f64;
        let (on_ps, period_ps) = match w.kind_onoff() {
            Some((on, off)) => (on * PS_PER_US as f64, (on + off) * PS_PER_US as f64),
            None => (0.0, 0.0),
        };
        // In on-time the rate is scaled up by period/on so the mean is kept.
        let duty = if period_ps > 0.0 { on_ps / period_ps } else { 1.0 };
        let gap_ps = if pps > 0.0 { 1e12 / pps * duty } else { f64::INFINITY };
        let phase_ps = if gap_ps.is_finite() { rng.random::<f64>() * gap_ps } else { 0.0 };
        ArrivalGen {
            rng,
            kind: w.arrival,
            size: w.packet_size,
            bytes_min: w.packet_bytes,
            bytes_max: w.packet_bytes_max,
            flows: flows.into_iter().map(|f| (f, 0)).collect(),
            pps_per_flow,
            duty,
            gap_ps,
            on_time_ps: 0.0,
            phase_ps,
            k: 0,
            on_ps,
            period_ps,
        }
    }

    /// The next arrival, or `None` if this queue receives no flows.
    pub fn next_packet(&mut self) -> Option<Packet> {
        if self.flows.is_empty() || !self.gap_ps.is_finite() {
            return None;
        }
        self.on_time_ps = match self.kind {
            ArrivalKind::Constant => self.phase_ps + self.k as f64 * self.gap_ps,
            ArrivalKind::Poisson | ArrivalKind::Onoff => {
                let u: f64 = self.rng.random();
                self.on_time_ps - (1.0 - u).ln() * self.gap_ps
            }
        };
        self.k += 1;
        let real_ps = if self.period_ps > 0.0 {
            let bursts = (self.on_time_ps / self.on_ps).floor();
            bursts * self.period_ps + (self.on_time_ps - bursts * self.on_ps)
        } else {
            self.on_time_ps
        };
        let pick = if self.flows.len() == 1 { 0 } else { self.rng.random_range(0..self.flows.len()) };
        let (flow, seq) = self.flows[pick];
        self.flows[pick].1 = seq.wrapping_add(1);
        let bytes = match self.size {
            PacketSizeKind::Fixed => self.bytes_min,
            PacketSizeKind::Uniform => self.rng.random_range(self.bytes_min..=self.bytes_max),
            PacketSizeKind::Imix => {
                let total: u32 = IMIX.iter().map(|(_, w)| w).sum();
                let mut pick = self.rng.random_range(0..total);
                let mut bytes = IMIX[0].0;
                for (b, w) in IMIX {
                    if pick < w {
                        bytes = b;
                        break;
                    }
                    pick -= w;
                }
                bytes
            }
        };
        Some(Packet { wire: Time(real_ps.round() as u64), flow, bytes, seq })
    }

    /// Stops generating `flow` here (a NIC filter steers it elsewhere);
    /// returns its next sequence number. Poisson streams stay exact: the
    /// remaining flows keep their rate from now on.
    pub fn remove_flow(&mut self, flow: FlowId) -> Option<u32> {
        let i = self.flows.iter().position(|(f, _)| *f == flow)?;
        let (_, seq) = self.flows.swap_remove(i);
        self.rescale();
        Some(seq)
    }

    /// Starts generating `flow` here from `now` on, continuing its sequence.
    pub fn add_flow(&mut self, flow: FlowId, seq: u32, now: Time) {
        // A stream that was idle resumes at `now`, not where it stopped.
        let now_on = self.on_time_of(now.0 as f64);
        if self.flows.is_empty() || !self.gap_ps.is_finite() {
            self.on_time_ps = self.on_time_ps.max(now_on);
        }
        self.flows.push((flow, seq));
        self.rescale();
    }

    /// Converts a real time to on-time (the time spent inside bursts).
    fn on_time_of(&self, real_ps: f64) -> f64 {
        if self.period_ps > 0.0 {
            let periods = (real_ps / self.period_ps).floor();
            periods * self.on_ps + (real_ps - periods * self.period_ps).min(self.on_ps)
        } else {
            real_ps
        }
    }

    fn rescale(&mut self) {
        let pps = self.pps_per_flow * self.flows.len() as f64;
        let gap = if pps > 0.0 { 1e12 / pps * self.duty } else { f64::INFINITY };
        if self.kind == ArrivalKind::Constant && gap.is_finite() {
            // The next arrival is one new gap after the last one (or after
            // the resume point); continue evenly from there.
            let next = self.on_time_ps + if self.k == 0 { self.phase_ps.min(gap) } else { gap };
            self.phase_ps = next - self.k as f64 * gap;
        }
        self.gap_ps = gap;
    }
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

    fn epoch(w: &WorkloadConfig) -> ArrivalGen {
        ArrivalGen::new(w, vec![FlowId(0), FlowId(1)], 2, RngStreams::new(1).stream(9))
    }

    #[test]
    fn constant_arrivals_are_evenly_spaced_at_the_rate() {
        let w = WorkloadConfig { arrival: ArrivalKind::Constant, rate_pps: Some(1e6), ..Default::default() };
        let mut g = epoch(&w);
        let a = g.next_packet().unwrap().wire.0;
        let b = g.next_packet().unwrap().wire.0;
        assert_eq!(b - a, 1_000_000, "1 Mpps is one packet per µs");
    }

    #[test]
    fn poisson_mean_rate_matches_within_two_percent() {
        let w = WorkloadConfig { arrival: ArrivalKind::Poisson, rate_pps: Some(1e6), ..Default::default() };
        let mut g = epoch(&w);
        let mut last = Time(0);
        for _ in 0..100_000 {
            last = g.next_packet().unwrap().wire;
        }
        let rate = 100_000.0 / last.as_secs_f64();
        assert!((rate / 1e6 - 1.0).abs() < 0.02, "rate {rate}");
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
        let mut g = epoch(&w);
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
        let mut g = epoch(&w);
        let mut counts = [0u32; 3];
        for _ in 0..120_000 {
            let b = g.next_packet().unwrap().bytes;
            counts[IMIX.iter().position(|(s, _)| *s == b).unwrap()] += 1;
        }
        assert!((counts[0] as f64 / 70_000.0 - 1.0).abs() < 0.03, "{counts:?}");
        assert!((counts[2] as f64 / 10_000.0 - 1.0).abs() < 0.05, "{counts:?}");
    }

    #[test]
    fn a_queue_without_flows_never_receives() {
        let w = WorkloadConfig::default();
        let mut g = ArrivalGen::new(&w, vec![], 4, RngStreams::new(1).stream(9));
        assert_eq!(g.next_packet(), None);
    }
}
