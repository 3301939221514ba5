//! `[nic]` and `[nic.coalesce]`: queues, rings, RSS, line rate, the
//! interrupt mode and trigger, interrupt placement and coalescing.

use super::{ConfigError, IOAPIC_PINS, ValidateCx, finite_pos, num};
use irqlab_hw::rss::{Reta, RetaFill};
use serde::{Deserialize, Serialize};

/// The NIC's interrupt cause register has one bit per queue, 64 bits wide.
pub const MAX_QUEUES_SINGLE_IRQ: u32 = 64;
/// Most RX queues: one MSI-X vector each, and an MSI-X table has at most
/// 2048 entries (PCIe: the Table Size field of Message Control is 11 bits,
/// encoded as N − 1).
pub const MAX_QUEUES: u32 = 2048;
/// Largest RX ring, descriptors: the largest of common server NICs, mlx5
/// (`1 << MLX5E_PARAMS_MAXIMUM_LOG_RQ_SIZE` = 8192; ice allows 8160
/// (`ICE_MAX_NUM_DESC`), ixgbe and i40e 4096).
pub const MAX_RING_SIZE: u32 = 8192;
/// Slowest line rate, Gbit/s: 10 Mb/s Ethernet (IEEE 802.3 10BASE-T).
pub const MIN_LINE_RATE_GBPS: f64 = 0.01;
/// Fastest line rate, Gbit/s: 1.6 Tb/s Ethernet (IEEE 802.3dj).
pub const MAX_LINE_RATE_GBPS: f64 = 1600.0;
/// Largest RSS indirection table the model accepts (a power of two). Real
/// tables are smaller: 128 entries on ixgbe, 512 on i40e, 2048 on ice
/// (`ICE_LUT_PF_SIZE`).
pub const MAX_RETA_SIZE: u32 = 65_536;
/// Longest `rx-usecs`, µs: the largest interrupt throttling interval of
/// Intel's i40e and ice (`I40E_MAX_ITR`, `ICE_ITR_MAX` = 8160 µs; ixgbe
/// stops at 1022 µs, mlx5 at 4095 µs).
pub const MAX_RX_USECS: u32 = 8160;

/// The NIC: queues, rings, RSS, interrupts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NicConfig {
    /// Number of RX queues, each with its own MSI-X vector; 1..=[`MAX_QUEUES`].
    pub queues: u32,
    /// RX descriptors per ring; 1..=[`MAX_RING_SIZE`].
    pub ring_size: u32,
    /// Line rate, Gbit/s (frame + 20 bytes of preamble and inter-frame gap);
    /// [`MIN_LINE_RATE_GBPS`]..=[`MAX_LINE_RATE_GBPS`].
    pub line_rate_gbps: f64,
    /// NUMA node the NIC is attached to.
    pub numa_node: u32,
    /// Core for each queue's interrupt (`smp_affinity_list`, one core per
    /// queue); absent means queue i → core i mod cores.
    pub affinity: Option<Vec<u32>>,
    /// RSS key as hex; absent means the Microsoft verification key.
    pub rss_key: Option<String>,
    /// RSS indirection-table entries: a power of two up to
    /// [`MAX_RETA_SIZE`]; fewer than `queues` is valid but leaves queues
    /// that never receive (a warning).
    pub reta_size: u32,
    /// The indirection table's contents as `ethtool -X` sets them:
    /// `"default"`, `"equal N"` (optionally `"start S equal N"`), `"weight W0
    /// W1 …"`, or an array with one queue per entry (`reta_size` entries);
    /// absent means `default` (entry i → queue i mod `queues`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub indirection: Option<Indirection>,
    /// Interrupt coalescing (`ethtool -C`).
    pub coalesce: CoalesceConfig,
    /// How the NIC signals: `msix` (one vector per queue), `msi` (one
    /// message-signalled vector for the whole NIC) or `intx` (one legacy
    /// line through the IO-APIC).
    pub interrupt_mode: InterruptMode,
    /// `intx` only: the IO-APIC input pin the INTx line is routed to (PCI
    /// INTA# of slot devices usually lands on pins 16–23).
    pub intx_pin: u32,
    /// `intx` only: the trigger mode programmed in the pin's redirection entry.
    pub intx_trigger: TriggerKind,
    /// EIAM-style auto-mask: the NIC clears a queue's interrupt enable when
    /// the queue interrupts (ixgbe programs this for MSI-X), so the top half
    /// need not mask it. `false`: the top half masks the queue with an MMIO
    /// write (EIMC), the pattern napi.rst recommends.
    pub auto_mask: bool,
    /// How queues' interrupts are placed when `affinity` is absent.
    pub affinity_policy: AffinityPolicy,
    /// Cores the policy may use, as a list or a cpulist as
    /// `smp_affinity_list` shows it (`"0-3,8-11"`); empty means all.
    #[serde(deserialize_with = "super::cpuset::cpulist_or_list")]
    pub irq_cores: Vec<u32>,
    /// Accelerated RFS (`ntuple` on, `CONFIG_RFS_ACCEL`): when RFS moves a
    /// flow, program a NIC flow filter so its packets arrive on the queue
    /// whose interrupt targets the reader's core. Needs `kernel.rfs` and `msix`.
    pub arfs: bool,
    /// Header split (header-data split): each RX descriptor carries a small
    /// header buffer and a page-aligned 4 KiB data buffer, so a frame's
    /// payload (after its 42 header bytes) lands at the start of a page of
    /// its own — what remapping receive needs. Frames may then be up to
    /// [`MAX_SPLIT_FRAME_BYTES`] (a page of payload); without it RX buffers
    /// are 2 KiB and frames at most 1518 bytes.
    pub header_split: bool,
}

/// Largest frame with header split: one 4 KiB page of payload behind the
/// 42 bytes of Ethernet, IPv4 and UDP headers (an MTU of 4124, as used for
/// page-sized TCP payloads with zero-copy receive).
pub const MAX_SPLIT_FRAME_BYTES: u32 = super::process::PAGE_BYTES + super::process::HEADER_BYTES;

/// Interrupt placement policy (when no explicit `affinity` list is given).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AffinityPolicy {
    /// Round robin over the allowed cores (queue i → core i mod n).
    Spread,
    /// Every interrupt on the first allowed core.
    Single,
    /// Round robin over the allowed cores on the NIC's NUMA node.
    NumaLocal,
}

/// The NIC's interrupt mechanism.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InterruptMode {
    /// Legacy INTx: one level line, shared by every queue, via the IO-APIC.
    Intx,
    /// One MSI vector for the whole NIC.
    Msi,
    /// One MSI-X vector per queue.
    Msix,
}

/// IO-APIC redirection-entry trigger mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerKind {
    /// Level-triggered: Remote IRR, EOI, re-delivery while asserted.
    Level,
    /// Edge-triggered: one message per rising edge.
    Edge,
}

/// `ethtool -X`'s indirection-table contents ([`RetaFill`]): written as
/// ethtool's words or as an array of queues.
#[derive(Clone, Debug, PartialEq)]
pub struct Indirection(pub RetaFill);

impl Indirection {
    /// Parses ethtool's words: `default`, `equal N`, `start S equal N`,
    /// `weight W0 W1 …`.
    pub fn parse(text: &str) -> Result<Indirection, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let num = |w: Option<&&str>, what: &str| -> Result<u32, String> {
            let w = w.ok_or_else(|| format!("`{what}` needs a number"))?;
            w.parse::<u32>().map_err(|_| format!("`{w}` after `{what}` is not a non-negative integer"))
        };
        let small =
            |n: u32, what: &str| u16::try_from(n).map_err(|_| format!("`{what} {n}`: at most {} queues", MAX_QUEUES));
        let fill = match words.as_slice() {
            ["default"] => RetaFill::Default,
            ["equal", ..] | ["start", _, "equal", ..] => {
                let (start, rest) = if words[0] == "start" {
                    (small(num(words.get(1), "start")?, "start")?, &words[2..])
                } else {
                    (0, &words[..])
                };
                if rest.len() != 2 {
                    return Err(format!("expected `equal N` or `start S equal N`, got `{text}`"));
                }
                let n = small(num(rest.get(1), "equal")?, "equal")?;
                if n == 0 {
                    return Err("`equal 0` spreads over no queue".into());
                }
                RetaFill::Equal { n, start }
            }
            ["weight", ws @ ..] if !ws.is_empty() => {
                let w: Result<Vec<u32>, String> = ws.iter().map(|x| num(Some(x), "weight")).collect();
                RetaFill::Weight(w?)
            }
            _ => {
                return Err(format!(
                    "expected `default`, `equal N`, `start S equal N`, `weight W0 W1 …` (as ethtool -X takes them) or an array of queues, got `{text}`"
                ));
            }
        };
        Ok(Indirection(fill))
    }
}

impl Serialize for Indirection {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            RetaFill::Default => s.serialize_str("default"),
            RetaFill::Equal { n, start: 0 } => s.serialize_str(&format!("equal {n}")),
            RetaFill::Equal { n, start } => s.serialize_str(&format!("start {start} equal {n}")),
            RetaFill::Weight(w) => {
                let w: Vec<String> = w.iter().map(u32::to_string).collect();
                s.serialize_str(&format!("weight {}", w.join(" ")))
            }
            RetaFill::Entries(e) => e.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Indirection {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Words(String),
            Entries(Vec<u16>),
        }
        match Raw::deserialize(d).map_err(|_| {
            serde::de::Error::custom(
                "expected ethtool -X's words (`equal N`, `weight W0 W1 …`, `default`) or an array of queue numbers",
            )
        })? {
            Raw::Words(t) => Indirection::parse(&t).map_err(serde::de::Error::custom),
            Raw::Entries(e) => Ok(Indirection(RetaFill::Entries(e))),
        }
    }
}

/// `ethtool -C` receive coalescing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CoalesceConfig {
    /// `rx-usecs`: interrupt this long after the first unreported packet (0 =
    /// off); at most [`MAX_RX_USECS`]. Also accepted as `rx-usecs`.
    #[serde(alias = "rx-usecs")]
    pub rx_usecs: u32,
    /// `rx-frames`: interrupt after this many packets (0 = off); at most
    /// `ring_size`, since no more frames than the ring holds can be waiting
    /// (mlx5, which counts frames, allows up to 65535: `MLX5_MAX_CQ_COUNT`).
    #[serde(alias = "rx-frames")]
    pub rx_frames: u32,
    /// `adaptive-rx`: dynamic interrupt moderation (Linux net_dim, as mlx5
    /// and others use it, CQE-based profiles): each queue starts at 8 µs /
    /// 128 frames and moves through five profiles (2 µs/256 to 64 µs/64
    /// frames) by its own rates; `rx_usecs` and `rx_frames` are then
    /// ignored. The timer is mlx5's CQE-based one: it restarts at each
    /// completion, so a queue interrupts when its traffic pauses for the
    /// profile's µs or when its frames wait. Also accepted as `adaptive-rx`.
    #[serde(alias = "adaptive-rx")]
    pub adaptive_rx: bool,
    /// Which driver's adaptive scheme `adaptive_rx` runs: `net_dim` (mlx5
    /// and others, above) or `ixgbe_itr` (ixgbe's latency classes by bytes
    /// per µs of the throttle interval, 10/50/84 µs, the interval a minimum
    /// gap between interrupts). Ignored without `adaptive_rx`.
    #[serde(default)]
    pub adaptive_scheme: AdaptiveScheme,
}

/// A driver's adaptive interrupt moderation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdaptiveScheme {
    /// Linux's net_dim (lib/dim), CQE-based receive profiles, as mlx5 uses it.
    #[default]
    NetDim,
    /// ixgbe's `ixgbe_update_itr`/`ixgbe_set_itr`: lowest/low/bulk latency
    /// classes and an EITR throttle (kernel/itr.rs).
    IxgbeItr,
}

impl Default for NicConfig {
    fn default() -> Self {
        NicConfig {
            queues: 4,
            ring_size: 512,
            line_rate_gbps: 10.0,
            numa_node: 0,
            affinity: None,
            rss_key: None,
            reta_size: 128,
            indirection: None,
            coalesce: CoalesceConfig::default(),
            interrupt_mode: InterruptMode::Msix,
            intx_pin: 16,
            intx_trigger: TriggerKind::Level,
            arfs: false,
            auto_mask: false,
            affinity_policy: AffinityPolicy::Spread,
            irq_cores: Vec::new(),
            header_split: false,
        }
    }
}

impl Default for CoalesceConfig {
    fn default() -> Self {
        // ethtool: usecs = 0, frames = 1 disables coalescing.
        CoalesceConfig { rx_usecs: 0, rx_frames: 1, adaptive_rx: false, adaptive_scheme: AdaptiveScheme::NetDim }
    }
}

impl NicConfig {
    /// Checks `[nic]` and `[nic.coalesce]` (the RSS key separately:
    /// [`validate_rss_key`]).
    pub fn validate(&self, cx: &mut ValidateCx) {
        let (cores, sockets) = (cx.cores, cx.sockets);
        cx.check_u32("nic.queues", self.queues, 1, MAX_QUEUES, "queues (one MSI-X vector each)");
        let ring_ok = cx.check_u32(
            "nic.ring_size",
            self.ring_size,
            1,
            MAX_RING_SIZE,
            "descriptors (the largest real RX rings: mlx5 8192, ice 8160)",
        );
        if !finite_pos(self.line_rate_gbps) {
            cx.err("nic.line_rate_gbps", format!("expected a positive rate, got {}", num(self.line_rate_gbps)));
        } else if !line_rate_ok(self.line_rate_gbps) {
            cx.err(
                "nic.line_rate_gbps",
                format!(
                    "expected {MIN_LINE_RATE_GBPS}..={MAX_LINE_RATE_GBPS} Gbit/s (10 Mb/s Ethernet to 1.6 Tb/s, IEEE 802.3dj), got {}",
                    num(self.line_rate_gbps)
                ),
            );
        }
        if sockets > 0 && self.numa_node >= sockets {
            cx.err(
                "nic.numa_node",
                format!("expected a node below machine.sockets = {sockets}, got {}", self.numa_node),
            );
        }
        let single_irq = self.interrupt_mode != InterruptMode::Msix;
        if single_irq && self.queues > MAX_QUEUES_SINGLE_IRQ {
            cx.err(
                "nic.queues",
                format!(
                    "expected at most {MAX_QUEUES_SINGLE_IRQ} queues with interrupt_mode = {:?} (one cause bit per queue), got {}",
                    self.interrupt_mode, self.queues
                ),
            );
        }
        for (i, c) in self.irq_cores.iter().enumerate() {
            if *c >= cores {
                let message = cx.no_such_core(*c);
                cx.err(format!("nic.irq_cores[{i}]"), message);
            }
        }
        if self.affinity_policy == AffinityPolicy::NumaLocal
            && sockets > 0
            && cores.is_multiple_of(sockets)
            && !(0..cores).any(|c| {
                c / (cores / sockets) == self.numa_node && (self.irq_cores.is_empty() || self.irq_cores.contains(&c))
            })
        {
            cx.err("nic.irq_cores", format!("no allowed core is on the NIC's node {}", self.numa_node));
        }
        if self.intx_pin >= IOAPIC_PINS {
            cx.err("nic.intx_pin", format!("expected an IO-APIC pin below {IOAPIC_PINS}, got {}", self.intx_pin));
        }
        if let Some(aff) = &self.affinity {
            let want = if single_irq { 1 } else { self.queues as usize };
            if aff.len() != want {
                cx.err(
                    "nic.affinity",
                    format!(
                        "expected one core per interrupt vector ({want} entries for {:?}), got {}",
                        self.interrupt_mode,
                        aff.len()
                    ),
                );
            }
            for (i, c) in aff.iter().enumerate() {
                if *c >= cores {
                    let message = cx.no_such_core(*c);
                    cx.err(format!("nic.affinity[{i}]"), message);
                }
            }
        }
        if self.reta_size == 0 || !self.reta_size.is_power_of_two() || self.reta_size > MAX_RETA_SIZE {
            cx.err("nic.reta_size", format!("expected a power of two up to {MAX_RETA_SIZE}, got {}", self.reta_size));
        } else if let (Some(ind), Ok(q @ 1..)) = (&self.indirection, u16::try_from(self.queues))
            && let Err(e) = Reta::filled(self.reta_size as usize, q, &ind.0)
        {
            cx.err("nic.indirection", e.to_string());
        }
        cx.check_u32(
            "nic.coalesce.rx_usecs",
            self.coalesce.rx_usecs,
            0,
            MAX_RX_USECS,
            "µs (the longest throttling interval of real NICs: i40e/ice 8160 µs)",
        );
        if ring_ok && self.coalesce.rx_frames > self.ring_size {
            cx.err(
                "nic.coalesce.rx_frames",
                format!(
                    "expected at most nic.ring_size = {} frames: more frames than the ring holds are never waiting, got {}",
                    self.ring_size, self.coalesce.rx_frames
                ),
            );
        }
        if self.coalesce.rx_usecs == 0 && self.coalesce.rx_frames == 0 {
            cx.err(
                "nic.coalesce",
                "rx_usecs and rx_frames are both 0, which ethtool rejects; use rx_usecs = 0, rx_frames = 1 to disable coalescing",
            );
        }
        if self.arfs && (!cx.rfs || self.interrupt_mode != InterruptMode::Msix) {
            cx.err("nic.arfs", "aRFS needs kernel.rfs = true and nic.interrupt_mode = \"msix\"");
        }
    }
}

impl NicConfig {
    /// Valid settings that are probably not what was meant: an RSS
    /// indirection table with fewer entries than there are queues leaves
    /// the queues beyond it without traffic (RSS never selects them).
    pub fn warnings(&self) -> Vec<ConfigError> {
        let mut out = Vec::new();
        let c = &self.coalesce;
        if !c.adaptive_rx && c.adaptive_scheme != AdaptiveScheme::NetDim {
            out.push(ConfigError {
                path: "nic.coalesce.adaptive_scheme".into(),
                message: "the adaptive scheme only runs with adaptive_rx = true: it is ignored".into(),
            });
        }
        if c.adaptive_rx && (c.rx_usecs, c.rx_frames) != (0, 1) {
            out.push(ConfigError {
                path: "nic.coalesce.adaptive_rx".into(),
                message: format!(
                    "adaptive-rx chooses each queue's moderation itself: rx_usecs = {} and rx_frames = {} are ignored",
                    c.rx_usecs, c.rx_frames
                ),
            });
        } else if !c.adaptive_rx && c.rx_usecs > 0 && c.rx_frames == 1 {
            // Both thresholds count (mlx5's cq_moderation): one frame
            // already reaches rx_frames, so the timer never decides.
            out.push(ConfigError {
                path: "nic.coalesce.rx_usecs".into(),
                message: format!(
                    "rx_usecs = {} has no effect while rx_frames = 1: every frame interrupts at once; set rx_frames too (e.g. 64) to coalesce",
                    c.rx_usecs
                ),
            });
        }
        let table = self.indirection.as_ref().and_then(|ind| {
            let q = u16::try_from(self.queues).ok()?;
            Reta::filled(self.reta_size as usize, q, &ind.0).ok()
        });
        if let Some(t) = table {
            let idle: Vec<String> =
                (0..t.queues()).filter(|q| !t.entries().contains(q)).map(|q| q.to_string()).collect();
            if !idle.is_empty() {
                let how = if self.arfs { "receive only flows aRFS steers there" } else { "never receive" };
                out.push(ConfigError {
                    path: "nic.indirection".into(),
                    message: format!(
                        "no entry of the indirection table names queue(s) {}: they {how}",
                        idle.join(", ")
                    ),
                });
            }
        } else if self.reta_size < self.queues {
            let idle = match (self.queues - self.reta_size == 1, self.arfs) {
                (true, false) => format!("queue {} never receives", self.reta_size),
                (false, false) => format!("queues {} to {} never receive", self.reta_size, self.queues - 1),
                (true, true) => format!("queue {} receives only flows aRFS steers there", self.reta_size),
                (false, true) => {
                    format!("queues {} to {} receive only flows aRFS steers there", self.reta_size, self.queues - 1)
                }
            };
            out.push(ConfigError {
                path: "nic.reta_size".into(),
                message: format!(
                    "{} indirection-table entries for {} queues: RSS never selects a queue beyond the table, so {idle}",
                    self.reta_size, self.queues
                ),
            });
        }
        out
    }
}

/// Whether a line rate is within [`MIN_LINE_RATE_GBPS`]..=[`MAX_LINE_RATE_GBPS`].
pub(crate) fn line_rate_ok(gbps: f64) -> bool {
    gbps.is_finite() && (MIN_LINE_RATE_GBPS..=MAX_LINE_RATE_GBPS).contains(&gbps)
}

/// Checks `nic.rss_key`: hex, at least 40 bytes.
pub fn validate_rss_key(key: &str, cx: &mut ValidateCx) {
    if let Err(e) = irqlab_hw::rss::parse_key_hex(key) {
        cx.err("nic.rss_key", format!("expected a hex RSS key of at least 40 bytes: {e}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scenario;
    use crate::config::testutil::{only_error, paths, valid};

    #[test]
    fn ring_size_is_at_most_that_of_real_nics() {
        let mut s = Scenario::default();
        s.nic.ring_size = MAX_RING_SIZE;
        valid(&s);
        s.nic.ring_size = MAX_RING_SIZE + 1;
        only_error(&s, "nic.ring_size", "expected 1..=8192 descriptors");
    }

    #[test]
    fn line_rate_is_10_mbps_to_1_6_tbps() {
        let mut s = Scenario::default();
        s.workload.rate_pps = Some(1000.0);
        for ok in [MIN_LINE_RATE_GBPS, MAX_LINE_RATE_GBPS] {
            s.nic.line_rate_gbps = ok;
            valid(&s);
        }
        s.nic.line_rate_gbps = 1601.0;
        only_error(&s, "nic.line_rate_gbps", "IEEE 802.3dj");
        s.nic.line_rate_gbps = 0.001;
        only_error(&s, "nic.line_rate_gbps", "expected 0.01..=1600");
    }

    #[test]
    fn a_line_rate_out_of_bounds_skips_the_load_check() {
        // --set nic.line_rate_gbps=1e30 --set workload.rate_pps=1e25: each
        // value is reported once, and nothing is derived from them.
        let mut s = Scenario::default();
        s.nic.line_rate_gbps = 1e30;
        s.workload.rate_pps = Some(1e25);
        assert_eq!(paths(&s), ["nic.line_rate_gbps", "workload.rate_pps"]);
    }

    #[test]
    fn coalescing_is_bounded_by_real_drivers_and_the_ring() {
        let mut s = Scenario::default();
        s.nic.coalesce = CoalesceConfig { rx_usecs: MAX_RX_USECS, rx_frames: 512, ..CoalesceConfig::default() };
        valid(&s);
        s.nic.coalesce.rx_usecs = MAX_RX_USECS + 1;
        only_error(&s, "nic.coalesce.rx_usecs", "expected 0..=8160");
        s.nic.coalesce.rx_usecs = 0;
        s.nic.coalesce.rx_frames = 100_000_000;
        only_error(&s, "nic.coalesce.rx_frames", "at most nic.ring_size = 512");
        s.nic.coalesce.rx_frames = 513;
        only_error(&s, "nic.coalesce.rx_frames", "never waiting");
    }

    #[test]
    fn reta_size_is_a_power_of_two_up_to_the_bound() {
        let mut s = Scenario::default();
        s.nic.reta_size = MAX_RETA_SIZE;
        valid(&s);
        s.nic.reta_size = MAX_RETA_SIZE * 2;
        only_error(&s, "nic.reta_size", "power of two up to 65536");
    }
}
