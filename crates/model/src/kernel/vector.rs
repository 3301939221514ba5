//! x86 vector allocation: one 256-entry vector space per CPU (Linux's
//! `vector_irq` per CPU, arch/x86/kernel/apic/vector.c), device vectors from
//! `FIRST_EXTERNAL_VECTOR` up to the system vectors. A vector freed by an
//! affinity move can be handed out again.

use crate::ids::IrqId;

/// Linux `FIRST_EXTERNAL_VECTOR`: device vectors start here (docs/sources.md §4.2).
pub const FIRST_EXTERNAL_VECTOR: u8 = 0x20;
/// Linux `LOCAL_TIMER_VECTOR`: system vectors start here; device vectors stay below.
pub const FIRST_SYSTEM_VECTOR: u8 = 0xec;
/// Linux `CALL_FUNCTION_SINGLE_VECTOR` (docs/sources.md §4.2): RPS kicks remote backlogs with it.
pub const CALL_FUNCTION_SINGLE_VECTOR: u8 = 0xfb;
/// Linux `CALL_FUNCTION_VECTOR` (arch/x86/include/asm/irq_vectors.h): the
/// `smp_call_function_many` IPI, which carries TLB shootdowns
/// (`native_flush_tlb_multi`). The model sends every flush on it, also
/// when Linux would use the single-CPU vector, so that flush IPIs and RPS
/// kicks are counted apart.
pub const CALL_FUNCTION_VECTOR: u8 = 0xfc;

/// Linux `MAX_POSTED_MSI_COALESCING_LOOP` (arch/x86/kernel/irq.c): the
/// posted-MSI notification handler scans the PIR at most this many times,
/// the last after clearing ON.
pub const MAX_POSTED_MSI_COALESCING_LOOP: u8 = 3;

/// A CPU's posted-MSI notification handler in progress
/// (`sysvec_posted_msi_notification`).
#[derive(Clone, Debug, Default)]
pub struct PostedMsiRun {
    /// PIR scans (`handle_pending_pir`) done.
    pub rounds: u8,
    /// Whether the last scan found vectors.
    pub found: bool,
    /// ON has been cleared: the final scan runs.
    pub on_cleared: bool,
    /// The vectors this scan took; their handlers' exit halves run when the
    /// scan's frame ends.
    pub vectors: Vec<u8>,
}

/// One CPU's vector → IRQ map (`vector_irq` per CPU).
#[derive(Debug)]
pub struct VectorTable {
    irqs: [Option<IrqId>; 256],
}

impl Default for VectorTable {
    fn default() -> Self {
        VectorTable { irqs: [None; 256] }
    }
}

impl VectorTable {
    /// Allocates the lowest free device vector for `irq`; `None` when the
    /// CPU's device vector space is exhausted.
    pub fn allocate(&mut self, irq: IrqId) -> Option<u8> {
        let v = (FIRST_EXTERNAL_VECTOR..FIRST_SYSTEM_VECTOR).find(|v| self.irqs[*v as usize].is_none())?;
        self.irqs[v as usize] = Some(irq);
        Some(v)
    }

    /// Frees a vector (after its IRQ moved away).
    pub fn free(&mut self, v: u8) {
        self.irqs[v as usize] = None;
    }

    /// The IRQ wired to a vector.
    pub fn irq(&self, v: u8) -> Option<IrqId> {
        self.irqs[v as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_are_allocated_from_the_first_external_vector_and_reused_when_freed() {
        let mut t = VectorTable::default();
        assert_eq!(t.allocate(IrqId(0)), Some(0x20));
        assert_eq!(t.allocate(IrqId(5)), Some(0x21));
        assert_eq!(t.irq(0x21), Some(IrqId(5)));
        assert_eq!(t.irq(0x22), None);
        t.free(0x20);
        assert_eq!(t.allocate(IrqId(7)), Some(0x20), "the lowest free vector");
        for i in 0..(FIRST_SYSTEM_VECTOR - 0x22) {
            assert!(t.allocate(IrqId(i as u32)).is_some());
        }
        assert_eq!(t.allocate(IrqId(99)), None, "system vectors are never handed out");
    }
}
