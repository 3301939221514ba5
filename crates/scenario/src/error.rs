//! Errors in scenario files and `--set` overrides, located for the user.
//!
//! A [`ScenarioError`] holds one or more [`Diagnostic`]s. Each says where the
//! problem is (file, 1-based line and column, dotted key path) as far as that
//! is known, and what was expected. Display prints one diagnostic per line in
//! the form compilers use, `FILE:LINE:COL: KEY: MESSAGE`, leaving out the
//! parts that are unknown, so editors and terminals can jump to the spot.

use std::fmt;

/// What stage of loading found the problem.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The file could not be read (missing, unreadable).
    Io,
    /// The path names a directory (or anything else that is not a file).
    NotAFile,
    /// The text is not valid TOML (which includes not being UTF-8).
    Syntax,
    /// A `--set` override is malformed or cannot be applied.
    Override,
    /// The TOML does not fit the schema: wrong type, unknown key, bad enum
    /// variant, a number out of its type's range.
    Schema,
    /// The scenario fits the schema but fails [`irqlab_model::Scenario::validate`].
    Invalid,
    /// The scenario argument names neither a file nor a built-in scenario.
    UnknownScenario,
}

/// One located problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Which stage found it.
    pub kind: ErrorKind,
    /// The file name, `--set` for an override, or `<builtin:NAME>`.
    pub origin: String,
    /// 1-based line in `origin`, when the problem has a place in a file.
    pub line: Option<usize>,
    /// 1-based column (in characters) on `line`.
    pub column: Option<usize>,
    /// Dotted key path, e.g. `nic.queues` or `apps[1].core`.
    pub key: Option<String>,
    /// What is wrong and what was expected.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.origin)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        if let Some(key) = &self.key {
            write!(f, ": {key}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Why a scenario could not be loaded: every problem found, in source order
/// where they have one. Never empty.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ScenarioError {
    diagnostics: Vec<Diagnostic>,
}

impl ScenarioError {
    /// An error of a single diagnostic.
    pub fn single(diagnostic: Diagnostic) -> Self {
        ScenarioError { diagnostics: vec![diagnostic] }
    }

    /// An error of several diagnostics; `None` when there are none.
    pub fn from_diagnostics(diagnostics: Vec<Diagnostic>) -> Option<Self> {
        (!diagnostics.is_empty()).then_some(ScenarioError { diagnostics })
    }

    /// Every problem, one per entry.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// The first problem (there is always one).
    pub fn first(&self) -> &Diagnostic {
        &self.diagnostics[0]
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diag(line: Option<usize>, column: Option<usize>, key: Option<&str>) -> Diagnostic {
        Diagnostic {
            kind: ErrorKind::Invalid,
            origin: "a.toml".into(),
            line,
            column,
            key: key.map(str::to_string),
            message: "expected 1".into(),
        }
    }

    #[test]
    fn display_leaves_out_what_is_unknown() {
        assert_eq!(diag(Some(3), Some(9), Some("nic.queues")).to_string(), "a.toml:3:9: nic.queues: expected 1");
        assert_eq!(diag(Some(3), None, None).to_string(), "a.toml:3: expected 1");
        assert_eq!(diag(None, None, Some("nic")).to_string(), "a.toml: nic: expected 1");
    }

    #[test]
    fn display_prints_one_diagnostic_per_line() {
        let e =
            ScenarioError::from_diagnostics(vec![diag(Some(1), Some(1), None), diag(Some(2), Some(5), None)]).unwrap();
        assert_eq!(e.to_string(), "a.toml:1:1: expected 1\na.toml:2:5: expected 1");
        assert!(ScenarioError::from_diagnostics(vec![]).is_none());
    }
}
