/*
 * print and log: the scenario's own output (stdout of kmem run, the debug console's program output) and the
 * kernel log (pr_info from kernel code: kmem run's stderr, the debug console).
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { loadScenario } from '../../engine/scenario';
import { diagnose } from '../../engine/lang/service';
import { Io, main } from '../../extension/cli/main';

test('print formats values as the debugger does (words above 2^53 in hex); log goes to the kernel log', () => {
  const { diagnostics, scenario } = loadScenario(
    [
      'let p = kmalloc(100, GFP_KERNEL)',
      'print "p =", p, "ksize", ksize(p)',
      'log "mydriver: probe done,", 3, "devices"',
      'print -1, 1 << 62, (1 << 63) + 5',
      '',
    ].join('\n'),
    'p.kmem',
  );
  assert.deepEqual(diagnostics, []);
  const s = scenario!;
  assert.equal(s.vm.run({ maxInstructions: 1e6 }).reason, 'end');
  assert.equal(s.machine.output.length, 2);
  assert.match(s.machine.output[0]!, /^p = 0xffff8880[0-9a-f]{8} ksize 128\n$/);
  assert.equal(s.machine.output[1], '-1 0x4000000000000000 0x8000000000000005\n');
  assert.deepEqual(s.machine.log, ['mydriver: probe done, 3 devices\n']);
});

test('kmem run: print on stdout before the summary, log on stderr', () => {
  let out = '';
  let err = '';
  const io: Io = {
    out: (t) => (out += t),
    err: (t) => (err += t),
    readFile: () => 'print "hello", 42\nlog "kernel says", 7\n',
  };
  assert.equal(main(['run', 'h.kmem'], io), 0);
  assert.match(out, /^hello 42\nh\.kmem: finished after 2 statements/);
  assert.equal(err, 'kernel says 7\n');
});

test('print errors: a string outside print is KM2014; more than 16 items is KM2023', () => {
  const codes = (src: string) => diagnose(src, 'x.kmem').map((d) => d.code);
  assert.deepEqual(codes('let s = "x"\n'), ['KM2014']);
  assert.deepEqual(codes(`print ${Array.from({ length: 17 }, (_, i) => i).join(', ')}\n`), ['KM2023']);
  assert.deepEqual(codes('print\n'), ['KM1006']);
});
