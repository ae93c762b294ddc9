/*
 * The kmalloc size classes of Linux 6.12 on x86-64 (mm/slab_common.c, include/linux/slab.h).
 *
 * kmalloc_info[] names caches of 8 bytes (KMALLOC_SHIFT_LOW = 3) up to 8 KiB (KMALLOC_SHIFT_HIGH =
 * PAGE_SHIFT + 1), plus the two non-power-of-two classes 96 and 192. Requests up to 192 bytes map through
 * kmalloc_size_index[] ((size - 1) / 8), so 65..96 go to kmalloc-96 and 129..192 to kmalloc-192; larger
 * ones round up to the next power of two (fls(size - 1)). Above KMALLOC_MAX_CACHE_SIZE (8 KiB) kmalloc
 * bypasses slab and takes 2^get_order(size) pages (kmalloc_large).
 *
 * There are four kinds of kmalloc cache (enum kmalloc_cache_type, with CONFIG_MEMCG and, on x86-64,
 * CONFIG_ZONE_DMA; CONFIG_RANDOM_KMALLOC_CACHES off): kmalloc-N (KMALLOC_NORMAL), kmalloc-rcl-N
 * (KMALLOC_RECLAIM: SLAB_RECLAIM_ACCOUNT, slabs from reclaimable page blocks), dma-kmalloc-N (KMALLOC_DMA:
 * SLAB_CACHE_DMA, slabs from ZONE_DMA; absent without ZONE_DMA, as on RISC-V) and kmalloc-cg-N
 * (KMALLOC_CGROUP: SLAB_ACCOUNT). kmalloc_type() picks by GFP: __GFP_DMA first, then __GFP_RECLAIMABLE,
 * then __GFP_ACCOUNT; none of them means KMALLOC_NORMAL.
 *
 * create_kmalloc_caches() makes, type by type, kmalloc-96 and kmalloc-192 first, then 8, 16, ... 8k, and
 * every new cache goes to the head of slab_caches, so /proc/slabinfo lists them newest first:
 * kmalloc-cg-8k ... kmalloc-cg-96, dma-kmalloc-8k ..., kmalloc-rcl-8k ..., kmalloc-8k ... kmalloc-96.
 */

import { fls } from './config';

export const KMALLOC_SHIFT_LOW = 3;
export const KMALLOC_SHIFT_HIGH = 13;
export const KMALLOC_MAX_CACHE_SIZE = 1 << KMALLOC_SHIFT_HIGH;
/** include/linux/slab.h ZERO_SIZE_PTR: what kmalloc(0) returns; kfree() accepts it and NULL. */
export const ZERO_SIZE_PTR = 16;

/** enum kmalloc_cache_type of the modelled config. */
export const enum KmallocType {
  Normal = 0,
  Reclaim = 1,
  Dma = 2,
  Cgroup = 3,
}

/** kmalloc_info[].name[type]'s prefix per type: kmalloc-, kmalloc-rcl-, dma-kmalloc-, kmalloc-cg-. */
const TYPE_PREFIX: readonly string[] = ['kmalloc-', 'kmalloc-rcl-', 'dma-kmalloc-', 'kmalloc-cg-'];

/** The kmalloc cache types that exist: DMA only with ZONE_DMA. In creation order. */
export function kmallocTypes(hasZoneDma: boolean): KmallocType[] {
  return hasZoneDma
    ? [KmallocType.Normal, KmallocType.Reclaim, KmallocType.Dma, KmallocType.Cgroup]
    : [KmallocType.Normal, KmallocType.Reclaim, KmallocType.Cgroup];
}

/** include/linux/slab.h kmalloc_type(): which kind of kmalloc cache serves an allocation with these flags. */
export function kmallocType(gfp: number, hasZoneDma: boolean): KmallocType {
  const dma = 0x01; // __GFP_DMA
  const reclaimable = 0x10; // __GFP_RECLAIMABLE
  const account = 0x400000; // __GFP_ACCOUNT
  if ((gfp & (reclaimable | (hasZoneDma ? dma : 0) | account)) === 0) return KmallocType.Normal;
  if (hasZoneDma && gfp & dma) return KmallocType.Dma;
  if (gfp & reclaimable) return KmallocType.Reclaim;
  return KmallocType.Cgroup;
}

/** kmalloc_info[] names by index (1 = 96, 2 = 192, 3..13 = 2^index) and type. */
export function kmallocName(index: number, type: KmallocType = KmallocType.Normal): string {
  const prefix = TYPE_PREFIX[type]!;
  if (index === 1) return `${prefix}96`;
  if (index === 2) return `${prefix}192`;
  const size = 1 << index;
  return size >= 1024 ? `${prefix}${size / 1024}k` : `${prefix}${size}`;
}

export function kmallocSize(index: number): number {
  return index === 1 ? 96 : index === 2 ? 192 : 1 << index;
}

/** Creation order of create_kmalloc_caches(): 96, 192, then 8 .. 8k. */
export const KMALLOC_CREATION_ORDER: readonly number[] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];

/** kmalloc_size_index[] of mm/slab_common.c, indexed by (size - 1) / 8 for sizes 1..192. */
const SIZE_INDEX = [3, 4, 5, 5, 6, 6, 6, 6, 1, 1, 1, 1, 7, 7, 7, 7, 2, 2, 2, 2, 2, 2, 2, 2];

/** kmalloc_index()/kmalloc_slab(): the kmalloc_info index serving `size` (1..8192). */
export function kmallocIndex(size: number): number {
  if (size <= 192) {
    return SIZE_INDEX[(size - 1) >> 3]!;
  }
  return fls(size - 1);
}
