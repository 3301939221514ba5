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
//! * [`vtd`] — Intel VT-d, legacy mode: remappable MSI and IO-APIC RTEs
//!   (§3.2), interrupt-remapping table entries, remapped and posted, with
//!   source-id validation (§5.1), root/context entries, second-level page
//!   tables and their walk, the fault recording register and fault
//!   reasons, and the fault/invalidation registers and queued-invalidation
//!   descriptors (§6), and the posted-interrupt descriptor with its posting sequence (§5.2)
//!   and KVM's handling of it for running, blocked and preempted vCPUs (§5.4);
//! * [`vapic`] — the virtual APIC of an APICv guest: virtual-interrupt
//!   delivery, EOI virtualization, posted-interrupt processing (§5.3);
//! * [`vmx`] — VM-exit basic reasons;
//! * [`hex`] — parsing of hex text for the above (no hardware).
//!
//! Nothing here simulates time or does I/O; the `model` crate owns the
//! behaviour that uses these pieces. Decoders of user-supplied values return
//! `Result` and never panic. Printable decoded types implement `Serialize`
//! and offer `fields()` as `(name, value)` pairs whose names match the JSON
//! keys.
//!
//! Left out (for now): the posted-interrupt descriptor and the CPU side of
//! posting (§5.2–5.4), VT-d scalable mode, and AMD-Vi.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod hex;
pub mod ioapic;
pub mod lapic;
pub mod msi;
pub mod msix;
pub mod rss;
pub mod txdesc;
pub mod vapic;
pub mod vmx;
pub mod vtd;

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
    MICROSOFT_KEY, Reta, RssError, RssKey, RssTuple, SYMMETRIC_KEY, ToeplitzTable, TupleKind, parse_endpoint,
    parse_key_hex, toeplitz_hash,
};
pub use vtd::{
    ContextEntry, FaultReason, FaultRecord, InvDesc, Irte, PostedIrte, RemapMsiError, RemappableMsi, RemappedIrte,
    RootEntry, SlPte, SourceValidation, TranslationType, Walk, WalkFault,
};
