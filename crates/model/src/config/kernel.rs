//! `[kernel]`: NAPI, softirq and scheduler tunables, socket buffers, RPS,
//! RFS and the irqbalance-like rebalancer.

use super::{InterruptMode, KERNEL_INT_MAX, ValidateCx, num};
use serde::{Deserialize, Serialize};

/// Longest scheduler slice, µs: one second, the kernel's old upper bound on
/// `sched_min_granularity_ns` (`max_sched_granularity_ns = NSEC_PER_SEC`).
pub const MAX_SCHED_SLICE_US: u32 = 1_000_000;
/// Longest `MAX_SOFTIRQ_TIME`, µs: one second (the kernel's constant is
/// 2 ms; beyond a second a softirq would long have tripped the lockup
/// detectors).
pub const MAX_SOFTIRQ_TIME_US: u32 = 1_000_000;
/// Largest socket receive buffer, bytes: `net.core.rmem_max` and
/// `SO_RCVBUF` are C `int`s, 2^31 − 1.
pub const MAX_SOCKET_RCVBUF_BYTES: u64 = i32::MAX as u64;
/// Largest per-packet receive-buffer overhead, bytes: 64 KiB, far above
/// the ≈ 576–768 bytes of `sk_buff` and `skb_shared_info` that
/// `SKB_TRUESIZE` adds.
pub const MAX_SKB_OVERHEAD_BYTES: u32 = 65_536;
/// Largest `recv_batch`: the io_uring completion ring the model gives a
/// reader ([`super::apps::IO_URING_CQ_ENTRIES`], 4096), the largest batch any
/// reader takes.
pub const MAX_RECV_BATCH: u32 = super::apps::IO_URING_CQ_ENTRIES as u32;
/// Largest RFS table, entries: 2^26 for `rps_sock_flow_entries` and for
/// the per-queue `rps_flow_cnt` tables together (256 MiB and 768 MiB of
/// model state; the kernel refuses `rps_sock_flow_entries` above 2^29).
pub const MAX_RFS_ENTRIES: u32 = 1 << 26;
/// Longest irqbalance interval, ms: one hour, the longest run.
pub const MAX_IRQBALANCE_INTERVAL_MS: f64 = 3_600_000.0;

/// Kernel tunables.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KernelConfig {
    /// NAPI weight (`NAPI_POLL_WEIGHT`, `dev_weight`); 1..=2^31 − 1
    /// (`dev_weight` is an `int` sysctl with minimum 1).
    pub napi_weight: u32,
    /// `net.core.netdev_budget`: packets per `net_rx_action`; 1..=2^31 − 1
    /// (an `int` sysctl).
    pub netdev_budget: u32,
    /// `net.core.netdev_budget_usecs`: time limit of one `net_rx_action`;
    /// 1..=2^31 − 1 (an `int` sysctl).
    pub netdev_budget_usecs: u32,
    /// `MAX_SOFTIRQ_RESTART` in kernel/softirq.c; 1..=2^31 − 1 (an `int`).
    pub max_softirq_restart: u32,
    /// `MAX_SOFTIRQ_TIME` in kernel/softirq.c, microseconds; 1..=[`MAX_SOFTIRQ_TIME_US`].
    pub max_softirq_time_us: u32,
    /// Scheduler time slice between runnable tasks on one core, microseconds
    /// (EEVDF `sysctl_sched_base_slice` default 0.75 ms); 1..=[`MAX_SCHED_SLICE_US`].
    pub sched_slice_us: u32,
    /// Socket receive-buffer limit, bytes (`net.core.rmem_default` 212992);
    /// 1..=[`MAX_SOCKET_RCVBUF_BYTES`].
    pub socket_rcvbuf_bytes: u64,
    /// Bytes charged to the receive buffer per packet beyond its length (skb
    /// and shared-info overhead in `truesize`). *estimate*. At most
    /// [`MAX_SKB_OVERHEAD_BYTES`].
    pub skb_overhead_bytes: u32,
    /// Packets an application reads per scheduling burst before it checks
    /// for its time slice (a modelling granularity, not a kernel knob);
    /// 1..=[`MAX_RECV_BATCH`].
    pub recv_batch: u32,
    /// Boot option `noirqdebug`: no "nobody cared" detection (kernel/irq/spurious.c).
    pub noirqdebug: bool,
    /// Directed EOI: set SVR bit 12 (EOI-broadcast suppression) and write the
    /// IO-APIC's EOI register for level interrupts instead of relying on the
    /// local APIC's broadcast (docs/sources.md §4.2).
    pub directed_eoi: bool,
    /// NAPI. `false` models a pre-NAPI driver: an interrupt per packet (or
    /// per coalesced batch) whose handler takes every frame from the ring and
    /// queues it with `netif_rx` on the core's backlog; protocol processing
    /// runs from that backlog in softirq. Requires `nic.interrupt_mode = "msix"`.
    pub napi: bool,
    /// `net.core.netdev_max_backlog`: packets a core's backlog holds;
    /// 1..=2^31 − 1 (an `int` sysctl).
    pub netdev_max_backlog: u32,
    /// Flow handler for level-triggered IO-APIC lines: `fasteoi` (x86
    /// Linux's choice: actions, then EOI) or `level` (`handle_level_irq`:
    /// mask and ack first, actions, then unmask).
    pub level_flow: LevelFlow,
    /// RPS: `rps_cpus` of every RX queue, as a core list or a hex mask as
    /// the sysfs file shows it (`"f"`, `"ff,00000000"`); empty disables RPS.
    #[serde(deserialize_with = "super::cpuset::mask_or_list")]
    pub rps_cpus: Vec<u32>,
    /// RPS per queue: `rps_cpus_by_queue[i]` is queue i's `rps_cpus`
    /// (overrides `rps_cpus`; one list per queue, an empty list disables RPS
    /// on that queue); each a core list or a hex mask.
    #[serde(deserialize_with = "super::cpuset::masks_or_lists")]
    pub rps_cpus_by_queue: Vec<Vec<u32>>,
    /// RFS: steer each flow to the core where its reader last called recv.
    pub rfs: bool,
    /// `net.core.rps_sock_flow_entries` (rounded up to a power of two);
    /// 1..=[`MAX_RFS_ENTRIES`].
    pub rps_sock_flow_entries: u32,
    /// Per-queue `rps_flow_cnt`; 0 means `rps_sock_flow_entries / queues`.
    /// Rounded up to a power of two, times the queue count, at most
    /// [`MAX_RFS_ENTRIES`].
    pub rps_flow_cnt: u32,
    /// irqbalance-like rebalancer: every this many ms, move the busiest
    /// IRQ of the most loaded core to the least loaded allowed core when
    /// their load differs by more than `irqbalance_threshold`; 0 = off,
    /// else 0.1..=[`MAX_IRQBALANCE_INTERVAL_MS`].
    pub irqbalance_interval_ms: f64,
    /// Load difference (fraction of a core) that triggers a move; 0..=1.
    pub irqbalance_threshold: f64,
    /// RFS's reordering guard: move a flow to a new core only once the old
    /// core's backlog has passed the flow's `last_qtail`. `false` shows why it
    /// exists.
    pub rfs_reorder_guard: bool,
    /// Where `irq_exit` leaves softirqs raised while the CPU's ksoftirqd is
    /// runnable: `ksoftirqd` (Linux 4.9–6.4, commit 4cd13c21b207
    /// "softirq: Let ksoftirqd do its job") or `inline` (6.5 on, commit
    /// d15121be7485 reverted it; also before 4.9).
    pub softirq_defer: SoftirqDefer,
    /// `tlb_single_page_flush_ceiling` (debugfs x86/): a TLB flush of more
    /// pages than this flushes the whole TLB instead of one `INVLPG` per
    /// page. Linux's default 33 (arch/x86/mm/tlb.c); 0..=[`super::KERNEL_INT_MAX`].
    pub tlb_single_page_flush_ceiling: u32,
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

/// What `invoke_softirq()` (kernel/softirq.c, on `irq_exit`) does with
/// pending softirqs while the CPU's ksoftirqd is runnable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SoftirqDefer {
    /// Leave them to ksoftirqd (`if (ksoftirqd_running(...)) return;`):
    /// Linux 4.9–6.4.
    Ksoftirqd,
    /// Run them on interrupt exit as usual: Linux 6.5 and later (and
    /// before 4.9).
    Inline,
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
            softirq_defer: SoftirqDefer::Ksoftirqd,
            rps_cpus: Vec::new(),
            rps_cpus_by_queue: Vec::new(),
            rfs: false,
            rps_sock_flow_entries: 32768,
            rps_flow_cnt: 0,
            rfs_reorder_guard: true,
            irqbalance_interval_ms: 0.0,
            irqbalance_threshold: 0.2,
            tlb_single_page_flush_ceiling: 33,
        }
    }
}

impl KernelConfig {
    /// Checks `[kernel]`.
    pub fn validate(&self, cx: &mut ValidateCx) {
        cx.check_u32(
            "kernel.tlb_single_page_flush_ceiling",
            self.tlb_single_page_flush_ceiling,
            0,
            super::KERNEL_INT_MAX,
            "pages",
        );
        let int = "(a kernel int)";
        cx.check_u32(
            "kernel.napi_weight",
            self.napi_weight,
            1,
            KERNEL_INT_MAX,
            "packets (dev_weight: an int sysctl, at least 1)",
        );
        cx.check_u32("kernel.netdev_budget", self.netdev_budget, 1, KERNEL_INT_MAX, &format!("packets {int}"));
        cx.check_u32("kernel.netdev_budget_usecs", self.netdev_budget_usecs, 1, KERNEL_INT_MAX, &format!("µs {int}"));
        cx.check_u32(
            "kernel.max_softirq_restart",
            self.max_softirq_restart,
            1,
            KERNEL_INT_MAX,
            &format!("restarts {int}"),
        );
        cx.check_u32(
            "kernel.max_softirq_time_us",
            self.max_softirq_time_us,
            1,
            MAX_SOFTIRQ_TIME_US,
            "µs (the kernel's MAX_SOFTIRQ_TIME is 2 ms)",
        );
        cx.check_u32(
            "kernel.sched_slice_us",
            self.sched_slice_us,
            1,
            MAX_SCHED_SLICE_US,
            "µs (at most one second, as sched_min_granularity_ns was)",
        );
        if !(1..=MAX_SOCKET_RCVBUF_BYTES).contains(&self.socket_rcvbuf_bytes) {
            cx.err(
                "kernel.socket_rcvbuf_bytes",
                format!(
                    "expected 1..={MAX_SOCKET_RCVBUF_BYTES} bytes (net.core.rmem_max is an int), got {}",
                    self.socket_rcvbuf_bytes
                ),
            );
        }
        cx.check_u32(
            "kernel.skb_overhead_bytes",
            self.skb_overhead_bytes,
            0,
            MAX_SKB_OVERHEAD_BYTES,
            "bytes (SKB_TRUESIZE adds about 576-768)",
        );
        cx.check_u32(
            "kernel.recv_batch",
            self.recv_batch,
            1,
            MAX_RECV_BATCH,
            "packets (at most an io_uring completion ring's worth)",
        );
        if !(self.irqbalance_interval_ms.is_finite() && self.irqbalance_interval_ms >= 0.0) {
            cx.err(
                "kernel.irqbalance_interval_ms",
                format!("expected a non-negative interval, got {}", num(self.irqbalance_interval_ms)),
            );
        } else if self.irqbalance_interval_ms > 0.0 && self.irqbalance_interval_ms < 0.1 {
            cx.err(
                "kernel.irqbalance_interval_ms",
                format!("expected at least 0.1 ms (or 0 for off), got {}", num(self.irqbalance_interval_ms)),
            );
        } else if self.irqbalance_interval_ms > MAX_IRQBALANCE_INTERVAL_MS {
            cx.err(
                "kernel.irqbalance_interval_ms",
                format!("expected at most one hour (3600000 ms), got {}", num(self.irqbalance_interval_ms)),
            );
        }
        if !(self.irqbalance_threshold.is_finite() && (0.0..=1.0).contains(&self.irqbalance_threshold)) {
            cx.err(
                "kernel.irqbalance_threshold",
                format!("expected a fraction in 0..=1, got {}", num(self.irqbalance_threshold)),
            );
        }
        cx.check_u32(
            "kernel.netdev_max_backlog",
            self.netdev_max_backlog,
            1,
            KERNEL_INT_MAX,
            &format!("packets {int}"),
        );
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
        // 0 is the kernel's default: no flow table, RFS off.
        cx.check_u32(
            "kernel.rps_sock_flow_entries",
            self.rps_sock_flow_entries,
            0,
            MAX_RFS_ENTRIES,
            "entries (0: RFS off; the model's bound; the kernel's is 2^29)",
        );
        if cx.check_u32("kernel.rps_flow_cnt", self.rps_flow_cnt, 0, MAX_RFS_ENTRIES, "entries")
            && (1..=super::nic::MAX_QUEUES).contains(&cx.queues)
        {
            // Each queue's table is rounded up to a power of two.
            let total = u64::from(self.rps_flow_cnt.next_power_of_two()) * u64::from(cx.queues);
            if self.rps_flow_cnt > 0 && total > u64::from(MAX_RFS_ENTRIES) {
                cx.err(
                    "kernel.rps_flow_cnt",
                    format!(
                        "{} queues × {} entries (rounded up to a power of two) = {total} flow-table entries, above the model's {MAX_RFS_ENTRIES}",
                        cx.queues,
                        self.rps_flow_cnt.next_power_of_two()
                    ),
                );
            }
        }
        if (self.rfs || !self.rps_cpus.is_empty() || self.rps_cpus_by_queue.iter().any(|l| !l.is_empty())) && !self.napi
        {
            cx.err("kernel.napi", "RPS/RFS are modelled with NAPI only");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scenario;
    use crate::config::testutil::{only_error, valid};

    #[test]
    fn recv_batch_is_at_most_a_cq_ring() {
        let mut s = Scenario::default();
        s.kernel.recv_batch = MAX_RECV_BATCH;
        valid(&s);
        s.kernel.recv_batch = u32::MAX;
        only_error(&s, "kernel.recv_batch", "expected 1..=4096 packets");
        s.kernel.recv_batch = 0;
        only_error(&s, "kernel.recv_batch", "got 0");
    }

    #[test]
    fn int_sysctls_stop_at_int_max() {
        fn set(s: &mut Scenario, field: usize, v: u32) {
            let k = &mut s.kernel;
            let fields = [
                &mut k.napi_weight,
                &mut k.netdev_budget,
                &mut k.netdev_budget_usecs,
                &mut k.max_softirq_restart,
                &mut k.netdev_max_backlog,
            ];
            *fields.into_iter().nth(field).expect("five fields") = v;
        }
        for (field, path) in [
            (0, "kernel.napi_weight"),
            (1, "kernel.netdev_budget"),
            (2, "kernel.netdev_budget_usecs"),
            (3, "kernel.max_softirq_restart"),
            (4, "kernel.netdev_max_backlog"),
        ] {
            let mut s = Scenario::default();
            set(&mut s, field, KERNEL_INT_MAX);
            valid(&s);
            set(&mut s, field, KERNEL_INT_MAX + 1);
            only_error(&s, path, "expected 1..=2147483647");
        }
    }

    #[test]
    fn times_stop_at_one_second() {
        let mut s = Scenario::default();
        s.kernel.sched_slice_us = MAX_SCHED_SLICE_US + 1;
        only_error(&s, "kernel.sched_slice_us", "expected 1..=1000000");
        s.kernel.sched_slice_us = MAX_SCHED_SLICE_US;
        s.kernel.max_softirq_time_us = MAX_SOFTIRQ_TIME_US + 1;
        only_error(&s, "kernel.max_softirq_time_us", "MAX_SOFTIRQ_TIME");
        s.kernel.max_softirq_time_us = MAX_SOFTIRQ_TIME_US;
        valid(&s);
        s.kernel.irqbalance_interval_ms = MAX_IRQBALANCE_INTERVAL_MS + 1.0;
        only_error(&s, "kernel.irqbalance_interval_ms", "at most one hour");
    }

    #[test]
    fn buffers_stop_at_the_kernel_int() {
        let mut s = Scenario::default();
        s.kernel.socket_rcvbuf_bytes = MAX_SOCKET_RCVBUF_BYTES;
        s.kernel.skb_overhead_bytes = MAX_SKB_OVERHEAD_BYTES;
        valid(&s);
        s.kernel.socket_rcvbuf_bytes = MAX_SOCKET_RCVBUF_BYTES + 1;
        only_error(&s, "kernel.socket_rcvbuf_bytes", "rmem_max is an int");
        s.kernel.socket_rcvbuf_bytes = 0;
        only_error(&s, "kernel.socket_rcvbuf_bytes", "got 0");
        s.kernel.socket_rcvbuf_bytes = 1;
        s.kernel.skb_overhead_bytes = u32::MAX;
        only_error(&s, "kernel.skb_overhead_bytes", "expected 0..=65536");
    }

    #[test]
    fn rfs_tables_are_bounded_in_total() {
        let mut s = Scenario::default();
        s.kernel.rps_flow_cnt = MAX_RFS_ENTRIES / 4;
        valid(&s);
        s.kernel.rps_flow_cnt += 1;
        only_error(&s, "kernel.rps_flow_cnt", "4 queues × 33554432 entries");
        s.kernel.rps_flow_cnt = 0;
        s.kernel.rps_sock_flow_entries = MAX_RFS_ENTRIES + 1;
        only_error(&s, "kernel.rps_sock_flow_entries", "the kernel's is 2^29");
    }
}
