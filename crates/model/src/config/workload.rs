//! `[workload]`: flows (generated or listed), frame sizes (fixed, uniform,
//! IMIX), the arrival process and the offered rate, with the Ethernet wire
//! constants the line-rate check uses.

use super::{ValidateCx, finite_pos};
use serde::{Deserialize, Serialize};

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
    /// Number of flows generated from the seed (ignored when `flow_list` is given).
    pub flows: u32,
    /// Explicit flows; each gets the next flow id.
    pub flow_list: Vec<FlowSpec>,
    /// Packet-size distribution.
    pub packet_size: PacketSizeKind,
    /// Frame size in bytes for `fixed`; the minimum for `uniform`.
    pub packet_bytes: u32,
    /// Largest frame for `uniform`.
    pub packet_bytes_max: u32,
    /// Arrival process.
    pub arrival: ArrivalKind,
    /// Offered load in packets per second (exclusive with `rate_gbps`).
    pub rate_pps: Option<f64>,
    /// Offered load in Gbit/s of frame bytes (exclusive with `rate_pps`).
    pub rate_gbps: Option<f64>,
    /// `onoff`: length of a burst, microseconds.
    pub on_us: f64,
    /// `onoff`: gap between bursts, microseconds.
    pub off_us: f64,
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

    /// Number of flows.
    pub fn flow_count(&self) -> u32 {
        if self.flow_list.is_empty() { self.flows } else { self.flow_list.len() as u32 }
    }

    /// Checks `[workload]`, and that the offered load fits `nic.line_rate_gbps`.
    pub fn validate(&self, cx: &mut ValidateCx) {
        if self.flow_list.is_empty() && (self.flows == 0 || self.flows > 1_000_000) {
            cx.err("workload.flows", format!("expected 1..=1000000 flows, got {}", self.flows));
        }
        for (i, f) in self.flow_list.iter().enumerate() {
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
        let frame_ok = |b: u32| (MIN_FRAME_BYTES..=MAX_FRAME_BYTES).contains(&b);
        if self.packet_size != PacketSizeKind::Imix && !frame_ok(self.packet_bytes) {
            cx.err(
                "workload.packet_bytes",
                format!(
                    "expected a frame size of {MIN_FRAME_BYTES}..={MAX_FRAME_BYTES} bytes, got {}",
                    self.packet_bytes
                ),
            );
        }
        if self.packet_size == PacketSizeKind::Uniform
            && (!frame_ok(self.packet_bytes_max) || self.packet_bytes_max < self.packet_bytes)
        {
            cx.err(
                "workload.packet_bytes_max",
                format!(
                    "expected packet_bytes ({})..={MAX_FRAME_BYTES}, got {}",
                    self.packet_bytes, self.packet_bytes_max
                ),
            );
        }
        match (self.rate_pps, self.rate_gbps) {
            (Some(_), Some(_)) => cx.err("workload.rate_gbps", "give either rate_pps or rate_gbps, not both"),
            (Some(p), None) if !finite_pos(p) => {
                cx.err("workload.rate_pps", format!("expected a positive packet rate, got {p}"))
            }
            (None, Some(g)) if !finite_pos(g) => {
                cx.err("workload.rate_gbps", format!("expected a positive rate in Gbit/s, got {g}"))
            }
            _ => {}
        }
        if self.arrival == ArrivalKind::Onoff {
            if !finite_pos(self.on_us) {
                cx.err("workload.on_us", format!("expected a positive burst length, got {}", self.on_us));
            }
            if !(self.off_us.is_finite() && self.off_us >= 0.0) {
                cx.err("workload.off_us", format!("expected a non-negative gap, got {}", self.off_us));
            }
        }
        let pps = self.offered_pps();
        let line_rate_gbps = cx.line_rate_gbps;
        if finite_pos(pps) && finite_pos(line_rate_gbps) {
            let wire_bps = pps * 8.0 * (self.mean_packet_bytes() + WIRE_OVERHEAD_BYTES as f64);
            // One part in 10^6 of slack for rounding of "line rate" figures such as 14.880952 Mpps.
            if wire_bps > line_rate_gbps * 1e9 * (1.0 + 1e-6) {
                let key = if self.rate_gbps.is_some() { "workload.rate_gbps" } else { "workload.rate_pps" };
                cx.err(
                    key,
                    format!(
                        "offered load needs {:.3} Gbit/s on the wire (frames + 20 B preamble/gap), above nic.line_rate_gbps = {}",
                        wire_bps / 1e9,
                        line_rate_gbps
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imix_mean_is_the_weighted_average() {
        let w = WorkloadConfig { packet_size: PacketSizeKind::Imix, ..Default::default() };
        // (7*64 + 4*594 + 1518) / 12 = 4342 / 12
        assert!((w.mean_packet_bytes() - 4342.0 / 12.0).abs() < 1e-9);
    }
}
