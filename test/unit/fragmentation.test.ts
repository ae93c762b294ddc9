/*
 * External fragmentation indices (engine/inspect/fragmentation.ts) against values worked out by hand from
 * Linux 6.12 mm/vmstat.c:
 *   fill_contig_page_info(): free_pages = sum(nr_free[k] << k), free_blocks_total = sum(nr_free[k]),
 *     free_blocks_suitable(o) = sum over k >= o of nr_free[k] << (k - o);
 *   unusable_free_index(): 1000 when free_pages is 0, else
 *     div_u64((free_pages - (free_blocks_suitable << o)) * 1000, free_pages);
 *   __fragmentation_index(): 0 when free_blocks_total is 0 (or o > MAX_PAGE_ORDER), -1000 when a suitable block
 *     exists, else 1000 - div_u64(1000 + div_u64(free_pages * 1000, 1 << o), free_blocks_total);
 *   unusable_show_print(): "Node %d, zone %8s " then "%d.%03d " per order; extfrag_show_print(): the same with
 *     "%2d.%03d " (so " 0.490", and "-1.000" for -1000).
 * And /proc/pagetypeinfo (engine/inspect/pagetypeinfo.ts) against a hand-written text for a small view, from
 * mm/vmstat.c pagetypeinfo_show(), pagetypeinfo_showfree_print() and pagetypeinfo_showblockcount_print().
 */

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  __fragmentation_index,
  extfragView,
  fill_contig_page_info,
  formatExtfragIndex,
  formatUnusableIndex,
  unusable_free_index,
} from '../../engine/inspect/fragmentation';
import { formatPagetypeinfo, MIGRATETYPE_NAMES, PagetypeinfoView } from '../../engine/inspect/pagetypeinfo';

const ORDERS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

function counts(sparse: Record<number, number>): number[] {
  return ORDERS.map((o) => sparse[o] ?? 0);
}

describe('fill_contig_page_info', () => {
  test('mixed zone: 3 order-0, 2 order-1, 1 order-3 block', () => {
    const nr = counts({ 0: 3, 1: 2, 3: 1 });
    // free_pages = 3*1 + 2*2 + 1*8 = 15; free_blocks_total = 3 + 2 + 1 = 6.
    // suitable(0) = 3 + 2*2 + 1*8 = 15; suitable(1) = 2 + 1*4 = 6; suitable(2) = 1*2 = 2; suitable(3) = 1;
    // suitable(4) = 0.
    assert.deepEqual(fill_contig_page_info(nr, 0), { free_pages: 15, free_blocks_total: 6, free_blocks_suitable: 15 });
    assert.deepEqual(fill_contig_page_info(nr, 1), { free_pages: 15, free_blocks_total: 6, free_blocks_suitable: 6 });
    assert.deepEqual(fill_contig_page_info(nr, 2), { free_pages: 15, free_blocks_total: 6, free_blocks_suitable: 2 });
    assert.deepEqual(fill_contig_page_info(nr, 3), { free_pages: 15, free_blocks_total: 6, free_blocks_suitable: 1 });
    assert.deepEqual(fill_contig_page_info(nr, 4), { free_pages: 15, free_blocks_total: 6, free_blocks_suitable: 0 });
  });

  test('one order-10 block holds 2^(10-o) blocks of every order o', () => {
    const nr = counts({ 10: 1 });
    for (const o of ORDERS) {
      assert.deepEqual(fill_contig_page_info(nr, o), {
        free_pages: 1024,
        free_blocks_total: 1,
        free_blocks_suitable: 2 ** (10 - o),
      });
    }
  });
});

describe('unusable_free_index and __fragmentation_index', () => {
  test('only order-0 blocks (100 of them)', () => {
    const nr = counts({ 0: 100 });
    const unusable = ORDERS.map((o) => unusable_free_index(o, fill_contig_page_info(nr, o)));
    const extfrag = ORDERS.map((o) => __fragmentation_index(o, fill_contig_page_info(nr, o)));
    // order 0: (100 - 100) * 1000 / 100 = 0; orders >= 1: no suitable block, (100 - 0) * 1000 / 100 = 1000.
    assert.deepEqual(unusable, [0, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000]);
    // order 0: a suitable block exists: -1000. order o >= 1: 1000 - (1000 + 100000 / 2^o) / 100, truncating:
    //   o=1: 100000/2 = 50000, 51000/100 = 510 -> 490     o=2: 25000, 26000/100 = 260 -> 740
    //   o=3: 12500, 13500/100 = 135 -> 865                 o=4: 6250, 7250/100 = 72 -> 928
    //   o=5: 3125, 4125/100 = 41 -> 959                    o=6: 1562, 2562/100 = 25 -> 975
    //   o=7: 781, 1781/100 = 17 -> 983                     o=8: 390, 1390/100 = 13 -> 987
    //   o=9: 195, 1195/100 = 11 -> 989                     o=10: 97, 1097/100 = 10 -> 990
    assert.deepEqual(extfrag, [-1000, 490, 740, 865, 928, 959, 975, 983, 987, 989, 990]);
  });

  test('one order-10 block: nothing unusable, every order has a suitable block', () => {
    const nr = counts({ 10: 1 });
    for (const o of ORDERS) {
      const info = fill_contig_page_info(nr, o);
      // (1024 - (2^(10-o) << o)) * 1000 / 1024 = 0
      assert.equal(unusable_free_index(o, info), 0);
      assert.equal(__fragmentation_index(o, info), -1000);
    }
  });

  test('mixed zone: 3 order-0, 2 order-1, 1 order-3 block (15 pages, 6 blocks)', () => {
    const nr = counts({ 0: 3, 1: 2, 3: 1 });
    const unusable = ORDERS.map((o) => unusable_free_index(o, fill_contig_page_info(nr, o)));
    const extfrag = ORDERS.map((o) => __fragmentation_index(o, fill_contig_page_info(nr, o)));
    // o=0: (15 - 15) -> 0; o=1: (15 - 6*2) * 1000 / 15 = 3000/15 = 200; o=2: (15 - 2*4) * 1000 / 15 = 7000/15 =
    // 466; o=3: (15 - 1*8) * 1000 / 15 = 466; o>=4: 15000 / 15 = 1000.
    assert.deepEqual(unusable, [0, 200, 466, 466, 1000, 1000, 1000, 1000, 1000, 1000, 1000]);
    // o<=3: suitable blocks exist -> -1000. o>=4: 1000 - (1000 + 15000 / 2^o) / 6:
    //   o=4: 15000/16 = 937, 1937/6 = 322 -> 678    o=5: 468, 1468/6 = 244 -> 756
    //   o=6: 234, 1234/6 = 205 -> 795               o=7: 117, 1117/6 = 186 -> 814
    //   o=8: 58, 1058/6 = 176 -> 824                o=9: 29, 1029/6 = 171 -> 829
    //   o=10: 14, 1014/6 = 169 -> 831
    assert.deepEqual(extfrag, [-1000, -1000, -1000, -1000, 678, 756, 795, 814, 824, 829, 831]);
  });

  test('no free pages: unusable is 1000 (all of nothing), fragmentation index 0 (free_blocks_total is 0)', () => {
    const nr = counts({});
    for (const o of ORDERS) {
      const info = fill_contig_page_info(nr, o);
      assert.deepEqual(info, { free_pages: 0, free_blocks_total: 0, free_blocks_suitable: 0 });
      assert.equal(unusable_free_index(o, info), 1000);
      assert.equal(__fragmentation_index(o, info), 0);
    }
  });

  test('an order above MAX_PAGE_ORDER gives fragmentation index 0 (WARN_ON_ONCE in the kernel)', () => {
    assert.equal(__fragmentation_index(11, fill_contig_page_info(counts({ 0: 5 }), 11)), 0);
  });
});

describe('/sys/kernel/debug/extfrag text', () => {
  const view = extfragView([
    { node: 0, zone: 'DMA', nrFree: counts({}) },
    { node: 0, zone: 'DMA32', nrFree: counts({ 0: 100 }) },
    { node: 0, zone: 'Normal', nrFree: counts({ 0: 3, 1: 2, 3: 1 }) },
    { node: 0, zone: 'Movable', nrFree: counts({ 10: 1 }) },
  ]);

  test('the view carries both indices in thousandths', () => {
    assert.equal(view.kind, 'extfrag');
    assert.deepEqual(view.zones[2], {
      node: 0,
      zone: 'Normal',
      unusable: [0, 200, 466, 466, 1000, 1000, 1000, 1000, 1000, 1000, 1000],
      extfrag: [-1000, -1000, -1000, -1000, 678, 756, 795, 814, 824, 829, 831],
    });
    assert.doesNotThrow(() => JSON.stringify(view));
  });

  test('unusable_index: "Node %d, zone %8s " then "%d.%03d " per order', () => {
    assert.equal(
      formatUnusableIndex(view),
      'Node 0, zone      DMA 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 \n' +
        'Node 0, zone    DMA32 0.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 \n' +
        'Node 0, zone   Normal 0.000 0.200 0.466 0.466 1.000 1.000 1.000 1.000 1.000 1.000 1.000 \n' +
        'Node 0, zone  Movable 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000 \n',
    );
  });

  test('extfrag_index: "%2d.%03d ", so -1000 prints "-1.000" and 490 " 0.490"', () => {
    assert.equal(
      formatExtfragIndex(view),
      'Node 0, zone      DMA  0.000  0.000  0.000  0.000  0.000  0.000  0.000  0.000  0.000  0.000  0.000 \n' +
        'Node 0, zone    DMA32 -1.000  0.490  0.740  0.865  0.928  0.959  0.975  0.983  0.987  0.989  0.990 \n' +
        'Node 0, zone   Normal -1.000 -1.000 -1.000 -1.000  0.678  0.756  0.795  0.814  0.824  0.829  0.831 \n' +
        'Node 0, zone  Movable -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 \n',
    );
  });
});

describe('/proc/pagetypeinfo', () => {
  const zero = counts({});
  const view: PagetypeinfoView = {
    kind: 'pagetypeinfo',
    pageblockOrder: 9,
    migrateTypeNames: MIGRATETYPE_NAMES,
    zones: [
      {
        node: 0,
        zone: 'DMA',
        freeByType: [counts({ 0: 1 }), counts({ 1: 1, 2: 1, 10: 3 }), zero, zero, zero, zero],
        blocksByType: [1, 7, 0, 0, 0, 0],
      },
      {
        node: 0,
        zone: 'Normal',
        // Unmovable order 0: 99999 prints in full; Movable order 0: 123456 stops at 100000 (">100000"), and a
        // list of exactly 100000 also prints ">100000" ("if (++freecount >= 100000)").
        freeByType: [
          counts({ 0: 99999, 3: 12 }),
          counts({ 0: 123456, 1: 100000, 9: 2, 10: 40 }),
          counts({ 2: 5 }),
          zero,
          zero,
          zero,
        ],
        blocksByType: [10, 100, 2, 0, 0, 0],
      },
    ],
  };

  test('the 6.12 migrate types with CONFIG_CMA and CONFIG_MEMORY_ISOLATION (mm/page_alloc.c migratetype_names[])', () => {
    assert.deepEqual(MIGRATETYPE_NAMES, ['Unmovable', 'Movable', 'Reclaimable', 'HighAtomic', 'CMA', 'Isolate']);
  });

  test('hand-written text: header, free counts per type and order, block counts per type', () => {
    const expected = [
      'Page block order: 9',
      'Pages per block:  512',
      '',
      'Free pages count per migrate type at order       0      1      2      3      4      5      6      7      8      9     10 ',
      'Node    0, zone      DMA, type    Unmovable      1      0      0      0      0      0      0      0      0      0      0 ',
      'Node    0, zone      DMA, type      Movable      0      1      1      0      0      0      0      0      0      0      3 ',
      'Node    0, zone      DMA, type  Reclaimable      0      0      0      0      0      0      0      0      0      0      0 ',
      'Node    0, zone      DMA, type   HighAtomic      0      0      0      0      0      0      0      0      0      0      0 ',
      'Node    0, zone      DMA, type          CMA      0      0      0      0      0      0      0      0      0      0      0 ',
      'Node    0, zone      DMA, type      Isolate      0      0      0      0      0      0      0      0      0      0      0 ',
      'Node    0, zone   Normal, type    Unmovable  99999      0      0     12      0      0      0      0      0      0      0 ',
      'Node    0, zone   Normal, type      Movable >100000 >100000      0      0      0      0      0      0      0      2     40 ',
      'Node    0, zone   Normal, type  Reclaimable      0      0      5      0      0      0      0      0      0      0      0 ',
      'Node    0, zone   Normal, type   HighAtomic      0      0      0      0      0      0      0      0      0      0      0 ',
      'Node    0, zone   Normal, type          CMA      0      0      0      0      0      0      0      0      0      0      0 ',
      'Node    0, zone   Normal, type      Isolate      0      0      0      0      0      0      0      0      0      0      0 ',
      '',
      'Number of blocks type     Unmovable      Movable  Reclaimable   HighAtomic          CMA      Isolate ',
      'Node 0, zone      DMA            1            7            0            0            0            0 ',
      'Node 0, zone   Normal           10          100            2            0            0            0 ',
      '',
    ].join('\n');
    assert.equal(formatPagetypeinfo(view), expected);
  });

  test('column widths: the free table header and rows line up at 44 characters before the counts', () => {
    const lines = formatPagetypeinfo(view).split('\n');
    // "%-43s " of the 42-character title; "Node %4d, zone %8s, type %12s " = 5+4+7+8+7+12+1 = 44.
    assert.equal(lines[3]!.indexOf('     0'), 44);
    assert.equal(lines[4]!.indexOf('      1'), 43);
  });
});
