//! Receive Side Scaling: the Toeplitz hash, its input tuples, and the
//! indirection table (RETA) that turns a hash into a receive queue.
//!
//! Models what a NIC does between parsing a received packet's headers and
//! picking an RX queue (docs/sources.md §1):
//! * [`toeplitz_hash`] / [`RssKey::hash`] — the Microsoft Toeplitz algorithm
//!   (§1.1), bit-exact, MSB of `input[0]` first.
//! * [`RssTuple`] — the hash input in network byte order, source before
//!   destination, address before port (§1.2): IPv4 2-tuple (8 bytes), IPv4
//!   4-tuple (12), IPv6 2-tuple (32), IPv6 4-tuple (36).
//! * [`Reta`] — a power-of-two indirection table indexed by the low bits of
//!   the hash, default-filled like Linux `ethtool_rxfh_indir_default` (§1.5).
//! * [`parse_endpoint`] / [`parse_key_hex`] — text front ends for the CLI.
//!
//! Left out: header parsing and the decision *which* hash type applies to a
//! packet (fragments, IPv6 extension headers, `*_IPV6_EX` address
//! substitution, §1.2 "hash-type rules"); the Symmetric-XOR input transform
//! (§1.6); non-Toeplitz hash functions; the hash-to-CPU step of RPS (a
//! `model` concern).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use thiserror::Error;

use crate::hex::{self, HexError};

/// Sizes and offsets of the RSS key and hash-input tuples (§1.1, §1.2).
///
/// Offsets are into the hash *input*, not the packet: the input is
/// `src_addr ‖ dst_addr [‖ src_port ‖ dst_port]`.
pub mod field {
    use std::ops::Range;

    /// Standard RSS key length in bytes (Microsoft, 320 bits).
    pub const KEY_LEN: usize = 40;
    /// The key must be at least this many bytes longer than the input: the
    /// 32-bit window for the last input bit reaches 31 bits past it.
    pub const KEY_SLACK: usize = 4;
    /// Bits in one byte of input or key.
    pub const BITS_PER_BYTE: usize = 8;
    /// Width of the sliding key window and of the hash.
    pub const WINDOW_BYTES: usize = 4;

    /// IPv4 address length.
    pub const IPV4_ADDR_LEN: usize = 4;
    /// IPv6 address length.
    pub const IPV6_ADDR_LEN: usize = 16;
    /// TCP/UDP port length.
    pub const PORT_LEN: usize = 2;

    /// `NDIS_HASH_IPV4`: src addr, dst addr.
    pub const IPV4_2TUPLE_LEN: usize = 2 * IPV4_ADDR_LEN;
    /// `NDIS_HASH_TCP_IPV4` / `UDP_IPV4`: addresses then ports.
    pub const IPV4_4TUPLE_LEN: usize = IPV4_2TUPLE_LEN + 2 * PORT_LEN;
    /// `NDIS_HASH_IPV6`: src addr, dst addr.
    pub const IPV6_2TUPLE_LEN: usize = 2 * IPV6_ADDR_LEN;
    /// `NDIS_HASH_TCP_IPV6` / `UDP_IPV6`: addresses then ports.
    pub const IPV6_4TUPLE_LEN: usize = IPV6_2TUPLE_LEN + 2 * PORT_LEN;
    /// Longest tuple; `KEY_LEN >= MAX_TUPLE_LEN + KEY_SLACK`.
    pub const MAX_TUPLE_LEN: usize = IPV6_4TUPLE_LEN;

    /// Source address bytes for an address of `addr_len` bytes.
    pub const fn src_addr(addr_len: usize) -> Range<usize> {
        0..addr_len
    }
    /// Destination address bytes.
    pub const fn dst_addr(addr_len: usize) -> Range<usize> {
        addr_len..2 * addr_len
    }
    /// Source port bytes (big-endian).
    pub const fn src_port(addr_len: usize) -> Range<usize> {
        2 * addr_len..2 * addr_len + PORT_LEN
    }
    /// Destination port bytes (big-endian).
    pub const fn dst_port(addr_len: usize) -> Range<usize> {
        2 * addr_len + PORT_LEN..2 * addr_len + 2 * PORT_LEN
    }

    /// Largest RETA this model accepts (ice's PF LUT is 2048; the cap only
    /// keeps a typo on the command line from allocating gigabytes).
    pub const MAX_RETA_SIZE: usize = 1 << 16;
}

/// The Microsoft verification key (§1.3), also DPDK's `default_rss_key`.
pub const MICROSOFT_KEY: [u8; field::KEY_LEN] = [
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, //
    0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, //
    0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, //
    0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c, //
    0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
];

/// The symmetric key `0x6d5a` × 20 (§1.6): swapping src/dst gives the same hash.
pub const SYMMETRIC_KEY: [u8; field::KEY_LEN] = {
    let mut key = [0u8; field::KEY_LEN];
    let mut i = 0;
    while i < field::KEY_LEN {
        key[i] = if i % 2 == 0 { 0x6d } else { 0x5a };
        i += 1;
    }
    key
};

/// Errors from hashing, tuple building, RETA configuration and parsing.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RssError {
    /// An [`RssKey`] shorter than the 40-byte standard.
    #[error("RSS key is {len} bytes; at least {min} are required")]
    KeyTooShort {
        /// Bytes supplied.
        len: usize,
        /// Minimum length.
        min: usize,
    },
    /// The key does not cover the input: it must be `input_len + 4` bytes.
    #[error("RSS key of {key_len} bytes cannot hash {input_len} input bytes (needs {} bytes)", input_len.saturating_add(field::KEY_SLACK))]
    KeyTooShortForInput {
        /// Key length.
        key_len: usize,
        /// Input length.
        input_len: usize,
    },
    /// Source and destination are of different address families.
    #[error("source is {src} but destination is {dst}: address families must match")]
    FamilyMismatch {
        /// Family of the source ("IPv4"/"IPv6").
        src: &'static str,
        /// Family of the destination.
        dst: &'static str,
    },
    /// A port was given for one endpoint only.
    #[error("a port was given for the {given} only; give ports on both sides (4-tuple) or neither (2-tuple)")]
    PortsOnOneSide {
        /// "source" or "destination".
        given: &'static str,
    },
    /// RETA size zero or not a power of two.
    #[error("RETA size {0} is not a power of two")]
    RetaSizeNotPowerOfTwo(usize),
    /// RETA size above [`field::MAX_RETA_SIZE`].
    #[error("RETA size {size} exceeds the supported maximum {max}")]
    RetaTooLarge {
        /// Requested size.
        size: usize,
        /// The cap.
        max: usize,
    },
    /// A RETA needs at least one queue.
    #[error("RETA needs at least one queue")]
    ZeroQueues,
    /// RETA index past the end.
    #[error("RETA index {index} out of range (table has {size} entries)")]
    RetaIndexOutOfRange {
        /// Index written.
        index: usize,
        /// Table size.
        size: usize,
    },
    /// Queue number not below the configured queue count.
    #[error("queue {queue} out of range ({queues} queues configured)")]
    QueueOutOfRange {
        /// Queue written.
        queue: u16,
        /// Queue count.
        queues: u16,
    },
    /// `ethtool -X weight`: every weight is 0.
    #[error("at least one weight must be non-zero")]
    RetaWeightsZero,
    /// `ethtool -X weight`: the weights add up to more than the table has entries.
    #[error("the weights add up to {sum}, more than the {size} entries of the indirection table")]
    RetaWeightsExceedSize {
        /// Sum of the weights.
        sum: u64,
        /// Table size.
        size: usize,
    },
    /// An explicit table whose length is not the table's size.
    #[error("{len} entries given for an indirection table of {size}")]
    RetaLength {
        /// Entries given.
        len: usize,
        /// Table size.
        size: usize,
    },
    /// Key text is not valid hex.
    #[error("invalid RSS key: {0}")]
    KeyHex(#[from] HexError),
    /// Endpoint text is not `IP`, `IPv4:port`, `IPv6` or `[IPv6]:port`.
    #[error("invalid endpoint {input:?}: {reason}")]
    Endpoint {
        /// The text given.
        input: String,
        /// What was wrong with it.
        reason: &'static str,
    },
}

/// Key bit `j` (MSB of byte 0 is bit 0). Bits past the end read as 0, which
/// callers avoid by checking the key length first.
fn key_bit(key: &[u8], j: usize) -> u32 {
    let byte = key.get(j / field::BITS_PER_BYTE).copied().unwrap_or(0);
    let shift = field::BITS_PER_BYTE - 1 - j % field::BITS_PER_BYTE;
    u32::from((byte >> shift) & 1)
}

/// Whether a key of `key_len` bytes is long enough to hash `input_len`
/// bytes: the 32-bit window at the input's last bit reaches
/// [`field::KEY_SLACK`] bytes past the input's length.
fn key_covers(key_len: usize, input_len: usize) -> Result<(), RssError> {
    if key_len < input_len.saturating_add(field::KEY_SLACK) {
        return Err(RssError::KeyTooShortForInput { key_len, input_len });
    }
    Ok(())
}

/// The Toeplitz hash of `input` under `key` (§1.1), for any key of at least
/// `input.len() + 4` bytes. Use [`RssKey::hash`] for the usual 40-byte case.
///
/// For input bit `i` (MSB of `input[0]` is bit 0) the 32-bit window holds key
/// bits `i..i+32`; every set input bit XORs the window into the result.
pub fn toeplitz_hash(key: &[u8], input: &[u8]) -> Result<u32, RssError> {
    key_covers(key.len(), input.len())?;
    let mut window_bytes = [0u8; field::WINDOW_BYTES];
    window_bytes.copy_from_slice(&key[..field::WINDOW_BYTES]);
    let mut window = u32::from_be_bytes(window_bytes);
    let window_bits = field::WINDOW_BYTES * field::BITS_PER_BYTE;
    let mut result = 0u32;
    for (n, &byte) in input.iter().enumerate() {
        for b in 0..field::BITS_PER_BYTE {
            let i = n * field::BITS_PER_BYTE + b;
            if (byte >> (field::BITS_PER_BYTE - 1 - b)) & 1 == 1 {
                result ^= window;
            }
            window = (window << 1) | key_bit(key, i + window_bits);
        }
    }
    Ok(result)
}

/// An RSS secret key of at least 40 bytes (longer keys are allowed: i40e
/// uses 52, Linux's `netdev_rss_key` is 52).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RssKey(Vec<u8>);

impl RssKey {
    /// A key from raw bytes; errors if shorter than [`field::KEY_LEN`].
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, RssError> {
        let bytes = bytes.into();
        if bytes.len() < field::KEY_LEN {
            return Err(RssError::KeyTooShort { len: bytes.len(), min: field::KEY_LEN });
        }
        Ok(Self(bytes))
    }

    /// The Microsoft verification key ([`MICROSOFT_KEY`]).
    pub fn microsoft() -> Self {
        Self(MICROSOFT_KEY.to_vec())
    }

    /// The symmetric key ([`SYMMETRIC_KEY`]).
    pub fn symmetric() -> Self {
        Self(SYMMETRIC_KEY.to_vec())
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Lowercase hex, no separators (the §1.3 "hex string form").
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Toeplitz hash of arbitrary input; errors if `input.len() + 4` exceeds
    /// the key length.
    pub fn hash(&self, input: &[u8]) -> Result<u32, RssError> {
        toeplitz_hash(&self.0, input)
    }

    /// Toeplitz hash of a tuple. Infallible: every key is at least 40 bytes
    /// and every tuple at most 36.
    pub fn hash_tuple(&self, tuple: &RssTuple) -> u32 {
        // Cannot fail (KEY_LEN >= MAX_TUPLE_LEN + KEY_SLACK); 0 is never
        // reached but keeps this path panic-free.
        toeplitz_hash(&self.0, tuple.as_bytes()).unwrap_or(0)
    }
}

/// The Toeplitz hash of one key as lookup tables: for each input byte
/// position, the XOR of the key windows its set bits select, for all 256
/// byte values. A hash is then one lookup and XOR per input byte instead of
/// eight shifts and tests — for hashing many tuples under one key (a
/// million flows at start-up). Equal to [`toeplitz_hash`] for every input
/// it covers (tested).
#[derive(Debug, Clone)]
pub struct ToeplitzTable {
    rows: Vec<[u32; 256]>,
    key_len: usize,
}

impl ToeplitzTable {
    /// Tables for inputs of up to `key.len() - 4` bytes.
    pub fn new(key: &[u8]) -> Self {
        let positions = key.len().saturating_sub(field::KEY_SLACK);
        let window = |i: usize| (0..32).fold(0u32, |w, k| (w << 1) | key_bit(key, i + k));
        let rows = (0..positions)
            .map(|n| {
                let bit_windows: [u32; 8] = std::array::from_fn(|b| window(n * field::BITS_PER_BYTE + b));
                std::array::from_fn(|v| {
                    (0..field::BITS_PER_BYTE)
                        .filter(|b| (v >> (field::BITS_PER_BYTE - 1 - b)) & 1 == 1)
                        .fold(0, |h, b| h ^ bit_windows[b])
                })
            })
            .collect();
        ToeplitzTable { rows, key_len: key.len() }
    }

    /// The Toeplitz hash of `input`; errors, as [`toeplitz_hash`] does, if
    /// the key is too short for it.
    pub fn hash(&self, input: &[u8]) -> Result<u32, RssError> {
        key_covers(self.key_len, input.len())?;
        Ok(self.share(0, input))
    }

    /// The Toeplitz hash of a tuple (infallible, as [`RssKey::hash_tuple`]).
    pub fn hash_tuple(&self, tuple: &RssTuple) -> u32 {
        self.hash(tuple.as_bytes()).unwrap_or(0)
    }

    /// The hash's share of `bytes` placed at `offset` in the input (the
    /// hash is linear over GF(2): an input's hash is the XOR of the shares
    /// of its bytes). Bytes past the table contribute nothing.
    fn share(&self, offset: usize, bytes: &[u8]) -> u32 {
        bytes.iter().zip(self.rows.iter().skip(offset)).fold(0, |h, (&b, row)| h ^ row[b as usize])
    }

    /// A hasher of IPv4 4-tuples towards one destination (address and
    /// port): the destination's share is computed once, and each tuple
    /// costs six lookups for its source address and port.
    pub fn ipv4_towards(&self, dst: Ipv4Addr, dport: u16) -> Result<Ipv4Towards<'_>, RssError> {
        key_covers(self.key_len, field::IPV4_4TUPLE_LEN)?;
        let a = field::IPV4_ADDR_LEN;
        let fixed = self.share(field::dst_addr(a).start, &dst.octets())
            ^ self.share(field::dst_port(a).start, &dport.to_be_bytes());
        Ok(Ipv4Towards { table: self, fixed })
    }
}

/// IPv4 4-tuple hashes towards one destination ([`ToeplitzTable::ipv4_towards`]).
#[derive(Debug, Clone, Copy)]
pub struct Ipv4Towards<'a> {
    table: &'a ToeplitzTable,
    fixed: u32,
}

impl Ipv4Towards<'_> {
    /// The hash of the tuple from `src`:`sport`; equal to
    /// [`ToeplitzTable::hash_tuple`] of [`RssTuple::ipv4_ports`] (tested).
    pub fn hash(&self, src: Ipv4Addr, sport: u16) -> u32 {
        let a = field::IPV4_ADDR_LEN;
        self.fixed
            ^ self.table.share(field::src_addr(a).start, &src.octets())
            ^ self.table.share(field::src_port(a).start, &sport.to_be_bytes())
    }
}

impl Default for RssKey {
    fn default() -> Self {
        Self::microsoft()
    }
}

/// Which hash input was built (§1.2; NDIS hash-type names in the docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TupleKind {
    /// `NDIS_HASH_IPV4`: 8 bytes.
    Ipv4TwoTuple,
    /// `NDIS_HASH_TCP_IPV4` (same layout for UDP): 12 bytes.
    Ipv4FourTuple,
    /// `NDIS_HASH_IPV6`: 32 bytes.
    Ipv6TwoTuple,
    /// `NDIS_HASH_TCP_IPV6` (same layout for UDP): 36 bytes.
    Ipv6FourTuple,
}

impl TupleKind {
    /// Number of input bytes.
    pub const fn input_len(self) -> usize {
        match self {
            Self::Ipv4TwoTuple => field::IPV4_2TUPLE_LEN,
            Self::Ipv4FourTuple => field::IPV4_4TUPLE_LEN,
            Self::Ipv6TwoTuple => field::IPV6_2TUPLE_LEN,
            Self::Ipv6FourTuple => field::IPV6_4TUPLE_LEN,
        }
    }

    /// Stable short name, e.g. `ipv4-4tuple`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Ipv4TwoTuple => "ipv4-2tuple",
            Self::Ipv4FourTuple => "ipv4-4tuple",
            Self::Ipv6TwoTuple => "ipv6-2tuple",
            Self::Ipv6FourTuple => "ipv6-4tuple",
        }
    }

    /// What the bytes are, for humans.
    pub const fn layout(self) -> &'static str {
        match self {
            Self::Ipv4TwoTuple | Self::Ipv6TwoTuple => "src addr, dst addr",
            Self::Ipv4FourTuple | Self::Ipv6FourTuple => "src addr, dst addr, src port, dst port",
        }
    }
}

impl std::fmt::Display for TupleKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A hash input tuple in network byte order (§1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RssTuple {
    kind: TupleKind,
    bytes: [u8; field::MAX_TUPLE_LEN],
}

fn family(addr: &IpAddr) -> &'static str {
    match addr {
        IpAddr::V4(_) => "IPv4",
        IpAddr::V6(_) => "IPv6",
    }
}

impl RssTuple {
    fn build(kind: TupleKind, src: &[u8], dst: &[u8], ports: Option<(u16, u16)>) -> Self {
        let addr_len = src.len();
        let mut bytes = [0u8; field::MAX_TUPLE_LEN];
        bytes[field::src_addr(addr_len)].copy_from_slice(src);
        bytes[field::dst_addr(addr_len)].copy_from_slice(dst);
        if let Some((sport, dport)) = ports {
            bytes[field::src_port(addr_len)].copy_from_slice(&sport.to_be_bytes());
            bytes[field::dst_port(addr_len)].copy_from_slice(&dport.to_be_bytes());
        }
        Self { kind, bytes }
    }

    /// IPv4 2-tuple (8 bytes).
    pub fn ipv4(src: Ipv4Addr, dst: Ipv4Addr) -> Self {
        Self::build(TupleKind::Ipv4TwoTuple, &src.octets(), &dst.octets(), None)
    }

    /// IPv4 4-tuple (12 bytes).
    pub fn ipv4_ports(src: Ipv4Addr, src_port: u16, dst: Ipv4Addr, dst_port: u16) -> Self {
        Self::build(TupleKind::Ipv4FourTuple, &src.octets(), &dst.octets(), Some((src_port, dst_port)))
    }

    /// IPv6 2-tuple (32 bytes).
    pub fn ipv6(src: Ipv6Addr, dst: Ipv6Addr) -> Self {
        Self::build(TupleKind::Ipv6TwoTuple, &src.octets(), &dst.octets(), None)
    }

    /// IPv6 4-tuple (36 bytes).
    pub fn ipv6_ports(src: Ipv6Addr, src_port: u16, dst: Ipv6Addr, dst_port: u16) -> Self {
        Self::build(TupleKind::Ipv6FourTuple, &src.octets(), &dst.octets(), Some((src_port, dst_port)))
    }

    /// Tuple from addresses and optional `(src_port, dst_port)`: 4-tuple with
    /// ports, 2-tuple without. Errors if the families differ.
    pub fn new(src: IpAddr, dst: IpAddr, ports: Option<(u16, u16)>) -> Result<Self, RssError> {
        match (src, dst, ports) {
            (IpAddr::V4(s), IpAddr::V4(d), None) => Ok(Self::ipv4(s, d)),
            (IpAddr::V4(s), IpAddr::V4(d), Some((sp, dp))) => Ok(Self::ipv4_ports(s, sp, d, dp)),
            (IpAddr::V6(s), IpAddr::V6(d), None) => Ok(Self::ipv6(s, d)),
            (IpAddr::V6(s), IpAddr::V6(d), Some((sp, dp))) => Ok(Self::ipv6_ports(s, sp, d, dp)),
            (s, d, _) => Err(RssError::FamilyMismatch { src: family(&s), dst: family(&d) }),
        }
    }

    /// Tuple from two `(address, optional port)` endpoints as returned by
    /// [`parse_endpoint`]. Ports on one side only is an error.
    pub fn from_endpoints(src: (IpAddr, Option<u16>), dst: (IpAddr, Option<u16>)) -> Result<Self, RssError> {
        let ports = match (src.1, dst.1) {
            (Some(sp), Some(dp)) => Some((sp, dp)),
            (None, None) => None,
            (Some(_), None) => return Err(RssError::PortsOnOneSide { given: "source" }),
            (None, Some(_)) => {
                return Err(RssError::PortsOnOneSide { given: "destination" });
            }
        };
        Self::new(src.0, dst.0, ports)
    }

    /// Which layout this is.
    pub fn kind(&self) -> TupleKind {
        self.kind
    }

    /// The hash input bytes (length = `kind().input_len()`).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.kind.input_len()]
    }
}

/// An RSS indirection table: `queue = reta[hash & (size - 1)]` (§1.5).
///
/// Entries are receive-queue numbers below `queues`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reta {
    entries: Vec<u16>,
    queues: u16,
    index_mask: u32,
}

/// How `ethtool -X` fills an indirection table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RetaFill {
    /// `default`: entry i is queue `i % queues`.
    Default,
    /// `equal N [start S]`: spread over queues `S..S+N`.
    Equal {
        /// Queues to spread over.
        n: u16,
        /// The first of them.
        start: u16,
    },
    /// `weight W0 W1 …`: queue j gets entries in proportion to `Wj`.
    Weight(Vec<u32>),
    /// Every entry's queue, in index order.
    Entries(Vec<u16>),
}

impl Reta {
    /// A table of `size` entries (power of two, at most
    /// [`field::MAX_RETA_SIZE`]) default-filled with `i % queues`, as Linux
    /// `ethtool_rxfh_indir_default` does.
    pub fn new(size: usize, queues: u16) -> Result<Self, RssError> {
        if !size.is_power_of_two() {
            return Err(RssError::RetaSizeNotPowerOfTwo(size));
        }
        if size > field::MAX_RETA_SIZE {
            return Err(RssError::RetaTooLarge { size, max: field::MAX_RETA_SIZE });
        }
        if queues == 0 {
            return Err(RssError::ZeroQueues);
        }
        let index_mask =
            u32::try_from(size - 1).map_err(|_| RssError::RetaTooLarge { size, max: field::MAX_RETA_SIZE })?;
        let entries = (0..size)
            .map(|i| {
                // i % queues < queues <= u16::MAX, so the conversion holds.
                u16::try_from(i % usize::from(queues)).unwrap_or(0)
            })
            .collect();
        Ok(Self { entries, queues, index_mask })
    }

    /// A table of `size` entries filled as `ethtool -X` fills it
    /// (ethtool.c `fill_indir_table`): `default` is [`Reta::new`];
    /// `equal N start S` gives entry i queue `S + i % N`; `weight W0 W1 …`
    /// gives queue j a run of entries in proportion to `Wj` (entry i goes to
    /// the first j with `i < size × (W0 + … + Wj) / ΣW`; the weights may add
    /// up to at most `size`); an explicit list gives every entry.
    pub fn filled(size: usize, queues: u16, fill: &RetaFill) -> Result<Self, RssError> {
        let mut t = Self::new(size, queues)?;
        match fill {
            RetaFill::Default => {}
            RetaFill::Equal { n, start } => {
                let last = u32::from(*start) + u32::from((*n).max(1)) - 1;
                if *n == 0 || last >= u32::from(queues) {
                    let queue = u16::try_from(last).unwrap_or(u16::MAX);
                    return Err(RssError::QueueOutOfRange { queue, queues });
                }
                for i in 0..size {
                    t.entries[i] = start + u16::try_from(i % usize::from(*n)).unwrap_or(0);
                }
            }
            RetaFill::Weight(w) => {
                if w.len() > usize::from(queues) {
                    let queue = u16::try_from(w.len() - 1).unwrap_or(u16::MAX);
                    return Err(RssError::QueueOutOfRange { queue, queues });
                }
                let sum: u64 = w.iter().map(|x| u64::from(*x)).sum();
                if sum == 0 {
                    return Err(RssError::RetaWeightsZero);
                }
                if sum > size as u64 {
                    return Err(RssError::RetaWeightsExceedSize { sum, size });
                }
                let (mut j, mut partial) = (0usize, 0u64);
                let mut started = false;
                for i in 0..size {
                    while !started || (i as u64) >= size as u64 * partial / sum {
                        if started {
                            j += 1;
                        }
                        started = true;
                        partial += u64::from(w[j]);
                    }
                    t.entries[i] = u16::try_from(j).unwrap_or(0);
                }
            }
            RetaFill::Entries(e) => {
                if e.len() != size {
                    return Err(RssError::RetaLength { len: e.len(), size });
                }
                for (i, q) in e.iter().enumerate() {
                    t.set(i, *q)?;
                }
            }
        }
        Ok(t)
    }

    /// Number of entries.
    pub fn size(&self) -> usize {
        self.entries.len()
    }

    /// Number of queues entries may name.
    pub fn queues(&self) -> u16 {
        self.queues
    }

    /// Table index a hash selects: its low `log2(size)` bits.
    pub fn index_for(&self, hash: u32) -> usize {
        // index_mask < MAX_RETA_SIZE, which fits every usize we build on.
        usize::try_from(hash & self.index_mask).unwrap_or(0)
    }

    /// Queue a hash selects.
    pub fn queue_for(&self, hash: u32) -> u16 {
        self.entries.get(self.index_for(hash)).copied().unwrap_or(0)
    }

    /// Entry at `index`, if in range.
    pub fn get(&self, index: usize) -> Option<u16> {
        self.entries.get(index).copied()
    }

    /// Program one entry (`ethtool -X`); the queue must be below `queues()`.
    pub fn set(&mut self, index: usize, queue: u16) -> Result<(), RssError> {
        if queue >= self.queues {
            return Err(RssError::QueueOutOfRange { queue, queues: self.queues });
        }
        let size = self.entries.len();
        let slot = self.entries.get_mut(index).ok_or(RssError::RetaIndexOutOfRange { index, size })?;
        *slot = queue;
        Ok(())
    }

    /// All entries, index order.
    pub fn entries(&self) -> &[u16] {
        &self.entries
    }
}

/// Parse `1.2.3.4`, `1.2.3.4:80`, `::1`, `[2001:db8::1]` or
/// `[2001:db8::1]:443` into an address and optional port.
pub fn parse_endpoint(text: &str) -> Result<(IpAddr, Option<u16>), RssError> {
    let input = text.trim();
    let err = |reason| RssError::Endpoint { input: input.to_owned(), reason };
    if input.is_empty() {
        return Err(err("empty"));
    }
    if let Ok(addr) = input.parse::<IpAddr>() {
        return Ok((addr, None));
    }
    if let Ok(sock) = input.parse::<SocketAddr>() {
        return Ok((sock.ip(), Some(sock.port())));
    }
    // Explain the failure as precisely as the shape allows.
    if let Some(rest) = input.strip_prefix('[') {
        let Some((inner, after)) = rest.split_once(']') else {
            return Err(err("missing ']' after a bracketed IPv6 address"));
        };
        let Ok(addr) = inner.parse::<Ipv6Addr>() else {
            return Err(err("not a valid IPv6 address inside [...]"));
        };
        if after.is_empty() {
            return Ok((IpAddr::V6(addr), None));
        }
        return match after.strip_prefix(':') {
            Some(port) if port.parse::<u16>().is_err() => Err(err("port must be a decimal number 0-65535")),
            _ => Err(err("expected ':PORT' after ']'")),
        };
    }
    if let Some((host, _port)) = input.rsplit_once(':') {
        if host.parse::<Ipv4Addr>().is_ok() {
            return Err(err("port must be a decimal number 0-65535"));
        }
        if host.contains(':') {
            return Err(err("not a valid IPv6 address (write an IPv6 address with a port as [addr]:port)"));
        }
    }
    Err(err("expected IPv4 a.b.c.d[:port], IPv6 addr, or [IPv6]:port"))
}

/// Parse an RSS key from hex (plain or colon-separated, optional `0x`; see
/// [`crate::hex`]). Errors on odd length, non-hex characters, or fewer than
/// [`field::KEY_LEN`] bytes.
pub fn parse_key_hex(text: &str) -> Result<RssKey, RssError> {
    RssKey::new(hex::decode_bytes(text)?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn ethtool_x_fills_the_table_as_ethtool_does() {
        // `ethtool -X eth0 weight 1 2 1` on a 128-entry table: runs of 32, 64, 32.
        let t = Reta::filled(128, 4, &RetaFill::Weight(vec![1, 2, 1])).unwrap();
        let runs: Vec<usize> = (0..3).map(|q| t.entries().iter().filter(|e| **e == q).count()).collect();
        assert_eq!(runs, [32, 64, 32]);
        assert!(t.entries()[..32].iter().all(|e| *e == 0) && t.entries()[96..].iter().all(|e| *e == 2));
        // A zero weight skips its queue.
        assert_eq!(Reta::filled(4, 3, &RetaFill::Weight(vec![1, 0, 1])).unwrap().entries(), [0, 0, 2, 2]);
        // `equal 2 start 1`.
        assert_eq!(
            Reta::filled(8, 4, &RetaFill::Equal { n: 2, start: 1 }).unwrap().entries(),
            [1, 2, 1, 2, 1, 2, 1, 2]
        );
        assert_eq!(Reta::filled(4, 4, &RetaFill::Default).unwrap().entries(), [0, 1, 2, 3]);
        assert_eq!(Reta::filled(4, 2, &RetaFill::Entries(vec![1, 1, 0, 1])).unwrap().entries(), [1, 1, 0, 1]);
        // What ethtool refuses.
        assert_eq!(Reta::filled(4, 4, &RetaFill::Weight(vec![0, 0])).unwrap_err(), RssError::RetaWeightsZero);
        assert_eq!(
            Reta::filled(4, 4, &RetaFill::Weight(vec![3, 3])).unwrap_err(),
            RssError::RetaWeightsExceedSize { sum: 6, size: 4 }
        );
        assert!(matches!(
            Reta::filled(8, 4, &RetaFill::Equal { n: 3, start: 2 }),
            Err(RssError::QueueOutOfRange { queue: 4, queues: 4 })
        ));
        assert!(matches!(
            Reta::filled(4, 2, &RetaFill::Entries(vec![0, 2, 0, 0])),
            Err(RssError::QueueOutOfRange { .. })
        ));
        assert_eq!(
            Reta::filled(4, 2, &RetaFill::Entries(vec![0, 1])).unwrap_err(),
            RssError::RetaLength { len: 2, size: 4 }
        );
    }

    use super::*;
    use proptest::prelude::*;

    fn v4(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    /// docs/sources.md §1.3, Microsoft IPv4 table, in the table's own column order:
    /// (destination addr, destination port, source addr, source port,
    ///  "IPv4 only" hash, "IPv4 with TCP" hash). The hash input is built
    /// source first, so each row is fed (src, dst) swapped relative to the
    /// table columns — mapped by column name, not position (§1.2 pitfall).
    const MS_IPV4_ROWS: [(&str, u16, &str, u16, u32, u32); 5] = [
        ("161.142.100.80", 1766, "66.9.149.187", 2794, 0x323e8fc2, 0x51ccc178),
        ("65.69.140.83", 4739, "199.92.111.2", 14230, 0xd718262a, 0xc626b0ea),
        ("12.22.207.184", 38024, "24.19.198.95", 12898, 0xd2d0a5de, 0x5c2b394a),
        ("209.142.163.6", 2217, "38.27.205.30", 48228, 0x82989176, 0xafc7327f),
        ("202.188.127.2", 1303, "153.39.163.191", 44251, 0x5d1809c5, 0x10e828a2),
    ];

    #[test]
    fn microsoft_ipv4_only_column_matches_every_row() {
        let key = RssKey::microsoft();
        for (dst, _, src, _, l3, _) in MS_IPV4_ROWS {
            let t = RssTuple::ipv4(v4(src), v4(dst));
            assert_eq!(t.kind(), TupleKind::Ipv4TwoTuple);
            assert_eq!(key.hash_tuple(&t), l3, "row dst={dst} src={src}");
        }
    }

    #[test]
    fn microsoft_ipv4_with_tcp_column_matches_every_row() {
        let key = RssKey::microsoft();
        for (dst, dport, src, sport, _, l4) in MS_IPV4_ROWS {
            let t = RssTuple::ipv4_ports(v4(src), sport, v4(dst), dport);
            assert_eq!(t.kind(), TupleKind::Ipv4FourTuple);
            assert_eq!(key.hash_tuple(&t), l4, "row dst={dst} src={src}");
        }
    }

    #[test]
    fn worked_example_row_1_bytes_are_src_dst_sport_dport_big_endian() {
        // docs/sources.md §1.3: `42 09 95 bb  a1 8e 64 50  0a ea  06 e6` → 0x51ccc178.
        let expected = [0x42, 0x09, 0x95, 0xbb, 0xa1, 0x8e, 0x64, 0x50, 0x0a, 0xea, 0x06, 0xe6];
        let t = RssTuple::ipv4_ports(v4("66.9.149.187"), 2794, v4("161.142.100.80"), 1766);
        assert_eq!(t.as_bytes(), expected);
        assert_eq!(toeplitz_hash(&MICROSOFT_KEY, &expected), Ok(0x51ccc178));
    }

    #[test]
    fn swapping_src_and_dst_changes_the_hash_with_the_ms_key() {
        // Guards against the column-order pitfall: the MS key is asymmetric.
        let key = RssKey::microsoft();
        let (dst, dport, src, sport, _, l4) = MS_IPV4_ROWS[0];
        let swapped = RssTuple::ipv4_ports(v4(dst), dport, v4(src), sport);
        assert_ne!(key.hash_tuple(&swapped), l4);
    }

    #[test]
    fn derived_reta_indices_for_128_and_512_entries() {
        // docs/sources.md §1.5 [derived]: IPv4+TCP hashes & (size-1).
        let r128 = Reta::new(128, 16).unwrap();
        let r512 = Reta::new(512, 16).unwrap();
        let idx128: Vec<usize> = MS_IPV4_ROWS.iter().map(|r| r128.index_for(r.5)).collect();
        let idx512: Vec<usize> = MS_IPV4_ROWS.iter().map(|r| r512.index_for(r.5)).collect();
        assert_eq!(idx128, [120, 106, 74, 127, 34]);
        assert_eq!(idx512, [376, 234, 330, 127, 162]);
    }

    #[test]
    fn reta_default_fill_is_index_mod_queues_and_lookup_uses_it() {
        let reta = Reta::new(128, 6).unwrap();
        assert!(reta.entries().iter().enumerate().all(|(i, &q)| usize::from(q) == i % 6));
        // 0x51ccc178 → index 120 → queue 120 % 6 = 0.
        assert_eq!(reta.queue_for(0x51ccc178), 0);
        // 0xc626b0ea → index 106 → queue 106 % 6 = 4.
        assert_eq!(reta.queue_for(0xc626b0ea), 4);
    }

    #[test]
    fn reta_rejects_bad_sizes_and_queue_counts() {
        assert_eq!(Reta::new(0, 4), Err(RssError::RetaSizeNotPowerOfTwo(0)));
        assert_eq!(Reta::new(100, 4), Err(RssError::RetaSizeNotPowerOfTwo(100)));
        assert_eq!(Reta::new(64, 0), Err(RssError::ZeroQueues));
        assert!(matches!(Reta::new(1 << 20, 4), Err(RssError::RetaTooLarge { .. })));
        assert!(Reta::new(1, 1).is_ok());
    }

    #[test]
    fn reta_set_and_get_program_single_entries() {
        let mut reta = Reta::new(64, 4).unwrap();
        reta.set(3, 0).unwrap();
        assert_eq!(reta.get(3), Some(0));
        assert_eq!(reta.queue_for(0xffff_ffc3), 0); // low 6 bits = 3
        assert_eq!(reta.get(64), None);
        assert_eq!(reta.set(64, 0), Err(RssError::RetaIndexOutOfRange { index: 64, size: 64 }));
        assert_eq!(reta.set(0, 4), Err(RssError::QueueOutOfRange { queue: 4, queues: 4 }));
    }

    #[test]
    fn tuple_layouts_have_the_spec_lengths_and_offsets() {
        let s6: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let d6: Ipv6Addr = "2001:db8::2".parse().unwrap();
        let t = RssTuple::ipv6_ports(s6, 0x1234, d6, 0xabcd);
        assert_eq!(t.as_bytes().len(), 36);
        assert_eq!(&t.as_bytes()[0..16], s6.octets());
        assert_eq!(&t.as_bytes()[16..32], d6.octets());
        assert_eq!(&t.as_bytes()[32..36], [0x12, 0x34, 0xab, 0xcd]);
        assert_eq!(RssTuple::ipv6(s6, d6).as_bytes().len(), 32);
        assert_eq!(RssTuple::ipv4(v4("1.2.3.4"), v4("5.6.7.8")).as_bytes(), [1, 2, 3, 4, 5, 6, 7, 8]);
    }

    #[test]
    fn mixed_families_and_one_sided_ports_are_errors() {
        let a: IpAddr = "1.2.3.4".parse().unwrap();
        let b: IpAddr = "::1".parse().unwrap();
        assert_eq!(RssTuple::new(a, b, None), Err(RssError::FamilyMismatch { src: "IPv4", dst: "IPv6" }));
        assert_eq!(
            RssTuple::from_endpoints((a, Some(1)), (a, None)),
            Err(RssError::PortsOnOneSide { given: "source" })
        );
        assert_eq!(
            RssTuple::from_endpoints((a, None), (a, Some(1))),
            Err(RssError::PortsOnOneSide { given: "destination" })
        );
        assert_eq!(
            RssTuple::from_endpoints((a, Some(1)), (a, Some(2))).map(|t| t.kind()),
            Ok(TupleKind::Ipv4FourTuple)
        );
    }

    #[test]
    fn key_length_rules() {
        assert_eq!(RssKey::new(vec![0; 39]), Err(RssError::KeyTooShort { len: 39, min: 40 }));
        let long = RssKey::new(vec![0x6d; 52]).unwrap();
        assert_eq!(long.hash(&[0xff; 48]).map(|_| ()), Ok(()));
        assert_eq!(long.hash(&[0xff; 49]), Err(RssError::KeyTooShortForInput { key_len: 52, input_len: 49 }));
        assert_eq!(toeplitz_hash(&[1, 2, 3], &[]), Err(RssError::KeyTooShortForInput { key_len: 3, input_len: 0 }));
    }

    #[test]
    fn hash_of_single_leading_one_bit_is_first_key_word() {
        // From §1.1: input bit 0 set XORs key bits 0..32 = key bytes 0..3.
        assert_eq!(toeplitz_hash(&MICROSOFT_KEY, &[0x80]), Ok(0x6d5a56da));
        // Input bit 7 set: key bits 7..39 = (0x6d5a56da25 >> 1) & 0xffffffff.
        assert_eq!(toeplitz_hash(&MICROSOFT_KEY, &[0x01]), Ok(0xad2b6d12));
    }

    #[test]
    fn parse_endpoint_accepts_the_four_shapes() {
        let v4a: IpAddr = "1.2.3.4".parse().unwrap();
        let v6a: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(parse_endpoint("1.2.3.4"), Ok((v4a, None)));
        assert_eq!(parse_endpoint("1.2.3.4:80"), Ok((v4a, Some(80))));
        assert_eq!(parse_endpoint("::1"), Ok(("::1".parse().unwrap(), None)));
        assert_eq!(parse_endpoint("[2001:db8::1]:443"), Ok((v6a, Some(443))));
        assert_eq!(parse_endpoint("[2001:db8::1]"), Ok((v6a, None)));
    }

    #[test]
    fn parse_endpoint_explains_failures() {
        let reason = |s: &str| match parse_endpoint(s) {
            Err(RssError::Endpoint { reason, .. }) => reason,
            other => panic!("{s:?} parsed as {other:?}"),
        };
        assert!(reason("").contains("empty"));
        assert!(reason("1.2.3.4:99999").contains("port"));
        assert!(reason("1.2.3.4:http").contains("port"));
        assert!(reason("[2001:db8::1]:x").contains("port"));
        assert!(reason("[2001:db8::1").contains("]"));
        assert!(reason("[1.2.3.4]:80").contains("IPv6"));
        assert!(reason("2001:db8::1:443:x").contains("IPv6"));
        assert!(reason("example.com").contains("expected"));
        assert!(reason("1.2.3").contains("expected"));
    }

    #[test]
    fn parse_key_hex_accepts_plain_and_colon_forms() {
        let plain = "6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da38030f20c6a42b73bbeac01fa";
        assert_eq!(parse_key_hex(plain), Ok(RssKey::microsoft()));
        assert_eq!(parse_key_hex(&format!("0x{plain}")), Ok(RssKey::microsoft()));
        let colon: Vec<String> = MICROSOFT_KEY.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(parse_key_hex(&colon.join(":")), Ok(RssKey::microsoft()));
        assert_eq!(RssKey::microsoft().to_hex(), plain);
    }

    #[test]
    fn parse_key_hex_rejects_odd_nonhex_and_short() {
        assert!(matches!(parse_key_hex("6d5"), Err(RssError::KeyHex(HexError::OddLength { .. }))));
        assert!(matches!(parse_key_hex("6d5x"), Err(RssError::KeyHex(HexError::NonHex { ch: 'x', .. }))));
        assert_eq!(parse_key_hex("6d5a"), Err(RssError::KeyTooShort { len: 2, min: 40 }));
    }

    fn ipv4_strategy() -> impl Strategy<Value = Ipv4Addr> {
        any::<[u8; 4]>().prop_map(Ipv4Addr::from)
    }
    fn ipv6_strategy() -> impl Strategy<Value = Ipv6Addr> {
        any::<[u8; 16]>().prop_map(Ipv6Addr::from)
    }

    #[test]
    fn the_table_hashes_the_published_vectors() {
        let t = ToeplitzTable::new(&MICROSOFT_KEY);
        assert_eq!(t.hash(&[0x80]), Ok(0x6d5a56da));
        assert_eq!(t.hash(&[0x01]), Ok(0xad2b6d12));
        for (dst, dport, src, sport, l3, l4) in MS_IPV4_ROWS {
            assert_eq!(t.hash_tuple(&RssTuple::ipv4(v4(src), v4(dst))), l3, "row dst={dst} src={src}");
            assert_eq!(t.hash_tuple(&RssTuple::ipv4_ports(v4(src), sport, v4(dst), dport)), l4);
            assert_eq!(t.ipv4_towards(v4(dst), dport).map(|h| h.hash(v4(src), sport)), Ok(l4));
        }
        assert_eq!(
            ToeplitzTable::new(&[1, 2, 3]).hash(&[]),
            Err(RssError::KeyTooShortForInput { key_len: 3, input_len: 0 })
        );
        assert_eq!(ToeplitzTable::new(&[1, 2, 3, 4]).hash(&[]), Ok(0));
        assert_eq!(
            ToeplitzTable::new(&[1, 2, 3, 4, 5]).hash(&[1, 2]),
            Err(RssError::KeyTooShortForInput { key_len: 5, input_len: 2 })
        );
    }

    proptest! {
        #[test]
        fn the_table_equals_the_bitwise_hash(
            key in proptest::collection::vec(any::<u8>(), 0..=52),
            input in proptest::collection::vec(any::<u8>(), 0..=48),
        ) {
            prop_assert_eq!(ToeplitzTable::new(&key).hash(&input), toeplitz_hash(&key, &input));
        }

        #[test]
        fn a_fixed_destination_hashes_as_the_whole_tuple(
            s in ipv4_strategy(), d in ipv4_strategy(), sp in any::<u16>(), dp in any::<u16>(),
            key in proptest::collection::vec(any::<u8>(), 0..=52),
        ) {
            let t = ToeplitzTable::new(&key);
            let whole = RssTuple::ipv4_ports(s, sp, d, dp);
            match t.ipv4_towards(d, dp) {
                Ok(h) => prop_assert_eq!(Ok(h.hash(s, sp)), t.hash(whole.as_bytes())),
                Err(e) => prop_assert_eq!(Err(e), t.hash(whole.as_bytes())),
            }
        }

        #[test]
        fn hash_is_gf2_linear(pairs in proptest::collection::vec(any::<(u8, u8)>(), 0..=36)) {
            let a: Vec<u8> = pairs.iter().map(|p| p.0).collect();
            let b: Vec<u8> = pairs.iter().map(|p| p.1).collect();
            let x: Vec<u8> = pairs.iter().map(|p| p.0 ^ p.1).collect();
            let h = |v: &[u8]| toeplitz_hash(&MICROSOFT_KEY, v).unwrap();
            prop_assert_eq!(h(&x), h(&a) ^ h(&b));
        }

        #[test]
        fn zero_padding_does_not_change_the_hash(
            input in proptest::collection::vec(any::<u8>(), 0..=36),
            pad in 0usize..=36,
        ) {
            let pad = pad.min(36 - input.len());
            let mut padded = input.clone();
            padded.resize(input.len() + pad, 0);
            prop_assert_eq!(
                toeplitz_hash(&MICROSOFT_KEY, &input),
                toeplitz_hash(&MICROSOFT_KEY, &padded)
            );
        }

        #[test]
        fn symmetric_key_ignores_direction_ipv4(
            s in ipv4_strategy(), d in ipv4_strategy(), sp in any::<u16>(), dp in any::<u16>()
        ) {
            let key = RssKey::symmetric();
            let fwd = key.hash_tuple(&RssTuple::ipv4_ports(s, sp, d, dp));
            let rev = key.hash_tuple(&RssTuple::ipv4_ports(d, dp, s, sp));
            prop_assert_eq!(fwd, rev);
            prop_assert_eq!(fwd >> 16, fwd & 0xffff);
            let fwd2 = key.hash_tuple(&RssTuple::ipv4(s, d));
            prop_assert_eq!(fwd2, key.hash_tuple(&RssTuple::ipv4(d, s)));
            prop_assert_eq!(fwd2 >> 16, fwd2 & 0xffff);
        }

        #[test]
        fn symmetric_key_ignores_direction_ipv6(
            s in ipv6_strategy(), d in ipv6_strategy(), sp in any::<u16>(), dp in any::<u16>()
        ) {
            let key = RssKey::symmetric();
            let fwd = key.hash_tuple(&RssTuple::ipv6_ports(s, sp, d, dp));
            let rev = key.hash_tuple(&RssTuple::ipv6_ports(d, dp, s, sp));
            prop_assert_eq!(fwd, rev);
            prop_assert_eq!(fwd >> 16, fwd & 0xffff);
            prop_assert_eq!(
                key.hash_tuple(&RssTuple::ipv6(s, d)),
                key.hash_tuple(&RssTuple::ipv6(d, s))
            );
        }

        #[test]
        fn parse_endpoint_never_panics(s in "\\PC{0,48}") {
            let _ = parse_endpoint(&s);
        }

        #[test]
        fn parse_key_hex_never_panics(s in "\\PC{0,100}") {
            let _ = parse_key_hex(&s);
        }
    }
}
