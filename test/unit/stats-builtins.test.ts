/*
 * The counter builtins (engine/vm/calls_stats.ts) give the figures the /proc files print for the same
 * machine: nr_free(order) is buddyinfo's column summed over zones, nr_free_pages() MemFree in pages, and
 * slab_active_objs / slab_num_objs / slab_num_slabs the slabinfo columns (mm/slab_common.c cache_show()).
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { loadScenario } from '../../engine/scenario';
import { procFileText } from '../../engine/inspect/procfs';

test('nr_free, nr_free_pages and the slab_* counters agree with buddyinfo, meminfo and slabinfo', () => {
  const { diagnostics, scenario } = loadScenario(
    [
      'machine { memory 128M; cpus 2 }',
      'let c = kmem_cache_create("dentry", 192, 8, SLAB_RECLAIM_ACCOUNT)',
      'let pool = []',
      'repeat 100 {',
      '  push pool, kmem_cache_alloc(c, GFP_KERNEL)',
      '}',
      'repeat 30 {',
      '  kmem_cache_free(c, pop pool)',
      '}',
      'let big = alloc_pages(3, GFP_KERNEL)',
      'let free0 = nr_free(0)',
      'let free3 = nr_free(3)',
      'let free10 = nr_free(10)',
      'let pages = nr_free_pages()',
      'let active = slab_active_objs("dentry")',
      'let objs = slab_num_objs("dentry")',
      'let slabs = slab_num_slabs("dentry")',
      'let k192 = slab_num_objs("kmalloc-192")',
      'expect objs == 105 && slabs == 5',
    ].join('\n'),
    'stats.kmem',
  );
  assert.deepEqual(diagnostics, []);
  const s = scenario!;
  const stop = s.vm.run({ maxInstructions: 1e8 });
  assert.equal(stop.reason, 'end', JSON.stringify(stop.error));
  const v = Object.fromEntries(s.vm.locals(0).map((x) => [x.name, Number(x.value as number)]));
  const buddy = procFileText(s.machine, 'buddyinfo')
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).slice(4).map(Number));
  const column = (o: number) => buddy.reduce((sum, row) => sum + row[o]!, 0);
  assert.equal(v.free0, column(0));
  assert.equal(v.free3, column(3));
  assert.equal(v.free10, column(10));
  const memFree = /^MemFree:\s+(\d+) kB$/m.exec(procFileText(s.machine, 'meminfo'))!;
  assert.equal(v.pages! * 4, Number(memFree[1]));
  const row = procFileText(s.machine, 'slabinfo')
    .split('\n')
    .find((l) => l.startsWith('dentry '))!
    .split(/\s+/);
  // name active_objs num_objs objsize objperslab pagesperslab : tunables ... : slabdata active_slabs num_slabs
  assert.equal(v.active, Number(row[1]));
  assert.equal(v.objs, Number(row[2]));
  assert.equal(v.slabs, Number(row[14]));
  assert.equal(v.objs, 105, '100 objects need 5 slabs of 21');
  const k192 = procFileText(s.machine, 'slabinfo')
    .split('\n')
    .find((l) => l.startsWith('kmalloc-192 '))!
    .split(/\s+/);
  assert.equal(v.k192, Number(k192[2]));
});
