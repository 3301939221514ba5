//! Simulated time as an integer number of picoseconds (docs/architecture.md).
//!
//! `u64` picoseconds cover about 213 days, with sub-nanosecond resolution for
//! 100 GbE wire times. Floating point is used only to convert human-facing
//! values (nanoseconds in a cost file, seconds in a report) at the edges.

use serde::Serialize;
use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// Picoseconds per nanosecond.
pub const PS_PER_NS: u64 = 1_000;
/// Picoseconds per microsecond.
pub const PS_PER_US: u64 = 1_000_000;
/// Picoseconds per millisecond.
pub const PS_PER_MS: u64 = 1_000_000_000;
/// Picoseconds per second.
pub const PS_PER_S: u64 = 1_000_000_000_000;

/// An instant of simulated time, in picoseconds since the start of the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Time(pub u64);

/// A span of simulated time, in picoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Dur(pub u64);

impl Time {
    /// The start of every run.
    pub const ZERO: Time = Time(0);
    /// A time no event will ever reach; used for "never".
    pub const NEVER: Time = Time(u64::MAX);

    /// Picoseconds since the start of the run.
    pub fn as_ps(self) -> u64 {
        self.0
    }
    /// Nanoseconds since the start, as a float for reports only.
    pub fn as_ns_f64(self) -> f64 {
        self.0 as f64 / PS_PER_NS as f64
    }
    /// Seconds since the start, as a float for reports only.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / PS_PER_S as f64
    }
    /// The span from `earlier` to `self`, or zero if `earlier` is later.
    pub fn since(self, earlier: Time) -> Dur {
        Dur(self.0.saturating_sub(earlier.0))
    }
}

impl Dur {
    /// No time at all.
    pub const ZERO: Dur = Dur(0);

    /// A span of whole picoseconds.
    pub const fn from_ps(ps: u64) -> Dur {
        Dur(ps)
    }
    /// A span of whole nanoseconds.
    pub const fn from_ns(ns: u64) -> Dur {
        Dur(ns * PS_PER_NS)
    }
    /// A span of whole microseconds.
    pub const fn from_us(us: u64) -> Dur {
        Dur(us * PS_PER_US)
    }
    /// A span of whole milliseconds.
    pub const fn from_ms(ms: u64) -> Dur {
        Dur(ms * PS_PER_MS)
    }
    /// Converts a (possibly fractional) number of nanoseconds from a cost file,
    /// rounding to the nearest picosecond. Negative and non-finite inputs must
    /// be rejected by validation before they get here; they saturate to zero.
    pub fn from_ns_f64(ns: f64) -> Dur {
        if ns.is_finite() && ns > 0.0 { Dur((ns * PS_PER_NS as f64).round() as u64) } else { Dur(0) }
    }
    /// Picoseconds in this span.
    pub fn as_ps(self) -> u64 {
        self.0
    }
    /// Nanoseconds in this span, as a float for reports only.
    pub fn as_ns_f64(self) -> f64 {
        self.0 as f64 / PS_PER_NS as f64
    }
    /// Whole nanoseconds in this span (rounded down).
    pub fn as_ns(self) -> u64 {
        self.0 / PS_PER_NS
    }
    /// Seconds in this span, as a float for reports only.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / PS_PER_S as f64
    }
    /// This span repeated `n` times (saturating).
    pub fn times(self, n: u64) -> Dur {
        Dur(self.0.saturating_mul(n))
    }
}

impl Add<Dur> for Time {
    type Output = Time;
    fn add(self, d: Dur) -> Time {
        Time(self.0.saturating_add(d.0))
    }
}

impl AddAssign<Dur> for Time {
    fn add_assign(&mut self, d: Dur) {
        self.0 = self.0.saturating_add(d.0);
    }
}

impl Add for Dur {
    type Output = Dur;
    fn add(self, d: Dur) -> Dur {
        Dur(self.0.saturating_add(d.0))
    }
}

impl AddAssign for Dur {
    fn add_assign(&mut self, d: Dur) {
        self.0 = self.0.saturating_add(d.0);
    }
}

impl Sub for Dur {
    type Output = Dur;
    fn sub(self, d: Dur) -> Dur {
        Dur(self.0.saturating_sub(d.0))
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3} µs", self.0 as f64 / PS_PER_US as f64)
    }
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3} µs", self.0 as f64 / PS_PER_US as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_constructors_agree() {
        assert_eq!(Dur::from_ns(1), Dur(1_000));
        assert_eq!(Dur::from_us(1), Dur::from_ns(1_000));
        assert_eq!(Dur::from_ms(1), Dur::from_us(1_000));
        assert_eq!(Dur::from_ns_f64(67.2), Dur(67_200));
        assert_eq!(Dur::from_ns_f64(-3.0), Dur(0));
        assert_eq!(Dur::from_ns_f64(f64::NAN), Dur(0));
    }

    #[test]
    fn arithmetic_saturates_instead_of_wrapping() {
        assert_eq!(Time::NEVER + Dur(5), Time::NEVER);
        assert_eq!(Time(3).since(Time(10)), Dur(0));
        assert_eq!(Dur(3) - Dur(10), Dur(0));
    }
}
