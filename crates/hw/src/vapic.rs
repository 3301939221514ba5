//! The virtual APIC of a VMX guest with APIC virtualization (APICv): the
//! virtual-APIC page's VIRR/VISR/VTPR, the guest interrupt status (RVI,
//! SVI), and the processor's virtual-interrupt delivery, EOI
//! virtualization, self-IPI virtualization and posted-interrupt processing.
//!
//! Models docs/sources.md §5.3 (SDM Vol. 3C ch. 29, "APIC Virtualization
//! and Virtual Interrupts"; Bochs `cpu/vapic.cc` as the executable
//! description):
//!
//! * **PPR virtualization**: `VPPR = VTPR` if `VTPR[7:4] ≥ SVI[7:4]`, else
//!   `SVI & 0xF0`.
//! * **Evaluation of pending virtual interrupts**: RVI is recognised if
//!   `RVI[7:4] > VPPR[7:4]`.
//! * **Virtual-interrupt delivery**: `V = RVI; VISR[V] = 1; SVI = V;
//!   VPPR = V & 0xF0; VIRR[V] = 0; RVI = highest VIRR bit or 0`.
//! * **EOI virtualization**: `V = SVI; VISR[V] = 0; SVI = highest VISR bit
//!   or 0`; PPR virtualization; then an EOI-induced VM exit if
//!   `EOI_exit_bitmap[V]` (a level-triggered interrupt whose EOI the host
//!   must see), else evaluation.
//! * **Self-IPI virtualization** (vector ≥ 16): `VIRR[v] = 1; RVI = max(RVI, v)`.
//! * **Posted-interrupt processing** (after the notification vector is
//!   acknowledged): clear ON, `VIRR |= PIR` clearing PIR, `RVI = max(RVI,
//!   highest PIR bit)`, evaluate.
//!
//! The same state also serves an emulated APIC (no APICv): the hypervisor
//! then does in software what the processor does here, on VM exits.
//!
//! Left out: the virtual TPR threshold and TPR shadow exits, APIC-register
//! virtualization of other registers, x2APIC MSR virtualization details,
//! and the interrupt-window mechanics of injection (the model decides when
//! the guest can take an interrupt).

use crate::vtd::pid::PostedInterruptDescriptor;

/// 256 bits, one per vector.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VectorSet([u64; 4]);

impl VectorSet {
    /// Whether `v` is set.
    pub fn contains(&self, v: u8) -> bool {
        self.0[usize::from(v / 64)] & (1 << (v % 64)) != 0
    }
    /// Sets `v`; returns whether it was set already.
    pub fn insert(&mut self, v: u8) -> bool {
        let was = self.contains(v);
        self.0[usize::from(v / 64)] |= 1 << (v % 64);
        was
    }
    /// Clears `v`.
    pub fn remove(&mut self, v: u8) {
        self.0[usize::from(v / 64)] &= !(1 << (v % 64));
    }
    /// The highest vector set.
    pub fn highest(&self) -> Option<u8> {
        (0..4).rev().find(|i| self.0[*i] != 0).map(|i| (i as u32 * 64 + 63 - self.0[i].leading_zeros()) as u8)
    }
    /// Adds every vector of `words` (PIR layout: word i = vectors 64·i …).
    pub fn merge(&mut self, words: [u64; 4]) {
        for (a, b) in self.0.iter_mut().zip(words) {
            *a |= b;
        }
    }
    /// The raw words.
    pub fn words(&self) -> [u64; 4] {
        self.0
    }
    /// Whether no vector is set.
    pub fn is_empty(&self) -> bool {
        self.0 == [0; 4]
    }
}

/// What an EOI to the virtual APIC leads to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VirtualEoi {
    /// No vector was in service.
    Nothing,
    /// Virtualized: `vector` left service; no exit.
    Virtualized {
        /// The vector.
        vector: u8,
    },
    /// `vector` is in the EOI-exit bitmap: an EOI-induced VM exit
    /// (basic exit reason 45) with the vector as its qualification.
    ExitInduced {
        /// The vector.
        vector: u8,
    },
}

/// A vCPU's virtual APIC state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VirtualApic {
    /// VIRR (virtual-APIC page 0x200–0x270).
    pub virr: VectorSet,
    /// VISR (0x100–0x170).
    pub visr: VectorSet,
    /// VTPR (0x80).
    pub vtpr: u8,
    /// RVI: the requesting virtual interrupt (guest interrupt status, low byte).
    pub rvi: u8,
    /// SVI: the servicing virtual interrupt (guest interrupt status, high byte).
    pub svi: u8,
    /// The EOI-exit bitmap: vectors whose EOI exits.
    pub eoi_exit: VectorSet,
}

impl VirtualApic {
    /// PPR virtualization.
    pub fn vppr(&self) -> u8 {
        if self.vtpr & 0xf0 >= self.svi & 0xf0 { self.vtpr } else { self.svi & 0xf0 }
    }

    /// Evaluation of pending virtual interrupts: the vector the guest
    /// would take if it accepted interrupts now.
    pub fn pending(&self) -> Option<u8> {
        (self.rvi & 0xf0 > self.vppr() & 0xf0).then_some(self.rvi)
    }

    /// A vector requested in VIRR (software injection by the hypervisor,
    /// or a self-IPI): `VIRR[v] = 1`, `RVI = max(RVI, v)`. Returns whether
    /// it was already requested (merged).
    pub fn request(&mut self, v: u8) -> bool {
        let merged = self.virr.insert(v);
        self.rvi = self.rvi.max(v);
        merged
    }

    /// Virtual-interrupt delivery of the pending vector, if one is
    /// recognised: it moves from VIRR to VISR and becomes SVI.
    pub fn deliver(&mut self) -> Option<u8> {
        let v = self.pending()?;
        self.visr.insert(v);
        self.svi = v;
        self.virr.remove(v);
        self.rvi = self.virr.highest().unwrap_or(0);
        Some(v)
    }

    /// EOI virtualization.
    pub fn eoi(&mut self) -> VirtualEoi {
        let v = self.svi;
        if !self.visr.contains(v) {
            return VirtualEoi::Nothing;
        }
        self.visr.remove(v);
        self.svi = self.visr.highest().unwrap_or(0);
        if self.eoi_exit.contains(v) {
            VirtualEoi::ExitInduced { vector: v }
        } else {
            VirtualEoi::Virtualized { vector: v }
        }
    }

    /// Posted-interrupt processing after the notification vector was
    /// acknowledged (or KVM's `vmx_sync_pir_to_irr` at VM entry): clear ON,
    /// move PIR into VIRR, raise RVI. Returns the vectors moved.
    pub fn process_posted(&mut self, pid: &mut PostedInterruptDescriptor) -> Vec<u8> {
        pid.on = false;
        let words = pid.pir;
        let moved = pid.take_pir();
        self.virr.merge(words);
        if let Some(&top) = moved.last() {
            self.rvi = self.rvi.max(top);
        }
        moved
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vtd::pid::POSTED_INTR_VECTOR;

    #[test]
    fn delivery_follows_priority_classes_and_the_servicing_vector() {
        let mut a = VirtualApic::default();
        assert_eq!(a.pending(), None, "nothing requested");
        a.request(0x41);
        a.request(0x35);
        assert_eq!((a.rvi, a.pending()), (0x41, Some(0x41)));
        assert_eq!(a.deliver(), Some(0x41));
        assert_eq!((a.svi, a.vppr(), a.rvi), (0x41, 0x40, 0x35));
        // 0x35 is in a lower class than the vector in service: held back.
        assert_eq!(a.pending(), None);
        // A higher class nests.
        a.request(0x62);
        assert_eq!(a.deliver(), Some(0x62));
        assert_eq!(a.eoi(), VirtualEoi::Virtualized { vector: 0x62 });
        assert_eq!(a.svi, 0x41, "SVI falls back to the next vector in service");
        assert_eq!(a.eoi(), VirtualEoi::Virtualized { vector: 0x41 });
        assert_eq!((a.svi, a.pending()), (0, Some(0x35)));
        // VTPR masks a class: 0x35 waits while VTPR is 0x30 or more.
        a.vtpr = 0x30;
        assert_eq!(a.pending(), None);
        a.vtpr = 0x20;
        assert_eq!(a.deliver(), Some(0x35));
        assert_eq!(a.eoi(), VirtualEoi::Virtualized { vector: 0x35 });
        assert_eq!(a.eoi(), VirtualEoi::Nothing);
    }

    #[test]
    fn an_eoi_in_the_exit_bitmap_exits() {
        let mut a = VirtualApic::default();
        a.eoi_exit.insert(0x51);
        a.request(0x51);
        a.deliver();
        assert_eq!(a.eoi(), VirtualEoi::ExitInduced { vector: 0x51 });
        assert!(a.visr.is_empty(), "the EOI is done before the exit");
    }

    #[test]
    fn posted_interrupt_processing_moves_pir_into_virr_and_clears_on() {
        let mut pid = PostedInterruptDescriptor::new(POSTED_INTR_VECTOR, 2, false);
        pid.post(0x45, false);
        pid.post(0x81, false);
        assert!(pid.on);
        let mut a = VirtualApic::default();
        a.request(0x30);
        assert_eq!(a.process_posted(&mut pid), vec![0x45, 0x81]);
        assert!(!pid.on && pid.pir == [0; 4]);
        assert_eq!(a.rvi, 0x81);
        assert_eq!(a.deliver(), Some(0x81));
        assert_eq!(a.rvi, 0x45);
        // An empty PIR leaves RVI alone.
        assert_eq!(a.process_posted(&mut pid), Vec::<u8>::new());
        assert_eq!(a.rvi, 0x45);
    }

    #[test]
    fn highest_finds_the_top_bit_of_each_word() {
        let mut s = VectorSet::default();
        assert_eq!(s.highest(), None);
        for v in [0u8, 63, 64, 127, 128, 255] {
            s.insert(v);
            assert_eq!(s.highest(), Some(v));
        }
    }
}
