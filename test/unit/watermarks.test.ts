/*
 * Zone watermarks, lowmem_reserve[] and totalreserve_pages at boot (engine/mm/watermarks.ts), against
 * values worked out by hand from Linux 6.12 mm/page_alloc.c:
 *   calculate_min_free_kbytes(): min_free_kbytes = clamp(int_sqrt(lowmem_kbytes * 16), 128, 262144), with
 *     lowmem_kbytes = nr_free_buffer_pages() * 4 = (managed DMA + DMA32 + Normal) * 4 at boot (the high
 *     watermarks nr_free_zone_pages() subtracts are still 0 on the first call);
 *   __setup_per_zone_wmarks(): pages_min = min_free_kbytes >> 2; tmp = pages_min * managed / lowmem_pages;
 *     min = tmp (Movable: clamp(managed / 1024, 32, 128)); tmp = max(tmp >> 2, managed * 10 / 10000);
 *     low = min + tmp, high = low + tmp, promo = high + tmp;
 *   setup_per_zone_lowmem_reserve(): zone i's reserve[j > i] = (managed of zones i+1..j) / ratio[i], ratios
 *     {256, 256, 32, 0}, 0 when the ratio is 0 or zone i has no managed pages;
 *   calculate_totalreserve_pages(): sum of min(max(reserve[j >= i]) + high, managed).
 * Managed pages: DMA = 4096 - 256 (first 1 MiB reserved), DMA32 = min(end, 1048576) - 4096, Normal = the rest.
 * Then an independent re-implementation checks many memory sizes.
 */

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { Machine } from '../../engine/mm/machine';
import { computeWatermarks, intSqrt, multFrac } from '../../engine/mm/watermarks';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

function boot(memoryBytes: number): Machine {
  const m = Machine.boot({ memoryBytes, cpus: 2 });
  assert.ok(m instanceof Machine);
  return m;
}

interface Expected {
  managed: number[];
  minFreeKbytes: number;
  /** [min, low, high, promo] per zone DMA, DMA32, Normal, Movable. */
  marks: [number, number, number, number][];
  protection: number[][];
  totalreserve: number;
}

const EXPECTED: Record<string, Expected> = {
  // 65280 managed pages = 261120 kB; int_sqrt(4177920) = 2043 (2043^2 = 4173849, 2044^2 = 4177936).
  // pages_min 510. DMA 510*3840/65280 = 30, tmp max(7, 3) = 7. DMA32 510*61440/65280 = 480, tmp max(120, 61).
  // DMA reserve 61440/256 = 240. totalreserve (240 + 44) + 720 + 0 + min(32, 0) = 1004.
  '256M': {
    managed: [3840, 61440, 0, 0],
    minFreeKbytes: 2043,
    marks: [
      [30, 37, 44, 51],
      [480, 600, 720, 840],
      [0, 0, 0, 0],
      [32, 32, 32, 32],
    ],
    protection: [
      [0, 240, 240, 240],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
    ],
    totalreserve: 1004,
  },
  // 261888 pages = 1047552 kB; int_sqrt(16760832) = 4093. pages_min 1023. DMA 1023*3840/261888 = 15,
  // tmp max(3, 3). DMA32 1023*258048/261888 = 1008, tmp max(252, 258) = 258 (the scale factor wins).
  // DMA reserve 258048/256 = 1008. totalreserve (1008 + 21) + 1524 = 2553.
  '1G': {
    managed: [3840, 258048, 0, 0],
    minFreeKbytes: 4093,
    marks: [
      [15, 18, 21, 24],
      [1008, 1266, 1524, 1782],
      [0, 0, 0, 0],
      [32, 32, 32, 32],
    ],
    protection: [
      [0, 1008, 1008, 1008],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
    ],
    totalreserve: 2553,
  },
  // 1048320 pages = 4193280 kB; int_sqrt(67092480) = 8190. pages_min 2047. DMA 2047*3840/1048320 = 7,
  // tmp max(1, 3) = 3. DMA32 2047*1044480/1048320 = 2039, tmp max(509, 1044) = 1044.
  // DMA reserve 1044480/256 = 4080 > 3840 managed: totalreserve min(4080 + 13, 3840) + 4127 = 7967.
  '4G': {
    managed: [3840, 1044480, 0, 0],
    minFreeKbytes: 8190,
    marks: [
      [7, 10, 13, 16],
      [2039, 3083, 4127, 5171],
      [0, 0, 0, 0],
      [32, 32, 32, 32],
    ],
    protection: [
      [0, 4080, 4080, 4080],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
    ],
    totalreserve: 7967,
  },
  // 4194048 pages = 16776192 kB; int_sqrt(268419072) = 16383. pages_min 4095. DMA 3, tmp 3; DMA32
  // 4095*1044480/4194048 = 1019, tmp max(254, 1044); Normal 4095*3145728/4194048 = 3071, tmp max(767, 3145).
  // Reserves: DMA 4080, (1044480 + 3145728)/256 = 16368; DMA32 3145728/256 = 12288.
  // totalreserve min(16368 + 9, 3840) + (12288 + 3107) + 9361 = 28596.
  '16G': {
    managed: [3840, 1044480, 3145728, 0],
    minFreeKbytes: 16383,
    marks: [
      [3, 6, 9, 12],
      [1019, 2063, 3107, 4151],
      [3071, 6216, 9361, 12506],
      [32, 32, 32, 32],
    ],
    protection: [
      [0, 4080, 16368, 16368],
      [0, 0, 12288, 12288],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
    ],
    totalreserve: 28596,
  },
  // 16776960 pages = 67107840 kB; int_sqrt(1073725440) = 32767. pages_min 8191. DMA 1, tmp 3; DMA32 509,
  // tmp 1044; Normal 8191*15728640/16776960 = 7679, tmp max(1919, 15728) = 15728.
  // Reserves: DMA 4080, 16773120/256 = 65520; DMA32 15728640/256 = 61440.
  // totalreserve 3840 + (61440 + 2597) + 39135 = 107012.
  '64G': {
    managed: [3840, 1044480, 15728640, 0],
    minFreeKbytes: 32767,
    marks: [
      [1, 4, 7, 10],
      [509, 1553, 2597, 3641],
      [7679, 23407, 39135, 54863],
      [32, 32, 32, 32],
    ],
    protection: [
      [0, 4080, 65520, 65520],
      [0, 0, 61440, 61440],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
    ],
    totalreserve: 107012,
  },
};

const SIZES: Record<string, number> = { '256M': 256 * MiB, '1G': GiB, '4G': 4 * GiB, '16G': 16 * GiB, '64G': 64 * GiB };

describe('boot-time watermarks (Linux 6.12 init_per_zone_wmark_min)', () => {
  for (const [name, e] of Object.entries(EXPECTED)) {
    test(`${name}: min_free_kbytes, min/low/high/promo, protection, totalreserve_pages`, () => {
      const m = boot(SIZES[name]!);
      const managed = [...m.buddy.zones.map((z) => z.managedPages), 0];
      assert.deepEqual(managed, e.managed);
      const wm = m.watermarks;
      assert.equal(wm.minFreeKbytes, e.minFreeKbytes);
      assert.equal(wm.lowmemKbytes, (e.managed[0]! + e.managed[1]! + e.managed[2]!) * 4);
      assert.deepEqual(
        wm.zones.map((z) => [z.min, z.low, z.high, z.promo]),
        e.marks,
      );
      assert.deepEqual(
        wm.zones.map((z) => z.lowmemReserve),
        e.protection,
      );
      assert.ok(wm.zones.every((z) => z.boost === 0));
      assert.equal(wm.totalreservePages, e.totalreserve);
    });
  }

  test('min_free_kbytes is clamped to [128, 262144]', () => {
    // 1000 pages = 4000 kB: int_sqrt(64000) = 252, not clamped; 100 pages: int_sqrt(6400) = 80 -> 128.
    assert.equal(computeWatermarks([100, 0, 0]).minFreeKbytes, 128);
    assert.equal(computeWatermarks([1000, 0, 0]).minFreeKbytes, 252);
    // 2^30 pages = 4 TiB: int_sqrt(2^36) = 2^18 = 262144 exactly; twice that stays at 262144.
    assert.equal(computeWatermarks([0, 0, 2 ** 30]).minFreeKbytes, 262144);
    assert.equal(computeWatermarks([0, 0, 2 ** 31]).minFreeKbytes, 262144);
  });

  test('int_sqrt and mult_frac', () => {
    for (const [x, r] of [
      [0, 0],
      [1, 1],
      [3, 1],
      [4, 2],
      [4177920, 2043],
      [4177936, 2044],
      [2 ** 40 - 1, 2 ** 20 - 1],
    ] as const) {
      assert.equal(intSqrt(x), r, `int_sqrt(${x})`);
    }
    assert.equal(multFrac(61440, 10, 10000), 61);
    assert.equal(multFrac(9999, 10, 10000), 9);
  });

  test('the machine allocates as before: watermarks are shown, not enforced', () => {
    const m = boot(16 * MiB);
    // 16M: 3840 managed pages, min 30-ish; allocate every page: no watermark stops the allocator.
    let n = 0;
    while (m.allocPages(0, 0) >= 0) n++;
    assert.equal(n, 3840);
  });
});

/** An independent re-implementation, written from the kernel source, for many memory sizes. */
function reference(memoryBytes: number) {
  const pages = memoryBytes / 4096;
  const edges = [0, Math.min(pages, 4096), Math.min(pages, 1048576), pages];
  const managed = [0, 1, 2].map((i) => Math.max(0, edges[i + 1]! - Math.max(edges[i]!, 256)));
  managed.push(0);
  const lowKb = (managed[0]! + managed[1]! + managed[2]!) * 4;
  let s = Math.floor(Math.sqrt(lowKb * 16));
  while (s * s > lowKb * 16) s--;
  while ((s + 1) * (s + 1) <= lowKb * 16) s++;
  const mfk = s < 128 ? 128 : s > 262144 ? 262144 : s;
  const pmin = Math.floor(mfk / 4);
  const lowPages = managed[0]! + managed[1]! + managed[2]!;
  const zones = managed.map((mp, z) => {
    const share = Math.floor((pmin * mp) / lowPages);
    const min = z === 3 ? Math.min(128, Math.max(32, Math.floor(mp / 1024))) : share;
    const step = Math.max(Math.floor(share / 4), Math.floor((mp * 10) / 10000));
    return { min, low: min + step, high: min + 2 * step, promo: min + 3 * step };
  });
  const ratios = [256, 256, 32, 0];
  const prot = managed.map((mp, i) => {
    const row = [0, 0, 0, 0];
    let sum = 0;
    for (let j = i + 1; j < 4 && i < 3; j++) {
      sum += managed[j]!;
      row[j] = ratios[i] && mp ? Math.floor(sum / ratios[i]!) : 0;
    }
    return row;
  });
  let total = 0;
  managed.forEach((mp, i) => (total += Math.min(Math.max(0, ...prot[i]!.slice(i)) + zones[i]!.high, mp)));
  return { mfk, zones, prot, total };
}

describe('watermarks against an independent re-implementation', () => {
  const sizes = [16, 20, 64, 100, 256, 1000, 1024, 3000, 4096, 4100, 6144, 10000, 32768, 65536].map((x) => x * MiB);
  for (const size of sizes) {
    test(`${size / MiB}M`, () => {
      const wm = boot(size).watermarks;
      const r = reference(size);
      assert.equal(wm.minFreeKbytes, r.mfk);
      assert.deepEqual(
        wm.zones.map((z) => ({ min: z.min, low: z.low, high: z.high, promo: z.promo })),
        r.zones,
      );
      assert.deepEqual(
        wm.zones.map((z) => z.lowmemReserve),
        r.prot,
      );
      assert.equal(wm.totalreservePages, r.total);
    });
  }
});
