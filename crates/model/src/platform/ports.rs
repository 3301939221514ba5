//! The platform's device-facing ports, mirroring the interfaces a PCIe
//! device really has upstream (docs/architecture.md; the shape of OpenVMM's
//! `MsiInterruptTarget` and DMA client):
//!
//! * the **interrupt-message port**: a device's MSI or MSI-X write, a
//!   (requester ID, address, data) triple posted towards the root complex.
//!   It reaches the platform's interrupt window after the posted-write
//!   latency; there the IOMMU's interrupt remapping, when on, translates it
//!   through its IRTE (platform/iommu/ir.rs) before the APIC bus decodes it;
//! * the **DMA port**: a (requester ID, IOVA, length, read/write) request
//!   answered with the time it completes or a fault. The IOMMU's DMA
//!   remapping, when on, translates the IOVA first (platform/iommu);
//!   without it the bus address is the physical address;
//! * the **INTx pins**: a device's legacy interrupt line, wired to an
//!   IO-APIC input.
//!
//! A device sees only [`UpstreamPort`]; it never knows what is behind it:
//! the IOMMU sits behind the port, with no change to the devices or to the
//! APIC bus.

use crate::ids::Rid;
use crate::sim::Sim;
use irqlab_engine::Time;
use serde::Serialize;

pub use super::iommu::DmaFault;

/// What a device can do upstream.
pub trait UpstreamPort {
    /// Posts an MSI/MSI-X write of `data` to `address`.
    fn msi_write(&mut self, rid: Rid, address: u64, data: u32, sim: &mut Sim);
    /// Performs a DMA access issued at `at`; returns when it completes
    /// (the data is in memory, or has come back to the device).
    fn dma(&mut self, rid: Rid, req: DmaRequest, at: Time, sim: &mut Sim) -> Result<Time, DmaFault>;
    /// A DMA read of `req` issued at `at` that returns its data: the
    /// request's 64-bit words from `req.iova` on, as memory holds them at
    /// `at` (one translation for the whole request), into `data`; returns
    /// when it completes, or the fault.
    fn dma_read(
        &mut self,
        rid: Rid,
        req: DmaRequest,
        at: Time,
        sim: &mut Sim,
        data: &mut [u64],
    ) -> Result<Time, DmaFault>;
    /// The data of a DMA read of the 64-bit word at `iova` that samples
    /// memory at `at` (its timing is [`UpstreamPort::dma`]'s): what the
    /// device sees, and the latest value written (the model knows it, to
    /// tell a stale read from a current one).
    fn dma_sample(&mut self, rid: Rid, iova: u64, at: Time) -> (u64, u64);
    /// The data of a DMA write of the 64-bit word at `iova`, visible at `at`.
    fn dma_store(&mut self, rid: Rid, iova: u64, value: u64, at: Time);
    /// Drives the device's INTx output on IO-APIC input `pin`.
    fn intx(&mut self, pin: u8, source: LineSource, asserted: bool, sim: &mut Sim);
}

/// Who drives a shared INTx line (a bit in the pin's wired-OR source mask).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineSource {
    /// A NIC's INTx output (NIC index, below 2).
    Nic(u32),
    /// A level-triggered device (`[[devices]]` index, below 30).
    Device(u32),
}

impl LineSource {
    /// The source's bit in a pin's source mask.
    pub fn bit(self) -> u32 {
        match self {
            LineSource::Nic(n) => 1 << n,
            LineSource::Device(d) => 4 << d,
        }
    }
}

/// Direction of a DMA access, as the device sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DmaDir {
    /// The device reads host memory (descriptor fetch, TX payload).
    Read,
    /// The device writes host memory (RX buffer, descriptor write-back).
    Write,
}

/// One DMA access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DmaRequest {
    /// I/O virtual address (the bus address the driver programmed).
    pub iova: u64,
    /// Bytes.
    pub len: u32,
    /// Read or write.
    pub dir: DmaDir,
    /// Ground truth for accounting: the access is a device's misbehaviour
    /// (`[[attackers]]`). Nothing on the path reads it to decide anything;
    /// the platform counts where such writes land.
    pub rogue: bool,
}

impl DmaRequest {
    /// A device read of `len` bytes at `iova`.
    pub fn read(iova: u64, len: u32) -> DmaRequest {
        DmaRequest { iova, len, dir: DmaDir::Read, rogue: false }
    }
    /// A device write of `len` bytes at `iova`.
    pub fn write(iova: u64, len: u32) -> DmaRequest {
        DmaRequest { iova, len, dir: DmaDir::Write, rogue: false }
    }
    /// A misbehaving device's write.
    pub fn rogue_write(iova: u64, len: u32) -> DmaRequest {
        DmaRequest { iova, len, dir: DmaDir::Write, rogue: true }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_sources_have_distinct_bits() {
        let bits: Vec<u32> = [LineSource::Nic(0), LineSource::Nic(1), LineSource::Device(0), LineSource::Device(29)]
            .iter()
            .map(|s| s.bit())
            .collect();
        assert_eq!(bits, [1, 2, 4, 1 << 31]);
    }
}
