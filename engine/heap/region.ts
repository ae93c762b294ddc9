/*
 * What every emulated user-level heap shares: the byte region a heap lives in, and the interface the debugger
 * shows a heap through (tlsf.ts, freelist.ts).
 *
 * A region is its own Uint8Array of the heap's size, mapped at an emulated base address: address a is byte
 * a - base. Heaps that keep their metadata in memory (TLSF: block headers and the control structure) store it
 * here as little-endian 64-bit words, exactly where the C allocator would, so a scenario that writes past the
 * end of an allocation corrupts the next header as it would on hardware. The region is not part of the
 * emulated physical memory (physmem.ts); it stands for memory an RTOS or a user program already owns.
 *
 * Addresses are JavaScript numbers (integers below 2^53). Word accessors here check bounds and return
 * undefined instead of throwing; heaps build their own "corrupted" errors on top.
 *
 * The Heap interface: malloc returns a HeapResult (ok, the address the caller uses, the steps it took), free a
 * HeapFreeResult; errors are values with stable codes (KM6001.. TLSF, KM6101.. free list), never exceptions.
 * stats() and blocks() are views for the debugger: they walk the heap and cost O(blocks).
 */

/** A heap error: a stable code and a message a person can act on. */
export interface HeapError {
  readonly code: string;
  readonly message: string;
}

export interface HeapResult {
  readonly ok: boolean;
  /** The address the caller uses (past any header); when !ok, the allocator's failure value (0 or -1). */
  readonly addr: number;
  /** Work done by this call, in the heap's own unit of a step (see each heap's opening comment). */
  readonly steps: number;
  readonly error?: HeapError;
}

export interface HeapFreeResult {
  readonly ok: boolean;
  readonly steps: number;
  readonly error?: HeapError;
}

/** Calls of one operation: how many, their steps, the worst single call. Failed calls count in failures. */
export interface HeapOpStats {
  count: number;
  failures: number;
  totalSteps: number;
  worstSteps: number;
}

export interface HeapStats {
  readonly kind: 'tlsf' | 'freelist';
  /** Bytes the heap manages, metadata included. */
  readonly heapBytes: number;
  /** Bytes in live blocks that the caller may use (block sizes, rounding included, headers excluded). */
  readonly usedBytes: number;
  /** Bytes in free blocks that an allocation could use. */
  readonly freeBytes: number;
  /** The largest free block (the largest request that could still succeed, before alignment and headers). */
  readonly largestFree: number;
  /** 1 - largestFree / freeBytes: 0 when all free space is one block (or none is free), towards 1 when scattered. */
  readonly fragmentation: number;
  /** Metadata: heapBytes - usedBytes - freeBytes (headers, control structure, alignment slack). */
  readonly overheadBytes: number;
  /** The part of overheadBytes that is block headers (per-block words, pool sentinels). */
  readonly headerBytes: number;
  readonly liveBlocks: number;
  readonly freeBlocks: number;
  /** Steps of the last operation, and the worst of any operation so far. */
  readonly lastSteps: number;
  readonly worstSteps: number;
  /** Per operation name (malloc, free, and whatever else the heap offers). */
  readonly ops: Readonly<Record<string, HeapOpStats>>;
}

/** One block in address order, as a memory view shows it. */
export interface HeapBlockView {
  /** First byte of the block, header included. */
  readonly start: number;
  /** One past its last byte. */
  readonly end: number;
  /** The address malloc returned for it (start + header). */
  readonly addr: number;
  /** Bytes usable by the caller (end - addr). */
  readonly size: number;
  readonly used: boolean;
}

export interface Heap {
  readonly kind: 'tlsf' | 'freelist';
  malloc(size: number): HeapResult;
  free(addr: number): HeapFreeResult;
  stats(): HeapStats;
  blocks(): HeapBlockView[];
}

export function emptyOpStats(): HeapOpStats {
  return { count: 0, failures: 0, totalSteps: 0, worstSteps: 0 };
}

/** The fragmentation figure every heap reports (see HeapStats.fragmentation). */
export function fragmentation(largestFree: number, freeBytes: number): number {
  return freeBytes > 0 ? 1 - largestFree / freeBytes : 0;
}

const TWO_32 = 4294967296;

/** A heap's bytes at an emulated base address. */
export class ByteRegion {
  readonly base: number;
  readonly bytes: Uint8Array;
  readonly view: DataView;

  /** A zero-filled region of `size` bytes at `base`, or one over existing bytes. */
  constructor(base: number, size: number | Uint8Array) {
    this.base = base;
    this.bytes = typeof size === 'number' ? new Uint8Array(size) : size;
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
  }

  get size(): number {
    return this.bytes.length;
  }

  /** One past the last address. */
  get end(): number {
    return this.base + this.bytes.length;
  }

  /** True when [addr, addr + len) lies inside the region. */
  contains(addr: number, len = 1): boolean {
    return Number.isInteger(addr) && addr >= this.base && addr + len <= this.base + this.bytes.length;
  }

  /** The 64-bit little-endian word at addr, or undefined when it is not inside the region. */
  read64(addr: number): number | undefined {
    if (!this.contains(addr, 8)) return undefined;
    const off = addr - this.base;
    return this.view.getUint32(off + 4, true) * TWO_32 + this.view.getUint32(off, true);
  }

  /** Writes a 64-bit little-endian word (value below 2^53); false when addr is not inside the region. */
  write64(addr: number, value: number): boolean {
    if (!this.contains(addr, 8)) return false;
    const off = addr - this.base;
    this.view.setUint32(off, value >>> 0, true);
    this.view.setUint32(off + 4, Math.floor(value / TWO_32), true);
    return true;
  }

  read8(addr: number): number | undefined {
    return this.contains(addr) ? this.bytes[addr - this.base] : undefined;
  }

  write8(addr: number, value: number): boolean {
    if (!this.contains(addr)) return false;
    this.bytes[addr - this.base] = value;
    return true;
  }
}
