//! The event queue under the "hold" pattern of a running simulation: with
//! `n` events pending, pop the earliest and schedule one a little later;
//! and with `n` timers armed, pop the earliest and set its timer again.
//! Run with `cargo bench -p irqlab-engine`; docs/performance.md says what
//! the figures mean.

use irqlab_engine::{EventQueue, Time};

fn main() {
    divan::main();
}

/// A small deterministic generator of delays (xorshift), so the benchmark
/// measures the queue, not a random-number library.
struct Delays(u64);

impl Delays {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        // 0 to about 65 ns in picoseconds, with ties now and then.
        (self.0 >> 48) & !0xff
    }
}

/// One pop and one schedule with `n` events pending (`n` about the number
/// of cores and queues of a large machine: each has one or two events due).
#[divan::bench(args = [16, 64, 256, 1024])]
fn hold(bencher: divan::Bencher, n: usize) {
    let mut q: EventQueue<[u64; 3]> = EventQueue::new();
    let mut d = Delays(0x9e37_79b9_7f4a_7c15);
    for i in 0..n {
        q.schedule(Time(d.next()), [i as u64; 3]);
    }
    bencher.bench_local(|| {
        let (t, e) = q.pop_until(Time::NEVER).expect("n events pending");
        q.schedule(Time(t.0 + d.next()), e);
    });
}

/// The same with `n` armed timers (a large machine's CPU frames and queue
/// watches): pop the earliest and set the timer that fired again a little
/// later, as a CPU does with its next frame.
#[divan::bench(args = [16, 64, 256, 1024])]
fn timer_hold(bencher: divan::Bencher, n: usize) {
    let mut q: EventQueue<u32> = EventQueue::new();
    let mut d = Delays(0x9e37_79b9_7f4a_7c15);
    let timers: Vec<_> = (0..n).map(|_| q.timer()).collect();
    for (i, t) in timers.iter().enumerate() {
        q.set_timer(*t, Time(d.next()), i as u32);
    }
    bencher.bench_local(|| {
        let (t, i) = q.pop_until(Time::NEVER).expect("n timers armed");
        q.set_timer(timers[i as usize], Time(t.0 + d.next()), i);
    });
}
