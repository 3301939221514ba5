//! Intel VT-d (Virtualization Technology for Directed I/O): the in-memory
//! formats and registers of DMA remapping and interrupt remapping.
//!
//! Models docs/sources.md §3.2 (remappable MSI), §5.1 (IRTE) and §6 (DMA
//! remapping), legacy (non-scalable) mode, with QEMU
//! `hw/i386/intel_iommu{.c,_internal.h}` and Linux
//! `drivers/iommu/intel/{iommu.h,dmar.c,irq_remapping.c}` /
//! `include/linux/dmar.h` as the executable descriptions:
//!
//! * [`fault`] — fault reasons (DMA 0x1–0xD, interrupt 0x20–0x26) and the
//!   128-bit fault recording register;
//! * [`context`] — root and context entries, the source-id (requester ID);
//! * [`slpt`] — second-level page-table entries, their reserved bits per
//!   level, and a table walker generic over memory;
//! * [`irte`] — the 128-bit interrupt-remapping table entry, remapped and
//!   posted formats, and source-id validation;
//! * [`msi`] — remappable-format MSI address/data and IO-APIC RTEs;
//! * [`pid`] — the posted-interrupt descriptor, the posting sequence and
//!   the receiver's take of its PIR;
//! * [`regs`] — register offsets, FSTS/FECTL, CAP helpers, IRTA and the
//!   queued-invalidation descriptors.
//!
//! As in the rest of the crate: decoders never panic and never drop bits
//! (anything outside a named field is carried in a `reserved` field, in
//! place, so `encode(decode(x)) == x`); printable types offer `fields()`
//! whose names are their JSON keys, and `notes()`. 128-bit raw values
//! serialize as `0x`-prefixed 32-digit hex strings (JSON numbers cannot
//! hold them); 64-bit and narrower values serialize as numbers.
//!
//! Left out: scalable mode (PASID tables, first-level tables, 256-bit
//! descriptors), the extended root/context formats of VT-d 2.x, device-TLB
//! and PASID-based invalidation descriptors (they decode as
//! [`regs::InvDesc::Other`]), advanced fault logging, protected memory
//! regions, and any timing: the `model` decides when hardware acts.

pub mod context;
pub mod fault;
pub mod irte;
pub mod msi;
pub mod pid;
pub mod regs;
pub mod slpt;

pub use context::{ContextEntry, RootEntry, TranslationType, source_id};
pub use fault::{FaultReason, FaultRecord};
pub use irte::{Irte, PostedIrte, RemappedIrte, SourceValidation};
pub use msi::{RemapMsiError, RemappableMsi};
pub use regs::InvDesc;
pub use slpt::{SlPte, SlPteAtLevel, Walk, WalkFault};

/// Bits `lo..lo+width` of a 128-bit value, shifted down.
pub(crate) const fn bits128(raw: u128, lo: u32, width: u32) -> u128 {
    (raw >> lo) & ((1u128 << width) - 1)
}

/// A mask of bits `lo..=hi` of a 128-bit value.
pub(crate) const fn mask128(hi: u32, lo: u32) -> u128 {
    (u128::MAX >> (127 - hi)) & (u128::MAX << lo)
}

/// A mask of bits `lo..=hi` of a 64-bit value (empty when `lo > hi`).
pub(crate) const fn mask64(hi: u32, lo: u32) -> u64 {
    if lo > hi { 0 } else { (u64::MAX >> (63 - hi)) & (u64::MAX << lo) }
}

/// `0x` and 32 hex digits: how a 128-bit value prints and serializes.
pub(crate) fn hex128(raw: u128) -> String {
    format!("{raw:#034x}")
}

/// A requester ID as `bus:dev.fn` (lspci style), with the raw value.
pub(crate) fn bdf(sid: u16) -> String {
    format!("{sid:#06x} ({:02x}:{:02x}.{})", sid >> 8, (sid >> 3) & 0x1f, sid & 0x7)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_cover_the_named_bits() {
        assert_eq!(mask128(127, 84), 0xFFFF_FFFF_FFF0_0000_0000_0000_0000_0000);
        assert_eq!(mask128(14, 12), 0x7000);
        assert_eq!(mask64(51, 39), 0x000F_FF80_0000_0000);
        assert_eq!(mask64(51, 52), 0);
        assert_eq!(bits128(0xAB00, 8, 8), 0xAB);
        assert_eq!(bdf(0x0310), "0x0310 (03:02.0)");
        assert_eq!(hex128(1), "0x00000000000000000000000000000001");
    }
}
