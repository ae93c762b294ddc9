/*
 * Kernel virtual addresses of the direct map.
 *
 * The engine carries physical addresses as plain numbers (exact: every supported machine is below
 * 2^36 bytes). The kernel hands out direct-map virtual addresses, PAGE_OFFSET + phys, with
 * PAGE_OFFSET = 0xffff888000000000 on x86-64 with 4-level paging (Documentation/arch/x86/x86_64/mm.rst).
 * Those exceed 2^53, so they exist only as bigint or as text, at the edges: parsing, printing, and
 * values a scenario holds.
 */

export const PAGE_OFFSET = 0xffff888000000000n;
/** The low 40 bits of PAGE_OFFSET; phys + this stays below 2^53 for every supported machine. */
const PAGE_OFFSET_LOW = 0x8000000000;
const PAGE_OFFSET_HIGH_HEX = 'ffff88';

/** The direct-map virtual address of a physical address, as 16 hex digits with 0x (no bigint). */
export function formatVirt(phys: number): string {
  return `0x${PAGE_OFFSET_HIGH_HEX}${(PAGE_OFFSET_LOW + phys).toString(16).padStart(10, '0')}`;
}

export function physToVirt(phys: number): bigint {
  return PAGE_OFFSET + BigInt(phys);
}

/** The physical address behind a direct-map address, or undefined when it is not in the direct map of `memoryBytes`. */
export function virtToPhys(virt: bigint, memoryBytes: number): number | undefined {
  const phys = virt - PAGE_OFFSET;
  if (phys < 0n || phys >= BigInt(memoryBytes)) {
    return undefined;
  }
  return Number(phys);
}

/** Physical address as the kernel prints it with %pa: 0x and 16 hex digits. */
export function formatPhys(phys: number): string {
  return `0x${phys.toString(16).padStart(16, '0')}`;
}
