/*
 * Memory compaction (engine/mm/compaction.ts) against Linux 6.12's mm/compaction.c: a zone whose free memory
 * is all order-0 pages between a process's anonymous pages (fragmented by munmap of every other page) gets
 * an order-4 block from compact_zone(); every migrated page keeps its bytes and the task's PTE points at the
 * new frame; the page allocator and task invariants hold; the fragmentation index
 * (/sys/kernel/debug/extfrag/extfrag_index) of the zone drops. compact_memory (order -1) runs to
 * COMPACT_COMPLETE on every zone, lowest first.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Machine } from '../../engine/mm/machine';
import { checkPageAllocator } from '../../engine/mm/check';
import { PROT_READ, PROT_WRITE, Task, checkTasks, isTaskError } from '../../engine/mm/process';
import {
  COMPACT_RESULT_NAMES,
  compactMachine,
  compactZone,
  compactionHook,
  freeBlocksAtLeast,
  tryToCompactPages,
} from '../../engine/mm/compaction';
import { MIGRATE_UNMOVABLE, Zone } from '../../engine/mm/buddy';
import { buddyinfoView } from '../../engine/inspect/views';
import { extfragView } from '../../engine/inspect/fragmentation';
import { EventKind } from '../../engine/trace/events';

const A = 0x10000000n;
const P = 4096n;

interface Fragmented {
  m: Machine;
  task: Task;
  zone: Zone;
  /** va -> the pattern byte written at offsets 0 and 4095 of each page still mapped. */
  pattern: Map<bigint, number>;
  /** va -> pfn before compaction. */
  before: Map<bigint, number>;
}

/**
 * A 64 MiB x86-64 machine (zones DMA and DMA32); a process fills DMA32 with anon pages, the rest of its free
 * blocks of order >= 1 are taken as unmovable kernel memory, then every other page is unmapped: DMA32's free
 * memory is (almost) all order-0 pages, none of order 4 or more.
 */
function fragment(): Fragmented {
  const m = Machine.boot({ memoryBytes: 64 << 20, cpus: 2 });
  assert.ok(m instanceof Machine);
  const zone = m.buddy.zones[1]!;
  const task = m.tasks.spawn('frag');
  if (isTaskError(task)) assert.fail(task.message);
  const pages = 16000;
  assert.equal(m.tasks.mmap(task, A, pages * 4096, PROT_READ | PROT_WRITE), A);
  const vas: bigint[] = [];
  for (let i = 0; i < pages; i++) {
    const va = A + BigInt(i) * P;
    const r = m.tasks.access(task, va, 'write');
    assert.ok(r.ok);
    if (m.buddy.zoneOf(r.phys >> 12) !== 1) break; // DMA32 is down to its watermark
    vas.push(va);
  }
  // Pin the remaining free blocks of order >= 1 in DMA32 as unmovable kernel memory.
  m.drainAllPages();
  const buddy = m.buddy.buddies[1]!;
  for (let o = 10; o >= 1; o--) {
    for (;;) {
      const got = buddy.rmqueue(o, MIGRATE_UNMOVABLE, 0);
      if (got < 0) break;
      buddy.prepNew(got, o, false);
    }
  }
  const pattern = new Map<bigint, number>();
  vas.forEach((va, i) => {
    if (i % 2 === 1) {
      assert.equal(m.tasks.munmap(task, va, 4096), undefined);
      return;
    }
    const phys = (m.tasks.access(task, va, 'read') as { phys: number }).phys;
    m.mem.write8(phys, i & 0xff);
    m.mem.write8(phys + 4095, (i * 7) & 0xff);
    pattern.set(va, i & 0xff);
  });
  m.drainAllPages();
  const before = new Map<bigint, number>();
  for (const va of pattern.keys()) before.set(va, task.mm.translate(va) >> 12);
  return { m, task, zone, pattern, before };
}

function clean(m: Machine): void {
  assert.deepEqual(checkPageAllocator(m).problems, []);
  assert.deepEqual(checkTasks(m), []);
}

function extfrag(m: Machine, zone: string, order: number): number {
  return extfragView(buddyinfoView(m).zones).zones.find((z) => z.zone === zone)!.extfrag[order]!;
}

function assertIntact(f: Fragmented): number {
  let moved = 0;
  for (const [va, byte] of f.pattern) {
    const r = f.m.tasks.access(f.task, va, 'read');
    assert.ok(r.ok);
    assert.equal(f.m.mem.read8(r.phys), byte, `byte 0 of ${va.toString(16)}`);
    const i = Number((va - A) / P);
    assert.equal(f.m.mem.read8(r.phys + 4095), (i * 7) & 0xff);
    if (r.phys >> 12 !== f.before.get(va)) moved++;
  }
  return moved;
}

test('fragmented zone: no order-4 block; compact_zone(order 4) makes one, bytes and PTEs follow the pages', () => {
  const f = fragment();
  const { m, zone } = f;
  clean(m);
  assert.equal(freeBlocksAtLeast(zone, 4), 0, 'no order-4 block');
  assert.ok(zone.nrFree[0]! > 1000);
  const fragBefore = extfrag(m, 'DMA32', 4);
  assert.ok(fragBefore > 900, `fragmentation index ${fragBefore}`);
  const seq = m.events.length;
  const r = compactZone(m, zone, 4, { gfp: 0x100cca /* GFP_HIGHUSER_MOVABLE */, direct: true });
  assert.equal(r.result, 'COMPACT_SUCCESS');
  assert.ok(r.migrated > 0 && r.migrated <= r.isolated);
  assert.equal(r.failed, 0);
  assert.ok(freeBlocksAtLeast(zone, 4) > 0, 'an order-4 block');
  const ev = m.events.get(m.events.length - 1);
  assert.equal(ev.kind, EventKind.Compaction);
  assert.ok(ev.seq >= seq);
  assert.equal(COMPACT_RESULT_NAMES[ev.extra], 'COMPACT_SUCCESS');
  assert.equal(ev.addr, r.migrated);
  const moved = assertIntact(f);
  assert.equal(moved, r.migrated, 'every migrated page is mapped at its new frame');
  clean(m);
  assert.ok(extfrag(m, 'DMA32', 4) < fragBefore, 'the fragmentation index drops');
});

test('compact_memory (order -1): COMPACT_COMPLETE on every zone, lowest first; large blocks appear', () => {
  const f = fragment();
  const { m, zone } = f;
  const unusableBefore = extfragView(buddyinfoView(m).zones).zones[1]!.unusable[9]!;
  const results = compactMachine(m, -1);
  assert.deepEqual(
    results.map((r) => [r.zone, r.result]),
    [
      ['DMA', 'COMPACT_COMPLETE'],
      ['DMA32', 'COMPACT_COMPLETE'],
    ],
  );
  m.drainAllPages();
  assert.ok(freeBlocksAtLeast(zone, 9) > 0, 'whole page blocks are free again');
  assert.ok(extfragView(buddyinfoView(m).zones).zones[1]!.unusable[9]! < unusableBefore);
  assert.equal(
    assertIntact(f),
    results.reduce((n, r) => n + r.migrated, 0),
  );
  clean(m);
});

test('direct compaction: skipped when the watermark is met, or without __GFP_IO; the hook runs it', () => {
  const m = Machine.boot({ memoryBytes: 64 << 20, cpus: 2 });
  assert.ok(m instanceof Machine);
  const r = compactZone(m, m.buddy.zones[1]!, 4);
  assert.equal(r.result, 'COMPACT_SUCCESS');
  assert.equal(r.migrateScanned, 0);
  assert.deepEqual(tryToCompactPages(m, 4, 1, 0 /* GFP_NOWAIT-like: no __GFP_IO */), []);
  const f = fragment();
  const hook = compactionHook(f.m);
  hook(4, 1);
  assert.ok(freeBlocksAtLeast(f.zone, 4) > 0);
  assertIntact(f);
  clean(f.m);
});
