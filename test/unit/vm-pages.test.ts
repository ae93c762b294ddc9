/*
 * The page allocator builtins in scenarios: alloc_pages(order, gfp), free_pages(ptr, order),
 * __get_free_pages(gfp, order) and get_zeroed_page(gfp): their values, the events they record, the checker's
 * arity, a bad free_pages as runtime error KM4005 carrying the kernel's report, and an allocation failure
 * that is no error (NULL, and the warning in machine.log).
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { loadScenario, LoadedScenario } from '../../engine/scenario';
import { diagnose } from '../../engine/lang/service';
import { EventKind } from '../../engine/trace/events';
import { PAGE_OFFSET } from '../../engine/mm/address';
import { Stop, Vm } from '../../engine/vm/vm';

const BIG = 1e12;
const PAGE = 4096;

function load(source: string): LoadedScenario {
  const { diagnostics, scenario } = loadScenario(source, 'pages.kmem');
  assert.deepEqual(diagnostics, [], 'the script must load without diagnostics');
  return scenario!;
}

function runToEnd(vm: Vm): Stop {
  return vm.run({ maxInstructions: BIG });
}

function local(s: LoadedScenario, name: string) {
  return s.vm.locals(0).find((v) => v.name === name)?.value;
}

function kinds(s: LoadedScenario): string[] {
  return s.machine.events.slice(0).map((e) => `${EventKind[e.kind]}:${e.extra}`);
}

test('alloc_pages returns the direct-map address of the first page; free_pages gives it back', () => {
  const s = load('let p = alloc_pages(3, GFP_KERNEL)\nlet q = alloc_pages(0, GFP_DMA)\nfree_pages(p, 3)\n');
  assert.equal(runToEnd(s.vm).reason, 'end');
  const p = local(s, 'p');
  assert.equal(typeof p, 'bigint');
  const phys = Number((p as bigint) - PAGE_OFFSET);
  assert.equal(phys % (8 * PAGE), 0);
  assert.ok(phys >= 16 * 1024 * 1024, 'GFP_KERNEL on 256M: DMA32');
  assert.ok(Number((local(s, 'q') as bigint) - PAGE_OFFSET) < 16 * 1024 * 1024, 'GFP_DMA: below 16M');
  assert.deepEqual(s.vm.locals(0)[0]!.kind, 'ptr');
  assert.deepEqual(kinds(s), ['PageAlloc:3', 'PageAlloc:0', 'PageFree:3']);
  assert.equal(s.machine.events.get(2).addr, phys / PAGE);
});

test('__get_free_pages takes (gfp, order); get_zeroed_page(gfp) is one page; free_pages(0) (NULL) is ignored', () => {
  const s = load(
    'let a = __get_free_pages(GFP_KERNEL | __GFP_COMP, 2)\nlet z = get_zeroed_page(GFP_ATOMIC)\nfree_pages(0, 5)\nfree_pages(a, 2)\nfree_pages(z, 0)\n',
  );
  assert.equal(runToEnd(s.vm).reason, 'end');
  assert.deepEqual(kinds(s), ['PageAlloc:2', 'PageAlloc:0', 'PageFree:2', 'PageFree:0']);
});

test('a failing allocation is no error: NULL, a page_alloc_fail event and the warning in machine.log', () => {
  const s = load(
    // 16M has one 4 MiB block (8..12 MiB): the second order-10 request fails (costly: NULL, no OOM killer).
    'machine { memory 16M }\nrepeat 2 {\n  let b = alloc_pages(10, GFP_KERNEL)\n}\nlet n = alloc_pages(10, GFP_KERNEL | __GFP_NOWARN)\nlet z = get_zeroed_page(GFP_DMA)\nlet huge = alloc_pages(11, GFP_KERNEL)\n',
  );
  assert.equal(runToEnd(s.vm).reason, 'end');
  assert.equal(local(s, 'n'), 0n);
  assert.equal(local(s, 'huge'), 0n);
  assert.notEqual(local(s, 'z'), 0n, 'order 0 still fits: 1723 pages are free');
  const fails = s.machine.events.slice(0).filter((e) => e.kind === EventKind.PageAllocFail);
  assert.deepEqual(
    fails.map((e) => [e.line, e.extra]),
    [
      [3, 10],
      [5, 10],
      [7, 11],
    ],
  );
  assert.equal(s.machine.log.length, 2, 'one warn_alloc report and the order warning; __GFP_NOWARN is silent');
  assert.match(
    s.machine.log[0]!,
    /^kmem: page allocation failure: order:10, mode:0xcc0\(GFP_KERNEL\), nodemask=\(null\)\n/,
  );
  // The free blocks left after the 4 MiB block went (show_free_areas with show_migration_types letters).
  assert.match(
    s.machine.log[0]!,
    /\nNode 0 DMA: 1\*4kB \(M\) 1\*8kB \(M\) 0\*16kB 1\*32kB \(M\) 1\*64kB \(M\) 1\*128kB \(M\) 0\*256kB 1\*512kB \(M\) 2\*1024kB \(M\) 2\*2048kB \(M\) 0\*4096kB = 6892kB\n$/,
  );
  assert.match(s.machine.log[1]!, /WARNING: CPU: 0 at mm\/page_alloc\.c __alloc_pages_noprof: order:11/);
});

test('__get_free_pages drops __GFP_HIGHMEM; get_zeroed_page adds __GFP_ZERO (seen in the failure report)', () => {
  const t = load(
    'machine { memory 16M }\nlet b = alloc_pages(10, GFP_KERNEL)\nlet a = __get_free_pages(GFP_KERNEL | 2, 10)\n',
  );
  runToEnd(t.vm);
  assert.equal(t.machine.log.length, 1);
  assert.match(t.machine.log[0]!, /mode:0xcc0\(GFP_KERNEL\)/, '__GFP_HIGHMEM (2) is masked off');
  // 16M manages 2747 pages. GFP_DMA cannot reclaim: the allocations stop once the zone's free pages are not
  // above its min watermark (104; the per-CPU refills may take it a few below), each later one fails with a
  // report, and no OOM killer runs.
  const z = load('machine { memory 16M }\nrepeat 2747 { let b = get_zeroed_page(GFP_DMA) }\n');
  runToEnd(z.vm);
  const got = z.machine.events.slice(0).filter((e) => e.kind === EventKind.PageAlloc).length;
  const zone = z.machine.buddy.zones[0]!;
  assert.ok(zone.freePages <= 104 && zone.freePages > 90, `${zone.freePages} free pages left`);
  assert.equal(got + zone.freePages + z.machine.buddy.nrPcpPages, 2747);
  assert.equal(z.machine.log.length, 2747 - got, 'one report per failure');
  assert.equal(z.machine.panic, undefined);
  assert.match(
    z.machine.log[0]!,
    /^kmem: page allocation failure: order:0, mode:0x101\(GFP_DMA\|__GFP_ZERO\), nodemask=\(null\)\n/,
  );
});

test('double free_pages: KM4005 with the first line of the report as message and the whole report', () => {
  const s = load('let p = alloc_pages(3, GFP_KERNEL)\nfree_pages(p, 3)\n  free_pages(p, 3)\nlet after = 1\n');
  const stop = runToEnd(s.vm);
  assert.equal(stop.reason, 'error');
  assert.equal(s.vm.status, 'error');
  const e = stop.error!;
  assert.equal(e.code, 'KM4005');
  assert.match(e.message, /^BUG: Bad page state in process kmem {2}pfn:[0-9a-f]{5,}$/);
  assert.equal(e.report!.split('\n')[0], e.message);
  assert.match(
    e.report!,
    /\npage dumped because: VM_BUG_ON_PAGE\(page_ref_count\(page\) == 0\)\nkmem: .*double free\n$/,
  );
  assert.deepEqual(e.range, { start: { line: 2, character: 2 }, end: { line: 2, character: 18 } });
  assert.equal(local(s, 'after'), undefined, 'the scenario stopped there');
  assert.deepEqual(kinds(s), ['PageAlloc:3', 'PageFree:3']);
  assert.deepEqual(s.vm.saveState().error, e, 'the report survives a checkpoint');
});

test('tail page and wrong order are KM4005 too; other misuse has its own codes', () => {
  const code = (source: string) => runToEnd(load(source).vm).error?.code;
  assert.equal(code('let p = alloc_pages(2, GFP_KERNEL | __GFP_COMP)\nfree_pages(p + 4096, 2)'), 'KM4005');
  assert.equal(code('let p = alloc_pages(2, GFP_KERNEL)\nfree_pages(p, 1)'), 'KM4005');
  assert.equal(code('let p = kmalloc(64, GFP_KERNEL)\nfree_pages(p, 0)'), 'KM4005');
  assert.equal(code('free_pages(16, 0)'), 'KM4006', 'ZERO_SIZE_PTR is no page address');
  assert.equal(code('free_pages(4096, 0)'), 'KM4006');
  assert.equal(code('let p = alloc_pages(0, GFP_KERNEL)\nfree_pages(p + 1G, 0)'), 'KM4006');
  assert.equal(code('let p = alloc_pages(0, GFP_KERNEL)\nfree_pages(p, 11)'), 'KM4107');
  assert.equal(code('let p = alloc_pages(-1, GFP_KERNEL)'), 'KM4107');
  assert.equal(code('let p = __get_free_pages(GFP_KERNEL, -1)'), 'KM4107');
  assert.equal(code('let p = alloc_pages(0, -1)'), 'KM4106');
  assert.equal(code('let p = get_zeroed_page(1 << 40)'), 'KM4106');
  const msg = runToEnd(load('let p = __get_free_pages(GFP_KERNEL, -1)').vm).error!.message;
  assert.match(msg, /^__get_free_pages order must be a page order from 0 up/);
  // kfree of alloc_pages memory is refused by kfree's own check.
  assert.equal(code('let p = alloc_pages(0, GFP_KERNEL)\nkfree(p)'), 'KM4003');
});

test('the checker knows the builtins: arity and values', () => {
  const codes = (source: string) => diagnose(source, 'x.kmem').map((d) => d.code);
  assert.deepEqual(codes('let p = alloc_pages(3)'), ['KM2004']);
  assert.deepEqual(codes('free_pages(1)'), ['KM2004']);
  assert.deepEqual(codes('let p = get_zeroed_page(GFP_KERNEL, 0)'), ['KM2004']);
  assert.deepEqual(codes('let x = free_pages(0, 0)'), ['KM2012']);
  assert.deepEqual(codes('let alloc_pages = 1'), ['KM2010']);
  assert.deepEqual(
    codes('alloc_pages(3, GFP_KERNEL)\n__get_free_pages(GFP_KERNEL, 1)\nget_zeroed_page(GFP_KERNEL)'),
    [],
  );
  const m = diagnose('let p = alloc_pages(3)', 'x.kmem')[0]!.message;
  assert.equal(m, 'alloc_pages takes 2 arguments (order, gfp), not 1');
});

test('stopOnEvent stops after alloc_pages mid-statement and resumes with the value stored', () => {
  const s = load('let p = alloc_pages(11, GFP_KERNEL)\nlet q = alloc_pages(1, GFP_KERNEL)\n');
  const stop = s.vm.run({
    maxInstructions: BIG,
    stopOnEvent: (first, end) => {
      for (let i = first; i < end; i++) if (s.machine.events.kindAt(i) === EventKind.PageAllocFail) return i;
      return undefined;
    },
  });
  assert.equal(stop.reason, 'event');
  assert.equal(stop.line, 0);
  assert.deepEqual(s.vm.frames()[0]!.character, 8, 'the frame points at the call');
  assert.equal(runToEnd(s.vm).reason, 'end');
  assert.equal(local(s, 'p'), 0n);
  assert.notEqual(local(s, 'q'), 0n);
});
