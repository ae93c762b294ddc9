/*
 * Memory compaction (mm/compaction.c, read in a 6.x tree of torvalds/linux; behaviour as of 6.12): moves
 * movable pages from the low end of a zone to free pages at its high end, so that free space gathers into
 * large blocks. "Movable" in the model means what mm/compaction.c can migrate here: anonymous user pages on
 * the LRU (PG_lru, PG_anon), found through the task table's reverse map (process.ts). Slabs, page tables,
 * kernel stacks and other kernel pages are never moved, as in the kernel.
 *
 *   zone start                                                                   zone end
 *   |  migrate scanner -->  [isolate LRU pages]      [isolate free pages]  <-- free scanner  |
 *   compact_zone() loops while compact_finished() says COMPACT_CONTINUE:
 *     isolate_migratepages():        from migrate_pfn, one page block at a time, take up to
 *                                    COMPACT_CLUSTER_MAX (32) LRU pages off the LRU (isolate_migratepages_block);
 *     migrate_pages():               for each, compaction_alloc() takes a free page (refilled by
 *                                    isolate_freepages(): page blocks from free_pfn downwards, free buddy blocks
 *                                    split into order-0 pages, __isolate_free_page's min-watermark check), the
 *                                    bytes are copied, every PTE that mapped the page is rewritten (the rmap walk
 *                                    of remove_migration_ptes), the old page is freed;
 *     check_drain:                   once the migrate scanner leaves the order-aligned block it migrated from,
 *                                    the CPU's per-CPU lists of the zone are drained so the freed pages merge;
 *   compact_finished():  the scanners met (free_pfn's page block <= migrate_pfn's) -> COMPACT_COMPLETE;
 *                        order -1 (/proc/sys/vm/compact_memory) -> go on; not at a page-block boundary -> go
 *                        on; a free block of order >= the request on the request's migrate-type list, or one
 *                        a fallback may steal (find_suitable_fallback with only_stealable) -> COMPACT_SUCCESS.
 * Before scanning, an order >= 0 request returns COMPACT_SUCCESS when the watermark is already met, and
 * COMPACT_SKIPPED when compaction_suitable() says no (order-0 watermark plus compact_gap(order) = 2 << order
 * not met, or for costly orders a fragmentation index in [0, 500]: lack of memory, not fragmentation).
 *
 * Simplifications, on purpose: every run scans the whole zone from its ends with no pageblock skip hints, no
 * cached scanner positions, no fast free-list searches (fast_isolate_freepages, fast_find_migrateblock) and no
 * deferral (defer_compaction): the model behaves as a sync run at MIN_COMPACT_PRIORITY (whole_zone,
 * ignore_skip_hint); direct compaction also ignores block suitability (ignore_block_suitable), compact_node()
 * does not and only takes free pages from Movable page blocks. Compaction capture (capture_control) is not
 * modelled: the allocator retries after compaction returns. Unused isolated free pages go back through the
 * per-CPU lists (release_freepages -> __free_page), as do migrated-from pages; compact_memory does not drain
 * them (only order > 0 runs drain, at check_drain).
 *
 * Zone order: compact_node() (compact_memory) and kcompactd walk the zones lowest first; direct compaction
 * (try_to_compact_pages) walks the allocation's zonelist, highest zone first, and stops at COMPACT_SUCCESS.
 */

import {
  ALLOC_CMA,
  ALLOC_WMARK_MIN,
  MIGRATE_CMA,
  MIGRATE_HIGHATOMIC,
  MIGRATE_ISOLATE,
  MIGRATE_MOVABLE,
  MIGRATE_RECLAIMABLE,
  MIGRATE_TYPES,
  MIGRATE_UNMOVABLE,
  PAGEBLOCK_NR_PAGES,
  PAGEBLOCK_ORDER,
  Zone,
  canStealFallback,
  wmarkPages,
  zoneWatermarkOk,
} from './buddy';
import { MAX_PAGE_ORDER, NR_PAGE_ORDERS } from './config';
import { NO_PFN, PG_BUDDY, PG_HEAD, PG_LRU, PG_TAIL } from './frames';
import { GFP_KERNEL, __GFP_IO } from './gfp';
import type { Machine } from './machine';
import { gfpMigratetype } from './page_alloc';
import { PAGE_ALLOC_COSTLY_ORDER } from './pcp';
import { __fragmentation_index, fill_contig_page_info } from '../inspect/fragmentation';
import { EventKind } from '../trace/events';

/** include/linux/compaction.h enum compact_result, in its order (the event's extra is the index). */
export const COMPACT_RESULT_NAMES = [
  'COMPACT_NOT_SUITABLE_ZONE',
  'COMPACT_SKIPPED',
  'COMPACT_DEFERRED',
  'COMPACT_NO_SUITABLE_PAGE',
  'COMPACT_CONTINUE',
  'COMPACT_COMPLETE',
  'COMPACT_PARTIAL_SKIPPED',
  'COMPACT_CONTENDED',
  'COMPACT_SUCCESS',
] as const;
export type CompactResultName = (typeof COMPACT_RESULT_NAMES)[number];

/** mm/internal.h COMPACT_CLUSTER_MAX = SWAP_CLUSTER_MAX (32): pages isolated per migration batch. */
export const COMPACT_CLUSTER_MAX = 32;
/** /proc/sys/vm/extfrag_threshold default (sysctl_extfrag_threshold). */
export const EXTFRAG_THRESHOLD = 500;

/** mm/page_alloc.c fallbacks[] (6.12), for find_suitable_fallback() in compact_finished(). */
const FALLBACKS: readonly (readonly number[])[] = [
  [MIGRATE_RECLAIMABLE, MIGRATE_MOVABLE],
  [MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE],
  [MIGRATE_UNMOVABLE, MIGRATE_MOVABLE],
];

export interface CompactResult {
  readonly zone: string;
  readonly order: number;
  readonly result: CompactResultName;
  /** Pages the migrate scanner looked at (cc->total_migrate_scanned). */
  readonly migrateScanned: number;
  /** Pages the free scanner looked at (cc->total_free_scanned). */
  readonly freeScanned: number;
  /** LRU pages taken for migration. */
  readonly isolated: number;
  /** Free pages taken by the free scanner (COMPACTISOLATED counts both). */
  readonly freeIsolated: number;
  /** Pages moved (COMPACTSUCCESS / pgmigrate_success). */
  readonly migrated: number;
  /** Pages that could not be moved and went back to the LRU (pgmigrate_fail). */
  readonly failed: number;
}

export interface CompactOptions {
  /** The allocation's mask: its migrate type decides which free lists finish the run (GFP_KERNEL by default). */
  readonly gfp?: number;
  /** The allocation's highest zone (for lowmem_reserve in the watermark checks); the zone's own by default. */
  readonly highestZone?: number;
  /** The allocation's alloc_flags (the watermark it needs); ALLOC_WMARK_MIN by default. */
  readonly allocFlags?: number;
  /** Direct compaction (MIN_COMPACT_PRIORITY: free pages from any page block), not compact_node(). */
  readonly direct?: boolean;
}

const pageblockStart = (pfn: number) => pfn & ~(PAGEBLOCK_NR_PAGES - 1);
const pageblockEnd = (pfn: number) => pageblockStart(pfn) + PAGEBLOCK_NR_PAGES;

/** compaction_suitable(): enough free memory to migrate into, and (costly orders) fragmentation to blame. */
export function compactionSuitable(zone: Zone, order: number, highestZone: number): boolean {
  const mark = (order > PAGE_ALLOC_COSTLY_ORDER ? zone.wmarkLow : zone.wmarkMin) + (2 << order); // compact_gap()
  if (!zoneWatermarkOk(zone, 0, mark, highestZone, ALLOC_CMA)) return false;
  if (order > PAGE_ALLOC_COSTLY_ORDER) {
    const index = __fragmentation_index(order, fill_contig_page_info(Array.from(zone.nrFree), order));
    if (index >= 0 && index <= EXTFRAG_THRESHOLD) return false;
  }
  return true;
}

/**
 * compact_zone() on one zone for a request of `order` (-1: compact everything, as compact_memory does).
 * Records a Compaction event and returns the counts and the compact_result.
 */
export function compactZone(machine: Machine, zone: Zone, order: number, opts: CompactOptions = {}): CompactResult {
  const pa = machine.buddy;
  const buddy = pa.buddies[zone.index]!;
  const { frames } = machine;
  const cpu = machine.cpu;
  const highest = opts.highestZone ?? zone.index;
  const mt = gfpMigratetype(opts.gfp ?? GFP_KERNEL);
  const st = { migrateScanned: 0, freeScanned: 0, isolated: 0, freeIsolated: 0, migrated: 0, failed: 0 };
  const finish = (result: CompactResultName): CompactResult => {
    const code = COMPACT_RESULT_NAMES.indexOf(result);
    machine.events.push(
      EventKind.Compaction,
      cpu,
      machine.eventLine,
      zone.index,
      st.migrated,
      (st.migrateScanned + st.freeScanned) >>> 0,
      code,
    );
    return { zone: zone.name, order, result, ...st };
  };
  if (zone.managedPages === 0) return finish('COMPACT_SKIPPED');
  if (order >= 0) {
    const allocFlags = opts.allocFlags ?? ALLOC_WMARK_MIN;
    if (zoneWatermarkOk(zone, order, wmarkPages(zone, allocFlags), highest, allocFlags)) {
      return finish('COMPACT_SUCCESS');
    }
    if (!compactionSuitable(zone, order, highest)) return finish('COMPACT_SKIPPED');
  }

  let migratePfn = zone.startPfn;
  let freePfn = pageblockStart(zone.endPfn - 1);
  const freepages: number[] = [];
  const scannersMet = () => freePfn >> PAGEBLOCK_ORDER <= migratePfn >> PAGEBLOCK_ORDER;
  const drain = () => pa.pcp[zone.index]!.drain(cpu);

  const compactFinished = (): CompactResultName => {
    if (scannersMet()) return 'COMPACT_COMPLETE'; // whole_zone
    if (order < 0) return 'COMPACT_CONTINUE';
    if (migratePfn % PAGEBLOCK_NR_PAGES !== 0) return 'COMPACT_CONTINUE';
    for (let o = order; o <= MAX_PAGE_ORDER; o++) {
      if (zone.freeHead[o * MIGRATE_TYPES + mt] !== NO_PFN) return 'COMPACT_SUCCESS';
      if (mt === MIGRATE_MOVABLE && zone.freeHead[o * MIGRATE_TYPES + MIGRATE_CMA] !== NO_PFN) return 'COMPACT_SUCCESS';
      if (zone.nrFree[o] === 0 || mt >= FALLBACKS.length) continue;
      for (const fallback of FALLBACKS[mt]!) {
        if (zone.freeHead[o * MIGRATE_TYPES + fallback] !== NO_PFN && canStealFallback(o, mt)) return 'COMPACT_SUCCESS';
      }
    }
    return 'COMPACT_CONTINUE'; // COMPACT_NO_SUITABLE_PAGE becomes COMPACT_CONTINUE in compact_finished()
  };

  /** isolate_migratepages(): the LRU pages of the first page block the migrate scanner reaches. */
  const isolateMigratepages = (): number[] => {
    const out: number[] = [];
    const blockEnd = pageblockEnd(migratePfn);
    if (blockEnd > freePfn) return out;
    const end = Math.min(blockEnd, zone.endPfn);
    let p = Math.max(migratePfn, zone.startPfn);
    for (; p < end; p++) {
      st.migrateScanned++;
      const f = frames.flags[p]!;
      if (f & PG_BUDDY) {
        const skip = (1 << frames.order[p]!) - 1;
        p += skip;
        st.migrateScanned += skip;
        continue;
      }
      if (f & PG_HEAD) {
        const skip = (1 << frames.order[p]!) - 1; // compound pages are not compacted
        p += skip;
        st.migrateScanned += skip;
        continue;
      }
      if (!(f & PG_LRU) || f & PG_TAIL) continue;
      // Pinned anon pages (more references than mappings) would fail: the model's never are.
      frames.flags[p] = f & ~PG_LRU; // folio_test_clear_lru()
      out.push(p);
      st.isolated++;
      if (out.length === COMPACT_CLUSTER_MAX) {
        p++;
        break;
      }
    }
    migratePfn = p >= end ? blockEnd : p;
    return out;
  };

  /** isolate_freepages(): free pages from page blocks below free_pfn, down to the migrate scanner's block. */
  const isolateFreepages = (needed: number): void => {
    let blockStart = pageblockStart(freePfn);
    let isolateStart = freePfn;
    let blockEnd = Math.min(blockStart + PAGEBLOCK_NR_PAGES, zone.endPfn);
    const low = pageblockEnd(migratePfn);
    for (; blockStart >= low; blockEnd = blockStart, blockStart -= PAGEBLOCK_NR_PAGES, isolateStart = blockStart) {
      if (blockStart < zone.startPfn) break;
      // suitable_migration_target(): not a free block of a whole page block; Movable blocks unless direct.
      if (frames.flags[blockStart]! & PG_BUDDY && frames.order[blockStart]! >= PAGEBLOCK_ORDER) continue;
      const type = buddy.blockType(blockStart);
      if (!opts.direct && type !== MIGRATE_MOVABLE && type !== MIGRATE_CMA) continue;
      let p = isolateStart;
      for (; p < blockEnd; p++) {
        st.freeScanned++;
        const f = frames.flags[p]!;
        if (f & PG_HEAD) {
          p += (1 << frames.order[p]!) - 1;
          continue;
        }
        if (!(f & PG_BUDDY)) continue;
        const o = frames.order[p]!;
        // __isolate_free_page(): keep the zone above its min watermark.
        if (!zoneWatermarkOk(zone, 0, zone.wmarkMin + (1 << o), 0, ALLOC_CMA)) break;
        buddy.isolateFreePage(p, o);
        if (o >= PAGEBLOCK_ORDER - 1) {
          for (let b = p; b < p + (1 << o); b += PAGEBLOCK_NR_PAGES) {
            const bt = buddy.blockType(b);
            if (bt !== MIGRATE_ISOLATE && bt !== MIGRATE_CMA && bt !== MIGRATE_HIGHATOMIC) {
              pa.pageblockMt[b >> PAGEBLOCK_ORDER] = MIGRATE_MOVABLE;
            }
          }
        }
        // split_map_pages(): post_alloc_hook + split_page: 2^o order-0 pages, each with a reference.
        for (let q = p; q < p + (1 << o); q++) {
          buddy.prepNew(q, 0, false);
          freepages.push(q);
        }
        st.freeIsolated += 1 << o;
        st.freeScanned += (1 << o) - 1;
        if (freepages.length >= needed) {
          p += 1 << o;
          break;
        }
        p += (1 << o) - 1;
      }
      isolateStart = p;
      if (freepages.length >= needed) {
        if (isolateStart >= blockEnd) isolateStart = blockStart - PAGEBLOCK_NR_PAGES;
        break;
      } else if (isolateStart < blockEnd) {
        break; // isolation failed early (watermark)
      }
    }
    freePfn = isolateStart;
  };

  const putBack = (pfn: number) => {
    frames.flags[pfn]! |= PG_LRU; // putback_movable_pages()
    st.failed++;
  };

  const freePage = (pfn: number) => {
    const bad = pa.freePages(pfn, 0, cpu);
    if (bad) throw new Error(`compaction: the page allocator refused pfn ${pfn}: ${bad}`);
  };

  let ret: CompactResultName;
  let lastMigrated = 0;
  while ((ret = compactFinished()) === 'COMPACT_CONTINUE') {
    const batch = isolateMigratepages();
    if (batch.length > 0) {
      lastMigrated = Math.max(zone.startPfn, pageblockStart(migratePfn - 1));
      let enomem = false;
      for (let i = 0; i < batch.length; i++) {
        const src = batch[i]!;
        if (freepages.length === 0) isolateFreepages(batch.length - i);
        const dst = freepages.shift();
        if (dst === undefined) {
          for (let k = i; k < batch.length; k++) putBack(batch[k]!);
          enomem = true;
          break;
        }
        machine.mem.copyPage(dst, src);
        if (!machine.tasks.moveAnonPage(src, dst)) {
          freepages.unshift(dst); // compaction_free()
          putBack(src);
          continue;
        }
        freePage(src);
        st.migrated++;
      }
      if (enomem && !scannersMet()) {
        ret = 'COMPACT_CONTENDED';
        break;
      }
    }
    // check_drain: flush the freed pages once the scanner left the order-aligned block it migrated from.
    if (order > 0 && lastMigrated && lastMigrated < (migratePfn & ~((1 << order) - 1))) {
      drain();
      lastMigrated = 0;
    }
  }
  for (const pfn of freepages) freePage(pfn); // release_freepages()
  return finish(ret);
}

/**
 * try_to_compact_pages(): direct compaction for an allocation that failed, over its zonelist (highest zone
 * first), stopping at the first COMPACT_SUCCESS. GFP_NOIO callers are skipped (no __GFP_IO).
 */
export function tryToCompactPages(
  machine: Machine,
  order: number,
  highestZone: number,
  gfp = GFP_KERNEL,
): CompactResult[] {
  if (!(gfp & __GFP_IO)) return [];
  const out: CompactResult[] = [];
  for (const zone of machine.buddy.zonelist(highestZone)) {
    const r = compactZone(machine, zone, order, { gfp, highestZone, direct: true });
    out.push(r);
    if (r.result === 'COMPACT_SUCCESS') break;
  }
  return out;
}

/**
 * compact_node() for order -1 (/proc/sys/vm/compact_memory, /sys/devices/system/node/nodeN/compact), or a
 * kcompactd-style pass for an order: every populated zone, lowest first.
 */
export function compactMachine(machine: Machine, order: number): CompactResult[] {
  return machine.buddy.populatedZones().map((zone) => compactZone(machine, zone, order));
}

/** A PageAllocHost.compact for the page allocator's slow path (__alloc_pages_direct_compact). */
export function compactionHook(machine: Machine): (order: number, highestZone: number, gfp?: number) => void {
  return (order, highestZone, gfp) => {
    tryToCompactPages(machine, order, highestZone, gfp ?? GFP_KERNEL);
  };
}

/** Free blocks of order >= `order` in a zone (what an allocation of that order could use). */
export function freeBlocksAtLeast(zone: Zone, order: number): number {
  let n = 0;
  for (let o = order; o < NR_PAGE_ORDERS; o++) n += zone.nrFree[o]!;
  return n;
}
