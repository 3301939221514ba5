//! The built-in scenarios load, validate, and say what their names promise.

use irqlab_model::Scenario;
use irqlab_model::config::{ArrivalKind, PacketSizeKind};
use irqlab_scenario::{ErrorKind, builtin, builtins, resolve};

fn load(name: &str) -> Scenario {
    builtin(name).unwrap_or_else(|| panic!("no built-in {name}")).load(&[]).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_builtin_loads_validates_and_is_named_after_itself() {
    assert!(!builtins().is_empty());
    for b in builtins() {
        let s = b.load(&[]).unwrap_or_else(|e| panic!("built-in {} does not load:\n{e}", b.name));
        assert_eq!(s.validate(), vec![], "built-in {}", b.name);
        assert_eq!(s.name, b.name, "the file's name field must match the built-in's name");
        assert!(!s.description.is_empty(), "built-in {} has no description", b.name);
        assert_eq!(b.description(), s.description);
        assert!(b.toml.lines().any(|l| l.starts_with('#')), "built-in {} is not commented", b.name);
    }
}

#[test]
fn builtin_names_are_unique_and_the_expected_set() {
    let names: Vec<&str> = builtins().iter().map(|b| b.name).collect();
    assert_eq!(
        names,
        [
            "default",
            "line-rate-10g",
            "low-load",
            "overload",
            "affinity-2cores",
            "imix-onoff",
            "rogue-device",
            "zero-copy",
            "vm-assigned",
            "two-vms",
            "container-vfio"
        ]
    );
}

/// The default built-in is the model's defaults with one change: adaptive
/// interrupt moderation, as mlx5 ships it (net_dim with `adaptive-rx on`),
/// so that `irqlab run` shows a receive path as a real driver sets it up.
#[test]
fn default_builtin_is_the_model_default_with_adaptive_moderation() {
    let s = load("default");
    let mut d = Scenario::default();
    assert_eq!(s.name, d.name);
    assert!(s.nic.coalesce.adaptive_rx, "the default scenario moderates its interrupts");
    assert!(!d.nic.coalesce.adaptive_rx, "a scenario file that says nothing has coalescing off");
    d.nic.coalesce.adaptive_rx = true;
    assert_eq!(Scenario { description: d.description.clone(), ..s }, d);
}

#[test]
fn no_argument_resolves_to_the_default_builtin() {
    assert_eq!(resolve(None, &[]).unwrap(), load("default"));
}

#[test]
fn line_rate_10g_is_64_byte_frames_at_10g_line_rate() {
    let s = load("line-rate-10g");
    assert_eq!(s.workload.rate_pps, Some(14_880_952.0));
    assert_eq!(s.workload.packet_size, PacketSizeKind::Fixed);
    assert_eq!(s.workload.packet_bytes, 64);
    assert_eq!(s.workload.arrival, ArrivalKind::Constant);
    assert_eq!(s.nic.line_rate_gbps, 10.0);
    assert_eq!((s.nic.queues, s.machine.cores), (4, 4));
    assert_eq!(s.duration_ms, 20.0);
}

#[test]
fn low_load_is_50_kpps_poisson() {
    let s = load("low-load");
    assert_eq!(s.workload.offered_pps(), 50_000.0);
    assert_eq!(s.workload.arrival, ArrivalKind::Poisson);
    assert_eq!((s.nic.queues, s.machine.cores), (4, 4));
    assert_eq!(s.duration_ms, 100.0);
    // No coalescing: one interrupt per packet when the queue is idle.
    assert_eq!((s.nic.coalesce.rx_usecs, s.nic.coalesce.rx_frames), (0, 1));
}

#[test]
fn overload_offers_6_mpps_to_2_cores() {
    let s = load("overload");
    assert_eq!(s.workload.offered_pps(), 6_000_000.0);
    assert_eq!((s.nic.queues, s.machine.cores), (2, 2));
    // Per-packet stack cost alone exceeds the time between a core's packets.
    let ns_between_packets_per_core = 1e9 / (s.workload.offered_pps() / s.machine.cores as f64);
    assert!(s.costs.rx_driver_per_packet_ns + s.costs.rx_protocol_per_packet_ns > ns_between_packets_per_core);
}

#[test]
fn affinity_2cores_spreads_4_queues_over_2_cores() {
    let s = load("affinity-2cores");
    assert_eq!((s.nic.queues, s.machine.cores), (4, 2));
    assert_eq!(s.nic.affinity, Some(vec![0, 1, 0, 1]));
}

#[test]
fn imix_onoff_is_imix_bursts_at_5_gbps() {
    let s = load("imix-onoff");
    assert_eq!(s.workload.packet_size, PacketSizeKind::Imix);
    assert_eq!(s.workload.arrival, ArrivalKind::Onoff);
    assert_eq!(s.workload.rate_gbps, Some(5.0));
    assert_eq!(s.workload.rate_pps, None);
}

#[test]
fn overrides_apply_to_builtins_and_errors_name_the_builtin() {
    let s = builtin("overload").unwrap().load(&["machine.cores=4".into(), "nic.queues=4".into()]).unwrap();
    assert_eq!((s.nic.queues, s.machine.cores), (4, 4));
    let e = builtin("affinity-2cores").unwrap().load(&["nic.queues=2".into()]).unwrap_err();
    let d = e.first();
    assert_eq!(d.kind, ErrorKind::Invalid);
    assert_eq!(d.origin, "<builtin:affinity-2cores>");
    assert_eq!(d.key.as_deref(), Some("nic.affinity"));
    assert_eq!(d.line, Some(19)); // `affinity = [0, 1, 0, 1]`
}

#[test]
fn the_rogue_device_is_refused_with_the_reasons_the_hardware_records() {
    let m = irqlab_model::run(&load("rogue-device")).expect("valid");
    assert!(m.law_violations.is_empty(), "{:?}", m.law_violations);
    assert_eq!(m.dma.unprotected_writes, 0, "strict remapping lets no rogue write land");
    let u = m.iommu.as_ref().expect("an IOMMU");
    let scribbler = &m.attackers[0];
    assert_eq!(scribbler.dma_blocked, scribbler.attempts);
    let forger = m.attackers[1].msi.as_ref().expect("an msi attacker");
    assert_eq!((forger.accepted, forger.blocked_remapping), (0, forger.arrived));
    assert_eq!(u.unit.faults["source_id_failed"], forger.arrived);
    // The first record is the scribbler's first write: a write (T = 0) to
    // kernel memory's first page by 20:00.0, fault reason 0x5, F set.
    assert_eq!(u.first_fault_records[0], "0x80000005000020000000000000100000");
}
