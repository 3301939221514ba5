//! The built-in experiments, one file each, and their registry.
//!
//! Dependencies run one way: each experiment uses the framework in
//! [`crate::experiment`], and this registry lists the experiments; the
//! framework knows nothing of either. The registry functions are re-exported
//! at the crate root (`irqlab_scenario::experiments()`,
//! `irqlab_scenario::experiment(name)`).

mod affinity_locality;
mod container_driver;
mod doorbell_barrier;
mod eoi_order;
mod guest_ipi;
mod iommu_cost;
mod isolation;
mod moderation;
mod msix_vs_legacy;
mod napi_livelock;
mod notify;
mod steering;
mod vcpu_overcommit;
mod virt_delivery;
mod zero_copy;

use crate::experiment::Experiment;

/// Every built-in experiment, in the order `irqlab experiment list` shows them.
pub fn experiments() -> Vec<Experiment> {
    vec![
        msix_vs_legacy::experiment(),
        affinity_locality::experiment(),
        napi_livelock::experiment(),
        moderation::experiment(),
        steering::experiment(),
        notify::experiment(),
        eoi_order::experiment(),
        doorbell_barrier::experiment(),
        iommu_cost::experiment(),
        isolation::experiment(),
        zero_copy::experiment(),
        virt_delivery::experiment(),
        guest_ipi::experiment(),
        vcpu_overcommit::experiment(),
        container_driver::experiment(),
    ]
}

/// The built-in experiment called `name`.
pub fn experiment(name: &str) -> Option<Experiment> {
    experiments().into_iter().find(|e| e.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::Settings;
    use crate::keypath::{KeyPath, Segment};
    use serde_json::Value;

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

    /// The value at `path` in a serialised scenario, if the key exists.
    fn at<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
        let path = KeyPath::parse(path).ok()?;
        path.0.iter().try_fold(doc, |v, seg| match seg {
            Segment::Key(k) => v.as_object()?.get(k),
            Segment::Index(i) => v.as_array()?.get(*i),
        })
    }

    /// Whether a setting's value is what the scenario holds: numbers equal as
    /// numbers (`4` sets `4.0`), tables by the keys the setting names (the
    /// rest took their defaults), arrays element by element.
    fn holds_setting(set: &Value, got: &Value) -> bool {
        match (set, got) {
            (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
            (Value::Object(a), Value::Object(b)) => {
                a.iter().all(|(k, v)| b.get(k).is_some_and(|g| holds_setting(v, g)))
            }
            (Value::Array(a), Value::Array(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| holds_setting(x, y))
            }
            _ => set == got,
        }
    }

    fn assert_settings_hold(what: &str, settings: &Settings, scenario: &Value) {
        for (key, value) in settings.iter() {
            let got = at(scenario, key);
            assert!(got.is_some(), "{what}: {key} is not a scenario key");
            assert!(
                got.is_some_and(|g| holds_setting(value, g)),
                "{what}: {key} = {value}, but the scenario has {got:?}"
            );
        }
    }

    /// Every variant's scenario is the base scenario with exactly its params
    /// applied (derived here another way: the base scenario written out as
    /// TOML, then the params as `--set` overrides), so no field is set
    /// anywhere but in the settings; every key of the base and the params is
    /// a scenario key holding the value set.
    #[test]
    fn every_variant_is_its_base_with_exactly_its_params_applied() {
        for e in experiments() {
            for quick in [true, false] {
                let plan = e.plan(quick).unwrap_or_else(|err| panic!("{err}"));
                assert!(!plan.base.is_empty(), "{}: the base states the experiment's fixed settings", e.name);
                let default = serde_json::to_value(crate::Scenario::default()).unwrap();
                let base_doc = serde_json::to_value(&plan.base_scenario).unwrap();
                assert_ne!(base_doc, default, "{}", e.name);
                assert_settings_hold(&format!("{} base", e.name), &plan.base, &base_doc);
                let base_toml = toml::to_string(&plan.base_scenario).unwrap();
                for v in &plan.variants {
                    let what = format!("{}/{}", e.name, v.name);
                    let overrides = v.params.to_overrides().unwrap();
                    let derived =
                        crate::load_str(&base_toml, "<base>", &overrides).unwrap_or_else(|err| panic!("{what}: {err}"));
                    assert_eq!(derived, v.scenario, "{what}");
                    assert_settings_hold(&what, &v.params, &serde_json::to_value(&v.scenario).unwrap());
                }
            }
        }
    }

    /// A setting every variant states with the same value belongs in the base.
    #[test]
    fn settings_shared_by_every_variant_are_in_the_base() {
        for e in experiments() {
            for quick in [true, false] {
                let vs = (e.variants)(quick);
                if vs.len() < 2 {
                    continue;
                }
                for (key, value) in vs[0].params.iter() {
                    let everywhere = vs.iter().all(|v| v.params.iter().any(|(k, x)| k == key && x == value));
                    assert!(!everywhere, "{}: every variant sets {key} = {value}; move it to the base", e.name);
                }
            }
        }
    }
}
