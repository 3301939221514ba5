//! VT-d fault reasons and the 128-bit fault recording register (FRCD).
//!
//! Models docs/sources.md §6 (fault recording register, DMA fault reasons)
//! and §5.1 (interrupt-remapping fault reasons):
//! * [`FaultReason`] — the 8-bit reason code: QEMU's `VTDFaultReason` enum
//!   (`hw/i386/intel_iommu_internal.h`) for the names and codes, Linux's
//!   `dma_remap_fault_reasons[]` / `irq_remap_fault_reasons[]`
//!   (`drivers/iommu/intel/dmar.c`) for the descriptions, verbatim;
//! * [`FaultRecord`] — one fault recording register as QEMU's
//!   `vtd_report_dmar_fault` / `vtd_report_ir_fault` write it and Linux's
//!   `dmar_fault` reads it back.
//!
//! Register layout (QEMU `VTD_FRCD_*`, Linux `dma_frcd_*`), bit 0 = bit 0 of
//! the low qword:
//!
//! | Bits | Field |
//! |---|---|
//! | 11:0 | reserved |
//! | 63:12 | FI — fault information: the faulting page address (DMA faults); for interrupt faults bits 63:48 hold the interrupt index (QEMU `VTD_FRCD_IR_IDX`, Linux prints `addr >> 48`) |
//! | 79:64 | SID — source-id of the faulting request |
//! | 94:80 | reserved |
//! | 95 | PP — PASID present (QEMU `VTD_FRCD_PP`; scalable mode) |
//! | 103:96 | FR — fault reason |
//! | 123:104 | PV — PASID value (Linux reads 20 bits; QEMU writes 16) |
//! | 125:124 | reserved here (AT in newer specifications; not retrieved) |
//! | 126 | T — type: 1 = read request, 0 = write (QEMU sets it when `!is_write`) |
//! | 127 | F — fault: the record is valid; software writes 1 to clear it |
//!
//! Left out: PP, PV and bits 125:124 are legacy-mode reserved bits and stay
//! in [`FaultRecord::reserved`] (read them through [`FaultRecord::pasid`]);
//! scalable-mode fault reasons 0x30–0x90 decode as [`FaultReason::Other`]
//! and describe as `"Unknown"` (Linux has a separate table for them that is
//! not reproduced); advanced fault logging.

use serde::Serialize;
use serde::ser::SerializeStruct;

use super::{bdf, hex128, mask128};

/// Bit positions of the fault recording register.
pub mod field {
    /// Bits 11:0, reserved.
    pub const RESERVED_11_0: u128 = 0xFFF;
    /// Bits 63:12, fault information (page address).
    pub const FAULT_INFO_MASK: u128 = 0xFFFF_FFFF_FFFF_F000;
    /// Shift of the interrupt index inside the fault information (bits 63:48).
    pub const IR_INDEX_SHIFT: u32 = 48;
    /// Shift of SID (bits 79:64).
    pub const SID_SHIFT: u32 = 64;
    /// Bit 95, PP (PASID present).
    pub const PP_BIT: u32 = 95;
    /// Shift of FR (bits 103:96).
    pub const FR_SHIFT: u32 = 96;
    /// Shift of PV (bits 123:104).
    pub const PV_SHIFT: u32 = 104;
    /// Width of PV.
    pub const PV_WIDTH: u32 = 20;
    /// Bit 126, T (1 = read).
    pub const T_BIT: u32 = 126;
    /// Bit 127, F (valid).
    pub const F_BIT: u32 = 127;
}

/// Mask of everything [`FaultRecord`] keeps in `reserved`.
const RESERVED_MASK: u128 = field::RESERVED_11_0 | mask128(95, 80) | mask128(125, 104);

/// First interrupt-remapping fault reason.
const FIRST_IR_CODE: u8 = 0x20;
/// Last interrupt-remapping fault reason known to Linux and QEMU.
const LAST_IR_CODE: u8 = 0x26;

/// A VT-d fault reason (the FR field). Codes, names and meaning from QEMU's
/// `VTDFaultReason`; [`description`](Self::description) is Linux's string.
///
/// Serializes as its snake_case name (`write_denied`, …, `other_0x0e`),
/// which the model's JSON uses to count faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultReason {
    /// 0x1: the root entry for the bus is not present.
    RootNotPresent,
    /// 0x2: the context entry for the devfn is not present.
    ContextNotPresent,
    /// 0x3: invalid programming of a context entry (unsupported AW or TT,
    /// or the page-table root cannot be read).
    ContextInvalid,
    /// 0x4: the input address is above 2^AW − 1 (or the host width).
    AddressBeyondMgaw,
    /// 0x5: a write through an entry without W.
    WriteDenied,
    /// 0x6: a read through an entry without R.
    ReadDenied,
    /// 0x7: a second-level paging entry below the top level cannot be read.
    NextLevelInvalid,
    /// 0x8: the root table cannot be read.
    RootTableInvalid,
    /// 0x9: the context table cannot be read.
    ContextTableInvalid,
    /// 0xA: reserved bits set in a present root entry.
    RootReserved,
    /// 0xB: reserved bits set in a present context entry.
    ContextReserved,
    /// 0xC: reserved bits set in a second-level paging entry.
    PteReserved,
    /// 0xD: the request is blocked by the context entry's translation type.
    TranslationBlocked,
    /// 0x20: reserved bits set in the interrupt request itself.
    IrReservedField,
    /// 0x21: the interrupt index is beyond the table size (IRTA.S).
    IrIndexBeyondTable,
    /// 0x22: the IRTE is not present.
    IrteNotPresent,
    /// 0x23: the interrupt-remapping table cannot be read.
    IrtReadError,
    /// 0x24: reserved bits set in a present IRTE.
    IrteReserved,
    /// 0x25: a compatibility-format interrupt was blocked.
    CompatBlocked,
    /// 0x26: source-id validation failed.
    SourceIdFailed,
    /// Any other code (0x0, QEMU's 0xE "output address in the interrupt
    /// range", scalable-mode codes, …), carried raw.
    Other(u8),
}

/// Linux `dma_remap_fault_reasons[]`, verbatim, indexed by code.
const DMA_DESCRIPTIONS: [&str; 14] = [
    "Software",
    "Present bit in root entry is clear",
    "Present bit in context entry is clear",
    "Invalid context entry",
    "Access beyond MGAW",
    "PTE Write access is not set",
    "PTE Read access is not set",
    "Next page table ptr is invalid",
    "Root table address invalid",
    "Context table ptr is invalid",
    "non-zero reserved fields in RTP",
    "non-zero reserved fields in CTP",
    "non-zero reserved fields in PTE",
    "PCE for translation request specifies blocking",
];

/// Linux `irq_remap_fault_reasons[]`, verbatim, indexed by code − 0x20.
const IR_DESCRIPTIONS: [&str; 7] = [
    "Detected reserved fields in the decoded interrupt-remapped request",
    "Interrupt index exceeded the interrupt-remapping table size",
    "Present field in the IRTE entry is clear",
    "Error accessing interrupt-remapping table pointed by IRTA_REG",
    "Detected reserved fields in the IRTE entry",
    "Blocked a compatibility format interrupt request",
    "Blocked an interrupt request due to source-id verification failure",
];

impl FaultReason {
    /// Every named reason, in code order.
    pub const NAMED: [FaultReason; 20] = [
        Self::RootNotPresent,
        Self::ContextNotPresent,
        Self::ContextInvalid,
        Self::AddressBeyondMgaw,
        Self::WriteDenied,
        Self::ReadDenied,
        Self::NextLevelInvalid,
        Self::RootTableInvalid,
        Self::ContextTableInvalid,
        Self::RootReserved,
        Self::ContextReserved,
        Self::PteReserved,
        Self::TranslationBlocked,
        Self::IrReservedField,
        Self::IrIndexBeyondTable,
        Self::IrteNotPresent,
        Self::IrtReadError,
        Self::IrteReserved,
        Self::CompatBlocked,
        Self::SourceIdFailed,
    ];

    /// The 8-bit reason code. `Other(n)` gives `n` back.
    pub const fn code(self) -> u8 {
        match self {
            Self::RootNotPresent => 0x01,
            Self::ContextNotPresent => 0x02,
            Self::ContextInvalid => 0x03,
            Self::AddressBeyondMgaw => 0x04,
            Self::WriteDenied => 0x05,
            Self::ReadDenied => 0x06,
            Self::NextLevelInvalid => 0x07,
            Self::RootTableInvalid => 0x08,
            Self::ContextTableInvalid => 0x09,
            Self::RootReserved => 0x0A,
            Self::ContextReserved => 0x0B,
            Self::PteReserved => 0x0C,
            Self::TranslationBlocked => 0x0D,
            Self::IrReservedField => 0x20,
            Self::IrIndexBeyondTable => 0x21,
            Self::IrteNotPresent => 0x22,
            Self::IrtReadError => 0x23,
            Self::IrteReserved => 0x24,
            Self::CompatBlocked => 0x25,
            Self::SourceIdFailed => 0x26,
            Self::Other(n) => n,
        }
    }

    /// The reason for a code; codes without a name become `Other(code)`, so
    /// `from_code(c).code() == c` for every `c`.
    pub const fn from_code(code: u8) -> FaultReason {
        match code {
            0x01 => Self::RootNotPresent,
            0x02 => Self::ContextNotPresent,
            0x03 => Self::ContextInvalid,
            0x04 => Self::AddressBeyondMgaw,
            0x05 => Self::WriteDenied,
            0x06 => Self::ReadDenied,
            0x07 => Self::NextLevelInvalid,
            0x08 => Self::RootTableInvalid,
            0x09 => Self::ContextTableInvalid,
            0x0A => Self::RootReserved,
            0x0B => Self::ContextReserved,
            0x0C => Self::PteReserved,
            0x0D => Self::TranslationBlocked,
            0x20 => Self::IrReservedField,
            0x21 => Self::IrIndexBeyondTable,
            0x22 => Self::IrteNotPresent,
            0x23 => Self::IrtReadError,
            0x24 => Self::IrteReserved,
            0x25 => Self::CompatBlocked,
            0x26 => Self::SourceIdFailed,
            other => Self::Other(other),
        }
    }

    /// Linux's description, verbatim (`dmar_get_fault_reason`): the DMA
    /// table for 0x0–0xD (0x0 is "Software"), the interrupt table for
    /// 0x20–0x26, "Unknown" otherwise (Linux names the scalable-mode codes
    /// 0x30–0x90 from a third table that is not reproduced here).
    pub fn description(self) -> &'static str {
        let code = self.code();
        if (FIRST_IR_CODE..=LAST_IR_CODE).contains(&code) {
            IR_DESCRIPTIONS[usize::from(code - FIRST_IR_CODE)]
        } else {
            DMA_DESCRIPTIONS.get(usize::from(code)).copied().unwrap_or("Unknown")
        }
    }

    /// Whether this is an interrupt-remapping fault (0x20–0x26), whose
    /// record carries an interrupt index instead of a page address.
    pub const fn is_interrupt(self) -> bool {
        let code = self.code();
        code >= FIRST_IR_CODE && code <= LAST_IR_CODE
    }

    /// The snake_case name: what [`Serialize`] writes.
    pub fn name(self) -> String {
        let name = match self {
            Self::RootNotPresent => "root_not_present",
            Self::ContextNotPresent => "context_not_present",
            Self::ContextInvalid => "context_invalid",
            Self::AddressBeyondMgaw => "address_beyond_mgaw",
            Self::WriteDenied => "write_denied",
            Self::ReadDenied => "read_denied",
            Self::NextLevelInvalid => "next_level_invalid",
            Self::RootTableInvalid => "root_table_invalid",
            Self::ContextTableInvalid => "context_table_invalid",
            Self::RootReserved => "root_reserved",
            Self::ContextReserved => "context_reserved",
            Self::PteReserved => "pte_reserved",
            Self::TranslationBlocked => "translation_blocked",
            Self::IrReservedField => "ir_reserved_field",
            Self::IrIndexBeyondTable => "ir_index_beyond_table",
            Self::IrteNotPresent => "irte_not_present",
            Self::IrtReadError => "irt_read_error",
            Self::IrteReserved => "irte_reserved",
            Self::CompatBlocked => "compat_blocked",
            Self::SourceIdFailed => "source_id_failed",
            Self::Other(n) => return format!("other_{n:#04x}"),
        };
        name.to_owned()
    }
}

impl std::fmt::Display for FaultReason {
    /// `0x05 (PTE Write access is not set)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#04x} ({})", self.code(), self.description())
    }
}

impl Serialize for FaultReason {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.name())
    }
}

/// One decoded fault recording register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FaultRecord {
    /// Bits 63:12 as an address (low 12 bits zero): the faulting page for a
    /// DMA fault; for an interrupt fault bits 63:48 are the interrupt index.
    pub fault_info: u64,
    /// Bits 79:64: the requester ID (`bus << 8 | dev << 3 | fn`).
    pub source_id: u16,
    /// Bits 103:96.
    pub reason: FaultReason,
    /// Bit 126, T: the faulting request was a read (QEMU sets T for
    /// `!is_write`; Linux prints "DMA Read" when set).
    pub read: bool,
    /// Bit 127, F: the record holds a fault not yet cleared by software.
    pub valid: bool,
    /// Every other bit (11:0, 95:80, 125:104), raw and in place.
    pub reserved: u128,
}

impl FaultRecord {
    /// A valid record for a DMA fault, as QEMU `vtd_report_dmar_fault` fills
    /// it (legacy mode, no PASID) and sets F: `lo = addr & !0xfff`,
    /// `hi = SID | FR << 32 | T (if read) << 62 | F << 63`.
    pub fn dma(source_id: u16, address: u64, reason: FaultReason, read: bool) -> FaultRecord {
        FaultRecord { fault_info: address & 0xFFFF_FFFF_FFFF_F000, source_id, reason, read, valid: true, reserved: 0 }
    }

    /// A valid record for an interrupt-remapping fault, as QEMU
    /// `vtd_report_ir_fault` fills it: `lo = index << 48`, `hi = SID | FR << 32`,
    /// T clear, F set.
    pub fn interrupt(source_id: u16, index: u16, reason: FaultReason) -> FaultRecord {
        FaultRecord {
            fault_info: u64::from(index) << field::IR_INDEX_SHIFT,
            source_id,
            reason,
            read: false,
            valid: true,
            reserved: 0,
        }
    }

    /// Decode a 128-bit register value (high qword ‖ low qword). Never
    /// fails; reserved bits are carried.
    pub fn decode(raw: u128) -> FaultRecord {
        FaultRecord {
            fault_info: low_u64(raw & field::FAULT_INFO_MASK),
            source_id: low_u16(raw >> field::SID_SHIFT),
            reason: FaultReason::from_code(low_u8(raw >> field::FR_SHIFT)),
            read: raw >> field::T_BIT & 1 == 1,
            valid: raw >> field::F_BIT & 1 == 1,
            reserved: raw & RESERVED_MASK,
        }
    }

    /// Encode to the 128-bit register value. Bits of `fault_info` below 12
    /// and of `reserved` outside its bit ranges are dropped.
    pub fn encode(&self) -> u128 {
        let mut raw = u128::from(self.fault_info) & field::FAULT_INFO_MASK;
        raw |= u128::from(self.source_id) << field::SID_SHIFT;
        raw |= u128::from(self.reason.code()) << field::FR_SHIFT;
        raw |= u128::from(self.read) << field::T_BIT;
        raw |= u128::from(self.valid) << field::F_BIT;
        raw | (self.reserved & RESERVED_MASK)
    }

    /// For an interrupt-remapping fault, the interrupt index (bits 63:48).
    pub fn interrupt_index(&self) -> Option<u16> {
        self.reason.is_interrupt().then(|| low_u16(u128::from(self.fault_info >> field::IR_INDEX_SHIFT)))
    }

    /// The PASID, when PP (bit 95) is set: bits 123:104 (Linux
    /// `dma_frcd_pasid_value`). Legacy-mode requests carry none.
    pub fn pasid(&self) -> Option<u32> {
        (self.reserved >> field::PP_BIT & 1 == 1).then(|| {
            let pv = super::bits128(self.reserved, field::PV_SHIFT, field::PV_WIDTH);
            u32::try_from(pv).unwrap_or(u32::MAX)
        })
    }

    /// Misread or unusual settings, in words.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if !self.valid {
            notes.push("F (bit 127) is clear: the record holds no pending fault".to_owned());
        }
        if let FaultReason::Other(code) = self.reason {
            notes.push(format!("fault reason {code:#04x} is not a legacy-mode DMA or interrupt-remapping reason"));
        }
        if let Some(index) = self.interrupt_index() {
            notes.push(format!(
                "interrupt-remapping fault: bits 63:48 of the fault info are the interrupt index {index:#06x}"
            ));
            if self.read {
                notes.push("T (bit 126) is set on an interrupt fault (QEMU leaves it clear)".to_owned());
            }
        }
        if let Some(pasid) = self.pasid() {
            notes.push(format!("PP (bit 95) is set: request with PASID {pasid:#x} (scalable mode)"));
        }
        let other = self.reserved & !(1u128 << field::PP_BIT) & !mask128(123, 104);
        if other != 0 {
            notes.push(format!("reserved bits set: {}", hex128(other)));
        }
        notes
    }

    /// `(name, value)` pairs, one per field, for human-readable output; each
    /// note is its own `note` line. `interrupt_index` appears for interrupt
    /// faults only, `pasid` when PP is set, as in the JSON.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![
            ("raw", hex128(self.encode())),
            ("fault_info", format!("{:#018x}", self.fault_info)),
            ("source_id", bdf(self.source_id)),
            ("reason", self.reason.to_string()),
            ("read", self.read.to_string()),
            ("valid", self.valid.to_string()),
            ("reserved", hex128(self.reserved)),
        ];
        if let Some(index) = self.interrupt_index() {
            out.push(("interrupt_index", format!("{index:#06x} ({index})")));
        }
        if let Some(pasid) = self.pasid() {
            out.push(("pasid", format!("{pasid:#x}")));
        }
        out.extend(self.notes().into_iter().map(|n| ("note", n)));
        out
    }
}

impl Serialize for FaultRecord {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut st = serializer.serialize_struct("FaultRecord", 10)?;
        st.serialize_field("raw", &hex128(self.encode()))?;
        st.serialize_field("fault_info", &self.fault_info)?;
        st.serialize_field("source_id", &self.source_id)?;
        st.serialize_field("reason", &self.reason)?;
        st.serialize_field("read", &self.read)?;
        st.serialize_field("valid", &self.valid)?;
        st.serialize_field("reserved", &hex128(self.reserved))?;
        if let Some(index) = self.interrupt_index() {
            st.serialize_field("interrupt_index", &index)?;
        }
        if let Some(pasid) = self.pasid() {
            st.serialize_field("pasid", &pasid)?;
        }
        st.serialize_field("notes", &self.notes())?;
        st.end()
    }
}

/// The low 64 bits (callers mask first).
pub(crate) fn low_u64(value: u128) -> u64 {
    (value & u128::from(u64::MAX)) as u64
}

/// The low 16 bits.
pub(crate) fn low_u16(value: u128) -> u16 {
    (value & 0xFFFF) as u16
}

/// The low 8 bits.
pub(crate) fn low_u8(value: u128) -> u8 {
    (value & 0xFF) as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// QEMU `vtd_report_dmar_fault` for a read of 0x1234_5678 by 03:02.0
    /// (SID 0x0310) with reason 6: `lo = VTD_FRCD_FI(addr) = 0x12345000`,
    /// `hi = VTD_FRCD_SID(0x0310) | VTD_FRCD_FR(6) | VTD_FRCD_T`, then
    /// `vtd_set_frcd_and_update_ppf` ORs in `VTD_FRCD_F` (bit 63 of hi).
    const QEMU_READ_FAULT_HI: u64 = 0x0310 | (6 << 32) | (1 << 62) | (1 << 63);
    const QEMU_READ_FAULT_LO: u64 = 0x1234_5678 & !0xfff;

    #[test]
    fn decodes_the_record_qemu_writes_for_a_read_fault() {
        let raw = (u128::from(QEMU_READ_FAULT_HI) << 64) | u128::from(QEMU_READ_FAULT_LO);
        assert_eq!(raw, 0xC000_0006_0000_0310_0000_0000_1234_5000);
        let r = FaultRecord::decode(raw);
        assert_eq!(r.fault_info, 0x1234_5000);
        assert_eq!(r.source_id, 0x0310);
        assert_eq!(r.reason, FaultReason::ReadDenied);
        assert!(r.read);
        assert!(r.valid);
        assert_eq!(r.reserved, 0);
        assert_eq!(r.interrupt_index(), None);
        assert!(r.notes().is_empty(), "{:?}", r.notes());
        assert_eq!(FaultRecord::dma(0x0310, 0x1234_5678, FaultReason::ReadDenied, true).encode(), raw);
    }

    #[test]
    fn interrupt_fault_carries_the_index_in_bits_63_48() {
        // QEMU vtd_report_ir_fault(sid 0x00f8, 0x22, index 0x0105):
        // lo = VTD_FRCD_IR_IDX(0x105) = 0x0105 << 48, hi = 0xf8 | 0x22 << 32, then F.
        let hi: u64 = 0xf8 | (0x22 << 32) | (1 << 63);
        let lo: u64 = 0x0105 << 48;
        let raw = (u128::from(hi) << 64) | u128::from(lo);
        let r = FaultRecord::decode(raw);
        assert_eq!(r.reason, FaultReason::IrteNotPresent);
        assert_eq!(r.interrupt_index(), Some(0x0105));
        assert!(!r.read);
        assert_eq!(FaultRecord::interrupt(0xf8, 0x0105, FaultReason::IrteNotPresent).encode(), raw);
    }

    #[test]
    fn reserved_and_pasid_bits_are_carried() {
        // Bit 3 (reserved), PP (bit 95) and PV = 0x12345 at bits 123:104
        // (Linux: dma_frcd_pasid_value = (dword3 >> 8) & 0xfffff).
        let raw = (1u128 << 3) | (1u128 << 95) | (0x12345u128 << 104) | (5u128 << 96);
        let r = FaultRecord::decode(raw);
        assert_eq!(r.reserved, (1u128 << 3) | (1u128 << 95) | (0x12345u128 << 104));
        assert_eq!(r.pasid(), Some(0x12345));
        assert_eq!(r.encode(), raw);
        assert!(r.notes().iter().any(|n| n.contains("reserved bits set: 0x00000000000000000000000000000008")));
    }

    #[test]
    fn codes_names_and_linux_strings() {
        // QEMU VTDFaultReason numbering; Linux dmar.c strings.
        assert_eq!(FaultReason::from_code(0x0A), FaultReason::RootReserved);
        assert_eq!(FaultReason::TranslationBlocked.code(), 0x0D);
        assert_eq!(FaultReason::SourceIdFailed.code(), 0x26);
        assert_eq!(FaultReason::WriteDenied.to_string(), "0x05 (PTE Write access is not set)");
        assert_eq!(
            FaultReason::IrIndexBeyondTable.description(),
            "Interrupt index exceeded the interrupt-remapping table size"
        );
        assert_eq!(FaultReason::Other(0).description(), "Software");
        assert_eq!(FaultReason::Other(0x0E).description(), "Unknown");
        assert_eq!(FaultReason::Other(0x0E).name(), "other_0x0e");
        assert_eq!(serde_json::to_value(FaultReason::WriteDenied).unwrap(), "write_denied");
        assert!(FaultReason::CompatBlocked.is_interrupt());
        assert!(!FaultReason::Other(0x27).is_interrupt());
        assert!(!FaultReason::PteReserved.is_interrupt());
        for (i, r) in FaultReason::NAMED.iter().enumerate() {
            assert_eq!(FaultReason::from_code(r.code()), *r);
            assert_ne!(r.description(), "Unknown", "{r:?}");
            assert!(FaultReason::NAMED[..i].iter().all(|o| o.name() != r.name()));
        }
    }

    #[test]
    fn fields_match_json_keys() {
        let r = FaultRecord::interrupt(0x0310, 7, FaultReason::IrteReserved);
        let v = serde_json::to_value(r).unwrap();
        for (name, _) in r.fields() {
            if name != "note" {
                assert!(v.get(name).is_some(), "JSON lacks {name}");
            }
        }
        assert_eq!(v["reason"], "irte_reserved");
        assert_eq!(v["interrupt_index"], 7);
    }

    proptest! {
        #[test]
        fn every_register_value_round_trips(raw in any::<u128>()) {
            let r = FaultRecord::decode(raw);
            prop_assert_eq!(r.encode(), raw);
            prop_assert_eq!(FaultRecord::decode(r.encode()), r);
        }

        #[test]
        fn every_code_round_trips(code in any::<u8>()) {
            prop_assert_eq!(FaultReason::from_code(code).code(), code);
        }
    }
}
