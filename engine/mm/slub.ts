/*
 * SLUB (mm/slub.c, Linux 6.12) for the kmalloc caches.
 *
 * A cache (struct kmem_cache) carves slabs, compound pages of 2^order frames, into `objects` objects of
 * `size` bytes. Geometry follows calculate_sizes()/calculate_order(): the order is the smallest from
 * get_order(min_objects * size) up to slub_max_order (3) whose leftover is at most 1/16, then 1/8, 1/4, 1/2
 * of the slab, with min_objects = 4 * (fls(nr_cpus) + 1) capped by what order 3 holds.
 *
 * Slab states, as in the kernel:
 *   cpu slab  - frozen, owned by one CPU (kmem_cache_cpu.slab); its free objects sit on the CPU's lockless
 *               freelist; slab->inuse == objects while frozen.
 *   cpu partial - on one CPU's partial list (kmem_cache_cpu.partial, CONFIG_SLUB_CPU_PARTIAL), not frozen
 *               (since 6.8), chained by slab->next; the list head's slab->slabs counts the list. Free
 *               objects on slab->freelist; it may be empty. At most cpu_partial_slabs slabs before a drain.
 *   partial   - on the node partial list (kmem_cache_node.partial), some objects free on slab->freelist.
 *   full      - every object in use; on no list (only debugging tracks full slabs).
 * Every slab is in exactly one of these states.
 * Allocation (slab_alloc_node): pop the CPU freelist; else ___slab_alloc takes the remote frees of the cpu
 * slab (get_freelist), else the first slab of the CPU's partial list, else get_partial_node (the node list's
 * first slab, and a few more onto the CPU's partial list), else new_slab/allocate_slab.
 * Free (do_slab_free): an object of the CPU's own slab goes on the CPU freelist (fast path); otherwise
 * __slab_free puts it on slab->freelist; a slab that was full goes to the freeing CPU's partial list
 * (put_cpu_partial, which drains a full list to the node list: __put_partials); an empty slab on the node
 * list is discarded once the node already holds min_partial partial slabs (discard_slab).
 *
 * Slab records (struct slab) live in typed arrays owned by Slub (its slab table), not in one object each: a
 * slab is a row of Slub.pool, an Int32Array, and its id is the row's offset there. A row holds the struct
 * slab fields (SLAB_INUSE, SLAB_FREELIST, SLAB_FROZEN, SLAB_CPU_PARTIAL, SLAB_NEXT, SLAB_SLABS), the cache
 * id, the head pfn and the node partial list links (SLAB_LIST_NEXT/PREV), then one free-pointer entry per
 * object (SLAB_FP + i, see Slab.fp below), standing in for the pointer the kernel stores inside the free
 * object. Rows are padded to ROW_ALIGN words (a 64-byte cache line); a discarded slab's row is reused by the
 * next slab whose row has its length, and the pool only grows (by a copy, in newSlab()). Id 0 (NO_SLAB) is
 * no slab. Slab objects are handles onto rows for the code off the hot paths (Slub.slabs, keyed by head pfn,
 * and slabAt()); a discarded slab's handle keeps a copy of its last row.
 * The hot paths go from a frame to its slab's id through a sparse directory: one leaf of SLAB_DIR_SIZE ids
 * per page block (512 frames) that holds or held slab frames, whose entry for every frame of a slab (head
 * and tails) is the slab's id, so a frame's slab id takes two array loads. Leaves are slices of one Int32Array
 * (Slub.leaves); Slub.dir gives each page block's leaf, 0 for the all-zero leaf of blocks without slabs, so
 * a lookup needs no test. The directory costs an int per page block plus a leaf per page block with slabs,
 * not a column per frame. Both are set by newSlab() and cleared by discardSlab(); a frame has a non-zero
 * directory entry exactly while it has PG_SLAB.
 * Lists chain slab ids through rows: a per-CPU partial list through SLAB_NEXT from
 * KmemCache.cpuPartialSlab, the node partial list through SLAB_LIST_NEXT/PREV between
 * KmemCache.partialHeadSlab and partialTailSlab (slab->slab_list). KmemCache.cpuSlab, cpuPartial,
 * partialHead and partialTail keep the same heads as pfns, and Slab.next gives the next slab's pfn.
 *
 * Not yet modelled (later work): debug layouts, freelist randomisation, the RCU grace period before a SLAB_TYPESAFE_BY_RCU slab's pages are freed (freed at once).
 */

import { fls, getOrder, MAX_OBJS_PER_PAGE, PAGE_SIZE, SLUB_MAX_ORDER } from './config';
import { FrameTable, NO_PFN, PG_SLAB } from './frames';
import { KasanCacheCreateOptions, kasanCacheCreate } from './kasan';

/*
 * Slab.fp[i], object i's entry:
 *   >= 0          free; the index of the next free object of its freelist
 *   FREE_END      free; the last of its freelist (a NULL free pointer)
 *   OBJ_ALLOCATED allocated; its free-pointer word was overwritten since, so memory holds its bytes
 *   <= OBJ_STALE_END allocated; its free-pointer word still encodes the next index it had when it was
 *                 handed out, OBJ_STALE_END - 1 - fp (the allocation fast path does not clear it; freeptr.ts)
 *   FP_CORRUPT    free; a write over its free pointer left a word that decodes to no object of its slab:
 *                 memory holds the word, and the allocator follows it where the kernel would (FREELIST_FOREIGN)
 */
export const FREE_END = -1;
export const OBJ_ALLOCATED = -2;
export const FP_CORRUPT = -3;
export const OBJ_STALE_END = -4;
/** KmemCache.cpuFreelist: the head is a pointer outside the cpu slab's objects (Slub.foreignHead()). */
export const FREELIST_FOREIGN = -3;

/** Whether a Slab.fp entry marks an object in use. */
export function isAllocated(v: number): boolean {
  return v === OBJ_ALLOCATED || v <= OBJ_STALE_END;
}

/** mm/slub.c MIN_PARTIAL / MAX_PARTIAL bounds of s->min_partial. */
const MIN_PARTIAL = 5;
const MAX_PARTIAL = 10;

export interface SlabGeometry {
  /** Bytes of the object the caller asked for (s->object_size). */
  readonly objectSize: number;
  /** Bytes per object slot in the slab (s->size). */
  readonly size: number;
  readonly order: number;
  /** Objects per slab (oo_objects(s->oo)). */
  readonly objects: number;
  /** s->min_partial. */
  readonly minPartial: number;
  /** s->offset: where the free pointer sits in a free object (inside it, or just after it). */
  readonly offset: number;
  /** s->align. */
  readonly align: number;
  /** s->inuse: the bytes of a slot the object uses (object plus an after-object free pointer). */
  readonly inuse: number;
  /** s->red_left_pad: the object starts this far into its slot (SLAB_RED_ZONE; 0 otherwise). */
  readonly redLeftPad: number;
  /**
   * A debug cache's layout (slub_debug.ts), set when the cache has any slab_debug flag (kmem_cache_debug()):
   * such a cache never has a cpu slab or per-CPU partial slabs, and every allocation and free is checked.
   */
  readonly debug: SlubLayoutSizes | undefined;
}

/** What calculate_sizes() decided, from which slabGeometry() derives the order and counts. */
export interface SlubLayoutSizes {
  readonly objectSize: number;
  readonly size: number;
  readonly inuse: number;
  readonly offset: number;
  readonly align: number;
  readonly redLeftPad: number;
}

/** mm/slab_common.c calculate_alignment(): SLAB_HWCACHE_ALIGN aligns to the cache line while the object fits half of it. */
export function calculateAlignment(hwcacheAlign: boolean, align: number, size: number): number {
  const CACHE_LINE = 64; // cache_line_size() on x86-64 and RISC-V (L1_CACHE_BYTES)
  if (hwcacheAlign) {
    let ralign = CACHE_LINE;
    while (size <= ralign / 2) ralign /= 2;
    align = Math.max(align, ralign);
  }
  align = Math.max(align, 8); // arch_slab_minalign(): __alignof__(unsigned long long)
  return Math.ceil(align / 8) * 8;
}

/** order_objects(): how many objects of `size` bytes a slab of 2^order pages holds. */
export function orderObjects(order: number, size: number): number {
  return Math.floor((PAGE_SIZE << order) / size);
}

/** calc_slab_order(): the smallest order in [minOrder, maxOrder] whose leftover is at most slab/fraction. */
function calcSlabOrder(size: number, minOrder: number, maxOrder: number, fraction: number): number {
  let order = minOrder;
  for (; order <= maxOrder; order++) {
    const slabSize = PAGE_SIZE << order;
    if (slabSize % size <= slabSize / fraction) {
      break;
    }
  }
  return order;
}

/** calculate_order() of Linux 6.12 for `size`-byte slots on a machine with `nrCpus` present CPUs. */
export function calculateOrder(size: number, nrCpus: number): number {
  // num_present_cpus() <= 1 falls back to nr_cpu_ids, which is 1 on a one-CPU machine.
  let minObjects = 4 * (fls(nrCpus) + 1);
  const maxObjects = Math.max(orderObjects(SLUB_MAX_ORDER, size), 1);
  minObjects = Math.min(minObjects, maxObjects);
  const minOrder = getOrder(minObjects * size);
  if (orderObjects(minOrder, size) > MAX_OBJS_PER_PAGE) {
    return getOrder(size * MAX_OBJS_PER_PAGE) - 1;
  }
  for (let fraction = 16; fraction > 1; fraction /= 2) {
    const order = calcSlabOrder(size, minOrder, SLUB_MAX_ORDER, fraction);
    if (order <= SLUB_MAX_ORDER) {
      return order;
    }
  }
  return getOrder(size);
}

/**
 * calculate_sizes() without debug flags (mm/slub.c): the object rounded up to a word; the free pointer in the
 * middle of the object (ALIGN_DOWN(object_size / 2, 8)), or after it for SLAB_TYPESAFE_BY_RCU (and a
 * constructor), where it takes a word more; the slot rounded up to the alignment; then calculate_order().
 */
export function slabGeometry(
  objectSize: number,
  align: number,
  nrCpus: number,
  options: { freePointerAfter?: boolean; kasan?: KasanCacheCreateOptions } = {},
): SlabGeometry {
  const word = 8;
  let size = Math.ceil(objectSize / word) * word;
  const inuse = size;
  let offset: number;
  if (options.freePointerAfter) {
    offset = size;
    size += word;
  } else {
    offset = Math.floor(objectSize / 2 / word) * word;
  }
  // kasan_cache_create(): KASAN's metadata and redzone (CONFIG_KASAN_GENERIC), before the slot is aligned.
  if (options.kasan) size = kasanCacheCreate(objectSize, size, options.kasan).size;
  size = Math.ceil(size / align) * align;
  return geometryOf({ objectSize, size, inuse, offset, align, redLeftPad: 0 }, nrCpus);
}

/**
 * The rest of calculate_sizes() and kmem_cache_open() for a slot layout: calculate_order() and
 * set_min_partial(). `debug` marks a debug cache (its layout came from slub_debug.ts).
 */
export function geometryOf(sizes: SlubLayoutSizes, nrCpus: number, debug = false): SlabGeometry {
  const { objectSize, size, inuse, offset, align, redLeftPad } = sizes;
  const order = calculateOrder(size, nrCpus);
  // set_min_partial(s, ilog2(s->size) / 2)
  const minPartial = Math.min(MAX_PARTIAL, Math.max(MIN_PARTIAL, Math.floor(Math.floor(Math.log2(size)) / 2)));
  const objects = orderObjects(order, size);
  // Every geometry has the same fields (debug undefined for a plain cache), so the allocator's hot paths see
  // one object shape whatever caches a machine has.
  return {
    objectSize,
    size,
    order,
    objects,
    minPartial,
    offset,
    align,
    inuse,
    redLeftPad,
    debug: debug ? sizes : undefined,
  };
}

/** SLAB_* cache flags the model knows (emulator bit values; the names are the kernel's). */
export const SLAB_HWCACHE_ALIGN = 1 << 0;
export const SLAB_CACHE_DMA = 1 << 1;
export const SLAB_CACHE_DMA32 = 1 << 2;
export const SLAB_RECLAIM_ACCOUNT = 1 << 3;
export const SLAB_ACCOUNT = 1 << 4;
export const SLAB_KMALLOC = 1 << 5;
export const SLAB_NO_MERGE = 1 << 6;
export const SLAB_TYPESAFE_BY_RCU = 1 << 7;
export const SLAB_PANIC = 1 << 8;
/** The debug flags of slab_debug= (F, Z, P, U, T) and kmem_cache_create(). */
export const SLAB_CONSISTENCY_CHECKS = 1 << 9;
export const SLAB_RED_ZONE = 1 << 10;
export const SLAB_POISON = 1 << 11;
export const SLAB_STORE_USER = 1 << 12;
export const SLAB_TRACE = 1 << 13;
/** SLAB_DEBUG_FLAGS (mm/slab.h): a cache with any of them is a debug cache (kmem_cache_debug()). */
export const SLAB_DEBUG_FLAGS = SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER | SLAB_TRACE | SLAB_CONSISTENCY_CHECKS;
/** SLAB_NEVER_MERGE (mm/slab_common.c) as far as the modelled flags go. */
export const SLAB_NEVER_MERGE =
  SLAB_TYPESAFE_BY_RCU | SLAB_NO_MERGE | SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER | SLAB_TRACE;
/** SLAB_MERGE_SAME: flags a cache must share with the cache it merges into. */
export const SLAB_MERGE_SAME = SLAB_RECLAIM_ACCOUNT | SLAB_CACHE_DMA | SLAB_CACHE_DMA32 | SLAB_ACCOUNT;

/**
 * A slab constructor (s->ctor): called by allocate_slab() -> setup_object() on each object of a new slab, so
 * objects come out of kmem_cache_alloc() already constructed and must go back in that state (type-stable
 * memory). `name` and `size` are the function's symbol and length, for the %pS of /sys/kernel/slab/.../ctor.
 */
export interface SlabCtor {
  readonly name: string;
  readonly size: number;
  run(object: number): void;
}

export class KmemCache {
  readonly id: number;
  readonly name: string;
  readonly geometry: SlabGeometry;
  /** s->flags (SLAB_*). */
  flags = 0;
  /** s->allocflags: GFP bits every slab allocation of this cache adds (__GFP_DMA, __GFP_RECLAIMABLE...). */
  allocflags = 0;
  /** s->refcount: kmem_cache_create() calls this cache stands for (aliases merged into it add one each). */
  refcount = 1;
  /** Names of the caches merged into this one (their /sys/kernel/slab links). */
  readonly aliases: string[] = [];
  /** s->ctor: run on every object when its slab is made (setup_object), never on allocation. */
  ctor: SlabCtor | undefined;
  /** kmem_cache_destroy() removed it: gone from slab_caches and /proc/slabinfo. */
  destroyed = false;
  /** kmem_cache_cpu per CPU: the cpu slab (head pfn or NO_PFN) and the lockless freelist (object index). */
  readonly cpuSlab: Int32Array;
  readonly cpuFreelist: Int32Array;
  /** The slab id (row in Slub.pool) of each CPU's slab, NO_SLAB when none: cpuSlab for the hot paths. */
  readonly cpuSlabId: Int32Array;
  /** kmem_cache_node: the partial list (head/tail pfn; slabs chained by SLAB_LIST_NEXT/PREV) and counters. */
  partialHead = NO_PFN;
  partialTail = NO_PFN;
  /** The same head and tail as slab ids (NO_SLAB for an empty list), the list Slub walks. */
  partialHeadSlab = 0;
  partialTailSlab = 0;
  nrPartial = 0;
  nrSlabs = 0;
  totalObjects = 0;
  /** Objects handed out and not yet freed (what the scenario holds). */
  liveObjects = 0;

  /** kmem_cache_cpu.partial per CPU: the head pfn of its per-CPU partial list (slabs chained by Slab.next). */
  readonly cpuPartial: Int32Array;
  /** The same heads as slab ids (NO_SLAB for an empty list), the list Slub walks (SLAB_NEXT). */
  readonly cpuPartialSlab: Int32Array;
  /** s->cpu_partial (objects) and s->cpu_partial_slabs, from set_cpu_partial(). */
  readonly cpuPartialObjects: number;
  readonly cpuPartialSlabs: number;

  constructor(id: number, name: string, geometry: SlabGeometry, cpus: number) {
    this.id = id;
    this.name = name;
    this.geometry = geometry;
    this.cpuSlab = new Int32Array(cpus).fill(NO_PFN);
    this.cpuFreelist = new Int32Array(cpus).fill(FREE_END);
    this.cpuSlabId = new Int32Array(cpus); // NO_SLAB
    this.cpuPartial = new Int32Array(cpus).fill(NO_PFN);
    this.cpuPartialSlab = new Int32Array(cpus); // NO_SLAB
    // set_cpu_partial() (CONFIG_SLUB_CPU_PARTIAL): objects by slot size; slub_set_cpu_partial() turns them
    // into slabs assuming half-full slabs: DIV_ROUND_UP(nr_objects * 2, oo_objects(s->oo)).
    // kmem_cache_has_cpu_partial() is false for a debug cache: nr_objects = 0.
    const size = geometry.size;
    this.cpuPartialObjects =
      geometry.debug !== undefined ? 0 : size >= PAGE_SIZE ? 6 : size >= 1024 ? 24 : size >= 256 ? 52 : 120;
    this.cpuPartialSlabs = Math.ceil((this.cpuPartialObjects * 2) / geometry.objects);
  }
}

/** Where slab pages come from: the machine's page allocator (allocate_slab, __free_slab). */
export interface SlabPageSource {
  /** 2^order compound frames for a slab; NO_PFN when the page allocator fails. */
  allocSlabPages(order: number, gfp: number, cpu: number): number;
  freeSlabPages(pfn: number, order: number, cpu: number): void;
}

/** What one step of the slow paths did, so the machine can record events. */
/** Where a slab is after a SlabMove. */
export enum SlabState {
  /** Some CPU's cpu slab (frozen). */
  CpuSlab = 1,
  /** On a CPU's per-CPU partial list. */
  CpuPartial,
  /** On the node partial list. */
  NodePartial,
  /** Full, on no list. */
  Full,
}

export const SLAB_STATE_NAMES: Readonly<Record<SlabState, string>> = {
  [SlabState.CpuSlab]: 'cpu slab',
  [SlabState.CpuPartial]: 'cpu partial',
  [SlabState.NodePartial]: 'node partial',
  [SlabState.Full]: 'full',
};

/**
 * The allocator code path that changed a slab's state, recorded with each SlabNew, SlabMove and SlabDiscard
 * event so a debugger can show SLUB's own call stack (SLAB_PATH_FRAMES) at an allocation event.
 */
export enum SlabPath {
  /** ___slab_alloc(): the first slab of the CPU's partial list becomes the cpu slab (slub_percpu_partial). */
  AllocCpuPartial = 1,
  /** ___slab_alloc(): get_freelist() found no remote frees; the full cpu slab leaves the CPU. */
  AllocFullOff,
  /** get_partial_node(): the node list's first slab becomes the cpu slab. */
  GetPartialNode,
  /** get_partial_node(): a further node slab goes to the CPU's partial list, put_cpu_partial(s, slab, 0). */
  GetPartialNodeMore,
  /** new_slab() -> allocate_slab(): a new slab becomes the cpu slab. */
  NewSlab,
  /** __slab_free(): a slab that was full goes to the CPU's partial list, put_cpu_partial(s, slab, 1). */
  FreeToCpuPartial,
  /** __slab_free() -> put_cpu_partial() -> __put_partials(): the full per-CPU list goes to the node. */
  FreeDrain,
  /** __slab_free(): an empty node-list slab is freed while the node holds min_partial slabs. */
  FreeDiscard,
  /** kmem_cache_shrink() -> flush_all() -> flush_cpu_slab() -> deactivate_slab(): the cpu slab leaves the CPU. */
  FlushDeactivate,
  /** kmem_cache_shrink() -> flush_all() -> flush_cpu_slab() -> put_partials_cpu() -> __put_partials(). */
  FlushPutPartials,
  /** kmem_cache_shrink() -> __kmem_cache_do_shrink(): empty slabs freed, the node list sorted. */
  Shrink,
  /** kmem_cache_destroy() -> __kmem_cache_shutdown() -> free_partial(). */
  Shutdown,
  /** kmem_cache_destroy() -> __kmem_cache_shutdown() -> flush_all_cpus_locked() ... deactivate_slab(). */
  ShutdownDeactivate,
  /** kmem_cache_destroy() -> __kmem_cache_shutdown() -> flush_all_cpus_locked() ... __put_partials(). */
  ShutdownPutPartials,
  /** A debug cache: alloc_single_from_partial() / _new_slab() took the slab's last free object (add_full). */
  DebugAllocFull,
  /** A debug cache: alloc_single_from_new_slab() put the new slab on the node list (add_partial). */
  DebugNewSlab,
  /** A debug cache: free_to_partial_list() moved a full slab to the node list's tail. */
  DebugFreeToPartial,
}

const ALLOC_SLOW = ['___slab_alloc', '__slab_alloc', '__slab_alloc_node', 'slab_alloc_node'];
const FREE_SLOW = ['__slab_free', 'do_slab_free', 'slab_free'];
// flush_all_cpus_locked() queues flush_cpu_slab() on each CPU's workqueue and waits: the chain is the logical one.
const SHRINK_FLUSH = [
  'flush_cpu_slab',
  'flush_all_cpus_locked',
  'flush_all',
  '__kmem_cache_shrink',
  'kmem_cache_shrink',
];
const SHUTDOWN_FLUSH = [
  'flush_cpu_slab',
  'flush_all_cpus_locked',
  '__kmem_cache_shutdown',
  'shutdown_cache',
  'kmem_cache_destroy',
];

/**
 * Each path's kernel functions, innermost first, up to the allocator's entry (slab_alloc_node, slab_free,
 * flush_all, kmem_cache_shrink, kmem_cache_destroy); the caller above that (kmalloc, kfree, ...) is the
 * event's to say (callpath.ts). mm/slub.c of 6.12.
 */
export const SLAB_PATH_FRAMES: Readonly<Record<SlabPath, readonly string[]>> = {
  [SlabPath.AllocCpuPartial]: ALLOC_SLOW,
  [SlabPath.AllocFullOff]: ALLOC_SLOW,
  [SlabPath.GetPartialNode]: ['get_partial_node', 'get_partial', ...ALLOC_SLOW],
  [SlabPath.GetPartialNodeMore]: ['put_cpu_partial', 'get_partial_node', 'get_partial', ...ALLOC_SLOW],
  [SlabPath.NewSlab]: ['allocate_slab', 'new_slab', ...ALLOC_SLOW],
  [SlabPath.FreeToCpuPartial]: ['put_cpu_partial', ...FREE_SLOW],
  [SlabPath.FreeDrain]: ['__put_partials', 'put_cpu_partial', ...FREE_SLOW],
  [SlabPath.FreeDiscard]: FREE_SLOW,
  [SlabPath.FlushDeactivate]: ['deactivate_slab', 'flush_slab', ...SHRINK_FLUSH],
  [SlabPath.FlushPutPartials]: ['__put_partials', 'put_partials_cpu', ...SHRINK_FLUSH],
  [SlabPath.Shrink]: ['__kmem_cache_do_shrink', '__kmem_cache_shrink', 'kmem_cache_shrink'],
  [SlabPath.Shutdown]: ['free_partial', '__kmem_cache_shutdown', 'shutdown_cache', 'kmem_cache_destroy'],
  [SlabPath.ShutdownDeactivate]: ['deactivate_slab', 'flush_slab', ...SHUTDOWN_FLUSH],
  [SlabPath.ShutdownPutPartials]: ['__put_partials', 'put_partials_cpu', ...SHUTDOWN_FLUSH],
  [SlabPath.DebugAllocFull]: [
    'add_full',
    'alloc_single_from_partial',
    'get_partial_node',
    'get_partial',
    ...ALLOC_SLOW,
  ],
  [SlabPath.DebugNewSlab]: ['add_partial', 'alloc_single_from_new_slab', ...ALLOC_SLOW],
  [SlabPath.DebugFreeToPartial]: ['add_partial', 'free_to_partial_list', ...FREE_SLOW],
};

/** Paths whose frames end inside slab_alloc_node / slab_free: the event's caller adds the API above them. */
export function slabPathSide(path: SlabPath): 'alloc' | 'free' | 'complete' {
  if (path <= SlabPath.NewSlab || path === SlabPath.DebugAllocFull || path === SlabPath.DebugNewSlab) return 'alloc';
  if (path <= SlabPath.FreeDiscard || path === SlabPath.DebugFreeToPartial) return 'free';
  return 'complete';
}

export interface SlabHooks {
  slabNew(cache: KmemCache, pfn: number): void;
  /** The slab left the machine's view of SLUB (discard_slab), by `path`, on CPU cpu. */
  slabDiscard(cache: KmemCache, pfn: number, path: SlabPath, cpu: number): void;
  /** The slab changed state (SlabState) by `path`; cpu is the CPU whose lists changed. */
  slabMove(cache: KmemCache, pfn: number, state: SlabState, path: SlabPath, cpu: number): void;
  /** The debug work of a debug cache (CONFIG_SLUB_DEBUG), when the machine does it; see SlubDebugHooks. */
  readonly debug?: SlubDebugHooks;
  /** Free pointers in memory, for freelists a write corrupted (FP_CORRUPT, FREELIST_FOREIGN). */
  readonly memory?: SlubMemoryHooks;
}

/** What the allocator needs of memory once a freelist leaves its index lists (a corrupted free pointer). */
export interface SlubMemoryHooks {
  /** get_freepointer(): the pointer object `index` of `slab` holds in memory (0n for NULL), decoded. */
  readFreePointer(cache: KmemCache, slab: Slab, index: number): bigint;
  /** set_freepointer(): stores ptr, encoded, into object `index`'s free-pointer word. */
  writeFreePointer(cache: KmemCache, slab: Slab, index: number, ptr: bigint): void;
  /**
   * An allocation takes `ptr` (a freelist head outside the index lists): its physical address and the next
   * pointer read at its free-pointer word; undefined when that read faults (the machine has oopsed).
   */
  foreignObject(cache: KmemCache, ptr: bigint): { phys: number; next: bigint } | undefined;
}

/**
 * What a debug cache does besides the list work (mm/slub.c, CONFIG_SLUB_DEBUG): the bytes of new slabs, the
 * checks of alloc_debug_processing() and free_debug_processing(), and those of free_slab(). Object indices
 * are of `slab`; a check that fails has printed its report.
 */
export interface SlubDebugHooks {
  /** allocate_slab(): setup_slab_debug() and setup_object_debug() of every object, before any constructor. */
  newSlab(cache: KmemCache, slab: Slab): void;
  /** alloc_debug_processing() of object `index`, just taken off the slab freelist; false: a check failed. */
  alloc(cache: KmemCache, slab: Slab, index: number): boolean;
  /** free_debug_processing() of the chain head..tail (cnt objects); false: nothing may be freed. */
  free(cache: KmemCache, slab: Slab, head: number, tail: number, cnt: number): boolean;
  /** free_slab() with SLAB_CONSISTENCY_CHECKS: slab_pad_check() and check_object() of every object. */
  discard(cache: KmemCache, slab: Slab): void;
}

export type SlabFreeError = 'double free' | 'not the start of an object' | 'not a slab object';
/** Slub.objectIndex(): the address is not the start of an object of its slab. */
export const OBJECT_NOT_START = -1;
/** Slub.objectIndex(): the object is already free. */
export const OBJECT_DOUBLE_FREE = -2;

/** An allocated object: its cache, the head pfn of its slab and its index in the slab. */
export interface SlabObject {
  readonly cache: KmemCache;
  readonly slab: number;
  readonly index: number;
  /** The slab's free pointers (looked up once for the whole free). */
  readonly fp: Int32Array;
}

/** A slab id (a row offset in Slub.pool) that is no slab: empty per-CPU lists, frames without a slab. */
export const NO_SLAB = 0;

/*
 * The words of a slab's row in Slub.pool, from its id: struct slab's fields, then the free pointers.
 */
/** slab->inuse: objects not on the slab freelist (all of them while the slab is a cpu slab). */
export const SLAB_INUSE = 0;
/** slab->freelist: the first free object index, FREE_END when none. */
export const SLAB_FREELIST = 1;
/** slab->frozen: 1 while the slab is some CPU's cpu slab, else 0. */
export const SLAB_FROZEN = 2;
/** The CPU whose per-CPU partial list holds the slab (not frozen, since 6.8), or -1. */
export const SLAB_CPU_PARTIAL = 3;
/** slab->next: the id of the next slab of that per-CPU partial list, NO_SLAB at its end. */
export const SLAB_NEXT = 4;
/** slab->slabs: on the head of a per-CPU partial list, the slabs the list holds. */
export const SLAB_SLABS = 5;
/** slab->slab_cache, as the cache id. */
export const SLAB_CACHE = 6;
/** The head pfn (slab_page(slab)). */
export const SLAB_HEAD = 7;
/** slab->slab_list on the node partial list: the ids of the next and previous slabs, NO_SLAB at its ends. */
export const SLAB_LIST_NEXT = 8;
export const SLAB_LIST_PREV = 9;
/** Object i's free-pointer entry is word SLAB_FP + i (see Slab.fp). */
export const SLAB_FP = 10;
/** Rows start and end on this many words (64 bytes, a cache line of the host). */
const ROW_ALIGN = 16;

/** Where a Slab handle reads its row: the slab table of Slub, or a discarded slab's own copy. */
interface SlabStore {
  readonly pool: Int32Array;
}

/**
 * struct slab (it overlays the head page's struct page in the kernel), as a handle onto its row of the slab
 * table (Slub.pool, see the top of this file). The hot paths of Slub use rows by id; views, checks and tests
 * use these handles, one per slab (Slub.slabs), whose fields read and write the row.
 */
export class Slab {
  /** The pool fp was cut from, so the view is made again only after the pool grew. */
  private fpPool: Int32Array | undefined;
  private fpView: Int32Array | undefined;

  constructor(
    private store: SlabStore,
    /** The slab's id: its row's offset in the slab table (while the slab exists). */
    private row: number,
    /** slab->slab_cache, as the cache id. */
    readonly cache: number,
    /** The head pfn (slab_page(slab)). */
    readonly head: number,
    /** Objects of the slab (oo_objects(s->oo)): the length of fp. */
    private readonly objects: number,
  ) {}

  /** The slab's id in the slab table. */
  get id(): number {
    return this.row;
  }

  /** slab->inuse: objects not on the slab freelist (all of them while the slab is a cpu slab). */
  get inuse(): number {
    return this.store.pool[this.row + SLAB_INUSE]!;
  }
  set inuse(v: number) {
    this.store.pool[this.row + SLAB_INUSE] = v;
  }

  /** slab->freelist: the first free object index, FREE_END when none. */
  get freelist(): number {
    return this.store.pool[this.row + SLAB_FREELIST]!;
  }
  set freelist(v: number) {
    this.store.pool[this.row + SLAB_FREELIST] = v;
  }

  /** slab->frozen: the slab is some CPU's cpu slab. */
  get frozen(): boolean {
    return this.store.pool[this.row + SLAB_FROZEN] !== 0;
  }

  /** On CPU n's per-CPU partial list (not frozen, since 6.8), or -1. */
  get cpuPartial(): number {
    return this.store.pool[this.row + SLAB_CPU_PARTIAL]!;
  }

  /** slab->next: the head pfn of the next slab of that per-CPU partial list, NO_PFN at its end. */
  get next(): number {
    const pool = this.store.pool;
    const next = pool[this.row + SLAB_NEXT]!;
    return next === NO_SLAB ? NO_PFN : pool[next + SLAB_HEAD]!;
  }

  /** slab->slabs: on the head of a per-CPU partial list, the slabs the list holds. */
  get slabsOnList(): number {
    return this.store.pool[this.row + SLAB_SLABS]!;
  }

  /**
   * Each object's entry: its next free object, or an allocated marker (see OBJ_STALE_END). A view of the
   * row: writes go to the slab table.
   */
  get fp(): Int32Array {
    const pool = this.store.pool;
    if (this.fpPool !== pool) {
      this.fpPool = pool;
      this.fpView = pool.subarray(this.row + SLAB_FP, this.row + SLAB_FP + this.objects);
    }
    return this.fpView!;
  }

  /** discard_slab(): the row goes back to the table; the handle keeps a copy of it (off every list). */
  detach(): void {
    const start = this.row;
    const copy = this.store.pool.slice(start, start + SLAB_FP + this.objects);
    // On no list any more: links to other rows would not resolve in the copy.
    copy[SLAB_NEXT] = copy[SLAB_LIST_NEXT] = copy[SLAB_LIST_PREV] = NO_SLAB;
    this.store = { pool: copy };
    this.row = 0;
  }
}

/** Keys of Slub.foreign: more than the CPUs a machine may have. */
const FOREIGN_KEY = 1024;

/** log2 of the frames per leaf of Slub's slab directory: a page block (pageblock_order). */
const SLAB_DIR_SHIFT = 9;
const SLAB_DIR_SIZE = 1 << SLAB_DIR_SHIFT;
const SLAB_DIR_MASK = SLAB_DIR_SIZE - 1;

/** Words of the slab table and of the directory's leaves when a machine boots; both double when full. */
const POOL_INITIAL = 1 << 14;
const LEAVES_INITIAL = 4 * SLAB_DIR_SIZE;

export class Slub implements SlabStore {
  /** Every slab's handle, keyed by its head pfn. */
  readonly slabs = new Map<number, Slab>();
  /** Foreign CPU freelist heads (FREELIST_FOREIGN), by cache id * FOREIGN_KEY + cpu. */
  private readonly foreign = new Map<number, bigint>();
  readonly caches: KmemCache[] = [];
  /**
   * The slab table: one row per slab (see the top of this file). Replaced by a larger copy when full (only
   * newSlab() grows it), so hold it no longer than a call that cannot make a slab.
   */
  pool = new Int32Array(POOL_INITIAL);
  /** Words of pool handed out so far (rows past it were never used); row 0 is NO_SLAB's. */
  private poolTop = ROW_ALIGN;
  /** Discarded rows by length in words: the first one's id; each free row's word 0 links the next. */
  private readonly freeRows = new Map<number, number>();
  /** The slab directory: the offset in leaves of each page block's leaf (0: the all-zero leaf, no slabs). */
  private readonly dir: Int32Array;
  /** The directory's leaves, SLAB_DIR_SIZE slab ids each; the first one stays all zero. */
  private leaves = new Int32Array(LEAVES_INITIAL);
  private leavesTop = SLAB_DIR_SIZE;
  /** Offsets of leaves given back (their entries are all zero). */
  private readonly freeLeaves: number[] = [];
  /** Slab frames per leaf of the directory. */
  private readonly dirUse: Uint16Array;

  constructor(
    private readonly frames: FrameTable,
    private readonly pages: SlabPageSource,
    private readonly hooks: SlabHooks,
  ) {
    const blocks = (frames.count >>> SLAB_DIR_SHIFT) + 1;
    this.dir = new Int32Array(blocks);
    this.dirUse = new Uint16Array(blocks);
  }

  /** The handle of the slab holding frame pfn (an integer, in the frame table or not), or undefined when it is not slab memory. */
  slabAt(pfn: number): Slab | undefined {
    if (!(pfn >= 0 && pfn < this.frames.count)) return undefined;
    const id = this.slabIdAt(pfn);
    return id === NO_SLAB ? undefined : this.slabs.get(this.pool[id + SLAB_HEAD]!);
  }

  /** The id of the slab holding frame pfn (an integer in [0, frames.count)), or NO_SLAB. */
  slabIdAt(pfn: number): number {
    return this.leaves[this.dir[pfn >>> SLAB_DIR_SHIFT]! + (pfn & SLAB_DIR_MASK)]!;
  }

  /** The head frame of slab `id` (a slab that exists). */
  slabHead(id: number): number {
    return this.pool[id + SLAB_HEAD]!;
  }

  /** The cache of slab `id` (a slab that exists). */
  slabCache(id: number): KmemCache {
    return this.caches[this.pool[id + SLAB_CACHE]!]!;
  }

  /** The handle of slab `id` (a slab that exists). */
  private handle(id: number): Slab {
    return this.slabs.get(this.pool[id + SLAB_HEAD]!)!;
  }

  createCache(name: string, geometry: SlabGeometry, cpus: number): KmemCache {
    const cache = new KmemCache(this.caches.length, name, geometry, cpus);
    this.caches.push(cache);
    return cache;
  }

  /** slab_alloc_node(): the physical address of a fresh object, or -1 when no slab could be allocated. */
  alloc(cache: KmemCache, cpu: number, gfp = 0): number {
    const obj = cache.cpuFreelist[cpu]!;
    if (obj >= 0) {
      const pool = this.pool;
      const at = cache.cpuSlabId[cpu]! + SLAB_FP + obj;
      const next = pool[at]!;
      if (next < FREE_END) return this.allocCorrupt(cache, cpu, obj);
      cache.cpuFreelist[cpu] = next;
      pool[at] = OBJ_STALE_END - 1 - next; // allocated; its free-pointer word still encodes next
      cache.liveObjects++;
      return cache.cpuSlab[cpu]! * PAGE_SIZE + obj * cache.geometry.size;
    }
    return this.slowAlloc(cache, cpu, gfp);
  }

  /**
   * Finds the object a free of `phys` refers to, or why the free is invalid. Changes nothing, so the
   * caller can record the free (kfree's tracepoint fires first in the kernel too) before doing it.
   */
  lookupObject(phys: number): SlabObject | SlabFreeError {
    const head = this.slabHeadOf(Math.floor(phys / PAGE_SIZE));
    if (head === NO_PFN) {
      return 'not a slab object';
    }
    const slab = this.slabs.get(head)!;
    const index = this.objectIndex(slab, phys);
    if (index < 0) {
      return index === OBJECT_DOUBLE_FREE ? 'double free' : 'not the start of an object';
    }
    return { cache: this.caches[slab.cache]!, slab: slab.head, index, fp: slab.fp };
  }

  /**
   * lookupObject() without the object: the index of the object at phys in `slab` (the slab holding phys), or
   * OBJECT_NOT_START / OBJECT_DOUBLE_FREE. Changes nothing.
   */
  objectIndex(slab: Slab, phys: number): number {
    return this.objectIndexOf(this.caches[slab.cache]!, slab.id, phys);
  }

  /** objectIndex() by slab id, for kfree's hot path: `cache` is the slab's (slabCache(id)). */
  objectIndexOf(cache: KmemCache, id: number, phys: number): number {
    const g = cache.geometry;
    const pool = this.pool;
    // A slab spans at most 2^MAX_PAGE_ORDER pages, so the offset and index are small non-negative integers.
    const offset = phys - pool[id + SLAB_HEAD]! * PAGE_SIZE - g.redLeftPad;
    const size = g.size;
    const index = (offset / size) | 0;
    if (offset < 0 || offset - index * size !== 0 || index >= g.objects) {
      return OBJECT_NOT_START;
    }
    return isAllocated(pool[id + SLAB_FP + index]!) ? index : OBJECT_DOUBLE_FREE;
  }

  /** do_slab_free(): the CPU's own slab takes the object on its lockless freelist; others go to __slab_free. */
  freeObject(obj: SlabObject, cpu: number): void {
    this.freeIndex(obj.cache, this.slabIdAt(obj.slab), obj.index, cpu);
  }

  /** freeObject() of object `index` of slab `id`, a slab of `cache` (from objectIndexOf()). */
  freeIndex(cache: KmemCache, id: number, index: number, cpu: number): void {
    cache.liveObjects--;
    if (cache.cpuSlabId[cpu] === id) {
      const head = cache.cpuFreelist[cpu]!;
      if (head === FREELIST_FOREIGN) this.linkForeign(cache, id, index, cpu);
      this.pool[id + SLAB_FP + index] = head;
      cache.cpuFreelist[cpu] = index;
      return;
    }
    this.slabFreeSlow(cache, id, index, index, 1, cpu);
  }

  /**
   * do_slab_free() of a detached freelist (kmem_cache_free_bulk's build_detached_freelist): cnt objects of one
   * slab, chained head -> ... -> tail through fp (tail's entry is about to be set). The CPU's own slab splices
   * the chain onto its lockless freelist; any other slab takes it in one __slab_free(), inuse -= cnt.
   */
  freeChain(cache: KmemCache, slab: Slab, head: number, tail: number, cnt: number, cpu: number): void {
    const id = slab.id;
    cache.liveObjects -= cnt;
    if (cache.cpuSlabId[cpu] === id) {
      const first = cache.cpuFreelist[cpu]!;
      if (first === FREELIST_FOREIGN) this.linkForeign(cache, id, tail, cpu);
      this.pool[id + SLAB_FP + tail] = first;
      cache.cpuFreelist[cpu] = head;
      return;
    }
    this.slabFreeSlow(cache, id, head, tail, cnt, cpu);
  }

  /**
   * set_freepointer(object, freelist) onto a foreign head: the word in memory is the truth from now on (the
   * caller stores FREELIST_FOREIGN, which is FP_CORRUPT, as the object's entry).
   */
  private linkForeign(cache: KmemCache, id: number, index: number, cpu: number): void {
    this.hooks.memory?.writeFreePointer(cache, this.handle(id), index, this.foreignHead(cache, cpu));
  }

  /** lookupObject() then freeObject(): frees the object at phys or says why it cannot. */
  free(phys: number, cpu: number): SlabFreeError | undefined {
    const obj = this.lookupObject(phys);
    if (typeof obj === 'string') {
      return obj;
    }
    this.freeObject(obj, cpu);
    return undefined;
  }

  /** The cache that owns the object at phys, or undefined. */
  cacheOf(phys: number): KmemCache | undefined {
    const pfn = Math.floor(phys / PAGE_SIZE);
    return this.slabHeadOf(pfn) === NO_PFN ? undefined : this.slabCache(this.slabIdAt(pfn));
  }

  /** The head pfn of the slab containing pfn, or NO_PFN when pfn is not slab memory. */
  slabHeadOf(pfn: number): number {
    if (pfn < 0 || pfn >= this.frames.count || (this.frames.flags[pfn]! & PG_SLAB) === 0) {
      return NO_PFN;
    }
    return this.pool[this.slabIdAt(pfn) + SLAB_HEAD]!;
  }

  /** Free objects on the node partial list (count_partial(n, count_free)). */
  partialFreeObjects(cache: KmemCache): number {
    const pool = this.pool;
    let free = 0;
    for (let id = cache.partialHeadSlab; id !== NO_SLAB; id = pool[id + SLAB_LIST_NEXT]!) {
      free += cache.geometry.objects - pool[id + SLAB_INUSE]!;
    }
    return free;
  }

  /**
   * deactivate_slab() of CPU cpu's slab (flush_slab, as kmem_cache_shrink's flush_all does): the objects on
   * the CPU's freelist go back to the slab's freelist; the slab goes to the node partial list (at the head,
   * at the tail when it had remote frees), is discarded when empty and the node already holds min_partial
   * partial slabs, or stays on no list when full.
   */
  deactivateCpuSlab(
    cache: KmemCache,
    cpu: number,
    path: SlabPath.FlushDeactivate | SlabPath.ShutdownDeactivate = SlabPath.FlushDeactivate,
  ): void {
    const slab = cache.cpuSlab[cpu]!;
    if (slab === NO_PFN) return;
    const id = cache.cpuSlabId[cpu]!;
    const pool = this.pool;
    const fp = id + SLAB_FP;
    const remoteFrees = pool[id + SLAB_FREELIST] !== FREE_END;
    let n = 0;
    let last = FREE_END;
    // A corrupted chain ends where its indices end (the kernel would follow the bad pointer further).
    for (let i = cache.cpuFreelist[cpu]!; i >= 0 && n <= cache.geometry.objects; i = pool[fp + i]!) {
      last = i;
      n++;
    }
    if (last !== FREE_END) {
      pool[fp + last] = pool[id + SLAB_FREELIST]!;
      pool[id + SLAB_FREELIST] = cache.cpuFreelist[cpu]!;
    }
    const inuse = (pool[id + SLAB_INUSE] -= n);
    pool[id + SLAB_FROZEN] = 0;
    cache.cpuSlab[cpu] = NO_PFN;
    cache.cpuSlabId[cpu] = NO_SLAB;
    cache.cpuFreelist[cpu] = FREE_END;
    if (inuse === 0 && cache.nrPartial >= cache.geometry.minPartial) {
      this.discardSlab(cache, id, cpu, path);
    } else if (pool[id + SLAB_FREELIST] !== FREE_END) {
      if (remoteFrees) this.addPartialTail(cache, id);
      else this.addPartialHead(cache, id);
      this.hooks.slabMove(cache, slab, SlabState.NodePartial, path, cpu);
    } else {
      this.hooks.slabMove(cache, slab, SlabState.Full, path, cpu);
    }
  }

  /**
   * __kmem_cache_shrink(): flush every CPU's slab, free every empty slab on the partial list whatever
   * min_partial says, and order the rest fullest first (slabs with fewer free objects promoted to the front,
   * up to SHRINK_PROMOTE_MAX = 32 free). Returns the slabs freed.
   */
  shrink(cache: KmemCache, cpu: number, path: SlabPath.Shrink | SlabPath.Shutdown = SlabPath.Shrink): number {
    for (let c = 0; c < cache.cpuSlab.length; c++) this.flushCpu(cache, c, path === SlabPath.Shutdown);
    const slabs = this.partialSlabIds(cache);
    for (const id of slabs) this.removePartial(cache, id);
    const promote: number[][] = Array.from({ length: 32 }, () => []);
    const rest: number[] = [];
    const discard: number[] = [];
    for (const id of slabs) {
      const free = cache.geometry.objects - this.pool[id + SLAB_INUSE]!;
      if (free === cache.geometry.objects) {
        discard.unshift(id); // list_move() to the head of the discard list
      } else if (free <= 32) {
        promote[free - 1]!.unshift(id); // list_move() to the bucket's head
      } else {
        rest.push(id);
      }
    }
    for (const id of [...promote.flat(), ...rest]) this.addPartialTail(cache, id);
    // The list is rebuilt under the lock; the empty slabs are freed after it, last found first.
    for (const id of discard) this.discardSlab(cache, id, cpu, path);
    return discard.length;
  }

  /** Head pfns of the node partial list, in list order (bounded as partialSlabIds()). */
  partialSlabs(cache: KmemCache): number[] {
    return this.partialSlabIds(cache).map((id) => this.pool[id + SLAB_HEAD]!);
  }

  /** Ids of the node partial list's slabs, in list order (bounded: a looping list stops past slabs.size). */
  private partialSlabIds(cache: KmemCache): number[] {
    const out: number[] = [];
    const pool = this.pool;
    let id = cache.partialHeadSlab;
    while (id !== NO_SLAB && out.length <= this.slabs.size) {
      out.push(id);
      id = pool[id + SLAB_LIST_NEXT]!;
    }
    return out;
  }

  /**
   * ___slab_alloc() (6.12): the CPU freelist is empty. Take the cpu slab's remote frees (get_freelist); when
   * there are none the full slab leaves the CPU, on no list. Then the first slab of the CPU's partial list;
   * then get_partial_node(): the node list's first slab becomes the cpu slab and, while the CPU's partial
   * list may grow, the next ones move there (put_cpu_partial without drain, up to cpu_partial_slabs / 2 + 1 of
   * them); then a new slab.
   */
  private slowAlloc(cache: KmemCache, cpu: number, gfp: number): number {
    if (cache.geometry.debug !== undefined) return this.debugAlloc(cache, cpu, gfp);
    if (cache.cpuFreelist[cpu] === FREELIST_FOREIGN) return this.allocForeign(cache, cpu);
    let pool = this.pool;
    let id = cache.cpuSlabId[cpu]!;
    if (id !== NO_SLAB && pool[id + SLAB_FREELIST] === FREE_END) {
      // get_freelist() found nothing: deactivate_slab() of a full slab: unfrozen, tracked by no list.
      pool[id + SLAB_FROZEN] = 0;
      cache.cpuSlab[cpu] = NO_PFN;
      cache.cpuSlabId[cpu] = NO_SLAB;
      this.hooks.slabMove(cache, pool[id + SLAB_HEAD]!, SlabState.Full, SlabPath.AllocFullOff, cpu);
      id = NO_SLAB;
    }
    if (id === NO_SLAB) {
      let slab: number;
      id = cache.cpuPartialSlab[cpu]!;
      if (id !== NO_SLAB) {
        // The next slab becomes the list's head; its SLAB_SLABS already counts it and the slabs after it
        // (put_cpu_partial set it when that slab was pushed, and the list only changes at its head).
        const next = pool[id + SLAB_NEXT]!;
        cache.cpuPartialSlab[cpu] = next;
        cache.cpuPartial[cpu] = next === NO_SLAB ? NO_PFN : pool[next + SLAB_HEAD]!;
        pool[id + SLAB_NEXT] = NO_SLAB;
        pool[id + SLAB_CPU_PARTIAL] = -1;
        pool[id + SLAB_SLABS] = 0;
        slab = pool[id + SLAB_HEAD]!;
        this.hooks.slabMove(cache, slab, SlabState.CpuSlab, SlabPath.AllocCpuPartial, cpu);
      } else if (cache.partialHeadSlab !== NO_SLAB) {
        id = this.takePartial(cache);
        slab = pool[id + SLAB_HEAD]!;
        this.hooks.slabMove(cache, slab, SlabState.CpuSlab, SlabPath.GetPartialNode, cpu);
        const max = Math.floor(cache.cpuPartialSlabs / 2);
        let moved = 0;
        while (cache.partialHeadSlab !== NO_SLAB) {
          this.putCpuPartial(cache, this.takePartial(cache), cpu, SlabPath.GetPartialNodeMore);
          if (++moved > max) break;
        }
      } else {
        slab = this.newSlab(cache, cpu, gfp);
        if (slab === NO_PFN) return -1;
        pool = this.pool; // newSlab() may have grown the slab table
        id = this.slabIdAt(slab);
      }
      pool[id + SLAB_FROZEN] = 1;
      cache.cpuSlab[cpu] = slab;
      cache.cpuSlabId[cpu] = id;
    }
    // get_freelist(): the whole slab freelist moves to the CPU; the slab counts as fully in use.
    cache.cpuFreelist[cpu] = pool[id + SLAB_FREELIST]!;
    pool[id + SLAB_FREELIST] = FREE_END;
    pool[id + SLAB_INUSE] = cache.geometry.objects;
    return this.alloc(cache, cpu, gfp);
  }

  /**
   * ___slab_alloc() of a debug cache (6.12): no cpu slab. get_partial_node() takes one object from the first
   * node-list slab whose object passes alloc_single_from_partial(); a slab it fills goes to the full state. Else
   * a new slab gives one object (alloc_single_from_new_slab) and goes to the node list's head, or is full.
   * A failed check marks the slab's objects all used and the search goes on (goto new_objects).
   */
  private debugAlloc(cache: KmemCache, cpu: number, gfp: number): number {
    const objects = cache.geometry.objects;
    for (let id = cache.partialHeadSlab; id !== NO_SLAB;) {
      const next = this.pool[id + SLAB_LIST_NEXT]!;
      const record = this.handle(id);
      const index = this.allocSingle(cache, record);
      if (index >= 0) {
        if (record.inuse === objects) {
          this.removePartial(cache, id);
          this.hooks.slabMove(cache, record.head, SlabState.Full, SlabPath.DebugAllocFull, cpu);
        }
        return this.objectAddress(cache, record, index);
      }
      this.removePartial(cache, id);
      id = next;
    }
    // A fresh slab passes its checks unless memory changes under it; two tries bound the loop regardless.
    for (let attempt = 0; attempt < 2; attempt++) {
      const slab = this.newSlab(cache, cpu, gfp);
      if (slab === NO_PFN) return -1;
      const record = this.slabs.get(slab)!;
      const index = this.allocSingle(cache, record);
      if (index < 0) continue;
      if (record.inuse === objects) {
        this.hooks.slabMove(cache, slab, SlabState.Full, SlabPath.DebugAllocFull, cpu);
      } else {
        this.addPartialHead(cache, record.id);
        this.hooks.slabMove(cache, slab, SlabState.NodePartial, SlabPath.DebugNewSlab, cpu);
      }
      return this.objectAddress(cache, record, index);
    }
    return -1;
  }

  /**
   * alloc_single_from_partial()/_new_slab(): the first object of the slab freelist, checked by
   * alloc_debug_processing(); -1 when a check failed (then, as the kernel does, every object counts as used
   * and the slab freelist is dropped: "FIX ...: Marking all objects used").
   */
  private allocSingle(cache: KmemCache, record: Slab): number {
    const index = record.freelist;
    if (index < 0) return -1;
    const fp = record.fp;
    const next = fp[index]!;
    // A corrupted next (not an index) ends the slab freelist here; memory keeps the object's word.
    record.freelist = next < FREE_END ? FREE_END : next;
    fp[index] = next < FREE_END ? OBJ_ALLOCATED : OBJ_STALE_END - 1 - next;
    record.inuse++;
    if (this.hooks.debug && !this.hooks.debug.alloc(cache, record, index)) {
      record.inuse = cache.geometry.objects;
      record.freelist = FREE_END;
      return -1;
    }
    cache.liveObjects++;
    return index;
  }

  /** The physical address of object `index` of a slab: past the slot's left red zone. */
  objectAddress(cache: KmemCache, record: Slab, index: number): number {
    const g = cache.geometry;
    return record.head * PAGE_SIZE + index * g.size + g.redLeftPad;
  }

  /**
   * free_to_partial_list() (6.12), the free of a debug cache: free_debug_processing() checks the chain, then
   * it goes on the slab freelist; a slab that was full goes to the node list's tail; an empty slab is freed
   * when the node holds min_partial partial slabs. When a check fails nothing is freed ("Object ... not
   * freed"): the objects stay allocated.
   */
  private debugFree(cache: KmemCache, record: Slab, head: number, tail: number, cnt: number, cpu: number): void {
    if (this.hooks.debug && !this.hooks.debug.free(cache, record, head, tail, cnt)) {
      cache.liveObjects += cnt; // the caller counted them freed
      // The chain's links were set for the free; put the objects back to allocated.
      const fp = record.fp;
      for (let i = head, n = 0; n < cnt && i >= 0; n++) {
        const next = i === tail ? FREE_END : fp[i]!;
        fp[i] = OBJ_ALLOCATED;
        i = next;
      }
      return;
    }
    const slab = record.head;
    const prior = record.freelist;
    record.inuse -= cnt;
    record.fp[tail] = prior;
    record.freelist = head;
    const discard = record.inuse === 0 && cache.nrPartial >= cache.geometry.minPartial;
    if (prior === FREE_END) {
      if (!discard) {
        this.addPartialTail(cache, record.id);
        this.hooks.slabMove(cache, slab, SlabState.NodePartial, SlabPath.DebugFreeToPartial, cpu);
      }
    } else if (discard) {
      this.removePartial(cache, record.id);
    }
    if (discard) this.discardSlab(cache, record.id, cpu, SlabPath.FreeDiscard);
  }

  /**
   * slab_alloc_node() when object `obj`'s next is not an index of its slab: a write corrupted its free
   * pointer, or the freelist reached an object in use through one. The kernel takes whatever the word in
   * memory decodes to as the next freelist head; so does the CPU freelist here (FREELIST_FOREIGN).
   */
  private allocCorrupt(cache: KmemCache, cpu: number, obj: number): number {
    const record = this.handle(cache.cpuSlabId[cpu]!);
    const ptr = this.hooks.memory ? this.hooks.memory.readFreePointer(cache, record, obj) : 0n;
    record.fp[obj] = OBJ_ALLOCATED; // memory holds its word
    this.setCpuFreelist(cache, cpu, ptr);
    cache.liveObjects++;
    return this.objectAddress(cache, record, obj);
  }

  /**
   * An allocation from a freelist whose head is a foreign pointer: the kernel hands it out as an object and
   * reads the next pointer at it; a pointer it cannot read faults (an oops, the machine's to report).
   */
  private allocForeign(cache: KmemCache, cpu: number): number {
    const r = this.hooks.memory?.foreignObject(cache, this.foreignHead(cache, cpu));
    if (!r) {
      cache.cpuFreelist[cpu] = FREE_END;
      return -1;
    }
    if (cache.cpuSlabId[cpu] !== NO_SLAB) this.setCpuFreelist(cache, cpu, r.next);
    else cache.cpuFreelist[cpu] = FREE_END;
    cache.liveObjects++;
    return r.phys;
  }

  /** The pointer a CPU freelist starts at while it is FREELIST_FOREIGN. */
  foreignHead(cache: KmemCache, cpu: number): bigint {
    return this.foreign.get(cache.id * FOREIGN_KEY + cpu) ?? 0n;
  }

  /** The CPU freelist now starts at ptr: FREE_END for NULL, else FREELIST_FOREIGN (see foreignHead()). */
  private setCpuFreelist(cache: KmemCache, cpu: number, ptr: bigint): void {
    if (ptr === 0n) {
      cache.cpuFreelist[cpu] = FREE_END;
      return;
    }
    cache.cpuFreelist[cpu] = FREELIST_FOREIGN;
    this.foreign.set(cache.id * FOREIGN_KEY + cpu, ptr);
  }

  /** get_partial_node(): take the first slab of the node partial list (its id). */
  private takePartial(cache: KmemCache): number {
    const id = cache.partialHeadSlab;
    this.removePartial(cache, id);
    return id;
  }

  /** new_slab()/allocate_slab(): pages from the buddy allocator, every object on the slab freelist. */
  private newSlab(cache: KmemCache, cpu: number, gfp: number): number {
    const g = cache.geometry;
    const pfn = this.pages.allocSlabPages(g.order, gfp | cache.allocflags, cpu);
    if (pfn === NO_PFN) {
      return NO_PFN;
    }
    const end = pfn + (1 << g.order);
    for (let p = pfn; p < end; p++) {
      this.frames.flags[p]! |= PG_SLAB;
    }
    const objects = g.objects;
    const id = this.allocRow(objects);
    const pool = this.pool;
    pool[id + SLAB_INUSE] = 0;
    pool[id + SLAB_FREELIST] = 0;
    pool[id + SLAB_FROZEN] = 0;
    pool[id + SLAB_CPU_PARTIAL] = -1;
    pool[id + SLAB_NEXT] = NO_SLAB;
    pool[id + SLAB_SLABS] = 0;
    pool[id + SLAB_CACHE] = cache.id;
    pool[id + SLAB_HEAD] = pfn;
    pool[id + SLAB_LIST_NEXT] = NO_SLAB;
    pool[id + SLAB_LIST_PREV] = NO_SLAB;
    const fp = id + SLAB_FP;
    for (let i = 0; i < objects - 1; i++) {
      pool[fp + i] = i + 1;
    }
    pool[fp + objects - 1] = FREE_END;
    const record = new Slab(this, id, cache.id, pfn, objects);
    this.slabs.set(pfn, record);
    this.setDir(pfn, end, id);
    cache.nrSlabs++;
    cache.totalObjects += objects;
    this.hooks.slabNew(cache, pfn);
    if (g.debug !== undefined) this.hooks.debug?.newSlab(cache, record);
    const ctor = cache.ctor;
    if (ctor) for (let i = 0; i < objects; i++) ctor.run(pfn * PAGE_SIZE + i * g.size + g.redLeftPad);
    return pfn;
  }

  /**
   * __slab_free() with CONFIG_SLUB_CPU_PARTIAL (6.12): the object goes on its slab's freelist. A frozen slab
   * (some CPU's cpu slab) keeps it there for get_freelist(). A slab that was full goes to the freeing CPU's
   * per-CPU partial list (put_cpu_partial). A slab already partial stays where it is, on a per-CPU partial
   * list or on the node partial list, unless it is now empty on the node list and the node holds at least
   * min_partial partial slabs: then it goes back to the page allocator.
   */
  private slabFreeSlow(cache: KmemCache, id: number, head: number, tail: number, cnt: number, cpu: number): void {
    if (cache.geometry.debug !== undefined) {
      this.debugFree(cache, this.handle(id), head, tail, cnt, cpu);
      return;
    }
    const pool = this.pool;
    const prior = pool[id + SLAB_FREELIST]!;
    pool[id + SLAB_FP + tail] = prior;
    pool[id + SLAB_FREELIST] = head;
    const inuse = (pool[id + SLAB_INUSE] -= cnt);
    if (pool[id + SLAB_FROZEN] !== 0) return;
    if (prior === FREE_END) {
      this.putCpuPartial(cache, id, cpu, SlabPath.FreeToCpuPartial);
      return;
    }
    if (pool[id + SLAB_CPU_PARTIAL]! >= 0) return; // on a per-CPU partial list: no list operation
    if (inuse === 0 && cache.nrPartial >= cache.geometry.minPartial) {
      this.removePartial(cache, id);
      this.discardSlab(cache, id, cpu, SlabPath.FreeDiscard);
    }
  }

  /**
   * put_cpu_partial(): the slab goes to the head of CPU cpu's partial list. With drain (from __slab_free; not
   * from get_partial_node), a list already holding cpu_partial_slabs slabs is swapped out and then goes to the
   * node partial list whole (__put_partials).
   */
  private putCpuPartial(
    cache: KmemCache,
    id: number,
    cpu: number,
    path: SlabPath.FreeToCpuPartial | SlabPath.GetPartialNodeMore,
  ): void {
    const pool = this.pool;
    const drain = path === SlabPath.FreeToCpuPartial;
    let old = cache.cpuPartialSlab[cpu]!;
    let toPut = NO_SLAB;
    let count = 0;
    if (old !== NO_SLAB) {
      const slabs = pool[old + SLAB_SLABS]!;
      if (drain && slabs >= cache.cpuPartialSlabs) {
        toPut = old;
        old = NO_SLAB;
      } else {
        count = slabs;
      }
    }
    const slab = pool[id + SLAB_HEAD]!;
    pool[id + SLAB_SLABS] = count + 1;
    pool[id + SLAB_NEXT] = old;
    pool[id + SLAB_CPU_PARTIAL] = cpu;
    cache.cpuPartialSlab[cpu] = id;
    cache.cpuPartial[cpu] = slab;
    this.hooks.slabMove(cache, slab, SlabState.CpuPartial, path, cpu);
    if (toPut !== NO_SLAB) this.putPartials(cache, toPut, cpu, SlabPath.FreeDrain);
  }

  /**
   * __put_partials(): every slab of a per-CPU partial list (from slab id `first`) goes to the node partial
   * list's tail, except empty ones while the node holds min_partial slabs, which are freed.
   */
  private putPartials(
    cache: KmemCache,
    first: number,
    cpu: number,
    path: SlabPath.FreeDrain | SlabPath.FlushPutPartials | SlabPath.ShutdownPutPartials,
  ): void {
    const pool = this.pool;
    let discard: number[] | undefined;
    const bound = this.slabs.size;
    let steps = 0;
    for (let id = first; id !== NO_SLAB && steps <= bound; steps++) {
      const next = pool[id + SLAB_NEXT]!;
      pool[id + SLAB_NEXT] = NO_SLAB;
      pool[id + SLAB_CPU_PARTIAL] = -1;
      pool[id + SLAB_SLABS] = 0;
      if (pool[id + SLAB_INUSE] === 0 && cache.nrPartial >= cache.geometry.minPartial) {
        (discard ??= []).push(id);
      } else {
        this.addPartialTail(cache, id);
        this.hooks.slabMove(cache, pool[id + SLAB_HEAD]!, SlabState.NodePartial, path, cpu);
      }
      id = next;
    }
    // slab_to_discard is a stack (slab->next = slab_to_discard): the last one found goes first.
    if (discard === undefined) return;
    for (let i = discard.length - 1; i >= 0; i--) this.discardSlab(cache, discard[i]!, cpu, path);
  }

  /**
   * flush_cpu_slab(): the CPU's slab deactivated and its per-CPU partial list put back on the node, for
   * kmem_cache_shrink() or (shutdown) kmem_cache_destroy().
   */
  flushCpu(cache: KmemCache, cpu: number, shutdown = false): void {
    this.deactivateCpuSlab(cache, cpu, shutdown ? SlabPath.ShutdownDeactivate : SlabPath.FlushDeactivate);
    const first = cache.cpuPartialSlab[cpu]!;
    cache.cpuPartial[cpu] = NO_PFN;
    cache.cpuPartialSlab[cpu] = NO_SLAB;
    if (first !== NO_SLAB) {
      this.putPartials(cache, first, cpu, shutdown ? SlabPath.ShutdownPutPartials : SlabPath.FlushPutPartials);
    }
  }

  /** The slabs on CPU cpu's partial list (head pfns), in list order (bounded). */
  cpuPartialList(cache: KmemCache, cpu: number): number[] {
    const out: number[] = [];
    const pool = this.pool;
    let id = cache.cpuPartialSlab[cpu] ?? NO_SLAB;
    while (id !== NO_SLAB && out.length <= this.slabs.size) {
      out.push(pool[id + SLAB_HEAD]!);
      id = pool[id + SLAB_NEXT]!;
    }
    return out;
  }

  /** discard_slab(): the pages go back to the buddy allocator. */
  private discardSlab(cache: KmemCache, id: number, cpu: number, path: SlabPath): void {
    const slab = this.pool[id + SLAB_HEAD]!;
    const record = this.slabs.get(slab)!;
    // free_slab(): a debug cache's slab is checked before its pages go (SLAB_CONSISTENCY_CHECKS).
    if (cache.geometry.debug !== undefined) this.hooks.debug?.discard(cache, record);
    const order = cache.geometry.order;
    const end = slab + (1 << order);
    for (let p = slab; p < end; p++) {
      this.frames.flags[p]! &= ~PG_SLAB;
    }
    this.slabs.delete(slab);
    this.setDir(slab, end, NO_SLAB);
    record.detach();
    this.freeRow(id, cache.geometry.objects);
    cache.nrSlabs--;
    cache.totalObjects -= cache.geometry.objects;
    this.hooks.slabDiscard(cache, slab, path, cpu);
    this.pages.freeSlabPages(slab, order, cpu);
  }

  /** Words of the row of a slab of `objects` objects. */
  private static rowWords(objects: number): number {
    return Math.ceil((SLAB_FP + objects) / ROW_ALIGN) * ROW_ALIGN;
  }

  /** A row for a slab of `objects` objects: a discarded one of that length, else fresh words (growing pool). */
  private allocRow(objects: number): number {
    const words = Slub.rowWords(objects);
    const free = this.freeRows.get(words) ?? NO_SLAB;
    if (free !== NO_SLAB) {
      this.freeRows.set(words, this.pool[free]!);
      return free;
    }
    const id = this.poolTop;
    if (id + words > this.pool.length) {
      let length = this.pool.length * 2;
      while (id + words > length) length *= 2;
      const grown = new Int32Array(length);
      grown.set(this.pool.subarray(0, id));
      this.pool = grown;
    }
    this.poolTop = id + words;
    return id;
  }

  private freeRow(id: number, objects: number): void {
    const words = Slub.rowWords(objects);
    this.pool[id] = this.freeRows.get(words) ?? NO_SLAB;
    this.freeRows.set(words, id);
  }

  /**
   * Sets the slab directory's entries of frames [pfn, end) to slab id `id` (newSlab) or clears them
   * (discardSlab, NO_SLAB). A leaf is made when its first slab frame arrives and given back when its last
   * one goes.
   */
  private setDir(pfn: number, end: number, id: number): void {
    const dir = this.dir;
    const use = this.dirUse;
    for (let p = pfn; p < end; p++) {
      const i = p >>> SLAB_DIR_SHIFT;
      let leaf = dir[i]!;
      if (id !== NO_SLAB) {
        if (leaf === 0) leaf = dir[i] = this.allocLeaf();
        use[i]!++;
        this.leaves[leaf + (p & SLAB_DIR_MASK)] = id;
      } else if (leaf !== 0) {
        this.leaves[leaf + (p & SLAB_DIR_MASK)] = NO_SLAB;
        if (--use[i]! === 0) {
          this.freeLeaves.push(leaf);
          dir[i] = 0;
        }
      }
    }
  }

  /** An all-zero leaf: one given back, else fresh words (growing leaves). */
  private allocLeaf(): number {
    const reused = this.freeLeaves.pop();
    if (reused !== undefined) return reused;
    const leaf = this.leavesTop;
    if (leaf + SLAB_DIR_SIZE > this.leaves.length) {
      const grown = new Int32Array(this.leaves.length * 2);
      grown.set(this.leaves);
      this.leaves = grown;
    }
    this.leavesTop = leaf + SLAB_DIR_SIZE;
    return leaf;
  }

  /** add_partial(n, slab, DEACTIVATE_TO_HEAD). */
  private addPartialHead(cache: KmemCache, id: number): void {
    const pool = this.pool;
    const first = cache.partialHeadSlab;
    pool[id + SLAB_LIST_NEXT] = first;
    pool[id + SLAB_LIST_PREV] = NO_SLAB;
    if (first === NO_SLAB) {
      cache.partialTailSlab = id;
      cache.partialTail = pool[id + SLAB_HEAD]!;
    } else {
      pool[first + SLAB_LIST_PREV] = id;
    }
    cache.partialHeadSlab = id;
    cache.partialHead = pool[id + SLAB_HEAD]!;
    cache.nrPartial++;
  }

  /** add_partial(n, slab, DEACTIVATE_TO_TAIL). */
  private addPartialTail(cache: KmemCache, id: number): void {
    const pool = this.pool;
    const last = cache.partialTailSlab;
    pool[id + SLAB_LIST_PREV] = last;
    pool[id + SLAB_LIST_NEXT] = NO_SLAB;
    if (last === NO_SLAB) {
      cache.partialHeadSlab = id;
      cache.partialHead = pool[id + SLAB_HEAD]!;
    } else {
      pool[last + SLAB_LIST_NEXT] = id;
    }
    cache.partialTailSlab = id;
    cache.partialTail = pool[id + SLAB_HEAD]!;
    cache.nrPartial++;
  }

  /** remove_partial(). */
  private removePartial(cache: KmemCache, id: number): void {
    const pool = this.pool;
    const next = pool[id + SLAB_LIST_NEXT]!;
    const prev = pool[id + SLAB_LIST_PREV]!;
    if (prev === NO_SLAB) {
      cache.partialHeadSlab = next;
      cache.partialHead = next === NO_SLAB ? NO_PFN : pool[next + SLAB_HEAD]!;
    } else {
      pool[prev + SLAB_LIST_NEXT] = next;
    }
    if (next === NO_SLAB) {
      cache.partialTailSlab = prev;
      cache.partialTail = prev === NO_SLAB ? NO_PFN : pool[prev + SLAB_HEAD]!;
    } else {
      pool[next + SLAB_LIST_PREV] = prev;
    }
    pool[id + SLAB_LIST_NEXT] = NO_SLAB;
    pool[id + SLAB_LIST_PREV] = NO_SLAB;
    cache.nrPartial--;
  }
}
