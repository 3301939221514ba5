//! Interrupt remapping (docs/sources.md §3.2, §5.1), as QEMU's
//! `vtd_interrupt_remap_msi` and `vtd_irte_get` do it:
//!
//! 1. a compatibility-format message (address bit 4 clear) passes only if
//!    the platform allows it (GSTS.CFIS), else fault 0x25;
//! 2. a remappable one is decoded (reserved fields → 0x20) to its interrupt
//!    index (handle, plus the sub-handle when SHV); beyond the table → 0x21;
//! 3. the IRTE is read (from the interrupt entry cache, or the table in
//!    memory on a miss): not present → 0x22, reserved bits → 0x24;
//! 4. the requester ID is checked against the entry's SVT/SQ/SID → 0x26;
//! 5. the message the APIC bus sees is composed from the entry: its
//!    destination, vector, trigger and delivery mode.
//!
//! The kernel writes IRTEs into the table and invalidates the interrupt
//! entry cache (IEC) through the invalidation queue; an entry cached before
//! its rewrite stays in use until that invalidation.

use super::cache::SetAssoc;
use crate::ids::Rid;
use irqlab_hw::msi::{DeliveryMode, DestinationMode, MsiAddress, MsiData, MsiMessage, Trigger};
use irqlab_hw::vtd::fault::FaultReason;
use irqlab_hw::vtd::irte::Irte;
use irqlab_hw::vtd::msi::RemappableMsi;
use serde::Serialize;
use std::collections::BTreeMap;

/// Counts of the remapping unit.
#[derive(Clone, Debug, Default, Serialize)]
pub struct IrCounts {
    /// Remappable messages translated through an IRTE.
    pub remapped: u64,
    /// Compatibility-format messages passed unremapped (CFIS set).
    pub compat_passed: u64,
    /// Messages blocked, by fault reason name.
    pub blocked: BTreeMap<String, u64>,
    /// IRTE reads served by the interrupt entry cache.
    pub iec_hits: u64,
    /// IRTE reads that went to the table in memory.
    pub iec_misses: u64,
    /// IEC invalidations processed.
    pub iec_invalidations: u64,
    /// Messages whose IRTE is posted-format: posted to a descriptor.
    pub posted: u64,
}

/// Where a remapped message goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrOut {
    /// To the APIC bus, as this message.
    Message(MsiMessage),
    /// Into the posted-interrupt descriptor at `pda`: `vector`'s PIR bit,
    /// and a notification unless one is outstanding or suppressed.
    Posted {
        /// The IRTE's VV.
        vector: u8,
        /// The IRTE's URG.
        urgent: bool,
        /// The descriptor's address.
        pda: u64,
    },
}

/// A message refused by remapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IrFault {
    /// The fault reason (0x20–0x26).
    pub reason: FaultReason,
    /// The interrupt index concerned (0 if the message named none).
    pub index: u32,
    /// Whether the entry's FPD bit suppresses recording.
    pub fpd: bool,
}

/// The interrupt-remapping table and its cache.
#[derive(Clone, Debug)]
pub struct IrUnit {
    table: Vec<u128>,
    iec: SetAssoc<u32, u128>,
    compat_allowed: bool,
    /// Counters.
    pub counts: IrCounts,
}

impl IrUnit {
    /// A table of `entries` entries (all not present), an IEC of
    /// `iec_entries`; compatibility format allowed or not.
    pub fn new(entries: usize, iec_entries: usize, compat_allowed: bool) -> IrUnit {
        IrUnit {
            table: vec![0; entries],
            iec: SetAssoc::new(iec_entries, iec_entries),
            compat_allowed,
            counts: IrCounts::default(),
        }
    }

    /// Table entries.
    pub fn entries(&self) -> usize {
        self.table.len()
    }

    /// Software writes IRTE `index` in memory (the IEC may still hold the old one).
    pub fn write_irte(&mut self, index: u32, irte: u128) {
        if let Some(e) = self.table.get_mut(index as usize) {
            *e = irte;
        }
    }

    /// IRTE `index` as in memory.
    pub fn irte(&self, index: u32) -> u128 {
        self.table.get(index as usize).copied().unwrap_or(0)
    }

    /// An IEC invalidation: of entries `index .. index + 2^mask`, or all.
    pub fn invalidate(&mut self, range: Option<(u32, u8)>) {
        self.counts.iec_invalidations += 1;
        match range {
            Some((index, mask)) => {
                let n = 1u32 << mask;
                let base = index & !(n - 1);
                self.iec.invalidate(|k, _| (base..base + n).contains(k), |_, _| {});
            }
            None => self.iec.invalidate(|_, _| true, |_, _| {}),
        }
    }

    fn block(&mut self, f: IrFault) -> Result<IrOut, IrFault> {
        *self.counts.blocked.entry(fault_key(f.reason)).or_default() += 1;
        Err(f)
    }

    /// Remaps a message written by `rid`.
    pub fn remap(&mut self, rid: Rid, address: u64, data: u32) -> Result<IrOut, IrFault> {
        let fault = |reason, index| IrFault { reason, index, fpd: false };
        let Ok(msg) = RemappableMsi::decode(address, data) else {
            // Not remappable: compatibility format (or not an interrupt
            // address at all, which the APIC bus then refuses).
            if self.compat_allowed {
                self.counts.compat_passed += 1;
                return Ok(IrOut::Message(MsiMessage::new(address, data)));
            }
            return self.block(fault(FaultReason::CompatBlocked, 0));
        };
        if let Err(reason) = msg.check() {
            return self.block(fault(reason, msg.index()));
        }
        let index = msg.index();
        if index as usize >= self.table.len() {
            return self.block(fault(FaultReason::IrIndexBeyondTable, index));
        }
        let raw = match self.iec.get(0, index) {
            Some(raw) => {
                self.counts.iec_hits += 1;
                raw
            }
            None => {
                self.counts.iec_misses += 1;
                let raw = self.table[index as usize];
                if Irte::decode(raw).present() {
                    self.iec.insert(0, index, raw);
                }
                raw
            }
        };
        let irte = Irte::decode(raw);
        let fpd = irte.fpd();
        if let Err(reason) = irte.check() {
            return self.block(IrFault { reason, index, fpd });
        }
        if !irte.source().check(rid.0) {
            return self.block(IrFault { reason: FaultReason::SourceIdFailed, index, fpd });
        }
        let e = match irte {
            Irte::Remapped(e) => e,
            Irte::Posted(p) => {
                self.counts.posted += 1;
                return Ok(IrOut::Posted { vector: p.vector, urgent: p.urgent, pda: p.pda });
            }
        };
        self.counts.remapped += 1;
        let mut addr = MsiAddress::physical(e.apic_id(false) as u8);
        addr.redirection_hint = e.redir_hint;
        addr.destination_mode = if e.dest_mode_logical { DestinationMode::Logical } else { DestinationMode::Physical };
        let trigger = if e.trigger_level { Trigger::Level } else { Trigger::Edge };
        let data = MsiData::new(e.vector, DeliveryMode::from_bits(e.delivery_mode), trigger);
        Ok(IrOut::Message(MsiMessage::encode(&addr, &data)))
    }
}

/// The JSON key of a fault reason (its snake_case name).
pub fn fault_key(reason: FaultReason) -> String {
    reason.name()
}

#[cfg(test)]
mod tests {
    use super::*;
    use irqlab_hw::msi::MsiAddress;
    use irqlab_hw::vtd::irte::RemappedIrte;

    const NIC: Rid = Rid::bdf(1, 0, 0);

    fn unit() -> IrUnit {
        let mut ir = IrUnit::new(256, 4, false);
        ir.write_irte(3, Irte::Remapped(RemappedIrte::new(0x41, 2, false, false, NIC.0)).encode());
        ir
    }

    #[test]
    fn a_remappable_message_takes_its_destination_and_vector_from_the_irte() {
        let mut ir = unit();
        let (a, d) = RemappableMsi::linux(3);
        let IrOut::Message(m) = ir.remap(NIC, a, d).unwrap() else { panic!("remapped") };
        assert_eq!(MsiAddress::decode(m.address).unwrap().destination_id, 2);
        assert_eq!(MsiData::decode(m.data).vector, 0x41);
        assert_eq!((ir.counts.remapped, ir.counts.iec_misses), (1, 1));
        ir.remap(NIC, a, d).unwrap();
        assert_eq!(ir.counts.iec_hits, 1);
    }

    #[test]
    fn each_refusal_has_its_vt_d_reason() {
        let mut ir = unit();
        let reason = |ir: &mut IrUnit, rid: Rid, (a, d): (u64, u32)| ir.remap(rid, a, d).unwrap_err().reason;
        let compat = MsiMessage::compose(0, 0x41, DeliveryMode::Fixed, Trigger::Edge);
        assert_eq!(reason(&mut ir, NIC, (compat.address, compat.data)), FaultReason::CompatBlocked);
        assert_eq!(reason(&mut ir, Rid::bdf(0x20, 0, 0), RemappableMsi::linux(3)), FaultReason::SourceIdFailed);
        assert_eq!(reason(&mut ir, NIC, RemappableMsi::linux(4)), FaultReason::IrteNotPresent);
        assert_eq!(reason(&mut ir, NIC, RemappableMsi::linux(300)), FaultReason::IrIndexBeyondTable);
        let (a, _) = RemappableMsi::linux(3);
        assert_eq!(reason(&mut ir, NIC, (a, 0x1_0000)), FaultReason::IrReservedField, "SHV with data 31:16 set");
        assert_eq!(ir.counts.blocked.values().sum::<u64>(), 5);
        let mut open = IrUnit::new(256, 4, true);
        assert_eq!(open.remap(NIC, compat.address, compat.data), Ok(IrOut::Message(compat)), "CFIS: passed as written");
    }

    #[test]
    fn a_rewritten_irte_is_used_only_after_the_iec_is_invalidated() {
        let mut ir = unit();
        let (a, d) = RemappableMsi::linux(3);
        ir.remap(NIC, a, d).unwrap();
        ir.write_irte(3, Irte::Remapped(RemappedIrte::new(0x42, 1, false, false, NIC.0)).encode());
        let vector = |out: IrOut| match out {
            IrOut::Message(m) => MsiData::decode(m.data).vector,
            IrOut::Posted { .. } => panic!("remapped"),
        };
        assert_eq!(vector(ir.remap(NIC, a, d).unwrap()), 0x41, "the cached entry");
        ir.invalidate(Some((3, 0)));
        assert_eq!(vector(ir.remap(NIC, a, d).unwrap()), 0x42);
    }

    #[test]
    fn a_posted_entry_sends_the_message_to_its_descriptor() {
        use irqlab_hw::vtd::irte::PostedIrte;
        let mut ir = unit();
        let posted = PostedIrte::from_remapped(&RemappedIrte::new(0x41, 2, false, false, NIC.0), 0x55, 0x30_0080);
        ir.write_irte(5, Irte::Posted(posted).encode());
        let (a, d) = RemappableMsi::linux(5);
        assert_eq!(ir.remap(NIC, a, d), Ok(IrOut::Posted { vector: 0x55, urgent: false, pda: 0x30_0080 }));
        assert_eq!(ir.counts.posted, 1);
        // Source-id validation applies to posted entries too.
        assert_eq!(ir.remap(Rid::bdf(0x20, 0, 0), a, d).unwrap_err().reason, FaultReason::SourceIdFailed);
    }
}
