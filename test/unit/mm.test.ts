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
import { NO_PFN, PG_BUDDY, PG_HEAD, PG_PCP, PG_RESERVED, PG_SLAB, PG_TAIL } from '../../engine/mm/frames';
import { FREE_END, KmemCache, SlabPath, isAllocated, slabGeometry, slabPathSide } from '../../engine/mm/slub';
import {
  GFP_ATOMIC,
  GFP_DMA,
  GFP_DMA32,
  GFP_KERNEL,
  GFP_NOWAIT,
  __GFP_HIGHMEM,
  __GFP_MOVABLE,
  __GFP_NORETRY,
  __GFP_NOWARN,
  __GFP_ZERO,
} from '../../engine/mm/gfp';
import { EventKind, KmemEvent } from '../../engine/trace/events';
import { addressView, buddyinfoView, formatBuddyinfo, slabinfoView } from '../../engine/inspect/views';

// Local copies of the engine's flag values: module bindings are getters under tsx, too slow for frame scans.
const BUDDY = PG_BUDDY;
const SLAB = PG_SLAB;
const TAIL = PG_TAIL;
const HEAD = PG_HEAD;
const RESERVED = PG_RESERVED;
const PCP = PG_PCP;
const NONE = NO_PFN;
const END = FREE_END;

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
/** include/linux/mm_types.h: sizeof(struct page) is 64 bytes on x86-64 (the memmap costs 64 B per frame). */
const REF_STRUCT_PAGE = 64;

/**
 * The boot page table the machine builds (engine/mm/machine.ts buildKernelPageTable, x86-64 4-level paging):
 * one PGD page; the direct map of all RAM at PAGE_OFFSET with the largest pages that fit, so one PUD page,
 * a PMD page for a GiB that is not wholly RAM and a PTE page for each 2 MiB that is not; the kernel image at
 * __START_KERNEL_map + its physical address (PGD slot 511, PUD slot 510: a PUD and a PMD page of its own),
 * its first half as text and the rest as data, each mapped with 2 MiB pages where aligned and whole, so a PTE
 * page for each 2 MiB slot with 4 KiB mappings. The model takes these pages from memblock just below the
 * memmap. (A real x86-64 kernel maps the image with the static level2_kernel_pgt in the image and takes the
 * direct map's tables from its brk area, pgt_buf, at first.)
 */
function refBootPageTablePages(memoryBytes: number, imageStart: number, imageEnd: number): number {
  const GiB = 1024 * MiB;
  let n = 1 + 1; // PGD, the direct map's PUD
  for (let g = 0; g * GiB < memoryBytes; g++) {
    if ((g + 1) * GiB <= memoryBytes) continue; // a 1 GiB page
    n++; // a PMD page
    for (let a = g * GiB; a < memoryBytes; a += 2 * MiB) if (a + 2 * MiB > memoryBytes) n++; // a PTE page
  }
  n += 2; // the image's PUD and PMD
  const textEnd = imageStart + Math.floor((imageEnd - imageStart) / 2);
  const smallSlots = new Set<number>();
  for (let pfn = imageStart; pfn < imageEnd;) {
    const limit = pfn < textEnd ? textEnd : imageEnd;
    const large = pfn % 512 === 0 && pfn + 512 <= limit;
    if (!large) smallSlots.add(pfn >> 9);
    pfn += large ? 512 : 1;
  }
  return n + smallSlots.size;
}

/**
 * Everything boot keeps from the buddy allocator on x86-64, lowest first (the model of engine/mm/boot.ts,
 * re-derived here): the first 1 MiB; the kernel image (text, data, bss), 8 MiB or a quarter of RAM under
 * 32 MiB, loaded at CONFIG_PHYSICAL_START = 16 MiB when image and memmap fit above it, else at 2 MiB;
 * the boot page tables (refBootPageTablePages) and below them... the memmap, one 64-byte struct page per
 * frame rounded up to whole pages, which memblock allocates top-down (memblock_alloc defaults to
 * bottom_up = false), so it ends at the top of RAM and the page tables come just below it.
 */
function refReserved(memoryBytes: number): { name: string; startPfn: number; endPfn: number }[] {
  const pages = memoryBytes / REF_PAGE_SIZE;
  const image = memoryBytes < 32 * MiB ? memoryBytes / 4 : 8 * MiB;
  const memmapPages = Math.ceil((pages * REF_STRUCT_PAGE) / REF_PAGE_SIZE);
  const start = 16 * MiB + image + memmapPages * REF_PAGE_SIZE < memoryBytes ? 16 * MiB : 2 * MiB;
  const imageStart = start / REF_PAGE_SIZE;
  const imageEnd = Math.ceil((start + image) / REF_PAGE_SIZE);
  const tables = refBootPageTablePages(memoryBytes, imageStart, imageEnd);
  return [
    { name: 'low memory', startPfn: 0, endPfn: REF_RESERVED_PAGES },
    { name: 'kernel image', startPfn: imageStart, endPfn: imageEnd },
    { name: 'page tables', startPfn: pages - memmapPages - tables, endPfn: pages - memmapPages },
    { name: 'memmap', startPfn: pages - memmapPages, endPfn: pages },
  ];
}

/** The frames boot reserved, as a lookup table. */
function refReservedMap(memoryBytes: number): Uint8Array {
  const map = new Uint8Array(memoryBytes / REF_PAGE_SIZE);
  for (const r of refReserved(memoryBytes)) map.fill(1, r.startPfn, r.endPfn);
  return map;
}

/** The free ranges memblock_free_all() hands over: the complement of the reservations. */
function refFreeRanges(memoryBytes: number): [number, number][] {
  const out: [number, number][] = [];
  let pfn = 0;
  for (const r of refReserved(memoryBytes)) {
    if (pfn < r.startPfn) out.push([pfn, r.startPfn]);
    pfn = Math.max(pfn, r.endPfn);
  }
  if (pfn < memoryBytes / REF_PAGE_SIZE) out.push([pfn, memoryBytes / REF_PAGE_SIZE]);
  return out;
}

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

/** The free blocks of a fresh machine: every free range, cut into the largest aligned blocks. */
function refFreshBlocks(memoryBytes: number): { pfn: number; order: number }[] {
  return refFreeRanges(memoryBytes).flatMap(([start, end]) => refBootBlocks(start, end));
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

/** include/linux/gfp_types.h (6.12): the reclaim and reserve bits gfp_to_alloc_flags() reads. */
const REF___GFP_HIGH = 0x20;
const REF___GFP_DIRECT_RECLAIM = 0x400;
const REF___GFP_NOMEMALLOC = 0x80000;

/**
 * The slow path's watermark check of one zone, written from mm/page_alloc.c (6.12): gfp_to_alloc_flags()
 * gives ALLOC_WMARK_MIN, ALLOC_MIN_RESERVE for __GFP_HIGH, ALLOC_NON_BLOCK (and ALLOC_HIGHATOMIC above order 0)
 * without __GFP_DIRECT_RECLAIM unless __GFP_NOMEMALLOC; __zone_watermark_ok() then counts free - (2^order - 1),
 * less the free HighAtomic pages for callers without reserve rights, lowers min by half for ALLOC_MIN_RESERVE
 * and by a quarter more with ALLOC_NON_BLOCK, and wants free > min + lowmem_reserve[highest] and, above
 * order 0, a free block of the order or above on an Unmovable/Movable/Reclaimable list (or HighAtomic with
 * ALLOC_HIGHATOMIC).
 */
function refWatermarkOk(
  zone: {
    freePages: number;
    freeHighatomic: number;
    wmarkMin: number;
    lowmemReserve: readonly number[];
    nrFreeByType: ArrayLike<number>;
  },
  order: number,
  gfp: number,
  highest: number,
): boolean {
  const minReserve = (gfp & REF___GFP_HIGH) !== 0;
  const nonBlock = !(gfp & REF___GFP_DIRECT_RECLAIM) && !(gfp & REF___GFP_NOMEMALLOC);
  const highatomic = nonBlock && order > 0;
  const reserves = minReserve || nonBlock || highatomic;
  let free = zone.freePages - (2 ** order - 1);
  if (!reserves) free -= zone.freeHighatomic;
  let min = zone.wmarkMin;
  if (minReserve) {
    min -= Math.floor(min / 2);
    if (nonBlock) min -= Math.floor(min / 4);
  }
  if (free <= min + zone.lowmemReserve[highest]!) return false;
  if (order === 0) return true;
  for (let o = order; o <= REF_MAX_PAGE_ORDER; o++) {
    for (let type = 0; type < 3; type++) if (zone.nrFreeByType[o * 6 + type]! > 0) return true;
    if (highatomic && zone.nrFreeByType[o * 6 + 3]! > 0) return true;
  }
  return false;
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
      nrFreeByType: zone.nrFreeByType.slice(),
      freePages: zone.freePages,
    })),
    pcp: m.buddy.pcp.map((z) =>
      z.cpus.map((c) => ({
        heads: c.heads.slice(),
        tails: c.tails.slice(),
        count: c.count,
        high: c.high,
        allocFactor: c.allocFactor,
        freeCount: c.freeCount,
      })),
    ),
    pageblockMt: m.buddy.pageblockMt.slice(),
    slabs: [...slub.slabs.entries()]
      .map(([pfn, s]) => [pfn, s.cache, s.inuse, s.freelist, s.frozen, Array.from(s.fp)] as const)
      .sort((a, b) => a[0] - b[0]),
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

/** include/linux/mmzone.h enum migratetype with CONFIG_CMA and CONFIG_MEMORY_ISOLATION: 6 free lists per order. */
const REF_MIGRATE_TYPES = 6;
const REF_MIGRATE_PCPTYPES = 3;
const REF_MIGRATE_HIGHATOMIC = 3;
/** include/linux/pageblock-flags.h: pageblock_order = min(HPAGE_PMD_ORDER, MAX_PAGE_ORDER) = 9 on x86-64. */
const REF_PAGEBLOCK_ORDER = 9;
/** include/linux/mmzone.h: NR_PCP_LISTS = MIGRATE_PCPTYPES * (PAGE_ALLOC_COSTLY_ORDER + 1) + NR_PCP_THP (2). */
const REF_NR_PCP_LISTS = REF_MIGRATE_PCPTYPES * 4 + 2;
/** mm/page_alloc.c pindex_to_order(): the low lists are 3 per order 0..3, the last two the THP order. */
function refPindexToOrder(pindex: number): number {
  return pindex >= REF_MIGRATE_PCPTYPES * 4 ? REF_PAGEBLOCK_ORDER : Math.floor(pindex / REF_MIGRATE_PCPTYPES);
}

/**
 * The page allocator's invariant. `allocated` maps the head pfn of every block the caller holds to its order.
 * Returns the reasons it does not hold (empty when it does):
 *  - every entry of free_area[order].free_list[mt] is the PG_buddy head of an aligned block of that order
 *    inside the zone, linked both ways, on the list of its page block's migrate type (6.12's
 *    __add_to_free_list warns "page type is %lu, passed migratetype is %d" otherwise; a block above pageblock
 *    order has one type in all its page blocks); no two free blocks overlap;
 *  - no free block has a free buddy of the same order it could have merged with (__free_one_page merges
 *    unless, at pageblock order and above, one of the two page blocks is HighAtomic, CMA or Isolate);
 *  - nr_free[order] is the sum of its lists' lengths (and the per-type counts the lengths); only free-block
 *    heads carry PG_buddy; the zone's free pages are the frames on its lists, nr_free_highatomic the frames
 *    on its HighAtomic lists;
 *  - every block on a per-CPU list carries PG_pcp and the list's order (pindex_to_order), lies inside the
 *    zone, and each CPU's count is the frames on its lists; only those heads carry PG_pcp;
 *  - PG_reserved is set exactly on the frames boot reserved (refReserved), in no free, cached or allocated
 *    block; managed pages = the zone's frames less those;
 *  - every other frame is in exactly one free block, one per-CPU block or one allocated block, and
 *    free + cached + allocated + reserved = total.
 */
function buddyProblems(m: Machine, allocated: ReadonlyMap<number, number>): string[] {
  const { frames } = m;
  const problems: string[] = [];
  const owner = new Uint8Array(frames.count); // 0 unseen, 1 free, 2 allocated, 3 reserved, 4 per-CPU list
  const memoryBytes = frames.count * REF_PAGE_SIZE;
  const reservedMap = refReservedMap(memoryBytes);
  const mt = m.buddy.pageblockMt;
  let freeFrames = 0;
  let freeHeads = 0;
  let pcpFrames = 0;
  let pcpHeads = 0;
  let managedPages = 0;
  // Zones by physical address (zone_sizes_init: DMA below 16 MiB, DMA32 below 4 GiB, Normal above), each with
  // its own free area.
  const zones = refZones(memoryBytes);
  const spans = m.buddy.zones.map((z) => [z.name, z.startPfn, z.endPfn]);
  if (JSON.stringify(spans) !== JSON.stringify(zones.map((z) => [z.name, z.start, z.end]))) {
    problems.push(`zones span ${JSON.stringify(spans)}, expected ${JSON.stringify(zones)}`);
  }
  for (const zone of m.buddy.zones) {
    const zoneFreeBefore = freeFrames;
    let zoneHighatomic = 0;
    managedPages += zone.managedPages;
    for (let order = 0; order <= REF_MAX_PAGE_ORDER; order++) {
      let orderLen = 0;
      for (let type = 0; type < REF_MIGRATE_TYPES; type++) {
        const list = order * REF_MIGRATE_TYPES + type;
        let len = 0;
        let prev = NONE;
        for (let pfn = zone.freeHead[list]!; pfn !== NONE; pfn = frames.next[pfn]!) {
          if (++len > frames.count) {
            problems.push(`free list of order ${order} type ${type} loops`);
            break;
          }
          const size = 2 ** order;
          if (frames.prev[pfn] !== prev) {
            problems.push(`free block ${pfn} (order ${order}): prev is ${frames.prev[pfn]}, expected ${prev}`);
          }
          if (frames.flags[pfn] !== BUDDY) {
            problems.push(`free block ${pfn} on the order-${order} list has flags ${frames.flags[pfn]}, not PG_buddy`);
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
          for (let b = pfn >> REF_PAGEBLOCK_ORDER; b <= (pfn + size - 1) >> REF_PAGEBLOCK_ORDER; b++) {
            if (mt[b] !== type) {
              problems.push(
                `free block ${pfn} (order ${order}) is on the type-${type} list, page block ${b} is ${mt[b]}`,
              );
            }
          }
          for (let p = pfn; p < Math.min(pfn + size, frames.count); p++) {
            if (owner[p] !== 0) {
              problems.push(`frame ${p} is in two free blocks`);
            }
            owner[p] = 1;
          }
          if (order < REF_MAX_PAGE_ORDER) {
            const buddy = pfn ^ size;
            const mergeable = (t: number): boolean => t < REF_MIGRATE_PCPTYPES;
            const blocked =
              order >= REF_PAGEBLOCK_ORDER &&
              mt[buddy >> REF_PAGEBLOCK_ORDER] !== type &&
              (!mergeable(type) || !mergeable(mt[buddy >> REF_PAGEBLOCK_ORDER]!));
            if (
              !blocked &&
              buddy >= zone.startPfn &&
              buddy + size <= zone.endPfn &&
              frames.flags[buddy]! & BUDDY &&
              frames.order[buddy] === order
            ) {
              problems.push(`free block ${pfn} and its buddy ${buddy} are both free at order ${order} (not merged)`);
            }
          }
          freeFrames += size;
          if (type === REF_MIGRATE_HIGHATOMIC) zoneHighatomic += size;
          prev = pfn;
        }
        if (zone.freeTail[list] !== prev) {
          problems.push(`free list of order ${order} type ${type}: tail is ${zone.freeTail[list]}, last entry ${prev}`);
        }
        if (zone.nrFreeByType[list] !== len) {
          problems.push(`${zone.name} order ${order} type ${type}: count ${zone.nrFreeByType[list]}, list ${len}`);
        }
        orderLen += len;
      }
      if (zone.nrFree[order] !== orderLen) {
        problems.push(`${zone.name} nr_free[${order}] = ${zone.nrFree[order]} but the lists hold ${orderLen} blocks`);
      }
      freeHeads += orderLen;
    }
    if (zone.freePages !== freeFrames - zoneFreeBefore) {
      problems.push(
        `zone ${zone.name} free pages = ${zone.freePages} but its free lists hold ${freeFrames - zoneFreeBefore}`,
      );
    }
    if (zone.freeHighatomic !== zoneHighatomic) {
      problems.push(
        `zone ${zone.name} nr_free_highatomic = ${zone.freeHighatomic}, HighAtomic lists ${zoneHighatomic}`,
      );
    }
    // The per-CPU lists of this zone.
    const zpcp = m.buddy.pcp[zone.index]!;
    zpcp.cpus.forEach((pcp, cpu) => {
      let count = 0;
      for (let pindex = 0; pindex < REF_NR_PCP_LISTS; pindex++) {
        const order = refPindexToOrder(pindex);
        const size = 2 ** order;
        let len = 0;
        let prev = NONE;
        for (let pfn = pcp.heads[pindex]!; pfn !== NONE; pfn = frames.next[pfn]!) {
          if (++len > frames.count) {
            problems.push(`CPU ${cpu} list ${pindex} loops`);
            break;
          }
          if (frames.prev[pfn] !== prev) problems.push(`CPU ${cpu} list ${pindex}: ${pfn} prev ${frames.prev[pfn]}`);
          if (frames.flags[pfn] !== PCP) problems.push(`CPU ${cpu} list ${pindex}: ${pfn} lacks PG_pcp`);
          if (frames.order[pfn] !== order) {
            problems.push(`CPU ${cpu} list ${pindex}: ${pfn} has order ${frames.order[pfn]}`);
          }
          if (pfn % size !== 0 || pfn < zone.startPfn || pfn + size > zone.endPfn) {
            problems.push(`CPU ${cpu} list ${pindex}: ${pfn} misaligned or outside ${zone.name}`);
          }
          for (let p = pfn; p < Math.min(pfn + size, frames.count); p++) {
            if (owner[p] !== 0) problems.push(`frame ${p} on CPU ${cpu}'s list is also free or cached twice`);
            owner[p] = 4;
          }
          count += size;
          prev = pfn;
        }
        if (pcp.tails[pindex] !== prev) {
          problems.push(`CPU ${cpu} list ${pindex}: tail ${pcp.tails[pindex]}, last ${prev}`);
        }
        pcpHeads += len;
      }
      if (pcp.count !== count) problems.push(`${zone.name} CPU ${cpu}: count ${pcp.count}, lists hold ${count}`);
      pcpFrames += count;
    });
    // zone_managed_pages: the zone's frames less what boot reserved in it.
    let managed = 0;
    for (let p = zone.startPfn; p < zone.endPfn; p++) if (!reservedMap[p]) managed++;
    if (zone.managedPages !== managed) {
      problems.push(`zone ${zone.name} manages ${zone.managedPages} pages, expected ${managed}`);
    }
  }
  let buddyFlags = 0;
  let pcpFlags = 0;
  for (let p = 0; p < frames.count; p++) {
    if (frames.flags[p]! & BUDDY) buddyFlags++;
    if (frames.flags[p]! & PCP) pcpFlags++;
  }
  if (buddyFlags !== freeHeads) {
    problems.push(`${buddyFlags} frames carry PG_buddy but the free lists hold ${freeHeads} blocks`);
  }
  if (pcpFlags !== pcpHeads) {
    problems.push(`${pcpFlags} frames carry PG_pcp but the per-CPU lists hold ${pcpHeads} blocks`);
  }
  let reservedFrames = 0;
  for (let p = 0; p < frames.count; p++) {
    const reserved = (frames.flags[p]! & RESERVED) !== 0;
    if (reserved !== (reservedMap[p] === 1)) {
      problems.push(`frame ${p} ${reserved ? 'carries' : 'lacks'} PG_reserved`);
      if (problems.length > 50) break;
    }
    if (reserved) {
      if (owner[p] !== 0) {
        problems.push(`reserved frame ${p} is in a free or cached block`);
      }
      owner[p] = 3;
      reservedFrames++;
    }
  }
  let allocatedFrames = 0;
  for (const [head, order] of allocated) {
    for (let p = head; p < head + 2 ** order; p++) {
      if (owner[p] === 1 || owner[p] === 4) {
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
      problems.push(`frame ${p} is neither free, cached, allocated nor reserved`);
      break;
    }
  }
  if (m.buddy.nrFreePages !== freeFrames) {
    problems.push(`free pages = ${m.buddy.nrFreePages} but the free lists hold ${freeFrames}`);
  }
  if (m.buddy.nrPcpPages !== pcpFrames) {
    problems.push(`per-CPU pages = ${m.buddy.nrPcpPages} but the lists hold ${pcpFrames}`);
  }
  if (managedPages !== frames.count - reservedFrames) {
    problems.push(`managed pages = ${managedPages}, total ${frames.count} - reserved ${reservedFrames}`);
  }
  if (freeFrames + pcpFrames + allocatedFrames + reservedFrames !== frames.count) {
    problems.push(
      `free ${freeFrames} + cached ${pcpFrames} + allocated ${allocatedFrames} + reserved ${reservedFrames} ` +
        `!= total ${frames.count}`,
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
      const id = m.slub.slabs.get(pfn)?.cache ?? -1;
      const list = heads.get(id);
      if (list) {
        list.push(pfn);
      } else {
        heads.set(id, [pfn]);
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
  for (const pfn of m.slub.partialSlabs(cache)) {
    if (++len > m.slub.slabs.size) {
      problems.push(`${cache.name}: partial list loops`);
      break;
    }
    partial.add(pfn);
  }
  if (len !== cache.nrPartial) {
    problems.push(`${cache.name}: partial list holds ${len} slabs, nr_partial = ${cache.nrPartial}`);
  }
  // The per-CPU partial lists (CONFIG_SLUB_CPU_PARTIAL): slab->next chains, the head's slabs count.
  const cpuPartial = new Map<number, number>();
  for (let cpu = 0; cpu < cache.cpuPartial.length; cpu++) {
    let n = 0;
    const head = cache.cpuPartial[cpu]!;
    for (let pfn = head; pfn !== NONE; pfn = slub.slabs.get(pfn)?.next ?? NONE) {
      if (++n > m.frames.count || cpuPartial.has(pfn)) {
        problems.push(`${cache.name}: CPU ${cpu}'s partial list loops or shares a slab`);
        break;
      }
      cpuPartial.set(pfn, cpu);
      if (slub.slabs.get(pfn)?.cpuPartial !== cpu) {
        problems.push(`${cache.name}: slab ${pfn} does not know it is on CPU ${cpu}'s list`);
      }
      if (partial.has(pfn)) problems.push(`${cache.name}: slab ${pfn} is on CPU ${cpu}'s list and the node's`);
    }
    if (head !== NONE && slub.slabs.get(head)!.slabsOnList !== n) {
      problems.push(
        `${cache.name}: CPU ${cpu}'s partial list holds ${n} slabs, its head says ${slub.slabs.get(head)!.slabsOnList}`,
      );
    }
  }
  let allocatedTotal = 0;
  for (const head of heads) {
    const record = slub.slabs.get(head);
    const fp = record?.fp;
    if (!record || !fp || fp.length !== g.objects) {
      problems.push(`${cache.name}: slab ${head} has no free-pointer array of ${g.objects} entries`);
      continue;
    }
    let allocated = 0;
    for (const v of fp) {
      if (isAllocated(v)) allocated++;
    }
    allocatedTotal += allocated;
    const onSlab = walkChain(fp, record.freelist, g.objects);
    if (typeof onSlab === 'string') {
      problems.push(`${cache.name}: slab ${head} freelist: ${onSlab}`);
      continue;
    }
    const owners = [...cache.cpuSlab].flatMap((pfn, cpu) => (pfn === head ? [cpu] : []));
    let onCpu: number[] = [];
    if (record.frozen) {
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
      if (record.inuse !== allocated) {
        problems.push(`${cache.name}: slab ${head} has inuse ${record.inuse}, ${allocated} allocated`);
      }
      if (onSlab.length > 0 && !partial.has(head) && !cpuPartial.has(head)) {
        problems.push(`${cache.name}: slab ${head} has ${onSlab.length} free objects but is on no list`);
      }
      if (onSlab.length === 0 && (partial.has(head) || cpuPartial.has(head))) {
        problems.push(`${cache.name}: full slab ${head} is on the partial list`);
      }
    }
    // __slab_free() lowers slab->inuse for every free that reaches slab->freelist, frozen or not;
    // get_freelist() resets it to slab->objects when the CPU takes that freelist.
    if (record.inuse !== g.objects - onSlab.length) {
      problems.push(
        `${cache.name}: slab ${head} has inuse ${record.inuse}, ` +
          `${g.objects} objects - ${onSlab.length} on slab->freelist`,
      );
    }
    const all = [...onSlab, ...onCpu];
    if (new Set(all).size !== all.length) {
      problems.push(`${cache.name}: slab ${head} has an object on two freelists`);
    }
    for (const i of all) {
      if (isAllocated(fp[i]!)) {
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
    const all2 = Object.fromEntries(
      slabinfoView(two)
        .caches.filter((c) => /^kmalloc-\d/.test(c.name))
        .map((c) => [c.name, `${c.objPerSlab}/${c.pagesPerSlab}`]),
    );
    // The other kinds (kmalloc-rcl-, dma-kmalloc-, kmalloc-cg-) have the same geometry size by size.
    for (const c of slabinfoView(two).caches) {
      const normal = c.name.replace(/^(kmalloc-rcl-|dma-kmalloc-|kmalloc-cg-)/, 'kmalloc-');
      assert.equal(`${c.objPerSlab}/${c.pagesPerSlab}`, all2[normal], c.name);
    }
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
      // Free pages and pages on the per-CPU lists: a refill moves blocks from one to the other.
      const free = m.buddy.nrFreePages + m.buddy.nrPcpPages;
      const seq = m.events.length;
      const p = m.kmalloc(size, GFP_KERNEL);
      assert.ok(p >= 0 && p % REF_PAGE_SIZE === 0, `kmalloc(${size}) returns a page-aligned address`);
      const pfn = p / REF_PAGE_SIZE;
      assert.equal(m.slub.cacheOf(p), undefined, `kmalloc(${size}) is not a slab object`);
      assert.equal(m.buddy.nrFreePages + m.buddy.nrPcpPages, free - 2 ** order, `kmalloc(${size}) takes 2^${order}`);
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
      assert.equal(m.buddy.nrFreePages + m.buddy.nrPcpPages, free);
    }
    m.buddy.drainAll();
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

/** GFP_KERNEL | __GFP_MOVABLE: a movable request takes the smallest block of its own type, no stealing. */
const MOVABLE = GFP_KERNEL | __GFP_MOVABLE;
/** include/linux/mmzone.h: MIGRATE_UNMOVABLE 0, MIGRATE_MOVABLE 1. */
const REF_MIGRATE_UNMOVABLE = 0;
const REF_MIGRATE_MOVABLE = 1;

/** __alloc_pages() through the engine's page allocator on CPU cpu: the first pfn or NO_PFN. */
function take(m: Machine, order: number, gfp = MOVABLE, compound = false, cpu = 0): number {
  return m.buddy.allocPages({ order, gfp, cpu, compound });
}

/** A machine of 16 MiB + 104 pages (4200 frames): its DMA32 zone holds 38 free frames (see its test). */
const SMALL_DMA32_BYTES = 4200 * REF_PAGE_SIZE;

describe('boot reservations (arch/x86/kernel/setup.c, memblock)', () => {
  test('the first 1 MiB, the kernel image and the memmap are PG_reserved and never in the buddy allocator', () => {
    assert.equal(RESERVED_LOW_BYTES, REF_RESERVED_LOW_BYTES);
    assert.equal(REF_RESERVED_PAGES, 256);
    // 16M: under 32 MiB the image is a quarter of RAM, 4 MiB; 16 MiB + 4 MiB + the memmap is beyond the end of
    // RAM, so it loads at 2 MiB (pfns 512..1535). memmap: 4096 frames * 64 B = 256 KiB = 64 pages at the top.
    // Boot page tables: PGD, the direct map's PUD and PMD (8 entries of 2 MiB), the image's PUD and PMD (two
    // 2 MiB pages of text, two of data): 5 pages just below the memmap.
    assert.deepEqual(refReserved(16 * MiB), [
      { name: 'low memory', startPfn: 0, endPfn: 256 },
      { name: 'kernel image', startPfn: 512, endPfn: 1536 },
      { name: 'page tables', startPfn: 4027, endPfn: 4032 },
      { name: 'memmap', startPfn: 4032, endPfn: 4096 },
    ]);
    // 256M: 8 MiB of image at 16 MiB (pfns 4096..6143); memmap 65536 * 64 B = 4 MiB = 1024 pages; 5 table pages.
    assert.deepEqual(refReserved(256 * MiB).slice(1), [
      { name: 'kernel image', startPfn: 4096, endPfn: 6144 },
      { name: 'page tables', startPfn: 64507, endPfn: 64512 },
      { name: 'memmap', startPfn: 64512, endPfn: 65536 },
    ]);
    for (const memoryBytes of [16 * MiB, SMALL_DMA32_BYTES, 64 * MiB, 256 * MiB]) {
      const m = boot(memoryBytes, 1);
      const total = memoryBytes / REF_PAGE_SIZE;
      const what = formatSize(memoryBytes);
      const reserved = refReservedMap(memoryBytes);
      assert.deepEqual(m.reserved, refReserved(memoryBytes), `${what}: machine.reserved`);
      let nReserved = 0;
      for (let pfn = 0; pfn < total; pfn++) {
        if (reserved[pfn]) {
          nReserved++;
          if (!(m.frames.flags[pfn]! & RESERVED)) assert.fail(`${what}: reserved frame ${pfn} lacks PG_reserved`);
          if (m.buddy.findFreeBlock(pfn) !== undefined) {
            assert.fail(`${what}: reserved frame ${pfn} is in a free block`);
          }
        } else if (m.frames.flags[pfn]! & RESERVED) {
          assert.fail(`${what}: frame ${pfn} is not reserved by boot but carries PG_reserved`);
        }
      }
      assert.equal(m.buddy.managedPages, total - nReserved, `${what}: managed pages`);
      assert.equal(m.buddy.nrFreePages, total - nReserved, `${what}: free pages`);
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
        { pfn: 1536, order: 9 },
        { pfn: 2048, order: 10 },
        { pfn: 3072, order: 9 },
        { pfn: 3584, order: 8 },
        { pfn: 3840, order: 7 },
        { pfn: 3968, order: 5 },
        { pfn: 4000, order: 4 },
        { pfn: 4016, order: 3 },
        { pfn: 4024, order: 1 },
        { pfn: 4026, order: 0 },
      ],
      '256..511 between the low 1 MiB and the image; 1536..4026 between the image and the page tables',
    );
    // The first slab (GFP_KERNEL: unmovable) finds no Unmovable block: every page block is Movable at boot
    // (memmap_init_range), so __rmqueue_fallback() steals, largest block first: the 4 MiB block at 8 MiB.
    const obj = m.kmalloc(64, GFP_KERNEL);
    assert.equal(obj, 2048 * REF_PAGE_SIZE, 'the first slab is the first page of the order-10 block');
    // A reserved frame cannot be freed, and its address is neither free memory nor anything kmalloc returned.
    for (const pfn of [0, 1, REF_RESERVED_PAGES - 1, 512, 1535, 4027, 4031, 4032, 4095]) {
      const before = snapshot(m);
      assert.equal(m.buddy.freePages(pfn, 0, 0), 'reserved page', `free_pages(${pfn}, 0)`);
      assert.equal(m.kfree(pfn * REF_PAGE_SIZE + REF_PAGE_SIZE / 2)?.code, 'KM4003', `kfree inside frame ${pfn}`);
      assert.deepEqual(snapshot(m), before, `freeing reserved frame ${pfn} changed the machine`);
      assert.equal(addressView(m, pfn * REF_PAGE_SIZE).state, 'reserved');
    }
    assert.equal(addressView(m, REF_RESERVED_LOW_BYTES - 1).state, 'reserved');
    assert.equal(addressView(m, REF_RESERVED_LOW_BYTES).state, 'free');
    assert.equal(addressView(m, obj).state, 'slab object');
  });
});

describe('buddy allocator (mm/page_alloc.c)', () => {
  test('a fresh machine holds every free range in the largest aligned blocks, all Movable', () => {
    const m = boot(256 * MiB, 2);
    // DMA: 256..511 (order 8), 512..1023 (order 9), three 4 MiB blocks. DMA32: 6144..64506 (after the image,
    // before the page tables) = 58363 frames = 56 blocks of 4 MiB and 1019 = 512 + 256 + 128 + 64 + 32 + 16 +
    // 8 + 2 + 1 frames.
    assert.deepEqual(m.buddy.nrFreeByOrder(), [1, 1, 0, 1, 1, 1, 1, 1, 2, 2, 59]);
    assert.deepEqual(m.buddy.nrFreeByOrder(), refFreshNrFree(256 * MiB));
    assert.deepEqual(zoneNrFree(m), refFreshZoneNrFree(256 * MiB));
    assert.deepEqual(
      zoneNrFree(m),
      new Map([
        ['DMA', [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 3]],
        ['DMA32', [1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 56]],
      ]),
    );
    for (const b of refFreshBlocks(256 * MiB)) {
      if (b.pfn >= 1024 && b.pfn < 63488) assert.equal(b.order, REF_MAX_PAGE_ORDER, `4 MiB blocks (${b.pfn})`);
      assert.deepEqual(m.buddy.findFreeBlock(b.pfn), b);
    }
    // 65536 - 256 (low) - 2048 (image) - 5 (page tables) - 1024 (memmap).
    assert.equal(m.buddy.nrFreePages, 62203);
    assert.equal(m.buddy.managedPages, 62203);
    // memmap_init_range() marks every page block MIGRATE_MOVABLE: every free block is on a Movable list.
    assert.ok(m.buddy.pageblockMt.every((t) => t === REF_MIGRATE_MOVABLE));
    for (const zone of m.buddy.populatedZones()) {
      for (let o = 0; o <= REF_MAX_PAGE_ORDER; o++) {
        assert.equal(zone.nrFreeByType[o * REF_MIGRATE_TYPES + REF_MIGRATE_MOVABLE], zone.nrFree[o]);
      }
    }
    assert.equal(m.buddy.nrPcpPages, 0, 'no page on a per-CPU list');
    assert.deepEqual(buddyProblems(m, new Map()), []);
  });

  test('free ranges that do not end on 4 MiB boundaries end in smaller aligned blocks', () => {
    const memoryBytes = SMALL_DMA32_BYTES;
    const m = boot(memoryBytes, 1);
    // 4200 frames: the image is a quarter, 1050 pages at 2 MiB (512..1561); the memmap ceil(4200 * 64 / 4096) =
    // 66 pages (4134..4199); 8 page-table pages below it (4126..4133): PGD, direct-map PUD, PMD and a PTE page
    // for the last, partial 2 MiB; the image's PUD, PMD and two PTE pages (text ends at 512 + 525 = 1037, so
    // 1024..1036 and 1037..1535 use 4 KiB pages, and 1536..1561 too). Free: 256..511 (order 8), then
    // 1562..4125: orders 1, 2, 5, 6, 7, 8 up to 2048, two 4 MiB blocks up to 16 MiB, then 4096..4125 in DMA32:
    // orders 4, 3, 2, 1.
    assert.deepEqual(m.buddy.nrFreeByOrder(), [0, 2, 2, 1, 1, 1, 1, 1, 2, 0, 2]);
    assert.deepEqual(m.buddy.nrFreeByOrder(), refFreshNrFree(memoryBytes));
    assert.deepEqual(zoneNrFree(m), refFreshZoneNrFree(memoryBytes));
    assert.deepEqual(
      zoneNrFree(m),
      new Map([
        ['DMA', [0, 1, 1, 0, 0, 1, 1, 1, 2, 0, 2]],
        ['DMA32', [0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0]],
      ]),
    );
    assert.deepEqual(refFreshBlocks(memoryBytes).slice(-4), [
      { pfn: 4096, order: 4 },
      { pfn: 4112, order: 3 },
      { pfn: 4120, order: 2 },
      { pfn: 4124, order: 1 },
    ]);
    for (const b of refFreshBlocks(memoryBytes)) {
      assert.deepEqual(m.buddy.findFreeBlock(b.pfn), b);
    }
    assert.deepEqual(buddyProblems(m, new Map()), []);
  });

  test('__rmqueue_smallest splits the smallest block of the type into one free block per lower order; free merges back', () => {
    const m = boot(256 * MiB, 2);
    const before = formatBuddyinfo(buddyinfoView(m));
    const fresh = refFreshZoneNrFree(256 * MiB);
    const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);
    assert.deepEqual([...fresh.keys()], ['DMA', 'DMA32'], 'below 4 GiB: no Normal zone');
    // Order 4 bypasses the per-CPU lists (pcp_allowed_order: 0..3 and 9) and a movable request finds its own
    // type, so this is __rmqueue_smallest() alone. gfp_zone() = ZONE_NORMAL, empty on 256M: the zonelist walk
    // starts at DMA32. Its smallest block of order >= 4 is the order-4 block the page tables left at 64480:
    // taken whole; the next is the order-5 block at 64448, split into 64448 (taken) and 64464 (order 4, free).
    assert.equal(take(m, 4), 64480);
    const top = take(m, 4);
    assert.equal(top, 64448);
    assert.deepEqual(zoneNrFree(m).get('DMA32'), nrFreeWith(fresh.get('DMA32')!, [], [5]));
    assert.deepEqual(m.buddy.findFreeBlock(64464), { pfn: 64464, order: 4 });
    assert.deepEqual(zoneNrFree(m).get('DMA'), fresh.get('DMA'), 'the DMA zone is untouched');
    assert.deepEqual(
      buddyProblems(
        m,
        new Map([
          [64480, 4],
          [top, 4],
        ]),
      ),
      [],
    );
    assert.equal(m.buddy.freePages(top, 4, 0), undefined);
    assert.equal(m.buddy.freePages(64480, 4, 0), undefined);
    assert.equal(formatBuddyinfo(buddyinfoView(m)), before);
    assert.deepEqual(buddyProblems(m, new Map()), []);

    // GFP_DMA: only the DMA zone, whose smallest block of order >= 4 is the order-8 block above the low 1 MiB.
    const DMA_MOVABLE = MOVABLE | GFP_DMA;
    const low = REF_RESERVED_PAGES;
    const pfn = take(m, 4, DMA_MOVABLE);
    assert.equal(pfn, low, 'the order-8 block at the end of the reservation is split first');
    assert.deepEqual(zoneNrFree(m).get('DMA'), nrFreeWith(fresh.get('DMA')!, range(4, 8), [8]));
    assert.deepEqual(zoneNrFree(m).get('DMA'), [0, 0, 0, 0, 1, 1, 1, 1, 0, 1, 3]);
    assert.deepEqual(zoneNrFree(m).get('DMA32'), fresh.get('DMA32'), 'the DMA32 zone is untouched');
    for (let order = 4; order < 8; order++) {
      assert.deepEqual(m.buddy.findFreeBlock(low + 2 ** order), { pfn: low + 2 ** order, order });
    }
    assert.deepEqual(buddyProblems(m, new Map([[low, 4]])), []);
    assert.equal(m.buddy.freePages(pfn, 4, 0), undefined);
    assert.equal(formatBuddyinfo(buddyinfoView(m)), before);

    // With the order-8 block and the first 4 MiB block taken, order 4 splits the order-9 block at 512.
    const held = new Map([
      [take(m, 8, DMA_MOVABLE), 8],
      [take(m, 10, DMA_MOVABLE), 10],
    ]);
    assert.deepEqual([...held.keys()], [256, 1024]);
    const next = take(m, 4, DMA_MOVABLE);
    assert.equal(next, 512);
    held.set(next, 4);
    assert.deepEqual(zoneNrFree(m).get('DMA'), [0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 2]);
    assert.deepEqual(buddyProblems(m, held), []);
    for (const [head, order] of held) {
      assert.equal(m.buddy.freePages(head, order, 0), undefined);
    }
    assert.equal(formatBuddyinfo(buddyinfoView(m)), before);
    assert.deepEqual(buddyProblems(m, new Map()), []);
  });

  test('blocks merge only with their buddy, pfn ^ (1 << order)', () => {
    const m = boot(16 * MiB, 1);
    // Order-4 blocks (U = 16 frames) out of the order-8 block at B = 256; order 4 bypasses the per-CPU lists.
    // The smaller order-4, 5 and 7 blocks near the top are taken first, so the order-8 list's head (256) is
    // the smallest block left; successive order-4 requests then come out in address order.
    const B = REF_RESERVED_PAGES;
    const U = 16;
    assert.equal(take(m, 4), 4000);
    assert.equal(take(m, 5), 3968);
    assert.equal(take(m, 7), 3840);
    const blocks = Array.from({ length: 8 }, () => take(m, 4));
    assert.deepEqual(
      blocks,
      [0, 1, 2, 3, 4, 5, 6, 7].map((i) => B + i * U),
    );
    const held = new Map([...blocks.map((p): [number, number] => [p, 4]), [4000, 4], [3968, 5], [3840, 7]]);
    const free = (pfn: number): void => {
      assert.equal(m.buddy.freePages(pfn, 4, 0), undefined);
      held.delete(pfn);
      assert.deepEqual(buddyProblems(m, held), []);
    };
    free(B + 2 * U);
    assert.deepEqual(m.buddy.findFreeBlock(B + 2 * U), { pfn: B + 2 * U, order: 4 }, 'buddy B+3U is allocated');
    free(B + 3 * U);
    assert.deepEqual(m.buddy.findFreeBlock(B + 2 * U), { pfn: B + 2 * U, order: 5 }, '(B+3U) ^ U = B+2U: order 5');
    free(B + 4 * U);
    free(B + 5 * U);
    assert.deepEqual(m.buddy.findFreeBlock(B + 4 * U), { pfn: B + 4 * U, order: 5 });
    assert.deepEqual(
      m.buddy.findFreeBlock(B + 2 * U),
      { pfn: B + 2 * U, order: 5 },
      'B+2U and B+4U are adjacent free order-5 blocks but (B+2U) ^ 2U = B, not B+4U: they stay apart',
    );
    free(B);
    free(B + U);
    assert.deepEqual(m.buddy.findFreeBlock(B), { pfn: B, order: 6 }, 'B and B+U -> order 5, then B ^ 2U = B+2U -> 6');
    assert.deepEqual(m.buddy.findFreeBlock(B + 4 * U), { pfn: B + 4 * U, order: 5 }, 'order 5 and order 6: no merge');
    free(B + 6 * U);
    free(B + 7 * U);
    assert.deepEqual(
      m.buddy.findFreeBlock(B),
      { pfn: B, order: 8 },
      'everything merged back to order 8, and no further: its buddy 256 ^ 256 = 0 is reserved',
    );
    assert.equal(m.buddy.freePages(4000, 4, 0), undefined);
    assert.equal(m.buddy.freePages(3968, 5, 0), undefined);
    assert.equal(m.buddy.freePages(3840, 7, 0), undefined);
    assert.deepEqual(m.buddy.nrFreeByOrder(), refFreshNrFree(16 * MiB));
  });

  test('a costly order nobody can serve returns NO_PFN: no throw, no OOM killer', () => {
    // mm/page_alloc.c __alloc_pages_slowpath(): costly_order (> PAGE_ALLOC_COSTLY_ORDER = 3) without
    // __GFP_RETRY_MAYFAIL goes to nopage after reclaim and compaction; __alloc_pages_may_oom() is not reached.
    const m = boot(16 * MiB, 1);
    const quiet = MOVABLE | __GFP_NOWARN;
    // 16M: 2747 managed pages; min_free_kbytes = int_sqrt(2747 * 4 * 16) = 419 (419^2 = 175561 <= 175808 <
    // 420^2): min 104 pages, low 104 + max(26, 2) = 130. __zone_watermark_ok() counts free - (2^order - 1).
    const zone = zoneNamed(m, 'DMA') as unknown as { wmarkMin: number; wmarkLow: number };
    assert.deepEqual([zone.wmarkMin, zone.wmarkLow], [104, 130]);
    assert.equal(take(m, 10, quiet), 2048, 'the only 4 MiB block; 1723 pages left');
    assert.equal(take(m, 10, quiet), NONE, 'no block of order 10 left: __zone_watermark_ok fails for every mark');
    assert.equal(m.buddy.lastFailure, 'nopage');
    // Order 9 goes through the per-CPU list, whose refill takes one block: batch 1 on a zone this small
    // (zone_batchsize: 2747 >> 10 = 2, / 4 = 0 -> 1, rounddown_pow_of_two(1) - 1 = 0 -> max(1, 0)).
    assert.equal(take(m, 9, quiet), 1536, '1723 - 511 > 130; 1211 left');
    assert.equal(take(m, 9, quiet), 3072, '1211 - 511 > 130; 699 left');
    assert.equal(take(m, 8, quiet), 256, '699 - 255 > 130; 443 left');
    assert.equal(take(m, 8, quiet), 3584, '443 - 255 = 188 > 130; 187 left');
    assert.equal(take(m, 7, quiet), NONE, '187 - 127 = 60: below low (130) and min (104)');
    assert.equal(m.buddy.lastFailure, 'nopage');
    assert.equal(take(m, REF_MAX_PAGE_ORDER + 1, quiet), NONE, 'order above MAX_PAGE_ORDER');
    assert.equal(m.buddy.lastFailure, 'order');
    assert.equal(m.panic, undefined);
    assert.equal(m.buddy.nrFreePages, 187);
    assert.deepEqual(m.buddy.nrFreeByOrder(), [1, 1, 0, 1, 1, 1, 0, 1, 0, 0, 0]);
    const held = new Map([
      [2048, 10],
      [1536, 9],
      [3072, 9],
      [256, 8],
      [3584, 8],
    ]);
    assert.deepEqual(buddyProblems(m, held), []);
    for (const [pfn, order] of held) assert.equal(m.buddy.freePages(pfn, order, 0), undefined);
    m.buddy.drainAll();
    assert.deepEqual(m.buddy.nrFreeByOrder(), refFreshNrFree(16 * MiB));
  });

  test('kmalloc on an exhausted machine: a costly large kmalloc fails, a slab-sized one OOM-panics', () => {
    const m = boot(16 * MiB, 1);
    // Every free block of order >= 8 as one large kmalloc (GFP_KERNEL: unmovable, so each comes from
    // __rmqueue_fallback, the largest Movable block first; orders >= pageblock_order and order-8 blocks whose
    // page block is free or reserved for at least half claim their page block).
    const sizes = [4 * MiB, 2 * MiB, 2 * MiB, MiB, MiB];
    assert.deepEqual(
      sizes.map((size) => m.kmalloc(size, GFP_KERNEL) / REF_PAGE_SIZE),
      [2048, 1536, 3072, 256, 3584],
    );
    assert.equal(m.buddy.nrFreePages, 187, 'the blocks of orders 7, 5, 4, 3, 1, 0');
    let seq = m.events.length;
    assert.equal(m.kmalloc(4 * MiB, GFP_KERNEL), KMALLOC_FAILED, 'order 10: costly, NULL');
    // The slow path tries direct compaction first (__alloc_pages_direct_compact: nothing movable to migrate),
    // then gives up without the OOM killer.
    assert.deepEqual(
      newEvents(m, seq).map((e) => e.kind),
      [EventKind.Compaction, EventKind.KmallocFail],
      'compaction, then NULL: no oom event',
    );
    assert.equal(m.panic, undefined, 'a costly order never invokes the OOM killer');
    assert.equal(m.log.length, 1, 'warn_alloc');
    // kmalloc(20000) is order 3, not costly. 187 free: it succeeds while free - 7 > min (104), i.e. from 187
    // down to 115 in steps of 8 (10 times); the 11th, at 107, reaches __alloc_pages_may_oom(), and with no
    // task to kill out_of_memory() panics.
    let n = 0;
    while (m.kmalloc(20000, GFP_KERNEL) !== KMALLOC_FAILED) n++;
    assert.equal(n, 10);
    assert.equal(m.buddy.nrFreePages, 107);
    assert.equal((m.panic as { code: string } | undefined)?.code, 'KM4008');
    assert.equal(
      m.log.at(-1),
      'kmem invoked oom-killer: gfp_mask=0x40cc0(GFP_KERNEL|__GFP_COMP), order=3, oom_score_adj=0\n' +
        'Out of memory and no killable processes...\n' +
        'Kernel panic - not syncing: System is deadlocked on memory\n',
    );
    seq = m.events.length - 2;
    assert.deepEqual(
      newEvents(m, seq).map((e) => [e.kind, e.size]),
      [
        [EventKind.Oom, GFP_KERNEL | 0x40000],
        [EventKind.KmallocFail, 20000],
      ],
    );
    // After the panic nothing is allocated any more.
    seq = m.events.length;
    assert.equal(m.kmalloc(64, GFP_KERNEL), KMALLOC_FAILED);
    assert.deepEqual(
      newEvents(m, seq).map((e) => [e.kind, e.cache, e.size]),
      [[EventKind.KmallocFail, cacheNamed(m, 'kmalloc-64').id, 64]],
    );
  });

  test('bad frees return a reason and change nothing', () => {
    const m = boot(16 * MiB, 1);
    const compound = take(m, 2, MOVABLE, true);
    const single = take(m, 0);
    const freed = take(m, 1);
    assert.equal(m.buddy.freePages(freed, 1, 0), undefined);
    assert.notEqual(m.buddy.findPcpBlock(freed), undefined, 'the freed order-1 block waits on the CPU list');
    const slabObj = m.kmalloc(64, GFP_KERNEL);
    const slabPfn = Math.floor(slabObj / REF_PAGE_SIZE);
    const plain = take(m, 2);
    // The smallest movable blocks (order 3 at 4016, order 0 at 4026, order 1 at 4024) served the requests; the
    // order-4 block at 4000 is still free.
    assert.deepEqual(m.buddy.findFreeBlock(4000), { pfn: 4000, order: 4 });
    const cases: [string, number, number, string][] = [
      ['double free (the block is on the per-CPU list)', freed, 1, 'page already free'],
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
      ['a page of the kernel image', 512, 0, 'reserved page'],
      ['a boot page-table page', 4027, 0, 'reserved page'],
      ['a page of the memmap', 4032, 0, 'reserved page'],
      ['pfn beyond the zone', 4096, 0, 'pfn outside the zone'],
      ['negative pfn', -1, 0, 'pfn outside the zone'],
    ];
    for (const [what, pfn, order, reason] of cases) {
      const before = snapshot(m);
      assert.equal(m.buddy.freePages(pfn, order, 0), reason, what);
      assert.deepEqual(snapshot(m), before, `${what} changed the machine`);
    }
  });

  test('freeing an inner page of a non-compound high-order block is refused: only its first page holds a reference', () => {
    // Only the first page of a non-compound order-n allocation holds a reference (set_page_refcounted);
    // __free_pages() on any other page finds refcount 0 (VM_BUG_ON_PAGE with CONFIG_DEBUG_VM) and frees
    // nothing.
    const m = boot(16 * MiB, 1);
    const pfn = take(m, 2);
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
        m.buddy.freePages(inner, order, 0),
        'not the head of an allocation',
        `free_pages(pfn + ${inner - pfn}, ${order}) of an order-2 block`,
      );
      assert.deepEqual(snapshot(m), before);
      assert.deepEqual(buddyProblems(m, new Map([[pfn, 2]])), []);
    }
    assert.equal(m.buddy.freePages(pfn, 2, 0), undefined, 'the first page frees the block');
    assert.equal(m.frames.refcount[pfn], 0);
    assert.deepEqual(buddyProblems(m, new Map()), []);
    m.buddy.drainAll();
    assert.deepEqual(m.buddy.nrFreeByOrder(), refFreshNrFree(16 * MiB));
  });

  test('property: random alloc/free sequences keep the free lists and the per-CPU lists exact', (t) => {
    t.diagnostic(`fast-check seed ${FC_SEED} (set FC_SEED to change)`);
    const quiet = (gfp: number): number => gfp | __GFP_NOWARN;
    // Masks that never reach the OOM killer (which would panic the machine): __GFP_NORETRY for the reclaiming
    // ones, the others cannot reclaim (nopage) or are lowmem-only (GFP_DMA32 with reclaim).
    const masks = [
      0,
      GFP_KERNEL | __GFP_NORETRY,
      GFP_DMA,
      GFP_DMA32,
      GFP_KERNEL | GFP_DMA | __GFP_NORETRY,
      GFP_KERNEL | GFP_DMA32,
      GFP_ATOMIC,
      GFP_NOWAIT | __GFP_MOVABLE,
      MOVABLE | __GFP_NORETRY,
    ].map(quiet);
    type Op =
      | { kind: 'alloc'; order: number; compound: boolean; gfp: number; cpu: number }
      | { kind: 'free'; pick: number; cpu: number }
      | { kind: 'drain' }
      | { kind: 'bad'; pick: number; how: 'double' | 'inside-free' | 'wrong-order' | 'inner' };
    const cpu = fc.integer({ min: 0, max: 1 });
    const op: fc.Arbitrary<Op> = fc.oneof(
      {
        weight: 5,
        arbitrary: fc.record({
          kind: fc.constant('alloc' as const),
          order: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: REF_MAX_PAGE_ORDER })),
          compound: fc.boolean(),
          gfp: fc.constantFrom(...masks),
          cpu,
        }),
      },
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('free' as const), pick: fc.nat(), cpu }) },
      { weight: 1, arbitrary: fc.constant({ kind: 'drain' as const }) },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('bad' as const),
          pick: fc.nat(),
          how: fc.constantFrom('double' as const, 'inside-free' as const, 'wrong-order' as const, 'inner' as const),
        }),
      },
    );
    const seen = { ops: 0, allocs: 0, failures: 0, fallbacks: 0, frees: 0, badFrees: 0, maxCached: 0 };
    fc.assert(
      fc.property(fc.array(op, { maxLength: 250, size: 'max' }), (ops) => {
        // 4200 frames: DMA32 holds only 38 free frames (orders 5, 2, 1) and ends at the memmap, so requests
        // fall back to DMA often and merges meet the end of the zone.
        const memoryBytes = SMALL_DMA32_BYTES;
        const m = boot(memoryBytes, 2);
        const zones = refZones(memoryBytes);
        seen.ops += ops.length;
        const held = new Map<number, { order: number; compound: boolean }>();
        const freed: { pfn: number; order: number }[] = [];
        const heldOrders = (): Map<number, number> => new Map([...held].map(([pfn, b]) => [pfn, b.order]));
        for (const o of ops) {
          if (o.kind === 'alloc') {
            const highest = refGfpZone(o.gfp);
            const pfn = m.buddy.allocPages({ order: o.order, gfp: o.gfp, cpu: o.cpu, compound: o.compound });
            seen.allocs++;
            if (pfn === NONE) {
              seen.failures++;
              // Only when no zone of the zonelist passes the slow path's watermark check (after the drain a
              // reclaiming caller does) or the order is above MAX_PAGE_ORDER.
              if (o.order <= REF_MAX_PAGE_ORDER) {
                for (let z = highest; z >= 0; z--) {
                  const zone = m.buddy.zones[z]!;
                  if (zone.managedPages === 0) continue;
                  assert.ok(
                    !refWatermarkOk(zone, o.order, o.gfp, highest),
                    `order ${o.order} gfp 0x${o.gfp.toString(16)} failed, ${zone.name} passes the min watermark`,
                  );
                }
              }
              assert.equal(m.panic, undefined);
            } else {
              assert.ok(!held.has(pfn), `block ${pfn} handed out twice`);
              assert.equal(pfn % 2 ** o.order, 0, `block ${pfn} of order ${o.order} is aligned`);
              const zi = REF_ZONE_NAMES.indexOf(refZoneOf(pfn));
              assert.ok(zi <= highest, `order ${o.order} with gfp ${o.gfp} came from ${refZoneOf(pfn)}`);
              const zone = zones[zi]!;
              assert.ok(pfn + 2 ** o.order <= zone.end, 'the block lies in one zone');
              const populated = zones.filter((z, i) => i <= highest && z.end > z.start);
              if (zone.name !== populated.at(-1)!.name) seen.fallbacks++;
              held.set(pfn, { order: o.order, compound: o.compound });
            }
          } else if (o.kind === 'free') {
            if (held.size === 0) continue;
            const [pfn, b] = [...held][o.pick % held.size]!;
            assert.equal(m.buddy.freePages(pfn, b.order, o.cpu), undefined, `free of ${pfn} order ${b.order}`);
            held.delete(pfn);
            freed.push({ pfn, order: b.order });
            seen.frees++;
          } else if (o.kind === 'drain') {
            m.buddy.drainAll();
            assert.equal(m.buddy.nrPcpPages, 0, 'drain_all_pages empties every per-CPU list');
          } else {
            let target: { pfn: number; order: number } | undefined;
            const covered = (pfn: number): boolean => [...held].some(([h, b]) => pfn >= h && pfn < h + 2 ** b.order);
            if (o.how === 'double') {
              const f = freed[o.pick % Math.max(1, freed.length)];
              if (f && !covered(f.pfn)) target = f;
            } else if (o.how === 'inside-free') {
              // Any frame nobody holds: free, on a per-CPU list, or reserved.
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
              const reason = m.buddy.freePages(target.pfn, target.order, 0);
              assert.notEqual(reason, undefined, `bad free (${o.how}) of ${target.pfn} order ${target.order} accepted`);
              assert.deepEqual(snapshot(m), before, `bad free (${o.how}) changed the allocator`);
            }
          }
          seen.maxCached = Math.max(seen.maxCached, m.buddy.nrPcpPages);
          assert.deepEqual(buddyProblems(m, heldOrders()), [], `after ${JSON.stringify(o)}`);
        }
        for (const [pfn, b] of held) {
          assert.equal(m.buddy.freePages(pfn, b.order, 0), undefined);
        }
        m.buddy.drainAll();
        // Everything free again: the boot layout is back, whatever page blocks changed type.
        assert.deepEqual(m.buddy.nrFreeByOrder(), refFreshNrFree(memoryBytes));
        assert.deepEqual(zoneNrFree(m), refFreshZoneNrFree(memoryBytes));
        assert.deepEqual(buddyProblems(m, new Map()), []);
      }),
      { seed: FC_SEED, numRuns: 30 },
    );
    t.diagnostic(`covered: ${JSON.stringify(seen)}`);
    assert.ok(
      seen.failures > 0 && seen.fallbacks > 0 && seen.maxCached > 0,
      'failures, fallbacks and cached pages seen',
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
// Zones
// ---------------------------------------------------------------------------------------------------------

describe('zones (arch/x86/mm/init.c zone_sizes_init, include/linux/gfp.h gfp_zone)', () => {
  const GiB = 1024 * MiB;

  test('DMA below 16 MiB, DMA32 below 4 GiB, Normal above; /proc/buddyinfo prints the populated zones', () => {
    assert.equal(REF_MAX_DMA_PFN, 4096);
    assert.equal(REF_MAX_DMA32_PFN, 1048576);
    const cases: [number, string[]][] = [
      [16 * MiB, ['DMA']],
      [SMALL_DMA32_BYTES, ['DMA', 'DMA32']],
      [256 * MiB, ['DMA', 'DMA32']],
      [4 * GiB, ['DMA', 'DMA32']],
      // One page above 4 GiB: Normal is populated (present_pages 1) although the memmap covers it (managed 0).
      [4 * GiB + REF_PAGE_SIZE, ['DMA', 'DMA32', 'Normal']],
      [6 * GiB, ['DMA', 'DMA32', 'Normal']],
    ];
    for (const [memoryBytes, populated] of cases) {
      const m = boot(memoryBytes, 1);
      const what = formatSize(memoryBytes);
      const zones = refZones(memoryBytes);
      const reserved = refReservedMap(memoryBytes);
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
        let unreserved = 0;
        for (let p = z.start; p < z.end; p++) if (!reserved[p]) unreserved++;
        assert.equal(managed, unreserved, `${what}: ${z.name} size`);
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
    // 16M: 256..511 and 1536..4026 (image at 2 MiB, page tables 4027..4031, memmap 64 pages). 256M: DMA32 holds
    // 6144..64506, 56 blocks of 4 MiB and 1019 frames. 6G: DMA32 (6144..1048575) 1018 blocks; Normal up to the
    // 4 page-table pages below the memmap (1572864 - 24576 - 4 = 1548284): 487 blocks and 1020 frames.
    assert.equal(
      formatBuddyinfo(buddyinfoView(boot(16 * MiB, 1))),
      'Node 0, zone      DMA      1      1      0      1      1      1      0      1      2      2      1 \n',
    );
    assert.equal(
      formatBuddyinfo(buddyinfoView(boot(256 * MiB, 1))),
      dma + 'Node 0, zone    DMA32      1      1      0      1      1      1      1      1      1      1     56 \n',
    );
    assert.equal(
      formatBuddyinfo(buddyinfoView(boot(6 * GiB, 1))),
      dma +
        'Node 0, zone    DMA32      0      0      0      0      0      0      0      0      0      0   1018 \n' +
        'Node 0, zone   Normal      0      0      1      1      1      1      1      1      1      1    487 \n',
    );
  });

  test('the zonelist walk: the low watermark in every zone first, then the min watermark; lowmem_reserve keeps DMA', () => {
    // get_page_from_freelist() walks Normal -> DMA32 -> DMA (build_zonelists) with ALLOC_WMARK_LOW, then the
    // slow path walks it again with ALLOC_WMARK_MIN. A zone serves order o while free - (2^o - 1) > mark +
    // lowmem_reserve[gfp_zone] and it has a block of order >= o (__zone_watermark_ok). 6G, from
    // init_per_zone_wmark_min (as watermarks.test.ts computes): managed DMA 3840, DMA32 1042432, Normal 499708;
    // min/low: DMA 6/9, DMA32 1676/2718, Normal 803/1302; lowmem_reserve[Normal]: DMA 6023, DMA32 1951.
    const m = boot(6 * GiB, 2);
    const fresh = refFreshZoneNrFree(6 * GiB);
    const held = new Map<number, number>();
    const alloc = (order: number, gfp = MOVABLE | __GFP_NOWARN): number => {
      const pfn = take(m, order, gfp);
      if (pfn !== NONE) held.set(pfn, order);
      return pfn;
    };
    // Normal: 487 blocks; the k-th order-10 request sees 499708 - 1024k free and passes low while
    // 499708 - 1024k - 1023 > 1302, i.e. k <= 485.
    const normal = Array.from({ length: 486 }, () => alloc(10));
    assert.deepEqual(
      normal,
      Array.from({ length: 486 }, (_, k) => REF_MAX_DMA32_PFN + 1024 * k),
    );
    // The 487th: Normal has 2044 free, 1021 counting the request: below low, so the fast path moves on to DMA32
    // (1042432 - 1023 > 2718 + 1951), the first block after the kernel image.
    assert.equal(alloc(10), 6144);
    // DMA32 passes low while 1042432 - 1024j - 1023 > 4669, i.e. j <= 1012: 1013 blocks in all.
    const dma32 = Array.from({ length: 1012 }, () => alloc(10));
    assert.deepEqual(
      dma32,
      Array.from({ length: 1012 }, (_, j) => 6144 + 1024 * (j + 1)),
    );
    // Now no zone passes low (DMA: 3840 - 1023 <= 9 + 6023), so the slow path's min watermark: Normal's
    // 2044 - 1023 = 1021 > 803 serves one more, then DMA32's 5120 - 1023 = 4097 > 1676 + 1951 one more.
    assert.equal(alloc(10), REF_MAX_DMA32_PFN + 1024 * 486);
    assert.equal(alloc(10), 6144 + 1024 * 1013);
    // Nothing passes min now: Normal has no 4 MiB block, DMA32 3073 (<= 3627), DMA 2817 (<= 6 + 6023, the
    // lowmem reserve that keeps DMA for GFP_DMA callers). A costly order: NULL, no OOM.
    assert.equal(alloc(10), NONE);
    assert.equal(m.buddy.lastFailure, 'nopage');
    assert.equal(m.panic, undefined);
    assert.deepEqual(Array.from(zoneNamed(m, 'DMA').nrFree), fresh.get('DMA'), 'DMA untouched');
    assert.deepEqual([zoneNamed(m, 'Normal').freePages, zoneNamed(m, 'DMA32').freePages], [1020, 4096]);
    // GFP_DMA's zonelist is DMA alone, with lowmem_reserve[DMA] = 0.
    assert.equal(alloc(10, GFP_DMA), 1024);
    for (const [pfn, order] of held) {
      assert.equal(m.buddy.freePages(pfn, order, 0), undefined, `free_pages(${pfn}, ${order})`);
    }
    m.buddy.drainAll();
    assert.deepEqual(zoneNrFree(m), fresh, 'everything merged back in its own zone');
  });

  test('a tiny DMA32 zone serves what its watermark allows; the rest falls back to DMA', () => {
    // 4200 frames: DMA32 holds 30 free frames (order 4 at 4096, 3 at 4112, 2 at 4120, 1 at 4124); managed
    // DMA 2790, DMA32 30. min_free_kbytes int_sqrt(2820 * 4 * 16 = 180480) = 424 (424^2 = 179776, 425^2 =
    // 180625): pages_min 106, DMA32 min = 106 * 30 / 2820 = 1 and low = 1 + max(0, 0) = 1; DMA min
    // 106 * 2790 / 2820 = 104, low 130.
    const m = boot(SMALL_DMA32_BYTES, 1);
    const dma32 = zoneNamed(m, 'DMA32') as unknown as { freePages: number; wmarkMin: number; wmarkLow: number };
    assert.deepEqual([dma32.wmarkMin, dma32.wmarkLow], [1, 1]);
    // Order 0 refills the CPU list with one block (batch 1): the smallest movable block, order 1 at 4124.
    assert.equal(take(m, 0), 4124);
    assert.equal(take(m, 6), 1600, 'no order-6 block in DMA32: the smallest one in DMA, above the image');
    assert.equal(take(m, 4), 4096, '29 - 15 > 1');
    assert.equal(take(m, 3), 4112, '13 - 7 > 1');
    assert.equal(take(m, 2), 4120, '5 - 3 > 1');
    assert.equal(dma32.freePages, 1, 'page 4125');
    // 1 free page is not above DMA32's low or min watermark (1): the next page comes from DMA, from the
    // order-1 block the kernel image's end left at 1562.
    assert.equal(take(m, 0), 1562);
    assert.equal(dma32.freePages, 1);
    // 256M: the smallest movable block of DMA32 is the single page at 64506, left below the page tables.
    assert.equal(take(boot(256 * MiB, 1), 0), 64506);
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
    // On a fresh machine a 4 MiB request gets the first 4 MiB block of the zone gfp_zone() picks: a movable one
    // from __rmqueue_smallest, the others by stealing the largest Movable block (the head of the order-10
    // list, which boot queued in address order).
    const first: Record<RefZoneName, number> = { DMA: 1024, DMA32: 6144, Normal: REF_MAX_DMA32_PFN };
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
      const m = boot(memoryBytes, 2);
      const pfn = take(m, REF_MAX_PAGE_ORDER, gfp, true);
      const zone = REF_ZONE_NAMES[refGfpZone(gfp)]!;
      assert.equal(pfn, first[zone], `gfp 0x${gfp.toString(16)} allocates from ${zone}`);
      // Taking a whole 4 MiB block for an unmovable request changes the type of its two page blocks.
      const type = gfp & __GFP_MOVABLE ? REF_MIGRATE_MOVABLE : REF_MIGRATE_UNMOVABLE;
      assert.deepEqual([m.buddy.pageblockMt[pfn >> 9], m.buddy.pageblockMt[(pfn >> 9) + 1]], [type, type]);
    }

    const m = boot(memoryBytes, 2);
    const fresh = refFreshZoneNrFree(memoryBytes);
    const dma = zoneNamed(m, 'DMA');
    const dma32 = zoneNamed(m, 'DMA32');
    const normal = zoneNamed(m, 'Normal');
    const held = new Map<number, number>();
    const alloc = (order: number, gfp: number): number => {
      const pfn = take(m, order, gfp | __GFP_NOWARN);
      if (pfn !== NONE) held.set(pfn, order);
      return pfn;
    };
    // GFP_DMA never leaves DMA (3840 free, min 6, low 9; it cannot reclaim). Orders 10, 10, 10 take the three
    // 4 MiB blocks; a fourth finds no block; order 9 takes 512 (768 - 511 > 9); order 8 sees 256 - 255 = 1,
    // not above the watermark; order 0 gets 256, claiming page block 0 for Unmovable: its 256 free pages and
    // 256 reserved ones (neither free nor movable: "alike") make the whole block (steal_suitable_fallback).
    assert.deepEqual(
      [10, 10, 10, 10, 9, 8, 0].map((order) => alloc(order, GFP_DMA)),
      [1024, 2048, 3072, NONE, 512, NONE, 256],
    );
    assert.equal(m.buddy.pageblockMt[0], REF_MIGRATE_UNMOVABLE);
    assert.equal(dma.freePages, 255);
    assert.deepEqual(Array.from(dma32.nrFree), fresh.get('DMA32'));
    assert.deepEqual(Array.from(normal.nrFree), fresh.get('Normal'));

    // GFP_DMA32 never goes above 4 GiB (highest zone DMA32: lowmem_reserve[DMA32] of DMA32 is 0). The j-th
    // order-10 request passes min (1676; it cannot reclaim, no __GFP_HIGH share) while 1042432 - 1024j - 1023
    // > 1676, i.e. j <= 1015: 1016 blocks, then NULL with 2048 pages free in DMA32, while Normal is untouched
    // and DMA's free 4 MiB is kept by lowmem_reserve[DMA32] = 1042432 / 256 = 4072.
    const dma32Blocks = Array.from({ length: 1016 }, () => alloc(10, GFP_DMA32));
    assert.ok(
      dma32Blocks.every((pfn) => pfn >= REF_MAX_DMA_PFN && pfn + 1024 <= REF_MAX_DMA32_PFN),
      'every GFP_DMA32 block lies in DMA32',
    );
    assert.equal(new Set(dma32Blocks).size, 1016);
    assert.equal(m.buddy.freePages(2048, 10, 0), undefined, 'a 4 MiB block free in DMA again');
    held.delete(2048);
    assert.equal(alloc(10, GFP_DMA32), NONE, 'DMA32 at its watermark; DMA behind its lowmem reserve');
    assert.equal(dma32.freePages, 2048);
    assert.deepEqual(Array.from(normal.nrFree), fresh.get('Normal'));
    // An order-0 GFP_DMA32 request still passes: 2048 > 1676.
    const page = alloc(0, GFP_DMA32);
    assert.ok(page >= REF_MAX_DMA_PFN && page < REF_MAX_DMA32_PFN, 'order 0 from DMA32');
    assert.equal(alloc(0, GFP_KERNEL), REF_MAX_DMA32_PFN, 'GFP_KERNEL still gets Normal');
    for (const [pfn, order] of held) {
      assert.equal(m.buddy.freePages(pfn, order, 0), undefined, `free_pages(${pfn}, ${order})`);
    }
    m.buddy.drainAll();
    assert.deepEqual(zoneNrFree(m), fresh);

    // On a 16M machine DMA is the only zone: every mask is served from it. The first unmovable order-8 request
    // claims the 4 MiB block at 2048 (both page blocks); the next ones split its Unmovable remainder.
    const small = boot(16 * MiB, 1);
    assert.deepEqual(
      [GFP_KERNEL, GFP_DMA32, GFP_DMA].map((gfp) => take(small, 8, gfp)),
      [2048, 2304, 2560],
    );
  });

  test('a large kmalloc with GFP_DMA lands below 16 MiB', () => {
    // mm/slab_common.c __kmalloc_large_node(): alloc_pages_node(node, flags | __GFP_COMP, order) with the
    // caller's flags, so the zone modifier picks the zone.
    const m = boot(256 * MiB, 2);
    const before = formatBuddyinfo(buddyinfoView(m));
    // Order 3 (get_order(20000)) is cached per CPU: DMA32's batch is 15 (zone_batchsize(58363): 58363 >> 10 =
    // 56, / 4 = 14, rounddown_pow_of_two(14 + 7) - 1), so the refill takes max(15 >> 3, 2) = 2 blocks
    // (nr_pcp_alloc), the first by claiming DMA32's first 4 MiB block for Unmovable.
    const kernel = m.kmalloc(20000, GFP_KERNEL);
    assert.equal(kernel, 6144 * REF_PAGE_SIZE, 'GFP_KERNEL: DMA32, from 24 MiB (after the kernel image)');
    assert.equal(m.buddy.nrPcpPages, 8, 'the second order-3 block of the refill waits on CPU 0');
    let seq = m.events.length;
    const dma = m.kmalloc(20000, GFP_DMA);
    // DMA (batch 1) steals the largest Movable block for the unmovable request: the 4 MiB block at 4 MiB.
    assert.equal(dma, 4 * MiB);
    assert.ok(dma + (REF_PAGE_SIZE << refGetOrder(20000)) <= 16 * MiB, 'the whole block lies below 16 MiB');
    assert.deepEqual(
      newEvents(m, seq).map((e) => [e.kind, e.addr, e.size, e.extra]),
      [
        [EventKind.PageAlloc, 1024, 0, 3],
        [EventKind.Kmalloc, dma, 20000, REF_PAGE_SIZE << 3],
      ],
    );
    assert.equal(addressView(m, dma + 5 * REF_PAGE_SIZE).state, 'large kmalloc');
    // get_order(100000) = 5 (not cached per CPU): the smallest Unmovable block of order >= 5, in the split
    // block: order 5 at 1024 + 32.
    const dma5 = m.kmalloc(100000, GFP_KERNEL | GFP_DMA);
    assert.equal(dma5, (1024 + 32) * REF_PAGE_SIZE);
    // DMA's other two 4 MiB blocks, then a third GFP_DMA request fails although DMA32 holds 55 free ones.
    const top = [1, 2].map(() => m.kmalloc(4 * MiB, GFP_DMA));
    assert.deepEqual(top, [8 * MiB, 12 * MiB]);
    seq = m.events.length;
    assert.equal(m.kmalloc(4 * MiB, GFP_DMA | __GFP_NOWARN), KMALLOC_FAILED);
    assert.deepEqual(
      newEvents(m, seq).map((e) => [e.kind, e.cache, e.size, e.extra]),
      [[EventKind.KmallocFail, -1, 4 * MiB, 10]],
    );
    assert.equal(zoneNamed(m, 'DMA32').nrFree[10], 55);
    const kernelTop = m.kmalloc(4 * MiB, GFP_KERNEL);
    assert.equal(kernelTop, 7168 * REF_PAGE_SIZE, 'GFP_KERNEL: the second 4 MiB block of DMA32');
    for (const p of [kernel, dma, dma5, ...top, kernelTop]) {
      assert.equal(m.kfree(p), undefined);
    }
    m.buddy.drainAll();
    assert.equal(formatBuddyinfo(buddyinfoView(m)), before);

    // Above 4 GiB of memory: GFP_KERNEL goes to Normal, GFP_DMA still below 16 MiB.
    const big = boot(6 * GiB, 1);
    assert.equal(big.kmalloc(20000, GFP_KERNEL), REF_MAX_DMA32_PFN * REF_PAGE_SIZE);
    assert.equal(big.kmalloc(20000, GFP_KERNEL | GFP_DMA), 4 * MiB);
  });

  test('kmalloc drops __GFP_DMA32 (GFP_SLAB_BUG_MASK): a large kmalloc with GFP_DMA32 comes from Normal', () => {
    // mm/slab.h: GFP_SLAB_BUG_MASK = __GFP_DMA32 | __GFP_HIGHMEM | ~__GFP_BITS_MASK. mm/slub.c
    // ___kmalloc_large_node() (6.12): if (flags & GFP_SLAB_BUG_MASK) flags = kmalloc_fix_flags(flags), which
    // warns "Unexpected gfp: 0x4 (GFP_DMA32). Fixing up to gfp: ..." and clears those bits before
    // alloc_pages_node(). kmalloc cannot hand out DMA32 memory; drivers use GFP_DMA or the page allocator.
    const m = boot(6 * GiB, 1);
    const p = m.kmalloc(20000, GFP_KERNEL | GFP_DMA32);
    assert.equal(p, REF_MAX_DMA32_PFN * REF_PAGE_SIZE, 'gfp_zone(GFP_KERNEL) = Normal: the first frame above 4 GiB');
    // The refill took several order-3 blocks onto CPU 0's unmovable list: the next one is 8 pages on.
    assert.equal(m.kmalloc(20000, GFP_DMA32), (REF_MAX_DMA32_PFN + 8) * REF_PAGE_SIZE, 'the next 8 pages of Normal');
    // The page allocator itself honours GFP_DMA32: DMA32's first 4 MiB block, claimed for Unmovable.
    assert.equal(take(m, 3, GFP_DMA32, true), 6144);
  });

  test('blocks never merge across the 16 MiB boundary between DMA and DMA32', () => {
    // MAX_DMA_PFN = 4096 is a multiple of 2^MAX_PAGE_ORDER, and __free_one_page() merges within one zone's
    // free_area: the frames either side of 16 MiB end in different zones' blocks.
    const m = boot(SMALL_DMA32_BYTES, 1);
    const fresh = refFreshZoneNrFree(SMALL_DMA32_BYTES);
    const dma = zoneNamed(m, 'DMA');
    const dma32 = zoneNamed(m, 'DMA32');
    // DMA's last 4 MiB (3072..4095) and DMA32's first block (4096..4127).
    assert.equal(take(m, 10, MOVABLE | GFP_DMA), 2048);
    assert.equal(take(m, 10, MOVABLE | GFP_DMA), 3072);
    assert.equal(take(m, 4, MOVABLE | GFP_DMA32), 4096);
    assert.deepEqual([dma.freePages, dma32.freePages], [2790 - 2048, 14]);
    assert.equal(m.buddy.freePages(4096, 4, 0), undefined);
    assert.equal(m.buddy.freePages(3072, 10, 0), undefined);
    assert.deepEqual(m.buddy.findFreeBlock(REF_MAX_DMA_PFN - 1), { pfn: REF_MAX_DMA_PFN - 1024, order: 10 });
    assert.deepEqual(m.buddy.findFreeBlock(REF_MAX_DMA_PFN), { pfn: REF_MAX_DMA_PFN, order: 4 });
    assert.deepEqual([dma.freePages, dma32.freePages], [2790 - 1024, 30]);
    assert.deepEqual(Array.from(dma32.nrFree), fresh.get('DMA32'));
    assert.deepEqual(buddyProblems(m, new Map([[2048, 10]])), []);
    assert.equal(m.buddy.freePages(2048, 10, 0), undefined);
    assert.deepEqual(zoneNrFree(m), fresh);
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
    assert.equal(m.slub.slabs.get(firstSlab)!.frozen, false, 'and no longer frozen');
    assert.deepEqual(row(), { active: 2 * objs, num: 2 * objs, slabs: 2 });

    // __slab_free() of a full slab, CONFIG_SLUB_CPU_PARTIAL: put_cpu_partial() puts it on the freeing CPU's
    // partial list, not the node's; /proc/slabinfo counts only the node list's free objects as free, so
    // active_objs does not move (count_partial()).
    assert.equal(m.kfree(first[10]!), undefined);
    assert.equal(cache.nrPartial, 0, 'not on the node partial list');
    assert.deepEqual(m.slub.cpuPartialList(cache, 0), [firstSlab], "on CPU 0's partial list");
    assert.deepEqual(row(), { active: 2 * objs, num: 2 * objs, slabs: 2 });
    assert.equal(m.kfree(first[11]!), undefined);
    assert.deepEqual(m.slub.cpuPartialList(cache, 0), [firstSlab], 'already partial: no list operation');
    // ___slab_alloc(): the next slab the CPU needs comes from its partial list, not the page allocator.
    for (let i = 1; i < objs; i++) {
      m.kmalloc(64, GFP_KERNEL);
    }
    const fromPartial = m.kmalloc(64, GFP_KERNEL);
    assert.equal(Math.floor(fromPartial / REF_PAGE_SIZE), firstSlab);
    assert.equal(cache.nrSlabs, 2);
    assert.equal(cache.nrPartial, 0);
  });

  test('freed slabs go to the per-CPU partial list; a full one drains to the node, which keeps min_partial', () => {
    // CONFIG_SLUB_CPU_PARTIAL (6.12): __slab_free() of a full slab -> put_cpu_partial(s, slab, 1); when the
    // CPU's list already holds s->cpu_partial_slabs slabs it goes to the node whole (__put_partials), where
    // an empty slab is freed once the node holds min_partial partial slabs (`!slab->inuse && n->nr_partial >=
    // s->min_partial`), else added at the tail.
    const m = boot(16 * MiB, 2);
    const cache = cacheNamed(m, 'kmalloc-64');
    const objs = cache.geometry.objects;
    assert.equal(cache.geometry.minPartial, 5, 'ilog2(64) / 2 = 3, raised to MIN_PARTIAL');
    // set_cpu_partial(): size < 256 -> 120 objects; slabs: DIV_ROUND_UP(120 * 2, 64) = 4.
    assert.deepEqual([cache.cpuPartialObjects, cache.cpuPartialSlabs], [120, 4]);
    const bySlab = new Map<number, number[]>();
    for (let i = 0; i < 12 * objs; i++) {
      const p = m.kmalloc(64, GFP_KERNEL);
      const pfn = Math.floor(p / REF_PAGE_SIZE);
      bySlab.set(pfn, [...(bySlab.get(pfn) ?? []), p]);
    }
    const s = [...bySlab.keys()];
    assert.equal(s.length, 12);
    const empty = (pfn: number): void => {
      for (const p of bySlab.get(pfn)!) assert.equal(m.kfree(p), undefined);
      bySlab.set(pfn, []);
    };
    for (const i of [0, 1, 2, 3]) empty(s[i]!);
    assert.deepEqual(m.slub.cpuPartialList(cache, 0), [s[3], s[2], s[1], s[0]], 'newest first, empty ones stay');
    assert.deepEqual(m.slub.partialSlabs(cache), []);
    empty(s[4]!);
    // The list held 4 = cpu_partial_slabs: drained, head first, to the node's tail; nr_partial < 5 keeps them.
    assert.deepEqual(m.slub.cpuPartialList(cache, 0), [s[4]]);
    assert.deepEqual(m.slub.partialSlabs(cache), [s[3], s[2], s[1], s[0]]);
    assert.equal(cache.nrSlabs, 12);
    for (const i of [5, 6, 7]) empty(s[i]!);
    const seq = m.events.length;
    empty(s[8]!);
    // Drain of [s7, s6, s5, s4]: s7 joins the node (nr_partial 4 -> 5); s6, s5, s4 find 5 >= min_partial and
    // are freed, last found first (slab_to_discard is a stack).
    assert.deepEqual(m.slub.partialSlabs(cache), [s[3], s[2], s[1], s[0], s[7]]);
    assert.deepEqual(m.slub.cpuPartialList(cache, 0), [s[8]]);
    assert.equal(cache.nrSlabs, 9);
    const discards = newEvents(m, seq).filter((e) => e.kind === EventKind.SlabDiscard);
    assert.deepEqual(
      discards.map((e) => e.addr),
      [s[4], s[5], s[6]],
    );
    for (const i of [4, 5, 6]) assert.equal(m.frames.flags[s[i]!]! & SLAB, 0);
    // free_unref_page(): an order-0 page goes to the freeing CPU's per-CPU page list first.
    assert.deepEqual(m.buddy.findPcpBlock(s[6]!), { pfn: s[6], order: 0, cpu: 0 });
    // kmem_cache_shrink(): flush the CPU lists, free every empty slab: the full s9 and s10 (never freed from)
    // and the full cpu slab s11 are left.
    m.slub.shrink(cache, 0);
    assert.equal(cache.nrSlabs, 3);
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
    // Its order-3 block went to CPU 0's list; drained, it is a free block of the buddy allocator.
    m.buddy.drainAll();
    const before = snapshot(m);
    assert.equal(m.kfree(big)?.code, 'KM4002', 'double free of a large kmalloc');
    assert.deepEqual(snapshot(m), before);
  });

  test('double kfree of a large kmalloc whose pages wait on a per-CPU list is KM4002 too', () => {
    // The pages of a freed large kmalloc are free whether they sit in the buddy allocator or on the CPU's
    // per-CPU list (free_unref_page); a second kfree is the same double free either way.
    const m = boot(16 * MiB, 2);
    const big = m.kmalloc(20000, GFP_KERNEL);
    assert.equal(m.kfree(big), undefined);
    assert.notEqual(m.buddy.findPcpBlock(big / REF_PAGE_SIZE), undefined);
    assert.equal(m.kfree(big)?.code, 'KM4002');
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
          const all = newEvents(m, seq);
          // Slab moves on the allocation side (___slab_alloc, get_partial_node) come first, on this CPU.
          const moves = all.filter((e) => e.kind === EventKind.SlabMove);
          for (const mv of moves) {
            assert.equal(slabPathSide(mv.size as SlabPath), 'alloc', `move by ${SlabPath[mv.size]}`);
            assert.deepEqual([mv.cpu, mv.cache], [m.cpu, cache?.id]);
          }
          const evs = all.filter((e) => e.kind !== EventKind.SlabMove);
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
          const all = newEvents(m, seq);
          for (const mv of all.filter((e) => e.kind === EventKind.SlabMove)) {
            assert.equal(slabPathSide(mv.size as SlabPath), 'free', `move by ${SlabPath[mv.size]}`);
            assert.deepEqual([mv.cpu, mv.cache], [m.cpu, obj.cache]);
          }
          const evs = all.filter((e) => e.kind !== EventKind.SlabMove);
          const kfrees = evs.filter((e) => e.kind === EventKind.Kfree);
          assert.equal(kfrees.length, 1);
          assert.deepEqual([kfrees[0]!.cpu, kfrees[0]!.cache, kfrees[0]!.addr], [m.cpu, obj.cache, p]);
          const others = evs.filter((e) => e.kind !== EventKind.Kfree).map((e) => e.kind);
          // __put_partials() may discard several slabs of a drained per-CPU list: one pair each.
          const pairs = others.length / 2;
          assert.deepEqual(
            others,
            obj.cache >= 0
              ? Array.from({ length: pairs }, () => [EventKind.SlabDiscard, EventKind.PageFree]).flat()
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
    assert.ok(
      events.every((e) => e.file === 0),
      "every event is on a line of the scenario's own file",
    );
    assert.deepEqual(
      events.map(({ file: _file, ...e }) => e),
      [
        { seq: 0, kind: EventKind.PageAlloc, cpu: 1, line: 7, cache: -1, addr: slab, size: 0, extra: 0 },
        {
          seq: 1,
          kind: EventKind.SlabNew,
          cpu: 1,
          line: 7,
          cache: k64.id,
          addr: slab,
          size: SlabPath.NewSlab,
          extra: 0,
        },
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
    // The first (unmovable) slab page comes from the largest Movable block, claimed whole: 2048, at 8 MiB.
    assert.equal(slab, 2048, 'the first slab is the first frame of the 4 MiB block __rmqueue_fallback claims');
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
    // Fill enough slabs that freeing one object from each overflows the per-CPU partial list onto the node
    // partial list (put_cpu_partial -> __put_partials) until the node holds min_partial slabs.
    const nSlabs = minPartial + 2 * cache.cpuPartialSlabs + 2;
    const bySlab = new Map<number, number[]>();
    for (let i = 0; i < nSlabs * objects; i++) {
      const p = m.kmalloc(64, GFP_KERNEL);
      const pfn = Math.floor(p / REF_PAGE_SIZE);
      bySlab.set(pfn, [...(bySlab.get(pfn) ?? []), p]);
    }
    const slabs = [...bySlab.keys()];
    assert.equal(slabs.length, nSlabs);
    for (const pfn of slabs) {
      if (cache.nrPartial >= minPartial) break;
      assert.equal(m.kfree(bySlab.get(pfn)!.pop()!), undefined);
    }
    assert.ok(cache.nrPartial >= minPartial, `node partial list reached min_partial (${cache.nrPartial})`);
    const first = m.slub.partialSlabs(cache)[0]!;
    const rest = bySlab.get(first)!;
    const last = rest.pop()!;
    for (const p of rest) {
      assert.equal(m.kfree(p), undefined);
    }
    const slabsBefore = cache.nrSlabs;
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
    assert.equal(cache.nrSlabs, slabsBefore - 1, 'the slab was discarded');

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
