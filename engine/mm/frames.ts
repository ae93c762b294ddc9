/*
 * Physical frames and their metadata: the emulator's `struct page` array (mem_map), stored as a struct
 * of typed arrays indexed by pfn, so a 64 GiB machine (16.7 M frames) costs a few bytes per frame and no
 * JS object per page.
 *
 * Invariants: a frame is exactly one of free (PG_buddy on the head of a free block; the other frames of the
 * block carry no flag), on a per-CPU page list (PG_pcp on the head of the cached block), owned by a compound allocation (PG_head on the first frame, PG_tail on the rest), a
 * single owned page (no flag), or reserved (PG_reserved, never in the allocator). `order` is meaningful on
 * the head of a free block or of a compound allocation. `next`/`prev` link free blocks of one free list
 * (the kernel's page->buddy_list), -1 at the ends. The first 1 MiB is reserved at boot, as x86-64 has
 * done since Linux 5.13 (arch/x86/kernel/setup.c reserves it for BIOS and real-mode use).
 */

export const PG_BUDDY = 1 << 0;
export const PG_SLAB = 1 << 1;
export const PG_HEAD = 1 << 2;
export const PG_TAIL = 1 << 3;
export const PG_RESERVED = 1 << 4;
/** On a per-CPU page list (pcp.ts): free to the user, allocated as far as the zone is concerned. */
export const PG_PCP = 1 << 5;
/** A user page on the LRU: movable, so compaction can migrate it and page-block stealing counts it. */
export const PG_LRU = 1 << 6;
/** A page-table page (the kernel's PGTY_table page type); counted in PageTables. */
export const PG_PGTABLE = 1 << 7;
/** An anonymous user page (PageAnon): mapped by processes, found through the machine's reverse map. */
export const PG_ANON = 1 << 8;

export const NO_PFN = -1;

export class FrameTable {
  readonly count: number;
  readonly flags: Uint16Array;
  readonly order: Uint8Array;
  readonly next: Int32Array;
  readonly prev: Int32Array;
  /**
   * page_count() of the first page of an allocation (1 while allocated). Only that page carries a
   * reference: freeing any other page of a non-compound block is refused, as put_page() on it would
   * free nothing in the kernel.
   */
  readonly refcount: Uint16Array;

  constructor(count: number) {
    this.count = count;
    this.flags = new Uint16Array(count);
    this.order = new Uint8Array(count);
    this.refcount = new Uint16Array(count);
    this.next = new Int32Array(count).fill(NO_PFN);
    this.prev = new Int32Array(count).fill(NO_PFN);
  }

  /** Names of the flags set on a frame, as /proc/kpageflags-style words. */
  flagNames(pfn: number): string[] {
    const f = this.flags[pfn]!;
    const names: string[] = [];
    if (f & PG_BUDDY) names.push('buddy');
    if (f & PG_SLAB) names.push('slab');
    if (f & PG_HEAD) names.push('head');
    if (f & PG_TAIL) names.push('tail');
    if (f & PG_RESERVED) names.push('reserved');
    if (f & PG_PCP) names.push('pcp');
    if (f & PG_LRU) names.push('lru');
    if (f & PG_PGTABLE) names.push('pgtable');
    if (f & PG_ANON) names.push('anon');
    return names;
  }
}
