//! The platform: cores grouped into sockets (NUMA nodes), each with a local
//! APIC, and the per-core execution state.

pub mod cpu;
pub mod ioapic;
pub mod topology;
