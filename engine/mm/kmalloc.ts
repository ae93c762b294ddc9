/*
 * The kmalloc size classes of Linux 6.12 on x86-64 (mm/slab_common.c, include/linux/slab.h).
 *
 * kmalloc_info[] names caches of 8 bytes (KMALLOC_SHIFT_LOW = 3) up to 8 KiB (KMALLOC_SHIFT_HIGH =
 * PAGE_SHIFT + 1), plus the two non-power-of-two classes 96 and 192. Requests up to 192 bytes map through
 * kmalloc_size_index[] ((size - 1) / 8), so 65..96 go to kmalloc-96 and 129..192 to kmalloc-192; larger
 * ones round up to the next power of two (fls(size - 1)). Above KMALLOC_MAX_CACHE_SIZE (8 KiB) kmalloc
 * bypasses slab and takes 2^get_order(size) pages (kmalloc_large).
 *
 * create_kmalloc_caches() makes kmalloc-96 and kmalloc-192 first, then 8, 16, ... 8k, and every new cache
 * goes to the head of slab_caches, so /proc/slabinfo lists them newest first: kmalloc-8k ... kmalloc-8,
 * kmalloc-192, kmalloc-96.
 */

import { fls } from './config';

export const KMALLOC_SHIFT_LOW = 3;
export const KMALLOC_SHIFT_HIGH = 13;
export const KMALLOC_MAX_CACHE_SIZE = 1 << KMALLOC_SHIFT_HIGH;
/** include/linux/slab.h ZERO_SIZE_PTR: what kmalloc(0) returns; kfree() accepts it and NULL. */
export const ZERO_SIZE_PTR = 16;

/** kmalloc_info[] names by index (1 = 96, 2 = 192, 3..13 = 2^index). */
export function kmallocName(index: number): string {
  if (index === 1) return 'kmalloc-96';
  if (index === 2) return 'kmalloc-192';
  const size = 1 << index;
  return size >= 1024 ? `kmalloc-${size / 1024}k` : `kmalloc-${size}`;
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
