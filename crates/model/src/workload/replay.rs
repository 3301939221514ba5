//! The replay of a capture (`workload.pcap`): the port's frames are the
//! capture's, in file order, at their own times.
//!
//! * **Time.** A frame's timestamp is taken as the arrival of its last bit.
//!   The replay starts with the first frame beginning at time 0 on an idle
//!   wire; frame i of pass k is due at `(k × period + tsᵢ − ts₀) / speed`
//!   after that, all in integer picoseconds (`pcap_speed` is taken to a
//!   millionth, [`speed_ppm`]). `period` is [`Trace::pass_period_ps`]; a
//!   capture is replayed once unless `pcap_loop`.
//! * **The wire.** No frame arrives faster than the line rate allows: a
//!   frame occupies `(wire bytes + 20) × 8 / line rate` (rounded up to a
//!   picosecond), and one due before the previous frame's end plus its own
//!   time on the wire arrives then instead — as a switch port's output
//!   queue would send it. The shift carries over to the next frames until a
//!   gap in the capture absorbs it. Such frames are counted
//!   (`pcap.serialised`); so are stamps that go backwards, which the same
//!   rule puts back in order.
//! * **Frames the model does not offer** (ARP, other EtherTypes, IP other
//!   than UDP/TCP, fragments, truncated or malformed headers, and UDP/TCP
//!   frames larger than the NIC receives) keep their place on the wire but
//!   are not handed to the RX queues: the model has no ARP or ICMP stack and
//!   no socket for them. They are counted by reason (`pcap.unclassified`),
//!   never silently.
//!
//! The counters count a frame once its last bit plus the DMA write is due
//! by the time asked (the NIC asks at every observation and at the end of
//! the run), the moment the offered frames are counted when they land.

use crate::config::WIRE_OVERHEAD_BYTES;
use crate::config::pcap::{FrameClass, Trace, Unclassified, scale_ps, speed_ppm};
use crate::ids::FlowId;
use crate::workload::packet::Packet;
use irqlab_engine::Time;
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// A frame put on the wire, not counted yet.
#[derive(Clone, Copy, Debug)]
struct OnWire {
    end: u64,
    refused: Option<Unclassified>,
    serialised: bool,
    padded: bool,
    first_of_pass: bool,
}

/// What a replay has put on the wire so far (frames due by the time last
/// asked).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplayCounts {
    /// Frames of the capture replayed, every pass counted.
    pub frames: u64,
    /// Passes begun (their first frame replayed).
    pub passes: u64,
    /// Frames handed to the RX queues (UDP and TCP within the size limit).
    pub to_queues: u64,
    /// Frames not offered, by reason ([`Unclassified::ALL`] order).
    pub unclassified: [u64; 7],
    /// Frames due before the wire was free, arriving later at line rate.
    pub serialised: u64,
    /// Frames captured shorter than 64 bytes, padded to 64.
    pub padded: u64,
}

/// The replay section of the metrics (`pcap`, docs/metrics.md).
#[derive(Clone, Debug, Serialize)]
pub struct ReplayMetrics {
    /// The capture's path as the scenario gives it.
    pub file: String,
    /// Frames in the capture.
    pub capture_frames: u64,
    /// Flows (UDP and TCP 5-tuples) in the capture.
    pub capture_flows: u64,
    /// `workload.pcap_speed`.
    pub speed: f64,
    /// `workload.pcap_loop`.
    pub looping: bool,
    /// Passes begun.
    pub passes: u64,
    /// Frames replayed by the end of the run: `to_queues` + Σ `unclassified`.
    pub frames: u64,
    /// Of which handed to the RX queues (offered).
    pub to_queues: u64,
    /// Of which not offered, by reason.
    pub unclassified: BTreeMap<&'static str, u64>,
    /// Frames due before the wire was free, delayed to line rate.
    pub serialised: u64,
    /// Frames shorter than 64 bytes with FCS, padded to 64.
    pub padded: u64,
}

/// The arrival stream of a port replaying a capture.
pub struct Replay {
    trace: Arc<Trace>,
    speed_ppm: u64,
    speed: f64,
    looping: bool,
    period_ps: u128,
    ps_per_byte: f64,
    max_frame_bytes: u32,
    /// The first frame's time on the wire: its last bit's arrival.
    first_ps: u128,
    pass: u64,
    next: usize,
    last_end: u64,
    seq: Vec<u32>,
    done: bool,
    pending: VecDeque<OnWire>,
    counts: ReplayCounts,
}

/// Latest arrival replayed (2^62 ps, about 53 days, far beyond a run).
const HORIZON_PS: u128 = 1 << 62;

impl Replay {
    /// The replay of `trace` at `speed` (looping or not) on a port at
    /// `line_rate_gbps` whose NIC receives frames of at most
    /// `max_frame_bytes`.
    pub fn new(trace: Arc<Trace>, speed: f64, looping: bool, line_rate_gbps: f64, max_frame_bytes: u32) -> Replay {
        let ps_per_byte = 8.0 * 1000.0 / line_rate_gbps;
        let mut r = Replay {
            speed_ppm: speed_ppm(speed),
            speed,
            looping,
            period_ps: trace.pass_period_ps() as u128,
            ps_per_byte,
            max_frame_bytes,
            first_ps: 0,
            pass: 0,
            next: 0,
            last_end: 0,
            seq: vec![0; trace.flows.len()],
            done: trace.frames.is_empty(),
            pending: VecDeque::new(),
            counts: ReplayCounts::default(),
            trace,
        };
        r.first_ps = r.trace.frames.first().map_or(0, |f| r.frame_ps(f.wire_bytes) as u128);
        r
    }

    /// Time on the wire of a frame of `wire_bytes`, with preamble and gap,
    /// rounded up to a picosecond (never faster than the line rate).
    fn frame_ps(&self, wire_bytes: u32) -> u64 {
        ((wire_bytes + WIRE_OVERHEAD_BYTES) as f64 * self.ps_per_byte).ceil() as u64
    }

    /// The next frame handed to the RX queues; `None` once the capture (or
    /// the horizon) has ended.
    pub fn next_packet(&mut self) -> Option<Packet> {
        let n = self.trace.frames.len();
        // Frames looked at since the last one offered: a whole pass of
        // frames none of which is offered ends the stream.
        let mut scanned = 0usize;
        while !self.done {
            if self.next == n {
                if !self.looping {
                    break;
                }
                self.pass += 1;
                self.next = 0;
            }
            if scanned >= n {
                break;
            }
            let i = self.next;
            self.next += 1;
            scanned += 1;
            let f = self.trace.frames[i];
            let offset = (self.pass as u128).saturating_mul(self.period_ps).saturating_add(f.ts_ps as u128);
            let due = scale_ps(offset, self.speed_ppm).saturating_add(self.first_ps);
            if due > HORIZON_PS {
                break;
            }
            let earliest = self.last_end + self.frame_ps(f.wire_bytes);
            let due = due as u64;
            let end = due.max(earliest);
            self.last_end = end;
            let refused = match f.class {
                FrameClass::Flow(_) if f.bytes > self.max_frame_bytes => Some(Unclassified::Oversize),
                FrameClass::Flow(_) => None,
                FrameClass::Other(r) => Some(r),
            };
            self.pending.push_back(OnWire {
                end,
                refused,
                serialised: due < earliest,
                padded: f.padded,
                first_of_pass: i == 0,
            });
            if let (None, FrameClass::Flow(flow)) = (refused, f.class) {
                let seq = self.seq[flow as usize];
                self.seq[flow as usize] = seq.wrapping_add(1);
                return Some(Packet {
                    wire: Time(end),
                    origin: Time(end),
                    flow: FlowId(flow),
                    bytes: f.bytes,
                    seq,
                    faulted: false,
                });
            }
        }
        self.done = true;
        None
    }

    /// Counts the frames whose last bit arrived by `t`.
    pub fn count_until(&mut self, t: Time) {
        while let Some(w) = self.pending.front().copied() {
            if w.end > t.0 {
                break;
            }
            self.pending.pop_front();
            let c = &mut self.counts;
            c.frames += 1;
            c.passes += w.first_of_pass as u64;
            match w.refused {
                Some(r) => c.unclassified[r.index()] += 1,
                None => c.to_queues += 1,
            }
            c.serialised += w.serialised as u64;
            c.padded += w.padded as u64;
        }
    }

    /// The counts so far.
    pub fn counts(&self) -> &ReplayCounts {
        &self.counts
    }

    /// The metrics section.
    pub fn metrics(&self) -> ReplayMetrics {
        let c = &self.counts;
        ReplayMetrics {
            file: self.trace.file.clone(),
            capture_frames: self.trace.frames.len() as u64,
            capture_flows: self.trace.flows.len() as u64,
            speed: self.speed,
            looping: self.looping,
            passes: c.passes,
            frames: c.frames,
            to_queues: c.to_queues,
            unclassified: Unclassified::ALL.iter().map(|r| (r.name(), c.unclassified[r.index()])).collect(),
            serialised: c.serialised,
            padded: c.padded,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::pcap::{L4, TraceFlow, TraceFrame};
    use std::net::{IpAddr, Ipv4Addr};

    fn flow(port: u16) -> TraceFlow {
        let a = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        TraceFlow { l4: L4::Udp, src: (a, port), dst: (a, 9000) }
    }

    fn frame(ts_ps: u64, bytes: u32, class: FrameClass) -> TraceFrame {
        TraceFrame { ts_ps, wire_bytes: bytes, bytes, padded: false, class }
    }

    fn trace(frames: Vec<TraceFrame>) -> Arc<Trace> {
        Arc::new(Trace { file: "t.pcap".into(), frames, flows: vec![flow(1), flow(2)] })
    }

    /// 10 Gbit/s: 800 ps a byte; a 64-byte frame takes (64 + 20) × 800 ps.
    const F64: u64 = 84 * 800;

    fn all(r: &mut Replay) -> Vec<Packet> {
        std::iter::from_fn(|| r.next_packet()).collect()
    }

    #[test]
    fn frames_keep_their_spacing_scaled_by_the_speed() {
        let t = trace(vec![
            frame(0, 64, FrameClass::Flow(0)),
            frame(1_000_000, 64, FrameClass::Flow(1)),
            frame(3_000_000, 64, FrameClass::Flow(0)),
        ]);
        let mut r = Replay::new(t.clone(), 1.0, false, 10.0, 1518);
        let p = all(&mut r);
        assert_eq!(p.iter().map(|p| p.wire.0).collect::<Vec<_>>(), [F64, F64 + 1_000_000, F64 + 3_000_000]);
        assert_eq!(p.iter().map(|p| (p.flow.0, p.seq)).collect::<Vec<_>>(), [(0, 0), (1, 0), (0, 1)]);
        let mut r = Replay::new(t, 2.0, false, 10.0, 1518);
        let p = all(&mut r);
        assert_eq!(p.iter().map(|p| p.wire.0).collect::<Vec<_>>(), [F64, F64 + 500_000, F64 + 1_500_000]);
    }

    #[test]
    fn frames_closer_than_the_wire_allows_are_serialised_at_line_rate_and_counted() {
        // Three 64-byte frames stamped at once, then one well after.
        let t = trace(vec![
            frame(0, 64, FrameClass::Flow(0)),
            frame(0, 64, FrameClass::Flow(1)),
            frame(0, 64, FrameClass::Flow(0)),
            frame(10_000_000, 64, FrameClass::Flow(1)),
        ]);
        let mut r = Replay::new(t, 1.0, false, 10.0, 1518);
        let p = all(&mut r);
        assert_eq!(p.iter().map(|p| p.wire.0).collect::<Vec<_>>(), [F64, 2 * F64, 3 * F64, F64 + 10_000_000]);
        r.count_until(Time::NEVER);
        assert_eq!(r.counts().serialised, 2);
        assert_eq!(r.counts().to_queues, 4);
    }

    #[test]
    fn refused_frames_keep_their_place_on_the_wire_and_are_counted_by_reason() {
        let t = trace(vec![
            frame(0, 64, FrameClass::Other(Unclassified::Arp)),
            frame(0, 64, FrameClass::Flow(0)),
            frame(0, 2000, FrameClass::Flow(1)),
            frame(0, 64, FrameClass::Other(Unclassified::Fragment)),
        ]);
        let mut r = Replay::new(t, 1.0, false, 10.0, 1518);
        let p = all(&mut r);
        // The ARP frame went first: the UDP frame waits for it.
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].wire.0, 2 * F64);
        r.count_until(Time(2 * F64));
        assert_eq!(r.counts().frames, 2, "only what has arrived is counted");
        r.count_until(Time::NEVER);
        let c = r.counts();
        assert_eq!((c.frames, c.to_queues), (4, 1));
        assert_eq!(c.unclassified[Unclassified::Arp.index()], 1);
        assert_eq!(c.unclassified[Unclassified::Oversize.index()], 1);
        assert_eq!(c.unclassified[Unclassified::Fragment.index()], 1);
    }

    #[test]
    fn a_looping_replay_repeats_the_capture_shifted_by_span_plus_mean_gap() {
        let t = trace(vec![frame(0, 64, FrameClass::Flow(0)), frame(2_000_000, 64, FrameClass::Flow(1))]);
        // Period: 2 µs × 2 / 1 = 4 µs.
        let mut r = Replay::new(t, 1.0, true, 10.0, 1518);
        let w: Vec<u64> = (0..6).map(|_| r.next_packet().unwrap().wire.0).collect();
        assert_eq!(w, [0, 2, 4, 6, 8, 10].map(|us| F64 + us * 1_000_000));
        r.count_until(Time(F64 + 4_000_000));
        assert_eq!((r.counts().passes, r.counts().frames), (2, 3));
    }

    #[test]
    fn a_capture_of_nothing_deliverable_ends_even_when_looping() {
        let t = trace(vec![frame(0, 64, FrameClass::Other(Unclassified::Arp)), frame(5, 9000, FrameClass::Flow(0))]);
        let mut r = Replay::new(t, 1.0, true, 10.0, 1518);
        assert_eq!(r.next_packet(), None);
        assert_eq!(r.next_packet(), None);
    }

    #[test]
    fn stamps_going_backwards_are_put_back_in_order() {
        let t = trace(vec![frame(5_000_000, 64, FrameClass::Flow(0)), frame(0, 64, FrameClass::Flow(1))]);
        let mut r = Replay::new(t, 1.0, false, 10.0, 1518);
        let p = all(&mut r);
        assert_eq!(p[1].wire.0, p[0].wire.0 + F64);
        r.count_until(Time::NEVER);
        assert_eq!(r.counts().serialised, 1);
    }
}
