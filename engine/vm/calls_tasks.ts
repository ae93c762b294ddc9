/*
 * Scenario builtins for user processes (engine/mm/process.ts): spawn, fork, exit, the mmap family, touch
 * (user-mode accesses that fault pages in) and user_pfn. They run through the generic CallBuiltin
 * instruction (calls.ts). A task is named by its pid, a plain integer.
 *
 * What the kernel does to the process is what happens here: a segfaulting access kills the task (SIGSEGV's
 * default action) and prints the kernel's segfault line; the scenario goes on, and a later use of the pid is
 * ESRCH (KM4223). Errors of the calls themselves (EINVAL, EEXIST, ENOMEM) stop the scenario with their code,
 * as a failing syscall would make a test program bail out.
 */

import { PAGE_SIZE } from '../mm/config';
import { THREAD_SIZE } from '../mm/vmalloc';
import { formatKernelFaultOops } from '../mm/oops';
import { Machine } from '../mm/machine';
import { PROT_EXEC, PROT_NONE, PROT_READ, PROT_WRITE, Task, TaskError, isTaskError } from '../mm/process';
import type { CallFailure, GenericBuiltin } from './calls';
import { Value, formatValue } from './values';

function taskOf(machine: Machine, name: string, pidArg: Value): Task | CallFailure {
  const task = typeof pidArg === 'number' ? machine.tasks.get(pidArg) : undefined;
  if (!task || !task.alive) {
    return { code: 'KM4223', message: `${name}: no task with pid ${formatValue(pidArg)} (ESRCH)` };
  }
  return task;
}

function addrOf(name: string, v: Value): bigint | CallFailure {
  if (typeof v === 'number' && v >= 0) return BigInt(v);
  if (typeof v === 'bigint') return v;
  return { code: 'KM4220', message: `${name}: the address must be a user address, not ${formatValue(v)} (EINVAL)` };
}

function lenOf(name: string, v: Value): number | CallFailure {
  if (typeof v === 'number' && v > 0) return v;
  return {
    code: 'KM4220',
    message: `${name}: the length must be a byte count above 0, not ${formatValue(v)} (EINVAL)`,
  };
}

/** The (pid, addr, len) arguments of the range calls, checked: the task, the start and the length. */
function rangeOf(
  machine: Machine,
  name: string,
  pid: Value,
  addr: Value,
  len: Value,
): { task: Task; a: bigint; l: number } | CallFailure {
  const task = taskOf(machine, name, pid);
  if (isFailure(task)) return task;
  const a = addrOf(name, addr);
  if (isFailure(a)) return a;
  const l = lenOf(name, len);
  if (isFailure(l)) return l;
  return { task, a, l };
}

function failure(e: TaskError): CallFailure {
  return { code: e.code, message: e.message };
}

function isFailure(x: unknown): x is CallFailure {
  return typeof x === 'object' && x !== null && 'code' in x;
}

export const TASK_BUILTINS: readonly GenericBuiltin[] = [
  {
    name: 'spawn',
    params: ['comm'],
    stringParams: [0],
    returnsValue: true,
    summary:
      'Creates a user process named comm (spawn("bash"); TASK_COMM_LEN keeps 15 characters) with an empty address space and a 16K vmalloc\'d kernel stack; returns its pid (the first is 1, init, which the OOM killer never picks).',
    doc: "A user process named `comm` (a string literal) with an empty address space and a 16K vmalloc'd kernel stack. The first is pid 1 (init), which the OOM killer never picks.",
    returns: 'a pid',
    topic: 'processes',
    run(machine, [comm], strings) {
      const t = machine.tasks.spawn(strings[comm as number] ?? machine.comm);
      return isTaskError(t) ? failure(t) : t.pid;
    },
  },
  {
    name: 'fork',
    params: ['pid'],
    returnsValue: true,
    summary:
      "Forks a process: the child shares every anonymous page copy-on-write (both page tables read-only, reference counts up); returns the child's pid.",
    doc: 'The child shares every anonymous page copy-on-write (both page tables read-only, references up).',
    returns: 'a pid',
    topic: 'processes',
    run(machine, [pid]) {
      const parent = taskOf(machine, 'fork', pid!);
      if (isFailure(parent)) return parent;
      const child = machine.tasks.fork(parent);
      return isTaskError(child) ? failure(child) : child.pid;
    },
  },
  {
    name: 'switch_to',
    params: ['pid'],
    returnsValue: false,
    summary:
      "Makes process pid current: the statements after it run as that task, and the kernel's reports name it (comm/pid). switch_to(1) is the scenario itself again.",
    doc: "A context switch: the statements after it run as process `pid` (its comm and pid in KASAN, KFENCE, kmemleak and SLUB reports, oopses and allocation tracks; the debugger's current thread). `switch_to(1)` makes the scenario itself (pid 1, `kmem`) current again, as does the current process's `exit`.",
    returns: 'nothing',
    topic: 'processes',
    run(machine, [pid]) {
      if (pid === 1 && !machine.tasks.tasks.has(1)) {
        machine.switchTo(undefined);
        return undefined;
      }
      const task = taskOf(machine, 'switch_to', pid!);
      if (isFailure(task)) return task;
      machine.switchTo(task);
      return undefined;
    },
  },
  {
    name: 'current_pid',
    params: [],
    returnsValue: true,
    summary: 'The pid of the task the scenario runs as (current->pid): 1 until switch_to.',
    doc: 'The pid of `current`, the task the scenario runs as: 1 (the scenario itself) until `switch_to`.',
    returns: 'a pid',
    topic: 'processes',
    run(machine) {
      return machine.pid;
    },
  },
  {
    name: 'exit',
    params: ['pid'],
    returnsValue: false,
    summary: 'Ends a process: every page it maps loses a reference, its page tables and kernel stack are freed.',
    doc: 'Every page the process maps loses a reference; its page tables and kernel stack are freed.',
    returns: 'nothing',
    topic: 'processes',
    run(machine, [pid]) {
      const task = taskOf(machine, 'exit', pid!);
      if (isFailure(task)) return task;
      const e = machine.tasks.exit(task);
      return e ? failure(e) : undefined;
    },
  },
  {
    name: 'mmap',
    params: ['pid', 'addr', 'len', 'prot'],
    returnsValue: true,
    summary:
      'Maps len bytes of anonymous private memory at a fixed page-aligned user address with PROT_READ|PROT_WRITE|PROT_EXEC; no page until touched (demand-zero). Returns addr.',
    doc: 'Anonymous private memory at a fixed page-aligned address (`PROT_READ`, `PROT_WRITE`, `PROT_EXEC`); no page until touched.',
    returns: '`addr`',
    topic: 'processes',
    run(machine, [pid, addr, len, prot]) {
      const r0 = rangeOf(machine, 'mmap', pid!, addr!, len!);
      if (isFailure(r0)) return r0;
      const { task, a, l } = r0;
      if (typeof prot !== 'number') return { code: 'KM4220', message: `mmap: prot must be PROT_ flags (EINVAL)` };
      const r = machine.tasks.mmap(task, a, l, prot);
      return isTaskError(r) ? failure(r) : r;
    },
  },
  {
    name: 'munmap',
    params: ['pid', 'addr', 'len'],
    returnsValue: false,
    summary: 'Unmaps [addr, addr + len): pages lose a reference, emptied page tables are freed.',
    doc: 'Unmaps, freeing pages and emptied page tables.',
    returns: 'nothing',
    topic: 'processes',
    run(machine, [pid, addr, len]) {
      const r0 = rangeOf(machine, 'munmap', pid!, addr!, len!);
      if (isFailure(r0)) return r0;
      const { task, a, l } = r0;
      const r = machine.tasks.munmap(task, a, l);
      return r ? failure(r) : undefined;
    },
  },
  {
    name: 'mprotect',
    params: ['pid', 'addr', 'len', 'prot'],
    returnsValue: false,
    summary:
      'Changes the protection of [addr, addr + len); a page still shared copy-on-write stays read-only until written.',
    doc: 'Changes the protection; a page still shared copy-on-write stays read-only until written.',
    returns: 'nothing',
    topic: 'processes',
    run(machine, [pid, addr, len, prot]) {
      const r0 = rangeOf(machine, 'mprotect', pid!, addr!, len!);
      if (isFailure(r0)) return r0;
      const { task, a, l } = r0;
      if (typeof prot !== 'number') return { code: 'KM4220', message: `mprotect: prot must be PROT_ flags (EINVAL)` };
      const r = machine.tasks.mprotect(task, a, l, prot);
      return r ? failure(r) : undefined;
    },
  },
  {
    name: 'touch',
    params: ['pid', 'addr', 'len', 'access'],
    returnsValue: true,
    summary:
      "User-mode accesses to every page of [addr, addr + len): access is PROT_READ, PROT_WRITE or PROT_EXEC. Faults are handled as the kernel does (demand-zero, copy-on-write); a bad access kills the task with the kernel's segfault line. Returns the number of pages faulted in, or -1 when the task died.",
    doc: "User-mode accesses (`PROT_READ`, `PROT_WRITE` or `PROT_EXEC`) to every page of the range: demand-zero and copy-on-write faults as the kernel handles them; returns the faults handled, or -1 when the access was bad and the process was killed (the kernel's `segfault at` line in the log).",
    returns: 'a count',
    topic: 'processes',
    run(machine, [pid, addr, len, access]) {
      const r0 = rangeOf(machine, 'touch', pid!, addr!, len!);
      if (isFailure(r0)) return r0;
      const { task, a, l } = r0;
      if (access !== PROT_READ && access !== PROT_WRITE && access !== PROT_EXEC) {
        return {
          code: 'KM4220',
          message: `touch: access must be PROT_READ, PROT_WRITE or PROT_EXEC, not ${formatValue(access!)}`,
        };
      }
      const kind = access === PROT_WRITE ? 'write' : access === PROT_EXEC ? 'exec' : 'read';
      const page = BigInt(PAGE_SIZE);
      const end = a + BigInt(l);
      let faults = 0;
      for (let va = a; va < end; va = (va & ~(page - 1n)) + page) {
        let r = machine.tasks.access(task, va, kind);
        // VM_FAULT_OOM: the allocator already ran the OOM killer; when it killed another task the fault is
        // retried (pagefault_out_of_memory returns), when it killed this one the access never completes.
        for (let retries = machine.tasks.tasks.size; !r.ok && r.kind === 'oom' && retries > 0; retries--) {
          if (machine.panic || !task.alive) return -1;
          r = machine.tasks.access(task, va, kind);
        }
        if (!r.ok) {
          if (machine.panic || !task.alive) return -1;
          if (r.kind === 'oom') {
            return { code: 'KM4222', message: `touch: out of memory in a page fault (VM_FAULT_OOM)` };
          }
          machine.tasks.exit(task); // SIGSEGV / SIGKILL: the default action ends the process
          return -1;
        }
        faults += r.faults.length;
      }
      return faults;
    },
  },
  {
    name: 'kstack_use',
    params: ['pid', 'bytes'],
    returnsValue: false,
    summary:
      "Runs kernel code on the task's 16K vmalloc'd stack that needs `bytes` of it. Past 16K the stack runs into the unmapped guard page below it: the kernel's stack-overflow report, and the scenario stops (KM4012).",
    doc: "Kernel code on the process's 16K stack needing `bytes` of it; past 16K it hits the guard page below: the kernel's stack-overflow report (KM4012).",
    returns: 'nothing',
    topic: 'processes',
    run(machine, [pid, bytesArg]) {
      const task = taskOf(machine, 'kstack_use', pid!);
      if (isFailure(task)) return task;
      if (typeof bytesArg !== 'number' || bytesArg < 0) {
        return { code: 'KM4220', message: `kstack_use: bytes must be a byte count, not ${formatValue(bytesArg!)}` };
      }
      // The stack grows down from the top of its THREAD_SIZE area; each page it reaches is written, from the
      // top down to the lowest byte used (end - bytes).
      const begin = task.stack.addr;
      const end = begin + BigInt(THREAD_SIZE);
      const page = BigInt(PAGE_SIZE);
      const low = end - BigInt(bytesArg);
      for (let sp = end - 8n; bytesArg > 0 && sp >= low - page + 1n; sp -= page) {
        const at = sp < low ? low : sp;
        const r = machine.kernelPt.access(at, 'write', false);
        if (!r.ok) {
          const report = stackOverflowReport(machine, task, at & ~7n, begin, end);
          machine.printk(report);
          machine.tasks.exit(task);
          return { code: 'KM4012', message: report.slice(0, report.indexOf('\n')), report };
        }
      }
      return undefined;
    },
  },
  {
    name: 'ktouch',
    params: ['pid', 'addr', 'access'],
    returnsValue: false,
    summary:
      "Kernel code running for the process reads, writes or executes (PROT_READ, PROT_WRITE, PROT_EXEC) one kernel address: fine in the direct map or a live vmalloc area; an unmapped address (a freed vmalloc area, a guard page, NULL) is the kernel's page-fault oops and the scenario stops (KM4013).",
    doc: "Kernel code, running for the process, reads, writes or executes one kernel address; an unmapped one (a freed vmalloc area, a guard page, NULL) is the kernel's page-fault oops (KM4013).",
    returns: 'nothing',
    topic: 'processes',
    run(machine, [pid, addr, access]) {
      const task = taskOf(machine, 'ktouch', pid!);
      if (isFailure(task)) return task;
      const a = addrOf('ktouch', addr!);
      if (isFailure(a)) return a;
      if (access !== PROT_READ && access !== PROT_WRITE && access !== PROT_EXEC) {
        return {
          code: 'KM4220',
          message: `ktouch: access must be PROT_READ, PROT_WRITE or PROT_EXEC, not ${formatValue(access!)}`,
        };
      }
      const kind = access === PROT_WRITE ? 'write' : access === PROT_EXEC ? 'exec' : 'read';
      const r = task.mm.access(a, kind, false);
      if (r.ok) return undefined;
      const report = formatKernelFaultOops(machine, task.mm, a, r.fault, task);
      machine.printk(report);
      return { code: 'KM4013', message: report.slice(0, report.indexOf('\n')), report };
    },
  },
  {
    name: 'user_pfn',
    params: ['pid', 'addr'],
    returnsValue: true,
    summary: "The page frame a user address maps to in the process's page table, or -1 when nothing is mapped there.",
    doc: "The frame a user address maps in the process's page table.",
    returns: 'a pfn or -1',
    topic: 'processes',
    run(machine, [pid, addr]) {
      const task = taskOf(machine, 'user_pfn', pid!);
      if (isFailure(task)) return task;
      const a = addrOf('user_pfn', addr!);
      if (isFailure(a)) return a;
      const phys = task.mm.translate(a);
      return phys < 0 ? -1 : Math.floor(phys / PAGE_SIZE);
    },
  },
];

/**
 * What the kernel prints when a task's kernel stack overflows into the guard page below it.
 * x86-64 (arch/x86/kernel/traps.c handle_stack_overflow, reached from the double fault): the BUG line, then
 * die("stack guard page")'s header and CPU line (%p printed raw, as with no_hash_pointers; PREEMPT SMP and
 * NOPTI for a kernel with PTI on a CPU that does not need it). RISC-V (arch/riscv/kernel/traps.c
 * handle_bad_stack): the task stack's bounds and panic("Kernel stack overflow"); the per-CPU overflow stack's
 * address is not modelled and left out.
 */
function stackOverflowReport(machine: Machine, task: Task, addr: bigint, begin: bigint, end: bigint): string {
  const hex = (v: bigint) => `0x${v.toString(16).padStart(16, '0')}`;
  const p = (v: bigint) => v.toString(16).padStart(16, '0');
  if (machine.arch.family === 'riscv') {
    return (
      'Insufficient stack space to handle exception!\n' +
      `Task stack:     [${hex(begin)}..${hex(end)}]\n` +
      'Kernel panic - not syncing: Kernel stack overflow\n'
    );
  }
  return (
    `BUG: TASK stack guard page was hit at ${p(addr)} (stack is ${p(begin)}..${p(end)})\n` +
    'Oops: stack guard page: 0000 [#1] PREEMPT SMP NOPTI\n' +
    `CPU: ${machine.cpu} UID: 0 PID: ${task.pid} Comm: ${task.comm} Not tainted 6.12.0 #1\n`
  );
}

/** PROT_* constants scenarios may name (include/uapi/asm-generic/mman-common.h). */
export const PROT_NAMES: ReadonlyMap<string, number> = new Map([
  ['PROT_NONE', PROT_NONE],
  ['PROT_READ', PROT_READ],
  ['PROT_WRITE', PROT_WRITE],
  ['PROT_EXEC', PROT_EXEC],
]);
