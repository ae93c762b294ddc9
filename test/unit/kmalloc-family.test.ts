/*
 * The kmalloc cache family of Linux 6.12 (mm/slab_common.c create_kmalloc_caches, include/linux/slab.h
 * kmalloc_type): kmalloc-, kmalloc-rcl-, dma-kmalloc- (only with ZONE_DMA) and kmalloc-cg- caches for every
 * size class, chosen by GFP flags in the order __GFP_DMA, __GFP_RECLAIMABLE, __GFP_ACCOUNT; their slabs
 * come from ZONE_DMA (dma-) and from Reclaimable page blocks (rcl-), and count in SReclaimable (rcl-).
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Machine } from '../../engine/mm/machine';
import { meminfoView, pagetypeinfoView } from '../../engine/inspect/procfs';
import { slabinfoView } from '../../engine/inspect/views';

// include/linux/gfp_types.h
const GFP_KERNEL = 0xcc0;
const GFP_KERNEL_ACCOUNT = 0x400cc0;
const __GFP_DMA = 0x01;
const __GFP_RECLAIMABLE = 0x10;

function boot(arch: 'x86_64' | 'sv39' = 'x86_64'): Machine {
  const m = Machine.boot({ memoryBytes: 256 * 1024 * 1024, cpus: 2, arch });
  assert.ok(m instanceof Machine);
  return m;
}

test('kmalloc_type(): the cache kind each GFP mask selects', () => {
  const m = boot();
  const name = (gfp: number) => m.kmallocCacheFor(64, gfp)!.name;
  assert.equal(name(GFP_KERNEL), 'kmalloc-64');
  assert.equal(name(GFP_KERNEL | __GFP_RECLAIMABLE), 'kmalloc-rcl-64');
  assert.equal(name(GFP_KERNEL | __GFP_DMA), 'dma-kmalloc-64');
  assert.equal(name(GFP_KERNEL_ACCOUNT), 'kmalloc-cg-64');
  // Priorities: __GFP_DMA over __GFP_RECLAIMABLE over __GFP_ACCOUNT.
  assert.equal(name(GFP_KERNEL_ACCOUNT | __GFP_RECLAIMABLE | __GFP_DMA), 'dma-kmalloc-64');
  assert.equal(name(GFP_KERNEL_ACCOUNT | __GFP_RECLAIMABLE), 'kmalloc-rcl-64');
  // 52 caches on x86-64: 13 sizes x 4 kinds.
  assert.equal(slabinfoView(m).caches.length, 52);
});

test('without ZONE_DMA (RISC-V) there are no dma-kmalloc caches and __GFP_DMA selects kmalloc-', () => {
  const m = boot('sv39');
  assert.equal(m.kmallocCacheFor(64, GFP_KERNEL | __GFP_DMA)!.name, 'kmalloc-64');
  const names = slabinfoView(m).caches.map((c) => c.name);
  assert.equal(names.length, 39);
  assert.ok(!names.some((n) => n.startsWith('dma-')));
});

test('dma-kmalloc slabs come from ZONE_DMA, kmalloc-rcl slabs from Reclaimable page blocks and count as SReclaimable', () => {
  const m = boot();
  const dma = m.kmalloc(64, GFP_KERNEL | __GFP_DMA);
  assert.ok(dma >= 0 && dma < 16 * 1024 * 1024, `dma-kmalloc-64 object at ${dma.toString(16)} is below 16 MiB`);
  const before = meminfoView(m);
  const rcl = m.kmalloc(64, GFP_KERNEL | __GFP_RECLAIMABLE);
  assert.ok(rcl >= 0);
  const after = meminfoView(m);
  // One order-0 slab of kmalloc-rcl-64: 4 kB more SReclaimable (and Slab, KReclaimable), SUnreclaim unchanged.
  assert.equal(after.sReclaimable - before.sReclaimable, 4);
  assert.equal(after.sUnreclaim, before.sUnreclaim);
  assert.equal(after.slab - before.slab, 4);
  // The slab's page block is Reclaimable: __rmqueue_fallback claimed one for the reclaimable allocation.
  const dma32 = pagetypeinfoView(m).zones.find((z) => z.zone === 'DMA32')!;
  assert.ok(dma32.blocksByType[2]! >= 1, `Reclaimable page blocks: ${dma32.blocksByType[2]}`);
});

test('kzalloc, kcalloc, kmalloc_array, krealloc and ksize from a scenario', async () => {
  const { loadScenario } = await import('../../engine/scenario');
  const source = [
    'let a = kmalloc(100, GFP_KERNEL)', // kmalloc-128
    'let ka = ksize(a)',
    'kfree(a)',
    'let z = kzalloc(100, GFP_KERNEL)', // LIFO: the same slot, now zeroed
    'let same = z == a',
    'let big = kmalloc(12000, GFP_KERNEL)', // large kmalloc: order 2, 16K
    'let kbig = ksize(big)',
    'let over = kcalloc(0x100000000, 0x100000000, GFP_KERNEL)', // 2^64: overflows size_t
    'let arr = kmalloc_array(4, 24, GFP_KERNEL)', // 96 bytes: kmalloc-96
    'let grown = krealloc(arr, 90, GFP_KERNEL)', // ksize 96 still holds 90: same pointer
    'let moved = krealloc(arr, 200, GFP_KERNEL)', // needs kmalloc-256: a new object, arr freed
    'let gone = krealloc(moved, 0, GFP_KERNEL)', // frees, ZERO_SIZE_PTR
    'let fresh = krealloc(0, 8, GFP_KERNEL)', // NULL: plain kmalloc
    'let k0 = ksize(0)',
    '',
  ].join('\n');
  const { diagnostics, scenario } = loadScenario(source, 't.kmem');
  assert.deepEqual(diagnostics, []);
  const m = scenario!.machine;
  // Scribble on the first object before it is freed, to see kzalloc clear it.
  const stop1 = scenario!.vm.run({ maxInstructions: 1e6, breakAtLine: (line) => line === 2 }); // before kfree(a)
  assert.equal(stop1.reason, 'breakpoint');
  const a = scenario!.vm.locals(0).find((v) => v.name === 'a')!.value as bigint;
  m.mem.fill(m.phys(a)!, 100, 0xab);
  const stop = scenario!.vm.run({ maxInstructions: 1e6 });
  assert.equal(stop.reason, 'end', JSON.stringify(stop.error));
  const v = new Map(scenario!.vm.locals(0).map((x) => [x.name, x.value]));
  assert.equal(v.get('ka'), 128);
  assert.equal(v.get('same'), 1);
  assert.deepEqual([...m.mem.read(m.phys(v.get('z') as bigint)!, 128)], new Array(128).fill(0));
  assert.equal(v.get('kbig'), 16384);
  assert.equal(v.get('over'), 0n);
  assert.equal(v.get('grown'), v.get('arr'));
  assert.notEqual(v.get('moved'), v.get('arr'));
  assert.equal(m.slub.cacheOf(m.phys(v.get('moved') as bigint)!)!.name, 'kmalloc-256');
  assert.equal(v.get('gone'), 16n, 'ZERO_SIZE_PTR');
  assert.equal(m.slub.cacheOf(m.phys(v.get('fresh') as bigint)!)!.name, 'kmalloc-8');
  assert.equal(v.get('k0'), 0);
});
