//! `irqlab audit`: each check fires on the misconfiguration it names, its
//! fix makes the difference it should in a simulated run, and the fixed
//! scenario passes the check.

use irqlab_scenario::audit::{AuditReport, audit};

fn audit_with(sets: &[&str]) -> AuditReport {
    let base: Vec<String> = sets.iter().map(|s| s.to_string()).chain(["duration_ms=20".to_string()]).collect();
    let load = |fix: &[String]| {
        let all: Vec<String> = base.iter().chain(fix).cloned().collect();
        irqlab_scenario::load_str("", "t.toml", &all).map_err(|e| e.to_string())
    };
    audit(&load).unwrap_or_else(|e| panic!("{e}"))
}

/// The finding `check` of `r`, its fix applied to `sets`, audited again: it passes.
fn fixed(sets: &[&str], r: &AuditReport, check: &str) -> AuditReport {
    let f = r.findings.iter().find(|f| f.check == check).unwrap_or_else(|| panic!("{check} fires: {r:#?}"));
    let mut all: Vec<&str> = sets.to_vec();
    all.extend(f.fix.iter().map(String::as_str));
    let again = audit_with(&all);
    assert!(again.passed.contains(&check), "after its fix {check} passes: {again:#?}");
    again
}

const COALESCED: [&str; 2] = ["nic.coalesce.rx_usecs=20", "nic.coalesce.rx_frames=0"];

#[test]
fn a_well_set_machine_passes_every_check() {
    let r = audit_with(&COALESCED);
    assert!(r.findings.is_empty(), "{r:#?}");
    assert_eq!(r.passed.len(), irqlab_scenario::audit::CHECKS.len());
}

#[test]
fn all_irqs_on_one_core_are_found_and_spreading_them_helps() {
    let sets = [COALESCED[0], COALESCED[1], "nic.affinity=[0,0,0,0]", "workload.rate_pps=3e6"];
    let r = audit_with(&sets);
    let f = r.findings.iter().find(|f| f.check == "irqs_on_one_core").expect("fires");
    assert_eq!(f.fix, ["nic.affinity=[0,1,2,3]"]);
    let after = f.after.as_ref().unwrap();
    assert!(after.busiest_core_busy < r.before.busiest_core_busy, "{r:#?}");
    assert!(after.dropped_pct <= r.before.dropped_pct);
    fixed(&sets, &r, "irqs_on_one_core");
}

#[test]
fn irqs_on_the_other_node_cost_cross_socket_reads_and_moving_them_saves_them() {
    let sets = [
        COALESCED[0],
        COALESCED[1],
        "machine.cores=8",
        "machine.sockets=2",
        "nic.numa_node=1",
        "nic.affinity=[0,1,2,3]",
    ];
    let r = audit_with(&sets);
    let f = r.findings.iter().find(|f| f.check == "irqs_off_nic_node").expect("fires");
    assert_eq!(f.fix, ["nic.affinity=[4,5,6,7]"]);
    assert!(f.evidence.contains("4 of 4 queue IRQs"), "{}", f.evidence);
    assert!(f.after.as_ref().unwrap().busiest_core_busy < r.before.busiest_core_busy);
    fixed(&sets, &r, "irqs_off_nic_node");
}

#[test]
fn rps_rfs_and_coalescing_mistakes_are_found_and_fixed() {
    let sets = ["kernel.rps_cpus=f", "kernel.rfs=true", "kernel.rps_sock_flow_entries=0"];
    let r = audit_with(&sets);
    let names: Vec<&str> = r.findings.iter().map(|f| f.check).collect();
    // (The RPS IPIs also saturate a CPU: softirq_saturated fires as well.)
    assert_eq!(names[..3], ["rps_with_a_queue_per_core", "rfs_without_flow_table", "coalescing_off_at_high_rate"]);
    let coal = &r.findings[2];
    assert!(coal.after.as_ref().unwrap().interrupts_per_s * 5.0 < r.before.interrupts_per_s, "{r:#?}");
    // Dropping RPS frees the cores or, where the readers (paying recvmsg as
    // sourced) keep every core busy either way, delivers more.
    let rps = &r.findings[0];
    let after = rps.after.as_ref().unwrap();
    assert!(
        after.busiest_core_busy < r.before.busiest_core_busy || after.delivered_pps > r.before.delivered_pps,
        "{r:#?}"
    );
    for check in &names[..3] {
        fixed(&sets, &r, check);
    }
}

#[test]
fn a_saturated_single_queue_gets_more_queues_and_a_saturated_machine_no_fix() {
    let sets = ["nic.queues=1", "workload.rate_pps=3e6"];
    let r = audit_with(&sets);
    let f = r.findings.iter().find(|f| f.check == "softirq_saturated").expect("fires");
    assert_eq!(f.fix, ["nic.queues=4", "nic.affinity=[0,1,2,3]"]);
    assert!(f.after.as_ref().unwrap().dropped_pct < r.before.dropped_pct);
    // Two cores at 6 Mpps: nothing to move work to.
    let r = audit_with(&["machine.cores=2", "nic.queues=2", "workload.rate_pps=6e6"]);
    let f = r.findings.iter().find(|f| f.check == "softirq_saturated").expect("fires");
    assert!(f.fix.is_empty() && f.after.is_none() && f.fix_note.contains("more cores"), "{f:#?}");
}
