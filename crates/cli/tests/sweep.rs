//! `irqlab sweep` and `irqlab merge` end to end: the output does not depend
//! on the thread count, shards merge into exactly the unsharded bytes, a
//! sweep's results replay, and bad sweeps, shard sets and environments are
//! refused with located errors and exit 2.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn irqlab(args: &[&str]) -> Output {
    irqlab_env(args, &[])
}

/// Runs irqlab with no batch-system variables but `env`.
fn irqlab_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_irqlab"));
    for k in [
        "SLURM_ARRAY_TASK_ID",
        "SLURM_ARRAY_TASK_MIN",
        "SLURM_ARRAY_TASK_MAX",
        "SLURM_ARRAY_TASK_COUNT",
        "SLURM_ARRAY_TASK_STEP",
        "JOB_COMPLETION_INDEX",
        "IRQLAB_SHARD_COUNT",
    ] {
        c.env_remove(k);
    }
    c.envs(env.iter().copied()).args(args).output().expect("binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(o: Output) -> Output {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    o
}

/// A fresh scratch directory for one test and its path: the directory is
/// deleted when the guard drops, so hold it until the test ends.
fn scratch(test: &str) -> (tempfile::TempDir, PathBuf) {
    let guard = tempfile::Builder::new().prefix(&format!("irqlab-sweep-{test}-")).tempdir().unwrap();
    let dir = guard.path().to_path_buf();
    (guard, dir)
}

/// Every file under `dir`, by relative path.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.insert(p.strip_prefix(root).unwrap().display().to_string(), std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// 3 queue counts × 2 rates... × 2 seeds = 8 runs of 1 ms, on a scenario
/// file next to the sweep file.
const SWEEP: &str = r#"
scenario = "base.toml"
duration = "1ms"
set = ["kernel.rps_cpus=0"]
seeds = [3, 5]

[[axis]]
key = "nic.queues"
values = [1, 4]

[[axis]]
key = "workload.rate_pps"
range = { start = 1e6, stop = 2e6, step = 1e6 }
"#;

fn write_sweep(dir: &Path, text: &str) -> PathBuf {
    std::fs::write(dir.join("base.toml"), "name = \"base\"\n[machine]\ncores = 4\n").unwrap();
    let p = dir.join("sweep.toml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn shards_merge_into_the_unsharded_bytes_whatever_the_thread_count() {
    let (_guard, dir) = scratch("merge");
    let sweep = write_sweep(&dir, SWEEP);
    let s = sweep.to_str().unwrap();
    let out = |name: &str| dir.join(name).display().to_string();
    ok(irqlab(&["sweep", s, "-o", &out("one"), "--full", "-j", "1"]));
    ok(irqlab(&["sweep", s, "-o", &out("two"), "--full", "-j", "2"]));
    let whole = tree(&dir.join("one"));
    assert_eq!(whole.len(), 3 + 8, "runs.csv, runs.jsonl, manifest.json and 8 runs: {:?}", whole.keys());
    assert!(whole == tree(&dir.join("two")), "the thread count changes nothing");

    // Rows in run order: nic.queues slowest, then the rate, the seed fastest.
    let csv = String::from_utf8(whole["runs.csv"].clone()).unwrap();
    let firsts: Vec<String> = csv.lines().map(|l| l.split(',').take(4).collect::<Vec<_>>().join(",")).collect();
    assert_eq!(firsts[0], "run,axis.nic.queues,axis.workload.rate_pps,seed");
    assert_eq!(firsts[1..4], ["0,1,1000000.0,3", "1,1,1000000.0,5", "2,1,2000000.0,3"]);
    assert_eq!(firsts[8], "7,4,2000000.0,5");
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    for key in ["latency_ns.p99", "interrupts.total", "queues[3].packets", "cpu[3].busy_frac.user"] {
        assert!(header.contains(&key), "column {key}");
    }

    for (i, j) in [(1, "1"), (2, "2"), (3, "1")] {
        let o = ok(irqlab(&[
            "sweep",
            s,
            "-o",
            &out(&format!("shard{i}")),
            "--full",
            "--shard",
            &format!("{i}/3"),
            "-j",
            j,
        ]));
        let expected = format!("{} runs (shard {i}/3 of 8 runs)", if i == 3 { 2 } else { 3 });
        assert!(String::from_utf8_lossy(&o.stdout).starts_with(&expected), "{}", String::from_utf8_lossy(&o.stdout));
    }
    let shard2 = String::from_utf8(std::fs::read(dir.join("shard2/runs.jsonl")).unwrap()).unwrap();
    let runs: Vec<&str> = shard2.lines().map(|l| &l[..l.find(',').unwrap()]).collect();
    assert_eq!(runs, ["{\"run\":1", "{\"run\":4", "{\"run\":7"], "shard 2/3 has the runs r with r mod 3 = 1");
    // Given in any order.
    ok(irqlab(&["merge", &out("shard3"), &out("shard1"), &out("shard2"), "-o", &out("merged")]));
    assert!(tree(&dir.join("merged")) == whole, "a merge writes the unsharded output, byte for byte");

    // A shard missing, one given twice, shards of another sweep.
    let o = irqlab(&["merge", &out("shard1"), &out("shard3"), "-o", &out("m2")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("shard 2/3 is missing"), "{}", stderr(&o));
    let o = irqlab(&["merge", &out("shard1"), &out("shard2"), &out("shard2"), &out("shard3"), "-o", &out("m2")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("shard 2/3 is given twice"), "{}", stderr(&o));
    let other = dir.join("other");
    std::fs::create_dir_all(&other).unwrap();
    let other_sweep = write_sweep(&other, &SWEEP.replace("values = [1, 4]", "values = [1, 2]"));
    ok(irqlab(&["sweep", other_sweep.to_str().unwrap(), "-o", &out("othershard"), "--full", "--shard", "2/3"]));
    let o = irqlab(&["merge", &out("shard1"), &out("othershard"), &out("shard3"), "-o", &out("m2")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("are shards of different sweeps"), "{}", stderr(&o));
    let o = irqlab(&["merge", &out("shard1"), &dir.display().to_string(), "-o", &out("m2")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a sweep output: no manifest.json"), "{}", stderr(&o));
    assert!(!dir.join("m2").exists(), "a refused merge writes nothing");

    // Every run's document replays to the same bytes.
    let doc = dir.join("one/runs/0006.json");
    let o = ok(irqlab(&["run", "--replay", doc.to_str().unwrap(), "--json", "-"]));
    assert!(o.stdout == whole["runs/0006.json"], "runs/0006.json replays byte for byte");
}

#[test]
fn shard_auto_reads_slurm_and_kubernetes_and_refuses_neither() {
    let (_guard, dir) = scratch("auto");
    let sweep = write_sweep(&dir, SWEEP);
    let s = sweep.to_str().unwrap();
    let out = |name: &str| dir.join(name).display().to_string();
    let slurm = [("SLURM_ARRAY_TASK_ID", "3"), ("SLURM_ARRAY_TASK_MIN", "1"), ("SLURM_ARRAY_TASK_MAX", "4")];
    ok(irqlab_env(&["sweep", s, "-o", &out("slurm"), "--shard", "auto"], &slurm));
    ok(irqlab_env(
        &["sweep", s, "-o", &out("k8s"), "--shard", "auto", "--shard-count", "4"],
        &[("JOB_COMPLETION_INDEX", "2")],
    ));
    let manifest = std::fs::read_to_string(dir.join("slurm/manifest.json")).unwrap();
    assert!(manifest.contains("\"index\": 3,\n    \"count\": 4"), "{manifest}");
    assert!(tree(&dir.join("slurm")) == tree(&dir.join("k8s")), "task 3 of 1-4 is index 2 of 4");
    let o = irqlab_env(&["sweep", s, "-o", &out("none"), "--shard", "auto"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no batch system found"), "{}", stderr(&o));
    let o = irqlab_env(&["sweep", s, "-o", &out("none"), "--shard", "auto"], &[("JOB_COMPLETION_INDEX", "0")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("IRQLAB_SHARD_COUNT"), "{}", stderr(&o));
    let o = irqlab(&["sweep", s, "-o", &out("none"), "--shard", "4/3"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn bad_sweeps_are_refused_at_their_line_and_column_before_any_run() {
    let (_guard, dir) = scratch("bad");
    let out = dir.join("out").display().to_string();
    let check_code = |text: &str, expected: &str, code: i32| {
        let sweep = write_sweep(&dir, text);
        let o = irqlab(&["sweep", sweep.to_str().unwrap(), "-o", &out]);
        assert_eq!(o.status.code(), Some(code), "{text}");
        let e = stderr(&o);
        assert!(e.contains(expected), "expected {expected:?} in: {e}");
        assert!(!dir.join("out").exists(), "nothing is run or written: {text}");
    };
    let check = |text: &str, expected: &str| check_code(text, expected, 2);
    let sweep = dir.join("sweep.toml").display().to_string();
    // An unknown key: at the axis's key, once.
    check(
        "duration = \"1ms\"\n[[axis]]\nkey = \"nic.queuez\"\nvalues = [1, 2]\n",
        &format!("{sweep}:3:7: nic.queuez: unknown field `queuez`"),
    );
    // A value the scenario rejects: at the value, with the runs it hits.
    check(
        "seeds = 2\n[[axis]]\nkey = \"nic.queues\"\nvalues = [1, 0]\n",
        &format!("{sweep}:4:14: nic.queues: expected 1..=2048 queues (one MSI-X vector each), got 0 (runs 2, 3)"),
    );
    check("duration = \"fast\"\n", &format!("{sweep}:1:12: duration: expected a duration such as 50ms"));
    check(
        "[[axis]]\nkey = \"nic.queues\"\nrange = { start = 4, stop = 1, step = 1 }\n",
        "axis[0].range: a step of 1 never goes from 4 to 1",
    );
    check(
        "[[axis]]\nkey = \"nic.queues\"\n",
        &format!("{sweep}:1:1: axis[0]: expected either `values = [...]` or `range"),
    );
    check("seeds = [1, 1]\n", "seeds: seed 1 is listed twice");
    // A scenario file that cannot be read is I/O, as with `irqlab run`.
    check_code("scenario = \"missing.toml\"\n", "missing.toml: cannot read the scenario file", 3);
    check("scenario = \"default\"\nsets = []\n", &format!("{sweep}:2:1: sets: unknown field `sets`"));
    // An output directory that holds something else is not written into.
    std::fs::create_dir_all(dir.join("busy")).unwrap();
    std::fs::write(dir.join("busy/notes.txt"), "mine").unwrap();
    let sweep = write_sweep(&dir, "duration = \"1ms\"\n");
    let o = irqlab(&["sweep", sweep.to_str().unwrap(), "-o", dir.join("busy").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("holds no sweep output"), "{}", stderr(&o));
    let o = irqlab(&["sweep", "/nonexistent/sweep.toml", "-o", &out]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
}

#[test]
fn a_sweeps_rows_are_drawn_by_report_and_refused_where_one_runs_metrics_belong() {
    let (_guard, dir) = scratch("rows");
    let sweep = write_sweep(&dir, SWEEP);
    let out = dir.join("out");
    ok(irqlab(&["sweep", sweep.to_str().unwrap(), "-o", out.to_str().unwrap(), "--full"]));
    let rows = out.join("runs.jsonl");
    let rows = rows.to_str().unwrap();
    let one = out.join("runs").join("0000.json");
    let one = one.to_str().unwrap();
    let html = dir.join("r.html");
    let html = html.to_str().unwrap();
    for args in [vec!["run", "--replay", rows], vec!["compare", one, rows]] {
        let o = irqlab(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let e = stderr(&o);
        assert!(e.contains("runs.jsonl: a sweep's rows (8 runs, one flattened row each)"), "{args:?}: {e}");
        assert!(e.contains("irqlab sweep --full"), "{args:?}: {e}");
    }
    // What it points to works; the report draws the rows themselves.
    ok(irqlab(&["report", one, "-o", html]));
    ok(irqlab(&["report", rows, "-o", html]));
    let page = std::fs::read_to_string(dir.join("r.html")).unwrap();
    ok(irqlab(&["report", out.to_str().unwrap(), "-o", html]));
    assert_eq!(std::fs::read_to_string(dir.join("r.html")).unwrap(), page, "OUT reads as OUT/runs.jsonl");
    assert!(page.contains("<h2>Sweep out</h2>"), "labelled by its directory");
    assert!(page.contains("8 runs, 4 points over nic.queues × workload.rate_pps"), "its points");
    assert_eq!(page.matches("<svg").count(), 3, "throughput, latency and interrupts against the rate");
    assert!(page.contains("against workload.rate_pps"), "the numeric axis across");
    ok(irqlab(&["run", "--replay", one, "--json", &dir.join("again.json").display().to_string()]));
}
