//! The platform's IO-APIC and the interrupt lines wired to it.
//!
//! Lines are wired-OR: a pin's input is asserted while any source on it
//! asserts (PCI INTx is shared this way). The IO-APIC itself is the
//! register-level model in hw::ioapic (edge/level, mask, Remote IRR, EOI
//! re-delivery, specs.md §4.3); its messages travel to the local APICs like
//! MSI writes, in the compatibility format of its redirection entry.

use crate::machine::Machine;
use irqlab_engine::Time;
use irqlab_hw::msi::MsiMessage;

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
        match self.ioapic.set_pin_level(pin, level) {
            Ok(Some(d)) => self.ioapic_delivery(d.message, now),
            Ok(None) => {}
            Err(_) => self.stats.ioapic.bad_pin += 1,
        }
    }

    /// The IO-APIC sends a message (assertion, unmask or EOI re-delivery).
    pub(crate) fn ioapic_delivery(&mut self, msg: MsiMessage, now: Time) {
        self.stats.ioapic.messages += 1;
        self.post_message(msg, now);
    }
}
