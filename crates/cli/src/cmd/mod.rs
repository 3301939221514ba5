//! Subcommands. Each returns `Result<(), Failure>`; `main` prints the
//! failure and exits with its code.

pub mod bench;
pub mod check;
pub mod decode;
pub mod experiment;
pub mod rss;
pub mod run;

/// Why a command failed.
#[derive(Debug)]
pub enum Failure {
    /// Bad input: arguments, scenario files, values to decode (exit 2).
    Input(String),
    /// The run broke a conservation law: a model bug (exit 1).
    Bug(String),
    /// Writing output failed (exit 1).
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
            Failure::Input(_) => 2,
            Failure::Bug(_) | Failure::Io(_) => 1,
        }
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Io(e.to_string())
    }
}
