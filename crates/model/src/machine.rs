//! The machine: the platform, the devices and the kernels assembled for a
//! scenario, the event loop that drives them, and the end-of-run accounting.
//!
//! The machine owns the parts and routes each event to the part it is
//! addressed to; the parts never hold each other. A message accepted by a
//! local APIC is handed to the kernel that runs on that core.

use crate::config::Scenario;
use crate::devices::level::LevelDevice;
use crate::devices::nic::{Nic, NicSetup};
use crate::devices::rogue::RogueDevice;
use crate::ids::{CoreId, CpuId, KernelId, NicId};
use crate::kernel::{Cx, Kernel};
use crate::laws::{Counted, InTransit};
use crate::metrics::{Metrics, Parts};
use crate::platform::Platform;
use crate::progress::{self, DRAIN_BOUND};
use crate::sim::{Event, KernelEvent, Sim};
use crate::trace::{Trace, TraceConfig, Tracer};
use crate::vcpu_sched::HostRunQueues;
use crate::workload::flows::build_flows;
use crate::workload::replay::Replay;
use crate::workload::traffic::PortArrivals;
use irqlab_engine::rng::{RngStreams, streams};
use irqlab_engine::time::PS_PER_US;
use irqlab_engine::{LatencyHistogram, Time};
use irqlab_hw::rss::{Reta, RssKey};

pub use crate::ids::nic_rid;

/// NIC `id` as a scenario describes it, with its flows (RSS hashed with
/// the scenario's key and indirection table: the NIC keeps each one's
/// queue, and the hashes are returned for the kernel) and its port's
/// arrival stream (`PORT_ARRIVALS + id`).
pub fn nic_for(s: &Scenario, id: NicId, sim: &Sim) -> Result<(Nic, Vec<u32>), BuildError> {
    let rngs = RngStreams::new(s.seed);
    let key = match &s.nic.rss_key {
        Some(hex) => {
            irqlab_hw::rss::parse_key_hex(hex).map_err(|e| BuildError::Invalid(format!("nic.rss_key: {e}")))?
        }
        None => RssKey::microsoft(),
    };
    let fill = s.nic.indirection.as_ref().map_or(irqlab_hw::rss::RetaFill::Default, |i| i.0.clone());
    let reta = Reta::filled(s.nic.reta_size as usize, s.nic.queues as u16, &fill)
        .map_err(|e| BuildError::Invalid(format!("nic.indirection: {e}")))?;
    let flows = build_flows(&s.workload, &key, &reta, &rngs);
    let stream = rngs.stream(streams::PORT_ARRIVALS + id.0 as u64);
    let w = &s.workload;
    let port = match w.pcap_trace.as_ref().filter(|_| w.pcap.is_some()) {
        Some(t) => {
            let replay = Replay::new(t.clone(), w.pcap_speed, w.pcap_loop, s.nic.line_rate_gbps, s.max_frame_bytes());
            PortArrivals::replaying(w, replay, stream)
        }
        None => PortArrivals::new(w, flows.hash.len() as u32, s.nic.line_rate_gbps, stream),
    };
    let setup = NicSetup {
        coalesce: s.nic.coalesce.clone(),
        mode: s.nic.interrupt_mode,
        auto_mask: s.nic.auto_mask,
        intx_pin: s.nic.intx_pin as u8,
        dma_write: sim.costs.dma_write,
        line_rate_gbps: s.nic.line_rate_gbps,
        tx: s.tx.as_ref().map(|t| (t.vectors, t.ring_size, t.max_descriptors_per_fetch)),
        header_split: s.nic.header_split,
    };
    let mut nic = Nic::new(id, nic_rid(id.0), setup, s.nic.queues, s.nic.ring_size, flows.queue, port);
    for a in &s.attackers {
        match a.kind {
            crate::config::AttackKind::LateDma => {
                nic.set_late_dma(irqlab_engine::Dur::from_ns_f64(a.delay_us * 1e3), a.every)
            }
            crate::config::AttackKind::Misdirect => nic.set_misdirect(a.every, a.target),
            _ => {}
        }
    }
    Ok((nic, flows.hash))
}

/// The guest kernel of VM `index` (`[vm]` 0, `[[vms]]` 1, …): the guest
/// `[vm]` describes, on `vm`'s cores, driving VF `index`; its vCPUs'
/// descriptors in the VM's own block, its IOMMU domain and its IRTEs its
/// own.
fn guest_kernel(
    s: &Scenario,
    vm: &crate::config::VmConfig,
    index: u32,
    nic: &Nic,
    hashes: Vec<u32>,
    platform: &Platform,
) -> Kernel {
    use irqlab_engine::Dur;
    let cores: Vec<CoreId> = vm.cores.iter().map(|c| CoreId(*c)).collect();
    let pids = cores.iter().map(|c| crate::virt::vm_vcpu_pid(index, platform.topo.apic_id(*c))).collect();
    let guest = crate::config::VmConfig::guest_view(s);
    let mut k = Kernel::new(KernelId(index), &guest, cores, nic, hashes);
    k.dma.did = crate::kernel::dma::NIC_DID + index as u16;
    k.dma.irte_next = (index * s.nic.queues) as u16;
    let poll = Dur::from_ns(vm.halt_poll_ns as u64);
    let mut v = crate::virt::Virt::new(vm.apic, vm.ipiv, poll, pids);
    v.device = vm.device;
    v.index = index;
    v.thread_slice = Dur::from_us(vm.host_slice_us as u64);
    v.allowed = vm.float_set().into_iter().map(CoreId).collect();
    if vm.host_load > 0.0 {
        let slice = Dur::from_us(vm.host_slice_us as u64);
        v.host_slice = slice;
        v.host_gap = Dur((slice.0 as f64 * (1.0 - vm.host_load) / vm.host_load).round() as u64);
    }
    k.virt = Some(v);
    k
}

/// The simulated machine.
pub struct Machine {
    sim: Sim,
    platform: Platform,
    nics: Vec<Nic>,
    devices: Vec<LevelDevice>,
    rogues: Vec<RogueDevice>,
    kernels: Vec<Kernel>,
    /// The kernel and CPU running on each core (a core vCPUs share has
    /// none: its run queue says).
    owner: Vec<Option<(KernelId, CpuId)>>,
    /// The host run queues of cores vCPUs of several VMs share.
    host: HostRunQueues,
    scenario: Scenario,
    end: Time,
}

/// What a run recorded besides its metrics ([`Machine::run_recorded`]).
#[derive(Debug)]
pub struct Recorded {
    /// The host kernel's metrics, as [`Machine::run`] returns them.
    pub metrics: Metrics,
    /// The timeline, when the run was traced.
    pub trace: Option<Trace>,
    /// Wire-to-application latency, every delivered packet (the histogram
    /// behind `latency_ns`).
    pub latency: LatencyHistogram,
    /// Interrupt latency (the histogram behind `interrupts.latency_ns`).
    pub irq_latency: LatencyHistogram,
}

/// A finished run, before it is handed out.
struct Finished {
    metrics: Vec<Metrics>,
    faults: crate::sim::Faults,
    trace: Option<Trace>,
    latency: LatencyHistogram,
    irq_latency: LatencyHistogram,
}

/// A run could not be set up (the scenario was not validated first).
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The scenario failed validation.
    #[error("invalid scenario: {0}")]
    Invalid(String),
}

impl Machine {
    /// Builds the machine for a validated scenario: the platform, the NIC
    /// with its flows and arrival streams, the level devices, and the host
    /// kernel on every core, booted (drivers probed, interrupts enabled).
    pub fn new(s: &Scenario) -> Result<Machine, BuildError> {
        let errs = s.validate();
        if !errs.is_empty() {
            let list: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
            return Err(BuildError::Invalid(list.join("; ")));
        }
        let sim = Sim::new(s.costs.resolve());
        let mut platform =
            Platform::new(s.machine.cores, s.machine.sockets, s.machine.ioapic_successive_irq_limit, &sim);
        // A VM's virtio or emulated NIC is the VMM's: the guest sees no
        // IOMMU and the host's own (for its NIC) is not modelled.
        let backend = s.vm.as_ref().filter(|vm| vm.device.has_backend());
        if s.iommu.present() && backend.is_none() {
            platform.install_iommu(crate::platform::iommu::Iommu::new(&s.iommu, &sim.costs));
        }
        let rngs = RngStreams::new(s.seed);
        let (mut nic, mut hashes) = nic_for(s, NicId(0), &sim)?;
        if let Some(vm) = backend {
            let c = &sim.costs;
            let own = if vm.device == crate::config::DevicePath::Virtio { c.vhost_rx_packet } else { c.vmm_rx_packet };
            let costs = crate::devices::nic::backend::BackendCosts {
                per_frame: c.rx_driver_per_packet + own,
                copy_ps_per_mib: c.copy_ps_per_mib,
                dma: c.dma_write,
                wake_latency: c.vcpu_wakeup,
                wake_cpu: c.irq_entry_exit + c.context_switch,
                signal: c.eventfd_signal + c.vm_ipi_deliver,
            };
            let core = CoreId(vm.backend_core(s.machine.cores).expect("validated: a free core"));
            nic.backend = Some(crate::devices::nic::backend::Backend::new(vm.device, core, s.nic.queues, costs));
        }
        let devices: Vec<LevelDevice> = s
            .devices
            .iter()
            .enumerate()
            .map(|(i, d)| LevelDevice::new(i as u32, d.clone(), rngs.stream(streams::DEVICE_EVENTS + i as u64)))
            .collect();
        let mut nics = vec![nic];
        let kernels = match &s.vm {
            // The NIC is assigned to a VM: its guest kernel drives it, on
            // vCPUs pinned to their cores (the host's own cores stay idle).
            // Each further VM (`[[vms]]`) gets a VF of its own.
            Some(_) => {
                let mut ks = Vec::new();
                for (i, vm) in s.all_vms().into_iter().enumerate() {
                    // A further VM's traffic: [workload] with its own rate
                    // and flows, if it gives them.
                    let sv = if i == 0 { s.clone() } else { s.for_vm(i) };
                    let hashes = if i == 0 {
                        std::mem::take(&mut hashes)
                    } else {
                        let (vf, hashes) = nic_for(&sv, NicId(i as u32), &sim)?;
                        nics.push(vf);
                        hashes
                    };
                    ks.push(guest_kernel(&sv, vm, i as u32, &nics[i], hashes, &platform));
                }
                ks
            }
            None => vec![Kernel::new(KernelId(0), s, (0..s.machine.cores).map(CoreId).collect(), &nics[0], hashes)],
        };
        let rogues: Vec<RogueDevice> = s
            .attackers
            .iter()
            .enumerate()
            .map(|(i, a)| RogueDevice::new(i as u32, a.clone(), s.nic.queues, s.nic.ring_size))
            .filter(|r| r.active())
            .collect();
        for r in &rogues {
            platform.watch_source(r.rid);
        }
        let mut m = Machine::assemble_with(s, sim, platform, nics, devices, rogues, kernels);
        m.boot();
        Ok(m)
    }

    /// Assembles a machine from its parts — a platform, devices, and one or
    /// more kernels, each on its own cores — and boots it. `s` gives the
    /// run's name, seed and duration.
    pub fn assemble(
        s: &Scenario,
        sim: Sim,
        platform: Platform,
        nics: Vec<Nic>,
        devices: Vec<LevelDevice>,
        kernels: Vec<Kernel>,
    ) -> Machine {
        let mut m = Machine::assemble_with(s, sim, platform, nics, devices, Vec::new(), kernels);
        m.boot();
        m
    }

    fn assemble_with(
        s: &Scenario,
        sim: Sim,
        platform: Platform,
        nics: Vec<Nic>,
        devices: Vec<LevelDevice>,
        rogues: Vec<RogueDevice>,
        kernels: Vec<Kernel>,
    ) -> Machine {
        let end = Time((s.duration_ms * PS_PER_US as f64 * 1000.0).round() as u64);
        let cores = platform.topo.cores() as usize;
        let mut m = Machine {
            sim,
            platform,
            nics,
            devices,
            rogues,
            kernels: Vec::new(),
            owner: vec![None; cores],
            host: HostRunQueues::default(),
            scenario: s.clone(),
            end,
        };
        // Each RX queue's watch lives in a timer of the event queue.
        for nic in &mut m.nics {
            for q in &mut nic.queues {
                q.watch_timer = Some(m.sim.events.timer());
            }
        }
        for k in kernels {
            m.add_kernel(k);
        }
        m.host = HostRunQueues::new(cores, &mut m.kernels);
        for (core, _) in m.host.shared() {
            m.owner[core.idx()] = None;
        }
        m
    }

    /// Adds a kernel; it owns the cores it runs on.
    fn add_kernel(&mut self, mut k: Kernel) {
        for c in &mut k.cpus {
            c.timer = Some(self.sim.events.timer());
        }
        for (i, core) in k.cores.iter().enumerate() {
            self.owner[core.idx()] = Some((k.id, CpuId(i as u32)));
        }
        self.kernels.push(k);
    }

    /// Boots every kernel, starts the devices, then the kernels' periodic work.
    fn boot(&mut self) {
        let Machine { sim, platform, nics, devices, rogues, kernels, host, .. } = self;
        for k in kernels.iter_mut() {
            k.boot(&mut Cx { sim, platform, nics, devices });
        }
        host.start(kernels, &mut Cx { sim, platform, nics, devices });
        for d in devices.iter_mut() {
            d.start(sim);
        }
        for r in rogues.iter() {
            r.start(sim);
        }
        for k in kernels.iter_mut() {
            k.start(&mut Cx { sim, platform, nics, devices });
        }
    }

    /// Runs to the scenario's end and returns the metrics (of the host
    /// kernel and its NIC; the laws cover every part).
    pub fn run(self) -> Metrics {
        self.run_all().swap_remove(0)
    }

    /// Runs to the scenario's end and returns the metrics of each kernel
    /// with the NIC its driver owns; the laws and the progress check cover
    /// the whole machine and are reported with each.
    pub fn run_all(self) -> Vec<Metrics> {
        self.run_counting_faults().0
    }

    /// Runs to the end; returns the metrics with the faults as they stand
    /// after the run (a mutation test reads their opportunities).
    pub(crate) fn run_counting_faults(self) -> (Vec<Metrics>, crate::sim::Faults) {
        let f = self.run_to_end();
        (f.metrics, f.faults)
    }

    /// Captures the run's timeline inside `cfg`'s window (crate::trace);
    /// the run's metrics are the same with and without it.
    pub fn trace(&mut self, cfg: TraceConfig) {
        self.sim.trace = Some(Box::new(Tracer::new(cfg, self.end)));
    }

    /// Runs to the scenario's end and returns the host kernel's metrics
    /// with what else the run recorded: its trace, if [`Machine::trace`]
    /// asked for one, and its latency histograms.
    pub fn run_recorded(self) -> Recorded {
        let mut f = self.run_to_end();
        Recorded { metrics: f.metrics.swap_remove(0), trace: f.trace, latency: f.latency, irq_latency: f.irq_latency }
    }

    fn run_to_end(mut self) -> Finished {
        while let Some((_, ev)) = self.sim.events.pop_until(self.end) {
            self.dispatch(ev);
        }
        self.sim.events.advance_to(self.end);
        self.finish()
    }

    /// Routes one event to the part it is addressed to.
    fn dispatch(&mut self, ev: Event) {
        let Machine { sim, platform, nics, devices, rogues, kernels, owner, host, .. } = self;
        let core = match ev {
            Event::VcpuSlice { .. } | Event::VcpuYield { .. } | Event::VcpuWake { .. } => {
                host.on_event(&ev, kernels, &mut Cx { sim, platform, nics, devices });
                None
            }
            Event::Msi { rid, address, data } => platform.msi_arrives(rid, address, data, sim),
            Event::Ipi { dest, vector } => platform.ipi_arrives(dest, vector),
            Event::RxWatch { nic, queue, epoch, timer } => {
                nics[nic.idx()].watch_fired(queue, epoch, timer, sim, platform);
                None
            }
            Event::TxDoorbell { nic, queue, tail } => {
                nics[nic.idx()].tx_doorbell(queue, tail, sim, platform);
                None
            }
            Event::TxFetchDone { nic, queue } => {
                nics[nic.idx()].tx_fetch_done(queue, sim, platform);
                None
            }
            Event::TxComplete { nic, queue } => {
                nics[nic.idx()].tx_complete(queue, sim, platform);
                None
            }
            Event::DeviceEvent { device } => {
                devices[device as usize].on_event(sim, platform);
                None
            }
            Event::LateDma { nic, iova, bytes } => {
                nics[nic.idx()].late_dma(iova, bytes, sim, platform);
                None
            }
            Event::Rogue { index } => {
                if let Some(r) = rogues.iter_mut().find(|r| r.index == index) {
                    let topo = &platform.topo;
                    let apics: Vec<u32> = (0..topo.cores()).map(|c| topo.apic_id(CoreId(c))).collect();
                    r.on_event(sim, platform, |c| apics.get(c as usize).copied().unwrap_or(c));
                }
                None
            }
            Event::Kernel { kernel, ev } => {
                kernels[kernel.idx()].on_event(ev, &mut Cx { sim, platform, nics, devices });
                None
            }
            Event::Irqfd { nic, address, data } => {
                // KVM's irqfd routing: the MSI-X entry's message (guest
                // compatibility format) names the vCPU and the vector.
                let msg = irqlab_hw::msi::MsiMessage::new(address, data).decode().ok();
                let target = msg.and_then(|m| {
                    let core = platform.topo.core_of_apic(m.address.destination_id as u32)?;
                    owner[core.idx()].map(|(k, cpu)| (k, cpu, m.data.vector))
                });
                match target {
                    Some((k, cpu, vector)) => {
                        kernels[k.idx()].irqfd(cpu, vector, &mut Cx { sim, platform, nics, devices })
                    }
                    None => {
                        if let Some(b) = nics[nic.idx()].backend.as_mut() {
                            b.counts.irqfd_unrouted += 1;
                        }
                    }
                }
                None
            }
            Event::VhostKick { nic, queue } => {
                nics[nic.idx()].kick(queue);
                None
            }
            Event::VfioIrq { kernel, core, vector } => {
                let k = &mut kernels[kernel.idx()];
                if let Some(cpu) = k.cores.iter().position(|c| *c == core) {
                    k.vfio_irq(CpuId(cpu as u32), vector, &mut Cx { sim, platform, nics, devices });
                }
                None
            }
        };
        // A local APIC accepted something: its core's kernel looks at it
        // (on a core vCPUs share, the vCPU holding it or the host).
        if let Some(c) = core {
            if let Some((k, cpu)) = owner[c.idx()] {
                kernels[k.idx()].kick(cpu, &mut Cx { sim, platform, nics, devices });
            } else {
                host.core_kicked(c, kernels, &mut Cx { sim, platform, nics, devices });
            }
        }
    }

    /// The run's metrics and its conservation laws at its end; then the
    /// drain that checks the progress law.
    fn finish(mut self) -> Finished {
        let end = self.end;
        for nic in &mut self.nics {
            nic.rx_settle(&mut self.sim, &mut self.platform);
        }
        for k in &mut self.kernels {
            k.settle(end);
        }
        // The trace ends with the run: the drain below is not part of it.
        let trace = self.sim.trace.take().map(|t| {
            let cpus = self.kernels.iter().map(|k| k.cpus.len() as u32).collect();
            let queues = self.nics.iter().map(|n| n.queues.len() as u32).collect();
            t.finish(end, cpus, queues)
        });
        let latency = self.kernels[0].stats.latency.clone();
        let irq_latency = self.kernels[0].stats.irq_latency.clone();
        if let Some(u) = self.platform.iommu.as_mut() {
            u.settle(end);
        }
        let counted = Counted {
            platform: &self.platform,
            nics: &self.nics,
            kernels: &self.kernels,
            devices: &self.devices,
            rogues: &self.rogues,
            host: &self.host,
        };
        let laws = crate::laws::check(&counted, &self.in_transit());
        let mut all: Vec<Metrics> = self
            .kernels
            .iter()
            .map(|k| {
                let parts = Parts {
                    scenario: &self.scenario,
                    end,
                    events: self.sim.events.events_processed(),
                    platform: &self.platform,
                    nic: &self.nics[k.adapter.nic.idx()],
                    kernel: k,
                    devices: &self.devices,
                    rogues: &self.rogues,
                    attackers: &self.scenario.attackers,
                    costs: &self.sim.costs,
                };
                crate::metrics::assemble(&parts, laws.clone())
            })
            .collect();
        let vms: Vec<_> = self
            .kernels
            .iter()
            .zip(&all)
            .filter_map(|(k, m)| crate::metrics::vm_summary(k, m, &self.platform, end))
            .collect();
        for m in &mut all {
            m.vms = vms.clone();
        }
        let (progress, violations) = self.drain();
        for m in &mut all {
            m.progress = progress.clone();
            m.law_violations.extend(violations.iter().cloned());
        }
        Finished { metrics: all, faults: self.sim.faults, trace, latency, irq_latency }
    }

    /// Messages still travelling: events of those kinds still queued.
    fn in_transit(&self) -> InTransit {
        let mut t = InTransit::default();
        for (_, ev) in self.sim.events.pending() {
            match ev {
                Event::Msi { .. } => t.msi += 1,
                Event::Ipi { vector, .. } => {
                    t.ipis += 1;
                    if *vector == crate::kernel::vector::CALL_FUNCTION_VECTOR {
                        t.tlb_ipis += 1;
                    }
                }
                Event::Kernel { ev: KernelEvent::TlbAck { .. }, .. } => t.tlb_acks += 1,
                Event::Kernel { ev: KernelEvent::TaskWake { .. }, .. } => t.wakeups += 1,
                Event::TxDoorbell { .. } => t.doorbells += 1,
                Event::Irqfd { .. } => t.irqfd += 1,
                Event::VhostKick { .. } => t.kicks += 1,
                Event::VcpuYield { .. } => t.vcpu_yields += 1,
                Event::VfioIrq { .. } => t.vfio_irqs += 1,
                _ => {}
            }
        }
        t
    }

    /// Stops the traffic and runs on for up to [`DRAIN_BOUND`] (or until
    /// no packet is left inside); returns the progress law's verdict.
    fn drain(&mut self) -> (progress::Progress, Vec<irqlab_engine::LawViolation>) {
        let end = self.end;
        for nic in &mut self.nics {
            nic.stop_arrivals(end);
        }
        let before: Vec<Vec<u64>> = self.kernels.iter().map(|k| k.stats.interrupts_per_cpu.clone()).collect();
        let limit = end + DRAIN_BOUND;
        while self.packets_inside() > 0 {
            let Some((_, ev)) = self.sim.events.pop_until(limit) else { break };
            // The devices and the sender fall silent with the traffic.
            let silent = matches!(
                ev,
                Event::DeviceEvent { .. } | Event::Rogue { .. } | Event::Kernel { ev: KernelEvent::SendTimer, .. }
            );
            if !silent {
                self.dispatch(ev);
            }
        }
        let mut total = progress::Progress::default();
        let mut violations = Vec::new();
        for (k, before) in self.kernels.iter().zip(&before) {
            let during: Vec<u64> = k.stats.interrupts_per_cpu.iter().zip(before).map(|(a, b)| a - b).collect();
            let nic = std::slice::from_ref(&self.nics[k.adapter.nic.idx()]);
            let (p, v) = progress::check(nic, k, &self.platform, end, self.sim.now(), &during);
            total.drained_ms = p.drained_ms;
            total.stuck += p.stuck;
            total.reason = match (total.reason.take(), p.reason) {
                (Some(a), Some(b)) if a != b => Some(format!("{a}; {b}")),
                (a, b) => a.or(b),
            };
            violations.extend(v);
        }
        (total, violations)
    }

    /// Packets inside the machine that a consumer could take.
    fn packets_inside(&self) -> u64 {
        self.kernels
            .iter()
            .map(|k| progress::packets_inside(std::slice::from_ref(&self.nics[k.adapter.nic.idx()]), k))
            .sum()
    }

    /// Runs events until `stop` holds for the host kernel (checked after
    /// each event) or the time passes `until`; returns whether `stop` held.
    #[cfg(test)]
    pub(crate) fn step_until(&mut self, until: Time, stop: impl Fn(&Kernel) -> bool) -> bool {
        while let Some((_, ev)) = self.sim.events.pop_until(until) {
            self.dispatch(ev);
            if stop(&self.kernels[0]) {
                return true;
            }
        }
        self.sim.events.advance_to(until);
        false
    }

    /// Runs `f` on the host kernel with the borrows its handlers get, at
    /// the current simulated time.
    #[cfg(test)]
    pub(crate) fn with_host<R>(&mut self, f: impl FnOnce(&mut Kernel, &mut Cx) -> R) -> R {
        let Machine { sim, platform, nics, devices, kernels, .. } = self;
        f(&mut kernels[0], &mut Cx { sim, platform, nics, devices })
    }

    /// The current simulated time.
    #[cfg(test)]
    pub(crate) fn now(&self) -> Time {
        self.sim.now()
    }

    /// The faults a mutation test arms for this run.
    #[cfg(test)]
    pub(crate) fn faults(&mut self) -> &mut crate::sim::Faults {
        &mut self.sim.faults
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A packet's latency ends when its own copy ends: never while its
    /// CPU runs an interrupt handler or a softirq that preempted the
    /// reader's burst (the first landing gave the packets copied before a
    /// preemption the preemption's time too).
    #[test]
    fn no_copy_ends_while_the_reader_is_preempted() {
        let mut s = Scenario::default();
        s.duration_ms = 20.0;
        let mut m = Machine::new(&s).expect("valid");
        while let Some((_, ev)) = m.sim.events.pop_until(m.end) {
            m.dispatch(ev);
        }
        let k = &m.kernels[0];
        let mut checked = 0;
        let mut preempted = 0;
        for (c, run) in k.cpus.iter().enumerate() {
            let mut others: Vec<(Time, Time)> = run
                .segments
                .iter()
                .filter(|(_, _, ctx)| *ctx != crate::kernel::cpu::Ctx::User)
                .map(|(a, b, _)| (*a, *b))
                .collect();
            others.sort();
            for &(cpu, end) in k.stats.deliveries.iter().filter(|(cpu, _)| cpu.idx() == c) {
                let i = others.partition_point(|(a, _)| *a < end);
                let inside = i > 0 && others[i - 1].1 > end;
                assert!(!inside, "CPU {}: a copy ended at {end:?}, inside {:?}", cpu.0, others[i - 1]);
                checked += 1;
                preempted += (i > 0 && others[i - 1].0 > Time::ZERO) as u64;
            }
        }
        assert!(checked > 30_000, "{checked} deliveries checked");
        assert!(preempted > 0);
    }
}
