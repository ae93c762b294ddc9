/*
 * The free-list heap (engine/heap/freelist.ts) against OSTEP's malloc.py (remzi-arpacidusseau/ostep-homework,
 * vm-freespace/malloc.py and its README). The -A sequences are worked by hand from malloc.py's malloc() and
 * free() (the working is in the comments); the random-mode runs are malloc.py's own output under Python 3
 * (its generator is reproduced by PyRandom, checked here against CPython's first draws). Seeded property test:
 * the seed is printed as a test diagnostic and can be changed with FC_SEED=<n>.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import {
  FreeListHeap,
  PyRandom,
  parseMallocPyArgs,
  runMallocPy,
  type FitPolicy,
  type ListOrder,
} from '../../engine/heap/freelist';

const FC_SEED = Number(process.env.FC_SEED ?? 1717);

/** The operation lines malloc.py prints after its 14-line options echo. */
function run(args: string): string[] {
  const o = parseMallocPyArgs(args);
  assert.ok(!('code' in o), JSON.stringify(o));
  const r = runMallocPy(o);
  assert.equal(r.error, undefined);
  return r.lines.slice(14);
}

function heap(o: Parameters<typeof FreeListHeap.create>[0]): FreeListHeap {
  const h = FreeListHeap.create(o);
  assert.ok(h instanceof FreeListHeap, JSON.stringify(h));
  return h;
}

test('PyRandom draws what CPython random.random() draws after random.seed(n)', () => {
  // python3 -c "import random; random.seed(0); print(random.random(), random.random())"
  const r0 = new PyRandom(0);
  assert.equal(r0.random(), 0.8444218515250481);
  assert.equal(r0.random(), 0.7579544029403025);
  const r42 = new PyRandom(42);
  assert.equal(r42.random(), 0.6394267984578837);
  assert.equal(r42.random(), 0.025010755222666936);
});

test("the options echo is malloc.py's, line for line", () => {
  const o = parseMallocPyArgs('-c');
  assert.ok(!('code' in o));
  assert.deepEqual(runMallocPy(o).lines.slice(0, 14), [
    'seed 0',
    'size 100',
    'baseAddr 1000',
    'headerSize 0',
    'alignment -1',
    'policy BEST',
    'listOrder ADDRSORT',
    'coalesce False',
    'numOps 10',
    'range 10',
    'percentAlloc 50',
    'allocList ', // print('allocList', '') leaves the separator
    'compute True',
    '',
  ]);
});

test("default run (-s 0 -n 10 -H 0 -p BEST -c): malloc.py's output", () => {
  assert.deepEqual(run('-n 10 -H 0 -p BEST -s 0 -c'), [
    'ptr[0] = Alloc(3) returned 1000 (searched 1 elements)',
    'Free List [ Size 1 ]: [ addr:1003 sz:97 ]',
    '',
    'Free(ptr[0])',
    'returned 0',
    'Free List [ Size 2 ]: [ addr:1000 sz:3 ][ addr:1003 sz:97 ]',
    '',
    'ptr[1] = Alloc(5) returned 1003 (searched 2 elements)',
    'Free List [ Size 2 ]: [ addr:1000 sz:3 ][ addr:1008 sz:92 ]',
    '',
    'Free(ptr[1])',
    'returned 0',
    'Free List [ Size 3 ]: [ addr:1000 sz:3 ][ addr:1003 sz:5 ][ addr:1008 sz:92 ]',
    '',
    'ptr[2] = Alloc(8) returned 1008 (searched 3 elements)',
    'Free List [ Size 3 ]: [ addr:1000 sz:3 ][ addr:1003 sz:5 ][ addr:1016 sz:84 ]',
    '',
    'Free(ptr[2])',
    'returned 0',
    'Free List [ Size 4 ]: [ addr:1000 sz:3 ][ addr:1003 sz:5 ][ addr:1008 sz:8 ][ addr:1016 sz:84 ]',
    '',
    'ptr[3] = Alloc(8) returned 1008 (searched 4 elements)',
    'Free List [ Size 3 ]: [ addr:1000 sz:3 ][ addr:1003 sz:5 ][ addr:1016 sz:84 ]',
    '',
    'Free(ptr[3])',
    'returned 0',
    'Free List [ Size 4 ]: [ addr:1000 sz:3 ][ addr:1003 sz:5 ][ addr:1008 sz:8 ][ addr:1016 sz:84 ]',
    '',
    'ptr[4] = Alloc(2) returned 1000 (searched 4 elements)',
    'Free List [ Size 4 ]: [ addr:1002 sz:1 ][ addr:1003 sz:5 ][ addr:1008 sz:8 ][ addr:1016 sz:84 ]',
    '',
    'ptr[5] = Alloc(7) returned 1008 (searched 4 elements)',
    'Free List [ Size 4 ]: [ addr:1002 sz:1 ][ addr:1003 sz:5 ][ addr:1015 sz:1 ][ addr:1016 sz:84 ]',
    '',
  ]);
});

test('README example (-S 100 -b 1000 -H 4 -a 4 -l ADDRSORT -p BEST -n 5), without and with -C', () => {
  // Alloc(3): aligned to 4, plus a 4-byte header = 8 bytes at 1000; the payload is 1004; 92 bytes remain.
  // Free(ptr[0]) puts (1000, 8) back in address order. Alloc(5) = 8 + 4 = 12: best fit among 8 and 92 is 92,
  // searched 2, payload 1012. Alloc(8) = 12: the 12-byte chunk at 1008 is a perfect fit and leaves the list.
  assert.deepEqual(run('-S 100 -b 1000 -H 4 -a 4 -l ADDRSORT -p BEST -n 5 -c'), [
    'ptr[0] = Alloc(3) returned 1004 (searched 1 elements)',
    'Free List [ Size 1 ]: [ addr:1008 sz:92 ]',
    '',
    'Free(ptr[0])',
    'returned 0',
    'Free List [ Size 2 ]: [ addr:1000 sz:8 ][ addr:1008 sz:92 ]',
    '',
    'ptr[1] = Alloc(5) returned 1012 (searched 2 elements)',
    'Free List [ Size 2 ]: [ addr:1000 sz:8 ][ addr:1020 sz:80 ]',
    '',
    'Free(ptr[1])',
    'returned 0',
    'Free List [ Size 3 ]: [ addr:1000 sz:8 ][ addr:1008 sz:12 ][ addr:1020 sz:80 ]',
    '',
    'ptr[2] = Alloc(8) returned 1012 (searched 3 elements)',
    'Free List [ Size 2 ]: [ addr:1000 sz:8 ][ addr:1020 sz:80 ]',
    '',
  ]);
  // With -C each free merges the chunk with its neighbour: the list is one chunk after every free.
  const c = run('-S 100 -b 1000 -H 4 -a 4 -l ADDRSORT -p BEST -n 5 -c -C');
  assert.deepEqual(
    c.filter((l) => l.startsWith('Free List')),
    [
      'Free List [ Size 1 ]: [ addr:1008 sz:92 ]',
      'Free List [ Size 1 ]: [ addr:1000 sz:100 ]',
      'Free List [ Size 1 ]: [ addr:1012 sz:88 ]',
      'Free List [ Size 1 ]: [ addr:1000 sz:100 ]',
      'Free List [ Size 1 ]: [ addr:1012 sz:88 ]',
    ],
  );
  assert.equal(c[7], 'ptr[1] = Alloc(5) returned 1004 (searched 1 elements)');
});

test('-A +10,+10,+10,-0,-2 (README): hand-worked, without and with coalescing', () => {
  // Three 10-byte chunks from the front: 1000, 1010, 1020, each found in the single remaining chunk.
  // Free(ptr[0]) and Free(ptr[2]) go back in address order; 1020+10 touches 1030, so -C merges them.
  // The -A mode prints ptr itself (no header added, unlike the random mode).
  const plain = run('-c -A +10,+10,+10,-0,-2');
  assert.deepEqual(plain, [
    'ptr[0] = Alloc(10) returned 1000 (searched 1 elements)',
    'Free List [ Size 1 ]: [ addr:1010 sz:90 ]',
    '',
    'ptr[1] = Alloc(10) returned 1010 (searched 1 elements)',
    'Free List [ Size 1 ]: [ addr:1020 sz:80 ]',
    '',
    'ptr[2] = Alloc(10) returned 1020 (searched 1 elements)',
    'Free List [ Size 1 ]: [ addr:1030 sz:70 ]',
    '',
    'Free(ptr[0])',
    'returned 0',
    'Free List [ Size 2 ]: [ addr:1000 sz:10 ][ addr:1030 sz:70 ]',
    '',
    'Free(ptr[2])',
    'returned 0',
    'Free List [ Size 3 ]: [ addr:1000 sz:10 ][ addr:1020 sz:10 ][ addr:1030 sz:70 ]',
    '',
  ]);
  const merged = run('-c -C -A +10,+10,+10,-0,-2');
  assert.equal(merged.at(-2), 'Free List [ Size 2 ]: [ addr:1000 sz:10 ][ addr:1020 sz:80 ]');
});

test('FIRST with INSERT-FRONT: the last chunk freed is searched first (hand-worked)', () => {
  // Frees of ptr[0..2] push 1000, 1005, 1010 on the front in turn, so the list is 1010, 1005, 1000, 1015.
  // Alloc(4) takes the first that fits, 1010 (searched 1), leaving 1014:1 in front; the next Alloc(4) passes
  // 1014:1 and takes 1005 (searched 2).
  assert.deepEqual(run('-c -p FIRST -l INSERT-FRONT -A +5,+5,+5,-0,-1,-2,+4,+4').slice(-6), [
    'ptr[3] = Alloc(4) returned 1010 (searched 1 elements)',
    'Free List [ Size 4 ]: [ addr:1014 sz:1 ][ addr:1005 sz:5 ][ addr:1000 sz:5 ][ addr:1015 sz:85 ]',
    '',
    'ptr[4] = Alloc(4) returned 1005 (searched 2 elements)',
    'Free List [ Size 4 ]: [ addr:1014 sz:1 ][ addr:1009 sz:1 ][ addr:1000 sz:5 ][ addr:1015 sz:85 ]',
    '',
  ]);
});

test('WORST with SIZESORT- and -C: coalescing only merges neighbours in the list (malloc.py output)', () => {
  const out = run('-s 3 -n 8 -p WORST -l SIZESORT- -C -H 2 -a 2 -c');
  assert.deepEqual(out.slice(0, 2), [
    'ptr[0] = Alloc(6) returned 1002 (searched 1 elements)',
    'Free List [ Size 1 ]: [ addr:1008 sz:92 ]',
  ]);
  // 1030:6 and 1036:64 touch in memory but sit at opposite ends of a size-sorted list: they stay apart.
  assert.equal(
    out.at(-2),
    'Free List [ Size 5 ]: [ addr:1036 sz:64 ][ addr:1018 sz:12 ][ addr:1008 sz:10 ][ addr:1000 sz:8 ][ addr:1030 sz:6 ]',
  );
});

test('-A quirks: Invalid Free is skipped, a repeated free returns -1, a failed allocation prints -1', () => {
  assert.deepEqual(run('-c -A +200,+10,-5,-1,-1'), [
    'ptr[0] = Alloc(200) returned -1 (searched 1 elements)',
    'Free List [ Size 1 ]: [ addr:1000 sz:100 ]',
    '',
    'ptr[1] = Alloc(10) returned 1000 (searched 1 elements)',
    'Free List [ Size 1 ]: [ addr:1010 sz:90 ]',
    '',
    'Invalid Free: Skipping', // 5 >= len(p) = 1; no list and no blank line follow
    'Invalid Free: Skipping', // 1 >= len(p) = 1 as well: p counts successful allocations, not indices
    'Invalid Free: Skipping',
  ]);
  assert.deepEqual(run('-c -A +10,-0,-0').slice(3), [
    'Free(ptr[0])',
    'returned 0',
    'Free List [ Size 2 ]: [ addr:1000 sz:10 ][ addr:1010 sz:90 ]', // no -C: the chunks stay apart
    '',
    'Free(ptr[0])',
    'returned -1', // p[0] is still there, sizemap no longer knows it
    'Free List [ Size 2 ]: [ addr:1000 sz:10 ][ addr:1010 sz:90 ]',
    '',
  ]);
  // ptr[0] failed, ptr[1] did: "-0" passes the len(p) test and malloc.py dies on p[0] with a KeyError.
  const r = runMallocPy({ compute: true, allocList: '+200,+10,-0' });
  assert.equal(r.error, 'KeyError: 0');
  assert.equal(r.lines.at(-1), 'Free(ptr[0])');
  // Without -c the answers are hidden.
  assert.deepEqual(run('-A +10,-0'), [
    'ptr[0] = Alloc(10) returned ?',
    'List?',
    '',
    'Free(ptr[0])',
    'returned ?',
    'List?',
    '',
  ]);
});

test('option parsing follows optparse: short, attached, long forms; bad input is an error value', () => {
  assert.deepEqual(parseMallocPyArgs('-S 200 -b0 --headerSize=8 --policy WORST -C -c -l SIZESORT+'), {
    size: 200,
    base: 0,
    headerSize: 8,
    policy: 'WORST',
    coalesce: true,
    compute: true,
    order: 'SIZESORT+',
  });
  assert.equal((parseMallocPyArgs('-S ten') as { code: string }).code, 'KM6102');
  assert.equal((parseMallocPyArgs('-x') as { code: string }).code, 'KM6102');
  assert.equal((FreeListHeap.create({ policy: 'BOGUS' as FitPolicy }) as { code: string }).code, 'KM6102');
});

test('NEXT fit (an extension): the search starts where the last one ended', () => {
  const h = heap({ policy: 'NEXT' });
  for (let i = 0; i < 3; i++) h.pyMalloc(10); // 1000, 1010, 1020; the rover is at 1030
  h.pyFree(1000); // list 1000:10, 1030:70
  assert.deepEqual(h.pyMalloc(5), { ptr: 1030, count: 1 }); // FIRST would take 1000
  assert.deepEqual(h.pyMalloc(80), { ptr: -1, count: 2 }); // 1035:65, then wraps to 1000:10
  assert.deepEqual(h.pyMalloc(10), { ptr: 1035, count: 1 });
  assert.deepEqual(h.pyMalloc(10), { ptr: 1045, count: 1 });
  const first = heap({ policy: 'FIRST' });
  for (let i = 0; i < 3; i++) first.pyMalloc(10);
  first.pyFree(1000);
  assert.deepEqual(first.pyMalloc(5), { ptr: 1000, count: 1 });
});

test('the Heap interface: payload addresses, error codes, steps and statistics', () => {
  const h = heap({ size: 100, base: 1000, headerSize: 4, align: 4 });
  const a = h.malloc(3);
  assert.deepEqual(a, { ok: true, addr: 1004, steps: 1 });
  const b = h.malloc(10); // 12 + 4 = 16 bytes at 1008
  assert.equal(b.addr, 1012);
  assert.equal(h.malloc(200).error?.code, 'KM6104');
  assert.equal(h.free(1005).error?.code, 'KM6101');
  assert.deepEqual(h.free(a.addr), { ok: true, addr: 0, steps: 1 });
  assert.equal(h.free(a.addr).error?.code, 'KM6101');
  assert.deepEqual(h.blocks(), [
    { start: 1000, end: 1008, addr: 1000, size: 8, used: false },
    { start: 1008, end: 1024, addr: 1012, size: 12, used: true },
    { start: 1024, end: 1100, addr: 1024, size: 76, used: false },
  ]);
  const s = h.stats();
  assert.equal(s.usedBytes, 12);
  assert.equal(s.freeBytes, 84);
  assert.equal(s.overheadBytes, 4); // one live header
  assert.equal(s.largestFree, 76);
  assert.equal(s.fragmentation, 1 - 76 / 84);
  assert.equal(s.ops.malloc!.failures, 1);
});

const orderArb = fc.constantFrom<ListOrder>('ADDRSORT', 'SIZESORT+', 'SIZESORT-', 'INSERT-FRONT', 'INSERT-BACK');
const policyArb = fc.constantFrom<FitPolicy>('BEST', 'WORST', 'FIRST', 'NEXT');

test('property: allocated and free chunks always tile the heap exactly; the policy picks what it says', (t) => {
  t.diagnostic(`fast-check seed ${FC_SEED}`);
  fc.assert(
    fc.property(
      fc.record({
        policy: policyArb,
        order: orderArb,
        coalesce: fc.boolean(),
        headerSize: fc.nat(8),
        align: fc.constantFrom(-1, 2, 4, 8),
        size: fc.integer({ min: 50, max: 2000 }),
        base: fc.nat(5000),
      }),
      fc.array(fc.oneof(fc.record({ alloc: fc.integer({ min: 1, max: 80 }) }), fc.record({ free: fc.nat() })), {
        maxLength: 120,
      }),
      (opts, ops) => {
        const h = heap(opts);
        const live: number[] = [];
        for (const op of ops) {
          if ('alloc' in op) {
            const before = h.freeList().map((e) => ({ ...e }));
            const r = h.malloc(op.alloc);
            assert.ok(r.steps <= before.length && (r.steps >= 1 || before.length === 0));
            const need =
              (opts.align === -1 ? op.alloc : Math.ceil(op.alloc / opts.align) * opts.align) + opts.headerSize;
            const fits = before.filter((e) => e.size >= need);
            assert.equal(r.ok, fits.length > 0);
            if (r.ok) {
              live.push(r.addr);
              const chunk = r.addr - opts.headerSize;
              if (opts.policy === 'BEST') {
                assert.equal(before.find((e) => e.addr === chunk)!.size, Math.min(...fits.map((e) => e.size)));
              }
              if (opts.policy === 'WORST') {
                assert.equal(before.find((e) => e.addr === chunk)!.size, Math.max(...fits.map((e) => e.size)));
              }
              if (opts.policy === 'FIRST') assert.equal(chunk, fits[0]!.addr);
            }
          } else if (live.length > 0) {
            assert.ok(h.free(live.splice(op.free % live.length, 1)[0]!).ok);
          }
          // Chunks tile [base, base + size): sorted by address, each starts where the previous ended.
          let at = opts.base;
          for (const b of h.blocks()) {
            assert.equal(b.start, at);
            assert.ok(b.end > b.start || b.used);
            at = b.end;
          }
          assert.equal(at, opts.base + opts.size);
          const s = h.stats();
          assert.equal(s.heapBytes, s.usedBytes + s.freeBytes + s.overheadBytes);
          assert.equal(s.overheadBytes, live.length * opts.headerSize);
          if (opts.coalesce && opts.order === 'ADDRSORT') {
            const fl = h.freeList();
            for (let k = 1; k < fl.length; k++) {
              assert.ok(fl[k - 1]!.addr + fl[k - 1]!.size < fl[k]!.addr, 'uncoalesced');
            }
          }
        }
      },
    ),
    { seed: FC_SEED, numRuns: 200 },
  );
});
