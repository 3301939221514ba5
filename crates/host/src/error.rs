//! Why reading a machine failed.

use std::fmt;

/// A problem that stops an import. A file that is merely missing is not
/// one: it becomes a [`crate::NotRead`] and the scenario keeps a default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostError {
    /// A file was read but its contents are not what the kernel writes there.
    Malformed {
        /// The file, as found on disk (under the root).
        file: String,
        /// 1-based line of the problem.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The root, or a file to write, could not be read or written.
    Io {
        /// The path.
        file: String,
        /// The operating system's reason.
        message: String,
    },
    /// The arguments name something the machine does not have (`--iface`).
    Input(String),
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostError::Malformed { file, line, message } => write!(f, "{file}:{line}: {message}"),
            HostError::Io { file, message } => write!(f, "{file}: {message}"),
            HostError::Input(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for HostError {}
