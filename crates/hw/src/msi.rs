//! x86 MSI message, compatibility format: the (address, data) pair a device
//! writes to the 0xFEE0_0000 window to raise an interrupt.
//!
//! Models docs/sources.md §3.1 (Intel SDM Vol. 3A §10.11 "Message Signalled
//! Interrupts"): [`MsiAddress`] (destination ID, redirection hint,
//! destination mode) and [`MsiData`] (vector, delivery mode, level, trigger),
//! the raw [`MsiMessage`] that MSI-X entries hold, and its decoded, printable
//! form [`DecodedMsi`].
//!
//! Decoding never drops bits: reserved and don't-care fields are kept raw so
//! `encode(decode(x)) == x`, and anything non-architectural is listed in
//! [`DecodedMsi::notes`].
//!
//! Left out: the remappable (VT-d) format of §3.2 — a message with address
//! bit 4 set is rejected with [`MsiError::RemappableFormat`] and belongs to
//! an IRTE decoder; Linux's hypervisor "extended destination ID" in bits 11:5
//! and KVM's destination bits in the upper address are reported, not
//! interpreted; delivery itself (which APIC accepts it) is the `model`'s job.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Bit positions of the compatibility-format address and data (§3.1).
pub mod field {
    /// Address bits 31:20, the fixed window head.
    pub const ADDR_HEAD_MASK: u32 = 0xFFF0_0000;
    /// Shift of the head field.
    pub const ADDR_HEAD_SHIFT: u32 = 20;
    /// Required head value (the 1 MiB window at 0xFEE0_0000).
    pub const ADDR_HEAD: u32 = 0xFEE;
    /// Address bits 19:12, Destination ID.
    pub const ADDR_DEST_ID_MASK: u32 = 0x000F_F000;
    /// Shift of the Destination ID.
    pub const ADDR_DEST_ID_SHIFT: u32 = 12;
    /// Address bits 11:5, reserved (Linux: extended destination ID).
    pub const ADDR_RESERVED_MASK: u32 = 0x0000_0FE0;
    /// Shift of the reserved field.
    pub const ADDR_RESERVED_SHIFT: u32 = 5;
    /// Address bit 4: interrupt format, 1 = remappable (VT-d, §3.2).
    pub const ADDR_INTERRUPT_FORMAT: u32 = 1 << 4;
    /// Address bit 3: RH, redirection hint.
    pub const ADDR_REDIRECTION_HINT: u32 = 1 << 3;
    /// Address bit 2: DM, destination mode (1 = logical).
    pub const ADDR_DEST_MODE_LOGICAL: u32 = 1 << 2;
    /// Address bits 1:0, don't care.
    pub const ADDR_DONT_CARE_MASK: u32 = 0b11;
    /// The upper address DWORD sits above this shift in the 64-bit address.
    pub const ADDR_HI_SHIFT: u32 = 32;

    /// Data bits 7:0, vector.
    pub const DATA_VECTOR_MASK: u32 = 0xFF;
    /// Data bits 10:8, delivery mode.
    pub const DATA_DELIVERY_MODE_MASK: u32 = 0x0700;
    /// Shift of the delivery mode.
    pub const DATA_DELIVERY_MODE_SHIFT: u32 = 8;
    /// Width mask of the delivery mode once shifted down.
    pub const DELIVERY_MODE_BITS: u8 = 0b111;
    /// Data bits 13:11, reserved.
    pub const DATA_RESERVED_13_11: u32 = 0x3800;
    /// Data bit 14: level (1 assert, 0 deassert; level trigger only).
    pub const DATA_LEVEL_ASSERT: u32 = 1 << 14;
    /// Data bit 15: trigger mode (1 level, 0 edge).
    pub const DATA_TRIGGER_LEVEL: u32 = 1 << 15;
    /// Data bits 31:16, reserved.
    pub const DATA_RESERVED_31_16: u32 = 0xFFFF_0000;
    /// All reserved data bits.
    pub const DATA_RESERVED_MASK: u32 = DATA_RESERVED_13_11 | DATA_RESERVED_31_16;

    /// Vectors below this are illegal for the local APIC (§4.2).
    pub const FIRST_LEGAL_VECTOR: u8 = 16;
}

/// Why an address is not a compatibility-format MSI address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum MsiError {
    /// Address bits 31:20 are not 0xFEE: not an interrupt message at all.
    #[error("address {address:#018x} is outside the MSI window: bits 31:20 are {head:#05x}, expected 0xfee")]
    BadHead {
        /// The full address.
        address: u64,
        /// Its bits 31:20.
        head: u32,
    },
    /// Address bit 4 is set: remappable (VT-d) format, not compatibility.
    #[error(
        "address {address:#018x} has bit 4 set: remappable (VT-d) format, not compatibility format; decode it as an interrupt-remapping handle"
    )]
    RemappableFormat {
        /// The full address.
        address: u64,
    },
}

/// Trigger mode (data bit 15; also the TMR meaning in the local APIC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    /// Edge-triggered (bit = 0).
    #[default]
    Edge,
    /// Level-triggered (bit = 1).
    Level,
}

impl std::fmt::Display for Trigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Edge => "edge",
            Self::Level => "level",
        })
    }
}

/// Destination mode (address bit 2). Ignored by hardware when RH = 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DestinationMode {
    /// Destination ID is an APIC ID (bit = 0).
    #[default]
    Physical,
    /// Destination ID is a logical destination (bit = 1).
    Logical,
}

impl std::fmt::Display for DestinationMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Physical => "physical",
            Self::Logical => "logical",
        })
    }
}

/// Delivery mode (data bits 10:8). Serializes as its display name
/// (`fixed`, `lowest-priority`, …, `reserved(0b011)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DeliveryMode {
    /// 000: queued in IRR/ISR of the destination.
    #[default]
    Fixed,
    /// 001: lowest priority among the destination set.
    LowestPriority,
    /// 010: system management interrupt.
    Smi,
    /// 100: non-maskable interrupt.
    Nmi,
    /// 101: INIT.
    Init,
    /// 111: external (8259A-style) interrupt.
    ExtInt,
    /// 011 or 110: reserved encodings, carried as their 3-bit value.
    Reserved(u8),
}

impl DeliveryMode {
    /// Decode the 3-bit field (only the low 3 bits of `bits` are used).
    pub const fn from_bits(bits: u8) -> Self {
        match bits & field::DELIVERY_MODE_BITS {
            0b000 => Self::Fixed,
            0b001 => Self::LowestPriority,
            0b010 => Self::Smi,
            0b100 => Self::Nmi,
            0b101 => Self::Init,
            0b111 => Self::ExtInt,
            other => Self::Reserved(other),
        }
    }

    /// The 3-bit encoding. `Reserved(n)` encodes as `n & 0b111`; build it
    /// only through [`DeliveryMode::from_bits`] to keep it a reserved value.
    pub const fn bits(self) -> u8 {
        match self {
            Self::Fixed => 0b000,
            Self::LowestPriority => 0b001,
            Self::Smi => 0b010,
            Self::Nmi => 0b100,
            Self::Init => 0b101,
            Self::ExtInt => 0b111,
            Self::Reserved(n) => n & field::DELIVERY_MODE_BITS,
        }
    }

    /// Fixed and lowest-priority go through IRR/ISR; the others bypass them
    /// and must not be EOI'd (§4.2).
    pub const fn uses_irr(self) -> bool {
        matches!(self, Self::Fixed | Self::LowestPriority)
    }
}

impl Serialize for DeliveryMode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl std::fmt::Display for DeliveryMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Fixed => f.write_str("fixed"),
            Self::LowestPriority => f.write_str("lowest-priority"),
            Self::Smi => f.write_str("smi"),
            Self::Nmi => f.write_str("nmi"),
            Self::Init => f.write_str("init"),
            Self::ExtInt => f.write_str("extint"),
            Self::Reserved(n) => write!(f, "reserved({:#05b})", n & field::DELIVERY_MODE_BITS),
        }
    }
}

/// A decoded compatibility-format MSI address (64-bit: upper ‖ lower DWORD).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
pub struct MsiAddress {
    /// Bits 19:12: target APIC ID (physical) or logical destination.
    pub destination_id: u8,
    /// Bit 3, RH: 1 = lowest-priority redirection among the destination set.
    pub redirection_hint: bool,
    /// Bit 2, DM.
    pub destination_mode: DestinationMode,
    /// Bits 11:5, raw (reserved; Linux's extended destination ID).
    #[serde(rename = "address_reserved_11_5")]
    pub reserved_11_5: u8,
    /// Bits 1:0, raw (don't care).
    #[serde(rename = "address_dont_care_1_0")]
    pub dont_care_1_0: u8,
    /// The upper 32 address bits, raw (0 architecturally).
    #[serde(rename = "address_upper")]
    pub upper: u32,
}

impl MsiAddress {
    /// A plain physical-mode address for `destination_id` (RH = 0, all other
    /// bits zero) — what Linux programs without remapping.
    pub const fn physical(destination_id: u8) -> Self {
        Self {
            destination_id,
            redirection_hint: false,
            destination_mode: DestinationMode::Physical,
            reserved_11_5: 0,
            dont_care_1_0: 0,
            upper: 0,
        }
    }

    /// Decode a 64-bit message address. Errors if bits 31:20 are not 0xFEE
    /// or if bit 4 (remappable format) is set.
    pub fn decode(address: u64) -> Result<Self, MsiError> {
        let (lo, upper) = split_address(address);
        let head = (lo & field::ADDR_HEAD_MASK) >> field::ADDR_HEAD_SHIFT;
        if head != field::ADDR_HEAD {
            return Err(MsiError::BadHead { address, head });
        }
        if lo & field::ADDR_INTERRUPT_FORMAT != 0 {
            return Err(MsiError::RemappableFormat { address });
        }
        Ok(Self {
            destination_id: low_byte((lo & field::ADDR_DEST_ID_MASK) >> field::ADDR_DEST_ID_SHIFT),
            redirection_hint: lo & field::ADDR_REDIRECTION_HINT != 0,
            destination_mode: if lo & field::ADDR_DEST_MODE_LOGICAL != 0 {
                DestinationMode::Logical
            } else {
                DestinationMode::Physical
            },
            reserved_11_5: low_byte((lo & field::ADDR_RESERVED_MASK) >> field::ADDR_RESERVED_SHIFT),
            dont_care_1_0: low_byte(lo & field::ADDR_DONT_CARE_MASK),
            upper,
        })
    }

    /// Encode to the 64-bit address. Raw fields wider than their bit range
    /// are truncated to it.
    pub fn encode(&self) -> u64 {
        let mut lo = field::ADDR_HEAD << field::ADDR_HEAD_SHIFT;
        lo |= (u32::from(self.destination_id) << field::ADDR_DEST_ID_SHIFT) & field::ADDR_DEST_ID_MASK;
        lo |= (u32::from(self.reserved_11_5) << field::ADDR_RESERVED_SHIFT) & field::ADDR_RESERVED_MASK;
        if self.redirection_hint {
            lo |= field::ADDR_REDIRECTION_HINT;
        }
        if self.destination_mode == DestinationMode::Logical {
            lo |= field::ADDR_DEST_MODE_LOGICAL;
        }
        lo |= u32::from(self.dont_care_1_0) & field::ADDR_DONT_CARE_MASK;
        join_address(lo, self.upper)
    }

    /// Non-architectural or easily misread settings, in words.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if !self.redirection_hint && self.destination_mode == DestinationMode::Logical {
            notes.push(
                "RH = 0 with DM = logical: the SDM says DM is ignored when RH = 0; emulators may still honour DM"
                    .to_owned(),
            );
        }
        if self.reserved_11_5 != 0 {
            notes.push(format!(
                "address bits 11:5 = {:#04x} are reserved (Linux uses them as a hypervisor extended destination ID)",
                self.reserved_11_5
            ));
        }
        if self.upper != 0 {
            notes.push(format!(
                "upper address {:#010x} is non-zero (architecturally 0; KVM's x2APIC API carries destination bits 31:8 there)",
                self.upper
            ));
        }
        notes
    }
}

/// A decoded MSI data word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
pub struct MsiData {
    /// Bits 7:0.
    pub vector: u8,
    /// Bits 10:8.
    pub delivery_mode: DeliveryMode,
    /// Bit 14: 1 = assert (meaningful for level trigger only).
    pub level_assert: bool,
    /// Bit 15.
    pub trigger: Trigger,
    /// Reserved bits 13:11 and 31:16, raw and in place (0 when clean).
    #[serde(rename = "data_reserved")]
    pub reserved: u32,
}

impl MsiData {
    /// Data for `vector` with the given mode and trigger; level messages are
    /// built as *assert*, edge messages with the level bit clear (as Linux
    /// composes them).
    pub const fn new(vector: u8, delivery_mode: DeliveryMode, trigger: Trigger) -> Self {
        Self { vector, delivery_mode, level_assert: matches!(trigger, Trigger::Level), trigger, reserved: 0 }
    }

    /// Decode a data word. Every 32-bit value decodes; reserved delivery
    /// modes and reserved bits are carried, not dropped.
    pub fn decode(data: u32) -> Self {
        Self {
            vector: low_byte(data & field::DATA_VECTOR_MASK),
            delivery_mode: DeliveryMode::from_bits(low_byte(
                (data & field::DATA_DELIVERY_MODE_MASK) >> field::DATA_DELIVERY_MODE_SHIFT,
            )),
            level_assert: data & field::DATA_LEVEL_ASSERT != 0,
            trigger: if data & field::DATA_TRIGGER_LEVEL != 0 { Trigger::Level } else { Trigger::Edge },
            reserved: data & field::DATA_RESERVED_MASK,
        }
    }

    /// Encode to the data word (reserved bits outside their positions are
    /// dropped).
    pub fn encode(&self) -> u32 {
        let mut data = u32::from(self.vector);
        data |= u32::from(self.delivery_mode.bits()) << field::DATA_DELIVERY_MODE_SHIFT;
        if self.level_assert {
            data |= field::DATA_LEVEL_ASSERT;
        }
        if self.trigger == Trigger::Level {
            data |= field::DATA_TRIGGER_LEVEL;
        }
        data | (self.reserved & field::DATA_RESERVED_MASK)
    }

    /// Non-architectural or easily misread settings, in words.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if let DeliveryMode::Reserved(n) = self.delivery_mode {
            notes.push(format!("delivery mode {n:#05b} is reserved"));
        }
        if self.reserved != 0 {
            notes.push(format!("reserved data bits set: {:#010x} (bits 13:11 and 31:16 must be 0)", self.reserved));
        }
        if self.delivery_mode.uses_irr() && self.vector < field::FIRST_LEGAL_VECTOR {
            notes.push(format!(
                "vector {:#04x} is illegal for the local APIC (0-15): receiver sets ESR bit 6 and drops it",
                self.vector
            ));
        }
        if !self.delivery_mode.uses_irr() && !matches!(self.delivery_mode, DeliveryMode::Reserved(_)) {
            notes.push(format!("{} bypasses IRR/ISR: the handler must not EOI it", self.delivery_mode));
        }
        if self.trigger == Trigger::Level && !self.level_assert {
            notes.push("level-triggered deassert message".to_owned());
        }
        notes
    }
}

/// A raw MSI message: 64-bit address (upper ‖ lower DWORD) and 32-bit data,
/// exactly what an MSI-X table entry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct MsiMessage {
    /// `(address_hi << 32) | address_lo`.
    pub address: u64,
    /// The data DWORD.
    pub data: u32,
}

impl MsiMessage {
    /// From a 64-bit address and data word.
    pub const fn new(address: u64, data: u32) -> Self {
        Self { address, data }
    }

    /// Compose a compatibility-format message: physical destination mode,
    /// RH = 0, nothing reserved set.
    pub fn compose(dest_apic_id: u8, vector: u8, delivery_mode: DeliveryMode, trigger: Trigger) -> Self {
        Self::encode(&MsiAddress::physical(dest_apic_id), &MsiData::new(vector, delivery_mode, trigger))
    }

    /// Compose from fully specified parts.
    pub fn encode(address: &MsiAddress, data: &MsiData) -> Self {
        Self { address: address.encode(), data: data.encode() }
    }

    /// Lower address DWORD.
    pub fn address_lo(&self) -> u32 {
        split_address(self.address).0
    }

    /// Upper address DWORD.
    pub fn address_hi(&self) -> u32 {
        split_address(self.address).1
    }

    /// Decode as a compatibility-format message.
    pub fn decode(&self) -> Result<DecodedMsi, MsiError> {
        let address = MsiAddress::decode(self.address)?;
        let data = MsiData::decode(self.data);
        let mut notes = address.notes();
        notes.extend(data.notes());
        Ok(DecodedMsi { message: *self, address, data, notes })
    }
}

/// A decoded message, ready to print. JSON keys equal the [`fields`] names
/// (`notes` is a list; in [`fields`] each note is its own `note` line).
///
/// [`fields`]: DecodedMsi::fields
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DecodedMsi {
    /// The raw message (`address`, `data`).
    #[serde(flatten)]
    pub message: MsiMessage,
    /// Address fields.
    #[serde(flatten)]
    pub address: MsiAddress,
    /// Data fields.
    #[serde(flatten)]
    pub data: MsiData,
    /// Anything reserved, ignored or illegal, in words.
    pub notes: Vec<String>,
}

impl DecodedMsi {
    /// `(name, value)` pairs, one per field, for human-readable output.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let a = &self.address;
        let d = &self.data;
        let mut out = vec![
            ("address", format!("{:#018x}", self.message.address)),
            ("data", format!("{:#010x}", self.message.data)),
            ("destination_id", format!("{:#04x} ({})", a.destination_id, a.destination_id)),
            ("redirection_hint", a.redirection_hint.to_string()),
            ("destination_mode", a.destination_mode.to_string()),
            ("address_reserved_11_5", format!("{:#04x}", a.reserved_11_5)),
            ("address_dont_care_1_0", format!("{:#04b}", a.dont_care_1_0)),
            ("address_upper", format!("{:#010x}", a.upper)),
            ("vector", format!("{:#04x} ({})", d.vector, d.vector)),
            ("delivery_mode", d.delivery_mode.to_string()),
            ("level_assert", d.level_assert.to_string()),
            ("trigger", d.trigger.to_string()),
            ("data_reserved", format!("{:#010x}", d.reserved)),
        ];
        out.extend(self.notes.iter().map(|n| ("note", n.clone())));
        out
    }
}

/// Split a 64-bit address into (lower, upper) DWORDs.
fn split_address(address: u64) -> (u32, u32) {
    let bytes = address.to_le_bytes();
    let lo = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    let hi = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    (lo, hi)
}

/// Join (lower, upper) DWORDs into a 64-bit address.
fn join_address(lo: u32, hi: u32) -> u64 {
    (u64::from(hi) << field::ADDR_HI_SHIFT) | u64::from(lo)
}

/// The low byte of a value already masked and shifted to 8 bits or fewer.
fn low_byte(value: u32) -> u8 {
    value.to_le_bytes()[0]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decodes_fixed_level_message_to_apic_1() {
        // Hand-decoded from the §3.1 bit tables:
        // address 0xFEE0_1000: 31:20 = 0xFEE, 19:12 = 0x01, bits 11:0 = 0
        //   → dest 1, RH 0, DM physical, nothing reserved.
        // data 0x0000_4031: 7:0 = 0x31, 10:8 = 000 (fixed), 14 = 1 (assert),
        //   15 = 0 (edge).
        let d = MsiMessage::new(0xFEE0_1000, 0x0000_4031).decode().unwrap();
        assert_eq!(d.address.destination_id, 1);
        assert!(!d.address.redirection_hint);
        assert_eq!(d.address.destination_mode, DestinationMode::Physical);
        assert_eq!(d.data.vector, 0x31);
        assert_eq!(d.data.delivery_mode, DeliveryMode::Fixed);
        assert!(d.data.level_assert);
        assert_eq!(d.data.trigger, Trigger::Edge);
        assert_eq!(d.data.reserved, 0);
        assert!(d.notes.is_empty(), "{:?}", d.notes);
    }

    #[test]
    fn decodes_logical_lowest_priority_level_message() {
        // address 0xFEEF_F00C: dest 19:12 = 0xFF, bit 3 RH = 1, bit 2 DM = 1.
        // data 0x0000_C1EC: vector 0xEC, 10:8 = 001 (lowest priority),
        //   bit 14 = 1 (assert), bit 15 = 1 (level).
        let d = MsiMessage::new(0xFEEF_F00C, 0x0000_C1EC).decode().unwrap();
        assert_eq!(d.address.destination_id, 0xFF);
        assert!(d.address.redirection_hint);
        assert_eq!(d.address.destination_mode, DestinationMode::Logical);
        assert_eq!(d.data.vector, 0xEC);
        assert_eq!(d.data.delivery_mode, DeliveryMode::LowestPriority);
        assert_eq!(d.data.trigger, Trigger::Level);
        assert!(d.data.level_assert);
    }

    #[test]
    fn every_delivery_mode_encoding_decodes_including_reserved() {
        // data bits 10:8 per the §3.1 table; 011 and 110 are reserved.
        let expected = [
            DeliveryMode::Fixed,
            DeliveryMode::LowestPriority,
            DeliveryMode::Smi,
            DeliveryMode::Reserved(0b011),
            DeliveryMode::Nmi,
            DeliveryMode::Init,
            DeliveryMode::Reserved(0b110),
            DeliveryMode::ExtInt,
        ];
        for (bits, mode) in (0u32..8).zip(expected) {
            let data = MsiData::decode(0x30 | (bits << 8));
            assert_eq!(data.delivery_mode, mode);
            assert_eq!(u32::from(data.delivery_mode.bits()), bits);
        }
        let reserved = MsiMessage::new(0xFEE0_0000, 0x0000_0330).decode().unwrap();
        assert_eq!(reserved.notes, ["delivery mode 0b011 is reserved"]);
    }

    #[test]
    fn reserved_bits_are_reported_not_dropped() {
        // data 0x8001_0831: bit 31 and bit 16 (31:16) plus bit 11 (13:11) set.
        let data = MsiData::decode(0x8001_0831);
        assert_eq!(data.reserved, 0x8001_0800);
        assert_eq!(data.vector, 0x31);
        assert_eq!(data.encode(), 0x8001_0831);
        // address 0xFEE0_10E3: bits 11:5 = 0b0000111 = 0x07, bits 1:0 = 0b11;
        // upper DWORD 0x0000_0001.
        let m = MsiMessage::new(0x0000_0001_FEE0_10E3, 0x0000_0831);
        let d = m.decode().unwrap();
        assert_eq!(d.address.reserved_11_5, 0x07);
        assert_eq!(d.address.dont_care_1_0, 0b11);
        assert_eq!(d.address.upper, 1);
        assert!(d.notes.iter().any(|n| n.contains("11:5")));
        assert!(d.notes.iter().any(|n| n.contains("upper")));
        assert!(d.notes.iter().any(|n| n.contains("reserved data bits")));
        assert_eq!(MsiMessage::encode(&d.address, &d.data), m);
    }

    #[test]
    fn address_outside_window_or_remappable_is_an_error() {
        assert_eq!(MsiAddress::decode(0xFED0_1000), Err(MsiError::BadHead { address: 0xFED0_1000, head: 0xFED }));
        // Bit 4 set: VT-d remappable format (§3.2), e.g. handle 0 with SHV.
        assert_eq!(MsiAddress::decode(0xFEE0_0018), Err(MsiError::RemappableFormat { address: 0xFEE0_0018 }));
    }

    #[test]
    fn illegal_vector_and_non_irr_modes_are_noted() {
        let low = MsiMessage::compose(0, 0x0F, DeliveryMode::Fixed, Trigger::Edge);
        assert!(low.decode().unwrap().notes.iter().any(|n| n.contains("illegal")));
        let nmi = MsiMessage::compose(0, 0, DeliveryMode::Nmi, Trigger::Edge);
        let notes = nmi.decode().unwrap().notes;
        assert!(notes.iter().any(|n| n.contains("must not EOI")));
        assert!(!notes.iter().any(|n| n.contains("illegal")));
    }

    #[test]
    fn compose_produces_linux_style_words() {
        // Physical dest 3, vector 0x41, fixed, edge → address 0xFEE0_3000,
        // data 0x0000_0041 (level bit clear for edge).
        let m = MsiMessage::compose(3, 0x41, DeliveryMode::Fixed, Trigger::Edge);
        assert_eq!(m, MsiMessage::new(0xFEE0_3000, 0x0000_0041));
        assert_eq!((m.address_lo(), m.address_hi()), (0xFEE0_3000, 0));
        // Level: bits 15 and 14 set → data 0x0000_C041.
        let l = MsiMessage::compose(3, 0x41, DeliveryMode::Fixed, Trigger::Level);
        assert_eq!(l.data, 0x0000_C041);
    }

    #[test]
    fn fields_name_every_decoded_field() {
        let d = MsiMessage::new(0xFEE0_1000, 0x0000_4031).decode().unwrap();
        let fields = d.fields();
        let get = |k: &str| fields.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
        assert_eq!(get("address").as_deref(), Some("0x00000000fee01000"));
        assert_eq!(get("vector").as_deref(), Some("0x31 (49)"));
        assert_eq!(get("delivery_mode").as_deref(), Some("fixed"));
        assert_eq!(get("trigger").as_deref(), Some("edge"));
        assert_eq!(get("destination_mode").as_deref(), Some("physical"));
        assert_eq!(fields.len(), 13);
    }

    proptest! {
        #[test]
        fn data_round_trips_for_every_word(data in any::<u32>()) {
            prop_assert_eq!(MsiData::decode(data).encode(), data);
        }

        #[test]
        fn compatibility_addresses_round_trip(
            upper in any::<u32>(),
            low20 in 0u32..(1 << 20),
        ) {
            let lo = (field::ADDR_HEAD << field::ADDR_HEAD_SHIFT) | (low20 & !field::ADDR_INTERRUPT_FORMAT);
            let address = (u64::from(upper) << 32) | u64::from(lo);
            prop_assert_eq!(MsiAddress::decode(address).map(|a| a.encode()), Ok(address));
        }

        #[test]
        fn decode_never_panics_and_only_accepts_the_window(address in any::<u64>(), data in any::<u32>()) {
            let lo = address & 0xFFFF_FFFF;
            match MsiMessage::new(address, data).decode() {
                Ok(d) => {
                    prop_assert_eq!(lo >> 20, 0xFEE);
                    prop_assert_eq!(lo & 0x10, 0);
                    prop_assert_eq!(MsiMessage::encode(&d.address, &d.data), MsiMessage::new(address, data));
                }
                Err(MsiError::BadHead { .. }) => prop_assert_ne!(lo >> 20, 0xFEE),
                Err(MsiError::RemappableFormat { .. }) => prop_assert_ne!(lo & 0x10, 0),
            }
        }

        #[test]
        fn compose_then_decode_returns_the_inputs(
            dest in any::<u8>(), vector in any::<u8>(), mode in 0u8..8, level in any::<bool>()
        ) {
            let mode = DeliveryMode::from_bits(mode);
            let trigger = if level { Trigger::Level } else { Trigger::Edge };
            let d = MsiMessage::compose(dest, vector, mode, trigger).decode().unwrap();
            prop_assert_eq!(d.address, MsiAddress::physical(dest));
            prop_assert_eq!(d.data, MsiData::new(vector, mode, trigger));
        }
    }
}
