//! The posted-interrupt descriptor (64 bytes, 64-byte aligned): the
//! memory both VT-d posting hardware and the CPU's posted-interrupt
//! processing work on.
//!
//! Models docs/sources.md §5.2, with Linux `arch/x86/include/asm/posted_intr.h`
//! (`struct pi_desc`: `pir[8]` u32, then `control`: ON bit 0, SN bit 1, NV
//! bits 23:16, NDST bits 63:32) and Xen `docs/misc/vtd-pi.txt` as the
//! executable descriptions. Bit 0 is bit 0 of the descriptor's first byte:
//!
//! | Bits | Field |
//! |---|---|
//! | 255:0 | PIR — posted-interrupt requests, one bit per vector |
//! | 256 | ON — outstanding notification |
//! | 257 | SN — suppress notification (for non-urgent requests) |
//! | 271:258 | reserved |
//! | 279:272 | NV — notification vector |
//! | 287:280 | reserved |
//! | 319:288 | NDST — notification destination: an x2APIC ID, or in xAPIC mode the APIC ID in bits 15:8 (KVM writes `(dest << 8) & 0xFF00`) |
//! | 511:320 | reserved / software |
//!
//! The behaviour both sides apply to it:
//!
//! * [`PostedInterruptDescriptor::post`] — the remapping hardware's posting
//!   of a request through a posted IRTE (§5.2): set `PIR[vector]`; then if
//!   `ON` is clear and (`URG` or not `SN`), set `ON` and notify `NV` at
//!   `NDST`, else send nothing. KVM's software posting
//!   (`vmx_deliver_posted_interrupt`) differs: see
//!   [`post_software`](PostedInterruptDescriptor::post_software).
//! * [`PostedInterruptDescriptor::take_pir`] — the receiver's side (SDM
//!   posted-interrupt processing, KVM `vmx_sync_pir_to_irr`, Linux's
//!   `handle_pending_pir`): take every PIR bit, clearing them.
//!
//! Decoding never panics and never drops bits: the reserved fields are
//! kept in place, so `encode(decode(x)) == x`.

use serde::Serialize;
use serde::ser::SerializeStruct;

/// Bit positions within the descriptor's control word (bits 319:256, the
/// fifth 64-bit word; Linux `pi_desc.control`).
pub mod field {
    /// ON: bit 256 (control bit 0).
    pub const ON: u64 = 1;
    /// SN: bit 257 (control bit 1).
    pub const SN: u64 = 1 << 1;
    /// NV: bits 279:272 (control bits 23:16).
    pub const NV_SHIFT: u32 = 16;
    /// NDST: bits 319:288 (control bits 63:32).
    pub const NDST_SHIFT: u32 = 32;
    /// Reserved control bits 15:2 and 31:24.
    pub const CONTROL_RESERVED: u64 = 0xff00_fffc;
}

/// Linux `POSTED_INTR_VECTOR`: the notification a vCPU in guest mode consumes.
pub const POSTED_INTR_VECTOR: u8 = 0xf2;
/// Linux `POSTED_INTR_WAKEUP_VECTOR`: the notification of a blocked vCPU.
pub const POSTED_INTR_WAKEUP_VECTOR: u8 = 0xf1;
/// Linux `POSTED_MSI_NOTIFICATION_VECTOR` (x86 posted MSI, 6.10+): the host's
/// own notification when device MSIs are posted to per-CPU descriptors.
pub const POSTED_MSI_NOTIFICATION_VECTOR: u8 = 0xeb;

/// A 64-byte posted-interrupt descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct PostedInterruptDescriptor {
    /// PIR, vectors 0–255, `pir[i]` holding vectors 64·i … 64·i + 63.
    pub pir: [u64; 4],
    /// ON: a notification is outstanding.
    pub on: bool,
    /// SN: suppress notifications of non-urgent requests.
    pub sn: bool,
    /// NV: the notification vector.
    pub nv: u8,
    /// NDST: the notification destination, raw (see [`Self::apic_id`]).
    pub ndst: u32,
    /// Reserved control bits 15:2 and 31:24, in place.
    pub control_reserved: u64,
    /// Bits 511:320 (reserved / software), words 5–7.
    pub rest: [u64; 3],
}

/// What posting one request did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PostOutcome {
    /// The vector's PIR bit was already set: the request merged into it.
    pub merged: bool,
    /// A notification (vector NV to NDST) must be sent.
    pub notify: bool,
    /// ON was clear but SN (without URG) kept the notification back.
    pub suppressed: bool,
}

impl PostedInterruptDescriptor {
    /// A descriptor with an empty PIR, ON and SN clear, notifying `nv` at
    /// APIC `apic_id` (`x2apic`: the NDST format).
    pub fn new(nv: u8, apic_id: u32, x2apic: bool) -> PostedInterruptDescriptor {
        let ndst = if x2apic { apic_id } else { (apic_id << 8) & 0xff00 };
        PostedInterruptDescriptor { nv, ndst, ..Default::default() }
    }

    /// The descriptor in its 8 little-endian 64-bit words (word 0 = bits 63:0).
    pub fn encode(&self) -> [u64; 8] {
        let control = u64::from(self.on)
            | (u64::from(self.sn) << 1)
            | (u64::from(self.nv) << field::NV_SHIFT)
            | (u64::from(self.ndst) << field::NDST_SHIFT)
            | (self.control_reserved & field::CONTROL_RESERVED);
        [self.pir[0], self.pir[1], self.pir[2], self.pir[3], control, self.rest[0], self.rest[1], self.rest[2]]
    }

    /// Decodes the 8 words (word 0 = bits 63:0).
    pub fn decode(words: [u64; 8]) -> PostedInterruptDescriptor {
        let control = words[4];
        PostedInterruptDescriptor {
            pir: [words[0], words[1], words[2], words[3]],
            on: control & field::ON != 0,
            sn: control & field::SN != 0,
            nv: (control >> field::NV_SHIFT) as u8,
            ndst: (control >> field::NDST_SHIFT) as u32,
            control_reserved: control & field::CONTROL_RESERVED,
            rest: [words[5], words[6], words[7]],
        }
    }

    /// The notification's destination APIC ID: NDST itself in x2APIC mode,
    /// its bits 15:8 in xAPIC mode.
    pub fn apic_id(&self, x2apic: bool) -> u32 {
        if x2apic { self.ndst } else { (self.ndst >> 8) & 0xff }
    }

    /// Whether `vector`'s PIR bit is set.
    pub fn pending(&self, vector: u8) -> bool {
        self.pir[usize::from(vector / 64)] & (1 << (vector % 64)) != 0
    }

    /// The vectors whose PIR bit is set, lowest first.
    pub fn pir_vectors(&self) -> Vec<u8> {
        (0..=255u8).filter(|v| self.pending(*v)).collect()
    }

    /// Sets `vector`'s PIR bit; returns whether it was already set.
    fn set_pir(&mut self, vector: u8) -> bool {
        let (word, bit) = (usize::from(vector / 64), 1u64 << (vector % 64));
        let was = self.pir[word] & bit != 0;
        self.pir[word] |= bit;
        was
    }

    /// The remapping hardware posts `vector` through an IRTE whose URG is
    /// `urgent` (docs/sources.md §5.2): `PIR[vector] = 1`; then a
    /// notification if ON was clear and the request is urgent or SN clear,
    /// setting ON.
    pub fn post(&mut self, vector: u8, urgent: bool) -> PostOutcome {
        let merged = self.set_pir(vector);
        if self.on {
            return PostOutcome { merged, notify: false, suppressed: false };
        }
        if self.sn && !urgent {
            return PostOutcome { merged, notify: false, suppressed: true };
        }
        self.on = true;
        PostOutcome { merged, notify: true, suppressed: false }
    }

    /// KVM's software posting (`vmx_deliver_posted_interrupt` /
    /// `pi_test_and_set_pir`, `pi_test_and_set_on`): a request whose PIR bit
    /// was already set sends nothing; otherwise ON is set and a notification
    /// is due if ON was clear. SN is not consulted (KVM decides by whether
    /// the vCPU is in guest mode).
    pub fn post_software(&mut self, vector: u8) -> PostOutcome {
        if self.set_pir(vector) {
            return PostOutcome { merged: true, notify: false, suppressed: false };
        }
        let notify = !self.on;
        self.on = true;
        PostOutcome { merged: false, notify, suppressed: false }
    }

    /// The receiver takes every PIR bit (clearing them): the vectors,
    /// lowest first. ON is left to the caller (the CPU clears it first;
    /// Linux's posted-MSI handler last).
    pub fn take_pir(&mut self) -> Vec<u8> {
        let v = self.pir_vectors();
        self.pir = [0; 4];
        v
    }

    /// Notes for a reader.
    pub fn notes(&self) -> Vec<String> {
        let mut out = Vec::new();
        match self.nv {
            POSTED_INTR_VECTOR => out.push("NV 0xf2 is POSTED_INTR_VECTOR: a vCPU in guest mode".into()),
            POSTED_INTR_WAKEUP_VECTOR => {
                out.push("NV 0xf1 is POSTED_INTR_WAKEUP_VECTOR: the vCPU is blocked; its core wakes it".into())
            }
            POSTED_MSI_NOTIFICATION_VECTOR => {
                out.push("NV 0xeb is POSTED_MSI_NOTIFICATION_VECTOR: host device MSIs posted per CPU".into())
            }
            _ => {}
        }
        if self.on && self.pir == [0; 4] {
            out.push("ON set with an empty PIR: the receiver took the requests and has not cleared ON yet".into());
        }
        if !self.on && self.pir != [0; 4] && !self.sn {
            out.push("PIR bits without ON: the receiver is taking them, or they were posted under SN".into());
        }
        if self.control_reserved != 0 {
            out.push(format!("reserved control bits set: {:#x}", self.control_reserved));
        }
        out
    }

    /// Every field by name, as `irqlab decode pid` prints it.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let vectors: Vec<String> = self.pir_vectors().iter().map(|v| format!("{v:#04x}")).collect();
        let mut out = vec![
            ("raw", hex512(&self.encode())),
            ("pir", if vectors.is_empty() { "none".into() } else { vectors.join(" ") }),
            ("on", self.on.to_string()),
            ("sn", self.sn.to_string()),
            ("nv", format!("{:#04x} ({})", self.nv, self.nv)),
            ("ndst", format!("{:#010x}", self.ndst)),
            ("apic_id_xapic", self.apic_id(false).to_string()),
            ("apic_id_x2apic", self.apic_id(true).to_string()),
            ("control_reserved", format!("{:#x}", self.control_reserved)),
        ];
        out.extend(self.notes().into_iter().map(|n| ("note", n)));
        out
    }
}

/// What KVM did to a vCPU's descriptor when the vCPU left its pCPU
/// (`vmx_vcpu_pi_put`, docs/sources.md §5.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PiPut {
    /// The vCPU blocked (HLT with interrupts enabled): NV is now the wakeup
    /// vector and the vCPU is on its pCPU's wakeup list.
    pub on_wakeup_list: bool,
    /// ON was already set when NV switched: an interrupt may have been
    /// posted on the old vector, so KVM sends itself a wakeup IPI.
    pub self_wakeup_ipi: bool,
}

impl PostedInterruptDescriptor {
    /// KVM `vmx_vcpu_pi_put`: a vCPU leaves its pCPU. Blocking (and able
    /// to take interrupts) switches NV to `POSTED_INTR_WAKEUP_VECTOR` so a
    /// posted interrupt wakes it (`pi_enable_wakeup_handler`, which sends a
    /// self-IPI on that vector if ON is already set); preemption sets SN
    /// (requests keep landing in PIR, without notifications).
    pub fn kvm_vcpu_put(&mut self, blocking: bool, preempted: bool) -> PiPut {
        let mut out = PiPut { on_wakeup_list: false, self_wakeup_ipi: false };
        if blocking {
            self.nv = POSTED_INTR_WAKEUP_VECTOR;
            out.on_wakeup_list = true;
            out.self_wakeup_ipi = self.on;
        }
        if preempted {
            self.sn = true;
        }
        out
    }

    /// KVM `vmx_vcpu_pi_load`: the vCPU is loaded on the pCPU with APIC
    /// `apic_id`: NDST follows it, SN is cleared, NV is `POSTED_INTR_VECTOR`
    /// again; then, if the PIR holds requests, ON is set (they are taken at
    /// the coming VM entry). Returns whether the vCPU left a wakeup list.
    pub fn kvm_vcpu_load(&mut self, apic_id: u32, x2apic: bool) -> bool {
        let was_blocked = self.nv == POSTED_INTR_WAKEUP_VECTOR;
        self.ndst = if x2apic { apic_id } else { (apic_id << 8) & 0xff00 };
        self.sn = false;
        self.nv = POSTED_INTR_VECTOR;
        if self.pir != [0; 4] {
            self.on = true;
        }
        was_blocked
    }

    /// KVM `pi_wakeup_handler`: a vCPU on the wakeup list is woken if its
    /// descriptor has ON set.
    pub fn kvm_wakeup_due(&self) -> bool {
        self.on
    }
}

/// The 8 words as one 512-bit hex number, bits 511:0, `0x` and 128 digits.
pub fn hex512(words: &[u64; 8]) -> String {
    let digits: String = words.iter().rev().map(|w| format!("{w:016x}")).collect();
    format!("0x{digits}")
}

impl Serialize for PostedInterruptDescriptor {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut st = serializer.serialize_struct("PostedInterruptDescriptor", 10)?;
        st.serialize_field("raw", &hex512(&self.encode()))?;
        st.serialize_field("pir", &self.pir_vectors())?;
        st.serialize_field("on", &self.on)?;
        st.serialize_field("sn", &self.sn)?;
        st.serialize_field("nv", &self.nv)?;
        st.serialize_field("ndst", &self.ndst)?;
        st.serialize_field("apic_id_xapic", &self.apic_id(false))?;
        st.serialize_field("apic_id_x2apic", &self.apic_id(true))?;
        st.serialize_field("control_reserved", &self.control_reserved)?;
        st.serialize_field("notes", &self.notes())?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// KVM's descriptor of a running vCPU on APIC 3 (xAPIC) with vector 0x41
    /// posted: PIR bit 65, ON, NV 0xf2, NDST 0x300 — by the field table:
    /// word 1 bit 1; control = ON | 0xf2 << 16 | 0x300 << 32.
    #[test]
    fn a_kvm_descriptor_encodes_as_the_field_table_says() {
        let mut d = PostedInterruptDescriptor::new(POSTED_INTR_VECTOR, 3, false);
        assert_eq!(d.ndst, 0x300);
        let out = d.post(0x41, false);
        assert_eq!(out, PostOutcome { merged: false, notify: true, suppressed: false });
        let w = d.encode();
        assert_eq!(w, [0, 0b10, 0, 0, 0x0000_0300_00f2_0001, 0, 0, 0]);
        // Words 7, 6, 5 (zero), 4 (control), 3, 2 (zero), 1, 0 (zero).
        let expected =
            ["0".repeat(48), "0000030000f20001".into(), "0".repeat(32), "0000000000000002".into(), "0".repeat(16)];
        assert_eq!(hex512(&w), format!("0x{}", expected.concat()));
        assert_eq!(PostedInterruptDescriptor::decode(w), d);
        assert_eq!(d.apic_id(false), 3);
        assert_eq!(d.pir_vectors(), vec![0x41]);
    }

    #[test]
    fn posting_notifies_once_until_on_is_cleared_and_sn_suppresses_non_urgent_requests() {
        let mut d = PostedInterruptDescriptor::new(POSTED_MSI_NOTIFICATION_VECTOR, 1, true);
        assert!(d.post(0x30, false).notify);
        // ON set: further requests only set PIR bits.
        assert_eq!(d.post(0x31, false), PostOutcome { merged: false, notify: false, suppressed: false });
        assert_eq!(d.post(0x30, false), PostOutcome { merged: true, notify: false, suppressed: false });
        assert_eq!(d.take_pir(), vec![0x30, 0x31]);
        d.on = false;
        // Suppressed: no notification, ON stays clear, the request waits in PIR.
        d.sn = true;
        assert_eq!(d.post(0x32, false), PostOutcome { merged: false, notify: false, suppressed: true });
        assert!(!d.on && d.pending(0x32));
        // URG overrides SN.
        assert!(d.post(0x33, true).notify);
        assert!(d.on);
    }

    #[test]
    fn software_posting_ignores_sn_and_skips_a_set_pir_bit() {
        let mut d = PostedInterruptDescriptor::new(POSTED_INTR_VECTOR, 0, true);
        d.sn = true;
        assert!(d.post_software(0x50).notify);
        assert!(d.post_software(0x50).merged);
        assert!(!d.post_software(0x51).notify, "ON already set");
    }

    #[test]
    fn kvm_switches_the_notification_as_the_vcpu_runs_blocks_and_is_preempted() {
        let mut d = PostedInterruptDescriptor::new(POSTED_INTR_VECTOR, 1, false);
        // Running: a posted request notifies POSTED_INTR_VECTOR at its pCPU.
        assert!(d.post(0x41, false).notify);
        d.on = false;
        d.take_pir();
        // Blocked: the wakeup vector; a request notifies it and wakes the vCPU.
        assert_eq!(d.kvm_vcpu_put(true, false), PiPut { on_wakeup_list: true, self_wakeup_ipi: false });
        assert_eq!(d.nv, POSTED_INTR_WAKEUP_VECTOR);
        assert!(d.post(0x42, false).notify);
        assert!(d.kvm_wakeup_due());
        // Loaded again, on another pCPU: NV restored, NDST moved, ON kept
        // for the pending request.
        assert!(d.kvm_vcpu_load(5, false));
        assert_eq!((d.nv, d.apic_id(false), d.on), (POSTED_INTR_VECTOR, 5, true));
        // Preempted: SN; requests accumulate silently; the load sets ON.
        d.on = false;
        d.take_pir();
        d.kvm_vcpu_put(false, true);
        assert!(d.sn);
        assert_eq!(d.post(0x43, false), PostOutcome { merged: false, notify: false, suppressed: true });
        assert!(!d.kvm_vcpu_load(5, false));
        assert!(!d.sn && d.on && d.pending(0x43));
        // Blocking with ON already set: KVM sends itself the wakeup IPI.
        assert!(d.kvm_vcpu_put(true, false).self_wakeup_ipi);
    }

    #[test]
    fn every_bit_round_trips() {
        let words = [u64::MAX; 8];
        let d = PostedInterruptDescriptor::decode(words);
        assert_eq!(d.encode(), words);
        assert_eq!(d.control_reserved, field::CONTROL_RESERVED);
        assert_eq!(d.pir_vectors().len(), 256);
        let words = [1, 2, 3, 4, 0xdead_beef_00f1_0002, 5, 6, 7];
        let d = PostedInterruptDescriptor::decode(words);
        assert_eq!((d.on, d.sn, d.nv, d.ndst), (false, true, 0xf1, 0xdead_beef));
        assert_eq!(d.encode(), words);
    }
}
