//! The example captures in `examples/pcap/` are exactly what
//! `tests/common/mod.rs` makes (run with `IRQLAB_WRITE_PCAP_EXAMPLES=1` to
//! rewrite them), and the reader finds in each what was put there.

mod common;

use irqlab_model::config::{FrameClass, L4, Trace, Unclassified};
use irqlab_scenario::pcap::read_capture;
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/pcap")
}

fn read(name: &str) -> Trace {
    let bytes = std::fs::read(dir().join(name)).unwrap();
    read_capture(&bytes, name).unwrap()
}

fn count(t: &Trace, r: Unclassified) -> u64 {
    t.unclassified()[r.index()]
}

#[test]
fn the_committed_examples_are_what_the_generator_makes() {
    let write = std::env::var_os("IRQLAB_WRITE_PCAP_EXAMPLES").is_some();
    for (name, bytes) in common::examples() {
        let path = dir().join(name);
        if write {
            std::fs::write(&path, &bytes).unwrap();
        }
        let committed = std::fs::read(&path).unwrap_or_default();
        assert!(committed == bytes, "{name} differs from its generator: rerun with IRQLAB_WRITE_PCAP_EXAMPLES=1");
        assert!(bytes.len() < 16 * 1024, "{name}: {} bytes, keep the examples small", bytes.len());
    }
}

#[test]
fn udp4_has_eight_ipv4_udp_flows_four_arp_frames_and_an_echo() {
    let t = read("udp4.pcap");
    assert_eq!(t.frames.len(), 96 + 4 + 1);
    assert_eq!(t.flows.len(), 8);
    assert!(t.flows.iter().all(|f| f.l4 == L4::Udp && f.src.0.is_ipv4() && f.dst.1 == 9000));
    assert_eq!(count(&t, Unclassified::Arp), 4);
    assert_eq!(count(&t, Unclassified::NotUdpTcp), 1);
    // ARP requests are captured at 42 bytes: padded to 64 on the wire.
    let arp: Vec<_> = t.frames.iter().filter(|f| f.class == FrameClass::Other(Unclassified::Arp)).collect();
    assert!(arp.iter().all(|f| f.padded && f.wire_bytes == 64 && f.bytes == 64));
    // A 1514-byte capture is a 1518-byte frame with its FCS.
    assert_eq!(t.frames.iter().map(|f| f.bytes).max(), Some(1518));
    // Microsecond stamps, 2 µs apart.
    assert_eq!(t.frames[0].ts_ps, 0);
    assert_eq!(t.frames[1].ts_ps, 2_000_000);
}

#[test]
fn tcp6_has_four_ipv6_tcp_flows_with_nanosecond_stamps() {
    let t = read("tcp6.pcap");
    assert_eq!(t.frames.len(), 48);
    assert_eq!(t.flows.len(), 4);
    assert!(t.flows.iter().all(|f| f.l4 == L4::Tcp && f.src.0.is_ipv6() && f.dst.1 == 443));
    assert_eq!(t.frames[1].ts_ps, 1_507_000, "nanoseconds kept");
    assert_eq!(t.unclassified(), [0; 7]);
}

#[test]
fn vlan_tags_are_stripped_and_every_odd_frame_is_named() {
    let t = read("vlan.pcapng");
    assert_eq!(t.frames.len(), 30 + 6);
    // 3 IPv4 flows behind one tag and 2 IPv6 flows behind two (the
    // oversize frame belongs to the second IPv4 flow: refused at replay).
    assert_eq!(t.flows.len(), 5);
    assert_eq!(count(&t, Unclassified::Arp), 2);
    assert_eq!(count(&t, Unclassified::NonIp), 1);
    assert_eq!(count(&t, Unclassified::Fragment), 1);
    assert_eq!(count(&t, Unclassified::Truncated), 1);
    assert_eq!(t.oversize(1518), (1, Some(28)));
    let f0 = t.frames[0];
    assert_eq!((f0.wire_bytes, f0.bytes), (204, 200), "one 4-byte tag on the wire, stripped by the NIC");
    let f3 = t.frames[3];
    assert_eq!(f3.wire_bytes - f3.bytes, 8, "two tags");
    assert_eq!(t.frames[1].ts_ps, 3_750_000, "nanosecond resolution");
}
