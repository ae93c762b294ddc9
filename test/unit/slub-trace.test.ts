/*
 * Golden traces of SLUB's slab transitions (mm/slub.c, 6.12, CONFIG_SLUB_CPU_PARTIAL): cpu slab, per-CPU
 * partial list, node partial list, full, discarded, each with the kernel call path that made it
 * (engine/inspect/callpath.ts). The sequence is chosen so that every path happens at least once; the
 * assertions beside it pin the list contents the kernel's rules give, step by step, so the golden file is
 * a readable record of the same facts rather than the only check.
 *
 * kmalloc-1k on 2 CPUs (calculate_order: 16 objects per order-2 slab), min_partial = ilog2(1024) / 2 = 5,
 * set_cpu_partial(): s->size >= 1024 keeps 24 objects, cpu_partial_slabs = DIV_ROUND_UP(24 * 2, 16) = 3.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { assertGolden } from './golden';
import { Machine } from '../../engine/mm/machine';
import { GFP_KERNEL } from '../../engine/mm/gfp';
import { KmemCache, SLAB_STATE_NAMES, SlabState } from '../../engine/mm/slub';
import { EVENT_KIND_NAMES, EventKind } from '../../engine/trace/events';
import { allocatorFrames } from '../../engine/inspect/callpath';

const PAGE = 4096;

function boot(): { m: Machine; cache: KmemCache } {
  const m = Machine.boot({ memoryBytes: 64 * 1024 * 1024, cpus: 2 });
  assert.ok(m instanceof Machine);
  const cache = m.slub.caches.find((c) => c.name === 'kmalloc-1k')!;
  return { m, cache };
}

/** One line per SLUB event: seq, CPU, line, what happened to which slab (by its order of creation), the path. */
function trace(m: Machine, slabNo: Map<number, string>): string {
  const out: string[] = [];
  for (let seq = 0; seq < m.events.length; seq++) {
    const e = m.events.get(seq);
    if (e.kind === EventKind.PageAlloc || e.kind === EventKind.PageFree) continue;
    if (e.kind === EventKind.SlabNew) slabNo.set(e.addr, `S${slabNo.size + 1}`);
    const name =
      e.kind === EventKind.Kmalloc || e.kind === EventKind.Kfree
        ? `obj ${slabNo.get(Math.floor(e.addr / PAGE) & ~3) ?? '?'}`
        : `slab ${slabNo.get(e.addr) ?? '?'}`;
    const what =
      e.kind === EventKind.SlabMove ? `-> ${SLAB_STATE_NAMES[e.extra as SlabState]}` : EVENT_KIND_NAMES[e.kind];
    const frames = allocatorFrames(m, seq)
      .map((f) => f.name)
      .join(' < ');
    out.push(
      `${String(seq).padStart(4)} cpu${e.cpu} line ${String(e.line).padStart(2)}  ${name.padEnd(7)} ${what.padEnd(16)} ${frames}`,
    );
  }
  return out.join('\n') + '\n';
}

test('per-CPU partial and node partial transitions, with the call path of each (golden trace)', () => {
  const { m, cache } = boot();
  const slabs: number[][] = []; // live objects per slab, in creation order
  const heads: number[] = []; // head pfn per slab (order-2 slabs are 4-page aligned buddy blocks)
  const alloc = (line: number, cpu: number): number => {
    m.line = line;
    m.cpu = cpu;
    const p = m.kmalloc(1000, GFP_KERNEL);
    assert.ok(p > 0);
    const head = Math.floor(p / PAGE) & ~3;
    let s = heads.indexOf(head);
    if (s < 0) {
      s = heads.push(head) - 1;
      slabs.push([]);
    }
    slabs[s]!.push(p);
    return p;
  };
  const free = (line: number, cpu: number, slab: number): void => {
    m.line = line;
    m.cpu = cpu;
    const p = slabs[slab]!.pop()!;
    assert.equal(m.kfree(p), undefined);
  };
  const head = (s: number): number => heads[s]!;
  const cpuPartial = (cpu: number): number[] => m.slub.cpuPartialList(cache, cpu).map((pfn) => heads.indexOf(pfn) + 1);

  // 1. CPU 0 fills four slabs: each full cpu slab leaves the CPU on no list (___slab_alloc, get_freelist empty).
  for (let i = 0; i < 64; i++) alloc(1, 0);
  assert.equal(slabs.length, 4);
  assert.equal(cache.cpuSlab[0], head(3));
  // 2. CPU 1 frees one object of S1, S2, S3: each was full, so __slab_free puts it on CPU 1's partial list.
  for (const s of [0, 1, 2]) free(2, 1, s);
  assert.deepEqual(cpuPartial(1), [3, 2, 1]);
  // 3. CPU 1 frees one of S4, CPU 0's frozen cpu slab: a remote free, no list changes.
  free(3, 1, 3);
  // 4. CPU 0 empties S1 (on CPU 1's list): __slab_free leaves per-CPU partial slabs alone, even empty.
  while (slabs[0]!.length > 0) free(4, 0, 0);
  assert.deepEqual(cpuPartial(1), [3, 2, 1]);
  // 5. CPU 0 fills S4 (its remote free first, via get_freelist) and S5, S6: full slabs off the CPU.
  for (let i = 0; i < 33; i++) alloc(5, 0);
  assert.equal(slabs.length, 6);
  // 6. CPU 1 frees one of S5: its list holds cpu_partial_slabs (3), so put_cpu_partial drains it first:
  //    __put_partials puts S3, S2 on the node list's tail and, with nr_partial (2) < min_partial, S1 too
  //    (empty slabs are discarded only while the node already holds min_partial slabs).
  free(6, 1, 4);
  assert.deepEqual(cpuPartial(1), [5]);
  assert.equal(cache.nrPartial, 3);
  // 7. CPU 1 allocates: no cpu slab, so ___slab_alloc takes S5 off its partial list.
  alloc(7, 1);
  assert.equal(cache.cpuSlab[1], head(4));
  assert.deepEqual(cpuPartial(1), []);
  // 8. kmem_cache_shrink: flush_all deactivates both cpu slabs, both full (S6 filled by CPU 0, S5 by the
  //    allocation of step 7): on no list. __kmem_cache_do_shrink frees the empty S1; S3 and S2 stay.
  m.line = 8;
  m.cpu = 0;
  m.kmemCacheShrink(cache);
  assert.equal(cache.nrPartial, 2);
  assert.equal(cache.nrSlabs, 5);
  // __kmem_cache_do_shrink sorts by free objects, fewest first; list_move() to the head of a bucket reverses
  // slabs with as many free objects: the node list S3, S2 (one free each) comes back as S2, S3.
  const nodeOrder = m.slub.partialSlabs(cache).map((pfn) => heads.indexOf(pfn) + 1);
  assert.deepEqual(nodeOrder, [2, 3]);
  // 9. CPU 0 allocates: no cpu slab, an empty per-CPU list, so get_partial_node() takes the node list's first
  //    slab as the cpu slab and moves the next to CPU 0's partial list (up to cpu_partial_slabs / 2 + 1 = 2).
  alloc(9, 0);
  assert.equal(cache.cpuSlab[0], head(1));
  assert.deepEqual(cpuPartial(0), [3]);
  assert.equal(cache.nrPartial, 0);

  assertGolden('slub-trace-kmalloc-1k-2cpu.txt', trace(m, new Map()));
});

test('call paths: a kmem_cache_create cache names kmem_cache_alloc_noprof and kmem_cache_free; bad seqs give none', () => {
  const { m } = boot();
  const c = m.kmemCacheCreate('demo', 3000, 0, 0);
  assert.ok(c instanceof KmemCache);
  const objs = Array.from({ length: 2 * c.geometry.objects }, () => m.kmemCacheAlloc(c, GFP_KERNEL));
  let seq = -1;
  for (let s = 0; s < m.events.length; s++) if (m.events.kindAt(s) === EventKind.SlabNew) seq = s;
  assert.deepEqual(
    allocatorFrames(m, seq).map((f) => f.name),
    [
      'allocate_slab',
      'new_slab',
      '___slab_alloc',
      '__slab_alloc',
      '__slab_alloc_node',
      'slab_alloc_node',
      'kmem_cache_alloc_noprof',
    ],
  );
  m.cpu = 1;
  const before = m.events.length;
  assert.equal(m.kmemCacheFree(c, objs[0]!), undefined);
  const move = m.events.slice(before).find((e) => e.kind === EventKind.SlabMove)!;
  assert.deepEqual(
    allocatorFrames(m, move.seq).map((f) => `${f.name}@${f.file}`),
    [
      'put_cpu_partial@mm/slub.c',
      '__slab_free@mm/slub.c',
      'do_slab_free@mm/slub.c',
      'slab_free@mm/slub.c',
      'kmem_cache_free@mm/slub.c',
    ],
  );
  assert.deepEqual(allocatorFrames(m, -1), []);
  assert.deepEqual(allocatorFrames(m, 1.5), []);
  assert.deepEqual(allocatorFrames(m, m.events.length), []);
});
