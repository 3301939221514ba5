//! VT-d interrupt-remapping table entry (IRTE, 128 bits), remapped and
//! posted formats, and source-id validation.
//!
//! Models docs/sources.md §5.1. Bit positions are Linux's `struct irte`
//! (`include/linux/dmar.h`: the shared, remapped-mode `r_*` and posted-mode
//! `p_*` views) and QEMU's `union VTD_IR_TableEntry`
//! (`include/hw/i386/intel_iommu.h`), bit 0 = bit 0 of the low qword:
//!
//! | Bits | Remapped (IM = 0) | Posted (IM = 1) |
//! |---|---|---|
//! | 0 | P — present | P |
//! | 1 | FPD — fault processing disable | FPD |
//! | 2 | DM — destination mode (1 logical) | reserved (7:2) |
//! | 3 | RH — redirection hint | ″ |
//! | 4 | TM — trigger mode (1 level) | ″ |
//! | 7:5 | DLM — delivery mode | ″ |
//! | 11:8 | AVAIL (software) | AVAIL |
//! | 13:12 | reserved (14:12) | reserved |
//! | 14 | ″ | URG — urgent |
//! | 15 | IM = 0 (Linux `pst`) | IM = 1 |
//! | 23:16 | V — vector | VV — virtual vector |
//! | 31:24 | reserved | reserved (37:24) |
//! | 63:32 | DST — destination (37:32 reserved in posted) | 63:38 PDA\[31:6\] (Linux `pda_l`, `PDA_LOW_BIT 26`) |
//! | 79:64 | SID — source-id | SID |
//! | 81:80 | SQ — source-id qualifier | SQ |
//! | 83:82 | SVT — source validation type | SVT |
//! | 127:84 | reserved | 95:84 reserved, 127:96 PDA\[63:32\] (`pda_h`) |
//!
//! [`Irte::check`] follows QEMU `vtd_irte_get`: a non-present entry faults
//! 0x22; a present entry with a reserved field set faults 0x24 (QEMU checks
//! `__reserved_0/1/2`, i.e. bits 14:12, 31:24, 127:84 — it does not model
//! posting, so it never looks at IM; here a posted entry is checked against
//! its own reserved bits). [`SourceValidation::check`] is the SVT/SQ logic
//! of the same function (fault 0x26 on failure).
//!
//! Left out: the hardware posting sequence (PIR/ON/SN in the posted
//! descriptor, docs/sources.md §5.2), IRTE caching and its invalidation
//! (see [`super::regs::InvDesc::Iec`]), and checks that need the unit's
//! state (index beyond the table: [`super::regs::Irta::entries`]).

use serde::Serialize;
use serde::ser::SerializeStruct;

use super::context::{check_name, check_text};
use super::fault::{FaultReason, low_u8, low_u16, low_u64};
use super::{bdf, hex128, mask128};
use crate::msi::DeliveryMode;

/// Bit positions of an IRTE.
pub mod field {
    use super::mask128;

    /// Bit 0: present.
    pub const PRESENT: u128 = 1;
    /// Bit 1: fault processing disable.
    pub const FPD: u128 = 1 << 1;
    /// Bit 2: destination mode logical (remapped).
    pub const DEST_MODE_LOGICAL: u128 = 1 << 2;
    /// Bit 3: redirection hint (remapped).
    pub const REDIR_HINT: u128 = 1 << 3;
    /// Bit 4: trigger mode level (remapped).
    pub const TRIGGER_LEVEL: u128 = 1 << 4;
    /// Bits 7:5: delivery mode (remapped).
    pub const DELIVERY_MODE_SHIFT: u32 = 5;
    /// Bits 11:8: available to software.
    pub const AVAIL_SHIFT: u32 = 8;
    /// Bit 14: urgent (posted).
    pub const URGENT: u128 = 1 << 14;
    /// Bit 15: IRTE mode, 1 = posted (Linux `pst`, QEMU `irte_mode`).
    pub const IM_POSTED: u128 = 1 << 15;
    /// Bits 23:16: vector (remapped) or virtual vector (posted).
    pub const VECTOR_SHIFT: u32 = 16;
    /// Bits 63:32: destination (remapped).
    pub const DEST_SHIFT: u32 = 32;
    /// Bits 63:38: posted-descriptor address bits 31:6 (Linux `pda_l`).
    pub const PDA_LOW_SHIFT: u32 = 38;
    /// Width of `pda_l` (Linux `PDA_LOW_BIT`).
    pub const PDA_LOW_BITS: u32 = 26;
    /// Bits 127:96: posted-descriptor address bits 63:32 (Linux `pda_h`).
    pub const PDA_HIGH_SHIFT: u32 = 96;
    /// Bits 79:64: source-id.
    pub const SID_SHIFT: u32 = 64;
    /// Bits 81:80: source-id qualifier.
    pub const SQ_SHIFT: u32 = 80;
    /// Bits 83:82: source validation type.
    pub const SVT_SHIFT: u32 = 82;
    /// Remapped-format reserved bits: 14:12, 31:24, 127:84 (QEMU
    /// `__reserved_0`, `__reserved_1`, `__reserved_2`; Linux `r_res0` minus
    /// IM, `r_res1`, `__res3`).
    pub const REMAPPED_RESERVED: u128 = mask128(14, 12) | mask128(31, 24) | mask128(127, 84);
    /// Posted-format reserved bits: 7:2, 13:12, 37:24, 95:84 (Linux `p_res0`,
    /// `p_res1`, `p_res2`, `p_res3`).
    pub const POSTED_RESERVED: u128 = mask128(7, 2) | mask128(13, 12) | mask128(37, 24) | mask128(95, 84);
}

/// SVT 0: no verification (Linux `SVT_NO_VERIFY`).
pub const SVT_NO_VERIFY: u8 = 0;
/// SVT 1: verify the requester ID under the SQ mask (`SVT_VERIFY_SID_SQ`).
pub const SVT_VERIFY_SID_SQ: u8 = 1;
/// SVT 2: verify the requester's bus against a range (`SVT_VERIFY_BUS`).
pub const SVT_VERIFY_BUS: u8 = 2;
/// SQ 0: compare all 16 bits (Linux `SQ_ALL_16`).
pub const SQ_ALL_16: u8 = 0;
/// QEMU `vtd_svt_mask[SQ]`: the requester-ID bits compared under each SQ
/// (SQ 1 ignores bit 2, SQ 2 bits 2:1, SQ 3 bits 2:0 — function bits).
pub const SQ_MASKS: [u16; 4] = [0xFFFF, 0xFFFB, 0xFFF9, 0xFFF8];

/// Source validation: which requesters may use the entry (bits 83:64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub struct SourceValidation {
    /// Bits 83:82: 0 none, 1 requester ID under SQ, 2 bus range, 3 reserved.
    pub svt: u8,
    /// Bits 81:80: with SVT 1, which function bits to ignore.
    pub sq: u8,
    /// Bits 79:64: the expected requester ID (SVT 1) or bus range (SVT 2).
    pub sid: u16,
}

impl SourceValidation {
    /// Verify requester `sid` exactly (Linux `set_irte_sid(irte,
    /// SVT_VERIFY_SID_SQ, SQ_ALL_16, sid)`, what `set_msi_sid` uses for a
    /// plain PCIe function).
    pub const fn exact(sid: u16) -> SourceValidation {
        SourceValidation { svt: SVT_VERIFY_SID_SQ, sq: SQ_ALL_16, sid }
    }

    /// Whether an interrupt request from `requester` passes, as QEMU
    /// `vtd_irte_get` decides: SVT 0 passes; SVT 1 compares
    /// `sid & mask == requester & mask` with `mask = SQ_MASKS[sq]`; SVT 2
    /// passes when `sid[7:0] <= requester bus <= sid[15:8]` (QEMU reads
    /// bits 15:8 as the maximum and 7:0 as the minimum bus); SVT 3 fails.
    /// A failure is fault 0x26.
    ///
    /// Linux's `set_irte_verify_bus(start_bus, end_bus)` writes
    /// `start_bus << 8 | end_bus`, i.e. the *start* in 15:8; the two
    /// readings agree when start = end, the case Linux produces for
    /// same-bus aliases.
    pub fn check(&self, requester: u16) -> bool {
        match self.svt & 0b11 {
            SVT_NO_VERIFY => true,
            SVT_VERIFY_SID_SQ => {
                let mask = SQ_MASKS[usize::from(self.sq & 0b11)];
                self.sid & mask == requester & mask
            }
            SVT_VERIFY_BUS => {
                let bus = requester >> 8;
                let (max, min) = (self.sid >> 8, self.sid & 0xFF);
                (min..=max).contains(&bus)
            }
            _ => false,
        }
    }

    fn decode(raw: u128) -> SourceValidation {
        SourceValidation {
            svt: low_u8(raw >> field::SVT_SHIFT) & 0b11,
            sq: low_u8(raw >> field::SQ_SHIFT) & 0b11,
            sid: low_u16(raw >> field::SID_SHIFT),
        }
    }

    fn encode(&self) -> u128 {
        (u128::from(self.sid) << field::SID_SHIFT)
            | (u128::from(self.sq & 0b11) << field::SQ_SHIFT)
            | (u128::from(self.svt & 0b11) << field::SVT_SHIFT)
    }

    fn describe_svt(&self) -> String {
        let what = match self.svt & 0b11 {
            SVT_NO_VERIFY => "no verification",
            SVT_VERIFY_SID_SQ => "verify requester id under SQ",
            SVT_VERIFY_BUS => "verify bus range",
            _ => "reserved (every request fails)",
        };
        format!("{} ({what})", self.svt)
    }

    fn describe_sq(&self) -> String {
        let what = match self.sq & 0b11 {
            0 => "compare all 16 bits",
            1 => "ignore bit 2",
            2 => "ignore bits 2:1",
            _ => "ignore bits 2:0",
        };
        format!("{} ({what})", self.sq)
    }

    fn describe_sid(&self) -> String {
        if self.svt & 0b11 == SVT_VERIFY_BUS {
            format!("{:#06x} (buses {:#04x}..={:#04x})", self.sid, self.sid & 0xFF, self.sid >> 8)
        } else {
            bdf(self.sid)
        }
    }
}

/// A remapped-format IRTE (IM = 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RemappedIrte {
    /// Bit 0.
    pub present: bool,
    /// Bit 1.
    pub fpd: bool,
    /// Bit 2: DM, 1 = logical.
    pub dest_mode_logical: bool,
    /// Bit 3: RH.
    pub redir_hint: bool,
    /// Bit 4: TM, 1 = level.
    pub trigger_level: bool,
    /// Bits 7:5, raw (see [`DeliveryMode::from_bits`]).
    pub delivery_mode: u8,
    /// Bits 11:8.
    pub avail: u8,
    /// Bits 23:16.
    pub vector: u8,
    /// Bits 63:32: the raw DST field (see [`apic_id`](Self::apic_id)).
    pub destination: u32,
    /// Bits 83:64.
    pub source: SourceValidation,
    /// Reserved bits 14:12, 31:24, 127:84, raw and in place.
    pub reserved: u128,
}

impl RemappedIrte {
    /// The entry Linux programs for an MSI or IO-APIC interrupt:
    /// `prepare_irte` (present, physical destination mode, fixed delivery,
    /// **RH = 1**, trigger edge, `dest_id = IRTE_DEST(dest)` = the APIC ID
    /// in x2APIC/EIM mode, `dest << 8` otherwise) then
    /// `set_irte_sid(SVT_VERIFY_SID_SQ, SQ_ALL_16, sid)`.
    ///
    /// Linux always passes `trigger_level = false` (edge): an IO-APIC
    /// pin's level trigger lives in its RTE. In xAPIC mode only the low
    /// 8 bits of `apic_id` are used.
    pub fn new(vector: u8, apic_id: u32, eim: bool, trigger_level: bool, sid: u16) -> RemappedIrte {
        RemappedIrte {
            present: true,
            fpd: false,
            dest_mode_logical: false,
            redir_hint: true,
            trigger_level,
            delivery_mode: DeliveryMode::Fixed.bits(),
            avail: 0,
            vector,
            destination: if eim { apic_id } else { (apic_id & 0xFF) << 8 },
            source: SourceValidation::exact(sid),
            reserved: 0,
        }
    }

    /// The target APIC ID: in x2APIC/EIM mode (IRTA.EIME = 1) all 32 bits
    /// of DST; in xAPIC mode DST bits 15:8 (QEMU `vtd_remap_irq_get`:
    /// `(dest & 0xff00) >> 8` when `!intr_eime`).
    pub fn apic_id(&self, eim: bool) -> u32 {
        if eim { self.destination } else { (self.destination >> 8) & 0xFF }
    }

    fn decode(raw: u128) -> RemappedIrte {
        RemappedIrte {
            present: raw & field::PRESENT != 0,
            fpd: raw & field::FPD != 0,
            dest_mode_logical: raw & field::DEST_MODE_LOGICAL != 0,
            redir_hint: raw & field::REDIR_HINT != 0,
            trigger_level: raw & field::TRIGGER_LEVEL != 0,
            delivery_mode: low_u8(raw >> field::DELIVERY_MODE_SHIFT) & 0b111,
            avail: low_u8(raw >> field::AVAIL_SHIFT) & 0xF,
            vector: low_u8(raw >> field::VECTOR_SHIFT),
            destination: (low_u64(raw >> field::DEST_SHIFT) & 0xFFFF_FFFF) as u32,
            source: SourceValidation::decode(raw),
            reserved: raw & field::REMAPPED_RESERVED,
        }
    }

    /// Encode to the 128-bit entry (IM = 0). Fields wider than their bits
    /// are truncated.
    pub fn encode(&self) -> u128 {
        let mut raw = u128::from(self.present) | (u128::from(self.fpd) << 1);
        raw |= u128::from(self.dest_mode_logical) << 2;
        raw |= u128::from(self.redir_hint) << 3;
        raw |= u128::from(self.trigger_level) << 4;
        raw |= u128::from(self.delivery_mode & 0b111) << field::DELIVERY_MODE_SHIFT;
        raw |= u128::from(self.avail & 0xF) << field::AVAIL_SHIFT;
        raw |= u128::from(self.vector) << field::VECTOR_SHIFT;
        raw |= u128::from(self.destination) << field::DEST_SHIFT;
        raw | self.source.encode() | (self.reserved & field::REMAPPED_RESERVED)
    }

    /// Misread or unusual settings, in words.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = common_notes(self.present, self.fpd, self.reserved);
        let mode = DeliveryMode::from_bits(self.delivery_mode);
        if let DeliveryMode::Reserved(n) = mode {
            notes.push(format!("delivery mode {n:#05b} is reserved"));
        }
        if mode.uses_irr() && self.vector < crate::msi::field::FIRST_LEGAL_VECTOR {
            notes.push(format!(
                "vector {:#04x} is illegal for fixed/lowest-priority delivery (below 0x10)",
                self.vector
            ));
        }
        if self.destination & 0xFFFF_00FF != 0 {
            notes.push(format!(
                "DST {:#010x} has bits outside 15:8: meaningful only in x2APIC (EIM) mode",
                self.destination
            ));
        }
        notes
    }

    /// `(name, value)` pairs, one per field; each note is its own `note` line.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let mode = DeliveryMode::from_bits(self.delivery_mode);
        let mut out = vec![
            ("format", "remapped".to_owned()),
            ("raw", hex128(self.encode())),
            ("present", self.present.to_string()),
            ("fpd", self.fpd.to_string()),
            ("dest_mode_logical", self.dest_mode_logical.to_string()),
            ("redir_hint", self.redir_hint.to_string()),
            ("trigger_level", self.trigger_level.to_string()),
            ("delivery_mode", format!("{} ({mode})", self.delivery_mode)),
            ("avail", format!("{:#03x}", self.avail)),
            ("vector", format!("{:#04x} ({})", self.vector, self.vector)),
            ("destination", format!("{:#010x}", self.destination)),
            ("apic_id_xapic", self.apic_id(false).to_string()),
            ("apic_id_x2apic", self.apic_id(true).to_string()),
        ];
        out.extend(source_fields(&self.source));
        out.push(("reserved", hex128(self.reserved)));
        out.push(("check", check_text(Irte::Remapped(*self).check())));
        out.extend(self.notes().into_iter().map(|n| ("note", n)));
        out
    }
}

impl Serialize for RemappedIrte {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut st = serializer.serialize_struct("RemappedIrte", 20)?;
        st.serialize_field("format", "remapped")?;
        st.serialize_field("raw", &hex128(self.encode()))?;
        st.serialize_field("present", &self.present)?;
        st.serialize_field("fpd", &self.fpd)?;
        st.serialize_field("dest_mode_logical", &self.dest_mode_logical)?;
        st.serialize_field("redir_hint", &self.redir_hint)?;
        st.serialize_field("trigger_level", &self.trigger_level)?;
        st.serialize_field("delivery_mode", &self.delivery_mode)?;
        st.serialize_field("avail", &self.avail)?;
        st.serialize_field("vector", &self.vector)?;
        st.serialize_field("destination", &self.destination)?;
        st.serialize_field("apic_id_xapic", &self.apic_id(false))?;
        st.serialize_field("apic_id_x2apic", &self.apic_id(true))?;
        st.serialize_field("sid", &self.source.sid)?;
        st.serialize_field("sq", &self.source.sq)?;
        st.serialize_field("svt", &self.source.svt)?;
        st.serialize_field("reserved", &hex128(self.reserved))?;
        st.serialize_field("check", &check_name(Irte::Remapped(*self).check()))?;
        st.serialize_field("notes", &self.notes())?;
        st.end()
    }
}

/// A posted-format IRTE (IM = 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PostedIrte {
    /// Bit 0.
    pub present: bool,
    /// Bit 1.
    pub fpd: bool,
    /// Bit 14: URG, notify even when the descriptor's SN is set.
    pub urgent: bool,
    /// Bits 11:8.
    pub avail: u8,
    /// Bits 23:16: VV, the vector posted into the descriptor's PIR.
    pub vector: u8,
    /// The posted-interrupt descriptor address (64-byte aligned): bits
    /// 31:6 from IRTE 63:38, bits 63:32 from IRTE 127:96.
    pub pda: u64,
    /// Bits 83:64.
    pub source: SourceValidation,
    /// Reserved bits 7:2, 13:12, 37:24, 95:84, raw and in place.
    pub reserved: u128,
}

impl PostedIrte {
    /// The posted entry Linux `intel_ir_set_vcpu_affinity` derives from a
    /// remapped one: the shared fields (present, FPD, AVAIL, SID/SQ/SVT;
    /// `dmar_copy_shared_irte`) kept, IM = 1, URG = 0, VV = `vector`,
    /// `pda_l = (pda >> 6) & 0x3ffffff`, `pda_h = pda >> 32`.
    pub fn from_remapped(remapped: &RemappedIrte, vector: u8, pda: u64) -> PostedIrte {
        PostedIrte {
            present: remapped.present,
            fpd: remapped.fpd,
            urgent: false,
            avail: remapped.avail,
            vector,
            pda: pda & !0x3F,
            source: remapped.source,
            reserved: 0,
        }
    }

    fn decode(raw: u128) -> PostedIrte {
        let pda_low = low_u64(super::bits128(raw, field::PDA_LOW_SHIFT, field::PDA_LOW_BITS)) << 6;
        let pda_high = low_u64(raw >> field::PDA_HIGH_SHIFT) << 32;
        PostedIrte {
            present: raw & field::PRESENT != 0,
            fpd: raw & field::FPD != 0,
            urgent: raw & field::URGENT != 0,
            avail: low_u8(raw >> field::AVAIL_SHIFT) & 0xF,
            vector: low_u8(raw >> field::VECTOR_SHIFT),
            pda: pda_high | pda_low,
            source: SourceValidation::decode(raw),
            reserved: raw & field::POSTED_RESERVED,
        }
    }

    /// Encode to the 128-bit entry (IM = 1). The low 6 bits of `pda` are
    /// dropped.
    pub fn encode(&self) -> u128 {
        let mut raw = u128::from(self.present) | (u128::from(self.fpd) << 1) | field::IM_POSTED;
        raw |= u128::from(self.urgent) << 14;
        raw |= u128::from(self.avail & 0xF) << field::AVAIL_SHIFT;
        raw |= u128::from(self.vector) << field::VECTOR_SHIFT;
        raw |= u128::from((self.pda >> 6) & 0x3FF_FFFF) << field::PDA_LOW_SHIFT;
        raw |= u128::from(self.pda >> 32) << field::PDA_HIGH_SHIFT;
        raw | self.source.encode() | (self.reserved & field::POSTED_RESERVED)
    }

    /// Misread or unusual settings, in words.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = common_notes(self.present, self.fpd, self.reserved);
        if self.urgent {
            notes.push("URG: the notification is sent even when the descriptor's SN is set".to_owned());
        }
        notes
    }

    /// `(name, value)` pairs, one per field; each note is its own `note` line.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![
            ("format", "posted".to_owned()),
            ("raw", hex128(self.encode())),
            ("present", self.present.to_string()),
            ("fpd", self.fpd.to_string()),
            ("urgent", self.urgent.to_string()),
            ("avail", format!("{:#03x}", self.avail)),
            ("vector", format!("{:#04x} ({})", self.vector, self.vector)),
            ("pda", format!("{:#018x}", self.pda)),
        ];
        out.extend(source_fields(&self.source));
        out.push(("reserved", hex128(self.reserved)));
        out.push(("check", check_text(Irte::Posted(*self).check())));
        out.extend(self.notes().into_iter().map(|n| ("note", n)));
        out
    }
}

impl Serialize for PostedIrte {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut st = serializer.serialize_struct("PostedIrte", 14)?;
        st.serialize_field("format", "posted")?;
        st.serialize_field("raw", &hex128(self.encode()))?;
        st.serialize_field("present", &self.present)?;
        st.serialize_field("fpd", &self.fpd)?;
        st.serialize_field("urgent", &self.urgent)?;
        st.serialize_field("avail", &self.avail)?;
        st.serialize_field("vector", &self.vector)?;
        st.serialize_field("pda", &self.pda)?;
        st.serialize_field("sid", &self.source.sid)?;
        st.serialize_field("sq", &self.source.sq)?;
        st.serialize_field("svt", &self.source.svt)?;
        st.serialize_field("reserved", &hex128(self.reserved))?;
        st.serialize_field("check", &check_name(Irte::Posted(*self).check()))?;
        st.serialize_field("notes", &self.notes())?;
        st.end()
    }
}

fn common_notes(present: bool, fpd: bool, reserved: u128) -> Vec<String> {
    let mut notes = Vec::new();
    if !present {
        notes.push("not present: requests using this entry fault with 0x22 (unless FPD)".to_owned());
    }
    if fpd {
        notes.push("FPD: faults for this entry are not recorded".to_owned());
    }
    if reserved != 0 {
        notes.push(format!("reserved bits set: {}", hex128(reserved)));
    }
    notes
}

fn source_fields(source: &SourceValidation) -> [(&'static str, String); 3] {
    [("sid", source.describe_sid()), ("sq", source.describe_sq()), ("svt", source.describe_svt())]
}

/// An IRTE in either format, chosen by IM (bit 15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Irte {
    /// IM = 0.
    Remapped(RemappedIrte),
    /// IM = 1.
    Posted(PostedIrte),
}

impl Irte {
    /// Decode a 128-bit entry (high qword ‖ low qword). Every value decodes.
    pub fn decode(raw: u128) -> Irte {
        if raw & field::IM_POSTED != 0 {
            Irte::Posted(PostedIrte::decode(raw))
        } else {
            Irte::Remapped(RemappedIrte::decode(raw))
        }
    }

    /// Encode to the 128-bit entry.
    pub fn encode(&self) -> u128 {
        match self {
            Irte::Remapped(r) => r.encode(),
            Irte::Posted(p) => p.encode(),
        }
    }

    /// Bit 0.
    pub fn present(&self) -> bool {
        match self {
            Irte::Remapped(r) => r.present,
            Irte::Posted(p) => p.present,
        }
    }

    /// Bit 1.
    pub fn fpd(&self) -> bool {
        match self {
            Irte::Remapped(r) => r.fpd,
            Irte::Posted(p) => p.fpd,
        }
    }

    /// Bits 83:64.
    pub fn source(&self) -> SourceValidation {
        match self {
            Irte::Remapped(r) => r.source,
            Irte::Posted(p) => p.source,
        }
    }

    /// Whether hardware would use the entry: not present →
    /// [`FaultReason::IrteNotPresent`]; reserved bits of its format set →
    /// [`FaultReason::IrteReserved`] (QEMU `vtd_irte_get`). Source
    /// validation is [`SourceValidation::check`].
    pub fn check(&self) -> Result<(), FaultReason> {
        let reserved = match self {
            Irte::Remapped(r) => r.reserved,
            Irte::Posted(p) => p.reserved,
        };
        if !self.present() {
            Err(FaultReason::IrteNotPresent)
        } else if reserved != 0 {
            Err(FaultReason::IrteReserved)
        } else {
            Ok(())
        }
    }

    /// Misread or unusual settings, in words.
    pub fn notes(&self) -> Vec<String> {
        match self {
            Irte::Remapped(r) => r.notes(),
            Irte::Posted(p) => p.notes(),
        }
    }

    /// `(name, value)` pairs of the entry's format, starting with `format`.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        match self {
            Irte::Remapped(r) => r.fields(),
            Irte::Posted(p) => p.fields(),
        }
    }
}

impl Serialize for Irte {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Irte::Remapped(r) => r.serialize(serializer),
            Irte::Posted(p) => p.serialize(serializer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A remapped entry assembled bit by bit from Linux `struct irte`
    /// (remapped view): present (0) = 1, dst_mode (2) = 1, redir_hint (3)
    /// = 1, trigger_mode (4) = 1, dlvry_mode (7:5) = 0b001, r_avail (11:8)
    /// = 0xA, r_vector (23:16) = 0x5C, dest_id (63:32) = 0x0000_0300;
    /// sid (79:64) = 0x0318, sq (81:80) = 2, svt (83:82) = 1.
    fn linux_remapped() -> u128 {
        let lo: u64 = 1 | (1 << 2) | (1 << 3) | (1 << 4) | (0b001 << 5) | (0xA << 8) | (0x5C << 16) | (0x300 << 32);
        let hi: u64 = 0x0318 | (2 << 16) | (1 << 18);
        assert_eq!((lo, hi), (0x0000_0300_005C_0A3D, 0x0006_0318));
        (u128::from(hi) << 64) | u128::from(lo)
    }

    #[test]
    fn remapped_entry_matches_linux_struct_irte() {
        let Irte::Remapped(r) = Irte::decode(linux_remapped()) else { panic!("IM is 0") };
        assert!(r.present && !r.fpd && r.dest_mode_logical && r.redir_hint && r.trigger_level);
        assert_eq!(r.delivery_mode, 0b001);
        assert_eq!(r.avail, 0xA);
        assert_eq!(r.vector, 0x5C);
        assert_eq!(r.destination, 0x300);
        assert_eq!(r.apic_id(false), 3);
        assert_eq!(r.apic_id(true), 0x300);
        assert_eq!(r.source, SourceValidation { svt: 1, sq: 2, sid: 0x0318 });
        assert_eq!(r.reserved, 0);
        assert_eq!(Irte::Remapped(r).check(), Ok(()));
        assert_eq!(r.encode(), linux_remapped());
    }

    #[test]
    fn qemu_reserved_fields_fault_0x24() {
        // QEMU VTD_IR_TableEntry: __reserved_0 (14:12), __reserved_1 (31:24),
        // __reserved_2 (127:84); vtd_irte_get → VTD_FR_IR_IRTE_RSVD.
        for bit in [12, 14, 24, 31, 84, 100, 127] {
            let e = Irte::decode(linux_remapped() | (1u128 << bit));
            assert_eq!(e.check(), Err(FaultReason::IrteReserved), "bit {bit}");
            assert_eq!(e.encode(), linux_remapped() | (1u128 << bit));
        }
        // Not present wins (QEMU checks present first).
        assert_eq!(Irte::decode((linux_remapped() | (1 << 12)) & !1).check(), Err(FaultReason::IrteNotPresent));
    }

    #[test]
    fn linux_prepare_irte_builds_this_entry() {
        // prepare_irte(vector 0x41, dest 2): present, RH = 1, dst_mode 0,
        // trigger 0, fixed, dest_id = 2 << 8 (xAPIC); set_irte_sid(1, 0, 0x0100).
        let lo: u64 = 1 | (1 << 3) | (0x41 << 16) | ((2 << 8) << 32);
        let hi: u64 = 0x0100 | (1 << 18);
        let expect = (u128::from(hi) << 64) | u128::from(lo);
        assert_eq!(RemappedIrte::new(0x41, 2, false, false, 0x0100).encode(), expect);
        // x2APIC: IRTE_DEST(dest) = dest.
        let lo: u64 = 1 | (1 << 3) | (0x41 << 16) | (0x1234 << 32);
        let expect = (u128::from(hi) << 64) | u128::from(lo);
        assert_eq!(RemappedIrte::new(0x41, 0x1234, true, false, 0x0100).encode(), expect);
    }

    #[test]
    fn posted_entry_matches_linux_set_vcpu_affinity() {
        // From the 0x41 entry: p_pst (15) = 1, p_vector (23:16) = 0x55,
        // pda_l (63:38) = (0x1_2345_6740 >> 6) & 0x3ffffff = 0x8d159d,
        // pda_h (127:96) = 0x1; present, sid/sq/svt copied.
        let remapped = RemappedIrte::new(0x41, 2, false, false, 0x0100);
        let lo: u64 = 1 | (1 << 15) | (0x55 << 16) | (0x8D_159D << 38);
        let hi: u64 = 0x0100 | (1 << 18) | (1 << 32);
        let expect = (u128::from(hi) << 64) | u128::from(lo);
        let posted = PostedIrte::from_remapped(&remapped, 0x55, 0x1_2345_6740);
        assert_eq!(posted.encode(), expect);
        let Irte::Posted(p) = Irte::decode(expect) else { panic!("IM is 1") };
        assert_eq!(p, posted);
        assert_eq!(p.pda, 0x1_2345_6740);
        assert_eq!(Irte::Posted(p).check(), Ok(()));
        // Posted reserved bits (Linux p_res0..3): 2, 12, 24, 84.
        for bit in [2, 7, 12, 13, 24, 37, 84, 95] {
            assert_eq!(Irte::decode(expect | (1u128 << bit)).check(), Err(FaultReason::IrteReserved), "bit {bit}");
        }
        assert!(Irte::decode(expect | (1 << 14)).notes().iter().any(|n| n.contains("URG")));
    }

    #[test]
    fn source_validation_follows_qemu_masks() {
        // SVT 1, SQ 3 (mask 0xfff8): any function of 03:03.
        let sv = SourceValidation { svt: 1, sq: 3, sid: 0x0318 };
        assert!(sv.check(0x031F) && sv.check(0x0318));
        assert!(!sv.check(0x0320));
        // SQ 1 (mask 0xfffb) ignores bit 2 only.
        let sv = SourceValidation { svt: 1, sq: 1, sid: 0x0318 };
        assert!(sv.check(0x031C));
        assert!(!sv.check(0x0319));
        // SQ 0: exact.
        assert!(SourceValidation::exact(0x0318).check(0x0318));
        assert!(!SourceValidation::exact(0x0318).check(0x0319));
        // SVT 2: bus_max = sid >> 8, bus_min = sid & 0xff.
        let sv = SourceValidation { svt: 2, sq: 0, sid: 0x0803 };
        assert!(sv.check(0x0300) && sv.check(0x08FF) && sv.check(0x0510));
        assert!(!sv.check(0x0200) && !sv.check(0x0900));
        // SVT 0 passes, SVT 3 fails.
        assert!(SourceValidation { svt: 0, sq: 0, sid: 0 }.check(0xFFFF));
        assert!(!SourceValidation { svt: 3, sq: 0, sid: 0x0318 }.check(0x0318));
    }

    #[test]
    fn fields_match_json_keys() {
        for raw in
            [linux_remapped(), PostedIrte::from_remapped(&RemappedIrte::new(1, 2, false, false, 3), 4, 0x40).encode()]
        {
            let e = Irte::decode(raw);
            let v = serde_json::to_value(e).unwrap();
            for (name, _) in e.fields() {
                if name != "note" {
                    assert!(v.get(name).is_some(), "JSON lacks {name}");
                }
            }
        }
        let v = serde_json::to_value(Irte::decode(linux_remapped())).unwrap();
        assert_eq!(v["format"], "remapped");
        assert_eq!(v["check"], "ok");
    }

    proptest! {
        #[test]
        fn every_entry_round_trips(raw in any::<u128>()) {
            let e = Irte::decode(raw);
            prop_assert_eq!(e.encode(), raw);
            prop_assert_eq!(Irte::decode(e.encode()), e);
        }

        #[test]
        fn built_entries_decode_to_themselves(
            vector in any::<u8>(), apic in any::<u32>(), eim in any::<bool>(), level in any::<bool>(),
            sid in any::<u16>(), vv in any::<u8>(), pda in any::<u64>(),
        ) {
            let r = RemappedIrte::new(vector, apic, eim, level, sid);
            prop_assert_eq!(Irte::decode(r.encode()), Irte::Remapped(r));
            prop_assert_eq!(r.apic_id(eim), if eim { apic } else { apic & 0xff });
            let p = PostedIrte::from_remapped(&r, vv, pda);
            prop_assert_eq!(Irte::decode(p.encode()), Irte::Posted(p));
            prop_assert_eq!(Irte::Posted(p).check(), Ok(()));
        }
    }
}
