//! Zero-copy receive and transmit: what a read maps and what it copies,
//! Linux's rules for which CPUs a TLB flush must reach, and `MSG_ZEROCOPY`
//! sends with their completions.

use irqlab_model::config::{AppConfig, HEADER_BYTES, PAGE_BYTES, ReceiveMode, Scenario, TxConfig};
use irqlab_model::machine::Machine;
use irqlab_model::metrics::Metrics;

/// One flow of page-payload frames at 4 Gb/s to a reader on core 1; NIC
/// interrupts on core 0.
fn stream(receive: ReceiveMode, message_bytes: u32, threads: u32) -> Scenario {
    let mut s = Scenario::default();
    s.duration_ms = 20.0;
    s.machine.cores = 6;
    s.nic.queues = 1;
    s.nic.affinity = Some(vec![0]);
    s.nic.header_split = true;
    s.workload.flows = 1;
    s.workload.packet_bytes = PAGE_BYTES + HEADER_BYTES;
    s.workload.rate_pps = None;
    s.workload.rate_gbps = Some(4.0);
    s.kernel.socket_rcvbuf_bytes = 4 << 20;
    s.apps = vec![AppConfig::on_core(1)];
    s.process.receive = receive;
    s.process.message_bytes = message_bytes;
    s.process.threads = threads;
    s
}

fn run(s: &Scenario) -> Metrics {
    let m = Machine::new(s).expect("valid").run();
    assert!(m.law_violations.is_empty(), "{:?}", m.law_violations);
    assert_eq!(m.progress.stuck, 0, "{:?}", m.progress);
    m
}

#[test]
fn a_remapping_read_maps_whole_payload_pages_and_copies_the_rest() {
    // 64 KiB messages: 16 page-sized payloads each, nothing copied.
    let m = run(&stream(ReceiveMode::Remap, 64 << 10, 1));
    assert!(m.process.messages > 100);
    assert_eq!(m.tlb.pages_remapped, 16 * m.process.messages);
    assert_eq!(m.copy.bytes, 0);
    // A process on one CPU flushes locally: 16 INVLPGs per unmap, no IPI.
    assert_eq!(m.tlb.local_invlpg, m.tlb.pages_unmapped);
    assert_eq!((m.tlb.shootdown_ipis, m.tlb.full_flushes), (0, 0));
    // 6 KiB messages: every other one starts mid-page ([0, 6K), [6K, 12K),
    // …); each holds exactly one payload page whole, which it maps, and
    // copies the other 2 KiB (the tail of one page or the head of the next).
    let m = run(&stream(ReceiveMode::Remap, 6 << 10, 1));
    assert_eq!(m.tlb.pages_remapped, m.process.messages);
    assert_eq!(m.copy.bytes, m.process.messages * (2 << 10));
    // Without header split no payload is a page at offset 0: all copied.
    let mut s = stream(ReceiveMode::Remap, 64 << 10, 1);
    s.nic.header_split = false;
    s.workload.packet_bytes = 1500;
    let m = run(&s);
    assert_eq!(m.tlb.pages_remapped, 0);
    assert_eq!(m.copy.bytes, m.process.messages * (64 << 10));
}

#[test]
fn above_the_ceiling_a_flush_is_full_and_reaches_every_running_cpu_of_the_process() {
    // 256 KiB = 64 pages > 33: full flushes, locally and on the 3 others.
    let m = run(&stream(ReceiveMode::Remap, 256 << 10, 4));
    let unmaps = m.tlb.pages_unmapped / 64;
    assert_eq!(m.tlb.shootdowns, unmaps);
    assert_eq!(m.tlb.shootdown_ipis, 3 * unmaps);
    assert_eq!(m.tlb.full_flushes, 4 * unmaps);
    assert_eq!(m.tlb.local_invlpg, 0);
    assert_eq!(m.ipis.tlb, m.tlb.shootdown_ipis);
    // With the ceiling raised, the same unmaps are 64 INVLPGs each.
    let mut s = stream(ReceiveMode::Remap, 256 << 10, 4);
    s.kernel.tlb_single_page_flush_ceiling = 64;
    let m = run(&s);
    assert_eq!(m.tlb.full_flushes, 0);
    assert_eq!(m.tlb.local_invlpg, 64 * 4 * (m.tlb.pages_unmapped / 64));
}

#[test]
fn idle_cpus_of_the_process_are_lazy_skipped_and_catch_up_when_they_run_it_again() {
    // Two readers of two flows: while one sleeps between its messages its
    // CPU is lazy, so the other's flushes skip it; when it wakes to a stale
    // TLB it flushes all.
    let mut s = stream(ReceiveMode::Remap, 64 << 10, 0);
    s.workload.flows = 2;
    s.apps = vec![
        AppConfig { flows: Some(vec![0]), ..AppConfig::on_core(1) },
        AppConfig { flows: Some(vec![1]), ..AppConfig::on_core(2) },
    ];
    let m = run(&s);
    assert!(m.tlb.lazy_skipped > 0, "{:?}", m.tlb);
    assert!(m.tlb.lazy_catch_ups > 0, "{:?}", m.tlb);
    assert_eq!(m.tlb.acks, m.tlb.remote_flushes);
}

#[test]
fn copying_reads_do_no_tlb_work_whatever_the_threads() {
    let m = run(&stream(ReceiveMode::Copy, 64 << 10, 4));
    assert_eq!(m.copy.bytes, m.process.messages * (64 << 10));
    assert_eq!((m.tlb.pages_remapped, m.tlb.shootdown_ipis, m.tlb.full_flushes), (0, 0, 0));
    assert_eq!(m.process.compute_threads, 3);
    assert_eq!(m.process.compute_cores, vec![2, 3, 4]);
}

/// A sender of `batch` page-payload frames per send.
fn sender(zerocopy: bool, batch: u32) -> Scenario {
    let mut s = Scenario::default();
    s.duration_ms = 20.0;
    s.workload.rate_pps = Some(100_000.0);
    s.tx = Some(TxConfig {
        zerocopy,
        frame_bytes: (PAGE_BYTES + HEADER_BYTES) as u16,
        descriptors_per_doorbell: batch,
        doorbell_rate_per_s: 50_000.0,
        core: 3,
        ..TxConfig::default()
    });
    s
}

#[test]
fn msg_zerocopy_pins_large_sends_reports_their_completions_and_copies_small_ones() {
    let copy = run(&sender(false, 4));
    let zc = run(&sender(true, 4));
    let (c, z) = (&copy.tx.as_ref().unwrap().zerocopy, &zc.tx.as_ref().unwrap().zerocopy);
    assert!(!c.used && c.copied_sends > 900 && c.sends == 0);
    assert!(z.used && z.sends > 900 && z.copied_sends == 0);
    assert_eq!(z.pages_pinned, 4 * z.sends);
    // Every send the NIC has read completes; the sender reads them back.
    assert!(z.completions > 900 && z.completions <= z.sends);
    assert!(z.notifications <= z.completions);
    // Received datagrams (64 bytes each) are copied either way.
    assert_eq!(copy.copy.bytes, copy.packets.delivered * 64 + c.copied_sends * 4 * PAGE_BYTES as u64);
    assert_eq!(zc.copy.bytes, zc.packets.delivered * 64);
    // A one-frame send (4 KiB) is below the 10 KiB threshold: copied.
    let small = run(&sender(true, 1));
    let s = &small.tx.as_ref().unwrap().zerocopy;
    assert!(!s.used && s.copied_sends > 900 && s.pages_pinned == 0 && s.completions == 0);
}
