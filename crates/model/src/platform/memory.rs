//! Host memory that drivers and devices share: descriptor rings allocated
//! with `dma_alloc_coherent`, word by word, with when each word's latest
//! value became visible.
//!
//! A CPU store reaches memory through its store buffer
//! (memory/store_buffer.rs), so it becomes visible some time after it
//! issued; a device's DMA read samples memory at one instant and sees, per
//! 64-bit word, the latest value visible by then — or the value before it.
//! Each word keeps its two latest values, which is all a ring needs (a
//! descriptor is rewritten only a lap later). Device writes (completion
//! write-backs) are visible when their DMA completes. Packet buffers are
//! not kept: only their addresses travel.
//!
//! For the isolation study the memory also knows who owns which physical
//! range (the kernel, a device's buffers) and when a misbehaving device's
//! write landed where (ground truth the driver cannot see, to count the
//! frames such writes corrupt).

use crate::ids::Rid;
use irqlab_engine::Time;
use std::collections::BTreeMap;

// ---- the physical memory map ---------------------------------------------
//
// | range | what |
// |---|---|
// | 1 MiB – 256 MiB | kernel memory ([`KERNEL_PHYS`]) |
// | 4 GiB + q · 128 KiB | RX descriptor ring of queue q (devices/nic/rx.rs) |
// | 6 GiB + q · 1 MiB | TX descriptor ring of queue q (devices/nic/tx.rs) |
// | 8 GiB – 9 GiB | transmit buffers ([`TX_BUFFER_PHYS`]) |
// | 24 GiB + i · 4 KiB | misbehaving device i's own buffer ([`ROGUE_BUFFER_PHYS`]) |
// | 28 GiB | nobody's (devices/rogue.rs `UNOWNED_PHYS`) |
// | 64 GiB + q · 4 GiB | receive buffers of queue q ([`RX_BUFFER_PHYS`]) |
// | 32 TiB – | the IOMMU's tables (platform/iommu/tables.rs) |
//
// Rings are mapped at IOVA = physical address when the IOMMU translates;
// buffers at IOVAs the kernel allocates (kernel/iova.rs: below 2 GiB, or
// from 128 GiB up).

/// Physical address of RX queue 0's first packet buffer; queue q's start
/// `q << 32` above, one buffer per descriptor ([`rx_buffer_bytes`] apart).
pub const RX_BUFFER_PHYS: u64 = 0x10_0000_0000;
/// Bytes of the packet buffer each RX descriptor points to (2 KiB, the
/// common `rx_buf_len` for a 1500-byte MTU).
pub const RX_BUFFER_BYTES: u64 = 2048;
/// With header split, each descriptor's data buffer is a whole page.
pub const RX_SPLIT_BUFFER_BYTES: u64 = 4096;

/// Bytes of each RX descriptor's buffer: 2 KiB, or a page with header split.
pub fn rx_buffer_bytes(header_split: bool) -> u64 {
    if header_split { RX_SPLIT_BUFFER_BYTES } else { RX_BUFFER_BYTES }
}
/// Physical address of the sender's first packet buffer.
pub const TX_BUFFER_PHYS: u64 = 0x2_0000_0000;
/// One 2 KiB packet buffer per posted frame.
pub const TX_BUFFER_BYTES: u64 = 0x800;
/// Transmit buffer addresses wrap within 2^30 bytes (2^19 buffers, eight
/// laps of the largest ring): each lap of the ring uses fresh buffers, so
/// a torn descriptor (new control word, old address) points at the
/// previous lap's frame.
pub const TX_BUFFER_SPACE_MASK: u64 = (1 << 30) - 1;
/// Physical address of misbehaving device 0's own 4 KiB buffer; device
/// i's 4 KiB above.
pub const ROGUE_BUFFER_PHYS: u64 = 0x6_0000_0000;
/// Kernel memory (text, data, slab) as far as the model knows it: physical
/// 1 MiB to 256 MiB.
pub const KERNEL_PHYS: std::ops::Range<u64> = 0x10_0000..0x1000_0000;

/// Physical address of the host's per-CPU posted-interrupt descriptors
/// (posted MSIs): 64 bytes per APIC ID, 256 of them, in kernel memory.
pub const POSTED_MSI_PID_PHYS: u64 = 0x30_0000;

/// The posted-MSI descriptor of APIC `apic_id` (64-byte aligned).
pub fn posted_msi_pid(apic_id: u32) -> u64 {
    POSTED_MSI_PID_PHYS + 64 * (apic_id as u64 & 0xff)
}

/// Physical address of RX buffer `slot` of queue `q`, buffers `stride` bytes apart.
pub fn rx_buffer_phys(q: u32, slot: u64, stride: u64) -> u64 {
    RX_BUFFER_PHYS + ((q as u64) << 32) + slot * stride
}

/// Physical address of the transmit buffer of the `idx`-th posted frame.
pub fn tx_buffer_phys(idx: u64) -> u64 {
    TX_BUFFER_PHYS + (idx.wrapping_mul(TX_BUFFER_BYTES) & TX_BUFFER_SPACE_MASK)
}

/// Who owns a physical range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// Kernel memory.
    Kernel,
    /// A device's DMA buffers.
    Device(Rid),
}

/// One 64-bit word: its previous and latest value, and when the latest
/// became visible.
#[derive(Clone, Copy, Debug, Default)]
struct Word {
    old: u64,
    new: u64,
    visible: Time,
}

/// A coherent DMA allocation.
#[derive(Debug)]
struct Region {
    base: u64,
    words: Words,
}

/// A region's contents.
#[derive(Debug)]
enum Words {
    /// Each word with its previous value and when its latest became
    /// visible (stores through a store buffer: the TX ring).
    Timed(Vec<Word>),
    /// One value per word, visible once stored (memory whose readers are
    /// ordered after its writers by another handshake: the RX ring, whose
    /// descriptors the NIC reads only once the driver's tail write has
    /// passed them).
    Plain(Vec<u64>),
}

impl Words {
    fn len(&self) -> usize {
        match self {
            Words::Timed(w) => w.len(),
            Words::Plain(w) => w.len(),
        }
    }
}

/// The shared memory of the machine.
#[derive(Debug, Default)]
pub struct HostMemory {
    /// Allocations, sorted by base, not overlapping.
    regions: Vec<Region>,
    /// Owned ranges: base → (length, owner), not overlapping.
    owners: BTreeMap<u64, (u64, Owner)>,
    /// Rogue writes that landed: start → (length, latest time).
    clobbers: BTreeMap<u64, (u64, Time)>,
    /// The region the last lookup found (most accesses walk one ring).
    hint: std::cell::Cell<usize>,
}

impl HostMemory {
    /// Allocates `bytes` (zeroed) at physical address `base`.
    pub fn alloc(&mut self, base: u64, bytes: u64) {
        self.insert(Region { base, words: Words::Timed(vec![Word::default(); bytes.div_ceil(8) as usize]) });
    }

    /// Allocates `bytes` (zeroed) at `base` whose stores are visible at
    /// once (see [`Words::Plain`]).
    pub fn alloc_plain(&mut self, base: u64, bytes: u64) {
        self.insert(Region { base, words: Words::Plain(vec![0; bytes.div_ceil(8) as usize]) });
    }

    fn insert(&mut self, r: Region) {
        let i = self.regions.partition_point(|x| x.base < r.base);
        self.regions.insert(i, r);
    }

    fn region(&self, addr: u64) -> Option<usize> {
        let within = |r: &Region| addr >= r.base && addr < r.base + 8 * r.words.len() as u64;
        let h = self.hint.get();
        if self.regions.get(h).is_some_and(within) {
            return Some(h);
        }
        let i = self.regions.partition_point(|r| r.base <= addr).checked_sub(1)?;
        within(&self.regions[i]).then(|| {
            self.hint.set(i);
            i
        })
    }

    /// Records that `owner` owns `[base, base + len)`.
    pub fn set_owner(&mut self, base: u64, len: u64, owner: Owner) {
        self.owners.insert(base, (len, owner));
    }

    /// Who owns the byte at `addr`, if anyone.
    pub fn owner(&self, addr: u64) -> Option<Owner> {
        let (base, (len, owner)) = self.owners.range(..=addr).next_back()?;
        (addr < base + len).then_some(*owner)
    }

    /// A misbehaving device's write of `len` bytes at `addr` landed at `at`.
    pub fn clobber(&mut self, addr: u64, len: u64, at: Time) {
        let e = self.clobbers.entry(addr).or_insert((len, at));
        e.0 = e.0.max(len);
        e.1 = e.1.max(at);
    }

    /// Whether any rogue write has landed at all.
    pub fn has_clobbers(&self) -> bool {
        !self.clobbers.is_empty()
    }

    /// Whether a rogue write landed in `[addr, addr + len)` after `since`.
    pub fn clobbered_since(&self, addr: u64, len: u64, since: Time) -> bool {
        // Rogue writes are at most a frame (1518 bytes) long.
        let from = addr.saturating_sub(2048);
        self.clobbers.range(from..addr + len).any(|(a, (l, t))| a + l > addr && *t > since)
    }

    /// When the latest value of the word at `addr` became (or becomes) visible.
    pub fn visible_at(&self, addr: u64) -> Time {
        let Some(i) = self.region(addr) else { return Time::ZERO };
        let r = &self.regions[i];
        match &r.words {
            Words::Timed(w) => w[((addr - r.base) / 8) as usize].visible,
            Words::Plain(_) => Time::ZERO,
        }
    }

    /// A store of `value` to `addr` that becomes visible at `visible`
    /// (at once in plain memory).
    pub fn store(&mut self, addr: u64, value: u64, visible: Time) {
        let Some(i) = self.region(addr) else { return };
        let r = &mut self.regions[i];
        let k = ((addr - r.base) / 8) as usize;
        match &mut r.words {
            Words::Timed(words) => {
                let w = &mut words[k];
                w.old = w.new;
                w.new = value;
                w.visible = visible;
            }
            Words::Plain(words) => words[k] = value,
        }
    }

    /// An atomic update of the 64-byte posted-interrupt descriptor at `pda`
    /// at `now` (the remapping hardware's posting, KVM's and the kernel's
    /// updates): reads it, applies `f`, writes back the words that changed.
    pub fn update_pid<R>(
        &mut self,
        pda: u64,
        now: Time,
        f: impl FnOnce(&mut irqlab_hw::vtd::pid::PostedInterruptDescriptor) -> R,
    ) -> R {
        let mut words = [0u64; 8];
        self.read(pda, now, &mut words);
        let mut pid = irqlab_hw::vtd::pid::PostedInterruptDescriptor::decode(words);
        let r = f(&mut pid);
        for (i, (old, new)) in words.iter().zip(pid.encode()).enumerate() {
            if *old != new {
                self.store(pda + 8 * i as u64, new, now);
            }
        }
        r
    }

    /// What a read of `out.len()` consecutive words from `addr` at `at`
    /// returns, word by word as [`HostMemory::sample`] gives it (one region
    /// lookup for the run while it stays inside a region).
    pub fn read(&self, addr: u64, at: Time, out: &mut [u64]) {
        let Some(i) = self.region(addr) else {
            for (k, w) in out.iter_mut().enumerate() {
                *w = self.sample(addr + 8 * k as u64, at).0;
            }
            return;
        };
        let r = &self.regions[i];
        let first = ((addr - r.base) / 8) as usize;
        let inside = out.len().min(r.words.len() - first);
        let (here, beyond) = out.split_at_mut(inside);
        match &r.words {
            Words::Timed(words) => {
                for (w, m) in here.iter_mut().zip(&words[first..]) {
                    *w = if m.visible <= at { m.new } else { m.old };
                }
            }
            Words::Plain(words) => here.copy_from_slice(&words[first..first + inside]),
        }
        for (k, w) in beyond.iter_mut().enumerate() {
            *w = self.sample(addr + 8 * (inside + k) as u64, at).0;
        }
    }

    /// What a read of `addr` at `at` returns, and the latest value written
    /// (which the model knows, to tell a stale read from a current one).
    pub fn sample(&self, addr: u64, at: Time) -> (u64, u64) {
        let Some(i) = self.region(addr) else { return (0, 0) };
        let r = &self.regions[i];
        let k = ((addr - r.base) / 8) as usize;
        match &r.words {
            Words::Timed(words) => {
                let w = &words[k];
                (if w.visible <= at { w.new } else { w.old }, w.new)
            }
            Words::Plain(words) => (words[k], words[k]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_sees_a_store_only_once_it_is_visible() {
        let mut m = HostMemory::default();
        m.alloc(0x1000, 32);
        m.store(0x1008, 7, Time(100));
        assert_eq!(m.sample(0x1008, Time(99)), (0, 7));
        assert_eq!(m.sample(0x1008, Time(100)), (7, 7));
        m.store(0x1008, 9, Time(200));
        assert_eq!(m.sample(0x1008, Time(150)), (7, 9));
        assert_eq!(m.sample(0x2000, Time(150)), (0, 0), "outside every allocation");
        m.alloc(0x800, 16);
        m.store(0x808, 5, Time(1));
        assert_eq!(m.sample(0x808, Time(1)), (5, 5), "regions stay sorted");
        assert_eq!(m.sample(0x1008, Time(300)), (9, 9));
    }

    #[test]
    fn a_read_of_consecutive_words_gives_what_each_sample_gives() {
        let mut m = HostMemory::default();
        m.alloc(0x1000, 32);
        m.alloc(0x1020, 16);
        m.alloc_plain(0x3000, 32);
        for (i, a) in [0x1000u64, 0x1010, 0x1020, 0x3008, 0x3018].into_iter().enumerate() {
            m.store(a, 10 + i as u64, Time(100 * i as u64));
        }
        for at in [0, 150, 1000] {
            for addr in [0xff8u64, 0x1000, 0x1018, 0x1028, 0x2ff0, 0x3000, 0x3010, 0x5000] {
                let mut out = [u64::MAX; 5];
                m.read(addr, Time(at), &mut out);
                let each: Vec<u64> = (0..5).map(|k| m.sample(addr + 8 * k, Time(at)).0).collect();
                assert_eq!(out.to_vec(), each, "{addr:#x} at {at}");
            }
        }
    }

    #[test]
    fn owners_and_rogue_writes_are_found_by_address() {
        let mut m = HostMemory::default();
        m.set_owner(0x1000, 0x1000, Owner::Kernel);
        m.set_owner(0x4000, 0x800, Owner::Device(Rid(0x100)));
        assert_eq!(m.owner(0x1fff), Some(Owner::Kernel));
        assert_eq!(m.owner(0x2000), None);
        assert_eq!(m.owner(0x47ff), Some(Owner::Device(Rid(0x100))));
        assert!(!m.has_clobbers());
        m.clobber(0x4040, 64, Time(10));
        assert!(m.clobbered_since(0x4000, 0x800, Time(5)));
        assert!(!m.clobbered_since(0x4000, 0x800, Time(10)), "before the frame landed");
        assert!(!m.clobbered_since(0x4800, 0x800, Time(0)), "another buffer");
    }

    #[test]
    fn plain_memory_shows_a_store_at_once() {
        let mut m = HostMemory::default();
        m.alloc_plain(0x1000, 16);
        m.store(0x1008, 3, Time(500));
        assert_eq!(m.sample(0x1008, Time(0)), (3, 3));
        assert_eq!(m.visible_at(0x1008), Time::ZERO);
    }
}
