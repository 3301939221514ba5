//! The TX descriptor ring's wire format (the device contract of
//! docs/memory-model.md): one 16-byte transmit descriptor, its
//! encode/decode, the generation (ownership) bit per ring lap, and the
//! device's completion write-back (DD).
//!
//! The layout is the Intel 8254x (e1000) legacy transmit descriptor (8254x
//! SDM §3.3.3; Linux `struct e1000_tx_desc`, `E1000_TXD_CMD_*`,
//! `E1000_TXD_STAT_DD` in `drivers/net/ethernet/intel/e1000/e1000_hw.h`):
//! buffer address, length, CSO, CMD, STA, CSS, special. One change: byte 13,
//! the legacy CSS (checksum start), carries a *generation* bit instead — the
//! phase bit that newer rings use to mark which ring lap a descriptor belongs
//! to (virtio packed rings' wrap counters, ENA's phase bit), so a device can
//! tell a descriptor written for this lap from a stale one of the previous
//! lap. The ring starts zeroed, so lap 0 writes generation 1.
//!
//! The driver writes a descriptor as two 64-bit stores ([`field::WORD_ADDR`]
//! then [`field::WORD_CTRL`]); the second carries length, command and the
//! generation bit, so it is the store that hands the descriptor to the device.
//!
//! Left out: advanced/context descriptors (TSO, checksum offload contexts),
//! multi-descriptor packets beyond the EOP flag, and the head write-back mode.

use serde::Serialize;
use thiserror::Error;

/// Byte offsets and bit masks of the descriptor.
pub mod field {
    use std::ops::Range;

    /// Descriptor size in bytes.
    pub const DESC_LEN: usize = 16;
    /// Bytes of the 64-bit buffer address (little-endian).
    pub const BUFFER_ADDR: Range<usize> = 0..8;
    /// Bytes of the 16-bit frame length.
    pub const LENGTH: Range<usize> = 8..10;
    /// Byte of CSO, the checksum offset.
    pub const CSO: usize = 10;
    /// Byte of CMD.
    pub const CMD: usize = 11;
    /// Byte of STA, written back by the device.
    pub const STATUS: usize = 12;
    /// Byte of the generation bit (legacy CSS).
    pub const GEN: usize = 13;
    /// Bytes of the 16-bit special field (VLAN tag).
    pub const SPECIAL: Range<usize> = 14..16;

    /// CMD bit 0: End Of Packet (`E1000_TXD_CMD_EOP`).
    pub const CMD_EOP: u8 = 0x01;
    /// CMD bit 1: Insert FCS (`E1000_TXD_CMD_IFCS`).
    pub const CMD_IFCS: u8 = 0x02;
    /// CMD bit 3: Report Status — write DD back when done (`E1000_TXD_CMD_RS`).
    pub const CMD_RS: u8 = 0x08;
    /// STA bit 0: Descriptor Done (`E1000_TXD_STAT_DD`).
    pub const STA_DD: u8 = 0x01;
    /// Generation byte bit 0: the ring lap's phase.
    pub const GEN_BIT: u8 = 0x01;
    /// Generation byte bits 7:1: reserved, must be zero.
    pub const GEN_RESERVED_MASK: u8 = 0xFE;

    /// 64-bit words the driver stores one at a time.
    pub const WORDS: usize = 2;
    /// Word 0: the buffer address.
    pub const WORD_ADDR: usize = 0;
    /// Word 1: length, CSO, CMD, STA, generation, special.
    pub const WORD_CTRL: usize = 1;
}

/// One transmit descriptor, decoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TxDesc {
    /// Bus address of the frame's buffer.
    pub buffer_addr: u64,
    /// Frame length in bytes.
    pub length: u16,
    /// Checksum offset (legacy checksum insertion; 0 when unused).
    pub cso: u8,
    /// Command bits ([`field::CMD_EOP`], [`field::CMD_RS`], …).
    pub cmd: u8,
    /// Status bits written back by the device ([`field::STA_DD`]).
    pub status: u8,
    /// The generation (ownership) bit.
    pub generation: bool,
    /// Special field (VLAN tag).
    pub special: u16,
}

/// A descriptor image that is not a valid descriptor.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum TxDescError {
    /// Reserved bits of the generation byte are set.
    #[error("reserved bits set in the generation byte: {0:#04x}")]
    ReservedGenBits(u8),
}

impl TxDesc {
    /// The 16 bytes as they sit in the ring.
    pub fn encode(&self) -> [u8; field::DESC_LEN] {
        let mut b = [0u8; field::DESC_LEN];
        b[field::BUFFER_ADDR].copy_from_slice(&self.buffer_addr.to_le_bytes());
        b[field::LENGTH].copy_from_slice(&self.length.to_le_bytes());
        b[field::CSO] = self.cso;
        b[field::CMD] = self.cmd;
        b[field::STATUS] = self.status;
        b[field::GEN] = if self.generation { field::GEN_BIT } else { 0 };
        b[field::SPECIAL].copy_from_slice(&self.special.to_le_bytes());
        b
    }

    /// Parses 16 ring bytes.
    pub fn decode(b: &[u8; field::DESC_LEN]) -> Result<TxDesc, TxDescError> {
        let gen_byte = b[field::GEN];
        if gen_byte & field::GEN_RESERVED_MASK != 0 {
            return Err(TxDescError::ReservedGenBits(gen_byte));
        }
        let mut addr = [0u8; 8];
        addr.copy_from_slice(&b[field::BUFFER_ADDR]);
        Ok(TxDesc {
            buffer_addr: u64::from_le_bytes(addr),
            length: u16::from_le_bytes([b[field::LENGTH.start], b[field::LENGTH.start + 1]]),
            cso: b[field::CSO],
            cmd: b[field::CMD],
            status: b[field::STATUS],
            generation: gen_byte & field::GEN_BIT != 0,
            special: u16::from_le_bytes([b[field::SPECIAL.start], b[field::SPECIAL.start + 1]]),
        })
    }

    /// The two little-endian 64-bit words the driver stores.
    pub fn to_words(&self) -> [u64; field::WORDS] {
        let b = self.encode();
        let word = |w: usize| {
            let mut x = [0u8; 8];
            x.copy_from_slice(&b[w * 8..w * 8 + 8]);
            u64::from_le_bytes(x)
        };
        [word(field::WORD_ADDR), word(field::WORD_CTRL)]
    }

    /// Parses the two 64-bit words as the device reads them.
    pub fn from_words(w: [u64; field::WORDS]) -> Result<TxDesc, TxDescError> {
        let mut b = [0u8; field::DESC_LEN];
        b[..8].copy_from_slice(&w[field::WORD_ADDR].to_le_bytes());
        b[8..].copy_from_slice(&w[field::WORD_CTRL].to_le_bytes());
        TxDesc::decode(&b)
    }

    /// A descriptor for one whole frame in one buffer, as the driver writes
    /// it: EOP and IFCS always, RS when `report_status`; status cleared.
    pub fn for_frame(buffer_addr: u64, length: u16, report_status: bool, generation: bool) -> TxDesc {
        let rs = if report_status { field::CMD_RS } else { 0 };
        TxDesc {
            buffer_addr,
            length,
            cso: 0,
            cmd: field::CMD_EOP | field::CMD_IFCS | rs,
            status: 0,
            generation,
            special: 0,
        }
    }

    /// End Of Packet.
    pub fn eop(&self) -> bool {
        self.cmd & field::CMD_EOP != 0
    }
    /// Report Status: the device writes DD back when done.
    pub fn rs(&self) -> bool {
        self.cmd & field::CMD_RS != 0
    }
    /// Descriptor Done.
    pub fn dd(&self) -> bool {
        self.status & field::STA_DD != 0
    }

    /// The descriptor after the device's completion write-back (DD set).
    pub fn written_back(&self) -> TxDesc {
        TxDesc { status: self.status | field::STA_DD, ..*self }
    }

    /// The command bits as names, e.g. `EOP|IFCS|RS`.
    pub fn cmd_names(&self) -> String {
        let names: Vec<&str> = [(field::CMD_EOP, "EOP"), (field::CMD_IFCS, "IFCS"), (field::CMD_RS, "RS")]
            .iter()
            .filter(|(bit, _)| self.cmd & bit != 0)
            .map(|(_, n)| *n)
            .collect();
        if names.is_empty() { "0".into() } else { names.join("|") }
    }
}

/// The generation bit the driver writes for the descriptor with free-running
/// index `index` in a ring of `ring_size` entries: 1 on lap 0 (the ring
/// starts zeroed), then alternating each lap.
pub fn generation_for(index: u64, ring_size: u32) -> bool {
    (index / ring_size.max(1) as u64).is_multiple_of(2)
}

/// How the device's view of a descriptor compares with what the driver wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DescriptorRead {
    /// Every field is the one the driver wrote for this lap.
    Current,
    /// The generation bit is still the previous lap's: the device sees a
    /// descriptor it does not own (detectable by the device).
    StaleOwnership,
    /// The generation bit is current but another field is stale: a torn
    /// descriptor the device cannot detect; transmitting it sends the wrong
    /// buffer or length.
    Torn,
}

/// Classifies the device's view `seen` of a descriptor the driver wrote as
/// `written`.
pub fn classify(seen: &TxDesc, written: &TxDesc) -> DescriptorRead {
    if seen.generation != written.generation {
        DescriptorRead::StaleOwnership
    } else if seen != written {
        DescriptorRead::Torn
    } else {
        DescriptorRead::Current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A legacy descriptor as the e1000 driver lays it out: address
    /// 0x0000_0001_2345_6000, length 60, CMD EOP|IFCS|RS (0x0b), STA 0,
    /// special 0 — plus the generation bit in byte 13.
    const BYTES: [u8; 16] = [
        0x00, 0x60, 0x45, 0x23, 0x01, 0x00, 0x00, 0x00, // buffer address, LE
        0x3c, 0x00, // length 60
        0x00, // CSO
        0x0b, // CMD: EOP | IFCS | RS
        0x00, // STA
        0x01, // generation 1 (legacy CSS)
        0x00, 0x00, // special
    ];

    #[test]
    fn round_trips_real_bytes() {
        let d = TxDesc::decode(&BYTES).unwrap();
        assert_eq!(d.buffer_addr, 0x1_2345_6000);
        assert_eq!(d.length, 60);
        assert!(d.eop() && d.rs() && !d.dd() && d.generation);
        assert_eq!(d.cmd_names(), "EOP|IFCS|RS");
        assert_eq!(d.encode(), BYTES);
        assert_eq!(d, TxDesc::for_frame(0x1_2345_6000, 60, true, true));
    }

    #[test]
    fn command_bits_match_the_e1000_definitions() {
        // e1000_hw.h keeps CMD in bits 31:24 of the lower dword.
        assert_eq!((field::CMD_EOP as u32) << 24, 0x0100_0000);
        assert_eq!((field::CMD_IFCS as u32) << 24, 0x0200_0000);
        assert_eq!((field::CMD_RS as u32) << 24, 0x0800_0000);
        assert_eq!(field::STA_DD, 0x01);
    }

    #[test]
    fn words_are_the_two_halves_in_ring_order() {
        let d = TxDesc::decode(&BYTES).unwrap();
        let w = d.to_words();
        assert_eq!(w[field::WORD_ADDR], 0x1_2345_6000);
        // length 0x003c, CSO 0, CMD 0x0b, STA 0, GEN 1, special 0.
        assert_eq!(w[field::WORD_CTRL], 0x0000_0100_0b00_003c);
        assert_eq!(TxDesc::from_words(w).unwrap(), d);
    }

    #[test]
    fn write_back_sets_only_dd() {
        let d = TxDesc::decode(&BYTES).unwrap().written_back();
        assert!(d.dd());
        let b = d.encode();
        assert_eq!(b[field::STATUS], field::STA_DD);
        assert_eq!(b[..12], BYTES[..12]);
        assert_eq!(b[13..], BYTES[13..]);
    }

    #[test]
    fn reserved_generation_bits_are_rejected() {
        let mut b = BYTES;
        b[field::GEN] = 0x03;
        assert_eq!(TxDesc::decode(&b), Err(TxDescError::ReservedGenBits(0x03)));
    }

    #[test]
    fn generation_flips_each_lap_starting_at_one() {
        assert!(generation_for(0, 4));
        assert!(generation_for(3, 4));
        assert!(!generation_for(4, 4));
        assert!(generation_for(8, 4));
    }

    #[test]
    fn classification_separates_detectable_from_torn() {
        let new = TxDesc::for_frame(0x2000, 64, false, true);
        let old_lap = TxDesc::for_frame(0x1000, 128, false, false).written_back();
        assert_eq!(classify(&new, &new), DescriptorRead::Current);
        assert_eq!(classify(&old_lap, &new), DescriptorRead::StaleOwnership);
        // New control word (generation current) with the old buffer address.
        let torn = TxDesc { buffer_addr: old_lap.buffer_addr, ..new };
        assert_eq!(classify(&torn, &new), DescriptorRead::Torn);
    }
}
