//! `[process]`: the address space the application threads share, how its
//! readers receive (copying, or remapping the NIC's pages), the size of the
//! messages they read, and its threads that only compute (kernel/tlb.rs,
//! kernel/zerocopy.rs).

use super::{NotifyKind, Scenario, ValidateCx};
use serde::{Deserialize, Serialize};

/// Bytes of a page (x86 base page).
pub const PAGE_BYTES: u32 = 4096;
/// Bytes of protocol headers in front of each frame's payload: Ethernet
/// (14), IPv4 (20) and UDP (8). With header split the NIC writes these to a
/// separate header buffer and the payload to a page of its own.
pub const HEADER_BYTES: u32 = 42;
/// Largest message a reader asks for, bytes: 64 MiB, the largest receive
/// buffer the model accepts a message to fit in (`kernel.socket_rcvbuf_bytes`
/// bounds it further).
pub const MAX_MESSAGE_BYTES: u32 = 64 << 20;

/// How a reader gets the bytes of a message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiveMode {
    /// `recv` copies the bytes into the application's buffer.
    #[default]
    Copy,
    /// `getsockopt(TCP_ZEROCOPY_RECEIVE)` maps the pages the NIC wrote
    /// into the application's address space, copying only what is not a
    /// whole page-aligned payload page; the next call unmaps them again,
    /// with a TLB shootdown to the process's other CPUs.
    Remap,
}

/// The application process.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProcessConfig {
    /// How its readers receive: `copy` or `remap`.
    pub receive: ReceiveMode,
    /// Bytes each read returns: 0 reads one datagram per call (the payload
    /// of one frame); otherwise the socket is read as a byte stream and a
    /// read waits until this many payload bytes are queued (`SO_RCVLOWAT`),
    /// at most [`MAX_MESSAGE_BYTES`]. Needs `notify = "blocking_recv"`.
    pub message_bytes: u32,
    /// Threads of the process, the readers included: the others compute
    /// (always runnable) on the lowest cores that run no reader, so that
    /// the address space is live on that many CPUs. 0 means only the
    /// readers.
    pub threads: u32,
}

impl Default for ProcessConfig {
    fn default() -> Self {
        ProcessConfig { receive: ReceiveMode::Copy, message_bytes: 0, threads: 0 }
    }
}

impl ProcessConfig {
    /// The cores the readers run on (one per core without `[[apps]]`).
    pub fn reader_cores(s: &Scenario) -> Vec<u32> {
        if s.apps.is_empty() {
            (0..s.machine.cores).collect()
        } else {
            let mut c: Vec<u32> = s.apps.iter().map(|a| a.core).collect();
            c.sort_unstable();
            c.dedup();
            c
        }
    }

    /// The cores of the compute threads, as many as `threads` asks beyond
    /// the readers: the lowest cores without a reader, those that take a
    /// NIC queue's interrupt (by `nic.affinity`, else queue i on core
    /// i mod cores) last.
    pub fn compute_cores(s: &Scenario) -> Vec<u32> {
        let readers = Self::reader_cores(s);
        let readers_n = if s.apps.is_empty() { s.machine.cores } else { s.apps.len() as u32 };
        let extra = s.process.threads.saturating_sub(readers_n) as usize;
        let irq_cores: Vec<u32> = match &s.nic.affinity {
            Some(a) => a.clone(),
            None => (0..s.nic.queues.min(s.machine.cores)).collect(),
        };
        let mut free: Vec<u32> = (0..s.machine.cores).filter(|c| !readers.contains(c)).collect();
        free.sort_by_key(|c| (irq_cores.contains(c), *c));
        free.truncate(extra);
        free.sort_unstable();
        free
    }

    /// Checks `[process]` against the readers, the socket buffer and the NIC.
    pub fn validate(&self, s: &Scenario, cx: &mut ValidateCx) {
        if self.message_bytes > MAX_MESSAGE_BYTES {
            cx.err(
                "process.message_bytes",
                format!("expected at most {MAX_MESSAGE_BYTES} bytes (64 MiB), got {}", self.message_bytes),
            );
        } else if self.message_bytes > 0 {
            for (i, a) in s.apps.iter().enumerate() {
                if a.notify != NotifyKind::BlockingRecv {
                    cx.err(
                        format!("apps[{i}].notify"),
                        "stream reads (process.message_bytes > 0) need notify = \"blocking_recv\"",
                    );
                }
            }
            // A message must fit the receive buffer, or its read never
            // returns: every frame of it is charged its truesize.
            let payload = s.workload.packet_bytes.saturating_sub(HEADER_BYTES).max(1) as u64;
            let frames = (self.message_bytes as u64).div_ceil(payload) + 1;
            let truesize = frames * (s.workload.packet_bytes as u64 + s.kernel.skb_overhead_bytes as u64);
            if truesize > s.kernel.socket_rcvbuf_bytes {
                cx.err(
                    "process.message_bytes",
                    format!(
                        "a message of {} bytes spans up to {frames} frames ({truesize} bytes of truesize), more than kernel.socket_rcvbuf_bytes = {}: the read would never return",
                        self.message_bytes, s.kernel.socket_rcvbuf_bytes
                    ),
                );
            }
        }
        let readers = if s.apps.is_empty() { s.machine.cores } else { s.apps.len() as u32 };
        let free = s.machine.cores - Self::reader_cores(s).len().min(s.machine.cores as usize) as u32;
        if self.threads > readers && self.threads - readers > free {
            cx.err(
                "process.threads",
                format!(
                    "{} threads need {} cores beyond the {readers} reader{}, but only {free} cores run no reader",
                    self.threads,
                    self.threads - readers,
                    if readers == 1 { "" } else { "s" }
                ),
            );
        }
    }
}

/// Payload bytes of a frame of `bytes` bytes.
pub fn payload_bytes(bytes: u32) -> u32 {
    bytes.saturating_sub(HEADER_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AppConfig;
    use crate::config::testutil::{only_error, valid};

    #[test]
    fn a_message_must_fit_the_receive_buffer() {
        let mut s = Scenario::default();
        s.workload.packet_bytes = 1042;
        s.workload.rate_pps = Some(100_000.0);
        s.process.message_bytes = 64 << 10;
        valid(&s);
        s.process.message_bytes = 1 << 20;
        only_error(&s, "process.message_bytes", "never return");
        s.kernel.socket_rcvbuf_bytes = 4 << 20;
        valid(&s);
        s.process.message_bytes = MAX_MESSAGE_BYTES + 1;
        only_error(&s, "process.message_bytes", "at most");
    }

    #[test]
    fn stream_reads_need_blocking_recv_and_threads_need_free_cores() {
        let mut s = Scenario::default();
        s.apps = vec![AppConfig { notify: NotifyKind::Epoll, ..AppConfig::on_core(1) }];
        s.process.message_bytes = 4096;
        only_error(&s, "apps[0].notify", "blocking_recv");
        s.apps[0].notify = NotifyKind::BlockingRecv;
        s.process.threads = 4;
        valid(&s);
        assert_eq!(ProcessConfig::compute_cores(&s), vec![0, 2, 3]);
        s.process.threads = 2;
        s.nic.queues = 1;
        assert_eq!(ProcessConfig::compute_cores(&s), vec![2], "queue 0's interrupt core comes last");
        s.process.threads = 5;
        only_error(&s, "process.threads", "only 3 cores run no reader");
    }
}
