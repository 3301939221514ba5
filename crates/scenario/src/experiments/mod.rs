//! The built-in experiments, one file each.

mod affinity_locality;
mod doorbell_barrier;
mod eoi_order;
mod msix_vs_legacy;
mod napi_livelock;
mod notify;
mod steering;

use crate::experiment::Experiment;

/// Every built-in experiment, in the order `irqlab experiment list` shows them.
pub fn all() -> Vec<Experiment> {
    vec![
        msix_vs_legacy::experiment(),
        affinity_locality::experiment(),
        napi_livelock::experiment(),
        steering::experiment(),
        notify::experiment(),
        eoi_order::experiment(),
        doorbell_barrier::experiment(),
    ]
}

/// Formats a rate in Mpps with two decimals.
pub(crate) fn mpps(v: f64) -> String {
    format!("{:.2}", v / 1e6)
}
