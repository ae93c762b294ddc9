/*
 * The page allocator of Linux 6.12 as the machine models it (engine/mm/boot.ts, buddy.ts, pcp.ts,
 * page_alloc.ts): boot reservations and managed pages, per-CPU page lists (batch, high_min, high_max, refill,
 * LIFO reuse, drain), migrate types and page-block stealing, watermarks with their reserves (GFP_KERNEL,
 * GFP_NOWAIT, GFP_ATOMIC), the OOM killer's panic, NULL without OOM (lowmem-only and costly requests),
 * __GFP_ZERO, HighAtomic reserves, and an invariant over random mixes.
 *
 * Every figure is worked out here from the kernel source (function names of mm/page_alloc.c and friends are
 * given next to each), with the arithmetic in comments, or checked against a predicate written in this file
 * (refWatermarkPass, the invariant checker); nothing is read back from the engine as an expectation.
 * Watermarks of each machine are computed by hand in watermarks.test.ts; the numbers used here are quoted.
 *
 * Property tests are seeded: the seed is printed as a test diagnostic and can be changed with FC_SEED=<n>.
 */

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import { Machine } from '../../engine/mm/machine';
import { NO_PFN, PG_BUDDY, PG_PCP, PG_RESERVED } from '../../engine/mm/frames';
import {
  GFP_ATOMIC,
  GFP_DMA,
  GFP_DMA32,
  GFP_KERNEL,
  GFP_NOWAIT,
  __GFP_MOVABLE,
  __GFP_NORETRY,
  __GFP_NOWARN,
  __GFP_ZERO,
} from '../../engine/mm/gfp';
import { EventKind } from '../../engine/trace/events';
import { buddyinfoView, formatBuddyinfo } from '../../engine/inspect/views';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const PAGE = 4096;
const FC_SEED = Number(process.env.FC_SEED ?? 61200);
const NONE = NO_PFN;
// Local copies: module bindings are getters under tsx, too slow in frame scans.
const BUDDY = PG_BUDDY;
const PCP = PG_PCP;
const RESERVED = PG_RESERVED;

/** include/linux/mmzone.h enum migratetype (CMA and MEMORY_ISOLATION on): the free lists of each order. */
const UNMOVABLE = 0;
const MOVABLE_MT = 1;
const HIGHATOMIC = 3;
const MIGRATE_TYPES = 6;
/** pageblock_order on x86-64: min(HPAGE_PMD_ORDER, MAX_PAGE_ORDER) = 9. */
const PAGEBLOCK_ORDER = 9;
/** GFP_HIGHUSER_MOVABLE's mobility with GFP_KERNEL's reclaim: a movable request. */
const MOVABLE = GFP_KERNEL | __GFP_MOVABLE;

function boot(memoryBytes: number, cpus = 2): Machine {
  const m = Machine.boot({ memoryBytes, cpus });
  assert.ok(m instanceof Machine, 'boot');
  return m;
}

function take(m: Machine, order: number, gfp: number, cpu = 0, compound = false): number {
  return m.buddy.allocPages({ order, gfp, cpu, compound });
}

type Zone = Machine['buddy']['zones'][number];

function zone(m: Machine, name: string): Zone {
  const z = m.buddy.zones.find((x) => x.name === name);
  assert.ok(z, `zone ${name}`);
  return z;
}

/** The pfn's zone by address (arch/x86/include/asm/dma.h MAX_DMA_PFN 4096, MAX_DMA32_PFN 1048576). */
function zoneNameOf(pfn: number): string {
  return pfn < 4096 ? 'DMA' : pfn < 1048576 ? 'DMA32' : 'Normal';
}

/**
 * __zone_watermark_ok() for order 0 against a mark (mm/page_alloc.c): free pages, less the free HighAtomic
 * pages for callers without reserve rights, must exceed mark + lowmem_reserve[highest]. `reserves` is
 * ALLOC_RESERVES in the flags (a non-blocking or __GFP_HIGH caller).
 */
function refOrder0Pass(free: number, highatomic: number, mark: number, reserve: number, reserves: boolean): boolean {
  return (reserves ? free : free - highatomic) > mark + reserve;
}

// ---------------------------------------------------------------------------------------------------------
// Boot
// ---------------------------------------------------------------------------------------------------------

describe('boot reservations and managed pages (memblock, arch/x86)', () => {
  test('16M: the image a quarter of RAM at 2 MiB; memmap 64 pages; 2747 managed pages in DMA', () => {
    // A 16 MiB machine: the image (4 MiB, a quarter of RAM under 32 MiB) does not fit above
    // CONFIG_PHYSICAL_START = 16 MiB, so it goes to 2 MiB: pfns 512..1535. memmap: 4096 frames * 64 B =
    // 256 KiB = 64 pages at the top (4032..4095); the boot page tables below it: PGD, direct-map PUD and PMD
    // (8 PMD entries of 2 MiB), the image's PUD and PMD (two 2 MiB text, two 2 MiB data): 5 pages, 4027..4031.
    const m = boot(16 * MiB, 1);
    assert.deepEqual(m.reserved, [
      { name: 'low memory', startPfn: 0, endPfn: 256 },
      { name: 'kernel image', startPfn: 512, endPfn: 1536 },
      { name: 'page tables', startPfn: 4027, endPfn: 4032 },
      { name: 'memmap', startPfn: 4032, endPfn: 4096 },
    ]);
    // 4096 - 256 - 1024 - 5 - 64 = 2747.
    assert.deepEqual(
      m.buddy.zones.map((z) => [z.name, z.managedPages, z.presentPages]),
      [
        ['DMA', 2747, 4096],
        ['DMA32', 0, 0],
        ['Normal', 0, 0],
      ],
    );
    for (const pfn of [0, 255, 512, 1535, 4027, 4095]) assert.ok(m.frames.flags[pfn]! & RESERVED, `pfn ${pfn}`);
    for (const pfn of [256, 511, 1536, 4026]) assert.equal(m.frames.flags[pfn]! & RESERVED, 0, `pfn ${pfn}`);
    assert.equal(m.buddy.nrFreePages, 2747);
  });

  test('256M: the 8 MiB image at 16 MiB; memmap 4 MiB; managed DMA 3840, DMA32 58363', () => {
    const m = boot(256 * MiB);
    // 16 MiB + 8 MiB + 4 MiB of memmap fits below 256 MiB: image at 16 MiB, 4096..6143 (the start of DMA32).
    // memmap 65536 * 64 B = 4 MiB = 1024 pages, 64512..65535; 5 page-table pages 64507..64511.
    assert.deepEqual(m.reserved, [
      { name: 'low memory', startPfn: 0, endPfn: 256 },
      { name: 'kernel image', startPfn: 4096, endPfn: 6144 },
      { name: 'page tables', startPfn: 64507, endPfn: 64512 },
      { name: 'memmap', startPfn: 64512, endPfn: 65536 },
    ]);
    // DMA 4096 - 256 = 3840; DMA32 61440 - 2048 - 5 - 1024 = 58363.
    assert.deepEqual(
      m.buddy.populatedZones().map((z) => [z.name, z.managedPages, z.freePages]),
      [
        ['DMA', 3840, 3840],
        ['DMA32', 58363, 58363],
      ],
    );
  });

  test('6G: memmap 96 MiB at the top of Normal; managed DMA 3840, DMA32 1042432, Normal 499708', () => {
    const m = boot(6 * GiB);
    // 1572864 frames * 64 B = 96 MiB = 24576 pages: 1548288..1572863. The direct map is six 1 GiB pages (no
    // PMD), so 4 page-table pages: PGD, PUD, the image's PUD and PMD: 1548284..1548287.
    assert.deepEqual(m.reserved, [
      { name: 'low memory', startPfn: 0, endPfn: 256 },
      { name: 'kernel image', startPfn: 4096, endPfn: 6144 },
      { name: 'page tables', startPfn: 1548284, endPfn: 1548288 },
      { name: 'memmap', startPfn: 1548288, endPfn: 1572864 },
    ]);
    // DMA32 1048576 - 4096 - 2048 = 1042432; Normal 524288 - 24576 - 4 = 499708.
    assert.deepEqual(
      m.buddy.populatedZones().map((z) => [z.name, z.managedPages]),
      [
        ['DMA', 3840],
        ['DMA32', 1042432],
        ['Normal', 499708],
      ],
    );
    assert.equal(m.buddy.managedPages, 3840 + 1042432 + 499708);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Per-CPU page lists
// ---------------------------------------------------------------------------------------------------------

describe('per-CPU page lists (mm/page_alloc.c, struct per_cpu_pages)', () => {
  const pcpOf = (m: Machine, name: string) => m.buddy.pcp[zone(m, name).index]!.cpus;

  test('batch, high_min and high_max: zone_batchsize and zone_highsize, 256M with 2 CPUs', () => {
    // zone_batchsize(): batch = min(managed >> 10, 1 MiB / PAGE_SIZE) / 4, at least 1, then
    // rounddown_pow_of_two(batch + batch / 2) - 1; zone_set_pageset_high_and_batch() takes max(1, that).
    // zone_highsize(): high_min = low watermark / CPUs, high_max = (managed / 8) / CPUs, each at least
    // batch * 4 (MIN_PERCPU_PAGELIST_HIGH_FRACTION = 8).
    //   DMA   3840 >> 10 = 3, / 4 = 0 -> 1, rounddown_pow_of_two(1) - 1 = 0 -> batch 1; low 37 / 2 = 18;
    //         3840 / 8 = 480, / 2 = 240.
    //   DMA32 58363 >> 10 = 56, / 4 = 14, rounddown_pow_of_two(21) - 1 = 15; low 583 / 2 = 291;
    //         58363 / 8 = 7295, / 2 = 3647.
    const m = boot(256 * MiB, 2);
    for (const [name, expected] of [
      ['DMA', [1, 18, 240]],
      ['DMA32', [15, 291, 3647]],
    ] as const) {
      for (const pcp of pcpOf(m, name)) {
        assert.deepEqual([pcp.batch, pcp.highMin, pcp.highMax], expected, name);
        assert.equal(pcp.count, 0);
      }
    }
  });

  test('batch, high_min and high_max: 6G with 4 CPUs', () => {
    //   DMA    batch 1; low 9 / 4 = 2 -> at least 4 * 1 = 4; 480 / 4 = 120.
    //   DMA32  1042432 >> 10 = 1018 -> min(1018, 256) = 256, / 4 = 64, rounddown_pow_of_two(96) - 1 = 63;
    //          low 2718 / 4 = 679; 1042432 / 8 = 130304, / 4 = 32576.
    //   Normal 499708 >> 10 = 487 -> 256 -> 63; low 1302 / 4 = 325 (>= 252); 499708 / 8 = 62463, / 4 = 15615.
    const m = boot(6 * GiB, 4);
    for (const [name, expected] of [
      ['DMA', [1, 4, 120]],
      ['DMA32', [63, 679, 32576]],
      ['Normal', [63, 325, 15615]],
    ] as const) {
      const cpus = pcpOf(m, name);
      assert.equal(cpus.length, 4);
      for (const pcp of cpus) assert.deepEqual([pcp.batch, pcp.highMin, pcp.highMax], expected, name);
    }
  });

  test('the first GFP_KERNEL page refills the CPU list with a batch and claims a 4 MiB block for Unmovable', () => {
    const m = boot(256 * MiB, 2);
    const dma32 = zone(m, 'DMA32');
    const fresh = formatBuddyinfo(buddyinfoView(m));
    // GFP_KERNEL is unmovable (gfp_migratetype). rmqueue_pcplist() finds CPU 0's list empty; nr_pcp_alloc():
    // high = 291 grows by batch to 306 (below high_max, zone not below high), max_nr_alloc = max(306 - 0 - 15,
    // 15) = 291, batch 15 << alloc_factor 0 = 15 <= 291 so alloc_factor becomes 1: rmqueue_bulk() takes 15
    // pages, each through __rmqueue(). The first finds no Unmovable block (every page block is Movable at
    // boot) and __rmqueue_fallback() takes the largest Movable block, the 4 MiB at 6144, claiming its two page
    // blocks (current_order >= pageblock_order: change_pageblock_range) and splitting it as Unmovable; the
    // other 14 come from its Unmovable remainder, smallest first: 6145..6158, queued at the tail.
    const pfn = take(m, 0, GFP_KERNEL, 0);
    assert.equal(pfn, 6144);
    const cpu0 = m.buddy.pcp[dma32.index]!.cpus[0]!;
    assert.equal(cpu0.count, 14, 'the batch less the page handed out');
    assert.equal(m.buddy.pcp[dma32.index]!.cpus[1]!.count, 0, 'CPU 1 untouched');
    assert.deepEqual(
      m.buddy.pcp[dma32.index]!.listPfns(0, 0, 100),
      Array.from({ length: 14 }, (_, i) => 6145 + i),
      'CPU 0 unmovable order-0 list, head first',
    );
    assert.deepEqual([cpu0.high, cpu0.allocFactor], [306, 1]);
    assert.equal(dma32.freePages, 58363 - 15);
    // The split block's remainder [6159, 7168) = 1009 = 1 + 16 + 32 + 64 + 128 + 256 + 512 frames: one block of
    // orders 0, 4, 5, 6, 7, 8, 9 each; boot's 56 order-10 blocks lose one. Fresh DMA32: the tail below the page
    // tables gave one block of orders 0, 1, 3..9.
    assert.deepEqual(Array.from(dma32.nrFree), [2, 1, 0, 1, 2, 2, 2, 2, 2, 2, 55]);
    assert.deepEqual(
      [m.buddy.pageblockMt[6144 >> PAGEBLOCK_ORDER], m.buddy.pageblockMt[(6144 >> PAGEBLOCK_ORDER) + 1]],
      [UNMOVABLE, UNMOVABLE],
      'page blocks 12 and 13 changed type',
    );
    assert.equal(m.buddy.pageblockMt[14], MOVABLE_MT, 'the next page block did not');
    for (let o = 0; o <= 9; o++) {
      const expected = o === 0 || o >= 4 ? 1 : 0;
      assert.equal(dma32.nrFreeByType[o * MIGRATE_TYPES + UNMOVABLE], expected, `unmovable order ${o}`);
    }

    // free_unref_page(): a free goes to the head of the freeing CPU's list (pcp->count 15 < high 306: no
    // free_pcppages_bulk), and the next allocation on that CPU takes the head: LIFO.
    assert.equal(m.buddy.freePages(pfn, 0, 0), undefined);
    assert.equal(cpu0.count, 15);
    assert.ok(m.frames.flags[pfn]! & PCP);
    assert.equal(dma32.freePages, 58363 - 15, 'a page on a per-CPU list is not a free page of the zone');
    assert.equal(take(m, 0, GFP_KERNEL, 0), 6144, 'the page just freed on CPU 0');
    // CPU 1 has its own list: its first allocation refills it from the zone, the smallest Unmovable block
    // first (the order-0 block at 6159).
    assert.equal(take(m, 0, GFP_KERNEL, 1), 6159);
    assert.equal(m.buddy.pcp[dma32.index]!.cpus[1]!.count, 14);
    assert.equal(dma32.freePages, 58363 - 30);

    // Everything back, then drain_all_pages(): the per-CPU pages return to the buddy allocator and merge, and
    // /proc/buddyinfo is the fresh machine's again. The two page blocks stay Unmovable: nothing turns them back.
    assert.equal(m.buddy.freePages(6144, 0, 0), undefined);
    assert.equal(m.buddy.freePages(6159, 0, 1), undefined);
    assert.notEqual(formatBuddyinfo(buddyinfoView(m)), fresh);
    assert.equal(m.buddy.drainAll(), 30, 'drain_all_pages moved 15 pages from each CPU');
    assert.equal(m.buddy.nrPcpPages, 0);
    assert.equal(formatBuddyinfo(buddyinfoView(m)), fresh);
    assert.equal(m.buddy.pageblockMt[12], UNMOVABLE);
    assert.equal(dma32.nrFreeByType[10 * MIGRATE_TYPES + UNMOVABLE], 1, 'the merged 4 MiB block is Unmovable');
    assert.deepEqual(checkAllocator(m, new Map()), []);
  });

  test('freeing a page that sits on a per-CPU list is "Bad page state" naming the CPU', () => {
    const m = boot(64 * MiB, 2);
    const a = m.allocPages(0, GFP_KERNEL);
    m.cpu = 1;
    assert.equal(m.freePages(a, 0), undefined);
    m.cpu = 0;
    const pfn = a / PAGE;
    const bad = m.freePages(a, 0);
    assert.equal(bad?.code, 'KM4005');
    assert.equal(
      bad?.report,
      `BUG: Bad page state in process kmem  pfn:${pfn.toString(16).padStart(5, '0')}\n` +
        'page dumped because: VM_BUG_ON_PAGE(page_ref_count(page) == 0)\n' +
        `kmem: pfn 0x${pfn.toString(16)} is already free (cached on CPU 1's per-CPU page list): double free\n`,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
// Migrate types and stealing
// ---------------------------------------------------------------------------------------------------------

describe('migrate types and fallback (__rmqueue_fallback, steal_suitable_fallback)', () => {
  /**
   * A 16M machine whose Movable lists are empty and whose only free pages are in page block 0 (frames
   * 0..511), made Unmovable, as three blocks: order 1 at 258, order 2 at 260, order 3 at 264 (plus order 4
   * at 272 when keep16). The blocks taken are marked allocated (prep_new_page) and kept.
   */
  function fragmented(keep16: boolean): { m: Machine; held: Map<number, number> } {
    const m = boot(16 * MiB, 1);
    const b = m.buddy.buddies[0]!;
    const held = new Map<number, number>();
    const hold = (pfn: number, order: number): void => {
      assert.notEqual(pfn, NONE);
      b.prepNew(pfn, order, false);
      held.set(pfn, order);
    };
    // move_freepages_block(): page block 0 (the order-8 block at 256 is its only free block) becomes Unmovable.
    assert.deepEqual(b.moveFreepagesBlock(256, UNMOVABLE), { free: 256, movable: 0 });
    // Take every Movable block whole, largest order first, so nothing is split: 2048 (10), 1536 and 3072 (9),
    // 3584 (8), 3840 (7), 3968 (5), 4000 (4), 4016 (3), 4024 (1), 4026 (0).
    for (let order = 10; order >= 0; order--) {
      for (let pfn = b.rmqueueSmallest(order, MOVABLE_MT); pfn !== NONE; pfn = b.rmqueueSmallest(order, MOVABLE_MT)) {
        hold(pfn, order);
      }
    }
    assert.equal(held.size, 10);
    // Split 256 for order 0: 256 taken, 257 (0), 258 (1), 260 (2), 264 (3), 272 (4), 288 (5), 320 (6), 384 (7)
    // free; take 257 and the blocks of order 5..7 (and 4 unless keep16).
    hold(b.rmqueueSmallest(0, UNMOVABLE), 0);
    hold(b.rmqueueSmallest(0, UNMOVABLE), 0);
    for (const order of keep16 ? [5, 6, 7] : [4, 5, 6, 7]) hold(b.rmqueueSmallest(order, UNMOVABLE), order);
    return { m, held };
  }

  test('a movable request that cannot claim a block steals the smallest one (find_smallest)', () => {
    const { m, held } = fragmented(false);
    const b = m.buddy.buddies[0]!;
    const dma = zone(m, 'DMA');
    assert.equal(dma.freePages, 2 + 4 + 8);
    assert.deepEqual(checkAllocator(m, held), []);
    // __rmqueue(order 0, Movable): __rmqueue_smallest finds no Movable block; __rmqueue_fallback() looks from
    // MAX_PAGE_ORDER down and first finds the order-3 Unmovable block (fallbacks[MOVABLE] = {RECLAIMABLE,
    // UNMOVABLE}); can_steal_fallback(3, MOVABLE) is false (3 < pageblock_order / 2 = 4, not unmovable or
    // reclaimable) and 3 > 0, so it goes to find_smallest: the smallest order from 0 up with a suitable
    // fallback, order 1 at 258. steal_suitable_fallback(whole_block = false) -> single_page: the block is
    // taken and split (expand) onto the lists of its page block's type: 259 stays free as Unmovable.
    b.lastExtfrag = undefined;
    const pfn = b.rmqueue(0, MOVABLE_MT, 0);
    assert.equal(pfn, 258);
    assert.deepEqual(b.lastExtfrag, {
      pfn: 258,
      allocOrder: 0,
      fallbackOrder: 1,
      allocMigratetype: MOVABLE_MT,
      fallbackMigratetype: UNMOVABLE,
      claimed: false,
    });
    assert.equal(m.buddy.pageblockMt[0], UNMOVABLE, 'the page block keeps its type');
    assert.deepEqual(b.findFreeBlock(259), { pfn: 259, order: 0 });
    assert.equal(dma.nrFreeByType[0 * MIGRATE_TYPES + UNMOVABLE], 1);
    b.prepNew(pfn, 0, false);
    held.set(pfn, 0);
    assert.deepEqual(checkAllocator(m, held), []);
    // An unmovable request of the same order takes its own type's smallest block: 259.
    assert.equal(b.rmqueue(0, UNMOVABLE, 0), 259);
  });

  test('a movable order-0 request may take a whole order-4 fallback block (can_steal_fallback: order >= pageblock_order / 2)', () => {
    // mm/page_alloc.c can_steal_fallback(): "if (order >= pageblock_order / 2 || ...) return true", integer
    // division: 9 / 2 = 4. With an order-4 Unmovable block the largest fallback, can_steal is true, so no
    // find_smallest: do_steal with whole_block; steal_suitable_fallback() counts page block 0: free 2 + 4 + 8
    // + 16 = 30, movable 0, so free + alike = 30 < 256: single_page, taking the order-4 block at 272 itself.
    const { m } = fragmented(true);
    const b = m.buddy.buddies[0]!;
    b.lastExtfrag = undefined;
    assert.equal(b.rmqueue(0, MOVABLE_MT, 0), 272);
    assert.equal((b.lastExtfrag as { fallbackOrder: number } | undefined)?.fallbackOrder, 4);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Watermarks, reserves and failures
// ---------------------------------------------------------------------------------------------------------

describe('watermarks, reserves and the OOM killer (__alloc_pages, __alloc_pages_slowpath)', () => {
  test('GFP_KERNEL is served while a zone passes low (fast path) or min (slow path, after a drain); then OOM panics', () => {
    // 256M, 2 CPUs (watermarks.test.ts): DMA min 30 low 37, lowmem_reserve[Normal] 227; DMA32 min 467 low 583,
    // reserve 0 (Normal is empty). gfp_zone(GFP_KERNEL) = Normal: the zonelist is DMA32, DMA.
    const m = boot(256 * MiB, 2);
    const dma = zone(m, 'DMA');
    const dma32 = zone(m, 'DMA32');
    assert.deepEqual(
      [dma.wmarkMin, dma.wmarkLow, dma.lowmemReserve[2], dma32.wmarkMin, dma32.wmarkLow],
      [30, 37, 227, 467, 583],
    );
    // First the 4 MiB blocks (order 10 is costly: when nothing passes, NULL without the OOM killer).
    let big = 0;
    while (take(m, 10, GFP_KERNEL | __GFP_NOWARN) !== NONE) big++;
    assert.equal(m.panic, undefined);
    assert.equal(m.buddy.lastFailure, 'nopage');
    // DMA32's 56 blocks (the last: 58363 - 55 * 1024 - 1023 = 1020 > 583) and DMA's three (3840 - 1023 > 37 +
    // 227, 2816 - 1023, 1792 - 1023 = 769 > 264).
    assert.equal(big, 59);
    // Then pages, each checked against the zonelist walk: get_page_from_freelist() with the low watermark over
    // DMA32 and DMA, then the slow path with min, then, after drain_all_pages() (the per-CPU pages count as
    // free again), min once more; the first zone that passes serves the page. A page on a per-CPU list is
    // handed out only if its zone passes: the watermark check comes before rmqueue().
    const zones = [dma32, dma];
    const pcpCount = (z: Zone): number => m.buddy.pcp[z.index]!.count;
    let pages = 0;
    for (;;) {
      const free = zones.map((z) => z.freePages);
      const cached = zones.map((z) => pcpCount(z));
      const pass = (i: number, mark: number, extra: number): boolean =>
        refOrder0Pass(free[i]! + extra, 0, mark, zones[i]!.lowmemReserve[2]!, false);
      let expected: string | undefined;
      for (const [markOf, drained] of [
        [(z: Zone) => z.wmarkLow, false],
        [(z: Zone) => z.wmarkMin, false],
        [(z: Zone) => z.wmarkMin, true],
      ] as const) {
        const i = zones.findIndex((z, k) => pass(k, markOf(z), drained ? cached[k]! : 0));
        if (i >= 0) {
          expected = zones[i]!.name;
          break;
        }
      }
      const seq = m.events.length;
      const phys = m.allocPages(0, GFP_KERNEL);
      if (phys < 0) {
        assert.equal(expected, undefined, `page ${pages} failed though ${expected} passes`);
        // __alloc_pages_may_oom(): not costly, not lowmem-only, __GFP_FS: out_of_memory() finds no task to
        // kill and panics.
        assert.deepEqual(
          m.events.slice(seq).map((e) => e.kind),
          [EventKind.Oom, EventKind.PageAllocFail],
        );
        break;
      }
      assert.equal(zoneNameOf(phys / PAGE), expected, `page ${pages}: free ${free}, cached ${cached}`);
      pages++;
    }
    assert.ok(pages > 500, `${pages} pages`);
    // After the failed attempt and its drain, neither zone passes min: DMA32 <= 467, DMA <= 30 + 227.
    assert.equal(m.buddy.nrPcpPages, 0, 'the slow path drained every per-CPU list');
    assert.ok(dma32.freePages <= 467 && dma.freePages <= 257, `${dma32.freePages} ${dma.freePages}`);
    assert.equal((m.panic as { code: string } | undefined)?.code, 'KM4008');
    assert.equal(
      m.log.at(-1),
      'kmem invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0\n' +
        'Out of memory and no killable processes...\n' +
        'Kernel panic - not syncing: System is deadlocked on memory\n',
    );
    // The machine stays panicked: nothing more is allocated, not even GFP_ATOMIC.
    assert.equal(m.allocPages(0, GFP_ATOMIC), -1);
  });

  test('GFP_NOWAIT stops at min with warn_alloc (migrate-type letters); GFP_ATOMIC goes on to 39 pages', () => {
    // 16M (1 CPU): DMA min 104, low 130 (watermarks.test.ts); its per-CPU batch is 1, so refills take
    // 1 << alloc_factor pages (nr_pcp_alloc doubles it, up to 32, while allocations come without frees).
    const m = boot(16 * MiB, 1);
    const dma = zone(m, 'DMA');
    const cpu = m.buddy.pcp[0]!.cpus[0]!;
    // GFP_NOWAIT (__GFP_KSWAPD_RECLAIM only): the slow path's ALLOC_WMARK_MIN with ALLOC_NON_BLOCK but no
    // ALLOC_MIN_RESERVE: min stays 104, so a page needs free > 104; it cannot reclaim, so no drain and no OOM.
    const quiet = GFP_NOWAIT | __GFP_NOWARN;
    let n = 0;
    for (;;) {
      const free = dma.freePages;
      const ok = m.allocPages(0, quiet) >= 0;
      assert.equal(ok, refOrder0Pass(free, 0, 104, 0, true), `GFP_NOWAIT page ${n}, ${free} free`);
      if (!ok) break;
      n++;
    }
    assert.deepEqual(m.log, [], '__GFP_NOWARN: no report');
    assert.ok(dma.freePages <= 104);
    assert.ok(cpu.count > 0, 'the last refill left pages on the list: the watermark refuses before the list');
    assert.equal(n + dma.freePages + cpu.count, 2747);
    // Without __GFP_NOWARN: warn_alloc() and show_free_areas()'s line, each non-empty order followed by the
    // letters of the migrate types with a block of it (show_migration_types).
    assert.equal(m.allocPages(0, GFP_NOWAIT), -1);
    assert.equal(m.panic, undefined);
    assert.equal(m.log.length, 1);
    assert.equal(
      m.log[0],
      'kmem: page allocation failure: order:0, mode:0x800(GFP_NOWAIT), nodemask=(null)\n' + `${refFreeAreaLine(dma)}\n`,
    );
    assert.match(m.log[0]!, /\(U\)|\(M\)|\(UM\)/);

    // GFP_ATOMIC (__GFP_HIGH | __GFP_KSWAPD_RECLAIM): ALLOC_MIN_RESERVE | ALLOC_NON_BLOCK, so
    // __zone_watermark_ok lowers min by half and then by a quarter: 104 - 52 = 52, 52 - 13 = 39. Pages come
    // while free > 39: first from what the CPU list holds, then from refills, which may take the zone a few
    // pages below 39 (a refill of k pages is taken whole once the check passed): the zone ends between 39 - 31
    // and 39, and whatever the last refill took beyond the page handed out stays cached.
    let atomic = 0;
    for (;;) {
      const free = dma.freePages;
      const ok = m.allocPages(0, GFP_ATOMIC | __GFP_NOWARN) >= 0;
      assert.equal(ok, refOrder0Pass(free, 0, 39, 0, true), `GFP_ATOMIC page ${atomic}, ${free} free`);
      if (!ok) break;
      atomic++;
    }
    assert.ok(atomic > 0);
    assert.ok(dma.freePages <= 39 && dma.freePages > 39 - 32, `${dma.freePages} free`);
    assert.equal(n + atomic + dma.freePages + cpu.count, 2747);
    assert.equal(m.panic, undefined, 'GFP_ATOMIC cannot reclaim: NULL, no OOM');
  });

  test('GFP_DMA32 exhaustion returns NULL without the OOM killer (highest zone below Normal)', () => {
    // __alloc_pages_may_oom(): "if (ac->highest_zoneidx < ZONE_NORMAL) goto out;" the OOM killer cannot help
    // a lowmem-only request. 256M: GFP_KERNEL | GFP_DMA32 (it may reclaim, so it drains and retries) walks
    // DMA32, DMA.
    const m = boot(256 * MiB, 2);
    const gfp = GFP_KERNEL | GFP_DMA32;
    while (take(m, 10, gfp | __GFP_NOWARN) !== NONE);
    let pages = 0;
    while (m.allocPages(0, gfp | __GFP_NOWARN) >= 0) pages++;
    assert.ok(pages > 0);
    assert.equal(m.buddy.lastFailure, 'nopage');
    assert.equal(m.panic, undefined);
    assert.equal(m.events.slice(0).filter((e) => e.kind === EventKind.Oom).length, 0);
    // DMA32 <= min 467; DMA <= min 30 + lowmem_reserve[DMA32] 227.
    assert.ok(zone(m, 'DMA32').freePages <= 467 && zone(m, 'DMA').freePages <= 257);
    assert.equal(m.allocPages(0, gfp), -1);
    assert.match(m.log[0]!, /^kmem: page allocation failure: order:0, mode:0xcc4\(GFP_KERNEL\|GFP_DMA32\)/);
  });

  test('a costly order (> 3) fails with NULL and no OOM; the same state OOM-panics an order-3 request', () => {
    // 16M: after the blocks of order >= 8 (movable, so no stealing: 2048, 1536, 3072, 256, 3584), 187 pages
    // are free (2747 - 1024 - 2 * 512 - 2 * 256). Order 4: 187 - 15 = 172 > 104 passes min but order 7 ...
    const m = boot(16 * MiB, 1);
    for (const order of [10, 9, 9, 8, 8]) assert.notEqual(take(m, order, MOVABLE), NONE);
    assert.equal(zone(m, 'DMA').freePages, 187);
    // Order 7: 187 - 127 = 60, not above min 104. Costly (> PAGE_ALLOC_COSTLY_ORDER): nopage, NULL.
    assert.equal(m.allocPages(7, GFP_KERNEL), -1);
    assert.equal(m.buddy.lastFailure, 'nopage');
    assert.equal(m.panic, undefined);
    // Order 3 is not costly: fill with it until it fails, which invokes the OOM killer and panics.
    while (m.allocPages(3, GFP_KERNEL) >= 0);
    assert.equal((m.panic as { code: string } | undefined)?.code, 'KM4008');
    assert.match(m.log.at(-1)!, /^kmem invoked oom-killer: gfp_mask=0xcc0\(GFP_KERNEL\), order=3, oom_score_adj=0\n/);
  });

  test('__GFP_NORETRY gives up after the drain: NULL and warn_alloc, no OOM', () => {
    const m = boot(16 * MiB, 1);
    while (m.allocPages(0, GFP_KERNEL | __GFP_NORETRY | __GFP_NOWARN) >= 0);
    assert.equal(m.buddy.lastFailure, 'nopage');
    assert.equal(m.panic, undefined);
    assert.ok(zone(m, 'DMA').freePages <= 104);
  });

  test('__GFP_ZERO zeroes the pages; without it the old bytes stay', () => {
    const m = boot(64 * MiB, 1);
    // Order 4 bypasses the per-CPU lists, and a movable block freed goes to the head of its free list, so the
    // next movable order-4 request gets the same block back.
    const a = m.allocPages(4, MOVABLE);
    assert.ok(a >= 0);
    m.mem.fill(a, 16 * PAGE, 0xa5);
    m.mem.write8(a + 5 * PAGE + 7, 0x3c);
    assert.equal(m.freePages(a, 4), undefined);
    const b = m.allocPages(4, MOVABLE);
    assert.equal(b, a, 'the same block');
    assert.equal(m.mem.read8(b + 5 * PAGE + 7), 0x3c, 'the page allocator does not clear pages by itself');
    assert.equal(m.mem.read8(b + 15 * PAGE + PAGE - 1), 0xa5);
    assert.equal(m.freePages(b, 4), undefined);
    const c = m.allocPages(4, MOVABLE | __GFP_ZERO);
    assert.equal(c, a, 'the same block again');
    // prep_new_page() -> clear_highpage() on every page of the block with __GFP_ZERO.
    for (let p = 0; p < 16; p++) {
      assert.ok(
        m.mem.read(c + p * PAGE, PAGE).every((x) => x === 0),
        `page ${p} zeroed`,
      );
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// HighAtomic reserves
// ---------------------------------------------------------------------------------------------------------

describe('HighAtomic reserves (reserve_highatomic_pageblock)', () => {
  test('a high-order GFP_ATOMIC allocation from the slow path reserves its page block on a big zone', () => {
    // reserve_highatomic_pageblock(): only with ALLOC_HIGHATOMIC (a non-blocking order > 0 request in the slow
    // path), at most 1% of the zone rounded up to a page block, none when 1% is under a page block. 256M:
    // DMA32 manages 58363 pages, 1% = 583 >= 512. The fast path must fail first in both zones of the zonelist:
    const m = boot(256 * MiB, 2);
    const dma = zone(m, 'DMA');
    const dma32 = zone(m, 'DMA32');
    // DMA (GFP_DMA: its own zonelist, reserve 0, low 37): the three 4 MiB blocks, the order-9 block (768 -
    // 511 > 37), an order-7 piece of the order-8 block (256 - 127 > 37): 128 pages left, below what GFP_ATOMIC
    // may use there (DMA's atomic min is 30 - 15 - 3 = 12, plus lowmem_reserve[Normal] 227).
    for (const order of [10, 10, 10, 9, 7]) assert.notEqual(take(m, order, MOVABLE | GFP_DMA), NONE, `DMA ${order}`);
    assert.equal(dma.freePages, 128);
    // DMA32: its 56 movable 4 MiB blocks (all pass low 583), then the order-9 block of the tail (the slow
    // path: 1019 - 511 = 508 > min 467): 507 pages left, all in page block 125 (64000..64511, which also
    // holds the 5 page-table pages).
    for (let i = 0; i < 56; i++) assert.notEqual(take(m, 10, MOVABLE), NONE);
    assert.equal(take(m, 9, MOVABLE), 63488);
    assert.equal(dma32.freePages, 507);
    // GFP_ATOMIC order 1: the fast path fails (DMA32 507 - 1 <= 583; DMA 127 <= 37 + 227); the slow path's
    // min for GFP_ATOMIC is 467 - 233 - 58 = 176 < 506. The order-1 per-CPU refill (max(15 >> 1, 2) = 7 blocks)
    // finds no Unmovable block and claims page block 125 (its 507 free pages and 5 reserved ones, which count
    // as alike, make more than half), then reserve_highatomic_pageblock() turns it into HighAtomic
    // (move_freepages_block) and counts a page block in nr_reserved_highatomic.
    const pfn = take(m, 1, GFP_ATOMIC);
    assert.equal(pfn, 64504);
    assert.equal(m.buddy.pageblockMt[125], HIGHATOMIC);
    assert.equal(dma32.reservedHighatomic, 512);
    // Its free pages are on HighAtomic lists: 507 less the 7 order-1 blocks of the refill.
    assert.equal(dma32.freeHighatomic, 507 - 14);
    assert.equal(dma32.freePages, 507 - 14);
    assert.ok(dma32.nrFreeByType[8 * MIGRATE_TYPES + HIGHATOMIC]! > 0, 'the order-8 block moved');
    // A GFP_KERNEL page cannot count them (__zone_watermark_unusable_free): DMA32 has 0 usable free pages.
    assert.equal(refOrder0Pass(dma32.freePages, dma32.freeHighatomic, 0, 0, false), false);
    assert.deepEqual(checkAllocator(m, null), []);
  });

  test('no HighAtomic reserve on a zone whose 1% is less than a page block', () => {
    // 16M: 2747 managed, 1% = 27 < 512. Bring DMA below low (130) but above GFP_ATOMIC's min (39): the movable
    // blocks of order >= 8 (187 left), then order 6 in the slow path (187 - 63 = 124 > 104): 123 left.
    const m = boot(16 * MiB, 1);
    for (const order of [10, 9, 9, 8, 8, 6]) assert.notEqual(take(m, order, MOVABLE), NONE, `order ${order}`);
    assert.equal(zone(m, 'DMA').freePages, 123);
    assert.notEqual(take(m, 1, GFP_ATOMIC), NONE, 'the slow path serves it: 122 > 39');
    assert.ok(m.buddy.pageblockMt.every((t) => t !== HIGHATOMIC));
    assert.equal(zone(m, 'DMA').reservedHighatomic, 0);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Invariants
// ---------------------------------------------------------------------------------------------------------

/**
 * mm/show_mem.c show_free_areas() for one zone: "Node 0 <zone>: " then "%lu*%lukB " per order, after a
 * non-zero count show_migration_types()' "(<letters>) " (U Unmovable, M Movable, E Reclaimable, H HighAtomic,
 * C CMA, I Isolate, for each type whose list of that order is not empty), then "= %lukB".
 */
function refFreeAreaLine(z: Zone): string {
  let line = `Node 0 ${z.name}: `;
  let total = 0;
  for (let o = 0; o <= 10; o++) {
    const n = z.nrFree[o]!;
    total += n * 4 * 2 ** o;
    line += `${n}*${4 * 2 ** o}kB `;
    if (n) {
      let letters = '';
      for (let t = 0; t < MIGRATE_TYPES; t++) if (z.freeHead[o * MIGRATE_TYPES + t] !== NONE) letters += 'UMEHCI'[t];
      line += `(${letters}) `;
    }
  }
  return `${line}= ${total}kB`;
}

/**
 * Every frame is exactly one of: in a free block on the list of its order and page-block type, in a block on
 * one CPU's list, in an allocated block (`held`, or when null, any frame not found elsewhere that carries no
 * PG_buddy/PG_pcp), or reserved. Per zone, the blocks on its lists add up to nr_free per order and per type,
 * their frames to the zone's free pages, the HighAtomic ones to nr_free_highatomic; each CPU's count is what
 * its lists hold.
 */
function checkAllocator(m: Machine, held: ReadonlyMap<number, number> | null): string[] {
  const { frames } = m;
  const problems: string[] = [];
  const owner = new Uint8Array(frames.count);
  const claim = (pfn: number, order: number, what: number, label: string): void => {
    for (let p = pfn; p < pfn + 2 ** order; p++) {
      if (owner[p]) {
        problems.push(`frame ${p} is twice (${label})`);
        return;
      }
      owner[p] = what;
    }
  };
  for (const z of m.buddy.zones) {
    let zoneFree = 0;
    let highatomic = 0;
    for (let o = 0; o <= 10; o++) {
      let perOrder = 0;
      for (let t = 0; t < MIGRATE_TYPES; t++) {
        let n = 0;
        for (let p = z.freeHead[o * MIGRATE_TYPES + t]!; p !== NONE; p = frames.next[p]!) {
          if (++n > frames.count) {
            problems.push(`${z.name} list ${o}/${t} loops`);
            break;
          }
          if (frames.flags[p] !== BUDDY || frames.order[p] !== o) {
            problems.push(`${z.name} ${o}/${t}: ${p} not a free head`);
          }
          if (p % 2 ** o || p < z.startPfn || p + 2 ** o > z.endPfn) problems.push(`${z.name}: ${p} misplaced`);
          if (m.buddy.pageblockMt[p >> PAGEBLOCK_ORDER] !== t) problems.push(`${z.name}: ${p} on list ${t}, block not`);
          claim(p, o, 1, 'free');
          zoneFree += 2 ** o;
          if (t === HIGHATOMIC) highatomic += 2 ** o;
        }
        if (z.nrFreeByType[o * MIGRATE_TYPES + t] !== n) problems.push(`${z.name} ${o}/${t}: count ${n}`);
        perOrder += n;
      }
      if (z.nrFree[o] !== perOrder) problems.push(`${z.name} nr_free[${o}] ${z.nrFree[o]} != ${perOrder}`);
    }
    if (z.freePages !== zoneFree) problems.push(`${z.name} free ${z.freePages} != ${zoneFree}`);
    if (z.freeHighatomic !== highatomic) problems.push(`${z.name} highatomic ${z.freeHighatomic} != ${highatomic}`);
    m.buddy.pcp[z.index]!.cpus.forEach((pcp, cpu) => {
      let count = 0;
      pcp.heads.forEach((head, pindex) => {
        const order = pindex >= 12 ? PAGEBLOCK_ORDER : Math.floor(pindex / 3);
        let n = 0;
        for (let p = head; p !== NONE; p = frames.next[p]!) {
          if (++n > frames.count) break;
          if (frames.flags[p] !== PCP || frames.order[p] !== order) problems.push(`CPU ${cpu} list ${pindex}: ${p}`);
          if (p < z.startPfn || p + 2 ** order > z.endPfn) problems.push(`CPU ${cpu}: ${p} outside ${z.name}`);
          claim(p, order, 2, `CPU ${cpu}`);
          count += 2 ** order;
        }
      });
      if (pcp.count !== count) problems.push(`${z.name} CPU ${cpu} count ${pcp.count} != ${count}`);
    });
  }
  for (const r of m.reserved) {
    for (let p = r.startPfn; p < r.endPfn; p++) {
      if (!(frames.flags[p]! & RESERVED)) problems.push(`${r.name} frame ${p} lacks PG_reserved`);
      if (owner[p]) problems.push(`${r.name} frame ${p} is free or cached`);
      owner[p] = 3;
    }
  }
  if (held) {
    for (const [pfn, order] of held) claim(pfn, order, 4, 'held');
  }
  for (let p = 0; p < frames.count && problems.length < 20; p++) {
    if (owner[p]) continue;
    if (held) problems.push(`frame ${p} is neither free, cached, held nor reserved`);
    else if (frames.flags[p]! & (BUDDY | PCP | RESERVED)) problems.push(`frame ${p} has stray flags`);
  }
  return problems;
}

describe('invariants', () => {
  test('property: random mixes of masks, orders, CPUs, frees and drains keep every list exact', (t) => {
    t.diagnostic(`fast-check seed ${FC_SEED} (set FC_SEED to change)`);
    // 256M, so DMA32's 1% (583 pages) allows a HighAtomic page block; masks that never reach the OOM killer.
    const masks = [
      GFP_KERNEL | __GFP_NORETRY,
      MOVABLE | __GFP_NORETRY,
      GFP_ATOMIC,
      GFP_NOWAIT,
      GFP_DMA,
      GFP_KERNEL | GFP_DMA32,
    ].map((g) => g | __GFP_NOWARN);
    type Op =
      | { kind: 'alloc'; order: number; gfp: number; cpu: number; n: number }
      | { kind: 'free'; pick: number; cpu: number; n: number }
      | { kind: 'drain' };
    const cpu = fc.integer({ min: 0, max: 1 });
    const op: fc.Arbitrary<Op> = fc.oneof(
      {
        weight: 6,
        arbitrary: fc.record({
          kind: fc.constant('alloc' as const),
          order: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom(4, 9, 10)),
          gfp: fc.constantFrom(...masks),
          cpu,
          n: fc.integer({ min: 1, max: 60 }),
        }),
      },
      {
        weight: 3,
        arbitrary: fc.record({
          kind: fc.constant('free' as const),
          pick: fc.nat(),
          cpu,
          n: fc.integer({ min: 1, max: 60 }),
        }),
      },
      { weight: 1, arbitrary: fc.constant({ kind: 'drain' as const }) },
    );
    const seen = { ops: 0, allocs: 0, failures: 0, highatomic: 0, maxCached: 0 };
    fc.assert(
      fc.property(fc.array(op, { minLength: 10, maxLength: 40 }), (ops) => {
        const m = boot(256 * MiB, 2);
        const held = new Map<number, number>();
        seen.ops += ops.length;
        for (const o of ops) {
          if (o.kind === 'alloc') {
            for (let i = 0; i < o.n; i++) {
              const pfn = take(m, o.order, o.gfp, o.cpu);
              seen.allocs++;
              if (pfn === NONE) {
                seen.failures++;
                break;
              }
              held.set(pfn, o.order);
            }
          } else if (o.kind === 'free') {
            for (let i = 0; i < o.n && held.size > 0; i++) {
              const [pfn, order]: [number, number] = [...held][(o.pick + i * 7919) % held.size]!;
              assert.equal(m.buddy.freePages(pfn, order, o.cpu), undefined);
              held.delete(pfn);
            }
          } else {
            m.buddy.drainAll();
          }
          assert.equal(m.panic, undefined);
          seen.maxCached = Math.max(seen.maxCached, m.buddy.nrPcpPages);
          assert.deepEqual(checkAllocator(m, held), [], `after ${JSON.stringify(o)}`);
        }
        if (zone(m, 'DMA32').reservedHighatomic > 0) seen.highatomic++;
        for (const [pfn, order] of held) assert.equal(m.buddy.freePages(pfn, order, 0), undefined);
        m.buddy.drainAll();
        assert.deepEqual(checkAllocator(m, new Map()), []);
        assert.equal(m.buddy.nrFreePages, 62203, 'every managed page free again');
      }),
      { seed: FC_SEED, numRuns: 12 },
    );
    t.diagnostic(`covered: ${JSON.stringify(seen)}`);
    assert.ok(seen.failures > 0 && seen.maxCached > 0, 'failures and cached pages seen');
  });
});
