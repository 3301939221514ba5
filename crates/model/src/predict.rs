//! What the cost model predicts for composite behaviours a host can run
//! directly — a wakeup round trip, a pipe ping-pong, moving pages against
//! copying them, a UDP send and receive over loopback — by charging each
//! step the way the simulator's handlers charge it. `irqlab validate`
//! compares these predictions, made from a calibration's per-operation
//! costs, with the same behaviours measured on the host
//! (docs/validation.md). None of the predicted behaviours is itself a
//! calibration input: each composes costs that were measured apart (the
//! UDP loopback's receive half is: calibration times `recvmsg` draining
//! datagrams sent over loopback, so that case checks the send half and the
//! stack between them).
//!
//! The compositions, step by step:
//!
//! * **A cross-CPU wakeup** (kernel/wakeup paths and `workload/app.rs`):
//!   the waker's system call, the wait-queue signal (`eventfd_signal_ns`)
//!   and `try_to_wake_up` (`wakeup_ns`); the woken thread starts
//!   `wakeup_cross_core_latency_ns` later, which covers its CPU's wake and
//!   its switch in, and returns from its system call.
//! * **Page moving** (`kernel/zerocopy.rs`): a system call, the page-table
//!   work per page (`pte_unmap_ns` + `pte_map_ns`), and the TLB flush of
//!   `flush_tlb_mm_range`: one `INVLPG` per page up to
//!   `tlb_single_page_flush_ceiling` (33) pages, else one full flush; with
//!   another thread of the process running on another CPU, the initiator
//!   also sends it an IPI and waits for its acknowledgement (IPI latency,
//!   the target's interrupt entry and exit and its own flush, a cache-line
//!   transfer back).
//! * **A UDP datagram over loopback** (the send and receive halves of the
//!   stack): the send's system call and UDP/IP output (`tx_per_packet_ns`),
//!   the loopback device's `netif_rx` to the backlog (`rps_enqueue_ns`),
//!   the softirq that runs it on the way out of the system call
//!   (`softirq_entry_ns`), protocol receive (`rx_protocol_per_packet_ns`),
//!   then a `recvmsg` returning the datagram (`recvmsg_call_ns` +
//!   `recvmsg_datagram_ns`, as workload/notify.rs charges a reader) and its
//!   copy.
//!
//! What the model leaves out shows in the ratios: a pipe is charged as an
//! eventfd (the model has no pipe: a pipe's mutex and buffer management
//! are missing), and page moving is charged with the map and unmap costs,
//! which the calibration measures with a page's allocation and freeing.

use crate::costs::CostModel;

/// Pages of 4 KiB moved by `mremap` for a message of `bytes`.
pub fn pages_of(bytes: f64) -> f64 {
    (bytes / 4096.0).ceil()
}

/// Linux's default `tlb_single_page_flush_ceiling` (arch/x86/mm/tlb.c):
/// above this many pages a flush invalidates the whole TLB.
pub const TLB_SINGLE_PAGE_FLUSH_CEILING: f64 = 33.0;

/// One thread waking another, blocked on another CPU, through a
/// wait-queue notification: from the waker's call to the woken thread's
/// return from its system call, ns.
pub fn cross_cpu_wakeup_ns(c: &CostModel) -> f64 {
    c.syscall_ns + c.eventfd_signal_ns + c.wakeup_ns + c.wakeup_cross_core_latency_ns
}

/// An eventfd round trip between two threads on two CPUs, each waiting in
/// `epoll_wait` and then reading the eventfd: two wakeups, each followed
/// by the woken thread's `read()`, ns.
pub fn eventfd_epoll_round_trip_ns(c: &CostModel) -> f64 {
    2.0 * (cross_cpu_wakeup_ns(c) + c.syscall_ns)
}

/// One way of a one-byte pipe ping-pong between two CPUs, ns: the model
/// charges a pipe's write as an eventfd's (a system call, a wait-queue
/// signal, a wakeup) plus the byte's copy.
pub fn pipe_one_way_ns(c: &CostModel) -> f64 {
    cross_cpu_wakeup_ns(c) + copy_ns(c, 1.0)
}

/// Copying `bytes` that are in the cache, ns.
pub fn copy_ns(c: &CostModel, bytes: f64) -> f64 {
    bytes / c.copy_bytes_per_ns
}

/// Flushing `pages` from one CPU's TLB, ns.
fn flush_ns(c: &CostModel, pages: f64) -> f64 {
    if pages <= TLB_SINGLE_PAGE_FLUSH_CEILING { pages * c.invlpg_ns } else { c.tlb_full_flush_ns }
}

/// Moving the pages of `bytes` to another address (`mremap`), with the
/// process running on `cpus` CPUs (1 or more; each other CPU gets a
/// shootdown), ns.
pub fn move_pages_ns(c: &CostModel, bytes: f64, cpus: u32) -> f64 {
    let pages = pages_of(bytes);
    let local = flush_ns(c, pages);
    let others = cpus.saturating_sub(1) as f64;
    let flush = if others == 0.0 {
        local
    } else {
        // The IPIs go one after another; the last acknowledgement ends the wait.
        let send = others * c.ipi_send_ns;
        let remote = c.ipi_latency_ns + c.irq_entry_exit_ns + flush_ns(c, pages) + c.cache_transfer_same_socket_ns;
        send + local.max(remote)
    };
    c.syscall_ns + pages * (c.pte_unmap_ns + c.pte_map_ns) + flush
}

/// The smallest of `sizes` (bytes, ascending) from which on moving pages
/// with `cpus` CPUs running the process is cheaper than copying; `None`
/// when it never is.
pub fn move_beats_copy_bytes(c: &CostModel, sizes: &[f64], cpus: u32) -> Option<f64> {
    crossover(sizes, |s| move_pages_ns(c, s, cpus), |s| copy_ns(c, s))
}

/// The smallest size from which on `moving(size) < copying(size)` holds at
/// every larger size too.
pub fn crossover(sizes: &[f64], moving: impl Fn(f64) -> f64, copying: impl Fn(f64) -> f64) -> Option<f64> {
    let wins: Vec<bool> = sizes.iter().map(|&s| moving(s) < copying(s)).collect();
    (0..sizes.len()).find(|&i| wins[i..].iter().all(|&w| w)).map(|i| sizes[i])
}

/// A `payload`-byte UDP datagram sent to a socket of the same process over
/// loopback and received with `recvmsg`, by one thread, ns.
pub fn udp_loopback_ns(c: &CostModel, payload: f64) -> f64 {
    let send = c.syscall_ns + c.tx_per_packet_ns;
    let loopback = c.rps_enqueue_ns + c.softirq_entry_ns + c.rx_protocol_per_packet_ns;
    let receive = c.recvmsg_call_ns + c.recvmsg_datagram_ns + copy_ns(c, payload);
    send + loopback + receive
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A move of more pages than the ceiling pays one full flush instead of
    /// an INVLPG per page, and each further CPU adds a shootdown.
    #[test]
    fn moving_pages_pays_the_flush_rule_and_shootdowns() {
        let c = CostModel::default();
        let per_page = c.pte_unmap_ns + c.pte_map_ns;
        let small = move_pages_ns(&c, 8.0 * 4096.0, 1);
        assert!((small - (c.syscall_ns + 8.0 * (per_page + c.invlpg_ns))).abs() < 1e-9);
        let large = move_pages_ns(&c, 64.0 * 4096.0, 1);
        assert!((large - (c.syscall_ns + 64.0 * per_page + c.tlb_full_flush_ns)).abs() < 1e-9);
        assert!(move_pages_ns(&c, 64.0 * 4096.0, 2) > large);
    }

    #[test]
    fn a_crossover_is_where_moving_wins_from_then_on() {
        let sizes = [1.0, 2.0, 3.0, 4.0];
        // Wins at 2, loses at 3, wins from 4: the crossover is 4.
        let moving = |s: f64| if s == 3.0 || s == 1.0 { 10.0 } else { 0.0 };
        assert_eq!(crossover(&sizes, moving, |_| 5.0), Some(4.0));
        assert_eq!(crossover(&sizes, |_| 10.0, |_| 5.0), None);
    }
}
