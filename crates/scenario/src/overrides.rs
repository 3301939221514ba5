//! `--set KEY=VALUE` overrides, applied to the parsed TOML document before
//! it is deserialised, so an override goes through exactly the same type
//! checks and validation as the same key written in the file.
//!
//! VALUE is read as a TOML value (`4`, `2.5`, `true`, `"x"`, `[0, 1, 1, 0]`,
//! `{ rx_usecs = 8 }`); text that is not a TOML value is taken as a bare
//! string, so `--set workload.arrival=poisson` works without quotes. Missing
//! tables on the way are created; array elements are addressed as
//! `apps[0].core` and must exist.
//!
//! Every value an override puts into the document carries a span past the
//! end of any source text (see [`span_of_override`]), so an error about it is
//! reported against `--set` rather than a line of the file.

use crate::keypath::{KeyPath, Segment};
use std::borrow::Cow;
use std::ops::Range;
use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

/// Origin shown for problems in `--set` overrides.
pub const OVERRIDE_ORIGIN: &str = "--set";

/// First span offset used for override values: far beyond any real source.
const OVERRIDE_SPAN_BASE: usize = usize::MAX / 4;

/// The span given to everything override number `index` inserts.
pub fn span_of_override(index: usize) -> Range<usize> {
    let start = OVERRIDE_SPAN_BASE.saturating_add(index);
    start..start.saturating_add(1)
}

/// Which override a span belongs to, if it is an override span.
pub fn override_of_span(span: &Range<usize>) -> Option<usize> {
    span.start.checked_sub(OVERRIDE_SPAN_BASE)
}

/// A `KEY=VALUE` override and the command-line option it came from, which
/// names it in errors: `--set` for `--set KEY=VALUE`, or an option that
/// stands for a key, such as `--duration` for `duration_ms=…`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting {
    /// The option problems with it are reported against, e.g. `--set`.
    pub option: String,
    /// `KEY=VALUE`.
    pub text: String,
}

impl Setting {
    /// A `--set KEY=VALUE` override.
    pub fn set(text: impl Into<String>) -> Setting {
        Setting { option: OVERRIDE_ORIGIN.to_string(), text: text.into() }
    }

    /// An override given by `option`, e.g. `Setting::from_option("--duration", "duration_ms=5.0")`.
    pub fn from_option(option: impl Into<String>, text: impl Into<String>) -> Setting {
        Setting { option: option.into(), text: text.into() }
    }
}

/// One parsed `--set` argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Override {
    /// The argument as given.
    pub text: String,
    /// The key path left of the first `=`.
    pub path: KeyPath,
    /// The text right of the first `=`, trimmed.
    pub value: String,
}

impl Override {
    /// Parses `KEY=VALUE`. The error names the argument and says what was expected.
    pub fn parse(text: &str) -> Result<Override, String> {
        let Some((key, value)) = text.split_once('=') else {
            return Err(format!("'{text}' has no '=': expected KEY=VALUE, e.g. nic.queues=8"));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(format!("'{text}' has an empty key: expected KEY=VALUE, e.g. nic.queues=8"));
        }
        let path = KeyPath::parse(key).map_err(|e| format!("'{text}': bad key path: {e}"))?;
        Ok(Override { text: text.to_string(), path, value: value.trim().to_string() })
    }

    /// The value as a TOML value, or as a bare string when it is not one;
    /// every span inside it is `span`.
    fn toml_value(&self, span: &Range<usize>) -> Spanned<DeValue<'_>> {
        match DeValue::parse(&self.value) {
            Ok(v) => respan(v, span),
            Err(_) => Spanned::new(span.clone(), DeValue::String(Cow::Borrowed(&self.value))),
        }
    }

    /// Sets the value in `root`, creating missing tables. `index` is the
    /// override's position on the command line, recorded in the spans.
    pub fn apply<'s>(&'s self, root: &mut DeTable<'s>, index: usize) -> Result<(), String> {
        let span = span_of_override(index);
        let value = self.toml_value(&span);
        let segments = &self.path.0;
        let mut top = DeValue::Table(std::mem::take(root));
        let result = set(&mut top, segments, value, &span, &self.path);
        if let DeValue::Table(t) = top {
            *root = t;
        }
        result.map_err(|e| format!("cannot apply '{}': {e}", self.text))
    }
}

/// Walks `segments` from `cur`, creating tables for missing keys, and puts
/// `value` at the end. `path` is the whole path, for messages.
fn set<'a>(
    mut cur: &mut DeValue<'a>,
    segments: &[Segment],
    value: Spanned<DeValue<'a>>,
    span: &Range<usize>,
    path: &KeyPath,
) -> Result<(), String> {
    let mut value = Some(value);
    for (i, seg) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        // The path walked so far and what is there, for messages.
        let here = || KeyPath(segments[..i].to_vec());
        let kind = cur.type_str();
        cur = match (seg, cur) {
            (Segment::Key(k), DeValue::Table(t)) => {
                let key = Spanned::new(span.clone(), Cow::Owned(k.clone()));
                if last {
                    if let Some(v) = value.take() {
                        t.insert(key, v);
                    }
                    return Ok(());
                }
                // A missing key becomes an empty table, or an empty array
                // when an index follows (which is then out of range).
                let empty = match segments.get(i + 1) {
                    Some(Segment::Index(_)) => DeValue::Array(DeArray::new()),
                    _ => DeValue::Table(DeTable::default()),
                };
                t.entry(key).or_insert_with(|| Spanned::new(span.clone(), empty)).get_mut()
            }
            (Segment::Index(n), DeValue::Array(a)) => {
                let len = a.len();
                let Some(elem) = a.get_mut(*n) else {
                    return Err(format!(
                        "index {n} is out of range: {} has {len} element{}",
                        here(),
                        if len == 1 { "" } else { "s" }
                    ));
                };
                if last {
                    if let Some(v) = value.take() {
                        *elem = v;
                    }
                    return Ok(());
                }
                elem.get_mut()
            }
            (Segment::Key(_), _) => {
                // Never the root, which is a table.
                return Err(format!("cannot set {path}: {} is {} {kind}, not a table", here(), article(kind)));
            }
            (Segment::Index(_), _) => {
                return Err(format!("cannot set {path}: {} is {} {kind}, not an array", here(), article(kind)));
            }
        };
    }
    Ok(())
}

fn article(kind: &str) -> &'static str {
    if kind.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" }
}

/// Gives `v` and everything inside it the span `span`.
fn respan<'a>(v: Spanned<DeValue<'a>>, span: &Range<usize>) -> Spanned<DeValue<'a>> {
    let inner = match v.into_inner() {
        DeValue::Array(mut a) => {
            for e in a.iter_mut() {
                let old = std::mem::replace(e, Spanned::new(0..0, DeValue::Boolean(false)));
                *e = respan(old, span);
            }
            DeValue::Array(a)
        }
        DeValue::Table(t) => DeValue::Table(
            t.into_iter().map(|(k, v)| (Spanned::new(span.clone(), k.into_inner()), respan(v, span))).collect(),
        ),
        other => other,
    };
    Spanned::new(span.clone(), inner)
}
