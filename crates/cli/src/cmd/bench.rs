//! `irqlab bench`: simulation speed on a standard scenario.
//!
//! Runs the scenario `--repeat` times and reports the best wall time, with
//! events per wall-second and simulated (offered) packets per wall-second.
//! Wall-clock time is measured here, at the edge, never inside the model.

use super::Failure;
use clap::Args;
use std::io::Write;
use std::time::Instant;

/// Arguments of `irqlab bench`.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Scenario file or built-in name.
    #[arg(default_value = "line-rate-10g")]
    pub scenario: String,
    /// Runs to make; the fastest is reported.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100), allow_negative_numbers = true)]
    pub repeat: u32,
    /// Override a scenario key (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Apply a cost file's `[costs]` (from `irqlab calibrate`) before `--set`.
    #[arg(long, value_name = "FILE")]
    pub costs: Option<std::path::PathBuf>,
    /// Simulated duration (as for `run`); long enough that start-up is negligible.
    #[arg(long, value_parser = super::run::parse_duration_ms, default_value = "1s", allow_hyphen_values = true)]
    pub duration: Option<f64>,
    /// Print the figures as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `irqlab bench`.
pub fn run(a: &BenchArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let s = super::run::load(Some(&a.scenario), None, &a.set, a.duration, a.costs.as_deref())?;
    let mut best: Option<(f64, irqlab_model::Metrics)> = None;
    let bar = super::progress::bar(a.repeat as usize, "runs");
    for i in 0..a.repeat {
        let t0 = Instant::now();
        let m = irqlab_model::run(&s).map_err(|e| Failure::Input(e.to_string()))?;
        let wall = t0.elapsed().as_secs_f64();
        if !a.json {
            bar.suspend(|| super::note(format_args!("run {}/{}: {:.3} s", i + 1, a.repeat, wall)));
        }
        bar.inc(1);
        if best.as_ref().is_none_or(|(w, _)| wall < *w) {
            best = Some((wall, m));
        }
    }
    bar.finish_and_clear();
    let (wall, m) = best.expect("repeat >= 1");
    let events_per_s = m.engine.events as f64 / wall;
    let pkts_per_s = m.packets.offered as f64 / wall;
    let slowdown = wall / m.duration_s;
    if a.json {
        writeln!(
            out,
            "{}",
            serde_json::json!({
                "scenario": m.scenario,
                "simulated_s": m.duration_s,
                "wall_s": wall,
                "events": m.engine.events,
                "events_per_wall_s": events_per_s,
                "offered_packets": m.packets.offered,
                "simulated_packets_per_wall_s": pkts_per_s,
                "events_per_packet": m.engine.events_per_packet,
                "slowdown": slowdown,
            })
        )?;
    } else {
        writeln!(out, "scenario                {}", m.scenario)?;
        writeln!(out, "simulated               {:.1} ms", m.duration_s * 1e3)?;
        writeln!(out, "wall (best of {})        {:.3} s", a.repeat, wall)?;
        writeln!(out, "events                  {} ({:.3} per packet)", m.engine.events, m.engine.events_per_packet)?;
        writeln!(out, "events/s                {:.2} M", events_per_s / 1e6)?;
        writeln!(out, "simulated packets/s     {:.2} M (offered {})", pkts_per_s / 1e6, m.packets.offered)?;
        writeln!(out, "slowdown                {slowdown:.2}x real time")?;
    }
    Ok(())
}
