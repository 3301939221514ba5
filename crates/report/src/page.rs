//! `irqlab report`: result files drawn into one self-contained HTML page,
//! or into the SVG plots alone.
//!
//! The page has no scripts, fonts or other resources to fetch: its styles
//! are inline and its plots are inline SVG ([`crate::plot`]). Runs are
//! compared side by side (one series per file); each experiment gets its
//! own section with its variants' plots and its findings beside them; each
//! sweep its points' table and their throughput, latency and interrupts
//! against the swept axis. The
//! template is `report.html` next to this file, rendered with minijinja
//! from plain values, so the same files give the same bytes.

use crate::document::{Document, ExperimentResult, RunResult};
use crate::plot::{self, PlotError};
use crate::sweep::{SweepResult, plain};
use serde::Serialize;
use std::path::{Path, PathBuf};

const TEMPLATE: &str = include_str!("report.html");

/// One plot: the file name it gets under `--svg DIR` (without `.svg`), a
/// title, and its SVG.
#[derive(Clone, Debug, Serialize)]
pub struct Plot {
    /// File name under `--svg DIR`, without the extension.
    pub name: String,
    /// Title.
    pub title: String,
    /// What it shows, one sentence.
    pub caption: String,
    /// The SVG document.
    pub svg: String,
}

/// The labels the report gives the files: each file's name without its
/// extension (a sweep's `OUT/runs.jsonl`: `OUT`'s name), or the path as
/// given where two files share a name.
pub fn labels(paths: &[PathBuf]) -> Vec<String> {
    let stem = |p: &Path| {
        let p = if p.file_name().is_some_and(|n| n == "runs.jsonl") { p.parent().unwrap_or(p) } else { p };
        p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| p.display().to_string())
    };
    let stems: Vec<String> = paths.iter().map(|p| stem(p)).collect();
    let mut out: Vec<String> = Vec::with_capacity(paths.len());
    for (i, p) in paths.iter().enumerate() {
        let mut label = if stems.iter().filter(|s| **s == stems[i]).count() > 1 {
            p.display().to_string()
        } else {
            stems[i].clone()
        };
        if out.contains(&label) {
            let base = label.clone();
            let mut k = 2;
            while out.contains(&label) {
                label = format!("{base} ({k})");
                k += 1;
            }
        }
        out.push(label);
    }
    out
}

/// Reads result files, labelled by [`labels`].
pub fn read_all(paths: &[PathBuf]) -> Result<Vec<Document>, crate::document::ReadError> {
    labels(paths).iter().zip(paths).map(|(label, path)| crate::document::read(path, label)).collect()
}

/// A name fit for a file: letters, digits and dashes.
fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').to_string();
    if out.is_empty() { "result".into() } else { out }
}

fn runs(docs: &[Document]) -> Vec<&RunResult> {
    docs.iter()
        .filter_map(|d| match d {
            Document::Run(r) => Some(r),
            Document::Experiment(_) | Document::Sweep(_) => None,
        })
        .collect()
}

fn variant_runs(e: &ExperimentResult) -> Vec<&RunResult> {
    e.variants.iter().filter_map(|v| v.run.as_ref()).collect()
}

/// The plots of the runs compared side by side (none without runs).
fn run_plots(runs: &[&RunResult]) -> Result<Vec<Plot>, PlotError> {
    if runs.is_empty() {
        return Ok(Vec::new());
    }
    Ok(vec![
        Plot {
            name: "latency-cdf".into(),
            title: "Latency distribution".into(),
            caption: "Fraction of packets delivered within each latency, wire to application; one line per file, latency on a log scale.".into(),
            svg: plot::latency_cdf(runs)?,
        },
        Plot {
            name: "cpu-time".into(),
            title: "Where the CPUs' time went".into(),
            caption: "Each core's time by context (hard IRQ, softirq, kernel threads, user, guest, idle); one row per file.".into(),
            svg: plot::cpu_time(runs)?,
        },
        Plot {
            name: "per-packet".into(),
            title: "Work per packet".into(),
            caption: "Hard interrupts and NAPI polls per delivered packet: lower means more packets per interrupt and per poll.".into(),
            svg: plot::per_packet(runs)?,
        },
    ])
}

/// The plots of one experiment's variants (none when no variant is a run).
fn experiment_plots(e: &ExperimentResult) -> Result<Vec<Plot>, PlotError> {
    let runs = variant_runs(e);
    if runs.is_empty() {
        return Ok(Vec::new());
    }
    let prefix = format!("experiment-{}", slug(&e.label));
    Ok(vec![
        Plot {
            name: format!("{prefix}-variants"),
            title: format!("{}: throughput and latency by variant", e.name),
            caption: "Delivered packets per second, and the p50, p99 and p99.9 latency, of each variant.".into(),
            svg: plot::variants(&runs)?,
        },
        Plot {
            name: format!("{prefix}-latency-cdf"),
            title: format!("{}: latency distribution by variant", e.name),
            caption: "Each variant's latency CDF, latency on a log scale.".into(),
            svg: plot::latency_cdf(&runs)?,
        },
        Plot {
            name: format!("{prefix}-per-packet"),
            title: format!("{}: work per packet by variant", e.name),
            caption: "Hard interrupts and NAPI polls per delivered packet, per variant.".into(),
            svg: plot::per_packet(&runs)?,
        },
    ])
}

/// The axis a sweep's plots put on x: the last one whose values are all
/// numbers (the inner loop of a sweep file, as a load or a size usually
/// is), else the last one. `None` for a sweep over seeds alone.
fn x_axis(s: &SweepResult) -> Option<usize> {
    let numeric = |a: usize| s.points.iter().all(|p| p.values[a].is_number());
    (0..s.axes.len()).rev().find(|&a| numeric(a)).or(s.axes.len().checked_sub(1))
}

/// A sweep's quantity against its x axis, one series per combination of
/// the other axes' values (in the order the points first show them).
fn sweep_lines(
    s: &SweepResult,
    x: usize,
    y_desc: &str,
    log_y: bool,
    y: fn(&crate::sweep::SweepPoint) -> Option<f64>,
) -> plot::Lines {
    let numeric = s.points.iter().all(|p| p.values[x].is_number());
    let mut ticks: Vec<&serde_json::Value> = Vec::new();
    for p in &s.points {
        if !ticks.contains(&&p.values[x]) {
            ticks.push(&p.values[x]);
        }
    }
    let short = |k: &str| k.rsplit('.').next().unwrap_or(k).to_string();
    let mut series: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for p in &s.points {
        let name = (0..s.axes.len())
            .filter(|&a| a != x)
            .map(|a| format!("{}={}", short(&s.axes[a]), plain(&p.values[a])))
            .collect::<Vec<_>>()
            .join(", ");
        let name = if name.is_empty() { "mean over seeds".to_string() } else { name };
        let at = if numeric {
            p.values[x].as_f64().unwrap_or(f64::NAN)
        } else {
            ticks.iter().position(|t| **t == p.values[x]).unwrap_or(0) as f64
        };
        let point = (at, y(p).unwrap_or(f64::NAN));
        match series.iter_mut().find(|(n, _)| *n == name) {
            Some((_, points)) => points.push(point),
            None => series.push((name, vec![point])),
        }
    }
    for (_, points) in &mut series {
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    plot::Lines {
        x_desc: s.axes[x].clone(),
        x_ticks: (!numeric).then(|| ticks.iter().map(|v| plain(v)).collect()),
        y_desc: y_desc.into(),
        log_y,
        series,
    }
}

/// The plots of one sweep (none for a sweep over seeds alone).
fn sweep_plots(s: &SweepResult) -> Result<Vec<Plot>, PlotError> {
    let Some(x) = x_axis(s) else { return Ok(Vec::new()) };
    let prefix = format!("sweep-{}", slug(&s.label));
    let key = &s.axes[x];
    Ok(vec![
        Plot {
            name: format!("{prefix}-throughput"),
            title: format!("{}: delivered throughput against {key}", s.label),
            caption: "Delivered packets per second, the mean of each point's seeds; one line per combination of the other axes.".into(),
            svg: plot::lines(
                "sweep throughput",
                "Delivered throughput",
                &sweep_lines(s, x, "Mpps", false, |p| Some(p.delivered_pps / 1e6)),
                plot::number,
            )?,
        },
        Plot {
            name: format!("{prefix}-latency"),
            title: format!("{}: p99 latency against {key}", s.label),
            caption: "Wire-to-application p99 latency (log scale), the mean of each point's seeds that delivered packets.".into(),
            svg: plot::lines(
                "sweep latency",
                "p99 latency",
                &sweep_lines(s, x, "p99 latency (log scale)", true, |p| p.p99_ns),
                plot::ns_label,
            )?,
        },
        Plot {
            name: format!("{prefix}-interrupts"),
            title: format!("{}: interrupts per packet against {key}", s.label),
            caption: "Hard interrupts per delivered packet, each point's seeds together.".into(),
            svg: plot::lines(
                "sweep interrupts",
                "Hard interrupts per packet",
                &sweep_lines(s, x, "interrupts / delivered packet", false, |p| p.interrupts_per_packet),
                plot::number,
            )?,
        },
    ])
}

/// Every plot of the report, in page order.
pub fn plots(docs: &[Document]) -> Result<Vec<Plot>, PlotError> {
    let mut out = run_plots(&runs(docs))?;
    for d in docs {
        if let Document::Experiment(e) = d {
            out.extend(experiment_plots(e)?);
        }
    }
    for d in docs {
        if let Document::Sweep(s) = d {
            out.extend(sweep_plots(s)?);
        }
    }
    Ok(out)
}

/// A run's row in the page's tables, formatted.
#[derive(Serialize)]
struct Row {
    label: String,
    color: String,
    scenario: String,
    seed: u64,
    duration: String,
    delivered: String,
    gbps: String,
    dropped: String,
    p50: String,
    p99: String,
    p999: String,
    irq_per_packet: String,
    polls_per_packet: String,
    /// Its settings that differ between the runs compared, `key = value`.
    settings: Vec<String>,
}

fn row(i: usize, r: &RunResult) -> Row {
    let c = plot::series_color(i);
    let lat = |ns: u64| if r.latency.count == 0 { "–".to_string() } else { plot::ns_label(ns as f64) };
    let per = |v: Option<f64>| v.map(plot::number).unwrap_or_else(|| "n/a".into());
    let share = if r.offered > 0 { r.dropped as f64 / r.offered as f64 * 100.0 } else { 0.0 };
    Row {
        label: r.label.clone(),
        color: format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2),
        scenario: r.scenario.clone(),
        seed: r.seed,
        duration: format!("{:.1} ms", r.duration_s * 1e3),
        delivered: crate::pps(r.delivered_pps),
        gbps: format!("{:.2}", r.delivered_gbps),
        dropped: format!("{} ({share:.1}%)", crate::thousands(r.dropped)),
        p50: lat(r.latency.p50),
        p99: lat(r.latency.p99),
        p999: lat(r.latency.p999),
        irq_per_packet: per(r.interrupts_per_packet()),
        polls_per_packet: per(r.polls_per_packet()),
        settings: Vec::new(),
    }
}

/// The rows of the runs compared, each with its settings that differ
/// between them.
fn run_rows(runs: &[&RunResult]) -> Vec<Row> {
    let all: Vec<&std::collections::BTreeMap<String, serde_json::Value>> = runs.iter().map(|r| &r.settings).collect();
    let keys = crate::settings::differing(&all);
    runs.iter()
        .enumerate()
        .map(|(i, r)| Row {
            settings: keys.iter().map(|k| format!("{k} = {}", crate::settings::shown(r.settings.get(k)))).collect(),
            ..row(i, r)
        })
        .collect()
}

#[derive(Serialize)]
struct VariantRow {
    name: String,
    params: Vec<String>,
    run: Option<Row>,
}

#[derive(Serialize)]
struct Section {
    label: String,
    name: String,
    description: String,
    quick: bool,
    variants: Vec<VariantRow>,
    findings: Vec<crate::document::Finding>,
    holding: usize,
    plots: Vec<Plot>,
}

/// A sweep point's row, formatted.
#[derive(Serialize)]
struct PointRow {
    values: Vec<String>,
    seeds: usize,
    delivered: String,
    dropped: String,
    p50: String,
    p99: String,
    irq_per_packet: String,
}

#[derive(Serialize)]
struct SweepSection {
    label: String,
    axes: Vec<String>,
    runs: usize,
    x_axis: Option<String>,
    points: Vec<PointRow>,
    plots: Vec<Plot>,
}

fn sweep_section(s: &SweepResult) -> Result<SweepSection, PlotError> {
    let lat = |ns: Option<f64>| ns.map_or_else(|| "–".to_string(), plot::ns_label);
    Ok(SweepSection {
        label: s.label.clone(),
        axes: s.axes.clone(),
        runs: s.runs,
        x_axis: x_axis(s).map(|x| s.axes[x].clone()),
        points: s
            .points
            .iter()
            .map(|p| PointRow {
                values: p.values.iter().map(plain).collect(),
                seeds: p.seeds,
                delivered: crate::pps(p.delivered_pps),
                dropped: format!("{:.1}%", p.dropped_share * 100.0),
                p50: lat(p.p50_ns),
                p99: lat(p.p99_ns),
                irq_per_packet: p.interrupts_per_packet.map(plot::number).unwrap_or_else(|| "n/a".into()),
            })
            .collect(),
        plots: sweep_plots(s)?,
    })
}

#[derive(Serialize)]
struct Page {
    version: &'static str,
    inputs: Vec<String>,
    runs: Vec<Row>,
    run_plots: Vec<Plot>,
    experiments: Vec<Section>,
    sweeps: Vec<SweepSection>,
}

/// The report as one self-contained HTML page.
pub fn html(docs: &[Document]) -> Result<String, PlotError> {
    let runs = runs(docs);
    let mut experiments = Vec::new();
    for d in docs {
        if let Document::Experiment(e) = d {
            let mut k = 0;
            let variants = e
                .variants
                .iter()
                .map(|v| VariantRow {
                    name: v.name.clone(),
                    params: v.params.clone(),
                    run: v.run.as_ref().map(|r| {
                        k += 1;
                        row(k - 1, r)
                    }),
                })
                .collect();
            experiments.push(Section {
                label: e.label.clone(),
                name: e.name.clone(),
                description: e.description.clone(),
                quick: e.quick,
                variants,
                findings: e.findings.clone(),
                holding: e.findings.iter().filter(|f| f.holds).count(),
                plots: experiment_plots(e)?,
            });
        }
    }
    let page = Page {
        version: env!("CARGO_PKG_VERSION"),
        inputs: docs.iter().map(|d| d.label().to_string()).collect(),
        runs: run_rows(&runs),
        run_plots: run_plots(&runs)?,
        experiments,
        sweeps: docs
            .iter()
            .filter_map(|d| match d {
                Document::Sweep(s) => Some(sweep_section(s)),
                _ => None,
            })
            .collect::<Result<_, _>>()?,
    };
    let mut env = minijinja::Environment::new();
    let fail = |e: minijinja::Error| PlotError { plot: "the page".into(), message: e.to_string() };
    env.add_template("report.html", TEMPLATE).map_err(fail)?;
    let template = env.get_template("report.html").map_err(fail)?;
    template.render(minijinja::context! { page => page }).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::parse;
    use serde_json::json;

    fn metrics(delivered: u64, p50: u64) -> serde_json::Value {
        json!({
            "schema_version": 1, "scenario": "<s>", "seed": 7, "duration_s": 0.01,
            "packets": {"offered": delivered, "delivered": delivered, "dropped": {}},
            "throughput": {"delivered_pps": delivered as f64 * 100.0, "delivered_gbps": 0.5},
            "latency_ns": {"count": delivered, "p50": p50, "p90": 2 * p50, "p99": 3 * p50, "p999": 4 * p50, "max": 5 * p50, "mean": 12.0},
            "cpu": [{"core": 0, "busy_frac": {"hardirq": 0.1, "softirq": 0.2, "kthread": 0.0, "user": 0.3, "guest": 0.0, "idle": 0.4}}],
            "interrupts": {"total": 25},
            "napi": {"polls": 50},
        })
    }

    fn doc(v: serde_json::Value, label: &str) -> Document {
        parse(v.to_string().as_bytes(), Path::new("x.json"), label).unwrap()
    }

    #[test]
    fn labels_are_file_names_unless_two_share_one() {
        let paths: Vec<PathBuf> =
            ["a/base.json", "b/base.json", "tuned.json", "tuned.json"].iter().map(PathBuf::from).collect();
        assert_eq!(labels(&paths), ["a/base.json", "b/base.json", "tuned.json", "tuned.json (2)"]);
    }

    #[test]
    fn the_page_is_self_contained_and_deterministic() {
        let docs = [doc(metrics(100, 1000), "base"), doc(metrics(200, 3000), "tuned")];
        let page = html(&docs).unwrap();
        assert!(page.starts_with("<!DOCTYPE html>"));
        for outside in ["<script", "http://", "https://", "<link", "@import", "url("] {
            // The SVG namespace is a name, not something fetched.
            let hits = page.matches(outside).count()
                - page.matches("xmlns=\"http://www.w3.org/2000/svg\"").count() * (outside == "http://") as usize;
            assert_eq!(hits, 0, "the page refers to {outside}");
        }
        assert_eq!(page.matches("<svg").count(), 3, "CDF, CPU time, per-packet");
        assert!(page.contains("&lt;s&gt;"), "text from the files is escaped");
        assert_eq!(page, html(&docs).unwrap());
    }

    /// A sweep's rows: `axes` written into each row in this order.
    fn sweep_rows(rows: &[(&str, u64)]) -> String {
        rows.iter()
            .enumerate()
            .map(|(i, (axes, p99))| {
                format!(
                    r#"{{"run":{i},{axes},"seed":1,"schema_version":1,"packets.offered":100,"packets.delivered":100,"throughput.delivered_pps":1e5,"latency_ns.count":100,"latency_ns.p50":10,"latency_ns.p99":{p99},"interrupts.total":50}}"#
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn a_sweep_gets_its_points_and_plots_against_its_numeric_axis() {
        let text = sweep_rows(&[
            (r#""axis.nic.interrupt_mode":"msix","axis.workload.rate_pps":1000000"#, 1000),
            (r#""axis.nic.interrupt_mode":"msix","axis.workload.rate_pps":2000000"#, 2000),
            (r#""axis.nic.interrupt_mode":"msi","axis.workload.rate_pps":1000000"#, 3000),
            (r#""axis.nic.interrupt_mode":"msi","axis.workload.rate_pps":2000000"#, 4000),
        ]);
        let docs = [crate::document::parse(text.as_bytes(), Path::new("out/runs.jsonl"), "out").unwrap()];
        let names: Vec<String> = plots(&docs).unwrap().into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["sweep-out-throughput", "sweep-out-latency", "sweep-out-interrupts"]);
        let page = html(&docs).unwrap();
        assert!(page.contains("4 runs, 4 points over nic.interrupt_mode × workload.rate_pps"), "{page}");
        assert!(page.contains("the plots put workload.rate_pps across"));
        assert!(page.contains("<td class=\"name\">2,000,000</td>"), "whole numbers grouped");
        // One line per interrupt mode, in the order the rows show them.
        assert!(page.contains("interrupt_mode=msix") && page.contains("interrupt_mode=msi"));
        assert_eq!(page.matches("<svg").count(), 3);
        assert_eq!(page, html(&docs).unwrap());
    }

    #[test]
    fn a_sweep_of_words_is_drawn_by_category_and_one_of_seeds_is_a_table() {
        let text =
            sweep_rows(&[(r#""axis.nic.interrupt_mode":"msix""#, 1000), (r#""axis.nic.interrupt_mode":"intx""#, 9000)]);
        let docs = [crate::document::parse(text.as_bytes(), Path::new("m.jsonl"), "m").unwrap()];
        let Document::Sweep(s) = &docs[0] else { panic!("a sweep") };
        let l = sweep_lines(s, 0, "p99", true, |p| p.p99_ns);
        assert_eq!(l.x_ticks, Some(vec!["msix".to_string(), "intx".to_string()]));
        assert_eq!(l.series, [("mean over seeds".to_string(), vec![(0.0, 1000.0), (1.0, 9000.0)])]);
        assert_eq!(plots(&docs).unwrap().len(), 3);
        // Seeds alone: no axis to draw against.
        let text = sweep_rows(&[("\"x\":0", 1000), ("\"x\":0", 3000)]);
        let docs = [crate::document::parse(text.as_bytes(), Path::new("s.jsonl"), "s").unwrap()];
        assert!(plots(&docs).unwrap().is_empty());
        let page = html(&docs).unwrap();
        assert!(page.contains("2 runs, 1 point; each point's seeds averaged."), "{page}");
        assert!(page.contains("<td>2 µs</td>"), "p99 averaged over the seeds: {page}");
    }

    #[test]
    fn an_experiment_gets_its_plots_and_findings() {
        let e = json!({
            "experiment": "knee", "description": "where it bends", "quick": false, "base": {},
            "variants": [
                {"name": "slow", "params": {"workload.rate_pps": 1e5}, "metrics": metrics(100, 1000)},
                {"name": "fast", "params": {"workload.rate_pps": 1e6}, "metrics": metrics(900, 9000)},
            ],
            "findings": [{"claim": "fast is slower", "holds": true}, {"claim": "nothing drops", "holds": false}],
        });
        let docs = [doc(e, "knee run")];
        let names: Vec<String> = plots(&docs).unwrap().into_iter().map(|p| p.name).collect();
        assert_eq!(
            names,
            ["experiment-knee-run-variants", "experiment-knee-run-latency-cdf", "experiment-knee-run-per-packet"]
        );
        let page = html(&docs).unwrap();
        assert!(page.contains("fast is slower") && page.contains("nothing drops"));
        assert!(page.contains("1 of 2 findings hold"));
        assert_eq!(page.matches("<svg").count(), 3);
    }
}
