/*
 * Generic KASAN (engine/mm/kasan.ts), checked against Linux 6.12's mm/kasan/ by hand-worked examples:
 *   kasan.h           the shadow codes (KASAN_SLAB_FREE_META is 6.8's name for 0xFA, once KASAN_SLAB_FREETRACK);
 *   common.c          unpoison_slab_object(), poison_kmalloc_redzone(), poison_slab_object(),
 *                     poison_kmalloc_large_redzone();
 *   generic.c         kasan_cache_create(), optimal_redzone(), kasan_save_free_info(), memory_is_poisoned_*();
 *   report_generic.c  kasan_find_first_bad_addr(), get_shadow_bug_type(), get_wild_bug_type();
 *   report.c          print_error_description(), describe_object_addr(), print_memory_metadata().
 * The golden report is a real one from a 6.12-rc7 kernel (see the test).
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import {
  KASAN_ALLOCA_LEFT,
  KASAN_ALLOCA_RIGHT,
  KASAN_GLOBAL_REDZONE,
  KASAN_GRANULE_SIZE,
  KASAN_LIMITS_X86_64,
  KASAN_NO_FREE_META,
  KASAN_PAGE_FREE,
  KASAN_PAGE_REDZONE,
  KASAN_SLAB_FREE,
  KASAN_SLAB_FREE_META,
  KASAN_SLAB_FREETRACK,
  KASAN_SLAB_REDZONE,
  KASAN_STACK_LEFT,
  KASAN_STACK_MID,
  KASAN_STACK_PARTIAL,
  KASAN_STACK_RIGHT,
  KASAN_VMALLOC_INVALID,
  META_MEM_BYTES_PER_ROW,
  META_ROWS_AROUND_ADDR,
  accessBugType,
  bugType,
  checkAccess,
  checkFree,
  describeObjectAddr,
  findFirstBadAddr,
  formatKasanReport,
  formatMemoryState,
  kasanCacheCreate,
  kasanGetAllocSize,
  kasanMetaSizes,
  kasanMetadataSize,
  kmallocLargeShadow,
  objectShadow,
  optimalRedzone,
  pageShadow,
  px,
  vmallocShadow,
  wildBugType,
  type KasanObjectState,
  type ShadowLookup,
} from '../../engine/mm/kasan';

const FC = KASAN_SLAB_REDZONE;
const FB = KASAN_SLAB_FREE;
const FA = KASAN_SLAB_FREE_META;

const rep = (n: number, v: number): number[] => new Array<number>(n).fill(v);

/** A slab of `count` slots of `slot` bytes at `base`, each object in a given state, as a ShadowLookup. */
function slabShadow(
  base: bigint,
  objectSize: number,
  slot: number,
  objects: readonly { state: KasanObjectState; requested?: number }[],
): ShadowLookup {
  const shadows = objects.map((o) => objectShadow(objectSize, slot, o.requested ?? objectSize, o.state));
  const perSlot = slot / KASAN_GRANULE_SIZE;
  const g0 = base >> 3n;
  return (g) => {
    const i = Number(g - g0);
    if (i < 0 || i >= perSlot * objects.length) return 0;
    return shadows[Math.floor(i / perSlot)]![i % perSlot]!;
  };
}

test('shadow codes are those of mm/kasan/kasan.h in 6.12', () => {
  assert.equal(KASAN_GRANULE_SIZE, 8);
  assert.equal(KASAN_PAGE_FREE, 0xff);
  assert.equal(KASAN_PAGE_REDZONE, 0xfe);
  assert.equal(KASAN_SLAB_REDZONE, 0xfc);
  assert.equal(KASAN_SLAB_FREE, 0xfb);
  assert.equal(KASAN_SLAB_FREE_META, 0xfa);
  assert.equal(KASAN_SLAB_FREETRACK, 0xfa);
  assert.equal(KASAN_GLOBAL_REDZONE, 0xf9);
  assert.equal(KASAN_VMALLOC_INVALID, 0xf8);
  assert.deepEqual(
    [KASAN_STACK_LEFT, KASAN_STACK_MID, KASAN_STACK_RIGHT, KASAN_STACK_PARTIAL],
    [0xf1, 0xf2, 0xf3, 0xf4],
  );
  assert.deepEqual([KASAN_ALLOCA_LEFT, KASAN_ALLOCA_RIGHT], [0xca, 0xcb]);
  assert.equal(META_MEM_BYTES_PER_ROW, 128);
  assert.equal(META_ROWS_AROUND_ADDR, 2);
  assert.equal(KASAN_NO_FREE_META, 2 ** 31 - 1);
  assert.deepEqual(kasanMetaSizes(), { track: 8, allocMeta: 16, freeMeta: 16 });
  assert.deepEqual(kasanMetaSizes(true), { track: 16, allocMeta: 24, freeMeta: 24 });
});

test('kmalloc(100) in kmalloc-128: 12 granules of 0, one of 4, then KASAN_SLAB_REDZONE', () => {
  // kmalloc-128: object_size 128, slot 192 (kasanCacheCreate below). unpoison_slab_object() clears 16
  // granules; poison_kmalloc_redzone(size 100): 100 = 12 * 8 + 4, so granule 12 holds 4, and
  // [round_up(100, 8) = 104, round_up(128, 8) = 128) (granules 13..15) get 0xFC. Granules 16..23 (alloc
  // meta and the rest of the redzone) keep kasan_poison_slab()'s 0xFC.
  const s = objectShadow(128, 192, 100, 'allocated');
  assert.deepEqual([...s], [...rep(12, 0), 4, ...rep(3, FC), ...rep(8, FC)]);
  // kmem_cache_alloc of the whole object: 16 granules of 0.
  assert.deepEqual([...objectShadow(128, 192, 128, 'allocated')], [...rep(16, 0), ...rep(8, FC)]);
  // SLAB_TYPESAFE_BY_RCU object waiting for its grace period (CONFIG_SLUB_RCU_DEBUG): still accessible.
  assert.deepEqual(objectShadow(128, 192, 100, 'rcu-pending'), s);
  // Never allocated since the slab was made: kasan_poison_slab() + kasan_poison_new_object().
  assert.deepEqual([...objectShadow(128, 192, 0, 'unused')], rep(24, FC));
  // A non-kmalloc cache of odd size: kasan_unpoison(object, 100) alone gives the same partial granule.
  assert.deepEqual([...objectShadow(100, 128, 100, 'allocated')], [...rep(12, 0), 4, ...rep(3, FC)]);
});

test('a freed object: KASAN_SLAB_FREE_META on its first granule, KASAN_SLAB_FREE on the rest of object_size', () => {
  // poison_slab_object(): round_up(128, 8) bytes of 0xFB; kasan_save_free_info(): shadow(object) = 0xFA.
  const free = [FA, ...rep(15, FB), ...rep(8, FC)];
  assert.deepEqual([...objectShadow(128, 192, 100, 'free')], free);
  // Quarantined or evicted (qlink_free() keeps the metadata since 6.8): the same.
  assert.deepEqual([...objectShadow(128, 192, 100, 'quarantined')], free);
  // A cache whose free meta did not fit (KASAN_NO_FREE_META): no 0xFA.
  assert.deepEqual([...objectShadow(128, 192, 100, 'free', { hasFreeMeta: false })], [...rep(16, FB), ...rep(8, FC)]);
  // kmalloc-8 (slot 32): free meta starts in the object and ends in the redzone; only granule 0 is the object.
  assert.deepEqual([...objectShadow(8, 32, 8, 'free')], [FA, FC, FC, FC]);
});

test('large kmalloc: KASAN_PAGE_REDZONE after the request; KASAN_PAGE_FREE once freed', () => {
  // kmalloc(10001) > 8 KiB: order 2 (16 KiB) from the page allocator. 10001 = 1250 * 8 + 1.
  const s = kmallocLargeShadow(10001, 16384, 'allocated');
  assert.equal(s.length, 2048);
  assert.deepEqual([...s.subarray(1248, 1253)], [0, 0, 1, KASAN_PAGE_REDZONE, KASAN_PAGE_REDZONE]);
  assert.ok(s.subarray(1251).every((v) => v === KASAN_PAGE_REDZONE));
  assert.ok(s.subarray(0, 1250).every((v) => v === 0));
  assert.ok(kmallocLargeShadow(10001, 16384, 'free').every((v) => v === KASAN_PAGE_FREE));
  assert.ok(pageShadow(8192, 'allocated').every((v) => v === 0));
  assert.ok(pageShadow(8192, 'free').every((v) => v === KASAN_PAGE_FREE));
  assert.equal(pageShadow(8192, 'free').length, 1024);
});

test('vmalloc(100): the rest of the page and the guard page read KASAN_VMALLOC_INVALID', () => {
  // kasan_unpoison_vmalloc(addr, real_size = 100) over shadow populated with 0xF8; area = 1 page + guard.
  const s = vmallocShadow(8192, 100, 'allocated');
  assert.deepEqual([...s.subarray(0, 14)], [...rep(12, 0), 4, KASAN_VMALLOC_INVALID]);
  assert.ok(s.subarray(13).every((v) => v === KASAN_VMALLOC_INVALID));
  assert.ok(vmallocShadow(8192, 100, 'free').every((v) => v === KASAN_VMALLOC_INVALID));
  // A whole page: all accessible, only the guard page poisoned.
  const full = vmallocShadow(8192, 4096, 'allocated');
  assert.ok(full.subarray(0, 512).every((v) => v === 0) && full.subarray(512).every((v) => v === 0xf8));
});

test('kasan_cache_create() of 6.12 for the kmalloc caches and a few others, worked by hand', () => {
  // size so far = ALIGN(object_size, 8) (free pointer inside the object). alloc meta (16) at `size`; free
  // meta (16) in the object when object_size >= 16; size = max(size, object_size + optimal_redzone()).
  // kmalloc-8: alloc at 8 -> 24; free meta 16 > 8 and no slub_debug: rem = 8, size 32, alloc meta moves to
  // 16; optimal 8 + 16 = 24 < 32.
  assert.deepEqual(kasanCacheCreate(8, 8), { size: 32, allocMetaOffset: 16, freeMetaOffset: 0 });
  // kmalloc-16: 16 + 16 = 32; optimal 32.
  assert.deepEqual(kasanCacheCreate(16, 16), { size: 32, allocMetaOffset: 16, freeMetaOffset: 0 });
  // kmalloc-32: 48; optimal 32 + 16 = 48.
  assert.deepEqual(kasanCacheCreate(32, 32), { size: 48, allocMetaOffset: 32, freeMetaOffset: 0 });
  // kmalloc-64: 80; optimal 64 + 32 = 96 (64 > 48).
  assert.deepEqual(kasanCacheCreate(64, 64), { size: 96, allocMetaOffset: 64, freeMetaOffset: 0 });
  // kmalloc-96: 112; optimal 96 + 32 = 128 (96 <= 96): 128-byte slots, as the golden report's shadow shows.
  assert.deepEqual(kasanCacheCreate(96, 96), { size: 128, allocMetaOffset: 96, freeMetaOffset: 0 });
  // kmalloc-128: 144; optimal 128 + 64 = 192 (96 < 128 <= 448).
  assert.deepEqual(kasanCacheCreate(128, 128), { size: 192, allocMetaOffset: 128, freeMetaOffset: 0 });
  // kmalloc-192: 208; optimal 192 + 64 = 256.
  assert.deepEqual(kasanCacheCreate(192, 192).size, 256);
  // kmalloc-512: 512 + 128 (448 < 512 <= 3968) = 640; kmalloc-4k: 4096 + 256 = 4352; 8k: 8192 + 256.
  assert.equal(kasanCacheCreate(512, 512).size, 640);
  assert.equal(kasanCacheCreate(4096, 4096).size, 4352);
  assert.equal(kasanCacheCreate(8192, 8192).size, 8448);
  // A 24-byte object with a constructor: SLUB put the free pointer after it (size 32); alloc meta at 32,
  // free meta after it at 48 (the object must keep its contents), 64; optimal 24 + 16 = 40.
  assert.deepEqual(kasanCacheCreate(24, 32, { ctor: true }), { size: 64, allocMetaOffset: 32, freeMetaOffset: 48 });
  assert.deepEqual(kasanCacheCreate(24, 32, { typesafeByRcu: true }), {
    size: 64,
    allocMetaOffset: 32,
    freeMetaOffset: 48,
  });
  // An 8-byte object with slub_debug on somewhere: free meta after alloc meta.
  assert.deepEqual(kasanCacheCreate(8, 8, { slubDebugEnabled: true }), {
    size: 40,
    allocMetaOffset: 8,
    freeMetaOffset: 24,
  });
  // CONFIG_KASAN_EXTRA_INFO: metas of 24; kmalloc-8: alloc at 8 -> 32, rem 16 -> 48, alloc meta at 24.
  assert.deepEqual(kasanCacheCreate(8, 8, { extraInfo: true }), { size: 48, allocMetaOffset: 24, freeMetaOffset: 0 });
  // At KMALLOC_MAX_SIZE (4 MiB) alloc meta does not fit (offset 0); free meta in the object still does.
  assert.deepEqual(kasanCacheCreate(1 << 22, 1 << 22), { size: 1 << 22, allocMetaOffset: 0, freeMetaOffset: 0 });
  assert.deepEqual(kasanCacheCreate(1 << 22, 1 << 22, { ctor: true }), {
    size: 1 << 22,
    allocMetaOffset: 0,
    freeMetaOffset: KASAN_NO_FREE_META,
  });
  assert.deepEqual(
    [16, 48, 49, 96, 97, 448, 449, 3968, 3969, 16128, 16129, 32256, 32257, 64512, 64513].map(optimalRedzone),
    [16, 16, 32, 32, 64, 64, 128, 128, 256, 256, 512, 512, 1024, 1024, 2048],
  );
});

test('kasan_metadata_size()', () => {
  const k128 = kasanCacheCreate(128, 128);
  assert.equal(kasanMetadataSize(k128, true), 16);
  assert.equal(kasanMetadataSize(k128, false), 16);
  const ctor = kasanCacheCreate(24, 32, { ctor: true });
  assert.equal(kasanMetadataSize(ctor, true), 0);
  assert.equal(kasanMetadataSize(ctor, false), 32);
  assert.equal(kasanMetadataSize(kasanCacheCreate(1 << 22, 1 << 22, { ctor: true }), false), 0);
});

const SLAB = 0xffff888012340000n;

test('right out-of-bounds: the partial granule names the bug by the next shadow byte', () => {
  // kmalloc-128 slab: object 0 allocated with kmalloc(100), object 1 allocated whole.
  const shadow = slabShadow(SLAB, 128, 192, [{ state: 'allocated', requested: 100 }, { state: 'allocated' }]);
  // Bytes 0..99 are fine, at any size that stays inside.
  assert.equal(checkAccess(shadow, SLAB, 100, false), undefined);
  assert.equal(checkAccess(shadow, SLAB + 96n, 4, false), undefined);
  assert.equal(checkAccess(shadow, SLAB + 98n, 2, true, { instrumented: true }), undefined);
  // Byte 100: its granule (12) reads 4, so the first bad address is the access address itself...
  assert.equal(checkAccess(shadow, SLAB + 100n, 1, false), SLAB + 100n);
  // ...and get_shadow_bug_type() moves from 4 to the next byte, 0xFC.
  assert.equal(bugType(4, FC), 'slab-out-of-bounds');
  assert.equal(accessBugType(shadow, SLAB + 100n, 1, SLAB + 100n), 'slab-out-of-bounds');
  // An 8-byte read at 96 touches bytes 96..103: granule 12 is non-zero, the first bad address is 96.
  assert.equal(checkAccess(shadow, SLAB + 96n, 8, false, { instrumented: true }), SLAB + 96n);
  assert.equal(checkAccess(shadow, SLAB + 99n, 2, false, { instrumented: true }), SLAB + 99n);
  // A 16-byte read at 88: granule 11 is 0, so the loop steps to 96 (granule 12).
  assert.equal(checkAccess(shadow, SLAB + 88n, 16, false), SLAB + 96n);
  // describe_object_addr() with info->alloc_size = kasan_get_alloc_size() = 100.
  const allocSize = kasanGetAllocSize(objectShadow(128, 192, 100, 'allocated'), 128);
  assert.equal(allocSize, 100);
  const obj = { addr: SLAB, cacheName: 'kmalloc-128', objectSize: 128, allocSize };
  assert.deepEqual(describeObjectAddr(SLAB + 100n, obj, 'slab-out-of-bounds'), [
    `The buggy address belongs to the object at ${px(SLAB)}`,
    ' which belongs to the cache kmalloc-128 of size 128',
    'The buggy address is located 0 bytes to the right of',
    ` allocated 100-byte region [${px(SLAB)}, ${px(SLAB + 100n)})`,
  ]);
  // Past object_size, in the KASAN redzone: 0xFC directly.
  assert.equal(checkAccess(shadow, SLAB + 128n, 8, false), SLAB + 128n);
  assert.equal(accessBugType(shadow, SLAB + 128n, 8, SLAB + 128n), 'slab-out-of-bounds');
  assert.equal(
    describeObjectAddr(SLAB + 128n, obj, 'slab-out-of-bounds')[2],
    'The buggy address is located 28 bytes to the right of',
  );
});

test("left out-of-bounds: an underflow lands in the previous object's redzone", () => {
  const shadow = slabShadow(SLAB, 128, 192, [{ state: 'allocated', requested: 100 }, { state: 'allocated' }]);
  const obj1 = SLAB + 192n;
  assert.equal(checkAccess(shadow, obj1, 8, false), undefined);
  assert.equal(checkAccess(shadow, obj1 - 8n, 8, false), obj1 - 8n);
  assert.equal(accessBugType(shadow, obj1 - 8n, 8, obj1 - 8n), 'slab-out-of-bounds');
  // A read straddling the start: the first bad granule is the one before the object.
  assert.equal(checkAccess(shadow, obj1 - 4n, 8, false, { instrumented: true }), obj1 - 4n);
  // The "to the left" wording of describe_object_addr() (an address below the object nearest_obj() chose).
  const obj = { addr: obj1, cacheName: 'kmalloc-128', objectSize: 128, allocSize: 128 };
  assert.deepEqual(describeObjectAddr(obj1 - 8n, obj, 'slab-out-of-bounds').slice(2), [
    'The buggy address is located 8 bytes to the left of',
    ` allocated 128-byte region [${px(obj1)}, ${px(obj1 + 128n)})`,
  ]);
  assert.equal(
    describeObjectAddr(obj1 + 16n, obj, 'slab-use-after-free')[2],
    'The buggy address is located 16 bytes inside of',
  );
});

test('use-after-free: 0xFA and 0xFB are slab-use-after-free, 0xFF use-after-free', () => {
  const shadow = slabShadow(SLAB, 128, 192, [{ state: 'free' }, { state: 'allocated' }]);
  assert.equal(checkAccess(shadow, SLAB, 8, false), SLAB);
  assert.equal(accessBugType(shadow, SLAB, 8, SLAB), 'slab-use-after-free');
  assert.equal(checkAccess(shadow, SLAB + 40n, 4, true), SLAB + 40n);
  assert.equal(accessBugType(shadow, SLAB + 40n, 4, SLAB + 40n), 'slab-use-after-free');
  // A freed object's alloc size is not decodable: the report falls back to object_size.
  assert.equal(kasanGetAllocSize(objectShadow(128, 192, 100, 'free'), 128), 0);
  assert.equal(bugType(KASAN_PAGE_FREE, 0), 'use-after-free');
  assert.equal(bugType(KASAN_PAGE_REDZONE, 0), 'slab-out-of-bounds');
  assert.equal(bugType(KASAN_VMALLOC_INVALID, 0), 'vmalloc-out-of-bounds');
  assert.equal(bugType(KASAN_GLOBAL_REDZONE, 0), 'global-out-of-bounds');
  assert.equal(bugType(KASAN_STACK_MID, 0), 'stack-out-of-bounds');
  assert.equal(bugType(KASAN_ALLOCA_RIGHT, 0), 'alloca-out-of-bounds');
  assert.equal(bugType(0x12, 0), 'unknown-crash');
  // A partial granule followed by an accessible one: "in theory" only by a race.
  assert.equal(bugType(3, 0), 'out-of-bounds');
  assert.equal(bugType(0, 0), 'out-of-bounds');
});

test('vmalloc and large kmalloc accesses', () => {
  const base = 0xffffc90000100000n;
  const v = vmallocShadow(8192, 100, 'allocated');
  const vs: ShadowLookup = (g) => v[Number(g - (base >> 3n))] ?? KASAN_VMALLOC_INVALID;
  assert.equal(checkAccess(vs, base + 100n, 1, false), base + 100n);
  assert.equal(accessBugType(vs, base + 100n, 1, base + 100n), 'vmalloc-out-of-bounds');
  const l = kmallocLargeShadow(10000, 16384, 'allocated');
  const ls: ShadowLookup = (g) => l[Number(g - (SLAB >> 3n))] ?? 0;
  assert.equal(checkAccess(ls, SLAB + 9999n, 1, false), undefined);
  assert.equal(accessBugType(ls, SLAB + 10000n, 1, SLAB + 10000n), 'slab-out-of-bounds');
});

test('address-based bug types for addresses without shadow, and wrapping ranges', () => {
  const none: ShadowLookup = () => 0;
  assert.equal(checkAccess(none, 0x10n, 8, false), 0x10n);
  assert.equal(accessBugType(none, 0x10n, 8, 0x10n), 'null-ptr-deref');
  assert.equal(wildBugType(0x7ffc12345678n), 'user-memory-access');
  assert.equal(wildBugType(0x00007ffffffff000n), 'wild-memory-access');
  assert.equal(wildBugType(0xdead000000000122n), 'wild-memory-access');
  assert.equal(findFirstBadAddr(none, 0xdead000000000122n, 8), 0xdead000000000122n);
  const top = 0xfffffffffffffff8n;
  assert.equal(checkAccess(none, top, 16, false), top);
  assert.equal(accessBugType(none, top, 16, top), 'out-of-bounds');
  assert.equal(checkAccess(none, SLAB, 0, false), undefined);
  // addr + size == 2^64 already wraps to 0 < addr in check_region_inline().
  assert.equal(checkAccess(none, top, 8, false), top);
  assert.equal(accessBugType(none, top, 8, top), 'out-of-bounds');
  assert.equal(KASAN_LIMITS_X86_64.metadataStart, 0xffff800000000000n);
});

test('double-free and invalid-free checks and headers', () => {
  const alloc = objectShadow(128, 192, 100, 'allocated');
  const free = objectShadow(128, 192, 100, 'free');
  assert.equal(checkFree(SLAB, SLAB, alloc[0]!), undefined);
  assert.equal(checkFree(SLAB, SLAB, free[0]!), 'double-free');
  assert.equal(checkFree(SLAB + 8n, SLAB, alloc[0]!), 'invalid-free');
  const shadow = slabShadow(SLAB, 128, 192, [{ state: 'free' }]);
  const text = formatKasanReport({
    kind: 'double-free',
    ip: 'kfree+0x1a0/0x440 mm/slub.c:4727',
    accessAddr: SLAB,
    comm: 'kmem',
    pid: 1,
    stack: ['CPU: 0 UID: 0 PID: 1 Comm: kmem Not tainted 6.12.0 #1', 'Call Trace:'],
    shadowAt: shadow,
    object: { addr: SLAB, cacheName: 'kmalloc-128', objectSize: 128, allocSize: 128 },
  });
  const lines = text.split('\n');
  assert.equal(lines[1], 'BUG: KASAN: double-free in kfree+0x1a0/0x440 mm/slub.c:4727');
  assert.equal(lines[2], `Free of addr ${px(SLAB)} by task kmem/1`);
  assert.ok(text.includes(' freed 128-byte region') === false); // region state comes only with access bug types
  assert.ok(text.includes(`The buggy address is located 0 bytes inside of\n 128-byte region [${px(SLAB)}, `));
});

test('a wild access report has no address description, only the stack', () => {
  const text = formatKasanReport({
    kind: 'access',
    ip: 'f+0x1/0x2',
    accessAddr: 0n,
    accessSize: 8,
    isWrite: false,
    comm: 'kmem',
    pid: 7,
    stack: ['CPU: 0', 'Call Trace:'],
    shadowAt: () => 0,
  });
  assert.equal(
    text,
    [
      '==================================================================',
      'BUG: KASAN: null-ptr-deref in f+0x1/0x2',
      'Read of size 8 at addr 0000000000000000 by task kmem/7',
      '',
      'CPU: 0',
      'Call Trace:',
      '==================================================================',
      '',
    ].join('\n'),
  );
});

/*
 * Golden: syzbot, "Re: [syzbot] [bluetooth?] KASAN: slab-use-after-free Read in set_powered_sync"
 * (Message-ID <6737d9f3.050a0220.57553.0042.GAE@google.com>, linux-kernel and linux-bluetooth lists,
 * 15 Nov 2024), kernel 6.12.0-rc7-syzkaller-01627-g6bbdb903db08 (net-next), x86-64; dashboard
 * https://syzkaller.appspot.com/bug?extid=03d6270b6425df1605bf. The page_owner stacks are cut to their first
 * lines here (they are dump_page()'s caller-supplied text either way).
 */
const GOLDEN = `==================================================================
BUG: KASAN: slab-use-after-free in set_powered_sync+0x3a/0xc0 net/bluetooth/mgmt.c:1354
Read of size 8 at addr ffff8880791bd518 by task kworker/u9:0/54

CPU: 1 UID: 0 PID: 54 Comm: kworker/u9:0 Not tainted 6.12.0-rc7-syzkaller-01627-g6bbdb903db08 #0
Hardware name: Google Google Compute Engine/Google Compute Engine, BIOS Google 10/30/2024
Workqueue: hci0 hci_cmd_sync_work
Call Trace:
 <TASK>
 __dump_stack lib/dump_stack.c:94 [inline]
 dump_stack_lvl+0x241/0x360 lib/dump_stack.c:120
 print_address_description mm/kasan/report.c:377 [inline]
 print_report+0x169/0x550 mm/kasan/report.c:488
 kasan_report+0x143/0x180 mm/kasan/report.c:601
 set_powered_sync+0x3a/0xc0 net/bluetooth/mgmt.c:1354
 hci_cmd_sync_work+0x22b/0x400 net/bluetooth/hci_sync.c:332
 process_one_work kernel/workqueue.c:3229 [inline]
 process_scheduled_works+0xa63/0x1850 kernel/workqueue.c:3310
 worker_thread+0x870/0xd30 kernel/workqueue.c:3391
 kthread+0x2f0/0x390 kernel/kthread.c:389
 ret_from_fork+0x4b/0x80 arch/x86/kernel/process.c:147
 ret_from_fork_asm+0x1a/0x30 arch/x86/entry/entry_64.S:244
 </TASK>

Allocated by task 6105:
 kasan_save_stack mm/kasan/common.c:47 [inline]
 kasan_save_track+0x3f/0x80 mm/kasan/common.c:68
 poison_kmalloc_redzone mm/kasan/common.c:377 [inline]
 __kasan_kmalloc+0x98/0xb0 mm/kasan/common.c:394
 kasan_kmalloc include/linux/kasan.h:257 [inline]
 __kmalloc_cache_noprof+0x19c/0x2c0 mm/slub.c:4295
 kmalloc_noprof include/linux/slab.h:878 [inline]
 kzalloc_noprof include/linux/slab.h:1014 [inline]
 mgmt_pending_new+0x65/0x250 net/bluetooth/mgmt_util.c:269
 mgmt_pending_add+0x36/0x120 net/bluetooth/mgmt_util.c:296
 set_powered+0x3cd/0x5e0 net/bluetooth/mgmt.c:1395
 hci_mgmt_cmd+0xc47/0x11d0 net/bluetooth/hci_sock.c:1712
 hci_sock_sendmsg+0x7b8/0x11c0 net/bluetooth/hci_sock.c:1832
 sock_sendmsg_nosec net/socket.c:729 [inline]
 __sock_sendmsg+0x221/0x270 net/socket.c:744
 sock_write_iter+0x2d7/0x3f0 net/socket.c:1165
 new_sync_write fs/read_write.c:590 [inline]
 vfs_write+0xaeb/0xd30 fs/read_write.c:683
 ksys_write+0x183/0x2b0 fs/read_write.c:736
 do_syscall_x64 arch/x86/entry/common.c:52 [inline]
 do_syscall_64+0xf3/0x230 arch/x86/entry/common.c:83
 entry_SYSCALL_64_after_hwframe+0x77/0x7f

Freed by task 6099:
 kasan_save_stack mm/kasan/common.c:47 [inline]
 kasan_save_track+0x3f/0x80 mm/kasan/common.c:68
 kasan_save_free_info+0x40/0x50 mm/kasan/generic.c:579
 poison_slab_object mm/kasan/common.c:247 [inline]
 __kasan_slab_free+0x59/0x70 mm/kasan/common.c:264
 kasan_slab_free include/linux/kasan.h:230 [inline]
 slab_free_hook mm/slub.c:2342 [inline]
 slab_free mm/slub.c:4579 [inline]
 kfree+0x1a0/0x440 mm/slub.c:4727
 settings_rsp+0x2bc/0x390 net/bluetooth/mgmt.c:1444
 mgmt_pending_foreach+0xd1/0x130 net/bluetooth/mgmt_util.c:259
 __mgmt_power_off+0x106/0x430 net/bluetooth/mgmt.c:9520
 hci_dev_close_sync+0x6c4/0x11c0 net/bluetooth/hci_sync.c:5208
 hci_dev_do_close net/bluetooth/hci_core.c:483 [inline]
 hci_dev_close+0x112/0x210 net/bluetooth/hci_core.c:508
 sock_do_ioctl+0x158/0x460 net/socket.c:1227
 sock_ioctl+0x626/0x8e0 net/socket.c:1346
 vfs_ioctl fs/ioctl.c:51 [inline]
 __do_sys_ioctl fs/ioctl.c:907 [inline]
 __se_sys_ioctl+0xf9/0x170 fs/ioctl.c:893
 do_syscall_x64 arch/x86/entry/common.c:52 [inline]
 do_syscall_64+0xf3/0x230 arch/x86/entry/common.c:83
 entry_SYSCALL_64_after_hwframe+0x77/0x7f

The buggy address belongs to the object at ffff8880791bd500
 which belongs to the cache kmalloc-96 of size 96
The buggy address is located 24 bytes inside of
 freed 96-byte region [ffff8880791bd500, ffff8880791bd560)

The buggy address belongs to the physical page:
page: refcount:1 mapcount:0 mapping:0000000000000000 index:0x0 pfn:0x791bd
ksm flags: 0xfff00000000000(node=0|zone=1|lastcpupid=0x7ff)
page_type: f5(slab)
raw: 00fff00000000000 ffff88801ac41280 ffffea0001eb13c0 dead000000000003
raw: 0000000000000000 0000000080200020 00000001f5000000 0000000000000000
page dumped because: kasan: bad access detected
page_owner tracks the page as allocated
page last allocated via order 0, migratetype Unmovable, gfp_mask 0x52820(GFP_ATOMIC|__GFP_NOWARN|__GFP_NORETRY|__GFP_COMP), pid 5386, tgid 5386 (kworker/0:5), ts 68941935893, free_ts 68939759623
 set_page_owner include/linux/page_owner.h:32 [inline]
 post_alloc_hook+0x1f3/0x230 mm/page_alloc.c:1556
page last free pid 5386 tgid 5386 stack trace:
 reset_page_owner include/linux/page_owner.h:25 [inline]
 free_pages_prepare mm/page_alloc.c:1127 [inline]

Memory state around the buggy address:
 ffff8880791bd400: 00 00 00 00 00 00 00 00 00 fc fc fc fc fc fc fc
 ffff8880791bd480: fa fb fb fb fb fb fb fb fb fb fb fb fc fc fc fc
>ffff8880791bd500: fa fb fb fb fb fb fb fb fb fb fb fb fc fc fc fc
                            ^
 ffff8880791bd580: 00 00 00 00 00 00 00 00 00 fc fc fc fc fc fc fc
 ffff8880791bd600: fa fb fb fb fb fb fb fb fb fb fb fb fc fc fc fc
==================================================================
`;

/** The lines of GOLDEN from the line after `from` up to (not including) the line `to`. */
function section(from: string, to: string): string[] {
  const lines = GOLDEN.split('\n');
  const a = lines.indexOf(from);
  const b = lines.indexOf(to, a + 1);
  assert.ok(a >= 0 && b > a, `${from} .. ${to}`);
  return lines.slice(a + 1, b);
}

test('golden: a 6.12 slab-use-after-free report, rebuilt from slab state', () => {
  // kmalloc-96 (object_size 96, slot 128 from kasanCacheCreate) on the page at ffff8880791bd000: object 8
  // (…400) and 11 (…580) hold kzalloc(72)s, 9, 10 and 12 are freed.
  const geometry = kasanCacheCreate(96, 96);
  assert.equal(geometry.size, 128);
  const page = 0xffff8880791bd000n;
  const states: { state: KasanObjectState; requested?: number }[] = rep(32, 0).map(() => ({ state: 'free' }));
  states[8] = { state: 'allocated', requested: 72 };
  states[11] = { state: 'allocated', requested: 72 };
  const shadowAt = slabShadow(page, 96, geometry.size, states);
  const object = page + 10n * 128n;
  const access = 0xffff8880791bd518n;
  assert.equal(checkAccess(shadowAt, access, 8, false, { instrumented: true }), access);
  const objShadow = objectShadow(96, 128, 96, 'free');
  const allocSize = kasanGetAllocSize(objShadow, 96) || 96;
  const lines = GOLDEN.split('\n');
  const stackLines = lines.slice(lines.indexOf('Read of size 8 at addr ffff8880791bd518 by task kworker/u9:0/54') + 2);
  const text = formatKasanReport({
    kind: 'access',
    ip: 'set_powered_sync+0x3a/0xc0 net/bluetooth/mgmt.c:1354',
    accessAddr: access,
    accessSize: 8,
    isWrite: false,
    comm: 'kworker/u9:0',
    pid: 54,
    stack: stackLines.slice(0, stackLines.indexOf(' </TASK>') + 1),
    shadowAt,
    object: {
      addr: object,
      cacheName: 'kmalloc-96',
      objectSize: 96,
      allocSize,
      allocTrack: { pid: 6105, stack: section('Allocated by task 6105:', '') },
      freeTrack: { pid: 6099, stack: section('Freed by task 6099:', '') },
    },
    page: {
      lines: section(
        'The buggy address belongs to the physical page:',
        'page dumped because: kasan: bad access detected',
      ),
      ownerLines: section('page dumped because: kasan: bad access detected', ''),
    },
  });
  assert.equal(text, GOLDEN);
});

test('golden: the memory state of a freed kmalloc-cg-2k object (6.13-rc1 merge window syzbot report)', () => {
  // "[syzbot] [serial?] KASAN: slab-use-after-free Read in uart_write", 2 Dec 2024, kernel
  // 6.12.0-syzkaller-10553-gb86545e02e8c: "Read of size 8 at addr ffff888065d185f8", object ffff888065d18000
  // of kmalloc-cg-2k (slot 2048 + 128 = 2176, kasanCacheCreate), freed.
  assert.equal(kasanCacheCreate(2048, 2048).size, 2176);
  const shadowAt = slabShadow(0xffff888065d18000n, 2048, 2176, [{ state: 'free' }]);
  assert.deepEqual(formatMemoryState(shadowAt, 0xffff888065d185f8n), [
    'Memory state around the buggy address:',
    ' ffff888065d18480: fb fb fb fb fb fb fb fb fb fb fb fb fb fb fb fb',
    ' ffff888065d18500: fb fb fb fb fb fb fb fb fb fb fb fb fb fb fb fb',
    '>ffff888065d18580: fb fb fb fb fb fb fb fb fb fb fb fb fb fb fb fb',
    '                                                                ^',
    ' ffff888065d18600: fb fb fb fb fb fb fb fb fb fb fb fb fb fb fb fb',
    ' ffff888065d18680: fb fb fb fb fb fb fb fb fb fb fb fb fb fb fb fb',
  ]);
});

test('aux stacks print only when recorded', () => {
  const shadowAt = slabShadow(SLAB, 128, 192, [{ state: 'free' }]);
  const base = {
    kind: 'access' as const,
    ip: 'f+0x1/0x2',
    accessAddr: SLAB,
    accessSize: 1,
    comm: 'kmem',
    pid: 1,
    stack: ['CPU: 0'],
    shadowAt,
  };
  const obj = { addr: SLAB, cacheName: 'kmalloc-128', objectSize: 128, allocSize: 128 };
  assert.ok(!formatKasanReport({ ...base, object: obj }).includes('potentially related'));
  const text = formatKasanReport({ ...base, object: { ...obj, auxStacks: [[' insert_work+0x36/0x230']] } });
  assert.ok(text.includes('\nLast potentially related work creation:\n insert_work+0x36/0x230\n\nThe buggy address'));
  assert.ok(!text.includes('Second to last'));
  assert.ok(text.includes(' freed 128-byte region'));
});

/** The byte-wise meaning of generic shadow: byte b of granule g is accessible iff shadow is 0, or 1..7 > b. */
function byteOk(shadowAt: ShadowLookup, addr: bigint): boolean {
  const v = shadowAt(addr >> 3n);
  return v === 0 || (v >= 1 && v <= 7 && Number(addr & 7n) < v);
}

test('fuzz: random shadows and accesses never throw; allocator-made shadows match the byte-wise rule', () => {
  const codes = [0, 1, 2, 3, 4, 5, 6, 7, 0xfc, 0xfb, 0xfa, 0xff, 0xfe, 0xf8, 0xf1, 0xf2, 0xf3, 0xf4, 0xf9, 0xca, 0xcb];
  const base = 0xffff888000000000n;
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 64 }),
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      fc.integer({ min: 0, max: 40 }),
      fc.integer({ min: 0, max: 600 }),
      fc.boolean(),
      (bytes, wild, size, off, instrumented) => {
        const g0 = base >> 3n;
        const shadowAt: ShadowLookup = (g) => bytes[Number((g - g0) & 63n) % bytes.length]!;
        for (const addr of [wild, base + BigInt(off)]) {
          const bad = checkAccess(shadowAt, addr, size, false, { instrumented });
          if (bad !== undefined) {
            const type = accessBugType(shadowAt, addr, size, bad);
            assert.equal(typeof type, 'string');
            formatKasanReport({
              kind: 'access',
              ip: 'x',
              accessAddr: addr,
              accessSize: size,
              comm: 'c',
              pid: 1,
              stack: [],
              shadowAt,
              object: { addr: base, cacheName: 'c', objectSize: 8, allocSize: 8 },
            });
          }
        }
      },
    ),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom(...codes), { minLength: 8, maxLength: 8 }),
      fc.integer({ min: 0, max: 47 }),
      fc.constantFrom(1, 2, 4, 8, 16, 3, 5, 7, 12),
      fc.boolean(),
      (granules, off, size, instrumented) => {
        // A well-formed shadow: a partial granule is always followed by a poison code.
        const g = granules.map((v, i) => (v >= 1 && v <= 7 && (granules[i + 1] ?? 0xfc) < 8 ? 0 : v));
        const g0 = base >> 3n;
        const shadowAt: ShadowLookup = (x) => g[Number(x - g0)] ?? 0xfc;
        const addr = base + BigInt(off);
        let ok = true;
        for (let i = 0n; i < BigInt(size); i++) ok &&= byteOk(shadowAt, addr + i);
        const bad = checkAccess(shadowAt, addr, size, true, { instrumented });
        assert.equal(bad === undefined, ok);
        if (bad !== undefined) assert.ok(bad >= addr && bad <= addr + BigInt(size) + 7n);
      },
    ),
    { numRuns: 2000 },
  );
});
