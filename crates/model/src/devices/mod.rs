//! Devices: the NIC (RX queues, RSS-steered arrivals, coalescing, MSI-X,
//! MSI, INTx), simple level-triggered devices, and misbehaving ones
//! (`[[attackers]]`). Each reaches the platform only through its upstream
//! port (platform/ports.rs).

pub mod level;
pub mod nic;
pub mod rogue;
