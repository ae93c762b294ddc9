/*
 * Zone watermarks, lowmem_reserve[] and totalreserve_pages as Linux 6.12 computes them at boot
 * (mm/page_alloc.c: calculate_min_free_kbytes, __setup_per_zone_wmarks, setup_per_zone_lowmem_reserve,
 * calculate_totalreserve_pages; all run from init_per_zone_wmark_min(), a postcore_initcall).
 *
 * Pure: the input is the managed page count of each zone, the output plain numbers. The machine computes
 * them once at boot (Machine.watermarks) and the /proc views print them. The allocator does NOT enforce
 * them yet: zone_watermark_ok(), the lowmem_reserve check of the zonelist walk, ALLOC_HARDER/ALLOC_HIGH
 * and kswapd are later work (page allocator issue), so allocation behaviour is unchanged by this module.
 *
 * Zones: the modelled kernel has ZONE_DMA, ZONE_DMA32, ZONE_NORMAL and ZONE_MOVABLE and no ZONE_DEVICE
 * (CONFIG_ZONE_DEVICE off), so MAX_NR_ZONES = 4 and lowmem_reserve[] has four entries. ZONE_MOVABLE is
 * always empty (no kernelcore=/movablecore=), but the kernel still gives it watermarks: as a movable zone
 * its WMARK_MIN is clamp(managed / 1024, SWAP_CLUSTER_MAX, 128) = 32 even with no pages.
 *
 * min_free_kbytes = clamp(int_sqrt(lowmem_kbytes * 16), 128, 262144), lowmem_kbytes =
 * nr_free_buffer_pages() * 4. nr_free_buffer_pages() sums, over the zones of the GFP_USER zonelist (the
 * populated zones up to ZONE_NORMAL), managed_pages - high_wmark_pages where positive. At its first call,
 * from init_per_zone_wmark_min(), no watermark has been set yet (struct zone starts zeroed), so it is the
 * plain sum of managed pages of DMA, DMA32 and Normal; that boot value is what we model. (A later
 * recomputation, e.g. on memory hotplug, would see the high watermarks and come out a little lower.)
 */

/** Zone indices as enum zone_type numbers them on x86-64 (include/linux/mmzone.h), without ZONE_DEVICE. */
export const ZONE_MOVABLE = 3;
export const MAX_NR_ZONES = 4;
/** zone_names[] (mm/page_alloc.c) for the four zones. */
export const ALL_ZONE_NAMES: readonly string[] = ['DMA', 'DMA32', 'Normal', 'Movable'];
/** mm/page_alloc.c sysctl_lowmem_reserve_ratio[]: DMA 256, DMA32 256, Normal 32, Movable 0. */
export const LOWMEM_RESERVE_RATIO: readonly number[] = [256, 256, 32, 0];
/** mm/page_alloc.c: watermark_scale_factor defaults to 10 (0.1% of the zone). */
export const WATERMARK_SCALE_FACTOR = 10;
/** include/linux/swap.h SWAP_CLUSTER_MAX. */
export const SWAP_CLUSTER_MAX = 32;
/** calculate_min_free_kbytes() clamps to [128, 262144] kB (256 MiB upper bound since 5.7). */
export const MIN_FREE_KBYTES_MIN = 128;
export const MIN_FREE_KBYTES_MAX = 262144;

export interface ZoneWatermarks {
  /** zone->_watermark[WMARK_MIN], [WMARK_LOW], [WMARK_HIGH], [WMARK_PROMO], in pages. */
  readonly min: number;
  readonly low: number;
  readonly high: number;
  readonly promo: number;
  /** zone->watermark_boost: 0 at boot (__setup_per_zone_wmarks resets it). */
  readonly boost: number;
  /** zone->lowmem_reserve[0..MAX_NR_ZONES): pages kept back from allocations that could use zone j. */
  readonly lowmemReserve: readonly number[];
  /** This zone's share of totalreserve_pages: min(max(lowmem_reserve[i..]) + high, managed). */
  readonly reservePages: number;
}

export interface Watermarks {
  /** nr_free_buffer_pages() * 4 at the first call (see the header). */
  readonly lowmemKbytes: number;
  /** vm.min_free_kbytes. */
  readonly minFreeKbytes: number;
  /** One entry per zone type, DMA..Movable, populated or not. */
  readonly zones: readonly ZoneWatermarks[];
  /** totalreserve_pages: the sum of the zones' reservePages. */
  readonly totalreservePages: number;
}

/** lib/math/int_sqrt.c int_sqrt(): floor(sqrt(x)) for a non-negative integer. */
export function intSqrt(x: number): number {
  let r = Math.floor(Math.sqrt(x));
  while (r * r > x) r--;
  while ((r + 1) * (r + 1) <= x) r++;
  return r;
}

/** include/linux/math.h mult_frac(x, n, d): x * n / d without overflowing x * n. */
export function multFrac(x: number, n: number, d: number): number {
  const q = Math.floor(x / d);
  const r = x % d;
  return q * n + Math.floor((r * n) / d);
}

/**
 * Boot-time watermarks for zones with these managed page counts (DMA, DMA32, Normal[, Movable]; a
 * missing entry is 0). Follows init_per_zone_wmark_min(): calculate_min_free_kbytes(),
 * setup_per_zone_wmarks(), setup_per_zone_lowmem_reserve() (which recomputes totalreserve_pages).
 */
export function computeWatermarks(managedPages: readonly number[]): Watermarks {
  const managed = Array.from({ length: MAX_NR_ZONES }, (_, i) => managedPages[i] ?? 0);

  // calculate_min_free_kbytes(): nr_free_buffer_pages() walks the GFP_USER zonelist (populated zones up to
  // ZONE_NORMAL); the high watermarks are still 0 here.
  let bufferPages = 0;
  for (let z = 0; z < ZONE_MOVABLE; z++) bufferPages += managed[z]!;
  const lowmemKbytes = bufferPages * 4;
  const minFreeKbytes = Math.min(Math.max(intSqrt(lowmemKbytes * 16), MIN_FREE_KBYTES_MIN), MIN_FREE_KBYTES_MAX);

  // __setup_per_zone_wmarks().
  const pagesMin = minFreeKbytes >> 2; // min_free_kbytes >> (PAGE_SHIFT - 10)
  let lowmemPages = 0;
  for (let z = 0; z < MAX_NR_ZONES; z++) {
    if (z !== ZONE_MOVABLE) lowmemPages += managed[z]!; // !is_highmem(zone) && zone_idx(zone) != ZONE_MOVABLE
  }
  const marks = managed.map((m, z) => {
    let tmp = lowmemPages === 0 ? 0 : Math.floor((pagesMin * m) / lowmemPages);
    const min = z === ZONE_MOVABLE ? Math.min(Math.max(Math.floor(m / 1024), SWAP_CLUSTER_MAX), 128) : tmp;
    tmp = Math.max(tmp >> 2, multFrac(m, WATERMARK_SCALE_FACTOR, 10000));
    const low = min + tmp;
    const high = low + tmp;
    return { min, low, high, promo: high + tmp };
  });

  // setup_per_zone_lowmem_reserve(): for each zone but the last, reserve[j] = (managed pages of zones
  // i+1..j) / ratio[i]; cleared when the ratio is 0 or the zone has no managed pages. reserve[j <= i] = 0.
  const reserves = managed.map((m, i) => {
    const reserve = new Array<number>(MAX_NR_ZONES).fill(0);
    const ratio = LOWMEM_RESERVE_RATIO[i]!;
    const clear = ratio === 0 || m === 0;
    let upper = 0;
    for (let j = i + 1; j < MAX_NR_ZONES && i < MAX_NR_ZONES - 1; j++) {
      upper += managed[j]!;
      reserve[j] = clear ? 0 : Math.floor(upper / ratio);
    }
    return reserve;
  });

  // calculate_totalreserve_pages(): per zone, the largest lowmem_reserve[j >= i] plus the high watermark,
  // capped at the zone's managed pages.
  let totalreservePages = 0;
  const zones = managed.map((m, i): ZoneWatermarks => {
    let max = 0;
    for (let j = i; j < MAX_NR_ZONES; j++) max = Math.max(max, reserves[i]![j]!);
    const reservePages = Math.min(max + marks[i]!.high, m);
    totalreservePages += reservePages;
    return { ...marks[i]!, boost: 0, lowmemReserve: reserves[i]!, reservePages };
  });
  return { lowmemKbytes, minFreeKbytes, zones, totalreservePages };
}
