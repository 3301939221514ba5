//! The capture reader never panics: random bytes, random bytes behind each
//! capture magic, every prefix of a valid capture and bit-flipped valid
//! captures give `Ok` (a sane trace, which the replay then plays without
//! panicking) or a located error. Failures the properties find are kept in
//! `tests/pcap_fuzz.proptest-regressions` and replayed first (none has
//! been found so far); edge inputs made by hand are in [`regressions`].

mod common;

use irqlab_model::config::{FrameClass, Trace};
use irqlab_model::workload::replay::Replay;
use irqlab_scenario::pcap::read_capture;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::FileFailurePersistence;
use std::sync::Arc;

/// Reads `bytes`; on success checks the trace and replays it (two passes
/// of at most a few hundred frames); on failure checks the error says where.
fn check(bytes: &[u8]) {
    match read_capture(bytes, "fuzz.pcap") {
        Ok(t) => {
            assert!(!t.frames.is_empty(), "a trace has frames");
            assert_eq!(t.frames[0].ts_ps, 0, "stamps are relative to the first frame");
            for f in &t.frames {
                assert!(f.wire_bytes >= 64 && f.bytes >= 64 && f.bytes <= f.wire_bytes, "{f:?}");
                if let FrameClass::Flow(i) = f.class {
                    assert!((i as usize) < t.flows.len(), "{f:?}");
                }
            }
            replay(t);
        }
        Err(e) => {
            assert!(e.offset <= bytes.len(), "{e} beyond {} bytes", bytes.len());
            assert!(!e.message.is_empty());
            assert!(e.to_string().contains("byte offset"), "{e}");
        }
    }
}

fn replay(t: Trace) {
    let n = t.frames.len();
    let mut r = Replay::new(Arc::new(t), 1000.0, true, 0.01, 1518);
    let mut last = 0;
    for _ in 0..(2 * n).min(500) {
        match r.next_packet() {
            Some(p) => {
                assert!(p.wire.0 >= last, "arrivals in order");
                last = p.wire.0;
            }
            None => break,
        }
    }
    r.count_until(irqlab_engine::Time::NEVER);
}

/// The shipped examples: valid captures of each format (made once).
fn valid() -> &'static [Vec<u8>] {
    static VALID: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    VALID.get_or_init(|| common::examples().into_iter().map(|(_, b)| b).collect())
}

const MAGICS: [[u8; 4]; 6] = [
    [0xd4, 0xc3, 0xb2, 0xa1],
    [0xa1, 0xb2, 0xc3, 0xd4],
    [0x4d, 0x3c, 0xb2, 0xa1],
    [0xa1, 0xb2, 0x3c, 0x4d],
    [0x34, 0xcd, 0xb2, 0xa1],
    [0x0a, 0x0d, 0x0d, 0x0a],
];

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("IRQLAB_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1000),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("tests/pcap_fuzz.proptest-regressions"))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_bytes_are_read_or_refused(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        check(&bytes);
    }

    #[test]
    fn random_bytes_behind_a_capture_magic_are_read_or_refused(
        magic in 0..MAGICS.len(),
        rest in prop::collection::vec(any::<u8>(), 0..600),
    ) {
        let mut bytes = MAGICS[magic].to_vec();
        bytes.extend(rest);
        check(&bytes);
    }

    #[test]
    fn truncated_captures_are_read_or_refused(which in 0..3usize, cut in any::<Index>()) {
        let bytes = &valid()[which];
        check(&bytes[..cut.index(bytes.len())]);
    }

    #[test]
    fn bit_flipped_captures_are_read_or_refused(
        which in 0..3usize,
        flips in prop::collection::vec((any::<Index>(), 0..8u8), 1..8),
    ) {
        let mut bytes = valid()[which].clone();
        for (at, bit) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= 1 << bit;
        }
        check(&bytes);
    }

    #[test]
    fn flipped_header_bytes_are_read_or_refused(
        which in 0..3usize,
        flips in prop::collection::vec((0..128usize, any::<u8>()), 1..6),
    ) {
        // The file and interface headers and the first records, where a
        // flip changes the layout rather than a frame's bytes.
        let mut bytes = valid()[which].clone();
        for (i, v) in flips {
            if i < bytes.len() {
                bytes[i] = v;
            }
        }
        check(&bytes);
    }
}

/// Every prefix of each valid capture, exhaustively.
#[test]
fn every_prefix_of_the_examples_is_read_or_refused() {
    for bytes in valid() {
        for cut in 0..bytes.len() {
            check(&bytes[..cut]);
        }
    }
}

/// A prefix cut inside a record names the frame being read and its offset.
#[test]
fn a_truncated_capture_names_the_frame_and_the_offset() {
    let bytes = &valid()[0];
    // udp4.pcap: a 24-byte header, then records of 16 bytes and the
    // frame's first 64 bytes (the first frame has 60).
    let e = read_capture(&bytes[..24 + 76 + 10], "udp4.pcap").unwrap_err();
    assert_eq!(e.frame, Some(2));
    assert_eq!(e.offset, 24 + 76);
    assert!(e.to_string().starts_with("frame 2 at byte offset 100: the file ends inside the record"), "{e}");
}

/// Edge inputs kept as regression tests: a pcapng block whose length
/// field is zero, and a record claiming a 4 GiB frame.
mod regressions {
    use super::check;

    #[test]
    fn a_pcapng_block_of_zero_length_is_refused() {
        let mut b = vec![0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0];
        b.extend([0xff; 8]);
        b.extend([28, 0, 0, 0]);
        b.extend([6, 0, 0, 0, 0, 0, 0, 0]);
        check(&b);
    }

    #[test]
    fn a_huge_original_length_is_refused() {
        let mut b = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0];
        b.extend([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
        check(&b);
    }
}
