/*
 * kmem ADDR (engine/inspect/lookup.ts): the region, the backing frame and its owner for addresses of every
 * kind on a 256 MiB x86-64 machine. Expected frames are computed from the boot layout: the first 1 MiB is
 * reserved, the kernel image sits at 16 MiB (pfn 0x1000) and is mapped at __START_KERNEL_map + 16 MiB.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Machine } from '../../engine/mm/machine';
import { formatLookup, lookupAddress } from '../../engine/inspect/lookup';

function boot(): Machine {
  const m = Machine.boot({ memoryBytes: 256 * 1024 * 1024, cpus: 2 });
  assert.ok(m instanceof Machine);
  return m;
}

test('direct-map addresses: reserved, free, slab and per-CPU frames', () => {
  const m = boot();
  const low = lookupAddress(m, 0xffff888000001000n);
  assert.equal(low.region, 'direct map');
  assert.equal(low.frame?.pfn, 1);
  assert.match(low.frame!.description, /^reserved at boot \(low memory\)$/);
  const image = lookupAddress(m, 0xffffffff81000000n);
  assert.equal(image.region, 'kernel text');
  assert.equal(image.frame?.pfn, 0x1000, '_text is the first frame of the image, at 16 MiB');
  assert.match(image.frame!.description, /kernel image/);
  const obj = m.kmalloc(100, 0xcc0);
  const slab = lookupAddress(m, m.virt(obj));
  assert.match(slab.frame!.description, /^slab page of kmalloc-128 \(128-byte objects\), object 0 \(\+0\), allocated$/);
  assert.equal(slab.frame!.pageblock, 'Unmovable', 'the first kmalloc stole a page block for Unmovable');
  const page = m.allocPages(0, 0xcc0);
  assert.equal(m.freePages(page, 0), undefined);
  assert.match(lookupAddress(m, m.virt(page)).frame!.description, /^free, cached on CPU 0's per-CPU list/);
});

test('vmalloc addresses: the area, its pages and the guard page; holes and user addresses', () => {
  const m = boot();
  const area = m.vmalloc.vmalloc(8192, 0xcc0, { caller: 'test' });
  assert.ok('addr' in area);
  const second = lookupAddress(m, area.addr + 4096n);
  assert.equal(second.region, 'vmalloc');
  assert.equal(second.frame?.pfn, area.pages[1]);
  assert.match(second.frame!.description, /^vmalloc page 1 of the area at 0xffffc90000000000 \(test\)$/);
  const guard = lookupAddress(m, area.addr + 8192n);
  assert.equal(guard.frame, undefined);
  assert.match(guard.vmalloc!, /^guard page of area/);
  assert.match(formatLookup(guard), /not mapped in the kernel page table/);
  assert.match(formatLookup(lookupAddress(m, 0x400000n)), /^0x0000000000400000: user\n/);
  assert.match(lookupAddress(m, 0xffff888000000000n + (1n << 40n)).unmapped!, /beyond the end of RAM/);
});

test('a user page: which processes map it, and where', () => {
  const m = boot();
  const init = m.tasks.spawn('init');
  const p = m.tasks.spawn('kmem');
  assert.ok('pid' in init && 'pid' in p);
  assert.equal(m.tasks.mmap(p, 0x400000n, 4096, 3), 0x400000n);
  const r = m.tasks.access(p, 0x400000n, 'write');
  assert.ok(r.ok);
  const child = m.tasks.fork(p);
  assert.ok('pid' in child);
  const lookup = lookupAddress(m, m.virt(r.phys));
  assert.equal(
    lookup.frame!.description,
    'anonymous user page (movable, on the LRU), mapped by pid 2 at 0x400000, pid 3 at 0x400000',
  );
  assert.equal(lookup.frame!.pageblock, 'Movable', 'GFP_HIGHUSER_MOVABLE pages come from Movable page blocks');
});
