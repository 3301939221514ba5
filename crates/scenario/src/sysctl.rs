//! `[sysctl]`: kernel settings under their own sysctl names, as
//! `sysctl -a` prints them (`net.core.netdev_budget = 300` is valid TOML in
//! this table). Each name is moved to the `[kernel]` key it sets before the
//! document is read, keeping its place in the file for error messages.

use crate::overrides::override_of_span;
use std::borrow::Cow;
use std::ops::Range;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// The sysctls the model has, and the `[kernel]` key each sets.
pub const SYSCTLS: &[(&str, &str)] = &[
    ("net.core.netdev_budget", "netdev_budget"),
    ("net.core.netdev_budget_usecs", "netdev_budget_usecs"),
    ("net.core.netdev_max_backlog", "netdev_max_backlog"),
    ("net.core.rps_sock_flow_entries", "rps_sock_flow_entries"),
    ("net.core.rmem_default", "socket_rcvbuf_bytes"),
];

/// One problem with the `[sysctl]` table: where, which key, what.
pub struct Problem {
    /// The key's place in the document.
    pub span: Range<usize>,
    /// `sysctl.NAME`.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

/// Moves every `[sysctl]` entry to its `[kernel]` key.
pub fn apply(root: &mut DeTable<'_>) -> Vec<Problem> {
    let Some(pos) = root.keys().position(|k| k.get_ref() == "sysctl") else {
        return Vec::new();
    };
    let key = root.keys().nth(pos).cloned().expect("the position was just found");
    let Some(value) = root.remove(&key) else {
        return Vec::new();
    };
    let mut leaves = Vec::new();
    let mut problems = Vec::new();
    match value.into_inner() {
        DeValue::Table(t) => flatten(String::new(), t, &mut leaves),
        other => problems.push(Problem {
            span: key.span(),
            key: "sysctl".into(),
            message: format!("expected a table of sysctls (`[sysctl]`), found {}", other.type_str()),
        }),
    }
    for (name, span, value) in leaves {
        let Some((_, kernel_key)) = SYSCTLS.iter().find(|(n, _)| *n == name) else {
            let known: Vec<&str> = SYSCTLS.iter().map(|(n, _)| *n).collect();
            problems.push(Problem {
                span,
                key: format!("sysctl.{name}"),
                message: format!("`{name}` is not a sysctl the model has; it has: {}", known.join(", ")),
            });
            continue;
        };
        let kernel = root
            .entry(Spanned::new(span.clone(), Cow::Borrowed("kernel")))
            .or_insert_with(|| Spanned::new(span.clone(), DeValue::Table(DeTable::default())));
        let DeValue::Table(kernel) = kernel.get_mut() else {
            // `kernel` is not a table: deserialising reports that.
            continue;
        };
        if let Some(existing) = kernel.keys().find(|k| k.get_ref() == kernel_key).cloned() {
            // A `--set` wins over the file, whichever name either uses.
            match (override_of_span(&span).is_some(), override_of_span(&existing.span()).is_some()) {
                (false, true) => continue,
                (true, false) => {
                    kernel.remove(&existing);
                }
                _ => {
                    problems.push(Problem {
                        span,
                        key: format!("sysctl.{name}"),
                        message: format!("set twice: as the sysctl `{name}` and as kernel.{kernel_key}"),
                    });
                    continue;
                }
            }
        }
        kernel.insert(Spanned::new(span, Cow::Owned((*kernel_key).to_string())), value);
    }
    problems
}

/// The leaves of a table with their dotted names: both
/// `net.core.netdev_budget = 300` (nested tables) and
/// `"net.core.netdev_budget" = 300` (one quoted key) name the same sysctl.
fn flatten<'a>(prefix: String, t: DeTable<'a>, out: &mut Vec<(String, Range<usize>, Spanned<DeValue<'a>>)>) {
    for (k, v) in t {
        let name = if prefix.is_empty() { k.get_ref().to_string() } else { format!("{prefix}.{}", k.get_ref()) };
        let span = k.span();
        if matches!(v.get_ref(), DeValue::Table(_)) {
            if let DeValue::Table(inner) = v.into_inner() {
                flatten(name, inner, out);
            }
        } else {
            out.push((name, span, v));
        }
    }
}
