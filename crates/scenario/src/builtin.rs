//! Built-in scenarios: commented TOML files under `crates/scenario/scenarios/`,
//! compiled into the binary so `irqlab run NAME` needs no file.
//!
//! Each file is an ordinary scenario and loads through the same path as a
//! user's file (origin `<builtin:NAME>`), so it can serve as a template. What
//! `irqlab scenarios` shows for one is its own `description` field.

use crate::ScenarioError;
use irqlab_model::Scenario;

/// A scenario shipped with irqlab.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Builtin {
    /// The name to give `irqlab run`; equal to the file's `name` field.
    pub name: &'static str,
    /// The scenario's TOML text.
    pub toml: &'static str,
}

macro_rules! builtin {
    ($name:literal) => {
        Builtin { name: $name, toml: include_str!(concat!("../scenarios/", $name, ".toml")) }
    };
}

static BUILTINS: [Builtin; 11] = [
    builtin!("default"),
    builtin!("line-rate-10g"),
    builtin!("low-load"),
    builtin!("overload"),
    builtin!("affinity-2cores"),
    builtin!("imix-onoff"),
    builtin!("rogue-device"),
    builtin!("zero-copy"),
    builtin!("vm-assigned"),
    builtin!("two-vms"),
    builtin!("container-vfio"),
];

/// Name of the scenario run when none is given.
pub const DEFAULT_BUILTIN: &str = "default";

/// Every built-in scenario, `default` first.
pub fn builtins() -> &'static [Builtin] {
    &BUILTINS
}

/// The built-in scenario called `name`.
pub fn builtin(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

/// The built-in names, comma-separated, for messages.
pub(crate) fn builtin_names() -> String {
    BUILTINS.iter().map(|b| b.name).collect::<Vec<_>>().join(", ")
}

impl Builtin {
    /// The origin its errors are reported against: `<builtin:NAME>`.
    pub fn origin(&self) -> String {
        format!("<builtin:{}>", self.name)
    }

    /// Loads it, applying `overrides` (`KEY=VALUE`, as given to `--set`).
    pub fn load(&self, overrides: &[String]) -> Result<Scenario, ScenarioError> {
        crate::load_str(self.toml, &self.origin(), overrides)
    }

    /// Loads it, applying overrides that name their option (see [`crate::load_str_with`]).
    pub fn load_with(&self, overrides: &[crate::Setting]) -> Result<Scenario, ScenarioError> {
        crate::load_str_with(self.toml, &self.origin(), overrides)
    }

    /// The scenario's own `description` field (every built-in has one and
    /// loads; a test guarantees it).
    pub fn description(&self) -> String {
        self.load(&[]).map(|s| s.description).unwrap_or_default()
    }
}
