//! `irqlab`: command-line front end. Parses arguments, calls the library,
//! prints. Exit codes: 0 success; 1 a run found an accounting-law violation
//! (a model bug); 2 invalid input (arguments, scenario files, values to
//! decode).

#![forbid(unsafe_code)]

mod cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// An executable, deterministic model of a server's interrupt architecture.
#[derive(Parser, Debug)]
#[command(name = "irqlab", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a scenario (the built-in default when none is named) and print its metrics.
    Run(cmd::run::RunArgs),
    /// List the built-in scenarios.
    Scenarios,
    /// Measure simulation speed: events and simulated packets per wall-clock second.
    Bench(cmd::bench::BenchArgs),
    /// Compute the RSS Toeplitz hash (and queue) of a flow.
    Rss(cmd::rss::RssArgs),
    /// Decode register values and messages field by field.
    Decode(cmd::decode::DecodeArgs),
    /// Run a built-in experiment: variants, a table, and findings computed from the data.
    Experiment(cmd::experiment::ExperimentArgs),
    /// Exhaustively check the driver/device memory-ordering contract (exit 0 safe, 1 counterexample).
    Check(cmd::check::CheckArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut out = std::io::stdout().lock();
    let result = match &cli.command {
        Command::Run(a) => cmd::run::run(a, &mut out),
        Command::Scenarios => cmd::run::list_scenarios(&mut out),
        Command::Bench(a) => cmd::bench::run(a, &mut out),
        Command::Rss(a) => cmd::rss::run(a, &mut out).map_err(cmd::Failure::Input),
        Command::Decode(a) => cmd::decode::run(a, &mut out).map_err(cmd::Failure::Input),
        Command::Experiment(a) => cmd::experiment::run(a, &mut out),
        Command::Check(a) => match cmd::check::run(a, &mut out) {
            Ok(outcome) => return ExitCode::from(outcome.exit_code()),
            Err(e) => Err(cmd::Failure::Input(e)),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("error: {}", f.message());
            ExitCode::from(f.exit_code())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Parses and runs a command line the way `main` does; panics propagate.
    fn run_line(args: &[String]) -> u8 {
        let Ok(cli) = Cli::try_parse_from(args) else { return 2 };
        let mut out = Vec::new();
        match &cli.command {
            Command::Rss(a) => cmd::rss::run(a, &mut out).map_or(2, |_| 0),
            Command::Decode(a) => cmd::decode::run(a, &mut out).map_or(2, |_| 0),
            Command::Check(a) => cmd::check::run(a, &mut out).map_or(2, |o| o.exit_code()),
            _ => 0,
        }
    }

    fn line(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|s| s.to_string()).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// No value handed to `decode`, `rss` or `check` makes irqlab panic.
        #[test]
        fn decode_rss_and_check_never_panic(a in ".{0,40}", b in ".{0,40}", n in "[0-9a-fx]{0,36}") {
            for args in [
                line(&["irqlab", "decode", "msi", "--address", &a, "--data", &b]),
                line(&["irqlab", "decode", "msi", "--address", &n, "--data", &n]),
                line(&["irqlab", "decode", "msix-entry", &n]),
                line(&["irqlab", "decode", "msix-entry", &a]),
                line(&["irqlab", "decode", "ioapic-rte", &n]),
                line(&["irqlab", "decode", "ioapic-rte", &a]),
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
