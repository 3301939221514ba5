//! Dotted key paths with array indices: `nic.queues`, `apps[0].core`,
//! `workload.flow_list[2].src`.
//!
//! The same syntax names a key in `--set` overrides and in the errors of
//! [`irqlab_model::Scenario::validate`], so one parser serves both. Keys are
//! bare TOML keys (letters, digits, `_`, `-`); quoted keys are not supported.

use std::fmt;

/// Deepest key path accepted, far beyond any key of the schema; bounds the
/// tables an override may create.
pub const MAX_DEPTH: usize = 32;

/// One step of a key path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    /// A key of a table.
    Key(String),
    /// An element of an array (0-based).
    Index(usize),
}

/// A parsed key path; never empty, always starts with a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPath(pub Vec<Segment>);

impl KeyPath {
    /// Parses `a.b[3].c`. The error says what is wrong with the path.
    pub fn parse(text: &str) -> Result<KeyPath, String> {
        let mut segments = Vec::new();
        let mut chars = text.char_indices().peekable();
        if text.is_empty() {
            return Err("the key is empty".into());
        }
        loop {
            // A key.
            let start = chars.peek().map_or(text.len(), |&(i, _)| i);
            while chars.peek().is_some_and(|&(_, c)| is_bare_key_char(c)) {
                chars.next();
            }
            let end = chars.peek().map_or(text.len(), |&(i, _)| i);
            if start == end {
                return Err(match chars.peek() {
                    None if start == 0 => "the key is empty".into(),
                    None => format!("'{text}' ends with '.' where a key was expected"),
                    Some(&(_, c)) => format!(
                        "unexpected '{c}' at position {} of '{text}' where a key was expected (keys use letters, digits, '_' and '-')",
                        start + 1
                    ),
                });
            }
            segments.push(Segment::Key(text[start..end].to_string()));
            // Any number of [N].
            while chars.peek().is_some_and(|&(_, c)| c == '[') {
                let (open, _) = chars.next().unwrap_or((0, '['));
                let digits_start = open + 1;
                while chars.peek().is_some_and(|&(_, c)| c.is_ascii_digit()) {
                    chars.next();
                }
                let digits_end = chars.peek().map_or(text.len(), |&(i, _)| i);
                if chars.next().map(|(_, c)| c) != Some(']') || digits_start == digits_end {
                    return Err(format!("expected an array index like [0] at position {} of '{text}'", open + 1));
                }
                let index = text[digits_start..digits_end]
                    .parse::<usize>()
                    .map_err(|_| format!("array index {} is too large", &text[digits_start..digits_end]))?;
                segments.push(Segment::Index(index));
            }
            if segments.len() > MAX_DEPTH {
                return Err(format!("the key path has more than {MAX_DEPTH} parts"));
            }
            match chars.next() {
                None => return Ok(KeyPath(segments)),
                Some((_, '.')) => {}
                Some((i, c)) => {
                    return Err(format!(
                        "unexpected '{c}' at position {} of '{text}' (expected '.', '[' or the end)",
                        i + 1
                    ));
                }
            }
        }
    }
}

fn is_bare_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            match s {
                Segment::Key(k) if i == 0 => f.write_str(k)?,
                Segment::Key(k) => write!(f, ".{k}")?,
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> Segment {
        Segment::Key(s.into())
    }

    #[test]
    fn parses_keys_and_indices_and_prints_them_back() {
        let p = KeyPath::parse("workload.flow_list[2].src").unwrap();
        assert_eq!(p.0, vec![key("workload"), key("flow_list"), Segment::Index(2), key("src")]);
        assert_eq!(p.to_string(), "workload.flow_list[2].src");
        let p = KeyPath::parse("a[1][0]").unwrap();
        assert_eq!(p.0, vec![key("a"), Segment::Index(1), Segment::Index(0)]);
        assert_eq!(p.to_string(), "a[1][0]");
    }

    #[test]
    fn rejects_malformed_paths_with_a_reason() {
        for bad in ["", ".a", "a.", "a..b", "a[", "a[]", "a[x]", "a]b", "[0].a", "a b", "a[99999999999999999999999]"] {
            assert!(KeyPath::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        let deep = vec!["k"; MAX_DEPTH + 1].join(".");
        assert!(KeyPath::parse(&deep).is_err());
    }
}
