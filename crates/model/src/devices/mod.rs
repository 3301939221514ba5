//! Devices: the NIC (RX queues, RSS-steered arrivals, coalescing, MSI-X,
//! MSI, INTx) and simple level-triggered devices. Each reaches the platform
//! only through its upstream port (platform/ports.rs).

pub mod level;
pub mod nic;
