//! `[[devices]]`: other level-triggered devices on IO-APIC lines, each with
//! an interrupt cause register and Poisson events.

use super::{IOAPIC_PINS, ValidateCx};
use serde::{Deserialize, Serialize};

/// Level-triggered devices a scenario may add (one line-source bit each).
pub const MAX_DEVICES: usize = 30;

/// A simple device with an interrupt cause register on an IO-APIC line,
/// raising events at random (Poisson) times. On the NIC's INTx pin it shares
/// the line and the IRQ (`IRQF_SHARED`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceConfig {
    /// Name shown in reports.
    pub name: String,
    /// IO-APIC input pin.
    pub pin: u32,
    /// Mean events per second.
    pub rate_hz: f64,
    /// How its driver clears the cause: `read` (read-to-clear) or `w1c`
    /// (read, then write 1s to clear).
    #[serde(default = "default_clear")]
    pub clear: CauseClear,
    /// CPU time of its handler's body beyond the register accesses, ns.
    #[serde(default)]
    pub handler_ns: f64,
    /// Core its interrupt targets when it does not share the NIC's line.
    #[serde(default)]
    pub core: u32,
}

/// How a driver clears an interrupt cause register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CauseClear {
    /// Reading the register clears it.
    Read,
    /// Read it, then write 1s to the bits to clear them.
    W1c,
}

fn default_clear() -> CauseClear {
    CauseClear::Read
}

/// Checks `[[devices]]`.
pub fn validate(devices: &[DeviceConfig], cx: &mut ValidateCx) {
    if devices.len() > MAX_DEVICES {
        cx.err("devices", format!("expected at most {MAX_DEVICES} devices, got {}", devices.len()));
    }
    for (i, d) in devices.iter().enumerate() {
        if d.pin >= IOAPIC_PINS {
            cx.err(format!("devices[{i}].pin"), format!("expected an IO-APIC pin below {IOAPIC_PINS}, got {}", d.pin));
        }
        if !(d.rate_hz.is_finite() && d.rate_hz > 0.0 && d.rate_hz <= 1e7) {
            cx.err(format!("devices[{i}].rate_hz"), format!("expected 0 < rate_hz <= 1e7, got {}", d.rate_hz));
        }
        if !(d.handler_ns.is_finite() && d.handler_ns >= 0.0) {
            cx.err(format!("devices[{i}].handler_ns"), format!("expected a non-negative time, got {}", d.handler_ns));
        }
        if d.core >= cx.cores {
            let message = cx.no_such_core(d.core);
            cx.err(format!("devices[{i}].core"), message);
        }
    }
}
