/*
 * The page allocator as scenarios reach it: Machine.allocPages / Machine.freePages, the reports they write
 * (engine/mm/page_report.ts) and addressView of page blocks.
 *
 * The report texts are pinned against the kernel's format strings (Linux 6.12), quoted next to each test:
 *   mm/page_alloc.c warn_alloc():  pr_warn("%s: %pV, mode:%#x(%pGg), nodemask=%*pbl", current->comm, &vaf, ...)
 *                                  with vaf = "page allocation failure: order:%u" (__alloc_pages_slowpath)
 *   mm/show_mem.c show_free_areas(): "Node %d " (show_node, CONFIG_NUMA), "%s: ", "%lu*%lukB " per order,
 *                                  "= %lukB\n"
 *   mm/page_alloc.c bad_page():    pr_alert("BUG: Bad page state in process %s  pfn:%05lx\n", ...)
 *   mm/debug.c __dump_page():      "page dumped because: %s\n"
 *   lib/vsprintf.c format_flags() over gfpflag_names (include/trace/events/mmflags.h __def_gfpflag_names, 6.12)
 * Bit values below are written from include/linux/gfp_types.h (6.12 bit numbers), not read from engine/.
 */

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { LOG_LIMIT, Machine, PAGES_FAILED } from '../../engine/mm/machine';
import { PG_HEAD, PG_TAIL } from '../../engine/mm/frames';
import {
  badPageHeader,
  formatBadPage,
  formatGfpMode,
  formatPageAllocFailure,
  formatZoneFreeArea,
} from '../../engine/mm/page_report';
import { formatGfpFlags } from '../../engine/mm/gfp';
import { EventKind, EVENT_KIND_NAMES, KmemEvent } from '../../engine/trace/events';
import { addressView, buddyinfoView } from '../../engine/inspect/views';

const MiB = 1024 * 1024;
const PAGE = 4096;

// include/linux/gfp_types.h (6.12): ___GFP_<name>_BIT numbers, x86-64 without KASAN_HW_TAGS or LOCKDEP.
const bit = (n: number) => 2 ** n;
const G = {
  DMA: bit(0),
  HIGHMEM: bit(1),
  DMA32: bit(2),
  MOVABLE: bit(3),
  RECLAIMABLE: bit(4),
  HIGH: bit(5),
  IO: bit(6),
  FS: bit(7),
  ZERO: bit(8),
  // bit 9: ___GFP_UNUSED_BIT
  DIRECT_RECLAIM: bit(10),
  KSWAPD_RECLAIM: bit(11),
  WRITE: bit(12),
  NOWARN: bit(13),
  RETRY_MAYFAIL: bit(14),
  NOFAIL: bit(15),
  NORETRY: bit(16),
  MEMALLOC: bit(17),
  COMP: bit(18),
  NOMEMALLOC: bit(19),
  HARDWALL: bit(20),
  THISNODE: bit(21),
  ACCOUNT: bit(22),
  ZEROTAGS: bit(23),
};
const RECLAIM = G.DIRECT_RECLAIM | G.KSWAPD_RECLAIM;
const GFP_KERNEL = RECLAIM | G.IO | G.FS;
const GFP_ATOMIC = G.HIGH | G.KSWAPD_RECLAIM;
const GFP_NOWAIT = G.KSWAPD_RECLAIM;
const GFP_USER = GFP_KERNEL | G.HARDWALL;
const GFP_HIGHUSER_MOVABLE = GFP_USER | G.HIGHMEM | G.MOVABLE;
const GFP_TRANSHUGE_LIGHT = (GFP_HIGHUSER_MOVABLE | G.COMP | G.NOMEMALLOC | G.NOWARN) & ~RECLAIM;
const GFP_TRANSHUGE = GFP_TRANSHUGE_LIGHT | G.DIRECT_RECLAIM;

function boot(memoryBytes: number, cpus = 2): Machine {
  const m = Machine.boot({ memoryBytes, cpus });
  assert.ok(m instanceof Machine);
  return m;
}

function eventsFrom(m: Machine, from: number): [EventKind, number, number, number, number][] {
  return m.events.slice(from).map((e: KmemEvent) => [e.kind, e.cache, e.addr, e.size, e.extra]);
}

/** Everything a refused free must leave as it was. */
function snapshot(m: Machine): string {
  return JSON.stringify({
    flags: Array.from(m.frames.flags),
    order: Array.from(m.frames.order),
    refcount: Array.from(m.frames.refcount),
    buddy: buddyinfoView(m),
    events: m.events.length,
    pages: [...m.pageAllocations],
    large: [...m.largeKmalloc],
  });
}

/**
 * "Node 0 <zone>: " then n*<4<<order>kB for orders 0..10, each non-zero count followed by the letters of the
 * migrate types with a block of that order (show_migration_types: U, M, E, H, C, I), then "= <total>kB"
 * (show_free_areas). `types` gives the letters per order; absent: every block is Movable ("(M) ").
 */
function refZoneLine(zone: string, nr: number[], types: string[] = []): string {
  const parts = nr.map((n, order) => `${n}*${4 << order}kB ${n ? `(${types[order] ?? 'M'}) ` : ''}`).join('');
  const total = nr.reduce((sum, n, order) => sum + n * (4 << order), 0);
  return `Node 0 ${zone}: ${parts}= ${total}kB`;
}

describe('%pGg: GFP masks by name (gfpflag_names of 6.12)', () => {
  test('composite masks come first, single bits after in the 6.12 list order', () => {
    const cases: [number, string][] = [
      [GFP_KERNEL, 'GFP_KERNEL'],
      [GFP_KERNEL | G.ZERO, 'GFP_KERNEL|__GFP_ZERO'],
      // __GFP_COMP is listed before __GFP_ZERO in 6.12 (bit order only from 6.15 on).
      [GFP_KERNEL | G.COMP | G.ZERO, 'GFP_KERNEL|__GFP_COMP|__GFP_ZERO'],
      [GFP_KERNEL | G.NOWARN | G.NORETRY, 'GFP_KERNEL|__GFP_NOWARN|__GFP_NORETRY'],
      [GFP_KERNEL | G.ACCOUNT, 'GFP_KERNEL_ACCOUNT'],
      [GFP_ATOMIC, 'GFP_ATOMIC'],
      [GFP_ATOMIC | G.NOWARN, 'GFP_ATOMIC|__GFP_NOWARN'],
      [GFP_NOWAIT | G.NOWARN, 'GFP_NOWAIT|__GFP_NOWARN'],
      [RECLAIM, 'GFP_NOIO'],
      [RECLAIM | G.IO, 'GFP_NOFS'],
      [GFP_USER, 'GFP_USER'],
      [GFP_HIGHUSER_MOVABLE, 'GFP_HIGHUSER_MOVABLE'],
      [GFP_TRANSHUGE, 'GFP_TRANSHUGE'],
      [GFP_TRANSHUGE_LIGHT, 'GFP_TRANSHUGE_LIGHT'],
      [G.DMA, 'GFP_DMA'],
      [G.DMA32, 'GFP_DMA32'],
      [G.DMA | GFP_KERNEL, 'GFP_KERNEL|GFP_DMA'],
      [G.HIGHMEM | GFP_KERNEL, 'GFP_KERNEL|__GFP_HIGHMEM'],
      [G.DIRECT_RECLAIM, '__GFP_DIRECT_RECLAIM'],
      [G.WRITE | G.THISNODE | G.ZEROTAGS, '__GFP_THISNODE|__GFP_WRITE|__GFP_ZEROTAGS'],
      [G.MEMALLOC | G.NOMEMALLOC, '__GFP_NOMEMALLOC|__GFP_MEMALLOC'],
      // Bits no name covers print as one hex number (default_flag_spec: base 16, SPECIAL | SMALL).
      [bit(9), '0x200'],
      [GFP_KERNEL | bit(9) | bit(30), 'GFP_KERNEL|0x40000200'],
      [0, ''],
    ];
    for (const [gfp, text] of cases) {
      assert.equal(formatGfpFlags(gfp), text, `0x${gfp.toString(16)}`);
    }
  });

  test('mode:%#x(%pGg): 0x and lowercase hex, 0 as 0x0 (the kernel number(), not glibc)', () => {
    assert.equal(formatGfpMode(GFP_KERNEL), '0xcc0(GFP_KERNEL)');
    assert.equal(formatGfpMode(GFP_KERNEL | G.COMP | G.ZERO), '0x40dc0(GFP_KERNEL|__GFP_COMP|__GFP_ZERO)');
    assert.equal(formatGfpMode(GFP_ATOMIC | G.NOWARN), '0x2820(GFP_ATOMIC|__GFP_NOWARN)');
    assert.equal(formatGfpMode(0), '0x0()');
  });
});

describe('report texts', () => {
  test('show_free_areas line: "%lu*%lukB " per order, then "= %lukB"', () => {
    assert.equal(
      formatZoneFreeArea({ name: 'DMA', index: 0, nrFree: [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 3] }),
      'Node 0 DMA: 0*4kB 0*8kB 0*16kB 0*32kB 0*64kB 0*128kB 0*256kB 0*512kB 1*1024kB 1*2048kB 3*4096kB = 15360kB',
    );
    assert.equal(
      formatZoneFreeArea({ name: 'DMA32', index: 1, nrFree: [3, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0] }),
      'Node 0 DMA32: 3*4kB 1*8kB 0*16kB 2*32kB 0*64kB 0*128kB 0*256kB 0*512kB 0*1024kB 0*2048kB 0*4096kB = 84kB',
    );
  });

  test('warn_alloc: comm, order, mode, nodemask=(null), then the zones up to gfp_zone(gfp)', () => {
    const zones = [
      { name: 'DMA', index: 0, nrFree: [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] },
      { name: 'DMA32', index: 1, nrFree: [0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0] },
    ];
    assert.equal(
      formatPageAllocFailure({ comm: 'kmem', order: 3, gfp: GFP_KERNEL, zones, maxZoneIndex: 2 }),
      'kmem: page allocation failure: order:3, mode:0xcc0(GFP_KERNEL), nodemask=(null)\n' +
        'Node 0 DMA: 1*4kB 0*8kB 0*16kB 0*32kB 0*64kB 0*128kB 0*256kB 0*512kB 0*1024kB 0*2048kB 0*4096kB = 4kB\n' +
        'Node 0 DMA32: 0*4kB 2*8kB 0*16kB 0*32kB 0*64kB 0*128kB 0*256kB 0*512kB 0*1024kB 0*2048kB 0*4096kB = 16kB\n',
    );
    assert.equal(
      formatPageAllocFailure({ comm: 'swapper/0', order: 0, gfp: G.DMA, zones, maxZoneIndex: 0 }),
      'swapper/0: page allocation failure: order:0, mode:0x1(GFP_DMA), nodemask=(null)\n' +
        'Node 0 DMA: 1*4kB 0*8kB 0*16kB 0*32kB 0*64kB 0*128kB 0*256kB 0*512kB 0*1024kB 0*2048kB 0*4096kB = 4kB\n',
    );
  });

  test('bad_page: two spaces before pfn, %05lx; the reason line only when there is a reason', () => {
    assert.equal(badPageHeader('kmem', 0x100), 'BUG: Bad page state in process kmem  pfn:00100');
    assert.equal(badPageHeader('kmem', 0x123456), 'BUG: Bad page state in process kmem  pfn:123456');
    assert.equal(
      formatBadPage({ comm: 'kmem', pfn: 0xa, reason: 'nonzero mapcount', note: 'why' }),
      'BUG: Bad page state in process kmem  pfn:0000a\npage dumped because: nonzero mapcount\nkmem: why\n',
    );
    assert.equal(
      formatBadPage({ comm: 'kmem', pfn: 0xa, note: 'why' }),
      'BUG: Bad page state in process kmem  pfn:0000a\nkmem: why\n',
    );
  });
});

describe('Machine.allocPages', () => {
  test('2^order frames from the highest zone the mask allows, recorded as page_alloc', () => {
    const m = boot(256 * MiB);
    const seq = m.events.length;
    const phys = m.allocPages(3, GFP_KERNEL);
    assert.ok(phys >= 16 * MiB, 'GFP_KERNEL: DMA32 (Normal is empty on 256M)');
    assert.equal(phys % (8 * PAGE), 0, 'naturally aligned');
    const pfn = phys / PAGE;
    assert.deepEqual(eventsFrom(m, seq), [[EventKind.PageAlloc, -1, pfn, 0, 3]]);
    assert.equal(m.pageAllocations.get(pfn), 3);
    // Not compound without __GFP_COMP: no head or tail flags.
    for (let p = pfn; p < pfn + 8; p++) assert.equal(m.frames.flags[p]! & (PG_HEAD | PG_TAIL), 0);
    const dma = m.allocPages(0, G.DMA | G.ZERO);
    assert.ok(dma >= MiB && dma < 16 * MiB, 'GFP_DMA | __GFP_ZERO: zone DMA');
  });

  test('__GFP_COMP makes a compound block: head and tail pages', () => {
    const m = boot(64 * MiB);
    const pfn = m.allocPages(2, GFP_KERNEL | G.COMP) / PAGE;
    assert.equal(m.frames.flags[pfn]! & PG_HEAD, PG_HEAD);
    for (let p = pfn + 1; p < pfn + 4; p++) assert.equal(m.frames.flags[p]! & PG_TAIL, PG_TAIL);
  });

  test('order above MAX_PAGE_ORDER: NULL, page_alloc_fail, WARN_ON_ONCE once (not with __GFP_NOWARN)', () => {
    const m = boot(64 * MiB);
    const quiet = m.allocPages(11, GFP_KERNEL | G.NOWARN);
    assert.equal(quiet, PAGES_FAILED);
    assert.deepEqual(m.log, [], '__GFP_NOWARN: WARN_ON_ONCE_GFP stays silent');
    const seq = m.events.length;
    assert.equal(m.allocPages(11, GFP_KERNEL), PAGES_FAILED);
    assert.equal(m.allocPages(12, GFP_KERNEL), PAGES_FAILED);
    assert.deepEqual(eventsFrom(m, seq), [
      [EventKind.PageAllocFail, -1, 0, GFP_KERNEL, 11],
      [EventKind.PageAllocFail, -1, 0, GFP_KERNEL, 12],
    ]);
    assert.deepEqual(m.log, [
      '------------[ cut here ]------------\n' +
        'WARNING: CPU: 0 at mm/page_alloc.c __alloc_pages_noprof: order:11 > MAX_PAGE_ORDER (10)\n',
    ]);
    assert.equal(EVENT_KIND_NAMES[EventKind.PageAllocFail], 'page_alloc_fail');
  });

  test('no block in an allowed zone: NULL and the warn_alloc report in the log, exact text', () => {
    const m = boot(256 * MiB);
    // DMA after boot: 1 MiB reserved, then order 8 at pfn 256, order 9 at 512, three order-10 blocks, all in
    // Movable page blocks; GFP_DMA (unmovable) claims the three 4 MiB blocks by __rmqueue_fallback.
    for (let i = 0; i < 3; i++) assert.notEqual(m.allocPages(10, G.DMA), PAGES_FAILED);
    const before = snapshot(m);
    const seq = m.events.length;
    assert.equal(m.allocPages(10, G.DMA), PAGES_FAILED);
    assert.deepEqual(eventsFrom(m, seq), [[EventKind.PageAllocFail, -1, 0, G.DMA, 10]]);
    assert.deepEqual(m.log, [
      'kmem: page allocation failure: order:10, mode:0x1(GFP_DMA), nodemask=(null)\n' +
        `${refZoneLine('DMA', [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0])}\n`,
    ]);
    assert.equal(
      m.log[0]!.split('\n')[1],
      'Node 0 DMA: 0*4kB 0*8kB 0*16kB 0*32kB 0*64kB 0*128kB 0*256kB 0*512kB 1*1024kB (M) 1*2048kB (M) 0*4096kB = 3072kB',
    );
    assert.equal(JSON.parse(snapshot(m)).events, JSON.parse(before).events + 1, 'only the event was added');
    assert.equal(m.allocPages(10, G.DMA | G.NOWARN), PAGES_FAILED);
    assert.equal(m.log.length, 1, '__GFP_NOWARN: no report');
  });

  test('a GFP_KERNEL failure shows every populated zone up to Normal, after the fallback emptied them', () => {
    const m = boot(64 * MiB);
    // 64M: DMA32 holds 6144..16122 (after the 8 MiB image at 16 MiB, before 5 page-table pages and the 256-page
    // memmap): 9 order-10 blocks and 763 = 512 + 128 + 64 + 32 + 16 + 8 + 2 + 1 frames. Watermarks (managed DMA
    // 3840, DMA32 9979; min_free_kbytes int_sqrt(13819 * 64) = 940): DMA32 low 211, DMA low 81 and
    // lowmem_reserve[Normal] 9979 / 256 = 38. DMA32's 9 blocks pass (the last: 1787 - 1023 > 211), then DMA's
    // three (3840 - 1023 > 81 + 38, ...): 12 in all.
    for (let i = 0; i < 12; i++) assert.notEqual(m.allocPages(10, GFP_KERNEL), PAGES_FAILED, `block ${i}`);
    assert.equal(m.allocPages(10, GFP_KERNEL | G.COMP | G.ZERO), PAGES_FAILED);
    assert.equal(m.panic, undefined, 'order 10 is costly: NULL, no OOM killer');
    assert.equal(
      m.log.join(''),
      'kmem: page allocation failure: order:10, mode:0x40dc0(GFP_KERNEL|__GFP_COMP|__GFP_ZERO), nodemask=(null)\n' +
        'Node 0 DMA: 0*4kB 0*8kB 0*16kB 0*32kB 0*64kB 0*128kB 0*256kB 0*512kB 1*1024kB (M) 1*2048kB (M) 0*4096kB = 3072kB\n' +
        'Node 0 DMA32: 1*4kB (M) 1*8kB (M) 0*16kB 1*32kB (M) 1*64kB (M) 1*128kB (M) 1*256kB (M) 1*512kB (M) ' +
        '0*1024kB 1*2048kB (M) 0*4096kB = 3052kB\n',
    );
    assert.equal(m.log.join('').split('\n')[2], refZoneLine('DMA32', [1, 1, 0, 1, 1, 1, 1, 1, 0, 1, 0]));
    // GFP_DMA32 stops at DMA32 (the Normal zone is not populated either way).
    m.comm = 'insmod';
    assert.equal(m.allocPages(10, G.DMA32), PAGES_FAILED);
    assert.match(m.log[1]!, /^insmod: page allocation failure: order:10, mode:0x4\(GFP_DMA32\), nodemask=\(null\)\n/);
  });

  test('the log keeps LOG_LIMIT messages and counts the rest', () => {
    const m = boot(16 * MiB);
    // 16M has one 4 MiB block (at 8 MiB, between the kernel image and the page tables): every later order-10
    // request fails with a report (order 10 is costly: no OOM killer).
    assert.notEqual(m.allocPages(10, GFP_KERNEL), PAGES_FAILED);
    for (let i = 0; i < LOG_LIMIT + 5; i++) m.allocPages(10, GFP_KERNEL);
    assert.equal(m.log.length, LOG_LIMIT);
    assert.equal(m.logDropped, 5);
  });
});

describe('Machine.freePages', () => {
  test('a block goes back and merges: the machine is as booted again', () => {
    const m = boot(64 * MiB);
    const fresh = JSON.stringify(buddyinfoView(m));
    const a = m.allocPages(3, GFP_KERNEL);
    const b = m.allocPages(0, GFP_KERNEL | G.COMP);
    const c = m.allocPages(5, GFP_KERNEL | G.COMP);
    const seq = m.events.length;
    assert.equal(m.freePages(b, 0), undefined);
    assert.equal(m.freePages(c + 100, 5), undefined, 'an address inside the first page frees it (virt_to_page)');
    assert.equal(m.freePages(a, 3), undefined);
    assert.deepEqual(eventsFrom(m, seq), [
      [EventKind.PageFree, -1, b / PAGE, 0, 0],
      [EventKind.PageFree, -1, c / PAGE, 0, 5],
      [EventKind.PageFree, -1, a / PAGE, 0, 3],
    ]);
    // Orders 0 and 3 went to CPU 0's per-CPU lists (free_unref_page), with the rest of their refills:
    // drain_all_pages() gives them back to the buddy allocator, where everything merges.
    assert.notEqual(JSON.stringify(buddyinfoView(m)), fresh);
    assert.ok(m.buddy.nrPcpPages > 0);
    m.buddy.drainAll();
    assert.equal(JSON.stringify(buddyinfoView(m)), fresh);
    assert.equal(m.pageAllocations.size, 0);
  });

  test('double free: Bad page state, exact report, nothing changes', () => {
    const m = boot(64 * MiB);
    const a = m.allocPages(3, GFP_KERNEL);
    const pfn = a / PAGE;
    const hex5 = pfn.toString(16).padStart(5, '0');
    assert.equal(m.freePages(a, 3), undefined);
    // First on CPU 0's per-CPU list (order 3 is cached: pcp_allowed_order), then, drained, in the buddy
    // allocator: put_page_testzero() finds refcount 0 either way.
    m.cpu = 1;
    let before = snapshot(m);
    let bad = m.freePages(a, 3)!;
    assert.equal(bad.code, 'KM4005');
    assert.equal(bad.message, `BUG: Bad page state in process kmem  pfn:${hex5}`);
    assert.equal(
      bad.report,
      `BUG: Bad page state in process kmem  pfn:${hex5}\n` +
        'page dumped because: VM_BUG_ON_PAGE(page_ref_count(page) == 0)\n' +
        `kmem: pfn 0x${pfn.toString(16)} is already free (cached on CPU 0's per-CPU page list): double free\n`,
    );
    assert.equal(snapshot(m), before);
    m.buddy.drainAll();
    before = snapshot(m);
    const head = m.buddy.findFreeBlock(pfn)!;
    bad = m.freePages(a, 3)!;
    assert.equal(
      bad.report,
      `BUG: Bad page state in process kmem  pfn:${hex5}\n` +
        'page dumped because: VM_BUG_ON_PAGE(page_ref_count(page) == 0)\n' +
        `kmem: pfn 0x${pfn.toString(16)} is already free (in the order-${head.order} free block at pfn 0x${head.pfn.toString(16)}): double free\n`,
    );
    assert.equal(snapshot(m), before);
  });

  test('wrong order, tail pages, reserved pages and slabs are refused with their reasons', () => {
    const m = boot(64 * MiB);
    const comp = m.allocPages(3, GFP_KERNEL | G.COMP);
    const plain = m.allocPages(2, GFP_KERNEL);
    const obj = m.kmalloc(64, GFP_KERNEL);
    const before = snapshot(m);
    const reason = (phys: number, order: number) => {
      const bad = m.freePages(phys, order);
      assert.ok(bad, `free_pages(${phys}, ${order}) must be refused`);
      assert.equal(bad.code, 'KM4005');
      assert.equal(bad.message, badPageHeader('kmem', Math.floor(phys / PAGE)));
      const lines = bad.report!.split('\n');
      assert.equal(lines[0], bad.message);
      assert.equal(lines.at(-1), '', 'the report ends with a newline');
      return lines.slice(1, -1);
    };
    const cpfn = comp / PAGE;
    assert.deepEqual(reason(comp, 2), [
      'page dumped because: VM_BUG_ON_PAGE(compound && compound_order(page) != order)',
      `kmem: free_pages with order 2 of the order-3 block at pfn 0x${cpfn.toString(16)}: wrong order`,
    ]);
    assert.deepEqual(reason(comp + 3 * PAGE, 3), [
      'page dumped because: VM_BUG_ON_PAGE(page_ref_count(page) == 0)',
      `kmem: pfn 0x${(cpfn + 3).toString(16)} is a tail page of the order-3 compound block at pfn 0x${cpfn.toString(16)}: free it through its head`,
    ]);
    const ppfn = plain / PAGE;
    assert.deepEqual(reason(plain, 1), [
      `kmem: free_pages with order 1 of the order-2 block at pfn 0x${ppfn.toString(16)}: wrong order`,
    ]);
    assert.deepEqual(reason(plain + PAGE, 0), [
      'page dumped because: VM_BUG_ON_PAGE(page_ref_count(page) == 0)',
      `kmem: pfn 0x${(ppfn + 1).toString(16)} is inside the order-2 block at pfn 0x${ppfn.toString(16)}, not its first page`,
    ]);
    assert.deepEqual(reason(0, 0), [
      'page dumped because: PAGE_FLAGS_CHECK_AT_FREE flag(s) set',
      'kmem: pfn 0x0 is reserved (PG_reserved): the page allocator never handed it out',
    ]);
    assert.deepEqual(reason(obj, 0), [
      'page dumped because: nonzero mapcount',
      `kmem: pfn 0x${(obj / PAGE).toString(16)} is a slab of kmalloc-64: its objects go back with kfree`,
    ]);
    assert.equal(snapshot(m), before, 'every refused free changed nothing');
  });

  test('out of range: outside memory (KM4006) and orders above MAX_PAGE_ORDER (KM4107)', () => {
    const m = boot(16 * MiB);
    assert.equal(m.freePages(16 * MiB, 0)?.code, 'KM4006');
    assert.equal(m.freePages(MiB, 11)?.code, 'KM4107');
    assert.equal(m.freePages(MiB, -1)?.code, 'KM4107');
  });

  test("a large kmalloc's pages may be freed with free_pages and their order, as in 6.12", () => {
    const m = boot(64 * MiB);
    const large = m.kmalloc(20000, GFP_KERNEL); // order 3, compound
    assert.equal(m.freePages(large, 2)?.code, 'KM4005');
    assert.equal(m.freePages(large, 3), undefined);
    assert.equal(m.largeKmalloc.size, 0);
    m.buddy.drainAll();
    assert.equal(m.kfree(large)?.code, 'KM4002', 'the pages are free now');
  });

  test("kfree after free_pages of a large kmalloc's pages still on the per-CPU list is a double free (KM4002)", () => {
    const m = boot(64 * MiB);
    const large = m.kmalloc(20000, GFP_KERNEL);
    assert.equal(m.freePages(large, 3), undefined);
    assert.equal(m.kfree(large)?.code, 'KM4002');
  });
});

describe('addressView of page blocks', () => {
  test('zone of any pfn; alloc_pages blocks as pages with head and order; free blocks with theirs', () => {
    const m = boot(64 * MiB);
    const a = m.allocPages(3, GFP_KERNEL);
    const pfn = a / PAGE;
    assert.deepEqual(addressView(m, a + 5 * PAGE + 12), {
      virt: addressView(m, a + 5 * PAGE + 12).virt,
      phys: a + 5 * PAGE + 12,
      pfn: pfn + 5,
      zone: 'DMA32',
      headPfn: pfn,
      order: 3,
      state: 'pages',
    });
    assert.equal(addressView(m, a + 8 * PAGE).state, 'free', 'the page after the block');
    const d = m.allocPages(1, G.DMA | G.COMP);
    assert.deepEqual(
      [addressView(m, d + PAGE).zone, addressView(m, d + PAGE).state, addressView(m, d + PAGE).headPfn],
      ['DMA', 'pages', d / PAGE],
    );
    assert.equal(addressView(m, 0).zone, 'DMA');
    // 60 MiB = pfn 15360: the order-9 block left below the page tables and the memmap (free up to 16122).
    const free = addressView(m, 60 * MiB);
    assert.deepEqual([free.zone, free.state, free.order, free.headPfn], ['DMA32', 'free', 9, (60 * MiB) / PAGE]);
    assert.equal(m.freePages(a, 3), undefined);
    m.buddy.drainAll();
    assert.equal(addressView(m, a).state, 'free');
    const big = boot(6 * 1024 * MiB);
    assert.equal(addressView(big, 5 * 1024 * MiB).zone, 'Normal');
  });

  test('a freed block waiting on a per-CPU list is shown free, not as a page of unknown owner', () => {
    const m = boot(64 * MiB);
    const a = m.allocPages(3, GFP_KERNEL);
    assert.equal(m.freePages(a, 3), undefined);
    assert.notEqual(m.buddy.findPcpBlock(a / PAGE), undefined);
    assert.equal(addressView(m, a).state, 'free');
  });
});
