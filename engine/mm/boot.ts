/*
 * What memblock keeps back from the buddy allocator at boot, so a fresh machine looks booted: the ranges
 * are marked PG_reserved and never reach a free list; MemTotal (managed pages) excludes them.
 *
 *   x86-64   the first 1 MiB (arch/x86/kernel/setup.c reserves it for the BIOS and real mode since 5.13);
 *   RISC-V   the firmware at the start of RAM: OpenSBI's PMP-protected region, 512 KiB on QEMU's virt
 *            machine (its device tree's reserved-memory node), an assumption of the model;
 *   kernel   the kernel image (text, data, bss), loaded at CONFIG_PHYSICAL_START = 16 MiB on x86-64 when the
 *            machine has room for it (else at the first 2 MiB boundary above the low reservation, as a
 *            relocatable kernel would go), and 2 MiB into RAM on RISC-V (after the firmware). Its size is
 *            a model parameter: 8 MiB, a quarter of RAM on machines under 32 MiB;
 *   memmap   one 64-byte struct page per frame of RAM (sizeof(struct page) on x86-64), allocated by
 *            memblock top-down, so it sits at the top of RAM.
 * The machine then adds the early page tables it builds for init_mm (direct map and kernel image), taken
 * just below the memmap and reserved as "page tables" (machine.ts buildKernelPageTable). That is a model
 * choice: a real x86-64 kernel maps its image with the static level2_kernel_pgt inside the image and takes
 * early direct-map tables from its brk area (pgt_buf); either way they are not free memory. Other small
 * memblock allocations (percpu areas, the log buffer, ...) are not modelled.
 */

import { ArchSpec } from './arch';
import { PAGE_SIZE } from './config';

export interface ReservedRange {
  /** memblock's name for the owner: "low memory", "firmware", "kernel image", "memmap". */
  readonly name: string;
  readonly startPfn: number;
  readonly endPfn: number;
}

/** sizeof(struct page) on x86-64 and RISC-V 64 with the usual configs. */
export const STRUCT_PAGE_SIZE = 64;
/** x86-64 reserves the first 1 MiB of RAM. */
export const RESERVED_LOW_BYTES = 1024 * 1024;
/** OpenSBI's region at the start of RAM on QEMU virt (assumed). */
export const RISCV_FIRMWARE_BYTES = 512 * 1024;
/** arch/x86/Kconfig PHYSICAL_START default. */
export const X86_PHYSICAL_START = 16 * 1024 * 1024;
const MIB = 1024 * 1024;

/** The kernel image size the model assumes for a machine of this much RAM. */
export function kernelImageBytes(memoryBytes: number): number {
  return memoryBytes < 32 * MIB ? memoryBytes / 4 : 8 * MIB;
}

/** The reserved ranges of a machine, sorted by address and disjoint. */
export function bootReservations(arch: ArchSpec, memoryBytes: number): ReservedRange[] {
  const base = arch.physBase;
  const end = base + memoryBytes;
  const pfn = (phys: number) => Math.floor(phys / PAGE_SIZE);
  const out: ReservedRange[] = [];
  let kernelStart: number;
  if (arch.family === 'x86') {
    out.push({ name: 'low memory', startPfn: pfn(base), endPfn: pfn(base + RESERVED_LOW_BYTES) });
    const image = kernelImageBytes(memoryBytes);
    const memmap = Math.ceil(((memoryBytes / PAGE_SIZE) * STRUCT_PAGE_SIZE) / PAGE_SIZE) * PAGE_SIZE;
    kernelStart = X86_PHYSICAL_START + image + memmap < end ? X86_PHYSICAL_START : 2 * MIB;
  } else {
    out.push({ name: 'firmware', startPfn: pfn(base), endPfn: pfn(base + RISCV_FIRMWARE_BYTES) });
    kernelStart = base + 2 * MIB;
  }
  const kernelEnd = kernelStart + kernelImageBytes(memoryBytes);
  // Only whole pages go to the buddy allocator (__free_memory_core: PFN_UP(start)): a partial last page of the
  // image stays reserved.
  out.push({ name: 'kernel image', startPfn: pfn(kernelStart), endPfn: Math.ceil(kernelEnd / PAGE_SIZE) });
  const memmapPages = Math.ceil(((memoryBytes / PAGE_SIZE) * STRUCT_PAGE_SIZE) / PAGE_SIZE);
  out.push({ name: 'memmap', startPfn: pfn(end) - memmapPages, endPfn: pfn(end) });
  return out;
}
