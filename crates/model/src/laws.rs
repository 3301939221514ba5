//! The conservation laws every run ends with (docs/architecture.md), and the
//! progress law.
//!
//! Each conservation law compares counts kept at **different places**: what
//! a sender counted against what a receiver counted, plus what is provably
//! between them (events still in the queue, entries still in a register or
//! a queue). A message lost on the way, a drop counted as a delivery, a
//! packet handed to nobody: each makes two places disagree.
//!
//! | law | sender side | receiver side |
//! |---|---|---|
//! | `packets` | NIC: frames offered | kernel: delivered (at the end of each copy), drops where they happen, packets inside |
//! | `rx rings` | NIC: frames landed in rings | NIC: frames taken + in rings |
//! | `driver` | NIC: frames taken from rings | kernel: frames the driver received |
//! | `stack` | kernel: from rings + from backlogs | kernel: to backlogs, to sockets, socket drops, in polls |
//! | `backlogs` | enqueued by `netif_rx`/RPS | dequeued by `process_backlog` + queued |
//! | `sockets` | enqueued by softirq | taken by `recv` + queued |
//! | `reads` | taken by `recv` | delivered at the end of each copy + copies in progress |
//! | `dma` | NIC and misbehaving devices: requests issued | memory: completed + faulted |
//! | `msi port` | devices, IO-APIC and IOMMU fault events: messages sent | port: messages posted |
//! | `msi transit` | port: posted | window: arrived + in transit (queued events) |
//! | `msi window` | window: arrived | accepted, coalesced, rejected, blocked (remapping or decode) |
//! | `interrupt remapping` | window: blocked by remapping | IOMMU: blocked, by fault reason |
//! | `iommu faults` | DMA port and window: faults | fault registers: recorded, overflowed, collapsed, suppressed |
//! | `fault records` | fault registers: recorded | kernel: drained + still pending in the registers |
//! | `msix pba` | NIC: pending bits set | NIC: released by unmask + still pending |
//! | `msix notifies` | queues: raised (+ released) | function: sent, pended, coalesced |
//! | `ipis` | kernel: RPS and TLB IPIs sent | APIC bus: ICR writes |
//! | `tlb ipis` | initiators: flush IPIs sent | targets: flush IPIs taken + requested in IRRs + in transit |
//! | `tlb flushes` | initiators: flush requests queued | targets: flushed + queued or in service |
//! | `zerocopy notifications` | TX clean-up: `MSG_ZEROCOPY` sends completed | sender: completions read from the error queue + unread |
//! | `tlb acks` | targets: flushed | initiators: acknowledgements seen + in transit |
//! | `ipi transit` | APIC bus: sent | arrived + in transit |
//! | `reschedules` | kernel: reschedule IPIs sent | kernel: wakeups arrived + in transit |
//! | `apic` | APIC bus: accepted (MSIs, IPIs, posted notifications) | kernel: vectors taken + still requested in IRRs |
//! | `vm exits` | host: VM exits | host: VM entries + vCPUs exited or halted at the end |
//! | `vcpu run queues` | kernels: vCPU threads on run-queue cores | run queues: threads listed once, on their vCPU's current core |
//! | `vfio passes` | host on a shared core: device interrupts taken for another VM's vCPU or while no vCPU held it | KVM: delivered to their vCPUs + in transit |
//! | `posted` | remapping hardware: requests posted | merged into a set PIR bit + taken by the kernels' scans + still in PIRs |
//! | `irqfd` | back end (vhost worker, VMM): irqfd signals | KVM: injected + unrouted + in transit |
//! | `kicks` | guest: virtio kicks (ioeventfd writes) | vhost worker: kicks received + in transit |
//! | `vfio eventfd` | host: eventfd signals `vfio_msihandler` sent | driver threads: increments their reads consumed + unread |
//! | `cgroup throttles` | kernel: threads throttled (at the throttle) | period timer: threads unthrottled + still throttled |
//! | `device …` | device: events | serviced, coalesced, pending |
//!
//! The **progress law** (progress.rs) runs after the others: with the
//! traffic stopped, every packet still inside must be consumed within a
//! bound; one that is not waits for a wakeup that will never come.

use crate::metrics::PacketCounts;
use irqlab_engine::{Law, LawViolation};

/// Messages still travelling when the run ended (events in the queue).
#[derive(Clone, Copy, Debug, Default)]
pub struct InTransit {
    /// vCPU yields on their way to a host run queue.
    pub vcpu_yields: u64,
    /// Assigned-device interrupts on their way from the host to another VM.
    pub vfio_irqs: u64,
    /// MSI writes posted but not yet at the window.
    pub msi: u64,
    /// IPIs sent but not yet at their APIC.
    pub ipis: u64,
    /// Cross-CPU wakeups sent but not yet arrived.
    pub wakeups: u64,
    /// TX doorbells written but not yet at the NIC.
    pub doorbells: u64,
    /// TLB flush IPIs (`CALL_FUNCTION_VECTOR`) not yet at their APIC.
    pub tlb_ipis: u64,
    /// TLB flush acknowledgements not yet seen by their initiator.
    pub tlb_acks: u64,
    /// irqfd signals not yet at KVM.
    pub irqfd: u64,
    /// Guest kicks not yet at the vhost worker.
    pub kicks: u64,
}

/// The parts whose counts the laws compare.
pub struct Counted<'a> {
    /// The platform.
    pub platform: &'a crate::platform::Platform,
    /// Every NIC.
    pub nics: &'a [crate::devices::nic::Nic],
    /// Every kernel.
    pub kernels: &'a [crate::kernel::Kernel],
    /// The level devices.
    pub devices: &'a [crate::devices::level::LevelDevice],
    /// The misbehaving devices.
    pub rogues: &'a [crate::devices::rogue::RogueDevice],
    /// The host run queues of cores vCPUs share.
    pub host: &'a crate::vcpu_sched::HostRunQueues,
}

/// Checks every conservation law of a finished run; returns the ones that failed.
pub fn check(p: &Counted, transit: &InTransit) -> Vec<LawViolation> {
    let mut laws = Vec::new();
    for (i, k) in p.kernels.iter().enumerate() {
        let prefix = if i == 0 { String::new() } else { format!("kernel {i} ") };
        pair_laws(k, &p.nics[k.adapter.nic.idx()], &prefix, &mut laws);
    }
    for s in p.kernels.iter().filter_map(|k| k.sender.as_ref()).filter(|s| s.zerocopy) {
        laws.push(
            Law::new("zerocopy notifications", "sends completed (TX clean-up)", s.counts.zerocopy_completions)
                .part("read from the error queue (sender)", s.counts.completions_read)
                .part("unread in the error queue", s.unread_completions()),
        );
    }
    for k in p.kernels.iter().filter(|k| k.tlb.enabled) {
        let c = &k.tlb.counts;
        laws.extend([
            Law::new("tlb ipis", "flush IPIs sent (initiators)", c.shootdown_ipis)
                .part("taken (targets)", c.ipis_taken)
                .part(
                    "requested in IRRs",
                    match k.virt {
                        Some(_) => k.vcpus_requesting(crate::kernel::vector::CALL_FUNCTION_VECTOR, p.platform),
                        None => p.platform.requested(&k.cores, crate::kernel::vector::CALL_FUNCTION_VECTOR),
                    },
                )
                .part("in transit", transit.tlb_ipis),
            Law::new("tlb flushes", "requests queued (initiators)", c.requests)
                .part("flushed (targets)", c.flushed)
                .part("queued or in service (targets)", k.tlb.pending_requests()),
            Law::new("tlb acks", "flushed (targets)", c.flushed)
                .part("acknowledged (initiators)", c.acks)
                .part("in transit", transit.tlb_acks),
        ]);
    }
    for k in p.kernels {
        for g in &k.cgroups {
            laws.push(
                Law::new("cgroup throttles", "threads throttled", g.throttles)
                    .part("unthrottled (period timer)", g.unthrottles)
                    .part("still throttled", g.throttled.len() as u64),
            );
        }
    }
    for k in p.kernels {
        if let Some(pci) = &k.adapter.vfio {
            laws.push(
                Law::new("vfio eventfd", "signals (vfio_msihandler)", pci.counts.irq_eventfd_signals)
                    .part("read (driver threads)", k.vfio_consumed_signals())
                    .part("unread", k.vfio_unread_signals()),
            );
        }
    }
    platform_laws(p, transit, &mut laws);
    laws.iter().filter_map(|l| l.check().err()).collect()
}

/// The laws of one kernel and the NIC its driver owns.
fn pair_laws(k: &crate::kernel::Kernel, nic: &crate::devices::nic::Nic, prefix: &str, laws: &mut Vec<Law>) {
    let ks = &k.stats;
    let pc = PacketCounts::of(nic, k);
    let rx =
        |f: fn(&crate::devices::nic::rx::RxCounts) -> u64| -> u64 { nic.queues.iter().map(|q| f(&q.counts)).sum() };
    let sn =
        |f: fn(&crate::kernel::softnet::SoftnetCounts) -> u64| -> u64 { k.softnet.iter().map(|s| f(&s.counts)).sum() };
    let in_batches: u64 = k.softnet.iter().map(|s| s.in_batches()).sum();
    let in_backlogs: u64 = k.softnet.iter().map(|s| s.backlog.len() as u64).sum();
    let in_sockets: u64 = k.threads.iter().map(|t| t.queue.len() as u64).sum();
    let in_reads: u64 = k.threads.iter().map(|t| t.burst.len() as u64).sum();
    let name = |n: &str| format!("{prefix}{n}");
    let ms = &nic.stats.msix;
    laws.extend([
        Law::new(&name("packets"), "offered", pc.offered)
            .part("delivered", pc.delivered)
            .part("dropped.rx_ring_full", pc.ring_full)
            .part("dropped.socket_full", pc.socket_full)
            .part("dropped.no_socket", pc.no_socket)
            .part("dropped.backlog_full", pc.backlog_full)
            .part("dropped.iommu_fault", pc.iommu_fault)
            .part("in_flight", pc.in_flight()),
        Law::new(&name("rx rings"), "landed", rx(|c| c.landed))
            .part("taken", rx(|c| c.taken))
            .part("in_rings", pc.in_rings),
        Law::new(&name("driver"), "taken from rings (NIC)", rx(|c| c.taken))
            .part("received (kernel)", ks.rx_from_rings),
        Law::new(&name("stack"), "from rings + from backlogs", ks.rx_from_rings + sn(|c| c.backlog_dequeued))
            .part("to backlogs", sn(|c| c.backlog_enqueued))
            .part("dropped.backlog_full", sn(|c| c.dropped_backlog))
            .part("to sockets", ks.socket_enqueued)
            .part("dropped.socket_full", ks.dropped_socket_full)
            .part("dropped.no_socket", ks.dropped_no_socket)
            .part("to user-space drivers (vfio)", ks.pmd_taken)
            .part("discarded: buffer write refused", ks.discarded_faulted)
            .part("in polls", in_batches),
        Law::new(&name("backlogs"), "enqueued", sn(|c| c.backlog_enqueued))
            .part("dequeued", sn(|c| c.backlog_dequeued))
            .part("queued", in_backlogs),
        Law::new(&name("sockets"), "enqueued", ks.socket_enqueued)
            .part("read", ks.recv_dequeued)
            .part("queued", in_sockets),
        Law::new(&name("reads"), "read from sockets + from rings (vfio)", ks.recv_dequeued + ks.pmd_taken)
            .part("delivered", ks.delivered)
            .part("copies in progress", in_reads),
        Law::new(&name("msix pba"), "pending bits set", ms.pending_set)
            .part("released", ms.released)
            .part("still pending", nic.msix_pending_bits()),
        Law::new(&name("msix notifies"), "raised + released", ms.raised + ms.released)
            .part("sent", ms.sent)
            .part("pending_set", ms.pending_set)
            .part("pending_coalesced", ms.pending_coalesced)
            .part("no_entry", ms.no_entry),
    ]);
    if let (Some(s), Some(tx)) = (&k.sender, nic.tx.first()) {
        let t = &tx.counts;
        laws.push(
            Law::new(&name("tx descriptor reads"), "read", t.descriptors_read)
                .part("transmitted_ok", t.transmitted_ok)
                .part("corrupted", t.corrupted_transmissions)
                .part("stale_ownership", t.stale_ownership_reads),
        );
        laws.push(
            Law::new(&name("tx descriptors"), "posted (sender)", s.counts.descriptors_posted)
                .part("transmitted (NIC)", t.transmitted_ok + t.corrupted_transmissions)
                .part("not yet fetched (NIC)", s.posted - tx.head()),
        );
    }
}

/// The laws of the platform's buses, summed over the devices and kernels on them.
fn platform_laws(p: &Counted, transit: &InTransit, laws: &mut Vec<Law>) {
    let ps = &p.platform.stats;
    let nics = |f: fn(&crate::devices::nic::Nic) -> u64| -> u64 { p.nics.iter().map(f).sum() };
    let kernels = |f: fn(&crate::kernel::Kernel) -> u64| -> u64 { p.kernels.iter().map(f).sum() };
    // A back end's MSI-X messages are irqfd signals: they never reach the port.
    let nic_msis = nics(|n| n.stats.msix.sent + n.stats.msi_cap.sent - n.irqfd_signals());
    // Physical vectors taken: a guest kernel's own count is of its virtual
    // APICs; the host on its cores counted the physical ones.
    let taken = kernels(|k| match &k.virt {
        Some(v) => v.counts.physical_taken,
        None => k.stats.interrupts_per_cpu.iter().sum(),
    }) + p.host.shared().map(|(_, hc)| hc.idle_taken).sum::<u64>();
    let doorbells = kernels(|k| k.sender.as_ref().map_or(0, |s| s.counts.doorbells));
    let rogue_dma: u64 = p.rogues.iter().map(|r| r.dma_requests()).sum();
    let rogue_msi: u64 = p.rogues.iter().map(|r| r.msi_writes()).sum();
    laws.extend([
        Law::new("dma", "requests (NICs, misbehaving devices)", nics(|n| n.dma_requests()) + rogue_dma)
            .part("completed (memory)", ps.dma.completed)
            .part("faulted", ps.dma.faults),
        Law::new(
            "msi port",
            "sent (devices, IO-APIC, IOMMU fault events)",
            nic_msis + ps.ioapic.messages + rogue_msi + ps.fault_events,
        )
        .part("posted (port)", ps.msi_posted),
        Law::new("msi transit", "posted", ps.msi_posted)
            .part("arrived", ps.msi.arrived)
            .part("in transit", transit.msi),
        Law::new("msi window", "arrived", ps.msi.arrived)
            .part("accepted", ps.msi.accepted)
            .part("irr_coalesced", ps.msi.irr_coalesced)
            .part("illegal_vector", ps.msi.illegal_vector)
            .part("blocked_remapping", ps.msi.blocked_remapping)
            .part("blocked_decode", ps.msi.blocked_decode)
            .part("blocked_no_apic", ps.msi.blocked_no_apic)
            .part("apic_disabled", ps.msi.apic_disabled)
            .part("posted", ps.msi.posted),
        Law::new(
            "ipis",
            "RPS, TLB and KVM IPIs sent (kernels)",
            // A guest's RPS and TLB IPIs are virtual: the physical ones are
            // the host's on its behalf.
            kernels(|k| match k.virt {
                Some(_) => k.stats.ipis.kvm,
                None => k.stats.ipis.rps + k.stats.ipis.tlb + k.stats.ipis.kvm,
            }),
        )
        .part("ICR writes (APIC bus)", ps.ipis.sent),
        Law::new("ipi transit", "sent", ps.ipis.sent).part("arrived", ps.ipis.arrived).part("in transit", transit.ipis),
        Law::new("reschedules", "sent", kernels(|k| k.stats.ipis.reschedule))
            .part("arrived", kernels(|k| k.stats.ipis.reschedule_received))
            .part("in transit", transit.wakeups),
        Law::new(
            "apic",
            "accepted (APIC bus: MSIs, IPIs, posted notifications)",
            ps.msi.accepted + ps.ipis.accepted + ps.posted.notifications_accepted,
        )
        .part("taken (kernels)", taken)
        .part("still_in_irr", p.platform.irr_bits()),
    ]);
    if let Some(u) = &p.platform.iommu {
        let fc = &u.faults.counts;
        if let Some(ir) = &u.ir {
            laws.push(
                Law::new("interrupt remapping", "blocked (window)", ps.msi.blocked_remapping)
                    .part("blocked (IOMMU, by reason)", ir.counts.blocked.values().sum()),
            );
        }
        laws.push(
            Law::new("iommu faults", "faults (DMA port + window)", ps.dma.faults + ps.msi.blocked_remapping)
                .part("recorded", fc.recorded)
                .part("overflowed", fc.overflows)
                .part("collapsed", fc.collapsed)
                .part("suppressed (FPD)", fc.suppressed),
        );
        let pending = (0..u.faults.len())
            .filter(|i| irqlab_hw::vtd::fault::FaultRecord::decode(u.faults.record(*i)).valid)
            .count() as u64;
        laws.push(
            Law::new("fault records", "recorded (IOMMU)", fc.recorded)
                .part("drained (kernel)", kernels(|k| k.dma.counts.faults_drained))
                .part("pending in the registers", pending),
        );
    }
    let vms = p.kernels.iter().filter(|k| k.virt.is_some()).count();
    for k in p.kernels {
        if let Some(v) = &k.virt {
            let name = |law: &str| if v.index == 0 { law.to_string() } else { format!("vm {} {law}", v.index) };
            laws.push(
                Law::new(&name("vm exits"), "exits (host)", v.total_exits())
                    .part("entries (host)", v.counts.entries)
                    .part("vCPUs out at the end", v.out()),
            );
            if vms > 1 {
                // Each VM's own: what was posted into its descriptors (by
                // the remapping hardware and by KVM) reached its virtual
                // APICs or is still in its PIRs.
                let hw = v
                    .vcpus
                    .iter()
                    .filter_map(|vc| ps.posted.by_pid.get(&vc.pid))
                    .fold((0, 0), |a, c| (a.0 + c.requests, a.1 + c.merged));
                laws.push(
                    Law::new(
                        &format!("posted (vm {})", v.index),
                        "requests posted into its descriptors",
                        hw.0 + v.counts.software_posted,
                    )
                    .part("merged into a set PIR bit", hw.1 + v.counts.software_merged)
                    .part("taken into its virtual APICs", v.counts.pir_taken)
                    .part("still in its PIRs", k.vcpu_pir_pending(p.platform)),
                );
            }
        }
    }
    let yields: u64 = p
        .kernels
        .iter()
        .map(|k| (0..k.cores.len()).map(|c| k.vcpu_yields(crate::ids::CpuId(c as u32))).sum::<u64>())
        .sum();
    if yields > 0 || p.host.shared().next().is_some() {
        let rq = |f: fn(&crate::vcpu_sched::HostCore) -> u64| -> u64 { p.host.shared().map(|(_, hc)| f(hc)).sum() };
        laws.extend([
            Law::new("vcpu yields", "shared cores given up (vCPUs)", yields)
                .part("received (host run queues)", rq(|hc| hc.yields))
                .part("in transit", transit.vcpu_yields),
            Law::new("vcpu grants", "shared cores granted (host run queues)", rq(|hc| hc.grants))
                .part("given up (host run queues)", rq(|hc| hc.yields))
                .part("held at the end", rq(|hc| hc.current.is_some() as u64)),
        ]);
        // A vCPU thread of a run-queue core is listed on exactly one run
        // queue: its vCPU's current core's (a floating thread's entry moves
        // with it).
        let threads: Vec<(crate::ids::KernelId, u32, crate::ids::CoreId)> = p
            .kernels
            .iter()
            .filter_map(|k| k.virt.as_ref().map(|v| (k, v)))
            .flat_map(|(k, v)| {
                v.vcpus.iter().enumerate().filter(|(_, vc)| vc.shared).map(move |(i, _)| (k.id, i as u32, k.cores[i]))
            })
            .collect();
        let listings: Vec<_> = p.host.listings().collect();
        let once_at_home = threads
            .iter()
            .filter(|(k, cpu, core)| {
                let mine: Vec<_> = listings.iter().filter(|(_, t)| t.0 == *k && t.1.0 == *cpu).collect();
                mine.len() == 1 && mine[0].0 == *core
            })
            .count() as u64;
        laws.push(
            Law::new("vcpu run queues", "vCPU threads on run-queue cores (kernels)", threads.len() as u64)
                .part("listed once, on their current core's run queue", once_at_home),
        );
        let vm = |f: fn(&crate::virt::VmCounts) -> u64| -> u64 {
            p.kernels.iter().filter_map(|k| k.virt.as_ref()).map(|v| f(&v.counts)).sum()
        };
        let passed = vm(|c| c.vfio_passed) + rq(|hc| hc.idle_passes);
        if passed > 0 || transit.vfio_irqs > 0 {
            laws.push(
                Law::new("vfio passes", "taken on a shared core for another VM or by the idle host", passed)
                    .part("delivered to its vCPU (KVM)", vm(|c| c.vfio_received))
                    .part("in transit", transit.vfio_irqs),
            );
        }
    }
    if let Some(b) = p.nics.iter().find_map(|n| n.backend.as_ref()) {
        let guests = |f: fn(&crate::virt::VmCounts) -> u64| -> u64 {
            p.kernels.iter().filter_map(|k| k.virt.as_ref()).map(|v| f(&v.counts)).sum()
        };
        laws.push(
            Law::new("irqfd", "signals (back end)", nics(|n| n.irqfd_signals()))
                .part("injected (KVM)", guests(|c| c.irqfd_injections))
                .part("unrouted", b.counts.irqfd_unrouted)
                .part("in transit", transit.irqfd),
        );
        laws.push(
            Law::new("kicks", "kicks (guest)", guests(|c| c.kicks))
                .part("received (vhost worker)", nics(|n| n.backend.as_ref().map_or(0, |b| b.counts.kicks_received)))
                .part("in transit", transit.kicks),
        );
    }
    if ps.posted.requests > 0 || p.kernels.iter().any(|k| k.virt.is_some()) {
        let pending: u64 = p
            .kernels
            .iter()
            .map(|k| match &k.virt {
                Some(_) => k.vcpu_pir_pending(p.platform),
                None => {
                    (0..k.cores.len()).map(|c| k.posted_pending(crate::ids::CpuId(c as u32), p.platform)).sum::<u64>()
                }
            })
            .sum();
        // KVM's software posting (APICv) sets PIR bits too; a guest's PIRs
        // are taken at VM entry or by the processor's posted-interrupt
        // processing.
        let software: u64 = kernels(|k| k.virt.as_ref().map_or(0, |v| v.counts.software_posted));
        laws.push(
            Law::new("posted", "requests posted (remapping hardware + KVM software)", ps.posted.requests + software)
                .part(
                    "merged into a set PIR bit",
                    ps.posted.merged + kernels(|k| k.virt.as_ref().map_or(0, |v| v.counts.software_merged)),
                )
                .part(
                    "taken from PIRs (kernels, vCPUs)",
                    kernels(|k| k.stats.posted_taken + k.virt.as_ref().map_or(0, |v| v.counts.pir_taken)),
                )
                .part("still in PIRs", pending),
        );
    }
    if doorbells > 0 || transit.doorbells > 0 {
        laws.push(
            Law::new("tx doorbells", "rung (senders)", doorbells)
                .part("arrived (NICs)", nics(|n| n.tx.iter().map(|q| q.counts.doorbells).sum()))
                .part("in transit", transit.doorbells),
        );
    }
    for d in p.devices {
        laws.push(
            Law::new(&format!("device {} events", d.cfg.name), "events", d.counts.events)
                .part("serviced", d.counts.serviced)
                .part("coalesced", d.counts.coalesced)
                .part("pending", d.cause as u64),
        );
    }
}
