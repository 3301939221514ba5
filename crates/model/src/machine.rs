//! The machine: the subsystems, the event loop that drives them, and the
//! end-of-run accounting.
//!
//! Subsystems own their state (the NIC its queues and MSI-X function, each
//! core its context stack, the kernel its softnet and socket state); they
//! interact through the events below, which mirror real interfaces: the
//! device's MSI memory write travelling to the platform, a core finishing a
//! piece of work, a wakeup arriving at another core. The handlers live in the
//! files of the thing they model (`kernel/irq.rs`, `kernel/napi.rs`, …).

use crate::config::{IOAPIC_PINS, LevelEoi, LevelFlow, Scenario, TriggerKind};
use crate::costs::Costs;
use crate::devices::level::LevelDevice;
use crate::devices::nic::{Nic, RxQueue};
use crate::ids::{CoreId, IrqId, QueueId, ThreadId};
use crate::kernel::genirq::IrqDesc;
use crate::kernel::irq::VectorTable;
use crate::kernel::napi::Napi;
use crate::kernel::rps::Rps;
use crate::kernel::socket::Socket;
use crate::kernel::softirq::Softnet;
use crate::metrics::{Metrics, RunStats};
use crate::platform::cpu::{Cpu, Ctx, Work};
use crate::platform::topology::Topology;
use crate::workload::app::Thread;
use crate::workload::flows::{Flow, build_flows, flows_by_queue};
use crate::workload::traffic::ArrivalGen;
use irqlab_engine::rng::{RngStreams, streams};
use irqlab_engine::time::PS_PER_US;
use irqlab_engine::{Dur, EventQueue, Time};
use irqlab_hw::ioapic::IoApic;
use irqlab_hw::lapic::LocalApic;
use irqlab_hw::lapic::field::SVR_EOI_BROADCAST_SUPPRESSION;
use irqlab_hw::msix::MsixFunction;
use irqlab_hw::rss::{Reta, RssKey};

/// Something that happens at an instant.
#[derive(Clone, Copy, Debug)]
pub enum Event {
    /// An RX queue's enabled interrupt must be re-evaluated (a frame landed
    /// or a coalescing deadline passed).
    QueueWatch {
        /// The queue.
        queue: QueueId,
        /// Matches `RxQueue::watch_gen` unless superseded.
        epoch: u32,
    },
    /// A device's MSI memory write reaches the platform's interrupt window.
    MsiWrite {
        /// Message address as written (64 bits).
        address: u64,
        /// Message data as written.
        data: u32,
    },
    /// The running frame of a core completes.
    CoreDone {
        /// The core.
        core: CoreId,
        /// Matches `Cpu::epoch` unless the frame was paused since.
        epoch: u64,
    },
    /// A thread woken from another core becomes runnable on its own core.
    TaskWake {
        /// The thread.
        thread: ThreadId,
    },
    /// The "nobody cared" poller's 100 ms timer (`poll_spurious_irqs`).
    SpuriousPoll,
    /// The irqbalance-like rebalancer's periodic pass.
    IrqBalance,
    /// An affinity change finished rewriting the entry: unmask it.
    IrqMoveDone {
        /// The IRQ.
        irq: IrqId,
    },
    /// A level-triggered device raises an event.
    DeviceEvent {
        /// `[[devices]]` index.
        device: u32,
    },
}

/// Kernel tunables: the scenario's values, plus the times among them
/// converted to simulation units once.
#[derive(Clone, Debug)]
pub struct KernelParams {
    /// The tunables as configured.
    pub cfg: crate::config::KernelConfig,
    /// `netdev_budget_usecs` as a span.
    pub netdev_budget_time: Dur,
    /// `MAX_SOFTIRQ_TIME` as a span.
    pub max_softirq_time: Dur,
    /// Scheduler slice as a span.
    pub sched_slice: Dur,
}

/// The simulated machine.
pub struct Machine {
    pub(crate) topo: Topology,
    pub(crate) costs: Costs,
    pub(crate) kp: KernelParams,
    pub(crate) events: EventQueue<Event>,
    pub(crate) nic: Nic,
    pub(crate) lapics: Vec<LocalApic>,
    pub(crate) cpus: Vec<Cpu>,
    pub(crate) vectors: Vec<VectorTable>,
    pub(crate) irqs: Vec<IrqDesc>,
    pub(crate) ioapic: IoApic,
    pub(crate) line_sources: Vec<u32>,
    pub(crate) successive_eoi: Vec<u32>,
    pub(crate) successive_irq_limit: bool,
    pub(crate) napi: Vec<Napi>,
    pub(crate) driver_level_eoi: LevelEoi,
    pub(crate) intx_trigger: TriggerKind,
    pub(crate) spurious_poll_armed: bool,
    pub(crate) rps: Rps,
    pub(crate) flow_core: Vec<Option<CoreId>>,
    pub(crate) flow_queue: Vec<QueueId>,
    pub(crate) flow_last_seq: Vec<Option<u32>>,
    pub(crate) flow_handoffs: Vec<u32>,
    pub(crate) flow_reorders: Vec<u32>,
    pub(crate) level_flow: LevelFlow,
    pub(crate) devices: Vec<LevelDevice>,
    pub(crate) balance: crate::kernel::affinity::Balancer,
    pub(crate) softnet: Vec<Softnet>,
    pub(crate) sockets: Vec<Socket>,
    pub(crate) threads: Vec<Thread>,
    pub(crate) flows: Vec<Flow>,
    pub(crate) stats: RunStats,
    pub(crate) affinity: Vec<CoreId>,
    scenario: Scenario,
    end: Time,
}

/// A run could not be set up (the scenario was not validated first).
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The scenario failed validation.
    #[error("invalid scenario: {0}")]
    Invalid(String),
}

impl Machine {
    /// Builds the machine for a validated scenario: flows and RSS, queues
    /// with their arrival streams, local APICs, and the driver's probe (MSI-X
    /// table programmed for the affinity, vectors unmasked, interrupts enabled).
    pub fn new(s: &Scenario) -> Result<Machine, BuildError> {
        let errs = s.validate();
        if !errs.is_empty() {
            let list: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
            return Err(BuildError::Invalid(list.join("; ")));
        }
        let topo = Topology::new(s.machine.cores, s.machine.sockets);
        let rngs = RngStreams::new(s.seed);
        let key = match &s.nic.rss_key {
            Some(hex) => {
                irqlab_hw::rss::parse_key_hex(hex).map_err(|e| BuildError::Invalid(format!("nic.rss_key: {e}")))?
            }
            None => RssKey::microsoft(),
        };
        let reta = Reta::new(s.nic.reta_size as usize, s.nic.queues as u16)
            .map_err(|e| BuildError::Invalid(format!("nic.reta_size: {e}")))?;
        let flows = build_flows(&s.workload, &key, &reta, &rngs);
        let by_queue = flows_by_queue(&flows, s.nic.queues);
        let total = flows.len() as u32;
        let queues: Vec<RxQueue> = by_queue
            .into_iter()
            .enumerate()
            .map(|(q, fl)| {
                let rng = rngs.stream(streams::QUEUE_ARRIVALS + q as u64);
                RxQueue::new(s.nic.ring_size, ArrivalGen::new(&s.workload, fl, total, rng))
            })
            .collect();
        let msix =
            MsixFunction::new(s.nic.queues as usize).map_err(|e| BuildError::Invalid(format!("nic.queues: {e}")))?;
        let nic = Nic {
            queues,
            coalesce: s.nic.coalesce.clone(),
            mode: s.nic.interrupt_mode,
            auto_mask: s.nic.auto_mask,
            msix,
            msi_message: None,
            intx_pin: s.nic.intx_pin as u8,
            icr: 0,
        };
        let cores = s.machine.cores as usize;
        let affinity = crate::kernel::affinity::initial_affinity(s, &topo);
        let k = &s.kernel;
        let kp = KernelParams {
            cfg: k.clone(),
            netdev_budget_time: Dur::from_us(k.netdev_budget_usecs as u64),
            max_softirq_time: Dur::from_us(k.max_softirq_time_us as u64),
            sched_slice: Dur::from_us(k.sched_slice_us as u64),
        };
        // Readers default to the core that takes each queue's interrupt.
        let queue_core: Vec<CoreId> = (0..s.nic.queues as usize).map(|q| affinity[q.min(affinity.len() - 1)]).collect();
        let threads = crate::workload::app::build_threads(s, &flows, &queue_core);
        let mut sockets: Vec<Socket> = (0..flows.len()).map(|_| Socket::default()).collect();
        for (t, th) in threads.iter().enumerate() {
            for f in &th.flows {
                sockets[f.idx()].owner = Some(ThreadId(t as u32));
            }
        }
        let end = Time((s.duration_ms * PS_PER_US as f64 * 1000.0).round() as u64);
        let mut m = Machine {
            topo,
            costs: s.costs.resolve(),
            kp,
            events: EventQueue::new(),
            nic,
            lapics: (0..cores)
                .map(|_| {
                    let mut l = LocalApic::new();
                    if k.directed_eoi {
                        l.set_svr(l.svr() | SVR_EOI_BROADCAST_SUPPRESSION);
                    }
                    l
                })
                .collect(),
            cpus: (0..cores).map(|_| Cpu::default()).collect(),
            vectors: (0..cores).map(|_| VectorTable::default()).collect(),
            irqs: Vec::new(),
            ioapic: IoApic::new(IOAPIC_PINS as usize).map_err(|e| BuildError::Invalid(format!("ioapic: {e}")))?,
            line_sources: vec![0; IOAPIC_PINS as usize],
            successive_eoi: vec![0; IOAPIC_PINS as usize],
            successive_irq_limit: s.machine.ioapic_successive_irq_limit,
            napi: vec![Napi::default(); s.nic.queues as usize],
            driver_level_eoi: s.driver.level_eoi,
            intx_trigger: s.nic.intx_trigger,
            spurious_poll_armed: false,
            rps: Rps::new(&s.kernel, s.nic.arfs, s.machine.cores, s.nic.queues),
            flow_core: vec![None; flows.len()],
            flow_queue: flows.iter().map(|f| f.queue).collect(),
            flow_last_seq: vec![None; flows.len()],
            flow_handoffs: vec![0; flows.len()],
            flow_reorders: vec![0; flows.len()],
            level_flow: s.kernel.level_flow,
            balance: crate::kernel::affinity::Balancer::new(s, cores),
            devices: s
                .devices
                .iter()
                .enumerate()
                .map(|(i, d)| LevelDevice::new(d.clone(), rngs.stream(streams::DEVICE_EVENTS + i as u64)))
                .collect(),
            softnet: (0..cores).map(|_| Softnet::default()).collect(),
            sockets,
            threads,
            flows,
            stats: RunStats::new(cores, s.nic.queues as usize),
            affinity,
            scenario: s.clone(),
            end,
        };
        m.probe_driver();
        m.probe_devices();
        m.start_devices();
        m.start_irqbalance();
        Ok(m)
    }

    /// Runs to the scenario's end and returns the metrics.
    pub fn run(mut self) -> Metrics {
        while let Some((now, ev)) = self.events.pop_until(self.end) {
            match ev {
                Event::QueueWatch { queue, epoch } => self.queue_watch(queue, epoch, now),
                Event::MsiWrite { address, data } => self.msi_write(address, data, now),
                Event::CoreDone { core, epoch } => self.core_done(core, epoch, now),
                Event::TaskWake { thread } => self.task_wake(thread, now),
                Event::SpuriousPoll => self.spurious_poll(now),
                Event::DeviceEvent { device } => self.device_event(device, now),
                Event::IrqBalance => self.irqbalance(now),
                Event::IrqMoveDone { irq } => self.irq_move_done(irq, now),
            }
        }
        self.events.advance_to(self.end);
        self.finish()
    }

    /// Schedules a core's frame completion.
    pub(crate) fn schedule_core(&mut self, core: CoreId, (at, epoch): (Time, u64)) {
        self.events.schedule(at, Event::CoreDone { core, epoch });
    }

    /// Pushes a frame on `core` (the frame below is already paused) and
    /// schedules its completion.
    pub(crate) fn push_frame(&mut self, core: CoreId, now: Time, ctx: Ctx, work: Work, cost: Dur) {
        let done = self.cpus[core.idx()].push(now, ctx, work, cost);
        self.schedule_core(core, done);
    }

    fn finish(mut self) -> Metrics {
        let end = self.end;
        let dma = self.costs.dma_write;
        for q in &mut self.nic.queues {
            q.advance(end, dma);
        }
        for c in &mut self.cpus {
            c.settle(end);
        }
        crate::metrics::collect(&self, &self.scenario, end, self.events.events_processed())
    }
}
