/*
 * Loadable modules (engine/mm/module.ts): memory from the module mapping space through execmem_alloc (vmalloc
 * pages above MODULES_VADDR, 0xffffffffa0000000 on x86-64 per Documentation/arch/x86/x86_64/mm.rst), the
 * kernel's /proc/modules line (kernel/module/procfs.c m_show: "%s %u %d %s %s 0x%px" and the taint letters),
 * the out-of-tree taint, and a module that leaks on unload.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { loadScenario } from '../../engine/scenario';
import { procFileText } from '../../engine/inspect/procfs';
import { EventKind } from '../../engine/trace/events';

function run(source: string) {
  const { diagnostics, scenario } = loadScenario(source, 'mod.kmem');
  assert.deepEqual(diagnostics, []);
  const stop = scenario!.vm.run({ maxInstructions: 1e6 });
  return { scenario: scenario!, stop };
}

test('module_load: page-aligned memory at MODULES_VADDR, in /proc/modules and /proc/vmallocinfo, taint O once', () => {
  const { scenario, stop } = run(
    'let a = module_load("nf_demo", 10000)\nlet b = module_load("usb_demo", 4096)\nwrite64(a + 8, 42)\nlet v = read64(a + 8)\n',
  );
  assert.equal(stop.reason, 'end');
  const m = scenario.machine;
  const values = Object.fromEntries(scenario.vm.locals(0).map((x) => [x.name, x.value]));
  assert.equal(values.a, 0xffffffffa0000000n);
  assert.equal(values.b, 0xffffffffa0004000n); // 12K and a guard page later
  assert.equal(values.v, 42);
  assert.equal(
    procFileText(m, 'modules'),
    'usb_demo 4096 0 - Live 0xffffffffa0004000 (O)\nnf_demo 12288 0 - Live 0xffffffffa0000000 (O)\n',
  );
  assert.match(
    procFileText(m, 'vmallocinfo'),
    /^0xffffffffa0000000-0xffffffffa0004000 {3}16384 execmem_vmalloc\+0x0\/0x0 pages=3 vmalloc N0=3$/m,
  );
  assert.equal(m.log.join(''), 'nf_demo: loading out-of-tree module taints kernel.\n');
  assert.equal(m.slubDebug.taint.mask, 1 << 12);
});

test('module_unload frees the pages; a second load reuses the space; errors are KM4128', () => {
  const { scenario } = run(
    'let a = module_load("one", 8192)\nmodule_unload("one")\nlet b = module_load("two", 8192)\n',
  );
  const values = Object.fromEntries(scenario.vm.locals(0).map((x) => [x.name, x.value]));
  assert.equal(values.a, values.b);
  for (const bad of [
    'let a = module_load("bad name", 4096)',
    'let a = module_load("x", 0)',
    'let a = module_load("x", 4096)\nlet b = module_load("x", 4096)',
    'module_unload("never")',
  ]) {
    assert.equal(run(bad).stop.error?.code, 'KM4128', bad);
  }
  // A store into an unloaded module's memory is the kernel's page-fault oops.
  assert.equal(run('let a = module_load("m", 4096)\nmodule_unload("m")\nwrite8(a, 1)').stop.error?.code, 'KM4013');
});

test('a module that leaks on unload: what its init allocated stays, and kmemleak finds it', () => {
  const { scenario } = run(
    [
      'machine { kmemleak y }',
      'let state = 0',
      'proc demo_init() {',
      '  let base = module_load("demo", 16384)',
      '  state = kzalloc(512, GFP_KERNEL)',
      '  write64(base + 64, state)          # the module keeps its state in its own data',
      '}',
      'demo_init()',
      'state = 0',
      'msleep(10000)',
      'let before = kmemleak_scan()         # 0: the module data still points at it',
      'module_unload("demo")                # the exit routine forgot kfree(state)',
      'msleep(10000)',
      'let after = kmemleak_scan()',
    ].join('\n') + '\n',
  );
  const values = Object.fromEntries(scenario.vm.locals(0).map((x) => [x.name, x.value]));
  assert.equal(values.before, 0);
  assert.equal(values.after, 1);
  assert.equal(scenario.machine.reportCount(EventKind.Kmemleak), 1);
});
