/*
 * TLSF, the Two-Level Segregated Fit allocator of real-time systems (Masmano, Ripoll, Crespo, Real, ECRTS
 * 2004), as M. Conte's tlsf.c (github.com/mattconte/tlsf, tlsf.c 3.1) builds it for 64-bit targets. Function
 * names below are tlsf.c's; each method says which one it follows.
 *
 * Idea: free blocks sit on segregated lists, one per size class. The class of a size is two indices: fl, from
 * the power of two 2^b at or below it (fl = b - 7; every size below 256 shares fl 0), and sl, which of
 * SL_INDEX_COUNT = 32 equal slices of [2^b, 2^(b+1)) it falls in.
 * A first-level bitmap says which fl rows hold any free block, one second-level bitmap per row says which
 * lists are non-empty. malloc rounds the request up to the next class boundary (mapping_search), so any block
 * on a list at or above that class fits, and finds one with two find-first-set instructions
 * (search_suitable_block): O(1), no list is ever walked. free merges with both physical neighbours at once
 * (block_merge_prev/block_merge_next, boundary tags) and pushes the result on its list: O(1) too.
 *
 *   mapping_insert(size):  size < SMALL_BLOCK_SIZE (256):  fl = 0, sl = size / 8
 *                          otherwise, b = fls(size):       sl = (size >> (b - 5)) ^ 32, fl = b - 7
 *   mapping_search(size):  size += (1 << (fls(size) - 5)) - 1 when size >= 256, then mapping_insert
 *
 * Constants (64-bit): ALIGN_SIZE 8, SL_INDEX_COUNT_LOG2 5, FL_INDEX_MAX 32, FL_INDEX_SHIFT 8, FL_INDEX_COUNT
 * 25, SMALL_BLOCK_SIZE 256, block_header_overhead 8 (sizeof(size_t)), block_size_min 24, block_size_max 2^32.
 *
 * Block header (block_header_t, little-endian 64-bit words, in the region's bytes):
 *
 *      block ->  +0  prev_phys_block   valid only while the previous block is free; it is the LAST word of
 *                                      the previous block's payload, so it costs a used block nothing
 *                +8  size | bit 1 prev free | bit 0 this free     <- the one word a used block pays
 *   ptr = +16    +16 next_free        \  free blocks only: their payload holds the list links; a used
 *                +24 prev_free        /  block's payload starts here (block_start_offset = 16)
 *                ... payload of `size` bytes; the next block's header starts at ptr + size - 8
 *
 * A pool (tlsf_add_pool) is one free block whose prev_phys_block word lies 8 bytes before the pool (never
 * used) followed by a zero-size used sentinel, so a pool of n bytes offers align_down(n - 16, 8) bytes.
 *
 * Control structure (control_t), also in the region, at the address given to create(), as tlsf_create puts
 * it at the start of its memory (createWithPool is tlsf_create_with_pool: control, then one pool after it):
 *   +0    block_null        a block_header_t that every empty list and list end points at
 *   +32   fl_bitmap         u32
 *   +36   sl_bitmap[25]     u32 each
 *   +136  blocks[25][32]    heads, 8 bytes each            sizeof(control_t) = tlsf_size() = 6536
 * So a scenario that overwrites a header, a list link or a bitmap corrupts this heap as it would tlsf.c's.
 *
 * Invariants (tlsf_check, tlsf_check_pool): a list's bit is set iff the list is non-empty; every block on list
 * (fl, sl) is free, maps to (fl, sl), is at least block_size_min, and has no free physical neighbour (free
 * blocks always coalesce); the prev-free bit of every block equals the free bit of the block before it.
 *
 * Steps (what stats count; one unit each, chosen so the bound is a property of the algorithm, not the
 * machine): a mapping (mapping_insert or mapping_search), a find-first-set on a bitmap (search_suitable_block
 * does one, or two when it moves to a higher fl row), a free-list operation (insert_free_block or
 * remove_free_block, bitmap updates included), a block_split, a block_absorb. Header flag writes and memcpy
 * are not steps. Hence the bounds, independent of heap size and live blocks (TLSF_STEP_BOUND, asserted in the
 * tests): malloc 7 (search 1 + 2 ffs + remove 1 + split 1 + insert 2), free 8 (merge prev 3 + merge next 3 +
 * insert 2), memalign 10 (malloc + leading trim 3), realloc 15 (malloc then free when it moves).
 *
 * Where this differs from tlsf.c: tlsf_assert()s are error values (KM6002 not a block, KM6003 double free,
 * KM6004 corrupted heap); free and realloc validate the header first (O(1): alignment, pool, size, neighbours'
 * flags and prev_phys_block back-link); every word access is bounds-checked, so corrupted bytes give KM6004
 * and never an exception or a write outside the region; realloc of a size that adjust_request_size refuses
 * (>= 2^32) fails instead of trimming the block to zero; pools are remembered (tlsf.c leaves that to the
 * caller) so walk(), check(), stats() and blocks() can cover them all, and a pool may not overlap the control
 * structure or another pool. tlsf_destroy, tlsf_get_pool and the default printf walker are left out.
 *
 * Checked when written: results and every byte of the region identical to tlsf.c built with gcc (x86-64) over
 * 300 random malloc/memalign/realloc/free sequences at the same base address (a one-off check, not a test).
 */

import { ByteRegion, emptyOpStats, fragmentation } from './region';
import type { Heap, HeapBlockView, HeapError, HeapFreeResult, HeapOpStats, HeapResult, HeapStats } from './region';

export const SL_INDEX_COUNT_LOG2 = 5;
export const ALIGN_SIZE_LOG2 = 3;
export const ALIGN_SIZE = 1 << ALIGN_SIZE_LOG2;
export const FL_INDEX_MAX = 32;
export const SL_INDEX_COUNT = 1 << SL_INDEX_COUNT_LOG2;
export const FL_INDEX_SHIFT = SL_INDEX_COUNT_LOG2 + ALIGN_SIZE_LOG2;
export const FL_INDEX_COUNT = FL_INDEX_MAX - FL_INDEX_SHIFT + 1;
export const SMALL_BLOCK_SIZE = 1 << FL_INDEX_SHIFT;

/** block_header_t field offsets. */
const PREV_PHYS = 0;
const SIZE = 8;
const NEXT_FREE = 16;
const PREV_FREE = 24;
export const BLOCK_HEADER_SIZE = 32;
export const BLOCK_HEADER_FREE_BIT = 1;
export const BLOCK_HEADER_PREV_FREE_BIT = 2;
export const BLOCK_HEADER_OVERHEAD = 8;
/** User data starts after prev_phys_block and size. */
export const BLOCK_START_OFFSET = 16;
export const BLOCK_SIZE_MIN = BLOCK_HEADER_SIZE - 8;
export const BLOCK_SIZE_MAX = 2 ** FL_INDEX_MAX;

/** control_t field offsets. */
const FL_BITMAP = 32;
const SL_BITMAP = 36;
const BLOCKS = (SL_BITMAP + 4 * FL_INDEX_COUNT + 7) & ~7;
/** tlsf_size(): sizeof(control_t). */
export const TLSF_SIZE = BLOCKS + 8 * FL_INDEX_COUNT * SL_INDEX_COUNT;
/** tlsf_pool_overhead(): the first block's size word and the sentinel's. */
export const TLSF_POOL_OVERHEAD = 2 * BLOCK_HEADER_OVERHEAD;
export const TLSF_ALLOC_OVERHEAD = BLOCK_HEADER_OVERHEAD;

/** The most steps one call of each operation can take (see the opening comment). */
export const TLSF_STEP_BOUND = { malloc: 7, memalign: 10, free: 8, realloc: 15 } as const;

/** Stable error codes. */
export const TLSF_ERR = {
  badArgs: 'KM6001',
  notABlock: 'KM6002',
  doubleFree: 'KM6003',
  corrupted: 'KM6004',
  badAlign: 'KM6005',
  poolInUse: 'KM6006',
  noMemory: 'KM6007',
} as const;

const TWO_32 = 4294967296;

/** tlsf_fls_sizet: index of the highest set bit, -1 for 0. */
export function flsSizet(size: number): number {
  return size >= TWO_32 ? 32 + (31 - Math.clz32(Math.floor(size / TWO_32))) : 31 - Math.clz32(size);
}

/** tlsf_ffs: index of the lowest set bit of a 32-bit word, -1 for 0. */
function ffs(word: number): number {
  return 31 - Math.clz32(word & -word);
}

/** mapping_insert() packed as fl * 32 + sl. */
function mappingInsertPacked(size: number): number {
  if (size < SMALL_BLOCK_SIZE) return Math.floor(size / (SMALL_BLOCK_SIZE / SL_INDEX_COUNT));
  const fl = flsSizet(size);
  const shifted =
    size < TWO_32 ? size >>> (fl - SL_INDEX_COUNT_LOG2) : Math.floor(size / 2 ** (fl - SL_INDEX_COUNT_LOG2));
  const sl = shifted ^ (1 << SL_INDEX_COUNT_LOG2);
  return (fl - (FL_INDEX_SHIFT - 1)) * SL_INDEX_COUNT + sl;
}

/** mapping_insert(): the list a free block of `size` bytes lives on. */
export function mappingInsert(size: number): { fl: number; sl: number } {
  const p = mappingInsertPacked(size);
  return { fl: Math.floor(p / SL_INDEX_COUNT), sl: p % SL_INDEX_COUNT };
}

/** mapping_search()'s rounding: size rounded up to the next second-level boundary. */
export function mappingSearchSize(size: number): number {
  return size >= SMALL_BLOCK_SIZE ? size + (2 ** (flsSizet(size) - SL_INDEX_COUNT_LOG2) - 1) : size;
}

/** mapping_search(): the first list whose every block fits `size`. */
export function mappingSearch(size: number): { fl: number; sl: number } {
  return mappingInsert(mappingSearchSize(size));
}

/** align_up for a power-of-two align. */
function alignUp(x: number, align: number): number {
  return Math.ceil(x / align) * align;
}

/** adjust_request_size(): aligned, at least block_size_min, 0 when 0 or too large. */
export function adjustRequestSize(size: number, align: number): number {
  if (size) {
    const aligned = alignUp(size, align);
    if (aligned < BLOCK_SIZE_MAX) return Math.max(aligned, BLOCK_SIZE_MIN);
  }
  return 0;
}

/** A tlsf_check / tlsf_check_pool finding: tlsf.c's assertion text, where it was seen. */
export interface TlsfProblem {
  readonly message: string;
  /** The block (header address) or control field concerned. */
  readonly addr: number;
}

/** tlsf_walker: the payload address, its size, whether it is in use. */
export type TlsfWalker = (ptr: number, size: number, used: boolean) => void;

interface Pool {
  /** The address tlsf_add_pool was given (pool_t). */
  readonly mem: number;
  /** The bytes it was given. */
  readonly bytes: number;
  /** The sentinel block (its header address); the first block is at mem - 8. */
  readonly sentinel: number;
}

/** Thrown inside an operation when the bytes cannot be a heap; caught at the API and turned into KM6004. */
class Corrupted {
  constructor(
    readonly addr: number,
    readonly what: string,
  ) {}
}

type TlsfOp = 'malloc' | 'memalign' | 'free' | 'realloc';

const hex = (n: number): string => `0x${n.toString(16)}`;

export class Tlsf implements Heap {
  readonly kind = 'tlsf' as const;
  readonly region: ByteRegion;
  /** Address of control_t (and of its block_null). */
  readonly control: number;
  private readonly pools: Pool[] = [];
  private readonly view: DataView;
  private readonly base: number;
  private readonly len: number;
  /** Steps of the operation in progress. */
  private st = 0;
  private lastSteps = 0;
  private worstSteps = 0;
  private readonly ops: Record<TlsfOp, HeapOpStats> = {
    malloc: emptyOpStats(),
    memalign: emptyOpStats(),
    free: emptyOpStats(),
    realloc: emptyOpStats(),
  };

  private constructor(region: ByteRegion, control: number) {
    this.region = region;
    this.control = control;
    this.view = region.view;
    this.base = region.base;
    this.len = region.size;
  }

  /** tlsf_create(): a control structure at `at` (8-aligned, non-zero), no pools yet. */
  static create(region: ByteRegion, at = region.base): Tlsf | HeapError {
    if (at === 0 || at % ALIGN_SIZE !== 0) {
      return {
        code: TLSF_ERR.badArgs,
        message: `tlsf_create: memory must be aligned to ${ALIGN_SIZE} bytes and not at 0`,
      };
    }
    if (!region.contains(at, TLSF_SIZE)) {
      return {
        code: TLSF_ERR.badArgs,
        message: `tlsf_create: the control structure (${TLSF_SIZE} bytes) does not fit at ${hex(at)}`,
      };
    }
    const t = new Tlsf(region, at);
    t.controlConstruct();
    return t;
  }

  /** tlsf_create_with_pool(): control at `at`, then one pool over the rest of `bytes`. */
  static createWithPool(region: ByteRegion, at = region.base, bytes = region.end - at): Tlsf | HeapError {
    const t = Tlsf.create(region, at);
    if (!(t instanceof Tlsf)) return t;
    const r = t.addPool(at + TLSF_SIZE, bytes - TLSF_SIZE);
    return typeof r === 'number' ? t : r;
  }

  // -------------------------------------------------------------------------------------------------------
  // Words in the region. Out of range means the bytes are corrupted (a pointer read from them went astray).
  // -------------------------------------------------------------------------------------------------------

  private rd(addr: number): number {
    const off = addr - this.base;
    if (!(off >= 0 && off + 8 <= this.len)) throw new Corrupted(addr, 'a pointer leads outside the heap region');
    return this.view.getUint32(off + 4, true) * TWO_32 + this.view.getUint32(off, true);
  }

  private wr(addr: number, v: number): void {
    const off = addr - this.base;
    if (!(off >= 0 && off + 8 <= this.len)) throw new Corrupted(addr, 'a pointer leads outside the heap region');
    this.view.setUint32(off, v >>> 0, true);
    this.view.setUint32(off + 4, Math.floor(v / TWO_32), true);
  }

  private rd32(addr: number): number {
    return this.view.getUint32(addr - this.base, true);
  }

  private wr32(addr: number, v: number): void {
    this.view.setUint32(addr - this.base, v >>> 0, true);
  }

  private slBitmapAddr(fl: number): number {
    return this.control + SL_BITMAP + 4 * fl;
  }

  private headAddr(fl: number, sl: number): number {
    return this.control + BLOCKS + 8 * (fl * SL_INDEX_COUNT + sl);
  }

  // -------------------------------------------------------------------------------------------------------
  // block_header_t member functions
  // -------------------------------------------------------------------------------------------------------

  private blockSize(block: number): number {
    const w = this.rd(block + SIZE);
    return w - (w & 3);
  }

  private blockSetSize(block: number, size: number): void {
    this.wr(block + SIZE, size + (this.rd(block + SIZE) & 3));
  }

  private isFree(block: number): boolean {
    return (this.rd(block + SIZE) & BLOCK_HEADER_FREE_BIT) !== 0;
  }

  private isPrevFree(block: number): boolean {
    return (this.rd(block + SIZE) & BLOCK_HEADER_PREV_FREE_BIT) !== 0;
  }

  private setBits(block: number, bit: number, on: boolean): void {
    const w = this.rd(block + SIZE);
    const has = (w & bit) !== 0;
    if (has !== on) this.wr(block + SIZE, on ? w + bit : w - bit);
  }

  /** block_next(): the header after this block's payload. */
  private blockNext(block: number): number {
    return block + BLOCK_START_OFFSET + this.blockSize(block) - BLOCK_HEADER_OVERHEAD;
  }

  /** block_link_next(): tell the next block where this one starts (its prev_phys_block). */
  private blockLinkNext(block: number): number {
    const next = this.blockNext(block);
    this.wr(next + PREV_PHYS, block);
    return next;
  }

  /** block_mark_as_free() */
  private markAsFree(block: number): void {
    const next = this.blockLinkNext(block);
    this.setBits(next, BLOCK_HEADER_PREV_FREE_BIT, true);
    this.setBits(block, BLOCK_HEADER_FREE_BIT, true);
  }

  /** block_mark_as_used() */
  private markAsUsed(block: number): void {
    const next = this.blockNext(block);
    this.setBits(next, BLOCK_HEADER_PREV_FREE_BIT, false);
    this.setBits(block, BLOCK_HEADER_FREE_BIT, false);
  }

  // -------------------------------------------------------------------------------------------------------
  // Where a block may be
  // -------------------------------------------------------------------------------------------------------

  /** The pool a block header address belongs to (first block .. sentinel, 8-aligned), if any. */
  private poolOfBlock(block: number): Pool | undefined {
    for (const p of this.pools) {
      if (block >= p.mem - BLOCK_HEADER_OVERHEAD && block <= p.sentinel && (block - p.mem) % ALIGN_SIZE === 0) {
        return p;
      }
    }
    return undefined;
  }

  /** A free-list link must be block_null or a block below some pool's sentinel. */
  private checkLink(p: number, from: number): void {
    if (p === this.control) return;
    const pool = this.poolOfBlock(p);
    if (pool === undefined || p === pool.sentinel) {
      throw new Corrupted(from, `free-list link ${hex(p)} is neither block_null nor a block of a pool`);
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // Free lists (tlsf.c: search_suitable_block, remove_free_block, insert_free_block, block_remove/insert)
  // -------------------------------------------------------------------------------------------------------

  /** search_suitable_block(): the head of the first non-empty list at or above (fl, sl), packed, or -1. */
  private searchSuitableBlock(fl: number, sl: number): number {
    let slMap = this.rd32(this.slBitmapAddr(fl)) & (~0 << sl);
    if (!slMap) {
      const flMap = this.rd32(this.control + FL_BITMAP) & (~0 << (fl + 1));
      this.st++;
      if (!flMap) return -1;
      fl = ffs(flMap);
      if (fl >= FL_INDEX_COUNT) {
        throw new Corrupted(this.control + FL_BITMAP, 'fl_bitmap has a bit beyond FL_INDEX_COUNT');
      }
      slMap = this.rd32(this.slBitmapAddr(fl));
    }
    this.st++;
    if (!slMap) throw new Corrupted(this.slBitmapAddr(fl), 'internal error - second level bitmap is null');
    return fl * SL_INDEX_COUNT + ffs(slMap);
  }

  /** remove_free_block() */
  private removeFreeBlock(block: number, fl: number, sl: number): void {
    this.st++;
    const prev = this.rd(block + PREV_FREE);
    const next = this.rd(block + NEXT_FREE);
    this.checkLink(prev, block);
    this.checkLink(next, block);
    this.wr(next + PREV_FREE, prev);
    this.wr(prev + NEXT_FREE, next);
    const head = this.headAddr(fl, sl);
    if (this.rd(head) === block) {
      this.wr(head, next);
      if (next === this.control) {
        const slm = this.slBitmapAddr(fl);
        const m = this.rd32(slm) & ~(1 << sl);
        this.wr32(slm, m);
        if (!m) this.wr32(this.control + FL_BITMAP, this.rd32(this.control + FL_BITMAP) & ~(1 << fl));
      }
    }
  }

  /** insert_free_block() */
  private insertFreeBlock(block: number, fl: number, sl: number): void {
    this.st++;
    const head = this.headAddr(fl, sl);
    const current = this.rd(head);
    this.checkLink(current, head);
    this.wr(block + NEXT_FREE, current);
    this.wr(block + PREV_FREE, this.control);
    this.wr(current + PREV_FREE, block);
    this.wr(head, block);
    this.wr32(this.control + FL_BITMAP, this.rd32(this.control + FL_BITMAP) | (1 << fl));
    const slm = this.slBitmapAddr(fl);
    this.wr32(slm, this.rd32(slm) | (1 << sl));
  }

  /** The list of a block's size; a size no list holds means a corrupted header. */
  private listOf(block: number): number {
    this.st++;
    const size = this.blockSize(block);
    if (size < BLOCK_SIZE_MIN || size >= BLOCK_SIZE_MAX) throw new Corrupted(block, `block size ${size} fits no list`);
    return mappingInsertPacked(size);
  }

  /** block_remove() */
  private blockRemove(block: number): void {
    const p = this.listOf(block);
    this.removeFreeBlock(block, p >> SL_INDEX_COUNT_LOG2, p & (SL_INDEX_COUNT - 1));
  }

  /** block_insert() */
  private blockInsert(block: number): void {
    const p = this.listOf(block);
    this.insertFreeBlock(block, p >> SL_INDEX_COUNT_LOG2, p & (SL_INDEX_COUNT - 1));
  }

  // -------------------------------------------------------------------------------------------------------
  // Splitting and merging (block_can_split, block_split, block_absorb, block_merge_prev/next, block_trim_*)
  // -------------------------------------------------------------------------------------------------------

  private canSplit(block: number, size: number): boolean {
    return this.blockSize(block) >= BLOCK_HEADER_SIZE + size;
  }

  /** block_split(): cut `size` bytes off the front; the remainder becomes a free block, returned. */
  private blockSplit(block: number, size: number): number {
    this.st++;
    const remaining = block + BLOCK_START_OFFSET + size - BLOCK_HEADER_OVERHEAD;
    const remainSize = this.blockSize(block) - (size + BLOCK_HEADER_OVERHEAD);
    this.blockSetSize(remaining, remainSize);
    this.blockSetSize(block, size);
    this.markAsFree(remaining);
    return remaining;
  }

  /** block_absorb(): prev takes over block's storage (flags untouched). */
  private blockAbsorb(prev: number, block: number): number {
    this.st++;
    this.wr(prev + SIZE, this.rd(prev + SIZE) + this.blockSize(block) + BLOCK_HEADER_OVERHEAD);
    this.blockLinkNext(prev);
    return prev;
  }

  /** block_merge_prev() */
  private mergePrev(block: number): number {
    if (this.isPrevFree(block)) {
      const prev = this.rd(block + PREV_PHYS);
      if (this.poolOfBlock(prev) === undefined || prev >= block) {
        throw new Corrupted(block, `prev_phys_block ${hex(prev)} is not a block before this one`);
      }
      if (!this.isFree(prev)) throw new Corrupted(prev, 'prev block is not free though marked as such');
      this.blockRemove(prev);
      block = this.blockAbsorb(prev, block);
    }
    return block;
  }

  /** block_merge_next() */
  private mergeNext(block: number): number {
    const next = this.blockNext(block);
    if (this.isFree(next)) {
      this.blockRemove(next);
      block = this.blockAbsorb(block, next);
    }
    return block;
  }

  /** block_trim_free() */
  private trimFree(block: number, size: number): void {
    if (this.canSplit(block, size)) {
      const remaining = this.blockSplit(block, size);
      this.blockLinkNext(block);
      this.setBits(remaining, BLOCK_HEADER_PREV_FREE_BIT, true);
      this.blockInsert(remaining);
    }
  }

  /** block_trim_used() */
  private trimUsed(block: number, size: number): void {
    if (this.canSplit(block, size)) {
      let remaining = this.blockSplit(block, size);
      this.setBits(remaining, BLOCK_HEADER_PREV_FREE_BIT, false);
      remaining = this.mergeNext(remaining);
      this.blockInsert(remaining);
    }
  }

  /** block_trim_free_leading(): give the first `size` bytes back, keep the rest. */
  private trimFreeLeading(block: number, size: number): number {
    let remaining = block;
    if (this.canSplit(block, size)) {
      remaining = this.blockSplit(block, size - BLOCK_HEADER_OVERHEAD);
      this.setBits(remaining, BLOCK_HEADER_PREV_FREE_BIT, true);
      this.blockLinkNext(block);
      this.blockInsert(block);
    }
    return remaining;
  }

  /** block_locate_free(): take a block of at least `size` off its list, or 0. */
  private locateFree(size: number): number {
    if (!size) return 0;
    const m = mappingInsertPacked(mappingSearchSize(size));
    this.st++;
    const fl = m >> SL_INDEX_COUNT_LOG2;
    if (fl >= FL_INDEX_COUNT) return 0;
    const found = this.searchSuitableBlock(fl, m & (SL_INDEX_COUNT - 1));
    if (found < 0) return 0;
    const ffl = found >> SL_INDEX_COUNT_LOG2;
    const fsl = found & (SL_INDEX_COUNT - 1);
    const block = this.rd(this.headAddr(ffl, fsl));
    this.checkLink(block, this.headAddr(ffl, fsl));
    if (block === this.control) throw new Corrupted(this.headAddr(ffl, fsl), 'bitmap bit set for an empty list');
    if (this.blockSize(block) < size) throw new Corrupted(block, 'block on a list is smaller than the list holds');
    this.removeFreeBlock(block, ffl, fsl);
    return block;
  }

  /** block_prepare_used() */
  private prepareUsed(block: number, size: number): number {
    if (!block) return 0;
    this.trimFree(block, size);
    this.markAsUsed(block);
    return block + BLOCK_START_OFFSET;
  }

  /** control_construct(): empty lists point at block_null. */
  private controlConstruct(): void {
    this.wr(this.control + NEXT_FREE, this.control);
    this.wr(this.control + PREV_FREE, this.control);
    this.wr32(this.control + FL_BITMAP, 0);
    for (let i = 0; i < FL_INDEX_COUNT; i++) {
      this.wr32(this.slBitmapAddr(i), 0);
      for (let j = 0; j < SL_INDEX_COUNT; j++) this.wr(this.headAddr(i, j), this.control);
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // Pools
  // -------------------------------------------------------------------------------------------------------

  /** tlsf_add_pool(): the pool's address (pool_t), or why not. */
  addPool(mem: number, bytes: number): number | HeapError {
    const poolBytes = Math.floor((bytes - TLSF_POOL_OVERHEAD) / ALIGN_SIZE) * ALIGN_SIZE;
    if (!Number.isInteger(mem) || mem % ALIGN_SIZE !== 0) {
      return { code: TLSF_ERR.badArgs, message: `tlsf_add_pool: Memory must be aligned by ${ALIGN_SIZE} bytes.` };
    }
    if (!(poolBytes >= BLOCK_SIZE_MIN && poolBytes <= BLOCK_SIZE_MAX)) {
      return {
        code: TLSF_ERR.badArgs,
        message: `tlsf_add_pool: Memory size must be between ${TLSF_POOL_OVERHEAD + BLOCK_SIZE_MIN} and ${TLSF_POOL_OVERHEAD + BLOCK_SIZE_MAX} bytes.`,
      };
    }
    if (!this.region.contains(mem, bytes)) {
      return { code: TLSF_ERR.badArgs, message: `tlsf_add_pool: ${hex(mem)}+${bytes} is not inside the heap region` };
    }
    const end = mem + bytes;
    if (mem < this.control + TLSF_SIZE && end > this.control) {
      return { code: TLSF_ERR.badArgs, message: `tlsf_add_pool: the pool overlaps the control structure` };
    }
    for (const p of this.pools) {
      if (mem < p.mem + p.bytes && end > p.mem) {
        return { code: TLSF_ERR.badArgs, message: `tlsf_add_pool: the pool overlaps the pool at ${hex(p.mem)}` };
      }
    }
    // The main free block starts 8 bytes before the pool, so its prev_phys_block word (never used) lies outside.
    const block = mem - BLOCK_HEADER_OVERHEAD;
    const pool: Pool = { mem, bytes, sentinel: mem + poolBytes };
    this.pools.push(pool);
    this.st = 0;
    try {
      this.wr(block + SIZE, poolBytes + BLOCK_HEADER_FREE_BIT);
      this.blockInsert(block);
      const next = this.blockLinkNext(block);
      this.wr(next + SIZE, BLOCK_HEADER_PREV_FREE_BIT);
    } catch (e) {
      this.pools.pop();
      return this.corruption(e);
    }
    return mem;
  }

  /** tlsf_remove_pool(): only a pool with nothing allocated in it can go. */
  removePool(mem: number): HeapError | undefined {
    const i = this.pools.findIndex((p) => p.mem === mem);
    if (i < 0) return { code: TLSF_ERR.badArgs, message: `tlsf_remove_pool: ${hex(mem)} is not a pool of this heap` };
    const block = mem - BLOCK_HEADER_OVERHEAD;
    try {
      if (!this.isFree(block)) {
        return { code: TLSF_ERR.poolInUse, message: `tlsf_remove_pool: block should be free (the pool is in use)` };
      }
      const next = this.blockNext(block);
      if (next !== this.pools[i]!.sentinel || this.isFree(next) || this.blockSize(next) !== 0) {
        return {
          code: TLSF_ERR.poolInUse,
          message: `tlsf_remove_pool: next block size should be zero (the pool is in use)`,
        };
      }
      this.st = 0;
      this.blockRemove(block);
    } catch (e) {
      return this.corruption(e);
    }
    this.pools.splice(i, 1);
    return undefined;
  }

  /** The pools, as tlsf_add_pool was given them. */
  poolList(): { mem: number; bytes: number }[] {
    return this.pools.map((p) => ({ mem: p.mem, bytes: p.bytes }));
  }

  // -------------------------------------------------------------------------------------------------------
  // The main interface
  // -------------------------------------------------------------------------------------------------------

  /** tlsf_malloc(): the payload address, or addr 0 (NULL) when no block fits. */
  malloc(size: number): HeapResult {
    const bad = checkSize(size);
    if (bad) return this.fail('malloc', 0, bad);
    this.st = 0;
    try {
      const adjust = adjustRequestSize(size, ALIGN_SIZE);
      const p = this.prepareUsed(this.locateFree(adjust), adjust);
      if (!p) return this.fail('malloc', this.st, noMemory(size));
      return this.done('malloc', p);
    } catch (e) {
      return this.fail('malloc', this.st, this.corruption(e));
    }
  }

  /** tlsf_memalign(): a payload address that is a multiple of `align` (a power of two). */
  memalign(align: number, size: number): HeapResult {
    const bad = checkSize(size);
    if (bad) return this.fail('memalign', 0, bad);
    if (!(align > 0 && Number.isInteger(Math.log2(align)))) {
      return this.fail('memalign', 0, {
        code: TLSF_ERR.badAlign,
        message: `tlsf_memalign: must align to a power of two, not ${align}`,
      });
    }
    this.st = 0;
    try {
      const adjust = adjustRequestSize(size, ALIGN_SIZE);
      // The gap must hold a free block's header, since the previous block may be used and cannot grow.
      const gapMinimum = BLOCK_HEADER_SIZE;
      const sizeWithGap = adjustRequestSize(adjust + align + gapMinimum, align);
      const alignedSize = adjust && align > ALIGN_SIZE ? sizeWithGap : adjust;
      let block = this.locateFree(alignedSize);
      if (block) {
        const ptr = block + BLOCK_START_OFFSET;
        let aligned = alignUp(ptr, align);
        let gap = aligned - ptr;
        if (gap && gap < gapMinimum) {
          const gapRemain = gapMinimum - gap;
          const offset = Math.max(gapRemain, align);
          aligned = alignUp(aligned + offset, align);
          gap = aligned - ptr;
        }
        if (gap) block = this.trimFreeLeading(block, gap);
      }
      const p = this.prepareUsed(block, adjust);
      if (!p) return this.fail('memalign', this.st, noMemory(size));
      return this.done('memalign', p);
    } catch (e) {
      return this.fail('memalign', this.st, this.corruption(e));
    }
  }

  /** tlsf_free(); free(0) does nothing. */
  free(ptr: number): HeapFreeResult {
    this.st = 0;
    if (ptr === 0) return this.done('free', 0);
    const bad = this.checkUsedBlock(ptr, 'free');
    if (bad) return this.fail('free', 0, bad);
    this.st = 0;
    try {
      this.freeBlock(ptr - BLOCK_START_OFFSET);
      return this.done('free', 0);
    } catch (e) {
      return this.fail('free', this.st, this.corruption(e));
    }
  }

  private freeBlock(block: number): void {
    this.markAsFree(block);
    block = this.mergePrev(block);
    block = this.mergeNext(block);
    this.blockInsert(block);
  }

  /**
   * tlsf_realloc(): grows or shrinks in place when the next block allows, else mallocs, copies and frees.
   * realloc(0, n) is malloc(n); realloc(p, 0) frees p and returns addr 0 with ok set. On failure the original
   * block is untouched.
   */
  realloc(ptr: number, size: number): HeapResult {
    const bad = checkSize(size);
    if (bad) return this.fail('realloc', 0, bad);
    if (ptr !== 0) {
      const err = this.checkUsedBlock(ptr, 'realloc');
      if (err) return this.fail('realloc', 0, err);
    }
    this.st = 0;
    try {
      if (ptr && size === 0) {
        this.freeBlock(ptr - BLOCK_START_OFFSET);
        return this.done('realloc', 0);
      }
      if (!ptr) {
        const adjust = adjustRequestSize(size, ALIGN_SIZE);
        const p = this.prepareUsed(this.locateFree(adjust), adjust);
        return p ? this.done('realloc', p) : this.fail('realloc', this.st, noMemory(size));
      }
      const block = ptr - BLOCK_START_OFFSET;
      const next = this.blockNext(block);
      const cursize = this.blockSize(block);
      const combined = cursize + this.blockSize(next) + BLOCK_HEADER_OVERHEAD;
      const adjust = adjustRequestSize(size, ALIGN_SIZE);
      if (!adjust) return this.fail('realloc', this.st, noMemory(size));
      if (adjust > cursize && (!this.isFree(next) || adjust > combined)) {
        const p = this.prepareUsed(this.locateFree(adjust), adjust);
        if (!p) return this.fail('realloc', this.st, noMemory(size));
        const minsize = Math.min(cursize, size);
        this.region.bytes.copyWithin(p - this.base, ptr - this.base, ptr - this.base + minsize);
        this.freeBlock(block);
        return this.done('realloc', p);
      }
      if (adjust > cursize) {
        this.mergeNext(block);
        this.markAsUsed(block);
      }
      this.trimUsed(block, adjust);
      return this.done('realloc', ptr);
    } catch (e) {
      return this.fail('realloc', this.st, this.corruption(e));
    }
  }

  /** tlsf_block_size(): the payload size of a live block (0 for 0 or a bad pointer). */
  blockSizeOf(ptr: number): number {
    if (!ptr || this.checkUsedBlock(ptr, 'tlsf_block_size')) return 0;
    return this.blockSize(ptr - BLOCK_START_OFFSET);
  }

  // -------------------------------------------------------------------------------------------------------
  // Validation of a pointer handed back by the caller (tlsf_free's assertion, and the header checks of an
  // emulator that must not crash on a bad pointer)
  // -------------------------------------------------------------------------------------------------------

  private checkUsedBlock(ptr: number, fn: string): HeapError | undefined {
    try {
      return this.checkUsedBlockWords(ptr, fn);
    } catch (e) {
      return this.corruption(e);
    }
  }

  private checkUsedBlockWords(ptr: number, fn: string): HeapError | undefined {
    const block = ptr - BLOCK_START_OFFSET;
    if (!Number.isInteger(ptr) || ptr % ALIGN_SIZE !== 0) {
      return { code: TLSF_ERR.notABlock, message: `${fn} of ${ptr}: not a block (not ${ALIGN_SIZE}-byte aligned)` };
    }
    const pool = this.poolOfBlock(block);
    if (pool === undefined || block >= pool.sentinel) {
      return { code: TLSF_ERR.notABlock, message: `${fn} of ${hex(ptr)}: not a block (outside every pool)` };
    }
    const w = this.rd(block + SIZE);
    if (w & BLOCK_HEADER_FREE_BIT) {
      return {
        code: TLSF_ERR.doubleFree,
        message: `${fn} of ${hex(ptr)}: block already marked as free (double free?)`,
      };
    }
    const corrupt = (why: string): HeapError => ({
      code: TLSF_ERR.corrupted,
      message: `${fn} of ${hex(ptr)}: corrupted header or not a block: ${why}`,
    });
    const size = w - (w & 3);
    if (size < BLOCK_SIZE_MIN || size % ALIGN_SIZE !== 0) return corrupt(`size ${size}`);
    const next = block + BLOCK_START_OFFSET + size - BLOCK_HEADER_OVERHEAD;
    if (next > pool.sentinel) return corrupt(`size ${size} runs past the end of the pool`);
    const nw = this.rd(next + SIZE);
    if (nw & BLOCK_HEADER_PREV_FREE_BIT) return corrupt('the next block says this one is free');
    if (nw & BLOCK_HEADER_FREE_BIT) {
      const ns = nw - (nw & 3);
      if (ns < BLOCK_SIZE_MIN || next + BLOCK_START_OFFSET + ns - BLOCK_HEADER_OVERHEAD > pool.sentinel) {
        return corrupt(`the free block after it has size ${ns}`);
      }
    } else if (next === pool.sentinel && nw !== 0) {
      return corrupt('the pool sentinel was overwritten');
    }
    if (w & BLOCK_HEADER_PREV_FREE_BIT) {
      const prev = this.rd(block + PREV_PHYS);
      const prevOk =
        prev >= pool.mem - BLOCK_HEADER_OVERHEAD &&
        prev < block &&
        (prev - pool.mem) % ALIGN_SIZE === 0 &&
        this.isFree(prev) &&
        this.blockNext(prev) === block;
      if (!prevOk) return corrupt(`prev_phys_block ${hex(prev)} is not the free block before it`);
    }
    return undefined;
  }

  // -------------------------------------------------------------------------------------------------------
  // Debugging utilities: tlsf_walk_pool, tlsf_check, tlsf_check_pool
  // -------------------------------------------------------------------------------------------------------

  /**
   * tlsf_walk_pool() over one pool (or every pool): calls the walker for each block up to the sentinel.
   * Stops, with a problem, at a block that runs past the pool's end, so it ends on any bytes.
   */
  walk(walker: TlsfWalker, pool?: number): TlsfProblem | undefined {
    for (const p of this.pools) {
      if (pool !== undefined && p.mem !== pool) continue;
      let block = p.mem - BLOCK_HEADER_OVERHEAD;
      while (block < p.sentinel) {
        const w = this.rd(block + SIZE);
        const size = w - (w & 3);
        if (size === 0) return { message: 'a zero-size block before the end of the pool', addr: block };
        const next = block + BLOCK_START_OFFSET + size - BLOCK_HEADER_OVERHEAD;
        if (next > p.sentinel || size % ALIGN_SIZE !== 0) {
          return { message: `block size ${size} runs past the end of the pool or is misaligned`, addr: block };
        }
        walker(block + BLOCK_START_OFFSET, size, (w & BLOCK_HEADER_FREE_BIT) === 0);
        block = next;
      }
    }
    return undefined;
  }

  /**
   * tlsf_check() and tlsf_check_pool() for every pool: the failed conditions, with tlsf.c's messages (empty
   * when the heap is sound). Bounded on any bytes: list walks stop after as many blocks as the pools can hold.
   */
  check(): TlsfProblem[] {
    const problems: TlsfProblem[] = [];
    const insist = (ok: boolean, message: string, addr: number): boolean => {
      if (!ok) problems.push({ message, addr });
      return ok;
    };
    const r = (addr: number): number | undefined => this.region.read64(addr);
    let maxBlocks = 1;
    for (const p of this.pools) maxBlocks += Math.floor(p.bytes / (BLOCK_HEADER_OVERHEAD + BLOCK_SIZE_MIN)) + 1;

    // tlsf_check_pool (integrity_walker): prev-free bits agree with the free bits before them; the pool ends
    // in its sentinel. Collect the free blocks on the way.
    const freeInPools = new Set<number>();
    for (const p of this.pools) {
      let prevStatus = false;
      let block = p.mem - BLOCK_HEADER_OVERHEAD;
      for (;;) {
        const w = r(block + SIZE);
        if (!insist(w !== undefined, 'block header outside the region', block) || w === undefined) break;
        insist(((w & BLOCK_HEADER_PREV_FREE_BIT) !== 0) === prevStatus, 'prev status incorrect', block);
        const size = w - (w & 3);
        if (block === p.sentinel) {
          insist(
            size === 0 && (w & BLOCK_HEADER_FREE_BIT) === 0,
            'the pool sentinel must be a used zero-size block',
            block,
          );
          break;
        }
        if (!insist(size !== 0, 'a zero-size block before the end of the pool', block)) break;
        const next = block + BLOCK_START_OFFSET + size - BLOCK_HEADER_OVERHEAD;
        const fits = size % ALIGN_SIZE === 0 && next <= p.sentinel;
        if (!insist(fits, 'block size runs past the end of the pool', block)) break;
        prevStatus = (w & BLOCK_HEADER_FREE_BIT) !== 0;
        if (prevStatus) {
          freeInPools.add(block);
          const back = r(next + PREV_PHYS);
          insist(back === block, 'prev_phys_block of the block after a free block must point at it', next);
        }
        block = next;
      }
    }

    // tlsf_check: bitmaps and lists agree, list members are free, coalesced, minimum size, correctly indexed.
    const flBitmap = this.rd32(this.control + FL_BITMAP);
    insist(flBitmap >>> FL_INDEX_COUNT === 0, 'fl_bitmap has bits beyond FL_INDEX_COUNT', this.control + FL_BITMAP);
    const onLists = new Set<number>();
    let visited = 0;
    for (let i = 0; i < FL_INDEX_COUNT; i++) {
      const slList = this.rd32(this.slBitmapAddr(i));
      for (let j = 0; j < SL_INDEX_COUNT; j++) {
        const flMap = flBitmap & (1 << i);
        const slMap = slList & (1 << j);
        let block = r(this.headAddr(i, j))!;
        if (!flMap) insist(!slMap, 'second-level map must be null', this.slBitmapAddr(i));
        if (!slMap) {
          insist(block === this.control, 'block list must be null', this.headAddr(i, j));
          continue;
        }
        insist(block !== this.control, 'block should not be null', this.headAddr(i, j));
        let prevLink = this.control;
        while (block !== this.control) {
          if (++visited > maxBlocks) {
            problems.push({ message: 'free list does not end (a cycle)', addr: this.headAddr(i, j) });
            break;
          }
          const pool = this.poolOfBlock(block);
          if (!insist(pool !== undefined && block !== pool.sentinel, 'free-list link outside every pool', block)) break;
          if (!insist(!onLists.has(block), 'block is on the free lists twice', block)) break;
          onLists.add(block);
          const w = r(block + SIZE)!;
          const size = w - (w & 3);
          insist((w & BLOCK_HEADER_FREE_BIT) !== 0, 'block should be free', block);
          insist((w & BLOCK_HEADER_PREV_FREE_BIT) === 0, 'blocks should have coalesced', block);
          const next = block + BLOCK_START_OFFSET + size - BLOCK_HEADER_OVERHEAD;
          const nw = next <= pool!.sentinel ? r(next + SIZE) : undefined;
          if (insist(nw !== undefined, 'block size runs past the end of the pool', block) && nw !== undefined) {
            insist((nw & BLOCK_HEADER_FREE_BIT) === 0, 'blocks should have coalesced', block);
            insist((nw & BLOCK_HEADER_PREV_FREE_BIT) !== 0, 'block should be free', block);
          }
          insist(size >= BLOCK_SIZE_MIN, 'block not minimum size', block);
          if (size >= BLOCK_SIZE_MIN && size < BLOCK_SIZE_MAX) {
            insist(mappingInsertPacked(size) === i * SL_INDEX_COUNT + j, 'block size indexed in wrong list', block);
          }
          insist(r(block + PREV_FREE) === prevLink, 'prev_free link does not point back', block);
          prevLink = block;
          block = r(block + NEXT_FREE)!;
        }
      }
    }
    for (const b of freeInPools) {
      insist(onLists.has(b), 'free block is on no free list', b);
    }
    return problems;
  }

  // -------------------------------------------------------------------------------------------------------
  // Views and statistics
  // -------------------------------------------------------------------------------------------------------

  blocks(): HeapBlockView[] {
    const out: HeapBlockView[] = [];
    this.walk((ptr, size, used) => {
      out.push({ start: ptr - BLOCK_HEADER_OVERHEAD, end: ptr + size, addr: ptr, size, used });
    });
    return out;
  }

  stats(): HeapStats {
    let usedBytes = 0;
    let freeBytes = 0;
    let largestFree = 0;
    let liveBlocks = 0;
    let freeBlocks = 0;
    this.walk((_ptr, size, used) => {
      if (used) {
        usedBytes += size;
        liveBlocks++;
      } else {
        freeBytes += size;
        freeBlocks++;
        largestFree = Math.max(largestFree, size);
      }
    });
    let heapBytes = TLSF_SIZE;
    for (const p of this.pools) heapBytes += p.bytes;
    return {
      kind: 'tlsf',
      heapBytes,
      usedBytes,
      freeBytes,
      largestFree,
      fragmentation: fragmentation(largestFree, freeBytes),
      overheadBytes: heapBytes - usedBytes - freeBytes,
      headerBytes: BLOCK_HEADER_OVERHEAD * (liveBlocks + freeBlocks + this.pools.length),
      liveBlocks,
      freeBlocks,
      lastSteps: this.lastSteps,
      worstSteps: this.worstSteps,
      ops: structuredCloneOps(this.ops),
    };
  }

  // -------------------------------------------------------------------------------------------------------

  private done(op: TlsfOp, addr: number): HeapResult {
    const s = this.ops[op];
    s.count++;
    s.totalSteps += this.st;
    if (this.st > s.worstSteps) s.worstSteps = this.st;
    this.lastSteps = this.st;
    if (this.st > this.worstSteps) this.worstSteps = this.st;
    return { ok: true, addr, steps: this.st };
  }

  private fail(op: TlsfOp, steps: number, error: HeapError): HeapResult {
    const s = this.ops[op];
    s.count++;
    s.failures++;
    s.totalSteps += steps;
    if (steps > s.worstSteps) s.worstSteps = steps;
    this.lastSteps = steps;
    if (steps > this.worstSteps) this.worstSteps = steps;
    return { ok: false, addr: 0, steps, error };
  }

  private corruption(e: unknown): HeapError {
    if (e instanceof Corrupted) {
      return { code: TLSF_ERR.corrupted, message: `heap corrupted at ${hex(e.addr)}: ${e.what}` };
    }
    throw e;
  }
}

function checkSize(size: number): HeapError | undefined {
  if (!Number.isInteger(size) || size < 0) {
    return { code: TLSF_ERR.badArgs, message: `size must be a whole number of bytes, not ${size}` };
  }
  return undefined;
}

function noMemory(size: number): HeapError {
  return { code: TLSF_ERR.noMemory, message: `no free block fits ${size} bytes` };
}

function structuredCloneOps(ops: Record<string, HeapOpStats>): Record<string, HeapOpStats> {
  const out: Record<string, HeapOpStats> = {};
  for (const [k, v] of Object.entries(ops)) out[k] = { ...v };
  return out;
}
