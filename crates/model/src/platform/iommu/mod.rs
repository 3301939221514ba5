//! The platform's VT-d remapping unit: DMA remapping between the devices'
//! DMA port and memory, interrupt remapping between the interrupt-message
//! port and the APIC bus (docs/sources.md §3.2, §5.1, §6).
//!
//! * **DMA remapping.** A request's requester ID selects its context entry
//!   (root table by bus, context table by devfn; cached in the context
//!   cache); the entry gives the domain (DID) and its second-level page
//!   table, or pass-through. The IOVA is looked up in the IOTLB, tagged by
//!   DID, at each page size in use; on a miss the walker reads the tables
//!   from the deepest level the paging-structure cache holds, one memory
//!   access ([`crate::costs::CostModel::iommu_walk_access_ns`]) per level
//!   read. Permissions are the AND over the levels; a missing or
//!   insufficient one is a fault (0x5 write, 0x6 read), as are entries with
//!   reserved bits, addresses beyond the address width, absent root or
//!   context entries. Faults go to the fault-recording registers
//!   (faults.rs) unless the context entry's FPD bit is set.
//! * **Invalidation.** The kernel submits descriptors (hw::vtd::regs::InvDesc)
//!   to the invalidation queue; the unit processes them one after another,
//!   each taking [`crate::costs::CostModel::iommu_invalidation_ns`], and the
//!   caller learns when its wait descriptor completes. An IOTLB entry for a
//!   page the kernel has unmapped stays usable until an invalidation
//!   removes it (or it is evicted): the model marks such entries *stale*
//!   and counts the DMAs that use them (`stale_window_dmas`) and how long
//!   each stayed reachable.
//! * **Interrupt remapping**: ir.rs.
//!
//! Requests are assumed not to cross a page (buffers are 2 KiB-aligned
//! and descriptor reads are line-aligned): the first byte's page translates
//! the request.

pub mod cache;
pub mod faults;
pub mod ir;
pub mod tables;

use crate::config::{IommuConfig, IommuMode};
use crate::costs::Costs;
use crate::ids::Rid;
use cache::{Evicted, SetAssoc};
use faults::FaultRegs;
use ir::IrUnit;
use irqlab_engine::{Dur, Time};
use irqlab_hw::msi::MsiMessage;
use irqlab_hw::vtd::context::{ContextEntry, RootEntry, TranslationType};
use irqlab_hw::vtd::fault::FaultReason;
use irqlab_hw::vtd::regs::InvDesc;
use irqlab_hw::vtd::slpt::{SlPte, level_index, level_shift, reserved_bits};
use serde::Serialize;
use std::collections::BTreeMap;
pub use tables::Leaf;
use tables::{HOST_ADDRESS_WIDTH, TableMemory};

/// The descriptors the kernel's IOMMU driver queues, as Linux builds them
/// (`qi_flush_iotlb`, `qi_flush_iec`, `qi_submit_sync`).
pub mod inv {
    use irqlab_hw::vtd::regs::InvDesc;

    /// A page-selective IOTLB invalidation of the page at `addr` in `did`,
    /// draining reads and writes.
    pub fn iotlb_page(did: u16, addr: u64) -> InvDesc {
        InvDesc::Iotlb { granularity: 3, did, addr: addr & !0xfff, am: 0, ih: false, dr: true, dw: true }
    }

    /// A domain-selective IOTLB invalidation (`flush_iotlb_all`).
    pub fn iotlb_domain(did: u16) -> InvDesc {
        InvDesc::Iotlb { granularity: 2, did, addr: 0, am: 0, ih: false, dr: true, dw: true }
    }

    /// An index-selective interrupt-entry-cache invalidation of one entry.
    pub fn iec_index(index: u16) -> InvDesc {
        InvDesc::Iec { granularity_index: true, index, im: 0 }
    }

    /// The wait descriptor `qi_submit_sync` appends: a status write, fenced.
    pub fn wait() -> InvDesc {
        InvDesc::Wait { status_write: true, interrupt: false, fence: true, status_data: 1, status_addr: 0 }
    }
}

/// Ways of the paging-structure cache (sets are indexed by the entry's
/// region number). *Estimate*: the organisation is implementation-defined.
pub const PSC_WAYS: usize = 4;

/// The requester ID the unit's own messages carry (its fault event):
/// messages the remapping hardware generates itself are not remapped.
pub const DMAR_RID: Rid = Rid(0xffff);

/// A DMA request the unit refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct DmaFault {
    /// The VT-d fault reason.
    pub reason: FaultReason,
    /// The context entry's FPD bit: the fault is not recorded.
    #[serde(skip)]
    pub fpd: bool,
}

/// What the unit counted.
#[derive(Clone, Debug, Default, Serialize)]
pub struct IommuStats {
    /// DMA requests looked up (remapping enabled).
    pub translations: u64,
    /// Of the translated (not pass-through) ones, served by the IOTLB.
    pub iotlb_hits: u64,
    /// Missed the IOTLB.
    pub iotlb_misses: u64,
    /// Page walks (one per IOTLB miss).
    pub page_walks: u64,
    /// Table entries the walker read (root, context and page-table entries).
    pub walk_reads: u64,
    /// Time DMA requests waited for their translations (context fetches
    /// and walks), picoseconds.
    #[serde(skip)]
    pub stall_ps: u64,
    /// Context-cache misses (each reads the root and the context entry).
    pub context_cache_misses: u64,
    /// IOTLB invalidation descriptors processed.
    pub invalidations: u64,
    /// Context-cache invalidation descriptors processed.
    pub context_invalidations: u64,
    /// Wait descriptors processed.
    pub waits: u64,
    /// Faults by reason (DMA and interrupt remapping, recorded or not).
    pub faults: BTreeMap<String, u64>,
    /// DMAs that reached a page through an IOTLB entry for a mapping the
    /// kernel had already removed (lazy invalidation's window).
    pub stale_window_dmas: u64,
    /// IOTLB entries that outlived their unmap by some time.
    pub stale_entries: u64,
    /// Of which closed by eviction (the rest by an invalidation, or the run's end).
    pub stale_evicted: u64,
    /// Their total time reachable after the unmap, picoseconds.
    #[serde(skip)]
    pub stale_window_ps: u64,
    /// The longest, picoseconds.
    #[serde(skip)]
    pub stale_window_max_ps: u64,
}

#[derive(Clone, Copy, Debug, Default)]
struct CtxInfo {
    did: u16,
    pgd: u64,
    levels: u8,
    passthrough: bool,
    fpd: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct TlbKey {
    did: u16,
    shift: u8,
    vpn: u64,
}

#[derive(Clone, Copy, Debug, Default)]
struct TlbEntry {
    page: u64,
    read: bool,
    write: bool,
    /// When the kernel unmapped the page ([`Time::NEVER`]: still mapped).
    stale_since: Time,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct PscKey {
    did: u16,
    level: u8,
    prefix: u64,
}

#[derive(Clone, Copy, Debug, Default)]
struct PscEntry {
    next: u64,
    read: bool,
    write: bool,
}

/// A successful translation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Translated {
    /// Physical address of the request's first byte.
    pub phys: u64,
    /// Time the lookup added (context fetch, page walk).
    pub stall: Dur,
}

/// The remapping unit.
pub struct Iommu {
    mode: IommuMode,
    /// The in-memory tables.
    pub mem: TableMemory,
    root: u64,
    ctx_cache: SetAssoc<u16, CtxInfo>,
    iotlb: SetAssoc<TlbKey, TlbEntry>,
    psc: Option<SetAssoc<PscKey, PscEntry>>,
    /// Page shifts with mappings (bit 0: 4 KiB, 1: 2 MiB, 2: 1 GiB).
    sizes: u8,
    /// The fault-recording registers.
    pub faults: FaultRegs,
    fault_msg: Option<MsiMessage>,
    /// Interrupt remapping, when enabled.
    pub ir: Option<IrUnit>,
    inv_busy_until: Time,
    walk_access: Dur,
    invalidation: Dur,
    /// Counters.
    pub stats: IommuStats,
}

impl Iommu {
    /// The unit a scenario's `[iommu]` describes, with an empty root table.
    pub fn new(cfg: &IommuConfig, costs: &Costs) -> Iommu {
        let mut mem = TableMemory::default();
        let root = mem.alloc();
        let psc = (cfg.paging_cache_entries > 0).then(|| {
            let n = cfg.paging_cache_entries as usize;
            SetAssoc::new(n, PSC_WAYS.min(n))
        });
        Iommu {
            mode: cfg.mode,
            mem,
            root,
            ctx_cache: SetAssoc::new(cfg.context_cache_entries as usize, cfg.context_cache_entries as usize),
            iotlb: SetAssoc::new(cfg.iotlb_entries as usize, cfg.iotlb_ways as usize),
            psc,
            sizes: 0,
            faults: FaultRegs::new(cfg.fault_records as usize, cfg.fault_event_masked, cfg.collapse_faults),
            fault_msg: None,
            ir: cfg.interrupt_remapping.then(|| {
                IrUnit::new(
                    cfg.ir_entries as usize,
                    cfg.iec_entries as usize,
                    cfg.compat_format == crate::config::CompatFormat::Allowed,
                )
            }),
            inv_busy_until: Time::ZERO,
            walk_access: costs.iommu_walk_access,
            invalidation: costs.iommu_invalidation,
            stats: IommuStats::default(),
        }
    }

    /// DMA remapping's mode.
    pub fn mode(&self) -> IommuMode {
        self.mode
    }

    // ---- the kernel's side: tables and invalidations ----------------------

    /// Attaches requester `rid` to domain `did`: a second-level table of
    /// `levels` levels (returned, to map into), or pass-through.
    pub fn attach(&mut self, rid: Rid, did: u16, levels: u8, passthrough: bool) -> u64 {
        let aw = levels - 2;
        let (ce, pgd) = if passthrough {
            (ContextEntry::new_passthrough(did, aw), 0)
        } else {
            let pgd = self.mem.alloc();
            (ContextEntry::new_translated(pgd, did, aw), pgd)
        };
        self.mem.set_context(self.root, rid.0, &ce);
        pgd
    }

    /// Attaches `rid` to the same domain and tables as an attached device
    /// (devices sharing a DID share page tables and IOTLB entries).
    pub fn attach_to(&mut self, rid: Rid, did: u16, pgd: u64, levels: u8) {
        let ce = ContextEntry::new_translated(pgd, did, levels - 2);
        self.mem.set_context(self.root, rid.0, &ce);
    }

    /// Writes the leaf mapping of `iova` in the tables at `pgd`.
    pub fn map(&mut self, pgd: u64, levels: u8, iova: u64, leaf: Leaf) {
        self.mem.map(pgd, levels, iova, leaf);
        self.sizes |= size_bit(leaf.shift);
    }

    /// Clears the leaf mapping of `iova`. A cached translation of it stays
    /// usable until invalidated: with `stale_from`, the caller returns
    /// before that invalidation (lazy mode), and the entry counts as a
    /// stale window from then; without, the caller waits for the
    /// invalidation before it lets the page go (strict mode).
    pub fn unmap(&mut self, did: u16, pgd: u64, levels: u8, iova: u64, shift: u32, stale_from: Option<Time>) -> bool {
        if let Some(now) = stale_from {
            let key = TlbKey { did, shift: shift as u8, vpn: iova >> shift };
            if let Some(e) = self.iotlb.peek_mut(key.vpn, key) {
                e.stale_since = e.stale_since.min(now);
            }
        }
        self.mem.unmap(pgd, levels, iova, shift)
    }

    /// Submits descriptors to the invalidation queue at `at` (the last is
    /// usually a wait); returns when the unit has processed them all.
    pub fn submit(&mut self, descs: &[InvDesc], at: Time) -> Time {
        let start = self.inv_busy_until.max(at);
        let mut work = 0u64;
        for d in descs {
            match *d {
                InvDesc::Wait { .. } => self.stats.waits += 1,
                InvDesc::Iotlb { granularity, did, addr, am, .. } => {
                    work += 1;
                    self.stats.invalidations += 1;
                    self.invalidate_iotlb(granularity, did, addr, am, start);
                }
                InvDesc::Context { granularity, did, sid, .. } => {
                    work += 1;
                    self.stats.context_invalidations += 1;
                    match granularity {
                        3 => self.ctx_cache.invalidate(|k, _| *k == sid, |_, _| {}),
                        2 => self.ctx_cache.invalidate(|_, v| v.did == did, |_, _| {}),
                        _ => self.ctx_cache.invalidate(|_, _| true, |_, _| {}),
                    }
                }
                InvDesc::Iec { granularity_index, index, im } => {
                    work += 1;
                    if let Some(ir) = &mut self.ir {
                        ir.invalidate(granularity_index.then_some((index as u32, im)));
                    }
                }
                InvDesc::Other(_) => {}
            }
        }
        self.inv_busy_until = start + self.invalidation.times(work.max(1));
        self.inv_busy_until
    }

    fn invalidate_iotlb(&mut self, granularity: u8, did: u16, addr: u64, am: u8, now: Time) {
        let stats = &mut self.stats;
        let mut gone = |_: TlbKey, e: TlbEntry| {
            note_gone(stats, e, now);
        };
        match granularity {
            // Page-selective: 2^am pages from addr.
            3 => {
                let base = addr & !((4096u64 << am) - 1);
                let end = base + (4096u64 << am);
                self.iotlb.invalidate(
                    |k, _| k.did == did && (k.vpn << k.shift) < end && ((k.vpn + 1) << k.shift) > base,
                    &mut gone,
                );
                if let Some(psc) = &mut self.psc {
                    psc.invalidate(
                        |k, _| {
                            k.did == did && {
                                let shift = level_shift(k.level);
                                (k.prefix << shift) < end && ((k.prefix + 1) << shift) > base
                            }
                        },
                        |_, _| {},
                    );
                }
            }
            2 => {
                self.iotlb.invalidate(|k, _| k.did == did, &mut gone);
                if let Some(psc) = &mut self.psc {
                    psc.invalidate(|k, _| k.did == did, |_, _| {});
                }
            }
            _ => {
                self.iotlb.invalidate(|_, _| true, &mut gone);
                if let Some(psc) = &mut self.psc {
                    psc.invalidate(|_, _| true, |_, _| {});
                }
            }
        }
    }

    /// Programs FEADDR/FEDATA, the fault event's message.
    pub fn set_fault_event_msg(&mut self, msg: MsiMessage) {
        self.fault_msg = Some(msg);
    }

    /// The fault event's message, if programmed.
    pub fn fault_event_msg(&self) -> Option<MsiMessage> {
        self.fault_msg
    }

    /// At the end of a run: the stale IOTLB entries still reachable count
    /// their window up to `now`.
    pub fn settle(&mut self, now: Time) {
        let stats = &mut self.stats;
        self.iotlb.invalidate(
            |_, e| e.stale_since != Time::NEVER,
            |_, e| {
                note_gone(stats, e, now);
            },
        );
    }

    // ---- the device side: translation --------------------------------------

    fn fault(&mut self, reason: FaultReason, fpd: bool) -> DmaFault {
        *self.stats.faults.entry(reason.name()).or_default() += 1;
        DmaFault { reason, fpd }
    }

    /// Counts an interrupt-remapping fault with the DMA ones.
    pub fn count_fault(&mut self, reason: FaultReason) {
        *self.stats.faults.entry(reason.name()).or_default() += 1;
    }

    #[inline]
    fn context(&mut self, rid: Rid) -> Result<(CtxInfo, Dur), DmaFault> {
        if let Some(c) = self.ctx_cache.get(0, rid.0) {
            return Ok((c, Dur::ZERO));
        }
        self.context_miss(rid)
    }

    #[cold]
    fn context_miss(&mut self, rid: Rid) -> Result<(CtxInfo, Dur), DmaFault> {
        self.stats.context_cache_misses += 1;
        self.stats.walk_reads += 2;
        let stall = self.walk_access.times(2);
        let Some(raw) = self.mem.read128(self.root + 16 * rid.bus() as u64) else {
            return Err(self.fault(FaultReason::RootTableInvalid, false));
        };
        let re = RootEntry::decode(raw);
        if !re.present {
            return Err(self.fault(FaultReason::RootNotPresent, false));
        }
        if let Err(r) = re.check() {
            return Err(self.fault(r, false));
        }
        let Some(raw) = self.mem.read128(re.context_table + 16 * (rid.0 & 0xff) as u64) else {
            return Err(self.fault(FaultReason::ContextTableInvalid, false));
        };
        let ce = ContextEntry::decode(raw);
        if !ce.present {
            return Err(self.fault(FaultReason::ContextNotPresent, ce.fpd));
        }
        if let Err(r) = ce.check() {
            return Err(self.fault(r, ce.fpd));
        }
        let Some(levels) = ce.levels() else {
            return Err(self.fault(FaultReason::ContextInvalid, ce.fpd));
        };
        let info = CtxInfo {
            did: ce.did,
            pgd: ce.slptptr,
            levels,
            passthrough: ce.translation_type == TranslationType::PassThrough,
            fpd: ce.fpd,
        };
        self.ctx_cache.insert(0, rid.0, info);
        Ok((info, stall))
    }

    /// Translates a request of `rid` for `iova` (a write if `write`) at `at`.
    pub fn translate(&mut self, rid: Rid, iova: u64, write: bool, at: Time) -> Result<Translated, DmaFault> {
        if !self.mode.enabled() {
            return Ok(Translated { phys: iova, stall: Dur::ZERO });
        }
        self.stats.translations += 1;
        let (ctx, mut stall) = self.context(rid)?;
        self.stats.stall_ps += stall.as_ps();
        if ctx.passthrough {
            return Ok(Translated { phys: iova, stall });
        }
        if iova >> (12 + 9 * ctx.levels as u32) != 0 {
            return Err(self.fault(FaultReason::AddressBeyondMgaw, ctx.fpd));
        }
        for shift in [12u32, 21, 30] {
            if self.sizes & size_bit(shift) == 0 {
                continue;
            }
            let key = TlbKey { did: ctx.did, shift: shift as u8, vpn: iova >> shift };
            if let Some(e) = self.iotlb.get(key.vpn, key) {
                self.stats.iotlb_hits += 1;
                if (write && !e.write) || (!write && !e.read) {
                    let r = if write { FaultReason::WriteDenied } else { FaultReason::ReadDenied };
                    return Err(self.fault(r, ctx.fpd));
                }
                if e.stale_since != Time::NEVER {
                    self.stats.stale_window_dmas += 1;
                }
                return Ok(Translated { phys: e.page | (iova & ((1 << shift) - 1)), stall });
            }
        }
        self.stats.iotlb_misses += 1;
        self.stats.page_walks += 1;
        let (found, reads) = self.walk(&ctx, iova, write);
        self.stats.walk_reads += reads as u64;
        let walk = self.walk_access.times(reads as u64);
        self.stats.stall_ps += walk.as_ps();
        stall += walk;
        let (page, shift, read, wr) = found.map_err(|r| self.fault(r, ctx.fpd))?;
        let key = TlbKey { did: ctx.did, shift: shift as u8, vpn: iova >> shift };
        let entry = TlbEntry { page, read, write: wr, stale_since: Time::NEVER };
        // Every size's probe missed: the key is not cached.
        if let Evicted::Entry(_, old) = self.iotlb.insert_absent(key.vpn, key, entry)
            && note_gone(&mut self.stats, old, at)
        {
            self.stats.stale_evicted += 1;
        }
        Ok(Translated { phys: page | (iova & ((1 << shift) - 1)), stall })
    }

    /// The page walk: from the deepest level the paging-structure cache
    /// holds, one read per level. Returns (page base, page shift, R, W) or
    /// the fault, and the entries read.
    #[allow(clippy::type_complexity)]
    fn walk(&mut self, ctx: &CtxInfo, iova: u64, write: bool) -> (Result<(u64, u32, bool, bool), FaultReason>, u8) {
        let (mut table, mut level, mut r, mut w) = (ctx.pgd, ctx.levels, true, true);
        if let Some(psc) = &mut self.psc {
            for l in 2..=ctx.levels {
                let key = PscKey { did: ctx.did, level: l, prefix: iova >> level_shift(l) };
                if let Some(e) = psc.get(key.prefix, key) {
                    (table, level, r, w) = (e.next, l - 1, e.read, e.write);
                    break;
                }
            }
        }
        let mut reads = 0u8;
        loop {
            reads += 1;
            let Some(raw) = self.mem.read(table + 8 * level_index(iova, level) as u64) else {
                return (Err(FaultReason::NextLevelInvalid), reads);
            };
            let pte = SlPte::decode(raw);
            r &= pte.read;
            w &= pte.write;
            if (write && !w) || (!write && !r) {
                let reason = if write { FaultReason::WriteDenied } else { FaultReason::ReadDenied };
                return (Err(reason), reads);
            }
            if reserved_bits(raw, level, HOST_ADDRESS_WIDTH) != 0 {
                return (Err(FaultReason::PteReserved), reads);
            }
            if level == 1 || pte.page_size {
                let shift = level_shift(level);
                return (Ok((pte.address & !((1u64 << shift) - 1), shift, r, w)), reads);
            }
            if let Some(psc) = &mut self.psc {
                let key = PscKey { did: ctx.did, level, prefix: iova >> level_shift(level) };
                psc.insert(key.prefix, key, PscEntry { next: pte.address, read: r, write: w });
            }
            table = pte.address;
            level -= 1;
        }
    }

    /// The physical address `iova` maps to for `rid`, as the tables say
    /// now — without caches, counters or faults (the data of a request
    /// already translated and counted).
    pub fn peek(&self, rid: Rid, iova: u64) -> Option<u64> {
        if !self.mode.enabled() {
            return Some(iova);
        }
        // What the caches hold is what the tables say (or a stale entry the
        // request itself was translated through): look there first.
        if let Some(c) = self.ctx_cache.peek(0, rid.0) {
            if c.passthrough {
                return Some(iova);
            }
            for shift in [12u32, 21, 30] {
                if self.sizes & size_bit(shift) == 0 {
                    continue;
                }
                let key = TlbKey { did: c.did, shift: shift as u8, vpn: iova >> shift };
                if let Some(e) = self.iotlb.peek(key.vpn, key) {
                    return Some(e.page | (iova & ((1 << shift) - 1)));
                }
            }
        }
        let re = RootEntry::decode(self.mem.read128(self.root + 16 * rid.bus() as u64)?);
        let ce = ContextEntry::decode(self.mem.read128(re.context_table + 16 * (rid.0 & 0xff) as u64)?);
        if !re.present || !ce.present {
            return None;
        }
        if ce.translation_type == TranslationType::PassThrough {
            return Some(iova);
        }
        let (mut table, mut level) = (ce.slptptr, ce.levels()?);
        loop {
            let pte = SlPte::decode(self.mem.read(table + 8 * level_index(iova, level) as u64)?);
            if !(pte.read || pte.write) {
                return None;
            }
            if level == 1 || pte.page_size {
                let mask = (1u64 << level_shift(level)) - 1;
                return Some((pte.address & !mask) | (iova & mask));
            }
            table = pte.address;
            level -= 1;
        }
    }
}

fn size_bit(shift: u32) -> u8 {
    match shift {
        21 => 2,
        30 => 4,
        _ => 1,
    }
}

/// An IOTLB entry leaves (invalidated or evicted) at `now`: if it was
/// stale, its window closes. Returns whether it was.
fn note_gone(stats: &mut IommuStats, e: TlbEntry, now: Time) -> bool {
    if e.stale_since != Time::NEVER && now > e.stale_since {
        let w = now.since(e.stale_since).as_ps();
        stats.stale_entries += 1;
        stats.stale_window_ps += w;
        stats.stale_window_max_ps = stats.stale_window_max_ps.max(w);
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{IommuConfig, IommuMode};
    use crate::costs::CostModel;

    const NIC: Rid = Rid::bdf(1, 0, 0);

    fn unit(mode: IommuMode) -> Iommu {
        let cfg = IommuConfig { mode, iotlb_entries: 4, iotlb_ways: 4, paging_cache_entries: 4, ..Default::default() };
        Iommu::new(&cfg, &CostModel::default().resolve())
    }

    fn walk_ns(u: &Iommu) -> u64 {
        u.walk_access.as_ps() / 1000
    }

    #[test]
    fn a_miss_walks_the_tables_and_a_hit_does_not() {
        let mut u = unit(IommuMode::Strict);
        let pgd = u.attach(NIC, 1, 4, false);
        u.map(pgd, 4, 0x7000, Leaf::rw(0x12_3456_7000, 12));
        let t = u.translate(NIC, 0x7010, true, Time::ZERO).unwrap();
        assert_eq!(t.phys, 0x12_3456_7010);
        // Context miss (root + context entry) and a 4-level walk.
        assert_eq!(t.stall.as_ps() / 1000, 6 * walk_ns(&u));
        assert_eq!((u.stats.context_cache_misses, u.stats.iotlb_misses, u.stats.walk_reads), (1, 1, 6));
        let t = u.translate(NIC, 0x7fff, false, Time::ZERO).unwrap();
        assert_eq!((t.phys, t.stall), (0x12_3456_7fff, Dur::ZERO), "IOTLB and context cache hit");
        // A neighbouring page: the paging-structure cache holds levels 4–2.
        u.map(pgd, 4, 0x8000, Leaf::rw(0x9000, 12));
        let t = u.translate(NIC, 0x8000, true, Time::ZERO).unwrap();
        assert_eq!(t.stall.as_ps() / 1000, walk_ns(&u), "one read, the leaf");
    }

    #[test]
    fn faults_name_the_reason_and_fpd_is_carried() {
        let mut u = unit(IommuMode::Strict);
        let pgd = u.attach(NIC, 1, 4, false);
        u.map(pgd, 4, 0x1000, Leaf { phys: 0x5000, shift: 12, read: true, write: false });
        let f = |r: Result<Translated, DmaFault>| r.unwrap_err().reason;
        assert_eq!(f(u.translate(NIC, 0x1000, true, Time::ZERO)), FaultReason::WriteDenied);
        assert!(u.translate(NIC, 0x1000, false, Time::ZERO).is_ok());
        assert_eq!(f(u.translate(NIC, 0x2000, false, Time::ZERO)), FaultReason::ReadDenied, "not mapped");
        assert_eq!(f(u.translate(NIC, 1 << 48, false, Time::ZERO)), FaultReason::AddressBeyondMgaw);
        assert_eq!(f(u.translate(Rid::bdf(1, 0, 1), 0x1000, true, Time::ZERO)), FaultReason::ContextNotPresent);
        assert_eq!(f(u.translate(Rid::bdf(9, 0, 0), 0x1000, true, Time::ZERO)), FaultReason::RootNotPresent);
        assert_eq!(u.stats.faults["write_denied"], 1);
        assert_eq!(u.stats.faults.values().sum::<u64>(), 5);
    }

    #[test]
    fn passthrough_and_off_translate_nothing() {
        let mut u = unit(IommuMode::Passthrough);
        u.attach(NIC, 1, 4, true);
        assert_eq!(u.translate(NIC, 0xabc_d000, true, Time::ZERO).unwrap().phys, 0xabc_d000);
        assert_eq!(u.stats.page_walks, 0);
        let mut off = unit(IommuMode::Off);
        assert_eq!(
            off.translate(NIC, 0x1234, true, Time::ZERO).unwrap(),
            Translated { phys: 0x1234, stall: Dur::ZERO }
        );
        assert_eq!(off.stats.translations, 0);
    }

    #[test]
    fn an_unmapped_page_stays_reachable_until_invalidated_and_the_window_is_measured() {
        let mut u = unit(IommuMode::Lazy);
        let pgd = u.attach(NIC, 1, 4, false);
        u.map(pgd, 4, 0x3000, Leaf::rw(0x4000, 12));
        u.translate(NIC, 0x3000, true, Time::ZERO).unwrap();
        assert!(u.unmap(1, pgd, 4, 0x3000, 12, Some(Time(1_000))));
        assert!(u.translate(NIC, 0x3000, true, Time(2_000)).is_ok(), "the stale IOTLB entry still translates");
        assert_eq!(u.stats.stale_window_dmas, 1);
        let done = u.submit(&[inv::iotlb_domain(1), inv::wait()], Time(5_000));
        assert_eq!(done, Time(5_000) + u.invalidation, "one invalidation, the wait adds nothing");
        assert_eq!((u.stats.stale_entries, u.stats.stale_window_ps), (1, 4_000));
        assert!(u.translate(NIC, 0x3000, true, Time(6_000)).is_err(), "gone after the flush");
        // The queue is one server: a second submission waits for the first.
        let a = u.submit(&[inv::iotlb_page(1, 0x3000), inv::wait()], Time(10_000));
        let b = u.submit(&[inv::iotlb_page(1, 0x3000), inv::wait()], Time(10_000));
        assert_eq!(b, a + u.invalidation);
    }

    #[test]
    fn strict_unmaps_leave_no_stale_window() {
        let mut u = unit(IommuMode::Strict);
        let pgd = u.attach(NIC, 1, 4, false);
        u.map(pgd, 4, 0x3000, Leaf::rw(0x4000, 12));
        u.translate(NIC, 0x3000, true, Time::ZERO).unwrap();
        u.unmap(1, pgd, 4, 0x3000, 12, None);
        u.submit(&[inv::iotlb_page(1, 0x3000), inv::wait()], Time(100));
        u.settle(Time(1_000_000));
        assert_eq!(u.stats.stale_entries, 0);
    }

    #[test]
    fn two_megabyte_pages_take_one_iotlb_entry_for_512_small_ones() {
        let mut u = unit(IommuMode::Strict);
        let pgd = u.attach(NIC, 1, 4, false);
        u.map(pgd, 4, 0x20_0000, Leaf::rw(0x4000_0000, 21));
        for k in 0..512u64 {
            let t = u.translate(NIC, 0x20_0000 + k * 4096, true, Time::ZERO).unwrap();
            assert_eq!(t.phys, 0x4000_0000 + k * 4096);
        }
        assert_eq!((u.stats.iotlb_misses, u.stats.iotlb_hits), (1, 511));
    }

    #[test]
    fn peek_reads_the_tables_without_counting() {
        let mut u = unit(IommuMode::Strict);
        let pgd = u.attach(NIC, 1, 4, false);
        u.map(pgd, 4, 0x1000, Leaf::rw(0x9000, 12));
        assert_eq!(u.peek(NIC, 0x1008), Some(0x9008));
        assert_eq!(u.peek(NIC, 0x2000), None);
        assert_eq!(u.stats.translations, 0);
    }
}
