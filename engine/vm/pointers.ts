/*
 * Pointer values without a BigInt per call: a direct-mapped cache between physical addresses (numbers, as
 * the machine speaks) and kernel virtual addresses (bigint, as scenarios hold them).
 *
 * physToVirt/virtToPhys (engine/mm/address.ts) allocate one or two BigInts per conversion, which is most
 * of the cost of a kmalloc/kfree pair in a loop. The cache keeps the last pointer made for each slot:
 *
 *   slot(phys) = ((PAGE_OFFSET as a double) + phys) / 2048  mod SIZE
 *   slot(ptr)  = Number(ptr) / 2048                         mod SIZE
 *
 * Both are the same number for ptr = PAGE_OFFSET + phys (with RAM at physical 0; RISC-V subtracts where RAM
 * starts): PAGE_OFFSET is a multiple of 2048 on every modelled architecture, the doubles near 2^64 are 2048
 * apart, and both sides round the same exact sum to the nearest double. A hit is
 * confirmed by comparing the stored phys (or the stored bigint), so the slot function only decides how
 * often the cache hits, never what a conversion returns.
 */

const SIZE = 4096;
const MASK = SIZE - 1;

export class PointerCache {
  private readonly phys = new Float64Array(SIZE).fill(-1);
  private readonly ptrs: bigint[] = new Array<bigint>(SIZE).fill(0n);
  /** PAGE_OFFSET - physBase: the direct map puts the first byte of RAM (physBase) at PAGE_OFFSET. */
  private readonly offsetBig: bigint;
  private readonly offsetDouble: number;

  constructor(pageOffset: bigint, physBase: number) {
    this.offsetBig = pageOffset - BigInt(physBase);
    this.offsetDouble = Number(pageOffset) - physBase;
  }

  /** PAGE_OFFSET + phys - physBase, for RAM addresses below 2^46. */
  toPointer(phys: number): bigint {
    const slot = ((this.offsetDouble + phys) / 2048) & MASK;
    if (this.phys[slot] === phys) {
      return this.ptrs[slot]!;
    }
    const ptr = this.offsetBig + BigInt(phys);
    this.phys[slot] = phys;
    this.ptrs[slot] = ptr;
    return ptr;
  }

  /** ptr - PAGE_OFFSET + physBase, for a direct-map pointer (the caller checks the range). */
  toPhys(ptr: bigint): number {
    const slot = (Number(ptr) / 2048) & MASK;
    if (this.ptrs[slot] === ptr) {
      return this.phys[slot]!;
    }
    return Number(ptr - this.offsetBig);
  }
}
