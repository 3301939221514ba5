//! A simple level-triggered device: an interrupt cause register driving an
//! IO-APIC line, for shared-line and etiquette studies.
//!
//! Events arrive at Poisson times (the device's own RNG stream). An event
//! sets the cause (further events before it is cleared coalesce into it);
//! the line stays asserted while the cause is set. The device's driver
//! reads the cause register: if set, it clears it — by the read itself
//! (read-to-clear) or by writing 1s back (write-1-to-clear) — and claims the
//! interrupt; otherwise it returns `IRQ_NONE`, which is what a handler does
//! on a shared line when the interrupt was another device's.

use crate::config::{CauseClear, DeviceConfig};
use crate::costs::Costs;
use crate::platform::ports::{LineSource, UpstreamPort};
use crate::sim::{Event, Sim};
use irqlab_engine::{Dur, Time};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// One device.
pub struct LevelDevice {
    /// Its `[[devices]]` index.
    pub index: u32,
    /// Its configuration.
    pub cfg: DeviceConfig,
    /// The cause register's one bit.
    pub cause: bool,
    rng: ChaCha8Rng,
    /// Counters.
    pub counts: DeviceCounts,
}

/// A device's event accounting: events = serviced + coalesced + pending.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DeviceCounts {
    /// Events the device raised.
    pub events: u64,
    /// Events that found the cause already set (one service covers them).
    pub coalesced: u64,
    /// Handler runs that found the cause set and cleared it.
    pub serviced: u64,
    /// Handler runs that found nothing (`IRQ_NONE`).
    pub none: u64,
}

impl LevelDevice {
    /// Device `index`, drawing its event times from `rng`.
    pub fn new(index: u32, cfg: DeviceConfig, rng: ChaCha8Rng) -> LevelDevice {
        LevelDevice { index, cfg, cause: false, rng, counts: DeviceCounts::default() }
    }

    /// The gap to the next event (exponential with the configured rate).
    fn next_gap(&mut self) -> Dur {
        let u: f64 = self.rng.random();
        Dur::from_ns_f64(-(1.0 - u).ln() * 1e9 / self.cfg.rate_hz)
    }

    /// Schedules the first event.
    pub fn start(&mut self, sim: &mut Sim) {
        let gap = self.next_gap();
        sim.at(Time::ZERO + gap, Event::DeviceEvent { device: self.index });
    }

    /// An event: set the cause, schedule the next, assert the line.
    pub fn on_event(&mut self, sim: &mut Sim, up: &mut impl UpstreamPort) {
        if !sim.faults.fire(crate::sim::Fault::UncountedDeviceEvent) {
            self.counts.events += 1;
        }
        if self.cause {
            self.counts.coalesced += 1;
        } else {
            self.cause = true;
        }
        let gap = self.next_gap();
        sim.at(sim.now() + gap, Event::DeviceEvent { device: self.index });
        up.intx(self.cfg.pin as u8, LineSource::Device(self.index), true, sim);
    }

    /// CPU time of the device's handler: read the cause (and write it back for W1C), then its body.
    pub fn handler_cost(&self, costs: &Costs) -> Dur {
        let clear = match self.cfg.clear {
            CauseClear::Read => Dur::ZERO,
            CauseClear::W1c => costs.mmio_write,
        };
        costs.mmio_read + clear + Dur::from_ns_f64(self.cfg.handler_ns)
    }

    /// The driver reads the cause: claim and clear a pending one (the line
    /// falls), or `IRQ_NONE`.
    pub fn service(&mut self, sim: &mut Sim, up: &mut impl UpstreamPort) -> bool {
        if !self.cause {
            self.counts.none += 1;
            return false;
        }
        self.cause = false;
        self.counts.serviced += 1;
        up.intx(self.cfg.pin as u8, LineSource::Device(self.index), false, sim);
        true
    }
}
