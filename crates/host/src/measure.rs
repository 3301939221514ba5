//! `irqlab calibrate`: measures this machine with real system calls and
//! maps each figure onto the cost model's `[costs]` keys
//! (docs/calibration.md).
//!
//! Every measurement is repeated: a repetition runs an operation many times
//! in a loop and records the mean time per operation; the figure is the
//! median over the repetitions, with the minimum, quartiles and maximum as
//! its spread. Threads are pinned with `sched_setaffinity` where the CPU
//! matters (same-core and cross-core pairs). What the machine cannot
//! measure (one CPU only, io_uring disabled, a refused system call) is
//! skipped with the reason; nothing here fails the command.
//!
//! This module is the only code in the workspace allowed to use `unsafe`,
//! in two functions whose crates offer no safe form: pushing an io_uring
//! submission entry, and `mremap`. Each block carries its `SAFETY:`
//! argument.

use irqlab_model::costs::CostModel;
use memmap2::{MmapMut, MmapOptions, RemapOptions};
use rustix::event::{EventfdFlags, eventfd};
use rustix::fd::{AsFd, OwnedFd};
use rustix::thread::{CpuSet, MembarrierCommand};
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How much to measure.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Repetitions of each measurement (at least 1).
    pub reps: usize,
    /// Fewer operations per repetition and smaller buffers: a result in
    /// about a second, with a wider spread.
    pub quick: bool,
}

/// Repetitions by default: enough for quartiles, and the whole calibration
/// well under a minute on two cores.
pub const DEFAULT_REPS: usize = 15;
/// Repetitions by default with `--quick`.
pub const QUICK_REPS: usize = 5;
/// Most repetitions `--reps` accepts.
pub const MAX_REPS: usize = 1000;

/// A measurement's spread over its repetitions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    /// Median of the repetitions.
    pub median: f64,
    /// Smallest repetition.
    pub min: f64,
    /// First quartile.
    pub p25: f64,
    /// Third quartile.
    pub p75: f64,
    /// Largest repetition.
    pub max: f64,
    /// Number of repetitions.
    pub reps: usize,
}

impl Stats {
    /// The statistics of `values` (one per repetition; not empty).
    pub fn of(mut values: Vec<f64>) -> Stats {
        values.retain(|v| v.is_finite());
        if values.is_empty() {
            values.push(0.0);
        }
        values.sort_by(f64::total_cmp);
        let q = |p: f64| {
            let pos = p * (values.len() - 1) as f64;
            let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
            values[lo] + (values[hi] - values[lo]) * (pos - lo as f64)
        };
        Stats {
            median: q(0.5),
            min: values[0],
            p25: q(0.25),
            p75: q(0.75),
            max: values[values.len() - 1],
            reps: values.len(),
        }
    }
}

/// One measured figure.
#[derive(Clone, Debug)]
pub struct Measurement {
    /// Short name, a TOML bare key (`getppid`, `memcpy_l1`).
    pub name: &'static str,
    /// What was timed.
    pub what: String,
    /// `ns` (per operation) or `bytes/ns`.
    pub unit: &'static str,
    /// Operations per repetition.
    pub per_rep: usize,
    /// The CPUs the timed threads were pinned to (`0`, `0+1`), or `unpinned`.
    pub cpus: String,
    /// Spread over the repetitions.
    pub stats: Stats,
}

/// A measurement that could not be made, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// The measurement's name.
    pub name: &'static str,
    /// Why it was skipped.
    pub reason: String,
}

/// A `[costs]` key set from measurements.
#[derive(Clone, Debug, PartialEq)]
pub struct CostValue {
    /// The key in `[costs]`, e.g. `syscall_ns`.
    pub key: &'static str,
    /// Its value, in the key's unit.
    pub value: f64,
    /// How it was derived: the measurements and the arithmetic.
    pub from: String,
    /// The same derivation from the first and third quartiles (low, high).
    pub range: (f64, f64),
}

/// A `[costs]` key left at its default, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotMeasured {
    /// The key.
    pub key: String,
    /// Why no measurement calibrates it.
    pub why: String,
}

/// Where the figures come from.
#[derive(Clone, Debug, PartialEq)]
pub struct Provenance {
    /// `model name` from /proc/cpuinfo.
    pub cpu_model: String,
    /// What tells two CPUs of one model name apart: family, model and
    /// stepping (/proc/cpuinfo) and the data and unified cache sizes of
    /// CPU 0 (/sys/devices/system/cpu/cpu0/cache), e.g. `family 26 model 2
    /// stepping 1; L1 48K, L2 1024K, L3 32768K`; empty when neither is
    /// readable.
    pub cpu_detail: String,
    /// The kernel's release and version (/proc/sys/kernel/osrelease, version).
    pub kernel: String,
    /// CPUs this process may run on.
    pub cpus: Vec<usize>,
    /// Whether this is a virtual machine, and what says so; `None` when
    /// nothing says so.
    pub virtual_machine: Option<String>,
    /// When the calibration ran, UTC, RFC 3339.
    pub date: String,
    /// The 1-, 5- and 15-minute load averages when it ended
    /// (/proc/loadavg): other work on the machine widens the spread.
    pub load_average: [f64; 3],
}

/// The result of a calibration.
#[derive(Clone, Debug)]
pub struct Calibration {
    /// Where and when.
    pub provenance: Provenance,
    /// The options it ran with.
    pub options: Options,
    /// Wall-clock seconds the calibration took.
    pub elapsed_s: f64,
    /// Every measurement made, in order.
    pub measurements: Vec<Measurement>,
    /// Measurements that could not be made.
    pub skipped: Vec<Skipped>,
    /// The cost keys the measurements set.
    pub costs: Vec<CostValue>,
    /// Every other cost key, left at its default.
    pub not_measured: Vec<NotMeasured>,
}

impl Calibration {
    /// The measurement called `name`, if it was made.
    pub fn measurement(&self, name: &str) -> Option<&Measurement> {
        self.measurements.iter().find(|m| m.name == name)
    }
}

/// Where and when: this host's CPU model, kernel, CPUs and the date, as a
/// calibration records them.
pub fn host_provenance() -> Provenance {
    provenance(&allowed_cpus())
}

/// Runs every measurement this machine allows.
pub fn calibrate(options: Options) -> Calibration {
    let options = Options { reps: options.reps.clamp(1, MAX_REPS), ..options };
    let start = Instant::now();
    let mut cx = Cx::new(options);
    cx.run_all();
    let provenance = provenance(&cx.allowed);
    let costs = derive_costs(&cx);
    let measured: Vec<&str> = costs.iter().map(|c| c.key).collect();
    let not_measured = not_measured(&measured, &cx);
    Calibration {
        provenance,
        options,
        elapsed_s: start.elapsed().as_secs_f64(),
        measurements: cx.measurements,
        skipped: cx.skipped,
        costs,
        not_measured,
    }
}

/// The measuring context: options, CPUs, results so far.
struct Cx {
    options: Options,
    /// CPUs this process may run on.
    allowed: Vec<usize>,
    /// The CPU single-CPU measurements run on, and the first of a pair.
    c0: Option<usize>,
    /// The second CPU of a pair: another core of `c0`'s package where there is one.
    c1: Option<usize>,
    /// Why pairs cannot be measured, when they cannot.
    no_pair: Option<String>,
    measurements: Vec<Measurement>,
    skipped: Vec<Skipped>,
}

impl Cx {
    fn new(options: Options) -> Cx {
        let allowed = allowed_cpus();
        let c0 = allowed.first().copied();
        let mut cx = Cx { options, allowed, c0, c1: None, no_pair: None, measurements: vec![], skipped: vec![] };
        match c0 {
            None => cx.no_pair = Some("the CPUs this process may run on are unknown (sched_getaffinity failed)".into()),
            Some(c0) => {
                if let Err(e) = pin(c0) {
                    cx.no_pair = Some(format!("cannot pin a thread to CPU {c0}: {e}"));
                    cx.c0 = None;
                } else if cx.allowed.len() < 2 {
                    cx.no_pair = Some(format!("this process may run on one CPU only ({c0})"));
                } else {
                    cx.c1 = Some(pair_cpu(c0, &cx.allowed));
                }
            }
        }
        cx
    }

    /// Operations per repetition: `n`, or a tenth of it with `--quick`.
    fn n(&self, n: usize) -> usize {
        if self.options.quick { (n / 10).max(1) } else { n }
    }

    fn cpus0(&self) -> String {
        self.c0.map_or_else(|| "unpinned".into(), |c| c.to_string())
    }

    fn pair(&self) -> Result<(usize, usize), String> {
        match (self.c0, self.c1) {
            (Some(a), Some(b)) => Ok((a, b)),
            _ => Err(self.no_pair.clone().unwrap_or_else(|| "no second CPU".into())),
        }
    }

    fn record(
        &mut self,
        name: &'static str,
        what: &str,
        unit: &'static str,
        per_rep: usize,
        cpus: String,
        v: Vec<f64>,
    ) {
        self.measurements.push(Measurement { name, what: what.into(), unit, per_rep, cpus, stats: Stats::of(v) });
    }

    fn skip(&mut self, name: &'static str, reason: impl Into<String>) {
        self.skipped.push(Skipped { name, reason: reason.into() });
    }

    /// Times `per_rep` calls of `op`, `reps` times after one warm-up
    /// repetition: ns per call, one value per repetition.
    fn time_each(&self, per_rep: usize, mut op: impl FnMut()) -> Vec<f64> {
        timed_reps(self.options.reps, per_rep, 1, || {
            op();
            Ok(())
        })
        .expect("an operation that cannot fail")
    }

    fn run_all(&mut self) {
        self.syscalls();
        self.locked_rmw();
        self.same_core_pingpong();
        self.cross_core();
        self.signals();
        self.io_uring();
        self.udp_recvmsg();
        self.memcpy();
        self.memory_maps();
        // The measuring thread ran pinned to c0; give it back every CPU.
        let _ = pin_set(&self.allowed);
    }

    fn syscalls(&mut self) {
        let n = self.n(20_000);
        let v = self.time_each(n, || {
            black_box(rustix::process::getppid());
        });
        self.record("getppid", "getppid(): a trivial system call's entry and exit", "ns", n, self.cpus0(), v);
        let efd = match eventfd(0, EventfdFlags::CLOEXEC) {
            Ok(f) => f,
            Err(e) => return self.skip("eventfd_write", format!("eventfd() failed: {e}")),
        };
        let v = self.time_each(n, || {
            let _ = rustix::io::write(&efd, &1u64.to_ne_bytes());
        });
        self.record("eventfd_write", "write() of 1 to an eventfd nobody waits on", "ns", n, self.cpus0(), v);
        let v = self.time_each(n, || {
            let _ = rustix::io::write(&efd, &1u64.to_ne_bytes());
            let mut b = [0u8; 8];
            let _ = rustix::io::read(&efd, &mut b);
        });
        self.record(
            "eventfd_write_read",
            "write() then read() of an eventfd in one thread: a notification without a wait",
            "ns",
            n,
            self.cpus0(),
            v,
        );
    }

    fn locked_rmw(&mut self) {
        let n = self.n(1_000_000);
        let a = AtomicU64::new(0);
        let v = self.time_each(n, || {
            black_box(a.swap(black_box(1), Ordering::SeqCst));
        });
        self.record(
            "locked_rmw",
            "an atomic swap (a lock-prefixed xchg on x86) on a private cache line",
            "ns",
            n,
            self.cpus0(),
            v,
        );
    }

    /// Two threads on one CPU waking each other through two eventfds.
    fn same_core_pingpong(&mut self) {
        let Some(c0) = self.c0 else {
            let why = self.no_pair.clone().unwrap_or_default();
            return self.skip("eventfd_pingpong_same_cpu", why);
        };
        let n = self.n(2_000);
        match pingpong(c0, c0, n, self.options.reps) {
            Ok(v) => self.record(
                "eventfd_pingpong_same_cpu",
                "one-way eventfd wakeup between two threads pinned to the same CPU (half a round trip): write, wake, context switch, read",
                "ns",
                n,
                c0.to_string(),
                v,
            ),
            Err(e) => self.skip("eventfd_pingpong_same_cpu", e),
        }
    }

    fn cross_core(&mut self) {
        const PAIRED: [&str; 5] = [
            "eventfd_pingpong_cross_cpu",
            "eventfd_write_to_wake",
            "cache_line_pingpong",
            "membarrier_ipi",
            "tlb_shootdown",
        ];
        let (a, b) = match self.pair() {
            Ok(p) => p,
            Err(why) => {
                for name in PAIRED {
                    self.skip(name, why.clone());
                }
                return;
            }
        };
        let cpus = format!("{a}+{b}");
        let n = self.n(2_000);
        match pingpong(a, b, n, self.options.reps) {
            Ok(v) => self.record(
                "eventfd_pingpong_cross_cpu",
                "one-way eventfd wakeup between two threads pinned to two CPUs (half a round trip), the woken CPU idle",
                "ns",
                n,
                cpus.clone(),
                v,
            ),
            Err(e) => self.skip("eventfd_pingpong_cross_cpu", e),
        }
        let n = self.n(300);
        match write_to_wake(a, b, n, self.options.reps) {
            Ok(v) => self.record(
                "eventfd_write_to_wake",
                "the waker's write() to an eventfd a thread blocked on another CPU waits on",
                "ns",
                n,
                cpus.clone(),
                v,
            ),
            Err(e) => self.skip("eventfd_write_to_wake", e),
        }
        let n = self.n(200_000);
        match cache_line_pingpong(a, b, n, self.options.reps) {
            Ok(v) => self.record(
                "cache_line_pingpong",
                "one-way transfer of a cache line written alternately by two spinning threads on two CPUs",
                "ns",
                n,
                cpus.clone(),
                v,
            ),
            Err(e) => self.skip("cache_line_pingpong", e),
        }
        let n = self.n(3_000);
        let calls = (n * (self.options.reps + 1)) as f64;
        let before = ipi_count(b, "CAL");
        let result = with_spinner(b, || membarrier_ipi(a, n, self.options.reps));
        // The kernel sends the IPI only while the second CPU runs a thread
        // of this process: on a busy machine the spinner is often not there.
        let share = before.zip(ipi_count(b, "CAL")).map(|(x, y)| y.saturating_sub(x) as f64 / calls);
        let result = match (result, share) {
            (Ok(_), Some(f)) if f < MIN_IPI_SHARE => Err(format!(
                "CPU {b} took function-call IPIs for {:.0}% of the calls (/proc/interrupts CAL): the spinning thread was mostly descheduled by other work, so most calls sent no IPI",
                f * 100.0
            )),
            (r, _) => r,
        };
        match result {
            Ok(v) => self.record(
                "membarrier_ipi",
                "membarrier(PRIVATE_EXPEDITED) with another thread of the process running on the second CPU: an IPI round trip plus a system call",
                "ns",
                n,
                cpus.clone(),
                v,
            ),
            Err(e) => self.skip("membarrier_ipi", e),
        }
        let n = self.n(2_000);
        let alone = unmap_one_page(a, n, self.options.reps);
        let calls = (n * (self.options.reps + 1)) as f64;
        let before = ipi_count(b, "TLB");
        let shared = with_spinner(b, || unmap_one_page(a, n, self.options.reps));
        let share = before.zip(ipi_count(b, "TLB")).map(|(x, y)| y.saturating_sub(x) as f64 / calls);
        let shared = match (shared, share) {
            (Ok(_), Some(f)) if f < MIN_IPI_SHARE => Err(format!(
                "CPU {b} took TLB shootdowns for {:.0}% of the unmaps (/proc/interrupts TLB): the spinning thread was mostly descheduled by other work",
                f * 100.0
            )),
            (r, _) => r,
        };
        match alone {
            Ok(v) => self.record(
                "munmap_one_page_alone",
                "mmap, touch and munmap of one page, no other thread of the process running",
                "ns",
                n,
                a.to_string(),
                v,
            ),
            Err(e) => self.skip("munmap_one_page_alone", e),
        }
        match shared {
            Ok(v) => self.record(
                "tlb_shootdown",
                "mmap, touch and munmap of one page while another thread of the process runs on the second CPU (the unmap waits for its TLB flush)",
                "ns",
                n,
                cpus,
                v,
            ),
            Err(e) => self.skip("tlb_shootdown", e),
        }
    }

    fn signals(&mut self) {
        use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask, raise};
        let n = self.n(5_000);
        let flag = Arc::new(AtomicBool::new(false));
        match signal_hook::flag::register(signal_hook::consts::SIGUSR1, flag.clone()) {
            Ok(id) => {
                let v = self.time_each(n, || {
                    let _ = raise(Signal::SIGUSR1);
                });
                signal_hook::low_level::unregister(id);
                if flag.load(Ordering::SeqCst) {
                    self.record(
                        "signal_handler",
                        "raise(SIGUSR1) delivered to a handler in the same thread: queue, frame, handler, sigreturn",
                        "ns",
                        n,
                        self.cpus0(),
                        v,
                    );
                } else {
                    self.skip("signal_handler", "the handler never ran");
                }
            }
            Err(e) => self.skip("signal_handler", format!("cannot install a SIGUSR1 handler: {e}")),
        }
        let mut set = SigSet::empty();
        set.add(Signal::SIGUSR2);
        let mut old = SigSet::empty();
        if let Err(e) = pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut old)) {
            return self.skip("signal_sigwait", format!("cannot block SIGUSR2: {e}"));
        }
        let mut ok = true;
        let v = self.time_each(n, || {
            ok &= raise(Signal::SIGUSR2).is_ok() && set.wait() == Ok(Signal::SIGUSR2);
        });
        let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
        if ok {
            self.record(
                "signal_sigwait",
                "raise(SIGUSR2), blocked, then taken with sigwait (sigtimedwait) in the same thread",
                "ns",
                n,
                self.cpus0(),
                v,
            );
        } else {
            self.skip("signal_sigwait", "raise or sigwait failed");
        }
    }

    fn io_uring(&mut self) {
        let names = ["io_uring_nop_batch1", "io_uring_nop_batch64", "io_uring_nop_eventfd"];
        let mut ring = match io_uring::IoUring::new(128) {
            Ok(r) => r,
            Err(e) => {
                let why = io_uring_unavailable(&e);
                for n in names {
                    self.skip(n, why.clone());
                }
                return;
            }
        };
        let reps = self.options.reps;
        let n1 = self.n(5_000);
        match nops(&mut ring, 1, n1, reps) {
            Ok(v) => self.record(
                "io_uring_nop_batch1",
                "one NOP submitted and reaped per io_uring_enter",
                "ns",
                n1,
                self.cpus0(),
                v,
            ),
            Err(e) => self.skip("io_uring_nop_batch1", e),
        }
        let n64 = self.n(300);
        match nops(&mut ring, 64, n64, reps) {
            Ok(v) => self.record(
                "io_uring_nop_batch64",
                "per NOP, 64 submitted and reaped per io_uring_enter",
                "ns",
                n64 * 64,
                self.cpus0(),
                v,
            ),
            Err(e) => self.skip("io_uring_nop_batch64", e),
        }
        let with_eventfd = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)
            .map_err(|e| format!("eventfd() failed: {e}"))
            .and_then(|efd| {
                let mut ring = io_uring::IoUring::new(128).map_err(|e| format!("a second ring: {e}"))?;
                use std::os::fd::AsRawFd;
                ring.submitter()
                    .register_eventfd(efd.as_fd().as_raw_fd())
                    .map_err(|e| format!("IORING_REGISTER_EVENTFD failed: {e}"))?;
                let v = nops(&mut ring, 1, n1, reps)?;
                drop(efd);
                Ok(v)
            });
        match with_eventfd {
            Ok(v) => self.record(
                "io_uring_nop_eventfd",
                "one NOP per io_uring_enter on a ring with a registered eventfd (each CQE signals it)",
                "ns",
                n1,
                self.cpus0(),
                v,
            ),
            Err(e) => self.skip("io_uring_nop_eventfd", e),
        }
    }

    /// `recvmsg` on a UDP socket bound to 127.0.0.1: on its empty queue
    /// (`EAGAIN`, the per-call part), and draining datagrams this thread
    /// sent to it over loopback (only the drain is timed; the sends, which
    /// run the loopback's softirq in this thread, are not).
    fn udp_recvmsg(&mut self) {
        let names = ["udp_recvmsg_eagain", "udp_recvmsg_drain"];
        let bound = std::net::UdpSocket::bind("127.0.0.1:0").and_then(|s| s.local_addr().map(|a| (s, a)));
        let (sock, to) = match bound {
            Ok(x) => x,
            Err(e) => {
                for name in names {
                    self.skip(name, format!("cannot bind a UDP socket on 127.0.0.1: {e}"));
                }
                return;
            }
        };
        let mut buf = [0u8; 2048];
        match recvmsg_once(&sock, &mut buf) {
            Err(e) if e == rustix::io::Errno::AGAIN => {}
            other => {
                for name in names {
                    self.skip(name, format!("recvmsg on an empty UDP socket gave {other:?}, not EAGAIN"));
                }
                return;
            }
        }
        let n = self.n(20_000);
        let v = self.time_each(n, || {
            let _ = black_box(recvmsg_once(&sock, &mut buf));
        });
        self.record(
            "udp_recvmsg_eagain",
            "recvmsg(MSG_DONTWAIT) on a UDP socket with nothing queued, asking for the sender's address: EAGAIN",
            "ns",
            n,
            self.cpus0(),
            v,
        );
        let fills = self.n(200);
        match udp_drain(&sock, to, fills, self.options.reps) {
            Ok(v) => {
                let what = format!(
                    "recvmsg(MSG_DONTWAIT) returning one of {RECVMSG_QUEUE} queued {RECVMSG_PAYLOAD}-byte datagrams \
                     sent over loopback by this thread, per datagram"
                );
                self.record("udp_recvmsg_drain", &what, "ns", fills * RECVMSG_QUEUE, self.cpus0(), v)
            }
            Err(e) => self.skip("udp_recvmsg_drain", e),
        }
    }

    fn memcpy(&mut self) {
        let caches = cache_sizes();
        let l1 = caches.iter().find(|c| c.0 == 1).map_or(32 << 10, |c| c.1);
        let l2 = caches.iter().find(|c| c.0 == 2).map_or(512 << 10, |c| c.1);
        let llc = caches.iter().filter(|c| c.0 >= 3).map(|c| c.1).max();
        let dram = (llc.unwrap_or(l2) * 4).clamp(if self.options.quick { 32 << 20 } else { 64 << 20 }, 512 << 20);
        // Source and destination together fill half the cache level.
        let mut sizes: Vec<(&'static str, usize, String)> = vec![
            ("memcpy_l1", l1 / 4, format!("L1d {} KiB", l1 >> 10)),
            ("memcpy_l2", l2 / 4, format!("L2 {} KiB", l2 >> 10)),
        ];
        match llc {
            Some(l3) => sizes.push(("memcpy_l3", l3 / 4, format!("L3 {} KiB", l3 >> 10))),
            None => self.skip("memcpy_l3", "no level-3 cache listed in /sys/devices/system/cpu/cpu*/cache"),
        }
        sizes.push(("memcpy_dram", dram, "beyond every cache".into()));
        let per_rep_bytes: usize = if self.options.quick { 8 << 20 } else { 64 << 20 };
        for (name, size, level) in sizes {
            let size = size.max(1024);
            let src = vec![1u8; size];
            let mut dst = vec![0u8; size];
            let per_rep = (per_rep_bytes / size).max(1);
            let v = self.time_each(per_rep, || {
                dst.copy_from_slice(black_box(&src));
                black_box(&mut dst);
            });
            let bw: Vec<f64> = v.into_iter().map(|ns| size as f64 / ns).collect();
            let what =
                format!("memcpy of {} KiB ({level}; source and destination {} KiB each)", size >> 10, size >> 10);
            self.record(name, &what, "bytes/ns", per_rep, self.cpus0(), bw);
        }
        let mut page = vec![1u8; 4096];
        let n = self.n(20_000);
        let v = self.time_each(n, || {
            black_box(&mut page).fill(0);
        });
        self.record("zero_page", "zeroing one 4 KiB page already in the cache", "ns", n, self.cpus0(), v);
    }

    fn memory_maps(&mut self) {
        let pages = if self.options.quick { 64 } else { 256 };
        let len = pages * PAGE;
        let n = self.n(200);
        let reps = self.options.reps;
        let mut fail: Option<String> = None;
        let mut note = |r: std::io::Result<()>| {
            if let Err(e) = r {
                fail.get_or_insert(e.to_string());
            }
        };
        let v = self.time_each(n, || note(MmapMut::map_anon(len).map(drop)));
        let map_unmap = v;
        let mut fault = Vec::with_capacity(reps);
        let mut unmap = Vec::with_capacity(reps);
        let mut populate = Vec::with_capacity(reps);
        let mut remap = Vec::with_capacity(reps);
        let per = (n / 10).max(2);
        for rep in 0..=reps {
            let (mut f, mut u, mut p, mut r) = (0.0, 0.0, 0.0, 0.0);
            for _ in 0..per {
                match fault_unmap(len) {
                    Ok((tf, tu)) => {
                        f += tf;
                        u += tu;
                    }
                    Err(e) => note(Err(e)),
                }
                let t = Instant::now();
                match MmapOptions::new().len(len).populate().map_anon() {
                    Ok(m) => {
                        p += t.elapsed().as_nanos() as f64;
                        drop(m);
                    }
                    Err(e) => note(Err(e)),
                }
                match remap_pages(len) {
                    Ok(t) => r += t,
                    Err(e) => note(Err(e)),
                }
            }
            if rep > 0 {
                let d = (per * pages) as f64;
                fault.push(f / d);
                unmap.push(u / d);
                populate.push(p / d);
                remap.push(r / d);
            }
        }
        if let Some(e) = fail {
            for name in ["mmap_munmap", "page_fault", "munmap_per_page", "mmap_populate_per_page", "mremap_per_page"] {
                self.skip(name, format!("a mapping failed: {e}"));
            }
            return;
        }
        let cpus = self.cpus0();
        let np = per * pages;
        self.record(
            "mmap_munmap",
            &format!("mmap then munmap of {pages} untouched anonymous pages"),
            "ns",
            n,
            cpus.clone(),
            map_unmap,
        );
        self.record(
            "page_fault",
            "first write to an anonymous page: fault entry and exit, page allocation and zeroing, PTE",
            "ns",
            np,
            cpus.clone(),
            fault,
        );
        self.record(
            "munmap_per_page",
            &format!("munmap of {pages} touched pages, per page: PTE clear, page freed, local TLB flush"),
            "ns",
            np,
            cpus.clone(),
            unmap,
        );
        self.record(
            "mmap_populate_per_page",
            &format!("mmap(MAP_POPULATE) of {pages} pages, per page: allocation, zeroing and PTE without a fault each"),
            "ns",
            np,
            cpus.clone(),
            populate,
        );
        self.record(
            "mremap_per_page",
            &format!(
                "mremap growing {pages} touched pages to twice as many (moved if they cannot grow in place), per page"
            ),
            "ns",
            np,
            cpus,
            remap,
        );
    }
}

const PAGE: usize = 4096;

/// Least share of the timed calls that must have reached the second CPU as
/// an IPI for an IPI measurement to count.
const MIN_IPI_SHARE: f64 = 0.9;

/// The count of the `/proc/interrupts` row `row` (`CAL`, `TLB`) on `cpu`;
/// `None` when it cannot be read.
fn ipi_count(cpu: usize, row: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/interrupts").ok()?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next()?.split_whitespace().collect();
    let column = header.iter().position(|h| *h == format!("CPU{cpu}"))?;
    let line = lines.find(|l| l.trim_start().starts_with(&format!("{row}:")))?;
    line.split_whitespace().nth(1 + column)?.parse().ok()
}

/// Maps `len` bytes, writes one byte per page (timed: the faults), and
/// unmaps them (timed). Nanoseconds of each.
fn fault_unmap(len: usize) -> std::io::Result<(f64, f64)> {
    let mut m = MmapMut::map_anon(len)?;
    let t = Instant::now();
    for i in (0..len).step_by(PAGE) {
        m[i] = 1;
    }
    black_box(&mut m);
    let tf = t.elapsed().as_nanos() as f64;
    let t = Instant::now();
    drop(m);
    Ok((tf, t.elapsed().as_nanos() as f64))
}

/// Maps and touches `len` bytes, then times an `mremap` to twice the size.
fn remap_pages(len: usize) -> std::io::Result<f64> {
    let mut m = MmapMut::map_anon(len)?;
    for i in (0..len).step_by(PAGE) {
        m[i] = 1;
    }
    let t = Instant::now();
    grow(&mut m, 2 * len)?;
    let dt = t.elapsed().as_nanos() as f64;
    black_box(m[0]);
    Ok(dt)
}

/// `mremap(2)` of an anonymous mapping to `new_len` bytes, moving it if it
/// cannot grow in place.
#[allow(unsafe_code)]
fn grow(m: &mut MmapMut, new_len: usize) -> std::io::Result<()> {
    // SAFETY: `remap` is unsafe because references into the old mapping
    // would dangle after a move; `m` is borrowed mutably here, so none can
    // exist. The mapping is anonymous, so no file can shrink under it.
    unsafe { m.remap(new_len, RemapOptions::new().may_move(true)) }
}

/// Submits `batch` NOPs per `io_uring_enter` and reaps them, `per_rep`
/// times per repetition: ns per NOP.
fn nops(ring: &mut io_uring::IoUring, batch: usize, per_rep: usize, reps: usize) -> Result<Vec<f64>, String> {
    timed_reps(reps, per_rep, batch, || {
        push_nops(ring, batch)?;
        ring.submit_and_wait(batch).map_err(|e| format!("io_uring_enter failed: {e}"))?;
        let reaped = ring.completion().count();
        if reaped != batch {
            return Err(format!("expected {batch} completions, reaped {reaped}"));
        }
        Ok(())
    })
}

/// Queues `n` NOP entries on the ring's submission queue.
#[allow(unsafe_code)]
fn push_nops(ring: &mut io_uring::IoUring, n: usize) -> Result<(), String> {
    let nop = io_uring::opcode::Nop::new().build();
    let mut sq = ring.submission();
    for _ in 0..n {
        // SAFETY: `push` is unsafe because an entry may name buffers and
        // file descriptors the kernel uses until it completes; a NOP names
        // none, so nothing must outlive it.
        unsafe { sq.push(&nop) }.map_err(|_| "the submission queue is full".to_string())?;
    }
    Ok(())
}

/// Why io_uring cannot be used, from `io_uring_setup`'s error and the
/// `kernel.io_uring_disabled` sysctl.
fn io_uring_unavailable(e: &std::io::Error) -> String {
    let sysctl = std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled").ok().map(|s| s.trim().to_string());
    let setting = match sysctl.as_deref() {
        Some("1") => " (kernel.io_uring_disabled = 1: only a privileged group may use it)",
        Some("2") => " (kernel.io_uring_disabled = 2: disabled for everyone)",
        _ => "",
    };
    match e.raw_os_error() {
        Some(38) => format!("io_uring_setup: not implemented by this kernel (ENOSYS){setting}"),
        Some(1) => format!("io_uring_setup: not permitted (EPERM){setting}"),
        _ => format!("io_uring_setup failed: {e}{setting}"),
    }
}

/// Pins the calling thread to `cpu`.
pub(crate) fn pin(cpu: usize) -> Result<(), String> {
    pin_set(&[cpu])
}

pub(crate) fn pin_set(cpus: &[usize]) -> Result<(), String> {
    let mut set = CpuSet::new();
    for &c in cpus {
        if c < CpuSet::MAX_CPU {
            set.set(c);
        }
    }
    rustix::thread::sched_setaffinity(None, &set).map_err(|e| format!("sched_setaffinity: {e}"))
}

/// CPUs this process may run on, ascending.
pub(crate) fn allowed_cpus() -> Vec<usize> {
    match rustix::thread::sched_getaffinity(None) {
        Ok(set) => (0..CpuSet::MAX_CPU).filter(|&c| set.is_set(c)).collect(),
        Err(_) => vec![],
    }
}

/// The CPU to pair with `c0`: another core of the same package, not an SMT
/// sibling, where there is one; else any other allowed CPU.
pub(crate) fn pair_cpu(c0: usize, allowed: &[usize]) -> usize {
    let topo = |c: usize, f: &str| {
        std::fs::read_to_string(format!("/sys/devices/system/cpu/cpu{c}/topology/{f}"))
            .ok()
            .map(|s| s.trim().to_string())
    };
    let others = allowed.iter().copied().filter(|&c| c != c0);
    let same_package = |c: &usize| topo(*c, "physical_package_id") == topo(c0, "physical_package_id");
    let other_core = |c: &usize| topo(*c, "core_id") != topo(c0, "core_id");
    others
        .clone()
        .find(|c| same_package(c) && other_core(c))
        .or_else(|| others.clone().find(same_package))
        .or_else(|| others.clone().next())
        .unwrap_or(c0)
}

/// Cache levels with their sizes in bytes (data and unified caches), from
/// /sys/devices/system/cpu/cpu0/cache.
pub(crate) fn cache_sizes() -> Vec<(u32, usize)> {
    let mut out = vec![];
    for i in 0..8 {
        let read = |f: &str| {
            std::fs::read_to_string(format!("/sys/devices/system/cpu/cpu0/cache/index{i}/{f}"))
                .ok()
                .map(|s| s.trim().to_string())
        };
        let (Some(level), Some(kind), Some(size)) = (read("level"), read("type"), read("size")) else { continue };
        if kind == "Instruction" {
            continue;
        }
        let bytes = if let Some(k) = size.strip_suffix('K') {
            k.parse::<usize>().ok().map(|k| k << 10)
        } else if let Some(m) = size.strip_suffix('M') {
            m.parse::<usize>().ok().map(|m| m << 20)
        } else {
            size.parse().ok()
        };
        if let (Ok(level), Some(bytes)) = (level.parse(), bytes) {
            out.push((level, bytes));
        }
    }
    out
}

/// Runs `op` `per_rep` times per repetition, one warm-up repetition and
/// then `reps` timed ones: ns per run of `op` divided by `trips` (the
/// one-way trips one run makes), one value per timed repetition. The first
/// error `op` returns ends the measurement.
pub(crate) fn timed_reps(
    reps: usize,
    per_rep: usize,
    trips: usize,
    mut op: impl FnMut() -> Result<(), String>,
) -> Result<Vec<f64>, String> {
    let mut out = Vec::with_capacity(reps);
    for rep in 0..=reps {
        let t = Instant::now();
        for _ in 0..per_rep {
            op()?;
        }
        if rep > 0 {
            out.push(t.elapsed().as_nanos() as f64 / (trips * per_rep) as f64);
        }
    }
    Ok(out)
}

/// Payload of the datagrams `udp_recvmsg_drain` receives, bytes: the 18 of
/// the `udp_sink` figures docs/costs.md derives the `recvmsg` defaults from.
pub(crate) const RECVMSG_PAYLOAD: usize = 18;

/// Datagrams queued before each timed drain: far fewer than the default
/// receive buffer holds, so none is dropped.
const RECVMSG_QUEUE: usize = 64;

/// One non-blocking `recvmsg` on `sock` into `buf`, asking for the
/// sender's address as a UDP server does: the bytes received.
pub(crate) fn recvmsg_once(sock: &std::net::UdpSocket, buf: &mut [u8]) -> rustix::io::Result<usize> {
    let mut iov = [std::io::IoSliceMut::new(buf)];
    let mut control = rustix::net::RecvAncillaryBuffer::default();
    rustix::net::recvmsg(sock, &mut iov, &mut control, rustix::net::RecvFlags::DONTWAIT).map(|r| r.bytes)
}

/// Per repetition, `fills` times: queue [`RECVMSG_QUEUE`] datagrams on
/// `sock` (sent to `to`, untimed), then time the `recvmsg` calls that drain
/// them. ns per datagram, one value per repetition after a warm-up one.
fn udp_drain(
    sock: &std::net::UdpSocket,
    to: std::net::SocketAddr,
    fills: usize,
    reps: usize,
) -> Result<Vec<f64>, String> {
    let payload = [7u8; RECVMSG_PAYLOAD];
    let mut buf = [0u8; 2048];
    let mut out = Vec::with_capacity(reps);
    for rep in 0..=reps {
        let mut timed = Duration::ZERO;
        for _ in 0..fills {
            for _ in 0..RECVMSG_QUEUE {
                sock.send_to(&payload, to).map_err(|e| format!("sendto 127.0.0.1 failed: {e}"))?;
            }
            let t = Instant::now();
            for _ in 0..RECVMSG_QUEUE {
                let n =
                    recvmsg_once(sock, &mut buf).map_err(|e| format!("recvmsg of a queued datagram failed: {e}"))?;
                if n != RECVMSG_PAYLOAD {
                    return Err(format!("received {n} bytes, sent {RECVMSG_PAYLOAD}"));
                }
            }
            timed += t.elapsed();
        }
        if rep > 0 {
            out.push(timed.as_nanos() as f64 / (fills * RECVMSG_QUEUE) as f64);
        }
    }
    Ok(out)
}

/// Round trips between a thread on `a` (timing) and one on `b` through two
/// eventfds: ns per one-way trip, one value per repetition.
fn pingpong(a: usize, b: usize, per_rep: usize, reps: usize) -> Result<Vec<f64>, String> {
    let ping = eventfd(0, EventfdFlags::CLOEXEC).map_err(|e| format!("eventfd() failed: {e}"))?;
    let pong = eventfd(0, EventfdFlags::CLOEXEC).map_err(|e| format!("eventfd() failed: {e}"))?;
    let total = per_rep * (reps + 1);
    std::thread::scope(|s| {
        let partner = s.spawn(|| -> Result<(), String> {
            // Serve every round even unpinned, so the timing side never
            // waits forever; the failure is reported after.
            let pinned = pin(b);
            for _ in 0..total {
                efd_wait(&ping);
                efd_post(&pong);
            }
            pinned
        });
        let timed = pin(a).and_then(|()| {
            timed_reps(reps, per_rep, 2, || {
                efd_post(&ping);
                efd_wait(&pong);
                Ok(())
            })
        });
        if timed.is_err() {
            // Let the partner finish its loop.
            for _ in 0..total {
                efd_post(&ping);
            }
        }
        partner.join().map_err(|_| "the partner thread panicked".to_string())??;
        timed
    })
}

/// The time of the waker's `write()` to an eventfd a thread on `b` is
/// blocked on: ns per write, one value per repetition.
fn write_to_wake(a: usize, b: usize, per_rep: usize, reps: usize) -> Result<Vec<f64>, String> {
    let ping = eventfd(0, EventfdFlags::CLOEXEC).map_err(|e| format!("eventfd() failed: {e}"))?;
    let pong = eventfd(0, EventfdFlags::CLOEXEC).map_err(|e| format!("eventfd() failed: {e}"))?;
    let total = per_rep * (reps + 1);
    pin(a)?;
    std::thread::scope(|s| {
        let partner = s.spawn(|| {
            let pinned = pin(b);
            for _ in 0..total {
                efd_wait(&ping);
                efd_post(&pong);
            }
            pinned
        });
        let mut out = Vec::with_capacity(reps);
        for rep in 0..=reps {
            let mut sum = 0.0;
            for _ in 0..per_rep {
                // Give the partner time to block again in read().
                spin_for(Duration::from_micros(30));
                let t = Instant::now();
                efd_post(&ping);
                sum += t.elapsed().as_nanos() as f64;
                efd_wait(&pong);
            }
            if rep > 0 {
                out.push(sum / per_rep as f64);
            }
        }
        partner.join().map_err(|_| "the partner thread panicked".to_string())??;
        Ok(out)
    })
}

/// One-way cache-line transfer: two threads spin on one counter, each
/// incrementing it when it is its turn. ns per one-way transfer.
fn cache_line_pingpong(a: usize, b: usize, per_rep: usize, reps: usize) -> Result<Vec<f64>, String> {
    let turn = AtomicU64::new(0);
    let total = (per_rep * (reps + 1)) as u64;
    let failed = AtomicBool::new(false);
    std::thread::scope(|s| {
        let partner = s.spawn(|| -> Result<(), String> {
            let pinned = pin(b);
            if pinned.is_err() {
                failed.store(true, Ordering::SeqCst);
            }
            for i in 0..total {
                while turn.load(Ordering::Acquire) != 2 * i + 1 {
                    if failed.load(Ordering::Relaxed) {
                        return pinned;
                    }
                    std::hint::spin_loop();
                }
                turn.store(2 * i + 2, Ordering::Release);
            }
            pinned
        });
        let timed = (|| {
            pin(a)?;
            let mut out = Vec::with_capacity(reps);
            let mut i = 0u64;
            for rep in 0..=reps {
                let t = Instant::now();
                for _ in 0..per_rep {
                    turn.store(2 * i + 1, Ordering::Release);
                    while turn.load(Ordering::Acquire) != 2 * i + 2 {
                        if failed.load(Ordering::Relaxed) {
                            return Err("the partner thread could not be pinned".to_string());
                        }
                        std::hint::spin_loop();
                    }
                    i += 1;
                }
                if rep > 0 {
                    out.push(t.elapsed().as_nanos() as f64 / (2 * per_rep) as f64);
                }
            }
            Ok(out)
        })();
        if timed.is_err() {
            failed.store(true, Ordering::SeqCst);
        }
        partner.join().map_err(|_| "the partner thread panicked".to_string())??;
        timed
    })
}

/// Runs `f` while another thread of this process spins on CPU `b`.
pub(crate) fn with_spinner<T>(b: usize, f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    let stop = AtomicBool::new(false);
    let running = AtomicBool::new(false);
    std::thread::scope(|s| {
        let spinner = s.spawn(|| {
            let pinned = pin(b);
            running.store(true, Ordering::SeqCst);
            while !stop.load(Ordering::Relaxed) {
                std::hint::spin_loop();
            }
            pinned
        });
        while !running.load(Ordering::SeqCst) {
            std::hint::spin_loop();
        }
        let r = f();
        stop.store(true, Ordering::SeqCst);
        spinner.join().map_err(|_| "the spinning thread panicked".to_string())??;
        r
    })
}

/// `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)` from CPU `a`: ns per call.
fn membarrier_ipi(a: usize, per_rep: usize, reps: usize) -> Result<Vec<f64>, String> {
    pin(a)?;
    rustix::thread::membarrier(MembarrierCommand::RegisterPrivateExpedited)
        .map_err(|e| format!("membarrier(REGISTER_PRIVATE_EXPEDITED) failed: {e}"))?;
    timed_reps(reps, per_rep, 1, || {
        rustix::thread::membarrier(MembarrierCommand::PrivateExpedited)
            .map_err(|e| format!("membarrier(PRIVATE_EXPEDITED) failed: {e}"))
    })
}

/// Maps, touches and unmaps one page from CPU `a`: ns per cycle.
fn unmap_one_page(a: usize, per_rep: usize, reps: usize) -> Result<Vec<f64>, String> {
    pin(a)?;
    timed_reps(reps, per_rep, 1, || {
        let mut m = MmapMut::map_anon(PAGE).map_err(|e| format!("mmap failed: {e}"))?;
        m[0] = 1;
        drop(black_box(m));
        Ok(())
    })
}

pub(crate) fn spin_for(d: Duration) {
    let t = Instant::now();
    while t.elapsed() < d {
        std::hint::spin_loop();
    }
}

pub(crate) fn efd_post(fd: &OwnedFd) {
    let _ = rustix::io::write(fd, &1u64.to_ne_bytes());
}

pub(crate) fn efd_wait(fd: &OwnedFd) {
    let mut b = [0u8; 8];
    while rustix::io::read(fd, &mut b).is_err() {}
}

/// CPU model, kernel, CPUs (`allowed`), virtual machine, date: what a
/// measurement of this machine is labelled with.
pub(crate) fn provenance(allowed: &[usize]) -> Provenance {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let field = |name: &str| {
        cpuinfo
            .lines()
            .find(|l| l.split(':').next().is_some_and(|k| k.trim() == name))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
    };
    let cpu_model = field("model name").or_else(|| field("cpu model")).unwrap_or_else(|| "unknown".into());
    let kernel =
        format!("Linux {} {}", read("/proc/sys/kernel/osrelease").trim(), read("/proc/sys/kernel/version").trim())
            .trim()
            .to_string();
    let hypervisor_flag = field("flags").is_some_and(|f| f.split_whitespace().any(|x| x == "hypervisor"));
    let vendor =
        format!("{} {}", read("/sys/class/dmi/id/sys_vendor").trim(), read("/sys/class/dmi/id/product_name").trim())
            .trim()
            .to_string();
    let virtual_machine = hypervisor_flag.then(|| {
        if vendor.is_empty() {
            "the CPU reports the hypervisor flag (/proc/cpuinfo)".to_string()
        } else {
            format!("the CPU reports the hypervisor flag (/proc/cpuinfo); platform: {vendor}")
        }
    });
    let mut load_average = [0.0; 3];
    for (slot, v) in load_average.iter_mut().zip(read("/proc/loadavg").split_whitespace()) {
        *slot = v.parse().unwrap_or(0.0);
    }
    let id: Vec<String> = ["cpu family", "model", "stepping"]
        .iter()
        .filter_map(|k| field(k).map(|v| format!("{} {v}", k.trim_start_matches("cpu "))))
        .collect();
    let caches: Vec<String> = cache_sizes().iter().map(|(level, bytes)| format!("L{level} {}K", bytes >> 10)).collect();
    let cpu_detail =
        [id.join(" "), caches.join(", ")].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join("; ");
    Provenance { cpu_model, cpu_detail, kernel, cpus: allowed.to_vec(), virtual_machine, date: utc_now(), load_average }
}

/// The current time, UTC, as `YYYY-MM-DDTHH:MM:SSZ`.
fn utc_now() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// A formula over measurements: the value at the median, and at the
/// quartiles (each input taken at the same quartile).
struct Derivation<'a> {
    cx: &'a Cx,
}

impl Derivation<'_> {
    fn get(&self, name: &str) -> Option<&Stats> {
        self.cx.measurements.iter().find(|m| m.name == name).map(|m| &m.stats)
    }

    /// Evaluates `f` over the named measurements at the median, p25 and p75.
    fn eval(&self, names: &[&str], f: impl Fn(&[f64]) -> f64) -> Option<(f64, (f64, f64))> {
        let stats: Vec<&Stats> = names.iter().map(|n| self.get(n)).collect::<Option<_>>()?;
        let at = |pick: fn(&Stats) -> f64| f(&stats.iter().map(|s| pick(s)).collect::<Vec<_>>());
        let (lo, hi) = (at(|s| s.p25), at(|s| s.p75));
        Some((at(|s| s.median), (lo.min(hi), lo.max(hi))))
    }
}

/// The cost keys the measurements set, each with its derivation.
fn derive_costs(cx: &Cx) -> Vec<CostValue> {
    let d = Derivation { cx };
    let mut out = vec![];
    let mut put = |key: &'static str, names: &[&str], from: &str, f: &dyn Fn(&[f64]) -> f64| {
        if let Some((value, range)) = d.eval(names, f)
            && value.is_finite()
            && value > 0.0
        {
            out.push(CostValue { key, value, from: from.to_string(), range });
        }
    };
    put("syscall_ns", &["getppid"], "getppid", &|v| v[0]);
    put("eventfd_signal_ns", &["eventfd_write", "getppid"], "eventfd_write − getppid", &|v| v[0] - v[1]);
    put("locked_rmw_ns", &["locked_rmw"], "locked_rmw", &|v| v[0]);
    put(
        "context_switch_ns",
        &["eventfd_pingpong_same_cpu", "eventfd_write", "getppid"],
        "eventfd_pingpong_same_cpu − eventfd_write − getppid (the read's entry and exit)",
        &|v| v[0] - v[1] - v[2],
    );
    put("vcpu_wakeup_ns", &["eventfd_pingpong_same_cpu"], "eventfd_pingpong_same_cpu", &|v| v[0]);
    put("wakeup_ns", &["eventfd_write_to_wake", "eventfd_write"], "eventfd_write_to_wake − eventfd_write", &|v| {
        v[0] - v[1]
    });
    put(
        "wakeup_cross_core_latency_ns",
        &["eventfd_pingpong_cross_cpu", "eventfd_write_to_wake"],
        "eventfd_pingpong_cross_cpu − eventfd_write_to_wake (the waker's own work)",
        &|v| v[0] - v[1],
    );
    put("cache_transfer_same_socket_ns", &["cache_line_pingpong"], "cache_line_pingpong", &|v| v[0]);
    put("ipi_latency_ns", &["membarrier_ipi", "getppid"], "(membarrier_ipi − getppid) / 2", &|v| (v[0] - v[1]) / 2.0);
    put("signal_queue_ns", &["signal_sigwait", "eventfd_write_read"], "signal_sigwait − eventfd_write_read", &|v| {
        v[0] - v[1]
    });
    put("signal_frame_ns", &["signal_handler", "signal_sigwait"], "signal_handler − signal_sigwait", &|v| {
        v[0] - v[1]
    });
    put("recvmsg_call_ns", &["udp_recvmsg_eagain"], "udp_recvmsg_eagain", &|v| v[0]);
    put(
        "recvmsg_datagram_ns",
        &["udp_recvmsg_drain", "udp_recvmsg_eagain"],
        "udp_recvmsg_drain − udp_recvmsg_eagain (the 18-byte copy, under a nanosecond, stays in)",
        &|v| v[0] - v[1],
    );
    put("io_uring_op_ns", &["io_uring_nop_batch64"], "io_uring_nop_batch64", &|v| v[0]);
    put(
        "io_uring_enter_ns",
        &["io_uring_nop_batch1", "io_uring_nop_batch64"],
        "io_uring_nop_batch1 − io_uring_nop_batch64",
        &|v| v[0] - v[1],
    );
    put(
        "io_uring_eventfd_ns",
        &["io_uring_nop_eventfd", "io_uring_nop_batch1"],
        "io_uring_nop_eventfd − io_uring_nop_batch1",
        &|v| v[0] - v[1],
    );
    let l3 = if d.get("memcpy_l3").is_some() { "memcpy_l3" } else { "memcpy_l2" };
    put("copy_bytes_per_ns", &[l3], l3, &|v| v[0]);
    put("copy_dram_bytes_per_ns", &["memcpy_dram"], "memcpy_dram", &|v| v[0]);
    put(
        "pte_map_ns",
        &["mmap_populate_per_page", "zero_page"],
        "mmap_populate_per_page − zero_page (still holds the page allocation)",
        &|v| v[0] - v[1],
    );
    put("pte_unmap_ns", &["munmap_per_page"], "munmap_per_page (still holds the page freeing)", &|v| v[0]);
    // Keep within what the scenario loader accepts.
    out.retain(|c| {
        if c.key.ends_with("_bytes_per_ns") {
            (irqlab_model::config::costs::MIN_COPY_BYTES_PER_NS..=irqlab_model::config::costs::MAX_COPY_BYTES_PER_NS)
                .contains(&c.value)
        } else {
            c.value <= irqlab_model::config::MAX_COST_NS
        }
    });
    out
}

/// Why each cost key without a value was not measured.
fn not_measured(measured: &[&str], cx: &Cx) -> Vec<NotMeasured> {
    let why_for = |key: &str| -> String {
        let skipped = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| cx.skipped.iter().find(|s| s.name == *n))
                .map(|s| format!("skipped: {}", s.reason))
        };
        let derived_nonpositive =
            "the derivation gave a value that is not positive (the difference is within the noise)";
        let needs = |names: &[&str]| skipped(names).unwrap_or_else(|| derived_nonpositive.to_string());
        match key {
            "syscall_ns" | "eventfd_signal_ns" | "locked_rmw_ns" | "signal_queue_ns" | "signal_frame_ns" => {
                needs(&["getppid", "eventfd_write", "signal_handler", "signal_sigwait"])
            }
            "context_switch_ns" | "vcpu_wakeup_ns" => needs(&["eventfd_pingpong_same_cpu"]),
            "wakeup_ns" | "wakeup_cross_core_latency_ns" => {
                needs(&["eventfd_write_to_wake", "eventfd_pingpong_cross_cpu"])
            }
            "cache_transfer_same_socket_ns" => needs(&["cache_line_pingpong"]),
            "ipi_latency_ns" => needs(&["membarrier_ipi"]),
            "recvmsg_call_ns" | "recvmsg_datagram_ns" => needs(&["udp_recvmsg_eagain", "udp_recvmsg_drain"]),
            "io_uring_op_ns" | "io_uring_enter_ns" | "io_uring_eventfd_ns" => {
                needs(&["io_uring_nop_batch1", "io_uring_nop_batch64", "io_uring_nop_eventfd"])
            }
            "copy_bytes_per_ns" | "copy_dram_bytes_per_ns" | "pte_map_ns" | "pte_unmap_ns" => {
                needs(&["memcpy_l3", "mmap_populate_per_page", "munmap_per_page"])
            }
            "irq_entry_exit_ns" | "lapic_eoi_ns" | "softirq_entry_ns" | "napi_poll_ns" | "ipi_send_ns" => {
                "kernel-side work on interrupt paths; no system call isolates it from user space".into()
            }
            "msi_delivery_ns" | "mmio_write_ns" | "mmio_read_ns" | "dma_write_ns" => {
                "a device's timing: needs the device's registers or a PCIe analyser, not a system call".into()
            }
            "rx_driver_per_packet_ns" | "rx_protocol_per_packet_ns" | "rps_enqueue_ns" | "tx_per_packet_ns"
            | "tx_clean_per_packet_ns" => {
                "per-packet kernel work of a real NIC's driver and stack; needs a NIC and traffic (part of validation, not calibration)".into()
            }
            "cache_transfer_cross_socket_ns" => {
                "needs two CPU packages; calibrate pairs CPUs of one package".into()
            }
            "copy_cache_resident_bytes" => "how much of a received message DDIO leaves in the cache depends on the NIC and its traffic".into(),
            "invlpg_ns" | "tlb_full_flush_ns" => {
                "privileged instructions; only their sum with a system call is visible (see munmap_per_page and tlb_shootdown)".into()
            }
            "zerocopy_call_ns" | "page_pin_ns" | "zerocopy_notify_ns" => {
                "needs a TCP connection with zero-copy receive or MSG_ZEROCOPY; not measured yet".into()
            }
            k if k.starts_with("vm_") || k == "vfio_inject_ns" || k == "posted_processing_ns" => {
                "measured from inside a hypervisor, not from a process".into()
            }
            k if k.starts_with("iommu_") || k.starts_with("dma_") => {
                "IOMMU work happens on device DMA mappings, which user space cannot time".into()
            }
            _ => "no measurement maps onto it".into(),
        }
    };
    let mut out: Vec<NotMeasured> = CostModel::default()
        .fields()
        .iter()
        .filter(|(k, _)| !measured.contains(k))
        .map(|(k, _)| NotMeasured { key: k.to_string(), why: why_for(k) })
        .collect();
    out.push(NotMeasured {
        key: "memory".into(),
        why: "[costs.memory] (barriers, store buffer, device reads of descriptors): instruction- and device-level costs, not measured".into(),
    });
    out
}

/// Formats a figure for the file: four significant digits at most.
fn fmt(v: f64) -> String {
    let digits = if v.abs() >= 1000.0 {
        0
    } else if v.abs() >= 100.0 {
        1
    } else if v.abs() >= 10.0 {
        2
    } else if v.abs() >= 1.0 {
        3
    } else {
        4
    };
    let s = format!("{v:.digits$}");
    // Always a TOML float.
    if s.contains('.') { s } else { format!("{s}.0") }
}

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    let mut out = String::from('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The cost file: provenance in comments and in `[calibration]` (which the
/// cost-file loader accepts and ignores), and the measured keys in
/// `[costs]`.
pub fn render(c: &Calibration) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let p = &c.provenance;
    let _ = writeln!(s, "# irqlab cost file, written by `irqlab calibrate` {}.", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(s, "# Use it with `irqlab run --costs FILE`, or `costs_file = \"FILE\"` in a scenario.");
    let _ = writeln!(s, "# Only [costs] changes the model; [calibration] records where the figures come from.");
    let _ = writeln!(s, "# Each figure is a median over repetitions; spread in [calibration.measurements].");
    let _ = writeln!(s, "#");
    let _ = writeln!(s, "# CPU:     {} ({})", p.cpu_model, p.cpu_detail);
    let _ = writeln!(s, "# kernel:  {}", p.kernel);
    let _ = writeln!(s, "# CPUs:    {:?}", p.cpus);
    let _ = writeln!(s, "# virtual machine: {}", p.virtual_machine.as_deref().unwrap_or("no sign of one"));
    let _ = writeln!(s, "# date:    {}", p.date);
    let _ = writeln!(s, "# load average: {:?} (other work on the machine widens the spread)", p.load_average);
    s.push('\n');
    s.push_str("[calibration]\n");
    let _ = writeln!(s, "irqlab = {}", toml_str(env!("CARGO_PKG_VERSION")));
    let _ = writeln!(s, "date = {}", toml_str(&p.date));
    let _ = writeln!(s, "cpu_model = {}", toml_str(&p.cpu_model));
    let _ = writeln!(s, "kernel = {}", toml_str(&p.kernel));
    let _ = writeln!(s, "cpus = {:?}", p.cpus);
    let _ = writeln!(s, "virtual_machine = {}", toml_str(p.virtual_machine.as_deref().unwrap_or("no")));
    let _ = writeln!(
        s,
        "load_average = [{}, {}, {}]",
        fmt(p.load_average[0]),
        fmt(p.load_average[1]),
        fmt(p.load_average[2])
    );
    let _ = writeln!(s, "reps = {}", c.options.reps);
    let _ = writeln!(s, "quick = {}", c.options.quick);
    let _ = writeln!(s, "elapsed_s = {}", fmt(c.elapsed_s));
    s.push_str("\n[calibration.measurements]\n");
    for m in &c.measurements {
        let st = &m.stats;
        let _ = writeln!(
            s,
            "{} = {{ unit = {}, median = {}, min = {}, p25 = {}, p75 = {}, max = {}, reps = {}, per_rep = {}, cpus = {}, what = {} }}",
            m.name,
            toml_str(m.unit),
            fmt(st.median),
            fmt(st.min),
            fmt(st.p25),
            fmt(st.p75),
            fmt(st.max),
            st.reps,
            m.per_rep,
            toml_str(&m.cpus),
            toml_str(&m.what)
        );
    }
    s.push_str("\n[calibration.skipped]\n");
    for k in &c.skipped {
        let _ = writeln!(s, "{} = {}", k.name, toml_str(&k.reason));
    }
    s.push_str("\n# Keys left at their defaults, and why.\n[calibration.not_measured]\n");
    for n in &c.not_measured {
        let _ = writeln!(s, "{} = {}", n.key, toml_str(&n.why));
    }
    s.push_str("\n[costs]\n");
    for cost in &c.costs {
        let unit = if cost.key.ends_with("_bytes_per_ns") { "bytes/ns" } else { "ns" };
        let _ = writeln!(s, "# {}; at the quartiles {}..{} {unit}", cost.from, fmt(cost.range.0), fmt(cost.range.1));
        let _ = writeln!(s, "{} = {}", cost.key, fmt(cost.value));
    }
    s
}

/// A table of the measurements and the keys they set, for a terminal.
pub fn summary(c: &Calibration) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "{:<28} {:>10} {:>10} {:>10}  unit      cpus", "measurement", "median", "p25", "p75");
    for m in &c.measurements {
        let st = &m.stats;
        let _ = writeln!(
            s,
            "{:<28} {:>10} {:>10} {:>10}  {:<9} {}",
            m.name,
            fmt(st.median),
            fmt(st.p25),
            fmt(st.p75),
            m.unit,
            m.cpus
        );
    }
    for k in &c.skipped {
        let _ = writeln!(s, "{:<28} skipped: {}", k.name, k.reason);
    }
    let _ = writeln!(s, "\n{:<30} {:>10} {:>10}  from", "cost key", "value", "default");
    let defaults = CostModel::default();
    let fields = defaults.fields();
    for cost in &c.costs {
        let def = fields.iter().find(|(k, _)| *k == cost.key).map_or(f64::NAN, |(_, v)| *v);
        let _ = writeln!(s, "{:<30} {:>10} {:>10}  {}", cost.key, fmt(cost.value), fmt(def), cost.from);
    }
    let _ = writeln!(
        s,
        "\n{} keys set, {} left at their defaults ({} measurements, {} skipped; {:.1} s)",
        c.costs.len(),
        c.not_measured.len(),
        c.measurements.len(),
        c.skipped.len(),
        c.elapsed_s
    );
    let load = c.provenance.load_average[0];
    if load > 0.5 * c.provenance.cpus.len().max(1) as f64 {
        let _ = writeln!(
            s,
            "note: load average {load:.2} on {} CPUs: other work competed with the measurements",
            c.provenance.cpus.len()
        );
    }
    if let Some(vm) = &c.provenance.virtual_machine {
        let _ = writeln!(s, "note: a virtual machine ({vm}): cross-CPU figures include the hypervisor's work");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_are_median_and_quartiles() {
        let s = Stats::of(vec![5.0, 1.0, 3.0, 2.0, 4.0]);
        assert_eq!((s.min, s.p25, s.median, s.p75, s.max, s.reps), (1.0, 2.0, 3.0, 4.0, 5.0, 5));
        let s = Stats::of(vec![2.0, 1.0]);
        assert_eq!(s.median, 1.5);
    }

    #[test]
    fn dates_are_utc_rfc3339() {
        let d = utc_now();
        assert_eq!(d.len(), 20);
        assert!(d.ends_with('Z') && d.as_bytes()[10] == b'T');
    }

    #[test]
    fn figures_are_toml_floats() {
        assert_eq!(fmt(95.123), "95.12");
        assert_eq!(fmt(1234.6), "1235.0");
        assert_eq!(fmt(0.5), "0.5000");
        assert_eq!(toml_str("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }
}
