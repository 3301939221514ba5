//! Writing captures for the tests and the shipped examples: frames built
//! with etherparse, files laid out as legacy pcap or pcapng.
//!
//! `examples/pcap/*` are made by [`examples`]; `tests/pcap_examples.rs`
//! checks that the committed files are exactly what it makes, and rewrites
//! them when run with `IRQLAB_WRITE_PCAP_EXAMPLES=1`.

#![allow(dead_code)]

use etherparse::{PacketBuilder, VlanId};

/// One record: when (ps since the epoch), the frame's original length
/// (without FCS) and the bytes captured.
#[derive(Clone, Debug)]
pub struct Rec {
    pub ts_ps: u128,
    pub orig: u32,
    pub data: Vec<u8>,
}

impl Rec {
    /// A record of `frame` at `ts_ps`, captured up to `snaplen` bytes.
    pub fn new(ts_ps: u128, frame: Vec<u8>, snaplen: usize) -> Rec {
        let orig = frame.len() as u32;
        let mut data = frame;
        data.truncate(snaplen);
        Rec { ts_ps, orig, data }
    }
}

const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];

fn vid(v: u16) -> VlanId {
    VlanId::try_new(v).unwrap()
}

/// Pads a built frame's payload so that the frame is `len` bytes.
fn payload(header_len: usize, len: usize) -> Vec<u8> {
    (0..len.saturating_sub(header_len)).map(|i| i as u8).collect()
}

/// An IPv4 UDP frame of `len` bytes (without FCS), behind `vlans` tags.
pub fn udp4(src: ([u8; 4], u16), dst: ([u8; 4], u16), len: usize, vlans: &[u16]) -> Vec<u8> {
    let eth = PacketBuilder::ethernet2(MAC_A, MAC_B);
    let mut out = Vec::new();
    match vlans {
        [] => {
            let b = eth.ipv4(src.0, dst.0, 64).udp(src.1, dst.1);
            let p = payload(b.size(0), len);
            b.write(&mut out, &p).unwrap();
        }
        [v] => {
            let b = eth.single_vlan(vid(*v)).ipv4(src.0, dst.0, 64).udp(src.1, dst.1);
            let p = payload(b.size(0), len);
            b.write(&mut out, &p).unwrap();
        }
        [o, i, ..] => {
            let b = eth.double_vlan(vid(*o), vid(*i)).ipv4(src.0, dst.0, 64).udp(src.1, dst.1);
            let p = payload(b.size(0), len);
            b.write(&mut out, &p).unwrap();
        }
    }
    out
}

/// An IPv6 UDP frame of `len` bytes, behind `vlans` tags.
pub fn udp6(src: ([u8; 16], u16), dst: ([u8; 16], u16), len: usize, vlans: &[u16]) -> Vec<u8> {
    let eth = PacketBuilder::ethernet2(MAC_A, MAC_B);
    let mut out = Vec::new();
    match vlans {
        [] => {
            let b = eth.ipv6(src.0, dst.0, 64).udp(src.1, dst.1);
            let p = payload(b.size(0), len);
            b.write(&mut out, &p).unwrap();
        }
        [v] => {
            let b = eth.single_vlan(vid(*v)).ipv6(src.0, dst.0, 64).udp(src.1, dst.1);
            let p = payload(b.size(0), len);
            b.write(&mut out, &p).unwrap();
        }
        [o, i, ..] => {
            let b = eth.double_vlan(vid(*o), vid(*i)).ipv6(src.0, dst.0, 64).udp(src.1, dst.1);
            let p = payload(b.size(0), len);
            b.write(&mut out, &p).unwrap();
        }
    }
    out
}

/// An IPv6 TCP frame of `len` bytes.
pub fn tcp6(src: ([u8; 16], u16), dst: ([u8; 16], u16), seq: u32, len: usize) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(MAC_A, MAC_B).ipv6(src.0, dst.0, 64).tcp(src.1, dst.1, seq, 65535);
    let p = payload(b.size(0), len);
    let mut out = Vec::new();
    b.write(&mut out, &p).unwrap();
    out
}

/// An ARP request as its sender captures it: 42 bytes (no padding), or
/// 46 behind a tag.
pub fn arp(sender: [u8; 4], target: [u8; 4], vlan: Option<u16>) -> Vec<u8> {
    let mut f = vec![0xff; 6];
    f.extend(MAC_A);
    if let Some(v) = vlan {
        f.extend([0x81, 0x00]);
        f.extend(v.to_be_bytes());
    }
    f.extend([0x08, 0x06]);
    f.extend([0, 1, 0x08, 0x00, 6, 4, 0, 1]);
    f.extend(MAC_A);
    f.extend(sender);
    f.extend([0; 6]);
    f.extend(target);
    f
}

/// An ICMP echo request over IPv4.
pub fn icmp4(src: [u8; 4], dst: [u8; 4], len: usize) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(MAC_A, MAC_B).ipv4(src, dst, 64).icmpv4_echo_request(1, 1);
    let p = payload(b.size(0), len);
    let mut out = Vec::new();
    b.write(&mut out, &p).unwrap();
    out
}

/// An LLDP frame (EtherType 0x88cc): neither IP nor ARP.
pub fn lldp() -> Vec<u8> {
    let mut f = vec![0x01, 0x80, 0xc2, 0, 0, 0x0e];
    f.extend(MAC_A);
    f.extend([0x88, 0xcc]);
    f.extend([0x02, 0x07, 0x04]);
    f.extend(MAC_A);
    f.extend([0x04, 0x02, 0x07, 0x31, 0x06, 0x02, 0x00, 0x78, 0, 0]);
    f
}

/// The first fragment of an IPv4 UDP datagram: `udp4` with More
/// Fragments set (and the header checksum recomputed).
pub fn frag4(src: ([u8; 4], u16), dst: ([u8; 4], u16), len: usize) -> Vec<u8> {
    let mut f = udp4(src, dst, len, &[]);
    f[14 + 6] |= 0x20;
    f[14 + 10] = 0;
    f[14 + 11] = 0;
    let sum: u32 = f[14..34].chunks(2).map(|w| u16::from_be_bytes([w[0], w[1]]) as u32).sum();
    let sum = (sum & 0xffff) + (sum >> 16);
    let sum = !((sum & 0xffff) + (sum >> 16)) as u16;
    f[14 + 10..14 + 12].copy_from_slice(&sum.to_be_bytes());
    f
}

/// A legacy pcap file: microsecond or nanosecond stamps, either byte
/// order, Ethernet.
pub fn pcap(recs: &[Rec], nanos: bool, big_endian: bool, snaplen: u32) -> Vec<u8> {
    let u32b = |v: u32| if big_endian { v.to_be_bytes() } else { v.to_le_bytes() };
    let u16b = |v: u16| if big_endian { v.to_be_bytes() } else { v.to_le_bytes() };
    let mut out = Vec::new();
    out.extend(u32b(if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }));
    out.extend(u16b(2));
    out.extend(u16b(4));
    out.extend(u32b(0));
    out.extend(u32b(0));
    out.extend(u32b(snaplen));
    out.extend(u32b(1));
    let per_unit: u128 = if nanos { 1_000 } else { 1_000_000 };
    for r in recs {
        out.extend(u32b((r.ts_ps / 1_000_000_000_000) as u32));
        out.extend(u32b((r.ts_ps % 1_000_000_000_000 / per_unit) as u32));
        out.extend(u32b(r.data.len() as u32));
        out.extend(u32b(r.orig));
        out.extend(&r.data);
    }
    out
}

/// A pcapng file, little-endian: a section header, one Ethernet interface
/// with stamps in units of 10^-`tsresol` s, and an enhanced packet block
/// per record.
pub fn pcapng(recs: &[Rec], tsresol: u8, snaplen: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let block = |out: &mut Vec<u8>, kind: u32, body: &[u8]| {
        let len = 12 + body.len() as u32;
        out.extend(kind.to_le_bytes());
        out.extend(len.to_le_bytes());
        out.extend(body);
        out.extend(len.to_le_bytes());
    };
    let mut shb = Vec::new();
    shb.extend(0x1a2b_3c4du32.to_le_bytes());
    shb.extend(1u16.to_le_bytes());
    shb.extend(0u16.to_le_bytes());
    shb.extend((-1i64).to_le_bytes());
    block(&mut out, 0x0a0d_0d0a, &shb);
    let mut idb = Vec::new();
    idb.extend(1u16.to_le_bytes());
    idb.extend(0u16.to_le_bytes());
    idb.extend(snaplen.to_le_bytes());
    idb.extend(9u16.to_le_bytes()); // if_tsresol
    idb.extend(1u16.to_le_bytes());
    idb.extend([tsresol, 0, 0, 0]);
    idb.extend([0; 4]); // opt_endofopt
    block(&mut out, 1, &idb);
    let units = 10u128.pow(tsresol as u32);
    for r in recs {
        let ticks = (r.ts_ps * units / 1_000_000_000_000) as u64;
        let mut epb = Vec::new();
        epb.extend(0u32.to_le_bytes());
        epb.extend(((ticks >> 32) as u32).to_le_bytes());
        epb.extend((ticks as u32).to_le_bytes());
        epb.extend((r.data.len() as u32).to_le_bytes());
        epb.extend(r.orig.to_le_bytes());
        epb.extend(&r.data);
        while epb.len() % 4 != 0 {
            epb.push(0);
        }
        block(&mut out, 6, &epb);
    }
    out
}

/// Epoch of the examples' stamps: 2024-01-01T00:00:00Z, in ps.
const EPOCH_PS: u128 = 1_704_067_200 * 1_000_000_000_000;
const US: u128 = 1_000_000;

/// The shipped example captures, by file name.
pub fn examples() -> Vec<(&'static str, Vec<u8>)> {
    vec![("udp4.pcap", udp4_example()), ("tcp6.pcap", tcp6_example()), ("vlan.pcapng", vlan_example())]
}

/// `udp4.pcap`: 8 IPv4 UDP flows towards 10.255.0.1:9000, 96 frames of
/// 64 to 1518 bytes every 2 µs, with a burst of 4 frames stamped within
/// the same microsecond (serialised at line rate), 4 ARP requests and an
/// ICMP echo; microsecond stamps, snap length 64.
fn udp4_example() -> Vec<u8> {
    let sizes = [60usize, 124, 508, 1514, 252, 60, 1014, 60];
    let mut recs = Vec::new();
    let mut t = EPOCH_PS;
    for i in 0..96u32 {
        let f = (i * 5 % 8) as u8;
        let len = sizes[(i as usize * 3) % sizes.len()];
        // Addresses and ports that differ in many bits: Toeplitz is linear,
        // so flows whose address and port step together can hash alike.
        let src = ([10, 0, f * 29, f * 11 + 1], 49152 + f as u16 * 1231);
        let frame = udp4(src, ([10, 255, 0, 1], 9000), len, &[]);
        recs.push(Rec::new(t, frame, 64));
        // Frames 40..44 come in a burst: a microsecond for four frames.
        t += if (40..43).contains(&i) { 0 } else { 2 * US };
        if i % 24 == 7 {
            recs.push(Rec::new(t + US, arp([10, 0, f * 29, f * 11 + 1], [10, 255, 0, 1], None), 64));
        }
        if i == 60 {
            recs.push(Rec::new(t + US, icmp4([10, 0, 0, 9], [10, 255, 0, 1], 98), 64));
        }
    }
    pcap(&recs, false, false, 64)
}

/// `tcp6.pcap`: 4 IPv6 TCP flows towards [2001:db8::64]:443, 48 frames
/// (a handshake-sized 74-byte frame, then full 1514-byte segments) every
/// 1.507 µs; nanosecond stamps, big-endian, snap length 96.
fn tcp6_example() -> Vec<u8> {
    let addr = |last: u8| {
        let mut a = [0u8; 16];
        a[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        a[15] = last;
        a
    };
    let mut recs = Vec::new();
    for i in 0..48u32 {
        let f = (i % 4) as u8;
        let len = if i < 4 { 74 } else { 1514 };
        let frame = tcp6((addr(1 + f), 40000 + f as u16), (addr(100), 443), i * 1448, len);
        recs.push(Rec::new(EPOCH_PS + i as u128 * 1_507_000, frame, 96));
    }
    pcap(&recs, true, true, 96)
}

/// `vlan.pcapng`: IPv4 UDP behind an 802.1Q tag (VLAN 100, 3 flows), IPv6
/// UDP behind 802.1ad + 802.1Q tags (2 flows), tagged ARP, an LLDP frame,
/// an IPv4 fragment, a frame cut inside its IP header, and a UDP frame of
/// 1600 bytes (oversize); nanosecond resolution (if_tsresol 9).
fn vlan_example() -> Vec<u8> {
    let v6 = |last: u8| {
        let mut a = [0u8; 16];
        a[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        a[14] = 0x0a;
        a[15] = last;
        a
    };
    let mut recs = Vec::new();
    let mut t = EPOCH_PS + 123;
    for i in 0..30u32 {
        let k = (i % 5) as u8;
        let frame = if k < 3 {
            udp4(([192, 168, 10, 1 + k], 6000 + k as u16), ([192, 168, 10, 200], 7000), 200 + 40 * i as usize, &[100])
        } else {
            udp6((v6(k), 6000 + k as u16), (v6(200), 7000), 120 + 30 * i as usize, &[300, 100])
        };
        recs.push(Rec::new(t, frame, 128));
        t += 3 * US + 250_000;
        match i {
            5 => recs.push(Rec::new(t, arp([192, 168, 10, 1], [192, 168, 10, 200], Some(100)), 128)),
            11 => recs.push(Rec::new(t, lldp(), 128)),
            17 => recs.push(Rec::new(t, frag4(([192, 168, 10, 9], 6009), ([192, 168, 10, 200], 7000), 600), 128)),
            20 => recs.push(Rec::new(t, udp4(([192, 168, 10, 1], 6000), ([192, 168, 10, 200], 7000), 300, &[100]), 24)),
            23 => recs.push(Rec::new(t, udp4(([192, 168, 10, 2], 6001), ([192, 168, 10, 200], 7000), 1600, &[]), 128)),
            26 => recs.push(Rec::new(t, arp([192, 168, 10, 2], [192, 168, 10, 200], Some(100)), 128)),
            _ => {}
        }
        t += US / 2;
    }
    pcapng(&recs, 9, 128)
}
