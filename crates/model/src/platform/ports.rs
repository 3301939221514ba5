//! The platform's device-facing ports, mirroring the interfaces a PCIe
//! device really has upstream (docs/architecture.md; the shape of OpenVMM's
//! `MsiInterruptTarget` and DMA client):
//!
//! * the **interrupt-message port**: a device's MSI or MSI-X write, a
//!   (requester ID, address, data) triple posted towards the root complex.
//!   It reaches the platform's interrupt window after the posted-write
//!   latency; there an [`InterruptRemapping`] unit turns it into a
//!   local-APIC delivery (today [`NoRemapping`]: the address/data already
//!   are in the x86 compatibility format, docs/sources.md §3.1);
//! * the **DMA port**: a (requester ID, IOVA, length, read/write) request
//!   answered with the time it completes or a fault. A [`DmaTranslation`]
//!   unit maps the IOVA first (today [`IdentityDma`]: bus address = physical
//!   address, no fault);
//! * the **INTx pins**: a device's legacy interrupt line, wired to an
//!   IO-APIC input.
//!
//! A device sees only [`UpstreamPort`]; it never knows what is behind it.
//! An IOMMU (VT-d DMA remapping and interrupt remapping) is a new
//! [`DmaTranslation`] and [`InterruptRemapping`] plugged into the platform,
//! with no change to the devices or to the APIC bus.

use crate::ids::Rid;
use crate::sim::Sim;
use irqlab_engine::{Dur, Time};
use irqlab_hw::msi::MsiMessage;
use serde::Serialize;

/// What a device can do upstream.
pub trait UpstreamPort {
    /// Posts an MSI/MSI-X write of `data` to `address`.
    fn msi_write(&mut self, rid: Rid, address: u64, data: u32, sim: &mut Sim);
    /// Performs a DMA access issued at `at`; returns when it completes
    /// (the data is in memory, or has come back to the device).
    fn dma(&mut self, rid: Rid, req: DmaRequest, at: Time, sim: &mut Sim) -> Result<Time, DmaFault>;
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
}

impl DmaRequest {
    /// A device read of `len` bytes at `iova`.
    pub fn read(iova: u64, len: u32) -> DmaRequest {
        DmaRequest { iova, len, dir: DmaDir::Read }
    }
    /// A device write of `len` bytes at `iova`.
    pub fn write(iova: u64, len: u32) -> DmaRequest {
        DmaRequest { iova, len, dir: DmaDir::Write }
    }
}

/// Why a DMA access was refused (a translation unit's fault reason).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DmaFault {
    /// No translation for the address (VT-d fault reason 0x6, "not present").
    NotPresent,
    /// The translation forbids this direction (VT-d reasons 0x5 / 0x6).
    AccessDenied,
}

/// An interrupt message after the remapping stage: what the APIC bus decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Remapped {
    /// A compatibility-format message to decode as written.
    Message(MsiMessage),
    /// The message was refused (a remapping fault); it goes nowhere.
    Blocked,
}

/// The stage between the interrupt-message port and the APIC bus.
pub trait InterruptRemapping {
    /// Translates a message posted by `rid`.
    fn remap(&mut self, rid: Rid, address: u64, data: u32) -> Remapped;
}

/// No interrupt remapping: messages reach the APIC bus as written.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoRemapping;

impl InterruptRemapping for NoRemapping {
    fn remap(&mut self, _rid: Rid, address: u64, data: u32) -> Remapped {
        Remapped::Message(MsiMessage::new(address, data))
    }
}

/// The stage between the DMA port and memory.
pub trait DmaTranslation {
    /// Translates `req` from `rid`: the physical address and the extra time
    /// the translation took (an IOTLB miss's page walk), or a fault.
    fn translate(&mut self, rid: Rid, req: DmaRequest) -> Result<(u64, Dur), DmaFault>;
}

/// No DMA remapping: bus addresses are physical addresses.
#[derive(Clone, Copy, Debug, Default)]
pub struct IdentityDma;

impl DmaTranslation for IdentityDma {
    fn translate(&mut self, _rid: Rid, req: DmaRequest) -> Result<(u64, Dur), DmaFault> {
        Ok((req.iova, Dur::ZERO))
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

    #[test]
    fn identity_stages_pass_everything_through() {
        let rid = Rid::bdf(1, 0, 0);
        assert_eq!(IdentityDma.translate(rid, DmaRequest::write(0x1000, 64)), Ok((0x1000, Dur::ZERO)));
        assert_eq!(
            NoRemapping.remap(rid, 0xfee0_1000, 0x4031),
            Remapped::Message(MsiMessage::new(0xfee0_1000, 0x4031))
        );
    }
}
