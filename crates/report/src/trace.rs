//! A captured timeline ([`Trace`]) as Chrome's Trace Event JSON, the format
//! Perfetto UI (ui.perfetto.dev) and `chrome://tracing` open (docs/trace.md).
//!
//! One process per kernel (pid = kernel id: the host, or the VM's guest)
//! with one thread per CPU (tid = CPU), and one process per NIC with one
//! thread per RX queue. CPU slices are complete events (`ph: "X"`) named
//! after Linux's tracepoints: `irq/N name` for a hard-IRQ handler
//! (`irq_handler_entry`/`exit`), `NET_RX` for a softirq run
//! (`softirq_entry`/`exit`), `napi_poll` inside it, the task's name for its
//! time on the CPU (`sched_switch`), `net_dev_xmit` for the sender's batch,
//! `idle` for the idle task. Sampled packets are flow arrows (`s`/`f` with
//! `bp: "e"`) from their DMA slice to the reader's CPU; ring and socket
//! receive-queue occupancy are counters (`C`).
//!
//! Timestamps are simulated time in microseconds, cut to whole
//! nanoseconds first (the viewers' resolution), so a slice inside another
//! stays inside it. Events are sorted by time, so each track's timestamps
//! never go back; the same trace gives the same bytes.

use irqlab_model::Metrics;
use irqlab_model::kernel::cpu::{Task, Work};
use irqlab_model::kernel::softnet::PollItem;
use irqlab_model::trace::{CounterKey, SliceKind, SoftirqVec, Trace, Track};
use serde::Serialize;
use serde_json::{Value, json};
use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::io::{self, Write};

/// The pid of NIC `n`'s process (kernels take pids from 0).
pub const NIC_PID_BASE: u32 = 100;

/// What [`write_chrome_trace`] wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Written {
    /// Events in `traceEvents`, metadata included.
    pub events: usize,
    /// Bytes.
    pub bytes: u64,
}

/// One trace event; absent fields are left out.
#[derive(Serialize)]
struct Event {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    cat: Option<&'static str>,
    ph: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ts: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dur: Option<f64>,
    pid: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    tid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bp: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    args: Option<Value>,
}

/// Whole nanoseconds of a picosecond time.
fn ns(ps: u64) -> u64 {
    ps / 1000
}

/// Microseconds (the format's unit) of whole nanoseconds.
fn us(ns: u64) -> f64 {
    ns as f64 / 1000.0
}

fn pid_tid(track: Track) -> (u32, u32) {
    match track {
        Track::Cpu { kernel, cpu } => (kernel.0, cpu.0),
        Track::RxQueue { nic, queue } => (NIC_PID_BASE + nic.0, queue.0),
    }
}

/// Linux's name of a system vector's handler (its `irq_vectors` tracepoint).
fn system_vector(vector: u8) -> String {
    use irqlab_model::kernel::vector::{CALL_FUNCTION_SINGLE_VECTOR, CALL_FUNCTION_VECTOR};
    match vector {
        CALL_FUNCTION_SINGLE_VECTOR => "call_function_single".to_owned(),
        CALL_FUNCTION_VECTOR => "call_function".to_owned(),
        v if v == irqlab_hw::vtd::pid::POSTED_MSI_NOTIFICATION_VECTOR => "posted_msi_notification".to_owned(),
        v => format!("vector {v:#04x}"),
    }
}

fn task_name(task: Task, cpu: u32) -> String {
    match task {
        Task::Ksoftirqd => format!("ksoftirqd/{cpu}"),
        Task::App(t) => format!("reader-{}", t.0),
        Task::Sender => "sender".to_owned(),
        Task::Compute(i) => format!("compute-{i}"),
        Task::Batch(i) => format!("batch-{i}"),
    }
}

/// A slice's name, category and arguments.
fn describe(kind: SliceKind, track: Track, m: &Metrics) -> (String, &'static str, Option<Value>) {
    let cpu = pid_tid(track).1;
    match kind {
        SliceKind::HardIrq { vector, irq: Some(irq) } => {
            let name = m.interrupts.per_vector.get(irq.idx()).map_or("", |v| v.name.as_str());
            (format!("irq/{} {name}", irq.0), "irq", Some(json!({"irq": irq.0, "vector": vector, "name": name})))
        }
        SliceKind::HardIrq { vector, irq: None } => {
            (system_vector(vector), "irq_vectors", Some(json!({"vector": vector})))
        }
        SliceKind::NapiPoll { napi, work, budget } => {
            let dev = match napi {
                PollItem::Queue(q) => format!("eth0 rx-{}", q.0),
                PollItem::Backlog => "backlog".to_owned(),
                PollItem::Tx(q) => format!("eth0 tx-{q}"),
            };
            ("napi_poll".to_owned(), "napi", Some(json!({"napi": dev, "work": work, "budget": budget})))
        }
        SliceKind::Softirq(SoftirqVec::NetRx) => ("NET_RX".to_owned(), "softirq", Some(json!({"vec": "NET_RX"}))),
        SliceKind::Softirq(SoftirqVec::Timer) => ("TIMER".to_owned(), "softirq", Some(json!({"vec": "TIMER"}))),
        SliceKind::Task(task) => (task_name(task, cpu), "sched", None),
        SliceKind::Idle => ("idle".to_owned(), "sched", None),
        SliceKind::RxDma { flow, bytes } => ("rx_dma".to_owned(), "nic", Some(json!({"flow": flow.0, "bytes": bytes}))),
        SliceKind::Frame(work) => {
            let (name, cat) = match work {
                Work::Wakeups => ("sock_def_readable", "net"),
                Work::RpsIpis => ("net_rps_send_ipi", "net"),
                Work::Recv { .. } => ("recv", "syscalls"),
                Work::Send => ("net_dev_xmit", "net"),
                Work::Timer => ("fq_flush_timeout", "timer"),
                Work::Zap { .. } => ("zap_page_range", "mm"),
                Work::TlbFlush { .. } => ("flush_tlb_mm_range", "tlb"),
                Work::TlbWait { .. } => ("flush_tlb wait", "tlb"),
                Work::Compute { .. } => ("compute", "sched"),
                Work::Vmm { .. } => ("kvm_exit", "kvm"),
                Work::Hlt => ("kvm_exit HLT", "kvm"),
                Work::HaltPoll => ("halt_poll", "kvm"),
                Work::Block => ("kvm_vcpu_block", "kvm"),
                Work::Preempted => ("host task", "kvm"),
                Work::HardIrq { .. } => ("irq", "irq"),
                Work::Poll { .. } => ("napi_poll", "napi"),
                Work::PmdSpin { .. } => ("rte_eth_rx_burst (empty)", "pmd"),
                Work::PmdSleep { .. } => ("epoll_wait", "syscalls"),
                Work::Batch { .. } => ("batch", "sched"),
            };
            let args = match work {
                Work::Vmm { vector } => Some(json!({"vector": vector})),
                Work::Recv { thread }
                | Work::Zap { thread }
                | Work::TlbFlush { thread }
                | Work::TlbWait { thread }
                | Work::PmdSpin { thread }
                | Work::PmdSleep { thread } => Some(json!({"thread": thread.0})),
                _ => None,
            };
            (name.to_owned(), cat, args)
        }
    }
}

fn metadata(name: &'static str, pid: u32, tid: Option<u32>, args: Value) -> Event {
    Event {
        name: name.to_owned(),
        cat: None,
        ph: "M",
        ts: None,
        dur: None,
        pid,
        tid,
        id: None,
        bp: None,
        args: Some(args),
    }
}

/// Where a timed event comes from, in the capture.
#[derive(Clone, Copy)]
enum Source {
    Counter(usize),
    Slice(usize),
    FlowStart(usize),
    FlowFinish(usize),
}

/// Counts the bytes written through it.
struct Counting<'a, W: Write> {
    inner: &'a mut W,
    bytes: u64,
}

impl<W: Write> Write for Counting<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The trace as Chrome Trace Event JSON (one event per line) into `out`;
/// `m` is the run's metrics (IRQ names, whether the kernel is a VM's
/// guest). Events are built one at a time as they are written, so memory
/// stays that of the capture.
pub fn write_chrome_trace<W: Write>(t: &Trace, m: &Metrics, out: &mut W) -> io::Result<Written> {
    let mut meta = Vec::new();
    let guest = m.vm.is_some();
    for (k, &cpus) in t.cpus.iter().enumerate() {
        let pid = k as u32;
        let name = if guest { format!("guest kernel {k} (VM)") } else { format!("host kernel {k}") };
        meta.push(metadata("process_name", pid, None, json!({"name": name})));
        meta.push(metadata("process_sort_index", pid, None, json!({"sort_index": pid})));
        for c in 0..cpus {
            let name = if guest { format!("vCPU {c}") } else { format!("CPU {c}") };
            meta.push(metadata("thread_name", pid, Some(c), json!({"name": name})));
            meta.push(metadata("thread_sort_index", pid, Some(c), json!({"sort_index": c})));
        }
    }
    for (n, &queues) in t.queues.iter().enumerate() {
        let pid = NIC_PID_BASE + n as u32;
        meta.push(metadata("process_name", pid, None, json!({"name": format!("eth{n} (NIC)")})));
        meta.push(metadata("process_sort_index", pid, None, json!({"sort_index": pid})));
        for q in 0..queues {
            meta.push(metadata("thread_name", pid, Some(q), json!({"name": format!("rx-{q}")})));
            meta.push(metadata("thread_sort_index", pid, Some(q), json!({"sort_index": q})));
        }
    }

    // Counter samples a nanosecond apart or less become one: the last value wins.
    let mut counters: Vec<(CounterKey, u64, u64)> = Vec::with_capacity(t.counters.len());
    let mut last_of: BTreeMap<CounterKey, usize> = BTreeMap::new();
    for c in &t.counters {
        let at = ns(c.at.0);
        match last_of.get(&c.key) {
            Some(&i) if counters[i].1 == at => counters[i].2 = c.value,
            _ => {
                last_of.insert(c.key, counters.len());
                counters.push((c.key, at, c.value));
            }
        }
    }

    // (ts ns, rank at equal times, longer first, source): counters first,
    // then enclosing slices before the slices inside them, then flow ends.
    let mut order: Vec<(u64, u8, Reverse<u64>, Source)> =
        Vec::with_capacity(counters.len() + t.slices.len() + 2 * t.flows.len());
    order.extend(counters.iter().enumerate().map(|(i, c)| (c.1, 0, Reverse(0), Source::Counter(i))));
    for (i, s) in t.slices.iter().enumerate() {
        let (start, end) = (ns(s.start.0), ns(s.end.0));
        order.push((start, 1, Reverse(end - start), Source::Slice(i)));
    }
    for (i, f) in t.flows.iter().enumerate() {
        order.push((ns(f.from.1.0), 2, Reverse(0), Source::FlowStart(i)));
        order.push((ns(f.to.1.0), 2, Reverse(0), Source::FlowFinish(i)));
    }
    // Stable: equal keys keep the capture's (deterministic) order.
    order.sort_by_key(|(ts, rank, dur, _)| (*ts, *rank, *dur));

    let mut out = Counting { inner: out, bytes: 0 };
    out.write_all(b"{\"traceEvents\":[\n")?;
    let events = meta.len() + order.len();
    let timed = order.iter().map(|&(_, _, _, src)| timed_event(t, m, &counters, src));
    for (i, ev) in meta.into_iter().chain(timed).enumerate() {
        if i > 0 {
            out.write_all(b",\n")?;
        }
        serde_json::to_writer(&mut out, &ev)?;
    }
    let other = json!({
        "scenario": m.scenario,
        "seed": m.seed,
        "clock": "simulated",
        "window_start_us": us(ns(t.start.0)),
        "window_end_us": us(ns(t.end.0)),
    });
    out.write_all(b"\n],\"displayTimeUnit\":\"ns\",\"otherData\":")?;
    serde_json::to_writer(&mut out, &other)?;
    out.write_all(b"}\n")?;
    out.flush()?;
    Ok(Written { events, bytes: out.bytes })
}

/// The event of one capture record.
fn timed_event(t: &Trace, m: &Metrics, counters: &[(CounterKey, u64, u64)], src: Source) -> Event {
    match src {
        Source::Slice(i) => {
            let s = &t.slices[i];
            let (pid, tid) = pid_tid(s.track);
            let (start, end) = (ns(s.start.0), ns(s.end.0));
            let (name, cat, args) = describe(s.kind, s.track, m);
            Event {
                name,
                cat: Some(cat),
                ph: "X",
                ts: Some(us(start)),
                dur: Some(us(end - start)),
                pid,
                tid: Some(tid),
                id: None,
                bp: None,
                args,
            }
        }
        Source::FlowStart(i) | Source::FlowFinish(i) => {
            let f = &t.flows[i];
            let (ph, (track, at)) = match src {
                Source::FlowStart(_) => ("s", f.from),
                _ => ("f", f.to),
            };
            let (pid, tid) = pid_tid(track);
            Event {
                name: "packet".to_owned(),
                cat: Some("packet"),
                ph,
                ts: Some(us(ns(at.0))),
                dur: None,
                pid,
                tid: Some(tid),
                id: Some(f.id),
                bp: (ph == "f").then_some("e"),
                args: None,
            }
        }
        Source::Counter(i) => {
            let (key, at, value) = counters[i];
            let (pid, name, args) = match key {
                CounterKey::Ring { nic, queue } => {
                    (NIC_PID_BASE + nic.0, format!("rx-{} ring", queue.0), json!({"frames": value}))
                }
                CounterKey::SocketQueue { kernel, thread } => {
                    (kernel.0, format!("reader-{} sk_receive_queue", thread.0), json!({"packets": value}))
                }
            };
            Event {
                name,
                cat: Some("counter"),
                ph: "C",
                ts: Some(us(at)),
                dur: None,
                pid,
                tid: None,
                id: None,
                bp: None,
                args: Some(args),
            }
        }
    }
}
