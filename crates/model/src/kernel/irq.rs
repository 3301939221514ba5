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
//!   almost never handled is disabled ("nobody cared"), lazily (masked by
//!   the next interrupt), and then, if shared, polled every 100 ms on the
//!   CPU whose timer holds the poller (kernel/spurious.rs).
//! * After the handler, `irq_exit` runs pending softirqs inline unless the
//!   CPU is already in softirq context or — Linux 4.9–6.4,
//!   `kernel.softirq_defer = "ksoftirqd"` — its ksoftirqd is runnable
//!   (kernel/softirq.c `invoke_softirq`).

use super::cpu::{Ctx, Work};
use super::genirq::{IrqAction, IrqDesc};
use super::irqchip::{Flow, IrqChip, compose_msg};
use super::spurious::{POLL_SPURIOUS_INTERVAL, Verdict};
use super::vector::{CALL_FUNCTION_SINGLE_VECTOR, CALL_FUNCTION_VECTOR};
use super::{Cx, Kernel};
use crate::config::{LevelEoi, SoftirqDefer};
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
    /// deferred to ksoftirqd.
    pub(super) fn irq_exit(&mut self, cpu: CpuId, cx: &mut Cx) {
        if self.softnet[cpu.idx()].pending && !self.softirq_deferred(cpu) {
            self.do_softirq(cpu, cx);
        }
    }

    /// Whether `invoke_softirq()` (kernel/softirq.c) must leave pending
    /// softirqs on `cpu` for later: a softirq is already running there
    /// (`in_interrupt()`: a softirq frame on the stack, or ksoftirqd inside
    /// its `__do_softirq`, which runs with bottom halves disabled), or —
    /// with `kernel.softirq_defer = "ksoftirqd"`, Linux 4.9–6.4 — the CPU's
    /// ksoftirqd is runnable (`ksoftirqd_running()`, added by commit
    /// 4cd13c21b207 "softirq: Let ksoftirqd do its job", removed in 6.5 by
    /// commit d15121be7485, its revert).
    pub(super) fn softirq_deferred(&self, cpu: CpuId) -> bool {
        let c = cpu.idx();
        let ksoftirqd = self.params.cfg.softirq_defer == SoftirqDefer::Ksoftirqd && self.softnet[c].ksoftirqd_active();
        self.cpus[c].in_softirq() || self.softnet[c].round.is_some() || ksoftirqd
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
        self.irqs[irq.idx()].shared = true;
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
        let (actions, latency) = (&self.irqs[irq.idx()].actions, &mut self.stats.irq_latency);
        let mut record = |t: Time| latency.record_ns(now.since(t).as_ps() / 1000);
        for a in actions {
            match a {
                IrqAction::NicQueue(n, q) => {
                    if let Some(t) = cx.nics[n.idx()].queues.get_mut(q.idx()).and_then(|queue| queue.raised_at.take()) {
                        record(t);
                    }
                }
                IrqAction::NicCause(n) => {
                    cx.nics[n.idx()].queues.iter_mut().filter_map(|queue| queue.raised_at.take()).for_each(&mut record);
                }
                _ => {}
            }
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
        self.note_interrupt(irq, cpu, handled, cx);
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

    /// `note_interrupt()` on `cpu`: count, and disable a line nobody
    /// handles.
    ///
    /// The disable is lazy, as `irq_disable()` is without
    /// `IRQ_DISABLE_UNLAZY` on chips with no `irq_disable` callback (the
    /// IO-APIC, PCI-MSI and vector chips; kernel/irq/chip.c
    /// `__irq_disable`): the descriptor is marked disabled and the line
    /// stays unmasked until one more interrupt arrives, which the flow
    /// handler then masks (`flow_exit`). Then, as kernel/irq/spurious.c
    /// `note_interrupt()` does, `mod_timer(&poll_spurious_irq_timer,
    /// jiffies + POLL_SPURIOUS_IRQ_INTERVAL)`: on every disable the poll
    /// timer moves to 100 ms from now, onto this CPU's timer base.
    fn note_interrupt(&mut self, irq: IrqId, cpu: CpuId, handled: bool, cx: &mut Cx) {
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
            self.mod_spurious_timer(cpu, cx);
        }
    }

    /// `mod_timer(&poll_spurious_irq_timer, jiffies +
    /// POLL_SPURIOUS_IRQ_INTERVAL)` called on `cpu`: the pending timer, if
    /// any, is replaced by one 100 ms from now on `cpu`'s timer base (an
    /// event of the replaced timer that still comes is stale and ignored).
    fn mod_spurious_timer(&mut self, cpu: CpuId, cx: &mut Cx) {
        let at = cx.sim.now() + POLL_SPURIOUS_INTERVAL;
        let already = self.spurious_timer.is_some_and(|(t, _)| t == at);
        self.spurious_timer = Some((at, cpu));
        if !already {
            self.at(cx, at, KernelEvent::SpuriousPoll);
        }
    }

    /// `poll_spurious_irqs()`, the timer callback, on the CPU whose timer
    /// base holds the timer: for each spurious-disabled line,
    /// `try_one_irq(desc, true)` runs the actions **on this CPU**, but only
    /// on a line whose first action has `IRQF_SHARED` ("All handlers must
    /// agree on IRQF_SHARED, so we test just the first"); then the timer
    /// is re-armed on this CPU. Pending softirqs (NET_RX raised by the
    /// actions) run next on this CPU, unless it is already inside softirq
    /// or its ksoftirqd.
    pub(super) fn spurious_poll(&mut self, cx: &mut Cx) {
        let now = cx.sim.now();
        let cpu = match self.spurious_timer {
            Some((at, cpu)) if at == now => cpu,
            // A timer replaced by a later mod_timer, or one already run.
            _ => return,
        };
        let mut ran = false;
        for i in 0..self.irqs.len() {
            if !self.irqs[i].spurious_disabled || !self.irqs[i].shared {
                continue;
            }
            let irq = IrqId(i as u32);
            self.irqs[i].polled += 1;
            self.handle_irq_event(irq, cpu, cx);
            ran = true;
        }
        if ran {
            let c = cpu.idx();
            if self.cpus[c].interrupts_enabled() && !self.softirq_deferred(cpu) {
                self.cpus[c].pause(now);
                if self.softnet[c].pending {
                    self.do_softirq(cpu, cx);
                }
            }
            self.kick(cpu, cx);
        }
        self.spurious_timer = None;
        self.mod_spurious_timer(cpu, cx);
    }

    /// Pushes a frame on `cpu` (the frame below is already paused) and
    /// schedules its completion.
    pub(super) fn push_frame(&mut self, cpu: CpuId, ctx: Ctx, work: Work, cost: Dur, cx: &mut Cx) {
        let done = self.cpus[cpu.idx()].push(cx.sim.now(), ctx, work, cost);
        self.trace_frame_begin(cpu, ctx, work, cx.sim);
        self.schedule_cpu(cpu, done, cx);
    }

    /// Schedules a CPU's frame completion, in the CPU's timer when it has
    /// one (the completion it replaces is stale: its epoch has passed).
    pub(super) fn schedule_cpu(&mut self, cpu: CpuId, (at, epoch): (Time, u64), cx: &mut Cx) {
        let ev = KernelEvent::CpuDone { cpu, epoch };
        match self.cpus[cpu.idx()].timer {
            Some(t) => cx.sim.at_timer(t, at, crate::sim::Event::Kernel { kernel: self.id, ev }),
            None => self.at(cx, at, ev),
        }
    }
}

#[cfg(test)]
mod tests {
    //! The "nobody cared" path after the disable, against Linux
    //! kernel/irq/spurious.c (`note_interrupt`, `poll_spurious_irqs`,
    //! `try_one_irq`) and kernel/irq/chip.c (`__irq_disable`).

    use super::super::spurious::{POLL_SPURIOUS_INTERVAL, SPURIOUS_WINDOW};
    use crate::config::{CauseClear, DeviceConfig, InterruptMode, LevelEoi, Scenario, TriggerKind};
    use crate::ids::{CpuId, IrqId};
    use crate::machine::Machine;
    use irqlab_engine::{Dur, Time};

    const NIC_PIN: u8 = 16;

    /// A NIC on a level INTx line (pin 16, core 0 of 2) whose driver EOIs
    /// before clearing the cause, so the line storms until "nobody cared"
    /// disables it; with `device`, a quiet level device on pin 17 served
    /// from core 1.
    fn storming(device: bool) -> Machine {
        let mut s = Scenario::default();
        s.duration_ms = 2_000.0;
        s.machine.cores = 2;
        s.nic.queues = 2;
        s.nic.interrupt_mode = InterruptMode::Intx;
        s.nic.intx_trigger = TriggerKind::Level;
        s.nic.intx_pin = u32::from(NIC_PIN);
        s.nic.affinity = Some(vec![0]);
        s.driver.level_eoi = LevelEoi::BeforeClear;
        s.workload.rate_pps = Some(100_000.0);
        if device {
            s.devices = vec![DeviceConfig {
                name: "disk".into(),
                pin: 17,
                rate_hz: 10.0,
                clear: CauseClear::Read,
                handler_ns: 300.0,
                core: 1,
            }];
        }
        assert!(s.validate().is_empty(), "{:?}", s.validate());
        Machine::new(&s).expect("valid")
    }

    fn nic_irq(m: &mut Machine) -> IrqId {
        m.with_host(|k, _| k.adapter.irq_of_queue[0].expect("the INTx IRQ"))
    }

    /// Runs until the NIC's line is spurious-disabled; returns when.
    fn until_disabled(m: &mut Machine, irq: IrqId) -> Time {
        assert!(m.step_until(Time::ZERO + Dur::from_ms(1_000), |k| k.irqs[irq.idx()].spurious_disabled));
        m.now()
    }

    fn packets(m: &mut Machine, cpu: usize) -> u64 {
        m.with_host(|k, _| k.softnet[cpu].counts.packets)
    }

    #[test]
    fn only_intx_and_shared_level_lines_are_irqf_shared() {
        let mut m = storming(true);
        m.with_host(|k, _| {
            assert_eq!(k.irqs.len(), 2);
            assert!(k.irqs.iter().all(|d| d.shared), "INTx (IRQF_SHARED) and request_shared_irq");
        });
        let mut s = Scenario::default();
        s.duration_ms = 1.0;
        for mode in [InterruptMode::Msix, InterruptMode::Msi] {
            s.nic.interrupt_mode = mode;
            let mut m = Machine::new(&s).expect("valid");
            m.with_host(|k, _| assert!(k.irqs.iter().all(|d| !d.shared), "{mode:?} vectors are never shared"));
        }
    }

    /// kernel/irq/chip.c `__irq_disable` without `IRQ_DISABLE_UNLAZY` and
    /// with no chip `irq_disable`: the disable only marks the descriptor;
    /// `handle_fasteoi_irq` masks the line when the next interrupt finds it
    /// disabled. kernel/irq/spurious.c `note_interrupt`: `mod_timer` arms
    /// the poll 100 ms from the disable, on the disabling CPU.
    #[test]
    fn the_disable_is_lazy_and_arms_the_poll_on_the_disabling_cpu() {
        let mut m = storming(false);
        let irq = nic_irq(&mut m);
        let t = until_disabled(&mut m, irq);
        m.with_host(|k, cx| {
            assert!(!cx.platform.ioapic_masked(NIC_PIN), "not masked by the disable itself");
            assert_eq!(k.irqs[irq.idx()].while_disabled, 0);
            assert_eq!(k.spurious_timer, Some((t + POLL_SPURIOUS_INTERVAL, CpuId(0))));
        });
        // The line is still asserted: the next interrupt is masked by the flow handler.
        assert!(m.step_until(t + Dur::from_ms(1), |k| k.irqs[irq.idx()].while_disabled > 0));
        m.with_host(|k, cx| {
            assert!(cx.platform.ioapic_masked(NIC_PIN), "masked by the interrupt that found it disabled");
            assert_eq!(k.irqs[irq.idx()].while_disabled, 1);
        });
        assert!(!m.step_until(t + Dur::from_ms(50), |k| k.irqs[irq.idx()].while_disabled > 1), "masked: no more");
    }

    /// kernel/irq/spurious.c: every disable calls `mod_timer`, which moves
    /// a pending poll timer to 100 ms from now on the calling CPU; the
    /// poller (`poll_spurious_irqs` → `try_one_irq`) runs the handlers on
    /// the CPU the timer fires on, and re-arms there.
    #[test]
    fn a_second_disable_moves_the_poll_and_the_poll_runs_on_the_timers_cpu() {
        let mut m = storming(true);
        let nic = nic_irq(&mut m);
        let t = until_disabled(&mut m, nic);
        m.step_until(t + Dur::from_ms(50), |_| false);
        // A second line goes bad on CPU 1: 100,000 unhandled interrupts.
        m.with_host(|k, cx| {
            let disk = IrqId(1);
            assert_eq!(k.irqs[disk.idx()].cpu, CpuId(1));
            for _ in 0..SPURIOUS_WINDOW {
                k.note_interrupt(disk, CpuId(1), false, cx);
            }
            assert!(k.irqs[disk.idx()].spurious_disabled);
            let at = t + Dur::from_ms(50) + POLL_SPURIOUS_INTERVAL;
            assert_eq!(k.spurious_timer, Some((at, CpuId(1))), "moved by the second disable");
        });
        // No poll at the first timer's old expiry.
        m.step_until(t + POLL_SPURIOUS_INTERVAL + Dur::from_ms(1), |_| false);
        assert_eq!(m.with_host(|k, _| k.irqs[nic.idx()].polled), 0);
        let (cpu0, cpu1) = (packets(&mut m, 0), packets(&mut m, 1));
        // The poll at +150 ms runs the NIC's handler on CPU 1: its NAPI, and
        // the packets, go there.
        m.step_until(t + Dur::from_ms(160), |_| false);
        m.with_host(|k, _| {
            assert_eq!((k.irqs[nic.idx()].polled, k.irqs[1].polled), (1, 1));
            assert_eq!(k.spurious_timer, Some((t + Dur::from_ms(250), CpuId(1))), "re-armed on its CPU");
        });
        assert_eq!(packets(&mut m, 0), cpu0, "nothing on the IRQ's own CPU");
        assert!(packets(&mut m, 1) > cpu1 + 1_000, "the ring drained on the poller's CPU");
    }

    /// kernel/irq/spurious.c `try_one_irq`: "All handlers must agree on
    /// IRQF_SHARED, so we test just the first" — a disabled line without
    /// it is never polled, though the timer keeps running.
    #[test]
    fn the_poller_skips_a_line_that_is_not_shared() {
        let mut m = storming(false);
        let irq = nic_irq(&mut m);
        let t = until_disabled(&mut m, irq);
        m.with_host(|k, _| k.irqs[irq.idx()].shared = false);
        m.step_until(t + Dur::from_ms(50), |_| false);
        let before = packets(&mut m, 0) + packets(&mut m, 1);
        m.step_until(t + Dur::from_ms(350), |_| false);
        m.with_host(|k, _| {
            assert_eq!(k.irqs[irq.idx()].polled, 0);
            assert_eq!(k.spurious_timer, Some((t + Dur::from_ms(400), CpuId(0))));
        });
        assert_eq!(packets(&mut m, 0) + packets(&mut m, 1), before, "a dead line: nothing received");
        // The same line shared is polled every 100 ms.
        let mut m = storming(false);
        let t = until_disabled(&mut m, irq);
        m.step_until(t + Dur::from_ms(350), |_| false);
        assert_eq!(m.with_host(|k, _| k.irqs[irq.idx()].polled), 3);
    }
}
