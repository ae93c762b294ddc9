/*
 * Scenario builtins that read the machine's counters, so `expect` can pin the figures the kernel prints:
 * buddyinfo's free blocks of an order, MemFree, and slabinfo's active_objs / num_objs / num_slabs of a
 * cache. Each reads the same code the /proc file is printed from (engine/inspect), so an expectation and
 * the file it stands for can never disagree. They change nothing.
 */

import { MAX_PAGE_ORDER } from '../mm/config';
import { Machine } from '../mm/machine';
import { SlabCacheView, slabinfoView } from '../inspect/views';
import type { CallFailure, GenericBuiltin } from './calls';
import { formatValue } from './values';

/** The slabinfo row of the live cache called `name`, or KM4132. */
function slabinfoRow(machine: Machine, fn: string, name: string | undefined): SlabCacheView | CallFailure {
  const row = slabinfoView(machine).caches.find((c) => c.name === name);
  return row ?? { code: 'KM4132', message: `${fn}: no slab cache named '${name ?? ''}' (see /proc/slabinfo)` };
}

function slabinfoColumn(
  name: string,
  column: string,
  pick: (row: SlabCacheView) => number,
  doc: string,
): GenericBuiltin {
  return {
    name,
    params: ['cache'],
    stringParams: [0],
    returnsValue: true,
    summary: `/proc/slabinfo's ${column} of the cache named cache (a string literal, as slabinfo names it).`,
    doc,
    returns: 'a count',
    topic: 'stats',
    run(machine, [cache], strings) {
      const row = slabinfoRow(machine, name, strings[cache as number]);
      return 'code' in row ? row : pick(row);
    },
  };
}

export const STATS_BUILTINS: readonly GenericBuiltin[] = [
  {
    name: 'nr_free',
    params: ['order'],
    returnsValue: true,
    summary: "Free blocks of 2^order pages in all zones: the sum of /proc/buddyinfo's column for that order.",
    doc: 'The free blocks of order `order` (0..10) summed over the zones, as `/proc/buddyinfo` prints them per zone (`free_area[order].nr_free`). Pages on the per-CPU lists are not free blocks, as in the kernel.',
    returns: 'a count',
    topic: 'stats',
    run(machine, [order]) {
      if (typeof order !== 'number' || !Number.isInteger(order) || order < 0 || order > MAX_PAGE_ORDER) {
        return {
          code: 'KM4107',
          message: `nr_free: order must be 0..${MAX_PAGE_ORDER}, not ${formatValue(order!)}`,
        };
      }
      let n = 0;
      for (const zone of machine.buddy.zones) n += zone.nrFree[order]!;
      return n;
    },
  },
  {
    name: 'nr_free_pages',
    params: [],
    returnsValue: true,
    summary: "Free pages (NR_FREE_PAGES): /proc/meminfo's MemFree divided by 4 kB.",
    doc: "The free pages of the machine (`NR_FREE_PAGES`): `/proc/meminfo`'s MemFree in pages. Pages on the per-CPU lists do not count, as in the kernel.",
    returns: 'a count',
    topic: 'stats',
    run(machine) {
      return machine.buddy.nrFreePages;
    },
  },
  slabinfoColumn(
    'slab_active_objs',
    'active_objs',
    (r) => r.activeObjs,
    "`/proc/slabinfo`'s active_objs of the cache named `cache`: its objects less the free ones on the node partial list (free objects of CPU slabs count as active, as in 6.12).",
  ),
  slabinfoColumn(
    'slab_num_objs',
    'num_objs',
    (r) => r.numObjs,
    "`/proc/slabinfo`'s num_objs of the cache named `cache`: every object slot of its slabs.",
  ),
  slabinfoColumn(
    'slab_num_slabs',
    'num_slabs',
    (r) => r.numSlabs,
    "`/proc/slabinfo`'s num_slabs of the cache named `cache`: the slabs it holds, CPU slabs and partial ones included.",
  ),
];
