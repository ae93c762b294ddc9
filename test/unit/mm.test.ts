/*
 * Unit tests of engine/mm: the buddy allocator, SLUB's kmalloc caches and the event log, driven through the
 * public API of the Machine (and, for the page allocator, its BuddyAllocator).
 *
 * Every figure the engine must reproduce is recomputed here from the kernel source (Linux 6.12), not read
 * back from engine/: the reference functions below (ref*) are written from mm/slub.c, mm/slab_common.c and
 * include/asm-generic/getorder.h and share no code with the engine. The property tests check invariants
 * written in this file; each invariant checker returns human-readable reasons, so a failure says what broke.
 *
 * Property tests are seeded: the seed is printed as a test diagnostic and can be changed with FC_SEED=<n>.
 *
 * Boot reserves the first 1 MiB (frames 0..255 on x86-64, arch/x86/kernel/setup.c): expected layouts, pfns and
 * page counts are derived from REF_RESERVED_PAGES and refBootBlocks() below, not written for a machine whose
 * memory starts free at pfn 0.
 */

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import {
  Machine,
  KMALLOC_FAILED,
  KMALLOC_MAX_SIZE,
  KMALLOC_ZERO,
  RESERVED_LOW_BYTES,
  ZERO_SIZE_PTR,
} from '../../engine/mm/machine';
import { formatSize, parseSize, validateConfig } from '../../engine/mm/config';
import { NO_PFN, PG_BUDDY, PG_HEAD, PG_RESERVED, PG_SLAB, PG_TAIL } from '../../engine/mm/frames';
import { FREE_END, OBJ_ALLOCATED, KmemCache, slabGeometry } from '../../engine/mm/slub';
import { GFP_DMA, GFP_DMA32, GFP_KERNEL, __GFP_HIGHMEM, __GFP_MOVABLE, __GFP_ZERO } from '../../engine/mm/gfp';
import { EventKind, KmemEvent } from '../../engine/trace/events';
import { addressView, buddyinfoView, formatBuddyinfo, slabinfoView } from '../../engine/inspect/views';

// Local copies of the engine's flag values: module bindings are getters under tsx, too slow for frame scans.
const BUDDY = PG_BUDDY;
const SLAB = PG_SLAB;
const TAIL = PG_TAIL;
const HEAD = PG_HEAD;
const RESERVED = PG_RESERVED;
const NONE = NO_PFN;
const END = FREE_END;
const ALLOCATED = OBJ_ALLOCATED;

const MiB = 1024 * 1024;
const FC_SEED = Number(process.env.FC_SEED ?? 61200);

// ---------------------------------------------------------------------------------------------------------
// Reference figures, written from the kernel source (Linux 6.12), independent of engine/.
// ---------------------------------------------------------------------------------------------------------

const REF_PAGE_SIZE = 4096;
/** include/linux/mmzone.h: MAX_PAGE_ORDER. */
const REF_MAX_PAGE_ORDER = 10;
/** mm/slub.c: slub_max_order = PAGE_ALLOC_COSTLY_ORDER (3) unless CONFIG_SLUB_TINY; slub_min_order = 0. */
const REF_SLUB_MAX_ORDER = 3;
const REF_SLUB_MIN_ORDER = 0;
/** mm/slub.c: MAX_OBJS_PER_PAGE (slab->objects is 15 bits). */
const REF_MAX_OBJS_PER_PAGE = 32767;
/** mm/slub.c: MIN_PARTIAL, MAX_PARTIAL. */
const REF_MIN_PARTIAL = 5;
const REF_MAX_PARTIAL = 10;
/** include/linux/slab.h: KMALLOC_SHIFT_HIGH = PAGE_SHIFT + 1, KMALLOC_MAX_CACHE_SIZE = 1 << 13. */
const REF_KMALLOC_MAX_CACHE_SIZE = 8192;
/** include/linux/slab.h: KMALLOC_MAX_SIZE = 1 << (MAX_PAGE_ORDER + PAGE_SHIFT). */
const REF_KMALLOC_MAX_SIZE = REF_PAGE_SIZE << REF_MAX_PAGE_ORDER;
/**
 * arch/x86/kernel/setup.c setup_arch() ("x86/setup: Always reserve the first 1M of RAM", Linux 5.13):
 * "Unconditionally reserve the entire first 1M of RAM because BIOSes are known to corrupt low memory";
 * x86_platform.realmode_reserve() -> reserve_real_mode() does memblock_reserve(0, SZ_1M). Reserved memblock
 * ranges never reach the buddy allocator (memblock_free_all frees only free ranges) and keep PG_reserved.
 */
const REF_RESERVED_LOW_BYTES = 1024 * 1024;
const REF_RESERVED_PAGES = REF_RESERVED_LOW_BYTES / REF_PAGE_SIZE;

/** include/asm-generic/bitops/fls.h: fls(x), the 1-based index of the most significant set bit. */
function refFls(x: number): number {
  return x === 0 ? 0 : x.toString(2).length;
}

/** include/linux/log2.h: ilog2(n) for n > 0. */
function refIlog2(x: number): number {
  return refFls(x) - 1;
}

/** include/asm-generic/getorder.h get_order(), non-constant path: size--; size >>= PAGE_SHIFT; fls64(size). */
function refGetOrder(size: number): number {
  return refFls(Math.floor((size - 1) / REF_PAGE_SIZE));
}

/** mm/slub.c order_objects(): ((unsigned int)PAGE_SIZE << order) / size. */
function refOrderObjects(order: number, size: number): number {
  return Math.floor((REF_PAGE_SIZE * 2 ** order) / size);
}

/** mm/slub.c calc_slab_order() (6.12): the first order from min_order whose remainder is <= slab_size / fract. */
function refCalcSlabOrder(size: number, minOrder: number, maxOrder: number, fractLeftover: number): number {
  let order;
  for (order = minOrder; order <= maxOrder; order++) {
    const slabSize = REF_PAGE_SIZE * 2 ** order;
    const rem = slabSize % size;
    if (rem <= Math.floor(slabSize / fractLeftover)) {
      break;
    }
  }
  return order;
}

/**
 * mm/slub.c calculate_order() (6.8+, as in 6.12), with no slab_min_objects= boot option. num_present_cpus() <= 1
 * falls back to nr_cpu_ids; a one-CPU machine is taken to have nr_cpu_ids = 1.
 */
function refCalculateOrder(size: number, presentCpus: number): number {
  const nrCpus = presentCpus <= 1 ? 1 : presentCpus;
  let minObjects = 4 * (refFls(nrCpus) + 1);
  const maxObjects = Math.max(refOrderObjects(REF_SLUB_MAX_ORDER, size), 1);
  minObjects = Math.min(minObjects, maxObjects);
  const minOrder = Math.max(REF_SLUB_MIN_ORDER, refGetOrder(minObjects * size));
  if (refOrderObjects(minOrder, size) > REF_MAX_OBJS_PER_PAGE) {
    return refGetOrder(size * REF_MAX_OBJS_PER_PAGE) - 1;
  }
  for (let fraction = 16; fraction > 1; fraction = Math.floor(fraction / 2)) {
    const order = refCalcSlabOrder(size, minOrder, REF_SLUB_MAX_ORDER, fraction);
    if (order <= REF_SLUB_MAX_ORDER) {
      return order;
    }
  }
  const order = refGetOrder(size);
  return order <= REF_MAX_PAGE_ORDER ? order : -38; // -ENOSYS
}

/**
 * s->size of a kmalloc cache: mm/slab_common.c create_boot_cache() aligns kmalloc caches to at least the largest
 * power-of-two divisor of the size (ARCH_KMALLOC_MINALIGN = 8 on x86-64), then mm/slub.c calculate_sizes()
 * rounds the object to the word and to the alignment. Without debug flags nothing is added.
 */
function refKmallocSlotSize(objectSize: number): number {
  const align = Math.max(8, objectSize & -objectSize);
  const word = Math.ceil(objectSize / 8) * 8;
  return Math.ceil(word / align) * align;
}

/** mm/slub.c kmem_cache_open(): set_min_partial(s, ilog2(s->size) / 2), clamped to [MIN_PARTIAL, MAX_PARTIAL]. */
function refMinPartial(size: number): number {
  return Math.min(REF_MAX_PARTIAL, Math.max(REF_MIN_PARTIAL, Math.floor(refIlog2(size) / 2)));
}

/** mm/slab_common.c kmalloc_size_index[24], indexed by size_index_elem(bytes) = (bytes - 1) / 8. */
const REF_KMALLOC_SIZE_INDEX = [3, 4, 5, 5, 6, 6, 6, 6, 1, 1, 1, 1, 7, 7, 7, 7, 2, 2, 2, 2, 2, 2, 2, 2];

/** mm/slab_common.c kmalloc_info[] (KMALLOC_NORMAL names) for the indices x86-64 uses, 1..13. */
const REF_KMALLOC_INFO: Readonly<Record<number, { name: string; size: number }>> = {
  1: { name: 'kmalloc-96', size: 96 },
  2: { name: 'kmalloc-192', size: 192 },
  3: { name: 'kmalloc-8', size: 8 },
  4: { name: 'kmalloc-16', size: 16 },
  5: { name: 'kmalloc-32', size: 32 },
  6: { name: 'kmalloc-64', size: 64 },
  7: { name: 'kmalloc-128', size: 128 },
  8: { name: 'kmalloc-256', size: 256 },
  9: { name: 'kmalloc-512', size: 512 },
  10: { name: 'kmalloc-1k', size: 1024 },
  11: { name: 'kmalloc-2k', size: 2048 },
  12: { name: 'kmalloc-4k', size: 4096 },
  13: { name: 'kmalloc-8k', size: 8192 },
};

/** mm/slab_common.c kmalloc_slab(): kmalloc_size_index[] up to 192 bytes, fls(size - 1) above. */
function refKmallocIndex(size: number): number {
  return size <= 192 ? REF_KMALLOC_SIZE_INDEX[Math.floor((size - 1) / 8)]! : refFls(size - 1);
}

/**
 * mm/memblock.c __free_pages_memory(start, end), as memblock_free_all() hands the free range to the buddy
 * allocator: order = min(MAX_PAGE_ORDER, __ffs(start)) (MAX_PAGE_ORDER for start 0), lowered until the block
 * fits before end; each block goes to the tail of its free list (FPI_TO_TAIL), so lists are in address order.
 */
function refBootBlocks(start: number, end: number): { pfn: number; order: number }[] {
  const blocks: { pfn: number; order: number }[] = [];
  while (start < end) {
    let order = REF_MAX_PAGE_ORDER;
    if (start !== 0) {
      let ffs = 0;
      while (Math.floor(start / 2 ** ffs) % 2 === 0) ffs++;
      order = Math.min(REF_MAX_PAGE_ORDER, ffs);
    }
    while (start + 2 ** order > end) order--;
    blocks.push({ pfn: start, order });
    start += 2 ** order;
  }
  return blocks;
}

/** The free blocks of a fresh machine: everything above the reserved first 1 MiB. */
function refFreshBlocks(memoryBytes: number): { pfn: number; order: number }[] {
  return refBootBlocks(REF_RESERVED_PAGES, memoryBytes / REF_PAGE_SIZE);
}

/** /proc/buddyinfo's nr_free per order on a fresh machine. */
function refFreshNrFree(memoryBytes: number): number[] {
  const nrFree = new Array<number>(REF_MAX_PAGE_ORDER + 1).fill(0);
  for (const b of refFreshBlocks(memoryBytes)) nrFree[b.order]!++;
  return nrFree;
}

/**
 * Zones (Linux 6.12, x86-64). arch/x86/include/asm/dma.h: MAX_DMA_PFN = (16UL * 1024 * 1024) >> PAGE_SHIFT
 * and MAX_DMA32_PFN = 1UL << (32 - PAGE_SHIFT). arch/x86/mm/init.c zone_sizes_init():
 *   max_zone_pfns[ZONE_DMA]    = min(MAX_DMA_PFN, max_low_pfn);
 *   max_zone_pfns[ZONE_DMA32]  = min(MAX_DMA32_PFN, max_low_pfn);
 *   max_zone_pfns[ZONE_NORMAL] = max_low_pfn;
 * (max_low_pfn = max_pfn on x86-64 once init_mem_mapping() ran); free_area_init() then makes each zone span
 * from the end of the zone below to its own max, so a zone may be empty. mm/page_alloc.c zone_names[] names
 * them "DMA", "DMA32", "Normal"; mm/vmstat.c frag_show() skips unpopulated zones.
 */
const REF_MAX_DMA_PFN = (16 * 1024 * 1024) / REF_PAGE_SIZE;
const REF_MAX_DMA32_PFN = 2 ** (32 - 12);
const REF_ZONE_NAMES = ['DMA', 'DMA32', 'Normal'] as const;
type RefZoneName = (typeof REF_ZONE_NAMES)[number];

/** The spans zone_sizes_init() gives a machine of memoryBytes (one node, no holes), every zone, lowest first. */
function refZones(memoryBytes: number): { name: RefZoneName; start: number; end: number }[] {
  const maxPfn = memoryBytes / REF_PAGE_SIZE;
  const max = [Math.min(REF_MAX_DMA_PFN, maxPfn), Math.min(REF_MAX_DMA32_PFN, maxPfn), maxPfn];
  return REF_ZONE_NAMES.map((name, i) => ({ name, start: i === 0 ? 0 : max[i - 1]!, end: max[i]! }));
}

/** The zone holding pfn (page_zone()). */
function refZoneOf(pfn: number): RefZoneName {
  return pfn < REF_MAX_DMA_PFN ? 'DMA' : pfn < REF_MAX_DMA32_PFN ? 'DMA32' : 'Normal';
}

/**
 * A fresh machine's boot blocks sorted into their zones. memblock_free_all() frees memory without looking at
 * zones; both zone boundaries are multiples of the largest block (4 MiB), so every block lies in one zone
 * (asserted here, not assumed).
 */
function refFreshZoneBlocks(memoryBytes: number): Map<RefZoneName, { pfn: number; order: number }[]> {
  const out = new Map<RefZoneName, { pfn: number; order: number }[]>(REF_ZONE_NAMES.map((n) => [n, []]));
  for (const b of refFreshBlocks(memoryBytes)) {
    const zone = refZoneOf(b.pfn);
    assert.equal(refZoneOf(b.pfn + 2 ** b.order - 1), zone, `boot block ${b.pfn} (order ${b.order}) spans two zones`);
    out.get(zone)!.push(b);
  }
  return out;
}

/** nr_free per order of each populated zone on a fresh machine: one /proc/buddyinfo line each. */
function refFreshZoneNrFree(memoryBytes: number): Map<RefZoneName, number[]> {
  const out = new Map<RefZoneName, number[]>();
  const blocks = refFreshZoneBlocks(memoryBytes);
  for (const z of refZones(memoryBytes)) {
    if (z.end <= z.start) continue;
    const nrFree = new Array<number>(REF_MAX_PAGE_ORDER + 1).fill(0);
    for (const b of blocks.get(z.name)!) nrFree[b.order]!++;
    out.set(z.name, nrFree);
  }
  return out;
}

/** mm/vmstat.c frag_show_print(): "Node %d, zone %8s " then "%6lu " per order, then '\n'. */
function refBuddyinfo(zones: ReadonlyMap<string, readonly number[]>): string {
  let out = '';
  for (const [name, nrFree] of zones) {
    out += `Node 0, zone ${name.padStart(8)} ${nrFree.map((n) => `${String(n).padStart(6)} `).join('')}\n`;
  }
  return out;
}

/** include/linux/gfp_types.h (6.12): the zone modifiers, the low bits of a GFP mask. */
const REF___GFP_DMA = 0x01;
const REF___GFP_HIGHMEM = 0x02;
const REF___GFP_DMA32 = 0x04;
const REF___GFP_MOVABLE = 0x08;

/**
 * include/linux/gfp.h gfp_zone(): GFP_ZONE_TABLE indexed by flags & GFP_ZONEMASK. On x86-64 (no CONFIG_HIGHMEM,
 * so OPT_ZONE_HIGHMEM = ZONE_NORMAL): none -> NORMAL, __GFP_DMA -> DMA, __GFP_HIGHMEM -> NORMAL, __GFP_DMA32 ->
 * DMA32, __GFP_MOVABLE -> NORMAL, __GFP_MOVABLE|__GFP_DMA -> DMA, __GFP_MOVABLE|__GFP_DMA32 -> DMA32,
 * __GFP_MOVABLE|__GFP_HIGHMEM -> ZONE_MOVABLE; the other combinations are GFP_ZONE_BAD. ZONE_MOVABLE is empty
 * without kernelcore=/movablecore=, so its zonelist walk starts at NORMAL: that is what is returned for it.
 * Returns the index into REF_ZONE_NAMES of the highest zone the allocation may use.
 */
function refGfpZone(gfp: number): number {
  const zoneBits = gfp & (REF___GFP_DMA | REF___GFP_HIGHMEM | REF___GFP_DMA32 | REF___GFP_MOVABLE);
  assert.ok(!(zoneBits & REF___GFP_DMA && zoneBits & (REF___GFP_DMA32 | REF___GFP_HIGHMEM)), 'GFP_ZONE_BAD');
  assert.ok(!(zoneBits & REF___GFP_DMA32 && zoneBits & REF___GFP_HIGHMEM), 'GFP_ZONE_BAD');
  if (zoneBits & REF___GFP_DMA) return 0;
  if (zoneBits & REF___GFP_DMA32) return 1;
  return 2;
}

const KMALLOC_CLASSES = [8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192];

function className(size: number): string {
  return size >= 1024 ? `kmalloc-${size / 1024}k` : `kmalloc-${size}`;
}

// ---------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------

function boot(memoryBytes: number, cpus: number): Machine {
  const m = Machine.boot({ memoryBytes, cpus });
  if (Array.isArray(m)) {
    throw new Error(`boot failed: ${m.map((e) => `${e.code} ${e.message}`).join('; ')}`);
  }
  return m;
}

function cacheNamed(m: Machine, name: string): KmemCache {
  const cache = m.slub.caches.find((c) => c.name === name);
  assert.ok(cache, `no cache named ${name}`);
  return cache;
}

function newEvents(m: Machine, from: number): KmemEvent[] {
  return m.events.slice(from);
}

/** nr_free per order of each populated zone, lowest zone first, read from the engine's zones. */
function zoneNrFree(m: Machine): Map<string, number[]> {
  return new Map(m.buddy.populatedZones().map((z) => [z.name, Array.from(z.nrFree)]));
}

/** The engine's zone of that name. */
function zoneNamed(
  m: Machine,
  name: RefZoneName,
): { freePages: number; managedPages: number; nrFree: ArrayLike<number> } {
  const zone = m.buddy.zones.find((z) => z.name === name);
  assert.ok(zone, `no zone named ${name}`);
  return zone;
}

/** nr_free with one block added at each order in `plus` and one taken at each order in `minus`. */
function nrFreeWith(nrFree: readonly number[], plus: readonly number[], minus: readonly number[]): number[] {
  const out = nrFree.slice();
  for (const o of plus) out[o]!++;
  for (const o of minus) out[o]!--;
  return out;
}

/** Everything a bad free must leave untouched: frames, free lists, slab metadata, caches, events. */
function snapshot(m: Machine): { readonly [key: string]: unknown; readonly events: number } {
  const { frames, slub } = m;
  return {
    flags: frames.flags.slice(),
    order: frames.order.slice(),
    refcount: frames.refcount.slice(),
    next: frames.next.slice(),
    prev: frames.prev.slice(),
    zones: m.buddy.zones.map((zone) => ({
      freeHead: zone.freeHead.slice(),
      freeTail: zone.freeTail.slice(),
      nrFree: zone.nrFree.slice(),
      freePages: zone.freePages,
    })),
    slabCache: slub.slabCache.slice(),
    slabInuse: slub.slabInuse.slice(),
    slabFreelist: slub.slabFreelist.slice(),
    slabFrozen: slub.slabFrozen.slice(),
    freeptrs: [...slub.freeptrs.entries()].map(([pfn, fp]) => [pfn, Array.from(fp)]).sort((a, b) => +a[0]! - +b[0]!),
    caches: slub.caches.map((c) => ({
      cpuSlab: Array.from(c.cpuSlab),
      cpuFreelist: Array.from(c.cpuFreelist),
      partialHead: c.partialHead,
      partialTail: c.partialTail,
      nrPartial: c.nrPartial,
      nrSlabs: c.nrSlabs,
      totalObjects: c.totalObjects,
      liveObjects: c.liveObjects,
    })),
    largeKmalloc: [...m.largeKmalloc.entries()].sort((a, b) => a[0] - b[0]),
    events: m.events.length,
  };
}

/**
 * The page allocator's invariant. `allocated` maps the head pfn of every block the caller holds to its order.
 * Returns the reasons it does not hold (empty when it does):
 *  - every free-list entry is the PG_buddy head of an aligned block of its list's order, inside the zone,
 *    linked both ways, and no two free blocks overlap;
 *  - no free block has a free buddy of the same order (it would have been merged);
 *  - nr_free of each order equals the length of its list; only free-block heads carry PG_buddy;
 *  - PG_reserved is set exactly on the frames of the first 1 MiB, which are in no free or allocated block;
 *  - every other frame is in exactly one free block or exactly one allocated block;
 *  - the zone's free page count equals the pages on the lists, managed pages = total - reserved, and
 *    free + allocated + reserved = total.
 */
function buddyProblems(m: Machine, allocated: ReadonlyMap<number, number>): string[] {
  const { frames } = m;
  const problems: string[] = [];
  const owner = new Uint8Array(frames.count); // 0 unseen, 1 free, 2 allocated, 3 reserved
  let freeFrames = 0;
  let freeHeads = 0;
  let managedPages = 0;
  // Zones by physical address (zone_sizes_init: DMA below 16 MiB, DMA32 below 4 GiB, Normal above), each with
  // its own free area.
  const zones = refZones(frames.count * REF_PAGE_SIZE);
  const spans = m.buddy.zones.map((z) => [z.name, z.startPfn, z.endPfn]);
  if (JSON.stringify(spans) !== JSON.stringify(zones.map((z) => [z.name, z.start, z.end]))) {
    problems.push(`zones span ${JSON.stringify(spans)}, expected ${JSON.stringify(zones)}`);
  }
  for (const zone of m.buddy.zones) {
    const zoneFreeBefore = freeFrames;
    managedPages += zone.managedPages;
    for (let order = 0; order <= REF_MAX_PAGE_ORDER; order++) {
      let len = 0;
      let prev = NONE;
      for (let pfn = zone.freeHead[order]!; pfn !== NONE; pfn = frames.next[pfn]!) {
        if (++len > frames.count) {
          problems.push(`free list of order ${order} loops`);
          break;
        }
        const size = 2 ** order;
        if (frames.prev[pfn] !== prev) {
          problems.push(`free block ${pfn} (order ${order}): prev is ${frames.prev[pfn]}, expected ${prev}`);
        }
        if (!(frames.flags[pfn]! & BUDDY)) {
          problems.push(`free block ${pfn} on the order-${order} list lacks PG_buddy`);
        }
        if (frames.order[pfn] !== order) {
          problems.push(`free block ${pfn} on the order-${order} list records order ${frames.order[pfn]}`);
        }
        if (pfn % size !== 0) {
          problems.push(`free block ${pfn} is not aligned to its order ${order}`);
        }
        if (pfn < zone.startPfn || pfn + size > zone.endPfn) {
          problems.push(`free block ${pfn} (order ${order}) leaves the zone`);
        }
        for (let p = pfn; p < Math.min(pfn + size, frames.count); p++) {
          if (owner[p] !== 0) {
            problems.push(`frame ${p} is in two free blocks`);
          }
          owner[p] = 1;
        }
        if (order < REF_MAX_PAGE_ORDER) {
          const buddy = pfn ^ size;
          if (
            buddy >= zone.startPfn &&
            buddy + size <= zone.endPfn &&
            frames.flags[buddy]! & BUDDY &&
            frames.order[buddy] === order
          ) {
            problems.push(`free block ${pfn} and its buddy ${buddy} are both free at order ${order} (not merged)`);
          }
        }
        freeFrames += size;
        prev = pfn;
      }
      if (zone.freeTail[order] !== prev) {
        problems.push(`free list of order ${order}: tail is ${zone.freeTail[order]}, last entry ${prev}`);
      }
      if (zone.nrFree[order] !== len) {
        problems.push(`nr_free[${order}] = ${zone.nrFree[order]} but the list holds ${len} blocks`);
      }
      freeHeads += len;
    }
    if (zone.freePages !== freeFrames - zoneFreeBefore) {
      problems.push(
        `zone ${zone.name} free pages = ${zone.freePages} but its free lists hold ${freeFrames - zoneFreeBefore}`,
      );
    }
    // zone_managed_pages: the zone's frames less the reserved first 1 MiB (all of it in DMA).
    const managed = Math.max(0, zone.endPfn - Math.max(zone.startPfn, REF_RESERVED_PAGES));
    if (zone.managedPages !== managed) {
      problems.push(`zone ${zone.name} manages ${zone.managedPages} pages, expected ${managed}`);
    }
  }
  let buddyFlags = 0;
  for (let p = 0; p < frames.count; p++) {
    if (frames.flags[p]! & BUDDY) buddyFlags++;
  }
  if (buddyFlags !== freeHeads) {
    problems.push(`${buddyFlags} frames carry PG_buddy but the free lists hold ${freeHeads} blocks`);
  }
  let reservedFrames = 0;
  for (let p = 0; p < frames.count; p++) {
    const reserved = (frames.flags[p]! & RESERVED) !== 0;
    if (reserved !== p < REF_RESERVED_PAGES) {
      problems.push(
        `frame ${p} ${reserved ? 'carries' : 'lacks'} PG_reserved (the first ${REF_RESERVED_PAGES} are reserved)`,
      );
    }
    if (reserved) {
      if (owner[p] === 1) {
        problems.push(`reserved frame ${p} is in a free block`);
      }
      owner[p] = 3;
      reservedFrames++;
    }
  }
  let allocatedFrames = 0;
  for (const [head, order] of allocated) {
    for (let p = head; p < head + 2 ** order; p++) {
      if (owner[p] === 1) {
        problems.push(`frame ${p} is free and also in the allocated block ${head} (order ${order})`);
      } else if (owner[p] === 3) {
        problems.push(`reserved frame ${p} is in the allocated block ${head} (order ${order})`);
      } else if (owner[p] === 2) {
        problems.push(`frame ${p} is in two allocated blocks`);
      }
      owner[p] = 2;
    }
    allocatedFrames += 2 ** order;
  }
  for (let p = 0; p < frames.count; p++) {
    if (owner[p] === 0) {
      problems.push(`frame ${p} is neither free, allocated nor reserved`);
      break;
    }
  }
  if (m.buddy.nrFreePages !== freeFrames) {
    problems.push(`free pages = ${m.buddy.nrFreePages} but the free lists hold ${freeFrames}`);
  }
  if (managedPages !== frames.count - reservedFrames) {
    problems.push(`managed pages = ${managedPages}, total ${frames.count} - reserved ${reservedFrames}`);
  }
  if (freeFrames + allocatedFrames + reservedFrames !== frames.count) {
    problems.push(
      `free ${freeFrames} + allocated ${allocatedFrames} + reserved ${reservedFrames} != total ${frames.count}`,
    );
  }
  return problems;
}

/** Head pfns of every slab by cache id, found by scanning the frames (not from the caches' counters). */
function slabHeads(m: Machine): Map<number, number[]> {
  const heads = new Map<number, number[]>(m.slub.caches.map((c) => [c.id, []]));
  for (let pfn = 0; pfn < m.frames.count; pfn++) {
    const f = m.frames.flags[pfn]!;
    if (f & SLAB && !(f & TAIL)) {
      const list = heads.get(m.slub.slabCache[pfn]!);
      if (list) {
        list.push(pfn);
      } else {
        heads.set(m.slub.slabCache[pfn]!, [pfn]);
      }
    }
  }
  return heads;
}

/** Walks a free-pointer chain; returns the indices, or a reason when it loops or leaves the slab. */
function walkChain(fp: Int32Array, start: number, objects: number): number[] | string {
  const seen: number[] = [];
  for (let i = start; i !== END; i = fp[i]!) {
    if (i < 0 || i >= objects) {
      return `chain leaves the slab at index ${i}`;
    }
    if (seen.length > objects) {
      return 'chain loops';
    }
    seen.push(i);
  }
  return seen;
}

/**
 * SLUB's invariant for one cache, from the slabs found in the frames. `live` is the number of objects of the
 * cache the test holds. Reasons:
 *  - slabs found = nr_slabs, and sum over slabs of objects = totalObjects;
 *  - in each slab every object is exactly one of: allocated, on the slab freelist, on the owning CPU's freelist;
 *  - slab->inuse = objects - objects on slab->freelist (remote frees lower it on frozen slabs too);
 *  - a frozen slab is the cpu slab of exactly one CPU and on no list; an unfrozen slab's inuse is its
 *    allocated objects, and it is on the node partial list exactly when it has free objects;
 *  - allocated objects = liveObjects = what the test holds.
 * Returns the reasons and the free objects on the node partial list (for slabinfo's active_objs).
 */
function slubProblems(
  m: Machine,
  cache: KmemCache,
  heads: readonly number[],
  live: number,
): { problems: string[]; partialFree: number } {
  const { slub } = m;
  const g = cache.geometry;
  const problems: string[] = [];
  if (heads.length !== cache.nrSlabs) {
    problems.push(`${cache.name}: ${heads.length} slabs in the frames, nr_slabs = ${cache.nrSlabs}`);
  }
  if (heads.length * g.objects !== cache.totalObjects) {
    problems.push(
      `${cache.name}: slabs hold ${heads.length * g.objects} objects, totalObjects = ${cache.totalObjects}`,
    );
  }
  const partial = new Set<number>();
  let partialFree = 0;
  let len = 0;
  for (let pfn = cache.partialHead; pfn !== NONE; pfn = m.frames.next[pfn]!) {
    if (++len > m.frames.count) {
      problems.push(`${cache.name}: partial list loops`);
      break;
    }
    partial.add(pfn);
  }
  if (len !== cache.nrPartial) {
    problems.push(`${cache.name}: partial list holds ${len} slabs, nr_partial = ${cache.nrPartial}`);
  }
  let allocatedTotal = 0;
  for (const head of heads) {
    const fp = slub.freeptrs.get(head);
    if (!fp || fp.length !== g.objects) {
      problems.push(`${cache.name}: slab ${head} has no free-pointer array of ${g.objects} entries`);
      continue;
    }
    let allocated = 0;
    for (const v of fp) {
      if (v === ALLOCATED) allocated++;
    }
    allocatedTotal += allocated;
    const onSlab = walkChain(fp, slub.slabFreelist[head]!, g.objects);
    if (typeof onSlab === 'string') {
      problems.push(`${cache.name}: slab ${head} freelist: ${onSlab}`);
      continue;
    }
    const owners = [...cache.cpuSlab].flatMap((pfn, cpu) => (pfn === head ? [cpu] : []));
    let onCpu: number[] = [];
    if (slub.slabFrozen[head]) {
      if (owners.length !== 1) {
        problems.push(`${cache.name}: frozen slab ${head} is the cpu slab of ${owners.length} CPUs`);
        continue;
      }
      const chain = walkChain(fp, cache.cpuFreelist[owners[0]!]!, g.objects);
      if (typeof chain === 'string') {
        problems.push(`${cache.name}: cpu ${owners[0]} freelist: ${chain}`);
        continue;
      }
      onCpu = chain;
      if (partial.has(head)) {
        problems.push(`${cache.name}: frozen slab ${head} is on the partial list`);
      }
    } else {
      if (owners.length !== 0) {
        problems.push(`${cache.name}: slab ${head} is a cpu slab but not frozen`);
      }
      if (slub.slabInuse[head] !== allocated) {
        problems.push(`${cache.name}: slab ${head} has inuse ${slub.slabInuse[head]}, ${allocated} allocated`);
      }
      if (onSlab.length > 0 && !partial.has(head)) {
        problems.push(`${cache.name}: slab ${head} has ${onSlab.length} free objects but is on no list`);
      }
      if (onSlab.length === 0 && partial.has(head)) {
        problems.push(`${cache.name}: full slab ${head} is on the partial list`);
      }
    }
    // __slab_free() lowers slab->inuse for every free that reaches slab->freelist, frozen or not;
    // get_freelist() resets it to slab->objects when the CPU takes that freelist.
    if (slub.slabInuse[head] !== g.objects - onSlab.length) {
      problems.push(
        `${cache.name}: slab ${head} has inuse ${slub.slabInuse[head]}, ` +
          `${g.objects} objects - ${onSlab.length} on slab->freelist`,
      );
    }
    const all = [...onSlab, ...onCpu];
    if (new Set(all).size !== all.length) {
      problems.push(`${cache.name}: slab ${head} has an object on two freelists`);
    }
    for (const i of all) {
      if (fp[i] === ALLOCATED) {
        problems.push(`${cache.name}: slab ${head} object ${i} is allocated and on a freelist`);
      }
    }
    if (allocated + all.length !== g.objects) {
      problems.push(`${cache.name}: slab ${head}: ${allocated} allocated + ${all.length} free != ${g.objects} objects`);
    }
    if (partial.has(head)) {
      partialFree += onSlab.length;
    }
  }
  for (const pfn of partial) {
    if (!heads.includes(pfn)) {
      problems.push(`${cache.name}: partial list holds ${pfn}, not a slab of this cache`);
    }
  }
  if (allocatedTotal !== cache.liveObjects) {
    problems.push(`${cache.name}: ${allocatedTotal} objects allocated in slabs, liveObjects = ${cache.liveObjects}`);
  }
  if (allocatedTotal !== live) {
    problems.push(`${cache.name}: ${allocatedTotal} objects allocated in slabs, the test holds ${live}`);
  }
  return { problems, partialFree };
}

/** Blocks the page allocator has handed out on the machine: slabs and large kmallocs, head pfn -> order. */
function machineAllocations(m: Machine, heads: ReadonlyMap<number, readonly number[]>): Map<number, number> {
  const blocks = new Map<number, number>();
  for (const cache of m.slub.caches) {
    for (const head of heads.get(cache.id) ?? []) {
      blocks.set(head, cache.geometry.order);
    }
  }
  for (const [pfn, size] of m.largeKmalloc) {
    blocks.set(pfn, refGetOrder(size));
  }
  return blocks;
}

// ---------------------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------------------

describe('machine configuration', () => {
  test('validateConfig reports each problem with its code', () => {
    assert.deepEqual(validateConfig({ memoryBytes: 256 * MiB, cpus: 2 }), []);
    assert.deepEqual(
      validateConfig({ memoryBytes: 15 * MiB, cpus: 2 }).map((e) => e.code),
      ['KM3001'],
    );
    assert.deepEqual(
      validateConfig({ memoryBytes: 16 * MiB + 1, cpus: 2 }).map((e) => e.code),
      ['KM3002'],
    );
    assert.deepEqual(
      validateConfig({ memoryBytes: 16 * MiB, cpus: 0 }).map((e) => e.code),
      ['KM3003'],
    );
    assert.deepEqual(
      validateConfig({ memoryBytes: 65 * 1024 * MiB, cpus: 257 }).map((e) => e.code),
      ['KM3001', 'KM3003'],
    );
    const bad = Machine.boot({ memoryBytes: 1 * MiB, cpus: 1 });
    assert.ok(Array.isArray(bad), 'boot returns the problems instead of a machine');
  });

  test('parseSize and formatSize', () => {
    assert.equal(parseSize('256M'), 256 * MiB);
    assert.equal(parseSize('1g'), 1024 * MiB);
    assert.equal(parseSize('64KiB'), 64 * 1024);
    assert.equal(parseSize('0x1000'), 4096);
    assert.equal(parseSize('4096'), 4096);
    assert.equal(parseSize('12X'), undefined);
    assert.equal(formatSize(256 * MiB), '256M');
    assert.equal(formatSize(4096), '4K');
    assert.equal(formatSize(1000), '1000');
  });
});

// ---------------------------------------------------------------------------------------------------------
// SLUB geometry
// ---------------------------------------------------------------------------------------------------------

describe('SLUB geometry (mm/slub.c calculate_order, 6.12)', () => {
  test('the reference implementation reproduces the published figures', () => {
    // KERNEL-FACTS.md: 2 CPUs kmalloc-192 21/1, kmalloc-1k 16/4, kmalloc-8k 4/8; 64 CPUs kmalloc-1k 32/8.
    const fig = (size: number, cpus: number): [number, number] => {
      const order = refCalculateOrder(size, cpus);
      return [refOrderObjects(order, size), 2 ** order];
    };
    assert.deepEqual(fig(192, 2), [21, 1]);
    assert.deepEqual(fig(1024, 2), [16, 4]);
    assert.deepEqual(fig(8192, 2), [4, 8]);
    assert.deepEqual(fig(1024, 64), [32, 8]);
  });

  for (const cpus of [1, 2, 4, 8, 64, 256]) {
    test(`every kmalloc class on ${cpus} CPU(s) matches calculate_order`, () => {
      const m = boot(16 * MiB, cpus);
      const rows = new Map(slabinfoView(m).caches.map((c) => [c.name, c]));
      for (const objectSize of KMALLOC_CLASSES) {
        const size = refKmallocSlotSize(objectSize);
        const order = refCalculateOrder(size, cpus);
        const expected = {
          objSize: size,
          objPerSlab: refOrderObjects(order, size),
          pagesPerSlab: 2 ** order,
          minPartial: refMinPartial(size),
        };
        const row = rows.get(className(objectSize));
        assert.ok(row, `slabinfo lists ${className(objectSize)}`);
        assert.deepEqual(
          {
            objSize: row.objSize,
            objPerSlab: row.objPerSlab,
            pagesPerSlab: row.pagesPerSlab,
            minPartial: row.minPartial,
          },
          expected,
          `${className(objectSize)} on ${cpus} CPUs`,
        );
        const g = slabGeometry(objectSize, 8, cpus);
        assert.equal(g.objects, expected.objPerSlab, `slabGeometry(${objectSize}).objects on ${cpus} CPUs`);
        assert.equal(2 ** g.order, expected.pagesPerSlab, `slabGeometry(${objectSize}).order on ${cpus} CPUs`);
      }
    });
  }

  test('literal slabinfo figures (2 and 64 CPUs)', () => {
    const figures = (m: Machine, name: string): [number, number] => {
      const row = slabinfoView(m).caches.find((c) => c.name === name)!;
      return [row.objPerSlab, row.pagesPerSlab];
    };
    const two = boot(256 * MiB, 2);
    assert.deepEqual(figures(two, 'kmalloc-192'), [21, 1]);
    assert.deepEqual(figures(two, 'kmalloc-1k'), [16, 4]);
    assert.deepEqual(figures(two, 'kmalloc-8k'), [4, 8]);
    const all2 = Object.fromEntries(slabinfoView(two).caches.map((c) => [c.name, `${c.objPerSlab}/${c.pagesPerSlab}`]));
    assert.deepEqual(all2, {
      'kmalloc-8': '512/1',
      'kmalloc-16': '256/1',
      'kmalloc-32': '128/1',
      'kmalloc-64': '64/1',
      'kmalloc-96': '42/1',
      'kmalloc-128': '32/1',
      'kmalloc-192': '21/1',
      'kmalloc-256': '16/1',
      'kmalloc-512': '16/2',
      'kmalloc-1k': '16/4',
      'kmalloc-2k': '16/8',
      'kmalloc-4k': '8/8',
      'kmalloc-8k': '4/8',
    });
    assert.deepEqual(figures(boot(16 * MiB, 64), 'kmalloc-1k'), [32, 8]);
  });
});

// ---------------------------------------------------------------------------------------------------------
// kmalloc size classes
// ---------------------------------------------------------------------------------------------------------

describe('kmalloc size classes (mm/slab_common.c kmalloc_slab)', () => {
  test('every size 1..8192 goes to the cache the kernel picks', () => {
    const m = boot(256 * MiB, 2);
    for (let size = 1; size <= REF_KMALLOC_MAX_CACHE_SIZE; size++) {
      const expected = REF_KMALLOC_INFO[refKmallocIndex(size)]!;
      const cache = m.kmallocCacheFor(size);
      assert.equal(cache?.name, expected.name, `kmallocCacheFor(${size})`);
      const seq = m.events.length;
      const p = m.kmalloc(size, GFP_KERNEL);
      assert.ok(p >= 0, `kmalloc(${size}) succeeds`);
      assert.equal(m.slub.cacheOf(p)?.name, expected.name, `kmalloc(${size}) returns an object of ${expected.name}`);
      const ev = newEvents(m, seq).find((e) => e.kind === EventKind.Kmalloc)!;
      assert.equal(ev.size, size);
      assert.equal(ev.extra, expected.size);
      assert.equal(m.kfree(p), undefined);
    }
  });

  test('boundaries: 65..96 -> kmalloc-96, 129..192 -> kmalloc-192, powers of two above', () => {
    const m = boot(16 * MiB, 2);
    const name = (size: number): string | undefined => m.kmallocCacheFor(size)?.name;
    const expected: [number, string][] = [
      [1, 'kmalloc-8'],
      [8, 'kmalloc-8'],
      [9, 'kmalloc-16'],
      [17, 'kmalloc-32'],
      [33, 'kmalloc-64'],
      [64, 'kmalloc-64'],
      [65, 'kmalloc-96'],
      [96, 'kmalloc-96'],
      [97, 'kmalloc-128'],
      [128, 'kmalloc-128'],
      [129, 'kmalloc-192'],
      [192, 'kmalloc-192'],
      [193, 'kmalloc-256'],
      [257, 'kmalloc-512'],
      [513, 'kmalloc-1k'],
      [1025, 'kmalloc-2k'],
      [2049, 'kmalloc-4k'],
      [4097, 'kmalloc-8k'],
      [8192, 'kmalloc-8k'],
    ];
    assert.deepEqual(
      expected.map(([size]) => [size, name(size)]),
      expected,
    );
    assert.equal(m.kmallocCacheFor(8193), undefined);
    assert.equal(m.kmallocCacheFor(0), undefined);
  });

  test('sizes above 8 KiB go to the page allocator with order get_order(size)', () => {
    const m = boot(64 * MiB, 2);
    const before = formatBuddyinfo(buddyinfoView(m));
    for (const size of [8193, 12288, 12289, 16384, 16385, 65536, 1 << 20, (1 << 20) + 1, REF_KMALLOC_MAX_SIZE]) {
      const order = refGetOrder(size);
      const free = m.buddy.nrFreePages;
      const seq = m.events.length;
      const p = m.kmalloc(size, GFP_KERNEL);
      assert.ok(p >= 0 && p % REF_PAGE_SIZE === 0, `kmalloc(${size}) returns a page-aligned address`);
      const pfn = p / REF_PAGE_SIZE;
      assert.equal(m.slub.cacheOf(p), undefined, `kmalloc(${size}) is not a slab object`);
      assert.equal(m.buddy.nrFreePages, free - 2 ** order, `kmalloc(${size}) takes 2^${order} pages`);
      assert.equal(m.frames.flags[pfn]! & HEAD, HEAD, 'the block is compound (__GFP_COMP)');
      for (let p2 = pfn + 1; p2 < pfn + 2 ** order; p2++) {
        assert.equal(m.frames.flags[p2]! & TAIL, TAIL, `frame ${p2} is a tail page`);
      }
      const evs = newEvents(m, seq);
      assert.deepEqual(
        evs.map((e) => [e.kind, e.cache, e.addr, e.size, e.extra]),
        [
          [EventKind.PageAlloc, -1, pfn, 0, order],
          [EventKind.Kmalloc, -1, p, size, REF_PAGE_SIZE << order],
        ],
      );
      assert.equal(m.kfree(p), undefined);
      assert.equal(m.buddy.nrFreePages, free);
    }
    assert.equal(formatBuddyinfo(buddyinfoView(m)), before, 'every large kmalloc merged back');
  });

  test('above KMALLOC_MAX_SIZE (4 MiB) kmalloc fails without throwing', () => {
    // __alloc_pages(): WARN_ON_ONCE_GFP(order > MAX_PAGE_ORDER) and NULL, before any page is touched.
    assert.equal(KMALLOC_MAX_SIZE, REF_KMALLOC_MAX_SIZE, 'KMALLOC_MAX_SIZE = 1 << (MAX_PAGE_ORDER + PAGE_SHIFT)');
    const m = boot(64 * MiB, 2);
    for (const size of [REF_KMALLOC_MAX_SIZE + 1, 2 * REF_KMALLOC_MAX_SIZE, 48 * MiB]) {
      const before = snapshot(m);
      assert.equal(m.kmalloc(size, GFP_KERNEL), KMALLOC_FAILED, `kmalloc(${size})`);
      assert.deepEqual(
        newEvents(m, before.events).map((e) => [e.kind, e.cache, e.addr, e.size]),
        [[EventKind.KmallocFail, -1, 0, size]],
      );
      assert.deepEqual(snapshot(m), { ...before, events: before.events + 1 }, `kmalloc(${size}) changed the machine`);
    }
  });

  test('kmalloc(0) returns ZERO_SIZE_PTR and allocates nothing', () => {
    const m = boot(16 * MiB, 2);
    const before = snapshot(m);
    assert.equal(ZERO_SIZE_PTR, 16, 'include/linux/slab.h: ZERO_SIZE_PTR is ((void *)16)');
    assert.equal(m.kmalloc(0, GFP_KERNEL), KMALLOC_ZERO);
    assert.deepEqual(snapshot(m), before);
  });

  test('kmalloc with a negative size fails like the kernel (size_t wraps) and records kmalloc_fail', () => {
    // A scenario can pass any integer. In C, kmalloc(-1) is kmalloc(SIZE_MAX): above KMALLOC_MAX_SIZE, NULL.
    // The event's 32-bit size column keeps the low 32 bits of that size_t.
    const m = boot(16 * MiB, 2);
    for (const size of [-1, -64, -8192, -REF_KMALLOC_MAX_SIZE]) {
      const before = snapshot(m);
      let result: number | undefined;
      assert.doesNotThrow(() => {
        result = m.kmalloc(size, GFP_KERNEL);
      }, `kmalloc(${size}) throws`);
      assert.equal(result, KMALLOC_FAILED, `kmalloc(${size})`);
      assert.deepEqual(
        newEvents(m, before.events).map((e) => [e.kind, e.cache, e.addr, e.size]),
        [[EventKind.KmallocFail, -1, 0, 2 ** 32 + size]],
      );
      assert.deepEqual(snapshot(m), { ...before, events: before.events + 1 }, `kmalloc(${size}) changed the machine`);
    }
  });

  test('kmalloc with a size that is not an integer fails and records kmalloc_fail', () => {
    // C cannot express these; a scenario can. No cache or page is touched.
    const m = boot(16 * MiB, 2);
    for (const size of [0.5, 64.5, 8192.25, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const before = snapshot(m);
      assert.equal(m.kmalloc(size, GFP_KERNEL), KMALLOC_FAILED, `kmalloc(${size})`);
      assert.deepEqual(
        newEvents(m, before.events).map((e) => [e.kind, e.cache, e.addr]),
        [[EventKind.KmallocFail, -1, 0]],
        `kmalloc(${size}) events`,
      );
      assert.deepEqual(snapshot(m), { ...before, events: before.events + 1 }, `kmalloc(${size}) changed the machine`);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// Buddy allocator
// ---------------------------------------------------------------------------------------------------------

describe('boot reservation (arch/x86/kernel/setup.c)', () => {
  test('the first 1 MiB of RAM stays reserved: PG_reserved, never in the buddy allocator', () => {
    // arch/x86/kernel/setup.c, "x86/setup: Always reserve the first 1M of RAM" (Linux 5.13): setup_arch()
    // reserves [0, 1M) unconditionally (x86_platform.realmode_reserve() -> memblock_reserve(0, SZ_1M)), so
    // memblock_free_all() hands the buddy allocator only what lies above it.
    assert.equal(RESERVED_LOW_BYTES, REF_RESERVED_LOW_BYTES);
    assert.equal(REF_RESERVED_PAGES, 256);
    for (const memoryBytes of [16 * MiB, 16 * MiB + 37 * REF_PAGE_SIZE, 256 * MiB]) {
      const m = boot(memoryBytes, 1);
      const total = memoryBytes / REF_PAGE_SIZE;
      const what = formatSize(memoryBytes);
      for (let pfn = 0; pfn < total; pfn++) {
        if (m.frames.flags[pfn]! & RESERVED) {
          assert.ok(pfn < REF_RESERVED_PAGES, `${what}: frame ${pfn} above 1 MiB is reserved`);
          assert.equal(m.frames.flags[pfn], RESERVED, `${what}: reserved frame ${pfn} carries only PG_reserved`);
          assert.equal(m.buddy.findFreeBlock(pfn), undefined, `${what}: reserved frame ${pfn} is in a free block`);
        } else {
          assert.ok(pfn >= REF_RESERVED_PAGES, `${what}: frame ${pfn} below 1 MiB is not reserved`);
        }
      }
      assert.equal(m.buddy.managedPages, total - REF_RESERVED_PAGES, `${what}: managed pages`);
      assert.equal(m.buddy.nrFreePages, total - REF_RESERVED_PAGES, `${what}: free pages`);
      assert.deepEqual(m.buddy.nrFreeByOrder(), refFreshNrFree(memoryBytes), `${what}: buddyinfo`);
      for (const b of refFreshBlocks(memoryBytes)) {
        assert.deepEqual(m.buddy.findFreeBlock(b.pfn), b, `${what}: boot block at ${b.pfn}`);
      }
      assert.deepEqual(buddyProblems(m, new Map()), [], what);
    }

    const m = boot(16 * MiB, 1);
    assert.deepEqual(
      refFreshBlocks(16 * MiB),
      [
        { pfn: 256, order: 8 },
        { pfn: 512, order: 9 },
        { pfn: 1024, order: 10 },
        { pfn: 2048, order: 10 },
        { pfn: 3072, order: 10 },
      ],
      'frames 256..511 as one order-8 block, 512..1023 as one order-9 block, then 4 MiB blocks',
    );
    // The first allocations land just above the reservation.
    const obj = m.kmalloc(64, GFP_KERNEL);
    assert.equal(obj, REF_RESERVED_LOW_BYTES, 'the first slab is the first frame above 1 MiB');
    assert.equal(m.buddy.allocPages(0, false), REF_RESERVED_PAGES + 1);
    // A reserved frame cannot be freed, and its address is neither free memory nor anything kmalloc returned.
    for (const pfn of [0, 1, REF_RESERVED_PAGES - 1]) {
      const before = snapshot(m);
      assert.equal(m.buddy.freePages(pfn, 0), 'reserved page', `free_pages(${pfn}, 0)`);
      assert.equal(m.kfree(pfn * REF_PAGE_SIZE + REF_PAGE_SIZE / 2)?.code, 'KM4003', `kfree inside frame ${pfn}`);
      assert.deepEqual(snapshot(m), before, `freeing reserved frame ${pfn} changed the machine`);
      assert.equal(addressView(m, pfn * REF_PAGE_SIZE).state, 'reserved');
    }
    assert.equal(addressView(m, REF_RESERVED_LOW_BYTES - 1).state, 'reserved');
    assert.equal(addressView(m, REF_RESERVED_LOW_BYTES).state, 'slab object');
    // Nothing ever merges into the reservation: the order-8 and order-9 blocks' buddies (256 ^ 256 = 0,
    // 512 ^ 512 = 0) are reserved. Take every free page, give every one back: only the slab page is missing.
    assert.equal(m.kfree(obj), undefined);
    const pages: number[] = [];
    for (let pfn = m.buddy.allocPages(0, false); pfn !== NONE; pfn = m.buddy.allocPages(0, false)) {
      pages.push(pfn);
    }
    assert.equal(m.buddy.nrFreePages, 0);
    const slab = cacheNamed(m, 'kmalloc-64');
    assert.equal(
      pages.length,
      4096 - REF_RESERVED_PAGES - 1 - slab.nrSlabs,
      'every frame above 1 MiB but the slab and page 257',
    );
    assert.ok(
      pages.every((pfn) => pfn >= REF_RESERVED_PAGES),
      'no page below 1 MiB is handed out',
    );
    for (const pfn of [...pages, REF_RESERVED_PAGES + 1]) {
      assert.equal(m.buddy.freePages(pfn, 0), undefined, `free_pages(${pfn}, 0)`);
    }
    // Only the kmalloc-64 slab at 256 is still allocated: 257..511 are one free block per order 0..7.
    assert.deepEqual(m.buddy.nrFreeByOrder(), [1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 3]);
    assert.deepEqual(buddyProblems(m, new Map([[REF_RESERVED_PAGES, 0]])), []);
  });
});

describe('buddy allocator (mm/page_alloc.c)', () => {
  test('a fresh machine holds everything above the reserved 1 MiB in the largest aligned blocks', () => {
    const m = boot(256 * MiB, 2);
    // 256..511 (order 8), 512..1023 (order 9), then only 4 MiB blocks: 64 - 1 of them.
    assert.deepEqual(m.buddy.nrFreeByOrder(), [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 63]);
    assert.deepEqual(m.buddy.nrFreeByOrder(), refFreshNrFree(256 * MiB));
    // Per zone: DMA (below 16 MiB) has the order-8 and order-9 blocks and 3 of the 4 MiB blocks, DMA32 the
    // other (256 - 16) / 4 = 60.
    assert.deepEqual(zoneNrFree(m), refFreshZoneNrFree(256 * MiB));
    assert.deepEqual(
      zoneNrFree(m),
      new Map([
        ['DMA', [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 3]],
        ['DMA32', [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 60]],
      ]),
    );
    for (const b of refFreshBlocks(256 * MiB)) {
      if (b.pfn >= 1024) assert.equal(b.order, REF_MAX_PAGE_ORDER, `above 4 MiB only 4 MiB blocks (${b.pfn})`);
      assert.deepEqual(m.buddy.findFreeBlock(b.pfn), b);
    }
    assert.equal(m.buddy.nrFreePages, 65536 - REF_RESERVED_PAGES);
    assert.equal(m.buddy.managedPages, 65536 - REF_RESERVED_PAGES);
    assert.deepEqual(buddyProblems(m, new Map()), []);
  });

  test('a machine that is not a multiple of 4 MiB keeps its tail as smaller aligned blocks', () => {
    const memoryBytes = 16 * MiB + 5 * REF_PAGE_SIZE + 2 * 64 * 1024;
    const m = boot(memoryBytes, 1);
    // 4096 + 32 + 5 frames, the first 256 reserved: order 8 and order 9 up to 4 MiB, three order-10 blocks,
    // then 32 = one order-5, then 5 = order 2 + order 0.
    assert.deepEqual(m.buddy.nrFreeByOrder(), [1, 0, 1, 0, 0, 1, 0, 0, 1, 1, 3]);
    assert.deepEqual(m.buddy.nrFreeByOrder(), refFreshNrFree(memoryBytes));
    // The 37 frames above 16 MiB are the whole DMA32 zone.
    assert.deepEqual(zoneNrFree(m), refFreshZoneNrFree(memoryBytes));
    assert.deepEqual(
      zoneNrFree(m),
      new Map([
        ['DMA', [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 3]],
        ['DMA32', [1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0]],
      ]),
    );
    assert.deepEqual(refFreshBlocks(memoryBytes).slice(-3), [
      { pfn: 4096, order: 5 },
      { pfn: 4128, order: 2 },
      { pfn: 4132, order: 0 },
    ]);
    for (const b of refFreshBlocks(memoryBytes)) {
      assert.deepEqual(m.buddy.findFreeBlock(b.pfn), b);
    }
    assert.deepEqual(buddyProblems(m, new Map()), []);
  });

  test('order 0 splits the smallest free block of its zone into one free block per lower order; free merges back', () => {
    const m = boot(256 * MiB, 2);
    const before = formatBuddyinfo(buddyinfoView(m));
    const fresh = refFreshZoneNrFree(256 * MiB);
    const upTo = (n: number): number[] => Array.from({ length: n }, (_, o) => o);
    assert.deepEqual([...fresh.keys()], ['DMA', 'DMA32'], 'below 4 GiB: no Normal zone');
    assert.deepEqual(zoneNrFree(m), fresh);

    // GFP_KERNEL: gfp_zone() = ZONE_NORMAL, which is empty on 256M, so the zonelist walk starts at DMA32. It
    // holds only 4 MiB blocks (from MAX_DMA_PFN up, queued in address order at boot): __rmqueue_smallest()
    // takes the lowest and expand() splits it into one free block per order 0..9.
    const top = m.buddy.allocPages(0, false, GFP_KERNEL);
    assert.equal(top, REF_MAX_DMA_PFN, 'the first 4 MiB block of DMA32 (16 MiB) is split');
    assert.deepEqual(zoneNrFree(m).get('DMA32'), nrFreeWith(fresh.get('DMA32')!, upTo(10), [10]));
    assert.deepEqual(zoneNrFree(m).get('DMA32'), [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 59]);
    assert.deepEqual(zoneNrFree(m).get('DMA'), fresh.get('DMA'), 'the DMA zone is untouched');
    for (let order = 0; order < 10; order++) {
      // expand(): the upper half at each step, i.e. pfn top + 2^order, stays free as a block of that order.
      assert.deepEqual(m.buddy.findFreeBlock(top + 2 ** order), { pfn: top + 2 ** order, order });
    }
    assert.deepEqual(buddyProblems(m, new Map([[top, 0]])), []);
    assert.equal(m.buddy.freePages(top, 0), undefined);
    assert.equal(formatBuddyinfo(buddyinfoView(m)), before);
    assert.deepEqual(buddyProblems(m, new Map()), []);

    // GFP_DMA: only the DMA zone, whose smallest block is the order-8 block just above the reserved 1 MiB.
    const low = REF_RESERVED_PAGES;
    const pfn = m.buddy.allocPages(0, false, GFP_DMA);
    assert.equal(pfn, low, 'the order-8 block at the end of the reservation is split first');
    assert.deepEqual(zoneNrFree(m).get('DMA'), nrFreeWith(fresh.get('DMA')!, upTo(8), [8]));
    assert.deepEqual(zoneNrFree(m).get('DMA'), [1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 3]);
    assert.deepEqual(zoneNrFree(m).get('DMA32'), fresh.get('DMA32'), 'the DMA32 zone is untouched');
    assert.deepEqual(m.buddy.nrFreeByOrder(), [1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 63], 'summed over the zones');
    for (let order = 0; order < 8; order++) {
      assert.deepEqual(m.buddy.findFreeBlock(low + 2 ** order), { pfn: low + 2 ** order, order });
    }
    assert.deepEqual(buddyProblems(m, new Map([[low, 0]])), []);
    assert.equal(m.buddy.freePages(pfn, 0), undefined);
    assert.equal(formatBuddyinfo(buddyinfoView(m)), before);
    assert.deepEqual(buddyProblems(m, new Map()), []);

    // With the DMA blocks below 4 MiB taken, GFP_DMA order 0 splits DMA's lowest 4 MiB block.
    const below = [m.buddy.allocPages(8, false, GFP_DMA), m.buddy.allocPages(9, false, GFP_DMA)];
    assert.deepEqual(below, [256, 512]);
    const dmaTop = m.buddy.allocPages(0, false, GFP_DMA);
    assert.equal(dmaTop, 1024, 'boot queued the 4 MiB blocks in address order, so the lowest one is split first');
    assert.deepEqual(zoneNrFree(m).get('DMA'), nrFreeWith(fresh.get('DMA')!, upTo(10), [8, 9, 10]));
    assert.deepEqual(zoneNrFree(m).get('DMA'), [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2]);
    assert.deepEqual(zoneNrFree(m).get('DMA32'), fresh.get('DMA32'));
    assert.deepEqual(m.buddy.nrFreeByOrder(), [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 62]);
    for (let order = 0; order < 10; order++) {
      assert.deepEqual(m.buddy.findFreeBlock(dmaTop + 2 ** order), { pfn: dmaTop + 2 ** order, order });
    }
    const held = new Map([
      [256, 8],
      [512, 9],
      [dmaTop, 0],
    ]);
    assert.deepEqual(buddyProblems(m, held), []);
    for (const [head, order] of held) {
      assert.equal(m.buddy.freePages(head, order), undefined);
    }
    assert.equal(formatBuddyinfo(buddyinfoView(m)), before);
    assert.deepEqual(buddyProblems(m, new Map()), []);
  });

  test('blocks merge only with their buddy, pfn ^ (1 << order)', () => {
    const m = boot(16 * MiB, 1);
    // The order-8 block at B = 256 (first frame above the reserved 1 MiB) is split; B is 256-aligned, so
    // the buddies below are those of pages 0..7.
    const B = REF_RESERVED_PAGES;
    const pages: number[] = [];
    for (let i = 0; i < 8; i++) {
      pages.push(m.buddy.allocPages(0, false));
    }
    assert.deepEqual(
      pages,
      [0, 1, 2, 3, 4, 5, 6, 7].map((i) => B + i),
    );
    const held = new Map(pages.map((p) => [p, 0]));
    const free = (pfn: number): void => {
      assert.equal(m.buddy.freePages(pfn, 0), undefined);
      held.delete(pfn);
      assert.deepEqual(buddyProblems(m, held), []);
    };
    free(B + 2);
    assert.deepEqual(m.buddy.findFreeBlock(B + 2), { pfn: B + 2, order: 0 }, 'buddy B+3 is allocated: no merge');
    free(B + 3);
    assert.deepEqual(m.buddy.findFreeBlock(B + 2), { pfn: B + 2, order: 1 }, '(B+3) ^ 1 = B+2: merged to order 1');
    free(B + 4);
    free(B + 5);
    assert.deepEqual(m.buddy.findFreeBlock(B + 4), { pfn: B + 4, order: 1 });
    assert.deepEqual(
      m.buddy.findFreeBlock(B + 2),
      { pfn: B + 2, order: 1 },
      'B+2 and B+4 are adjacent free order-1 blocks but (B+2) ^ 2 = B, not B+4: they stay apart',
    );
    free(B + 0);
    free(B + 1);
    assert.deepEqual(
      m.buddy.findFreeBlock(B),
      { pfn: B, order: 2 },
      'B+0 and B+1 -> order 1, then B ^ 2 = B+2 -> order 2',
    );
    assert.deepEqual(m.buddy.findFreeBlock(B + 4), { pfn: B + 4, order: 1 }, 'B+4 is order 1, B is order 2: no merge');
    free(B + 6);
    free(B + 7);
    assert.deepEqual(
      m.buddy.findFreeBlock(B),
      { pfn: B, order: 8 },
      'everything merged back to order 8, and no further: its buddy 256 ^ 256 = 0 is reserved',
    );
    assert.deepEqual(m.buddy.nrFreeByOrder(), [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 3]);
    assert.deepEqual(m.buddy.nrFreeByOrder(), refFreshNrFree(16 * MiB));
  });

  test('exhaustion returns NONE, never throws', () => {
    const m = boot(16 * MiB, 1);
    const boot16 = refFreshBlocks(16 * MiB);
    const blocks: number[] = [];
    for (let pfn = m.buddy.allocPages(10, true); pfn !== NONE; pfn = m.buddy.allocPages(10, true)) {
      blocks.push(pfn);
    }
    assert.deepEqual(blocks, [1024, 2048, 3072]);
    assert.deepEqual(
      blocks,
      boot16.filter((b) => b.order === 10).map((b) => b.pfn),
    );
    assert.equal(m.buddy.nrFreePages, 768, 'order 10 fails while the order-8 and order-9 blocks below 4 MiB are free');
    assert.equal(m.buddy.allocPages(9, true), 512);
    assert.equal(m.buddy.allocPages(8, true), 256);
    assert.equal(m.buddy.allocPages(10, true), NONE);
    assert.equal(m.buddy.allocPages(0, false), NONE);
    assert.equal(m.buddy.allocPages(REF_MAX_PAGE_ORDER + 1, false), NONE, 'order above MAX_PAGE_ORDER');
    assert.equal(m.buddy.nrFreePages, 0);
    assert.deepEqual(buddyProblems(m, new Map(boot16.map((b) => [b.pfn, b.order]))), []);
    for (const b of boot16) {
      assert.equal(m.buddy.freePages(b.pfn, b.order), undefined);
    }
    assert.deepEqual(m.buddy.nrFreeByOrder(), [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 3]);
  });

  test('kmalloc on an exhausted machine fails and records kmalloc_fail', () => {
    const m = boot(16 * MiB, 1);
    // Every free block as one large kmalloc of its size, largest first: three 4 MiB, then 2 MiB and 1 MiB.
    const blocks = refFreshBlocks(16 * MiB).sort((a, b) => b.order - a.order);
    for (const b of blocks) {
      assert.equal(m.kmalloc(REF_PAGE_SIZE << b.order, GFP_KERNEL), b.pfn * REF_PAGE_SIZE, `order-${b.order} block`);
    }
    assert.equal(m.buddy.nrFreePages, 0);
    const seq = m.events.length;
    assert.equal(m.kmalloc(64, GFP_KERNEL), KMALLOC_FAILED);
    assert.equal(m.kmalloc(20000, GFP_KERNEL), KMALLOC_FAILED);
    assert.deepEqual(
      newEvents(m, seq).map((e) => [e.kind, e.cache, e.size]),
      [
        [EventKind.KmallocFail, cacheNamed(m, 'kmalloc-64').id, 64],
        [EventKind.KmallocFail, -1, 20000],
      ],
    );
  });

  test('bad frees return a reason and change nothing', () => {
    const m = boot(16 * MiB, 1);
    const compound = m.buddy.allocPages(2, true);
    const single = m.buddy.allocPages(0, false);
    const freed = m.buddy.allocPages(1, false);
    assert.equal(m.buddy.freePages(freed, 1), undefined);
    const slabObj = m.kmalloc(64, GFP_KERNEL);
    const slabPfn = Math.floor(slabObj / REF_PAGE_SIZE);
    const plain = m.buddy.allocPages(2, false);
    const cases: [string, number, number, string][] = [
      ['double free', freed, 1, 'page already free'],
      ['free of a page inside a free block', 4000, 0, 'page already free'],
      ['wrong order (too small)', compound, 1, 'wrong order'],
      ['wrong order (too large)', compound, 3, 'wrong order'],
      ['wrong order of a single page', single, 1, 'wrong order'],
      ['tail page of a compound block', compound + 1, 0, 'not the head of an allocation'],
      ['last tail page of a compound block', compound + 3, 0, 'not the head of an allocation'],
      ['inner page of a non-compound block', plain + 1, 0, 'not the head of an allocation'],
      ['last page of a non-compound block', plain + 3, 0, 'not the head of an allocation'],
      ['slab page', slabPfn, 0, 'slab page'],
      ['first reserved page', 0, 0, 'reserved page'],
      ['last reserved page (below 1 MiB)', REF_RESERVED_PAGES - 1, 0, 'reserved page'],
      ['pfn beyond the zone', 4096, 0, 'pfn outside the zone'],
      ['negative pfn', -1, 0, 'pfn outside the zone'],
    ];
    for (const [what, pfn, order, reason] of cases) {
      const before = snapshot(m);
      assert.equal(m.buddy.freePages(pfn, order), reason, what);
      assert.deepEqual(snapshot(m), before, `${what} changed the machine`);
    }
  });

  test('freeing an inner page of a non-compound high-order block is refused: only its first page holds a reference', () => {
    // Only the first page of a non-compound order-n allocation holds a reference (set_page_refcounted);
    // __free_pages() on any other page finds refcount 0 (VM_BUG_ON_PAGE with CONFIG_DEBUG_VM) and frees
    // nothing.
    const m = boot(16 * MiB, 1);
    const pfn = m.buddy.allocPages(2, false);
    assert.deepEqual(
      Array.from(m.frames.refcount.subarray(pfn, pfn + 4)),
      [1, 0, 0, 0],
      'page_count() is 1 on the first page only',
    );
    for (const [inner, order] of [
      [pfn + 1, 0],
      [pfn + 2, 0],
      [pfn + 3, 0],
      [pfn + 2, 1],
    ] as const) {
      const before = snapshot(m);
      assert.equal(
        m.buddy.freePages(inner, order),
        'not the head of an allocation',
        `free_pages(pfn + ${inner - pfn}, ${order}) of an order-2 block`,
      );
      assert.deepEqual(snapshot(m), before);
      assert.deepEqual(buddyProblems(m, new Map([[pfn, 2]])), []);
    }
    assert.equal(m.buddy.freePages(pfn, 2), undefined, 'the first page frees the block');
    assert.equal(m.frames.refcount[pfn], 0);
    assert.deepEqual(buddyProblems(m, new Map()), []);
    assert.deepEqual(m.buddy.nrFreeByOrder(), refFreshNrFree(16 * MiB));
  });

  test('property: random alloc/free sequences keep the free lists exact', (t) => {
    t.diagnostic(`fast-check seed ${FC_SEED} (set FC_SEED to change)`);
    type Op =
      | { kind: 'alloc'; order: number; compound: boolean; gfp: number }
      | { kind: 'free'; pick: number }
      | { kind: 'bad'; pick: number; how: 'double' | 'inside-free' | 'wrong-order' | 'inner' };
    const op: fc.Arbitrary<Op> = fc.oneof(
      {
        weight: 5,
        arbitrary: fc.record({
          kind: fc.constant('alloc' as const),
          order: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: REF_MAX_PAGE_ORDER })),
          compound: fc.boolean(),
          gfp: fc.constantFrom(0, GFP_KERNEL, GFP_DMA, GFP_DMA32, GFP_KERNEL | GFP_DMA, GFP_KERNEL | GFP_DMA32),
        }),
      },
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('free' as const), pick: fc.nat() }) },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('bad' as const),
          pick: fc.nat(),
          how: fc.constantFrom('double' as const, 'inside-free' as const, 'wrong-order' as const, 'inner' as const),
        }),
      },
    );
    const seen = { ops: 0, allocs: 0, failures: 0, fallbacks: 0, frees: 0, badFrees: 0 };
    fc.assert(
      fc.property(fc.array(op, { maxLength: 250, size: 'max' }), (ops) => {
        // 16 MiB + 37 pages: the DMA zone holds everything below 16 MiB, the DMA32 zone only the 37 frames
        // above, so it ends inside a 4 MiB block and merges meet its end; small DMA32 blocks make
        // allocations fall back to DMA often.
        const memoryBytes = 16 * MiB + 37 * REF_PAGE_SIZE;
        const m = boot(memoryBytes, 1);
        const zones = refZones(memoryBytes);
        seen.ops += ops.length;
        const held = new Map<number, { order: number; compound: boolean }>();
        const freed: { pfn: number; order: number }[] = [];
        const heldOrders = (): Map<number, number> => new Map([...held].map(([pfn, b]) => [pfn, b.order]));
        for (const o of ops) {
          if (o.kind === 'alloc') {
            const free = m.buddy.nrFreePages;
            // The zonelist walk: from gfp_zone() down to DMA, the first zone with a block of this order or
            // above (no watermarks or lowmem_reserve in the model).
            const highest = refGfpZone(o.gfp);
            let expected: RefZoneName | undefined;
            for (let z = highest; z >= 0 && expected === undefined; z--) {
              const avail = Array.from(zoneNamed(m, REF_ZONE_NAMES[z]!).nrFree).slice(o.order);
              if (avail.some((n) => n > 0)) expected = REF_ZONE_NAMES[z];
            }
            const pfn = m.buddy.allocPages(o.order, o.compound, o.gfp);
            seen.allocs++;
            if (pfn === NONE) {
              seen.failures++;
              // Only when no zone the mask allows has a block of this order or above.
              assert.equal(expected, undefined, `order ${o.order} with gfp ${o.gfp} failed, ${expected} has a block`);
              assert.equal(m.buddy.nrFreePages, free);
            } else {
              assert.ok(!held.has(pfn), `block ${pfn} handed out twice`);
              assert.equal(pfn % 2 ** o.order, 0, `block ${pfn} of order ${o.order} is aligned`);
              const zone = zones.find((z) => z.name === expected);
              assert.ok(
                zone && pfn >= zone.start && pfn + 2 ** o.order <= zone.end,
                `order ${o.order} with gfp ${o.gfp} came from ${refZoneOf(pfn)}, not ${expected}`,
              );
              // A fallback: the block comes from below the highest populated zone the mask allows.
              const populated = zones.filter((z, i) => i <= highest && z.end > z.start);
              if (expected !== populated.at(-1)!.name) seen.fallbacks++;
              held.set(pfn, { order: o.order, compound: o.compound });
            }
          } else if (o.kind === 'free') {
            if (held.size === 0) continue;
            const [pfn, b] = [...held][o.pick % held.size]!;
            assert.equal(m.buddy.freePages(pfn, b.order), undefined, `free of ${pfn} order ${b.order}`);
            held.delete(pfn);
            freed.push({ pfn, order: b.order });
            seen.frees++;
          } else {
            let target: { pfn: number; order: number } | undefined;
            const covered = (pfn: number): boolean => [...held].some(([h, b]) => pfn >= h && pfn < h + 2 ** b.order);
            if (o.how === 'double') {
              const f = freed[o.pick % Math.max(1, freed.length)];
              if (f && !covered(f.pfn)) target = f;
            } else if (o.how === 'inside-free') {
              // Any frame nobody holds: inside a free block, or one of the reserved first 1 MiB.
              const pfn = o.pick % m.frames.count;
              if (!covered(pfn)) target = { pfn, order: 0 };
            } else if (held.size > 0) {
              const [h, b] = [...held][o.pick % held.size]!;
              if (o.how === 'wrong-order') {
                target = { pfn: h, order: b.order === 0 ? 1 : b.order - 1 };
              } else if (b.order > 0) {
                // A tail page of a compound block, or an inner page (refcount 0) of a non-compound one.
                target = { pfn: h + 1 + (o.pick % (2 ** b.order - 1)), order: 0 };
              }
            }
            if (target) {
              seen.badFrees++;
              const before = snapshot(m);
              const reason = m.buddy.freePages(target.pfn, target.order);
              assert.notEqual(reason, undefined, `bad free (${o.how}) of ${target.pfn} order ${target.order} accepted`);
              assert.deepEqual(snapshot(m), before, `bad free (${o.how}) changed the allocator`);
            }
          }
          assert.deepEqual(buddyProblems(m, heldOrders()), [], `after ${JSON.stringify(o)}`);
        }
        for (const [pfn, b] of held) {
          assert.equal(m.buddy.freePages(pfn, b.order), undefined);
        }
        // Everything free again: the boot layout is back (above the reserved 1 MiB: order 8, order 9, three
        // order-10 blocks, then the 37 pages as order 5 + order 2 + order 0).
        assert.deepEqual(m.buddy.nrFreeByOrder(), [1, 0, 1, 0, 0, 1, 0, 0, 1, 1, 3]);
        assert.deepEqual(m.buddy.nrFreeByOrder(), refFreshNrFree(memoryBytes));
        assert.deepEqual(zoneNrFree(m), refFreshZoneNrFree(memoryBytes));
      }),
      { seed: FC_SEED, numRuns: 40 },
    );
    t.diagnostic(`covered: ${JSON.stringify(seen)}`);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Zones
// ---------------------------------------------------------------------------------------------------------

describe('zones (arch/x86/mm/init.c zone_sizes_init, include/linux/gfp.h gfp_zone)', () => {
  const GiB = 1024 * MiB;
  /** The first 4 MiB block boot queued in a zone of a fresh machine. */
  const firstTopBlock = (memoryBytes: number, zone: RefZoneName): number =>
    refFreshZoneBlocks(memoryBytes)
      .get(zone)!
      .find((b) => b.order === REF_MAX_PAGE_ORDER)!.pfn;

  test('DMA below 16 MiB, DMA32 below 4 GiB, Normal above; /proc/buddyinfo prints the populated zones', () => {
    assert.equal(REF_MAX_DMA_PFN, 4096);
    assert.equal(REF_MAX_DMA32_PFN, 1048576);
    const cases: [number, string[]][] = [
      [16 * MiB, ['DMA']],
      [16 * MiB + 37 * REF_PAGE_SIZE, ['DMA', 'DMA32']],
      [256 * MiB, ['DMA', 'DMA32']],
      [4 * GiB, ['DMA', 'DMA32']],
      [4 * GiB + REF_PAGE_SIZE, ['DMA', 'DMA32', 'Normal']],
      [6 * GiB, ['DMA', 'DMA32', 'Normal']],
    ];
    for (const [memoryBytes, populated] of cases) {
      const m = boot(memoryBytes, 1);
      const what = formatSize(memoryBytes);
      const zones = refZones(memoryBytes);
      assert.deepEqual(
        zones.filter((z) => z.end > z.start).map((z) => z.name),
        populated,
        `${what}: reference populated zones`,
      );
      assert.deepEqual(
        m.buddy.zones.map((z) => ({ name: z.name, start: z.startPfn, end: z.endPfn })),
        zones,
        `${what}: zone spans`,
      );
      assert.deepEqual(
        m.buddy.populatedZones().map((z) => z.name),
        populated,
        `${what}: populated zones`,
      );
      const blocks = refFreshZoneBlocks(memoryBytes);
      for (const z of zones) {
        const managed = blocks.get(z.name)!.reduce((n, b) => n + 2 ** b.order, 0);
        assert.equal(managed, Math.max(0, z.end - Math.max(z.start, REF_RESERVED_PAGES)), `${what}: ${z.name} size`);
        assert.equal(zoneNamed(m, z.name).managedPages, managed, `${what}: ${z.name} managed pages`);
        assert.equal(zoneNamed(m, z.name).freePages, managed, `${what}: ${z.name} free pages`);
        for (const b of blocks.get(z.name)!) {
          assert.deepEqual(m.buddy.findFreeBlock(b.pfn), b, `${what}: boot block at ${b.pfn}`);
        }
      }
      assert.deepEqual(zoneNrFree(m), refFreshZoneNrFree(memoryBytes), `${what}: nr_free per zone`);
      assert.equal(formatBuddyinfo(buddyinfoView(m)), refBuddyinfo(refFreshZoneNrFree(memoryBytes)), what);
      assert.deepEqual(
        buddyinfoView(m).zones.map((z) => [z.zone, z.freePages, z.managedPages]),
        populated.map((name) => [
          name,
          zoneNamed(m, name as RefZoneName).freePages,
          zoneNamed(m, name as RefZoneName).managedPages,
        ]),
        `${what}: buddyinfo view`,
      );
      assert.deepEqual(buddyProblems(m, new Map()), [], what);
    }

    const line = (zone: string, nrFree: number[]): string =>
      `Node 0, zone ${zone.padStart(8)}${nrFree.map((n) => String(n).padStart(7)).join('')} \n`;
    const dma = 'Node 0, zone      DMA      0      0      0      0      0      0      0      0      1      1      3 \n';
    assert.equal(line('DMA', [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 3]), dma);
    // 16M: DMA only. 256M: DMA32 holds (256 - 16) / 4 = 60 blocks of 4 MiB. 6G: DMA32 holds (4096 - 16) / 4 =
    // 1020, Normal (6144 - 4096) / 4 = 512.
    assert.equal(formatBuddyinfo(buddyinfoView(boot(16 * MiB, 1))), dma);
    assert.equal(
      formatBuddyinfo(buddyinfoView(boot(256 * MiB, 1))),
      dma + 'Node 0, zone    DMA32      0      0      0      0      0      0      0      0      0      0     60 \n',
    );
    assert.equal(
      formatBuddyinfo(buddyinfoView(boot(6 * GiB, 1))),
      dma +
        'Node 0, zone    DMA32      0      0      0      0      0      0      0      0      0      0   1020 \n' +
        'Node 0, zone   Normal      0      0      0      0      0      0      0      0      0      0    512 \n',
    );
  });

  test('GFP_KERNEL starts at the highest populated zone and falls back down to the first zone with a block of the order', () => {
    // gfp_zone(GFP_KERNEL) = ZONE_NORMAL. The node's zonelist (mm/page_alloc.c build_zonelists) runs from the
    // highest zone down, Normal -> DMA32 -> DMA, and get_page_from_freelist() takes the first zone whose
    // free_area can serve the order (watermarks and lowmem_reserve are not modelled).
    assert.equal(refGfpZone(GFP_KERNEL), 2);
    const memoryBytes = 6 * GiB;
    const m = boot(memoryBytes, 2);
    const fresh = refFreshZoneNrFree(memoryBytes);
    const dma = zoneNamed(m, 'DMA');
    const dma32 = zoneNamed(m, 'DMA32');
    const normal = zoneNamed(m, 'Normal');
    const held = new Map<number, number>();
    const alloc = (order: number): number => {
      const pfn = m.buddy.allocPages(order, true, GFP_KERNEL);
      if (pfn !== NONE) held.set(pfn, order);
      return pfn;
    };

    assert.equal(alloc(0), REF_MAX_DMA32_PFN, 'the first frame above 4 GiB, the start of Normal');
    // Normal's other 511 blocks of 4 MiB, in address order; Normal keeps 1023 free pages as orders 0..9.
    const normalTop = Array.from({ length: 511 }, () => alloc(10));
    assert.deepEqual(
      normalTop,
      refFreshZoneBlocks(memoryBytes)
        .get('Normal')!
        .slice(1)
        .map((b) => b.pfn),
    );
    assert.deepEqual(Array.from(normal.nrFree), [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]);
    assert.equal(normal.freePages, 1023);
    // Order 10 falls back to DMA32 although Normal has free pages; order 9 still comes from Normal.
    assert.equal(alloc(10), REF_MAX_DMA_PFN, 'the first 4 MiB block of DMA32');
    assert.equal(normal.freePages, 1023);
    assert.equal(alloc(9), REF_MAX_DMA32_PFN + 512);
    // DMA32's other 1019 blocks; then order 10 falls back to DMA, the last zone.
    const dma32Top = Array.from({ length: 1019 }, () => alloc(10));
    assert.deepEqual(
      [REF_MAX_DMA_PFN, ...dma32Top],
      refFreshZoneBlocks(memoryBytes)
        .get('DMA32')!
        .map((b) => b.pfn),
    );
    assert.equal(dma32.freePages, 0);
    assert.deepEqual(Array.from(dma.nrFree), fresh.get('DMA'), 'DMA untouched while DMA32 could serve');
    assert.deepEqual([alloc(10), alloc(10), alloc(10)], [1024, 2048, 3072]);
    assert.equal(alloc(10), NONE, 'no zone has a 4 MiB block left');
    // Order 9: gone from Normal, none in DMA32, so DMA's order-9 block at 2 MiB. Order 8 is back in Normal.
    assert.equal(alloc(9), 512);
    assert.equal(alloc(8), REF_MAX_DMA32_PFN + 256);
    assert.equal(normal.freePages, 255);
    assert.deepEqual(Array.from(dma.nrFree), [0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0]);
    // A 4 MiB kmalloc fails and records kmalloc_fail with 511 pages free in Normal and DMA.
    assert.equal(m.buddy.nrFreePages, 255 + 256);
    const seq = m.events.length;
    assert.equal(m.kmalloc(4 * MiB, GFP_KERNEL), KMALLOC_FAILED);
    assert.deepEqual(
      newEvents(m, seq).map((e) => [e.kind, e.cache, e.size, e.extra]),
      [[EventKind.KmallocFail, -1, 4 * MiB, 10]],
    );
    for (const [pfn, order] of held) {
      assert.equal(m.buddy.freePages(pfn, order), undefined, `free_pages(${pfn}, ${order})`);
    }
    assert.deepEqual(zoneNrFree(m), fresh, 'everything merged back in its own zone');

    // Below 4 GiB the Normal zone is empty and the walk starts at DMA32. On 16M + 37 pages DMA32 is those 37
    // frames (order 5 at 4096, order 2 at 4128, order 0 at 4132): what they cannot serve comes from DMA.
    const small = boot(16 * MiB + 37 * REF_PAGE_SIZE, 1);
    assert.equal(small.buddy.allocPages(0, false, GFP_KERNEL), 4132);
    assert.equal(small.buddy.allocPages(6, false, GFP_KERNEL), REF_RESERVED_PAGES, 'no order-6 block in DMA32');
    assert.equal(small.buddy.allocPages(5, false, GFP_KERNEL), 4096);
    assert.equal(small.buddy.allocPages(2, false, GFP_KERNEL), 4128);
    assert.equal(zoneNamed(small, 'DMA32').freePages, 0);
    assert.equal(
      small.buddy.allocPages(0, false, GFP_KERNEL),
      REF_RESERVED_PAGES + 64,
      'DMA32 empty: DMA, splitting the order-6 half left of its order-8 block',
    );
    assert.equal(boot(256 * MiB, 1).buddy.allocPages(0, false, GFP_KERNEL), REF_MAX_DMA_PFN);
  });

  test('GFP_DMA and GFP_DMA32 restrict allocPages to their zone and the zones below it', () => {
    // include/linux/gfp_types.h: GFP_DMA = __GFP_DMA = 0x01, GFP_DMA32 = __GFP_DMA32 = 0x04.
    assert.equal(GFP_DMA, REF___GFP_DMA);
    assert.equal(GFP_DMA, 0x01);
    assert.equal(GFP_DMA32, REF___GFP_DMA32);
    assert.equal(GFP_DMA32, 0x04);
    assert.equal(__GFP_HIGHMEM, REF___GFP_HIGHMEM);
    assert.equal(__GFP_MOVABLE, REF___GFP_MOVABLE);
    const memoryBytes = 6 * GiB;
    const m = boot(memoryBytes, 2);
    const fresh = refFreshZoneNrFree(memoryBytes);
    const dma = zoneNamed(m, 'DMA');
    const dma32 = zoneNamed(m, 'DMA32');
    const normal = zoneNamed(m, 'Normal');

    // On a fresh machine a 4 MiB request gets the first 4 MiB block of the zone gfp_zone() picks.
    const masks = [
      0,
      GFP_KERNEL,
      GFP_DMA,
      GFP_DMA32,
      GFP_KERNEL | GFP_DMA,
      GFP_KERNEL | GFP_DMA32 | __GFP_ZERO,
      __GFP_HIGHMEM,
      __GFP_MOVABLE,
      __GFP_MOVABLE | GFP_DMA,
      __GFP_MOVABLE | GFP_DMA32,
      __GFP_MOVABLE | __GFP_HIGHMEM,
    ];
    for (const gfp of masks) {
      const pfn = m.buddy.allocPages(REF_MAX_PAGE_ORDER, true, gfp);
      const zone = REF_ZONE_NAMES[refGfpZone(gfp)]!;
      assert.equal(pfn, firstTopBlock(memoryBytes, zone), `gfp 0x${gfp.toString(16)} allocates from ${zone}`);
      assert.equal(m.buddy.freePages(pfn, REF_MAX_PAGE_ORDER), undefined);
    }
    assert.deepEqual(
      [GFP_DMA, GFP_DMA32, GFP_KERNEL].map((gfp) => {
        const pfn = m.buddy.allocPages(REF_MAX_PAGE_ORDER, false, gfp);
        assert.equal(m.buddy.freePages(pfn, REF_MAX_PAGE_ORDER), undefined);
        return pfn;
      }),
      [1024, 4096, 1048576],
      '4 MiB, 16 MiB, 4 GiB',
    );
    assert.deepEqual(zoneNrFree(m), fresh);

    // GFP_DMA never leaves DMA: once it is empty, requests fail while DMA32 and Normal are untouched.
    const held = new Map<number, number>();
    const take = (order: number, gfp: number): number => {
      const pfn = m.buddy.allocPages(order, false, gfp);
      if (pfn !== NONE) held.set(pfn, order);
      return pfn;
    };
    assert.deepEqual(
      [10, 10, 10, 10, 9, 8, 0].map((order) => take(order, GFP_DMA)),
      [1024, 2048, 3072, NONE, 512, 256, NONE],
    );
    assert.equal(dma.freePages, 0);
    assert.deepEqual(Array.from(dma32.nrFree), fresh.get('DMA32'));
    assert.deepEqual(Array.from(normal.nrFree), fresh.get('Normal'));

    // GFP_DMA32 never goes above 4 GiB: DMA32's 1020 blocks, then nothing while Normal is full.
    const dma32Blocks = Array.from({ length: 1020 }, () => take(10, GFP_DMA32));
    assert.ok(
      dma32Blocks.every((pfn) => pfn >= REF_MAX_DMA_PFN && pfn + 1024 <= REF_MAX_DMA32_PFN),
      'every GFP_DMA32 block lies in DMA32',
    );
    assert.equal(new Set(dma32Blocks).size, 1020);
    assert.equal(take(0, GFP_DMA32), NONE, 'DMA32 and DMA are empty; Normal is not allowed');
    assert.deepEqual(Array.from(normal.nrFree), fresh.get('Normal'));
    // With DMA32 empty, GFP_DMA32 falls back to DMA. Freed blocks go to the head of their free list, so the
    // last one freed is taken first.
    for (const pfn of [3072, 2048, 1024]) {
      assert.equal(m.buddy.freePages(pfn, 10), undefined);
      held.delete(pfn);
    }
    assert.equal(take(10, GFP_DMA32), 1024, 'below 16 MiB, not above 4 GiB');
    assert.equal(take(0, GFP_KERNEL), REF_MAX_DMA32_PFN, 'GFP_KERNEL still gets Normal');
    for (const [pfn, order] of held) {
      assert.equal(m.buddy.freePages(pfn, order), undefined, `free_pages(${pfn}, ${order})`);
    }
    assert.deepEqual(zoneNrFree(m), fresh);

    // On a 16M machine DMA is the only zone: every mask is served from it.
    const small = boot(16 * MiB, 1);
    assert.deepEqual(
      [GFP_KERNEL, GFP_DMA32, GFP_DMA].map((gfp) => small.buddy.allocPages(10, false, gfp)),
      [1024, 2048, 3072],
    );
  });

  test('a large kmalloc with GFP_DMA lands below 16 MiB', () => {
    // mm/slab_common.c __kmalloc_large_node(): alloc_pages_node(node, flags | __GFP_COMP, order) with the
    // caller's flags, so the zone modifier picks the zone.
    const m = boot(256 * MiB, 2);
    const before = formatBuddyinfo(buddyinfoView(m));
    const kernel = m.kmalloc(20000, GFP_KERNEL);
    assert.equal(kernel, REF_MAX_DMA_PFN * REF_PAGE_SIZE, 'GFP_KERNEL: DMA32, from 16 MiB');
    let seq = m.events.length;
    const dma = m.kmalloc(20000, GFP_DMA);
    // get_order(20000) = 3: DMA's smallest block of order 3 or above is the order-8 block above the reserved 1 MiB.
    assert.equal(dma, REF_RESERVED_LOW_BYTES);
    assert.ok(dma + (REF_PAGE_SIZE << refGetOrder(20000)) <= 16 * MiB, 'the whole block lies below 16 MiB');
    assert.deepEqual(
      newEvents(m, seq).map((e) => [e.kind, e.addr, e.size, e.extra]),
      [
        [EventKind.PageAlloc, REF_RESERVED_PAGES, 0, 3],
        [EventKind.Kmalloc, dma, 20000, REF_PAGE_SIZE << 3],
      ],
    );
    assert.equal(addressView(m, dma + 5 * REF_PAGE_SIZE).state, 'large kmalloc');
    // get_order(100000) = 5: after the split above, the order-5 block at 256 + 32.
    const dma5 = m.kmalloc(100000, GFP_KERNEL | GFP_DMA);
    assert.equal(dma5, (REF_RESERVED_PAGES + 32) * REF_PAGE_SIZE);
    // DMA's three 4 MiB blocks, then a fourth GFP_DMA request fails although DMA32 holds 59 free ones.
    const top = [1, 2, 3].map(() => m.kmalloc(4 * MiB, GFP_DMA));
    assert.deepEqual(top, [4 * MiB, 8 * MiB, 12 * MiB]);
    seq = m.events.length;
    assert.equal(m.kmalloc(4 * MiB, GFP_DMA), KMALLOC_FAILED);
    assert.deepEqual(
      newEvents(m, seq).map((e) => [e.kind, e.cache, e.size, e.extra]),
      [[EventKind.KmallocFail, -1, 4 * MiB, 10]],
    );
    assert.equal(zoneNamed(m, 'DMA32').nrFree[10], 59);
    const kernelTop = m.kmalloc(4 * MiB, GFP_KERNEL);
    assert.equal(kernelTop, (REF_MAX_DMA_PFN + 1024) * REF_PAGE_SIZE, 'GFP_KERNEL: the second 4 MiB of DMA32');
    for (const p of [kernel, dma, dma5, ...top, kernelTop]) {
      assert.equal(m.kfree(p), undefined);
    }
    assert.equal(formatBuddyinfo(buddyinfoView(m)), before);

    // Above 4 GiB of memory: GFP_KERNEL goes to Normal, GFP_DMA still below 16 MiB.
    const big = boot(6 * GiB, 1);
    assert.equal(big.kmalloc(20000, GFP_KERNEL), REF_MAX_DMA32_PFN * REF_PAGE_SIZE);
    assert.equal(big.kmalloc(20000, GFP_KERNEL | GFP_DMA), REF_RESERVED_LOW_BYTES);
  });

  test('kmalloc drops __GFP_DMA32 (GFP_SLAB_BUG_MASK): a large kmalloc with GFP_DMA32 comes from Normal', () => {
    // mm/slab.h: GFP_SLAB_BUG_MASK = __GFP_DMA32 | __GFP_HIGHMEM | ~__GFP_BITS_MASK. mm/slub.c
    // ___kmalloc_large_node() (6.12): if (flags & GFP_SLAB_BUG_MASK) flags = kmalloc_fix_flags(flags), which
    // warns "Unexpected gfp: 0x4 (GFP_DMA32). Fixing up to gfp: ..." and clears those bits before
    // alloc_pages_node(). kmalloc cannot hand out DMA32 memory; drivers use GFP_DMA or the page allocator.
    const m = boot(6 * GiB, 1);
    const p = m.kmalloc(20000, GFP_KERNEL | GFP_DMA32);
    assert.equal(p, REF_MAX_DMA32_PFN * REF_PAGE_SIZE, 'gfp_zone(GFP_KERNEL) = Normal: the first frame above 4 GiB');
    assert.equal(m.kmalloc(20000, GFP_DMA32), (REF_MAX_DMA32_PFN + 8) * REF_PAGE_SIZE, 'the next 8 pages of Normal');
    // The page allocator itself honours GFP_DMA32.
    assert.equal(m.buddy.allocPages(3, true, GFP_DMA32), REF_MAX_DMA_PFN);
  });

  test('blocks never merge across the 16 MiB boundary between DMA and DMA32', () => {
    // MAX_DMA_PFN = 4096 is a multiple of 2^MAX_PAGE_ORDER, and __free_one_page() merges within one zone's
    // free_area: the frames either side of 16 MiB end in different zones' blocks.
    const memoryBytes = 16 * MiB + 37 * REF_PAGE_SIZE;
    const m = boot(memoryBytes, 1);
    const fresh = refFreshZoneNrFree(memoryBytes);
    const before = formatBuddyinfo(buddyinfoView(m));
    const dma = zoneNamed(m, 'DMA');
    const dma32 = zoneNamed(m, 'DMA32');
    // Every free page, one at a time: DMA32's 37 first (GFP_KERNEL starts there), then DMA's 3840.
    const pages: number[] = [];
    for (let pfn = m.buddy.allocPages(0, false, GFP_KERNEL); pfn !== NONE;) {
      pages.push(pfn);
      pfn = m.buddy.allocPages(0, false, GFP_KERNEL);
    }
    assert.equal(pages.length, 37 + REF_MAX_DMA_PFN - REF_RESERVED_PAGES);
    assert.ok(pages.slice(0, 37).every((pfn) => pfn >= REF_MAX_DMA_PFN));
    assert.ok(pages.slice(37).every((pfn) => pfn >= REF_RESERVED_PAGES && pfn < REF_MAX_DMA_PFN));
    const held = new Map(pages.map((pfn) => [pfn, 0]));
    const free = (pfn: number): void => {
      assert.equal(m.buddy.freePages(pfn, 0), undefined, `free_pages(${pfn}, 0)`);
      held.delete(pfn);
    };

    free(REF_MAX_DMA_PFN - 1);
    free(REF_MAX_DMA_PFN);
    assert.deepEqual(m.buddy.findFreeBlock(REF_MAX_DMA_PFN - 1), { pfn: REF_MAX_DMA_PFN - 1, order: 0 });
    assert.deepEqual(m.buddy.findFreeBlock(REF_MAX_DMA_PFN), { pfn: REF_MAX_DMA_PFN, order: 0 });
    assert.deepEqual([dma.freePages, dma32.freePages], [1, 1], 'one free page in each zone');
    assert.deepEqual(buddyProblems(m, held), []);

    // The rest of DMA32: it merges back to its boot layout, up to its own start and no further.
    for (let pfn = REF_MAX_DMA_PFN + 1; pfn < REF_MAX_DMA_PFN + 37; pfn++) free(pfn);
    assert.deepEqual(Array.from(dma32.nrFree), fresh.get('DMA32'));
    assert.deepEqual(m.buddy.findFreeBlock(REF_MAX_DMA_PFN), { pfn: REF_MAX_DMA_PFN, order: 5 });
    assert.deepEqual(m.buddy.findFreeBlock(REF_MAX_DMA_PFN - 1), { pfn: REF_MAX_DMA_PFN - 1, order: 0 });
    // DMA's last 4 MiB, from the top down: it merges up to one order-10 block ending at 16 MiB.
    for (let pfn = REF_MAX_DMA_PFN - 2; pfn >= REF_MAX_DMA_PFN - 1024; pfn--) {
      free(pfn);
      const block = m.buddy.findFreeBlock(pfn)!;
      assert.ok(block.pfn + 2 ** block.order <= REF_MAX_DMA_PFN, `block ${block.pfn} crosses 16 MiB`);
    }
    assert.deepEqual(m.buddy.findFreeBlock(REF_MAX_DMA_PFN - 1), { pfn: REF_MAX_DMA_PFN - 1024, order: 10 });
    assert.deepEqual(Array.from(dma.nrFree), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    assert.deepEqual([dma.freePages, dma32.freePages], [1024, 37]);
    assert.deepEqual(buddyProblems(m, held), []);
    for (const pfn of [...held.keys()]) free(pfn);
    assert.deepEqual(zoneNrFree(m), fresh);
    assert.equal(formatBuddyinfo(buddyinfoView(m)), before);
    assert.deepEqual(buddyProblems(m, new Map()), []);
  });
});

// ---------------------------------------------------------------------------------------------------------
// SLUB behaviour
// ---------------------------------------------------------------------------------------------------------

describe('SLUB (mm/slub.c)', () => {
  test('the object just freed on a CPU is the next one that CPU gets (LIFO freelist)', () => {
    const m = boot(16 * MiB, 2);
    const a = m.kmalloc(64, GFP_KERNEL);
    const b = m.kmalloc(64, GFP_KERNEL);
    assert.equal(b - a, 64, 'a fresh slab hands out objects in address order');
    assert.equal(m.kfree(a), undefined);
    assert.equal(m.kmalloc(64, GFP_KERNEL), a);
    assert.equal(m.kfree(b), undefined);
    assert.equal(m.kfree(a), undefined);
    assert.equal(m.kmalloc(64, GFP_KERNEL), a, 'a was freed last');
    assert.equal(m.kmalloc(64, GFP_KERNEL), b);
    // Same size class, different request size: still the same cache and the same LIFO.
    assert.equal(m.kfree(b), undefined);
    assert.equal(m.kmalloc(57, GFP_KERNEL), b);
  });

  test('each CPU has its own slab; a remote free waits on the slab freelist for the owner', () => {
    const m = boot(16 * MiB, 2);
    const cache = cacheNamed(m, 'kmalloc-64');
    m.cpu = 0;
    const a = m.kmalloc(64, GFP_KERNEL);
    m.cpu = 1;
    const c = m.kmalloc(64, GFP_KERNEL);
    assert.notEqual(Math.floor(a / REF_PAGE_SIZE), Math.floor(c / REF_PAGE_SIZE), 'CPU 1 got its own slab');
    assert.equal(cache.nrSlabs, 2);
    assert.equal(m.kfree(a), undefined, 'CPU 1 frees an object of CPU 0 slab');
    m.cpu = 0;
    const rest: number[] = [];
    for (let i = 1; i < cache.geometry.objects; i++) {
      rest.push(m.kmalloc(64, GFP_KERNEL));
    }
    assert.ok(!rest.includes(a), 'CPU 0 uses its lockless freelist before the remote free');
    assert.equal(m.kmalloc(64, GFP_KERNEL), a, 'then takes the slab freelist (get_freelist)');
    assert.equal(cache.nrSlabs, 2, 'without a new slab');
  });

  test('slabinfo counts the cpu slab as active; a full slab freed down moves to the partial list', () => {
    const m = boot(16 * MiB, 2);
    const cache = cacheNamed(m, 'kmalloc-64');
    const row = (): { active: number; num: number; slabs: number } => {
      const r = slabinfoView(m).caches.find((c) => c.name === 'kmalloc-64')!;
      return { active: r.activeObjs, num: r.numObjs, slabs: r.numSlabs };
    };
    const objs = cache.geometry.objects;
    const a = m.kmalloc(64, GFP_KERNEL);
    assert.deepEqual(row(), { active: objs, num: objs, slabs: 1 }, 'one live object, the whole cpu slab is active');
    assert.equal(m.kfree(a), undefined);
    assert.deepEqual(row(), { active: objs, num: objs, slabs: 1 }, 'freed to the cpu freelist: still active');

    const first: number[] = [];
    for (let i = 0; i < objs; i++) {
      first.push(m.kmalloc(64, GFP_KERNEL));
    }
    const firstSlab = Math.floor(first[0]! / REF_PAGE_SIZE);
    assert.ok(
      first.every((p) => Math.floor(p / REF_PAGE_SIZE) === firstSlab),
      'one slab',
    );
    const next = m.kmalloc(64, GFP_KERNEL);
    assert.notEqual(Math.floor(next / REF_PAGE_SIZE), firstSlab, 'a full cpu slab is replaced');
    assert.equal(cache.nrPartial, 0, 'a full slab is on no list');
    assert.equal(m.slub.slabFrozen[firstSlab], 0, 'and no longer frozen');
    assert.deepEqual(row(), { active: 2 * objs, num: 2 * objs, slabs: 2 });

    assert.equal(m.kfree(first[10]!), undefined);
    assert.equal(cache.nrPartial, 1, 'the first free of a full slab puts it on the partial list');
    assert.deepEqual(m.slub.partialSlabs(cache), [firstSlab]);
    assert.deepEqual(row(), { active: 2 * objs - 1, num: 2 * objs, slabs: 2 });
    assert.equal(m.kfree(first[11]!), undefined);
    assert.equal(cache.nrPartial, 1);
    assert.deepEqual(row(), { active: 2 * objs - 2, num: 2 * objs, slabs: 2 });
    // get_partial_node(): the next slab the CPU needs comes from the partial list, not the page allocator.
    for (let i = 1; i < objs; i++) {
      m.kmalloc(64, GFP_KERNEL);
    }
    const fromPartial = m.kmalloc(64, GFP_KERNEL);
    assert.equal(Math.floor(fromPartial / REF_PAGE_SIZE), firstSlab);
    assert.equal(cache.nrSlabs, 2);
    assert.equal(cache.nrPartial, 0);
  });

  test('an empty slab goes back to the buddy allocator only once the node holds min_partial partial slabs', () => {
    // __slab_free(): if (!new.inuse && n->nr_partial >= s->min_partial) goto slab_empty; the slab being
    // freed is itself on the partial list at that point, so nr_partial counts it.
    const m = boot(16 * MiB, 2);
    const cache = cacheNamed(m, 'kmalloc-64');
    const objs = cache.geometry.objects;
    assert.equal(cache.geometry.minPartial, 5, 'ilog2(64) / 2 = 3, raised to MIN_PARTIAL');
    const bySlab = new Map<number, number[]>();
    for (let i = 0; i < 7 * objs; i++) {
      const p = m.kmalloc(64, GFP_KERNEL);
      const pfn = Math.floor(p / REF_PAGE_SIZE);
      bySlab.set(pfn, [...(bySlab.get(pfn) ?? []), p]);
    }
    const slabs = [...bySlab.keys()];
    assert.equal(slabs.length, 7);
    const [s1, s2, s3, s4, s5] = slabs as [number, number, number, number, number];
    const empty = (pfn: number): void => {
      for (const p of bySlab.get(pfn)!) {
        assert.equal(m.kfree(p), undefined);
      }
      bySlab.set(pfn, []);
    };
    const freeOne = (pfn: number): void => {
      assert.equal(m.kfree(bySlab.get(pfn)!.pop()!), undefined);
    };
    empty(s1);
    assert.equal(cache.nrSlabs, 7, 'nr_partial 1 < 5: the empty slab stays');
    assert.deepEqual(m.slub.partialSlabs(cache), [s1]);
    freeOne(s2);
    freeOne(s3);
    empty(s4);
    assert.equal(cache.nrSlabs, 7, 'nr_partial 4 < 5: the empty slab stays');
    assert.deepEqual(m.slub.partialSlabs(cache), [s1, s2, s3, s4]);
    assert.ok(m.frames.flags[s4]! & SLAB);
    const seq = m.events.length;
    empty(s5);
    assert.equal(cache.nrSlabs, 6, 'nr_partial 5 >= 5: discarded');
    assert.deepEqual(m.slub.partialSlabs(cache), [s1, s2, s3, s4]);
    assert.equal(m.frames.flags[s5]! & SLAB, 0);
    assert.notEqual(m.buddy.findFreeBlock(s5), undefined, 'its page is free in the buddy allocator');
    const discard = newEvents(m, seq).filter((e) => e.kind === EventKind.SlabDiscard || e.kind === EventKind.PageFree);
    assert.deepEqual(
      discard.map((e) => [e.kind, e.cache, e.addr, e.extra]),
      [
        [EventKind.SlabDiscard, cache.id, s5, 0],
        [EventKind.PageFree, -1, s5, 0],
      ],
    );
    empty(s2);
    assert.equal(cache.nrSlabs, 6, 's2 is on the partial list: nr_partial 4 (counting s2) < 5, it stays');
  });

  test('double free and interior-pointer kfree return KM4002/KM4003 and change nothing', () => {
    const m = boot(16 * MiB, 2);
    const a = m.kmalloc(64, GFP_KERNEL);
    const b = m.kmalloc(64, GFP_KERNEL);
    const big = m.kmalloc(20000, GFP_KERNEL);
    const c192 = m.kmalloc(150, GFP_KERNEL);
    const slab192 = Math.floor(c192 / REF_PAGE_SIZE) * REF_PAGE_SIZE;
    assert.equal(m.kfree(a), undefined);
    m.cpu = 1;
    const remote = m.kmalloc(64, GFP_KERNEL);
    m.cpu = 0;
    assert.equal(m.kfree(remote), undefined, 'freed from CPU 0: a remote free onto slab->freelist');
    const cases: [string, number, string][] = [
      ['double free of the object at the head of the cpu freelist', a, 'KM4002'],
      ['double free of a remote-freed object', remote, 'KM4002'],
      ['pointer 8 bytes into an object', b + 8, 'KM4003'],
      ['pointer to the last byte of an object', b + 63, 'KM4003'],
      ['pointer into the unused tail of a kmalloc-192 slab', slab192 + 21 * 192, 'KM4003'],
      ['pointer inside a large kmalloc', big + 8, 'KM4003'],
      ['pointer to the second page of a large kmalloc', big + REF_PAGE_SIZE, 'KM4003'],
      ['address outside memory', 16 * MiB, 'KM4001'],
    ];
    for (const [what, addr, code] of cases) {
      const before = snapshot(m);
      assert.equal(m.kfree(addr)?.code, code, what);
      assert.deepEqual(snapshot(m), before, `${what} changed the machine`);
    }
    assert.equal(m.kfree(big), undefined);
    const before = snapshot(m);
    assert.equal(m.kfree(big)?.code, 'KM4002', 'double free of a large kmalloc');
    assert.deepEqual(snapshot(m), before);
  });

  test('property: random kmalloc/kfree across sizes and CPUs keeps every cache consistent', (t) => {
    t.diagnostic(`fast-check seed ${FC_SEED} (set FC_SEED to change)`);
    const CPUS = 4;
    type Op =
      | { kind: 'kmalloc'; size: number; count: number; cpu: number }
      | { kind: 'kfree'; pick: number; count: number; cpu: number }
      | { kind: 'bad'; pick: number; cpu: number; how: 'double' | 'interior' };
    const cpu = fc.integer({ min: 0, max: CPUS - 1 });
    // Mostly a few large classes (4 to 16 objects per slab), so slabs fill, go partial, empty and are discarded
    // within a few hundred operations; the rest spreads over every class and the page allocator.
    const size = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(2048, 4000, 8192) },
      { weight: 2, arbitrary: fc.integer({ min: 1, max: 256 }) },
      { weight: 2, arbitrary: fc.integer({ min: 1, max: 8192 }) },
      { weight: 1, arbitrary: fc.constantFrom(8, 64, 96, 192, 1024) },
      { weight: 1, arbitrary: fc.integer({ min: 8193, max: 40000 }) },
    );
    // Usually one call, sometimes a burst: bursts build up enough slabs in one cache to reach min_partial.
    const count = fc.oneof(
      { weight: 6, arbitrary: fc.constant(1) },
      { weight: 1, arbitrary: fc.integer({ min: 2, max: 40 }) },
    );
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 5, arbitrary: fc.record({ kind: fc.constant('kmalloc' as const), size, count, cpu }) },
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('kfree' as const), pick: fc.nat(), count, cpu }) },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('bad' as const),
          pick: fc.nat(),
          cpu,
          how: fc.constantFrom('double' as const, 'interior' as const),
        }),
      },
    );
    const seen = { ops: 0, calls: 0, remoteFrees: 0, slabsNew: 0, slabsDiscarded: 0, failures: 0, badFrees: 0 };
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300, size: 'max' }), (ops) => {
        const m = boot(16 * MiB, CPUS);
        seen.ops += ops.length;
        const live = new Map<number, { size: number; cache: number }>();
        const freed: number[] = [];
        const allocs = new Map<number, number>();
        const frees = new Map<number, number>();
        const bump = (map: Map<number, number>, k: number): void => void map.set(k, (map.get(k) ?? 0) + 1);

        const doKmalloc = (size: number): void => {
          seen.calls++;
          const seq = m.events.length;
          const cache = m.kmallocCacheFor(size);
          const p = m.kmalloc(size, GFP_KERNEL);
          const evs = newEvents(m, seq);
          if (p === KMALLOC_FAILED) {
            seen.failures++;
            assert.deepEqual(
              evs.map((e) => e.kind),
              [EventKind.KmallocFail],
            );
            return;
          }
          assert.ok(!live.has(p), `address ${p} handed out twice while live`);
          const id = cache ? cache.id : -1;
          live.set(p, { size, cache: id });
          bump(allocs, id);
          const last = evs[evs.length - 1]!;
          assert.deepEqual(
            [last.kind, last.cpu, last.cache, last.addr, last.size],
            [EventKind.Kmalloc, m.cpu, id, p, size],
          );
          const kinds = evs.map((e) => e.kind);
          if (cache) {
            assert.equal(last.extra, cache.geometry.size);
            assert.ok(
              kinds.length === 1 || (kinds.length === 3 && kinds[0] === EventKind.PageAlloc),
              `kmalloc events ${kinds}`,
            );
            if (kinds.length === 3) {
              assert.equal(evs[1]!.kind, EventKind.SlabNew);
              assert.equal(evs[1]!.addr, evs[0]!.addr);
              assert.equal(evs[1]!.cache, id);
              assert.equal(evs[1]!.extra, cache.geometry.order);
              const page = Math.floor(p / REF_PAGE_SIZE);
              assert.ok(page >= evs[0]!.addr && page < evs[0]!.addr + 2 ** cache.geometry.order, 'in the new slab');
            }
          } else {
            assert.deepEqual(kinds, [EventKind.PageAlloc, EventKind.Kmalloc]);
            assert.equal(evs[0]!.addr, p / REF_PAGE_SIZE);
            assert.equal(evs[0]!.extra, refGetOrder(size));
          }
        };

        const doKfree = (pick: number): void => {
          if (live.size === 0) return;
          seen.calls++;
          const seq = m.events.length;
          const [p, obj] = [...live][pick % live.size]!;
          const head = m.slub.slabHeadOf(Math.floor(p / REF_PAGE_SIZE));
          if (obj.cache >= 0 && m.slub.caches[obj.cache]!.cpuSlab[m.cpu] !== head) seen.remoteFrees++;
          assert.equal(m.kfree(p), undefined, `kfree(${p}) of a live object`);
          live.delete(p);
          freed.push(p);
          bump(frees, obj.cache);
          // One kfree event; a discard adds slab_discard + page_free (a large kfree page_free). Their order
          // relative to the kfree is pinned by the event-log tests (kfree first, as trace_kfree fires first).
          const evs = newEvents(m, seq);
          const kfrees = evs.filter((e) => e.kind === EventKind.Kfree);
          assert.equal(kfrees.length, 1);
          assert.deepEqual([kfrees[0]!.cpu, kfrees[0]!.cache, kfrees[0]!.addr], [m.cpu, obj.cache, p]);
          const others = evs.filter((e) => e.kind !== EventKind.Kfree).map((e) => e.kind);
          assert.deepEqual(
            others,
            others.length === 0
              ? []
              : obj.cache >= 0
                ? [EventKind.SlabDiscard, EventKind.PageFree]
                : [EventKind.PageFree],
            `kfree events ${evs.map((e) => e.kind)}`,
          );
        };

        const doBad = (o: Extract<Op, { kind: 'bad' }>): void => {
          let addr: number | undefined;
          let codes: string[] = [];
          if (o.how === 'double') {
            const p = freed[o.pick % Math.max(1, freed.length)];
            if (p !== undefined && !live.has(p)) {
              addr = p;
              codes = ['KM4002', 'KM4003'];
            }
          } else if (live.size > 0) {
            const [p, obj] = [...live][o.pick % live.size]!;
            if (obj.size > 8) {
              addr = p + 8;
              codes = ['KM4003'];
            }
          }
          if (addr !== undefined) {
            const before = snapshot(m);
            seen.badFrees++;
            const err = m.kfree(addr);
            assert.ok(err && codes.includes(err.code), `bad kfree (${o.how}) of ${addr}: ${JSON.stringify(err)}`);
            assert.deepEqual(snapshot(m), before, `bad kfree (${o.how}) changed the machine`);
          }
        };

        for (const o of ops) {
          m.cpu = o.cpu;
          if (o.kind === 'kmalloc') {
            for (let i = 0; i < o.count; i++) doKmalloc(o.size);
          } else if (o.kind === 'kfree') {
            for (let i = 0; i < o.count; i++) doKfree(o.pick + i * 7919);
          } else {
            doBad(o);
          }
          // The invariant, after every step.
          const view = new Map(slabinfoView(m).caches.map((c) => [c.name, c]));
          const heads = slabHeads(m);
          const problems: string[] = [];
          if (heads.size !== m.slub.caches.length) {
            problems.push(`slab pages name caches ${[...heads.keys()]}`);
          }
          for (const cache of m.slub.caches) {
            let held = 0;
            for (const obj of live.values()) {
              if (obj.cache === cache.id) held++;
            }
            const expectHeld = (allocs.get(cache.id) ?? 0) - (frees.get(cache.id) ?? 0);
            if (held !== expectHeld) {
              problems.push(`${cache.name}: ${held} live, allocations - frees = ${expectHeld}`);
            }
            const r = slubProblems(m, cache, heads.get(cache.id)!, held);
            problems.push(...r.problems);
            const row = view.get(cache.name)!;
            if (row.numObjs !== cache.totalObjects || row.activeObjs !== cache.totalObjects - r.partialFree) {
              problems.push(
                `${cache.name}: slabinfo ${row.activeObjs}/${row.numObjs}, expected ` +
                  `${cache.totalObjects - r.partialFree}/${cache.totalObjects}`,
              );
            }
          }
          for (const [p, obj] of live) {
            if (obj.cache >= 0) {
              const owner = m.slub.cacheOf(p);
              if (owner?.id !== obj.cache) {
                problems.push(`live object ${p} is not in cache ${obj.cache}`);
              }
            } else if (m.largeKmalloc.get(p / REF_PAGE_SIZE) !== obj.size) {
              problems.push(`live large kmalloc ${p} is not recorded`);
            }
          }
          problems.push(...buddyProblems(m, machineAllocations(m, heads)));
          assert.deepEqual(problems, [], `after ${JSON.stringify(o)}`);
        }
        // Event counts agree with what the test did.
        const count = (kind: EventKind): number => m.events.slice(0).filter((e) => e.kind === kind).length;
        const sum = (map: Map<number, number>): number => [...map.values()].reduce((a, b) => a + b, 0);
        assert.equal(count(EventKind.Kmalloc), sum(allocs));
        assert.equal(count(EventKind.Kfree), sum(frees));
        const slabsNow = m.slub.caches.reduce((n, c) => n + c.nrSlabs, 0);
        assert.equal(count(EventKind.SlabNew) - count(EventKind.SlabDiscard), slabsNow);
        seen.slabsNew += count(EventKind.SlabNew);
        seen.slabsDiscarded += count(EventKind.SlabDiscard);
      }),
      { seed: FC_SEED, numRuns: 20 },
    );
    t.diagnostic(`covered: ${JSON.stringify(seen)}`);
    assert.ok(seen.slabsDiscarded > 0 && seen.remoteFrees > 0, 'the runs reached discard_slab and remote frees');
  });
});

// ---------------------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------------------

describe('event log (engine/trace/events.ts)', () => {
  test('kmalloc, kfree, slab_new and page_alloc are recorded with their fields and increasing seq', () => {
    const m = boot(16 * MiB, 2);
    const k64 = cacheNamed(m, 'kmalloc-64');
    assert.equal(m.events.length, 0, 'boot records nothing');
    m.cpu = 1;
    m.line = 7;
    const a = m.kmalloc(64, GFP_KERNEL);
    const slab = Math.floor(a / REF_PAGE_SIZE);
    m.line = 8;
    const b = m.kmalloc(50, GFP_KERNEL);
    m.line = 9;
    assert.equal(m.kfree(a), undefined);
    m.cpu = 0;
    m.line = 10;
    const big = m.kmalloc(20000, GFP_KERNEL);
    m.line = 11;
    assert.equal(m.kfree(big), undefined);
    const bigPfn = big / REF_PAGE_SIZE;
    const events = m.events.slice(0);
    assert.deepEqual(
      events.map((e) => ({ ...e })),
      [
        { seq: 0, kind: EventKind.PageAlloc, cpu: 1, line: 7, cache: -1, addr: slab, size: 0, extra: 0 },
        { seq: 1, kind: EventKind.SlabNew, cpu: 1, line: 7, cache: k64.id, addr: slab, size: 0, extra: 0 },
        { seq: 2, kind: EventKind.Kmalloc, cpu: 1, line: 7, cache: k64.id, addr: a, size: 64, extra: 64 },
        { seq: 3, kind: EventKind.Kmalloc, cpu: 1, line: 8, cache: k64.id, addr: b, size: 50, extra: 64 },
        { seq: 4, kind: EventKind.Kfree, cpu: 1, line: 9, cache: k64.id, addr: a, size: 0, extra: 64 },
        { seq: 5, kind: EventKind.PageAlloc, cpu: 0, line: 10, cache: -1, addr: bigPfn, size: 0, extra: 3 },
        { seq: 6, kind: EventKind.Kmalloc, cpu: 0, line: 10, cache: -1, addr: big, size: 20000, extra: 32768 },
        // mm/slab_common.c kfree(): trace_kfree() fires before free_large_kmalloc() frees the pages.
        { seq: 7, kind: EventKind.Kfree, cpu: 0, line: 11, cache: -1, addr: big, size: 0, extra: 32768 },
        { seq: 8, kind: EventKind.PageFree, cpu: 0, line: 11, cache: -1, addr: bigPfn, size: 0, extra: 3 },
      ],
    );
    assert.equal(slab, REF_RESERVED_PAGES, 'the first slab is the first frame above the reserved 1 MiB');
    for (let i = 0; i < events.length; i++) {
      assert.equal(m.events.get(i).seq, i);
      assert.equal(m.events.kindAt(i), events[i]!.kind);
      assert.equal(m.events.cacheAt(i), events[i]!.cache);
    }
    assert.throws(() => m.events.get(events.length), RangeError);
    assert.throws(() => m.events.get(-1), RangeError);
    assert.throws(() => m.events.get(0.5), RangeError);
    for (const kind of [EventKind.Kmalloc, EventKind.Kfree, EventKind.PageAlloc, EventKind.SlabNew]) {
      assert.ok(m.events.kindMask & (1 << kind), `kindMask has ${EventKind[kind]}`);
    }
    assert.equal(m.events.kindMask & (1 << EventKind.SlabDiscard), 0);
  });

  test('kfree is recorded before the slab_discard and page_free it causes (trace_kfree fires first)', () => {
    // mm/slab_common.c kfree() (6.12): trace_kfree(_RET_IP_, object) is its first statement, before
    // free_large_kmalloc() or slab_free() -> __slab_free() -> discard_slab() give pages back.
    const m = boot(16 * MiB, 2);
    const cache = cacheNamed(m, 'kmalloc-64');
    const { objects, minPartial } = cache.geometry;
    // minPartial + 2 slabs: all but the last are full and unfrozen; one free each puts minPartial of them on
    // the node partial list, so emptying the first one discards it.
    const bySlab = new Map<number, number[]>();
    for (let i = 0; i < (minPartial + 2) * objects; i++) {
      const p = m.kmalloc(64, GFP_KERNEL);
      const pfn = Math.floor(p / REF_PAGE_SIZE);
      bySlab.set(pfn, [...(bySlab.get(pfn) ?? []), p]);
    }
    const slabs = [...bySlab.keys()];
    assert.equal(slabs.length, minPartial + 2);
    for (const pfn of slabs.slice(0, minPartial)) {
      assert.equal(m.kfree(bySlab.get(pfn)!.pop()!), undefined);
    }
    assert.equal(cache.nrPartial, minPartial);
    const first = slabs[0]!;
    const rest = bySlab.get(first)!;
    const last = rest.pop()!;
    for (const p of rest) {
      assert.equal(m.kfree(p), undefined);
    }
    let seq = m.events.length;
    assert.equal(m.kfree(last), undefined);
    assert.deepEqual(
      newEvents(m, seq).map((e) => [e.kind, e.cache, e.addr, e.extra]),
      [
        [EventKind.Kfree, cache.id, last, 64],
        [EventKind.SlabDiscard, cache.id, first, 0],
        [EventKind.PageFree, -1, first, 0],
      ],
    );
    assert.equal(cache.nrSlabs, minPartial + 1, 'the slab was discarded');

    const big = m.kmalloc(20000, GFP_KERNEL);
    seq = m.events.length;
    assert.equal(m.kfree(big), undefined);
    assert.deepEqual(
      newEvents(m, seq).map((e) => [e.kind, e.cache, e.addr, e.extra]),
      [
        [EventKind.Kfree, -1, big, 32768],
        [EventKind.PageFree, -1, big / REF_PAGE_SIZE, 3],
      ],
    );
  });

  test('the log keeps every event across its storage chunks (65,536 events each)', () => {
    const m = boot(16 * MiB, 2);
    // 100,000 kmalloc/kfree pairs: over 200,000 events, three chunk boundaries. Every field varies.
    const sizes = [8, 64, 192, 1024];
    const expected: { seq: number; kind: EventKind; cpu: number; line: number; cache: number; addr: number }[] = [];
    for (let i = 0; i < 100_000; i++) {
      m.cpu = i % 2;
      m.line = i + 1;
      const size = sizes[i % sizes.length]!;
      const cache = m.kmallocCacheFor(size)!.id;
      const p = m.kmalloc(size, GFP_KERNEL);
      expected.push({ seq: m.events.length - 1, kind: EventKind.Kmalloc, cpu: m.cpu, line: m.line, cache, addr: p });
      assert.equal(m.kfree(p), undefined);
      expected.push({ seq: m.events.length - 1, kind: EventKind.Kfree, cpu: m.cpu, line: m.line, cache, addr: p });
    }
    assert.ok(m.events.length > 3 * 65536);
    for (const x of expected) {
      const e = m.events.get(x.seq);
      assert.deepEqual(
        [e.seq, e.kind, e.cpu, e.line, e.cache, e.addr],
        [x.seq, x.kind, x.cpu, x.line, x.cache, x.addr],
      );
      assert.equal(m.events.kindAt(x.seq), x.kind);
      assert.equal(m.events.cacheAt(x.seq), x.cache);
    }
    const all = m.events.slice(0);
    assert.equal(all.length, m.events.length);
    all.forEach((e, i) => assert.equal(e.seq, i));
    assert.equal(all.filter((e) => e.kind === EventKind.Kmalloc).length, 100_000);
    assert.deepEqual(
      m.events.slice(65530, 65542).map((e) => e.seq),
      Array.from({ length: 12 }, (_, i) => 65530 + i),
      'a window across the first chunk boundary',
    );
    assert.throws(() => m.events.get(m.events.length), RangeError);
  });
});
