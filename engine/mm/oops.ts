/*
 * What the kernel prints when kernel code touches an address it may not: the page-fault oops.
 *
 * x86-64 (arch/x86/mm/fault.c show_fault_oops, dump_pagetable; arch/x86/kernel/dumpstack.c __die_header,
 * Linux 6.12, whose die header carries the "Oops: " prefix added in 6.10, hence "Oops: Oops: 0002"):
 *
 *   BUG: unable to handle page fault for address: ffffc90004f81000     (or "BUG: kernel NULL pointer
 *   #PF: supervisor write access in kernel mode                         dereference, address: ..." below
 *   #PF: error_code(0x0002) - not-present page                          PAGE_SIZE)
 *   PGD 1b000067 P4D 1b000067 PUD 1c281067 PMD 2508d067 PTE 0
 *   Oops: Oops: 0002 [#1] PREEMPT SMP NOPTI
 *   CPU: 2 UID: 0 PID: 7998 Comm: kmem Not tainted 6.12.0 #1
 *
 * dump_pagetable() prints each level's raw entry with %lx until one is not present or is a leaf; with
 * 4-level paging the p4d is the pgd folded, so its value repeats. RISC-V (arch/riscv/mm/fault.c
 * die_kernel_fault, arch/riscv/kernel/traps.c die): "Unable to handle kernel paging request at virtual
 * address %016lx" (or "NULL pointer dereference"), then "Oops [#1]" and the CPU line. The emulator prints
 * %px and %p raw (as with no_hash_pointers), leaves out registers, the code bytes and the call trace, and
 * assumes PREEMPT, SMP and a CPU that needs no PTI.
 */

import { PAGE_SIZE } from './config';
import { Machine } from './machine';
import { PageFault, PageTable, X86_PF_INSTR, X86_PF_USER, X86_PF_WRITE, formatX86ErrorCode } from './pgtable';

export interface OopsContext {
  readonly pid: number;
  readonly comm: string;
}

/** The kernel's oops for a kernel-mode fault at va, walked in table pt. */
export function formatKernelFaultOops(
  machine: Machine,
  pt: PageTable,
  va: bigint,
  fault: PageFault,
  ctx: OopsContext,
): string {
  const addr = BigInt.asUintN(64, va).toString(16).padStart(16, '0');
  const cpuLine = `CPU: ${machine.cpu} UID: 0 PID: ${ctx.pid} Comm: ${ctx.comm} Not tainted 6.12.0 #1\n`;
  const isNull = va >= 0n && va < BigInt(PAGE_SIZE);
  if (machine.arch.family === 'riscv') {
    return (
      `Unable to handle kernel ${isNull ? 'NULL pointer dereference' : 'paging request'} at virtual address ${addr}\n` +
      'Oops [#1]\n' +
      cpuLine
    );
  }
  const e = fault.errorCode;
  const access = e & X86_PF_INSTR ? 'instruction fetch' : e & X86_PF_WRITE ? 'write access' : 'read access';
  return (
    (isNull
      ? `BUG: kernel NULL pointer dereference, address: ${addr}\n`
      : `BUG: unable to handle page fault for address: ${addr}\n`) +
    `#PF: ${e & X86_PF_USER ? 'user' : 'supervisor'} ${access} in kernel mode\n` +
    `#PF: ${formatX86ErrorCode(e)}\n` +
    `${dumpPagetable(machine, pt, va)}\n` +
    `Oops: Oops: ${e.toString(16).padStart(4, '0')} [#1] PREEMPT SMP NOPTI\n` +
    cpuLine
  );
}

/** x86 dump_pagetable(): "PGD %lx P4D %lx PUD %lx PMD %lx PTE %lx", stopping after a missing entry or a leaf. */
export function dumpPagetable(machine: Machine, pt: PageTable, va: bigint): string {
  const walk = pt.walk(va);
  const names: Record<string, string> = { pgd: 'PGD', p4d: 'P4D', pud: 'PUD', pmd: 'PMD', pte: 'PTE' };
  const parts: string[] = [];
  for (const level of walk.levels) {
    const value = level.entry.toString(16);
    parts.push(`${names[level.level]} ${value}`);
    // 4-level paging: pgd_present() is always true and p4d_offset() is the pgd entry itself.
    if (level.level === 'pgd' && machine.arch.levels === 4) parts.push(`P4D ${value}`);
  }
  return parts.join(' ');
}
