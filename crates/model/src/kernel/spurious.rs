//! Linux's stuck-IRQ detector, `note_interrupt()`: the "irq N: nobody cared"
//! rule that disables a line whose handlers keep returning `IRQ_NONE`.
//!
//! Models docs/sources.md §8.1 after Linux `kernel/irq/spurious.c` `note_interrupt()`
//! (current mainline; read via the public mirror `Kingxukai/linux`, same
//! path), one [`SpuriousDetector`] per IRQ descriptor:
//! * an unhandled interrupt increments `irqs_unhandled`, except that if the
//!   previous unhandled one was more than `HZ/10` ago
//!   (`time_after(jiffies, desc->last_unhandled + HZ/10)`) the count restarts
//!   at 1, so rare strays never accumulate; either way `last_unhandled` =
//!   now;
//! * while `irqs_unhandled` is 0 nothing else happens (modern kernels: "if
//!   (likely(!desc->irqs_unhandled)) return;"), so a line that only ever
//!   handles its interrupts is never counted;
//! * otherwise `irq_count` increments, and when it reaches 100,000 the window
//!   closes: more than 99,900 unhandled → report "nobody cared", set
//!   `IRQS_SPURIOUS_DISABLED`, disable the line and arm the
//!   `poll_spurious_irqs` timer; `irq_count` and `irqs_unhandled` reset to 0
//!   whatever the outcome;
//! * installing a handler (`__setup_irq` in `kernel/irq/manage.c`) resets
//!   both counters, and re-enables a spurious-disabled line if the new
//!   handler shares it.
//!
//! Time is simulated picoseconds, not jiffies: "more than 100 ms ago" is
//! compared exactly, where the kernel compares whole ticks (1–10 ms apart).
//!
//! Left out: the bogus-return-value report (a handler result here is a
//! `bool`, never bogus), the threaded-handler deferral (`IRQ_WAKE_THREAD`,
//! `SPURIOUS_DEFERRED`), `irqfixup`/`irqpoll` misrouted-IRQ recovery,
//! `noirqdebug`, the poller itself, and the printed messages and stack
//! dump. The caller (kernel/irq.rs) follows `note_interrupt()` and
//! `poll_spurious_irqs()` for the rest: after a [`Verdict::Disable`] it
//! disables the line lazily (marked disabled; masked when the next
//! interrupt arrives) and re-arms the poll timer with `mod_timer` to
//! [`POLL_SPURIOUS_INTERVAL`] from now on its own CPU; the poller runs on
//! the CPU whose timer fires and, like `try_one_irq()`, skips a line whose
//! first action lacks `IRQF_SHARED`.

use irqlab_engine::{Dur, Time};
use serde::Serialize;

/// Interrupts per detection window: `note_interrupt()` closes the window
/// when `irq_count` reaches 100,000 (`kernel/irq/spurious.c`).
pub const SPURIOUS_WINDOW: u32 = 100_000;
/// A window with *more than* this many unhandled interrupts disables the
/// line ("If 99,900 of the previous 100,000 interrupts have not been
/// handled…", `kernel/irq/spurious.c`; the other 100 may come from a working
/// device sharing the line).
pub const SPURIOUS_THRESHOLD: u32 = 99_900;
/// An unhandled interrupt more than this after the previous one restarts
/// `irqs_unhandled` at 1: `HZ/10` jiffies, i.e. 100 ms
/// (`time_after(jiffies, desc->last_unhandled + HZ/10)` in
/// `note_interrupt()`).
pub const UNHANDLED_RESET: Dur = Dur::from_ms(100);
/// Period of `poll_spurious_irqs()`, which runs the handlers of
/// spurious-disabled lines: `POLL_SPURIOUS_IRQ_INTERVAL` = `HZ/10`, 100 ms
/// (`kernel/irq/spurious.c`).
pub const POLL_SPURIOUS_INTERVAL: Dur = Dur::from_ms(100);

/// What the caller must do after [`SpuriousDetector::note_interrupt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Nothing: the line stays enabled.
    Ok,
    /// "nobody cared": disable the line now (`irq_disable`) and start
    /// polling it every [`POLL_SPURIOUS_INTERVAL`].
    Disable,
}

/// The spurious-interrupt state of one IRQ descriptor (`struct irq_desc`
/// fields `irq_count`, `irqs_unhandled`, `last_unhandled`, and the
/// `IRQS_SPURIOUS_DISABLED` bit of `istate`). Serializes as
/// `/proc/irq/N/spurious` shows it, plus `disabled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct SpuriousDetector {
    #[serde(rename = "count")]
    irq_count: u32,
    #[serde(rename = "unhandled")]
    irqs_unhandled: u32,
    last_unhandled: Time,
    disabled: bool,
}

impl SpuriousDetector {
    /// A freshly set-up descriptor: counters 0, enabled.
    pub fn new() -> Self {
        Self::default()
    }

    /// `note_interrupt()`: account one interrupt on this line at `now`,
    /// `handled` = whether any handler returned `IRQ_HANDLED`.
    ///
    /// On a line already spurious-disabled nothing is counted and the
    /// verdict is [`Verdict::Ok`]: Linux never reaches `note_interrupt()`
    /// there (the flow handler marks a disabled descriptor `IRQS_PENDING`
    /// and returns; the poller's calls set `IRQS_POLL_INPROGRESS`, which
    /// `note_interrupt()` skips).
    #[must_use = "a Disable verdict means the caller must disable the line"]
    pub fn note_interrupt(&mut self, now: Time, handled: bool) -> Verdict {
        if self.disabled {
            return Verdict::Ok;
        }
        if !handled {
            if now > self.last_unhandled + UNHANDLED_RESET {
                self.irqs_unhandled = 1;
            } else {
                self.irqs_unhandled = self.irqs_unhandled.saturating_add(1);
            }
            self.last_unhandled = now;
        }
        if self.irqs_unhandled == 0 {
            return Verdict::Ok;
        }
        self.irq_count += 1;
        if self.irq_count < SPURIOUS_WINDOW {
            return Verdict::Ok;
        }
        let stuck = self.irqs_unhandled > SPURIOUS_THRESHOLD;
        self.irq_count = 0;
        self.irqs_unhandled = 0;
        if stuck {
            self.disabled = true;
            Verdict::Disable
        } else {
            Verdict::Ok
        }
    }

    /// `__setup_irq()` installed a handler on this line: both counters reset
    /// ("Reset broken irq detection when installing new handler"), and a
    /// spurious-disabled line is re-enabled if the new handler is shared.
    /// Returns whether the line was re-enabled.
    pub fn setup_irq(&mut self, shared: bool) -> bool {
        self.irq_count = 0;
        self.irqs_unhandled = 0;
        let reenable = shared && self.disabled;
        if reenable {
            self.disabled = false;
        }
        reenable
    }

    /// Interrupts counted in the current window (`desc->irq_count`).
    pub fn irq_count(&self) -> u32 {
        self.irq_count
    }

    /// Unhandled interrupts in the current streak (`desc->irqs_unhandled`).
    pub fn irqs_unhandled(&self) -> u32 {
        self.irqs_unhandled
    }

    /// When the last unhandled interrupt arrived (`desc->last_unhandled`;
    /// [`Time::ZERO`] if none has).
    pub fn last_unhandled(&self) -> Time {
        self.last_unhandled
    }

    /// `IRQS_SPURIOUS_DISABLED`: the detector has disabled this line.
    pub fn disabled(&self) -> bool {
        self.disabled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `n` interrupts `gap` apart starting at `*now`, all `handled` or
    /// not; returns the verdicts that were not `Ok` with their 1-based
    /// position in this batch.
    fn feed(d: &mut SpuriousDetector, now: &mut Time, gap: Dur, n: u32, handled: bool) -> Vec<(u32, Verdict)> {
        let mut out = Vec::new();
        for i in 1..=n {
            *now += gap;
            let v = d.note_interrupt(*now, handled);
            if v != Verdict::Ok {
                out.push((i, v));
            }
        }
        out
    }

    /// One 100,000-interrupt window that starts with an unhandled interrupt
    /// (so counting starts at once), then `handled` handled ones, then the
    /// rest unhandled, 1 µs apart (well inside [`UNHANDLED_RESET`]).
    fn window_with_handled(handled: u32) -> (SpuriousDetector, Vec<(u32, Verdict)>) {
        let mut d = SpuriousDetector::new();
        let mut now = Time::ZERO;
        let gap = Dur::from_us(1);
        let mut verdicts = feed(&mut d, &mut now, gap, 1, false);
        verdicts.extend(feed(&mut d, &mut now, gap, handled, true));
        verdicts.extend(feed(&mut d, &mut now, gap, SPURIOUS_WINDOW - 1 - handled, false));
        (d, verdicts)
    }

    #[test]
    fn constants_are_the_kernels() {
        assert_eq!(SPURIOUS_WINDOW, 100_000);
        assert_eq!(SPURIOUS_THRESHOLD, 99_900);
        assert_eq!(UNHANDLED_RESET, Dur::from_ms(100));
        assert_eq!(POLL_SPURIOUS_INTERVAL, Dur::from_ms(100));
    }

    #[test]
    fn unhandled_99_901_of_100_000_disables_at_the_window_end() {
        // 1 + 99,900 unhandled = 99,901 > 99,900; 99 handled; 100,000 total.
        let (d, verdicts) = window_with_handled(99);
        assert_eq!(verdicts, [(SPURIOUS_WINDOW - 1 - 99, Verdict::Disable)], "only the 100,000th disables");
        assert!(d.disabled());
        assert_eq!((d.irq_count(), d.irqs_unhandled()), (0, 0), "counters reset after the verdict");
    }

    #[test]
    fn unhandled_99_900_of_100_000_does_not_disable() {
        // 99,900 is not *more than* 99,900.
        let (d, verdicts) = window_with_handled(100);
        assert!(verdicts.is_empty(), "{verdicts:?}");
        assert!(!d.disabled());
        assert_eq!((d.irq_count(), d.irqs_unhandled()), (0, 0), "window closed and reset");
    }

    #[test]
    fn window_counts_only_from_the_first_unhandled_interrupt() {
        let mut d = SpuriousDetector::new();
        let mut now = Time::ZERO;
        let gap = Dur::from_us(1);
        // Handled interrupts before any unhandled one are not counted.
        assert!(feed(&mut d, &mut now, gap, 50_000, true).is_empty());
        assert_eq!(d.irq_count(), 0);
        // From the first unhandled on, every interrupt counts.
        feed(&mut d, &mut now, gap, 1, false);
        feed(&mut d, &mut now, gap, 10, true);
        assert_eq!((d.irq_count(), d.irqs_unhandled()), (11, 1));
        assert_eq!(d.last_unhandled(), Time::ZERO + gap.times(50_001));
    }

    #[test]
    fn unhandled_more_than_100_ms_after_the_previous_restarts_at_1() {
        let mut d = SpuriousDetector::new();
        let t0 = Time::ZERO + Dur::from_ms(1);
        assert_eq!(d.note_interrupt(t0, false), Verdict::Ok);
        assert_eq!(d.note_interrupt(t0 + Dur::from_ms(50), false), Verdict::Ok);
        assert_eq!(d.irqs_unhandled(), 2);
        // Exactly 100 ms after the previous one is not "after" (time_after
        // is strict): the streak goes on.
        let t1 = t0 + Dur::from_ms(150);
        assert_eq!(d.note_interrupt(t1, false), Verdict::Ok);
        assert_eq!(d.irqs_unhandled(), 3);
        // One picosecond later than that restarts the streak.
        let t2 = t1 + UNHANDLED_RESET + Dur::from_ps(1);
        assert_eq!(d.note_interrupt(t2, false), Verdict::Ok);
        assert_eq!(d.irqs_unhandled(), 1);
        assert_eq!(d.last_unhandled(), t2);
        // Handled interrupts do not move last_unhandled.
        assert_eq!(d.note_interrupt(t2 + Dur::from_ms(1), true), Verdict::Ok);
        assert_eq!(d.last_unhandled(), t2);
    }

    #[test]
    fn sparse_unhandled_one_every_200_ms_never_accumulates() {
        // An interrupt every 100 µs on a busy shared line, of which one in
        // 2,000 (one every 200 ms) is an unhandled stray, for 30 s: 300,000
        // counted interrupts close three windows, each with 1 unhandled.
        let mut d = SpuriousDetector::new();
        let mut now = Time::ZERO;
        for _ in 0..150 {
            now += Dur::from_us(100);
            assert_eq!(d.note_interrupt(now, false), Verdict::Ok);
            assert_eq!(d.irqs_unhandled(), 1, "the streak restarts at every stray");
            assert!(feed(&mut d, &mut now, Dur::from_us(100), 1_999, true).is_empty());
        }
        assert!(!d.disabled());
    }

    #[test]
    fn storm_of_handled_interrupts_never_disables() {
        // A million handled interrupts 1 µs apart, with and without a
        // leading stray that starts the window counting.
        for stray in [false, true] {
            let mut d = SpuriousDetector::new();
            let mut now = Time::ZERO;
            if stray {
                feed(&mut d, &mut now, Dur::from_us(1), 1, false);
            }
            assert!(feed(&mut d, &mut now, Dur::from_us(1), 1_000_000, true).is_empty());
            assert!(!d.disabled());
        }
    }

    #[test]
    fn disabled_line_is_not_counted_until_a_shared_handler_is_installed() {
        let (mut d, _) = window_with_handled(0);
        assert!(d.disabled());
        let later = Time::ZERO + Dur::from_ms(500);
        assert_eq!(d.note_interrupt(later, false), Verdict::Ok);
        assert_eq!((d.irq_count(), d.irqs_unhandled()), (0, 0));
        // A non-shared handler does not re-enable; a shared one does.
        assert!(!d.setup_irq(false));
        assert!(d.disabled());
        assert!(d.setup_irq(true));
        assert!(!d.disabled());
        assert_eq!(d.note_interrupt(later + Dur::from_ms(1), false), Verdict::Ok);
        assert_eq!((d.irq_count(), d.irqs_unhandled()), (1, 1));
    }

    #[test]
    fn setup_irq_resets_the_counters() {
        let mut d = SpuriousDetector::new();
        let mut now = Time::ZERO;
        feed(&mut d, &mut now, Dur::from_us(1), 500, false);
        assert_eq!((d.irq_count(), d.irqs_unhandled()), (500, 500));
        assert!(!d.setup_irq(true), "an enabled line has nothing to re-enable");
        assert_eq!((d.irq_count(), d.irqs_unhandled()), (0, 0));
    }
}
