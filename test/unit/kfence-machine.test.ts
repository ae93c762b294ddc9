/*
 * KFENCE on the machine (engine/mm/kfence_checks.ts): the pool memblock reserves at boot, sampling on the
 * machine's clock (one allocation per kfence.sample_interval ms: the gate opens at boot and then every
 * interval), and the bug shapes of mm/kfence/kfence_test.c that a scenario can make: out-of-bounds reads
 * left and right through guard pages, use-after-free, double and invalid free, and canary corruption found at
 * free. Report texts follow mm/kfence/report.c of 6.12; kfence.test.ts pins the format itself.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { loadScenario } from '../../engine/scenario';
import { EventKind } from '../../engine/trace/events';
import { KFENCE_BUG_NAMES, KfenceBug } from '../../engine/mm/kfence_checks';
import { KFENCE_POOL_SIZE } from '../../engine/mm/kfence';
import { PAGE_SIZE } from '../../engine/mm/config';
import { meminfoView } from '../../engine/inspect/procfs';
import { Machine } from '../../engine/mm/machine';

interface Run {
  log: string;
  machine: Machine;
  bugs: string[];
  values: Record<string, unknown>;
  stop: string;
}

function run(lines: string[], machine = 'machine { kfence 100 }'): Run {
  const { diagnostics, scenario } = loadScenario(`${machine}\n${lines.join('\n')}\n`, 'kfence.kmem');
  assert.deepEqual(diagnostics, []);
  const stop = scenario!.vm.run({ maxInstructions: 1e7 });
  const m = scenario!.machine;
  const bugs: string[] = [];
  for (let i = 0; i < m.events.length; i++) {
    const e = m.events.get(i);
    if (e.kind === EventKind.Kfence) bugs.push(KFENCE_BUG_NAMES[e.size as KfenceBug]);
  }
  return {
    log: m.log.join(''),
    machine: m,
    bugs,
    values: Object.fromEntries(scenario!.vm.locals(0).map((v) => [v.name, v.value])),
    stop: stop.reason === 'error' ? `${stop.error?.code}` : stop.reason,
  };
}

const inPool = (m: Machine, v: unknown) => {
  const phys = typeof v === 'bigint' ? m.phys(v) : undefined;
  return phys !== undefined && m.kfence!.contains(phys);
};

test('boot: the 2 MiB pool is reserved below the early page tables and leaves MemTotal', () => {
  const plain = Machine.boot({ memoryBytes: 256 << 20, cpus: 2 }) as Machine;
  const m = Machine.boot({ memoryBytes: 256 << 20, cpus: 2, kfence: 100 }) as Machine;
  const pool = m.reserved.find((r) => r.name === 'kfence pool')!;
  const tables = m.reserved.find((r) => r.name === 'page tables')!;
  assert.equal(pool.endPfn, tables.startPfn);
  assert.equal((pool.endPfn - pool.startPfn) * PAGE_SIZE, KFENCE_POOL_SIZE);
  assert.equal(m.kfence!.poolPhys, pool.startPfn * PAGE_SIZE);
  const total = (x: Machine) => meminfoView(x).memTotal;
  assert.equal(total(plain) - total(m), KFENCE_POOL_SIZE / 1024);
});

test('sampling: the first allocation after boot, then one per interval of the machine clock', () => {
  const r = run([
    'let a = kmalloc(32, GFP_KERNEL)',
    'let b = kmalloc(32, GFP_KERNEL)',
    'msleep(99)',
    'let c = kmalloc(32, GFP_KERNEL)',
    'msleep(1)',
    'let d = kmem_cache_alloc(kmem_cache_create("obj", 40, 0, 0), GFP_KERNEL)',
    'let e = kmalloc(32, GFP_KERNEL)',
    'msleep(100)',
    'let big = kmalloc(5000, GFP_KERNEL)', // above PAGE_SIZE: never KFENCE's, the gate stays open
    'let f = kmalloc(16, GFP_KERNEL)',
  ]);
  const m = r.machine;
  assert.deepEqual(
    ['a', 'b', 'c', 'd', 'e', 'big', 'f'].map((k) => inPool(m, r.values[k])),
    [true, false, false, true, false, false, true],
  );
  assert.deepEqual(r.bugs, []);
  // Without KFENCE nothing comes from a pool.
  const off = run(['let a = kmalloc(32, GFP_KERNEL)'], '');
  assert.equal(off.machine.kfence, undefined);
});

test('out-of-bounds: reads past an object hit a guard page; the canary side does not fault (test_out_of_bounds_read)', () => {
  // Each object sits at the start or the end of its page (the seeded generator decides): of the byte before
  // it and the byte after it, exactly one is on a guard page; the other is canary, which no access checks.
  const r = run([
    'let a = kmalloc(32, GFP_KERNEL)',
    'let x = read8(a - 1)',
    'let y = read8(a + 32)',
    'msleep(100)',
    'let b = kmalloc(32, GFP_KERNEL)',
    'let z = read8(b - 1)',
    'let w = read8(b + 32)',
  ]);
  const pageOff = (v: unknown) => Number((v as bigint) & BigInt(PAGE_SIZE - 1));
  assert.deepEqual(r.bugs, ['out-of-bounds', 'out-of-bounds']);
  // report.c prints the distance from the object's start: 1B left of it, or 32B right (size + 0).
  const where = (v: unknown) => (pageOff(v) === 0 ? ['1B left', 3] : ['32B right', 4]);
  const [aSide, aLine] = where(r.values.a);
  assert.match(
    r.log,
    new RegExp(
      `^BUG: KFENCE: out-of-bounds read in line_${aLine}\\+0x0/0x1 \\[scenario\\]\\n\\nOut-of-bounds read at 0xffff8880[0-9a-f]{8} \\(${aSide} of kfence-#0\\):\\n line_${aLine}\\+0x0/0x1 \\[scenario\\]\\n\\nkfence-#0: 0xffff8880[0-9a-f]{8}-0xffff8880[0-9a-f]{8}, size=32, cache=kmalloc-32\\n\\nallocated by task 1 on cpu 0 at 0\\.000000s \\(0\\.000000s ago\\):\\n line_2\\+0x0/0x1 \\[scenario\\]\\n`,
      'm',
    ),
  );
  const [bSide] = where(r.values.b);
  assert.match(r.log, new RegExp(`Out-of-bounds read at 0x[0-9a-f]+ \\(${bSide} of kfence-#1\\):`));
  assert.match(r.log, /allocated by task 1 on cpu 0 at 0\.100000s \(0\.000000s ago\):/);
});

test('use-after-free, double free and an invalid free (test_use_after_free_read, test_double_free, test_invalid_addr_free)', () => {
  const r = run([
    'let a = kmalloc(64, GFP_KERNEL)',
    'msleep(5)',
    'kfree(a)',
    'let x = read8(a)',
    'kfree(a)',
    'msleep(200)',
    'let b = kmalloc(64, GFP_KERNEL)',
    'kfree(b + 1)',
  ]);
  assert.deepEqual(r.bugs, ['use-after-free', 'invalid free', 'invalid free']);
  assert.match(r.log, /^Use-after-free read at 0x[0-9a-f]+ \(in kfence-#0\):\n/m);
  assert.match(r.log, /^freed by task 1 on cpu 0 at 0\.005000s \(0\.000000s ago\):\n line_4\+0x0\/0x1 \[scenario\]\n/m);
  assert.match(r.log, /^Invalid free of 0x[0-9a-f]+ \(in kfence-#0\):\n/m);
  assert.equal(r.stop, 'end');
  assert.match(r.log, /Comm: kmem Tainted: G {4}B/);
});

test('canary corruption is found at free (test_kmalloc_aligned_oob_write), and stores into the canary are not faults', () => {
  const r = run([
    'let a = kmalloc(73, GFP_KERNEL)', // right: at ALIGN_DOWN(page end - 73, 32), the canary after it in the page
    'write8(a + 80, 0x01)',
    'let c = read8(a + 73)',
    'kfree(a)',
  ]);
  assert.deepEqual(r.bugs, ['memory corruption']);
  assert.match(
    r.log,
    /^Corrupted memory at 0xffff8880[0-9a-f]{8} \[ 0x01 \. \. \. \. \. \. \. \. \. \. \. \. \. \. \. \] \(in kfence-#0\):\n/m,
  );
  assert.match(r.log, /kfence-#0: 0x[0-9a-f]+-0x[0-9a-f]+, size=73, cache=kmalloc-96\n/);
});

test('pool memory reads back what was stored; ksize and krealloc see the object', () => {
  const r = run([
    'let a = kmalloc(40, GFP_KERNEL)',
    'write64(a, 0x1122334455667788)',
    'memset(a + 8, 0xab, 8)',
    'let w = read64(a)',
    'let v = read8(a + 15)',
    'let k = ksize(a)',
    'let b = krealloc(a, 200, GFP_KERNEL)', // copies ksize (40) bytes into a slab object, frees a
    'let w2 = read64(b)',
  ]);
  assert.equal(r.values.w, 0x1122334455667788n);
  assert.equal(r.values.v, 0xab);
  assert.equal(r.values.k, 40);
  assert.equal(r.values.w2, 0x1122334455667788n);
  assert.deepEqual(r.bugs, []);
});

test('expect kfence { } makes the report expected', () => {
  const r = run([
    'let a = kmalloc(32, GFP_KERNEL)',
    'expect kfence {',
    '  let x = read8(a - 1)',
    '  let y = read8(a + 32)',
    '}',
  ]);
  assert.equal(r.stop, 'end');
  assert.equal(r.machine.reportCount(EventKind.Kfence), 1);
});
