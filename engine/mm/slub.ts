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
 * Slab records (struct slab) are kept per slab, keyed by head pfn (Slub.slabs), not per frame. The hot paths
 * find them through a sparse directory instead of that map: one leaf per page block (512 frames) that holds or
 * held slab frames, whose entry for every frame of a slab (head and tails) is the slab's record, so the slab
 * of any frame and its head pfn (Slab.head) take two array loads. Blocks that never held a slab have no leaf,
 * so the directory costs a pointer per page block plus a leaf per page block with slabs, not a column per
 * frame. Both are set by newSlab() and cleared by discardSlab(); a frame has a directory entry exactly while
 * it has PG_SLAB. Free pointers: each slab
 * keeps an Int32Array of next-free object indices (END at the tail, ALLOCATED for objects in use), standing
 * in for the pointer the kernel stores inside the free object. The node partial
 * list is an intrusive list through FrameTable.next/prev (slab->slab_list shares page->lru).
 *
 * Not yet modelled (later work): debug layouts, freelist randomisation, the RCU grace period before a SLAB_TYPESAFE_BY_RCU slab's pages are freed (freed at once).
 */

import { fls, getOrder, MAX_OBJS_PER_PAGE, PAGE_SIZE, SLUB_MAX_ORDER } from './config';
import { FrameTable, NO_PFN, PG_SLAB } from './frames';

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
  readonly debug?: SlubLayoutSizes;
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
  options: { freePointerAfter?: boolean } = {},
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
  const g = { objectSize, size, order, objects, minPartial, offset, align, inuse, redLeftPad };
  return debug ? { ...g, debug: sizes } : g;
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
  /** The free-pointer array of each CPU's slab, cached beside cpuSlab for the fast path. */
  readonly cpuFreeptr: (Int32Array | undefined)[];
  /** The record of each CPU's slab, cached beside cpuSlab so the slow paths need no directory lookup. */
  readonly cpuSlabRecord: (Slab | undefined)[];
  /** kmem_cache_node: the partial list (head/tail pfn through FrameTable.next/prev) and counters. */
  partialHead = NO_PFN;
  partialTail = NO_PFN;
  nrPartial = 0;
  nrSlabs = 0;
  totalObjects = 0;
  /** Objects handed out and not yet freed (what the scenario holds). */
  liveObjects = 0;

  /** kmem_cache_cpu.partial per CPU: the head of its per-CPU partial list (slabs chained by Slab.next). */
  readonly cpuPartial: Int32Array;
  /** s->cpu_partial (objects) and s->cpu_partial_slabs, from set_cpu_partial(). */
  readonly cpuPartialObjects: number;
  readonly cpuPartialSlabs: number;

  constructor(id: number, name: string, geometry: SlabGeometry, cpus: number) {
    this.id = id;
    this.name = name;
    this.geometry = geometry;
    this.cpuSlab = new Int32Array(cpus).fill(NO_PFN);
    this.cpuFreelist = new Int32Array(cpus).fill(FREE_END);
    this.cpuFreeptr = new Array<Int32Array | undefined>(cpus).fill(undefined);
    this.cpuSlabRecord = new Array<Slab | undefined>(cpus).fill(undefined);
    this.cpuPartial = new Int32Array(cpus).fill(NO_PFN);
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

/**
 * struct slab (it overlays the head page's struct page in the kernel): one record per slab, found from the
 * head pfn, so slab metadata costs memory per slab, not per frame of the machine.
 */
export class Slab {
  /** slab->inuse: objects not on the slab freelist (all of them while the slab is a cpu slab). */
  inuse = 0;
  /** slab->freelist: the first free object index, FREE_END when none. */
  freelist = 0;
  /** slab->frozen: the slab is some CPU's cpu slab. */
  frozen = false;
  /** On CPU n's per-CPU partial list (not frozen, since 6.8), or -1. */
  cpuPartial = -1;
  /** slab->next: the next slab of that per-CPU partial list, NO_PFN at its end. */
  next = NO_PFN;
  /** slab->slabs: on the head of a per-CPU partial list, the slabs the list holds. */
  slabsOnList = 0;

  constructor(
    /** slab->slab_cache, as the cache id. */
    readonly cache: number,
    /** Each object's entry: its next free object, or an allocated marker (see OBJ_STALE_END). */
    readonly fp: Int32Array,
    /** The head pfn (slab_page(slab)). */
    readonly head: number,
  ) {}
}

/** Keys of Slub.foreign: more than the CPUs a machine may have. */
const FOREIGN_KEY = 1024;

/** log2 of the frames per leaf of Slub's slab directory: a page block (pageblock_order). */
const SLAB_DIR_SHIFT = 9;
const SLAB_DIR_MASK = (1 << SLAB_DIR_SHIFT) - 1;

export class Slub {
  /** Every slab, keyed by its head pfn. */
  readonly slabs = new Map<number, Slab>();
  /** Foreign CPU freelist heads (FREELIST_FOREIGN), by cache id * FOREIGN_KEY + cpu. */
  private readonly foreign = new Map<number, bigint>();
  readonly caches: KmemCache[] = [];
  /** The slab directory (see the top of this file): leaves by pfn >> SLAB_DIR_SHIFT, records by frame. */
  private readonly dir: ((Slab | undefined)[] | undefined)[];
  /** Slab frames per leaf of the directory. */
  private readonly dirUse: Uint16Array;

  constructor(
    private readonly frames: FrameTable,
    private readonly pages: SlabPageSource,
    private readonly hooks: SlabHooks,
  ) {
    const leaves = (frames.count >>> SLAB_DIR_SHIFT) + 1;
    this.dir = new Array<(Slab | undefined)[] | undefined>(leaves).fill(undefined);
    this.dirUse = new Uint16Array(leaves);
  }

  /** The record of the slab holding frame pfn (an integer, in the frame table or not), or undefined when it is not slab memory. */
  slabAt(pfn: number): Slab | undefined {
    if (!(pfn >= 0 && pfn < this.frames.count)) return undefined;
    const leaf = this.dir[pfn >>> SLAB_DIR_SHIFT];
    return leaf === undefined ? undefined : leaf[pfn & SLAB_DIR_MASK];
  }

  /** The record of the slab whose head is `slab` (a slab that exists). */
  private rec(slab: number): Slab {
    return this.dir[slab >>> SLAB_DIR_SHIFT]![slab & SLAB_DIR_MASK]!;
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
      const fp = cache.cpuFreeptr[cpu]!;
      const next = fp[obj]!;
      if (next < FREE_END) return this.allocCorrupt(cache, cpu, obj);
      cache.cpuFreelist[cpu] = next;
      fp[obj] = OBJ_STALE_END - 1 - next; // allocated; its free-pointer word still encodes next
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
    const slab = this.rec(head);
    const index = this.objectIndex(slab, phys);
    if (index < 0) {
      return index === OBJECT_DOUBLE_FREE ? 'double free' : 'not the start of an object';
    }
    return { cache: this.caches[slab.cache]!, slab: slab.head, index, fp: slab.fp };
  }

  /**
   * lookupObject() without the object, for kfree's hot path: the index of the object at phys in `slab` (the
   * slab holding phys), or OBJECT_NOT_START / OBJECT_DOUBLE_FREE. Changes nothing.
   */
  objectIndex(slab: Slab, phys: number): number {
    const g = this.caches[slab.cache]!.geometry;
    // A slab spans at most 2^MAX_PAGE_ORDER pages, so the offset and index are small non-negative integers.
    const offset = phys - slab.head * PAGE_SIZE - g.redLeftPad;
    const size = g.size;
    const index = (offset / size) | 0;
    if (offset < 0 || offset - index * size !== 0 || index >= g.objects) {
      return OBJECT_NOT_START;
    }
    return isAllocated(slab.fp[index]!) ? index : OBJECT_DOUBLE_FREE;
  }

  /** do_slab_free(): the CPU's own slab takes the object on its lockless freelist; others go to __slab_free. */
  freeObject(obj: SlabObject, cpu: number): void {
    this.freeIndex(obj.cache, this.rec(obj.slab), obj.index, cpu);
  }

  /** freeObject() of object `index` of `slab`, a slab of `cache` (from objectIndex()). */
  freeIndex(cache: KmemCache, slab: Slab, index: number, cpu: number): void {
    cache.liveObjects--;
    if (cache.cpuSlab[cpu] === slab.head) {
      const head = cache.cpuFreelist[cpu]!;
      if (head === FREELIST_FOREIGN) this.linkForeign(cache, slab, index, cpu);
      slab.fp[index] = head;
      cache.cpuFreelist[cpu] = index;
      return;
    }
    this.slabFreeSlow(cache, slab, index, index, 1, cpu);
  }

  /**
   * do_slab_free() of a detached freelist (kmem_cache_free_bulk's build_detached_freelist): cnt objects of one
   * slab, chained head -> ... -> tail through fp (tail's entry is about to be set). The CPU's own slab splices
   * the chain onto its lockless freelist; any other slab takes it in one __slab_free(), inuse -= cnt.
   */
  freeChain(cache: KmemCache, slab: Slab, head: number, tail: number, cnt: number, cpu: number): void {
    cache.liveObjects -= cnt;
    if (cache.cpuSlab[cpu] === slab.head) {
      const first = cache.cpuFreelist[cpu]!;
      if (first === FREELIST_FOREIGN) this.linkForeign(cache, slab, tail, cpu);
      slab.fp[tail] = first;
      cache.cpuFreelist[cpu] = head;
      return;
    }
    this.slabFreeSlow(cache, slab, head, tail, cnt, cpu);
  }

  /**
   * set_freepointer(object, freelist) onto a foreign head: the word in memory is the truth from now on (the
   * caller stores FREELIST_FOREIGN, which is FP_CORRUPT, as the object's entry).
   */
  private linkForeign(cache: KmemCache, slab: Slab, index: number, cpu: number): void {
    this.hooks.memory?.writeFreePointer(cache, slab, index, this.foreignHead(cache, cpu));
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
    const head = this.slabHeadOf(Math.floor(phys / PAGE_SIZE));
    return head === NO_PFN ? undefined : this.caches[this.rec(head).cache];
  }

  /** The head pfn of the slab containing pfn, or NO_PFN when pfn is not slab memory. */
  slabHeadOf(pfn: number): number {
    if (pfn < 0 || pfn >= this.frames.count || (this.frames.flags[pfn]! & PG_SLAB) === 0) {
      return NO_PFN;
    }
    return this.slabAt(pfn)!.head;
  }

  /** Free objects on the node partial list (count_partial(n, count_free)). */
  partialFreeObjects(cache: KmemCache): number {
    let free = 0;
    for (let pfn = cache.partialHead; pfn !== NO_PFN; pfn = this.frames.next[pfn]!) {
      free += cache.geometry.objects - this.rec(pfn).inuse;
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
    const record = this.rec(slab);
    const fp = record.fp;
    const remoteFrees = record.freelist !== FREE_END;
    let n = 0;
    let last = FREE_END;
    // A corrupted chain ends where its indices end (the kernel would follow the bad pointer further).
    for (let i = cache.cpuFreelist[cpu]!; i >= 0 && n <= cache.geometry.objects; i = fp[i]!) {
      last = i;
      n++;
    }
    if (last !== FREE_END) {
      fp[last] = record.freelist;
      record.freelist = cache.cpuFreelist[cpu]!;
    }
    record.inuse -= n;
    record.frozen = false;
    cache.cpuSlab[cpu] = NO_PFN;
    cache.cpuFreelist[cpu] = FREE_END;
    cache.cpuFreeptr[cpu] = undefined;
    cache.cpuSlabRecord[cpu] = undefined;
    if (record.inuse === 0 && cache.nrPartial >= cache.geometry.minPartial) {
      this.discardSlab(cache, slab, cpu, path);
    } else if (record.freelist !== FREE_END) {
      if (remoteFrees) this.addPartialTail(cache, slab);
      else this.addPartialHead(cache, slab);
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
    const slabs = this.partialSlabs(cache);
    for (const slab of slabs) this.removePartial(cache, slab);
    const promote: number[][] = Array.from({ length: 32 }, () => []);
    const rest: number[] = [];
    const discard: number[] = [];
    for (const slab of slabs) {
      const free = cache.geometry.objects - this.rec(slab).inuse;
      if (free === cache.geometry.objects) {
        discard.unshift(slab); // list_move() to the head of the discard list
      } else if (free <= 32) {
        promote[free - 1]!.unshift(slab); // list_move() to the bucket's head
      } else {
        rest.push(slab);
      }
    }
    for (const slab of [...promote.flat(), ...rest]) this.addPartialTail(cache, slab);
    // The list is rebuilt under the lock; the empty slabs are freed after it, last found first.
    for (const slab of discard) this.discardSlab(cache, slab, cpu, path);
    return discard.length;
  }

  /** Head pfns of the node partial list, in list order. */
  partialSlabs(cache: KmemCache): number[] {
    const out: number[] = [];
    for (let pfn = cache.partialHead; pfn !== NO_PFN; pfn = this.frames.next[pfn]!) {
      out.push(pfn);
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
    // The cpu slab's record, cached beside cpuSlab: set exactly while the CPU has a slab.
    let record = cache.cpuSlabRecord[cpu];
    if (record !== undefined && record.freelist === FREE_END) {
      // get_freelist() found nothing: deactivate_slab() of a full slab: unfrozen, tracked by no list.
      record.frozen = false;
      cache.cpuSlab[cpu] = NO_PFN;
      cache.cpuFreeptr[cpu] = undefined;
      cache.cpuSlabRecord[cpu] = undefined;
      this.hooks.slabMove(cache, record.head, SlabState.Full, SlabPath.AllocFullOff, cpu);
      record = undefined;
    }
    if (record === undefined) {
      let slab: number;
      const fromCpuPartial = cache.cpuPartial[cpu]!;
      if (fromCpuPartial !== NO_PFN) {
        record = this.rec(fromCpuPartial);
        // The next slab becomes the list's head; its slabsOnList already counts it and the slabs after it
        // (put_cpu_partial set it when that slab was pushed, and the list only changes at its head).
        cache.cpuPartial[cpu] = record.next;
        record.next = NO_PFN;
        record.cpuPartial = -1;
        record.slabsOnList = 0;
        slab = fromCpuPartial;
        this.hooks.slabMove(cache, slab, SlabState.CpuSlab, SlabPath.AllocCpuPartial, cpu);
      } else if (cache.partialHead !== NO_PFN) {
        slab = this.takePartial(cache);
        record = this.rec(slab);
        this.hooks.slabMove(cache, slab, SlabState.CpuSlab, SlabPath.GetPartialNode, cpu);
        const max = Math.floor(cache.cpuPartialSlabs / 2);
        let moved = 0;
        while (cache.partialHead !== NO_PFN) {
          const next = this.takePartial(cache);
          this.putCpuPartial(cache, this.rec(next), cpu, SlabPath.GetPartialNodeMore);
          if (++moved > max) break;
        }
      } else {
        slab = this.newSlab(cache, cpu, gfp);
        if (slab === NO_PFN) return -1;
        record = this.rec(slab);
      }
      record.frozen = true;
      cache.cpuSlab[cpu] = slab;
      cache.cpuFreeptr[cpu] = record.fp;
      cache.cpuSlabRecord[cpu] = record;
    }
    // get_freelist(): the whole slab freelist moves to the CPU; the slab counts as fully in use.
    cache.cpuFreelist[cpu] = record.freelist;
    record.freelist = FREE_END;
    record.inuse = cache.geometry.objects;
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
    for (let slab = cache.partialHead; slab !== NO_PFN;) {
      const next = this.frames.next[slab]!;
      const record = this.rec(slab);
      const index = this.allocSingle(cache, record);
      if (index >= 0) {
        if (record.inuse === objects) {
          this.removePartial(cache, slab);
          this.hooks.slabMove(cache, slab, SlabState.Full, SlabPath.DebugAllocFull, cpu);
        }
        return this.objectAddress(cache, record, index);
      }
      this.removePartial(cache, slab);
      slab = next;
    }
    // A fresh slab passes its checks unless memory changes under it; two tries bound the loop regardless.
    for (let attempt = 0; attempt < 2; attempt++) {
      const slab = this.newSlab(cache, cpu, gfp);
      if (slab === NO_PFN) return -1;
      const record = this.rec(slab);
      const index = this.allocSingle(cache, record);
      if (index < 0) continue;
      if (record.inuse === objects) {
        this.hooks.slabMove(cache, slab, SlabState.Full, SlabPath.DebugAllocFull, cpu);
      } else {
        this.addPartialHead(cache, slab);
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
    const next = record.fp[index]!;
    // A corrupted next (not an index) ends the slab freelist here; memory keeps the object's word.
    record.freelist = next < FREE_END ? FREE_END : next;
    record.fp[index] = next < FREE_END ? OBJ_ALLOCATED : OBJ_STALE_END - 1 - next;
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
      for (let i = head, n = 0; n < cnt && i >= 0; n++) {
        const next = i === tail ? FREE_END : record.fp[i]!;
        record.fp[i] = OBJ_ALLOCATED;
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
        this.addPartialTail(cache, slab);
        this.hooks.slabMove(cache, slab, SlabState.NodePartial, SlabPath.DebugFreeToPartial, cpu);
      }
    } else if (discard) {
      this.removePartial(cache, slab);
    }
    if (discard) this.discardSlab(cache, slab, cpu, SlabPath.FreeDiscard);
  }

  /**
   * slab_alloc_node() when object `obj`'s next is not an index of its slab: a write corrupted its free
   * pointer, or the freelist reached an object in use through one. The kernel takes whatever the word in
   * memory decodes to as the next freelist head; so does the CPU freelist here (FREELIST_FOREIGN).
   */
  private allocCorrupt(cache: KmemCache, cpu: number, obj: number): number {
    const record = cache.cpuSlabRecord[cpu]!;
    const ptr = this.hooks.memory ? this.hooks.memory.readFreePointer(cache, record, obj) : 0n;
    record.fp[obj] = OBJ_ALLOCATED; // memory holds its word
    this.setCpuFreelist(cache, cpu, record, ptr);
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
    const record = cache.cpuSlabRecord[cpu];
    if (record) this.setCpuFreelist(cache, cpu, record, r.next);
    else cache.cpuFreelist[cpu] = FREE_END;
    cache.liveObjects++;
    return r.phys;
  }

  /** The pointer a CPU freelist starts at while it is FREELIST_FOREIGN. */
  foreignHead(cache: KmemCache, cpu: number): bigint {
    return this.foreign.get(cache.id * FOREIGN_KEY + cpu) ?? 0n;
  }

  /** The CPU freelist now starts at ptr: FREE_END for NULL, else FREELIST_FOREIGN (see foreignHead()). */
  private setCpuFreelist(cache: KmemCache, cpu: number, record: Slab, ptr: bigint): void {
    if (ptr === 0n) {
      cache.cpuFreelist[cpu] = FREE_END;
      return;
    }
    cache.cpuFreelist[cpu] = FREELIST_FOREIGN;
    this.foreign.set(cache.id * FOREIGN_KEY + cpu, ptr);
  }

  /** get_partial_node(): take the first slab of the node partial list. */
  private takePartial(cache: KmemCache): number {
    const slab = cache.partialHead;
    this.removePartial(cache, slab);
    return slab;
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
    const fp = new Int32Array(g.objects);
    for (let i = 0; i < g.objects - 1; i++) {
      fp[i] = i + 1;
    }
    fp[g.objects - 1] = FREE_END;
    const record = new Slab(cache.id, fp, pfn);
    this.slabs.set(pfn, record);
    this.setDir(pfn, end, record);
    cache.nrSlabs++;
    cache.totalObjects += g.objects;
    this.hooks.slabNew(cache, pfn);
    if (g.debug !== undefined) this.hooks.debug?.newSlab(cache, record);
    const ctor = cache.ctor;
    if (ctor) for (let i = 0; i < g.objects; i++) ctor.run(pfn * PAGE_SIZE + i * g.size + g.redLeftPad);
    return pfn;
  }

  /**
   * __slab_free() with CONFIG_SLUB_CPU_PARTIAL (6.12): the object goes on its slab's freelist. A frozen slab
   * (some CPU's cpu slab) keeps it there for get_freelist(). A slab that was full goes to the freeing CPU's
   * per-CPU partial list (put_cpu_partial). A slab already partial stays where it is, on a per-CPU partial
   * list or on the node partial list, unless it is now empty on the node list and the node holds at least
   * min_partial partial slabs: then it goes back to the page allocator.
   */
  private slabFreeSlow(cache: KmemCache, record: Slab, head: number, tail: number, cnt: number, cpu: number): void {
    if (cache.geometry.debug !== undefined) {
      this.debugFree(cache, record, head, tail, cnt, cpu);
      return;
    }
    const slab = record.head;
    const prior = record.freelist;
    record.fp[tail] = prior;
    record.freelist = head;
    const inuse = (record.inuse -= cnt);
    if (record.frozen) return;
    if (prior === FREE_END) {
      this.putCpuPartial(cache, record, cpu, SlabPath.FreeToCpuPartial);
      return;
    }
    if (record.cpuPartial >= 0) return; // on a per-CPU partial list: no list operation
    if (inuse === 0 && cache.nrPartial >= cache.geometry.minPartial) {
      this.removePartial(cache, slab);
      this.discardSlab(cache, slab, cpu, SlabPath.FreeDiscard);
    }
  }

  /**
   * put_cpu_partial(): the slab goes to the head of CPU cpu's partial list. With drain (from __slab_free; not
   * from get_partial_node), a list already holding cpu_partial_slabs slabs is swapped out and then goes to the
   * node partial list whole (__put_partials).
   */
  private putCpuPartial(
    cache: KmemCache,
    record: Slab,
    cpu: number,
    path: SlabPath.FreeToCpuPartial | SlabPath.GetPartialNodeMore,
  ): void {
    const drain = path === SlabPath.FreeToCpuPartial;
    let old = cache.cpuPartial[cpu]!;
    let toPut = NO_PFN;
    let count = 0;
    if (old !== NO_PFN) {
      const head = this.rec(old);
      if (drain && head.slabsOnList >= cache.cpuPartialSlabs) {
        toPut = old;
        old = NO_PFN;
      } else {
        count = head.slabsOnList;
      }
    }
    const slab = record.head;
    record.slabsOnList = count + 1;
    record.next = old;
    record.cpuPartial = cpu;
    cache.cpuPartial[cpu] = slab;
    this.hooks.slabMove(cache, slab, SlabState.CpuPartial, path, cpu);
    if (toPut !== NO_PFN) this.putPartials(cache, toPut, cpu, SlabPath.FreeDrain);
  }

  /**
   * __put_partials(): every slab of a per-CPU partial list goes to the node partial list's tail, except
   * empty ones while the node holds min_partial slabs, which are freed.
   */
  private putPartials(
    cache: KmemCache,
    head: number,
    cpu: number,
    path: SlabPath.FreeDrain | SlabPath.FlushPutPartials | SlabPath.ShutdownPutPartials,
  ): void {
    let discard: number[] | undefined;
    let steps = 0;
    for (let slab = head; slab !== NO_PFN && steps <= this.slabs.size; steps++) {
      const record = this.rec(slab);
      const next = record.next;
      record.next = NO_PFN;
      record.cpuPartial = -1;
      record.slabsOnList = 0;
      if (record.inuse === 0 && cache.nrPartial >= cache.geometry.minPartial) {
        (discard ??= []).push(slab);
      } else {
        this.addPartialTail(cache, slab);
        this.hooks.slabMove(cache, slab, SlabState.NodePartial, path, cpu);
      }
      slab = next;
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
    const head = cache.cpuPartial[cpu]!;
    cache.cpuPartial[cpu] = NO_PFN;
    if (head !== NO_PFN) {
      this.putPartials(cache, head, cpu, shutdown ? SlabPath.ShutdownPutPartials : SlabPath.FlushPutPartials);
    }
  }

  /** The slabs on CPU cpu's partial list, in list order (bounded). */
  cpuPartialList(cache: KmemCache, cpu: number): number[] {
    const out: number[] = [];
    let s = cache.cpuPartial[cpu] ?? NO_PFN;
    while (s !== NO_PFN && out.length <= this.slabs.size) {
      const record = this.slabs.get(s);
      if (!record) break;
      out.push(s);
      s = record.next;
    }
    return out;
  }

  /** discard_slab(): the pages go back to the buddy allocator. */
  private discardSlab(cache: KmemCache, slab: number, cpu: number, path: SlabPath): void {
    // free_slab(): a debug cache's slab is checked before its pages go (SLAB_CONSISTENCY_CHECKS).
    if (cache.geometry.debug !== undefined) this.hooks.debug?.discard(cache, this.rec(slab));
    const order = cache.geometry.order;
    const end = slab + (1 << order);
    for (let p = slab; p < end; p++) {
      this.frames.flags[p]! &= ~PG_SLAB;
    }
    this.slabs.delete(slab);
    this.setDir(slab, end, undefined);
    cache.nrSlabs--;
    cache.totalObjects -= cache.geometry.objects;
    this.hooks.slabDiscard(cache, slab, path, cpu);
    this.pages.freeSlabPages(slab, order, cpu);
  }

  /**
   * Sets the slab directory's entries of frames [pfn, end) to record (newSlab) or clears them (discardSlab,
   * record undefined). A leaf is made when its first slab frame arrives and dropped when its last one goes.
   */
  private setDir(pfn: number, end: number, record: Slab | undefined): void {
    const dir = this.dir;
    const use = this.dirUse;
    for (let p = pfn; p < end; p++) {
      const i = p >>> SLAB_DIR_SHIFT;
      let leaf = dir[i];
      if (record !== undefined) {
        if (leaf === undefined) leaf = dir[i] = new Array<Slab | undefined>(1 << SLAB_DIR_SHIFT).fill(undefined);
        use[i]!++;
      } else if (leaf === undefined) {
        continue;
      } else if (--use[i]! === 0) {
        dir[i] = undefined;
        continue;
      }
      leaf[p & SLAB_DIR_MASK] = record;
    }
  }

  private addPartialHead(cache: KmemCache, slab: number): void {
    const frames = this.frames;
    frames.next[slab] = cache.partialHead;
    frames.prev[slab] = NO_PFN;
    if (cache.partialHead === NO_PFN) {
      cache.partialTail = slab;
    } else {
      frames.prev[cache.partialHead] = slab;
    }
    cache.partialHead = slab;
    cache.nrPartial++;
  }

  private addPartialTail(cache: KmemCache, slab: number): void {
    const frames = this.frames;
    frames.prev[slab] = cache.partialTail;
    frames.next[slab] = NO_PFN;
    if (cache.partialTail === NO_PFN) {
      cache.partialHead = slab;
    } else {
      frames.next[cache.partialTail] = slab;
    }
    cache.partialTail = slab;
    cache.nrPartial++;
  }

  private removePartial(cache: KmemCache, slab: number): void {
    const frames = this.frames;
    const next = frames.next[slab]!;
    const prev = frames.prev[slab]!;
    if (prev === NO_PFN) {
      cache.partialHead = next;
    } else {
      frames.next[prev] = next;
    }
    if (next === NO_PFN) {
      cache.partialTail = prev;
    } else {
      frames.prev[next] = prev;
    }
    frames.next[slab] = NO_PFN;
    frames.prev[slab] = NO_PFN;
    cache.nrPartial--;
  }
}
