//! The x86 interrupt path inside a kernel, from the vector to `irq_exit`,
//! and genirq's flow handlers (Linux kernel/irq/{chip.c,handle.c,manage.c},
//! arch/x86/kernel/irq.c).
//!
//! * A CPU takes the highest deliverable vector of its local APIC when it
//!   accepts interrupts (not inside another hard-IRQ handler): IRR → ISR,
//!   and the vector's IRQ descriptor's flow handler runs as a hard-IRQ frame
//!   that preempts whatever ran. A system vector (an IPI) is acknowledged
//!   on entry.
//! * The flow handler sequences the chip operations (kernel/irqchip.rs) and
//!   the driver's actions, **on the CPU that took the interrupt**: an edge
//!   flow acks (local-APIC EOI) first; a fasteoi flow EOIs after the
//!   actions; `handle_level_irq` masks and EOIs first and unmasks after.
//!   The driver's etiquette on a level line (`driver.level_eoi`) decides
//!   whether the cause is cleared before the EOI; the wrong order makes the
//!   still-asserted line re-deliver at once.
//! * Every handled interrupt goes through `note_interrupt`: a line that is
//!   almost never handled is disabled ("nobody cared") and then polled
//!   every 100 ms (kernel/spurious.rs).
//! * After the handler, `irq_exit` runs pending softirqs inline unless the
//!   CPU is already in softirq context or its ksoftirqd is running
//!   (kernel/softirq.c `invoke_softirq`).

use super::cpu::{Ctx, Work};
use super::genirq::{IrqAction, IrqDesc};
use super::irqchip::{Flow, IrqChip, compose_msg};
use super::spurious::{POLL_SPURIOUS_INTERVAL, Verdict};
use super::vector::{CALL_FUNCTION_SINGLE_VECTOR, CALL_FUNCTION_VECTOR};
use super::{Cx, Kernel};
use crate::config::LevelEoi;
use crate::ids::{CpuId, IrqId};
use crate::sim::{Fault, KernelEvent};
use irqlab_engine::{Dur, Time};
use irqlab_hw::vtd::pid::POSTED_MSI_NOTIFICATION_VECTOR;

impl Kernel {
    /// Takes a deliverable interrupt on `cpu` if it accepts one now.
    /// Returns whether a handler started.
    pub(super) fn take_interrupt(&mut self, cpu: CpuId, cx: &mut Cx) -> bool {
        let (c, core) = (cpu.idx(), self.core(cpu));
        let mut extra = Dur::ZERO;
        let vector = if self.virt.is_some() {
            // A guest: a virtual interrupt the guest can take now goes
            // first (injected at the VM entry that just happened, or
            // delivered by APICv), then the host's physical interrupts.
            let ready = self.cpus[c].interrupts_enabled() && self.vapic_pending(cpu);
            if !ready {
                match self.vmm_take(cpu, cx) {
                    super::guest::VmmTake::Started => return true,
                    super::guest::VmmTake::Inline(cost) => extra = cost,
                    super::guest::VmmTake::Nothing => {}
                }
            }
            if !self.cpus[c].interrupts_enabled() {
                return false;
            }
            let Some(vector) = self.vapic_deliver(cpu) else { return false };
            vector
        } else {
            if !self.cpus[c].interrupts_enabled() {
                return false;
            }
            let Some(vector) = cx.platform.lapic_ack(core) else { return false };
            vector
        };
        let now = cx.sim.now();
        if !cx.sim.faults.fire(Fault::UncountedInterrupt) {
            self.stats.interrupts_per_cpu[c] += 1;
        }
        self.cpus[c].pause(now);
        let body = match self.vectors[c].irq(vector) {
            Some(irq) => {
                let d = &mut self.irqs[irq.idx()];
                if d.moving_from.is_some() && d.cpu == cpu && d.vector == vector {
                    d.fired_since_move = true;
                }
                self.flow_entry(irq, cpu, cx)
            }
            None if vector == POSTED_MSI_NOTIFICATION_VECTOR && self.dma.posted_msi => {
                // EOI'd at the end of the handler.
                self.posted_msi_entry(cpu, cx)
            }
            None => {
                // A system vector (IPI) or nothing wired: ack it on entry.
                self.apic_eoi(cpu, cx);
                let costs = cx.sim.costs;
                let eoi = self.eoi_cost(&costs);
                match vector {
                    CALL_FUNCTION_SINGLE_VECTOR => eoi,
                    CALL_FUNCTION_VECTOR => eoi + self.tlb_ipi_entry(cpu, &costs),
                    _ => {
                        // Linux's "No irq handler for vector" path.
                        self.stats.spurious_vectors += 1;
                        eoi
                    }
                }
            }
        };
        let cost = cx.sim.costs.irq_entry_exit + body + extra;
        if vector == CALL_FUNCTION_VECTOR && self.vectors[c].irq(vector).is_none() {
            self.tlb.counts.remote_flush_ps += cost.as_ps();
        }
        self.push_frame(cpu, Ctx::Hardirq, Work::HardIrq { vector }, cost, cx);
        true
    }

    /// The hard-IRQ frame finished: the flow handler's exit half, then `irq_exit`.
    pub(super) fn hardirq_done(&mut self, cpu: CpuId, vector: u8, cx: &mut Cx) {
        match self.vectors[cpu.idx()].irq(vector) {
            Some(irq) => {
                self.flow_exit(irq, cpu, cx);
                if self.irqs[irq.idx()].moving_from.is_some() {
                    self.free_old_vector(irq, cx);
                }
            }
            None if vector == CALL_FUNCTION_SINGLE_VECTOR => self.rps_ipi_received(cpu),
            None if vector == CALL_FUNCTION_VECTOR => self.tlb_ipi_done(cpu, cx),
            // Until the last scan's frame ends, the next one runs first.
            None if vector == POSTED_MSI_NOTIFICATION_VECTOR
                && self.dma.posted_msi
                && !self.posted_msi_scan_done(cpu, cx) =>
            {
                return;
            }
            None => {}
        }
        self.irq_exit(cpu, cx);
    }

    /// `irq_exit()`: run pending softirqs now unless nested in softirq or
    /// deferred to a running ksoftirqd.
    pub(super) fn irq_exit(&mut self, cpu: CpuId, cx: &mut Cx) {
        let c = cpu.idx();
        if self.softnet[c].pending && !self.cpus[c].in_softirq() && !self.softnet[c].ksoftirqd_active() {
            self.do_softirq(cpu, cx);
        }
    }

    // ---- requesting IRQs ----------------------------------------------------

    /// `request_irq()` plus the chips' activation: allocates a vector on
    /// `cpu`, programs the chip stack to send it there, and unmasks it.
    pub(super) fn request_irq(
        &mut self,
        chips: Vec<Box<dyn IrqChip>>,
        cpu: CpuId,
        action: IrqAction,
        cx: &mut Cx,
    ) -> Option<IrqId> {
        let irq = IrqId(self.irqs.len() as u32);
        let Some(vector) = self.vectors[cpu.idx()].allocate(irq) else {
            self.stats.vector_alloc_failures += 1;
            return None;
        };
        self.irqs.push(IrqDesc::new(chips, cpu, vector, action));
        // Sources come out of reset masked, so writing the message is legal.
        self.write_route(irq, cx);
        self.chip_unmask(irq, cx);
        Some(irq)
    }

    /// `request_irq(..., IRQF_SHARED)` on an IO-APIC pin: joins the IRQ
    /// already on that pin (its GSI), or requests a new one with `chips`.
    pub(super) fn request_shared_irq(
        &mut self,
        gsi: u8,
        chips: impl FnOnce() -> Vec<Box<dyn IrqChip>>,
        cpu: CpuId,
        action: IrqAction,
        cx: &mut Cx,
    ) -> Option<IrqId> {
        if let Some(irq) = self.gsi_irq(gsi) {
            self.irqs[irq.idx()].actions.push(action);
            return Some(irq);
        }
        let irq = self.request_irq(chips(), cpu, action, cx)?;
        self.set_gsi_irq(gsi, irq);
        Some(irq)
    }

    /// Composes the vector domain's message for the IRQ's (CPU, vector) and
    /// hands it up the chip stack, each level programming its hardware.
    pub(super) fn write_route(&mut self, irq: IrqId, cx: &mut Cx) {
        let desc = &self.irqs[irq.idx()];
        let apic = cx.platform.topo.apic_id(self.core(desc.cpu)) as u8;
        let mut msg = Some(compose_msg(apic, desc.vector));
        for chip in self.irqs[irq.idx()].chips.iter_mut().rev() {
            let Some(m) = msg else { break };
            msg = chip.write_msg(m, cx);
        }
    }

    // ---- chip operations ------------------------------------------------------

    /// `irq_mask`: the topmost level that can mask.
    pub(super) fn chip_mask(&mut self, irq: IrqId, cx: &mut Cx) {
        for chip in &mut self.irqs[irq.idx()].chips {
            if chip.set_masked(true, cx) {
                return;
            }
        }
    }

    /// `irq_unmask`: may release a pending message.
    pub(super) fn chip_unmask(&mut self, irq: IrqId, cx: &mut Cx) {
        for chip in &mut self.irqs[irq.idx()].chips {
            if chip.set_masked(false, cx) {
                return;
            }
        }
    }

    /// `irq_ack` of the x86 vector domain (`apic_ack_irq`): EOI to the local
    /// APIC of the CPU that took the interrupt.
    fn chip_ack(&mut self, irq: IrqId, cpu: CpuId, cx: &mut Cx) {
        let cpu = if cx.sim.faults.fire(Fault::AckOnIrqCpu) { self.irqs[irq.idx()].cpu } else { cpu };
        self.apic_eoi(cpu, cx);
    }

    /// `irq_eoi` of the first level that has one (the IO-APIC's
    /// `ioapic_ack_level`), on the CPU that took the interrupt.
    fn chip_eoi(&mut self, irq: IrqId, cpu: CpuId, cx: &mut Cx) {
        let core = self.core(cpu);
        let vector = self.irqs[irq.idx()].vector;
        for chip in &mut self.irqs[irq.idx()].chips {
            if chip.eoi(core, vector, cx) {
                return;
            }
        }
        self.apic_eoi(cpu, cx);
    }

    // ---- flow handlers --------------------------------------------------------

    /// CPU time of the flow handler's chip operations and actions; the
    /// actions see the device as it is when the handler starts.
    pub(super) fn flow_cost(&mut self, irq: IrqId, cpu: CpuId, cx: &mut Cx) -> Dur {
        let costs = cx.sim.costs;
        let mut cost = self.eoi_cost(&costs);
        let flow = self.irqs[irq.idx()].flow(self.params.cfg.level_flow);
        if flow != Flow::Edge && self.params.cfg.directed_eoi {
            cost += costs.mmio_write;
        }
        if flow == Flow::Level {
            // Mask and unmask: two writes to the redirection entry.
            cost += costs.mmio_write.times(2);
        }
        for k in 0..self.irqs[irq.idx()].actions.len() {
            cost += match self.irqs[irq.idx()].actions[k] {
                IrqAction::NicQueue(_, q) => self.nic_queue_irq_entry(cpu, q, cx),
                IrqAction::NicCause(_) => self.nic_cause_irq_cost(cx),
                IrqAction::LevelDevice(d) => cx.devices[d as usize].handler_cost(&costs),
                IrqAction::NicTx(_, _) => self.nic_tx_irq_cost(cx),
                IrqAction::DmarFault => {
                    let (handled, cost) = self.dmar_fault(cx);
                    self.dma.fault_handled = handled;
                    cost
                }
            };
        }
        cost
    }

    /// Interrupt latency: for each NIC queue this IRQ serves that raised
    /// its interrupt since its handler last ran, the time from that raise.
    pub(super) fn record_irq_latency(&mut self, irq: IrqId, cx: &mut Cx) {
        let now = cx.sim.now();
        let mut raised = Vec::new();
        for a in &self.irqs[irq.idx()].actions {
            match a {
                IrqAction::NicQueue(n, q) => {
                    if let Some(queue) = cx.nics[n.idx()].queues.get_mut(q.idx()) {
                        raised.extend(queue.raised_at.take());
                    }
                }
                IrqAction::NicCause(n) => {
                    raised.extend(cx.nics[n.idx()].queues.iter_mut().filter_map(|queue| queue.raised_at.take()));
                }
                _ => {}
            }
        }
        for t in raised {
            self.stats.irq_latency.record_ns(now.since(t).as_ps() / 1000);
        }
    }

    /// The flow handler's entry half, when the vector is taken on `cpu`:
    /// returns the handler's CPU time. Edge flows ack here; a level flow
    /// written with the wrong etiquette EOIs here, before the cause is cleared.
    fn flow_entry(&mut self, irq: IrqId, cpu: CpuId, cx: &mut Cx) -> Dur {
        let cost = self.flow_cost(irq, cpu, cx);
        let desc = &mut self.irqs[irq.idx()];
        desc.count += 1;
        let c = cpu.idx();
        if desc.count_per_cpu.len() <= c {
            desc.count_per_cpu.resize(c + 1, 0);
        }
        desc.count_per_cpu[c] += 1;
        self.record_irq_latency(irq, cx);
        let desc = &mut self.irqs[irq.idx()];
        match desc.flow(self.params.cfg.level_flow) {
            Flow::Edge => self.chip_ack(irq, cpu, cx),
            Flow::FastEoi => {
                if self.adapter.level_eoi == LevelEoi::BeforeClear && !desc.spurious_disabled {
                    self.chip_eoi(irq, cpu, cx);
                }
            }
            Flow::Level => {
                // mask_ack_irq: masked, the EOI cannot re-deliver.
                self.chip_mask(irq, cx);
                self.chip_eoi(irq, cpu, cx);
            }
        }
        cost
    }

    /// The flow handler's exit half: the actions, `note_interrupt`, and the
    /// fasteoi EOI.
    pub(super) fn flow_exit(&mut self, irq: IrqId, cpu: CpuId, cx: &mut Cx) {
        let desc = &self.irqs[irq.idx()];
        let flow = desc.flow(self.params.cfg.level_flow);
        if desc.spurious_disabled {
            // handle_*_irq on a disabled descriptor: mask (and EOI), no action.
            self.irqs[irq.idx()].while_disabled += 1;
            self.chip_mask(irq, cx);
            if flow != Flow::Edge {
                self.chip_eoi(irq, cpu, cx);
            }
            return;
        }
        let handled = self.handle_irq_event(irq, cpu, cx);
        self.note_interrupt(irq, handled, cx);
        match flow {
            Flow::FastEoi if self.adapter.level_eoi == LevelEoi::AfterClear => self.chip_eoi(irq, cpu, cx),
            // cond_unmask_irq: a line still asserted delivers again at once.
            Flow::Level if !self.irqs[irq.idx()].spurious_disabled => self.chip_unmask(irq, cx),
            _ => {}
        }
    }

    /// `handle_irq_event`: run every action on `cpu`; handled if any claims it.
    fn handle_irq_event(&mut self, irq: IrqId, cpu: CpuId, cx: &mut Cx) -> bool {
        let mut handled = false;
        for k in 0..self.irqs[irq.idx()].actions.len() {
            handled |= match self.irqs[irq.idx()].actions[k] {
                IrqAction::NicQueue(_, q) => self.nic_queue_irq(cpu, q, cx),
                IrqAction::NicCause(_) => self.nic_cause_irq(cpu, cx),
                IrqAction::LevelDevice(d) => {
                    let sim = &mut *cx.sim;
                    cx.devices[d as usize].service(sim, cx.platform)
                }
                IrqAction::NicTx(_, q) => self.nic_tx_irq(cpu, q, cx),
                IrqAction::DmarFault => std::mem::take(&mut self.dma.fault_handled),
            };
        }
        handled
    }

    /// `note_interrupt()`: count, and disable a line nobody handles.
    fn note_interrupt(&mut self, irq: IrqId, handled: bool, cx: &mut Cx) {
        let now = cx.sim.now();
        let desc = &mut self.irqs[irq.idx()];
        if !handled {
            desc.unhandled += 1;
        }
        if self.params.cfg.noirqdebug {
            return;
        }
        if desc.detector.note_interrupt(now, handled) == Verdict::Disable {
            desc.spurious_disabled = true;
            desc.disabled_at = Some(now);
            self.chip_mask(irq, cx);
            if !self.spurious_poll_armed {
                self.spurious_poll_armed = true;
                self.at(cx, now + POLL_SPURIOUS_INTERVAL, KernelEvent::SpuriousPoll);
            }
        }
    }

    /// `poll_spurious_irqs()`: every 100 ms, run the actions of each
    /// disabled IRQ as if it had fired, then let softirqs run on its CPU.
    pub(super) fn spurious_poll(&mut self, cx: &mut Cx) {
        let now = cx.sim.now();
        for i in 0..self.irqs.len() {
            if !self.irqs[i].spurious_disabled {
                continue;
            }
            let irq = IrqId(i as u32);
            self.irqs[i].polled += 1;
            let cpu = self.irqs[i].cpu;
            self.handle_irq_event(irq, cpu, cx);
            // The poll runs from a timer softirq: pending NET_RX runs next
            // unless that CPU is already inside softirq or ksoftirqd.
            let c = cpu.idx();
            if self.cpus[c].interrupts_enabled() && !self.cpus[c].in_softirq() && !self.softnet[c].ksoftirqd_active() {
                self.cpus[c].pause(now);
                if self.softnet[c].pending {
                    self.do_softirq(cpu, cx);
                }
            }
            self.kick(cpu, cx);
        }
        self.at(cx, now + POLL_SPURIOUS_INTERVAL, KernelEvent::SpuriousPoll);
    }

    /// Pushes a frame on `cpu` (the frame below is already paused) and
    /// schedules its completion.
    pub(super) fn push_frame(&mut self, cpu: CpuId, ctx: Ctx, work: Work, cost: Dur, cx: &mut Cx) {
        let (at, epoch) = self.cpus[cpu.idx()].push(cx.sim.now(), ctx, work, cost);
        self.trace_frame_begin(cpu, ctx, work, cx.sim);
        self.at(cx, at, KernelEvent::CpuDone { cpu, epoch });
    }

    /// Schedules a CPU's frame completion.
    pub(super) fn schedule_cpu(&mut self, cpu: CpuId, (at, epoch): (Time, u64), cx: &mut Cx) {
        self.at(cx, at, KernelEvent::CpuDone { cpu, epoch });
    }
}
