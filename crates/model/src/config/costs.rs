//! `[costs]` and `[costs.memory]`: the checks on the cost model (the table's
//! type, [`crate::costs::CostModel`], lives with the costs it describes).
//!
//! Every time is non-negative and at most [`MAX_COST_NS`] (one second per
//! operation); the copy bandwidth is between [`MIN_COPY_BYTES_PER_NS`] and
//! [`MAX_COPY_BYTES_PER_NS`].

use super::{MAX_COST_NS, ValidateCx, num};
use crate::costs::CostModel;

/// Lowest copy bandwidth, bytes/ns: 1 MB/s, so copying a frame takes at
/// most 1.5 ms.
pub const MIN_COPY_BYTES_PER_NS: f64 = 0.001;
/// Highest copy bandwidth, bytes/ns: 1 TB/s, far above a core's memcpy
/// (35–40 GB/s in L3).
pub const MAX_COPY_BYTES_PER_NS: f64 = 1000.0;

/// Largest `copy_cache_resident_bytes`: 1 TiB, beyond any cache.
pub const MAX_RESIDENT_BYTES: f64 = (1u64 << 40) as f64;

/// Checks `[costs]` and `[costs.memory]`.
pub fn validate(costs: &CostModel, cx: &mut ValidateCx) {
    for (name, v) in costs.fields() {
        if name.ends_with("_bytes_per_ns") {
            continue;
        }
        if name == "copy_cache_resident_bytes" {
            if !(v.is_finite() && (0.0..=MAX_RESIDENT_BYTES).contains(&v)) {
                cx.err(
                    format!("costs.{name}"),
                    format!("expected 0..={MAX_RESIDENT_BYTES} bytes (1 TiB), got {}", num(v)),
                );
            }
            continue;
        }
        if !(v.is_finite() && v >= 0.0) {
            cx.err(format!("costs.{name}"), format!("expected a non-negative finite number, got {}", num(v)));
        } else if v > MAX_COST_NS {
            cx.err(format!("costs.{name}"), format!("expected at most one second ({MAX_COST_NS} ns), got {}", num(v)));
        }
    }
    for e in costs.memory.validate() {
        cx.err(format!("costs.memory.{}", e.field), e.message);
    }
    for (name, v) in costs.memory.fields() {
        if name.ends_with("_ns") && v.is_finite() && v > MAX_COST_NS {
            cx.err(
                format!("costs.memory.{name}"),
                format!("expected at most one second ({MAX_COST_NS} ns), got {}", num(v)),
            );
        }
    }
    for (key, copy) in
        [("copy_bytes_per_ns", costs.copy_bytes_per_ns), ("copy_dram_bytes_per_ns", costs.copy_dram_bytes_per_ns)]
    {
        if !(copy.is_finite() && copy > 0.0) {
            cx.err(format!("costs.{key}"), format!("expected a positive bandwidth, got {}", num(copy)));
        } else if !(MIN_COPY_BYTES_PER_NS..=MAX_COPY_BYTES_PER_NS).contains(&copy) {
            cx.err(
                format!("costs.{key}"),
                format!(
                    "expected {MIN_COPY_BYTES_PER_NS}..={MAX_COPY_BYTES_PER_NS} bytes/ns (1 MB/s to 1 TB/s), got {}",
                    num(copy)
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scenario;
    use crate::config::testutil::{only_error, valid};

    #[test]
    fn every_cost_is_at_most_one_second() {
        let mut s = Scenario::default();
        s.costs.syscall_ns = MAX_COST_NS;
        s.costs.memory.sfence_ns = MAX_COST_NS;
        valid(&s);
        s.costs.syscall_ns = 2e9;
        only_error(&s, "costs.syscall_ns", "at most one second");
        s.costs.syscall_ns = 100.0;
        s.costs.memory.sfence_ns = 2e9;
        only_error(&s, "costs.memory.sfence_ns", "at most one second");
    }

    #[test]
    fn copy_bandwidth_is_1_mbps_to_1_tbps() {
        let mut s = Scenario::default();
        for ok in [MIN_COPY_BYTES_PER_NS, MAX_COPY_BYTES_PER_NS] {
            s.costs.copy_bytes_per_ns = ok;
            valid(&s);
        }
        s.costs.copy_bytes_per_ns = 1e-300;
        only_error(&s, "costs.copy_bytes_per_ns", "1 MB/s to 1 TB/s");
        s.costs.copy_bytes_per_ns = -1.0;
        only_error(&s, "costs.copy_bytes_per_ns", "positive bandwidth");
    }
}
