//! A received frame as the model carries it: when it arrived, its flow,
//! its size and place in the flow — a small `Copy` record passed through
//! rings, backlogs and sockets (the data itself is not modelled).

use crate::ids::FlowId;
use irqlab_engine::Time;

/// A received frame: a small record, copied through rings and queues.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet {
    /// When its last bit reached the device the receiving kernel drives:
    /// the NIC's port, or — a VM's virtio or emulated NIC — when the host
    /// back end finished putting it into the guest's ring (what the ring's
    /// landing is timed from).
    pub wire: Time,
    /// When its last bit arrived at the physical port (latency is measured
    /// from here); equal to `wire` unless a host back end stands between.
    pub origin: Time,
    /// Its flow.
    pub flow: FlowId,
    /// Frame length in bytes.
    pub bytes: u32,
    /// Position in its flow (0, 1, 2, …): reordering is checked on delivery.
    pub seq: u32,
    /// The IOMMU refused the write of its data, but the NIC, which never
    /// learns of a refused posted write, wrote its descriptor back: the
    /// driver finds a completed descriptor over a buffer that holds
    /// something else, and discards it.
    pub faulted: bool,
}
