/*
 * loadScenario: the bundled example loads with no diagnostic, boots the machine its machine block asks for,
 * and runs to the end with the kmalloc caches in the state the kernel would show in /proc/slabinfo.
 * Also: defaults, and scripts with errors.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { loadScenario } from '../../engine/scenario';
import { slabinfoView } from '../../engine/inspect/views';
import { DEFAULT_CONFIG } from '../../engine/mm/config';

const ROOT = resolve(__dirname, '..', '..');
const EXAMPLE_PATH = resolve(ROOT, 'examples', 'slab-growth.kmem');
const EXAMPLE = readFileSync(EXAMPLE_PATH, 'utf8');

test('the example loads with zero diagnostics and a 256M, 2-CPU machine', () => {
  const { diagnostics, scenario } = loadScenario(EXAMPLE, EXAMPLE_PATH);
  assert.deepEqual(diagnostics, []);
  assert.ok(scenario);
  assert.deepEqual(scenario.config, {
    memoryBytes: 256 * 1024 * 1024,
    cpus: 2,
    arch: 'x86_64',
    hardenedFreelist: true,
  });
  assert.equal(scenario.machine.config, scenario.config);
  assert.equal(scenario.vm.machine, scenario.machine);
  assert.equal(scenario.program.fileName, EXAMPLE_PATH);
  assert.deepEqual(scenario.program.executableLines, [6, 7, 8, 9, 11, 12, 15, 16, 17, 20, 21, 22, 23]);
});

test("the example runs to the end: kmalloc-192 holds 21 objects per slab, again took first's slot", () => {
  const { scenario } = loadScenario(EXAMPLE, EXAMPLE_PATH);
  const vm = scenario!.vm;
  let stop = vm.run({ maxInstructions: 1000, breakAtLine: (line) => line === 11 });
  assert.deepEqual(stop, { reason: 'breakpoint', line: 11 });
  const vars = Object.fromEntries(vm.locals(0).map((v) => [v.name, v.value]));
  assert.equal(typeof vars.first, 'bigint');
  assert.equal(vars.again, vars.first, 'the per-CPU freelist is LIFO');
  assert.notEqual(vars.second, vars.first);

  stop = vm.run({ maxInstructions: 1_000_000 });
  assert.equal(stop.reason, 'end');
  assert.equal(vm.status, 'done');

  const caches = new Map(slabinfoView(scenario!.machine).caches.map((c) => [c.name, c]));
  const k192 = caches.get('kmalloc-192')!;
  assert.equal(k192.objPerSlab, 21);
  assert.equal(k192.pagesPerSlab, 1);
  // 53 objects were live at the peak (second, again and 50 never freed): 3 slabs of 21.
  assert.equal(k192.numSlabs, 3);
  assert.equal(k192.numObjs, 63);
  assert.equal(k192.liveObjects, 50);
  const k1k = caches.get('kmalloc-1k')!;
  assert.equal(k1k.objPerSlab, 16);
  assert.equal(k1k.order, 2);
  assert.equal(k1k.numSlabs, 1);
  assert.equal(k1k.liveObjects, 0);
  assert.equal(scenario!.machine.largeKmalloc.size, 0, 'big was freed');
  for (const [name, c] of caches) {
    if (name !== 'kmalloc-192' && name !== 'kmalloc-1k') {
      assert.equal(c.numSlabs, 0, name);
    }
  }
});

test('the machine block wins over defaults, defaults over DEFAULT_CONFIG', () => {
  // The resolved configuration always names the architecture: x86_64 unless the script or defaults say.
  assert.deepEqual(loadScenario('let p = 1', 'a.kmem').scenario!.config, {
    arch: 'x86_64',
    hardenedFreelist: true,
    ...DEFAULT_CONFIG,
  });
  assert.deepEqual(loadScenario('let p = 1', 'a.kmem', { memoryBytes: 1 << 30, cpus: 8 }).scenario!.config, {
    memoryBytes: 1 << 30,
    cpus: 8,
    arch: 'x86_64',
    hardenedFreelist: true,
  });
  assert.deepEqual(loadScenario('machine { cpus 4 }', 'a.kmem', { memoryBytes: 1 << 30, cpus: 8 }).scenario!.config, {
    memoryBytes: 1 << 30,
    cpus: 4,
    arch: 'x86_64',
    hardenedFreelist: true,
  });
  const four = loadScenario('machine { memory 64M; cpus 4 }\nlet p = kmalloc(192, GFP_KERNEL)', 'a.kmem').scenario!;
  assert.equal(four.machine.config.cpus, 4);
  assert.equal(four.machine.frames.count, (64 << 20) / 4096);
});

test('a script with an error gives diagnostics and no scenario', () => {
  const { diagnostics, scenario } = loadScenario(EXAMPLE.replace('kfree(first)', 'kfree(frist)'), EXAMPLE_PATH);
  assert.equal(scenario, undefined);
  assert.deepEqual(
    diagnostics.map((d) => [d.code, d.range.start.line, d.range.start.character]),
    [['KM2001', 8, 6]],
  );
});

test('loading never throws, even on nonsense', () => {
  for (const source of ['', '}}}', 'machine', 'let', '\u0000\uffff', 'repeat 1e9 {', 'for i in ..']) {
    const r = loadScenario(source, 'x.kmem');
    assert.ok(Array.isArray(r.diagnostics));
  }
});

test('slab_freelist_hardened y|n sets CONFIG_SLAB_FREELIST_HARDENED; anything else is KM2008 on the value', () => {
  const off = loadScenario('machine { slab_freelist_hardened n }\nlet p = 1', 'a.kmem').scenario!;
  assert.equal(off.config.hardenedFreelist, false);
  assert.equal(off.machine.freePointers.randomOf(off.machine.slub.caches[0]!), undefined);
  const on = loadScenario('machine { slab_freelist_hardened y }\nlet p = 1', 'a.kmem').scenario!;
  assert.equal(on.config.hardenedFreelist, true);
  const bad = loadScenario('machine { slab_freelist_hardened maybe }\nlet p = 1', 'a.kmem');
  assert.equal(bad.scenario, undefined);
  assert.deepEqual(
    bad.diagnostics.map((d) => [d.code, d.message, d.range.start.character, d.range.end.character]),
    [['KM2008', "'slab_freelist_hardened' is y or n (CONFIG_SLAB_FREELIST_HARDENED), not 'maybe'", 33, 38]],
  );
});
