/*
 * /proc/zoneinfo and /proc/meminfo of the machine: plain-JSON views (for panels) and the kernel's text.
 * Only what the model can fill honestly is printed; everything else is left out, not invented.
 *
 * /proc/zoneinfo (mm/vmstat.c zoneinfo_show_print): every zone of node 0, populated or not (DMA, DMA32,
 * Normal, Movable; the modelled kernel has no ZONE_DEVICE, so protection has four entries). Per zone: the
 * header "Node 0, zone %8s", "pages free", boost, min, low, high, promo, spanned, present, managed, cma,
 * "protection: (...)"; an unpopulated zone ends there, as in the kernel. A populated zone then has the
 * nr_free_pages zone stat and the trailing node_unreclaimable and start_pfn lines. Left out:
 *   - the "per-node stats" block of the first populated zone (LRU, file, anon, workingset... counters the
 *     model has no source for);
 *   - the other zone stats (nr_zone_inactive_anon ... nr_free_cma, whose set depends on the config);
 *   - "pagesets" (per-CPU page lists are not modelled yet) and "vm stats threshold".
 * present = spanned (the emulated RAM has no holes); managed excludes the reserved first 1 MiB.
 *
 * /proc/meminfo (fs/proc/meminfo.c meminfo_proc_show, show_val_kb: the label padded to 16 columns, the
 * value in kB right-aligned in 8, then " kB"): the lines up to VmallocChunk that the model determines,
 * in the kernel's order. Zero lines are zero for a reason: the machine has no page cache, no swap, no
 * user tasks (no anon pages, page tables, kernel stacks or commitments), no vmalloc area, no block device.
 * Slab = SUnreclaim = pages of slab caches plus large kmallocs (___kmalloc_large_node accounts them to
 * NR_SLAB_UNRECLAIMABLE_B); no cache is reclaimable (no kmalloc-rcl- caches yet). MemAvailable is
 * si_mem_available() (mm/show_mem.c) with page cache and reclaimable memory 0: free - totalreserve_pages.
 * Left out: Zswap/Zswapped (config), Percpu (the percpu allocator is not modelled), HardwareCorrupted and
 * the huge page, DirectMap, CMA and unaccepted lines.
 */

import { Machine } from '../mm/machine';
import { getOrder } from '../mm/config';
import { ALL_ZONE_NAMES, MAX_NR_ZONES } from '../mm/watermarks';
import { buddyinfoView, formatBuddyinfo, formatSlabinfo, slabinfoView } from './views';

export interface ZoneinfoZoneView {
  readonly node: number;
  readonly zone: string;
  /** populated_zone(): the zone has present pages. */
  readonly populated: boolean;
  /** NR_FREE_PAGES of the zone. */
  readonly freePages: number;
  readonly boost: number;
  readonly min: number;
  readonly low: number;
  readonly high: number;
  readonly promo: number;
  readonly spanned: number;
  readonly present: number;
  readonly managed: number;
  readonly cma: number;
  /** lowmem_reserve[], one entry per zone type. */
  readonly protection: readonly number[];
  /** zone_start_pfn (0 for an unpopulated zone). */
  readonly startPfn: number;
}

export interface ZoneinfoView {
  readonly kind: 'zoneinfo';
  /** vm.min_free_kbytes the watermarks derive from. */
  readonly minFreeKbytes: number;
  readonly totalreservePages: number;
  readonly zones: readonly ZoneinfoZoneView[];
}

/** /proc/meminfo values in kB, named after the kernel's labels. */
export interface MeminfoView {
  readonly kind: 'meminfo';
  /** The printed lines, in the kernel's order: label (without the colon) and value in kB. */
  readonly lines: readonly { readonly label: string; readonly kb: number }[];
  readonly memTotal: number;
  readonly memFree: number;
  readonly memAvailable: number;
  readonly slab: number;
  readonly sReclaimable: number;
  readonly sUnreclaim: number;
}

/** sysctl_overcommit_ratio default (mm/util.c). */
const OVERCOMMIT_RATIO = 50;
/** x86-64 4-level paging: VMALLOC_END - VMALLOC_START = 32 TiB - 1, printed >> 10. */
const VMALLOC_TOTAL_KB = Math.floor((32 * 2 ** 40 - 1) / 1024);

export function zoneinfoView(machine: Machine): ZoneinfoView {
  const wm = machine.watermarks;
  const zones: ZoneinfoZoneView[] = [];
  for (let i = 0; i < MAX_NR_ZONES; i++) {
    const zone = machine.buddy.zones[i];
    const spanned = zone ? zone.endPfn - zone.startPfn : 0;
    const w = wm.zones[i]!;
    zones.push({
      node: 0,
      zone: ALL_ZONE_NAMES[i]!,
      populated: spanned > 0,
      freePages: zone?.freePages ?? 0,
      boost: w.boost,
      min: w.min,
      low: w.low,
      high: w.high,
      promo: w.promo,
      spanned,
      present: spanned,
      managed: zone?.managedPages ?? 0,
      cma: 0,
      protection: [...w.lowmemReserve],
      startPfn: spanned > 0 ? zone!.startPfn : 0,
    });
  }
  return { kind: 'zoneinfo', minFreeKbytes: wm.minFreeKbytes, totalreservePages: wm.totalreservePages, zones };
}

/** mm/vmstat.c zoneinfo_show_print(), for the fields the model has (see the header). */
export function formatZoneinfo(view: ZoneinfoView): string {
  let out = '';
  for (const z of view.zones) {
    out += `Node ${z.node}, zone ${z.zone.padStart(8)}`;
    out +=
      `\n  pages free     ${z.freePages}` +
      `\n        boost    ${z.boost}` +
      `\n        min      ${z.min}` +
      `\n        low      ${z.low}` +
      `\n        high     ${z.high}` +
      `\n        promo    ${z.promo}` +
      `\n        spanned  ${z.spanned}` +
      `\n        present  ${z.present}` +
      `\n        managed  ${z.managed}` +
      `\n        cma      ${z.cma}`;
    out += `\n        protection: (${z.protection.join(', ')})`;
    if (!z.populated) {
      out += '\n';
      continue;
    }
    out += `\n      ${'nr_free_pages'.padEnd(12)} ${z.freePages}`;
    out += `\n  node_unreclaimable:  0` + `\n  start_pfn:           ${z.startPfn}`;
    out += '\n';
  }
  return out;
}

export function meminfoView(machine: Machine): MeminfoView {
  const K = (pages: number) => pages * 4;
  const totalram = machine.buddy.managedPages;
  const free = machine.buddy.nrFreePages;
  // si_mem_available(): free - totalreserve_pages + (page cache, 0) + (reclaimable slab and misc, 0).
  const available = Math.max(0, free - machine.watermarks.totalreservePages);
  let slabPages = 0;
  for (const cache of machine.slub.caches) slabPages += cache.nrSlabs << cache.geometry.order;
  for (const bytes of machine.largeKmalloc.values()) slabPages += 1 << getOrder(bytes);
  const sReclaimable = 0;
  const sUnreclaim = slabPages;
  const commitLimit = Math.floor((totalram * OVERCOMMIT_RATIO) / 100); // vm_commit_limit(), no swap
  const lines: [string, number][] = [
    ['MemTotal', K(totalram)],
    ['MemFree', K(free)],
    ['MemAvailable', K(available)],
    ['Buffers', 0],
    ['Cached', 0],
    ['SwapCached', 0],
    ['Active', 0],
    ['Inactive', 0],
    ['Active(anon)', 0],
    ['Inactive(anon)', 0],
    ['Active(file)', 0],
    ['Inactive(file)', 0],
    ['Unevictable', 0],
    ['Mlocked', 0],
    ['SwapTotal', 0],
    ['SwapFree', 0],
    ['Dirty', 0],
    ['Writeback', 0],
    ['AnonPages', 0],
    ['Mapped', 0],
    ['Shmem', 0],
    ['KReclaimable', K(sReclaimable)],
    ['Slab', K(sReclaimable + sUnreclaim)],
    ['SReclaimable', K(sReclaimable)],
    ['SUnreclaim', K(sUnreclaim)],
    ['KernelStack', 0],
    ['PageTables', 0],
    ['SecPageTables', 0],
    ['NFS_Unstable', 0],
    ['Bounce', 0],
    ['WritebackTmp', 0],
    ['CommitLimit', K(commitLimit)],
    ['Committed_AS', 0],
    ['VmallocTotal', VMALLOC_TOTAL_KB],
    ['VmallocUsed', 0],
    ['VmallocChunk', 0],
  ];
  return {
    kind: 'meminfo',
    lines: lines.map(([label, kb]) => ({ label, kb })),
    memTotal: K(totalram),
    memFree: K(free),
    memAvailable: K(available),
    slab: K(sReclaimable + sUnreclaim),
    sReclaimable: K(sReclaimable),
    sUnreclaim: K(sUnreclaim),
  };
}

/** fs/proc/meminfo.c show_val_kb(): "%-16s%8lu kB" with the colon part of the label. */
export function formatMeminfo(view: MeminfoView): string {
  return view.lines.map((l) => `${`${l.label}:`.padEnd(16)}${String(l.kb).padStart(8)} kB\n`).join('');
}

/** The /proc files the hosts (CLI, debug console, kmem/proc) can print. */
export const PROC_FILE_NAMES = ['slabinfo', 'buddyinfo', 'zoneinfo', 'meminfo'] as const;
export type ProcFileName = (typeof PROC_FILE_NAMES)[number];

export function isProcFileName(name: unknown): name is ProcFileName {
  return typeof name === 'string' && (PROC_FILE_NAMES as readonly string[]).includes(name);
}

/** The text of /proc/<name> for the machine's current state. */
export function procFileText(machine: Machine, name: ProcFileName): string {
  switch (name) {
    case 'slabinfo':
      return formatSlabinfo(slabinfoView(machine));
    case 'buddyinfo':
      return formatBuddyinfo(buddyinfoView(machine));
    case 'zoneinfo':
      return formatZoneinfo(zoneinfoView(machine));
    case 'meminfo':
      return formatMeminfo(meminfoView(machine));
  }
}
