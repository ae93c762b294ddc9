/*
 * Every builtin the generic call instruction runs (engine/vm/calls*.ts), with arguments from a set of awkward
 * values (zero, negatives, huge numbers, wide pointers, NULL, ZERO_SIZE_PTR, string-table indices out of
 * range), must return a value or a coded failure: never throw, never leave the page allocator or the tasks
 * inconsistent. Bad input gets a clear error, never a crash.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { ALL_GENERIC_BUILTINS } from '../../engine/vm/calls';
import { Machine } from '../../engine/mm/machine';
import { checkPageAllocator } from '../../engine/mm/check';
import { checkTasks } from '../../engine/mm/process';
import { Value } from '../../engine/vm/values';

const AWKWARD: readonly Value[] = [
  0,
  1,
  -1,
  7,
  4096,
  0x400000,
  2 ** 40,
  Number.MAX_SAFE_INTEGER,
  0n,
  16n,
  0xffff888000001000n,
  0xffffc90000000000n,
  (1n << 64n) - 1n,
];

/** A VM host with no procedures: callbacks are never made. */
const HOST = { callProcedure: () => undefined, procedureName: () => '?', liveValues: () => [] };

test('every generic builtin, fed awkward arguments, answers without throwing', () => {
  let calls = 0;
  for (const b of ALL_GENERIC_BUILTINS) {
    const m = Machine.boot({ memoryBytes: 32 * 1024 * 1024, cpus: 2 });
    assert.ok(m instanceof Machine);
    // Something for the handles to name: a process, a cache, a heap, an object.
    m.tasks.spawn('init');
    m.tasks.spawn('t');
    m.kmemCacheCreate('c', 64, 0, 0);
    const n = b.params.length;
    const combos =
      n === 0 ? [[]] : AWKWARD.flatMap((v) => [Array<Value>(n).fill(v), [2, ...Array<Value>(n - 1).fill(v)]]);
    for (const args of combos) {
      if (m.panic) break;
      let r: unknown;
      assert.doesNotThrow(
        () => {
          r = b.run(m, args.slice(0, n), ['name'], HOST);
        },
        `${b.name}(${args.map(String).join(', ')})`,
      );
      if (typeof r === 'object' && r !== null) {
        const f = r as { code: unknown; message: unknown };
        assert.match(String(f.code), /^KM\d{4}$/, `${b.name}: ${JSON.stringify(r)}`);
        assert.ok(String(f.message).length > 0);
      }
      calls++;
    }
    assert.deepEqual(checkPageAllocator(m).problems, [], b.name);
    assert.deepEqual(checkTasks(m), [], b.name);
  }
  assert.ok(calls > 500, `${calls} calls`);
});
