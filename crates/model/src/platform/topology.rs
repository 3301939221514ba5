//! Cores, sockets and APIC IDs.
//!
//! Cores are numbered 0..N and split evenly over S sockets in order (cores
//! 0..N/S on socket 0, …), the usual Linux enumeration on one-thread-per-core
//! machines. A core's xAPIC ID equals its index (8-bit physical destination,
//! SDM Vol. 3A §10.6); x2APIC clustering and SMT siblings are not modelled.

use crate::ids::CoreId;

/// Core and socket counts.
#[derive(Clone, Copy, Debug)]
pub struct Topology {
    cores: u32,
    cores_per_socket: u32,
}

impl Topology {
    /// `cores` split evenly over `sockets` (validated by the scenario).
    pub fn new(cores: u32, sockets: u32) -> Topology {
        Topology { cores, cores_per_socket: cores / sockets.max(1) }
    }
    /// Number of cores.
    pub fn cores(&self) -> u32 {
        self.cores
    }
    /// The socket (NUMA node) a core sits on.
    pub fn socket_of(&self, c: CoreId) -> u32 {
        c.0 / self.cores_per_socket.max(1)
    }
    /// The local APIC ID of a core.
    pub fn apic_id(&self, c: CoreId) -> u32 {
        c.0
    }
    /// The core with a given local APIC ID, if any.
    pub fn core_of_apic(&self, apic_id: u32) -> Option<CoreId> {
        (apic_id < self.cores).then_some(CoreId(apic_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cores_split_evenly_over_sockets() {
        let t = Topology::new(8, 2);
        assert_eq!(t.socket_of(CoreId(3)), 0);
        assert_eq!(t.socket_of(CoreId(4)), 1);
        assert_eq!(t.core_of_apic(7), Some(CoreId(7)));
        assert_eq!(t.core_of_apic(8), None);
    }
}
