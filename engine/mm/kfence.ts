/*
 * KFENCE, the Kernel Electric-Fence (Linux 6.12: mm/kfence/core.c, report.c, kfence.h, include/linux/kfence.h,
 * lib/Kconfig.kfence, Documentation/dev-tools/kfence.rst), as a pure model the machine can wire in.
 *
 * KFENCE serves a sample of slab allocations from a fixed pool of CONFIG_KFENCE_NUM_OBJECTS (255) objects, one
 * object per page, each object page followed by a guard page: KFENCE_POOL_SIZE = (255 + 1) * 2 * PAGE_SIZE =
 * 2 MiB. Pages 0 and 1 are both guard pages (page 0 only pads the pool to an even page count, so that
 * addr_to_metadata() is `(addr - pool) / (2 * PAGE_SIZE) - 1`); object i lives in page 2 * (i + 1) and page
 * 2 * (i + 1) + 1 is its right guard, which is also the left guard of object i + 1. An object sits at the start
 * of its page or, with probability 1/2, at its end (`addr = ALIGN_DOWN(page + PAGE_SIZE - size, cache->align)`),
 * so that one side touches a guard page; the rest of the page is filled with a canary whose byte at address a is
 * 0xaa ^ (a & 7). Invariants:
 *   - guard pages (pages 0, 1 and every odd page) are protected, except a guard page a fault unprotected: an
 *     out-of-bounds fault records it in the blamed object's unprotected_page, and kfence_guarded_free() zeroes
 *     and re-protects it; a fault that blames nobody ("invalid access") leaves it unprotected for good;
 *   - an object page is protected exactly while its object is FREED (until a use-after-free fault unprotects it,
 *     after which further accesses are not caught until the object is reused); UNUSED object pages were never
 *     protected (kfence_init_pool() protects only pages 0, 1 and the right guards);
 *   - every object is either on kfence_freelist or ALLOCATED/RCU_FREEING (or a zombie of a destroyed cache);
 *     freed objects go to the tail and allocation takes the head, so the least recently freed is reused first;
 *   - canary bytes are checked only when the object is freed (check_canary()), or for all live objects with
 *     kfence.check_on_panic: a write into the object's page outside the object does not fault.
 *
 * Sampling (KfenceSampler): a delayed work (toggle_allocation_gate()) runs every kfence.sample_interval ms
 * (CONFIG_KFENCE_SAMPLE_INTERVAL = 100) and sets kfence_allocation_gate to -kfence.burst (burst mode is 6.12,
 * "kfence: introduce burst mode"); kfence_alloc() returns NULL while the gate is > 0, and __kfence_alloc()
 * increments it, so 1 + burst allocations per interval reach the pool. With CONFIG_KFENCE_STATIC_KEYS (default
 * n) the static key is switched on only while waiting and the next interval starts after the sampled
 * allocation; without it (the default) the timer re-opens the gate every interval whether or not anything was
 * allocated. Before touching the gate __kfence_alloc() skips sizes > PAGE_SIZE, GFP_ZONEMASK and (with more
 * than one online node) __GFP_THISNODE requests and SLAB_CACHE_DMA/DMA32 caches ("skipped allocations
 * (incompatible)"), and SLAB_SKIP_KFENCE caches (uncounted); after it, once more than 255 * 75 / 100 = 191
 * objects are allocated (kfence.skip_covered_thresh = 75), an allocation whose stack hash the counting Bloom
 * filter alloc_covered[] already holds is skipped ("skipped allocations (covered)"). __GFP_ZERO is not a
 * reason to skip: slab_want_init_on_alloc() zeroes the object after the canary is written.
 *
 * Reports (kfence_report_error()) are printed as 6.12 prints them: "(N.NNNNNNs ago)" after each track's time
 * and the "rcu freeing" track are 6.12 (August 2024 patches), so the 5.13 examples of kfence.rst lack them.
 * check_canary() runs after metadata_update_state(FREED), so a "memory corruption" report found at free shows
 * the free stack too. Addresses are printed with "0x%p": hashed (0x00000000 + 32 bits of siphash with a boot
 * key) unless the kernel was booted with no_hash_pointers, which also makes print_diff_canary() show corrupted
 * bytes as " 0x%02x" instead of " !". The model prints raw addresses by default (`noHashPointers: true`); with
 * `noHashPointers: false` it hashes through a caller-supplied function (a fixed 32-bit mix by default, which
 * cannot match a real kernel's). Function names and stack lines (%pS) and the trailing "CPU: ... Comm: ..."
 * lines (dump_stack_print_info(), or show_regs() with no_hash_pointers on a fault) are the caller's text.
 *
 * Randomness: the pool takes a `random()` callback returning 32-bit integers. kfence_init() draws
 * stack_hash_seed (one call at construction) and every kfence_guarded_alloc() call draws
 * get_random_u32_below(2) first (even when the freelist is empty): for a bound <= 256 that is
 * `(get_random_u8() * 2) >> 8`, modelled on the low byte of one random() value, so the object goes right
 * iff bit 7 of that value is set. CONFIG_KFENCE_STRESS_TEST_FAULTS is 0 (no second draw).
 *
 * Not modelled, or simplified: the alloc-covered hash is a 32-bit FNV-1a of the first UNIQUE_ALLOC_STACK_DEPTH
 * (8) stack lines mixed with the seed, not jhash() of return addresses after filter_irq_stacks(); the
 * get_stack_skipnr() trimming of allocator frames (the caller passes stacks that start at the interesting
 * frame); the deferrable timer and msecs_to_jiffies() rounding; KFENCE_WARN_ON() self-disabling; kfree() of a
 * SLAB_TYPESAFE_BY_RCU object that is already FREED (the kernel re-queues it through call_rcu() and trips
 * KFENCE_WARN_ON(!list_empty(&meta->list)); the model reports the invalid free at once). A fault is taken at
 * the first byte of the access that lies in a protected page; after it the page is unprotected and the access
 * goes on, so an access spanning two protected pages faults twice (KfenceReport.next).
 */

import { __GFP_DMA, __GFP_DMA32, __GFP_HIGHMEM, __GFP_MOVABLE, __GFP_THISNODE, __GFP_ZERO } from './gfp';

/** PAGE_SIZE of the modelled kernel (x86-64, 4 KiB pages). */
export const KFENCE_PAGE_SIZE = 4096;
const PAGE = BigInt(KFENCE_PAGE_SIZE);
/** lib/Kconfig.kfence: CONFIG_KFENCE_NUM_OBJECTS default (range 1..65535). */
export const CONFIG_KFENCE_NUM_OBJECTS = 255;
/** lib/Kconfig.kfence: CONFIG_KFENCE_SAMPLE_INTERVAL default, in milliseconds (0 disables KFENCE). */
export const CONFIG_KFENCE_SAMPLE_INTERVAL = 100;
/** include/linux/kfence.h: KFENCE_POOL_SIZE = (CONFIG_KFENCE_NUM_OBJECTS + 1) * 2 * PAGE_SIZE (2 MiB). */
export const KFENCE_POOL_SIZE = (CONFIG_KFENCE_NUM_OBJECTS + 1) * 2 * KFENCE_PAGE_SIZE;
/** mm/kfence/kfence.h: maximum stack depth kept per track. */
export const KFENCE_STACK_DEPTH = 64;
/** mm/kfence/core.c: kfence.skip_covered_thresh default (pool usage %). */
export const KFENCE_SKIP_COVERED_THRESH = 75;
/** mm/kfence/core.c: stack depth used to determine uniqueness of an allocation. */
export const UNIQUE_ALLOC_STACK_DEPTH = 8;
/** mm/kfence/core.c: hash functions of the alloc_covered counting Bloom filter. */
export const ALLOC_COVERED_HNUM = 2;
/** include/linux/hash.h: GOLDEN_RATIO_32, used by hash_32(). */
export const GOLDEN_RATIO_32 = 0x61c88647;
/** include/linux/gfp.h: GFP_ZONEMASK, the zone modifiers KFENCE refuses. */
export const GFP_ZONEMASK = __GFP_DMA | __GFP_HIGHMEM | __GFP_DMA32 | __GFP_MOVABLE;
/** mm/kfence/kfence.h: KFENCE_CANARY_PATTERN_U64, the canary of an 8-byte-aligned word (little-endian bytes). */
export const KFENCE_CANARY_PATTERN_U64 = 0xaaaaaaaaaaaaaaaan ^ 0x0706050403020100n;
/** mm/kfence/report.c: the report banner. */
export const KFENCE_BANNER = '==================================================================';

const MASK64 = (1n << 64n) - 1n;

/** mm/kfence/kfence.h: KFENCE_CANARY_PATTERN_U8(addr) = (u8)0xaa ^ (u8)(addr & 0x7). */
export function kfenceCanaryPattern(addr: bigint): number {
  return 0xaa ^ Number(addr & 7n);
}

/** ALLOC_COVERED_ORDER = const_ilog2(CONFIG_KFENCE_NUM_OBJECTS) + 2 (9 for 255 objects: 512 counters). */
export function allocCoveredOrder(numObjects: number): number {
  return Math.floor(Math.log2(numObjects)) + 2;
}

/** include/linux/hash.h: hash_32(val, bits) = (val * GOLDEN_RATIO_32) >> (32 - bits), on u32. */
export function hash32(val: number, bits: number): number {
  return Math.imul(val, GOLDEN_RATIO_32) >>> (32 - bits);
}

/** enum kfence_object_state. */
export type KfenceObjectState = 'unused' | 'allocated' | 'rcu-freeing' | 'freed';

/** enum kfence_error_type, by the words its report headline uses. */
export type KfenceErrorType = 'out-of-bounds' | 'use-after-free' | 'memory-corruption' | 'invalid' | 'invalid-free';

/** The kmem_cache facts KFENCE reads. */
export interface KfenceCache {
  /** cache->name ("kmalloc-32"); also the identity kfenceShutdownCache() matches. */
  readonly name: string;
  /** cache->align: a power of two (at least 8 for SLUB caches on x86-64). */
  readonly align: number;
  /** SLAB_CACHE_DMA | SLAB_CACHE_DMA32: never sampled ("incompatible"). */
  readonly dma?: boolean;
  /** SLAB_SKIP_KFENCE: never sampled, not counted. */
  readonly skipKfence?: boolean;
  /** SLAB_TYPESAFE_BY_RCU: kfree() defers the guarded free to an RCU callback (state RCU_FREEING). */
  readonly typesafeByRcu?: boolean;
}

/** struct kfence_track: who allocated or freed, where and when. */
export interface KfenceTrackInfo {
  /** task_pid_nr(current). */
  readonly pid: number;
  /** raw_smp_processor_id(). */
  readonly cpu: number;
  /** local_clock() in nanoseconds (the printk clock). */
  readonly tsNsec: number;
  /** %pS lines without the leading space, innermost first (already past the allocator's own frames). */
  readonly stack: readonly string[];
}

/** What a report needs from the caller besides the object: its clock, stack and trailing header lines. */
export interface KfenceReportContext {
  /** local_clock() when the report prints, in nanoseconds: the "(N s ago)" intervals. */
  readonly nowNsec: number;
  /** The reporting stack (%pS lines); its first line is the function of the "BUG: KFENCE:" headline. */
  readonly stack: readonly string[];
  /** dump_stack_print_info()/show_regs() lines printed before the closing banner ("CPU: 0 UID: 0 PID: ..."). */
  readonly footer?: readonly string[];
}

/** A free's track doubles as its report context (the free's stack is the corruption report's stack). */
export type KfenceFreeInfo = KfenceTrackInfo & { readonly footer?: readonly string[] };

/** One kfence_report_error() call. */
export interface KfenceReport {
  readonly type: KfenceErrorType;
  /** The faulting, corrupted or freed address. */
  readonly address: bigint;
  readonly isWrite: boolean;
  /** The object reported on (meta - kfence_metadata); -1 for an invalid access. */
  readonly objectIndex: number;
  /** Out-of-bounds only: which side of the object, and the distance report.c prints. */
  readonly side?: 'left' | 'right';
  readonly distance?: number;
  /** The printed lines, from banner to banner. */
  readonly lines: readonly string[];
  /** A second fault of the same access, on a further protected page. */
  readonly next?: KfenceReport;
}

/** A read-only view of struct kfence_metadata. */
export interface KfenceObjectInfo {
  readonly index: number;
  readonly state: KfenceObjectState;
  /** meta->addr: the object's address (its page's address while never allocated). */
  readonly addr: bigint;
  readonly size: number;
  /** The cache of the last allocation; undefined if never allocated or destroyed ("<destroyed>"). */
  readonly cacheName: string | undefined;
  readonly allocTrack: KfenceTrackInfo | undefined;
  readonly freeTrack: KfenceTrackInfo | undefined;
  /** meta->unprotected_page, 0n when none. */
  readonly unprotectedPage: bigint;
  readonly allocStackHash: number;
}

/** The debugfs "stats" counters (enum kfence_counter_id). */
export interface KfenceCounters {
  allocated: number;
  allocs: number;
  frees: number;
  zombies: number;
  bugs: number;
  skipIncompat: number;
  skipCapacity: number;
  skipCovered: number;
}

export interface KfencePoolOptions {
  /** The pool's virtual address (__kfence_pool); page aligned. */
  readonly base: bigint;
  /** Its physical address, for physOf(); the pool is one memblock allocation in the direct map. */
  readonly physBase?: bigint;
  /** 32-bit random integers (get_random_u32() / get_random_u8() stand-in). */
  readonly random: () => number;
  /** CONFIG_KFENCE_NUM_OBJECTS; 255 by default. */
  readonly numObjects?: number;
  /** Print raw addresses and corrupted byte values, as when booted with no_hash_pointers (default true). */
  readonly noHashPointers?: boolean;
  /** The 32-bit value %p prints for an address when hashing. */
  readonly hashPointer?: (addr: bigint) => number;
}

export interface KfenceAllocOptions {
  /** slab_want_init_on_alloc(): init_on_alloc or __GFP_ZERO; the object is zeroed after the canary. */
  readonly zero?: boolean;
  /** The alloc-covered stack hash; allocStackHash(track.stack) by default. */
  readonly stackHash?: number;
}

export interface KfenceFreeOptions {
  /** slab_want_init_on_free(): zero the object after the canary check. */
  readonly initOnFree?: boolean;
}

/** What kfree() of a pool address came to. */
export interface KfenceFreeResult {
  /**
   * freed: back on the freelist, page protected; rcu-pending: SLAB_TYPESAFE_BY_RCU, the guarded free waits for
   * runRcuCallbacks(); invalid-free: reported, nothing changed; not-object-page: the address is in the pool
   * but on a guard page (not PG_slab, so kfree() would never route it to KFENCE); not-kfence: outside the pool.
   */
  readonly status: 'freed' | 'rcu-pending' | 'invalid-free' | 'not-object-page' | 'not-kfence';
  /** The invalid-free report, or the memory-corruption reports of the canary check (left side first). */
  readonly reports: readonly KfenceReport[];
}

interface Meta {
  readonly index: number;
  state: KfenceObjectState;
  addr: bigint;
  size: number;
  cache: KfenceCache | undefined;
  unprotectedPage: bigint;
  allocTrack: KfenceTrackInfo | undefined;
  freeTrack: KfenceTrackInfo | undefined;
  allocStackHash: number;
  onFreelist: boolean;
}

function alignDown(v: bigint, a: bigint): bigint {
  return v - (v % a);
}

/** A fixed 32-bit mix (murmur3 fmix64, low half) standing in for the kernel's keyed siphash of %p. */
export function defaultPointerHash(addr: bigint): number {
  let h = addr & MASK64;
  h ^= h >> 33n;
  h = (h * 0xff51afd7ed558ccdn) & MASK64;
  h ^= h >> 33n;
  h = (h * 0xc4ceb9fe1a85ec53n) & MASK64;
  h ^= h >> 33n;
  return Number(h & 0xffffffffn);
}

/** "%lu.%06lu" of a nanosecond count, as kfence_print_stack() prints times and intervals (u64 arithmetic). */
export function formatKfenceTime(nsec: bigint): string {
  const v = ((nsec % (1n << 64n)) + (1n << 64n)) % (1n << 64n);
  const sec = v / 1_000_000_000n;
  const usec = (v % 1_000_000_000n) / 1000n;
  return `${sec}.${usec.toString().padStart(6, '0')}`;
}

/**
 * The KFENCE pool: metadata, freelist, page protection, page contents, alloc-covered filter and counters
 * (mm/kfence/core.c), with the reports of mm/kfence/report.c. Methods never throw on bad addresses: they return
 * what the kernel would do (nothing, or a report).
 */
export class KfencePool {
  /** __kfence_pool. */
  readonly base: bigint;
  readonly physBase: bigint | undefined;
  readonly numObjects: number;
  /** KFENCE_POOL_SIZE for numObjects. */
  readonly poolSize: number;
  readonly noHashPointers: boolean;
  /** kfence_enabled as the fault handler reads it (a disabled KFENCE unprotects and lets the access go). */
  enabled = true;
  readonly counters: KfenceCounters = {
    allocated: 0,
    allocs: 0,
    frees: 0,
    zombies: 0,
    bugs: 0,
    skipIncompat: 0,
    skipCapacity: 0,
    skipCovered: 0,
  };
  /** stack_hash_seed, drawn at construction (kfence_init()). */
  readonly stackHashSeed: number;

  private readonly random: () => number;
  private readonly hashPointer: (addr: bigint) => number;
  private readonly metas: Meta[] = [];
  private readonly freelist: number[] = [];
  private readonly protectedPages: Uint8Array;
  private readonly pages = new Map<number, Uint8Array>();
  private readonly coveredOrder: number;
  private readonly covered: Int32Array;
  private readonly rcuQueue: number[] = [];

  constructor(opts: KfencePoolOptions) {
    const n = opts.numObjects ?? CONFIG_KFENCE_NUM_OBJECTS;
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new RangeError(`kfence: numObjects ${n} not in 1..65535`);
    if (opts.base % PAGE !== 0n) throw new RangeError('kfence: the pool must be page aligned');
    this.base = opts.base;
    this.physBase = opts.physBase;
    this.numObjects = n;
    this.poolSize = (n + 1) * 2 * KFENCE_PAGE_SIZE;
    this.random = opts.random;
    this.noHashPointers = opts.noHashPointers ?? true;
    this.hashPointer = opts.hashPointer ?? defaultPointerHash;
    this.stackHashSeed = opts.random() >>> 0;
    this.coveredOrder = allocCoveredOrder(n);
    this.covered = new Int32Array(1 << this.coveredOrder);
    // kfence_init_pool(): protect pages 0 and 1, then each object's right guard; queue every object in order.
    this.protectedPages = new Uint8Array(this.poolSize / KFENCE_PAGE_SIZE);
    this.protectedPages[0] = 1;
    this.protectedPages[1] = 1;
    for (let i = 0; i < n; i++) {
      this.metas.push({
        index: i,
        state: 'unused',
        addr: this.objectPageAddress(i),
        size: 0,
        cache: undefined,
        unprotectedPage: 0n,
        allocTrack: undefined,
        freeTrack: undefined,
        allocStackHash: 0,
        onFreelist: true,
      });
      this.freelist.push(i);
      this.protectedPages[2 * (i + 1) + 1] = 1;
    }
  }

  /* --- Geometry ------------------------------------------------------------------------------------------ */

  /** is_kfence_address(). */
  isKfenceAddress(addr: bigint): boolean {
    return addr >= this.base && addr - this.base < BigInt(this.poolSize);
  }

  /** The page address of object i: __kfence_pool + (i + 1) * 2 * PAGE_SIZE (metadata_to_pageaddr()). */
  objectPageAddress(index: number): bigint {
    return this.base + BigInt((index + 1) * 2) * PAGE;
  }

  /** The pool page index of an address ((addr - pool) / PAGE_SIZE), or undefined outside the pool. */
  pageIndexOf(addr: bigint): number | undefined {
    return this.isKfenceAddress(addr) ? Number((addr - this.base) / PAGE) : undefined;
  }

  /** addr_to_metadata(): the object whose page or right guard page holds addr; undefined for pages 0 and 1. */
  addrToMetadataIndex(addr: bigint): number | undefined {
    if (!this.isKfenceAddress(addr)) return undefined;
    const index = Number((addr - this.base) / (2n * PAGE)) - 1;
    return index < 0 || index >= this.numObjects ? undefined : index;
  }

  /** True if addr lies in an object page (not a guard page). */
  isObjectPage(addr: bigint): boolean {
    const p = this.pageIndexOf(addr);
    return p !== undefined && p >= 2 && p % 2 === 0;
  }

  /** True if addr lies in a page that is protected now (an access there faults). */
  isProtected(addr: bigint): boolean {
    const p = this.pageIndexOf(addr);
    return p !== undefined && this.protectedPages[p] === 1;
  }

  /** __pa() of a pool address, when a physical base was given. */
  physOf(addr: bigint): bigint | undefined {
    return this.physBase === undefined || !this.isKfenceAddress(addr) ? undefined : this.physBase + (addr - this.base);
  }

  /** kfence_ksize(): meta->size of the object owning addr's page pair (0 outside). */
  ksize(addr: bigint): number {
    const i = this.addrToMetadataIndex(addr);
    return i === undefined ? 0 : this.metas[i]!.size;
  }

  /** kfence_object_start(): meta->addr of the object owning addr's page pair. */
  objectStart(addr: bigint): bigint | undefined {
    const i = this.addrToMetadataIndex(addr);
    return i === undefined ? undefined : this.metas[i]!.addr;
  }

  /** A view of object i's metadata. */
  object(index: number): KfenceObjectInfo {
    const m = this.metas[index];
    if (!m) throw new RangeError(`kfence: no object #${index}`);
    return {
      index: m.index,
      state: m.state,
      addr: m.addr,
      size: m.size,
      cacheName: m.cache?.name,
      allocTrack: m.allocTrack,
      freeTrack: m.freeTrack,
      unprotectedPage: m.unprotectedPage,
      allocStackHash: m.allocStackHash,
    };
  }

  /** kfence_freelist, head first (the next allocation takes the head). */
  freelistOrder(): number[] {
    return [...this.freelist];
  }

  /** Objects waiting for an RCU grace period (call_rcu(rcu_guarded_free) issued, not yet run). */
  pendingRcu(): number[] {
    return [...this.rcuQueue];
  }

  /* --- Memory -------------------------------------------------------------------------------------------- */

  /** Read pool memory without any check (undefined if the range leaves the pool). Unwritten bytes read 0. */
  read(addr: bigint, len: number): Uint8Array | undefined {
    if (len < 0 || !this.isKfenceAddress(addr) || (len > 0 && !this.isKfenceAddress(addr + BigInt(len - 1)))) {
      return undefined;
    }
    const out = new Uint8Array(len);
    for (let k = 0; k < len; k++) out[k] = this.byteAt(addr + BigInt(k));
    return out;
  }

  /** Store into pool memory without any check (the caller ran checkAccess() first); false outside the pool. */
  write(addr: bigint, bytes: ArrayLike<number>): boolean {
    const len = bytes.length;
    if (!this.isKfenceAddress(addr) || (len > 0 && !this.isKfenceAddress(addr + BigInt(len - 1)))) return false;
    for (let k = 0; k < len; k++) this.setByte(addr + BigInt(k), bytes[k]! & 0xff);
    return true;
  }

  private byteAt(addr: bigint): number {
    const off = Number(addr - this.base);
    const page = this.pages.get(Math.floor(off / KFENCE_PAGE_SIZE));
    return page ? page[off % KFENCE_PAGE_SIZE]! : 0;
  }

  private setByte(addr: bigint, v: number): void {
    const off = Number(addr - this.base);
    const p = Math.floor(off / KFENCE_PAGE_SIZE);
    let page = this.pages.get(p);
    if (!page) {
      if (v === 0) return;
      page = new Uint8Array(KFENCE_PAGE_SIZE);
      this.pages.set(p, page);
    }
    page[off % KFENCE_PAGE_SIZE] = v;
  }

  private zero(addr: bigint, len: number): void {
    for (let k = 0; k < len; k++) this.setByte(addr + BigInt(k), 0);
  }

  private setProtected(addr: bigint, on: boolean): void {
    const p = this.pageIndexOf(addr);
    if (p !== undefined) this.protectedPages[p] = on ? 1 : 0;
  }

  /* --- Alloc-covered filter ------------------------------------------------------------------------------ */

  /** The allocation's stack hash (see the header: FNV-1a of the first 8 lines and the seed, not jhash()). */
  allocStackHash(stack: readonly string[]): number {
    let h = 0x811c9dc5 ^ this.stackHashSeed;
    for (const line of stack.slice(0, UNIQUE_ALLOC_STACK_DEPTH)) {
      for (let k = 0; k < line.length; k++) h = Math.imul(h ^ line.charCodeAt(k), 0x01000193);
      h = Math.imul(h ^ 0x0a, 0x01000193);
    }
    return h >>> 0;
  }

  /** alloc_covered_add(): add val to the ALLOC_COVERED_HNUM counters of the hash. */
  private coveredAdd(hash: number, val: number): void {
    let h = hash >>> 0;
    for (let i = 0; i < ALLOC_COVERED_HNUM; i++) {
      this.covered[h & (this.covered.length - 1)] += val;
      h = hash32(h, this.coveredOrder);
    }
  }

  /** alloc_covered_contains(): every counter of the hash non-zero. */
  allocCoveredContains(hash: number): boolean {
    let h = hash >>> 0;
    for (let i = 0; i < ALLOC_COVERED_HNUM; i++) {
      if (this.covered[h & (this.covered.length - 1)] === 0) return false;
      h = hash32(h, this.coveredOrder);
    }
    return true;
  }

  /* --- Allocation and free ------------------------------------------------------------------------------- */

  /**
   * kfence_guarded_alloc(): take the freelist's head, place the object left or right in its page, write the
   * canary. Undefined when size is not in 1..PAGE_SIZE (counted "incompatible", checked before the random draw
   * as __kfence_alloc() does) or the freelist is empty (counted "capacity"). Unsampled: KfenceSampler decides
   * whether an allocation comes here.
   */
  alloc(size: number, cache: KfenceCache, track: KfenceTrackInfo, opts: KfenceAllocOptions = {}): bigint | undefined {
    if (!Number.isInteger(size) || size < 1 || size > KFENCE_PAGE_SIZE) {
      this.counters.skipIncompat++;
      return undefined;
    }
    if (!Number.isInteger(cache.align) || cache.align < 1 || (cache.align & (cache.align - 1)) !== 0) {
      throw new RangeError(`kfence: cache ${cache.name} align ${cache.align} is not a power of two`);
    }
    // get_random_u32_below(2) = (get_random_u8() * 2) >> 8, drawn before the freelist is looked at.
    const rightAllocate = ((this.random() & 0xff) * 2) >> 8 === 1;
    const index = this.freelist.shift();
    if (index === undefined) {
      this.counters.skipCapacity++;
      return undefined;
    }
    const meta = this.metas[index]!;
    meta.onFreelist = false;
    const pageaddr = this.objectPageAddress(index);
    if (meta.state === 'freed') this.setProtected(pageaddr, false); // Unprotect if we're reusing this page.
    let addr = pageaddr;
    if (rightAllocate) addr = alignDown(addr + PAGE - BigInt(size), BigInt(Math.min(cache.align, KFENCE_PAGE_SIZE)));
    meta.addr = addr;
    meta.allocTrack = { ...track, stack: track.stack.slice(0, KFENCE_STACK_DEPTH) };
    meta.state = 'allocated';
    meta.cache = cache;
    meta.size = size;
    meta.allocStackHash = (opts.stackHash ?? this.allocStackHash(track.stack)) >>> 0;
    this.coveredAdd(meta.allocStackHash, 1);
    this.setCanary(meta);
    if (opts.zero) this.zero(addr, size);
    this.counters.allocated++;
    this.counters.allocs++;
    return addr;
  }

  /** set_canary(): whole u64 words from the page start up to the object, and from ALIGN_DOWN(end, 8) on. */
  private setCanary(meta: Meta): void {
    const pageaddr = alignDown(meta.addr, PAGE);
    for (let a = pageaddr; a < meta.addr; a += 8n) this.writeCanaryWord(a);
    for (let a = alignDown(meta.addr + BigInt(meta.size), 8n); a - pageaddr < PAGE; a += 8n) this.writeCanaryWord(a);
  }

  private writeCanaryWord(a: bigint): void {
    for (let k = 0n; k < 8n; k++) this.setByte(a + k, Number((KFENCE_CANARY_PATTERN_U64 >> (8n * k)) & 0xffn));
  }

  /**
   * check_canary(): the lowest corrupted byte left of the object and the lowest right of it, each reported
   * (the u64 fast path of 6.4+ finds the same bytes as a byte-wise scan). Object bytes are not checked.
   */
  private checkCanary(meta: Meta, ctx: KfenceReportContext): KfenceReport[] {
    const out: KfenceReport[] = [];
    const pageaddr = alignDown(meta.addr, PAGE);
    const end = meta.addr + BigInt(meta.size);
    const scan = (from: bigint, to: bigint): void => {
      for (let a = from; a < to; a++) {
        if (this.byteAt(a) !== kfenceCanaryPattern(a)) {
          this.counters.bugs++;
          out.push(this.report('memory-corruption', a, false, meta, ctx));
          return;
        }
      }
    };
    scan(pageaddr, meta.addr);
    scan(end, pageaddr + PAGE);
    return out;
  }

  /**
   * kfree() of a pool address: __kfence_free(). A SLAB_TYPESAFE_BY_RCU object moves to RCU_FREEING (its free
   * track is recorded now, unless it already was RCU_FREEING) and is freed by runRcuCallbacks(); everything
   * else goes through kfence_guarded_free(): an address that is not an ALLOCATED/RCU_FREEING object's start is
   * an invalid free (double free, interior pointer, never-used object); otherwise the guard page an OOB fault
   * unprotected is zeroed and re-protected, the object is marked FREED, its canary checked (memory-corruption
   * reports), its page protected and it goes to the freelist's tail.
   */
  free(addr: bigint, info: KfenceFreeInfo, opts: KfenceFreeOptions = {}): KfenceFreeResult {
    if (!this.isKfenceAddress(addr)) return { status: 'not-kfence', reports: [] };
    if (!this.isObjectPage(addr)) return { status: 'not-object-page', reports: [] };
    const meta = this.metas[this.addrToMetadataIndex(addr)!]!;
    if (meta.cache?.typesafeByRcu && (meta.state === 'allocated' || meta.state === 'rcu-freeing')) {
      if (meta.state !== 'rcu-freeing') meta.freeTrack = this.trackOf(info); // metadata_update_state(RCU_FREEING)
      meta.state = 'rcu-freeing';
      this.rcuQueue.push(meta.index); // call_rcu(&meta->rcu_head, rcu_guarded_free)
      return { status: 'rcu-pending', reports: [] };
    }
    return this.guardedFree(addr, meta, false, info, info, opts);
  }

  /**
   * Run the pending rcu_guarded_free() callbacks (a grace period elapsed): each frees meta->addr, whatever
   * address kfree() was given; a second callback for the same object reports an invalid free. `ctx` is the
   * callback's context (RCU softirq stack) for any report.
   */
  runRcuCallbacks(ctx: KfenceReportContext, opts: KfenceFreeOptions = {}): KfenceReport[] {
    const out: KfenceReport[] = [];
    for (const index of this.rcuQueue.splice(0)) {
      const meta = this.metas[index]!;
      out.push(...this.guardedFree(meta.addr, meta, false, undefined, ctx, opts).reports);
    }
    return out;
  }

  private trackOf(info: KfenceTrackInfo): KfenceTrackInfo {
    return { pid: info.pid, cpu: info.cpu, tsNsec: info.tsNsec, stack: info.stack.slice(0, KFENCE_STACK_DEPTH) };
  }

  /** kfence_guarded_free(). `track` is the free's track (undefined: keep the one RCU_FREEING recorded). */
  private guardedFree(
    addr: bigint,
    meta: Meta,
    zombie: boolean,
    track: KfenceTrackInfo | undefined,
    ctx: KfenceReportContext | KfenceFreeInfo,
    opts: KfenceFreeOptions,
  ): KfenceFreeResult {
    const rctx = contextOf(ctx);
    if (!(meta.state === 'allocated' || meta.state === 'rcu-freeing') || meta.addr !== addr) {
      this.counters.bugs++;
      return { status: 'invalid-free', reports: [this.report('invalid-free', addr, false, meta, rctx)] };
    }
    if (meta.unprotectedPage !== 0n) {
      this.zero(alignDown(meta.unprotectedPage, PAGE), KFENCE_PAGE_SIZE);
      this.setProtected(meta.unprotectedPage, true);
      meta.unprotectedPage = 0n;
    }
    // metadata_update_state(FREED): the track saved at RCU_FREEING time is kept.
    if (meta.state !== 'rcu-freeing') meta.freeTrack = this.trackOf(track ?? trackFromContext(rctx));
    meta.state = 'freed';
    this.coveredAdd(meta.allocStackHash, -1);
    const reports = this.checkCanary(meta, rctx);
    if (!zombie && opts.initOnFree) this.zero(addr, meta.size);
    this.setProtected(meta.addr, true);
    if (!zombie) {
      meta.onFreelist = true;
      this.freelist.push(meta.index);
      this.counters.allocated--;
      this.counters.frees++;
    } else {
      this.counters.zombies++;
    }
    return { status: 'freed', reports };
  }

  /**
   * kfence_shutdown_cache(): live objects of the destroyed cache become zombies (freed, protected, never
   * reused; the caller's stack is their free track), then every FREED object of it forgets its cache
   * ("cache=<destroyed>"). Returns the canary reports of the zombie frees.
   */
  shutdownCache(cacheName: string, info: KfenceFreeInfo): KfenceReport[] {
    const out: KfenceReport[] = [];
    for (const meta of this.metas) {
      if (meta.cache?.name !== cacheName || !(meta.state === 'allocated' || meta.state === 'rcu-freeing')) continue;
      out.push(...this.guardedFree(meta.addr, meta, true, info, info, {}).reports);
    }
    for (const meta of this.metas) {
      if (meta.cache?.name === cacheName && meta.state === 'freed') meta.cache = undefined;
    }
    return out;
  }

  /** kfence_check_all_canary() (kfence.check_on_panic): check every live object's canary. */
  checkAllCanaries(ctx: KfenceReportContext): KfenceReport[] {
    const out: KfenceReport[] = [];
    for (const meta of this.metas) {
      if (meta.state === 'allocated' || meta.state === 'rcu-freeing') out.push(...this.checkCanary(meta, ctx));
    }
    return out;
  }

  /* --- Faults -------------------------------------------------------------------------------------------- */

  /**
   * An access of `size` bytes at addr: undefined when it touches no protected pool page (outside the pool, an
   * allocated object, the canary around it, an unused or already unprotected page); otherwise the report of
   * kfence_handle_page_fault() for the first protected byte. Like the kernel, the fault unprotects the page so
   * that the access proceeds: this call changes the pool's state.
   */
  checkAccess(addr: bigint, size: number, isWrite: boolean, ctx: KfenceReportContext): KfenceReport | undefined {
    if (size <= 0) return undefined;
    const poolEnd = this.base + BigInt(this.poolSize);
    const end = addr + BigInt(size) < poolEnd ? addr + BigInt(size) : poolEnd;
    const faults: KfenceReport[] = [];
    let a = addr > this.base ? addr : this.base;
    while (a < end) {
      if (this.isProtected(a)) {
        const r = this.handlePageFault(a, isWrite, ctx);
        if (r) faults.push(r);
      }
      a = alignDown(a, PAGE) + PAGE;
    }
    let chain: KfenceReport | undefined;
    for (let k = faults.length - 1; k >= 0; k--) chain = chain ? { ...faults[k]!, next: chain } : faults[k];
    return chain;
  }

  /**
   * kfence_handle_page_fault(addr): on a guard page, blame the allocated neighbour whose object is nearer
   * (the left one on a tie, and only ALLOCATED/RCU_FREEING ones) and remember the page in its
   * unprotected_page; on an object page, report a use-after-free; with nobody to blame, an invalid access.
   * Unprotects the page. Undefined outside the pool, or (no report) when KFENCE is disabled.
   */
  handlePageFault(addr: bigint, isWrite: boolean, ctx: KfenceReportContext): KfenceReport | undefined {
    const pageIndex = this.pageIndexOf(addr);
    if (pageIndex === undefined) return undefined;
    if (!this.enabled) {
      this.setProtected(addr, false);
      return undefined;
    }
    this.counters.bugs++;
    let toReport: Meta | undefined;
    let type: KfenceErrorType = 'invalid';
    if (pageIndex % 2 === 1) {
      let distance = 0n;
      const left = this.metaAt(addr - PAGE);
      if (left && (left.state === 'allocated' || left.state === 'rcu-freeing')) {
        toReport = left;
        distance = addr - (left.addr + BigInt(left.size));
      }
      const right = this.metaAt(addr + PAGE);
      if (right && (right.state === 'allocated' || right.state === 'rcu-freeing')) {
        if (!toReport || distance > right.addr - addr) toReport = right;
      }
      if (toReport) {
        toReport.unprotectedPage = addr;
        type = 'out-of-bounds';
      }
    } else {
      toReport = this.metaAt(addr);
      if (toReport) type = 'use-after-free';
    }
    const r = this.report(type, addr, isWrite, toReport, ctx);
    this.setProtected(addr, false);
    return r;
  }

  private metaAt(addr: bigint): Meta | undefined {
    const i = this.addrToMetadataIndex(addr);
    return i === undefined ? undefined : this.metas[i];
  }

  /* --- Reports ------------------------------------------------------------------------------------------- */

  /** "0x%p" of an address: raw with no_hash_pointers, else 0x00000000 and the 32-bit hash. */
  ptr(addr: bigint): string {
    const v = this.noHashPointers ? addr & MASK64 : BigInt(this.hashPointer(addr) >>> 0);
    return '0x' + v.toString(16).padStart(16, '0');
  }

  /** kfence_report_error(). */
  private report(
    type: KfenceErrorType,
    address: bigint,
    isWrite: boolean,
    meta: Meta | undefined,
    ctx: KfenceReportContext,
  ): KfenceReport {
    const access = isWrite ? 'write' : 'read';
    const fn = ctx.stack[0] ?? '0x0';
    const index = meta ? meta.index : -1;
    const lines = [KFENCE_BANNER];
    let side: 'left' | 'right' | undefined;
    let distance: number | undefined;
    switch (type) {
      case 'out-of-bounds': {
        const m = meta!;
        side = address < m.addr ? 'left' : 'right';
        distance = Number(side === 'left' ? m.addr - address : address - m.addr);
        lines.push(`BUG: KFENCE: out-of-bounds ${access} in ${fn}`, '');
        lines.push(`Out-of-bounds ${access} at ${this.ptr(address)} (${distance}B ${side} of kfence-#${index}):`);
        break;
      }
      case 'use-after-free':
        lines.push(`BUG: KFENCE: use-after-free ${access} in ${fn}`, '');
        lines.push(`Use-after-free ${access} at ${this.ptr(address)} (in kfence-#${index}):`);
        break;
      case 'memory-corruption':
        lines.push(`BUG: KFENCE: memory corruption in ${fn}`, '');
        lines.push(
          `Corrupted memory at ${this.ptr(address)} ${this.diffCanary(address, 16, meta!)} (in kfence-#${index}):`,
        );
        break;
      case 'invalid':
        lines.push(`BUG: KFENCE: invalid ${access} in ${fn}`, '');
        lines.push(`Invalid ${access} at ${this.ptr(address)}:`);
        break;
      case 'invalid-free':
        lines.push(`BUG: KFENCE: invalid free in ${fn}`, '');
        lines.push(`Invalid free of ${this.ptr(address)} (in kfence-#${index}):`);
        break;
    }
    for (const s of ctx.stack) lines.push(' ' + s);
    if (meta) lines.push('', ...this.describeObject(meta, ctx.nowNsec));
    lines.push('', ...(ctx.footer ?? []), KFENCE_BANNER);
    const r: KfenceReport = { type, address, isWrite, objectIndex: index, lines };
    return side === undefined ? r : { ...r, side, distance };
  }

  /** print_diff_canary(): up to `bytes` from address, stopping at the object or the page end. */
  private diffCanary(address: bigint, bytes: number, meta: Meta): string {
    const until = address + BigInt(bytes);
    const pageEnd = alignDown(address + PAGE - 1n, PAGE);
    const end = address < meta.addr ? (until < meta.addr ? until : meta.addr) : until < pageEnd ? until : pageEnd;
    let s = '[';
    for (let a = address; a < end; a++) {
      const b = this.byteAt(a);
      if (b === kfenceCanaryPattern(a)) s += ' .';
      else if (this.noHashPointers) s += ' 0x' + b.toString(16).padStart(2, '0');
      else s += ' !';
    }
    return s + ' ]';
  }

  /** kfence_print_object(): the object line, its allocation track and, once freed, its free track. */
  private describeObject(meta: Meta, nowNsec: number): string[] {
    if (meta.state === 'unused') return [`kfence-#${meta.index} unused`];
    const start = meta.addr;
    const last = start + BigInt(meta.size) - 1n;
    const cache = meta.cache?.name ?? '<destroyed>';
    const lines = [
      `kfence-#${meta.index}: ${this.ptr(start)}-${this.ptr(last)}, size=${meta.size}, cache=${cache}`,
      '',
      ...this.describeTrack(meta, true, nowNsec),
    ];
    if (meta.state === 'freed' || meta.state === 'rcu-freeing') {
      lines.push('', ...this.describeTrack(meta, false, nowNsec));
    }
    return lines;
  }

  /** kfence_print_stack(). */
  private describeTrack(meta: Meta, showAlloc: boolean, nowNsec: number): string[] {
    const track = showAlloc ? meta.allocTrack : meta.freeTrack;
    const what = showAlloc ? 'allocated' : meta.state === 'rcu-freeing' ? 'rcu freeing' : 'freed';
    const t = track ?? { pid: 0, cpu: 0, tsNsec: 0, stack: [] };
    const ts = BigInt(Math.trunc(t.tsNsec));
    const ago = BigInt(Math.trunc(nowNsec)) - ts;
    const at = `${formatKfenceTime(ts)}s (${formatKfenceTime(ago)}s ago)`;
    const head = `${what} by task ${t.pid} on cpu ${t.cpu} at ${at}:`;
    if (t.stack.length === 0) return [head, ` no ${showAlloc ? 'allocation' : 'deallocation'} stack`];
    return [head, ...t.stack.map((s) => ' ' + s)];
  }

  /** /sys/kernel/debug/kfence/objects: every object, each followed by a dashed line. */
  formatObjects(nowNsec: number): string[] {
    const out: string[] = [];
    for (const meta of this.metas) out.push(...this.describeObject(meta, nowNsec), '---------------------------------');
    return out;
  }

  /** /sys/kernel/debug/kfence/stats. */
  formatStats(enabled = this.enabled): string[] {
    const c = this.counters;
    return [
      `enabled: ${enabled ? 1 : 0}`,
      `currently allocated: ${c.allocated}`,
      `total allocations: ${c.allocs}`,
      `total frees: ${c.frees}`,
      `zombie allocations: ${c.zombies}`,
      `total bugs: ${c.bugs}`,
      `skipped allocations (incompatible): ${c.skipIncompat}`,
      `skipped allocations (capacity): ${c.skipCapacity}`,
      `skipped allocations (covered): ${c.skipCovered}`,
    ];
  }
}

function contextOf(ctx: KfenceReportContext | KfenceFreeInfo): KfenceReportContext {
  if ('nowNsec' in ctx) return ctx;
  return { nowNsec: ctx.tsNsec, stack: ctx.stack, footer: ctx.footer };
}

function trackFromContext(ctx: KfenceReportContext): KfenceTrackInfo {
  return { pid: 0, cpu: 0, tsNsec: ctx.nowNsec, stack: ctx.stack };
}

/* --- Sampling ------------------------------------------------------------------------------------------------ */

export interface KfenceSamplerOptions {
  /** kfence.sample_interval in ms (CONFIG_KFENCE_SAMPLE_INTERVAL = 100); 0 leaves KFENCE off. */
  readonly sampleIntervalMs?: number;
  /** kfence.burst (6.12): extra allocations per interval. */
  readonly burst?: number;
  /** kfence.skip_covered_thresh, pool usage % (75). */
  readonly skipCoveredThresh?: number;
  /** CONFIG_KFENCE_STATIC_KEYS (default n). */
  readonly staticKeys?: boolean;
  /** num_online_nodes(): __GFP_THISNODE is refused only on NUMA machines. */
  readonly onlineNodes?: number;
  /** When kfence_init() ran: the first toggle_allocation_gate() is queued with no delay. */
  readonly startMs?: number;
}

/** A slab allocation as kfence_alloc() sees it. */
export interface KfenceAllocRequest {
  /** The requested size (orig_size: kmalloc's argument, or the cache's object_size). */
  readonly size: number;
  readonly gfp: number;
  readonly cache: KfenceCache;
  readonly track: KfenceTrackInfo;
  /** init_on_alloc is on (slab_want_init_on_alloc() also zeroes for __GFP_ZERO). */
  readonly initOnAlloc?: boolean;
}

/** Why kfence_alloc() returned NULL, or 'sampled'. */
export type KfenceSampleOutcome =
  'sampled' | 'gate-closed' | 'incompatible' | 'skip-kfence' | 'disabled' | 'covered' | 'capacity';

/**
 * The allocation gate and its timer (toggle_allocation_gate(), kfence_alloc(), __kfence_alloc()). The machine
 * passes its clock in milliseconds; timer expiries up to `nowMs` are processed first.
 */
export class KfenceSampler {
  readonly pool: KfencePool;
  readonly burst: number;
  readonly skipCoveredThresh: number;
  readonly staticKeys: boolean;
  readonly onlineNodes: number;
  /** kfence_allocation_gate (ATOMIC_INIT(1)). */
  gate = 1;
  /** kfence_allocation_key. */
  keyEnabled = false;
  /** Why the last alloc() returned what it did. */
  lastOutcome: KfenceSampleOutcome | undefined;
  private interval: number;
  private enabled: boolean;
  private nextToggleMs: number | undefined;

  constructor(pool: KfencePool, opts: KfenceSamplerOptions = {}) {
    this.pool = pool;
    this.interval = opts.sampleIntervalMs ?? CONFIG_KFENCE_SAMPLE_INTERVAL;
    this.burst = opts.burst ?? 0;
    this.skipCoveredThresh = opts.skipCoveredThresh ?? KFENCE_SKIP_COVERED_THRESH;
    this.staticKeys = opts.staticKeys ?? false;
    this.onlineNodes = opts.onlineNodes ?? 1;
    this.enabled = this.interval > 0;
    pool.enabled = this.enabled;
    if (this.enabled) {
      // kfence_init_enable(): without static keys the key is simply on; queue the timer with no delay.
      if (!this.staticKeys) this.keyEnabled = true;
      this.nextToggleMs = opts.startMs ?? 0;
    }
  }

  /** kfence_sample_interval (0 reads back when disabled, as param_get_sample_interval() does). */
  get sampleIntervalMs(): number {
    return this.enabled ? this.interval : 0;
  }

  get isEnabled(): boolean {
    return this.enabled;
  }

  /** When the timer fires next (undefined: not queued, e.g. waiting for an allocation with static keys). */
  get nextToggle(): number | undefined {
    return this.nextToggleMs;
  }

  /** Process timer expiries up to nowMs (toggle_allocation_gate()). */
  advance(nowMs: number): void {
    while (this.nextToggleMs !== undefined && this.nextToggleMs <= nowMs) {
      const t = this.nextToggleMs;
      if (!this.enabled) {
        this.nextToggleMs = undefined; // returns without re-queueing itself
        return;
      }
      this.gate = -this.burst;
      if (this.staticKeys) {
        this.keyEnabled = true; // ... and wait_event_idle() until an allocation lifts the gate above 0
        this.nextToggleMs = undefined;
        return;
      }
      // Consecutive expiries with no allocation in between all leave the same state: skip to the last one.
      const periods = Math.floor((nowMs - t) / this.interval);
      this.nextToggleMs = t + (periods + 1) * this.interval;
    }
  }

  /** True if an allocation at nowMs would reach __kfence_alloc() (the inline kfence_alloc() checks). */
  gateOpen(nowMs: number): boolean {
    this.advance(nowMs);
    return this.keyEnabled && this.gate <= 0;
  }

  /**
   * kfence_alloc(s, size, flags) at nowMs: the pool address when the allocation is sampled, else undefined
   * (the slab allocator proceeds as usual); `lastOutcome` says why.
   */
  alloc(req: KfenceAllocRequest, nowMs: number): bigint | undefined {
    const out = this.tryAlloc(req, nowMs);
    this.lastOutcome = out.outcome;
    return out.addr;
  }

  private tryAlloc(req: KfenceAllocRequest, nowMs: number): { outcome: KfenceSampleOutcome; addr?: bigint } {
    if (!this.gateOpen(nowMs)) return { outcome: 'gate-closed' };
    const pool = this.pool;
    // __kfence_alloc(): checks that do not consume the gate.
    if (req.size > KFENCE_PAGE_SIZE || req.size < 1) {
      pool.counters.skipIncompat++;
      return { outcome: 'incompatible' };
    }
    if ((req.gfp & GFP_ZONEMASK) !== 0 || ((req.gfp & __GFP_THISNODE) !== 0 && this.onlineNodes > 1) || req.cache.dma) {
      pool.counters.skipIncompat++;
      return { outcome: 'incompatible' };
    }
    if (req.cache.skipKfence) return { outcome: 'skip-kfence' };
    this.gate++;
    if (this.gate > 1) return { outcome: 'gate-closed' };
    if (this.staticKeys && this.gate === 1) {
      // irq_work wakes the timer task, which disables the key and re-arms the timer.
      this.keyEnabled = false;
      this.nextToggleMs = nowMs + this.interval;
    }
    if (!this.enabled) return { outcome: 'disabled' };
    const hash = pool.allocStackHash(req.track.stack);
    const thresh = Math.floor((pool.numObjects * this.skipCoveredThresh) / 100);
    if (pool.counters.allocated > thresh && pool.allocCoveredContains(hash)) {
      pool.counters.skipCovered++;
      return { outcome: 'covered' };
    }
    const before = pool.counters.skipCapacity;
    const zero = (req.initOnAlloc ?? false) || (req.gfp & __GFP_ZERO) !== 0;
    const addr = pool.alloc(req.size, req.cache, req.track, { zero, stackHash: hash });
    if (addr === undefined) return { outcome: pool.counters.skipCapacity > before ? 'capacity' : 'incompatible' };
    return { outcome: 'sampled', addr };
  }

  /**
   * Writing /sys/module/kfence/parameters/sample_interval at nowMs (param_set_sample_interval()): 0 disables
   * KFENCE (the timer stops at its next expiry); a non-zero value re-enables a disabled KFENCE
   * (kfence_enable_late(): the timer is queued with no delay).
   */
  setSampleInterval(ms: number, nowMs: number): void {
    this.advance(nowMs);
    if (ms === 0) {
      this.enabled = false;
      this.pool.enabled = false;
      return;
    }
    this.interval = ms;
    if (!this.enabled) {
      this.enabled = true;
      this.pool.enabled = true;
      if (!this.staticKeys) this.keyEnabled = true;
      // queue_delayed_work() of a still-pending (or still-waiting) work is a no-op.
      if (this.nextToggleMs === undefined && !(this.staticKeys && this.keyEnabled)) this.nextToggleMs = nowMs;
    }
  }
}
