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
/// records. Zero-filled, so their pages cost nothing until a count is made.
#[derive(Clone, Debug, Default)]
pub struct FlowCounts {
    /// Times each flow's state moved to another CPU.
    pub handoffs: Vec<u32>,
    /// Each flow's out-of-order deliveries.
    pub reorders: Vec<u32>,
}

impl FlowCounts {
    /// Zero counts for `n` flows.
    pub fn new(n: usize) -> FlowCounts {
        FlowCounts { handoffs: vec![0; n], reorders: vec![0; n] }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
