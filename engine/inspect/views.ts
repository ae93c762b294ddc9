/*
 * Plain-JSON views of the machine for panels, the debugger's variables and the CLI, and the /proc text
 * the kernel prints for the same state. Views are computed on demand and hold no references into the
 * machine, so they can cross a process or webview boundary as they are.
 */

import { Machine } from '../mm/machine';
import { MAX_PAGE_ORDER, NR_PAGE_ORDERS, PAGE_SIZE } from '../mm/config';
import { ZONE_NAMES } from '../mm/page_alloc';
import { PG_RESERVED, PG_TAIL } from '../mm/frames';

/** One row of /proc/slabinfo plus the SLUB detail of /sys/kernel/slab/<cache>/. */
export interface SlabCacheView {
  readonly name: string;
  /** slabinfo active_objs: objects in slabs minus free objects on the node partial list. */
  readonly activeObjs: number;
  readonly numObjs: number;
  /** s->size: the slot size slabinfo prints as objsize. */
  readonly objSize: number;
  /** s->object_size: what the caller asked for. */
  readonly objectSize: number;
  readonly objPerSlab: number;
  readonly pagesPerSlab: number;
  readonly order: number;
  readonly activeSlabs: number;
  readonly numSlabs: number;
  /** Slabs on the node partial list. */
  readonly partial: number;
  /** CPUs that have a cpu slab. */
  readonly cpuSlabs: number;
  /** Slabs on the per-CPU partial lists, all CPUs (kmem_cache_cpu.partial, CONFIG_SLUB_CPU_PARTIAL). */
  readonly cpuPartial: number;
  readonly minPartial: number;
  /** Objects the scenario holds (allocated, not freed). */
  readonly liveObjects: number;
}

export interface SlabinfoView {
  readonly kind: 'slabinfo';
  readonly caches: readonly SlabCacheView[];
}

export interface BuddyZoneView {
  readonly node: number;
  readonly zone: string;
  /** Free blocks per order 0..10. */
  readonly nrFree: readonly number[];
  readonly freePages: number;
  readonly managedPages: number;
}

export interface BuddyinfoView {
  readonly kind: 'buddyinfo';
  readonly zones: readonly BuddyZoneView[];
}

export interface MachineSummaryView {
  readonly kind: 'summary';
  readonly memoryBytes: number;
  readonly cpus: number;
  readonly freePages: number;
  readonly totalPages: number;
  readonly events: number;
  readonly slabPages: number;
}

/** Caches as /proc/slabinfo lists them: newest first (slab_caches is a list with new caches at its head). */
export function slabinfoView(machine: Machine): SlabinfoView {
  const slub = machine.slub;
  const caches: SlabCacheView[] = [];
  for (let i = slub.caches.length - 1; i >= 0; i--) {
    const cache = slub.caches[i]!;
    if (cache.destroyed) continue;
    const g = cache.geometry;
    const free = slub.partialFreeObjects(cache);
    let cpuSlabs = 0;
    for (const pfn of cache.cpuSlab) {
      if (pfn >= 0) cpuSlabs++;
    }
    let cpuPartial = 0;
    for (let cpu = 0; cpu < cache.cpuPartial.length; cpu++) {
      cpuPartial += machine.slub.cpuPartialList(cache, cpu).length;
    }
    caches.push({
      name: cache.name,
      activeObjs: cache.totalObjects - free,
      numObjs: cache.totalObjects,
      objSize: g.size,
      objectSize: g.objectSize,
      objPerSlab: g.objects,
      pagesPerSlab: 1 << g.order,
      order: g.order,
      activeSlabs: cache.nrSlabs,
      numSlabs: cache.nrSlabs,
      partial: cache.nrPartial,
      cpuSlabs,
      cpuPartial,
      minPartial: g.minPartial,
      liveObjects: cache.liveObjects,
    });
  }
  return { kind: 'slabinfo', caches };
}

export function buddyinfoView(machine: Machine): BuddyinfoView {
  return {
    kind: 'buddyinfo',
    zones: machine.buddy.populatedZones().map((z) => ({
      node: 0,
      zone: z.name,
      nrFree: Array.from(z.nrFree),
      freePages: z.freePages,
      managedPages: z.managedPages,
    })),
  };
}

export function summaryView(machine: Machine): MachineSummaryView {
  let slabPages = 0;
  for (const cache of machine.slub.caches) {
    slabPages += cache.nrSlabs << cache.geometry.order;
  }
  return {
    kind: 'summary',
    memoryBytes: machine.config.memoryBytes,
    cpus: machine.config.cpus,
    freePages: machine.buddy.nrFreePages,
    totalPages: machine.config.memoryBytes / PAGE_SIZE,
    events: machine.events.length,
    slabPages,
  };
}

/** mm/slab_common.c print_slabinfo_header() + cache_show(): /proc/slabinfo, version 2.1. */
export function formatSlabinfo(view: SlabinfoView): string {
  let out =
    'slabinfo - version: 2.1\n' +
    '# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>' +
    ' : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n';
  for (const c of view.caches) {
    out +=
      `${c.name.padEnd(17)} ${pad(c.activeObjs, 6)} ${pad(c.numObjs, 6)} ${pad(c.objSize, 6)} ${pad(c.objPerSlab, 4)} ${pad(c.pagesPerSlab, 4)}` +
      ` : tunables ${pad(0, 4)} ${pad(0, 4)} ${pad(0, 4)}` +
      ` : slabdata ${pad(c.activeSlabs, 6)} ${pad(c.numSlabs, 6)} ${pad(0, 6)}\n`;
  }
  return out;
}

/** mm/vmstat.c frag_show_print(): "Node %d, zone %8s " then "%6lu " per order. */
export function formatBuddyinfo(view: BuddyinfoView): string {
  let out = '';
  for (const z of view.zones) {
    out += `Node ${z.node}, zone ${z.zone.padStart(8)} `;
    for (let order = 0; order < NR_PAGE_ORDERS; order++) {
      out += `${pad(z.nrFree[order] ?? 0, 6)} `;
    }
    out += '\n';
  }
  return out;
}

/** Where an address lives, for the debugger's hover and variables. */
export interface AddressView {
  readonly virt: string;
  readonly phys: number;
  readonly pfn: number;
  /** The zone that holds the frame: DMA, DMA32 or Normal. */
  readonly zone: string;
  readonly cache?: string;
  readonly objectSize?: number;
  /** For 'pages', 'large kmalloc' and 'free': the first frame of the block and its order. */
  readonly headPfn?: number;
  readonly order?: number;
  /** For a 'free' block cached on a per-CPU page list: the CPU whose list holds it. */
  readonly cpu?: number;
  /**
   * 'pages': a block from alloc_pages/__get_free_pages; 'page': a frame allocated otherwise (no owner the
   * machine records).
   */
  readonly state: 'slab object' | 'large kmalloc' | 'pages' | 'free' | 'reserved' | 'page';
}

export function addressView(machine: Machine, phys: number): AddressView {
  const pfn = Math.floor(phys / PAGE_SIZE);
  const base = { virt: machine.formatVirt(phys), phys, pfn, zone: ZONE_NAMES[machine.buddy.zoneOf(pfn)]! };
  const cache = machine.slub.cacheOf(phys);
  if (cache) {
    return { ...base, cache: cache.name, objectSize: cache.geometry.size, state: 'slab object' };
  }
  let head = pfn;
  while (head > 0 && machine.frames.flags[head]! & PG_TAIL) {
    head--;
  }
  const large = machine.largeKmalloc.get(head);
  if (large !== undefined) {
    return { ...base, objectSize: large, headPfn: head, order: machine.frames.order[head]!, state: 'large kmalloc' };
  }
  for (let o = 0; o <= MAX_PAGE_ORDER; o++) {
    const first = pfn & ~((1 << o) - 1);
    const order = machine.pageAllocations.get(first);
    if (order !== undefined && pfn < first + (1 << order)) {
      return { ...base, headPfn: first, order, state: 'pages' };
    }
  }
  if (machine.frames.flags[pfn]! & PG_RESERVED) {
    return { ...base, state: 'reserved' };
  }
  const cached = machine.buddy.findPcpBlock(pfn);
  if (cached) {
    return { ...base, headPfn: cached.pfn, order: cached.order, cpu: cached.cpu, state: 'free' };
  }
  const free = machine.buddy.findFreeBlock(pfn);
  if (free) {
    return { ...base, headPfn: free.pfn, order: free.order, state: 'free' };
  }
  return { ...base, state: 'page' };
}

function pad(n: number, width: number): string {
  return String(n).padStart(width);
}
