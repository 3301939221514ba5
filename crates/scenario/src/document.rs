//! The parsed scenario document with source spans, and the mapping from a
//! byte span or a key path to what a user can act on: file, line, column.
//!
//! Spans come from `toml::de::DeTable`, which keeps the byte range of every
//! key and value. Values put in by `--set` carry override spans (see
//! [`crate::overrides`]) and are reported against `--set`.

use crate::error::{Diagnostic, ErrorKind, ScenarioError, Snippet};
use crate::keypath::{KeyPath, Segment};
pub use crate::overrides::OVERRIDE_ORIGIN;
use crate::overrides::override_of_span;
use std::ops::Range;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Where the text being loaded came from, for turning spans into locations.
pub struct Source<'a> {
    /// File name or `<builtin:NAME>`.
    pub origin: &'a str,
    /// The scenario text.
    pub text: &'a str,
    /// For each override, in order, the option it came from (`--set`, or
    /// e.g. `--duration`); an override beyond the list is `--set`.
    pub override_options: &'a [&'a str],
}

impl Source<'_> {
    /// A diagnostic at `span` (if any), about `key` (if known).
    pub fn diagnostic(
        &self,
        kind: ErrorKind,
        span: Option<Range<usize>>,
        key: Option<String>,
        message: String,
    ) -> Diagnostic {
        let (origin, line, column) = match span.as_ref().map(|s| (s, override_of_span(s))) {
            Some((_, Some(i))) => {
                (self.override_options.get(i).copied().unwrap_or(OVERRIDE_ORIGIN).to_string(), None, None)
            }
            Some((s, None)) => {
                let (line, column) = line_column(self.text, s.start);
                (self.origin.to_string(), Some(line), Some(column))
            }
            None => (self.origin.to_string(), None, None),
        };
        let snippet = span.as_ref().filter(|s| override_of_span(s).is_none()).map(|s| snippet(self.text, s));
        Diagnostic { kind, origin, line, column, key, message, snippet, help: None }
    }
}

/// The bytes of a file as text, or the error at the first byte that is
/// not UTF-8 (its line and column), named after `origin`.
pub fn utf8_text<'a>(bytes: &'a [u8], origin: &str) -> Result<&'a str, ScenarioError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let (line, column) = line_column(&String::from_utf8_lossy(bytes), e.valid_up_to());
        let message = "expected UTF-8 text (TOML files are UTF-8)";
        ScenarioError::single(Diagnostic {
            line: Some(line),
            column: Some(column),
            ..Diagnostic::unlocated(ErrorKind::Syntax, origin, message)
        })
    })
}

/// The line of `text` that `span` starts on, and how many of its characters
/// the span covers from there (at least one; a span running past the line
/// is cut at its end).
pub fn snippet(text: &str, span: &Range<usize>) -> Snippet {
    let start = span.start.min(text.len());
    // Spans come from the parser and fall on character boundaries; be
    // careful anyway, as loading must never panic.
    let start = (0..=start).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line = text[line_start..line_end].trim_end_matches('\r');
    // A span may start on the line's trimmed `\r` (or past it): never cut before its start.
    let end = span.end.clamp(start, (line_start + line.len()).max(start));
    let end = (end..=text.len()).find(|&i| text.is_char_boundary(i)).unwrap_or(text.len());
    Snippet { text: line.to_string(), width: text[start..end].chars().count().max(1) }
}

/// 1-based line and column (counted in characters) of byte `offset` in
/// `text`; an offset past the end points just after the last character.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let bytes = text.as_bytes();
    let before = &bytes[..offset.min(bytes.len())];
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    // Count characters, not bytes: skip UTF-8 continuation bytes.
    let column = 1 + before[line_start..].iter().filter(|&&b| b & 0xC0 != 0x80).count();
    (line, column)
}

/// The span of the value at `path`, or of the deepest parent that exists
/// when the key itself is absent (it took its default). `None` when not even
/// the first key is in the document.
pub fn span_of_path(root: &DeTable<'_>, path: &KeyPath) -> Option<Range<usize>> {
    locate(root, path).map(|(span, _)| span)
}

/// Like [`span_of_path`], and whether the span is the key's own (`true`)
/// or a parent's, the key being absent (`false`).
pub fn locate(root: &DeTable<'_>, path: &KeyPath) -> Option<(Range<usize>, bool)> {
    let mut segments = path.0.iter();
    let Some(Segment::Key(first)) = segments.next() else {
        return None;
    };
    let mut cur: &Spanned<DeValue<'_>> = root.get(first.as_str())?;
    for seg in segments {
        let next = match seg {
            Segment::Key(k) => cur.get_ref().get(k.as_str()),
            Segment::Index(i) => cur.get_ref().get(*i),
        };
        match next {
            Some(v) => cur = v,
            // An element of a set written as one string (a cpulist, a
            // mask): the string is what the document sets.
            None if matches!(seg, Segment::Index(_)) && matches!(cur.get_ref(), DeValue::String(_)) => {
                return Some((cur.span(), true));
            }
            None => return Some((cur.span(), false)),
        }
    }
    Some((cur.span(), true))
}

/// Whether `path` names a key the document sets.
pub fn is_set(root: &DeTable<'_>, path: &KeyPath) -> bool {
    locate(root, path).is_some_and(|(_, exact)| exact)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snippet_is_the_spans_line_underlined_as_far_as_the_line_goes() {
        let text = "[nic]\r\nqueus = 4\nbé = \"x\"\n";
        let s = snippet(text, &(7..12));
        assert_eq!((s.text.as_str(), s.width), ("queus = 4", 5));
        // 'é' is two bytes but one character; the span runs past the line.
        let at = text.find("bé").unwrap();
        assert_eq!(snippet(text, &(at..text.len())).width, "bé = \"x\"".chars().count());
        // An empty span at the very end still gets one caret.
        assert_eq!(snippet(text, &(text.len()..text.len())).width, 1);
        assert_eq!(snippet("", &(5..9)).text, "");
    }

    #[test]
    fn a_snippet_of_a_span_on_a_carriage_return_does_not_panic() {
        assert_eq!(snippet("\r", &(1..1)).width, 1);
        assert_eq!(snippet("a = 1\r\n", &(5..6)).text, "a = 1");
    }

    #[test]
    fn line_and_column_are_one_based_and_count_characters() {
        let text = "a = 1\nbé = \"x\"\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 4), (1, 5));
        assert_eq!(line_column(text, 6), (2, 1));
        // 'é' is two bytes but one column.
        assert_eq!(line_column(text, 6 + "bé = ".len()), (2, 6));
        assert_eq!(line_column(text, 10_000), (3, 1));
    }

    #[test]
    fn a_missing_key_falls_back_to_its_nearest_parent() {
        let text = "[nic]\nqueues = 4\n";
        let doc = DeTable::parse(text).unwrap();
        let path = |p: &str| KeyPath::parse(p).unwrap();
        let queues = span_of_path(doc.get_ref(), &path("nic.queues")).unwrap();
        assert_eq!(&text[queues], "4");
        let parent = span_of_path(doc.get_ref(), &path("nic.ring_size")).unwrap();
        assert_eq!(line_column(text, parent.start).0, 1);
        assert_eq!(span_of_path(doc.get_ref(), &path("machine.cores")), None);
        assert!(is_set(doc.get_ref(), &path("nic.queues")));
        assert!(!is_set(doc.get_ref(), &path("nic.ring_size")));
        assert!(!is_set(doc.get_ref(), &path("machine.cores")));
    }
}
