//! The settings a run was given, from its metrics document's
//! `resolved_scenario`, as `--set` names them: what `irqlab compare` and the
//! report's table of runs show of how runs differ.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Every setting of a resolved scenario by its key (`nic.queues`); a list
/// (queues' CPUs, `[[apps]]`) is one value.
pub fn flatten(scenario: &Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    walk(scenario, "", &mut out);
    out
}

fn walk(v: &Value, path: &str, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                walk(x, &p, out);
            }
        }
        other if !path.is_empty() => {
            out.insert(path.to_owned(), other.clone());
        }
        _ => {}
    }
}

/// The keys whose value is not the same in every one of `runs` (a key
/// some lack differs), in key order.
pub fn differing(runs: &[&BTreeMap<String, Value>]) -> Vec<String> {
    let keys: BTreeSet<&String> = runs.iter().flat_map(|r| r.keys()).collect();
    keys.into_iter().filter(|k| runs.windows(2).any(|w| w[0].get(*k) != w[1].get(*k))).map(|k| k.to_string()).collect()
}

/// `key = value` as the report and `compare` print a setting (`(none)`:
/// the run's scenario has no such key).
pub fn shown(v: Option<&Value>) -> String {
    v.map_or("(none)".to_owned(), Value::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_are_keyed_as_set_names_them_and_lists_are_one_value() {
        let s = flatten(
            &json!({"seed": 1, "nic": {"queues": 4, "coalesce": {"adaptive_rx": true}}, "apps": [{"threads": 2}]}),
        );
        let keys: Vec<&str> = s.keys().map(String::as_str).collect();
        assert_eq!(keys, ["apps", "nic.coalesce.adaptive_rx", "nic.queues", "seed"]);
        assert_eq!(s["apps"], json!([{"threads": 2}]));
        assert!(flatten(&json!(null)).is_empty());
    }

    #[test]
    fn a_key_differs_when_any_run_has_another_value_or_lacks_it() {
        let a = flatten(&json!({"seed": 1, "nic": {"queues": 4}}));
        let b = flatten(&json!({"seed": 1, "nic": {"queues": 2}}));
        let c = flatten(&json!({"seed": 1, "nic": {"queues": 4}, "vm": {"cores": [2]}}));
        assert_eq!(differing(&[&a, &b]), ["nic.queues"]);
        assert_eq!(differing(&[&a, &c]), ["vm.cores"]);
        assert_eq!(differing(&[&a, &b, &c]), ["nic.queues", "vm.cores"]);
        assert!(differing(&[&a, &a]).is_empty() && differing(&[&a]).is_empty());
        assert_eq!((shown(a.get("nic.queues")), shown(a.get("vm.cores"))), ("4".to_owned(), "(none)".to_owned()));
    }
}
