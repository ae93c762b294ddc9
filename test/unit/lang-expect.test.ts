/*
 * Expectations: `expect cond` stops the scenario with KM5001 when cond is 0; `expect slub_debug { ... }`
 * requires the block to make a SLUB debug report (KM5002 otherwise) and marks the reports it makes as
 * expected, so teaching material can show a bug and `kmem run` still exits 0.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { loadScenario } from '../../engine/scenario';
import { diagnose } from '../../engine/lang/service';
import { EventKind } from '../../engine/trace/events';
import { Io, main } from '../../extension/cli/main';

function run(lines: string[]) {
  const { diagnostics, scenario } = loadScenario(lines.join('\n') + '\n', 'expect.kmem');
  assert.deepEqual(diagnostics, []);
  const stop = scenario!.vm.run({ maxInstructions: 1e7 });
  return { s: scenario!, stop };
}

function cli(text: string): { code: number; err: string } {
  let err = '';
  const io: Io = { out: () => undefined, err: (t) => (err += t), readFile: () => text };
  return { code: main(['run', 'e.kmem'], io), err };
}

test('expect cond: true goes on, 0 stops with KM5001 at the condition', () => {
  const ok = run(['let p = kmalloc(64, GFP_KERNEL)', 'expect ksize(p) == 64', 'expect p != 0 && ksize(p) > 8']);
  assert.equal(ok.stop.reason, 'end');
  const bad = run(['let p = kmalloc(100, GFP_KERNEL)', 'expect ksize(p) == 100', 'kfree(p)']);
  assert.equal(bad.stop.reason, 'error');
  assert.equal(bad.stop.error?.code, 'KM5001');
  assert.deepEqual(bad.stop.error?.range.start, { line: 1, character: 7 });
});

test('expect slub_debug { }: the reports of the block are expected; a block without one is KM5002', () => {
  const text = [
    'machine { slab_debug "FZPU" }',
    'let p = kmalloc(50, GFP_KERNEL)',
    'memset(p, 0x41, 51)',
    'expect slub_debug {',
    '  kfree(p)',
    '}',
    '',
  ].join('\n');
  const r = cli(text);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /BUG kmalloc-64 \(Not tainted\): kmalloc Redzone overwritten/);
  const { s } = run(text.split('\n'));
  assert.equal(s.vm.expectedReports(EventKind.SlubDebug), 1);
  // A report outside the block is still a finding.
  assert.equal(cli(text + 'let q = kmalloc(64, GFP_KERNEL)\nkfree(q)\nkfree(q)\n').code, 1);
  // A block that makes no report fails.
  const none = run([
    'machine { slab_debug "FZPU" }',
    'let p = kmalloc(50, GFP_KERNEL)',
    'expect slub_debug {',
    '  kfree(p)',
    '}',
  ]);
  assert.equal(none.stop.error?.code, 'KM5002');
  assert.match(none.stop.error!.message, /expected a slub_debug report from this block; none came/);
  assert.deepEqual(none.stop.error?.range.start, { line: 2, character: 0 });
});

test('expect errors: an unknown report kind, a broken condition', () => {
  const codes = (src: string) =>
    diagnose(src, 'x.kmem').map((d) => `${d.code} ${d.range.start.line}:${d.range.start.character}`);
  assert.deepEqual(codes('expect ubsan {\n  let x = 1\n}\n'), ['KM2022 0:7']);
  assert.deepEqual(codes('expect\n'), ['KM1006 0:6']);
});
