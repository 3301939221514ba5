//! VT-d remapping-unit registers the model's fault and invalidation paths
//! use, and the 128-bit queued-invalidation descriptors.
//!
//! Models docs/sources.md §6 (register table, FSTS/FECTL, CAP fields) and
//! §5.1 (IRTA, interrupt-entry-cache invalidation). Offsets and bits are
//! Linux `drivers/iommu/intel/iommu.h` (`DMAR_*_REG`, `DMA_FSTS_*`,
//! `DMA_FECTL_IM`, `cap_*`, `QI_*`) cross-checked with QEMU
//! `hw/i386/intel_iommu_internal.h` (`VTD_FSTS_*`, `VTD_FECTL_*`,
//! `VTD_IRTA_*`, `VTD_INV_DESC_*`).
//!
//! Queued-invalidation descriptors (legacy 128-bit form; type in bits 3:0):
//!
//! | Type | Low qword | High qword |
//! |---|---|---|
//! | 1 context-cache | 5:4 G (1 global, 2 domain, 3 device), 31:16 DID, 47:32 SID, 49:48 FM | reserved |
//! | 2 IOTLB | 5:4 G (1 global, 2 domain, 3 page), 6 DW, 7 DR, 31:16 DID | 5:0 AM, 6 IH, 63:12 ADDR |
//! | 4 interrupt-entry cache | 4 G (1 index-selective, 0 global), 31:27 IM, 47:32 IIDX | reserved |
//! | 5 invalidation wait | 4 IF, 5 SW, 6 FN, 63:32 status data | 63:2 status address |
//!
//! A descriptor whose reserved bits are set (QEMU's `VTD_INV_DESC_*_RSVD`
//! masks, which make QEMU stop the queue with IQE) or whose type is
//! anything else decodes as [`InvDesc::Other`], so every 128-bit value
//! round-trips.
//!
//! Left out: device-TLB (type 3), PASID-based (6, 7, 8) and page-request
//! descriptors, 256-bit descriptors, the wait descriptor's page-request
//! drain bit 7 (reserved without ECAP.PDS; it decodes as `Other`), the
//! register-based invalidation registers (CCMD, IOTLB/IVA), and the other
//! FSTS bits (IQE 4, ICE 5, ITE 6, PRO 7 — constants only).

use serde::Serialize;

use super::fault::{low_u8, low_u16, low_u64};

/// Register offsets from the unit's base (Linux `DMAR_*_REG`).
pub mod offset {
    /// Version.
    pub const VER: u64 = 0x00;
    /// Capability.
    pub const CAP: u64 = 0x08;
    /// Extended capability.
    pub const ECAP: u64 = 0x10;
    /// Global command.
    pub const GCMD: u64 = 0x18;
    /// Global status.
    pub const GSTS: u64 = 0x1C;
    /// Root-table address.
    pub const RTADDR: u64 = 0x20;
    /// Context command.
    pub const CCMD: u64 = 0x28;
    /// Fault status.
    pub const FSTS: u64 = 0x34;
    /// Fault event control.
    pub const FECTL: u64 = 0x38;
    /// Fault event data.
    pub const FEDATA: u64 = 0x3C;
    /// Fault event address.
    pub const FEADDR: u64 = 0x40;
    /// Fault event upper address.
    pub const FEUADDR: u64 = 0x44;
    /// Invalidation queue head.
    pub const IQH: u64 = 0x80;
    /// Invalidation queue tail.
    pub const IQT: u64 = 0x88;
    /// Invalidation queue address.
    pub const IQA: u64 = 0x90;
    /// Invalidation completion status.
    pub const ICS: u64 = 0x9C;
    /// Invalidation event control.
    pub const IECTL: u64 = 0xA0;
    /// Invalidation event data.
    pub const IEDATA: u64 = 0xA4;
    /// Invalidation event address.
    pub const IEADDR: u64 = 0xA8;
    /// Invalidation event upper address.
    pub const IEUADDR: u64 = 0xAC;
    /// Interrupt-remapping table address.
    pub const IRTA: u64 = 0xB8;
    /// Bytes per fault recording register.
    pub const FRCD_LEN: u64 = 16;
}

/// GCMD / GSTS bits (Linux `DMA_GCMD_*` / `DMA_GSTS_*`: same positions).
pub mod gcmd {
    /// Translation enable.
    pub const TE: u32 = 1 << 31;
    /// Set root-table pointer.
    pub const SRTP: u32 = 1 << 30;
    /// Queued-invalidation enable.
    pub const QIE: u32 = 1 << 26;
    /// Interrupt-remapping enable.
    pub const IRE: u32 = 1 << 25;
    /// Set interrupt-remapping table pointer.
    pub const SIRTP: u32 = 1 << 24;
    /// Compatibility-format interrupts pass through (CFI / CFIS).
    pub const CFI: u32 = 1 << 23;
}

/// Fault status register bits.
pub mod fsts {
    /// Bit 0: primary fault overflow.
    pub const PFO: u32 = 1;
    /// Bit 1: primary pending fault.
    pub const PPF: u32 = 1 << 1;
    /// Bit 4: invalidation queue error.
    pub const IQE: u32 = 1 << 4;
    /// Bit 5: invalidation completion error.
    pub const ICE: u32 = 1 << 5;
    /// Bit 6: invalidation time-out error.
    pub const ITE: u32 = 1 << 6;
    /// Bits 15:8: fault record index.
    pub const FRI_SHIFT: u32 = 8;
}

/// FSTS (offset 0x34), the bits of the primary fault log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub struct Fsts {
    /// Bit 0, PFO: a fault arrived while the next record was still in use
    /// (QEMU `vtd_report_frcd_fault`); write 1 to clear.
    pub pfo: bool,
    /// Bit 1, PPF: some fault record has F set (read-only summary).
    pub ppf: bool,
    /// Bits 15:8, FRI: the record the current fault event is about.
    pub fri: u8,
}

impl Fsts {
    /// Decode the register; bits other than 0, 1 and 15:8 are not kept.
    pub const fn decode(raw: u32) -> Fsts {
        Fsts { pfo: raw & fsts::PFO != 0, ppf: raw & fsts::PPF != 0, fri: ((raw >> fsts::FRI_SHIFT) & 0xFF) as u8 }
    }

    /// Encode the three fields.
    pub const fn encode(&self) -> u32 {
        (self.pfo as u32) | ((self.ppf as u32) << 1) | ((self.fri as u32) << fsts::FRI_SHIFT)
    }
}

/// FECTL (offset 0x38).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub struct Fectl {
    /// Bit 31, IM: fault events are masked (reset value 1 in QEMU).
    pub im: bool,
    /// Bit 30, IP: a fault event is pending because IM was set.
    pub ip: bool,
}

impl Fectl {
    /// Bit 31.
    pub const IM: u32 = 1 << 31;
    /// Bit 30.
    pub const IP: u32 = 1 << 30;

    /// Decode the register; bits 29:0 are not kept.
    pub const fn decode(raw: u32) -> Fectl {
        Fectl { im: raw & Self::IM != 0, ip: raw & Self::IP != 0 }
    }

    /// Encode the two fields.
    pub const fn encode(&self) -> u32 {
        ((self.im as u32) << 31) | ((self.ip as u32) << 30)
    }
}

/// CAP register (offset 0x08) helpers (Linux `cap_*`).
pub mod cap {
    /// Number of fault recording registers: bits 47:40 + 1
    /// (`cap_num_fault_regs`).
    pub const fn nfr(cap: u64) -> u16 {
        ((cap >> 40) & 0xFF) as u16 + 1
    }

    /// Byte offset of the first fault recording register from the unit's
    /// base: bits 33:24 × 16 (`cap_fault_reg_offset`).
    pub const fn fro(cap: u64) -> u64 {
        ((cap >> 24) & 0x3FF) * 16
    }

    /// Byte offset of fault recording register `index`.
    pub const fn frcd_offset(cap: u64, index: u16) -> u64 {
        fro(cap) + index as u64 * super::offset::FRCD_LEN
    }

    /// Bit 59: posted interrupts supported (`cap_pi_support`).
    pub const fn posted(cap: u64) -> bool {
        (cap >> 59) & 1 == 1
    }

    /// Maximum guest address width: bits 21:16 + 1 (`cap_mgaw`).
    pub const fn mgaw(cap: u64) -> u8 {
        ((cap >> 16) & 0x3F) as u8 + 1
    }

    /// Supported adjusted guest address widths, bits 12:8 (`cap_sagaw`):
    /// bit n set = context-entry AW n supported.
    pub const fn sagaw(cap: u64) -> u8 {
        ((cap >> 8) & 0x1F) as u8
    }
}

/// IRTA (offset 0xB8): the interrupt-remapping table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub struct Irta {
    /// Bits 63:12: table base (4 KiB aligned; size-aligned when larger).
    pub base: u64,
    /// Bit 11, EIME: 32-bit x2APIC destinations in IRTEs.
    pub eime: bool,
    /// Bits 3:0, S: the table has 2^(S+1) entries.
    pub size_field: u8,
}

impl Irta {
    /// Decode the register; reserved bits 10:4 are not kept.
    pub const fn decode(raw: u64) -> Irta {
        Irta { base: raw & !0xFFF, eime: raw & (1 << 11) != 0, size_field: (raw & 0xF) as u8 }
    }

    /// Encode the three fields.
    pub const fn encode(&self) -> u64 {
        (self.base & !0xFFF) | ((self.eime as u64) << 11) | (self.size_field & 0xF) as u64
    }

    /// Entries in the table: 2^(S+1) (QEMU `intr_size = 1 << (S + 1)`), 2
    /// to 65536.
    pub const fn entries(&self) -> u32 {
        1 << ((self.size_field & 0xF) + 1)
    }
}

/// Invalidation granularity: global (context-cache and IOTLB descriptors).
pub const GRAN_GLOBAL: u8 = 1;
/// Invalidation granularity: domain-selective.
pub const GRAN_DOMAIN: u8 = 2;
/// Invalidation granularity: device-selective (context) / page-selective (IOTLB).
pub const GRAN_DEVICE_OR_PAGE: u8 = 3;

/// Descriptor type codes (Linux `QI_*_TYPE`).
pub mod qi_type {
    /// Context-cache invalidate.
    pub const CC: u8 = 0x1;
    /// IOTLB invalidate.
    pub const IOTLB: u8 = 0x2;
    /// Interrupt-entry-cache invalidate.
    pub const IEC: u8 = 0x4;
    /// Invalidation wait.
    pub const IWD: u8 = 0x5;
}

/// QEMU `VTD_INV_DESC_CC_RSVD` (low qword; the high qword is all reserved).
const CC_RSVD_LO: u64 = 0xFFFC_0000_0000_FFC0;
/// QEMU `VTD_INV_DESC_IOTLB_RSVD_LO`.
const IOTLB_RSVD_LO: u64 = 0xFFFF_FFFF_0000_FF00;
/// QEMU `VTD_INV_DESC_IOTLB_RSVD_HI`.
const IOTLB_RSVD_HI: u64 = 0xF80;
/// QEMU `VTDInvDescIEC` `resved_1` (26:5) and `reserved_2` (63:48).
const IEC_RSVD_LO: u64 = 0xFFFF_0000_07FF_FFE0;
/// QEMU `VTD_INV_DESC_WAIT_RSVD_LO` (31:7).
const WAIT_RSVD_LO: u64 = 0xFFFF_FF80;
/// QEMU `VTD_INV_DESC_WAIT_RSVD_HI` (1:0).
const WAIT_RSVD_HI: u64 = 0x3;

/// A 128-bit queued-invalidation descriptor (high qword ‖ low qword; the
/// low qword is the first in memory).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InvDesc {
    /// Type 1: context-cache invalidation (Linux `qi_flush_context`).
    Context {
        /// Bits 5:4: 1 global, 2 domain, 3 device (0 is invalid).
        granularity: u8,
        /// Bits 31:16: domain id.
        did: u16,
        /// Bits 47:32: source-id (device granularity).
        sid: u16,
        /// Bits 49:48: function mask (SID bits ignored, as SQ in an IRTE).
        fm: u8,
    },
    /// Type 2: IOTLB invalidation (Linux `qi_flush_iotlb` / `qi_desc_iotlb`).
    Iotlb {
        /// Bits 5:4: 1 global, 2 domain, 3 page (0 is invalid).
        granularity: u8,
        /// Bits 31:16: domain id.
        did: u16,
        /// High bits 63:12: the first page (page granularity).
        addr: u64,
        /// High bits 5:0: address mask, 2^AM pages.
        am: u8,
        /// High bit 6: invalidation hint (leaf entries only changed).
        ih: bool,
        /// Bit 7: drain reads.
        dr: bool,
        /// Bit 6: drain writes.
        dw: bool,
    },
    /// Type 4: interrupt-entry-cache invalidation (Linux `qi_flush_iec`,
    /// `qi_global_iec`).
    Iec {
        /// Bit 4: 1 = index-selective (`QI_IEC_SELECTIVE`), 0 = global.
        granularity_index: bool,
        /// Bits 47:32: first IRTE index.
        index: u16,
        /// Bits 31:27: 2^IM entries from `index`.
        im: u8,
    },
    /// Type 5: invalidation wait (Linux `qi_submit_sync`).
    Wait {
        /// Bit 5, SW: write `status_data` to `status_addr` when done.
        status_write: bool,
        /// Bit 4, IF: raise the invalidation completion event.
        interrupt: bool,
        /// Bit 6, FN: later descriptors wait for this one.
        fence: bool,
        /// Bits 63:32.
        status_data: u32,
        /// High bits 63:2.
        status_addr: u64,
    },
    /// Any other type, or a known type with reserved bits set: raw.
    Other(u128),
}

impl InvDesc {
    /// Decode a descriptor. Every value decodes; see the module doc for
    /// what becomes [`InvDesc::Other`].
    pub fn decode(raw: u128) -> InvDesc {
        let lo = low_u64(raw);
        let hi = low_u64(raw >> 64);
        let gran = low_u8(u128::from(lo >> 4)) & 0b11;
        let did = low_u16(u128::from(lo >> 16));
        match low_u8(u128::from(lo)) & 0xF {
            t if t == qi_type::CC && lo & CC_RSVD_LO == 0 && hi == 0 => InvDesc::Context {
                granularity: gran,
                did,
                sid: low_u16(u128::from(lo >> 32)),
                fm: low_u8(u128::from(lo >> 48)) & 0b11,
            },
            t if t == qi_type::IOTLB && lo & IOTLB_RSVD_LO == 0 && hi & IOTLB_RSVD_HI == 0 => InvDesc::Iotlb {
                granularity: gran,
                did,
                addr: hi & !0xFFF,
                am: low_u8(u128::from(hi)) & 0x3F,
                ih: hi & (1 << 6) != 0,
                dr: lo & (1 << 7) != 0,
                dw: lo & (1 << 6) != 0,
            },
            t if t == qi_type::IEC && lo & IEC_RSVD_LO == 0 && hi == 0 => InvDesc::Iec {
                granularity_index: lo & (1 << 4) != 0,
                index: low_u16(u128::from(lo >> 32)),
                im: low_u8(u128::from(lo >> 27)) & 0x1F,
            },
            t if t == qi_type::IWD && lo & WAIT_RSVD_LO == 0 && hi & WAIT_RSVD_HI == 0 => InvDesc::Wait {
                status_write: lo & (1 << 5) != 0,
                interrupt: lo & (1 << 4) != 0,
                fence: lo & (1 << 6) != 0,
                status_data: (lo >> 32) as u32,
                status_addr: hi,
            },
            _ => InvDesc::Other(raw),
        }
    }

    /// Encode, the way Linux's `QI_*` macros assemble the qwords. Fields
    /// wider than their bits are truncated.
    pub fn encode(&self) -> u128 {
        let (lo, hi): (u64, u64) = match *self {
            InvDesc::Context { granularity, did, sid, fm } => (
                // QI_CC_FM | QI_CC_SID | QI_CC_DID | QI_CC_GRAN | QI_CC_TYPE
                (u64::from(fm & 0b11) << 48)
                    | (u64::from(sid) << 32)
                    | (u64::from(did) << 16)
                    | (u64::from(granularity & 0b11) << 4)
                    | u64::from(qi_type::CC),
                0,
            ),
            InvDesc::Iotlb { granularity, did, addr, am, ih, dr, dw } => (
                // QI_IOTLB_DID | QI_IOTLB_DR | QI_IOTLB_DW | QI_IOTLB_GRAN | QI_IOTLB_TYPE
                (u64::from(did) << 16)
                    | (u64::from(dr) << 7)
                    | (u64::from(dw) << 6)
                    | (u64::from(granularity & 0b11) << 4)
                    | u64::from(qi_type::IOTLB),
                // QI_IOTLB_ADDR | QI_IOTLB_IH | QI_IOTLB_AM
                (addr & !0xFFF) | (u64::from(ih) << 6) | u64::from(am & 0x3F),
            ),
            InvDesc::Iec { granularity_index, index, im } => (
                // QI_IEC_IIDEX | QI_IEC_TYPE | QI_IEC_IM | QI_IEC_SELECTIVE
                (u64::from(index) << 32)
                    | u64::from(qi_type::IEC)
                    | (u64::from(im & 0x1F) << 27)
                    | (u64::from(granularity_index) << 4),
                0,
            ),
            InvDesc::Wait { status_write, interrupt, fence, status_data, status_addr } => (
                // QI_IWD_STATUS_DATA | QI_IWD_STATUS_WRITE | QI_IWD_FENCE | IF | QI_IWD_TYPE
                (u64::from(status_data) << 32)
                    | (u64::from(status_write) << 5)
                    | (u64::from(fence) << 6)
                    | (u64::from(interrupt) << 4)
                    | u64::from(qi_type::IWD),
                status_addr & !0x3,
            ),
            InvDesc::Other(raw) => return raw,
        };
        (u128::from(hi) << 64) | u128::from(lo)
    }

    /// The type code, bits 3:0.
    pub fn type_code(&self) -> u8 {
        low_u8(self.encode()) & 0xF
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn desc(qw0: u64, qw1: u64) -> u128 {
        (u128::from(qw1) << 64) | u128::from(qw0)
    }

    /// `DMA_TLB_PSI_FLUSH = 3 << 60`; `QI_IOTLB_GRAN(type) = type >> 56`.
    const DMA_TLB_PSI_FLUSH: u64 = 3 << 60;

    #[test]
    fn linux_qi_flush_iotlb_descriptor() {
        // qi_flush_iotlb(did 5, addr 0x1234_5000, size_order 3, PSI) on a unit
        // with cap_read_drain and cap_write_drain:
        // qw0 = QI_IOTLB_DID(5) | QI_IOTLB_DR(1) | QI_IOTLB_DW(1)
        //     | QI_IOTLB_GRAN(PSI) | QI_IOTLB_TYPE
        //     = 0x50000 | 0x80 | 0x40 | 0x30 | 0x2 = 0x500f2;
        // qw1 = QI_IOTLB_ADDR(0x12345000) | QI_IOTLB_IH(0) | QI_IOTLB_AM(3).
        let qw0 = (5 << 16) | (1 << 7) | (1 << 6) | (DMA_TLB_PSI_FLUSH >> 56) | 0x2;
        assert_eq!(qw0, 0x0005_00F2);
        let raw = desc(qw0, 0x1234_5003);
        let d = InvDesc::Iotlb { granularity: 3, did: 5, addr: 0x1234_5000, am: 3, ih: false, dr: true, dw: true };
        assert_eq!(InvDesc::decode(raw), d);
        assert_eq!(d.encode(), raw);
    }

    #[test]
    fn linux_qi_flush_iec_and_global_iec() {
        // qi_flush_iec(index 0x1234, mask 2): QI_IEC_IIDEX(0x1234) | QI_IEC_TYPE
        // | QI_IEC_IM(2) | QI_IEC_SELECTIVE = 0x1234 << 32 | 4 | 2 << 27 | 1 << 4.
        let raw = desc(0x0000_1234_1000_0014, 0);
        let d = InvDesc::Iec { granularity_index: true, index: 0x1234, im: 2 };
        assert_eq!(InvDesc::decode(raw), d);
        assert_eq!(d.encode(), raw);
        // qi_global_iec: qw0 = QI_IEC_TYPE.
        assert_eq!(InvDesc::decode(4), InvDesc::Iec { granularity_index: false, index: 0, im: 0 });
    }

    #[test]
    fn linux_qi_submit_sync_wait_descriptor() {
        // wait_desc.qw0 = QI_IWD_STATUS_DATA(QI_DONE = 2) | QI_IWD_STATUS_WRITE
        // | QI_IWD_TYPE = 2 << 32 | 1 << 5 | 5; qw1 = &desc_status[wait_index].
        let raw = desc(0x0000_0002_0000_0025, 0x1_2345_6788);
        let d = InvDesc::Wait {
            status_write: true,
            interrupt: false,
            fence: false,
            status_data: 2,
            status_addr: 0x1_2345_6788,
        };
        assert_eq!(InvDesc::decode(raw), d);
        assert_eq!(d.encode(), raw);
        // With QI_OPT_WAIT_DRAIN Linux adds QI_IWD_PRQ_DRAIN (bit 7), reserved
        // for QEMU (VTD_INV_DESC_WAIT_RSVD_LO): kept raw.
        assert_eq!(InvDesc::decode(raw | 0x80), InvDesc::Other(raw | 0x80));
    }

    #[test]
    fn linux_qi_flush_context_descriptor() {
        // qi_flush_context(did 7, sid 0x0308, fm 0, DMA_CCMD_DEVICE_INVL = 3 << 61):
        // QI_CC_GRAN(type) = type >> 57 = 0x30.
        let raw = desc(0x0000_0308_0007_0031, 0);
        let d = InvDesc::Context { granularity: 3, did: 7, sid: 0x0308, fm: 0 };
        assert_eq!(InvDesc::decode(raw), d);
        assert_eq!(d.encode(), raw);
        assert_eq!(d.type_code(), 1);
        // Reserved bit 6 (VTD_INV_DESC_CC_RSVD) or a non-zero high qword → Other.
        assert_eq!(InvDesc::decode(raw | 0x40), InvDesc::Other(raw | 0x40));
        assert_eq!(InvDesc::decode(raw | (1 << 64)), InvDesc::Other(raw | (1 << 64)));
        // Device-TLB (type 3) is not modelled.
        assert_eq!(InvDesc::decode(3), InvDesc::Other(3));
    }

    #[test]
    fn fault_status_and_control() {
        // QEMU: VTD_FSTS_PFO 1, VTD_FSTS_PPF 2, VTD_FSTS_FRI(v) = v << 8.
        assert_eq!(Fsts::decode(0x0000_0302), Fsts { pfo: false, ppf: true, fri: 3 });
        assert_eq!(Fsts { pfo: true, ppf: true, fri: 0xff }.encode(), 0xff03);
        assert_eq!(Fsts::decode(fsts::IQE), Fsts::default());
        // QEMU resets FECTL to 0x8000_0000 (IM).
        assert_eq!(Fectl::decode(0x8000_0000), Fectl { im: true, ip: false });
        assert_eq!(Fectl { im: false, ip: true }.encode(), 0x4000_0000);
    }

    #[test]
    fn capability_fields() {
        // QEMU vtd_cap_init: VTD_CAP_FRO = 0x220 << 20 (offset 0x220 in
        // 16-byte units at bits 33:24), VTD_CAP_NFR = (1 - 1) << 40,
        // VTD_CAP_MGAW(39) = 38 << 16, SAGAW 39-bit = 0x2 << 8.
        let cap: u64 = (0x220 << 20) | (38 << 16) | (0x2 << 8) | (1 << 59);
        assert_eq!(cap::fro(cap), 0x220);
        assert_eq!(cap::nfr(cap), 1);
        assert_eq!(cap::frcd_offset(cap, 2), 0x240);
        assert_eq!(cap::mgaw(cap), 39);
        assert_eq!(cap::sagaw(cap), 0b10);
        assert!(cap::posted(cap));
        assert!(!cap::posted(cap & !(1 << 59)));
        // 8 records at 0x400 (Linux cap_num_fault_regs, cap_fault_reg_offset).
        let cap: u64 = (7 << 40) | (0x40 << 24);
        assert_eq!((cap::nfr(cap), cap::fro(cap)), (8, 0x400));
    }

    #[test]
    fn irta_as_linux_programs_it() {
        // iommu_set_irq_remapping: addr | IR_X2APIC_MODE(1) (1 << 11)
        // | INTR_REMAP_TABLE_REG_SIZE (0xf) → 2^16 = 65536 entries.
        let raw = 0x0000_0001_2340_0000 | (1 << 11) | 0xF;
        let irta = Irta::decode(raw);
        assert_eq!(irta, Irta { base: 0x1_2340_0000, eime: true, size_field: 15 });
        assert_eq!(irta.entries(), 65536);
        assert_eq!(irta.encode(), raw);
        assert_eq!(Irta::decode(0).entries(), 2);
        assert_eq!(offset::IRTA, 0xB8);
        assert_eq!(offset::FSTS, 0x34);
    }

    proptest! {
        #[test]
        fn every_descriptor_round_trips(raw in any::<u128>()) {
            prop_assert_eq!(InvDesc::decode(raw).encode(), raw);
        }

        #[test]
        fn built_descriptors_decode_to_themselves(
            g in 0u8..4, did in any::<u16>(), sid in any::<u16>(), fm in 0u8..4, addr in any::<u64>(),
            am in 0u8..64, flags in any::<[bool; 6]>(), index in any::<u16>(), im in 0u8..32, data in any::<u32>(),
        ) {
            let [a, b, c, d, e, f] = flags;
            for desc in [
                InvDesc::Context { granularity: g, did, sid, fm },
                InvDesc::Iotlb { granularity: g, did, addr: addr & !0xfff, am, ih: a, dr: b, dw: c },
                InvDesc::Iec { granularity_index: d, index, im },
                InvDesc::Wait { status_write: e, interrupt: f, fence: a, status_data: data, status_addr: addr & !3 },
            ] {
                prop_assert_eq!(InvDesc::decode(desc.encode()), desc);
            }
        }

        #[test]
        fn registers_round_trip(pfo in any::<bool>(), ppf in any::<bool>(), fri in any::<u8>(), im in any::<bool>(),
                                ip in any::<bool>(), base in any::<u64>(), eime in any::<bool>(), s in 0u8..16) {
            let f = Fsts { pfo, ppf, fri };
            prop_assert_eq!(Fsts::decode(f.encode()), f);
            let c = Fectl { im, ip };
            prop_assert_eq!(Fectl::decode(c.encode()), c);
            let i = Irta { base: base & !0xfff, eime, size_field: s };
            prop_assert_eq!(Irta::decode(i.encode()), i);
        }
    }
}
