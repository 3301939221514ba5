//! The NIC driver: probe (interrupt set-up per mode) and its interrupt
//! handlers, written once against genirq (kernel/genirq.rs).
//!
//! Probe follows Linux's order. In `msix` mode each queue gets a vector on
//! the core its affinity names: `request_irq` programs the queue's MSI-X
//! entry (masked out of reset, PCIe §6.1.4.5) with the x86
//! compatibility-format address/data for that core, then unmasks it; the
//! function is then enabled. In `msi` mode one vector serves the NIC; in
//! `intx` mode its INTx line goes through an IO-APIC redirection entry.
//! Which core takes an interrupt is decided by the bits the driver wrote.
//!
//! Handlers (top halves), per napi.rst: `if (napi_schedule_prep()) {
//! mask the queue's interrupt in the device (EIMC); __napi_schedule(); }` —
//! or, with `nic.auto_mask` (EIAM, as ixgbe sets up MSI-X), the NIC has
//! masked it already and the handler only schedules
//! (`ixgbe_msix_clean_rings`). The single-vector handler reads the interrupt
//! cause register to find which queues interrupted — clearing it, which
//! deasserts the INTx line — and masks and schedules each (`e1000_intr` style). With `driver.level_eoi =
//! "before_clear"` it only peeks at the cause and leaves clearing to the
//! NAPI poll (write-1-to-clear when the poll ends): on a level line the
//! EOI then finds the line still asserted. It claims an interrupt only if it
//! scheduled something new, and returns `IRQ_NONE` otherwise.

use crate::config::{InterruptMode, LevelEoi, TriggerKind};
use crate::ids::{CoreId, QueueId};
use crate::kernel::genirq::{Chip, IrqAction};
use crate::machine::Machine;
use irqlab_engine::{Dur, Time};

impl Machine {
    /// Driver probe: request the NIC's IRQs and enable its interrupts.
    pub(crate) fn probe_driver(&mut self) {
        match self.nic.mode {
            InterruptMode::Msix => {
                for q in 0..self.nic.queues.len() {
                    let queue = QueueId(q as u32);
                    let irq =
                        self.request_irq(Chip::Msix { entry: q as u16 }, self.affinity[q], IrqAction::NicQueue(queue));
                    self.stats.irq_of_queue[q] = irq;
                }
                let mut released = self.nic.msix.set_enabled(true);
                released.extend(self.nic.msix.set_function_mask(false));
                for (_, msg) in released {
                    self.stats.msix.released += 1;
                    self.send_msi(msg, Time::ZERO);
                }
            }
            InterruptMode::Msi | InterruptMode::Intx => {
                let chip = match (self.nic.mode, self.intx_trigger) {
                    (InterruptMode::Msi, _) => Chip::Msi,
                    (_, TriggerKind::Level) => Chip::IoapicLevel { pin: self.nic.intx_pin },
                    (_, TriggerKind::Edge) => Chip::IoapicEdge { pin: self.nic.intx_pin },
                };
                let irq = self.request_irq(chip, self.affinity[0], IrqAction::NicCause);
                for slot in &mut self.stats.irq_of_queue {
                    *slot = irq;
                }
            }
        }
        for q in 0..self.nic.queues.len() {
            self.nic_enable_irq(QueueId(q as u32), Time::ZERO);
        }
    }

    /// Entry of the per-queue MSI-X handler: its CPU time. Without NAPI the
    /// handler itself takes every frame in the ring (pre-NAPI drivers'
    /// receive loop) and pays the driver's per-packet work.
    pub(crate) fn nic_queue_irq_entry(&mut self, core: CoreId, q: QueueId, now: Time) -> Dur {
        if self.kp.cfg.napi {
            // Masking the queue in the device: one posted write (EIMC).
            return if self.nic.auto_mask { Dur::ZERO } else { self.costs.mmio_write };
        }
        let dma = self.costs.dma_write;
        let mut batch = std::mem::take(&mut self.softnet[core.idx()].isr_batch);
        batch.clear();
        let queue = self.nic.queue(q);
        queue.advance(now, dma);
        let n = queue.take(usize::MAX, &mut batch);
        self.softnet[core.idx()].isr_batch = batch;
        self.costs.rx_driver_per_packet.times(n as u64)
    }

    /// Probe of the other devices: each requests its IO-APIC pin, sharing
    /// the IRQ already there (the NIC's INTx line, or another device's).
    pub(crate) fn probe_devices(&mut self) {
        for d in 0..self.devices.len() {
            let cfg = &self.devices[d].cfg;
            let (pin, core) = (cfg.pin as u8, CoreId(cfg.core));
            if self.request_shared_pin_irq(pin, core, IrqAction::LevelDevice(d as u32)).is_none() {
                self.stats.vector_alloc_failures += 1;
            }
        }
    }

    /// The per-queue MSI-X handler. Always claims the interrupt. With NAPI:
    /// schedule the queue's poll. Without: `netif_rx` each frame taken at
    /// entry into this core's backlog, then re-enable the queue's interrupt.
    pub(crate) fn nic_queue_irq(&mut self, core: CoreId, q: QueueId, now: Time) -> bool {
        if self.kp.cfg.napi {
            // napi.rst: if (napi_schedule_prep()) { mask the queue; __napi_schedule(); }
            if !self.napi[q.idx()].scheduled {
                self.nic_disable_irq(q);
            }
            self.napi_schedule(core, q, now);
        } else {
            let batch = std::mem::take(&mut self.softnet[core.idx()].isr_batch);
            for p in &batch {
                self.netif_rx(core, *p);
            }
            self.softnet[core.idx()].isr_batch = batch;
            self.softnet[core.idx()].isr_batch.clear();
            self.nic_enable_irq(q, now);
        }
        true
    }

    /// The single-vector handler (MSI or INTx): find the interrupting queues
    /// from the cause register and schedule their NAPI instances.
    pub(crate) fn nic_cause_irq(&mut self, core: CoreId, now: Time) -> bool {
        match self.driver_level_eoi {
            LevelEoi::AfterClear => {
                let bits = self.nic_read_icr(now);
                for q in set_bits(bits) {
                    if !self.napi[q as usize].scheduled {
                        self.nic_disable_irq(QueueId(q));
                    }
                    self.napi_schedule(core, QueueId(q), now);
                }
                bits != 0
            }
            LevelEoi::BeforeClear => {
                let bits = self.nic.icr;
                let mut scheduled = false;
                for q in set_bits(bits) {
                    if !self.napi[q as usize].scheduled {
                        self.nic_disable_irq(QueueId(q));
                        self.napi_schedule(core, QueueId(q), now);
                        scheduled = true;
                    }
                }
                scheduled
            }
        }
    }

    /// End of a poll of `q`: with the deferred etiquette the poll is where
    /// the queue's cause bit is cleared (write-1-to-clear).
    pub(crate) fn driver_poll_end(&mut self, q: QueueId, now: Time) {
        if self.driver_level_eoi == LevelEoi::BeforeClear && self.nic.mode != InterruptMode::Msix {
            self.nic_clear_cause(1 << q.0, now);
        }
    }
}

/// Indices of the set bits of a cause register, lowest first.
fn set_bits(mut bits: u64) -> impl Iterator<Item = u32> {
    std::iter::from_fn(move || {
        if bits == 0 {
            return None;
        }
        let i = bits.trailing_zeros();
        bits &= bits - 1;
        Some(i)
    })
}

#[cfg(test)]
mod tests {
    use super::set_bits;

    #[test]
    fn set_bits_lists_queues_lowest_first() {
        assert_eq!(set_bits(0b1011_0000_0001).collect::<Vec<_>>(), vec![0, 8, 9, 11]);
        assert_eq!(set_bits(0).count(), 0);
        assert_eq!(set_bits(1 << 63).collect::<Vec<_>>(), vec![63]);
    }
}
