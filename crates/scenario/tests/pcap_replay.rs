//! The example replays end to end: every frame of the capture is offered
//! or counted by reason, each flow lands on the queue the Toeplitz hash and
//! the indirection table give, the accounting laws hold, and a scenario
//! and seed give byte-identical metrics. Bad settings and bad captures
//! are located errors.

mod common;

use irqlab_hw::rss::{Reta, RssKey, RssTuple};
use irqlab_model::config::{FrameClass, Trace, Unclassified};
use irqlab_scenario::{Scenario, load_file};
use std::path::{Path, PathBuf};

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/pcap").join(name)
}

fn load(name: &str, set: &[&str]) -> Scenario {
    let set: Vec<String> = set.iter().map(|s| s.to_string()).collect();
    load_file(&example(name), &set).unwrap_or_else(|e| panic!("{e}"))
}

fn trace(s: &Scenario) -> &Trace {
    s.workload.pcap_trace.as_deref().expect("the capture is read")
}

fn run(s: &Scenario) -> irqlab_model::Metrics {
    let m = irqlab_model::run(s).unwrap();
    assert!(m.law_violations.is_empty(), "{:?}", m.law_violations);
    m
}

/// Packets each RX queue must receive when every frame of `passes` passes
/// is offered: each flow's frames on its RSS queue (Microsoft key, a
/// default-filled 128-entry table), oversize frames left out.
fn expected_per_queue(t: &Trace, queues: u16, passes: u64) -> Vec<u64> {
    let key = RssKey::microsoft();
    let reta = Reta::new(128, queues).unwrap();
    let queue_of: Vec<usize> = t
        .flows
        .iter()
        .map(|f| {
            let tuple = RssTuple::new(f.src.0, f.dst.0, Some((f.src.1, f.dst.1))).unwrap();
            reta.queue_for(key.hash_tuple(&tuple)) as usize
        })
        .collect();
    let mut per = vec![0; queues as usize];
    for f in &t.frames {
        if let FrameClass::Flow(i) = f.class
            && f.bytes <= 1518
        {
            per[queue_of[i as usize]] += passes;
        }
    }
    per
}

#[test]
fn a_looped_replay_offers_every_frame_of_every_pass_and_counts_the_rest() {
    let s = load("udp4.toml", &[]);
    let t = trace(&s);
    // Stop half a frame gap before the sixth pass would begin: five whole passes.
    let period = t.pass_period_ps();
    let gap = period / t.frames.len() as u64;
    let end_ps = 5 * period - gap / 2;
    let s = load("udp4.toml", &[&format!("duration_ms={:?}", end_ps as f64 / 1e9)]);
    let m = run(&s);
    let p = m.pcap.as_ref().expect("a pcap section");
    assert_eq!(p.passes, 5);
    assert_eq!(p.frames, 5 * t.frames.len() as u64);
    let udp = t.offered_per_pass(1518);
    assert_eq!(udp, 96);
    assert_eq!(p.to_queues, 5 * udp);
    assert_eq!(m.packets.offered, p.to_queues, "offered = the capture's UDP frames × passes");
    assert_eq!(p.unclassified["arp"], 5 * 4);
    assert_eq!(p.unclassified["not_udp_tcp"], 5);
    assert_eq!(p.frames, p.to_queues + p.unclassified.values().sum::<u64>());
    assert_eq!(p.padded, 5 * 4, "the ARP requests");
    assert!(p.serialised >= 5 * 3, "the 4-frame burst of each pass is serialised: {}", p.serialised);
}

#[test]
fn each_flow_lands_on_the_queue_its_toeplitz_hash_selects() {
    for (name, set) in [("udp4.toml", vec!["workload.pcap_loop=false"]), ("tcp6.toml", vec![]), ("vlan.toml", vec![])] {
        for queues in [4u16, 3] {
            let q = format!("nic.queues={queues}");
            let mut set = set.clone();
            set.push(&q);
            let s = load(name, &set);
            let m = run(&s);
            let want = expected_per_queue(trace(&s), queues, 1);
            let got: Vec<u64> = m.queues.iter().map(|r| r.packets + r.drops).collect();
            assert_eq!(got, want, "{name} on {queues} queues");
            assert_eq!(m.packets.offered, want.iter().sum::<u64>(), "{name}");
            assert_eq!(m.packets.delivered, m.packets.offered, "{name}: a light load is all delivered");
        }
    }
}

#[test]
fn vlan_capture_counts_each_odd_frame_under_its_reason() {
    let m = run(&load("vlan.toml", &[]));
    let p = m.pcap.unwrap();
    assert_eq!((p.capture_frames, p.frames, p.passes), (36, 36, 1));
    let want = [("arp", 2), ("non_ip", 1), ("fragment", 1), ("truncated", 1), ("oversize", 1), ("malformed", 0)];
    for (k, n) in want {
        assert_eq!(p.unclassified[k], n, "{k}");
    }
    assert_eq!(p.to_queues, 30);
    // With header split the NIC takes the 1604-byte frame.
    let m = run(&load("vlan.toml", &["nic.header_split=true"]));
    assert_eq!(m.pcap.unwrap().unclassified["oversize"], 0);
    assert_eq!(m.packets.offered, 31);
}

#[test]
fn speed_scales_the_capture_and_the_wire_keeps_frames_apart() {
    let slow = run(&load("tcp6.toml", &["workload.pcap_speed=1"]));
    let fast = run(&load("tcp6.toml", &["workload.pcap_speed=1000"]));
    assert_eq!(slow.pcap.as_ref().unwrap().serialised, 0);
    // 1.507 µs / 1000 is far less than a 1518-byte frame's 1.23 µs at 10 Gbit/s.
    assert!(fast.pcap.as_ref().unwrap().serialised >= 40, "{:?}", fast.pcap);
    assert!(fast.throughput.offered_pps > 0.0);
    assert_eq!(fast.packets.offered, 48);
}

#[test]
fn the_same_scenario_and_seed_give_byte_identical_metrics() {
    for name in ["udp4.toml", "tcp6.toml", "vlan.toml"] {
        let a = irqlab_report::to_json(&run(&load(name, &[])));
        let b = irqlab_report::to_json(&run(&load(name, &[])));
        assert!(a == b, "{name}: two runs differ");
        assert!(a.contains("\"pcap\": {"), "{name}");
        assert!(!a.contains("ts_ps"), "the trace itself is not in the metrics");
    }
}

/// A scratch directory with `files`, and the errors of loading `main`.
fn errors(files: &[(&str, &[u8])], main: &str, set: &[&str]) -> String {
    let tmp = tempfile::Builder::new().prefix("irqlab-pcap-").tempdir().unwrap();
    let dir = tmp.path();
    for (n, b) in files {
        std::fs::write(dir.join(n), b).unwrap();
    }
    let set: Vec<String> = set.iter().map(|s| s.to_string()).collect();
    let e = load_file(&dir.join(main), &set).expect_err("an error");
    e.to_string().replace(&format!("{}/", dir.display()), "")
}

fn udp4_bytes() -> Vec<u8> {
    std::fs::read(example("udp4.pcap")).unwrap()
}

#[test]
fn a_missing_capture_is_named_at_its_key() {
    let e = errors(&[("s.toml", b"[workload]\npcap = \"gone.pcap\"\n")], "s.toml", &[]);
    assert_eq!(
        e,
        "s.toml:2:8: workload.pcap: gone.pcap: no such capture file (relative to the scenario file's directory)"
    );
}

#[test]
fn a_truncated_capture_names_the_file_the_frame_and_the_offset() {
    let cut = &udp4_bytes()[..24 + 76 + 10];
    let e = errors(&[("cut.pcap", cut), ("s.toml", b"[workload]\npcap = \"cut.pcap\"\n")], "s.toml", &[]);
    assert!(
        e.starts_with(
            "s.toml:2:8: workload.pcap: cut.pcap: frame 2 at byte offset 100: the file ends inside the record"
        ),
        "{e}"
    );
}

#[test]
fn an_empty_capture_and_a_capture_of_nothing_to_deliver_are_refused() {
    let header = &udp4_bytes()[..24];
    let e = errors(&[("h.pcap", header), ("s.toml", b"[workload]\npcap = \"h.pcap\"\n")], "s.toml", &[]);
    assert_eq!(e, "s.toml:2:8: workload.pcap: h.pcap: at byte offset 0: the capture holds no frames");
    let e = errors(&[("z.pcap", b""), ("s.toml", b"[workload]\npcap = \"z.pcap\"\n")], "s.toml", &[]);
    assert!(e.contains("the file is empty"), "{e}");
    let arp =
        common::pcap(&[common::Rec::new(0, common::arp([10, 0, 0, 1], [10, 0, 0, 2], None), 64)], false, false, 64);
    let e = errors(&[("a.pcap", &arp), ("s.toml", b"[workload]\npcap = \"a.pcap\"\n")], "s.toml", &[]);
    assert_eq!(e, "s.toml:2:8: workload.pcap: a.pcap: no UDP or TCP frame to replay among its 1 frames (arp 1)");
}

#[test]
fn keys_the_capture_replaces_are_refused_where_they_are_written() {
    let toml = b"[workload]\npcap = \"u.pcap\"\nrate_pps = 1e6\npacket_bytes = 128\narrival = \"constant\"\n";
    let e = errors(&[("u.pcap", &udp4_bytes()), ("s.toml", toml)], "s.toml", &[]);
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(lines.len(), 3, "{e}");
    assert!(lines[0].starts_with("s.toml:3:12: workload.rate_pps: workload.pcap replays a capture"), "{e}");
    assert!(lines[1].starts_with("s.toml:4:16: workload.packet_bytes: workload.pcap replays a capture"), "{e}");
    assert!(lines[2].starts_with("s.toml:5:11: workload.arrival:"), "{e}");
}

#[test]
fn the_speed_must_be_positive_and_needs_a_capture() {
    let toml = b"[workload]\npcap = \"u.pcap\"\npcap_speed = 0\n";
    let e = errors(&[("u.pcap", &udp4_bytes()), ("s.toml", toml)], "s.toml", &[]);
    assert_eq!(e, "s.toml:3:14: workload.pcap_speed: expected a positive speed, got 0");
    let e = errors(&[("t.toml", b"[workload]\npcap_speed = 2.0\npcap_loop = true\n")], "t.toml", &[]);
    assert_eq!(
        e,
        "t.toml:2:14: workload.pcap_speed: needs workload.pcap (a capture to replay)\nt.toml:3:13: workload.pcap_loop: needs workload.pcap (a capture to replay)"
    );
}

#[test]
fn a_path_given_with_set_is_taken_from_the_current_directory() {
    let abs = example("tcp6.pcap");
    let s = load("udp4.toml", &[&format!("workload.pcap={:?}", abs.display().to_string())]);
    assert_eq!(trace(&s).flows.len(), 4);
    let e = load_file(&example("udp4.toml"), &["workload.pcap=no/such.pcap".to_string()]).unwrap_err();
    assert_eq!(e.to_string(), "--set: workload.pcap: no/such.pcap: no such capture file");
    assert!(Path::new(&example("udp4.pcap")).is_file());
}

#[test]
fn unclassified_reasons_are_listed_in_a_fixed_order() {
    let names: Vec<&str> = Unclassified::ALL.iter().map(|r| r.name()).collect();
    assert_eq!(names, ["arp", "non_ip", "not_udp_tcp", "fragment", "truncated", "malformed", "oversize"]);
}
