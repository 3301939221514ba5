//! The built-in experiments, one file each, and their registry.
//!
//! Dependencies run one way: each experiment uses the framework in
//! [`crate::experiment`], and this registry lists the experiments; the
//! framework knows nothing of either. The registry functions are re-exported
//! at the crate root (`irqlab_scenario::experiments()`,
//! `irqlab_scenario::experiment(name)`).

mod affinity_locality;
mod doorbell_barrier;
mod eoi_order;
mod msix_vs_legacy;
mod napi_livelock;
mod notify;
mod steering;

use crate::experiment::Experiment;

/// Every built-in experiment, in the order `irqlab experiment list` shows them.
pub fn experiments() -> Vec<Experiment> {
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

/// The built-in experiment called `name`.
pub fn experiment(name: &str) -> Option<Experiment> {
    experiments().into_iter().find(|e| e.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_experiment_has_a_unique_name_and_variants() {
        let all = experiments();
        let mut names: Vec<&str> = all.iter().map(|e| e.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), all.len());
        for e in &all {
            let vs = (e.variants)(true);
            assert!(!vs.is_empty(), "{}", e.name);
            for v in &vs {
                assert!(!v.params.is_empty(), "{}: variant {} names no params", e.name, v.name);
            }
        }
    }

    #[test]
    fn experiment_finds_by_name() {
        assert_eq!(experiment("notify").map(|e| e.name), Some("notify"));
        assert!(experiment("no-such-experiment").is_none());
    }
}
