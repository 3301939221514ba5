//! Flows: UDP 5-tuples and where RSS sends them.
//!
//! A flow is generated from the seed (sources in 10.0.0.0/8 with ephemeral
//! ports, towards one server address), listed in the scenario, or one of a
//! replayed capture's UDP and TCP 5-tuples. Its RSS
//! queue is computed exactly as the NIC would: Toeplitz over the IPv4/IPv6
//! 4-tuple in network byte order (docs/sources.md §1.2), then the indirection table
//! (§1.5). The NIC is assumed to hash UDP on the 4-tuple (`ethtool -N …
//! rx-flow-hash udp4 sdfn`); the 2-tuple default of some NICs is not modelled.

use crate::config::WorkloadConfig;
use irqlab_engine::rng::{RngStreams, streams};
use irqlab_hw::rss::{self, Reta, RssKey, RssTuple, ToeplitzTable};
use rand::Rng;
use std::net::{IpAddr, Ipv4Addr};

/// Destination address of generated flows (the server under test).
pub const SERVER_ADDR: Ipv4Addr = Ipv4Addr::new(10, 255, 0, 1);
/// Destination port of generated flows.
pub const SERVER_PORT: u16 = 9000;
/// Lowest ephemeral source port of generated flows (IANA dynamic range).
pub const EPHEMERAL_PORT_MIN: u16 = 49152;

/// The flows as RSS sees them, flow by flow: each one's RSS (Toeplitz) hash
/// of its 4-tuple and the RX queue the indirection table picks for it. The
/// 4-tuples are hashed as the table is built and not kept; the queues go to
/// the NIC (2 bytes a flow: a queue index fits 16 bits, as the indirection
/// table's entries do), the hashes to the kernel (for RPS and RFS, 4 bytes
/// a flow).
#[derive(Clone, Debug, Default)]
pub struct Flows {
    /// Each flow's hash.
    pub hash: Vec<u32>,
    /// Each flow's RSS queue (a [`crate::ids::QueueId`]'s index).
    pub queue: Vec<u16>,
}

impl Flows {
    /// The flows of these hashes, each on the queue `reta` picks for it.
    fn routed(hash: Vec<u32>, reta: &Reta) -> Flows {
        let queue = hash.iter().map(|h| reta.queue_for(*h)).collect();
        Flows { hash, queue }
    }
}

/// Builds the flow table.
pub fn build_flows(w: &WorkloadConfig, key: &RssKey, reta: &Reta, rngs: &RngStreams) -> Flows {
    let toeplitz = ToeplitzTable::new(key.as_bytes());
    let flow = |src: (IpAddr, u16), dst: (IpAddr, u16)| {
        // Both addresses share a family (validated), so the tuple builds.
        RssTuple::new(src.0, dst.0, Some((src.1, dst.1))).map_or(0, |t| toeplitz.hash_tuple(&t))
    };
    if let Some(t) = w.pcap_trace.as_ref().filter(|_| w.pcap.is_some()) {
        // A capture's flows, in order of first appearance. TCP is hashed on
        // the 4-tuple as UDP is (docs/sources.md §1.2).
        Flows::routed(t.flows.iter().map(|f| flow(f.src, f.dst)).collect(), reta)
    } else if w.flow_list.is_empty() {
        let mut rng = rngs.stream(streams::FLOWS);
        // All towards the server: its share of the hash is computed once.
        // (The key is validated to cover an IPv4 4-tuple.)
        let towards = toeplitz.ipv4_towards(SERVER_ADDR, SERVER_PORT).ok();
        let hashes = (0..w.flows)
            .map(|_| {
                let a: u32 = rng.random_range(1..(1 << 24) - 1);
                let src = Ipv4Addr::from(0x0a00_0000 | a);
                let port = rng.random_range(EPHEMERAL_PORT_MIN..=u16::MAX);
                towards.map_or(0, |h| h.hash(src, port))
            })
            .collect();
        Flows::routed(hashes, reta)
    } else {
        let hashes = w
            .flow_list
            .iter()
            .map(|f| {
                // Validated by Scenario::validate: both parse and carry a port.
                let (sa, sp) = rss::parse_endpoint(&f.src).unwrap_or((IpAddr::V4(Ipv4Addr::UNSPECIFIED), None));
                let (da, dp) = rss::parse_endpoint(&f.dst).unwrap_or((IpAddr::V4(Ipv4Addr::UNSPECIFIED), None));
                flow((sa, sp.unwrap_or(0)), (da, dp.unwrap_or(0)))
            })
            .collect();
        Flows::routed(hashes, reta)
    }
}
