//! irqlab-hw: the wire layer of irqlab's interrupt fabric.
//!
//! Bit-exact formats with encode/decode, and register-level state machines
//! with no notion of time, for the path a received packet's interrupt takes
//! (docs/sources.md):
//!
//! * [`rss`] — Toeplitz hash, hash-input tuples, indirection table (§1);
//! * [`msix`] — MSI-X capability words, table entries, and a function's
//!   table/PBA masking state machine (§2);
//! * [`msi`] — the x86 compatibility-format MSI address/data (§3.1);
//! * [`lapic`] — local APIC IRR/ISR/TMR, priorities, acknowledge and EOI
//!   (§4.1–4.2);
//! * [`ioapic`] — IO-APIC redirection entries, register file, and the
//!   edge/level pin state machine with Remote IRR and EOI (§4.3);
//! * [`txdesc`] — the 16-byte TX descriptor (e1000 legacy layout plus a
//!   generation bit), its two 64-bit words and the DD write-back;
//! * [`hex`] — parsing of hex text for the above (no hardware).
//!
//! Nothing here simulates time or does I/O; the `model` crate owns the
//! behaviour that uses these pieces. Decoders of user-supplied values return
//! `Result` and never panic. Printable decoded types implement `Serialize`
//! and offer `fields()` as `(name, value)` pairs whose names match the JSON
//! keys.
//!
//! Left out (for now): VT-d remappable MSI and IRTEs (§3.2, §5), posted
//! interrupts, and DMA remapping.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod hex;
pub mod ioapic;
pub mod lapic;
pub mod msi;
pub mod msix;
pub mod rss;
pub mod txdesc;

pub use ioapic::{
    Delivery, DeliveryCause, DeliveryStatus, IoApic, IoApicError, PinCounters, Polarity, RedirectionEntry,
};
pub use lapic::{AcceptOutcome, EoiOutcome, LapicError, LocalApic};
pub use msi::{DecodedMsi, DeliveryMode, DestinationMode, MsiAddress, MsiData, MsiError, MsiMessage, Trigger};
pub use msix::{
    EntryWrite, MessageControl, MsixEntry, MsixError, MsixFunction, NotifyOutcome, OffsetBir, RewriteStatus,
    parse_hex_entry,
};
pub use rss::{
    MICROSOFT_KEY, Reta, RssError, RssKey, RssTuple, SYMMETRIC_KEY, TupleKind, parse_endpoint, parse_key_hex,
    toeplitz_hash,
};
