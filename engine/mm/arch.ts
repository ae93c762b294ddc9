/*
 * The architectures the emulator models and what differs between them: paging depth, where RAM starts,
 * which DMA zones exist, and the kernel's virtual memory layout.
 *
 *   x86_64       4-level paging (48-bit virtual addresses), RAM from physical 0, zones DMA, DMA32, Normal;
 *   x86_64-la57  the same with 5-level paging (57-bit), as CONFIG_X86_5LEVEL on a CPU with LA57;
 *   sv39, sv48   RISC-V 64 with 3- and 4-level paging; RAM starts at 0x80000000 as on QEMU's virt machine,
 *                zones DMA32 (below 4 GiB physical) and Normal (arch/riscv/mm/init.c zone_sizes_init).
 *
 * The virtual layouts are those of Linux 6.12 without KASLR (CONFIG_RANDOMIZE_MEMORY off, so the bases are
 * the documented defaults), KASAN or KMSAN:
 *   x86: Documentation/arch/x86/x86_64/mm.rst (4-level and 5-level tables) and
 *        arch/x86/include/asm/pgtable_64_types.h (__VMALLOC_BASE_L4/L5, VMALLOC_SIZE_TB_L4/L5,
 *        __VMEMMAP_BASE_L4/L5, MODULES_END, LDT_PGD_ENTRY, GUARD_HOLE_*, CPU_ENTRY_AREA_PGD, ESPFIX_PGD_ENTRY,
 *        EFI_VA_END);
 *   RISC-V: Documentation/arch/riscv/vm-layout.rst (Sv39 and Sv48 tables) and arch/riscv/include/asm/pgtable.h
 *        (VMALLOC_START = PAGE_OFFSET - KERN_VIRT_SIZE / 2, VMEMMAP_SHIFT, PCI_IO_SIZE = 16M, FIXADDR_SIZE =
 *        PMD_SIZE + FIX_FDT_SIZE = 6M, KERNEL_LINK_ADDR = -2G).
 *
 * Conventions: every address is a bigint; every `...End` is exclusive (the first address after the region),
 * unlike the inclusive "End addr" column of the documents. Page tables (pgtable.ts), ptdump and vmalloc read
 * the layout from here.
 */

export type ArchName = 'x86_64' | 'x86_64-la57' | 'sv39' | 'sv48';

export const ARCH_NAMES: readonly ArchName[] = ['x86_64', 'x86_64-la57', 'sv39', 'sv48'];

export interface ArchSpec {
  readonly name: ArchName;
  readonly family: 'x86' | 'riscv';
  /** Levels of page tables: 4 or 5 on x86-64, 3 (Sv39) or 4 (Sv48) on RISC-V. */
  readonly levels: number;
  /** Physical address of the first byte of RAM. */
  readonly physBase: number;
  /** ZONE_DMA exists (x86-64 only). */
  readonly hasZoneDma: boolean;
  /** Base of the direct map: the virtual address of physBase. */
  readonly pageOffset: bigint;

  /** Implemented virtual-address bits; bits 63..vaBits-1 must all be equal (a canonical address). */
  readonly vaBits: number;
  /** RISC-V satp.MODE for this paging mode (8 Sv39, 9 Sv48); undefined on x86. */
  readonly satpMode: number | undefined;
  /** TASK_SIZE_MAX: end of user space (x86 keeps the last page below 2^47 / 2^56 unmapped as a guard). */
  readonly userTop: bigint;
  /** First canonical address of the upper (kernel) half. */
  readonly kernelHalfStart: bigint;
  /** Size of the direct map region (it starts at pageOffset); RAM fills its beginning. */
  readonly directMapSize: bigint;
  readonly vmallocStart: bigint;
  readonly vmallocEnd: bigint;
  readonly vmemmapStart: bigint;
  readonly vmemmapEnd: bigint;
  readonly modulesStart: bigint;
  readonly modulesEnd: bigint;
  /** The kernel image mapping: x86 __START_KERNEL_map (512 MiB), RISC-V KERNEL_LINK_ADDR (the last 2 GiB). */
  readonly kernelTextStart: bigint;
  readonly kernelTextEnd: bigint;
  readonly fixmapStart: bigint;
  readonly fixmapEnd: bigint;
  /** RISC-V PCI I/O window (PCI_IO_START..PCI_IO_END); undefined on x86. */
  readonly pciIoStart: bigint | undefined;
  readonly pciIoEnd: bigint | undefined;
}

const TOP = 1n << 64n;

/** mm.rst, "Complete virtual memory map with 4-level page tables". */
const X86_64: ArchSpec = {
  name: 'x86_64',
  family: 'x86',
  levels: 4,
  physBase: 0,
  hasZoneDma: true,
  pageOffset: 0xffff888000000000n,
  vaBits: 48,
  satpMode: undefined,
  // arch/x86/include/asm/page_64.h: TASK_SIZE_MAX = (1 << 47) - PAGE_SIZE.
  userTop: 0x00007ffffffff000n,
  kernelHalfStart: 0xffff800000000000n,
  directMapSize: 64n << 40n, // 64 TB, ffff888000000000..ffffc87fffffffff
  vmallocStart: 0xffffc90000000000n, // __VMALLOC_BASE_L4, VMALLOC_SIZE_TB_L4 = 32
  vmallocEnd: 0xffffe90000000000n,
  vmemmapStart: 0xffffea0000000000n, // __VMEMMAP_BASE_L4, 1 TB
  vmemmapEnd: 0xffffeb0000000000n,
  // mm.rst: "module mapping space" from ffffffffa0000000 (MODULES_VADDR = __START_KERNEL_map +
  // KERNEL_IMAGE_SIZE with the table's 512 MB image size) to MODULES_END = ffffffffff000000.
  modulesStart: 0xffffffffa0000000n,
  modulesEnd: 0xffffffffff000000n,
  kernelTextStart: 0xffffffff80000000n, // __START_KERNEL_map
  kernelTextEnd: 0xffffffffa0000000n,
  // mm.rst gives FIXADDR_START only as "~-11 MB, variable size and offset"; modelled as exactly -11 MB.
  // The range ends at FIXADDR_TOP + PAGE_SIZE = 0xffffffffff800000 (arch/x86/include/asm/fixmap.h
  // FIXADDR_TOP = round_up(VSYSCALL_ADDR + PAGE_SIZE, PMD_SIZE) - PAGE_SIZE), so it holds the vsyscall page.
  fixmapStart: 0xffffffffff500000n,
  fixmapEnd: 0xffffffffff800000n,
  pciIoStart: undefined,
  pciIoEnd: undefined,
};

/** mm.rst, "Complete virtual memory map with 5-level page tables"; the last 2 TB are the 4-level layout. */
const X86_64_LA57: ArchSpec = {
  ...X86_64,
  name: 'x86_64-la57',
  levels: 5,
  pageOffset: 0xff11000000000000n,
  vaBits: 57,
  userTop: 0x00fffffffffff000n, // (1 << 56) - PAGE_SIZE
  kernelHalfStart: 0xff00000000000000n,
  directMapSize: 32n << 50n, // 32 PB, ff11000000000000..ff90ffffffffffff
  vmallocStart: 0xffa0000000000000n, // __VMALLOC_BASE_L5, VMALLOC_SIZE_TB_L5 = 12800 (12.5 PB)
  vmallocEnd: 0xffd2000000000000n,
  vmemmapStart: 0xffd4000000000000n, // __VMEMMAP_BASE_L5, 0.5 PB
  vmemmapEnd: 0xffd6000000000000n,
};

/** vm-layout.rst, "RISC-V Linux Kernel SV39". */
const SV39: ArchSpec = {
  name: 'sv39',
  family: 'riscv',
  levels: 3,
  physBase: 0x80000000,
  hasZoneDma: false,
  pageOffset: 0xffffffd600000000n,
  vaBits: 39,
  satpMode: 8,
  userTop: 0x0000004000000000n, // TASK_SIZE = PGDIR_SIZE * PTRS_PER_PGD / 2 = 256 GB
  kernelHalfStart: 0xffffffc000000000n,
  directMapSize: 128n << 30n, // ffffffd600000000..fffffff5ffffffff
  vmallocStart: 0xffffffc600000000n, // 64 GB
  vmallocEnd: 0xffffffd600000000n, // VMALLOC_END = PAGE_OFFSET
  vmemmapStart: 0xffffffc500000000n, // 4 GB
  vmemmapEnd: 0xffffffc600000000n,
  // "modules, BPF": MODULES_LOWEST_VADDR = KERNEL_LINK_ADDR - 2G. The kernel's MODULES_VADDR is
  // PFN_ALIGN(_end) - 2G, a little higher by the size of the image; the model uses the documented start.
  modulesStart: 0xffffffff00000000n,
  modulesEnd: 0xffffffff80000000n,
  kernelTextStart: 0xffffffff80000000n, // KERNEL_LINK_ADDR
  kernelTextEnd: TOP,
  fixmapStart: 0xffffffc4fea00000n, // FIXADDR_TOP - FIXADDR_SIZE (6 MB)
  fixmapEnd: 0xffffffc4ff000000n, // FIXADDR_TOP = PCI_IO_START
  pciIoStart: 0xffffffc4ff000000n,
  pciIoEnd: 0xffffffc500000000n, // PCI_IO_END = VMEMMAP_START
};

/** vm-layout.rst, "RISC-V Linux Kernel SV48". */
const SV48: ArchSpec = {
  ...SV39,
  name: 'sv48',
  levels: 4,
  pageOffset: 0xffffaf8000000000n,
  vaBits: 48,
  satpMode: 9,
  userTop: 0x0000800000000000n, // 128 TB
  kernelHalfStart: 0xffff800000000000n,
  directMapSize: 64n << 40n, // ffffaf8000000000..ffffef7fffffffff
  vmallocStart: 0xffff8f8000000000n, // 32 TB
  vmallocEnd: 0xffffaf8000000000n,
  vmemmapStart: 0xffff8d8000000000n, // 2 TB
  vmemmapEnd: 0xffff8f8000000000n,
  fixmapStart: 0xffff8d7ffea00000n,
  fixmapEnd: 0xffff8d7fff000000n,
  pciIoStart: 0xffff8d7fff000000n,
  pciIoEnd: 0xffff8d8000000000n,
};

const SPECS: Readonly<Record<ArchName, ArchSpec>> = {
  x86_64: X86_64,
  'x86_64-la57': X86_64_LA57,
  sv39: SV39,
  sv48: SV48,
};

export function archSpec(name: ArchName): ArchSpec {
  return SPECS[name];
}

export function isArchName(name: string): name is ArchName {
  return Object.prototype.hasOwnProperty.call(SPECS, name);
}

export type RegionName =
  | 'user'
  | 'direct map'
  | 'vmalloc'
  | 'vmemmap'
  | 'modules'
  | 'kernel text'
  | 'fixmap'
  | 'PCI I/O'
  | 'non-canonical'
  | 'hole';

/** True when bits 63..vaBits-1 of va are all equal (and va is a 64-bit value). */
export function isCanonical(spec: ArchSpec, va: bigint): boolean {
  if (va < 0n || va >= TOP) return false;
  const top = va >> BigInt(spec.vaBits - 1);
  return top === 0n || top === (1n << BigInt(65 - spec.vaBits)) - 1n;
}

/**
 * The region of the layout that holds va. Addresses between regions (guard holes, the LDT remap, the
 * cpu_entry_area, ESPfix and EFI areas on x86, KASAN shadow, the guard page below TASK_SIZE_MAX) are "hole".
 */
export function regionOf(spec: ArchSpec, va: bigint): RegionName {
  if (!isCanonical(spec, va)) return 'non-canonical';
  if (va < spec.kernelHalfStart) return va < spec.userTop ? 'user' : 'hole';
  const within = (start: bigint | undefined, end: bigint | undefined): boolean =>
    start !== undefined && end !== undefined && va >= start && va < end;
  if (within(spec.pageOffset, spec.pageOffset + spec.directMapSize)) return 'direct map';
  if (within(spec.vmallocStart, spec.vmallocEnd)) return 'vmalloc';
  if (within(spec.vmemmapStart, spec.vmemmapEnd)) return 'vmemmap';
  if (within(spec.modulesStart, spec.modulesEnd)) return 'modules';
  if (within(spec.kernelTextStart, spec.kernelTextEnd)) return 'kernel text';
  if (within(spec.fixmapStart, spec.fixmapEnd)) return 'fixmap';
  if (within(spec.pciIoStart, spec.pciIoEnd)) return 'PCI I/O';
  return 'hole';
}
