//! Devices: the NIC with its RX queues, RSS, coalescing and MSI-X function.

pub mod level;
pub mod nic;
