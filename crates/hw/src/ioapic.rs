//! IO-APIC (Intel 82093AA): the 64-bit redirection table entry, the indirect
//! register file, and the per-pin edge/level state machine with Remote IRR.
//!
//! Models docs/sources.md §4.3 (82093AA datasheet; QEMU `hw/intc/ioapic.c` and
//! `ioapic_internal.h` as the executable description) and the IO-APIC side
//! of the §4.2 EOI rules:
//! * [`RedirectionEntry`] — one RTE, bit-exact `decode`/`encode`, reserved
//!   bits 55:17 kept and reported, and [`RedirectionEntry::to_msi`], the
//!   compatibility-format message (§3.1) through which irqlab delivers it to
//!   a local APIC;
//! * [`IoApic`] — N input pins (default 24), IOREGSEL/IOWIN/EOI registers,
//!   and the delivery rules: a rising edge on an unmasked edge pin delivers
//!   once; an asserted, unmasked level pin delivers when Remote IRR is clear
//!   and sets it; an EOI for the entry's vector clears Remote IRR and
//!   re-delivers at once if the line is still asserted; every RTE write
//!   re-services the pin (QEMU `ioapic_service`), so unmasking a
//!   still-asserted level pin delivers.
//!
//! Time-free like the rest of the crate: a [`Delivery`] is "the message
//! leaves now"; the local APIC accepting it is the caller's business.
//! `asserted` is the *logical* input state: the pin-polarity bit is decoded
//! and reported but not applied (QEMU does the same; the board wiring
//! decides what "asserted" means). The input is kept as a level for every
//! pin, edge or level: an entry switched from edge to level while its line
//! is held asserted delivers on that write, where QEMU (which latches edges
//! in its IRR and clears them on delivery) would wait for the next
//! assertion.
//!
//! Left out: the APIC serial bus and arbitration (the Arbitration register
//! reads 0, as in QEMU), lowest-priority target selection and logical
//! destination matching (the `model` resolves the message's destination),
//! Delivery Status (always idle: delivery is instantaneous), ExtINT vectors
//! taken from an 8259A, the remappable (VT-d) RTE format of §3.2 (bit 48 is
//! reported in the notes with the IRTE index it makes; [`crate::vtd::msi`]
//! decodes it), QEMU's 10 ms back-off after
//! 10,000 successive EOI re-deliveries (`SUCCESSIVE_IRQ_MAX_COUNT`: here
//! every re-delivery is immediate and counted in `eoi_redeliveries`), MMIO
//! access widths, and IO-APIC versions before 0x20, which have no EOI
//! register.

use serde::Serialize;
use serde::ser::SerializeStruct;
use thiserror::Error;

use crate::msi::{DeliveryMode, DestinationMode, MsiAddress, MsiData, MsiMessage, Trigger};

/// Bit positions of the 64-bit redirection table entry (§4.3 table).
pub mod field {
    /// Bits 7:0: vector.
    pub const VECTOR_MASK: u64 = 0xFF;
    /// Bits 10:8: delivery mode (same encoding as MSI data, §3.1).
    pub const DELIVERY_MODE_MASK: u64 = 0x0700;
    /// Shift of the delivery mode.
    pub const DELIVERY_MODE_SHIFT: u32 = 8;
    /// Bit 11: destination mode (1 = logical).
    pub const DEST_MODE_LOGICAL: u64 = 1 << 11;
    /// Bit 12: delivery status (read-only; 1 = send pending).
    pub const DELIVERY_STATUS: u64 = 1 << 12;
    /// Bit 13: pin polarity (1 = active low).
    pub const POLARITY_ACTIVE_LOW: u64 = 1 << 13;
    /// Bit 14: Remote IRR (read-only; level entries only).
    pub const REMOTE_IRR: u64 = 1 << 14;
    /// Bit 15: trigger mode (1 = level).
    pub const TRIGGER_LEVEL: u64 = 1 << 15;
    /// Bit 16: mask.
    pub const MASK: u64 = 1 << 16;
    /// Bits 55:17: reserved (kept raw and in place).
    pub const RESERVED_MASK: u64 = 0x00FF_FFFF_FFFE_0000;
    /// Bit 48: under VT-d, 1 = remappable-format RTE (§3.2). Reserved in the
    /// compatibility format this module decodes.
    pub const REMAPPABLE_FORMAT: u64 = 1 << 48;
    /// Bits 63:56: destination (APIC ID, or logical destination set).
    pub const DEST_MASK: u64 = 0xFF00_0000_0000_0000;
    /// Shift of the destination.
    pub const DEST_SHIFT: u32 = 56;
    /// Bits 31:0, the half IOWIN shows at index 0x10 + 2n.
    pub const LOW_HALF_MASK: u64 = 0x0000_0000_FFFF_FFFF;
    /// Shift of bits 63:32, the half IOWIN shows at index 0x11 + 2n.
    pub const HIGH_HALF_SHIFT: u32 = 32;
    /// Bits software cannot write (QEMU `IOAPIC_RO_BITS`).
    pub const RO_BITS: u64 = DELIVERY_STATUS | REMOTE_IRR;
    /// Value of every entry out of reset: masked, everything else 0.
    pub const RESET: u64 = MASK;

    /// Lowest vector the 82093AA accepts in an RTE (§4.3 table).
    pub const FIRST_LEGAL_VECTOR: u8 = 0x10;
    /// Highest vector the 82093AA accepts in an RTE (§4.3 table).
    pub const LAST_LEGAL_VECTOR: u8 = 0xFE;
}

/// Register offsets and indirect register indexes (§4.3 "Registers").
pub mod reg {
    /// IOREGSEL, the index register, at MMIO offset 0x00.
    pub const IOREGSEL: u32 = 0x00;
    /// IOWIN, the data window onto the selected register, at 0x10.
    pub const IOWIN: u32 = 0x10;
    /// EOI register (version 0x20 and later; QEMU `IOAPIC_EOI`), at 0x40.
    pub const EOI: u32 = 0x40;
    /// IOREGSEL bits 7:0 hold the index; bits 31:8 are reserved.
    pub const IOREGSEL_MASK: u32 = 0xFF;
    /// EOI register bits 7:0: the vector being EOI'd.
    pub const EOI_VECTOR_MASK: u32 = 0xFF;

    /// Index 0x00: IOAPIC ID.
    pub const INDEX_ID: u8 = 0x00;
    /// Index 0x01: version.
    pub const INDEX_VERSION: u8 = 0x01;
    /// Index 0x02: arbitration ID.
    pub const INDEX_ARBITRATION: u8 = 0x02;
    /// Index 0x10 + 2n: RTE n bits 31:0; 0x11 + 2n: bits 63:32.
    pub const INDEX_REDTBL_BASE: u8 = 0x10;

    /// ID register: the 4-bit ID sits in bits 27:24 (QEMU `IOAPIC_ID_SHIFT`,
    /// `IOAPIC_ID_MASK`).
    pub const ID_SHIFT: u32 = 24;
    /// Width mask of the ID once shifted down.
    pub const ID_MASK: u32 = 0x0F;
    /// Version register bits 7:0: the version this model implements (0x20,
    /// QEMU `IOAPIC_VER_DEF`; the first with the EOI register).
    pub const VERSION: u32 = 0x20;
    /// Version register bits 23:16: maximum redirection entry (N − 1).
    pub const VERSION_MAX_ENTRY_SHIFT: u32 = 16;

    /// Default number of pins (QEMU `IOAPIC_NUM_PINS`, the 82093AA's 24).
    pub const DEFAULT_PINS: usize = 24;
    /// Most pins an 8-bit IOREGSEL can reach: RTE n's high half is index
    /// 0x11 + 2n ≤ 0xFF, so n ≤ 119 (derived, not from a datasheet).
    pub const MAX_PINS: usize = 120;
}

/// Errors of the IO-APIC state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum IoApicError {
    /// Pin count outside 1..=120.
    #[error("an IO-APIC has 1..=120 pins (8-bit IOREGSEL); got {0}")]
    BadPinCount(usize),
    /// Pin number past the redirection table.
    #[error("IO-APIC pin {pin} out of range (the IO-APIC has {pins} pins)")]
    PinOutOfRange {
        /// The pin used.
        pin: u8,
        /// Number of pins.
        pins: usize,
    },
}

/// Pin polarity (RTE bit 13).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Polarity {
    /// Bit = 0: asserted when high (ISA default).
    #[default]
    ActiveHigh,
    /// Bit = 1: asserted when low (PCI INTx).
    ActiveLow,
}

impl std::fmt::Display for Polarity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::ActiveHigh => "active-high",
            Self::ActiveLow => "active-low",
        })
    }
}

/// Delivery status (RTE bit 12, read-only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum DeliveryStatus {
    /// Bit = 0: no message waiting.
    #[default]
    Idle,
    /// Bit = 1: a message is waiting to be sent.
    SendPending,
}

impl std::fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Idle => "idle",
            Self::SendPending => "send-pending",
        })
    }
}

/// One 64-bit redirection table entry, decoded. Every 64-bit value decodes
/// and `encode(decode(x)) == x`. Serializes with the keys of
/// [`RedirectionEntry::fields`] (`notes` as a list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RedirectionEntry {
    /// Bits 7:0.
    pub vector: u8,
    /// Bits 10:8.
    pub delivery_mode: DeliveryMode,
    /// Bit 11.
    pub destination_mode: DestinationMode,
    /// Bit 12 (read-only in the IO-APIC).
    pub delivery_status: DeliveryStatus,
    /// Bit 13.
    pub polarity: Polarity,
    /// Bit 14 (read-only in the IO-APIC; level entries only).
    pub remote_irr: bool,
    /// Bit 15.
    pub trigger: Trigger,
    /// Bit 16.
    pub masked: bool,
    /// Bits 55:17, raw and in place (0 when clean).
    pub reserved: u64,
    /// Bits 63:56: APIC ID (physical) or logical destination set.
    pub destination: u8,
}

impl Default for RedirectionEntry {
    /// The reset value: masked, everything else 0 ([`field::RESET`]).
    fn default() -> Self {
        Self::decode(field::RESET)
    }
}

/// The low byte of a value already masked and shifted to 8 bits or fewer.
fn low_byte(value: u64) -> u8 {
    value.to_le_bytes()[0]
}

impl RedirectionEntry {
    /// An unmasked fixed-mode, physical-destination entry, as an OS programs
    /// one: `vector` to APIC `destination` with the given trigger and
    /// polarity.
    pub const fn fixed(vector: u8, destination: u8, trigger: Trigger, polarity: Polarity) -> Self {
        Self {
            vector,
            delivery_mode: DeliveryMode::Fixed,
            destination_mode: DestinationMode::Physical,
            delivery_status: DeliveryStatus::Idle,
            polarity,
            remote_irr: false,
            trigger,
            masked: false,
            reserved: 0,
            destination,
        }
    }

    /// Decode a raw 64-bit entry (high DWORD ‖ low DWORD).
    pub fn decode(raw: u64) -> Self {
        Self {
            vector: low_byte(raw & field::VECTOR_MASK),
            delivery_mode: DeliveryMode::from_bits(low_byte(
                (raw & field::DELIVERY_MODE_MASK) >> field::DELIVERY_MODE_SHIFT,
            )),
            destination_mode: if raw & field::DEST_MODE_LOGICAL != 0 {
                DestinationMode::Logical
            } else {
                DestinationMode::Physical
            },
            delivery_status: if raw & field::DELIVERY_STATUS != 0 {
                DeliveryStatus::SendPending
            } else {
                DeliveryStatus::Idle
            },
            polarity: if raw & field::POLARITY_ACTIVE_LOW != 0 { Polarity::ActiveLow } else { Polarity::ActiveHigh },
            remote_irr: raw & field::REMOTE_IRR != 0,
            trigger: if raw & field::TRIGGER_LEVEL != 0 { Trigger::Level } else { Trigger::Edge },
            masked: raw & field::MASK != 0,
            reserved: raw & field::RESERVED_MASK,
            destination: low_byte((raw & field::DEST_MASK) >> field::DEST_SHIFT),
        }
    }

    /// Encode to the raw 64-bit entry (reserved bits outside 55:17 are
    /// dropped).
    pub fn encode(&self) -> u64 {
        let mut raw = u64::from(self.vector);
        raw |= u64::from(self.delivery_mode.bits()) << field::DELIVERY_MODE_SHIFT;
        if self.destination_mode == DestinationMode::Logical {
            raw |= field::DEST_MODE_LOGICAL;
        }
        if self.delivery_status == DeliveryStatus::SendPending {
            raw |= field::DELIVERY_STATUS;
        }
        if self.polarity == Polarity::ActiveLow {
            raw |= field::POLARITY_ACTIVE_LOW;
        }
        if self.remote_irr {
            raw |= field::REMOTE_IRR;
        }
        if self.trigger == Trigger::Level {
            raw |= field::TRIGGER_LEVEL;
        }
        if self.masked {
            raw |= field::MASK;
        }
        raw |= self.reserved & field::RESERVED_MASK;
        raw | (u64::from(self.destination) << field::DEST_SHIFT)
    }

    /// Bits 31:0, as IOWIN shows them at index 0x10 + 2n.
    pub fn low(&self) -> u32 {
        let b = self.encode().to_le_bytes();
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }

    /// Bits 63:32, as IOWIN shows them at index 0x11 + 2n.
    pub fn high(&self) -> u32 {
        let b = self.encode().to_le_bytes();
        u32::from_le_bytes([b[4], b[5], b[6], b[7]])
    }

    /// The message the IO-APIC sends for this entry, in the compatibility
    /// MSI format (§3.1): address destination ID = RTE bits 63:56, DM =
    /// bit 11, RH = 0 (as QEMU `ioapic_entry_parse` builds it); data =
    /// vector, delivery mode and trigger, with the level bit set for level
    /// entries (an assert message, as [`MsiData::new`] composes it; QEMU
    /// leaves data bit 14 clear). Reserved RTE bits 55:48, which QEMU copies
    /// to address bits 11:4, are not carried.
    pub fn to_msi(&self) -> MsiMessage {
        let address = MsiAddress { destination_mode: self.destination_mode, ..MsiAddress::physical(self.destination) };
        MsiMessage::encode(&address, &MsiData::new(self.vector, self.delivery_mode, self.trigger))
    }

    /// Non-architectural or easily misread settings, in words.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if let DeliveryMode::Reserved(n) = self.delivery_mode {
            notes.push(format!("delivery mode {n:#05b} is reserved"));
        }
        if self.delivery_mode.uses_irr()
            && !(field::FIRST_LEGAL_VECTOR..=field::LAST_LEGAL_VECTOR).contains(&self.vector)
        {
            notes.push(format!("vector {:#04x} is outside the 82093AA's legal range 0x10-0xfe", self.vector));
        }
        if !self.delivery_mode.uses_irr() && !matches!(self.delivery_mode, DeliveryMode::Reserved(_)) {
            notes.push(format!("{} bypasses IRR/ISR: the handler must not EOI it", self.delivery_mode));
        }
        if self.remote_irr && self.trigger == Trigger::Edge {
            notes.push("Remote IRR set on an edge entry (an edge entry always has Remote IRR = 0)".to_owned());
        }
        if self.reserved & field::REMAPPABLE_FORMAT != 0 {
            let raw = self.encode();
            let index = ((raw >> 49) & 0x7FFF) | (((raw >> 11) & 1) << 15);
            notes.push(format!(
                "bit 48 set: under VT-d this is a remappable-format RTE for IRTE index {index:#06x} (bits 63:49, bit 11 = index bit 15; vtd::msi::remappable_rte_to_msi), not decoded here"
            ));
        }
        if self.reserved != 0 {
            notes.push(format!("reserved bits 55:17 set: {:#018x}", self.reserved));
        }
        notes
    }

    /// `(name, value)` pairs, one per field, for human-readable output; each
    /// note is its own `note` line.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![
            ("rte", format!("{:#018x}", self.encode())),
            ("low", format!("{:#010x}", self.low())),
            ("high", format!("{:#010x}", self.high())),
            ("vector", format!("{:#04x} ({})", self.vector, self.vector)),
            ("delivery_mode", self.delivery_mode.to_string()),
            ("destination_mode", self.destination_mode.to_string()),
            ("delivery_status", self.delivery_status.to_string()),
            ("polarity", self.polarity.to_string()),
            ("remote_irr", self.remote_irr.to_string()),
            ("trigger", self.trigger.to_string()),
            ("masked", self.masked.to_string()),
            ("reserved", format!("{:#018x}", self.reserved)),
            ("destination", format!("{:#04x} ({})", self.destination, self.destination)),
        ];
        out.extend(self.notes().into_iter().map(|n| ("note", n)));
        out
    }
}

impl Serialize for RedirectionEntry {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut st = serializer.serialize_struct("RedirectionEntry", 14)?;
        st.serialize_field("rte", &self.encode())?;
        st.serialize_field("low", &self.low())?;
        st.serialize_field("high", &self.high())?;
        st.serialize_field("vector", &self.vector)?;
        st.serialize_field("delivery_mode", &self.delivery_mode)?;
        st.serialize_field("destination_mode", &self.destination_mode)?;
        st.serialize_field("delivery_status", &self.delivery_status)?;
        st.serialize_field("polarity", &self.polarity)?;
        st.serialize_field("remote_irr", &self.remote_irr)?;
        st.serialize_field("trigger", &self.trigger)?;
        st.serialize_field("masked", &self.masked)?;
        st.serialize_field("reserved", &self.reserved)?;
        st.serialize_field("destination", &self.destination)?;
        st.serialize_field("notes", &self.notes())?;
        st.end()
    }
}

/// Why a [`Delivery`] left the IO-APIC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeliveryCause {
    /// A rising edge (edge entry) or an assertion with Remote IRR clear
    /// (level entry) on an unmasked pin.
    PinAsserted,
    /// An RTE write (typically an unmask) found an asserted level pin with
    /// Remote IRR clear.
    RteWrite,
    /// An EOI cleared Remote IRR while the level line was still asserted.
    Eoi,
}

/// A message the IO-APIC sends now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Delivery {
    /// The input pin.
    pub pin: u8,
    /// The compatibility-format message ([`RedirectionEntry::to_msi`]).
    pub message: MsiMessage,
    /// RTE vector.
    pub vector: u8,
    /// RTE destination (bits 63:56).
    pub destination: u8,
    /// RTE trigger mode.
    pub trigger: Trigger,
    /// What caused it.
    pub cause: DeliveryCause,
}

/// Per-pin event counts since construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct PinCounters {
    /// Messages sent (all causes).
    pub deliveries: u64,
    /// Of those, re-deliveries by an EOI on a still-asserted level line.
    pub eoi_redeliveries: u64,
    /// Level assertions on an unmasked pin while Remote IRR = 1: nothing was
    /// sent, the interrupt collapsed into the one in service.
    pub coalesced_remote_irr: u64,
    /// Rising edges (edge) or assertions (level) on a masked pin: nothing
    /// sent; an edge is lost, a level stays asserted.
    pub ignored_masked: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PinState {
    /// The raw RTE.
    rte: u64,
    /// Logical input level.
    asserted: bool,
    counters: PinCounters,
}

impl Default for PinState {
    fn default() -> Self {
        Self { rte: field::RESET, asserted: false, counters: PinCounters::default() }
    }
}

/// One IO-APIC: register file and pin state machine (§4.3).
///
/// Out of reset: ID 0, IOREGSEL 0, every RTE masked with all other bits 0,
/// every input deasserted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IoApic {
    pins: Vec<PinState>,
    id: u8,
    ioregsel: u8,
}

impl Default for IoApic {
    /// 24 pins ([`reg::DEFAULT_PINS`]).
    fn default() -> Self {
        Self { pins: vec![PinState::default(); reg::DEFAULT_PINS], id: 0, ioregsel: 0 }
    }
}

impl IoApic {
    /// An IO-APIC with `pins` inputs (1..=120).
    pub fn new(pins: usize) -> Result<Self, IoApicError> {
        if !(1..=reg::MAX_PINS).contains(&pins) {
            return Err(IoApicError::BadPinCount(pins));
        }
        Ok(Self { pins: vec![PinState::default(); pins], ..Self::default() })
    }

    /// N, the number of pins.
    pub fn pin_count(&self) -> usize {
        self.pins.len()
    }

    /// IOAPIC ID (bits 27:24 of the ID register).
    pub fn id(&self) -> u8 {
        self.id
    }

    /// The version register: version 0x20 in bits 7:0, N − 1 in 23:16.
    pub fn version_register(&self) -> u32 {
        // 1..=120 pins by construction, so N − 1 fits in 8 bits.
        let max_entry = u32::try_from(self.pins.len() - 1).unwrap_or(0);
        reg::VERSION | (max_entry << reg::VERSION_MAX_ENTRY_SHIFT)
    }

    fn index(&self, pin: u8) -> Result<usize, IoApicError> {
        let i = usize::from(pin);
        if i < self.pins.len() { Ok(i) } else { Err(IoApicError::PinOutOfRange { pin, pins: self.pins.len() }) }
    }

    /// Entry `pin` as software reads it (Remote IRR and Delivery Status
    /// included).
    pub fn rte(&self, pin: u8) -> Result<RedirectionEntry, IoApicError> {
        let i = self.index(pin)?;
        Ok(RedirectionEntry::decode(self.pins[i].rte))
    }

    /// Whether `pin`'s input is asserted.
    pub fn asserted(&self, pin: u8) -> Result<bool, IoApicError> {
        let i = self.index(pin)?;
        Ok(self.pins[i].asserted)
    }

    /// Remote IRR of `pin`: a level interrupt was sent and not yet EOI'd.
    pub fn remote_irr(&self, pin: u8) -> Result<bool, IoApicError> {
        Ok(self.rte(pin)?.remote_irr)
    }

    /// Event counts of `pin`.
    pub fn counters(&self, pin: u8) -> Result<PinCounters, IoApicError> {
        let i = self.index(pin)?;
        Ok(self.pins[i].counters)
    }

    /// Software writes a whole entry. Remote IRR and Delivery Status keep
    /// their current values (read-only); an edge entry's Remote IRR is
    /// cleared (QEMU `ioapic_fix_edge_remote_irr`, which Linux relies on to
    /// unstick a level entry by flipping it to edge and back). Then the pin
    /// is re-serviced: an asserted, unmasked level pin with Remote IRR clear
    /// delivers now. QEMU re-services every pin after an RTE write; only the
    /// written pin can have changed, because no other pin is ever left
    /// asserted, unmasked and with Remote IRR clear without having been sent
    /// (a property test checks that). A `Vec` like every register write, so
    /// MMIO and direct writes look alike; it holds at most one delivery.
    pub fn write_rte(&mut self, pin: u8, entry: RedirectionEntry) -> Result<Vec<Delivery>, IoApicError> {
        let i = self.index(pin)?;
        Ok(self.write_raw(i, entry.encode()).into_iter().collect())
    }

    /// Read-modify-write of `pin`'s mask bit (what Linux's IO-APIC
    /// `irq_chip` `mask`/`unmask` do). Unmasking a still-asserted level pin
    /// with Remote IRR clear delivers.
    pub fn set_masked(&mut self, pin: u8, masked: bool) -> Result<Option<Delivery>, IoApicError> {
        let i = self.index(pin)?;
        let rte = self.pins[i].rte;
        let raw = if masked { rte | field::MASK } else { rte & !field::MASK };
        Ok(self.write_raw(i, raw))
    }

    fn write_raw(&mut self, i: usize, raw: u64) -> Option<Delivery> {
        let state = &mut self.pins[i];
        let mut rte = (raw & !field::RO_BITS) | (state.rte & field::RO_BITS);
        if rte & field::TRIGGER_LEVEL == 0 {
            rte &= !field::REMOTE_IRR;
        }
        state.rte = rte;
        self.service_level(i, DeliveryCause::RteWrite)
    }

    /// A level pin that is asserted, unmasked and has Remote IRR clear
    /// delivers (QEMU `ioapic_service` for one pin). Edge pins hold nothing
    /// pending, so there is nothing to service for them.
    fn service_level(&mut self, i: usize, cause: DeliveryCause) -> Option<Delivery> {
        let state = &self.pins[i];
        let rte = state.rte;
        let ready =
            rte & field::TRIGGER_LEVEL != 0 && rte & field::MASK == 0 && rte & field::REMOTE_IRR == 0 && state.asserted;
        ready.then(|| self.deliver(i, cause))
    }

    /// Send pin `i`'s message; a level entry sets Remote IRR.
    fn deliver(&mut self, i: usize, cause: DeliveryCause) -> Delivery {
        let state = &mut self.pins[i];
        if state.rte & field::TRIGGER_LEVEL != 0 {
            state.rte |= field::REMOTE_IRR;
        }
        state.counters.deliveries += 1;
        if cause == DeliveryCause::Eoi {
            state.counters.eoi_redeliveries += 1;
        }
        let entry = RedirectionEntry::decode(state.rte);
        Delivery {
            // Fewer than 256 pins by construction.
            pin: u8::try_from(i).unwrap_or(u8::MAX),
            message: entry.to_msi(),
            vector: entry.vector,
            destination: entry.destination,
            trigger: entry.trigger,
            cause,
        }
    }

    /// The device drives `pin`'s input (`asserted` is the logical level).
    ///
    /// Edge entry: a deasserted → asserted transition on an unmasked pin
    /// delivers once; on a masked pin it is lost (counted in
    /// `ignored_masked`); no transition, no event. Level entry: an assertion
    /// on an unmasked pin with Remote IRR clear delivers and sets Remote IRR;
    /// with Remote IRR set it does nothing (`coalesced_remote_irr`); on a
    /// masked pin it does nothing (`ignored_masked`) but the input stays
    /// asserted for a later unmask or EOI. Each assertion call counts, even
    /// if the input was already asserted (QEMU `ioapic_set_irq`).
    pub fn set_pin_level(&mut self, pin: u8, asserted: bool) -> Result<Option<Delivery>, IoApicError> {
        let i = self.index(pin)?;
        let state = &mut self.pins[i];
        let was = std::mem::replace(&mut state.asserted, asserted);
        if !asserted {
            return Ok(None);
        }
        let rte = state.rte;
        let masked = rte & field::MASK != 0;
        if rte & field::TRIGGER_LEVEL == 0 {
            if was {
                return Ok(None);
            }
            if masked {
                state.counters.ignored_masked += 1;
                return Ok(None);
            }
            return Ok(Some(self.deliver(i, DeliveryCause::PinAsserted)));
        }
        if masked {
            state.counters.ignored_masked += 1;
            Ok(None)
        } else if rte & field::REMOTE_IRR != 0 {
            state.counters.coalesced_remote_irr += 1;
            Ok(None)
        } else {
            Ok(Some(self.deliver(i, DeliveryCause::PinAsserted)))
        }
    }

    /// An EOI for `vector`: the local APIC's broadcast (§4.2) or a directed
    /// write to the EOI register. Clears Remote IRR of every level entry
    /// with that vector that has it set; each such pin that is still
    /// asserted and unmasked delivers again at once (QEMU
    /// `ioapic_eoi_broadcast`). Returns the re-deliveries in pin order.
    #[must_use = "the returned deliveries are messages the IO-APIC sends"]
    pub fn eoi(&mut self, vector: u8) -> Vec<Delivery> {
        let mut sent = Vec::new();
        for i in 0..self.pins.len() {
            let rte = self.pins[i].rte;
            let matches = low_byte(rte & field::VECTOR_MASK) == vector
                && rte & field::TRIGGER_LEVEL != 0
                && rte & field::REMOTE_IRR != 0;
            if !matches {
                continue;
            }
            self.pins[i].rte = rte & !field::REMOTE_IRR;
            sent.extend(self.service_level(i, DeliveryCause::Eoi));
        }
        sent
    }

    /// The register at indirect index `index` as IOWIN reads it; indexes
    /// naming nothing (0x03–0x0F, RTEs past N, 0x10 + 2N and up) read 0 as
    /// in QEMU.
    pub fn read_indirect(&self, index: u8) -> u32 {
        match index {
            reg::INDEX_ID => u32::from(self.id) << reg::ID_SHIFT,
            reg::INDEX_VERSION => self.version_register(),
            // Arbitration is not modelled; QEMU reads 0 too.
            reg::INDEX_ARBITRATION => 0,
            _ => match self.rte_half(index) {
                Some((i, true)) => RedirectionEntry::decode(self.pins[i].rte).high(),
                Some((i, false)) => RedirectionEntry::decode(self.pins[i].rte).low(),
                None => 0,
            },
        }
    }

    /// Write `value` to the register at indirect index `index`. Version and
    /// Arbitration are read-only; an RTE half write keeps the other half and
    /// then behaves as [`IoApic::write_rte`]. Indexes naming nothing are
    /// ignored.
    #[must_use = "the returned deliveries are messages the IO-APIC sends"]
    pub fn write_indirect(&mut self, index: u8, value: u32) -> Vec<Delivery> {
        if index == reg::INDEX_ID {
            self.id = low_byte(u64::from((value >> reg::ID_SHIFT) & reg::ID_MASK));
            return Vec::new();
        }
        let Some((i, high)) = self.rte_half(index) else {
            return Vec::new();
        };
        let rte = self.pins[i].rte;
        let raw = if high {
            (rte & field::LOW_HALF_MASK) | (u64::from(value) << field::HIGH_HALF_SHIFT)
        } else {
            (rte & !field::LOW_HALF_MASK) | u64::from(value)
        };
        self.write_raw(i, raw).into_iter().collect()
    }

    /// `(pin, is_high_half)` of an RTE index, if it names an existing pin.
    fn rte_half(&self, index: u8) -> Option<(usize, bool)> {
        let offset = index.checked_sub(reg::INDEX_REDTBL_BASE)?;
        let i = usize::from(offset / 2);
        (i < self.pins.len()).then_some((i, offset % 2 == 1))
    }

    /// Current IOREGSEL.
    pub fn ioregsel(&self) -> u8 {
        self.ioregsel
    }

    /// A 32-bit MMIO read at `offset` from the IO-APIC base: IOREGSEL or
    /// IOWIN (the selected register). The EOI register is write-only and
    /// any other offset reads 0.
    pub fn mmio_read(&self, offset: u32) -> u32 {
        match offset {
            reg::IOREGSEL => u32::from(self.ioregsel),
            reg::IOWIN => self.read_indirect(self.ioregsel),
            _ => 0,
        }
    }

    /// A 32-bit MMIO write at `offset`: IOREGSEL keeps bits 7:0; IOWIN
    /// writes the selected register; EOI (0x40) is a directed EOI for
    /// vector bits 7:0. Other offsets are ignored. Returns the messages the
    /// write caused.
    #[must_use = "the returned deliveries are messages the IO-APIC sends"]
    pub fn mmio_write(&mut self, offset: u32, value: u32) -> Vec<Delivery> {
        match offset {
            reg::IOREGSEL => {
                self.ioregsel = low_byte(u64::from(value & reg::IOREGSEL_MASK));
                Vec::new()
            }
            reg::IOWIN => self.write_indirect(self.ioregsel, value),
            reg::EOI => self.eoi(low_byte(u64::from(value & reg::EOI_VECTOR_MASK))),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LEVEL_LOW_0X31: RedirectionEntry = RedirectionEntry::fixed(0x31, 1, Trigger::Level, Polarity::ActiveLow);
    const EDGE_0X41: RedirectionEntry = RedirectionEntry::fixed(0x41, 2, Trigger::Edge, Polarity::ActiveHigh);

    fn apic_with(pin: u8, entry: RedirectionEntry) -> IoApic {
        let mut io = IoApic::default();
        assert!(io.write_rte(pin, entry).unwrap().is_empty());
        io
    }

    #[test]
    fn decodes_a_linux_pci_intx_entry() {
        // 0x0100_0000_0000_A031 by the §4.3 table: 7:0 = 0x31; 10:8 = 000
        // fixed; bit 11 = 0 physical; bit 12 = 0 idle; 0xA0 = 1010_0000 in
        // bits 15:8 → bit 13 = 1 active low, bit 14 = 0 Remote IRR, bit 15 =
        // 1 level; bit 16 = 0 unmasked; 63:56 = 0x01.
        let e = RedirectionEntry::decode(0x0100_0000_0000_A031);
        assert_eq!(e, LEVEL_LOW_0X31);
        assert_eq!(e.encode(), 0x0100_0000_0000_A031);
        assert_eq!((e.low(), e.high()), (0x0000_A031, 0x0100_0000));
        assert!(e.notes().is_empty(), "{:?}", e.notes());
    }

    #[test]
    fn decodes_every_single_bit_field() {
        // vector 0xEC + 001 lowest-priority (0x100) + logical (0x800) +
        // delivery status (0x1000) + Remote IRR (0x4000) + mask (0x1_0000),
        // edge, active high, destination 0xFF: 0xEC + 0x100 + 0x800 + 0x1000
        // + 0x4000 + 0x10000 = 0x159EC.
        let raw = 0xFF00_0000_0001_59EC;
        let e = RedirectionEntry::decode(raw);
        assert_eq!(e.vector, 0xEC);
        assert_eq!(e.delivery_mode, DeliveryMode::LowestPriority);
        assert_eq!(e.destination_mode, DestinationMode::Logical);
        assert_eq!(e.delivery_status, DeliveryStatus::SendPending);
        assert_eq!(e.polarity, Polarity::ActiveHigh);
        assert!(e.remote_irr);
        assert_eq!(e.trigger, Trigger::Edge);
        assert!(e.masked);
        assert_eq!(e.reserved, 0);
        assert_eq!(e.destination, 0xFF);
        assert_eq!(e.encode(), raw);
        assert!(e.notes().iter().any(|n| n.contains("edge entry")));
    }

    #[test]
    fn reset_value_is_masked_and_otherwise_zero() {
        assert_eq!(RedirectionEntry::default().encode(), 0x0000_0000_0001_0000);
        let e = RedirectionEntry::default();
        assert!(e.masked);
        assert_eq!((e.vector, e.destination, e.trigger), (0, 0, Trigger::Edge));
    }

    #[test]
    fn reserved_bits_55_17_are_kept_and_reported() {
        // 0x00AB_0000_0002_0031: bit 17 (0x2_0000) and bits 55:48 = 0xAB
        // (1010_1011, so bit 48 is set) are reserved; vector 0x31.
        let e = RedirectionEntry::decode(0x00AB_0000_0002_0031);
        assert_eq!(e.reserved, 0x00AB_0000_0002_0000);
        assert_eq!(e.vector, 0x31);
        assert_eq!(e.encode(), 0x00AB_0000_0002_0031);
        let notes = e.notes();
        assert!(notes.iter().any(|n| n.contains("bit 48")), "{notes:?}");
        assert!(notes.iter().any(|n| n.contains("55:17")), "{notes:?}");
    }

    #[test]
    fn illegal_vectors_and_non_irr_modes_are_noted() {
        let low = RedirectionEntry::fixed(0x0F, 0, Trigger::Edge, Polarity::ActiveHigh);
        assert!(low.notes().iter().any(|n| n.contains("0x10-0xfe")));
        let ff = RedirectionEntry::fixed(0xFF, 0, Trigger::Edge, Polarity::ActiveHigh);
        assert!(ff.notes().iter().any(|n| n.contains("0x10-0xfe")));
        // 100 in bits 10:8 = NMI; the vector is ignored for NMI.
        let nmi = RedirectionEntry::decode(0x0400);
        assert_eq!(nmi.delivery_mode, DeliveryMode::Nmi);
        assert!(nmi.notes().iter().any(|n| n.contains("must not EOI")));
        assert!(!nmi.notes().iter().any(|n| n.contains("0x10-0xfe")));
        // 011 in bits 10:8 is reserved.
        assert!(RedirectionEntry::decode(0x0331).notes().iter().any(|n| n.contains("reserved")));
    }

    #[test]
    fn to_msi_is_the_compatibility_format_message() {
        // Dest 1 → address 0xFEE0_0000 | 1 << 12 = 0xFEE0_1000; data = vector
        // 0x31 | level (bit 15) | assert (bit 14) = 0xC031.
        assert_eq!(LEVEL_LOW_0X31.to_msi(), MsiMessage::new(0xFEE0_1000, 0x0000_C031));
        // Edge, dest 2: 0xFEE0_2000, data 0x41 (level bit clear).
        assert_eq!(EDGE_0X41.to_msi(), MsiMessage::new(0xFEE0_2000, 0x0000_0041));
        // Logical dest 0x0F, lowest priority: address 0xFEE0_F000 | DM (bit 2)
        // = 0xFEE0_F004; data 0x41 | 001 << 8 = 0x0141. Reserved and RO bits
        // do not travel.
        let e = RedirectionEntry {
            delivery_mode: DeliveryMode::LowestPriority,
            destination_mode: DestinationMode::Logical,
            destination: 0x0F,
            reserved: 0x00AB_0000_0000_0000,
            remote_irr: true,
            ..EDGE_0X41
        };
        let m = e.to_msi();
        assert_eq!(m, MsiMessage::new(0xFEE0_F004, 0x0000_0141));
        let d = m.decode().unwrap();
        assert_eq!((d.address.destination_id, d.data.vector), (0x0F, 0x41));
    }

    #[test]
    fn fields_name_every_decoded_field() {
        // 0x00AB_0000_0002_A031: the PCI INTx entry above to dest 0 with
        // reserved bits 55:48 = 0xAB and bit 17 set.
        let e = RedirectionEntry::decode(0x00AB_0000_0002_A031);
        let fields = e.fields();
        let get = |k: &str| fields.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
        assert_eq!(get("rte").as_deref(), Some("0x00ab00000002a031"));
        assert_eq!(get("low").as_deref(), Some("0x0002a031"));
        assert_eq!(get("high").as_deref(), Some("0x00ab0000"));
        assert_eq!(get("vector").as_deref(), Some("0x31 (49)"));
        assert_eq!(get("delivery_mode").as_deref(), Some("fixed"));
        assert_eq!(get("destination_mode").as_deref(), Some("physical"));
        assert_eq!(get("delivery_status").as_deref(), Some("idle"));
        assert_eq!(get("polarity").as_deref(), Some("active-low"));
        assert_eq!(get("remote_irr").as_deref(), Some("false"));
        assert_eq!(get("trigger").as_deref(), Some("level"));
        assert_eq!(get("masked").as_deref(), Some("false"));
        assert_eq!(get("reserved").as_deref(), Some("0x00ab000000020000"));
        assert_eq!(get("destination").as_deref(), Some("0x00 (0)"));
        assert_eq!(fields.iter().filter(|(n, _)| *n != "note").count(), 13);
        assert_eq!(fields.iter().filter(|(n, _)| *n == "note").count(), e.notes().len());
    }

    #[test]
    fn out_of_reset_24_masked_pins_and_version_0x20() {
        let mut io = IoApic::default();
        assert_eq!(io.pin_count(), 24);
        for pin in 0..24 {
            assert_eq!(io.rte(pin).unwrap().encode(), field::RESET);
            assert!(!io.asserted(pin).unwrap());
        }
        // Version 0x20 in 7:0, 24 − 1 = 0x17 in 23:16 → 0x0017_0020.
        assert!(io.mmio_write(reg::IOREGSEL, u32::from(reg::INDEX_VERSION)).is_empty());
        assert_eq!(io.mmio_read(reg::IOWIN), 0x0017_0020);
        // 120 pins → max entry 119 = 0x77.
        assert_eq!(IoApic::new(120).unwrap().version_register(), 0x0077_0020);
        assert_eq!(IoApic::new(0), Err(IoApicError::BadPinCount(0)));
        assert_eq!(IoApic::new(121), Err(IoApicError::BadPinCount(121)));
    }

    #[test]
    fn edge_rising_edge_on_unmasked_pin_delivers_once() {
        let mut io = apic_with(3, EDGE_0X41);
        let d = io.set_pin_level(3, true).unwrap().expect("rising edge delivers");
        assert_eq!(d.pin, 3);
        assert_eq!(d.message, EDGE_0X41.to_msi());
        assert_eq!((d.vector, d.destination, d.trigger), (0x41, 2, Trigger::Edge));
        assert_eq!(d.cause, DeliveryCause::PinAsserted);
        // Holding the line is not another edge; edges never set Remote IRR.
        assert_eq!(io.set_pin_level(3, true).unwrap(), None);
        assert!(!io.remote_irr(3).unwrap());
        assert_eq!(io.set_pin_level(3, false).unwrap(), None);
        assert!(io.set_pin_level(3, true).unwrap().is_some());
        assert_eq!(io.counters(3).unwrap().deliveries, 2);
        // An EOI for the vector does nothing to an edge entry.
        assert!(io.eoi(0x41).is_empty());
    }

    #[test]
    fn edge_on_masked_pin_is_lost_not_held_pending() {
        let mut io = apic_with(3, RedirectionEntry { masked: true, ..EDGE_0X41 });
        assert_eq!(io.set_pin_level(3, true).unwrap(), None);
        assert_eq!(io.counters(3).unwrap().ignored_masked, 1);
        // Unmasking with the line still high does not replay the edge.
        assert_eq!(io.set_masked(3, false).unwrap(), None);
        assert_eq!(io.counters(3).unwrap().deliveries, 0);
        // Only a new rising edge delivers.
        io.set_pin_level(3, false).unwrap();
        assert!(io.set_pin_level(3, true).unwrap().is_some());
    }

    #[test]
    fn level_assert_delivers_sets_remote_irr_and_coalesces_until_eoi() {
        let mut io = apic_with(5, LEVEL_LOW_0X31);
        let d = io.set_pin_level(5, true).unwrap().expect("delivers");
        assert_eq!(d.message, MsiMessage::new(0xFEE0_1000, 0x0000_C031));
        assert!(io.remote_irr(5).unwrap());
        assert!(io.rte(5).unwrap().remote_irr);
        // Further assertions while Remote IRR = 1 send nothing.
        assert_eq!(io.set_pin_level(5, true).unwrap(), None);
        assert_eq!(io.set_pin_level(5, true).unwrap(), None);
        assert_eq!(io.counters(5).unwrap().coalesced_remote_irr, 2);
        // Deassert: Remote IRR stays until the EOI.
        io.set_pin_level(5, false).unwrap();
        assert!(io.remote_irr(5).unwrap());
        assert!(io.eoi(0x31).is_empty(), "line deasserted: no re-delivery");
        assert!(!io.remote_irr(5).unwrap());
        assert!(io.set_pin_level(5, true).unwrap().is_some());
        assert_eq!(io.counters(5).unwrap().deliveries, 2);
    }

    #[test]
    fn eoi_with_line_still_asserted_redelivers_immediately() {
        let mut io = apic_with(5, LEVEL_LOW_0X31);
        io.set_pin_level(5, true).unwrap().unwrap();
        // Wrong vector: nothing.
        assert!(io.eoi(0x32).is_empty());
        assert!(io.remote_irr(5).unwrap());
        let again = io.eoi(0x31);
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].pin, 5);
        assert_eq!(again[0].cause, DeliveryCause::Eoi);
        assert!(io.remote_irr(5).unwrap(), "the re-delivery sets Remote IRR again");
        let c = io.counters(5).unwrap();
        assert_eq!((c.deliveries, c.eoi_redeliveries), (2, 1));
    }

    #[test]
    fn eoi_clears_every_level_entry_with_the_vector_and_no_edge_entry() {
        let mut io = IoApic::default();
        io.write_rte(1, LEVEL_LOW_0X31).unwrap();
        io.write_rte(2, LEVEL_LOW_0X31).unwrap();
        io.write_rte(3, RedirectionEntry { trigger: Trigger::Edge, ..LEVEL_LOW_0X31 }).unwrap();
        for pin in 1..=3 {
            assert!(io.set_pin_level(pin, true).unwrap().is_some());
        }
        io.set_pin_level(1, false).unwrap();
        // Pin 1 deasserted: cleared, silent. Pin 2 asserted: re-delivered.
        let sent = io.eoi(0x31);
        assert_eq!(sent.iter().map(|d| d.pin).collect::<Vec<_>>(), [2]);
        assert!(!io.remote_irr(1).unwrap());
        assert!(io.remote_irr(2).unwrap());
        assert!(!io.remote_irr(3).unwrap());
    }

    #[test]
    fn level_assert_on_masked_pin_is_ignored_but_unmask_delivers() {
        let mut io = apic_with(7, RedirectionEntry { masked: true, ..LEVEL_LOW_0X31 });
        assert_eq!(io.set_pin_level(7, true).unwrap(), None);
        assert_eq!(io.counters(7).unwrap().ignored_masked, 1);
        assert!(io.asserted(7).unwrap());
        assert!(!io.remote_irr(7).unwrap());
        let d = io.set_masked(7, false).unwrap().expect("unmasking an asserted level pin delivers");
        assert_eq!(d.cause, DeliveryCause::RteWrite);
        assert!(io.remote_irr(7).unwrap());
        // A pin deasserted while masked has nothing to deliver on unmask.
        let mut io = apic_with(7, RedirectionEntry { masked: true, ..LEVEL_LOW_0X31 });
        io.set_pin_level(7, true).unwrap();
        io.set_pin_level(7, false).unwrap();
        assert_eq!(io.set_masked(7, false).unwrap(), None);
    }

    #[test]
    fn masking_after_delivery_keeps_remote_irr_and_eoi_while_masked_waits_for_unmask() {
        let mut io = apic_with(4, LEVEL_LOW_0X31);
        io.set_pin_level(4, true).unwrap().unwrap();
        assert_eq!(io.set_masked(4, true).unwrap(), None);
        assert!(io.remote_irr(4).unwrap(), "masking does not recall an accepted interrupt");
        assert!(io.eoi(0x31).is_empty(), "masked: cleared but not re-delivered");
        assert!(!io.remote_irr(4).unwrap());
        assert!(io.set_masked(4, false).unwrap().is_some());
    }

    #[test]
    fn remote_irr_and_delivery_status_are_read_only() {
        let mut io = IoApic::default();
        let forged =
            RedirectionEntry { remote_irr: true, delivery_status: DeliveryStatus::SendPending, ..LEVEL_LOW_0X31 };
        io.write_rte(0, forged).unwrap();
        let e = io.rte(0).unwrap();
        assert!(!e.remote_irr);
        assert_eq!(e.delivery_status, DeliveryStatus::Idle);
        // Once set by a delivery, rewriting the entry with the bit clear
        // does not clear it either (still level).
        io.set_pin_level(0, true).unwrap().unwrap();
        assert!(io.write_rte(0, RedirectionEntry { destination: 9, ..LEVEL_LOW_0X31 }).unwrap().is_empty());
        assert!(io.remote_irr(0).unwrap());
        assert_eq!(io.rte(0).unwrap().destination, 9);
    }

    #[test]
    fn flipping_to_edge_clears_a_stuck_remote_irr() {
        // Linux's workaround, modelled by QEMU's ioapic_fix_edge_remote_irr.
        let mut io = apic_with(2, LEVEL_LOW_0X31);
        io.set_pin_level(2, true).unwrap().unwrap();
        let edge = RedirectionEntry { trigger: Trigger::Edge, masked: true, ..LEVEL_LOW_0X31 };
        assert!(io.write_rte(2, edge).unwrap().is_empty());
        assert!(!io.remote_irr(2).unwrap());
        // Back to level and unmasked with the line still asserted: the
        // re-service delivers at once.
        let sent = io.write_rte(2, LEVEL_LOW_0X31).unwrap();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].cause, DeliveryCause::RteWrite);
    }

    #[test]
    fn mmio_indirect_access_to_rte_halves_id_and_eoi() {
        let mut io = IoApic::default();
        // RTE 5 lives at index 0x10 + 2·5 = 0x1A (low) and 0x1B (high).
        assert!(io.mmio_write(reg::IOREGSEL, 0x1B).is_empty());
        assert!(io.mmio_write(reg::IOWIN, 0x0100_0000).is_empty());
        assert!(io.mmio_write(reg::IOREGSEL, 0x1A).is_empty());
        assert!(io.mmio_write(reg::IOWIN, 0x0000_A031).is_empty());
        assert_eq!(io.rte(5).unwrap(), LEVEL_LOW_0X31);
        assert_eq!(io.mmio_read(reg::IOWIN), 0x0000_A031);
        assert_eq!(io.mmio_read(reg::IOREGSEL), 0x1A);
        io.set_pin_level(5, true).unwrap().unwrap();
        // Remote IRR (bit 14 = 0x4000) shows through IOWIN.
        assert_eq!(io.mmio_read(reg::IOWIN), 0x0000_E031);
        // Directed EOI through the EOI register: only bits 7:0 count.
        let sent = io.mmio_write(reg::EOI, 0xFFFF_FF31);
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].cause, DeliveryCause::Eoi);
        // ID: bits 27:24 writable, the rest dropped.
        assert!(io.mmio_write(reg::IOREGSEL, u32::from(reg::INDEX_ID)).is_empty());
        assert!(io.mmio_write(reg::IOWIN, 0xFFFF_FFFF).is_empty());
        assert_eq!(io.mmio_read(reg::IOWIN), 0x0F00_0000);
        assert_eq!(io.id(), 0x0F);
        // Version is read-only; arbitration reads 0.
        assert!(io.mmio_write(reg::IOREGSEL, u32::from(reg::INDEX_VERSION)).is_empty());
        assert!(io.mmio_write(reg::IOWIN, 0).is_empty());
        assert_eq!(io.mmio_read(reg::IOWIN), 0x0017_0020);
        assert!(io.mmio_write(reg::IOREGSEL, u32::from(reg::INDEX_ARBITRATION)).is_empty());
        assert_eq!(io.mmio_read(reg::IOWIN), 0);
        // IOREGSEL keeps bits 7:0 only.
        assert!(io.mmio_write(reg::IOREGSEL, 0x1234_5610).is_empty());
        assert_eq!(io.ioregsel(), 0x10);
    }

    #[test]
    fn out_of_range_pins_indexes_and_offsets_are_errors_or_ignored() {
        let mut io = IoApic::default();
        let e = Err(IoApicError::PinOutOfRange { pin: 24, pins: 24 });
        assert_eq!(io.set_pin_level(24, true), e.map(|()| None));
        assert_eq!(io.rte(24), e.map(|()| RedirectionEntry::default()));
        assert_eq!(io.write_rte(24, LEVEL_LOW_0X31), e.map(|()| Vec::new()));
        assert_eq!(io.set_masked(255, false).unwrap_err(), IoApicError::PinOutOfRange { pin: 255, pins: 24 });
        assert!(io.asserted(24).is_err());
        assert!(io.remote_irr(24).is_err());
        assert!(io.counters(24).is_err());
        // RTE 24 would be index 0x40/0x41: past the table, reads 0, writes
        // ignored; so are 0x03–0x0F and 0xFF.
        for index in [0x03, 0x0F, 0x40, 0x41, 0xFF] {
            assert!(io.write_indirect(index, u32::MAX).is_empty());
            assert_eq!(io.read_indirect(index), 0);
        }
        // Offsets other than 0x00, 0x10, 0x40 do nothing; EOI reads 0.
        let before = io.clone();
        for offset in [0x04, 0x20, 0x30, 0x44, 0xFFF, u32::MAX] {
            assert!(io.mmio_write(offset, u32::MAX).is_empty());
            assert_eq!(io.mmio_read(offset), 0);
        }
        assert_eq!(io, before);
        assert_eq!(io.mmio_read(reg::EOI), 0);
    }

    /// One step of the random-sequence property test.
    #[derive(Debug, Clone)]
    enum Op {
        Level(u8, bool),
        Mask(u8, bool),
        MaskViaIowin(u8, bool),
        Eoi(u8),
        EoiRegister(u8),
    }

    const PROP_PINS: u8 = 4;
    /// Pins 0–2 are level (1 and 2 share vector 0x31), pin 3 is edge.
    fn prop_entry(pin: u8) -> RedirectionEntry {
        match pin {
            0 => RedirectionEntry::fixed(0x30, 0, Trigger::Level, Polarity::ActiveLow),
            1 | 2 => RedirectionEntry::fixed(0x31, pin, Trigger::Level, Polarity::ActiveLow),
            _ => RedirectionEntry::fixed(0x32, 3, Trigger::Edge, Polarity::ActiveHigh),
        }
    }

    fn op_strategy() -> impl Strategy<Value = Op> {
        let pin = 0..PROP_PINS;
        let vector = 0x2Fu8..0x34;
        prop_oneof![
            4 => (pin.clone(), any::<bool>()).prop_map(|(p, l)| Op::Level(p, l)),
            2 => (pin.clone(), any::<bool>()).prop_map(|(p, m)| Op::Mask(p, m)),
            1 => (pin, any::<bool>()).prop_map(|(p, m)| Op::MaskViaIowin(p, m)),
            2 => vector.clone().prop_map(Op::Eoi),
            1 => vector.prop_map(Op::EoiRegister),
        ]
    }

    proptest! {
        #[test]
        fn every_u64_round_trips(raw in any::<u64>()) {
            let e = RedirectionEntry::decode(raw);
            prop_assert_eq!(e.encode(), raw);
            prop_assert_eq!((u64::from(e.high()) << 32) | u64::from(e.low()), raw);
        }

        #[test]
        fn level_pin_never_delivers_twice_without_an_intervening_eoi(
            ops in proptest::collection::vec(op_strategy(), 0..300),
        ) {
            let mut io = IoApic::new(usize::from(PROP_PINS)).unwrap();
            for pin in 0..PROP_PINS {
                prop_assert!(io.write_rte(pin, prop_entry(pin)).unwrap().is_empty());
            }
            // owed[p]: pin p delivered a level interrupt not yet EOI'd.
            let mut owed = [false; PROP_PINS as usize];
            for op in ops {
                let before: Vec<bool> = (0..PROP_PINS).map(|p| io.asserted(p).unwrap()).collect();
                let sent: Vec<Delivery> = match op {
                    Op::Level(p, l) => io.set_pin_level(p, l).unwrap().into_iter().collect(),
                    Op::Mask(p, m) => io.set_masked(p, m).unwrap().into_iter().collect(),
                    Op::MaskViaIowin(p, m) => {
                        let low = RedirectionEntry { masked: m, ..prop_entry(p) }.low();
                        assert!(io.mmio_write(reg::IOREGSEL, u32::from(reg::INDEX_REDTBL_BASE + 2 * p)).is_empty());
                        io.mmio_write(reg::IOWIN, low)
                    }
                    Op::Eoi(v) | Op::EoiRegister(v) => {
                        for p in 0..PROP_PINS {
                            if prop_entry(p).vector == v {
                                owed[usize::from(p)] = false;
                            }
                        }
                        if matches!(op, Op::Eoi(_)) { io.eoi(v) } else { io.mmio_write(reg::EOI, u32::from(v)) }
                    }
                };
                for d in &sent {
                    let p = usize::from(d.pin);
                    let e = io.rte(d.pin).unwrap();
                    prop_assert!(io.asserted(d.pin).unwrap(), "delivered from a deasserted pin");
                    prop_assert!(!e.masked, "delivered from a masked pin");
                    prop_assert_eq!(d.message, prop_entry(d.pin).to_msi());
                    if e.trigger == Trigger::Level {
                        prop_assert!(!owed[p], "pin {} delivered twice without an EOI", p);
                        owed[p] = true;
                    } else {
                        prop_assert!(matches!(op, Op::Level(q, true) if q == d.pin) && !before[p],
                            "edge pin delivered without a rising edge");
                    }
                }
                for p in 0..PROP_PINS {
                    prop_assert_eq!(io.remote_irr(p).unwrap(), owed[usize::from(p)]);
                    // No level pin is left ready-but-undelivered.
                    let e = io.rte(p).unwrap();
                    let ready = e.trigger == Trigger::Level && !e.masked && !e.remote_irr;
                    prop_assert!(!(ready && io.asserted(p).unwrap()), "pin {} stuck pending", p);
                }
            }
        }

        #[test]
        fn arbitrary_mmio_never_panics_or_sets_read_only_bits(
            writes in proptest::collection::vec((0u32..0x50, any::<u32>()), 0..200),
            pins in 1usize..=reg::MAX_PINS,
        ) {
            let mut io = IoApic::new(pins).unwrap();
            for (offset, value) in writes {
                // No input is asserted, so nothing can be sent.
                prop_assert!(io.mmio_write(offset, value).is_empty());
                let _ = io.mmio_read(offset);
            }
            for pin in 0..pins {
                let e = io.rte(u8::try_from(pin).unwrap()).unwrap();
                prop_assert!(!e.remote_irr);
                prop_assert_eq!(e.delivery_status, DeliveryStatus::Idle);
            }
        }
    }
}
