/*
 * SLUB seen from outside: /sys/kernel/slab/<cache>/, slabtop, the layout of one slab, and what an address inside
 * a slab is. Like views.ts, every view is computed on demand into plain JSON (no references into the machine),
 * with a text formatter that prints what the kernel or the tool prints for the same state.
 *
 * Sources read (Linux 6.12 is the model; no 6.12 tree was at hand, the ones read are newer (6.18+, with sheaves),
 * and mailing-list patches against 5.x and 6.x kernels show the same show-function formats):
 *   - mm/slub.c, gregkh/linux at 0f22ddce67d4: the SLAB_ATTR show functions, show_slab_objects() (SO_ALL,
 *     SO_PARTIAL, SO_CPU, SO_OBJECTS, SO_TOTAL, then " N%d=%lu" per node with a non-zero count under CONFIG_NUMA),
 *     slab_attrs[] (the order of the attributes), create_unique_id(), sysfs_slab_add() and sysfs_slab_alias();
 *   - mm/slab_common.c, gregkh/linux at 344789964c6c: slab_unmergeable(), create_kmalloc_cache() (kmalloc caches
 *     are created with useroffset 0, usersize = size, so with CONFIG_HARDENED_USERCOPY they never merge);
 *   - procps-ng src/slabtop.c and library/slabinfo.c (warmchang/procps mirror, procps-ng 4.x): print_summary(),
 *     print_headings(), print_details(), parse_slabinfo20().
 *
 * The modelled kernel configuration, as x86-64 distribution kernels build it: CONFIG_SYSFS, CONFIG_SLUB_DEBUG
 * (slabs, objects, total_objects and the debug flag files exist; no cache has a debug flag), CONFIG_NUMA with
 * one node (counts end in " N0=<n>" when non-zero), CONFIG_HARDENED_USERCOPY (usersize), CONFIG_KFENCE
 * (skip_kfence), CONFIG_ZONE_DMA where the architecture has it (cache_dma), no CONFIG_SLUB_STATS, no
 * CONFIG_FAILSLAB, CONFIG_SLUB_CPU_PARTIAL (cpu_partial is s->cpu_partial; slabs_cpu_partial and cpu_slabs count
 * a per-CPU partial list by its head's slab->slabs, as the kernel does). ctor prints the constructor's symbol.
 *
 * /sys/kernel/slab names (sysfs_slab_add): a cache that can never be merged (slab_unmergeable: SLAB_NEVER_MERGE,
 * a constructor, usersize != 0) gets a directory under its own name. A mergeable cache gets a directory named by
 * create_unique_id(), ":" then the flags that must match to merge (d = SLAB_CACHE_DMA, D = SLAB_CACHE_DMA32,
 * a = SLAB_RECLAIM_ACCOUNT, F = SLAB_CONSISTENCY_CHECKS, A = SLAB_ACCOUNT), "-" when there were any, then
 * "%07u" of s->size: ":a-0000064"; its own name is a symbolic link to that directory. Every cache merged into a
 * cache (kmem_cache_create returning an alias) adds a link of its name (sysfs_slab_alias), and the link stays
 * when the alias is destroyed (kmem_cache_destroy only drops the refcount). There is no "size" attribute: s->size
 * is slab_size.
 *
 * Slab layout invariants (slub.ts): object i of the slab at head pfn p sits at p * PAGE_SIZE + i * s->size; a free
 * object's next-free index is slab.fp[i] (FREE_END ends a list, isAllocated() marks an object in use); the free
 * objects are on exactly one list: the slab freelist (slab->freelist) or, for a CPU's slab, that CPU's lockless
 * freelist (c->freelist). A frozen slab is some CPU's slab, and only a frozen slab is; slab->inuse counts the
 * objects off the slab freelist (a CPU freelist's objects count as in use: get_freelist() sets inuse to objects,
 * a remote free on a frozen slab lowers it). Every walk here is bounded by the object count and marks what it
 * visits, so a corrupted free-pointer array (a cycle, an index out of range, an allocated object on a list) is
 * reported as a problem, never followed forever.
 *
 * Allocation sites: the event log's Kmalloc events carry the cache id, the object's physical address and the
 * scenario line. One backward pass per call, from the newest event to the SlabNew that created the slab (no
 * object of the slab can be older), indexes the latest Kmalloc (and Kfree) per address of the slab.
 */

import { fileBaseName } from '../lang/include';
import { PAGE_SIZE } from '../mm/config';
import { NO_PFN } from '../mm/frames';
import { Machine } from '../mm/machine';
import { freePointerWord } from '../mm/freeptr';
import {
  FREE_END,
  KmemCache,
  isAllocated,
  SLAB_ACCOUNT,
  SLAB_CACHE_DMA,
  SLAB_CACHE_DMA32,
  SLAB_HWCACHE_ALIGN,
  SLAB_KMALLOC,
  SLAB_NEVER_MERGE,
  SLAB_RECLAIM_ACCOUNT,
  SLAB_CONSISTENCY_CHECKS,
  SLAB_POISON,
  SLAB_RED_ZONE,
  SLAB_STORE_USER,
  SLAB_TRACE,
  SLAB_TYPESAFE_BY_RCU,
} from '../mm/slub';
import { EventKind } from '../trace/events';
import { slabinfoView } from './views';

// ---------------------------------------------------------------------------------------------------------------
// /sys/kernel/slab/<cache>/

/** slab_attrs[] of mm/slub.c in its order, for the modelled configuration (cache_dma only with CONFIG_ZONE_DMA). */
const ALL_SLAB_ATTRIBUTES = [
  'slab_size',
  'object_size',
  'objs_per_slab',
  'order',
  'min_partial',
  'cpu_partial',
  'objects_partial',
  'partial',
  'cpu_slabs',
  'ctor',
  'aliases',
  'align',
  'hwcache_align',
  'reclaim_account',
  'destroy_by_rcu',
  'shrink',
  'slabs_cpu_partial',
  // CONFIG_SLUB_DEBUG
  'total_objects',
  'objects',
  'slabs',
  'sanity_checks',
  'trace',
  'red_zone',
  'poison',
  'store_user',
  'validate',
  // CONFIG_ZONE_DMA
  'cache_dma',
  // CONFIG_NUMA
  'remote_node_defrag_ratio',
  // CONFIG_HARDENED_USERCOPY
  'usersize',
  // CONFIG_KFENCE
  'skip_kfence',
] as const;

export type SlabAttribute = (typeof ALL_SLAB_ATTRIBUTES)[number];

/** The files of /sys/kernel/slab/<cache>/ on this machine, in slab_attrs[] order. */
export function slabAttributes(machine: Machine): readonly SlabAttribute[] {
  return machine.arch.hasZoneDma ? ALL_SLAB_ATTRIBUTES : ALL_SLAB_ATTRIBUTES.filter((a) => a !== 'cache_dma');
}

/** One entry of `ls -l /sys/kernel/slab`: a cache's directory, or a symbolic link to one. */
export interface SysfsSlabEntry {
  readonly name: string;
  readonly type: 'dir' | 'link';
  /** For a link: the directory it points at. */
  readonly target?: string;
  /** The cache (s->name) behind the entry. */
  readonly cache: string;
}

/** s->usersize: kmalloc caches whitelist the whole object (create_kmalloc_cache); kmem_cache_create gives 0. */
function usersize(cache: KmemCache): number {
  return cache.flags & SLAB_KMALLOC ? cache.geometry.objectSize : 0;
}

/** mm/slab_common.c slab_unmergeable() for the modelled caches (no constructors, HARDENED_USERCOPY on). */
export function slabUnmergeable(cache: KmemCache): boolean {
  return (cache.flags & SLAB_NEVER_MERGE) !== 0 || usersize(cache) !== 0 || cache.refcount < 0 || !!cache.ctor;
}

/** mm/slub.c create_unique_id(): ":[flags-]%07u" of s->size. */
export function createUniqueId(cache: KmemCache): string {
  let flags = '';
  if (cache.flags & SLAB_CACHE_DMA) flags += 'd';
  if (cache.flags & SLAB_CACHE_DMA32) flags += 'D';
  if (cache.flags & SLAB_RECLAIM_ACCOUNT) flags += 'a';
  if (cache.flags & SLAB_CONSISTENCY_CHECKS) flags += 'F';
  if (cache.flags & SLAB_ACCOUNT) flags += 'A';
  return `:${flags ? `${flags}-` : ''}${String(cache.geometry.size).padStart(7, '0')}`;
}

/** The directory name of a cache in /sys/kernel/slab (sysfs_slab_add). */
export function sysfsSlabDirName(cache: KmemCache): string {
  return slabUnmergeable(cache) ? cache.name : createUniqueId(cache);
}

/**
 * `ls /sys/kernel/slab`, sorted by name as ls sorts in the C locale: a directory per live cache, a link per
 * mergeable cache's own name and per alias. A later link of the same name replaces an earlier one
 * (sysfs_slab_alias removes a leftover link first).
 */
export function sysfsSlabEntries(machine: Machine): SysfsSlabEntry[] {
  const entries = new Map<string, SysfsSlabEntry>();
  for (const cache of machine.slub.caches) {
    if (cache.destroyed) continue;
    const dir = sysfsSlabDirName(cache);
    entries.set(dir, { name: dir, type: 'dir', cache: cache.name });
    const links = slabUnmergeable(cache) ? cache.aliases : [cache.name, ...cache.aliases];
    for (const name of links) {
      if (entries.get(name)?.type === 'dir') continue; // sysfs_create_link fails with EEXIST
      entries.set(name, { name, type: 'link', target: dir, cache: cache.name });
    }
  }
  return [...entries.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The live cache an entry of /sys/kernel/slab names (its directory, its own name or an alias link). */
export function resolveSysfsSlab(machine: Machine, entry: string): KmemCache | undefined {
  const found = sysfsSlabEntries(machine).find((e) => e.name === entry);
  if (!found) return undefined;
  for (let i = machine.slub.caches.length - 1; i >= 0; i--) {
    const cache = machine.slub.caches[i]!;
    if (!cache.destroyed && cache.name === found.cache) return cache;
  }
  return undefined;
}

/** The counts show_slab_objects() adds up for one cache (one node: node 0 holds everything). */
interface SlabCounts {
  readonly slabs: number;
  readonly partial: number;
  readonly cpuSlabs: number;
  readonly totalObjects: number;
  /** node_nr_objs - count_partial(n, count_free). */
  readonly objects: number;
  /** count_partial(n, count_inuse). */
  readonly objectsPartial: number;
  /** Per CPU with a per-CPU partial list: the head's slab->slabs. */
  readonly cpuPartial: readonly { readonly cpu: number; readonly slabs: number }[];
}

function slabCounts(machine: Machine, cache: KmemCache): SlabCounts {
  const slub = machine.slub;
  let cpuSlabs = 0;
  const cpuPartial: { cpu: number; slabs: number }[] = [];
  for (let cpu = 0; cpu < cache.cpuSlab.length; cpu++) {
    const head = cache.cpuPartial[cpu]!;
    const slabs = head === NO_PFN ? 0 : (slub.slabs.get(head)?.slabsOnList ?? 0);
    if (slabs > 0) cpuPartial.push({ cpu, slabs });
    // show_slab_objects(SO_CPU): a CPU without a cpu slab is skipped, its partial list with it.
    if (cache.cpuSlab[cpu] !== NO_PFN) cpuSlabs += 1 + slabs;
  }
  let objectsPartial = 0;
  let free = 0;
  // The node partial list, bounded by the slab count in case the list is corrupted.
  for (const pfn of slub.partialSlabs(cache).slice(0, cache.nrSlabs + 1)) {
    const slab = slub.slabs.get(pfn);
    if (!slab) break;
    objectsPartial += slab.inuse;
    free += cache.geometry.objects - slab.inuse;
  }
  return {
    slabs: cache.nrSlabs,
    partial: cache.nrPartial,
    cpuSlabs,
    totalObjects: cache.totalObjects,
    objects: cache.totalObjects - free,
    objectsPartial,
    cpuPartial,
  };
}

/** The end of show_slab_objects(): "%lu", " N%d=%lu" for each node with a non-zero count (CONFIG_NUMA), "\n". */
function showSlabObjects(total: number): string {
  return total !== 0 ? `${total} N0=${total}\n` : `${total}\n`;
}

const flag = (cache: KmemCache, bit: number): string => `${cache.flags & bit ? 1 : 0}\n`;

/**
 * What `cat /sys/kernel/slab/<entry>/<attr>` prints (the attribute's show function), or undefined when the entry
 * or the attribute does not exist. `entry` is a directory name, a cache name or an alias.
 */
export function sysfsSlabAttribute(machine: Machine, entry: string, attr: string): string | undefined {
  const cache = resolveSysfsSlab(machine, entry);
  if (!cache || !(slabAttributes(machine) as readonly string[]).includes(attr)) return undefined;
  return showAttribute(machine, cache, attr as SlabAttribute, slabCounts(machine, cache));
}

function showAttribute(machine: Machine, cache: KmemCache, attr: SlabAttribute, c: SlabCounts): string {
  const g = cache.geometry;
  switch (attr) {
    case 'slab_size':
      return `${g.size}\n`;
    case 'object_size':
      return `${g.objectSize}\n`;
    case 'objs_per_slab':
      return `${g.objects}\n`;
    case 'order':
      return `${g.order}\n`;
    case 'min_partial':
      return `${g.minPartial}\n`;
    case 'cpu_partial':
      return `${cache.cpuPartialObjects}\n`; // slub_cpu_partial(s)
    case 'objects_partial':
      return showSlabObjects(c.objectsPartial);
    case 'partial':
      return showSlabObjects(c.partial);
    case 'cpu_slabs':
      return showSlabObjects(c.cpuSlabs);
    case 'ctor':
      // ctor_show(): "%pS\n" of s->ctor, symbol+offset/size; nothing without a constructor.
      return cache.ctor ? `${cache.ctor.name}+0x0/0x${cache.ctor.size.toString(16)}\n` : '';
    case 'shrink':
    case 'validate':
      return ''; // the show function returns 0 bytes
    case 'aliases':
      return `${cache.refcount < 0 ? 0 : cache.refcount - 1}\n`;
    case 'align':
      return `${g.align}\n`;
    case 'hwcache_align':
      return flag(cache, SLAB_HWCACHE_ALIGN);
    case 'reclaim_account':
      return flag(cache, SLAB_RECLAIM_ACCOUNT);
    case 'destroy_by_rcu':
      return flag(cache, SLAB_TYPESAFE_BY_RCU);
    case 'slabs_cpu_partial': {
      // slabs_cpu_partial_show(): objects are approximated as half-full slabs, (slabs * oo_objects) / 2.
      const half = (slabs: number): number => Math.floor((slabs * g.objects) / 2);
      const total = c.cpuPartial.reduce((sum, p) => sum + p.slabs, 0);
      return `${half(total)}(${total})${c.cpuPartial.map((p) => ` C${p.cpu}=${half(p.slabs)}(${p.slabs})`).join('')}\n`;
    }
    case 'total_objects':
      return showSlabObjects(c.totalObjects);
    case 'objects':
      return showSlabObjects(c.objects);
    case 'slabs':
      return showSlabObjects(c.slabs);
    case 'sanity_checks':
      return flag(cache, SLAB_CONSISTENCY_CHECKS);
    case 'trace':
      return flag(cache, SLAB_TRACE);
    case 'red_zone':
      return flag(cache, SLAB_RED_ZONE);
    case 'poison':
      return flag(cache, SLAB_POISON);
    case 'store_user':
      return flag(cache, SLAB_STORE_USER);
    case 'skip_kfence':
      return '0\n'; // no SLAB_SKIP_KFENCE in the model
    case 'cache_dma':
      return flag(cache, SLAB_CACHE_DMA);
    case 'remote_node_defrag_ratio':
      return '100\n'; // s->remote_node_defrag_ratio = 1000, shown / 10
    case 'usersize':
      return `${usersize(cache)}\n`;
  }
}

export interface SysfsSlabView {
  readonly kind: 'sysfs-slab';
  /** The directory in /sys/kernel/slab. */
  readonly dir: string;
  readonly cache: string;
  /** Links in /sys/kernel/slab pointing at the directory. */
  readonly links: readonly string[];
  readonly mergeable: boolean;
  /** Each attribute's file contents, in slab_attrs[] order. */
  readonly attributes: Readonly<Record<string, string>>;
}

/** /sys/kernel/slab/<entry>/ as JSON, or undefined when no such entry exists. */
export function sysfsSlabView(machine: Machine, entry: string): SysfsSlabView | undefined {
  const cache = resolveSysfsSlab(machine, entry);
  if (!cache) return undefined;
  const counts = slabCounts(machine, cache);
  const attributes: Record<string, string> = {};
  for (const attr of slabAttributes(machine)) attributes[attr] = showAttribute(machine, cache, attr, counts);
  const dir = sysfsSlabDirName(cache);
  return {
    kind: 'sysfs-slab',
    dir,
    cache: cache.name,
    links: sysfsSlabEntries(machine)
      .filter((e) => e.type === 'link' && e.target === dir)
      .map((e) => e.name),
    mergeable: !slabUnmergeable(cache),
    attributes,
  };
}

/**
 * What `cd /sys/kernel/slab/<dir> && grep . *` prints: "attr:value" per non-empty file, in the shell's glob
 * order (sorted by name in the C locale).
 */
export function formatSysfsSlab(view: SysfsSlabView): string {
  let out = '';
  for (const attr of Object.keys(view.attributes).sort()) {
    const value = view.attributes[attr]!;
    if (value) out += `${attr}:${value}`;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// slabtop -o

/** slabtop's sort keys (-s / interactive), as set_sort_stuff() maps them; 'o' (objects) is the default. */
export type SlabtopSort = 'a' | 'b' | 'c' | 'l' | 'v' | 'n' | 'o' | 'p' | 's' | 'u';

export interface SlabtopRow {
  readonly name: string;
  readonly objs: number;
  readonly active: number;
  /** (unsigned)(100 * ((float)active / objs)), 0 for an empty cache. */
  readonly use: number;
  /** objsize of /proc/slabinfo (s->size), bytes. */
  readonly objSize: number;
  readonly slabs: number;
  readonly activeSlabs: number;
  readonly objPerSlab: number;
  readonly pagesPerSlab: number;
  /** nr_slabs * pages_per_slab * page_size, bytes. */
  readonly cacheSize: number;
}

export interface SlabtopView {
  readonly kind: 'slabtop';
  readonly activeObjs: number;
  readonly totalObjs: number;
  readonly activeSlabs: number;
  readonly totalSlabs: number;
  /** Caches with objects. */
  readonly activeCaches: number;
  readonly totalCaches: number;
  /** Bytes: sum of active_objs * objsize, and of num_objs * objsize. */
  readonly activeSize: number;
  readonly totalSize: number;
  readonly minObjSize: number;
  /** total_size / nr_objs, integer division; 0 when there are no objects. */
  readonly avgObjSize: number;
  readonly maxObjSize: number;
  readonly sort: SlabtopSort;
  readonly rows: readonly SlabtopRow[];
}

/**
 * slabtop's numbers, from /proc/slabinfo as library/slabinfo.c parse_slabinfo20() reads it, sorted as
 * procps_slabinfo_sort() sorts (descending, names ascending). procps uses qsort, whose order of equal keys is
 * unspecified; here ties keep /proc/slabinfo's order.
 */
export function slabtopView(machine: Machine, sort: SlabtopSort = 'o'): SlabtopView {
  const caches = slabinfoView(machine).caches;
  let activeObjs = 0;
  let totalObjs = 0;
  let activeSlabs = 0;
  let totalSlabs = 0;
  let activeCaches = 0;
  let activeSize = 0;
  let totalSize = 0;
  let minObjSize = 0x7fffffff; // INT_MAX
  let maxObjSize = 0;
  const rows: SlabtopRow[] = caches.map((c) => {
    minObjSize = Math.min(minObjSize, c.objSize);
    maxObjSize = Math.max(maxObjSize, c.objSize);
    let use = 0;
    if (c.numObjs) {
      // (unsigned int)(100 * ((float)nr_active_objs / nr_objs)): single-precision arithmetic, truncated.
      use = Math.trunc(Math.fround(100 * Math.fround(c.activeObjs / c.numObjs)));
      activeCaches++;
    }
    activeObjs += c.activeObjs;
    totalObjs += c.numObjs;
    totalSize += c.numObjs * c.objSize;
    activeSize += c.activeObjs * c.objSize;
    totalSlabs += c.numSlabs;
    activeSlabs += c.activeSlabs;
    return {
      name: c.name,
      objs: c.numObjs,
      active: c.activeObjs,
      use,
      objSize: c.objSize,
      slabs: c.numSlabs,
      activeSlabs: c.activeSlabs,
      objPerSlab: c.objPerSlab,
      pagesPerSlab: c.pagesPerSlab,
      cacheSize: c.numSlabs * c.pagesPerSlab * PAGE_SIZE,
    };
  });
  const key: Record<SlabtopSort, (r: SlabtopRow) => number | string> = {
    a: (r) => r.active,
    b: (r) => r.objPerSlab,
    c: (r) => r.cacheSize,
    l: (r) => r.slabs,
    v: (r) => r.activeSlabs,
    n: (r) => r.name,
    o: (r) => r.objs,
    p: (r) => r.pagesPerSlab,
    s: (r) => r.objSize,
    u: (r) => r.use,
  };
  const k = key[sort];
  const dir = sort === 'n' ? 1 : -1;
  rows.sort((x, y) => {
    const a = k(x);
    const b = k(y);
    return a < b ? -dir : a > b ? dir : 0;
  });
  return {
    kind: 'slabtop',
    activeObjs,
    totalObjs,
    activeSlabs,
    totalSlabs,
    activeCaches,
    totalCaches: caches.length,
    activeSize,
    totalSize,
    minObjSize: caches.length ? minObjSize : 0x7fffffff,
    avgObjSize: totalObjs ? Math.floor(totalSize / totalObjs) : 0,
    maxObjSize,
    sort,
    rows,
  };
}

/**
 * glibc printf("%.<digits>f"): the exact binary value rounded to nearest, ties to even (JavaScript's toFixed
 * breaks exact ties upwards); NaN prints "-nan", as 0.0 / 0.0 yields the negative default NaN on x86-64.
 */
export function printfFixed(x: number, digits: number): string {
  if (Number.isNaN(x)) return '-nan';
  const rounded = x.toFixed(digits);
  const exact = Math.abs(x).toFixed(Math.min(100, digits + 70));
  const [int = '', frac = ''] = exact.split('.');
  const rest = frac.slice(digits);
  if (/^50*$/.test(rest)) {
    const kept = frac.slice(0, digits);
    const last = digits > 0 ? kept[kept.length - 1]! : int[int.length - 1]!;
    if (Number(last) % 2 === 0) return `${x < 0 ? '-' : ''}${int}${digits > 0 ? `.${kept}` : ''}`;
  }
  return rounded;
}

/** procps slabtop -o: print_summary(), print_headings(), print_details() per cache. */
export function formatSlabtop(v: SlabtopView): string {
  const pct = (a: number, b: number) => printfFixed((100.0 * a) / b, 1);
  const k2 = (bytes: number) => printfFixed(bytes / 1024.0, 2);
  const label = (s: string) => ` ${s.padEnd(35)}: `;
  let out =
    `${label('Active / Total Objects (% used)')}${v.activeObjs} / ${v.totalObjs} (${pct(v.activeObjs, v.totalObjs)}%)\n` +
    `${label('Active / Total Slabs (% used)')}${v.activeSlabs} / ${v.totalSlabs} (${pct(v.activeSlabs, v.totalSlabs)}%)\n` +
    `${label('Active / Total Caches (% used)')}${v.activeCaches} / ${v.totalCaches} (${pct(v.activeCaches, v.totalCaches)}%)\n` +
    `${label('Active / Total Size (% used)')}${k2(v.activeSize)}K / ${k2(v.totalSize)}K (${pct(v.activeSize, v.totalSize)}%)\n` +
    `${label('Minimum / Average / Maximum Object')}${k2(v.minObjSize)}K / ${k2(v.avgObjSize)}K / ${k2(v.maxObjSize)}K\n\n`;
  out += `${'  OBJS ACTIVE  USE OBJ SIZE  SLABS OBJ/SLAB CACHE SIZE NAME'.padEnd(78)}\n`;
  for (const r of v.rows) {
    // "%6u %6u %3u%% %7.2fK %6u %8u %9luK %-23s\n"
    out +=
      `${String(r.objs).padStart(6)} ${String(r.active).padStart(6)} ${String(r.use).padStart(3)}% ` +
      `${k2(r.objSize).padStart(7)}K ${String(r.slabs).padStart(6)} ${String(r.objPerSlab).padStart(8)} ` +
      `${String(Math.floor(r.cacheSize / 1024)).padStart(9)}K ${r.name.padEnd(23)}\n`;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// The layout of one slab

export type SlabObjectState = 'allocated' | 'slab freelist' | 'cpu freelist' | 'unlisted';

/** Where a slab is: some CPU's cpu slab, the node partial list, or no list (full). */
export type SlabListState = 'cpu slab' | 'cpu partial' | 'partial' | 'full';

/** The scenario step that produced an object's latest Kmalloc (or Kfree) event. */
export interface ObjectEventSite {
  readonly seq: number;
  /** The scenario line (0: not from a scenario line). */
  readonly line: number;
  /** The included file the line is in (Program.files); absent: the scenario's own. */
  readonly file?: string;
  readonly cpu: number;
  /** Bytes asked (Kmalloc); 0 for Kfree. */
  readonly size: number;
}

export interface FreePointerView {
  /** The next free object's index, or null for the end of the list (a NULL free pointer). */
  readonly index: number | null;
  readonly phys?: number;
  /** The pointer: the next object's direct-map address (or 0 at the end). */
  readonly virt: string;
  /**
   * The word in the object's bytes at s->offset, 0x and 16 hex digits: the pointer itself, or with
   * CONFIG_SLAB_FREELIST_HARDENED ptr ^ s->random ^ swab(ptr_addr) (freeptr.ts).
   */
  readonly stored: string;
}

export interface SlabObjectView {
  readonly index: number;
  readonly phys: number;
  readonly virt: string;
  readonly state: SlabObjectState;
  /** For 'cpu freelist': the CPU whose lockless freelist holds the object. */
  readonly cpu?: number;
  /** For a free object: its free pointer (fp[index]). */
  readonly freePointer?: FreePointerView;
  /** For an allocated object: the latest Kmalloc event at its address. */
  readonly allocatedAt?: ObjectEventSite;
}

export interface SlabLayoutView {
  readonly kind: 'slab-layout';
  readonly cache: string;
  readonly headPfn: number;
  readonly order: number;
  readonly phys: number;
  readonly virt: string;
  /** PAGE_SIZE << order. */
  readonly bytes: number;
  /** s->size, s->object_size, s->offset (where the free pointer sits in a free object). */
  readonly size: number;
  readonly objectSize: number;
  readonly freePointerOffset: number;
  /** A debug cache's slot, area by area (offsets from the slot's start, as mm/slub.c's layout comment names them). */
  readonly slotAreas?: readonly SlotArea[];
  readonly objects: number;
  /** slab->inuse and slab->frozen as recorded. */
  readonly inuse: number;
  readonly frozen: boolean;
  readonly list: SlabListState;
  /** CPUs whose cpu slab this is (one, unless the state is corrupted). */
  readonly cpus: readonly number[];
  /** For 'cpu partial': the CPU whose per-CPU partial list holds the slab. */
  readonly partialCpu?: number;
  readonly allocated: number;
  readonly onSlabFreelist: number;
  readonly onCpuFreelist: number;
  /** The first object index of the slab freelist (null: empty) and of each owning CPU's freelist. */
  readonly slabFreelist: number | null;
  readonly cpuFreelists: readonly { readonly cpu: number; readonly head: number | null }[];
  /** Bytes after the last object: bytes - objects * size. */
  readonly padding: number;
  readonly paddingPhys: number;
  readonly objectList: readonly SlabObjectView[];
  /** Broken invariants, each in words; empty for a sound slab. */
  readonly problems: readonly string[];
}

interface SlabAnalysis {
  readonly cache: KmemCache;
  readonly head: number;
  readonly state: Uint8Array;
  readonly cpuOf: Int16Array;
  readonly list: SlabListState;
  readonly cpus: number[];
  readonly problems: string[];
}

const ST_NONE = 0;
const ST_ALLOCATED = 1;
const ST_SLAB_FREE = 2;
const ST_CPU_FREE = 3;
const STATE_NAMES: readonly SlabObjectState[] = ['unlisted', 'allocated', 'slab freelist', 'cpu freelist'];

/** Classifies every object of the slab at head, walking each freelist at most once per object. */
function analyseSlab(machine: Machine, head: number): SlabAnalysis | undefined {
  const slab = machine.slub.slabs.get(head);
  if (!slab) return undefined;
  const cache = machine.slub.caches[slab.cache];
  if (!cache) return undefined;
  const n = cache.geometry.objects;
  const fp = slab.fp;
  const problems: string[] = [];
  const state = new Uint8Array(n);
  const cpuOf = new Int16Array(n).fill(-1);
  /** Which walk (1-based) marked each object, to tell a cycle from two lists sharing an object. */
  const walkOf = new Uint16Array(n);
  for (let i = 0; i < n; i++) if (isAllocated(fp[i]!)) state[i] = ST_ALLOCATED;

  let walkId = 0;
  const walk = (start: number, mark: number, cpu: number, label: string): number => {
    walkId++;
    let count = 0;
    let prev = -1;
    for (let i = start; i !== FREE_END;) {
      const from = prev < 0 ? `${label} head` : `the free pointer of object ${prev}`;
      if (!Number.isInteger(i) || i < 0 || i >= n) {
        problems.push(`${label}: ${from} is ${i}, outside the slab's objects 0..${n - 1}`);
        break;
      }
      if (state[i] === ST_ALLOCATED) {
        problems.push(`${label}: ${from} leads to object ${i}, which is allocated`);
        break;
      }
      if (state[i] !== ST_NONE) {
        problems.push(
          walkOf[i] === walkId
            ? `${label}: cycle: ${from} leads back to object ${i}`
            : `${label}: ${from} leads to object ${i}, already on ${describeList(state[i]!, cpuOf[i]!)}`,
        );
        break;
      }
      state[i] = mark;
      cpuOf[i] = cpu;
      walkOf[i] = walkId;
      count++;
      prev = i;
      i = fp[i]!;
    }
    return count;
  };

  const slabFree = walk(slab.freelist, ST_SLAB_FREE, -1, 'slab freelist');
  const cpus: number[] = [];
  for (let c = 0; c < cache.cpuSlab.length; c++) {
    if (cache.cpuSlab[c] !== head) continue;
    cpus.push(c);
    walk(cache.cpuFreelist[c]!, ST_CPU_FREE, c, `CPU ${c}'s freelist`);
  }
  for (let i = 0; i < n; i++) {
    if (state[i] === ST_NONE) {
      problems.push(`object ${i} is not allocated (free pointer ${fp[i]}) but on no freelist`);
    }
  }
  if (cpus.length > 1) problems.push(`the cpu slab of ${cpus.length} CPUs (${cpus.join(', ')})`);
  if (slab.frozen && cpus.length === 0) problems.push('frozen, but no CPU has it as its cpu slab');
  if (!slab.frozen && cpus.length > 0) problems.push(`CPU ${cpus[0]}'s cpu slab, but not frozen`);
  if (slab.inuse !== n - slabFree) {
    problems.push(`slab->inuse is ${slab.inuse}, but ${n - slabFree} objects are off the slab freelist`);
  }
  let list: SlabListState = 'full';
  const onCpuPartial =
    slab.cpuPartial >= 0 &&
    slab.cpuPartial < cache.cpuPartial.length &&
    machine.slub.cpuPartialList(cache, slab.cpuPartial).includes(head);
  if (slab.cpuPartial >= 0 && !onCpuPartial) {
    problems.push(`marked as on CPU ${slab.cpuPartial}'s partial list, but that list does not reach it`);
  }
  if (slab.frozen || cpus.length > 0) {
    list = 'cpu slab';
  } else if (onCpuPartial) {
    list = 'cpu partial';
  } else {
    const partial = machine.slub.partialSlabs(cache).slice(0, cache.nrSlabs + 1);
    if (partial.includes(head)) list = 'partial';
    if (list === 'full' && slabFree > 0) problems.push(`${slabFree} free objects, but not on the partial list`);
  }
  return { cache, head, state, cpuOf, list, cpus, problems };
}

function describeList(state: number, cpu: number): string {
  return state === ST_CPU_FREE ? `CPU ${cpu}'s freelist` : 'the slab freelist';
}

/** The latest Kmalloc and Kfree events per address of the slab, from one backward pass stopping at its SlabNew. */
function eventIndex(
  machine: Machine,
  cache: KmemCache,
  head: number,
  wanted: ReadonlySet<number>,
): { alloc: Map<number, ObjectEventSite>; free: Map<number, ObjectEventSite> } {
  const events = machine.events;
  const alloc = new Map<number, ObjectEventSite>();
  const free = new Map<number, ObjectEventSite>();
  let remaining = wanted.size;
  for (let seq = events.length - 1; seq >= 0 && remaining > 0; seq--) {
    const kind = events.kindAt(seq);
    if (kind !== EventKind.Kmalloc && kind !== EventKind.Kfree && kind !== EventKind.SlabNew) continue;
    if (events.cacheAt(seq) !== cache.id) continue;
    const e = events.get(seq);
    if (kind === EventKind.SlabNew) {
      if (e.addr === head) break; // the slab was created here: nothing older is about its objects
      continue;
    }
    if (!wanted.has(e.addr)) continue;
    const site = {
      seq,
      line: e.line,
      ...(e.file !== 0 ? { file: machine.sourceFiles[e.file] ?? `file ${e.file}` } : {}),
      cpu: e.cpu,
      size: kind === EventKind.Kmalloc ? e.size : 0,
    };
    if (kind === EventKind.Kmalloc) {
      if (!alloc.has(e.addr)) {
        alloc.set(e.addr, site);
        remaining--;
      }
    } else if (!free.has(e.addr) && !alloc.has(e.addr)) {
      free.set(e.addr, site);
    }
  }
  return { alloc, free };
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/**
 * The layout of the slab holding frame `pfn` (its head or any tail frame), or undefined when the frame is not
 * slab memory. Use slabLayoutAt() for an address.
 */
export function slabLayoutView(machine: Machine, pfn: number): SlabLayoutView | undefined {
  if (!Number.isInteger(pfn)) return undefined;
  const head = machine.slub.slabHeadOf(pfn);
  if (head === NO_PFN) return undefined;
  const a = analyseSlab(machine, head);
  if (!a) return undefined;
  const { cache, state, cpuOf } = a;
  const g = cache.geometry;
  const slab = machine.slub.slabs.get(head)!;
  const base = head * PAGE_SIZE;
  // An object starts red_left_pad bytes into its slot (debug caches with SLAB_RED_ZONE).
  const first = base + g.redLeftPad;
  const wanted = new Set<number>();
  for (let i = 0; i < g.objects; i++) if (state[i] === ST_ALLOCATED) wanted.add(first + i * g.size);
  const { alloc } = eventIndex(machine, cache, head, wanted);
  const objectList: SlabObjectView[] = [];
  let allocated = 0;
  let onSlab = 0;
  let onCpu = 0;
  for (let i = 0; i < g.objects; i++) {
    const phys = first + i * g.size;
    const st = state[i]!;
    const view: {
      index: number;
      phys: number;
      virt: string;
      state: SlabObjectState;
      cpu?: number;
      freePointer?: FreePointerView;
      allocatedAt?: ObjectEventSite;
    } = { index: i, phys, virt: machine.formatVirt(phys), state: STATE_NAMES[st]! };
    if (st === ST_ALLOCATED) {
      allocated++;
      const site = alloc.get(phys);
      if (site) view.allocatedAt = site;
    } else {
      if (st === ST_CPU_FREE) {
        onCpu++;
        view.cpu = cpuOf[i]!;
      } else if (st === ST_SLAB_FREE) {
        onSlab++;
      }
      view.freePointer = freePointer(machine, cache, head, i);
    }
    objectList.push(view);
  }
  const bytes = PAGE_SIZE << g.order;
  return {
    kind: 'slab-layout',
    cache: cache.name,
    headPfn: head,
    order: g.order,
    phys: base,
    virt: machine.formatVirt(base),
    bytes,
    size: g.size,
    objectSize: g.objectSize,
    freePointerOffset: g.offset,
    ...(g.debug !== undefined ? { slotAreas: slotAreas(cache)! } : {}),
    objects: g.objects,
    inuse: slab.inuse,
    frozen: slab.frozen,
    list: a.list,
    cpus: a.cpus,
    ...(a.list === 'cpu partial' ? { partialCpu: slab.cpuPartial } : {}),
    allocated,
    onSlabFreelist: onSlab,
    onCpuFreelist: onCpu,
    slabFreelist: slab.freelist === FREE_END ? null : slab.freelist,
    cpuFreelists: a.cpus.map((cpu) => ({
      cpu,
      head: cache.cpuFreelist[cpu] === FREE_END ? null : cache.cpuFreelist[cpu]!,
    })),
    padding: bytes - g.objects * g.size,
    paddingPhys: base + g.objects * g.size,
    objectList,
    problems: a.problems,
  };
}

/** slabLayoutView() of the slab containing physical address phys. */
export function slabLayoutAt(machine: Machine, phys: number): SlabLayoutView | undefined {
  return Number.isFinite(phys) ? slabLayoutView(machine, Math.floor(phys / PAGE_SIZE)) : undefined;
}

function freePointer(machine: Machine, cache: KmemCache, head: number, idx: number): FreePointerView {
  const slab = machine.slub.slabs.get(head)!;
  const next = slab.fp[idx]!;
  const word = freePointerWord(machine.freePointers, cache, head, slab, idx, PAGE_SIZE);
  const stored = word === undefined ? '?' : `0x${word.toString(16).padStart(16, '0')}`;
  if (next === FREE_END) return { index: null, virt: '0x0000000000000000', stored };
  if (!Number.isInteger(next) || next < 0 || next >= cache.geometry.objects) return { index: next, virt: '?', stored };
  const phys = head * PAGE_SIZE + cache.geometry.redLeftPad + next * cache.geometry.size;
  return { index: next, phys, virt: machine.formatVirt(phys), stored };
}

function describeState(o: { state: SlabObjectState; cpu?: number }): string {
  switch (o.state) {
    case 'cpu freelist':
      return `free, CPU ${o.cpu}'s freelist`;
    case 'slab freelist':
      return 'free, slab freelist';
    case 'unlisted':
      return 'free, on no list';
    default:
      return 'allocated';
  }
}

/** The slab layout as console text: a header, one line per object, the padding, then any problems. */
export function formatSlabLayout(v: SlabLayoutView): string {
  const where =
    v.list === 'cpu slab'
      ? `cpu slab of CPU ${v.cpus.join(', ') || '?'}`
      : v.list === 'cpu partial'
        ? `on CPU ${v.partialCpu ?? '?'}'s per-CPU partial list`
        : v.list === 'partial'
          ? 'on the node partial list'
          : 'full (on no list)';
  const lines = [
    `slab at pfn ${hex(v.headPfn)} of ${v.cache}: order ${v.order} (${v.bytes} bytes), ${where}`,
    `  phys ${hex(v.phys)}-${hex(v.phys + v.bytes - 1)}, virt ${v.virt}`,
    `  ${v.objects} objects of ${v.size} bytes (object_size ${v.objectSize}), free pointer at offset ${v.freePointerOffset}`,
    ...(v.slotAreas
      ? [`  slot: ${v.slotAreas.map((a) => `${a.name} ${a.offset}..${a.offset + a.length - 1}`).join(', ')}`]
      : []),
    `  inuse ${v.inuse}${v.frozen ? ' (frozen)' : ''}: ${v.allocated} allocated, ${v.onCpuFreelist} on a CPU freelist, ${v.onSlabFreelist} on the slab freelist`,
    `  idx  phys          virt                state                    next free`,
  ];
  for (const o of v.objectList) {
    let next = '';
    if (o.freePointer) {
      next = o.freePointer.index === null ? '-> NULL' : `-> ${o.freePointer.index} (${o.freePointer.virt})`;
      if (o.freePointer.stored !== o.freePointer.virt) next += `, stored ${o.freePointer.stored}`;
    } else if (o.allocatedAt) {
      next = siteText(o.allocatedAt);
    }
    lines.push(
      `  ${String(o.index).padStart(3)}  ${hex(o.phys).padEnd(12)}  ${o.virt}  ${describeState(o).padEnd(23)}  ${next}`.trimEnd(),
    );
  }
  lines.push(`  padding: ${v.padding} bytes at ${hex(v.paddingPhys)} (${v.bytes} - ${v.objects} * ${v.size})`);
  if (v.problems.length) {
    lines.push('  problems:');
    for (const p of v.problems) lines.push(`    ${p}`);
  }
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------------------------
// An address inside a slab

export interface ObjectLookupView {
  readonly kind: 'slab-object';
  readonly phys: number;
  readonly virt: string;
  readonly cache: string;
  readonly headPfn: number;
  /** The object the address falls in; absent when it is in the padding after the last object. */
  readonly index?: number;
  readonly objectPhys?: number;
  readonly objectVirt?: string;
  /** Bytes from the start of the object. */
  readonly offset?: number;
  readonly size: number;
  readonly objectSize: number;
  /** 'padding': the unused bytes at the end of the slab. */
  readonly state: SlabObjectState | 'padding';
  readonly cpu?: number;
  /** The offset is past s->object_size, in the slot's slack (s->size - s->object_size). */
  readonly beyondObject?: boolean;
  /** In a debug cache's metadata: 'left red zone', 'right red zone', 'free pointer', 'alloc track', ... */
  readonly area?: string;
  /** The address is inside the free pointer word of a free object (s->offset .. s->offset + 8). */
  readonly onFreePointer?: boolean;
  readonly freePointer?: FreePointerView;
  /** Allocated: the Kmalloc that handed it out. Free: the latest Kfree of it since the slab was made. */
  readonly allocatedAt?: ObjectEventSite;
  readonly freedAt?: ObjectEventSite;
  /** Problems of the slab (see slabLayoutView), which may make the state unreliable. */
  readonly problems: readonly string[];
}

/** Which object of which slab the physical address phys falls in, and its state; undefined for non-slab memory. */
export function objectLookup(machine: Machine, phys: number): ObjectLookupView | undefined {
  if (!Number.isFinite(phys) || phys < 0) return undefined;
  const head = machine.slub.slabHeadOf(Math.floor(phys / PAGE_SIZE));
  if (head === NO_PFN) return undefined;
  const a = analyseSlab(machine, head);
  if (!a) return undefined;
  const g = a.cache.geometry;
  const base = head * PAGE_SIZE;
  const common = {
    kind: 'slab-object' as const,
    phys,
    virt: machine.formatVirt(phys),
    cache: a.cache.name,
    headPfn: head,
    size: g.size,
    objectSize: g.objectSize,
    problems: a.problems,
  };
  const index = Math.floor((phys - base) / g.size);
  if (index >= g.objects) return { ...common, state: 'padding' };
  const objectPhys = base + index * g.size + g.redLeftPad;
  const offset = phys - objectPhys;
  const area = debugArea(a.cache, offset);
  const st = a.state[index]!;
  const { alloc, free } = eventIndex(machine, a.cache, head, new Set([objectPhys]));
  const allocated = st === ST_ALLOCATED;
  const allocatedAt = allocated ? alloc.get(objectPhys) : undefined;
  const freedAt = allocated ? undefined : free.get(objectPhys);
  return {
    ...common,
    index,
    objectPhys,
    objectVirt: machine.formatVirt(objectPhys),
    offset,
    state: STATE_NAMES[st]!,
    ...(st === ST_CPU_FREE ? { cpu: a.cpuOf[index]! } : {}),
    ...(offset >= g.objectSize ? { beyondObject: true } : {}),
    ...(area ? { area } : {}),
    ...(!allocated && offset >= g.offset && offset < g.offset + 8 ? { onFreePointer: true } : {}),
    ...(!allocated ? { freePointer: freePointer(machine, a.cache, head, index) } : {}),
    ...(allocatedAt ? { allocatedAt } : {}),
    ...(freedAt ? { freedAt } : {}),
  };
}

/** One area of a debug cache's slot: [offset, offset + length) from the slot's start. */
export interface SlotArea {
  readonly name: string;
  readonly offset: number;
  readonly length: number;
}

/**
 * The areas of a debug cache's slot in order (left red zone, object, right red zone, an outside free pointer,
 * the tracks, orig_size, padding), or undefined for a cache without debug metadata.
 */
export function slotAreas(cache: KmemCache): SlotArea[] | undefined {
  const g = cache.geometry;
  const d = g.debug;
  if (d === undefined) return undefined;
  const out: SlotArea[] = [];
  const add = (name: string, from: number, to: number) => {
    if (to > from) out.push({ name, offset: g.redLeftPad + from, length: to - from });
  };
  add('left red zone', -g.redLeftPad, 0);
  add('object', 0, d.objectSize);
  add('right red zone', d.objectSize, g.inuse);
  const outside = g.offset >= g.inuse;
  if (outside) add('free pointer', g.offset, g.offset + 8);
  let at = outside ? g.inuse + 8 : g.inuse;
  if (cache.flags & SLAB_STORE_USER) {
    add('alloc track', at, at + TRACK_BYTES);
    add('free track', at + TRACK_BYTES, at + 2 * TRACK_BYTES);
    at += 2 * TRACK_BYTES;
    if (cache.flags & SLAB_KMALLOC) {
      add('orig_size', at, at + 4);
      at += 4;
    }
  }
  add('padding', at, g.size - g.redLeftPad);
  return out;
}

/**
 * Which part of a debug cache's slot `offset` (from the object's start) falls in, as mm/slub.c's comment on
 * the object layout names them; undefined inside the object or for a cache without debug metadata.
 */
function debugArea(cache: KmemCache, offset: number): string | undefined {
  const d = cache.geometry.debug;
  if (d === undefined || (offset >= 0 && offset < d.objectSize)) return undefined;
  const g = cache.geometry;
  if (offset < 0) return 'left red zone';
  if (offset < g.inuse) return 'right red zone';
  if (g.offset >= g.inuse && offset >= g.offset && offset < g.offset + 8) return 'free pointer';
  const info = g.offset >= g.inuse ? g.inuse + 8 : g.inuse;
  if (cache.flags & SLAB_STORE_USER) {
    if (offset < info + TRACK_BYTES) return 'alloc track';
    if (offset < info + 2 * TRACK_BYTES) return 'free track';
    if (cache.flags & SLAB_KMALLOC && offset < info + 2 * TRACK_BYTES + 4) return 'orig_size';
  }
  return 'padding';
}

/** sizeof(struct track) (slub_debug.ts TRACK_SIZE), kept here so views need not load the debug module. */
const TRACK_BYTES = 32;

/** The object lookup as console text (one or two lines, then any problems of the slab). */
export function formatObjectLookup(v: ObjectLookupView): string {
  const lines: string[] = [];
  if (v.state === 'padding' || v.index === undefined) {
    lines.push(`${v.virt}: in the padding after the last object of the ${v.cache} slab at pfn ${hex(v.headPfn)}`);
  } else {
    const where = `${v.offset} bytes into object ${v.index} (${v.objectVirt}, ${v.size} bytes) of ${v.cache}`;
    lines.push(`${v.virt}: ${where}, slab at pfn ${hex(v.headPfn)}`);
    let state = describeState({ state: v.state, ...(v.cpu !== undefined ? { cpu: v.cpu } : {}) });
    if (v.allocatedAt) state += ` at ${siteText(v.allocatedAt)}`;
    if (v.freedAt) state += `; freed at ${siteText(v.freedAt)}`;
    if (v.area) state += `; in the ${v.area}`;
    else if (v.beyondObject) state += `; past object_size ${v.objectSize}`;
    if (v.onFreePointer) state += '; on its free pointer';
    lines.push(`  ${state}`);
  }
  for (const p of v.problems) lines.push(`  problem: ${p}`);
  return lines.join('\n') + '\n';
}

function siteText(s: ObjectEventSite): string {
  if (s.line <= 0) return `event ${s.seq}`;
  if (s.file === undefined) return `line ${s.line}`;
  return `${fileBaseName(s.file)}:${s.line}`;
}
