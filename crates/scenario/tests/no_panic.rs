//! Loading never panics on user input (docs/architecture.md): any text, any
//! bytes, any overrides give `Ok` or `Err`, and every error located in the
//! file points inside it. And whatever loads also runs: the model neither
//! panics nor breaks a conservation law on any scenario that validates.
//!
//! Runs are capped at [`RUN_MS`] of simulated time (shortening a valid
//! scenario keeps it valid: every bound on the duration is a maximum, and
//! the cap is above the 1 µs minimum), so the whole file takes well under a
//! minute in a debug build.

use irqlab_scenario::load_str;
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

/// Simulated time of each model run, ms.
const RUN_MS: f64 = 0.5;

fn check(src: &str, overrides: &[String]) {
    match load_str(src, "fuzz.toml", overrides) {
        Ok(mut s) => {
            s.duration_ms = s.duration_ms.min(RUN_MS);
            assert_eq!(s.validate(), vec![], "a loaded scenario is valid, also when shortened");
            let m = irqlab_model::run(&s).unwrap_or_else(|e| panic!("a valid scenario must build: {e}\n{src}"));
            assert!(m.law_violations.is_empty(), "law violations {:?} for:\n{src}\n{overrides:?}", m.law_violations);
        }
        Err(e) => {
            assert!(!e.diagnostics().is_empty());
            for d in e.diagnostics() {
                assert!(!d.message.is_empty(), "{d:?}");
                if let Some(line) = d.line {
                    assert!(line >= 1 && line <= src.lines().count() + 1, "{d:?}");
                }
                assert!(d.column.is_none_or(|c| c >= 1), "{d:?}");
            }
            let _ = e.to_string();
        }
    }
}

/// Values of every type, in and out of range, for any key.
const ANY: &[&str] = &[
    "0",
    "-5",
    "2.5",
    "nan",
    "-inf",
    "1e308",
    "18446744073709551615",
    "\"four\"",
    "\"10.0.0.300:80\"",
    "[99]",
    "[]",
    "[4294967296]",
    "true",
    "{ a = 1 }",
    "1979-05-27",
    "[[1]]",
];
const COUNT: &[&str] = &["1", "2", "4", "8", "0", "3"];
const REAL: &[&str] = &["1.0", "20", "100.0", "0.5", "1e9", "-1.0"];
const DURATION: &[&str] = &["0.001", "0.05", "0.5", "2", "0", "1e-9", "4e6"];
const RATE: &[&str] = &["1000", "1e5", "2e6", "1.4e7", "1e9", "-1.0", "0"];
const CORES: &[&str] = &["[0, 1, 0, 1]", "[0, 1]", "[0, 5, 1, 2]", "[]"];
const ENDPOINTS: &[&str] = &["\"10.0.0.1:80\"", "\"[::1]:53\"", "\"::1\"", "\"10.0.0.300:80\"", "\"1.2.3.4\""];

/// Tables, their header, and for each key plausible values.
type Table = (&'static str, &'static [(&'static str, &'static [&'static str])]);
const TABLES: &[Table] = &[
    ("", &[("name", &["\"x\""]), ("seed", COUNT), ("duration_ms", DURATION), ("bogus", COUNT)]),
    ("[machine]\n", &[("cores", COUNT), ("sockets", COUNT)]),
    (
        "[nic]\n",
        &[
            ("queues", COUNT),
            ("ring_size", COUNT),
            ("line_rate_gbps", REAL),
            ("numa_node", COUNT),
            ("affinity", CORES),
            ("rss_key", &["\"zz\"", "\"00\""]),
            ("reta_size", COUNT),
            ("interrupt_mode", &["\"msix\"", "\"msi\"", "\"intx\""]),
            ("intx_trigger", &["\"level\"", "\"edge\""]),
            ("auto_mask", &["true", "false"]),
            ("queus", COUNT),
        ],
    ),
    ("[nic.coalesce]\n", &[("rx_usecs", COUNT), ("rx_frames", COUNT)]),
    (
        "[kernel]\n",
        &[
            ("napi_weight", COUNT),
            ("netdev_budget", COUNT),
            ("recv_batch", COUNT),
            ("napi", &["true", "false"]),
            ("rfs", &["true", "false"]),
            ("rps_cpus", CORES),
            ("netdev_max_backlog", COUNT),
            ("level_flow", &["\"fasteoi\"", "\"level\""]),
            ("softirq_defer", &["\"ksoftirqd\"", "\"inline\"", "\"later\""]),
            ("irqbalance_interval_ms", &["0", "0.1", "1"]),
        ],
    ),
    ("[driver]\n", &[("level_eoi", &["\"after_clear\"", "\"before_clear\""])]),
    (
        "[workload]\n",
        &[
            ("flows", COUNT),
            ("packet_size", &["\"fixed\"", "\"uniform\"", "\"imix\"", "\"huge\""]),
            ("packet_bytes", &["64", "1518", "1600", "10"]),
            ("packet_bytes_max", &["64", "1518", "2000"]),
            ("arrival", &["\"constant\"", "\"poisson\"", "\"onoff\""]),
            ("rate_pps", RATE),
            ("rate_gbps", REAL),
            ("on_us", REAL),
            ("off_us", REAL),
        ],
    ),
    ("[costs]\n", &[("copy_bytes_per_ns", REAL), ("syscall_ns", REAL), ("wakeup_ns", REAL)]),
    ("[[workload.flow_list]]\n", &[("src", ENDPOINTS), ("dst", ENDPOINTS)]),
    (
        "[[apps]]\n",
        &[
            ("core", COUNT),
            ("flows", CORES),
            ("work_ns", REAL),
            ("notify", &["\"epoll\"", "\"eventfd\"", "\"signal\"", "\"sigwaitinfo\"", "\"io_uring\""]),
            ("signal", &["\"standard\"", "\"realtime\""]),
            ("migrate_every_us", REAL),
        ],
    ),
    ("[[devices]]\n", &[("name", &["\"d\""]), ("pin", &["5", "16", "30"]), ("rate_hz", RATE), ("core", COUNT)]),
    ("[tx]\n", &[("barrier", &["\"none\"", "\"wmb\""]), ("doorbell_rate_per_s", RATE), ("ring_size", COUNT)]),
];

/// One table: a header and distinct keys with mostly plausible values, so
/// most documents are valid TOML and reach deserialisation and validation.
fn section() -> impl Strategy<Value = String> {
    prop::sample::select(TABLES).prop_flat_map(|(header, keys)| {
        let entry = (prop::sample::select(keys), any::<prop::sample::Index>(), any::<prop::sample::Index>(), 0..8u8);
        prop::collection::vec(entry, 0..5).prop_map(move |entries| {
            let mut s = header.to_string();
            let mut seen = Vec::new();
            for ((key, values), i, j, odds) in entries {
                if seen.contains(&key) {
                    continue;
                }
                seen.push(key);
                // One value in eight of any type, the rest plausible for the key.
                let v = if odds == 0 { ANY[i.index(ANY.len())] } else { values[j.index(values.len())] };
                s.push_str(&format!("{key} = {v}\n"));
            }
            s
        })
    })
}

/// A document of sections, with each header used at most once.
fn document() -> impl Strategy<Value = String> {
    prop::collection::vec(section(), 0..6).prop_map(|sections| {
        let mut seen = Vec::new();
        let mut doc = String::new();
        for s in sections {
            let header = s.lines().next().filter(|l| l.starts_with('[') && !l.starts_with("[[")).unwrap_or("");
            if !header.is_empty() && seen.contains(&header.to_string()) {
                continue;
            }
            seen.push(header.to_string());
            if header.is_empty() && !doc.is_empty() {
                continue; // root keys only at the top
            }
            doc.push_str(&s);
        }
        doc
    })
}

/// Overrides: well-formed ones over schema paths, and arbitrary text.
fn override_arg() -> impl Strategy<Value = String> {
    prop_oneof![
        (
            prop::sample::select(
                &["", "nic.", "machine.", "workload.", "apps[0].", "apps[1].", "nic.coalesce.", "a[0]."][..]
            ),
            prop::sample::select(&["queues", "cores", "core", "rate_pps", "arrival", "affinity", "src", "x"][..]),
            prop::sample::select(&["=", " = ", ""][..]),
            prop::sample::select(&["0", "4", "-1", "zero", "[0,1]", "\"x\"", "", "1.5", "{", "onoff"][..]),
        )
            .prop_map(|(prefix, key, eq, value)| format!("{prefix}{key}{eq}{value}")),
        "[a-z_.\\[\\]0-9=\"\\- ,{}]{0,24}",
    ]
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("IRQLAB_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("tests/no_panic.proptest-regressions"))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_text_never_panics(src in any::<String>()) {
        check(&src, &[]);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        check(&String::from_utf8_lossy(&bytes), &[]);
    }

    #[test]
    fn text_of_toml_like_characters_never_panics(src in "[a-z_.\\[\\]={}\"0-9 ,\n#-]{0,64}") {
        check(&src, &[]);
    }

    #[test]
    fn scenario_like_documents_never_panic(doc in document()) {
        check(&doc, &[]);
    }

    #[test]
    fn overrides_never_panic(doc in document(), overrides in prop::collection::vec(override_arg(), 0..4)) {
        check(&doc, &overrides);
    }
}

/// The document generator gets past the TOML parser (whose errors the
/// arbitrary-text properties cover) into deserialisation and validation,
/// and sometimes through, so the properties test every stage of loading.
#[test]
fn generated_documents_reach_every_stage() {
    use irqlab_scenario::ErrorKind;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut ok, mut kinds) = (0, Vec::new());
    for _ in 0..2000 {
        let doc = document().new_tree(&mut runner).unwrap().current();
        match load_str(&doc, "x.toml", &[]) {
            Ok(_) => ok += 1,
            Err(e) => kinds.push(e.first().kind),
        }
    }
    // About two in five load, so the properties run the model on hundreds.
    assert!(ok >= 200, "only {ok} of 2000 generated documents were valid");
    for kind in [ErrorKind::Schema, ErrorKind::Invalid] {
        assert!(kinds.contains(&kind), "no generated document gave a {kind:?} error");
    }
}
