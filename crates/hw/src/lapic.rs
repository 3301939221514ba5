//! Local APIC interrupt-acceptance state: IRR/ISR/TMR, TPR/PPR, SVR, ESR,
//! and the accept → acknowledge → EOI cycle for fixed interrupts.
//!
//! Models docs/sources.md §4.1 (register offsets, 256-bit registers as 8 × 32-bit)
//! and §4.2 (SDM Vol. 3A §10.8.3–10.8.5, §10.5.3, §10.9; QEMU
//! `hw/intc/apic.c`): priority classes, PPR, which IRR vector is presented to
//! the core, IRR→ISR on acknowledge, EOI with level-triggered EOI broadcast
//! and its suppression (SVR bit 12), illegal vectors 0–15 and the ESR.
//!
//! Time-free: `accept` is "a fixed-mode message arrived", `ack` is "the core
//! took the interrupt (INTA)", `eoi` is "software wrote EOI". Whether the core
//! has interrupts enabled (IF) is the caller's business.
//!
//! Left out: NMI/SMI/INIT/ExtINT/SIPI (they bypass IRR/ISR, §4.2), the LVT,
//! timer, ICR/IPI sending (beyond the send-side illegal-vector ESR bit), APR
//! and arbitration, logical destination matching (LDR/DFR), the ESR
//! write-to-latch protocol (the model's ESR accumulates until cleared), and
//! the P6 hard-wired SVR bits. The Version register is not modelled; the model
//! behaves as if EOI-broadcast suppression is supported (Version bit 24 = 1).

use thiserror::Error;

use crate::msi::Trigger;

/// xAPIC register offsets from the APIC base (§4.1). x2APIC MSR numbers
/// follow from [`x2apic_msr`].
pub mod reg {
    /// Local APIC ID.
    pub const ID: u32 = 0x20;
    /// Version.
    pub const VERSION: u32 = 0x30;
    /// Task Priority.
    pub const TPR: u32 = 0x80;
    /// Arbitration Priority.
    pub const APR: u32 = 0x90;
    /// Processor Priority.
    pub const PPR: u32 = 0xA0;
    /// EOI.
    pub const EOI: u32 = 0xB0;
    /// Logical Destination.
    pub const LDR: u32 = 0xD0;
    /// Destination Format.
    pub const DFR: u32 = 0xE0;
    /// Spurious Interrupt Vector.
    pub const SVR: u32 = 0xF0;
    /// In-Service Register, first of 8 (0x100–0x170).
    pub const ISR_BASE: u32 = 0x100;
    /// Trigger Mode Register, first of 8 (0x180–0x1F0).
    pub const TMR_BASE: u32 = 0x180;
    /// Interrupt Request Register, first of 8 (0x200–0x270).
    pub const IRR_BASE: u32 = 0x200;
    /// Error Status.
    pub const ESR: u32 = 0x280;
    /// Interrupt Command, low DWORD.
    pub const ICR_LOW: u32 = 0x300;
    /// Interrupt Command, high DWORD.
    pub const ICR_HIGH: u32 = 0x310;
    /// LVT Timer.
    pub const LVT_TIMER: u32 = 0x320;
    /// LVT Thermal Sensor.
    pub const LVT_THERMAL: u32 = 0x330;
    /// LVT Performance Monitoring Counters.
    pub const LVT_PERFMON: u32 = 0x340;
    /// LVT LINT0.
    pub const LVT_LINT0: u32 = 0x350;
    /// LVT LINT1.
    pub const LVT_LINT1: u32 = 0x360;
    /// LVT Error.
    pub const LVT_ERROR: u32 = 0x370;
    /// Timer Initial Count.
    pub const TIMER_INITIAL_COUNT: u32 = 0x380;
    /// Timer Current Count.
    pub const TIMER_CURRENT_COUNT: u32 = 0x390;
    /// Timer Divide Configuration.
    pub const TIMER_DIVIDE_CONFIG: u32 = 0x3E0;
    /// Stride between registers (and between the 8 parts of IRR/ISR/TMR).
    pub const STRIDE: u32 = 0x10;
    /// Highest register offset in the 4 KiB page that maps to an MSR.
    pub const LAST: u32 = 0x3F0;
    /// x2APIC MSR of offset 0 (`APIC_BASE_MSR`).
    pub const X2APIC_MSR_BASE: u32 = 0x800;
}

/// Bit positions inside registers (§4.2).
pub mod field {
    /// Number of 32-bit registers in IRR/ISR/TMR.
    pub const VECTOR_REGS: usize = 8;
    /// Vectors per 32-bit register.
    pub const VECTORS_PER_REG: usize = 32;
    /// Priority class = vector bits 7:4.
    pub const CLASS_MASK: u8 = 0xF0;
    /// Shift of the priority class within a vector.
    pub const CLASS_SHIFT: u32 = 4;
    /// Vectors below this are illegal (ESR bits 5/6, never in IRR).
    pub const FIRST_LEGAL_VECTOR: u8 = 16;

    /// SVR bits 7:0: spurious vector.
    pub const SVR_VECTOR_MASK: u32 = 0xFF;
    /// SVR bit 8: APIC software enable.
    pub const SVR_APIC_ENABLE: u32 = 1 << 8;
    /// SVR bit 9: focus-processor checking (reserved on P4 and later).
    pub const SVR_FOCUS_DISABLE: u32 = 1 << 9;
    /// SVR bit 12: EOI-broadcast suppression ("directed EOI").
    pub const SVR_EOI_BROADCAST_SUPPRESSION: u32 = 1 << 12;
    /// SVR value out of reset: spurious vector 0xFF, software-disabled.
    pub const SVR_RESET: u32 = 0xFF;

    /// ESR bit 5: Send Illegal Vector.
    pub const ESR_SEND_ILLEGAL_VECTOR: u32 = 1 << 5;
    /// ESR bit 6: Receive Illegal Vector.
    pub const ESR_RECEIVE_ILLEGAL_VECTOR: u32 = 1 << 6;

    /// Version bit 24: EOI-broadcast suppression supported.
    pub const VERSION_EOI_SUPPRESSION: u32 = 1 << 24;

    /// Linux `SPURIOUS_APIC_VECTOR`.
    pub const LINUX_SPURIOUS_VECTOR: u8 = 0xFF;
}

/// x2APIC MSR number of an xAPIC register offset: `0x800 + offset / 16`.
/// `None` for offsets that are not 16-byte aligned or lie past 0x3F0.
/// (Registers that do not exist in x2APIC mode, such as DFR and ICR high,
/// still get their arithmetic MSR number.)
pub const fn x2apic_msr(offset: u32) -> Option<u32> {
    if !offset.is_multiple_of(reg::STRIDE) || offset > reg::LAST {
        None
    } else {
        Some(reg::X2APIC_MSR_BASE + offset / reg::STRIDE)
    }
}

/// Priority class of a vector (bits 7:4).
pub const fn priority_class(vector: u8) -> u8 {
    (vector & field::CLASS_MASK) >> field::CLASS_SHIFT
}

/// Errors of register writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum LapicError {
    /// x2APIC EOI written with a non-zero value raises #GP.
    #[error("x2APIC EOI write of {0:#x}: value must be 0 (#GP)")]
    X2apicEoiNonZero(u32),
}

/// What happened to a fixed interrupt arriving at the APIC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptOutcome {
    /// IRR bit set (TMR bit set for level, cleared for edge).
    Accepted,
    /// IRR bit was already set: this instance collapses into it.
    Coalesced,
    /// Vector 0–15: ESR Receive Illegal Vector set, IRR untouched.
    IllegalVector,
    /// SVR software-enable clear: fixed interrupts are not accepted (as KVM
    /// `__apic_accept_irq` does; the SDM's text is not reproduced in docs/sources.md).
    SoftwareDisabled,
}

/// Result of an EOI write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EoiOutcome {
    /// The ISR vector that was cleared, if any was in service.
    pub vector: Option<u8>,
    /// True when the cleared vector was level-triggered (TMR set) and SVR
    /// bit 12 is clear: the APIC broadcasts an EOI message to all IO-APICs.
    pub broadcast_level_eoi: bool,
}

/// 256 one-bit flags laid out as the APIC's 8 × 32-bit registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct VectorBits([u32; field::VECTOR_REGS]);

impl VectorBits {
    fn slot(vector: u8) -> (usize, u32) {
        let v = usize::from(vector);
        (v / field::VECTORS_PER_REG, 1 << (v % field::VECTORS_PER_REG))
    }

    fn get(&self, vector: u8) -> bool {
        let (r, bit) = Self::slot(vector);
        self.0[r] & bit != 0
    }

    fn set(&mut self, vector: u8, on: bool) {
        let (r, bit) = Self::slot(vector);
        if on {
            self.0[r] |= bit;
        } else {
            self.0[r] &= !bit;
        }
    }

    /// The highest vector set: the 256 bits read as two 128-bit halves
    /// (one leading-zero count each) rather than eight registers.
    fn highest(&self) -> Option<u8> {
        const _: () = assert!(field::VECTOR_REGS == 8 && field::VECTORS_PER_REG == 32);
        let half = |w: &[u32]| w.iter().rev().fold(0u128, |acc, &x| (acc << 32) | x as u128);
        let (lo, hi) = (half(&self.0[..4]), half(&self.0[4..]));
        if hi != 0 {
            Some(255 - hi.leading_zeros() as u8)
        } else if lo != 0 {
            Some(127 - lo.leading_zeros() as u8)
        } else {
            None
        }
    }
}

/// One local APIC's acceptance/dispatch state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalApic {
    irr: VectorBits,
    isr: VectorBits,
    tmr: VectorBits,
    tpr: u8,
    svr: u32,
    esr: u32,
}

impl Default for LocalApic {
    fn default() -> Self {
        Self::new()
    }
}

impl LocalApic {
    /// An APIC as Linux leaves it after setup: software-enabled, spurious
    /// vector 0xFF (SVR = 0x1FF), TPR 0, nothing pending.
    pub fn new() -> Self {
        Self { svr: field::SVR_APIC_ENABLE | u32::from(field::LINUX_SPURIOUS_VECTOR), ..Self::at_reset() }
    }

    /// Power-up state: SVR = 0xFF (software-disabled), everything else 0.
    pub fn at_reset() -> Self {
        Self {
            irr: VectorBits::default(),
            isr: VectorBits::default(),
            tmr: VectorBits::default(),
            tpr: 0,
            svr: field::SVR_RESET,
            esr: 0,
        }
    }

    /// A fixed-mode interrupt for `vector` arrives (§4.2 acceptance rules).
    pub fn accept(&mut self, vector: u8, trigger: Trigger) -> AcceptOutcome {
        if vector < field::FIRST_LEGAL_VECTOR {
            self.esr |= field::ESR_RECEIVE_ILLEGAL_VECTOR;
            return AcceptOutcome::IllegalVector;
        }
        if !self.software_enabled() {
            return AcceptOutcome::SoftwareDisabled;
        }
        if self.irr.get(vector) {
            return AcceptOutcome::Coalesced;
        }
        self.irr.set(vector, true);
        self.tmr.set(vector, trigger == Trigger::Level);
        AcceptOutcome::Accepted
    }

    /// Sending side of an IPI: an illegal vector (0–15) sets ESR Send Illegal
    /// Vector. Returns whether the vector is legal to send.
    pub fn check_send_vector(&mut self, vector: u8) -> bool {
        if vector < field::FIRST_LEGAL_VECTOR {
            self.esr |= field::ESR_SEND_ILLEGAL_VECTOR;
            false
        } else {
            true
        }
    }

    /// Highest vector in service, if any (ISRV).
    pub fn isrv(&self) -> Option<u8> {
        self.isr.highest()
    }

    /// Processor Priority: TPR if its class ≥ ISRV's class, else ISRV's class
    /// with sub-class 0 (ISRV = 0 when nothing is in service).
    pub fn ppr(&self) -> u8 {
        let isrv = self.isrv().unwrap_or(0);
        if priority_class(self.tpr) >= priority_class(isrv) { self.tpr } else { isrv & field::CLASS_MASK }
    }

    /// The vector the APIC presents to the core: the highest IRR vector, if
    /// its class is above PPR's class.
    pub fn pending_vector(&self) -> Option<u8> {
        let irrv = self.irr.highest()?;
        (priority_class(irrv) > priority_class(self.ppr())).then_some(irrv)
    }

    /// The core acknowledges (INTA): the presented vector moves IRR → ISR.
    /// `None` if nothing is deliverable. (If the core had been interrupted
    /// and TPR rose meanwhile, real hardware returns [`Self::spurious_vector`]
    /// here without touching ISR; the caller decides that case.)
    pub fn ack(&mut self) -> Option<u8> {
        let vector = self.pending_vector()?;
        self.irr.set(vector, false);
        self.isr.set(vector, true);
        Some(vector)
    }

    /// Software writes EOI: clear the highest ISR bit; report whether a
    /// level-triggered EOI broadcast goes to the IO-APICs.
    pub fn eoi(&mut self) -> EoiOutcome {
        let Some(vector) = self.isr.highest() else {
            return EoiOutcome { vector: None, broadcast_level_eoi: false };
        };
        self.isr.set(vector, false);
        EoiOutcome {
            vector: Some(vector),
            broadcast_level_eoi: self.tmr.get(vector) && !self.eoi_broadcast_suppressed(),
        }
    }

    /// x2APIC EOI MSR write: only 0 is legal.
    pub fn eoi_x2apic(&mut self, value: u32) -> Result<EoiOutcome, LapicError> {
        if value != 0 {
            return Err(LapicError::X2apicEoiNonZero(value));
        }
        Ok(self.eoi())
    }

    /// Task Priority.
    pub fn tpr(&self) -> u8 {
        self.tpr
    }

    /// Write Task Priority.
    pub fn set_tpr(&mut self, tpr: u8) {
        self.tpr = tpr;
    }

    /// Spurious Interrupt Vector register.
    pub fn svr(&self) -> u32 {
        self.svr
    }

    /// Write the SVR.
    pub fn set_svr(&mut self, svr: u32) {
        self.svr = svr;
    }

    /// SVR bits 7:0.
    pub fn spurious_vector(&self) -> u8 {
        (self.svr & field::SVR_VECTOR_MASK).to_le_bytes()[0]
    }

    /// SVR bit 8.
    pub fn software_enabled(&self) -> bool {
        self.svr & field::SVR_APIC_ENABLE != 0
    }

    /// SVR bit 12.
    pub fn eoi_broadcast_suppressed(&self) -> bool {
        self.svr & field::SVR_EOI_BROADCAST_SUPPRESSION != 0
    }

    /// Error Status bits accumulated so far.
    pub fn esr(&self) -> u32 {
        self.esr
    }

    /// Clear the ESR (software reads and acknowledges errors).
    pub fn clear_esr(&mut self) {
        self.esr = 0;
    }

    /// IRR as the 8 registers at 0x200..0x270 (vector v → reg v/32, bit v%32).
    pub fn irr(&self) -> [u32; field::VECTOR_REGS] {
        self.irr.0
    }

    /// ISR as the 8 registers at 0x100..0x170.
    pub fn isr(&self) -> [u32; field::VECTOR_REGS] {
        self.isr.0
    }

    /// TMR as the 8 registers at 0x180..0x1F0.
    pub fn tmr(&self) -> [u32; field::VECTOR_REGS] {
        self.tmr.0
    }

    /// IRR bit of `vector`.
    pub fn irr_contains(&self, vector: u8) -> bool {
        self.irr.get(vector)
    }

    /// ISR bit of `vector`.
    pub fn isr_contains(&self, vector: u8) -> bool {
        self.isr.get(vector)
    }

    /// TMR bit of `vector`.
    pub fn tmr_contains(&self, vector: u8) -> bool {
        self.tmr.get(vector)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_highest_vector_is_found_in_every_register() {
        let naive = |b: &VectorBits| (0..=255u8).rev().find(|&v| b.get(v));
        let mut b = VectorBits::default();
        assert_eq!(b.highest(), None);
        for v in 0..=255u8 {
            let mut one = VectorBits::default();
            one.set(v, true);
            assert_eq!(one.highest(), Some(v));
            for w in [0u8, 31, 32, 127, 128, 200] {
                let mut two = one;
                two.set(w, true);
                assert_eq!(two.highest(), naive(&two), "{v} and {w}");
            }
        }
        b.set(255, true);
        b.set(0, true);
        assert_eq!(b.highest(), Some(255));
    }
    use proptest::prelude::*;

    #[test]
    fn register_offsets_and_x2apic_msrs() {
        // §4.1: x2APIC MSR = 0x800 + offset/16.
        assert_eq!(x2apic_msr(reg::ID), Some(0x802));
        assert_eq!(x2apic_msr(reg::TPR), Some(0x808));
        assert_eq!(x2apic_msr(reg::EOI), Some(0x80B));
        assert_eq!(x2apic_msr(reg::SVR), Some(0x80F));
        assert_eq!(x2apic_msr(reg::ISR_BASE), Some(0x810));
        assert_eq!(x2apic_msr(reg::TMR_BASE), Some(0x818));
        assert_eq!(x2apic_msr(reg::IRR_BASE), Some(0x820));
        assert_eq!(x2apic_msr(reg::ESR), Some(0x828));
        assert_eq!(x2apic_msr(reg::ICR_LOW), Some(0x830));
        assert_eq!(x2apic_msr(reg::TIMER_DIVIDE_CONFIG), Some(0x83E));
        assert_eq!(x2apic_msr(0x84), None);
        assert_eq!(x2apic_msr(0x400), None);
        // IRR/ISR/TMR span 8 registers at 16-byte stride.
        assert_eq!(reg::IRR_BASE + 7 * reg::STRIDE, 0x270);
        assert_eq!(reg::ISR_BASE + 7 * reg::STRIDE, 0x170);
        assert_eq!(reg::TMR_BASE + 7 * reg::STRIDE, 0x1F0);
    }

    #[test]
    fn vector_maps_to_register_v_div_32_bit_v_mod_32() {
        let mut apic = LocalApic::new();
        apic.accept(0x31, Trigger::Edge); // reg 1, bit 17
        apic.accept(0xFE, Trigger::Level); // reg 7, bit 30
        let irr = apic.irr();
        assert_eq!(irr[1], 1 << 17);
        assert_eq!(irr[7], 1 << 30);
        assert_eq!(irr.iter().filter(|&&w| w != 0).count(), 2);
        assert_eq!(apic.tmr()[7], 1 << 30);
        assert_eq!(apic.tmr()[1], 0);
    }

    #[test]
    fn illegal_vectors_set_esr_and_never_reach_irr() {
        let mut apic = LocalApic::new();
        for v in 0..16 {
            assert_eq!(apic.accept(v, Trigger::Edge), AcceptOutcome::IllegalVector);
        }
        assert_eq!(apic.irr(), [0; 8]);
        assert_eq!(apic.esr(), field::ESR_RECEIVE_ILLEGAL_VECTOR);
        assert_eq!(apic.esr(), 1 << 6);
        assert!(!apic.check_send_vector(15));
        assert_eq!(apic.esr(), (1 << 6) | (1 << 5));
        apic.clear_esr();
        assert!(apic.check_send_vector(16));
        assert_eq!(apic.esr(), 0);
        // 16–31 are reserved for exceptions but not an APIC error.
        assert_eq!(apic.accept(16, Trigger::Edge), AcceptOutcome::Accepted);
    }

    #[test]
    fn tmr_follows_the_trigger_of_the_latest_acceptance() {
        let mut apic = LocalApic::new();
        apic.accept(0x40, Trigger::Level);
        assert!(apic.tmr_contains(0x40));
        apic.ack();
        apic.eoi();
        apic.accept(0x40, Trigger::Edge);
        assert!(!apic.tmr_contains(0x40));
    }

    #[test]
    fn ppr_is_tpr_or_isrv_class_whichever_class_is_higher() {
        let mut apic = LocalApic::new();
        apic.set_tpr(0x25);
        assert_eq!(apic.ppr(), 0x25, "nothing in service: PPR = TPR");
        apic.accept(0x5A, Trigger::Edge);
        assert_eq!(apic.ack(), Some(0x5A));
        assert_eq!(apic.ppr(), 0x50, "ISRV class 5 > TPR class 2: PPR = 0x50");
        apic.set_tpr(0x57);
        assert_eq!(apic.ppr(), 0x57, "equal class: TPR wins");
        apic.set_tpr(0x60);
        assert_eq!(apic.ppr(), 0x60);
    }

    #[test]
    fn only_a_class_above_ppr_is_presented() {
        let mut apic = LocalApic::new();
        apic.set_tpr(0x40);
        apic.accept(0x4F, Trigger::Edge);
        assert_eq!(apic.pending_vector(), None, "same class as TPR is blocked");
        assert_eq!(apic.ack(), None);
        apic.accept(0x50, Trigger::Edge);
        assert_eq!(apic.pending_vector(), Some(0x50));
        apic.set_tpr(0x00);
        // Highest IRR wins regardless of arrival order.
        assert_eq!(apic.ack(), Some(0x50));
        assert_eq!(apic.ack(), None, "0x4F (class 4) waits behind in-service 0x50 (class 5)");
    }

    #[test]
    fn higher_class_preempts_lower_in_service_same_class_waits() {
        let mut apic = LocalApic::new();
        apic.accept(0x31, Trigger::Edge);
        assert_eq!(apic.ack(), Some(0x31));
        apic.accept(0x35, Trigger::Edge);
        assert_eq!(apic.pending_vector(), None, "same class waits for EOI");
        apic.accept(0x41, Trigger::Edge);
        assert_eq!(apic.ack(), Some(0x41), "higher class preempts without EOI");
        // Both in service: 0x31 → reg 1 bit 17, 0x41 → reg 2 bit 1.
        assert_eq!((apic.isr()[1], apic.isr()[2]), (1 << 17, 1 << 1));
        assert_eq!(apic.eoi().vector, Some(0x41));
        assert_eq!(apic.pending_vector(), None, "0x31 still in service");
        assert_eq!(apic.eoi().vector, Some(0x31));
        assert_eq!(apic.ack(), Some(0x35));
    }

    #[test]
    fn two_instances_per_vector_then_coalescing() {
        let mut apic = LocalApic::new();
        assert_eq!(apic.accept(0x60, Trigger::Edge), AcceptOutcome::Accepted);
        assert_eq!(apic.accept(0x60, Trigger::Edge), AcceptOutcome::Coalesced);
        assert_eq!(apic.ack(), Some(0x60));
        // One in ISR, a second may wait in IRR...
        assert_eq!(apic.accept(0x60, Trigger::Edge), AcceptOutcome::Accepted);
        assert!(apic.isr_contains(0x60) && apic.irr_contains(0x60));
        // ...a third collapses.
        assert_eq!(apic.accept(0x60, Trigger::Edge), AcceptOutcome::Coalesced);
        assert_eq!(apic.pending_vector(), None, "same vector's class is in service");
        apic.eoi();
        assert_eq!(apic.ack(), Some(0x60));
        apic.eoi();
        assert_eq!(apic.ack(), None);
    }

    #[test]
    fn eoi_clears_highest_isr_and_broadcasts_for_level() {
        let mut apic = LocalApic::new();
        apic.accept(0x30, Trigger::Level);
        apic.ack();
        apic.accept(0x80, Trigger::Edge);
        apic.ack();
        assert_eq!(apic.eoi(), EoiOutcome { vector: Some(0x80), broadcast_level_eoi: false });
        assert_eq!(apic.eoi(), EoiOutcome { vector: Some(0x30), broadcast_level_eoi: true });
        assert_eq!(
            apic.eoi(),
            EoiOutcome { vector: None, broadcast_level_eoi: false },
            "EOI with nothing in service does nothing"
        );
    }

    #[test]
    fn directed_eoi_suppresses_the_broadcast() {
        let mut apic = LocalApic::new();
        apic.set_svr(apic.svr() | field::SVR_EOI_BROADCAST_SUPPRESSION);
        assert!(apic.eoi_broadcast_suppressed());
        apic.accept(0x30, Trigger::Level);
        apic.ack();
        assert_eq!(apic.eoi(), EoiOutcome { vector: Some(0x30), broadcast_level_eoi: false });
    }

    #[test]
    fn x2apic_eoi_must_write_zero() {
        let mut apic = LocalApic::new();
        apic.accept(0x30, Trigger::Edge);
        apic.ack();
        assert_eq!(apic.eoi_x2apic(1), Err(LapicError::X2apicEoiNonZero(1)));
        assert!(apic.isr_contains(0x30), "faulting write changes nothing");
        assert_eq!(apic.eoi_x2apic(0).map(|o| o.vector), Ok(Some(0x30)));
    }

    #[test]
    fn svr_fields_and_software_disable() {
        let reset = LocalApic::at_reset();
        assert_eq!(reset.svr(), 0xFF);
        assert!(!reset.software_enabled());
        let mut apic = LocalApic::new();
        assert_eq!(apic.svr(), 0x1FF);
        assert_eq!(apic.spurious_vector(), 0xFF);
        apic.set_svr(0x10F);
        assert_eq!(apic.spurious_vector(), 0x0F);
        apic.set_svr(0x0EF);
        assert_eq!(apic.accept(0x40, Trigger::Edge), AcceptOutcome::SoftwareDisabled);
        assert_eq!(apic.irr(), [0; 8]);
    }

    proptest! {
        /// Whatever the order of accepts, TPR writes, acks and EOIs: an acked
        /// vector's class is above the PPR class just before the ack; ISR
        /// never holds two vectors of one class (only a higher class can
        /// preempt); IRR never holds vectors 0–15.
        #[test]
        fn dispatch_invariants(ops in proptest::collection::vec((0u8..4, any::<u8>()), 0..200)) {
            let mut apic = LocalApic::new();
            for (kind, v) in ops {
                match kind {
                    0 => { apic.accept(v, if v % 2 == 0 { Trigger::Edge } else { Trigger::Level }); }
                    1 => {
                        let ppr = apic.ppr();
                        if let Some(got) = apic.ack() {
                            prop_assert!(priority_class(got) > priority_class(ppr));
                            prop_assert!(apic.isr_contains(got));
                        }
                    }
                    2 => { apic.eoi(); }
                    _ => apic.set_tpr(v),
                }
                prop_assert_eq!(apic.irr()[0] & 0xFFFF, 0);
                let mut classes = [0u8; 16];
                for vec in 0..=255u8 {
                    if apic.isr_contains(vec) {
                        classes[usize::from(priority_class(vec))] += 1;
                    }
                }
                prop_assert!(classes.iter().all(|&c| c <= 1));
            }
        }
    }
}
