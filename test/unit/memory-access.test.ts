/*
 * Memory access from scenarios (engine/vm/calls_memory.ts, Machine.storeMemory): loads and stores, memset
 * and memcpy; stores into free objects rewire or corrupt their freelists as the kernel's would be (freelist
 * poisoning hands out an address of the scenario's choosing; a pointer that does not decode oopses); SLUB
 * debugging catches overflows into red zones on free and writes into freed objects on the next allocation.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { LoadedScenario, loadScenario } from '../../engine/scenario';
import { EventKind } from '../../engine/trace/events';
import { main, Io } from '../../extension/cli/main';

function run(lines: string[]): { s: LoadedScenario; stop: ReturnType<LoadedScenario['vm']['run']> } {
  const { diagnostics, scenario } = loadScenario(lines.join('\n') + '\n', 'mem.kmem');
  assert.deepEqual(diagnostics, []);
  const stop = scenario!.vm.run({ maxInstructions: 1e7 });
  return { s: scenario!, stop };
}

function vars(s: LoadedScenario): Record<string, bigint | number> {
  return Object.fromEntries(s.vm.locals(0).map((v) => [v.name, v.value as number | bigint]));
}

test('stores and loads of every width, memset and memcpy (little-endian)', () => {
  const { s, stop } = run([
    'let p = kzalloc(64, GFP_KERNEL)',
    'write64(p, 0x1122334455667788)',
    'write16(p + 8, 0xabcd)',
    'memset(p + 16, 0x5a, 4)',
    'let q = kmalloc(64, GFP_KERNEL)',
    'memcpy(q, p, 24)',
    'let w = read64(q)',
    'let b = read8(q + 1)',
    'let h = read16(q + 8)',
    'let d = read32(q + 16)',
    'write8(q + 1, 0x1ff)', // the low 8 bits
    'let b2 = read8(q + 1)',
  ]);
  assert.equal(stop.reason, 'end', JSON.stringify(stop.error));
  const v = vars(s);
  assert.deepEqual([v.w, v.b, v.h, v.d, v.b2], [0x1122334455667788n, 0x77, 0xabcd, 0x5a5a5a5a, 0xff]);
});

test('freelist poisoning: a stored free pointer makes kmalloc return the address the scenario chose', () => {
  // Without hardening the free pointer is the plain address; kmalloc-64 keeps it at offset 32.
  const { s, stop } = run([
    'machine { slab_freelist_hardened n }',
    'let target = kmalloc(4096, GFP_KERNEL)',
    'let a = kmalloc(64, GFP_KERNEL)',
    'let b = kmalloc(64, GFP_KERNEL)',
    'kfree(a)',
    'kfree(b)', // the CPU freelist: b -> a
    'write64(b + 32, target)', // b's next is now target
    'let x = kmalloc(64, GFP_KERNEL)', // b
    'let y = kmalloc(64, GFP_KERNEL)', // target: the allocator believes it is a free kmalloc-64 object
  ]);
  assert.equal(stop.reason, 'end', JSON.stringify(stop.error));
  const v = vars(s);
  assert.equal(v.x, v.b);
  assert.equal(v.y, v.target);
  // The kmalloc event says so too.
  const last = s.machine.events
    .slice(0)
    .filter((e) => e.kind === EventKind.Kmalloc)
    .at(-1)!;
  assert.equal(s.machine.virt(last.addr), v.target);
});

test('a hardened free pointer rewired to another free object of the slab is followed; garbage oopses', () => {
  // Hardened (the default): a plain address written over the word decodes to garbage: the allocation that
  // takes the object hands out the object, and the next one reads the garbage pointer and faults.
  const garbage = run([
    'let a = kmalloc(64, GFP_KERNEL)',
    'kfree(a)',
    'write64(a + 32, 0x4141414141414141)',
    'let x = kmalloc(64, GFP_KERNEL)',
    'let y = kmalloc(64, GFP_KERNEL)',
  ]);
  assert.equal(garbage.stop.reason, 'error');
  assert.equal(garbage.stop.error?.code, 'KM4013');
  assert.equal(garbage.stop.line, 4);
  assert.match(garbage.stop.error!.report!, /^Oops: general protection fault, probably for non-canonical address 0x/);
  assert.equal(vars(garbage.s).x, vars(garbage.s).a);
  // memcpy of one free object's word onto another's copies a word encoded for the other address: garbage too.
  // Copying a *read* of the word and storing it back in place keeps the freelist intact.
  const same = run([
    'let a = kmalloc(64, GFP_KERNEL)',
    'let b = kmalloc(64, GFP_KERNEL)',
    'kfree(a)',
    'kfree(b)',
    'let word = read64(b + 32)',
    'write64(b + 32, word)',
    'let x = kmalloc(64, GFP_KERNEL)',
    'let y = kmalloc(64, GFP_KERNEL)',
  ]);
  assert.equal(same.stop.reason, 'end');
  assert.deepEqual([vars(same.s).x, vars(same.s).y], [vars(same.s).b, vars(same.s).a]);
});

test('SLUB debugging catches a one-byte overflow on free and a use-after-free write on the next allocation', () => {
  const overflow = run([
    'machine { slab_debug "FZPU" }',
    'let p = kmalloc(50, GFP_KERNEL)',
    'write8(p + 50, 0)',
    'kfree(p)',
  ]);
  assert.equal(overflow.stop.reason, 'end');
  const log = overflow.s.machine.log.join('');
  assert.match(log, /BUG kmalloc-64 \(Not tainted\): kmalloc Redzone overwritten\n/);
  assert.match(log, /@offset=114\. First byte 0x0 instead of 0xcc\n/);
  assert.match(log, /FIX kmalloc-64: Object at 0xffff8880[0-9a-f]{8} not freed\n/);
  const uaf = run([
    'machine { slab_debug "FZPU" }',
    'let p = kmalloc(64, GFP_KERNEL)',
    'kfree(p)',
    'write64(p + 8, 0x4242)',
    'let q = kmalloc(64, GFP_KERNEL)',
  ]);
  const ulog = uaf.s.machine.log.join('');
  assert.match(ulog, /BUG kmalloc-64 \(Not tainted\): Poison overwritten\n/);
  assert.match(ulog, /First byte 0x42 instead of 0x6b\n/);
  assert.match(ulog, /FIX kmalloc-64: Marking all objects used\n/);
  assert.notEqual(vars(uaf.s).q, vars(uaf.s).p, 'the slab was given up: q comes from a new one');
  assert.equal(uaf.s.machine.events.slice(0).filter((e) => e.kind === EventKind.SlubDebug).length, 1);
  // kmem run exits 1 on a report, though the scenario ran to its end.
  let err = '';
  const io: Io = {
    out: () => undefined,
    err: (t) => (err += t),
    readFile: () => 'machine { slab_debug "FZPU" }\nlet p = kmalloc(50, GFP_KERNEL)\nwrite8(p + 50, 0)\nkfree(p)\n',
  };
  assert.equal(main(['run', 'x.kmem'], io), 1);
  assert.match(err, /kmem: SLUB debugging reported 1 bug \(the reports are above\)\n$/);
});

test('stores outside the direct map, and lengths out of range, are coded errors', () => {
  assert.equal(run(['write64(0x1000, 1)']).stop.error?.code, 'KM4120');
  assert.equal(run(['let p = kmalloc(8, GFP_KERNEL)', 'memset(p, 0, -1)']).stop.error?.code, 'KM4120');
  assert.equal(run(['let p = kmalloc(8, GFP_KERNEL)', 'memcpy(p, 0x10, 8)']).stop.error?.code, 'KM4120');
});
