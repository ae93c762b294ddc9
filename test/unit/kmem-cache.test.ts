/*
 * kmem_cache_create and friends (mm/slab_common.c, mm/slub.c, Linux 6.12): calculate_alignment() and
 * calculate_sizes() for the modelled flags, find_mergeable()'s aliases, kmem_cache_shrink() and
 * kmem_cache_destroy() with objects left, and the hardened cache check of kmem_cache_free().
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Machine } from '../../engine/mm/machine';
import { KmemCache, SLAB_ACCOUNT, SLAB_HWCACHE_ALIGN, SLAB_NO_MERGE, SLAB_TYPESAFE_BY_RCU } from '../../engine/mm/slub';
import { loadScenario } from '../../engine/scenario';
import { slabinfoView } from '../../engine/inspect/views';
import { sysfsSlabAttribute } from '../../engine/inspect/slabviews';
import { EventKind } from '../../engine/trace/events';
import { GFP_NOWAIT, __GFP_NOWARN } from '../../engine/mm/gfp';

function boot(): Machine {
  const m = Machine.boot({ memoryBytes: 256 * 1024 * 1024, cpus: 2 });
  assert.ok(m instanceof Machine);
  return m;
}

function create(m: Machine, name: string, size: number, align: number, flags: number): KmemCache {
  const c = m.kmemCacheCreate(name, size, align, flags);
  assert.ok('id' in c, JSON.stringify(c));
  return c;
}

test('calculate_sizes(): alignment, the slot and the free pointer offset', () => {
  const m = boot();
  // skbuff_head_cache-like: 232 bytes, SLAB_HWCACHE_ALIGN: 232 > 32 so the cache line (64) stays the alignment;
  // the slot is ALIGN(232, 64) = 256; the free pointer sits at ALIGN_DOWN(232 / 2, 8) = 112.
  const skb = create(m, 'skbuff_head', 232, 0, SLAB_HWCACHE_ALIGN | SLAB_NO_MERGE);
  assert.deepEqual([skb.geometry.size, skb.geometry.align, skb.geometry.offset], [256, 64, 112]);
  // 20 bytes with SLAB_HWCACHE_ALIGN: ralign starts at the 64-byte line; 20 <= 32 halves it to 32; 20 <= 16 is
  // false, so the alignment and the slot are 32.
  const small = create(m, 'small', 20, 0, SLAB_HWCACHE_ALIGN | SLAB_NO_MERGE);
  assert.deepEqual([small.geometry.size, small.geometry.align], [32, 32]);
  // SLAB_TYPESAFE_BY_RCU: the free pointer goes after the object: inuse 40, offset 40, slot 48.
  const rcu = create(m, 'rcu', 40, 8, SLAB_TYPESAFE_BY_RCU);
  assert.deepEqual([rcu.geometry.size, rcu.geometry.offset, rcu.geometry.inuse], [48, 40, 40]);
});

test('find_mergeable(): an alias of an existing compatible cache adds no slabinfo line', () => {
  const m = boot();
  const lines = slabinfoView(m).caches.length;
  const a = create(m, 'foo', 56, 8, 0);
  assert.equal(slabinfoView(m).caches.length, lines + 1, 'foo is new: kmalloc- caches are SLAB_NO_MERGE with memcg');
  const b = create(m, 'bar', 50, 8, 0); // ALIGN(50, 8) = 56 <= 56 and 56 - 56 < 8: merges into foo
  assert.equal(b, a);
  assert.deepEqual([a.refcount, a.aliases], [2, ['bar']]);
  const c = create(m, 'baz', 48, 8, 0); // 56 - 48 = 8 >= sizeof(void *): no merge
  assert.notEqual(c, a);
  // SLAB_ACCOUNT must match, and kmalloc caches never take aliases (usersize = size with
  // CONFIG_HARDENED_USERCOPY): a 64-byte SLAB_ACCOUNT cache is a cache of its own, not kmalloc-cg-64.
  const acct = create(m, 'acct', 64, 0, SLAB_ACCOUNT);
  assert.equal(acct.name, 'acct');
  assert.equal(
    create(m, 'acct2', 60, 0, SLAB_ACCOUNT),
    acct,
    'the next SLAB_ACCOUNT cache of that size merges into it',
  );
  // SLAB_TYPESAFE_BY_RCU never merges.
  assert.notEqual(create(m, 'rcu1', 56, 8, SLAB_TYPESAFE_BY_RCU), a);
});

test('kmem_cache_shrink frees empty slabs; kmem_cache_destroy warns while objects remain, then unlinks and leaks', () => {
  const m = boot();
  const c = create(m, 'objs', 512, 0, SLAB_NO_MERGE);
  const objs: number[] = [];
  for (let i = 0; i < 3 * c.geometry.objects; i++) objs.push(m.kmemCacheAlloc(c, 0xcc0));
  assert.equal(c.nrSlabs, 3);
  for (const o of objs.slice(0, 2 * c.geometry.objects)) assert.equal(m.kmemCacheFree(c, o), undefined);
  // kmem_cache_shrink returns 1 while slabs remain (__kmem_cache_do_shrink: node_nr_slabs(n) != 0).
  assert.equal(m.kmemCacheShrink(c), 1);
  assert.equal(c.nrSlabs, 1, 'the two emptied slabs are freed, whatever min_partial says');
  // mm/slab_common.c kmem_cache_destroy() (6.12): WARN, then list_del() and sysfs_slab_unlink() anyway;
  // `if (err) return;` skips kmem_cache_release(): the cache and its slab with objects are leaked.
  m.kmemCacheDestroy(c);
  assert.equal(c.destroyed, true);
  assert.match(m.log.at(-1)!, /kmem_cache_destroy objs: Slab cache still has objects when called from/);
  assert.ok(!slabinfoView(m).caches.some((x) => x.name === 'objs'));
  assert.equal(c.nrSlabs, 1);
  // The objects are still valid slab objects: kfree() finds their cache through the slab.
  for (const o of objs.slice(2 * c.geometry.objects)) assert.equal(m.kfree(o), undefined);
  assert.equal(c.liveObjects, 0);

  const d = create(m, 'empty', 512, 0, SLAB_NO_MERGE);
  const o = m.kmemCacheAlloc(d, 0xcc0);
  assert.equal(m.kmemCacheFree(d, o), undefined);
  assert.equal(m.kmemCacheShrink(d), 0, 'no slab left');
  const logged = m.log.length;
  m.kmemCacheDestroy(d);
  assert.equal(d.destroyed, true);
  assert.equal(m.log.length, logged, 'no warning');
});

test('from a scenario: create, alloc, the wrong-cache free warning, destroy', () => {
  const source = [
    'let skb = kmem_cache_create("skbuff_head", 232, 0, SLAB_HWCACHE_ALIGN)',
    'let p = kmem_cache_alloc(skb, GFP_ATOMIC)',
    'let q = kmalloc(100, GFP_KERNEL)',
    'kmem_cache_free(skb, q)', // a kmalloc-128 object: WARN, then freed to kmalloc-128
    'kmem_cache_free(skb, p)',
    'kmem_cache_destroy(skb)',
    '',
  ].join('\n');
  const { diagnostics, scenario } = loadScenario(source, 't.kmem');
  assert.deepEqual(diagnostics, []);
  const stop = scenario!.vm.run({ maxInstructions: 1e6 });
  assert.equal(stop.reason, 'end', JSON.stringify(stop.error));
  assert.match(
    scenario!.machine.log.join(''),
    /kmem_cache_free: Wrong slab cache\. skbuff_head but object is from kmalloc-128/,
  );
  assert.equal(scenario!.machine.slub.caches.find((c) => c.name === 'skbuff_head')!.destroyed, true);
});

test('kmem_cache_alloc_bulk: n objects from the CPU freelist and ___slab_alloc, all or nothing', () => {
  const m = boot();
  const c = create(m, 'bulk', 512, 0, SLAB_NO_MERGE);
  const n = c.geometry.objects;
  const seq = m.events.length;
  const objs = m.kmemCacheAllocBulk(c, 0xcc0, 2 * n + 3);
  assert.equal(objs.length, 2 * n + 3);
  assert.equal(new Set(objs).size, objs.length);
  assert.equal(c.liveObjects, 2 * n + 3);
  assert.equal(c.nrSlabs, 3);
  // The same objects, in the same order, as 2n + 3 single allocations would give (LIFO slab freelists).
  const single = boot();
  const d = create(single, 'bulk', 512, 0, SLAB_NO_MERGE);
  assert.deepEqual(
    objs,
    Array.from({ length: 2 * n + 3 }, () => single.kmemCacheAlloc(d, 0xcc0)),
  );
  const kinds = m.events.slice(seq).map((e) => e.kind);
  assert.equal(kinds.filter((k) => k === EventKind.Kmalloc).length, 2 * n + 3);
  assert.deepEqual(m.kmemCacheAllocBulk(c, 0xcc0, 0), []);
});

test('kmem_cache_free_bulk gathers each slab into one detached freelist (build_detached_freelist)', () => {
  const m = boot();
  const c = create(m, 'bulk', 512, 0, SLAB_NO_MERGE);
  const n = c.geometry.objects;
  // Slabs A and B full and off the CPU; slab C is the cpu slab.
  const all = m.kmemCacheAllocBulk(c, 0xcc0, 2 * n + 1);
  const a = all.slice(0, n);
  const b = all.slice(n, 2 * n);
  const slabA = m.slub.slabAt(a[0]! / 4096)!;
  const slabB = m.slub.slabAt(b[0]! / 4096)!;
  const idx = (p: number, base: number[]): number => base.indexOf(p);
  // p = [A0, A1, B0, B1, A2]: from the end, A2 starts a chain; B1 and B0 use up two of the three
  // look-aheads, A1 and A0 join it (swapped towards the end); then B1 starts the next and B0 joins.
  assert.equal(m.kmemCacheFreeBulk(c, [a[0]!, a[1]!, b[0]!, b[1]!, a[2]!]), undefined);
  const chain = (slab: typeof slabA): number[] => {
    const out: number[] = [];
    for (let i = slab.freelist; i >= 0 && out.length <= n; i = slab.fp[i]!) out.push(i);
    return out;
  };
  // do_slab_free(A, head A0, tail A2, cnt 3): A0 -> A1 -> A2 (single frees would give A2 -> A1 -> A0).
  assert.deepEqual(
    chain(slabA),
    [0, 1, 2].map((i) => idx(a[i]!, a)),
  );
  assert.deepEqual(chain(slabB), [0, 1]);
  assert.deepEqual([slabA.inuse, slabB.inuse], [n - 3, n - 2]);
  // Both were full: __slab_free put each on CPU 0's partial list, B last.
  assert.deepEqual(m.slub.cpuPartialList(c, 0), [slabB.head, slabA.head]);
  assert.equal(c.liveObjects, 2 * n + 1 - 5);

  // A bad array is refused whole: nothing is freed.
  const live = c.liveObjects;
  assert.equal(m.kmemCacheFreeBulk(c, [a[3]!, a[3]!])?.code, 'KM4002');
  assert.equal(m.kmemCacheFreeBulk(c, [a[3]!, a[0]!])?.code, 'KM4002'); // a[0] is free already
  assert.equal(m.kmemCacheFreeBulk(c, [a[3]!, a[4]! + 8])?.code, 'KM4003');
  assert.equal(m.kmemCacheFreeBulk(c, [a[3]!, 4096 * 300])?.code, 'KM4003');
  assert.equal(c.liveObjects, live);
  // kfree_bulk (no cache) also takes large kmallocs.
  const big = m.kmalloc(20000, 0xcc0);
  assert.equal(m.kmemCacheFreeBulk(undefined, [a[3]!, big, a[4]!]), undefined);
  assert.equal(c.liveObjects, live - 2);
  assert.equal(m.kfree(big)?.code, 'KM4002');
});

test('kmem_cache_alloc_bulk that runs out of memory frees what it took and returns nothing', () => {
  const m = Machine.boot({ memoryBytes: 16 * 1024 * 1024, cpus: 2 });
  assert.ok(m instanceof Machine);
  const c = create(m, 'huge', 4096, 0, SLAB_NO_MERGE);
  const seq = m.events.length;
  assert.deepEqual(m.kmemCacheAllocBulk(c, GFP_NOWAIT | __GFP_NOWARN, 100_000), []);
  assert.equal(c.liveObjects, 0);
  const kinds = m.events.slice(seq).map((e) => e.kind);
  assert.equal(kinds.filter((k) => k === EventKind.KmallocFail).length, 1);
  assert.equal(
    kinds.filter((k) => k === EventKind.Kmalloc).length,
    kinds.filter((k) => k === EventKind.Kfree).length,
    'every object taken was given back',
  );
  assert.ok(kinds.filter((k) => k === EventKind.Kmalloc).length > 100);
});

test('a constructor runs on every object of a new slab, moves the free pointer after the object and forbids merging', () => {
  const m = boot();
  const ran: number[] = [];
  const ctor = {
    name: 'init_once',
    size: 0x40,
    run: (obj: number) => {
      ran.push(obj);
      m.writeMemory(obj, new Uint8Array(100).fill(0x5a));
    },
  };
  const plain = create(m, 'plain', 100, 0, 0);
  const c = m.kmemCacheCreate('with_ctor', 100, 0, 0, ctor);
  assert.ok(c instanceof KmemCache);
  assert.notEqual(c, plain, 'find_mergeable() never merges a cache with a constructor');
  assert.equal(create(m, 'plain2', 100, 0, 0), plain, 'nor into one');
  // calculate_sizes(): object 100 -> 104 bytes, then the free pointer after it: s->offset 104, s->size 112.
  assert.deepEqual(
    [c.geometry.offset, c.geometry.size, plain.geometry.offset, plain.geometry.size],
    [104, 112, 48, 104],
  );
  const o = m.kmemCacheAlloc(c, 0xcc0);
  assert.equal(ran.length, c.geometry.objects, 'setup_object() ran the constructor on the whole new slab');
  assert.deepEqual(ran.slice(0, 2), [o, o + 112]);
  assert.deepEqual([...m.readMemory(o, 100)], new Array(100).fill(0x5a));
  // The object goes back constructed; the free pointer sits after it, so the bytes survive a free.
  m.writeMemory(o, new Uint8Array([1, 2, 3]));
  assert.equal(m.kmemCacheFree(c, o), undefined);
  assert.equal(m.kmemCacheAlloc(c, 0xcc0), o);
  assert.deepEqual([...m.readMemory(o, 4)], [1, 2, 3, 0x5a], 'no second constructor call on reuse');
  assert.equal(ran.length, c.geometry.objects);
  assert.equal(sysfsSlabAttribute(m, 'with_ctor', 'ctor'), 'init_once+0x0/0x40\n');
  assert.equal(sysfsSlabAttribute(m, 'plain', 'ctor'), '');
});

test('from a scenario: kmem_cache_alloc_bulk fills a pointer array in memory, read64 reads it, the frees take it back', () => {
  const source = [
    'let c = kmem_cache_create("bulk_obj", 64, 0, SLAB_NO_MERGE)',
    'let p = kcalloc(16, 8, GFP_KERNEL)', // the void *p[16] of the kernel call, in a kmalloc-128 object
    'let n = kmem_cache_alloc_bulk(c, GFP_KERNEL, 16, p)',
    'let first = read64(p)',
    'let last = read64(p + 8 * 15)',
    'let word = read32(p + 4)', // the high half of the first pointer: 0xffff8880 on x86-64
    'kmem_cache_free_bulk(c, n, p)',
    'let again = kmem_cache_alloc(c, GFP_KERNEL)',
    '',
  ].join('\n');
  const { diagnostics, scenario } = loadScenario(source, 't.kmem');
  assert.deepEqual(diagnostics, []);
  const vm = scenario!.vm;
  const stop = vm.run({ maxInstructions: 1e6 });
  assert.equal(stop.reason, 'end', JSON.stringify(stop.error));
  const m = scenario!.machine;
  const get = (name: string) => vm.locals(0).find((g) => g.name === name)!.value;
  assert.equal(get('n'), 16);
  const first = get('first') as bigint;
  const last = get('last') as bigint;
  // The first slab's objects in freelist order: consecutive 64-byte slots.
  assert.equal(last - first, 15n * 64n);
  assert.equal(get('word'), 0xffff8880);
  // build_detached_freelist() starts from p[15] and links each object of the same slab in front of the chain,
  // so the detached freelist is p[0] -> p[1] -> ... -> p[15]: the next allocation gets p[0] back.
  assert.equal(get('again'), first);
  // slabinfo's active_objs counts every object of a slab not on a node partial list: the cpu slab's 64.
  assert.equal(slabinfoView(m).caches.find((x) => x.name === 'bulk_obj')!.activeObjs, 64);
});

test('from a scenario: bad pointer arrays and entries stop with a code, nothing freed', () => {
  const run = (lines: string[]) => {
    const { diagnostics, scenario } = loadScenario(lines.join('\n') + '\n', 't.kmem');
    assert.deepEqual(diagnostics, []);
    return scenario!.vm.run({ maxInstructions: 1e6 });
  };
  const head = ['let c = kmem_cache_create("bulk_obj", 64, 0, SLAB_NO_MERGE)'];
  // The array must be allocated memory: a 64-byte kmalloc object cannot hold 16 pointers.
  let stop = run([...head, 'let p = kmalloc(64, GFP_KERNEL)', 'let n = kmem_cache_alloc_bulk(c, GFP_KERNEL, 16, p)']);
  assert.equal(stop.error?.code, 'KM4121');
  assert.match(stop.error!.message, /does not fit inside one kmalloc-64 object/);
  // A freed array is not the scenario's to pass.
  stop = run([
    ...head,
    'let p = kmalloc(128, GFP_KERNEL)',
    'kfree(p)',
    'let n = kmem_cache_alloc_bulk(c, GFP_KERNEL, 4, p)',
  ]);
  assert.equal(stop.error?.code, 'KM4121');
  assert.match(stop.error!.message, /inside a free kmalloc-128 object/);
  // A NULL entry in the array of a free.
  stop = run([...head, 'let p = kzalloc(64, GFP_KERNEL)', 'kmem_cache_free_bulk(c, 2, p)']);
  assert.equal(stop.error?.code, 'KM4003');
  assert.match(stop.error!.message, /kmem_cache_free_bulk: p\[0\] is NULL/);
  // A double free inside the array.
  stop = run([
    ...head,
    'let p = kzalloc(64, GFP_KERNEL)',
    'let n = kmem_cache_alloc_bulk(c, GFP_KERNEL, 4, p)',
    'kmem_cache_free(c, read64(p + 16))',
    'kfree_bulk(4, p)',
  ]);
  assert.equal(stop.error?.code, 'KM4002');
  assert.match(stop.error!.message, /^kfree_bulk: 0x[0-9a-f]{16} is already free \(double free\)$/);
  // read64 outside the direct map.
  stop = run(['let x = read64(0x1000)']);
  assert.equal(stop.error?.code, 'KM4120');
});
