//! The `/proc`-shaped counters (issue 13, views): each is kept where the
//! event happens and must agree with the counts kept elsewhere.

use irqlab_model::config::Scenario;
use irqlab_model::{Metrics, run};

fn quick(mut s: Scenario) -> Metrics {
    s.duration_ms = 20.0;
    let m = run(&s).expect("valid scenario");
    assert!(m.law_violations.is_empty(), "laws: {:?}", m.law_violations);
    m
}

#[test]
fn per_cpu_counts_follow_irqs_the_balancer_moves() {
    let mut s = Scenario::default();
    s.nic.affinity = Some(vec![0, 0, 0, 0]);
    s.kernel.irqbalance_interval_ms = 1.0;
    let m = quick(s);
    let mut moved = 0;
    for v in &m.interrupts.per_vector {
        assert_eq!(v.per_cpu.len(), m.cpu.len());
        assert_eq!(v.per_cpu.iter().sum::<u64>(), v.count, "irq {}: per-CPU counts add to its count", v.irq);
        if v.per_cpu.iter().filter(|n| **n > 0).count() > 1 {
            moved += 1;
        }
        assert!(v.name.starts_with("eth0-TxRx-"), "{}", v.name);
    }
    assert!(m.interrupts.affinity_moves > 0, "the balancer moved something");
    assert!(moved > 0, "a moved IRQ was taken on more than one CPU");
    // Every CPU's hard interrupts are its device vectors plus its system vectors.
    for (c, cpu) in m.cpu.iter().enumerate() {
        let devices: u64 = m.interrupts.per_vector.iter().map(|v| v.per_cpu[c]).sum();
        assert!(devices <= cpu.interrupts, "cpu {c}: {devices} device vectors vs {} interrupts", cpu.interrupts);
    }
}

#[test]
fn softnet_and_queue_rows_agree_with_the_ipi_and_packet_counts() {
    let mut s = Scenario::default();
    s.nic.queues = 1;
    s.nic.irq_cores = vec![0];
    s.kernel.rps_cpus = vec![1, 2, 3];
    let m = quick(s);
    let cal: u64 = m.interrupts.system["CAL"].iter().sum();
    assert!(cal > 0 && cal <= m.ipis.rps, "CAL {cal} of {} RPS kicks sent", m.ipis.rps);
    assert_eq!(m.interrupts.system["CAL"][0], 0, "the queue's own CPU kicks, it is not kicked");
    let received: u64 = m.softnet.iter().map(|r| r.received_rps).sum();
    assert_eq!(received, cal);
    let q = &m.queues[0];
    assert_eq!(m.queues.len(), 1);
    // RPS sends every packet on to CPUs 1-3: it goes up the stack there,
    // so only they count it as processed (as Linux's softnet_stat does).
    assert_eq!(m.softnet[0].processed, 0);
    let processed: u64 = m.softnet.iter().map(|r| r.processed).sum();
    assert!(processed <= q.packets && processed >= m.packets.delivered, "{processed} of {}", q.packets);
    assert_eq!(q.bytes, q.packets * 64, "64-byte frames");
    assert!(q.interrupts >= m.interrupts.per_vector[0].count, "MSIs sent ≥ handler runs (IRR merges)");
    let secs = m.duration_s;
    assert!((q.interrupts_per_s - q.interrupts as f64 / secs).abs() < 1e-6);
}
