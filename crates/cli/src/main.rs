//! `irqlab`: command-line front end. Parses arguments, calls the library,
//! prints.
//!
//! Exit codes ([`cmd::EXIT_CODES_HELP`], also in `irqlab --help`):
//! 0 success; 1 `irqlab check` found a counterexample; 2 invalid input
//! (arguments, scenario files, values to decode); 3 I/O error (a file or
//! standard output cannot be read or written); 4 a run broke a model law
//! (a model bug). Output into a closed pipe (`irqlab run | head -1`) ends
//! quietly: the rest is dropped and the exit code is the command's own.

#![forbid(unsafe_code)]

mod cmd;

use clap::{CommandFactory, Parser, Subcommand};
use std::io::Write;
use std::process::ExitCode;

/// An executable, deterministic model of a server's interrupt architecture.
#[derive(Parser, Debug)]
#[command(name = "irqlab", version, about, long_about = None, after_help = cmd::EXIT_CODES_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a scenario (the built-in default when none is named) and print its metrics.
    Run(cmd::run::RunArgs),
    /// List the built-in scenarios, or print one's TOML to start from (`--show NAME`).
    Scenarios(cmd::run::ScenariosArgs),
    /// Measure simulation speed: CPU seconds and delivered packets per CPU second, on a standard suite or one scenario.
    Bench(cmd::bench::BenchArgs),
    /// Compute the RSS Toeplitz hash (and queue) of a flow.
    Rss(cmd::rss::RssArgs),
    /// Decode register values and messages field by field.
    Decode(cmd::decode::DecodeArgs),
    /// Run a built-in experiment: variants, a table, and findings computed from the data.
    Experiment(cmd::experiment::ExperimentArgs),
    /// Exhaustively check the driver/device memory-ordering contract (exit 0 safe, 1 counterexample).
    Check(cmd::check::CheckArgs),
    /// Compare two metrics documents: every number's change, largest moves first.
    Compare(cmd::compare::CompareArgs),
    /// Misconfigurations in a scenario and its counters, with the simulated effect of fixing each.
    Audit(cmd::audit::AuditArgs),
    /// This machine's own interrupt and softnet counters over an interval, as JSON for `irqlab compare`.
    Counters(cmd::counters::CountersArgs),
    /// Write a scenario read from this machine's /proc and /sys (or a saved copy: --root).
    Import(cmd::import::ImportArgs),
    /// Measure this machine with real system calls and write a cost file for `run --costs`.
    Calibrate(cmd::calibrate::CalibrateArgs),
    /// Compare the model with this machine (predicted from calibrated costs) and with published results.
    Validate(cmd::validate::ValidateArgs),
    /// Run a sweep file: a scenario over axes of settings and seeds, in parallel (or one shard of it).
    Sweep(cmd::sweep::SweepArgs),
    /// Join the output directories of a sweep's shards into what the unsharded sweep writes.
    Merge(cmd::sweep::MergeArgs),
    /// Draw result files (run metrics, experiment reports) into one self-contained HTML report.
    Report(cmd::report::ReportArgs),
    /// Write a shell completion script (bash, zsh, fish, elvish, powershell) to standard output.
    Completions(cmd::shell::CompletionsArgs),
    /// Write the manual page (roff) to standard output, or every page into a directory (`-o DIR`).
    Manpage(cmd::shell::ManpageArgs),
}

/// Runs the command, writing to `out`: the exit code, and the failure to report.
fn dispatch(command: &Command, out: &mut cmd::Output<impl Write>) -> (u8, Option<cmd::Failure>) {
    // Commands that report bad input as text: a failed write is I/O, not input.
    let text = |r: Result<(), String>, out: &cmd::Output<_>| match r {
        Ok(()) => Ok(()),
        Err(e) if out.failed() => Err(cmd::Failure::Io(e)),
        Err(e) => Err(cmd::Failure::Input(e)),
    };
    let result = match command {
        Command::Run(a) => cmd::run::run(a, out),
        Command::Scenarios(a) => cmd::run::scenarios(a, out),
        Command::Bench(a) => cmd::bench::run(a, out),
        Command::Rss(a) => {
            let r = cmd::rss::run(a, out);
            text(r, out)
        }
        Command::Decode(a) => {
            let r = cmd::decode::run(a, out);
            text(r, out)
        }
        Command::Experiment(a) => cmd::experiment::run(a, out),
        Command::Compare(a) => cmd::compare::run(a, out),
        Command::Audit(a) => cmd::audit::run(a, out),
        Command::Counters(a) => cmd::counters::run(a, out),
        Command::Import(a) => cmd::import::run(a, out),
        Command::Calibrate(a) => cmd::calibrate::run(a, out),
        Command::Validate(a) => cmd::validate::run(a, out),
        Command::Sweep(a) => cmd::sweep::run(a, out),
        Command::Merge(a) => cmd::sweep::merge(a, out),
        Command::Report(a) => cmd::report::run(a, out),
        Command::Completions(a) => cmd::shell::completions(a, Cli::command(), out),
        Command::Manpage(a) => cmd::shell::manpage(a, Cli::command(), out),
        Command::Check(a) => match cmd::check::run(a, out) {
            Ok(outcome) => return (outcome.exit_code(), None),
            Err(e) => text(Err(e), out),
        },
    };
    match result {
        Ok(()) => (0, None),
        Err(f) => (f.exit_code(), Some(f)),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut out = cmd::Output::new(std::io::stdout().lock());
    let (mut code, failure) = dispatch(&cli.command, &mut out);
    if let Some(f) = failure {
        cmd::note(format_args!("error: {}", f.message()));
    } else if let Err(e) = out.flush() {
        cmd::note(format_args!("error: writing output: {e}"));
        code = cmd::EXIT_IO;
    }
    ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Parses and runs a command line the way `main` does; panics propagate.
    fn run_line(args: &[String]) -> u8 {
        let Ok(cli) = Cli::try_parse_from(args) else { return cmd::EXIT_INPUT };
        dispatch(&cli.command, &mut cmd::Output::new(Vec::new())).0
    }

    fn line(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|s| s.to_string()).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// No value handed to `decode` (MSI, MSI-X, IO-APIC and VT-d formats), `rss`
        /// or `check` makes irqlab panic.
        #[test]
        fn decode_rss_and_check_never_panic(a in ".{0,40}", b in ".{0,40}", n in "[0-9a-fx]{0,36}") {
            for args in [
                line(&["irqlab", "decode", "msi", "--address", &a, "--data", &b]),
                line(&["irqlab", "decode", "msi", "--address", &n, "--data", &n]),
                line(&["irqlab", "decode", "msix-entry", &n]),
                line(&["irqlab", "decode", "msix-entry", &a]),
                line(&["irqlab", "decode", "ioapic-rte", &n]),
                line(&["irqlab", "decode", "ioapic-rte", &a]),
                line(&["irqlab", "decode", "irte", &n]),
                line(&["irqlab", "decode", "irte", &a]),
                line(&["irqlab", "decode", "irte", &a, &b]),
                line(&["irqlab", "decode", "vtd-fault", &n]),
                line(&["irqlab", "decode", "vtd-fault", &a]),
                line(&["irqlab", "decode", "context-entry", &n]),
                line(&["irqlab", "decode", "context-entry", &a, &b]),
                line(&["irqlab", "decode", "root-entry", &n]),
                line(&["irqlab", "decode", "root-entry", &a]),
                line(&["irqlab", "decode", "sl-pte", &n, "--level", &b]),
                line(&["irqlab", "decode", "sl-pte", &a, "--haw", &b]),
                line(&["irqlab", "rss", "--src", &a, "--dst", &b]),
                line(&["irqlab", "rss", "--src", "10.0.0.1:1", "--dst", "10.0.0.2:2", "--key", &n, "--queues", &b]),
                line(&["irqlab", "check", "doorbell", "--model", &a, "--barrier", &b]),
                line(&["irqlab", "check", "doorbell", "--model", "weak", "--barrier", "none", "--descriptors", &n]),
                line(&["irqlab", "check", "rx-status", "--model", &a, "--barrier", &b]),
            ] {
                let code = run_line(&args);
                prop_assert!(code <= 2);
            }
        }
    }
}
