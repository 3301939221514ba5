//! `[[devices]]`: other level-triggered devices on IO-APIC lines, each with
//! an interrupt cause register and Poisson events.

use super::{IOAPIC_PINS, MAX_COST_NS, ValidateCx, num};
use serde::{Deserialize, Serialize};

/// Level-triggered devices a scenario may add (one line-source bit each).
pub const MAX_DEVICES: usize = 30;
/// Highest event rate of one device, Hz: an interrupt every 100 ns, beyond
/// what any device's interrupt path sustains (a core's hard-IRQ entry and
/// exit alone takes ≈ 0.3–1 µs).
pub const MAX_DEVICE_RATE_HZ: f64 = 1e7;

/// A simple device with an interrupt cause register on an IO-APIC line,
/// raising events at random (Poisson) times. On the NIC's INTx pin it shares
/// the line and the IRQ (`IRQF_SHARED`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceConfig {
    /// Name shown in reports.
    pub name: String,
    /// IO-APIC input pin; below [`IOAPIC_PINS`].
    pub pin: u32,
    /// Mean events per second; positive, at most [`MAX_DEVICE_RATE_HZ`].
    pub rate_hz: f64,
    /// How its driver clears the cause: `read` (read-to-clear) or `w1c`
    /// (read, then write 1s to clear).
    #[serde(default = "default_clear")]
    pub clear: CauseClear,
    /// CPU time of its handler's body beyond the register accesses, ns;
    /// 0..=[`MAX_COST_NS`] (one second).
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
        if !(d.rate_hz.is_finite() && d.rate_hz > 0.0 && d.rate_hz <= MAX_DEVICE_RATE_HZ) {
            cx.err(format!("devices[{i}].rate_hz"), format!("expected 0 < rate_hz <= 1e7, got {}", num(d.rate_hz)));
        }
        if !(d.handler_ns.is_finite() && d.handler_ns >= 0.0) {
            cx.err(
                format!("devices[{i}].handler_ns"),
                format!("expected a non-negative time, got {}", num(d.handler_ns)),
            );
        } else if d.handler_ns > MAX_COST_NS {
            cx.err(
                format!("devices[{i}].handler_ns"),
                format!("expected at most one second ({MAX_COST_NS} ns), got {}", num(d.handler_ns)),
            );
        }
        if d.core >= cx.cores {
            let message = cx.no_such_core(d.core);
            cx.err(format!("devices[{i}].core"), message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scenario;
    use crate::config::testutil::{only_error, valid};

    #[test]
    fn handler_time_and_rate_are_bounded() {
        let mut s = Scenario::default();
        let d = DeviceConfig {
            name: "d".into(),
            pin: 5,
            rate_hz: MAX_DEVICE_RATE_HZ,
            clear: CauseClear::Read,
            handler_ns: MAX_COST_NS,
            core: 0,
        };
        s.devices = vec![d];
        valid(&s);
        s.devices[0].handler_ns = 1e10;
        only_error(&s, "devices[0].handler_ns", "at most one second");
        s.devices[0].handler_ns = 0.0;
        s.devices[0].rate_hz = 2e7;
        only_error(&s, "devices[0].rate_hz", "rate_hz <= 1e7");
    }
}
