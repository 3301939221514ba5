//! `[iommu]`: the platform's VT-d unit — DMA remapping (off, pass-through,
//! strict or lazy invalidation), its caches, its fault-recording registers,
//! and interrupt remapping — and how the NIC driver maps its buffers.
//!
//! Defaults follow Linux and published figures where there are some
//! (docs/sources.md §5–6, docs/costs.md): the flush queue of 256 entries
//! per CPU and its 10 ms timer (`IOVA_DEFAULT_FQ_SIZE`, `IOVA_FQ_TIMEOUT`,
//! drivers/iommu/dma-iommu.c), an interrupt-remapping table of 65,536
//! entries (`INTR_REMAP_TABLE_ENTRIES`), a 64-entry IOTLB (pcie-bench,
//! inferred). Cache organisations are not architectural: the ways and the
//! sizes of the context, paging-structure and interrupt-entry caches are
//! estimates a scenario may change.

use super::ValidateCx;
use serde::{Deserialize, Serialize};

/// How DMA remapping is set up (Linux `iommu.passthrough`, `iommu.strict`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IommuMode {
    /// No DMA remapping (translation disabled, GSTS.TES = 0): bus address =
    /// physical address, nothing is checked.
    #[default]
    Off,
    /// Remapping on, every device in a pass-through context (TT = 2,
    /// `iommu.passthrough=1`): addresses are not translated or checked,
    /// but each request still looks up its context entry.
    Passthrough,
    /// Translated, and every unmap invalidates the IOTLB synchronously
    /// (`iommu.strict=1`): an invalidation descriptor and a wait
    /// descriptor through the invalidation queue, the CPU spinning until
    /// the wait completes.
    Strict,
    /// Translated, unmaps queued per CPU and the IOTLB flushed in batches
    /// (the flush queue full, or its timer): the default of Linux on most
    /// x86 machines. A device may still reach an unmapped page through a
    /// stale IOTLB entry until the flush.
    Lazy,
}

impl IommuMode {
    /// Whether DMA requests are translated through page tables.
    pub fn translates(self) -> bool {
        matches!(self, IommuMode::Strict | IommuMode::Lazy)
    }
    /// Whether the DMA-remapping hardware is enabled at all.
    pub fn enabled(self) -> bool {
        self != IommuMode::Off
    }
    /// The name as written in a scenario.
    pub fn name(self) -> &'static str {
        match self {
            IommuMode::Off => "off",
            IommuMode::Passthrough => "passthrough",
            IommuMode::Strict => "strict",
            IommuMode::Lazy => "lazy",
        }
    }
}

/// How the NIC driver maps its receive buffers for DMA.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DmaMapping {
    /// A page pool: the ring's buffer pages are mapped once at probe and
    /// recycled mapped (`page_pool` with `PP_FLAG_DMA_MAP`, as mlx5 does;
    /// ixgbe/i40e page reuse behaves alike). No map or unmap per packet.
    #[default]
    PagePool,
    /// `dma_map_single` when a buffer is posted and `dma_unmap_single`
    /// when its frame is received: a map, an unmap and (strict) an
    /// invalidation per packet, 4 KiB pages.
    PerPacket,
}

/// Page size of the page pool's IOMMU mappings (and so of its IOTLB entries).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum IommuPageSize {
    /// 4 KiB pages (second-level leaf at level 1).
    #[default]
    #[serde(rename = "4k")]
    K4,
    /// 2 MiB super-pages (PS at level 2), with hugepage-backed buffers.
    #[serde(rename = "2m")]
    M2,
    /// 1 GiB super-pages (PS at level 3).
    #[serde(rename = "1g")]
    G1,
}

impl IommuPageSize {
    /// log2 of the page size.
    pub fn shift(self) -> u32 {
        match self {
            IommuPageSize::K4 => 12,
            IommuPageSize::M2 => 21,
            IommuPageSize::G1 => 30,
        }
    }
    /// The name as written in a scenario.
    pub fn name(self) -> &'static str {
        match self {
            IommuPageSize::K4 => "4k",
            IommuPageSize::M2 => "2m",
            IommuPageSize::G1 => "1g",
        }
    }
}

/// Whether compatibility-format MSIs pass while interrupt remapping is on
/// (GCMD.CFI / GSTS.CFIS).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompatFormat {
    /// Blocked with fault 0x25 (Linux clears CFI unless told otherwise).
    #[default]
    Blocked,
    /// Passed through unremapped (an unsafe setting some firmware leaves).
    Allowed,
}

/// Largest IOTLB and cache sizes accepted: far beyond real units (tens to
/// a few thousand entries), enough for what-if sweeps.
pub const MAX_CACHE_ENTRIES: u32 = 1 << 16;
/// Most fault-recording registers: CAP.NFR is 8 bits (NFR + 1 ≤ 256).
pub const MAX_FAULT_RECORDS: u32 = 256;

/// `[iommu]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IommuConfig {
    /// DMA remapping: `off`, `passthrough`, `strict` or `lazy`.
    pub mode: IommuMode,
    /// How the NIC driver maps receive buffers: `page_pool` or `per_packet`.
    /// Transmit buffers are always mapped per packet (skb data).
    pub mapping: DmaMapping,
    /// Page size of the page pool's mappings: `4k`, `2m` or `1g`.
    /// `per_packet` mapping uses 4 KiB pages. A super-page maps all of the
    /// 2 MiB or 1 GiB around the buffers: the device can reach all of it.
    pub page_size: IommuPageSize,
    /// Adjusted guest address width of the NIC's domain, bits: 39, 48 or
    /// 57 (3-, 4- or 5-level tables; context-entry AW 1, 2, 3).
    pub address_width: u32,
    /// IOTLB entries; a multiple of `iotlb_ways`, 1..=65536. Default 64
    /// (pcie-bench, inferred from where 4 KiB-page DMA throughput falls).
    pub iotlb_entries: u32,
    /// IOTLB associativity; 1..=`iotlb_entries`. Default 8 (*estimate*).
    pub iotlb_ways: u32,
    /// Paging-structure-cache entries (non-leaf entries of the second-level
    /// tables, 4-way set-associative); 0..=65536. Default 32 (*estimate*).
    pub paging_cache_entries: u32,
    /// Context-cache entries (fully associative); 1..=65536. Default 16 (*estimate*).
    pub context_cache_entries: u32,
    /// Fault-recording registers (CAP.NFR + 1); 1..=256. Default 8
    /// (implementation-specific; QEMU has 1).
    pub fault_records: u32,
    /// Record only the first pending fault of a requester, dropping its
    /// next ones while that record is unread (VT-d recommends it; QEMU's
    /// `vtd_try_collapse_fault` does it). Off: every fault takes a record
    /// and a storm overflows them.
    pub collapse_faults: bool,
    /// FECTL.IM: the fault event interrupt is masked (faults are recorded,
    /// no interrupt; the driver never drains them).
    pub fault_event_masked: bool,
    /// Lazy mode: unmaps a CPU queues before the IOTLB is flushed
    /// (`IOVA_DEFAULT_FQ_SIZE`); 1..=65536.
    pub flush_queue_size: u32,
    /// Lazy mode: the flush timer, ms (`IOVA_FQ_TIMEOUT`); 0.001..=10000.
    pub flush_timeout_ms: f64,
    /// Interrupt remapping (IRTEs, source-id validation); independent of
    /// `mode`, as with Linux's `intremap=on` and `intel_iommu=off`.
    pub interrupt_remapping: bool,
    /// With interrupt remapping: `blocked` or `allowed` compatibility-format MSIs.
    pub compat_format: CompatFormat,
    /// Posted MSIs for the host (Linux `intremap=posted_msi`, 6.10+): the
    /// IRTEs of device MSIs are posted-format, naming a per-CPU
    /// posted-interrupt descriptor; the remapping hardware sets the vector's
    /// PIR bit and notifies the CPU with `POSTED_MSI_NOTIFICATION_VECTOR`
    /// (0xeb) only when no notification is outstanding, so a burst of device
    /// interrupts costs one. Needs `interrupt_remapping`; IO-APIC sources
    /// stay remapped.
    pub posted_msi: bool,
    /// Interrupt-remapping table entries, a power of two 2..=65536 (IRTA.S).
    pub ir_entries: u32,
    /// Interrupt-entry-cache entries (fully associative); 1..=65536.
    /// Default 64 (*estimate*).
    pub iec_entries: u32,
}

impl Default for IommuConfig {
    fn default() -> Self {
        IommuConfig {
            mode: IommuMode::Off,
            mapping: DmaMapping::PagePool,
            page_size: IommuPageSize::K4,
            address_width: 48,
            iotlb_entries: 64,
            iotlb_ways: 8,
            paging_cache_entries: 32,
            context_cache_entries: 16,
            fault_records: 8,
            collapse_faults: false,
            fault_event_masked: false,
            flush_queue_size: 256,
            flush_timeout_ms: 10.0,
            interrupt_remapping: false,
            compat_format: CompatFormat::Blocked,
            posted_msi: false,
            ir_entries: 65_536,
            iec_entries: 64,
        }
    }
}

impl IommuConfig {
    /// Whether any part of the unit is on (DMA or interrupt remapping).
    pub fn present(&self) -> bool {
        self.mode.enabled() || self.interrupt_remapping
    }

    /// Number of second-level table levels of the address width.
    pub fn levels(&self) -> u8 {
        match self.address_width {
            39 => 3,
            57 => 5,
            _ => 4,
        }
    }

    /// Checks `[iommu]`.
    pub fn validate(&self, cx: &mut ValidateCx) {
        if self.posted_msi && !self.interrupt_remapping {
            cx.err(
                "iommu.posted_msi",
                "posted MSIs go through posted-format IRTEs: set iommu.interrupt_remapping = true",
            );
        }
        if ![39, 48, 57].contains(&self.address_width) {
            cx.err(
                "iommu.address_width",
                format!(
                    "expected 39, 48 or 57 bits (3-, 4- or 5-level second-level tables), got {}",
                    self.address_width
                ),
            );
        }
        if cx.check_u32("iommu.iotlb_entries", self.iotlb_entries, 1, MAX_CACHE_ENTRIES, "IOTLB entries")
            && cx.check_u32("iommu.iotlb_ways", self.iotlb_ways, 1, self.iotlb_entries, "ways (at most the entries)")
            && !self.iotlb_entries.is_multiple_of(self.iotlb_ways)
        {
            cx.err(
                "iommu.iotlb_ways",
                format!(
                    "{} IOTLB entries do not split into sets of {} ways; use a divisor of iommu.iotlb_entries",
                    self.iotlb_entries, self.iotlb_ways
                ),
            );
        }
        cx.check_u32(
            "iommu.paging_cache_entries",
            self.paging_cache_entries,
            0,
            MAX_CACHE_ENTRIES,
            "paging-structure-cache entries",
        );
        cx.check_u32(
            "iommu.context_cache_entries",
            self.context_cache_entries,
            1,
            MAX_CACHE_ENTRIES,
            "context-cache entries",
        );
        cx.check_u32("iommu.iec_entries", self.iec_entries, 1, MAX_CACHE_ENTRIES, "interrupt-entry-cache entries");
        cx.check_u32(
            "iommu.fault_records",
            self.fault_records,
            1,
            MAX_FAULT_RECORDS,
            "fault-recording registers (CAP.NFR + 1)",
        );
        cx.check_u32("iommu.flush_queue_size", self.flush_queue_size, 1, 65_536, "entries per CPU");
        cx.check_f64("iommu.flush_timeout_ms", self.flush_timeout_ms, 0.001, 10_000.0, "ms");
        if !(2..=65_536).contains(&self.ir_entries) || !self.ir_entries.is_power_of_two() {
            cx.err(
                "iommu.ir_entries",
                format!("expected a power of two 2..=65536 (IRTA.S gives 2^(S+1) entries), got {}", self.ir_entries),
            );
        }
        if self.mapping == DmaMapping::PerPacket && self.page_size != IommuPageSize::K4 {
            cx.err(
                "iommu.page_size",
                format!(
                    "per_packet mapping maps each buffer's own 4 KiB page (dma_map_single); {} pages need mapping = \"page_pool\"",
                    self.page_size.name()
                ),
            );
        }
    }
}

/// Where the kernel's IOVA allocator places page pools (128 GiB up,
/// kernel/iova.rs `IOVA_HIGH`).
pub const POOL_IOVA_BASE: u64 = 0x20_0000_0000;

/// Checks that a translating page pool fits the domain's address width:
/// each queue's buffers (ring × 2 KiB, or 4 KiB with header split, rounded up to the page size) from
/// [`POOL_IOVA_BASE`] up.
pub fn validate_pool_fits(c: &IommuConfig, queues: u32, ring_size: u32, buffer_bytes: u64, cx: &mut ValidateCx) {
    if !c.mode.translates() || c.mapping != DmaMapping::PagePool || ![39, 48, 57].contains(&c.address_width) {
        return;
    }
    let page = 1u64 << c.page_size.shift();
    let per_queue = (ring_size as u64 * buffer_bytes).div_ceil(page) * page;
    let end = POOL_IOVA_BASE + queues as u64 * per_queue;
    if end > 1u64 << c.address_width {
        cx.err(
            "iommu.address_width",
            format!(
                "{} bits cannot hold the page pool: {queues} queues × {} MiB of {} pages from 128 GiB end at {} GiB; use a wider address width or smaller pages",
                c.address_width,
                per_queue >> 20,
                c.page_size.name(),
                end >> 30
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scenario;
    use crate::config::testutil::{only_error, valid};

    #[test]
    fn the_defaults_are_linux_and_pcie_bench() {
        let c = IommuConfig::default();
        assert_eq!((c.flush_queue_size, c.flush_timeout_ms), (256, 10.0));
        assert_eq!(c.ir_entries, 65_536);
        assert_eq!(c.iotlb_entries, 64);
        assert_eq!(c.levels(), 4);
        valid(&Scenario::default());
    }

    #[test]
    fn bad_values_are_named_by_key() {
        let mut s = Scenario::default();
        s.iommu.address_width = 40;
        only_error(&s, "iommu.address_width", "39, 48 or 57");
        s.iommu.address_width = 57;
        s.iommu.iotlb_ways = 7;
        only_error(&s, "iommu.iotlb_ways", "do not split");
        s.iommu.iotlb_ways = 8;
        s.iommu.ir_entries = 1000;
        only_error(&s, "iommu.ir_entries", "power of two");
        s.iommu.ir_entries = 256;
        s.iommu.mapping = DmaMapping::PerPacket;
        s.iommu.page_size = IommuPageSize::M2;
        only_error(&s, "iommu.page_size", "page_pool");
        s.iommu.page_size = IommuPageSize::K4;
        valid(&s);
    }

    #[test]
    fn a_page_pool_must_fit_the_address_width() {
        let mut s = Scenario::default();
        s.iommu.mode = IommuMode::Strict;
        s.iommu.page_size = IommuPageSize::G1;
        s.iommu.address_width = 39;
        s.nic.queues = 384;
        s.machine.cores = 64;
        valid(&s);
        s.nic.queues = 385;
        only_error(&s, "iommu.address_width", "cannot hold the page pool");
        s.iommu.address_width = 48;
        valid(&s);
    }

    #[test]
    fn modes_and_sizes_parse_as_written() {
        let c: IommuConfig = serde_json::from_str(
            r#"{"mode": "lazy", "mapping": "per_packet", "page_size": "4k", "compat_format": "allowed"}"#,
        )
        .unwrap();
        assert_eq!(c.mode, IommuMode::Lazy);
        assert!(c.mode.translates());
        assert_eq!(c.mapping, DmaMapping::PerPacket);
        assert_eq!(c.compat_format, CompatFormat::Allowed);
        let c: IommuConfig = serde_json::from_str(r#"{"page_size": "2m"}"#).unwrap();
        assert_eq!(c.page_size.shift(), 21);
        assert!(serde_json::from_str::<IommuConfig>(r#"{"page_size": "8k"}"#).is_err());
    }
}
