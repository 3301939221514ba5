//! Subcommands. Each returns `Result<(), Failure>`; `main` prints the
//! failure and exits with its code. Also the process's exit codes, the
//! standard output the commands write to (a closed pipe ends it quietly)
//! and the one way they write notes to standard error.

pub mod audit;
pub mod bench;
pub mod calibrate;
pub mod check;
pub mod compare;
pub mod counters;
pub mod decode;
pub mod experiment;
pub mod import;
pub mod progress;
pub mod report;
pub mod rss;
pub mod run;
pub mod shell;
pub mod sweep;
pub mod validate;

use std::io::{self, Write};

/// Exit code: `irqlab check` found a counterexample.
pub const EXIT_COUNTEREXAMPLE: u8 = 1;
/// Exit code: invalid input (arguments, scenario files, values to decode).
pub const EXIT_INPUT: u8 = 2;
/// Exit code: a file (or standard output) could not be read or written.
pub const EXIT_IO: u8 = 3;
/// Exit code: a run broke a conservation law (a model bug).
pub const EXIT_BUG: u8 = 4;

/// The exit codes, for `irqlab --help`.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  `irqlab check` found a counterexample
  2  invalid input (arguments, scenario files, values to decode)
  3  I/O error (a file or standard output cannot be read or written)
  4  a model law was violated (a model bug; please report it)";

/// Why a command failed.
#[derive(Debug)]
pub enum Failure {
    /// Bad input: arguments, scenario files, values to decode (exit 2).
    Input(String),
    /// The run broke a conservation law: a model bug (exit 4).
    Bug(String),
    /// Reading or writing a file or standard output failed (exit 3).
    Io(String),
}

impl Failure {
    /// The message to print after `error: `.
    pub fn message(&self) -> &str {
        match self {
            Failure::Input(s) | Failure::Bug(s) | Failure::Io(s) => s,
        }
    }
    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Input(_) => EXIT_INPUT,
            Failure::Io(_) => EXIT_IO,
            Failure::Bug(_) => EXIT_BUG,
        }
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Io(format!("writing output: {e}"))
    }
}

/// Standard output as the commands see it. When the reader has gone (a
/// closed pipe: `irqlab run | head -1`), the rest of the output is dropped
/// without error and the command ends normally, as `head` expects; any
/// other write error is passed on and remembered (exit 3).
pub struct Output<W: Write> {
    inner: W,
    closed: bool,
    failed: bool,
}

impl<W: Write> Output<W> {
    /// Wraps a writer (standard output, or a buffer in tests).
    pub fn new(inner: W) -> Self {
        Output { inner, closed: false, failed: false }
    }

    /// Whether a write failed for a reason other than a closed pipe.
    pub fn failed(&self) -> bool {
        self.failed
    }

    fn filter<T>(&mut self, r: io::Result<T>, quiet: T) -> io::Result<T> {
        match r {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(quiet)
            }
            Err(e) => {
                self.failed = true;
                Err(e)
            }
            ok => ok,
        }
    }
}

impl<W: Write> Write for Output<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.closed {
            return Ok(buf.len());
        }
        let r = self.inner.write(buf);
        self.filter(r, buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        let r = self.inner.flush();
        self.filter(r, ())
    }
}

/// Writes one line to standard error, ignoring failure (there is nowhere
/// left to report it): progress, warnings, errors.
pub fn note(line: std::fmt::Arguments<'_>) {
    let _ = writeln!(io::stderr(), "{line}");
}

/// What to give instead when `path`, given where one run's metrics are
/// expected (`run --replay`, `compare`), is a sweep's `runs.jsonl` (one
/// flattened row per run, each with its `run` number): `None` when it is
/// not, so the caller's own error stands.
pub fn sweep_rows_instead(path: &std::path::Path) -> Option<Failure> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut rows = text.lines().filter(|l| !l.trim().is_empty());
    let first: serde_json::Value = serde_json::from_str(rows.next()?).ok()?;
    if !irqlab_report::sweep::is_row(first.as_object()?) {
        return None;
    }
    let n = 1 + rows.count();
    Some(Failure::Input(format!(
        "{}: a sweep's rows ({n} run{}, one flattened row each), not one run's metrics; \
         `irqlab sweep --full` also writes each run's metrics document as OUT/runs/NNNN.json",
        path.display(),
        if n == 1 { "" } else { "s" }
    )))
}

/// Prints a scenario's warnings (valid settings that are probably not what
/// was meant) as `warning: KEY: message`.
pub fn print_warnings(s: &irqlab_model::Scenario) {
    for w in s.warnings() {
        note(format_args!("warning: {w}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer whose reader has gone after `ok` bytes, or that fails otherwise.
    struct Pipe {
        ok: usize,
        kind: io::ErrorKind,
    }

    impl Write for Pipe {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.ok == 0 {
                return Err(self.kind.into());
            }
            let n = buf.len().min(self.ok);
            self.ok -= n;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_ends_output_quietly() {
        let mut out = Output::new(Pipe { ok: 3, kind: io::ErrorKind::BrokenPipe });
        assert!(writeln!(out, "first line").is_ok());
        assert!(writeln!(out, "second line").is_ok());
        assert!(out.flush().is_ok());
        assert!(!out.failed());
    }

    #[test]
    fn other_write_errors_are_errors() {
        let mut out = Output::new(Pipe { ok: 0, kind: io::ErrorKind::StorageFull });
        assert!(writeln!(out, "x").is_err());
        assert!(out.failed());
        assert_eq!(Failure::from(io::Error::from(io::ErrorKind::StorageFull)).exit_code(), EXIT_IO);
    }
}
