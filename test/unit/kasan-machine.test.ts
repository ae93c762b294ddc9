/*
 * Generic KASAN on the machine (engine/mm/kasan_checks.ts): the bug shapes of the kernel's own KASAN test
 * suite (mm/kasan/kasan_test_c.c, Linux 6.12) as scenarios. Each test names the KUnit case it follows; the
 * suite runs with kasan_multi_shot, as do these scenarios (`kasan_multi_shot y`), so every expected failure
 * is one report. KUNIT_EXPECT_KASAN_FAIL becomes "this statement makes exactly one report of this type".
 *
 * The geometry figures follow kasan_cache_create() (mm/kasan/generic.c) and create_boot_cache()'s alignment
 * (mm/slab_common.c: a kmalloc cache is aligned to the largest power of two dividing its size): kmalloc-64
 * gets 64 + 16 (alloc meta) = 80, at least 64 + optimal_redzone(64) = 96, aligned to 64: 128-byte slots;
 * kmalloc-128: 128 + 64 = 192, aligned to 128: 256; kmalloc-96: 128 (the golden report's shadow in
 * kasan.test.ts shows the same).
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import { loadScenario } from '../../engine/scenario';
import { EventKind } from '../../engine/trace/events';
import { KASAN_BUG_NAMES, KasanBug } from '../../engine/mm/kasan_checks';
import { slabinfoView } from '../../engine/inspect/views';
import type { Machine } from '../../engine/mm/machine';

interface Run {
  log: string;
  machine: Machine;
  /** The bug type of each kasan event, with the scenario line it came from. */
  bugs: { line: number; bug: string }[];
  values: Record<string, unknown>;
  stop: string;
}

function run(lines: string[], machine = 'machine {\n  kasan y\n  kasan_multi_shot y\n}'): Run {
  const source = `${machine}\n${lines.join('\n')}\n`;
  const { diagnostics, scenario } = loadScenario(source, 'kasan.kmem');
  assert.deepEqual(diagnostics, []);
  const stop = scenario!.vm.run({ maxInstructions: 1e7 });
  const m = scenario!.machine;
  const offset = machine.split('\n').length; // scenario lines are 1-based after the machine block
  const bugs: Run['bugs'] = [];
  for (let i = 0; i < m.events.length; i++) {
    const e = m.events.get(i);
    if (e.kind === EventKind.Kasan) bugs.push({ line: e.line - offset, bug: KASAN_BUG_NAMES[e.size as KasanBug] });
  }
  return {
    log: m.log.join(''),
    machine: m,
    bugs,
    values: Object.fromEntries(scenario!.vm.locals(0).map((v) => [v.name, v.value])),
    stop: stop.reason === 'error' ? `${stop.error?.code}` : stop.reason,
  };
}

/** The scenario's statement lines (1-based, as `bugs` counts them) that reported, with the bug types. */
function expectBugs(r: Run, expected: [number, string][]): void {
  assert.deepEqual(
    r.bugs.map((b) => [b.line, b.bug]),
    expected,
    r.log,
  );
}

test('kmalloc_oob_right: 115 bytes asked; a write at 115 and 120 and a read at 128 each report', () => {
  const r = run([
    'let ptr = kmalloc(115, GFP_KERNEL)', // 128 - KASAN_GRANULE_SIZE - 5
    'write8(ptr + 115, 0x78)',
    'write8(ptr + 120, 0x79)',
    'let c = read8(ptr + 128)',
    'write8(ptr + 114, 1)', // the last requested byte: fine
  ]);
  expectBugs(r, [
    [2, 'slab-out-of-bounds'],
    [3, 'slab-out-of-bounds'],
    [4, 'slab-out-of-bounds'],
  ]);
  // The first report, line by line where the kernel's wording is fixed.
  assert.match(r.log, /^BUG: KASAN: slab-out-of-bounds in line_\d+\+0x0\/0x1 \[scenario\]\n/m);
  assert.match(r.log, /^Write of size 1 at addr ffff8880[0-9a-f]{8} by task kmem\/1\n/m);
  assert.match(r.log, /which belongs to the cache kmalloc-128 of size 128\n/);
  assert.match(r.log, /The buggy address is located 0 bytes to the right of\n allocated 115-byte region \[/);
  assert.match(r.log, /The buggy address is located 5 bytes to the right of\n allocated 115-byte region/);
  assert.match(r.log, /^Read of size 1 at addr /m);
  // The shadow row of the object: 14 accessible granules, one with 3 bytes, then the redzone.
  assert.match(r.log, />ffff8880[0-9a-f]{8}: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 03 fc\n/);
  assert.match(
    r.log,
    /^Allocated by task 1:\n kasan_save_stack\+0x0\/0x0\n kasan_save_track\+0x0\/0x0\n __kasan_kmalloc\+0x0\/0x0\n __kmalloc_noprof\+0x0\/0x0\n line_5\+0x0\/0x1 \[scenario\]\n/m,
  );
  assert.match(r.log, /^page_type: f5\(slab\)\n/m);
  assert.match(r.log, /Disabling lock debugging due to kernel taint\n/);
  assert.match(r.log, /Comm: kmem Tainted: G {4}B {14}6\.12\.0 #1\nTainted: \[B\]=BAD_PAGE\nCall Trace:\n/);
});

test("kmalloc_oob_left: the byte before an object is its neighbour slot's redzone", () => {
  const r = run(['let a = kmalloc(15, GFP_KERNEL)', 'let ptr = kmalloc(15, GFP_KERNEL)', 'let c = read8(ptr - 1)']);
  expectBugs(r, [[3, 'slab-out-of-bounds']]);
  assert.match(r.log, /which belongs to the cache kmalloc-16 of size 16\n/);
  assert.match(r.log, /located 16 bytes to the right of\n allocated 15-byte region/);
});

test('kmalloc_node_oob_right and kmalloc_big_oob_right: one byte past kmalloc-4k and past 7936 bytes of kmalloc-8k', () => {
  const r = run([
    'let p = kmalloc(4096, GFP_KERNEL)',
    'let c = read8(p + 4096)',
    'let q = kmalloc(7936, GFP_KERNEL)', // KMALLOC_MAX_CACHE_SIZE - 256
    'write8(q + 7936, 0)',
  ]);
  expectBugs(r, [
    [2, 'slab-out-of-bounds'],
    [4, 'slab-out-of-bounds'],
  ]);
  assert.match(r.log, /which belongs to the cache kmalloc-4k of size 4096\n/);
  assert.match(r.log, /which belongs to the cache kmalloc-8k of size 8192\n/);
});

test('kmalloc_large_oob_right, kmalloc_large_uaf, kmalloc_large_invalid_free: large kmallocs are pages', () => {
  const r = run([
    'let p = kmalloc(8202, GFP_KERNEL)', // KMALLOC_MAX_CACHE_SIZE + 10: order 2
    'write8(p + 8202, 0)',
    'kfree(p)',
    'let c = read8(p)',
    'let q = kmalloc(8202, GFP_KERNEL)',
    'kfree(q + 1)',
  ]);
  // KASAN_PAGE_REDZONE reads as slab-out-of-bounds; freed pages as use-after-free.
  expectBugs(r, [
    [2, 'slab-out-of-bounds'],
    [4, 'use-after-free'],
    [6, 'invalid-free'],
  ]);
  assert.doesNotMatch(r.log, /which belongs to the cache/); // no slab object to describe
  assert.match(r.log, /^page_type: f0\(buddy\)\n/m);
  // The invalid free still freed the folio (free_large_kmalloc() goes on after the report).
  assert.equal(r.machine.largeKmalloc.size, 0);
});

test('page_alloc_uaf: a page block read after free_pages is use-after-free', () => {
  const r = run(['let p = alloc_pages(4, GFP_KERNEL)', 'free_pages(p, 4)', 'let c = read8(p)']);
  expectBugs(r, [[3, 'use-after-free']]);
});

test('krealloc_more_oob and krealloc_less_oob: krealloc in place re-poisons to the new size', () => {
  const more = run([
    'let p = kmalloc(201, GFP_KERNEL)',
    'let q = krealloc(p, 235, GFP_KERNEL)',
    'write8(q + 200, 1)',
    'write8(q + 201, 1)',
    'write8(q + 234, 1)',
    'write8(q + 235, 1)',
    'write8(q + 240, 1)', // round_up(235, 8)
  ]);
  assert.equal(more.values.p, more.values.q); // kmalloc-256 holds both: in place
  expectBugs(more, [
    [6, 'slab-out-of-bounds'],
    [7, 'slab-out-of-bounds'],
  ]);
  const less = run([
    'let p = kmalloc(235, GFP_KERNEL)',
    'let q = krealloc(p, 201, GFP_KERNEL)',
    'write8(q + 200, 1)',
    'write8(q + 201, 1)',
    'write8(q + 208, 1)',
    'write8(q + 234, 1)',
  ]);
  expectBugs(less, [
    [4, 'slab-out-of-bounds'],
    [5, 'slab-out-of-bounds'],
    [6, 'slab-out-of-bounds'],
  ]);
  const large = run([
    'let p = kmalloc(8393, GFP_KERNEL)', // KMALLOC_MAX_CACHE_SIZE + 201
    'let q = krealloc(p, 8427, GFP_KERNEL)', // + 235: the same order-2 pages
    'write8(q + 8426, 1)',
    'write8(q + 8427, 1)',
  ]);
  expectBugs(large, [[4, 'slab-out-of-bounds']]);
});

test('krealloc_uaf: krealloc of a freed object reports and returns NULL; the read after it reports too', () => {
  const r = run([
    'let p = kmalloc(201, GFP_KERNEL)',
    'kfree(p)',
    'let q = krealloc(p, 235, GFP_KERNEL)',
    'let c = read8(p)',
  ]);
  expectBugs(r, [
    [3, 'slab-use-after-free'],
    [4, 'slab-use-after-free'],
  ]);
  assert.equal(r.values.q, 0n);
});

test('kmalloc_oob_16 and kmalloc_uaf_16: a 16-byte copy into 13 bytes, from a freed object', () => {
  const r = run([
    'let p1 = kmalloc(13, GFP_KERNEL)',
    'let p2 = kmalloc(16, GFP_KERNEL)',
    'memcpy(p1, p2, 16)',
    'let p3 = kmalloc(16, GFP_KERNEL)',
    'let p4 = kmalloc(16, GFP_KERNEL)',
    'kfree(p4)',
    'memcpy(p3, p4, 16)',
  ]);
  expectBugs(r, [
    [3, 'slab-out-of-bounds'],
    [7, 'slab-use-after-free'],
  ]);
  assert.match(r.log, /^Write of size 16 at addr /m);
  assert.match(r.log, /^Read of size 16 at addr /m);
  assert.match(r.log, /^ kasan_check_range\+0x0\/0x0\n __asan_memcpy\+0x0\/0x0\n/m);
});

test('kmalloc_oob_memset_2/4/8/16 and kmalloc_oob_in_memset: a report, and memset writes nothing', () => {
  const r = run([
    'let p = kmalloc(120, GFP_KERNEL)', // 128 - KASAN_GRANULE_SIZE
    'memset(p, 0x11, 120)',
    'memset(p + 119, 0, 2)',
    'memset(p + 117, 0, 4)',
    'memset(p + 113, 0, 8)',
    'memset(p + 105, 0, 16)',
    'memset(p, 0, 128)',
    'let last = read8(p + 119)',
  ]);
  expectBugs(r, [
    [3, 'slab-out-of-bounds'],
    [4, 'slab-out-of-bounds'],
    [5, 'slab-out-of-bounds'],
    [6, 'slab-out-of-bounds'],
    [7, 'slab-out-of-bounds'],
  ]);
  // KASAN's memset() returns before writing: the object still holds the first fill.
  assert.equal(r.values.last, 0x11);
  assert.match(r.log, /^Write of size 128 at addr /m);
});

test('kmalloc_uaf, kmalloc_uaf_memset, kmalloc_uaf3: freed objects are slab-use-after-free with both tracks', () => {
  const r = run([
    'let p = kmalloc(10, GFP_KERNEL)',
    'kfree(p)',
    'let c = read8(p + 8)',
    'let q = kmalloc(33, GFP_KERNEL)',
    'kfree(q)',
    'memset(q, 0, 33)',
  ]);
  expectBugs(r, [
    [3, 'slab-use-after-free'],
    [6, 'slab-use-after-free'],
  ]);
  assert.match(
    r.log,
    /^Freed by task 1:\n kasan_save_stack\+0x0\/0x0\n kasan_save_track\+0x0\/0x0\n kasan_save_free_info\+0x0\/0x0\n __kasan_slab_free\+0x0\/0x0\n kfree\+0x0\/0x0\n line_6\+0x0\/0x1 \[scenario\]\n/m,
  );
  assert.match(r.log, /located 8 bytes inside of\n freed 16-byte region/);
  // The freed object's shadow: fa (free meta) then fb, then the slot's redzone.
  assert.match(r.log, /: fa fb fc fc /);
});

test('kmalloc_uaf2: the quarantine keeps a freed slot from the next allocation of its size', () => {
  const r = run([
    'let p1 = kmalloc(43, GFP_KERNEL)',
    'kfree(p1)',
    'let p2 = kmalloc(43, GFP_KERNEL)',
    'let c = read8(p1 + 40)',
  ]);
  expectBugs(r, [[4, 'slab-use-after-free']]);
  assert.notEqual(r.values.p1, r.values.p2);
  // Without KASAN SLUB hands the same slot straight back (LIFO per-CPU freelist).
  const plain = run(['let p1 = kmalloc(43, GFP_KERNEL)', 'kfree(p1)', 'let p2 = kmalloc(43, GFP_KERNEL)'], '');
  assert.equal(plain.values.p1, plain.values.p2);
});

test('kmem_cache_oob, kmem_cache_double_free, kmem_cache_invalid_free', () => {
  const r = run([
    'let s = kmem_cache_create("test_cache", 200, 0, 0)',
    'let p = kmem_cache_alloc(s, GFP_KERNEL)',
    'let c = read8(p + 200)',
    'kmem_cache_free(s, p)',
    'kmem_cache_free(s, p)',
    'let q = kmem_cache_alloc(s, GFP_KERNEL)',
    'kmem_cache_free(s, q + 1)',
    'kmem_cache_destroy(s)',
  ]);
  expectBugs(r, [
    [3, 'slab-out-of-bounds'],
    [5, 'double-free'],
    [7, 'invalid-free'],
  ]);
  assert.match(
    r.log,
    /^BUG: KASAN: double-free in line_\d+\+0x0\/0x1 \[scenario\]\nFree of addr ffff8880[0-9a-f]{8} by task kmem\/1\n/m,
  );
  assert.match(r.log, /^BUG: KASAN: invalid-free in /m);
  assert.match(r.log, /which belongs to the cache test_cache of size 200\n/);
  // The invalid free freed nothing: q is still live, so the destroy warns about it.
  assert.match(r.log, /kmem_cache_destroy test_cache: Slab cache still has objects/);
  assert.equal(r.stop, 'end');
});

test('ksize_uaf and ksize_unpoisons_memory: ksize checks the byte and unpoisons nothing', () => {
  const r = run([
    'let p = kmalloc(123, GFP_KERNEL)', // 128 - KASAN_GRANULE_SIZE - 5
    'let real = ksize(p)',
    'let a = read8(p + 123)',
    'let b = read8(p + 127)',
    'kfree(p)',
    'let gone = ksize(p)',
  ]);
  assert.equal(r.values.real, 128); // slab_ksize(): object_size under KASAN
  assert.equal(r.values.gone, 0);
  expectBugs(r, [
    [3, 'slab-out-of-bounds'],
    [4, 'slab-out-of-bounds'],
    [6, 'slab-use-after-free'],
  ]);
});

test('vmalloc_oob: past the requested size inside the last page, then the guard page oopses', () => {
  const r = run([
    'let v = vmalloc(3618)',
    'let c = read8(v + 3618)',
    'let d = read8(v + 3623)',
    'let e = read8(v + 4096)',
  ]);
  expectBugs(r, [
    [2, 'vmalloc-out-of-bounds'],
    [3, 'vmalloc-out-of-bounds'],
    [4, 'vmalloc-out-of-bounds'],
  ]);
  assert.match(
    r.log,
    /The buggy address belongs to the virtual mapping at\n \[ffffc9000000[0-9a-f]{4}, ffffc9000000[0-9a-f]{4}\) created by:\n/,
  );
  assert.match(r.log, /^BUG: unable to handle page fault for address: ffffc9/m);
  assert.equal(r.stop, 'KM4013');
});

test('report_enabled(): without kasan_multi_shot only the first report prints; every one is an event', () => {
  const r = run(
    ['let p = kmalloc(8, GFP_KERNEL)', 'write8(p + 8, 1)', 'write8(p + 9, 1)', 'kfree(p)', 'kfree(p)'],
    'machine { kasan y }',
  );
  assert.equal(r.bugs.length, 3);
  assert.equal((r.log.match(/^BUG: KASAN:/gm) ?? []).length, 1);
  assert.equal(r.machine.kasan!.printed, 1);
});

test('kasan_cache_create() slots in /proc/slabinfo (objsize, slot, objects per slab)', () => {
  const r = run([]);
  const info = new Map(slabinfoView(r.machine).caches.map((c) => [c.name, c]));
  const expect: [string, number, number][] = [
    ['kmalloc-8', 32, 128], // 8 + 16 alloc meta + 8 for the free meta's rest = 32; optimal 24
    ['kmalloc-16', 32, 128], // 16 + 16 = 32 (free meta in the object)
    ['kmalloc-32', 64, 64], // 48, aligned to 32
    ['kmalloc-64', 128, 32],
    ['kmalloc-96', 128, 32],
    ['kmalloc-128', 256, 16],
    ['kmalloc-192', 256, 16],
    ['kmalloc-256', 512, 16], // order 1
  ];
  for (const [name, size, objs] of expect) {
    const c = info.get(name)!;
    assert.deepEqual([c.objSize, c.objPerSlab], [size, objs], name);
  }
});

test('expect kasan { } makes a report expected; kmem run counts only the unexpected', () => {
  const r = run(['let p = kmalloc(8, GFP_KERNEL)', 'expect kasan {', '  write8(p + 8, 1)', '}']);
  assert.equal(r.stop, 'end');
  assert.equal(r.bugs.length, 1);
});

test('no false positives: random clean kmalloc/kfree/access runs under KASAN report nothing', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 1, max: 9000 }), fc.boolean(), fc.nat()), { minLength: 1, maxLength: 60 }),
      (ops) => {
        const lines: string[] = ['let live = 0'];
        ops.forEach(([size, free, at], i) => {
          lines.push(`let p${i} = kmalloc(${size}, GFP_KERNEL)`);
          lines.push(`memset(p${i}, ${i & 0xff}, ${size})`);
          lines.push(`let r${i} = read8(p${i} + ${at % size})`);
          if (free) lines.push(`kfree(p${i})`);
        });
        const r = run(lines);
        return r.bugs.length === 0 && r.stop === 'end';
      },
    ),
    { numRuns: 30 },
  );
});
