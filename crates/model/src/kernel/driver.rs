//! The NIC driver: probe (MSI-X programming) and the RX interrupt top half.
//!
//! Probe follows Linux's order: the function comes out of reset with every
//! MSI-X entry masked (PCIe §6.1.4.5); for each queue the driver allocates a
//! vector on the core its affinity names, writes the entry's address/data
//! in the x86 compatibility format (destination = that core's APIC ID,
//! fixed delivery, edge), then unmasks it; finally it enables MSI-X and the
//! queues' interrupts. Which core takes a queue's interrupt is therefore
//! decided by the bits in the MSI-X table, as on real hardware.
//!
//! The top half (`ixgbe_msix_clean_rings`-style) disables the queue's
//! interrupt in the device and schedules NAPI (`napi_schedule_prep` then
//! `__napi_schedule`, specs.md §7.1); the poll re-enables it.

use crate::ids::{CoreId, QueueId};
use crate::kernel::irq::IrqAction;
use crate::machine::Machine;
use irqlab_engine::{Dur, Time};
use irqlab_hw::msi::{DeliveryMode, MsiMessage, Trigger};
use irqlab_hw::msix::MsixEntry;

impl Machine {
    /// Driver probe: program and unmask one MSI-X vector per queue.
    pub(crate) fn probe_driver(&mut self) {
        for q in 0..self.nic.queues.len() {
            let queue = QueueId(q as u32);
            let core = self.affinity[q];
            let Some(vector) = self.vectors[core.idx()].allocate(IrqAction::RxQueue(queue)) else {
                self.stats.vector_alloc_failures += 1;
                continue;
            };
            self.stats.vector_of_queue[q] = Some((core, vector));
            let apic = self.topo.apic_id(core) as u8;
            let msg = MsiMessage::compose(apic, vector, DeliveryMode::Fixed, Trigger::Edge);
            // Entries come out of reset masked, so rewriting address/data is
            // legal; the entry stays masked until the driver unmasks it.
            let vec_idx = q as u16;
            let written = self.nic.msix.write_entry(vec_idx, MsixEntry::new(msg, true));
            let released = self.nic.msix.set_masked(vec_idx, false);
            debug_assert!(written.is_ok() && matches!(released, Ok(None)), "probe of a fresh MSI-X table");
        }
        let mut released = self.nic.msix.set_enabled(true);
        released.extend(self.nic.msix.set_function_mask(false));
        for (_, msg) in released {
            self.stats.msix.released += 1;
            self.send_msi(msg, Time::ZERO);
        }
        for q in 0..self.nic.queues.len() {
            self.nic_enable_irq(QueueId(q as u32), Time::ZERO);
        }
    }

    /// CPU time of a vector's handler body (beyond entry/exit and EOI).
    pub(crate) fn handler_cost(&self, _core: CoreId, vector: u8) -> Dur {
        let _ = vector;
        // Disable the queue interrupt in the device: one posted MMIO write.
        self.costs.mmio_write
    }

    /// The RX queue's top half: mask the queue in the device, schedule NAPI.
    pub(crate) fn rx_top_half(&mut self, core: CoreId, q: QueueId, now: Time) {
        self.nic_disable_irq(q);
        self.napi_schedule(core, q, now);
    }
}
