/*
 * KFENCE (engine/mm/kfence.ts), checked against Linux 6.12's mm/kfence/ by hand-worked examples:
 *   include/linux/kfence.h  KFENCE_POOL_SIZE, is_kfence_address(), kfence_alloc()'s gate test;
 *   kfence.h                KFENCE_CANARY_PATTERN_U8/U64, addr_to_metadata();
 *   core.c                  kfence_init_pool(), kfence_guarded_alloc(), set_canary(), check_canary(),
 *                           kfence_guarded_free(), __kfence_free(), kfence_handle_page_fault(),
 *                           toggle_allocation_gate(), __kfence_alloc(), alloc_covered_*();
 *   report.c                kfence_report_error(), print_diff_canary(), kfence_print_object(), kfence_print_stack().
 * The golden reports are Documentation/dev-tools/kfence.rst's examples (a 5.13 kernel booted with
 * no_hash_pointers; its pool sat at 0xffff8c3f2e200000, which every address there agrees with), with what 6.12
 * prints differently: the "(N.NNNNNNs ago)" suffix of kfence_print_stack() (6.12) and, for a corruption found
 * at free, the free track (check_canary() runs after metadata_update_state(FREED)), as a 6.5 report in the
 * "[REGRESSION] BUG: KFENCE: memory corruption in drm_gem_put_pages" thread (dri-devel, October 2023) shows.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import {
  ALLOC_COVERED_HNUM,
  CONFIG_KFENCE_NUM_OBJECTS,
  CONFIG_KFENCE_SAMPLE_INTERVAL,
  GFP_ZONEMASK,
  KFENCE_BANNER,
  KFENCE_CANARY_PATTERN_U64,
  KFENCE_PAGE_SIZE,
  KFENCE_POOL_SIZE,
  KFENCE_SKIP_COVERED_THRESH,
  KfencePool,
  KfenceSampler,
  allocCoveredOrder,
  formatKfenceTime,
  hash32,
  kfenceCanaryPattern,
  type KfenceCache,
  type KfenceReportContext,
  type KfenceTrackInfo,
} from '../../engine/mm/kfence';
import { GFP_DMA, GFP_KERNEL, __GFP_THISNODE, __GFP_ZERO } from '../../engine/mm/gfp';

const PAGE = BigInt(KFENCE_PAGE_SIZE);
/** Where kfence.rst's example pool was: kfence-#72's page 0xffff8c3f2e292000 = pool + 73 * 2 * PAGE_SIZE. */
const DOC_BASE = 0xffff8c3f2e200000n;
const BASE = 0xffff888100000000n;
const LEFT = 0;
const RIGHT = 0x80; // bit 7 of get_random_u8(): get_random_u32_below(2) = (u8 * 2) >> 8 = 1

const K32: KfenceCache = { name: 'kmalloc-32', align: 8 };
const K96: KfenceCache = { name: 'kmalloc-96', align: 8 };
const K4K: KfenceCache = { name: 'kmalloc-4k', align: 8 };

const KUNIT = [
  'kunit_try_run_case+0x61/0xa0',
  'kunit_generic_run_threadfn_adapter+0x16/0x30',
  'kthread+0x176/0x1b0',
  'ret_from_fork+0x22/0x30',
];
const QEMU = 'Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.14.0-2 04/01/2014';

/** A random() callback fed from a queue (LEFT once empty); the first value is kfence_init()'s seed. */
function queue(values: number[] = []): { random: () => number; push: (...v: number[]) => void; drawn: () => number } {
  const q = [...values];
  let n = 0;
  return {
    random: () => {
      n++;
      return q.length ? q.shift()! : LEFT;
    },
    push: (...v) => q.push(...v),
    drawn: () => n,
  };
}

const track = (pid: number, cpu: number, tsNsec: number, stack: readonly string[] = []): KfenceTrackInfo => ({
  pid,
  cpu,
  tsNsec,
  stack,
});
const T0 = track(1, 0, 1_000_000_000, ['some_alloc+0x10/0x20']);
const ctx = (
  nowNsec: number,
  stack: readonly string[] = ['some_func+0x1/0x2'],
  footer?: string[],
): KfenceReportContext => ({
  nowNsec,
  stack,
  footer,
});

/** A pool, and an allocator that places each object as asked. */
function mkPool(
  opts: { base?: bigint; numObjects?: number; noHashPointers?: boolean; hash?: (a: bigint) => number } = {},
) {
  const q = queue([0x1234]);
  const pool = new KfencePool({
    base: opts.base ?? BASE,
    random: q.random,
    numObjects: opts.numObjects,
    noHashPointers: opts.noHashPointers,
    hashPointer: opts.hash,
  });
  const alloc = (right: boolean, size = 32, cache = K32, t = T0, zero = false): bigint => {
    q.push(right ? RIGHT : LEFT);
    const a = pool.alloc(size, cache, t, { zero });
    assert.ok(a !== undefined, 'allocation failed');
    return a;
  };
  return { pool, q, alloc };
}

test('pool geometry: 255 objects, 2 MiB, object i at pool + (i + 1) * 2 * PAGE_SIZE, guards on both sides', () => {
  assert.equal(CONFIG_KFENCE_NUM_OBJECTS, 255);
  assert.equal(CONFIG_KFENCE_SAMPLE_INTERVAL, 100);
  assert.equal(KFENCE_POOL_SIZE, 2 * 1024 * 1024);
  const { pool } = mkPool();
  assert.equal(pool.numObjects, 255);
  assert.equal(pool.poolSize, KFENCE_POOL_SIZE);
  assert.equal(pool.objectPageAddress(0), BASE + 2n * PAGE);
  assert.equal(pool.objectPageAddress(72), BASE + 146n * PAGE);
  assert.equal(pool.objectPageAddress(254), BASE + 510n * PAGE);
  // addr_to_metadata(): (addr - pool) / (2 * PAGE_SIZE) - 1; pages 0 and 1 have no object.
  assert.equal(pool.addrToMetadataIndex(BASE), undefined);
  assert.equal(pool.addrToMetadataIndex(BASE + 2n * PAGE - 1n), undefined);
  assert.equal(pool.addrToMetadataIndex(BASE + 2n * PAGE), 0);
  assert.equal(pool.addrToMetadataIndex(BASE + 4n * PAGE - 1n), 0); // object 0's right guard
  assert.equal(pool.addrToMetadataIndex(BASE + BigInt(KFENCE_POOL_SIZE) - 1n), 254);
  assert.equal(pool.addrToMetadataIndex(BASE + BigInt(KFENCE_POOL_SIZE)), undefined);
  assert.equal(pool.isKfenceAddress(BASE - 1n), false);
  assert.equal(pool.isKfenceAddress(BASE + BigInt(KFENCE_POOL_SIZE) - 1n), true);
  // kfence_init_pool(): pages 0 and 1 and every odd page protected, object pages not.
  assert.equal(pool.isProtected(BASE), true);
  assert.equal(pool.isProtected(BASE + PAGE), true);
  assert.equal(pool.isProtected(BASE + 2n * PAGE), false);
  assert.equal(pool.isProtected(BASE + 3n * PAGE), true);
  assert.equal(pool.isProtected(BASE + 511n * PAGE), true);
  assert.equal(pool.isObjectPage(BASE), false);
  assert.equal(pool.isObjectPage(BASE + 2n * PAGE + 5n), true);
  assert.deepEqual(
    pool.freelistOrder(),
    Array.from({ length: 255 }, (_, i) => i),
  );
  assert.equal(pool.object(3).state, 'unused');
  // The counting Bloom filter: ALLOC_COVERED_ORDER = const_ilog2(255) + 2 = 9, two hashes, hash_32().
  assert.equal(allocCoveredOrder(255), 9);
  assert.equal(ALLOC_COVERED_HNUM, 2);
  assert.equal(hash32(1, 9), 0x61c88647 >>> 23);
  const phys = new KfencePool({ base: BASE, physBase: 0x100000000n, random: () => 0 });
  assert.equal(phys.physOf(BASE + 0x1234n), 0x100001234n);
  assert.throws(() => new KfencePool({ base: BASE + 8n, random: () => 0 }), RangeError);
});

test('placement: page start on the left; on the right ALIGN_DOWN(page + PAGE_SIZE - size, cache->align)', () => {
  const { pool, alloc, q } = mkPool();
  assert.equal(alloc(false, 32), pool.objectPageAddress(0));
  assert.equal(alloc(true, 32), pool.objectPageAddress(1) + PAGE - 32n);
  // kfence.rst: size=73 in kmalloc-96 (align 8) at 0x...afb0-0x...aff8: 0xb000 - 73 = 0xafb7, aligned down.
  assert.equal(alloc(true, 73, K96), pool.objectPageAddress(2) + 0xfb0n);
  assert.equal(alloc(true, 73, { name: 'aligned-32', align: 32 }), pool.objectPageAddress(3) + 0xfa0n);
  assert.equal(alloc(true, 4096), pool.objectPageAddress(4));
  // Only bit 7 of the low byte matters (get_random_u32_below(2) via get_random_u8()).
  q.push(0x7f);
  assert.equal(pool.alloc(8, K32, T0), pool.objectPageAddress(5));
  q.push(0xffffff80);
  assert.equal(pool.alloc(8, K32, T0), pool.objectPageAddress(6) + PAGE - 8n);
  assert.equal(pool.ksize(pool.objectPageAddress(6) + 100n), 8);
  assert.equal(pool.objectStart(pool.objectPageAddress(6) + 100n), pool.objectPageAddress(6) + PAGE - 8n);
  const o = pool.object(2);
  assert.deepEqual([o.state, o.size, o.cacheName], ['allocated', 73, 'kmalloc-96']);
  // Sizes outside 1..PAGE_SIZE are refused before the random draw, as "incompatible".
  const drawn = q.drawn();
  assert.equal(pool.alloc(4097, K32, T0), undefined);
  assert.equal(pool.alloc(0, K32, T0), undefined);
  assert.equal(q.drawn(), drawn);
  assert.equal(pool.counters.skipIncompat, 2);
});

test('canary: 0xaa ^ (addr & 7) around the object, written as u64 words from ALIGN_DOWN(end, 8)', () => {
  assert.deepEqual(
    [0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n].map((a) => kfenceCanaryPattern(0xffff888000000000n + a)),
    [0xaa, 0xab, 0xa8, 0xa9, 0xae, 0xaf, 0xac, 0xad, 0xaa],
  );
  assert.equal(KFENCE_CANARY_PATTERN_U64, 0xadacafaea9a8abaan);
  const { pool, alloc } = mkPool();
  const a = alloc(false, 13);
  const page = pool.read(pool.objectPageAddress(0), KFENCE_PAGE_SIZE)!;
  // Object bytes 0..7 untouched (zero); bytes 8..12 lie in the u64 word at ALIGN_DOWN(13, 8) and get the canary.
  assert.deepEqual([...page.subarray(0, 8)], [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual([...page.subarray(8, 13)], [0xaa, 0xab, 0xa8, 0xa9, 0xae]);
  for (let k = 13; k < KFENCE_PAGE_SIZE; k++) assert.equal(page[k], kfenceCanaryPattern(a + BigInt(k)));
  // Right placement: the whole left part is canary.
  const b = alloc(true, 32);
  const left = pool.read(pool.objectPageAddress(1), KFENCE_PAGE_SIZE - 32)!;
  assert.ok(left.every((v, k) => v === kfenceCanaryPattern(pool.objectPageAddress(1) + BigInt(k))));
  assert.equal(b, pool.objectPageAddress(1) + PAGE - 32n);
  // slab_want_init_on_alloc() zeroes the object after set_canary().
  const c = alloc(false, 13, K32, T0, true);
  assert.deepEqual([...pool.read(c, 14)!], [...new Array(13).fill(0), 0xaa ^ 5]);
});

test('Documentation/dev-tools/kfence.rst reports, as 6.12 prints them (OOB, UAF, invalid free, corruption)', () => {
  const { pool, alloc } = mkPool({ base: DOC_BASE });
  const tracks: Record<number, KfenceTrackInfo> = {
    72: track(484, 0, 32_919_330_000, ['test_alloc+0xfe/0x738', 'test_out_of_bounds_read+0x9b/0x234', ...KUNIT]),
    79: track(488, 2, 33_871_326_000, ['test_alloc+0xfe/0x738', 'test_use_after_free_read+0x76/0x143', ...KUNIT]),
    81: track(490, 1, 34_175_321_000, ['test_alloc+0xfe/0x738', 'test_double_free+0x76/0x171', ...KUNIT]),
    156: track(502, 7, 42_159_302_000, [
      'test_alloc+0xfe/0x738',
      'test_kmalloc_aligned_oob_write+0x57/0x184',
      ...KUNIT,
    ]),
  };
  for (let i = 0; i <= 156; i++) {
    if (i === 156) alloc(true, 73, K96, tracks[156]);
    else alloc(false, 32, K32, tracks[i] ?? T0);
  }

  // Out-of-bounds: 1 byte left of kfence-#72; #71 is allocated too, but its object is 8159 bytes away.
  const oob = pool.checkAccess(
    0xffff8c3f2e291fffn,
    1,
    false,
    ctx(
      32_938_330_000,
      ['test_out_of_bounds_read+0xa6/0x234', ...KUNIT],
      ['CPU: 0 PID: 484 Comm: kunit_try_catch Not tainted 5.13.0-rc3+ #7', QEMU],
    ),
  )!;
  assert.deepEqual([oob.type, oob.objectIndex, oob.side, oob.distance], ['out-of-bounds', 72, 'left', 1]);
  assert.deepEqual(oob.lines, [
    KFENCE_BANNER,
    'BUG: KFENCE: out-of-bounds read in test_out_of_bounds_read+0xa6/0x234',
    '',
    'Out-of-bounds read at 0xffff8c3f2e291fff (1B left of kfence-#72):',
    ' test_out_of_bounds_read+0xa6/0x234',
    ' kunit_try_run_case+0x61/0xa0',
    ' kunit_generic_run_threadfn_adapter+0x16/0x30',
    ' kthread+0x176/0x1b0',
    ' ret_from_fork+0x22/0x30',
    '',
    'kfence-#72: 0xffff8c3f2e292000-0xffff8c3f2e29201f, size=32, cache=kmalloc-32',
    '',
    'allocated by task 484 on cpu 0 at 32.919330s (0.019000s ago):',
    ' test_alloc+0xfe/0x738',
    ' test_out_of_bounds_read+0x9b/0x234',
    ' kunit_try_run_case+0x61/0xa0',
    ' kunit_generic_run_threadfn_adapter+0x16/0x30',
    ' kthread+0x176/0x1b0',
    ' ret_from_fork+0x22/0x30',
    '',
    'CPU: 0 PID: 484 Comm: kunit_try_catch Not tainted 5.13.0-rc3+ #7',
    QEMU,
    KFENCE_BANNER,
  ]);

  // Use-after-free of kfence-#79.
  const free79 = pool.free(0xffff8c3f2e2a0000n, {
    ...track(488, 2, 33_871_358_000, ['test_use_after_free_read+0xa8/0x143', ...KUNIT]),
  });
  assert.deepEqual(free79, { status: 'freed', reports: [] });
  const uaf = pool.checkAccess(
    0xffff8c3f2e2a0000n,
    1,
    false,
    ctx(
      33_871_400_000,
      ['test_use_after_free_read+0xb3/0x143', ...KUNIT],
      ['CPU: 2 PID: 488 Comm: kunit_try_catch Tainted: G    B             5.13.0-rc3+ #7', QEMU],
    ),
  )!;
  assert.deepEqual(uaf.lines, [
    KFENCE_BANNER,
    'BUG: KFENCE: use-after-free read in test_use_after_free_read+0xb3/0x143',
    '',
    'Use-after-free read at 0xffff8c3f2e2a0000 (in kfence-#79):',
    ' test_use_after_free_read+0xb3/0x143',
    ...KUNIT.map((s) => ' ' + s),
    '',
    'kfence-#79: 0xffff8c3f2e2a0000-0xffff8c3f2e2a001f, size=32, cache=kmalloc-32',
    '',
    'allocated by task 488 on cpu 2 at 33.871326s (0.000074s ago):',
    ' test_alloc+0xfe/0x738',
    ' test_use_after_free_read+0x76/0x143',
    ...KUNIT.map((s) => ' ' + s),
    '',
    'freed by task 488 on cpu 2 at 33.871358s (0.000042s ago):',
    ' test_use_after_free_read+0xa8/0x143',
    ...KUNIT.map((s) => ' ' + s),
    '',
    'CPU: 2 PID: 488 Comm: kunit_try_catch Tainted: G    B             5.13.0-rc3+ #7',
    QEMU,
    KFENCE_BANNER,
  ]);

  // Double free of kfence-#81.
  pool.free(0xffff8c3f2e2a4000n, track(490, 1, 34_175_348_000, ['test_double_free+0xa8/0x171', ...KUNIT]));
  const df = pool.free(0xffff8c3f2e2a4000n, {
    ...track(490, 1, 34_175_400_000, ['test_double_free+0xdc/0x171', ...KUNIT]),
    footer: ['CPU: 1 PID: 490 Comm: kunit_try_catch Tainted: G    B             5.13.0-rc3+ #7', QEMU],
  });
  assert.equal(df.status, 'invalid-free');
  assert.deepEqual(df.reports[0]!.lines, [
    KFENCE_BANNER,
    'BUG: KFENCE: invalid free in test_double_free+0xdc/0x171',
    '',
    'Invalid free of 0xffff8c3f2e2a4000 (in kfence-#81):',
    ' test_double_free+0xdc/0x171',
    ...KUNIT.map((s) => ' ' + s),
    '',
    'kfence-#81: 0xffff8c3f2e2a4000-0xffff8c3f2e2a401f, size=32, cache=kmalloc-32',
    '',
    'allocated by task 490 on cpu 1 at 34.175321s (0.000079s ago):',
    ' test_alloc+0xfe/0x738',
    ' test_double_free+0x76/0x171',
    ...KUNIT.map((s) => ' ' + s),
    '',
    'freed by task 490 on cpu 1 at 34.175348s (0.000052s ago):',
    ' test_double_free+0xa8/0x171',
    ...KUNIT.map((s) => ' ' + s),
    '',
    'CPU: 1 PID: 490 Comm: kunit_try_catch Tainted: G    B             5.13.0-rc3+ #7',
    QEMU,
    KFENCE_BANNER,
  ]);

  // Memory corruption: 0xac written one byte past kfence-#156 (size 73, right-aligned, so the unguarded side
  // holds 7 canary bytes up to the page end), found by kfree().
  assert.equal(pool.checkAccess(0xffff8c3f2e33aff9n, 1, true, ctx(0)), undefined); // no fault: same page
  pool.write(0xffff8c3f2e33aff9n, [0xac]);
  const corrupt = pool.free(0xffff8c3f2e33afb0n, {
    ...track(502, 7, 42_159_330_000, ['test_kmalloc_aligned_oob_write+0xef/0x184', ...KUNIT]),
    footer: ['CPU: 7 PID: 502 Comm: kunit_try_catch Tainted: G    B             5.13.0-rc3+ #7', QEMU],
  });
  assert.equal(corrupt.status, 'freed');
  assert.equal(corrupt.reports.length, 1);
  assert.deepEqual(corrupt.reports[0]!.lines, [
    KFENCE_BANNER,
    'BUG: KFENCE: memory corruption in test_kmalloc_aligned_oob_write+0xef/0x184',
    '',
    'Corrupted memory at 0xffff8c3f2e33aff9 [ 0xac . . . . . . ] (in kfence-#156):',
    ' test_kmalloc_aligned_oob_write+0xef/0x184',
    ...KUNIT.map((s) => ' ' + s),
    '',
    'kfence-#156: 0xffff8c3f2e33afb0-0xffff8c3f2e33aff8, size=73, cache=kmalloc-96',
    '',
    'allocated by task 502 on cpu 7 at 42.159302s (0.000028s ago):',
    ' test_alloc+0xfe/0x738',
    ' test_kmalloc_aligned_oob_write+0x57/0x184',
    ...KUNIT.map((s) => ' ' + s),
    '',
    'freed by task 502 on cpu 7 at 42.159330s (0.000000s ago):',
    ' test_kmalloc_aligned_oob_write+0xef/0x184',
    ...KUNIT.map((s) => ' ' + s),
    '',
    'CPU: 7 PID: 502 Comm: kunit_try_catch Tainted: G    B             5.13.0-rc3+ #7',
    QEMU,
    KFENCE_BANNER,
  ]);
  assert.equal(pool.counters.bugs, 4);
});

test('hashed pointers: "0x00000000" + 32 hash bits, corrupted bytes as "!" (a 6.5 drm_gem_put_pages report)', () => {
  const hashes = new Map<bigint, number>();
  const { pool, alloc } = mkPool({ noHashPointers: false, hash: (a) => hashes.get(a) ?? 0 });
  const start = pool.objectPageAddress(108);
  hashes.set(start, 0xcda343af);
  hashes.set(start + 3071n, 0xaec2c095);
  hashes.set(start + 3072n, 0xe173a294);
  const allocStack = ['drm_gem_get_pages+0x94/0x2b0', 'drm_gem_shmem_get_pages+0x5d/0x110'];
  for (let i = 0; i <= 108; i++) {
    alloc(false, i === 108 ? 3072 : 32, i === 108 ? K4K : K32, track(51, 0, 14_668_667_000, allocStack));
  }
  pool.write(start + 3072n, new Array(16).fill(0)); // 16 bytes that are no canary byte
  const freeStack = ['drm_gem_put_pages+0x186/0x250', 'drm_gem_shmem_put_pages_locked+0x43/0xc0'];
  const r = pool.free(start, track(51, 0, 14_668_697_000, freeStack)).reports;
  assert.equal(r.length, 1);
  assert.deepEqual(r[0]!.lines.slice(1, 6), [
    'BUG: KFENCE: memory corruption in drm_gem_put_pages+0x186/0x250',
    '',
    'Corrupted memory at 0x00000000e173a294 [ ! ! ! ! ! ! ! ! ! ! ! ! ! ! ! ! ] (in kfence-#108):',
    ' drm_gem_put_pages+0x186/0x250',
    ' drm_gem_shmem_put_pages_locked+0x43/0xc0',
  ]);
  assert.ok(r[0]!.lines.includes('kfence-#108: 0x00000000cda343af-0x00000000aec2c095, size=3072, cache=kmalloc-4k'));
  assert.ok(r[0]!.lines.includes('freed by task 51 on cpu 0 at 14.668697s (0.000000s ago):'));
});

test('out-of-bounds via guard pages: the nearer allocated neighbour is blamed, the left one on a tie', () => {
  const { pool, alloc } = mkPool();
  const a = alloc(false, 32); // #0 at page 2's start
  const g = pool.objectPageAddress(0) + PAGE; // guard page 3
  // #1 not allocated yet: #0 is blamed; report.c prints address - meta->addr for the right side.
  let r = pool.checkAccess(g + 10n, 4, true, ctx(2e9))!;
  assert.deepEqual([r.type, r.objectIndex, r.side, r.distance, r.isWrite], ['out-of-bounds', 0, 'right', 4106, true]);
  assert.ok(r.lines.includes(`Out-of-bounds write at 0x${(g + 10n).toString(16)} (4106B right of kfence-#0):`));
  assert.equal(pool.object(0).unprotectedPage, g + 10n);
  // The fault unprotected the guard page: the next access there is not caught.
  assert.equal(pool.isProtected(g), false);
  assert.equal(pool.checkAccess(g + 100n, 8, false, ctx(2e9)), undefined);
  pool.write(g + 100n, [1, 2, 3]);
  // kfence_guarded_free() zeroes and re-protects it.
  assert.equal(pool.free(a, track(1, 0, 3e9)).status, 'freed');
  assert.equal(pool.isProtected(g), true);
  assert.deepEqual([...pool.read(g + 100n, 3)!], [0, 0, 0]);
  assert.equal(pool.object(0).unprotectedPage, 0n);

  // Tie: #2 right-aligned (ends at guard page 7's start), #3 left-aligned (starts at its end).
  const p = mkPool();
  p.alloc(false); // #0
  p.alloc(false); // #1
  p.alloc(true, 32); // #2
  p.alloc(false, 32); // #3
  const g7 = p.pool.objectPageAddress(2) + PAGE;
  r = p.pool.checkAccess(g7 + 2048n, 1, false, ctx(0))!;
  assert.deepEqual([r.objectIndex, r.side, r.distance], [2, 'right', 2048 + 32]);
  const q = mkPool();
  q.alloc(false);
  q.alloc(false);
  q.alloc(true, 32);
  q.alloc(false, 32);
  r = q.pool.checkAccess(g7 + 2049n, 1, false, ctx(0))!;
  assert.deepEqual([r.objectIndex, r.side, r.distance], [3, 'left', 2047]);
  assert.ok(r.lines.includes(`Out-of-bounds read at 0x${(g7 + 2049n).toString(16)} (2047B left of kfence-#3):`));

  // Page 1 is object #0's left guard; page 0 blames nobody: an invalid access, without an object.
  const z = mkPool();
  z.alloc(false, 16);
  r = z.pool.checkAccess(BASE + 2n * PAGE - 1n, 2, false, ctx(0))!;
  assert.deepEqual([r.type, r.objectIndex, r.side, r.distance], ['out-of-bounds', 0, 'left', 1]);
  r = z.pool.checkAccess(BASE + 8n, 8, false, ctx(0, ['bad_read+0x1/0x10'], ['CPU: 4 PID: 124 Comm: x']))!;
  assert.deepEqual(r.lines, [
    KFENCE_BANNER,
    'BUG: KFENCE: invalid read in bad_read+0x1/0x10',
    '',
    `Invalid read at 0x${(BASE + 8n).toString(16)}:`,
    ' bad_read+0x1/0x10',
    '',
    'CPU: 4 PID: 124 Comm: x',
    KFENCE_BANNER,
  ]);
  assert.equal(r.objectIndex, -1);
  // A guard page between two unallocated objects: invalid access too.
  r = z.pool.checkAccess(z.pool.objectPageAddress(5) + PAGE, 1, false, ctx(0))!;
  assert.equal(r.type, 'invalid');
  // An access running off the end of the object into the guard page faults at the guard page's first byte.
  const y = mkPool();
  const obj = y.alloc(true, 30);
  r = y.pool.checkAccess(obj + 26n, 8, false, ctx(0))!;
  assert.deepEqual([r.address, r.side, r.distance], [obj + 30n + 2n, 'right', 32]);
  // Inside the object, around it in its page, and outside the pool: no fault.
  assert.equal(y.pool.checkAccess(obj, 30, true, ctx(0)), undefined);
  assert.equal(y.pool.checkAccess(y.pool.objectPageAddress(0), 16, true, ctx(0)), undefined);
  assert.equal(y.pool.checkAccess(BASE - 64n, 8, false, ctx(0)), undefined);
});

test('use-after-free: a freed object page is protected until a fault unprotects it or the object is reused', () => {
  const { pool, alloc, q } = mkPool({ numObjects: 1 });
  const a = alloc(false, 64);
  pool.free(a, track(1, 0, 5e9, ['kfree_caller+0x1/0x2']));
  assert.equal(pool.isProtected(a), true);
  assert.equal(pool.object(0).state, 'freed');
  const r = pool.checkAccess(a + 8n, 8, true, ctx(6e9, ['writer+0x5/0x10']))!;
  assert.equal(r.type, 'use-after-free');
  assert.ok(r.lines.includes(`Use-after-free write at 0x${(a + 8n).toString(16)} (in kfence-#0):`));
  assert.ok(r.lines.includes('freed by task 1 on cpu 0 at 5.000000s (1.000000s ago):'));
  assert.equal(pool.checkAccess(a + 8n, 8, true, ctx(6e9)), undefined); // now unprotected
  // An access spanning a freed object page and its guard page faults twice; with no allocated neighbour left,
  // the guard page fault is an invalid access.
  const b = mkPool({ numObjects: 2 });
  const o = b.alloc(true, 16);
  b.pool.free(o, track(1, 0, 0));
  const two = b.pool.checkAccess(o + 12n, 8, false, ctx(0))!;
  assert.deepEqual([two.type, two.next?.type, two.next?.address], ['use-after-free', 'invalid', o + 16n]);
  // Reuse: the page is unprotected again and the object allocated.
  q.push(LEFT);
  assert.equal(pool.alloc(8, K32, T0), a);
  assert.equal(pool.isProtected(a), false);
});

test('invalid frees: interior pointer, double free, never-used object, guard page, outside the pool', () => {
  const { pool, alloc } = mkPool();
  const a = alloc(false, 32);
  const bad = pool.free(a + 8n, track(1, 0, 1e9, ['bad_free+0x1/0x2']));
  assert.equal(bad.status, 'invalid-free');
  assert.ok(bad.reports[0]!.lines.includes(`Invalid free of 0x${(a + 8n).toString(16)} (in kfence-#0):`));
  assert.equal(pool.object(0).state, 'allocated'); // nothing changed
  assert.equal(pool.free(a, track(1, 0, 2e9)).status, 'freed');
  const df = pool.free(a, track(1, 0, 3e9));
  assert.equal(df.status, 'invalid-free');
  assert.ok(df.reports[0]!.lines.some((l) => l.startsWith('freed by task 1 on cpu 0 at 2.000000s')));
  const unused = pool.free(pool.objectPageAddress(9), track(1, 0, 0));
  assert.equal(unused.status, 'invalid-free');
  assert.ok(unused.reports[0]!.lines.includes('kfence-#9 unused'));
  assert.deepEqual(pool.free(pool.objectPageAddress(0) + PAGE, track(1, 0, 0)), {
    status: 'not-object-page',
    reports: [],
  });
  assert.deepEqual(pool.free(BASE - PAGE, track(1, 0, 0)), { status: 'not-kfence', reports: [] });
  assert.equal(pool.counters.bugs, 3);
  assert.deepEqual([pool.counters.allocated, pool.counters.frees], [0, 1]);
});

test('canary check at free: lowest corrupted byte on each side, left first; bytes equal to the canary pass', () => {
  const { pool, alloc } = mkPool();
  const a = alloc(true, 100); // right-aligned: canary on the left
  const page = pool.objectPageAddress(0);
  pool.write(page + 5n, [0x11]);
  pool.write(page + 9n, [0x22]);
  pool.write(a + 100n, [0x33]); // past the object, before the page end
  pool.write(page + 20n, [kfenceCanaryPattern(page + 20n)]); // rewriting the pattern is not a corruption
  pool.write(a, new Array(100).fill(0x5a)); // object bytes are never checked
  const { reports } = pool.free(a, track(1, 0, 1e9));
  assert.equal(reports.length, 2);
  // Left: 16 bytes shown from the corrupted one, none past the object.
  assert.match(
    reports[0]!.lines[3]!,
    /^Corrupted memory at 0x[0-9a-f]{16} \[ 0x11 \. \. \. 0x22 \. \. \. \. \. \. \. \. \. \. \. \] \(in kfence-#0\):$/,
  );
  assert.equal(reports[0]!.address, page + 5n);
  // Right: the object sits at page + 0xf98, so 4 bytes remain between its end and the page end.
  assert.equal(a, page + 0xf98n);
  assert.equal(reports[1]!.lines[3], `Corrupted memory at 0x${(a + 100n).toString(16)} [ 0x33 . . . ] (in kfence-#0):`);
  assert.equal(pool.counters.bugs, 2);
  // kfence.check_on_panic: live objects only, state unchanged.
  const b = alloc(false, 8);
  pool.write(b + 8n, [0]);
  const panic = pool.checkAllCanaries(ctx(2e9, ['panic+0x1/0x2']));
  assert.equal(panic.length, 1);
  assert.equal(pool.object(1).state, 'allocated');
  assert.ok(!panic[0]!.lines.some((l) => l.startsWith('freed by')));
});

test('freelist is LRU: frees go to the tail, allocation takes the head; exhaustion returns undefined', () => {
  const { pool, alloc, q } = mkPool({ numObjects: 3 });
  const a = [alloc(false), alloc(false), alloc(false)];
  q.push(LEFT);
  assert.equal(pool.alloc(8, K32, T0), undefined);
  assert.equal(pool.counters.skipCapacity, 1);
  // The random draw happens before the freelist is looked at.
  assert.equal(q.drawn(), 1 + 4);
  pool.free(a[1]!, track(1, 0, 0));
  pool.free(a[0]!, track(1, 0, 0));
  assert.deepEqual(pool.freelistOrder(), [1, 0]);
  assert.equal(alloc(false), a[1]);
  assert.equal(alloc(false), a[0]);
  assert.deepEqual(pool.formatStats(), [
    'enabled: 1',
    'currently allocated: 3',
    'total allocations: 5',
    'total frees: 2',
    'zombie allocations: 0',
    'total bugs: 0',
    'skipped allocations (incompatible): 0',
    'skipped allocations (capacity): 1',
    'skipped allocations (covered): 0',
  ]);
  const objs = mkPool({ numObjects: 2 });
  objs.alloc(false, 16, K32, track(7, 1, 1_500_000_000, ['x+0x1/0x2']));
  const o0 = objs.pool.objectPageAddress(0);
  assert.deepEqual(objs.pool.formatObjects(2_000_000_000), [
    `kfence-#0: 0x${o0.toString(16)}-0x${(o0 + 15n).toString(16)}, size=16, cache=kmalloc-32`,
    '',
    'allocated by task 7 on cpu 1 at 1.500000s (0.500000s ago):',
    ' x+0x1/0x2',
    '---------------------------------',
    'kfence-#1 unused',
    '---------------------------------',
  ]);
});

test('SLAB_TYPESAFE_BY_RCU: kfree() records the track, the RCU callback frees meta->addr', () => {
  const RCU: KfenceCache = { name: 'sighand_cache', align: 64, typesafeByRcu: true };
  const { pool, alloc } = mkPool();
  const a = alloc(false, 200, RCU);
  const res = pool.free(a + 16n, track(9, 3, 7e9, ['release+0x1/0x2'])); // interior: not noticed
  assert.equal(res.status, 'rcu-pending');
  assert.equal(pool.object(0).state, 'rcu-freeing');
  assert.equal(pool.isProtected(a), false);
  pool.free(a, track(9, 3, 8e9, ['again+0x1/0x2'])); // second kfree before the grace period
  const oob = pool.checkAccess(a - 1n, 1, false, ctx(8e9))!;
  assert.ok(oob.lines.includes('rcu freeing by task 9 on cpu 3 at 7.000000s (1.000000s ago):'));
  const reports = pool.runRcuCallbacks(ctx(9e9, ['rcu_do_batch+0x1/0x2']));
  assert.equal(pool.object(0).state, 'freed');
  assert.deepEqual(pool.object(0).freeTrack?.stack, ['release+0x1/0x2']);
  assert.equal(reports.length, 1);
  assert.equal(reports[0]!.type, 'invalid-free');
  assert.ok(reports[0]!.lines.includes('freed by task 9 on cpu 3 at 7.000000s (2.000000s ago):'));
  assert.equal(pool.isProtected(a), true);
  assert.deepEqual(pool.pendingRcu(), []);
});

test('kfence_shutdown_cache(): live objects become zombies, freed ones forget the cache', () => {
  const { pool, alloc } = mkPool({ numObjects: 3 });
  const CACHE: KfenceCache = { name: 'my_cache', align: 8 };
  const a = alloc(false, 16, CACHE);
  const b = alloc(false, 16, CACHE);
  pool.free(b, track(1, 0, 0));
  assert.deepEqual(pool.shutdownCache('my_cache', track(1, 0, 1e9, ['kmem_cache_destroy+0x1/0x2'])), []);
  assert.deepEqual([pool.counters.zombies, pool.counters.allocated], [1, 1]);
  assert.equal(pool.object(0).state, 'freed');
  assert.equal(pool.isProtected(a), true);
  assert.deepEqual(pool.freelistOrder(), [2, 1]); // the zombie is not reused
  const r = pool.checkAccess(a, 1, false, ctx(2e9))!;
  assert.ok(r.lines.some((l) => l.endsWith('size=16, cache=<destroyed>')));
});

test('sampling: the gate opens every sample_interval and lets 1 + burst allocations through', () => {
  const req = (size = 32, gfp = GFP_KERNEL, cache = K32, t = T0) => ({ size, gfp, cache, track: t });
  const mk = (opts: ConstructorParameters<typeof KfenceSampler>[1] = {}, numObjects?: number) => {
    const pool = new KfencePool({ base: BASE, random: () => 0, numObjects });
    return { pool, s: new KfenceSampler(pool, opts) };
  };
  const { pool, s } = mk();
  assert.ok(s.alloc(req(), 0) !== undefined); // kfence_init() queues the first toggle with no delay
  assert.equal(s.lastOutcome, 'sampled');
  assert.equal(s.alloc(req(), 50), undefined);
  assert.equal(s.lastOutcome, 'gate-closed');
  // Refusals before the gate do not consume it.
  assert.equal(s.alloc(req(5000), 100), undefined);
  assert.equal(s.lastOutcome, 'incompatible');
  assert.equal(s.alloc(req(32, GFP_DMA), 100), undefined);
  assert.equal(s.alloc(req(32, GFP_KERNEL, { name: 'dma-kmalloc-32', align: 8, dma: true }), 100), undefined);
  assert.equal(s.alloc(req(32, GFP_KERNEL, { name: 'x', align: 8, skipKfence: true }), 100), undefined);
  assert.equal(s.lastOutcome, 'skip-kfence');
  assert.equal(s.alloc(req(32, GFP_KERNEL | __GFP_THISNODE), 100), pool.objectPageAddress(1)); // one node
  assert.equal(pool.counters.skipIncompat, 3);
  assert.equal(GFP_ZONEMASK, 0x0f);
  // Without static keys the timer re-opens the gate every interval, allocation or not.
  assert.equal(s.gateOpen(350), true);
  assert.equal(s.nextToggle, 400);
  // __GFP_ZERO: served, and zeroed after the canary (memory reused from a freed object).
  pool.write(pool.objectPageAddress(0), [9, 9, 9]);
  pool.free(pool.objectPageAddress(0), track(1, 0, 0));
  pool.free(pool.objectPageAddress(1), track(1, 0, 0));
  for (let i = 2; i < 255; i++) pool.alloc(8, K32, T0); // drain the freelist down to #0, #1
  // (A stack other than T0's: with 253 objects allocated from T0's stack, T0's would be skipped as covered.)
  const z = s.alloc(req(3, GFP_KERNEL | __GFP_ZERO, K32, track(2, 0, 0, ['zeroing_alloc+0x1/0x2'])), 400)!;
  assert.equal(z, pool.objectPageAddress(0));
  assert.deepEqual([...pool.read(z, 3)!], [0, 0, 0]);
  // Capacity: the gate is consumed even when the pool is full.
  pool.alloc(8, K32, T0);
  assert.equal(s.alloc(req(32, GFP_KERNEL, K32, track(2, 0, 0, ['late_alloc+0x1/0x2'])), 500), undefined);
  assert.equal(s.lastOutcome, 'capacity');
  assert.equal(s.alloc(req(), 550), undefined);
  assert.equal(s.lastOutcome, 'gate-closed');

  // Burst mode: kfence.burst=2 lets three allocations through per interval.
  const burst = mk({ burst: 2 });
  const got = [0, 1, 2, 3].map((t) => burst.s.alloc(req(), t) !== undefined);
  assert.deepEqual(got, [true, true, true, false]);

  // Static keys: the key waits for an allocation, then the next interval starts from it.
  const sk = mk({ staticKeys: true, startMs: 10 });
  assert.equal(sk.s.gateOpen(5), false);
  assert.equal(sk.s.alloc(req(), 1000), sk.pool.objectPageAddress(0)); // waited since t=10
  assert.equal(sk.s.nextToggle, 1100);
  assert.equal(sk.s.gateOpen(1099), false);
  assert.equal(sk.s.gateOpen(1100), true);

  // __GFP_THISNODE is refused on a NUMA machine.
  const numa = mk({ onlineNodes: 2 });
  assert.equal(numa.s.alloc(req(32, GFP_KERNEL | __GFP_THISNODE), 0), undefined);
  assert.equal(numa.s.lastOutcome, 'incompatible');

  // kfence.sample_interval=0 at boot: never; set to 0 at run time: off, faults no longer reported.
  const off = mk({ sampleIntervalMs: 0 });
  assert.equal(off.s.alloc(req(), 0), undefined);
  assert.equal(off.s.sampleIntervalMs, 0);
  const rt = mk();
  const obj = rt.s.alloc(req(), 0)!;
  rt.s.setSampleInterval(0, 10);
  assert.equal(rt.pool.enabled, false);
  assert.equal(rt.s.alloc(req(), 200), undefined);
  assert.equal(rt.pool.checkAccess(obj - 1n, 1, false, ctx(0)), undefined);
  assert.equal(rt.pool.isProtected(obj - 1n), false); // unprotected and let go
  assert.equal(rt.pool.formatStats(false)[0], 'enabled: 0');
  rt.s.setSampleInterval(50, 1000);
  assert.ok(rt.s.alloc(req(), 1000) !== undefined);
});

test('skip covered: past skip_covered_thresh% of the pool, a stack already in the pool is skipped', () => {
  assert.equal(KFENCE_SKIP_COVERED_THRESH, 75);
  const pool = new KfencePool({ base: BASE, random: () => 0, numObjects: 8 });
  const s = new KfenceSampler(pool);
  const same = { size: 32, gfp: GFP_KERNEL, cache: K32, track: track(1, 0, 0, ['pagecache_alloc+0x1/0x2']) };
  // thresh = 8 * 75 / 100 = 6: the check starts once 7 objects are allocated.
  for (let i = 0; i < 7; i++) assert.ok(s.alloc(same, i * 100) !== undefined, `alloc ${i}`);
  assert.equal(s.alloc(same, 700), undefined);
  assert.equal(s.lastOutcome, 'covered');
  assert.equal(pool.counters.skipCovered, 1);
  const other = { ...same, track: track(1, 0, 0, ['other_alloc+0x1/0x2']) };
  assert.ok(s.alloc(other, 800) !== undefined);
  assert.equal(formatKfenceTime(-1n), '18446744073.709551');
});

test('property: random alloc/free/access/write sequences never throw and keep the pool consistent', () => {
  const op = fc.oneof(
    fc.record({
      k: fc.constant('alloc' as const),
      size: fc.integer({ min: 1, max: 4096 }),
      align: fc.constantFrom(8, 16, 64, 256),
      r: fc.nat(),
    }),
    fc.record({ k: fc.constant('free' as const), pick: fc.nat(), off: fc.constantFrom(0, 0, 0, 1, 8) }),
    fc.record({ k: fc.constant('freeAny' as const), off: fc.nat({ max: 20 * 4096 }) }),
    fc.record({
      k: fc.constant('access' as const),
      off: fc.nat({ max: 20 * 4096 }),
      size: fc.integer({ min: 1, max: 16 }),
      w: fc.boolean(),
    }),
    fc.record({ k: fc.constant('write' as const), pick: fc.nat(), off: fc.integer({ min: -64, max: 4200 }) }),
  );
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 9 }), fc.array(op, { maxLength: 60 }), (n, ops) => {
      let rnd = 0;
      const pool = new KfencePool({ base: BASE, random: () => rnd, numObjects: n });
      const live: bigint[] = [];
      for (const o of ops) {
        if (o.k === 'alloc') {
          rnd = o.r;
          const a = pool.alloc(o.size, { name: 'c', align: o.align }, T0);
          if (a !== undefined) live.push(a);
          else assert.equal(pool.freelistOrder().length, 0);
        } else if (o.k === 'free' && live.length) {
          const a = live[o.pick % live.length]!;
          const res = pool.free(a + BigInt(o.off), track(1, 0, 0));
          if (o.off === 0) {
            assert.equal(res.status, 'freed');
            live.splice(live.indexOf(a), 1);
          } else assert.equal(res.status, 'invalid-free');
        } else if (o.k === 'freeAny') {
          const addr = BASE + BigInt(o.off);
          const res = pool.free(addr, track(1, 0, 0));
          if (res.status === 'freed') live.splice(live.indexOf(addr), 1);
        } else if (o.k === 'access') {
          const addr = BASE + BigInt(o.off);
          const r = pool.checkAccess(addr, o.size, o.w, ctx(0));
          if (r) assert.equal(r.lines[0], KFENCE_BANNER);
          // Afterwards the same access never faults (every faulting page was unprotected).
          assert.equal(pool.checkAccess(addr, o.size, o.w, ctx(0)), undefined);
        } else if (o.k === 'write' && live.length) {
          pool.write(live[o.pick % live.length]! + BigInt(o.off), [0x42]);
        }
        // Invariants.
        const free = new Set(pool.freelistOrder());
        assert.equal(free.size, pool.freelistOrder().length);
        let allocated = 0;
        for (let i = 0; i < n; i++) {
          const m = pool.object(i);
          const page = pool.objectPageAddress(i);
          assert.equal(free.has(i), m.state === 'unused' || m.state === 'freed');
          if (m.state === 'allocated') {
            allocated++;
            assert.ok(m.addr >= page && m.addr + BigInt(m.size) <= page + PAGE);
            assert.equal(pool.isProtected(page), false);
            assert.ok(live.includes(m.addr));
          }
          if (pool.isProtected(page)) assert.equal(m.state, 'freed');
        }
        assert.equal(allocated, live.length);
        assert.equal(pool.counters.allocated, allocated);
        assert.equal(pool.counters.allocs - pool.counters.frees, allocated);
      }
    }),
    { numRuns: 200 },
  );
});
