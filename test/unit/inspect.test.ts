/*
 * Unit tests of engine/inspect/views.ts and engine/mm/address.ts: the /proc text the kernel prints for the
 * machine's state, and where an address lives.
 *
 * /proc/slabinfo and /proc/buddyinfo are checked twice:
 *  - against the kernel's own seq_printf formats, re-applied here by a small printf (the subset of
 *    lib/vsprintf.c those formats use), character by character;
 *  - against golden files in test/unit/golden/ for a fresh 256M/2-CPU machine and after a fixed sequence.
 *    On a mismatch the runner writes <name>.actual beside the golden; UPDATE_GOLDEN=1 rewrites the goldens.
 *
 * Boot keeps the first 1 MiB reserved (arch/x86/kernel/setup.c, "x86/setup: Always reserve the first 1M of
 * RAM"): frames 0..255 never reach the buddy allocator, so a fresh machine's free memory starts at pfn 256.
 * Memory is split into zones (arch/x86/mm/init.c zone_sizes_init): DMA below 16 MiB, DMA32 below 4 GiB, Normal
 * above. GFP_KERNEL allocations start at the highest populated zone (include/linux/gfp.h gfp_zone() gives
 * ZONE_NORMAL, empty below 4 GiB), so on the machines here they come from DMA32, from 16 MiB up.
 */

import { describe, test } from 'node:test';
import { assertGolden, firstDifference } from './golden';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import { Machine, RESERVED_LOW_BYTES } from '../../engine/mm/machine';
import { GFP_KERNEL } from '../../engine/mm/gfp';
import { PAGE_OFFSET, formatPhys, formatVirt, physToVirt, virtToPhys } from '../../engine/mm/address';
import {
  BuddyinfoView,
  SlabinfoView,
  addressView,
  buddyinfoView,
  formatBuddyinfo,
  formatSlabinfo,
  slabinfoView,
  summaryView,
} from '../../engine/inspect/views';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const PAGE = 4096;
/** arch/x86/kernel/setup.c: memblock_reserve(0, SZ_1M) on every x86-64 boot since Linux 5.13. */
const RESERVED_PAGES = MiB / PAGE;
/**
 * arch/x86/include/asm/dma.h MAX_DMA_PFN (16 MiB) and MAX_DMA32_PFN (4 GiB), in frames. arch/x86/mm/init.c
 * zone_sizes_init() ends ZONE_DMA at min(MAX_DMA_PFN, max_low_pfn), ZONE_DMA32 at min(MAX_DMA32_PFN,
 * max_low_pfn) and ZONE_NORMAL at max_low_pfn (the end of memory on x86-64); each starts where the one below ends.
 */
const MAX_DMA_PFN = (16 * MiB) / PAGE;
const MAX_DMA32_PFN = (4 * GiB) / PAGE;
/** include/linux/mmzone.h: MAX_PAGE_ORDER. */
const MAX_PAGE_ORDER = 10;

/**
 * The frames boot keeps from the buddy allocator on x86-64 (the model of engine/mm/boot.ts and the machine's
 * boot page table, re-derived): the first 1 MiB; the kernel image, 8 MiB (a quarter of RAM under 32 MiB) at
 * 16 MiB when it and the memmap fit above, else at 2 MiB; the memmap, 64 bytes per frame rounded up to pages, at
 * the top of RAM; below it the boot page tables: PGD, the direct map's PUD, a PMD per GiB that is not wholly
 * RAM and a PTE page per 2 MiB that is not, the image's PUD and PMD and a PTE page per 2 MiB slot of the image
 * mapped with 4 KiB pages (its first half is text, the rest data, each mapped with 2 MiB pages where whole).
 */
function reservedRanges(memoryBytes: number): [number, number][] {
  const pages = memoryBytes / PAGE;
  const image = memoryBytes < 32 * MiB ? memoryBytes / 4 : 8 * MiB;
  const memmap = Math.ceil((pages * 64) / PAGE);
  const start = 16 * MiB + image + memmap * PAGE < memoryBytes ? 16 * MiB : 2 * MiB;
  const [s, e] = [start / PAGE, Math.ceil((start + image) / PAGE)];
  let tables = 4;
  for (let g = 0; g * GiB < memoryBytes; g++) {
    if ((g + 1) * GiB <= memoryBytes) continue;
    tables++;
    for (let a = g * GiB; a < memoryBytes; a += 2 * MiB) if (a + 2 * MiB > memoryBytes) tables++;
  }
  const textEnd = s + Math.floor((e - s) / 2);
  const slots = new Set<number>();
  for (let pfn = s; pfn < e;) {
    const large = pfn % 512 === 0 && pfn + 512 <= (pfn < textEnd ? textEnd : e);
    if (!large) slots.add(pfn >> 9);
    pfn += large ? 512 : 1;
  }
  tables += slots.size;
  return [
    [0, RESERVED_PAGES],
    [s, e],
    [pages - memmap - tables, pages],
  ];
}

/**
 * The buddyinfo view of a fresh machine: memblock_free_all() frees every range between the reservations as
 * the largest aligned blocks (mm/memblock.c __free_pages_memory: order min(MAX_PAGE_ORDER, __ffs(pfn)),
 * lowered to fit), each counted in the zone that holds it; the zone boundaries are multiples of 4 MiB, so no
 * block spans two. Only populated zones are listed (mm/vmstat.c frag_show skips the others).
 */
function freshBuddyinfoZones(memoryBytes: number): BuddyinfoView['zones'] {
  const end = memoryBytes / PAGE;
  const bounds = [0, Math.min(MAX_DMA_PFN, end), Math.min(MAX_DMA32_PFN, end), end];
  const reserved = reservedRanges(memoryBytes);
  const zones: BuddyinfoView['zones'][number][] = [];
  ['DMA', 'DMA32', 'Normal'].forEach((zone, i) => {
    const lo = bounds[i]!;
    const hi = bounds[i + 1]!;
    if (lo >= hi) return;
    const nrFree = new Array<number>(MAX_PAGE_ORDER + 1).fill(0);
    let pages = 0;
    // The free ranges inside the zone: [lo, hi) less the reservations.
    let from = lo;
    for (const [rs, re] of [...reserved, [hi, hi] as [number, number]]) {
      const to = Math.min(Math.max(rs, lo), hi);
      for (let pfn = from; pfn < to;) {
        let order = MAX_PAGE_ORDER;
        while (pfn % 2 ** order !== 0 || pfn + 2 ** order > to) order--;
        nrFree[order]!++;
        pfn += 2 ** order;
        pages += 2 ** order;
      }
      from = Math.max(from, Math.min(Math.max(re, lo), hi));
    }
    zones.push({ node: 0, zone, nrFree, freePages: pages, managedPages: pages });
  });
  return zones;
}

const FC_SEED = Number(process.env.FC_SEED ?? 61200);

// ---------------------------------------------------------------------------------------------------------
// Golden files
// ---------------------------------------------------------------------------------------------------------

function assertSameText(actual: string, expected: string, what: string): void {
  const diff = firstDifference(actual, expected);
  assert.ok(diff === undefined, `${what} differs at ${diff}`);
}

// ---------------------------------------------------------------------------------------------------------
// The kernel's formats
// ---------------------------------------------------------------------------------------------------------

/**
 * The conversions of lib/vsprintf.c the /proc formats below use: %[-][width]s, %[width]d, %[width]u,
 * %[width]lu. Width pads with spaces (left-justified with '-') and never truncates.
 */
function kprintf(fmt: string, ...args: (string | number)[]): string {
  let next = 0;
  const out = fmt.replace(/%(-?)(\d*)(s|d|u|lu)/g, (_m, left: string, width: string, conv: string) => {
    const arg = args[next++];
    if (arg === undefined) {
      throw new Error(`kprintf: no argument for conversion ${next} of ${JSON.stringify(fmt)}`);
    }
    if (conv !== 's' && (typeof arg !== 'number' || !Number.isInteger(arg) || (conv !== 'd' && arg < 0))) {
      throw new Error(`kprintf: %${conv} given ${JSON.stringify(arg)}`);
    }
    const text = String(arg);
    const w = width === '' ? 0 : Number(width);
    return left === '-' ? text.padEnd(w) : text.padStart(w);
  });
  if (next !== args.length) {
    throw new Error(`kprintf: ${args.length - next} unused arguments for ${JSON.stringify(fmt)}`);
  }
  return out;
}

/**
 * mm/slab_common.c print_slabinfo_header() and cache_show() (Linux 6.12):
 *   seq_puts(m, "slabinfo - version: 2.1\n");
 *   seq_puts(m, "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>");
 *   seq_puts(m, " : tunables <limit> <batchcount> <sharedfactor>");
 *   seq_puts(m, " : slabdata <active_slabs> <num_slabs> <sharedavail>");
 *   seq_putc(m, '\n');
 *   seq_printf(m, "%-17s %6lu %6lu %6u %4u %4d", s->name, sinfo.active_objs, sinfo.num_objs, s->size,
 *              sinfo.objects_per_slab, (1 << sinfo.cache_order));
 *   seq_printf(m, " : tunables %4u %4u %4u", sinfo.limit, sinfo.batchcount, sinfo.shared);
 *   seq_printf(m, " : slabdata %6lu %6lu %6lu", sinfo.active_slabs, sinfo.num_slabs, sinfo.shared_avail);
 *   seq_putc(m, '\n');
 * SLUB leaves limit, batchcount, shared and shared_avail at 0 (get_slabinfo fills neither).
 */
function kernelSlabinfo(view: SlabinfoView): string {
  let out =
    'slabinfo - version: 2.1\n' +
    '# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>' +
    ' : tunables <limit> <batchcount> <sharedfactor>' +
    ' : slabdata <active_slabs> <num_slabs> <sharedavail>' +
    '\n';
  for (const c of view.caches) {
    out +=
      kprintf('%-17s %6lu %6lu %6u %4u %4d', c.name, c.activeObjs, c.numObjs, c.objSize, c.objPerSlab, 1 << c.order) +
      kprintf(' : tunables %4u %4u %4u', 0, 0, 0) +
      kprintf(' : slabdata %6lu %6lu %6lu', c.activeSlabs, c.numSlabs, 0) +
      '\n';
  }
  return out;
}

/**
 * mm/vmstat.c frag_show_print() (Linux 6.12), per populated zone:
 *   seq_printf(m, "Node %d, zone %8s ", pgdat->node_id, zone->name);
 *   for (order = 0; order < NR_PAGE_ORDERS; ++order)
 *       seq_printf(m, "%6lu ", data_race(zone->free_area[order].nr_free));
 *   seq_putc(m, '\n');
 */
function kernelBuddyinfo(view: BuddyinfoView): string {
  let out = '';
  for (const z of view.zones) {
    out += kprintf('Node %d, zone %8s ', z.node, z.zone);
    for (let order = 0; order < 11; order++) {
      out += kprintf('%6lu ', z.nrFree[order]!);
    }
    out += '\n';
  }
  return out;
}

function boot(memoryBytes: number, cpus: number): Machine {
  const m = Machine.boot({ memoryBytes, cpus });
  if (Array.isArray(m)) {
    throw new Error(`boot failed: ${m.map((e) => e.code).join(', ')}`);
  }
  return m;
}

/**
 * A fixed workload over both CPUs: cpu slabs, full slabs, partial slabs (from local and remote frees), a
 * discarded slab, a large kmalloc still held and one freed.
 */
function fixedSequence(m: Machine): void {
  const ok = (p: number): number => {
    assert.ok(p >= 0, 'kmalloc succeeded');
    return p;
  };
  const kfree = (p: number): void => assert.equal(m.kfree(p), undefined);
  m.cpu = 0;
  const small = Array.from({ length: 100 }, () => ok(m.kmalloc(64, GFP_KERNEL)));
  const mid = Array.from({ length: 30 }, () => ok(m.kmalloc(200, GFP_KERNEL)));
  const big = Array.from({ length: 5 }, () => ok(m.kmalloc(3000, GFP_KERNEL)));
  const large = ok(m.kmalloc(20000, GFP_KERNEL));
  ok(m.kmalloc(100000, GFP_KERNEL));
  m.cpu = 1;
  const other = Array.from({ length: 50 }, () => ok(m.kmalloc(64, GFP_KERNEL)));
  const odd = Array.from({ length: 20 }, () => ok(m.kmalloc(100, GFP_KERNEL)));
  for (let i = 0; i < small.length; i += 3) kfree(small[i]!); // remote frees of CPU 0's objects
  m.cpu = 0;
  for (const p of odd) kfree(p); // remote frees of CPU 1's kmalloc-128 objects
  for (let i = 0; i < 10; i++) kfree(mid[i]!);
  kfree(big[0]!);
  kfree(large);
  const eight = Array.from({ length: 40 }, () => ok(m.kmalloc(8192, GFP_KERNEL)));
  for (let i = 0; i < 32; i++) kfree(eight[i]!); // empties slabs beyond min_partial: discard_slab
  m.cpu = 1;
  for (let i = 0; i < 10; i++) kfree(other[i]!);
}

// ---------------------------------------------------------------------------------------------------------
// /proc/slabinfo and /proc/buddyinfo
// ---------------------------------------------------------------------------------------------------------

describe('/proc/slabinfo (mm/slab_common.c cache_show)', () => {
  test('a fresh 256M/2-CPU machine, character by character', () => {
    const m = boot(256 * MiB, 2);
    const text = formatSlabinfo(slabinfoView(m));
    assertSameText(text, kernelSlabinfo(slabinfoView(m)), 'slabinfo');
    const lines = text.split('\n');
    assert.equal(lines[0], 'slabinfo - version: 2.1');
    assert.equal(
      lines[1],
      '# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> ' +
        '<batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>',
    );
    // slab_caches lists the newest cache first; 6.12 create_kmalloc_caches() makes, for each type (normal,
    // reclaim, dma, cgroup on x86-64 with ZONE_DMA and CONFIG_MEMCG), 96 and 192, then 8 .. 8k.
    const sizes = ['8k', '4k', '2k', '1k', '512', '256', '128', '64', '32', '16', '8', '192', '96'];
    assert.deepEqual(
      lines.slice(2, -1).map((l) => l.split(' ')[0]),
      ['kmalloc-cg-', 'dma-kmalloc-', 'kmalloc-rcl-', 'kmalloc-'].flatMap((prefix) => sizes.map((n) => prefix + n)),
    );
    assert.equal(
      lines.find((l) => l.startsWith('kmalloc-192 ')),
      'kmalloc-192            0      0    192   21    1 : tunables    0    0    0 : slabdata      0      0      0',
    );
    assert.equal(lines.at(-1), '', 'ends with a newline');
    assertGolden('slabinfo-fresh-256M-2cpu.txt', text);
  });

  test('after a fixed sequence', () => {
    const m = boot(256 * MiB, 2);
    fixedSequence(m);
    const view = slabinfoView(m);
    const text = formatSlabinfo(view);
    assertSameText(text, kernelSlabinfo(view), 'slabinfo');
    const row = (name: string): string => text.split('\n').find((l) => l.startsWith(`${name} `))!;
    const expect = (name: string, active: number, num: number, size: number, per: number, pages: number): string =>
      kprintf('%-17s %6lu %6lu %6u %4u %4d', name, active, num, size, per, pages) +
      kprintf(' : tunables %4u %4u %4u', 0, 0, 0) +
      kprintf(' : slabdata %6lu %6lu %6lu', num / per, num / per, 0);
    // With CONFIG_SLUB_CPU_PARTIAL a slab that was full goes, on its first free, to the freeing CPU's per-CPU
    // partial list (mm/slub.c __slab_free -> put_cpu_partial), and get_slabinfo() subtracts only the free
    // objects of the node partial list (count_partial): objects free on per-CPU partial slabs count as active.
    // kmalloc-64: CPU 0 filled slab A (64) and holds slab B (36 used); CPU 1 holds slab C. CPU 1 frees every
    // third of CPU 0's objects: 22 land on A, which goes to CPU 1's partial list, 12 on B's slab->freelist (B
    // is frozen). CPU 1's own frees go to its lockless freelist. Nothing is on the node list: 192 active.
    assert.equal(row('kmalloc-64'), expect('kmalloc-64', 192, 192, 64, 64, 1));
    // kmalloc-256: 30 objects = a full slab + a cpu slab; 10 frees from the full one put it on CPU 0's partial
    // list: still 32 active.
    assert.equal(row('kmalloc-256'), expect('kmalloc-256', 32, 32, 256, 16, 1));
    // kmalloc-128: CPU 1's cpu slab; CPU 0's frees are remote frees to a frozen slab, all still active.
    assert.equal(row('kmalloc-128'), expect('kmalloc-128', 32, 32, 128, 32, 1));
    // kmalloc-8k (4 per slab, min_partial 6, cpu_partial 6 objects -> cpu_partial_slabs = DIV_ROUND_UP(6 * 2, 4)
    // = 3): 40 objects in 10 full slabs; CPU 0 empties slabs 1..8 in order. Each slab's first free pushes it on
    // CPU 0's partial list; the pushes of slabs 4 and 7 find 3 slabs there and drain them (__put_partials) to
    // the node list, which then holds 6 empty slabs (nr_partial never reached min_partial during a drain, so
    // none was discarded); slabs 7 and 8 stay on CPU 0's list. 40 - 6 * 4 = 16 active, 10 slabs.
    assert.equal(row('kmalloc-8k'), expect('kmalloc-8k', 16, 40, 8192, 4, 8));
    // kmalloc-4k: one cpu slab; the free went to the CPU freelist.
    assert.equal(row('kmalloc-4k'), expect('kmalloc-4k', 8, 8, 4096, 8, 8));
    assertGolden('slabinfo-after-sequence-256M-2cpu.txt', text);
  });

  test('long names and wide numbers are neither truncated nor realigned (%-17s, %6lu)', () => {
    const view: SlabinfoView = {
      kind: 'slabinfo',
      caches: [
        {
          name: 'kmalloc-rcl-a-very-long-cache-name',
          activeObjs: 12345678,
          numObjs: 123456789,
          objSize: 1234567,
          objPerSlab: 12345,
          pagesPerSlab: 65536,
          order: 16,
          objectSize: 1234567,
          activeSlabs: 9876543,
          numSlabs: 9876543,
          partial: 0,
          cpuSlabs: 0,
          cpuPartial: 0,
          minPartial: 5,
          liveObjects: 0,
        },
        {
          name: 'k',
          activeObjs: 0,
          numObjs: 1,
          objSize: 8,
          objPerSlab: 512,
          pagesPerSlab: 1,
          order: 0,
          objectSize: 8,
          activeSlabs: 1,
          numSlabs: 1,
          partial: 0,
          cpuSlabs: 0,
          cpuPartial: 0,
          minPartial: 5,
          liveObjects: 0,
        },
      ],
    };
    const text = formatSlabinfo(view);
    assertSameText(text, kernelSlabinfo(view), 'slabinfo');
    assert.equal(
      text.split('\n')[2],
      'kmalloc-rcl-a-very-long-cache-name 12345678 123456789 1234567 12345 65536 : tunables    0    0    0 : ' +
        'slabdata 9876543 9876543      0',
    );
    assert.equal(
      text.split('\n')[3],
      'k                      0      1      8  512    1 : tunables    0    0    0 : slabdata      1      1      0',
    );
  });
});

describe('/proc/buddyinfo (mm/vmstat.c frag_show_print)', () => {
  test('a fresh 256M/2-CPU machine, character by character', () => {
    const m = boot(256 * MiB, 2);
    const view = buddyinfoView(m);
    const text = formatBuddyinfo(view);
    assertSameText(text, kernelBuddyinfo(view), 'buddyinfo');
    const expected = freshBuddyinfoZones(256 * MiB);
    assert.deepEqual(view.zones, expected);
    assert.equal(text, kernelBuddyinfo({ kind: 'buddyinfo', zones: expected }));
    // DMA: frames 256..511 (order 8) and 512..1023 (order 9) above the reserved 1 MiB, then 3 blocks of 4 MiB up
    // to 16 MiB. DMA32: from 6144 (the 8 MiB kernel image sits at 16 MiB) to 64506 (5 boot page-table pages
    // and the 1024-page memmap follow): 56 blocks of 4 MiB and 1019 = 512 + 256 + 128 + 64 + 32 + 16 + 8 + 2 + 1
    // frames. Normal (above 4 GiB) is empty: no line.
    assert.equal(
      text,
      'Node 0, zone      DMA      0      0      0      0      0      0      0      0      1      1      3 \n' +
        'Node 0, zone    DMA32      1      1      0      1      1      1      1      1      1      1     56 \n',
    );
    assert.deepEqual(
      view.zones.map((z) => [z.zone, z.freePages, z.managedPages]),
      [
        ['DMA', MAX_DMA_PFN - RESERVED_PAGES, MAX_DMA_PFN - RESERVED_PAGES],
        ['DMA32', 65536 - MAX_DMA_PFN - 2048 - 5 - 1024, 65536 - MAX_DMA_PFN - 2048 - 5 - 1024],
      ],
    );
    assertGolden('buddyinfo-fresh-256M-2cpu.txt', text);
  });

  test('after a fixed sequence', () => {
    const m = boot(256 * MiB, 2);
    fixedSequence(m);
    const view = buddyinfoView(m);
    const text = formatBuddyinfo(view);
    assertSameText(text, kernelBuddyinfo(view), 'buddyinfo');
    assert.deepEqual(
      view.zones.map((z) => z.zone),
      ['DMA', 'DMA32'],
    );
    const free = view.zones.map((z) => z.nrFree.reduce((sum, n, order) => sum + n * 2 ** order, 0));
    assert.deepEqual(
      free,
      view.zones.map((z) => z.freePages),
      'buddyinfo counts every free page of each zone',
    );
    // Every allocation was GFP_KERNEL: gfp_zone() = ZONE_NORMAL, empty on 256M, so all of it came from DMA32.
    const [dma, dma32] = freshBuddyinfoZones(256 * MiB);
    assert.deepEqual(view.zones[0], dma, 'the DMA zone is as booted');
    // What the sequence still holds: its slabs and the 100000-byte kmalloc (get_order = 5, 32 pages); the
    // pages on the CPUs' per-CPU lists are not free pages either (NR_FREE_PAGES does not count them).
    const held = summaryView(m).slabPages + 32;
    const cached = m.buddy.pcp[1]!.count;
    assert.equal(m.buddy.nrPcpPages, cached, 'only DMA32 has cached pages');
    assert.equal(free[1], dma32!.freePages - held - cached, 'DMA32 free = its frames - slabs - large kmalloc - cached');
    assert.equal(
      free[0]! + free[1]!,
      65536 - RESERVED_PAGES - 2048 - 5 - 1024 - held - cached,
      'free = total - reserved - slabs - large kmalloc - cached',
    );
    assert.equal(
      view.zones[1]!.nrFree[10],
      55,
      'everything fitted in the first 4 MiB block of DMA32 (claimed for Unmovable): 55 blocks untouched',
    );
    assertGolden('buddyinfo-after-sequence-256M-2cpu.txt', text);
  });

  test('zone names are right-aligned in 8 columns, counts in 6, never truncated', () => {
    const view: BuddyinfoView = {
      kind: 'buddyinfo',
      zones: [
        { node: 0, zone: 'DMA', nrFree: [1, 1, 1, 0, 2, 1, 1, 0, 1, 1, 3], freePages: 0, managedPages: 0 },
        {
          node: 0,
          zone: 'DMA32',
          nrFree: [1234567, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16384],
          freePages: 0,
          managedPages: 0,
        },
        { node: 1, zone: 'Movable1', nrFree: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], freePages: 0, managedPages: 0 },
      ],
    };
    const text = formatBuddyinfo(view);
    assertSameText(text, kernelBuddyinfo(view), 'buddyinfo');
    assert.equal(
      text.split('\n')[0],
      'Node 0, zone      DMA      1      1      1      0      2      1      1      0      1      1      3 ',
    );
    assert.equal(
      text.split('\n')[1],
      'Node 0, zone    DMA32 1234567      0      0      0      0      0      0      0      0      0  16384 ',
    );
  });
});

describe('summaryView', () => {
  test('counts slab pages and free pages', () => {
    const m = boot(64 * MiB, 2);
    m.kmalloc(1000, GFP_KERNEL); // kmalloc-1k: one slab of 4 pages on 2 CPUs
    m.kmalloc(64, GFP_KERNEL); // kmalloc-64: one page
    m.kmalloc(20000, GFP_KERNEL); // 8 pages, not slab
    const s = summaryView(m);
    assert.deepEqual(s, {
      kind: 'summary',
      memoryBytes: 64 * MiB,
      cpus: 2,
      // 64M manages 16384 - 256 (low) - 2048 (image) - 5 (page tables) - 256 (memmap) = 13819 pages. DMA32's
      // per-CPU batch is 1 (zone_batchsize(9979): 9979 >> 10 = 9, / 4 = 2, rounddown_pow_of_two(3) - 1), so
      // each refill takes just the block handed out.
      freePages: 13819 - 4 - 1 - 8,
      totalPages: 16384,
      events: m.events.length,
      slabPages: 5,
    });
  });
});

// ---------------------------------------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------------------------------------

describe('direct-map addresses (PAGE_OFFSET = 0xffff888000000000)', () => {
  test('formatVirt is exact at the edges of a 64 GiB machine', () => {
    assert.equal(formatVirt(0), '0xffff888000000000');
    assert.equal(formatVirt(1), '0xffff888000000001');
    assert.equal(formatVirt(0x1234_5678), '0xffff888012345678');
    assert.equal(formatVirt(64 * GiB - 1), '0xffff888fffffffff');
    assert.equal(formatVirt(64 * GiB - 8), '0xffff888ffffffff8');
    assert.equal(formatVirt(64 * GiB - PAGE + 0x123), '0xffff888ffffff123');
    assert.equal(formatVirt(0xf_ffff_fff7), '0xffff888ffffffff7');
    assert.equal(formatVirt(32 * GiB + 5), '0xffff888800000005');
  });

  test('property: formatVirt(phys) = PAGE_OFFSET + phys in hex, and virtToPhys inverts it', (t) => {
    t.diagnostic(`fast-check seed ${FC_SEED} (set FC_SEED to change)`);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 64 * GiB - 1 }), (phys) => {
        const expected = `0x${(0xffff888000000000n + BigInt(phys)).toString(16)}`;
        assert.equal(formatVirt(phys), expected);
        assert.equal(physToVirt(phys), PAGE_OFFSET + BigInt(phys));
        assert.equal(virtToPhys(physToVirt(phys), 64 * GiB), phys);
        assert.equal(formatVirt(phys).length, 18);
      }),
      { seed: FC_SEED, numRuns: 2000 },
    );
  });

  test('virtToPhys rejects addresses outside the direct map of the machine', () => {
    assert.equal(virtToPhys(PAGE_OFFSET - 1n, 256 * MiB), undefined);
    assert.equal(virtToPhys(PAGE_OFFSET + BigInt(256 * MiB), 256 * MiB), undefined);
    assert.equal(virtToPhys(PAGE_OFFSET + BigInt(256 * MiB - 1), 256 * MiB), 256 * MiB - 1);
  });

  test('formatPhys prints %pa: 0x and 16 hex digits', () => {
    assert.equal(formatPhys(0), '0x0000000000000000');
    assert.equal(formatPhys(64 * GiB - 1), '0x0000000fffffffff');
  });
});

describe('addressView', () => {
  test('slab objects, large kmallocs, free, reserved and allocated pages', () => {
    const m = boot(64 * MiB, 2);
    const obj = m.kmalloc(64, GFP_KERNEL);
    // GFP_KERNEL starts at the highest populated zone: DMA32, whose first free frame is at 24 MiB (after the
    // kernel image); the unmovable slab claims that 4 MiB block (__rmqueue_fallback).
    assert.equal(obj, 24 * MiB, 'the first slab is the first frame of the first 4 MiB block of DMA32');
    assert.deepEqual(addressView(m, obj), {
      virt: formatVirt(obj),
      phys: obj,
      pfn: Math.floor(obj / PAGE),
      zone: 'DMA32',
      cache: 'kmalloc-64',
      objectSize: 64,
      state: 'slab object',
    });
    assert.equal(addressView(m, obj + 10).cache, 'kmalloc-64', 'inside an object');
    const large = m.kmalloc(20000, GFP_KERNEL);
    assert.deepEqual(addressView(m, large), {
      virt: formatVirt(large),
      phys: large,
      pfn: large / PAGE,
      zone: 'DMA32',
      objectSize: 20000,
      headPfn: large / PAGE,
      order: 3,
      state: 'large kmalloc',
    });
    const page = m.buddy.allocPages({ order: 0, gfp: GFP_KERNEL, cpu: 0, compound: false });
    assert.equal(addressView(m, page * PAGE + 100).state, 'page');
    // 60 MiB = pfn 15360: the order-9 block left below the page tables and the memmap (DMA32 ends at 16122).
    const free = 60 * MiB;
    assert.deepEqual(addressView(m, free), {
      virt: '0xffff888003c00000',
      phys: free,
      pfn: free / PAGE,
      zone: 'DMA32',
      headPfn: free / PAGE,
      order: 9,
      state: 'free',
    });
    // The first 1 MiB (arch/x86/kernel/setup.c reserves it on x86-64): PG_reserved, never allocator memory.
    assert.equal(RESERVED_LOW_BYTES, MiB);
    assert.deepEqual(addressView(m, 0), {
      virt: '0xffff888000000000',
      phys: 0,
      pfn: 0,
      zone: 'DMA',
      state: 'reserved',
    });
    assert.deepEqual(addressView(m, MiB - 1), {
      virt: '0xffff8880000fffff',
      phys: MiB - 1,
      pfn: RESERVED_PAGES - 1,
      zone: 'DMA',
      state: 'reserved',
    });
    assert.equal(addressView(m, 0x9f000).state, 'reserved', 'a frame in the middle of the first 1 MiB');
    assert.deepEqual(
      addressView(m, MiB),
      {
        virt: '0xffff888000100000',
        phys: MiB,
        pfn: RESERVED_PAGES,
        zone: 'DMA',
        headPfn: RESERVED_PAGES,
        order: 8,
        state: 'free',
      },
      'the first frame above the reservation: DMA, untouched by GFP_KERNEL',
    );
    assert.equal(addressView(m, 16 * MiB - 1).state, 'free', 'the last byte of DMA');
    assert.equal(addressView(m, 16 * MiB).state, 'reserved', 'the kernel image at CONFIG_PHYSICAL_START');
    assert.equal(addressView(m, 24 * MiB - 1).state, 'reserved', 'the last byte of the 8 MiB image');
    assert.equal(addressView(m, 64 * MiB - 1).state, 'reserved', 'the memmap at the top of RAM');
  });

  test('every page of a large kmalloc resolves to that kmalloc, tail pages through their head', () => {
    const m = boot(64 * MiB, 2);
    const large = m.kmalloc(20000, GFP_KERNEL); // order 3: 8 pages
    for (let page = 0; page < 8; page++) {
      for (const offset of [0, 16, PAGE - 1]) {
        const inside = large + page * PAGE + offset;
        const view = addressView(m, inside);
        assert.deepEqual(
          view,
          {
            virt: formatVirt(inside),
            phys: inside,
            pfn: large / PAGE + page,
            zone: 'DMA32',
            state: 'large kmalloc',
            objectSize: 20000,
            headPfn: large / PAGE,
            order: 3,
          },
          `addressView(large + ${page * PAGE + offset})`,
        );
      }
    }
    assert.notEqual(addressView(m, large + 8 * PAGE).state, 'large kmalloc', 'the page after the block');
    // A compound block from the page allocator that is no kmalloc: its tail pages are plain pages.
    const compound = m.buddy.allocPages({ order: 2, gfp: GFP_KERNEL, cpu: 0, compound: true });
    assert.equal(addressView(m, (compound + 3) * PAGE + 8).state, 'page');
    assert.equal(m.kfree(large), undefined);
    // The order-3 block went to CPU 0's per-CPU list; drained, it is a free block again.
    m.buddy.drainAll();
    assert.equal(addressView(m, large + PAGE + 16).state, 'free', 'after kfree the pages are free again');
  });
});
