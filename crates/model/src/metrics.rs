//! Run statistics and the metrics document (schema: docs/metrics.md).
//!
//! [`RunStats`] is what handlers count while the machine runs; [`collect`]
//! turns it, with the subsystems' own counters, into [`Metrics`] and checks
//! the conservation laws (design brief §9): every packet offered is
//! delivered, dropped for a named reason or still in flight; every interrupt
//! raised is sent or held in the PBA; every message sent is accepted,
//! coalesced in the IRR, rejected or blocked; every accepted vector is
//! serviced or still requested.

use crate::config::Scenario;
use crate::ids::{CoreId, IrqId};
use crate::machine::Machine;
use crate::platform::cpu::{Ctx, N_CTX};
use irqlab_engine::{LatencyHistogram, LatencySummary, Law, LawViolation, Time};
use serde::Serialize;
use std::collections::BTreeMap;

/// MSI-X function counters.
#[derive(Clone, Debug, Default, Serialize)]
pub struct MsixStats {
    /// Interrupts the queues raised (notifies).
    pub raised: u64,
    /// Messages written to the bus.
    pub sent: u64,
    /// Notifies that found the vector masked and set its pending bit.
    pub pending_set: u64,
    /// Notifies that found the vector masked with its pending bit already set.
    pub pending_coalesced: u64,
    /// Pending bits released by an unmask and sent then.
    pub released: u64,
    /// Notifies for a vector beyond the table (a model bug if non-zero).
    pub no_entry: u64,
}

/// IPI counters.
#[derive(Clone, Debug, Default, Serialize)]
pub struct IpiStats {
    /// IPIs sent, all kinds.
    pub sent: u64,
    /// RPS backlog kicks (`CALL_FUNCTION_SINGLE_VECTOR`).
    pub rps: u64,
    /// Reschedule IPIs waking an idle core for a woken thread.
    pub reschedule: u64,
    /// RPS IPIs taken by their target.
    pub received: u64,
}

/// MSI capability counters.
#[derive(Clone, Debug, Default, Serialize)]
pub struct MsiCapStats {
    /// Queue interrupts raised through the single MSI.
    pub raised: u64,
    /// Messages sent.
    pub sent: u64,
    /// Raised before the driver programmed the capability (dropped).
    pub unprogrammed: u64,
}

/// IO-APIC counters.
#[derive(Clone, Debug, Default, Serialize)]
pub struct IoapicStats {
    /// Messages the IO-APIC sent (assertions, unmasks, EOI re-deliveries).
    pub messages: u64,
    /// Line changes on a pin the IO-APIC does not have (a bug if non-zero).
    pub bad_pin: u64,
    /// Re-deliveries QEMU's successive-IRQ limiter delayed by 10 ms.
    pub limiter_delays: u64,
}

/// Platform-side MSI counters.
#[derive(Clone, Debug, Default, Serialize)]
pub struct MsiStats {
    /// Messages that reached the interrupt window.
    pub arrived: u64,
    /// Accepted into a local APIC's IRR.
    pub accepted: u64,
    /// Found their vector already requested in the IRR.
    pub irr_coalesced: u64,
    /// Rejected by the APIC: vector 0–15 (ESR "receive illegal vector").
    pub illegal_vector: u64,
    /// Blocked: the address/data did not decode as a compatibility-format MSI.
    pub blocked_decode: u64,
    /// Blocked: the destination APIC ID names no core.
    pub blocked_no_apic: u64,
    /// Dropped: the destination APIC is software-disabled.
    pub apic_disabled: u64,
}

/// Counters kept while the machine runs.
#[derive(Clone, Debug)]
pub struct RunStats {
    /// Wire-to-application latency.
    pub latency: LatencyHistogram,
    /// Packets read by applications.
    pub delivered: u64,
    /// Their bytes.
    pub delivered_bytes: u64,
    /// Dropped: socket receive buffer full.
    pub dropped_socket_full: u64,
    /// Dropped: no socket reads the flow.
    pub dropped_no_socket: u64,
    /// Hard interrupts taken per core.
    pub interrupts_per_core: Vec<u64>,
    /// The IRQ that signals each queue.
    pub irq_of_queue: Vec<Option<IrqId>>,
    /// MSI capability counters (`msi` mode).
    pub msi_cap: MsiCapStats,
    /// Cause bits raised on the INTx line (`intx` mode).
    pub intx_raised: u64,
    /// IO-APIC counters.
    pub ioapic: IoapicStats,
    /// IO-APIC re-deliveries at EOI (line still asserted).
    pub ioapic_eoi_redeliveries: u64,
    /// IPI counters.
    pub ipis: IpiStats,
    /// Flow state touched on a different core than last time.
    pub handoffs: u64,
    /// Of which across sockets.
    pub cross_socket_handoffs: u64,
    /// Packets delivered after a later packet of the same flow.
    pub out_of_order: u64,
    /// Queues left without a vector (core's vector space full).
    pub vector_alloc_failures: u64,
    /// Vectors taken with no action wired.
    pub spurious_vectors: u64,
    /// `napi_schedule` calls that found the instance already scheduled.
    pub napi_missed: u64,
    /// MSI-X counters.
    pub msix: MsixStats,
    /// MSI counters.
    pub msi: MsiStats,
}

impl RunStats {
    /// Empty counters for a machine.
    pub fn new(cores: usize, queues: usize) -> RunStats {
        RunStats {
            latency: LatencyHistogram::new(),
            delivered: 0,
            delivered_bytes: 0,
            dropped_socket_full: 0,
            dropped_no_socket: 0,
            interrupts_per_core: vec![0; cores],
            irq_of_queue: vec![None; queues],
            msi_cap: MsiCapStats::default(),
            intx_raised: 0,
            ioapic: IoapicStats::default(),
            ioapic_eoi_redeliveries: 0,
            ipis: IpiStats::default(),
            handoffs: 0,
            cross_socket_handoffs: 0,
            out_of_order: 0,
            vector_alloc_failures: 0,
            spurious_vectors: 0,
            napi_missed: 0,
            msix: MsixStats::default(),
            msi: MsiStats::default(),
        }
    }
}

/// The metrics document of one run.
#[derive(Clone, Debug, Serialize)]
pub struct Metrics {
    /// Scenario name.
    pub scenario: String,
    /// Master seed.
    pub seed: u64,
    /// Simulated seconds.
    pub duration_s: f64,
    /// Packet accounting.
    pub packets: PacketMetrics,
    /// Rates.
    pub throughput: Throughput,
    /// Wire-to-application latency, nanoseconds.
    pub latency_ns: LatencySummary,
    /// Per-core CPU use.
    pub cpu: Vec<CoreMetrics>,
    /// Interrupt counts.
    pub interrupts: InterruptMetrics,
    /// Inter-processor interrupts.
    pub ipis: IpiMetrics,
    /// RPS/RFS/aRFS and locality.
    pub steering: SteeringMetrics,
    /// NAPI and softirq counters.
    pub napi: NapiMetrics,
    /// Application counters.
    pub apps: AppMetrics,
    /// Engine work.
    pub engine: EngineMetrics,
    /// Level-triggered devices (`[[devices]]`).
    pub devices: Vec<DeviceMetrics>,
    /// The transmit path's doorbell simulation (`[tx]`), if any.
    pub tx: Option<crate::memory::DoorbellSimStats>,
    /// Conservation laws: empty when all hold.
    pub law_violations: Vec<LawViolation>,
}

/// One level-triggered device.
#[derive(Clone, Debug, Serialize)]
pub struct DeviceMetrics {
    /// Its name.
    pub name: String,
    /// Its IO-APIC pin.
    pub pin: u32,
    /// Event accounting.
    #[serde(flatten)]
    pub counts: crate::devices::level::DeviceCounts,
    /// Whether its cause is still set at the end.
    pub pending: bool,
}

/// Packet accounting: offered = delivered + Σ dropped + in_flight.
#[derive(Clone, Debug, Serialize)]
pub struct PacketMetrics {
    /// Frames that reached the NIC's rings (or were dropped there).
    pub offered: u64,
    /// Frames read by applications.
    pub delivered: u64,
    /// Drops by reason.
    pub dropped: BTreeMap<&'static str, u64>,
    /// Frames in rings, polls, sockets or reads at the end.
    pub in_flight: u64,
}

/// Rates over the run.
#[derive(Clone, Debug, Serialize)]
pub struct Throughput {
    /// Offered packets per second.
    pub offered_pps: f64,
    /// Delivered packets per second.
    pub delivered_pps: f64,
    /// Delivered frame bits per second, in Gbit/s.
    pub delivered_gbps: f64,
}

/// One core's CPU use.
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

/// Interrupt counts.
#[derive(Clone, Debug, Serialize)]
pub struct InterruptMetrics {
    /// Hard interrupts taken, all cores.
    pub total: u64,
    /// Interrupts per delivered packet.
    pub per_packet: f64,
    /// Interrupts per second.
    pub per_second: f64,
    /// Hard interrupts per core.
    pub per_core: Vec<u64>,
    /// Per IRQ descriptor (one vector each): chip, routing, counts.
    pub per_vector: Vec<VectorMetrics>,
    /// MSI-X function counters.
    pub msix: MsixStats,
    /// MSI capability counters.
    pub msi_cap: MsiCapStats,
    /// Cause bits raised on the INTx line.
    pub intx_raised: u64,
    /// IO-APIC counters.
    pub ioapic: IoapicStats,
    /// IO-APIC re-deliveries because the line was still asserted at EOI.
    pub ioapic_eoi_redeliveries: u64,
    /// Interrupts that no handler claimed (`IRQ_NONE`).
    pub unhandled: u64,
    /// IRQs disabled by the "nobody cared" rule.
    pub lines_disabled: u64,
    /// IRQ moves by the irqbalance-like rebalancer.
    pub affinity_moves: u64,
    /// Moves abandoned for lack of a free vector on the target core.
    pub affinity_failed_moves: u64,
    /// Platform MSI counters.
    pub msi: MsiStats,
    /// Vectors taken with nothing wired.
    pub spurious: u64,
}

/// One IRQ descriptor and its vector.
#[derive(Clone, Debug, Serialize)]
pub struct VectorMetrics {
    /// IRQ number (order of `request_irq`).
    pub irq: u32,
    /// Chip and flow, as `/proc/interrupts` names them.
    pub chip: &'static str,
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

/// IPIs.
#[derive(Clone, Debug, Serialize)]
pub struct IpiMetrics {
    /// IPIs sent, all kinds.
    pub total: u64,
    /// IPIs per delivered packet.
    pub per_packet: f64,
    /// RPS backlog kicks.
    pub rps: u64,
    /// Reschedule IPIs to idle cores.
    pub reschedule: u64,
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
    /// Packets delivered after a later packet of their flow.
    pub out_of_order: u64,
    /// Flows with at least one out-of-order delivery.
    pub flows_reordered: u64,
    /// Most out-of-order deliveries of any one flow.
    pub max_reorders_per_flow: u64,
    /// Thread migrations by the scheduler.
    pub migrations: u64,
}

/// NAPI and softirq counters, summed over cores.
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

/// Engine work measures.
#[derive(Clone, Debug, Serialize)]
pub struct EngineMetrics {
    /// Events processed.
    pub events: u64,
    /// Events per offered packet.
    pub events_per_packet: f64,
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Builds the metrics of a finished run and checks its laws.
pub(crate) fn collect(m: &Machine, s: &Scenario, end: Time, events: u64) -> Metrics {
    let st = &m.stats;
    let secs = end.as_secs_f64();
    let offered: u64 = m.nic.queues.iter().map(|q| q.offered).sum();
    let ring_full: u64 = m.nic.queues.iter().map(|q| q.dropped_ring_full).sum();
    let in_rings: u64 = m.nic.queues.iter().map(|q| q.in_ring()).sum();
    let in_polls: u64 =
        m.softnet.iter().map(|sn| (sn.batch.len() + sn.isr_batch.len() + sn.backlog.len()) as u64).sum();
    let backlog_full: u64 = m.softnet.iter().map(|sn| sn.dropped_backlog).sum();
    let in_sockets: u64 = m.threads.iter().map(|t| t.queue.len() as u64 + t.burst.len() as u64).sum();
    let in_flight = in_rings + in_polls + in_sockets;
    let mut dropped = BTreeMap::new();
    dropped.insert("rx_ring_full", ring_full);
    dropped.insert("socket_full", st.dropped_socket_full);
    dropped.insert("no_socket", st.dropped_no_socket);
    dropped.insert("backlog_full", backlog_full);

    let mut laws = vec![
        Law::new("packets", "offered", offered)
            .part("delivered", st.delivered)
            .part("dropped.rx_ring_full", ring_full)
            .part("dropped.socket_full", st.dropped_socket_full)
            .part("dropped.no_socket", st.dropped_no_socket)
            .part("dropped.backlog_full", backlog_full)
            .part("in_flight", in_flight),
        Law::new("msix notifies", "raised + released", st.msix.raised + st.msix.released)
            .part("sent", st.msix.sent)
            .part("pending_set", st.msix.pending_set)
            .part("pending_coalesced", st.msix.pending_coalesced)
            .part("no_entry", st.msix.no_entry),
    ];
    laws.push(
        Law::new("messages", "arrived", st.msi.arrived)
            .part("accepted", st.msi.accepted)
            .part("irr_coalesced", st.msi.irr_coalesced)
            .part("illegal_vector", st.msi.illegal_vector)
            .part("blocked_decode", st.msi.blocked_decode)
            .part("blocked_no_apic", st.msi.blocked_no_apic)
            .part("apic_disabled", st.msi.apic_disabled),
    );
    let taken: u64 = st.interrupts_per_core.iter().sum();
    let still_requested: u64 =
        m.lapics.iter().map(|l| l.irr().iter().map(|r| r.count_ones() as u64).sum::<u64>()).sum();
    laws.push(Law::new("apic", "accepted", st.msi.accepted).part("taken", taken).part("still_in_irr", still_requested));
    for d in &m.devices {
        laws.push(
            Law::new(&format!("device {} events", d.cfg.name), "events", d.counts.events)
                .part("serviced", d.counts.serviced)
                .part("coalesced", d.counts.coalesced)
                .part("pending", d.cause as u64),
        );
    }
    let law_violations: Vec<LawViolation> = laws.iter().filter_map(|l| l.check().err()).collect();

    let cpu = m
        .cpus
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let f = |ctx: Ctx| {
                if end.0 == 0 { 0.0 } else { c.busy[ctx.idx()].0 as f64 / end.0 as f64 }
            };
            let busy: f64 = (0..N_CTX).map(|k| Ctx::ALL[k]).map(f).sum();
            CoreMetrics {
                core: i as u32,
                socket: m.topo.socket_of(CoreId(i as u32)),
                busy_frac: BusyFrac {
                    hardirq: f(Ctx::Hardirq),
                    softirq: f(Ctx::Softirq),
                    kthread: f(Ctx::Kthread),
                    user: f(Ctx::User),
                    guest: 0.0,
                    idle: (1.0 - busy).max(0.0),
                },
                interrupts: st.interrupts_per_core[i],
            }
        })
        .collect();
    let polls: u64 = m.softnet.iter().map(|s| s.polls).sum();
    let polled: u64 = m.softnet.iter().map(|s| s.packets).sum();
    let wakeups: u64 = m.threads.iter().map(|t| t.wakeups).sum();
    Metrics {
        scenario: s.name.clone(),
        seed: s.seed,
        duration_s: secs,
        packets: PacketMetrics { offered, delivered: st.delivered, dropped, in_flight },
        throughput: Throughput {
            offered_pps: offered as f64 / secs,
            delivered_pps: st.delivered as f64 / secs,
            delivered_gbps: st.delivered_bytes as f64 * 8.0 / secs / 1e9,
        },
        latency_ns: st.latency.summary(),
        cpu,
        interrupts: InterruptMetrics {
            total: taken,
            per_packet: ratio(taken, st.delivered),
            per_second: taken as f64 / secs,
            per_core: st.interrupts_per_core.clone(),
            per_vector: m
                .irqs
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    let queues: Vec<u32> = (0..st.irq_of_queue.len())
                        .filter(|q| st.irq_of_queue[*q] == Some(IrqId(i as u32)))
                        .map(|q| q as u32)
                        .collect();
                    VectorMetrics {
                        irq: i as u32,
                        chip: d.chip.name(m.level_flow),
                        core: d.core.0,
                        vector: d.vector,
                        flows: m.flows.iter().filter(|f| queues.contains(&f.queue.0)).count() as u32,
                        queues,
                        count: d.count,
                        unhandled: d.unhandled,
                        while_disabled: d.while_disabled,
                        disabled_at_ms: d.disabled_at.map(|t| t.as_secs_f64() * 1e3),
                        polled: d.polled,
                    }
                })
                .collect(),
            msix: st.msix.clone(),
            msi_cap: st.msi_cap.clone(),
            intx_raised: st.intx_raised,
            ioapic: st.ioapic.clone(),
            ioapic_eoi_redeliveries: st.ioapic_eoi_redeliveries,
            unhandled: m.irqs.iter().map(|d| d.unhandled).sum(),
            lines_disabled: m.irqs.iter().filter(|d| d.spurious_disabled).count() as u64,
            affinity_moves: m.balance.moves,
            affinity_failed_moves: m.balance.failed_moves,
            msi: st.msi.clone(),
            spurious: st.spurious_vectors,
        },
        ipis: IpiMetrics {
            total: st.ipis.sent,
            per_packet: ratio(st.ipis.sent, st.delivered),
            rps: st.ipis.rps,
            reschedule: st.ipis.reschedule,
        },
        steering: SteeringMetrics {
            rps_enqueued: m.rps.enqueued,
            rps_remote: m.rps.remote,
            rfs_moves: m.rps.rfs_moves,
            arfs_filter_updates: m.rps.arfs_filter_updates,
            handoffs: st.handoffs,
            handoffs_per_packet: ratio(st.handoffs, st.delivered),
            handoffs_after_first: m.flow_handoffs.iter().map(|h| h.saturating_sub(1) as u64).sum(),
            cross_socket_handoffs: st.cross_socket_handoffs,
            out_of_order: st.out_of_order,
            flows_reordered: m.flow_reorders.iter().filter(|r| **r > 0).count() as u64,
            max_reorders_per_flow: m.flow_reorders.iter().copied().max().unwrap_or(0) as u64,
            migrations: m.threads.iter().map(|t| t.migrations).sum(),
        },
        napi: NapiMetrics {
            polls,
            packets_per_poll: ratio(polled, polls),
            full_polls: m.softnet.iter().map(|s| s.full_polls).sum(),
            softirq_rounds: m.softnet.iter().map(|s| s.rounds).sum(),
            time_squeeze: m.softnet.iter().map(|s| s.time_squeeze).sum(),
            ksoftirqd_wakeups: m.softnet.iter().map(|s| s.ksoftirqd_wakeups).sum(),
            missed: st.napi_missed,
        },
        apps: {
            let sum = |f: fn(&crate::workload::notify::NotifyCounts) -> u64| -> u64 {
                m.threads.iter().map(|t| f(&t.notify.counts)).sum()
            };
            let notify_ps = sum(|c| c.notify_cpu.as_ps());
            AppMetrics {
                threads: m.threads.len() as u32,
                wakeups,
                wakeups_per_packet: ratio(wakeups, st.delivered),
                notify_cpu_ns_per_packet: ratio(notify_ps, st.delivered) / 1e3,
                notify_cpu_ns_per_wakeup: ratio(notify_ps, wakeups) / 1e3,
                signal_deliveries: sum(|c| c.signal_deliveries),
                signals_coalesced: sum(|c| c.signals_coalesced),
                rt_overflow: sum(|c| c.rt_overflow),
                uring_enters: sum(|c| c.uring_enters),
            }
        },
        engine: EngineMetrics { events, events_per_packet: ratio(events, offered) },
        devices: m
            .devices
            .iter()
            .map(|d| DeviceMetrics {
                name: d.cfg.name.clone(),
                pin: d.cfg.pin,
                counts: d.counts.clone(),
                pending: d.cause,
            })
            .collect(),
        tx: None,
        law_violations,
    }
}
