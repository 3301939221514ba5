//! The IOMMU's structures in host memory: the root table, context tables
//! and second-level page tables (docs/sources.md §6), each a 4 KiB table of
//! 512 64-bit words in the bit layouts of `irqlab_hw::vtd`.
//!
//! The kernel's IOMMU driver writes them (attaching a device writes its
//! root and context entries; a map writes page-table entries, allocating
//! the tables on the way down, as Linux's `pfn_to_dma_pte` does); the
//! IOMMU's walker reads them. They live in their own physical range,
//! [`TABLE_BASE`] upwards, one table after another; tables are never freed
//! (Linux frees page-table pages only when a whole range is unmapped).

use irqlab_hw::vtd::context::{ContextEntry, RootEntry};
use irqlab_hw::vtd::slpt::{SlPte, level_index, level_shift};

/// Physical address of the first table (32 TiB, above any buffer).
pub const TABLE_BASE: u64 = 0x2000_0000_0000;
/// Bytes of one table.
pub const TABLE_BYTES: u64 = 4096;
/// Host address width the unit reports (bits): addresses above it are
/// reserved in page-table entries. 46 bits, as current Xeons.
pub const HOST_ADDRESS_WIDTH: u8 = 46;

/// One leaf mapping: the page's physical address, its size (log2) and permissions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Leaf {
    /// Physical address of the page.
    pub phys: u64,
    /// log2 of the page size: 12, 21 or 30.
    pub shift: u32,
    /// Device reads allowed.
    pub read: bool,
    /// Device writes allowed.
    pub write: bool,
}

impl Leaf {
    /// A read-write page of `1 << shift` bytes at `phys`.
    pub fn rw(phys: u64, shift: u32) -> Leaf {
        Leaf { phys, shift, read: true, write: true }
    }
}

/// The tables, by physical address.
#[derive(Debug, Default)]
pub struct TableMemory {
    tables: Vec<Box<[u64; 512]>>,
}

impl TableMemory {
    /// A zeroed table; its physical address.
    pub fn alloc(&mut self) -> u64 {
        self.tables.push(Box::new([0; 512]));
        TABLE_BASE + (self.tables.len() as u64 - 1) * TABLE_BYTES
    }

    /// Tables allocated so far.
    pub fn tables(&self) -> usize {
        self.tables.len()
    }

    fn slot(&self, addr: u64) -> Option<(usize, usize)> {
        let off = addr.checked_sub(TABLE_BASE)?;
        let t = (off / TABLE_BYTES) as usize;
        (t < self.tables.len()).then_some((t, ((off % TABLE_BYTES) / 8) as usize))
    }

    /// The 64-bit word at `addr`; `None` outside every table (a pointer
    /// to memory that holds no table).
    pub fn read(&self, addr: u64) -> Option<u64> {
        self.slot(addr).map(|(t, w)| self.tables[t][w])
    }

    /// The 128-bit entry at `addr` (low word first).
    pub fn read128(&self, addr: u64) -> Option<u128> {
        Some(self.read(addr)? as u128 | (self.read(addr + 8)? as u128) << 64)
    }

    /// Writes the word at `addr` (ignored outside every table).
    pub fn write(&mut self, addr: u64, value: u64) {
        if let Some((t, w)) = self.slot(addr) {
            self.tables[t][w] = value;
        }
    }

    /// Writes a 128-bit entry at `addr`.
    pub fn write128(&mut self, addr: u64, value: u128) {
        self.write(addr, value as u64);
        self.write(addr + 8, (value >> 64) as u64);
    }

    /// Writes the context entry of requester `sid` under root table `root`,
    /// creating the bus's context table if its root entry is not present.
    pub fn set_context(&mut self, root: u64, sid: u16, ce: &ContextEntry) {
        let root_addr = root + 16 * (sid >> 8) as u64;
        let re = RootEntry::decode(self.read128(root_addr).unwrap_or(0));
        let table = if re.present {
            re.context_table
        } else {
            let t = self.alloc();
            let re = RootEntry { present: true, context_table: t, reserved: 0 };
            self.write128(root_addr, re.encode());
            t
        };
        self.write128(table + 16 * (sid & 0xff) as u64, ce.encode());
    }

    /// Maps the page at `iova` as `leaf` says in the `levels`-level tables
    /// rooted at `pgd`, allocating missing tables; returns the tables allocated.
    pub fn map(&mut self, pgd: u64, levels: u8, iova: u64, leaf: Leaf) -> u32 {
        let Leaf { phys, shift, read, write } = leaf;
        let leaf_level = ((shift - 12) / 9 + 1) as u8;
        let mut table = pgd;
        let mut allocated = 0;
        for level in (leaf_level + 1..=levels).rev() {
            let addr = table + 8 * level_index(iova, level) as u64;
            let pte = SlPte::decode(self.read(addr).unwrap_or(0));
            table = if pte.read || pte.write {
                pte.address
            } else {
                let t = self.alloc();
                allocated += 1;
                self.write(addr, SlPte::table(t).encode());
                t
            };
        }
        let addr = table + 8 * level_index(iova, leaf_level) as u64;
        self.write(addr, SlPte::leaf(phys, read, write, leaf_level > 1).encode());
        allocated
    }

    /// Clears the leaf entry of the page of `1 << shift` bytes at `iova`;
    /// `false` if it was not mapped.
    pub fn unmap(&mut self, pgd: u64, levels: u8, iova: u64, shift: u32) -> bool {
        let leaf_level = ((shift - 12) / 9 + 1) as u8;
        let mut table = pgd;
        for level in (leaf_level + 1..=levels).rev() {
            let pte = SlPte::decode(self.read(table + 8 * level_index(iova, level) as u64).unwrap_or(0));
            if !(pte.read || pte.write) {
                return false;
            }
            table = pte.address;
        }
        let addr = table + 8 * level_index(iova, leaf_level) as u64;
        let was = self.read(addr).unwrap_or(0);
        self.write(addr, 0);
        was & 0b11 != 0
    }
}

/// Bytes of the region one entry at `level` maps.
pub fn region(level: u8) -> u64 {
    1u64 << level_shift(level)
}

#[cfg(test)]
mod tests {
    use super::*;
    use irqlab_hw::vtd::context::TranslationType;

    #[test]
    fn a_4k_map_builds_one_table_per_level_and_writes_the_leaf() {
        let mut m = TableMemory::default();
        let pgd = m.alloc();
        let iova = 0x7fff_f000;
        assert_eq!(m.map(pgd, 4, iova, Leaf::rw(0x12_3456_7000, 12)), 3);
        // Walk by hand: level-4 index 0, level-3 index 1, level-2 index 0x1ff, level-1 index 0x1ff.
        let l4 = SlPte::decode(m.read(pgd).unwrap());
        assert!(l4.read && l4.write && !l4.page_size);
        let l3 = SlPte::decode(m.read(l4.address + 8).unwrap());
        let l2 = SlPte::decode(m.read(l3.address + 8 * 0x1ff).unwrap());
        let l1 = SlPte::decode(m.read(l2.address + 8 * 0x1ff).unwrap());
        assert_eq!(l1.address, 0x12_3456_7000);
        assert!(l1.read && l1.write);
        assert_eq!(
            m.map(pgd, 4, iova - 0x1000, Leaf { phys: 0x1000, shift: 12, read: true, write: false }),
            0,
            "same tables"
        );
        assert!(m.unmap(pgd, 4, iova, 12));
        assert!(!m.unmap(pgd, 4, iova, 12), "already unmapped");
        assert!(!m.unmap(pgd, 4, 1 << 40, 12), "never mapped");
    }

    #[test]
    fn a_2m_map_stops_at_level_2_with_ps() {
        let mut m = TableMemory::default();
        let pgd = m.alloc();
        assert_eq!(m.map(pgd, 4, 0x4000_0000, Leaf::rw(0x8_0000_0000, 21)), 2);
        let l4 = SlPte::decode(m.read(pgd).unwrap());
        let l3 = SlPte::decode(m.read(l4.address + 8).unwrap());
        let l2 = SlPte::decode(m.read(l3.address).unwrap());
        assert!(l2.page_size);
        assert_eq!(l2.address, 0x8_0000_0000);
    }

    #[test]
    fn context_entries_sit_under_their_bus() {
        let mut m = TableMemory::default();
        let root = m.alloc();
        let ce = ContextEntry::new_translated(0xabc000 | TABLE_BASE, 7, 2);
        m.set_context(root, 0x0100, &ce);
        let re = RootEntry::decode(m.read128(root + 16).unwrap());
        assert!(re.present);
        let got = ContextEntry::decode(m.read128(re.context_table).unwrap());
        assert_eq!(got.did, 7);
        assert_eq!(got.translation_type, TranslationType::MultiLevel);
        assert_eq!(m.read128(root).unwrap(), 0, "bus 0 untouched");
        assert_eq!(m.read(0x1000), None);
    }
}
