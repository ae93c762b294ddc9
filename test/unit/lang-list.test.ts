/*
 * Lists: pools of handles. `[]`, `push pool, v`, `pop pool`, `pool[i]`, `pool[i] = v`, `length(pool)` and
 * `for p in pool { }`: parsing, the checker's list/number types (KM2025, KM2026), the VM's behaviour and
 * its errors (KM4129..KM4131), reference semantics across procedures, checkpoints, and kmemleak's roots.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { loadScenario, LoadedScenario } from '../../engine/scenario';
import { diagnose } from '../../engine/lang/service';
import { parse } from '../../engine/lang/parser';
import { formatCell } from '../../engine/vm/values';

function load(source: string): LoadedScenario {
  const { diagnostics, scenario } = loadScenario(source, 'list.kmem');
  assert.deepEqual(diagnostics, [], 'the script must load without diagnostics');
  return scenario!;
}

function finalLocals(source: string): Record<string, string> {
  const s = load(source);
  const stop = s.vm.run({ maxInstructions: 1e9 });
  assert.equal(stop.reason, 'end', JSON.stringify(stop.error));
  return Object.fromEntries(s.vm.locals(0).map((v) => [v.name, formatCell(v.value)]));
}

function codes(source: string): string[] {
  return diagnose(source, 'list.kmem').map((d) => `${d.code}@${d.range.start.line + 1}:${d.range.start.character + 1}`);
}

function runtimeError(source: string): string {
  const s = load(source);
  const stop = s.vm.run({ maxInstructions: 1e9 });
  assert.equal(stop.reason, 'error');
  const e = stop.error!;
  return `${e.code}@${e.range.start.line + 1}:${e.range.start.character + 1}: ${e.message}`;
}

test('list syntax parses: literals, indexing, pop, push, item assignment, for-each', () => {
  const { diagnostics, script } = parse(
    [
      'let pool = [1, 2 + 3,',
      '  4]',
      'push pool, 7',
      'let x = pop pool',
      'pool[0] = pool[1] * 2',
      'for p in pool {',
      '}',
    ].join('\n'),
  );
  assert.deepEqual(diagnostics, []);
  assert.deepEqual(
    script.statements.map((s) => s.kind),
    ['let', 'push', 'let', 'index-assign', 'for-each'],
  );
});

test('push appends, pop takes the last, len counts, items read and write by index', () => {
  const v = finalLocals(
    [
      'let pool = []',
      'for i in 0..5 {',
      '  push pool, i * 10',
      '}',
      'let last = pop pool',
      'let n = length(pool)',
      'pool[1] = 99',
      'let second = pool[1]',
      'let three = [7, 8, 9]',
    ].join('\n'),
  );
  assert.equal(v.pool, '[0, 99, 20, 30]');
  assert.equal(v.last, '40');
  assert.equal(v.n, '4');
  assert.equal(v.second, '99');
  assert.equal(v.three, '[7, 8, 9]');
});

test('a pool of kmalloc handles: allocate, free in LIFO order, the slot comes back', () => {
  const v = finalLocals(
    [
      'let pool = []',
      'repeat 8 {',
      '  push pool, kmalloc(192, GFP_KERNEL)',
      '}',
      'let first = pool[0]',
      'while length(pool) > 0 {',
      '  kfree(pop pool)',
      '}',
      'let again = kmalloc(192, GFP_KERNEL)',
    ].join('\n'),
  );
  assert.equal(v.pool, '[]');
  // SLUB's per-CPU freelist is LIFO: the last object freed (pool[0]) is the next one handed out.
  assert.equal(v.again, v.first);
});

test('for p in pool visits every item, including items the body pushes', () => {
  const v = finalLocals(
    [
      'let pool = [1, 2, 3]',
      'let sum = 0',
      'let visits = 0',
      'for p in pool {',
      '  sum = sum + p',
      '  visits = visits + 1',
      '  if p == 2 {',
      '    push pool, 10',
      '  }',
      '}',
    ].join('\n'),
  );
  assert.equal(v.sum, '16');
  assert.equal(v.visits, '4');
});

test("lists pass by reference: a procedure fills the caller's pool and can return a new one", () => {
  const v = finalLocals(
    [
      'proc fill(pool, n) {',
      '  repeat n {',
      '    push pool, length(pool)',
      '  }',
      '}',
      'proc range_list(n) {',
      '  let out = []',
      '  for i in 0..n {',
      '    push out, i',
      '  }',
      '  return out',
      '}',
      'let a = []',
      'fill(a, 3)',
      'let b = range_list(4)',
      'let alias = a',
      'push alias, 42',
    ].join('\n'),
  );
  assert.equal(v.a, '[0, 1, 2, 42]');
  assert.equal(v.b, '[0, 1, 2, 3]');
});

test('the checker keeps lists out of arithmetic and numbers out of list operations', () => {
  assert.deepEqual(codes('let pool = []\nlet x = pool + 1'), ['KM2025@2:9']);
  assert.deepEqual(codes('let n = 3\npush n, 1'), ['KM2026@2:6']);
  assert.deepEqual(codes('let n = 3\nlet x = pop n'), ['KM2026@2:13']);
  assert.deepEqual(codes('let n = 3\nlet x = n[0]'), ['KM2026@2:9']);
  assert.deepEqual(codes('let pool = []\npool = 5'), ['KM2026@2:8']);
  assert.deepEqual(codes('let n = 0\nn = []'), ['KM2025@2:5']);
  assert.deepEqual(codes('let pool = []\nif pool {\n}'), ['KM2025@2:4']);
  assert.deepEqual(codes('let pool = []\npush pool, []'), ['KM2025@2:12']);
  assert.deepEqual(codes('let pool = []\nkfree(pool)'), ['KM2025@2:7']);
  assert.deepEqual(codes('proc f(pool) {\n  push pool, 1\n}\nf(3)'), ['KM2026@4:3']);
  assert.deepEqual(codes('proc f(n) {\n  return n + 1\n}\nlet pool = []\nf(pool)'), ['KM2025@5:3']);
  assert.deepEqual(codes('proc f(n) {\n  if n {\n    return []\n  }\n  return 1\n}'), ['KM2026@5:10']);
  assert.deepEqual(codes('let pool = [1]\nfor p in pool {\n  p = 2\n}'), ['KM2015@3:3']);
  assert.deepEqual(codes('let n = 1\nfor p in n {\n}'), ['KM2026@2:10']);
});

test('list errors at run time: pop of an empty list, an index outside the list, a list past its limit', () => {
  assert.equal(runtimeError('let pool = []\nlet x = pop pool'), 'KM4129@2:9: pop of an empty list');
  assert.equal(runtimeError('let pool = [1, 2]\nlet x = pool[2]'), 'KM4130@2:9: index 2 is outside the list (0..1)');
  assert.equal(runtimeError('let pool = []\npool[0] = 1'), 'KM4130@2:1: index 0 is outside the list (it is empty)');
  assert.equal(runtimeError('let pool = [1]\nlet x = pool[-1]'), 'KM4130@2:9: index -1 is outside the list (0..0)');
  assert.match(
    runtimeError('let pool = []\nwhile 1 {\n  push pool, 0\n}'),
    /^KM4131@3:3: push: the list already holds 1048576 items/,
  );
});

test('a checkpoint keeps its own copy of every list, and aliases stay aliases', () => {
  const s = load('let a = [1]\nlet b = a\npush a, 2\npush b, 3');
  s.vm.run({ maxInstructions: 1e9, stepStatements: 2 }); // standing at `push a, 2`
  const saved = s.vm.saveState();
  s.vm.run({ maxInstructions: 1e9 });
  assert.equal(formatCell(s.vm.locals(0)[0]!.value), '[1, 2, 3]');
  s.vm.restoreState(saved);
  assert.equal(formatCell(s.vm.locals(0)[0]!.value), '[1]');
  s.vm.run({ maxInstructions: 1e9 });
  const [a, b] = s.vm.locals(0);
  assert.equal(formatCell(a!.value), '[1, 2, 3]');
  assert.equal(a!.value, b!.value, 'a and b are still one list after the restore');
});

test('print shows a list; kmemleak counts what a list holds as referenced', () => {
  const v = finalLocals(
    [
      'machine { kmemleak y }',
      'let pool = []',
      'repeat 4 {',
      '  push pool, kzalloc(64, GFP_KERNEL)',
      '}',
      'print "held", length(pool), [1, 2]',
      'msleep(6000)',
      'let held = kmemleak_scan()',
      'pool = []',
      'let dropped = kmemleak_scan()',
    ].join('\n'),
  );
  assert.equal(v.held, '0', 'objects a list holds are reachable');
  assert.equal(v.dropped, '4', 'once the list is gone they are leaks');
});

test('print writes a list as [a, b, c]', () => {
  const s = load('let pool = [1, 0x10]\nprint "pool", pool, length(pool)');
  s.vm.run({ maxInstructions: 1e9 });
  assert.deepEqual(s.machine.output, ['pool [1, 16] 2\n']);
});
