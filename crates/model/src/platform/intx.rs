//! INTx wiring: the legacy interrupt lines between devices and the
//! IO-APIC's input pins.
//!
//! Lines are wired-OR: a pin's input is asserted while any source on it
//! asserts (PCI INTx is shared this way, PCI Local Bus §2.2.6). The IO-APIC
//! itself is the register-level model in hw::ioapic (edge/level, mask,
//! Remote IRR, EOI re-delivery, docs/sources.md §4.3). This file also keeps, per
//! pin, the run of consecutive EOI re-deliveries that QEMU's successive-IRQ
//! limiter counts.

use super::ports::LineSource;
use irqlab_engine::Dur;

/// QEMU `SUCCESSIVE_IRQ_MAX_COUNT` (hw/intc/ioapic.c): consecutive EOI
/// re-deliveries before the limiter steps in.
pub const SUCCESSIVE_IRQ_MAX_COUNT: u32 = 10_000;
/// QEMU `DELAYED_IOAPIC_SERVICE_TIME`: how long the limiter delays the next one.
pub const DELAYED_IOAPIC_SERVICE: Dur = Dur::from_ms(10);

/// The lines of every IO-APIC pin.
#[derive(Debug)]
pub struct IntxLines {
    sources: Vec<u32>,
    successive_eoi: Vec<u32>,
    limit: bool,
}

impl IntxLines {
    /// `pins` idle lines; `limit` turns QEMU's successive-IRQ limiter on.
    pub fn new(pins: usize, limit: bool) -> IntxLines {
        IntxLines { sources: vec![0; pins], successive_eoi: vec![0; pins], limit }
    }

    /// `source` drives `pin`; returns the pin's new level (the OR of its
    /// sources), or `None` if the pin does not exist.
    pub fn drive(&mut self, pin: u8, source: LineSource, asserted: bool) -> Option<bool> {
        let mask = self.sources.get_mut(pin as usize)?;
        if asserted {
            *mask |= source.bit();
        } else {
            *mask &= !source.bit();
        }
        let level = *mask != 0;
        if !level {
            // The line fell: the run of successive EOI re-deliveries ends.
            self.successive_eoi[pin as usize] = 0;
        }
        Some(level)
    }

    /// An EOI re-delivered `pin`: whether QEMU's limiter delays this one.
    pub fn eoi_redelivery_delayed(&mut self, pin: u8) -> bool {
        let Some(run) = self.successive_eoi.get_mut(pin as usize).filter(|_| self.limit) else {
            return false;
        };
        *run += 1;
        if *run >= SUCCESSIVE_IRQ_MAX_COUNT {
            *run = 0;
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_line_stays_up_while_any_source_drives_it() {
        let mut l = IntxLines::new(24, false);
        assert_eq!(l.drive(16, LineSource::Nic(0), true), Some(true));
        assert_eq!(l.drive(16, LineSource::Device(0), true), Some(true));
        assert_eq!(l.drive(16, LineSource::Nic(0), false), Some(true));
        assert_eq!(l.drive(16, LineSource::Device(0), false), Some(false));
        assert_eq!(l.drive(24, LineSource::Nic(0), true), None);
    }

    #[test]
    fn the_limiter_delays_every_ten_thousandth_consecutive_redelivery() {
        let mut l = IntxLines::new(24, true);
        let delayed = (0..20_000).filter(|_| l.eoi_redelivery_delayed(16)).count();
        assert_eq!(delayed, 2);
        let mut off = IntxLines::new(24, false);
        assert!((0..20_000).all(|_| !off.eoi_redelivery_delayed(16)));
    }
}
