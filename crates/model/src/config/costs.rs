//! `[costs]` and `[costs.memory]`: the checks on the cost model (the table's
//! type, [`crate::costs::CostModel`], lives with the costs it describes).

use super::ValidateCx;
use crate::costs::CostModel;

/// Checks `[costs]` and `[costs.memory]`.
pub fn validate(costs: &CostModel, cx: &mut ValidateCx) {
    for (name, v) in costs.fields() {
        if !(v.is_finite() && v >= 0.0) {
            cx.err(format!("costs.{name}"), format!("expected a non-negative finite number, got {v}"));
        }
    }
    for e in costs.memory.validate() {
        cx.err(format!("costs.memory.{}", e.field), e.message);
    }
    if !(costs.copy_bytes_per_ns.is_finite() && costs.copy_bytes_per_ns > 0.0) {
        cx.err("costs.copy_bytes_per_ns", format!("expected a positive bandwidth, got {}", costs.copy_bytes_per_ns));
    }
}
