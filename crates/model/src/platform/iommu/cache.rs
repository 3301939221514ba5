//! A set-associative cache with least-recently-used replacement: the shape
//! of the IOMMU's translation caches (the IOTLB, the context cache, the
//! paging-structure cache and the interrupt entry cache).
//!
//! Hardware sizes and organisations are not architectural (VT-d §6.2 lets
//! an implementation choose them); a scenario picks the entries and the
//! ways. A fully associative cache is one set.

/// One way of a set.
#[derive(Clone, Copy, Debug)]
struct Way<K, V> {
    key: K,
    value: V,
    /// Last use (a counter), for LRU.
    used: u64,
}

/// A set-associative LRU cache from `K` to `V`.
#[derive(Clone, Debug)]
pub struct SetAssoc<K, V> {
    sets: Vec<Vec<Way<K, V>>>,
    ways: usize,
    clock: u64,
}

/// What an insertion displaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Evicted<K, V> {
    /// Nothing: a free way took it (or the key was present and is replaced).
    None,
    /// The set was full; its least recently used entry left.
    Entry(K, V),
}

impl<K: Copy + PartialEq, V: Copy> SetAssoc<K, V> {
    /// A cache of `entries` entries in sets of `ways` (`entries` a multiple
    /// of `ways`, both at least 1).
    pub fn new(entries: usize, ways: usize) -> SetAssoc<K, V> {
        let ways = ways.clamp(1, entries.max(1));
        let sets = (entries.max(1) / ways).max(1);
        SetAssoc { sets: (0..sets).map(|_| Vec::with_capacity(ways)).collect(), ways, clock: 0 }
    }

    /// Number of sets.
    pub fn sets(&self) -> usize {
        self.sets.len()
    }

    /// Looks `key` up in set `set % sets`; a hit becomes the most recently used.
    pub fn get(&mut self, set: u64, key: K) -> Option<V> {
        self.clock += 1;
        let clock = self.clock;
        let s = (set % self.sets.len() as u64) as usize;
        self.sets[s].iter_mut().find(|w| w.key == key).map(|w| {
            w.used = clock;
            w.value
        })
    }

    /// The entry for `key` without touching its age.
    pub fn peek_mut(&mut self, set: u64, key: K) -> Option<&mut V> {
        let s = (set % self.sets.len() as u64) as usize;
        self.sets[s].iter_mut().find(|w| w.key == key).map(|w| &mut w.value)
    }

    /// Inserts (or replaces) `key` in set `set % sets`; returns what it displaced.
    pub fn insert(&mut self, set: u64, key: K, value: V) -> Evicted<K, V> {
        self.clock += 1;
        let clock = self.clock;
        let ways = self.ways;
        let n = self.sets.len() as u64;
        let s = &mut self.sets[(set % n) as usize];
        if let Some(w) = s.iter_mut().find(|w| w.key == key) {
            w.value = value;
            w.used = clock;
            return Evicted::None;
        }
        if s.len() < ways {
            s.push(Way { key, value, used: clock });
            return Evicted::None;
        }
        let lru = s.iter_mut().min_by_key(|w| w.used).expect("a full set has ways");
        let old = (lru.key, lru.value);
        *lru = Way { key, value, used: clock };
        Evicted::Entry(old.0, old.1)
    }

    /// Removes every entry `drop` selects; calls `gone` on each.
    pub fn invalidate(&mut self, mut drop: impl FnMut(&K, &V) -> bool, mut gone: impl FnMut(K, V)) {
        for s in &mut self.sets {
            s.retain(|w| {
                let d = drop(&w.key, &w.value);
                if d {
                    gone(w.key, w.value);
                }
                !d
            });
        }
    }

    /// Removes `key` from set `set % sets`, returning its value.
    pub fn remove(&mut self, set: u64, key: K) -> Option<V> {
        let n = self.sets.len() as u64;
        let s = &mut self.sets[(set % n) as usize];
        let i = s.iter().position(|w| w.key == key)?;
        Some(s.swap_remove(i).value)
    }

    /// Entries held now.
    pub fn len(&self) -> usize {
        self.sets.iter().map(|s| s.len()).sum()
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.sets.iter().all(|s| s.is_empty())
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
