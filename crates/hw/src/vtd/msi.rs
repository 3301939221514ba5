//! Remappable-format MSI (VT-d interrupt remapping) and the remappable
//! IO-APIC redirection entry.
//!
//! Models docs/sources.md §3.2. Address layout (QEMU `union
//! VTD_IR_MSIAddress`, `include/hw/i386/intel_iommu.h`; Linux `msidef.h`
//! `MSI_ADDR_IR_*` and `x86_msi_addr_lo` `dmar_*` fields):
//!
//! | Address bits | Field |
//! |---|---|
//! | 63:32 | upper address: must be 0 (QEMU faults 0x20 otherwise) |
//! | 31:20 | 0xFEE |
//! | 19:5 | handle\[14:0\] |
//! | 4 | interrupt format = 1 (remappable) |
//! | 3 | SHV — sub-handle valid |
//! | 2 | handle\[15\] |
//! | 1:0 | don't care (QEMU keeps them: `msi_addr_last_bits`) |
//!
//! Data: with SHV = 1, bits 15:0 are the sub-handle and bits 31:16 must be 0
//! (QEMU `VTD_IR_MSI_DATA_SUBHANDLE` / `VTD_IR_MSI_DATA_RESERVED`, fault
//! 0x20); with SHV = 0 the data is not used for the index (QEMU takes an
//! IO-APIC message's vector and trigger from it only to warn when they
//! differ from the IRTE's). The interrupt index is handle, plus sub-handle
//! when SHV = 1 (QEMU `vtd_interrupt_remap_msi`).
//!
//! A remappable IO-APIC RTE (Linux `struct IO_APIC_route_entry` `ir_*`
//! view) has the format bit at 48, index\[14:0\] at 63:49 and index\[15\] at
//! bit 11; QEMU's IO-APIC turns any RTE into an MSI write (`ioapic_entry_parse`)
//! with RTE bits 63:48 at address bits 19:4 and RTE bit 11 at address bit 2,
//! which makes exactly this address format.
//!
//! Left out: the compatibility-format pass-through decision (GSTS.CFIS →
//! fault 0x25) and the IRTE lookup itself (see [`super::irte`]).

use serde::Serialize;
use serde::ser::SerializeStruct;
use thiserror::Error;

use super::fault::FaultReason;
use crate::msi::field::{ADDR_HEAD, ADDR_HEAD_MASK, ADDR_HEAD_SHIFT, ADDR_INTERRUPT_FORMAT};

/// Bit positions of the remappable format.
pub mod field {
    /// Address bits 19:5: handle\[14:0\].
    pub const ADDR_HANDLE_LOW_SHIFT: u32 = 5;
    /// Mask of handle\[14:0\] once shifted down.
    pub const HANDLE_LOW_MASK: u16 = 0x7FFF;
    /// Address bit 3: SHV.
    pub const ADDR_SHV: u32 = 1 << 3;
    /// Address bit 2: handle\[15\].
    pub const ADDR_HANDLE_15: u32 = 1 << 2;
    /// Address bits 1:0: don't care.
    pub const ADDR_DONT_CARE: u32 = 0b11;
    /// Data bits 15:0: sub-handle.
    pub const DATA_SUBHANDLE: u32 = 0xFFFF;
    /// Data bits 31:16: reserved when SHV = 1.
    pub const DATA_RESERVED: u32 = 0xFFFF_0000;
    /// RTE bit 11: index\[15\] (Linux `ir_index_15`).
    pub const RTE_INDEX_15: u64 = 1 << 11;
    /// RTE bit 48: interrupt format (Linux `ir_format`).
    pub const RTE_FORMAT: u64 = 1 << 48;
    /// RTE bits 63:49: index\[14:0\] (Linux `ir_index_0_14`).
    pub const RTE_INDEX_SHIFT: u32 = 49;
    /// RTE bit 15: trigger mode level.
    pub const RTE_TRIGGER_LEVEL: u64 = 1 << 15;
}

/// Why an address is not a remappable-format MSI address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum RemapMsiError {
    /// Address bits 31:20 are not 0xFEE: not an interrupt message at all.
    #[error("address {address:#018x} is outside the MSI window: bits 31:20 are {head:#05x}, expected 0xfee")]
    BadHead {
        /// The full address.
        address: u64,
        /// Its bits 31:20.
        head: u32,
    },
    /// Address bit 4 is clear: a compatibility-format message.
    #[error("address {address:#018x} has bit 4 clear: compatibility format, not remappable")]
    NotRemappable {
        /// The full address.
        address: u64,
    },
}

/// A decoded remappable-format MSI message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RemappableMsi {
    /// Handle: address bits 19:5 (handle\[14:0\]) and bit 2 (handle\[15\]).
    pub handle: u16,
    /// Address bit 3.
    pub shv: bool,
    /// Data bits 15:0 (used for the index only when `shv`).
    pub subhandle: u16,
    /// Address bits 1:0, raw (don't care).
    pub address_reserved: u32,
    /// Data bits 31:16, raw and in place (must be 0 when `shv`).
    pub data_reserved: u32,
    /// Address bits 63:32, raw (must be 0).
    pub address_upper: u32,
}

impl RemappableMsi {
    /// Decode an address/data pair. Errors only when the address is not a
    /// remappable interrupt address (head ≠ 0xFEE, or bit 4 clear); the
    /// checks QEMU turns into fault 0x20 are [`check`](Self::check)'s.
    pub fn decode(address: u64, data: u32) -> Result<RemappableMsi, RemapMsiError> {
        let lo = (address & 0xFFFF_FFFF) as u32;
        let head = (lo & ADDR_HEAD_MASK) >> ADDR_HEAD_SHIFT;
        if head != ADDR_HEAD {
            return Err(RemapMsiError::BadHead { address, head });
        }
        if lo & ADDR_INTERRUPT_FORMAT == 0 {
            return Err(RemapMsiError::NotRemappable { address });
        }
        let low = ((lo >> field::ADDR_HANDLE_LOW_SHIFT) & u32::from(field::HANDLE_LOW_MASK)) as u16;
        let high = u16::from(lo & field::ADDR_HANDLE_15 != 0) << 15;
        Ok(RemappableMsi {
            handle: high | low,
            shv: lo & field::ADDR_SHV != 0,
            subhandle: (data & field::DATA_SUBHANDLE) as u16,
            address_reserved: lo & field::ADDR_DONT_CARE,
            data_reserved: data & field::DATA_RESERVED,
            address_upper: (address >> 32) as u32,
        })
    }

    /// Encode to `(address, data)`.
    pub fn encode(&self) -> (u64, u32) {
        let mut lo = (ADDR_HEAD << ADDR_HEAD_SHIFT) | ADDR_INTERRUPT_FORMAT;
        lo |= u32::from(self.handle & field::HANDLE_LOW_MASK) << field::ADDR_HANDLE_LOW_SHIFT;
        if self.handle & 0x8000 != 0 {
            lo |= field::ADDR_HANDLE_15;
        }
        if self.shv {
            lo |= field::ADDR_SHV;
        }
        lo |= self.address_reserved & field::ADDR_DONT_CARE;
        let data = u32::from(self.subhandle) | (self.data_reserved & field::DATA_RESERVED);
        ((u64::from(self.address_upper) << 32) | u64::from(lo), data)
    }

    /// The interrupt index: handle, plus sub-handle when SHV = 1 (QEMU
    /// `vtd_interrupt_remap_msi`; QEMU keeps the sum in a `uint16_t`, so it
    /// wraps there, where this value does not — an index ≥ 65536 is beyond
    /// any table, fault 0x21).
    pub fn index(&self) -> u32 {
        u32::from(self.handle) + if self.shv { u32::from(self.subhandle) } else { 0 }
    }

    /// The request-level checks QEMU reports as fault 0x20
    /// ([`FaultReason::IrReservedField`]): a non-zero upper address (checked
    /// before the IRTE is read), and data bits 31:16 with SHV = 1 (checked
    /// after it).
    pub fn check(&self) -> Result<(), FaultReason> {
        if self.address_upper != 0 || (self.shv && self.data_reserved != 0) {
            Err(FaultReason::IrReservedField)
        } else {
            Ok(())
        }
    }

    /// The message Linux programs for IRTE `index` (sub-handle 0): address
    /// `MSI_ADDR_BASE_LO | MSI_ADDR_IR_EXT_INT | MSI_ADDR_IR_SHV |
    /// MSI_ADDR_IR_INDEX1(index) | MSI_ADDR_IR_INDEX2(index)`, i.e.
    /// 0xFEE0_0000 | bit 4 | bit 3 | index\[15\] << 2 | index\[14:0\] << 5,
    /// upper address 0, data 0 (`intel_irq_remapping_prepare_irte`; newer
    /// kernels' `fill_msi_msg` sets the same bits through `x86_msi_addr_lo`).
    pub fn linux(index: u16) -> (u64, u32) {
        let lo = 0xFEE0_0000u32
            | ADDR_INTERRUPT_FORMAT
            | field::ADDR_SHV
            | (u32::from(index & 0x8000) >> 13)
            | (u32::from(index & 0x7FFF) << 5);
        (u64::from(lo), 0)
    }

    /// Misread or unusual settings, in words.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if self.address_upper != 0 {
            notes.push(format!(
                "upper address {:#010x} is non-zero: fault 0x20 (reserved field in the request)",
                self.address_upper
            ));
        }
        if self.shv && self.data_reserved != 0 {
            notes.push(format!(
                "SHV = 1 with data bits 31:16 = {:#06x}: fault 0x20 (reserved field in the request)",
                self.data_reserved >> 16
            ));
        }
        if !self.shv && (self.subhandle != 0 || self.data_reserved != 0) {
            notes.push(
                "SHV = 0: the data is not part of the index (IO-APIC style: QEMU only compares its vector and trigger with the IRTE's)"
                    .to_owned(),
            );
        }
        if self.index() > u32::from(u16::MAX) {
            notes.push(format!("interrupt index {:#x} is beyond any table (fault 0x21)", self.index()));
        }
        notes
    }

    /// `(name, value)` pairs, one per field, starting with `format:
    /// remappable`; each note is its own `note` line.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let (address, data) = self.encode();
        let mut out = vec![
            ("format", "remappable".to_owned()),
            ("address", format!("{address:#018x}")),
            ("data", format!("{data:#010x}")),
            ("handle", format!("{:#06x} ({})", self.handle, self.handle)),
            ("shv", self.shv.to_string()),
            ("subhandle", format!("{:#06x} ({})", self.subhandle, self.subhandle)),
            ("interrupt_index", format!("{:#06x} ({})", self.index(), self.index())),
            ("address_reserved", format!("{:#04b}", self.address_reserved)),
            ("address_upper", format!("{:#010x}", self.address_upper)),
            ("data_reserved", format!("{:#010x}", self.data_reserved)),
            ("check", super::context::check_text(self.check())),
        ];
        out.extend(self.notes().into_iter().map(|n| ("note", n)));
        out
    }
}

impl Serialize for RemappableMsi {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (address, data) = self.encode();
        let mut st = serializer.serialize_struct("RemappableMsi", 12)?;
        st.serialize_field("format", "remappable")?;
        st.serialize_field("address", &address)?;
        st.serialize_field("data", &data)?;
        st.serialize_field("handle", &self.handle)?;
        st.serialize_field("shv", &self.shv)?;
        st.serialize_field("subhandle", &self.subhandle)?;
        st.serialize_field("interrupt_index", &self.index())?;
        st.serialize_field("address_reserved", &self.address_reserved)?;
        st.serialize_field("address_upper", &self.address_upper)?;
        st.serialize_field("data_reserved", &self.data_reserved)?;
        st.serialize_field("check", &super::context::check_name(self.check()))?;
        st.serialize_field("notes", &self.notes())?;
        st.end()
    }
}

/// The MSI write QEMU's IO-APIC makes for an RTE (`ioapic_entry_parse`):
/// address 0xFEE0_0000 | RTE\[63:48\] << 4 | RTE\[11\] << 2; data = vector |
/// delivery mode << 8 | trigger << 15. For a remappable RTE the address is
/// a remappable MSI address with SHV = 0 and handle = the RTE's index.
/// (QEMU takes an ExtINT vector from the 8259A instead of the RTE; here it
/// is the RTE's.)
pub fn remappable_rte_to_msi(rte: u64) -> (u64, u32) {
    let dest_idx = ((rte >> 48) & 0xFFFF) as u32;
    let dest_mode = ((rte >> 11) & 1) as u32;
    let address = 0xFEE0_0000 | (dest_idx << 4) | (dest_mode << 2);
    let vector = (rte & 0xFF) as u32;
    let delivery_mode = ((rte >> 8) & 0b111) as u32;
    let trigger = ((rte >> 15) & 1) as u32;
    (u64::from(address), vector | (delivery_mode << 8) | (trigger << 15))
}

/// A remappable RTE as Linux programs it for IRTE `index`: format bit 48,
/// index\[14:0\] at 63:49, index\[15\] at bit 11, `vector` in 7:0, trigger
/// (bit 15) for a `level` pin, unmasked, active high, fixed delivery
/// (`intel_irq_remapping_prepare_irte`: `entry->index2`, `format = 1`,
/// `index`, `vector = ioapic_pin`, `trigger`). Linux puts the **pin
/// number** in the vector field (a "virtual vector"; the real vector is
/// the IRTE's) and masks level pins until they are started; pass the pin
/// to model it exactly, and OR in bit 13 for an active-low pin.
pub fn remappable_rte(index: u16, vector: u8, level: bool) -> u64 {
    let mut rte = u64::from(vector) | field::RTE_FORMAT;
    rte |= u64::from(index & 0x7FFF) << field::RTE_INDEX_SHIFT;
    if index & 0x8000 != 0 {
        rte |= field::RTE_INDEX_15;
    }
    if level {
        rte |= field::RTE_TRIGGER_LEVEL;
    }
    rte
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn linux_messages_decode_to_their_index() {
        // MSI_ADDR_IR_INDEX1(0x8001) = (0x8000) >> 13 = 0x4;
        // MSI_ADDR_IR_INDEX2(0x8001) = (0x0001) << 5 = 0x20;
        // 0xfee00000 | EXT_INT 0x10 | SHV 0x08 | 0x4 | 0x20 = 0xfee0003c.
        assert_eq!(RemappableMsi::linux(0x8001), (0xFEE0_003C, 0));
        // Index 0x1234: 0x1234 << 5 = 0x24680 → 0xfee24698.
        assert_eq!(RemappableMsi::linux(0x1234), (0xFEE2_4698, 0));
        let m = RemappableMsi::decode(0xFEE2_4698, 0).unwrap();
        assert_eq!((m.handle, m.shv, m.subhandle, m.index()), (0x1234, true, 0, 0x1234));
        assert_eq!(m.check(), Ok(()));
        assert!(m.notes().is_empty(), "{:?}", m.notes());
    }

    #[test]
    fn qemu_index_is_handle_plus_subhandle_when_shv() {
        // VTD_IR_MSIAddress: __not_care 1:0 = 0b01, index_h (2) = 0,
        // sub_valid (3) = 1, int_mode (4) = 1, index_l 19:5 = 0x10.
        let address = 0xFEE0_0000u64 | (0x10 << 5) | (1 << 4) | (1 << 3) | 0b01;
        let m = RemappableMsi::decode(address, 0x0000_0003).unwrap();
        assert_eq!((m.handle, m.subhandle, m.address_reserved, m.index()), (0x10, 3, 0b01, 0x13));
        assert_eq!(m.encode(), (address, 3));
        // Same with SHV = 0: the data is ignored.
        let m = RemappableMsi::decode(address & !(1 << 3), 0x0000_8031).unwrap();
        assert_eq!(m.index(), 0x10);
        assert_eq!(m.check(), Ok(()));
    }

    #[test]
    fn request_reserved_fields_are_fault_0x20_not_decode_errors() {
        let with_upper = RemappableMsi::decode(0x1_FEE0_0018, 0).unwrap();
        assert_eq!(with_upper.check(), Err(FaultReason::IrReservedField));
        let bad_data = RemappableMsi::decode(0xFEE0_0018, 0x0001_0000).unwrap();
        assert_eq!(bad_data.check(), Err(FaultReason::IrReservedField));
        // Data 31:16 without SHV is not a fault.
        assert_eq!(RemappableMsi::decode(0xFEE0_0010, 0x0001_0000).unwrap().check(), Ok(()));
        assert_eq!(RemappableMsi::decode(0xFEE0_1000, 0), Err(RemapMsiError::NotRemappable { address: 0xFEE0_1000 }));
        assert_eq!(
            RemappableMsi::decode(0xFED0_0010, 0),
            Err(RemapMsiError::BadHead { address: 0xFED0_0010, head: 0xFED })
        );
    }

    #[test]
    fn remappable_rte_becomes_the_index_through_qemus_ioapic() {
        // Linux IR RTE for index 0x8123, pin 3, level: vector 3, trigger
        // bit 15, index2 (bit 11) = 1, format (48) = 1, index 63:49 = 0x0123.
        let rte = remappable_rte(0x8123, 3, true);
        assert_eq!(rte, 3 | (1 << 15) | (1 << 11) | (1 << 48) | (0x0123 << 49));
        assert_eq!(rte, 0x0247_0000_0000_8803);
        // ioapic_entry_parse: dest_idx = rte >> 48 = 0x0247 → address bits
        // 19:4 = 0x2470; dest_mode (bit 11) → bit 2; data = 3 | 1 << 15.
        let (address, data) = remappable_rte_to_msi(rte);
        assert_eq!((address, data), (0xFEE0_2474, 0x8003));
        let m = RemappableMsi::decode(address, data).unwrap();
        assert_eq!((m.handle, m.shv, m.index()), (0x8123, false, 0x8123));
        // A plain RTE goes through as compatibility format (bit 4 clear).
        // 0x0100_0000_0000_a031: destination 1 → address bits 19:12, level (bit 15) → data bit 15.
        assert_eq!(remappable_rte_to_msi(0x0100_0000_0000_a031), (0xFEE0_1000, 0x8031));
    }

    #[test]
    fn fields_match_json_keys() {
        let m = RemappableMsi::decode(0x1_FEE0_003F, 0x0002_0005).unwrap();
        let v = serde_json::to_value(m).unwrap();
        for (name, _) in m.fields() {
            if name != "note" {
                assert!(v.get(name).is_some(), "JSON lacks {name}");
            }
        }
        assert_eq!(v["format"], "remappable");
        assert_eq!(v["check"], "ir_reserved_field");
    }

    proptest! {
        #[test]
        fn remappable_messages_round_trip(address in any::<u64>(), data in any::<u32>()) {
            let address = (address & !0xFFF0_0000) | 0xFEE0_0010;
            let m = RemappableMsi::decode(address, data).unwrap();
            prop_assert_eq!(m.encode(), (address, data));
            let (a, d) = m.encode();
            prop_assert_eq!(RemappableMsi::decode(a, d), Ok(m));
        }

        #[test]
        fn decode_never_panics_and_accepts_only_remappable(address in any::<u64>(), data in any::<u32>()) {
            match RemappableMsi::decode(address, data) {
                Ok(m) => prop_assert_eq!(m.encode(), (address, data)),
                Err(RemapMsiError::BadHead { .. }) => prop_assert_ne!((address >> 20) & 0xFFF, 0xFEE),
                Err(RemapMsiError::NotRemappable { .. }) => prop_assert_eq!(address & 0x10, 0),
            }
        }

        #[test]
        fn linux_and_rte_paths_give_the_index(index in any::<u16>(), vector in any::<u8>(), level in any::<bool>()) {
            let (a, d) = RemappableMsi::linux(index);
            prop_assert_eq!(RemappableMsi::decode(a, d).unwrap().index(), u32::from(index));
            let (a, d) = remappable_rte_to_msi(remappable_rte(index, vector, level));
            let m = RemappableMsi::decode(a, d).unwrap();
            prop_assert_eq!(m.index(), u32::from(index));
            prop_assert_eq!(d & 0xFF, u32::from(vector));
        }
    }
}
