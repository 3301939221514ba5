//! Every kind of bad input is reported at the right place: origin, line,
//! column, key path, and a message that says what was expected.

use irqlab_scenario::{Diagnostic, ErrorKind, ScenarioError, Setting, load_file, load_str, load_str_with, resolve};

fn load(src: &str) -> Result<irqlab_scenario::Scenario, ScenarioError> {
    load_str(src, "t.toml", &[])
}

fn load_set(src: &str, overrides: &[&str]) -> Result<irqlab_scenario::Scenario, ScenarioError> {
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    load_str(src, "t.toml", &overrides)
}

/// The only diagnostic of a failed load.
fn only(r: Result<irqlab_scenario::Scenario, ScenarioError>) -> Diagnostic {
    let e = r.expect_err("expected an error");
    assert_eq!(e.diagnostics().len(), 1, "expected one diagnostic, got:\n{e}");
    e.first().clone()
}

#[track_caller]
fn assert_at(
    d: &Diagnostic,
    kind: ErrorKind,
    origin: &str,
    line: Option<usize>,
    column: Option<usize>,
    key: Option<&str>,
) {
    assert_eq!(
        (d.kind, d.origin.as_str(), d.line, d.column, d.key.as_deref()),
        (kind, origin, line, column, key),
        "diagnostic: {d}"
    );
}

#[test]
fn wrong_type_names_key_and_value_position() {
    let d = only(load("name = \"x\"\n[nic]\nqueues = \"four\"\n"));
    assert_at(&d, ErrorKind::Schema, "t.toml", Some(3), Some(10), Some("nic.queues"));
    assert!(d.message.contains("invalid type: string \"four\", expected u32"), "{d}");
}

#[test]
fn unknown_key_names_the_key_its_line_and_the_allowed_keys() {
    let d = only(load("[nic]\nqueues = 4\nqueus = 4\n"));
    assert_eq!(d.kind, ErrorKind::Schema);
    assert_eq!((d.line, d.column), (Some(3), Some(1)), "{d}");
    assert!(d.message.contains("unknown field `queus`"), "{d}");
    assert!(d.message.contains("expected one of `queues`, `ring_size`"), "{d}");
    assert_eq!(d.key.as_deref(), Some("nic.queus"), "{d}");
}

#[test]
fn unknown_table_names_the_table_and_the_allowed_top_level_keys() {
    let d = only(load("seed = 7\n\n[nics]\nqueues = 4\n"));
    assert_eq!(d.kind, ErrorKind::Schema);
    assert_eq!((d.line, d.column), (Some(3), Some(2)), "{d}");
    assert!(d.message.contains("unknown field `nics`"), "{d}");
    assert!(d.message.contains("`machine`, `nic`, `kernel`, `driver`, `workload`"), "{d}");
}

#[test]
fn bad_enum_variant_lists_the_variants() {
    let d = only(load("[workload]\narrival = \"burst\"\n"));
    assert_at(&d, ErrorKind::Schema, "t.toml", Some(2), Some(11), Some("workload.arrival"));
    assert!(d.message.contains("unknown variant `burst`, expected one of `constant`, `poisson`, `onoff`"), "{d}");
}

#[test]
fn negative_rate_is_a_validation_error_at_the_value() {
    let d = only(load("[workload]\nrate_pps = -5\n"));
    assert_at(&d, ErrorKind::Invalid, "t.toml", Some(2), Some(12), Some("workload.rate_pps"));
    assert!(d.message.contains("expected a positive packet rate, got -5"), "{d}");
}

#[test]
fn zero_queues_is_a_validation_error_at_the_value() {
    let d = only(load("[nic]\nqueues = 0\n"));
    assert_at(&d, ErrorKind::Invalid, "t.toml", Some(2), Some(10), Some("nic.queues"));
    assert!(d.message.contains("expected 1..=2048 queues"), "{d}");
}

#[test]
fn negative_integer_into_unsigned_field_is_a_schema_error() {
    let d = only(load("[machine]\ncores = -2\n"));
    assert_at(&d, ErrorKind::Schema, "t.toml", Some(2), Some(9), Some("machine.cores"));
    assert!(d.message.contains("invalid value: integer `-2`, expected u32"), "{d}");
}

#[test]
fn malformed_ip_in_flow_list_is_located_in_its_array_element() {
    let src = "[workload]\n\
               [[workload.flow_list]]\n\
               src = \"10.0.0.1:5000\"\n\
               dst = \"10.0.0.2:80\"\n\
               [[workload.flow_list]]\n\
               src = \"10.0.0.300:80\"\n\
               dst = \"10.0.0.2:80\"\n";
    let d = only(load(src));
    assert_at(&d, ErrorKind::Invalid, "t.toml", Some(6), Some(7), Some("workload.flow_list[1].src"));
    assert!(d.message.contains("expected IP:PORT: invalid endpoint \"10.0.0.300:80\""), "{d}");
}

#[test]
fn inline_array_elements_are_located_too() {
    let d = only(load("[machine]\ncores = 2\n[nic]\nqueues = 4\naffinity = [0, 1, 5, 1]\n"));
    assert_at(&d, ErrorKind::Invalid, "t.toml", Some(5), Some(19), Some("nic.affinity[2]"));
}

#[test]
fn missing_required_field_in_array_of_tables_names_the_element() {
    let d = only(load("[[apps]]\ncore = 1\n[[apps]]\nwork_ns = 5.0\n"));
    assert_eq!(d.kind, ErrorKind::Schema);
    assert_eq!(d.key.as_deref(), Some("apps[1]"), "{d}");
    assert_eq!(d.line, Some(3), "{d}");
    assert!(d.message.contains("missing field `core`"), "{d}");
}

#[test]
fn toml_syntax_error_has_line_and_column() {
    let d = only(load("name = \"x\"\n[nic\nqueues = 4\n"));
    assert_eq!(d.kind, ErrorKind::Syntax);
    assert_eq!((d.origin.as_str(), d.line, d.key.as_deref()), ("t.toml", Some(2), None), "{d}");
    assert!(d.column.is_some(), "{d}");
    assert!(d.message.starts_with("invalid TOML: "), "{d}");
}

#[test]
fn a_key_left_at_its_default_is_located_at_its_table() {
    // packet_bytes_max keeps its default (1518), now below packet_bytes.
    let e = load("[workload]\npacket_size = \"uniform\"\npacket_bytes = 1600\nrate_pps = 1000\n").unwrap_err();
    let keys: Vec<_> = e.diagnostics().iter().map(|d| (d.key.as_deref(), d.line, d.column)).collect();
    assert_eq!(
        keys,
        [(Some("workload.packet_bytes_max"), Some(1), Some(1)), (Some("workload.packet_bytes"), Some(3), Some(16))],
        "{e}"
    );
    assert!(
        e.diagnostics()[0].message.ends_with("(workload.packet_bytes_max is not set, so its default applies)"),
        "{e}"
    );
    // The same with the table further down: located at its header, not at 1:1.
    let e = load("seed = 1\n\n[workload]\npacket_size = \"uniform\"\npacket_bytes = 1600\n").unwrap_err();
    let d = &e.diagnostics()[0];
    assert_eq!((d.key.as_deref(), d.line, d.column), (Some("workload.packet_bytes_max"), Some(3), Some(1)), "{e}");
}

#[test]
fn a_bad_frame_size_alone_is_blamed_on_itself() {
    // Without the guard, the line-rate check on 9000-byte frames blamed the
    // absent workload.rate_pps at 1:1.
    let d = only(load("[workload]\npacket_bytes = 9000\n"));
    assert_at(&d, ErrorKind::Invalid, "t.toml", Some(2), Some(16), Some("workload.packet_bytes"));
}

#[test]
fn a_problem_with_an_absent_key_is_located_at_its_table_or_nowhere() {
    // The default 2 Mpps of 1518-byte frames overflows 10 GbE; the file
    // sets neither the rate nor anything in [workload] but the frame size
    // through a dotted key at the root.
    let d = only(load("seed = 3\nworkload.packet_bytes = 1518\n"));
    assert_eq!(d.key.as_deref(), Some("workload.rate_pps"));
    assert_eq!(d.line, Some(2), "located at the workload table's key: {d}");
    assert!(d.message.contains("the default 2000000 pps") && d.message.contains("is not set"), "{d}");
    let d = only(load_set("", &["workload.packet_bytes=1518"]));
    assert_eq!((d.origin.as_str(), d.line, d.key.as_deref()), ("--set", None, Some("workload.rate_pps")), "{d}");
    let d = only(load("[tx]\ndoorbell_rate_per_s = 1e9\ndescriptors_per_doorbell = 64\n"));
    assert_at(&d, ErrorKind::Invalid, "t.toml", None, None, Some("duration_ms"));
}

#[test]
fn overrides_from_other_options_are_reported_against_them() {
    let o = [Setting::set("nic.queues=4"), Setting::from_option("--duration", "duration_ms=3600000.0")];
    let d = only(load_str_with("", "t.toml", &o));
    assert_at(&d, ErrorKind::Invalid, "--duration", None, None, Some("duration_ms"));
    assert!(d.to_string().starts_with("--duration: duration_ms: the run would offer"), "{d}");
    let d = only(load_str_with("", "t.toml", &[Setting::from_option("--seed", "seed=x y")]));
    assert_eq!((d.kind, d.origin.as_str()), (ErrorKind::Schema, "--seed"), "{d}");
}

#[test]
fn a_directory_is_not_a_scenario_file() {
    let tmp = tempfile::Builder::new().prefix("irqlab-scenario-dir-").tempdir().unwrap();
    let dir = tmp.path();
    let d = only(resolve(dir.to_str(), &[]));
    assert_eq!((d.kind, d.line), (ErrorKind::NotAFile, None), "{d}");
    assert!(d.message.starts_with("is a directory, not a scenario file"), "{d}");
    let d = only(load_file(dir, &[]));
    assert_eq!(d.kind, ErrorKind::NotAFile, "{d}");
}

#[test]
fn a_problem_with_no_place_in_the_file_has_no_line() {
    // An empty file with a zero-queue override: nothing in the file to point at.
    let d = only(load_set("", &["nic.queues=0"]));
    assert_at(&d, ErrorKind::Invalid, "--set", None, None, Some("nic.queues"));
}

#[test]
fn several_validation_errors_are_reported_together_in_source_order() {
    let src = "duration_ms = 0\n[nic]\nqueues = 0\nring_size = 0\n[workload]\nrate_pps = -5\n";
    let e = load(src).unwrap_err();
    let found: Vec<_> = e.diagnostics().iter().map(|d| (d.kind, d.key.clone().unwrap(), d.line.unwrap())).collect();
    let expected = [
        (ErrorKind::Invalid, "duration_ms".to_string(), 1),
        (ErrorKind::Invalid, "nic.queues".to_string(), 3),
        (ErrorKind::Invalid, "nic.ring_size".to_string(), 4),
        (ErrorKind::Invalid, "workload.rate_pps".to_string(), 6),
    ];
    assert_eq!(found, expected, "{e}");
    let text = e.to_string();
    assert_eq!(text.lines().count(), 4, "{text}");
    assert!(text.lines().next().unwrap().starts_with("t.toml:1:15: duration_ms: "), "{text}");
}

#[test]
fn override_without_equals_is_an_error_naming_the_override() {
    let e = load_set("", &["nic.queues"]).unwrap_err();
    let d = e.first();
    assert_at(d, ErrorKind::Override, "--set", None, None, None);
    assert!(d.message.contains("'nic.queues' has no '='"), "{d}");
    assert!(d.message.contains("expected KEY=VALUE"), "{d}");
}

#[test]
fn override_with_empty_or_malformed_key_is_an_error() {
    let d = only(load_set("", &["=4"]));
    assert_eq!(d.kind, ErrorKind::Override);
    assert!(d.message.contains("'=4' has an empty key"), "{d}");
    let d = only(load_set("", &["nic..queues=4"]));
    assert_eq!(d.kind, ErrorKind::Override);
    assert!(d.message.contains("'nic..queues=4'"), "{d}");
}

#[test]
fn override_of_wrong_type_is_reported_against_set_with_its_key() {
    let d = only(load_set("[nic]\nqueues = 4\n", &["nic.queues=zero"]));
    assert_at(&d, ErrorKind::Schema, "--set", None, None, Some("nic.queues"));
    assert!(d.message.contains("invalid type: string \"zero\", expected u32"), "{d}");
}

#[test]
fn override_of_unknown_key_is_reported_against_set() {
    let d = only(load_set("", &["nic.queus=4"]));
    assert_eq!((d.kind, d.origin.as_str()), (ErrorKind::Schema, "--set"));
    assert!(d.message.contains("unknown field `queus`"), "{d}");
}

#[test]
fn override_fixes_an_invalid_file() {
    let src = "[nic]\nqueues = 0\n";
    assert!(load(src).is_err());
    let s = load_set(src, &["nic.queues=2"]).unwrap();
    assert_eq!(s.nic.queues, 2);
}

#[test]
fn override_values_are_toml_or_bare_strings_and_create_tables() {
    let s = load_set(
        "",
        &[
            "nic.affinity=[0,1,1,0]",
            "nic.coalesce.rx_usecs=8",
            "workload.arrival=constant",
            "workload.rate_gbps=2.5",
            "seed=42",
            "name=\"quoted\"",
            "description = spaced words ",
        ],
    )
    .unwrap();
    assert_eq!(s.nic.affinity, Some(vec![0, 1, 1, 0]));
    assert_eq!(s.nic.coalesce.rx_usecs, 8);
    assert_eq!(s.workload.arrival, irqlab_model::config::ArrivalKind::Constant);
    assert_eq!(s.workload.rate_gbps, Some(2.5));
    assert_eq!(s.seed, 42);
    assert_eq!(s.name, "quoted");
    assert_eq!(s.description, "spaced words");
}

#[test]
fn later_overrides_win() {
    let s = load_set("", &["seed=1", "seed=2"]).unwrap();
    assert_eq!(s.seed, 2);
}

#[test]
fn override_can_index_arrays_of_tables() {
    let src = "[[apps]]\ncore = 0\n[[apps]]\ncore = 1\n";
    let s = load_set(src, &["apps[1].core=3", "apps[0].work_ns=100"]).unwrap();
    assert_eq!((s.apps[0].core, s.apps[0].work_ns, s.apps[1].core), (0, 100.0, 3));
}

#[test]
fn override_index_out_of_range_is_an_error() {
    let d = only(load_set("[[apps]]\ncore = 0\n", &["apps[1].core=3"]));
    assert_at(&d, ErrorKind::Override, "--set", None, None, None);
    assert!(d.message.contains("index 1 is out of range: apps has 1 element"), "{d}");
}

#[test]
fn override_index_into_an_absent_array_is_out_of_range() {
    let d = only(load_set("", &["apps[0].core=3"]));
    assert_eq!(d.kind, ErrorKind::Override);
    assert!(d.message.contains("index 0 is out of range: apps has 0 elements"), "{d}");
}

#[test]
fn override_through_a_non_table_is_an_error() {
    let d = only(load_set("seed = 3\n", &["seed.x=1"]));
    assert_eq!(d.kind, ErrorKind::Override);
    assert!(d.message.contains("seed is an integer, not a table"), "{d}");
}

#[test]
fn validation_error_from_an_override_is_reported_against_set() {
    let e = load_set("[nic]\nqueues = 4\n[workload]\nrate_pps = -1\n", &["nic.queues=0"]).unwrap_err();
    let found: Vec<_> = e.diagnostics().iter().map(|d| (d.origin.as_str(), d.line, d.key.as_deref())).collect();
    assert_eq!(found, [("t.toml", Some(4), Some("workload.rate_pps")), ("--set", None, Some("nic.queues"))], "{e}");
}

#[test]
fn display_is_file_line_col_key_message() {
    let e = load("[nic]\nqueues = 0\n").unwrap_err();
    assert_eq!(e.to_string(), "t.toml:2:10: nic.queues: expected 1..=2048 queues (one MSI-X vector each), got 0");
}

#[test]
fn unknown_scenario_name_lists_the_builtins() {
    let d = only(resolve(Some("no-such-scenario"), &[]));
    assert_eq!((d.kind, d.origin.as_str()), (ErrorKind::UnknownScenario, "no-such-scenario"));
    assert!(d.message.contains("default, line-rate-10g, low-load, overload, affinity-2cores, imix-onoff"), "{d}");
}

#[test]
fn missing_toml_file_is_an_io_error_naming_the_file() {
    let d = only(resolve(Some("/nonexistent/dir/x.toml"), &[]));
    assert_at(&d, ErrorKind::Io, "/nonexistent/dir/x.toml", None, None, None);
}

#[test]
fn files_are_loaded_and_errors_name_the_path() {
    let tmp = tempfile::Builder::new().prefix("irqlab-scenario-test-").tempdir().unwrap();
    let dir = tmp.path();
    let good = dir.join("good.toml");
    std::fs::write(&good, "seed = 9\n").unwrap();
    assert_eq!(resolve(Some(good.to_str().unwrap()), &[]).unwrap().seed, 9);
    // A file is found by existence too, whatever its extension.
    let plain = dir.join("plain");
    std::fs::write(&plain, "seed = 10\n").unwrap();
    assert_eq!(resolve(Some(plain.to_str().unwrap()), &[]).unwrap().seed, 10);

    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "seed = 1\n[nic]\nqueues = 0\n").unwrap();
    let d = only(load_file(&bad, &[]));
    assert_at(&d, ErrorKind::Invalid, bad.to_str().unwrap(), Some(3), Some(10), Some("nic.queues"));

    let binary = dir.join("binary.toml");
    std::fs::write(&binary, b"seed = 1\nname = \"\xff\"\n").unwrap();
    let d = only(load_file(&binary, &[]));
    // TOML is UTF-8: other bytes are a syntax error (bad input), not an I/O one.
    assert_at(&d, ErrorKind::Syntax, binary.to_str().unwrap(), Some(2), Some(9), None);
}

#[test]
fn non_string_enum_value_says_a_string_was_expected() {
    let d = only(load("[workload]\narrival = 3\n"));
    assert_at(&d, ErrorKind::Schema, "t.toml", Some(2), Some(11), Some("workload.arrival"));
    assert_eq!(d.message, "expected a string naming one of the variants, got 3");
}

#[test]
fn messages_speak_of_tables_and_arrays_not_rust_types() {
    let d = only(load("nic = 3\n"));
    assert_at(&d, ErrorKind::Schema, "t.toml", Some(1), Some(7), Some("nic"));
    assert_eq!(d.message, "invalid type: integer `3`, expected a table");
    let d = only(load("apps = 3\n"));
    assert_eq!(d.message, "invalid type: integer `3`, expected an array");
}

#[test]
fn values_beyond_what_hardware_allows_are_named_by_key() {
    for (set, key, needle) in [
        (&["kernel.recv_batch=4294967295"][..], "kernel.recv_batch", "expected 1..=4096"),
        (&["nic.coalesce.rx_frames=100000000"], "nic.coalesce.rx_frames", "at most nic.ring_size"),
        (&["duration_ms=1e-12"], "duration_ms", "at least 1 µs"),
        (&["nic.ring_size=65536"], "nic.ring_size", "expected 1..=8192 descriptors"),
        (&["nic.coalesce.rx_usecs=100000"], "nic.coalesce.rx_usecs", "i40e/ice 8160"),
        (&["costs.syscall_ns=1e12"], "costs.syscall_ns", "at most one second"),
        (&["duration_ms=3600000"], "duration_ms", "above the limit of 1e9"),
    ] {
        let d = only(load_set("", set));
        assert_at(&d, ErrorKind::Invalid, "--set", None, None, Some(key));
        assert!(d.message.contains(needle), "{set:?}: {d}");
    }
    // Each out-of-range value once, and no derived load error from them.
    let e = load_set("", &["nic.line_rate_gbps=1e30", "workload.rate_pps=1e25"]).unwrap_err();
    let keys: Vec<_> = e.diagnostics().iter().map(|d| d.key.as_deref()).collect();
    assert_eq!(keys, [Some("nic.line_rate_gbps"), Some("workload.rate_pps")], "{e}");
}

#[test]
fn bursts_denser_than_the_line_rate_are_located_at_on_us() {
    let src = "[workload]\narrival = \"onoff\"\nrate_pps = 1e6\non_us = 1\noff_us = 99\n";
    let d = only(load(src));
    assert_at(&d, ErrorKind::Invalid, "t.toml", Some(4), Some(9), Some("workload.on_us"));
    assert!(d.message.contains("within a burst, above nic.line_rate_gbps = 10"), "{d}");
}

/// Two VMs sharing cores 0 and 1, posted interrupts; `extra` is appended
/// to the `[[vms]]` entry.
fn two_vms(extra: &str) -> String {
    format!(
        "[machine]\ncores = 3\n[nic]\nqueues = 2\n[iommu]\nmode = \"strict\"\ninterrupt_remapping = true\n[vm]\ncores = [0, 1]\napic = \"posted\"\n[[vms]]\ncores = [0, 1]\napic = \"posted\"\n{extra}"
    )
}

#[test]
fn a_further_vms_own_rate_and_its_affinity_are_checked_at_their_values() {
    assert!(
        load(&two_vms("rate_pps = 50_000.0\nflows = 4\nvcpu_affinity = \"floating\"\nallowed_cores = [0, 1, 2]\n"))
            .is_ok()
    );
    let d = only(load(&two_vms("rate_pps = -5.0\n")));
    assert_at(&d, ErrorKind::Invalid, "t.toml", Some(14), Some(12), Some("vms[0].rate_pps"));
    let d = only(load(&two_vms("vcpu_affinity = \"float\"\n")));
    assert_eq!((d.kind, d.key.as_deref()), (ErrorKind::Schema, Some("vms[0].vcpu_affinity")), "{d}");
    assert!(d.message.contains("`pinned`") && d.message.contains("`floating`"), "{d}");
    let d = only(load(&two_vms("vcpu_affinity = \"floating\"\nallowed_cores = [1, 2]\n")));
    assert_eq!(d.key.as_deref(), Some("vms[0].allowed_cores"), "{d}");
    assert!(d.message.contains("core 0"), "{d}");
}

#[test]
fn a_cpu_beyond_a_vms_vcpus_is_named_as_a_vcpu_not_a_host_core() {
    // vm-assigned: 4 host cores, a VM with 2 vCPUs; kernel tables name vCPUs.
    let vm = irqlab_scenario::builtin("vm-assigned").expect("a built-in").toml;
    let guest = load_set(vm, &["kernel.rps_cpus=f0"]).unwrap_err().to_string();
    assert!(guest.contains("CPU 4 does not exist (the VM has 2 vCPUs"), "{guest}");
    let host = load_set("[machine]\ncores = 2\n", &["kernel.rps_cpus=f0"]).unwrap_err().to_string();
    assert!(host.contains("core 4 does not exist (machine.cores = 2)"), "{host}");
}
