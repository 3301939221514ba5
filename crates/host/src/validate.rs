//! `irqlab validate`, against the host: composite behaviours measured on
//! this machine that are not calibration inputs — an eventfd round trip
//! through `epoll_wait` between two pinned threads, a pipe ping-pong, the
//! message size from which moving pages with `mremap` beats `memcpy` (with
//! the process on one and on two CPUs), a UDP send and receive over
//! loopback — each against the model's prediction from a calibration's
//! per-operation costs ([`irqlab_model::predict`]), as a model/host ratio
//! with a verdict against [`TOLERANCE`] (docs/validation.md).
//!
//! Measurements repeat as calibration's do (median and quartiles over
//! repetitions, threads pinned where the CPU matters), and what the host
//! cannot do is skipped with the reason. Like [`crate::measure`], this
//! module may use `unsafe`, in the four functions of its `Region` (map,
//! touch, `mremap` to a fixed address, unmap), each block with its
//! `SAFETY:` argument.

use crate::measure::{
    Stats, allowed_cpus, efd_post, efd_wait, pair_cpu, pin, pin_set, recvmsg_once, timed_reps, with_spinner,
};
use irqlab_model::costs::CostModel;
use irqlab_model::predict;
use rustix::event::{EventfdFlags, epoll, eventfd};
use rustix::fd::AsFd;
use std::hint::black_box;
use std::io::{Read, Write};
use std::time::Instant;

/// Model/host ratios accepted, inclusive: a factor of two either way. The
/// calibrated costs each carry their own spread, and a composition that
/// misses or double-counts a whole step (a system call, a wakeup, a flush)
/// moves the ratio by more than that.
pub const TOLERANCE: (f64, f64) = (0.5, 2.0);

/// Message sizes of the page-moving sweep, bytes: 4 KiB to 2 MiB.
pub const MOVE_SIZES: [f64; 10] =
    [4096.0, 8192.0, 16384.0, 32768.0, 65536.0, 131072.0, 262144.0, 524288.0, 1048576.0, 2097152.0];

/// Payload of the loopback datagrams, bytes.
pub const UDP_PAYLOAD: usize = 64;

/// How much to measure.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Repetitions of each measurement (at least 1).
    pub reps: usize,
    /// A tenth of the operations per repetition.
    pub quick: bool,
}

/// One behaviour: measured, predicted, compared.
#[derive(Clone, Debug)]
pub struct Comparison {
    /// Short name.
    pub name: &'static str,
    /// What was run.
    pub what: String,
    /// Unit of `host` and `model`: `ns` or `bytes`.
    pub unit: &'static str,
    /// The host's figure (median and spread), or why it was skipped.
    pub host: Result<Stats, String>,
    /// The model's prediction; `None` when it predicts no crossover in the sweep.
    pub model: Option<f64>,
    /// How the prediction was composed.
    pub composition: &'static str,
}

impl Comparison {
    /// Model over host, when both exist.
    pub fn ratio(&self) -> Option<f64> {
        let host = self.host.as_ref().ok()?.median;
        let model = self.model?;
        (host > 0.0).then(|| model / host)
    }

    /// `Some(true)` when the ratio is within [`TOLERANCE`]; `Some(false)`
    /// outside it, or when the host found a crossover the model does not
    /// predict in the sweep; `None` when the host part was skipped.
    pub fn holds(&self) -> Option<bool> {
        let host = self.host.as_ref().ok()?;
        match self.ratio() {
            Some(r) => Some((TOLERANCE.0..=TOLERANCE.1).contains(&r)),
            None => Some(self.model.is_none() && !host.median.is_finite()),
        }
    }
}

/// Measures every behaviour and predicts it from `costs`.
pub fn validate_host(costs: &CostModel, options: Options) -> Vec<Comparison> {
    let reps = options.reps.max(1);
    let scale = |n: usize| if options.quick { (n / 10).max(1) } else { n };
    let allowed = allowed_cpus();
    let pair = match allowed.first() {
        None => Err("the CPUs this process may run on are unknown (sched_getaffinity failed)".to_string()),
        Some(_) if allowed.len() < 2 => Err(format!("this process may run on one CPU only ({allowed:?})")),
        Some(&a) => Ok((a, pair_cpu(a, &allowed))),
    };
    let mut out = Vec::new();
    out.push(Comparison {
        name: "eventfd_epoll_rtt",
        what: "eventfd round trip between two threads pinned to two CPUs, each waiting in epoll_wait then read()"
            .into(),
        unit: "ns",
        host: pair.clone().and_then(|(a, b)| epoll_round_trip(a, b, scale(2_000), reps)).map(Stats::of),
        model: Some(predict::eventfd_epoll_round_trip_ns(costs)),
        composition: "2 × (write: system call + eventfd_signal + wakeup; cross-core wakeup latency; epoll_wait returns; read: system call)",
    });
    out.push(Comparison {
        name: "pipe_pingpong",
        what: "one way of a one-byte pipe ping-pong between two threads pinned to two CPUs".into(),
        unit: "ns",
        host: pair.clone().and_then(|(a, b)| pipe_pingpong(a, b, scale(2_000), reps)).map(Stats::of),
        model: Some(predict::pipe_one_way_ns(costs)),
        composition: "as an eventfd wakeup (the model has no pipe) plus a one-byte copy",
    });
    let one = allowed.first().copied().ok_or_else(|| "no CPU to pin to".to_string());
    let sweep = one.clone().and_then(|a| move_sweep(a, None, reps, options.quick));
    out.push(Comparison {
        name: "move_beats_copy_1cpu",
        what: "smallest message (4 KiB–2 MiB) from which mremap moving its pages beats memcpy, the process on one CPU"
            .into(),
        unit: "bytes",
        host: sweep.and_then(|s| crossover_stats(&s)),
        model: predict::move_beats_copy_bytes(costs, &MOVE_SIZES, 1),
        composition: "memcpy at copy_bytes_per_ns against a system call, pte_unmap + pte_map per page and the flush (INVLPG per page up to 33, else a full flush)",
    });
    let sweep2 = pair.clone().and_then(|(a, b)| move_sweep(a, Some(b), reps, options.quick));
    out.push(Comparison {
        name: "move_beats_copy_2cpu",
        what: "as above, with another thread of the process running on a second CPU (each move shoots down its TLB)"
            .into(),
        unit: "bytes",
        host: sweep2.and_then(|s| crossover_stats(&s)),
        model: predict::move_beats_copy_bytes(costs, &MOVE_SIZES, 2),
        composition: "as above, plus an IPI sent and waited for: IPI latency, the target's interrupt entry and exit and flush, a cache-line transfer back",
    });
    out.push(Comparison {
        name: "udp_loopback",
        what: format!("a {UDP_PAYLOAD}-byte UDP datagram sent to 127.0.0.1 and received, by one pinned thread"),
        unit: "ns",
        host: one.and_then(|a| udp_loopback(a, scale(20_000), reps)).map(Stats::of),
        model: Some(predict::udp_loopback_ns(costs, UDP_PAYLOAD as f64)),
        composition: "send: system call + tx_per_packet; loopback: backlog enqueue + softirq entry + rx_protocol_per_packet; receive: recvmsg_call + recvmsg_datagram + copy",
    });
    let _ = pin_set(&allowed);
    out
}

/// Per repetition, ns of moving a size's pages and of copying it.
type Timings = (Vec<f64>, Vec<f64>);

/// The crossover of each repetition of a sweep, as statistics; an error
/// when moving never wins in the sweep.
fn crossover_stats(sweep: &[Timings]) -> Result<Stats, String> {
    let reps = sweep.first().map_or(0, |s| s.0.len());
    let mut per_rep = Vec::new();
    for r in 0..reps {
        let found = predict::crossover(&MOVE_SIZES, |s| at(sweep, s, r).0, |s| at(sweep, s, r).1);
        per_rep.push(found.unwrap_or(f64::INFINITY));
    }
    let stats = Stats::of(per_rep.clone());
    if per_rep.iter().all(|v| !v.is_finite()) {
        return Err("moving pages never beat copying up to 2 MiB on this host".into());
    }
    Ok(stats)
}

/// (move ns, copy ns) of size `s` in repetition `r`.
fn at(sweep: &[Timings], s: f64, r: usize) -> (f64, f64) {
    let i = MOVE_SIZES.iter().position(|&x| x == s).unwrap_or(0);
    (sweep[i].0[r], sweep[i].1[r])
}

/// For each size of [`MOVE_SIZES`]: the ns of moving its pages and of
/// copying it, one value per repetition, pinned to `a`, with a thread of
/// this process spinning on `b` when given.
fn move_sweep(a: usize, b: Option<usize>, reps: usize, quick: bool) -> Result<Vec<Timings>, String> {
    let go = || {
        pin(a)?;
        MOVE_SIZES.iter().map(|&s| move_and_copy(s as usize, reps, quick)).collect::<Result<Vec<_>, String>>()
    };
    match b {
        None => go(),
        Some(b) => with_spinner(b, go),
    }
}

/// Moves a populated region of `len` bytes from address to address, and
/// copies `len` bytes between two buffers: ns of each.
fn move_and_copy(len: usize, reps: usize, quick: bool) -> Result<(Vec<f64>, Vec<f64>), String> {
    let per_rep = if quick { 4 } else { 20 };
    let src = vec![1u8; len];
    let mut dst = vec![0u8; len];
    let mut region = Region::new(len)?;
    let mut moves = Vec::with_capacity(reps);
    let mut copies = Vec::with_capacity(reps);
    for rep in 0..=reps {
        // The destinations are reserved before the clock starts.
        region.reserve(per_rep)?;
        let t = Instant::now();
        for _ in 0..per_rep {
            region.move_to_reserved()?;
        }
        let m = t.elapsed().as_nanos() as f64 / per_rep as f64;
        let t = Instant::now();
        for _ in 0..per_rep {
            dst.copy_from_slice(black_box(&src));
            black_box(&mut dst);
        }
        let c = t.elapsed().as_nanos() as f64 / per_rep as f64;
        if rep > 0 {
            moves.push(m);
            copies.push(c);
        }
    }
    Ok((moves, copies))
}

/// `len` bytes of populated anonymous pages, and address ranges of the
/// same length reserved (mapped `PROT_NONE`) for them to move to.
///
/// Every move goes onto a range this struct mapped itself, never onto a
/// hole: the range a move leaves behind is unmapped and may be reused by
/// any mapping of the process, so it is never touched again.
struct Region {
    len: usize,
    at: usize,
    reserved: Vec<usize>,
}

impl Region {
    /// Maps `len` bytes with the kernel choosing the address.
    #[allow(unsafe_code)]
    fn map(len: usize, prot: rustix::mm::ProtFlags) -> Result<usize, String> {
        // SAFETY: an anonymous private mapping at an address the kernel
        // chooses aliases nothing that exists; only the caller holds it.
        unsafe { rustix::mm::mmap_anonymous(std::ptr::null_mut(), len, prot, rustix::mm::MapFlags::PRIVATE) }
            .map(|p| p as usize)
            .map_err(|e| format!("mmap failed: {e}"))
    }

    #[allow(unsafe_code)]
    fn new(len: usize) -> Result<Region, String> {
        use rustix::mm::ProtFlags;
        let at = Self::map(len, ProtFlags::READ | ProtFlags::WRITE)?;
        for off in (0..len).step_by(4096) {
            // SAFETY: `at` is a fresh writable mapping of `len` bytes, and
            // `off` < `len`; nothing else refers to it.
            unsafe { ((at + off) as *mut u8).write_volatile(1) };
        }
        Ok(Region { len, at, reserved: Vec::new() })
    }

    /// Reserves `n` more destinations.
    fn reserve(&mut self, n: usize) -> Result<(), String> {
        for _ in 0..n {
            let r = Self::map(self.len, rustix::mm::ProtFlags::empty())?;
            self.reserved.push(r);
        }
        Ok(())
    }

    /// `mremap(MREMAP_MAYMOVE | MREMAP_FIXED)` of the populated range onto
    /// a reserved one: its page-table entries move, nothing is copied.
    #[allow(unsafe_code)]
    fn move_to_reserved(&mut self) -> Result<(), String> {
        let to = self.reserved.pop().ok_or_else(|| "no reserved range to move to".to_string())?;
        // SAFETY: the source is the populated mapping of `len` bytes this
        // struct created and refers to only by address; the destination is
        // a `PROT_NONE` mapping of `len` bytes it reserved itself, which the
        // move replaces. No Rust reference into either exists.
        let moved = unsafe {
            rustix::mm::mremap_fixed(
                self.at as *mut _,
                self.len,
                self.len,
                rustix::mm::MremapFlags::MAYMOVE,
                to as *mut _,
            )
        };
        match moved {
            Ok(p) => {
                self.at = p as usize;
                Ok(())
            }
            Err(e) => {
                self.reserved.push(to);
                Err(format!("mremap failed: {e}"))
            }
        }
    }
}

impl Drop for Region {
    #[allow(unsafe_code)]
    fn drop(&mut self) {
        for addr in std::iter::once(self.at).chain(self.reserved.drain(..)) {
            // SAFETY: each range is a mapping of `len` bytes this struct
            // created (the populated one, or a reservation not yet used);
            // nothing refers to it after the drop.
            let _ = unsafe { rustix::mm::munmap(addr as *mut _, self.len) };
        }
    }
}

/// Round trips between a thread on `a` (timing) and one on `b`, each
/// waiting in `epoll_wait` on its eventfd and then reading it: ns per round
/// trip, one value per repetition.
fn epoll_round_trip(a: usize, b: usize, per_rep: usize, reps: usize) -> Result<Vec<f64>, String> {
    let mk =
        || eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK).map_err(|e| format!("eventfd() failed: {e}"));
    let (ping, pong) = (mk()?, mk()?);
    let watch = |fd: &rustix::fd::OwnedFd| -> Result<rustix::fd::OwnedFd, String> {
        let ep = epoll::create(epoll::CreateFlags::CLOEXEC).map_err(|e| format!("epoll_create failed: {e}"))?;
        epoll::add(&ep, fd.as_fd(), epoll::EventData::new_u64(1), epoll::EventFlags::IN)
            .map_err(|e| format!("epoll_ctl failed: {e}"))?;
        Ok(ep)
    };
    let (ep_ping, ep_pong) = (watch(&ping)?, watch(&pong)?);
    let wait = |ep: &rustix::fd::OwnedFd, fd: &rustix::fd::OwnedFd| {
        let mut events = Vec::with_capacity(1);
        loop {
            events.clear();
            let _ = epoll::wait(ep, rustix::buffer::spare_capacity(&mut events), None);
            if !events.is_empty() {
                break;
            }
        }
        efd_wait(fd);
    };
    let total = per_rep * (reps + 1);
    std::thread::scope(|s| {
        let partner = s.spawn(|| -> Result<(), String> {
            let pinned = pin(b);
            for _ in 0..total {
                wait(&ep_ping, &ping);
                efd_post(&pong);
            }
            pinned
        });
        let timed = pin(a).and_then(|()| {
            timed_reps(reps, per_rep, 1, || {
                efd_post(&ping);
                wait(&ep_pong, &pong);
                Ok(())
            })
        });
        if timed.is_err() {
            for _ in 0..total {
                efd_post(&ping);
            }
        }
        partner.join().map_err(|_| "the partner thread panicked".to_string())??;
        timed
    })
}

/// One-byte ping-pong through two pipes between a thread on `a` (timing)
/// and one on `b`: ns per one-way trip.
fn pipe_pingpong(a: usize, b: usize, per_rep: usize, reps: usize) -> Result<Vec<f64>, String> {
    let (mut ping_r, mut ping_w) = std::io::pipe().map_err(|e| format!("pipe() failed: {e}"))?;
    let (mut pong_r, mut pong_w) = std::io::pipe().map_err(|e| format!("pipe() failed: {e}"))?;
    let total = per_rep * (reps + 1);
    std::thread::scope(|s| {
        let partner = s.spawn(move || -> Result<(), String> {
            let pinned = pin(b);
            let mut byte = [0u8; 1];
            for _ in 0..total {
                ping_r.read_exact(&mut byte).map_err(|e| format!("pipe read failed: {e}"))?;
                pong_w.write_all(&byte).map_err(|e| format!("pipe write failed: {e}"))?;
            }
            pinned
        });
        let mut byte = [1u8; 1];
        let timed = pin(a).and_then(|()| {
            timed_reps(reps, per_rep, 2, || {
                ping_w.write_all(&byte).map_err(|e| format!("pipe write failed: {e}"))?;
                pong_r.read_exact(&mut byte).map_err(|e| format!("pipe read failed: {e}"))
            })
        });
        // On failure, closing our ends ends the partner's reads.
        drop(ping_w);
        drop(pong_r);
        let partner = partner.join().map_err(|_| "the partner thread panicked".to_string())?;
        let out = timed?;
        partner?;
        Ok(out)
    })
}

/// A datagram of [`UDP_PAYLOAD`] bytes sent to a socket of this thread on
/// 127.0.0.1 and received with `recvmsg` (the call the model's readers
/// make): ns per send and receive.
fn udp_loopback(a: usize, per_rep: usize, reps: usize) -> Result<Vec<f64>, String> {
    pin(a)?;
    let sock =
        std::net::UdpSocket::bind("127.0.0.1:0").map_err(|e| format!("cannot bind a UDP socket on 127.0.0.1: {e}"))?;
    let to = sock.local_addr().map_err(|e| format!("getsockname failed: {e}"))?;
    let payload = [7u8; UDP_PAYLOAD];
    let mut buf = [0u8; 2048];
    timed_reps(reps, per_rep, 1, || {
        sock.send_to(&payload, to).map_err(|e| format!("sendto failed: {e}"))?;
        // The loopback's softirq ran inside send_to: the datagram is queued.
        let n = recvmsg_once(&sock, &mut buf).map_err(|e| format!("recvmsg failed: {e}"))?;
        if n != UDP_PAYLOAD {
            return Err(format!("received {n} bytes, sent {UDP_PAYLOAD}"));
        }
        Ok(())
    })
}

/// A figure for the table: ns with one decimal below 100, bytes in KiB.
fn show(v: f64, unit: &str) -> String {
    if !v.is_finite() {
        return "none".into();
    }
    match unit {
        "bytes" => format!("{:.0} KiB", v / 1024.0),
        _ if v >= 100.0 => format!("{v:.0} ns"),
        _ => format!("{v:.1} ns"),
    }
}

/// The comparisons as a terminal table, then how each prediction is composed.
pub fn render(cs: &[Comparison]) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<22} {:>12} {:>21} {:>12} {:>7}  verdict",
        "behaviour", "host median", "host p25–p75", "model", "ratio"
    );
    let _ = writeln!(s, "{}", "-".repeat(22 + 1 + 12 + 1 + 21 + 1 + 12 + 1 + 7 + 2 + 7));
    for c in cs {
        match &c.host {
            Ok(st) => {
                let ratio = c.ratio().map_or("-".into(), |r| format!("{r:.2}"));
                let verdict = if c.holds() == Some(true) { "holds" } else { "FAILS" };
                let _ = writeln!(
                    s,
                    "{:<22} {:>12} {:>21} {:>12} {:>7}  {verdict}",
                    c.name,
                    show(st.median, c.unit),
                    format!("{}–{}", show(st.p25, c.unit), show(st.p75, c.unit)),
                    c.model.map_or("none".into(), |m| show(m, c.unit)),
                    ratio
                );
            }
            Err(why) => {
                let _ = writeln!(s, "{:<22} skipped: {why}", c.name);
            }
        }
    }
    let _ = writeln!(s, "\ntolerance: model/host within {}–{}", TOLERANCE.0, TOLERANCE.1);
    for c in cs {
        let _ = writeln!(s, "{}: {}\n  model: {}", c.name, c.what, c.composition);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With one repetition of a tenth of the work, every behaviour is
    /// either measured (a positive figure in its unit) or skipped with a
    /// reason, and each has the model's prediction in the same unit.
    #[test]
    fn every_behaviour_is_measured_or_skipped_with_a_reason() {
        let cs = validate_host(&CostModel::default(), Options { reps: 1, quick: true });
        let names: Vec<&str> = cs.iter().map(|c| c.name).collect();
        assert_eq!(
            names,
            ["eventfd_epoll_rtt", "pipe_pingpong", "move_beats_copy_1cpu", "move_beats_copy_2cpu", "udp_loopback"]
        );
        for c in &cs {
            assert!(["ns", "bytes"].contains(&c.unit), "{}", c.name);
            match &c.host {
                Ok(st) => {
                    assert_eq!(st.reps, 1, "{}", c.name);
                    assert!(st.median > 0.0, "{}", c.name);
                    if c.unit == "bytes" && st.median.is_finite() {
                        assert!(MOVE_SIZES.contains(&st.median), "{}: {}", c.name, st.median);
                    }
                }
                Err(why) => assert!(!why.is_empty(), "{}", c.name),
            }
            if c.unit == "ns" {
                assert!(c.model.is_some_and(|m| m > 0.0), "{}", c.name);
            }
            if let (Some(r), Some(h)) = (c.ratio(), c.holds()) {
                assert_eq!(h, (TOLERANCE.0..=TOLERANCE.1).contains(&r));
            }
            assert_eq!(c.holds().is_none(), c.host.is_err(), "{}", c.name);
        }
        let table = render(&cs);
        assert!(cs.iter().all(|c| table.contains(c.name)));
    }
}
