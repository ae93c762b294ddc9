/*
 * The slab panel's model, without DOM: the columns of the caches table (as slabtop and /proc/slabinfo
 * name them), sorting, the name filter, "empty" caches, the deltas between two states, and number
 * formatting. main.ts and panel.ts draw what this computes; the unit tests call it directly.
 */

import type { SlabCacheView } from '../../engine/inspect/views';

export type SortKey =
  | 'name'
  | 'activeObjs'
  | 'numObjs'
  | 'objSize'
  | 'objPerSlab'
  | 'pagesPerSlab'
  | 'numSlabs'
  | 'partial'
  | 'cpuSlabs'
  | 'cpuPartial'
  | 'liveObjects'
  | 'usage';
export type SortDir = 'ascending' | 'descending';

export interface Column {
  readonly key: SortKey;
  readonly label: string;
  /** The header's tooltip: what the number means in the kernel's terms. */
  readonly title: string;
  readonly numeric: boolean;
  /** Whether a change of this column since the previous state shows a delta. */
  readonly delta: boolean;
}

export const COLUMNS: readonly Column[] = [
  { key: 'name', label: 'Cache', title: 'kmem_cache name', numeric: false, delta: false },
  {
    key: 'activeObjs',
    label: 'Active objs',
    title: 'slabinfo active_objs: objects in slabs minus the free objects on the node partial list',
    numeric: true,
    delta: true,
  },
  {
    key: 'numObjs',
    label: 'Num objs',
    title: 'slabinfo num_objs: object slots in all slabs',
    numeric: true,
    delta: true,
  },
  {
    key: 'objSize',
    label: 'Objsize',
    title: 's->size: the slot each object takes, in bytes',
    numeric: true,
    delta: false,
  },
  { key: 'objPerSlab', label: 'Objs/slab', title: 'oo_objects(s->oo): objects per slab', numeric: true, delta: false },
  {
    key: 'pagesPerSlab',
    label: 'Pages/slab',
    title: 'pages per slab, and the buddy order of the slab allocation',
    numeric: true,
    delta: false,
  },
  { key: 'numSlabs', label: 'Slabs', title: 'slabinfo num_slabs: slabs the cache holds', numeric: true, delta: true },
  {
    key: 'partial',
    label: 'Partial',
    title: 'slabs on the node partial list (n->nr_partial)',
    numeric: true,
    delta: true,
  },
  {
    key: 'cpuSlabs',
    label: 'CPU slabs',
    title: 'CPUs that have a cpu slab for this cache',
    numeric: true,
    delta: true,
  },
  {
    key: 'cpuPartial',
    label: 'CPU partial',
    title: 'slabs on the per-CPU partial lists (kmem_cache_cpu.partial): freed from full, taken before the node list',
    numeric: true,
    delta: true,
  },
  {
    key: 'liveObjects',
    label: 'Live',
    title: 'objects the scenario holds: allocated and not yet freed',
    numeric: true,
    delta: true,
  },
  { key: 'usage', label: 'Usage', title: 'active objs / num objs', numeric: true, delta: false },
];

/** active/num as a fraction 0..1 (0 for a cache without slabs). */
export function usage(c: SlabCacheView): number {
  return c.numObjs > 0 ? Math.min(1, c.activeObjs / c.numObjs) : 0;
}

export function sortValue(c: SlabCacheView, key: SortKey): number | string {
  return key === 'usage' ? usage(c) : c[key];
}

/** A cache with no slabs and no live objects: the rows "hide empty caches" hides. */
export function isEmptyCache(c: SlabCacheView): boolean {
  return c.numObjs === 0 && c.numSlabs === 0 && c.liveObjects === 0;
}

/**
 * The caches in display order. `key` undefined keeps the kernel's order (newest cache first, as
 * /proc/slabinfo lists them). Names compare naturally (compareNames); ties keep
 * the kernel's order, so sorting is stable.
 */
export function sortCaches(
  caches: readonly SlabCacheView[],
  key: SortKey | undefined,
  dir: SortDir,
): readonly SlabCacheView[] {
  if (key === undefined) return caches;
  const sign = dir === 'ascending' ? 1 : -1;
  return caches
    .map((c, i) => ({ c, i }))
    .sort((a, b) => {
      const x = sortValue(a.c, key);
      const y = sortValue(b.c, key);
      const order = typeof x === 'number' && typeof y === 'number' ? x - y : compareNames(String(x), String(y));
      return order !== 0 ? sign * order : a.i - b.i;
    })
    .map(({ c }) => c);
}

const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });
const UNIT: Readonly<Record<string, number>> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Natural order for cache names, sizes included: kmalloc-8 < kmalloc-96 < kmalloc-192 < kmalloc-1k < kmalloc-8k. */
export function compareNames(a: string, b: string): number {
  const expand = (s: string) =>
    s.replace(/(\d+)([kmg])\b/gi, (_, n: string, u: string) => String(Number(n) * UNIT[u.toLowerCase()]!));
  return collator.compare(expand(a), expand(b)) || (a < b ? -1 : a > b ? 1 : 0);
}

/** A case-insensitive substring match on the cache name; blank matches everything. */
export function matchesFilter(c: SlabCacheView, filter: string): boolean {
  const f = filter.trim().toLowerCase();
  return f === '' || c.name.toLowerCase().includes(f);
}

/** The changes of one cache since the previous state: column -> new minus old (only the non-zero ones). */
export type CacheDelta = ReadonlyMap<SortKey, number>;

/**
 * Per cache name, what changed since `prev`. A cache absent before counts from zero (a new cache);
 * with no previous state nothing is marked.
 */
export function diffCaches(
  prev: readonly SlabCacheView[] | undefined,
  next: readonly SlabCacheView[],
): Map<string, CacheDelta> {
  const out = new Map<string, CacheDelta>();
  if (prev === undefined) return out;
  const before = new Map(prev.map((c) => [c.name, c]));
  for (const c of next) {
    const old = before.get(c.name);
    const d = new Map<SortKey, number>();
    for (const col of COLUMNS) {
      if (!col.delta) continue;
      const now = c[col.key as keyof SlabCacheView] as number;
      const was = old ? (old[col.key as keyof SlabCacheView] as number) : 0;
      if (now !== was) d.set(col.key, now - was);
    }
    if (old === undefined || d.size > 0) out.set(c.name, d);
  }
  return out;
}

// ---- formatting -------------------------------------------------------------------------------------------

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** 65533 -> "65,533". */
export function formatCount(n: number): string {
  return integer.format(n);
}

/** 21 -> "+21", -3 -> "−3" (a real minus sign). */
export function formatDelta(n: number): string {
  return n > 0 ? `+${integer.format(n)}` : `\u2212${integer.format(-n)}`;
}

/** Bytes in binary units as the kernel prints them: 268435456 -> "256 MiB", 12288 -> "12 KiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = value >= 100 || Number.isInteger(value) ? 0 : 1;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

/** Block size of a buddy order with 4 KiB pages: 0 -> "4K", 10 -> "4M". */
export function formatOrderSize(order: number): string {
  const kib = 4 * 2 ** order;
  if (kib < 1024) return `${kib}K`;
  if (kib < 1024 * 1024) return `${kib / 1024}M`;
  return `${kib / (1024 * 1024)}G`;
}

/** A fraction as a percentage with sensible precision: 0.99995 -> "99.99%", 0.84 -> "84%". */
export function formatPercent(fraction: number): string {
  const p = fraction * 100;
  if (p === 0 || p === 100) return `${p}%`;
  if (p >= 99.99) return '>99.99%';
  if (p < 0.01) return '<0.01%';
  if (p >= 10 && p <= 90) return `${Math.round(p)}%`;
  return `${Number(p.toFixed(2))}%`;
}
