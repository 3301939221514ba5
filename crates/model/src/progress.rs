//! The progress law: no packet waits forever for a wakeup.
//!
//! A conservation law cannot see a packet that sits in a ring, a backlog or
//! a socket because nothing will ever wake its consumer — it is "in
//! flight" for ever. So after a run the machine stops the traffic (no frame
//! arrives after the run's end; level devices fall silent) and keeps
//! running for up to [`DRAIN_BOUND`], long enough for every timer the model
//! has (the 100 ms spurious poller, the QEMU limiter's 10 ms delay). A
//! healthy machine empties in microseconds. A packet still inside after the
//! drain has waited at least the bound with no new work arriving; if the
//! CPU that should consume it is idle, nothing is scheduled to wake it: a
//! lost wakeup, and a violation that names each place still holding
//! packets and the state of its consumer.
//!
//! Three hazards of real systems also keep packets inside for good; they
//! are reported (with their reason) rather than flagged:
//! * an **interrupt storm** that never ends — e.g. a level line re-delivered
//!   at every EOI with "nobody cared" switched off (`noirqdebug`): the
//!   consumer's CPU is busy taking interrupts the whole drain (any consumer
//!   whose CPU is still busy at the end of the drain is working, not
//!   waiting for a wakeup: it is reported the same way);
//! * an **edge-triggered INTx line held asserted** — the driver never lets
//!   it fall (`driver.level_eoi = "before_clear"` on an edge RTE), so no new
//!   edge comes and the NIC's interrupts are lost: the reason PCI INTx is
//!   level-triggered;
//! * **frame-count-only coalescing** (`rx-frames` N with `rx-usecs` 0, as
//!   ethtool's rule allows): fewer than N frames wait for frames that never
//!   come.
//!
//! A consumer throttled by its cgroup's `cpu.max` waits for the period
//! timer, not a wakeup: packets a slow, throttled consumer has not reached
//! by the end of the drain are reported with that reason.
//!
//! Packets a consumer holds back by its own rule are not stuck: an io_uring
//! reader waiting for `wait_nr` completions that will never come.

use crate::config::InterruptMode;
use crate::devices::nic::Nic;
use crate::ids::CpuId;
use crate::kernel::Kernel;
use crate::kernel::softnet::PollItem;
use crate::platform::Platform;
use crate::workload::app::ThreadState;
use irqlab_engine::{Dur, LawViolation, Time};
use serde::Serialize;

/// How long the machine runs on, without traffic, before a packet still
/// inside counts as stuck: three periods of the spurious-IRQ poller.
pub const DRAIN_BOUND: Dur = Dur::from_ms(300);
/// Interrupts a CPU takes during the drain for it to count as storming
/// (one every 300 µs; a quiet machine takes none).
pub const STORM_INTERRUPTS: u64 = 1000;

/// What the drain after the run found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Progress {
    /// Simulated milliseconds the machine ran on without traffic.
    pub drained_ms: f64,
    /// Packets still inside at the end of the drain.
    pub stuck: u64,
    /// The modelled hazard that holds them, if one does.
    pub reason: Option<String>,
}

/// Frames the sender posted that the NIC has not transmitted.
fn tx_untransmitted(nics: &[Nic], kernel: &Kernel) -> u64 {
    match (&kernel.sender, nics.first().and_then(|n| n.tx.first())) {
        (Some(s), Some(q)) => s.posted.saturating_sub(q.head()),
        _ => 0,
    }
}

/// Packets still inside the machine that a consumer could take.
pub fn packets_inside(nics: &[Nic], kernel: &Kernel) -> u64 {
    let rings: u64 = nics.iter().flat_map(|n| &n.queues).map(|q| q.in_ring()).sum();
    let softnet: u64 = kernel.softnet.iter().map(|s| s.held()).sum();
    let readable: u64 = kernel
        .threads
        .iter()
        .filter(|t| t.pmd.is_some() || !t.notify.must_wait(t.readable()))
        .map(|t| (t.queue.len() + t.burst.len()) as u64)
        .sum();
    let waiting = kernel
        .sender
        .as_ref()
        .filter(|s| s.state == crate::kernel::sender::SenderState::RingFull)
        .map_or(0, |s| s.pending * s.batch as u64);
    rings + softnet + readable + tx_untransmitted(nics, kernel) + waiting
}

/// One place still holding packets, the CPU that should take them, and
/// the modelled hazard that holds them, if one does.
struct Stuck {
    what: String,
    packets: u64,
    consumer: CpuId,
    hazard: Option<&'static str>,
}

const EDGE_LINE_HELD: &str = "edge-triggered INTx line held asserted: no new edge, the NIC's interrupts are lost";
const THROTTLED: &str =
    "its thread is throttled by its cgroup's cpu.max until the next period: a slow consumer, not a lost wakeup";
const FRAMES_ONLY: &str = "rx-frames coalescing with rx-usecs 0: the last frames wait for frames that never come";

/// Every place still holding packets.
fn stuck_places(nics: &[Nic], kernel: &Kernel, platform: &Platform) -> Vec<Stuck> {
    let ms = |t: Time| t.as_secs_f64() * 1e3;
    let mut out = Vec::new();
    for nic in nics {
        for (q, queue) in nic.queues.iter().enumerate() {
            if queue.in_ring() == 0 {
                continue;
            }
            let napi = kernel.napi.get(q).is_some_and(|n| n.scheduled);
            // A scheduled NAPI instance is on some CPU's poll list; an idle
            // one waits for the queue's interrupt on its IRQ's CPU.
            let polled_on = kernel
                .softnet
                .iter()
                .position(|s| s.poll_list.contains(&PollItem::Queue(crate::ids::QueueId(q as u32))));
            let irq_cpu = kernel.adapter.irq_of_queue.get(q).copied().flatten().map(|i| kernel.irqs[i.idx()].cpu);
            // A user-space driver's ring is its thread's to poll.
            let driver = kernel.adapter.vfio.as_ref().and_then(|p| p.trigger.get(q).copied().flatten());
            let consumer = driver
                .map(|t| kernel.threads[t.idx()].cpu)
                .or(polled_on.map(|c| CpuId(c as u32)))
                .or(irq_cpu)
                .unwrap_or(CpuId(0));
            let queue_id = crate::ids::QueueId(q as u32);
            let hazard = if driver.is_some_and(|t| kernel.threads[t.idx()].state == ThreadState::Throttled) {
                Some(THROTTLED)
            } else if napi {
                None
            } else if nic.mode() == InterruptMode::Intx && platform.edge_pin_held(nic.intx_pin()) {
                Some(EDGE_LINE_HELD)
            } else if nic.waits_for_frames(queue_id) {
                Some(FRAMES_ONLY)
            } else {
                None
            };
            out.push(Stuck {
                what: format!(
                    "NIC {} rx ring {q}: {} frames, oldest from {:.3} ms (queue interrupt {}, NAPI {})",
                    nic.id.0,
                    queue.in_ring(),
                    queue.oldest_wire().map_or(f64::NAN, ms),
                    if queue.irq_enabled { "enabled" } else { "disabled" },
                    if napi { "scheduled" } else { "not scheduled" },
                ),
                packets: queue.in_ring(),
                consumer,
                hazard,
            });
        }
    }
    if let Some(s) = kernel.sender.as_ref().filter(|s| s.state == crate::kernel::sender::SenderState::RingFull) {
        out.push(Stuck {
            what: format!(
                "sender on CPU {}: {} batches waiting for TX ring room the clean-up never frees ({} posted, {} reclaimed)",
                s.cpu.0, s.pending, s.posted, s.freed
            ),
            packets: s.pending * s.batch as u64,
            consumer: s.cpu,
            hazard: None,
        });
    }
    let tx = tx_untransmitted(nics, kernel);
    if tx > 0 {
        // The consumer is the NIC's TX engine: nothing wakes it but a doorbell.
        out.push(Stuck {
            what: format!("TX ring: {tx} frames posted and never fetched (no doorbell reached the NIC for them)"),
            packets: tx,
            consumer: kernel.sender.as_ref().map_or(CpuId(0), |s| s.cpu),
            hazard: None,
        });
    }
    for (c, sn) in kernel.softnet.iter().enumerate() {
        if sn.held() > 0 {
            out.push(Stuck {
                what: format!(
                    "CPU {c} backlog/poll: {} packets (poll list {}, NET_RX {})",
                    sn.held(),
                    sn.poll_list.len(),
                    if sn.pending { "pending" } else { "not pending" },
                ),
                packets: sn.held(),
                consumer: CpuId(c as u32),
                hazard: None,
            });
        }
    }
    for (t, th) in kernel.threads.iter().enumerate() {
        let n = (th.queue.len() + th.burst.len()) as u64;
        if n > 0 && (th.pmd.is_some() || !th.notify.must_wait(th.readable())) {
            // A thread being woken waits for its waker: the poll's
            // notification work whose stretch ends with this wakeup, on
            // the CPU that runs it (try_to_wake_up returns when it is done).
            let waker = (th.state == ThreadState::Waking)
                .then(|| {
                    let me = Some(crate::ids::ThreadId(t as u32));
                    kernel.softnet.iter().position(|s| s.wakeups.iter().any(|(_, w)| *w == me))
                })
                .flatten()
                .map(|c| CpuId(c as u32));
            let by = waker.map_or(String::new(), |c| format!(" by CPU {}'s notification work", c.0));
            out.push(Stuck {
                what: format!("thread {t} on CPU {}: {n} packets readable, thread {:?}{by}", th.cpu.0, th.state),
                packets: n,
                consumer: waker.unwrap_or(th.cpu),
                hazard: (th.state == ThreadState::Throttled).then_some(THROTTLED),
            });
        }
    }
    out
}

/// The drain's findings, and the progress law's verdict, after a drain
/// that ended at `now` (the run ended at `end`), during which each CPU took
/// `drain_interrupts[cpu]` interrupts.
pub fn check(
    nics: &[Nic],
    kernel: &Kernel,
    platform: &Platform,
    end: Time,
    now: Time,
    drain_interrupts: &[u64],
) -> (Progress, Option<LawViolation>) {
    let stuck = packets_inside(nics, kernel);
    let mut progress = Progress { drained_ms: now.since(end).as_ns_f64() / 1e6, stuck, reason: None };
    if stuck == 0 {
        return (progress, None);
    }
    let places = stuck_places(nics, kernel, platform);
    // A consumer whose CPU is still busy is not waiting for a wakeup: it
    // is working (or storming) and will get to the packets, or never will
    // for a reason that is not a lost wakeup.
    let busy = |p: &Stuck| {
        let c = p.consumer;
        let taken = drain_interrupts.get(c.idx()).copied().unwrap_or(0);
        // A CPU spinning in a TLB shootdown's wait is not working either:
        // it waits for acknowledgements, as an idle one waits for a wakeup.
        let idle = kernel.cpus.get(c.idx()).is_none_or(|run| {
            (run.is_idle() && run.runqueue.is_empty())
                || run.top().is_some_and(|f| matches!(f.work, crate::kernel::cpu::Work::TlbWait { .. }))
        });
        if taken >= STORM_INTERRUPTS {
            Some(format!(
                "interrupt storm: CPU {} took {taken} interrupts in the {:.0} ms after the traffic stopped and never got to the packets",
                c.0, progress.drained_ms
            ))
        } else if !idle {
            Some(format!("CPU {} still busy {:.0} ms after the traffic stopped", c.0, progress.drained_ms))
        } else {
            None
        }
    };
    let reasons: Vec<Option<String>> =
        places.iter().map(|p| p.hazard.map(str::to_string).or_else(|| busy(p))).collect();
    if reasons.iter().all(Option::is_some) {
        let mut list: Vec<String> = reasons.into_iter().flatten().collect();
        list.sort();
        list.dedup();
        progress.reason = Some(list.join("; "));
        return (progress, None);
    }
    let cpus: Vec<String> = kernel
        .cpus
        .iter()
        .enumerate()
        .map(|(c, run)| {
            let isr = platform.isr_bits(kernel.cores[c]);
            let state = if run.is_idle() { "idle" } else { "busy" };
            let service = if isr > 0 { format!(" with {isr} vector(s) in service") } else { String::new() };
            format!("CPU {c} {state}{service}")
        })
        .collect();
    let list: Vec<String> = places.iter().map(|p| format!("{} [{} packets]", p.what, p.packets)).collect();
    let violation = LawViolation {
        name: "progress".into(),
        detail: format!(
            "{stuck} packets still inside {:.0} ms after the traffic stopped at {:.3} ms (lost wakeup): {}; {}",
            progress.drained_ms,
            end.as_secs_f64() * 1e3,
            list.join("; "),
            cpus.join(", ")
        ),
    };
    (progress, Some(violation))
}
