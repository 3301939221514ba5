//! `irqlab bench`: how fast the model runs, in CPU seconds and delivered
//! packets, on a fixed suite of standard scenarios (or on one scenario).
//!
//! Each measured run happens in a process of its own (this binary, started
//! again with the hidden `--one`), which reports its CPU time around the run
//! and its peak resident memory (`getrusage(2)`), so no case's memory hides
//! in another's peak and no case warms the next one's caches. A case runs
//! `--repeat` times; the table gives the median CPU time. CPU time, not wall
//! time: it does not count time the machine gave to other work. Time is
//! measured here, at the edge, never inside the model.

use super::Failure;
use clap::Args;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::process::Command;

/// Arguments of `irqlab bench`.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Scenario file, built-in name, or the name of one case of the
    /// standard suite (`cores-64`, run with its settings); without one, the
    /// whole suite (docs/performance.md).
    pub scenario: Option<String>,
    /// Runs of each case; the table gives the median CPU time.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100), allow_negative_numbers = true)]
    pub repeat: u32,
    /// Override a scenario key (repeatable; applied to every case).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Apply a cost file's `[costs]` (from `irqlab calibrate`) before `--set`.
    #[arg(long, value_name = "FILE")]
    pub costs: Option<std::path::PathBuf>,
    /// Simulated duration of every case (as for `run`), instead of each
    /// case's own (one scenario: 1 s).
    #[arg(long, value_parser = super::run::parse_duration_ms, allow_hyphen_values = true)]
    pub duration: Option<f64>,
    /// Print the figures as JSON.
    #[arg(long)]
    pub json: bool,
    /// Internal: run the scenario once in this process and print its
    /// measurement as one JSON line (what each case's process does).
    #[arg(long, hide = true)]
    pub one: bool,
}

/// One standard case: a scenario and the settings that make it the case.
struct Case {
    name: &'static str,
    what: &'static str,
    scenario: &'static str,
    set: &'static [&'static str],
    duration_ms: f64,
}

/// The standard suite. `cores-64` and `flows-1m` change one thing of
/// `default` each, so their cost per packet compares with it.
const SUITE: &[Case] = &[
    Case {
        name: "default",
        what: "the default scenario: 2 Mpps, 4 cores",
        scenario: "default",
        set: &[],
        duration_ms: 1000.0,
    },
    Case {
        name: "default-irq",
        what: "default without moderation: many more events per packet, on the same 4 cores",
        scenario: "default",
        set: &["nic.coalesce.adaptive_rx=false"],
        duration_ms: 200.0,
    },
    Case {
        name: "line-rate",
        what: "10 GbE 64-byte line rate on 32 cores and queues, adaptive moderation (as drivers ship it)",
        scenario: "line-rate-10g",
        set: &["machine.cores=32", "nic.queues=32", "nic.coalesce.adaptive_rx=true"],
        duration_ms: 200.0,
    },
    Case {
        name: "line-rate-irq",
        what: "the same without moderation: an interrupt per one or two packets",
        scenario: "line-rate-10g",
        set: &["machine.cores=32", "nic.queues=32"],
        duration_ms: 200.0,
    },
    Case {
        name: "line-rate-overload",
        what: "10 GbE line rate on 4 cores: most packets dropped",
        scenario: "line-rate-10g",
        set: &[],
        duration_ms: 200.0,
    },
    Case {
        name: "low-load",
        what: "50 kpps Poisson: an interrupt per packet",
        scenario: "low-load",
        set: &[],
        duration_ms: 1000.0,
    },
    Case {
        name: "cores-64",
        what: "default on 64 cores and 64 queues",
        scenario: "default",
        set: &["machine.cores=64", "nic.queues=64"],
        duration_ms: 1000.0,
    },
    Case {
        name: "cores-64-irq",
        what: "cores-64 without moderation: an interrupt per packet or two, as default-irq on 4 cores",
        scenario: "default",
        set: &["machine.cores=64", "nic.queues=64", "nic.coalesce.adaptive_rx=false"],
        duration_ms: 200.0,
    },
    Case {
        name: "flows-1m",
        what: "default with 1 M flows instead of 64",
        scenario: "default",
        set: &["workload.flows=1000000"],
        duration_ms: 1000.0,
    },
    Case {
        name: "flows-4k",
        what: "default with 4,096 flows: the queues as evenly loaded as with a million, the flow state in cache",
        scenario: "default",
        set: &["workload.flows=4096"],
        duration_ms: 1000.0,
    },
    Case {
        name: "vm",
        what: "an assigned NIC in a VM (posted interrupts)",
        scenario: "vm-assigned",
        set: &[],
        duration_ms: 200.0,
    },
];

/// A case as this invocation runs it.
struct Planned {
    name: String,
    what: String,
    scenario: String,
    set: Vec<String>,
    duration_ms: f64,
}

/// What one run's process reports.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct One {
    scenario: String,
    simulated_s: f64,
    cpu_s: f64,
    /// Of `cpu_s`, building the machine (flows, rings, kernel state).
    setup_s: f64,
    max_rss_bytes: u64,
    events: u64,
    offered: u64,
    delivered: u64,
    /// The scenario's flows (as its settings made it).
    flows: u64,
    /// The scenario's cores.
    cores: u64,
}

/// A case's figures over its runs.
#[derive(Clone, Debug, Serialize)]
struct Row {
    case: String,
    what: String,
    scenario: String,
    set: Vec<String>,
    simulated_s: f64,
    /// Median CPU seconds of the runs.
    cpu_s: f64,
    cpu_s_runs: Vec<f64>,
    /// Median CPU seconds of the runs' start-up (building the machine:
    /// flows, rings, kernel state), part of `cpu_s`.
    setup_s: f64,
    offered: u64,
    delivered: u64,
    events: u64,
    delivered_per_cpu_s: f64,
    offered_per_cpu_s: f64,
    events_per_delivered: f64,
    /// Simulated seconds per CPU second: above 1 is faster than real time.
    real_time_ratio: f64,
    peak_rss_bytes: u64,
    /// The scenario's flows.
    flows: u64,
    /// The scenario's cores.
    cores: u64,
}

/// `irqlab bench`.
pub fn run(a: &BenchArgs, out: &mut dyn Write) -> Result<(), Failure> {
    if a.one {
        return one(a, out);
    }
    let planned = |c: &Case| Planned {
        name: c.name.into(),
        what: c.what.into(),
        scenario: c.scenario.into(),
        set: c.set.iter().map(|s| s.to_string()).collect(),
        duration_ms: a.duration.unwrap_or(c.duration_ms),
    };
    // One case of the suite, by its name, runs as the suite runs it.
    let suite_case =
        a.scenario.as_deref().filter(|s| !s.ends_with(".toml")).and_then(|s| SUITE.iter().find(|c| c.name == s));
    let cases: Vec<Planned> = match (&a.scenario, suite_case) {
        (_, Some(c)) => vec![planned(c)],
        (Some(s), None) => vec![Planned {
            name: s.clone(),
            what: String::new(),
            scenario: s.clone(),
            set: vec![],
            duration_ms: a.duration.unwrap_or(1000.0),
        }],
        (None, None) => SUITE.iter().map(planned).collect(),
    };
    // Every case resolves here first: a bad setting fails before any run,
    // and its warnings print once.
    for c in &cases {
        let all: Vec<String> = c.set.iter().chain(&a.set).cloned().collect();
        super::run::load(Some(&c.scenario), None, &all, Some(c.duration_ms), a.costs.as_deref()).map_err(|e| {
            match e {
                // A name that is neither a scenario nor a case: name the cases too.
                Failure::Input(m)
                    if a.scenario.is_some()
                        && irqlab_scenario::builtin(&c.scenario).is_none()
                        && !std::path::Path::new(&c.scenario).exists() =>
                {
                    let names: Vec<&str> = SUITE.iter().map(|c| c.name).collect();
                    Failure::Input(format!("{m}; or one case of the bench suite: {}", names.join(", ")))
                }
                e => e,
            }
        })?;
    }
    let exe = std::env::current_exe().map_err(|e| Failure::Io(format!("cannot find this program: {e}")))?;
    let bar = super::progress::bar(cases.len() * a.repeat as usize, "runs");
    let mut rows = Vec::new();
    for Planned { name, what, scenario, set, duration_ms } in &cases {
        let mut runs: Vec<One> = Vec::new();
        for _ in 0..a.repeat {
            bar.set_message(name.clone());
            let mut cmd = Command::new(&exe);
            cmd.args(["bench", "--one", "--repeat", "1", scenario.as_str()]);
            for s in set.iter().chain(&a.set) {
                cmd.arg("--set").arg(s);
            }
            cmd.arg("--duration").arg(format!("{duration_ms}ms"));
            if let Some(c) = &a.costs {
                cmd.arg("--costs").arg(c);
            }
            let o = cmd.output().map_err(|e| Failure::Io(format!("cannot start {}: {e}", exe.display())))?;
            if !o.status.success() {
                return Err(Failure::Bug(format!(
                    "bench case {name}: the run failed ({}): {}",
                    o.status,
                    String::from_utf8_lossy(&o.stderr).trim()
                )));
            }
            let r: One = serde_json::from_slice(&o.stdout)
                .map_err(|e| Failure::Bug(format!("bench case {name}: unreadable measurement: {e}")))?;
            if let Some(first) = runs.first()
                && (first.events, first.delivered, first.offered) != (r.events, r.delivered, r.offered)
            {
                return Err(Failure::Bug(format!(
                    "bench case {name}: two runs of the same scenario and seed differ ({} vs {} events)",
                    first.events, r.events
                )));
            }
            runs.push(r);
            bar.inc(1);
        }
        rows.push(row(name, what, set, &runs));
    }
    bar.finish_and_clear();
    let prov = irqlab_host::measure::host_provenance();
    let comparisons = comparisons(&rows);
    if a.json {
        let v = serde_json::json!({
            "irqlab_version": env!("CARGO_PKG_VERSION"),
            "machine": { "cpu_model": prov.cpu_model, "cpu_detail": prov.cpu_detail, "kernel": prov.kernel,
                         "cpus": prov.cpus.len(),
                         "virtual_machine": prov.virtual_machine },
            "repeat": a.repeat,
            "cases": rows,
            "comparisons": comparisons,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&v).map_err(|e| Failure::Bug(e.to_string()))?)?;
        return Ok(());
    }
    writeln!(out, "irqlab bench: CPU seconds are medians of {} runs, each in its own process", a.repeat)?;
    writeln!(out, "machine: {} ({}); {}", prov.cpu_model, prov.cpu_detail, prov.kernel)?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<20} {:>9} {:>8} {:>8} {:>12} {:>12} {:>10} {:>10} {:>9}",
        "case", "simulated", "CPU s", "start-up", "delivered/s", "offered/s", "events/pkt", "real time", "peak MB"
    )?;
    for r in &rows {
        writeln!(
            out,
            "{:<20} {:>7.0}ms {:>8.3} {:>8.3} {:>11.2}M {:>11.2}M {:>10.2} {:>9.2}x {:>9.1}",
            r.case,
            r.simulated_s * 1e3,
            r.cpu_s,
            r.setup_s,
            r.delivered_per_cpu_s / 1e6,
            r.offered_per_cpu_s / 1e6,
            r.events_per_delivered,
            r.real_time_ratio,
            r.peak_rss_bytes as f64 / 1e6,
        )?;
    }
    writeln!(out)?;
    writeln!(out, "start-up: of CPU s, building the machine (flows, rings, kernel state);")?;
    writeln!(out, "delivered/s and offered/s: packets per CPU second; events/pkt: events per delivered packet;")?;
    writeln!(out, "real time: simulated seconds per CPU second (above 1x: faster than real time)")?;
    if !comparisons.is_empty() {
        writeln!(out)?;
        for c in &comparisons {
            writeln!(out, "{}", c.sentence)?;
        }
    }
    Ok(())
}

/// A figure the suite's cases give together, with the goal it is held to.
#[derive(Clone, Debug, Serialize)]
struct Comparison {
    name: &'static str,
    value: f64,
    goal: &'static str,
    sentence: String,
}

fn comparisons(rows: &[Row]) -> Vec<Comparison> {
    let get = |n: &str| rows.iter().find(|r| r.case == n);
    let per_pkt = |r: &Row| r.cpu_s / r.delivered.max(1) as f64;
    let mut v = Vec::new();
    if let Some(d) = get("default") {
        v.push(Comparison {
            name: "default_delivered_per_cpu_s",
            value: d.delivered_per_cpu_s,
            goal: ">= 10e6",
            sentence: format!("default: {:.2} M delivered packets per CPU second", d.delivered_per_cpu_s / 1e6),
        });
    }
    if let Some(l) = get("line-rate") {
        let dropped = l.offered.saturating_sub(l.delivered);
        v.push(Comparison {
            name: "line_rate_delivered_per_cpu_s",
            value: l.delivered_per_cpu_s,
            goal: ">= 15e6",
            sentence: format!(
                "line rate: {:.2} M delivered packets per CPU second ({} of {} offered not delivered at the end)",
                l.delivered_per_cpu_s / 1e6,
                irqlab_report::thousands(dropped),
                irqlab_report::thousands(l.offered)
            ),
        });
    }
    // The cores comparisons hold when the cases kept their cores (a `--set`
    // of `machine.cores` gives every case the same).
    let more_cores = |few: &Row, many: &Row| few.cores < many.cores;
    if let (Some(d), Some(c)) = (get("default"), get("cores-64"))
        && more_cores(d, c)
    {
        let r = per_pkt(c) / per_pkt(d);
        v.push(Comparison {
            name: "cores_64_vs_4_cost_per_packet",
            value: r,
            goal: "<= 2",
            sentence: format!(
                "{} cores cost {r:.2}x the CPU time per delivered packet of {} cores ({:.0} vs {:.0} ns)",
                c.cores,
                d.cores,
                per_pkt(c) * 1e9,
                per_pkt(d) * 1e9
            ),
        });
    }
    if let (Some(d), Some(i), Some(c)) = (get("default"), get("default-irq"), get("cores-64"))
        && more_cores(d, c)
        && d.cores == i.cores
    {
        v.extend(cores_explained(d, i, c));
    }
    if let (Some(i), Some(c)) = (get("default-irq"), get("cores-64-irq"))
        && more_cores(i, c)
    {
        // The same interrupt regime at both ends: what the simulator's cost
        // does with the cores alone. Packets the 4 cores drop still cost
        // most of their work, so the figure per offered packet goes beside.
        let per_offered = |r: &Row| r.cpu_s / r.offered.max(1) as f64;
        let share = |r: &Row| 100.0 * r.delivered as f64 / r.offered.max(1) as f64;
        let r = per_pkt(c) / per_pkt(i);
        v.push(Comparison {
            name: "cores_64_vs_4_cost_per_packet_without_moderation",
            value: r,
            goal: "none: the same interrupt regime on 4 and 64 cores, beside the goal's comparison",
            sentence: format!(
                "without moderation on both (default-irq, cores-64-irq): {} cores cost {r:.2}x the CPU time per \
                 delivered packet of {} ({:.0} vs {:.0} ns; {:.2}x per offered packet; {:.0} % and {:.0} % of the \
                 offered packets delivered)",
                c.cores,
                i.cores,
                per_pkt(c) * 1e9,
                per_pkt(i) * 1e9,
                per_offered(c) / per_offered(i),
                share(i),
                share(c),
            ),
        });
    }
    if let (Some(d), Some(f)) = (get("default"), get("flows-1m")) {
        let r = per_pkt(f) / per_pkt(d);
        // Building the flows is paid once per run, whatever its length: the
        // run alone beside the whole.
        v.push(Comparison {
            name: "flows_1m_vs_64_cost_per_packet",
            value: r,
            goal: "<= 1.2",
            sentence: format!(
                "{} flows cost {r:.2}x the CPU time per delivered packet of {} flows ({:.0} vs {:.0} ns; \
                 {:.2}x without the {:.0} ms of start-up){}",
                flows_text(f.flows),
                flows_text(d.flows),
                per_pkt(f) * 1e9,
                per_pkt(d) * 1e9,
                run_per_packet(f) / run_per_packet(d),
                f.setup_s * 1e3,
                match more_flows(d, f) {
                    Some(n) => format!(
                        "; {:.0} bytes of peak memory per flow",
                        f.peak_rss_bytes.saturating_sub(d.peak_rss_bytes) as f64 / n
                    ),
                    None => String::new(),
                },
            ),
        });
    }
    // The split holds when the cases kept their flows (a `--set` of
    // `workload.flows` gives every case the same).
    if let (Some(d), Some(k), Some(f)) = (get("default"), get("flows-4k"), get("flows-1m"))
        && d.flows < k.flows
        && k.flows < f.flows
    {
        v.push(flows_explained(d, k, f));
    }
    v
}

/// CPU seconds per delivered packet of the run alone, without building
/// the machine.
fn run_per_packet(r: &Row) -> f64 {
    (r.cpu_s - r.setup_s).max(0.0) / r.delivered.max(1) as f64
}

/// How many more flows `f` has than `d`, if more.
fn more_flows(d: &Row, f: &Row) -> Option<f64> {
    (f.flows > d.flows).then(|| (f.flows - d.flows) as f64)
}

/// A flow count as the sentences write it: `1 M`, `4,096`, `64`.
fn flows_text(n: u64) -> String {
    if n >= 1_000_000 && n.is_multiple_of(1_000_000) {
        return format!("{} M", n / 1_000_000);
    }
    irqlab_report::thousands(n)
}

/// Why many flows cost more per packet than few: `flows-4k` loads the RSS
/// queues as evenly as a million flows do (64 flows load them unevenly, so
/// the modelled machine interrupts differently) and its flow state fits
/// the caches. `flows-4k` against `default` is then the modelled machine's
/// own extra work, and `flows-1m` against `flows-4k` (each without its
/// start-up) the cost of the flow state's size. The caller checks that
/// the three have more flows in that order.
fn flows_explained(d: &Row, k: &Row, f: &Row) -> Comparison {
    let model = run_per_packet(k) / run_per_packet(d);
    let memory = run_per_packet(f) / run_per_packet(k);
    // Start-up per flow added: the building of `f`'s flows beyond `d`'s.
    let setup_per_flow = more_flows(d, f).map_or(0.0, |n| (f.setup_s - d.setup_s).max(0.0) / n);
    Comparison {
        name: "flows_1m_vs_4k_cost_per_packet",
        value: memory,
        goal: "none: splits flows_1m_vs_64_cost_per_packet into the modelled machine's work and the flow state's size",
        sentence: format!(
            "once built, {} flows cost {model:.2}x the CPU time per delivered packet of {} (the modelled machine: \
             {:.3} events per packet against {:.3}), and {} flows {memory:.2}x that of {} (their state beyond \
             the caches); start-up {:.0} ns a flow",
            flows_text(k.flows),
            flows_text(d.flows),
            k.events_per_delivered,
            d.events_per_delivered,
            flows_text(f.flows),
            flows_text(k.flows),
            setup_per_flow * 1e9
        ),
    }
}

/// Why 64 cores cost more per packet than 4: fits "CPU time = a per
/// delivered packet + b per event" to the two 4-core cases (`default` and
/// `default-irq`, whose moderation differs) and compares what it predicts
/// for `cores-64` with what `cores-64` took. Near 1, the cost grows with the
/// events the modelled machine takes per packet, not with its cores.
fn cores_explained(d: &Row, i: &Row, c: &Row) -> Option<Comparison> {
    let (p1, e1, t1) = (d.delivered as f64, d.events as f64, d.cpu_s);
    let (p2, e2, t2) = (i.delivered as f64, i.events as f64, i.cpu_s);
    let det = p1 * e2 - p2 * e1;
    // The two cases must differ in events per packet for the fit to mean anything.
    if det.abs() < 1e-9 * (p1 * e2).abs().max(1.0) {
        return None;
    }
    let per_packet = (t1 * e2 - t2 * e1) / det;
    let per_event = (p1 * t2 - p2 * t1) / det;
    if !(per_packet > 0.0 && per_event > 0.0) {
        return None;
    }
    let predicted = per_packet * c.delivered as f64 + per_event * c.events as f64;
    let r = c.cpu_s / predicted;
    Some(Comparison {
        name: "cores_64_measured_vs_predicted_from_4_cores",
        value: r,
        goal: "near 1: the cost follows the events, not the cores",
        sentence: format!(
            "fitted on {} cores (default, default-irq): {:.0} ns per delivered packet + {:.0} ns per event; \
             for cores-64 ({:.2} events per packet against default's {:.2}) that predicts {:.3} CPU s, \
             it took {:.3} ({r:.2}x the prediction)",
            d.cores,
            per_packet * 1e9,
            per_event * 1e9,
            c.events_per_delivered,
            d.events_per_delivered,
            predicted,
            c.cpu_s,
        ),
    })
}

/// The middle value of `v` (the upper of the two middle ones for an even
/// count: a measured run, not an average of two); `v` is not empty.
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn row(name: &str, what: &str, set: &[String], runs: &[One]) -> Row {
    let runs_in_order: Vec<f64> = runs.iter().map(|r| r.cpu_s).collect();
    let median_cpu = median(runs_in_order.clone());
    let r = &runs[0];
    let per_s = |n: u64| if median_cpu > 0.0 { n as f64 / median_cpu } else { 0.0 };
    Row {
        case: name.into(),
        what: what.into(),
        scenario: r.scenario.clone(),
        set: set.to_vec(),
        simulated_s: r.simulated_s,
        cpu_s: median_cpu,
        cpu_s_runs: runs_in_order,
        setup_s: median(runs.iter().map(|r| r.setup_s).collect()),
        offered: r.offered,
        delivered: r.delivered,
        events: r.events,
        delivered_per_cpu_s: per_s(r.delivered),
        offered_per_cpu_s: per_s(r.offered),
        events_per_delivered: r.events as f64 / r.delivered.max(1) as f64,
        real_time_ratio: if median_cpu > 0.0 { r.simulated_s / median_cpu } else { 0.0 },
        peak_rss_bytes: runs.iter().map(|r| r.max_rss_bytes).max().unwrap_or(0),
        flows: r.flows,
        cores: r.cores,
    }
}

/// `--one`: one run in this process, measured around the run alone.
fn one(a: &BenchArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let scenario = a.scenario.as_deref().ok_or_else(|| Failure::Input("--one needs a scenario".into()))?;
    let s = super::run::load(Some(scenario), None, &a.set, a.duration, a.costs.as_deref())?;
    let usage = || irqlab_host::usage::self_usage().map_err(|e| Failure::Io(e.to_string()));
    let before = usage()?;
    let machine = irqlab_model::machine::Machine::new(&s).map_err(|e| Failure::Input(e.to_string()))?;
    let built = usage()?;
    let m = machine.run();
    let after = usage()?;
    let r = One {
        scenario: m.scenario.clone(),
        simulated_s: m.duration_s,
        cpu_s: after.cpu_s - before.cpu_s,
        setup_s: built.cpu_s - before.cpu_s,
        max_rss_bytes: after.max_rss_bytes,
        events: m.engine.events,
        flows: s.workload.flow_count() as u64,
        cores: s.machine.cores as u64,
        offered: m.packets.offered,
        delivered: m.packets.delivered,
    };
    writeln!(out, "{}", serde_json::to_string(&r).map_err(|e| Failure::Bug(e.to_string()))?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(case: &str, delivered: u64, events: u64, cpu_s: f64) -> Row {
        Row {
            case: case.into(),
            what: String::new(),
            scenario: "default".into(),
            set: vec![],
            simulated_s: 1.0,
            cpu_s,
            cpu_s_runs: vec![cpu_s],
            setup_s: 0.0,
            offered: delivered,
            delivered,
            events,
            delivered_per_cpu_s: delivered as f64 / cpu_s,
            offered_per_cpu_s: delivered as f64 / cpu_s,
            events_per_delivered: events as f64 / delivered as f64,
            real_time_ratio: 1.0 / cpu_s,
            peak_rss_bytes: 0,
            flows: 64,
            cores: if case.starts_with("cores-64") { 64 } else { 4 },
        }
    }

    /// Without moderation on both: the ratio per delivered packet, and per
    /// offered packet beside it when the 4 cores drop some.
    #[test]
    fn the_comparison_without_moderation_counts_delivered_and_offered() {
        let mut i = row("default-irq", 900, 3_600, 400e-9 * 900.0);
        i.offered = 1_000;
        let c = row("cores-64-irq", 1_000, 5_600, 600e-9 * 1_000.0);
        let v = comparisons(&[i, c]);
        let got = v.iter().find(|c| c.name == "cores_64_vs_4_cost_per_packet_without_moderation").expect("both cases");
        assert!((got.value - 1.5).abs() < 1e-9, "{}", got.value);
        // 600 ns an offered packet against 360.
        assert!(got.sentence.contains("1.67x per offered packet; 90 % and 100 %"), "{}", got.sentence);
    }

    /// The line-rate sentence counts what was not delivered, digits grouped.
    #[test]
    fn the_line_rate_sentence_counts_the_packets_left_over() {
        let mut l = row("line-rate", 2_974_242, 400_000, 0.17);
        l.offered = 2_976_184;
        let v = comparisons(&[l]);
        let got = v.iter().find(|c| c.name == "line_rate_delivered_per_cpu_s").expect("the case");
        assert!(got.sentence.contains("(1,942 of 2,976,184 offered not delivered at the end)"), "{}", got.sentence);
    }

    /// 4,096 flows at 1.05x of 64 and a million at 1.2x of 4,096, once
    /// built: the split reads both, and the start-up per flow.
    #[test]
    fn the_flows_split_separates_the_model_from_the_memory() {
        let mut d = row("default", 2_000_000, 280_000, 0.001 + 100e-9 * 2_000_000.0);
        d.setup_s = 0.001;
        let mut k = row("flows-4k", 2_000_000, 300_000, 0.001 + 105e-9 * 2_000_000.0);
        (k.setup_s, k.flows) = (0.001, 4096);
        let mut f = row("flows-1m", 2_000_000, 300_000, 0.016 + 126e-9 * 2_000_000.0);
        (f.setup_s, f.flows) = (0.016, 1_000_064);
        let got = flows_explained(&d, &k, &f);
        assert!((got.value - 1.2).abs() < 1e-9, "{}", got.value);
        assert!(
            got.sentence.contains("4,096 flows cost 1.05x the CPU time per delivered packet of 64"),
            "{}",
            got.sentence
        );
        assert!(got.sentence.contains("1,000,064 flows 1.20x that of 4,096"), "{}", got.sentence);
        assert!(
            got.sentence.contains("(the modelled machine: 0.150 events per packet against 0.140)"),
            "{}",
            got.sentence
        );
        assert!(got.sentence.contains("start-up 15 ns a flow"), "{}", got.sentence);
    }

    /// The goal's comparison: the whole run per packet, the run alone beside
    /// it, and the peak memory per added flow, with the counts the runs had.
    #[test]
    fn the_flows_comparison_reads_the_runs_counts() {
        let mut d = row("default", 2_000_000, 280_000, 0.001 + 100e-9 * 2_000_000.0);
        (d.setup_s, d.peak_rss_bytes) = (0.001, 9_000_000);
        let mut f = row("flows-1m", 2_000_000, 300_000, 0.016 + 120e-9 * 2_000_000.0);
        (f.setup_s, f.peak_rss_bytes, f.flows) = (0.016, 33_000_000 + 64 * 24, 1_000_064);
        let v = comparisons(&[d, f]);
        let got = v.iter().find(|c| c.name == "flows_1m_vs_64_cost_per_packet").expect("both cases");
        assert!((got.value - 0.256 / 0.201).abs() < 1e-9, "{}", got.value);
        assert!(
            got.sentence.starts_with("1,000,064 flows cost 1.27x the CPU time per delivered packet of 64 flows (128 vs 100 ns; 1.20x without the 16 ms of start-up); 24 bytes"),
            "{}",
            got.sentence
        );
        // The same flows in both (a `--set` for every case): no figure per
        // flow, and no split.
        let (mut d, mut k, mut f) =
            (row("default", 10, 1, 1.0), row("flows-4k", 10, 1, 1.0), row("flows-1m", 10, 1, 1.0));
        (d.flows, k.flows, f.flows) = (128, 128, 128);
        let v = comparisons(&[d, k, f]);
        let got = v.iter().find(|c| c.name == "flows_1m_vs_64_cost_per_packet").expect("both cases");
        assert!(
            got.sentence.ends_with("of start-up)") && got.sentence.starts_with("128 flows cost 1.00x"),
            "{}",
            got.sentence
        );
        assert!(v.iter().all(|c| c.name != "flows_1m_vs_4k_cost_per_packet"));
    }

    /// The cores comparisons name the cores the runs had, and go when a
    /// `--set` gave every case the same.
    #[test]
    fn the_cores_comparisons_read_the_runs_cores() {
        let cases = || {
            [
                row("default", 2_000_000, 280_000, 0.15),
                row("default-irq", 1_800_000, 6_500_000, 0.7),
                row("cores-64", 2_000_000, 940_000, 0.21),
                row("cores-64-irq", 400_000, 2_200_000, 0.22),
            ]
        };
        let v = comparisons(&cases());
        let got = v.iter().find(|c| c.name == "cores_64_vs_4_cost_per_packet").expect("both cases");
        assert!(
            got.sentence.starts_with("64 cores cost 1.40x the CPU time per delivered packet of 4 cores"),
            "{}",
            got.sentence
        );
        let fit = v.iter().find(|c| c.name == "cores_64_measured_vs_predicted_from_4_cores").expect("the fit");
        assert!(fit.sentence.starts_with("fitted on 4 cores"), "{}", fit.sentence);
        let mut same = cases();
        for r in &mut same {
            r.cores = 8;
        }
        let v = comparisons(&same);
        assert!(
            v.iter().all(|c| !c.name.starts_with("cores_64")),
            "{:?}",
            v.iter().map(|c| c.name).collect::<Vec<_>>()
        );
    }

    #[test]
    fn flow_counts_are_written_as_the_sentences_name_them() {
        let got: Vec<String> = [0, 64, 999, 4096, 100_000, 1_000_000, 1_000_064, 2_000_000].map(flows_text).into();
        assert_eq!(got, ["0", "64", "999", "4,096", "100,000", "1 M", "1,000,064", "2 M"]);
    }

    /// 50 ns a packet and 90 ns an event, exactly: the fit finds them, and a
    /// 64-core run that took 10 % longer than they predict reads 1.10x.
    #[test]
    fn the_fit_recovers_known_costs_and_measures_the_rest() {
        let cost = |p: u64, e: u64| 50e-9 * p as f64 + 90e-9 * e as f64;
        let d = row("default", 2_000_000, 440_000, cost(2_000_000, 440_000));
        let i = row("default-irq", 1_800_000, 6_500_000, cost(1_800_000, 6_500_000));
        let c = row("cores-64", 2_000_000, 3_150_000, 1.1 * cost(2_000_000, 3_150_000));
        let got = cores_explained(&d, &i, &c).expect("the two cases differ");
        assert!((got.value - 1.1).abs() < 1e-9, "{}", got.value);
        assert!(got.sentence.contains("50 ns per delivered packet + 90 ns per event"), "{}", got.sentence);
        // Cases with the same events per packet cannot separate the two costs.
        let same = row("default-irq", 4_000_000, 880_000, 2.0 * d.cpu_s);
        assert!(cores_explained(&d, &same, &c).is_none());
    }
}
