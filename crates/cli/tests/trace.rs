//! `irqlab run --trace` and `--hdr-out` end to end: the trace file is a
//! well-formed Chrome Trace Event document (fields per phase, each track's
//! time never going back, slices nested, flow arrows paired and bound to
//! slices, everything inside the window), the same run gives the same
//! bytes, tracing changes no metric, and the HdrHistogram log round-trips
//! with one sample per delivered packet.

use base64::Engine;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};

fn irqlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_irqlab")).args(args).output().expect("binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A path `name` in a fresh scratch directory, and the directory's guard:
/// the directory is deleted when the guard drops, so hold it while the file is used.
fn scratch(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::Builder::new().prefix("irqlab-trace-test-").tempdir().unwrap();
    let path = dir.path().join(name);
    (dir, path)
}

/// Runs with `--trace` into a scratch file; returns the file's bytes and stdout.
fn traced(name: &str, args: &[&str]) -> (Vec<u8>, Vec<u8>) {
    let (_guard, path) = scratch(name);
    let mut all = args.to_vec();
    let p = path.to_str().unwrap();
    all.extend(["--trace", p]);
    let o = irqlab(&all);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let events = stderr(&o);
    assert!(events.contains("trace: ") && events.contains(" events, "), "{events}");
    (std::fs::read(&path).unwrap(), o.stdout)
}

/// Whole nanoseconds of a microsecond timestamp.
fn ns(v: &Value) -> i64 {
    (v.as_f64().expect("a number") * 1000.0).round() as i64
}

/// A flow event's (pid, tid, ts in ns).
type FlowEnd = (u64, u64, i64);

/// What a check of a trace found, for the content assertions.
#[derive(Default, Debug)]
struct Seen {
    names: BTreeMap<String, usize>,
    flows: usize,
    counters: BTreeMap<String, usize>,
    pids: Vec<u64>,
}

/// Checks the structure of a trace whose window is `[start_ns, end_ns]`.
fn validate(bytes: &[u8], start_ns: i64, end_ns: i64) -> Seen {
    let doc: Value = serde_json::from_slice(bytes).expect("valid JSON");
    assert_eq!(doc["displayTimeUnit"], "ns");
    let events = doc["traceEvents"].as_array().expect("traceEvents");
    let mut seen = Seen::default();
    // Per (pid, tid): the last timestamp, the stack of open slice ends, the slices.
    let mut last: BTreeMap<(u64, u64), i64> = BTreeMap::new();
    let mut stacks: BTreeMap<(u64, u64), Vec<i64>> = BTreeMap::new();
    let mut slices: BTreeMap<(u64, u64), Vec<(i64, i64)>> = BTreeMap::new();
    let mut counter_last: BTreeMap<(u64, String), i64> = BTreeMap::new();
    let mut flow_ends: BTreeMap<u64, (Option<FlowEnd>, Option<FlowEnd>)> = BTreeMap::new();
    let mut timed = false;
    for e in events {
        let name = e["name"].as_str().expect("name").to_owned();
        let ph = e["ph"].as_str().expect("ph");
        let pid = e["pid"].as_u64().expect("pid");
        if !seen.pids.contains(&pid) {
            seen.pids.push(pid);
        }
        if ph == "M" {
            assert!(!timed, "metadata comes first");
            assert!(
                ["process_name", "thread_name", "process_sort_index", "thread_sort_index"].contains(&name.as_str())
            );
            assert!(e["args"]["name"].is_string() || e["args"]["sort_index"].is_u64(), "{e}");
            if name.starts_with("thread") {
                assert!(e["tid"].is_u64(), "{e}");
            }
            continue;
        }
        timed = true;
        let ts = ns(&e["ts"]);
        assert!(ts >= start_ns && ts <= end_ns, "outside the window: {e}");
        assert!(e["cat"].is_string(), "{e}");
        if ph == "C" {
            let args = e["args"].as_object().expect("counter args");
            assert!(!args.is_empty() && args.values().all(|v| v.is_u64()), "{e}");
            let prev = counter_last.insert((pid, name.clone()), ts);
            assert!(prev.is_none_or(|p| p < ts), "one sample per instant, in time order: {e}");
            *seen.counters.entry(name).or_default() += 1;
            continue;
        }
        let tid = e["tid"].as_u64().expect("tid");
        let track = (pid, tid);
        let prev = last.insert(track, ts);
        assert!(prev.is_none_or(|p| p <= ts), "time goes back on {track:?}: {e}");
        match ph {
            "X" => {
                let dur = ns(&e["dur"]);
                assert!(dur >= 0, "{e}");
                let end = ts + dur;
                assert!(end <= end_ns, "ends after the window: {e}");
                let stack = stacks.entry(track).or_default();
                while stack.last().is_some_and(|&top| top <= ts) {
                    stack.pop();
                }
                if let Some(&top) = stack.last() {
                    assert!(end <= top, "overlaps its enclosing slice without nesting on {track:?}: {e}");
                }
                stack.push(end);
                slices.entry(track).or_default().push((ts, end));
                *seen.names.entry(name).or_default() += 1;
            }
            "s" | "f" => {
                let id = e["id"].as_u64().expect("flow id");
                let slot = flow_ends.entry(id).or_default();
                let end = if ph == "s" { &mut slot.0 } else { &mut slot.1 };
                assert!(end.is_none(), "flow {id} has two {ph} events");
                *end = Some((pid, tid, ts));
                if ph == "f" {
                    assert_eq!(e["bp"], "e", "{e}");
                }
            }
            other => panic!("unexpected phase {other}: {e}"),
        }
    }
    for (id, ends) in &flow_ends {
        let (Some(s), Some(f)) = ends else { panic!("flow {id} is unpaired: {ends:?}") };
        assert!(s.2 <= f.2, "flow {id} ends before it starts");
        for (pid, tid, ts) in [*s, *f] {
            let bound = slices.get(&(pid, tid)).is_some_and(|v| v.iter().any(|(a, b)| *a <= ts && ts <= *b));
            assert!(bound, "flow {id}: no slice on ({pid}, {tid}) encloses {ts}");
        }
        seen.flows += 1;
    }
    seen
}

#[test]
fn a_default_run_traces_each_context_and_is_well_formed() {
    let (bytes, _) =
        traced("default.json", &["run", "--duration", "4ms", "--trace-window", "1ms..3ms", "--trace-sample", "50"]);
    let seen = validate(&bytes, 1_000_000, 3_000_000);
    let count = |prefix: &str| seen.names.iter().filter(|(n, _)| n.starts_with(prefix)).map(|(_, c)| c).sum::<usize>();
    for name in ["irq/", "NET_RX", "napi_poll", "sock_def_readable", "recv", "reader-", "idle", "rx_dma"] {
        assert!(count(name) > 0, "no {name} slice: {:?}", seen.names);
    }
    assert!(seen.flows >= 10, "{} flow arrows", seen.flows);
    assert!(seen.counters.keys().any(|k| k.ends_with(" ring")), "{:?}", seen.counters);
    assert!(seen.counters.keys().any(|k| k.ends_with("sk_receive_queue")), "{:?}", seen.counters);
    assert_eq!(seen.pids, vec![0, 100], "the host kernel and the NIC");
    // napi_poll's work never exceeds its budget.
    let doc: Value = serde_json::from_slice(&bytes).unwrap();
    for e in doc["traceEvents"].as_array().unwrap().iter().filter(|e| e["name"] == "napi_poll") {
        assert!(e["args"]["work"].as_u64().unwrap() <= e["args"]["budget"].as_u64().unwrap(), "{e}");
    }
}

#[test]
fn overload_and_a_vm_trace_well_formed_too() {
    // Overload: ksoftirqd takes over; a VM: the guest's vCPUs and exits.
    for (scenario, task) in [("overload", "ksoftirqd/"), ("vm-assigned", "kvm_")] {
        let (bytes, _) = traced(
            &format!("{scenario}.json"),
            &["run", scenario, "--duration", "3ms", "--trace-window", "500us..2500us"],
        );
        let seen = validate(&bytes, 500_000, 2_500_000);
        assert!(seen.names.keys().any(|n| n.starts_with(task)), "{scenario}: no {task}: {:?}", seen.names);
    }
}

#[test]
fn the_same_seed_gives_the_same_trace_and_another_seed_another() {
    let args = ["run", "--duration", "2ms", "--trace-window", "0..2ms"];
    let (a, _) = traced("a.json", &args);
    let (b, _) = traced("b.json", &args);
    assert!(a == b, "same seed, different traces");
    let (c, _) = traced("c.json", &[&args[..], &["--seed", "2"]].concat());
    assert!(a != c, "another seed, the same trace");
}

#[test]
fn tracing_changes_no_metric() {
    let base = ["run", "--duration", "3ms", "--json", "-"];
    let plain = irqlab(&base);
    assert_eq!(plain.status.code(), Some(0), "{}", stderr(&plain));
    let (_, with_trace) = traced("m.json", &[&base[..], &["--trace-window", "1ms..2ms"]].concat());
    assert!(!plain.stdout.is_empty());
    assert!(plain.stdout == with_trace, "metrics JSON differs with --trace");
}

#[test]
fn the_window_bounds_the_trace() {
    let (small, _) = traced("small.json", &["run", "--duration", "3ms", "--trace-window", "1ms..1100us"]);
    let (large, _) = traced("large.json", &["run", "--duration", "3ms", "--trace-window", "1ms..3ms"]);
    validate(&small, 1_000_000, 1_100_000);
    assert!(large.len() > 5 * small.len(), "{} vs {} bytes", large.len(), small.len());
}

#[test]
fn bad_trace_arguments_exit_2() {
    let (_guard, t) = scratch("never.json");
    let t = t.to_str().unwrap();
    for args in [
        vec!["run", "--trace", t, "--trace-window", "12ms"],
        vec!["run", "--trace", t, "--trace-window", "3ms..1ms"],
        vec!["run", "--trace", t, "--trace-window", "a..b"],
        vec!["run", "--trace", t, "--trace-window", "-1ms..2ms"],
        vec!["run", "--duration", "2ms", "--trace", t, "--trace-window", "5ms..6ms"],
        vec!["run", "--trace-window", "1ms..2ms"],
        vec!["run", "--trace", t, "--trace-sample", "-3"],
    ] {
        let o = irqlab(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("error"), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{args:?}");
    }
}

#[test]
fn the_hdr_log_round_trips_with_one_sample_per_delivered_packet() {
    let (_guard, path) = scratch("latency.hlog");
    let p = path.to_str().unwrap();
    let o = irqlab(&["run", "--duration", "5ms", "--json", "-", "--hdr-out", p]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let metrics: Value = serde_json::from_slice(&o.stdout).unwrap();
    let log = std::fs::read(&path).unwrap();
    let mut hists = BTreeMap::new();
    for entry in IntervalLogIterator::new(&log) {
        if let LogEntry::Interval(i) = entry.expect("a well-formed log") {
            let bytes = base64::engine::general_purpose::STANDARD.decode(i.encoded_histogram()).unwrap();
            let h: Histogram<u64> = Deserializer::new().deserialize(&mut std::io::Cursor::new(bytes)).unwrap();
            hists.insert(i.tag().expect("tagged").as_str().to_owned(), h);
        }
    }
    let wire = &hists["wire-to-app"];
    let delivered = metrics["packets"]["delivered"].as_u64().unwrap();
    assert!(delivered > 1000);
    assert_eq!(wire.len(), delivered);
    assert_eq!(wire.len(), metrics["latency_ns"]["count"].as_u64().unwrap());
    assert_eq!(wire.max(), metrics["latency_ns"]["max"].as_u64().unwrap());
    assert_eq!(wire.value_at_quantile(0.99), metrics["latency_ns"]["p99"].as_u64().unwrap());
    let irq = &hists["interrupt"];
    assert_eq!(irq.len(), metrics["interrupts"]["latency_ns"]["count"].as_u64().unwrap());
}
