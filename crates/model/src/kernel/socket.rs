//! Socket receive queues (UDP) and the kernel's per-flow state.
//!
//! Each flow has a socket whose receive queue is charged the packet's
//! truesize (length + skb overhead); a packet that finds the queue already
//! above `sk_rcvbuf` is dropped (`socket_full`), as in Linux
//! `__udp_enqueue_schedule_skb` (`if (rmem > sk->sk_rcvbuf) goto drop`).
//! Enqueueing to a socket whose reader is blocked wakes the reader. The
//! reader's packets are kept in one queue per thread in arrival order (a
//! thread reading several sockets takes whichever became readable first).

use crate::ids::{CpuId, ThreadId};

/// "None" in a 32-bit field of the flow record.
const NONE: u32 = u32::MAX;

/// One socket's receive-queue accounting.
#[derive(Clone, Copy, Debug)]
pub struct Socket {
    /// The thread that reads it ([`NONE`]: no listener; packets are
    /// dropped).
    owner: u32,
    /// `sk_rmem_alloc`: truesize bytes queued. 32 bits hold it: it passes
    /// `sk_rcvbuf` (an `int`, as `kernel.socket_rcvbuf_bytes` is held to)
    /// by at most one packet's truesize.
    pub rmem_bytes: u32,
}

impl Default for Socket {
    fn default() -> Self {
        Socket { owner: NONE, rmem_bytes: 0 }
    }
}

impl Socket {
    /// The thread that reads it (`None`: no listener).
    pub fn owner(&self) -> Option<ThreadId> {
        (self.owner != NONE).then_some(ThreadId(self.owner))
    }

    /// Gives the socket its reader.
    pub fn set_owner(&mut self, t: ThreadId) {
        debug_assert!(t.0 != NONE, "thread ids are small");
        self.owner = t.0;
    }
}

/// What the kernel touches per packet of a flow, its socket included: one
/// record, so a packet's poll and its read each touch one place (with a
/// million flows, each touch is a cache miss of the simulator's own). 16
/// bytes, so a record never straddles two cache lines and a million of them
/// fit a server's last-level cache (a test holds it to that size). What a
/// packet does not touch is kept apart: the flow's RSS hash (the kernel's
/// `flow_hash`, only when RPS or RFS steer by it), its queue (the NIC's),
/// its handoff and reordering counts ([`FlowCounts`]).
#[derive(Clone, Copy, Debug)]
pub struct FlowState {
    /// The flow's socket.
    pub socket: Socket,
    /// The CPU that last touched its kernel state ([`NONE`] before the
    /// first touch).
    last_cpu: u32,
    /// The highest sequence number delivered so far (0 before the first
    /// delivery: no sequence number is below it, so a flow's first packet
    /// is never out of order).
    max_seq: u32,
}

impl FlowState {
    /// A flow never seen yet, read by `owner` (`None`: no listener).
    pub fn new(owner: Option<ThreadId>) -> FlowState {
        let mut socket = Socket::default();
        if let Some(t) = owner {
            socket.set_owner(t);
        }
        FlowState { socket, last_cpu: NONE, max_seq: 0 }
    }

    /// `cpu` touches the flow's state: the CPU that touched it before, if
    /// any.
    pub fn touch(&mut self, cpu: CpuId) -> Option<CpuId> {
        let prev = std::mem::replace(&mut self.last_cpu, cpu.0);
        (prev != NONE).then_some(CpuId(prev))
    }

    /// Packet `seq` is delivered: whether it comes after one with a higher
    /// sequence number (out of order); otherwise it is the highest so far.
    pub fn deliver(&mut self, seq: u32) -> bool {
        if seq < self.max_seq {
            true
        } else {
            self.max_seq = seq;
            false
        }
    }
}

/// Per-flow counts a packet rarely touches (a flow's state moving to
/// another CPU, an out-of-order delivery), apart from the [`FlowState`]
/// records, with the summaries the report reads kept as they change: the
/// report never walks the flows (a million flows' arrays would be read, and
/// their untouched zero pages faulted in, only to find them zero).
#[derive(Clone, Debug, Default)]
pub struct FlowCounts {
    /// Whether each flow's state has moved to another CPU, a bit per flow
    /// (zero-filled: its pages cost nothing until a flow moves).
    handed_off: Vec<u64>,
    /// Flows whose state has moved at least once.
    flows_handed_off: u64,
    /// Each flow's out-of-order deliveries (zero-filled, as above).
    reorders: Vec<u32>,
    /// Flows with at least one out-of-order delivery.
    flows_reordered: u64,
    /// The most out-of-order deliveries of one flow.
    max_reorders: u32,
}

impl FlowCounts {
    /// Zero counts for `n` flows.
    pub fn new(n: usize) -> FlowCounts {
        FlowCounts { handed_off: vec![0; n.div_ceil(64)], reorders: vec![0; n], ..Default::default() }
    }

    /// Flow `f`'s state moved to another CPU.
    pub fn handoff(&mut self, f: usize) {
        let (word, bit) = (&mut self.handed_off[f / 64], 1u64 << (f % 64));
        if *word & bit == 0 {
            *word |= bit;
            self.flows_handed_off += 1;
        }
    }

    /// Flow `f` had an out-of-order delivery.
    pub fn reorder(&mut self, f: usize) {
        let r = &mut self.reorders[f];
        *r += 1;
        if *r == 1 {
            self.flows_reordered += 1;
        }
        self.max_reorders = self.max_reorders.max(*r);
    }

    /// Flows whose state has moved at least once: of `handoffs` moves in
    /// all, `handoffs - flows_handed_off()` came after a flow's first.
    pub fn flows_handed_off(&self) -> u64 {
        self.flows_handed_off
    }

    /// Flows with at least one out-of-order delivery.
    pub fn flows_reordered(&self) -> u64 {
        self.flows_reordered
    }

    /// The most out-of-order deliveries of one flow.
    pub fn max_reorders(&self) -> u64 {
        u64::from(self.max_reorders)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_counts_keep_the_summaries_a_walk_over_the_flows_would_compute() {
        let (handoffs, reorders) = ([3usize, 64, 3, 130, 3, 0, 64], [5usize, 5, 7, 5, 199]);
        let mut c = FlowCounts::new(200);
        for f in handoffs {
            c.handoff(f);
        }
        for f in reorders {
            c.reorder(f);
        }
        // Per flow, as the report computed them by walking arrays.
        let mut h = [0u64; 200];
        let mut r = [0u64; 200];
        handoffs.iter().for_each(|f| h[*f] += 1);
        reorders.iter().for_each(|f| r[*f] += 1);
        let after_first: u64 = h.iter().map(|x| x.saturating_sub(1)).sum();
        assert_eq!(handoffs.len() as u64 - c.flows_handed_off(), after_first);
        assert_eq!(c.flows_handed_off(), 4);
        assert_eq!(c.flows_reordered(), r.iter().filter(|x| **x > 0).count() as u64);
        assert_eq!(c.max_reorders(), *r.iter().max().unwrap());
        assert_eq!(c.max_reorders(), 3);
    }

    #[test]
    fn a_flow_record_is_16_bytes_and_never_straddles_a_cache_line() {
        assert_eq!(std::mem::size_of::<FlowState>(), 16);
        assert_eq!(64 % std::mem::size_of::<FlowState>(), 0);
    }

    #[test]
    fn the_record_keeps_its_optional_fields_apart_from_real_values() {
        let mut f = FlowState::new(None);
        assert_eq!(f.socket.owner(), None);
        f.socket.set_owner(ThreadId(0));
        assert_eq!(f.socket.owner(), Some(ThreadId(0)));
        assert_eq!(FlowState::new(Some(ThreadId(3))).socket.owner(), Some(ThreadId(3)));
        assert_eq!(f.touch(CpuId(0)), None);
        assert_eq!(f.touch(CpuId(3)), Some(CpuId(0)));
        assert!(!f.deliver(0), "a first packet is in order");
        assert!(!f.deliver(5));
        assert!(f.deliver(4));
        assert!(!f.deliver(5), "equal to the highest is not out of order");
    }
}
