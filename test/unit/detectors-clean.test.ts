/*
 * No false positives: the bundled examples that tell no bug story, and long random clean runs, report
 * nothing with every detector on (KASAN, kmemleak, KFENCE sampling every millisecond of machine time, and
 * SLUB debugging where a run asks for it). A clean run here is one that never touches memory it does not
 * own, frees what it allocated exactly once, and keeps a pointer to what it keeps.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';

import { loadScenario, ScenarioDefaults } from '../../engine/scenario';
import { REPORT_KINDS } from '../../engine/lang/builtins';
import type { Machine } from '../../engine/mm/machine';

const ALL_ON: ScenarioDefaults = { kasan: true, kmemleak: true, kfence: 1 };

function reports(m: Machine): Record<string, number> {
  return Object.fromEntries([...REPORT_KINDS].map(([name, kind]) => [name, m.reportCount(kind)]));
}

const none = Object.fromEntries([...REPORT_KINDS.keys()].map((k) => [k, 0]));

/** Examples whose story a detector rightly changes, and how. */
const EXCEPTIONS: Readonly<
  Record<string, { why: string; defaults?: ScenarioDefaults; reports?: Record<string, number> }>
> = {
  'slab-growth.kmem': {
    why: 'its 50 kmalloc-192 objects are never freed and their pointers are overwritten: 50 real leaks',
    reports: { kmemleak: 50 },
  },
  'fragmentation.kmem': {
    why: "without KFENCE: its pool's 2 MiB would push the 64M machine the story fills into the OOM killer",
    defaults: { kfence: 0 },
  },
};

const dir = join(__dirname, '..', '..', 'examples');
for (const name of readdirSync(dir).filter((f) => f.endsWith('.kmem'))) {
  const text = readFileSync(join(dir, name), 'utf8');
  // A bug story says so: an expected error, or expect blocks around the reports it is about; the
  // freelist examples write into freed objects and heap-spray past an object's end, on purpose and with
  // no detector on (with KASAN's slots the layouts they pin are not there).
  const story =
    /^# expect error /m.test(text) ||
    /^\s*expect \w+ \{/m.test(text) ||
    name.startsWith('freelist-') ||
    name === 'heap-spray.kmem';
  if (story) continue;
  const exception = EXCEPTIONS[name];
  test(`${name}: no detector reports with KASAN, kmemleak and KFENCE on${exception ? ` (${exception.why})` : ''}`, () => {
    const { diagnostics, scenario } = loadScenario(text, name, { ...ALL_ON, ...exception?.defaults });
    assert.deepEqual(
      diagnostics.filter((d) => d.severity === 'error'),
      [],
    );
    const stop = scenario!.vm.run({ maxInstructions: 5e7 });
    assert.equal(stop.reason, 'end', JSON.stringify(stop.error));
    const expected = { ...none, ...exception?.reports };
    assert.deepEqual(reports(scenario!.machine), expected, scenario!.machine.log.join('').slice(0, 2000));
  });
}

test('long random clean runs with every detector on report nothing', () => {
  // Ops: 0 kmalloc, 1 kmem_cache_alloc, 2 free one, 3 store a pointer into a kept block, 4 fill a block,
  // 5 msleep, 6 vmalloc/vfree, 7 a lock section with GFP_ATOMIC, 8 a kmemleak scan.
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 1, max: 6000 })), {
        minLength: 20,
        maxLength: 150,
      }),
      (ops) => {
        const lines = [
          'let table = kzalloc(4096, GFP_KERNEL)', // holds every live pointer: nothing leaks
          'let kc = kmem_cache_create("clean", 72, 0, 0)',
          'let n = 0',
          'let p = 0',
          'let s = 0',
        ];
        const live: number[] = []; // slots of table holding a live object
        const sizes: number[] = []; // the size asked for, by slot (KASAN allows no more: not ksize())
        let slot = 0;
        for (const [op, arg] of ops) {
          if ((op === 0 || op === 1) && slot < 512) {
            lines.push(op === 0 ? `p = kmalloc(${arg}, GFP_KERNEL)` : 'p = kmem_cache_alloc(kc, GFP_KERNEL)');
            lines.push(`write64(table + ${slot * 8}, p)`);
            sizes[slot] = op === 0 ? arg : 72;
            live.push(slot++);
          } else if (op === 2 && live.length > 0) {
            const k = live.splice(arg % live.length, 1)[0]!;
            lines.push(`kfree(read64(table + ${k * 8}))`, `write64(table + ${k * 8}, 0)`);
          } else if (op === 3 && live.length > 1 && sizes[live[0]!]! >= 8) {
            // Store one live object's address into another's first word.
            const to = live[0]! * 8;
            lines.push(`write64(read64(table + ${to}), read64(table + ${live[live.length - 1]! * 8}))`);
          } else if (op === 4 && live.length > 0) {
            const k = live[arg % live.length]!;
            lines.push(`memset(read64(table + ${k * 8}), 0x5a, ${sizes[k]})`);
          } else if (op === 5) {
            lines.push(`msleep(${arg % 3000})`);
          } else if (op === 6) {
            lines.push(`p = vmalloc(${arg})`, `write8(p + ${arg - 1}, 1)`, 'vfree(p)');
          } else if (op === 7) {
            lines.push('spin_lock(table)', `p = kmalloc(${arg}, GFP_ATOMIC)`, 'kfree(p)', 'spin_unlock(table)');
          } else if (op === 8) {
            lines.push('s = kmemleak_scan()');
          }
        }
        const { diagnostics, scenario } = loadScenario(lines.join('\n') + '\n', 'clean.kmem', ALL_ON);
        assert.deepEqual(
          diagnostics.filter((d) => d.severity === 'error'),
          [],
        );
        const stop = scenario!.vm.run({ maxInstructions: 5e7 });
        assert.equal(stop.reason, 'end', JSON.stringify(stop.error));
        assert.deepEqual(reports(scenario!.machine), none, scenario!.machine.log.join('').slice(0, 3000));
      },
    ),
    { numRuns: 25 },
  );
});
