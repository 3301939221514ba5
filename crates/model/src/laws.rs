//! The conservation laws every run ends with (design brief §9).
//!
//! Each law compares counts kept at different places, so that a lost or
//! miscounted packet, message or IPI shows up as a disagreement.

use crate::metrics::{PacketCounts, Parts};
use irqlab_engine::{Law, LawViolation};

/// Checks every law of a finished run; returns the ones that failed.
pub fn check(p: &Parts) -> Vec<LawViolation> {
    let k = p.kernel;
    let pc = PacketCounts::of(p.nic, k);
    let nic = &p.nic.stats;
    let ps = &p.platform.stats;
    let mut laws = vec![
        Law::new("packets", "offered", pc.offered)
            .part("delivered", pc.delivered)
            .part("dropped.rx_ring_full", pc.ring_full)
            .part("dropped.socket_full", pc.socket_full)
            .part("dropped.no_socket", pc.no_socket)
            .part("dropped.backlog_full", pc.backlog_full)
            .part("in_flight", pc.in_flight()),
        Law::new("msix notifies", "raised + released", nic.msix.raised + nic.msix.released)
            .part("sent", nic.msix.sent)
            .part("pending_set", nic.msix.pending_set)
            .part("pending_coalesced", nic.msix.pending_coalesced)
            .part("no_entry", nic.msix.no_entry),
        Law::new("messages", "arrived", ps.msi.arrived)
            .part("accepted", ps.msi.accepted)
            .part("irr_coalesced", ps.msi.irr_coalesced)
            .part("illegal_vector", ps.msi.illegal_vector)
            .part("blocked_decode", ps.msi.blocked_decode)
            .part("blocked_no_apic", ps.msi.blocked_no_apic)
            .part("apic_disabled", ps.msi.apic_disabled),
    ];
    let taken: u64 = k.stats.interrupts_per_cpu.iter().sum();
    laws.push(
        Law::new("apic", "accepted", ps.msi.accepted + ps.ipis.accepted)
            .part("taken", taken)
            .part("still_in_irr", p.platform.irr_bits()),
    );
    for d in p.devices {
        laws.push(
            Law::new(&format!("device {} events", d.cfg.name), "events", d.counts.events)
                .part("serviced", d.counts.serviced)
                .part("coalesced", d.counts.coalesced)
                .part("pending", d.cause as u64),
        );
    }
    laws.iter().filter_map(|l| l.check().err()).collect()
}
