//! The report's plots, drawn as SVG with `plotters`' SVG backend.
//!
//! The backend writes text as SVG `<text>` elements and measures it with
//! plotters' built-in estimate (no font file is read), so drawing needs no
//! system fonts and the browser renders the labels in its own sans-serif.
//! Every plot is a pure function of its inputs: the same results give the
//! same bytes.

use crate::document::{BusyFrac, RunResult};
use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Why a plot could not be drawn (plotters reports its errors as text).
#[derive(Debug, thiserror::Error)]
#[error("drawing {plot}: {message}")]
pub struct PlotError {
    /// The plot's name.
    pub plot: String,
    /// plotters' message.
    pub message: String,
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Drawn = Result<(), Box<dyn std::error::Error + 'static>>;

/// Colours of the compared series, in order (then repeated).
pub const SERIES: [RGBColor; 12] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
    RGBColor(188, 189, 34),
    RGBColor(99, 99, 99),
    RGBColor(0, 0, 139),
    RGBColor(139, 69, 0),
];

/// The colour of series `i`.
pub fn series_color(i: usize) -> RGBColor {
    SERIES[i % SERIES.len()]
}

/// Colours of the CPU contexts, in [`BusyFrac::parts`] order.
const CONTEXTS: [RGBColor; 6] = [
    RGBColor(214, 39, 40),   // hardirq
    RGBColor(255, 127, 14),  // softirq
    RGBColor(148, 103, 189), // kthread
    RGBColor(31, 119, 180),  // user
    RGBColor(44, 160, 44),   // guest
    RGBColor(222, 222, 222), // idle
];

const FONT: &str = "sans-serif";
const WIDTH: u32 = 900;
const TEXT: RGBColor = RGBColor(40, 40, 40);
const GRID: RGBColor = RGBColor(225, 225, 225);

/// Runs a drawing into an SVG string of the given size.
fn svg(plot: &str, size: (u32, u32), draw: impl FnOnce(&Area<'_>) -> Drawn) -> Result<String, PlotError> {
    let mut out = String::new();
    let fail = |e: &dyn std::fmt::Display| PlotError { plot: plot.to_string(), message: e.to_string() };
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(&e))?;
        draw(&root).map_err(|e| fail(&e))?;
        root.present().map_err(|e| fail(&e))?;
    }
    Ok(out)
}

/// A latency as people write it: `850 ns`, `12 µs`, `1.5 ms`.
pub fn ns_label(ns: f64) -> String {
    let (v, unit) = if ns >= 1e6 {
        (ns / 1e6, "ms")
    } else if ns >= 1e3 {
        (ns / 1e3, "µs")
    } else {
        (ns, "ns")
    };
    if (v - v.round()).abs() < 1e-9 { format!("{v:.0} {unit}") } else { format!("{v:.1} {unit}") }
}

/// Shortens a label to `max` characters with an ellipsis.
fn short(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        label.to_string()
    } else {
        let mut s: String = label.chars().take(max - 1).collect();
        s.push('…');
        s
    }
}

/// Width in pixels that labels of `chars` characters need at 13 px.
fn label_px(chars: usize) -> u32 {
    (chars as u32 * 7 + 16).clamp(40, 300)
}

/// Draws a legend (a swatch and a name per entry) in a column at the top left of `area`.
fn legend(area: &Area<'_>, entries: &[(String, RGBColor)]) -> Drawn {
    for (i, (name, color)) in entries.iter().enumerate() {
        let y = 8 + i as i32 * 20;
        area.draw(&Rectangle::new([(4, y), (18, y + 12)], color.filled()))?;
        area.draw(&Text::new(
            short(name, 24),
            (24, y + 6),
            (FONT, 16).into_font().color(&TEXT).pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
    }
    Ok(())
}

/// Powers of ten around `[lo, hi]` for a log axis.
fn decades(lo: f64, hi: f64) -> (f64, f64) {
    let lo = 10f64.powf(lo.max(1.0).log10().floor());
    let hi = 10f64.powf(hi.max(1.0).log10().ceil());
    if hi <= lo { (lo, lo * 10.0) } else { (lo, hi) }
}

/// Latency CDFs, one line per run, on a log-scale latency axis.
pub fn latency_cdf(runs: &[&RunResult]) -> Result<String, PlotError> {
    svg("latency CDF", (WIDTH, 420), |root| {
        let (plot, side) = root.split_horizontally(WIDTH - 200);
        let drawn: Vec<(usize, &&RunResult)> = runs.iter().enumerate().filter(|(_, r)| !r.cdf.is_empty()).collect();
        let lo = drawn.iter().flat_map(|(_, r)| r.cdf.iter().map(|p| p.1)).min().unwrap_or(1) as f64;
        let hi = drawn.iter().flat_map(|(_, r)| r.cdf.iter().map(|p| p.1)).max().unwrap_or(1000) as f64;
        let (lo, hi) = decades(lo, hi);
        let mut chart = ChartBuilder::on(&plot)
            .caption("Wire-to-application latency (CDF)", (FONT, 22).into_font().color(&TEXT))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(56)
            .build_cartesian_2d((lo..hi).log_scale(), 0.0..1.0)?;
        chart
            .configure_mesh()
            .x_desc("latency (log scale)")
            .y_desc("fraction of packets")
            .x_label_formatter(&|v| ns_label(*v))
            .y_label_formatter(&|v| format!("{:.0}%", v * 100.0))
            .label_style((FONT, 16).into_font().color(&TEXT))
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .draw()?;
        for (i, r) in &drawn {
            let color = series_color(*i);
            let points = r.cdf.iter().map(|&(q, ns)| ((ns as f64).max(lo), q));
            chart.draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?;
            chart.draw_series(points.map(|p| Circle::new(p, 2, color.filled())))?;
        }
        if drawn.is_empty() {
            plot.draw(&Text::new("no latency samples", (300, 200), (FONT, 20).into_font().color(&TEXT)))?;
        }
        let entries: Vec<(String, RGBColor)> =
            runs.iter().enumerate().map(|(i, r)| (r.label.clone(), series_color(i))).collect();
        legend(&side.margin(40, 0, 0, 0), &entries)
    })
}

/// Per-core time by context as stacked bars: one row of bars per run.
pub fn cpu_time(runs: &[&RunResult]) -> Result<String, PlotError> {
    const ROW: u32 = 230;
    let height = ROW * runs.len().max(1) as u32;
    svg("per-core time", (WIDTH, height), |root| {
        let (plots, side) = root.split_horizontally(WIDTH - 120);
        let rows = plots.split_evenly((runs.len().max(1), 1));
        for (r, area) in runs.iter().zip(&rows) {
            let cores = r.cores.len().max(1);
            let mut chart = ChartBuilder::on(area)
                .caption(
                    format!("{}: time per core by context", short(&r.label, 60)),
                    (FONT, 20).into_font().color(&TEXT),
                )
                .margin(10)
                .x_label_area_size(40)
                .y_label_area_size(56)
                .build_cartesian_2d(0.0..cores as f64, 0.0..1.0)?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .disable_x_axis()
                .x_desc("core")
                .y_labels(5)
                .y_label_formatter(&|v| format!("{:.0}%", v * 100.0))
                .label_style((FONT, 15).into_font().color(&TEXT))
                .light_line_style(TRANSPARENT)
                .bold_line_style(GRID)
                .draw()?;
            for (core, frac) in r.cores.iter().enumerate() {
                chart.draw_series(stack(core as f64, frac))?;
            }
            // Core numbers under their bars (every k-th when there are many).
            let every = cores.div_ceil(32);
            for core in (0..cores).step_by(every) {
                let at = category_at(area, chart.backend_coord(&(core as f64 + 0.5, 0.0)), (0, 6));
                area.draw(&Text::new(core.to_string(), at, label_font(HPos::Center, VPos::Top)))?;
            }
        }
        let entries: Vec<(String, RGBColor)> =
            BusyFrac::default().parts().iter().zip(CONTEXTS).map(|((name, _), c)| (name.to_string(), c)).collect();
        legend(&side.margin(40, 0, 0, 0), &entries)
    })
}

/// The stacked rectangles of one core's bar.
fn stack(core: f64, frac: &BusyFrac) -> Vec<Rectangle<(f64, f64)>> {
    let mut bottom = 0.0;
    let mut out = Vec::new();
    for ((_, share), color) in frac.parts().iter().zip(CONTEXTS) {
        if *share <= 0.0 {
            continue;
        }
        let top = (bottom + share).min(1.0);
        out.push(Rectangle::new([(core + 0.12, bottom), (core + 0.88, top)], color.filled()));
        bottom = top;
    }
    out
}

/// One horizontal bar chart: a bar per labelled value, in `area`.
fn bars(area: &Area<'_>, title: &str, unit: &str, rows: &[(String, Option<f64>, RGBColor)]) -> Drawn {
    let n = rows.len().max(1) as u32;
    let max = rows.iter().filter_map(|r| r.1).fold(0.0f64, f64::max);
    let top = if max > 0.0 { max * 1.25 } else { 1.0 };
    let labels: Vec<String> = rows.iter().map(|r| short(&r.0, 28)).collect();
    let width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(4);
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, 20).into_font().color(&TEXT))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(label_px(width))
        .build_cartesian_2d(0.0..top, 0.0..n as f64)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .disable_y_axis()
        .x_desc(unit)
        .x_labels(5)
        .label_style((FONT, 15).into_font().color(&TEXT))
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .draw()?;
    for (i, (_, value, color)) in rows.iter().enumerate() {
        // The first row on top.
        let y = (n as usize - 1 - i) as f64;
        let text = match value {
            Some(v) => {
                chart.draw_series([Rectangle::new([(0.0, y + 0.15), (*v, y + 0.85)], color.filled())])?;
                number(*v)
            }
            None => "n/a".to_string(),
        };
        let end = chart.backend_coord(&(value.unwrap_or(0.0), y + 0.5));
        area.draw(&Text::new(text, category_at(area, end, (5, 0)), label_font(HPos::Left, VPos::Center)))?;
        let start = chart.backend_coord(&(0.0, y + 0.5));
        area.draw(&Text::new(
            labels[i].clone(),
            category_at(area, start, (-8, 0)),
            label_font(HPos::Right, VPos::Center),
        ))?;
    }
    Ok(())
}

/// The style of the labels drawn beside bars.
fn label_font(h: HPos, v: VPos) -> TextStyle<'static> {
    (FONT, 15).into_font().color(&TEXT).pos(Pos::new(h, v))
}

/// A point of a chart (in the backend's pixels) in `area`'s own pixels,
/// moved by `offset`: where to draw a category's label.
fn category_at(area: &Area<'_>, at: (i32, i32), offset: (i32, i32)) -> (i32, i32) {
    let base = area.get_base_pixel();
    (at.0 - base.0 + offset.0, at.1 - base.1 + offset.1)
}

/// An axis value in SI style: `500k`, `1.5M`, `64`.
pub fn si(v: f64) -> String {
    let (scaled, unit) = match v.abs() {
        a if a >= 1e9 => (v / 1e9, "G"),
        a if a >= 1e6 => (v / 1e6, "M"),
        a if a >= 1e4 => (v / 1e3, "k"),
        _ => (v, ""),
    };
    let text = format!("{scaled:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}{unit}")
}

/// A value with three significant digits.
pub fn number(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        let digits = (2 - v.abs().log10().floor() as i32).clamp(3, 9) as usize;
        format!("{v:.digits$}")
    }
}

/// Hard interrupts and NAPI polls per delivered packet, a bar per run.
pub fn per_packet(runs: &[&RunResult]) -> Result<String, PlotError> {
    let height = 120 + 28 * runs.len().max(1) as u32;
    svg("per-packet costs", (WIDTH, height), |root| {
        let (left, right) = root.split_horizontally(WIDTH / 2);
        let rows = |f: fn(&RunResult) -> Option<f64>| -> Vec<(String, Option<f64>, RGBColor)> {
            runs.iter().enumerate().map(|(i, r)| (r.label.clone(), f(r), series_color(i))).collect()
        };
        bars(
            &left,
            "Hard interrupts per packet",
            "interrupts / delivered packet",
            &rows(RunResult::interrupts_per_packet),
        )?;
        bars(&right, "NAPI polls per packet", "polls / delivered packet", &rows(RunResult::polls_per_packet))
    })
}

/// An experiment's throughput and latency percentiles against its variants.
pub fn variants(runs: &[&RunResult]) -> Result<String, PlotError> {
    let height = 120 + 28 * runs.len().max(1) as u32;
    svg("variants", (WIDTH, height), |root| {
        let (left, right) = root.split_horizontally(WIDTH * 2 / 5);
        let rows: Vec<(String, Option<f64>, RGBColor)> = runs
            .iter()
            .enumerate()
            .map(|(i, r)| (r.label.clone(), Some(r.delivered_pps / 1e6), series_color(i)))
            .collect();
        bars(&left, "Delivered throughput", "Mpps", &rows)?;
        percentiles(&right, runs)
    })
}

/// A quantity against a swept axis: one line per series.
#[derive(Clone, Debug, PartialEq)]
pub struct Lines {
    /// The x axis's name (the swept key).
    pub x_desc: String,
    /// Labels of the x positions 0, 1, … when the axis is not numeric
    /// (`None`: the x values are the axis's own numbers).
    pub x_ticks: Option<Vec<String>>,
    /// The y axis's name, with its unit.
    pub y_desc: String,
    /// A log-scale y axis (latencies).
    pub log_y: bool,
    /// The series: a name and its (x, y) points, x rising.
    pub series: Vec<(String, Vec<(f64, f64)>)>,
}

/// `l` as a line chart titled `title`, the series in [`series_color`]s.
pub fn lines(name: &str, title: &str, l: &Lines, y_label: fn(f64) -> String) -> Result<String, PlotError> {
    // Tall enough for the legend's every entry.
    let height = (60 + 20 * l.series.len() as u32).max(380);
    svg(name, (WIDTH, height), |root| {
        let (plot, side) = root.split_horizontally(WIDTH - 220);
        let xs = l.series.iter().flat_map(|(_, p)| p.iter().map(|q| q.0));
        let ys: Vec<f64> = l.series.iter().flat_map(|(_, p)| p.iter().map(|q| q.1)).filter(|y| y.is_finite()).collect();
        let (x_lo, x_hi) = match &l.x_ticks {
            Some(t) => (-0.5, t.len() as f64 - 0.5),
            None => {
                let (lo, hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| (lo.min(x), hi.max(x)));
                let pad = if hi > lo { (hi - lo) * 0.05 } else { lo.abs().max(1.0) * 0.5 };
                if lo.is_finite() { (lo - pad, hi + pad) } else { (0.0, 1.0) }
            }
        };
        let y_max = ys.iter().copied().fold(0.0, f64::max);
        let ticks = l.x_ticks.clone();
        let x_label = move |v: &f64| match &ticks {
            Some(t) => {
                let i = v.round();
                if (v - i).abs() < 1e-6 && i >= 0.0 {
                    t.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            }
            None => si(*v),
        };
        if l.log_y {
            let y_min = ys.iter().copied().filter(|y| *y > 0.0).fold(f64::INFINITY, f64::min);
            let (lo, hi) = decades(if y_min.is_finite() { y_min } else { 1.0 }, y_max.max(1.0));
            draw_lines(&plot, title, l, x_lo..x_hi, (lo..hi).log_scale(), lo, &x_label, y_label)?;
        } else {
            let top = if y_max > 0.0 { y_max * 1.1 } else { 1.0 };
            draw_lines(&plot, title, l, x_lo..x_hi, 0.0..top, 0.0, &x_label, y_label)?;
        }
        let entries: Vec<(String, RGBColor)> =
            l.series.iter().enumerate().map(|(i, (name, _))| (name.clone(), series_color(i))).collect();
        legend(&side.margin(40, 0, 0, 0), &entries)
    })
}

/// [`lines`]' chart on `plot`, its y axis `y` (linear or log), each
/// series' finite points drawn no lower than `floor`.
#[allow(clippy::too_many_arguments)]
fn draw_lines<Y>(
    plot: &Area<'_>,
    title: &str,
    l: &Lines,
    x: std::ops::Range<f64>,
    y: Y,
    floor: f64,
    x_label: &dyn Fn(&f64) -> String,
    y_label: fn(f64) -> String,
) -> Drawn
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(plot)
        .caption(title, (FONT, 20).into_font().color(&TEXT))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(70)
        .build_cartesian_2d(x, y)?;
    chart
        .configure_mesh()
        .x_desc(l.x_desc.as_str())
        .y_desc(l.y_desc.as_str())
        .x_labels(l.x_ticks.as_ref().map_or(8, |t| t.len() + 1))
        .x_label_formatter(x_label)
        .y_label_formatter(&|v| y_label(*v))
        .label_style((FONT, 15).into_font().color(&TEXT))
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .draw()?;
    for (i, (_, p)) in l.series.iter().enumerate() {
        let color = series_color(i);
        let p: Vec<(f64, f64)> = p.iter().filter(|q| q.1.is_finite()).map(|&(x, y)| (x, y.max(floor))).collect();
        chart.draw_series(LineSeries::new(p.clone(), color.stroke_width(2)))?;
        chart.draw_series(p.into_iter().map(|q| Circle::new(q, 3, color.filled())))?;
    }
    Ok(())
}

/// Latency percentiles (p50, p99, p99.9) per run on a log axis, a row per run.
fn percentiles(area: &Area<'_>, runs: &[&RunResult]) -> Drawn {
    let (plot, side) = area.split_horizontally(area.dim_in_pixel().0 - 90);
    let n = runs.len().max(1) as u32;
    let sampled: Vec<&&RunResult> = runs.iter().filter(|r| r.latency.count > 0).collect();
    let lo = sampled.iter().map(|r| r.latency.p50).min().unwrap_or(1) as f64;
    let hi = sampled.iter().map(|r| r.latency.p999).max().unwrap_or(1000) as f64;
    let (lo, hi) = decades(lo, hi);
    let mut chart = ChartBuilder::on(&plot)
        .caption("Latency percentiles", (FONT, 20).into_font().color(&TEXT))
        .margin(10)
        .x_label_area_size(36)
        .y_label_area_size(10)
        .build_cartesian_2d((lo..hi).log_scale(), 0.0..n as f64)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .disable_y_axis()
        .x_desc("latency (log scale)")
        .x_label_formatter(&|v| ns_label(*v))
        .label_style((FONT, 15).into_font().color(&TEXT))
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .draw()?;
    let marks = [
        (0usize, "p50", RGBColor(44, 160, 44)),
        (1, "p99", RGBColor(255, 127, 14)),
        (2, "p99.9", RGBColor(214, 39, 40)),
    ];
    for (i, r) in runs.iter().enumerate() {
        if r.latency.count == 0 {
            continue;
        }
        let l = &r.latency;
        let values = [l.p50, l.p99, l.p999];
        // The first row on top, level with its bar in the throughput chart.
        let y = (n as usize - 1 - i) as f64 + 0.5;
        chart.draw_series(LineSeries::new(
            [(values[0] as f64).max(lo), (values[2] as f64).max(lo)].map(|x| (x, y)),
            RGBColor(160, 160, 160).stroke_width(1),
        ))?;
        for (k, _, color) in marks {
            chart.draw_series([Circle::new(((values[k] as f64).max(lo), y), 5, color.filled())])?;
        }
    }
    let entries: Vec<(String, RGBColor)> = marks.iter().map(|(_, name, c)| (name.to_string(), *c)).collect();
    legend(&side.margin(40, 0, 0, 0), &entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Latency;
    use proptest::prelude::*;

    fn run(label: &str, scale: u64) -> RunResult {
        RunResult {
            label: label.into(),
            scenario: "s".into(),
            seed: 1,
            duration_s: 0.01,
            offered: 100,
            delivered: 100,
            dropped: 0,
            delivered_pps: 1e4,
            delivered_gbps: 0.1,
            latency: Latency {
                count: 100,
                p50: 5 * scale,
                p90: 9 * scale,
                p99: 20 * scale,
                p999: 40 * scale,
                max: 50 * scale,
                mean: 6.0,
            },
            cdf: vec![(0.0, scale), (0.5, 5 * scale), (1.0, 50 * scale)],
            cores: vec![
                BusyFrac { hardirq: 0.1, softirq: 0.2, kthread: 0.0, user: 0.3, guest: 0.0, idle: 0.4 },
                BusyFrac { idle: 1.0, ..BusyFrac::default() },
            ],
            interrupts: 30,
            napi_polls: 60,
            settings: Default::default(),
        }
    }

    fn finite() -> impl Strategy<Value = f64> {
        prop_oneof![Just(0.0), -1e3..1e3f64, proptest::num::f64::NORMAL | proptest::num::f64::ZERO]
    }

    fn any_run() -> impl Strategy<Value = RunResult> {
        let frac = (finite(), finite(), finite(), finite(), finite(), finite()).prop_map(|f| BusyFrac {
            hardirq: f.0,
            softirq: f.1,
            kthread: f.2,
            user: f.3,
            guest: f.4,
            idle: f.5,
        });
        (
            (any::<u64>(), any::<u64>(), any::<u64>(), finite()),
            prop::collection::vec(any::<u64>(), 0..6),
            prop::collection::vec(frac, 0..5),
            ".{0,80}",
        )
            .prop_map(|((delivered, interrupts, polls, pps), mut ns, cores, label)| {
                ns.sort_unstable();
                let n = ns.len();
                let cdf: Vec<(f64, u64)> =
                    ns.iter().enumerate().map(|(i, &v)| (i as f64 / n.max(2) as f64, v)).collect();
                let at = |k: usize| ns.get(k.min(n.saturating_sub(1))).copied().unwrap_or(0);
                RunResult {
                    label,
                    scenario: "s".into(),
                    seed: 0,
                    duration_s: 0.0,
                    offered: delivered,
                    delivered,
                    dropped: 0,
                    delivered_pps: pps,
                    delivered_gbps: pps,
                    latency: Latency {
                        count: n as u64,
                        p50: at(n / 2),
                        p90: at(n * 9 / 10),
                        p99: at(n),
                        p999: at(n),
                        max: at(n),
                        mean: 0.0,
                    },
                    cdf,
                    cores,
                    interrupts,
                    napi_polls: polls,
                    settings: Default::default(),
                }
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever numbers a document carries (JSON has no NaN or infinity),
        /// every plot draws without panicking.
        #[test]
        fn any_numbers_draw_without_panicking(runs in prop::collection::vec(any_run(), 1..4)) {
            let refs: Vec<&RunResult> = runs.iter().collect();
            for svg in [latency_cdf(&refs), cpu_time(&refs), per_packet(&refs), variants(&refs)] {
                prop_assert!(svg.is_ok_and(|s| s.starts_with("<svg")));
            }
        }
    }

    #[test]
    fn latencies_read_in_their_unit() {
        assert_eq!(ns_label(850.0), "850 ns");
        assert_eq!(ns_label(12_000.0), "12 µs");
        assert_eq!(ns_label(1_500_000.0), "1.5 ms");
        assert_eq!(number(0.0123), "0.0123");
        assert_eq!(number(2.5), "2.50");
    }

    #[test]
    fn a_cdf_draws_one_line_per_run_with_its_label() {
        let (a, b) = (run("first", 1000), run("second & more", 3000));
        let svg = latency_cdf(&[&a, &b]).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        for color in ["#1F77B4", "#FF7F0E"] {
            let lines = svg.lines().filter(|l| l.starts_with("<polyline") && l.contains(color)).count();
            assert_eq!(lines, 1, "one line per run, in the series colour {color}");
        }
        assert!(svg.contains("\nfirst\n") && svg.contains("\nsecond &amp; more\n"), "legend names the runs");
        assert!(svg.contains("Wire-to-application latency"));
        assert_eq!(svg, latency_cdf(&[&a, &b]).unwrap(), "the same input draws the same bytes");
    }

    #[test]
    fn stacked_bars_draw_only_the_contexts_with_time() {
        let a = run("a", 1000);
        let svg = cpu_time(&[&a]).unwrap();
        // Core 0: four non-zero contexts; core 1: idle only; legend: six swatches.
        let filled_rects = svg.matches("<rect").count();
        let background = 1;
        assert_eq!(filled_rects, background + 4 + 1 + 6, "{svg}");
    }

    #[test]
    fn per_packet_bars_show_their_values() {
        let a = run("a", 1000);
        let svg = per_packet(&[&a]).unwrap();
        assert!(svg.contains("\n0.300\n"), "interrupts per packet 30/100");
        assert!(svg.contains("\n0.600\n"), "polls per packet 60/100");
    }
}
