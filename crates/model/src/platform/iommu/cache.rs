//! A set-associative cache with least-recently-used replacement: the shape
//! of the IOMMU's translation caches (the IOTLB, the context cache, the
//! paging-structure cache and the interrupt entry cache).
//!
//! Hardware sizes and organisations are not architectural (VT-d §6.2 lets
//! an implementation choose them); a scenario picks the entries and the
//! ways. A fully associative cache is one set.

/// One way of a set.
#[derive(Clone, Copy, Debug, Default)]
struct Way<K, V> {
    key: K,
    value: V,
    /// Last use (a counter), for LRU.
    used: u64,
}

/// A set-associative LRU cache from `K` to `V`.
///
/// The ways of every set sit in one vector (set `s` at `s * ways ..`), the
/// occupied ones first, so a lookup touches one short run of memory.
#[derive(Clone, Debug)]
pub struct SetAssoc<K, V> {
    /// Every set's ways; those past a set's `fill` hold nothing (defaults).
    slots: Vec<Way<K, V>>,
    /// Occupied ways of each set.
    fill: Vec<u32>,
    sets: usize,
    /// `sets - 1` when `sets` is a power of two (the set is then a mask).
    mask: Option<u64>,
    ways: usize,
    clock: u64,
    /// Each set's way of its last lookup or insertion (slot index): looked
    /// at first, since DMAs come in runs to one page. Only a shortcut: the
    /// key is compared, and LRU ages are kept as without it.
    mru: Vec<usize>,
}

/// What an insertion displaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Evicted<K, V> {
    /// Nothing: a free way took it (or the key was present and is replaced).
    None,
    /// The set was full; its least recently used entry left.
    Entry(K, V),
}

impl<K: Copy + PartialEq + Default, V: Copy + Default> SetAssoc<K, V> {
    /// A cache of `entries` entries in sets of `ways` (`entries` a multiple
    /// of `ways`, both at least 1).
    pub fn new(entries: usize, ways: usize) -> SetAssoc<K, V> {
        let ways = ways.clamp(1, entries.max(1));
        let sets = (entries.max(1) / ways).max(1);
        SetAssoc {
            slots: vec![Way::default(); sets * ways],
            fill: vec![0; sets],
            sets,
            mask: sets.is_power_of_two().then_some(sets as u64 - 1),
            ways,
            clock: 0,
            mru: (0..sets).map(|s| s * ways).collect(),
        }
    }

    /// Number of sets.
    pub fn sets(&self) -> usize {
        self.sets
    }

    fn set_of(&self, set: u64) -> usize {
        match self.mask {
            Some(m) => (set & m) as usize,
            None => (set % self.sets as u64) as usize,
        }
    }

    /// The slot of `key` in set `s`, if present.
    #[inline]
    fn find(&self, s: usize, key: &K) -> Option<usize> {
        let base = s * self.ways;
        let end = base + self.fill[s] as usize;
        let m = self.mru[s];
        if m < end && self.slots[m].key == *key {
            return Some(m);
        }
        self.slots[base..end].iter().position(|w| w.key == *key).map(|i| base + i)
    }

    /// Looks `key` up in set `set % sets`; a hit becomes the most recently used.
    #[inline]
    pub fn get(&mut self, set: u64, key: K) -> Option<V> {
        self.clock += 1;
        let s = self.set_of(set);
        let i = self.find(s, &key)?;
        self.mru[s] = i;
        let w = &mut self.slots[i];
        w.used = self.clock;
        Some(w.value)
    }

    /// The value of `key` without touching its age.
    pub fn peek(&self, set: u64, key: K) -> Option<V> {
        let s = self.set_of(set);
        self.find(s, &key).map(|i| self.slots[i].value)
    }

    /// The entry for `key` without touching its age.
    pub fn peek_mut(&mut self, set: u64, key: K) -> Option<&mut V> {
        let s = self.set_of(set);
        let i = self.find(s, &key)?;
        Some(&mut self.slots[i].value)
    }

    /// Inserts (or replaces) `key` in set `set % sets`; returns what it displaced.
    pub fn insert(&mut self, set: u64, key: K, value: V) -> Evicted<K, V> {
        let s = self.set_of(set);
        if let Some(i) = self.find(s, &key) {
            self.clock += 1;
            self.slots[i] = Way { key, value, used: self.clock };
            self.mru[s] = i;
            return Evicted::None;
        }
        self.insert_absent(set, key, value)
    }

    /// Inserts `key`, which a lookup just missed (so it is not there);
    /// returns what it displaced.
    pub fn insert_absent(&mut self, set: u64, key: K, value: V) -> Evicted<K, V> {
        self.clock += 1;
        let clock = self.clock;
        let s = self.set_of(set);
        let base = s * self.ways;
        let fill = self.fill[s] as usize;
        if fill < self.ways {
            self.slots[base + fill] = Way { key, value, used: clock };
            self.fill[s] += 1;
            self.mru[s] = base + fill;
            return Evicted::None;
        }
        let i = (base..base + self.ways).min_by_key(|i| self.slots[*i].used).expect("a full set has ways");
        let old = std::mem::replace(&mut self.slots[i], Way { key, value, used: clock });
        self.mru[s] = i;
        Evicted::Entry(old.key, old.value)
    }

    /// Removes every entry `drop` selects; calls `gone` on each.
    pub fn invalidate(&mut self, mut drop: impl FnMut(&K, &V) -> bool, mut gone: impl FnMut(K, V)) {
        for s in 0..self.sets {
            let base = s * self.ways;
            let fill = self.fill[s] as usize;
            let mut kept = 0;
            for i in base..base + fill {
                let w = self.slots[i];
                if drop(&w.key, &w.value) {
                    gone(w.key, w.value);
                } else {
                    self.slots[base + kept] = w;
                    kept += 1;
                }
            }
            for i in base + kept..base + fill {
                self.slots[i] = Way::default();
            }
            self.fill[s] = kept as u32;
        }
    }

    /// Removes `key` from set `set % sets`, returning its value.
    pub fn remove(&mut self, set: u64, key: K) -> Option<V> {
        let s = self.set_of(set);
        let i = self.find(s, &key)?;
        let last = s * self.ways + self.fill[s] as usize - 1;
        self.slots.swap(i, last);
        self.fill[s] -= 1;
        Some(std::mem::take(&mut self.slots[last]).value)
    }

    /// Entries held now.
    pub fn len(&self) -> usize {
        self.fill.iter().map(|f| *f as usize).sum()
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_way_leaves_a_full_set() {
        let mut c: SetAssoc<u32, u32> = SetAssoc::new(4, 2);
        assert_eq!(c.sets(), 2);
        assert_eq!(c.insert(0, 10, 1), Evicted::None);
        assert_eq!(c.insert(0, 20, 2), Evicted::None);
        assert_eq!(c.get(0, 10), Some(1), "10 is now the most recent");
        assert_eq!(c.insert(0, 30, 3), Evicted::Entry(20, 2));
        assert_eq!(c.get(0, 20), None);
        assert_eq!(c.get(1, 10), None, "another set");
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn a_cyclic_sweep_larger_than_the_cache_always_misses() {
        // LRU under a loop over more pages than it holds: the IOTLB wall.
        let mut c: SetAssoc<u64, ()> = SetAssoc::new(8, 8);
        let mut hits = 0;
        for round in 0..4 {
            for page in 0..9u64 {
                if c.get(0, page).is_some() {
                    hits += 1;
                } else {
                    c.insert(0, page, ());
                }
            }
            let _ = round;
        }
        assert_eq!(hits, 0);
        let mut c: SetAssoc<u64, ()> = SetAssoc::new(8, 8);
        for _ in 0..4 {
            for page in 0..8u64 {
                if c.get(0, page).is_none() {
                    c.insert(0, page, ());
                }
            }
        }
        assert_eq!(c.len(), 8);
    }

    #[test]
    fn invalidate_removes_what_it_selects() {
        let mut c: SetAssoc<(u16, u64), u8> = SetAssoc::new(8, 2);
        for i in 0..6u64 {
            c.insert(i, ((i % 2) as u16, i), 0);
        }
        let mut gone = 0;
        c.invalidate(|k, _| k.0 == 1, |_, _| gone += 1);
        assert_eq!(gone, 3);
        assert_eq!(c.len(), 3);
    }
}
