//! A cache hint for the model's hot loops.
//!
//! With a million flows a packet's per-flow state (its sequence number at
//! the port, its RSS queue, the kernel's flow record) is far larger than the
//! caches, and each first touch misses. Where the model knows which records
//! it will touch a little ahead — the port draws its frames' flows a few
//! frames early; a poll takes its whole batch from the ring before handling
//! any — it asks for them early, so the misses overlap instead of queueing
//! one behind the other. A prefetch has no effect on any value: outputs are
//! the same with or without it.

/// Asks the CPU to bring the cache line holding `r` closer (into every
/// level: `prefetcht0`). Does nothing on targets without the instruction.
#[inline(always)]
pub fn prefetch<T>(r: &T) {
    #[cfg(target_arch = "x86_64")]
    safe_arch::prefetch_t0(r);
    #[cfg(not(target_arch = "x86_64"))]
    let _ = r;
}
