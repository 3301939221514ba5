//! `[workload]`: flows (generated or listed), frame sizes (fixed, uniform,
//! IMIX), the arrival process and the offered rate, with the Ethernet wire
//! constants the line-rate check uses; or a capture to replay
//! (`pcap`, `pcap_speed`, `pcap_loop`: [`super::pcap`]).

use super::nic::MAX_LINE_RATE_GBPS;
use super::pcap::{MAX_PCAP_SPEED, MIN_PCAP_SPEED, Trace, Unclassified};
use super::{ValidateCx, finite_pos, num};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Most flows, generated or listed (the model keeps per-flow state).
pub const MAX_FLOWS: u32 = 1_000_000;
/// Highest packet rate: minimum-size frames at the fastest line rate,
/// 1.6 Tb/s / ((64 + 20) bytes × 8) ≈ 2.38 × 10^9 packets per second.
pub const MAX_RATE_PPS: f64 = MAX_LINE_RATE_GBPS * 1e9 / (8.0 * (MIN_FRAME_BYTES + WIRE_OVERHEAD_BYTES) as f64);
/// Shortest `onoff` burst, µs: one nanosecond, about two minimum frames at
/// 1.6 Tb/s; below it a burst is shorter than the frames it carries.
pub const MIN_BURST_US: f64 = 0.001;
/// Longest `onoff` burst or gap, µs: one hour, the longest run.
pub const MAX_BURST_US: f64 = 3_600_000_000.0;

/// Default offered load when neither `rate_pps` nor `rate_gbps` is given.
pub const DEFAULT_RATE_PPS: f64 = 2_000_000.0;
/// Ethernet preamble, start-of-frame delimiter and inter-frame gap, bytes on
/// the wire per frame beyond the frame itself (IEEE 802.3).
pub const WIRE_OVERHEAD_BYTES: u32 = 20;
/// Smallest and largest Ethernet frame (with FCS, without VLAN/jumbo).
pub const MIN_FRAME_BYTES: u32 = 64;
/// Largest standard Ethernet frame.
pub const MAX_FRAME_BYTES: u32 = 1518;
/// Simple IMIX sizes and weights (Cisco/Agilent "simple IMIX").
pub const IMIX: [(u32, u32); 3] = [(64, 7), (594, 4), (1518, 1)];

/// Offered traffic.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkloadConfig {
    /// Number of flows generated from the seed (ignored when `flow_list` is
    /// given); 1..=[`MAX_FLOWS`].
    pub flows: u32,
    /// Explicit flows; each gets the next flow id; at most [`MAX_FLOWS`].
    pub flow_list: Vec<FlowSpec>,
    /// Packet-size distribution.
    pub packet_size: PacketSizeKind,
    /// Frame size in bytes for `fixed`; the minimum for `uniform`.
    pub packet_bytes: u32,
    /// Largest frame for `uniform`.
    pub packet_bytes_max: u32,
    /// Arrival process.
    pub arrival: ArrivalKind,
    /// Offered load in packets per second (exclusive with `rate_gbps`);
    /// positive, at most [`MAX_RATE_PPS`], and it must fit `nic.line_rate_gbps`.
    pub rate_pps: Option<f64>,
    /// Offered load in Gbit/s of frame bytes (exclusive with `rate_pps`);
    /// positive, at most [`MAX_LINE_RATE_GBPS`], and it must fit `nic.line_rate_gbps`.
    pub rate_gbps: Option<f64>,
    /// `onoff`: length of a burst, microseconds; [`MIN_BURST_US`]..=[`MAX_BURST_US`].
    /// The rate within a burst, `rate × (on + off) / on`, must fit the line rate.
    pub on_us: f64,
    /// `onoff`: gap between bursts, microseconds; 0..=[`MAX_BURST_US`].
    pub off_us: f64,
    /// A capture (pcap or pcapng) to replay instead of generated traffic:
    /// its path as written, relative to the scenario file's directory.
    /// Exclusive with the rate, the flows, the frame sizes and the arrival
    /// process, which the capture gives.
    pub pcap: Option<String>,
    /// Replay speed: 2.0 replays the capture twice as fast;
    /// [`MIN_PCAP_SPEED`]..=[`MAX_PCAP_SPEED`], taken to a millionth.
    pub pcap_speed: f64,
    /// Repeat the capture, each pass shifted by its span plus its mean gap
    /// ([`Trace::pass_period_ps`]), until the run ends.
    pub pcap_loop: bool,
    /// The capture read into memory (by the scenario layer: the model does
    /// no file I/O). Never serialised: a scenario's JSON or TOML names the
    /// file.
    #[serde(skip)]
    pub pcap_trace: Option<Arc<Trace>>,
}

/// How frame sizes are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PacketSizeKind {
    /// Every frame is `packet_bytes`.
    Fixed,
    /// Uniform between `packet_bytes` and `packet_bytes_max`.
    Uniform,
    /// Simple IMIX: 64, 594 and 1518 bytes in proportions 7:4:1.
    Imix,
}

/// How arrivals are spaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArrivalKind {
    /// Evenly spaced.
    Constant,
    /// Exponential inter-arrival times.
    Poisson,
    /// Poisson at `rate × (on+off)/on` during bursts of `on_us`, silent for `off_us`.
    Onoff,
}

/// One explicitly listed flow.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowSpec {
    /// Source `IP:PORT`.
    pub src: String,
    /// Destination `IP:PORT`.
    pub dst: String,
}

impl Default for WorkloadConfig {
    fn default() -> Self {
        WorkloadConfig {
            flows: 64,
            flow_list: Vec::new(),
            packet_size: PacketSizeKind::Fixed,
            packet_bytes: 64,
            packet_bytes_max: 1518,
            arrival: ArrivalKind::Poisson,
            rate_pps: None,
            rate_gbps: None,
            on_us: 100.0,
            off_us: 100.0,
            pcap: None,
            pcap_speed: 1.0,
            pcap_loop: false,
            pcap_trace: None,
        }
    }
}

impl WorkloadConfig {
    /// Mean frame size in bytes under the configured distribution.
    pub fn mean_packet_bytes(&self) -> f64 {
        match self.packet_size {
            PacketSizeKind::Fixed => self.packet_bytes as f64,
            PacketSizeKind::Uniform => (self.packet_bytes as f64 + self.packet_bytes_max as f64) / 2.0,
            PacketSizeKind::Imix => {
                let (s, w) = IMIX.iter().fold((0u64, 0u64), |(s, w), (b, k)| (s + (*b * *k) as u64, w + *k as u64));
                s as f64 / w as f64
            }
        }
    }

    /// Offered packets per second.
    pub fn offered_pps(&self) -> f64 {
        match (self.rate_pps, self.rate_gbps) {
            (Some(p), _) => p,
            (None, Some(g)) => g * 1e9 / (8.0 * self.mean_packet_bytes()),
            (None, None) => DEFAULT_RATE_PPS,
        }
    }

    /// Number of flows: the capture's when one is replayed.
    pub fn flow_count(&self) -> u32 {
        if self.pcap.is_some() {
            return self.pcap_trace.as_ref().map_or(0, |t| t.flows.len().min(u32::MAX as usize) as u32);
        }
        if self.flow_list.is_empty() { self.flows } else { self.flow_list.len() as u32 }
    }

    /// Checks the replay of a capture: the trace was read and has flows to
    /// deliver, the speed is in bounds, and no key the capture replaces
    /// is given.
    fn validate_pcap(&self, path: &str, cx: &mut ValidateCx) {
        if path.trim().is_empty() {
            cx.err("workload.pcap", "expected the path of a pcap or pcapng file, got an empty string");
        } else if let Some(t) = &self.pcap_trace {
            let max = cx.max_frame_bytes;
            if t.flows.is_empty() {
                let n = t.unclassified();
                let why: Vec<String> = Unclassified::ALL
                    .iter()
                    .filter(|r| n[r.index()] > 0)
                    .map(|r| format!("{} {}", r.name(), n[r.index()]))
                    .collect();
                cx.err(
                    "workload.pcap",
                    format!(
                        "{}: no UDP or TCP frame to replay among its {} frames ({})",
                        t.file,
                        t.frames.len(),
                        why.join(", ")
                    ),
                );
            } else if t.flows.len() > MAX_FLOWS as usize {
                cx.err("workload.pcap", format!("{}: {} flows, above the model's {MAX_FLOWS}", t.file, t.flows.len()));
            } else if t.offered_per_pass(max) == 0 {
                cx.err(
                    "workload.pcap",
                    format!(
                        "{}: every UDP or TCP frame is larger than the {max} bytes the NIC receives{}",
                        t.file,
                        if max == MAX_FRAME_BYTES { " (nic.header_split allows a page of payload)" } else { "" }
                    ),
                );
            }
        } else {
            cx.err(
                "workload.pcap",
                "the capture has not been read: a scenario that replays one is loaded through the scenario layer (irqlab-scenario), which reads the file",
            );
        }
        if !finite_pos(self.pcap_speed) {
            cx.err("workload.pcap_speed", format!("expected a positive speed, got {}", num(self.pcap_speed)));
        } else {
            cx.check_f64(
                "workload.pcap_speed",
                self.pcap_speed,
                MIN_PCAP_SPEED,
                MAX_PCAP_SPEED,
                "times the captured speed",
            );
        }
        for (key, given) in [
            ("workload.rate_pps", self.rate_pps.is_some()),
            ("workload.rate_gbps", self.rate_gbps.is_some()),
            ("workload.flow_list", !self.flow_list.is_empty()),
        ] {
            if given {
                cx.err(key, "workload.pcap replays a capture, whose timestamps, sizes and 5-tuples give the traffic: remove this key or workload.pcap");
            }
        }
    }

    /// Checks `[workload]`, and that the offered load, and for `onoff` the
    /// load within a burst, fit `nic.line_rate_gbps`. The load checks run
    /// only when the rate, the frame sizes and the line rate are valid
    /// themselves, so a bad frame size is reported as that, once.
    pub fn validate(&self, cx: &mut ValidateCx) {
        if let Some(path) = &self.pcap {
            return self.validate_pcap(path, cx);
        }
        if self.pcap_speed != 1.0 {
            cx.err("workload.pcap_speed", "needs workload.pcap (a capture to replay)");
        }
        if self.pcap_loop {
            cx.err("workload.pcap_loop", "needs workload.pcap (a capture to replay)");
        }
        if self.flow_list.is_empty() {
            cx.check_u32("workload.flows", self.flows, 1, MAX_FLOWS, "flows");
        } else if self.flow_list.len() > MAX_FLOWS as usize {
            cx.err("workload.flow_list", format!("expected at most {MAX_FLOWS} flows, got {}", self.flow_list.len()));
        }
        // Each listed flow is checked, unless there are too many to run anyway.
        let listed = if self.flow_list.len() > MAX_FLOWS as usize { &[][..] } else { &self.flow_list[..] };
        for (i, f) in listed.iter().enumerate() {
            for (key, v) in [("src", &f.src), ("dst", &f.dst)] {
                match irqlab_hw::rss::parse_endpoint(v) {
                    Ok((_, Some(_))) => {}
                    Ok((_, None)) => cx.err(
                        format!("workload.flow_list[{i}].{key}"),
                        format!("expected IP:PORT, got '{v}' (no port)"),
                    ),
                    Err(e) => cx.err(format!("workload.flow_list[{i}].{key}"), format!("expected IP:PORT: {e}")),
                }
            }
            if let (Ok((a, _)), Ok((b, _))) =
                (irqlab_hw::rss::parse_endpoint(&f.src), irqlab_hw::rss::parse_endpoint(&f.dst))
                && a.is_ipv4() != b.is_ipv4()
            {
                cx.err(format!("workload.flow_list[{i}]"), "src and dst must both be IPv4 or both IPv6");
            }
        }
        let max = cx.max_frame_bytes;
        let frame_ok = |b: u32| (MIN_FRAME_BYTES..=max).contains(&b);
        let mut sizes_ok = true;
        if self.packet_size != PacketSizeKind::Imix && !frame_ok(self.packet_bytes) {
            sizes_ok = false;
            cx.err(
                "workload.packet_bytes",
                format!(
                    "expected a frame size of {MIN_FRAME_BYTES}..={max} bytes{}, got {}",
                    if max == MAX_FRAME_BYTES { " (nic.header_split allows a page of payload)" } else { "" },
                    self.packet_bytes
                ),
            );
        }
        if self.packet_size == PacketSizeKind::Uniform
            && (!frame_ok(self.packet_bytes_max) || self.packet_bytes_max < self.packet_bytes)
        {
            sizes_ok = false;
            cx.err(
                "workload.packet_bytes_max",
                format!("expected packet_bytes ({})..={max}, got {}", self.packet_bytes, self.packet_bytes_max),
            );
        }
        let rate_ok = match (self.rate_pps, self.rate_gbps) {
            (Some(_), Some(_)) => {
                cx.err("workload.rate_gbps", "give either rate_pps or rate_gbps, not both");
                false
            }
            (Some(p), None) if !finite_pos(p) => {
                cx.err("workload.rate_pps", format!("expected a positive packet rate, got {}", num(p)));
                false
            }
            (Some(p), None) if p > MAX_RATE_PPS => {
                cx.err(
                    "workload.rate_pps",
                    format!(
                        "expected at most {MAX_RATE_PPS:.0} pps (64-byte frames at 1.6 Tb/s, the fastest Ethernet), got {}",
                        num(p)
                    ),
                );
                false
            }
            (None, Some(g)) if !finite_pos(g) => {
                cx.err("workload.rate_gbps", format!("expected a positive rate in Gbit/s, got {}", num(g)));
                false
            }
            (None, Some(g)) if g > MAX_LINE_RATE_GBPS => {
                cx.err(
                    "workload.rate_gbps",
                    format!(
                        "expected at most {MAX_LINE_RATE_GBPS} Gbit/s (1.6 Tb/s, the fastest Ethernet), got {}",
                        num(g)
                    ),
                );
                false
            }
            _ => true,
        };
        let mut bursts_ok = true;
        if self.arrival == ArrivalKind::Onoff {
            if !finite_pos(self.on_us) {
                bursts_ok = false;
                cx.err("workload.on_us", format!("expected a positive burst length, got {}", num(self.on_us)));
            } else {
                bursts_ok &=
                    cx.check_f64("workload.on_us", self.on_us, MIN_BURST_US, MAX_BURST_US, "µs (1 ns to one hour)");
            }
            if !(self.off_us.is_finite() && self.off_us >= 0.0) {
                bursts_ok = false;
                cx.err("workload.off_us", format!("expected a non-negative gap, got {}", num(self.off_us)));
            } else {
                bursts_ok &= cx.check_f64("workload.off_us", self.off_us, 0.0, MAX_BURST_US, "µs (at most one hour)");
            }
        }
        let Some(line_rate_gbps) = cx.line_rate_gbps else { return };
        if !(sizes_ok && rate_ok) {
            return;
        }
        let pps = self.offered_pps();
        let rate_key = if self.rate_gbps.is_some() { "workload.rate_gbps" } else { "workload.rate_pps" };
        let rate_given = self.rate_pps.is_some() || self.rate_gbps.is_some();
        let rate = if rate_given { format!("{pps:.0} pps") } else { format!("the default {pps:.0} pps") };
        let wire_bps = pps * 8.0 * (self.mean_packet_bytes() + WIRE_OVERHEAD_BYTES as f64);
        // One part in 10^6 of slack for rounding of "line rate" figures such as 14.880952 Mpps.
        let limit_bps = line_rate_gbps * 1e9 * (1.0 + 1e-6);
        if wire_bps > limit_bps {
            cx.err(
                rate_key,
                format!(
                    "offered load ({rate} of {:.0}-byte frames) needs {:.3} Gbit/s on the wire (frames + 20 B preamble/gap), above nic.line_rate_gbps = {line_rate_gbps}",
                    self.mean_packet_bytes(),
                    wire_bps / 1e9,
                ),
            );
        } else if self.arrival == ArrivalKind::Onoff && bursts_ok {
            let stretch = (self.on_us + self.off_us) / self.on_us;
            if wire_bps * stretch > limit_bps {
                cx.err(
                    "workload.on_us",
                    format!(
                        "bursts of {} µs every {} µs carry the offered load at {stretch:.3}× its mean: {:.3} Gbit/s on the wire within a burst, above nic.line_rate_gbps = {line_rate_gbps}; lengthen on_us, shorten off_us or lower {rate_key}",
                        self.on_us,
                        self.on_us + self.off_us,
                        wire_bps * stretch / 1e9,
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scenario;
    use crate::config::testutil::{only_error, paths, valid};

    #[test]
    fn a_bad_frame_size_is_reported_once_without_a_derived_load_error() {
        let mut s = Scenario::default();
        s.workload.packet_bytes = 9000;
        only_error(&s, "workload.packet_bytes", "64..=1518");
        s.workload.packet_bytes = 1518;
        s.workload.packet_size = PacketSizeKind::Uniform;
        s.workload.packet_bytes_max = 100;
        only_error(&s, "workload.packet_bytes_max", "expected packet_bytes (1518)");
    }

    #[test]
    fn the_load_check_names_the_default_rate_when_none_is_given() {
        let mut s = Scenario::default();
        s.workload.packet_bytes = 1518;
        only_error(&s, "workload.rate_pps", "the default 2000000 pps of 1518-byte frames");
    }

    #[test]
    fn rates_stop_at_the_fastest_ethernet() {
        let mut s = Scenario::default();
        s.nic.line_rate_gbps = 1600.0;
        s.workload.rate_pps = Some(MAX_RATE_PPS);
        valid(&s);
        s.workload.rate_pps = Some(1e25);
        only_error(&s, "workload.rate_pps", "64-byte frames at 1.6 Tb/s");
        s.workload.rate_pps = None;
        // Frame bytes only: 1600 Gbit/s of frames needs more on the wire.
        s.workload.rate_gbps = Some(1000.0);
        valid(&s);
        s.workload.rate_gbps = Some(1600.0);
        only_error(&s, "workload.rate_gbps", "above nic.line_rate_gbps = 1600");
        s.workload.rate_gbps = Some(1e30);
        only_error(&s, "workload.rate_gbps", "expected at most 1600 Gbit/s");
    }

    #[test]
    fn bursts_must_fit_the_line_rate() {
        let mut s = Scenario::default();
        s.workload.arrival = ArrivalKind::Onoff;
        s.workload.rate_pps = Some(7_000_000.0);
        // Mean 7 Mpps fits 10 GbE (14.88 Mpps); 50% duty gives 14 Mpps in a burst.
        s.workload.on_us = 100.0;
        s.workload.off_us = 100.0;
        valid(&s);
        // 10% duty: 70 Mpps within a burst.
        s.workload.on_us = 10.0;
        s.workload.off_us = 90.0;
        only_error(&s, "workload.on_us", "10.000× its mean");
        // A mean that does not fit is reported as such, once.
        s.workload.rate_pps = Some(20_000_000.0);
        assert_eq!(paths(&s), ["workload.rate_pps"]);
    }

    #[test]
    fn bursts_and_gaps_are_1_ns_to_one_hour() {
        let mut s = Scenario::default();
        s.workload.arrival = ArrivalKind::Onoff;
        s.workload.on_us = 1e-6;
        s.workload.off_us = 0.0;
        only_error(&s, "workload.on_us", "expected 0.001..=3600000000");
        s.workload.on_us = 100.0;
        s.workload.off_us = 4e9;
        only_error(&s, "workload.off_us", "expected 0..=3600000000");
    }

    #[test]
    fn flow_lists_are_bounded_like_generated_flows() {
        let mut s = Scenario::default();
        s.workload.flows = MAX_FLOWS + 1;
        only_error(&s, "workload.flows", "expected 1..=1000000 flows");
        s.workload.flows = 1;
        let f = FlowSpec { src: "10.0.0.1:1".into(), dst: "10.0.0.2:2".into() };
        s.workload.flow_list = vec![f; MAX_FLOWS as usize + 1];
        only_error(&s, "workload.flow_list", "expected at most 1000000 flows");
    }

    fn trace() -> Arc<Trace> {
        use crate::config::pcap::{FrameClass, L4, TraceFlow, TraceFrame};
        let a = std::net::IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
        let frame = |ts_ps, bytes, class| TraceFrame { ts_ps, wire_bytes: bytes, bytes, padded: false, class };
        Arc::new(Trace {
            file: "t.pcap".into(),
            frames: vec![
                frame(0, 64, FrameClass::Flow(0)),
                frame(1_000_000, 2000, FrameClass::Flow(0)),
                frame(2_000_000, 64, FrameClass::Other(Unclassified::Arp)),
            ],
            flows: vec![TraceFlow { l4: L4::Udp, src: (a, 1), dst: (a, 2) }],
        })
    }

    #[test]
    fn a_capture_replaces_the_generated_traffic_and_is_checked() {
        let mut s = Scenario::default();
        s.workload.pcap = Some("t.pcap".into());
        only_error(&s, "workload.pcap", "the capture has not been read");
        s.workload.pcap_trace = Some(trace());
        valid(&s);
        assert_eq!(s.workload.flow_count(), 1);
        // The oversize frame is a warning, not an error.
        let w = s.warnings();
        assert!(w.iter().any(|w| w.message.contains("1 UDP/TCP frame larger than the 1518 bytes")), "{w:?}");
        s.workload.rate_pps = Some(1e6);
        only_error(&s, "workload.rate_pps", "remove this key or workload.pcap");
        s.workload.rate_pps = None;
        s.workload.pcap_speed = 0.0;
        only_error(&s, "workload.pcap_speed", "expected a positive speed");
        s.workload.pcap_speed = 5000.0;
        only_error(&s, "workload.pcap_speed", "expected 0.001..=1000");
        s.workload.pcap_speed = 1.0;
        s.workload.pcap_trace = Some(Arc::new(Trace { flows: vec![], ..(*trace()).clone() }));
        only_error(&s, "workload.pcap", "no UDP or TCP frame to replay");
    }

    #[test]
    fn replay_keys_need_a_capture() {
        let mut s = Scenario::default();
        s.workload.pcap_loop = true;
        only_error(&s, "workload.pcap_loop", "needs workload.pcap");
    }

    #[test]
    fn a_looping_replay_is_bounded_like_any_run() {
        let mut s = Scenario::default();
        s.workload.pcap = Some("t.pcap".into());
        s.workload.pcap_trace = Some(trace());
        s.workload.pcap_loop = true;
        s.workload.pcap_speed = 1000.0;
        s.duration_ms = 3_600_000.0;
        only_error(&s, "duration_ms", "looping replay of workload.pcap");
    }

    #[test]
    fn the_trace_is_never_serialised() {
        let mut w = WorkloadConfig { pcap: Some("t.pcap".into()), ..Default::default() };
        w.pcap_trace = Some(trace());
        let json = serde_json::to_string(&w).unwrap();
        assert!(json.contains("\"pcap\":\"t.pcap\"") && !json.contains("trace") && !json.contains("frames"), "{json}");
    }

    #[test]
    fn imix_mean_is_the_weighted_average() {
        let w = WorkloadConfig { packet_size: PacketSizeKind::Imix, ..Default::default() };
        // (7*64 + 4*594 + 1518) / 12 = 4342 / 12
        assert!((w.mean_packet_bytes() - 4342.0 / 12.0).abs() < 1e-9);
    }
}
