//! Errors in scenario files and `--set` overrides, located for the user.
//!
//! A [`ScenarioError`] holds one or more [`Diagnostic`]s. Each says where the
//! problem is (file, 1-based line and column, dotted key path) as far as that
//! is known, and what was expected. Display prints one diagnostic per line in
//! the form compilers use, `FILE:LINE:COL: KEY: MESSAGE`, leaving out the
//! parts that are unknown, so editors and terminals can jump to the spot.
//! [`ScenarioError::rendered`] adds, beneath that line, the offending source
//! line with a caret under the spot and a hint ("did you mean `queues`?"),
//! as rustc and codespan do; the first line stays the same.

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
    /// The source line at `line`, and how much of it to underline.
    pub snippet: Option<Snippet>,
    /// A hint, e.g. "did you mean `queues`?".
    pub help: Option<String>,
}

/// The source line a diagnostic points into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snippet {
    /// The line's text, without its line ending.
    pub text: String,
    /// How many characters to underline from the diagnostic's column (at least 1).
    pub width: usize,
}

impl Diagnostic {
    /// A diagnostic without a place in a file: no line, column, key, snippet or hint.
    pub fn unlocated(kind: ErrorKind, origin: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            kind,
            origin: origin.into(),
            line: None,
            column: None,
            key: None,
            message: message.into(),
            snippet: None,
            help: None,
        }
    }

    /// The `FILE:LINE:COL: KEY: MESSAGE` line, then the source line with a
    /// caret beneath the spot and the hint, each where there is one:
    ///
    /// ```text
    /// my.toml:2:1: nic.queus: unknown field `queus`, expected one of …
    ///   |
    /// 2 | queus = 4
    ///   | ^^^^^
    ///   = help: did you mean `queues`?
    /// ```
    pub fn rendered(&self) -> String {
        let mut out = self.to_string();
        let number = self.line.map(|l| l.to_string()).unwrap_or_default();
        let gutter = " ".repeat(number.len().max(1));
        if let (Some(snippet), Some(column)) = (&self.snippet, self.column) {
            // One space per tab keeps the caret under its character.
            let text = snippet.text.replace('\t', " ");
            let pad = " ".repeat(column.saturating_sub(1));
            let carets = "^".repeat(snippet.width.max(1));
            out.push_str(&format!("\n{gutter} |\n{number} | {text}\n{gutter} | {pad}{carets}"));
        }
        if let Some(help) = &self.help {
            out.push_str(&format!("\n{gutter} = help: {help}"));
        }
        out
    }
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

impl ScenarioError {
    /// Every diagnostic [rendered](Diagnostic::rendered) with its source
    /// line and hint, one after the other: what the command line prints.
    pub fn rendered(&self) -> String {
        self.diagnostics.iter().map(Diagnostic::rendered).collect::<Vec<_>>().join("\n")
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
            snippet: None,
            help: None,
        }
    }

    #[test]
    fn rendered_puts_a_caret_under_the_spot_and_the_hint_below() {
        let mut d = diag(Some(12), Some(2), Some("nic.queus"));
        d.snippet = Some(Snippet { text: "\tqueus = 4".into(), width: 5 });
        d.help = Some("did you mean `queues`?".into());
        assert_eq!(
            d.rendered(),
            "a.toml:12:2: nic.queus: expected 1\n   |\n12 |  queus = 4\n   |  ^^^^^\n   = help: did you mean `queues`?"
        );
        // Without a place in a file: the line, and the hint.
        let mut d = Diagnostic::unlocated(ErrorKind::Override, "--set", "nic.queus: unknown");
        assert_eq!(d.rendered(), "--set: nic.queus: unknown");
        d.help = Some("did you mean `queues`?".into());
        assert_eq!(d.rendered(), "--set: nic.queus: unknown\n  = help: did you mean `queues`?");
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
