//! `[driver]`: the NIC driver's interrupt etiquette on a level line.

use super::ValidateCx;
use serde::{Deserialize, Serialize};

/// The NIC driver's interrupt etiquette.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DriverConfig {
    /// Order of EOI and clearing the device's interrupt cause on a level line.
    pub level_eoi: LevelEoi,
}

/// When the EOI is written relative to clearing the device's cause.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LevelEoi {
    /// Correct: the top half reads (clears) the interrupt cause register,
    /// deasserting the line, and the EOI follows the handler (`handle_fasteoi_irq`).
    AfterClear,
    /// Wrong: the EOI is written on entry and the cause is left for the
    /// bottom half (the NAPI poll reads it); the still-asserted level line is
    /// re-delivered at once.
    BeforeClear,
}

impl Default for DriverConfig {
    fn default() -> Self {
        DriverConfig { level_eoi: LevelEoi::AfterClear }
    }
}

impl DriverConfig {
    /// Checks `[driver]`: its one key is an enum, so there is nothing the
    /// types have not already checked.
    pub fn validate(&self, _cx: &mut ValidateCx) {}
}
