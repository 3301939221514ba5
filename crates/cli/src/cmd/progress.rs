//! Progress bars of the long commands (`sweep`, `experiment run`, `bench`),
//! on standard error in one style (indicatif). They are drawn only when
//! standard error is a terminal: redirected or piped, they print nothing,
//! so logs and captured output stay clean.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar of `len` steps counting `unit` (e.g. "runs"), with elapsed time,
/// ETA and the current step's message; hidden off a terminal.
pub fn bar(len: usize, unit: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr());
    let template = format!("{{bar:40}} {{pos}}/{{len}} {unit}, {{elapsed}} elapsed, ETA {{eta}} {{msg}}");
    bar.set_style(ProgressStyle::with_template(&template).expect("a valid template"));
    bar
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_bar_counts_its_steps_and_is_hidden_off_a_terminal() {
        // Tests run with standard error captured, not on a terminal.
        let b = super::bar(3, "variants");
        assert!(b.is_hidden());
        b.inc(2);
        assert_eq!((b.position(), b.length()), (2, Some(3)));
    }
}
