/*
 * The process builtins from a scenario (engine/vm/calls_tasks.ts): what a script sees of spawn, fork,
 * touch, user_pfn, exit and the kernel's reactions (segfaults, the OOM killer), and that frees of pages a
 * process or the vmalloc area owns are refused as "Bad page state" instead of corrupting the machine.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { loadScenario } from '../../engine/scenario';
import { Value } from '../../engine/vm/values';
import { checkPageAllocator } from '../../engine/mm/check';
import { checkTasks } from '../../engine/mm/process';

function run(source: string) {
  const { diagnostics, scenario } = loadScenario(source, 'test.kmem');
  assert.deepEqual(diagnostics, []);
  const stop = scenario!.vm.run({ maxInstructions: 50_000_000 });
  const vars = new Map<string, Value>(scenario!.vm.locals(0).map((v) => [v.name, v.value]));
  return { stop, vars, machine: scenario!.machine };
}

test('fork shares pages until a write copies one; exit gives everything back', () => {
  const { stop, vars, machine } = run(
    [
      'machine { memory 64M; cpus 1 }',
      'let init = spawn()',
      'let p = spawn()',
      'mmap(p, 0x400000, 16K, PROT_READ | PROT_WRITE)',
      'let faults = touch(p, 0x400000, 16K, PROT_WRITE)',
      'let c = fork(p)',
      'let same = user_pfn(c, 0x401000) == user_pfn(p, 0x401000)',
      'let copy = touch(c, 0x401000, 1, PROT_WRITE)',
      'let differs = user_pfn(c, 0x401000) != user_pfn(p, 0x401000)',
      'let bad = touch(c, 0x900000, 1, PROT_READ)',
      'exit(p)',
      '',
    ].join('\n'),
  );
  assert.equal(stop.reason, 'end', JSON.stringify(stop.error));
  assert.deepEqual(
    ['init', 'p', 'faults', 'c', 'same', 'copy', 'differs', 'bad'].map((n) => vars.get(n)),
    [1, 2, 4, 3, 1, 1, 1, -1],
  );
  assert.match(machine.log.join(''), /^kmem\[3\]: segfault at 900000 ip 0000000000000000 sp 0000000000000000 error 4/m);
  assert.equal(machine.tasks.get(3)?.alive ?? false, false, 'the segfault killed the child');
  assert.deepEqual(checkTasks(machine), []);
  assert.deepEqual(checkPageAllocator(machine).problems, []);
});

test('free_pages of a page a process maps, or of a vmalloc page, is a Bad page state, not corruption', () => {
  const mapped = run(
    [
      'let p = spawn()',
      'mmap(p, 0x400000, 4096, PROT_READ | PROT_WRITE)',
      'touch(p, 0x400000, 4096, PROT_WRITE)',
      'let pfn = user_pfn(p, 0x400000)',
      'free_pages(0xffff888000000000 + pfn * 4096, 0)',
      '',
    ].join('\n'),
  );
  assert.equal(mapped.stop.reason, 'error');
  assert.equal(mapped.stop.error?.code, 'KM4005');
  assert.match(
    mapped.stop.error!.report!,
    /page dumped because: nonzero mapcount\nkmem: pfn 0x[0-9a-f]+ is an anonymous page mapped by 1 process/,
  );
  assert.deepEqual(checkTasks(mapped.machine), []);

  // A vmalloc page: the kernel has no check, the emulator refuses it rather than leave the area mapping a
  // free page.
  const { machine } = run('let v = vmalloc(8192)\n');
  const pfn = machine.vmalloc.areas()[0]!.pages[0]!;
  const bad = machine.freePages(pfn * 4096, 0);
  assert.equal(bad?.code, 'KM4005');
  assert.match(bad!.report!, /is page 0 of the vmalloc area at 0xffffc90000000000: vfree it/);
  assert.deepEqual(checkPageAllocator(machine).problems, []);
});

test('the OOM killer takes the biggest process; the scenario goes on', () => {
  const { stop, vars, machine } = run(
    [
      'machine { memory 32M; cpus 1 }',
      'let init = spawn()',
      'let small = spawn()',
      'mmap(small, 0x400000, 64K, PROT_READ | PROT_WRITE)',
      'touch(small, 0x400000, 64K, PROT_WRITE)',
      'let hog = spawn()',
      'mmap(hog, 0x10000000, 64M, PROT_READ | PROT_WRITE)',
      'let got = touch(hog, 0x10000000, 64M, PROT_WRITE)',
      'let kept = user_pfn(small, 0x400000) >= 0',
      '',
    ].join('\n'),
  );
  assert.equal(stop.reason, 'end', JSON.stringify(stop.error));
  assert.equal(vars.get('got'), -1);
  assert.equal(vars.get('kept'), 1);
  assert.match(machine.log.join(''), /Out of memory: Killed process 3 \(kmem\) total-vm:65536kB, anon-rss:\d+kB/);
  assert.equal(machine.panic, undefined);
  assert.deepEqual(checkTasks(machine), []);
});
