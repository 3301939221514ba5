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

use irqlab_engine::Time;

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
    words: Vec<Word>,
}

/// The shared memory of the machine.
#[derive(Debug, Default)]
pub struct HostMemory {
    regions: Vec<Region>,
}

impl HostMemory {
    /// Allocates `bytes` (zeroed) at bus address `base`.
    pub fn alloc(&mut self, base: u64, bytes: u64) {
        self.regions.push(Region { base, words: vec![Word::default(); bytes.div_ceil(8) as usize] });
    }

    fn word(&self, addr: u64) -> Option<&Word> {
        self.regions
            .iter()
            .find(|r| addr >= r.base && addr < r.base + 8 * r.words.len() as u64)
            .map(|r| &r.words[((addr - r.base) / 8) as usize])
    }

    fn word_mut(&mut self, addr: u64) -> Option<&mut Word> {
        self.regions
            .iter_mut()
            .find(|r| addr >= r.base && addr < r.base + 8 * r.words.len() as u64)
            .map(|r| &mut r.words[((addr - r.base) / 8) as usize])
    }

    /// When the latest value of the word at `addr` became (or becomes) visible.
    pub fn visible_at(&self, addr: u64) -> Time {
        self.word(addr).map_or(Time::ZERO, |w| w.visible)
    }

    /// A store of `value` to `addr` that becomes visible at `visible`.
    pub fn store(&mut self, addr: u64, value: u64, visible: Time) {
        if let Some(w) = self.word_mut(addr) {
            w.old = w.new;
            w.new = value;
            w.visible = visible;
        }
    }

    /// What a read of `addr` at `at` returns, and the latest value written
    /// (which the model knows, to tell a stale read from a current one).
    pub fn sample(&self, addr: u64, at: Time) -> (u64, u64) {
        self.word(addr).map_or((0, 0), |w| (if w.visible <= at { w.new } else { w.old }, w.new))
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
    }
}
