//! The cost model: every CPU time, latency and bandwidth the machine charges.
//!
//! Each field carries its unit in its name and cites its row in
//! docs/costs.md (docs/architecture.md). Rows that docs/costs.md marks
//! "estimate" are marked *estimate* here too: keep the default, and let a
//! scenario's `[costs]` table (or a calibration file) replace it. Handlers
//! never contain a cost literal: they read these fields, converted once to
//! integer picoseconds by [`CostModel::resolve`].

use irqlab_engine::Dur;
use serde::{Deserialize, Serialize};

/// Per-operation costs as written in a scenario file (nanoseconds, bytes/ns).
/// Validation (`config::costs`) keeps every time in 0..=1 s
/// (`config::MAX_COST_NS`) and `copy_bytes_per_ns` in 0.001..=1000.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CostModel {
    /// CPU time of hardware-interrupt entry plus exit around a minimal handler.
    /// docs/costs.md "hardware interrupt entry + exit, minimal handler": *estimate*,
    /// 0.3–1 µs on current x86 with mitigations; default in the middle.
    pub irq_entry_exit_ns: f64,
    /// CPU time of the local-APIC EOI write. docs/costs.md "local APIC EOI (x2APIC
    /// MSR write)": *estimate* ≈100 cycles, taken at 3 GHz.
    pub lapic_eoi_ns: f64,
    /// Latency from the device's MSI memory write to its arrival at the local
    /// APIC. *estimate*: half of the 546 ns 64-byte PCIe DMA read round trip
    /// (docs/costs.md "PCIe DMA read latency, 64 B, warm", pcie-bench), as for a
    /// posted write in the "MMIO doorbell write" row.
    pub msi_delivery_ns: f64,
    /// CPU time to issue one posted MMIO register write (the driver's
    /// interrupt-mask and re-enable writes). docs/costs.md "MMIO doorbell write
    /// (posted)": *estimate*, "tens of ns to issue".
    pub mmio_write_ns: f64,
    /// CPU time of one uncached MMIO register read (a non-posted PCIe read
    /// that stalls the core until the completion returns). *estimate*: the
    /// 546 ns 64-byte PCIe read round trip (docs/costs.md "PCIe DMA read latency,
    /// 64 B, warm", pcie-bench) taken as the round trip in the other direction.
    pub mmio_read_ns: f64,
    /// Latency from a frame's last bit on the wire until its descriptor
    /// write-back is visible in host memory. *estimate*: half of the 773 ns
    /// "DMA write then read, 64 B" row (pcie-bench).
    pub dma_write_ns: f64,
    /// CPU time of one `net_rx_action` invocation outside the polls (softirq
    /// entry, poll-list splice, RPS/IRQ re-enable). *estimate*: no published
    /// figure; of the order of a few cache misses.
    pub softirq_entry_ns: f64,
    /// CPU time of one NAPI poll call outside its packets (driver poll
    /// prologue, refill doorbell, `napi_complete_done`). *estimate*.
    pub napi_poll_ns: f64,
    /// CPU time per received packet in the driver: descriptor read, skb
    /// build, buffer refill; in the NAPI poll, or in the hard-IRQ handler
    /// without NAPI (`netif_rx`). *estimate*: with `rx_protocol_per_packet_ns`
    /// chosen so one core sustains ≈2–3 Mpps of receive work, the order
    /// commonly reported for the Linux UDP receive path.
    pub rx_driver_per_packet_ns: f64,
    /// CPU time per received packet in the protocol stack: GRO, IP and UDP
    /// receive, socket lookup and enqueue (softirq). *estimate*, as above.
    pub rx_protocol_per_packet_ns: f64,
    /// CPU time the waker spends in `try_to_wake_up` for a blocked reader.
    /// *estimate*: a fraction of the 1.20 µs same-core futex wake (docs/costs.md
    /// "futex wake same core", measured).
    pub wakeup_ns: f64,
    /// Latency until a task woken from another core starts on an idle core,
    /// from the end of the waker's work (the notification, `wakeup_ns`,
    /// and `ipi_send_ns` for the reschedule IPI, spent first).
    /// docs/costs.md "futex wake … cross-core one-way": 3.4–3.7 µs, measured (it
    /// includes waking a halted vCPU, so high for bare metal).
    pub wakeup_cross_core_latency_ns: f64,
    /// CPU time of a context switch. docs/costs.md "context switch (lmbench
    /// lat_ctx -s 0 2)": 0.90 µs (I. Molnar, LKML 2002).
    pub context_switch_ns: f64,
    /// CPU time of a trivial system call with mitigations. docs/costs.md "syscall
    /// (trivial, with mitigations)": ≈100 ns, measured (getppid).
    pub syscall_ns: f64,
    /// CPU time of one `recvmsg` on a UDP socket whether or not it returns a
    /// datagram: the system call's entry and exit, `____sys_recvmsg`'s
    /// `msghdr` copy-in and iovec import, the socket lookup and
    /// `__skb_recv_udp`'s look at the receive queue. It is all that a call
    /// finding the socket drained (`EAGAIN`) costs. docs/costs.md "UDP
    /// `recvmsg`, per call / per datagram": `syscall_ns` (100) plus
    /// 631.01 − 547.37 ns, what `recvmsg` costs over `recv` per call for the
    /// same datagrams (J. D. Brouer's `udp_sink`, netoptimizer/network-testing
    /// issue 5), ≈184 ns; partly an *estimate* (the empty-queue check).
    pub recvmsg_call_ns: f64,
    /// CPU time per datagram a UDP `recvmsg` returns, beyond the call
    /// (`recvmsg_call_ns`), the copy (`copy_bytes_per_ns`) and the cache
    /// lines pulled from the softirq's core (`cache_transfer_*`, charged
    /// apart): the dequeue under the receive-queue lock, `udp_rmem_release`,
    /// the `msghdr` and `sockaddr` fill and the skb's free. docs/costs.md "UDP
    /// `recvmsg`, per call / per datagram": 631.01 ns per datagram for a
    /// receiver-bound `udp_sink` calling `recvmsg` (18-byte payloads), less
    /// the call's 184, the 18-byte copy (0.5) and 3 lines × 60 ns of
    /// transfers ⇒ ≈267 ns.
    pub recvmsg_datagram_ns: f64,
    /// CPU stall to pull one cache line last written by another core of the
    /// same socket (flow/socket state, a packet's data). *estimate*: an LLC
    /// hit on a line modified in another core's private cache is of the
    /// order of 40–80 ns on current server parts; no docs/costs.md row.
    pub cache_transfer_same_socket_ns: f64,
    /// As above, for a line last written on the other socket. *estimate*:
    /// docs/costs.md "NUMA-remote DMA read, 64 B" shows +105 ns for the remote
    /// node; a cross-socket cache-to-cache transfer is of the order of 100–200 ns.
    pub cache_transfer_cross_socket_ns: f64,
    /// CPU time of sending one IPI (ICR write). *estimate*: a few hundred
    /// cycles; docs/costs.md's round trip row covers the receiver's side.
    pub ipi_send_ns: f64,
    /// Latency of an IPI from the ICR write to the target's APIC. *estimate*:
    /// half of docs/costs.md "IPI round trip (membarrier expedited, one remote
    /// CPU)" 2.8–3.2 µs, measured on this project's machines (which include
    /// waking a halted vCPU, so high for bare metal).
    pub ipi_latency_ns: f64,
    /// CPU time per packet to hash and queue it on a backlog for RPS
    /// (`get_rps_cpu` + `enqueue_to_backlog`). *estimate*.
    pub rps_enqueue_ns: f64,
    /// CPU time per transmitted packet before its descriptor is written:
    /// `sendmsg`'s UDP/IP output, `dev_queue_xmit` and the driver's
    /// `ndo_start_xmit` (skb, headers, DMA mapping). *estimate*: of the
    /// order of the receive path's per-packet cost, as the send and receive
    /// halves of the UDP stack are commonly measured to be.
    pub tx_per_packet_ns: f64,
    /// CPU time per transmitted packet reclaimed by the TX clean-up
    /// (`*_clean_tx_irq`: check DD, unmap, free the skb). *estimate*.
    pub tx_clean_per_packet_ns: f64,
    /// Costs of the memory-ordering model (store buffer, barriers, MMIO, DMA
    /// reads of descriptors): `[costs.memory]`, see memory/mod.rs.
    pub memory: crate::memory::MemoryCostModel,
    /// Kernel-side CPU time of one `eventfd_signal` (counter add + wake
    /// check). *estimate*: a locked add and a wait-queue check.
    pub eventfd_signal_ns: f64,
    /// Extra CPU time of queueing and dequeuing a signal over an eventfd
    /// notification. docs/costs.md "RT signal + sigwaitinfo vs eventfd": +0.6 µs
    /// (same core), measured.
    pub signal_queue_ns: f64,
    /// CPU time of delivering a signal to a handler: signal-frame setup,
    /// the handler's entry and `sigreturn`. Derived from docs/costs.md: "RT
    /// signal + handler + sigsuspend vs eventfd" +1.5 µs minus the 0.6 µs of
    /// `signal_queue_ns`.
    pub signal_frame_ns: f64,
    /// CPU time of one `io_uring_enter` beyond its per-completion work.
    /// Derived from docs/costs.md "io_uring NOP submit+reap per op, batch 1 / 8 /
    /// 64": 260 − 66 ns.
    pub io_uring_enter_ns: f64,
    /// CPU time per io_uring completion (submit + reap) in a large batch.
    /// docs/costs.md: 66 ns per op at batch 64, measured.
    pub io_uring_op_ns: f64,
    /// Extra cost of a CQE signalling a registered eventfd. docs/costs.md
    /// "io_uring CQE → registered eventfd → waiter": +0.1 µs over a plain
    /// eventfd write, measured.
    pub io_uring_eventfd_ns: f64,
    /// Copy bandwidth from a socket buffer to user space, bytes per ns (=GB/s).
    /// docs/costs.md "memcpy, single thread … L3": 35–40 GB/s, measured; received
    /// data is fresh in the LLC (DDIO), so the L3 figure applies.
    pub copy_bytes_per_ns: f64,
    /// Copy bandwidth for received bytes no longer in the cache, bytes per
    /// ns: docs/costs.md "memcpy, single thread … DRAM": 8 GB/s, measured.
    pub copy_dram_bytes_per_ns: f64,
    /// Bytes of a received message still in the last-level cache when the
    /// reader copies it (the most recently written ones); the rest of a
    /// larger message is copied from DRAM. docs/costs.md "received data
    /// still in the cache when copied": *estimate*, 64 KiB (DDIO's share of
    /// the LLC is shared by every buffer in flight; without DDIO, none).
    pub copy_cache_resident_bytes: f64,
    /// CPU time of one `INVLPG` (one page, local). docs/costs.md "INVLPG":
    /// ≈100 ns, the figure arch/x86/mm/tlb.c gives for its single-page
    /// flush ceiling.
    pub invlpg_ns: f64,
    /// CPU time of a full (non-global) TLB flush, a CR3 reload, plus the
    /// refills it causes. docs/costs.md "full TLB flush (CR3 reload) with its
    /// refills": *estimate*, 1 µs (below the ≈3 µs tlb.c's ceiling implies).
    pub tlb_full_flush_ns: f64,
    /// CPU time to map one received page into a process
    /// (`vm_insert_pages` per page: page reference, reverse map, PTE
    /// write) in a zero-copy receive. docs/costs.md "mapping / unmapping one
    /// received page into a process": *estimate*.
    pub pte_map_ns: f64,
    /// CPU time to unmap one such page (`zap_page_range` per page: PTE
    /// clear, reverse map, page reference drop), before the TLB flush.
    /// docs/costs.md "mapping / unmapping one received page into a
    /// process": *estimate*.
    pub pte_unmap_ns: f64,
    /// CPU time of a `getsockopt(TCP_ZEROCOPY_RECEIVE)` beyond a plain
    /// system call: the `tcp_zerocopy_receive` argument copied in and out,
    /// the address space's lock and the VMA lookup. docs/costs.md
    /// "`getsockopt(TCP_ZEROCOPY_RECEIVE)` beyond a plain system call":
    /// *estimate*.
    pub zerocopy_call_ns: f64,
    /// CPU time of one lock-prefixed read-modify-write (`xchg`, `lock
    /// btr`): docs/costs.md "lock-prefixed RMW (xchg)": ≈18 cycles, taken
    /// at 3 GHz. A posted-MSI handler takes each 64-bit PIR word with one,
    /// and clears ON with one.
    pub locked_rmw_ns: f64,
    /// CPU time of a VM exit handled in the host kernel and the VM entry
    /// after it. docs/costs.md "exit handled in host kernel / in host user
    /// space, KVM x86": 2,565 cycles (Dall et al., ATC 2017), taken at 3 GHz.
    pub vm_exit_ns: f64,
    /// CPU time of a VM exit handled in host user space (the VMM's device
    /// emulation: an emulated NIC's register access) and the VM entry
    /// after it. docs/costs.md "exit handled in host kernel / in host user
    /// space, KVM x86": 6,732 cycles (Dall et al., ATC 2017), at 3 GHz.
    pub vm_exit_user_ns: f64,
    /// CPU time of the vhost-net worker per received frame, beyond the
    /// copy: peeking the tap's queue, taking the guest's RX buffers
    /// (`get_rx_bufs`), `recvmsg` and the used-ring update. docs/costs.md
    /// "vhost-net guest receive, small frames": ≈1.5 Mpps per worker
    /// (Linux commit "tun: switch to use skb array for tx", J. Wang), i.e.
    /// ≈650 ns per frame.
    pub vhost_rx_packet_ns: f64,
    /// CPU time of the VMM's I/O thread per frame received for an emulated
    /// NIC, beyond the copy: the tap `read` and the device model's receive
    /// (descriptor read, buffer write, write-back, interrupt cause).
    /// docs/costs.md "VMM's receive per frame for an emulated NIC":
    /// *estimate*, 1.5 µs.
    pub vmm_rx_packet_ns: f64,
    /// CPU time of a guest EOI without APICv: the exit, its emulation and
    /// the entry. docs/costs.md "guest EOI completion, KVM x86 without
    /// APICv": 1,556 cycles (Dall et al., ISCA 2016), at 3 GHz.
    pub vm_eoi_exit_ns: f64,
    /// Host CPU time handling an external-interrupt exit, beyond the exit
    /// and entry. docs/costs.md "host handling of an EXTERNAL_INTERRUPT
    /// exit": avg 0.71 µs.
    pub vm_extint_handling_ns: f64,
    /// Host CPU time of forwarding an assigned device's MSI to the guest:
    /// `vfio_msihandler` → eventfd → irqfd → KVM's injection. docs/costs.md
    /// "assigned device's MSI forwarded to a guest": *estimate*.
    pub vfio_inject_ns: f64,
    /// CPU time of one `rte_eth_rx_burst` call of a user-space poll-mode
    /// driver on one queue, beyond its packets: the call and the read of
    /// the next descriptor's status (DD) bit — what an empty poll costs.
    /// docs/costs.md "poll-mode driver's empty RX burst": *estimate*, 30 ns.
    pub pmd_rx_burst_ns: f64,
    /// CPU time per received packet in a user-space poll-mode driver:
    /// descriptor parse, mbuf set-up and buffer refill, no system call, no
    /// copy. docs/costs.md "poll-mode driver's work per received packet":
    /// *estimate*, 40 ns (DPDK's drivers receive tens of Mpps per core).
    pub pmd_rx_per_packet_ns: f64,
    /// Time from a halted vCPU's wakeup to its thread running again on its
    /// own (idle) core. docs/costs.md "eventfd wakeup, same core, one-way":
    /// 1.35 µs, measured.
    pub vcpu_wakeup_ns: f64,
    /// Host CPU time of KVM delivering a guest's IPI after its ICR-write
    /// exit (`kvm_apic_send_ipi` → the target's virtual APIC or
    /// descriptor), beyond the exit. docs/costs.md "KVM delivering a guest's
    /// IPI after its ICR-write exit": *estimate*, 200 ns.
    pub vm_ipi_deliver_ns: f64,
    /// The processor's posted-interrupt processing in guest mode (PIR into
    /// the virtual APIC, no exit). docs/costs.md "processor's
    /// posted-interrupt processing in guest mode": *estimate*.
    pub posted_processing_ns: f64,
    /// CPU time to pin one user page for `MSG_ZEROCOPY` transmit
    /// (`get_user_pages_fast` per page plus the skb fragment). docs/costs.md
    /// "`MSG_ZEROCOPY`: page pin per page / completion notification":
    /// *estimate*.
    pub page_pin_ns: f64,
    /// CPU time of one `MSG_ZEROCOPY` completion notification on the
    /// socket's error queue (`msg_zerocopy_callback`: extend or queue the
    /// notification range). docs/costs.md "`MSG_ZEROCOPY`: page pin per
    /// page / completion notification": *estimate*.
    pub zerocopy_notify_ns: f64,
    /// Time the IOMMU takes to read one entry of its in-memory structures
    /// (a root, context or second-level page-table entry) on a cache miss;
    /// a walk costs one per level it does not find cached. *estimate*: a
    /// coherent memory read of the order of an LLC miss; docs/costs.md
    /// "IOMMU on, no IOTLB pressure" shows no cost while translations hit.
    pub iommu_walk_access_ns: f64,
    /// Time the IOMMU takes to process one queued invalidation (IOTLB,
    /// context or interrupt-entry-cache descriptor) and the wait descriptor
    /// after it, until the wait's status write. *estimate*: no published
    /// figure; of the order of a PCIe round trip.
    pub iommu_invalidation_ns: f64,
    /// CPU time of `dma_map_single` (or `dma_map_page`) through a
    /// translating IOMMU: IOVA allocation from the per-CPU cache and the
    /// page-table write. *estimate*.
    pub dma_map_ns: f64,
    /// CPU time of `dma_unmap_single` through a translating IOMMU, beyond
    /// the invalidation: the page-table clear and the IOVA free (strict) or
    /// flush-queue entry (lazy). *estimate*.
    pub dma_unmap_ns: f64,
    /// CPU time of one access to an IOMMU register (fault status and
    /// recording registers, the invalidation queue tail): an uncached access
    /// to the root complex, not across PCIe. *estimate*.
    pub iommu_register_ns: f64,
    /// CPU time of logging one DMA-remapping fault (`dmar_fault_do_one`'s
    /// `pr_err`, rate-limited to 10 per 5 s as the kernel's default
    /// ratelimit). *estimate*: a formatted message into the log buffer.
    pub iommu_fault_log_ns: f64,
}

impl Default for CostModel {
    fn default() -> Self {
        CostModel {
            irq_entry_exit_ns: 600.0,
            lapic_eoi_ns: 35.0,
            msi_delivery_ns: 273.0,
            mmio_write_ns: 30.0,
            mmio_read_ns: 546.0,
            dma_write_ns: 386.0,
            softirq_entry_ns: 150.0,
            napi_poll_ns: 100.0,
            rx_driver_per_packet_ns: 100.0,
            rx_protocol_per_packet_ns: 250.0,
            wakeup_ns: 400.0,
            wakeup_cross_core_latency_ns: 3400.0,
            context_switch_ns: 900.0,
            syscall_ns: 100.0,
            recvmsg_call_ns: 184.0,
            recvmsg_datagram_ns: 267.0,
            copy_bytes_per_ns: 35.0,
            copy_dram_bytes_per_ns: 8.0,
            copy_cache_resident_bytes: 65536.0,
            invlpg_ns: 100.0,
            tlb_full_flush_ns: 1000.0,
            pte_map_ns: 60.0,
            pte_unmap_ns: 40.0,
            zerocopy_call_ns: 250.0,
            locked_rmw_ns: 6.0,
            vm_exit_ns: 855.0,
            vm_exit_user_ns: 2244.0,
            vhost_rx_packet_ns: 650.0,
            vmm_rx_packet_ns: 1500.0,
            vm_eoi_exit_ns: 519.0,
            vm_extint_handling_ns: 710.0,
            vfio_inject_ns: 600.0,
            pmd_rx_burst_ns: 30.0,
            pmd_rx_per_packet_ns: 40.0,
            vcpu_wakeup_ns: 1350.0,
            posted_processing_ns: 50.0,
            vm_ipi_deliver_ns: 200.0,
            page_pin_ns: 50.0,
            zerocopy_notify_ns: 200.0,
            eventfd_signal_ns: 50.0,
            signal_queue_ns: 600.0,
            signal_frame_ns: 900.0,
            io_uring_enter_ns: 194.0,
            io_uring_op_ns: 66.0,
            io_uring_eventfd_ns: 100.0,
            memory: crate::memory::MemoryCostModel::default(),
            cache_transfer_same_socket_ns: 60.0,
            cache_transfer_cross_socket_ns: 150.0,
            ipi_send_ns: 100.0,
            ipi_latency_ns: 1500.0,
            rps_enqueue_ns: 50.0,
            tx_per_packet_ns: 300.0,
            tx_clean_per_packet_ns: 50.0,
            iommu_walk_access_ns: 80.0,
            iommu_invalidation_ns: 1000.0,
            dma_map_ns: 120.0,
            dma_unmap_ns: 100.0,
            iommu_register_ns: 100.0,
            iommu_fault_log_ns: 2000.0,
        }
    }
}

/// The cost model converted to integer picoseconds for the hot path.
#[derive(Clone, Copy, Debug)]
pub struct Costs {
    /// See [`CostModel::irq_entry_exit_ns`].
    pub irq_entry_exit: Dur,
    /// See [`CostModel::lapic_eoi_ns`].
    pub lapic_eoi: Dur,
    /// See [`CostModel::msi_delivery_ns`].
    pub msi_delivery: Dur,
    /// See [`CostModel::mmio_write_ns`].
    pub mmio_write: Dur,
    /// See [`CostModel::mmio_read_ns`].
    pub mmio_read: Dur,
    /// See [`CostModel::dma_write_ns`].
    pub dma_write: Dur,
    /// Round trip of a device's DMA read of host memory: the memory cost
    /// model's `dma_read_latency_ns` (docs/costs.md "PCIe DMA read latency, 64 B").
    pub dma_read: Dur,
    /// See [`CostModel::softirq_entry_ns`].
    pub softirq_entry: Dur,
    /// See [`CostModel::napi_poll_ns`].
    pub napi_poll: Dur,
    /// See [`CostModel::rx_driver_per_packet_ns`].
    pub rx_driver_per_packet: Dur,
    /// See [`CostModel::rx_protocol_per_packet_ns`].
    pub rx_protocol_per_packet: Dur,
    /// See [`CostModel::wakeup_ns`].
    pub wakeup: Dur,
    /// See [`CostModel::wakeup_cross_core_latency_ns`].
    pub wakeup_cross_core_latency: Dur,
    /// See [`CostModel::context_switch_ns`].
    pub context_switch: Dur,
    /// See [`CostModel::syscall_ns`].
    pub syscall: Dur,
    /// See [`CostModel::recvmsg_call_ns`].
    pub recvmsg_call: Dur,
    /// See [`CostModel::recvmsg_datagram_ns`].
    pub recvmsg_datagram: Dur,
    /// See [`CostModel::cache_transfer_same_socket_ns`].
    pub cache_transfer_same_socket: Dur,
    /// See [`CostModel::cache_transfer_cross_socket_ns`].
    pub cache_transfer_cross_socket: Dur,
    /// See [`CostModel::ipi_send_ns`].
    pub ipi_send: Dur,
    /// See [`CostModel::ipi_latency_ns`].
    pub ipi_latency: Dur,
    /// See [`CostModel::rps_enqueue_ns`].
    pub rps_enqueue: Dur,
    /// See [`CostModel::tx_per_packet_ns`].
    pub tx_per_packet: Dur,
    /// See [`CostModel::tx_clean_per_packet_ns`].
    pub tx_clean_per_packet: Dur,
    /// The memory-ordering costs, in picoseconds.
    pub memory: crate::memory::MemoryCosts,
    /// See [`CostModel::eventfd_signal_ns`].
    pub eventfd_signal: Dur,
    /// See [`CostModel::signal_queue_ns`].
    pub signal_queue: Dur,
    /// See [`CostModel::signal_frame_ns`].
    pub signal_frame: Dur,
    /// See [`CostModel::io_uring_enter_ns`].
    pub io_uring_enter: Dur,
    /// See [`CostModel::io_uring_op_ns`].
    pub io_uring_op: Dur,
    /// See [`CostModel::io_uring_eventfd_ns`].
    pub io_uring_eventfd: Dur,
    /// See [`CostModel::iommu_walk_access_ns`].
    pub iommu_walk_access: Dur,
    /// See [`CostModel::iommu_invalidation_ns`].
    pub iommu_invalidation: Dur,
    /// See [`CostModel::dma_map_ns`].
    pub dma_map: Dur,
    /// See [`CostModel::dma_unmap_ns`].
    pub dma_unmap: Dur,
    /// See [`CostModel::iommu_register_ns`].
    pub iommu_register: Dur,
    /// See [`CostModel::iommu_fault_log_ns`].
    pub iommu_fault_log: Dur,
    /// Picoseconds to copy 2^20 bytes (2^20 · 1000 / `copy_bytes_per_ns`):
    /// integral, and precise to well under a picosecond per packet.
    pub copy_ps_per_mib: u64,
    /// The same from DRAM (`copy_dram_bytes_per_ns`).
    pub copy_dram_ps_per_mib: u64,
    /// See [`CostModel::copy_cache_resident_bytes`].
    pub copy_cache_resident_bytes: u64,
    /// See [`CostModel::invlpg_ns`].
    pub invlpg: Dur,
    /// See [`CostModel::tlb_full_flush_ns`].
    pub tlb_full_flush: Dur,
    /// See [`CostModel::pte_map_ns`].
    pub pte_map: Dur,
    /// See [`CostModel::pte_unmap_ns`].
    pub pte_unmap: Dur,
    /// See [`CostModel::zerocopy_call_ns`].
    pub zerocopy_call: Dur,
    /// See [`CostModel::locked_rmw_ns`].
    pub locked_rmw: Dur,
    /// See [`CostModel::vm_exit_ns`].
    pub vm_exit: Dur,
    /// See [`CostModel::vm_exit_user_ns`].
    pub vm_exit_user: Dur,
    /// See [`CostModel::vhost_rx_packet_ns`].
    pub vhost_rx_packet: Dur,
    /// See [`CostModel::vmm_rx_packet_ns`].
    pub vmm_rx_packet: Dur,
    /// See [`CostModel::vm_eoi_exit_ns`].
    pub vm_eoi_exit: Dur,
    /// See [`CostModel::vm_extint_handling_ns`].
    pub vm_extint_handling: Dur,
    /// See [`CostModel::vfio_inject_ns`].
    pub vfio_inject: Dur,
    /// See [`CostModel::pmd_rx_burst_ns`].
    pub pmd_rx_burst: Dur,
    /// See [`CostModel::pmd_rx_per_packet_ns`].
    pub pmd_rx_per_packet: Dur,
    /// See [`CostModel::vcpu_wakeup_ns`].
    pub vcpu_wakeup: Dur,
    /// See [`CostModel::posted_processing_ns`].
    pub posted_processing: Dur,
    /// See [`CostModel::vm_ipi_deliver_ns`].
    pub vm_ipi_deliver: Dur,
    /// See [`CostModel::page_pin_ns`].
    pub page_pin: Dur,
    /// See [`CostModel::zerocopy_notify_ns`].
    pub zerocopy_notify: Dur,
}

impl CostModel {
    /// Every field with its name and value, for validation and reports.
    pub fn fields(&self) -> [(&'static str, f64); 58] {
        [
            ("irq_entry_exit_ns", self.irq_entry_exit_ns),
            ("lapic_eoi_ns", self.lapic_eoi_ns),
            ("msi_delivery_ns", self.msi_delivery_ns),
            ("mmio_write_ns", self.mmio_write_ns),
            ("mmio_read_ns", self.mmio_read_ns),
            ("dma_write_ns", self.dma_write_ns),
            ("softirq_entry_ns", self.softirq_entry_ns),
            ("napi_poll_ns", self.napi_poll_ns),
            ("rx_driver_per_packet_ns", self.rx_driver_per_packet_ns),
            ("rx_protocol_per_packet_ns", self.rx_protocol_per_packet_ns),
            ("wakeup_ns", self.wakeup_ns),
            ("wakeup_cross_core_latency_ns", self.wakeup_cross_core_latency_ns),
            ("context_switch_ns", self.context_switch_ns),
            ("syscall_ns", self.syscall_ns),
            ("recvmsg_call_ns", self.recvmsg_call_ns),
            ("recvmsg_datagram_ns", self.recvmsg_datagram_ns),
            ("copy_bytes_per_ns", self.copy_bytes_per_ns),
            ("copy_dram_bytes_per_ns", self.copy_dram_bytes_per_ns),
            ("copy_cache_resident_bytes", self.copy_cache_resident_bytes),
            ("invlpg_ns", self.invlpg_ns),
            ("tlb_full_flush_ns", self.tlb_full_flush_ns),
            ("pte_map_ns", self.pte_map_ns),
            ("pte_unmap_ns", self.pte_unmap_ns),
            ("zerocopy_call_ns", self.zerocopy_call_ns),
            ("locked_rmw_ns", self.locked_rmw_ns),
            ("vm_exit_ns", self.vm_exit_ns),
            ("vm_exit_user_ns", self.vm_exit_user_ns),
            ("vhost_rx_packet_ns", self.vhost_rx_packet_ns),
            ("vmm_rx_packet_ns", self.vmm_rx_packet_ns),
            ("vm_eoi_exit_ns", self.vm_eoi_exit_ns),
            ("vm_extint_handling_ns", self.vm_extint_handling_ns),
            ("vfio_inject_ns", self.vfio_inject_ns),
            ("pmd_rx_burst_ns", self.pmd_rx_burst_ns),
            ("pmd_rx_per_packet_ns", self.pmd_rx_per_packet_ns),
            ("vcpu_wakeup_ns", self.vcpu_wakeup_ns),
            ("posted_processing_ns", self.posted_processing_ns),
            ("vm_ipi_deliver_ns", self.vm_ipi_deliver_ns),
            ("page_pin_ns", self.page_pin_ns),
            ("zerocopy_notify_ns", self.zerocopy_notify_ns),
            ("cache_transfer_same_socket_ns", self.cache_transfer_same_socket_ns),
            ("cache_transfer_cross_socket_ns", self.cache_transfer_cross_socket_ns),
            ("ipi_send_ns", self.ipi_send_ns),
            ("ipi_latency_ns", self.ipi_latency_ns),
            ("rps_enqueue_ns", self.rps_enqueue_ns),
            ("tx_per_packet_ns", self.tx_per_packet_ns),
            ("tx_clean_per_packet_ns", self.tx_clean_per_packet_ns),
            ("eventfd_signal_ns", self.eventfd_signal_ns),
            ("signal_queue_ns", self.signal_queue_ns),
            ("signal_frame_ns", self.signal_frame_ns),
            ("io_uring_enter_ns", self.io_uring_enter_ns),
            ("io_uring_op_ns", self.io_uring_op_ns),
            ("io_uring_eventfd_ns", self.io_uring_eventfd_ns),
            ("iommu_walk_access_ns", self.iommu_walk_access_ns),
            ("iommu_invalidation_ns", self.iommu_invalidation_ns),
            ("dma_map_ns", self.dma_map_ns),
            ("dma_unmap_ns", self.dma_unmap_ns),
            ("iommu_register_ns", self.iommu_register_ns),
            ("iommu_fault_log_ns", self.iommu_fault_log_ns),
        ]
    }

    /// Converts to picoseconds. Call only on a validated model.
    pub fn resolve(&self) -> Costs {
        let d = Dur::from_ns_f64;
        Costs {
            irq_entry_exit: d(self.irq_entry_exit_ns),
            lapic_eoi: d(self.lapic_eoi_ns),
            msi_delivery: d(self.msi_delivery_ns),
            mmio_write: d(self.mmio_write_ns),
            mmio_read: d(self.mmio_read_ns),
            dma_write: d(self.dma_write_ns),
            dma_read: d(self.memory.dma_read_latency_ns),
            softirq_entry: d(self.softirq_entry_ns),
            napi_poll: d(self.napi_poll_ns),
            rx_driver_per_packet: d(self.rx_driver_per_packet_ns),
            rx_protocol_per_packet: d(self.rx_protocol_per_packet_ns),
            wakeup: d(self.wakeup_ns),
            wakeup_cross_core_latency: d(self.wakeup_cross_core_latency_ns),
            context_switch: d(self.context_switch_ns),
            syscall: d(self.syscall_ns),
            recvmsg_call: d(self.recvmsg_call_ns),
            recvmsg_datagram: d(self.recvmsg_datagram_ns),
            cache_transfer_same_socket: d(self.cache_transfer_same_socket_ns),
            cache_transfer_cross_socket: d(self.cache_transfer_cross_socket_ns),
            ipi_send: d(self.ipi_send_ns),
            ipi_latency: d(self.ipi_latency_ns),
            rps_enqueue: d(self.rps_enqueue_ns),
            tx_per_packet: d(self.tx_per_packet_ns),
            tx_clean_per_packet: d(self.tx_clean_per_packet_ns),
            memory: self.memory.resolve(),
            eventfd_signal: d(self.eventfd_signal_ns),
            signal_queue: d(self.signal_queue_ns),
            signal_frame: d(self.signal_frame_ns),
            io_uring_enter: d(self.io_uring_enter_ns),
            io_uring_op: d(self.io_uring_op_ns),
            io_uring_eventfd: d(self.io_uring_eventfd_ns),
            iommu_walk_access: d(self.iommu_walk_access_ns),
            iommu_invalidation: d(self.iommu_invalidation_ns),
            dma_map: d(self.dma_map_ns),
            dma_unmap: d(self.dma_unmap_ns),
            iommu_register: d(self.iommu_register_ns),
            iommu_fault_log: d(self.iommu_fault_log_ns),
            copy_ps_per_mib: ((1u64 << 20) as f64 * 1000.0 / self.copy_bytes_per_ns).round() as u64,
            copy_dram_ps_per_mib: ((1u64 << 20) as f64 * 1000.0 / self.copy_dram_bytes_per_ns).round() as u64,
            copy_cache_resident_bytes: self.copy_cache_resident_bytes as u64,
            invlpg: d(self.invlpg_ns),
            tlb_full_flush: d(self.tlb_full_flush_ns),
            pte_map: d(self.pte_map_ns),
            pte_unmap: d(self.pte_unmap_ns),
            zerocopy_call: d(self.zerocopy_call_ns),
            locked_rmw: d(self.locked_rmw_ns),
            vm_exit: d(self.vm_exit_ns),
            vm_exit_user: d(self.vm_exit_user_ns),
            vhost_rx_packet: d(self.vhost_rx_packet_ns),
            vmm_rx_packet: d(self.vmm_rx_packet_ns),
            vm_eoi_exit: d(self.vm_eoi_exit_ns),
            vm_extint_handling: d(self.vm_extint_handling_ns),
            vfio_inject: d(self.vfio_inject_ns),
            pmd_rx_burst: d(self.pmd_rx_burst_ns),
            pmd_rx_per_packet: d(self.pmd_rx_per_packet_ns),
            vcpu_wakeup: d(self.vcpu_wakeup_ns),
            posted_processing: d(self.posted_processing_ns),
            vm_ipi_deliver: d(self.vm_ipi_deliver_ns),
            page_pin: d(self.page_pin_ns),
            zerocopy_notify: d(self.zerocopy_notify_ns),
        }
    }
}

impl Costs {
    /// CPU time to copy the `bytes` bytes of one received message (or
    /// datagram) to user space: its last `copy_cache_resident_bytes` from
    /// the cache, the older ones from DRAM.
    pub fn copy(&self, bytes: u32) -> Dur {
        let hot = (bytes as u64).min(self.copy_cache_resident_bytes);
        let cold = bytes as u64 - hot;
        Dur((self.copy_ps_per_mib * hot + self.copy_dram_ps_per_mib * cold) >> 20)
    }

    /// CPU time to copy `bytes` bytes that are all in the cache (a send's
    /// payload, which the application has just written).
    pub fn copy_cached(&self, bytes: u32) -> Dur {
        Dur((self.copy_ps_per_mib * bytes as u64) >> 20)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_converts_nanoseconds_to_picoseconds() {
        let c = CostModel::default().resolve();
        assert_eq!(c.syscall, Dur::from_ns(100));
        assert_eq!(c.context_switch, Dur::from_ns(900));
        // 35 bytes/ns: 1,500 bytes take 42.857 ns (42,857.1 ps, rounded down).
        assert_eq!(c.copy(1500).as_ps(), 42_857);
    }

    #[test]
    fn a_large_message_is_copied_partly_from_dram() {
        let c = CostModel::default().resolve();
        // 64 KiB at 35 B/ns, then 64 KiB more at 8 B/ns.
        let hot = c.copy(65536).as_ps();
        assert_eq!(hot, 1_872_457);
        assert_eq!(c.copy(131072).as_ps(), hot + 8_192_000);
    }
}
