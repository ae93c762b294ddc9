/*
 * SLUB's free pointer as it sits in memory (mm/slub.c, Linux 6.12: freelist_ptr_encode(), set_freepointer(),
 * get_freepointer()). A free object holds, at s->offset, the address of the next free object of its freelist,
 * or NULL at the end. With CONFIG_SLAB_FREELIST_HARDENED (on in distribution kernels) the word is stored
 * obfuscated:
 *
 *     stored = ptr ^ s->random ^ swab(ptr_addr)
 *
 * where ptr_addr is the address of the free pointer itself (object + s->offset; KASAN tags are reset, and
 * x86-64 and RISC-V have none) and s->random is get_random_long() at kmem_cache_open(). Decoding applies the
 * same XOR. A NULL at the end of a list is stored as random ^ swab(ptr_addr), not as zero.
 *
 * Where the bytes live: the engine keeps each slab's freelists as object indices (slub.ts Slab.fp), the
 * allocator's fast paths touch only those, and the free-pointer word is materialised from them whenever
 * anything reads the object's memory (overlayFreePointers). This is exact, not approximate: a free object's
 * word encodes its current next object; an allocated object keeps the stale word its last free left there
 * (the allocation fast path does not clear it, so kmalloc without __GFP_ZERO shows it, as the kernel does),
 * which slub.ts keeps as the OBJ_STALE encoding of the next index it had; once the object's bytes are
 * written (__GFP_ZERO), the bytes in PhysMem are the truth (OBJ_ALLOCATED). A scenario store over a free
 * object's word (Machine.storeMemory) decodes the new word back into the index list: NULL, another object
 * of the slab, or FP_CORRUPT (memory holds the word; the allocator follows it where the kernel would).
 *
 * s->random is not random here: a fixed seed stands in for get_random_long() so every run of a scenario is
 * the same (splitmix64 of the cache id).
 */

import type { KmemCache, Slab } from './slub';
import { FREE_END, OBJ_STALE_END } from './slub';

const MASK64 = (1n << 64n) - 1n;

/** splitmix64 (Steele, Lea, Flood 2014): the per-cache stand-in for get_random_long(). */
export function cacheRandom(cacheId: number): bigint {
  let z = (0x9e3779b97f4a7c15n * BigInt(cacheId + 1) + 0x2545f4914f6cdd1dn) & MASK64;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return z ^ (z >> 31n);
}

/** swab64(): the bytes of a 64-bit word in reverse order. */
export function swab64(x: bigint): bigint {
  let out = 0n;
  for (let i = 0n; i < 8n; i++) out |= ((x >> (i * 8n)) & 0xffn) << ((7n - i) * 8n);
  return out;
}

/** freelist_ptr_encode(): the word stored at ptrAddr for the pointer ptr (0n for NULL). */
export function encodeFreePointer(ptr: bigint, ptrAddr: bigint, random: bigint | undefined): bigint {
  return random === undefined ? ptr : (ptr ^ random ^ swab64(ptrAddr)) & MASK64;
}

/** freelist_ptr_decode(): the pointer a stored word at ptrAddr stands for. */
export function decodeFreePointer(stored: bigint, ptrAddr: bigint, random: bigint | undefined): bigint {
  return random === undefined ? stored : (stored ^ random ^ swab64(ptrAddr)) & MASK64;
}

/** What the machine must provide to place a slab in the kernel's address space. */
export interface FreePointerContext {
  /** The kernel virtual address (direct map) of a physical address. */
  physToVirt(phys: number): bigint;
  /** s->random, or undefined without CONFIG_SLAB_FREELIST_HARDENED. */
  randomOf(cache: KmemCache): bigint | undefined;
}

/**
 * The next-object index the free-pointer word of object idx encodes: its next free object for a free
 * object, the stale one for an allocated object whose word was never overwritten; undefined when the bytes
 * in memory are the truth (the object was written since).
 */
export function encodedNext(slab: Slab, idx: number): number | undefined {
  const v = slab.fp[idx]!;
  if (v >= FREE_END) return v;
  if (v <= OBJ_STALE_END) return OBJ_STALE_END - v - 1;
  return undefined;
}

/** The 64-bit word stored at object idx's free pointer, or undefined when memory holds it (see encodedNext). */
export function freePointerWord(
  ctx: FreePointerContext,
  cache: KmemCache,
  head: number,
  slab: Slab,
  idx: number,
  pageSize: number,
): bigint | undefined {
  const next = encodedNext(slab, idx);
  if (next === undefined) return undefined;
  // Objects start red_left_pad bytes into their slots; s->offset counts from the object.
  const base = head * pageSize + cache.geometry.redLeftPad;
  const ptrAddr = ctx.physToVirt(base + idx * cache.geometry.size + cache.geometry.offset);
  const ptr = next === FREE_END ? 0n : ctx.physToVirt(base + next * cache.geometry.size);
  return encodeFreePointer(ptr, ptrAddr, ctx.randomOf(cache));
}

/**
 * Writes into `out` (the bytes of physical range [start, start + out.length)) the free-pointer words of the
 * slab's objects that the range covers, little-endian, clipped to the range.
 */
export function overlayFreePointers(
  ctx: FreePointerContext,
  cache: KmemCache,
  head: number,
  slab: Slab,
  pageSize: number,
  start: number,
  out: Uint8Array,
): void {
  const g = cache.geometry;
  const base = head * pageSize + g.redLeftPad;
  const end = start + out.length;
  const first = Math.max(0, Math.floor((start - base - g.offset - 7) / g.size));
  for (let idx = first; idx < g.objects; idx++) {
    const wordAt = base + idx * g.size + g.offset;
    if (wordAt >= end) break;
    if (wordAt + 8 <= start) continue;
    const word = freePointerWord(ctx, cache, head, slab, idx, pageSize);
    if (word === undefined) continue;
    for (let b = 0; b < 8; b++) {
      const at = wordAt + b - start;
      if (at >= 0 && at < out.length) out[at] = Number((word >> BigInt(8 * b)) & 0xffn);
    }
  }
}
