/*
 * The architectures the emulator models and what differs between them: paging depth, where RAM starts,
 * which DMA zones exist, and the kernel's direct-map base.
 *
 *   x86_64       4-level paging (48-bit virtual addresses), RAM from physical 0, zones DMA, DMA32, Normal;
 *   x86_64-la57  the same with 5-level paging (57-bit), as CONFIG_X86_5LEVEL on a CPU with LA57;
 *   sv39, sv48   RISC-V 64 with 3- and 4-level paging; RAM starts at 0x80000000 as on QEMU's virt machine,
 *                zones DMA32 (below 4 GiB physical) and Normal (arch/riscv/mm/init.c zone_sizes_init).
 *
 * The virtual layouts (Documentation/arch/x86/x86_64/mm.rst, Documentation/arch/riscv/vm-layout.rst) are
 * part of each spec; page tables (pgtable.ts) and vmalloc read them from here.
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
}

const SPECS: Readonly<Record<ArchName, ArchSpec>> = {
  x86_64: { name: 'x86_64', family: 'x86', levels: 4, physBase: 0, hasZoneDma: true, pageOffset: 0xffff888000000000n },
  'x86_64-la57': {
    name: 'x86_64-la57',
    family: 'x86',
    levels: 5,
    physBase: 0,
    hasZoneDma: true,
    pageOffset: 0xff11000000000000n,
  },
  sv39: {
    name: 'sv39',
    family: 'riscv',
    levels: 3,
    physBase: 0x80000000,
    hasZoneDma: false,
    pageOffset: 0xffffffd600000000n,
  },
  sv48: {
    name: 'sv48',
    family: 'riscv',
    levels: 4,
    physBase: 0x80000000,
    hasZoneDma: false,
    pageOffset: 0xffffaf8000000000n,
  },
};

export function archSpec(name: ArchName): ArchSpec {
  return SPECS[name];
}

export function isArchName(name: string): name is ArchName {
  return Object.prototype.hasOwnProperty.call(SPECS, name);
}
