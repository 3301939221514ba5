//! The kernel's side of a traced run (crate::trace): what the frame it
//! pushes is, in the names of Linux's tracepoints — the IRQ behind a
//! hard-IRQ vector (`irq_handler_entry`), the NAPI instance and budget of a
//! poll (`napi_poll`) — and the hooks that report frames and socket
//! queues (deliveries are reported where they are recorded, kernel/recv.rs). Each hook is one `Option` check when the run is not traced.

use super::Kernel;
use super::cpu::{Ctx, Work};
use crate::ids::{CpuId, ThreadId};
use crate::sim::Sim;
use crate::trace::{CounterKey, SliceKind};

impl Kernel {
    /// What a frame about to be pushed on `cpu` shows in a trace.
    fn trace_kind(&self, cpu: CpuId, work: Work) -> SliceKind {
        let c = cpu.idx();
        match work {
            Work::HardIrq { vector } => SliceKind::HardIrq { vector, irq: self.vectors[c].irq(vector) },
            Work::Poll { n } => match self.softnet[c].last_poll {
                Some((napi, _)) => SliceKind::NapiPoll { napi, work: n, budget: self.weight(napi) },
                None => SliceKind::Frame(work),
            },
            w => SliceKind::Frame(w),
        }
    }

    /// A frame was pushed on `cpu`.
    #[inline]
    pub(super) fn trace_frame_begin(&self, cpu: CpuId, ctx: Ctx, work: Work, sim: &mut Sim) {
        if sim.trace.is_some() {
            self.traced_frame_begin(cpu, ctx, work, sim);
        }
    }

    #[cold]
    #[inline(never)]
    fn traced_frame_begin(&self, cpu: CpuId, ctx: Ctx, work: Work, sim: &mut Sim) {
        let kind = self.trace_kind(cpu, work);
        let now = sim.now();
        if let Some(t) = sim.trace.as_deref_mut() {
            t.frame_begin(self.id, cpu, now, ctx, work, kind);
        }
    }

    /// `cpu`'s running frame completed.
    #[inline]
    pub(super) fn trace_frame_end(&self, cpu: CpuId, sim: &mut Sim) {
        if sim.trace.is_some() {
            let now = sim.now();
            if let Some(t) = sim.trace.as_deref_mut() {
                t.frame_end(self.id, cpu, now);
            }
        }
    }

    /// Thread `t`'s socket receive queue changed.
    #[inline]
    pub(super) fn trace_socket_queue(&self, t: ThreadId, sim: &mut Sim) {
        if sim.trace.is_some() {
            let now = sim.now();
            if let Some(tr) = sim.trace.as_deref_mut() {
                let key = CounterKey::SocketQueue { kernel: self.id, thread: t };
                tr.counter(key, now, self.threads[t.idx()].queue.len() as u64);
            }
        }
    }
}
