//! `workload.pcap`: a packet capture replayed through RSS, as the model holds
//! it in memory.
//!
//! The model does no file I/O: the scenario layer (`crates/scenario`,
//! `pcap.rs`) reads the capture, classifies each frame and hands the model a
//! [`Trace`] — integer timestamps, frame sizes and the flows of the frames
//! it can deliver. The replay itself (time scaling, loops, serialisation at
//! line rate, the counters) is `crate::workload::replay`.
//!
//! Frame sizes follow the rest of the model: with the 4-byte FCS, which
//! captures leave out. A frame shorter than 64 bytes was captured before the
//! sender padded it (ARP requests are 42 bytes in a capture taken at their
//! sender) and is padded to 64, as Ethernet does. VLAN tags (802.1Q,
//! 802.1ad) count on the wire, and the NIC strips them (`rx-vlan-offload`,
//! on by default), so the frame the model receives is 4 bytes shorter per
//! tag.

use std::fmt;
use std::net::IpAddr;

/// Most frames a capture may hold (≈ 4.2 million, 2^22): the trace is kept
/// in memory, 32 bytes a frame.
pub const MAX_PCAP_FRAMES: usize = 1 << 22;
/// Largest capture file read, bytes (1 GiB).
pub const MAX_PCAP_FILE_BYTES: u64 = 1 << 30;
/// Slowest replay: a thousandth of the captured speed.
pub const MIN_PCAP_SPEED: f64 = 0.001;
/// Fastest replay: a thousand times the captured speed (the line rate
/// still serialises frames, see `crate::workload::replay`).
pub const MAX_PCAP_SPEED: f64 = 1000.0;
/// The frame check sequence, which captures of Ethernet frames leave out.
pub const FCS_BYTES: u32 = 4;
/// One 802.1Q or 802.1ad tag.
pub const VLAN_TAG_BYTES: u32 = 4;
/// Latest timestamp a frame may have, relative to the capture's first
/// frame: 2^62 ps, about 53 days (simulated time is kept in u64 picoseconds).
pub const MAX_PCAP_SPAN_PS: u64 = 1 << 62;

/// Why a frame of a capture is not offered to the RX queues.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Unclassified {
    /// An ARP frame (EtherType 0x0806).
    Arp,
    /// Another EtherType than IPv4, IPv6 or ARP (LLDP, MACsec, …).
    NonIp,
    /// IPv4 or IPv6 carrying something other than UDP or TCP (ICMP, …).
    NotUdpTcp,
    /// An IPv4 or IPv6 fragment: ports only in the first, if at all.
    Fragment,
    /// The headers up to the ports are cut short (by the capture's snap
    /// length, or a frame shorter than its headers).
    Truncated,
    /// Headers that cannot be parsed (a bad IPv4 header length, …).
    Malformed,
    /// A UDP or TCP frame larger than the NIC receives (above 1518 bytes,
    /// or 4138 with `nic.header_split`; decided at replay, when the NIC's
    /// settings are known): refused, as a NIC refuses an oversize frame.
    Oversize,
}

impl Unclassified {
    /// Every reason, in the order the metrics list them.
    pub const ALL: [Unclassified; 7] = [
        Unclassified::Arp,
        Unclassified::NonIp,
        Unclassified::NotUdpTcp,
        Unclassified::Fragment,
        Unclassified::Truncated,
        Unclassified::Malformed,
        Unclassified::Oversize,
    ];

    /// Its name in the metrics (`pcap.unclassified`).
    pub fn name(self) -> &'static str {
        match self {
            Unclassified::Arp => "arp",
            Unclassified::NonIp => "non_ip",
            Unclassified::NotUdpTcp => "not_udp_tcp",
            Unclassified::Fragment => "fragment",
            Unclassified::Truncated => "truncated",
            Unclassified::Malformed => "malformed",
            Unclassified::Oversize => "oversize",
        }
    }

    /// Its index in [`Self::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// What a frame of the capture is to the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameClass {
    /// A UDP or TCP frame of the trace's flow of this index.
    Flow(u32),
    /// A frame the model does not offer, and why.
    Other(Unclassified),
}

/// One frame of a capture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceFrame {
    /// Timestamp relative to the capture's first frame, picoseconds (0 for
    /// the first; a later frame may have an earlier stamp).
    pub ts_ps: u64,
    /// Bytes on the wire: the captured frame's original length plus the
    /// FCS, padded to 64.
    pub wire_bytes: u32,
    /// Bytes the NIC receives: `wire_bytes` less its VLAN tags (stripped),
    /// padded to 64.
    pub bytes: u32,
    /// Whether the captured frame was shorter than 64 bytes with its FCS
    /// (captured before its sender padded it).
    pub padded: bool,
    /// Its flow, or why it is not offered.
    pub class: FrameClass,
}

/// The transport protocol of a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum L4 {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
}

/// One flow of a capture: a 5-tuple.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceFlow {
    /// UDP or TCP.
    pub l4: L4,
    /// Source address and port.
    pub src: (IpAddr, u16),
    /// Destination address and port.
    pub dst: (IpAddr, u16),
}

/// A capture read into memory: its frames in file order and the flows of
/// the frames the model delivers, numbered in order of first appearance.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Trace {
    /// The capture's path as the scenario gives it (for reports).
    pub file: String,
    /// Every frame, in file order.
    pub frames: Vec<TraceFrame>,
    /// The flows (flow id = index).
    pub flows: Vec<TraceFlow>,
}

impl fmt::Debug for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A summary: a trace may hold millions of frames.
        write!(f, "Trace {{ file: {:?}, frames: {}, flows: {} }}", self.file, self.frames.len(), self.flows.len())
    }
}

impl Trace {
    /// The latest timestamp, picoseconds after the first frame.
    pub fn span_ps(&self) -> u64 {
        self.frames.iter().map(|f| f.ts_ps).max().unwrap_or(0)
    }

    /// How far apart, in captured picoseconds, two passes of a looping
    /// replay start: the span plus the mean gap between frames,
    /// `span × n / (n − 1)`, so the capture goes on as it went; 0 for a
    /// capture of one frame or of equal stamps (its passes follow each
    /// other at line rate).
    pub fn pass_period_ps(&self) -> u64 {
        let n = self.frames.len() as u128;
        if n < 2 {
            return 0;
        }
        let span = self.span_ps() as u128;
        (span * n / (n - 1)).min(MAX_PCAP_SPAN_PS as u128) as u64
    }

    /// Frames of each [`Unclassified`] reason but `Oversize` (which depends
    /// on the NIC), indexed as [`Unclassified::ALL`].
    pub fn unclassified(&self) -> [u64; 7] {
        let mut n = [0u64; 7];
        for f in &self.frames {
            if let FrameClass::Other(r) = f.class {
                n[r.index()] += 1;
            }
        }
        n
    }

    /// UDP and TCP frames larger than `max_frame_bytes`: how many, and the
    /// first one's index.
    pub fn oversize(&self, max_frame_bytes: u32) -> (u64, Option<usize>) {
        let mut first = None;
        let mut n = 0;
        for (i, f) in self.frames.iter().enumerate() {
            if matches!(f.class, FrameClass::Flow(_)) && f.bytes > max_frame_bytes {
                n += 1;
                first.get_or_insert(i);
            }
        }
        (n, first)
    }

    /// Frames the model offers to the RX queues (UDP and TCP frames within
    /// `max_frame_bytes`) per pass.
    pub fn offered_per_pass(&self, max_frame_bytes: u32) -> u64 {
        self.frames.iter().filter(|f| matches!(f.class, FrameClass::Flow(_)) && f.bytes <= max_frame_bytes).count()
            as u64
    }
}

/// `pcap_speed` as an integer: millionths of the captured speed, at
/// least 1, so replay time is scaled without floating point.
pub fn speed_ppm(speed: f64) -> u64 {
    ((speed * 1e6).round() as u64).max(1)
}

/// A captured interval of `ps` picoseconds replayed at `speed_ppm`
/// millionths of the captured speed, in picoseconds (saturating).
pub fn scale_ps(ps: u128, speed_ppm: u64) -> u128 {
    ps.saturating_mul(1_000_000) / speed_ppm.max(1) as u128
}
