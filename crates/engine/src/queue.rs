//! The event queue: a binary heap of one-shot events and an indexed heap of
//! timers, both ordered by (time, sequence number).
//!
//! Ties in time are broken by insertion order (FIFO), so a run is a pure
//! function of its scenario and seed (docs/architecture.md). Events are a typed
//! value chosen by the model; the queue never inspects them.
//!
//! A *timer* is a slot that holds at most one pending event: setting it
//! again replaces what it held, and cancelling empties it. A part whose
//! next deadline moves (a CPU's running frame, paused by an interrupt and
//! resumed later) keeps it in a timer, so the superseded deadline is never
//! popped. A timer's event takes its sequence number when it is set, as a
//! one-shot event scheduled then would, so replacing stale events by
//! timers changes no order between live ones.
//!
//! Keys are one 128-bit number, time above sequence, so an order check is
//! one comparison. (A 4-ary heap with its keys apart from its events
//! measured no faster than the standard library's binary heap here.)

use crate::time::Time;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Orders by time, then by the order of scheduling.
fn key(at: Time, seq: u64) -> u128 {
    ((at.0 as u128) << 64) | seq as u128
}

fn time_of(key: u128) -> Time {
    Time((key >> 64) as u64)
}

struct Entry<E> {
    key: u128,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    // BinaryHeap is a max-heap: invert so the earliest key pops first.
    fn cmp(&self, other: &Self) -> Ordering {
        other.key.cmp(&self.key)
    }
}

/// A timer slot of an [`EventQueue`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimerId(u32);

struct Timer<E> {
    event: Option<E>,
}

/// An armed timer in the timer heap: its key beside its slot, so sifting
/// reads one contiguous array.
#[derive(Clone, Copy)]
struct Armed {
    key: u128,
    id: u32,
}

/// A deterministic future-event list.
pub struct EventQueue<E> {
    /// The one-shot events.
    heap: BinaryHeap<Entry<E>>,
    timers: Vec<Timer<E>>,
    /// Each timer's index in `timer_heap` while armed (apart from the
    /// events, so sifting writes one dense array).
    timer_pos: Vec<u32>,
    /// Armed timers, a binary min-heap by key.
    timer_heap: Vec<Armed>,
    /// A timer popped last whose entry still sits at the root of
    /// `timer_heap` (its event taken). The part that owned it usually sets
    /// it again at once — a CPU's next frame, a queue's next watch — and
    /// then its entry only moves down from the root, instead of being
    /// removed and put back. Every key set after it is larger (a later
    /// sequence number at the same time or later), so it stays the root
    /// until the next pop removes it if it was not set again.
    fired: Option<u32>,
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
        EventQueue {
            heap: BinaryHeap::with_capacity(1024),
            timers: Vec::new(),
            timer_pos: Vec::new(),
            timer_heap: Vec::new(),
            fired: None,
            next_seq: 0,
            now: Time::ZERO,
            popped: 0,
        }
    }

    /// The time of the last event popped (the simulation clock).
    pub fn now(&self) -> Time {
        self.now
    }

    fn next_key(&mut self, at: Time) -> u128 {
        debug_assert!(at >= self.now, "event scheduled in the past: {:?} < {:?}", at, self.now);
        let at = at.max(self.now);
        let seq = self.next_seq;
        self.next_seq += 1;
        key(at, seq)
    }

    /// Schedules `event` at `at`. Scheduling in the past is a model bug; it is
    /// clamped to now so time never runs backwards, and debug builds assert.
    pub fn schedule(&mut self, at: Time, event: E) {
        let key = self.next_key(at);
        self.heap.push(Entry { key, event });
    }

    /// A new, empty timer slot.
    pub fn timer(&mut self) -> TimerId {
        self.timers.push(Timer { event: None });
        self.timer_pos.push(0);
        TimerId(self.timers.len() as u32 - 1)
    }

    /// Sets timer `id` to fire `event` at `at`, replacing what it held.
    pub fn set_timer(&mut self, id: TimerId, at: Time, event: E) {
        let key = self.next_key(at);
        let t = &mut self.timers[id.0 as usize];
        let armed = t.event.replace(event).is_some();
        let entry = Armed { key, id: id.0 };
        if self.fired == Some(id.0) {
            // Set again right after it fired: its entry is still the root.
            self.fired = None;
            self.timer_down(0, entry);
        } else if !armed {
            self.timer_heap.push(entry);
            self.timer_up(self.timer_heap.len() - 1, entry);
        } else {
            let pos = self.timer_pos[id.0 as usize] as usize;
            if key < self.timer_heap[pos].key {
                self.timer_up(pos, entry);
            } else {
                self.timer_down(pos, entry);
            }
        }
    }

    /// Empties timer `id` (nothing happens if it holds nothing).
    pub fn cancel_timer(&mut self, id: TimerId) {
        let t = &mut self.timers[id.0 as usize];
        if t.event.take().is_none() {
            return;
        }
        let pos = self.timer_pos[id.0 as usize] as usize;
        let last = self.timer_heap.pop().expect("an armed timer is in the heap");
        if pos < self.timer_heap.len() {
            // The last entry fills the hole, moving up or down from there.
            if pos > 0 && last.key < self.timer_heap[(pos - 1) / 2].key {
                self.timer_up(pos, last);
            } else {
                self.timer_down(pos, last);
            }
        }
    }

    /// Removes and returns the earliest event if it is due no later than
    /// `until`, advancing the clock to its time.
    pub fn pop_until(&mut self, until: Time) -> Option<(Time, E)> {
        if self.fired.take().is_some() {
            self.remove_root();
        }
        let one_shot = self.heap.peek().map(|e| e.key);
        let timer = self.timer_heap.first().map(|a| a.key);
        let (key, from_timer) = match (one_shot, timer) {
            (Some(a), Some(b)) => (a.min(b), b < a),
            (Some(a), None) => (a, false),
            (None, Some(b)) => (b, true),
            (None, None) => return None,
        };
        let at = time_of(key);
        if at > until {
            return None;
        }
        let event = if from_timer { self.pop_timer() } else { self.pop_one_shot() };
        self.now = at;
        self.popped += 1;
        Some((at, event))
    }

    fn pop_one_shot(&mut self) -> E {
        self.heap.pop().expect("a one-shot event is due").event
    }

    fn pop_timer(&mut self) -> E {
        let id = self.timer_heap[0].id;
        let event = self.timers[id as usize].event.take().expect("an armed timer holds an event");
        self.fired = Some(id);
        event
    }

    /// Removes the root of the timer heap.
    fn remove_root(&mut self) {
        let last = self.timer_heap.pop().expect("the fired timer is in the heap");
        if !self.timer_heap.is_empty() {
            self.timer_down(0, last);
        }
    }

    /// Puts `entry` in the timer heap at `i` or above it: parents with a
    /// larger key move down into the hole.
    fn timer_up(&mut self, mut i: usize, entry: Armed) {
        let (heap, pos) = (&mut self.timer_heap[..], &mut self.timer_pos[..]);
        while i > 0 {
            let parent = (i - 1) / 2;
            let p = heap[parent];
            if p.key <= entry.key {
                break;
            }
            heap[i] = p;
            pos[p.id as usize] = i as u32;
            i = parent;
        }
        heap[i] = entry;
        pos[entry.id as usize] = i as u32;
    }

    /// Puts `entry` in the timer heap at `i` or below it: the smaller child
    /// moves up into the hole while it is smaller than `entry`.
    fn timer_down(&mut self, mut i: usize, entry: Armed) {
        let (heap, pos) = (&mut self.timer_heap[..], &mut self.timer_pos[..]);
        loop {
            let l = 2 * i + 1;
            let c = if l + 1 < heap.len() {
                // Which child is smaller is a coin toss to the branch
                // predictor: chosen by arithmetic, not by a jump.
                l + usize::from(heap[l + 1].key < heap[l].key)
            } else if l < heap.len() {
                l
            } else {
                break;
            };
            let child = heap[c];
            if entry.key <= child.key {
                break;
            }
            heap[i] = child;
            pos[child.id as usize] = i as u32;
            i = c;
        }
        heap[i] = entry;
        pos[entry.id as usize] = i as u32;
    }

    /// Advances the clock to `t` without an event (end of a run).
    pub fn advance_to(&mut self, t: Time) {
        if t > self.now {
            self.now = t;
        }
    }

    /// Number of events waiting (one-shot events and armed timers).
    pub fn len(&self) -> usize {
        self.heap.len() + self.timer_heap.len() - usize::from(self.fired.is_some())
    }

    /// Whether no event is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The events still waiting, in no particular order (for end-of-run
    /// accounting of messages in transit).
    pub fn pending(&self) -> impl Iterator<Item = (Time, &E)> {
        let timers = self
            .timer_heap
            .iter()
            .filter_map(|a| self.timers[a.id as usize].event.as_ref().map(|e| (time_of(a.key), e)));
        self.heap.iter().map(|e| (time_of(e.key), &e.event)).chain(timers)
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

    #[test]
    fn a_timer_holds_one_event_and_setting_it_again_replaces_it() {
        let mut q = EventQueue::new();
        let t = q.timer();
        q.set_timer(t, Time(50), "stale");
        q.schedule(Time(10), "one-shot");
        q.set_timer(t, Time(30), "live");
        assert_eq!(q.len(), 2);
        assert_eq!(q.pop_until(Time::NEVER), Some((Time(10), "one-shot")));
        assert_eq!(q.pop_until(Time::NEVER), Some((Time(30), "live")));
        assert_eq!(q.pop_until(Time::NEVER), None);
        assert_eq!(q.events_processed(), 2, "the replaced event is never popped");
        q.set_timer(t, Time(40), "again");
        q.cancel_timer(t);
        q.cancel_timer(t);
        assert!(q.is_empty());
    }

    #[test]
    fn a_timer_set_again_after_it_fired_is_counted_once_and_pops_in_order() {
        let mut q = EventQueue::new();
        let (a, b) = (q.timer(), q.timer());
        q.set_timer(a, Time(10), "a1");
        q.set_timer(b, Time(20), "b");
        assert_eq!(q.pop_until(Time::NEVER), Some((Time(10), "a1")));
        // `a` has fired: only `b` waits.
        assert_eq!(q.len(), 1);
        assert_eq!(q.pending().map(|(t, e)| (t, *e)).collect::<Vec<_>>(), vec![(Time(20), "b")]);
        q.cancel_timer(a);
        assert_eq!(q.len(), 1);
        q.set_timer(a, Time(30), "a2");
        assert_eq!(q.len(), 2);
        assert_eq!(q.pop_until(Time::NEVER), Some((Time(20), "b")));
        assert_eq!(q.pop_until(Time::NEVER), Some((Time(30), "a2")));
        assert!(q.is_empty());
        assert_eq!(q.pop_until(Time::NEVER), None);
    }

    proptest! {
        /// Timers and one-shot events interleave exactly as if every
        /// setting of a timer were a one-shot event and the superseded
        /// ones were skipped when popped (what the model did before timers).
        #[test]
        fn timers_pop_as_skipped_stale_events_would(ops in prop::collection::vec((0u8..4, 0usize..40, 0u64..40), 0..600)) {
            let mut q: EventQueue<(usize, u64)> = EventQueue::new();
            let timers: Vec<TimerId> = (0..40).map(|_| q.timer()).collect();
            // The reference: a plain list of (time, seq, id, generation), live
            // when its generation is the timer's latest.
            let mut reference: Vec<(Time, u64, usize, u64)> = vec![];
            let mut generation = [0u64; 40];
            let mut seq = 0u64;
            let mut got = vec![];
            let mut want = vec![];
            for (op, id, dt) in ops {
                match op {
                    0 | 1 => {
                        generation[id] += 1;
                        q.set_timer(timers[id], Time(q.now().0 + dt), (id, generation[id]));
                        reference.push((Time(q.now().0 + dt), seq, id, generation[id]));
                        seq += 1;
                    }
                    2 => {
                        generation[id] += 1;
                        q.cancel_timer(timers[id]);
                    }
                    _ => {
                        // Pop one live event from both.
                        reference.sort();
                        while let Some(&(t, _, i, g)) = reference.first() {
                            reference.remove(0);
                            if g == generation[i] {
                                generation[i] += 1; // fired: the slot is empty now
                                want.push((t, i, g));
                                break;
                            }
                        }
                        if let Some((t, (i, g))) = q.pop_until(Time::NEVER) {
                            got.push((t, i, g));
                        }
                    }
                }
            }
            prop_assert_eq!(got, want);
        }


        /// Timers and one-shot events at every distance — the same
        /// instant, picoseconds apart, microseconds, up to a second — with
        /// cancellations and pops held back by a horizon, pop in (time,
        /// order of setting) order, and `len` and `pending` agree with a
        /// plain list.
        #[test]
        fn timers_and_events_pop_in_key_order_at_every_distance(
            ops in prop::collection::vec((0u8..6, 0usize..24, 0u8..4, 0u64..1 << 40), 0..800),
        ) {
            let mut q: EventQueue<(usize, u64)> = EventQueue::new();
            let timers: Vec<TimerId> = (0..24).map(|_| q.timer()).collect();
            // (time, seq, timer or 24 for a one-shot event, tag)
            let mut live: Vec<(Time, u64, usize, u64)> = vec![];
            let mut seq = 0u64;
            for (op, id, scale, r) in ops {
                // 0–63 ps, up to ~130 µs, up to ~1 s, or exactly now.
                let dt = match scale { 0 => r % 64, 1 => r % (1 << 27), 2 => r, _ => 0 };
                let at = Time(q.now().0 + dt);
                match op {
                    0 | 1 => {
                        live.retain(|e| e.2 != id);
                        q.set_timer(timers[id], at, (id, seq));
                        live.push((at, seq, id, seq));
                        seq += 1;
                    }
                    2 => {
                        live.retain(|e| e.2 != id);
                        q.cancel_timer(timers[id]);
                    }
                    3 => {
                        q.schedule(at, (24, seq));
                        live.push((at, seq, 24, seq));
                        seq += 1;
                    }
                    _ => {
                        // Pop with a horizon: nothing later than it comes out.
                        let until = if op == 4 { Time::NEVER } else { at };
                        live.sort();
                        let want = live.first().filter(|e| e.0 <= until).copied();
                        let got = q.pop_until(until);
                        prop_assert_eq!(got, want.map(|(t, _, i, g)| (t, (i, g))));
                        if want.is_some() {
                            live.remove(0);
                        }
                    }
                }
                prop_assert_eq!(q.len(), live.len());
            }
            let mut pending: Vec<(Time, (usize, u64))> = q.pending().map(|(t, e)| (t, *e)).collect();
            pending.sort_by_key(|(_, (_, g))| *g);
            live.sort_by_key(|e| e.1);
            prop_assert_eq!(pending, live.iter().map(|&(t, _, i, g)| (t, (i, g))).collect::<Vec<_>>());
            // Everything left pops in order.
            live.sort();
            for (t, _, i, g) in live {
                prop_assert_eq!(q.pop_until(Time::NEVER), Some((t, (i, g))));
            }
            prop_assert_eq!(q.pop_until(Time::NEVER), None);
        }

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
