/*
 * The buddy allocator of one zone (mm/page_alloc.c); page_alloc.ts puts one in each zone.
 *
 * Free memory is kept as naturally aligned blocks of 2^order frames, order 0..MAX_PAGE_ORDER, each block on
 * the free list of its order (zone->free_area[order], with nr_free counting the blocks). The buddy of the
 * block at pfn is the block at pfn ^ (1 << order).
 *
 * Allocation (__rmqueue_smallest, expand): take the first block of the smallest order >= the request that
 * has one; while it is larger than asked, split it and put the upper half on the list one order down.
 * Freeing (__free_one_page): while the buddy is a free block of the same order inside the zone, take it off
 * its list and merge; put the result on the list of its final order.
 *
 * The free lists are intrusive doubly linked lists through FrameTable.next/prev; the head frame of a free
 * block carries PG_buddy and its order. Blocks go to the head of a list except at boot, where memblock frees
 * memory in address order to the tail (FPI_TO_TAIL), so a fresh machine hands out low addresses first.
 *
 * Not yet modelled (later work): migrate types and page blocks, per-CPU page lists, watermarks, the
 * to-tail heuristic for blocks whose higher buddy is free (buddy_merge_likely).
 */

import { MAX_PAGE_ORDER, NR_PAGE_ORDERS } from './config';
import { FrameTable, NO_PFN, PG_BUDDY, PG_HEAD, PG_RESERVED, PG_SLAB, PG_TAIL } from './frames';

export class Zone {
  readonly name: string;
  readonly startPfn: number;
  readonly endPfn: number;
  /** free_area[order].free_list head pfn (-1 when empty) and nr_free. */
  readonly freeHead: Int32Array = new Int32Array(NR_PAGE_ORDERS).fill(NO_PFN);
  readonly freeTail: Int32Array = new Int32Array(NR_PAGE_ORDERS).fill(NO_PFN);
  readonly nrFree: Float64Array = new Float64Array(NR_PAGE_ORDERS);
  /** Frames handed to the buddy allocator at boot (zone_managed_pages). */
  managedPages = 0;
  /** Frames currently free, summed over all blocks (NR_FREE_PAGES). */
  freePages = 0;

  constructor(name: string, startPfn: number, endPfn: number) {
    this.name = name;
    this.startPfn = startPfn;
    this.endPfn = endPfn;
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

export class BuddyAllocator {
  constructor(
    readonly frames: FrameTable,
    readonly zone: Zone,
  ) {}

  /** Boot: hand frames [start, end) to the allocator as the largest aligned blocks that fit (memblock_free_all). */
  freeRangeAtBoot(start: number, end: number): void {
    let pfn = start;
    while (pfn < end) {
      let order = MAX_PAGE_ORDER;
      while (order > 0 && ((pfn & ((1 << order) - 1)) !== 0 || pfn + (1 << order) > end)) {
        order--;
      }
      this.zone.managedPages += 1 << order;
      this.zone.freePages += 1 << order;
      this.freeOne(pfn, order, true);
      pfn += 1 << order;
    }
  }

  /**
   * Allocates 2^order frames; returns the pfn of the first, or NO_PFN when no block of that order or above
   * is free. The frames come back as one allocation: a compound head/tail set when compound is true.
   */
  allocPages(order: number, compound: boolean): number {
    const zone = this.zone;
    for (let current = order; current <= MAX_PAGE_ORDER; current++) {
      const pfn = zone.freeHead[current]!;
      if (pfn === NO_PFN) {
        continue;
      }
      this.delFromFreeList(pfn, current);
      // expand(): give back the upper halves until the block is the size asked for.
      let size = 1 << current;
      for (let high = current; high > order;) {
        high--;
        size >>= 1;
        this.addToFreeList(pfn + size, high, false);
      }
      zone.freePages -= 1 << order;
      this.markAllocated(pfn, order, compound);
      return pfn;
    }
    return NO_PFN;
  }

  /** Frees 2^order frames at pfn; returns a reason when the kernel would report "Bad page state" instead. */
  freePages(pfn: number, order: number): BadPageReason | undefined {
    const reason = this.checkFree(pfn, order);
    if (reason) {
      return reason;
    }
    const frames = this.frames;
    const end = pfn + (1 << order);
    for (let p = pfn; p < end; p++) {
      frames.flags[p] = 0;
      frames.order[p] = 0;
      frames.refcount[p] = 0;
    }
    this.zone.freePages += 1 << order;
    this.freeOne(pfn, order, false);
    return undefined;
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
      if (this.isFreeHead(head) && this.frames.order[head]! >= order) {
        const o = this.frames.order[head]!;
        if (pfn < head + (1 << o)) {
          return { pfn: head, order: o };
        }
      }
    }
    return undefined;
  }

  private checkFree(pfn: number, order: number): BadPageReason | undefined {
    const zone = this.zone;
    if (!Number.isInteger(pfn) || pfn < zone.startPfn || pfn + (1 << order) > zone.endPfn) {
      return 'pfn outside the zone';
    }
    const f = this.frames.flags[pfn]!;
    if (f & PG_BUDDY || this.findFreeBlock(pfn)) {
      return 'page already free';
    }
    if (f & PG_RESERVED) {
      return 'reserved page';
    }
    if (f & PG_TAIL) {
      return 'not the head of an allocation';
    }
    if (f & PG_SLAB) {
      return 'slab page';
    }
    if (this.frames.refcount[pfn] === 0) {
      return 'not the head of an allocation';
    }
    if (this.frames.order[pfn] !== order) {
      return 'wrong order';
    }
    return undefined;
  }

  private markAllocated(pfn: number, order: number, compound: boolean): void {
    const frames = this.frames;
    frames.order[pfn] = order;
    frames.refcount[pfn] = 1;
    if (compound && order > 0) {
      frames.flags[pfn] = PG_HEAD;
      const end = pfn + (1 << order);
      for (let p = pfn + 1; p < end; p++) {
        frames.flags[p] = PG_TAIL;
      }
    } else {
      frames.flags[pfn] = 0;
    }
  }

  /** __free_one_page(): merge with free buddies while possible, then queue the block. */
  private freeOne(pfn: number, order: number, toTail: boolean): void {
    const zone = this.zone;
    while (order < MAX_PAGE_ORDER) {
      const buddy = pfn ^ (1 << order);
      if (buddy < zone.startPfn || buddy + (1 << order) > zone.endPfn) {
        break;
      }
      if (!this.isFreeHead(buddy) || this.frames.order[buddy] !== order) {
        break;
      }
      this.delFromFreeList(buddy, order);
      pfn &= buddy;
      order++;
    }
    this.addToFreeList(pfn, order, toTail);
  }

  private addToFreeList(pfn: number, order: number, toTail: boolean): void {
    const { frames, zone } = this;
    frames.flags[pfn] = PG_BUDDY;
    frames.order[pfn] = order;
    if (toTail) {
      const tail = zone.freeTail[order]!;
      frames.prev[pfn] = tail;
      frames.next[pfn] = NO_PFN;
      if (tail === NO_PFN) {
        zone.freeHead[order] = pfn;
      } else {
        frames.next[tail] = pfn;
      }
      zone.freeTail[order] = pfn;
    } else {
      const head = zone.freeHead[order]!;
      frames.next[pfn] = head;
      frames.prev[pfn] = NO_PFN;
      if (head === NO_PFN) {
        zone.freeTail[order] = pfn;
      } else {
        frames.prev[head] = pfn;
      }
      zone.freeHead[order] = pfn;
    }
    zone.nrFree[order]!++;
  }

  private delFromFreeList(pfn: number, order: number): void {
    const { frames, zone } = this;
    const next = frames.next[pfn]!;
    const prev = frames.prev[pfn]!;
    if (prev === NO_PFN) {
      zone.freeHead[order] = next;
    } else {
      frames.next[prev] = next;
    }
    if (next === NO_PFN) {
      zone.freeTail[order] = prev;
    } else {
      frames.prev[next] = prev;
    }
    frames.next[pfn] = NO_PFN;
    frames.prev[pfn] = NO_PFN;
    frames.flags[pfn] = 0;
    zone.nrFree[order]!--;
  }
}
