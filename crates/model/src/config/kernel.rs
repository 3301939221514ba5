//! `[kernel]`: NAPI, softirq and scheduler tunables, socket buffers, RPS,
//! RFS and the irqbalance-like rebalancer.

use super::{InterruptMode, ValidateCx};
use serde::{Deserialize, Serialize};

/// Kernel tunables.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KernelConfig {
    /// NAPI weight (`NAPI_POLL_WEIGHT`, `dev_weight`).
    pub napi_weight: u32,
    /// `net.core.netdev_budget`: packets per `net_rx_action`.
    pub netdev_budget: u32,
    /// `net.core.netdev_budget_usecs`: time limit of one `net_rx_action`.
    pub netdev_budget_usecs: u32,
    /// `MAX_SOFTIRQ_RESTART` in kernel/softirq.c.
    pub max_softirq_restart: u32,
    /// `MAX_SOFTIRQ_TIME` in kernel/softirq.c, microseconds.
    pub max_softirq_time_us: u32,
    /// Scheduler time slice between runnable tasks on one core, microseconds
    /// (EEVDF `sysctl_sched_base_slice` default 0.75 ms).
    pub sched_slice_us: u32,
    /// Socket receive-buffer limit, bytes (`net.core.rmem_default` 212992).
    pub socket_rcvbuf_bytes: u64,
    /// Bytes charged to the receive buffer per packet beyond its length (skb
    /// and shared-info overhead in `truesize`). *estimate*.
    pub skb_overhead_bytes: u32,
    /// Packets an application reads per scheduling burst before it checks
    /// for its time slice (a modelling granularity, not a kernel knob).
    pub recv_batch: u32,
    /// Boot option `noirqdebug`: no "nobody cared" detection (kernel/irq/spurious.c).
    pub noirqdebug: bool,
    /// Directed EOI: set SVR bit 12 (EOI-broadcast suppression) and write the
    /// IO-APIC's EOI register for level interrupts instead of relying on the
    /// local APIC's broadcast (specs.md §4.2).
    pub directed_eoi: bool,
    /// NAPI. `false` models a pre-NAPI driver: an interrupt per packet (or
    /// per coalesced batch) whose handler takes every frame from the ring and
    /// queues it with `netif_rx` on the core's backlog; protocol processing
    /// runs from that backlog in softirq. Requires `nic.interrupt_mode = "msix"`.
    pub napi: bool,
    /// `net.core.netdev_max_backlog`: packets a core's backlog holds.
    pub netdev_max_backlog: u32,
    /// Flow handler for level-triggered IO-APIC lines: `fasteoi` (x86
    /// Linux's choice: actions, then EOI) or `level` (`handle_level_irq`:
    /// mask and ack first, actions, then unmask).
    pub level_flow: LevelFlow,
    /// RPS: `rps_cpus` of every RX queue, as a core list; empty disables RPS.
    pub rps_cpus: Vec<u32>,
    /// RPS per queue: `rps_cpus_by_queue[i]` is queue i's `rps_cpus`
    /// (overrides `rps_cpus`; one list per queue, an empty list disables RPS
    /// on that queue).
    pub rps_cpus_by_queue: Vec<Vec<u32>>,
    /// RFS: steer each flow to the core where its reader last called recv.
    pub rfs: bool,
    /// `net.core.rps_sock_flow_entries` (rounded up to a power of two).
    pub rps_sock_flow_entries: u32,
    /// Per-queue `rps_flow_cnt`; 0 means `rps_sock_flow_entries / queues`.
    pub rps_flow_cnt: u32,
    /// irqbalance-like rebalancer: every this many ms, move the busiest
    /// IRQ of the most loaded core to the least loaded allowed core when
    /// their load differs by more than `irqbalance_threshold`; 0 = off.
    pub irqbalance_interval_ms: f64,
    /// Load difference (fraction of a core) that triggers a move.
    pub irqbalance_threshold: f64,
    /// RFS's reordering guard: move a flow to a new core only once the old
    /// core's backlog has passed the flow's `last_qtail`. `false` shows why it
    /// exists.
    pub rfs_reorder_guard: bool,
}

/// The flow handler for level-triggered IO-APIC lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LevelFlow {
    /// `handle_fasteoi_irq`.
    Fasteoi,
    /// `handle_level_irq`.
    Level,
}

impl Default for KernelConfig {
    fn default() -> Self {
        KernelConfig {
            napi_weight: 64,
            netdev_budget: 300,
            netdev_budget_usecs: 2000,
            max_softirq_restart: 10,
            max_softirq_time_us: 2000,
            sched_slice_us: 750,
            socket_rcvbuf_bytes: 212_992,
            skb_overhead_bytes: 576,
            recv_batch: 16,
            noirqdebug: false,
            directed_eoi: false,
            napi: true,
            netdev_max_backlog: 1000,
            level_flow: LevelFlow::Fasteoi,
            rps_cpus: Vec::new(),
            rps_cpus_by_queue: Vec::new(),
            rfs: false,
            rps_sock_flow_entries: 32768,
            rps_flow_cnt: 0,
            rfs_reorder_guard: true,
            irqbalance_interval_ms: 0.0,
            irqbalance_threshold: 0.2,
        }
    }
}

impl KernelConfig {
    /// Checks `[kernel]`.
    pub fn validate(&self, cx: &mut ValidateCx) {
        for (path, v) in [
            ("kernel.napi_weight", self.napi_weight),
            ("kernel.netdev_budget", self.netdev_budget),
            ("kernel.netdev_budget_usecs", self.netdev_budget_usecs),
            ("kernel.max_softirq_restart", self.max_softirq_restart),
            ("kernel.max_softirq_time_us", self.max_softirq_time_us),
            ("kernel.sched_slice_us", self.sched_slice_us),
            ("kernel.recv_batch", self.recv_batch),
        ] {
            if v == 0 {
                cx.err(path, "expected a positive integer, got 0");
            }
        }
        if !(self.irqbalance_interval_ms.is_finite() && self.irqbalance_interval_ms >= 0.0) {
            cx.err(
                "kernel.irqbalance_interval_ms",
                format!("expected a non-negative interval, got {}", self.irqbalance_interval_ms),
            );
        } else if self.irqbalance_interval_ms > 0.0 && self.irqbalance_interval_ms < 0.1 {
            cx.err(
                "kernel.irqbalance_interval_ms",
                format!("expected at least 0.1 ms (or 0 for off), got {}", self.irqbalance_interval_ms),
            );
        }
        if !(self.irqbalance_threshold.is_finite() && (0.0..=1.0).contains(&self.irqbalance_threshold)) {
            cx.err(
                "kernel.irqbalance_threshold",
                format!("expected a fraction in 0..=1, got {}", self.irqbalance_threshold),
            );
        }
        if self.netdev_max_backlog == 0 {
            cx.err("kernel.netdev_max_backlog", "expected a positive number of packets, got 0");
        }
        if !self.napi && cx.interrupt_mode != InterruptMode::Msix {
            cx.err("kernel.napi", "the pre-NAPI receive path is modelled for nic.interrupt_mode = \"msix\" only");
        }
        for (i, c) in self.rps_cpus.iter().enumerate() {
            if *c >= cx.cores {
                let message = cx.no_such_core(*c);
                cx.err(format!("kernel.rps_cpus[{i}]"), message);
            }
        }
        if !self.rps_cpus_by_queue.is_empty() && self.rps_cpus_by_queue.len() != cx.queues as usize {
            cx.err(
                "kernel.rps_cpus_by_queue",
                format!("expected one core list per queue ({} lists), got {}", cx.queues, self.rps_cpus_by_queue.len()),
            );
        }
        for (q, list) in self.rps_cpus_by_queue.iter().enumerate() {
            for (i, c) in list.iter().enumerate() {
                if *c >= cx.cores {
                    let message = cx.no_such_core(*c);
                    cx.err(format!("kernel.rps_cpus_by_queue[{q}][{i}]"), message);
                }
            }
        }
        if self.rps_sock_flow_entries == 0 || self.rps_sock_flow_entries > 1 << 26 {
            cx.err(
                "kernel.rps_sock_flow_entries",
                format!("expected 1..=67108864 entries, got {}", self.rps_sock_flow_entries),
            );
        }
        if self.rps_flow_cnt > 1 << 26 {
            cx.err("kernel.rps_flow_cnt", format!("expected at most 67108864 entries, got {}", self.rps_flow_cnt));
        }
        if (self.rfs || !self.rps_cpus.is_empty() || self.rps_cpus_by_queue.iter().any(|l| !l.is_empty())) && !self.napi
        {
            cx.err("kernel.napi", "RPS/RFS are modelled with NAPI only");
        }
        if self.socket_rcvbuf_bytes == 0 {
            cx.err("kernel.socket_rcvbuf_bytes", "expected a positive number of bytes, got 0");
        }
    }
}
