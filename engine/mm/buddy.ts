/*
 * The buddy allocator of one zone (mm/page_alloc.c, Linux 6.12); page_alloc.ts puts one in each zone and
 * pcp.ts puts the per-CPU page lists in front of it.
 *
 * Free memory is kept as naturally aligned blocks of 2^order frames, order 0..MAX_PAGE_ORDER. Each block is on
 * the free list of its order and migrate type, zone->free_area[order].free_list[migratetype]; nr_free counts
 * the blocks of an order over all types. The buddy of the block at pfn is the block at pfn ^ (1 << order).
 *
 * Migrate types group pages by mobility: every page block (2^pageblock_order = 512 frames) has one type,
 * and a free block sits on the list of the type of the page block that holds its first frame. Boot marks
 * every page block Movable (memmap_init_range). An allocation takes its type from the GFP mask
 * (gfp_migratetype: __GFP_MOVABLE, __GFP_RECLAIMABLE, else Unmovable) and:
 *   __rmqueue_smallest  takes the first block of the smallest order >= the request on its own type's list,
 *                        splitting it (expand: the upper halves go back one order down, same type);
 *   __rmqueue_fallback   when that fails, looks at the other types in the fallbacks[] order, largest
 *                        order first, and steals: a block of pageblock order or more changes the type of
 *                        its page blocks; a smaller one may convert its whole page block when at least half
 *                        of it is free or of a compatible type (steal_suitable_fallback), otherwise only the
 *                        block itself is taken. ALLOC_NOFRAGMENT (set when the preferred zone is Normal)
 *                        allows only whole page blocks to be stolen on the first pass.
 * Freeing (__free_one_page) merges with the buddy while it is a free block of the same order (page blocks of
 * HighAtomic, CMA or Isolate type only merge with their own type above pageblock order) and queues the
 * result at the head of its list, or at the tail when the next merge looks likely (buddy_merge_likely) or
 * at boot (memblock frees in address order with FPI_TO_TAIL, so a fresh machine hands out low addresses
 * first).
 *
 * The lists are intrusive doubly linked lists through FrameTable.next/prev; the head frame of a free block
 * carries PG_buddy and its order. Frames on a per-CPU list are not on these lists (they are "allocated" as
 * far as the zone is concerned and do not count in NR_FREE_PAGES).
 *
 * Not modelled: CMA areas (the CMA type exists and is printed, no page block has it), page isolation for
 * memory hotplug, watermark boosting (kswapd would clear the boost at once: no reclaimable memory is
 * modelled, see page_alloc.ts), page shuffling (off by default), debug guard pages.
 */

import { MAX_PAGE_ORDER, NR_PAGE_ORDERS } from './config';
import { FrameTable, NO_PFN, PG_BUDDY, PG_HEAD, PG_LRU, PG_RESERVED, PG_SLAB, PG_TAIL, PG_PCP } from './frames';

/** enum migratetype (include/linux/mmzone.h) with CONFIG_CMA and CONFIG_MEMORY_ISOLATION. */
export const MIGRATE_UNMOVABLE = 0;
export const MIGRATE_MOVABLE = 1;
export const MIGRATE_RECLAIMABLE = 2;
export const MIGRATE_PCPTYPES = 3;
export const MIGRATE_HIGHATOMIC = 3;
export const MIGRATE_CMA = 4;
export const MIGRATE_ISOLATE = 5;
export const MIGRATE_TYPES = 6;
/** migratetype_names[] (mm/vmstat.c), as /proc/pagetypeinfo prints them. */
export const MIGRATETYPE_NAMES: readonly string[] = [
  'Unmovable',
  'Movable',
  'Reclaimable',
  'HighAtomic',
  'CMA',
  'Isolate',
];

/** include/linux/pageblock-flags.h: pageblock_order = MIN(HPAGE_PMD_ORDER, MAX_PAGE_ORDER) = 9 on x86-64. */
export const PAGEBLOCK_ORDER = 9;
export const PAGEBLOCK_NR_PAGES = 1 << PAGEBLOCK_ORDER;

/** mm/page_alloc.c fallbacks[]: the types an allocation of each type may steal from, in order. */
const FALLBACKS: readonly (readonly number[])[] = [
  [MIGRATE_RECLAIMABLE, MIGRATE_MOVABLE],
  [MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE],
  [MIGRATE_UNMOVABLE, MIGRATE_MOVABLE],
];

/** mm/internal.h alloc_flags (6.12). The low two bits select the watermark (WMARK_MIN, LOW, HIGH). */
export const ALLOC_WMARK_MIN = 0;
export const ALLOC_WMARK_LOW = 1;
export const ALLOC_WMARK_HIGH = 2;
export const ALLOC_WMARK_MASK = 3;
export const ALLOC_NO_WATERMARKS = 0x04;
export const ALLOC_OOM = 0x08;
export const ALLOC_NON_BLOCK = 0x10;
/** Same bit as __GFP_HIGH. */
export const ALLOC_MIN_RESERVE = 0x20;
export const ALLOC_CPUSET = 0x40;
export const ALLOC_CMA = 0x80;
/** Steal only whole page blocks from other types (set when the preferred zone is Normal). */
export const ALLOC_NOFRAGMENT = 0x100;
export const ALLOC_HIGHATOMIC = 0x200;
/** Same bit as __GFP_KSWAPD_RECLAIM. */
export const ALLOC_KSWAPD = 0x800;
export const ALLOC_RESERVES = ALLOC_NON_BLOCK | ALLOC_MIN_RESERVE | ALLOC_HIGHATOMIC | ALLOC_OOM;

/** migratetype_is_mergeable(): Unmovable, Movable and Reclaimable blocks merge with each other. */
function mergeable(mt: number): boolean {
  return mt < MIGRATE_PCPTYPES;
}

export class Zone {
  readonly name: string;
  /** enum zone_type index (0 DMA, 1 DMA32, 2 Normal). */
  readonly index: number;
  readonly startPfn: number;
  readonly endPfn: number;
  /** free_area[order].free_list[mt] heads and tails, at [order * MIGRATE_TYPES + mt]; NO_PFN when empty. */
  readonly freeHead: Int32Array = new Int32Array(NR_PAGE_ORDERS * MIGRATE_TYPES).fill(NO_PFN);
  readonly freeTail: Int32Array = new Int32Array(NR_PAGE_ORDERS * MIGRATE_TYPES).fill(NO_PFN);
  /** free_area[order].nr_free: blocks of each order, all types. */
  readonly nrFree: Float64Array = new Float64Array(NR_PAGE_ORDERS);
  /** Blocks of each order and type, at [order * MIGRATE_TYPES + mt] (what /proc/pagetypeinfo counts). */
  readonly nrFreeByType: Float64Array = new Float64Array(NR_PAGE_ORDERS * MIGRATE_TYPES);
  /** Frames handed to the buddy allocator at boot (zone_managed_pages). */
  managedPages = 0;
  /** Frames the zone spans that exist (present_pages). */
  presentPages = 0;
  /** Frames currently in free blocks (NR_FREE_PAGES; frames on per-CPU lists are not counted). */
  freePages = 0;
  /** Free frames in HighAtomic page blocks (zone->nr_free_highatomic). */
  freeHighatomic = 0;
  /** Page blocks reserved as HighAtomic, in frames (zone->nr_reserved_highatomic). */
  reservedHighatomic = 0;
  /** _watermark[WMARK_MIN/LOW/HIGH] in pages, set at boot from min_free_kbytes (watermarks.ts). */
  wmarkMin = 0;
  wmarkLow = 0;
  wmarkHigh = 0;
  /** lowmem_reserve[highest_zoneidx]: pages kept from allocations that could have used a higher zone. */
  lowmemReserve: readonly number[] = [0, 0, 0, 0];
  /** ZONE_BELOW_HIGH: the last allocation saw free pages below the high watermark (pcp.ts shrinks high). */
  belowHigh = false;

  constructor(name: string, index: number, startPfn: number, endPfn: number) {
    this.name = name;
    this.index = index;
    this.startPfn = startPfn;
    this.endPfn = endPfn;
  }

  get spannedPages(): number {
    return this.endPfn - this.startPfn;
  }
}

/** Why a free was refused, in the kernel's words ("Bad page state" reasons). */
export type BadPageReason =
  | 'page already free'
  | 'not the head of an allocation'
  | 'wrong order'
  | 'reserved page'
  | 'pfn outside the zone'
  | 'slab page';

/** A block the fallback path took from another type: trace_mm_page_alloc_extfrag's fields. */
export interface ExtfragEvent {
  readonly pfn: number;
  readonly allocOrder: number;
  readonly fallbackOrder: number;
  readonly allocMigratetype: number;
  readonly fallbackMigratetype: number;
  /** The page block changed type (change_ownership). */
  readonly claimed: boolean;
}

export class BuddyAllocator {
  /** The last fallback (stealing) this allocator did, for the event log; cleared by the caller. */
  lastExtfrag: ExtfragEvent | undefined;

  constructor(
    readonly frames: FrameTable,
    readonly zone: Zone,
    /** The migrate type of every page block of the machine, indexed by pfn >> PAGEBLOCK_ORDER. */
    readonly pageblockMt: Uint8Array,
  ) {}

  /** get_pfnblock_migratetype(). */
  blockType(pfn: number): number {
    return this.pageblockMt[pfn >> PAGEBLOCK_ORDER]!;
  }

  /** Boot: hand frames [start, end) to the allocator as the largest aligned blocks that fit (memblock_free_all). */
  freeRangeAtBoot(start: number, end: number): void {
    let pfn = start;
    while (pfn < end) {
      let order = MAX_PAGE_ORDER;
      while (order > 0 && ((pfn & ((1 << order) - 1)) !== 0 || pfn + (1 << order) > end)) {
        order--;
      }
      this.zone.managedPages += 1 << order;
      this.freeOne(pfn, order, this.blockType(pfn), true);
      pfn += 1 << order;
    }
  }

  /**
   * __rmqueue(): 2^order frames of migrate type mt, falling back to other types; NO_PFN when the zone has
   * no block of that order or above. The frames are not yet marked allocated (prepNew does that).
   */
  rmqueue(order: number, mt: number, allocFlags: number): number {
    let pfn = this.rmqueueSmallest(order, mt);
    if (pfn === NO_PFN && mt < MIGRATE_PCPTYPES) {
      pfn = this.rmqueueFallback(order, mt, allocFlags);
    }
    return pfn;
  }

  /** __rmqueue_smallest(): the smallest block of order >= `order` on mt's lists, split down to order. */
  rmqueueSmallest(order: number, mt: number): number {
    const zone = this.zone;
    for (let current = order; current <= MAX_PAGE_ORDER; current++) {
      const pfn = zone.freeHead[current * MIGRATE_TYPES + mt]!;
      if (pfn === NO_PFN) continue;
      this.delFromFreeList(pfn, current, mt);
      this.expand(pfn, order, current, mt);
      return pfn;
    }
    return NO_PFN;
  }

  /** Marks 2^order frames at pfn allocated (prep_new_page): refcount 1 on the first, compound flags on request. */
  prepNew(pfn: number, order: number, compound: boolean): void {
    const frames = this.frames;
    frames.order[pfn] = order;
    frames.refcount[pfn] = 1;
    frames.next[pfn] = NO_PFN;
    frames.prev[pfn] = NO_PFN;
    if (compound && order > 0) {
      frames.flags[pfn] = PG_HEAD;
      const end = pfn + (1 << order);
      for (let p = pfn + 1; p < end; p++) frames.flags[p] = PG_TAIL;
    } else {
      frames.flags[pfn] = 0;
    }
  }

  /**
   * Puts 2^order frames back as free (__free_one_page after free_pages_prepare): the caller has checked
   * the free; mt is the migrate type of the list (the page block's type at free time).
   */
  freeBlock(pfn: number, order: number, mt: number, toTail = false): void {
    const frames = this.frames;
    const end = pfn + (1 << order);
    for (let p = pfn; p < end; p++) {
      frames.flags[p] = 0;
      frames.order[p] = 0;
      frames.refcount[p] = 0;
    }
    this.freeOne(pfn, order, mt, toTail);
  }

  /**
   * __isolate_free_page(): takes the free block at pfn (its head) off its list, for compaction to migrate
   * into; the caller owns its frames afterwards.
   */
  isolateFreePage(pfn: number, order: number): void {
    this.delFromFreeList(pfn, order, this.blockType(pfn));
  }

  /** Counts of free blocks per order (the numbers /proc/buddyinfo prints). */
  nrFreeByOrder(): number[] {
    return Array.from(this.zone.nrFree);
  }

  /** True when pfn is the head of a free block (PageBuddy). */
  isFreeHead(pfn: number): boolean {
    return (this.frames.flags[pfn]! & PG_BUDDY) !== 0;
  }

  /** The head pfn and order of the free block that contains pfn, or undefined when pfn is not free. */
  findFreeBlock(pfn: number): { pfn: number; order: number } | undefined {
    for (let order = 0; order <= MAX_PAGE_ORDER; order++) {
      const head = pfn & ~((1 << order) - 1);
      if (head < this.zone.startPfn) break;
      if (this.isFreeHead(head) && this.frames.order[head]! >= order) {
        const o = this.frames.order[head]!;
        if (pfn < head + (1 << o)) return { pfn: head, order: o };
      }
    }
    return undefined;
  }

  /** Why freeing 2^order frames at pfn would be refused, from the frame flags alone. */
  checkFree(pfn: number, order: number): BadPageReason | undefined {
    const zone = this.zone;
    if (!Number.isInteger(pfn) || pfn < zone.startPfn || pfn + (1 << order) > zone.endPfn) {
      return 'pfn outside the zone';
    }
    const f = this.frames.flags[pfn]!;
    if (f & (PG_BUDDY | PG_PCP) || this.findFreeBlock(pfn)) return 'page already free';
    if (f & PG_RESERVED) return 'reserved page';
    if (f & PG_TAIL) return 'not the head of an allocation';
    if (f & PG_SLAB) return 'slab page';
    if (this.frames.refcount[pfn] === 0) return 'not the head of an allocation';
    if (this.frames.order[pfn] !== order) return 'wrong order';
    return undefined;
  }

  /**
   * move_freepages_block(): moves every free block inside the page block of pfn to type `to`'s lists and
   * sets the page block's type. Returns the free frames moved and the movable (LRU) frames seen, as
   * prep_move_freepages_block() counts them; undefined when the page block crosses the zone's edge.
   */
  moveFreepagesBlock(pfn: number, to: number): { free: number; movable: number } | undefined {
    const start = pfn & ~(PAGEBLOCK_NR_PAGES - 1);
    const end = start + PAGEBLOCK_NR_PAGES;
    if (start < this.zone.startPfn || end > this.zone.endPfn) return undefined;
    const from = this.blockType(start);
    let free = 0;
    let movable = 0;
    const frames = this.frames;
    for (let p = start; p < end;) {
      const f = frames.flags[p]!;
      if (f & PG_BUDDY) {
        const order = frames.order[p]!;
        this.delFromFreeList(p, order, from);
        this.addToFreeList(p, order, to, true);
        free += 1 << order;
        p += 1 << order;
        continue;
      }
      if (f & PG_LRU) movable++;
      p++;
    }
    this.pageblockMt[start >> PAGEBLOCK_ORDER] = to;
    return { free, movable };
  }

  /** change_pageblock_range(): every page block of a block of order >= pageblock_order gets type mt. */
  private changePageblockRange(pfn: number, order: number, mt: number): void {
    const blocks = 1 << (order - PAGEBLOCK_ORDER);
    for (let i = 0; i < blocks; i++) this.pageblockMt[(pfn >> PAGEBLOCK_ORDER) + i] = mt;
  }

  /** find_suitable_fallback(): the first type in fallbacks[mt] with a free block of this order, or -1. */
  private findSuitableFallback(order: number, mt: number): number {
    if (this.zone.nrFree[order] === 0) return -1;
    for (const fallback of FALLBACKS[mt]!) {
      if (this.zone.freeHead[order * MIGRATE_TYPES + fallback] !== NO_PFN) return fallback;
    }
    return -1;
  }

  /** __rmqueue_fallback() with can_steal_fallback() and steal_suitable_fallback() of 6.12. */
  private rmqueueFallback(order: number, startMt: number, allocFlags: number): number {
    const minOrder = order < PAGEBLOCK_ORDER && allocFlags & ALLOC_NOFRAGMENT ? PAGEBLOCK_ORDER : order;
    let current = MAX_PAGE_ORDER;
    let fallbackMt = -1;
    for (; current >= minOrder; current--) {
      fallbackMt = this.findSuitableFallback(current, startMt);
      if (fallbackMt !== -1) break;
    }
    if (fallbackMt === -1) return NO_PFN;
    let canSteal = canStealFallback(current, startMt);
    // Movable requests that cannot take the whole block steal the smallest block instead (find_smallest).
    if (!canSteal && startMt === MIGRATE_MOVABLE && current > order) {
      for (current = order; current <= MAX_PAGE_ORDER; current++) {
        fallbackMt = this.findSuitableFallback(current, startMt);
        if (fallbackMt !== -1) break;
      }
      canSteal = canStealFallback(current, startMt);
    }
    const page = this.zone.freeHead[current * MIGRATE_TYPES + fallbackMt]!;
    return this.stealSuitableFallback(page, current, order, startMt, fallbackMt, canSteal);
  }

  private stealSuitableFallback(
    page: number,
    current: number,
    order: number,
    startMt: number,
    blockMt: number,
    wholeBlock: boolean,
  ): number {
    const event = (claimed: boolean): void => {
      this.lastExtfrag = {
        pfn: page,
        allocOrder: order,
        fallbackOrder: current,
        allocMigratetype: startMt,
        fallbackMigratetype: blockMt,
        claimed,
      };
    };
    if (current >= PAGEBLOCK_ORDER) {
      this.delFromFreeList(page, current, blockMt);
      this.changePageblockRange(page, current, startMt);
      this.expand(page, order, current, startMt);
      event(true);
      return page;
    }
    if (wholeBlock) {
      const start = page & ~(PAGEBLOCK_NR_PAGES - 1);
      const counts = this.countPageblock(start);
      if (counts !== undefined) {
        let alike: number;
        if (startMt === MIGRATE_MOVABLE) {
          alike = counts.movable;
        } else {
          alike = blockMt === MIGRATE_MOVABLE ? PAGEBLOCK_NR_PAGES - (counts.free + counts.movable) : 0;
        }
        if (counts.free + alike >= 1 << (PAGEBLOCK_ORDER - 1)) {
          this.moveFreepagesBlock(start, startMt);
          event(true);
          return this.rmqueueSmallest(order, startMt);
        }
      }
    }
    // single_page: take the block, leave its page block's type alone.
    this.delFromFreeList(page, current, blockMt);
    this.expand(page, order, current, blockMt);
    event(false);
    return page;
  }

  /** Free and movable frames in a page block, or undefined when it crosses the zone's edge. */
  private countPageblock(start: number): { free: number; movable: number } | undefined {
    if (start < this.zone.startPfn || start + PAGEBLOCK_NR_PAGES > this.zone.endPfn) return undefined;
    let free = 0;
    let movable = 0;
    const frames = this.frames;
    for (let p = start; p < start + PAGEBLOCK_NR_PAGES;) {
      const f = frames.flags[p]!;
      if (f & PG_BUDDY) {
        free += 1 << frames.order[p]!;
        p += 1 << frames.order[p]!;
        continue;
      }
      if (f & PG_LRU) movable++;
      p++;
    }
    return { free, movable };
  }

  /** expand(): splits a block of order high down to low, the upper halves back on mt's lists. */
  private expand(pfn: number, low: number, high: number, mt: number): void {
    let size = 1 << high;
    while (high > low) {
      high--;
      size >>= 1;
      this.addToFreeList(pfn + size, high, mt, false);
    }
  }

  /** __free_one_page(): merge with free buddies while possible, then queue the block. */
  private freeOne(pfn: number, order: number, mt: number, toTail: boolean): void {
    const zone = this.zone;
    let buddy = pfn;
    while (order < MAX_PAGE_ORDER) {
      buddy = pfn ^ (1 << order);
      if (buddy < zone.startPfn || buddy + (1 << order) > zone.endPfn) break;
      if (!this.isFreeHead(buddy) || this.frames.order[buddy] !== order) break;
      let buddyMt = mt;
      if (order >= PAGEBLOCK_ORDER) {
        buddyMt = this.blockType(buddy);
        if (buddyMt !== mt && (!mergeable(mt) || !mergeable(buddyMt))) break;
      }
      this.delFromFreeList(buddy, order, buddyMt);
      if (buddyMt !== mt) this.pageblockMt[buddy >> PAGEBLOCK_ORDER] = mt;
      pfn &= buddy;
      order++;
    }
    if (!toTail && order < MAX_PAGE_ORDER - 1) {
      // buddy_merge_likely(): when the buddy of the next-larger block is free, freeing our own buddy soon
      // would merge twice; queue at the tail so this block stays free longer.
      const higher = buddy & pfn;
      const higherBuddy = higher ^ (1 << (order + 1));
      toTail =
        higherBuddy >= zone.startPfn &&
        higherBuddy + (1 << (order + 1)) <= zone.endPfn &&
        this.isFreeHead(higherBuddy) &&
        this.frames.order[higherBuddy] === order + 1;
    }
    this.addToFreeList(pfn, order, mt, toTail);
  }

  private addToFreeList(pfn: number, order: number, mt: number, toTail: boolean): void {
    const { frames, zone } = this;
    const list = order * MIGRATE_TYPES + mt;
    frames.flags[pfn] = PG_BUDDY;
    frames.order[pfn] = order;
    if (toTail) {
      const tail = zone.freeTail[list]!;
      frames.prev[pfn] = tail;
      frames.next[pfn] = NO_PFN;
      if (tail === NO_PFN) zone.freeHead[list] = pfn;
      else frames.next[tail] = pfn;
      zone.freeTail[list] = pfn;
    } else {
      const head = zone.freeHead[list]!;
      frames.next[pfn] = head;
      frames.prev[pfn] = NO_PFN;
      if (head === NO_PFN) zone.freeTail[list] = pfn;
      else frames.prev[head] = pfn;
      zone.freeHead[list] = pfn;
    }
    zone.nrFree[order]!++;
    zone.nrFreeByType[list]!++;
    zone.freePages += 1 << order;
    if (mt === MIGRATE_HIGHATOMIC) zone.freeHighatomic += 1 << order;
  }

  private delFromFreeList(pfn: number, order: number, mt: number): void {
    const { frames, zone } = this;
    const list = order * MIGRATE_TYPES + mt;
    const next = frames.next[pfn]!;
    const prev = frames.prev[pfn]!;
    if (prev === NO_PFN) zone.freeHead[list] = next;
    else frames.next[prev] = next;
    if (next === NO_PFN) zone.freeTail[list] = prev;
    else frames.prev[next] = prev;
    frames.next[pfn] = NO_PFN;
    frames.prev[pfn] = NO_PFN;
    frames.flags[pfn] = 0;
    zone.nrFree[order]!--;
    zone.nrFreeByType[list]!--;
    zone.freePages -= 1 << order;
    if (mt === MIGRATE_HIGHATOMIC) zone.freeHighatomic -= 1 << order;
  }

  /**
   * reserve_highatomic_pageblock(): after a high-order atomic allocation, turn its page block into a
   * HighAtomic reserve, up to 1% of the zone rounded up to a page block; none when 1% of the zone is less
   * than a page block.
   */
  reserveHighatomic(pfn: number, order: number): void {
    const zone = this.zone;
    const onePercent = Math.floor(zone.managedPages / 100);
    if (onePercent < PAGEBLOCK_NR_PAGES) return;
    const max = Math.ceil(onePercent / PAGEBLOCK_NR_PAGES) * PAGEBLOCK_NR_PAGES;
    if (zone.reservedHighatomic >= max) return;
    const mt = this.blockType(pfn);
    if (!mergeable(mt)) return;
    if (order < PAGEBLOCK_ORDER) {
      if (this.moveFreepagesBlock(pfn, MIGRATE_HIGHATOMIC) === undefined) return;
      zone.reservedHighatomic += PAGEBLOCK_NR_PAGES;
    } else {
      this.changePageblockRange(pfn & ~(PAGEBLOCK_NR_PAGES - 1), order, MIGRATE_HIGHATOMIC);
      zone.reservedHighatomic += 1 << order;
    }
  }
}

/** The watermark alloc_flags select, in pages. */
export function wmarkPages(zone: Zone, allocFlags: number): number {
  const m = allocFlags & ALLOC_WMARK_MASK;
  return m === ALLOC_WMARK_MIN ? zone.wmarkMin : m === ALLOC_WMARK_LOW ? zone.wmarkLow : zone.wmarkHigh;
}

/**
 * __zone_watermark_ok(): would an allocation of `order` leave the zone above `mark` plus its lowmem reserve
 * for highestZone? __GFP_HIGH (ALLOC_MIN_RESERVE) may use half of min, non-blocking callers (GFP_ATOMIC)
 * a quarter of the rest more, OOM victims half again; callers without reserve rights do not count the free
 * HighAtomic pages. A high-order request also needs a free block of its order or above.
 */
export function zoneWatermarkOk(
  zone: Zone,
  order: number,
  mark: number,
  highestZone: number,
  allocFlags: number,
): boolean {
  let free = zone.freePages - ((1 << order) - 1);
  if (!(allocFlags & ALLOC_RESERVES)) free -= zone.freeHighatomic;
  let min = mark;
  if (allocFlags & ALLOC_RESERVES) {
    if (allocFlags & ALLOC_MIN_RESERVE) {
      min -= Math.floor(min / 2);
      if (allocFlags & ALLOC_NON_BLOCK) min -= Math.floor(min / 4);
    }
    if (allocFlags & ALLOC_OOM) min -= Math.floor(min / 2);
  }
  if (free <= min + (zone.lowmemReserve[highestZone] ?? 0)) return false;
  if (order === 0) return true;
  for (let o = order; o <= MAX_PAGE_ORDER; o++) {
    if (zone.nrFree[o] === 0) continue;
    for (let mt = 0; mt < MIGRATE_PCPTYPES; mt++) {
      if (zone.freeHead[o * MIGRATE_TYPES + mt] !== NO_PFN) return true;
    }
    if (
      allocFlags & (ALLOC_HIGHATOMIC | ALLOC_OOM) &&
      zone.freeHead[o * MIGRATE_TYPES + MIGRATE_HIGHATOMIC] !== NO_PFN
    ) {
      return true;
    }
  }
  return false;
}

/**
 * zone_watermark_fast(): the order-0 shortcut (usable free pages above mark + reserve), then
 * __zone_watermark_ok(). Watermark boosting is not modelled, so its __GFP_HIGH retry is not needed.
 */
export function zoneWatermarkFast(
  zone: Zone,
  order: number,
  mark: number,
  highestZone: number,
  allocFlags: number,
): boolean {
  if (order === 0) {
    const reserved = allocFlags & ALLOC_RESERVES ? 0 : zone.freeHighatomic;
    const usable = zone.freePages - Math.min(zone.freePages, reserved);
    if (usable > mark + (zone.lowmemReserve[highestZone] ?? 0)) return true;
  }
  return zoneWatermarkOk(zone, order, mark, highestZone, allocFlags);
}

/** can_steal_fallback(): may a fallback of this order convert its whole page block? */
export function canStealFallback(order: number, startMt: number): boolean {
  if (order >= PAGEBLOCK_ORDER) return true;
  // pageblock_order / 2 is C integer division: 9 / 2 = 4.
  return order >= PAGEBLOCK_ORDER >> 1 || startMt === MIGRATE_RECLAIMABLE || startMt === MIGRATE_UNMOVABLE;
}
