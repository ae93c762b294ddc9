/*
 * `on cpu N { ... }`: the block's statements run on CPU N, so SLUB's per-CPU state comes into play (a free
 * on another CPU than the slab's is a remote free onto the slab freelist) and events carry the CPU.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { loadScenario } from '../../engine/scenario';
import { diagnose } from '../../engine/lang/service';
import { EventKind } from '../../engine/trace/events';

test('on cpu: allocations and frees run on the CPU named, nested blocks restore the outer one', () => {
  const { diagnostics, scenario } = loadScenario(
    [
      'machine { cpus 4 }',
      'let a = kmalloc(192, GFP_KERNEL)', // CPU 0
      'on cpu 2 {',
      '  let b = kmalloc(192, GFP_KERNEL)', // CPU 2 takes a cpu slab of its own
      '  on cpu 3 {',
      '    kfree(a)', // a remote free: a's slab is CPU 0's
      '  }',
      '  kfree(b)',
      '}',
      'let c = kmalloc(192, GFP_KERNEL)', // back on CPU 0: its freelist
      '',
    ].join('\n'),
    'cpu.kmem',
  );
  assert.deepEqual(diagnostics, []);
  const s = scenario!;
  const stop = s.vm.run({ maxInstructions: 1e6 });
  assert.equal(stop.reason, 'end', JSON.stringify(stop.error));
  const ev = s.machine.events.slice(0).filter((e) => e.kind === EventKind.Kmalloc || e.kind === EventKind.Kfree);
  assert.deepEqual(
    ev.map((e) => [EventKind[e.kind], e.cpu, e.line]),
    [
      ['Kmalloc', 0, 2],
      ['Kmalloc', 2, 4],
      ['Kfree', 3, 6],
      ['Kfree', 2, 8],
      ['Kmalloc', 0, 10],
    ],
  );
  const cache = s.machine.slub.caches.find((c) => c.name === 'kmalloc-192')!;
  assert.notEqual(cache.cpuSlab[0], cache.cpuSlab[2], 'CPUs 0 and 2 each have a cpu slab');
  const v = Object.fromEntries(s.vm.locals(0).map((x) => [x.name, x.value]));
  // a went back to its slab's freelist (CPU 0 still owns the slab, its lockless freelist does not see it):
  // CPU 0's next object comes from its own freelist, after a.
  assert.notEqual(v.c, v.a);
});

test('on cpu errors: a CPU the machine does not have is KM4109; a missing cpu word is a syntax error', () => {
  const { scenario } = loadScenario('machine { cpus 2 }\non cpu 2 {\n  let p = kmalloc(8, GFP_KERNEL)\n}\n', 'x.kmem');
  const stop = scenario!.vm.run({ maxInstructions: 1e6 });
  assert.equal(stop.error?.code, 'KM4109');
  assert.match(stop.error!.message, /no CPU 2: the machine has CPUs 0\.\.1/);
  assert.deepEqual(
    diagnose('on 1 {\n}\n', 'x.kmem').map((d) => d.code),
    ['KM1003'],
  );
});

test('a return from inside an on cpu block leaves the block', () => {
  const { diagnostics, scenario } = loadScenario(
    [
      'machine { cpus 2 }',
      'proc on_one() {',
      '  on cpu 1 {',
      '    return kmalloc(64, GFP_KERNEL)',
      '  }',
      '}',
      'let p = on_one()',
      'let q = kmalloc(64, GFP_KERNEL)',
      '',
    ].join('\n'),
    'r.kmem',
  );
  assert.deepEqual(diagnostics, []);
  scenario!.vm.run({ maxInstructions: 1e6 });
  const ev = scenario!.machine.events.slice(0).filter((e) => e.kind === EventKind.Kmalloc);
  assert.deepEqual(
    ev.map((e) => e.cpu),
    [1, 0],
  );
});
