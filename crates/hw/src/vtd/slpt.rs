//! VT-d second-level page tables (legacy mode): the 64-bit entry, its
//! reserved bits per level, and a walk of the tables for one address.
//!
//! Models docs/sources.md §6. Entry layout (Linux `struct dma_pte` comment
//! and `DMA_PTE_*` in `drivers/iommu/intel/iommu.h`; QEMU `VTD_SL_*` in
//! `hw/i386/intel_iommu_internal.h`):
//!
//! | Bits | Field |
//! |---|---|
//! | 0 | R — read |
//! | 1 | W — write |
//! | 6:2 | ignored in legacy mode (Linux: "reserved"; QEMU does not check them) |
//! | 7 | PS — page size: the entry maps a 2 MiB (level 2) or 1 GiB (level 3) page; reserved at levels 4 and 5; ignored at level 1 |
//! | 10:8 | available to software |
//! | 11 | SNP — snoop behaviour (reserved unless the unit supports snoop control) |
//! | 51:12 | address of the next table or of the page |
//! | 61:52, 63 | ignored (QEMU `VTD_SL_IGN_COM = 0xbff0000000000000`) |
//! | 62 | TM — transient mapping in old specifications; reserved by QEMU unless `stale-tm` |
//!
//! Level `n` (1 = the 4 KiB page table … 5) indexes with address bits
//! `12 + 9n − 1 : 12 + 9(n − 1)`; a context entry with AW gives
//! `levels = AW + 2` and an input-address width of `12 + 9·levels` bits.
//!
//! [`walk`] follows QEMU `vtd_iova_to_slpte` step by step:
//! 1. an address at or above 2^min(AGAW, HAW) → 0x4 (`vtd_iova_sl_range_check`);
//! 2. per level: read the entry; permissions accumulate as the AND over the
//!    levels read (`*reads = *reads && R`, `*writes = *writes && W`);
//! 3. an entry without the requested permission → 0x5 for a write, 0x6 for a
//!    read — this includes a **non-present entry** (R = W = 0): QEMU checks
//!    the access right before anything else and never reports 0x7 for one;
//! 4. then reserved bits (`vtd_slpte_nonzero_rsvd`) → 0xC;
//! 5. level 1, or PS set, ends the walk (`vtd_is_last_pte`); otherwise the
//!    next table is the entry's address masked to the host address width.
//!
//! A failed memory read (only [`walk_fallible`] can report one) gives 0x3
//! at the top level and 0x7 below it, as QEMU does when `vtd_get_pte`
//! returns `-1`.
//!
//! Left out: the output-address check QEMU adds after a walk (a translation
//! into 0xFEE0_0000–0xFEEF_FFFF faults with its non-architectural code
//! 0xE; see [`Walk::hits_interrupt_range`]); snoop control and `stale-tm`
//! (bits 11 and 62 are always reserved here, QEMU's default); first-level
//! and nested tables; accessed/dirty bits; IOTLB caching.

use serde::Serialize;
use serde::ser::SerializeStruct;

use super::fault::FaultReason;
use super::mask64;

/// Bit positions of a second-level entry.
pub mod field {
    /// Bit 0: read permission.
    pub const READ: u64 = 1;
    /// Bit 1: write permission.
    pub const WRITE: u64 = 1 << 1;
    /// Bit 7: page size (super-page) at levels 2 and 3.
    pub const PAGE_SIZE: u64 = 1 << 7;
    /// Bit 11: snoop behaviour.
    pub const SNP: u64 = 1 << 11;
    /// Bits 51:12: address.
    pub const ADDRESS_MASK: u64 = 0x000F_FFFF_FFFF_F000;
    /// Bit 62: TM in old specifications, reserved by QEMU (`VTD_SL_TM`).
    pub const TM: u64 = 1 << 62;
    /// Bits 63 and 61:52: ignored (QEMU `VTD_SL_IGN_COM`).
    pub const IGNORED: u64 = 0xBFF0_0000_0000_0000;
    /// Index bits per level (512 entries per 4 KiB table).
    pub const LEVEL_BITS: u32 = 9;
    /// Shift of a 4 KiB page.
    pub const PAGE_SHIFT: u32 = 12;
    /// Deepest supported walk (AW 3, 57-bit).
    pub const MAX_LEVELS: u8 = 5;
    /// Shallowest supported walk (AW 1, 39-bit).
    pub const MIN_LEVELS: u8 = 3;
    /// First address of the interrupt range (QEMU `VTD_INTERRUPT_ADDR_FIRST`).
    pub const INTERRUPT_FIRST: u64 = 0xFEE0_0000;
    /// Last address of the interrupt range (QEMU `VTD_INTERRUPT_ADDR_LAST`).
    pub const INTERRUPT_LAST: u64 = 0xFEEF_FFFF;
}

/// Address shift of `level`: 12 + 9·(level − 1) (QEMU `vtd_pt_level_shift`).
/// Level 0 is treated as 1.
pub const fn level_shift(level: u8) -> u32 {
    field::PAGE_SHIFT + field::LEVEL_BITS * (level.saturating_sub(1) as u32)
}

/// Index of `iova` in a table of `level` (QEMU `vtd_iova_level_offset`):
/// 9 address bits starting at [`level_shift`]. Levels past the address
/// width index 0.
pub fn level_index(iova: u64, level: u8) -> usize {
    let index = iova.checked_shr(level_shift(level)).unwrap_or(0) & 0x1FF;
    usize::try_from(index).unwrap_or(0)
}

/// The host-address-width mask: bits `haw − 1 .. 0`.
fn haw_mask(haw: u8) -> u64 {
    u64::MAX.checked_shr(64u32.saturating_sub(u32::from(haw))).unwrap_or(0)
}

/// Reserved bits of `raw` as an entry at `level` (1 = 4 KiB leaf level … 5)
/// under host address width `haw`, as QEMU's `vtd_spte_rsvd[level]` /
/// `vtd_spte_rsvd_large[level]` masks select them (`VTD_SPTE_PAGE_L*_RSVD_MASK`,
/// `VTD_SPTE_LPAGE_L*_RSVD_MASK` with snoop control and `stale-tm` off):
///
/// * every level: SNP (bit 11), TM (bit 62) and address bits `haw..=51`;
/// * levels 2 and 3 with PS set: also the address bits below the page size
///   (20:12 for 2 MiB, 29:12 for 1 GiB — the page must be aligned);
/// * levels 4 and 5: also PS (bit 7) (QEMU has no level-5 mask; level 5
///   uses level 4's, as the VT-d specification reserves PS above level 3);
/// * level 1: bit 7 is ignored, not PS;
/// * any other level: every bit (QEMU `vtd_spte_rsvd[0] = ~0`).
///
/// `haw` is taken in 12..=52 (a wider or narrower value is clamped).
pub fn reserved_bits(raw: u64, level: u8, haw: u8) -> u64 {
    if level == 0 || level > field::MAX_LEVELS {
        return raw;
    }
    let mut mask = field::SNP | field::TM | mask64(51, u32::from(haw.clamp(12, 52)));
    match level {
        2 | 3 if raw & field::PAGE_SIZE != 0 => mask |= mask64(level_shift(level) - 1, field::PAGE_SHIFT),
        4 | 5 => mask |= field::PAGE_SIZE,
        _ => {}
    }
    raw & mask
}

/// A decoded second-level entry. `raw` keeps every bit; the named fields
/// are views of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct SlPte {
    /// Bit 0.
    pub read: bool,
    /// Bit 1.
    pub write: bool,
    /// Bit 7 (PS at levels 2/3; its meaning depends on the level).
    pub page_size: bool,
    /// Bits 51:12 as an address.
    pub address: u64,
    /// The whole entry.
    pub raw: u64,
}

impl SlPte {
    /// Decode a 64-bit entry.
    pub const fn decode(raw: u64) -> SlPte {
        SlPte {
            read: raw & field::READ != 0,
            write: raw & field::WRITE != 0,
            page_size: raw & field::PAGE_SIZE != 0,
            address: raw & field::ADDRESS_MASK,
            raw,
        }
    }

    /// Encode: `raw` with R, W, PS and the address replaced by the fields.
    pub const fn encode(&self) -> u64 {
        let mut raw = self.raw & !(field::READ | field::WRITE | field::PAGE_SIZE | field::ADDRESS_MASK);
        if self.read {
            raw |= field::READ;
        }
        if self.write {
            raw |= field::WRITE;
        }
        if self.page_size {
            raw |= field::PAGE_SIZE;
        }
        raw | (self.address & field::ADDRESS_MASK)
    }

    /// A non-leaf entry pointing at the next-level table `next` with R and W
    /// set, as Linux `pfn_to_dma_pte` installs one (`DMA_PTE_READ |
    /// DMA_PTE_WRITE`).
    pub const fn table(next: u64) -> SlPte {
        SlPte::decode((next & field::ADDRESS_MASK) | field::READ | field::WRITE)
    }

    /// A leaf mapping the page at `addr` with the given permissions; `large`
    /// sets PS (a 2 MiB or 1 GiB page at level 2 or 3).
    pub const fn leaf(addr: u64, read: bool, write: bool, large: bool) -> SlPte {
        let mut raw = addr & field::ADDRESS_MASK;
        if read {
            raw |= field::READ;
        }
        if write {
            raw |= field::WRITE;
        }
        if large {
            raw |= field::PAGE_SIZE;
        }
        SlPte::decode(raw)
    }

    /// R or W set (Linux `dma_pte_present`).
    pub const fn present(&self) -> bool {
        self.read || self.write
    }

    /// Whether the walk ends at this entry at `level` (QEMU
    /// `vtd_is_last_pte`: level 1, or PS set).
    pub const fn is_leaf(&self, level: u8) -> bool {
        level <= 1 || self.page_size
    }
}

/// An entry seen at a given level of a given unit: what it means and which
/// of its bits are reserved there. The printable form of [`SlPte`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SlPteAtLevel {
    /// The entry.
    pub pte: SlPte,
    /// Its level, 1 (4 KiB page table) … 5.
    pub level: u8,
    /// The unit's host address width.
    pub haw: u8,
}

impl SlPteAtLevel {
    /// Reserved bits set (see [`reserved_bits`]).
    pub fn reserved(&self) -> u64 {
        reserved_bits(self.pte.raw, self.level, self.haw)
    }

    /// Whether a walk stops here, with the page size it maps.
    pub fn maps(&self) -> Option<u64> {
        let leaf = self.level == 1 || (self.pte.page_size && matches!(self.level, 2 | 3));
        leaf.then(|| 1u64 << level_shift(self.level))
    }

    /// Misread or unusual settings, in words.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if !(1..=field::MAX_LEVELS).contains(&self.level) {
            notes.push(format!("level {} does not exist (1-5): every bit counts as reserved", self.level));
        }
        if !self.pte.present() {
            notes.push("not present (R = W = 0): a walk through it faults 0x6 on read, 0x5 on write".to_owned());
        }
        if self.level == 1 && self.pte.page_size {
            notes.push("bit 7 is ignored at level 1 (not a page-size bit)".to_owned());
        }
        if self.pte.raw & field::SNP != 0 {
            notes.push("SNP (bit 11) set: reserved unless the unit supports snoop control".to_owned());
        }
        if self.pte.raw & field::IGNORED != 0 {
            notes.push(format!("ignored bits 63, 61:52 set: {:#018x}", self.pte.raw & field::IGNORED));
        }
        notes
    }

    /// `(name, value)` pairs, one per field; each note is its own `note` line.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let maps = self.maps().map_or_else(|| "none (points at a table)".to_owned(), size_text);
        let mut out = vec![
            ("raw", format!("{:#018x}", self.pte.raw)),
            ("level", self.level.to_string()),
            ("haw", self.haw.to_string()),
            ("present", self.pte.present().to_string()),
            ("read", self.pte.read.to_string()),
            ("write", self.pte.write.to_string()),
            ("page_size", self.pte.page_size.to_string()),
            ("address", format!("{:#018x}", self.pte.address)),
            ("maps", maps),
            ("reserved", format!("{:#018x}", self.reserved())),
        ];
        out.extend(self.notes().into_iter().map(|n| ("note", n)));
        out
    }
}

impl Serialize for SlPteAtLevel {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut st = serializer.serialize_struct("SlPteAtLevel", 11)?;
        st.serialize_field("raw", &self.pte.raw)?;
        st.serialize_field("level", &self.level)?;
        st.serialize_field("haw", &self.haw)?;
        st.serialize_field("present", &self.pte.present())?;
        st.serialize_field("read", &self.pte.read)?;
        st.serialize_field("write", &self.pte.write)?;
        st.serialize_field("page_size", &self.pte.page_size)?;
        st.serialize_field("address", &self.pte.address)?;
        st.serialize_field("maps", &self.maps())?;
        st.serialize_field("reserved", &self.reserved())?;
        st.serialize_field("notes", &self.notes())?;
        st.end()
    }
}

/// `4 KiB`, `2 MiB`, `1 GiB` (or bytes).
fn size_text(bytes: u64) -> String {
    match bytes {
        0x1000 => "4 KiB".to_owned(),
        0x20_0000 => "2 MiB".to_owned(),
        0x4000_0000 => "1 GiB".to_owned(),
        other => format!("{other:#x} bytes"),
    }
}

/// A successful walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Walk {
    /// The translated address of the input address (page base | offset).
    pub phys: u64,
    /// log2 of the mapped page: 12, 21 or 30.
    pub page_shift: u32,
    /// Reads allowed: R in every entry read.
    pub read: bool,
    /// Writes allowed: W in every entry read.
    pub write: bool,
    /// Entries read from memory, one per level walked.
    pub entries_read: u8,
}

impl Walk {
    /// Bytes of the mapped page.
    pub const fn page_size(&self) -> u64 {
        1 << self.page_shift
    }

    /// Whether the mapped page overlaps 0xFEE0_0000–0xFEEF_FFFF, which QEMU
    /// turns into a fault (its code 0xE) after a successful walk.
    pub const fn hits_interrupt_range(&self) -> bool {
        let base = self.phys & !(self.page_size() - 1);
        base <= field::INTERRUPT_LAST && base + (self.page_size() - 1) >= field::INTERRUPT_FIRST
    }
}

/// A walk that faulted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct WalkFault {
    /// The fault to record.
    pub reason: FaultReason,
    /// The level at which it happened (the top level for 0x3 and 0x4).
    pub level: u8,
    /// Entries read before and including the faulting one.
    pub entries_read: u8,
}

impl std::fmt::Display for WalkFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "fault {} at level {} after {} entries read", self.reason, self.level, self.entries_read)
    }
}

/// Translate `iova` through the tables rooted at `slptptr` (the context
/// entry's SLPTPTR; low 12 bits ignored), `levels` deep (3–5, i.e. AW + 2),
/// for a unit with host address width `haw`, for a write or a read. `read`
/// returns the 8-byte entry at a physical address. See the module doc for
/// the rules; levels outside 3–5 fault 0x3 without reading.
pub fn walk(
    slptptr: u64,
    levels: u8,
    haw: u8,
    iova: u64,
    write: bool,
    read: &mut impl FnMut(u64) -> u64,
) -> Result<Walk, WalkFault> {
    walk_fallible(slptptr, levels, haw, iova, write, &mut |addr| Some(read(addr)))
}

/// [`walk`] over memory that can fail to read (`None`): a failed read of
/// the top-level entry faults 0x3, of a lower one 0x7 (QEMU
/// `vtd_iova_to_slpte`).
pub fn walk_fallible(
    slptptr: u64,
    levels: u8,
    haw: u8,
    iova: u64,
    write: bool,
    read: &mut impl FnMut(u64) -> Option<u64>,
) -> Result<Walk, WalkFault> {
    let fault = |reason, level, entries_read| Err(WalkFault { reason, level, entries_read });
    if !(field::MIN_LEVELS..=field::MAX_LEVELS).contains(&levels) {
        return fault(FaultReason::ContextInvalid, levels, 0);
    }
    let width = (field::PAGE_SHIFT + field::LEVEL_BITS * u32::from(levels)).min(u32::from(haw));
    if iova.checked_shr(width).unwrap_or(0) != 0 {
        return fault(FaultReason::AddressBeyondMgaw, levels, 0);
    }
    let addr_mask = field::ADDRESS_MASK & haw_mask(haw);
    let mut table = slptptr & !0xFFF;
    let (mut can_read, mut can_write) = (true, true);
    let mut entries_read = 0u8;
    for level in (1..=levels).rev() {
        let entry_addr = table.wrapping_add(8 * level_index(iova, level) as u64);
        let Some(raw) = read(entry_addr) else {
            let reason = if level == levels { FaultReason::ContextInvalid } else { FaultReason::NextLevelInvalid };
            return fault(reason, level, entries_read);
        };
        entries_read += 1;
        let pte = SlPte::decode(raw);
        can_read &= pte.read;
        can_write &= pte.write;
        if !(if write { pte.write } else { pte.read }) {
            let reason = if write { FaultReason::WriteDenied } else { FaultReason::ReadDenied };
            return fault(reason, level, entries_read);
        }
        if reserved_bits(raw, level, haw) != 0 {
            return fault(FaultReason::PteReserved, level, entries_read);
        }
        if pte.is_leaf(level) {
            let page_shift = level_shift(level);
            let offset = (1u64 << page_shift) - 1;
            let phys = (raw & addr_mask & !offset) | (iova & offset);
            return Ok(Walk { phys, page_shift, read: can_read, write: can_write, entries_read });
        }
        table = raw & addr_mask;
    }
    // The loop always returns at level 1 (a leaf by definition).
    fault(FaultReason::ContextInvalid, levels, entries_read)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    /// Sparse memory of 8-byte entries.
    #[derive(Default)]
    struct Mem(HashMap<u64, u64>);

    impl Mem {
        fn set(&mut self, table: u64, index: u64, value: u64) {
            self.0.insert(table + 8 * index, value);
        }
        fn reader(&self) -> impl FnMut(u64) -> u64 + '_ {
            |a| self.0.get(&a).copied().unwrap_or(0)
        }
    }

    /// iova 0x12_3456_7abc split by hand into its 9-bit indices:
    /// 0x12_3456_7abc = 0b0_0000_0000 (47:39) 0_0100_1000 (38:30)
    /// 1_1010_0010 (29:21) 1_0110_0111 (20:12) 0xabc (11:0).
    const IOVA: u64 = 0x12_3456_7ABC;
    const IDX: [u64; 5] = [0x167, 0x1A2, 0x048, 0x000, 0x000];

    #[test]
    fn level_geometry_matches_qemu() {
        assert_eq!([1, 2, 3, 4, 5].map(level_shift), [12, 21, 30, 39, 48]);
        for (level, idx) in (1u8..=5).zip(IDX) {
            assert_eq!(level_index(IOVA, level) as u64, idx, "level {level}");
        }
        assert_eq!(level_index(u64::MAX, 9), 0);
    }

    #[test]
    fn reserved_masks_equal_qemus_for_haw_39() {
        // VTD_HAW_MASK(39) = 0x7f_ffff_ffff; VTD_SL_IGN_COM = 0xbff0_0000_0000_0000;
        // ~(0xbff0_007f_ffff_ffff) = 0x400f_ff80_0000_0000.
        let base = 0x400F_FF80_0000_0000u64;
        assert_eq!(reserved_bits(u64::MAX, 1, 39), base | 0x800); // PAGE_L1
        assert_eq!(reserved_bits(!0x80, 2, 39), base | 0x800); // PAGE_L2
        assert_eq!(reserved_bits(!0x80, 3, 39), base | 0x800); // PAGE_L3
        assert_eq!(reserved_bits(u64::MAX, 4, 39), base | 0x880); // PAGE_L4
        assert_eq!(reserved_bits(u64::MAX, 2, 39), base | 0x1F_F800); // LPAGE_L2
        assert_eq!(reserved_bits(u64::MAX, 3, 39), base | 0x3FFF_F800); // LPAGE_L3
        assert_eq!(reserved_bits(u64::MAX, 5, 39), base | 0x880);
        assert_eq!(reserved_bits(0x1234, 0, 48), 0x1234); // vtd_spte_rsvd[0] = ~0
        // 48-bit: address bits 51:48 only.
        assert_eq!(reserved_bits(u64::MAX, 1, 48), 0x400F_0000_0000_0800);
        // A clean leaf with bit 7 set at level 1 has nothing reserved.
        assert_eq!(reserved_bits(0x0000_0001_2345_6083, 1, 39), 0);
    }

    /// Four-level tables (AW 2) for IOVA, built from the hand indices.
    fn four_level(leaf: u64) -> Mem {
        let mut m = Mem::default();
        m.set(0x1000, IDX[3], SlPte::table(0x2000).raw);
        m.set(0x2000, IDX[2], SlPte::table(0x3000).raw);
        m.set(0x3000, IDX[1], SlPte::table(0x4000).raw);
        m.set(0x4000, IDX[0], leaf);
        m
    }

    #[test]
    fn four_level_walk_to_a_4k_page() {
        // Leaf for page 0x8765_4000, R|W: raw 0x8765_4003.
        let mem = four_level(0x8765_4003);
        let w = walk(0x1000, 4, 48, IOVA, true, &mut mem.reader()).unwrap();
        assert_eq!(w, Walk { phys: 0x8765_4ABC, page_shift: 12, read: true, write: true, entries_read: 4 });
        assert_eq!(w.page_size(), 4096);
        assert!(!w.hits_interrupt_range());
    }

    #[test]
    fn super_pages_stop_the_walk() {
        // 2 MiB page at level 2: leaf 0x4060_0000 | PS | R | W = 0x4060_0083;
        // offset = IOVA & 0x1f_ffff = 0x16_7abc.
        let mut m = Mem::default();
        m.set(0x1000, IDX[3], SlPte::table(0x2000).raw);
        m.set(0x2000, IDX[2], SlPte::table(0x3000).raw);
        m.set(0x3000, IDX[1], 0x4060_0083);
        let w = walk(0x1000, 4, 48, IOVA, false, &mut m.reader()).unwrap();
        assert_eq!((w.phys, w.page_shift, w.entries_read), (0x4076_7ABC, 21, 3));
        // 1 GiB page at level 3 (3-level walk, AW 1): leaf 0x8000_0081 (R only);
        // offset = IOVA & 0x3fff_ffff = 0x3456_7abc.
        let mut m = Mem::default();
        m.set(0x1000, IDX[2], 0x8000_0081);
        let w = walk(0x1000, 3, 39, IOVA, false, &mut m.reader()).unwrap();
        assert_eq!(w, Walk { phys: 0xB456_7ABC, page_shift: 30, read: true, write: false, entries_read: 1 });
        assert_eq!(
            walk(0x1000, 3, 39, IOVA, true, &mut m.reader()),
            Err(WalkFault { reason: FaultReason::WriteDenied, level: 3, entries_read: 1 })
        );
        // The 2 MiB page at 0xFEE0_0000 covers the interrupt range.
        let mut m = Mem::default();
        m.set(0x1000, IDX[2], SlPte::table(0x3000).raw);
        m.set(0x3000, IDX[1], 0xFEE0_0083);
        assert!(walk(0x1000, 3, 39, IOVA, false, &mut m.reader()).unwrap().hits_interrupt_range());
    }

    #[test]
    fn non_present_entries_fault_as_permission_errors() {
        // QEMU vtd_iova_to_slpte: !(slpte & access_right_check) →
        // is_write ? -VTD_FR_WRITE : -VTD_FR_READ, before any other check.
        let empty = Mem::default();
        assert_eq!(
            walk(0x1000, 4, 48, IOVA, false, &mut empty.reader()),
            Err(WalkFault { reason: FaultReason::ReadDenied, level: 4, entries_read: 1 })
        );
        let mem = four_level(0); // leaf not present
        assert_eq!(
            walk(0x1000, 4, 48, IOVA, true, &mut mem.reader()),
            Err(WalkFault { reason: FaultReason::WriteDenied, level: 1, entries_read: 4 })
        );
        // Non-present with reserved bits: the permission fault wins.
        let mem = four_level(0x800);
        assert_eq!(walk(0x1000, 4, 48, IOVA, false, &mut mem.reader()).unwrap_err().reason, FaultReason::ReadDenied);
    }

    #[test]
    fn permissions_are_the_and_over_levels() {
        // Level-3 entry read-only (0x3001 = table 0x3000 | R); leaf R|W.
        let mut mem = four_level(0x8765_4003);
        mem.set(0x2000, IDX[2], 0x3001);
        let w = walk(0x1000, 4, 48, IOVA, false, &mut mem.reader()).unwrap();
        assert!(w.read && !w.write);
        assert_eq!(
            walk(0x1000, 4, 48, IOVA, true, &mut mem.reader()),
            Err(WalkFault { reason: FaultReason::WriteDenied, level: 3, entries_read: 2 })
        );
        // Write-only leaf: a read faults 0x6 at level 1.
        let mem = four_level(0x8765_4002);
        assert_eq!(
            walk(0x1000, 4, 48, IOVA, false, &mut mem.reader()),
            Err(WalkFault { reason: FaultReason::ReadDenied, level: 1, entries_read: 4 })
        );
    }

    #[test]
    fn reserved_bits_fault_0xc() {
        // SNP (bit 11) in the leaf.
        let mem = four_level(0x8765_4803);
        assert_eq!(
            walk(0x1000, 4, 48, IOVA, false, &mut mem.reader()),
            Err(WalkFault { reason: FaultReason::PteReserved, level: 1, entries_read: 4 })
        );
        // PS at level 4.
        let mut mem = four_level(0x8765_4003);
        mem.set(0x1000, IDX[3], 0x2083);
        assert_eq!(walk(0x1000, 4, 48, IOVA, false, &mut mem.reader()).unwrap_err().level, 4);
        // Misaligned 2 MiB page (bit 12 set).
        let mut mem = four_level(0x8765_4003);
        mem.set(0x3000, IDX[1], 0x4060_1083);
        assert_eq!(
            walk(0x1000, 4, 48, IOVA, false, &mut mem.reader()).unwrap_err(),
            WalkFault { reason: FaultReason::PteReserved, level: 2, entries_read: 3 }
        );
        // Next-table address above a 39-bit HAW (bit 40) in a 3-level walk.
        let mut mem = Mem::default();
        mem.set(0x1000, IDX[2], (1 << 40) | 0x2003);
        assert_eq!(walk(0x1000, 3, 39, IOVA, false, &mut mem.reader()).unwrap_err().reason, FaultReason::PteReserved);
    }

    #[test]
    fn addresses_beyond_the_width_fault_before_reading() {
        let mem = four_level(0x8765_4003);
        let mut reads = 0;
        let mut count = |a| {
            reads += 1;
            mem.0.get(&a).copied().unwrap_or(0)
        };
        // 4 levels → 48-bit; 1 << 48 is beyond.
        assert_eq!(
            walk(0x1000, 4, 48, 1 << 48, false, &mut count),
            Err(WalkFault { reason: FaultReason::AddressBeyondMgaw, level: 4, entries_read: 0 })
        );
        // 4 levels under a 39-bit HAW: min(48, 39) = 39.
        assert_eq!(walk(0x1000, 4, 39, 1 << 39, false, &mut count).unwrap_err().reason, FaultReason::AddressBeyondMgaw);
        assert_eq!(walk(0x1000, 6, 48, 0, false, &mut count).unwrap_err().reason, FaultReason::ContextInvalid);
        assert_eq!(reads, 0);
    }

    #[test]
    fn failed_reads_are_0x3_at_the_top_and_0x7_below() {
        let mem = four_level(0x8765_4003);
        let mut top = |_| None;
        assert_eq!(
            walk_fallible(0x1000, 4, 48, IOVA, false, &mut top),
            Err(WalkFault { reason: FaultReason::ContextInvalid, level: 4, entries_read: 0 })
        );
        let mut lower = |a| if a >= 0x3000 { None } else { mem.0.get(&a).copied() };
        assert_eq!(
            walk_fallible(0x1000, 4, 48, IOVA, false, &mut lower),
            Err(WalkFault { reason: FaultReason::NextLevelInvalid, level: 2, entries_read: 2 })
        );
    }

    #[test]
    fn printable_entry_fields_match_json_keys() {
        let e = SlPteAtLevel { pte: SlPte::decode(0x4060_0883), level: 2, haw: 48 };
        let v = serde_json::to_value(e).unwrap();
        for (name, _) in e.fields() {
            if name != "note" {
                assert!(v.get(name).is_some(), "JSON lacks {name}");
            }
        }
        assert_eq!(v["reserved"], 0x800);
        assert_eq!(v["maps"], 0x20_0000);
        assert!(e.notes().iter().any(|n| n.contains("SNP")));
    }

    proptest! {
        #[test]
        fn entries_round_trip(raw in any::<u64>()) {
            let pte = SlPte::decode(raw);
            prop_assert_eq!(pte.encode(), raw);
            prop_assert_eq!(SlPte::decode(pte.encode()), pte);
        }

        #[test]
        fn built_entries_decode_to_themselves(addr in any::<u64>(), r in any::<bool>(), w in any::<bool>(), ps in any::<bool>()) {
            let leaf = SlPte::leaf(addr, r, w, ps);
            prop_assert_eq!(SlPte::decode(leaf.encode()), leaf);
            prop_assert_eq!(leaf.address, addr & field::ADDRESS_MASK);
            let table = SlPte::table(addr);
            prop_assert_eq!(SlPte::decode(table.encode()), table);
        }

        #[test]
        fn walks_never_panic_and_read_at_most_levels(
            root in any::<u64>(), levels in 0u8..8, haw in any::<u8>(), iova in any::<u64>(),
            write in any::<bool>(), seed in any::<u64>(),
        ) {
            let mut reads = 0u8;
            let mut mem = |a: u64| { reads += 1; a.rotate_left(17) ^ seed };
            let n = match walk(root, levels, haw, iova, write, &mut mem) {
                Ok(w) => w.entries_read,
                Err(f) => f.entries_read,
            };
            prop_assert_eq!(n, reads);
            prop_assert!(n <= levels);
        }

        #[test]
        fn a_mapped_4k_page_translates_every_offset(page in 0u64..(1 << 36), iova in 0u64..(1 << 48)) {
            let mut m = Mem::default();
            let leaf = SlPte::leaf(page << 12, true, true, false).raw;
            m.set(0x1000, level_index(iova, 4) as u64, SlPte::table(0x2000).raw);
            m.set(0x2000, level_index(iova, 3) as u64, SlPte::table(0x3000).raw);
            m.set(0x3000, level_index(iova, 2) as u64, SlPte::table(0x4000).raw);
            m.set(0x4000, level_index(iova, 1) as u64, leaf);
            let w = walk(0x1000, 4, 48, iova, true, &mut m.reader()).unwrap();
            prop_assert_eq!(w.phys, (page << 12) | (iova & 0xfff));
        }
    }
}
