/*
 * The page allocator's invariant checker (engine/mm/check.ts), and random operation mixes run through it
 * after every step: allocations of every order and mobility from every CPU, frees, slab churn, drains,
 * split pages, exact allocations, vmalloc areas, on x86-64 and RISC-V machines. The checker includes the
 * kernel page table against the vmalloc areas. Seeded: the seed is printed as a test
 * diagnostic and can be changed with FC_SEED=<n>.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import { checkPageAllocator } from '../../engine/mm/check';
import { Machine } from '../../engine/mm/machine';
import { NO_PFN } from '../../engine/mm/frames';

const FC_SEED = Number(process.env.FC_SEED ?? 1717);
// include/linux/gfp_types.h values, written out so the test does not read them from the code under test.
const GFP_KERNEL = 0xcc0;
const GFP_ATOMIC = 0x820;
const GFP_NOWAIT = 0x800;
const GFP_HIGHUSER_MOVABLE = 0x100cca;
const __GFP_RECLAIMABLE = 0x10;
const __GFP_COMP = 0x40000;
const __GFP_NOWARN = 0x2000;

function boot(memoryBytes: number, cpus: number, arch: 'x86_64' | 'sv39' = 'x86_64'): Machine {
  const m = Machine.boot({ memoryBytes, cpus, arch });
  assert.ok(m instanceof Machine);
  return m;
}

const op = fc.oneof(
  fc.record({
    kind: fc.constant('alloc' as const),
    order: fc.constantFrom(0, 0, 0, 1, 2, 3, 4, 9, 10),
    gfp: fc.constantFrom(
      GFP_KERNEL,
      GFP_ATOMIC,
      GFP_NOWAIT,
      GFP_HIGHUSER_MOVABLE,
      GFP_KERNEL | __GFP_RECLAIMABLE,
      GFP_KERNEL | __GFP_COMP,
    ),
    cpu: fc.nat(2),
  }),
  fc.record({ kind: fc.constant('free' as const), pick: fc.nat(), cpu: fc.nat(2) }),
  fc.record({ kind: fc.constant('kmalloc' as const), size: fc.integer({ min: 1, max: 20000 }), cpu: fc.nat(2) }),
  fc.record({ kind: fc.constant('kfree' as const), pick: fc.nat(), cpu: fc.nat(2) }),
  fc.record({ kind: fc.constant('split' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('exact' as const), size: fc.integer({ min: 1, max: 200000 }) }),
  fc.constant({ kind: 'drain' as const }),
  fc.record({ kind: fc.constant('vmalloc' as const), size: fc.integer({ min: 1, max: 100000 }) }),
  fc.record({ kind: fc.constant('vfree' as const), pick: fc.nat() }),
);

test('property: every frame stays accounted for exactly once through random operation mixes', (t) => {
  t.diagnostic(`fast-check seed ${FC_SEED}`);
  fc.assert(
    fc.property(fc.constantFrom('x86_64' as const, 'sv39' as const), fc.array(op, { maxLength: 300 }), (arch, ops) => {
      const m = boot(32 * 1024 * 1024, 3, arch);
      const pages: { phys: number; order: number; compound: boolean }[] = [];
      const objects: number[] = [];
      const areas: bigint[] = [];
      for (const o of ops) {
        switch (o.kind) {
          case 'alloc': {
            m.cpu = o.cpu;
            const phys = m.allocPages(o.order, o.gfp | __GFP_NOWARN);
            if (phys >= 0) pages.push({ phys, order: o.order, compound: (o.gfp & __GFP_COMP) !== 0 });
            break;
          }
          case 'free':
            if (pages.length > 0) {
              m.cpu = o.cpu;
              const p = pages.splice(o.pick % pages.length, 1)[0]!;
              assert.equal(m.freePages(p.phys, p.order), undefined);
            }
            break;
          case 'kmalloc': {
            m.cpu = o.cpu;
            const phys = m.kmalloc(o.size, GFP_KERNEL | __GFP_NOWARN);
            if (phys >= 0) objects.push(phys);
            break;
          }
          case 'kfree':
            if (objects.length > 0) {
              m.cpu = o.cpu;
              assert.equal(m.kfree(objects.splice(o.pick % objects.length, 1)[0]!), undefined);
            }
            break;
          case 'split': {
            const i = pages.findIndex((p) => p.order > 0 && !p.compound);
            if (i >= 0) {
              const p = pages.splice(i, 1)[0]!;
              assert.equal(m.splitPage(p.phys, p.order), undefined);
              for (let k = 0; k < 1 << p.order; k++) pages.push({ phys: p.phys + k * 4096, order: 0, compound: false });
            }
            break;
          }
          case 'exact': {
            const phys = m.allocPagesExact(o.size, GFP_KERNEL | __GFP_NOWARN);
            if (phys >= 0) {
              for (let k = 0; k < Math.ceil(o.size / 4096); k++) {
                pages.push({ phys: phys + k * 4096, order: 0, compound: false });
              }
            }
            break;
          }
          case 'drain':
            m.drainAllPages();
            break;
          case 'vmalloc': {
            const area = m.vmalloc.vmalloc(o.size, GFP_KERNEL | __GFP_NOWARN, { caller: 'test' });
            if ('addr' in area) areas.push(area.addr);
            break;
          }
          case 'vfree':
            if (areas.length > 0) {
              const r = m.vmalloc.vfree(areas.splice(o.pick % areas.length, 1)[0]!);
              assert.ok(r !== undefined && 'area' in r, 'vfree of a live area');
            }
            break;
        }
        if (m.panic) break; // the OOM killer found nothing to kill: the machine stops, as the kernel does
        const report = checkPageAllocator(m);
        assert.deepEqual(report.problems, [], `after ${JSON.stringify(o)}`);
      }
    }),
    { seed: FC_SEED, numRuns: 25 },
  );
});

test('a corrupted free list is reported, not followed forever', () => {
  const m = boot(16 * 1024 * 1024, 1);
  // Make the first order-8 block point back at itself, and another block claim a wrong order.
  const zone = m.buddy.zones[0]!;
  let head = NO_PFN;
  for (let list = 0; list < zone.freeHead.length && head === NO_PFN; list++) head = zone.freeHead[list]!;
  assert.notEqual(head, NO_PFN);
  m.frames.next[head] = head;
  const report = checkPageAllocator(m);
  assert.equal(report.ok, false);
  assert.ok(
    report.problems.some((p) => /does not end \(a cycle\)|counted twice/.test(p)),
    report.problems.join('\n'),
  );
});

test('a frame nobody accounts for is reported as leaked', () => {
  const m = boot(16 * 1024 * 1024, 1);
  const phys = m.allocPages(0, GFP_KERNEL);
  assert.ok(phys >= 0);
  m.frames.refcount[phys / 4096] = 0; // the allocation loses its reference: the frame belongs to nobody
  const report = checkPageAllocator(m);
  assert.ok(
    report.problems.some((p) => p.includes('leaked')),
    report.problems.join('\n'),
  );
});
