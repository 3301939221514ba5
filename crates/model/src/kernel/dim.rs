//! Dynamic interrupt moderation (`ethtool -C … adaptive-rx on`), as Linux's
//! net_dim does it (lib/dim/net_dim.c, lib/dim/dim.c): every
//! [`DIM_NEVENTS`] interrupts of a queue, the driver compares the queue's
//! byte, packet and interrupt rates with the previous window's and walks a
//! table of five coalescing profiles — towards more coalescing while the
//! rates improve, back when they get worse, parking where a step either way
//! made things worse, and resting ("tired") after ten steps.
//!
//! The driver calls [`Dim::sample`] when a poll completes (as mlx5e does
//! from its NAPI poll); a changed profile is written to the queue's
//! interrupt throttling registers at once (Linux defers the write to a
//! work item, a few microseconds later).

use irqlab_engine::Time;

/// Interrupts between two decisions (`DIM_NEVENTS`).
pub const DIM_NEVENTS: u64 = 64;

/// The receive profiles of CQE-based moderation
/// (`NET_DIM_RX_CQE_PROFILES`): (`rx-usecs`, `rx-frames`). CQE-based means
/// the timer restarts at each completion, so a queue interrupts once its
/// traffic pauses for `rx-usecs` or `rx-frames` completions wait (Linux
/// commit "net/mlx5e: CQE based moderation"; the NIC applies the rule with
/// net_dim, devices/nic) — and it is mlx5's default for RX on devices that
/// support it (`rx_cqe_moder` on).
pub const RX_PROFILES: [(u32, u32); 5] = [(2, 256), (8, 128), (16, 64), (32, 64), (64, 64)];

/// The profile a queue starts with (`NET_DIM_DEF_PROFILE_CQE`).
pub const DEFAULT_PROFILE: usize = 1;

/// Steps before resting: twice the number of profiles.
const TIRED_STEPS: u32 = 2 * RX_PROFILES.len() as u32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tune {
    ParkingOnTop,
    ParkingTired,
    GoingRight,
    GoingLeft,
}

/// Rates over one window (`struct dim_stats`), per millisecond.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DimStats {
    /// Packets per ms.
    pub ppms: u64,
    /// Bytes per ms.
    pub bpms: u64,
    /// Interrupts per ms.
    pub epms: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Better,
    Worse,
    Same,
}

/// A counter snapshot (`struct dim_sample`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DimSample {
    /// When.
    pub time: Time,
    /// Interrupts so far.
    pub events: u64,
    /// Packets so far.
    pub packets: u64,
    /// Bytes so far.
    pub bytes: u64,
}

/// One queue's moderation state (`struct dim`).
#[derive(Clone, Debug)]
pub struct Dim {
    /// The current profile, an index into [`RX_PROFILES`].
    pub profile: usize,
    /// Times the profile changed.
    pub changes: u64,
    tune: Tune,
    prev: DimStats,
    start: Option<DimSample>,
    steps_left: u32,
    steps_right: u32,
    tired: u32,
}

impl Default for Dim {
    fn default() -> Self {
        Dim {
            profile: DEFAULT_PROFILE,
            changes: 0,
            tune: Tune::ParkingOnTop,
            prev: DimStats::default(),
            start: None,
            steps_left: 0,
            steps_right: 0,
            tired: 0,
        }
    }
}

/// `IS_SIGNIFICANT_DIFF`: more than 10 % apart.
fn significant(val: u64, reference: u64) -> bool {
    reference != 0 && 100 * val.abs_diff(reference) / reference > 10
}

/// `net_dim_stats_compare`: bytes first, then packets, then fewer interrupts.
fn compare(curr: &DimStats, prev: &DimStats) -> Verdict {
    let by = |c: u64, p: u64, more_is_better: bool| {
        if (c > p) == more_is_better { Verdict::Better } else { Verdict::Worse }
    };
    if prev.bpms == 0 {
        return if curr.bpms > 0 { Verdict::Better } else { Verdict::Same };
    }
    if significant(curr.bpms, prev.bpms) {
        return by(curr.bpms, prev.bpms, true);
    }
    if prev.ppms == 0 {
        return if curr.ppms > 0 { Verdict::Better } else { Verdict::Same };
    }
    if significant(curr.ppms, prev.ppms) {
        return by(curr.ppms, prev.ppms, true);
    }
    if prev.epms == 0 {
        return Verdict::Same;
    }
    if significant(curr.epms, prev.epms) {
        return by(curr.epms, prev.epms, false);
    }
    Verdict::Same
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Stepped,
    TooTired,
    OnEdge,
}

impl Dim {
    /// The current profile's (`rx-usecs`, `rx-frames`).
    pub fn moderation(&self) -> (u32, u32) {
        RX_PROFILES[self.profile]
    }

    /// `net_dim()`: called with the queue's counters when a poll
    /// completes; returns the new profile's moderation when it changed.
    pub fn sample(&mut self, now: DimSample) -> Option<(u32, u32)> {
        let Some(start) = self.start else {
            self.start = Some(now);
            return None;
        };
        if now.events.saturating_sub(start.events) < DIM_NEVENTS {
            return None;
        }
        self.start = Some(now);
        let us = now.time.since(start.time).as_ps() / 1_000_000;
        if us == 0 {
            return None;
        }
        // DIV_ROUND_UP(n * USEC_PER_MSEC, delta_us)
        let per_ms = |n: u64| (n * 1000).div_ceil(us);
        let curr = DimStats {
            ppms: per_ms(now.packets - start.packets),
            bpms: per_ms(now.bytes - start.bytes),
            epms: per_ms(DIM_NEVENTS),
        };
        let before = self.profile;
        self.decide(&curr);
        (self.profile != before).then(|| {
            self.changes += 1;
            self.moderation()
        })
    }

    /// `net_dim_decision`.
    fn decide(&mut self, curr: &DimStats) {
        let prev_tune = self.tune;
        match self.tune {
            Tune::ParkingOnTop => {
                if compare(curr, &self.prev) != Verdict::Same {
                    self.exit_parking();
                }
            }
            Tune::ParkingTired => {
                self.tired -= 1;
                if self.tired == 0 {
                    self.exit_parking();
                }
            }
            Tune::GoingRight | Tune::GoingLeft => {
                if compare(curr, &self.prev) != Verdict::Better {
                    self.turn();
                }
                if self.on_top() {
                    self.park_on_top();
                } else {
                    match self.step() {
                        Step::OnEdge => self.park_on_top(),
                        Step::TooTired => self.park_tired(),
                        Step::Stepped => {}
                    }
                }
            }
        }
        if prev_tune != Tune::ParkingOnTop || self.tune != Tune::ParkingOnTop {
            self.prev = *curr;
        }
    }

    /// `net_dim_step`.
    fn step(&mut self) -> Step {
        if self.tired == TIRED_STEPS {
            return Step::TooTired;
        }
        match self.tune {
            Tune::ParkingOnTop | Tune::ParkingTired => {}
            Tune::GoingRight => {
                if self.profile == RX_PROFILES.len() - 1 {
                    return Step::OnEdge;
                }
                self.profile += 1;
                self.steps_right += 1;
            }
            Tune::GoingLeft => {
                if self.profile == 0 {
                    return Step::OnEdge;
                }
                self.profile -= 1;
                self.steps_left += 1;
            }
        }
        self.tired += 1;
        Step::Stepped
    }

    fn exit_parking(&mut self) {
        self.tune = if self.profile > 0 { Tune::GoingLeft } else { Tune::GoingRight };
        self.step();
    }

    /// `dim_on_top`: one step back after several the other way.
    fn on_top(&self) -> bool {
        match self.tune {
            Tune::ParkingOnTop | Tune::ParkingTired => true,
            Tune::GoingRight => self.steps_left > 1 && self.steps_right == 1,
            Tune::GoingLeft => self.steps_right > 1 && self.steps_left == 1,
        }
    }

    /// `dim_turn`.
    fn turn(&mut self) {
        match self.tune {
            Tune::ParkingOnTop | Tune::ParkingTired => {}
            Tune::GoingRight => {
                self.tune = Tune::GoingLeft;
                self.steps_left = 0;
            }
            Tune::GoingLeft => {
                self.tune = Tune::GoingRight;
                self.steps_right = 0;
            }
        }
    }

    fn park_on_top(&mut self) {
        self.steps_right = 0;
        self.steps_left = 0;
        self.tired = 0;
        self.tune = Tune::ParkingOnTop;
    }

    fn park_tired(&mut self) {
        self.steps_right = 0;
        self.steps_left = 0;
        self.tune = Tune::ParkingTired;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use irqlab_engine::Dur;

    /// Feeds windows of 64 interrupts, each 1 ms long, with the given
    /// bytes per window; returns the profile after each.
    fn walk(bytes_per_window: &[u64]) -> Vec<usize> {
        let mut d = Dim::default();
        let mut s = DimSample::default();
        assert_eq!(d.sample(s), None, "the first call only starts a window");
        let mut out = Vec::new();
        for b in bytes_per_window {
            s.time += Dur::from_us(1000);
            s.events += DIM_NEVENTS;
            s.packets += b / 64;
            s.bytes += b;
            d.sample(s);
            out.push(d.profile);
        }
        out
    }

    #[test]
    fn it_leaves_parking_and_steps_left_from_the_default_profile() {
        // First window: prev is empty and bytes flowed: Better, so it exits
        // parking towards profile 0 (it starts at 1, so left).
        assert_eq!(walk(&[64_000]), [0]);
    }

    #[test]
    fn it_turns_when_rates_get_worse_and_parks_on_the_edge() {
        // Left to 0, then worse (turn right → 1), better (→ 2), better (→ 3), …
        let p = walk(&[64_000, 32_000, 64_000, 128_000, 256_000, 512_000]);
        assert_eq!(p, [0, 1, 2, 3, 4, 4]);
    }

    #[test]
    fn a_step_back_that_helps_parks_it_there_until_the_rates_move() {
        // Right to 3 while it helps, a worse window turns it left to 2, the
        // next is better: one step back after several forward is the top,
        // so it parks at 2. Same rates keep it there; a >10 % change wakes
        // it, and it leaves to the left.
        let p = walk(&[64_000, 32_000, 64_000, 128_000, 64_000, 128_000, 128_000, 128_000, 256_000]);
        assert_eq!(p, [0, 1, 2, 3, 2, 2, 2, 2, 1]);
    }

    #[test]
    fn steady_rates_wander_ten_steps_then_rest_ten_windows() {
        // Same rates are never "better", so it turns every window: 0, 1, 0, …
        // After ten steps it is tired, rests ten windows, then leaves parking.
        let p = walk(&[64_000; 22]);
        assert_eq!(p[..10], [0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
        assert!(p[10..20].iter().all(|x| *x == 1), "{p:?}");
        assert_eq!(p[20], 0);
    }

    #[test]
    fn significance_is_more_than_ten_percent() {
        assert!(!significant(110, 100));
        assert!(significant(112, 100));
        assert!(!significant(5, 0), "no reference, no difference");
        let a = DimStats { bpms: 100, ppms: 10, epms: 64 };
        assert_eq!(compare(&DimStats { bpms: 105, ..a }, &a), Verdict::Same);
        assert_eq!(compare(&DimStats { epms: 50, ..a }, &a), Verdict::Better, "fewer interrupts for the same work");
        assert_eq!(compare(&DimStats { ppms: 8, ..a }, &a), Verdict::Worse);
    }
}
