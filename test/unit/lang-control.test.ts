/*
 * if / else if / else and while: parsing with recovery, scopes, the bytecode's behaviour, and where the
 * debugger stands (each header is a statement of its own).
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { loadScenario, LoadedScenario } from '../../engine/scenario';
import { diagnose } from '../../engine/lang/service';
import { formatCell as formatValue } from '../../engine/vm/values';

function load(source: string): LoadedScenario {
  const { diagnostics, scenario } = loadScenario(source, 'control.kmem');
  assert.deepEqual(diagnostics, [], 'the script must load without diagnostics');
  return scenario!;
}

function finalLocals(s: LoadedScenario): Record<string, string> {
  const stop = s.vm.run({ maxInstructions: 1e9 });
  assert.equal(stop.reason, 'end', JSON.stringify(stop.error));
  return Object.fromEntries(s.vm.locals(0).map((v) => [v.name, formatValue(v.value)]));
}

test('if / else if / else picks the first true branch', () => {
  const pick = (n: number) =>
    finalLocals(
      load(
        [
          `let n = ${n}`,
          'let r = 0',
          'if n < 10 {',
          '  r = 1',
          '} else if n < 100 {',
          '  r = 2',
          '} else if n == 100 {',
          '  r = 3',
          '} else {',
          '  r = 4',
          '}',
          '',
        ].join('\n'),
      ),
    ).r;
  assert.deepEqual([pick(5), pick(50), pick(100), pick(1000)], ['1', '2', '3', '4']);
});

test('while runs its body while the condition holds; the condition is evaluated before every round', () => {
  const locals = finalLocals(
    load(
      [
        'let c = kmem_cache_create("w", 256, 0, SLAB_NO_MERGE)',
        'let n = 0',
        'let p = kmem_cache_alloc(c, GFP_KERNEL)',
        'while p != 0 && n < 40 {',
        '  n = n + 1',
        '  p = kmem_cache_alloc(c, GFP_KERNEL)',
        '}',
        'let never = 0',
        'while 0 {',
        '  never = 1',
        '}',
        '',
      ].join('\n'),
    ),
  );
  assert.equal(locals.n, '40');
  assert.equal(locals.never, '0');
});

test('a variable declared in a branch is not visible after it (each branch is a scope)', () => {
  const d = diagnose(['if 1 {', '  let inner = 1', '}', 'let x = inner', ''].join('\n'), 'scope.kmem');
  assert.deepEqual(
    d.map((x) => `${x.code} ${x.range.start.line}:${x.range.start.character}`),
    ['KM2001 3:8'],
  );
});

test('the debugger stands on each header: if, else if, and while before every round', () => {
  const s = load(
    [
      'let i = 0',
      'while i < 2 {',
      '  i = i + 1',
      '}',
      'if i == 1 {',
      '  i = 5',
      '} else if i == 2 {',
      '  i = 6',
      '}',
      '',
    ].join('\n'),
  );
  const lines: number[] = [];
  for (;;) {
    const stop = s.vm.run({ maxInstructions: 1e9, stepStatements: 1 });
    if (stop.reason !== 'step') break;
    lines.push(stop.line);
  }
  // while(1) body(2) while body while(false) if(4) else-if(6) body(7)
  assert.deepEqual(lines, [1, 2, 1, 2, 1, 4, 6, 7]);
});

test('syntax errors: a stray else, a missing brace, a condition that is no expression', () => {
  const codes = (src: string) =>
    diagnose(src, 'bad.kmem').map((d) => `${d.code} ${d.range.start.line}:${d.range.start.character}`);
  // else on its own line after the closing brace is not part of the if.
  assert.deepEqual(codes('if 1 {\n  let a = 1\n}\nelse {\n  let b = 2\n}\n'), ['KM1010 3:0']);
  assert.deepEqual(codes('if 1\n  let a = 1\n'), ['KM1003 0:4']);
  assert.deepEqual(codes('while {\n}\nlet ok = 1\n'), ['KM1006 0:6']);
  // A broken condition costs one diagnostic: the block is skipped with the broken header.
  assert.deepEqual(codes('if 1 + {\n  let x = nope\n}\n'), ['KM1006 0:7']);
});
