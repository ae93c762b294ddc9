/*
 * The invariant checker of the page allocator: walks every free list and per-CPU list and every frame, and
 * returns what does not add up, in words. It never trusts a link: every walk is bounded by the number of
 * frames, so a corrupted list (a cycle, a pointer out of range) is reported, never followed forever.
 *
 * Invariants checked:
 *   - every frame of RAM is exactly one of: in a free block on the list of its order and its page block's
 *     migrate type, in a block cached on one CPU's per-CPU list, allocated (covered by an allocation head
 *     with a reference), or reserved;
 *   - a free block is naturally aligned, inside its zone, and no free block has a free buddy of the same
 *     order and a mergeable type (it would have merged);
 *   - per zone and order, the blocks found on the lists equal nr_free, per type equal the type counts, and
 *     the free frames equal NR_FREE_PAGES; per CPU, the frames on its lists equal pcp->count;
 *   - lists are well formed: prev links mirror next links, heads have no prev, tails no next.
 */

import { MIGRATETYPE_NAMES, MIGRATE_PCPTYPES, MIGRATE_TYPES, PAGEBLOCK_ORDER } from './buddy';
import { MAX_PAGE_ORDER, NR_PAGE_ORDERS } from './config';
import { NO_PFN, PG_BUDDY, PG_HEAD, PG_PCP, PG_PGTABLE, PG_RESERVED, PG_TAIL } from './frames';
import { Machine } from './machine';
import { NR_PCP_LISTS, pindexToOrder } from './pcp';

/** At most this many problems are reported; the rest are counted. */
const MAX_PROBLEMS = 50;

export interface CheckReport {
  readonly ok: boolean;
  readonly problems: readonly string[];
  /** Problems found beyond MAX_PROBLEMS. */
  readonly more: number;
}

export function checkPageAllocator(machine: Machine): CheckReport {
  const problems: string[] = [];
  let more = 0;
  const report = (p: string) => {
    if (problems.length < MAX_PROBLEMS) problems.push(p);
    else more++;
  };
  const { frames } = machine;
  const pa = machine.buddy;
  const n = frames.count;
  const hex = (x: number) => `0x${x.toString(16)}`;
  // 0 unclaimed, 1 free, 2 pcp, 3 allocated, 4 reserved
  const state = new Uint8Array(n);
  const claim = (pfn: number, order: number, s: number, what: string) => {
    for (let p = pfn; p < pfn + (1 << order) && p < n; p++) {
      if (state[p] !== 0) {
        report(
          `pfn ${hex(p)} is counted twice (${what}, and already ${['', 'free', 'on a per-CPU list', 'allocated', 'reserved'][state[p]!]})`,
        );
        return;
      }
      state[p] = s;
    }
  };

  for (const zone of pa.zones) {
    if (zone.endPfn <= zone.startPfn) continue;
    let freeFrames = 0;
    for (let order = 0; order < NR_PAGE_ORDERS; order++) {
      let blocks = 0;
      for (let mt = 0; mt < MIGRATE_TYPES; mt++) {
        const list = order * MIGRATE_TYPES + mt;
        let prev = NO_PFN;
        let found = 0;
        let pfn = zone.freeHead[list]!;
        for (let steps = 0; pfn !== NO_PFN; steps++) {
          const where = `${zone.name} order-${order} ${MIGRATETYPE_NAMES[mt]} list`;
          if (steps > n || pfn < zone.startPfn || pfn >= zone.endPfn || !Number.isInteger(pfn)) {
            report(steps > n ? `the ${where} does not end (a cycle)` : `the ${where} points outside the zone (${pfn})`);
            break;
          }
          if (frames.prev[pfn] !== prev) {
            report(`pfn ${hex(pfn)} on the ${where}: prev link ${frames.prev[pfn]} should be ${prev}`);
          }
          if (!(frames.flags[pfn]! & PG_BUDDY)) report(`pfn ${hex(pfn)} is on the ${where} without PG_buddy`);
          if (frames.order[pfn] !== order) report(`pfn ${hex(pfn)} is on the ${where} with order ${frames.order[pfn]}`);
          if (pfn & ((1 << order) - 1)) report(`free block ${hex(pfn)} of order ${order} is not aligned`);
          if (pfn + (1 << order) > zone.endPfn) {
            report(`free block ${hex(pfn)} of order ${order} crosses the end of ${zone.name}`);
          }
          const blockMt = pa.pageblockMt[pfn >> PAGEBLOCK_ORDER]!;
          if (blockMt !== mt) {
            report(`free block ${hex(pfn)} is on the ${mt} list but its page block has type ${blockMt}`);
          }
          if (order < MAX_PAGE_ORDER) {
            const buddy = pfn ^ (1 << order);
            const buddyMt = pa.pageblockMt[buddy >> PAGEBLOCK_ORDER]!;
            const mergeable =
              order < PAGEBLOCK_ORDER || buddyMt === mt || (buddyMt < MIGRATE_PCPTYPES && mt < MIGRATE_PCPTYPES);
            if (
              buddy >= zone.startPfn &&
              buddy + (1 << order) <= zone.endPfn &&
              frames.flags[buddy]! & PG_BUDDY &&
              frames.order[buddy] === order &&
              mergeable
            ) {
              report(`free blocks ${hex(pfn)} and ${hex(buddy)} of order ${order} are buddies and should have merged`);
            }
          }
          claim(pfn, order, 1, 'free');
          found++;
          freeFrames += 1 << order;
          prev = pfn;
          pfn = frames.next[pfn]!;
        }
        if (zone.freeTail[list] !== prev) {
          report(`the ${zone.name} order-${order} ${mt} list's tail is ${zone.freeTail[list]}, its last block ${prev}`);
        }
        if (zone.nrFreeByType[list] !== found) {
          report(
            `${zone.name} order ${order} type ${mt}: ${found} blocks on the list, the count says ${zone.nrFreeByType[list]}`,
          );
        }
        blocks += found;
      }
      if (zone.nrFree[order] !== blocks) {
        report(`${zone.name} order ${order}: ${blocks} blocks on the lists, nr_free says ${zone.nrFree[order]}`);
      }
    }
    if (zone.freePages !== freeFrames) {
      report(`${zone.name}: ${freeFrames} free frames on the lists, NR_FREE_PAGES says ${zone.freePages}`);
    }

    const zpcp = pa.pcp[zone.index]!;
    zpcp.cpus.forEach((pcp, cpu) => {
      let frameCount = 0;
      for (let pindex = 0; pindex < NR_PCP_LISTS; pindex++) {
        const order = pindexToOrder(pindex);
        let prev = NO_PFN;
        let pfn = pcp.heads[pindex]!;
        for (let steps = 0; pfn !== NO_PFN; steps++) {
          if (steps > n || pfn < zone.startPfn || pfn >= zone.endPfn || !Number.isInteger(pfn)) {
            report(
              `CPU ${cpu}'s ${zone.name} per-CPU list ${pindex} is corrupted (${steps > n ? 'a cycle' : `pfn ${pfn}`})`,
            );
            break;
          }
          if (!(frames.flags[pfn]! & PG_PCP)) report(`pfn ${hex(pfn)} is on CPU ${cpu}'s per-CPU list without PG_pcp`);
          if (frames.prev[pfn] !== prev) report(`pfn ${hex(pfn)} on CPU ${cpu}'s per-CPU list: prev link is wrong`);
          claim(pfn, order, 2, `on CPU ${cpu}'s per-CPU list`);
          frameCount += 1 << order;
          prev = pfn;
          pfn = frames.next[pfn]!;
        }
      }
      if (frameCount !== pcp.count) {
        report(`CPU ${cpu}'s ${zone.name} per-CPU lists hold ${frameCount} frames, count says ${pcp.count}`);
      }
    });
  }

  // Allocations: every head with a reference covers its block; tails follow their head.
  for (let pfn = 0; pfn < n; pfn++) {
    const f = frames.flags[pfn]!;
    if (f & PG_RESERVED) {
      claim(pfn, 0, 4, 'reserved');
      continue;
    }
    if (state[pfn] !== 0 || f & (PG_BUDDY | PG_PCP | PG_TAIL)) continue;
    if (frames.refcount[pfn]! > 0) {
      const order = frames.order[pfn]!;
      if (order > MAX_PAGE_ORDER) {
        report(`pfn ${hex(pfn)} has order ${order}`);
        continue;
      }
      if (f & PG_HEAD) {
        for (let p = pfn + 1; p < pfn + (1 << order) && p < n; p++) {
          if (!(frames.flags[p]! & PG_TAIL)) {
            report(`pfn ${hex(p)} inside the compound block at ${hex(pfn)} is not a tail page`);
          }
        }
      }
      claim(pfn, order, 3, 'allocated');
      pfn += (1 << order) - 1;
    }
  }
  for (let pfn = pa.firstPfn; pfn < n; pfn++) {
    if (state[pfn] === 0) report(`pfn ${hex(pfn)} is neither free, cached, allocated nor reserved (leaked)`);
  }
  checkKernelMappings(machine, state, report);
  return { ok: problems.length === 0, problems, more };
}

/**
 * The kernel page table against its owners: every page of a vmalloc area is allocated and mapped at its
 * place, the guard page is not mapped, every mapping in the vmalloc range belongs to an area, and every
 * table page of init_mm is a page-table frame. `state` is the frame states found above (3 = allocated).
 */
function checkKernelMappings(machine: Machine, state: Uint8Array, report: (p: string) => void): void {
  const pt = machine.kernelPt;
  const areas = machine.vmalloc.areas();
  const hex = (x: bigint | number) => `0x${x.toString(16)}`;
  for (const area of areas) {
    area.pages.forEach((pfn, i) => {
      const va = area.addr + BigInt(i * 4096);
      if (state[pfn] !== 3) report(`vmalloc page ${hex(pfn)} of area ${hex(area.addr)} is not an allocated frame`);
      if (pt.translate(va) !== pfn * 4096) report(`vmalloc address ${hex(va)} does not map its page ${hex(pfn)}`);
    });
    const guard = area.addr + BigInt(area.size - 4096);
    if (area.size > area.pages.length * 4096 && pt.translate(guard) !== -1) {
      report(`the guard page ${hex(guard)} of area ${hex(area.addr)} is mapped`);
    }
  }
  const { vmallocStart, vmallocEnd } = machine.arch;
  pt.forEachLeaf((leaf) => {
    if (leaf.va < vmallocStart || leaf.va >= vmallocEnd) return;
    const owner = machine.vmalloc.findArea(leaf.va);
    if (!owner || owner.inGuard) report(`${hex(leaf.va)} is mapped in the vmalloc range but belongs to no area`);
  });
  let tables = 0;
  pt.forEachTablePage((pfn) => {
    tables++;
    if (!(machine.frames.flags[pfn]! & PG_PGTABLE)) report(`page-table page ${hex(pfn)} is not marked PG_pgtable`);
  });
  if (tables === 0) report('the kernel page table has no pages');
}
