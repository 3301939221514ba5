//! VMX basic exit reasons (Intel SDM Vol. 3D Appendix C; Linux
//! `arch/x86/include/uapi/asm/vmx.h` `EXIT_REASON_*`): the ones an
//! interrupt and I/O path produces, by number and name.
//!
//! The exit-reason field of the VMCS holds the basic reason in bits 15:0;
//! bit 31 marks a failed VM entry, bit 27 an exit from enclave mode (not
//! modelled). [`ExitReason::from_field`] keeps every other number as
//! [`ExitReason::Other`] so decoding never fails or drops bits.

use serde::Serialize;

/// A basic VM-exit reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitReason {
    /// 1: an external interrupt arrived while the guest ran (with
    /// "external-interrupt exiting"; a posted-interrupt notification does
    /// not exit).
    ExternalInterrupt,
    /// 7: the guest can take an interrupt now ("interrupt-window exiting",
    /// requested to inject one).
    InterruptWindow,
    /// 12: HLT.
    Hlt,
    /// 30: an I/O instruction (a port-I/O doorbell of an emulated device).
    IoInstruction,
    /// 31: RDMSR.
    MsrRead,
    /// 32: WRMSR (x2APIC ICR writes of guest IPIs, EOI without APICv).
    MsrWrite,
    /// 44: an access to the APIC-access page (xAPIC MMIO without APICv).
    ApicAccess,
    /// 45: a virtualized EOI of a vector in the EOI-exit bitmap.
    EoiInduced,
    /// 48: an EPT violation (an MMIO access to an emulated device's BAR,
    /// the first time).
    EptViolation,
    /// 49: an EPT misconfiguration (KVM's fast MMIO path: ioeventfd doorbells).
    EptMisconfig,
    /// 52: the VMX-preemption timer expired.
    PreemptionTimer,
    /// 56: a trap-like APIC write (APIC-register virtualization: ICR, TPR…).
    ApicWrite,
    /// Any other basic reason, by number.
    Other(u16),
}

impl ExitReason {
    /// Every named reason, in number order.
    pub const NAMED: [ExitReason; 12] = [
        ExitReason::ExternalInterrupt,
        ExitReason::InterruptWindow,
        ExitReason::Hlt,
        ExitReason::IoInstruction,
        ExitReason::MsrRead,
        ExitReason::MsrWrite,
        ExitReason::ApicAccess,
        ExitReason::EoiInduced,
        ExitReason::EptViolation,
        ExitReason::EptMisconfig,
        ExitReason::PreemptionTimer,
        ExitReason::ApicWrite,
    ];

    /// The basic exit reason number.
    pub fn number(self) -> u16 {
        match self {
            ExitReason::ExternalInterrupt => 1,
            ExitReason::InterruptWindow => 7,
            ExitReason::Hlt => 12,
            ExitReason::IoInstruction => 30,
            ExitReason::MsrRead => 31,
            ExitReason::MsrWrite => 32,
            ExitReason::ApicAccess => 44,
            ExitReason::EoiInduced => 45,
            ExitReason::EptViolation => 48,
            ExitReason::EptMisconfig => 49,
            ExitReason::PreemptionTimer => 52,
            ExitReason::ApicWrite => 56,
            ExitReason::Other(n) => n,
        }
    }

    /// The reason of a basic exit-reason number.
    pub fn from_number(n: u16) -> ExitReason {
        ExitReason::NAMED.into_iter().find(|r| r.number() == n).unwrap_or(ExitReason::Other(n))
    }

    /// The basic reason of a 32-bit exit-reason field (bits 15:0).
    pub fn from_field(field: u32) -> ExitReason {
        ExitReason::from_number(field as u16)
    }

    /// Linux's name without `EXIT_REASON_`, lower case (`external_interrupt`).
    pub fn name(self) -> String {
        match self {
            ExitReason::ExternalInterrupt => "external_interrupt".into(),
            ExitReason::InterruptWindow => "interrupt_window".into(),
            ExitReason::Hlt => "hlt".into(),
            ExitReason::IoInstruction => "io_instruction".into(),
            ExitReason::MsrRead => "msr_read".into(),
            ExitReason::MsrWrite => "msr_write".into(),
            ExitReason::ApicAccess => "apic_access".into(),
            ExitReason::EoiInduced => "eoi_induced".into(),
            ExitReason::EptViolation => "ept_violation".into(),
            ExitReason::EptMisconfig => "ept_misconfig".into(),
            ExitReason::PreemptionTimer => "preemption_timer".into(),
            ExitReason::ApicWrite => "apic_write".into(),
            ExitReason::Other(n) => format!("reason_{n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_linuxs_exit_reasons() {
        // arch/x86/include/uapi/asm/vmx.h
        let expected = [
            (ExitReason::ExternalInterrupt, 1),
            (ExitReason::InterruptWindow, 7),
            (ExitReason::Hlt, 12),
            (ExitReason::IoInstruction, 30),
            (ExitReason::MsrRead, 31),
            (ExitReason::MsrWrite, 32),
            (ExitReason::ApicAccess, 44),
            (ExitReason::EoiInduced, 45),
            (ExitReason::EptViolation, 48),
            (ExitReason::EptMisconfig, 49),
            (ExitReason::PreemptionTimer, 52),
            (ExitReason::ApicWrite, 56),
        ];
        for (r, n) in expected {
            assert_eq!(r.number(), n);
            assert_eq!(ExitReason::from_number(n), r);
        }
    }

    #[test]
    fn every_number_round_trips_and_the_field_keeps_its_basic_reason() {
        for n in 0..=u16::MAX {
            assert_eq!(ExitReason::from_number(n).number(), n);
        }
        // Bit 31 (VM-entry failure) is not part of the basic reason.
        assert_eq!(ExitReason::from_field(0x8000_0021), ExitReason::Other(33));
        assert_eq!(ExitReason::from_field(12), ExitReason::Hlt);
        assert_eq!(ExitReason::Other(10).name(), "reason_10");
    }
}
