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
 * Managed pages: each zone's frames less what boot reserves in it (engine/mm/boot.ts, re-derived in refReserved
 * below): the first 1 MiB (arch/x86/kernel/setup.c), the kernel image (8 MiB at CONFIG_PHYSICAL_START =
 * 16 MiB; a quarter of RAM under 32 MiB, at 2 MiB when it does not fit above 16 MiB) and the memmap
 * (sizeof(struct page) = 64 bytes per frame, memblock-allocated top-down, so at the top of RAM).
 * Then an independent re-implementation checks many memory sizes.
 */

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { Machine } from '../../engine/mm/machine';
import { computeWatermarks, intSqrt, multFrac } from '../../engine/mm/watermarks';
import { __GFP_NOWARN } from '../../engine/mm/gfp';

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
  // Reserved at boot (refReserved below): 256 pages under 1 MiB (DMA), the 8 MiB kernel image at 16 MiB
  // (pfns 4096..6143, DMA32), the memmap: 65536 frames * 64 B = 4 MiB = 1024 pages at the top (DMA32), and 5
  // boot page-table pages below it (PGD, direct-map PUD and PMD, image PUD and PMD).
  // DMA 4096 - 256 = 3840; DMA32 65536 - 4096 - 2048 - 1024 - 5 = 58363. 62203 pages = 248812 kB;
  // int_sqrt(3980992) = 1995 (1995^2 = 3980025, 1996^2 = 3984016). pages_min 498. DMA 498*3840/62203 = 30,
  // tmp max(7, 3) = 7. DMA32 498*58363/62203 = 467, tmp max(116, 58) = 116.
  // DMA reserve 58363/256 = 227. totalreserve min(227 + 44, 3840) + 699 + 0 + min(32, 0) = 970.
  '256M': {
    managed: [3840, 58363, 0, 0],
    minFreeKbytes: 1995,
    marks: [
      [30, 37, 44, 51],
      [467, 583, 699, 815],
      [0, 0, 0, 0],
      [32, 32, 32, 32],
    ],
    protection: [
      [0, 227, 227, 227],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
    ],
    totalreserve: 970,
  },
  // memmap 262144 * 64 B = 16 MiB = 4096 pages; 4 page-table pages (1 GiB of RAM: the direct map is one
  // 1 GiB page, no PMD). DMA32 262144 - 4096 - 2048 - 4096 - 4 = 251900.
  // 255740 pages = 1022960 kB; int_sqrt(16367360) = 4045 (4045^2 = 16362025, 4046^2 = 16370116).
  // pages_min 1011. DMA 1011*3840/255740 = 15, tmp max(3, 3) = 3. DMA32 1011*251900/255740 = 995,
  // tmp max(248, 251) = 251 (the scale factor wins). DMA reserve 251900/256 = 983.
  // totalreserve (983 + 21) + 1497 = 2501.
  '1G': {
    managed: [3840, 251900, 0, 0],
    minFreeKbytes: 4045,
    marks: [
      [15, 18, 21, 24],
      [995, 1246, 1497, 1748],
      [0, 0, 0, 0],
      [32, 32, 32, 32],
    ],
    protection: [
      [0, 983, 983, 983],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
    ],
    totalreserve: 2501,
  },
  // memmap 1048576 * 64 B = 64 MiB = 16384 pages, at the top of DMA32, 4 page-table pages below it.
  // DMA32 1048576 - 4096 - 2048 - 16384 - 4 = 1026044. 1029884 pages = 4119536 kB; int_sqrt(65912576) = 8118
  // (8118^2 = 65901924, 8119^2 = 65918161). pages_min 2029. DMA 2029*3840/1029884 = 7, tmp max(1, 3) = 3.
  // DMA32 2029*1026044/1029884 = 2021, tmp max(505, 1026) = 1026. DMA reserve 1026044/256 = 4007 > 3840
  // managed: totalreserve min(4007 + 13, 3840) + 4073 = 7913.
  '4G': {
    managed: [3840, 1026044, 0, 0],
    minFreeKbytes: 8118,
    marks: [
      [7, 10, 13, 16],
      [2021, 3047, 4073, 5099],
      [0, 0, 0, 0],
      [32, 32, 32, 32],
    ],
    protection: [
      [0, 4007, 4007, 4007],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
    ],
    totalreserve: 7913,
  },
  // memmap 4194304 * 64 B = 256 MiB = 65536 pages, at the top of Normal, 4 page-table pages below it.
  // DMA32 1048576 - 4096 - 2048 = 1042432; Normal 4194304 - 1048576 - 65536 - 4 = 3080188. 4126460 pages =
  // 16505840 kB; int_sqrt(264093440) = 16250 (16250^2 = 264062500, 16251^2 = 264095001). pages_min 4062.
  // DMA 4062*3840/4126460 = 3, tmp max(0, 3) = 3; DMA32 4062*1042432/4126460 = 1026, tmp max(256, 1042);
  // Normal 4062*3080188/4126460 = 3032, tmp max(758, 3080). Reserves: DMA 1042432/256 = 4072,
  // (1042432 + 3080188)/256 = 16103; DMA32 3080188/256 = 12031.
  // totalreserve min(16103 + 9, 3840) + (12031 + 3110) + 9192 = 28173.
  '16G': {
    managed: [3840, 1042432, 3080188, 0],
    minFreeKbytes: 16250,
    marks: [
      [3, 6, 9, 12],
      [1026, 2068, 3110, 4152],
      [3032, 6112, 9192, 12272],
      [32, 32, 32, 32],
    ],
    protection: [
      [0, 4072, 16103, 16103],
      [0, 0, 12031, 12031],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
    ],
    totalreserve: 28173,
  },
  // memmap 16777216 * 64 B = 1 GiB = 262144 pages, 4 page-table pages below it. DMA32 1042432; Normal
  // 16777216 - 1048576 - 262144 - 4 = 15466492. 16512764 pages = 66051056 kB; int_sqrt(1056816896) = 32508
  // (32508^2 = 1056770064, 32509^2 = 1056835081). pages_min 8127. DMA 1, tmp 3; DMA32
  // 8127*1042432/16512764 = 513, tmp 1042; Normal 8127*15466492/16512764 = 7612, tmp max(1903, 15466).
  // Reserves: DMA 4072, 16508924/256 = 64487; DMA32 15466492/256 = 60415.
  // totalreserve 3840 + (60415 + 2597) + 38544 = 105396.
  '64G': {
    managed: [3840, 1042432, 15466492, 0],
    minFreeKbytes: 32508,
    marks: [
      [1, 4, 7, 10],
      [513, 1555, 2597, 3639],
      [7612, 23078, 38544, 54010],
      [32, 32, 32, 32],
    ],
    protection: [
      [0, 4072, 64487, 64487],
      [0, 0, 60415, 60415],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
    ],
    totalreserve: 105396,
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

  test('the watermarks are enforced: a non-blocking caller stops at the min watermark (16M)', () => {
    // 16M: reserved 0..255, the kernel image (a quarter of RAM, 4 MiB, at 2 MiB: 16 MiB + 4 MiB + the memmap
    // does not fit below 16 MiB) 512..1535, 5 boot page-table pages 4027..4031, the memmap 4096 * 64 B = 64
    // pages 4032..4095: 2747 managed.
    // lowmem 10988 kB, int_sqrt(175808) = 419 (419^2 = 175561, 420^2 = 176400); pages_min 104 = min;
    // tmp max(26, 2) = 26: low 130, high 156. gfp 0 cannot reclaim (no __GFP_DIRECT_RECLAIM): the fast path
    // needs free > low (get_page_from_freelist with ALLOC_WMARK_LOW), the slow path free > min
    // (gfp_to_alloc_flags: ALLOC_WMARK_MIN | ALLOC_NON_BLOCK, no __GFP_HIGH so no share of min), then
    // __alloc_pages_slowpath gives up (no direct reclaim). Per-CPU refills may take the zone a batch below.
    const m = boot(16 * MiB);
    const zone = m.buddy.zones[0]!;
    assert.deepEqual([zone.managedPages, zone.wmarkMin, zone.wmarkLow], [2747, 104, 130]);
    let n = 0;
    for (;;) {
      const free = zone.freePages;
      const ok = m.allocPages(0, __GFP_NOWARN) >= 0;
      assert.equal(ok, free > 104, `allocation ${n} with ${free} free pages`);
      if (!ok) break;
      n++;
    }
    assert.ok(zone.freePages <= 104);
    assert.equal(n + zone.freePages + m.buddy.nrPcpPages, 2747, 'handed out + free + on the CPU list');
    assert.equal(m.panic, undefined, 'no OOM for a caller that cannot reclaim');
  });
});

/**
 * The pfn ranges boot reserves on x86-64: [0, 256) (arch/x86/kernel/setup.c reserves the first 1 MiB), the
 * kernel image (8 MiB, a quarter of RAM under 32 MiB; at 16 MiB = CONFIG_PHYSICAL_START when image and memmap
 * fit above it, else at 2 MiB), the memmap (64 bytes per frame, rounded up to pages, at the top: memblock
 * allocates top-down) and below it the boot page tables the machine builds: a PGD, the direct map (a PUD, a
 * PMD for a GiB that is not wholly RAM, a PTE page for each 2 MiB that is not) and the image's own PUD and
 * PMD plus a PTE page per 2 MiB slot it maps with 4 KiB pages (text is its first half, data the rest).
 */
function refReserved(memoryBytes: number): [number, number][] {
  const pages = memoryBytes / 4096;
  const image = memoryBytes < 32 * MiB ? memoryBytes / 4 : 8 * MiB;
  const memmap = Math.ceil((pages * 64) / 4096);
  const start = 16 * MiB + image + memmap * 4096 < memoryBytes ? 16 * MiB : 2 * MiB;
  const [s, e] = [start / 4096, Math.ceil((start + image) / 4096)];
  let tables = 4; // PGD, direct-map PUD, image PUD and PMD
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
    [0, 256],
    [s, e],
    [pages - memmap - tables, pages],
  ];
}

/** An independent re-implementation, written from the kernel source, for many memory sizes. */
function reference(memoryBytes: number) {
  const pages = memoryBytes / 4096;
  const edges = [0, Math.min(pages, 4096), Math.min(pages, 1048576), pages];
  const reserved = refReserved(memoryBytes);
  const managed = [0, 1, 2].map((i) => {
    let n = edges[i + 1]! - edges[i]!;
    for (const [s, e] of reserved) n -= Math.max(0, Math.min(e, edges[i + 1]!) - Math.max(s, edges[i]!));
    return Math.max(0, n);
  });
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
