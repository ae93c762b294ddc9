/*
 * The page allocator across zones (mm/page_alloc.c __alloc_pages and its slow path, include/linux/gfp.h,
 * Linux 6.12): zonelists, watermarks, per-CPU lists and the decisions that end in success, failure or OOM.
 *
 * Zones by physical address (arch/x86/mm/init.c, arch/riscv/mm/init.c zone_sizes_init):
 *   DMA     below 16 MiB (x86-64 only), for ISA-era devices;
 *   DMA32   below 4 GiB, for 32-bit DMA;
 *   Normal  everything above.
 * A zone with no pages is not populated and is in no zonelist. Blocks never merge across a zone boundary.
 *
 * __alloc_pages(gfp, order) on the zonelist of gfp_zone(gfp) (highest allowed zone first, then down):
 *   fast path   get_page_from_freelist with the low watermark (ALLOC_WMARK_LOW), ALLOC_NOFRAGMENT when the
 *               preferred zone is Normal; a zone below its watermark plus lowmem_reserve[highest zone] is
 *               skipped; orders 0..3 and 9 go through the CPU's per-CPU list (pcp.ts);
 *   slow path   gfp_to_alloc_flags: the min watermark; __GFP_HIGH may dip to half of min, a non-blocking
 *               caller (no __GFP_DIRECT_RECLAIM, e.g. GFP_ATOMIC) a quarter below that and, for order > 0,
 *               into the HighAtomic reserve (ALLOC_HIGHATOMIC, which reserves a page block after success);
 *               GFP_NOWAIT and GFP_ATOMIC stop here. Callers that may sleep then "reclaim": the model has no
 *               page cache or swap, so reclaim frees nothing, but drain_all_pages() empties the per-CPU lists
 *               and the highatomic reserve is released before the retry; then direct compaction (order > 0,
 *               when the host provides it). __GFP_NORETRY stops after that round; costly orders (> 3) stop
 *               unless __GFP_RETRY_MAYFAIL; lowmem-only requests (highest zone below Normal), __GFP_RETRY_MAYFAIL
 *               and __GFP_THISNODE fail without the OOM killer; the rest reaches the OOM killer
 *               (__alloc_pages_may_oom), which the machine runs (machine.ts). Without __GFP_FS the OOM killer
 *               is not invoked and the kernel would loop; the model reports that as its own outcome.
 *
 * Failures return NO_PFN and leave `lastFailure` saying which of these ended the allocation.
 */

import {
  ALLOC_CMA,
  ALLOC_CPUSET,
  ALLOC_HIGHATOMIC,
  ALLOC_MIN_RESERVE,
  ALLOC_NO_WATERMARKS,
  ALLOC_NOFRAGMENT,
  ALLOC_NON_BLOCK,
  ALLOC_OOM,
  ALLOC_WMARK_LOW,
  ALLOC_WMARK_MIN,
  BadPageReason,
  BuddyAllocator,
  MIGRATE_HIGHATOMIC,
  MIGRATE_MOVABLE,
  MIGRATE_TYPES,
  PAGEBLOCK_ORDER,
  Zone,
  wmarkPages,
  zoneWatermarkFast,
} from './buddy';
import { MAX_PAGE_ORDER, NR_PAGE_ORDERS } from './config';
import { FrameTable, NO_PFN, PG_PCP } from './frames';
import {
  __GFP_DIRECT_RECLAIM,
  __GFP_DMA,
  __GFP_DMA32,
  __GFP_FS,
  __GFP_HIGHMEM,
  __GFP_HIGH,
  __GFP_KSWAPD_RECLAIM,
  __GFP_MOVABLE,
  __GFP_NOMEMALLOC,
  __GFP_NORETRY,
  __GFP_RECLAIMABLE,
  __GFP_RETRY_MAYFAIL,
  __GFP_THISNODE,
} from './gfp';
import { PAGE_ALLOC_COSTLY_ORDER, ZonePcp, pcpAllowedOrder } from './pcp';

export const enum ZoneType {
  DMA = 0,
  DMA32 = 1,
  Normal = 2,
}

export const ZONE_NAMES: readonly string[] = ['DMA', 'DMA32', 'Normal'];
/** arch/x86/include/asm/dma.h: MAX_DMA_PFN (16 MiB) and MAX_DMA32_PFN (4 GiB), in 4 KiB frames. */
export const MAX_DMA_PFN = (16 * 1024 * 1024) >> 12;
export const MAX_DMA32_PFN = (4 * 1024 * 1024 * 1024) / 4096;

/** enum zone_type index of ZONE_MOVABLE (always empty in the model: no kernelcore=/movablecore=). */
export const ZONE_MOVABLE_INDEX = 3;

/**
 * include/linux/gfp.h gfp_zone() (GFP_ZONE_TABLE): the highest zone an allocation with this mask may use.
 * __GFP_MOVABLE together with __GFP_HIGHMEM (GFP_HIGHUSER_MOVABLE) means ZONE_MOVABLE; x86-64 has no
 * highmem, so __GFP_HIGHMEM alone means Normal.
 */
export function gfpZone(gfp: number): number {
  if (gfp & __GFP_DMA) return ZoneType.DMA;
  if (gfp & __GFP_DMA32) return ZoneType.DMA32;
  if (gfp & __GFP_MOVABLE && gfp & __GFP_HIGHMEM) return ZONE_MOVABLE_INDEX;
  return ZoneType.Normal;
}

/** include/linux/gfp.h gfp_migratetype(): Movable, Reclaimable or Unmovable from the mobility bits. */
export function gfpMigratetype(gfp: number): number {
  return (gfp & (__GFP_MOVABLE | __GFP_RECLAIMABLE)) >> 3;
}

/** gfp_to_alloc_flags() of the slow path. */
export function gfpToAllocFlags(gfp: number, order: number): number {
  let flags = ALLOC_WMARK_MIN | ALLOC_CPUSET | (gfp & (__GFP_HIGH | __GFP_KSWAPD_RECLAIM));
  if (!(gfp & __GFP_DIRECT_RECLAIM)) {
    if (!(gfp & __GFP_NOMEMALLOC)) {
      flags |= ALLOC_NON_BLOCK;
      if (order > 0) flags |= ALLOC_HIGHATOMIC;
    }
    if (flags & ALLOC_MIN_RESERVE) flags &= ~ALLOC_CPUSET;
  }
  if (gfpMigratetype(gfp) === MIGRATE_MOVABLE) flags |= ALLOC_CMA;
  return flags;
}

/** How an allocation that returned NO_PFN ended. */
export type AllocFailure =
  /** Order above MAX_PAGE_ORDER. */
  | 'order'
  /** Gave up in the slow path (nopage): no direct reclaim, __GFP_NORETRY, a costly order, or no OOM allowed. */
  | 'nopage'
  /** Would invoke the OOM killer (__alloc_pages_may_oom); the machine decides what happens. */
  | 'oom'
  /** Cannot fail and cannot OOM-kill (no __GFP_FS): the kernel would retry forever. */
  | 'livelock';

export interface AllocRequest {
  readonly order: number;
  readonly gfp: number;
  readonly cpu: number;
  /** Compound head and tail pages (__GFP_COMP), set by the caller from gfp or its own rules (slabs). */
  readonly compound: boolean;
}

/** What the page allocator needs from its host for the slow path. */
export interface PageAllocHost {
  /** Direct compaction (__alloc_pages_direct_compact) toward a free block of `order` in zones up to highestZone. */
  compact?(order: number, highestZone: number, gfp: number): void;
}

export class PageAllocator {
  /** Every zone type, populated or not, indexed by ZoneType. */
  readonly zones: readonly Zone[];
  readonly buddies: readonly BuddyAllocator[];
  /** Per-CPU lists of each zone, indexed by ZoneType. */
  readonly pcp: readonly ZonePcp[];
  /** The migrate type of every page block (pfn >> PAGEBLOCK_ORDER). */
  readonly pageblockMt: Uint8Array;
  /** Why the last failed allocation failed. */
  lastFailure: AllocFailure | undefined;
  /** Hooks into the rest of the machine for the slow path (direct compaction). */
  host: PageAllocHost = {};

  /**
   * Frames [firstPfn, frames.count) exist (RAM starts at firstPfn: 0 on x86-64, 0x80000 on RISC-V);
   * zones cut them at 16 MiB (when hasZoneDma) and 4 GiB.
   */
  constructor(
    readonly frames: FrameTable,
    readonly firstPfn: number,
    hasZoneDma: boolean,
    nrCpus: number,
  ) {
    const end = frames.count;
    const clampPfn = (p: number) => Math.min(Math.max(p, firstPfn), end);
    const dmaEnd = hasZoneDma ? clampPfn(MAX_DMA_PFN) : firstPfn;
    const bounds = [firstPfn, dmaEnd, Math.max(dmaEnd, clampPfn(MAX_DMA32_PFN)), end];
    this.zones = ZONE_NAMES.map((name, i) => new Zone(name, i, bounds[i]!, Math.max(bounds[i]!, bounds[i + 1]!)));
    for (const z of this.zones) z.presentPages = z.spannedPages;
    // memmap_init_range(): every page block starts Movable.
    this.pageblockMt = new Uint8Array(Math.ceil(end / (1 << PAGEBLOCK_ORDER))).fill(MIGRATE_MOVABLE);
    this.buddies = this.zones.map((zone) => new BuddyAllocator(frames, zone, this.pageblockMt));
    this.pcp = this.buddies.map((b) => new ZonePcp(b, nrCpus));
  }

  /** Zones with pages, lowest first: what /proc/buddyinfo and /proc/zoneinfo walk. */
  populatedZones(): Zone[] {
    return this.zones.filter((z) => z.endPfn > z.startPfn);
  }

  /** The zone type that holds pfn. */
  zoneOf(pfn: number): ZoneType {
    return pfn < this.zones[1]!.startPfn
      ? ZoneType.DMA
      : pfn < this.zones[2]!.startPfn
        ? ZoneType.DMA32
        : ZoneType.Normal;
  }

  /** Boot: hands frames [start, end) to the zones' buddy allocators, split at the zone boundaries. */
  freeRangeAtBoot(start: number, end: number): void {
    for (let i = 0; i < this.zones.length; i++) {
      const zone = this.zones[i]!;
      const from = Math.max(start, zone.startPfn);
      const to = Math.min(end, zone.endPfn);
      if (from < to) this.buddies[i]!.freeRangeAtBoot(from, to);
    }
  }

  /** Boot, after the watermarks: the per-CPU lists get their batch and high (setup_per_zone_wmarks → zone_pcp_update). */
  setupPcp(): void {
    for (const p of this.pcp) p.setHighAndBatch();
  }

  /**
   * __alloc_pages(): 2^order frames, the first pfn, or NO_PFN with lastFailure set. The frames are marked
   * allocated (refcount 1 on the head; compound flags when asked).
   */
  allocPages(req: AllocRequest): number {
    const { order, gfp } = req;
    this.lastFailure = undefined;
    if (!Number.isInteger(order) || order < 0 || order > MAX_PAGE_ORDER) {
      this.lastFailure = 'order';
      return NO_PFN;
    }
    const highest = gfpZone(gfp);
    const zonelist = this.zonelist(highest);
    if (zonelist.length === 0) {
      this.lastFailure = 'nopage';
      return NO_PFN;
    }
    // Fast path: the low watermark; ALLOC_NOFRAGMENT when the preferred zone is Normal (alloc_flags_nofragment).
    let flags = ALLOC_WMARK_LOW | (gfp & __GFP_KSWAPD_RECLAIM);
    if (gfpMigratetype(gfp) === MIGRATE_MOVABLE) flags |= ALLOC_CMA;
    if (zonelist[0]!.index === ZoneType.Normal) flags |= ALLOC_NOFRAGMENT;
    let pfn = this.getPageFromFreelist(req, zonelist, highest, flags);
    if (pfn !== NO_PFN) return pfn;

    // Slow path.
    flags = gfpToAllocFlags(gfp, order);
    pfn = this.getPageFromFreelist(req, zonelist, highest, flags);
    if (pfn !== NO_PFN) return pfn;
    if (!(gfp & __GFP_DIRECT_RECLAIM)) {
      this.lastFailure = 'nopage';
      return NO_PFN;
    }
    // __alloc_pages_direct_reclaim(): nothing is reclaimable in the model; after the failed reclaim the
    // kernel releases the highatomic reserves and drains the per-CPU lists, then retries.
    this.unreserveHighatomic(zonelist);
    this.drainAll();
    pfn = this.getPageFromFreelist(req, zonelist, highest, flags);
    if (pfn !== NO_PFN) return pfn;
    if (order > 0 && this.host.compact) {
      this.host.compact(order, highest, gfp);
      pfn = this.getPageFromFreelist(req, zonelist, highest, flags);
      if (pfn !== NO_PFN) return pfn;
    }
    if (gfp & __GFP_NORETRY || (order > PAGE_ALLOC_COSTLY_ORDER && !(gfp & __GFP_RETRY_MAYFAIL))) {
      this.lastFailure = 'nopage';
      return NO_PFN;
    }
    // __alloc_pages_may_oom(): no OOM kill for costly orders, __GFP_RETRY_MAYFAIL, __GFP_THISNODE or lowmem.
    if (order > PAGE_ALLOC_COSTLY_ORDER || gfp & (__GFP_RETRY_MAYFAIL | __GFP_THISNODE) || highest < ZoneType.Normal) {
      this.lastFailure = 'nopage';
      return NO_PFN;
    }
    this.lastFailure = gfp & __GFP_FS ? 'oom' : 'livelock';
    return NO_PFN;
  }

  /** The retry after the OOM killer freed memory: ALLOC_OOM-free attempt with the min watermark. */
  retryAfterOom(req: AllocRequest): number {
    const highest = gfpZone(req.gfp);
    return this.getPageFromFreelist(req, this.zonelist(highest), highest, gfpToAllocFlags(req.gfp, req.order));
  }

  /**
   * Frees 2^order frames at pfn (free_unref_page / __free_pages_ok) from CPU cpu, or says why the kernel
   * would report "Bad page state" instead. Orders the per-CPU lists cache go there first.
   */
  freePages(pfn: number, order: number, cpu = 0): BadPageReason | undefined {
    if (!Number.isInteger(pfn) || pfn < this.firstPfn || pfn >= this.frames.count) return 'pfn outside the zone';
    const z = this.zoneOf(pfn);
    const buddy = this.buddies[z]!;
    const reason = buddy.checkFree(pfn, order);
    if (reason) return reason;
    if (pcpAllowedOrder(order) && buddy.blockType(pfn) < MIGRATE_TYPES - 1) {
      // free_pages_prepare() clears the page's state; then the CPU's list takes it.
      const frames = this.frames;
      for (let p = pfn; p < pfn + (1 << order); p++) {
        frames.flags[p] = 0;
        frames.order[p] = 0;
        frames.refcount[p] = 0;
      }
      this.pcp[z]!.free(cpu, pfn, order);
    } else {
      buddy.freeBlock(pfn, order, buddy.blockType(pfn));
    }
    return undefined;
  }

  /** drain_all_pages(): every CPU's lists in every zone back to the buddy allocator; frames moved. */
  drainAll(): number {
    let n = 0;
    for (const p of this.pcp) {
      for (let cpu = 0; cpu < p.cpus.length; cpu++) n += p.drain(cpu);
    }
    return n;
  }

  /** The free block holding pfn, or undefined (frames on per-CPU lists are not free blocks). */
  findFreeBlock(pfn: number): { pfn: number; order: number } | undefined {
    if (!Number.isInteger(pfn) || pfn < this.firstPfn || pfn >= this.frames.count) return undefined;
    return this.buddies[this.zoneOf(pfn)]!.findFreeBlock(pfn);
  }

  /** The per-CPU cached block holding pfn: its head, order and the CPU, or undefined. */
  findPcpBlock(pfn: number): { pfn: number; order: number; cpu: number } | undefined {
    if (!Number.isInteger(pfn) || pfn < this.firstPfn || pfn >= this.frames.count) return undefined;
    const frames = this.frames;
    for (const order of [0, 1, 2, 3, PAGEBLOCK_ORDER]) {
      const head = pfn & ~((1 << order) - 1);
      if (frames.flags[head]! & PG_PCP && frames.order[head] === order) {
        const zone = this.pcp[this.zoneOf(head)]!;
        for (let cpu = 0; cpu < zone.cpus.length; cpu++) {
          if (this.onCpuList(zone, cpu, head)) return { pfn: head, order, cpu };
        }
        return { pfn: head, order, cpu: -1 };
      }
    }
    return undefined;
  }

  /** Free blocks per order, summed over the zones. */
  nrFreeByOrder(): number[] {
    const out = new Array<number>(NR_PAGE_ORDERS).fill(0);
    for (const zone of this.zones) {
      for (let o = 0; o < NR_PAGE_ORDERS; o++) out[o]! += zone.nrFree[o]!;
    }
    return out;
  }

  /** Free frames in all zones (NR_FREE_PAGES; per-CPU lists excluded). */
  get nrFreePages(): number {
    return this.zones.reduce((n, z) => n + z.freePages, 0);
  }

  /** Frames on the per-CPU lists of all zones and CPUs. */
  get nrPcpPages(): number {
    return this.pcp.reduce((n, p) => n + p.count, 0);
  }

  /** Frames the allocator manages in all zones (totalram_pages). */
  get managedPages(): number {
    return this.zones.reduce((n, z) => n + z.managedPages, 0);
  }

  /** The zonelist of an allocation whose highest zone is `highest`: populated zones from it down. */
  zonelist(highest: number): Zone[] {
    const out: Zone[] = [];
    for (let z = Math.min(highest, this.zones.length - 1); z >= 0; z--) {
      const zone = this.zones[z]!;
      if (zone.managedPages > 0) out.push(zone);
    }
    return out;
  }

  /** get_page_from_freelist(). */
  private getPageFromFreelist(
    req: AllocRequest,
    zonelist: readonly Zone[],
    highest: number,
    allocFlags: number,
  ): number {
    for (;;) {
      for (const zone of zonelist) {
        if (!(allocFlags & ALLOC_NO_WATERMARKS)) {
          // ZONE_BELOW_HIGH detection: the per-CPU lists shrink while the zone is below its high watermark.
          let ok = false;
          if (!zone.belowHigh) {
            if (zoneWatermarkFast(zone, req.order, zone.wmarkHigh, highest, allocFlags)) ok = true;
            else zone.belowHigh = true;
          }
          if (!ok && !zoneWatermarkFast(zone, req.order, wmarkPages(zone, allocFlags), highest, allocFlags)) continue;
        }
        const pfn = this.rmqueue(zone, req, allocFlags);
        if (pfn !== NO_PFN) {
          const buddy = this.buddies[zone.index]!;
          buddy.prepNew(pfn, req.order, req.compound);
          if (allocFlags & ALLOC_HIGHATOMIC) buddy.reserveHighatomic(pfn, req.order);
          return pfn;
        }
      }
      if (!(allocFlags & ALLOC_NOFRAGMENT)) return NO_PFN;
      // It is possible on a UMA machine to get through all zones that are fragmented: try again, stealing.
      allocFlags &= ~ALLOC_NOFRAGMENT;
    }
  }

  /** rmqueue(): the per-CPU list for allowed orders, else the buddy allocator (rmqueue_buddy). */
  private rmqueue(zone: Zone, req: AllocRequest, allocFlags: number): number {
    const mt = gfpMigratetype(req.gfp);
    if (pcpAllowedOrder(req.order)) {
      const pfn = this.pcp[zone.index]!.alloc(req.cpu, req.order, mt, allocFlags);
      if (pfn !== NO_PFN) return pfn;
    }
    const buddy = this.buddies[zone.index]!;
    let pfn = NO_PFN;
    if (allocFlags & ALLOC_HIGHATOMIC) pfn = buddy.rmqueueSmallest(req.order, MIGRATE_HIGHATOMIC);
    if (pfn === NO_PFN) {
      pfn = buddy.rmqueue(req.order, mt, allocFlags);
      if (pfn === NO_PFN && allocFlags & (ALLOC_OOM | ALLOC_NON_BLOCK)) {
        pfn = buddy.rmqueueSmallest(req.order, MIGRATE_HIGHATOMIC);
      }
    }
    return pfn;
  }

  /**
   * unreserve_highatomic_pageblock(force): when an allocation that may sleep is failing, the HighAtomic page
   * blocks go back to a normal type (the kernel picks the type of the allocation; the model uses Movable,
   * the type every block had at boot) with their free pages.
   */
  private unreserveHighatomic(zonelist: readonly Zone[]): void {
    for (const zone of zonelist) {
      if (zone.reservedHighatomic === 0) continue;
      const buddy = this.buddies[zone.index]!;
      for (let p = zone.startPfn & ~((1 << PAGEBLOCK_ORDER) - 1); p < zone.endPfn; p += 1 << PAGEBLOCK_ORDER) {
        if (p < zone.startPfn || buddy.blockType(p) !== MIGRATE_HIGHATOMIC) continue;
        if (buddy.moveFreepagesBlock(p, MIGRATE_MOVABLE) !== undefined) {
          zone.reservedHighatomic = Math.max(0, zone.reservedHighatomic - (1 << PAGEBLOCK_ORDER));
        }
      }
    }
  }

  private onCpuList(zone: ZonePcp, cpu: number, head: number): boolean {
    const pcp = zone.cpus[cpu]!;
    for (let i = 0; i < pcp.heads.length; i++) {
      for (let p = pcp.heads[i]!, n = 0; p !== NO_PFN && n <= pcp.count; p = this.frames.next[p]!, n++) {
        if (p === head) return true;
      }
    }
    return false;
  }
}
