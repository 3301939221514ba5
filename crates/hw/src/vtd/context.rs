//! VT-d root and context entries (legacy mode) and the source-id that
//! indexes them.
//!
//! Models docs/sources.md §6: the root table (4 KiB, 256 × 16-byte root
//! entries indexed by bus) points at one context table per bus (256 ×
//! 16-byte context entries indexed by devfn); a context entry names the
//! device's domain (DID), translation type and second-level page table.
//!
//! Layouts (QEMU `VTD_ROOT_ENTRY_*` / `VTD_CONTEXT_ENTRY_*` in
//! `hw/i386/intel_iommu_internal.h`; Linux `struct root_entry` /
//! `struct context_entry` comments and `context_set_*` helpers in
//! `drivers/iommu/intel/iommu.h`), bit 0 = bit 0 of the low qword:
//!
//! | Root entry bits | Field |
//! |---|---|
//! | 0 | P — present |
//! | 11:1 | reserved |
//! | 63:12 | CTP — context-table pointer (bits above the host address width are reserved) |
//! | 127:64 | reserved (legacy mode) |
//!
//! | Context entry bits | Field |
//! |---|---|
//! | 0 | P — present |
//! | 1 | FPD — fault processing disable |
//! | 3:2 | TT — translation type: 0 multi-level, 1 multi-level + device-TLB, 2 pass-through, 3 reserved |
//! | 11:4 | reserved |
//! | 63:12 | SLPTPTR — second-level page-table pointer |
//! | 66:64 | AW — address width: levels = AW + 2, AGAW = 30 + 9·AW |
//! | 70:67 | AVAIL — software (older Linux kernels marked entries copied from a previous kernel with bit 67) |
//! | 71 | reserved |
//! | 87:72 | DID — domain id |
//! | 127:88 | reserved |
//!
//! The checks follow QEMU `vtd_dev_to_context_entry` in order: present
//! (0x1 / 0x2), reserved bits (`vtd_root_entry_rsvd_bits_check` → 0xA,
//! `vtd_context_entry_rsvd_bits_check` → 0xB), then the AW level against
//! CAP.SAGAW and the TT against what the unit supports
//! (`vtd_ce_type_check`) → 0x3.
//!
//! Left out: scalable-mode root/context entries (upper context-table
//! pointer, 256-bit entries, RID_PASID) and the extended context entries of
//! VT-d 2.x; the pass-through / device-TLB support bits of ECAP (every TT
//! but 3 is accepted).

use serde::Serialize;
use serde::ser::SerializeStruct;

use super::fault::{FaultReason, low_u8, low_u16, low_u64};
use super::{hex128, mask64};

/// Bit positions of root and context entries.
pub mod field {
    /// Bit 0 of either entry: present.
    pub const PRESENT: u128 = 1;
    /// Bits 63:12 of the low qword: a 4 KiB-aligned table pointer.
    pub const POINTER_MASK: u128 = 0xFFFF_FFFF_FFFF_F000;
    /// Root entry: reserved bits 11:1 and 127:64 (QEMU
    /// `VTD_ROOT_ENTRY_RSVD(aw)` without the address-width part, plus the
    /// whole high qword, which QEMU rejects when non-zero in legacy mode).
    pub const ROOT_RESERVED: u128 = 0xFFE | (0xFFFF_FFFF_FFFF_FFFF << 64);
    /// Context entry bit 1: FPD.
    pub const FPD: u128 = 1 << 1;
    /// Context entry bits 3:2: TT.
    pub const TT_SHIFT: u32 = 2;
    /// Context entry bits 66:64: AW.
    pub const AW_SHIFT: u32 = 64;
    /// Context entry bits 70:67: AVAIL.
    pub const AVAIL_SHIFT: u32 = 67;
    /// Context entry bits 87:72: DID.
    pub const DID_SHIFT: u32 = 72;
    /// Context entry reserved bits: 11:4 (QEMU `VTD_CONTEXT_ENTRY_RSVD_LO`
    /// without the address-width part, `0xff0`) and 71, 127:88 (QEMU
    /// `VTD_CONTEXT_ENTRY_RSVD_HI = 0xffffffffff000080`).
    pub const CONTEXT_RESERVED: u128 = 0xFF0 | (0xFFFF_FFFF_FF00_0080 << 64);
    /// Context entry AVAIL bits 70:67.
    pub const CONTEXT_AVAIL: u128 = 0xF << AVAIL_SHIFT;
    /// Supported AW values when nothing else is known: bits 1, 2, 3 (39-,
    /// 48- and 57-bit), in CAP.SAGAW's encoding.
    pub const SAGAW_ALL: u8 = 0b0_1110;
}

/// The PCI requester ID of `bus:dev.func`, as VT-d's source-id
/// (Linux `PCI_DEVID(bus, devfn)`, QEMU `PCI_BUILD_BDF`): bus in bits 15:8,
/// device in 7:3, function in 2:0. Out-of-range `dev`/`func` bits are
/// dropped.
pub const fn source_id(bus: u8, dev: u8, func: u8) -> u16 {
    ((bus as u16) << 8) | (((dev & 0x1F) as u16) << 3) | ((func & 0x7) as u16)
}

/// Byte offset of the root entry for `sid` in the root table (indexed by bus).
pub const fn root_entry_offset(sid: u16) -> u64 {
    (sid >> 8) as u64 * 16
}

/// Byte offset of the context entry for `sid` in its context table
/// (indexed by devfn).
pub const fn context_entry_offset(sid: u16) -> u64 {
    (sid & 0xFF) as u64 * 16
}

/// A decoded legacy-mode root entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RootEntry {
    /// Bit 0.
    pub present: bool,
    /// Bits 63:12 as an address: the bus's context table.
    pub context_table: u64,
    /// Reserved bits 11:1 and 127:64, raw and in place.
    pub reserved: u128,
}

impl RootEntry {
    /// A present entry pointing at `context_table` (low 12 bits dropped),
    /// as Linux `iommu_context_addr` sets it up.
    pub fn new(context_table: u64) -> RootEntry {
        RootEntry { present: true, context_table: context_table & 0xFFFF_FFFF_FFFF_F000, reserved: 0 }
    }

    /// Decode a 128-bit entry (high qword ‖ low qword).
    pub fn decode(raw: u128) -> RootEntry {
        RootEntry {
            present: raw & field::PRESENT != 0,
            context_table: low_u64(raw & field::POINTER_MASK),
            reserved: raw & field::ROOT_RESERVED,
        }
    }

    /// Encode to the 128-bit entry.
    pub fn encode(&self) -> u128 {
        u128::from(self.present)
            | (u128::from(self.context_table) & field::POINTER_MASK)
            | (self.reserved & field::ROOT_RESERVED)
    }

    /// Whether hardware would use this entry: not present →
    /// [`FaultReason::RootNotPresent`]; reserved bits →
    /// [`FaultReason::RootReserved`]. Pointer bits above the host address
    /// width are checked by [`check_for`](Self::check_for) only.
    pub fn check(&self) -> Result<(), FaultReason> {
        self.check_for(64)
    }

    /// [`check`](Self::check) for a unit with host address width `haw`:
    /// context-table pointer bits `haw..=63` are reserved too (QEMU
    /// `VTD_ROOT_ENTRY_RSVD(aw) = 0xffe | ~VTD_HAW_MASK(aw)`).
    pub fn check_for(&self, haw: u8) -> Result<(), FaultReason> {
        if !self.present {
            return Err(FaultReason::RootNotPresent);
        }
        if self.reserved != 0 || self.context_table & mask64(63, u32::from(haw)) != 0 {
            return Err(FaultReason::RootReserved);
        }
        Ok(())
    }

    /// Misread or unusual settings, in words.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if !self.present && (self.context_table != 0 || self.reserved != 0) {
            notes.push("not present, but other bits are set (hardware ignores them)".to_owned());
        }
        if self.reserved & (0xFFFF_FFFF_FFFF_FFFF << 64) != 0 {
            notes.push(
                "high qword non-zero: reserved in legacy mode (scalable mode keeps an upper context-table pointer there)"
                    .to_owned(),
            );
        }
        if self.reserved & 0xFFE != 0 {
            notes.push(format!("reserved bits 11:1 set: {:#05x}", self.reserved & 0xFFE));
        }
        notes
    }

    /// `(name, value)` pairs, one per field; each note is its own `note` line.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![
            ("raw", hex128(self.encode())),
            ("present", self.present.to_string()),
            ("context_table", format!("{:#018x}", self.context_table)),
            ("reserved", hex128(self.reserved)),
            ("check", check_text(self.check())),
        ];
        out.extend(self.notes().into_iter().map(|n| ("note", n)));
        out
    }
}

impl Serialize for RootEntry {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut st = serializer.serialize_struct("RootEntry", 6)?;
        st.serialize_field("raw", &hex128(self.encode()))?;
        st.serialize_field("present", &self.present)?;
        st.serialize_field("context_table", &self.context_table)?;
        st.serialize_field("reserved", &hex128(self.reserved))?;
        st.serialize_field("check", &check_name(self.check()))?;
        st.serialize_field("notes", &self.notes())?;
        st.end()
    }
}

/// The context entry's TT field (bits 3:2). Serializes as its display name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TranslationType {
    /// 0: untranslated requests walk the second-level tables.
    #[default]
    MultiLevel,
    /// 1: as 0, and translation requests from a device-TLB are allowed.
    MultiLevelDeviceTlb,
    /// 2: pass-through — the input address is the output address.
    PassThrough,
    /// 3: reserved (QEMU `vtd_ce_type_check` → 0x3).
    Reserved,
}

impl TranslationType {
    /// Decode the 2-bit field (only the low 2 bits are used).
    pub const fn from_bits(bits: u8) -> TranslationType {
        match bits & 0b11 {
            0 => Self::MultiLevel,
            1 => Self::MultiLevelDeviceTlb,
            2 => Self::PassThrough,
            _ => Self::Reserved,
        }
    }

    /// The 2-bit encoding.
    pub const fn bits(self) -> u8 {
        match self {
            Self::MultiLevel => 0,
            Self::MultiLevelDeviceTlb => 1,
            Self::PassThrough => 2,
            Self::Reserved => 3,
        }
    }
}

impl std::fmt::Display for TranslationType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::MultiLevel => "multi-level",
            Self::MultiLevelDeviceTlb => "multi-level-device-tlb",
            Self::PassThrough => "pass-through",
            Self::Reserved => "reserved",
        })
    }
}

impl Serialize for TranslationType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A decoded legacy-mode context entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContextEntry {
    /// Bit 0.
    pub present: bool,
    /// Bit 1: faults for this device are not recorded.
    pub fpd: bool,
    /// Bits 3:2.
    pub translation_type: TranslationType,
    /// Bits 63:12 as an address: the top-level second-level table.
    pub slptptr: u64,
    /// Bits 66:64, raw (3 bits).
    pub aw: u8,
    /// Bits 87:72: the domain id (IOTLB tag).
    pub did: u16,
    /// Every bit outside the named fields, raw and in place: reserved bits
    /// 11:4, 71 and 127:88, and the software bits 70:67 (AVAIL, which
    /// [`check`](Self::check) ignores; see [`avail`](Self::avail)).
    pub reserved: u128,
}

impl ContextEntry {
    /// A present, translated entry (TT 0, FPD 0) for domain `did` walking
    /// `slptptr` (low 12 bits dropped) with `aw` (low 3 bits), as Linux
    /// `domain_context_mapping_one` builds it with `context_set_*`.
    pub fn new_translated(slptptr: u64, did: u16, aw: u8) -> ContextEntry {
        ContextEntry {
            present: true,
            fpd: false,
            translation_type: TranslationType::MultiLevel,
            slptptr: slptptr & 0xFFFF_FFFF_FFFF_F000,
            aw: aw & 0b111,
            did,
            reserved: 0,
        }
    }

    /// A present pass-through entry (TT 2, no page table) for domain `did`;
    /// Linux still fills AW (with the unit's widest supported width).
    pub fn new_passthrough(did: u16, aw: u8) -> ContextEntry {
        ContextEntry { translation_type: TranslationType::PassThrough, ..ContextEntry::new_translated(0, did, aw) }
    }

    /// Decode a 128-bit entry (high qword ‖ low qword).
    pub fn decode(raw: u128) -> ContextEntry {
        ContextEntry {
            present: raw & field::PRESENT != 0,
            fpd: raw & field::FPD != 0,
            translation_type: TranslationType::from_bits(low_u8(raw >> field::TT_SHIFT)),
            slptptr: low_u64(raw & field::POINTER_MASK),
            aw: low_u8(raw >> field::AW_SHIFT) & 0b111,
            did: low_u16(raw >> field::DID_SHIFT),
            reserved: raw & (field::CONTEXT_RESERVED | field::CONTEXT_AVAIL),
        }
    }

    /// Encode to the 128-bit entry.
    pub fn encode(&self) -> u128 {
        let mut raw = u128::from(self.present) | (u128::from(self.fpd) << 1);
        raw |= u128::from(self.translation_type.bits()) << field::TT_SHIFT;
        raw |= u128::from(self.slptptr) & field::POINTER_MASK;
        raw |= u128::from(self.aw & 0b111) << field::AW_SHIFT;
        raw |= u128::from(self.did) << field::DID_SHIFT;
        raw | (self.reserved & (field::CONTEXT_RESERVED | field::CONTEXT_AVAIL))
    }

    /// Second-level walk depth: AW 1/2/3 → 3/4/5 levels (QEMU
    /// `vtd_ce_get_level = 2 + AW`); other AW values are not valid.
    pub fn levels(&self) -> Option<u8> {
        (1..=3).contains(&self.aw).then_some(self.aw + 2)
    }

    /// Adjusted guest address width: AW 1/2/3 → 39/48/57 bits (QEMU
    /// `vtd_ce_get_agaw = 30 + 9·AW`).
    pub fn address_width(&self) -> Option<u8> {
        (1..=3).contains(&self.aw).then_some(30 + 9 * self.aw)
    }

    /// The software-available bits 70:67.
    pub fn avail(&self) -> u8 {
        low_u8(self.reserved >> field::AVAIL_SHIFT) & 0xF
    }

    /// Whether hardware would use this entry, for a unit supporting AW 1–3:
    /// see [`check_for`](Self::check_for).
    pub fn check(&self) -> Result<(), FaultReason> {
        self.check_for(64, field::SAGAW_ALL)
    }

    /// Whether a unit with host address width `haw` and CAP.SAGAW `sagaw`
    /// would use this entry, in QEMU `vtd_dev_to_context_entry` order: not
    /// present → 0x2; reserved bits (including SLPTPTR bits `haw..=63`,
    /// QEMU `VTD_CONTEXT_ENTRY_RSVD_LO(aw)`) → 0xB; AW whose SAGAW bit is
    /// clear (`vtd_is_sl_level_supported`) or TT = 3 → 0x3.
    pub fn check_for(&self, haw: u8, sagaw: u8) -> Result<(), FaultReason> {
        if !self.present {
            return Err(FaultReason::ContextNotPresent);
        }
        if self.reserved & field::CONTEXT_RESERVED != 0 || self.slptptr & mask64(63, u32::from(haw)) != 0 {
            return Err(FaultReason::ContextReserved);
        }
        if self.levels().is_none() || sagaw >> self.aw & 1 == 0 {
            return Err(FaultReason::ContextInvalid);
        }
        if self.translation_type == TranslationType::Reserved {
            return Err(FaultReason::ContextInvalid);
        }
        Ok(())
    }

    /// Misread or unusual settings, in words.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if !self.present {
            notes.push("not present: requests from this device fault with 0x2 (unless FPD)".to_owned());
        }
        if self.levels().is_none() {
            notes.push(format!("AW {} is not a valid address width (1, 2, 3 = 39, 48, 57 bits)", self.aw));
        }
        match self.translation_type {
            TranslationType::PassThrough if self.slptptr != 0 => {
                notes.push("pass-through: the second-level table pointer is not used".to_owned())
            }
            TranslationType::Reserved => notes.push("TT 3 is reserved in legacy mode".to_owned()),
            _ => {}
        }
        let reserved = self.reserved & field::CONTEXT_RESERVED;
        if reserved != 0 {
            notes.push(format!("reserved bits set: {}", hex128(reserved)));
        }
        if self.fpd {
            notes.push("FPD: qualified faults for this device are not recorded".to_owned());
        }
        notes
    }

    /// `(name, value)` pairs, one per field; each note is its own `note` line.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let opt = |v: Option<u8>| v.map_or_else(|| "none".to_owned(), |v| v.to_string());
        let mut out = vec![
            ("raw", hex128(self.encode())),
            ("present", self.present.to_string()),
            ("fpd", self.fpd.to_string()),
            ("translation_type", self.translation_type.to_string()),
            ("slptptr", format!("{:#018x}", self.slptptr)),
            ("aw", self.aw.to_string()),
            ("levels", opt(self.levels())),
            ("address_width", opt(self.address_width())),
            ("did", format!("{:#06x} ({})", self.did, self.did)),
            ("avail", format!("{:#03x}", self.avail())),
            ("reserved", hex128(self.reserved & field::CONTEXT_RESERVED)),
            ("check", check_text(self.check())),
        ];
        out.extend(self.notes().into_iter().map(|n| ("note", n)));
        out
    }
}

impl Serialize for ContextEntry {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut st = serializer.serialize_struct("ContextEntry", 13)?;
        st.serialize_field("raw", &hex128(self.encode()))?;
        st.serialize_field("present", &self.present)?;
        st.serialize_field("fpd", &self.fpd)?;
        st.serialize_field("translation_type", &self.translation_type)?;
        st.serialize_field("slptptr", &self.slptptr)?;
        st.serialize_field("aw", &self.aw)?;
        st.serialize_field("levels", &self.levels())?;
        st.serialize_field("address_width", &self.address_width())?;
        st.serialize_field("did", &self.did)?;
        st.serialize_field("avail", &self.avail())?;
        st.serialize_field("reserved", &hex128(self.reserved & field::CONTEXT_RESERVED))?;
        st.serialize_field("check", &check_name(self.check()))?;
        st.serialize_field("notes", &self.notes())?;
        st.end()
    }
}

/// A check result as text: `ok` or the reason's display form.
pub(crate) fn check_text(result: Result<(), FaultReason>) -> String {
    result.map_or_else(|r| r.to_string(), |()| "ok".to_owned())
}

/// A check result for JSON: `ok` or the reason's name.
pub(crate) fn check_name(result: Result<(), FaultReason>) -> String {
    result.map_or_else(FaultReason::name, |()| "ok".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A context entry built the way Linux's `context_set_*` helpers build
    /// it: lo = P | TT << 2 | (addr & VTD_PAGE_MASK); hi = (aw & 7) |
    /// (did & 0xffff) << 8.
    fn linux_context(addr: u64, tt: u64, aw: u64, did: u64) -> u128 {
        let lo: u64 = 1 | ((tt & 3) << 2) | (addr & !0xfff);
        let hi: u64 = (aw & 7) | ((did & 0xffff) << 8);
        (u128::from(hi) << 64) | u128::from(lo)
    }

    #[test]
    fn source_id_is_bus_dev_fn() {
        // 03:02.1 → 0x03 << 8 | 2 << 3 | 1 = 0x0311.
        assert_eq!(source_id(3, 2, 1), 0x0311);
        assert_eq!(source_id(0xff, 31, 7), 0xffff);
        assert_eq!(root_entry_offset(0x0311), 0x30);
        assert_eq!(context_entry_offset(0x0311), 0x110);
    }

    #[test]
    fn root_entry_decodes_qemu_masks() {
        // QEMU: VTD_ROOT_ENTRY_P = 1, VTD_ROOT_ENTRY_CTP = ~0xfff.
        let raw: u128 = 0x0000_0001_2345_6001;
        let r = RootEntry::decode(raw);
        assert!(r.present);
        assert_eq!(r.context_table, 0x1_2345_6000);
        assert_eq!(r.check(), Ok(()));
        assert_eq!(RootEntry::new(0x1_2345_6fff).encode(), raw);
        // Bit 1 reserved (0xffe), or anything in the high qword (legacy).
        assert_eq!(RootEntry::decode(raw | 2).check(), Err(FaultReason::RootReserved));
        assert_eq!(RootEntry::decode(raw | (1 << 64)).check(), Err(FaultReason::RootReserved));
        // Pointer above a 39-bit HAW: bit 39 reserved with haw 39, not 48.
        let high = RootEntry::decode((1 << 39) | 1);
        assert_eq!(high.check_for(39), Err(FaultReason::RootReserved));
        assert_eq!(high.check_for(48), Ok(()));
        assert_eq!(RootEntry::decode(0).check(), Err(FaultReason::RootNotPresent));
    }

    #[test]
    fn context_entry_decodes_linux_layout() {
        let raw = linux_context(0x7_5432_1000, 0, 2, 0x0042);
        assert_eq!(raw, 0x0000_0000_0000_4202_0000_0007_5432_1001);
        let c = ContextEntry::decode(raw);
        assert!(c.present);
        assert!(!c.fpd);
        assert_eq!(c.translation_type, TranslationType::MultiLevel);
        assert_eq!(c.slptptr, 0x7_5432_1000);
        assert_eq!(c.aw, 2);
        assert_eq!(c.levels(), Some(4));
        assert_eq!(c.address_width(), Some(48));
        assert_eq!(c.did, 0x42);
        assert_eq!(c.reserved, 0);
        assert_eq!(c.check(), Ok(()));
        assert_eq!(ContextEntry::new_translated(0x7_5432_1000, 0x42, 2), c);
        let pt = ContextEntry::decode(linux_context(0, 2, 3, 7));
        assert_eq!(pt, ContextEntry::new_passthrough(7, 3));
        assert_eq!(pt.levels(), Some(5));
        assert_eq!(pt.address_width(), Some(57));
    }

    #[test]
    fn context_checks_follow_qemu_order() {
        let good = linux_context(0x1000, 0, 1, 1);
        // QEMU VTD_CONTEXT_ENTRY_RSVD_LO: 0xff0; RSVD_HI: 0xffffffffff000080.
        assert_eq!(ContextEntry::decode(good | (1 << 4)).check(), Err(FaultReason::ContextReserved));
        assert_eq!(ContextEntry::decode(good | (1 << (64 + 7))).check(), Err(FaultReason::ContextReserved));
        assert_eq!(ContextEntry::decode(good | (1 << (64 + 24))).check(), Err(FaultReason::ContextReserved));
        // AVAIL bits 70:67 (hi 6:3) are not reserved.
        let avail = ContextEntry::decode(good | (0b1001 << 67));
        assert_eq!(avail.check(), Ok(()));
        assert_eq!(avail.avail(), 0b1001);
        // AW 0 and AW 4 are not valid levels; TT 3 is reserved → 0x3.
        assert_eq!(ContextEntry::decode(linux_context(0x1000, 0, 0, 1)).check(), Err(FaultReason::ContextInvalid));
        assert_eq!(ContextEntry::decode(linux_context(0x1000, 0, 4, 1)).check(), Err(FaultReason::ContextInvalid));
        assert_eq!(ContextEntry::decode(linux_context(0x1000, 3, 1, 1)).check(), Err(FaultReason::ContextInvalid));
        // QEMU's default CAP advertises SAGAW 39- and 48-bit only (bits 1, 2):
        // a 5-level entry is then invalid.
        let five = ContextEntry::decode(linux_context(0x1000, 0, 3, 1));
        assert_eq!(five.check_for(48, 0b0110), Err(FaultReason::ContextInvalid));
        assert_eq!(five.check(), Ok(()));
        // Pointer above HAW → reserved (reserved check comes before AW).
        let far = ContextEntry::decode(linux_context(1 << 40, 0, 0, 1));
        assert_eq!(far.check_for(39, 0b0110), Err(FaultReason::ContextReserved));
        // Not present wins over everything.
        assert_eq!(ContextEntry::decode(good & !1).check(), Err(FaultReason::ContextNotPresent));
    }

    #[test]
    fn fields_match_json_keys() {
        let c = ContextEntry::decode(linux_context(0x1000, 2, 5, 9) | (1 << 5));
        let v = serde_json::to_value(c).unwrap();
        for (name, _) in c.fields() {
            if name != "note" {
                assert!(v.get(name).is_some(), "JSON lacks {name}");
            }
        }
        assert_eq!(v["translation_type"], "pass-through");
        assert_eq!(v["check"], "context_reserved");
        assert_eq!(v["levels"], serde_json::Value::Null);
        let r = RootEntry::decode(0x1001);
        let v = serde_json::to_value(r).unwrap();
        for (name, _) in r.fields() {
            assert!(v.get(name).is_some(), "JSON lacks {name}");
        }
    }

    proptest! {
        #[test]
        fn root_entries_round_trip(raw in any::<u128>()) {
            let r = RootEntry::decode(raw);
            prop_assert_eq!(r.encode(), raw);
            prop_assert_eq!(RootEntry::decode(r.encode()), r);
        }

        #[test]
        fn context_entries_round_trip(raw in any::<u128>()) {
            let c = ContextEntry::decode(raw);
            prop_assert_eq!(c.encode(), raw);
            prop_assert_eq!(ContextEntry::decode(c.encode()), c);
        }

        #[test]
        fn built_entries_decode_to_themselves(ptr in any::<u64>(), did in any::<u16>(), aw in 0u8..8) {
            let c = ContextEntry::new_translated(ptr, did, aw);
            prop_assert_eq!(ContextEntry::decode(c.encode()), c);
            let p = ContextEntry::new_passthrough(did, aw);
            prop_assert_eq!(ContextEntry::decode(p.encode()), p);
        }
    }
}
