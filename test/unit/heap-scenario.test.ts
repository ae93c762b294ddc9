/*
 * Real-time heaps from a scenario (engine/vm/calls_heaps.ts): a TLSF heap under a churn of allocations with
 * its worst case and a clean tlsf_check, and OSTEP's malloc.py free-list heap giving the homework's answers.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { loadScenario } from '../../engine/scenario';
import { Value } from '../../engine/vm/values';

function run(source: string) {
  const { diagnostics, scenario } = loadScenario(source, 'heap.kmem');
  assert.deepEqual(diagnostics, []);
  const stop = scenario!.vm.run({ maxInstructions: 50_000_000 });
  const vars = new Map<string, Value>(scenario!.vm.locals(0).map((v) => [v.name, v.value as Value]));
  return { stop, vars };
}

test('a TLSF heap: churn stays within the constant step bound, the heap stays sound', () => {
  const { stop, vars } = run(
    [
      'let rt = heap_create(HEAP_TLSF, 256K)',
      'let keep = heap_alloc(rt, 1000)',
      'for i in 0..10000 {',
      '  let p = heap_alloc(rt, 16 + (i * 37) % 4080)',
      '  heap_free(rt, p)',
      '}',
      'let worst = heap_worst_steps(rt)',
      'let problems = heap_check(rt)',
      'let frag = heap_fragmentation(rt)',
      'let none = heap_alloc(rt, 300K)', // more than the heap: NULL
      '',
    ].join('\n'),
  );
  assert.equal(stop.reason, 'end', JSON.stringify(stop.error));
  // TLSF_STEP_BOUND (engine/heap/tlsf.ts): malloc 7, free 8.
  assert.ok((vars.get('worst') as number) <= 8, `worst ${vars.get('worst')}`);
  assert.equal(vars.get('problems'), 0);
  assert.equal(vars.get('none'), 0);
  assert.equal(vars.get('keep'), 0x100000 + 6536 + 8, 'the control structure, then the first block header');
});

test("a TLSF double free stops the scenario as tlsf.c's assert would", () => {
  const { stop } = run(
    'let rt = heap_create(HEAP_TLSF, 64K)\nlet p = heap_alloc(rt, 100)\nheap_free(rt, p)\nheap_free(rt, p)\n',
  );
  assert.equal(stop.reason, 'error');
  assert.equal(stop.error?.code, 'KM6003');
});

test("malloc.py's free list: best fit, searched counts, an invalid free returns -1", () => {
  // python3 malloc.py -S 100 -b 1000 -H 0 -a -1 -p BEST -l ADDRSORT -A +3,-0,+5,-1: ptr[0] = Alloc(3) returned
  // 1000 (searched 1 elements); Free(ptr[0]); ptr[1] = Alloc(5): the list is [1000 sz 3][1003 sz 97], best fit
  // searches both and takes 1003.
  const { stop, vars } = run(
    [
      'let h = freelist_heap(HEAP_BEST_FIT, 100, 0, -1, LIST_ADDRSORT, 0)',
      'let p0 = heap_alloc(h, 3)',
      'let s0 = heap_steps(h)',
      'heap_free(h, p0)',
      'let p1 = heap_alloc(h, 5)',
      'let s1 = heap_steps(h)',
      'let bad = heap_free(h, 1050)',
      '',
    ].join('\n'),
  );
  assert.equal(stop.reason, 'end', JSON.stringify(stop.error));
  assert.deepEqual(
    ['p0', 's0', 'p1', 's1', 'bad'].map((n) => vars.get(n)),
    [1000, 1, 1003, 2, -1],
  );
});
