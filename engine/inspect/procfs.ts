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
 * Then "pagesets": each CPU's per-CPU list (count, high, batch, high_min, high_max, as 6.7+ prints them) and
 * its "vm stats threshold" (calculate_normal_threshold). present = spanned (the emulated RAM has no holes);
 * managed excludes the memblock reservations (boot.ts). Without ZONE_DMA (RISC-V) the DMA zone is absent.
 *
 * /proc/meminfo (fs/proc/meminfo.c meminfo_proc_show, show_val_kb: the label padded to 16 columns, the
 * value in kB right-aligned in 8, then " kB"): the lines up to VmallocChunk that the model determines,
 * in the kernel's order. Zero lines are zero for a reason: the machine has no page cache, no swap, no
 * file or shared mappings, no block device. User tasks give AnonPages (and the inactive anon LRU),
 * KernelStack (16 KiB each), PageTables (every table page allocated after boot, kernel and user) and
 * Committed_AS; vmalloc areas give VmallocUsed.
 * SUnreclaim = pages of slab caches plus large kmallocs (___kmalloc_large_node accounts them to
 * NR_SLAB_UNRECLAIMABLE_B); SReclaimable = KReclaimable = pages of SLAB_RECLAIM_ACCOUNT caches
 * (kmalloc-rcl-); Slab is their sum. MemAvailable is si_mem_available() (mm/show_mem.c) with no page cache:
 * free - totalreserve_pages + reclaimable slab less min(half of it, the low watermarks).
 * Left out: Zswap/Zswapped (config), Percpu (the percpu allocator is not modelled), HardwareCorrupted and
 * the huge page, DirectMap, CMA and unaccepted lines.
 */

import { formatProcModules } from '../mm/module';
import { Machine } from '../mm/machine';
import { SLAB_RECLAIM_ACCOUNT } from '../mm/slub';
import { NR_PAGE_ORDERS, fls, getOrder } from '../mm/config';
import { MIGRATETYPE_NAMES, MIGRATE_TYPES, PAGEBLOCK_ORDER } from '../mm/buddy';
import { PagetypeinfoView, formatPagetypeinfo } from './pagetypeinfo';
import { formatVmallocinfo, vmallocinfoView } from './vmallocinfo';
import { ptdump } from './ptdump';
import { ExtfragView, extfragView, formatExtfragIndex, formatUnusableIndex } from './fragmentation';
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
  /** Each online CPU's per-CPU page list of the zone (populated zones only). */
  readonly pagesets: readonly PagesetView[];
  /** calculate_normal_threshold(): the vmstat per-CPU counter threshold. */
  readonly statThreshold: number;
}

/** struct per_cpu_pages of one CPU, as zoneinfo prints it. */
export interface PagesetView {
  readonly cpu: number;
  readonly count: number;
  readonly high: number;
  readonly batch: number;
  readonly highMin: number;
  readonly highMax: number;
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
/**
 * VMALLOC_TOTAL >> 10 = (VMALLOC_END - VMALLOC_START) >> 10. x86-64 defines VMALLOC_END as the last byte
 * (VMALLOC_START + 32 TiB - 1 on 4-level paging), RISC-V as the first byte after (PAGE_OFFSET); arch.ts
 * keeps exclusive ends.
 */
function vmallocTotalKb(machine: Machine): number {
  const { vmallocStart, vmallocEnd, family } = machine.arch;
  const total = vmallocEnd - vmallocStart - (family === 'x86' ? 1n : 0n);
  return Number(total >> 10n);
}

export function calculateNormalThreshold(managedPages: number, cpus: number): number {
  const mem = managedPages >> (27 - 12);
  return Math.min(125, 2 * fls(cpus) * (1 + fls(mem)));
}

export function zoneinfoView(machine: Machine): ZoneinfoView {
  const wm = machine.watermarks;
  const zones: ZoneinfoZoneView[] = [];
  // Without CONFIG_ZONE_DMA (RISC-V) there is no DMA zone at all: not printed, no protection column.
  const first = machine.arch.hasZoneDma ? 0 : 1;
  for (let i = first; i < MAX_NR_ZONES; i++) {
    const zone = machine.buddy.zones[i];
    const pcp = machine.buddy.pcp[i];
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
      protection: w.lowmemReserve.slice(first),
      startPfn: spanned > 0 ? zone!.startPfn : 0,
      pagesets:
        spanned > 0 && pcp
          ? pcp.cpus.map((c, cpu) => ({
              cpu,
              count: c.count,
              high: c.high,
              batch: c.batch,
              highMin: c.highMin,
              highMax: c.highMax,
            }))
          : [],
      statThreshold: calculateNormalThreshold(zone?.managedPages ?? 0, machine.config.cpus),
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
    out += `\n  pagesets`;
    for (const p of z.pagesets) {
      out +=
        `\n    cpu: ${p.cpu}` +
        `\n              count:    ${p.count}` +
        `\n              high:     ${p.high}` +
        `\n              batch:    ${p.batch}` +
        `\n              high_min: ${p.highMin}` +
        `\n              high_max: ${p.highMax}` +
        `\n  vm stats threshold: ${z.statThreshold}`;
    }
    out += `\n  node_unreclaimable:  0` + `\n  start_pfn:           ${z.startPfn}`;
    out += '\n';
  }
  return out;
}

export function meminfoView(machine: Machine): MeminfoView {
  const K = (pages: number) => pages * 4;
  const totalram = machine.buddy.managedPages;
  const free = machine.buddy.nrFreePages;
  let slabPages = 0;
  let reclaimablePages = 0;
  for (const cache of machine.slub.caches) {
    // SLAB_RECLAIM_ACCOUNT caches (kmalloc-rcl-*) count in NR_SLAB_RECLAIMABLE_B, the rest unreclaimable.
    if (cache.flags & SLAB_RECLAIM_ACCOUNT) reclaimablePages += cache.nrSlabs << cache.geometry.order;
    else slabPages += cache.nrSlabs << cache.geometry.order;
  }
  for (const bytes of machine.largeKmalloc.values()) slabPages += 1 << getOrder(bytes);
  // Anonymous pages of user tasks: new anon pages start on the inactive anon LRU (since 5.9, without
  // MGLRU); the model does not age them, so Active(anon) stays 0. Committed_AS: the private writable
  // mappings' sizes, charged at mmap() and again for a child at fork() (accountable_mapping, dup_mmap).
  let anonPages = 0;
  let committed = 0;
  for (const t of machine.tasks.tasks.values()) {
    if (!t.alive) continue;
    anonPages += t.anonRss;
    for (const v of t.vmas) if (v.prot & 2) committed += Number((v.end - v.start) / 4096n);
  }
  const sReclaimable = reclaimablePages;
  const sUnreclaim = slabPages;
  // si_mem_available() (mm/show_mem.c): free - totalreserve_pages, plus page cache (none) and reclaimable
  // kernel memory, each less min(half of it, the sum of the zones' low watermarks).
  let wmarkLow = 0;
  for (const z of machine.buddy.zones) wmarkLow += z.wmarkLow;
  const reclaimable = sReclaimable - Math.min(Math.floor(sReclaimable / 2), wmarkLow);
  const available = Math.max(0, free - machine.watermarks.totalreservePages + reclaimable);
  const commitLimit = Math.floor((totalram * OVERCOMMIT_RATIO) / 100); // vm_commit_limit(), no swap
  const lines: [string, number][] = [
    ['MemTotal', K(totalram)],
    ['MemFree', K(free)],
    ['MemAvailable', K(available)],
    ['Buffers', 0],
    ['Cached', 0],
    ['SwapCached', 0],
    ['Active', 0],
    ['Inactive', K(anonPages)],
    ['Active(anon)', 0],
    ['Inactive(anon)', K(anonPages)],
    ['Active(file)', 0],
    ['Inactive(file)', 0],
    ['Unevictable', 0],
    ['Mlocked', 0],
    ['SwapTotal', 0],
    ['SwapFree', 0],
    ['Dirty', 0],
    ['Writeback', 0],
    ['AnonPages', K(anonPages)],
    ['Mapped', 0],
    ['Shmem', 0],
    ['KReclaimable', K(sReclaimable)],
    ['Slab', K(sReclaimable + sUnreclaim)],
    ['SReclaimable', K(sReclaimable)],
    ['SUnreclaim', K(sUnreclaim)],
    ['KernelStack', K(machine.tasks.kernelStackPages)],
    ['PageTables', K(machine.pageTablePages)],
    ['SecPageTables', 0],
    ['NFS_Unstable', 0],
    ['Bounce', 0],
    ['WritebackTmp', 0],
    ['CommitLimit', K(commitLimit)],
    ['Committed_AS', K(committed)],
    ['VmallocTotal', vmallocTotalKb(machine)],
    ['VmallocUsed', K(machine.vmalloc.nrVmallocPages)],
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

/** The page-block types of a machine and its free lists split by type: /proc/pagetypeinfo's data. */
export function pagetypeinfoView(machine: Machine): PagetypeinfoView {
  return {
    kind: 'pagetypeinfo',
    pageblockOrder: PAGEBLOCK_ORDER,
    migrateTypeNames: MIGRATETYPE_NAMES,
    zones: machine.buddy.populatedZones().map((z) => {
      const freeByType = MIGRATETYPE_NAMES.map((_, mt) =>
        Array.from({ length: NR_PAGE_ORDERS }, (_, o) => z.nrFreeByType[o * MIGRATE_TYPES + mt]!),
      );
      // pagetypeinfo_showblockcount_print(): every page block whose first pfn is in the zone.
      const blocksByType = new Array<number>(MIGRATE_TYPES).fill(0);
      const step = 1 << PAGEBLOCK_ORDER;
      for (let pfn = Math.ceil(z.startPfn / step) * step; pfn < z.endPfn; pfn += step) {
        blocksByType[machine.buddy.pageblockMt[pfn >> PAGEBLOCK_ORDER]!]!++;
      }
      return { node: 0, zone: z.name, freeByType, blocksByType };
    }),
  };
}

/** /sys/kernel/debug/extfrag/*: the unusable free space and fragmentation indices of each populated zone. */
export function extfragViewOf(machine: Machine): ExtfragView {
  return extfragView(buddyinfoView(machine).zones);
}

/** The /proc files the hosts (CLI, debug console, kmem/proc) can print. */
export const PROC_FILE_NAMES = [
  'slabinfo',
  'buddyinfo',
  'pagetypeinfo',
  'zoneinfo',
  'meminfo',
  'vmallocinfo',
  'modules',
] as const;
/** The debugfs files (under /sys/kernel/debug) the hosts can print. */
export const DEBUGFS_FILE_NAMES = [
  'extfrag/unusable_index',
  'extfrag/extfrag_index',
  'page_tables/kernel',
  'kmemleak',
] as const;
export type DebugfsFileName = (typeof DEBUGFS_FILE_NAMES)[number];

export function isDebugfsFileName(name: unknown): name is DebugfsFileName {
  return typeof name === 'string' && (DEBUGFS_FILE_NAMES as readonly string[]).includes(name);
}

/** The text of /sys/kernel/debug/<name>. */
export function debugfsFileText(machine: Machine, name: DebugfsFileName): string {
  switch (name) {
    case 'extfrag/unusable_index':
      return formatUnusableIndex(extfragViewOf(machine));
    case 'extfrag/extfrag_index':
      return formatExtfragIndex(extfragViewOf(machine));
    case 'page_tables/kernel':
      return ptdump(machine.kernelPt).text;
    case 'kmemleak':
      // The file of a kernel without kmemleak does not exist; the emulator shows it empty.
      return machine.kmemleak?.debugfsFile() ?? '';
  }
}
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
    case 'pagetypeinfo':
      return formatPagetypeinfo(pagetypeinfoView(machine));
    case 'zoneinfo':
      return formatZoneinfo(zoneinfoView(machine));
    case 'meminfo':
      return formatMeminfo(meminfoView(machine));
    case 'vmallocinfo': {
      // vmap areas of the vmalloc space, then of the module space (higher addresses): one address order.
      const view = vmallocinfoView(machine.vmalloc, machine.config.cpus);
      const modules = vmallocinfoView(machine.modules.space, machine.config.cpus);
      return formatVmallocinfo({ ...view, areas: [...view.areas, ...modules.areas] });
    }
    case 'modules':
      return formatProcModules(machine.modules.modules());
  }
}
