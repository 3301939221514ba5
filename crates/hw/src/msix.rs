//! PCIe MSI-X: the capability registers, the 16-byte table entry, and the
//! per-function table + Pending Bit Array state machine.
//!
//! Models docs/sources.md §2 (PCI Express Base Spec §6.1.4.5, Linux
//! `include/uapi/linux/pci_regs.h`, QEMU `hw/pci/msix.c`):
//! * [`MessageControl`] and [`OffsetBir`] — capability words (§2.1);
//! * [`MsixEntry`] — one table entry in memory order (§2.2);
//! * [`MsixFunction`] — a function's table, PBA, Function Mask and Enable,
//!   with the masking/pending rules of §2.3, driven by explicit calls and
//!   returning the messages the function would write. No time: "sent" means
//!   "handed to the caller now".
//!
//! Left out: the config-space and BAR plumbing (offsets of the capability in
//! config space, MMIO access widths, PBA read-only enforcement), INTx/MSI
//! mutual exclusion, the TPH steering-tag meaning (kept raw), and Address/Data
//! caching for unmasked entries (the model always sends the entry's current
//! contents — allowed, since changing an unmasked entry is undefined).

use serde::Serialize;
use serde::ser::SerializeStruct;
use thiserror::Error;

use crate::hex::{self, HexError};
use crate::msi::MsiMessage;

/// Encodings of the capability words and the table entry (§2.1, §2.2).
pub mod field {
    use std::ops::Range;

    /// PCI capability ID of MSI-X.
    pub const CAP_ID: u8 = 0x11;
    /// Capability length in bytes.
    pub const CAP_LEN: usize = 12;
    /// Byte offset of Message Control in the capability.
    pub const CAP_MESSAGE_CONTROL: usize = 2;
    /// Byte offset of Table Offset/BIR.
    pub const CAP_TABLE: usize = 4;
    /// Byte offset of PBA Offset/BIR.
    pub const CAP_PBA: usize = 8;

    /// Message Control bits 10:0: Table Size, encoded N − 1
    /// (`PCI_MSIX_FLAGS_QSIZE`).
    pub const CTRL_TABLE_SIZE_MASK: u16 = 0x07FF;
    /// Message Control bits 13:11: reserved.
    pub const CTRL_RESERVED_MASK: u16 = 0x3800;
    /// Message Control bit 14: Function Mask (`PCI_MSIX_FLAGS_MASKALL`).
    pub const CTRL_FUNCTION_MASK: u16 = 0x4000;
    /// Message Control bit 15: MSI-X Enable (`PCI_MSIX_FLAGS_ENABLE`).
    pub const CTRL_ENABLE: u16 = 0x8000;

    /// Offset/BIR bits 2:0: BAR indicator (`PCI_MSIX_TABLE_BIR`).
    pub const BIR_MASK: u32 = 0x7;
    /// Offset/BIR bits 31:3: QWORD-aligned offset (`PCI_MSIX_TABLE_OFFSET`).
    pub const OFFSET_MASK: u32 = 0xFFFF_FFF8;
    /// Highest BIR naming a BAR (BARs 0–5; 6 and 7 are reserved).
    pub const MAX_BIR: u8 = 5;

    /// Table entry size in bytes.
    pub const ENTRY_LEN: usize = 16;
    /// Entry bytes of Message Address (low DWORD).
    pub const ENTRY_ADDR_LO: Range<usize> = 0x0..0x4;
    /// Entry bytes of Message Upper Address.
    pub const ENTRY_ADDR_HI: Range<usize> = 0x4..0x8;
    /// Entry bytes of Message Data.
    pub const ENTRY_DATA: Range<usize> = 0x8..0xC;
    /// Entry bytes of Vector Control.
    pub const ENTRY_VECTOR_CTRL: Range<usize> = 0xC..0x10;
    /// Vector Control bit 0: Mask (`PCI_MSIX_ENTRY_CTRL_MASKBIT`).
    pub const VECTOR_CTRL_MASK: u32 = 1;
    /// Vector Control bits 15:1: reserved.
    pub const VECTOR_CTRL_RESERVED_MASK: u32 = 0x0000_FFFE;
    /// Vector Control bits 31:16: TPH Steering Tag (lower 23:16, upper 31:24).
    pub const VECTOR_CTRL_ST_SHIFT: u32 = 16;
    /// Shift of the upper 32 address bits in the 64-bit address.
    pub const ADDR_HI_SHIFT: u32 = 32;

    /// Most vectors a function can have (11-bit N − 1).
    pub const MAX_VECTORS: usize = 2048;
    /// PBA bits per QWORD.
    pub const PBA_BITS_PER_QWORD: usize = 64;
}

/// Errors of decoding and of the function state machine.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MsixError {
    /// Table size outside 1..=2048.
    #[error("MSI-X table size {0} is outside 1..=2048")]
    BadTableSize(usize),
    /// Vector index past the table.
    #[error("MSI-X vector {vector} out of range (table has {size} entries)")]
    VectorOutOfRange {
        /// The index used.
        vector: u16,
        /// Table size.
        size: usize,
    },
    /// Entry text is not 16 bytes.
    #[error("an MSI-X entry is 32 hex digits (16 bytes); got {} digits", 2 * bytes)]
    EntryLength {
        /// Bytes decoded.
        bytes: usize,
    },
    /// Entry text is not hex.
    #[error("invalid MSI-X entry hex: {0}")]
    Hex(#[from] HexError),
}

/// Message Control, the 16-bit word at capability offset +2. Serializes
/// with the same keys as [`MessageControl::fields`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageControl {
    /// N, the number of table entries (1..=2048; encoded N − 1).
    table_size: u16,
    /// Bit 14.
    pub function_mask: bool,
    /// Bit 15.
    pub enable: bool,
    /// Bits 13:11, raw (reserved).
    pub reserved: u16,
}

impl MessageControl {
    /// A word for `table_size` entries; errors outside 1..=2048.
    pub fn new(table_size: usize, function_mask: bool, enable: bool) -> Result<Self, MsixError> {
        let n = u16::try_from(table_size)
            .ok()
            .filter(|n| (1..=field::CTRL_TABLE_SIZE_MASK + 1).contains(n))
            .ok_or(MsixError::BadTableSize(table_size))?;
        Ok(Self { table_size: n, function_mask, enable, reserved: 0 })
    }

    /// Decode the raw word (every value decodes).
    pub fn decode(raw: u16) -> Self {
        Self {
            table_size: (raw & field::CTRL_TABLE_SIZE_MASK) + 1,
            function_mask: raw & field::CTRL_FUNCTION_MASK != 0,
            enable: raw & field::CTRL_ENABLE != 0,
            reserved: raw & field::CTRL_RESERVED_MASK,
        }
    }

    /// Encode to the raw word.
    pub fn encode(&self) -> u16 {
        let mut raw = (self.table_size - 1) & field::CTRL_TABLE_SIZE_MASK;
        raw |= self.reserved & field::CTRL_RESERVED_MASK;
        if self.function_mask {
            raw |= field::CTRL_FUNCTION_MASK;
        }
        if self.enable {
            raw |= field::CTRL_ENABLE;
        }
        raw
    }

    /// N, the number of table entries.
    pub fn table_size(&self) -> usize {
        usize::from(self.table_size)
    }

    /// `(name, value)` pairs for printing.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("message_control", format!("{:#06x}", self.encode())),
            ("table_size", self.table_size.to_string()),
            ("function_mask", self.function_mask.to_string()),
            ("enable", self.enable.to_string()),
            ("reserved", format!("{:#06x}", self.reserved)),
        ]
    }
}

impl Serialize for MessageControl {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut st = serializer.serialize_struct("MessageControl", 5)?;
        st.serialize_field("message_control", &self.encode())?;
        st.serialize_field("table_size", &self.table_size)?;
        st.serialize_field("function_mask", &self.function_mask)?;
        st.serialize_field("enable", &self.enable)?;
        st.serialize_field("reserved", &self.reserved)?;
        st.end()
    }
}

/// Table Offset/BIR or PBA Offset/BIR (capability +4 / +8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct OffsetBir {
    /// Bits 2:0: which BAR (0–5; 6–7 reserved).
    pub bir: u8,
    /// Bits 31:3 as a byte offset (low 3 bits always 0).
    pub offset: u32,
}

impl OffsetBir {
    /// Decode the raw DWORD (every value decodes).
    pub fn decode(raw: u32) -> Self {
        Self { bir: (raw & field::BIR_MASK).to_le_bytes()[0], offset: raw & field::OFFSET_MASK }
    }

    /// Encode to the raw DWORD.
    pub fn encode(&self) -> u32 {
        (self.offset & field::OFFSET_MASK) | (u32::from(self.bir) & field::BIR_MASK)
    }

    /// BIR 6 and 7 name no BAR.
    pub fn bir_is_reserved(&self) -> bool {
        self.bir > field::MAX_BIR
    }

    /// `(name, value)` pairs for printing.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let bar = if self.bir_is_reserved() {
            format!("{} (reserved)", self.bir)
        } else {
            format!("{} (BAR{})", self.bir, self.bir)
        };
        vec![("bir", bar), ("offset", format!("{:#x}", self.offset))]
    }
}

/// One 16-byte MSI-X table entry (§2.2), little-endian in memory.
/// Serializes with the same keys as [`MsixEntry::fields`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MsixEntry {
    /// Message Address, `(upper << 32) | lower`.
    pub address: u64,
    /// Message Data, sent unmodified.
    pub data: u32,
    /// Vector Control bit 0.
    pub masked: bool,
    /// Vector Control bits 31:16 (TPH Steering Tag), raw.
    pub steering_tag: u16,
    /// Vector Control bits 15:1, raw and in place (reserved).
    pub reserved: u32,
}

impl Default for MsixEntry {
    /// The reset value: zero message, masked (QEMU `msix_mask_all`).
    fn default() -> Self {
        Self { address: 0, data: 0, masked: true, steering_tag: 0, reserved: 0 }
    }
}

fn dword(bytes: &[u8; field::ENTRY_LEN], range: std::ops::Range<usize>) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[range]);
    u32::from_le_bytes(word)
}

impl MsixEntry {
    /// An entry holding `message`, masked or not.
    pub fn new(message: MsiMessage, masked: bool) -> Self {
        Self { address: message.address, data: message.data, masked, steering_tag: 0, reserved: 0 }
    }

    /// Decode 16 bytes in memory order (byte 0 = address bits 7:0).
    pub fn from_bytes(bytes: [u8; field::ENTRY_LEN]) -> Self {
        let lo = dword(&bytes, field::ENTRY_ADDR_LO);
        let hi = dword(&bytes, field::ENTRY_ADDR_HI);
        let ctrl = dword(&bytes, field::ENTRY_VECTOR_CTRL);
        Self {
            address: (u64::from(hi) << field::ADDR_HI_SHIFT) | u64::from(lo),
            data: dword(&bytes, field::ENTRY_DATA),
            masked: ctrl & field::VECTOR_CTRL_MASK != 0,
            // A u32 shifted right by 16 always fits in u16.
            steering_tag: u16::try_from(ctrl >> field::VECTOR_CTRL_ST_SHIFT).unwrap_or(0),
            reserved: ctrl & field::VECTOR_CTRL_RESERVED_MASK,
        }
    }

    /// Encode to 16 bytes in memory order.
    pub fn to_bytes(&self) -> [u8; field::ENTRY_LEN] {
        let mut out = [0u8; field::ENTRY_LEN];
        out[field::ENTRY_ADDR_LO].copy_from_slice(&self.address_lo().to_le_bytes());
        out[field::ENTRY_ADDR_HI].copy_from_slice(&self.address_hi().to_le_bytes());
        out[field::ENTRY_DATA].copy_from_slice(&self.data.to_le_bytes());
        out[field::ENTRY_VECTOR_CTRL].copy_from_slice(&self.vector_control().to_le_bytes());
        out
    }

    /// Lower address DWORD.
    pub fn address_lo(&self) -> u32 {
        let b = self.address.to_le_bytes();
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }

    /// Upper address DWORD.
    pub fn address_hi(&self) -> u32 {
        let b = self.address.to_le_bytes();
        u32::from_le_bytes([b[4], b[5], b[6], b[7]])
    }

    /// The Vector Control DWORD.
    pub fn vector_control(&self) -> u32 {
        let mut ctrl = u32::from(self.steering_tag) << field::VECTOR_CTRL_ST_SHIFT;
        ctrl |= self.reserved & field::VECTOR_CTRL_RESERVED_MASK;
        if self.masked {
            ctrl |= field::VECTOR_CTRL_MASK;
        }
        ctrl
    }

    /// The message this entry sends.
    pub fn message(&self) -> MsiMessage {
        MsiMessage::new(self.address, self.data)
    }

    /// `(name, value)` pairs for printing.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("address_lo", format!("{:#010x}", self.address_lo())),
            ("address_hi", format!("{:#010x}", self.address_hi())),
            ("address", format!("{:#018x}", self.address)),
            ("data", format!("{:#010x}", self.data)),
            ("vector_control", format!("{:#010x}", self.vector_control())),
            ("masked", self.masked.to_string()),
            ("steering_tag", format!("{:#06x}", self.steering_tag)),
            ("reserved", format!("{:#010x}", self.reserved)),
        ]
    }
}

impl Serialize for MsixEntry {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut st = serializer.serialize_struct("MsixEntry", 8)?;
        st.serialize_field("address_lo", &self.address_lo())?;
        st.serialize_field("address_hi", &self.address_hi())?;
        st.serialize_field("address", &self.address)?;
        st.serialize_field("data", &self.data)?;
        st.serialize_field("vector_control", &self.vector_control())?;
        st.serialize_field("masked", &self.masked)?;
        st.serialize_field("steering_tag", &self.steering_tag)?;
        st.serialize_field("reserved", &self.reserved)?;
        st.end()
    }
}

/// Parse an entry from 32 hex digits in memory order (byte 0 first), e.g.
/// `0010e0fe000000003140000000000000`. Colon-separated bytes and
/// whitespace between tokens are accepted (see [`crate::hex`]).
pub fn parse_hex_entry(text: &str) -> Result<MsixEntry, MsixError> {
    let bytes = hex::decode_bytes(text)?;
    let array: [u8; field::ENTRY_LEN] =
        bytes.as_slice().try_into().map_err(|_| MsixError::EntryLength { bytes: bytes.len() })?;
    Ok(MsixEntry::from_bytes(array))
}

/// What [`MsixFunction::notify`] did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyOutcome {
    /// Vector effectively unmasked: the message is written now.
    Sent(MsiMessage),
    /// Masked: the Pending bit was clear and is now set.
    PendingSet,
    /// Masked and already pending: the event coalesces into that bit.
    PendingAlreadySet,
}

/// How an entry write related to the "mask before changing Address/Data"
/// rule (§2.3). The write is applied in every case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RewriteStatus {
    /// Address and Data unchanged (only Vector Control, if anything).
    Unchanged,
    /// Address/Data changed while the vector was masked: the legal way.
    WhileMasked,
    /// Address/Data changed while the vector was effectively unmasked:
    /// undefined per spec; a driver bug to flag.
    UnmaskedRewrite,
}

/// Result of [`MsixFunction::write_entry`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryWrite {
    /// Whether the write obeyed the masking rule.
    pub rewrite: RewriteStatus,
    /// A pending message released because the write cleared the Mask bit.
    pub sent: Option<MsiMessage>,
}

/// One function's MSI-X table, PBA, Function Mask and Enable (§2.3).
///
/// Out of reset: every entry masked with a zero message, PBA clear,
/// Function Mask clear, MSI-X disabled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsixFunction {
    entries: Vec<MsixEntry>,
    pba: Vec<u64>,
    function_mask: bool,
    enabled: bool,
}

impl MsixFunction {
    /// A function with `table_size` vectors (1..=2048).
    pub fn new(table_size: usize) -> Result<Self, MsixError> {
        if !(1..=field::MAX_VECTORS).contains(&table_size) {
            return Err(MsixError::BadTableSize(table_size));
        }
        Ok(Self {
            entries: vec![MsixEntry::default(); table_size],
            pba: vec![0; table_size.div_ceil(field::PBA_BITS_PER_QWORD)],
            function_mask: false,
            enabled: false,
        })
    }

    /// N.
    pub fn table_size(&self) -> usize {
        self.entries.len()
    }

    /// Current Message Control word.
    pub fn message_control(&self) -> MessageControl {
        MessageControl {
            // 1..=2048 by construction.
            table_size: u16::try_from(self.entries.len()).unwrap_or(1),
            function_mask: self.function_mask,
            enable: self.enabled,
            reserved: 0,
        }
    }

    /// Software writes Message Control: Table Size is read-only; Enable and
    /// Function Mask take the written values. Returns released messages.
    pub fn write_message_control(&mut self, raw: u16) -> Vec<(u16, MsiMessage)> {
        let ctrl = MessageControl::decode(raw);
        let mut sent = self.set_enabled(ctrl.enable);
        sent.extend(self.set_function_mask(ctrl.function_mask));
        sent
    }

    /// MSI-X Enable.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Function Mask.
    pub fn function_mask(&self) -> bool {
        self.function_mask
    }

    fn index(&self, vector: u16) -> Result<usize, MsixError> {
        let i = usize::from(vector);
        if i < self.entries.len() {
            Ok(i)
        } else {
            Err(MsixError::VectorOutOfRange { vector, size: self.entries.len() })
        }
    }

    fn pba_slot(i: usize) -> (usize, u64) {
        (i / field::PBA_BITS_PER_QWORD, 1u64 << (i % field::PBA_BITS_PER_QWORD))
    }

    fn pending_at(&self, i: usize) -> bool {
        let (q, bit) = Self::pba_slot(i);
        self.pba.get(q).is_some_and(|w| w & bit != 0)
    }

    fn set_pending_at(&mut self, i: usize, on: bool) {
        let (q, bit) = Self::pba_slot(i);
        if let Some(w) = self.pba.get_mut(q) {
            if on {
                *w |= bit;
            } else {
                *w &= !bit;
            }
        }
    }

    fn masked_at(&self, i: usize) -> bool {
        !self.enabled || self.function_mask || self.entries.get(i).is_none_or(|e| e.masked)
    }

    /// If vector `i` is pending and now effectively unmasked, clear the bit
    /// and return its message (QEMU `msix_handle_mask_update`).
    fn release_at(&mut self, i: usize) -> Option<MsiMessage> {
        if self.masked_at(i) || !self.pending_at(i) {
            return None;
        }
        self.set_pending_at(i, false);
        self.entries.get(i).map(MsixEntry::message)
    }

    fn release_all(&mut self) -> Vec<(u16, MsiMessage)> {
        (0..self.entries.len())
            .filter_map(|i| {
                let v = u16::try_from(i).ok()?;
                self.release_at(i).map(|m| (v, m))
            })
            .collect()
    }

    /// Entry `vector` as software would read it.
    pub fn entry(&self, vector: u16) -> Result<MsixEntry, MsixError> {
        let i = self.index(vector)?;
        Ok(self.entries[i])
    }

    /// Software writes a whole entry. Applied unconditionally; the result
    /// flags an Address/Data change on an effectively unmasked vector, and
    /// carries the pending message if the write unmasked a pending vector.
    pub fn write_entry(&mut self, vector: u16, entry: MsixEntry) -> Result<EntryWrite, MsixError> {
        let i = self.index(vector)?;
        let old = self.entries[i];
        let rewrite = if old.address == entry.address && old.data == entry.data {
            RewriteStatus::Unchanged
        } else if self.masked_at(i) {
            RewriteStatus::WhileMasked
        } else {
            RewriteStatus::UnmaskedRewrite
        };
        self.entries[i] = entry;
        Ok(EntryWrite { rewrite, sent: self.release_at(i) })
    }

    /// Set or clear the entry's Mask bit. Unmasking a pending vector that is
    /// then effectively unmasked returns its message once and clears Pending.
    pub fn set_masked(&mut self, vector: u16, masked: bool) -> Result<Option<MsiMessage>, MsixError> {
        let i = self.index(vector)?;
        self.entries[i].masked = masked;
        Ok(self.release_at(i))
    }

    /// Set or clear Function Mask. Clearing it releases every pending vector
    /// whose entry is unmasked (if MSI-X is enabled), in vector order.
    pub fn set_function_mask(&mut self, masked: bool) -> Vec<(u16, MsiMessage)> {
        self.function_mask = masked;
        self.release_all()
    }

    /// Set or clear MSI-X Enable. A disabled function counts as masked, so
    /// enabling releases pending vectors that are otherwise unmasked.
    pub fn set_enabled(&mut self, enabled: bool) -> Vec<(u16, MsiMessage)> {
        self.enabled = enabled;
        self.release_all()
    }

    /// True if `vector` may not send now: entry Mask, Function Mask, or
    /// MSI-X disabled.
    pub fn is_masked(&self, vector: u16) -> Result<bool, MsixError> {
        let i = self.index(vector)?;
        Ok(self.masked_at(i))
    }

    /// The device raises `vector` (QEMU `msix_notify`).
    pub fn notify(&mut self, vector: u16) -> Result<NotifyOutcome, MsixError> {
        let i = self.index(vector)?;
        if !self.masked_at(i) {
            return Ok(NotifyOutcome::Sent(self.entries[i].message()));
        }
        if self.pending_at(i) {
            Ok(NotifyOutcome::PendingAlreadySet)
        } else {
            self.set_pending_at(i, true);
            Ok(NotifyOutcome::PendingSet)
        }
    }

    /// The event behind `vector` was serviced while masked (e.g. by polling):
    /// clear Pending so no stale message goes out on unmask. Returns whether
    /// the bit was set.
    pub fn clear_pending(&mut self, vector: u16) -> Result<bool, MsixError> {
        let i = self.index(vector)?;
        let was = self.pending_at(i);
        self.set_pending_at(i, false);
        Ok(was)
    }

    /// Pending bit of `vector`.
    pub fn pending(&self, vector: u16) -> Result<bool, MsixError> {
        let i = self.index(vector)?;
        Ok(self.pending_at(i))
    }

    /// PBA QWORD `i` (vector v is bit v % 64 of QWORD v / 64).
    pub fn pba_qword(&self, i: usize) -> Option<u64> {
        self.pba.get(i).copied()
    }

    /// The whole PBA.
    pub fn pba(&self) -> &[u64] {
        &self.pba
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msi::{DeliveryMode, Trigger};
    use proptest::prelude::*;

    fn msg(vector: u8) -> MsiMessage {
        MsiMessage::compose(0, vector, DeliveryMode::Fixed, Trigger::Edge)
    }

    /// An enabled function whose entries hold vector 0x20 + i, all unmasked.
    fn live(n: usize) -> MsixFunction {
        let mut f = MsixFunction::new(n).unwrap();
        for v in 0..u16::try_from(n).unwrap() {
            let vec8 = 0x20 + u8::try_from(v % 200).unwrap();
            f.write_entry(v, MsixEntry::new(msg(vec8), false)).unwrap();
        }
        f.set_enabled(true);
        f
    }

    #[test]
    fn message_control_fields_decode_and_encode() {
        // 0xC00F: bit 15 enable, bit 14 function mask, 10:0 = 15 → N = 16.
        let c = MessageControl::decode(0xC00F);
        assert_eq!(c.table_size(), 16);
        assert!(c.enable && c.function_mask);
        assert_eq!(c.encode(), 0xC00F);
        // 0x07FF: N − 1 = 2047 → 2048 vectors, both flags clear.
        assert_eq!(MessageControl::decode(0x07FF).table_size(), 2048);
        assert_eq!(MessageControl::decode(0x3800).reserved, 0x3800);
        assert_eq!(MessageControl::new(0, false, false), Err(MsixError::BadTableSize(0)));
        assert_eq!(MessageControl::new(2049, false, false), Err(MsixError::BadTableSize(2049)));
        assert_eq!(MessageControl::new(2048, false, true).unwrap().encode(), 0x87FF);
    }

    #[test]
    fn offset_bir_splits_bar_and_qword_offset() {
        // 0x0000_2003: bits 2:0 = 3 → BAR3, bits 31:3 → offset 0x2000.
        let t = OffsetBir::decode(0x0000_2003);
        assert_eq!((t.bir, t.offset), (3, 0x2000));
        assert_eq!(t.encode(), 0x0000_2003);
        assert!(OffsetBir::decode(0x7).bir_is_reserved());
        assert!(!OffsetBir::decode(0x5).bir_is_reserved());
    }

    #[test]
    fn entry_bytes_are_little_endian_dwords_in_memory_order() {
        // address 0xFEE0_1000, data 0x4031, vector control 0x0001: the four
        // DWORDs little-endian, byte 0 first.
        let text = "0010e0fe 00000000 31400000 01000000";
        let e = parse_hex_entry(text).unwrap();
        assert_eq!(e.address, 0xFEE0_1000);
        assert_eq!(e.data, 0x4031);
        assert!(e.masked);
        assert_eq!(e.steering_tag, 0);
        assert_eq!(e.to_bytes(), parse_hex_entry_bytes(text));
        assert_eq!(e.message().decode().unwrap().data.vector, 0x31);
    }

    fn parse_hex_entry_bytes(text: &str) -> [u8; 16] {
        crate::hex::decode_bytes(text).unwrap().try_into().unwrap()
    }

    #[test]
    fn upper_address_steering_tag_and_reserved_bits_are_kept() {
        // addr hi DWORD bytes 4..8 = 0x0000_0001; vector control bytes
        // 0c..10 = 0x1234_0002: ST 0x1234, reserved bit 1, unmasked.
        let e = parse_hex_entry("0000e0fe010000000000000002003412").unwrap();
        assert_eq!(e.address, 0x0000_0001_FEE0_0000);
        assert_eq!(e.address_hi(), 1);
        assert_eq!(e.steering_tag, 0x1234);
        assert_eq!(e.reserved, 0x2);
        assert!(!e.masked);
        assert_eq!(e.vector_control(), 0x1234_0002);
    }

    #[test]
    fn parse_hex_entry_rejects_wrong_length_and_non_hex() {
        assert_eq!(parse_hex_entry("0010e0fe"), Err(MsixError::EntryLength { bytes: 4 }));
        assert_eq!(parse_hex_entry(&"00".repeat(17)), Err(MsixError::EntryLength { bytes: 17 }));
        assert!(matches!(
            parse_hex_entry(&format!("{}zz", "00".repeat(15))),
            Err(MsixError::Hex(HexError::NonHex { ch: 'z', .. }))
        ));
    }

    #[test]
    fn table_size_bounds() {
        assert_eq!(MsixFunction::new(0), Err(MsixError::BadTableSize(0)));
        assert_eq!(MsixFunction::new(2049), Err(MsixError::BadTableSize(2049)));
        let f = MsixFunction::new(2048).unwrap();
        assert_eq!(f.pba().len(), 32);
        assert_eq!(MsixFunction::new(65).unwrap().pba().len(), 2);
        assert_eq!(f.message_control().table_size(), 2048);
    }

    #[test]
    fn entries_come_out_of_reset_masked_and_disabled() {
        let mut f = MsixFunction::new(4).unwrap();
        assert!((0..4).all(|v| f.entry(v).unwrap().masked));
        assert!(!f.enabled() && !f.function_mask());
        assert_eq!(f.notify(0), Ok(NotifyOutcome::PendingSet));
    }

    #[test]
    fn unmasked_enabled_vector_sends_immediately() {
        let mut f = live(4);
        assert_eq!(f.notify(2), Ok(NotifyOutcome::Sent(msg(0x22))));
        assert_eq!(f.pending(2), Ok(false));
    }

    #[test]
    fn each_of_entry_mask_function_mask_and_disable_masks() {
        // §2.3: masked = entry Mask OR Function Mask OR MSI-X disabled.
        let mut f = live(1);
        f.set_masked(0, true).unwrap();
        assert_eq!(f.notify(0), Ok(NotifyOutcome::PendingSet));
        f.clear_pending(0).unwrap();
        f.set_masked(0, false).unwrap();

        f.set_function_mask(true);
        assert_eq!(f.notify(0), Ok(NotifyOutcome::PendingSet));
        f.clear_pending(0).unwrap();
        f.set_function_mask(false);

        f.set_enabled(false);
        assert_eq!(f.notify(0), Ok(NotifyOutcome::PendingSet));
        assert_eq!(f.is_masked(0), Ok(true));
    }

    #[test]
    fn repeated_events_while_masked_coalesce_into_one_pending_bit() {
        let mut f = live(1);
        f.set_masked(0, true).unwrap();
        assert_eq!(f.notify(0), Ok(NotifyOutcome::PendingSet));
        assert_eq!(f.notify(0), Ok(NotifyOutcome::PendingAlreadySet));
        assert_eq!(f.notify(0), Ok(NotifyOutcome::PendingAlreadySet));
        assert_eq!(f.set_masked(0, false), Ok(Some(msg(0x20))));
        assert_eq!(f.set_masked(0, false), Ok(None), "sent once only");
    }

    #[test]
    fn unmask_with_pending_sends_once_and_clears_the_bit() {
        let mut f = live(70);
        f.set_masked(65, true).unwrap();
        f.notify(65).unwrap();
        // Vector 65 → QWORD 1, bit 1.
        assert_eq!(f.pba_qword(1), Some(1 << 1));
        assert_eq!(f.pba_qword(0), Some(0));
        assert_eq!(f.set_masked(65, false), Ok(Some(msg(0x20 + 65))));
        assert_eq!(f.pba_qword(1), Some(0));
        assert_eq!(f.pba_qword(2), None);
    }

    #[test]
    fn unmasking_entry_under_function_mask_keeps_it_pending() {
        let mut f = live(2);
        f.set_function_mask(true);
        f.set_masked(0, true).unwrap();
        f.notify(0).unwrap();
        assert_eq!(f.set_masked(0, false), Ok(None));
        assert_eq!(f.pending(0), Ok(true));
        assert_eq!(f.set_function_mask(false), vec![(0, msg(0x20))]);
        assert_eq!(f.pending(0), Ok(false));
    }

    #[test]
    fn clearing_function_mask_releases_many_but_not_entry_masked_ones() {
        let mut f = live(8);
        f.set_function_mask(true);
        for v in 0..8 {
            f.notify(v).unwrap();
        }
        f.set_masked(3, true).unwrap();
        let released = f.set_function_mask(false);
        let vectors: Vec<u16> = released.iter().map(|(v, _)| *v).collect();
        assert_eq!(vectors, [0, 1, 2, 4, 5, 6, 7]);
        assert_eq!(f.pending(3), Ok(true));
        assert_eq!(f.pba_qword(0), Some(1 << 3));
    }

    #[test]
    fn enabling_releases_pending_vectors() {
        let mut f = live(2);
        f.set_enabled(false);
        f.notify(1).unwrap();
        assert_eq!(f.set_enabled(true), vec![(1, msg(0x21))]);
    }

    #[test]
    fn servicing_while_masked_clears_pending_so_unmask_sends_nothing() {
        let mut f = live(1);
        f.set_masked(0, true).unwrap();
        f.notify(0).unwrap();
        assert_eq!(f.clear_pending(0), Ok(true));
        assert_eq!(f.set_masked(0, false), Ok(None));
        // A new event while masked sets it again.
        f.set_masked(0, true).unwrap();
        assert_eq!(f.notify(0), Ok(NotifyOutcome::PendingSet));
    }

    #[test]
    fn rewriting_unmasked_entry_is_flagged_but_applied() {
        let mut f = live(1);
        let w = f.write_entry(0, MsixEntry::new(msg(0x99), false)).unwrap();
        assert_eq!(w.rewrite, RewriteStatus::UnmaskedRewrite);
        assert_eq!(f.notify(0), Ok(NotifyOutcome::Sent(msg(0x99))));

        // The legal sequence: mask, rewrite, unmask.
        f.set_masked(0, true).unwrap();
        let w = f.write_entry(0, MsixEntry::new(msg(0x9a), true)).unwrap();
        assert_eq!(w.rewrite, RewriteStatus::WhileMasked);
        let w = f.write_entry(0, MsixEntry::new(msg(0x9a), false)).unwrap();
        assert_eq!(w.rewrite, RewriteStatus::Unchanged);
    }

    #[test]
    fn pending_message_uses_the_entry_contents_at_unmask_time() {
        let mut f = live(1);
        f.set_masked(0, true).unwrap();
        f.notify(0).unwrap();
        let w = f.write_entry(0, MsixEntry::new(msg(0x77), false)).unwrap();
        assert_eq!(w.rewrite, RewriteStatus::WhileMasked);
        assert_eq!(w.sent, Some(msg(0x77)));
    }

    #[test]
    fn message_control_write_toggles_enable_and_function_mask() {
        let mut f = live(2);
        f.set_masked(1, true).unwrap();
        f.write_message_control(0xC000);
        assert!(f.enabled() && f.function_mask());
        assert_eq!(f.message_control().encode(), 0xC001);
        f.notify(0).unwrap();
        assert_eq!(f.write_message_control(0x8000), vec![(0, msg(0x20))]);
    }

    #[test]
    fn out_of_range_vectors_are_errors() {
        let mut f = live(2);
        let e = Err(MsixError::VectorOutOfRange { vector: 2, size: 2 });
        assert_eq!(f.notify(2), e.clone().map(|()| NotifyOutcome::PendingSet));
        assert_eq!(f.set_masked(2, true), e.clone().map(|()| None));
        assert_eq!(f.pending(2), e.clone().map(|()| false));
        assert_eq!(f.clear_pending(2), e.clone().map(|()| false));
        assert!(f.entry(2).is_err());
        assert!(f.write_entry(2, MsixEntry::default()).is_err());
    }

    #[test]
    fn fields_name_every_entry_field() {
        let e = parse_hex_entry("0010e0fe000000003140000001000000").unwrap();
        let names: Vec<&str> = e.fields().iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            ["address_lo", "address_hi", "address", "data", "vector_control", "masked", "steering_tag", "reserved"]
        );
        assert_eq!(e.fields()[0].1, "0xfee01000");
    }

    #[derive(Debug, Clone)]
    enum Op {
        Notify(u16),
        Mask(u16, bool),
        FunctionMask(bool),
        Enable(bool),
        Service(u16),
    }

    fn op(n: u16) -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0..n).prop_map(Op::Notify),
            2 => (0..n, any::<bool>()).prop_map(|(v, m)| Op::Mask(v, m)),
            1 => any::<bool>().prop_map(Op::FunctionMask),
            1 => any::<bool>().prop_map(Op::Enable),
            1 => (0..n).prop_map(Op::Service),
        ]
    }

    proptest! {
        #[test]
        fn entry_bytes_round_trip(bytes in any::<[u8; 16]>()) {
            prop_assert_eq!(MsixEntry::from_bytes(bytes).to_bytes(), bytes);
        }

        #[test]
        fn message_control_round_trips(raw in any::<u16>()) {
            prop_assert_eq!(MessageControl::decode(raw).encode(), raw);
        }

        #[test]
        fn offset_bir_round_trips(raw in any::<u32>()) {
            prop_assert_eq!(OffsetBir::decode(raw).encode(), raw);
        }

        #[test]
        fn parse_hex_entry_never_panics(s in "\\PC{0,40}") {
            let _ = parse_hex_entry(&s);
        }

        /// Accounting invariant, per vector v:
        /// (1) every notify has exactly one outcome: Sent, PendingSet or
        ///     PendingAlreadySet (coalesced);
        /// (2) Sent only while effectively unmasked; PendingSet only when the
        ///     bit was clear, PendingAlreadySet only when it was set;
        /// (3) released(v) — messages returned by unmask/enable — happen only
        ///     for a set bit, clear it, and carry the entry's message;
        /// (4) pending_set(v) = released(v) + serviced(v) + pending_now(v),
        ///     i.e. every pending bit ends in exactly one of: sent once on
        ///     unmask, cleared by service, still pending.
        #[test]
        fn pending_bits_account_for_every_masked_notification(
            ops in proptest::collection::vec(op(5), 0..200)
        ) {
            let n = 5usize;
            let mut f = live(n);
            f.set_enabled(false); // start masked so pending paths are hit
            let mut set = vec![0u32; n];
            let mut released = vec![0u32; n];
            let mut serviced = vec![0u32; n];
            let mut notifies = 0u32;
            let mut outcomes = 0u32;
            fn record(f: &MsixFunction, rel: Vec<(u16, MsiMessage)>, released: &mut [u32]) {
                for (v, m) in rel {
                    released[usize::from(v)] += 1;
                    assert_eq!(m, f.entry(v).unwrap().message());
                    assert!(!f.pending(v).unwrap());
                }
            }
            for op in ops {
                match op {
                    Op::Notify(v) => {
                        notifies += 1;
                        let was_masked = f.is_masked(v).unwrap();
                        let was_pending = f.pending(v).unwrap();
                        match f.notify(v).unwrap() {
                            NotifyOutcome::Sent(m) => {
                                prop_assert!(!was_masked);
                                prop_assert_eq!(m, f.entry(v).unwrap().message());
                            }
                            NotifyOutcome::PendingSet => {
                                prop_assert!(was_masked && !was_pending);
                                set[usize::from(v)] += 1;
                            }
                            NotifyOutcome::PendingAlreadySet => {
                                prop_assert!(was_masked && was_pending);
                            }
                        }
                        outcomes += 1;
                    }
                    Op::Mask(v, m) => {
                        let was_pending = f.pending(v).unwrap();
                        if let Some(msg) = f.set_masked(v, m).unwrap() {
                            prop_assert!(was_pending);
                            record(&f, vec![(v, msg)], &mut released);
                        }
                    }
                    Op::FunctionMask(m) => {
                        let rel = f.set_function_mask(m);
                        record(&f, rel, &mut released);
                    }
                    Op::Enable(e) => {
                        let rel = f.set_enabled(e);
                        record(&f, rel, &mut released);
                    }
                    Op::Service(v) => {
                        if f.clear_pending(v).unwrap() {
                            serviced[usize::from(v)] += 1;
                        }
                    }
                }
                // A pending bit never survives on an effectively unmasked vector.
                for v in 0..5u16 {
                    prop_assert!(!f.pending(v).unwrap() || f.is_masked(v).unwrap());
                }
            }
            prop_assert_eq!(notifies, outcomes);
            for v in 0..n {
                let now = u32::from(f.pending(u16::try_from(v).unwrap()).unwrap());
                prop_assert_eq!(set[v], released[v] + serviced[v] + now, "vector {}", v);
            }
        }
    }
}
