/*
 * Per-CPU page lists (struct per_cpu_pages, mm/page_alloc.c, Linux 6.12): each CPU keeps, per zone, a small
 * cache of free blocks in front of the buddy allocator, so most order-0..3 allocations and frees do not
 * touch the zone's free lists.
 *
 * Lists: one per migrate type (Unmovable, Movable, Reclaimable) for each order 0..PAGE_ALLOC_COSTLY_ORDER,
 * plus two for the THP order (pageblock order 9: movable and the rest): NR_PCP_LISTS = 14, indexed by
 * order_to_pindex(). `count` is the frames held over all lists.
 *
 * Allocation (rmqueue_pcplist): pop the head of the list; when empty, refill it with nr_pcp_alloc() blocks
 * taken one by one from the zone (rmqueue_bulk, each through __rmqueue, so refills can steal page blocks).
 * The refill grows with alloc_factor while allocations come without frees.
 * Free (free_unref_page_commit): push on the head of the list of the page block's current type (HighAtomic
 * and CMA blocks go to the movable list); when count reaches nr_pcp_high(), free nr_pcp_free() frames
 * back to the zone from the tails of the lists in round robin, starting with the list just freed to
 * (free_pcppages_bulk).
 *
 * high and batch (zone_set_pageset_high_and_batch): batch = rounddown_pow_of_two(b + b/2) - 1 with
 * b = min(managed >> 10, 256) / 4 (at least 1); high_min = low watermark / CPUs and high_max = managed / 8 /
 * CPUs, both at least 4 * batch. high moves between them (auto-tuned since 6.7): it grows by batch on a
 * refill while the zone is above its high watermark, shrinks while it is below (ZONE_BELOW_HIGH).
 *
 * Frames on these lists carry PG_pcp on their first frame; they are not free blocks of the zone
 * (NR_FREE_PAGES and /proc/buddyinfo do not count them), as in the kernel.
 *
 * Not modelled: the decay of high by the vmstat worker (decay_pcp_high) and drain_zone_pages on NUMA, cache
 * info (PCPF_FREE_HIGH_BATCH stays clear), and ZONE_RECLAIM_ACTIVE (no reclaim).
 */

import { BuddyAllocator, zoneWatermarkOk, MIGRATE_MOVABLE, MIGRATE_PCPTYPES, PAGEBLOCK_ORDER } from './buddy';
import { FrameTable, NO_PFN, PG_PCP } from './frames';

/** include/linux/mmzone.h PAGE_ALLOC_COSTLY_ORDER. */
export const PAGE_ALLOC_COSTLY_ORDER = 3;
export const NR_LOWORDER_PCP_LISTS = MIGRATE_PCPTYPES * (PAGE_ALLOC_COSTLY_ORDER + 1);
/** NR_PCP_THP: the THP order has a movable and a non-movable list. */
export const NR_PCP_THP = 2;
export const NR_PCP_LISTS = NR_LOWORDER_PCP_LISTS + NR_PCP_THP;
/** mm/Kconfig PCP_BATCH_SCALE_MAX default. */
export const PCP_BATCH_SCALE_MAX = 5;
/** MIN_PERCPU_PAGELIST_HIGH_FRACTION: high_max is managed / 8 across the CPUs. */
const MIN_PERCPU_PAGELIST_HIGH_FRACTION = 8;

const PCPF_PREV_FREE_HIGH_ORDER = 1;

/** pcp_allowed_order(): orders the per-CPU lists cache (0..3 and the THP order). */
export function pcpAllowedOrder(order: number): boolean {
  return order <= PAGE_ALLOC_COSTLY_ORDER || order === PAGEBLOCK_ORDER;
}

/** order_to_pindex(). */
export function orderToPindex(mt: number, order: number): number {
  if (order > PAGE_ALLOC_COSTLY_ORDER) return NR_LOWORDER_PCP_LISTS + (mt === MIGRATE_MOVABLE ? 1 : 0);
  return MIGRATE_PCPTYPES * order + mt;
}

/** pindex_to_order(). */
export function pindexToOrder(pindex: number): number {
  return pindex >= NR_LOWORDER_PCP_LISTS ? PAGEBLOCK_ORDER : Math.floor(pindex / MIGRATE_PCPTYPES);
}

/** rounddown_pow_of_two(). */
function rounddownPow2(n: number): number {
  return n < 1 ? 0 : 2 ** Math.floor(Math.log2(n));
}

/** zone_batchsize(). */
export function zoneBatchsize(managedPages: number): number {
  let batch = Math.min(managedPages >> 10, (1024 * 1024) / 4096);
  batch = Math.floor(batch / 4);
  if (batch < 1) batch = 1;
  return rounddownPow2(batch + (batch >> 1)) - 1;
}

/** zone_highsize(): total pages (low watermark, or managed / fraction) split across the CPUs, at least 4 * batch. */
export function zoneHighsize(totalPages: number, batch: number, cpus: number): number {
  return Math.max(Math.floor(totalPages / cpus), batch << 2);
}

export class PerCpuPages {
  count = 0;
  high: number;
  batch: number;
  highMin: number;
  highMax: number;
  allocFactor = 0;
  freeCount = 0;
  flags = 0;
  readonly heads = new Int32Array(NR_PCP_LISTS).fill(NO_PFN);
  readonly tails = new Int32Array(NR_PCP_LISTS).fill(NO_PFN);

  constructor(batch: number, highMin: number, highMax: number) {
    this.batch = batch;
    this.highMin = highMin;
    this.highMax = highMax;
    // per_cpu_pages_init() starts high at 0 and the first nr_pcp_high()/nr_pcp_alloc() clamps it up to
    // high_min; a booted machine has long been through that, so the model starts at high_min.
    this.high = highMin;
  }
}

/** The per-CPU lists of one zone, one PerCpuPages per CPU. */
export class ZonePcp {
  readonly cpus: PerCpuPages[] = [];

  constructor(
    readonly buddy: BuddyAllocator,
    nrCpus: number,
  ) {
    for (let i = 0; i < nrCpus; i++) this.cpus.push(new PerCpuPages(1, 0, 0));
  }

  private get frames(): FrameTable {
    return this.buddy.frames;
  }

  /** zone_set_pageset_high_and_batch() with all CPUs online (percpu_pagelist_high_fraction 0). */
  setHighAndBatch(): void {
    const zone = this.buddy.zone;
    const n = this.cpus.length;
    const batch = Math.max(1, zoneBatchsize(zone.managedPages));
    const highMin = zoneHighsize(zone.wmarkLow, batch, n);
    const highMax = zoneHighsize(Math.floor(zone.managedPages / MIN_PERCPU_PAGELIST_HIGH_FRACTION), batch, n);
    for (const pcp of this.cpus) {
      pcp.batch = batch;
      pcp.highMin = highMin;
      pcp.highMax = highMax;
      pcp.high = Math.min(Math.max(pcp.high, highMin), highMax);
    }
  }

  /** Frames held on every CPU's lists of this zone. */
  get count(): number {
    let n = 0;
    for (const pcp of this.cpus) n += pcp.count;
    return n;
  }

  /** rmqueue_pcplist(): a block of `order` from CPU cpu's list for mt, refilled from the zone when empty. */
  alloc(cpu: number, order: number, mt: number, allocFlags: number): number {
    const pcp = this.cpus[cpu]!;
    pcp.freeCount >>= 1;
    const pindex = orderToPindex(mt, order);
    if (pcp.heads[pindex] === NO_PFN) {
      const batch = this.nrPcpAlloc(pcp, order);
      for (let i = 0; i < batch; i++) {
        const pfn = this.buddy.rmqueue(order, mt, allocFlags);
        if (pfn === NO_PFN) break;
        this.pushTail(pcp, pindex, pfn, order);
        pcp.count += 1 << order;
      }
      if (pcp.heads[pindex] === NO_PFN) return NO_PFN;
    }
    const pfn = this.popHead(pcp, pindex);
    pcp.count -= 1 << order;
    return pfn;
  }

  /** free_unref_page() for an allowed order: the block goes on CPU cpu's list; may free a batch to the zone. */
  free(cpu: number, pfn: number, order: number): void {
    const pcp = this.cpus[cpu]!;
    let mt = this.buddy.blockType(pfn);
    if (mt >= MIGRATE_PCPTYPES) {
      // HighAtomic and CMA blocks are cached as movable; isolated blocks would bypass the lists (not modelled).
      mt = MIGRATE_MOVABLE;
    }
    pcp.allocFactor >>= 1;
    const pindex = orderToPindex(mt, order);
    this.pushHead(pcp, pindex, pfn, order);
    pcp.count += 1 << order;
    const batch = pcp.batch;
    let freeHigh = false;
    if (order > 0 && order <= PAGE_ALLOC_COSTLY_ORDER) {
      freeHigh = pcp.freeCount >= batch && (pcp.flags & PCPF_PREV_FREE_HIGH_ORDER) !== 0;
      pcp.flags |= PCPF_PREV_FREE_HIGH_ORDER;
    } else {
      pcp.flags &= ~PCPF_PREV_FREE_HIGH_ORDER;
    }
    if (pcp.freeCount < batch << PCP_BATCH_SCALE_MAX) pcp.freeCount += 1 << order;
    const high = this.nrPcpHigh(pcp, batch, freeHigh);
    if (pcp.count >= high) {
      this.freeBulk(pcp, this.nrPcpFree(pcp, batch, high, freeHigh), pindex);
      const zone = this.buddy.zone;
      // zone_watermark_ok(zone, 0, high_wmark_pages(zone), ZONE_MOVABLE, 0)
      if (zone.belowHigh && zoneWatermarkOk(zone, 0, zone.wmarkHigh, 3, 0)) zone.belowHigh = false;
    }
  }

  /** drain_pages_zone(): every block on CPU cpu's lists goes back to the zone. */
  drain(cpu: number): number {
    const pcp = this.cpus[cpu]!;
    const n = pcp.count;
    if (n > 0) this.freeBulk(pcp, n, 0);
    return n;
  }

  /** nr_pcp_alloc(). */
  private nrPcpAlloc(pcp: PerCpuPages, order: number): number {
    const baseBatch = pcp.batch;
    let high = (pcp.high = Math.min(Math.max(pcp.high, pcp.highMin), pcp.highMax));
    if (high < baseBatch) return 1;
    let batch = order ? baseBatch : baseBatch << pcp.allocFactor;
    if (pcp.highMin !== pcp.highMax && !this.buddy.zone.belowHigh) {
      high = pcp.high = Math.min(high + batch, pcp.highMax);
    }
    if (!order) {
      const maxNrAlloc = Math.max(high - pcp.count - baseBatch, baseBatch);
      if (batch <= maxNrAlloc && pcp.allocFactor < PCP_BATCH_SCALE_MAX) pcp.allocFactor++;
      batch = Math.min(batch, maxNrAlloc);
    }
    if (batch > 1) batch = Math.max(batch >> order, 2);
    return batch;
  }

  /** nr_pcp_high(). */
  private nrPcpHigh(pcp: PerCpuPages, batch: number, freeHigh: boolean): number {
    let high = (pcp.high = Math.min(Math.max(pcp.high, pcp.highMin), pcp.highMax));
    if (!high) return 0;
    if (freeHigh) {
      pcp.high = Math.max(high - (batch << PCP_BATCH_SCALE_MAX), pcp.highMin);
      return 0;
    }
    if (pcp.highMin === pcp.highMax) return high;
    if (this.buddy.zone.belowHigh) {
      const freeCount = Math.max(pcp.freeCount, batch);
      pcp.high = Math.max(high - freeCount, pcp.highMin);
      high = Math.max(pcp.count, pcp.highMin);
    } else if (pcp.count >= high) {
      const needHigh = pcp.freeCount + batch;
      if (pcp.high < needHigh) pcp.high = Math.min(Math.max(needHigh, pcp.highMin), pcp.highMax);
    }
    return high;
  }

  /** nr_pcp_free(). */
  private nrPcpFree(pcp: PerCpuPages, batch: number, high: number, freeHigh: boolean): number {
    if (freeHigh) return Math.min(pcp.count, batch << PCP_BATCH_SCALE_MAX);
    if (high < batch) return 1;
    return Math.min(Math.max(pcp.freeCount, batch), Math.max(high - batch, batch));
  }

  /** free_pcppages_bulk(): up to count frames back to the zone, round robin from pindex, tails first. */
  private freeBulk(pcp: PerCpuPages, count: number, pindex: number): void {
    count = Math.min(pcp.count, count);
    pindex -= 1;
    while (count > 0) {
      do {
        if (++pindex > NR_PCP_LISTS - 1) pindex = 0;
      } while (pcp.heads[pindex] === NO_PFN);
      const order = pindexToOrder(pindex);
      do {
        const pfn = this.popTail(pcp, pindex);
        count -= 1 << order;
        pcp.count -= 1 << order;
        this.buddy.freeBlock(pfn, order, this.buddy.blockType(pfn));
      } while (count > 0 && pcp.heads[pindex] !== NO_PFN);
    }
  }

  private pushHead(pcp: PerCpuPages, pindex: number, pfn: number, order: number): void {
    const frames = this.frames;
    frames.flags[pfn] = PG_PCP;
    frames.order[pfn] = order;
    frames.refcount[pfn] = 0;
    const head = pcp.heads[pindex]!;
    frames.next[pfn] = head;
    frames.prev[pfn] = NO_PFN;
    if (head === NO_PFN) pcp.tails[pindex] = pfn;
    else frames.prev[head] = pfn;
    pcp.heads[pindex] = pfn;
  }

  private pushTail(pcp: PerCpuPages, pindex: number, pfn: number, order: number): void {
    const frames = this.frames;
    frames.flags[pfn] = PG_PCP;
    frames.order[pfn] = order;
    const tail = pcp.tails[pindex]!;
    frames.prev[pfn] = tail;
    frames.next[pfn] = NO_PFN;
    if (tail === NO_PFN) pcp.heads[pindex] = pfn;
    else frames.next[tail] = pfn;
    pcp.tails[pindex] = pfn;
  }

  private popHead(pcp: PerCpuPages, pindex: number): number {
    const frames = this.frames;
    const pfn = pcp.heads[pindex]!;
    const next = frames.next[pfn]!;
    pcp.heads[pindex] = next;
    if (next === NO_PFN) pcp.tails[pindex] = NO_PFN;
    else frames.prev[next] = NO_PFN;
    frames.next[pfn] = NO_PFN;
    frames.flags[pfn] = 0;
    return pfn;
  }

  private popTail(pcp: PerCpuPages, pindex: number): number {
    const frames = this.frames;
    const pfn = pcp.tails[pindex]!;
    const prev = frames.prev[pfn]!;
    pcp.tails[pindex] = prev;
    if (prev === NO_PFN) pcp.heads[pindex] = NO_PFN;
    else frames.next[prev] = NO_PFN;
    frames.prev[pfn] = NO_PFN;
    frames.flags[pfn] = 0;
    return pfn;
  }

  /** The blocks on CPU cpu's list pindex, head first (for views and the invariant checker; bounded). */
  listPfns(cpu: number, pindex: number, limit: number): number[] {
    const out: number[] = [];
    for (let p = this.cpus[cpu]!.heads[pindex]!; p !== NO_PFN && out.length < limit; p = this.frames.next[p]!) {
      out.push(p);
    }
    return out;
  }
}
