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
  const vars = new Map<string, Value>(scenario!.vm.locals(0).map((v) => [v.name, v.value as Value]));
  return { stop, vars, machine: scenario!.machine };
}

test('fork shares pages until a write copies one; exit gives everything back', () => {
  const { stop, vars, machine } = run(
    [
      'machine { memory 64M; cpus 1 }',
      'let init = spawn("init")',
      'let p = spawn("bash")',
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
  assert.match(machine.log.join(''), /^bash\[3\]: segfault at 900000 ip 0000000000000000 sp 0000000000000000 error 4/m);
  assert.equal(machine.tasks.get(3)?.alive ?? false, false, 'the segfault killed the child');
  assert.deepEqual(checkTasks(machine), []);
  assert.deepEqual(checkPageAllocator(machine).problems, []);
});

test('free_pages of a page a process maps, or of a vmalloc page, is a Bad page state, not corruption', () => {
  const mapped = run(
    [
      'let p = spawn("p")',
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
      'let init = spawn("init")',
      'let small = spawn("small")',
      'mmap(small, 0x400000, 64K, PROT_READ | PROT_WRITE)',
      'touch(small, 0x400000, 64K, PROT_WRITE)',
      'let hog = spawn("hog")',
      'mmap(hog, 0x10000000, 64M, PROT_READ | PROT_WRITE)',
      'let got = touch(hog, 0x10000000, 64M, PROT_WRITE)',
      'let kept = user_pfn(small, 0x400000) >= 0',
      '',
    ].join('\n'),
  );
  assert.equal(stop.reason, 'end', JSON.stringify(stop.error));
  assert.equal(vars.get('got'), -1);
  assert.equal(vars.get('kept'), 1);
  assert.match(machine.log.join(''), /Out of memory: Killed process 3 \(hog\) total-vm:65536kB, anon-rss:\d+kB/);
  assert.equal(machine.panic, undefined);
  assert.deepEqual(checkTasks(machine), []);
});

test('kernel code touching a freed vmalloc area oopses as 6.12 prints it (x86-64) or as RISC-V does', () => {
  const x86 = run(
    'let t = spawn("insmod")\nlet v = vmalloc(4096)\nktouch(t, v, PROT_WRITE)\nvfree(v)\nktouch(t, v, PROT_WRITE)\n',
  );
  assert.equal(x86.stop.error?.code, 'KM4013');
  // v sits after pid 1's kernel stack (16K at VMALLOC_START and its guard page): 0xffffc90000005000.
  // arch/x86/mm/fault.c show_fault_oops + dump_pagetable (4-level: the P4D is the folded PGD, the same value),
  // dumpstack.c __die_header with 6.10's "Oops: " prefix: the format of 6.12 oops reports.
  assert.match(
    x86.stop.error!.report!,
    /^BUG: unable to handle page fault for address: ffffc90000005000\n#PF: supervisor write access in kernel mode\n#PF: error_code\(0x0002\) - not-present page\nPGD ([0-9a-f]+067) P4D \1 PUD [0-9a-f]+067 PMD [0-9a-f]+067 PTE 0\nOops: Oops: 0002 \[#1\] PREEMPT SMP NOPTI\nCPU: 0 UID: 0 PID: 1 Comm: insmod Not tainted 6.12.0 #1\n$/,
  );
  const riscv = run('machine { arch sv39 }\nlet t = spawn("modprobe")\nktouch(t, 0, PROT_READ)\n');
  assert.equal(riscv.stop.error?.code, 'KM4013');
  // arch/riscv/mm/fault.c die_kernel_fault, traps.c die(regs, "Oops").
  assert.equal(
    riscv.stop.error!.report,
    'Unable to handle kernel NULL pointer dereference at virtual address 0000000000000000\nOops [#1]\n' +
      'CPU: 0 UID: 0 PID: 1 Comm: modprobe Not tainted 6.12.0 #1\n',
  );
});

test("switch_to makes a process current: the kernel's reports name it, exit switches back", () => {
  const { stop, vars, machine } = run(
    [
      'machine { kasan y; kasan_multi_shot y }',
      'let init = spawn("init")',
      'let nginx = spawn("nginx")',
      'switch_to(nginx)',
      'let as_nginx = current_pid()',
      'let p = kmalloc(100, GFP_KERNEL)',
      'switch_to(init)',
      'kfree(p)',
      'switch_to(nginx)',
      'expect kasan {',
      '  let x = read8(p)',
      '}',
      'exit(nginx)',
      'let after_exit = current_pid()',
    ].join('\n'),
  );
  assert.equal(stop.reason, 'end', JSON.stringify(stop.error));
  assert.equal(vars.get('as_nginx'), 2);
  assert.equal(vars.get('after_exit'), 1);
  const log = machine.log.join('');
  // mm/kasan/report.c: the access by current, then print_track() ("%s by task %u:\n" without
  // CONFIG_KASAN_EXTRA_INFO) of the alloc track (nginx, pid 2) and the free track (init, pid 1).
  assert.match(log, /Read of size 1 at addr [0-9a-f]+ by task nginx\/2\n/);
  assert.match(log, /\nAllocated by task 2:\n/);
  assert.match(log, /\nFreed by task 1:\n/);
  assert.match(log, /CPU: 0 UID: 0 PID: 2 Comm: nginx Not tainted 6\.12\.0 #1/);
});

test('switch_to a pid that is not a live task is ESRCH (KM4223)', () => {
  const { stop } = run('let init = spawn("init")\nlet p = spawn("bash")\nexit(p)\nswitch_to(p)');
  assert.equal(stop.reason, 'error');
  assert.equal(stop.error!.code, 'KM4223');
  assert.match(stop.error!.message, /^switch_to: no task with pid 2 \(ESRCH\)/);
});
