//! Application threads: pinned readers blocking in `recv`.
//!
//! A thread loops on `recv`: each call is a UDP `recvmsg` returning one
//! datagram (`recvmsg_call_ns` + `recvmsg_datagram_ns`) plus the copy of
//! the frame to user space, then the application's own per-packet work.
//! With nothing queued it blocks and is woken by the softirq that queues its
//! next packet. Reads are grouped into bursts of `recv_batch` calls (one CPU
//! frame each); a packet's delivery time is the end of its own `recv` within
//! the burst, which is when the wire-to-application latency is taken. The
//! threads' state is here; the reading itself, a system call, is in the
//! kernel (kernel/recv.rs).

use crate::config::Scenario;
use crate::ids::{CpuId, QueueId, ThreadId};
use crate::workload::notify::Notifier;
use crate::workload::traffic::Packet;
use irqlab_engine::{Dur, Time};
use std::collections::VecDeque;

pub use crate::config::IO_URING_CQ_ENTRIES;

/// A thread's scheduling state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThreadState {
    /// Waiting in `recv` for data.
    Blocked,
    /// Woken from another core; not yet on its run queue.
    Waking,
    /// On its core's run queue.
    Runnable,
    /// On the CPU.
    Running,
    /// Runnable, but its cgroup used its `cpu.max` quota: waits for the
    /// next period (kernel/bandwidth.rs).
    Throttled,
}

/// One application thread.
#[derive(Debug)]
pub struct Thread {
    /// The CPU it is pinned to.
    pub cpu: CpuId,
    /// Its state.
    pub state: ThreadState,
    /// Packets queued on its sockets, oldest first.
    pub queue: VecDeque<Packet>,
    /// The burst in progress: each packet and the CPU time its `recv` took.
    pub burst: Vec<(Packet, Dur)>,
    /// CPU time of the burst in progress before its first `recv`.
    pub burst_prologue: Dur,
    /// Application work per packet.
    pub work: Dur,
    /// Times it was woken.
    pub wakeups: u64,
    /// Packets it received.
    pub received: u64,
    /// Load-balancing period, if the scheduler moves it.
    pub migrate_every: Option<Dur>,
    /// When it may next be moved.
    pub next_migration: Time,
    /// Times it was moved.
    pub migrations: u64,
    /// How it learns that data is ready.
    pub notify: Notifier,
    /// Bytes per read (`process.message_bytes`); 0 reads datagrams.
    pub msg_bytes: u32,
    /// Payload bytes queued for it, stream reads only.
    pub queued_payload: u64,
    /// Payload bytes of the oldest queued frame already read, stream reads only.
    pub head_used: u32,
    /// Zero-copy receive: the pages of the last message, still mapped
    /// (the next read unmaps them).
    pub mapped_pages: u32,
    /// The message being read: its payload pages mapped and bytes copied.
    pub msg: MessageRead,
    /// Its `[[cgroups]]` index, if it joined one.
    pub cgroup: Option<usize>,
    /// The cores it may migrate over (its group's cpuset, or every core).
    pub cpus: Vec<u32>,
    /// A user-space poll-mode driver's state, when the thread is one
    /// (`[vfio]`): it reads the NIC's rings, not sockets.
    pub pmd: Option<crate::workload::pmd::PmdThread>,
}

/// What one stream read does with the bytes it returns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MessageRead {
    /// Whole payload pages mapped into the process (remap receive).
    pub pages: u32,
    /// Bytes copied.
    pub copied: u32,
    /// CPU time of the read after the unmap and its TLB flush: the page
    /// mapping, the copy and the application's work.
    pub finish: Dur,
    /// When the frame holding the message's last byte arrived.
    pub last_wire: Time,
}

impl Thread {
    /// Reads it could do now without blocking: queued datagrams, or whole
    /// messages for stream reads.
    pub fn readable(&self) -> usize {
        if self.msg_bytes == 0 {
            self.queue.len()
        } else {
            ((self.queued_payload - self.head_used as u64) / self.msg_bytes as u64) as usize
        }
    }
}

/// Creates the threads of a scenario and assigns flows to them.
///
/// Without `[[apps]]`, each core gets one thread, which reads the flows whose
/// RSS queue interrupts that core (the "aligned" sharded server). With
/// `[[apps]]`, listed flows go to their thread and the rest are dealt
/// round-robin to the threads without a list; if every thread has a list,
/// unlisted flows have no reader and their packets are dropped (`no_socket`).
pub fn build_threads(s: &Scenario, flows: usize, affinity: &[CpuId]) -> (Vec<Thread>, FlowOwners) {
    let new = |cpu: CpuId, work: Dur| Thread {
        cpu,
        state: ThreadState::Blocked,
        queue: VecDeque::new(),
        burst: Vec::with_capacity(s.kernel.recv_batch as usize),
        burst_prologue: Dur::ZERO,
        work,
        wakeups: 0,
        received: 0,
        migrate_every: None,
        next_migration: Time::ZERO,
        migrations: 0,
        notify: Notifier::new(None),
        msg_bytes: s.process.message_bytes,
        queued_payload: 0,
        head_used: 0,
        mapped_pages: 0,
        msg: MessageRead::default(),
        cgroup: None,
        cpus: (0..s.machine.cores).collect(),
        pmd: None,
    };
    if s.apps.is_empty() {
        let threads: Vec<Thread> = (0..s.machine.cores).map(|c| new(CpuId(c), Dur::ZERO)).collect();
        // Thread i is core i's.
        return (threads, FlowOwners::ByQueue(affinity.iter().map(|c| ThreadId(c.0)).collect()));
    }
    let threads: Vec<Thread> = s
        .apps
        .iter()
        .map(|a| {
            let mut t = new(CpuId(a.core), Dur::from_ns_f64(a.work_ns));
            t.notify = Notifier::new(Some(a));
            t.cgroup = a.cgroup.as_deref().and_then(|n| crate::config::cgroups::index_of(&s.cgroups, n));
            if let Some(g) = t.cgroup {
                t.cpus = s.cgroups[g].cpus(s.machine.cores);
            }
            if a.migrate_every_us > 0.0 {
                let every = Dur::from_ns_f64(a.migrate_every_us * 1e3);
                t.migrate_every = Some(every);
                t.next_migration = Time::ZERO + every;
            }
            t
        })
        .collect();
    let mut owner = vec![NO_OWNER; flows];
    for (t, a) in s.apps.iter().enumerate() {
        for f in a.flows.iter().flatten() {
            owner[*f as usize] = t as u32;
        }
    }
    let open: Vec<usize> = s.apps.iter().enumerate().filter(|(_, a)| a.flows.is_none()).map(|(i, _)| i).collect();
    if !open.is_empty() {
        for (k, o) in owner.iter_mut().filter(|o| **o == NO_OWNER).enumerate() {
            *o = open[k % open.len()] as u32;
        }
    }
    (threads, FlowOwners::Listed(owner))
}

/// "No reader" in [`FlowOwners::Listed`].
const NO_OWNER: u32 = u32::MAX;

/// Which thread reads each flow's socket.
#[derive(Clone, Debug)]
pub enum FlowOwners {
    /// The flows of RX queue `q` are read by the thread at index `q`
    /// (without `[[apps]]`: one thread per core, the queue's interrupt CPU's),
    /// so a million flows need no list.
    ByQueue(Vec<ThreadId>),
    /// Flow by flow ([`NO_OWNER`]: none; its packets are dropped).
    Listed(Vec<u32>),
}

impl FlowOwners {
    /// The thread reading flow `i`, whose RSS queue is `queue`.
    pub fn of(&self, i: usize, queue: QueueId) -> Option<ThreadId> {
        match self {
            FlowOwners::ByQueue(by_queue) => by_queue.get(queue.idx()).copied(),
            FlowOwners::Listed(owner) => owner.get(i).filter(|t| **t != NO_OWNER).map(|t| ThreadId(*t)),
        }
    }
}
