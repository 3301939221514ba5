//! This process's resource usage, from `getrusage(2)`: the CPU time it has
//! spent and its peak resident memory. `irqlab bench` runs each measured
//! scenario in a process of its own and reads these there, so one case's
//! memory does not hide in another's peak.

use crate::HostError;
use nix::sys::resource::{UsageWho, getrusage};

/// CPU time and peak memory of this process so far.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Usage {
    /// User plus system CPU time, seconds (`ru_utime` + `ru_stime`).
    pub cpu_s: f64,
    /// Peak resident set size, bytes (`ru_maxrss`, which Linux reports in
    /// KiB).
    pub max_rss_bytes: u64,
}

/// This process's usage (`RUSAGE_SELF`).
pub fn self_usage() -> Result<Usage, HostError> {
    let u = getrusage(UsageWho::RUSAGE_SELF)
        .map_err(|e| HostError::Io { file: "getrusage(RUSAGE_SELF)".into(), message: e.to_string() })?;
    let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 * 1e-6;
    Ok(Usage { cpu_s: secs(u.user_time()) + secs(u.system_time()), max_rss_bytes: u.max_rss().max(0) as u64 * 1024 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_grows_with_work_and_memory_is_counted() {
        let before = self_usage().expect("getrusage works on Linux");
        // Touch 32 MiB and spin a little: both figures must move.
        let v: Vec<u8> = vec![1; 32 << 20];
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(i ^ v[(i as usize) & 0xffff] as u64);
        }
        std::hint::black_box(x);
        let after = self_usage().unwrap();
        assert!(after.cpu_s > before.cpu_s, "{before:?} -> {after:?}");
        assert!(after.max_rss_bytes >= 32 << 20, "{after:?}");
        std::hint::black_box(&v);
    }
}
