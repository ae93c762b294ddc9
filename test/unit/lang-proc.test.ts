/*
 * Procedures: definition before use, parameters and locals in a frame of their own, globals, return
 * values, recursion and its bound, the call stack and per-frame variables the debugger shows, stepping
 * over, into and out of calls, and checkpoints taken inside a call.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { loadScenario, LoadedScenario } from '../../engine/scenario';
import { diagnose } from '../../engine/lang/service';
import { formatCell as formatValue } from '../../engine/vm/values';

function load(source: string): LoadedScenario {
  const { diagnostics, scenario } = loadScenario(source, 'procs.kmem');
  assert.deepEqual(diagnostics, [], 'the script must load without diagnostics');
  return scenario!;
}

function locals(s: LoadedScenario, frame = 0): Record<string, string> {
  return Object.fromEntries(s.vm.locals(frame).map((v) => [v.name, formatValue(v.value)]));
}

function codes(source: string): string[] {
  return diagnose(source, 'bad.kmem').map((d) => `${d.code} ${d.range.start.line}:${d.range.start.character}`);
}

const RX = [
  'let skb = kmem_cache_create("skbuff_head", 232, 0, SLAB_HWCACHE_ALIGN)', // 1
  'let received = 0', // 2
  'proc rx_packet(len) {', // 3
  '  let head = kmem_cache_alloc(skb, GFP_ATOMIC)', // 4
  '  let data = kmalloc(len, GFP_ATOMIC)', // 5
  '  received = received + 1', // 6
  '  return data', // 7
  '}', // 8
  'proc fib(n) {', // 9
  '  if n < 2 {', // 10
  '    return n', // 11
  '  }', // 12
  '  return fib(n - 1) + fib(n - 2)', // 13
  '}', // 14
  'let a = rx_packet(100)', // 15
  'let b = rx_packet(2000)', // 16
  'let f = fib(15)', // 17
  '',
].join('\n');

test('procedures: parameters, locals, globals, return values and recursion', () => {
  const s = load(RX);
  const stop = s.vm.run({ maxInstructions: 1e9 });
  assert.equal(stop.reason, 'end', JSON.stringify(stop.error));
  const v = locals(s);
  assert.equal(v.received, '2');
  assert.equal(v.f, '610');
  // a and b are kmalloc-128 and kmalloc-2k objects; the caller got the procedure's value.
  assert.equal(
    s.machine.slub.cacheOf(s.machine.phys(s.vm.locals(0).find((x) => x.name === 'a')!.value as bigint)!)?.name,
    'kmalloc-128',
  );
  assert.equal(
    s.machine.slub.cacheOf(s.machine.phys(s.vm.locals(0).find((x) => x.name === 'b')!.value as bigint)!)?.name,
    'kmalloc-2k',
  );
  assert.equal(s.vm.callDepth, 0);
});

test("the call stack and each frame's variables at a stop inside a procedure", () => {
  const s = load(RX);
  const stop = s.vm.run({ maxInstructions: 1e9, breakAtLine: (line) => line === 5 }); // `received = received + 1`
  assert.equal(stop.reason, 'breakpoint');
  assert.deepEqual(
    s.vm.frames().map((f) => `${f.name}:${f.line + 1}:${f.character + 1}`),
    ['rx_packet:6:3', 'procs:15:9'],
  );
  assert.equal(s.vm.callDepth, 1);
  assert.deepEqual(Object.keys(locals(s, 0)), ['len', 'head', 'data']);
  assert.equal(locals(s, 0).len, '100');
  // The top-level frame, at its call: a is not assigned yet.
  assert.deepEqual(Object.keys(locals(s, 1)), ['skb', 'received']);
  assert.deepEqual(s.vm.locals(2), []);
});

test('step over a call stays in the frame; step in enters it; step out returns to the caller', () => {
  const s = load(RX);
  const line = () => s.vm.frames()[0]!.line + 1;
  const step = (depth?: number) => s.vm.run({ maxInstructions: 1e9, stepStatements: 1, stepDepth: depth });
  s.vm.run({ maxInstructions: 1e9, breakAtLine: (l) => l === 14 }); // at `let a = rx_packet(100)`
  assert.equal(line(), 15);
  step(s.vm.callDepth); // over
  assert.equal(line(), 16);
  step(); // into
  assert.deepEqual([line(), s.vm.callDepth], [4, 1]);
  step(s.vm.callDepth); // over, inside the procedure
  assert.equal(line(), 5);
  step(s.vm.callDepth - 1); // out: the next statement of the caller
  assert.deepEqual([line(), s.vm.callDepth], [17, 0]);
  assert.equal(locals(s).received, '2');
});

test('a checkpoint inside a call restores the frames', () => {
  const s = load(RX);
  s.vm.run({ maxInstructions: 1e9, breakAtLine: (l) => l === 10 }); // `return n` deep in fib
  const depth = s.vm.callDepth;
  assert.ok(depth >= 2);
  const saved = s.vm.saveState();
  const frames = s.vm.frames();
  s.vm.run({ maxInstructions: 1e9 });
  assert.equal(s.vm.status, 'done');
  s.vm.restoreState(saved);
  assert.equal(s.vm.callDepth, depth);
  assert.deepEqual(s.vm.frames(), frames);
});

test('runaway recursion stops with KM4108 at the call', () => {
  const s = load('proc down(n) {\n  down(n + 1)\n}\ndown(0)\n');
  const stop = s.vm.run({ maxInstructions: 1e9 });
  assert.equal(stop.reason, 'error');
  assert.equal(stop.error?.code, 'KM4108');
  assert.deepEqual(stop.error?.range.start, { line: 1, character: 2 });
});

test('check errors: placement, names, arity, values, returns', () => {
  assert.deepEqual(codes('repeat 2 {\n  proc p() {\n  }\n}\n'), ['KM2018 1:2']);
  assert.deepEqual(codes('proc kmalloc(a) {\n}\n'), ['KM2010 0:5']);
  assert.deepEqual(codes('let p = 1\nproc p() {\n}\n'), ['KM2002 1:5']);
  assert.deepEqual(codes('proc p() {\n}\nlet p = 1\n'), ['KM2002 2:4']);
  assert.deepEqual(codes('proc p(a) {\n}\np(1, 2)\n'), ['KM2004 2:0']);
  assert.deepEqual(codes('proc p() {\n}\nlet x = p()\n'), ['KM2012 2:8']);
  assert.deepEqual(codes('proc p(a) {\n  if a {\n    return 1\n  }\n  return\n}\n'), ['KM2019 4:2']);
  assert.deepEqual(codes('return 3\n'), ['KM2020 0:0']);
  assert.deepEqual(codes('let y = later()\nproc later() {\n  return 1\n}\n'), ['KM2003 0:8']);
  assert.match(
    diagnose('let y = later()\nproc later() {\n  return 1\n}\n', 'x.kmem')[0]!.message,
    /defined at line 2, after this call/,
  );
  // A procedure sees the globals declared before it, not those declared after, nor the caller's locals.
  assert.deepEqual(codes('proc p() {\n  return g\n}\nlet g = 1\n'), ['KM2001 1:9']);
  assert.deepEqual(codes('proc p() {\n  return v\n}\nrepeat 1 {\n  let v = 2\n  let w = p()\n}\n'), ['KM2001 1:9']);
  assert.deepEqual(codes('proc p(a, a) {\n}\n'), ['KM2002 0:10']);
});

test('a procedure as a slab constructor: called on every object of each new slab, never on allocation', () => {
  const s = load(
    [
      'let constructed = 0',
      'proc init_once(obj) {',
      '  write64(obj, 0xdead_beef)', // a field the object keeps across free and reuse (type-stable memory)
      '  constructed = constructed + 1',
      '}',
      'let foo = kmem_cache_create("foo", 100, 0, 0, init_once)',
      'let a = kmem_cache_alloc(foo, GFP_KERNEL)',
      'let first = read64(a)',
      'let after_first = constructed',
      'write64(a, 7)',
      'kmem_cache_free(foo, a)',
      'let b = kmem_cache_alloc(foo, GFP_KERNEL)',
      'let again = read64(b)',
      '',
    ].join('\n'),
  );
  const stop = s.vm.run({ maxInstructions: 1e9 });
  assert.equal(stop.reason, 'end', JSON.stringify(stop.error));
  const v = locals(s);
  // 100 bytes -> 104 with the free pointer after the object (a constructor forbids overlaying it): 112-byte
  // slots, 36 in a page: the constructor ran 36 times when the first slab was made, and not again.
  assert.equal(v.after_first, '36');
  assert.equal(v.constructed, '36');
  assert.equal(v.first, String(0xdeadbeef));
  // The object went back as the scenario left it, and came out so: the constructor does not run again.
  assert.equal(v.b, v.a);
  assert.equal(v.again, '7');
  assert.equal(s.machine.slub.caches.find((c) => c.name === 'foo')!.geometry.size, 112);
  // The vm is back at the top level after the callbacks: the call stack is one frame.
  assert.equal(s.vm.callDepth, 0);
});

test('constructor errors: a bad callback is a check error; a failing constructor stops the allocation', () => {
  assert.deepEqual(codes('let c = kmem_cache_create("x", 64, 0, 0, nope)\n'), ['KM2021 0:41']);
  assert.deepEqual(codes('proc two(a, b) {\n}\nlet c = kmem_cache_create("x", 64, 0, 0, two)\n'), ['KM2021 2:41']);
  assert.deepEqual(codes('let c = kmem_cache_create("x", 64)\n'), ['KM2004 0:8']);
  const s = load(
    [
      'proc bad_ctor(obj) {',
      '  kfree(obj + 8)', // not an object's start: KM4003
      '}',
      'let c = kmem_cache_create("x", 64, 0, 0, bad_ctor)',
      'let a = kmem_cache_alloc(c, GFP_KERNEL)',
      '',
    ].join('\n'),
  );
  const stop = s.vm.run({ maxInstructions: 1e9 });
  assert.equal(stop.reason, 'error');
  assert.equal(stop.error?.code, 'KM4003');
  assert.equal(stop.line, 4, 'reported at the allocation that made the slab');
  assert.equal(s.vm.callDepth, 0);
});
