//! The event queue: a binary heap ordered by (time, sequence number).
//!
//! Ties in time are broken by insertion order (FIFO), so a run is a pure
//! function of its scenario and seed (docs/architecture.md). Events are a typed
//! value chosen by the model; the queue never inspects them.

use crate::time::Time;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

struct Entry<E> {
    at: Time,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at && self.seq == other.seq
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    // BinaryHeap is a max-heap: invert so the earliest (time, seq) pops first.
    fn cmp(&self, other: &Self) -> Ordering {
        other.at.cmp(&self.at).then_with(|| other.seq.cmp(&self.seq))
    }
}

/// A deterministic future-event list.
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    next_seq: u64,
    now: Time,
    popped: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue at time zero.
    pub fn new() -> Self {
        EventQueue { heap: BinaryHeap::with_capacity(1024), next_seq: 0, now: Time::ZERO, popped: 0 }
    }

    /// The time of the last event popped (the simulation clock).
    pub fn now(&self) -> Time {
        self.now
    }

    /// Schedules `event` at `at`. Scheduling in the past is a model bug; it is
    /// clamped to now so time never runs backwards, and debug builds assert.
    pub fn schedule(&mut self, at: Time, event: E) {
        debug_assert!(at >= self.now, "event scheduled in the past: {:?} < {:?}", at, self.now);
        let at = at.max(self.now);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry { at, seq, event });
    }

    /// Removes and returns the earliest event if it is due no later than
    /// `until`, advancing the clock to its time.
    pub fn pop_until(&mut self, until: Time) -> Option<(Time, E)> {
        if self.heap.peek()?.at > until {
            return None;
        }
        let e = self.heap.pop()?;
        self.now = e.at;
        self.popped += 1;
        Some((e.at, e.event))
    }

    /// Advances the clock to `t` without an event (end of a run).
    pub fn advance_to(&mut self, t: Time) {
        if t > self.now {
            self.now = t;
        }
    }

    /// Number of events waiting.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether no event is waiting.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// The events still waiting, in no particular order (for end-of-run
    /// accounting of messages in transit).
    pub fn pending(&self) -> impl Iterator<Item = (Time, &E)> {
        self.heap.iter().map(|e| (e.at, &e.event))
    }

    /// Number of events popped so far (the engine's work measure).
    pub fn events_processed(&self) -> u64 {
        self.popped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ties_pop_in_insertion_order() {
        let mut q = EventQueue::new();
        for i in 0..10 {
            q.schedule(Time(5), i);
        }
        let order: Vec<i32> = std::iter::from_fn(|| q.pop_until(Time::NEVER).map(|(_, e)| e)).collect();
        assert_eq!(order, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn pop_until_respects_the_horizon() {
        let mut q = EventQueue::new();
        q.schedule(Time(10), 'a');
        q.schedule(Time(20), 'b');
        assert_eq!(q.pop_until(Time(15)), Some((Time(10), 'a')));
        assert_eq!(q.pop_until(Time(15)), None);
        assert_eq!(q.now(), Time(10));
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn pending_lists_every_waiting_event() {
        let mut q = EventQueue::new();
        for i in 0..5 {
            q.schedule(Time(i * 10), i);
        }
        while q.pop_until(Time(15)).is_some() {}
        let mut left: Vec<u64> = q.pending().map(|(_, e)| *e).collect();
        left.sort();
        assert_eq!(left, vec![2, 3, 4]);
    }

    proptest! {
        /// Events come out sorted by time, and equal times keep insertion order.
        #[test]
        fn pops_are_sorted_by_time_then_sequence(times in prop::collection::vec(0u64..50, 0..200)) {
            let mut q = EventQueue::new();
            for (i, t) in times.iter().enumerate() {
                q.schedule(Time(*t), i);
            }
            let mut last: Option<(Time, usize)> = None;
            let mut n = 0;
            while let Some((t, i)) = q.pop_until(Time::NEVER) {
                prop_assert_eq!(Time(times[i]), t);
                if let Some((lt, li)) = last {
                    prop_assert!(lt < t || (lt == t && li < i));
                }
                last = Some((t, i));
                n += 1;
            }
            prop_assert_eq!(n, times.len());
        }
    }
}
