//! Conservation laws checked at the end of every run (docs/architecture.md).
//!
//! A law states that one quantity equals the sum of named parts, e.g.
//! `offered = delivered + dropped + in_flight`. A violation is a model bug and
//! is reported loudly with every term, never silently corrected.

use serde::Serialize;
use std::fmt;

/// One conservation law: `total` must equal the sum of `parts`.
#[derive(Clone, Debug, Serialize)]
pub struct Law {
    /// What is conserved, e.g. "packets".
    pub name: String,
    /// Name and value of the conserved total.
    pub total: (String, u64),
    /// Name and value of each part.
    pub parts: Vec<(String, u64)>,
}

/// A law that did not hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LawViolation {
    /// The law's name.
    pub name: String,
    /// The equation with its values, for the report.
    pub detail: String,
}

impl fmt::Display for LawViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "accounting law '{}' violated: {}", self.name, self.detail)
    }
}

impl Law {
    /// A law for `name`: `total_name = total` must equal the parts' sum.
    pub fn new(name: &str, total_name: &str, total: u64) -> Law {
        Law { name: name.to_string(), total: (total_name.to_string(), total), parts: Vec::new() }
    }

    /// Adds a named part.
    pub fn part(mut self, name: &str, value: u64) -> Law {
        self.parts.push((name.to_string(), value));
        self
    }

    /// Checks the law.
    pub fn check(&self) -> Result<(), LawViolation> {
        let sum: u128 = self.parts.iter().map(|(_, v)| *v as u128).sum();
        if sum == self.total.1 as u128 {
            return Ok(());
        }
        let rhs: Vec<String> = self.parts.iter().map(|(n, v)| format!("{n} {v}")).collect();
        Err(LawViolation {
            name: self.name.clone(),
            detail: format!("{} {} != {} (sum {})", self.total.0, self.total.1, rhs.join(" + "), sum),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_law_holds_and_unbalanced_names_every_term() {
        let ok = Law::new("packets", "offered", 10).part("delivered", 7).part("dropped", 3);
        assert!(ok.check().is_ok());
        let bad = Law::new("packets", "offered", 10).part("delivered", 7).part("dropped", 2);
        let v = bad.check().unwrap_err();
        assert!(v.detail.contains("offered 10"));
        assert!(v.detail.contains("dropped 2"));
        assert!(v.detail.contains("sum 9"));
    }
}
