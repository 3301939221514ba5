//! The fault-recording registers, the fault status register and the fault
//! event (docs/sources.md §6), following QEMU's `vtd_report_frcd_fault`:
//!
//! * a new fault is not recorded while FSTS.PFO (primary fault overflow) is
//!   set; with `collapse_faults`, nor while a record from the same
//!   requester is pending (`vtd_try_collapse_fault`);
//! * otherwise it goes into the next recording register in turn; if that
//!   one still holds an unread fault (F = 1), PFO is set and the fault is lost;
//! * recording the first fault while none is pending (PPF 0 → 1) sets FRI
//!   to its index and raises the fault event — an interrupt at FEADDR/FEDATA,
//!   or FECTL.IP if FECTL.IM masks it (sent when unmasked).
//!
//! Software (Linux's `dmar_fault`) reads FSTS, reads and clears each record
//! from FRI while its F bit is set, then writes PFO to clear it.

use irqlab_hw::vtd::fault::{FaultReason, FaultRecord};
use serde::Serialize;

/// What became of one fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reported {
    /// Recorded; `event` if the fault event interrupt must be sent now.
    Recorded {
        /// PPF went 0 → 1 and the event is not masked.
        event: bool,
    },
    /// Not recorded: the requester already has a pending record.
    Collapsed,
    /// Not recorded: the next register was full (this set PFO) or PFO was set.
    Overflow,
    /// Not recorded: fault processing disabled (FPD) for its entry.
    Suppressed,
}

/// Counts of the fault path.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FaultCounts {
    /// Faults written into a recording register.
    pub recorded: u64,
    /// Faults lost to overflow (the one that set PFO and those while it was set).
    pub overflows: u64,
    /// Faults collapsed into a pending record of the same requester.
    pub collapsed: u64,
    /// Faults of entries with FPD set (not recorded).
    pub suppressed: u64,
    /// Fault event interrupts sent.
    pub events: u64,
    /// Records software read and cleared.
    pub drained: u64,
}

/// The registers.
#[derive(Clone, Debug)]
pub struct FaultRegs {
    records: Vec<u128>,
    next: usize,
    pfo: bool,
    fri: usize,
    masked: bool,
    event_pending: bool,
    collapse: bool,
    /// The first records written (raw), for a reader to decode.
    pub first: Vec<u128>,
    /// Counters.
    pub counts: FaultCounts,
}

/// Records [`FaultRegs::first`] keeps.
pub const FIRST_RECORDS: usize = 4;

/// FSTS bit 0: primary fault overflow.
pub const FSTS_PFO: u32 = 1;
/// FSTS bit 1: primary pending fault.
pub const FSTS_PPF: u32 = 1 << 1;

impl FaultRegs {
    /// `n` recording registers, all clear; the event masked as `masked`.
    pub fn new(n: usize, masked: bool, collapse: bool) -> FaultRegs {
        FaultRegs {
            records: vec![0; n.max(1)],
            next: 0,
            pfo: false,
            fri: 0,
            masked,
            event_pending: false,
            collapse,
            first: Vec::new(),
            counts: FaultCounts::default(),
        }
    }

    fn pending(&self) -> bool {
        self.records.iter().any(|r| FaultRecord::decode(*r).valid)
    }

    /// A fault of `reason` by requester `sid` at `addr` (for interrupt
    /// faults, the interrupt index in bits 63:48); `fpd` if its entry
    /// disables fault processing.
    pub fn report(&mut self, sid: u16, addr: u64, reason: FaultReason, write: bool, fpd: bool) -> Reported {
        if fpd {
            self.counts.suppressed += 1;
            return Reported::Suppressed;
        }
        if self.pfo {
            self.counts.overflows += 1;
            return Reported::Overflow;
        }
        if self.collapse
            && self.records.iter().any(|r| {
                let r = FaultRecord::decode(*r);
                r.valid && r.source_id == sid
            })
        {
            self.counts.collapsed += 1;
            return Reported::Collapsed;
        }
        if FaultRecord::decode(self.records[self.next]).valid {
            self.pfo = true;
            self.counts.overflows += 1;
            return Reported::Overflow;
        }
        let was_pending = self.pending();
        let rec =
            FaultRecord { fault_info: addr & !0xfff, source_id: sid, reason, read: !write, valid: true, reserved: 0 };
        self.records[self.next] = rec.encode();
        if self.first.len() < FIRST_RECORDS {
            self.first.push(rec.encode());
        }
        self.counts.recorded += 1;
        let index = self.next;
        self.next = (self.next + 1) % self.records.len();
        if was_pending {
            return Reported::Recorded { event: false };
        }
        self.fri = index;
        if self.masked {
            self.event_pending = true;
            Reported::Recorded { event: false }
        } else {
            self.counts.events += 1;
            Reported::Recorded { event: true }
        }
    }

    /// Fault status register: PFO, PPF and FRI (bits 15:8).
    pub fn fsts(&self) -> u32 {
        (self.pfo as u32) | ((self.pending() as u32) << 1) | ((self.fri as u32 & 0xff) << 8)
    }

    /// Number of recording registers.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether there are no recording registers (never: at least one).
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Recording register `i` as software reads it.
    pub fn record(&self, i: usize) -> u128 {
        self.records[i % self.records.len()]
    }

    /// Software writes 1 to record `i`'s F bit (write-1-to-clear).
    pub fn clear_record(&mut self, i: usize) {
        let n = self.records.len();
        self.records[i % n] = 0;
        self.counts.drained += 1;
    }

    /// Software writes FSTS: 1s in PFO clear it (PPF follows the records).
    pub fn write_fsts(&mut self, value: u32) {
        if value & FSTS_PFO != 0 {
            self.pfo = false;
        }
    }

    /// Software writes FECTL.IM. Unmasking with the event pending (IP)
    /// returns `true`: the interrupt goes out now.
    pub fn set_masked(&mut self, masked: bool) -> bool {
        self.masked = masked;
        if !masked && std::mem::take(&mut self.event_pending) {
            self.counts.events += 1;
            return true;
        }
        false
    }

    /// Whether FECTL.IM masks the event.
    pub fn masked(&self) -> bool {
        self.masked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(regs: &mut FaultRegs, sid: u16) -> Reported {
        regs.report(sid, 0x1234_5000, FaultReason::WriteDenied, true, false)
    }

    #[test]
    fn the_first_fault_raises_the_event_and_later_ones_wait_for_software() {
        let mut r = FaultRegs::new(2, false, false);
        assert_eq!(fault(&mut r, 0x100), Reported::Recorded { event: true });
        assert_eq!(r.fsts() & FSTS_PPF, FSTS_PPF);
        assert_eq!(fault(&mut r, 0x100), Reported::Recorded { event: false });
        assert_eq!(fault(&mut r, 0x100), Reported::Overflow, "both registers hold unread faults");
        assert_eq!(r.fsts() & FSTS_PFO, FSTS_PFO);
        assert_eq!(fault(&mut r, 0x200), Reported::Overflow, "nothing is recorded while PFO is set");
        let rec = FaultRecord::decode(r.record(0));
        assert_eq!((rec.source_id, rec.reason, rec.read, rec.valid), (0x100, FaultReason::WriteDenied, false, true));
        assert_eq!(rec.fault_info, 0x1234_5000);
        // dmar_fault: clear each record from FRI, then PFO.
        let fri = ((r.fsts() >> 8) & 0xff) as usize;
        assert_eq!(fri, 0);
        r.clear_record(0);
        r.clear_record(1);
        r.write_fsts(FSTS_PFO | FSTS_PPF);
        assert_eq!(r.fsts() & 0b11, 0);
        assert_eq!(fault(&mut r, 0x200), Reported::Recorded { event: true });
        assert_eq!(((r.fsts() >> 8) & 0xff) as usize, 0, "FRI names the next register in turn");
        assert_eq!(r.counts.overflows, 2);
        assert_eq!(r.counts.recorded, 3);
        assert_eq!(r.counts.events, 2);
    }

    #[test]
    fn collapsing_keeps_one_record_per_requester_and_fpd_records_nothing() {
        let mut r = FaultRegs::new(4, false, true);
        assert_eq!(fault(&mut r, 0x100), Reported::Recorded { event: true });
        assert_eq!(fault(&mut r, 0x100), Reported::Collapsed);
        assert_eq!(fault(&mut r, 0x200), Reported::Recorded { event: false });
        assert_eq!(r.report(0x300, 0, FaultReason::ReadDenied, false, true), Reported::Suppressed);
        assert_eq!(r.counts.recorded, 2);
    }

    #[test]
    fn a_masked_event_is_sent_on_unmask() {
        let mut r = FaultRegs::new(1, true, false);
        assert_eq!(fault(&mut r, 1), Reported::Recorded { event: false });
        assert!(r.set_masked(false));
        assert!(!r.set_masked(false), "sent once");
    }
}
