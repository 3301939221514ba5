//! ixgbe's adaptive interrupt throttling (`ethtool -C … adaptive-rx on`
//! with `adaptive_scheme = "ixgbe_itr"`), as
//! drivers/net/ethernet/intel/ixgbe/ixgbe_main.c did it from the 12K limit
//! (commit "ixgbe: Limit lowest interrupt rate for adaptive interrupt
//! moderation to 12K") until the size-based rewrite of 2018: when a poll
//! completes (`ixgbe_poll` → `ixgbe_set_itr`), `ixgbe_update_itr` takes
//! the bytes received since the last decision over the current throttle
//! interval (bytes per µs) and moves the vector between three latency
//! classes — lowest (100,000 interrupts/s), low (20,000/s), bulk (12,000/s)
//! — one step at a time; `ixgbe_set_itr` then moves the interval towards
//! the class's by exponential smoothing and writes EITR. e1000e's ITR
//! classes follow the same rule.
//!
//! The interval is a throttle (the EITR counter): the queue interrupts no
//! sooner than the interval after its previous interrupt (devices/nic). The
//! TX ring container of the vector is not modelled (the model's transmit
//! path is separate), so the vector's class is the RX one's. The current
//! driver's size-based scheme (`IXGBE_ITR_ADAPTIVE_*`) is not modelled.

/// `q_vector->itr` is in 0.25 µs units (`itr >> 2` is µs).
const ITR_UNITS_PER_US: u32 = 4;
/// `IXGBE_100K_ITR`: 10 µs.
pub const ITR_100K: u32 = 40;
/// `IXGBE_20K_ITR`: 50 µs; also the vector's start (`ixgbe_alloc_q_vector`
/// with `rx_itr_setting == 1`).
pub const ITR_20K: u32 = 200;
/// `IXGBE_12K_ITR`: 84 µs.
pub const ITR_12K: u32 = 336;
/// Bytes per µs of the interval above which `lowest_latency` moves to
/// `low_latency` (≈10 MB/s).
const LOWEST_MAX_BYTES_PER_US: u64 = 10;
/// Bytes per µs of the interval above which `low_latency` moves to
/// `bulk_latency` (≈20 MB/s).
const LOW_MAX_BYTES_PER_US: u64 = 20;

/// `enum latency_range`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Latency {
    /// `lowest_latency`: 100,000 interrupts/s.
    #[default]
    Lowest,
    /// `low_latency`: 20,000 interrupts/s.
    Low,
    /// `bulk_latency`: 12,000 interrupts/s.
    Bulk,
}

/// One vector's adaptive state (`q_vector->itr` and `rx.itr`), and the
/// queue's counters at the last decision.
#[derive(Clone, Debug)]
pub struct Itr {
    /// `q_vector->itr`, in 0.25 µs units.
    pub itr: u32,
    /// `q_vector->rx.itr`: the class.
    pub class: Latency,
    /// Packets and bytes the queue had taken at the last decision.
    last: (u64, u64),
}

impl Default for Itr {
    fn default() -> Self {
        Itr { itr: ITR_20K, class: Latency::Lowest, last: (0, 0) }
    }
}

impl Itr {
    /// The throttle interval now, µs (as EITR holds it).
    pub fn usecs(&self) -> u32 {
        self.itr / ITR_UNITS_PER_US
    }

    /// `ixgbe_update_itr`: the class after a window of `bytes` in
    /// `packets` (nothing when no packet came, or the interval is 0).
    fn update(&mut self, packets: u64, bytes: u64) {
        let timepassed_us = (self.itr / ITR_UNITS_PER_US) as u64;
        if packets == 0 || timepassed_us == 0 {
            return;
        }
        let bytes_perint = bytes / timepassed_us;
        self.class = match self.class {
            Latency::Lowest if bytes_perint > LOWEST_MAX_BYTES_PER_US => Latency::Low,
            Latency::Low if bytes_perint > LOW_MAX_BYTES_PER_US => Latency::Bulk,
            Latency::Low if bytes_perint <= LOWEST_MAX_BYTES_PER_US => Latency::Lowest,
            Latency::Bulk if bytes_perint <= LOW_MAX_BYTES_PER_US => Latency::Low,
            same => same,
        };
    }

    /// `ixgbe_set_itr`, called when a poll completes with the queue's
    /// cumulative packet and byte counters: returns the new interval (µs)
    /// when EITR is rewritten.
    pub fn set_itr(&mut self, packets: u64, bytes: u64) -> Option<u32> {
        let (p0, b0) = std::mem::replace(&mut self.last, (packets, bytes));
        self.update(packets - p0, bytes - b0);
        let target = match self.class {
            Latency::Lowest => ITR_100K,
            Latency::Low => ITR_20K,
            Latency::Bulk => ITR_12K,
        };
        if target == self.itr {
            return None;
        }
        // Exponential smoothing towards the class's interval.
        self.itr = (10 * target * self.itr) / (9 * target + self.itr);
        Some(self.usecs())
    }
}

#[cfg(test)]
mod tests {
    //! Against drivers/net/ethernet/intel/ixgbe/ixgbe_main.c
    //! `ixgbe_update_itr` and `ixgbe_set_itr`.
    use super::*;

    #[test]
    fn classes_move_one_step_by_bytes_per_microsecond_of_the_interval() {
        let mut i = Itr::default();
        // 50 µs interval: 500 bytes is exactly 10 B/µs, not above it.
        i.update(1, 500);
        assert_eq!(i.class, Latency::Lowest);
        i.update(1, 550);
        assert_eq!(i.class, Latency::Low, "11 B/µs leaves lowest");
        // Even far above 20 B/µs, one step per decision.
        i.update(100, 1_000_000);
        assert_eq!(i.class, Latency::Bulk);
        i.update(1, 1000);
        assert_eq!(i.class, Latency::Low, "20 B/µs is not above the bulk threshold");
        i.update(0, 0);
        assert_eq!(i.class, Latency::Low, "no packet, no decision");
        i.update(1, 100);
        assert_eq!(i.class, Latency::Lowest);
    }

    #[test]
    fn the_interval_moves_towards_the_class_by_exponential_smoothing() {
        let mut i = Itr::default();
        assert_eq!(i.usecs(), 50, "IXGBE_20K_ITR at start");
        // A light window keeps the lowest class: 10 × 40 × 200 / (360 + 200).
        assert_eq!(i.set_itr(1, 64), Some(142 / ITR_UNITS_PER_US));
        assert_eq!(i.itr, 142);
        let mut packets = 1;
        let mut bytes = 64;
        let mut seen = vec![i.itr];
        while i.itr != ITR_100K {
            packets += 1;
            bytes += 64;
            i.set_itr(packets, bytes);
            seen.push(i.itr);
            assert!(seen.len() < 50, "{seen:?}");
        }
        assert!(seen.windows(2).all(|w| w[1] < w[0]), "monotone towards 10 µs: {seen:?}");
        assert_eq!(i.set_itr(packets + 1, bytes + 64), None, "at its class's interval: EITR not rewritten");
        // Heavy traffic: two decisions to reach bulk, then up towards 84 µs;
        // the integer smoothing stops short, at 326 (81 µs), where
        // 10 × 336 × 326 / (9 × 336 + 326) rounds down to 326 again, so
        // the driver rewrites EITR with the same value at every poll.
        for _ in 0..100 {
            packets += 1000;
            bytes += 64_000;
            i.set_itr(packets, bytes);
        }
        assert_eq!(i.class, Latency::Bulk);
        assert_eq!(i.itr, 326);
        assert_eq!(i.set_itr(packets + 1000, bytes + 64_000), Some(81));
    }
}

#[cfg(test)]
mod machine_tests {
    //! The scheme in a run: ixgbe_poll → napi_complete → ixgbe_set_itr
    //! (drivers/net/ethernet/intel/ixgbe/ixgbe_main.c) and the EITR
    //! interval as a minimum gap between a queue's interrupts.
    use crate::config::{AdaptiveScheme, ArrivalKind, Scenario};

    /// One queue on one core at `pps` of 64-byte frames for 50 ms.
    fn run(pps: f64) -> crate::metrics::Metrics {
        let mut s = Scenario::default();
        s.duration_ms = 50.0;
        s.machine.cores = 1;
        s.nic.queues = 1;
        s.workload.arrival = ArrivalKind::Constant;
        s.workload.rate_pps = Some(pps);
        s.nic.coalesce.adaptive_rx = true;
        s.nic.coalesce.adaptive_scheme = AdaptiveScheme::IxgbeItr;
        assert!(s.validate().is_empty(), "{:?}", s.validate());
        crate::run(&s).expect("valid")
    }

    #[test]
    fn light_traffic_takes_the_lowest_latency_class_and_bulk_traffic_is_throttled() {
        // 20 kpps of 64-byte frames: 1.3 MB/s, the lowest class (10 µs);
        // frames 50 µs apart each interrupt.
        let light = run(20_000.0);
        let q = &light.queues[0];
        assert_eq!(q.rx_usecs, super::ITR_100K / 4);
        let per_packet = q.interrupts as f64 / q.packets as f64;
        assert!(per_packet > 0.95, "{per_packet}");
        // 1 Mpps: 64 MB/s, bulk; the interval settles where the smoothing
        // stops (326 / 4 = 81 µs), so at most one interrupt per 81 µs.
        let bulk = run(1_000_000.0);
        let q = &bulk.queues[0];
        assert_eq!(q.rx_usecs, 326 / 4);
        // (plus the ramp from 50 µs while the class climbs)
        let max_interrupts = (bulk.duration_s * 1e6 / 81.0).ceil() as u64 + 50;
        assert!(q.interrupts < max_interrupts, "{} interrupts, at most {max_interrupts}", q.interrupts);
        assert!(q.interrupts > max_interrupts / 2, "{} interrupts: throttled, not starved", q.interrupts);
    }
}
