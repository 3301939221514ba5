//! The NIC driver's private state for one device (as `struct
//! ixgbe_adapter` is for ixgbe): how it set up interrupts, which IRQ serves
//! which queue, and the etiquette it follows on a level line. The driver's
//! code is in driver.rs.

use crate::config::{InterruptMode, LevelEoi, TriggerKind};
use crate::ids::{CpuId, IrqId, NicId, ThreadId};
use serde::Serialize;

/// The driver's state for one NIC.
#[derive(Clone, Debug)]
pub struct Adapter {
    /// The device.
    pub nic: NicId,
    /// Interrupt mode it set up.
    pub mode: InterruptMode,
    /// Order of EOI and clearing the cause on a level line.
    pub level_eoi: LevelEoi,
    /// Trigger mode of the INTx pin's redirection entry.
    pub intx_trigger: TriggerKind,
    /// IO-APIC pin of the INTx line.
    pub intx_pin: u8,
    /// The CPU of each interrupt vector (one per queue for MSI-X, one for
    /// MSI/INTx): `rx_cpu_rmap`'s view of the IRQ affinities.
    pub affinity: Vec<CpuId>,
    /// The IRQ that signals each queue.
    pub irq_of_queue: Vec<Option<IrqId>>,
    /// The NUMA node the device is attached to (`dev_to_node()`): its DMA
    /// lands in that node's memory and last-level cache.
    pub numa_node: u32,
    /// `vfio-pci`'s state when the NIC is bound to it (`[vfio]`).
    pub vfio: Option<VfioPci>,
}

/// `vfio-pci` and the VFIO container of the process that owns the device.
#[derive(Clone, Debug, Default)]
pub struct VfioPci {
    /// The driver thread whose eventfd each queue's vector signals
    /// (`VFIO_DEVICE_SET_IRQS`).
    pub trigger: Vec<Option<ThreadId>>,
    /// Counters.
    pub counts: VfioCounts,
}

/// What VFIO counts (metrics `vfio`).
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct VfioCounts {
    /// `VFIO_IOMMU_MAP_DMA` calls the process made: one per queue's
    /// descriptor ring and one per queue's buffer area.
    pub dma_maps: u64,
    /// 4 KiB pages those maps pinned (`vfio_pin_pages_remote`).
    pub pinned_pages: u64,
    /// Eventfd signals `vfio_msihandler` sent (one per interrupt taken).
    pub irq_eventfd_signals: u64,
}

impl Adapter {
    /// The CPU whose vector signals queue `q` at probe.
    pub fn queue_cpu(&self, q: usize) -> CpuId {
        self.affinity[q.min(self.affinity.len() - 1)]
    }
}
