//! Per-component random-number streams derived from one master seed.
//!
//! Each component (a traffic source for one NIC queue, a flow generator, …)
//! draws from its own ChaCha8 stream selected with `set_stream(component)`, so
//! adding a component or drawing more numbers in one does not change any
//! other component's draws (docs/architecture.md). No `thread_rng` anywhere.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Stream-id namespaces, so that two kinds of component never share a stream.
pub mod streams {
    /// The flow-tuple generator.
    pub const FLOWS: u64 = 1 << 32;
    /// Traffic arrivals on one NIC port: `PORT_ARRIVALS + nic`.
    pub const PORT_ARRIVALS: u64 = 2 << 32;
    /// Events of one level-triggered device: `DEVICE_EVENTS + device`.
    pub const DEVICE_EVENTS: u64 = 3 << 32;
}

/// Derives independent random streams from a master seed.
#[derive(Clone, Copy, Debug)]
pub struct RngStreams {
    seed: u64,
}

impl RngStreams {
    /// Streams for this master seed.
    pub fn new(seed: u64) -> Self {
        RngStreams { seed }
    }

    /// The master seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The stream for one component.
    pub fn stream(&self, component: u64) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(component);
        rng
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn same_seed_and_component_repeat_exactly() {
        let s = RngStreams::new(7);
        let a: Vec<u64> = (0..8).map(|_| 0).scan(s.stream(3), |r, _| Some(r.random())).collect();
        let b: Vec<u64> = (0..8).map(|_| 0).scan(s.stream(3), |r, _| Some(r.random())).collect();
        assert_eq!(a, b);
    }

    #[test]
    fn components_and_seeds_differ() {
        let s = RngStreams::new(7);
        let x: u64 = s.stream(3).random();
        let y: u64 = s.stream(4).random();
        let z: u64 = RngStreams::new(8).stream(3).random();
        assert_ne!(x, y);
        assert_ne!(x, z);
    }
}
