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
