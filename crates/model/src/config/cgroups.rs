//! `[[cgroups]]`: cgroup v2 CPU controllers the application threads join — `cpu.max` (CFS bandwidth control) and
//! `cpuset.cpus` (Documentation/admin-guide/cgroup-v2.rst, "CPU" and
//! "Cpuset" interface files).

use super::cpuset::parse_cpulist;
use super::{ValidateCx, apps::AppConfig};
use serde::{Deserialize, Serialize};

/// Shortest `period_us`: 1 ms, the kernel's `min_cfs_quota_period`
/// (kernel/sched/core.c).
pub const MIN_PERIOD_US: u64 = 1_000;
/// Longest `period_us`: 250 ms, a modelling bound below the drain's
/// 300 ms (progress.rs), so a throttled thread always runs again during
/// the drain (the kernel's `max_cfs_quota_period` is 1 s).
pub const MAX_PERIOD_US: u64 = 250_000;
/// Smallest `cpu_max_us`: 1 ms, the kernel's `min_cfs_quota_period`
/// also bounds the quota (`tg_set_cfs_bandwidth`).
pub const MIN_QUOTA_US: u64 = 1_000;
/// Largest `cpu_max_us`: one hour, a modelling bound (the kernel allows
/// up to `max_cfs_runtime`, about 2^44 µs).
pub const MAX_QUOTA_US: u64 = 3_600_000_000;
/// Most cgroups a scenario may declare.
pub const MAX_CGROUPS: usize = 64;

/// One cgroup with the `cpu` and `cpuset` controllers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CgroupConfig {
    /// Its name, which `apps[].cgroup` refers to.
    pub name: String,
    /// `cpu.max`'s quota, µs of CPU time per period; absent is `max`
    /// (no limit). [`MIN_QUOTA_US`]..=[`MAX_QUOTA_US`].
    #[serde(default)]
    pub cpu_max_us: Option<u64>,
    /// `cpu.max`'s period, µs (the kernel's default is 100000);
    /// [`MIN_PERIOD_US`]..=[`MAX_PERIOD_US`].
    #[serde(default = "default_period")]
    pub period_us: u64,
    /// `cpuset.cpus` as a cpulist (`"0-3,8"`); absent is every core. The
    /// threads of the group must be pinned inside it, and a thread that
    /// migrates stays inside it.
    #[serde(default)]
    pub cpuset: Option<String>,
    /// `cpu.weight`: the group's share of a CPU against the other tasks
    /// runnable there, relative to the default 100; 1..=10000.
    #[serde(default = "default_weight")]
    pub weight: u32,
    /// Cores on each of which the group runs one always-runnable thread: a
    /// batch job competing for the CPU (`stress -c`). Each must be in the
    /// group's cpuset. Empty: none.
    #[serde(default)]
    pub batch_cores: Vec<u32>,
}

fn default_weight() -> u32 {
    100
}

fn default_period() -> u64 {
    100_000
}

impl CgroupConfig {
    /// A group `name` with no limit.
    pub fn unlimited(name: &str) -> CgroupConfig {
        CgroupConfig {
            name: name.into(),
            cpu_max_us: None,
            period_us: default_period(),
            cpuset: None,
            weight: default_weight(),
            batch_cores: Vec::new(),
        }
    }

    /// The cores of `cpuset.cpus` (every core of `cores` when absent or invalid).
    pub fn cpus(&self, cores: u32) -> Vec<u32> {
        match self.cpuset.as_deref().map(parse_cpulist) {
            Some(Ok(list)) => list,
            _ => (0..cores).collect(),
        }
    }
}

/// The index of the group called `name`.
pub fn index_of(groups: &[CgroupConfig], name: &str) -> Option<usize> {
    groups.iter().position(|g| g.name == name)
}

/// Checks `[[cgroups]]`, and that each thread's group exists and contains
/// its core.
pub fn validate(groups: &[CgroupConfig], apps: &[AppConfig], cx: &mut ValidateCx) {
    if groups.len() > MAX_CGROUPS {
        cx.err("cgroups", format!("expected at most {MAX_CGROUPS} groups, got {}", groups.len()));
    }
    for (i, g) in groups.iter().enumerate() {
        if g.name.is_empty() {
            cx.err(format!("cgroups[{i}].name"), "expected a non-empty name");
        } else if index_of(groups, &g.name) != Some(i) {
            cx.err(format!("cgroups[{i}].name"), format!("group {:?} is declared twice", g.name));
        }
        if !(MIN_PERIOD_US..=MAX_PERIOD_US).contains(&g.period_us) {
            cx.err(
                format!("cgroups[{i}].period_us"),
                format!("expected {MIN_PERIOD_US}..={MAX_PERIOD_US} µs (1 ms to 250 ms), got {}", g.period_us),
            );
        }
        if let Some(q) = g.cpu_max_us
            && !(MIN_QUOTA_US..=MAX_QUOTA_US).contains(&q)
        {
            cx.err(format!("cgroups[{i}].cpu_max_us"), format!("expected {MIN_QUOTA_US}..={MAX_QUOTA_US} µs, got {q}"));
        }
        if !(1..=10_000).contains(&g.weight) {
            cx.err(format!("cgroups[{i}].weight"), format!("expected 1..=10000 (cpu.weight), got {}", g.weight));
        }
        for (k, c) in g.batch_cores.iter().enumerate() {
            let path = format!("cgroups[{i}].batch_cores[{k}]");
            if *c >= cx.cores {
                let m = cx.no_such_core(*c);
                cx.err(path, m);
            } else if !g.cpus(cx.cores).contains(c) {
                cx.err(path, format!("core {c} is outside the group's cpuset {:?}", g.cpuset.as_deref().unwrap_or("")));
            } else if g.batch_cores[..k].contains(c) {
                cx.err(path, format!("core {c} is listed twice"));
            }
        }
        if !g.batch_cores.is_empty() && g.cpu_max_us.is_some() {
            cx.err(
                format!("cgroups[{i}].cpu_max_us"),
                "a group running batch threads has no cpu.max in the model (its threads are not throttled): give the quota to another group",
            );
        }
        if let Some(list) = &g.cpuset {
            match parse_cpulist(list) {
                Err(e) => cx.err(format!("cgroups[{i}].cpuset"), e),
                Ok(cpus) if cpus.is_empty() => cx.err(format!("cgroups[{i}].cpuset"), "expected at least one core"),
                Ok(cpus) => {
                    if let Some(c) = cpus.iter().find(|c| **c >= cx.cores) {
                        let m = cx.no_such_core(*c);
                        cx.err(format!("cgroups[{i}].cpuset"), m);
                    }
                }
            }
        }
    }
    let member = |path: String, group: &Option<String>, core: u32, cx: &mut ValidateCx| {
        let Some(name) = group else { return };
        match index_of(groups, name) {
            None => cx.err(path, format!("no [[cgroups]] entry is called {name:?}")),
            Some(g) if !groups[g].cpus(cx.cores).contains(&core) => cx.err(
                path,
                format!(
                    "core {core} is outside group {name:?}'s cpuset {:?}",
                    groups[g].cpuset.as_deref().unwrap_or("")
                ),
            ),
            Some(_) => {}
        }
    };
    for (i, a) in apps.iter().enumerate() {
        member(format!("apps[{i}].cgroup"), &a.cgroup, a.core, cx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scenario;
    use crate::config::testutil::{only_error, valid};

    #[test]
    fn groups_are_checked_and_members_must_be_inside_their_cpuset() {
        let mut s = Scenario::default();
        s.cgroups =
            vec![CgroupConfig { cpu_max_us: Some(20_000), cpuset: Some("1-2".into()), ..CgroupConfig::unlimited("c") }];
        s.apps = vec![AppConfig { cgroup: Some("c".into()), ..AppConfig::on_core(1) }];
        valid(&s);
        s.apps[0].core = 0;
        only_error(&s, "apps[0].cgroup", "outside group \"c\"'s cpuset");
        s.apps[0].core = 1;
        s.apps[0].cgroup = Some("d".into());
        only_error(&s, "apps[0].cgroup", "no [[cgroups]] entry");
        s.apps[0].cgroup = None;
        s.cgroups[0].period_us = 10;
        only_error(&s, "cgroups[0].period_us", "1 ms to 250 ms");
        s.cgroups[0].period_us = 100_000;
        s.cgroups[0].cpu_max_us = Some(5);
        only_error(&s, "cgroups[0].cpu_max_us", "expected 1000..=");
        s.cgroups[0].cpu_max_us = None;
        s.cgroups[0].cpuset = Some("7".into());
        only_error(&s, "cgroups[0].cpuset", "core 7");
    }
}
