//! The exhaustive doorbell checker: every visibility order a memory model
//! allows, and whether any of them lets a reader see stale data.
//!
//! **TX (`check_doorbell`).** The driver writes K descriptors into the TX ring
//! (two 64-bit stores each, [`irqlab_hw::txdesc`]), optionally a barrier, then the
//! tail doorbell (an MMIO store, `uc` or `wc`). [`super::ordering`] turns that
//! program into a partial order: which stores must become visible before
//! which. The device, once the doorbell is visible, reads descriptors 0..K in
//! ring order, each at any instant after the doorbell. An *execution* is one
//! interleaving of the 2K+1 store visibilities and the K device reads that
//! respects those constraints; a read is stale when any store of its
//! descriptor is not yet visible at that instant.
//!
//! **RX (`check_rx_status`).** The device writes a frame into the receive
//! buffer and then the descriptor write-back (length and the DD status bit) —
//! two DMA writes that PCIe keeps in order (posted requests do not pass posted
//! requests without Relaxed Ordering). The driver reads the status, then the
//! length, then the frame; on the weak model without `dma_rmb()` those loads
//! may be performed in any order. A read is stale when the driver saw DD set
//! but uses a length or frame it loaded before the device wrote them
//! (memory-barriers.txt, the `desc->status != DEVICE_OWN` example).
//!
//! **How it enumerates.** Every execution is a path through the lattice of
//! *states* (the set of events done so far, plus on RX what each load saw).
//! The checker walks that lattice breadth-first, one event per layer, so the
//! first stale read it meets ends a shortest counterexample; when none exists
//! it has visited every state and counted every path exactly (each state's
//! count is the sum over its predecessors), which is the number of executions
//! reported as "visibility orders explored". Counting by states instead of
//! listing permutations keeps K = [`MAX_DESCRIPTORS`] (20! ≈ 2.4·10¹⁸ orders
//! on the weak model with `wmb`, about 10⁶ states) to well under a second in
//! a release build.
//!
//! Left out: several cores writing one ring, the device prefetching beyond the
//! tail, and the device re-reading a descriptor it found stale (the
//! machine's TX path, devices/nic/tx.rs, models that reaction).

use super::ordering::{Barrier, MemoryModel, MmioType, Op, RxBarrier, Target, store_constraints};
use irqlab_hw::txdesc::{DescriptorRead, TxDesc, classify, field};
use serde::Serialize;
use std::collections::HashMap;
use std::hash::Hash;
use thiserror::Error;

/// Most descriptors `check_doorbell` accepts: the largest K whose order count
/// on the weak model with a barrier, (2K)! = 20!, still fits a `u64`; its
/// state lattice (2^20 states) takes about 0.3 s and 50 MB in a release build.
pub const MAX_DESCRIPTORS: u32 = 10;

/// Bus address of descriptor 0's buffer in the checker's program; descriptor
/// `i` uses `CHECK_BUFFER_BASE + i · CHECK_BUFFER_STRIDE`.
const CHECK_BUFFER_BASE: u64 = 0x1_0000_0000;
/// Spacing of the checker's packet buffers (one 2 KiB buffer per frame).
const CHECK_BUFFER_STRIDE: u64 = 0x800;
/// Frame length written into the checker's descriptors (minimum Ethernet
/// frame without FCS).
const CHECK_FRAME_LEN: u16 = 60;

/// The checker's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// No execution lets a reader see stale data.
    Safe {
        /// Number of executions (interleavings of store visibilities and
        /// reads) the model allows; all were covered. Saturates at `u64::MAX`.
        orders_explored: u64,
    },
    /// A shortest execution in which a reader sees stale data.
    Counterexample {
        /// The events before the stale read, in the order they happened: the
        /// stores as they became visible, and any earlier reads (by the device
        /// on TX, by the driver on RX), each described.
        stores_in_visibility_order: Vec<String>,
        /// The read that saw stale data: the device's descriptor fetch on TX,
        /// the driver's status read that trusts stale data on RX.
        device_read: String,
    },
}

impl Verdict {
    /// Whether the verdict is safe.
    pub fn is_safe(&self) -> bool {
        matches!(self, Verdict::Safe { .. })
    }
}

/// Arguments the checker cannot run with.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum CheckError {
    /// The descriptor count is outside 1..=[`MAX_DESCRIPTORS`].
    #[error(
        "the doorbell check takes 1 to {max} descriptors, got {0} (every descriptor is written alike, so more \
         would not change the verdict, only overflow the count of orders)",
        max = MAX_DESCRIPTORS
    )]
    Descriptors(u32),
}

/// Checks the TX doorbell contract for `descriptors` descriptors.
pub fn check_doorbell(
    model: MemoryModel,
    barrier: Barrier,
    mmio: MmioType,
    descriptors: u32,
) -> Result<Verdict, CheckError> {
    if descriptors == 0 || descriptors > MAX_DESCRIPTORS {
        return Err(CheckError::Descriptors(descriptors));
    }
    let litmus = DoorbellLitmus::new(model, barrier, mmio, descriptors as usize);
    Ok(explore(&litmus))
}

/// Checks the RX status-then-data reads.
pub fn check_rx_status(model: MemoryModel, barrier: RxBarrier) -> Verdict {
    explore(&RxStatusLitmus::new(model, barrier))
}

/// The driver's TX program as the checker lays it out, for reports: one
/// line per store or barrier, in program order.
pub fn doorbell_program(model: MemoryModel, barrier: Barrier, mmio: MmioType, descriptors: u32) -> Vec<String> {
    let k = descriptors.clamp(1, MAX_DESCRIPTORS) as usize;
    let l = DoorbellLitmus::new(model, barrier, mmio, k);
    let mut lines: Vec<String> = (0..2 * k).map(|s| l.store_label(s)).collect();
    if barrier != Barrier::None {
        lines.push(format!("{} ({})", barrier.name(), barrier.instruction(model)));
    }
    lines.push(l.store_label(l.doorbell));
    lines
}

/// The driver's RX program as the checker lays it out, for reports.
pub fn rx_status_program(model: MemoryModel, barrier: RxBarrier) -> Vec<String> {
    let mut lines = vec!["read rx_desc[0].status".to_string()];
    if barrier != RxBarrier::None {
        lines.push(format!("{} ({})", barrier.name(), barrier.instruction(model)));
    }
    lines.push("read rx_desc[0].length".into());
    lines.push("read rx_buf[0] (the frame)".into());
    lines
}

// ---------------------------------------------------------------------------
// The explorer.

/// What one event does from a state.
enum Step<S> {
    /// The event leads to this state.
    Next(S),
    /// The event is a read that sees stale data; the text says how.
    Stale(String),
}

/// A small concurrent program whose executions the explorer enumerates.
trait Litmus {
    /// A state: the events done so far and whatever the reads saw.
    type State: Copy + Eq + Hash;
    /// The state before any event.
    fn initial(&self) -> Self::State;
    /// Every event possible from `s`, in a fixed order.
    fn successors(&self, s: Self::State, out: &mut Vec<(usize, Step<Self::State>)>);
    /// The event `event` taken from state `s`, described for a report.
    fn describe(&self, s: Self::State, event: usize) -> String;
}

struct Node<S> {
    state: S,
    /// Executions from the initial state to this one.
    paths: u64,
    /// The node (index) and event this state was first reached by.
    parent: Option<(usize, usize)>,
}

/// Breadth-first walk of the state lattice: a shortest stale read, or the
/// number of complete executions.
fn explore<L: Litmus>(l: &L) -> Verdict {
    let mut nodes = vec![Node { state: l.initial(), paths: 1, parent: None }];
    let mut layer = 0..1;
    let mut index: HashMap<L::State, usize> = HashMap::new();
    let mut steps = Vec::new();
    let mut complete: u64 = 0;
    while !layer.is_empty() {
        index.clear();
        let next_start = nodes.len();
        for i in layer.clone() {
            steps.clear();
            l.successors(nodes[i].state, &mut steps);
            if steps.is_empty() {
                complete = complete.saturating_add(nodes[i].paths);
            }
            for (event, step) in steps.drain(..) {
                match step {
                    Step::Stale(what) => return counterexample(l, &nodes, i, what),
                    Step::Next(s) => {
                        let j = *index.entry(s).or_insert_with(|| {
                            nodes.push(Node { state: s, paths: 0, parent: Some((i, event)) });
                            nodes.len() - 1
                        });
                        nodes[j].paths = nodes[j].paths.saturating_add(nodes[i].paths);
                    }
                }
            }
        }
        layer = next_start..nodes.len();
    }
    Verdict::Safe { orders_explored: complete }
}

fn counterexample<L: Litmus>(l: &L, nodes: &[Node<L::State>], mut at: usize, what: String) -> Verdict {
    let mut events = Vec::new();
    while let Some((parent, event)) = nodes[at].parent {
        events.push(l.describe(nodes[parent].state, event));
        at = parent;
    }
    events.reverse();
    Verdict::Counterexample { stores_in_visibility_order: events, device_read: what }
}

// ---------------------------------------------------------------------------
// TX: descriptors, barrier, doorbell; the device's reads.

/// Stores are numbered `2·i + w` for word `w` of descriptor `i`, then the
/// doorbell `2·K`; reads of descriptor `r` are event `2·K + 1 + r`. A state is
/// the visible-store mask in the low 32 bits and the number of reads done
/// above them.
struct DoorbellLitmus {
    k: usize,
    mmio: MmioType,
    doorbell: usize,
    /// Per store, the stores that must be visible first.
    preds: Vec<u64>,
    /// What the driver writes, per descriptor.
    written: Vec<TxDesc>,
}

const READS_SHIFT: u32 = 32;
const MASK_BITS: u64 = (1 << READS_SHIFT) - 1;

impl DoorbellLitmus {
    fn new(model: MemoryModel, barrier: Barrier, mmio: MmioType, k: usize) -> Self {
        let mut program: Vec<Op> = (0..2 * k).map(|s| Op::Store { target: Target::Wb, location: s as u32 }).collect();
        program.push(Op::Fence(barrier));
        program.push(Op::Store { target: Target::Mmio(mmio), location: (2 * k) as u32 });
        // At most 2·MAX_DESCRIPTORS + 1 = 21 stores: always within MAX_STORES.
        let preds = store_constraints(model, &program).unwrap_or_default();
        let written = (0..k)
            .map(|i| {
                let addr = CHECK_BUFFER_BASE + i as u64 * CHECK_BUFFER_STRIDE;
                TxDesc::for_frame(addr, CHECK_FRAME_LEN, i + 1 == k, true)
            })
            .collect();
        DoorbellLitmus { k, mmio, doorbell: 2 * k, preds, written }
    }

    fn store_label(&self, store: usize) -> String {
        if store == self.doorbell {
            return format!("TDT = {} (tail doorbell, MMIO {})", self.k, self.mmio);
        }
        let (i, w) = (store / 2, store % 2);
        let d = &self.written[i];
        if w == field::WORD_ADDR {
            format!("tx_ring[{i}].buffer_addr = {:#x}", d.buffer_addr)
        } else {
            format!(
                "tx_ring[{i}].ctrl = {:#018x} (length {}, {}, gen {})",
                d.to_words()[field::WORD_CTRL],
                d.length,
                d.cmd_names(),
                u8::from(d.generation)
            )
        }
    }

    /// The device's view of descriptor `r` with the stores in `mask` visible;
    /// the ring starts zeroed.
    fn seen(&self, r: usize, mask: u64) -> TxDesc {
        let new = self.written[r].to_words();
        let word = |w: usize| if mask & (1 << (2 * r + w)) != 0 { new[w] } else { 0 };
        // Both words come from `TxDesc` encodings or zero: always decodable.
        TxDesc::from_words([word(0), word(1)]).unwrap_or_default()
    }

    fn stale_read(&self, r: usize, mask: u64) -> Option<String> {
        let seen = self.seen(r, mask);
        let written = &self.written[r];
        let missing: Vec<&str> = ["buffer_addr", "ctrl"]
            .iter()
            .enumerate()
            .filter(|(w, _)| mask & (1 << (2 * r + w)) == 0)
            .map(|(_, n)| *n)
            .collect();
        match classify(&seen, written) {
            DescriptorRead::Current => None,
            DescriptorRead::StaleOwnership => Some(format!(
                "device reads tx_ring[{r}]: generation {} where the driver wrote {} — stale ownership, \
                 the descriptor still looks like the previous lap's (not yet visible: {})",
                u8::from(seen.generation),
                u8::from(written.generation),
                missing.join(", ")
            )),
            DescriptorRead::Torn => Some(format!(
                "device reads tx_ring[{r}]: generation {} is current but buffer_addr is {:#x}, not {:#x} — \
                 a torn descriptor; the NIC would transmit the wrong buffer (not yet visible: {})",
                u8::from(seen.generation),
                seen.buffer_addr,
                written.buffer_addr,
                missing.join(", ")
            )),
        }
    }
}

impl Litmus for DoorbellLitmus {
    type State = u64;

    fn initial(&self) -> u64 {
        0
    }

    fn successors(&self, s: u64, out: &mut Vec<(usize, Step<u64>)>) {
        let mask = s & MASK_BITS;
        let reads = (s >> READS_SHIFT) as usize;
        for (j, &p) in self.preds.iter().enumerate() {
            if mask & (1 << j) == 0 && p & !mask == 0 {
                out.push((j, Step::Next(s | 1 << j)));
            }
        }
        if mask & (1 << self.doorbell) != 0 && reads < self.k {
            let event = self.doorbell + 1 + reads;
            match self.stale_read(reads, mask) {
                Some(what) => out.push((event, Step::Stale(what))),
                None => out.push((event, Step::Next(s + (1 << READS_SHIFT)))),
            }
        }
    }

    fn describe(&self, _s: u64, event: usize) -> String {
        if event <= self.doorbell {
            format!("visible: {}", self.store_label(event))
        } else {
            format!("device reads tx_ring[{}]: current", event - self.doorbell - 1)
        }
    }
}

// ---------------------------------------------------------------------------
// RX: the device's two DMA writes; the driver's status, length, frame loads.

/// Device writes the frame into rx_buf[0].
const RX_WRITE_FRAME: usize = 0;
/// Device writes back rx_desc[0]: length and DD.
const RX_WRITE_BACK: usize = 1;
/// Driver loads rx_desc[0].status.
const RX_LOAD_STATUS: usize = 2;
/// Driver loads rx_desc[0].length.
const RX_LOAD_LENGTH: usize = 3;
/// Driver loads the frame from rx_buf[0].
const RX_LOAD_FRAME: usize = 4;
const RX_EVENTS: usize = 5;
/// State bit: the status load saw DD set.
const SAW_DD: u16 = 1 << 5;
/// State bit: the length load saw the written-back length.
const LENGTH_FRESH: u16 = 1 << 6;
/// State bit: the frame load saw the new frame.
const FRAME_FRESH: u16 = 1 << 7;

/// State: bits 0..5 the events done, then [`SAW_DD`], [`LENGTH_FRESH`],
/// [`FRAME_FRESH`].
struct RxStatusLitmus {
    preds: [u16; RX_EVENTS],
}

impl RxStatusLitmus {
    fn new(model: MemoryModel, barrier: RxBarrier) -> Self {
        let bit = |e: usize| 1u16 << e;
        let after_status = if model.keeps_load_order(barrier) { bit(RX_LOAD_STATUS) } else { 0 };
        // No barrier between the length and frame loads.
        let after_length = if model.keeps_load_order(RxBarrier::None) { bit(RX_LOAD_LENGTH) } else { 0 };
        let mut preds = [0u16; RX_EVENTS];
        // PCIe: a posted write does not pass an earlier posted write.
        preds[RX_WRITE_BACK] = bit(RX_WRITE_FRAME);
        preds[RX_LOAD_LENGTH] = after_status;
        preds[RX_LOAD_FRAME] = after_status | after_length;
        RxStatusLitmus { preds }
    }

    fn done(s: u16, e: usize) -> bool {
        s & (1 << e) != 0
    }

    /// Whether the driver, having seen DD, uses something it loaded stale.
    fn trusts_stale(s: u16) -> Option<&'static str> {
        if s & SAW_DD == 0 {
            None
        } else if Self::done(s, RX_LOAD_LENGTH) && s & LENGTH_FRESH == 0 {
            Some("rx_desc[0].length")
        } else if Self::done(s, RX_LOAD_FRAME) && s & FRAME_FRESH == 0 {
            Some("the frame in rx_buf[0]")
        } else {
            None
        }
    }

    fn take(&self, s: u16, e: usize) -> u16 {
        let mut n = s | 1 << e;
        match e {
            RX_LOAD_STATUS if Self::done(s, RX_WRITE_BACK) => n |= SAW_DD,
            RX_LOAD_LENGTH if Self::done(s, RX_WRITE_BACK) => n |= LENGTH_FRESH,
            RX_LOAD_FRAME if Self::done(s, RX_WRITE_FRAME) => n |= FRAME_FRESH,
            _ => {}
        }
        n
    }
}

impl Litmus for RxStatusLitmus {
    type State = u16;

    fn initial(&self) -> u16 {
        0
    }

    fn successors(&self, s: u16, out: &mut Vec<(usize, Step<u16>)>) {
        for e in 0..RX_EVENTS {
            if Self::done(s, e) || self.preds[e] & !s & ((1 << RX_EVENTS) - 1) != 0 {
                continue;
            }
            let n = self.take(s, e);
            match Self::trusts_stale(n) {
                Some(what) => out.push((
                    e,
                    Step::Stale(format!(
                        "driver reads rx_desc[0].status: DD set, so it uses {what} it loaded before the device \
                         wrote it — stale data"
                    )),
                )),
                None => out.push((e, Step::Next(n))),
            }
        }
    }

    fn describe(&self, s: u16, event: usize) -> String {
        let n = self.take(s, event);
        match event {
            RX_WRITE_FRAME => "visible: device writes rx_buf[0] (the frame, DMA write)".into(),
            RX_WRITE_BACK => {
                format!("visible: device writes back rx_desc[0] (length {CHECK_FRAME_LEN}, status DD) (DMA write)")
            }
            RX_LOAD_STATUS => {
                let dd = if n & SAW_DD != 0 { "DD set" } else { "DD clear" };
                format!("driver reads rx_desc[0].status: {dd}")
            }
            RX_LOAD_LENGTH => {
                let v = if n & LENGTH_FRESH != 0 { CHECK_FRAME_LEN } else { 0 };
                format!("driver reads rx_desc[0].length: {v}")
            }
            _ => {
                let v = if n & FRAME_FRESH != 0 { "the new frame" } else { "old bytes" };
                format!("driver reads rx_buf[0]: {v}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Barrier::{DmaWmb, Wmb};
    use MemoryModel::{Tso, Weak};
    use MmioType::{Uc, Wc};

    fn doorbell(m: MemoryModel, b: Barrier, mmio: MmioType, k: u32) -> Verdict {
        check_doorbell(m, b, mmio, k).unwrap()
    }

    // The five verdicts the issue requires, each on its own.

    #[test]
    fn weak_without_barrier_has_a_counterexample() {
        assert!(!doorbell(Weak, Barrier::None, Uc, 2).is_safe());
    }

    #[test]
    fn weak_with_wmb_is_safe() {
        assert!(doorbell(Weak, Wmb, Uc, 2).is_safe());
    }

    #[test]
    fn tso_without_barrier_and_uc_doorbell_is_safe() {
        assert!(doorbell(Tso, Barrier::None, Uc, 2).is_safe());
    }

    #[test]
    fn tso_without_barrier_and_wc_doorbell_has_a_counterexample() {
        assert!(!doorbell(Tso, Barrier::None, Wc, 2).is_safe());
    }

    #[test]
    fn tso_with_wmb_and_wc_doorbell_is_safe() {
        assert!(doorbell(Tso, Wmb, Wc, 2).is_safe());
    }

    #[test]
    fn dma_wmb_is_a_compiler_barrier_on_tso_but_orders_stores_on_weak() {
        assert!(!doorbell(Tso, DmaWmb, Wc, 2).is_safe());
        assert!(doorbell(Weak, DmaWmb, Uc, 2).is_safe());
        assert!(doorbell(Weak, DmaWmb, Wc, 2).is_safe());
    }

    /// The rule the verdicts follow, stated independently of the explorer.
    fn expected_safe(m: MemoryModel, b: Barrier, mmio: MmioType) -> bool {
        match m {
            Tso => b == Wmb || mmio == Uc,
            Weak => b != Barrier::None,
        }
    }

    #[test]
    fn sweep_k_1_to_3_over_every_model_barrier_and_mmio_type() {
        for k in 1..=3 {
            for m in [Tso, Weak] {
                for b in [Barrier::None, Wmb, DmaWmb] {
                    for mmio in [Uc, Wc] {
                        let v = doorbell(m, b, mmio, k);
                        assert_eq!(v.is_safe(), expected_safe(m, b, mmio), "k={k} {m} {b} {mmio}: {v:?}");
                    }
                }
            }
        }
    }

    /// Brute force: every permutation of the 2K+1 stores consistent with the
    /// constraints; an execution exposes a stale read exactly when some
    /// descriptor store comes after the doorbell (the device may read right
    /// after it). Safe configurations then have one read placement each, so
    /// the permutation count is the execution count.
    fn brute_force(m: MemoryModel, b: Barrier, mmio: MmioType, k: usize) -> (bool, u64) {
        let l = DoorbellLitmus::new(m, b, mmio, k);
        let n = 2 * k + 1;
        let (mut safe, mut count) = (true, 0u64);
        let mut perm: Vec<usize> = (0..n).collect();
        fn permute(perm: &mut Vec<usize>, at: usize, visit: &mut dyn FnMut(&[usize])) {
            if at == perm.len() {
                visit(perm);
                return;
            }
            for i in at..perm.len() {
                perm.swap(at, i);
                permute(perm, at + 1, visit);
                perm.swap(at, i);
            }
        }
        permute(&mut perm, 0, &mut |p: &[usize]| {
            let mut seen = 0u64;
            for &s in p {
                if l.preds[s] & !seen != 0 {
                    return;
                }
                seen |= 1 << s;
            }
            count += 1;
            if p.last() != Some(&l.doorbell) {
                safe = false;
            }
        });
        (safe, count)
    }

    #[test]
    fn explorer_agrees_with_brute_force_permutations() {
        for k in 1..=3 {
            for m in [Tso, Weak] {
                for b in [Barrier::None, Wmb, DmaWmb] {
                    for mmio in [Uc, Wc] {
                        let (safe, perms) = brute_force(m, b, mmio, k as usize);
                        match doorbell(m, b, mmio, k) {
                            Verdict::Safe { orders_explored } => {
                                assert!(safe, "k={k} {m} {b} {mmio}");
                                assert_eq!(orders_explored, perms, "k={k} {m} {b} {mmio}");
                            }
                            Verdict::Counterexample { .. } => assert!(!safe, "k={k} {m} {b} {mmio}"),
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn orders_explored_count_every_interleaving() {
        // Weak + wmb: the 2K descriptor stores in any order, then the doorbell.
        let orders = |m, b, mmio, k| match doorbell(m, b, mmio, k) {
            Verdict::Safe { orders_explored } => orders_explored,
            v => panic!("expected safe, got {v:?}"),
        };
        assert_eq!(orders(Weak, Wmb, Uc, 1), 2);
        assert_eq!(orders(Weak, Wmb, Uc, 3), 720);
        // TSO keeps WB stores and the UC doorbell in program order: one order.
        assert_eq!(orders(Tso, Barrier::None, Uc, 3), 1);
        // 16! for eight descriptors, counted without listing them.
        assert_eq!(orders(Weak, Wmb, Wc, 8), 20_922_789_888_000);
    }

    #[test]
    fn the_largest_batch_is_counted_exactly() {
        // 20!: the largest factorial that fits a u64.
        assert_eq!(
            check_doorbell(Weak, DmaWmb, Uc, MAX_DESCRIPTORS),
            Ok(Verdict::Safe { orders_explored: 2_432_902_008_176_640_000 })
        );
    }

    #[test]
    fn shortest_counterexample_is_the_doorbell_then_the_stale_read() {
        let Verdict::Counterexample { stores_in_visibility_order, device_read } = doorbell(Weak, Barrier::None, Uc, 3)
        else {
            panic!("expected a counterexample");
        };
        assert_eq!(stores_in_visibility_order, ["visible: TDT = 3 (tail doorbell, MMIO uc)"]);
        assert!(device_read.starts_with("device reads tx_ring[0]: generation 0 where the driver wrote 1"));
        assert!(device_read.contains("not yet visible: buffer_addr, ctrl"));
    }

    #[test]
    fn torn_descriptors_are_reported_as_such() {
        let l = DoorbellLitmus::new(Weak, Barrier::None, Uc, 1);
        // Only the control word (generation) is visible.
        let what = l.stale_read(0, 0b10).unwrap();
        assert!(what.contains("torn descriptor"), "{what}");
        assert!(what.contains("buffer_addr is 0x0, not 0x100000000"), "{what}");
        assert_eq!(l.stale_read(0, 0b11), None);
    }

    #[test]
    fn descriptor_count_out_of_range_is_an_error_not_a_panic() {
        assert_eq!(check_doorbell(Weak, Wmb, Uc, 0), Err(CheckError::Descriptors(0)));
        assert_eq!(
            check_doorbell(Weak, Wmb, Uc, MAX_DESCRIPTORS + 1),
            Err(CheckError::Descriptors(MAX_DESCRIPTORS + 1))
        );
        assert_eq!(check_doorbell(Weak, Wmb, Uc, u32::MAX), Err(CheckError::Descriptors(u32::MAX)));
    }

    #[test]
    fn rx_status_needs_dma_rmb_only_on_the_weak_model() {
        assert!(!check_rx_status(Weak, RxBarrier::None).is_safe());
        assert_eq!(check_rx_status(Weak, RxBarrier::DmaRmb), Verdict::Safe { orders_explored: 20 });
        // TSO: two chains (device writes, driver loads) interleave in C(5,2) ways.
        assert_eq!(check_rx_status(Tso, RxBarrier::None), Verdict::Safe { orders_explored: 10 });
        assert_eq!(check_rx_status(Tso, RxBarrier::DmaRmb), Verdict::Safe { orders_explored: 10 });
    }

    #[test]
    fn rx_counterexample_loads_data_before_the_write_back() {
        let Verdict::Counterexample { stores_in_visibility_order, device_read } =
            check_rx_status(Weak, RxBarrier::None)
        else {
            panic!("expected a counterexample");
        };
        assert_eq!(
            stores_in_visibility_order,
            [
                "visible: device writes rx_buf[0] (the frame, DMA write)",
                "driver reads rx_desc[0].length: 0",
                "visible: device writes back rx_desc[0] (length 60, status DD) (DMA write)",
            ]
        );
        assert!(device_read.contains("DD set, so it uses rx_desc[0].length"), "{device_read}");
    }

    #[test]
    fn programs_list_the_barrier_where_the_driver_puts_it() {
        let p = doorbell_program(Weak, DmaWmb, Wc, 1);
        assert_eq!(p.len(), 4);
        assert_eq!(p[2], "dma_wmb (dmb oshst)");
        assert_eq!(p[3], "TDT = 1 (tail doorbell, MMIO wc)");
        assert_eq!(rx_status_program(Tso, RxBarrier::DmaRmb)[1], "dma_rmb (a compiler barrier only)");
    }
}
