//! The platform's IO-APIC and the interrupt lines wired to it.
//!
//! Lines are wired-OR: a pin's input is asserted while any source on it
//! asserts (PCI INTx is shared this way). The IO-APIC itself is the
//! register-level model in hw::ioapic (edge/level, mask, Remote IRR, EOI
//! re-delivery, specs.md §4.3); its messages travel to the local APICs like
//! MSI writes, in the compatibility format of its redirection entry.

use crate::machine::{Event, Machine};
use irqlab_engine::{Dur, Time};
use irqlab_hw::ioapic::Delivery;
use irqlab_hw::msi::MsiMessage;

/// QEMU `SUCCESSIVE_IRQ_MAX_COUNT` (hw/intc/ioapic.c): consecutive EOI
/// re-deliveries before the limiter steps in.
pub const SUCCESSIVE_IRQ_MAX_COUNT: u32 = 10_000;
/// QEMU `DELAYED_IOAPIC_SERVICE_TIME`: how long the limiter delays the next one.
pub const DELAYED_IOAPIC_SERVICE: Dur = Dur::from_ms(10);

/// Who drives a shared line (a bit in the pin's source mask).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineSource {
    /// The NIC's INTx output.
    Nic,
    /// A level-triggered device (`[[devices]]` index, below 31).
    Device(u32),
}

impl LineSource {
    fn bit(self) -> u32 {
        match self {
            LineSource::Nic => 1,
            LineSource::Device(d) => 2 << d,
        }
    }
}

impl Machine {
    /// A source drives its line: the pin sees the OR of its sources.
    pub(crate) fn set_irq_line(&mut self, pin: u8, source: LineSource, asserted: bool, now: Time) {
        let Some(mask) = self.line_sources.get_mut(pin as usize) else {
            self.stats.ioapic.bad_pin += 1;
            return;
        };
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
        match self.ioapic.set_pin_level(pin, level) {
            Ok(Some(d)) => self.ioapic_delivery(d.message, now),
            Ok(None) => {}
            Err(_) => self.stats.ioapic.bad_pin += 1,
        }
    }

    /// An EOI found a level line still asserted and the IO-APIC re-delivers;
    /// with QEMU's limiter, every 10,000th consecutive one is delayed 10 ms.
    pub(crate) fn ioapic_eoi_redelivery(&mut self, d: Delivery, now: Time) {
        self.stats.ioapic_eoi_redeliveries += 1;
        let pin = d.pin as usize;
        if self.successive_irq_limit && pin < self.successive_eoi.len() {
            self.successive_eoi[pin] += 1;
            if self.successive_eoi[pin] >= SUCCESSIVE_IRQ_MAX_COUNT {
                self.successive_eoi[pin] = 0;
                self.stats.ioapic.limiter_delays += 1;
                self.stats.ioapic.messages += 1;
                let at = now + DELAYED_IOAPIC_SERVICE + self.costs.msi_delivery;
                self.events.schedule(at, Event::MsiWrite { address: d.message.address, data: d.message.data });
                return;
            }
        }
        self.ioapic_delivery(d.message, now);
    }

    /// The IO-APIC sends a message (assertion, unmask or EOI re-delivery).
    pub(crate) fn ioapic_delivery(&mut self, msg: MsiMessage, now: Time) {
        self.stats.ioapic.messages += 1;
        self.post_message(msg, now);
    }
}
