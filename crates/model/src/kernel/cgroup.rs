//! cgroup v2 CPU bandwidth state (CFS bandwidth control): one value per
//! `[[cgroups]]` entry. The behaviour is in kernel/bandwidth.rs.

use crate::config::CgroupConfig;
use crate::ids::ThreadId;
use irqlab_engine::{Dur, Time};
use serde::Serialize;

/// One group's `cpu.max` and its run-time pool.
#[derive(Clone, Debug)]
pub struct Cgroup {
    /// Its name.
    pub name: String,
    /// Quota per period; `None` is `max`.
    pub quota: Option<Dur>,
    /// The period.
    pub period: Dur,
    /// Run time left in this period, picoseconds (`cfs_b->runtime`); it
    /// goes negative when a burst overruns, and the debt is paid from the
    /// next period's refill.
    pub runtime: i64,
    /// The period timer is armed.
    pub timer_active: bool,
    /// No thread of the group ran during the period so far (`cfs_b->idle`).
    pub idle: bool,
    /// Throttled threads and when each was throttled.
    pub throttled: Vec<(ThreadId, Time)>,
    /// Its `cpu.stat`.
    pub stat: CpuStat,
    /// Threads throttled (counted where a thread is throttled).
    pub throttles: u64,
    /// Threads unthrottled (counted by the period timer).
    pub unthrottles: u64,
    /// `cpu.weight`.
    pub weight: u32,
}

/// One always-runnable thread of a group's batch job
/// (`cgroups[].batch_cores`).
#[derive(Clone, Copy, Debug)]
pub struct BatchThread {
    /// Its CPU.
    pub cpu: crate::ids::CpuId,
    /// Its group.
    pub group: usize,
}

/// `cpu.stat` of a group, in nanoseconds (the file shows microseconds).
#[derive(Clone, Debug, Default, Serialize)]
pub struct CpuStat {
    /// `usage_usec`: CPU time its threads ran (task context only).
    pub usage_ns: u64,
    /// `nr_periods`: periods elapsed while the period timer was armed.
    pub nr_periods: u64,
    /// `nr_throttled`: periods that ended with the group throttled.
    pub nr_throttled: u64,
    /// `throttled_usec`: time each CPU's share of the group spent throttled,
    /// summed over CPUs, for throttles that have ended.
    pub throttled_ns: u64,
}

impl Cgroup {
    /// The state of a configured group at the start of a run.
    pub fn new(c: &CgroupConfig) -> Cgroup {
        let quota = c.cpu_max_us.map(Dur::from_us);
        Cgroup {
            name: c.name.clone(),
            quota,
            period: Dur::from_us(c.period_us),
            runtime: quota.map_or(0, |q| q.as_ps() as i64),
            timer_active: false,
            idle: true,
            throttled: Vec::new(),
            stat: CpuStat::default(),
            throttles: 0,
            unthrottles: 0,
            weight: c.weight,
        }
    }

    /// Whether its threads may not run now: a quota with the pool spent.
    pub fn exhausted(&self) -> bool {
        self.quota.is_some() && self.runtime <= 0
    }
}
