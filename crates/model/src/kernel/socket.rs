//! Socket receive queues (UDP) and the kernel's per-flow state.
//!
//! Each flow has a socket whose receive queue is charged the packet's
//! truesize (length + skb overhead); a packet that finds the queue already
//! above `sk_rcvbuf` is dropped (`socket_full`), as in Linux
//! `__udp_enqueue_schedule_skb` (`if (rmem > sk->sk_rcvbuf) goto drop`).
//! Enqueueing to a socket whose reader is blocked wakes the reader. The
//! reader's packets are kept in one queue per thread in arrival order (a
//! thread reading several sockets takes whichever became readable first).

use crate::ids::{CpuId, QueueId, ThreadId};

/// One socket's receive-queue accounting.
#[derive(Clone, Copy, Debug, Default)]
pub struct Socket {
    /// The thread that reads it (`None`: no listener; packets are dropped).
    pub owner: Option<ThreadId>,
    /// `sk_rmem_alloc`: truesize bytes queued.
    pub rmem_bytes: u64,
}

/// What the kernel keeps per flow, its socket included: one record, so a
/// packet's poll and its read each touch one place (with a million flows,
/// each touch is a cache miss of the simulator's own).
#[derive(Clone, Copy, Debug)]
pub struct FlowState {
    /// The flow's socket.
    pub socket: Socket,
    /// The flow's RSS (Toeplitz) hash (`skb->hash`).
    pub hash: u32,
    /// The queue RSS picks for it.
    pub rss_queue: QueueId,
    /// The CPU that last touched its kernel state (for cache locality).
    pub last_cpu: Option<CpuId>,
    /// The highest sequence number delivered so far.
    pub last_seq: Option<u32>,
    /// Times its state moved to another CPU.
    pub handoffs: u32,
    /// Its out-of-order deliveries.
    pub reorders: u32,
}

impl FlowState {
    /// A flow never seen yet.
    pub fn new(hash: u32, rss_queue: QueueId) -> FlowState {
        FlowState {
            socket: Socket::default(),
            hash,
            rss_queue,
            last_cpu: None,
            last_seq: None,
            handoffs: 0,
            reorders: 0,
        }
    }
}
