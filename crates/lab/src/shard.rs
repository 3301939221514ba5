//! Shards: which runs of a sweep one machine (or one array task) runs.
//!
//! Shard `I/N` is 1-based, `1 ≤ I ≤ N`, and runs the runs whose number `r`
//! (from 0) has `r mod N = I − 1`: round robin, so the shards get an even
//! share of each axis's values whatever their cost. `1/1` is the whole
//! sweep.
//!
//! `--shard auto` takes `I/N` from the environment of a batch system:
//!
//! * Slurm job arrays (`sbatch --array=…`): `SLURM_ARRAY_TASK_ID`, counted
//!   from `SLURM_ARRAY_TASK_MIN` in steps of `SLURM_ARRAY_TASK_STEP` (1 when
//!   unset), so `--array=0-3` and `--array=1-4` both make shards 1/4 to
//!   4/4; `N` is `SLURM_ARRAY_TASK_COUNT`, or from `SLURM_ARRAY_TASK_MAX`.
//! * Kubernetes Indexed Jobs: `JOB_COMPLETION_INDEX` (from 0), with `N`
//!   from `--shard-count`, or else the `IRQLAB_SHARD_COUNT` variable (the
//!   job's `completions`, which Kubernetes does not pass to the pod).
//!
//! A given `--shard-count` must agree with Slurm's count.

use std::fmt;

/// The variable a Kubernetes Indexed Job's pod reads its shard count from
/// when `--shard-count` is not given.
pub const SHARD_COUNT_VAR: &str = "IRQLAB_SHARD_COUNT";

/// Shard `index` of `count`, 1-based.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shard {
    /// 1..=count.
    pub index: u32,
    /// How many shards the sweep is split into.
    pub count: u32,
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// The whole sweep.
    pub const ALL: Shard = Shard { index: 1, count: 1 };

    /// A checked shard.
    pub fn new(index: u32, count: u32) -> Result<Shard, String> {
        if count == 0 || index == 0 || index > count {
            return Err(format!("shard {index}/{count}: expected I/N with 1 ≤ I ≤ N (shards count from 1)"));
        }
        Ok(Shard { index, count })
    }

    /// Parses `I/N`.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("expected I/N (shard I of N, from 1), e.g. 2/3, or `auto`; got '{text}'");
        let (i, n) = text.trim().split_once('/').ok_or_else(bad)?;
        let (i, n) = (i.trim().parse::<u32>().map_err(|_| bad())?, n.trim().parse::<u32>().map_err(|_| bad())?);
        Shard::new(i, n)
    }

    /// The shard a Slurm array task or a Kubernetes Indexed Job pod is
    /// (see the module documentation); `var` reads the environment.
    pub fn from_env(var: impl Fn(&str) -> Option<String>, shard_count: Option<u32>) -> Result<Shard, String> {
        let number = |name: &str| -> Result<Option<u64>, String> {
            match var(name) {
                None => Ok(None),
                Some(v) => {
                    v.trim().parse::<u64>().map(Some).map_err(|_| format!("{name}={v}: expected a whole number"))
                }
            }
        };
        let fits = |n: u64, what: &str| u32::try_from(n).map_err(|_| format!("{what} {n} is too large"));
        if let Some(id) = number("SLURM_ARRAY_TASK_ID")? {
            let min = number("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let step = number("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
            let count = match (number("SLURM_ARRAY_TASK_COUNT")?, number("SLURM_ARRAY_TASK_MAX")?) {
                (Some(c), _) => c,
                (None, Some(max)) if max >= min => (max - min) / step + 1,
                _ => {
                    return Err(
                        "SLURM_ARRAY_TASK_ID is set but neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MAX is"
                            .into(),
                    );
                }
            };
            if id < min || (id - min) % step != 0 {
                return Err(format!("SLURM_ARRAY_TASK_ID={id} is not in the array (from {min} in steps of {step})"));
            }
            let shard = Shard::new(fits((id - min) / step + 1, "task")?, fits(count, "task count")?)?;
            if let Some(n) = shard_count
                && n != shard.count
            {
                return Err(format!("--shard-count {n} disagrees with the Slurm array's {} tasks", shard.count));
            }
            return Ok(shard);
        }
        if let Some(index) = number("JOB_COMPLETION_INDEX")? {
            let count = match shard_count {
                Some(n) => n,
                None => match number(SHARD_COUNT_VAR)? {
                    Some(n) => fits(n, SHARD_COUNT_VAR)?,
                    None => {
                        return Err(format!(
                            "JOB_COMPLETION_INDEX={index} (a Kubernetes Indexed Job) needs the shard count: --shard-count N or {SHARD_COUNT_VAR}=N (the job's completions)"
                        ));
                    }
                },
            };
            return Shard::new(fits(index + 1, "JOB_COMPLETION_INDEX")?, count);
        }
        Err(format!(
            "--shard auto: no batch system found: expected SLURM_ARRAY_TASK_ID (a Slurm job array) or JOB_COMPLETION_INDEX (a Kubernetes Indexed Job, with --shard-count or {SHARD_COUNT_VAR}); or give --shard I/N"
        ))
    }

    /// Whether run `run` (from 0) is this shard's.
    pub fn has(&self, run: usize) -> bool {
        run % self.count as usize == (self.index - 1) as usize
    }

    /// This shard's runs of a sweep of `total`, in order.
    pub fn runs(&self, total: usize) -> Vec<usize> {
        (0..total).filter(|r| self.has(*r)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let owned: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| owned.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn shards_are_one_based_round_robin_and_cover_every_run_once() {
        assert_eq!(Shard::parse("2/3"), Ok(Shard { index: 2, count: 3 }));
        for bad in ["0/3", "4/3", "1/0", "3", "a/b", "-1/2"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Shard::parse("2/3").unwrap().runs(8), [1, 4, 7]);
        let mut all: Vec<usize> = (1..=3).flat_map(|i| Shard::new(i, 3).unwrap().runs(8)).collect();
        all.sort();
        assert_eq!(all, (0..8).collect::<Vec<_>>());
    }

    #[test]
    fn slurm_arrays_from_zero_or_one_or_in_steps_make_the_same_shards() {
        let zero = env(&[("SLURM_ARRAY_TASK_ID", "0"), ("SLURM_ARRAY_TASK_MIN", "0"), ("SLURM_ARRAY_TASK_COUNT", "4")]);
        assert_eq!(Shard::from_env(zero, None), Ok(Shard { index: 1, count: 4 }));
        let one = env(&[("SLURM_ARRAY_TASK_ID", "4"), ("SLURM_ARRAY_TASK_MIN", "1"), ("SLURM_ARRAY_TASK_MAX", "4")]);
        assert_eq!(Shard::from_env(one, None), Ok(Shard { index: 4, count: 4 }));
        let steps = env(&[
            ("SLURM_ARRAY_TASK_ID", "20"),
            ("SLURM_ARRAY_TASK_MIN", "10"),
            ("SLURM_ARRAY_TASK_MAX", "30"),
            ("SLURM_ARRAY_TASK_STEP", "5"),
        ]);
        assert_eq!(Shard::from_env(steps, None), Ok(Shard { index: 3, count: 5 }));
        let e = Shard::from_env(env(&[("SLURM_ARRAY_TASK_ID", "1"), ("SLURM_ARRAY_TASK_COUNT", "4")]), Some(3));
        assert!(e.unwrap_err().contains("disagrees"));
    }

    #[test]
    fn kubernetes_indexed_jobs_need_a_count_and_nothing_set_is_an_error() {
        let k = env(&[("JOB_COMPLETION_INDEX", "2")]);
        assert_eq!(Shard::from_env(&k, Some(3)), Ok(Shard { index: 3, count: 3 }));
        assert!(Shard::from_env(&k, None).unwrap_err().contains("--shard-count N or IRQLAB_SHARD_COUNT"));
        let k = env(&[("JOB_COMPLETION_INDEX", "0"), (SHARD_COUNT_VAR, "5")]);
        assert_eq!(Shard::from_env(k, None), Ok(Shard { index: 1, count: 5 }));
        assert!(Shard::from_env(env(&[("JOB_COMPLETION_INDEX", "3")]), Some(3)).is_err());
        let e = Shard::from_env(env(&[]), None).unwrap_err();
        assert!(e.contains("SLURM_ARRAY_TASK_ID") && e.contains("JOB_COMPLETION_INDEX"), "{e}");
    }
}
