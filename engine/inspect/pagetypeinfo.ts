/*
 * /proc/pagetypeinfo (mm/vmstat.c pagetypeinfo_show, Linux 6.12): the buddy free lists split by migrate type,
 * and how many page blocks carry each migrate type.
 *
 * Per node with memory (the modelled machine has node 0 only), pagetypeinfo_show() prints:
 *   "Page block order: %d\n"          pageblock_order (9 on x86-64: HPAGE_PMD_ORDER)
 *   "Pages per block:  %lu\n"         pageblock_nr_pages (512); two spaces after the colon
 *   "\n"
 *   pagetypeinfo_showfree():  "%-43s " of "Free pages count per migrate type at order", "%6d " per order, "\n";
 *     then per populated zone and migrate type (pagetypeinfo_showfree_print):
 *     "Node %4d, zone %8s, type %12s " and per order "%s%6lu " where the count walks
 *     free_area[order].free_list[type] and stops at 100000 ("if (++freecount >= 100000)"), printing ">" before it:
 *     a list of 100000 or more blocks prints ">100000" (a list of exactly 100000 too);
 *   pagetypeinfo_showblockcount(): "\n%-23s" of "Number of blocks type " (so a blank line before it), "%12s " per
 *     migrate type name, "\n"; then per populated zone (pagetypeinfo_showblockcount_print):
 *     "Node %d, zone %8s " and "%12lu " per migrate type;
 *   pagetypeinfo_showmixedcount(): the "Number of mixed blocks" table exists only with CONFIG_PAGE_OWNER and
 *     page_owner=on (page_owner_inited); the modelled kernel has no page owner tracking, so it is left out.
 * Every table line ends in a space before the newline.
 *
 * Migrate type names come from mm/page_alloc.c migratetype_names[], in enum migratetype order: Unmovable,
 * Movable, Reclaimable, HighAtomic, then CMA (CONFIG_CMA) and Isolate (CONFIG_MEMORY_ISOLATION); the view carries
 * them so the config decides, not this file.
 */

import { NR_PAGE_ORDERS } from '../mm/config';
import { MIGRATETYPE_NAMES } from '../mm/buddy';

/** The per-zone data the buddy allocator fills. */
export interface PagetypeinfoZoneView {
  readonly node: number;
  readonly zone: string;
  /** [type][order]: blocks on zone->free_area[order].free_list[type] (uncapped; the formatter caps). */
  readonly freeByType: readonly (readonly number[])[];
  /** Page blocks whose pageblock migrate type is each type (get_pageblock_migratetype()). */
  readonly blocksByType: readonly number[];
}

export interface PagetypeinfoView {
  readonly kind: 'pagetypeinfo';
  /** pageblock_order: 9 on x86-64 with 4 KiB pages. */
  readonly pageblockOrder: number;
  /** migratetype_names[] in enum order: Unmovable, Movable, Reclaimable, HighAtomic, CMA, Isolate. */
  readonly migrateTypeNames: readonly string[];
  /** The populated zones, by node then zone index. */
  readonly zones: readonly PagetypeinfoZoneView[];
}

/** pagetypeinfo_showfree_print() stops counting a free list here and prints ">" before the count. */
export const PAGETYPEINFO_FREECOUNT_CAP = 100000;

/** Linux 6.12 migratetype_names[] with CONFIG_CMA and CONFIG_MEMORY_ISOLATION (mm/page_alloc.c). */
export { MIGRATETYPE_NAMES };

/** mm/vmstat.c pagetypeinfo_show(), without the CONFIG_PAGE_OWNER mixed-blocks table. */
export function formatPagetypeinfo(view: PagetypeinfoView): string {
  const names = view.migrateTypeNames;
  let out = '';
  for (const node of nodesOf(view)) {
    const zones = view.zones.filter((z) => z.node === node);
    out += `Page block order: ${view.pageblockOrder}\n`;
    out += `Pages per block:  ${2 ** view.pageblockOrder}\n`;
    out += '\n';

    // pagetypeinfo_showfree()
    out += `${'Free pages count per migrate type at order'.padEnd(43)} `;
    for (let order = 0; order < NR_PAGE_ORDERS; order++) {
      out += `${String(order).padStart(6)} `;
    }
    out += '\n';
    for (const z of zones) {
      for (let type = 0; type < names.length; type++) {
        out += `Node ${String(z.node).padStart(4)}, zone ${z.zone.padStart(8)}, type ${names[type]!.padStart(12)} `;
        for (let order = 0; order < NR_PAGE_ORDERS; order++) {
          const count = z.freeByType[type]?.[order] ?? 0;
          const overflow = count >= PAGETYPEINFO_FREECOUNT_CAP;
          const shown = overflow ? PAGETYPEINFO_FREECOUNT_CAP : count;
          out += `${overflow ? '>' : ''}${String(shown).padStart(6)} `;
        }
        out += '\n';
      }
    }

    // pagetypeinfo_showblockcount()
    out += `\n${'Number of blocks type '.padEnd(23)}`;
    for (const name of names) {
      out += `${name.padStart(12)} `;
    }
    out += '\n';
    for (const z of zones) {
      out += `Node ${z.node}, zone ${z.zone.padStart(8)} `;
      for (let type = 0; type < names.length; type++) {
        out += `${String(z.blocksByType[type] ?? 0).padStart(12)} `;
      }
      out += '\n';
    }
  }
  return out;
}

/** frag_start()/frag_next() walk the online nodes in order; a node without populated zones prints nothing. */
function nodesOf(view: PagetypeinfoView): number[] {
  return [...new Set(view.zones.map((z) => z.node))].sort((a, b) => a - b);
}
