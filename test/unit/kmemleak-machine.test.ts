/*
 * kmemleak on the machine (engine/mm/kmemleak_checks.ts): what mm/kmemleak.c of Linux 6.12 tracks (slab
 * objects with their cache's object_size, large kmallocs with the requested size, vmalloc areas), its roots
 * (the scenario's live values, kmemleak_not_leak() blocks), the 5-second minimum age, the checksum rule (a
 * leak whose bytes changed is reported one scan later), report-once, and the end-of-run scans.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import { loadScenario } from '../../engine/scenario';
import { EventKind } from '../../engine/trace/events';
import { debugfsFileText } from '../../engine/inspect/procfs';
import type { Machine } from '../../engine/mm/machine';

interface Run {
  log: string;
  output: string;
  machine: Machine;
  /** Sizes of the blocks reported, in report order. */
  leaks: number[];
  values: Record<string, unknown>;
  stop: string;
}

function run(lines: string[], machine = 'machine { kmemleak y }'): Run {
  const { diagnostics, scenario } = loadScenario(`${machine}\n${lines.join('\n')}\n`, 'leak.kmem');
  assert.deepEqual(diagnostics, []);
  const stop = scenario!.vm.run({ maxInstructions: 1e7 });
  const m = scenario!.machine;
  const leaks: number[] = [];
  for (let i = 0; i < m.events.length; i++) {
    const e = m.events.get(i);
    if (e.kind === EventKind.Kmemleak) leaks.push(e.size);
  }
  return {
    log: m.log.join(''),
    output: m.output.join(''),
    machine: m,
    leaks,
    values: Object.fromEntries(scenario!.vm.locals(0).map((v) => [v.name, v.value])),
    stop: stop.reason === 'error' ? `${stop.error?.code}` : stop.reason,
  };
}

test('a lost pointer is a leak; one stored in a live object is not (the scan follows memory)', () => {
  const r = run([
    'let keep = kmalloc(64, GFP_KERNEL)',
    'let p = kmalloc(100, GFP_KERNEL)', // kmalloc-128: kmemleak tracks object_size, 128
    'write64(keep + 8, p)',
    'p = 0',
    'let lost = kmalloc(32, GFP_KERNEL)',
    'memset(lost, 0x41, 32)',
    'lost = 0',
  ]);
  // Only the 32-byte block is unreachable; the end-of-run scans report it (its bytes changed after
  // allocation, so the first of the two scans only records its checksum).
  assert.deepEqual(r.leaks, [32]);
  assert.match(
    r.log,
    /^kmemleak: unreferenced object 0xffff8880[0-9a-f]{8} \(size 32\):\nkmemleak: {3}comm "kmem", pid 1, jiffies 4294667296\nkmemleak: {3}hex dump \(first 32 bytes\):\nkmemleak: {5}(41 ){15}41 {2}A{16}\n/m,
  );
  assert.match(
    r.log,
    /kmemleak: {3}backtrace \(crc b43b3ab3\):\nkmemleak: {5}__kmalloc_noprof\+0x0\/0x0\nkmemleak: {5}line_6\+0x0\/0x1 \[scenario\]\n/,
  );
  assert.match(r.log, /^kmemleak: 1 new suspected memory leaks \(see \/sys\/kernel\/debug\/kmemleak\)\n/m);
  assert.match(debugfsFileText(r.machine, 'kmemleak'), /^unreferenced object 0x.* \(size 32\):\n {2}comm "kmem"/);
});

test('the minimum age: a scan reports nothing younger than 5 s; msleep lets time pass', () => {
  const r = run([
    'proc leak() {',
    '  let tmp = kzalloc(200, GFP_KERNEL)',
    '}',
    'leak()',
    'let young = kmemleak_scan()',
    'msleep(4999)',
    'let still = kmemleak_scan()',
    'msleep(1)',
    'let now = kmemleak_scan()',
    'let again = kmemleak_scan()',
  ]);
  // A zeroed block's checksum is 0 from the start: reported by the first scan that finds it old enough.
  assert.deepEqual([r.values.young, r.values.still, r.values.now, r.values.again], [0, 0, 1, 0]);
  assert.deepEqual(r.leaks, [256]); // reported once, even by the end-of-run scans
});

test('the checksum rule: a leak written after allocation is reported by the second scan', () => {
  const r = run([
    'let p = kmalloc(64, GFP_KERNEL)',
    'write64(p, 0x1234)',
    'p = 0',
    'msleep(10000)',
    'let first = kmemleak_scan()',
    'let second = kmemleak_scan()',
  ]);
  assert.deepEqual([r.values.first, r.values.second], [0, 1]);
});

test('chains and cycles: root -> A -> B keeps both; an unreachable cycle leaks both', () => {
  const r = run([
    'let a = kmalloc(64, GFP_KERNEL)',
    'let b = kmalloc(64, GFP_KERNEL)',
    'write64(a, b)',
    'b = 0',
    'let c = kmalloc(96, GFP_KERNEL)',
    'let d = kmalloc(96, GFP_KERNEL)',
    'write64(c + 16, d)', // an interior word pointing at d's start
    'write64(d, c + 40)', // a pointer into c's middle counts too
    'c = 0',
    'd = 0',
  ]);
  assert.deepEqual(r.leaks, [96, 96]);
});

test('kmemleak_not_leak() makes a root of a block; kmemleak_ignore() hides one; frees forget', () => {
  const r = run([
    'let table = kmalloc(64, GFP_KERNEL)',
    'let entry = kmalloc(32, GFP_KERNEL)',
    'write64(table, entry)',
    'kmemleak_not_leak(table)',
    'table = 0',
    'entry = 0',
    'let hidden = kmalloc(16, GFP_KERNEL)',
    'kmemleak_ignore(hidden)',
    'hidden = 0',
    'let freed = kmalloc(16, GFP_KERNEL)',
    'kfree(freed)',
    'freed = 0',
    'kmemleak_ignore(0xffff888000001000)',
  ]);
  assert.deepEqual(r.leaks, []);
  assert.match(r.log, /kmemleak: Trying to color unknown object at 0xffff888000001000 as black\n/);
});

test('large kmallocs and vmalloc areas are tracked with the size asked for', () => {
  const r = run([
    'let big = kmalloc(10000, GFP_KERNEL)',
    'big = 0',
    'let v = vmalloc(20000)',
    'v = 0',
    'let w = vmalloc(4096)',
    'vfree(w)',
    'w = 0',
  ]);
  assert.deepEqual(
    r.leaks.sort((x, y) => x - y),
    [10000, 20000],
  );
});

test('expect kmemleak { } around the statement whose scan reports: the run is clean', () => {
  const r = run([
    'let p = kzalloc(64, GFP_KERNEL)',
    'p = 0',
    'msleep(6000)',
    'expect kmemleak {',
    '  let n = kmemleak_scan()',
    '}',
  ]);
  assert.equal(r.stop, 'end');
  assert.equal(r.machine.reportCount(EventKind.Kmemleak), 1);
});

test('without kmemleak: nothing is tracked, kmemleak_scan() is KM4122, the marks do nothing', () => {
  const r = run(['let p = kmalloc(64, GFP_KERNEL)', 'kmemleak_not_leak(p)', 'p = 0', 'let n = kmemleak_scan()'], '');
  assert.equal(r.stop, 'KM4122');
  assert.equal(r.machine.kmemleak, undefined);
});

test('no false positives: random programs that keep every pointer in a variable or in memory leak nothing', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 8, max: 9000 }), fc.integer({ min: 0, max: 3 })), { maxLength: 40 }),
      (ops) => {
        const lines = ['let hold = kmalloc(4096, GFP_KERNEL)', 'let s = 0'];
        ops.forEach(([size, how], i) => {
          lines.push(`let p${i} = kmalloc(${size}, GFP_KERNEL)`);
          if (how === 1) lines.push(`kfree(p${i})`, `p${i} = 0`);
          if (how === 2) lines.push(`write64(hold + ${(i % 512) * 8}, p${i})`, `p${i} = 0`);
          if (how === 3) lines.push('msleep(1000)', 's = kmemleak_scan()');
        });
        // Slots of hold overwritten by a later pointer lose the earlier one: keep them distinct.
        if (ops.length > 512) return true;
        const r = run(lines);
        return r.leaks.length === 0 && r.stop === 'end';
      },
    ),
    { numRuns: 25 },
  );
});

test("a live task's kernel stack is a root: a pointer kernel code left there keeps the block", () => {
  const { scenario } = loadScenario(
    'machine { kmemleak y }\nlet t = spawn("worker")\nlet p = kzalloc(64, GFP_KERNEL)\n',
    'stack.kmem',
  );
  const vm = scenario!.vm;
  const m = scenario!.machine;
  vm.run({ maxInstructions: 1e6 });
  const task = [...m.tasks.tasks.values()].find((t) => t.comm === 'worker')!;
  const p = vm.locals(0).find((v) => v.name === 'p')!.value as bigint;
  // A local of kernel code running for the task: the pointer, 8 bytes into its stack.
  const phys = m.kernelPt.translate(task.stack.addr + 8n);
  const word = new Uint8Array(8);
  new DataView(word.buffer).setBigUint64(0, p, true);
  m.storeMemory(phys, word);
  assert.equal(m.kmemleak!.scan([], m.jiffies + 10_000), 0);
  // Without the stack word (and without the variable) the block is unreferenced.
  m.storeMemory(phys, new Uint8Array(8));
  assert.equal(m.kmemleak!.scan([], m.jiffies + 10_000), 1);
});
