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
use crate::machine::{Event, Machine};
use crate::platform::ioapic::LineSource;
use irqlab_engine::{Dur, Time};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// One device.
pub struct LevelDevice {
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
    /// A device drawing its event times from `rng`.
    pub fn new(cfg: DeviceConfig, rng: ChaCha8Rng) -> LevelDevice {
        LevelDevice { cfg, cause: false, rng, counts: DeviceCounts::default() }
    }

    /// The gap to the next event (exponential with the configured rate).
    pub fn next_gap(&mut self) -> Dur {
        let u: f64 = self.rng.random();
        Dur::from_ns_f64(-(1.0 - u).ln() * 1e9 / self.cfg.rate_hz)
    }
}

impl Machine {
    /// Starts every device's event stream.
    pub(crate) fn start_devices(&mut self) {
        for d in 0..self.devices.len() {
            let gap = self.devices[d].next_gap();
            self.events.schedule(Time::ZERO + gap, Event::DeviceEvent { device: d as u32 });
        }
    }

    /// A device event: set the cause, assert the line, schedule the next.
    pub(crate) fn device_event(&mut self, d: u32, now: Time) {
        let dev = &mut self.devices[d as usize];
        dev.counts.events += 1;
        if dev.cause {
            dev.counts.coalesced += 1;
        } else {
            dev.cause = true;
        }
        let pin = dev.cfg.pin as u8;
        let gap = dev.next_gap();
        self.events.schedule(now + gap, Event::DeviceEvent { device: d });
        self.set_irq_line(pin, LineSource::Device(d), true, now);
    }

    /// CPU time of the device's handler: read the cause (and write it back for W1C), then its body.
    pub(crate) fn device_irq_cost(&self, d: u32) -> Dur {
        let dev = &self.devices[d as usize];
        let clear = match dev.cfg.clear {
            CauseClear::Read => Dur::ZERO,
            CauseClear::W1c => self.costs.mmio_write,
        };
        self.costs.mmio_read + clear + Dur::from_ns_f64(dev.cfg.handler_ns)
    }

    /// The device's handler: claim and clear a pending cause, or `IRQ_NONE`.
    pub(crate) fn device_irq(&mut self, d: u32, now: Time) -> bool {
        let dev = &mut self.devices[d as usize];
        if !dev.cause {
            dev.counts.none += 1;
            return false;
        }
        dev.cause = false;
        dev.counts.serviced += 1;
        let pin = dev.cfg.pin as u8;
        self.set_irq_line(pin, LineSource::Device(d), false, now);
        true
    }
}
