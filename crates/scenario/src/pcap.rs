//! Reading a capture for `workload.pcap`: legacy pcap (microsecond and
//! nanosecond magic, either byte order, and the "modified" format) and
//! pcapng, Ethernet link type only, into the model's in-memory
//! [`Trace`].
//!
//! Records are parsed with `pcap-parser`, headers with `etherparse` (lax
//! slicing, so a capture cut to a snap length still gives its 5-tuples).
//! Each frame becomes a [`TraceFrame`]: its timestamp in integer
//! picoseconds after the first frame, its sizes (see
//! `irqlab_model::config::pcap` for FCS, padding and VLAN tags) and its
//! flow — a UDP or TCP 5-tuple, over IPv4 or IPv6, behind up to three
//! 802.1Q/802.1ad tags — or why the model does not offer it
//! ([`Unclassified`]). A capture that cannot be read (not a capture, cut
//! short, malformed records, another link type, no frames) is a
//! [`CaptureError`] naming the frame and the byte offset; reading never
//! panics, whatever the bytes (`tests/pcap_fuzz.rs`).

use etherparse::err::packet::SliceError;
use etherparse::{IpNumber, LaxLinkExtSlice, LaxNetSlice, LaxSlicedPacket, TransportSlice};
use irqlab_model::config::pcap::{FCS_BYTES, MAX_PCAP_FRAMES, MAX_PCAP_SPAN_PS, VLAN_TAG_BYTES};
use irqlab_model::config::{FrameClass, L4, MIN_FRAME_BYTES, Trace, TraceFlow, TraceFrame, Unclassified};
use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapNGPacketBlock;
use pcap_parser::{Linktype, PcapError, nom};
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

/// Largest original frame length accepted, bytes: 256 KiB, the largest
/// snap length capture tools use (a segmentation-offload super-frame is at
/// most 64 KiB plus headers). Anything longer is a damaged record.
pub const MAX_ORIGINAL_BYTES: u32 = 262_144;

/// Picoseconds per second.
const PS_PER_S: i128 = 1_000_000_000_000;

/// A capture that cannot be replayed: where (the frame being read, 1-based,
/// and the byte offset of its record or block) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureError {
    /// The frame being read when the problem was found (1-based), if the
    /// problem is in or before a frame's record.
    pub frame: Option<u64>,
    /// Byte offset in the file of the record, block or header at fault.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.frame {
            Some(n) => write!(f, "frame {n} at byte offset {}: {}", self.offset, self.message),
            None => write!(f, "at byte offset {}: {}", self.offset, self.message),
        }
    }
}

impl std::error::Error for CaptureError {}

/// Reads a capture held in memory. `file` names it in the trace (for
/// reports); errors locate the problem by frame and byte offset.
pub fn read_capture(bytes: &[u8], file: &str) -> Result<Trace, CaptureError> {
    let mut b = Builder { file: file.to_string(), ..Builder::default() };
    if bytes.is_empty() {
        return Err(b.err(0, "the file is empty: expected a pcap or pcapng capture"));
    }
    if bytes.len() < 4 {
        return Err(b.err(0, "the file is too short for a capture's magic number"));
    }
    let magic = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    match magic {
        0xa1b2_c3d4 | 0xd4c3_b2a1 | 0xa1b2_3c4d | 0x4d3c_b2a1 | 0xa1b2_cd34 => read_legacy(bytes, &mut b)?,
        0x0a0d_0d0a => read_pcapng(bytes, &mut b)?,
        _ => {
            return Err(b.err(
                0,
                format!(
                    "not a pcap or pcapng capture (magic number {:02x} {:02x} {:02x} {:02x})",
                    bytes[0], bytes[1], bytes[2], bytes[3]
                ),
            ));
        }
    }
    b.finish()
}

/// A flow's identity: protocol, source and destination.
type FlowKey = (L4, (IpAddr, u16), (IpAddr, u16));

/// Trace under construction.
#[derive(Default)]
struct Builder {
    file: String,
    /// Frames read so far, with absolute timestamps (ps).
    frames: Vec<(i128, TraceFrame)>,
    flows: Vec<TraceFlow>,
    flow_ids: BTreeMap<FlowKey, u32>,
}

impl Builder {
    /// The number of the frame being read (1-based).
    fn frame_no(&self) -> u64 {
        self.frames.len() as u64 + 1
    }

    fn err(&self, offset: usize, message: impl Into<String>) -> CaptureError {
        CaptureError { frame: Some(self.frame_no()), offset, message: message.into() }
    }

    /// Adds a frame: absolute timestamp in ps, original length, captured bytes.
    fn push(&mut self, offset: usize, ts_ps: i128, orig_len: u32, data: &[u8]) -> Result<(), CaptureError> {
        if self.frames.len() >= MAX_PCAP_FRAMES {
            return Err(
                self.err(offset, format!("more than {MAX_PCAP_FRAMES} frames: the model replays at most that many"))
            );
        }
        if orig_len > MAX_ORIGINAL_BYTES {
            return Err(self.err(
                offset,
                format!("original length {orig_len} bytes, above the {MAX_ORIGINAL_BYTES} any capture records: a damaged record"),
            ));
        }
        if (data.len() as u64) > orig_len as u64 {
            return Err(self.err(
                offset,
                format!("captured length {} bytes, above the original length {orig_len}: a damaged record", data.len()),
            ));
        }
        if let Some((first, _)) = self.frames.first()
            && ts_ps - first > MAX_PCAP_SPAN_PS as i128
        {
            return Err(self.err(
                offset,
                format!(
                    "timestamp {} s after the first frame's: the model replays captures spanning at most {} days",
                    (ts_ps - first) / PS_PER_S,
                    MAX_PCAP_SPAN_PS as i128 / PS_PER_S / 86_400
                ),
            ));
        }
        let (class, tags) = classify(data);
        let class = match class {
            Ok(key) => {
                let next = self.flows.len() as u32;
                let id = *self.flow_ids.entry(key).or_insert(next);
                if id == next {
                    self.flows.push(TraceFlow { l4: key.0, src: key.1, dst: key.2 });
                }
                FrameClass::Flow(id)
            }
            Err(r) => FrameClass::Other(r),
        };
        let with_fcs = orig_len + FCS_BYTES;
        let wire_bytes = with_fcs.max(MIN_FRAME_BYTES);
        let bytes = with_fcs.saturating_sub(tags * VLAN_TAG_BYTES).max(MIN_FRAME_BYTES);
        let frame = TraceFrame { ts_ps: 0, wire_bytes, bytes, padded: with_fcs < MIN_FRAME_BYTES, class };
        self.frames.push((ts_ps, frame));
        Ok(())
    }

    fn finish(self) -> Result<Trace, CaptureError> {
        let Some((first, _)) = self.frames.first().copied() else {
            return Err(CaptureError { frame: None, offset: 0, message: "the capture holds no frames".into() });
        };
        // Stamps before the first frame's (they go backwards) count as the
        // first frame's: the replay serialises them after it.
        let frames =
            self.frames.into_iter().map(|(ts, f)| TraceFrame { ts_ps: (ts - first).max(0) as u64, ..f }).collect();
        Ok(Trace { file: self.file, frames, flows: self.flows })
    }
}

/// What pcap-parser's error means, for a record starting at `offset`.
fn parse_problem(e: &nom::Err<PcapError<&[u8]>>, what: &str) -> String {
    match e {
        nom::Err::Incomplete(nom::Needed::Size(n)) => {
            format!("the file ends inside the {what} ({n} more bytes needed): a truncated capture")
        }
        nom::Err::Incomplete(nom::Needed::Unknown) => format!("the file ends inside the {what}: a truncated capture"),
        nom::Err::Error(e) | nom::Err::Failure(e) => match e {
            PcapError::NomError(_, kind) => format!("malformed {what} ({})", kind.description()),
            PcapError::OwnedNomError(_, kind) => format!("malformed {what} ({})", kind.description()),
            PcapError::HeaderNotRecognized => format!("malformed {what}: header not recognised"),
            PcapError::Incomplete(_) | PcapError::UnexpectedEof | PcapError::Eof => {
                format!("the file ends inside the {what}: a truncated capture")
            }
            other => format!("malformed {what} ({other})"),
        },
    }
}

fn check_ethernet(linktype: Linktype) -> Result<(), String> {
    if linktype == Linktype::ETHERNET {
        Ok(())
    } else {
        Err(format!("link type {}: only Ethernet captures (link type 1) are replayed", linktype.0))
    }
}

/// Legacy pcap: the global header, then records.
fn read_legacy(bytes: &[u8], b: &mut Builder) -> Result<(), CaptureError> {
    let (mut rest, header) = pcap_parser::parse_pcap_header(bytes).map_err(|e| CaptureError {
        frame: None,
        offset: 0,
        message: parse_problem(&e, "pcap file header"),
    })?;
    check_ethernet(header.network).map_err(|m| CaptureError { frame: None, offset: 20, message: m })?;
    // Fractions of a second are microseconds, or nanoseconds with the
    // nanosecond magic.
    let ps_per_unit: i128 = if header.is_nanosecond_precision() { 1_000 } else { 1_000_000 };
    while !rest.is_empty() {
        let offset = bytes.len() - rest.len();
        let parsed = if header.is_modified_format() {
            pcap_parser::parse_pcap_frame_modified(rest)
        } else if header.is_bigendian() {
            pcap_parser::parse_pcap_frame_be(rest)
        } else {
            pcap_parser::parse_pcap_frame(rest)
        };
        let (next, rec) = parsed.map_err(|e| b.err(offset, parse_problem(&e, "record")))?;
        let ts = rec.ts_sec as i128 * PS_PER_S + rec.ts_usec as i128 * ps_per_unit;
        b.push(offset, ts, rec.origlen, rec.data)?;
        rest = next;
    }
    Ok(())
}

/// One pcapng interface: its link type, timestamp units per second and
/// offset (seconds).
struct Interface {
    linktype: Linktype,
    units_per_s: Option<u64>,
    offset_s: i64,
}

/// pcapng: a section header block, then blocks; a new section header
/// starts a new list of interfaces (and may change the byte order).
fn read_pcapng(bytes: &[u8], b: &mut Builder) -> Result<(), CaptureError> {
    let mut rest = bytes;
    let mut big_endian = false;
    let mut interfaces: Vec<Interface> = Vec::new();
    while !rest.is_empty() {
        let offset = bytes.len() - rest.len();
        let parsed = if offset == 0 {
            pcap_parser::parse_sectionheaderblock(rest).map(|(r, shb)| (r, Block::SectionHeader(shb)))
        } else if big_endian {
            pcap_parser::parse_block_be(rest)
        } else {
            pcap_parser::parse_block_le(rest)
        };
        let (next, block) = parsed.map_err(|e| b.err(offset, parse_problem(&e, "pcapng block")))?;
        if next.len() >= rest.len() {
            return Err(b.err(offset, "malformed pcapng block (it has no length)"));
        }
        match block {
            Block::SectionHeader(shb) => {
                big_endian = shb.big_endian();
                interfaces.clear();
            }
            Block::InterfaceDescription(idb) => interfaces.push(Interface {
                linktype: idb.linktype,
                units_per_s: idb.ts_resolution(),
                offset_s: idb.ts_offset(),
            }),
            Block::EnhancedPacket(epb) => {
                let Some(i) = interfaces.get(epb.if_id as usize) else {
                    return Err(b.err(
                        offset,
                        format!("packet on interface {}, which no interface description block describes", epb.if_id),
                    ));
                };
                check_ethernet(i.linktype).map_err(|m| b.err(offset, m))?;
                let Some(units) = i.units_per_s.filter(|u| *u > 0) else {
                    return Err(b.err(offset, "the interface's timestamp resolution (if_tsresol) is invalid"));
                };
                let ticks = ((epb.ts_high as u64) << 32 | epb.ts_low as u64) as i128;
                let ts = ticks * PS_PER_S / units as i128 + i.offset_s as i128 * PS_PER_S;
                if epb.caplen as usize > epb.data.len() {
                    return Err(b.err(offset, "captured length beyond the block: a damaged block"));
                }
                b.push(offset, ts, epb.orig_len(), epb.packet_data())?;
            }
            Block::SimplePacket(_) => {
                return Err(b.err(offset, "a simple packet block carries no timestamp: it cannot be replayed"));
            }
            // Name resolution, statistics, secrets, custom and unknown blocks
            // carry no frames.
            _ => {}
        }
        rest = next;
    }
    Ok(())
}

/// A frame's flow key, or why it has none; and its VLAN tags.
fn classify(data: &[u8]) -> (Result<FlowKey, Unclassified>, u32) {
    let Ok(p) = LaxSlicedPacket::from_ethernet(data) else {
        return (Err(Unclassified::Truncated), 0);
    };
    let tags = p.link_exts.iter().filter(|e| matches!(e, LaxLinkExtSlice::Vlan(_))).count() as u32;
    // Where slicing stopped, if it did: cut short, or a bad header.
    let stopped = p.stop_err.as_ref().map(|(e, _)| match e {
        SliceError::Len(_) => Unclassified::Truncated,
        _ => Unclassified::Malformed,
    });
    if p.link_exts.iter().any(|e| matches!(e, LaxLinkExtSlice::Macsec(_))) {
        return (Err(Unclassified::NonIp), tags);
    }
    let (src, dst, fragmented, ip_number) = match &p.net {
        None => return (Err(stopped.unwrap_or(Unclassified::NonIp)), tags),
        Some(LaxNetSlice::Arp(_)) => return (Err(Unclassified::Arp), tags),
        Some(LaxNetSlice::Ipv4(ip)) => {
            let h = ip.header();
            (
                IpAddr::V4(h.source_addr()),
                IpAddr::V4(h.destination_addr()),
                ip.is_payload_fragmented(),
                ip.payload().ip_number,
            )
        }
        Some(LaxNetSlice::Ipv6(ip)) => {
            let h = ip.header();
            (
                IpAddr::V6(h.source_addr()),
                IpAddr::V6(h.destination_addr()),
                ip.is_payload_fragmented(),
                ip.payload().ip_number,
            )
        }
    };
    if fragmented {
        return (Err(Unclassified::Fragment), tags);
    }
    let key = match &p.transport {
        Some(TransportSlice::Udp(u)) => Ok((L4::Udp, (src, u.source_port()), (dst, u.destination_port()))),
        Some(TransportSlice::Tcp(t)) => Ok((L4::Tcp, (src, t.source_port()), (dst, t.destination_port()))),
        Some(_) => Err(Unclassified::NotUdpTcp),
        None if ip_number == IpNumber::UDP || ip_number == IpNumber::TCP => {
            Err(stopped.unwrap_or(Unclassified::Truncated))
        }
        None => Err(stopped.unwrap_or(Unclassified::NotUdpTcp)),
    };
    (key, tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_frame_and_the_byte_offset() {
        let e = CaptureError { frame: Some(3), offset: 120, message: "x".into() };
        assert_eq!(e.to_string(), "frame 3 at byte offset 120: x");
        assert!(read_capture(b"", "a").unwrap_err().to_string().contains("empty"));
        assert!(read_capture(b"GIF89a..", "a").unwrap_err().to_string().contains("not a pcap or pcapng"));
    }

    #[test]
    fn a_header_without_frames_is_an_empty_capture() {
        let mut h = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
        h.extend([0; 8]);
        h.extend(65535u32.to_le_bytes());
        h.extend(1u32.to_le_bytes());
        assert_eq!(read_capture(&h, "a").unwrap_err().to_string(), "at byte offset 0: the capture holds no frames");
        h[20] = 113;
        assert!(read_capture(&h, "a").unwrap_err().to_string().contains("link type 113"));
    }
}
