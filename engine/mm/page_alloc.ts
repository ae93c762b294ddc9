/*
 * The page allocator across zones (mm/page_alloc.c, include/linux/mmzone.h, include/linux/gfp.h).
 *
 * Physical memory is split into zones by address, as x86-64 does (arch/x86/mm/init.c zone_sizes_init):
 *   DMA     below 16 MiB (MAX_DMA_PFN), for ISA-era devices;
 *   DMA32   below 4 GiB (MAX_DMA32_PFN), for 32-bit DMA;
 *   Normal  everything above 4 GiB.
 * A zone with no pages is not populated: /proc/buddyinfo skips it, so a 256 MiB machine shows DMA and DMA32
 * only. Each populated zone has its own buddy allocator (free areas per order); blocks never merge across a
 * zone boundary (both boundaries are multiples of the 4 MiB top block).
 *
 * An allocation starts at the highest zone its GFP mask allows (gfp_zone(): __GFP_DMA → DMA, __GFP_DMA32 →
 * DMA32, otherwise Normal) and falls back down the zonelist, Normal → DMA32 → DMA, to the first zone with a
 * free block of the order. Not yet modelled (page allocator issue): enforcing the watermarks and
 * lowmem_reserve, which keep the lower zones for the allocations that need them (they are computed at boot,
 * watermarks.ts, and shown in /proc/zoneinfo, but no allocation checks them yet), migrate types and
 * per-CPU page lists.
 */

import { BadPageReason, BuddyAllocator, Zone } from './buddy';
import { NR_PAGE_ORDERS } from './config';
import { FrameTable, NO_PFN } from './frames';
import { __GFP_DMA, __GFP_DMA32 } from './gfp';

export const enum ZoneType {
  DMA = 0,
  DMA32 = 1,
  Normal = 2,
}

export const ZONE_NAMES: readonly string[] = ['DMA', 'DMA32', 'Normal'];
/** arch/x86/include/asm/dma.h: MAX_DMA_PFN (16 MiB) and MAX_DMA32_PFN (4 GiB), in 4 KiB frames. */
export const MAX_DMA_PFN = (16 * 1024 * 1024) >> 12;
export const MAX_DMA32_PFN = (4 * 1024 * 1024 * 1024) / 4096;

/** include/linux/gfp.h gfp_zone(): the highest zone an allocation with this mask may use. */
export function gfpZone(gfp: number): ZoneType {
  if (gfp & __GFP_DMA) return ZoneType.DMA;
  if (gfp & __GFP_DMA32) return ZoneType.DMA32;
  return ZoneType.Normal;
}

export class PageAllocator {
  /** Every zone type, populated or not, indexed by ZoneType. */
  readonly zones: readonly Zone[];
  private readonly buddies: readonly BuddyAllocator[];

  constructor(readonly frames: FrameTable) {
    const end = frames.count;
    const bounds = [0, Math.min(end, MAX_DMA_PFN), Math.min(end, MAX_DMA32_PFN), end];
    this.zones = ZONE_NAMES.map((name, i) => new Zone(name, bounds[i]!, Math.max(bounds[i]!, bounds[i + 1]!)));
    this.buddies = this.zones.map((zone) => new BuddyAllocator(frames, zone));
  }

  /** Zones with pages, lowest first: what /proc/buddyinfo and /proc/zoneinfo walk. */
  populatedZones(): Zone[] {
    return this.zones.filter((z) => z.endPfn > z.startPfn);
  }

  /** The zone type that holds pfn. */
  zoneOf(pfn: number): ZoneType {
    return pfn < MAX_DMA_PFN ? ZoneType.DMA : pfn < MAX_DMA32_PFN ? ZoneType.DMA32 : ZoneType.Normal;
  }

  /** Boot: hands frames [start, end) to the zones' buddy allocators, split at the zone boundaries. */
  freeRangeAtBoot(start: number, end: number): void {
    for (let i = 0; i < this.zones.length; i++) {
      const zone = this.zones[i]!;
      const from = Math.max(start, zone.startPfn);
      const to = Math.min(end, zone.endPfn);
      if (from < to) this.buddies[i]!.freeRangeAtBoot(from, to);
    }
  }

  /**
   * Allocates 2^order frames from the highest zone `gfp` allows, falling back to lower zones; returns the
   * first pfn, or NO_PFN when no allowed zone has a free block of that order or above.
   */
  allocPages(order: number, compound: boolean, gfp = 0): number {
    for (let z = gfpZone(gfp); z >= 0; z--) {
      const pfn = this.buddies[z]!.allocPages(order, compound);
      if (pfn !== NO_PFN) return pfn;
    }
    return NO_PFN;
  }

  /** Frees 2^order frames at pfn, or says why the kernel would report "Bad page state" instead. */
  freePages(pfn: number, order: number): BadPageReason | undefined {
    if (!Number.isInteger(pfn) || pfn < 0 || pfn >= this.frames.count) return 'pfn outside the zone';
    return this.buddies[this.zoneOf(pfn)]!.freePages(pfn, order);
  }

  /** The free block holding pfn, or undefined. */
  findFreeBlock(pfn: number): { pfn: number; order: number } | undefined {
    if (!Number.isInteger(pfn) || pfn < 0 || pfn >= this.frames.count) return undefined;
    return this.buddies[this.zoneOf(pfn)]!.findFreeBlock(pfn);
  }

  /** Free blocks per order, summed over the zones. */
  nrFreeByOrder(): number[] {
    const out = new Array<number>(NR_PAGE_ORDERS).fill(0);
    for (const zone of this.zones) {
      for (let o = 0; o < NR_PAGE_ORDERS; o++) out[o]! += zone.nrFree[o]!;
    }
    return out;
  }

  /** Free frames in all zones (NR_FREE_PAGES). */
  get nrFreePages(): number {
    return this.zones.reduce((n, z) => n + z.freePages, 0);
  }

  /** Frames the allocator manages in all zones (totalram_pages). */
  get managedPages(): number {
    return this.zones.reduce((n, z) => n + z.managedPages, 0);
  }
}
