//! `/proc/interrupts`, and the names drivers give their queue vectors there.
//!
//! The file (kernel/irq/proc.c `show_interrupts`) starts with a header of
//! one `CPUn` column per online CPU, then one row per IRQ:
//!
//! ```text
//!             CPU0       CPU1
//!  45:      10234          0  IR-PCI-MSIX-0000:03:00.0    1-edge      eth0-TxRx-0
//! NMI:          0          0   Non-maskable interrupts
//! ```
//!
//! a numeric IRQ row has the label, one count per CPU column, the chip
//! name, the hardware IRQ number joined to the flow handler's name
//! (`1-edge`, `9-fasteoi`; older kernels print the chip and trigger as one
//! word, `PCI-MSI-edge`), and the names of the handlers, separated by `, `
//! when the line is shared. Rows labelled with letters (`NMI`, `LOC`, `ERR`)
//! are the architecture's counters and are skipped.

/// One numeric row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IrqRow {
    /// The IRQ number.
    pub irq: u32,
    /// Interrupts handled, one per CPU column of the header.
    pub counts: Vec<u64>,
    /// The chip column (`IR-PCI-MSIX-0000:03:00.0`, `IO-APIC`), or empty.
    pub chip: String,
    /// The handler names (`eth0-TxRx-0`), one per action sharing the line.
    pub names: Vec<String>,
    /// 1-based line in the file.
    pub line: usize,
}

/// The parsed file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProcInterrupts {
    /// The CPU number of each count column, from the header.
    pub cpus: Vec<u32>,
    /// The numeric rows, in file order.
    pub rows: Vec<IrqRow>,
}

impl ProcInterrupts {
    /// The row of an IRQ.
    pub fn row(&self, irq: u32) -> Option<&IrqRow> {
        self.rows.iter().find(|r| r.irq == irq)
    }
}

/// Parses `/proc/interrupts`; an error gives the 1-based line and what is wrong.
pub fn parse(text: &str) -> Result<ProcInterrupts, (usize, String)> {
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l)).skip_while(|(_, l)| l.trim().is_empty());
    let Some((hline, header)) = lines.next() else {
        return Err((1, "empty file: expected the header `CPU0 CPU1 …`".into()));
    };
    let mut cpus = Vec::new();
    for word in header.split_whitespace() {
        let n = word.strip_prefix("CPU").and_then(|n| n.parse::<u32>().ok());
        match n {
            Some(n) => cpus.push(n),
            None => return Err((hline, format!("expected the header `CPU0 CPU1 …`, found `{word}`"))),
        }
    }
    if cpus.is_empty() {
        return Err((hline, "expected the header `CPU0 CPU1 …`, found an empty line".into()));
    }
    let mut rows = Vec::new();
    for (line, l) in lines {
        if l.trim().is_empty() {
            continue;
        }
        let Some((label, rest)) = l.split_once(':') else {
            return Err((line, format!("expected `IRQ: counts…`, found `{}`", l.trim())));
        };
        let label = label.trim();
        if label.is_empty() || !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err((line, format!("expected an IRQ number or a counter name before `:`, found `{label}`")));
        }
        let Ok(irq) = label.parse::<u32>() else { continue };
        let mut words = rest.split_whitespace();
        let mut counts = Vec::with_capacity(cpus.len());
        for _ in 0..cpus.len() {
            match words.next().map(|w| (w, w.parse::<u64>())) {
                Some((_, Ok(n))) => counts.push(n),
                Some((w, Err(_))) => {
                    return Err((
                        line,
                        format!(
                            "IRQ {irq}: expected {} per-CPU counts (one per CPU column of the header), found `{w}` after {}",
                            cpus.len(),
                            counts.len()
                        ),
                    ));
                }
                None => {
                    return Err((
                        line,
                        format!(
                            "IRQ {irq}: expected {} per-CPU counts (one per CPU column of the header), found {}",
                            cpus.len(),
                            counts.len()
                        ),
                    ));
                }
            }
        }
        let rest: Vec<&str> = words.collect();
        let chip = rest.first().copied().unwrap_or("").to_owned();
        let mut names_from = 1.min(rest.len());
        if rest.get(1).is_some_and(|w| is_trigger(w)) {
            names_from = 2;
        }
        let names =
            rest[names_from..].join(" ").split(", ").map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
        rows.push(IrqRow { irq, counts, chip, names, line });
    }
    Ok(ProcInterrupts { cpus, rows })
}

/// `1-edge`, `9-fasteoi`, `-edge`, `524288-edge`: a hardware IRQ number and
/// a flow handler name.
fn is_trigger(word: &str) -> bool {
    match word.split_once('-') {
        Some((num, kind)) => {
            num.chars().all(|c| c.is_ascii_digit())
                && !kind.is_empty()
                && kind.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        }
        None => matches!(word, "edge" | "level" | "Edge" | "Level"),
    }
}

/// The interrupt mode a chip name shows.
pub fn chip_mode(chip: &str) -> Option<crate::IrqMode> {
    let c = chip.to_ascii_uppercase();
    if c.contains("MSIX") || c.contains("MSI-X") {
        Some(crate::IrqMode::Msix)
    } else if c.contains("MSI") {
        Some(crate::IrqMode::Msi)
    } else if c.contains("IO-APIC") || c.contains("IOAPIC") {
        Some(crate::IrqMode::Intx)
    } else {
        None
    }
}

/// What a queue vector serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum QueueRole {
    /// A receive and transmit queue pair (`eth0-TxRx-0`, `mlx5_comp0@…`).
    TxRx,
    /// A receive queue only (`eth0-rx-0`, `virtio0-input.0`).
    Rx,
    /// A transmit queue only (`eth0-tx-0`, `virtio0-output.0`).
    Tx,
}

impl QueueRole {
    /// Whether the vector signals received packets.
    pub fn receives(self) -> bool {
        self != QueueRole::Tx
    }
}

/// How the driver of an interface names its vectors.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VectorNames {
    /// The interface (`eth0`): ixgbe `eth0-TxRx-0`, i40e `i40e-eth0-TxRx-0`,
    /// ice `ice-eth0-TxRx-0`, separate `eth0-rx-0` / `eth0-tx-0`.
    pub iface: String,
    /// The PCI address (`0000:3b:00.0`): mlx5 `mlx5_comp0@pci:0000:3b:00.0`.
    pub pci: Option<String>,
    /// The virtio device (`virtio0`): `virtio0-input.0`, `virtio0-output.0`.
    pub virtio: Option<String>,
}

impl VectorNames {
    /// The queue and role a handler name stands for, if it is one of this
    /// interface's queue vectors.
    pub fn queue_of(&self, name: &str) -> Option<(u32, QueueRole)> {
        if let Some(pci) = &self.pci
            && let Some(n) = name.strip_prefix("mlx5_comp").and_then(|r| r.strip_suffix(pci.as_str()))
            && let Some(n) = n.strip_suffix("@pci:")
        {
            return n.parse().ok().map(|n| (n, QueueRole::TxRx));
        }
        if let Some(v) = &self.virtio
            && let Some(rest) = name.strip_prefix(v.as_str())
        {
            if let Some(n) = rest.strip_prefix("-input.") {
                return n.parse().ok().map(|n| (n, QueueRole::Rx));
            }
            if let Some(n) = rest.strip_prefix("-output.") {
                return n.parse().ok().map(|n| (n, QueueRole::Tx));
            }
        }
        let mut parts = name.rsplitn(3, '-');
        let (n, kind, prefix) = (parts.next()?, parts.next()?, parts.next()?);
        let n: u32 = n.parse().ok().filter(|_| n.chars().all(|c| c.is_ascii_digit()))?;
        let role = match kind {
            "TxRx" | "txrx" | "fp" => QueueRole::TxRx,
            "rx" | "Rx" => QueueRole::Rx,
            "tx" | "Tx" => QueueRole::Tx,
            _ => return None,
        };
        let ours = prefix == self.iface || prefix.strip_suffix(self.iface.as_str()).is_some_and(|p| p.ends_with('-'));
        ours.then_some((n, role))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_every_shape() {
        let text = "           CPU0       CPU1       \n  0:         42          0   IO-APIC   2-edge      timer\n  9:          0          0   IO-APIC   9-fasteoi   acpi\n 16:          1          2   IO-APIC  16-fasteoi   ehci_hcd:usb1, i801_smbus\n 45:      10234          0  IR-PCI-MSIX-0000:03:00.0    1-edge      eth0-TxRx-0\n 46:          7          9  IR-PCI-MSI-edge      eth1-TxRx-0\n 47:          0          0  PCI-MSI 524288-edge      eno1\nNMI:          0          0   Non-maskable interrupts\nERR:          0\n";
        let p = parse(text).unwrap();
        assert_eq!(p.cpus, vec![0, 1]);
        assert_eq!(p.rows.len(), 6);
        assert_eq!(p.rows[2].names, vec!["ehci_hcd:usb1", "i801_smbus"]);
        let r = p.row(45).unwrap();
        assert_eq!(
            (r.counts.clone(), r.chip.as_str(), r.names.clone()),
            (vec![10234, 0], "IR-PCI-MSIX-0000:03:00.0", vec!["eth0-TxRx-0".to_string()])
        );
        assert_eq!(p.row(46).unwrap().names, vec!["eth1-TxRx-0"]);
        assert_eq!(p.row(47).unwrap().names, vec!["eno1"]);
        assert_eq!(chip_mode("IR-PCI-MSIX-0000:03:00.0"), Some(crate::IrqMode::Msix));
        assert_eq!(chip_mode("PCI-MSI"), Some(crate::IrqMode::Msi));
        assert_eq!(chip_mode("IO-APIC"), Some(crate::IrqMode::Intx));
    }

    #[test]
    fn malformed_rows_name_their_line() {
        assert_eq!(parse("").unwrap_err().0, 1);
        assert_eq!(parse("CPU0 CPU1\n 45: 1 x IR-PCI-MSIX 1-edge eth0\n").unwrap_err().0, 2);
        assert!(parse("CPU0 CPU1\n 45: 1\n").unwrap_err().1.contains("expected 2 per-CPU counts"));
        assert_eq!(parse("CPU0 CPU1\nLOC: 1 2 Local timer interrupts\ngarbage\n").unwrap_err().0, 3);
        assert!(parse("IRQ CPU0\n").unwrap_err().1.contains("header"));
    }

    #[test]
    fn queue_vectors_of_the_common_drivers() {
        let eth0 = VectorNames { iface: "eth0".into(), ..Default::default() };
        assert_eq!(eth0.queue_of("eth0-TxRx-3"), Some((3, QueueRole::TxRx)));
        assert_eq!(eth0.queue_of("i40e-eth0-TxRx-0"), Some((0, QueueRole::TxRx)));
        assert_eq!(eth0.queue_of("ice-eth0-TxRx-12"), Some((12, QueueRole::TxRx)));
        assert_eq!(eth0.queue_of("eth0-rx-1"), Some((1, QueueRole::Rx)));
        assert_eq!(eth0.queue_of("eth0-tx-1"), Some((1, QueueRole::Tx)));
        assert_eq!(eth0.queue_of("eth01-TxRx-1"), None);
        assert_eq!(eth0.queue_of("veth0-TxRx-1"), None);
        assert_eq!(eth0.queue_of("eth0"), None);
        assert_eq!(eth0.queue_of("eth0-TxRx-x"), None);
        let mlx = VectorNames { iface: "ens1f0np0".into(), pci: Some("0000:3b:00.0".into()), virtio: None };
        assert_eq!(mlx.queue_of("mlx5_comp7@pci:0000:3b:00.0"), Some((7, QueueRole::TxRx)));
        assert_eq!(mlx.queue_of("mlx5_comp7@pci:0000:3b:00.1"), None);
        assert_eq!(mlx.queue_of("mlx5_async0@pci:0000:3b:00.0"), None);
        let v = VectorNames { iface: "eth0".into(), pci: None, virtio: Some("virtio2".into()) };
        assert_eq!(v.queue_of("virtio2-input.1"), Some((1, QueueRole::Rx)));
        assert_eq!(v.queue_of("virtio2-output.0"), Some((0, QueueRole::Tx)));
        assert_eq!(v.queue_of("virtio3-input.0"), None);
        assert_eq!(v.queue_of("virtio2-config"), None);
    }
}
