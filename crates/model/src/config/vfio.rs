//! `[vfio]`: the NIC bound to `vfio-pci` and driven from user space by the
//! application's own poll-mode driver (DPDK's model), in a VFIO container
//! whose IOMMU domain the process maps (Documentation/driver-api/vfio.rst:
//! `VFIO_IOMMU_MAP_DMA`, `VFIO_DEVICE_SET_IRQS` with eventfd triggers).
//!
//! The driver threads are the `[[apps]]` threads (their cores, per-packet
//! `work_ns` and `cgroup`); each owns RX queues. The kernel's network stack
//! never sees a packet: no NAPI, no sockets, no RPS.

use super::{DmaMapping, InterruptMode, Scenario, ValidateCx};
use serde::{Deserialize, Serialize};

/// Largest `rx_burst`: DPDK's `RTE_MAX_PKT_BURST`-style bound of the
/// model, 1024 descriptors (a burst never exceeds the ring anyway).
pub const MAX_RX_BURST: u32 = 1024;
/// Longest `idle_us`: one second, a modelling bound.
pub const MAX_IDLE_US: f64 = 1e6;

/// How the user-space driver waits for frames.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PmdMode {
    /// Busy-polls its rings for ever with the queue interrupts disabled
    /// (DPDK's `testpmd`/`l2fwd`): never sleeps, uses its whole core.
    #[default]
    Poll,
    /// Drains its rings, then enables the queue interrupt
    /// (`rte_eth_dev_rx_intr_enable`) and sleeps in `epoll_wait` on the
    /// vector's eventfd; the host's `vfio_msihandler` signals it.
    Interrupt,
    /// Polls while busy; once its rings have been empty for `idle_us`,
    /// sleeps as `interrupt` does (DPDK's `l3fwd-power`).
    Adaptive,
}

impl PmdMode {
    /// The name as written in a scenario.
    pub fn name(self) -> &'static str {
        match self {
            PmdMode::Poll => "poll",
            PmdMode::Interrupt => "interrupt",
            PmdMode::Adaptive => "adaptive",
        }
    }
}

/// `[vfio]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VfioConfig {
    /// `poll`, `interrupt` or `adaptive`.
    pub mode: PmdMode,
    /// Descriptors one `rte_eth_rx_burst` call takes at most (DPDK's
    /// examples use 32); 1..=[`MAX_RX_BURST`].
    pub rx_burst: u32,
    /// `adaptive`: how long the rings must stay empty before the driver
    /// sleeps, µs (l3fwd-power's `SUSPEND_THRESHOLD`, 300 µs);
    /// 0..=[`MAX_IDLE_US`]. Ignored by the other modes.
    pub idle_us: f64,
    /// A buggy driver: every this many buffers it posts to a ring carry the
    /// buffer's virtual address instead of its IOVA (0: a correct driver;
    /// else 1..=2147483647). The NIC's write there faults in the IOMMU.
    pub bad_dma_every: u32,
}

impl Default for VfioConfig {
    fn default() -> Self {
        VfioConfig { mode: PmdMode::Poll, rx_burst: 32, idle_us: 300.0, bad_dma_every: 0 }
    }
}

impl VfioConfig {
    /// Checks `[vfio]` and what it needs of the other tables.
    pub fn validate(&self, s: &Scenario, cx: &mut ValidateCx) {
        cx.check_u32("vfio.rx_burst", self.rx_burst, 1, MAX_RX_BURST, "descriptors");
        cx.check_f64("vfio.idle_us", self.idle_us, 0.0, MAX_IDLE_US, "µs");
        cx.check_u32("vfio.bad_dma_every", self.bad_dma_every, 0, i32::MAX as u32, "buffers");
        if !s.iommu.mode.translates() {
            cx.err(
                "iommu.mode",
                format!(
                    "VFIO's type1 container maps the device's DMA through an IOMMU domain: needs iommu.mode = \"strict\" or \"lazy\", got {:?} (no-IOMMU mode is not modelled)",
                    s.iommu.mode.name()
                ),
            );
        }
        if s.iommu.mapping == DmaMapping::PerPacket {
            cx.err("iommu.mapping", "with [vfio] the process maps its buffers once (VFIO_IOMMU_MAP_DMA): per_packet mapping is the kernel driver's");
        }
        if s.nic.interrupt_mode != InterruptMode::Msix {
            cx.err(
                "nic.interrupt_mode",
                "with [vfio] each queue's MSI-X vector is wired to an eventfd: needs \"msix\"",
            );
        }
        if s.vm.is_some() {
            cx.err("vfio", "[vfio] drives the NIC from a host process; [vm] assigns it to a guest: choose one");
        }
        if s.tx.is_some() {
            cx.err("tx", "the transmit path is the kernel's; it is not modelled with [vfio]");
        }
        if !s.kernel.rps_cpus.is_empty() || !s.kernel.rps_cpus_by_queue.is_empty() || s.kernel.rfs || s.nic.arfs {
            cx.err("kernel.rps_cpus", "RPS/RFS steer the kernel's receive path, which never sees a packet with [vfio]");
        }
        if s.process.message_bytes > 0 || s.process.receive != super::ReceiveMode::Copy {
            cx.err(
                "process",
                "stream reads and remapping receive are socket calls; the user-space driver reads its rings",
            );
        }
        if !s.attackers.is_empty() {
            cx.err("attackers", "misbehaving devices are not modelled with [vfio]");
        }
    }

    /// The RX queues each driver thread owns: with `[[apps]]`, queue q goes
    /// to thread `q mod apps`; without, to the thread of the core its
    /// interrupt targets (`irq_core[q]`).
    pub fn queues_of_threads(s: &Scenario, threads: usize, irq_core: &[u32]) -> Vec<Vec<u32>> {
        let mut out = vec![Vec::new(); threads];
        for q in 0..s.nic.queues {
            let t = if s.apps.is_empty() { irq_core[q as usize] as usize } else { q as usize % threads.max(1) };
            if let Some(v) = out.get_mut(t) {
                v.push(q);
            }
        }
        out
    }
}
