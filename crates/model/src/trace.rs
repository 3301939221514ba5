//! A run's timeline for a trace viewer: what each CPU ran and when, each RX
//! queue's DMA landings, sampled packets from their DMA to their reader, and
//! the occupancy of rings and socket receive queues.
//!
//! This is the capture half of `irqlab run --trace` (the writer of Chrome's
//! Trace Event format is in `irqlab-report`). It is named after what Linux's
//! tracepoints would show on the same machine: `irq_handler_entry`/`exit`
//! (a hard-IRQ frame), `softirq_entry`/`exit` (a run of softirq frames),
//! `napi_poll` (one poll, with its work and budget), `sched_switch` (a task's
//! time on its CPU), `net_dev_xmit` (the sender's batch), and the idle task.
//!
//! The capture is an optional sink on [`Sim`](crate::sim::Sim): `None`
//! unless a run asks for it, so a run without a trace pays one `Option`
//! check per hook and is otherwise unchanged (the sink's methods are
//! `#[cold]`, so the checks do not change how the hot paths are compiled). The tracer only observes —
//! it never schedules an event or touches a part's state — so a run's
//! metrics are the same with and without it.
//!
//! **Bounded.** Only what happens inside the window `[start, end)` is kept;
//! slices that straddle an edge are clipped to it. A packet is followed
//! from its DMA to its delivery (a flow arrow) for one landed frame in
//! `sample_every`; a counter sample is kept only when its value changes
//! (the last value at an instant wins).
//!
//! Left out: per-packet `netif_receive_skb`, the IOMMU's walks, the
//! platform's APIC traffic, and the drain after the run.

use crate::ids::{CpuId, FlowId, IrqId, KernelId, NicId, QueueId, ThreadId};
use crate::kernel::cpu::{Ctx, Task, Work};
use crate::kernel::softnet::PollItem;
use irqlab_engine::Time;
use std::collections::BTreeMap;

/// What to capture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceConfig {
    /// The window's first instant.
    pub start: Time,
    /// The instant after the window (clamped to the run's end).
    pub end: Time,
    /// Follow one landed frame in this many from DMA to delivery (0: none).
    pub sample_every: u64,
}

/// Where a slice, a flow arrow's end or a counter is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Track {
    /// One CPU of one kernel (a vCPU for a guest kernel).
    Cpu {
        /// The kernel.
        kernel: KernelId,
        /// Its CPU.
        cpu: CpuId,
    },
    /// One RX queue of a NIC: its DMA landings.
    RxQueue {
        /// The NIC.
        nic: NicId,
        /// The queue.
        queue: QueueId,
    },
}

/// A softirq vector (`NET_RX_SOFTIRQ`, `TIMER_SOFTIRQ`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SoftirqVec {
    /// `NET_RX`: `net_rx_action`.
    NetRx,
    /// `TIMER`: timer callbacks (the IOMMU flush queue's).
    Timer,
}

/// What a slice shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SliceKind {
    /// A hard-IRQ handler (`irq_handler_entry`/`irq_handler_exit`): the
    /// vector taken and the IRQ wired to it (none for a system vector).
    HardIrq {
        /// The vector on its CPU.
        vector: u8,
        /// The IRQ descriptor.
        irq: Option<IrqId>,
    },
    /// One NAPI poll (`napi_poll`): `work` packets taken of `budget`.
    NapiPoll {
        /// The instance polled.
        napi: PollItem,
        /// Packets taken.
        work: u32,
        /// Its weight.
        budget: u32,
    },
    /// Any other frame of a CPU's context stack.
    Frame(Work),
    /// Consecutive softirq frames of one vector (`softirq_entry`/`exit`).
    Softirq(SoftirqVec),
    /// A task's time on its CPU, between two `sched_switch`es.
    Task(Task),
    /// The CPU runs nothing (the idle task, `swapper/N`).
    Idle,
    /// A frame's DMA on its RX queue, from its last bit on the wire (or the
    /// queue's previous landing, whichever is later) to its write-back.
    RxDma {
        /// Its flow.
        flow: FlowId,
        /// Frame bytes.
        bytes: u32,
    },
}

/// An interval of a track.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slice {
    /// Where.
    pub track: Track,
    /// Its start (inside the window).
    pub start: Time,
    /// Its end (inside the window, or the window's end).
    pub end: Time,
    /// What.
    pub kind: SliceKind,
}

/// A sampled packet's path: from its DMA landing to its delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowArrow {
    /// The packet's landing ordinal on its NIC (unique in a run).
    pub id: u64,
    /// The RX queue track and the start of the packet's DMA slice.
    pub from: (Track, Time),
    /// The reader's CPU track and the end of the packet's copy.
    pub to: (Track, Time),
}

/// A value that changes over a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum CounterKey {
    /// Frames landed in an RX ring and not yet taken by a poll.
    Ring {
        /// The NIC.
        nic: NicId,
        /// The queue.
        queue: QueueId,
    },
    /// Packets queued on a reader's sockets (`sk_receive_queue`), not yet read.
    SocketQueue {
        /// The kernel.
        kernel: KernelId,
        /// The reading thread.
        thread: ThreadId,
    },
}

/// One value of a counter from an instant on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CounterSample {
    /// Which counter.
    pub key: CounterKey,
    /// From when.
    pub at: Time,
    /// Its value.
    pub value: u64,
}

/// A captured timeline, every instant inside its window.
#[derive(Clone, Debug, Default)]
pub struct Trace {
    /// The window's first instant.
    pub start: Time,
    /// The instant after the window.
    pub end: Time,
    /// Slices, in the order they ended.
    pub slices: Vec<Slice>,
    /// Sampled packets delivered inside the window.
    pub flows: Vec<FlowArrow>,
    /// Counter samples, in the order they were taken (per counter, in time order).
    pub counters: Vec<CounterSample>,
    /// The CPUs of each kernel (tracks that exist even if they stayed idle).
    pub cpus: Vec<u32>,
    /// The RX queues of each NIC.
    pub queues: Vec<u32>,
}

/// A run of frames drawn as one enclosing slice (a task, a softirq run).
#[derive(Clone, Copy, Debug)]
struct Group {
    kind: SliceKind,
    start: Time,
    /// Its last frame ended here; the next frame at the same depth, of the
    /// same kind and at the same instant, continues it.
    ended: Option<Time>,
}

/// One CPU's open frames and groups, by stack depth.
#[derive(Debug, Default)]
struct CpuTrack {
    frames: Vec<(Time, SliceKind)>,
    groups: Vec<Option<Group>>,
    idle_since: Option<Time>,
}

/// The sink a traced run's parts report to.
#[derive(Debug)]
pub struct Tracer {
    cfg: TraceConfig,
    trace: Trace,
    cpus: Vec<Vec<CpuTrack>>,
    /// Each RX queue's last landing (the next DMA slice starts no earlier).
    last_landing: BTreeMap<(NicId, QueueId), Time>,
    /// Frames landed so far (the sampling ordinal).
    landed: u64,
    /// Sampled packets not yet delivered: (flow, seq) → (id, from).
    sampled: BTreeMap<(FlowId, u32), (u64, Track, Time)>,
    /// Each counter's last value and the index of its last sample inside the window.
    counters: BTreeMap<CounterKey, (u64, Option<usize>)>,
}

/// The enclosing slice a frame belongs to, if any: its task, or its
/// softirq vector's run.
fn group_of(ctx: Ctx, work: Work) -> Option<SliceKind> {
    match (ctx, work) {
        (Ctx::Softirq, Work::Timer) => Some(SliceKind::Softirq(SoftirqVec::Timer)),
        (Ctx::Softirq, _) => Some(SliceKind::Softirq(SoftirqVec::NetRx)),
        (Ctx::Kthread, _) => Some(SliceKind::Task(Task::Ksoftirqd)),
        (Ctx::User, Work::Send) => Some(SliceKind::Task(Task::Sender)),
        (Ctx::User, Work::Compute { idx }) => Some(SliceKind::Task(Task::Compute(idx))),
        (Ctx::User, w) => w.thread().map(|t| SliceKind::Task(Task::App(t))),
        (Ctx::Hardirq | Ctx::Vmm, _) => None,
    }
}

impl Tracer {
    /// A tracer for a window (its end clamped to the run's `run_end`).
    pub fn new(cfg: TraceConfig, run_end: Time) -> Tracer {
        let cfg = TraceConfig { end: cfg.end.min(run_end), ..cfg };
        Tracer {
            cfg,
            trace: Trace { start: cfg.start, end: cfg.end, ..Trace::default() },
            cpus: Vec::new(),
            last_landing: BTreeMap::new(),
            landed: 0,
            sampled: BTreeMap::new(),
            counters: BTreeMap::new(),
        }
    }

    /// The window, as clamped.
    pub fn config(&self) -> TraceConfig {
        self.cfg
    }

    fn cpu(&mut self, kernel: KernelId, cpu: CpuId) -> &mut CpuTrack {
        let k = kernel.idx();
        if self.cpus.len() <= k {
            self.cpus.resize_with(k + 1, Vec::new);
        }
        let cpus = &mut self.cpus[k];
        if cpus.len() <= cpu.idx() {
            cpus.resize_with(cpu.idx() + 1, || CpuTrack { idle_since: Some(Time::ZERO), ..CpuTrack::default() });
        }
        &mut cpus[cpu.idx()]
    }

    /// Keeps the part of `[start, end]` inside the window.
    fn emit(trace: &mut Trace, cfg: &TraceConfig, track: Track, start: Time, end: Time, kind: SliceKind) {
        if end < cfg.start || start >= cfg.end {
            return;
        }
        let (start, end) = (start.max(cfg.start), end.min(cfg.end));
        trace.slices.push(Slice { track, start, end, kind });
    }

    /// Ends the groups at depth `from` and above: those still open at
    /// `at`, those whose last frame ended at the time it did.
    fn close_groups(&mut self, kernel: KernelId, cpu: CpuId, from: usize, at: Time) {
        let track = Track::Cpu { kernel, cpu };
        self.cpu(kernel, cpu);
        let Tracer { cfg, trace, cpus, .. } = self;
        for g in cpus[kernel.idx()][cpu.idx()].groups.iter_mut().skip(from) {
            if let Some(g) = g.take() {
                Self::emit(trace, cfg, track, g.start, g.ended.unwrap_or(at), g.kind);
            }
        }
    }

    /// A frame was pushed on `cpu`'s context stack at `at`.
    #[cold]
    pub fn frame_begin(&mut self, kernel: KernelId, cpu: CpuId, at: Time, ctx: Ctx, work: Work, kind: SliceKind) {
        let track = Track::Cpu { kernel, cpu };
        let depth = self.cpu(kernel, cpu).frames.len();
        if depth == 0
            && let Some(since) = self.cpu(kernel, cpu).idle_since.take()
            && at > since
        {
            Self::emit(&mut self.trace, &self.cfg, track, since, at, SliceKind::Idle);
        }
        self.close_groups(kernel, cpu, depth + 1, at);
        let group = group_of(ctx, work);
        let c = self.cpu(kernel, cpu);
        if c.groups.len() <= depth {
            c.groups.resize(depth + 1, None);
        }
        let continues = matches!(c.groups[depth], Some(g) if Some(g.kind) == group && g.ended == Some(at));
        if continues {
            if let Some(g) = c.groups[depth].as_mut() {
                g.ended = None;
            }
        } else {
            self.close_groups(kernel, cpu, depth, at);
            if let Some(kind) = group {
                self.cpu(kernel, cpu).groups[depth] = Some(Group { kind, start: at, ended: None });
            }
        }
        self.cpu(kernel, cpu).frames.push((at, kind));
    }

    /// The running frame of `cpu` completed at `at`.
    #[cold]
    pub fn frame_end(&mut self, kernel: KernelId, cpu: CpuId, at: Time) {
        let track = Track::Cpu { kernel, cpu };
        let c = self.cpu(kernel, cpu);
        let Some((start, kind)) = c.frames.pop() else { return };
        let depth = c.frames.len();
        if let Some(Some(g)) = c.groups.get_mut(depth) {
            g.ended = Some(at);
        }
        if depth == 0 {
            c.idle_since = Some(at);
        }
        Self::emit(&mut self.trace, &self.cfg, track, start, at, kind);
        self.close_groups(kernel, cpu, depth + 1, at);
    }

    /// A counter's value changed at `at`.
    #[cold]
    pub fn counter(&mut self, key: CounterKey, at: Time, value: u64) {
        if at >= self.cfg.end {
            return;
        }
        let entry = self.counters.entry(key).or_insert((0, None));
        let previous = entry.0;
        entry.0 = value;
        if at < self.cfg.start {
            return;
        }
        let samples = &mut self.trace.counters;
        match entry.1 {
            Some(i) if samples[i].at == at => samples[i].value = value,
            Some(_) => {
                entry.1 = Some(samples.len());
                samples.push(CounterSample { key, at, value });
            }
            None => {
                // The first change inside the window: the value it had at the window's start.
                if at > self.cfg.start {
                    samples.push(CounterSample { key, at: self.cfg.start, value: previous });
                }
                entry.1 = Some(samples.len());
                samples.push(CounterSample { key, at, value });
            }
        }
    }

    /// A frame's descriptor write-back on an RX queue at `done` (its last
    /// bit reached the NIC at `wire`); the ring now holds `ring_len` frames.
    #[allow(clippy::too_many_arguments)]
    #[cold]
    pub fn rx_landed(
        &mut self,
        nic: NicId,
        queue: QueueId,
        flow: FlowId,
        seq: u32,
        bytes: u32,
        wire: Time,
        done: Time,
        ring_len: usize,
    ) {
        self.landed += 1;
        let track = Track::RxQueue { nic, queue };
        let start = self.last_landing.insert((nic, queue), done).map_or(wire, |last| wire.max(last));
        Self::emit(&mut self.trace, &self.cfg, track, start, done, SliceKind::RxDma { flow, bytes });
        let every = self.cfg.sample_every;
        if every > 0 && self.landed.is_multiple_of(every) && done >= self.cfg.start && done < self.cfg.end {
            self.sampled.insert((flow, seq), (self.landed, track, start.max(self.cfg.start)));
        }
        self.counter(CounterKey::Ring { nic, queue }, done, ring_len as u64);
    }

    /// A poll took frames from an RX queue at `at`, leaving `ring_len`.
    #[cold]
    pub fn rx_taken(&mut self, nic: NicId, queue: QueueId, at: Time, ring_len: usize) {
        self.counter(CounterKey::Ring { nic, queue }, at, ring_len as u64);
    }

    /// A packet's copy to its reader on `cpu` ended at `at`.
    #[cold]
    pub fn delivered(&mut self, kernel: KernelId, cpu: CpuId, flow: FlowId, seq: u32, at: Time) {
        if self.sampled.is_empty() {
            return;
        }
        if let Some((id, track, from)) = self.sampled.remove(&(flow, seq))
            && at < self.cfg.end
        {
            self.trace.flows.push(FlowArrow { id, from: (track, from), to: (Track::Cpu { kernel, cpu }, at) });
        }
    }

    /// The run ended at `at`: closes every open slice. `cpus` gives each
    /// kernel's CPU count and `queues` each NIC's RX queue count.
    pub fn finish(mut self, at: Time, cpus: Vec<u32>, queues: Vec<u32>) -> Trace {
        for (k, &n) in cpus.iter().enumerate() {
            for c in 0..n {
                let (kernel, cpu) = (KernelId(k as u32), CpuId(c));
                let track = Track::Cpu { kernel, cpu };
                let frames = std::mem::take(&mut self.cpu(kernel, cpu).frames);
                for &(start, kind) in frames.iter().rev() {
                    Self::emit(&mut self.trace, &self.cfg, track, start, at, kind);
                }
                self.close_groups(kernel, cpu, 0, at);
                if let Some(since) = self.cpu(kernel, cpu).idle_since.take()
                    && at > since
                {
                    Self::emit(&mut self.trace, &self.cfg, track, since, at, SliceKind::Idle);
                }
            }
        }
        // Counters that never changed inside the window hold their value throughout.
        for (key, (value, last)) in &self.counters {
            if last.is_none() {
                self.trace.counters.push(CounterSample { key: *key, at: self.cfg.start, value: *value });
            }
        }
        self.trace.cpus = cpus;
        self.trace.queues = queues;
        self.trace
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(start: u64, end: u64) -> TraceConfig {
        TraceConfig { start: Time(start), end: Time(end), sample_every: 1 }
    }

    const K: KernelId = KernelId(0);
    const C: CpuId = CpuId(0);
    const T: ThreadId = ThreadId(0);

    fn names(t: &Trace) -> Vec<(u64, u64, SliceKind)> {
        t.slices.iter().map(|s| (s.start.0, s.end.0, s.kind)).collect()
    }

    #[test]
    fn consecutive_frames_of_one_task_make_one_task_slice_and_idle_fills_the_gaps() {
        let mut tr = Tracer::new(cfg(0, 1000), Time(1000));
        let recv = Work::Recv { thread: T };
        tr.frame_begin(K, C, Time(100), Ctx::User, recv, SliceKind::Frame(recv));
        let irq = SliceKind::HardIrq { vector: 0x21, irq: Some(IrqId(0)) };
        tr.frame_begin(K, C, Time(120), Ctx::Hardirq, Work::HardIrq { vector: 0x21 }, irq);
        tr.frame_end(K, C, Time(130));
        tr.frame_end(K, C, Time(200));
        // The next burst starts at the same instant: the task goes on.
        tr.frame_begin(K, C, Time(200), Ctx::User, recv, SliceKind::Frame(recv));
        tr.frame_end(K, C, Time(300));
        let t = tr.finish(Time(1000), vec![1], vec![]);
        let task = SliceKind::Task(Task::App(T));
        assert_eq!(
            names(&t),
            vec![
                (0, 100, SliceKind::Idle),
                (120, 130, irq),
                (100, 200, SliceKind::Frame(recv)),
                (200, 300, SliceKind::Frame(recv)),
                (100, 300, task),
                (300, 1000, SliceKind::Idle),
            ]
        );
    }

    #[test]
    fn a_later_frame_of_the_same_kind_starts_a_new_softirq_run() {
        let mut tr = Tracer::new(cfg(0, 1000), Time(1000));
        let poll = SliceKind::NapiPoll { napi: PollItem::Queue(QueueId(0)), work: 3, budget: 64 };
        tr.frame_begin(K, C, Time(10), Ctx::Softirq, Work::Poll { n: 3 }, poll);
        tr.frame_end(K, C, Time(20));
        tr.frame_begin(K, C, Time(25), Ctx::Softirq, Work::Poll { n: 3 }, poll);
        tr.frame_end(K, C, Time(30));
        let t = tr.finish(Time(40), vec![1], vec![]);
        let runs: Vec<_> = names(&t)
            .into_iter()
            .filter(|s| s.2 == SliceKind::Softirq(SoftirqVec::NetRx))
            .map(|s| (s.0, s.1))
            .collect();
        assert_eq!(runs, vec![(10, 20), (25, 30)]);
    }

    #[test]
    fn slices_are_clipped_to_the_window_and_frames_open_at_the_end_are_closed() {
        let mut tr = Tracer::new(cfg(50, 150), Time(1000));
        let recv = Work::Recv { thread: T };
        tr.frame_begin(K, C, Time(10), Ctx::User, recv, SliceKind::Frame(recv));
        tr.frame_end(K, C, Time(60));
        tr.frame_begin(K, C, Time(70), Ctx::User, recv, SliceKind::Frame(recv));
        let t = tr.finish(Time(1000), vec![1], vec![]);
        for s in &t.slices {
            assert!(s.start >= Time(50) && s.end <= Time(150), "{s:?}");
        }
        assert!(names(&t).contains(&(70, 150, SliceKind::Frame(recv))));
        assert!(names(&t).contains(&(50, 60, SliceKind::Frame(recv))));
    }

    #[test]
    fn a_counter_starts_the_window_with_its_value_and_keeps_one_value_per_instant() {
        let mut tr = Tracer::new(cfg(100, 200), Time(1000));
        let key = CounterKey::Ring { nic: NicId(0), queue: QueueId(0) };
        tr.counter(key, Time(10), 5);
        tr.counter(key, Time(120), 6);
        tr.counter(key, Time(120), 2);
        tr.counter(key, Time(300), 9);
        let t = tr.finish(Time(1000), vec![], vec![1]);
        let got: Vec<_> = t.counters.iter().map(|s| (s.at.0, s.value)).collect();
        assert_eq!(got, vec![(100, 5), (120, 2)]);
    }

    #[test]
    fn a_sampled_packet_gets_an_arrow_only_if_delivered_inside_the_window() {
        let mut tr = Tracer::new(TraceConfig { start: Time(0), end: Time(500), sample_every: 2 }, Time(1000));
        let (nic, q) = (NicId(0), QueueId(1));
        for seq in 0..4 {
            tr.rx_landed(nic, q, FlowId(0), seq, 64, Time(seq as u64 * 10), Time(seq as u64 * 10 + 5), 1);
        }
        tr.delivered(K, C, FlowId(0), 0, Time(100)); // not sampled
        tr.delivered(K, C, FlowId(0), 1, Time(100)); // the 2nd landing
        tr.delivered(K, C, FlowId(0), 3, Time(600)); // after the window
        let t = tr.finish(Time(1000), vec![1], vec![2]);
        assert_eq!(t.flows.len(), 1);
        assert_eq!(t.flows[0].id, 2);
        assert_eq!(t.flows[0].from, (Track::RxQueue { nic, queue: q }, Time(10)));
        assert_eq!(t.flows[0].to, (Track::Cpu { kernel: K, cpu: C }, Time(100)));
    }
}
