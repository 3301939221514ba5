//! The `irqlab` binary as a user meets it: exit codes, output, errors.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn irqlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_irqlab")).args(args).output().expect("binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(args: &[&str]) -> serde_json::Value {
    let o = irqlab(args);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    serde_json::from_slice(&o.stdout).expect("valid JSON")
}

/// A scratch directory for one test, `irqlab-cli-{what}-*` in the system's
/// temporary directory, deleted when the guard drops: hold it until the
/// binary has run on its files and the assertions are done.
fn scratch_dir(what: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(&format!("irqlab-cli-{what}-")).tempdir().unwrap()
}

/// Writes `text` to the file `name` in `dir`; returns its path.
fn scratch(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.path().join(name);
    std::fs::File::create(&p).unwrap().write_all(text.as_bytes()).unwrap();
    p
}

#[test]
fn run_without_arguments_prints_the_default_summary() {
    let o = irqlab(&["run", "--duration", "10ms"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("irqlab run: default (seed 1)"), "{out}");
    assert!(out.contains("every packet and interrupt accounted for"), "{out}");
    assert!(out.contains("\nnapi ") && out.contains(" polls, "), "{out}");
    // Without NAPI the softirq polls the backlog, and the summary says so.
    let out = stdout(&irqlab(&["run", "--duration", "10ms", "--set", "kernel.napi=false"]));
    assert!(out.contains("\nno napi ") && out.contains(" backlog polls, ") && !out.contains("\nnapi "), "{out}");
}

#[test]
fn json_has_the_brief_keys_and_balances_packets() {
    let v = json(&["run", "--duration", "10ms", "--json", "-"]);
    for key in ["offered", "delivered", "dropped", "in_flight"] {
        assert!(v["packets"].get(key).is_some(), "packets.{key}");
    }
    for key in ["delivered_pps", "delivered_gbps"] {
        assert!(v["throughput"][key].is_number(), "throughput.{key}");
    }
    for key in ["p50", "p90", "p99", "p999", "max", "mean"] {
        assert!(v["latency_ns"][key].is_number(), "latency_ns.{key}");
    }
    let core0 = &v["cpu"][0];
    assert_eq!(core0["core"], 0);
    for key in ["hardirq", "softirq", "kthread", "user", "guest", "idle"] {
        assert!(core0["busy_frac"][key].is_number(), "busy_frac.{key}");
    }
    assert!(v["interrupts"]["total"].as_u64().unwrap() > 0);
    assert!(v["ipis"]["total"].is_u64());
    let p = &v["packets"];
    let dropped: u64 = p["dropped"].as_object().unwrap().values().map(|x| x.as_u64().unwrap()).sum();
    assert_eq!(
        p["offered"].as_u64().unwrap(),
        p["delivered"].as_u64().unwrap() + dropped + p["in_flight"].as_u64().unwrap()
    );
}

#[test]
fn same_seed_is_byte_identical_and_another_seed_differs() {
    let a = irqlab(&["run", "overload", "--duration", "5ms", "--json", "-"]);
    let b = irqlab(&["run", "overload", "--duration", "5ms", "--json", "-"]);
    let c = irqlab(&["run", "overload", "--duration", "5ms", "--seed", "9", "--json", "-"]);
    assert_eq!(a.stdout, b.stdout);
    assert_ne!(a.stdout, c.stdout);
}

#[test]
fn overload_reports_drops_by_reason() {
    let v = json(&["run", "overload", "--duration", "10ms", "--json", "-"]);
    assert!(v["packets"]["dropped"]["rx_ring_full"].as_u64().unwrap() > 0);
    assert_eq!(v["law_violations"].as_array().unwrap().len(), 0);
}

#[test]
fn scenarios_lists_every_builtin() {
    let out = stdout(&irqlab(&["scenarios"]));
    for name in ["default", "line-rate-10g", "low-load", "overload", "affinity-2cores", "imix-onoff"] {
        assert!(out.lines().any(|l| l.starts_with(name)), "{name} missing from:\n{out}");
    }
}

#[test]
fn bad_scenario_files_exit_2_with_file_line_column_and_key() {
    let cases = [
        ("wrong-type.toml", "[nic]\nqueues = \"four\"\n", ":2:10: nic.queues:"),
        ("unknown-key.toml", "[nic]\nqueus = 4\n", ":2:1: nic.queus: unknown field"),
        ("negative-rate.toml", "[workload]\nrate_pps = -5\n", ":2:12: workload.rate_pps:"),
        ("zero-queues.toml", "[nic]\nqueues = 0\n", ":2:10: nic.queues:"),
        (
            "bad-ip.toml",
            "[workload]\nflow_list = [{ src = \"10.0.0.300:80\", dst = \"10.0.0.1:9\" }]\n",
            "workload.flow_list[0].src",
        ),
    ];
    let tmp = scratch_dir("test");
    for (name, text, want) in cases {
        let p = scratch(&tmp, name, text);
        let o = irqlab(&["run", p.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains(name) && err.contains(want), "{name}: expected '{want}' in:\n{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn errors_show_the_line_with_a_caret_and_suggest_the_closest_key() {
    let tmp = scratch_dir("test");
    let p = scratch(&tmp, "typo.toml", "seed = 3\n[nic]\n  queus = 4\n");
    let o = irqlab(&["run", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().collect();
    // The first line keeps its FILE:LINE:COL: KEY: MESSAGE form.
    assert!(lines[0].starts_with("error: ") && lines[0].contains("typo.toml:3:3: nic.queus: unknown field"), "{err}");
    assert_eq!(lines[1..], ["  |", "3 |   queus = 4", "  |   ^^^^^", "  = help: did you mean `queues`?"], "{err}");

    let o = irqlab(&["run", "--set", "workload.arival=poisson"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.starts_with("error: --set: workload.arival: unknown field"), "{err}");
    assert!(err.ends_with("\n  = help: did you mean `arrival`?\n"), "{err}");
    // Nothing close: no hint rather than a wild guess.
    let o = irqlab(&["run", "--set", "nic.zzzzzzzz=1"]);
    assert!(!stderr(&o).contains("did you mean"), "{}", stderr(&o));
}

#[test]
fn bad_cli_values_exit_2() {
    for args in [
        &["run", "--seed", "abc"][..],
        &["run", "--duration", "-1ms"],
        &["run", "--set", "nic.queues=0"],
        &["run", "--set", "nic.queues"],
        &["run", "no-such-scenario"],
        &["rss", "--src", "1.2.3.4:5", "--dst", "nonsense"],
        &["decode", "msi", "--address", "0xzz", "--data", "0"],
        &["decode", "msix-entry", "0011"],
        &["decode", "irte", "0x12g4"],
        &["decode", "vtd-fault", "1_2_3"],
        &["decode", "sl-pte", "1", "--level", "9"],
        &["bench", "--repeat", "0"],
    ] {
        let o = irqlab(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{args:?}");
    }
}

#[test]
fn rss_prints_the_microsoft_verification_hash() {
    let o = irqlab(&["rss", "--src", "66.9.149.187:2794", "--dst", "161.142.100.80:1766"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o).lines().next(), Some("hash: 0x51ccc178"));
    let o = irqlab(&["rss", "--src", "66.9.149.187", "--dst", "161.142.100.80"]);
    assert_eq!(stdout(&o).lines().next(), Some("hash: 0x323e8fc2"));
}

#[test]
fn decode_msi_names_every_field() {
    let o = irqlab(&["decode", "msi", "--address", "0xfee01000", "--data", "0x4031"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("destination_id") && out.contains("vector"), "{out}");
    let v = json(&["decode", "msi", "--address", "0xfee01000", "--data", "0x4031", "--json"]);
    assert_eq!(v["destination_id"], 1);
    assert_eq!(v["vector"], 0x31);
}

#[test]
fn bench_reports_speed_figures() {
    let v = json(&["bench", "default", "--duration", "2ms", "--repeat", "2", "--json"]);
    let cases = v["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 1);
    let c = &cases[0];
    assert_eq!(c["scenario"], "default");
    assert_eq!(c["cpu_s_runs"].as_array().unwrap().len(), 2);
    let delivered = c["delivered"].as_u64().unwrap();
    assert!(delivered > 1000, "2 ms at 2 Mpps: {c}");
    assert!(c["offered"].as_u64().unwrap() >= delivered);
    let cpu = c["cpu_s"].as_f64().unwrap();
    assert!(cpu > 0.0);
    let setup = c["setup_s"].as_f64().unwrap();
    assert!(setup > 0.0 && setup <= cpu, "start-up is part of the run's CPU time: {c}");
    assert!(
        (c["delivered_per_cpu_s"].as_f64().unwrap() - delivered as f64 / cpu).abs() < 1e-6 * delivered as f64 / cpu
    );
    assert!(c["peak_rss_bytes"].as_u64().unwrap() > 1 << 20, "a process takes more than a MiB: {c}");
    assert!(v["machine"]["cpu_model"].is_string() && v["machine"]["cpu_detail"].is_string());
}

#[test]
fn bench_runs_the_standard_suite_and_compares_its_cases() {
    let v = json(&["bench", "--duration", "1ms", "--repeat", "1", "--json"]);
    let names: Vec<&str> = v["cases"].as_array().unwrap().iter().map(|c| c["case"].as_str().unwrap()).collect();
    for want in [
        "default",
        "default-irq",
        "line-rate",
        "line-rate-irq",
        "line-rate-overload",
        "low-load",
        "cores-64",
        "cores-64-irq",
        "flows-1m",
        "flows-4k",
        "vm",
    ] {
        assert!(names.contains(&want), "{names:?}");
    }
    let line_rate = v["cases"].as_array().unwrap().iter().find(|c| c["case"] == "line-rate").unwrap();
    assert_eq!(line_rate["set"][0], "machine.cores=32");
    assert_eq!(line_rate["set"][2], "nic.coalesce.adaptive_rx=true", "line rate as drivers run it");
    let comparisons: Vec<&str> =
        v["comparisons"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert!(
        comparisons.contains(&"cores_64_vs_4_cost_per_packet")
            && comparisons.contains(&"cores_64_vs_4_cost_per_packet_without_moderation")
            && comparisons.contains(&"flows_1m_vs_64_cost_per_packet")
            && comparisons.contains(&"flows_1m_vs_4k_cost_per_packet")
    );
    // One case by its name runs with the case's settings.
    let one = json(&["bench", "cores-64", "--duration", "1ms", "--repeat", "1", "--json"]);
    let cases = one["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0]["case"], "cores-64");
    assert_eq!(cases[0]["set"][0], "machine.cores=64");
    // An unknown name lists the suite's cases beside the scenarios.
    let o = irqlab(&["bench", "cores-65", "--repeat", "1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("line-rate-10g") && stderr(&o).contains("cores-64"), "{}", stderr(&o));
    let o = irqlab(&["bench", "default", "--repeat", "1", "--set", "nic.queues=0"]);
    assert!(stderr(&o).contains("nic.queues") && !stderr(&o).contains("bench suite"), "{}", stderr(&o));
    // A bad setting fails before any run, naming the key.
    let o = irqlab(&["bench", "--repeat", "1", "--set", "nic.queues=0"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("nic.queues"), "{}", stderr(&o));
}

#[test]
fn experiments_list_and_run_with_computed_findings() {
    let out = stdout(&irqlab(&["experiment", "list"]));
    assert!(out.contains("eoi-order") && out.contains("msix-vs-legacy"), "{out}");
    let v = json(&["experiment", "run", "eoi-order", "--quick", "--json", "-"]);
    assert_eq!(v["experiment"], "eoi-order");
    assert_eq!(v["base"]["duration_ms"], 250.0, "the base names the settings every variant shares");
    let variants = v["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 10);
    for var in variants {
        assert!(var["params"]["driver.level_eoi"].is_string());
        assert_eq!(var["metrics"]["law_violations"].as_array().unwrap().len(), 0);
    }
    let findings = v["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    assert!(findings.iter().all(|f| f["holds"] == true), "{findings:#?}");
    let o = irqlab(&["experiment", "run", "no-such-experiment"]);
    assert_eq!(o.status.code(), Some(2));
}

/// Every experiment, quick: its findings hold, computed from the data, and
/// every variant's run balances its accounting laws.
#[test]
fn every_experiment_runs_quick_with_findings_that_hold() {
    let list = stdout(&irqlab(&["experiment", "list"]));
    let names: Vec<&str> = list.lines().filter_map(|l| l.split_whitespace().next()).collect();
    for want in
        ["msix-vs-legacy", "affinity-locality", "napi-livelock", "steering", "notify", "eoi-order", "doorbell-barrier"]
    {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    for name in names {
        let v = json(&["experiment", "run", name, "--quick", "--json", "-"]);
        assert_eq!(v["experiment"], name);
        assert!(!v["base"].as_object().unwrap().is_empty(), "{name}: base names the shared settings");
        for var in v["variants"].as_array().unwrap() {
            assert!(!var["params"].as_object().unwrap().is_empty(), "{name}: params name the settings");
            let laws = var["metrics"]["law_violations"]
                .as_array()
                .or(var["metrics"]["simulation"]["law_violations"].as_array());
            assert_eq!(laws.map(|l| l.len()), Some(0), "{name}/{}", var["name"]);
        }
        let findings = v["findings"].as_array().unwrap();
        assert!(!findings.is_empty(), "{name}");
        for f in findings {
            assert_eq!(f["holds"], true, "{name}: {}", f["claim"]);
        }
    }
}

#[test]
fn check_exit_codes_follow_the_verdict() {
    let code = |args: &[&str]| irqlab(args).status.code();
    assert_eq!(code(&["check", "doorbell", "--model", "weak", "--barrier", "none", "--descriptors", "2"]), Some(1));
    assert_eq!(code(&["check", "doorbell", "--model", "weak", "--barrier", "wmb", "--descriptors", "2"]), Some(0));
    assert_eq!(
        code(&["check", "doorbell", "--model", "tso", "--barrier", "none", "--mmio", "uc", "--descriptors", "2"]),
        Some(0)
    );
    assert_eq!(
        code(&["check", "doorbell", "--model", "tso", "--barrier", "none", "--mmio", "wc", "--descriptors", "2"]),
        Some(1)
    );
    assert_eq!(
        code(&["check", "doorbell", "--model", "tso", "--barrier", "wmb", "--mmio", "wc", "--descriptors", "2"]),
        Some(0)
    );
    assert_eq!(code(&["check", "rx-status", "--model", "weak", "--barrier", "none"]), Some(1));
    assert_eq!(code(&["check", "rx-status", "--model", "weak", "--barrier", "dma-rmb"]), Some(0));
    for bad in [
        &["check", "doorbell", "--model", "sparc", "--barrier", "none"][..],
        &["check", "doorbell", "--model", "weak", "--barrier", "none", "--descriptors", "0"],
        &["check", "doorbell", "--model", "weak", "--barrier", "none", "--descriptors", "99"],
        &["check", "rx-status", "--model", "weak", "--barrier", "wmb"],
    ] {
        let o = irqlab(bad);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"));
    }
}

#[test]
fn decode_ioapic_rte_names_every_field() {
    // Vector 0x31, fixed, physical, level, masked, destination APIC 2.
    let o = irqlab(&["decode", "ioapic-rte", "0x0200000000018031"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    for field in ["vector", "trigger", "mask", "destination", "remote_irr"] {
        assert!(out.contains(field), "{field} missing:\n{out}");
    }
    assert_eq!(irqlab(&["decode", "ioapic-rte", "0xnothex"]).status.code(), Some(2));
}

#[test]
fn experiment_json_does_not_depend_on_the_thread_count() {
    let run = |threads: &str| {
        Command::new(env!("CARGO_BIN_EXE_irqlab"))
            .args(["experiment", "run", "steering", "--quick", "--json", "-"])
            .env("RAYON_NUM_THREADS", threads)
            .output()
            .expect("runs")
            .stdout
    };
    assert_eq!(run("1"), run("2"));
}

/// Runs irqlab with its standard output closed at once, as `| head -0` does.
fn into_closed_pipe(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_irqlab"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    drop(child.stdout.take());
    child.wait_with_output().expect("binary ends")
}

#[test]
fn help_lists_the_exit_codes() {
    let out = stdout(&irqlab(&["--help"]));
    for line in [
        "Exit codes:",
        "0  success",
        "1  `irqlab check` found a counterexample",
        "2  invalid input",
        "3  I/O error",
        "4  a model law was violated",
    ] {
        assert!(out.contains(line), "'{line}' missing from --help:\n{out}");
    }
}

#[test]
fn each_exit_code_means_one_thing() {
    let code = |args: &[&str]| {
        let o = irqlab(args);
        assert!(!stderr(&o).contains("panicked"), "{args:?}: {}", stderr(&o));
        o.status.code()
    };
    assert_eq!(code(&["run", "--duration", "1ms"]), Some(0));
    assert_eq!(code(&["check", "doorbell", "--model", "weak", "--barrier", "none", "--descriptors", "2"]), Some(1));
    assert_eq!(code(&["run", "--set", "nic.queues=0"]), Some(2));
    assert_eq!(code(&["run", "/nonexistent-dir/x.toml"]), Some(3));
    assert_eq!(code(&["run", "--duration", "1ms", "--json", "/nonexistent-dir/out.json"]), Some(3));
    assert_eq!(code(&["experiment", "run", "notify", "--quick", "--json", "/nonexistent-dir/out.json"]), Some(3));
}

#[test]
fn a_file_that_cannot_be_read_is_an_io_error_naming_it() {
    let o = irqlab(&["run", "/nonexistent-dir/x.toml"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("/nonexistent-dir/x.toml: cannot read the scenario file"), "{}", stderr(&o));
}

#[test]
fn a_full_disk_on_standard_output_is_an_io_error() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else { return };
    let o = Command::new(env!("CARGO_BIN_EXE_irqlab"))
        .args(["scenarios"])
        .stdout(Stdio::from(full))
        .output()
        .expect("binary runs");
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).starts_with("error: "), "{}", stderr(&o));
}

/// Debug builds (the ones tests use) can inject a law violation, so the
/// model-bug exit code is tested end to end.
#[cfg(debug_assertions)]
#[test]
fn a_law_violation_exits_4() {
    let o = Command::new(env!("CARGO_BIN_EXE_irqlab"))
        .args(["run", "--duration", "1ms"])
        .env("IRQLAB_TEST_LAW_VIOLATION", "1")
        .output()
        .expect("binary runs");
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(stderr(&o).contains("model bug, please report"), "{}", stderr(&o));
}

#[test]
fn output_into_a_closed_pipe_ends_quietly_with_the_commands_own_code() {
    for (args, want) in [
        (&["run", "--duration", "2ms"][..], 0),
        (&["run", "--duration", "2ms", "--json", "-"], 0),
        (&["experiment", "list"], 0),
        (&["experiment", "run", "eoi-order", "--quick", "--json", "-"], 0),
        (&["scenarios"], 0),
        (&["decode", "msi", "--address", "0xfee01000", "--data", "0x4031"], 0),
        (&["rss", "--src", "66.9.149.187:2794", "--dst", "161.142.100.80:1766"], 0),
        (&["check", "doorbell", "--model", "weak", "--barrier", "none", "--descriptors", "2"], 1),
    ] {
        let o = into_closed_pipe(args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(want), "{args:?}: {err}");
        assert!(!err.contains("Broken pipe") && !err.contains("panicked") && !err.contains("error"), "{args:?}: {err}");
    }
}

#[test]
fn duration_beyond_an_hour_names_the_option_and_the_limit() {
    let o = irqlab(&["run", "--duration", "3601s"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("'--duration <DURATION>'") && err.contains("1us to 3600s"), "{err}");
    assert!(!err.contains("--set"), "{err}");
    // A duration within bounds that makes the run too costly is reported
    // against --duration as well.
    let o = irqlab(&["run", "--duration", "3600s"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).starts_with("error: --duration: duration_ms: the run would offer"), "{}", stderr(&o));
}

#[test]
fn a_directory_is_not_a_scenario_file() {
    let tmp = scratch_dir("dir");
    let o = irqlab(&["run", tmp.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("is a directory, not a scenario file"), "{err}");
    assert!(!err.contains("no such file"), "{err}");
}

#[test]
fn a_bad_frame_size_is_blamed_on_itself_at_its_place() {
    let tmp = scratch_dir("test");
    let p = scratch(&tmp, "jumbo.toml", "[workload]\npacket_bytes = 9000\n");
    let o = irqlab(&["run", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("jumbo.toml:2:16: workload.packet_bytes: expected a frame size of 64..=1518"), "{err}");
    assert!(!err.contains("rate_pps") && !err.contains(":1:1:"), "{err}");
}

#[test]
fn warnings_go_to_stderr_and_the_run_goes_on() {
    let o = irqlab(&["run", "--duration", "1ms", "--set", "nic.reta_size=2"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.starts_with("warning: nic.reta_size: 2 indirection-table entries for 4 queues"), "{err}");
    assert!(stdout(&o).starts_with("irqlab run: default"), "{}", stdout(&o));
    let o = irqlab(&["bench", "--duration", "1ms", "--repeat", "1", "--json", "--set", "nic.reta_size=1"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("warning: nic.reta_size: 1 indirection-table entries"), "{}", stderr(&o));
    // No warning for the defaults.
    assert_eq!(stderr(&irqlab(&["run", "--duration", "1ms"])), "");
}

#[test]
fn negative_numbers_get_the_parsers_own_message() {
    for (args, want) in [
        (&["run", "--seed", "-5"][..], "invalid value '-5' for '--seed <SEED>'"),
        (&["rss", "--src", "1.1.1.1", "--dst", "2.2.2.2", "--queues", "-3"], "invalid value '-3' for '--queues <Q>'"),
        (
            &["rss", "--src", "1.1.1.1", "--dst", "2.2.2.2", "--reta-size", "-8"],
            "invalid value '-8' for '--reta-size <N>'",
        ),
        (
            &["check", "doorbell", "--model", "weak", "--barrier", "none", "--descriptors", "-2"],
            "invalid value '-2' for '--descriptors <K>'",
        ),
        (&["bench", "--repeat", "-1"], "invalid value '-1' for '--repeat <REPEAT>'"),
        (&["run", "--duration", "-5ms"], "invalid value '-5ms' for '--duration <DURATION>'"),
        (&["decode", "ioapic-rte", "-5"], "IO-APIC RTE: invalid hex character '-'"),
        (&["decode", "irte", "-5"], "IRTE: invalid hex character '-'"),
        (&["decode", "sl-pte", "-5"], "SL-PTE: invalid hex character '-'"),
        (&["decode", "msi", "--address", "-1", "--data", "0"], "--address:"),
    ] {
        let o = irqlab(args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: expected '{want}' in {err}");
        assert!(!err.contains("to pass"), "{args:?}: {err}");
    }
}

#[test]
fn compare_lines_up_two_runs_and_refuses_what_it_cannot_compare() {
    let tmp = scratch_dir("compare");
    let dir = tmp.path();
    let (a, b) = (dir.join("a.json"), dir.join("b.json"));
    for (p, seed) in [(&a, "1"), (&b, "2")] {
        let o = irqlab(&["run", "--duration", "5ms", "--seed", seed, "--json", p.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let o = irqlab(&["compare", a.to_str().unwrap(), b.to_str().unwrap(), "--top", "5"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("A  default (seed 1)\nB  default (seed 2)\nsettings: 1 differs\n  seed: 1 → 2\n"), "{out}");
    assert!(out.contains("numbers changed"), "{out}");
    let v = json(&["compare", a.to_str().unwrap(), b.to_str().unwrap(), "--json"]);
    let seed = v["changes"].as_array().unwrap().iter().find(|c| c["key"] == "seed").expect("the seed differs");
    assert_eq!((seed["a"].as_f64(), seed["b"].as_f64(), seed["change"].as_f64()), (Some(1.0), Some(2.0), Some(1.0)));
    // Another schema version, a file that is not JSON, a missing file.
    let mut doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&b).unwrap()).unwrap();
    doc["schema_version"] = 999.into();
    let other = scratch(&tmp, "other.json", &doc.to_string());
    let o = irqlab(&["compare", a.to_str().unwrap(), other.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("B has 999"), "{}", stderr(&o));
    let bad = scratch(&tmp, "bad.json", "{\n  \"x\": ");
    let o = irqlab(&["compare", bad.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not JSON: line 2"), "{}", stderr(&o));
    let o = irqlab(&["compare", "/nonexistent/a.json", b.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3));
}

#[test]
fn views_are_laid_out_as_linux_prints_them_and_agree_with_the_json() {
    let args = ["run", "--duration", "10ms", "--set", "kernel.rps_cpus=e"];
    let m = json(&[&args[..], &["--json", "-"]].concat());
    let o = irqlab(&[&args[..], &["--view", "interrupts"]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let mut lines = out.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["CPU0", "CPU1", "CPU2", "CPU3"]);
    // `  0:  <count per CPU>  PCI-MSIX-edge  eth0-TxRx-0`, counts as in the JSON.
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    let v0 = &m["interrupts"]["per_vector"][0];
    let per_cpu: Vec<String> = v0["per_cpu"].as_array().unwrap().iter().map(|n| n.to_string()).collect();
    assert_eq!(row[0], "0:");
    assert_eq!(&row[1..5], per_cpu.as_slice());
    assert_eq!(row[6], "eth0-TxRx-0");
    let cal = out.lines().find(|l| l.trim_start().starts_with("CAL:")).expect("a CAL row");
    let kicks: u64 = cal.split_whitespace().skip(1).take(4).map(|n| n.parse::<u64>().unwrap()).sum();
    assert!(kicks > 0, "RPS kicks show as function calls: {cal}");
    let all = stdout(&irqlab(&[&args[..], &["--view", "all"]].concat()));
    assert!(all.contains("time_squeeze") && all.contains("rx_queue_3_packets: ") && all.contains("CAL:"), "{all}");
    let o = irqlab(&["run", "--view", "proc"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("interrupts, softnet, queues, all"), "{}", stderr(&o));
}

#[test]
fn audit_reports_findings_with_fixes_and_json() {
    let o = irqlab(&["audit", "--duration", "10ms", "--set", "nic.affinity=[0,0,0,0]"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("irqs_on_one_core: all 4 queue IRQs are on CPU 0"), "{out}");
    assert!(out.contains("--set nic.affinity=[0,1,2,3]"), "{out}");
    let j = json(&["audit", "--duration", "10ms", "--set", "nic.affinity=[0,0,0,0]", "--json"]);
    let checks: Vec<&str> = j["findings"].as_array().unwrap().iter().map(|f| f["check"].as_str().unwrap()).collect();
    assert!(checks.contains(&"irqs_on_one_core"), "{checks:?}");
    // The rows group their digits as the run summary does.
    let pps = j["before"]["delivered_pps"].as_f64().unwrap().round() as u64;
    assert!((100_000..1_000_000).contains(&pps), "{pps}");
    let grouped = format!("{},{:03}", pps / 1_000, pps % 1_000);
    let row = out.lines().find(|l| l.starts_with("  as is ")).unwrap_or_else(|| panic!("{out}"));
    assert!(row.contains(&format!(" {grouped} pps delivered")), "{row}");
    let o = irqlab(&["audit", "vm-assigned"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("[vm]"), "{}", stderr(&o));
}

#[test]
fn audit_finds_one_vector_serving_every_queue_and_leaves_adaptive_moderation_alone() {
    // MSI: the 8 queues share one vector, so one CPU takes every interrupt
    // and every poll. Moderation stays adaptive (the default's net_dim),
    // whatever the static rx-usecs and rx-frames say.
    let args = [
        "audit",
        "--duration",
        "20ms",
        "--set",
        "nic.interrupt_mode=msi",
        "--set",
        "machine.cores=8",
        "--set",
        "nic.queues=8",
        "--json",
    ];
    let j = json(&args);
    let findings = j["findings"].as_array().unwrap();
    let one = findings.iter().find(|f| f["check"] == "one_vector_for_many_queues").unwrap_or_else(|| panic!("{j}"));
    assert_eq!(one["fix"], serde_json::json!(["nic.interrupt_mode=msix"]));
    assert!(one["evidence"].as_str().unwrap().contains("one vector for all 8 queues"), "{}", one["evidence"]);
    let before = j["before"]["delivered_pps"].as_f64().unwrap();
    let after = one["after"]["delivered_pps"].as_f64().unwrap();
    assert!(after > 1.5 * before, "MSI-X spreads the queues: {before} -> {after}");
    assert!(findings.iter().all(|f| f["check"] != "coalescing_off_at_high_rate"), "{j}");
    // With MSI-X the check passes.
    let j = json(&["audit", "--duration", "20ms", "--set", "machine.cores=8", "--set", "nic.queues=8", "--json"]);
    assert!(j["passed"].as_array().unwrap().iter().any(|c| c == "one_vector_for_many_queues"), "{j}");
}

fn machine(name: &str) -> String {
    format!("{}/../host/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn import_writes_a_scenario_that_run_accepts() {
    let tmp = scratch_dir("import");
    let dir = tmp.path();
    let file = dir.join("ice.toml");
    let o = irqlab(&["import", "--root", &machine("ice"), "-o", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("import: interface ens785f0 (the first interface"), "{err}");
    assert!(err.contains("import: not read: nic.ring_size: RX ring sizes are not in /proc or /sys"), "{err}");
    assert!(stdout(&o).is_empty());
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("numa_node = 1") && text.contains("# /sys/class/net/ens785f0/device/numa_node"), "{text}");
    let o = irqlab(&["run", file.to_str().unwrap(), "--duration", "0.2ms"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Standard output without -o; --save copies what was read, and the copy imports the same.
    let saved = dir.join("saved");
    let a = irqlab(&["import", "--root", &machine("virtio"), "--save", saved.to_str().unwrap()]);
    assert_eq!(a.status.code(), Some(0), "{}", stderr(&a));
    assert!(stderr(&a).contains("import: saved "), "{}", stderr(&a));
    let b = irqlab(&["import", "--root", saved.to_str().unwrap()]);
    assert_eq!(stdout(&a), stdout(&b));
    assert!(stdout(&a).contains("[machine]\ncores = 2 "), "{}", stdout(&a));
}

#[test]
fn import_of_bad_input_exits_2_and_of_a_missing_root_3() {
    let o = irqlab(&["import", "--root", &machine("ixgbe"), "--iface", "eth9"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("error: --iface eth9: no such interface in /sys/class/net"), "{}", stderr(&o));
    let o = irqlab(&["import", "--root", &machine("no-such-machine")]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    // A malformed file: its path and line.
    let tmp = scratch_dir("import-bad");
    let root = tmp.path();
    std::fs::create_dir_all(root.join("proc")).unwrap();
    std::fs::write(
        root.join("proc/interrupts"),
        "           CPU0       CPU1\n  0:         38  IO-APIC   2-edge      timer\n",
    )
    .unwrap();
    let o = irqlab(&["import", "--root", root.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("proc/interrupts:2: IRQ 0: expected 2 per-CPU counts"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// `irqlab counters` on two saved copies: the ixgbe fixture's
/// `/proc/interrupts`, then the same with queue 0's IRQ 1,000 higher on
/// CPU 0 and every CAL count 10 higher, with softnet lines and rx_packets.
#[test]
fn counters_of_two_saved_copies_compare_with_a_run() {
    let fixture = machine("ixgbe");
    let text = std::fs::read_to_string(format!("{fixture}/proc/interrupts")).unwrap();
    let bump = |line: &str, first: u64, rest: u64| -> String {
        let mut words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        for (i, w) in words.iter_mut().enumerate().skip(1).take(32) {
            *w = (w.parse::<u64>().unwrap() + if i == 1 { first } else { rest }).to_string();
        }
        words.join(" ")
    };
    let after: String = text
        .lines()
        .map(|l| {
            if l.ends_with("eth0-TxRx-0") {
                bump(l, 1000, 0)
            } else if l.trim_start().starts_with("CAL:") {
                bump(l, 10, 10)
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let tmp = scratch_dir("counters");
    let dir = tmp.path();
    let softnet = |n: u64| {
        format!(
            "{n:08x} 00000000 00000001 00000000 00000000 00000000 00000000 00000000 00000000 00000002 00000000 00000000 00000000\n"
        )
    };
    for (name, interrupts, processed, rx) in [("a", text.as_str(), 0x100, 5000), ("b", after.as_str(), 0x500, 6000)] {
        let d = dir.join(name);
        std::fs::create_dir_all(d.join("proc/net")).unwrap();
        std::fs::create_dir_all(d.join("sys/class/net/eth0/statistics")).unwrap();
        std::fs::write(d.join("proc/interrupts"), interrupts).unwrap();
        std::fs::write(d.join("proc/net/softnet_stat"), softnet(processed)).unwrap();
        std::fs::write(d.join("sys/class/net/eth0/statistics/rx_packets"), format!("{rx}\n")).unwrap();
        std::fs::write(d.join("sys/class/net/eth0/statistics/rx_bytes"), format!("{}\n", rx * 64)).unwrap();
    }
    let (a, b) = (dir.join("a"), dir.join("b"));
    let args = ["counters", "--root", &fixture, "--iface", "eth0", "--before", a.to_str().unwrap()];
    let args = [&args[..], &["--after", b.to_str().unwrap(), "--seconds", "0.5"]].concat();
    let real = json(&args);
    assert_eq!(real["interrupts"]["per_vector"][0]["name"], "eth0-TxRx-0");
    assert_eq!(real["interrupts"]["per_vector"][0]["count"], 1000);
    assert_eq!(real["interrupts"]["per_vector"][0]["per_cpu"][0], 1000);
    assert_eq!(real["interrupts"]["per_vector"][1]["count"], 0);
    assert_eq!(real["queues"][0]["interrupts_per_s"], 2000.0);
    assert_eq!(real["interrupts"]["system"]["CAL"][5], 10);
    assert_eq!(real["softnet"][0]["processed"], 0x400);
    assert_eq!(real["throughput"]["delivered_pps"], 2000.0);
    // Side by side with a run of the imported scenario.
    let real_path = dir.join("real.json");
    std::fs::write(&real_path, serde_json::to_string(&real).unwrap()).unwrap();
    let scenario = dir.join("machine.toml");
    let o = irqlab(&["import", "--root", &fixture, "--iface", "eth0", "-o", scenario.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let sim_path = dir.join("sim.json");
    let o = irqlab(&["run", scenario.to_str().unwrap(), "--duration", "5ms", "--json", sim_path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let c = json(&["compare", real_path.to_str().unwrap(), sim_path.to_str().unwrap(), "--json", "--top", "0"]);
    let keys: Vec<&str> = c["changes"].as_array().unwrap().iter().filter_map(|x| x["key"].as_str()).collect();
    assert!(keys.contains(&"queues[0].interrupts_per_s"), "{keys:?}");
    assert!(keys.contains(&"throughput.delivered_pps"), "{keys:?}");
    // Mismatched snapshots are refused: different CPUs.
    std::fs::write(b.join("proc/interrupts"), "           CPU0\n  0:  1  IO-APIC 2-edge timer\n").unwrap();
    let o = irqlab(&args);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// The example replay through the binary: the summary's pcap line,
/// identical JSON for the same seed, and each flow's packets on the queue
/// `irqlab rss` names for it.
#[test]
fn pcap_replay_runs_from_its_example_and_matches_irqlab_rss() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/pcap/");
    let tcp6 = format!("{root}tcp6.toml");
    let o = irqlab(&["run", &tcp6]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("pcap        tcp6.pcap: 48 frames in 1 pass (0.5×): 48 to the queues, not offered: none"),
        "{out}"
    );
    let a = irqlab(&["run", &tcp6, "--json", "-"]);
    let b = irqlab(&["run", &tcp6, "--json", "-"]);
    assert_eq!(a.stdout, b.stdout, "same scenario and seed, same bytes");
    let v: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    assert_eq!(v["pcap"]["to_queues"], 48);
    assert_eq!(v["packets"]["offered"], 48);
    // tcp6.pcap: 4 flows [2001:db8::1..4]:40000..40003 -> [2001:db8::64]:443,
    // 12 frames each.
    let mut want = [0u64; 4];
    for f in 0..4 {
        let src = format!("[2001:db8::{}]:{}", f + 1, 40000 + f);
        let r = json(&["rss", "--src", &src, "--dst", "[2001:db8::64]:443", "--queues", "4", "--json"]);
        want[r["queue"].as_u64().unwrap() as usize] += 12;
    }
    let got: Vec<u64> = v["queues"].as_array().unwrap().iter().map(|q| q["packets"].as_u64().unwrap()).collect();
    assert_eq!(got, want);
}

#[test]
fn a_truncated_capture_exits_2_naming_the_file_the_frame_and_the_offset() {
    let good = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/pcap/udp4.pcap")).unwrap();
    let tmp = scratch_dir("test");
    let toml = scratch(&tmp, "cut.toml", "[workload]\npcap = \"cut.pcap\"\n");
    std::fs::write(toml.with_file_name("cut.pcap"), &good[..good.len() - 5]).unwrap();
    let o = irqlab(&["run", toml.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("cut.toml:2:8: workload.pcap: "), "{err}");
    assert!(err.contains("cut.pcap: frame 101 at byte offset "), "{err}");
    assert!(err.contains("the file ends inside the record"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// README's `/proc/interrupts`-shaped example is what the binary prints.
#[test]
fn the_readme_view_example_is_current() {
    let readme = std::fs::read_to_string(format!("{}/../../README.md", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let cmd = "$ irqlab run --duration 20ms --set kernel.rps_cpus=e --view interrupts\n";
    let start = readme.find(cmd).expect("README shows the view") + cmd.len();
    let shown = &readme[start..start + readme[start..].find("```").unwrap()];
    let o = irqlab(&["run", "--duration", "20ms", "--set", "kernel.rps_cpus=e", "--view", "interrupts"]);
    assert_eq!(stdout(&o), shown, "update README.md");
}

#[test]
fn calibrate_writes_a_cost_file_that_run_bench_and_experiments_take() {
    let tmp = scratch_dir("calibrate");
    let dir = tmp.path();
    let file = dir.join("calibrated.toml");
    let o = irqlab(&["calibrate", "--quick", "--reps", "2", "-o", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let table = stdout(&o);
    assert!(table.contains("getppid") && table.contains("syscall_ns"), "{table}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("\n[calibration]\n") && text.contains("\n[costs]\n"), "{text}");
    assert!(text.contains("\nsyscall_ns = "), "{text}");
    let f = file.to_str().unwrap();
    let o = irqlab(&["run", "--costs", f, "--duration", "2ms"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = irqlab(&["bench", "default", "--costs", f, "--duration", "1ms", "--repeat", "1", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&["experiment", "run", "notify", "--quick", "--costs", f, "--json", "-"]);
    assert!(v["under"]["costs.syscall_ns"].is_number(), "{v}");
}

#[test]
fn calibrate_without_output_prints_the_cost_file() {
    let o = irqlab(&["calibrate", "--quick", "--reps", "1"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    let doc: toml::Table = text.parse().expect("TOML");
    assert!(doc["costs"].as_table().is_some_and(|t| t.contains_key("syscall_ns")), "{text}");
    assert_eq!(doc["calibration"]["reps"].as_integer(), Some(1));
}

#[test]
fn a_cost_file_changes_the_run_and_bad_ones_exit_2_located() {
    let tmp = scratch_dir("test");
    let fast = scratch(
        &tmp,
        "fast-costs.toml",
        "[calibration]\nnote = \"by hand\"\n[costs]\nrx_protocol_per_packet_ns = 10.0\n",
    );
    let base = json(&["run", "--duration", "2ms", "--json", "-"]);
    let with = json(&["run", "--duration", "2ms", "--json", "-", "--costs", fast.to_str().unwrap()]);
    assert_ne!(base["cpu"], with["cpu"], "the cost file changed nothing");
    // --set wins over --costs.
    let set = json(&[
        "run",
        "--duration",
        "2ms",
        "--json",
        "-",
        "--costs",
        fast.to_str().unwrap(),
        "--set",
        "costs.rx_protocol_per_packet_ns=250.0",
    ]);
    assert_eq!(base["cpu"], set["cpu"]);

    let bad = scratch(&tmp, "bad-costs.toml", "[costs]\nsyscall_ns = 1\nwakeup_ns = -3.0\n");
    let o = irqlab(&["run", "--costs", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bad-costs.toml:3:13: costs.wakeup_ns:"), "{}", stderr(&o));
    let other = scratch(&tmp, "not-costs.toml", "[costs]\n[nic]\nqueues = 2\n");
    let o = irqlab(&["run", "--costs", other.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not-costs.toml:2:2: nic: a cost file holds only"), "{}", stderr(&o));
    let scenario = scratch(&tmp, "with-costs-file.toml", "duration_ms = 2.0\ncosts_file = \"bad-costs.toml\"\n");
    let o = irqlab(&["run", scenario.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bad-costs.toml:3:13: costs.wakeup_ns:"), "{}", stderr(&o));
}

#[test]
fn replay_runs_a_result_again_byte_for_byte_and_refuses_what_is_not_one() {
    let args = ["run", "overload", "--duration", "3ms", "--seed", "9", "--set", "nic.queues=2", "--json", "-"];
    let first = irqlab(&args);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let v: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(v["irqlab_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        (v["resolved_scenario"]["seed"].as_u64(), v["resolved_scenario"]["nic"]["queues"].as_u64()),
        (Some(9), Some(2))
    );
    let tmp = scratch_dir("test");
    let result = scratch(&tmp, "replay-result.json", &stdout(&first));
    let again = irqlab(&["run", "--replay", result.to_str().unwrap(), "--json", "-"]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(again.stdout == first.stdout, "a replay writes the same bytes");
    // A replay takes nothing else that would change the scenario.
    let o = irqlab(&["run", "--replay", result.to_str().unwrap(), "--seed", "2"]);
    assert_eq!(o.status.code(), Some(2));
    // Not a result, another schema, no such file.
    let mut doc = v.clone();
    doc["schema_version"] = 999.into();
    let other = scratch(&tmp, "replay-other.json", &doc.to_string());
    let o = irqlab(&["run", "--replay", other.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("schema_version: metrics schema version 999"), "{}", stderr(&o));
    let scenario = scratch(&tmp, "replay-scenario.json", "{\"nic\": {\"queues\": 4}}");
    let o = irqlab(&["run", "--replay", scenario.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not an irqlab result (no schema_version)"), "{}", stderr(&o));
    let o = irqlab(&["run", "--replay", "/nonexistent/r.json"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
}

#[test]
fn validate_prints_both_tables_and_takes_a_cost_file() {
    let tmp = scratch_dir("test");
    let costs = scratch(&tmp, "validate-costs.toml", "[costs]\nsyscall_ns = 120.0\n");
    let o = irqlab(&["validate", "--quick", "--reps", "1", "--costs", costs.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("Against the host (") && out.contains("Against published results"), "{out}");
    for name in ["eventfd_epoll_rtt", "udp_loopback", "livelock-collapse", "eli-gain", "iotlb-wall"] {
        assert!(out.contains(name), "{name} missing:\n{out}");
    }
    assert!(out.contains(" cases hold."), "{out}");
}

#[test]
fn validate_rejects_bad_arguments_with_exit_2() {
    for args in [
        &["validate", "--reps", "0"][..],
        &["validate", "--reps", "-3"],
        &["validate", "--reps", "many"],
        &["validate", "--host-only", "--published-only"],
        &["validate", "--published-only", "--costs", "x.toml"],
        &["validate", "--no-such-flag"],
    ] {
        let o = irqlab(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{args:?}");
    }
    // A file that cannot be read is an I/O error, as for `run --costs`.
    let missing = irqlab(&["validate", "--host-only", "--costs", "/no/such/costs.toml"]);
    assert_eq!(missing.status.code(), Some(3), "{}", stderr(&missing));
    assert!(stderr(&missing).contains("/no/such/costs.toml"), "{}", stderr(&missing));
    let tmp = scratch_dir("test");
    let bad = scratch(&tmp, "validate-bad-costs.toml", "[costs]\nwakeup_ns = -3.0\n");
    let o = irqlab(&["validate", "--host-only", "--costs", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("costs.wakeup_ns"), "{}", stderr(&o));
}

#[test]
fn a_run_of_several_vms_says_whose_figures_the_summary_gives() {
    let args = ["run", "two-vms", "--duration", "5ms"];
    let o = irqlab(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let scope = out.lines().find(|l| l.starts_with("scope       2 VMs: ")).unwrap_or_else(|| panic!("{out}"));
    // Its totals are the VMs' own, added up.
    let v = json(&[&args[..], &["--json", "-"]].concat());
    let vms = v["vms"].as_array().unwrap();
    let sum = |k: &str| vms.iter().map(|m| m["packets"][k].as_u64().unwrap()).sum::<u64>();
    assert!(sum("offered") > v["packets"]["offered"].as_u64().unwrap(), "the top line is VM 0's alone");
    let plain = scope.replace(',', "");
    assert!(
        plain.ends_with(&format!("all VMs together: offered {} delivered {}", sum("offered"), sum("delivered"))),
        "{scope}"
    );
    // One VM: no such line.
    assert!(!stdout(&irqlab(&["run", "vm-assigned", "--duration", "2ms"])).contains("\nscope "));
}

#[test]
fn the_interrupts_line_names_the_reschedule_ipis_its_total_leaves_out() {
    // One INTx line on CPU 0, RPS to all 8 CPUs: the readers on CPU 0 are
    // woken from the others, by reschedule IPIs.
    let args = [
        "run",
        "low-load",
        "--duration",
        "10ms",
        "--set",
        "nic.interrupt_mode=intx",
        "--set",
        "machine.cores=8",
        "--set",
        "kernel.rps_cpus=ff",
    ];
    let out = stdout(&irqlab(&args));
    let line = out.lines().find(|l| l.starts_with("interrupts  ")).unwrap_or_else(|| panic!("{out}"));
    let v = json(&[&args[..], &["--json", "-"]].concat());
    let res: u64 = v["interrupts"]["system"]["RES"].as_array().unwrap().iter().map(|c| c.as_u64().unwrap()).sum();
    assert!(res > 0, "{line}");
    assert_eq!(v["ipis"]["reschedule"].as_u64(), Some(res), "every one sent arrived");
    let total = v["interrupts"]["total"].as_u64().unwrap();
    let plain = line.replace(',', "");
    assert!(plain.starts_with(&format!("interrupts  {total} total")), "{line}");
    assert!(plain.ends_with(&format!("; {res} reschedule IPIs (RES) besides")), "{line}");
    // Without cross-CPU wakeups the line has no such clause.
    let quiet = stdout(&irqlab(&["run", "low-load", "--duration", "2ms"]));
    assert!(!quiet.contains("reschedule IPIs"), "{quiet}");
}

#[test]
fn an_msi_attackers_line_adds_up_to_its_attempts() {
    // 20 ms of rogue-device: the forger's last message is still on its way.
    let out = stdout(&irqlab(&["run", "rogue-device", "--duration", "20ms"]));
    let line = out.lines().find(|l| l.starts_with("attacker    forger (msi")).unwrap_or_else(|| panic!("{out}"));
    let plain = line.replace(',', "");
    let number_before = |what: &str| -> u64 {
        let at = plain.find(what).unwrap_or_else(|| panic!("no '{what}' in {line}"));
        plain[..at].split_whitespace().last().and_then(|w| w.parse().ok()).unwrap_or_else(|| panic!("{line}"))
    };
    let attempts = number_before(" attempts:");
    let parts = [" interrupts reached", " blocked by remapping", " refused"].map(number_before);
    let in_flight = if plain.contains(" still in flight") { number_before(" still in flight") } else { 0 };
    assert!(in_flight > 0, "the run ends with a message in flight: {line}");
    assert_eq!(parts.iter().sum::<u64>() + in_flight, attempts, "{line}");
}
