/*
 * External fragmentation indices of a zone, as mm/vmstat.c (Linux 6.12) computes them for
 * /sys/kernel/debug/extfrag/unusable_index and /sys/kernel/debug/extfrag/extfrag_index (CONFIG_DEBUG_FS and
 * CONFIG_COMPACTION), from nothing but the per-order free block counts (zone->free_area[order].nr_free) that
 * /proc/buddyinfo prints.
 *
 * For a requested order o, fill_contig_page_info() sums over all 11 orders:
 *   free_pages           = sum(nr_free[k] << k)
 *   free_blocks_total    = sum(nr_free[k])
 *   free_blocks_suitable = sum over k >= o of (nr_free[k] << (k - o))   (blocks of 2^o pages one could carve)
 * Both indices are integers in thousandths (the kernel has no floating point), printed "%d.%03d":
 *   - unusable_free_index(): the share of free memory in blocks too small for order o,
 *     (free_pages - (free_blocks_suitable << o)) * 1000 / free_pages; 1000 ("1.000") when nothing is free;
 *   - __fragmentation_index(): meaningful only when an order-o request would fail: -1000 ("-1.000") when a
 *     suitable block exists, 0 when there are no free blocks at all, otherwise
 *     1000 - (1000 + free_pages * 1000 / 2^o) / free_blocks_total, towards 0 when the failure is a lack of
 *     memory, towards 1000 when it is fragmentation (compaction would help).
 * Every division is div_u64(): unsigned, truncating. The values here stay far below 2^53 (free_pages * 1000
 * for 64 GiB of 4 KiB pages is 1.7e10), so plain numbers with Math.floor are exact.
 *
 * The debugfs files list the populated zones of each online node (walk_zones_in_node(..., assert_populated =
 * true)), one line each: "Node %d, zone %8s " then one "%d.%03d " (unusable) or "%2d.%03d " (extfrag) per order,
 * then a newline: every line ends in a space before the newline, as in /proc/buddyinfo.
 */

import { NR_PAGE_ORDERS } from '../mm/config';

/** What the lead's buddy allocator feeds in: zone->free_area[order].nr_free for the 11 orders. */
export interface ZoneFreeCounts {
  readonly node: number;
  readonly zone: string;
  /** Free blocks per order 0..10 (missing orders count as 0). */
  readonly nrFree: readonly number[];
}

/** mm/vmstat.c struct contig_page_info. */
export interface ContigPageInfo {
  readonly free_pages: number;
  readonly free_blocks_total: number;
  readonly free_blocks_suitable: number;
}

/** mm/vmstat.c fill_contig_page_info(): free pages, free blocks, and blocks of 2^suitableOrder pages they hold. */
export function fill_contig_page_info(nrFree: readonly number[], suitableOrder: number): ContigPageInfo {
  let free_pages = 0;
  let free_blocks_total = 0;
  let free_blocks_suitable = 0;
  for (let order = 0; order < NR_PAGE_ORDERS; order++) {
    const blocks = nrFree[order] ?? 0;
    free_blocks_total += blocks;
    free_pages += blocks * 2 ** order;
    if (order >= suitableOrder) {
      free_blocks_suitable += blocks * 2 ** (order - suitableOrder);
    }
  }
  return { free_pages, free_blocks_total, free_blocks_suitable };
}

/**
 * mm/vmstat.c unusable_free_index(): thousandths of the free memory that cannot serve an order-`order`
 * request. No free memory counts as all of it unusable (1000).
 */
export function unusable_free_index(order: number, info: ContigPageInfo): number {
  if (info.free_pages === 0) {
    return 1000;
  }
  return Math.floor(((info.free_pages - info.free_blocks_suitable * 2 ** order) * 1000) / info.free_pages);
}

/**
 * mm/vmstat.c __fragmentation_index(): 0 for an order above MAX_PAGE_ORDER (the kernel also WARNs) or when
 * there is no free block at all; -1000 when a suitable block exists; otherwise a value in 0..1000.
 */
export function __fragmentation_index(order: number, info: ContigPageInfo): number {
  const requested = 2 ** order;
  if (order >= NR_PAGE_ORDERS) {
    return 0;
  }
  if (!info.free_blocks_total) {
    return 0;
  }
  if (info.free_blocks_suitable) {
    return -1000;
  }
  return 1000 - Math.floor((1000 + Math.floor((info.free_pages * 1000) / requested)) / info.free_blocks_total);
}

export interface ExtfragZoneView {
  readonly node: number;
  readonly zone: string;
  /** unusable_free_index() per order, in thousandths. */
  readonly unusable: readonly number[];
  /** __fragmentation_index() per order, in thousandths (-1000: a suitable block exists). */
  readonly extfrag: readonly number[];
}

/** Both debugfs extfrag files for the populated zones, as plain JSON. */
export interface ExtfragView {
  readonly kind: 'extfrag';
  readonly zones: readonly ExtfragZoneView[];
}

/** The view for the given (populated) zones, in the order given (the kernel's: node, then zone index). */
export function extfragView(zones: readonly ZoneFreeCounts[]): ExtfragView {
  return {
    kind: 'extfrag',
    zones: zones.map((z) => {
      const unusable: number[] = [];
      const extfrag: number[] = [];
      for (let order = 0; order < NR_PAGE_ORDERS; order++) {
        const info = fill_contig_page_info(z.nrFree, order);
        unusable.push(unusable_free_index(order, info));
        extfrag.push(__fragmentation_index(order, info));
      }
      return { node: z.node, zone: z.zone, unusable, extfrag };
    }),
  };
}

/** mm/vmstat.c unusable_show_print(): "Node %d, zone %8s " then "%d.%03d " per order. */
export function formatUnusableIndex(view: ExtfragView): string {
  let out = '';
  for (const z of view.zones) {
    out += `Node ${z.node}, zone ${z.zone.padStart(8)} `;
    for (const index of z.unusable) {
      out += `${thousandths(index, 0)} `;
    }
    out += '\n';
  }
  return out;
}

/** mm/vmstat.c extfrag_show_print(): "Node %d, zone %8s " then "%2d.%03d " per order. */
export function formatExtfragIndex(view: ExtfragView): string {
  let out = '';
  for (const z of view.zones) {
    out += `Node ${z.node}, zone ${z.zone.padStart(8)} `;
    for (const index of z.extfrag) {
      out += `${thousandths(index, 2)} `;
    }
    out += '\n';
  }
  return out;
}

/**
 * printf("%<width>d.%03d", index / 1000, index % 1000) with C's truncating division and remainder. The only
 * negative index the kernel produces is -1000, whose remainder is 0, so "-1.000"; a negative remainder (not
 * produced) would print as C does, e.g. "0.-500".
 */
function thousandths(index: number, width: number): string {
  const whole = Math.trunc(index / 1000);
  const frac = index - whole * 1000;
  const fracText = frac < 0 ? `-${String(-frac).padStart(2, '0')}` : String(frac).padStart(3, '0');
  return `${String(whole).padStart(width)}.${fracText}`;
}
