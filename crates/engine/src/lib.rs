//! The simulation engine: integer simulated time, a deterministic event queue,
//! per-component random-number streams derived from one seed, statistics, and
//! the conservation checks every run ends with.
//!
//! Nothing here knows about interrupts or packets; the `model` crate builds the
//! machine on top of these pieces (docs/architecture.md).

#![forbid(unsafe_code)]

pub mod accounting;
pub mod hint;
pub mod queue;
pub mod rng;
pub mod stats;
pub mod time;

pub use accounting::{Law, LawViolation};
pub use queue::{EventQueue, TimerId};
pub use rng::RngStreams;
pub use stats::{CdfPoint, Counter, LatencyHistogram, LatencySummary};
pub use time::{Dur, Time};
