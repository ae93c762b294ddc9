/*
 * The bug shapes of SLUB's own KUnit tests (lib/slub_kunit.c, Linux 6.12) as scenarios: each creates its
 * cache with explicit debug flags, corrupts memory as the test does, then validates the cache (what
 * validate_slab_cache() does) and must get the report the kernel prints. KUnit counts errors as reports
 * plus FIX lines (slab_add_kunit_errors); the comments give the kernel's expected count.
 *
 * The scenarios print what the sysfs validate file would make 6.12 print (in a KUnit run
 * slab_add_kunit_errors() and slab_in_kunit_test() silence the reports and only count them), each report
 * ending with dump_stack() before its add_taint(): print_trailer() ends with `dump_stack();`, slab_err() is
 * slab_bug(); print_slab_info(); dump_stack(); add_taint(). The stack is validate_slab_cache() ->
 * validate_slab_node() -> validate_slab() -> on_freelist() or check_object(), under the scenario line.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { loadScenario } from '../../engine/scenario';

interface Result {
  log: string;
  counts: Record<string, number | bigint>;
}

function run(lines: string[]): Result {
  const { diagnostics, scenario } = loadScenario(lines.join('\n') + '\n', 'kunit.kmem');
  assert.deepEqual(diagnostics, []);
  const stop = scenario!.vm.run({ maxInstructions: 1e7 });
  assert.equal(stop.reason, 'end', JSON.stringify(stop.error));
  return {
    log: scenario!.machine.log.join(''),
    counts: Object.fromEntries(scenario!.vm.locals(0).map((v) => [v.name, v.value as number | bigint])),
  };
}

/** BUG and FIX lines: what slab_errors counts in the KUnit tests. */
function slabErrors(log: string): number {
  return (log.match(/^(BUG|FIX) /gm) ?? []).length;
}

/** dump_stack()'s lines from validate_slab_cache() on scenario line `line`: `callers` above validate_slab(). */
function validateStack(line: number, tainted: boolean, callers: string[]): string {
  return [
    `CPU: 0 UID: 0 PID: 1 Comm: kmem ${tainted ? 'Tainted: G    B              ' : 'Not tainted '}6.12.0 #1`,
    ...(tainted ? ['Tainted: [B]=BAD_PAGE'] : []),
    'Call Trace:',
    ' <TASK>',
    ' dump_stack_lvl+0x0/0x0',
    ...[...callers, 'validate_slab', 'validate_slab_node', 'validate_slab_cache'].map((f) => ` ${f}+0x0/0x0`),
    ` line_${line}+0x0/0x1 [scenario]`,
    ' </TASK>',
    '',
  ].join('\n');
}

test('test_clobber_zone: a byte past a SLAB_RED_ZONE object is "Right Redzone overwritten" (2 errors)', () => {
  const r = run([
    'let s = kmem_cache_create("TestSlub_RZ_alloc", 64, 0, SLAB_RED_ZONE)',
    'let p = kmem_cache_alloc(s, GFP_KERNEL)',
    'write8(p + 64, 0x12)',
    'let found = validate_slab_cache(s)',
  ]);
  assert.match(r.log, /BUG TestSlub_RZ_alloc \(Not tainted\): Right Redzone overwritten\n/);
  assert.match(r.log, /First byte 0x12 instead of 0xcc\n/);
  // check_object()'s trailer, its dump_stack(), then add_taint(): the first taint turns lock debugging off.
  // The trailer's last hex line is its 8 bytes of padding (no SLAB_POISON: not POISON_INUSE-filled).
  const tail =
    '00 00 00 00 00 00 00 00                          ........\n' +
    validateStack(4, false, ['print_trailer', 'check_object']) +
    'Disabling lock debugging due to kernel taint\n';
  assert.ok(r.log.endsWith(tail), r.log);
  assert.equal(slabErrors(r.log), 2);
  assert.equal(r.counts.found, 1);
});

test('test_next_pointer: a flipped free-pointer byte is "Freechain corrupt" then a wrong count (3, 2, then 0 errors)', () => {
  const r = run([
    'let s = kmem_cache_create("TestSlub_next_ptr_free", 64, 0, SLAB_POISON)',
    'let p = kmem_cache_alloc(s, GFP_KERNEL)',
    'kmem_cache_free(s, p)',
    // SLAB_POISON puts the free pointer after the object: s->offset = 64.
    'let tmp = read64(p + 64)',
    'write8(p + 64, ~read8(p + 64))',
    'let first = validate_slab_cache(s)',
    'write64(p + 64, tmp)', // repair the pointer: the counter is still off
    'let second = validate_slab_cache(s)',
    'let third = validate_slab_cache(s)',
  ]);
  // The kernel's order: the corrupt link (1 error), the count it leaves wrong (2: BUG and FIX); after the
  // repair the count the first pass set is wrong the other way (2); then nothing (0).
  const tainted = 'Tainted: G    B             ';
  assert.deepEqual(
    r.log.split('\n').filter((l) => /^(BUG|FIX) /.test(l)),
    [
      'BUG TestSlub_next_ptr_free (Not tainted): Freechain corrupt',
      `BUG TestSlub_next_ptr_free (${tainted}): Wrong object count. Counter is 0 but counted were 55`,
      'FIX TestSlub_next_ptr_free: Object count adjusted',
      `BUG TestSlub_next_ptr_free (${tainted}): Wrong object count. Counter is 55 but counted were 0`,
      'FIX TestSlub_next_ptr_free: Object count adjusted',
    ],
  );
  assert.deepEqual([r.counts.first, r.counts.second, r.counts.third], [2, 1, 0]);
  // on_freelist() reports the bad link with object_err() (print_trailer() -> dump_stack()) and the counters
  // with slab_err() (dump_stack() after print_slab_info()); each stack before its taint, each FIX after it.
  assert.ok(
    r.log.includes(
      validateStack(6, false, ['print_trailer', 'object_err', 'on_freelist']) +
        'Disabling lock debugging due to kernel taint\n=====',
    ),
    r.log,
  );
  for (const [line, counter, used] of [
    [6, 'Counter is 0 but counted were 55', 0],
    [8, 'Counter is 55 but counted were 0', 55],
  ] as const) {
    const report = [
      '=============================================================================',
      `BUG TestSlub_next_ptr_free (${tainted}): Wrong object count. ${counter}`,
      '-----------------------------------------------------------------------------',
      '',
      `Slab 0xffffea0000060000 objects=56 used=${used} fp=0xffff888001800000 flags=0x4000000000000000(node=0|zone=1)`,
      validateStack(line, true, ['slab_err', 'on_freelist']) + 'FIX TestSlub_next_ptr_free: Object count adjusted',
    ].join('\n');
    assert.ok(r.log.includes(report), r.log);
  }
});

test('test_first_word and test_clobber_50th_byte: writes into a freed SLAB_POISON object (2 errors each)', () => {
  for (const [offset, value] of [
    [0, 0x78],
    [50, 0x9a],
  ] as const) {
    const r = run([
      'let s = kmem_cache_create("TestSlub_word_free", 64, 0, SLAB_POISON)',
      'let p = kmem_cache_alloc(s, GFP_KERNEL)',
      'kmem_cache_free(s, p)',
      `write8(p + ${offset}, ${value})`,
      'let found = validate_slab_cache(s)',
    ]);
    assert.match(r.log, /BUG TestSlub_word_free \(Not tainted\): Poison overwritten\n/);
    assert.match(r.log, new RegExp(`@offset=${offset}\\. First byte 0x${value.toString(16)} instead of 0x6b\\n`));
    assert.equal(slabErrors(r.log), 2);
  }
});

test('test_clobber_redzone_free: the red zone of a freed object (2 errors)', () => {
  const r = run([
    'let s = kmem_cache_create("TestSlub_RZ_free", 64, 0, SLAB_RED_ZONE)',
    'let p = kmem_cache_alloc(s, GFP_KERNEL)',
    'kmem_cache_free(s, p)',
    'write8(p + 64, 0xab)',
    'let found = validate_slab_cache(s)',
  ]);
  assert.match(r.log, /BUG TestSlub_RZ_free \(Not tainted\): Right Redzone overwritten\n/);
  assert.match(r.log, /First byte 0xab instead of 0xbb\n/);
  assert.equal(slabErrors(r.log), 2);
});

test('test_kmalloc_redzone_access: bytes past an 18-byte kmalloc of kmalloc-32 (ZU) are its kmalloc red zone', () => {
  // The KUnit test makes a kmalloc cache of its own; here it is kmalloc-32 with slab_debug=ZU on it, and the
  // check that finds the bytes is the free's (the scenario has no handle of a kmalloc cache to validate).
  const r = run([
    'machine { slab_debug "FZU,kmalloc-32" }',
    'let p = kmalloc(18, GFP_KERNEL)',
    'write8(p + 18, 0xab)',
    'write8(p + 19, 0xab)',
    'kfree(p)',
  ]);
  assert.match(r.log, /BUG kmalloc-32 \(Not tainted\): kmalloc Redzone overwritten\n/);
  assert.match(r.log, /0x[0-9a-f]{16}-0x[0-9a-f]{16} @offset=\d+\. First byte 0xab instead of 0xcc\n/);
  assert.equal(slabErrors(r.log), 3, 'the report, its FIX, and "Object at ... not freed"');
});
