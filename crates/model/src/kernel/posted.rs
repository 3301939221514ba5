//! Posted MSIs on the host (Linux 6.10+ `intremap=posted_msi`,
//! arch/x86/kernel/irq.c `sysvec_posted_msi_notification`).
//!
//! Device MSIs go through posted-format IRTEs into their target CPU's
//! posted-interrupt descriptor (irqchip.rs `IrChip`); the remapping
//! hardware notifies the CPU with `POSTED_MSI_NOTIFICATION_VECTOR` (0xeb)
//! only when ON was clear. The notification's handler:
//!
//! ```text
//! while (++i < MAX_POSTED_MSI_COALESCING_LOOP)     // at most 2 scans
//!         if (!handle_pending_pir(pid->pir64, regs)) break;
//! pi_clear_on(pid);                               // new posts notify again
//! handle_pending_pir(pid->pir64, regs);           // the race's last scan
//! apic_eoi();
//! ```
//!
//! where `handle_pending_pir` takes each PIR word with an `xchg` and runs
//! the handler of every vector found — with no interrupt entry, exit or
//! EOI of its own: a burst of device interrupts costs one notification.
//! Each scan is one hard-IRQ frame; a vector's flow handler splits across
//! it as for a vector the APIC delivered (entry half when the scan starts,
//! actions when its frame ends), without the local-APIC ack.

use super::cpu::{Ctx, Work};
use super::vector::MAX_POSTED_MSI_COALESCING_LOOP;
use super::{Cx, Kernel};
use crate::ids::CpuId;
use crate::platform::memory::posted_msi_pid;
use crate::sim::Fault;
use irqlab_engine::Dur;
use irqlab_hw::vtd::pid::{POSTED_MSI_NOTIFICATION_VECTOR, PostedInterruptDescriptor};

impl Kernel {
    /// The address of `cpu`'s descriptor.
    fn pid_addr(&self, cpu: CpuId, cx: &Cx) -> u64 {
        posted_msi_pid(cx.platform.topo.apic_id(self.core(cpu)))
    }

    /// Updates `cpu`'s descriptor.
    fn with_pid<R>(&self, cpu: CpuId, cx: &mut Cx, f: impl FnOnce(&mut PostedInterruptDescriptor) -> R) -> R {
        let (pda, now) = (self.pid_addr(cpu, cx), cx.sim.now());
        cx.platform.memory.update_pid(pda, now, f)
    }

    /// Device vectors still posted in `cpu`'s descriptor.
    pub fn posted_pending(&self, cpu: CpuId, platform: &crate::platform::Platform) -> u64 {
        let pda = posted_msi_pid(platform.topo.apic_id(self.core(cpu)));
        (0..4).map(|i| platform.memory.sample(pda + 8 * i, irqlab_engine::Time(u64::MAX)).0.count_ones() as u64).sum()
    }

    /// The notification was taken on `cpu`: the first scan. Returns its
    /// CPU time (the EOI comes at the end).
    pub(super) fn posted_msi_entry(&mut self, cpu: CpuId, cx: &mut Cx) -> Dur {
        self.stats.posted_notifications += 1;
        self.stats.sysvec.pmn[cpu.idx()] += 1;
        let run = &mut self.posted_runs[cpu.idx()];
        run.rounds = 0;
        run.on_cleared = false;
        cx.sim.costs.lapic_eoi + self.posted_msi_scan(cpu, cx)
    }

    /// `handle_pending_pir`: take the PIR (one `xchg` per 64-bit word) and
    /// start each vector's handler; returns the scan's CPU time.
    fn posted_msi_scan(&mut self, cpu: CpuId, cx: &mut Cx) -> Dur {
        let costs = cx.sim.costs;
        let mut vectors = self.with_pid(cpu, cx, |pid| pid.take_pir());
        self.stats.posted_scans += 1;
        if !cx.sim.faults.fire(Fault::PirTakeUncounted) {
            self.stats.posted_taken += vectors.len() as u64;
        }
        let mut cost = costs.locked_rmw.times(4);
        for v in &vectors {
            match self.vectors[cpu.idx()].irq(*v) {
                Some(irq) => {
                    let d = &mut self.irqs[irq.idx()];
                    d.count += 1;
                    if d.count_per_cpu.len() <= cpu.idx() {
                        d.count_per_cpu.resize(cpu.idx() + 1, 0);
                    }
                    d.count_per_cpu[cpu.idx()] += 1;
                    self.record_irq_latency(irq, cx);
                    // The flow's cost without its local-APIC ack: the
                    // vector never went through the APIC.
                    cost += Dur(self.flow_cost(irq, cpu, cx).0.saturating_sub(costs.lapic_eoi.0));
                }
                None => self.stats.spurious_vectors += 1,
            }
        }
        let run = &mut self.posted_runs[cpu.idx()];
        run.rounds += 1;
        run.found = !vectors.is_empty();
        std::mem::swap(&mut run.vectors, &mut vectors);
        cost
    }

    /// A scan's frame ended: the actions of the vectors it took; then the
    /// next scan, or the EOI. Returns whether the handler is done.
    pub(super) fn posted_msi_scan_done(&mut self, cpu: CpuId, cx: &mut Cx) -> bool {
        let c = cpu.idx();
        let vectors = std::mem::take(&mut self.posted_runs[c].vectors);
        for v in &vectors {
            if let Some(irq) = self.vectors[c].irq(*v) {
                self.flow_exit(irq, cpu, cx);
            }
        }
        self.posted_runs[c].vectors = vectors;
        self.posted_runs[c].vectors.clear();
        let run = &self.posted_runs[c];
        if run.on_cleared {
            let core = self.core(cpu);
            cx.platform.lapic_eoi(core, cx.sim);
            return true;
        }
        let mut cost = Dur::ZERO;
        if !(run.found && run.rounds < MAX_POSTED_MSI_COALESCING_LOOP - 1) {
            // pi_clear_on: new posts notify again; then the last scan.
            self.with_pid(cpu, cx, |pid| pid.on = false);
            self.posted_runs[c].on_cleared = true;
            cost += cx.sim.costs.locked_rmw;
        }
        cost += self.posted_msi_scan(cpu, cx);
        let vector = POSTED_MSI_NOTIFICATION_VECTOR;
        self.push_frame(cpu, Ctx::Hardirq, Work::HardIrq { vector }, cost, cx);
        false
    }
}
