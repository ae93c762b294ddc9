/*
 * Generic KASAN on the machine (CONFIG_KASAN=y, CONFIG_KASAN_GENERIC, CONFIG_KASAN_VMALLOC; Linux 6.12
 * mm/kasan/common.c, generic.c, quarantine.c, report.c), with kasan.ts supplying the encodings, the checks
 * and the report's text.
 *
 * What the kernel does, and where the machine does it:
 *   cache creation  kasan_cache_create() adds alloc meta, free meta and a redzone to every slot (the
 *                   geometry comes out of slub.ts/slub_debug.ts with `kasan` set; the offsets are kept here)
 *   allocation      __kasan_slab_alloc()/__kasan_kmalloc(): the object accessible up to the requested size,
 *                   the alloc track saved; then kasan_quarantine_reduce() when the gfp may block
 *   free            __kasan_slab_pre_free(): a pointer that is not an object's start is an invalid-free, an
 *                   object whose first byte is not accessible a double-free (reported, nothing freed); else
 *                   poison_slab_object() + the free track, and the object goes to the quarantine instead of
 *                   the freelist (kasan_quarantine_put()), so its slot is not reused until the quarantine
 *                   evicts it (a per-CPU queue of up to 1 MiB, then batches of a global queue of at most
 *                   RAM/32 minus 1 MiB per CPU: on a small machine a freed slot stays out for a long time)
 *   shrink/destroy  kasan_quarantine_remove_cache(): the cache's quarantined objects are freed first
 *   access          the scenario's loads and stores (read8..64, write8..64: the compiler's __asan_load/store
 *                   checks, after which the access happens) and memset/memcpy (kasan_check_range(): a bad
 *                   range is reported and the call does nothing, as the kernel's interceptors return NULL)
 *   ksize/krealloc  kasan_check_byte() of the pointer; krealloc in place re-poisons to the new size
 *
 * The shadow is not stored: shadowOfPhys() derives each granule's byte from the allocator state (slab
 * objects' state and requested size here, large kmallocs' sizes, free pages, vmalloc areas' requested
 * sizes), which is what the kernel's poison and unpoison calls leave. Reports are printed once per boot
 * (report_enabled(): the first only, unless kasan_multi_shot), taint the kernel (B) and are kasan events.
 *
 * Modelled choices: the bytes of KASAN's metadata (qlist node, tracks) are not written into freed objects;
 * stacks are the allocator's frames and the scenario line, printed name+0x0/0x0 like SLUB debug's tracks;
 * dump_page() prints its first lines (no raw words); the quarantine is never shrunk by memory pressure.
 */

import { PAGE_SIZE } from './config';
import type { Machine } from './machine';
import { PG_BUDDY, PG_HEAD, PG_PCP, PG_SLAB, PG_TAIL } from './frames';
import { KmemCache, NO_SLAB, SLAB_TYPESAFE_BY_RCU } from './slub';
import {
  KASAN_GRANULE_SIZE,
  KASAN_NO_FREE_META,
  KASAN_PAGE_FREE,
  KASAN_PAGE_REDZONE,
  KASAN_SLAB_FREE,
  KASAN_SLAB_FREE_META,
  KASAN_SLAB_REDZONE,
  KASAN_VMALLOC_INVALID,
  KasanCacheInfo,
  KasanObjectInfo,
  KasanReport,
  KasanTrack,
  checkAccess,
  formatKasanReport,
  kasanCacheCreate,
  reportBugType,
} from './kasan';
import { TAINT_BAD_PAGE, dumpStackHeader } from './slub_debug';
import { StackDepot } from './stackdepot';
import { EventKind } from '../trace/events';

/** What a kasan event's `size` field says: the report's bug type. */
export enum KasanBug {
  OutOfBounds = 1,
  SlabOutOfBounds,
  SlabUseAfterFree,
  UseAfterFree,
  VmallocOutOfBounds,
  DoubleFree,
  InvalidFree,
  WildMemoryAccess,
  NullPtrDeref,
  UserMemoryAccess,
  UnknownCrash,
}

/** The kernel's name of each bug type ("BUG: KASAN: <name> in ..."). */
export const KASAN_BUG_NAMES: Readonly<Record<KasanBug, string>> = {
  [KasanBug.OutOfBounds]: 'out-of-bounds',
  [KasanBug.SlabOutOfBounds]: 'slab-out-of-bounds',
  [KasanBug.SlabUseAfterFree]: 'slab-use-after-free',
  [KasanBug.UseAfterFree]: 'use-after-free',
  [KasanBug.VmallocOutOfBounds]: 'vmalloc-out-of-bounds',
  [KasanBug.DoubleFree]: 'double-free',
  [KasanBug.InvalidFree]: 'invalid-free',
  [KasanBug.WildMemoryAccess]: 'wild-memory-access',
  [KasanBug.NullPtrDeref]: 'null-ptr-deref',
  [KasanBug.UserMemoryAccess]: 'user-memory-access',
  [KasanBug.UnknownCrash]: 'unknown-crash',
};

const BUG_OF_NAME = new Map(Object.entries(KASAN_BUG_NAMES).map(([k, v]) => [v, Number(k) as KasanBug]));

/** QUARANTINE_PERCPU_SIZE: a CPU's queue moves to the global quarantine when it passes 1 MiB. */
export const QUARANTINE_PERCPU_SIZE = 1 << 20;
/** QUARANTINE_BATCHES: max(1024, 4 * CONFIG_NR_CPUS) with a distribution's NR_CPUS of 8192 is 32768. */
export const QUARANTINE_BATCHES = 32768;
/** QUARANTINE_FRACTION: the quarantine may hold 1/32 of RAM. */
export const QUARANTINE_FRACTION = 32;

/* Per-object words of the side table (one Int32Array per slab, OBJ_WORDS per object). */
const OBJ_WORDS = 6;
const W_STATE = 0;
const W_REQUESTED = 1;
const W_ALLOC_TRACK = 2;
const W_FREE_TRACK = 3;
/* The pid of each track (struct kasan_track keeps it beside the stack handle). */
const W_ALLOC_PID = 4;
const W_FREE_PID = 5;
const ST_UNUSED = 0;
const ST_ALLOCATED = 1;
const ST_FREE = 2;

/** A quarantine queue (struct qlist_head): the objects' addresses and cache->size bytes each, in order. */
interface QList {
  phys: number[];
  sizes: number[];
  bytes: number;
}

/** The stack of the call in progress, for a track: the allocator frames below the scenario line. */
const ALLOC_FRAMES: Readonly<Record<string, readonly string[]>> = {
  kmalloc: ['kasan_save_stack', 'kasan_save_track', '__kasan_kmalloc', '__kmalloc_noprof'],
  krealloc: [
    'kasan_save_stack',
    'kasan_save_track',
    '__kasan_kmalloc',
    '__kmalloc_node_track_caller_noprof',
    'krealloc_noprof',
  ],
  kmem_cache_alloc: ['kasan_save_stack', 'kasan_save_track', '__kasan_slab_alloc', 'kmem_cache_alloc_noprof'],
  kmem_cache_alloc_bulk: ['kasan_save_stack', 'kasan_save_track', '__kasan_slab_alloc', 'kmem_cache_alloc_bulk_noprof'],
};
const FREE_FRAMES: Readonly<Record<string, readonly string[]>> = {
  kfree: ['kasan_save_stack', 'kasan_save_track', 'kasan_save_free_info', '__kasan_slab_free', 'kfree'],
  kmem_cache_free: [
    'kasan_save_stack',
    'kasan_save_track',
    'kasan_save_free_info',
    '__kasan_slab_free',
    'kmem_cache_free',
  ],
  kmem_cache_free_bulk: [
    'kasan_save_stack',
    'kasan_save_track',
    'kasan_save_free_info',
    '__kasan_slab_free',
    'kmem_cache_free_bulk',
  ],
  kfree_bulk: [
    'kasan_save_stack',
    'kasan_save_track',
    'kasan_save_free_info',
    '__kasan_slab_free',
    'kmem_cache_free_bulk',
  ],
  krealloc: [
    'kasan_save_stack',
    'kasan_save_track',
    'kasan_save_free_info',
    '__kasan_slab_free',
    'kfree',
    'krealloc_noprof',
  ],
};

/** How the access being checked was made: a sized load or store, or a range check of a library call. */
export type KasanAccess =
  | { readonly kind: 'instrumented'; readonly write: boolean }
  | { readonly kind: 'range'; readonly write: boolean; readonly via: string };

export class KasanRuntime {
  /** Reports made (printed or not: after the first, only kasan_multi_shot prints). */
  reports = 0;
  /** Reports printed. */
  printed = 0;
  /** The cache's kasan_info, by cache id. */
  private readonly infos = new Map<number, KasanCacheInfo>();
  /** Large kmallocs krealloc() resized in place: head pfn -> the size their shadow now allows. */
  private readonly largeSizes = new Map<number, number>();
  /**
   * Per slab, by slab id (slub.ts: a row of its pool): OBJ_WORDS words per object. A packed array grown by
   * doubling; a discarded slab's entry stays until its id is reused by a new slab, which replaces it.
   */
  private objects: (Int32Array | undefined)[] = new Array<Int32Array | undefined>(1024).fill(undefined);
  private readonly depot = new StackDepot();
  /* resolve()'s results. */
  private rCache: KmemCache | undefined;
  private rIndex = 0;
  private rWords: Int32Array | undefined;
  /** The address preFree() resolved and passed, which slabFree() then finds in the r* fields (-1: none). */
  private passedPhys = -1;
  /** Per cache id: its objects go to the quarantine when freed (the cache has free meta). */
  private readonly quarantined: boolean[] = [];
  /** Depot handles by frame list and scenario line, so a hot allocation site builds its stack once. */
  private readonly handles = new Map<readonly string[], Map<number, number>>();
  private readonly cpuQuarantine: QList[];
  private readonly global: QList[] = [];
  private quarantineSize = 0;
  private quarantineMaxSize = 0;
  private quarantineBatchSize = QUARANTINE_PERCPU_SIZE;
  /** Reports are disabled after the first unless multi-shot (KASAN_BIT_REPORTED). */
  private reported = false;
  /** Set while the machine itself touches memory KASAN would flag (kasan_disable_current()). */
  private disabled = 0;

  constructor(
    private readonly machine: Machine,
    readonly multiShot: boolean,
  ) {
    this.cpuQuarantine = Array.from({ length: machine.config.cpus }, () => ({ phys: [], sizes: [], bytes: 0 }));
  }

  /* ---------------------------------------------------------------------------------------------------- */
  /* Caches and slabs                                                                                      */
  /* ---------------------------------------------------------------------------------------------------- */

  /** kasan_cache_create() for a cache whose slot so far (calculate_sizes()) is sizeSoFar bytes. */
  static cacheInfo(objectSize: number, sizeSoFar: number, flags: number, ctor: boolean, slubDebug: boolean) {
    return kasanCacheCreate(objectSize, sizeSoFar, {
      ctor,
      typesafeByRcu: (flags & SLAB_TYPESAFE_BY_RCU) !== 0,
      slubDebugEnabled: slubDebug,
    });
  }

  register(cache: KmemCache, info: KasanCacheInfo): void {
    this.infos.set(cache.id, info);
    this.quarantined[cache.id] = info.freeMetaOffset !== KASAN_NO_FREE_META;
  }

  /** A new slab: kasan_poison_slab(), every object unused (its shadow KASAN_SLAB_REDZONE). */
  newSlab(cache: KmemCache, head: number): void {
    const id = this.machine.slub.slabIdAt(head);
    while (id >= this.objects.length) {
      this.objects = this.objects.concat(new Array<Int32Array | undefined>(this.objects.length).fill(undefined));
    }
    this.objects[id] = new Int32Array(cache.geometry.objects * OBJ_WORDS);
  }

  /** The side-table words of the slab holding frame pfn, if it is a slab. */
  private wordsAt(pfn: number): Int32Array | undefined {
    const id = this.machine.slub.slabIdAt(pfn);
    return id === NO_SLAB ? undefined : this.objects[id];
  }

  /**
   * The object starting at phys, without an allocation: true when phys is an object's start, with the cache,
   * index and side-table words left in the r* fields.
   */
  private resolve(phys: number): boolean {
    this.passedPhys = -1; // the r* fields are about to change
    const slub = this.machine.slub;
    const pfn = Math.floor(phys / PAGE_SIZE);
    if (!(pfn >= 0 && pfn < this.machine.frames.count)) return false;
    const id = slub.slabIdAt(pfn);
    if (id === NO_SLAB) return false;
    const head = slub.slabHead(id);
    const cache = slub.slabCache(id);
    const g = cache.geometry;
    const offset = phys - head * PAGE_SIZE - g.redLeftPad;
    const index = (offset / g.size) | 0;
    const words = this.objects[id];
    if (offset < 0 || offset !== index * g.size || index >= g.objects || !words) return false;
    this.rCache = cache;
    this.rIndex = index;
    this.rWords = words;
    return true;
  }

  /* ---------------------------------------------------------------------------------------------------- */
  /* Allocation and free                                                                                   */
  /* ---------------------------------------------------------------------------------------------------- */

  /**
   * __kasan_slab_alloc() / __kasan_kmalloc() after the allocator handed out phys: the object accessible up to
   * `requested` bytes, its alloc track saved. Then kasan_quarantine_reduce() when the gfp may block.
   */
  slabAlloc(phys: number, requested: number, entry: string, mayBlock: boolean): void {
    if (this.resolve(phys)) {
      const words = this.rWords!;
      const at = this.rIndex * OBJ_WORDS;
      words[at + W_STATE] = ST_ALLOCATED;
      words[at + W_REQUESTED] = Math.min(requested, this.rCache!.geometry.objectSize);
      words[at + W_ALLOC_TRACK] = this.saveStack(ALLOC_FRAMES[entry] ?? ALLOC_FRAMES.kmalloc!);
      words[at + W_ALLOC_PID] = this.machine.pid;
      words[at + W_FREE_TRACK] = 0;
    }
    if (mayBlock) this.quarantineReduce();
  }

  /** kasan_krealloc() of an object that still fits: poisoned again to the new size. */
  krealloc(phys: number, newSize: number): void {
    if (this.resolve(phys)) {
      this.rWords![this.rIndex * OBJ_WORDS + W_REQUESTED] = Math.min(newSize, this.rCache!.geometry.objectSize);
    } else if (this.machine.largeKmalloc.has(phys / PAGE_SIZE)) this.largeSizes.set(phys / PAGE_SIZE, newSize);
  }

  /** A large kmalloc's pages went back (kasan_poison_pages()). */
  largeFreed(head: number): void {
    this.largeSizes.delete(head);
  }

  /** __kasan_kmalloc_large(): only the quarantine is reduced (the shadow follows the large kmalloc's size). */
  largeAlloc(mayBlock: boolean): void {
    if (mayBlock) this.quarantineReduce();
  }

  /**
   * __kasan_slab_pre_free() of a slab address (check_slab_allocation()): undefined when the free may go on,
   * else the bug reported (the caller frees nothing).
   */
  preFree(phys: number, entry: string): KasanBug | undefined {
    if (this.resolve(phys)) {
      // The object's first byte is accessible exactly while it is allocated (a request is at least 1 byte).
      if (this.rWords![this.rIndex * OBJ_WORDS + W_STATE] === ST_ALLOCATED) {
        this.passedPhys = phys;
        return undefined;
      }
      this.reportFree(KasanBug.DoubleFree, phys, entry);
      return KasanBug.DoubleFree;
    }
    const slub = this.machine.slub;
    const pfn = Math.floor(phys / PAGE_SIZE);
    const id = pfn >= 0 && pfn < this.machine.frames.count ? slub.slabIdAt(pfn) : NO_SLAB;
    if (id === NO_SLAB) return undefined;
    // nearest_obj() is not phys: a pointer into an object (or its slot's metadata) is an invalid free.
    this.reportFree(KasanBug.InvalidFree, phys, entry);
    return KasanBug.InvalidFree;
  }

  /**
   * __kasan_slab_free() of an object preFree() passed: poisoned, its free track saved, and into the current
   * CPU's quarantine (returns true: the allocator must not free it now). False when the cache has no free
   * meta (the object is freed at once).
   */
  slabFree(phys: number, entry: string): boolean {
    // The free right after preFree() passed it (Machine.kasanSlabFree) reuses that resolution.
    const resolved = this.passedPhys === phys || this.resolve(phys);
    this.passedPhys = -1;
    if (!resolved) return false;
    const words = this.rWords!;
    const at = this.rIndex * OBJ_WORDS;
    words[at + W_STATE] = ST_FREE;
    words[at + W_FREE_TRACK] = this.saveStack(FREE_FRAMES[entry] ?? FREE_FRAMES.kfree!);
    words[at + W_FREE_PID] = this.machine.pid;
    const cache = this.rCache!;
    if (!this.quarantined[cache.id]) return false;
    this.quarantinePut(phys, cache.geometry.size);
    return true;
  }

  /* ---------------------------------------------------------------------------------------------------- */
  /* Quarantine (mm/kasan/quarantine.c)                                                                    */
  /* ---------------------------------------------------------------------------------------------------- */

  /** kasan_quarantine_put(). */
  private quarantinePut(phys: number, size: number): void {
    const q = this.cpuQuarantine[this.machine.cpu] ?? this.cpuQuarantine[0]!;
    q.phys.push(phys);
    q.sizes.push(size);
    q.bytes += size;
    if (q.bytes > QUARANTINE_PERCPU_SIZE) {
      this.quarantineSize += q.bytes;
      const tail = this.global[this.global.length - 1];
      if (tail && tail.bytes < this.quarantineBatchSize) {
        for (let i = 0; i < q.phys.length; i++) {
          tail.phys.push(q.phys[i]!);
          tail.sizes.push(q.sizes[i]!);
        }
        tail.bytes += q.bytes;
      } else {
        this.global.push({ phys: q.phys, sizes: q.sizes, bytes: q.bytes });
      }
      q.phys = [];
      q.sizes = [];
      q.bytes = 0;
    }
  }

  /** kasan_quarantine_reduce(): when the global quarantine is over its limit, its oldest batch is freed. */
  quarantineReduce(): void {
    if (this.quarantineSize <= this.quarantineMaxSize) return;
    const total = Math.floor((this.machine.buddy.managedPages * PAGE_SIZE) / QUARANTINE_FRACTION);
    const perCpu = QUARANTINE_PERCPU_SIZE * this.machine.config.cpus;
    this.quarantineMaxSize = total < perCpu ? 0 : total - perCpu;
    this.quarantineBatchSize = Math.max(QUARANTINE_PERCPU_SIZE, Math.floor((2 * total) / QUARANTINE_BATCHES));
    if (this.quarantineSize > this.quarantineMaxSize) {
      const batch = this.global.shift();
      if (batch) {
        this.quarantineSize -= batch.bytes;
        for (const phys of batch.phys) this.release(phys);
      }
    }
  }

  /** kasan_quarantine_remove_cache(): every quarantined object of the cache is freed now. */
  removeCache(cache: KmemCache): void {
    const slub = this.machine.slub;
    for (const q of [...this.cpuQuarantine, ...this.global]) {
      const keep: QList = { phys: [], sizes: [], bytes: 0 };
      const gone: number[] = [];
      q.phys.forEach((phys, i) => {
        const id = slub.slabIdAt(Math.floor(phys / PAGE_SIZE));
        if (id !== NO_SLAB && slub.slabCache(id) === cache) {
          gone.push(phys);
        } else {
          keep.phys.push(phys);
          keep.sizes.push(q.sizes[i]!);
          keep.bytes += q.sizes[i]!;
        }
      });
      if (gone.length === 0) continue;
      if (this.global.includes(q)) this.quarantineSize -= q.bytes - keep.bytes;
      q.phys = keep.phys;
      q.sizes = keep.sizes;
      q.bytes = keep.bytes;
      for (const phys of gone) this.release(phys);
    }
  }

  /** qlink_free() -> ___cache_free(): the allocator gets the object back (its shadow stays free). */
  private release(phys: number): void {
    const m = this.machine;
    const pfn = Math.floor(phys / PAGE_SIZE);
    const id = m.slub.slabIdAt(pfn);
    if (id === NO_SLAB) return;
    const cache = m.slub.slabCache(id);
    const index = m.slub.objectIndexOf(cache, id, phys);
    if (index < 0) return; // corrupted state the scenario made: nothing to give back
    m.slub.freeIndex(cache, id, index, m.cpu);
  }

  /* ---------------------------------------------------------------------------------------------------- */
  /* Shadow                                                                                                */
  /* ---------------------------------------------------------------------------------------------------- */

  /** The shadow byte of the granule holding physical address phys (direct map). */
  shadowOfPhys(phys: number): number {
    const m = this.machine;
    const pfn = Math.floor(phys / PAGE_SIZE);
    if (!(pfn >= 0 && pfn < m.frames.count)) return 0;
    const flags = m.frames.flags[pfn]!;
    if (flags & PG_SLAB) return this.slabShadow(phys, pfn);
    if (flags & (PG_HEAD | PG_TAIL)) {
      const head = compoundHead(m, pfn);
      const asked = head === undefined ? undefined : (this.largeSizes.get(head) ?? m.largeKmalloc.get(head));
      if (asked !== undefined) {
        const off = phys - head! * PAGE_SIZE;
        return granuleShadow(off, asked, KASAN_PAGE_REDZONE);
      }
      return 0;
    }
    if (flags & (PG_BUDDY | PG_PCP) || m.buddy.findFreeBlock(pfn) || m.buddy.findPcpBlock(pfn)) {
      return KASAN_PAGE_FREE;
    }
    return 0;
  }

  private slabShadow(phys: number, pfn: number): number {
    const m = this.machine;
    const slab = m.slub.slabAt(pfn);
    if (!slab) return KASAN_SLAB_REDZONE;
    const cache = m.slub.caches[slab.cache]!;
    const g = cache.geometry;
    const off = phys - slab.head * PAGE_SIZE;
    const slot = Math.floor(off / g.size);
    const inObject = off - slot * g.size - g.redLeftPad;
    const words = this.wordsAt(pfn);
    if (slot >= g.objects || inObject < 0 || !words) return KASAN_SLAB_REDZONE;
    const at = slot * OBJ_WORDS;
    const objectEnd = roundUp(g.objectSize);
    switch (words[at + W_STATE]) {
      case ST_ALLOCATED:
        return granuleShadow(inObject, words[at + W_REQUESTED]!, KASAN_SLAB_REDZONE);
      case ST_FREE: {
        if (inObject >= objectEnd) return KASAN_SLAB_REDZONE;
        const info = this.infos.get(cache.id);
        const hasFreeMeta = info !== undefined && info.freeMetaOffset !== KASAN_NO_FREE_META;
        return inObject < KASAN_GRANULE_SIZE && hasFreeMeta ? KASAN_SLAB_FREE_META : KASAN_SLAB_FREE;
      }
      default:
        return KASAN_SLAB_REDZONE;
    }
  }

  /** The shadow byte of a virtual address's granule (the direct map, vmalloc areas; 0 elsewhere). */
  shadowOfVirt(virt: bigint): number {
    const m = this.machine;
    const phys = m.phys(virt);
    if (phys !== undefined) return this.shadowOfPhys(phys);
    if (virt >= m.arch.vmallocStart && virt < m.arch.vmallocEnd) {
      const where = m.vmalloc.findArea(virt);
      if (!where || where.inGuard) return KASAN_VMALLOC_INVALID;
      return granuleShadow(where.offset, where.area.requestedSize, KASAN_VMALLOC_INVALID);
    }
    return 0;
  }

  /** The shadow by granule index (address >> 3), as kasan.ts reads it. */
  readonly shadowAt = (granule: bigint): number => this.shadowOfVirt(BigInt.asUintN(64, granule << 3n));

  /* ---------------------------------------------------------------------------------------------------- */
  /* Checks and reports                                                                                    */
  /* ---------------------------------------------------------------------------------------------------- */

  /**
   * An access of len bytes at virt: true when KASAN lets it through, false when the shadow says it is bad
   * (reported when reports are enabled). Instrumented accesses happen either way; range checks (memset,
   * memcpy) stop the call.
   */
  check(virt: bigint, len: number, access: KasanAccess): boolean {
    if (this.disabled > 0 || len === 0) return true;
    const firstBad = checkAccess(this.shadowAt, virt, len, access.write, {
      instrumented: access.kind === 'instrumented',
    });
    if (firstBad === undefined) return true;
    this.reportAccess(virt, len, access);
    return false;
  }

  /** kasan_check_byte() (ksize, krealloc): false, with a one-byte read report, when the byte is poisoned. */
  checkByte(phys: number, via: string): boolean {
    if (accessible(this.shadowOfPhys(phys))) return true;
    this.reportAccess(this.machine.virt(phys), 1, { kind: 'range', write: false, via });
    return false;
  }

  /** Runs fn with KASAN checks off (kasan_disable_current()): the machine's own copies and fills. */
  quietly<T>(fn: () => T): T {
    this.disabled++;
    try {
      return fn();
    } finally {
      this.disabled--;
    }
  }

  private reportAccess(virt: bigint, len: number, access: KasanAccess): void {
    const report = this.baseReport('access', virt, access.kind === 'range' ? ['kasan_check_range', access.via] : []);
    const full: KasanReport = { ...report, accessSize: len, isWrite: access.write, object: this.objectInfo(virt) };
    this.emit(full, virt);
  }

  private reportFree(bug: KasanBug, phys: number, entry: string): void {
    const virt = this.machine.virt(phys);
    const kind = bug === KasanBug.DoubleFree ? 'double-free' : 'invalid-free';
    const report = this.baseReport(kind, virt, [entry === 'kfree_bulk' ? 'kmem_cache_free_bulk' : entry]);
    this.emit({ ...report, object: this.objectInfo(virt) }, virt);
  }

  /** Which bug a double or invalid free of a large kmalloc is: reported as the kernel would. */
  reportLargeFree(bug: KasanBug, phys: number): void {
    const virt = this.machine.virt(phys);
    this.emit(this.baseReport(bug === KasanBug.DoubleFree ? 'double-free' : 'invalid-free', virt, ['kfree']), virt);
  }

  private baseReport(kind: KasanReport['kind'], virt: bigint, frames: readonly string[]): KasanReport {
    const m = this.machine;
    const line = `line_${m.line}+0x0/0x1 [scenario]`;
    const stack = [
      ...dumpStackHeader(m.cpu, m.pid, m.comm, m.slubDebug.taint.mask),
      'Call Trace:',
      ' <TASK>',
      ' dump_stack_lvl+0x0/0x0',
      ' print_report+0x0/0x0',
      kind === 'access' ? ' kasan_report+0x0/0x0' : ' kasan_report_invalid_free+0x0/0x0',
      ...(kind === 'access' ? [] : [' __kasan_slab_pre_free+0x0/0x0']),
      ...frames.map((f) => ` ${f}+0x0/0x0`),
      ` ${line}`,
      ' </TASK>',
    ];
    return {
      kind,
      ip: kind === 'access' ? line : line,
      accessAddr: virt,
      comm: m.comm,
      pid: m.pid,
      stack,
      shadowAt: this.shadowAt,
      page: this.pageInfo(virt),
      vmArea: this.vmAreaInfo(virt),
    };
  }

  /** describe_object(): the slab object the address belongs to (nearest_obj()), its tracks. */
  private objectInfo(virt: bigint): KasanObjectInfo | undefined {
    const m = this.machine;
    const phys = m.phys(virt);
    if (phys === undefined) return undefined;
    const slab = m.slub.slabAt(Math.floor(phys / PAGE_SIZE));
    if (!slab) return undefined;
    const cache = m.slub.caches[slab.cache]!;
    const g = cache.geometry;
    const slot = Math.min(Math.floor((phys - slab.head * PAGE_SIZE) / g.size), g.objects - 1);
    const object = slab.head * PAGE_SIZE + slot * g.size + g.redLeftPad;
    const words = this.wordsAt(slab.head);
    const at = slot * OBJ_WORDS;
    const state = words?.[at + W_STATE] ?? ST_UNUSED;
    const allocSize = state === ST_ALLOCATED ? words![at + W_REQUESTED]! : g.objectSize;
    const track = (handle: number, pid: number): KasanTrack | undefined =>
      handle > 0 ? { pid, stack: this.depot.fetch(handle).map((f) => ` ${f}`) } : undefined;
    return {
      addr: m.virt(object),
      cacheName: cache.name,
      objectSize: g.objectSize,
      allocSize: allocSize || g.objectSize,
      allocTrack: words ? track(words[at + W_ALLOC_TRACK]!, words[at + W_ALLOC_PID]!) : undefined,
      freeTrack: state === ST_FREE && words ? track(words[at + W_FREE_TRACK]!, words[at + W_FREE_PID]!) : undefined,
    };
  }

  /** dump_page()'s first lines for the page behind an address (direct map or vmalloc). */
  private pageInfo(virt: bigint): KasanReport['page'] {
    const m = this.machine;
    // virt_to_page() of the direct map, vmalloc_to_page() of a vmalloc address.
    const mapped = virt >= m.arch.vmallocStart && virt < m.arch.vmallocEnd ? m.kernelPt.translate(virt) : -1;
    const phys = m.phys(virt) ?? (mapped >= 0 ? mapped : undefined);
    if (phys === undefined) return undefined;
    const pfn = Math.floor(phys / PAGE_SIZE);
    const flags = m.frames.flags[pfn] ?? 0;
    const free = (flags & (PG_BUDDY | PG_PCP)) !== 0 || m.buddy.findFreeBlock(pfn) !== undefined;
    const zone = m.buddy.zoneOf(pfn);
    const head = flags & (PG_HEAD | PG_TAIL) ? compoundHead(m, pfn) : undefined;
    const names = [...(head !== undefined ? ['head'] : []), 'node=0', `zone=${zone}`];
    const word = (BigInt(zone) << 62n) | (head !== undefined ? 1n << 6n : 0n);
    const lines = [
      `page: refcount:${free ? 0 : 1} mapcount:0 mapping:0000000000000000 index:0x0 pfn:0x${pfn.toString(16)}`,
    ];
    if (head !== undefined && head !== pfn) {
      lines.push(`head: order:${m.frames.order[head] ?? 0} mapcount:0 entire_mapcount:0 nr_pages_mapped:0 pincount:0`);
    }
    lines.push(`flags: 0x${word.toString(16)}(${names.join('|')})`);
    if (flags & PG_SLAB) lines.push('page_type: f5(slab)');
    else if (free) lines.push('page_type: f0(buddy)');
    return { lines };
  }

  private vmAreaInfo(virt: bigint): KasanReport['vmArea'] {
    const m = this.machine;
    if (virt < m.arch.vmallocStart || virt >= m.arch.vmallocEnd) return undefined;
    const where = m.vmalloc.findArea(virt);
    if (!where) return undefined;
    return {
      start: where.area.addr,
      end: where.area.addr + BigInt(where.area.size),
      caller: where.area.caller,
    };
  }

  private emit(report: KasanReport, virt: bigint): void {
    const m = this.machine;
    this.reports++;
    const bug = BUG_OF_NAME.get(reportBugType(report)) ?? KasanBug.UnknownCrash;
    // report_enabled(): after the first report, only kasan_multi_shot prints (the access still fails).
    if (this.multiShot || !this.reported) {
      this.reported = true;
      this.printed++;
      for (const line of formatKasanReport(report).trimEnd().split('\n')) m.printk(`${line}\n`);
      // end_report(): add_taint(TAINT_BAD_PAGE, LOCKDEP_NOW_UNRELIABLE).
      const taint = m.slubDebug.taint;
      if (!(taint.mask & (1 << TAINT_BAD_PAGE))) {
        taint.mask |= 1 << TAINT_BAD_PAGE;
        if (taint.debugLocks) {
          taint.debugLocks = false;
          m.printk('Disabling lock debugging due to kernel taint\n');
        }
      }
    }
    const phys = m.phys(virt);
    m.recordReport(EventKind.Kasan, -1, phys ?? 0, bug);
  }

  /** The depot handle of the allocator frames below the current scenario line (cached per entry and line). */
  private saveStack(frames: readonly string[]): number {
    let byLine = this.handles.get(frames);
    if (!byLine) {
      byLine = new Map();
      this.handles.set(frames, byLine);
    }
    const line = this.machine.line;
    let handle = byLine.get(line);
    if (handle === undefined) {
      handle = this.depot.save([...frames.map((f) => `${f}+0x0/0x0`), `line_${line}+0x0/0x1 [scenario]`]);
      byLine.set(line, handle);
    }
    return handle;
  }
}

function roundUp(n: number): number {
  return Math.ceil(n / KASAN_GRANULE_SIZE) * KASAN_GRANULE_SIZE;
}

/** The shadow byte of the granule holding byte `offset` of a region accessible for its first `size` bytes. */
function granuleShadow(offset: number, size: number, poison: number): number {
  const start = offset - (offset % KASAN_GRANULE_SIZE);
  if (start + KASAN_GRANULE_SIZE <= size) return 0;
  if (start < size) return size - start;
  return poison;
}

/** kasan_byte_accessible(): shadow 0..7. */
function accessible(shadow: number): boolean {
  return shadow < KASAN_GRANULE_SIZE;
}

/** The head frame of the compound page holding pfn, if it has one. */
function compoundHead(m: Machine, pfn: number): number | undefined {
  for (let o = 0; o <= 10; o++) {
    const head = pfn & ~((1 << o) - 1);
    const f = m.frames.flags[head]!;
    if (f & PG_HEAD && !(f & PG_TAIL) && pfn < head + (1 << m.frames.order[head]!)) return head;
  }
  return undefined;
}
