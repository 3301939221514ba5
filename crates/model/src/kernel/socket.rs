//! Socket receive queues (UDP).
//!
//! Each flow has a socket whose receive queue is charged the packet's
//! truesize (length + skb overhead); a packet that finds the queue already
//! above `sk_rcvbuf` is dropped (`socket_full`), as in Linux
//! `__udp_enqueue_schedule_skb` (`if (rmem > sk->sk_rcvbuf) goto drop`).
//! Enqueueing to a socket whose reader is blocked wakes the reader. The
//! reader's packets are kept in one queue per thread in arrival order (a
//! thread reading several sockets takes whichever became readable first).

use crate::ids::{CoreId, ThreadId};
use crate::machine::Machine;
use irqlab_engine::{Dur, Time};

/// One socket's receive-queue accounting.
#[derive(Clone, Debug, Default)]
pub struct Socket {
    /// The thread that reads it (`None`: no listener; packets are dropped).
    pub owner: Option<ThreadId>,
    /// `sk_rmem_alloc`: truesize bytes queued.
    pub rmem_bytes: u64,
}

impl Machine {
    /// Hands the finished poll's packets to their sockets; returns the CPU
    /// time of notifying and waking their readers (the poll's context pays
    /// it, workload/notify.rs).
    pub(crate) fn deliver_batch(&mut self, core: CoreId, now: Time) -> Dur {
        let c = core.idx();
        let batch = std::mem::take(&mut self.softnet[c].batch);
        let targets = std::mem::take(&mut self.softnet[c].batch_targets);
        let polled = self.softnet[c].last_poll.map(|(item, _)| item);
        let mut notify_cost = Dur::ZERO;
        for (k, p) in batch.iter().enumerate() {
            if let Some(Some((t, idx))) = targets.get(k) {
                let rflow = match (polled, idx) {
                    (Some(crate::kernel::softirq::PollItem::Queue(q)), Some(i)) => Some((q, *i)),
                    _ => None,
                };
                self.enqueue_to_backlog(core, *t, *p, rflow);
                continue;
            }
            let sock = &mut self.sockets[p.flow.idx()];
            let Some(t) = sock.owner else {
                self.stats.dropped_no_socket += 1;
                continue;
            };
            if sock.rmem_bytes > self.kp.cfg.socket_rcvbuf_bytes {
                self.stats.dropped_socket_full += 1;
                continue;
            }
            sock.rmem_bytes += (p.bytes + self.kp.cfg.skb_overhead_bytes) as u64;
            self.threads[t.idx()].queue.push_back(*p);
            notify_cost += self.notify_data_ready(t, core, now);
        }
        self.softnet[c].batch = batch;
        self.softnet[c].batch.clear();
        self.softnet[c].batch_targets = targets;
        self.softnet[c].batch_targets.clear();
        notify_cost
    }
}
