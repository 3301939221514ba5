//! What a kernel reports about itself at the end of a run: per-CPU time by
//! context, its IRQ descriptors, NAPI and softirq counters, steering and
//! locality, and its applications. The machine's metrics document
//! (metrics.rs) places these sections; it reads no kernel field itself.

use super::Kernel;
use super::cpu::{Ctx, N_CTX};
use crate::platform::Platform;
use irqlab_engine::Time;
use serde::Serialize;

/// One CPU's use of its time.
#[derive(Clone, Debug, Serialize)]
pub struct CoreMetrics {
    /// Core index.
    pub core: u32,
    /// NUMA node.
    pub socket: u32,
    /// Fraction of the run in each context; sums to 1.
    pub busy_frac: BusyFrac,
    /// Hard interrupts taken.
    pub interrupts: u64,
}

/// Fractions of time by context.
#[derive(Clone, Debug, Serialize)]
pub struct BusyFrac {
    /// Hard-IRQ handlers.
    pub hardirq: f64,
    /// Softirq on interrupt exit.
    pub softirq: f64,
    /// Kernel threads (ksoftirqd).
    pub kthread: f64,
    /// Application threads.
    pub user: f64,
    /// Guest mode (no VMs yet: always 0).
    pub guest: f64,
    /// Idle.
    pub idle: f64,
}

/// One IRQ descriptor and its vector.
#[derive(Clone, Debug, Serialize)]
pub struct VectorMetrics {
    /// IRQ number (order of `request_irq`).
    pub irq: u32,
    /// Chip and flow, as `/proc/interrupts` names them.
    pub chip: &'static str,
    /// The name a driver gives it (`/proc/interrupts`' last column):
    /// `eth0-TxRx-N` for a queue pair's vector (ixgbe's naming), `eth0-tx-0`
    /// for a separate TX vector, `eth0` for the single MSI/INTx vector,
    /// `dmar0` for the IOMMU's fault event, `levelN` for `[[devices]]` entry N
    /// (names of actions sharing the line joined by commas).
    pub name: String,
    /// Flow-handler runs by the CPU that took them, one count per CPU.
    pub per_cpu: Vec<u64>,
    /// The core the chip was programmed to target.
    pub core: u32,
    /// The vector on that core.
    pub vector: u8,
    /// RX queues it signals.
    pub queues: Vec<u32>,
    /// Flows that RSS steers to those queues.
    pub flows: u32,
    /// Times the flow handler ran.
    pub count: u64,
    /// Times no handler claimed it.
    pub unhandled: u64,
    /// Times it fired while disabled (masked and EOI'd only).
    pub while_disabled: u64,
    /// Whether "nobody cared" disabled it, and when (ms).
    pub disabled_at_ms: Option<f64>,
    /// Times the spurious poller ran its handlers.
    pub polled: u64,
}

/// NAPI and softirq counters, summed over CPUs.
#[derive(Clone, Debug, Serialize)]
pub struct NapiMetrics {
    /// Polls run.
    pub polls: u64,
    /// Packets per poll.
    pub packets_per_poll: f64,
    /// Polls that used their whole weight.
    pub full_polls: u64,
    /// `net_rx_action` invocations.
    pub softirq_rounds: u64,
    /// `time_squeeze`.
    pub time_squeeze: u64,
    /// ksoftirqd hand-offs (wakeups).
    pub ksoftirqd_wakeups: u64,
    /// `napi_schedule` on an already scheduled instance.
    pub missed: u64,
}

/// Software steering and locality.
#[derive(Clone, Debug, Serialize)]
pub struct SteeringMetrics {
    /// Packets queued on a backlog by RPS/RFS.
    pub rps_enqueued: u64,
    /// Of which on another core.
    pub rps_remote: u64,
    /// Times RFS moved a flow to its reader's core.
    pub rfs_moves: u64,
    /// NIC flow filters programmed by aRFS.
    pub arfs_filter_updates: u64,
    /// Flow state touched on another core than last time (cache transfers).
    pub handoffs: u64,
    /// Hand-offs per delivered packet.
    pub handoffs_per_packet: f64,
    /// Hand-offs beyond each flow's first (the first one is unavoidable
    /// while RFS learns the reader's core).
    pub handoffs_after_first: u64,
    /// Of the hand-offs, across sockets.
    pub cross_socket_handoffs: u64,
    /// Packets whose driver work ran on a socket other than the NIC's
    /// node: their descriptor and header lines crossed sockets.
    pub nic_remote_packets: u64,
    /// Packets delivered after a later packet of their flow.
    pub out_of_order: u64,
    /// Flows with at least one out-of-order delivery.
    pub flows_reordered: u64,
    /// Most out-of-order deliveries of any one flow.
    pub max_reorders_per_flow: u64,
    /// Thread migrations by the scheduler.
    pub migrations: u64,
}

/// Application counters.
#[derive(Clone, Debug, Serialize)]
pub struct AppMetrics {
    /// Threads.
    pub threads: u32,
    /// Reader wakeups.
    pub wakeups: u64,
    /// Wakeups per delivered packet.
    pub wakeups_per_packet: f64,
    /// Notification CPU time (waking, switching, waiting calls, signal
    /// frames, io_uring enters) per delivered packet, ns.
    pub notify_cpu_ns_per_packet: f64,
    /// Notification CPU time per wakeup, ns.
    pub notify_cpu_ns_per_wakeup: f64,
    /// Signals delivered to handlers.
    pub signal_deliveries: u64,
    /// Standard signals that coalesced into a pending one.
    pub signals_coalesced: u64,
    /// Real-time signals that overflowed the queue.
    pub rt_overflow: u64,
    /// `io_uring_enter` calls that reaped completions.
    pub uring_enters: u64,
}

/// TLB maintenance for the application process (zero-copy receive).
#[derive(Clone, Debug, Serialize)]
pub struct TlbMetrics {
    /// Unmaps whose flush had to reach other CPUs.
    pub shootdowns: u64,
    /// Flush IPIs sent (`CALL_FUNCTION_VECTOR`).
    pub shootdown_ipis: u64,
    /// Flush IPIs per message read.
    pub shootdown_ipis_per_message: f64,
    /// Flush requests the targets carried out.
    pub remote_flushes: u64,
    /// Acknowledgements the initiators saw.
    pub acks: u64,
    /// Single-page invalidations (`INVLPG`), local and remote.
    pub local_invlpg: u64,
    /// Full TLB flushes (above the single-page ceiling, or catching up).
    pub full_flushes: u64,
    /// CPUs skipped because they were in lazy-TLB mode.
    pub lazy_skipped: u64,
    /// Full flushes on returning from lazy mode to a stale TLB.
    pub lazy_catch_ups: u64,
    /// Pages mapped into the process.
    pub pages_remapped: u64,
    /// Pages unmapped again.
    pub pages_unmapped: u64,
    /// CPU time other CPUs spent in flush IPI handlers, ns.
    pub remote_flush_ns: f64,
}

/// Copies to user space.
#[derive(Clone, Debug, Serialize)]
pub struct CopyMetrics {
    /// Bytes copied.
    pub bytes: u64,
    /// CPU time of the copies, ns.
    pub cpu_ns: f64,
}

/// The application process: how it receives, its messages and threads.
#[derive(Clone, Debug, Serialize)]
pub struct ProcessMetrics {
    /// `copy` or `remap`.
    pub receive: crate::config::ReceiveMode,
    /// Bytes per read (0: datagrams).
    pub message_bytes: u32,
    /// Messages read.
    pub messages: u64,
    /// Latency of a message: from the arrival of the frame with its last
    /// byte to the end of its read, ns.
    pub message_latency_ns: irqlab_engine::LatencySummary,
    /// Its compute threads.
    pub compute_threads: u32,
    /// The cores they run on.
    pub compute_cores: Vec<u32>,
    /// CPU time they computed, ns.
    pub compute_ns: f64,
}

/// A VM (`[vm]`): its exits, the host's work for it, its vCPUs.
#[derive(Clone, Debug, Serialize)]
pub struct VmMetrics {
    /// How interrupts reach the guest.
    pub apic: crate::config::ApicMode,
    /// How the guest reaches its NIC (`assigned`, `virtio`, `emulated`).
    pub device: crate::config::DevicePath,
    /// VM exits by reason (`external_interrupt`, `hlt`, `msr_write`, …).
    pub exits: std::collections::BTreeMap<String, u64>,
    /// Host CPU time by exit reason (exit, handling, entry), ns.
    pub exit_ns: std::collections::BTreeMap<String, f64>,
    /// VM entries.
    pub entries: u64,
    /// Exits per delivered packet.
    pub exits_per_packet: f64,
    /// Host CPU time on the guest's behalf (exits, injections, wakeups, an
    /// emulated APIC's EOI exits, the device's exits, and a virtio or
    /// emulated NIC's back end) per delivered packet, ns.
    pub host_ns_per_packet: f64,
    /// Device interrupts the host forwarded to the guest (VFIO).
    pub injections: u64,
    /// Of which KVM posted in software (APICv).
    pub software_posted: u64,
    /// Posted-interrupt notifications the processor consumed in guest mode
    /// (no exit).
    pub notifications_in_guest: u64,
    /// PIR bits moved into the virtual APICs.
    pub pir_taken: u64,
    /// Halted vCPUs woken.
    pub wakeups: u64,
    /// Guest EOIs that exited (emulated APIC).
    pub eoi_exits: u64,
    /// Physical vectors the host took on the vCPUs' cores.
    pub physical_taken: u64,
    /// Halt polls that found an interrupt (no block, no wakeup).
    pub polls_successful: u64,
    /// Halt polls that ran out (the vCPU blocked).
    pub polls_failed: u64,
    /// Host CPU time spent polling, ns.
    pub poll_ns: f64,
    /// Times the competing host thread preempted a running vCPU (`vm.host_load`).
    pub preemptions: u64,
    /// Wakeups of a halted vCPU that waited for the competing thread's turn.
    pub wakeups_behind_host: u64,
    /// VMs sharing cores without posting: interrupts of another VM's
    /// assigned device that this VM's running vCPUs took (an exit each) on
    /// the cores they share, the host passing them to that VM.
    #[serde(skip_serializing_if = "is_zero")]
    pub vfio_passed: u64,
    /// Its own device's interrupts taken on a shared core by another VM's
    /// vCPU or by the idle host, and passed to it.
    #[serde(skip_serializing_if = "is_zero")]
    pub vfio_received: u64,
    /// Of which arrived while its vCPU did not hold its core (scheduled
    /// out or halted): pending in its virtual IRR or PIR until its next
    /// entry.
    #[serde(skip_serializing_if = "is_zero")]
    pub vfio_descheduled: u64,
    /// Each vCPU.
    pub vcpus: Vec<VcpuMetrics>,
    /// A virtio or emulated NIC's back end and the guest's side of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend: Option<BackendMetrics>,
}

/// Whether a counter is zero (left out of the JSON).
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A virtio or emulated NIC's host back end (`vm.backend`).
#[derive(Clone, Debug, Serialize)]
pub struct BackendMetrics {
    /// Its host core.
    pub core: u32,
    /// Frames the host received for the guest.
    pub received: u64,
    /// Of which dropped at the tap's queue (full while the thread lagged).
    pub dropped_backlog: u64,
    /// Frames it put into the guest's rings.
    pub frames: u64,
    /// Bytes it copied into guest buffers.
    pub copy_bytes: u64,
    /// Times it was woken from idle.
    pub wakeups: u64,
    /// Fraction of the run it was busy.
    pub busy_frac: f64,
    /// Its CPU time per delivered packet, ns.
    pub host_ns_per_packet: f64,
    /// irqfd signals it sent (the device's interrupts).
    pub irqfd_signals: u64,
    /// Of which KVM delivered to the guest.
    pub irqfd_injections: u64,
    /// virtio: times vhost found no RX buffer and asked for a kick.
    pub notify_enabled: u64,
    /// virtio: the guest's kicks (ioeventfd writes, each an `ept_misconfig` exit).
    pub kicks: u64,
    /// virtio: RX refills whose kick vhost suppressed.
    pub kicks_suppressed: u64,
    /// virtio: kicks the worker received.
    pub kicks_received: u64,
    /// emulated: guest register accesses (each an exit to the VMM in user space).
    pub device_exits: u64,
}

/// One vCPU.
#[derive(Clone, Debug, Serialize)]
pub struct VcpuMetrics {
    /// Its number in the guest.
    pub vcpu: u32,
    /// The host core it is pinned to.
    pub core: u32,
    /// Where it was at the end.
    pub mode: crate::virt::VcpuMode,
    /// Fraction of the run in guest mode, running.
    pub running_frac: f64,
    /// Fraction the host worked on its behalf.
    pub host_frac: f64,
    /// Fraction of the run preempted by the competing host thread (its
    /// turns and the switches).
    pub preempted_frac: f64,
    /// Times it was preempted.
    pub preemptions: u64,
    /// Time its wakeups waited for the competing thread's turn to end, ns.
    pub wait_behind_host_ns: f64,
    /// Fraction it was halted (blocked after HLT).
    pub halted_frac: f64,
    /// The guest kernel's own contexts, as fractions of the run.
    pub guest_busy_frac: GuestBusy,
    /// Its exits.
    pub exits: u64,
    /// Times it was woken from HLT.
    pub wakeups: u64,
}

/// A guest's time by its own contexts.
#[derive(Clone, Debug, Serialize)]
pub struct GuestBusy {
    /// Hard-IRQ handlers.
    pub hardirq: f64,
    /// Softirq.
    pub softirq: f64,
    /// Kernel threads.
    pub kthread: f64,
    /// Application threads.
    pub user: f64,
}

/// One CPU's `/proc/net/softnet_stat` line, the columns the model has.
#[derive(Clone, Debug, Serialize)]
pub struct SoftnetRow {
    /// The core.
    pub core: u32,
    /// Packets its polls processed (`processed`).
    pub processed: u64,
    /// Packets dropped at its full backlog (`dropped`).
    pub dropped: u64,
    /// `net_rx_action` runs that ended with work left (`time_squeeze`).
    pub time_squeeze: u64,
    /// RPS IPIs it received (`received_rps`).
    pub received_rps: u64,
}

/// One RX queue's counters, as `ethtool -S` shows them.
#[derive(Clone, Debug, Serialize)]
pub struct QueueRow {
    /// The queue.
    pub queue: u32,
    /// Frames the driver took (`rx_queue_N_packets`).
    pub packets: u64,
    /// Bytes of the frames the driver took (`rx_queue_N_bytes`).
    pub bytes: u64,
    /// Frames dropped at the queue: ring full, or a refused DMA.
    pub drops: u64,
    /// Interrupts the queue raised.
    pub interrupts: u64,
    /// The same per second.
    pub interrupts_per_s: f64,
    /// Its moderation at the end of the run (`ethtool -c`'s rx-usecs)…
    pub rx_usecs: u32,
    /// …and rx-frames; with `adaptive-rx`, the profile it settled on.
    pub rx_frames: u32,
    /// Times adaptive-rx rewrote its moderation.
    pub moderation_changes: u64,
    /// Frames whose buffer write the IOMMU refused while their descriptor
    /// came back completed (the driver discarded them).
    pub buffer_faults: u64,
}

/// `a / b`, or 0 when `b` is 0.
pub fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

impl Kernel {
    /// Per-CPU time by context over a run that ended at `end`. A guest's
    /// cores report the time in guest mode as `guest` and the host's work
    /// on its behalf as `kthread` (the guest's own contexts are in `vm`).
    pub fn report_cpus(&self, end: Time, platform: &Platform) -> Vec<CoreMetrics> {
        self.cpus
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let f = |ctx: Ctx| {
                    if end.0 == 0 { 0.0 } else { c.busy[ctx.idx()].0 as f64 / end.0 as f64 }
                };
                let busy: f64 = (0..N_CTX).map(|k| Ctx::ALL[k]).map(f).sum();
                let core = self.cores[i];
                let busy_frac = if let Some(v) = &self.virt {
                    // Other vCPUs holding a shared core are not this one's host work.
                    let away = if v.vcpus[i].shared { v.not_on_behalf(i, end) } else { irqlab_engine::Dur::ZERO };
                    let away = if end.0 == 0 { 0.0 } else { away.0 as f64 / end.0 as f64 };
                    BusyFrac {
                        hardirq: 0.0,
                        softirq: 0.0,
                        kthread: f(Ctx::Vmm) - away,
                        user: 0.0,
                        guest: f(Ctx::Hardirq) + f(Ctx::Softirq) + f(Ctx::Kthread) + f(Ctx::User),
                        idle: (1.0 - busy + away).max(0.0),
                    }
                } else {
                    BusyFrac {
                        hardirq: f(Ctx::Hardirq),
                        softirq: f(Ctx::Softirq),
                        kthread: f(Ctx::Kthread),
                        user: f(Ctx::User),
                        guest: 0.0,
                        idle: (1.0 - busy).max(0.0),
                    }
                };
                CoreMetrics {
                    core: core.0,
                    socket: platform.topo.socket_of(core),
                    busy_frac,
                    interrupts: self.stats.interrupts_per_cpu[i],
                }
            })
            .collect()
    }

    /// The IRQ descriptors as `/proc/interrupts` would list them.
    pub fn report_vectors(&self) -> Vec<VectorMetrics> {
        let level_flow = self.params.cfg.level_flow;
        let irq_of_queue = &self.adapter.irq_of_queue;
        let flows_on_queue = &self.flows_per_queue;
        self.irqs
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let queues: Vec<u32> = (0..irq_of_queue.len())
                    .filter(|q| irq_of_queue[*q] == Some(crate::ids::IrqId(i as u32)))
                    .map(|q| q as u32)
                    .collect();
                let names: Vec<String> = d
                    .actions
                    .iter()
                    .map(|a| match a {
                        // vfio-pci names its vectors after the device's PCI address.
                        super::genirq::IrqAction::NicQueue(n, q) if self.adapter.vfio.is_some() => {
                            format!("vfio-msix[{}](0000:{:02x}:00.0)", q.0, crate::ids::nic_rid(n.0).0 >> 8)
                        }
                        super::genirq::IrqAction::NicQueue(n, q) => format!("eth{}-TxRx-{}", n.0, q.0),
                        super::genirq::IrqAction::NicTx(n, q) => format!("eth{}-tx-{q}", n.0),
                        super::genirq::IrqAction::NicCause(n) => format!("eth{}", n.0),
                        super::genirq::IrqAction::LevelDevice(dev) => format!("level{dev}"),
                        super::genirq::IrqAction::DmarFault => "dmar0".to_owned(),
                    })
                    .collect();
                let mut per_cpu = d.count_per_cpu.clone();
                per_cpu.resize(self.cpus.len(), 0);
                VectorMetrics {
                    irq: i as u32,
                    chip: d.chip_name(level_flow),
                    name: names.join(","),
                    per_cpu,
                    core: self.cores[d.cpu.idx()].0,
                    vector: d.vector,
                    flows: queues.iter().map(|q| flows_on_queue[*q as usize]).sum(),
                    queues,
                    count: d.count,
                    unhandled: d.unhandled,
                    while_disabled: d.while_disabled,
                    disabled_at_ms: d.disabled_at.map(|t| t.as_secs_f64() * 1e3),
                    polled: d.polled,
                }
            })
            .collect()
    }

    /// `/proc/net/softnet_stat`, one line per CPU.
    pub fn report_softnet(&self) -> Vec<SoftnetRow> {
        self.softnet
            .iter()
            .enumerate()
            .map(|(i, s)| SoftnetRow {
                core: self.cores[i].0,
                processed: s.counts.processed,
                dropped: s.counts.dropped_backlog,
                time_squeeze: s.counts.time_squeeze,
                received_rps: self.stats.sysvec.cal[i],
            })
            .collect()
    }

    /// `/proc/interrupts`' system-vector rows, one count per CPU.
    pub fn report_sysvec(&self) -> std::collections::BTreeMap<&'static str, Vec<u64>> {
        let s = &self.stats.sysvec;
        let mut rows = std::collections::BTreeMap::new();
        rows.insert("CAL", s.cal.clone());
        rows.insert("RES", s.res.clone());
        rows.insert("TLB", s.tlb.clone());
        rows.insert("PMN", s.pmn.clone());
        if let Some(v) = &self.virt {
            rows.insert("PIN", v.vcpus.iter().map(|vc| vc.notifications).collect());
            rows.insert("PIW", v.vcpus.iter().map(|vc| vc.wakeups).collect());
        }
        rows
    }

    /// NAPI and softirq counters.
    pub fn report_napi(&self) -> NapiMetrics {
        let sum =
            |f: fn(&super::softnet::SoftnetCounts) -> u64| -> u64 { self.softnet.iter().map(|s| f(&s.counts)).sum() };
        let polls = sum(|c| c.polls);
        NapiMetrics {
            polls,
            packets_per_poll: ratio(sum(|c| c.packets), polls),
            full_polls: sum(|c| c.full_polls),
            softirq_rounds: sum(|c| c.rounds),
            time_squeeze: sum(|c| c.time_squeeze),
            ksoftirqd_wakeups: sum(|c| c.ksoftirqd_wakeups),
            missed: self.stats.napi_missed,
        }
    }

    /// Steering and locality.
    pub fn report_steering(&self) -> SteeringMetrics {
        let st = &self.stats;
        let rc = &self.rps.counts;
        SteeringMetrics {
            rps_enqueued: rc.enqueued,
            rps_remote: rc.remote,
            rfs_moves: rc.rfs_moves,
            arfs_filter_updates: rc.arfs_filter_updates,
            handoffs: st.handoffs,
            handoffs_per_packet: ratio(st.handoffs, st.delivered),
            handoffs_after_first: st.handoffs - self.flow_counts.flows_handed_off(),
            cross_socket_handoffs: st.cross_socket_handoffs,
            nic_remote_packets: st.nic_remote_packets,
            out_of_order: st.out_of_order,
            flows_reordered: self.flow_counts.flows_reordered(),
            max_reorders_per_flow: self.flow_counts.max_reorders(),
            migrations: self.threads.iter().map(|t| t.migrations).sum(),
        }
    }

    /// The applications.
    pub fn report_apps(&self) -> AppMetrics {
        let sum = |f: fn(&crate::workload::notify::NotifyCounts) -> u64| -> u64 {
            self.threads.iter().map(|t| f(&t.notify.counts)).sum()
        };
        let delivered = self.stats.delivered;
        let wakeups: u64 = self.threads.iter().map(|t| t.wakeups).sum();
        let notify_ps = sum(|c| c.notify_cpu.as_ps());
        AppMetrics {
            threads: self.threads.len() as u32,
            wakeups,
            wakeups_per_packet: ratio(wakeups, delivered),
            notify_cpu_ns_per_packet: ratio(notify_ps, delivered) / 1e3,
            notify_cpu_ns_per_wakeup: ratio(notify_ps, wakeups) / 1e3,
            signal_deliveries: sum(|c| c.signal_deliveries),
            signals_coalesced: sum(|c| c.signals_coalesced),
            rt_overflow: sum(|c| c.rt_overflow),
            uring_enters: sum(|c| c.uring_enters),
        }
    }

    /// TLB maintenance.
    pub fn report_tlb(&self) -> TlbMetrics {
        let c = &self.tlb.counts;
        TlbMetrics {
            shootdowns: c.shootdowns,
            shootdown_ipis: c.shootdown_ipis,
            shootdown_ipis_per_message: ratio(c.shootdown_ipis, self.stats.messages),
            remote_flushes: c.flushed,
            acks: c.acks,
            local_invlpg: c.local_invlpg,
            full_flushes: c.full_flushes,
            lazy_skipped: c.lazy_skipped,
            lazy_catch_ups: c.lazy_catch_ups,
            pages_remapped: c.pages_remapped,
            pages_unmapped: c.pages_unmapped,
            remote_flush_ns: c.remote_flush_ps as f64 / 1e3,
        }
    }

    /// Copies to user space.
    pub fn report_copy(&self) -> CopyMetrics {
        CopyMetrics { bytes: self.stats.copy_bytes, cpu_ns: self.stats.copy_ps as f64 / 1e3 }
    }

    /// The application process.
    pub fn report_process(&self) -> ProcessMetrics {
        ProcessMetrics {
            receive: if self.zc.remap { crate::config::ReceiveMode::Remap } else { crate::config::ReceiveMode::Copy },
            message_bytes: self.threads.first().map_or(0, |t| t.msg_bytes),
            messages: self.stats.messages,
            message_latency_ns: self.stats.message_latency.summary(),
            compute_threads: self.compute.len() as u32,
            compute_cores: self.compute.iter().map(|c| self.cores[c.cpu.idx()].0).collect(),
            compute_ns: self.compute.iter().map(|c| c.work.as_ps() as f64 / 1e3).sum(),
        }
    }

    /// The VM this kernel is the guest of.
    pub fn report_vm(
        &self,
        end: Time,
        delivered: u64,
        backend: Option<&crate::devices::nic::backend::Backend>,
    ) -> Option<VmMetrics> {
        let v = self.virt.as_ref()?;
        let frac = |d: irqlab_engine::Dur| if end.0 == 0 { 0.0 } else { d.0 as f64 / end.0 as f64 };
        let vcpus = v
            .vcpus
            .iter()
            .enumerate()
            .map(|(i, vc)| {
                let c = &self.cpus[i];
                let b = |ctx: Ctx| frac(c.busy[ctx.idx()]);
                let halted = vc.halted + vc.halted_since.map_or(irqlab_engine::Dur::ZERO, |s| end.since(s));
                let guest = b(Ctx::Hardirq) + b(Ctx::Softirq) + b(Ctx::Kthread) + b(Ctx::User);
                VcpuMetrics {
                    vcpu: i as u32,
                    core: self.cores[i].0,
                    mode: vc.mode,
                    running_frac: guest,
                    // The competing thread's turns are not on the guest's behalf.
                    host_frac: b(Ctx::Vmm) - frac(v.not_on_behalf(i, end)),
                    // The competing thread's turns; on a shared core, the
                    // time other vCPUs held it while this one was runnable.
                    preempted_frac: frac(
                        vc.preempted
                            + vc.descheduled
                            + vc.descheduled_since.map_or(irqlab_engine::Dur::ZERO, |s| end.since(s)),
                    ),
                    preemptions: vc.preemptions,
                    wait_behind_host_ns: vc.wait_behind_host.as_ps() as f64 / 1e3,
                    halted_frac: frac(halted),
                    guest_busy_frac: GuestBusy {
                        hardirq: b(Ctx::Hardirq),
                        softirq: b(Ctx::Softirq),
                        kthread: b(Ctx::Kthread),
                        user: b(Ctx::User),
                    },
                    exits: vc.exits,
                    wakeups: vc.wakeups,
                }
            })
            .collect();
        // The host's frames, plus the exits that run inside the guest's own
        // frames: an emulated APIC's EOIs and the guest's IPIs (`msr_write`),
        // a virtio kick or an emulated NIC's register access
        // (`ept_misconfig`) — and the back end's busy time.
        let in_frames = ["msr_write", "ept_misconfig"];
        let eoi_ps = in_frames.iter().map(|r| v.counts.exit_ps.get(*r).copied().unwrap_or(0)).sum::<u64>()
            + backend.map_or(0, |b| b.counts.busy_ps);
        let turns: u64 = (0..v.vcpus.len()).map(|i| v.not_on_behalf(i, end).as_ps()).sum();
        let host_ps: u64 = self.cpus.iter().map(|c| c.busy[Ctx::Vmm.idx()].as_ps()).sum::<u64>() + eoi_ps - turns;
        let n = &v.counts;
        let backend = backend.map(|b| BackendMetrics {
            core: b.core.0,
            received: b.counts.received,
            dropped_backlog: b.counts.dropped_backlog,
            frames: b.counts.frames,
            copy_bytes: b.counts.copy_bytes,
            wakeups: b.counts.wakeups,
            busy_frac: frac(irqlab_engine::Dur(b.counts.busy_ps)).min(1.0),
            host_ns_per_packet: ratio(b.counts.busy_ps, delivered) / 1e3,
            irqfd_signals: b.counts.irqfd_signals,
            irqfd_injections: v.counts.irqfd_injections,
            notify_enabled: b.counts.notify_enabled,
            kicks: v.counts.kicks,
            kicks_suppressed: v.counts.kicks_suppressed,
            kicks_received: b.counts.kicks_received,
            device_exits: v.counts.device_exits,
        });
        Some(VmMetrics {
            apic: v.apic,
            device: v.device,
            backend,
            exits: n.exits.clone(),
            exit_ns: n.exit_ps.iter().map(|(k, ps)| (k.clone(), *ps as f64 / 1e3)).collect(),
            entries: n.entries,
            exits_per_packet: ratio(v.total_exits(), delivered),
            host_ns_per_packet: ratio(host_ps, delivered) / 1e3,
            injections: n.injections,
            software_posted: n.software_posted,
            notifications_in_guest: n.notifications_in_guest,
            pir_taken: n.pir_taken,
            wakeups: n.wakeups,
            eoi_exits: n.eoi_exits,
            physical_taken: n.physical_taken,
            polls_successful: n.polls_successful,
            polls_failed: n.polls_failed,
            poll_ns: n.poll_ps as f64 / 1e3,
            preemptions: n.preemptions,
            wakeups_behind_host: n.wakeups_behind_host,
            vfio_passed: n.vfio_passed,
            vfio_received: n.vfio_received,
            vfio_descheduled: n.vfio_descheduled,
            vcpus,
        })
    }

    /// Packets held inside the kernel: backlogs and polls in progress, and
    /// sockets and `recv` bursts.
    pub fn held(&self) -> (u64, u64) {
        let in_polls: u64 = self.softnet.iter().map(|sn| sn.held()).sum();
        let in_sockets: u64 = self.threads.iter().map(|t| t.queue.len() as u64 + t.burst.len() as u64).sum();
        (in_polls, in_sockets)
    }

    /// Packets dropped at full backlogs.
    pub fn dropped_backlog(&self) -> u64 {
        self.softnet.iter().map(|s| s.counts.dropped_backlog).sum()
    }
}
