//! Durations as `irqlab run --duration` and sweep files take them: `50ms`,
//! `2s`, `500us`, or a bare number of milliseconds, within a scenario's
//! bounds (1 µs to one simulated hour).

use irqlab_model::config::{MAX_DURATION_MS, MIN_DURATION_MS};

/// Parses `50ms`, `2s`, `500us`, `1.5` (ms) into milliseconds, within the
/// scenario's bounds (1 µs to one hour).
pub fn parse_duration_ms(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let (num, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix("us").or_else(|| t.strip_suffix("µs")) {
        (n, 1e-3)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1e3)
    } else {
        (t, 1.0)
    };
    let v: f64 = num.trim().parse().map_err(|_| format!("expected a duration such as 50ms, 2s or 500us, got '{s}'"))?;
    if !(v.is_finite() && v > 0.0) {
        return Err(format!("expected a positive duration, got '{s}'"));
    }
    let ms = v * scale;
    if !(MIN_DURATION_MS..=MAX_DURATION_MS).contains(&ms) {
        return Err(format!("expected a duration of 1us to 3600s (one simulated hour), got '{s}'"));
    }
    Ok(ms)
}
