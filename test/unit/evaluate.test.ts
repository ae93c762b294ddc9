/*
 * Debugger expressions (engine/vm/evaluate.ts): a paused scenario's variables, constants, the VM's own
 * arithmetic, list indexing and length, raw loads and the read-only counters; everything that would change
 * the machine is refused with a reason, and looking never makes a detector report.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { loadScenario } from '../../engine/scenario';
import { evaluateExpression } from '../../engine/vm/evaluate';
import { formatCell } from '../../engine/vm/values';
import fc from 'fast-check';

function paused(source: string) {
  const { diagnostics, scenario } = loadScenario(source, 'eval.kmem');
  assert.deepEqual(diagnostics, []);
  const stop = scenario!.vm.run({ maxInstructions: 1e8 });
  assert.equal(stop.reason, 'end', JSON.stringify(stop.error));
  const vars = scenario!.vm.locals(0);
  return (text: string) => {
    const r = evaluateExpression(scenario!.machine, vars, text);
    if (r === undefined) return 'not an expression';
    return 'error' in r ? `error: ${r.error}` : formatCell(r.value);
  };
}

test('variables, constants, arithmetic, lists, loads and counters evaluate as the scenario would', () => {
  const ev = paused(
    [
      'machine { kasan y }',
      'let p = kmalloc(100, GFP_KERNEL)',
      'write64(p, 0x1122334455667788)',
      'let pool = [p, 0, 7]',
      'kfree(pool[2] * 0 + 0)',
    ].join('\n'),
  );
  assert.match(ev('p'), /^0xffff8880[0-9a-f]{8}$/);
  assert.equal(ev('p + 8 - p'), '8');
  assert.equal(ev('pool[2] * 6'), '42');
  assert.equal(ev('length(pool)'), '3');
  assert.equal(ev('[1, 2 + 3]'), '[1, 5]');
  assert.equal(ev('read64(p)'), '0x1122334455667788');
  assert.equal(ev('read8(p)'), '136');
  assert.match(ev('read64(p + 96)'), /^(\d+|0x[0-9a-f]+)$/, 'past the 100 bytes: read, no KASAN report');
  assert.equal(ev('GFP_KERNEL == 0xcc0'), '1');
  assert.equal(ev('slab_num_slabs("kmalloc-128") >= 1'), '1');
  assert.equal(ev('current_pid()'), '1');
});

test('what would change the machine, or stop the scenario, is refused with a reason', () => {
  const ev = paused('let pool = [1, 2]\nlet n = 0');
  assert.equal(
    ev('kmalloc(64, GFP_KERNEL)'),
    'error: kmalloc() would run scenario code or change the machine; the debugger only reads',
  );
  assert.match(ev('pop pool'), /^error: pop changes the list/);
  assert.equal(ev('pool[2]'), 'error: index 2 is outside the list (length 2)');
  assert.equal(ev('pool + 1'), "error: 'pool' is a list, not a number");
  assert.equal(ev('n[0]'), "error: 'n' is a number, not a list");
  assert.equal(ev('1 / n'), 'error: division by zero');
  assert.equal(ev('nope'), "error: 'nope' is not a variable in scope here");
  assert.equal(ev('read64(16)'), "error: 16 is not a direct-map address of this machine's RAM");
  assert.equal(
    ev('slab_num_objs("no-such")'),
    "error: slab_num_objs: no slab cache named 'no-such' (see /proc/slabinfo)",
  );
  assert.equal(ev('pagewalk 0x10'), 'not an expression');
  assert.equal(ev('1 +'), 'not an expression');
});

test('looking at freed memory makes no KASAN report', () => {
  const { scenario } = loadScenario('machine { kasan y }\nlet p = kmalloc(64, GFP_KERNEL)\nkfree(p)', 'uaf.kmem');
  scenario!.vm.run({ maxInstructions: 1e6 });
  const r = evaluateExpression(scenario!.machine, scenario!.vm.locals(0), 'read64(p)');
  assert.ok(r && 'value' in r);
  assert.equal(scenario!.machine.kasan!.reports, 0);
});

test('evaluateExpression never throws, on arbitrary text and on token soup', () => {
  const { scenario } = loadScenario('let p = kmalloc(64, GFP_KERNEL)\nlet pool = [p, 1]\nlet n = 3', 'fuzz.kmem');
  scenario!.vm.run({ maxInstructions: 1e6 });
  const vars = scenario!.vm.locals(0);
  const eventsBefore = scenario!.machine.events.length;
  const words = [
    'p',
    'pool',
    'n',
    '[',
    ']',
    '(',
    ')',
    ',',
    '+',
    '-',
    '*',
    '/',
    '%',
    '<<',
    '>>',
    '&&',
    '!',
    '~',
    '0',
    '1',
    '64',
    '0xffff888000000000',
    '99999999999999999999',
    'read8',
    'read64',
    'length',
    'pop',
    'kmalloc',
    'nr_free',
    'slab_num_objs',
    '"kmalloc-64"',
    'GFP_KERNEL',
    'nope',
    '..',
    '=',
    ' ',
    '\n',
  ];
  const seed = Number(process.env.FC_SEED ?? 4242);
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string({ maxLength: 40 }),
        fc.array(fc.constantFrom(...words), { maxLength: 12 }).map((w) => w.join('')),
      ),
      (text) => {
        const r = evaluateExpression(scenario!.machine, vars, text);
        if (r !== undefined) assert.ok('value' in r || typeof r.error === 'string');
      },
    ),
    { seed, numRuns: 2000 },
  );
  assert.equal(scenario!.machine.events.length, eventsBefore, 'evaluating changed nothing on the machine');
});
